//! Ground truth: a capture generated at test time (the generator of
//! `examples/gen_capture.rs`) is analyzed, and the analyzer's counts must
//! equal the generator's sidecar exactly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[path = "../examples/common/capgen.rs"]
mod capgen;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use capgen::{DIRS, GenConfig, RULES, Truth, close_key, generate, opcode_key};
use common::{Collected, run};
use wsforensics::pipeline::AnalysisStats;
use wsforensics::session::record::HandshakeState;

/// A small capture with every feature: a few hundred connections open at
/// once, violations, permessage-deflate, fragmented and multi-segment
/// messages.
fn config() -> GenConfig {
    GenConfig {
        size: 16 << 20,
        seed: 20261124,
        connections: 400,
        violation_rate: 0.03,
        deflate_share: 0.4,
        big_max: 256 << 10,
        mean_events: 12,
    }
}

/// The capture bytes and truth, generated once per test binary.
fn capture() -> &'static (Vec<u8>, Truth) {
    static CAPTURE: OnceLock<(Vec<u8>, Truth)> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let mut bytes = Vec::new();
        let truth = generate(&config(), &mut bytes).expect("generation failed");
        (bytes, truth)
    })
}

/// Writes the capture and its sidecar into a fresh temporary directory.
fn write_capture() -> (tempfile::TempDir, PathBuf) {
    let (bytes, truth) = capture();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("generated.pcap");
    std::fs::write(&path, bytes).unwrap();
    std::fs::write(dir.path().join("generated.pcap.truth.json"), truth.to_json(&config())).unwrap();
    (dir, path)
}

/// The analyzer's results under the truth's counter keys.
fn observed(c: &Collected, stats: &AnalysisStats) -> BTreeMap<String, u64> {
    let mut m: BTreeMap<String, u64> = BTreeMap::new();
    let mut add = |k: String, n: u64| *m.entry(k).or_default() += n;
    add("packets".into(), stats.packets);
    add("pcap_bytes".into(), stats.bytes_read);
    add("tcp_connections".into(), stats.tcp_connections);
    add("websocket_connections".into(), c.connections.len() as u64);
    for rec in &c.connections {
        let hs = match rec.handshake {
            HandshakeState::Ok => "ok",
            HandshakeState::Failed => "failed",
            HandshakeState::Missing => "missing",
        };
        add(format!("handshakes.{hs}"), 1);
        if rec.http.extensions.contains("permessage-deflate") {
            add("deflate_connections".into(), 1);
        }
        for (d, dir) in DIRS.iter().enumerate() {
            add(format!("messages.{dir}"), rec.messages[d]);
            add(format!("ws_payload_bytes.{dir}"), rec.payload_bytes[d]);
            add(format!("ws_header_bytes.{dir}"), rec.bytes[d].frame_headers);
            add(format!("http_bytes.{dir}"), rec.bytes[d].handshake);
            add(format!("ws_captured_bytes.{dir}"), rec.bytes[d].captured);
        }
        if rec.closes.iter().all(Option::is_none) {
            add("connections_without_close".into(), 1);
        }
        add(format!("terminations.{}", rec.termination.as_str()), 1);
    }
    for f in &c.frames {
        let dir = f.direction.as_str();
        add(format!("frames.{dir}.{}", opcode_key(f.header.opcode)), 1);
        if f.header.rsv1 {
            add(format!("frames_rsv1.{dir}"), 1);
        }
    }
    for cl in &c.closes {
        if cl.inferred && cl.frame_index.is_none() {
            add("closes_inferred".into(), 1);
        } else {
            add(format!("closes.{}.{}", cl.direction.as_str(), close_key(cl.code)), 1);
        }
    }
    for msg in c.messages.iter().filter(|m| m.complete) {
        let dir = msg.direction.as_str();
        add(format!("message_records.{dir}"), 1);
        if msg.compressed {
            add(format!("messages_rsv1.{dir}"), 1);
        }
    }
    m
}

/// The truth's counters, plus what follows from them for the analyzer's
/// derived records.
fn expected(truth: &Truth) -> BTreeMap<String, u64> {
    let mut m = truth.counters();
    // Every connection without a Close frame ended with FIN or RST: the
    // analyzer infers one 1006 close for each.
    m.insert("closes_inferred".into(), truth.connections_without_close);
    for (d, dir) in DIRS.iter().enumerate() {
        m.insert(format!("message_records.{dir}"), truth.messages[d]);
    }
    m
}

/// Finding kinds that mean the analyzer lost or could not decode bytes.
const DAMAGE: [&str; 9] = [
    "tcp-gap",
    "tcp-overlap-conflict",
    "tcp-findings-truncated",
    "undecoded-http",
    "handshake-gap",
    "resync",
    "no-frame-boundary",
    "partial-header-at-end",
    "upgrade-not-websocket",
];

/// Keys the analyzer cannot know (or will only know with the verdict layer).
fn comparable(key: &str) -> bool {
    !key.starts_with("violations.") && key != "tcp_payload_bytes"
}

/// Every counter where the analyzer and the truth differ, as
/// `key: analyzer X, truth Y` lines.
fn differences(got: &BTreeMap<String, u64>, truth: &BTreeMap<String, u64>) -> Vec<String> {
    let mut keys: Vec<&String> = got.keys().chain(truth.keys()).filter(|k| comparable(k)).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let (g, t) = (got.get(k).copied().unwrap_or(0), truth.get(k).copied().unwrap_or(0));
            (g != t).then(|| format!("{k}: analyzer {g}, truth {t}"))
        })
        .collect()
}

#[test]
fn generated_capture_has_every_feature() {
    let (_, t) = capture();
    let frames: u64 = t.frames.iter().flatten().sum();
    assert!(t.tcp_connections > 300 && t.websocket_connections < t.tcp_connections, "{t:?}");
    assert!(t.handshakes_failed > 0 && t.deflate_connections > 0 && t.frames_rsv1[1] > 0, "{t:?}");
    assert!(frames > 3000, "{frames} frames");
    for d in 0..2 {
        for op in [0, 1, 2, 8, 9, 10] {
            assert!(t.frames[d][op] > 0, "no frames of opcode {op} in direction {d}");
        }
    }
    assert!(t.terminations.iter().take(4).all(|n| *n > 0), "{:?}", t.terminations);
    assert!(t.connections_without_close > 0);
    let closes: Vec<Option<u16>> = t.closes.iter().flat_map(|m| m.keys().copied()).collect();
    for code in [Some(1000), Some(1001), None] {
        assert!(closes.contains(&code), "no close {code:?}: {closes:?}");
    }
    let kinds = t.violations.iter().filter(|n| **n > 0).count();
    assert!(kinds >= 8, "violations: {:?}", t.violations);
}

#[test]
fn generator_is_deterministic() {
    let cfg = GenConfig { size: 1 << 20, connections: 50, ..config() };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let ta = generate(&cfg, &mut a).unwrap();
    let tb = generate(&cfg, &mut b).unwrap();
    assert!(a == b, "same seed, different bytes");
    assert_eq!(ta, tb);
    assert_eq!(ta.pcap_bytes, a.len() as u64);
    let mut c = Vec::new();
    generate(&GenConfig { seed: cfg.seed + 1, ..cfg }, &mut c).unwrap();
    assert!(a != c, "different seeds, same bytes");
}

#[test]
fn analyzer_counts_equal_the_ground_truth() {
    let (dir, path) = write_capture();
    let (_, truth) = capture();
    let (c, stats) = run(std::slice::from_ref(&path), 2);
    let diff = differences(&observed(&c, &stats), &expected(truth));
    assert!(
        diff.is_empty(),
        "analyzer disagrees with {}:\n  {}",
        dir.path().join("generated.pcap.truth.json").display(),
        diff.join("\n  ")
    );

    // A clean capture: nothing lost, nothing undecodable, every handshake
    // checks out, every byte accounted for.
    let damage: Vec<_> = c
        .findings
        .iter()
        .filter(|f| DAMAGE.contains(&f.kind))
        .map(|f| format!("{} conn {:?} packet {:?}: {}", f.kind, f.conn_id, f.packet, f.detail))
        .take(10)
        .collect();
    assert!(damage.is_empty(), "unexpected findings:\n  {}", damage.join("\n  "));
    for rec in &c.connections {
        if rec.handshake == HandshakeState::Ok {
            assert_eq!(rec.http.accept_valid, Some(true), "conn {}", rec.conn_id);
        }
        for b in &rec.bytes {
            assert_eq!((b.accounted(), b.gap, b.undecoded), (b.captured, 0, 0), "conn {}: {b:?}", rec.conn_id);
        }
    }
    for f in &c.frames {
        assert!(f.captured_len == f.header.payload_len && f.gap_len == 0 && !f.truncated, "{f:?}");
    }
}

#[test]
fn output_is_identical_with_1_and_2_threads() {
    let (_dir, path) = write_capture();
    let paths = std::slice::from_ref(&path);
    let (one, s1) = run(paths, 1);
    let (two, s2) = run(paths, 2);
    assert_eq!((s1.packets, s1.tcp_connections), (s2.packets, s2.tcp_connections));
    assert_eq!(one.connections.len(), two.connections.len());
    assert_eq!(format!("{:?}", one.connections), format!("{:?}", two.connections));
    assert_eq!(one.frames.len(), two.frames.len());
    assert_eq!(format!("{:?}", one.frames), format!("{:?}", two.frames));
    assert_eq!(format!("{:?}", one.closes), format!("{:?}", two.closes));
    assert_eq!(format!("{:?}", one.findings), format!("{:?}", two.findings));
}

#[test]
fn violations_equal_the_ground_truth() {
    let (_dir, path) = write_capture();
    let (_, truth) = capture();
    let (c, _) = run(std::slice::from_ref(&path), 2);
    let mut got: BTreeMap<&str, u64> = RULES.iter().map(|r| (*r, 0)).collect();
    for v in &c.violations {
        *got.entry(v.rule).or_default() += 1;
    }
    let diff: Vec<String> = got
        .iter()
        .filter_map(|(rule, g)| {
            // Rules the generator never breaks on purpose must not fire.
            let t = RULES.iter().position(|r| r == rule).map_or(0, |i| truth.violations[i]);
            (*g != t).then(|| format!("{rule}: analyzer {g}, truth {t}"))
        })
        .collect();
    assert!(diff.is_empty(), "violations differ:\n  {}", diff.join("\n  "));
}
