//! Incremental WebSocket frame decoder for one direction of a connection.
//!
//! Owns: cutting a reassembled byte stream into frames, unmasking payloads,
//! staying in step across TCP gaps, and finding frame boundaries again when
//! they are lost (after a gap, or when the capture starts mid-connection).
//!
//! May import: model, ws::frame. Must not import: flow, http, capture, rayon.
//!
//! Input is the stream of one direction as the reassembler delivers it:
//! contiguous data chunks, each from one packet, and gaps (bytes that were
//! never captured). Output goes to a [`FrameSink`]: every frame, every piece
//! of unmasked payload, and every region of bytes that could not be decoded,
//! with the reason. Every byte given to the decoder ends up in exactly one of
//! [`DecoderStats`]' counters.
//!
//! Gaps: a gap that falls inside a frame's payload costs only those payload
//! bytes, since the next header's position is known. A gap over a header
//! loses the frame boundaries; the decoder then searches for them again and
//! reports the bytes it skipped. It never invents bytes and never reads a
//! header out of bytes that were not captured, so a gap cannot produce a
//! false protocol violation.

use crate::model::{PacketIndex, Timestamp};
#[cfg(test)]
use crate::ws::frame::LengthForm;
use crate::ws::frame::{FrameHeader, HeaderParse, MAX_HEADER_LEN, apply_mask};

/// What the decoder knows about the peer that sends this direction, used to
/// judge whether bytes look like a frame header when searching for one.
#[derive(Clone, Copy, Debug, Default)]
pub struct DirectionContext {
    /// Whether frames in this direction must be masked (client to server), or
    /// `None` when the roles are not known yet.
    pub masked: Option<bool>,
    /// Whether an extension that uses RSV1 (permessage-deflate) was agreed.
    pub rsv1_allowed: bool,
}

/// Decoder limits.
#[derive(Clone, Copy, Debug)]
pub struct DecoderConfig {
    /// Control frame payloads are kept whole up to this many bytes (a Close
    /// needs its code and reason; oversized control frames are a finding).
    pub control_keep: usize,
    /// Bytes of each data frame's payload kept in the frame record (preview).
    pub data_keep: usize,
    /// How many bytes the decoder holds while searching for frame boundaries.
    pub search_window: usize,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        DecoderConfig { control_keep: 64 * 1024, data_keep: 0, search_window: 256 * 1024 }
    }
}

/// A decoded frame. Header fields are in `header`; the rest says where the
/// frame lies in the stream and in the capture.
#[derive(Clone, Debug)]
pub struct DecodedFrame {
    /// 0-based index of the frame in this direction.
    pub index: u64,
    pub header: FrameHeader,
    /// Stream offset of the first header byte.
    pub stream_offset: u64,
    /// Packet holding the first header byte, and its time.
    pub first_packet: PacketIndex,
    pub first_ts: Timestamp,
    /// Packet holding the last byte (where the frame is complete, as
    /// Wireshark reports it), and its time.
    pub last_packet: PacketIndex,
    pub ts: Timestamp,
    /// Payload bytes present in the capture (less than `payload_len` when a
    /// gap fell inside the payload or the stream ended first).
    pub captured_len: u64,
    /// Payload bytes lost in gaps inside this frame.
    pub gap_len: u64,
    /// The stream ended before the frame did.
    pub truncated: bool,
    /// Unmasked payload: whole for control frames (up to the config limit),
    /// the first bytes of data frames (preview). Bytes lost in a gap are not
    /// included, so the kept bytes stop at the first gap.
    pub payload: Vec<u8>,
}

impl DecodedFrame {
    /// Whether the whole payload was captured.
    pub fn is_complete(&self) -> bool {
        self.captured_len == self.header.payload_len
    }
}

/// Why bytes could not be decoded as frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UndecodedReason {
    /// Skipped while searching for a frame boundary (capture started in the
    /// middle of a frame, or a gap lost the boundaries).
    NoFrameBoundary,
    /// The start of a header at the end of the stream.
    PartialHeaderAtEnd,
}

impl UndecodedReason {
    pub const fn as_str(self) -> &'static str {
        match self {
            UndecodedReason::NoFrameBoundary => "no-frame-boundary",
            UndecodedReason::PartialHeaderAtEnd => "partial-header-at-end",
        }
    }
}

/// A run of bytes that were captured but could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UndecodedRegion {
    pub offset: u64,
    pub len: u64,
    pub first_packet: PacketIndex,
    pub ts: Timestamp,
    pub reason: UndecodedReason,
}

/// Receives what the decoder finds, in stream order.
pub trait FrameSink {
    /// A piece of a frame's payload, unmasked; `pos` is its position in the
    /// frame's payload. Called before [`FrameSink::frame`] for that frame.
    /// Gaps inside the payload are signalled by a jump in `pos`.
    fn payload(&mut self, _header: &FrameHeader, _frame_index: u64, _pos: u64, _bytes: &[u8]) {}
    /// A frame header was read: its payload (if any) follows.
    fn header(&mut self, _header: &FrameHeader, _frame_index: u64) {}
    /// Asked right after [`FrameSink::header`]: whether this frame's payload
    /// bytes are wanted. When not, [`FrameSink::payload`] is not called for
    /// the frame and masked bytes are not unmasked (most of a bulk binary
    /// transfer is never looked at).
    fn wants_payload(&self, _header: &FrameHeader) -> bool {
        true
    }
    /// A whole frame (or the part of it the capture holds).
    fn frame(&mut self, frame: DecodedFrame);
    /// Bytes that were captured but are not part of any frame.
    fn undecoded(&mut self, _region: UndecodedRegion) {}
    /// Frame boundaries were found again at `offset` after `skipped` bytes.
    fn resynced(&mut self, _offset: u64, _skipped: u64) {}
}

/// Byte accounting for one direction: every byte the decoder was given is in
/// exactly one of the first four counters; gap bytes were never captured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecoderStats {
    pub header_bytes: u64,
    pub payload_bytes: u64,
    pub undecoded_bytes: u64,
    /// Bytes still held while searching (0 after `finish`).
    pub pending_bytes: u64,
    pub gap_bytes: u64,
    pub frames: u64,
    pub resyncs: u64,
}

/// A frame whose header has been read and whose payload is being consumed.
#[derive(Debug)]
struct InFrame {
    header: FrameHeader,
    start: u64,
    first_packet: PacketIndex,
    first_ts: Timestamp,
    /// Payload bytes consumed so far (captured or lost in gaps).
    pos: u64,
    captured: u64,
    gap: u64,
    keep_limit: usize,
    /// The sink wants the payload bytes ([`FrameSink::wants_payload`]).
    deliver: bool,
    kept: Vec<u8>,
    last_packet: PacketIndex,
    ts: Timestamp,
}

/// A header being accumulated across chunks.
#[derive(Debug, Default)]
struct HeaderAcc {
    buf: [u8; MAX_HEADER_LEN],
    len: usize,
    start: u64,
    first_packet: PacketIndex,
    first_ts: Timestamp,
}

/// Captured bytes held while searching for frame boundaries: one contiguous
/// buffer plus where each packet's bytes start in it.
#[derive(Debug, Default)]
struct Held {
    /// Stream offset of `bytes[0]`.
    offset: u64,
    bytes: Vec<u8>,
    /// (position in `bytes`, packet, time) for each packet's first byte.
    marks: Vec<(usize, PacketIndex, Timestamp)>,
    /// Positions before this one were rejected for good as frame starts.
    scan_from: usize,
}

impl Held {
    fn packet_at(&self, pos: usize) -> (PacketIndex, Timestamp) {
        let i = self.marks.partition_point(|m| m.0 <= pos);
        self.marks.get(i.saturating_sub(1)).map_or((0, Timestamp::default()), |m| (m.1, m.2))
    }

    fn is_boundary(&self, pos: usize) -> bool {
        pos == self.bytes.len() || self.marks.binary_search_by_key(&pos, |m| m.0).is_ok()
    }

    /// Removes the first `n` bytes.
    fn drop_front(&mut self, n: usize) {
        let n = n.min(self.bytes.len());
        self.bytes.drain(..n);
        self.offset += n as u64;
        self.scan_from = self.scan_from.saturating_sub(n);
        // Keep the mark that covers the new first byte.
        let covering = self.marks.partition_point(|m| m.0 <= n).saturating_sub(1);
        self.marks.drain(..covering);
        for m in &mut self.marks {
            m.0 = m.0.saturating_sub(n);
        }
    }
}

#[derive(Debug)]
enum Mode {
    /// Frame boundaries are known: `next` is where the next frame byte goes.
    InSync,
    /// Boundaries unknown: captured bytes are held until a run of plausible
    /// frames confirms where frames start. `strict` asks for more evidence
    /// (no handshake seen: the connection may not be WebSocket at all) and
    /// only tries packet starts.
    Searching { held: Held, strict: bool },
}

/// Decodes one direction's byte stream into frames. See the module docs.
#[derive(Debug)]
pub struct FrameDecoder {
    cfg: DecoderConfig,
    ctx: DirectionContext,
    mode: Mode,
    /// Stream offset of the next byte expected.
    next: u64,
    hdr: HeaderAcc,
    cur: Option<InFrame>,
    frame_index: u64,
    scratch: Vec<u8>,
    stats: DecoderStats,
    ever_synced: bool,
}

impl FrameDecoder {
    /// A decoder that knows frames start at stream offset `start` (the byte
    /// after the HTTP handshake).
    pub fn in_sync(cfg: DecoderConfig, ctx: DirectionContext, start: u64) -> FrameDecoder {
        FrameDecoder {
            cfg,
            ctx,
            mode: Mode::InSync,
            next: start,
            hdr: HeaderAcc::default(),
            cur: None,
            frame_index: 0,
            scratch: Vec::new(),
            stats: DecoderStats::default(),
            ever_synced: true,
        }
    }

    /// A decoder that must first find where frames start (no usable
    /// handshake was captured). `strict` asks for stronger evidence, for
    /// bytes that may not be WebSocket at all.
    pub fn searching(cfg: DecoderConfig, ctx: DirectionContext, start: u64, strict: bool) -> FrameDecoder {
        let mut d = FrameDecoder::in_sync(cfg, ctx, start);
        d.mode = Mode::Searching { held: Held { offset: start, ..Held::default() }, strict };
        d.ever_synced = false;
        d
    }

    pub fn set_context(&mut self, ctx: DirectionContext) {
        self.ctx = ctx;
    }

    pub fn stats(&self) -> DecoderStats {
        self.stats
    }

    /// Whether frame boundaries have been known at some point (for a decoder
    /// created by [`FrameDecoder::searching`], whether it found WebSocket).
    pub fn ever_synced(&self) -> bool {
        self.ever_synced
    }

    /// Whether the decoder is currently searching for frame boundaries.
    pub fn is_searching(&self) -> bool {
        matches!(self.mode, Mode::Searching { .. })
    }

    /// Stream offset of the next byte the decoder expects.
    pub fn next_offset(&self) -> u64 {
        self.next
    }

    /// Feeds captured bytes starting at stream offset `offset`, all carried
    /// by `packet`.
    pub fn data(&mut self, offset: u64, bytes: &[u8], packet: PacketIndex, ts: Timestamp, sink: &mut dyn FrameSink) {
        if bytes.is_empty() {
            return;
        }
        if offset > self.next {
            // The caller skipped bytes without telling: treat them as a gap so
            // nothing is decoded across them.
            self.gap(self.next, offset - self.next, packet, ts, sink);
        }
        // Bytes before `next` were already given (the reassembler guarantees
        // this does not happen; be safe rather than decode them twice).
        let skip = usize::try_from(self.next.saturating_sub(offset)).unwrap_or(usize::MAX).min(bytes.len());
        let Some(bytes) = bytes.get(skip..) else { return };
        if bytes.is_empty() {
            return;
        }
        match &mut self.mode {
            Mode::InSync => self.consume(bytes, packet, ts, sink),
            Mode::Searching { held, .. } => {
                held.marks.push((held.bytes.len(), packet, ts));
                held.bytes.extend_from_slice(bytes);
                self.stats.pending_bytes += bytes.len() as u64;
                self.next += bytes.len() as u64;
                self.search(false, sink);
            }
        }
    }

    /// Bytes `[offset, offset + len)` were never captured.
    pub fn gap(&mut self, offset: u64, len: u64, packet: PacketIndex, ts: Timestamp, sink: &mut dyn FrameSink) {
        if len == 0 || offset + len <= self.next {
            return;
        }
        let len = offset + len - self.next.max(offset);
        self.stats.gap_bytes += len;
        if let Mode::Searching { .. } = self.mode {
            // Nothing held before the gap can be joined to what follows.
            self.search(true, sink);
            if let Mode::Searching { .. } = self.mode {
                self.drop_held(usize::MAX, UndecodedReason::NoFrameBoundary, sink);
                self.next += len;
                if let Mode::Searching { held, .. } = &mut self.mode {
                    held.offset = self.next;
                    held.marks.clear();
                    held.scan_from = 0;
                }
                return;
            }
        }
        if let Some(cur) = &mut self.cur {
            let remaining = cur.header.payload_len - cur.pos;
            if len <= remaining {
                // The gap lies inside the payload: the next header's position
                // is still known.
                cur.pos += len;
                cur.gap += len;
                self.next += len;
                cur.last_packet = packet;
                cur.ts = ts;
                if cur.pos == cur.header.payload_len {
                    self.finish_frame(sink);
                }
                return;
            }
            cur.pos += remaining;
            cur.gap += remaining;
            self.finish_frame(sink);
        } else if self.hdr.len > 0 {
            self.undecoded_partial_header(UndecodedReason::NoFrameBoundary, sink);
        }
        // The next header is somewhere in or after the gap: boundaries lost.
        self.next += len;
        self.mode = Mode::Searching { held: Held { offset: self.next, ..Held::default() }, strict: false };
    }

    /// The stream ended: emits what is left (a truncated frame, a partial
    /// header, or bytes held while searching).
    pub fn finish(&mut self, sink: &mut dyn FrameSink) {
        if let Mode::Searching { .. } = self.mode {
            self.search(true, sink);
            if let Mode::Searching { .. } = self.mode {
                self.drop_held(usize::MAX, UndecodedReason::NoFrameBoundary, sink);
            }
        }
        if let Some(cur) = self.cur.take() {
            self.emit(cur, true, sink);
        }
        if self.hdr.len > 0 {
            self.undecoded_partial_header(UndecodedReason::PartialHeaderAtEnd, sink);
        }
    }

    /// Consumes bytes while in sync.
    fn consume(&mut self, mut bytes: &[u8], packet: PacketIndex, ts: Timestamp, sink: &mut dyn FrameSink) {
        while !bytes.is_empty() {
            if self.cur.is_some() {
                bytes = self.consume_payload(bytes, packet, ts, sink);
                continue;
            }
            if self.hdr.len == 0 {
                self.hdr.start = self.next;
                self.hdr.first_packet = packet;
                self.hdr.first_ts = ts;
            }
            // Copy just enough bytes to learn the header.
            let mut needed: usize = 2;
            loop {
                let want = needed.saturating_sub(self.hdr.len).min(bytes.len());
                if let (Some(dst), Some(src)) = (self.hdr.buf.get_mut(self.hdr.len..self.hdr.len + want), bytes.get(..want)) {
                    dst.copy_from_slice(src);
                }
                self.hdr.len += want;
                self.next += want as u64;
                bytes = bytes.get(want..).unwrap_or_default();
                let acc = self.hdr.buf.get(..self.hdr.len).unwrap_or_default();
                match FrameHeader::parse(acc) {
                    HeaderParse::Complete(header) => {
                        self.start_frame(header, packet, ts, sink);
                        break;
                    }
                    HeaderParse::Incomplete { needed: n } if n > self.hdr.len && !bytes.is_empty() => needed = n,
                    HeaderParse::Incomplete { .. } => break,
                }
            }
        }
    }

    fn start_frame(&mut self, header: FrameHeader, packet: PacketIndex, ts: Timestamp, sink: &mut dyn FrameSink) {
        self.stats.header_bytes += u64::from(header.header_len);
        sink.header(&header, self.frame_index);
        let deliver = sink.wants_payload(&header);
        let keep_limit = if header.is_control() { self.cfg.control_keep } else { self.cfg.data_keep };
        let keep_now = usize::try_from(header.payload_len).unwrap_or(usize::MAX).min(keep_limit);
        let frame = InFrame {
            header,
            start: self.hdr.start,
            first_packet: self.hdr.first_packet,
            first_ts: self.hdr.first_ts,
            pos: 0,
            captured: 0,
            gap: 0,
            keep_limit,
            deliver,
            // Never trust the declared length for an allocation beyond the
            // small keep limit.
            kept: Vec::with_capacity(keep_now.min(4096)),
            last_packet: packet,
            ts,
        };
        self.hdr.len = 0;
        self.cur = Some(frame);
        if header.payload_len == 0 {
            self.finish_frame(sink);
        }
    }

    /// Consumes payload bytes of the current frame; returns what is left.
    fn consume_payload<'b>(&mut self, bytes: &'b [u8], packet: PacketIndex, ts: Timestamp, sink: &mut dyn FrameSink) -> &'b [u8] {
        let Some(cur) = &mut self.cur else { return bytes };
        let remaining = cur.header.payload_len - cur.pos;
        let take = usize::try_from(remaining).unwrap_or(usize::MAX).min(bytes.len());
        let (piece, rest) = bytes.split_at(take);
        let keeping = cur.gap == 0 && cur.kept.len() < cur.keep_limit;
        // Unmask into the scratch buffer; unmasked payload (server frames)
        // is passed on as it lies in the input, without a copy.
        let plain: &[u8] = match cur.header.mask {
            _ if !cur.deliver && !keeping => piece,
            Some(key) => {
                self.scratch.clear();
                self.scratch.extend_from_slice(piece);
                apply_mask(&mut self.scratch, key, cur.pos);
                &self.scratch
            }
            None => piece,
        };
        // Keep bytes only while no gap has interrupted the payload, so the
        // kept prefix is always contiguous.
        if keeping {
            let n = (cur.keep_limit - cur.kept.len()).min(plain.len());
            cur.kept.extend_from_slice(plain.get(..n).unwrap_or_default());
        }
        if cur.deliver {
            sink.payload(&cur.header, self.frame_index, cur.pos, plain);
        }
        cur.pos += take as u64;
        cur.captured += take as u64;
        cur.last_packet = packet;
        cur.ts = ts;
        self.stats.payload_bytes += take as u64;
        self.next += take as u64;
        if cur.pos == cur.header.payload_len {
            self.finish_frame(sink);
        }
        rest
    }

    fn finish_frame(&mut self, sink: &mut dyn FrameSink) {
        if let Some(cur) = self.cur.take() {
            self.emit(cur, false, sink);
        }
    }

    fn emit(&mut self, cur: InFrame, truncated: bool, sink: &mut dyn FrameSink) {
        let frame = DecodedFrame {
            index: self.frame_index,
            header: cur.header,
            stream_offset: cur.start,
            first_packet: cur.first_packet,
            first_ts: cur.first_ts,
            last_packet: cur.last_packet,
            ts: cur.ts,
            captured_len: cur.captured,
            gap_len: cur.gap,
            truncated,
            payload: cur.kept,
        };
        self.frame_index += 1;
        self.stats.frames += 1;
        sink.frame(frame);
    }

    fn undecoded_partial_header(&mut self, reason: UndecodedReason, sink: &mut dyn FrameSink) {
        let len = self.hdr.len as u64;
        self.stats.undecoded_bytes += len;
        sink.undecoded(UndecodedRegion { offset: self.hdr.start, len, first_packet: self.hdr.first_packet, ts: self.hdr.first_ts, reason });
        self.hdr.len = 0;
    }

    /// Whether `h` looks like a header this direction's peer would send.
    fn plausible(&self, h: &FrameHeader) -> bool {
        let opcode_known = matches!(h.opcode, 0 | 1 | 2 | 8 | 9 | 10);
        let rsv_ok = !h.rsv2 && !h.rsv3 && (!h.rsv1 || (self.ctx.rsv1_allowed && matches!(h.opcode, 1 | 2)));
        let mask_ok = self.ctx.masked.is_none_or(|m| m == h.mask.is_some());
        let control_ok = !h.is_control() || (h.fin && h.payload_len <= 125);
        // A frame larger than 1 TiB is not something a real peer sends.
        let len_ok = !h.is_non_minimal_length() && h.payload_len < (1 << 40);
        let zero_key_ok = h.mask != Some([0; 4]) || h.payload_len == 0;
        opcode_known && rsv_ok && mask_ok && control_ok && len_ok && zero_key_ok
    }

    /// Looks for the first position in the held bytes where a run of
    /// plausible frames starts. `at_end`: no more bytes will come before a
    /// gap or the end of the stream, so weaker evidence must do.
    fn search(&mut self, at_end: bool, sink: &mut dyn FrameSink) {
        let Mode::Searching { held, strict } = &self.mode else { return };
        let strict = *strict;
        if held.bytes.is_empty() {
            return;
        }
        let window_full = held.bytes.len() >= self.cfg.search_window;
        let mut found = None;
        let mut rejected_upto = held.scan_from;
        let mut all_rejected = true;
        let mut start = held.scan_from;
        while start < held.bytes.len() {
            let at_boundary = held.is_boundary(start);
            if strict && !at_boundary {
                // Without a handshake only packet starts are tried: a real
                // peer's frames start at write boundaries often enough.
                start = held.marks.get(held.marks.partition_point(|m| m.0 <= start)).map_or(held.bytes.len(), |m| m.0);
                if all_rejected {
                    rejected_upto = start;
                }
                continue;
            }
            let run = self.score_run(held, start);
            let enough = if strict {
                run.complete >= 3 || run.aligned_ends >= 2 || ((at_end || window_full) && run.complete >= 1 && run.ends_clean)
            } else {
                run.complete >= 3
                    || (at_boundary && run.aligned_ends >= 1)
                    || ((at_end || window_full) && run.complete >= 1 && run.ends_clean)
            };
            if enough {
                found = Some(start);
                break;
            }
            if run.needs_more {
                all_rejected = false;
            } else if all_rejected {
                rejected_upto = start + 1;
            }
            start += 1;
        }
        let Mode::Searching { held, .. } = &mut self.mode else { return };
        held.scan_from = rejected_upto;
        match found {
            Some(start) => {
                let Mode::Searching { held, .. } = std::mem::replace(&mut self.mode, Mode::InSync) else { return };
                self.stats.pending_bytes = 0;
                if start > 0 {
                    let (packet, ts) = held.packet_at(0);
                    self.stats.undecoded_bytes += start as u64;
                    sink.undecoded(UndecodedRegion {
                        offset: held.offset,
                        len: start as u64,
                        first_packet: packet,
                        ts,
                        reason: UndecodedReason::NoFrameBoundary,
                    });
                }
                self.stats.resyncs += 1;
                // Frames found right at the start of a stream whose handshake
                // was not captured are no resynchronisation.
                if self.ever_synced || start > 0 {
                    sink.resynced(held.offset + start as u64, start as u64);
                }
                self.ever_synced = true;
                // Replay the held bytes from the boundary found, packet by
                // packet, so frames keep their packet attribution.
                self.next = held.offset + start as u64;
                let ends = held.marks.iter().skip(1).map(|m| m.0).chain(std::iter::once(held.bytes.len()));
                for (&(mark, packet, ts), end) in held.marks.iter().zip(ends) {
                    let from = mark.max(start);
                    if let Some(piece) = held.bytes.get(from..end).filter(|p| !p.is_empty()) {
                        self.consume(piece, packet, ts, sink);
                    }
                }
            }
            None if window_full || (strict && held.scan_from >= held.bytes.len()) => {
                // Keep only bytes that could still start a frame.
                let keep = if window_full { MAX_HEADER_LEN.max(self.cfg.search_window / 2) } else { 0 };
                let drop = held.bytes.len().saturating_sub(keep).max(held.scan_from.min(held.bytes.len()));
                self.drop_held(drop, UndecodedReason::NoFrameBoundary, sink);
            }
            None => {}
        }
    }

    /// Follows frames from `start` in the held bytes as far as they go.
    fn score_run(&self, held: &Held, start: usize) -> Run {
        let mut run = Run::default();
        let mut pos = start;
        while let Some(rest) = held.bytes.get(pos..) {
            if rest.is_empty() {
                // More bytes may continue the run.
                run.ends_clean = true;
                run.needs_more = true;
                break;
            }
            match FrameHeader::parse(rest) {
                HeaderParse::Complete(h) => {
                    if !self.plausible(&h) {
                        break;
                    }
                    let end = (pos as u64).saturating_add(u64::from(h.header_len)).saturating_add(h.payload_len);
                    if end > held.bytes.len() as u64 {
                        // The frame goes past the held bytes: plausible so far.
                        run.needs_more = true;
                        run.ends_clean = true;
                        break;
                    }
                    let end = end as usize;
                    run.complete += 1;
                    if held.is_boundary(end) {
                        run.aligned_ends += 1;
                    }
                    pos = end;
                    if run.complete >= 8 {
                        break;
                    }
                }
                HeaderParse::Incomplete { .. } => {
                    run.needs_more = true;
                    run.ends_clean = true;
                    break;
                }
            }
        }
        run
    }

    /// Drops up to `n` held bytes from the front as undecoded.
    fn drop_held(&mut self, n: usize, reason: UndecodedReason, sink: &mut dyn FrameSink) {
        let Mode::Searching { held, .. } = &mut self.mode else { return };
        let n = n.min(held.bytes.len());
        if n == 0 {
            return;
        }
        let (packet, ts) = held.packet_at(0);
        let offset = held.offset;
        held.drop_front(n);
        self.stats.pending_bytes -= n as u64;
        self.stats.undecoded_bytes += n as u64;
        sink.undecoded(UndecodedRegion { offset, len: n as u64, first_packet: packet, ts, reason });
    }
}

/// How far a run of plausible frames goes from a candidate position.
#[derive(Debug, Default)]
struct Run {
    complete: usize,
    aligned_ends: usize,
    /// The run stopped because the bytes ran out, not on a bad header.
    needs_more: bool,
    /// The run ends exactly at the end of the bytes or in a plausible
    /// unfinished frame.
    ends_clean: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect {
        frames: Vec<DecodedFrame>,
        undecoded: Vec<UndecodedRegion>,
        payload: Vec<u8>,
    }

    impl FrameSink for Collect {
        fn payload(&mut self, _h: &FrameHeader, _i: u64, _pos: u64, bytes: &[u8]) {
            self.payload.extend_from_slice(bytes);
        }
        fn frame(&mut self, frame: DecodedFrame) {
            self.frames.push(frame);
        }
        fn undecoded(&mut self, region: UndecodedRegion) {
            self.undecoded.push(region);
        }
    }

    fn frame_bytes(fin: bool, opcode: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        FrameHeader::new(fin, opcode, mask, payload.len() as u64).encode(&mut out);
        let mut p = payload.to_vec();
        if let Some(k) = mask {
            apply_mask(&mut p, k, 0);
        }
        out.extend_from_slice(&p);
        out
    }

    fn client() -> DirectionContext {
        DirectionContext { masked: Some(true), rsv1_allowed: false }
    }

    #[test]
    fn frames_split_at_every_byte() {
        let mut stream = frame_bytes(true, 1, Some([1, 2, 3, 4]), b"Hello");
        stream.extend(frame_bytes(true, 2, Some([9, 8, 7, 6]), &[0xaa; 300]));
        stream.extend(frame_bytes(true, 8, Some([5, 5, 5, 5]), &[0x03, 0xe8, b'b', b'y', b'e']));
        let mut d = FrameDecoder::in_sync(DecoderConfig::default(), client(), 0);
        let mut c = Collect::default();
        for (i, b) in stream.iter().enumerate() {
            d.data(i as u64, std::slice::from_ref(b), i as u64 + 1, Timestamp(i as i64), &mut c);
        }
        d.finish(&mut c);
        assert_eq!(c.frames.len(), 3);
        let f = &c.frames[1];
        assert_eq!((f.header.opcode, f.header.payload_len, f.stream_offset), (2, 300, 11));
        assert_eq!(f.first_packet, 12);
        assert_eq!(f.last_packet, 11 + 8 + 300);
        assert_eq!(&c.frames[2].payload, &[0x03, 0xe8, b'b', b'y', b'e']);
        let mut expected = b"Hello".to_vec();
        expected.extend([0xaa; 300]);
        expected.extend([0x03, 0xe8, b'b', b'y', b'e']);
        assert_eq!(c.payload, expected);
        let s = d.stats();
        assert_eq!(s.header_bytes + s.payload_bytes, stream.len() as u64);
        assert_eq!(s.undecoded_bytes, 0);
    }

    #[test]
    fn gap_inside_payload_keeps_sync() {
        let f1 = frame_bytes(true, 2, None, &[7; 100]);
        let f2 = frame_bytes(true, 1, None, b"after");
        let mut d = FrameDecoder::in_sync(DecoderConfig::default(), DirectionContext::default(), 0);
        let mut c = Collect::default();
        d.data(0, &f1[..20], 1, Timestamp(1), &mut c);
        d.gap(20, 50, 2, Timestamp(2), &mut c);
        d.data(70, &f1[70..], 3, Timestamp(3), &mut c);
        d.data(f1.len() as u64, &f2, 4, Timestamp(4), &mut c);
        d.finish(&mut c);
        assert_eq!(c.frames.len(), 2);
        assert_eq!(c.frames[0].gap_len, 50);
        assert_eq!(c.frames[0].captured_len, 50);
        assert_eq!(c.frames[1].payload.len(), 0);
        assert!(c.undecoded.is_empty());
        assert_eq!(d.stats().gap_bytes, 50);
    }

    #[test]
    fn gap_over_header_resyncs_without_false_frames() {
        let mut stream = Vec::new();
        let mut chunks = Vec::new();
        for i in 0..6u8 {
            let f = frame_bytes(true, 1, Some([i, 1, 2, 3]), &vec![b'a' + i; 40 + i as usize]);
            chunks.push((stream.len(), f.len()));
            stream.extend(f);
        }
        let mut d = FrameDecoder::in_sync(DecoderConfig::default(), client(), 0);
        let mut c = Collect::default();
        // Frame 0 whole, then a gap covering the end of frame 1 and the
        // header of frame 2, then the rest packet by packet.
        let gap_start = chunks[1].0 + 10;
        let gap_end = chunks[2].0 + 3;
        d.data(0, &stream[..gap_start], 1, Timestamp(1), &mut c);
        d.gap(gap_start as u64, (gap_end - gap_start) as u64, 2, Timestamp(2), &mut c);
        let mut pos = gap_end;
        // Rest of frame 2, then frames 3.. one per packet.
        for (pkt, &(s, l)) in (3u64..).zip(&chunks[2..]) {
            let end = s + l;
            d.data(pos as u64, &stream[pos..end], pkt, Timestamp(pkt as i64), &mut c);
            pos = end;
        }
        d.finish(&mut c);
        // Frames 0, 1 (with a gap) and 3, 4, 5 found; frame 2's tail skipped.
        let payload_lens: Vec<u64> = c.frames.iter().map(|f| f.header.payload_len).collect();
        assert_eq!(payload_lens, vec![40, 41, 43, 44, 45]);
        assert_eq!(c.frames[1].gap_len, 41 - (10 - 6));
        assert_eq!(c.undecoded.len(), 1);
        assert_eq!(c.undecoded[0].offset, gap_end as u64);
        assert_eq!(c.undecoded[0].len, (chunks[3].0 - gap_end) as u64);
        let s = d.stats();
        let captured = stream.len() as u64 - (gap_end - gap_start) as u64;
        assert_eq!(s.header_bytes + s.payload_bytes + s.undecoded_bytes, captured);
    }

    #[test]
    fn mid_stream_start_finds_first_boundary() {
        let big = frame_bytes(true, 2, None, &[0x42; 500]);
        let mut d =
            FrameDecoder::searching(DecoderConfig::default(), DirectionContext { masked: Some(false), rsv1_allowed: false }, 0, true);
        let mut c = Collect::default();
        // Capture starts 123 bytes into `big`; then three text frames, one
        // per packet.
        let tail = &big[123..];
        d.data(0, tail, 1, Timestamp(1), &mut c);
        let mut off = tail.len() as u64;
        for (i, text) in ["one", "two", "three"].iter().enumerate() {
            let f = frame_bytes(true, 1, None, text.as_bytes());
            d.data(off, &f, 2 + i as u64, Timestamp(2), &mut c);
            off += f.len() as u64;
        }
        d.finish(&mut c);
        assert_eq!(c.frames.len(), 3, "{:?}", c.frames);
        assert_eq!(c.undecoded[0].len, tail.len() as u64);
        assert_eq!(c.frames[2].payload, b"");
        assert!(d.ever_synced());
    }

    #[test]
    fn random_bytes_do_not_look_like_websocket() {
        // A deterministic pseudo-random stream in packet-sized chunks.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut d = FrameDecoder::searching(DecoderConfig::default(), DirectionContext::default(), 0, true);
        let mut c = Collect::default();
        let mut off = 0u64;
        for pkt in 0..200u64 {
            let chunk: Vec<u8> = (0..1400)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x >> 24) as u8
                })
                .collect();
            d.data(off, &chunk, pkt + 1, Timestamp(0), &mut c);
            off += chunk.len() as u64;
        }
        d.finish(&mut c);
        let s = d.stats();
        assert_eq!(s.undecoded_bytes + s.header_bytes + s.payload_bytes, off);
        assert!(c.frames.len() < 3, "random bytes decoded as {} frames", c.frames.len());
    }

    #[test]
    fn huge_declared_length_allocates_nothing() {
        let mut wire = Vec::new();
        let mut h = FrameHeader::new(true, 2, None, 0);
        h.length_form = LengthForm::Ext64;
        h.len7 = 127;
        h.payload_len = (1 << 63) - 1;
        h.header_len = 10;
        h.encode(&mut wire);
        wire.extend_from_slice(&[1, 2, 3]);
        let cfg = DecoderConfig { data_keep: usize::MAX, ..DecoderConfig::default() };
        let mut d = FrameDecoder::in_sync(cfg, DirectionContext::default(), 0);
        let mut c = Collect::default();
        d.data(0, &wire, 1, Timestamp(0), &mut c);
        d.finish(&mut c);
        assert_eq!(c.frames.len(), 1);
        assert!(c.frames[0].truncated);
        assert_eq!(c.frames[0].captured_len, 3);
        assert!(c.frames[0].payload.capacity() <= 4096);
    }

    #[test]
    fn partial_header_at_end_is_undecoded() {
        let mut d = FrameDecoder::in_sync(DecoderConfig::default(), DirectionContext::default(), 0);
        let mut c = Collect::default();
        d.data(0, &[0x81, 0xfe, 0x01], 1, Timestamp(0), &mut c);
        d.finish(&mut c);
        assert!(c.frames.is_empty());
        assert_eq!(c.undecoded[0].reason, UndecodedReason::PartialHeaderAtEnd);
        assert_eq!(d.stats().undecoded_bytes, 3);
    }
}
