//! The floor for capture benchmarks: walk every record of a pcap/pcapng
//! file with pcap-parser's streaming reader and parse the Ethernet / IPv4 /
//! IPv6 / TCP headers with etherparse, nothing else (no flows, no
//! reassembly, no WebSocket). Besides Ethernet, raw IP, BSD loopback and
//! Linux cooked captures (v1, v2) are read, so small public samples work
//! too.
//!
//! ```text
//! cargo run --release --example bare_walk -- FILE
//! ```
//!
//! Prints packets, TCP segments, TCP payload bytes and the elapsed time.

use std::fs::File;
use std::process::ExitCode;
use std::time::Instant;

use etherparse::{EtherType, LaxSlicedPacket, TransportSlice};
use pcap_parser::traits::PcapNGPacketBlock;
use pcap_parser::{Block, PcapBlockOwned, PcapError, create_reader};

/// Read buffer of the streaming reader (the same order as `src/capture`).
const BUFFER: usize = 1 << 20;

#[derive(Default)]
struct Totals {
    packets: u64,
    tcp_segments: u64,
    tcp_payload_bytes: u64,
    not_tcp: u64,
}

impl Totals {
    /// One link-layer frame of `linktype`.
    fn packet(&mut self, linktype: i32, data: &[u8]) {
        self.packets += 1;
        let sliced = match linktype {
            // Ethernet
            1 => LaxSlicedPacket::from_ethernet(data).ok(),
            // Raw IP (BSD 12/14, LINKTYPE_RAW 101, IPv4 228, IPv6 229)
            12 | 14 | 101 | 228 | 229 => LaxSlicedPacket::from_ip(data).ok(),
            // BSD loopback: a 4-byte address family, then IP.
            0 | 108 => data.get(4..).and_then(|ip| LaxSlicedPacket::from_ip(ip).ok()),
            // Linux cooked capture v1: protocol at bytes 14-15 of a 16-byte header.
            113 => match data {
                [_, _, _, _, _, _, _, _, _, _, _, _, _, _, hi, lo, rest @ ..] => {
                    Some(LaxSlicedPacket::from_ether_type(EtherType(u16::from_be_bytes([*hi, *lo])), rest))
                }
                _ => None,
            },
            // Linux cooked capture v2: protocol at bytes 0-1 of a 20-byte header.
            276 => match (data.get(..2), data.get(20..)) {
                (Some([hi, lo]), Some(rest)) => Some(LaxSlicedPacket::from_ether_type(EtherType(u16::from_be_bytes([*hi, *lo])), rest)),
                _ => None,
            },
            _ => None,
        };
        match sliced.and_then(|p| p.transport) {
            Some(TransportSlice::Tcp(tcp)) => {
                self.tcp_segments += 1;
                self.tcp_payload_bytes += tcp.payload().len() as u64;
            }
            _ => self.not_tcp += 1,
        }
    }
}

fn walk(path: &str) -> Result<Totals, String> {
    let file = File::open(path).map_err(|e| format!("{path}: {e}"))?;
    let mut reader = create_reader(BUFFER, file).map_err(|e| format!("{path}: not a pcap/pcapng file: {e:?}"))?;
    let mut totals = Totals::default();
    // pcap: one link type; pcapng: one per interface of the current section.
    let mut legacy_linktype = 1;
    let mut interfaces: Vec<i32> = Vec::new();
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                match block {
                    PcapBlockOwned::LegacyHeader(h) => legacy_linktype = h.network.0,
                    PcapBlockOwned::Legacy(b) => totals.packet(legacy_linktype, b.data),
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => interfaces.clear(),
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => interfaces.push(idb.linktype.0),
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        let lt = interfaces.get(epb.if_id as usize).copied().unwrap_or(-1);
                        totals.packet(lt, epb.packet_data());
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                        let lt = interfaces.first().copied().unwrap_or(-1);
                        totals.packet(lt, spb.packet_data());
                    }
                    PcapBlockOwned::NG(_) => {}
                }
                reader.consume(offset);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => {
                reader.refill().map_err(|e| format!("{path}: read error: {e:?}"))?;
            }
            Err(e) => return Err(format!("{path}: {e:?}")),
        }
    }
    Ok(totals)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path] = args.as_slice() else {
        eprintln!("usage: bare_walk FILE");
        return ExitCode::from(2);
    };
    let start = Instant::now();
    let totals = match walk(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("bare_walk: {e}");
            return ExitCode::FAILURE;
        }
    };
    let secs = start.elapsed().as_secs_f64();
    let file_bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    println!("packets            {}", totals.packets);
    println!("tcp_segments       {}", totals.tcp_segments);
    println!("tcp_payload_bytes  {}", totals.tcp_payload_bytes);
    println!("not_tcp            {}", totals.not_tcp);
    println!("file_bytes         {file_bytes}");
    println!("elapsed_s          {secs:.3}");
    println!("MB/s               {:.0}", file_bytes as f64 / secs / 1e6);
    println!("packets/s          {:.0}", totals.packets as f64 / secs);
    ExitCode::SUCCESS
}
