//! Bounded resources on hostile input, generated at test time (small
//! versions of the inputs `scripts/bench-resources.sh` scales up): a frame
//! declaring 2^63-1 payload bytes, a permessage-deflate inflation bomb, a
//! log with a 64 MiB line, many short connections, pcapng blocks with
//! bogus lengths.
//!
//! Memory is checked two ways. In the library, by what can be observed: the
//! open connections reported by the pipeline's progress callback, the sizes
//! of the buffers handed out. And by running the binary under an address
//! space limit (`ulimit -v`, with `MALLOC_ARENA_MAX=1` so glibc's per-thread
//! arenas do not reserve address space of their own): any allocation sized
//! from a declared length, or a buffer grown to hold a whole line, block or
//! message, would exceed it and abort the process. A normal run of the
//! binary needs less than 64 MiB of address space.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[path = "../examples/common/hostile.rs"]
mod hostile;

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Collected, samples_dir};
use wsforensics::capture::{CaptureNoticeKind, MAX_BLOCK_LEN};
use wsforensics::logs::{LogNoticeKind, LogOptions, read_logs};
use wsforensics::pipeline::{AnalysisOptions, AnalysisStats, Progress, analyze};
use wsforensics::session::record::Termination;

/// Address space the binary may use in these tests.
const LIMIT_MIB: u64 = 256;

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs the binary with `args` under an address-space limit of `LIMIT_MIB`.
fn limited(args: &[&std::ffi::OsStr]) -> Out {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {} && exec \"$0\" \"$@\"", LIMIT_MIB * 1024))
        .arg(env!("CARGO_BIN_EXE_wsforensics"))
        .args(args)
        .env("MALLOC_ARENA_MAX", "1")
        .output()
        .unwrap();
    let o = Out {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!o.stderr.contains("panicked") && !o.stderr.contains("memory allocation"), "{}", o.stderr);
    assert_eq!(o.code, Some(0), "exit status (None: killed by a signal, e.g. an aborted allocation): {}", o.stderr);
    o
}

fn pcap(dir: &Path, name: &str, f: impl FnOnce(&mut hostile::PcapWriter<BufWriter<File>>)) -> PathBuf {
    let p = dir.join(name);
    let mut w = hostile::PcapWriter::new(BufWriter::new(File::create(&p).unwrap()), 262_144).unwrap();
    f(&mut w);
    drop(w.into_inner());
    p
}

fn analyze_with(path: &Path, opts: &AnalysisOptions, progress: &mut dyn Progress) -> (Collected, AnalysisStats) {
    let mut c = Collected::default();
    let stats = analyze(&[path.to_path_buf()], opts, &mut c, progress).unwrap();
    (c, stats)
}

fn assert_accounting(c: &Collected) {
    for conn in &c.connections {
        for (i, b) in conn.bytes.iter().enumerate() {
            assert_eq!(b.accounted(), b.captured, "conn {} dir {i}: {b:?}", conn.conn_id);
        }
    }
}

#[test]
fn declared_length_of_2_63_minus_1_reserves_nothing() {
    // After a normal handshake the server sends a frame header declaring
    // 2^63-1 bytes; 4 MiB of payload follow, then a RST.
    let declared = (1u64 << 63) - 1;
    let captured = 4u64 << 20;
    let dir = tempfile::tempdir().unwrap();
    let p = pcap(dir.path(), "huge-frame.pcap", |w| hostile::huge_frame(w, declared, captured).unwrap());
    let opts = AnalysisOptions { threads: 2, ..AnalysisOptions::default() };
    let (c, _) = analyze_with(&p, &opts, &mut ());
    assert_eq!(c.connections.len(), 1);
    let f = c.frames.iter().find(|f| f.direction.as_str() == "s2c").unwrap();
    assert_eq!((f.header.payload_len, f.captured_len, f.gap_len, f.truncated), (declared, captured, 0, true));
    // Nothing of the payload is kept by default, and nothing was reserved
    // for it.
    assert!(f.payload.capacity() <= 4096, "{}", f.payload.capacity());
    let conn = &c.connections[0];
    assert_eq!(conn.bytes[1].frame_payload, captured);
    assert_eq!(conn.payload_bytes[1], declared);
    assert_accounting(&c);
    assert!(c.violations.iter().all(|v| v.rule != "length-msb-set"), "2^63-1 has the top bit clear");

    // Keeping every payload byte (the decoder's preview limit at its
    // maximum) keeps what was captured, never what was declared.
    let mut opts = opts.clone();
    opts.session.decoder.data_keep = usize::MAX;
    let (c, _) = analyze_with(&p, &opts, &mut ());
    let f = c.frames.iter().find(|f| f.direction.as_str() == "s2c").unwrap();
    assert!(f.payload.len() as u64 <= captured, "{}", f.payload.len());

    // The binary under the address-space limit.
    let out = limited(&[p.as_os_str()]);
    assert!(out.stdout.contains("WebSocket connections: 1"), "{}", out.stdout);
}

#[test]
fn inflation_bomb_stops_at_the_cap() {
    // A compressed message of about 256 KiB that inflates to 256 MiB.
    let inflated = 256u64 << 20;
    let dir = tempfile::tempdir().unwrap();
    let p = pcap(dir.path(), "bomb.pcap", |w| hostile::inflation_bomb(w, inflated).unwrap());
    let cap = 1u64 << 20;
    let mut opts = AnalysisOptions { threads: 2, ..AnalysisOptions::default() };
    opts.session.max_message = cap;
    let (c, _) = analyze_with(&p, &opts, &mut ());
    assert_eq!(c.connections.len(), 1);
    assert_eq!(c.connections[0].http.extensions, "permessage-deflate");
    let bomb = c.messages.iter().find(|m| m.compressed).unwrap();
    assert!(bomb.payload_len < inflated / 500, "the message is small on the wire: {}", bomb.payload_len);
    assert_eq!(bomb.inflated_len, None, "never inflated whole");
    let caps: Vec<_> = c.findings.iter().filter(|f| f.kind == "inflate-cap-exceeded").collect();
    assert_eq!(caps.len(), 1, "{:?}", c.findings);
    assert!(caps[0].detail.contains(&format!("inflation exceeded the cap at {cap} bytes")), "{}", caps[0].detail);
    // A cap is our limit, not the peer's fault.
    assert!(c.violations.iter().all(|v| !v.rule.starts_with("deflate")), "{:?}", c.violations.iter().map(|v| v.rule).collect::<Vec<_>>());
    // The rest of the connection is analyzed as usual.
    let after = c.messages.iter().find(|m| !m.compressed && m.direction.as_str() == "c2s").unwrap();
    assert!(after.complete);
    assert_eq!(c.closes.iter().filter(|k| k.code == Some(1009)).count(), 2);
    assert_accounting(&c);

    // The binary: the default cap (64 MiB) is far below 256 MiB, and under
    // the address-space limit nothing may hold the inflated message.
    let out = limited(&[p.as_os_str(), "--max-message".as_ref(), "8MiB".as_ref()]);
    assert!(out.stdout.contains("inflate-cap-exceeded: 1"), "{}", out.stdout);
}

#[test]
fn a_64_mib_log_line_is_cut_and_reading_goes_on() {
    let len: u64 = 64 << 20;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("huge.log");
    hostile::long_log_line(BufWriter::new(File::create(&log).unwrap()), len).unwrap();
    let line_len = len + "2026-11-24 10:00:01,000 ERROR app: huge ".len() as u64;

    let mut events = Vec::new();
    let s = read_logs(&[&log], &LogOptions::default(), |e| events.push(e)).unwrap();
    assert_eq!(s.notices.len(), 1, "{:?}", s.notices);
    let n = &s.notices[0];
    assert_eq!((n.kind, n.line, n.end_line), (LogNoticeKind::LongLine, 2, 2));
    assert_eq!(n.to_string(), format!("{}: line 2: line of {line_len} bytes: only the first 1048576 read", log.display()));
    assert_eq!(s.files[0].lines, 3);
    assert_eq!(events.len(), 3);
    assert_eq!(events[2].message(), "after", "reading goes on after the line");
    assert!(events[1].raw().len() <= wsforensics::logs::MAX_RAW);

    // Through the binary, with a capture, under the address-space limit
    // (far below the line's size).
    let capture = samples_dir().join("py-handler-error-1011.pcap");
    let out = limited(&[capture.as_os_str(), "--log".as_ref(), log.as_os_str()]);
    assert!(out.stdout.contains(&format!("log damage: {}: line 2: line of {line_len} bytes", log.display())), "{}", out.stdout);
}

/// Records the most connections the pipeline held open at once.
#[derive(Default)]
struct MaxOpen {
    max: usize,
    calls: u64,
}

impl Progress for MaxOpen {
    fn update(&mut self, _read: u64, _total: u64, _packets: u64, open: usize) {
        self.max = self.max.max(open);
        self.calls += 1;
    }
}

#[test]
fn many_short_connections_are_flushed_as_they_end() {
    // 100 000 connections, 8 packets each, one every 100 µs: each is
    // over (FIN both ways) long before the next batch.
    let n = 100_000u64;
    let dir = tempfile::tempdir().unwrap();
    let p = pcap(dir.path(), "many.pcap", |w| hostile::short_connections(w, n, 100).unwrap());
    let opts = AnalysisOptions { threads: 2, ..AnalysisOptions::default() };
    let mut progress = MaxOpen::default();
    let mut counts = Counts::default();
    let stats = analyze(std::slice::from_ref(&p), &opts, &mut counts, &mut progress).unwrap();
    assert_eq!(stats.packets, 8 * n);
    assert_eq!(stats.tcp_connections, n);
    assert_eq!(counts.connections, n);
    assert_eq!(counts.close_handshakes, n);
    assert_eq!(counts.frames, 3 * n);
    assert!(counts.unaccounted == 0);
    assert!(progress.calls >= 8 * n / opts.batch as u64, "{} batches", progress.calls);
    // A batch holds 4096 segments (512 connections): open connections are
    // the few cut by a batch boundary, never the ones already ended.
    assert!(progress.max <= 8, "{} connections open at once", progress.max);
}

/// A sink that only counts (100 000 connections' records are not kept).
#[derive(Default)]
struct Counts {
    connections: u64,
    close_handshakes: u64,
    frames: u64,
    unaccounted: u64,
}

impl wsforensics::session::record::RecordSink for Counts {
    fn connection(&mut self, rec: wsforensics::session::record::ConnectionRecord) {
        self.connections += 1;
        self.close_handshakes += u64::from(rec.termination == Termination::CloseHandshake);
        self.unaccounted += rec.bytes.iter().filter(|b| b.accounted() != b.captured).count() as u64;
    }
    fn frame(&mut self, _: wsforensics::session::record::FrameRecord) {
        self.frames += 1;
    }
    fn message(&mut self, _: wsforensics::session::record::MessageRecord) {}
    fn close(&mut self, _: wsforensics::session::record::CloseRecord) {}
    fn violation(&mut self, _: wsforensics::session::record::ViolationRecord) {}
    fn finding(&mut self, _: wsforensics::session::record::Finding) {}
}

#[test]
fn pcapng_bogus_block_lengths_allocate_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for (name, len) in [("over-limit", 0xffff_fff0u32), ("at-limit", MAX_BLOCK_LEN - 4), ("past-end", 64 << 20)] {
        let p = dir.path().join(format!("{name}.pcapng"));
        let mut w = hostile::PcapNgWriter::new(BufWriter::new(File::create(&p).unwrap())).unwrap();
        let at = hostile::pcapng_bogus_block(&mut w, 20, 20, 6, len).unwrap();
        drop(w.into_inner());
        let opts = AnalysisOptions { threads: 2, ..AnalysisOptions::default() };
        let (c, stats) = analyze_with(&p, &opts, &mut ());
        assert_eq!(stats.notices.len(), 1, "{name}: {:?}", stats.notices);
        let n = &stats.notices[0];
        assert_eq!(n.offset, at, "{name}: the notice names the bogus block");
        assert!(n.to_string().starts_with(&format!("{}: byte {at}: ", p.display())), "{n}");
        // The reader resumes right after the bogus bytes: every
        // connection is read.
        assert_eq!(n.kind, CaptureNoticeKind::Corrupt { resumed_at: Some(at + 88) }, "{name}: {n}");
        assert_eq!(stats.packets, 8 * 40, "{name}");
        assert_eq!(c.connections.len(), 40, "{name}");
        assert_accounting(&c);
        let out = limited(&[p.as_os_str()]);
        assert!(out.stdout.contains(&format!("capture damage: {}: byte {at}: ", p.display())), "{}", out.stdout);
    }
}
