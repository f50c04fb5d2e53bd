//! Shared input model of the fuzz targets, and helpers to turn a
//! `tcp_ws_stream` input into a pcap (for regression tests in the main
//! crate, which has no `arbitrary`).

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use arbitrary::Arbitrary;
use wsforensics::ws::frame::{FrameHeader, LengthForm, apply_mask};

const MAX_SEGMENTS: usize = 48;
const MAX_PAYLOAD: usize = 2048;
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

#[derive(Arbitrary, Debug)]
pub enum Start {
    /// No handshake: frames (or anything) from the first byte.
    Raw,
    /// A complete upgrade exchange on connection 0 before the fuzzed
    /// segments.
    Upgrade {
        /// Offer and accept permessage-deflate, with these extra parameters.
        deflate: Option<String>,
        /// Send a wrong Sec-WebSocket-Accept.
        bad_accept: bool,
        /// Answer 101 (else a fuzzed status).
        status: Option<u16>,
        /// Deliver request and response in this many pieces each (1-4).
        pieces: u8,
    },
}

#[derive(Arbitrary, Debug)]
pub enum Port {
    Http,
    Https,
    Alt,
    Other(u16),
}

#[derive(Arbitrary, Debug)]
pub enum Body {
    Empty,
    Raw(Vec<u8>),
    Frame {
        fin: bool,
        rsv: u8,
        opcode: u8,
        /// `None`: masked iff sent by the client (the correct way).
        masked: Option<bool>,
        key: [u8; 4],
        /// Compress the payload with raw DEFLATE (RSV1 set).
        compress: bool,
        /// Declare this length instead of the real one (and, for 0-2,
        /// force the length form: short, 16-bit, 64-bit).
        declared: Option<u64>,
        form: Option<u8>,
        payload: Vec<u8>,
    },
}

#[derive(Arbitrary, Debug)]
pub struct Seg {
    /// Connection 1 uses another client port (same server).
    pub second_conn: bool,
    pub from_client: bool,
    /// Added to the in-order sequence number (0 = in order, <0 overlaps a
    /// retransmission, >0 leaves a hole).
    pub seq_delta: i16,
    /// `Some(d)`: ACK flag set, acknowledging the peer's in-order position + d.
    pub ack_delta: Option<i16>,
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
    /// Bytes cut by the snapshot length (rarely non-zero).
    pub missing: u8,
    /// Milliseconds since the previous segment; 255 in `pause` means a
    /// jump of ~11 minutes (idle eviction).
    pub step_ms: u16,
    pub pause: u8,
    pub body: Body,
}

#[derive(Arbitrary, Debug)]
pub struct Input {
    pub start: Start,
    pub three_way: bool,
    pub server_port: Port,
    pub isn: [u32; 2],
    pub small_limits: bool,
    pub segs: Vec<Seg>,
}

/// One segment to send, before flow lookup.
struct Wire {
    conn: usize,
    from_client: bool,
    seq_delta: i32,
    ack_delta: Option<i32>,
    syn: bool,
    fin: bool,
    rst: bool,
    missing: u32,
    step_ns: i64,
    payload: Vec<u8>,
}

fn deflate_raw(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = enc.write_all(data);
    let _ = enc.flush(); // sync flush: ends in 00 00 ff ff
    let mut out = enc.get_ref().clone();
    if out.ends_with(&[0, 0, 0xff, 0xff]) {
        out.truncate(out.len() - 4);
    }
    out
}

fn frame_bytes(body: Body, from_client: bool) -> Vec<u8> {
    match body {
        Body::Empty => Vec::new(),
        Body::Raw(mut b) => {
            b.truncate(MAX_PAYLOAD);
            b
        }
        Body::Frame { fin, rsv, opcode, masked, key, compress, declared, form, mut payload } => {
            payload.truncate(MAX_PAYLOAD);
            if compress {
                payload = deflate_raw(&payload);
                payload.truncate(MAX_PAYLOAD);
            }
            let masked = masked.unwrap_or(from_client);
            let mask = masked.then_some(key);
            let mut h = FrameHeader::new(fin, opcode, mask, declared.unwrap_or(payload.len() as u64));
            h.rsv1 = compress || rsv & 4 != 0;
            h.rsv2 = rsv & 2 != 0;
            h.rsv3 = rsv & 1 != 0;
            match form.map(|f| f % 3) {
                Some(0) if h.payload_len <= 125 => h.length_form = LengthForm::Short,
                Some(1) if h.payload_len <= 0xffff => h.length_form = LengthForm::Ext16,
                Some(2) => h.length_form = LengthForm::Ext64,
                _ => {}
            }
            let mut out = Vec::with_capacity(14 + payload.len());
            h.encode(&mut out);
            if let Some(k) = mask {
                apply_mask(&mut payload, k, 0);
            }
            out.extend_from_slice(&payload);
            out.truncate(MAX_PAYLOAD + 14);
            out
        }
    }
}

fn plain(conn: usize, from_client: bool, syn: bool, ack: bool, payload: Vec<u8>) -> Wire {
    Wire {
        conn,
        from_client,
        seq_delta: 0,
        ack_delta: ack.then_some(0),
        syn,
        fin: false,
        rst: false,
        missing: 0,
        step_ns: 1_000_000,
        payload,
    }
}

fn clean(s: &str) -> String {
    s.chars().filter(|c| *c != '\r' && *c != '\n').take(200).collect()
}

fn split_into(out: &mut Vec<Wire>, from_client: bool, bytes: Vec<u8>, pieces: u8) {
    let pieces = usize::from(pieces % 4) + 1;
    let step = bytes.len().div_ceil(pieces).max(1);
    for chunk in bytes.chunks(step) {
        out.push(plain(0, from_client, false, true, chunk.to_vec()));
    }
}

fn build(input: Input) -> (Vec<Wire>, u16, bool) {
    let mut wires = Vec::new();
    let server_port = match input.server_port {
        Port::Http => 80,
        Port::Https => 443,
        Port::Alt => 8080,
        Port::Other(p) => p,
    };
    if input.three_way {
        wires.push(plain(0, true, true, false, Vec::new()));
        wires.push(plain(0, false, true, true, Vec::new()));
        wires.push(plain(0, true, false, true, Vec::new()));
    }
    if let Start::Upgrade { deflate, bad_accept, status, pieces } = input.start {
        let ext = deflate.map(|p| format!("permessage-deflate{}", clean(&p)));
        let mut req = format!(
            "GET /chat HTTP/1.1\r\nHost: example.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n"
        );
        if let Some(e) = &ext {
            req.push_str(&format!("Sec-WebSocket-Extensions: {e}\r\n"));
        }
        req.push_str("\r\n");
        let accept = if bad_accept { "AAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_string() } else { wsforensics::http::accept_for_key(KEY) };
        let status = status.unwrap_or(101);
        let mut resp = format!(
            "HTTP/1.1 {status} Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
        );
        if let Some(e) = &ext {
            resp.push_str(&format!("Sec-WebSocket-Extensions: {e}\r\n"));
        }
        resp.push_str("\r\n");
        split_into(&mut wires, true, req.into_bytes(), pieces);
        split_into(&mut wires, false, resp.into_bytes(), pieces);
    }
    for s in input.segs.into_iter().take(MAX_SEGMENTS) {
        let step_ns = if s.pause == 255 { 700_000_000_000 } else { i64::from(s.step_ms) * 1_000_000 };
        let payload = frame_bytes(s.body, s.from_client);
        wires.push(Wire {
            conn: usize::from(s.second_conn),
            from_client: s.from_client,
            seq_delta: i32::from(s.seq_delta),
            ack_delta: s.ack_delta.map(i32::from),
            syn: s.syn,
            fin: s.fin,
            rst: s.rst,
            // Mostly 0; a snaplen cut when the byte is large.
            missing: if s.missing > 200 { u32::from(s.missing - 200) * 16 } else { 0 },
            step_ns,
            payload,
        });
    }
    (wires, server_port, input.small_limits)
}

/// One concrete TCP segment of a scenario, in capture order.
#[derive(Clone, Debug)]
pub struct Packet {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub ack: Option<u32>,
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
    pub payload: Vec<u8>,
    /// Payload bytes on the wire beyond `payload` (cut by the snaplen).
    pub missing: u32,
    /// Capture time, nanoseconds since the epoch.
    pub ts: i64,
}

/// A decoded `tcp_ws_stream` input.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub packets: Vec<Packet>,
    /// Use the small reassembly and session limits of [`small_limits`].
    pub small: bool,
}

/// Reassembly and session limits of a `small` scenario:
/// (max_buffered_bytes, max_buffered_chunks, max_retained_bytes) and
/// (control_keep, data_keep, search_window, probe_limit, max_message).
pub const SMALL_REASSEMBLY: (usize, usize, usize) = (4096, 8, 2048);
pub const SMALL_SESSION: (usize, usize, usize, usize, u64) = (16, 8, 512, 256, 1024);

pub fn scenario(input: Input) -> Scenario {
    let isn = input.isn;
    let (wires, server_port, small) = build(input);
    let server = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), server_port);
    let clients = [40000u16, 40001].map(|p| SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), p));
    // In-order next sequence number per connection and direction
    // (0 = client to server).
    let mut next = [[isn[0], isn[1]], [isn[0] ^ 0x5555_5555, isn[1] ^ 0xaaaa_aaaa]];
    let mut ts: i64 = 1_700_000_000_000_000_000;
    let mut packets = Vec::with_capacity(wires.len());
    for w in wires {
        ts = ts.saturating_add(w.step_ns);
        let dir = usize::from(!w.from_client);
        let (src, dst) = if w.from_client { (clients[w.conn], server) } else { (server, clients[w.conn]) };
        let seq = next[w.conn][dir].wrapping_add(w.seq_delta as u32);
        let ack = w.ack_delta.map(|d| next[w.conn][1 - dir].wrapping_add(d as u32));
        let len = u32::from(w.syn) + w.payload.len() as u32 + w.missing + u32::from(w.fin);
        let end = seq.wrapping_add(len);
        if (end.wrapping_sub(next[w.conn][dir]) as i32) > 0 {
            next[w.conn][dir] = end;
        }
        packets.push(Packet { src, dst, seq, ack, syn: w.syn, fin: w.fin, rst: w.rst, payload: w.payload, missing: w.missing, ts });
    }
    Scenario { packets, small }
}

fn ip_octets(a: &SocketAddr) -> [u8; 4] {
    match a.ip() {
        IpAddr::V4(v4) => v4.octets(),
        IpAddr::V6(_) => [0; 4],
    }
}

/// The scenario as a nanosecond pcap of Ethernet/IPv4/TCP packets (snaplen
/// cuts as captured length < IP total length). Analyzed by
/// `pipeline::analyze` with one thread, it drives the same stages in the
/// same order as the fuzz target.
pub fn to_pcap(s: &Scenario) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_3c4du32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&262_144u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for p in &s.packets {
        let mut pkt = Vec::with_capacity(54 + p.payload.len());
        pkt.extend_from_slice(&[0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00]);
        let ip_total = 20 + 20 + p.payload.len() + p.missing as usize;
        pkt.extend_from_slice(&[0x45, 0]);
        pkt.extend_from_slice(&(ip_total.min(0xffff) as u16).to_be_bytes());
        pkt.extend_from_slice(&[0, 1, 0x40, 0, 64, 6, 0, 0]);
        pkt.extend_from_slice(&ip_octets(&p.src));
        pkt.extend_from_slice(&ip_octets(&p.dst));
        pkt.extend_from_slice(&p.src.port().to_be_bytes());
        pkt.extend_from_slice(&p.dst.port().to_be_bytes());
        pkt.extend_from_slice(&p.seq.to_be_bytes());
        pkt.extend_from_slice(&p.ack.unwrap_or(0).to_be_bytes());
        let flags = u8::from(p.fin) | (u8::from(p.syn) << 1) | (u8::from(p.rst) << 2) | (u8::from(p.ack.is_some()) << 4);
        pkt.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        pkt.extend_from_slice(&p.payload);
        let orig = pkt.len() + p.missing as usize;
        let secs = p.ts.div_euclid(1_000_000_000);
        let nanos = p.ts.rem_euclid(1_000_000_000);
        out.extend_from_slice(&(secs as u32).to_le_bytes());
        out.extend_from_slice(&(nanos as u32).to_le_bytes());
        out.extend_from_slice(&(pkt.len() as u32).to_le_bytes());
        out.extend_from_slice(&(orig as u32).to_le_bytes());
        out.extend_from_slice(&pkt);
    }
    out
}
