//! One direction of a TCP connection: turns segments in capture order into a
//! contiguous, in-order stream of [`StreamEvent`]s, with explicit handling of
//! reordering, retransmission, overlap, capture loss and snaplen cuts.
//!
//! Owns: [`Reassembler`], [`ReassemblyConfig`], [`StreamStats`].
//! May import: `crate::model`, the sibling `flow` vocabulary, std. Nothing
//! here logs or returns `Err`: every anomaly is an event or a counter.
//!
//! Policy, in short (sequence space per RFC 9293 §3.4):
//! - In-order bytes are delivered at once, borrowed from the segment (no copy,
//!   no waiting for ACKs). Out-of-order bytes are copied into a sorted buffer
//!   of non-overlapping chunks, each remembering its packet, and delivered as
//!   soon as the hole before them is filled.
//! - Overlapping bytes are compared with the copy already received (buffered,
//!   or delivered and still retained): equal bytes are duplicates, different
//!   bytes an [`StreamEvent::OverlapConflict`]; the first copy always wins.
//!   Delivered bytes are retained only until the peer ACKs them (capped).
//! - A hole becomes a [`StreamEvent::Gap`] when the peer has ACKed past it and
//!   this side sends again, when buffered data exceeds the limit, when a
//!   segment was cut by the snaplen, or at [`Reassembler::finish`].
//! - Offsets are u64 and computed relative to the next expected byte with
//!   wrapping 32-bit distance, so streams cross 2^32 and exceed 4 GiB safely.
//! - Every captured payload byte lands in exactly one [`StreamStats`] bucket.

use std::collections::{BTreeMap, VecDeque};

use super::{GapReason, SegmentIn, StreamEvent};
use crate::model::{PacketIndex, SeqNum, Timestamp};

/// Largest receive window TCP can express (RFC 7323 §2.3: 2^30 with the
/// maximal window scale). Data or ACKs further ahead than this from anything
/// seen cannot belong to this stream.
const MAX_WINDOW: u64 = 1 << 30;

/// How many recently declared gaps are remembered, to tell bytes that arrive
/// after their range was given up ("late") from plain duplicates.
const RECENT_GAPS: usize = 64;

/// Limits of one direction's reassembler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReassemblyConfig {
    /// Out-of-order bytes buffered behind a hole before the hole is declared a
    /// [`GapReason::BufferLimit`] gap. Default 1 MiB.
    pub max_buffered_bytes: usize,
    /// Out-of-order pieces (chunks and snaplen holes) buffered before the same
    /// happens; bounds bookkeeping for floods of tiny segments. Default 16384.
    pub max_buffered_chunks: usize,
    /// Delivered bytes kept, until the peer ACKs them, to verify
    /// retransmissions against. Default 256 KiB.
    pub max_retained_bytes: usize,
}

impl Default for ReassemblyConfig {
    fn default() -> Self {
        ReassemblyConfig { max_buffered_bytes: 1 << 20, max_buffered_chunks: 16 * 1024, max_retained_bytes: 256 * 1024 }
    }
}

/// Counters of one direction. Byte accounting: once the stream is finished
/// (nothing buffered), every captured payload byte is in exactly one bucket:
///
/// `bytes_captured == bytes_delivered + bytes_duplicate + bytes_conflicting
///  + bytes_before_start + bytes_after_fin + bytes_dropped_other`
///
/// (before that, add [`Reassembler::buffered_bytes`]). `bytes_gap` counts
/// sequence space never captured and is outside the identity.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Segments of this direction, of any kind.
    pub segments: u64,
    /// Segments whose payload overlapped bytes already received.
    pub retransmissions: u64,
    /// Segments whose payload started beyond the next expected byte.
    pub out_of_order: u64,
    /// [`StreamEvent::OverlapConflict`] events.
    pub conflicts: u64,
    /// Keep-alive probes (0 or 1 byte at one before the highest sequence
    /// number sent, RFC 9293 §3.8.4).
    pub keepalives: u64,
    /// Segments whose sequence number is more than a maximal window away from
    /// anything seen (ignored).
    pub segments_out_of_window: u64,
    /// ACKs from the peer that were implausible for this stream (ignored).
    pub acks_out_of_window: u64,
    /// Segments with FIN (retransmissions included).
    pub fins: u64,
    /// FINs disagreeing with an earlier FIN or with data already delivered.
    pub fin_inconsistent: u64,
    /// Segments with RST.
    pub rsts: u64,
    /// [`StreamEvent::Gap`] events and their total length.
    pub gaps: u64,
    pub bytes_gap: u64,

    /// Sum of captured payload lengths of all segments.
    pub bytes_captured: u64,
    /// Bytes delivered in [`StreamEvent::Data`].
    pub bytes_delivered: u64,
    /// Bytes identical to a copy already received, or (unverified) covering
    /// bytes delivered and no longer retained.
    pub bytes_duplicate: u64,
    /// Part of `bytes_duplicate` that could not be compared.
    pub bytes_duplicate_unverified: u64,
    /// Bytes inside [`StreamEvent::OverlapConflict`] spans (not delivered).
    pub bytes_conflicting: u64,
    /// Bytes before the stream's first offset (mid-stream start).
    pub bytes_before_start: u64,
    /// Bytes beyond the FIN (RFC 9293 §3.6: nothing follows a FIN).
    pub bytes_after_fin: u64,
    /// Bytes dropped for the reasons below (their sum).
    pub bytes_dropped_other: u64,
    /// Bytes that arrived after their range had been declared a gap.
    pub bytes_late: u64,
    /// Bytes of out-of-window segments.
    pub bytes_out_of_window: u64,
    /// Keep-alive garbage bytes.
    pub bytes_keepalive: u64,
    /// Payload of RST segments (diagnostic text, not stream data; RFC 9293
    /// §3.5.3).
    pub bytes_rst_payload: u64,
}

impl StreamStats {
    /// Right-hand side of the accounting identity.
    pub fn bytes_accounted(&self) -> u64 {
        self.bytes_delivered
            + self.bytes_duplicate
            + self.bytes_conflicting
            + self.bytes_before_start
            + self.bytes_after_fin
            + self.bytes_dropped_other
    }

    /// Whether the accounting identity holds with `buffered` bytes pending.
    pub fn is_balanced(&self, buffered: u64) -> bool {
        self.bytes_captured == self.bytes_accounted() + buffered
            && self.bytes_dropped_other == self.bytes_late + self.bytes_out_of_window + self.bytes_keepalive + self.bytes_rst_payload
    }

    fn drop_other(&mut self, n: u64, bucket: fn(&mut StreamStats) -> &mut u64) {
        *bucket(self) += n;
        self.bytes_dropped_other += n;
    }
}

/// Out-of-order bytes from one packet.
#[derive(Debug)]
struct Chunk {
    data: Vec<u8>,
    packet: PacketIndex,
    ts: Timestamp,
}

/// A range the capture cut off (snaplen), waiting for delivery to reach it.
#[derive(Debug)]
struct Missing {
    end: u64,
    packet: PacketIndex,
    ts: Timestamp,
}

thread_local! {
    /// Buffers of a [`Retained`] that has emptied, kept per thread for the next
    /// connection that needs them. Unacknowledged bytes come and go in bursts
    /// on every connection: buffers kept by each connection between bursts
    /// made the memory grow with the connections' age (thousands of open
    /// connections, a few KiB each, mostly idle), and freeing them each time
    /// costs a reallocation per burst (8% more instructions on a generated
    /// capture). A small pool per thread keeps both low.
    static RETAINED_POOL: std::cell::RefCell<Vec<RetainedBuffers>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Buffers pooled per thread, at most.
const RETAINED_POOL_MAX: usize = 64;

/// Buffers with more capacity than this (grown by a burst of a large
/// message) are freed rather than pooled.
const RETAINED_POOL_CAPACITY: usize = 64 * 1024;

#[derive(Debug, Default)]
struct RetainedBuffers {
    bytes: VecDeque<u8>,
    marks: VecDeque<(u64, PacketIndex)>,
}

/// Delivered bytes `start .. start + bytes.len()` (always ending at the next
/// expected offset), with the packet that carried each run.
#[derive(Debug, Default)]
struct Retained {
    start: u64,
    bytes: VecDeque<u8>,
    /// (offset where the run starts, packet); ascending. The first run may
    /// start before `start` (trimmed).
    marks: VecDeque<(u64, PacketIndex)>,
}

impl Drop for Retained {
    fn drop(&mut self) {
        self.release_buffers();
    }
}

impl Retained {
    fn end(&self) -> u64 {
        self.start + self.bytes.len() as u64
    }

    fn reset(&mut self, at: u64) {
        self.bytes.clear();
        self.marks.clear();
        self.start = at;
    }

    /// Takes pooled buffers if this one has none.
    fn ensure_buffers(&mut self) {
        if self.bytes.capacity() == 0
            && let Some(b) = RETAINED_POOL.with(|p| p.try_borrow_mut().ok().and_then(|mut p| p.pop()))
        {
            self.bytes = b.bytes;
            self.marks = b.marks;
        }
    }

    /// Gives the (empty) buffers back to the pool, or frees them.
    fn release_buffers(&mut self) {
        let mut b = RetainedBuffers { bytes: std::mem::take(&mut self.bytes), marks: std::mem::take(&mut self.marks) };
        if b.bytes.capacity() == 0 || b.bytes.capacity() > RETAINED_POOL_CAPACITY || b.marks.capacity() > RETAINED_POOL_CAPACITY / 16 {
            return;
        }
        b.bytes.clear();
        b.marks.clear();
        RETAINED_POOL.with(|p| {
            if let Ok(mut p) = p.try_borrow_mut()
                && p.len() < RETAINED_POOL_MAX
            {
                p.push(b);
            }
        });
    }

    fn push(&mut self, data: &[u8], packet: PacketIndex, cap: usize) {
        self.ensure_buffers();
        let end = self.end() + data.len() as u64;
        if data.len() >= cap {
            // Only the newest `cap` bytes can stay.
            self.reset(end - cap as u64);
            let tail = data.get(data.len() - cap..).unwrap_or_default();
            if !tail.is_empty() {
                self.marks.push_back((self.start, packet));
                self.bytes.extend(tail);
            }
            return;
        }
        self.marks.push_back((self.end(), packet));
        self.bytes.extend(data);
        if self.bytes.len() > cap {
            self.trim_below(end - cap as u64);
        }
    }

    /// Forgets bytes before `offset` (ACKed, or over the cap).
    fn trim_below(&mut self, offset: u64) {
        if offset <= self.start {
            return;
        }
        let k = (offset - self.start).min(self.bytes.len() as u64);
        self.bytes.drain(..k as usize);
        self.start += k;
        if self.bytes.is_empty() {
            // Everything delivered is acknowledged.
            self.release_buffers();
            return;
        }
        while self.marks.get(1).is_some_and(|&(at, _)| at <= self.start) {
            self.marks.pop_front();
        }
    }

    /// The run of packet `marks[i]`: (from, to, packet), clipped to the
    /// retained range.
    fn run(&self, i: usize) -> Option<(u64, u64, PacketIndex)> {
        let &(at, packet) = self.marks.get(i)?;
        let to = self.marks.get(i + 1).map_or(self.end(), |&(next, _)| next);
        Some((at.max(self.start), to, packet))
    }
}

/// First and last index where `old` and `new` differ (over their common
/// length; callers pass equal lengths).
fn diff_span<'x, I>(old: I, new: &[u8]) -> Option<(usize, usize)>
where
    I: DoubleEndedIterator<Item = &'x u8> + ExactSizeIterator + Clone,
{
    let n = old.len().min(new.len());
    let new = new.get(..n).unwrap_or_default();
    let old = old.take(n);
    let first = old.clone().zip(new).position(|(a, b)| a != b)?;
    let from_end = old.rev().zip(new.iter().rev()).position(|(a, b)| a != b)?;
    Some((first, n - 1 - from_end))
}

/// `bytes[from - at .. to - at]`, empty when out of range.
fn sub(bytes: &[u8], at: u64, from: u64, to: u64) -> &[u8] {
    let a = usize::try_from(from.saturating_sub(at)).unwrap_or(usize::MAX);
    let b = usize::try_from(to.saturating_sub(at)).unwrap_or(usize::MAX);
    bytes.get(a..b).unwrap_or_default()
}

/// Reassembler of one direction of a TCP connection.
///
/// Feed it this direction's segments in capture order with
/// [`segment`](Self::segment) and the peer's acknowledgment numbers with
/// [`peer_ack`](Self::peer_ack) ([`super::TcpStreamPair`] does both), then
/// call [`finish`](Self::finish) at the end.
#[derive(Debug)]
pub struct Reassembler {
    config: ReassemblyConfig,
    /// Sequence number of stream offset 0 (ISN + 1, or the first seen byte).
    base: Option<SeqNum>,
    /// Next offset to deliver: everything before it was delivered or gapped.
    next: u64,
    /// Out-of-order chunks by start offset; non-overlapping, all >= `next`.
    chunks: BTreeMap<u64, Chunk>,
    buffered: u64,
    /// Snaplen holes by start offset (may overlap; data wins over them).
    missing: BTreeMap<u64, Missing>,
    retained: Retained,
    recent_gaps: VecDeque<(u64, u64)>,
    /// Highest offset the peer acknowledged.
    acked: u64,
    /// Highest sequence offset this side has shown (data end, or FIN + 1).
    snd_max: u64,
    fin: Option<(u64, PacketIndex, Timestamp)>,
    fin_emitted: bool,
    rst_seen: bool,
    syn_seen: bool,
    stats: StreamStats,
}

impl Reassembler {
    pub fn new(config: ReassemblyConfig) -> Self {
        Reassembler {
            config,
            base: None,
            next: 0,
            chunks: BTreeMap::new(),
            buffered: 0,
            missing: BTreeMap::new(),
            retained: Retained::default(),
            recent_gaps: VecDeque::new(),
            acked: 0,
            snd_max: 0,
            fin: None,
            fin_emitted: false,
            rst_seen: false,
            syn_seen: false,
            stats: StreamStats::default(),
        }
    }

    pub fn stats(&self) -> &StreamStats {
        &self.stats
    }

    /// Out-of-order bytes waiting for a hole to be filled.
    pub fn buffered_bytes(&self) -> u64 {
        self.buffered
    }

    /// Next stream offset to be delivered (all before it is delivered or
    /// declared a gap).
    pub fn next_offset(&self) -> u64 {
        self.next
    }

    /// Sequence number of stream offset 0, once known.
    pub fn base_seq(&self) -> Option<SeqNum> {
        self.base
    }

    pub fn syn_seen(&self) -> bool {
        self.syn_seen
    }

    pub fn rst_seen(&self) -> bool {
        self.rst_seen
    }

    /// The FIN was delivered: everything before it is delivered or gapped.
    pub fn fin_delivered(&self) -> bool {
        self.fin_emitted
    }

    /// Stream offset of `seq`: the next expected offset plus the signed 32-bit
    /// distance (RFC 9293 §3.4 / RFC 1982), which tracks the 2^32 epoch.
    fn offset_of(&self, seq: SeqNum) -> Option<i128> {
        let base = self.base?;
        // Truncation intended: sequence numbers are offsets modulo 2^32.
        let next_seq = base.wrapping_add(self.next as u32);
        Some(i128::from(self.next) + i128::from(seq.diff(next_seq)))
    }

    /// Learns the base from the peer's SYN+ACK when this side's SYN was not
    /// captured: its ACK is exactly ISN + 1 (RFC 9293 §3.5).
    pub fn learn_base_from_synack(&mut self, ack: u32) {
        if self.base.is_none() {
            self.base = Some(SeqNum(ack));
        }
    }

    /// Records an acknowledgment number sent by the peer. Delivered bytes it
    /// covers are no longer retained; holes it covers become
    /// [`GapReason::NotCaptured`] gaps when this side next sends a segment (or
    /// at [`finish`](Self::finish)).
    pub fn peer_ack(&mut self, ack: u32) {
        let Some(off) = self.offset_of(SeqNum(ack)) else { return };
        if off < 0 {
            return;
        }
        // The peer cannot acknowledge beyond what this side sent (RFC 9293
        // §3.10.7.4); `snd_max` covers every segment placed so far.
        let limit = self.next.max(self.snd_max).saturating_add(MAX_WINDOW);
        if off > i128::from(limit) {
            self.stats.acks_out_of_window += 1;
            return;
        }
        let off = off as u64; // 0 <= off <= limit
        if off > self.acked {
            self.acked = off;
            self.retained.trim_below(off.min(self.next));
        }
    }

    fn buffered_end(&self) -> u64 {
        let data = self.chunks.last_key_value().map_or(0, |(&at, c)| at + c.data.len() as u64);
        let cut = self.missing.values().map(|m| m.end).max().unwrap_or(0);
        data.max(cut)
    }

    /// Processes one segment of this direction, emitting what it makes
    /// deliverable. A segment with RST emits [`StreamEvent::Rst`] (its payload
    /// is not stream data); one more than a maximal window (2^30, RFC 7323)
    /// ahead of anything seen is ignored and counted; a 0/1-byte keep-alive
    /// probe is counted. Afterwards, holes the peer has ACKed and this side's
    /// sequence numbers have passed become [`GapReason::NotCaptured`] gaps.
    pub fn segment(&mut self, seg: &SegmentIn<'_>, out: &mut dyn FnMut(StreamEvent<'_>)) {
        let len = seg.payload.len() as u64;
        self.stats.segments += 1;
        self.stats.bytes_captured += len;

        if seg.rst {
            // RST payload is diagnostic text, not stream data (RFC 9293 §3.5.3).
            self.stats.rsts += 1;
            self.stats.drop_other(len, |s| &mut s.bytes_rst_payload);
            if !self.rst_seen {
                self.rst_seen = true;
                out(StreamEvent::Rst { packet: seg.packet, ts: seg.ts });
            }
            return;
        }

        let data_seq = if seg.syn { SeqNum(seg.seq).wrapping_add(1) } else { SeqNum(seg.seq) };
        if seg.syn {
            self.syn_seen = true;
        }
        if self.base.is_none() && (seg.syn || seg.fin || len > 0 || seg.missing_len > 0) {
            self.base = Some(data_seq);
        }
        let Some(start) = self.offset_of(data_seq) else {
            // A pure ACK before anything placed this stream: nothing to do.
            return;
        };

        let window_end = i128::from(self.next.max(self.acked).saturating_add(MAX_WINDOW));
        if self.is_keepalive(seg, start) {
            self.stats.keepalives += 1;
            self.stats.drop_other(len, |s| &mut s.bytes_keepalive);
        } else if start > window_end {
            self.stats.segments_out_of_window += 1;
            self.stats.drop_other(len, |s| &mut s.bytes_out_of_window);
        } else {
            self.place(start, seg, out);
        }

        self.enforce_limits(seg.packet, seg.ts, out);
        // The peer ACKed bytes we never saw and this side has moved on: they
        // were lost at the capture point.
        let target = self.acked.min(self.snd_max);
        if target > self.next {
            self.skip_to(target, GapReason::NotCaptured, seg.packet, seg.ts, out);
        }
        self.debug_check();
    }

    /// Flushes the direction at the end of the capture (or on eviction): holes
    /// the peer ACKed become [`GapReason::NotCaptured`] gaps, other holes before
    /// buffered data or before the FIN [`GapReason::StreamEnd`] gaps; all
    /// buffered data is delivered and the FIN emitted if one was seen.
    pub fn finish(&mut self, packet: PacketIndex, ts: Timestamp, out: &mut dyn FnMut(StreamEvent<'_>)) {
        if self.acked > self.next {
            self.skip_to(self.acked, GapReason::NotCaptured, packet, ts, out);
        }
        // Up to the end of the buffered data, cut ranges and the FIN. (A bare
        // sequence number of this side is not enough evidence on its own: a
        // stray segment would turn into a huge gap.)
        let end = self.buffered_end().max(self.fin.map_or(0, |(f, _, _)| f));
        self.skip_to(end, GapReason::StreamEnd, packet, ts, out);
        self.debug_check();
    }

    /// RFC 9293 §3.8.4 keep-alive (as Wireshark detects it): at most one byte,
    /// one before the highest sequence number sent, inside delivered data.
    fn is_keepalive(&self, seg: &SegmentIn<'_>, start: i128) -> bool {
        seg.payload.len() <= 1
            && seg.missing_len == 0
            && !seg.syn
            && !seg.fin
            && self.snd_max > 0
            && start == i128::from(self.snd_max) - 1
            && start < i128::from(self.next)
    }

    fn place(&mut self, start: i128, seg: &SegmentIn<'_>, out: &mut dyn FnMut(StreamEvent<'_>)) {
        let end = start + seg.payload.len() as i128;
        self.store(start, seg.payload, seg.packet, seg.ts, out);
        let cut = i128::from(u64::from(seg.missing_len).min(MAX_WINDOW));
        if cut > 0 {
            self.add_missing(end, end + cut, seg.packet, seg.ts);
        }
        let wire_end = end + cut;
        if seg.fin {
            self.set_fin(wire_end, seg.packet, seg.ts);
        }
        let shown = wire_end + i128::from(seg.fin);
        if shown > i128::from(self.snd_max) {
            self.snd_max = u64::try_from(shown).unwrap_or(self.snd_max);
        }
        self.drain(out);
    }

    /// Classifies and stores the payload bytes of one segment.
    fn store(&mut self, start: i128, payload: &[u8], packet: PacketIndex, ts: Timestamp, out: &mut dyn FnMut(StreamEvent<'_>)) {
        let mut p = payload;
        if start < 0 {
            let k = (-start).min(p.len() as i128) as usize;
            self.stats.bytes_before_start += k as u64;
            p = p.get(k..).unwrap_or_default();
        }
        if p.is_empty() {
            return;
        }
        let mut s = start.max(0) as u64;
        if let Some((fin, _, _)) = self.fin {
            let keep = fin.saturating_sub(s).min(p.len() as u64) as usize;
            self.stats.bytes_after_fin += (p.len() - keep) as u64;
            p = p.get(..keep).unwrap_or_default();
        }
        let mut overlapped = false;
        if s < self.next && !p.is_empty() {
            let k = (self.next - s).min(p.len() as u64) as usize;
            let (old, rest) = p.split_at(k);
            self.compare_delivered(s, old, packet, ts, out);
            overlapped = true;
            p = rest;
            s += k as u64;
        }
        if p.is_empty() {
            if overlapped {
                self.stats.retransmissions += 1;
            }
            return;
        }
        if s > self.next {
            self.stats.out_of_order += 1;
        } else {
            // In order: deliver straight from the packet up to the first
            // buffered chunk (zero-copy fast path).
            let room = self.chunks.first_key_value().map_or(u64::MAX, |(&at, _)| at.saturating_sub(s));
            let k = room.min(p.len() as u64) as usize;
            let (now, rest) = p.split_at(k);
            self.emit_data(now, packet, ts, out);
            p = rest;
            s += k as u64;
        }
        if !p.is_empty() {
            overlapped |= self.insert(s, p, packet, ts, out);
        }
        if overlapped {
            self.stats.retransmissions += 1;
        }
    }

    /// Bytes `s ..` (all before `next`) against what was delivered.
    fn compare_delivered(&mut self, s: u64, bytes: &[u8], packet: PacketIndex, ts: Timestamp, out: &mut dyn FnMut(StreamEvent<'_>)) {
        let e = s + bytes.len() as u64;
        // Below the retained window: gapped (late) or delivered and forgotten.
        let unretained_end = self.retained.start.min(e);
        if s < unretained_end {
            let late = self.late_bytes(s, unretained_end);
            self.stats.drop_other(late, |st| &mut st.bytes_late);
            let unverified = unretained_end - s - late;
            self.stats.bytes_duplicate += unverified;
            self.stats.bytes_duplicate_unverified += unverified;
        }
        // Runs are sorted: start at the one holding `s`, stop past `e`.
        let mut i = self.retained.marks.partition_point(|&(at, _)| at <= s).saturating_sub(1);
        while let Some((from, to, first_packet)) = self.retained.run(i) {
            i += 1;
            if from >= e {
                break;
            }
            let (lo, hi) = (from.max(s), to.min(e));
            if lo >= hi {
                continue;
            }
            let r = &self.retained;
            let a = (lo - r.start) as usize;
            let b = (hi - r.start) as usize;
            let len = r.bytes.len();
            let old = r.bytes.range(a.min(len)..b.min(len));
            let new = sub(bytes, s, lo, hi);
            let span = diff_span(old, new);
            account_overlap(&mut self.stats, lo, hi - lo, span, packet, ts, first_packet, out);
        }
        // Anything between the retained end and `next` cannot exist (retained
        // always ends at `next`), so every byte was classified above.
    }

    /// Bytes of `from .. to` inside recently declared gaps.
    fn late_bytes(&self, from: u64, to: u64) -> u64 {
        self.recent_gaps.iter().map(|&(a, b)| b.min(to).saturating_sub(a.max(from))).sum()
    }

    /// Inserts bytes `s ..` (s >= next) into the buffer; the parts already
    /// buffered are compared instead. Returns whether anything overlapped.
    fn insert(&mut self, s: u64, p: &[u8], packet: PacketIndex, ts: Timestamp, out: &mut dyn FnMut(StreamEvent<'_>)) -> bool {
        let e = s + p.len() as u64;
        let mut pos = s;
        let mut holes: Vec<(u64, u64)> = Vec::new();
        let mut overlapped = false;
        let before = self.chunks.range(..s).next_back();
        let overlapping = before.into_iter().chain(self.chunks.range(s..e));
        for (&at, chunk) in overlapping {
            let c_end = at + chunk.data.len() as u64;
            if c_end <= pos {
                continue;
            }
            if at > pos {
                holes.push((pos, at.min(e)));
            }
            let (lo, hi) = (at.max(pos), c_end.min(e));
            if lo < hi {
                overlapped = true;
                let old = sub(&chunk.data, at, lo, hi);
                let new = sub(p, s, lo, hi);
                let span = diff_span(old.iter(), new);
                account_overlap(&mut self.stats, lo, hi - lo, span, packet, ts, chunk.packet, out);
            }
            pos = pos.max(hi);
        }
        if pos < e {
            holes.push((pos, e));
        }
        for (a, b) in holes {
            let data = sub(p, s, a, b).to_vec();
            self.buffered += data.len() as u64;
            self.chunks.insert(a, Chunk { data, packet, ts });
        }
        overlapped
    }

    fn add_missing(&mut self, from: i128, to: i128, packet: PacketIndex, ts: Timestamp) {
        let mut to = to;
        if let Some((fin, _, _)) = self.fin {
            to = to.min(i128::from(fin));
        }
        let from = from.max(i128::from(self.next));
        if from >= to {
            return;
        }
        // 0 <= next <= from < to <= next + 2 * MAX_WINDOW + 2^31.
        let (from, end) = (from as u64, to as u64);
        let slot = self.missing.entry(from).or_insert(Missing { end, packet, ts });
        slot.end = slot.end.max(end);
    }

    fn set_fin(&mut self, at: i128, packet: PacketIndex, ts: Timestamp) {
        self.stats.fins += 1;
        if let Some((fin, _, _)) = self.fin {
            if i128::from(fin) != at {
                self.stats.fin_inconsistent += 1;
            }
            return; // the first FIN wins
        }
        let at = if at < i128::from(self.next) {
            self.stats.fin_inconsistent += 1;
            self.next
        } else {
            at as u64 // next <= at <= next + 2^31 + ...
        };
        self.fin = Some((at, packet, ts));
        // Anything buffered at or beyond the FIN is not stream data.
        let beyond = self.chunks.split_off(&at);
        let cut: u64 = beyond.values().map(|c| c.data.len() as u64).sum();
        if let Some((&c_at, chunk)) = self.chunks.last_key_value() {
            let c_end = c_at + chunk.data.len() as u64;
            if c_end > at {
                let keep = (at - c_at) as usize;
                if let Some(chunk) = self.chunks.get_mut(&c_at) {
                    chunk.data.truncate(keep);
                }
                self.stats.bytes_after_fin += c_end - at;
                self.buffered = self.buffered.saturating_sub(c_end - at);
            }
        }
        self.stats.bytes_after_fin += cut;
        self.buffered = self.buffered.saturating_sub(cut);
        drop(self.missing.split_off(&at));
        for m in self.missing.values_mut() {
            m.end = m.end.min(at);
        }
    }

    /// Delivers everything contiguous at `next`: buffered chunks, snaplen
    /// holes, then the FIN once reached.
    fn drain(&mut self, out: &mut dyn FnMut(StreamEvent<'_>)) {
        loop {
            if let Some((fin, packet, ts)) = self.fin
                && self.next >= fin
            {
                if !self.fin_emitted {
                    self.fin_emitted = true;
                    out(StreamEvent::Fin { offset: fin, packet, ts });
                }
                return;
            }
            if let Some(entry) = self.chunks.first_entry()
                && *entry.key() <= self.next
            {
                let at = *entry.key();
                let chunk = entry.remove();
                self.buffered = self.buffered.saturating_sub(chunk.data.len() as u64);
                // Chunks never start before `next`; stay exact if one did.
                let stale = (self.next - at).min(chunk.data.len() as u64);
                self.stats.bytes_duplicate += stale;
                self.stats.bytes_duplicate_unverified += stale;
                let fresh = chunk.data.get(stale as usize..).unwrap_or_default();
                self.emit_data(fresh, chunk.packet, chunk.ts, out);
                continue;
            }
            if let Some(entry) = self.missing.first_entry()
                && *entry.key() <= self.next
            {
                let m = entry.remove();
                let mut end = m.end;
                if let Some((&at, _)) = self.chunks.first_key_value() {
                    end = end.min(at);
                }
                if let Some((fin, _, _)) = self.fin {
                    end = end.min(fin);
                }
                if end > self.next {
                    self.emit_gap(end, GapReason::SnaplenCut, m.packet, m.ts, out);
                }
                if m.end > self.next {
                    // Data interrupted the hole: keep the rest of it.
                    let m_end = m.end;
                    let slot = self.missing.entry(self.next).or_insert(m);
                    slot.end = slot.end.max(m_end);
                }
                continue;
            }
            return;
        }
    }

    /// Declares every hole before `target` (capped at the FIN) a gap for
    /// `reason`, delivering the buffered data between them.
    fn skip_to(&mut self, target: u64, reason: GapReason, packet: PacketIndex, ts: Timestamp, out: &mut dyn FnMut(StreamEvent<'_>)) {
        let target = self.fin.map_or(target, |(fin, _, _)| target.min(fin));
        loop {
            self.drain(out);
            if self.next >= target {
                return;
            }
            let mut hole_end = target;
            if let Some((&at, _)) = self.chunks.first_key_value() {
                hole_end = hole_end.min(at);
            }
            if let Some((&at, _)) = self.missing.first_key_value() {
                hole_end = hole_end.min(at);
            }
            if hole_end <= self.next {
                return; // cannot happen after drain; never loop
            }
            self.emit_gap(hole_end, reason, packet, ts, out);
        }
    }

    /// Gives up the oldest holes while the buffer is over its limits.
    fn enforce_limits(&mut self, packet: PacketIndex, ts: Timestamp, out: &mut dyn FnMut(StreamEvent<'_>)) {
        loop {
            let pieces = self.chunks.len() + self.missing.len();
            let over = self.buffered > self.config.max_buffered_bytes as u64 || pieces > self.config.max_buffered_chunks;
            if !over {
                return;
            }
            let first_chunk = self.chunks.first_key_value().map(|(&at, _)| at);
            let first_cut = self.missing.first_key_value().map(|(&at, _)| at);
            let Some(target) = first_chunk.into_iter().chain(first_cut).min() else { return };
            let before = (self.next, pieces);
            self.skip_to(target, GapReason::BufferLimit, packet, ts, out);
            self.drain(out);
            if (self.next, self.chunks.len() + self.missing.len()) == before {
                return; // no progress possible; never loop
            }
        }
    }

    fn emit_data(&mut self, bytes: &[u8], packet: PacketIndex, ts: Timestamp, out: &mut dyn FnMut(StreamEvent<'_>)) {
        if bytes.is_empty() {
            return;
        }
        out(StreamEvent::Data { offset: self.next, bytes, packet, ts });
        self.next += bytes.len() as u64;
        self.stats.bytes_delivered += bytes.len() as u64;
        self.retained.push(bytes, packet, self.config.max_retained_bytes);
        if self.acked > self.retained.start {
            self.retained.trim_below(self.acked.min(self.next));
        }
    }

    /// Declares `next .. end` a gap and moves past it.
    fn emit_gap(&mut self, end: u64, reason: GapReason, packet: PacketIndex, ts: Timestamp, out: &mut dyn FnMut(StreamEvent<'_>)) {
        let from = self.next;
        if end <= from {
            return;
        }
        out(StreamEvent::Gap { offset: from, len: end - from, packet, ts, reason });
        self.stats.gaps += 1;
        self.stats.bytes_gap += end - from;
        self.next = end;
        self.retained.reset(end);
        match self.recent_gaps.back_mut() {
            Some(last) if last.1 == from => last.1 = end,
            _ => {
                if self.recent_gaps.len() == RECENT_GAPS {
                    self.recent_gaps.pop_front();
                }
                self.recent_gaps.push_back((from, end));
            }
        }
    }

    fn debug_check(&self) {
        debug_assert!(self.stats.is_balanced(self.buffered), "byte accounting broken: {:?}, buffered {}", self.stats, self.buffered);
    }
}

/// Books an overlap of `len` bytes at `at` with an earlier copy from
/// `first_packet`: a conflict over `span` (first..=last differing index) when
/// the bytes differ, duplicates for the rest.
#[allow(clippy::too_many_arguments)]
fn account_overlap(
    stats: &mut StreamStats,
    at: u64,
    len: u64,
    span: Option<(usize, usize)>,
    packet: PacketIndex,
    ts: Timestamp,
    first_packet: PacketIndex,
    out: &mut dyn FnMut(StreamEvent<'_>),
) {
    match span {
        None => stats.bytes_duplicate += len,
        Some((first, last)) => {
            let conflict = (last - first + 1) as u64;
            stats.conflicts += 1;
            stats.bytes_conflicting += conflict;
            stats.bytes_duplicate += len - conflict;
            out(StreamEvent::OverlapConflict { offset: at + first as u64, len: conflict, packet, ts, first_packet });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Owned copy of a [`StreamEvent`], for assertions.
    #[derive(Clone, Debug, PartialEq, Eq)]
    enum Ev {
        Data(u64, Vec<u8>, PacketIndex),
        Gap(u64, u64, GapReason, PacketIndex),
        Fin(u64, PacketIndex),
        Rst(PacketIndex),
        Conflict { offset: u64, len: u64, packet: PacketIndex, first: PacketIndex },
    }

    impl From<StreamEvent<'_>> for Ev {
        fn from(ev: StreamEvent<'_>) -> Ev {
            match ev {
                StreamEvent::Data { offset, bytes, packet, .. } => Ev::Data(offset, bytes.to_vec(), packet),
                StreamEvent::Gap { offset, len, reason, packet, .. } => Ev::Gap(offset, len, reason, packet),
                StreamEvent::Fin { offset, packet, .. } => Ev::Fin(offset, packet),
                StreamEvent::Rst { packet, .. } => Ev::Rst(packet),
                StreamEvent::OverlapConflict { offset, len, packet, first_packet, .. } => {
                    Ev::Conflict { offset, len, packet, first: first_packet }
                }
            }
        }
    }

    fn data(offset: u64, bytes: &[u8], packet: PacketIndex) -> Ev {
        Ev::Data(offset, bytes.to_vec(), packet)
    }

    /// A reassembler whose stream starts at `isn + 1`, with helpers that speak
    /// in stream offsets.
    struct H {
        r: Reassembler,
        isn: u32,
        /// Events since the last `take`.
        ev: Vec<Ev>,
        /// Every event, for `stream`.
        all: Vec<Ev>,
    }

    impl H {
        /// After a captured SYN with ISN `isn` (packet 1).
        fn with_syn(isn: u32, config: ReassemblyConfig) -> H {
            let mut h = H::bare(isn, config);
            h.send(SegmentIn { seq: isn, syn: true, packet: 1, ..Default::default() });
            h
        }

        fn new() -> H {
            H::with_syn(1000, ReassemblyConfig::default())
        }

        /// Nothing seen yet; offsets are relative to `isn + 1` for the helpers.
        fn bare(isn: u32, config: ReassemblyConfig) -> H {
            H { r: Reassembler::new(config), isn, ev: Vec::new(), all: Vec::new() }
        }

        fn record(&mut self, f: impl FnOnce(&mut Reassembler, &mut dyn FnMut(StreamEvent<'_>))) {
            let mut fresh = Vec::new();
            f(&mut self.r, &mut |e| fresh.push(Ev::from(e)));
            for e in fresh {
                self.all.push(e.clone());
                self.ev.push(e);
            }
        }

        fn seq(&self, offset: u64) -> u32 {
            self.isn.wrapping_add(1).wrapping_add(offset as u32)
        }

        /// A template segment at stream `offset`.
        fn at<'p>(&self, offset: u64, payload: &'p [u8], packet: PacketIndex) -> SegmentIn<'p> {
            SegmentIn { seq: self.seq(offset), payload, packet, ts: Timestamp(packet as i64), ..Default::default() }
        }

        fn send(&mut self, seg: SegmentIn<'_>) {
            self.record(|r, out| r.segment(&seg, out));
        }

        fn put(&mut self, offset: u64, payload: &[u8], packet: PacketIndex) {
            let seg = self.at(offset, payload, packet);
            self.send(seg);
        }

        fn ack(&mut self, offset: u64) {
            self.r.peer_ack(self.seq(offset));
        }

        fn finish(&mut self, packet: PacketIndex) {
            self.record(|r, out| r.finish(packet, Timestamp(packet as i64), out));
            assert_eq!(self.r.buffered_bytes(), 0);
        }

        fn take(&mut self) -> Vec<Ev> {
            std::mem::take(&mut self.ev)
        }

        /// Checks tiling and accounting; returns the delivered bytes.
        fn stream(&self) -> Vec<u8> {
            let mut next = 0;
            let mut bytes = Vec::new();
            for ev in &self.all {
                match ev {
                    Ev::Data(at, b, _) => {
                        assert_eq!(*at, next, "data not contiguous in {:?}", self.all);
                        next += b.len() as u64;
                        bytes.extend_from_slice(b);
                    }
                    Ev::Gap(at, len, _, _) => {
                        assert_eq!(*at, next, "gap not contiguous in {:?}", self.all);
                        next += len;
                    }
                    _ => {}
                }
            }
            assert!(self.r.stats().is_balanced(self.r.buffered_bytes()), "{:?}", self.r.stats());
            bytes
        }
    }

    const TEXT: &[u8] = b"The quick brown fox jumps over the lazy dog, twice over.";

    fn piece(from: usize, to: usize) -> &'static [u8] {
        TEXT.get(from..to).unwrap()
    }

    #[test]
    fn in_order_bytes_are_delivered_at_once() {
        let mut h = H::new();
        h.put(0, b"hello", 2);
        assert_eq!(h.take(), vec![data(0, b"hello", 2)]);
        h.put(5, b" world", 3);
        assert_eq!(h.take(), vec![data(5, b" world", 3)]);
        let s = h.r.stats();
        assert_eq!((s.segments, s.bytes_captured, s.bytes_delivered), (3, 11, 11));
    }

    #[test]
    fn reverse_order_is_reassembled_with_packet_attribution() {
        let mut h = H::new();
        for (i, at) in [12usize, 8, 4, 0].into_iter().enumerate() {
            h.put(at as u64, piece(at, at + 4), 2 + i as u64);
        }
        assert_eq!(h.take(), vec![data(0, piece(0, 4), 5), data(4, piece(4, 8), 4), data(8, piece(8, 12), 3), data(12, piece(12, 16), 2),]);
        assert_eq!(h.r.stats().out_of_order, 3);
        assert_eq!(h.r.buffered_bytes(), 0);
    }

    #[test]
    fn random_permutation_is_reassembled() {
        let cuts = [0, 3, 4, 9, 17, 18, 25, 31, 40, 41, 50, TEXT.len()];
        let mut order: Vec<usize> = (0..cuts.len() - 1).collect();
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for i in (1..order.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            order.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let mut h = H::new();
        for (n, i) in order.into_iter().enumerate() {
            h.put(cuts[i] as u64, piece(cuts[i], cuts[i + 1]), 10 + n as u64);
        }
        h.finish(99);
        assert_eq!(h.stream(), TEXT);
        assert_eq!(h.r.stats().bytes_gap, 0);
    }

    #[test]
    fn exact_duplicates_are_counted_not_delivered() {
        let mut h = H::new();
        h.put(0, piece(0, 4), 2);
        h.put(0, piece(0, 4), 3); // retransmission of delivered bytes
        h.put(8, piece(8, 12), 4);
        h.put(8, piece(8, 12), 5); // duplicate of buffered bytes
        h.put(4, piece(4, 8), 6);
        assert_eq!(h.take(), vec![data(0, piece(0, 4), 2), data(4, piece(4, 8), 6), data(8, piece(8, 12), 4)]);
        let s = h.r.stats();
        assert_eq!((s.bytes_duplicate, s.bytes_duplicate_unverified, s.retransmissions), (8, 0, 2));
    }

    /// Buffers TEXT[10..20) from packet 2, then sends `from..to` as packet 3,
    /// then fills from 0 and finishes. Returns (events, duplicate bytes).
    fn overlap_case(from: usize, to: usize) -> (Vec<Ev>, u64) {
        let mut h = H::new();
        h.put(10, piece(10, 20), 2);
        h.put(from as u64, piece(from, to), 3);
        h.put(0, piece(0, 30), 4);
        h.finish(5);
        assert_eq!(h.stream(), piece(0, 30));
        assert_eq!(h.r.stats().conflicts, 0);
        (h.take(), h.r.stats().bytes_duplicate)
    }

    #[test]
    fn partial_overlap_left() {
        let (ev, dup) = overlap_case(5, 15);
        assert_eq!(dup, 5 + 15); // 10..15 against packet 2, then 0..20 of packet 4
        assert_eq!(ev, vec![data(0, piece(0, 5), 4), data(5, piece(5, 10), 3), data(10, piece(10, 20), 2), data(20, piece(20, 30), 4)]);
    }

    #[test]
    fn partial_overlap_right() {
        let (ev, _) = overlap_case(15, 25);
        assert_eq!(ev, vec![data(0, piece(0, 10), 4), data(10, piece(10, 20), 2), data(20, piece(20, 25), 3), data(25, piece(25, 30), 4)]);
    }

    #[test]
    fn partial_overlap_containing() {
        let (ev, _) = overlap_case(5, 25);
        assert_eq!(
            ev,
            vec![
                data(0, piece(0, 5), 4),
                data(5, piece(5, 10), 3),
                data(10, piece(10, 20), 2),
                data(20, piece(20, 25), 3),
                data(25, piece(25, 30), 4)
            ]
        );
    }

    #[test]
    fn partial_overlap_contained() {
        let (ev, dup) = overlap_case(12, 18);
        assert_eq!(dup, 6 + 10); // packet 3 entirely, then 10..20 of packet 4
        assert_eq!(ev, vec![data(0, piece(0, 10), 4), data(10, piece(10, 20), 2), data(20, piece(20, 30), 4)]);
    }

    #[test]
    fn overlap_with_delivered_bytes_is_verified() {
        let mut h = H::new();
        h.put(0, piece(0, 10), 2);
        h.put(5, piece(5, 15), 3);
        assert_eq!(h.take(), vec![data(0, piece(0, 10), 2), data(10, piece(10, 15), 3)]);
        let s = h.r.stats();
        assert_eq!((s.bytes_duplicate, s.bytes_duplicate_unverified, s.retransmissions), (5, 0, 1));
    }

    #[test]
    fn conflicting_retransmission_of_delivered_bytes() {
        let mut h = H::new();
        h.put(0, b"abcdef", 2);
        h.put(2, b"cXeY", 3);
        assert_eq!(h.take(), vec![data(0, b"abcdef", 2), Ev::Conflict { offset: 3, len: 3, packet: 3, first: 2 }]);
        let s = h.r.stats();
        assert_eq!((s.conflicts, s.bytes_conflicting, s.bytes_duplicate), (1, 3, 1));
        assert!(s.is_balanced(0));
    }

    #[test]
    fn conflicting_copy_of_buffered_bytes_first_wins() {
        let mut h = H::new();
        h.put(4, b"WXYZ", 2);
        h.put(4, b"WxYZ", 3);
        h.put(0, b"abcd", 4);
        assert_eq!(h.take(), vec![Ev::Conflict { offset: 5, len: 1, packet: 3, first: 2 }, data(0, b"abcd", 4), data(4, b"WXYZ", 2),]);
    }

    #[test]
    fn conflict_across_two_retained_packets() {
        let mut h = H::new();
        h.put(0, b"abcd", 2);
        h.put(4, b"efgh", 3);
        h.put(2, b"cDEg", 4);
        let ev = h.take();
        assert_eq!(
            ev[2..],
            [Ev::Conflict { offset: 3, len: 1, packet: 4, first: 2 }, Ev::Conflict { offset: 4, len: 2, packet: 4, first: 3 }]
        );
        assert_eq!(h.r.stats().bytes_duplicate, 1);
    }

    #[test]
    fn sequence_numbers_wrap_around() {
        let mut h = H::with_syn(u32::MAX - 5, ReassemblyConfig::default());
        // Offsets 0..20 span seq u32::MAX - 4 ..= 15 across the wrap.
        h.put(10, piece(10, 20), 2);
        h.put(0, piece(0, 10), 3);
        h.put(20, piece(20, 30), 4);
        assert_eq!(h.seq(5), 0);
        assert_eq!(h.stream(), piece(0, 30));
        assert_eq!(h.take()[0], data(0, piece(0, 10), 3));
    }

    #[test]
    fn stream_longer_than_4_gib() {
        // Move 5 GiB ahead through capture loss the peer acknowledged.
        let mut h = H::with_syn(u32::MAX - 100, ReassemblyConfig::default());
        let step = (1u64 << 30) - 16;
        for i in 1..=5 {
            h.ack(i * step);
            let seg = h.at(i * step, b"", 10 + i);
            h.send(seg);
        }
        let at = 5 * step;
        assert!(at > 1 << 32);
        assert_eq!(h.r.next_offset(), at);
        h.put(at + 3, b"def", 20);
        h.put(at, b"abc", 21);
        h.put(at + 1, b"bc", 22); // retransmission across the 2^32 boundary math
        let ev = h.take();
        assert_eq!(ev.len(), 7);
        assert_eq!(ev[0], Ev::Gap(0, step, GapReason::NotCaptured, 11));
        assert_eq!(ev[5..], [data(at, b"abc", 21), data(at + 3, b"def", 20)]);
        assert_eq!(h.r.stats().bytes_gap, at);
        assert_eq!(h.r.stats().bytes_duplicate, 2);
    }

    #[test]
    fn gap_declared_when_peer_acked_past_hole_and_sender_moves_on() {
        let mut h = H::new();
        h.put(0, piece(0, 4), 2);
        h.put(8, piece(8, 12), 3); // 4..8 lost at the capture point
        h.ack(12);
        assert_eq!(h.take(), vec![data(0, piece(0, 4), 2)]);
        h.put(12, piece(12, 16), 4);
        assert_eq!(h.take(), vec![Ev::Gap(4, 4, GapReason::NotCaptured, 4), data(8, piece(8, 12), 3), data(12, piece(12, 16), 4)]);
        // The lost bytes turn up after all: late, not delivered.
        h.put(4, piece(4, 8), 5);
        assert!(h.take().is_empty());
        let s = h.r.stats();
        assert_eq!((s.bytes_late, s.bytes_dropped_other, s.bytes_gap, s.gaps), (4, 4, 4, 1));
        assert!(s.is_balanced(0));
    }

    #[test]
    fn retransmission_filling_the_hole_prevents_the_gap() {
        let mut h = H::new();
        h.put(0, piece(0, 4), 2);
        h.put(8, piece(8, 12), 3);
        h.ack(12);
        h.put(4, piece(4, 8), 4);
        assert_eq!(h.take(), vec![data(0, piece(0, 4), 2), data(4, piece(4, 8), 4), data(8, piece(8, 12), 3)]);
        assert_eq!(h.r.stats().gaps, 0);
    }

    #[test]
    fn gaps_at_finish_before_buffered_data_and_before_fin() {
        let mut h = H::new();
        h.put(0, piece(0, 4), 2);
        h.put(8, piece(8, 12), 3);
        h.send(SegmentIn { fin: true, ..h.at(16, b"", 4) });
        h.take();
        h.finish(9);
        assert_eq!(
            h.take(),
            vec![Ev::Gap(4, 4, GapReason::StreamEnd, 9), data(8, piece(8, 12), 3), Ev::Gap(12, 4, GapReason::StreamEnd, 9), Ev::Fin(16, 4),]
        );
        assert!(h.r.fin_delivered());
    }

    #[test]
    fn finish_declares_acked_tail_not_captured() {
        let mut h = H::new();
        h.put(0, piece(0, 4), 2);
        h.ack(10);
        h.finish(7);
        assert_eq!(h.take()[1..], [Ev::Gap(4, 6, GapReason::NotCaptured, 7)]);
    }

    #[test]
    fn snaplen_cut_in_order() {
        let mut h = H::new();
        h.send(SegmentIn { missing_len: 6, ..h.at(0, piece(0, 4), 2) });
        h.put(10, piece(10, 14), 3);
        assert_eq!(h.take(), vec![data(0, piece(0, 4), 2), Ev::Gap(4, 6, GapReason::SnaplenCut, 2), data(10, piece(10, 14), 3)]);
        assert_eq!(h.r.stats().bytes_captured, 8);
    }

    #[test]
    fn snaplen_cut_out_of_order_and_filled_by_real_data() {
        let mut h = H::new();
        // 10..14 captured, 14..18 cut; 16..20 arrives in full later.
        h.send(SegmentIn { missing_len: 4, ..h.at(10, piece(10, 14), 2) });
        h.put(16, piece(16, 20), 3);
        h.put(0, piece(0, 10), 4);
        assert_eq!(
            h.take(),
            vec![
                data(0, piece(0, 10), 4),
                data(10, piece(10, 14), 2),
                Ev::Gap(14, 2, GapReason::SnaplenCut, 2),
                data(16, piece(16, 20), 3),
            ]
        );
    }

    #[test]
    fn buffer_limit_gives_up_the_oldest_hole() {
        let config = ReassemblyConfig { max_buffered_bytes: 8, ..ReassemblyConfig::default() };
        let mut h = H::with_syn(1000, config);
        h.put(0, piece(0, 2), 2);
        h.put(4, piece(4, 8), 3);
        h.put(10, piece(10, 14), 4);
        assert_eq!(h.r.buffered_bytes(), 8);
        h.put(16, piece(16, 20), 5);
        assert_eq!(h.take(), vec![data(0, piece(0, 2), 2), Ev::Gap(2, 2, GapReason::BufferLimit, 5), data(4, piece(4, 8), 3)]);
        assert_eq!(h.r.buffered_bytes(), 8);
        h.put(2, piece(2, 4), 6);
        assert_eq!(h.r.stats().bytes_late, 2);
        h.finish(7);
        h.stream();
    }

    #[test]
    fn too_many_tiny_pieces_also_hit_the_limit() {
        let config = ReassemblyConfig { max_buffered_chunks: 3, ..ReassemblyConfig::default() };
        let mut h = H::with_syn(1000, config);
        for (i, at) in [2u64, 4, 6, 8].into_iter().enumerate() {
            h.put(at, piece(at as usize, at as usize + 1), 2 + i as u64);
        }
        assert_eq!(h.take()[..2], [Ev::Gap(0, 2, GapReason::BufferLimit, 5), data(2, piece(2, 3), 2)]);
    }

    #[test]
    fn mid_stream_start_uses_first_seen_segment() {
        let mut h = H::bare(4999, ReassemblyConfig::default());
        h.send(SegmentIn { ack: Some(7), ..h.at(0, b"cdef", 1) }); // seq 5000 is offset 0
        h.send(SegmentIn { seq: 4998, ..h.at(0, b"abcd", 2) });
        h.put(4, b"gh", 3);
        assert_eq!(h.take(), vec![data(0, b"cdef", 1), data(4, b"gh", 3)]);
        let s = h.r.stats();
        assert_eq!((s.bytes_before_start, s.bytes_duplicate), (2, 2));
        assert!(!h.r.syn_seen());
        assert!(s.is_balanced(0));
    }

    #[test]
    fn pure_ack_does_not_set_the_base() {
        let mut h = H::bare(4999, ReassemblyConfig::default());
        h.send(SegmentIn { seq: 4000, ack: Some(1), ..Default::default() });
        assert_eq!(h.r.base_seq(), None);
        h.put(0, b"x", 2);
        assert_eq!(h.take(), vec![data(0, b"x", 2)]);
    }

    #[test]
    fn syn_with_data() {
        let mut h = H::bare(77, ReassemblyConfig::default());
        let syn = SegmentIn { seq: 77, syn: true, payload: b"hi", packet: 1, ..Default::default() };
        h.send(syn);
        h.send(SegmentIn { packet: 2, ..syn }); // retransmitted SYN with data
        h.put(2, b"!", 3);
        assert_eq!(h.take(), vec![data(0, b"hi", 1), data(2, b"!", 3)]);
        assert_eq!(h.r.stats().bytes_duplicate, 2);
    }

    #[test]
    fn fin_event_and_data_after_fin() {
        let mut h = H::new();
        h.send(SegmentIn { fin: true, ..h.at(0, b"bye", 2) });
        h.send(SegmentIn { fin: true, ..h.at(0, b"bye", 3) }); // retransmitted
        h.put(4, b"zz", 4); // beyond the FIN
        assert_eq!(h.take(), vec![data(0, b"bye", 2), Ev::Fin(3, 2)]);
        let s = h.r.stats();
        assert_eq!((s.fins, s.fin_inconsistent, s.bytes_after_fin, s.bytes_duplicate), (2, 0, 2, 3));
        assert!(h.r.fin_delivered());
    }

    #[test]
    fn out_of_order_fin_waits_for_the_data() {
        let mut h = H::new();
        h.send(SegmentIn { fin: true, ..h.at(4, b"ef", 2) });
        h.put(10, b"late", 3); // buffered beyond the FIN: not stream data
        h.put(0, b"abcd", 4);
        assert_eq!(h.take(), vec![data(0, b"abcd", 4), data(4, b"ef", 2), Ev::Fin(6, 2)]);
        assert_eq!(h.r.stats().bytes_after_fin, 4);
    }

    #[test]
    fn fin_truncates_previously_buffered_data() {
        let mut h = H::new();
        h.put(8, b"WXYZ", 2);
        h.send(SegmentIn { fin: true, ..h.at(4, b"ef", 3) }); // FIN at 6
        h.put(0, b"abcd", 4);
        assert_eq!(h.take(), vec![data(0, b"abcd", 4), data(4, b"ef", 3), Ev::Fin(6, 3)]);
        let s = h.r.stats();
        assert_eq!((s.bytes_after_fin, h.r.buffered_bytes()), (4, 0));
        assert!(s.is_balanced(0));
    }

    #[test]
    fn rst_event_and_payload() {
        let mut h = H::new();
        h.put(0, b"abc", 2);
        h.send(SegmentIn { rst: true, ..h.at(3, b"reset: bye", 3) });
        h.send(SegmentIn { rst: true, ..h.at(3, b"", 4) });
        assert_eq!(h.take(), vec![data(0, b"abc", 2), Ev::Rst(3)]);
        let s = h.r.stats();
        assert_eq!((s.rsts, s.bytes_rst_payload), (2, 10));
        assert!(h.r.rst_seen());
        assert!(s.is_balanced(0));
    }

    #[test]
    fn keepalive_is_not_a_conflict() {
        let mut h = H::new();
        h.put(0, b"abcd", 2);
        h.ack(4);
        h.put(3, &[0], 3);
        h.put(3, b"", 4);
        assert_eq!(h.take(), vec![data(0, b"abcd", 2)]);
        let s = h.r.stats();
        assert_eq!((s.keepalives, s.bytes_keepalive, s.conflicts), (2, 1, 0));
    }

    #[test]
    fn acked_bytes_are_no_longer_retained() {
        let mut h = H::new();
        h.put(0, b"abcdef", 2);
        h.ack(4);
        h.put(0, b"ABCDEF", 3);
        assert_eq!(h.take()[1..], [Ev::Conflict { offset: 4, len: 2, packet: 3, first: 2 }]);
        let s = h.r.stats();
        assert_eq!((s.bytes_duplicate, s.bytes_duplicate_unverified, s.bytes_conflicting), (4, 4, 2));
    }

    #[test]
    fn fully_acked_connections_hand_their_buffers_to_the_next() {
        let mut a = H::new();
        a.put(0, &[b'a'; 1000], 2);
        assert!(a.r.retained.bytes.capacity() >= 1000);
        a.ack(1000);
        // Nothing left to check retransmissions against: the buffers went
        // back to this thread's pool (an idle connection holds none)...
        assert_eq!((a.r.retained.bytes.capacity(), a.r.retained.marks.capacity()), (0, 0));
        // ... and the next connection to need one takes them, still able to
        // tell a retransmission from a conflict.
        let mut b = H::new();
        b.put(0, b"xyz", 2);
        assert!(b.r.retained.bytes.capacity() >= 1000, "fresh buffers instead of pooled ones");
        b.put(0, b"xYz", 3);
        assert_eq!(b.take()[1..], [Ev::Conflict { offset: 1, len: 1, packet: 3, first: 2 }]);
    }

    #[test]
    fn retention_is_capped() {
        let config = ReassemblyConfig { max_retained_bytes: 4, ..ReassemblyConfig::default() };
        let mut h = H::with_syn(1000, config);
        h.put(0, b"abcd", 2);
        h.put(4, b"efgh", 3);
        h.put(0, b"abcdefgh", 4);
        let s = h.r.stats();
        assert_eq!((s.bytes_duplicate, s.bytes_duplicate_unverified), (8, 4));
    }

    #[test]
    fn segments_far_outside_the_window_are_ignored() {
        let mut h = H::new();
        h.put(0, b"ab", 2);
        let far = h.at((1 << 31) - 10, b"junk", 3);
        h.send(far);
        h.put(2, b"cd", 4);
        assert_eq!(h.take(), vec![data(0, b"ab", 2), data(2, b"cd", 4)]);
        let s = h.r.stats();
        assert_eq!((s.segments_out_of_window, s.bytes_out_of_window), (1, 4));
        h.r.peer_ack(h.seq((1 << 31) - 1));
        assert_eq!(h.r.stats().acks_out_of_window, 1);
    }
}
