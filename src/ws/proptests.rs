//! Property tests of the ws stage: frame headers round-trip through
//! encode and parse in every form, the incremental [`FrameDecoder`] finds
//! the same frames however its byte stream is cut into chunks, and the
//! incremental UTF-8 validator agrees with `std::str::from_utf8` after
//! every fragment of any split.
//!
//! Test-only; imports the sibling `ws` modules, `crate::model`, proptest.

use proptest::prelude::*;

use super::decoder::{DecodedFrame, DecoderConfig, DirectionContext, FrameDecoder, FrameSink, UndecodedReason, UndecodedRegion};
use super::frame::{FrameHeader, HeaderParse, LengthForm, MAX_HEADER_LEN, apply_mask};
use super::utf8::{Utf8Validator, validate, validate_prefix};
use crate::model::{PacketIndex, Timestamp};

// ---------------------------------------------------------------------------
// Frame headers

/// A length form and a payload length it can carry, including the forms a
/// sender may not use (non-minimal lengths, the 64-bit MSB set).
fn length() -> impl Strategy<Value = (LengthForm, u64)> {
    prop_oneof![
        (0u64..=125).prop_map(|n| (LengthForm::Short, n)),
        any::<u16>().prop_map(|n| (LengthForm::Ext16, u64::from(n))),
        any::<u64>().prop_map(|n| (LengthForm::Ext64, n)),
        // The edges of each form.
        prop::sample::select(vec![0u64, 125, 126, 0xffff, 0x1_0000, (1 << 63) - 1, 1 << 63, u64::MAX]).prop_map(|n| (LengthForm::Ext64, n)),
    ]
}

/// Any header a peer can put on the wire.
fn header() -> impl Strategy<Value = FrameHeader> {
    (any::<bool>(), any::<[bool; 3]>(), 0u8..16, any::<Option<[u8; 4]>>(), length()).prop_map(|(fin, rsv, opcode, mask, (form, len))| {
        let ext = match form {
            LengthForm::Short => 0,
            LengthForm::Ext16 => 2,
            LengthForm::Ext64 => 8,
        };
        FrameHeader {
            fin,
            rsv1: rsv[0],
            rsv2: rsv[1],
            rsv3: rsv[2],
            opcode,
            mask,
            len7: match form {
                LengthForm::Short => len as u8,
                LengthForm::Ext16 => 126,
                LengthForm::Ext64 => 127,
            },
            payload_len: len,
            length_form: form,
            header_len: 2 + ext + if mask.is_some() { 4 } else { 0 },
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    /// encode then parse gives the header back, from exactly `header_len`
    /// bytes, whatever follows; every shorter prefix asks for more.
    #[test]
    fn header_encode_parse_round_trip(h in header(), tail in prop::collection::vec(any::<u8>(), 0..20)) {
        let mut wire = Vec::new();
        h.encode(&mut wire);
        prop_assert_eq!(wire.len(), usize::from(h.header_len));
        prop_assert!(wire.len() <= MAX_HEADER_LEN);
        wire.extend_from_slice(&tail);
        prop_assert_eq!(FrameHeader::parse(&wire), HeaderParse::Complete(h));
        for cut in 0..usize::from(h.header_len) {
            match FrameHeader::parse(&wire[..cut]) {
                HeaderParse::Incomplete { needed } => {
                    prop_assert!(needed > cut && needed <= usize::from(h.header_len), "cut {} needed {}", cut, needed);
                }
                other => prop_assert!(false, "{} bytes of a {}-byte header parsed as {:?}", cut, h.header_len, other),
            }
        }
        prop_assert_eq!(h.is_non_minimal_length(), FrameHeader::new(h.fin, h.opcode, h.mask, h.payload_len).length_form != h.length_form);
        prop_assert_eq!(h.is_length_msb_set(), h.length_form == LengthForm::Ext64 && h.payload_len >= 1 << 63);
    }

    /// parse then encode gives the wire bytes back: every header on the wire
    /// has one reading.
    #[test]
    fn header_parse_encode_round_trip(wire in prop::collection::vec(any::<u8>(), 0..=MAX_HEADER_LEN)) {
        match FrameHeader::parse(&wire) {
            HeaderParse::Complete(h) => {
                let mut again = Vec::new();
                h.encode(&mut again);
                prop_assert_eq!(&again[..], &wire[..usize::from(h.header_len)]);
            }
            HeaderParse::Incomplete { needed } => prop_assert!(needed > wire.len() && needed <= MAX_HEADER_LEN),
        }
    }

    /// `FrameHeader::new` picks the minimal form and round-trips.
    #[test]
    fn new_header_is_minimal(fin in any::<bool>(), opcode in 0u8..16, mask in any::<Option<[u8; 4]>>(), len in prop_oneof![0u64..300, 0xff00u64..0x1_0100, any::<u64>()]) {
        let h = FrameHeader::new(fin, opcode, mask, len);
        prop_assert!(!h.is_non_minimal_length());
        let mut wire = Vec::new();
        h.encode(&mut wire);
        prop_assert_eq!(FrameHeader::parse(&wire), HeaderParse::Complete(h));
    }
}

// ---------------------------------------------------------------------------
// The incremental decoder under any chunking

/// What a frame is, apart from where the capture put it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct FrameSeen {
    header: FrameHeader,
    index: u64,
    stream_offset: u64,
    captured_len: u64,
    gap_len: u64,
    truncated: bool,
    kept: Vec<u8>,
}

#[derive(Default)]
struct Collect {
    frames: Vec<FrameSeen>,
    /// (first_packet, last_packet) of each frame.
    packets: Vec<(PacketIndex, PacketIndex)>,
    /// Unmasked payload of every frame, in order, and where each piece said
    /// it was.
    payload: Vec<u8>,
    positions_ok: bool,
    undecoded: Vec<(u64, u64, UndecodedReason)>,
    headers: Vec<FrameHeader>,
}

impl FrameSink for Collect {
    fn payload(&mut self, _header: &FrameHeader, frame_index: u64, pos: u64, bytes: &[u8]) {
        // Pieces of one frame arrive in order and without overlap.
        let start = self.frames.iter().filter(|f| f.index < frame_index).map(|f| f.captured_len).sum::<u64>();
        if start + pos != self.payload.len() as u64 {
            self.positions_ok = false;
        }
        self.payload.extend_from_slice(bytes);
    }
    fn header(&mut self, header: &FrameHeader, _frame_index: u64) {
        self.headers.push(*header);
    }
    fn frame(&mut self, f: DecodedFrame) {
        self.packets.push((f.first_packet, f.last_packet));
        self.frames.push(FrameSeen {
            header: f.header,
            index: f.index,
            stream_offset: f.stream_offset,
            captured_len: f.captured_len,
            gap_len: f.gap_len,
            truncated: f.truncated,
            kept: f.payload,
        });
    }
    fn undecoded(&mut self, r: UndecodedRegion) {
        self.undecoded.push((r.offset, r.len, r.reason));
    }
}

/// One frame of a generated stream: a header (any form that fits its
/// payload) and its plain payload.
fn stream_frame() -> impl Strategy<Value = (FrameHeader, Vec<u8>)> {
    (
        any::<bool>(),
        any::<[bool; 3]>(),
        0u8..16,
        any::<Option<[u8; 4]>>(),
        prop::collection::vec(any::<u8>(), 0..300),
        prop::sample::select(vec![LengthForm::Short, LengthForm::Ext16, LengthForm::Ext64]),
    )
        .prop_map(|(fin, rsv, opcode, mask, payload, form)| {
            let mut h = FrameHeader::new(fin, opcode, mask, payload.len() as u64);
            (h.rsv1, h.rsv2, h.rsv3) = (rsv[0], rsv[1], rsv[2]);
            // A longer form than needed, when chosen and legal for the size.
            let ext = match (form, h.length_form) {
                (LengthForm::Ext16, LengthForm::Short) => Some((LengthForm::Ext16, 126, 2)),
                (LengthForm::Ext64, LengthForm::Short | LengthForm::Ext16) => Some((LengthForm::Ext64, 127, 8)),
                _ => None,
            };
            if let Some((f, len7, n)) = ext {
                (h.length_form, h.len7) = (f, len7);
                h.header_len = 2 + n + if mask.is_some() { 4 } else { 0 };
            }
            (h, payload)
        })
}

/// The wire bytes of `frames`, then `tail` (a cut-off last frame's start).
fn wire(frames: &[(FrameHeader, Vec<u8>)], tail: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (h, payload) in frames {
        h.encode(&mut out);
        let start = out.len();
        out.extend_from_slice(payload);
        if let Some(key) = h.mask {
            apply_mask(&mut out[start..], key, 0);
        }
    }
    out.extend_from_slice(tail);
    out
}

const KEEP: usize = 16;

/// Runs an in-sync decoder over `bytes` cut at `cuts` (sorted, deduplicated
/// positions); chunk `i` is packet `i + 1`.
fn decode_chunked(bytes: &[u8], cuts: &[usize]) -> (Collect, super::DecoderStats) {
    let cfg = DecoderConfig { control_keep: 64 * 1024, data_keep: KEEP, search_window: 256 * 1024 };
    let mut d = FrameDecoder::in_sync(cfg, DirectionContext::default(), 0);
    let mut c = Collect { positions_ok: true, ..Collect::default() };
    let mut bounds = vec![0];
    bounds.extend(cuts.iter().copied().filter(|&p| p > 0 && p < bytes.len()));
    bounds.push(bytes.len());
    for (i, w) in bounds.windows(2).enumerate() {
        let (a, b) = (w[0], w[1]);
        d.data(a as u64, &bytes[a..b], i as u64 + 1, Timestamp(i as i64), &mut c);
    }
    d.finish(&mut c);
    (c, d.stats())
}

/// The packet (1-based chunk) holding byte `pos`.
fn packet_of(pos: u64, cuts: &[usize], len: usize) -> PacketIndex {
    cuts.iter().filter(|&&p| p > 0 && p < len && (p as u64) <= pos).count() as u64 + 1
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Whatever the chunking, the decoder reports the frames that were
    /// encoded (header, offset, payload), the same payload bytes unmasked,
    /// a cut-off end as a truncated frame or a partial header, and accounts
    /// for every byte; each frame names the chunks holding its first and
    /// last byte.
    #[test]
    fn decoder_is_independent_of_chunking(
        frames in prop::collection::vec(stream_frame(), 0..8),
        tail_frame in stream_frame(),
        tail_cut in any::<prop::sample::Index>(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..40),
    ) {
        // The stream may end anywhere inside one more frame.
        let last = wire(std::slice::from_ref(&tail_frame), &[]);
        let tail = &last[..tail_cut.index(last.len())];
        let bytes = wire(&frames, tail);
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        cuts.sort_unstable();
        cuts.dedup();

        let (whole, whole_stats) = decode_chunked(&bytes, &[]);
        let (c, stats) = decode_chunked(&bytes, &cuts);
        prop_assert_eq!(&c.frames, &whole.frames);
        prop_assert_eq!(&c.payload, &whole.payload);
        prop_assert_eq!(&c.undecoded, &whole.undecoded);
        prop_assert_eq!(&c.headers, &whole.headers);
        prop_assert!(c.positions_ok && whole.positions_ok);
        prop_assert_eq!(stats.header_bytes, whole_stats.header_bytes);
        prop_assert_eq!(stats.payload_bytes, whole_stats.payload_bytes);
        prop_assert_eq!(stats.undecoded_bytes, whole_stats.undecoded_bytes);
        prop_assert_eq!(stats.header_bytes + stats.payload_bytes + stats.undecoded_bytes, bytes.len() as u64);
        prop_assert_eq!(stats.pending_bytes, 0);

        // And what it reports is what was encoded.
        let mut offset = 0u64;
        let mut plain = Vec::new();
        for (i, (h, payload)) in frames.iter().enumerate() {
            let f = &c.frames[i];
            prop_assert_eq!(f.header, *h);
            prop_assert_eq!((f.index, f.stream_offset, f.captured_len, f.gap_len, f.truncated), (i as u64, offset, payload.len() as u64, 0, false));
            let keep = if h.is_control() { payload.len() } else { payload.len().min(KEEP) };
            prop_assert_eq!(&f.kept[..], &payload[..keep]);
            let end = offset + u64::from(h.header_len) + payload.len() as u64;
            let (first, last) = c.packets[i];
            prop_assert_eq!(first, packet_of(offset, &cuts, bytes.len()));
            prop_assert_eq!(last, packet_of(end - 1, &cuts, bytes.len()));
            plain.extend_from_slice(payload);
            offset = end;
        }
        let th = usize::from(tail_frame.0.header_len);
        if tail.is_empty() {
            prop_assert_eq!(c.frames.len(), frames.len());
            prop_assert!(c.undecoded.is_empty());
        } else if tail.len() < th {
            // A header cut short: undecodable bytes at the end.
            prop_assert_eq!(c.frames.len(), frames.len());
            prop_assert_eq!(&c.undecoded, &vec![(offset, tail.len() as u64, UndecodedReason::PartialHeaderAtEnd)]);
        } else {
            // A frame cut short: reported, truncated, with what was captured.
            prop_assert_eq!(c.frames.len(), frames.len() + 1);
            let f = &c.frames[frames.len()];
            prop_assert_eq!(f.header, tail_frame.0);
            let got = (tail.len() - th) as u64;
            prop_assert_eq!((f.stream_offset, f.captured_len, f.truncated), (offset, got, got < tail_frame.0.payload_len));
            plain.extend_from_slice(&tail_frame.1[..tail.len() - th]);
        }
        prop_assert_eq!(&c.payload, &plain);
    }
}

// ---------------------------------------------------------------------------
// UTF-8

/// A piece of a byte string chosen to exercise the UTF-8 grammar (RFC 3629
/// §4): valid scalars of every length, and the invalid forms a validator
/// must reject.
fn utf8_piece() -> impl Strategy<Value = Vec<u8>> {
    let scalar = |lo: u32, hi: u32| (lo..=hi).prop_filter_map("not a scalar", char::from_u32).prop_map(|c| c.to_string().into_bytes());
    prop_oneof![
        // Valid: ASCII, 2-, 3- and 4-byte scalars, and the edges.
        4 => scalar(0, 0x7f),
        3 => scalar(0x80, 0x7ff),
        3 => scalar(0x800, 0xffff),
        3 => scalar(0x1_0000, 0x10_ffff),
        2 => prop::sample::select(vec!['\u{7f}', '\u{80}', '\u{7ff}', '\u{800}', '\u{d7ff}', '\u{e000}', '\u{fffd}', '\u{ffff}', '\u{10000}', '\u{10ffff}'])
            .prop_map(|c| c.to_string().into_bytes()),
        // Overlong forms of ASCII, of 2-byte and of 3-byte scalars.
        1 => (0u8..0x80).prop_map(|b| vec![0xc0 | (b >> 6), 0x80 | (b & 0x3f)]),
        1 => (0u32..0x800).prop_map(|v| vec![0xe0, 0x80 | (v >> 6) as u8, 0x80 | (v & 0x3f) as u8]),
        1 => (0u32..0x1_0000).prop_map(|v| vec![0xf0, 0x80 | (v >> 12) as u8, 0x80 | ((v >> 6) & 0x3f) as u8, 0x80 | (v & 0x3f) as u8]),
        // UTF-16 surrogates encoded as if they were scalars.
        1 => (0xd800u32..=0xdfff).prop_map(|v| vec![0xe0 | (v >> 12) as u8, 0x80 | ((v >> 6) & 0x3f) as u8, 0x80 | (v & 0x3f) as u8]),
        // Above U+10FFFF, and leads that never start anything.
        1 => (0x11_0000u32..0x20_0000).prop_map(|v| vec![0xf0 | (v >> 18) as u8, 0x80 | ((v >> 12) & 0x3f) as u8, 0x80 | ((v >> 6) & 0x3f) as u8, 0x80 | (v & 0x3f) as u8]),
        1 => (0xf5u8..=0xff).prop_map(|b| vec![b]),
        // A stray continuation byte.
        1 => (0x80u8..0xc0).prop_map(|b| vec![b]),
        // A multi-byte scalar cut short (valid prefix, then whatever comes).
        2 => (scalar(0x80, 0x10_ffff), any::<prop::sample::Index>()).prop_map(|(s, i)| {
            let keep = 1 + i.index(s.len() - 1);
            s[..keep].to_vec()
        }),
    ]
}

/// Pieces joined, then a split into any number of fragments (empty ones
/// included).
fn utf8_case() -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
    (prop::collection::vec(utf8_piece(), 0..12), any::<bool>()).prop_flat_map(|(pieces, cut_end)| {
        let mut bytes: Vec<u8> = pieces.concat();
        if cut_end && bytes.len() > 1 {
            // Often end inside the last scalar.
            bytes.pop();
        }
        let n = bytes.len();
        (Just(bytes), prop::collection::vec(0..=n, 0..=n + 2))
    })
}

/// What `std::str::from_utf8` says about a prefix: valid, a valid prefix
/// cut inside a scalar, or certainly invalid.
#[derive(Debug, PartialEq, Eq)]
enum Std {
    Valid,
    MidScalar,
    Invalid,
}

fn std_says(bytes: &[u8]) -> Std {
    match std::str::from_utf8(bytes) {
        Ok(_) => Std::Valid,
        Err(e) if e.error_len().is_none() => Std::MidScalar,
        Err(_) => Std::Invalid,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    /// After every fragment the validator agrees with std on the bytes so
    /// far (fail fast, never early), and at the end on the whole string.
    #[test]
    fn utf8_agrees_with_std_after_every_fragment((bytes, mut cuts) in utf8_case()) {
        cuts.sort_unstable();
        let mut bounds = vec![0];
        bounds.extend(cuts);
        bounds.push(bytes.len());
        let mut v = Utf8Validator::new();
        for w in bounds.windows(2) {
            let (a, b) = (w[0], w[1]);
            let fed = v.feed(&bytes[a..b]);
            let so_far = std_says(&bytes[..b]);
            prop_assert_eq!(fed.is_err(), so_far == Std::Invalid, "{:02x?} fed up to {}", bytes, b);
            prop_assert_eq!(v.is_mid_code_point(), so_far == Std::MidScalar, "{:02x?} fed up to {}", bytes, b);
            prop_assert_eq!(v.len(), b as u64);
        }
        let end = v.finish();
        match std::str::from_utf8(&bytes) {
            Ok(_) => prop_assert_eq!(end, Ok(())),
            Err(e) => {
                let got = end.expect_err("std rejects it");
                prop_assert_eq!(got.valid_up_to, e.valid_up_to() as u64, "{:02x?}", bytes);
                prop_assert_eq!(got.incomplete, e.error_len().is_none(), "{:02x?}", bytes);
                // The first certainly-bad byte is the lead std rejects, or
                // the byte right after the maximal valid subpart it skips.
                if let Some(n) = e.error_len() {
                    prop_assert!(got.at >= got.valid_up_to && got.at <= got.valid_up_to + n as u64, "{:02x?}: {:?}", bytes, got);
                }
            }
        }
        prop_assert_eq!(validate(&bytes).is_ok(), std_says(&bytes) == Std::Valid);
        prop_assert_eq!(validate_prefix(&bytes).is_ok(), std_says(&bytes) != Std::Invalid);
    }
}
