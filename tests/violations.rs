//! Protocol verdicts on real captures: valid traffic yields no violation at
//! all, and the captures known to break RFC 6455 (see
//! `../shared/captures/public/README.md`, "RFC 6455 deviations") yield
//! exactly the breaches they contain.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::{captures_with_oracle, public_dir, run, samples_dir};

/// Captures that break the RFC, and every violation they hold (rule id and
/// count), with the evidence.
const KNOWN: &[(&str, &[(&str, usize)])] = &[
    // A server Close the client never answers (it sends FIN instead). The
    // client's ping between fragments is never answered either, but the
    // synthetic clock leaves under a second to tell, so it is not judged.
    ("arkime/arkime_synthetic.pcap", &[("close-unanswered", 1)]),
    // Five bad handshakes on one connection: POST; "Upgrade: websockets" in
    // four answers; no Sec-WebSocket-Key; no Sec-WebSocket-Version in the
    // four upgrade requests; accept "invalid=".
    (
        "scapy/websocket_invalid_handshakes.pcap",
        &[("bad-accept", 1), ("bad-request-line", 1), ("missing-key", 1), ("missing-upgrade-header", 4), ("missing-version", 4)],
    ),
    // Sec-WebSocket-Key "c3VyaWNhdGEtdGVzdC1rZXkh" is "suricata-test-key!": 18 bytes, not 16.
    ("suricata-verify/websocket-control-frag.pcap", &[("bad-key", 1)]),
    // The client's empty ping (packet 8) is not masked.
    ("suricata-verify/websocket-ping.pcap", &[("unmasked-client-frame", 1)]),
    // The client sends Close 1000, the server answers only with FIN.
    ("zeek/broker-websocket.pcap", &[("close-unanswered", 1)]),
    // A 258-byte Close body, its length sent in the 64-bit form (the oracle's
    // ext_64 column), never answered by the client.
    ("zeek/oversized-close-frame.pcapng", &[("close-reason-too-long", 1), ("close-unanswered", 1), ("non-minimal-length", 1)]),
    // Sec-WebSocket-Accept has "-wrong" appended; the client rightly drops
    // the connection without answering the server's ping.
    ("zeek/wrong-accept-header.pcap", &[("bad-accept", 1)]),
    // wstunnel's client frames are not masked.
    ("zeek/wstunnel-http.pcap", &[("unmasked-client-frame", 2)]),
    // Seven client pings over two connections, no pong ever.
    ("zeek/wstunnel-ssh.pcap", &[("ping-unanswered", 2)]),
];

fn rules_of(capture: &std::path::Path) -> BTreeMap<String, usize> {
    let (c, _) = run(&[capture.to_path_buf()], 1);
    let mut m = BTreeMap::new();
    for v in &c.violations {
        *m.entry(v.rule.to_string()).or_default() += 1;
    }
    m
}

#[test]
fn public_captures_hold_exactly_their_known_violations() {
    let root = public_dir();
    let mut failures = Vec::new();
    for capture in captures_with_oracle(&root) {
        let rel = capture.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
        let expected: BTreeMap<String, usize> =
            KNOWN.iter().find(|(f, _)| *f == rel).map(|(_, v)| v.iter().map(|(r, n)| (r.to_string(), *n)).collect()).unwrap_or_default();
        let got = rules_of(&capture);
        if got != expected {
            failures.push(format!("{rel}: got {got:?}, expected {expected:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn valid_samples_have_no_violation() {
    for capture in captures_with_oracle(&samples_dir()) {
        let name = capture.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("violations-") || name.starts_with("handshake-") {
            continue; // recorded to break the rules on purpose
        }
        assert_eq!(rules_of(&capture), BTreeMap::new(), "{name}");
    }
}

#[test]
fn compressed_samples_inflate_to_what_was_sent() {
    // Python websockets with permessage-deflate echoes text and binary
    // messages; every compressed message inflates, and every text message is
    // valid UTF-8 after inflation (no violation), with inflated sizes equal
    // to the sizes the peer echoes uncompressed in py-echo-plain.
    let (deflate, _) = run(&[samples_dir().join("py-echo-deflate.pcapng")], 1);
    let (plain, _) = run(&[samples_dir().join("py-echo-plain.pcap")], 1);
    let compressed: Vec<_> = deflate.messages.iter().filter(|m| m.compressed).collect();
    assert!(!compressed.is_empty());
    assert!(compressed.iter().all(|m| m.inflated_len.is_some()), "every compressed message inflated");
    let mut sizes_deflate: Vec<u64> = deflate.messages.iter().map(|m| m.inflated_len.unwrap_or(m.payload_len)).collect();
    let mut sizes_plain: Vec<u64> = plain.messages.iter().map(|m| m.payload_len).collect();
    sizes_deflate.sort_unstable();
    sizes_plain.sort_unstable();
    assert_eq!(sizes_deflate, sizes_plain, "same messages sent with and without compression");
}
