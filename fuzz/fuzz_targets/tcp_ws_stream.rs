//! TCP reassembly + WebSocket decoding driven by arbitrary segment sequences.
//!
//! The input is decoded (with `arbitrary`) as an optional HTTP upgrade
//! prefix and a few dozen segments on up to two connections: direction,
//! sequence-number delta from the in-order position, ACK, SYN/FIN/RST,
//! snaplen-cut bytes, time step, and a payload that is raw bytes or a
//! WebSocket frame built from fuzzed fields (optionally masked and/or
//! deflate-compressed). The segments go through `FlowTable`,
//! `TcpStreamPair` and `Session` exactly as `pipeline::Shard` drives them.
//!
//! Checks: no panic; for every connection record the session emits, each
//! direction's byte accounting holds (`ByteAccount::accounted() ==
//! captured`).

#![no_main]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

use libfuzzer_sys::fuzz_target;
use wsforensics::flow::{FlowTable, ReassemblyConfig, SegmentIn, Side, StreamEvent, TcpStreamPair};
use wsforensics::model::{ConnId, PacketIndex, Timestamp};
use wsforensics::session::record::{CloseRecord, ConnectionRecord, Finding, FrameRecord, MessageRecord, RecordSink, ViolationRecord};
use wsforensics::session::{OPENER, RESPONDER, Session, SessionConfig, TcpTotals};
use wsforensics::ws::decoder::DecoderConfig;
use wsforensics_fuzz::{Input, SMALL_REASSEMBLY, SMALL_SESSION, scenario};

#[derive(Default)]
struct Sink {
    records: usize,
    connections: Vec<ConnectionRecord>,
}

impl RecordSink for Sink {
    fn connection(&mut self, rec: ConnectionRecord) {
        self.records += 1;
        self.connections.push(rec);
    }
    fn frame(&mut self, _: FrameRecord) {
        self.records += 1;
    }
    fn message(&mut self, _: MessageRecord) {
        self.records += 1;
    }
    fn close(&mut self, _: CloseRecord) {
        self.records += 1;
    }
    fn violation(&mut self, _: ViolationRecord) {
        self.records += 1;
    }
    fn finding(&mut self, _: Finding) {
        self.records += 1;
    }
}

struct Conn {
    pair: TcpStreamPair,
    session: Session,
}

fn side_index(side: Side) -> usize {
    match side {
        Side::Opener => OPENER,
        Side::Responder => RESPONDER,
    }
}

/// As `pipeline::deliver`.
fn deliver(session: &mut Session, side: usize, ev: StreamEvent<'_>, out: &mut dyn RecordSink) {
    match ev {
        StreamEvent::Data { offset, bytes, packet, ts } => session.data(side, offset, bytes, packet, ts, out),
        StreamEvent::Gap { offset, len, packet, ts, reason } => session.gap(side, offset, len, packet, ts, reason.as_str(), out),
        StreamEvent::Fin { packet, ts, .. } => session.fin(side, packet, ts),
        StreamEvent::Rst { packet, ts } => session.rst(side, packet, ts),
        StreamEvent::OverlapConflict { offset, len, packet, ts, first_packet } => {
            session.overlap_conflict(side, offset, len, packet, ts, first_packet)
        }
    }
}

/// The per-connection half of `pipeline::Shard`.
struct Shard {
    conns: HashMap<ConnId, Conn>,
    retired: HashSet<ConnId>,
    reassembly: ReassemblyConfig,
    session: SessionConfig,
    out: Sink,
}

impl Shard {
    fn segment(&mut self, conn: ConnId, from_opener: bool, src: SocketAddr, dst: SocketAddr, seg: &SegmentIn<'_>) {
        if self.retired.contains(&conn) {
            return;
        }
        let (reassembly, cfg) = (self.reassembly, self.session);
        let c = self.conns.entry(conn).or_insert_with(|| {
            let (opener, responder) = if from_opener { (src, dst) } else { (dst, src) };
            Conn { pair: TcpStreamPair::new(reassembly), session: Session::new(conn, opener, responder, seg.packet, seg.ts, cfg) }
        });
        let side = if from_opener { OPENER } else { RESPONDER };
        c.session.packet(seg.packet, seg.ts);
        if seg.syn {
            c.session.syn(side, seg.ack.is_some());
        }
        let session = &mut c.session;
        let out = &mut self.out;
        c.pair.segment(from_opener, seg, &mut |s, ev| deliver(session, side_index(s), ev, out));
        if c.session.is_done() {
            self.conns.remove(&conn);
            self.retired.insert(conn);
        } else if c.pair.is_closed() {
            if let Some(c) = self.conns.remove(&conn) {
                self.finish(c);
            }
            self.retired.insert(conn);
        }
    }

    fn finish_conn(&mut self, conn: ConnId) {
        self.retired.remove(&conn);
        if let Some(c) = self.conns.remove(&conn) {
            self.finish(c);
        }
    }

    fn finish(&mut self, mut c: Conn) {
        let session = &mut c.session;
        let out = &mut self.out;
        c.pair.finish(&mut |s, ev| deliver(session, side_index(s), ev, out));
        let totals = Side::BOTH.map(|s| {
            let st = c.pair.stats(s);
            TcpTotals { captured: st.bytes_captured, not_delivered: st.bytes_captured.saturating_sub(st.bytes_delivered) }
        });
        c.session.finish(totals, &mut self.out);
    }
}

fn run(input: Input) {
    let sc = scenario(input);
    let (reassembly, session) = if sc.small {
        let (b, c, r) = SMALL_REASSEMBLY;
        let (control_keep, data_keep, search_window, probe_limit, max_message) = SMALL_SESSION;
        (
            ReassemblyConfig { max_buffered_bytes: b, max_buffered_chunks: c, max_retained_bytes: r },
            SessionConfig { decoder: DecoderConfig { control_keep, data_keep, search_window }, probe_limit, max_message },
        )
    } else {
        (ReassemblyConfig::default(), SessionConfig::default())
    };
    let mut table = FlowTable::default();
    let mut shard = Shard { conns: HashMap::new(), retired: HashSet::new(), reassembly, session, out: Sink::default() };
    let mut last_expire = Timestamp::default();
    let mut evicted = Vec::new();
    for (i, p) in sc.packets.iter().enumerate() {
        let packet = i as PacketIndex + 1;
        let ts = Timestamp(p.ts);
        let seg = SegmentIn {
            seq: p.seq,
            ack: p.ack,
            syn: p.syn,
            fin: p.fin,
            rst: p.rst,
            payload: &p.payload,
            missing_len: p.missing,
            packet,
            ts,
        };
        // As pipeline::read_batch / Shard::run.
        let hit = table.lookup(p.src, p.dst, &seg);
        if let Some(old) = hit.superseded {
            shard.finish_conn(old);
        }
        shard.segment(hit.conn, hit.from_opener, p.src, p.dst, &seg);
        if p.ts.abs_diff(last_expire.0) >= 1_000_000_000 {
            last_expire = ts;
            table.expire(ts, &mut evicted);
        }
        for conn in evicted.drain(..) {
            shard.finish_conn(conn);
        }
    }
    let mut ids: Vec<ConnId> = shard.conns.keys().copied().collect();
    ids.sort_unstable();
    for id in ids {
        shard.finish_conn(id);
    }

    for rec in &shard.out.connections {
        for (i, b) in rec.bytes.iter().enumerate() {
            assert_eq!(
                b.accounted(),
                b.captured,
                "conn {} direction {i}: accounted {} != captured {} ({b:?})",
                rec.conn_id,
                b.accounted(),
                b.captured
            );
        }
    }
}

fuzz_target!(|input: Input| {
    run(input);
});
