//! Which TCP connection a segment belongs to: connection ids numbered like
//! Wireshark's `tcp.stream`, port-reuse detection, and bounded memory through
//! eviction on capture time.
//!
//! Owns: [`FlowTable`], [`FlowTableConfig`], [`FlowLookup`].
//! May import: `crate::model`, the sibling `flow` vocabulary, std.
//!
//! # Numbering rule (Wireshark 4.0 `packet-tcp.c`, `dissect_tcp`)
//!
//! Ids are 0-based, in order of each connection's first packet, counting
//! every TCP connection. A segment belongs to the latest connection on its
//! 4-tuple (either direction), except that a **SYN without ACK starts a new
//! connection** when its direction already has a base sequence number and
//! either
//! - its sequence number differs from that base (a new ISN: port reuse), or
//! - the connection has already seen a FIN+ACK or a RST after its first
//!   packet (Wireshark's `tcp.completeness` FIN / RST bits).
//!
//! A retransmitted SYN (same ISN, no FIN/RST seen) stays in its connection; a
//! SYN+ACK never starts one. As in Wireshark's `tcp_analyze_sequence_number`,
//! a direction's base is the SYN's sequence number, or `seq - 1` of its first
//! non-SYN segment, or `ack - 1` of the first ACK from the other side,
//! whichever comes first; a SYN on a direction with no base joins the
//! current connection.
//!
//! # Eviction (where this departs from Wireshark, which never forgets)
//!
//! Connections closed by a RST, or by a FIN from each side, are evicted once
//! idle for [`FlowTableConfig::closed_linger`] of capture time; any connection
//! idle for [`FlowTableConfig::idle_timeout`] is evicted too. Both checks run
//! in [`FlowTable::expire`] in amortized O(1) (two FIFO queues with lazy
//! re-queueing), and the evicted ids are returned so the caller can flush
//! their streams. After eviction a late packet of the same 4-tuple starts a
//! **new** id where Wireshark would reuse the old one; with the defaults this
//! only happens after minutes of silence.
//!
//! Memory stays bounded in a storm of short connections (thousands closing
//! every second, all within the linger): at most
//! [`FlowTableConfig::max_closed`] closed connections linger, the
//! oldest-closed are evicted early beyond that, and records of connections
//! already evicted are dropped from the idle queue once they make up most of
//! it. A late packet of a connection evicted that way would need to arrive
//! after tens of thousands of later connections had closed.

use std::collections::hash_map::Entry as MapEntry;
use std::collections::{HashMap, VecDeque};

/// The flow map's hasher: foldhash, seeded per process. SipHash (the std
/// default) was 3% of a whole run on the per-packet lookup; a fixed-seed
/// hasher (FxHash) would let crafted traffic collide its flows on purpose.
type FlowHasher = foldhash::fast::RandomState;
use std::net::SocketAddr;
use std::time::Duration;

use super::SegmentIn;
use crate::model::{ConnId, FlowKey, Timestamp};

/// Eviction settings, in capture time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowTableConfig {
    /// Idle time after which a closed connection (RST, or FIN both ways) is
    /// forgotten. Default 2 minutes (about 2 MSL, RFC 9293 §3.4.2).
    pub closed_linger: Duration,
    /// Idle time after which any connection is forgotten; `None` keeps open
    /// connections forever. Default 10 minutes.
    pub idle_timeout: Option<Duration>,
    /// Most closed connections kept lingering at once; beyond it the
    /// oldest-closed are evicted without waiting for `closed_linger`.
    /// Default 65536 (a few MiB).
    pub max_closed: usize,
}

impl Default for FlowTableConfig {
    fn default() -> Self {
        FlowTableConfig { closed_linger: Duration::from_secs(120), idle_timeout: Some(Duration::from_secs(600)), max_closed: 1 << 16 }
    }
}

/// Result of [`FlowTable::lookup`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowLookup {
    /// The connection (`tcp.stream`).
    pub conn: ConnId,
    /// Sent by the side that sent the connection's first captured packet.
    pub from_opener: bool,
    /// This packet is the connection's first.
    pub new: bool,
    /// The connection this packet's 4-tuple belonged to until now, when the
    /// packet started a new one (port reuse): the caller should finish it.
    pub superseded: Option<ConnId>,
}

/// Per-direction state, mirroring Wireshark's `tcp_flow_t` where it matters.
#[derive(Clone, Copy, Debug, Default)]
struct Dir {
    /// Wireshark's `base_seq` (set when `TCP_S_BASE_SEQ_SET`).
    base: Option<u32>,
    /// A FIN was sent in this direction.
    fin: bool,
}

#[derive(Debug)]
struct Entry {
    conn: ConnId,
    opener_is_lo: bool,
    lo: Dir,
    hi: Dir,
    /// Wireshark completeness bits seen after the first packet.
    completeness_fin: bool,
    completeness_rst: bool,
    /// Any RST (for eviction).
    rst: bool,
    last_seen: Timestamp,
    close_queued: bool,
}

impl Entry {
    fn new(conn: ConnId, opener_is_lo: bool, ts: Timestamp) -> Entry {
        Entry {
            conn,
            opener_is_lo,
            lo: Dir::default(),
            hi: Dir::default(),
            completeness_fin: false,
            completeness_rst: false,
            rst: false,
            last_seen: ts,
            close_queued: false,
        }
    }

    fn dir_mut(&mut self, lo: bool) -> &mut Dir {
        if lo { &mut self.lo } else { &mut self.hi }
    }

    /// Wireshark 4.0's port-reuse test for a SYN without ACK.
    fn reused_by(&self, src_is_lo: bool, seq: u32) -> bool {
        let closing = self.completeness_fin || self.completeness_rst;
        let dir = if src_is_lo { &self.lo } else { &self.hi };
        match dir.base {
            Some(base) => base != seq || closing,
            None => false,
        }
    }

    fn is_closed(&self) -> bool {
        self.rst || (self.lo.fin && self.hi.fin)
    }
}

/// An entry waiting in an expiry queue; stale when the key now maps to
/// another connection (or none).
#[derive(Debug)]
struct Pending {
    stamp: Timestamp,
    key: FlowKey,
    conn: ConnId,
}

/// Maps TCP segments to connections. Runs on the reader thread: a lookup is
/// one hash-map access plus a few flag updates.
#[derive(Debug, Default)]
pub struct FlowTable {
    config: FlowTableConfig,
    map: HashMap<FlowKey, Entry, FlowHasher>,
    next_conn: ConnId,
    /// Closed connections, in order of closing (or of last re-queue).
    closed: VecDeque<Pending>,
    /// Every connection, in order of creation (or of last re-queue).
    idle: VecDeque<Pending>,
    evicted: u64,
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

impl FlowTable {
    pub fn new(config: FlowTableConfig) -> Self {
        FlowTable { config, ..FlowTable::default() }
    }

    /// Connections currently tracked.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Connection ids handed out so far (the next id).
    pub fn connections_seen(&self) -> u64 {
        self.next_conn
    }

    /// Connections evicted so far.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Finds or creates the connection of a segment from `src` to `dst`.
    /// Uses the segment's `seq`, `ack`, `syn`, `fin`, `rst` and `ts`.
    pub fn lookup(&mut self, src: SocketAddr, dst: SocketAddr, seg: &SegmentIn<'_>) -> FlowLookup {
        let (key, src_is_lo) = FlowKey::new(src, dst);
        let pure_syn = seg.syn && seg.ack.is_none();
        let mut superseded = None;
        let mut new = false;
        let entry = match self.map.entry(key) {
            MapEntry::Occupied(slot) => {
                let entry = slot.into_mut();
                if pure_syn && entry.reused_by(src_is_lo, seg.seq) {
                    superseded = Some(entry.conn);
                    *entry = Entry::new(self.next_conn, src_is_lo, seg.ts);
                    new = true;
                }
                entry
            }
            MapEntry::Vacant(slot) => {
                new = true;
                slot.insert(Entry::new(self.next_conn, src_is_lo, seg.ts))
            }
        };
        if new {
            self.next_conn += 1;
            if self.config.idle_timeout.is_some() {
                self.idle.push_back(Pending { stamp: seg.ts, key, conn: entry.conn });
            }
        } else {
            // Wireshark sets completeness bits only after the first packet.
            entry.completeness_fin |= seg.fin && seg.ack.is_some();
            entry.completeness_rst |= seg.rst;
        }
        entry.last_seen = entry.last_seen.max(seg.ts);

        // Bases, as tcp_analyze_sequence_number sets them.
        let fwd = entry.dir_mut(src_is_lo);
        if fwd.base.is_none() {
            fwd.base = Some(if seg.syn { seg.seq } else { seg.seq.wrapping_sub(1) });
        }
        fwd.fin |= seg.fin;
        if let Some(ack) = seg.ack {
            let rev = entry.dir_mut(!src_is_lo);
            if rev.base.is_none() {
                rev.base = Some(ack.wrapping_sub(1));
            }
        }
        entry.rst |= seg.rst;

        if entry.is_closed() && !entry.close_queued {
            entry.close_queued = true;
            self.closed.push_back(Pending { stamp: seg.ts, key, conn: entry.conn });
        }
        FlowLookup { conn: entry.conn, from_opener: src_is_lo == entry.opener_is_lo, new, superseded }
    }

    /// Evicts connections idle long enough at capture time `now` and appends
    /// their ids to `out`. Cheap when there is nothing to do: call it every
    /// packet or every few thousand.
    pub fn expire(&mut self, now: Timestamp, out: &mut Vec<ConnId>) {
        let linger = nanos(self.config.closed_linger);
        Self::expire_queue(&mut self.map, &mut self.closed, linger, now, out, &mut self.evicted);
        if let Some(idle) = self.config.idle_timeout {
            Self::expire_queue(&mut self.map, &mut self.idle, nanos(idle), now, out, &mut self.evicted);
        }
        self.bound_memory(out);
    }

    /// Keeps a storm of short connections from filling memory within the
    /// linger time (found with 1 000 000 connections in 100 s of capture:
    /// the table and its queues held all of them, 500 MiB).
    fn bound_memory(&mut self, out: &mut Vec<ConnId>) {
        // Closed connections beyond the cap, oldest-closed first. Each live
        // closed connection has one record in `closed`, so its length
        // bounds them; stale records (connections gone since) just go.
        while self.closed.len() > self.config.max_closed {
            let Some(item) = self.closed.pop_front() else { break };
            if self.map.get(&item.key).is_some_and(|e| e.conn == item.conn) {
                self.map.remove(&item.key);
                out.push(item.conn);
                self.evicted += 1;
            }
        }
        // `idle` keeps a record of every connection created within the idle
        // timeout, evicted ones included. When more than half of it is such
        // stale records, drop them; a live connection's record goes to the
        // back (its stamp moved up to keep the queue in time order, which
        // only delays its idle check). Each live connection has exactly one
        // record, so every full turn drops all stale ones: amortized O(1).
        while self.idle.len() > 2 * self.map.len() + 1024 {
            let Some(mut item) = self.idle.pop_front() else { break };
            if self.map.get(&item.key).is_some_and(|e| e.conn == item.conn) {
                if let Some(back) = self.idle.back() {
                    item.stamp = item.stamp.max(back.stamp);
                }
                self.idle.push_back(item);
            }
        }
    }

    /// Pops entries whose stamp is `timeout` old. The map's `last_seen`
    /// decides: evicted if idle for `timeout`, else re-queued at `last_seen`.
    /// Each live connection has at most one record per queue, so the work is
    /// amortized O(1) per packet.
    fn expire_queue(
        map: &mut HashMap<FlowKey, Entry, FlowHasher>,
        queue: &mut VecDeque<Pending>,
        timeout: i64,
        now: Timestamp,
        out: &mut Vec<ConnId>,
        evicted: &mut u64,
    ) {
        while let Some(front) = queue.front() {
            if front.stamp.0.saturating_add(timeout) > now.0 {
                return;
            }
            let Some(mut item) = queue.pop_front() else { return };
            let Some(entry) = map.get(&item.key) else { continue };
            if entry.conn != item.conn {
                continue; // stale: the 4-tuple was reused
            }
            if entry.last_seen.0.saturating_add(timeout) <= now.0 {
                map.remove(&item.key);
                out.push(item.conn);
                *evicted += 1;
            } else {
                // Active since queued: come back when it may be idle.
                item.stamp = entry.last_seen;
                queue.push_back(item);
            }
        }
    }

    /// Removes every connection (end of capture), appending their ids to
    /// `out` in id order.
    pub fn drain(&mut self, out: &mut Vec<ConnId>) {
        let start = out.len();
        out.extend(self.map.drain().map(|(_, e)| e.conn));
        if let Some(added) = out.get_mut(start..) {
            added.sort_unstable();
        }
        self.closed.clear();
        self.idle.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: i64 = 1_000_000_000;

    fn a() -> SocketAddr {
        "10.0.0.1:40000".parse().unwrap()
    }
    fn b() -> SocketAddr {
        "10.0.0.2:80".parse().unwrap()
    }
    fn c() -> SocketAddr {
        "10.0.0.3:40000".parse().unwrap()
    }

    fn seg(seq: u32, secs: i64) -> SegmentIn<'static> {
        SegmentIn { seq, ts: Timestamp(secs * SEC), ..Default::default() }
    }
    fn syn(seq: u32, secs: i64) -> SegmentIn<'static> {
        SegmentIn { syn: true, ..seg(seq, secs) }
    }
    fn ack(seq: u32, ack: u32, secs: i64) -> SegmentIn<'static> {
        SegmentIn { ack: Some(ack), ..seg(seq, secs) }
    }

    #[test]
    fn numbering_follows_first_packets() {
        let mut t = FlowTable::default();
        let h1 = t.lookup(a(), b(), &syn(100, 0));
        assert_eq!(h1, FlowLookup { conn: 0, from_opener: true, new: true, superseded: None });
        let h2 = t.lookup(c(), b(), &seg(7, 1)); // mid-stream, no SYN
        assert_eq!((h2.conn, h2.new), (1, true));
        let h3 = t.lookup(b(), a(), &SegmentIn { syn: true, ack: Some(101), ..seg(500, 2) });
        assert_eq!(h3, FlowLookup { conn: 0, from_opener: false, new: false, superseded: None });
        let h4 = t.lookup(b(), c(), &ack(9, 8, 3));
        assert_eq!((h4.conn, h4.from_opener, h4.new), (1, false, false));
        assert_eq!(t.connections_seen(), 2);
    }

    #[test]
    fn retransmitted_syn_is_not_a_new_connection() {
        let mut t = FlowTable::default();
        assert_eq!(t.lookup(a(), b(), &syn(100, 0)).conn, 0);
        let again = t.lookup(a(), b(), &syn(100, 1));
        assert_eq!((again.conn, again.new), (0, false));
    }

    #[test]
    fn syn_with_new_isn_is_port_reuse() {
        let mut t = FlowTable::default();
        t.lookup(a(), b(), &syn(100, 0));
        let reuse = t.lookup(a(), b(), &syn(9_999, 1));
        assert_eq!(reuse, FlowLookup { conn: 1, from_opener: true, new: true, superseded: Some(0) });
        // Later packets of either direction belong to the new connection.
        assert_eq!(t.lookup(b(), a(), &ack(1, 10_000, 2)).conn, 1);
    }

    #[test]
    fn syn_after_fin_or_rst_is_port_reuse_even_with_same_isn() {
        let mut t = FlowTable::default();
        t.lookup(a(), b(), &syn(100, 0));
        t.lookup(b(), a(), &SegmentIn { rst: true, ..ack(0, 101, 1) });
        let again = t.lookup(a(), b(), &syn(100, 2));
        assert_eq!((again.conn, again.superseded), (1, Some(0)));

        t.lookup(b(), a(), &SegmentIn { syn: true, ..ack(700, 101, 3) });
        t.lookup(a(), b(), &SegmentIn { fin: true, ..ack(101, 701, 4) });
        let third = t.lookup(a(), b(), &syn(100, 5));
        assert_eq!((third.conn, third.superseded), (2, Some(1)));
    }

    #[test]
    fn syn_ack_never_starts_a_connection() {
        let mut t = FlowTable::default();
        t.lookup(a(), b(), &syn(100, 0));
        t.lookup(b(), a(), &SegmentIn { syn: true, ..ack(700, 101, 1) });
        let other_isn = t.lookup(b(), a(), &SegmentIn { syn: true, ..ack(800, 101, 2) });
        assert_eq!((other_isn.conn, other_isn.new), (0, false));
    }

    #[test]
    fn syn_from_a_direction_without_base_joins_the_connection() {
        // Only a -> b packets without ACK so far: b's direction has no base.
        let mut t = FlowTable::default();
        t.lookup(a(), b(), &seg(100, 0));
        let h = t.lookup(b(), a(), &syn(5, 1));
        assert_eq!((h.conn, h.new, h.from_opener), (0, false, false));
        // Mid-stream start: the base is seq - 1, so a SYN is a new ISN.
        let h = t.lookup(a(), b(), &syn(100, 2));
        assert_eq!((h.conn, h.new), (1, true));
    }

    #[test]
    fn closed_connections_are_evicted_after_linger() {
        let mut t = FlowTable::default();
        let mut out = Vec::new();
        t.lookup(a(), b(), &syn(100, 0));
        t.lookup(b(), a(), &SegmentIn { rst: true, ..ack(0, 101, 10) });
        t.expire(Timestamp(129 * SEC), &mut out);
        assert!(out.is_empty());
        t.expire(Timestamp(130 * SEC), &mut out);
        assert_eq!(out, vec![0]);
        assert!(t.is_empty());
        // A late packet after eviction starts a new id (Wireshark would not).
        assert_eq!(t.lookup(b(), a(), &ack(0, 101, 131)).conn, 1);
    }

    #[test]
    fn activity_after_close_postpones_eviction() {
        let mut t = FlowTable::default();
        let mut out = Vec::new();
        t.lookup(a(), b(), &SegmentIn { fin: true, ..ack(100, 7, 0) });
        t.lookup(b(), a(), &SegmentIn { fin: true, ..ack(7, 101, 1) });
        t.lookup(a(), b(), &ack(101, 8, 100));
        t.expire(Timestamp(200 * SEC), &mut out);
        assert!(out.is_empty());
        t.expire(Timestamp(220 * SEC), &mut out);
        assert_eq!(out, vec![0]);
    }

    #[test]
    fn idle_connections_are_evicted_and_stale_records_skipped() {
        let config = FlowTableConfig { idle_timeout: Some(Duration::from_secs(60)), ..Default::default() };
        let mut t = FlowTable::new(config);
        let mut out = Vec::new();
        t.lookup(a(), b(), &syn(100, 0));
        t.lookup(a(), b(), &syn(200, 30)); // reuse: conn 0's record is stale
        t.lookup(c(), b(), &seg(1, 40));
        t.lookup(c(), b(), &seg(2, 90));
        t.expire(Timestamp(95 * SEC), &mut out);
        assert_eq!(out, vec![1]);
        t.expire(Timestamp(150 * SEC), &mut out);
        assert_eq!(out, vec![1, 2]);
        assert!(t.is_empty());
        assert_eq!(t.evicted(), 2);
    }

    #[test]
    fn no_idle_timeout_keeps_open_connections() {
        let config = FlowTableConfig { idle_timeout: None, ..Default::default() };
        let mut t = FlowTable::new(config);
        let mut out = Vec::new();
        t.lookup(a(), b(), &syn(100, 0));
        t.expire(Timestamp(1_000_000 * SEC), &mut out);
        assert!(out.is_empty());
        t.drain(&mut out);
        assert_eq!(out, vec![0]);
    }

    #[test]
    fn a_storm_of_short_connections_stays_bounded_within_the_linger() {
        // 200 000 connections closed by RST within 20 s of capture time
        // (all inside the 2-minute linger), expire called each second as
        // the pipeline does.
        let config = FlowTableConfig { max_closed: 1000, ..Default::default() };
        let mut t = FlowTable::new(config);
        let mut out = Vec::new();
        let mut last = -1;
        for i in 0..200_000u32 {
            let ip = std::net::Ipv4Addr::from(0x0a00_0000 | (i / 50_000 + 1));
            let src = SocketAddr::new(ip.into(), 1024 + (i % 50_000) as u16);
            let ts = i64::from(i) * SEC / 10_000;
            t.lookup(src, b(), &syn(i, 0));
            t.lookup(b(), src, &SegmentIn { rst: true, ts: Timestamp(ts), ..ack(0, i + 1, 0) });
            if ts / SEC != last {
                last = ts / SEC;
                t.expire(Timestamp(ts), &mut out);
            }
            assert!(t.len() <= 1000 + 10_000 + 1, "table holds {} at {i}", t.len());
            assert!(t.closed.len() <= 1000 + 10_000 + 1 && t.idle.len() <= 2 * t.len() + 1024 + 10_000 + 1);
        }
        t.expire(Timestamp(20 * SEC), &mut out);
        assert!(t.len() <= 1000, "{}", t.len());
        // Every evicted connection was handed out once; none twice.
        let mut ids = out.clone();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), out.len());
        assert_eq!(out.len() as u64 + t.len() as u64, 200_000);
        assert_eq!(t.evicted(), out.len() as u64);
    }

    #[test]
    fn the_cap_leaves_open_connections_alone() {
        // A long-lived open connection, then a storm of closed ones: the
        // open one keeps its id, and later packets still find it.
        let config = FlowTableConfig { max_closed: 100, ..Default::default() };
        let mut t = FlowTable::new(config);
        let mut out = Vec::new();
        assert_eq!(t.lookup(a(), b(), &syn(100, 0)).conn, 0);
        for i in 0..10_000u32 {
            let src = SocketAddr::new(c().ip(), 1024 + i as u16);
            t.lookup(src, b(), &syn(i, 1));
            t.lookup(b(), src, &SegmentIn { rst: true, ..ack(0, i + 1, 1) });
            if i % 1000 == 999 {
                t.expire(Timestamp(SEC), &mut out);
            }
        }
        assert!(!out.contains(&0));
        assert!(t.len() <= 101, "{}", t.len());
        let later = t.lookup(b(), a(), &ack(700, 101, 30));
        assert_eq!((later.conn, later.new), (0, false));
    }

    #[test]
    fn many_short_connections_stay_bounded() {
        let mut t = FlowTable::default();
        let mut out = Vec::new();
        for i in 0..20_000u32 {
            let port = 1024 + (i % 50_000) as u16;
            let src: SocketAddr = SocketAddr::new(a().ip(), port);
            let s = i64::from(i);
            t.lookup(src, b(), &syn(i, s));
            t.lookup(b(), src, &SegmentIn { rst: true, ..ack(0, i + 1, s) });
            t.expire(Timestamp(s * SEC), &mut out);
        }
        assert!(t.len() <= 121, "table holds {}", t.len());
        assert!(t.closed.len() <= 121 && t.idle.len() <= 601);
        assert_eq!(out.len() as u64 + t.len() as u64, 20_000);
    }
}
