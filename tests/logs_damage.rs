//! The log reader on damaged and hostile input: gzip (good and corrupt),
//! binary garbage, invalid UTF-8, over-long lines (generated at test time,
//! up to 1 GiB, never held in memory), over-long records, bad JSON,
//! unfinished container lines, globs and unreadable paths. Nothing panics,
//! nothing is dropped silently.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};

use proptest::prelude::*;
use wsforensics::logs::{
    LogEvent, LogNotice, LogNoticeKind, LogOptions, LogSummary, MAX_MESSAGE, MAX_RAW, expand_log_paths, read_log_bytes, read_log_reader,
    read_logs,
};

fn read_bytes(bytes: &[u8]) -> (Vec<LogEvent>, LogSummary) {
    read_log_bytes("mem.log", bytes, &LogOptions::default())
}

fn kinds(notices: &[LogNotice]) -> Vec<LogNoticeKind> {
    notices.iter().map(|n| n.kind).collect()
}

/// Every non-blank line is in an event or a notice.
fn assert_accounted(bytes: &[u8], events: &[LogEvent], notices: &[LogNotice]) {
    let lines: Vec<&[u8]> = bytes.split(|&c| c == b'\n').collect();
    let n = if bytes.ends_with(b"\n") { lines.len() - 1 } else { lines.len() };
    let mut covered = vec![false; n + 2];
    for e in events {
        assert!(e.line >= 1 && e.line <= e.end_line && e.end_line as usize <= n, "range {}-{} of {n}", e.line, e.end_line);
        for l in e.line..=e.end_line {
            covered[l as usize] = true;
        }
    }
    for x in notices.iter().filter(|x| x.line > 0) {
        for l in x.line..=x.end_line.min(n as u64) {
            covered[l as usize] = true;
        }
    }
    for (i, l) in lines.iter().take(n).enumerate() {
        assert!(
            covered[i + 1] || l.iter().all(u8::is_ascii_whitespace),
            "line {} dropped silently: {:?}",
            i + 1,
            String::from_utf8_lossy(l)
        );
    }
}

const LOG: &str = "tests/data/logs/java-logback.log";

#[test]
fn gzip_is_read_transparently() {
    let plain = std::fs::read(LOG).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("app.log.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&plain).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    // Recognised by content, whatever the name.
    let renamed = dir.path().join("app.log.1");
    std::fs::copy(&gz, &renamed).unwrap();

    let mut expected = Vec::new();
    read_logs(&[LOG], &LogOptions::default(), |e| expected.push(e)).unwrap();
    for path in [&gz, &renamed] {
        let mut got = Vec::new();
        let s = read_logs(&[path], &LogOptions::default(), |e| got.push(e)).unwrap();
        assert!(s.files[0].gzip);
        assert_eq!(s.files[0].bytes, plain.len() as u64);
        assert!(s.notices.is_empty());
        assert_eq!(got, expected);
    }
    // Two gzip members (a rotated log appended to) read as one stream.
    let mut two = Vec::new();
    for _ in 0..2 {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&plain).unwrap();
        two.extend(enc.finish().unwrap());
    }
    let (events, s) = read_bytes(&two);
    assert_eq!(events.len(), 2 * expected.len());
    assert_eq!(s.files[0].lines, 2 * 21);
}

#[test]
fn corrupt_gzip_keeps_what_was_read_and_says_so() {
    let mut text = Vec::new();
    for i in 0..20_000 {
        writeln!(text, "2026-11-24 10:00:{:02},{:03} INFO app: line {i} client 10.0.0.5:{}", (i / 1000) % 60, i % 1000, 40000 + i % 1000)
            .unwrap();
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&text).unwrap();
    let gz = enc.finish().unwrap();
    // Cut in the middle, and corrupted in the middle.
    let cut = &gz[..gz.len() / 2];
    let mut flipped = gz.clone();
    let mid = flipped.len() / 2;
    for b in &mut flipped[mid..mid + 64] {
        *b ^= 0x5a;
    }
    let (events, s) = read_bytes(cut);
    assert!(s.files[0].gzip);
    assert_eq!(kinds(&s.notices), vec![LogNoticeKind::Decompress], "{:?}", s.notices);
    assert!(!events.is_empty() && events.len() < 20_000);
    // What was read is intact and in order (the last line may be cut short).
    for (i, e) in events.iter().take(events.len() - 1).enumerate() {
        assert_eq!((e.line, e.end_line), (i as u64 + 1, i as u64 + 1));
        assert_eq!(e.message(), format!("line {i} client 10.0.0.5:{}", 40000 + i % 1000));
    }
    assert_eq!(s.notices[0].line, events.len() as u64);
    assert!(s.notices[0].to_string().contains("the rest of the file is lost"));
    // Flipped bytes decode to garbage until the checksum fails at the end:
    // the lines before the damage are intact, the damage is reported.
    let (events, s) = read_bytes(&flipped);
    assert_eq!(s.notices.last().map(|n| n.kind), Some(LogNoticeKind::Decompress), "{:?}", s.notices);
    assert!(events.len() > 1000);
    for (i, e) in events.iter().take(1000).enumerate() {
        assert_eq!(e.message(), format!("line {i} client 10.0.0.5:{}", 40000 + i % 1000));
    }
}

/// xorshift, for reproducible garbage.
fn garbage(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn binary_garbage_is_reported_not_parsed() {
    let mut bytes = b"2026-11-24 10:00:01,000 INFO app: before the garbage\n".to_vec();
    bytes.extend(garbage(7, 100_000));
    bytes.extend(b"\n2026-11-24 10:00:02,000 ERROR app: after the garbage\nTraceback (most recent call last):\n  File \"/srv/a.py\", line 1, in f\nValueError: x\n");
    let (events, s) = read_bytes(&bytes);
    assert!(kinds(&s.notices).contains(&LogNoticeKind::Binary));
    assert_accounted(&bytes, &events, &s.notices);
    assert_eq!(events[0].message(), "before the garbage");
    let last = events.last().unwrap();
    assert_eq!(last.message(), "after the garbage");
    assert_eq!(last.exception.as_ref().unwrap().exc_type, "ValueError");
    // Garbage with small blocks: still no panic, same result.
    let opts = LogOptions { block_size: 777, ..LogOptions::default() };
    let (events2, s2) = read_log_bytes("mem.log", &bytes, &opts);
    assert_eq!(events2, events);
    assert_eq!(
        s2.notices.iter().filter(|n| n.kind != LogNoticeKind::Binary).count(),
        s.notices.iter().filter(|n| n.kind != LogNoticeKind::Binary).count()
    );
    // Pure garbage of every kind.
    for seed in 1..20 {
        let g = garbage(seed, 5000 + seed as usize * 37);
        let (events, s) = read_bytes(&g);
        assert_accounted(&g, &events, &s.notices);
    }
    let nul = vec![0u8; 10_000];
    let (events, s) = read_bytes(&nul);
    assert!(events.is_empty());
    assert_eq!(kinds(&s.notices), vec![LogNoticeKind::Binary]);
}

#[test]
fn invalid_utf8_is_read_lossily() {
    let bytes =
        b"2026-11-24 10:00:01,000 ERROR app: caf\xe9 \xff\xfe client 10.0.0.5:1234 failed\r\n2026-11-24 10:00:02,000 INFO app: ok\r\n";
    let (events, s) = read_bytes(bytes);
    assert!(s.notices.is_empty());
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].message(), "caf\u{fffd} \u{fffd}\u{fffd} client 10.0.0.5:1234 failed");
    assert_eq!(events[0].ts_raw(), "2026-11-24 10:00:01,000");
    assert_eq!(events[0].logger(), Some("app"));
    assert_eq!(events[0].ip_ports().count(), 1);
    assert_eq!(events[1].message(), "ok", "CR-LF line ends");
}

#[test]
fn edge_shapes_of_files() {
    for empty in [&b""[..], b"\n\n\n", b"   \n\t\n"] {
        let (events, s) = read_bytes(empty);
        assert!(events.is_empty() && s.notices.is_empty());
    }
    // No newline at the end.
    let (events, _) = read_bytes(b"2026-11-24 10:00:01,000 INFO app: a\n2026-11-24 10:00:02,000 INFO app: b");
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].message(), "b");
    // Continuation lines before any header (a log rotated mid-trace).
    let (events, _) = read_bytes(b"\tat com.x.Y.z(Y.java:1)\n\tat com.x.Y.w(Y.java:2)\n2026-11-24 10:00:01,000 INFO app: a\n");
    assert_eq!(events.iter().map(|e| (e.line, e.end_line)).collect::<Vec<_>>(), vec![(1, 2), (3, 3)]);
}

#[test]
fn over_long_line_is_cut_with_a_notice() {
    let mut bytes = b"2026-11-24 10:00:01,000 INFO app: before\n".to_vec();
    bytes.extend(b"2026-11-24 10:00:02,000 ERROR app: huge ");
    bytes.extend(std::iter::repeat_n(b'y', 3 << 20));
    bytes.extend(b"\n2026-11-24 10:00:03,000 INFO app: after\n");
    let (events, s) = read_bytes(&bytes);
    assert_eq!(kinds(&s.notices), vec![LogNoticeKind::LongLine]);
    assert_eq!((s.notices[0].line, s.notices[0].end_line), (2, 2));
    assert!(s.notices[0].message.contains(&format!("{} bytes", (3 << 20) + 40)), "{}", s.notices[0].message);
    assert_eq!(events.len(), 3);
    assert_eq!(events[1].level, Some(wsforensics::logs::Level::Error));
    assert!(events[1].raw().len() <= MAX_RAW && events[1].message().len() <= MAX_MESSAGE);
    assert_eq!(events[2].message(), "after");
    // The same with blocks smaller than the line.
    let opts = LogOptions { block_size: 4096, max_line: 1 << 16, ..LogOptions::default() };
    let (events, s) = read_log_bytes("mem.log", &bytes, &opts);
    assert_eq!(kinds(&s.notices), vec![LogNoticeKind::LongLine]);
    assert_eq!(events.len(), 3);
    assert_eq!(events[2].line, 3);
}

/// A stream of one line of `len` bytes, then a normal line: never in memory.
struct HugeLine {
    left: u64,
    tail: &'static [u8],
}

impl Read for HugeLine {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left > 0 {
            let n = (self.left.min(buf.len() as u64)) as usize;
            buf[..n].fill(b'z');
            self.left -= n as u64;
            return Ok(n);
        }
        let n = self.tail.len().min(buf.len());
        buf[..n].copy_from_slice(&self.tail[..n]);
        self.tail = &self.tail[n..];
        Ok(n)
    }
}

#[test]
fn one_gib_line_in_bounded_memory() {
    let len: u64 = 1 << 30;
    let tail = b"\n2026-11-24 10:00:03,000 INFO app: after\n";
    let src = HugeLine { left: len, tail };
    let mut events = Vec::new();
    let s = read_log_reader("huge.log", src, &LogOptions::default(), |e| events.push(e));
    assert_eq!(kinds(&s.notices), vec![LogNoticeKind::LongLine]);
    assert!(s.notices[0].message.contains(&format!("line of {len} bytes")), "{}", s.notices[0].message);
    assert_eq!(s.files[0].bytes, len + tail.len() as u64);
    assert_eq!(s.files[0].lines, 2);
    assert_eq!(events.len(), 2);
    assert!(events[0].raw().len() <= MAX_RAW);
    assert_eq!((events[1].line, events[1].message()), (2, "after"));
}

#[test]
fn over_long_record_is_bounded() {
    let mut bytes = b"2026-11-24 10:00:01,000 ERROR app: endless\n".to_vec();
    for i in 0..12_000 {
        writeln!(bytes, "\tat com.example.Deep.f{i}(Deep.java:{i})").unwrap();
    }
    bytes.extend(b"2026-11-24 10:00:02,000 INFO app: next\n");
    let (events, s) = read_bytes(&bytes);
    assert_eq!(events.len(), 2);
    assert_eq!((events[0].line, events[0].end_line), (1, 12_001));
    assert_eq!(kinds(&s.notices), vec![LogNoticeKind::LongRecord]);
    assert!(events[0].raw().len() <= MAX_RAW);
    assert_eq!(events[0].exception.as_ref().unwrap().frames.len(), wsforensics::logs::MAX_FRAMES);
}

#[test]
fn bad_json_lines_are_read_as_text() {
    let bytes = b"{\"level\":\"info\",\"time\":\"2026-11-24T10:00:01Z\",\"msg\":\"ok\"}\n{\"level\":\"error\",\"msg\":\"cut in the mid\n{\"level\":\"info\",\"time\":\"2026-11-24T10:00:02Z\",\"msg\":\"ok again\"}\n";
    let (events, s) = read_bytes(bytes);
    assert_eq!(kinds(&s.notices), vec![LogNoticeKind::BadJson]);
    assert_eq!(s.notices[0].line, 2);
    assert_eq!(events.len(), 3);
    assert_eq!(events[1].raw(), "{\"level\":\"error\",\"msg\":\"cut in the mid");
    assert_eq!(events[2].message(), "ok again");
}

#[test]
fn unfinished_partial_container_line() {
    let bytes = b"2026-11-24T10:00:01.000000000Z stdout F 2026-11-24 10:00:01,000 INFO app: ok\n2026-11-24T10:00:02.000000000Z stdout P 2026-11-24 10:00:02,000 INFO app: never fin\n";
    let (events, s) = read_bytes(bytes);
    assert_eq!(kinds(&s.notices), vec![LogNoticeKind::UnfinishedPartial]);
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].message(), "never fin");
}

#[test]
fn globs_and_bad_paths() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["b.log", "a.log", "c.txt"] {
        std::fs::write(dir.path().join(name), "2026-11-24 10:00:01,000 INFO app: x\n").unwrap();
    }
    let pattern = format!("{}/*.log", dir.path().display());
    let paths = expand_log_paths(&[pattern.as_str(), LOG]).unwrap();
    assert_eq!(paths, vec![dir.path().join("a.log"), dir.path().join("b.log"), LOG.into()]);
    let mut files = Vec::new();
    let s = read_logs(&paths, &LogOptions::default(), |e| files.push(e.file)).unwrap();
    assert_eq!(s.files.len(), 3);
    assert_eq!(files[..2], [0, 1]);
    assert!(files[2..].iter().all(|&f| f == 2));
    // A pattern matching nothing, a bad pattern, a missing file, a directory.
    assert!(expand_log_paths(&[format!("{}/*.nothing", dir.path().display())]).is_err());
    assert!(expand_log_paths(&["[".to_string() + &dir.path().display().to_string() + "/x"]).is_err());
    for bad in [dir.path().join("missing.log"), dir.path().to_path_buf()] {
        let err = read_logs(&[&bad], &LogOptions::default(), |_| {}).unwrap_err();
        assert!(err.to_string().contains(&bad.display().to_string()), "{err}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Arbitrary bytes (mixed with log-like lines): no panic, every line
    /// accounted for, the same result for any block size.
    #[test]
    fn arbitrary_input_never_panics(
        parts in proptest::collection::vec(prop_oneof![
            Just(b"2026-11-24 10:00:01,000 ERROR app: failed\n".to_vec()),
            Just(b"Traceback (most recent call last):\n".to_vec()),
            Just(b"  File \"/a.py\", line 3, in f\n".to_vec()),
            Just(b"\tat com.x.Y.z(Y.java:1)\n".to_vec()),
            Just(b"panic: boom\n\ngoroutine 1 [running]:\n".to_vec()),
            Just(b"{\"time\":1795514400100,\"level\":50,\"msg\":\"x\"}\n".to_vec()),
            Just(b"2026-11-24T10:00:24.2Z stdout P half".to_vec()),
            proptest::collection::vec(any::<u8>(), 0..80),
        ], 0..40),
        block_size in 1usize..300,
    ) {
        let bytes: Vec<u8> = parts.concat();
        let (events, s) = read_bytes(&bytes);
        assert_accounted(&bytes, &events, &s.notices);
        let (cut, _) = read_log_bytes("mem.log", &bytes, &LogOptions { block_size, ..LogOptions::default() });
        prop_assert_eq!(cut, events);
    }
}
