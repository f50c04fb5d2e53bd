//! Deterministic generator of WebSocket captures with a ground truth.
//!
//! Shared by `examples/gen_capture.rs` (the command-line generator) and
//! `tests/generated.rs` (which checks the analyzer against the truth): both
//! include this file with `#[path]`.
//!
//! The output is a classic pcap (Ethernet, IPv4, TCP with timestamp
//! options, microsecond timestamps) of many interleaved connections: TCP
//! handshake, HTTP Upgrade (correct `Sec-WebSocket-Accept`), frames both
//! ways, close handshakes or FIN/RST endings, receiver ACKs every second
//! segment and delayed ACKs otherwise. A share of connections negotiate
//! permessage-deflate; their compressed messages carry a real raw-deflate
//! stream made of stored blocks (BTYPE=00) ending with the empty stored
//! block of a sync flush whose `00 00 ff ff` tail is stripped (RFC 7692
//! §7.2.1). A configurable rate of events are protocol violations, one rule
//! each. A few connections are plain HTTP, and a few upgrades are refused.
//!
//! Everything comes from one seeded xoshiro256** generator and is written in
//! one order, so the same configuration always gives the same bytes.
//!
//! Speed: payload bytes are copied from precomputed templates (an arena of
//! JSON-like texts and random binary) straight into the output buffer,
//! masked and checksummed there; full buffers go to a writer thread.

#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Write};
use std::sync::mpsc;

use base64::Engine as _;
use sha1::{Digest, Sha1};
use wsforensics::ws::frame::{FrameHeader, LengthForm, apply_mask};

/// Rule ids of the violations the generator injects, in counter order. The
/// last one comes from the close mix (a Close the peer never answers, §5.5.1),
/// not from the violation rate.
pub const RULES: [&str; 11] = [
    "rsv-bits-without-extension",
    "reserved-opcode",
    "unmasked-client-frame",
    "masked-server-frame",
    "control-frame-too-long",
    "fragmented-control-frame",
    "continuation-without-message",
    "non-minimal-length",
    "close-payload-one-byte",
    "invalid-close-code",
    "close-unanswered",
];

/// Direction names, indexed like `wsforensics::model::Direction::index()`.
pub const DIRS: [&str; 2] = ["c2s", "s2c"];

/// Termination names as `Termination::as_str()` spells them.
pub const TERMINATIONS: [&str; 5] = ["close_handshake", "close_unanswered", "fin", "rst", "capture_end"];

/// Counter key of an opcode.
pub fn opcode_key(op: u8) -> String {
    match op {
        0 => "continuation".to_string(),
        1 => "text".to_string(),
        2 => "binary".to_string(),
        8 => "close".to_string(),
        9 => "ping".to_string(),
        10 => "pong".to_string(),
        n => format!("reserved-{n}"),
    }
}

/// Counter key of a close frame's status: the code, or `none` when the
/// frame has no status (empty, or a 1-byte body).
pub fn close_key(code: Option<u16>) -> String {
    code.map_or_else(|| "none".to_string(), |c| c.to_string())
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct GenConfig {
    /// Stop opening connections once this many bytes are written (or
    /// queued); the file ends a little past it, once every open connection
    /// has closed.
    pub size: u64,
    pub seed: u64,
    /// Connections open at once.
    pub connections: usize,
    /// Probability that a message event is a protocol violation instead.
    pub violation_rate: f64,
    /// Share of WebSocket connections that negotiate permessage-deflate.
    pub deflate_share: f64,
    /// Largest binary message, bytes.
    pub big_max: usize,
    /// Mean number of message events per connection.
    pub mean_events: u32,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            size: 64 << 20,
            seed: 1,
            connections: 2000,
            violation_rate: 0.002,
            deflate_share: 0.3,
            big_max: 4 << 20,
            mean_events: 40,
        }
    }
}

/// The ground truth of a generated capture.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Truth {
    pub pcap_bytes: u64,
    pub packets: u64,
    /// TCP connections (every connection, WebSocket or not).
    pub tcp_connections: u64,
    /// TCP payload bytes over all connections.
    pub tcp_payload_bytes: u64,
    /// Connections that asked for an upgrade (what the analyzer reports).
    pub websocket_connections: u64,
    pub handshakes_ok: u64,
    pub handshakes_failed: u64,
    pub deflate_connections: u64,
    /// Frames by direction and opcode.
    pub frames: [[u64; 16]; 2],
    /// Frames with RSV1 set, by direction.
    pub frames_rsv1: [u64; 2],
    /// Complete data messages by direction.
    pub messages: [u64; 2],
    /// Messages whose first frame has RSV1 (compressed, or breaking
    /// `rsv-bits-without-extension`), by direction.
    pub messages_rsv1: [u64; 2],
    /// Sum of frame payload lengths, by direction.
    pub ws_payload_bytes: [u64; 2],
    /// Sum of frame header lengths, by direction.
    pub ws_header_bytes: [u64; 2],
    /// HTTP bytes (heads and bodies) on WebSocket connections, by direction.
    pub http_bytes: [u64; 2],
    /// TCP payload bytes of WebSocket connections, by direction.
    pub ws_captured_bytes: [u64; 2],
    /// Close frames by direction and status (`None`: no status).
    pub closes: [BTreeMap<Option<u16>, u64>; 2],
    /// WebSocket connections without a Close frame either way (1006).
    pub connections_without_close: u64,
    /// Indexed like [`TERMINATIONS`].
    pub terminations: [u64; 5],
    /// Indexed like [`RULES`].
    pub violations: [u64; 11],
}

impl Truth {
    /// Every counter under a dotted key (`frames.c2s.text`), zero counts of
    /// the common keys included.
    pub fn counters(&self) -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        m.insert("pcap_bytes".to_string(), self.pcap_bytes);
        m.insert("packets".to_string(), self.packets);
        m.insert("tcp_connections".to_string(), self.tcp_connections);
        m.insert("tcp_payload_bytes".to_string(), self.tcp_payload_bytes);
        m.insert("websocket_connections".to_string(), self.websocket_connections);
        m.insert("handshakes.ok".to_string(), self.handshakes_ok);
        m.insert("handshakes.failed".to_string(), self.handshakes_failed);
        m.insert("deflate_connections".to_string(), self.deflate_connections);
        for (d, dir) in DIRS.iter().enumerate() {
            for op in 0..16u8 {
                let n = self.frames[d][op as usize];
                if n > 0 || matches!(op, 0 | 1 | 2 | 8 | 9 | 10) {
                    m.insert(format!("frames.{dir}.{}", opcode_key(op)), n);
                }
            }
            m.insert(format!("frames_rsv1.{dir}"), self.frames_rsv1[d]);
            m.insert(format!("messages.{dir}"), self.messages[d]);
            m.insert(format!("messages_rsv1.{dir}"), self.messages_rsv1[d]);
            m.insert(format!("ws_payload_bytes.{dir}"), self.ws_payload_bytes[d]);
            m.insert(format!("ws_header_bytes.{dir}"), self.ws_header_bytes[d]);
            m.insert(format!("http_bytes.{dir}"), self.http_bytes[d]);
            m.insert(format!("ws_captured_bytes.{dir}"), self.ws_captured_bytes[d]);
            for (code, n) in &self.closes[d] {
                m.insert(format!("closes.{dir}.{}", close_key(*code)), *n);
            }
        }
        m.insert("connections_without_close".to_string(), self.connections_without_close);
        for (t, name) in TERMINATIONS.iter().enumerate() {
            m.insert(format!("terminations.{name}"), self.terminations[t]);
        }
        for (r, rule) in RULES.iter().enumerate() {
            m.insert(format!("violations.{rule}"), self.violations[r]);
        }
        m
    }

    /// The sidecar: the counters as nested JSON objects, with the
    /// generator's configuration.
    pub fn to_json(&self, cfg: &GenConfig) -> String {
        let mut root = Node::default();
        let config = [
            ("size", cfg.size.to_string()),
            ("seed", cfg.seed.to_string()),
            ("connections", cfg.connections.to_string()),
            ("violation_rate", format!("{:?}", cfg.violation_rate)),
            ("deflate_share", format!("{:?}", cfg.deflate_share)),
            ("big_max", cfg.big_max.to_string()),
            ("mean_events", cfg.mean_events.to_string()),
        ];
        for (k, v) in config {
            root.insert(&["config", k], v);
        }
        for (k, v) in self.counters() {
            let path: Vec<&str> = k.split('.').collect();
            root.insert(&path, v.to_string());
        }
        let mut out = String::new();
        root.write(&mut out, 0);
        out.push('\n');
        out
    }
}

/// A JSON object tree of numbers.
#[derive(Default)]
struct Node {
    leaf: Option<String>,
    children: BTreeMap<String, Node>,
}

impl Node {
    fn insert(&mut self, path: &[&str], value: String) {
        match path {
            [] => self.leaf = Some(value),
            [first, rest @ ..] => self.children.entry((*first).to_string()).or_default().insert(rest, value),
        }
    }

    fn write(&self, out: &mut String, indent: usize) {
        if let Some(v) = &self.leaf {
            out.push_str(v);
            return;
        }
        out.push_str("{\n");
        let n = self.children.len();
        for (i, (k, child)) in self.children.iter().enumerate() {
            out.push_str(&"  ".repeat(indent + 1));
            out.push('"');
            out.push_str(k);
            out.push_str("\": ");
            child.write(out, indent + 1);
            if i + 1 < n {
                out.push(',');
            }
            out.push('\n');
        }
        out.push_str(&"  ".repeat(indent));
        out.push('}');
    }
}

/// SplitMix64-seeded xoshiro256**.
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Rng { s: [next(), next(), next(), next()] }
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    pub fn u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        let threshold = (p.clamp(0.0, 1.0) * (1u64 << 53) as f64) as u64;
        (self.next_u64() >> 11) < threshold
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const CLIENT: usize = 0;
const SERVER: usize = 1;

/// Payload bytes per full segment (1500-byte MTU, TCP timestamps).
pub const MSS: usize = 1448;

const F_FIN: u8 = 0x01;
const F_SYN: u8 = 0x02;
const F_RST: u8 = 0x04;
const F_PSH: u8 = 0x08;
const F_ACK: u8 = 0x10;

const OP_CONT: u8 = 0;
const OP_TEXT: u8 = 1;
const OP_BINARY: u8 = 2;
const OP_CLOSE: u8 = 8;
const OP_PING: u8 = 9;
const OP_PONG: u8 = 10;

/// Output buffers handed to the writer thread.
const CHUNK: usize = 4 << 20;

/// 2026-11-24T10:00:00Z, in microseconds.
const START_US: u64 = 1_795_514_400 * 1_000_000;

const WS_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Where a piece of queued bytes comes from.
#[derive(Clone, Copy, Debug)]
enum Src {
    /// The queue's own inline buffer.
    Inline,
    /// The generator's template arena.
    Arena,
}

/// A run of bytes waiting to be sent, masked on the way out if `mask` is set
/// (`mpos`: position of the first byte in its frame's payload).
#[derive(Clone, Copy, Debug)]
struct Piece {
    src: Src,
    off: usize,
    len: usize,
    mask: Option<[u8; 4]>,
    mpos: u64,
}

/// One direction's bytes not yet sent: a TCP send buffer.
#[derive(Debug, Default)]
struct SendQueue {
    pieces: VecDeque<Piece>,
    inline: Vec<u8>,
    queued: usize,
}

impl SendQueue {
    fn push_inline(&mut self, bytes: &[u8], mask: Option<[u8; 4]>, mpos: u64) {
        if bytes.is_empty() {
            return;
        }
        let off = self.inline.len();
        self.inline.extend_from_slice(bytes);
        self.pieces.push_back(Piece { src: Src::Inline, off, len: bytes.len(), mask, mpos });
        self.queued += bytes.len();
    }

    fn push_arena(&mut self, off: usize, len: usize, mask: Option<[u8; 4]>, mpos: u64) {
        if len == 0 {
            return;
        }
        self.pieces.push_back(Piece { src: Src::Arena, off, len, mask, mpos });
        self.queued += len;
    }

    /// Appends the next `n` bytes (masked as they must be) to `out`.
    fn pull(&mut self, out: &mut Vec<u8>, arena: &[u8], mut n: usize) {
        while n > 0 {
            let Some(p) = self.pieces.front_mut() else { break };
            let k = n.min(p.len);
            let start = out.len();
            match p.src {
                Src::Inline => out.extend_from_slice(&self.inline[p.off..p.off + k]),
                Src::Arena => out.extend_from_slice(&arena[p.off..p.off + k]),
            }
            if let Some(key) = p.mask {
                apply_mask(&mut out[start..], key, p.mpos);
                p.mpos += k as u64;
            }
            p.off += k;
            p.len -= k;
            n -= k;
            self.queued -= k;
            if p.len == 0 {
                self.pieces.pop_front();
            }
        }
        if self.pieces.is_empty() {
            self.inline.clear();
        }
    }
}

/// A piece of a message payload being built.
#[derive(Clone, Copy, Debug)]
enum Part {
    /// `scratch[off..off + len]`.
    Scratch(usize, usize),
    /// `arena[off..off + len]`.
    Arena(usize, usize),
}

impl Part {
    fn len(self) -> usize {
        match self {
            Part::Scratch(_, l) | Part::Arena(_, l) => l,
        }
    }
}

fn parts_len(parts: &[Part]) -> usize {
    parts.iter().map(|p| p.len()).sum()
}

/// The pieces of `parts` covering bytes `from..to` of their concatenation.
fn slice_parts(parts: &[Part], from: usize, to: usize, out: &mut Vec<Part>) {
    out.clear();
    let mut pos = 0;
    for &p in parts {
        let (a, b) = (pos, pos + p.len());
        pos = b;
        let (lo, hi) = (a.max(from), b.min(to));
        if lo >= hi {
            continue;
        }
        let (skip, len) = (lo - a, hi - lo);
        out.push(match p {
            Part::Scratch(o, _) => Part::Scratch(o + skip, len),
            Part::Arena(o, _) => Part::Arena(o + skip, len),
        });
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    WebSocket,
    /// Upgrade refused with 403.
    Rejected,
    /// Plain HTTP, never WebSocket.
    PlainHttp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CloseBody {
    Code(u16, &'static str),
    Empty,
    OneByte,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Close { initiator: usize, body: CloseBody, answered: bool },
    Fin { first: usize },
    Rst { from: usize },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Syn,
    SynAck,
    Request,
    Response,
    Open,
    CloseFirst,
    CloseSecond,
    Finish,
    Done,
}

/// One connection's state. Side 0 is the client, 1 the server.
struct Conn {
    ip: [[u8; 4]; 2],
    port: [u16; 2],
    mac: [[u8; 6]; 2],
    ttl: [u8; 2],
    next_seq: [u32; 2],
    ip_id: [u16; 2],
    ts_base: [u32; 2],
    last_tsval: [u32; 2],
    window: [u16; 2],
    /// Data segments received and not yet acknowledged, per receiver.
    unacked: [u32; 2],
    q: [SendQueue; 2],
    kind: Kind,
    deflate: bool,
    offer_deflate: bool,
    subprotocol: bool,
    key: String,
    path: String,
    phase: Phase,
    events_left: u32,
    end: End,
    closes_sent: [bool; 2],
    rst: bool,
    captured: [u64; 2],
    http: [u64; 2],
}

/// Everything but the connections.
struct Ctx {
    cfg: GenConfig,
    rng: Rng,
    arena: Vec<u8>,
    /// Text templates: (offset, length) in the arena.
    texts: Vec<(usize, usize)>,
    bin_off: usize,
    bin_len: usize,
    buf: Vec<u8>,
    scratch: Vec<u8>,
    parts: Vec<Part>,
    frag: Vec<Part>,
    clock_us: u64,
    /// Bytes handed to the writer thread.
    written: u64,
    /// Bytes queued in all send queues.
    queued: u64,
    winding_down: bool,
    next_conn: u64,
    truth: Truth,
}

/// Ones' complement sum of `data` as native-endian 16-bit words (RFC 1071:
/// the byte order only swaps the result), accumulated in `acc`.
fn csum_add(mut acc: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(8);
    for ch in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(ch);
        let w = u64::from_ne_bytes(w);
        acc += (w & 0xffff_ffff) + (w >> 32);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        let w = u64::from_ne_bytes(w);
        acc += (w & 0xffff_ffff) + (w >> 32);
    }
    acc
}

/// The checksum field's bytes for a sum from [`csum_add`].
fn csum_finish(mut acc: u64) -> [u8; 2] {
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    (!(acc as u16)).to_ne_bytes()
}

fn json_template(rng: &mut Rng, target: usize, n: usize) -> String {
    const KINDS: [&str; 10] =
        ["tick", "trade", "quote", "order.update", "chat.message", "presence", "metrics", "position", "book.delta", "notification"];
    const SYMS: [&str; 8] = ["BTC-USD", "ETH-USD", "SOL-USD", "EUR-USD", "AAPL", "MSFT", "NVDA", "TSLA"];
    const WORDS: [&str; 12] = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"];
    if target < 60 {
        return match rng.below(3) {
            0 => format!("{{\"op\":\"hb\",\"t\":{}}}", 1_795_514_400_000 + rng.below(1_000_000)),
            1 => format!("{{\"ack\":{}}}", rng.below(1_000_000)),
            _ => format!("{{\"op\":\"sub\",\"ch\":\"{}\"}}", rng.pick(&SYMS)),
        };
    }
    let mut s = format!(
        "{{\"type\":\"{}\",\"seq\":{},\"ts\":{},\"sym\":\"{}\",\"px\":\"{}.{:02}\",\"qty\":{}",
        rng.pick(&KINDS),
        n * 7919 % 1_000_003,
        1_795_514_400_000 + rng.below(10_000_000),
        rng.pick(&SYMS),
        rng.range(1, 99_999),
        rng.below(100),
        rng.range(1, 5000)
    );
    let mut i = 0;
    while s.len() + 24 < target {
        s.push_str(&format!(",\"f{i}\":\"{}-{}\"", rng.pick(&WORDS), rng.below(10_000)));
        i += 1;
    }
    s.push('}');
    s
}

impl Ctx {
    fn new(cfg: &GenConfig) -> Ctx {
        let mut rng = Rng::new(cfg.seed);
        let mut arena = Vec::new();
        let mut texts = Vec::new();
        for n in 0..1024 {
            // Tens to hundreds of bytes, most of them short.
            let spread = rng.below(700) + 1;
            let target = 20 + rng.below(spread) as usize;
            let s = json_template(&mut rng, target, n);
            texts.push((arena.len(), s.len()));
            arena.extend_from_slice(s.as_bytes());
        }
        let bin_off = arena.len();
        let bin_len = (cfg.big_max + (1 << 20)).max(8 << 20);
        arena.reserve(bin_len);
        for _ in 0..bin_len / 8 {
            arena.extend_from_slice(&rng.next_u64().to_le_bytes());
        }
        let bin_len = arena.len() - bin_off;
        Ctx {
            cfg: cfg.clone(),
            rng,
            arena,
            texts,
            bin_off,
            bin_len,
            buf: Vec::with_capacity(CHUNK + (2 << 20)),
            scratch: Vec::new(),
            parts: Vec::new(),
            frag: Vec::new(),
            clock_us: START_US,
            written: 0,
            queued: 0,
            winding_down: false,
            next_conn: 0,
            truth: Truth::default(),
        }
    }

    fn pcap_header(&mut self) {
        let b = &mut self.buf;
        b.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        b.extend_from_slice(&2u16.to_le_bytes());
        b.extend_from_slice(&4u16.to_le_bytes());
        b.extend_from_slice(&0i32.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&262_144u32.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
    }

    fn new_conn(&mut self) -> Conn {
        let id = self.next_conn;
        self.next_conn += 1;
        let rng = &mut self.rng;
        // A bijection from the connection number to (client address, port):
        // no two connections share a 4-tuple.
        let x = ((id & 0xffff) as u32).wrapping_mul(40503) & 0xffff;
        let high = (id >> 16) as u32;
        let client_ip = [10, (x >> 8) as u8, x as u8, 2 + (high % 200) as u8];
        let client_port = 32768 + ((high / 200 + x * 7) % 28000) as u16;
        let server_ip = [192, 0, 2, 10 + rng.below(4) as u8];
        let server_port = if rng.chance(0.8) { 80 } else { 8080 };
        let kind = match rng.below(100) {
            0..=2 => Kind::PlainHttp,
            3..=4 => Kind::Rejected,
            _ => Kind::WebSocket,
        };
        let deflate = kind == Kind::WebSocket && rng.chance(self.cfg.deflate_share);
        let offer_deflate = deflate || rng.chance(0.5);
        let mut key_bytes = [0u8; 16];
        key_bytes[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
        key_bytes[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
        let key = base64::engine::general_purpose::STANDARD.encode(key_bytes);
        let mean = u64::from(self.cfg.mean_events.max(1));
        let events_left = if rng.chance(0.8) { rng.range(1, mean) } else { rng.range(mean, 6 * mean) } as u32;
        let end = match rng.below(100) {
            0..=79 => {
                let initiator = if rng.chance(0.55) { CLIENT } else { SERVER };
                let body = match rng.below(100) {
                    0..=69 => CloseBody::Code(1000, if rng.chance(0.5) { "" } else { "bye" }),
                    70..=79 => CloseBody::Code(1001, "going away"),
                    80..=83 => CloseBody::Code(1008, "policy violation"),
                    84..=87 => CloseBody::Code(1011, "internal error"),
                    88..=93 => {
                        CloseBody::Code(*rng.pick(&[4000, 4001, 4003, 4004, 4008, 4100, 4401, 4403, 4500, 4999]), "application close")
                    }
                    _ => CloseBody::Empty,
                };
                End::Close { initiator, body, answered: rng.below(100) < 96 }
            }
            80..=91 => End::Fin { first: rng.below(2) as usize },
            _ => End::Rst { from: rng.below(2) as usize },
        };
        let path = match rng.below(4) {
            0 => "/ws".to_string(),
            1 => format!("/socket.io/?EIO=4&transport=websocket&sid={:016x}", rng.next_u64()),
            2 => format!("/v2/stream?token={:016x}", rng.next_u64()),
            _ => "/live/feed".to_string(),
        };
        Conn {
            ip: [client_ip, server_ip],
            port: [client_port, server_port],
            mac: [[0x02, 0x42, 0xac, 0x11, 0x00, 0x02], [0x00, 0x1b, 0x21, 0x3a, 0x4c, server_ip[3]]],
            ttl: [62, 64],
            next_seq: [rng.u32(), rng.u32()],
            ip_id: [rng.below(65536) as u16, rng.below(65536) as u16],
            ts_base: [rng.u32(), rng.u32()],
            last_tsval: [0, 0],
            window: [rng.range(400, 2000) as u16, rng.range(400, 2000) as u16],
            unacked: [0, 0],
            q: [SendQueue::default(), SendQueue::default()],
            kind,
            deflate,
            offer_deflate,
            subprotocol: rng.chance(0.3),
            key,
            path,
            phase: Phase::Syn,
            events_left,
            end,
            closes_sent: [false, false],
            rst: false,
            captured: [0, 0],
            http: [0, 0],
        }
    }

    /// Writes one TCP segment from `from` carrying the next `n` queued bytes.
    fn packet(&mut self, c: &mut Conn, from: usize, flags: u8, n: usize) {
        let to = 1 - from;
        self.clock_us += 1 + self.rng.below(12);
        let syn = flags & F_SYN != 0;
        let opt_len = if syn { 20 } else { 12 };
        let tcp_len = 20 + opt_len + n;
        let ip_len = 20 + tcp_len;
        let frame_len = (14 + ip_len) as u32;
        let buf = &mut self.buf;
        buf.extend_from_slice(&((self.clock_us / 1_000_000) as u32).to_le_bytes());
        buf.extend_from_slice(&((self.clock_us % 1_000_000) as u32).to_le_bytes());
        buf.extend_from_slice(&frame_len.to_le_bytes());
        buf.extend_from_slice(&frame_len.to_le_bytes());
        // Ethernet II
        buf.extend_from_slice(&c.mac[to]);
        buf.extend_from_slice(&c.mac[from]);
        buf.extend_from_slice(&[0x08, 0x00]);
        // IPv4, DF, no options
        let ip_start = buf.len();
        let id = c.ip_id[from];
        c.ip_id[from] = id.wrapping_add(1);
        buf.extend_from_slice(&[0x45, 0x00]);
        buf.extend_from_slice(&(ip_len as u16).to_be_bytes());
        buf.extend_from_slice(&id.to_be_bytes());
        buf.extend_from_slice(&[0x40, 0x00, c.ttl[from], 6, 0, 0]);
        buf.extend_from_slice(&c.ip[from]);
        buf.extend_from_slice(&c.ip[to]);
        let ck = csum_finish(csum_add(0, &buf[ip_start..ip_start + 20]));
        buf[ip_start + 10..ip_start + 12].copy_from_slice(&ck);
        // TCP
        let tcp_start = buf.len();
        let ack = if flags & F_ACK != 0 { c.next_seq[to] } else { 0 };
        buf.extend_from_slice(&c.port[from].to_be_bytes());
        buf.extend_from_slice(&c.port[to].to_be_bytes());
        buf.extend_from_slice(&c.next_seq[from].to_be_bytes());
        buf.extend_from_slice(&ack.to_be_bytes());
        buf.extend_from_slice(&[(((20 + opt_len) / 4) << 4) as u8, flags]);
        let window = if syn { 64240 } else { c.window[from] };
        buf.extend_from_slice(&window.to_be_bytes());
        buf.extend_from_slice(&[0, 0, 0, 0]);
        let tsval = ((self.clock_us / 1000) as u32).wrapping_add(c.ts_base[from]);
        let tsecr = if flags & F_ACK != 0 { c.last_tsval[to] } else { 0 };
        c.last_tsval[from] = tsval;
        if syn {
            // MSS 1460, SACK permitted, timestamps, NOP, window scale 7.
            buf.extend_from_slice(&[2, 4, 0x05, 0xb4, 4, 2, 8, 10]);
            buf.extend_from_slice(&tsval.to_be_bytes());
            buf.extend_from_slice(&tsecr.to_be_bytes());
            buf.extend_from_slice(&[1, 3, 3, 7]);
        } else {
            buf.extend_from_slice(&[1, 1, 8, 10]);
            buf.extend_from_slice(&tsval.to_be_bytes());
            buf.extend_from_slice(&tsecr.to_be_bytes());
        }
        if n > 0 {
            c.q[from].pull(buf, &self.arena, n);
            self.queued -= n as u64;
        }
        let mut pseudo = [0u8; 12];
        pseudo[..4].copy_from_slice(&c.ip[from]);
        pseudo[4..8].copy_from_slice(&c.ip[to]);
        pseudo[9] = 6;
        pseudo[10..].copy_from_slice(&(tcp_len as u16).to_be_bytes());
        let ck = csum_finish(csum_add(csum_add(0, &pseudo), &buf[tcp_start..]));
        buf[tcp_start + 16..tcp_start + 18].copy_from_slice(&ck);

        let used = n as u32 + u32::from(syn) + u32::from(flags & F_FIN != 0);
        c.next_seq[from] = c.next_seq[from].wrapping_add(used);
        if flags & F_ACK != 0 {
            c.unacked[from] = 0;
        }
        if n > 0 {
            c.unacked[to] += 1;
            c.captured[from] += n as u64;
            self.truth.tcp_payload_bytes += n as u64;
        }
        self.truth.packets += 1;
    }

    /// Sends up to `max_segments` segments of `dir`'s queue; the receiver
    /// acknowledges every second segment.
    fn flush(&mut self, c: &mut Conn, dir: usize, max_segments: usize) {
        let mut sent = 0;
        while c.q[dir].queued > 0 && sent < max_segments {
            let left = c.q[dir].queued;
            let n = left.min(MSS);
            let flags = F_ACK | if n == left { F_PSH } else { 0 };
            self.packet(c, dir, flags, n);
            sent += 1;
            if c.unacked[1 - dir] >= 2 {
                self.packet(c, 1 - dir, F_ACK, 0);
            }
        }
    }

    fn flush_both(&mut self, c: &mut Conn) {
        let budget = 8 + self.rng.below(40) as usize;
        self.flush(c, CLIENT, budget);
        self.flush(c, SERVER, budget);
    }

    fn mask_for(&mut self, dir: usize) -> Option<[u8; 4]> {
        (dir == CLIENT).then(|| self.rng.u32().to_ne_bytes())
    }

    /// Queues one frame whose payload is `parts`; counts it.
    fn push_frame(&mut self, c: &mut Conn, dir: usize, hdr: FrameHeader, parts: &[Part]) {
        debug_assert_eq!(hdr.payload_len as usize, parts_len(parts));
        let q = &mut c.q[dir];
        let before = q.inline.len();
        hdr.encode(&mut q.inline);
        let hlen = q.inline.len() - before;
        // The header was appended to `inline` directly: queue it as a piece.
        q.pieces.push_back(Piece { src: Src::Inline, off: before, len: hlen, mask: None, mpos: 0 });
        q.queued += hlen;
        let mut pos = 0u64;
        for &p in parts {
            match p {
                Part::Scratch(o, l) => q.push_inline(&self.scratch[o..o + l], hdr.mask, pos),
                Part::Arena(o, l) => q.push_arena(o, l, hdr.mask, pos),
            }
            pos += p.len() as u64;
        }
        self.queued += (hlen as u64) + hdr.payload_len;
        let t = &mut self.truth;
        t.frames[dir][usize::from(hdr.opcode & 0x0f)] += 1;
        t.ws_header_bytes[dir] += hlen as u64;
        t.ws_payload_bytes[dir] += hdr.payload_len;
        if hdr.rsv1 {
            t.frames_rsv1[dir] += 1;
        }
    }

    fn scratch_part(&mut self, bytes: &[u8]) -> Part {
        let off = self.scratch.len();
        self.scratch.extend_from_slice(bytes);
        Part::Scratch(off, bytes.len())
    }

    /// `content` as a raw deflate stream of stored blocks, ended like a sync
    /// flush with the `00 00 ff ff` tail removed (RFC 7692 §7.2.1).
    fn deflate_stored(&mut self, content: Part) -> Vec<Part> {
        let mut out = Vec::new();
        let total = content.len();
        let mut pos = 0;
        let mut piece = Vec::new();
        loop {
            let n = (total - pos).min(0xffff);
            let len = n as u16;
            // BFINAL=0, BTYPE=00, padded to the byte; LEN, NLEN little-endian.
            let h = [0x00, len as u8, (len >> 8) as u8, !len as u8, !(len >> 8) as u8];
            out.push(self.scratch_part(&h));
            slice_parts(&[content], pos, pos + n, &mut piece);
            out.extend_from_slice(&piece);
            pos += n;
            if pos >= total {
                break;
            }
        }
        // The sync flush's empty stored block: its first byte (3 header
        // bits and padding) stays, `00 00 ff ff` is stripped.
        out.push(self.scratch_part(&[0x00]));
        out
    }

    fn text_content(&mut self) -> Part {
        let (off, len) = *self.rng.pick(&self.texts);
        Part::Arena(off, len)
    }

    fn binary_content(&mut self, len: usize) -> Part {
        let len = len.min(self.bin_len);
        let off = self.bin_off + self.rng.below((self.bin_len - len + 1) as u64) as usize;
        Part::Arena(off, len)
    }

    /// Queues one complete data message from `dir`, in `fragments` frames
    /// (pings between fragments with probability `ping_between`).
    fn message(&mut self, c: &mut Conn, dir: usize, opcode: u8, content: Part, fragments: usize, ping_between: f64) {
        let compress = c.deflate && self.rng.chance(if opcode == OP_TEXT { 0.6 } else { 0.3 });
        let parts = if compress { self.deflate_stored(content) } else { vec![content] };
        let total = parts_len(&parts);
        let fragments = fragments.max(1);
        // Cut points: evenly spread with jitter (fragments may be empty).
        let mut cuts = Vec::with_capacity(fragments + 1);
        cuts.push(0);
        for i in 1..fragments {
            let base = total * i / fragments;
            let jitter = self.rng.below((total / fragments / 2 + 1) as u64) as usize;
            cuts.push((base + jitter).min(total).max(*cuts.last().unwrap_or(&0)));
        }
        cuts.push(total);
        let mut frag = std::mem::take(&mut self.frag);
        for i in 0..fragments {
            let (a, b) = (cuts[i], cuts[i + 1]);
            slice_parts(&parts, a, b, &mut frag);
            let last = i + 1 == fragments;
            let op = if i == 0 { opcode } else { OP_CONT };
            let mask = self.mask_for(dir);
            let mut h = FrameHeader::new(last, op, mask, (b - a) as u64);
            h.rsv1 = compress && i == 0;
            self.push_frame(c, dir, h, &frag);
            if !last && self.rng.chance(ping_between) {
                // A control frame between fragments (§5.4), answered.
                self.ping_pong(c, dir, true);
            }
        }
        self.frag = frag;
        self.truth.messages[dir] += 1;
        if compress {
            self.truth.messages_rsv1[dir] += 1;
        }
    }

    /// A ping from `dir`, and the peer's pong when `answered`.
    fn ping_pong(&mut self, c: &mut Conn, dir: usize, answered: bool) {
        let len = self.rng.below(17) as usize;
        let content = self.binary_content(len);
        let mask = self.mask_for(dir);
        self.push_frame(c, dir, FrameHeader::new(true, OP_PING, mask, len as u64), &[content]);
        if answered {
            // The Ping is on the wire before the Pong that answers it.
            self.flush(c, dir, usize::MAX);
            let mask = self.mask_for(1 - dir);
            self.push_frame(c, 1 - dir, FrameHeader::new(true, OP_PONG, mask, len as u64), &[content]);
        }
    }

    fn close_frame(&mut self, c: &mut Conn, dir: usize, body: CloseBody) {
        self.scratch.clear();
        let (parts, code) = match body {
            CloseBody::Code(code, reason) => {
                let mut b = code.to_be_bytes().to_vec();
                b.extend_from_slice(reason.as_bytes());
                (vec![self.scratch_part(&b)], Some(code))
            }
            CloseBody::Empty => (Vec::new(), None),
            CloseBody::OneByte => (vec![self.scratch_part(&[0x03])], None),
        };
        let mask = self.mask_for(dir);
        self.push_frame(c, dir, FrameHeader::new(true, OP_CLOSE, mask, parts_len(&parts) as u64), &parts);
        *self.truth.closes[dir].entry(code).or_default() += 1;
        c.closes_sent[dir] = true;
        match body {
            CloseBody::OneByte => self.truth.violations[8] += 1,
            CloseBody::Code(code, _) if !valid_close_code(code) => self.truth.violations[9] += 1,
            _ => {}
        }
    }

    /// One message event on an open WebSocket connection.
    fn event(&mut self, c: &mut Conn) {
        self.scratch.clear();
        if self.rng.chance(self.cfg.violation_rate) {
            self.violation(c);
            return;
        }
        match self.rng.below(1000) {
            0..=549 => {
                // A burst of server updates, written together or one by one.
                let n = self.rng.range(1, 6);
                let together = self.rng.chance(0.5);
                for _ in 0..n {
                    let t = self.text_content();
                    self.message(c, SERVER, OP_TEXT, t, 1, 0.0);
                    if !together {
                        self.flush(c, SERVER, 4);
                    }
                }
            }
            550..=699 => {
                for _ in 0..self.rng.range(1, 2) {
                    let t = self.text_content();
                    self.message(c, CLIENT, OP_TEXT, t, 1, 0.0);
                }
            }
            700..=759 => {
                let t = self.text_content();
                self.message(c, CLIENT, OP_TEXT, t, 1, 0.0);
                self.flush(c, CLIENT, 4);
                let t = self.text_content();
                self.message(c, SERVER, OP_TEXT, t, 1, 0.0);
            }
            760..=809 => {
                let dir = if self.rng.chance(0.7) { SERVER } else { CLIENT };
                let len = self.rng.range(1024, 64 * 1024) as usize;
                let b = self.binary_content(len);
                self.message(c, dir, OP_BINARY, b, 1, 0.0);
            }
            810..=815 => {
                // Large binary messages, most of them a few hundred KiB.
                let dir = if self.rng.chance(0.85) { SERVER } else { CLIENT };
                let max = self.cfg.big_max.max(64 * 1024 + 1) as u64;
                let len = if self.rng.chance(0.3) { self.rng.range(64 * 1024, max) } else { self.rng.range(64 * 1024, max.min(512 * 1024)) }
                    as usize;
                let b = self.binary_content(len);
                let fragments = if self.rng.chance(0.4) { len.div_ceil(self.rng.range(16 << 10, 256 << 10) as usize) } else { 1 };
                self.message(c, dir, OP_BINARY, b, fragments, 0.2);
            }
            816..=889 => {
                let dir = self.rng.below(2) as usize;
                let fragments = self.rng.range(2, 5) as usize;
                let ping = if self.rng.chance(0.3) { 0.5 } else { 0.0 };
                if self.rng.chance(0.6) {
                    let t = self.text_content();
                    self.message(c, dir, OP_TEXT, t, fragments, ping);
                } else {
                    let len = self.rng.range(16, 8192) as usize;
                    let b = self.binary_content(len);
                    self.message(c, dir, OP_BINARY, b, fragments, ping);
                }
            }
            890..=969 => {
                let dir = if self.rng.chance(0.6) { CLIENT } else { SERVER };
                self.ping_pong(c, dir, true);
            }
            _ => {
                // Unsolicited pong (a heartbeat, §5.5.3).
                let dir = self.rng.below(2) as usize;
                let mask = self.mask_for(dir);
                self.push_frame(c, dir, FrameHeader::new(true, OP_PONG, mask, 0), &[]);
            }
        }
    }

    /// One frame breaking one rule.
    fn violation(&mut self, c: &mut Conn) {
        let rule = self.rng.below(10) as usize;
        let mut dir = self.rng.below(2) as usize;
        match rule {
            0 => {
                let t = self.text_content();
                let mask = self.mask_for(dir);
                let mut h = FrameHeader::new(true, OP_TEXT, mask, t.len() as u64);
                match self.rng.below(3) {
                    0 if !c.deflate => h.rsv1 = true,
                    1 => h.rsv3 = true,
                    _ => h.rsv2 = true,
                }
                self.push_frame(c, dir, h, &[t]);
                self.truth.messages[dir] += 1;
                if h.rsv1 {
                    self.truth.messages_rsv1[dir] += 1;
                }
            }
            1 => {
                let op = *self.rng.pick(&[3u8, 4, 5, 6, 7, 11, 12, 13, 14, 15]);
                let len = self.rng.below(if op >= 8 { 126 } else { 300 }) as usize;
                let b = self.binary_content(len);
                let mask = self.mask_for(dir);
                self.push_frame(c, dir, FrameHeader::new(true, op, mask, len as u64), &[b]);
            }
            2 | 3 => {
                // An unmasked client frame, or a masked server frame.
                dir = if rule == 2 { CLIENT } else { SERVER };
                let t = self.text_content();
                let mask = (dir == SERVER).then(|| self.rng.u32().to_ne_bytes());
                self.push_frame(c, dir, FrameHeader::new(true, OP_TEXT, mask, t.len() as u64), &[t]);
                self.truth.messages[dir] += 1;
            }
            4 => {
                let len = self.rng.range(126, 400) as usize;
                let b = self.binary_content(len);
                let mask = self.mask_for(dir);
                self.push_frame(c, dir, FrameHeader::new(true, OP_PING, mask, len as u64), &[b]);
            }
            5 => {
                let len = self.rng.below(20) as usize;
                let b = self.binary_content(len);
                let mask = self.mask_for(dir);
                self.push_frame(c, dir, FrameHeader::new(false, OP_PING, mask, len as u64), &[b]);
            }
            6 => {
                let t = self.text_content();
                let mask = self.mask_for(dir);
                self.push_frame(c, dir, FrameHeader::new(true, OP_CONT, mask, t.len() as u64), &[t]);
            }
            7 => {
                let mask = self.mask_for(dir);
                let (op, content, form) = if self.rng.chance(0.6) {
                    // Up to 125 bytes of a JSON template (ASCII, so valid UTF-8)
                    // with a 16-bit length.
                    let (off, tlen) = *self.rng.pick(&self.texts);
                    (OP_TEXT, Part::Arena(off, tlen.min(125)), LengthForm::Ext16)
                } else {
                    // Up to 65535 bytes with a 64-bit length.
                    let len = self.rng.below(0x1_0000) as usize;
                    (OP_BINARY, self.binary_content(len), LengthForm::Ext64)
                };
                let mut h = FrameHeader::new(true, op, mask, content.len() as u64);
                h.length_form = form;
                h.len7 = if form == LengthForm::Ext16 { 126 } else { 127 };
                h.header_len = (2 + if form == LengthForm::Ext16 { 2 } else { 8 } + if mask.is_some() { 4 } else { 0 }) as u8;
                self.push_frame(c, dir, h, &[content]);
                self.truth.messages[dir] += 1;
            }
            8 => {
                // Counted when the Close is sent.
                c.end = End::Close { initiator: dir, body: CloseBody::OneByte, answered: true };
                c.events_left = 0;
                return;
            }
            _ => {
                let code = *self.rng.pick(&[999u16, 1005, 1006, 1015, 1004, 0]);
                c.end = End::Close { initiator: dir, body: CloseBody::Code(code, ""), answered: true };
                c.events_left = 0;
                return;
            }
        }
        self.truth.violations[rule] += 1;
        if self.rng.chance(0.5) {
            // The peer fails the connection (§7.1.7).
            c.end = End::Close { initiator: 1 - dir, body: CloseBody::Code(1002, "protocol error"), answered: true };
            c.events_left = 0;
        }
    }

    fn request(&mut self, c: &mut Conn) {
        let host = if c.port[SERVER] == 80 { "stream.example.net".to_string() } else { "stream.example.net:8080".to_string() };
        let mut r = String::with_capacity(512);
        if c.kind == Kind::PlainHttp {
            r.push_str(&format!("GET /health HTTP/1.1\r\nHost: {host}\r\nUser-Agent: kube-probe/1.31\r\nAccept: */*\r\n\r\n"));
        } else {
            r.push_str(&format!("GET {} HTTP/1.1\r\nHost: {host}\r\n", c.path));
            r.push_str("User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36\r\n");
            r.push_str("Upgrade: websocket\r\nConnection: Upgrade\r\n");
            r.push_str(&format!("Sec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\n", c.key));
            r.push_str("Origin: https://app.example.net\r\n");
            if c.offer_deflate {
                r.push_str("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n");
            }
            if c.subprotocol {
                r.push_str("Sec-WebSocket-Protocol: json.v2, json.v1\r\n");
            }
            r.push_str(&format!("X-Request-Id: {:016x}\r\n\r\n", self.rng.next_u64()));
        }
        c.q[CLIENT].push_inline(r.as_bytes(), None, 0);
        self.queued += r.len() as u64;
        c.http[CLIENT] += r.len() as u64;
    }

    fn response(&mut self, c: &mut Conn) {
        let r = match c.kind {
            Kind::PlainHttp => "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok".to_string(),
            Kind::Rejected => {
                "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nConnection: close\r\n\r\nForbidden".to_string()
            }
            Kind::WebSocket => {
                let mut sha = Sha1::new();
                sha.update(c.key.as_bytes());
                sha.update(WS_GUID.as_bytes());
                let accept = base64::engine::general_purpose::STANDARD.encode(sha.finalize());
                let mut r = format!(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
                );
                if c.deflate {
                    r.push_str("Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n");
                }
                if c.subprotocol {
                    r.push_str("Sec-WebSocket-Protocol: json.v2\r\n");
                }
                r.push_str("\r\n");
                r
            }
        };
        c.q[SERVER].push_inline(r.as_bytes(), None, 0);
        self.queued += r.len() as u64;
        c.http[SERVER] += r.len() as u64;
    }

    /// Moves one connection one step forward.
    fn step(&mut self, c: &mut Conn) {
        // Delayed ACKs.
        if !matches!(c.phase, Phase::Syn | Phase::SynAck | Phase::Done) {
            for side in [CLIENT, SERVER] {
                if c.unacked[side] > 0 {
                    self.packet(c, side, F_ACK, 0);
                }
            }
        }
        match c.phase {
            Phase::Syn => {
                self.packet(c, CLIENT, F_SYN, 0);
                c.phase = Phase::SynAck;
            }
            Phase::SynAck => {
                self.packet(c, SERVER, F_SYN | F_ACK, 0);
                c.phase = Phase::Request;
            }
            Phase::Request => {
                self.packet(c, CLIENT, F_ACK, 0);
                self.request(c);
                self.flush(c, CLIENT, 8);
                c.phase = Phase::Response;
            }
            Phase::Response => {
                self.response(c);
                if c.kind == Kind::WebSocket {
                    if self.rng.chance(0.3) {
                        // A greeting in the same segment as the 101.
                        self.scratch.clear();
                        let t = self.text_content();
                        self.message(c, SERVER, OP_TEXT, t, 1, 0.0);
                    }
                    c.phase = Phase::Open;
                } else {
                    c.end = End::Fin { first: if c.kind == Kind::Rejected { SERVER } else { CLIENT } };
                    c.phase = Phase::Finish;
                }
                self.flush(c, SERVER, 8);
            }
            Phase::Open => {
                let busy = c.q[CLIENT].queued + c.q[SERVER].queued > 0;
                if busy && self.rng.chance(0.75) {
                    self.flush_both(c);
                } else if c.events_left == 0 || self.winding_down {
                    if busy {
                        self.flush_both(c);
                    } else {
                        c.phase = match c.end {
                            End::Close { .. } => Phase::CloseFirst,
                            _ => Phase::Finish,
                        };
                    }
                } else {
                    c.events_left -= 1;
                    self.event(c);
                    self.flush_both(c);
                }
            }
            Phase::CloseFirst => {
                if let End::Close { initiator, body, answered } = c.end {
                    self.close_frame(c, initiator, body);
                    // The whole Close is on the wire before any answer.
                    self.flush(c, initiator, usize::MAX);
                    c.phase = if answered { Phase::CloseSecond } else { Phase::Finish };
                }
            }
            Phase::CloseSecond => {
                if let End::Close { initiator, body, .. } = c.end {
                    let reply = match body {
                        CloseBody::Code(1000..=1002, _) => body,
                        CloseBody::Code(code, _) if valid_close_code(code) => {
                            if self.rng.chance(0.5) {
                                CloseBody::Code(code, "")
                            } else {
                                CloseBody::Code(1000, "")
                            }
                        }
                        CloseBody::Empty => CloseBody::Empty,
                        _ => CloseBody::Code(1002, "protocol error"),
                    };
                    self.close_frame(c, 1 - initiator, reply);
                    self.flush(c, 1 - initiator, 8);
                }
                c.phase = Phase::Finish;
            }
            Phase::Finish => {
                if c.q[CLIENT].queued + c.q[SERVER].queued > 0 {
                    self.flush_both(c);
                    return;
                }
                match c.end {
                    End::Rst { from } => {
                        self.packet(c, from, F_RST | F_ACK, 0);
                        c.rst = true;
                    }
                    end => {
                        // After a close handshake the server closes TCP first (§7.1.1).
                        let first = match end {
                            End::Fin { first } => first,
                            _ => SERVER,
                        };
                        self.packet(c, first, F_FIN | F_ACK, 0);
                        self.packet(c, 1 - first, F_FIN | F_ACK, 0);
                        self.packet(c, first, F_ACK, 0);
                    }
                }
                c.phase = Phase::Done;
            }
            Phase::Done => {}
        }
    }

    /// Adds a finished connection to the truth.
    fn account(&mut self, c: &Conn) {
        let t = &mut self.truth;
        t.tcp_connections += 1;
        if c.kind == Kind::PlainHttp {
            return;
        }
        t.websocket_connections += 1;
        if c.kind == Kind::WebSocket {
            t.handshakes_ok += 1;
        } else {
            t.handshakes_failed += 1;
        }
        if c.deflate {
            t.deflate_connections += 1;
        }
        for d in [CLIENT, SERVER] {
            t.http_bytes[d] += c.http[d];
            t.ws_captured_bytes[d] += c.captured[d];
        }
        let term = match c.closes_sent {
            [true, true] => 0,
            [true, false] | [false, true] => {
                t.violations[10] += 1;
                1
            }
            _ if c.rst => 3,
            _ => 2,
        };
        t.terminations[term] += 1;
        if c.closes_sent == [false, false] {
            t.connections_without_close += 1;
        }
    }
}

/// Whether a Close frame may carry `code` (RFC 6455 §7.4).
pub fn valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Writes a capture for `cfg` to `out` and returns its ground truth.
pub fn generate<W: Write + Send>(cfg: &GenConfig, out: W) -> io::Result<Truth> {
    let mut ctx = Ctx::new(cfg);
    ctx.pcap_header();
    let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(2);
    let (back_tx, back_rx) = mpsc::channel::<Vec<u8>>();
    std::thread::scope(|s| {
        let writer = s.spawn(move || -> io::Result<()> {
            let mut out = out;
            for mut b in rx {
                out.write_all(&b)?;
                b.clear();
                // The generator may be gone already; then the buffer is dropped.
                let _ = back_tx.send(b);
            }
            out.flush()
        });
        let mut conns: Vec<Conn> = (0..cfg.connections.max(1)).map(|_| ctx.new_conn()).collect();
        let mut failed = false;
        while !conns.is_empty() {
            let i = ctx.rng.below(conns.len() as u64) as usize;
            ctx.step(&mut conns[i]);
            if conns[i].phase == Phase::Done {
                ctx.account(&conns[i]);
                if ctx.winding_down {
                    conns.swap_remove(i);
                } else {
                    conns[i] = ctx.new_conn();
                }
            }
            if ctx.buf.len() >= CHUNK {
                let fresh = back_rx.try_recv().unwrap_or_else(|_| Vec::with_capacity(CHUNK + (2 << 20)));
                let full = std::mem::replace(&mut ctx.buf, fresh);
                ctx.written += full.len() as u64;
                if tx.send(full).is_err() {
                    failed = true;
                    break;
                }
            }
            // Queued payload costs about 9% more on the wire (headers, ACKs).
            if !ctx.winding_down && ctx.written + ctx.buf.len() as u64 + ctx.queued + ctx.queued / 11 >= cfg.size {
                ctx.winding_down = true;
            }
        }
        if !failed {
            let last = std::mem::take(&mut ctx.buf);
            ctx.written += last.len() as u64;
            // An error here shows in the writer's result.
            let _ = tx.send(last);
        }
        drop(tx);
        match writer.join() {
            Ok(r) => r,
            Err(_) => Err(io::Error::other("writer thread panicked")),
        }
    })?;
    ctx.truth.pcap_bytes = ctx.written;
    Ok(ctx.truth)
}

/// Parses a size like `2GiB`, `500MB`, `64m`, `1048576`.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
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
    if let Ok(n) = num.parse::<u64>() {
        return n.checked_mul(mult);
    }
    let f: f64 = num.parse().ok()?;
    (f >= 0.0).then_some((f * mult as f64) as u64)
}
