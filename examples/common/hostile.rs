//! Hostile inputs built at run time: small pcap/pcapng writers, a TCP
//! connection simulator, WebSocket handshakes and frames, and generators for
//! the resource tests (many short connections, a frame declaring an absurd
//! payload length, a permessage-deflate inflation bomb, a pcapng block with
//! a bogus length, a log with one enormous line).
//!
//! Shared by `examples/gen_hostile.rs` (the large inputs of
//! `scripts/bench-resources.sh`) and the integration tests
//! `tests/damaged.rs` and `tests/resources.rs`, which include this file
//! with `#[path]`. Everything is deterministic and streamed: no generator
//! holds its output in memory, so the same code writes a 1 GiB input.
//!
//! Packets are Ethernet / IPv4 / TCP with 20-byte TCP headers (no options)
//! and no checksums (wsforensics, like tshark with `tcp.check_checksum`
//! off, does not verify them).

#![allow(dead_code)]

use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddrV4};

use base64::Engine as _;
use flate2::{Compress, Compression, FlushCompress};
use sha1::{Digest, Sha1};
use wsforensics::ws::frame::{FrameHeader, LengthForm, apply_mask};

/// 2026-11-24T10:00:00Z in microseconds: the start of every generated capture.
pub const START_US: u64 = 1_795_514_400 * 1_000_000;

/// TCP flags (RFC 9293 §3.1).
pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

/// Largest TCP payload per generated segment.
pub const MSS: usize = 1448;

const WS_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// ---------------------------------------------------------------------------
// Capture files

/// A classic pcap file (microsecond timestamps, little-endian, Ethernet).
pub struct PcapWriter<W: Write> {
    out: W,
    pub records: u64,
    pub bytes: u64,
}

impl<W: Write> PcapWriter<W> {
    pub fn new(mut out: W, snaplen: u32) -> io::Result<PcapWriter<W>> {
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&snaplen.to_le_bytes());
        h.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
        out.write_all(&h)?;
        Ok(PcapWriter { out, records: 0, bytes: 24 })
    }

    /// One record holding all of `data`.
    pub fn record(&mut self, ts_us: u64, data: &[u8]) -> io::Result<()> {
        self.record_cut(ts_us, data, data.len() as u32)
    }

    /// One record holding `data`, of a packet that was `orig_len` bytes on
    /// the wire.
    pub fn record_cut(&mut self, ts_us: u64, data: &[u8], orig_len: u32) -> io::Result<()> {
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&((ts_us / 1_000_000) as u32).to_le_bytes());
        h[4..8].copy_from_slice(&((ts_us % 1_000_000) as u32).to_le_bytes());
        h[8..12].copy_from_slice(&(data.len() as u32).to_le_bytes());
        h[12..16].copy_from_slice(&orig_len.to_le_bytes());
        self.out.write_all(&h)?;
        self.out.write_all(data)?;
        self.records += 1;
        self.bytes += 16 + data.len() as u64;
        Ok(())
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> PacketOut for PcapWriter<W> {
    fn packet(&mut self, ts_us: u64, data: &[u8]) -> io::Result<()> {
        self.record(ts_us, data)
    }
}

/// A little-endian pcapng file with one section and one Ethernet interface
/// (microsecond timestamps).
pub struct PcapNgWriter<W: Write> {
    out: W,
    pub bytes: u64,
}

impl<W: Write> PcapNgWriter<W> {
    pub fn new(mut out: W) -> io::Result<PcapNgWriter<W>> {
        // Section Header Block: type, length, byte-order magic, version 1.0,
        // section length unknown (-1), length again.
        let mut b = Vec::with_capacity(60);
        b.extend_from_slice(&0x0A0D_0D0Au32.to_le_bytes());
        b.extend_from_slice(&28u32.to_le_bytes());
        b.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&(-1i64).to_le_bytes());
        b.extend_from_slice(&28u32.to_le_bytes());
        // Interface Description Block: Ethernet, snaplen 262144, no options.
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&20u32.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&262_144u32.to_le_bytes());
        b.extend_from_slice(&20u32.to_le_bytes());
        out.write_all(&b)?;
        Ok(PcapNgWriter { out, bytes: b.len() as u64 })
    }

    /// An Enhanced Packet Block on interface 0.
    pub fn epb(&mut self, ts_us: u64, data: &[u8]) -> io::Result<()> {
        let padded = data.len().div_ceil(4) * 4;
        let len = (32 + padded) as u32;
        let mut b = Vec::with_capacity(len as usize);
        b.extend_from_slice(&6u32.to_le_bytes());
        b.extend_from_slice(&len.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&((ts_us >> 32) as u32).to_le_bytes());
        b.extend_from_slice(&(ts_us as u32).to_le_bytes());
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(data);
        b.resize(28 + padded, 0);
        b.extend_from_slice(&len.to_le_bytes());
        self.raw(&b)
    }

    /// Bytes written as they are (a damaged block, say).
    pub fn raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.bytes += bytes.len() as u64;
        Ok(())
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> PacketOut for PcapNgWriter<W> {
    fn packet(&mut self, ts_us: u64, data: &[u8]) -> io::Result<()> {
        self.epb(ts_us, data)
    }
}

/// Where generated packets go: a pcap or a pcapng writer.
pub trait PacketOut {
    fn packet(&mut self, ts_us: u64, data: &[u8]) -> io::Result<()>;
}

// ---------------------------------------------------------------------------
// Packets and connections

/// Appends an Ethernet / IPv4 / TCP packet (20-byte TCP header) to `out`.
pub fn tcp_packet(src: SocketAddrV4, dst: SocketAddrV4, seq: u32, ack: u32, flags: u8, payload: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&[0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00]);
    let total = (40 + payload.len()) as u16;
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[6] = 0x40; // don't fragment
    ip[8] = 64;
    ip[9] = 6;
    ip[12..16].copy_from_slice(&src.ip().octets());
    ip[16..20].copy_from_slice(&dst.ip().octets());
    let mut sum: u32 = ip.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], c[1]]))).sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    out.extend_from_slice(&ip);
    let mut tcp = [0u8; 20];
    tcp[0..2].copy_from_slice(&src.port().to_be_bytes());
    tcp[2..4].copy_from_slice(&dst.port().to_be_bytes());
    tcp[4..8].copy_from_slice(&seq.to_be_bytes());
    tcp[8..12].copy_from_slice(&ack.to_be_bytes());
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    tcp[14..16].copy_from_slice(&65_535u16.to_be_bytes());
    out.extend_from_slice(&tcp);
    out.extend_from_slice(payload);
}

/// One simulated TCP connection: keeps both sequence numbers and the clock,
/// and writes each segment as one packet.
pub struct TcpConn {
    pub client: SocketAddrV4,
    pub server: SocketAddrV4,
    cseq: u32,
    sseq: u32,
    pub ts_us: u64,
    /// Microseconds between two packets.
    pub step_us: u64,
    buf: Vec<u8>,
}

impl TcpConn {
    pub fn new(client: SocketAddrV4, server: SocketAddrV4, ts_us: u64) -> TcpConn {
        TcpConn { client, server, cseq: 1_000, sseq: 50_000, ts_us, step_us: 10, buf: Vec::with_capacity(2048) }
    }

    fn emit(&mut self, w: &mut dyn PacketOut, from_client: bool, flags: u8, payload: &[u8]) -> io::Result<()> {
        self.buf.clear();
        let (src, dst, seq, ack) =
            if from_client { (self.client, self.server, self.cseq, self.sseq) } else { (self.server, self.client, self.sseq, self.cseq) };
        tcp_packet(src, dst, seq, ack, flags, payload, &mut self.buf);
        let used = payload.len() as u32 + u32::from(flags & (SYN | FIN) != 0);
        if from_client {
            self.cseq = self.cseq.wrapping_add(used);
        } else {
            self.sseq = self.sseq.wrapping_add(used);
        }
        w.packet(self.ts_us, &self.buf)?;
        self.ts_us += self.step_us;
        Ok(())
    }

    /// SYN, SYN/ACK, ACK.
    pub fn open(&mut self, w: &mut dyn PacketOut) -> io::Result<()> {
        self.emit(w, true, SYN, &[])?;
        self.emit(w, false, SYN | ACK, &[])?;
        self.emit(w, true, ACK, &[])
    }

    /// `payload` in segments of at most [`MSS`] bytes, `extra` flags on the
    /// last one.
    pub fn send(&mut self, w: &mut dyn PacketOut, from_client: bool, payload: &[u8], extra: u8) -> io::Result<()> {
        let mut chunks = payload.chunks(MSS).peekable();
        if payload.is_empty() {
            return self.emit(w, from_client, ACK | extra, &[]);
        }
        while let Some(c) = chunks.next() {
            let last = chunks.peek().is_none();
            self.emit(w, from_client, ACK | PSH | if last { extra } else { 0 }, c)?;
        }
        Ok(())
    }

    /// A bare ACK (or FIN/RST with `flags`).
    pub fn control(&mut self, w: &mut dyn PacketOut, from_client: bool, flags: u8) -> io::Result<()> {
        self.emit(w, from_client, ACK | flags, &[])
    }
}

// ---------------------------------------------------------------------------
// WebSocket

pub fn ws_accept(key: &str) -> String {
    let mut h = Sha1::new();
    h.update(key.as_bytes());
    h.update(WS_GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

pub fn upgrade_request(key: &str, extensions: Option<&str>) -> Vec<u8> {
    let ext = extensions.map(|e| format!("Sec-WebSocket-Extensions: {e}\r\n")).unwrap_or_default();
    format!(
        "GET /ws HTTP/1.1\r\nHost: example.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{ext}\r\n"
    )
    .into_bytes()
}

pub fn upgrade_response(key: &str, extensions: Option<&str>) -> Vec<u8> {
    let ext = extensions.map(|e| format!("Sec-WebSocket-Extensions: {e}\r\n")).unwrap_or_default();
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n{ext}\r\n",
        ws_accept(key)
    )
    .into_bytes()
}

/// A whole frame (minimal length form), masked when `mask` is given.
pub fn frame(fin: bool, rsv1: bool, opcode: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    let mut h = FrameHeader::new(fin, opcode, mask, payload.len() as u64);
    h.rsv1 = rsv1;
    h.encode(&mut out);
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = mask {
        apply_mask(&mut out[start..], key, 0);
    }
    out
}

/// A frame header declaring `declared` payload bytes in the 64-bit form.
pub fn header_64(opcode: u8, mask: Option<[u8; 4]>, declared: u64) -> Vec<u8> {
    let mut h = FrameHeader::new(true, opcode, mask, declared);
    h.length_form = LengthForm::Ext64;
    h.len7 = 127;
    h.header_len = if mask.is_some() { 14 } else { 10 };
    let mut out = Vec::with_capacity(14);
    h.encode(&mut out);
    out
}

pub fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason.as_bytes());
    p
}

pub const CLIENT_MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// The client address of connection `i` of many: 10.x.y.z with ports
/// 20000-59999, so no 4-tuple repeats for the first 2^24 * 40000.
pub fn client_addr(i: u64) -> SocketAddrV4 {
    let host = (i / 40_000) as u32 + 1;
    let ip = Ipv4Addr::from(0x0a00_0000u32 | (host & 0x00ff_ffff));
    SocketAddrV4::new(ip, 20_000 + (i % 40_000) as u16)
}

pub fn server_addr() -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::new(192, 168, 0, 1), 8080)
}

// ---------------------------------------------------------------------------
// Generators

/// `n` short WebSocket connections one after the other, `spacing_us`
/// apart: handshake, a text message each way, a clean 1000 close
/// handshake, FIN both ways. 8 packets each.
pub fn short_connections(w: &mut dyn PacketOut, n: u64, spacing_us: u64) -> io::Result<()> {
    let req = upgrade_request(KEY, None);
    let mut resp = upgrade_response(KEY, None);
    resp.extend(frame(true, false, 1, None, b"hi"));
    resp.extend(frame(true, false, 8, None, &close_payload(1000, "")));
    let client_close = frame(true, false, 8, Some(CLIENT_MASK), &close_payload(1000, ""));
    for i in 0..n {
        let mut c = TcpConn::new(client_addr(i), server_addr(), START_US + i * spacing_us);
        c.step_us = 1;
        c.open(w)?;
        c.send(w, true, &req, 0)?;
        c.send(w, false, &resp, 0)?;
        c.send(w, true, &client_close, FIN)?;
        c.control(w, false, FIN)?;
        c.control(w, true, 0)?;
    }
    Ok(())
}

/// One WebSocket connection whose server sends a frame declaring
/// `declared` payload bytes, of which `captured` follow before the server
/// resets the connection.
pub fn huge_frame(w: &mut dyn PacketOut, declared: u64, captured: u64) -> io::Result<()> {
    let mut c = TcpConn::new(client_addr(0), server_addr(), START_US);
    c.open(w)?;
    c.send(w, true, &upgrade_request(KEY, None), 0)?;
    c.send(w, false, &upgrade_response(KEY, None), 0)?;
    c.send(w, true, &frame(true, false, 1, Some(CLIENT_MASK), b"give me everything"), 0)?;
    let mut first = header_64(2, None, declared);
    let chunk: Vec<u8> = (0..MSS).map(|i| (i % 251) as u8).collect();
    let mut left = captured;
    let take = (MSS - first.len()).min(left as usize);
    first.extend_from_slice(&chunk[..take]);
    left -= take as u64;
    c.send(w, false, &first, 0)?;
    while left > 0 {
        let n = (left as usize).min(MSS);
        c.send(w, false, &chunk[..n], 0)?;
        left -= n as u64;
    }
    c.control(w, false, RST)
}

/// Raw DEFLATE (RFC 1951) of `len` zero bytes, with the `00 00 ff ff` tail
/// of the last sync flush removed (RFC 7692 §7.2.1): a message that
/// inflates about a thousand times its size.
///
/// Made without compressing `len` bytes: one MiB of zeros is compressed
/// and sync-flushed (which ends on a byte boundary with no final block),
/// and that piece is repeated; each copy only refers back to zeros, so the
/// concatenation is one valid stream of `len` zeros.
pub fn deflated_zeros(len: u64) -> Vec<u8> {
    fn piece(n: usize) -> Vec<u8> {
        let mut z = Compress::new(Compression::best(), false);
        let zeros = vec![0u8; n];
        let mut out = Vec::with_capacity(n / 512 + 1024);
        let mut input = &zeros[..];
        loop {
            out.reserve(16 << 10);
            let before = z.total_in();
            // The status is Ok or BufError; progress shows in the totals.
            let _ = z.compress_vec(input, &mut out, FlushCompress::Sync);
            input = &input[(z.total_in() - before) as usize..];
            if input.is_empty() && out.ends_with(&[0, 0, 0xff, 0xff]) {
                return out;
            }
        }
    }
    const MIB: u64 = 1 << 20;
    let whole = piece(MIB as usize);
    let mut out = Vec::with_capacity((len / MIB) as usize * whole.len() + 1024);
    for _ in 0..len / MIB {
        out.extend_from_slice(&whole);
    }
    if !len.is_multiple_of(MIB) {
        out.extend(piece((len % MIB) as usize));
    }
    out.truncate(out.len().saturating_sub(4));
    out
}

/// One connection that agrees permessage-deflate; the client sends one
/// compressed binary message inflating to `inflated` bytes (an inflation
/// bomb), then a normal text message, then both sides close with 1000.
pub fn inflation_bomb(w: &mut dyn PacketOut, inflated: u64) -> io::Result<()> {
    let ext = "permessage-deflate";
    let mut c = TcpConn::new(client_addr(0), server_addr(), START_US);
    c.open(w)?;
    c.send(w, true, &upgrade_request(KEY, Some("permessage-deflate; client_max_window_bits")), 0)?;
    c.send(w, false, &upgrade_response(KEY, Some(ext)), 0)?;
    let bomb = deflated_zeros(inflated);
    c.send(w, true, &frame(true, true, 2, Some(CLIENT_MASK), &bomb), 0)?;
    c.send(w, true, &frame(true, false, 1, Some(CLIENT_MASK), b"after the bomb"), 0)?;
    c.send(w, false, &frame(true, false, 8, None, &close_payload(1009, "too big")), 0)?;
    c.send(w, true, &frame(true, false, 8, Some(CLIENT_MASK), &close_payload(1009, "")), FIN)?;
    c.control(w, false, FIN)?;
    c.control(w, true, 0)
}

/// A pcapng file: `before` short connections, then an 88-byte block of
/// type `block_type` (6: an Enhanced Packet Block holding the start of a
/// packet) whose length field claims `bogus_len` bytes, then `after` more
/// connections. Returns the byte offset of the bogus block.
pub fn pcapng_bogus_block<W: Write>(w: &mut PcapNgWriter<W>, before: u64, after: u64, block_type: u32, bogus_len: u32) -> io::Result<u64> {
    short_connections(w, before, 1_000)?;
    let offset = w.bytes;
    let mut b = Vec::new();
    b.extend_from_slice(&block_type.to_le_bytes());
    b.extend_from_slice(&bogus_len.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&[0u8; 8]);
    b.extend_from_slice(&60u32.to_le_bytes());
    b.extend_from_slice(&60u32.to_le_bytes());
    b.extend_from_slice(&[0u8; 60]);
    w.raw(&b)?;
    // The later connections start after the earlier ones in time.
    let mut later = Shifted { inner: w, shift_us: before * 1_000 + 1_000_000 };
    short_connections(&mut later, after, 1_000)?;
    Ok(offset)
}

/// Shifts every packet's time (to append connections after others).
pub struct Shifted<'a> {
    pub inner: &'a mut dyn PacketOut,
    pub shift_us: u64,
}

impl PacketOut for Shifted<'_> {
    fn packet(&mut self, ts_us: u64, data: &[u8]) -> io::Result<()> {
        self.inner.packet(ts_us + self.shift_us, data)
    }
}

/// A text log (Python logging style) whose second line has `len` bytes of
/// message, between two normal lines.
pub fn long_log_line<W: Write>(mut w: W, len: u64) -> io::Result<()> {
    w.write_all(b"2026-11-24 10:00:00,000 INFO app: before\n")?;
    w.write_all(b"2026-11-24 10:00:01,000 ERROR app: huge ")?;
    let block = vec![b'x'; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = (left as usize).min(block.len());
        w.write_all(&block[..n])?;
        left -= n as u64;
    }
    w.write_all(b"\n2026-11-24 10:00:02,000 INFO app: after\n")?;
    w.flush()
}

/// Parses a size like `1GiB`, `64MiB`, `500MB`, `4096`.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "kb" => 1000,
        "m" | "mib" => 1 << 20,
        "mb" => 1_000_000,
        "g" | "gib" => 1 << 30,
        "gb" => 1_000_000_000,
        _ => return None,
    };
    num.parse::<u64>().ok()?.checked_mul(mult)
}
