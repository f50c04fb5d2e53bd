//! Property tests of the flow stage: reassembly is exact under any split,
//! order and duplication of a byte string, and never panics, invents bytes
//! or loses track of a byte on arbitrary segment sequences.
//!
//! Test-only; imports the sibling `flow` modules, `crate::model`, proptest.

use std::collections::HashMap;

use proptest::prelude::*;

use super::{GapReason, Reassembler, ReassemblyConfig, SegmentIn, Side, StreamEvent, TcpStreamPair};
use crate::model::{PacketIndex, Timestamp};

#[derive(Clone, Debug, PartialEq, Eq)]
enum Ev {
    Data(u64, Vec<u8>, PacketIndex),
    Gap(u64, u64, GapReason),
    Fin(u64),
    Rst,
    Conflict(u64),
}

fn own(ev: StreamEvent<'_>) -> Ev {
    match ev {
        StreamEvent::Data { offset, bytes, packet, .. } => Ev::Data(offset, bytes.to_vec(), packet),
        StreamEvent::Gap { offset, len, reason, .. } => Ev::Gap(offset, len, reason),
        StreamEvent::Fin { offset, .. } => Ev::Fin(offset),
        StreamEvent::Rst { .. } => Ev::Rst,
        StreamEvent::OverlapConflict { len, .. } => Ev::Conflict(len),
    }
}

/// Checks the ordering contract of one direction's events; returns the end
/// of the Data/Gap tiling.
fn check_tiling(events: &[Ev]) -> Result<u64, TestCaseError> {
    let mut next = 0;
    let mut fin_seen = false;
    let mut rsts = 0;
    for ev in events {
        match ev {
            Ev::Data(at, bytes, _) => {
                prop_assert!(!fin_seen, "data after FIN: {:?}", events);
                prop_assert_eq!(*at, next, "data not contiguous: {:?}", events);
                prop_assert!(!bytes.is_empty());
                next += bytes.len() as u64;
            }
            Ev::Gap(at, len, _) => {
                prop_assert!(!fin_seen, "gap after FIN: {:?}", events);
                prop_assert_eq!(*at, next, "gap not contiguous: {:?}", events);
                prop_assert!(*len > 0);
                next += len;
            }
            Ev::Fin(at) => {
                prop_assert!(!fin_seen, "two FINs: {:?}", events);
                prop_assert_eq!(*at, next);
                fin_seen = true;
            }
            Ev::Rst => rsts += 1,
            Ev::Conflict(len) => prop_assert!(*len > 0),
        }
    }
    prop_assert!(rsts <= 1);
    Ok(next)
}

/// A byte string, a split of it into pieces, extra overlapping copies, an
/// arrival order, an ISN and whether the last piece carries the FIN.
fn split_case() -> impl Strategy<Value = (Vec<u8>, Vec<(usize, usize)>, u32, bool)> {
    (prop::collection::vec(any::<u8>(), 1..1500), any::<u32>(), any::<bool>())
        .prop_flat_map(|(data, isn, fin)| {
            let n = data.len();
            let sizes = prop::collection::vec(1usize..80, 1..60);
            let extras = prop::collection::vec((0..n, 1usize..120), 0..20);
            (Just(data), sizes, extras, Just(isn), Just(fin))
        })
        .prop_flat_map(|(data, sizes, extras, isn, fin)| {
            let n = data.len();
            let mut pieces = Vec::new();
            let mut at = 0;
            let mut sizes = sizes.into_iter().cycle();
            while at < n {
                let len = sizes.next().unwrap_or(1).min(n - at);
                pieces.push((at, at + len));
                at += len;
            }
            pieces.extend(extras.into_iter().map(|(from, len)| (from, (from + len).min(n))));
            (Just(data), Just(pieces).prop_shuffle(), Just(isn), Just(fin))
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_split_order_and_duplication_reassembles_exactly(
        (data, pieces, isn, fin) in split_case()
    ) {
        let mut r = Reassembler::new(ReassemblyConfig::default());
        let mut events = Vec::new();
        let syn = SegmentIn { seq: isn, syn: true, packet: 1, ..Default::default() };
        r.segment(&syn, &mut |e| events.push(own(e)));
        let base = isn.wrapping_add(1);
        let n = data.len();
        let mut ranges = HashMap::new();
        for (i, &(from, to)) in pieces.iter().enumerate() {
            let packet = 2 + i as u64;
            ranges.insert(packet, (from, to));
            let seg = SegmentIn {
                seq: base.wrapping_add(from as u32),
                payload: &data[from..to],
                fin: fin && to == n,
                packet,
                ts: Timestamp(packet as i64),
                ..Default::default()
            };
            r.segment(&seg, &mut |e| events.push(own(e)));
        }
        r.finish(1_000, Timestamp(0), &mut |e| events.push(own(e)));

        let end = check_tiling(&events)?;
        prop_assert_eq!(end, n as u64);
        let mut stream = Vec::new();
        for ev in &events {
            match ev {
                Ev::Data(at, bytes, packet) => {
                    // Attributed to a packet that really carried these bytes.
                    let &(from, to) = ranges.get(packet).expect("known packet");
                    let at = *at as usize;
                    prop_assert!(from <= at && at + bytes.len() <= to);
                    stream.extend_from_slice(bytes);
                }
                Ev::Gap(..) | Ev::Conflict(_) | Ev::Rst => prop_assert!(false, "unexpected {:?}", ev),
                Ev::Fin(at) => prop_assert!(fin && *at == n as u64),
            }
        }
        prop_assert_eq!(&stream, &data);
        let s = r.stats();
        prop_assert!(s.is_balanced(0), "{:?}", s);
        prop_assert_eq!(s.bytes_delivered, n as u64);
        prop_assert_eq!(s.bytes_captured, pieces.iter().map(|(a, b)| (b - a) as u64).sum::<u64>());
        prop_assert_eq!(r.fin_delivered(), fin);
    }
}

#[derive(Clone, Debug)]
struct FuzzSeg {
    from_opener: bool,
    seq_delta: i32,
    ack_delta: Option<i32>,
    syn: bool,
    fin: bool,
    rst: bool,
    payload: Vec<u8>,
    missing_len: u32,
}

fn fuzz_seg() -> impl Strategy<Value = FuzzSeg> {
    (
        any::<bool>(),
        prop_oneof![8 => -64i32..600, 1 => any::<i32>()],
        prop::option::weighted(0.8, prop_oneof![8 => -64i32..700, 1 => any::<i32>()]),
        prop::bool::weighted(0.05),
        prop::bool::weighted(0.05),
        prop::bool::weighted(0.03),
        prop::collection::vec(0u8..4, 0..48),
        prop_oneof![12 => Just(0u32), 3 => 0u32..40, 1 => any::<u32>()],
    )
        .prop_map(|(from_opener, seq_delta, ack_delta, syn, fin, rst, payload, missing_len)| FuzzSeg {
            from_opener,
            seq_delta,
            ack_delta,
            syn,
            fin,
            rst,
            payload,
            missing_len,
        })
}

fn small_config() -> impl Strategy<Value = ReassemblyConfig> {
    (0usize..300, 0usize..10, 0usize..80).prop_map(|(bytes, chunks, retained)| ReassemblyConfig {
        max_buffered_bytes: bytes,
        max_buffered_chunks: chunks,
        max_retained_bytes: retained,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn arbitrary_segments_never_break_the_contract(
        isns in (any::<u32>(), any::<u32>()),
        segs in prop::collection::vec(fuzz_seg(), 0..80),
        config in prop_oneof![Just(ReassemblyConfig::default()), small_config()],
    ) {
        let mut pair = TcpStreamPair::new(config);
        let mut events: [Vec<Ev>; 2] = [Vec::new(), Vec::new()];
        let mut payloads: HashMap<PacketIndex, Vec<u8>> = HashMap::new();
        let mut captured = [0u64; 2];
        for (i, f) in segs.iter().enumerate() {
            let packet = 1 + i as u64;
            let (own_isn, peer_isn) = if f.from_opener { isns } else { (isns.1, isns.0) };
            let seg = SegmentIn {
                seq: own_isn.wrapping_add(f.seq_delta as u32),
                ack: f.ack_delta.map(|d| peer_isn.wrapping_add(d as u32)),
                syn: f.syn,
                fin: f.fin,
                rst: f.rst,
                payload: &f.payload,
                missing_len: f.missing_len,
                packet,
                ts: Timestamp(packet as i64),
            };
            payloads.insert(packet, f.payload.clone());
            captured[usize::from(!f.from_opener)] += f.payload.len() as u64;
            pair.segment(f.from_opener, &seg, &mut |side, e| events[side as usize].push(own(e)));
        }
        pair.finish(&mut |side, e| events[side as usize].push(own(e)));

        for side in Side::BOTH {
            let evs = &events[side as usize];
            let end = check_tiling(evs)?;
            let s = pair.stats(side);
            prop_assert!(s.is_balanced(0), "{:?}", s);
            prop_assert_eq!(pair.reassembler(side).buffered_bytes(), 0);
            prop_assert_eq!(s.bytes_captured, captured[side as usize]);
            let mut delivered = 0;
            let mut gap = 0;
            let mut conflicts = 0;
            for ev in evs {
                match ev {
                    Ev::Data(_, bytes, packet) => {
                        // Never invented: a contiguous run of its packet's payload.
                        let p = payloads.get(packet).expect("known packet");
                        prop_assert!(p.windows(bytes.len()).any(|w| w == bytes.as_slice()));
                        delivered += bytes.len() as u64;
                    }
                    Ev::Gap(_, len, _) => gap += len,
                    Ev::Conflict(_) => conflicts += 1,
                    Ev::Fin(_) | Ev::Rst => {}
                }
            }
            prop_assert_eq!(delivered, s.bytes_delivered);
            prop_assert_eq!(gap, s.bytes_gap);
            prop_assert_eq!(delivered + gap, end);
            prop_assert_eq!(conflicts, s.conflicts);
        }
    }
}
