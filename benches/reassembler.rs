//! Throughput of TCP reassembly ([`TcpStreamPair`]: both directions of one
//! connection, ACKs fed across) over deterministic segment sequences.
//!
//! ```text
//! cargo bench --bench reassembler
//! ```
//!
//! One connection: handshake, the server streaming about 16 MiB in
//! MSS-sized (mostly 1448-byte) segments, the client sending a small
//! request every ~20 server segments, the receiver ACKing every second
//! segment (ACKs cover only what was captured, as a receiver-side capture
//! shows), FIN both ways. Three orders of the same segments:
//! - `in_order`;
//! - `reordered`: 30% of the runs of 8 server segments are shuffled;
//! - `duplicated`: 5% of the server segments are retransmitted 1-4
//!   segments later, 2% repacketized (a retransmission that starts inside
//!   an earlier segment and runs past it).
//!
//! Throughput counts every payload byte given to the reassembler
//! (duplicates included).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wsforensics::flow::{ReassemblyConfig, SegmentIn, StreamEvent, TcpStreamPair};
use wsforensics::model::Timestamp;

const MSS: usize = 1448;
const SERVER_BYTES: usize = 16 << 20;
const C_ISN: u32 = 0xfff0_0000; // wraps around during the stream
const S_ISN: u32 = 0x1234_5678;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// One segment, its payload as a range of its sender's stream.
#[derive(Clone, Copy)]
struct Seg {
    from_opener: bool,
    seq: u32,
    ack: Option<u32>,
    syn: bool,
    fin: bool,
    start: usize,
    len: usize,
}

struct Conn {
    client: Vec<u8>,
    server: Vec<u8>,
    segs: Vec<Seg>,
    captured: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    Sequential,
    Reordered,
    Duplicated,
}

/// Server segment boundaries: mostly full MSS, sometimes a short push.
fn cut(rng: &mut Rng, total: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < total {
        let len = if rng.chance(0.8) { MSS } else { rng.range(64, MSS) }.min(total - at);
        out.push((at, len));
        at += len;
    }
    out
}

fn build(order: Order, seed: u64) -> Conn {
    let mut rng = Rng(seed);
    let server: Vec<u8> = (0..SERVER_BYTES).map(|i| (i as u64).wrapping_mul(2_654_435_761) as u8).collect();
    let pieces = cut(&mut rng, server.len());
    // Emission order of the server's pieces (indices into `pieces`), with
    // retransmissions and repacketized overlaps as extra (start, len).
    let mut emit: Vec<(usize, usize)> = Vec::with_capacity(pieces.len() + pieces.len() / 10);
    let mut idx: Vec<usize> = (0..pieces.len()).collect();
    if order == Order::Reordered {
        for block in idx.chunks_mut(8) {
            if rng.chance(0.3) {
                for i in (1..block.len()).rev() {
                    let j = rng.range(0, i);
                    block.swap(i, j);
                }
            }
        }
    }
    for (n, &i) in idx.iter().enumerate() {
        emit.push(pieces[i]);
        if order == Order::Duplicated && n > 4 {
            if rng.chance(0.05) {
                emit.push(pieces[i - rng.range(1, 4)]);
            } else if rng.chance(0.02) {
                let (a, la) = pieces[i - 1];
                let (b, lb) = pieces[i];
                let from = a + rng.range(1, la.saturating_sub(1).max(1));
                emit.push((from, (b + lb - from).min(2 * MSS)));
            }
        }
    }

    let mut client = Vec::new();
    let mut segs = Vec::with_capacity(emit.len() * 3 / 2 + 8);
    let s = |off: usize| S_ISN.wrapping_add(1).wrapping_add(off as u32);
    let c = |off: usize| C_ISN.wrapping_add(1).wrapping_add(off as u32);
    segs.push(Seg { from_opener: true, seq: C_ISN, ack: None, syn: true, fin: false, start: 0, len: 0 });
    segs.push(Seg { from_opener: false, seq: S_ISN, ack: Some(c(0)), syn: true, fin: false, start: 0, len: 0 });
    segs.push(Seg { from_opener: true, seq: c(0), ack: Some(s(0)), syn: false, fin: false, start: 0, len: 0 });
    // What the client has received: a contiguous prefix plus pieces beyond.
    let mut received: std::collections::BTreeMap<usize, usize> = std::collections::BTreeMap::new();
    let mut contiguous = 0usize;
    let mut since_ack = 0;
    for (n, &(start, len)) in emit.iter().enumerate() {
        segs.push(Seg { from_opener: false, seq: s(start), ack: Some(c(client.len())), syn: false, fin: false, start, len });
        let end = start + len;
        if end > contiguous {
            let e = received.entry(start.max(contiguous)).or_insert(end);
            *e = (*e).max(end);
        }
        while let Some((&a, &b)) = received.first_key_value() {
            if a > contiguous {
                break;
            }
            contiguous = contiguous.max(b);
            received.pop_first();
        }
        since_ack += 1;
        if n % 20 == 19 {
            // A client request, which also ACKs.
            let req = rng.range(40, 300);
            let at = client.len();
            client.extend((0..req).map(|i| b'a' + ((at + i) % 26) as u8));
            segs.push(Seg { from_opener: true, seq: c(at), ack: Some(s(contiguous)), syn: false, fin: false, start: at, len: req });
            since_ack = 0;
        } else if since_ack >= 2 {
            segs.push(Seg { from_opener: true, seq: c(client.len()), ack: Some(s(contiguous)), syn: false, fin: false, start: 0, len: 0 });
            since_ack = 0;
        }
    }
    let (c_end, s_end) = (client.len(), server.len());
    segs.push(Seg { from_opener: false, seq: s(s_end), ack: Some(c(c_end)), syn: false, fin: true, start: 0, len: 0 });
    segs.push(Seg { from_opener: true, seq: c(c_end), ack: Some(s(s_end + 1)), syn: false, fin: true, start: 0, len: 0 });
    segs.push(Seg { from_opener: false, seq: s(s_end + 1), ack: Some(c(c_end + 1)), syn: false, fin: false, start: 0, len: 0 });
    let captured = segs.iter().map(|g| g.len as u64).sum();
    Conn { client, server, segs, captured }
}

#[derive(Default)]
struct Out {
    delivered: u64,
    gaps: u64,
    events: u64,
}

fn run(conn: &Conn) -> Out {
    let mut pair = TcpStreamPair::new(ReassemblyConfig::default());
    let mut out = Out::default();
    let mut sink = |_side, ev: StreamEvent<'_>| {
        out.events += 1;
        match ev {
            StreamEvent::Data { bytes, .. } => out.delivered += bytes.len() as u64,
            StreamEvent::Gap { len, .. } => out.gaps += len,
            _ => {}
        }
    };
    for (i, g) in conn.segs.iter().enumerate() {
        let data = if g.from_opener { &conn.client } else { &conn.server };
        let seg = SegmentIn {
            seq: g.seq,
            ack: g.ack,
            syn: g.syn,
            fin: g.fin,
            rst: false,
            payload: &data[g.start..g.start + g.len],
            missing_len: 0,
            packet: i as u64 + 1,
            ts: Timestamp::from_nanos(i as i64 * 10_000),
        };
        pair.segment(g.from_opener, &seg, &mut sink);
    }
    pair.finish(&mut sink);
    out
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("reassembler");
    group.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    for (name, order, seed) in
        [("in_order", Order::Sequential, 1), ("reordered", Order::Reordered, 2), ("duplicated", Order::Duplicated, 3)]
    {
        let conn = build(order, seed);
        // Sanity: every byte comes out once, no gaps.
        let probe = run(&conn);
        assert_eq!(probe.delivered, (conn.client.len() + conn.server.len()) as u64, "{name}: bytes delivered");
        assert_eq!(probe.gaps, 0, "{name}: gaps");
        group.throughput(Throughput::Bytes(conn.captured));
        group.bench_function(name, |b| b.iter(|| black_box(run(black_box(&conn)))));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
