//! The catalogue of protocol rules (RFC 6455, RFC 7692) as data, and the
//! pure checks that can be made from frame headers and Close bodies alone.
//!
//! Owns: rule ids (stable: they are CSV values and test expectations), the
//! RFC section and the close code that goes with each rule, the per-direction
//! frame-sequence checker [`FrameRules`], the Close body checker
//! [`check_close_body`], close-code validity (§7.4), and Ping/Pong matching
//! ([`PongTracker`]).
//! May import: model, ws::frame, ws::opcode, ws::close, ws::utf8. Must not
//! import: flow, http, capture, session, report.
//!
//! Every check here is a pure function of what one direction sent (plus, for
//! a Pong, whether the peer's Close was already seen): no I/O, no clock, no
//! allocation from declared lengths. Which frames and bodies to feed, and how
//! to link a violation to the close it provoked, is the caller's business.
//!
//! Severity: a [`Severity::Violation`] means the sender broke a MUST of the
//! RFCs, so valid traffic never yields one. A [`Severity::Notice`] is a
//! condition worth reporting that is not the sender's fault or not certain
//! from the capture (a refused upgrade, a message over a limit, a capture
//! that lost the inflate dictionary, an inferred 1006).

use crate::model::{PacketIndex, Timestamp};
use crate::ws::close::CloseBody;
use crate::ws::frame::FrameHeader;
use crate::ws::opcode;
use crate::ws::utf8;

/// Which peer of the connection sends (or must react): the crate's one
/// `Role`.
pub use crate::model::Role;

/// Who the RFC obliges to fail the connection (§7.1.7) on this condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MustFail {
    /// The endpoint that received the offending bytes (framing rules: the
    /// peer of the sender).
    Receiver,
    /// The client, whoever sent the bytes (the opening handshake response).
    Client,
    /// The server (an invalid opening handshake request: HTTP 400/426).
    Server,
    /// Nobody: the condition is flagged, the connection may go on (data after
    /// a Close is ignored, a Pong mismatch has no reaction defined).
    Nobody,
}

impl MustFail {
    pub const fn as_str(self) -> &'static str {
        match self {
            MustFail::Receiver => "receiver",
            MustFail::Client => "client",
            MustFail::Server => "server",
            MustFail::Nobody => "nobody",
        }
    }
}

/// Whether a condition is a broken MUST or something worth reporting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Severity {
    Violation,
    Notice,
}

impl Severity {
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Violation => "violation",
            Severity::Notice => "notice",
        }
    }
}

/// The phase of the connection a rule belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Category {
    Handshake,
    Framing,
    Close,
    Deflate,
    /// Not a protocol rule: what the capture itself shows (overlaps, lost
    /// dictionary).
    Capture,
}

impl Category {
    pub const fn as_str(self) -> &'static str {
        match self {
            Category::Handshake => "handshake",
            Category::Framing => "framing",
            Category::Close => "close",
            Category::Deflate => "deflate",
            Category::Capture => "capture",
        }
    }
}

/// Everything the catalogue says about one rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleInfo {
    /// Stable id, e.g. `reserved-opcode`.
    pub id: &'static str,
    /// The section that states the rule, e.g. `RFC 6455 §5.2`.
    pub rfc: &'static str,
    /// The Close code a compliant receiver sends when it fails the
    /// connection, or `None` when no Close frame is possible or none is
    /// defined.
    pub expected_close: Option<u16>,
    /// Every close code that counts as the right reaction (the expected one
    /// first; e.g. 1002 as well as 1007 for a bad close reason, as Autobahn
    /// 7.5.1 accepts). Empty when no Close is defined.
    pub accepted_closes: &'static [u16],
    /// For opening-handshake requests: the HTTP status a compliant server
    /// answers with.
    pub expected_http: Option<u16>,
    pub must_fail: MustFail,
    pub severity: Severity,
    pub category: Category,
    /// One line, in English, for the CSV and the report.
    pub description: &'static str,
}

/// Every rule wsforensics knows. See [`Rule::info`] for the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    // Opening handshake, response side (RFC 6455 §4.1): the client fails.
    HandshakeRefused,
    MissingUpgradeHeader,
    MissingConnectionHeader,
    MissingAccept,
    BadAccept,
    ExtensionNotOffered,
    SubprotocolNotOffered,
    MalformedExtensionHeader,
    // Opening handshake, request side (RFC 6455 §4.2.1): the server answers
    // with an HTTP error.
    BadRequestLine,
    MissingHost,
    RequestMissingUpgrade,
    RequestMissingConnection,
    MissingKey,
    BadKey,
    MissingVersion,
    UnsupportedVersion,
    // Framing (RFC 6455 §5).
    UnmaskedClientFrame,
    MaskedServerFrame,
    RsvBitsWithoutExtension,
    ReservedOpcode,
    ControlFrameTooLong,
    FragmentedControlFrame,
    ContinuationWithoutMessage,
    MessageInterrupted,
    NonMinimalLength,
    LengthMsbSet,
    InvalidUtf8Text,
    MessageTooBig,
    UnsupportedData,
    PongMismatch,
    PingUnanswered,
    // Closing (RFC 6455 §5.5.1, §7).
    ClosePayloadOneByte,
    CloseReasonTooLong,
    InvalidCloseCode,
    InvalidUtf8CloseReason,
    FrameAfterClose,
    CloseUnanswered,
    PongAfterClose,
    ClientClosedTcpFirst,
    TcpNotClosedAfterClose,
    NoCloseFrame,
    CloseWithoutStatus,
    // permessage-deflate (RFC 7692).
    Rsv1OnContinuation,
    Rsv1OnControl,
    DeflateError,
    InflateCapExceeded,
    Rsv1ExtensionConflict,
    DeflateBadParameter,
    DeflateBadValue,
    DeflateDuplicateParameter,
    DeflateWindowBitsNotOffered,
    DeflateOfferNotMatched,
    // What the capture shows.
    DeflateDictionaryLost,
    TcpOverlapConflict,
}

/// Shorthand for the table below.
const fn info(
    id: &'static str,
    rfc: &'static str,
    accepted_closes: &'static [u16],
    must_fail: MustFail,
    severity: Severity,
    category: Category,
    description: &'static str,
) -> RuleInfo {
    let expected_close = match accepted_closes {
        [first, ..] => Some(*first),
        [] => None,
    };
    RuleInfo { id, rfc, expected_close, accepted_closes, expected_http: None, must_fail, severity, category, description }
}

/// A request-side handshake rule: the server answers with HTTP `status`.
const fn request(id: &'static str, rfc: &'static str, status: u16, description: &'static str) -> RuleInfo {
    let mut i = info(id, rfc, &[], MustFail::Server, Severity::Violation, Category::Handshake, description);
    i.expected_http = Some(status);
    i
}

use Category as C;
use MustFail as F;
use Severity as S;

impl Rule {
    /// Every rule, in catalogue order.
    pub const ALL: &'static [Rule] = &[
        Rule::HandshakeRefused,
        Rule::MissingUpgradeHeader,
        Rule::MissingConnectionHeader,
        Rule::MissingAccept,
        Rule::BadAccept,
        Rule::ExtensionNotOffered,
        Rule::SubprotocolNotOffered,
        Rule::MalformedExtensionHeader,
        Rule::BadRequestLine,
        Rule::MissingHost,
        Rule::RequestMissingUpgrade,
        Rule::RequestMissingConnection,
        Rule::MissingKey,
        Rule::BadKey,
        Rule::MissingVersion,
        Rule::UnsupportedVersion,
        Rule::UnmaskedClientFrame,
        Rule::MaskedServerFrame,
        Rule::RsvBitsWithoutExtension,
        Rule::ReservedOpcode,
        Rule::ControlFrameTooLong,
        Rule::FragmentedControlFrame,
        Rule::ContinuationWithoutMessage,
        Rule::MessageInterrupted,
        Rule::NonMinimalLength,
        Rule::LengthMsbSet,
        Rule::InvalidUtf8Text,
        Rule::MessageTooBig,
        Rule::UnsupportedData,
        Rule::PongMismatch,
        Rule::PingUnanswered,
        Rule::ClosePayloadOneByte,
        Rule::CloseReasonTooLong,
        Rule::InvalidCloseCode,
        Rule::InvalidUtf8CloseReason,
        Rule::FrameAfterClose,
        Rule::CloseUnanswered,
        Rule::PongAfterClose,
        Rule::ClientClosedTcpFirst,
        Rule::TcpNotClosedAfterClose,
        Rule::NoCloseFrame,
        Rule::CloseWithoutStatus,
        Rule::Rsv1OnContinuation,
        Rule::Rsv1OnControl,
        Rule::DeflateError,
        Rule::InflateCapExceeded,
        Rule::Rsv1ExtensionConflict,
        Rule::DeflateBadParameter,
        Rule::DeflateBadValue,
        Rule::DeflateDuplicateParameter,
        Rule::DeflateWindowBitsNotOffered,
        Rule::DeflateOfferNotMatched,
        Rule::DeflateDictionaryLost,
        Rule::TcpOverlapConflict,
    ];

    /// The catalogue entry. Close codes follow RFC 6455 §7.4.1 and the
    /// expectations of the Autobahn test suite (anchors-network.md §5, §6).
    pub const fn info(self) -> RuleInfo {
        match self {
            // §4.1 client requirements on the server's answer. No Close frame
            // can be sent before the handshake completes: APIs report 1006.
            Rule::HandshakeRefused => info(
                "handshake-refused",
                "RFC 6455 §4.1",
                &[],
                F::Client,
                S::Notice,
                C::Handshake,
                "the server answered the upgrade request with a status other than 101",
            ),
            Rule::MissingUpgradeHeader => info(
                "missing-upgrade-header",
                "RFC 6455 §4.1",
                &[],
                F::Client,
                S::Violation,
                C::Handshake,
                "the 101 response lacks an Upgrade header field with the value \"websocket\"",
            ),
            Rule::MissingConnectionHeader => info(
                "missing-connection-header",
                "RFC 6455 §4.1",
                &[],
                F::Client,
                S::Violation,
                C::Handshake,
                "the 101 response lacks a Connection header field containing the token \"Upgrade\"",
            ),
            Rule::MissingAccept => info(
                "missing-accept",
                "RFC 6455 §4.1",
                &[],
                F::Client,
                S::Violation,
                C::Handshake,
                "the 101 response lacks Sec-WebSocket-Accept",
            ),
            Rule::BadAccept => info(
                "bad-accept",
                "RFC 6455 §4.1, §4.2.2",
                &[],
                F::Client,
                S::Violation,
                C::Handshake,
                "Sec-WebSocket-Accept is not base64(SHA-1(Sec-WebSocket-Key + GUID))",
            ),
            Rule::ExtensionNotOffered => info(
                "extension-not-offered",
                "RFC 6455 §4.1, §9.1",
                &[],
                F::Client,
                S::Violation,
                C::Handshake,
                "the server selected an extension the client did not offer",
            ),
            Rule::SubprotocolNotOffered => info(
                "subprotocol-not-offered",
                "RFC 6455 §4.1, §11.3.4",
                &[],
                F::Client,
                S::Violation,
                C::Handshake,
                "the server selected a subprotocol the client did not offer",
            ),
            Rule::MalformedExtensionHeader => info(
                "malformed-extension-header",
                "RFC 6455 §9.1",
                &[],
                F::Receiver,
                S::Violation,
                C::Handshake,
                "Sec-WebSocket-Extensions does not follow the extension-list grammar",
            ),
            // §4.2.1 server requirements on the client's request.
            Rule::BadRequestLine => {
                request("bad-request-line", "RFC 6455 §4.2.1", 400, "the opening handshake is not a GET request of HTTP/1.1 or later")
            }
            Rule::MissingHost => request("missing-host", "RFC 6455 §4.2.1", 400, "the opening handshake request lacks a Host header field"),
            Rule::RequestMissingUpgrade => {
                request("request-missing-upgrade", "RFC 6455 §4.2.1", 400, "the opening handshake request lacks Upgrade: websocket")
            }
            Rule::RequestMissingConnection => request(
                "request-missing-connection",
                "RFC 6455 §4.2.1",
                400,
                "the opening handshake request lacks a Connection header field containing \"Upgrade\"",
            ),
            Rule::MissingKey => request("missing-key", "RFC 6455 §4.2.1", 400, "the opening handshake request lacks Sec-WebSocket-Key"),
            Rule::BadKey => request(
                "bad-key",
                "RFC 6455 §4.1, §4.2.1",
                400,
                "Sec-WebSocket-Key is not the base64 encoding of 16 bytes (or appears more than once)",
            ),
            Rule::MissingVersion => {
                request("missing-version", "RFC 6455 §4.2.1", 400, "the opening handshake request lacks Sec-WebSocket-Version")
            }
            Rule::UnsupportedVersion => request(
                "unsupported-version",
                "RFC 6455 §4.2.1, §4.4",
                426,
                "Sec-WebSocket-Version is not 13; the server answers 426 with the versions it supports",
            ),
            // §5 framing: the receiver fails the connection with 1002.
            Rule::UnmaskedClientFrame => info(
                "unmasked-client-frame",
                "RFC 6455 §5.1",
                &[1002],
                F::Receiver,
                S::Violation,
                C::Framing,
                "a client-to-server frame is not masked",
            ),
            Rule::MaskedServerFrame => info(
                "masked-server-frame",
                "RFC 6455 §5.1",
                &[1002],
                F::Receiver,
                S::Violation,
                C::Framing,
                "a server-to-client frame is masked",
            ),
            Rule::RsvBitsWithoutExtension => info(
                "rsv-bits-without-extension",
                "RFC 6455 §5.2",
                &[1002],
                F::Receiver,
                S::Violation,
                C::Framing,
                "an RSV bit is set and no negotiated extension defines it",
            ),
            Rule::ReservedOpcode => info(
                "reserved-opcode",
                "RFC 6455 §5.2",
                &[1002],
                F::Receiver,
                S::Violation,
                C::Framing,
                "the opcode is reserved (0x3-0x7, 0xB-0xF)",
            ),
            Rule::ControlFrameTooLong => info(
                "control-frame-too-long",
                "RFC 6455 §5.5",
                &[1002],
                F::Receiver,
                S::Violation,
                C::Framing,
                "a Ping or Pong payload is longer than 125 bytes",
            ),
            Rule::FragmentedControlFrame => info(
                "fragmented-control-frame",
                "RFC 6455 §5.4, §5.5",
                &[1002],
                F::Receiver,
                S::Violation,
                C::Framing,
                "a control frame has FIN = 0 (control frames must not be fragmented)",
            ),
            Rule::ContinuationWithoutMessage => info(
                "continuation-without-message",
                "RFC 6455 §5.4",
                &[1002],
                F::Receiver,
                S::Violation,
                C::Framing,
                "a continuation frame arrived with no fragmented message in progress",
            ),
            Rule::MessageInterrupted => info(
                "message-interrupted",
                "RFC 6455 §5.4",
                &[1002],
                F::Receiver,
                S::Violation,
                C::Framing,
                "a new Text or Binary frame arrived while a fragmented message was still open",
            ),
            Rule::NonMinimalLength => info(
                "non-minimal-length",
                "RFC 6455 §5.2",
                &[1002],
                F::Receiver,
                S::Violation,
                C::Framing,
                "the payload length is not in its minimal encoding",
            ),
            Rule::LengthMsbSet => info(
                "length-msb-set",
                "RFC 6455 §5.2",
                // Both websockets and ws answer 1009: the length reads as
                // larger than any limit (samples/violations-*.pcap).
                &[1002, 1009],
                F::Receiver,
                S::Violation,
                C::Framing,
                "the 64-bit payload length has its most significant bit set",
            ),
            Rule::InvalidUtf8Text => info(
                "invalid-utf8-text",
                "RFC 6455 §5.6, §8.1",
                &[1007],
                F::Receiver,
                S::Violation,
                C::Framing,
                "a text message (after reassembly and inflation) is not valid UTF-8",
            ),
            Rule::MessageTooBig => info(
                "message-too-big",
                "RFC 6455 §10.4",
                &[1009],
                F::Receiver,
                S::Notice,
                C::Framing,
                "a message larger than the receiver accepts (the size a 1009 close refers to)",
            ),
            Rule::UnsupportedData => info(
                "unsupported-data",
                "RFC 6455 §7.4.1",
                &[1003],
                F::Receiver,
                S::Notice,
                C::Framing,
                "a message of a type the receiver does not accept (the message a 1003 close refers to)",
            ),
            Rule::PongMismatch => info(
                "pong-mismatch",
                "RFC 6455 §5.5.3",
                &[],
                F::Nobody,
                S::Violation,
                C::Framing,
                "a Pong sent while Pings were outstanding does not echo any of their payloads",
            ),
            Rule::PingUnanswered => info(
                "ping-unanswered",
                "RFC 6455 §5.5.2",
                &[],
                F::Nobody,
                S::Violation,
                C::Framing,
                "a Ping was never answered with a Pong although no Close had been received",
            ),
            // §5.5.1 and §7 closing.
            Rule::ClosePayloadOneByte => info(
                "close-payload-one-byte",
                "RFC 6455 §5.5.1",
                &[1002],
                F::Receiver,
                S::Violation,
                C::Close,
                "a Close frame body of exactly one byte (a body must start with a 2-byte code)",
            ),
            Rule::CloseReasonTooLong => info(
                "close-reason-too-long",
                "RFC 6455 §5.5",
                &[1002],
                F::Receiver,
                S::Violation,
                C::Close,
                "a Close frame body longer than 125 bytes (reason over 123 bytes)",
            ),
            Rule::InvalidCloseCode => info(
                "invalid-close-code",
                "RFC 6455 §7.4.1, §7.4.2",
                &[1002],
                F::Receiver,
                S::Violation,
                C::Close,
                "the close code may not be sent (0-999, 1004-1006, 1015, 1016-2999, 5000 and above)",
            ),
            Rule::InvalidUtf8CloseReason => info(
                "invalid-utf8-close-reason",
                "RFC 6455 §5.5.1, §8.1",
                &[1007, 1002],
                F::Receiver,
                S::Violation,
                C::Close,
                "the close reason is not valid UTF-8",
            ),
            Rule::FrameAfterClose => info(
                "frame-after-close",
                "RFC 6455 §5.5.1",
                &[],
                F::Nobody,
                S::Violation,
                C::Close,
                "a data frame sent after the sender's own Close (the receiver discards it)",
            ),
            Rule::CloseUnanswered => info(
                "close-unanswered",
                "RFC 6455 §5.5.1",
                &[],
                F::Nobody,
                S::Violation,
                C::Close,
                "a Close was received and never answered with a Close (the peer reports 1006)",
            ),
            Rule::PongAfterClose => info(
                "pong-after-close",
                "RFC 6455 §5.5.2",
                &[],
                F::Nobody,
                S::Violation,
                C::Close,
                "a Pong sent after a Close had been received (Pings after Close are not answered)",
            ),
            Rule::ClientClosedTcpFirst => info(
                "client-closed-tcp-first",
                "RFC 6455 §5.5.1, §7.1.1",
                &[],
                F::Nobody,
                S::Notice,
                C::Close,
                "after the closing handshake the client closed TCP before the server did",
            ),
            Rule::TcpNotClosedAfterClose => info(
                "tcp-not-closed-after-close",
                "RFC 6455 §7.1.1",
                &[],
                F::Nobody,
                S::Notice,
                C::Close,
                "after both Close frames the server did not close the TCP connection promptly",
            ),
            Rule::NoCloseFrame => info(
                "no-close-frame",
                "RFC 6455 §7.1.5",
                &[],
                F::Nobody,
                S::Notice,
                C::Close,
                "the TCP connection ended without any Close frame: endpoints report 1006 (inferred)",
            ),
            Rule::CloseWithoutStatus => info(
                "close-without-status",
                "RFC 6455 §7.1.5",
                &[],
                F::Nobody,
                S::Notice,
                C::Close,
                "a Close frame without a status code: the receiver reports 1005 (inferred)",
            ),
            // RFC 7692.
            Rule::Rsv1OnContinuation => info(
                "rsv1-on-continuation",
                "RFC 7692 §6.1",
                &[1002],
                F::Receiver,
                S::Violation,
                C::Deflate,
                "RSV1 (Per-Message Compressed) is set on a continuation frame",
            ),
            Rule::Rsv1OnControl => info(
                "rsv1-on-control",
                "RFC 7692 §6.1",
                &[1002],
                F::Receiver,
                S::Violation,
                C::Deflate,
                "RSV1 (Per-Message Compressed) is set on a control frame",
            ),
            Rule::DeflateError => info(
                "deflate-error",
                "RFC 7692 §7.2.2",
                &[1007, 1002],
                F::Receiver,
                S::Violation,
                C::Deflate,
                "a compressed message does not inflate (corrupt data or a distance beyond the window)",
            ),
            Rule::InflateCapExceeded => info(
                "inflate-cap-exceeded",
                "RFC 6455 §10.4",
                &[1009],
                F::Receiver,
                S::Notice,
                C::Deflate,
                "a compressed message inflates beyond the analysis limit (a possible decompression bomb); inflation was stopped",
            ),
            Rule::Rsv1ExtensionConflict => info(
                "rsv1-extension-conflict",
                "RFC 7692 §5",
                &[],
                F::Client,
                S::Violation,
                C::Deflate,
                "the server accepted permessage-deflate together with another extension that uses RSV1",
            ),
            Rule::DeflateBadParameter => info(
                "deflate-bad-parameter",
                "RFC 7692 §7",
                &[],
                F::Client,
                S::Violation,
                C::Deflate,
                "the permessage-deflate response has a parameter not defined for responses",
            ),
            Rule::DeflateBadValue => info(
                "deflate-bad-value",
                "RFC 7692 §7, §7.1",
                &[],
                F::Client,
                S::Violation,
                C::Deflate,
                "a permessage-deflate parameter has an invalid value (window bits outside 8-15, a value on a flag)",
            ),
            Rule::DeflateDuplicateParameter => info(
                "deflate-duplicate-parameter",
                "RFC 7692 §7",
                &[],
                F::Client,
                S::Violation,
                C::Deflate,
                "the permessage-deflate response has the same parameter twice",
            ),
            Rule::DeflateWindowBitsNotOffered => info(
                "deflate-window-bits-not-offered",
                "RFC 7692 §7.1.2.2",
                &[],
                F::Client,
                S::Violation,
                C::Deflate,
                "the response has client_max_window_bits although the offer did not",
            ),
            Rule::DeflateOfferNotMatched => info(
                "deflate-offer-not-matched",
                "RFC 7692 §7, §7.1.1.1, §7.1.2.1",
                &[],
                F::Client,
                S::Notice,
                C::Deflate,
                "the permessage-deflate response accepts none of the client's offers as made (a configuration the client may not support)",
            ),
            Rule::DeflateDictionaryLost => info(
                "deflate-dictionary-lost",
                "RFC 7692 §7.1.1",
                &[],
                F::Nobody,
                S::Notice,
                C::Capture,
                "a compressed message refers to earlier data this capture does not hold (gap or mid-connection start)",
            ),
            Rule::TcpOverlapConflict => info(
                "tcp-overlap-conflict",
                "RFC 9293 §3.10.7.4",
                &[],
                F::Nobody,
                S::Notice,
                C::Capture,
                "overlapping TCP segments carry different bytes for the same sequence numbers",
            ),
        }
    }

    pub const fn id(self) -> &'static str {
        self.info().id
    }

    pub const fn rfc(self) -> &'static str {
        self.info().rfc
    }

    pub const fn expected_close(self) -> Option<u16> {
        self.info().expected_close
    }

    /// The rule with this id.
    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.iter().copied().find(|r| r.id() == id)
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

/// A rule broken by one frame or body, with what the CSV `detail` column
/// shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub rule: Rule,
    pub detail: String,
}

impl Violation {
    pub fn new(rule: Rule, detail: impl Into<String>) -> Violation {
        Violation { rule, detail: detail.into() }
    }
}

/// Where a frame stands in its direction's message sequence (§5.4), as
/// [`FrameRules`] judged it, so the caller assembles messages the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FramePlace {
    /// A Close, Ping or Pong.
    Control,
    /// The first frame of a data message (Text or Binary). `compressed` is
    /// its RSV1 bit when permessage-deflate is negotiated (RFC 7692 §6);
    /// `last` is FIN.
    MessageStart { opcode: u8, compressed: bool, last: bool },
    /// A continuation of the open message; `last` is FIN.
    MessageContinue { last: bool },
    /// A continuation with no open message: not part of any message.
    Orphan,
    /// A reserved opcode: its meaning is unknown, it is part of no message.
    Reserved,
}

/// What [`FrameRules::check`] found about one frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameVerdict {
    pub violations: Vec<Violation>,
    pub place: FramePlace,
}

/// The open fragmented message of a direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct OpenMessage {
    opcode: u8,
}

/// The frame-sequence rules for the frames ONE endpoint sends, checked on
/// headers only (payload rules: [`check_close_body`], [`crate::ws::utf8`],
/// [`PongTracker`]).
///
/// State: the open fragmented message (§5.4), whether this sender already
/// sent a Close (§5.5.1: no data frames after it), and whether the peer's
/// Close was already seen (§5.5.2: no Pong after receiving a Close). The
/// sender's own Close is tracked from the frames given; the peer's must be
/// reported with [`FrameRules::peer_closed`].
///
/// A frame may break several rules; each is reported once. A Close frame
/// longer than 125 bytes is `close-reason-too-long` and a Ping/Pong one is
/// `control-frame-too-long`, so one condition has one id. A second Close, and
/// a Ping after the sender's own Close, break no MUST and are not reported.
#[derive(Clone, Debug)]
pub struct FrameRules {
    sender: Option<Role>,
    deflate: bool,
    open: Option<OpenMessage>,
    close_sent: bool,
    peer_closed: bool,
}

impl FrameRules {
    /// Rules for the frames `sender` sends; `None` when the roles are unknown
    /// (masking is then not judged). `deflate`: permessage-deflate was
    /// negotiated, so RSV1 is defined on the first frame of a data message.
    pub fn new(sender: Option<Role>, deflate: bool) -> FrameRules {
        FrameRules { sender, deflate, open: None, close_sent: false, peer_closed: false }
    }

    pub fn set_deflate(&mut self, deflate: bool) {
        self.deflate = deflate;
    }

    /// The peer's Close has been seen (before the frames checked from now).
    pub fn peer_closed(&mut self) {
        self.peer_closed = true;
    }

    /// Whether this sender has sent a Close frame.
    pub fn close_sent(&self) -> bool {
        self.close_sent
    }

    /// Whether a fragmented message is open (a continuation is expected).
    pub fn message_open(&self) -> bool {
        self.open.is_some()
    }

    /// Forgets the open message: call when frame boundaries were lost (a
    /// resync), so no false `continuation-without-message` or
    /// `message-interrupted` is reported across the gap.
    pub fn lost_sync(&mut self) {
        self.open = None;
    }

    /// Checks the next frame this sender sent.
    pub fn check(&mut self, h: &FrameHeader) -> FrameVerdict {
        let mut v = Vec::new();
        let op = h.opcode;
        // §5.1: clients mask every frame, servers none.
        match (self.sender, h.mask) {
            (Some(Role::Client), None) => {
                v.push(Violation::new(Rule::UnmaskedClientFrame, format!("{} frame without a mask", opcode::name(op))))
            }
            (Some(Role::Server), Some(key)) => {
                v.push(Violation::new(Rule::MaskedServerFrame, format!("{} frame masked with key {:02x?}", opcode::name(op), key)))
            }
            _ => {}
        }
        // §5.2: RSV bits need an extension; RFC 7692 §6 defines RSV1 on the
        // first frame of a data message only (§6.1).
        let undefined_rsv = (u8::from(h.rsv1 && !self.deflate) << 2) | (u8::from(h.rsv2) << 1) | u8::from(h.rsv3);
        if undefined_rsv != 0 {
            let detail = if h.rsv1 && !self.deflate && !(h.rsv2 || h.rsv3) {
                "RSV1 set without permessage-deflate negotiated".to_string()
            } else {
                format!("RSV bits {:03b} set, no negotiated extension defines them", undefined_rsv)
            };
            v.push(Violation::new(Rule::RsvBitsWithoutExtension, detail));
        }
        if h.rsv1 && self.deflate && opcode::is_defined(op) {
            if h.is_control() {
                v.push(Violation::new(Rule::Rsv1OnControl, format!("RSV1 set on a {} frame", opcode::name(op))));
            } else if op == opcode::CONTINUATION {
                v.push(Violation::new(Rule::Rsv1OnContinuation, "RSV1 set on a continuation frame"));
            }
        }
        // §5.2: payload length encoding.
        if h.is_length_msb_set() {
            v.push(Violation::new(Rule::LengthMsbSet, format!("64-bit length 0x{:016x}", h.payload_len)));
        } else if h.is_non_minimal_length() {
            v.push(Violation::new(
                Rule::NonMinimalLength,
                format!("length {} sent in the {}-bit form", h.payload_len, h.length_form.bits()),
            ));
        }
        let place = if !opcode::is_defined(op) {
            // §5.2: reserved opcodes; nothing else about the frame is known.
            v.push(Violation::new(Rule::ReservedOpcode, format!("opcode 0x{op:x} ({})", opcode::name(op))));
            FramePlace::Reserved
        } else if h.is_control() {
            self.check_control(h, &mut v);
            FramePlace::Control
        } else {
            self.check_data(h, &mut v)
        };
        if op == opcode::CLOSE {
            self.close_sent = true;
        }
        FrameVerdict { violations: v, place }
    }

    /// §5.5: control frames are short and never fragmented.
    fn check_control(&mut self, h: &FrameHeader, v: &mut Vec<Violation>) {
        if !h.fin {
            v.push(Violation::new(Rule::FragmentedControlFrame, format!("{} frame with FIN = 0", opcode::name(h.opcode))));
        }
        if h.payload_len > 125 {
            let rule = if h.opcode == opcode::CLOSE { Rule::CloseReasonTooLong } else { Rule::ControlFrameTooLong };
            v.push(Violation::new(rule, format!("{} payload of {} bytes (limit 125)", opcode::name(h.opcode), h.payload_len)));
        }
        // §5.5.2: a Pong answers a Ping "unless it already received a Close".
        if h.opcode == opcode::PONG && self.peer_closed {
            v.push(Violation::new(Rule::PongAfterClose, "Pong sent after the peer's Close was seen"));
        }
    }

    /// §5.4 fragmentation and §5.5.1 data after Close.
    fn check_data(&mut self, h: &FrameHeader, v: &mut Vec<Violation>) -> FramePlace {
        if self.close_sent {
            v.push(Violation::new(Rule::FrameAfterClose, format!("{} frame after the sender's Close", opcode::name(h.opcode))));
        }
        if h.opcode == opcode::CONTINUATION {
            if self.open.is_none() {
                let detail = format!("continuation (FIN = {}) with no message open", u8::from(h.fin));
                v.push(Violation::new(Rule::ContinuationWithoutMessage, detail));
                return FramePlace::Orphan;
            }
            if h.fin {
                self.open = None;
            }
            return FramePlace::MessageContinue { last: h.fin };
        }
        if let Some(open) = self.open {
            v.push(Violation::new(
                Rule::MessageInterrupted,
                format!("{} frame while a fragmented {} message is open", opcode::name(h.opcode), opcode::name(open.opcode)),
            ));
        }
        self.open = (!h.fin).then_some(OpenMessage { opcode: h.opcode });
        FramePlace::MessageStart { opcode: h.opcode, compressed: h.rsv1 && self.deflate, last: h.fin }
    }
}

/// What RFC 6455 §7.4 says about a close code sent in a Close frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseCodeClass {
    /// 1000-1003, 1007-1014 (registered), 3000-4999.
    Valid,
    /// 0-999: not used (§7.4.2).
    BelowRange,
    /// 1004: reserved (§7.4.1).
    Reserved,
    /// 1005, 1006, 1015: reported locally, MUST NOT be sent (§7.4.1).
    LocalOnly,
    /// 1016-2999: reserved for future RFCs, not assigned (§7.4.2).
    Unassigned,
    /// 5000 and above: outside every range (§7.4.2).
    AboveRange,
}

impl CloseCodeClass {
    pub fn of(code: u16) -> CloseCodeClass {
        match code {
            0..=999 => CloseCodeClass::BelowRange,
            1004 => CloseCodeClass::Reserved,
            1005 | 1006 | 1015 => CloseCodeClass::LocalOnly,
            1000..=1014 | 3000..=4999 => CloseCodeClass::Valid,
            1016..=2999 => CloseCodeClass::Unassigned,
            _ => CloseCodeClass::AboveRange,
        }
    }

    pub fn is_valid(self) -> bool {
        self == CloseCodeClass::Valid
    }

    fn explain(self) -> &'static str {
        match self {
            CloseCodeClass::Valid => "valid",
            CloseCodeClass::BelowRange => "codes below 1000 are not used",
            CloseCodeClass::Reserved => "1004 is reserved",
            CloseCodeClass::LocalOnly => "reported locally only, must not be sent in a Close frame",
            CloseCodeClass::Unassigned => "1016-2999 are reserved for future RFCs and not assigned",
            CloseCodeClass::AboveRange => "codes of 5000 and above are outside every defined range",
        }
    }
}

/// Checks the body of a Close frame (§5.5.1, §7.4). `complete`: the whole
/// body was captured; when it was not, a reason cut inside a code point is
/// not an error. The body length limit is judged on the header
/// (`close-reason-too-long` from [`FrameRules::check`]).
pub fn check_close_body(body: &CloseBody, complete: bool) -> Vec<Violation> {
    let mut v = Vec::new();
    match body {
        CloseBody::Empty => {}
        CloseBody::OneByte(b) => v.push(Violation::new(Rule::ClosePayloadOneByte, format!("Close body is the single byte 0x{b:02x}"))),
        CloseBody::Status { code, reason } => {
            let class = CloseCodeClass::of(*code);
            if !class.is_valid() {
                v.push(Violation::new(Rule::InvalidCloseCode, format!("close code {code}: {}", class.explain())));
            }
            let checked = if complete { utf8::validate(reason) } else { utf8::validate_prefix(reason) };
            if let Err(e) = checked {
                v.push(Violation::new(Rule::InvalidUtf8CloseReason, format!("close reason: {e}")));
            }
        }
    }
    v
}

/// Most Pings remembered per direction; older ones are forgotten (a Pong may
/// answer only the most recent Ping, §5.5.3).
const MAX_OUTSTANDING_PINGS: usize = 16;

/// How a Pong relates to the Pings the peer sent before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PongMatch {
    /// Echoes an outstanding Ping; that Ping and every earlier one are
    /// answered (§5.5.3: answering only the most recent Ping is allowed).
    Answers,
    /// No Ping was outstanding: an unsolicited Pong, a legal heartbeat
    /// (§5.5.3).
    Unsolicited,
    /// Pings were outstanding and the Pong echoes none of them.
    Mismatch(Violation),
}

/// Matches the Pongs one endpoint sends against the Pings it received
/// (§5.5.2, §5.5.3). Heuristic by nature: a Pong that does not match while
/// Pings are outstanding may be an unsolicited heartbeat, but real peers
/// that answer Pings send the echo, so a mismatch is worth flagging.
#[derive(Clone, Debug, Default)]
pub struct PongTracker {
    /// Unanswered Pings, oldest first: payload (at most 125 bytes kept:
    /// §5.5), packet and time.
    outstanding: Vec<(Vec<u8>, PacketIndex, Timestamp)>,
    /// Pings forgotten because more than [`MAX_OUTSTANDING_PINGS`] waited.
    dropped: u64,
}

impl PongTracker {
    pub fn new() -> PongTracker {
        PongTracker::default()
    }

    /// The peer sent a Ping with this (unmasked) payload, complete at
    /// `packet`.
    pub fn ping(&mut self, payload: &[u8], packet: PacketIndex, ts: Timestamp) {
        if self.outstanding.len() == MAX_OUTSTANDING_PINGS {
            self.outstanding.remove(0);
            self.dropped += 1;
        }
        self.outstanding.push((payload.get(..125).unwrap_or(payload).to_vec(), packet, ts));
    }

    /// The oldest Ping still waiting for its Pong: its packet and time.
    pub fn oldest(&self) -> Option<(PacketIndex, Timestamp)> {
        self.outstanding.first().map(|p| (p.1, p.2))
    }

    /// This endpoint sent a Pong with this payload.
    pub fn pong(&mut self, payload: &[u8]) -> PongMatch {
        if self.outstanding.is_empty() {
            return PongMatch::Unsolicited;
        }
        let key = payload.get(..125).unwrap_or(payload);
        // The oldest Ping with this payload: Pongs usually answer Pings in
        // order, and a Pong for a later Ping also settles the earlier ones.
        match self.outstanding.iter().position(|p| p.0.as_slice() == key) {
            Some(i) => {
                self.outstanding.drain(..=i);
                PongMatch::Answers
            }
            None => {
                let last = self.outstanding.last().map_or(0, |p| p.0.len());
                let detail = format!(
                    "Pong with {} payload bytes matches none of {} outstanding Ping(s) (latest has {} bytes)",
                    payload.len(),
                    self.outstanding.len(),
                    last
                );
                PongMatch::Mismatch(Violation::new(Rule::PongMismatch, detail))
            }
        }
    }

    /// Pings still waiting for a Pong.
    pub fn unanswered(&self) -> usize {
        self.outstanding.len()
    }

    /// Pings forgotten because too many waited at once.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::frame::LengthForm;

    const KEY: Option<[u8; 4]> = Some([1, 2, 3, 4]);

    fn hdr(fin: bool, op: u8, mask: Option<[u8; 4]>, len: u64) -> FrameHeader {
        FrameHeader::new(fin, op, mask, len)
    }

    fn client(fin: bool, op: u8) -> FrameHeader {
        hdr(fin, op, KEY, 3)
    }

    fn ids(v: &[Violation]) -> Vec<&'static str> {
        v.iter().map(|x| x.rule.id()).collect()
    }

    /// Runs a client-sent frame sequence and returns each frame's rule ids.
    fn seq(deflate: bool, frames: &[FrameHeader]) -> Vec<Vec<&'static str>> {
        let mut r = FrameRules::new(Some(Role::Client), deflate);
        frames.iter().map(|h| ids(&r.check(h).violations)).collect()
    }

    fn only(deflate: bool, h: FrameHeader) -> Vec<&'static str> {
        seq(deflate, &[h]).remove(0)
    }

    #[test]
    fn catalogue_is_complete_and_consistent() {
        let issue_ids = [
            "rsv-bits-without-extension",
            "reserved-opcode",
            "fragmented-control-frame",
            "control-frame-too-long",
            "unmasked-client-frame",
            "masked-server-frame",
            "continuation-without-message",
            "message-interrupted",
            "non-minimal-length",
            "length-msb-set",
            "close-payload-one-byte",
            "invalid-close-code",
            "invalid-utf8-close-reason",
            "invalid-utf8-text",
            "frame-after-close",
            "rsv1-on-continuation",
            "rsv1-on-control",
            "deflate-error",
            "bad-accept",
            "missing-upgrade-header",
            "unsupported-version",
            "extension-not-offered",
            "subprotocol-not-offered",
            "tcp-overlap-conflict",
            // anchors-network.md §6
            "close-reason-too-long",
            "close-unanswered",
            "pong-mismatch",
            "pong-after-close",
            "missing-connection-header",
            "missing-accept",
            "missing-key",
            "bad-key",
            "message-too-big",
            "rsv1-extension-conflict",
            "deflate-bad-parameter",
            "deflate-duplicate-parameter",
            "deflate-window-bits-not-offered",
        ];
        for id in issue_ids {
            assert!(Rule::from_id(id).is_some(), "missing rule {id}");
        }
        let mut seen = std::collections::HashSet::new();
        for r in Rule::ALL {
            let i = r.info();
            assert!(seen.insert(i.id), "duplicate id {}", i.id);
            assert_eq!(Rule::from_id(i.id), Some(*r));
            assert!(i.rfc.starts_with("RFC "), "{}", i.id);
            assert!(!i.description.is_empty());
            assert!(i.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
            assert_eq!(i.expected_close, i.accepted_closes.first().copied());
            if i.must_fail == MustFail::Receiver && i.category == Category::Framing && i.severity == Severity::Violation {
                assert!(i.expected_close.is_some(), "{} needs a close code", i.id);
            }
        }
        assert_eq!(Rule::InvalidUtf8Text.expected_close(), Some(1007));
        assert_eq!(Rule::ReservedOpcode.rfc(), "RFC 6455 §5.2");
        assert_eq!(Rule::UnsupportedVersion.info().expected_http, Some(426));
        assert_eq!(Rule::BadAccept.info().must_fail, MustFail::Client);
        // Every variant is listed in ALL.
        assert_eq!(Rule::ALL.len(), Rule::TcpOverlapConflict as usize + 1);
    }

    #[test]
    fn valid_traffic_breaks_no_rule() {
        // RFC 6455 §5.6 examples and a fragmented text with a Ping inside
        // (§5.4: control frames may be injected; Autobahn 5.6).
        let frames = [
            client(true, opcode::TEXT),
            client(false, opcode::TEXT),
            client(true, opcode::PING),
            client(false, opcode::CONTINUATION),
            client(true, opcode::PONG),
            client(true, opcode::CONTINUATION),
            hdr(true, opcode::BINARY, KEY, 126),
            hdr(true, opcode::BINARY, KEY, 65536),
            hdr(true, opcode::PING, KEY, 125),
            hdr(true, opcode::CLOSE, KEY, 125),
        ];
        assert!(seq(false, &frames).iter().all(Vec::is_empty), "{:?}", seq(false, &frames));
        // Server frames unmasked.
        let mut r = FrameRules::new(Some(Role::Server), false);
        assert!(r.check(&hdr(true, opcode::TEXT, None, 5)).violations.is_empty());
        // Unknown roles: masking is not judged.
        let mut r = FrameRules::new(None, false);
        assert!(r.check(&hdr(true, opcode::TEXT, None, 5)).violations.is_empty());
        assert!(r.check(&hdr(true, opcode::TEXT, KEY, 5)).violations.is_empty());
    }

    #[test]
    fn masking_by_role() {
        assert_eq!(only(false, hdr(true, opcode::TEXT, None, 1)), ["unmasked-client-frame"]);
        assert_eq!(only(false, hdr(true, opcode::CLOSE, None, 2)), ["unmasked-client-frame"]);
        let mut r = FrameRules::new(Some(Role::Server), false);
        assert_eq!(ids(&r.check(&hdr(true, opcode::PING, KEY, 0)).violations), ["masked-server-frame"]);
    }

    #[test]
    fn rsv_bits() {
        let mut h = client(true, opcode::TEXT);
        h.rsv1 = true;
        assert_eq!(only(false, h), ["rsv-bits-without-extension"]);
        // With permessage-deflate, RSV1 on the first frame is the compressed bit.
        assert_eq!(only(true, h), Vec::<&str>::new());
        let mut r = FrameRules::new(Some(Role::Client), true);
        assert_eq!(r.check(&h).place, FramePlace::MessageStart { opcode: opcode::TEXT, compressed: true, last: true });
        // RSV2 and RSV3 are never defined (Autobahn 3.x).
        for (r2, r3) in [(true, false), (false, true), (true, true)] {
            let mut h = client(true, opcode::BINARY);
            (h.rsv2, h.rsv3) = (r2, r3);
            assert_eq!(only(true, h), ["rsv-bits-without-extension"]);
            assert_eq!(only(false, h), ["rsv-bits-without-extension"]);
        }
        // RSV1 with deflate on the first fragment of a fragmented message: legal.
        let mut first = client(false, opcode::TEXT);
        first.rsv1 = true;
        assert_eq!(seq(true, &[first, client(true, opcode::CONTINUATION)]), [Vec::<&str>::new(), vec![]]);
    }

    #[test]
    fn rsv1_on_control_and_continuation_with_deflate() {
        let mut ping = client(true, opcode::PING);
        ping.rsv1 = true;
        assert_eq!(only(true, ping), ["rsv1-on-control"]);
        // Without deflate the same frame breaks the general RSV rule only.
        assert_eq!(only(false, ping), ["rsv-bits-without-extension"]);
        let mut cont = client(true, opcode::CONTINUATION);
        cont.rsv1 = true;
        assert_eq!(seq(true, &[client(false, opcode::TEXT), cont]), [vec![], vec!["rsv1-on-continuation"]]);
    }

    #[test]
    fn reserved_opcodes() {
        for op in [3u8, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf] {
            let mut r = FrameRules::new(Some(Role::Client), false);
            let verdict = r.check(&client(true, op));
            assert_eq!(ids(&verdict.violations), ["reserved-opcode"], "opcode {op}");
            assert_eq!(verdict.place, FramePlace::Reserved);
        }
        for op in [0u8, 1, 2, 8, 9, 0xa] {
            let mut r = FrameRules::new(Some(Role::Client), false);
            if op == 0 {
                r.check(&client(false, opcode::TEXT));
            }
            assert!(r.check(&client(true, op)).violations.is_empty(), "opcode {op}");
        }
    }

    #[test]
    fn control_frame_rules() {
        assert_eq!(only(false, client(false, opcode::PING)), ["fragmented-control-frame"]);
        assert_eq!(only(false, client(false, opcode::CLOSE)), ["fragmented-control-frame"]);
        assert_eq!(only(false, hdr(true, opcode::PING, KEY, 126)), ["control-frame-too-long"]);
        assert_eq!(only(false, hdr(true, opcode::PONG, KEY, 126)), ["control-frame-too-long"]);
        assert_eq!(only(false, hdr(true, opcode::CLOSE, KEY, 126)), ["close-reason-too-long"]);
        assert_eq!(only(false, hdr(true, opcode::PING, KEY, 125)), Vec::<&str>::new());
        // A data frame may be longer than 125.
        assert_eq!(only(false, hdr(true, opcode::TEXT, KEY, 126)), Vec::<&str>::new());
    }

    #[test]
    fn fragmentation_rules() {
        // Autobahn 5.9-5.17: continuation with nothing to continue.
        assert_eq!(only(false, client(true, opcode::CONTINUATION)), ["continuation-without-message"]);
        assert_eq!(only(false, client(false, opcode::CONTINUATION)), ["continuation-without-message"]);
        let mut r = FrameRules::new(Some(Role::Client), false);
        assert_eq!(r.check(&client(false, opcode::CONTINUATION)).place, FramePlace::Orphan);
        // After a finished message, a continuation is an orphan again.
        assert_eq!(
            seq(false, &[client(false, opcode::TEXT), client(true, opcode::CONTINUATION), client(true, opcode::CONTINUATION)]),
            [vec![], vec![], vec!["continuation-without-message"]]
        );
        // Autobahn 5.18: two fragments both with opcode Text.
        assert_eq!(seq(false, &[client(false, opcode::TEXT), client(true, opcode::TEXT)]), [vec![], vec!["message-interrupted"]]);
        assert_eq!(seq(false, &[client(false, opcode::BINARY), client(false, opcode::TEXT)]), [vec![], vec!["message-interrupted"]]);
        // Control frames between fragments are legal and do not close the message.
        let mut r = FrameRules::new(Some(Role::Client), false);
        r.check(&client(false, opcode::TEXT));
        assert_eq!(r.check(&client(true, opcode::PING)).place, FramePlace::Control);
        assert!(r.message_open());
        assert_eq!(r.check(&client(true, opcode::CONTINUATION)).place, FramePlace::MessageContinue { last: true });
        assert!(!r.message_open());
        // A resync forgets the open message.
        r.check(&client(false, opcode::TEXT));
        r.lost_sync();
        assert!(r.check(&client(true, opcode::TEXT)).violations.is_empty());
    }

    #[test]
    fn length_encoding_rules() {
        let mut h = client(true, opcode::BINARY);
        (h.length_form, h.len7, h.payload_len) = (LengthForm::Ext16, 126, 5);
        assert_eq!(only(false, h), ["non-minimal-length"]);
        (h.length_form, h.len7, h.payload_len) = (LengthForm::Ext64, 127, 0xffff);
        assert_eq!(only(false, h), ["non-minimal-length"]);
        (h.length_form, h.payload_len) = (LengthForm::Ext64, 0x10000);
        assert_eq!(only(false, h), Vec::<&str>::new());
        h.payload_len = 1 << 63;
        assert_eq!(only(false, h), ["length-msb-set"]);
        (h.length_form, h.len7, h.payload_len) = (LengthForm::Ext16, 126, 126);
        assert_eq!(only(false, h), Vec::<&str>::new());
    }

    #[test]
    fn frames_after_close() {
        let close = client(true, opcode::CLOSE);
        assert_eq!(
            seq(
                false,
                &[close, client(true, opcode::TEXT), client(true, opcode::PING), client(true, opcode::PONG), client(true, opcode::CLOSE)]
            ),
            [vec![], vec!["frame-after-close"], vec![], vec![], vec![]]
        );
        // Pong after the peer's Close (Autobahn 7.1.3); before it, fine.
        let mut r = FrameRules::new(Some(Role::Client), false);
        assert!(r.check(&client(true, opcode::PONG)).violations.is_empty());
        r.peer_closed();
        assert_eq!(ids(&r.check(&client(true, opcode::PONG)).violations), ["pong-after-close"]);
        assert!(!r.close_sent());
        assert!(r.check(&client(true, opcode::CLOSE)).violations.is_empty());
        assert!(r.close_sent());
    }

    #[test]
    fn several_rules_on_one_frame() {
        let mut h = hdr(false, opcode::PING, None, 200);
        h.rsv2 = true;
        let got = only(false, h);
        for id in ["unmasked-client-frame", "rsv-bits-without-extension", "fragmented-control-frame", "control-frame-too-long"] {
            assert!(got.contains(&id), "{got:?} lacks {id}");
        }
        assert_eq!(got.len(), 4);
    }

    #[test]
    fn close_codes() {
        for code in [1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999] {
            assert!(CloseCodeClass::of(code).is_valid(), "{code}");
            assert!(check_close_body(&CloseBody::Status { code, reason: b"ok".to_vec() }, true).is_empty(), "{code}");
        }
        // Autobahn 7.9.x and 7.13.x.
        for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535] {
            let v = check_close_body(&CloseBody::Status { code, reason: vec![] }, true);
            assert_eq!(ids(&v), ["invalid-close-code"], "{code}");
        }
        assert_eq!(CloseCodeClass::of(1005), CloseCodeClass::LocalOnly);
        assert_eq!(CloseCodeClass::of(2000), CloseCodeClass::Unassigned);
    }

    #[test]
    fn close_bodies() {
        assert!(check_close_body(&CloseBody::Empty, true).is_empty());
        assert_eq!(ids(&check_close_body(&CloseBody::parse(&[0x03]), true)), ["close-payload-one-byte"]);
        // Autobahn 7.5.1: invalid UTF-8 reason.
        let bad = CloseBody::parse(b"\x03\xe8\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited");
        assert_eq!(ids(&check_close_body(&bad, true)), ["invalid-utf8-close-reason"]);
        // A reason cut inside a code point by the capture is not an error.
        let cut = CloseBody::parse(b"\x03\xe8ok\xe2\x82");
        assert!(check_close_body(&cut, false).is_empty());
        assert_eq!(ids(&check_close_body(&cut, true)), ["invalid-utf8-close-reason"]);
        // Both code and reason bad.
        let both = CloseBody::parse(b"\x03\xed\xff");
        assert_eq!(ids(&check_close_body(&both, true)), ["invalid-close-code", "invalid-utf8-close-reason"]);
        // A 123-byte reason is fine (Autobahn 7.3.5).
        let mut long = vec![0x03, 0xe8];
        long.extend(std::iter::repeat_n(b'a', 123));
        assert!(check_close_body(&CloseBody::parse(&long), true).is_empty());
    }

    #[test]
    fn pong_matching() {
        let mut t = PongTracker::new();
        assert_eq!(t.pong(b"heartbeat"), PongMatch::Unsolicited);
        t.ping(b"a", 1, Timestamp(0));
        t.ping(b"b", 1, Timestamp(0));
        // Answering only the latest Ping answers both (§5.5.3).
        assert_eq!(t.pong(b"b"), PongMatch::Answers);
        assert_eq!(t.unanswered(), 0);
        t.ping(b"abc", 1, Timestamp(0));
        match t.pong(b"") {
            PongMatch::Mismatch(v) => assert_eq!(v.rule, Rule::PongMismatch),
            other => panic!("expected a mismatch, got {other:?}"),
        }
        assert_eq!(t.unanswered(), 1);
        assert_eq!(t.pong(b"abc"), PongMatch::Answers);
        for i in 0..40u8 {
            t.ping(&[i], 1, Timestamp(0));
        }
        assert_eq!((t.unanswered(), t.dropped()), (MAX_OUTSTANDING_PINGS, 40 - MAX_OUTSTANDING_PINGS as u64));
        // Oversized Ping payloads are compared on their first 125 bytes.
        let mut t = PongTracker::new();
        t.ping(&[7; 300], 1, Timestamp(0));
        assert_eq!(t.pong(&[7; 300]), PongMatch::Answers);
    }
}
