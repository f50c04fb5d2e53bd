//! The records the analysis produces: one per connection, per frame, per
//! close frame, and per finding about the capture or the protocol. They are
//! plain data; `report` formats them.

use crate::model::{ConnId, Direction, Endpoint, PacketIndex, Timestamp};
use crate::ws::FrameHeader;

/// How the WebSocket opening handshake looked in the capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandshakeState {
    /// A request asking for `Upgrade: websocket` was answered with 101.
    Ok,
    /// The upgrade was asked for and refused (non-101), or never answered.
    Failed,
    /// No handshake was captured; the connection was recognised from its frames.
    Missing,
}

impl HandshakeState {
    pub const fn as_str(self) -> &'static str {
        match self {
            HandshakeState::Ok => "ok",
            HandshakeState::Failed => "failed",
            HandshakeState::Missing => "missing",
        }
    }
}

/// How the TCP connection ended, as far as the capture shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Termination {
    /// Close frames both ways.
    CloseHandshake,
    /// One side sent a Close and the other never answered with one.
    CloseUnanswered,
    /// No Close frame; the TCP connection ended with FIN.
    Fin,
    /// No Close frame; the TCP connection was reset.
    Rst,
    /// No Close frame and no FIN/RST: the capture ended first.
    CaptureEnd,
}

impl Termination {
    pub const fn as_str(self) -> &'static str {
        match self {
            Termination::CloseHandshake => "close_handshake",
            Termination::CloseUnanswered => "close_unanswered",
            Termination::Fin => "fin",
            Termination::Rst => "rst",
            Termination::CaptureEnd => "capture_end",
        }
    }
}

/// What the handshake said, for the connection record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HandshakeInfo {
    pub method: String,
    pub path: String,
    pub host: String,
    pub origin: String,
    pub user_agent: String,
    pub key: String,
    pub version: String,
    /// Subprotocols the client offered.
    pub protocols_offered: String,
    /// Extensions the client offered.
    pub extensions_offered: String,
    /// HTTP status of the answer (0 when none was captured).
    pub status: u16,
    /// Subprotocol the server selected.
    pub subprotocol: String,
    /// Extensions the server agreed to.
    pub extensions: String,
    pub accept: String,
    /// `Sec-WebSocket-Accept` matches the key: `Some(true/false)`, or `None`
    /// when it could not be checked (no key or no answer).
    pub accept_valid: Option<bool>,
    /// Packet carrying the end of the request head, and of the response head.
    pub request_packet: Option<PacketIndex>,
    pub response_packet: Option<PacketIndex>,
    pub request_ts: Option<Timestamp>,
    pub response_ts: Option<Timestamp>,
    /// Every request header, for matching log events later (X-Request-Id...).
    pub request_headers: crate::http::Headers,
}

/// Per-direction byte accounting: every captured payload byte of the
/// direction is in exactly one of handshake, frame headers, frame payload,
/// undecoded or duplicate; gap bytes were never captured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ByteAccount {
    /// TCP payload bytes in the capture, retransmissions included.
    pub captured: u64,
    /// HTTP heads (and bodies of HTTP exchanges before the upgrade).
    pub handshake: u64,
    pub frame_headers: u64,
    pub frame_payload: u64,
    /// Captured but not decodable as frames (see the findings for reasons).
    pub undecoded: u64,
    /// Retransmitted copies of bytes already counted.
    pub duplicate: u64,
    /// Never captured (holes in the sequence space, snaplen cuts).
    pub gap: u64,
}

impl ByteAccount {
    /// The accounted bytes; equals `captured` when nothing was lost.
    pub fn accounted(&self) -> u64 {
        self.handshake + self.frame_headers + self.frame_payload + self.undecoded + self.duplicate
    }
}

/// One WebSocket connection (a row of connections.csv).
#[derive(Clone, Debug)]
pub struct ConnectionRecord {
    pub conn_id: ConnId,
    pub community_id: String,
    pub client: Endpoint,
    pub server: Endpoint,
    /// How the roles were decided (SYN, HTTP request, masking, port).
    pub roles_from: &'static str,
    pub first_packet: PacketIndex,
    pub last_packet: PacketIndex,
    pub start_ts: Timestamp,
    pub end_ts: Timestamp,
    pub handshake: HandshakeState,
    pub http: HandshakeInfo,
    /// Per direction, indexed by `Direction::index()`.
    pub frames: [u64; 2],
    pub messages: [u64; 2],
    pub payload_bytes: [u64; 2],
    /// The first Close frame sent in each direction.
    pub closes: [Option<CloseSeen>; 2],
    pub close_initiator: Option<Direction>,
    pub termination: Termination,
    pub fin_packet: [Option<PacketIndex>; 2],
    pub fin_ts: [Option<Timestamp>; 2],
    pub rst_packet: Option<PacketIndex>,
    pub rst_ts: Option<Timestamp>,
    pub rst_from: Option<Direction>,
    pub bytes: [ByteAccount; 2],
}

impl ConnectionRecord {
    /// Status code of the Close sent in `dir`, if it had one.
    pub fn close_code(&self, dir: Direction) -> Option<u16> {
        self.closes[dir.index()].as_ref().and_then(|c| c.code)
    }
}

/// A Close frame as the connection record keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseSeen {
    /// `None` when the frame carries no status (the peer reports 1005).
    pub code: Option<u16>,
    pub reason: String,
    pub packet: PacketIndex,
    pub ts: Timestamp,
    pub frame_index: u64,
}

/// One WebSocket frame (a row of frames.csv).
#[derive(Clone, Debug)]
pub struct FrameRecord {
    pub conn_id: ConnId,
    pub direction: Direction,
    pub index: u64,
    pub header: FrameHeader,
    pub stream_offset: u64,
    pub first_packet: PacketIndex,
    pub last_packet: PacketIndex,
    pub first_ts: Timestamp,
    pub ts: Timestamp,
    pub captured_len: u64,
    pub gap_len: u64,
    pub truncated: bool,
    /// 0-based index of the data message this frame belongs to (per
    /// direction); `None` for control frames and orphan continuations.
    pub message_index: Option<u64>,
    /// The frame belongs to a permessage-deflate compressed message.
    pub compressed: bool,
    /// Bytes this frame's payload inflated to (compressed messages).
    pub inflated_len: Option<u64>,
    /// Close frames: the status code and reason.
    pub close_code: Option<u16>,
    pub close_reason: Option<String>,
    /// Kept payload bytes (control frames whole, data frames' preview).
    pub payload: Vec<u8>,
    /// Compressed frames: the first bytes the payload inflated to (as many
    /// as the preview keeps of `payload`).
    pub inflated: Vec<u8>,
    /// The frame carries text: a Text frame or a continuation of a Text
    /// message.
    pub text: bool,
}

/// A data message (a row of messages.csv): a Text or Binary frame and its
/// continuations (RFC 6455 §5.4).
#[derive(Clone, Debug)]
pub struct MessageRecord {
    pub conn_id: ConnId,
    pub direction: Direction,
    /// 0-based per connection and direction.
    pub index: u64,
    /// Opcode of the first frame (1 text, 2 binary).
    pub opcode: u8,
    pub frames: u64,
    /// Sum of the frames' declared payload lengths (compressed size when
    /// permessage-deflate compressed the message).
    pub payload_len: u64,
    pub first_frame: u64,
    pub last_frame: u64,
    pub first_packet: PacketIndex,
    pub last_packet: PacketIndex,
    pub first_ts: Timestamp,
    pub ts: Timestamp,
    /// The final fragment (FIN) was seen; false when a new message
    /// interrupted it or the stream ended first.
    pub complete: bool,
    /// RSV1 on the first frame: compressed by permessage-deflate (RFC 7692 §6).
    pub compressed: bool,
    /// Size after inflation, when the message was compressed and inflated
    /// whole.
    pub inflated_len: Option<u64>,
}

/// A close of a connection (a row of closes.csv): a Close frame, or the
/// abnormal closure (1006) inferred when the connection ended without one.
#[derive(Clone, Debug)]
pub struct CloseRecord {
    pub conn_id: ConnId,
    /// Who sent the Close (for an inferred 1006: who ended TCP first).
    pub direction: Direction,
    /// The Close frame's index in its direction; `None` for an inferred 1006.
    pub frame_index: Option<u64>,
    pub ts: Timestamp,
    pub packet: PacketIndex,
    /// The status code on the wire: `None` when the Close frame carries no
    /// status (the peer reports 1005); 1006 for an inferred abnormal closure.
    pub code: Option<u16>,
    pub reason: String,
    /// The first close of the connection.
    pub initiator: bool,
    /// The code the endpoints report was inferred, not read from the wire
    /// (1005: a Close without status; 1006: no Close frame at all).
    pub inferred: bool,
    /// What an endpoint's API reports for this close (RFC 6455 §7.1.5).
    pub reported_code: u16,
    /// Why the connection closed, in words.
    pub diagnosis: String,
    /// The violation or event that caused this close, if one was found.
    pub cause_rule: Option<&'static str>,
    pub cause_packet: Option<PacketIndex>,
    /// For a Close frame: whether the peer answered with its own Close.
    pub answered: Option<bool>,
    /// Seconds from this close to the peer's Close.
    pub answer_delay_s: Option<f64>,
    /// Seconds from this close to the TCP FIN or RST that ended the
    /// connection.
    pub tcp_end_delay_s: Option<f64>,
}

/// A breach of RFC 6455 / RFC 7692 (a row of violations.csv).
#[derive(Clone, Debug)]
pub struct ViolationRecord {
    pub conn_id: ConnId,
    /// The direction of the offending bytes (their sender).
    pub direction: Direction,
    /// Index of the offending frame, if the breach is in a frame.
    pub frame_index: Option<u64>,
    pub ts: Timestamp,
    pub packet: Option<PacketIndex>,
    /// Stable rule id, e.g. `reserved-opcode`.
    pub rule: &'static str,
    /// e.g. "RFC 6455 §5.2".
    pub rfc_section: &'static str,
    /// The close code a compliant receiver answers with, if any.
    pub expected_close: Option<u16>,
    pub detail: String,
}

/// Something the analysis noticed about the capture or the traffic that is
/// not a frame: gaps, undecodable bytes, overlap conflicts, handshake
/// problems. `kind` is a stable id.
#[derive(Clone, Debug)]
pub struct Finding {
    pub conn_id: Option<ConnId>,
    pub direction: Option<Direction>,
    pub kind: &'static str,
    pub packet: Option<PacketIndex>,
    pub ts: Option<Timestamp>,
    pub stream_offset: Option<u64>,
    pub len: Option<u64>,
    pub detail: String,
}

/// Receives records as the analysis produces them.
pub trait RecordSink {
    fn connection(&mut self, rec: ConnectionRecord);
    fn frame(&mut self, rec: FrameRecord);
    fn message(&mut self, rec: MessageRecord);
    fn close(&mut self, rec: CloseRecord);
    fn violation(&mut self, rec: ViolationRecord);
    fn finding(&mut self, rec: Finding);
}
