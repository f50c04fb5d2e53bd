//! Regression tests for inputs found by the cargo-fuzz targets under `fuzz/`
//! (see `scripts/fuzz.sh`). Each input is committed under
//! `tests/data/fuzz/<target>/` and fed through the same public API as its
//! fuzz target; every file there is checked, so a new crash only needs its
//! (minimised) input dropped in.
//!
//! The structured targets (`tcp_ws_stream`, `inflate`) decode their input
//! with `arbitrary`, which this crate does not depend on: a
//! `tcp_ws_stream` crash is committed as the pcap of its segments
//! (`cd fuzz && cargo run --example tcp_ws_to_pcap -- CRASH OUT.pcap`;
//! name it `*.small.pcap` when the converter says it uses the small limits)
//! and analyzed by `pipeline::analyze` with one thread, which drives the
//! flow table, reassembly and session exactly as the fuzz target does.
//!
//! Inputs found so far:
//! - `tcp_ws_stream/payload-len-sum-overflow.small.pcap`: "attempt to add
//!   with overflow" at src/session/mod.rs:1001 (`st.payload_bytes +=
//!   f.header.payload_len`): two frames whose declared 64-bit payload
//!   lengths add up past u64::MAX (the frames are cut short by the end of
//!   the stream, so nothing that large is captured). Fixed by 237d8af
//!   (saturating sums).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::str::FromStr;

use common::{Collected, manifest_dir};
use wsforensics::capture::{CaptureReader, MAX_CAPLEN};
use wsforensics::decode::{Decoded, decode_packet};
use wsforensics::flow::ReassemblyConfig;
use wsforensics::http::{self, HeadParse};
use wsforensics::logs::{LogFormat, LogOptions, LogTz, read_log_bytes};
use wsforensics::model::Timestamp;
use wsforensics::pipeline::{AnalysisOptions, analyze};
use wsforensics::session::SessionConfig;
use wsforensics::ws::decoder::DecoderConfig;

/// The committed inputs of one fuzz target, sorted.
fn inputs(target: &str) -> Vec<PathBuf> {
    let dir = manifest_dir().join("tests/data/fuzz").join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

fn name(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// As fuzz target `capture_file`: read every packet, decode each.
#[test]
fn capture_file_inputs() {
    for path in inputs("capture_file") {
        let data = std::fs::read(&path).unwrap();
        let Ok(mut reader) = CaptureReader::open(std::slice::from_ref(&path)) else { continue };
        while let Ok(Some(pkt)) = reader.next_packet() {
            assert!(pkt.data.len() <= data.len(), "{}: packet larger than the file", name(&path));
            assert!(pkt.data.len() as u64 <= u64::from(MAX_CAPLEN), "{}", name(&path));
            let _ = decode_packet(pkt.linktype, &pkt.data);
        }
        reader.finish();
    }
}

/// As fuzz target `http_upgrade`.
#[test]
fn http_upgrade_inputs() {
    for path in inputs("http_upgrade") {
        let data = std::fs::read(&path).unwrap();
        if let HeadParse::Complete(r) = http::parse_request(&data) {
            assert!(r.head_len <= data.len(), "{}", name(&path));
            let _ = r.wants_websocket();
        }
        if let HeadParse::Complete(r) = http::parse_response(&data) {
            assert!(r.head_len <= data.len(), "{}", name(&path));
        }
        let _ = http::parse_extensions(&String::from_utf8_lossy(&data));
    }
}

/// As fuzz target `log_reader`: every format, default and tiny limits.
#[test]
fn log_reader_inputs() {
    let tz = LogTz::from_str("America/New_York").unwrap();
    for path in inputs("log_reader") {
        let data = std::fs::read(&path).unwrap();
        for format in [LogFormat::Auto, LogFormat::Text, LogFormat::Json, LogFormat::Docker, LogFormat::Cri] {
            let small =
                LogOptions { format, tz: tz.clone(), reference: Some(Timestamp(1_700_000_000_000_000_000)), block_size: 64, max_line: 48 };
            for opts in [LogOptions { format, ..LogOptions::default() }, small] {
                let (events, _) = read_log_bytes("fuzz.log", &data, &opts);
                for e in &events {
                    assert!(e.line >= 1 && e.end_line >= e.line, "{}: lines {}..{}", name(&path), e.line, e.end_line);
                }
            }
        }
    }
}

/// As fuzz target `tcp_ws_stream` (limits from `fuzz/src/lib.rs`
/// `SMALL_REASSEMBLY` / `SMALL_SESSION` for `*.small.pcap`): no panic, the
/// byte accounting holds on every connection, and a direction's payload
/// total is never below the length of one of its frames (no wraparound).
#[test]
fn tcp_ws_stream_inputs() {
    let files = inputs("tcp_ws_stream");
    assert!(!files.is_empty());
    for path in files {
        let file = name(&path);
        let mut opts = AnalysisOptions { threads: 1, ..AnalysisOptions::default() };
        if file.contains(".small.") {
            opts.reassembly = ReassemblyConfig { max_buffered_bytes: 4096, max_buffered_chunks: 8, max_retained_bytes: 2048 };
            opts.session = SessionConfig {
                decoder: DecoderConfig { control_keep: 16, data_keep: 8, search_window: 512 },
                probe_limit: 256,
                max_message: 1024,
            };
        }
        let mut c = Collected::default();
        analyze(std::slice::from_ref(&path), &opts, &mut c, &mut ()).unwrap_or_else(|e| panic!("{file}: {e}"));
        for conn in &c.connections {
            for (i, b) in conn.bytes.iter().enumerate() {
                assert_eq!(b.accounted(), b.captured, "{file}: conn {} dir {i}: {b:?}", conn.conn_id);
            }
            for f in c.frames.iter().filter(|f| f.conn_id == conn.conn_id) {
                let total = conn.payload_bytes[f.direction.index()];
                assert!(
                    total >= f.header.payload_len,
                    "{file}: conn {} payload total {total} below frame {}'s length {}",
                    conn.conn_id,
                    f.index,
                    f.header.payload_len
                );
            }
        }
    }
}

/// The overflow input is read as WebSocket at all (so the test above checks
/// something): one connection, frames found without a handshake.
#[test]
fn payload_len_sum_overflow_is_websocket() {
    let path = manifest_dir().join("tests/data/fuzz/tcp_ws_stream/payload-len-sum-overflow.small.pcap");
    let mut reader = CaptureReader::open(std::slice::from_ref(&path)).unwrap();
    let mut tcp = 0;
    while let Some(pkt) = reader.next_packet().unwrap() {
        if let Decoded::Tcp(_) = decode_packet(pkt.linktype, &pkt.data) {
            tcp += 1;
        }
    }
    assert_eq!(tcp, 4);
    assert!(reader.notices().is_empty(), "{:?}", reader.notices());
}
