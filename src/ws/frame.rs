//! The WebSocket frame header (RFC 6455 §5.2): a zero-copy parse of the wire
//! bytes into a small owned [`FrameHeader`].
//!
//! Owns: header layout, payload-length forms, masking.
//! May import: model. Must not import: anything that knows about TCP,
//! connections or files.
//!
//! Parsing never fails on content: every combination of bits is a header
//! that some peer may have sent, and whether it breaks a rule is a verdict
//! made later (`validate`). The only outcome besides a header is "not enough
//! bytes yet".
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Extended payload length continued, if payload len == 127  |
//! + - - - - - - - - - - - - - - - +-------------------------------+
//! |                               |Masking-key, if MASK set to 1  |
//! +-------------------------------+-------------------------------+
//! | Masking-key (continued)       |          Payload Data         |
//! +-------------------------------- - - - - - - - - - - - - - - - +
//! ```

/// Byte positions and bit masks of the fixed part of the header.
mod field {
    /// FIN: this is the final fragment of a message (§5.2).
    pub const FIN: u8 = 0x80;
    /// RSV1, RSV2, RSV3: reserved for extensions; RSV1 is permessage-deflate's
    /// "Per-Message Compressed" bit (RFC 7692 §6).
    pub const RSV1: u8 = 0x40;
    pub const RSV2: u8 = 0x20;
    pub const RSV3: u8 = 0x10;
    /// Opcode, low nibble of byte 0.
    pub const OPCODE: u8 = 0x0f;
    /// MASK bit, high bit of byte 1.
    pub const MASK: u8 = 0x80;
    /// 7-bit payload length, low bits of byte 1.
    pub const LEN7: u8 = 0x7f;
    /// Length of the fixed part.
    pub const FIXED_LEN: usize = 2;
    /// The longest possible header: 2 + 8 (64-bit length) + 4 (masking key).
    pub const MAX_LEN: usize = 14;
}

/// Longest possible frame header in bytes.
pub const MAX_HEADER_LEN: usize = field::MAX_LEN;

/// How the payload length was encoded on the wire (§5.2 "Payload length").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LengthForm {
    /// The 7-bit field holds the length (0-125).
    Short,
    /// The 7-bit field is 126 and a 16-bit length follows.
    Ext16,
    /// The 7-bit field is 127 and a 64-bit length follows.
    Ext64,
}

impl LengthForm {
    /// Bits of the length field as the RFC counts them: 7, 16 or 64.
    pub const fn bits(self) -> u8 {
        match self {
            LengthForm::Short => 7,
            LengthForm::Ext16 => 16,
            LengthForm::Ext64 => 64,
        }
    }
}

/// A parsed frame header. Owned and `Copy`: everything past the parser works
/// with this value, not with the wire bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN bit (§5.2): final fragment of a message.
    pub fin: bool,
    /// RSV1 (§5.2; permessage-deflate's compressed bit, RFC 7692 §6).
    pub rsv1: bool,
    /// RSV2 (§5.2), no registered extension uses it.
    pub rsv2: bool,
    /// RSV3 (§5.2), no registered extension uses it.
    pub rsv3: bool,
    /// Opcode 0-15 (§5.2; §11.8 registry).
    pub opcode: u8,
    /// Masking key when the MASK bit is set (§5.3).
    pub mask: Option<[u8; 4]>,
    /// The 7-bit length field as sent (0-127), for oracles that show it.
    pub len7: u8,
    /// Payload length in bytes, as declared (§5.2). Up to 2^64-1: never used
    /// to allocate.
    pub payload_len: u64,
    /// Which length encoding the sender chose.
    pub length_form: LengthForm,
    /// Header length in bytes: 2, 4, 6, 8, 10 or 14.
    pub header_len: u8,
}

/// Result of trying to parse a header from the front of a byte slice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderParse {
    /// A whole header; its length is `header.header_len`.
    Complete(FrameHeader),
    /// The slice holds the start of a header; this many bytes in total are
    /// needed to know it (never more than [`MAX_HEADER_LEN`]).
    Incomplete { needed: usize },
}

impl FrameHeader {
    /// Parses a header from the start of `bytes`.
    pub fn parse(bytes: &[u8]) -> HeaderParse {
        let (b0, b1) = match bytes {
            [b0, b1, ..] => (*b0, *b1),
            _ => return HeaderParse::Incomplete { needed: field::FIXED_LEN },
        };
        let masked = b1 & field::MASK != 0;
        let len7 = b1 & field::LEN7;
        let (length_form, ext_len) = match len7 {
            126 => (LengthForm::Ext16, 2),
            127 => (LengthForm::Ext64, 8),
            _ => (LengthForm::Short, 0),
        };
        let header_len = field::FIXED_LEN + ext_len + if masked { 4 } else { 0 };
        let Some(rest) = bytes.get(field::FIXED_LEN..header_len) else {
            return HeaderParse::Incomplete { needed: header_len };
        };
        let (ext, key) = rest.split_at(ext_len);
        let payload_len = match length_form {
            LengthForm::Short => u64::from(len7),
            // Both extended forms are network byte order (§5.2).
            LengthForm::Ext16 | LengthForm::Ext64 => ext.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)),
        };
        let mask = match key {
            [a, b, c, d] => Some([*a, *b, *c, *d]),
            _ => None,
        };
        HeaderParse::Complete(FrameHeader {
            fin: b0 & field::FIN != 0,
            rsv1: b0 & field::RSV1 != 0,
            rsv2: b0 & field::RSV2 != 0,
            rsv3: b0 & field::RSV3 != 0,
            opcode: b0 & field::OPCODE,
            mask,
            len7,
            payload_len,
            length_form,
            header_len: header_len as u8,
        })
    }

    /// RSV1..RSV3 as one 3-bit value (RSV1 = 4), as tshark's `websocket.rsv`.
    pub fn rsv_bits(&self) -> u8 {
        (u8::from(self.rsv1) << 2) | (u8::from(self.rsv2) << 1) | u8::from(self.rsv3)
    }

    /// Control frames have the high bit of the opcode set (§5.5).
    pub fn is_control(&self) -> bool {
        self.opcode & 0x08 != 0
    }

    /// The length was not sent in its shortest form (§5.2 "the minimal number
    /// of bytes MUST be used").
    pub fn is_non_minimal_length(&self) -> bool {
        match self.length_form {
            LengthForm::Short => false,
            LengthForm::Ext16 => self.payload_len <= 125,
            LengthForm::Ext64 => self.payload_len <= 0xffff,
        }
    }

    /// The 64-bit length has its most significant bit set (§5.2 "the most
    /// significant bit MUST be 0").
    pub fn is_length_msb_set(&self) -> bool {
        self.length_form == LengthForm::Ext64 && self.payload_len >> 63 != 0
    }

    /// Serializes the header (for tests, the capture generator and fuzzing).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let b0 = (u8::from(self.fin) << 7) | (self.rsv_bits() << 4) | (self.opcode & field::OPCODE);
        let mask_bit = if self.mask.is_some() { field::MASK } else { 0 };
        match self.length_form {
            LengthForm::Short => out.extend_from_slice(&[b0, mask_bit | (self.payload_len as u8 & field::LEN7)]),
            LengthForm::Ext16 => {
                out.extend_from_slice(&[b0, mask_bit | 126]);
                out.extend_from_slice(&(self.payload_len as u16).to_be_bytes());
            }
            LengthForm::Ext64 => {
                out.extend_from_slice(&[b0, mask_bit | 127]);
                out.extend_from_slice(&self.payload_len.to_be_bytes());
            }
        }
        if let Some(key) = self.mask {
            out.extend_from_slice(&key);
        }
    }

    /// A header with the minimal length form for `payload_len`.
    pub fn new(fin: bool, opcode: u8, mask: Option<[u8; 4]>, payload_len: u64) -> FrameHeader {
        let (length_form, len7) = match payload_len {
            0..=125 => (LengthForm::Short, payload_len as u8),
            126..=0xffff => (LengthForm::Ext16, 126),
            _ => (LengthForm::Ext64, 127),
        };
        let ext = match length_form {
            LengthForm::Short => 0,
            LengthForm::Ext16 => 2,
            LengthForm::Ext64 => 8,
        };
        FrameHeader {
            fin,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode: opcode & field::OPCODE,
            mask,
            len7,
            payload_len,
            length_form,
            header_len: (2 + ext + if mask.is_some() { 4 } else { 0 }) as u8,
        }
    }
}

/// XORs `data` with the masking key (§5.3), where `data[0]` is byte
/// `payload_pos` of the frame's payload (so a payload split over several TCP
/// segments is unmasked piece by piece).
pub fn apply_mask(data: &mut [u8], key: [u8; 4], payload_pos: u64) {
    let shift = (payload_pos % 4) as usize;
    let rotated = [key[shift % 4], key[(shift + 1) % 4], key[(shift + 2) % 4], key[(shift + 3) % 4]];
    let word = u32::from_ne_bytes(rotated);
    let mut chunks = data.chunks_exact_mut(4);
    for chunk in &mut chunks {
        let mut b = [0u8; 4];
        b.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u32::from_ne_bytes(b) ^ word).to_ne_bytes());
    }
    for (byte, k) in chunks.into_remainder().iter_mut().zip(rotated) {
        *byte ^= k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(bytes: &[u8]) -> FrameHeader {
        match FrameHeader::parse(bytes) {
            HeaderParse::Complete(h) => h,
            other => panic!("expected a header, got {other:?}"),
        }
    }

    #[test]
    fn rfc_examples() {
        // RFC 6455 §5.7: a single-frame unmasked text message "Hello".
        let h = complete(&[0x81, 0x05, 0x48, 0x65]);
        assert!(h.fin && !h.rsv1 && h.opcode == 1 && h.mask.is_none());
        assert_eq!((h.payload_len, h.header_len), (5, 2));
        // A single-frame masked text message "Hello".
        let h = complete(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f]);
        assert_eq!(h.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
        assert_eq!(h.header_len, 6);
        let mut payload = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
        apply_mask(&mut payload, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(&payload, b"Hello");
        // 256 bytes binary message in a single unmasked frame.
        let h = complete(&[0x82, 0x7e, 0x01, 0x00]);
        assert_eq!((h.payload_len, h.length_form, h.header_len), (256, LengthForm::Ext16, 4));
        // 64 KiB binary message in a single unmasked frame.
        let h = complete(&[0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]);
        assert_eq!((h.payload_len, h.length_form, h.header_len), (65536, LengthForm::Ext64, 10));
    }

    #[test]
    fn incomplete_headers_say_what_they_need() {
        assert_eq!(FrameHeader::parse(&[]), HeaderParse::Incomplete { needed: 2 });
        assert_eq!(FrameHeader::parse(&[0x81]), HeaderParse::Incomplete { needed: 2 });
        assert_eq!(FrameHeader::parse(&[0x81, 0xff, 0]), HeaderParse::Incomplete { needed: 14 });
        assert_eq!(FrameHeader::parse(&[0x81, 0xfe, 0, 1]), HeaderParse::Incomplete { needed: 8 });
    }

    #[test]
    fn length_rules() {
        let h = complete(&[0x82, 0x7e, 0x00, 0x05]);
        assert!(h.is_non_minimal_length());
        let h = complete(&[0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 1]);
        assert!(h.is_length_msb_set());
        assert_eq!(h.payload_len, (1 << 63) + 1);
        let h = complete(&[0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);
        assert!(h.is_non_minimal_length());
    }

    #[test]
    fn encode_round_trips_every_form() {
        for len in [0u64, 1, 125, 126, 127, 0xffff, 0x10000, u64::MAX >> 1] {
            for mask in [None, Some([1, 2, 3, 4])] {
                let mut h = FrameHeader::new(len % 2 == 0, 2, mask, len);
                h.rsv1 = true;
                let mut wire = Vec::new();
                h.encode(&mut wire);
                assert_eq!(wire.len(), h.header_len as usize);
                assert_eq!(complete(&wire), h);
            }
        }
    }

    #[test]
    fn mask_applies_at_any_position() {
        let key = [0xde, 0xad, 0xbe, 0xef];
        let plain: Vec<u8> = (0..37u8).collect();
        let mut whole = plain.clone();
        apply_mask(&mut whole, key, 0);
        // Unmask in three uneven pieces.
        let mut pieces = whole.clone();
        let (a, rest) = pieces.split_at_mut(3);
        let (b, c) = rest.split_at_mut(10);
        apply_mask(a, key, 0);
        apply_mask(b, key, 3);
        apply_mask(c, key, 13);
        assert_eq!(pieces, plain);
    }
}
