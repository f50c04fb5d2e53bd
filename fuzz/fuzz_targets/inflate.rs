//! permessage-deflate inflation: arbitrary compressed chunks (raw bytes, or
//! fuzzed text compressed here so valid streams are common) into an
//! `Inflater` with a small cap. No panic; the output of a message never
//! exceeds the cap, arrives in chunks of at most `OUT_CHUNK`, and
//! `Inflated::inflated` matches what the sink received.

#![no_main]

use std::io::Write;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wsforensics::ws::deflate::{InflateErrorKind, Inflater, InflaterConfig, OUT_CHUNK};

#[derive(Arbitrary, Debug)]
enum Op {
    /// Raw bytes as compressed data.
    Feed(Vec<u8>),
    /// `data` compressed (raw DEFLATE, sync flush, tail stripped as RFC 7692
    /// §7.2.1 does, unless `final_block`), fed in `pieces` parts.
    FeedDeflated {
        data: Vec<u8>,
        level: u8,
        final_block: bool,
        pieces: u8,
    },
    Finish,
    Gap(u16),
    Abort,
    LoseDictionary,
}

#[derive(Arbitrary, Debug)]
struct Input {
    window_bits: u8,
    no_context_takeover: bool,
    cap: u16,
    ops: Vec<Op>,
}

fn deflate(data: &[u8], level: u8, final_block: bool) -> Vec<u8> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(u32::from(level % 10)));
    let _ = enc.write_all(data);
    if final_block {
        return enc.finish().unwrap_or_default();
    }
    let _ = enc.flush();
    let mut out = enc.get_ref().clone();
    if out.ends_with(&[0, 0, 0xff, 0xff]) {
        out.truncate(out.len() - 4);
    }
    out
}

fuzz_target!(|input: Input| {
    let cap = u64::from(input.cap % 8192);
    let cfg = InflaterConfig { window_bits: input.window_bits, no_context_takeover: input.no_context_takeover, max_message: cap };
    let mut inf = Inflater::new(cfg);
    assert_eq!(inf.config(), cfg);
    let mut got: u64 = 0;
    let check = |got: &mut u64, b: &[u8]| {
        assert!(b.len() <= OUT_CHUNK, "sink chunk of {} bytes", b.len());
        *got += b.len() as u64;
        assert!(*got <= cap, "message output {} exceeds the cap {cap}", *got);
    };
    for op in input.ops.into_iter().take(64) {
        match op {
            Op::Feed(bytes) => {
                let _ = inf.feed(&bytes, &mut |b| check(&mut got, b));
            }
            Op::FeedDeflated { mut data, level, final_block, pieces } => {
                data.truncate(64 * 1024);
                let z = deflate(&data, level, final_block);
                let n = usize::from(pieces % 8) + 1;
                for piece in z.chunks(z.len().div_ceil(n).max(1)) {
                    let _ = inf.feed(piece, &mut |b| check(&mut got, b));
                }
            }
            Op::Finish => {
                let r = inf.finish(&mut |b| check(&mut got, b));
                match r {
                    Ok(done) => {
                        assert_eq!(done.inflated, got, "reported {} inflated, sink got {got}", done.inflated);
                        assert!(done.inflated <= cap);
                    }
                    Err(e) => {
                        assert!(e.inflated <= got, "error says {} inflated, sink got {got}", e.inflated);
                        if let InflateErrorKind::CapExceeded { cap: c } = e.kind {
                            assert_eq!(c, cap);
                        }
                        let _ = e.violation();
                        let _ = e.rule();
                    }
                }
                assert!(!inf.in_message());
                got = 0;
            }
            Op::Gap(len) => inf.gap(u64::from(len)),
            Op::Abort => {
                inf.abort();
                got = 0;
            }
            Op::LoseDictionary => inf.lose_dictionary(),
        }
        let _ = inf.dictionary_lost();
    }
});
