//! Lost packets on a real capture: a gap must never produce a false frame,
//! and every frame outside the lost bytes must decode exactly as before.
//!
//! The test removes one record from a real sample (as a capture that dropped
//! a packet would) and compares the analysis with the intact one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{run, samples_dir};
use wsforensics::session::record::FrameRecord;

/// Copies a classic pcap without record number `drop` (1-based).
fn pcap_without(src: &Path, drop: u64, dst: &Path) {
    let data = std::fs::read(src).unwrap();
    let le = data[..4] == [0xd4, 0xc3, 0xb2, 0xa1] || data[..4] == [0x4d, 0x3c, 0xb2, 0xa1];
    let mut out = data[..24].to_vec();
    let mut pos = 24;
    let mut n = 0;
    while pos + 16 <= data.len() {
        let caplen = if le {
            u32::from_le_bytes(data[pos + 8..pos + 12].try_into().unwrap())
        } else {
            u32::from_be_bytes(data[pos + 8..pos + 12].try_into().unwrap())
        } as usize;
        let end = pos + 16 + caplen;
        n += 1;
        if n != drop {
            out.extend_from_slice(&data[pos..end]);
        }
        pos = end;
    }
    std::fs::write(dst, out).unwrap();
}

/// The fields of a frame that must not change when an unrelated packet is
/// lost (packet numbers after the dropped one shift by one).
fn key(f: &FrameRecord, dropped: u64) -> (u64, u8, u64, u64, u8, bool, u64) {
    let shift = |p: u64| if p > dropped { p - 1 } else { p };
    (f.conn_id, f.direction as u8, f.stream_offset, shift(f.last_packet), f.header.opcode, f.header.fin, f.header.payload_len)
}

fn frames_touching(frames: &[FrameRecord], packet: u64) -> Vec<&FrameRecord> {
    frames.iter().filter(|f| f.first_packet <= packet && packet <= f.last_packet).collect()
}

fn check_drop(capture: &Path, drop: u64) -> (usize, usize) {
    let (full, _) = run(&[capture.to_path_buf()], 1);
    let dir = tempfile::tempdir().unwrap();
    let damaged: PathBuf = dir.path().join("damaged.pcap");
    pcap_without(capture, drop, &damaged);
    let (cut, _) = run(&[damaged], 1);

    // Frames of the intact capture that the lost packet did not touch.
    let touched = frames_touching(&full.frames, drop);
    let expected: Vec<_> =
        full.frames.iter().filter(|f| !(f.first_packet <= drop && drop <= f.last_packet)).map(|f| key(f, drop)).collect();
    let got: Vec<_> = cut.frames.iter().map(|f| key(f, u64::MAX)).collect();
    // No frame appears that was not in the intact capture (no false frame
    // out of bytes around a gap).
    for g in &got {
        let in_full = full.frames.iter().any(|f| {
            let k = key(f, drop);
            (k.0, k.1, k.2, k.4, k.5, k.6) == (g.0, g.1, g.2, g.4, g.5, g.6)
        });
        assert!(in_full, "dropping packet {drop} produced a frame that does not exist: {g:?}");
    }
    // Every untouched frame is still there, identical; frames after a lost
    // header may be skipped only until the decoder finds its step again.
    let missing: Vec<_> = expected.iter().filter(|e| !got.contains(e)).collect();
    let gap_findings = cut.findings.iter().filter(|f| f.kind == "tcp-gap").count();
    assert!(gap_findings >= 1, "the lost packet is reported as a gap");
    for c in &cut.connections {
        for b in &c.bytes {
            assert_eq!(b.accounted(), b.captured, "accounting after the drop");
        }
    }
    (touched.len(), missing.len())
}

#[test]
fn packet_lost_inside_a_large_frame_keeps_every_other_frame() {
    // node-echo-plain.pcap carries 70000-byte binary messages over several
    // segments: lose the last segment of one (it holds only that frame's
    // bytes, so the gap ends where the frame ends).
    let capture = samples_dir().join("node-echo-plain.pcap");
    let (full, _) = run(std::slice::from_ref(&capture), 1);
    let big = full
        .frames
        .iter()
        .find(|f| f.last_packet > f.first_packet && frames_touching(&full.frames, f.last_packet).len() == 1)
        .expect("a frame over several packets");
    let drop = big.last_packet;
    let (touched, missing) = check_drop(&capture, drop);
    assert_eq!(touched, 1);
    assert_eq!(missing, 0, "a gap inside a payload must not lose any other frame");
    // The damaged frame is still reported, with its gap.
    let dir = tempfile::tempdir().unwrap();
    let damaged = dir.path().join("d.pcap");
    pcap_without(&capture, drop, &damaged);
    let (cut, _) = run(&[damaged], 1);
    let f = cut.frames.iter().find(|f| f.stream_offset == big.stream_offset && f.conn_id == big.conn_id).unwrap();
    assert!(f.gap_len > 0 && f.captured_len < f.header.payload_len);
}

#[test]
fn packet_lost_over_frame_headers_resyncs_without_false_frames() {
    // Lose a packet that starts with a frame header: the decoder must find
    // the next frame boundary again and report what it skipped.
    let capture = samples_dir().join("py-echo-plain.pcap");
    let (full, _) = run(std::slice::from_ref(&capture), 1);
    // A small frame alone in its packet, followed by more frames in the same
    // direction.
    let victim = full
        .frames
        .iter()
        .filter(|f| f.first_packet == f.last_packet && f.header.payload_len > 0)
        .find(|f| full.frames.iter().filter(|g| g.conn_id == f.conn_id && g.direction == f.direction && g.index > f.index).count() >= 4)
        .expect("a frame alone in its packet");
    let (_, missing) = check_drop(&capture, victim.first_packet);
    // At most the frames right after the gap may be lost while resyncing.
    assert!(missing <= 3, "{missing} frames lost after one dropped packet");
    let dir = tempfile::tempdir().unwrap();
    let damaged = dir.path().join("d.pcap");
    pcap_without(&capture, victim.first_packet, &damaged);
    let (cut, _) = run(&[damaged], 1);
    assert!(cut.findings.iter().any(|f| f.kind == "resync"), "the decoder says where it found frames again");
}
