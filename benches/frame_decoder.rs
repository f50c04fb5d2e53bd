//! Throughput of the per-direction WebSocket frame decoder
//! ([`FrameDecoder`]) over realistic, deterministic byte streams cut into
//! TCP-sized chunks the way the reassembler delivers them.
//!
//! ```text
//! cargo bench --bench frame_decoder
//! ```
//!
//! Inputs (each about 8 MiB, fed in 1448-byte chunks, one chunk a packet):
//! - `c2s_masked`: a browser's side: masked small JSON texts, pings,
//!   pongs, a few masked binary uploads (1-64 KiB), some fragmented messages;
//! - `s2c_text_and_large_binary`: a server's side: unmasked texts of
//!   50 B-2 KiB and large binary messages (64 KiB-1 MiB), some fragmented;
//! - `tiny_frames`: 2-40 byte frames only, the per-frame cost.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wsforensics::model::Timestamp;
use wsforensics::ws::frame::{FrameHeader, apply_mask};
use wsforensics::ws::{DecodedFrame, DecoderConfig, DirectionContext, FrameDecoder, FrameSink, opcode};

/// Bytes per chunk handed to the decoder (an Ethernet MSS with timestamps).
const CHUNK: usize = 1448;
/// Approximate size of each stream.
const STREAM_BYTES: usize = 8 << 20;

/// splitmix64: deterministic, fast, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// A JSON-like chat message of about `len` bytes.
fn text_payload(rng: &mut Rng, len: usize) -> Vec<u8> {
    const WORDS: [&str; 12] = ["hello", "room", "typing", "presence", "update", "ack", "message", "cursor", "delta", "sync", "user", "ok"];
    let mut s = format!("{{\"type\":\"{}\",\"seq\":{},\"body\":\"", WORDS[rng.range(0, 11)], rng.next() % 1_000_000);
    while s.len() + 2 < len {
        s.push_str(WORDS[rng.range(0, 11)]);
        s.push(' ');
    }
    s.push_str("\"}");
    s.into_bytes()
}

fn binary_payload(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        v.extend_from_slice(&rng.next().to_le_bytes());
    }
    v.truncate(len);
    v
}

/// Appends one frame (header, then the payload masked when `masked`).
fn push_frame(out: &mut Vec<u8>, rng: &mut Rng, fin: bool, op: u8, masked: bool, payload: &[u8]) {
    let key = masked.then(|| (rng.next() as u32).to_be_bytes());
    FrameHeader::new(fin, op, key, payload.len() as u64).encode(out);
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = key
        && let Some(body) = out.get_mut(start..)
    {
        apply_mask(body, key, 0);
    }
}

/// A data message, fragmented into `parts` frames when `parts > 1`.
fn push_message(out: &mut Vec<u8>, rng: &mut Rng, op: u8, masked: bool, payload: &[u8], parts: usize) {
    let step = payload.len().div_ceil(parts.max(1)).max(1);
    let mut chunks = payload.chunks(step).peekable();
    let mut first = true;
    if payload.is_empty() {
        push_frame(out, rng, true, op, masked, payload);
        return;
    }
    while let Some(part) = chunks.next() {
        let last = chunks.peek().is_none();
        push_frame(out, rng, last, if first { op } else { opcode::CONTINUATION }, masked, part);
        first = false;
    }
}

/// The client's direction: masked, mostly small texts.
fn client_stream(seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed);
    let mut out = Vec::with_capacity(STREAM_BYTES + (64 << 10));
    while out.len() < STREAM_BYTES {
        let r = rng.range(0, 999);
        if r < 800 {
            let len = rng.range(20, 400);
            let p = text_payload(&mut rng, len);
            push_message(&mut out, &mut rng, opcode::TEXT, true, &p, 1);
        } else if r < 880 {
            let p = binary_payload(&mut rng, 8);
            push_frame(&mut out, &mut rng, true, if r < 840 { opcode::PING } else { opcode::PONG }, true, &p);
        } else if r < 960 {
            let len = rng.range(500, 4000);
            let p = text_payload(&mut rng, len);
            let parts = rng.range(2, 4);
            push_message(&mut out, &mut rng, opcode::TEXT, true, &p, parts);
        } else {
            let len = rng.range(1 << 10, 64 << 10);
            let p = binary_payload(&mut rng, len);
            push_message(&mut out, &mut rng, opcode::BINARY, true, &p, 1);
        }
    }
    let p = [0x03, 0xe8];
    push_frame(&mut out, &mut rng, true, opcode::CLOSE, true, &p);
    out
}

/// The server's direction: unmasked texts and large binary messages.
fn server_stream(seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed);
    let mut out = Vec::with_capacity(STREAM_BYTES + (1 << 20));
    while out.len() < STREAM_BYTES {
        let r = rng.range(0, 999);
        if r < 850 {
            let len = rng.range(50, 2048);
            let p = text_payload(&mut rng, len);
            push_message(&mut out, &mut rng, opcode::TEXT, false, &p, 1);
        } else if r < 900 {
            let p = binary_payload(&mut rng, 8);
            push_frame(&mut out, &mut rng, true, opcode::PING, false, &p);
        } else if r < 990 {
            let len = rng.range(2048, 16 << 10);
            let p = text_payload(&mut rng, len);
            let parts = rng.range(1, 3);
            push_message(&mut out, &mut rng, opcode::TEXT, false, &p, parts);
        } else {
            let len = rng.range(64 << 10, 1 << 20);
            let p = binary_payload(&mut rng, len);
            let parts = rng.range(1, 4);
            push_message(&mut out, &mut rng, opcode::BINARY, false, &p, parts);
        }
    }
    let p = [0x03, 0xe8];
    push_frame(&mut out, &mut rng, true, opcode::CLOSE, false, &p);
    out
}

/// Tiny frames only: mostly 2-40 byte texts, masked like a client's.
fn tiny_stream(seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed);
    let mut out = Vec::with_capacity(STREAM_BYTES / 4 + 64);
    while out.len() < STREAM_BYTES / 4 {
        let len = rng.range(2, 40);
        let p = text_payload(&mut rng, len);
        let masked = rng.chance(0.5);
        push_frame(&mut out, &mut rng, true, opcode::TEXT, masked, &p);
    }
    out
}

/// Counts what comes out, like the session's sink would look at it.
#[derive(Default)]
struct Count {
    frames: u64,
    payload: u64,
    checksum: u64,
}

impl FrameSink for Count {
    fn payload(&mut self, _header: &FrameHeader, _frame_index: u64, _pos: u64, bytes: &[u8]) {
        self.payload += bytes.len() as u64;
        self.checksum = self.checksum.wrapping_add(u64::from(bytes.first().copied().unwrap_or(0)));
    }

    fn frame(&mut self, frame: DecodedFrame) {
        self.frames += 1;
        self.checksum = self.checksum.wrapping_add(frame.header.payload_len);
    }
}

/// Decodes `stream` from scratch, one chunk per packet.
fn decode(stream: &[u8], masked: Option<bool>) -> Count {
    let ctx = DirectionContext { masked, rsv1_allowed: false };
    let mut dec = FrameDecoder::in_sync(DecoderConfig::default(), ctx, 0);
    let mut sink = Count::default();
    let mut offset = 0u64;
    for (i, chunk) in stream.chunks(CHUNK).enumerate() {
        let packet = i as u64 + 1;
        dec.data(offset, chunk, packet, Timestamp::from_nanos(packet as i64 * 1000), &mut sink);
        offset += chunk.len() as u64;
    }
    dec.finish(&mut sink);
    sink
}

fn bench(c: &mut Criterion) {
    let inputs: [(&str, Vec<u8>, Option<bool>); 3] = [
        ("c2s_masked", client_stream(1), Some(true)),
        ("s2c_text_and_large_binary", server_stream(2), Some(false)),
        ("tiny_frames", tiny_stream(3), None),
    ];
    let mut group = c.benchmark_group("frame_decoder");
    group.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    for (name, stream, masked) in &inputs {
        // Sanity: the stream decodes to frames with every byte accounted for.
        let probe = decode(stream, *masked);
        assert!(probe.frames > 0 && probe.payload > 0, "{name}: nothing decoded");
        group.throughput(Throughput::Bytes(stream.len() as u64));
        group.bench_function(*name, |b| b.iter(|| black_box(decode(black_box(stream), *masked))));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
