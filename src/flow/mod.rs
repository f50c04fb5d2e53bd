//! TCP connections and their byte streams: which packets belong to which
//! connection (numbered like Wireshark's `tcp.stream`), and the reassembled
//! bytes of each direction, with every capture defect reported as data.
//!
//! Owns: [`FlowTable`] (4-tuple -> [`crate::model::ConnId`], port reuse, eviction),
//! [`Reassembler`] (one direction: ordering, overlaps, gaps) and
//! [`TcpStreamPair`] (both directions of one connection, ACKs fed across).
//!
//! May import: [`crate::model`] and std only. Must not import `decode` (the
//! caller adapts its segments into [`SegmentIn`]), nor `http`, `ws` or
//! anything that formats or logs: anomalies leave this module as
//! [`StreamEvent`]s and [`StreamStats`] counters, never as `Err` or log lines.
//!
//! Typical use on the reader thread:
//!
//! ```
//! use std::collections::HashMap;
//! use wsforensics::flow::{FlowTable, ReassemblyConfig, SegmentIn, TcpStreamPair};
//! use wsforensics::model::Timestamp;
//!
//! let mut table = FlowTable::default();
//! let mut pairs: HashMap<u64, TcpStreamPair> = HashMap::new();
//! let client = "10.0.0.1:40000".parse().unwrap();
//! let server = "10.0.0.2:80".parse().unwrap();
//! let seg = SegmentIn { seq: 1000, syn: true, packet: 1, ts: Timestamp(0), ..Default::default() };
//!
//! let hit = table.lookup(client, server, &seg);
//! if let Some(old) = hit.superseded {
//!     // Port reuse: the previous connection on this 4-tuple is over.
//!     if let Some(mut pair) = pairs.remove(&old) {
//!         pair.finish(&mut |_side, _event| {});
//!     }
//! }
//! let pair = pairs
//!     .entry(hit.conn)
//!     .or_insert_with(|| TcpStreamPair::new(ReassemblyConfig::default()));
//! pair.segment(hit.from_opener, &seg, &mut |side, event| {
//!     let _ = (side, event); // hand to the HTTP / WebSocket stage
//! });
//!
//! let mut evicted = Vec::new();
//! table.expire(seg.ts, &mut evicted); // cheap; call every packet or every N packets
//! for conn in evicted {
//!     if let Some(mut pair) = pairs.remove(&conn) {
//!         pair.finish(&mut |_side, _event| {});
//!     }
//! }
//! ```

mod pair;
mod reassembly;
mod table;

#[cfg(test)]
mod proptests;

pub use pair::TcpStreamPair;
pub use reassembly::{Reassembler, ReassemblyConfig, StreamStats};
pub use table::{FlowLookup, FlowTable, FlowTableConfig};

use crate::model::{PacketIndex, Timestamp};

/// One TCP segment as the flow stage needs it: the lead adapts the decoder's
/// segment into this, so `flow` does not depend on `decode`.
///
/// `payload` holds the bytes present in the capture; `missing_len` the bytes
/// the segment carried on the wire but the capture cut off (snaplen). The
/// segment occupies `syn + payload.len() + missing_len + fin` sequence numbers
/// starting at `seq` (RFC 9293 §3.4: SYN and FIN each consume one).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SegmentIn<'a> {
    /// Sequence number (SEG.SEQ).
    pub seq: u32,
    /// Acknowledgment number (SEG.ACK), `None` when the ACK flag is clear.
    pub ack: Option<u32>,
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
    /// Captured payload bytes.
    pub payload: &'a [u8],
    /// Payload bytes on the wire beyond `payload` that were not captured.
    pub missing_len: u32,
    /// The packet carrying the segment.
    pub packet: PacketIndex,
    pub ts: Timestamp,
}

/// The two sides of a connection as first seen in the capture, before any
/// client/server role is known: the `Opener` sent the connection's first
/// captured packet (usually the SYN), the `Responder` is the other side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    Opener,
    Responder,
}

impl Side {
    pub const BOTH: [Side; 2] = [Side::Opener, Side::Responder];

    /// `Opener` when `from_opener`, else `Responder` (see [`FlowLookup`]).
    pub const fn from_opener(from_opener: bool) -> Side {
        if from_opener { Side::Opener } else { Side::Responder }
    }

    pub const fn other(self) -> Side {
        match self {
            Side::Opener => Side::Responder,
            Side::Responder => Side::Opener,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Side::Opener => "opener",
            Side::Responder => "responder",
        }
    }
}

/// Why a range of a stream has no bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GapReason {
    /// The receiver acknowledged bytes the capture never saw: lost at the
    /// capture point (RFC 9293 §3.4: an ACK covers every byte before it).
    NotCaptured,
    /// The packet was truncated by the capture's snapshot length.
    SnaplenCut,
    /// Too much out-of-order data was waiting for this hole; it was given up
    /// so later data could be delivered.
    BufferLimit,
    /// The connection ended (or was flushed) with this hole still open.
    StreamEnd,
}

impl GapReason {
    /// Stable snake_case name for reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            GapReason::NotCaptured => "not_captured",
            GapReason::SnaplenCut => "snaplen_cut",
            GapReason::BufferLimit => "buffer_limit",
            GapReason::StreamEnd => "stream_end",
        }
    }
}

/// What one direction's reassembler reports, in stream order.
///
/// `Data` and `Gap` tile the stream: each starts at the offset where the
/// previous one ended, beginning at 0. Offsets are stream offsets: 0 is the
/// first byte after the SYN (ISN + 1), or the first byte seen when the SYN was
/// not captured. `Fin` comes after the last `Data`/`Gap` before the FIN, at
/// the offset where they ended. `Rst` and `OverlapConflict` carry no position
/// in the tiling and may appear between them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamEvent<'a> {
    /// Bytes `offset .. offset + bytes.len()`, all carried by `packet`.
    Data { offset: u64, bytes: &'a [u8], packet: PacketIndex, ts: Timestamp },
    /// `len` bytes at `offset` that will never be delivered.
    Gap { offset: u64, len: u64, packet: PacketIndex, ts: Timestamp, reason: GapReason },
    /// The sender's FIN (RFC 9293 §3.6): no data follows `offset`.
    Fin { offset: u64, packet: PacketIndex, ts: Timestamp },
    /// The sender reset the connection (RFC 9293 §3.5.2). Emitted when first
    /// seen; out-of-order data still buffered is delivered later by
    /// [`TcpStreamPair::finish`].
    Rst { packet: PacketIndex, ts: Timestamp },
    /// `packet` carried bytes for `offset .. offset + len` that differ from the
    /// copy already received from `first_packet`. The first copy is kept (as
    /// Wireshark and most stacks do); the span runs from the first to the last
    /// differing byte of that overlap.
    OverlapConflict { offset: u64, len: u64, packet: PacketIndex, ts: Timestamp, first_packet: PacketIndex },
}
