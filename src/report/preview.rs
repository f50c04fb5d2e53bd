//! Frame payload previews (`--payloads N`): the first N bytes of a frame's
//! payload, as text when the frame carries text, else as hex.
//!
//! A compressed frame (permessage-deflate) is previewed by what it inflated
//! to: the compressed bytes say nothing to a reader. Text is cut at N bytes
//! and may end inside a UTF-8 sequence; that tail is dropped rather than
//! shown as hex. Text that is not valid UTF-8 (a 1007 in the making) is
//! shown as hex, so the bad bytes can be seen.

use crate::session::record::FrameRecord;

/// How a preview is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreviewEncoding {
    Text,
    Hex,
}

impl PreviewEncoding {
    pub const fn as_str(self) -> &'static str {
        match self {
            PreviewEncoding::Text => "text",
            PreviewEncoding::Hex => "hex",
        }
    }
}

/// The preview of a frame's first `limit` payload bytes, `None` when
/// previews are off (`limit` 0) or no payload byte was kept.
pub fn payload_preview(f: &FrameRecord, limit: usize) -> Option<(String, PreviewEncoding)> {
    if limit == 0 {
        return None;
    }
    let kept: &[u8] = if f.compressed { &f.inflated } else { &f.payload };
    let bytes = kept.get(..limit.min(kept.len())).unwrap_or(kept);
    if bytes.is_empty() {
        return None;
    }
    if f.text {
        match std::str::from_utf8(bytes) {
            Ok(s) => return Some((s.to_string(), PreviewEncoding::Text)),
            // Cut inside a sequence at the end of the kept bytes: the valid
            // part is the preview.
            Err(e) if e.error_len().is_none() => {
                let valid = bytes.get(..e.valid_up_to()).unwrap_or_default();
                return Some((String::from_utf8_lossy(valid).into_owned(), PreviewEncoding::Text));
            }
            Err(_) => {}
        }
    }
    Some((hex(bytes), PreviewEncoding::Hex))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::FrameHeader;

    fn frame(text: bool, payload: &[u8]) -> FrameRecord {
        FrameRecord {
            conn_id: 0,
            direction: crate::model::Direction::ClientToServer,
            index: 0,
            header: FrameHeader {
                fin: true,
                rsv1: false,
                rsv2: false,
                rsv3: false,
                opcode: if text { 1 } else { 2 },
                mask: None,
                len7: payload.len() as u8,
                payload_len: payload.len() as u64,
                length_form: crate::ws::LengthForm::Short,
                header_len: 2,
            },
            stream_offset: 0,
            first_packet: 1,
            last_packet: 1,
            first_ts: crate::model::Timestamp(0),
            ts: crate::model::Timestamp(0),
            captured_len: payload.len() as u64,
            gap_len: 0,
            truncated: false,
            message_index: Some(0),
            compressed: false,
            inflated_len: None,
            close_code: None,
            close_reason: None,
            payload: payload.to_vec(),
            inflated: Vec::new(),
            text,
        }
    }

    #[test]
    fn text_binary_and_cut_sequences() {
        assert_eq!(payload_preview(&frame(true, b"hello"), 0), None);
        assert_eq!(payload_preview(&frame(true, b"hello"), 3), Some(("hel".into(), PreviewEncoding::Text)));
        assert_eq!(payload_preview(&frame(false, b"\x00\xff"), 8), Some(("00ff".into(), PreviewEncoding::Hex)));
        // "é" is two bytes; a cut after the first drops it.
        assert_eq!(payload_preview(&frame(true, "aé".as_bytes()), 2), Some(("a".into(), PreviewEncoding::Text)));
        // Invalid UTF-8 in a text frame shows the bytes.
        assert_eq!(payload_preview(&frame(true, b"a\xc0\xafb"), 8), Some(("61c0af62".into(), PreviewEncoding::Hex)));
        let mut c = frame(true, b"\xf2\x48");
        c.compressed = true;
        c.inflated = b"{\"op\":1}".to_vec();
        assert_eq!(payload_preview(&c, 64), Some(("{\"op\":1}".into(), PreviewEncoding::Text)));
    }
}
