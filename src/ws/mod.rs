//! WebSocket framing (RFC 6455 §5) and close codes (§7.4).
//!
//! Owns: the frame header, the incremental per-direction decoder, opcode and
//! close-code vocabulary.
//! May import: model. Must not import: flow, http, capture, session, report.

pub mod close;
pub mod decoder;
pub mod deflate;
pub mod frame;
pub mod kb;
pub mod rules;
pub mod utf8;

pub use decoder::{DecodedFrame, DecoderConfig, DecoderStats, DirectionContext, FrameDecoder, FrameSink, UndecodedReason, UndecodedRegion};
pub use frame::{FrameHeader, HeaderParse, LengthForm};

/// Opcode values (RFC 6455 §5.2, §11.8).
pub mod opcode {
    pub const CONTINUATION: u8 = 0x0;
    pub const TEXT: u8 = 0x1;
    pub const BINARY: u8 = 0x2;
    pub const CLOSE: u8 = 0x8;
    pub const PING: u8 = 0x9;
    pub const PONG: u8 = 0xa;

    /// Name as used in the CSV `opcode_name` column.
    pub fn name(op: u8) -> &'static str {
        match op {
            CONTINUATION => "continuation",
            TEXT => "text",
            BINARY => "binary",
            CLOSE => "close",
            PING => "ping",
            PONG => "pong",
            3..=7 => "reserved-data",
            _ => "reserved-control",
        }
    }

    /// Whether the opcode is defined by RFC 6455 (not reserved).
    pub fn is_defined(op: u8) -> bool {
        matches!(op, CONTINUATION | TEXT | BINARY | CLOSE | PING | PONG)
    }
}

#[cfg(test)]
mod proptests;
