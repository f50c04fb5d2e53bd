//! Damaged captures, made at test time from real ones: cut inside a record
//! header or body, bit-flipped record headers, an empty file, a wrong magic,
//! pcapng with an unknown block and with malformed blocks, a snapshot length
//! of 64 bytes, random bytes, and traffic with no WebSocket at all.
//!
//! Each case checks what is said (the notice or error, naming the file and
//! the byte offset of the damage) and what is kept (the packets and frames
//! before the damage, and after it where the format allows), through the
//! library (`pipeline::analyze`) and through the binary (exit status and
//! text). Nothing may panic: the binary's exit status is checked on every
//! case (a panic exits with 101).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[path = "../examples/common/hostile.rs"]
mod hostile;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Collected, public_dir, run, samples_dir};
use wsforensics::capture::{CaptureNotice, CaptureNoticeKind, CaptureReader};
use wsforensics::decode::{Decoded, decode_packet};
use wsforensics::pipeline::{AnalysisOptions, AnalysisStats, analyze};

/// The real capture most cases damage: 39 packets, two WebSocket
/// connections with permessage-deflate, 13 frames (tshark agrees).
fn sample() -> PathBuf {
    samples_dir().join("py-handler-error-1011.pcap")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Byte offset and caplen of every record of a little-endian classic pcap.
fn records(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut off = 24;
    while off + 16 <= bytes.len() {
        let caplen = u32::from_le_bytes(bytes[off + 8..off + 12].try_into().unwrap()) as usize;
        out.push((off, caplen));
        off += 16 + caplen;
    }
    out
}

/// Offset of the block after each pcapng block: (offset, type, length).
fn blocks(bytes: &[u8]) -> Vec<(usize, u32, usize)> {
    let mut out = Vec::new();
    let mut off = 0;
    while off + 8 <= bytes.len() {
        let t = u32::from_le_bytes(bytes[off..off + 4].try_into().unwrap());
        let l = u32::from_le_bytes(bytes[off + 4..off + 8].try_into().unwrap()) as usize;
        out.push((off, t, l));
        off += l;
    }
    out
}

/// Runs the library with one thread (the output does not depend on it).
fn lib(path: &Path) -> (Collected, AnalysisStats) {
    run(&[path.to_path_buf()], 1)
}

struct Cli {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn cli(args: &[&std::ffi::OsStr]) -> Cli {
    let out = Command::new(env!("CARGO_BIN_EXE_wsforensics")).args(args).output().unwrap();
    let c = Cli {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!c.stderr.contains("panicked"), "the binary panicked: {}", c.stderr);
    assert_ne!(c.code, Some(101), "the binary panicked: {}", c.stderr);
    c
}

fn cli_on(path: &Path) -> Cli {
    cli(&[path.as_os_str()])
}

/// Every captured byte of every WebSocket connection is accounted for.
fn assert_accounting(c: &Collected) {
    for conn in &c.connections {
        for (i, b) in conn.bytes.iter().enumerate() {
            assert_eq!(b.accounted(), b.captured, "conn {} dir {i}: {b:?}", conn.conn_id);
        }
    }
}

/// The frames as comparable tuples: (conn, direction, index, opcode,
/// payload length, last packet).
fn frame_keys(c: &Collected) -> Vec<(u64, &'static str, u64, u8, u64, u64)> {
    c.frames.iter().map(|f| (f.conn_id, f.direction.as_str(), f.index, f.header.opcode, f.header.payload_len, f.last_packet)).collect()
}

/// The error of an input that cannot be analyzed at all.
fn fatal(path: &Path, why: &str) -> wsforensics::error::Error {
    let opts = AnalysisOptions { threads: 1, ..AnalysisOptions::default() };
    analyze(&[path.to_path_buf()], &opts, &mut Collected::default(), &mut ()).expect_err(why)
}

fn only_notice(stats: &AnalysisStats) -> &CaptureNotice {
    assert_eq!(stats.notices.len(), 1, "{:#?}", stats.notices);
    &stats.notices[0]
}

/// The notice as the user reads it: `FILE: byte OFFSET: MESSAGE`.
fn shown(n: &CaptureNotice) -> String {
    n.to_string()
}

#[test]
fn the_sample_is_what_the_cases_assume() {
    let (c, stats) = lib(&sample());
    assert_eq!(stats.packets, 39);
    assert!(stats.notices.is_empty());
    assert_eq!(c.connections.len(), 2);
    assert_eq!(c.frames.len(), 13);
    let bytes = std::fs::read(sample()).unwrap();
    let recs = records(&bytes);
    assert_eq!(recs.len(), 39);
    // Record 20 (index 19) is a bare ACK: 66 bytes, no TCP payload.
    assert_eq!(recs[19], (2887, 66));
}

// ---------------------------------------------------------------------------
// Truncation

#[test]
fn truncated_inside_a_record_header() {
    let bytes = std::fs::read(sample()).unwrap();
    let (off, _) = records(&bytes)[19];
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "cut-header.pcap", &bytes[..off + 7]);

    let (full, _) = lib(&sample());
    let (c, stats) = lib(&p);
    assert_eq!(stats.packets, 19, "every record before the cut is read");
    let n = only_notice(&stats);
    assert_eq!((n.kind, n.offset, n.after_packet), (CaptureNoticeKind::Truncated, off as u64, Some(19)));
    assert_eq!(
        shown(n),
        format!("{}: byte {off}: truncated record header: 7 of 16 bytes left in file (capture cut while writing?)", p.display())
    );
    // The frames of packets 1-19 are all there, as in the whole capture.
    let before: Vec<_> = frame_keys(&full).into_iter().filter(|k| k.5 <= 19).collect();
    assert_eq!(before.len(), 4);
    assert_eq!(frame_keys(&c), before);
    // Both connections are reported, ended by the end of the capture.
    assert_eq!(c.connections.len(), 2);
    assert!(
        c.connections.iter().all(|k| k.termination.as_str() == "capture_end"),
        "{:?}",
        c.connections.iter().map(|k| k.termination).collect::<Vec<_>>()
    );
    assert_accounting(&c);

    let out = cli_on(&p);
    assert_eq!(out.code, Some(0), "damage is reported, not fatal: {}", out.stderr);
    assert!(out.stdout.contains("Capture: 1 file(s), 19 packets"), "{}", out.stdout);
    assert!(out.stdout.contains(&format!("capture damage: {}: byte {off}: truncated record header", p.display())), "{}", out.stdout);
    assert!(out.stdout.contains("partial results:"), "damaged input says its results are partial: {}", out.stdout);
    assert!(out.stdout.contains("WebSocket connections: 2"), "{}", out.stdout);
}

#[test]
fn truncated_inside_a_record_body() {
    let bytes = std::fs::read(sample()).unwrap();
    let (off, caplen) = records(&bytes)[19];
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "cut-body.pcap", &bytes[..off + 16 + 30]);

    let (full, _) = lib(&sample());
    let (c, stats) = lib(&p);
    assert_eq!(stats.packets, 19);
    let n = only_notice(&stats);
    assert_eq!((n.kind, n.offset), (CaptureNoticeKind::Truncated, off as u64));
    assert_eq!(
        shown(n),
        format!("{}: byte {off}: truncated record: header says {caplen} bytes, 30 left in file (capture cut while writing?)", p.display())
    );
    let before: Vec<_> = frame_keys(&full).into_iter().filter(|k| k.5 <= 19).collect();
    assert_eq!(frame_keys(&c), before);
    assert_accounting(&c);

    let out = cli_on(&p);
    assert_eq!(out.code, Some(0));
    assert!(
        out.stdout.contains(&format!("capture damage: {}: byte {off}: truncated record: header says {caplen} bytes", p.display())),
        "{}",
        out.stdout
    );
}

// ---------------------------------------------------------------------------
// Bit-flipped record headers

#[test]
fn absurd_caplen_costs_one_record() {
    let mut bytes = std::fs::read(sample()).unwrap();
    let recs = records(&bytes);
    let (off, _) = recs[19];
    let (next, _) = recs[20];
    bytes[off + 8..off + 12].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "absurd-caplen.pcap", &bytes);

    let (full, _) = lib(&sample());
    let (c, stats) = lib(&p);
    assert_eq!(stats.packets, 38, "only the damaged record is lost");
    let n = only_notice(&stats);
    assert_eq!((n.kind, n.offset), (CaptureNoticeKind::Corrupt { resumed_at: Some(next as u64) }, off as u64));
    let text = shown(n);
    assert!(text.starts_with(&format!("{}: byte {off}: corrupt record header: caplen 2147483647 is above 262144", p.display())), "{text}");
    assert!(text.contains(&format!("(bytes {off}..{next})")), "{text}");
    // Record 20 was a bare ACK: every frame is still decoded; packets after
    // it are numbered one lower.
    let expected: Vec<_> = frame_keys(&full)
        .into_iter()
        .map(|mut k| {
            if k.5 > 20 {
                k.5 -= 1;
            }
            k
        })
        .collect();
    assert_eq!(frame_keys(&c), expected);
    assert_accounting(&c);

    let out = cli_on(&p);
    assert_eq!(out.code, Some(0));
    assert!(out.stdout.contains("38 packets"), "{}", out.stdout);
    assert!(out.stdout.contains(&format!("{}: byte {off}: corrupt record header", p.display())), "{}", out.stdout);
    assert!(out.stdout.contains("Frames: 13"), "{}", out.stdout);
}

#[test]
fn flipped_byte_in_a_caplen_within_the_snapshot_length() {
    // Record 22 (a 70-byte packet holding a Close frame): a flipped bit in
    // the third byte of its caplen makes it 65606, under the file's
    // snapshot length but past the end of the file and far above the
    // record's own original length (70).
    let mut bytes = std::fs::read(sample()).unwrap();
    let recs = records(&bytes);
    let (off, caplen) = recs[21];
    assert_eq!(caplen, 70);
    let (next, _) = recs[22];
    bytes[off + 10] ^= 0x01;
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "flipped-caplen.pcap", &bytes);

    let (full, _) = lib(&sample());
    let (c, stats) = lib(&p);
    let n = only_notice(&stats);
    assert_eq!((n.kind, n.offset), (CaptureNoticeKind::Corrupt { resumed_at: Some(next as u64) }, off as u64), "{}", shown(n));
    assert!(shown(n).contains("corrupt record header: caplen 65606 is above the record's original length 70"), "{}", shown(n));
    assert_eq!(stats.packets, 38, "reading goes on after the damaged record");
    // The frames of every other packet are kept (packet 22's Close is lost,
    // later packets are numbered one lower).
    let expected: Vec<_> = frame_keys(&full)
        .into_iter()
        .filter(|k| k.5 != 22)
        .map(|mut k| {
            if k.5 > 22 {
                k.5 -= 1;
            }
            k
        })
        .collect();
    assert_eq!(frame_keys(&c), expected);
    assert_accounting(&c);

    let out = cli_on(&p);
    assert_eq!(out.code, Some(0));
    assert!(out.stdout.contains(&format!("{}: byte {off}: corrupt record header: caplen 65606", p.display())), "{}", out.stdout);
}

#[test]
fn flipped_bytes_in_timestamps_and_original_lengths_lose_nothing() {
    // Damage to fields that do not frame the file: a timestamp's seconds,
    // a microsecond fraction out of range, an original length. Every packet
    // and frame is kept.
    let mut bytes = std::fs::read(sample()).unwrap();
    let recs = records(&bytes);
    bytes[recs[5].0 + 3] ^= 0x10; // seconds of packet 6: years away
    bytes[recs[9].0 + 6] ^= 0x80; // microseconds of packet 10 above 1e6
    bytes[recs[30].0 + 13] ^= 0x40; // original length of packet 31
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "flipped-fields.pcap", &bytes);
    let (full, _) = lib(&sample());
    let (c, stats) = lib(&p);
    assert_eq!(stats.packets, 39);
    assert!(stats.notices.is_empty(), "{:?}", stats.notices);
    assert_eq!(frame_keys(&c), frame_keys(&full));
    assert_eq!(c.connections.len(), 2);
    assert_accounting(&c);
    let out = cli_on(&p);
    assert_eq!(out.code, Some(0));
    assert!(out.stdout.contains("Frames: 13"), "{}", out.stdout);
}

// ---------------------------------------------------------------------------
// Not a capture at all

#[test]
fn zero_length_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "empty.pcap", b"");
    let err = fatal(&p, "an empty file is not a capture");
    assert_eq!(err.to_string(), format!("{}: byte 0: empty file (0 bytes): not a pcap or pcapng capture", p.display()));
    let out = cli_on(&p);
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains(&format!("{}: byte 0: empty file", p.display())), "{}", out.stderr);
}

#[test]
fn wrong_magic_is_an_error_naming_the_bytes() {
    let mut bytes = std::fs::read(sample()).unwrap();
    bytes[..4].copy_from_slice(b"\x7fELF");
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "elf.pcap", &bytes);
    let err = fatal(&p, "not a capture");
    assert_eq!(err.to_string(), format!("{}: byte 0: not a pcap or pcapng capture: found magic bytes 7f 45 4c 46", p.display()));
    let out = cli_on(&p);
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("found magic bytes 7f 45 4c 46"), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "no partial report for an unreadable input: {}", out.stdout);

    // A gzip-compressed capture says what to do.
    let gz = write(dir.path(), "capture.pcap.gz", &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
    let out = cli_on(&gz);
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("gzip-compressed data: decompress it first"), "{}", out.stderr);
}

// ---------------------------------------------------------------------------
// pcapng

fn pcapng_sample() -> PathBuf {
    samples_dir().join("py-echo-deflate.pcapng")
}

#[test]
fn pcapng_unknown_block_type_is_skipped_silently() {
    // draft-ietf-opsawg-pcapng §3.1: a reader skips blocks it does not
    // know; that is not damage, so there is no notice, and nothing else
    // changes.
    let bytes = std::fs::read(pcapng_sample()).unwrap();
    let at = blocks(&bytes)[5].0;
    let mut damaged = bytes[..at].to_vec();
    let body = b"vendor data!";
    let len = (12 + body.len()) as u32;
    damaged.extend_from_slice(&0x0000_0F0Fu32.to_le_bytes());
    damaged.extend_from_slice(&len.to_le_bytes());
    damaged.extend_from_slice(body);
    damaged.extend_from_slice(&len.to_le_bytes());
    damaged.extend_from_slice(&bytes[at..]);
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "unknown-block.pcapng", &damaged);

    let (full, full_stats) = lib(&pcapng_sample());
    let (c, stats) = lib(&p);
    assert!(stats.notices.is_empty(), "{:?}", stats.notices);
    assert_eq!(stats.packets, full_stats.packets);
    assert_eq!(frame_keys(&c), frame_keys(&full));
    let mut reader = CaptureReader::open(std::slice::from_ref(&p)).unwrap();
    while reader.next_packet().unwrap().is_some() {}
    assert_eq!(reader.unknown_blocks(), 1);

    let out = cli_on(&p);
    assert_eq!(out.code, Some(0));
    assert!(!out.stdout.contains("capture damage") && !out.stdout.contains("partial results"), "{}", out.stdout);
}

#[test]
fn pcapng_block_length_not_a_multiple_of_four() {
    let mut bytes = std::fs::read(pcapng_sample()).unwrap();
    let bl = blocks(&bytes);
    let (at, t, len) = bl[5];
    assert_eq!(t, 6);
    let next = bl[6].0;
    bytes[at + 4..at + 8].copy_from_slice(&((len + 1) as u32).to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "bad-length.pcapng", &bytes);

    let (full, full_stats) = lib(&pcapng_sample());
    let (c, stats) = lib(&p);
    let n = only_notice(&stats);
    assert_eq!((n.kind, n.offset), (CaptureNoticeKind::Corrupt { resumed_at: Some(next as u64) }, at as u64));
    assert_eq!(
        shown(n),
        format!(
            "{}: byte {at}: corrupt block header: block type 0x6 has length {} (must be a multiple of 4, at least 32); skipped {} bytes (bytes {at}..{next}) to the next plausible record",
            p.display(),
            len + 1,
            next - at
        )
    );
    assert_eq!(stats.packets, full_stats.packets - 1, "one packet lost");
    // Packet 5 (the block) carried the HTTP request: the rest of the
    // traffic is still read; its frames keep their order.
    assert!(c.frames.len() >= full.frames.len() - 2, "{} of {} frames", c.frames.len(), full.frames.len());
    assert_accounting(&c);

    let out = cli_on(&p);
    assert_eq!(out.code, Some(0));
    assert!(out.stdout.contains(&format!("capture damage: {}: byte {at}: corrupt block header", p.display())), "{}", out.stdout);
}

#[test]
fn pcapng_trailer_mismatch() {
    let mut bytes = std::fs::read(pcapng_sample()).unwrap();
    let bl = blocks(&bytes);
    let (at, _, len) = bl[9];
    let next = bl[10].0;
    bytes[at + len - 4..at + len].copy_from_slice(&999u32.to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "bad-trailer.pcapng", &bytes);

    let (_, full_stats) = lib(&pcapng_sample());
    let (c, stats) = lib(&p);
    let n = only_notice(&stats);
    assert_eq!((n.kind, n.offset), (CaptureNoticeKind::Corrupt { resumed_at: Some(next as u64) }, at as u64));
    assert!(
        shown(n).starts_with(&format!("{}: byte {at}: corrupt block: length {len} at the start, 999 at the end", p.display())),
        "{}",
        shown(n)
    );
    assert_eq!(stats.packets, full_stats.packets - 1);
    assert_accounting(&c);
    let out = cli_on(&p);
    assert_eq!(out.code, Some(0));
    assert!(out.stdout.contains(&format!("byte {at}: corrupt block: length {len} at the start, 999 at the end")), "{}", out.stdout);
}

#[test]
fn pcapng_huge_block_length() {
    // An Enhanced Packet Block whose length says 4 GiB - 16: more than the
    // reader ever buffers. The reader scans for the next real block.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("huge-block.pcapng");
    let mut w = hostile::PcapNgWriter::new(std::fs::File::create(&p).unwrap()).unwrap();
    let at = hostile::pcapng_bogus_block(&mut w, 3, 3, 6, 0xffff_fff0).unwrap();
    drop(w);
    let (c, stats) = lib(&p);
    let n = only_notice(&stats);
    assert_eq!(n.offset, at);
    // The bogus block's 88 bytes are skipped: nothing after it is lost.
    assert!(matches!(n.kind, CaptureNoticeKind::Corrupt { resumed_at: Some(r) } if r == at + 88), "{n:?}");
    assert!(shown(n).contains("claims 4294967280 bytes (more than the 268435456-byte limit)"), "{}", shown(n));
    assert_eq!(stats.packets, 48, "all 6 connections (8 packets each) are read");
    assert_eq!(c.connections.len(), 6);
    assert_eq!(c.frames.len(), 6 * 3);
    assert_accounting(&c);
    let out = cli_on(&p);
    assert_eq!(out.code, Some(0));
    assert!(out.stdout.contains(&format!("{}: byte {at}: corrupt block header", p.display())), "{}", out.stdout);
}

// ---------------------------------------------------------------------------
// Snapshot length

/// The capture with every record cut to `snaplen` bytes, original lengths
/// kept, and the file header's snapshot length set to match.
fn cut_to_snaplen(bytes: &[u8], snaplen: usize) -> Vec<u8> {
    let mut out = bytes[..24].to_vec();
    out[16..20].copy_from_slice(&(snaplen as u32).to_le_bytes());
    for (off, caplen) in records(bytes) {
        let keep = caplen.min(snaplen);
        let mut h = bytes[off..off + 16].to_vec();
        h[8..12].copy_from_slice(&(keep as u32).to_le_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(&bytes[off + 16..off + 16 + keep]);
    }
    out
}

#[test]
fn snaplen_cut_frames_keep_their_lengths_and_the_bytes_add_up() {
    // The samples were recorded on loopback with 32-byte TCP headers
    // (timestamp option), so 14 + 20 + 32 = 66 header bytes: the cut that
    // leaves what a 64-byte snapshot leaves behind 20-byte TCP headers is
    // 96 (30 payload bytes per packet). py-echo-plain has frames of up to
    // 100 KiB in both directions.
    let src = samples_dir().join("py-echo-plain.pcap");
    let bytes = std::fs::read(&src).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "snap96.pcap", &cut_to_snaplen(&bytes, 96));
    let (full, full_stats) = lib(&src);
    let (c, stats) = lib(&p);
    assert!(stats.notices.is_empty(), "a snapshot cut is not file damage: {:?}", stats.notices);
    assert_eq!((stats.packets, stats.tcp_segments), (full_stats.packets, full_stats.tcp_segments));
    assert_eq!(c.connections.len(), 1);
    assert_accounting(&c);
    // Captured + never captured = what was on the wire, per direction.
    for (b, w) in c.connections[0].bytes.iter().zip(&full.connections[0].bytes) {
        assert_eq!(b.captured + b.gap, w.captured, "{b:?} vs {w:?}");
        assert!(b.gap > 200_000, "{b:?}");
    }
    // The handshake was cut (30 bytes of it per packet), so frames were
    // found without it; then every frame of the capture is there with its
    // declared length, and says how much of it is missing.
    assert_eq!(c.connections[0].handshake.as_str(), "missing");
    let lens =
        |c: &Collected| c.frames.iter().map(|f| (f.direction.as_str(), f.index, f.header.opcode, f.header.payload_len)).collect::<Vec<_>>();
    let whole = lens(&full);
    let got = lens(&c);
    assert_eq!(got.len(), whole.len(), "{got:?}\n{whole:?}");
    for k in &got {
        assert!(whole.contains(k), "{k:?} is not a frame of the whole capture");
    }
    for f in &c.frames {
        assert!(f.captured_len + f.gap_len <= f.header.payload_len, "{f:?}");
        if f.captured_len < f.header.payload_len {
            assert!(f.gap_len > 0 || f.truncated, "{f:?}");
        }
    }
    let big: Vec<_> = c.frames.iter().filter(|f| f.header.payload_len >= 65_535).collect();
    assert_eq!(big.len(), 6, "the three large messages each way");
    assert!(big.iter().all(|f| f.gap_len > 60_000 && f.captured_len < 100), "{big:?}");
    let gaps: Vec<_> = c.findings.iter().filter(|f| f.kind == "tcp-gap").collect();
    assert!(gaps.len() > 10);
    assert!(gaps.iter().all(|f| f.detail.ends_with("(snaplen_cut)")), "{:?}", gaps.iter().map(|f| &f.detail).collect::<Vec<_>>());
    assert!(c.violations.is_empty(), "damage never becomes a verdict: {:?}", c.violations.iter().map(|v| v.rule).collect::<Vec<_>>());

    let out = cli_on(&p);
    assert_eq!(out.code, Some(0));
    assert!(out.stdout.contains("WebSocket connections: 1  (upgrades ok 0, failed 0, handshake not captured 1)"), "{}", out.stdout);
    assert!(out.stdout.contains("bytes never captured (TCP gaps)"), "{}", out.stdout);
    assert!(!out.stdout.contains("capture damage") && !out.stdout.contains("partial results"), "{}", out.stdout);
}

#[test]
fn snaplen_64() {
    // With the samples' 66-byte headers, 64 bytes cut every TCP header:
    // no packet is usable, each is counted as skipped, no connection.
    let bytes = std::fs::read(sample()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "snap64.pcap", &cut_to_snaplen(&bytes, 64));
    let (c, stats) = lib(&p);
    assert_eq!((stats.packets, stats.tcp_segments, stats.tcp_connections), (39, 0, 0));
    assert_eq!(stats.skipped.get("truncated"), Some(&39), "{:?}", stats.skipped);
    assert!(c.connections.is_empty() && c.frames.is_empty());
    let out = cli_on(&p);
    assert_eq!(out.code, Some(0));
    assert!(out.stdout.contains("WebSocket connections: 0"), "{}", out.stdout);

    // Behind 20-byte TCP headers, 64 bytes leave 10 bytes of each segment:
    // "GET /chat " of the request, 8 bytes of each frame. Nothing proves
    // WebSocket (no handshake, no complete frame), so nothing is claimed:
    // no connection record, no frame, no violation; the TCP connection is
    // counted and every segment decoded.
    let src = public_dir().join("suricata-verify/websocket.pcap");
    let bytes = std::fs::read(&src).unwrap();
    let p = write(dir.path(), "snap64-eth.pcap", &cut_to_snaplen(&bytes, 64));
    let (c, stats) = lib(&p);
    assert!(stats.notices.is_empty(), "{:?}", stats.notices);
    assert_eq!((stats.packets, stats.tcp_segments, stats.tcp_connections), (21, 21, 1));
    assert!(c.connections.is_empty() && c.frames.is_empty() && c.violations.is_empty());
    let out = cli_on(&p);
    assert_eq!(out.code, Some(0));
    assert!(out.stdout.contains("21 packets, 1 TCP connections"), "{}", out.stdout);
    assert!(out.stdout.contains("WebSocket connections: 0"), "{}", out.stdout);

    // At 100 bytes each of the sample's packets keeps 34 bytes of
    // payload: small frames survive whole, the cut handshake is a gap.
    let p100 = write(dir.path(), "snap100.pcap", &cut_to_snaplen(&std::fs::read(sample()).unwrap(), 100));
    let (full, _) = lib(&sample());
    let (c, stats) = lib(&p100);
    assert_eq!(stats.tcp_segments, 39);
    assert_eq!(c.connections.len(), full.connections.len());
    assert_accounting(&c);
    for (conn, whole) in c.connections.iter().zip(&full.connections) {
        for (b, w) in conn.bytes.iter().zip(&whole.bytes) {
            assert_eq!(b.captured + b.gap, w.captured, "conn {}: {b:?} vs {w:?}", conn.conn_id);
        }
    }
    assert!(c.frames.len() >= 10, "{}", c.frames.len());
    assert!(c.violations.is_empty(), "{:?}", c.violations.iter().map(|v| (v.rule, &v.detail)).collect::<Vec<_>>());
    assert_eq!(cli_on(&p100).code, Some(0));
}

// ---------------------------------------------------------------------------
// Random bytes

/// xorshift64*: deterministic noise.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
        })
        .collect()
}

#[test]
fn random_bytes() {
    let dir = tempfile::tempdir().unwrap();
    // No magic at all: an error, exit 2.
    let p = write(dir.path(), "noise.bin", &noise(1, 4096));
    let out = cli_on(&p);
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("not a pcap or pcapng capture"), "{}", out.stderr);

    // A pcap header followed by noise: a notice for the first bad record,
    // no packets, exit 0.
    let mut bytes = std::fs::read(sample()).unwrap()[..24].to_vec();
    bytes.extend(noise(2, 64 << 10));
    let p = write(dir.path(), "pcap-noise.pcap", &bytes);
    let (c, stats) = lib(&p);
    assert!(c.connections.is_empty());
    assert!(!stats.notices.is_empty());
    assert_eq!(stats.notices[0].offset, 24, "{:?}", stats.notices);
    assert_eq!(stats.notices[0].file, p);
    let out = cli_on(&p);
    assert_eq!(out.code, Some(0));
    assert!(out.stdout.contains(&format!("capture damage: {}: byte 24: ", p.display())), "{}", out.stdout);

    // A pcapng section and interface followed by noise.
    let mut w = hostile::PcapNgWriter::new(Vec::new()).unwrap();
    w.raw(&noise(3, 64 << 10)).unwrap();
    let p = write(dir.path(), "pcapng-noise.pcapng", &w.into_inner());
    let (c, stats) = lib(&p);
    assert!(c.connections.is_empty());
    assert_eq!(stats.notices.first().map(|n| n.offset), Some(48), "{:?}", stats.notices);
    assert_eq!(cli_on(&p).code, Some(0));

    // The sample with 1 KiB of noise over its middle: what is before the
    // noise is kept, reading resumes after it.
    let mut bytes = std::fs::read(sample()).unwrap();
    let recs = records(&bytes);
    let (from, _) = recs[15];
    bytes[from..from + 1024].copy_from_slice(&noise(4, 1024));
    let p = write(dir.path(), "sample-noise.pcap", &bytes);
    let (full, _) = lib(&sample());
    let (c, stats) = lib(&p);
    let first = &stats.notices[0];
    assert_eq!(first.offset, from as u64);
    assert!(matches!(first.kind, CaptureNoticeKind::Corrupt { resumed_at: Some(r) } if r >= (from + 1024) as u64), "{first:?}");
    let before: Vec<_> = frame_keys(&full).into_iter().filter(|k| k.5 <= 15).collect();
    assert_eq!(frame_keys(&c)[..before.len()], before[..]);
    assert!(stats.packets > 15 + 5, "records after the noise are read: {}", stats.packets);
    assert_accounting(&c);
    assert_eq!(cli_on(&p).code, Some(0));
}

// ---------------------------------------------------------------------------
// No WebSocket at all

#[test]
fn traffic_without_websocket() {
    // The nDPI VMess capture holds a SOCKS conversation (:1080), a TLS 1.3
    // conversation with YouTube (:443) and a WebSocket tunnel (:1234).
    // Without the tunnel's packets it is real traffic with no WebSocket.
    let src = public_dir().join("ndpi/tls_heur__vmess-websocket.pcapng");
    let mut reader = CaptureReader::open(std::slice::from_ref(&src)).unwrap();
    let mut out = Vec::new();
    let mut w = None;
    let mut kept = 0;
    while let Some(pkt) = reader.next_packet().unwrap() {
        let tunnel = matches!(decode_packet(pkt.linktype, &pkt.data), Decoded::Tcp(t) if t.src.port() == 1234 || t.dst.port() == 1234);
        if tunnel {
            continue;
        }
        let pw = w.get_or_insert_with(|| {
            let mut h = Vec::new();
            h.extend_from_slice(&0xa1b2_3c4du32.to_le_bytes()); // nanoseconds
            h.extend_from_slice(&2u16.to_le_bytes());
            h.extend_from_slice(&4u16.to_le_bytes());
            h.extend_from_slice(&[0; 8]);
            h.extend_from_slice(&262_144u32.to_le_bytes());
            h.extend_from_slice(&u32::from(pkt.linktype.0).to_le_bytes());
            h
        });
        let ts = pkt.ts.as_nanos() as u64;
        pw.extend_from_slice(&((ts / 1_000_000_000) as u32).to_le_bytes());
        pw.extend_from_slice(&((ts % 1_000_000_000) as u32).to_le_bytes());
        pw.extend_from_slice(&(pkt.data.len() as u32).to_le_bytes());
        pw.extend_from_slice(&pkt.orig_len.to_le_bytes());
        pw.extend_from_slice(&pkt.data);
        kept += 1;
    }
    out.extend(w.unwrap());
    assert!(kept > 50, "{kept}");
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "no-websocket.pcap", &out);

    let (c, stats) = lib(&p);
    assert_eq!(stats.packets, kept);
    assert_eq!(stats.tcp_connections, 2);
    assert!(stats.notices.is_empty());
    assert!(c.connections.is_empty() && c.frames.is_empty() && c.findings.is_empty() && c.violations.is_empty());

    let out = cli_on(&p);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains(&format!("Capture: 1 file(s), {kept} packets, 2 TCP connections")), "{}", out.stdout);
    assert!(out.stdout.contains("WebSocket connections: 0"), "{}", out.stdout);
    // Even when asked to fail on problems, there are none.
    let strict = cli(&[p.as_os_str(), "--fail-on".as_ref(), "violations,1011,abnormal".as_ref(), "-q".as_ref()]);
    assert_eq!(strict.code, Some(0));
}
