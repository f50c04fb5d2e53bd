//! Incremental UTF-8 validation of a text message (RFC 6455 §5.6, §8.1;
//! the byte grammar is RFC 3629 §4).
//!
//! Owns: deciding, chunk by chunk, whether the bytes of one message are
//! UTF-8, and where the first bad byte is.
//! May import: std, simdutf8. Must not import: flow, http, capture, session,
//! report.
//!
//! A text message arrives in pieces: TCP segments, frames (§5.4), inflated
//! chunks (RFC 7692). A code point split between two pieces is valid (§5.6
//! applies to the whole message, Autobahn 6.2.x), so the validator carries the
//! up-to-three bytes of an unfinished code point from one chunk to the next.
//!
//! Fail fast (§8.1 "as soon as ... detected", Autobahn 6.4.x): an error is
//! reported by the [`Utf8Validator::feed`] call whose chunk holds the first
//! byte that cannot continue any valid UTF-8 string, not at the end of the
//! message. Whole valid chunks take the simdutf8 fast path; only the few
//! bytes at chunk edges and the bytes of an error go through the byte-wise
//! automaton below.
//!
//! Grammar (RFC 3629 §4), which rejects overlong forms, surrogates
//! (U+D800..U+DFFF) and values above U+10FFFF:
//!
//! ```text
//! 00..7F
//! C2..DF 80..BF
//! E0     A0..BF 80..BF        E1..EC 80..BF 80..BF
//! ED     80..9F 80..BF        EE..EF 80..BF 80..BF
//! F0     90..BF 80..BF 80..BF F1..F3 80..BF 80..BF 80..BF
//! F4     80..8F 80..BF 80..BF
//! ```

/// Why a message is not UTF-8, with positions counted in bytes from the
/// start of the message (across every chunk fed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Utf8Error {
    /// Length of the longest valid prefix: where the bad sequence starts
    /// (the same as [`std::str::Utf8Error::valid_up_to`] on the whole
    /// message).
    pub valid_up_to: u64,
    /// Position of the first byte that made the message certainly invalid
    /// (the byte a fail-fast receiver stops at). For
    /// [`Utf8Error::incomplete`] errors it is the message length: the byte
    /// that was missing.
    pub at: u64,
    /// The message ended inside a code point (every byte was a valid prefix
    /// but the last code point was never finished).
    pub incomplete: bool,
}

impl std::fmt::Display for Utf8Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.incomplete {
            write!(f, "message ends inside a code point that starts at byte {}", self.valid_up_to)
        } else if self.at == self.valid_up_to {
            write!(f, "invalid UTF-8 byte at {}", self.at)
        } else {
            write!(f, "invalid UTF-8 at byte {} (sequence starting at byte {})", self.at, self.valid_up_to)
        }
    }
}

/// Number of bytes of the sequence that `lead` starts, or `None` when `lead`
/// cannot start a sequence (continuation bytes 80..BF, overlong leads C0/C1,
/// F5..FF).
fn sequence_len(lead: u8) -> Option<u8> {
    match lead {
        0x00..=0x7f => Some(1),
        0xc2..=0xdf => Some(2),
        0xe0..=0xef => Some(3),
        0xf0..=0xf4 => Some(4),
        _ => None,
    }
}

/// Whether `b` may be byte number `idx` (1-based after the lead) of the
/// sequence started by `lead` (RFC 3629 §4 table above).
fn continuation_ok(lead: u8, idx: u8, b: u8) -> bool {
    let range = match (idx, lead) {
        (1, 0xe0) => 0xa0..=0xbf,
        (1, 0xed) => 0x80..=0x9f,
        (1, 0xf0) => 0x90..=0xbf,
        (1, 0xf4) => 0x80..=0x8f,
        _ => 0x80..=0xbf,
    };
    range.contains(&b)
}

/// Position (relative to `bytes`) of the first byte that cannot continue a
/// valid prefix, for a slice known to start with an invalid sequence.
fn first_bad_byte(bytes: &[u8]) -> usize {
    let Some(&lead) = bytes.first() else { return 0 };
    let Some(len) = sequence_len(lead) else { return 0 };
    for idx in 1..len {
        match bytes.get(usize::from(idx)) {
            Some(&b) if continuation_ok(lead, idx, b) => {}
            // A byte that does not fit, or (not expected: the caller knows the
            // sequence is invalid) the end of the slice.
            _ => return usize::from(idx),
        }
    }
    usize::from(len)
}

/// An unfinished code point carried between chunks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Partial {
    lead: u8,
    /// Bytes seen so far, lead included (0 = no partial code point).
    have: u8,
    /// Length of the whole sequence.
    need: u8,
    /// Message position of the lead byte.
    start: u64,
}

/// Validates one text message fed in chunks. See the module docs.
#[derive(Clone, Debug, Default)]
pub struct Utf8Validator {
    /// Bytes fed so far.
    len: u64,
    partial: Partial,
    /// The first error, kept: once invalid, a message stays invalid.
    error: Option<Utf8Error>,
}

impl Utf8Validator {
    pub fn new() -> Utf8Validator {
        Utf8Validator::default()
    }

    /// Forgets everything: ready for the next message.
    pub fn reset(&mut self) {
        *self = Utf8Validator::default();
    }

    /// Bytes fed since the message started.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first error found so far, if any.
    pub fn error(&self) -> Option<Utf8Error> {
        self.error
    }

    /// Whether the bytes so far end inside a code point.
    pub fn is_mid_code_point(&self) -> bool {
        self.partial.have != 0
    }

    /// Feeds the next chunk of the message. Returns the first error as soon
    /// as the bytes seen make the message invalid, and the same error on
    /// every later call.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), Utf8Error> {
        let base = self.len;
        // Counted before the early return below, so that `len` is every
        // byte fed, after an error too (as documented).
        self.len = self.len.saturating_add(chunk.len() as u64);
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut rest = chunk;
        let mut pos = base;
        // Finish the code point left open by the previous chunk.
        while self.partial.have != 0 {
            let Some((&b, tail)) = rest.split_first() else { return Ok(()) };
            let p = &mut self.partial;
            if !continuation_ok(p.lead, p.have, b) {
                let e = Utf8Error { valid_up_to: p.start, at: pos, incomplete: false };
                return Err(self.fail(e));
            }
            p.have += 1;
            if p.have == p.need {
                *p = Partial::default();
            }
            rest = tail;
            pos += 1;
        }
        let Err(e) = simdutf8::compat::from_utf8(rest) else { return Ok(()) };
        let good = e.valid_up_to();
        let Some(tail) = rest.get(good..) else { return Ok(()) };
        let start = pos + good as u64;
        match e.error_len() {
            // The chunk ends with a valid prefix of a code point.
            None => {
                let lead = tail.first().copied().unwrap_or(0);
                let need = sequence_len(lead).unwrap_or(1);
                self.partial = Partial { lead, have: tail.len().min(3) as u8, need, start };
                Ok(())
            }
            Some(_) => {
                let at = start + first_bad_byte(tail) as u64;
                Err(self.fail(Utf8Error { valid_up_to: start, at, incomplete: false }))
            }
        }
    }

    /// Ends the message: an error if it was invalid or ended inside a code
    /// point (§8.1 applies to the whole message).
    pub fn finish(&mut self) -> Result<(), Utf8Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.partial.have != 0 {
            let e = Utf8Error { valid_up_to: self.partial.start, at: self.len, incomplete: true };
            return Err(self.fail(e));
        }
        Ok(())
    }

    fn fail(&mut self, e: Utf8Error) -> Utf8Error {
        self.error = Some(e);
        self.partial = Partial::default();
        e
    }
}

/// Validates a whole byte string (a close reason, a reassembled message).
pub fn validate(bytes: &[u8]) -> Result<(), Utf8Error> {
    let mut v = Utf8Validator::new();
    v.feed(bytes)?;
    v.finish()
}

/// Validates a prefix of a byte string whose end was not captured: only a
/// byte that is certainly invalid counts, an unfinished code point at the end
/// does not.
pub fn validate_prefix(bytes: &[u8]) -> Result<(), Utf8Error> {
    Utf8Validator::new().feed(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Feeds `bytes` cut at `cuts` (positions, any order, duplicates and
    /// out-of-range values allowed); returns the result and the index of the
    /// chunk whose feed first failed.
    fn run(bytes: &[u8], cuts: &[usize]) -> (Result<(), Utf8Error>, Option<(usize, usize)>) {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        cuts.push(0);
        cuts.push(bytes.len());
        cuts.sort_unstable();
        cuts.dedup();
        let mut v = Utf8Validator::new();
        let mut failed_in = None;
        for w in cuts.windows(2) {
            let (a, b) = (w[0], w[1]);
            if v.feed(&bytes[a..b]).is_err() && failed_in.is_none() {
                failed_in = Some((a, b));
            }
        }
        (v.finish(), failed_in)
    }

    /// The fail-fast position by brute force: the first `i` such that
    /// `bytes[..=i]` is not a prefix of any UTF-8 string.
    fn brute_at(bytes: &[u8]) -> Option<usize> {
        (0..bytes.len()).find(|&i| std::str::from_utf8(&bytes[..=i]).is_err_and(|e| e.error_len().is_some()))
    }

    fn check_against_std(bytes: &[u8], cuts: &[usize]) {
        let (got, failed_in) = run(bytes, cuts);
        match std::str::from_utf8(bytes) {
            Ok(_) => {
                assert_eq!(got, Ok(()), "{bytes:02x?}");
                assert_eq!(failed_in, None);
            }
            Err(std_err) => {
                let e = got.expect_err("std says invalid");
                assert_eq!(e.valid_up_to, std_err.valid_up_to() as u64, "{bytes:02x?} cut at {cuts:?}");
                assert_eq!(e.incomplete, std_err.error_len().is_none(), "{bytes:02x?}");
                if e.incomplete {
                    assert_eq!(e.at, bytes.len() as u64);
                    assert_eq!(failed_in, None, "an unfinished code point fails only at the end");
                } else {
                    let at = brute_at(bytes).expect("a definite error has a position");
                    assert_eq!(e.at, at as u64, "{bytes:02x?}");
                    // Fail fast: the feed of the chunk holding byte `at` failed.
                    let (a, b) = failed_in.expect("a definite error fails a feed");
                    assert!(a <= at && at < b, "{bytes:02x?}: byte {at} not in chunk {a}..{b}");
                }
            }
        }
    }

    #[test]
    fn code_point_split_across_chunks_is_valid() {
        // "κόσμε" (Autobahn 6.2.x) cut at every position.
        let s = "κόσμε €𝄞".as_bytes();
        for i in 0..=s.len() {
            for j in i..=s.len() {
                assert_eq!(run(s, &[i, j]).0, Ok(()), "cut at {i},{j}");
            }
        }
        // One byte at a time.
        let cuts: Vec<usize> = (0..s.len()).collect();
        assert_eq!(run(s, &cuts).0, Ok(()));
    }

    #[test]
    fn autobahn_style_invalid_sequences() {
        let cases: &[(&[u8], u64, u64, bool)] = &[
            // (bytes, valid_up_to, at, incomplete)
            // An impossible byte; an unexpected continuation; an overlong lead.
            (b"\xff", 0, 0, false),
            (b"ab\x80", 2, 2, false),
            (b"\xc0\xaf", 0, 0, false),
            // Overlong 3-byte form; a UTF-16 surrogate; above U+10FFFF; a lead
            // beyond F4.
            (b"\xe0\x80\xaf", 0, 1, false),
            (b"\xed\xa0\x80", 0, 1, false),
            (b"\xf4\x90\x80\x80", 0, 1, false),
            (b"\xf5", 0, 0, false),
            // Autobahn 6.4.1: "κόσμε", a surrogate, more text.
            (b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited", 11, 12, false),
            // A missing last byte; 3 of 4 bytes; a lead followed by ASCII.
            (b"\xc3", 0, 1, true),
            (b"a\xf0\x9d\x84", 1, 4, true),
            (b"\xc3(", 0, 1, false),
        ];
        for &(bytes, vu, at, incomplete) in cases {
            assert_eq!(validate(bytes), Err(Utf8Error { valid_up_to: vu, at, incomplete }), "{bytes:02x?}");
            check_against_std(bytes, &[1, 2]);
        }
        // Non-characters and specials are valid (Autobahn 6.22, 6.23).
        assert_eq!(validate("\u{fffe}\u{ffff}\u{10ffff}\u{fffd}".as_bytes()), Ok(()));
    }

    #[test]
    fn fails_fast_in_the_middle_of_a_message() {
        // Autobahn 6.4.2: the bad byte arrives in the second chunk; the
        // third chunk is never needed.
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"), Ok(()));
        let e = v.feed(b"\xf4\x90").expect_err("fail fast");
        assert_eq!((e.valid_up_to, e.at), (11, 12));
        assert_eq!(v.feed(b"more"), Err(e), "the error sticks");
        assert_eq!(v.finish(), Err(e));
        v.reset();
        assert_eq!(v.feed(b"ok"), Ok(()));
        assert_eq!(v.finish(), Ok(()));
    }

    #[test]
    fn prefix_validation_ignores_an_unfinished_tail() {
        assert_eq!(validate_prefix(b"abc\xe2\x82"), Ok(()));
        assert!(validate_prefix(b"abc\xe2(").is_err());
        assert!(validate(b"abc\xe2\x82").is_err());
    }

    fn utf8ish() -> impl Strategy<Value = Vec<u8>> {
        // Mostly real UTF-8 with some bytes replaced, so errors land inside
        // and between multi-byte sequences.
        (any::<String>(), proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3)).prop_map(|(s, edits)| {
            let mut b = s.into_bytes();
            for (i, v) in edits {
                if !b.is_empty() {
                    let i = i.index(b.len());
                    b[i] = v;
                }
            }
            b
        })
    }

    proptest! {
        #[test]
        fn agrees_with_std_for_any_split(bytes in utf8ish(), cuts in proptest::collection::vec(any::<usize>(), 0..8)) {
            check_against_std(&bytes, &cuts);
        }

        #[test]
        fn agrees_with_std_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64), cuts in proptest::collection::vec(any::<usize>(), 0..8)) {
            check_against_std(&bytes, &cuts);
        }
    }
}
