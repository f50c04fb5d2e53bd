//! Opening-handshake rules against real peers: `samples/handshake-websockets.pcap`
//! (Python websockets 17.4) and `samples/handshake-ws.pcap` (Node ws 8.23). In
//! each capture a raw-socket client first sends one bad upgrade request per TCP
//! connection to the library's server (server-side rules, RFC 6455 §4.2.1), then
//! the library's client connects once per case to a raw-socket server that
//! answers with a bad 101 (client-side rules, RFC 6455 §4.1, RFC 7692).
//! `samples/handshake-expected.json` holds, per connection, what was observed on
//! the wire with tshark and cross-checked with the peers' own logs (see
//! samples/README.md, "Handshake captures", and scripts/record-samples/handshake.py).
//!
//! For every connection the analysis must report the rule, from the sender of
//! the bad head, at the packet that completes that head; a connection the
//! library server refused (non-101) must have `handshake = failed`. Each
//! mismatch names the capture, tcp.stream, rule and what the analysis said.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{Collected, run, samples_dir};
use serde_json::Value;
use wsforensics::model::Direction;
use wsforensics::session::record::HandshakeState;
use wsforensics::ws::rules::{Category, MustFail, Rule};

const CAPTURES: [&str; 2] = ["handshake-websockets.pcap", "handshake-ws.pcap"];

/// Rules the raw-socket client breaks in its request (the server must refuse).
const SERVER_SIDE: &[&str] =
    &["unsupported-version", "missing-version", "missing-key", "bad-key", "request-missing-connection", "missing-host", "bad-request-line"];

/// Rules the raw-socket server breaks in its 101 (the client must fail).
const CLIENT_SIDE: &[&str] = &[
    "bad-accept",
    "missing-accept",
    "missing-upgrade-header",
    "missing-connection-header",
    "extension-not-offered",
    "subprotocol-not-offered",
    "deflate-bad-value",
    "deflate-duplicate-parameter",
    "deflate-window-bits-not-offered",
    "deflate-bad-parameter",
];

/// One connection of handshake-expected.json.
#[derive(Debug)]
struct Expected {
    capture: String,
    tcp_stream: u64,
    rule: String,
    path: String,
    /// "server-side" (bad request) or "client-side" (bad 101).
    side: String,
    receiver: String,
    /// Direction of the bad head (its sender's).
    direction: Direction,
    bad_head_packet: u64,
    /// The status of the response on the wire.
    http_status: Option<u16>,
    /// The library refused: a non-101 answer, or its client failed the connection.
    refused: bool,
    /// Client-side: the error the library client reported.
    client_error: Option<String>,
}

impl Expected {
    fn label(&self) -> String {
        format!("{} tcp.stream {} {} ({}, receiver {})", self.capture, self.tcp_stream, self.rule, self.path, self.receiver)
    }

    fn server_side(&self) -> bool {
        self.side == "server-side"
    }
}

fn expected() -> Vec<Expected> {
    let path = samples_dir().join("handshake-expected.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| Expected {
            capture: e["capture"].as_str().unwrap().to_string(),
            tcp_stream: e["tcp_stream"].as_u64().unwrap(),
            rule: e["rule"].as_str().unwrap().to_string(),
            path: e["path"].as_str().unwrap().to_string(),
            side: e["side"].as_str().unwrap().to_string(),
            receiver: e["receiver"].as_str().unwrap().to_string(),
            direction: match e["direction"].as_str().unwrap() {
                "c2s" => Direction::ClientToServer,
                "s2c" => Direction::ServerToClient,
                d => panic!("bad direction {d}"),
            },
            bad_head_packet: e["bad_head_packet"].as_u64().unwrap(),
            http_status: e["observed"]["http_status"].as_u64().map(|s| u16::try_from(s).unwrap()),
            refused: e["refused"].as_bool().unwrap(),
            client_error: e["observed"]["client_error"].as_str().map(str::to_string),
        })
        .collect()
}

fn said_violations(c: &Collected, conn: u64) -> Vec<String> {
    c.violations
        .iter()
        .filter(|v| v.conn_id == conn)
        .map(|v| format!("{} {} packet {:?}", v.rule, v.direction.as_str(), v.packet))
        .collect()
}

fn said_findings(c: &Collected, conn: u64) -> Vec<String> {
    c.findings.iter().filter(|f| f.conn_id == Some(conn)).map(|f| format!("{} packet {:?}: {}", f.kind, f.packet, f.detail)).collect()
}

/// Every mismatch between the analysis and one expected connection: the rule,
/// from the sender of the bad head, at its packet; `handshake = failed` where
/// the library server answered with a non-101 status.
fn check(c: &Collected, e: &Expected) -> Vec<String> {
    let mut out = Vec::new();
    let conn_id = e.tcp_stream;
    let Some(conn) = c.connections.iter().find(|k| k.conn_id == conn_id) else {
        return vec![format!(
            "{}: no connection with conn_id {conn_id} reported (connections reported: {:?})",
            e.label(),
            c.connections.iter().map(|k| k.conn_id).collect::<Vec<_>>()
        )];
    };
    let said = said_violations(c, conn_id);
    let hits: Vec<_> = c.violations.iter().filter(|v| v.conn_id == conn_id && v.rule == e.rule).collect();
    if hits.is_empty() {
        out.push(format!(
            "{}: no violation with rule {} reported; the analysis reported violations {said:?}, findings {:?}, handshake {}",
            e.label(),
            e.rule,
            said_findings(c, conn_id),
            conn.handshake.as_str()
        ));
    } else if !hits.iter().any(|v| v.direction == e.direction) {
        out.push(format!(
            "{}: rule {} reported, but not as sent {} (the bad head's sender); the analysis reported {said:?}",
            e.label(),
            e.rule,
            e.direction.as_str()
        ));
    } else if !hits.iter().any(|v| v.direction == e.direction && v.packet == Some(e.bad_head_packet)) {
        out.push(format!(
            "{}: rule {} reported {}, but not at packet {} (the bad head); the analysis reported {said:?}",
            e.label(),
            e.rule,
            e.direction.as_str(),
            e.bad_head_packet
        ));
    }
    // The head the analysis read is the one tshark saw.
    if let Some(status) = e.http_status
        && conn.http.status != status
    {
        out.push(format!("{}: the analysis read HTTP status {}, the capture has {status}", e.label(), conn.http.status));
    }
    if e.server_side() && e.http_status != Some(101) && conn.handshake != HandshakeState::Failed {
        out.push(format!(
            "{}: the server refused with HTTP {:?}, yet the analysis says handshake {}",
            e.label(),
            e.http_status,
            conn.handshake.as_str()
        ));
    }
    if e.server_side() && e.http_status == Some(101) && conn.handshake != HandshakeState::Ok {
        out.push(format!("{}: the server accepted with 101, yet the analysis says handshake {}", e.label(), conn.handshake.as_str()));
    }
    out
}

fn check_capture(name: &str) {
    let all = expected();
    let entries: Vec<&Expected> = all.iter().filter(|e| e.capture == name).collect();
    assert!(entries.len() >= SERVER_SIDE.len() + CLIENT_SIDE.len(), "{name}: {} entries in handshake-expected.json", entries.len());
    let (c, _) = run(&[samples_dir().join(name)], 1);
    // conn_id = tcp.stream: one TCP connection per case, in order.
    let ids: BTreeSet<u64> = c.connections.iter().map(|k| k.conn_id).collect();
    let want: BTreeSet<u64> = entries.iter().map(|e| e.tcp_stream).collect();
    let mut failures: Vec<String> = Vec::new();
    if ids != want {
        failures.push(format!(
            "{name}: connections reported {ids:?}, tcp.stream values in the capture {want:?} (missing: {:?})",
            want.difference(&ids).collect::<Vec<_>>()
        ));
    }
    failures.extend(entries.iter().flat_map(|e| check(&c, e)));
    assert!(
        failures.is_empty(),
        "{name}: {} mismatches between the analysis and the real peers' handshakes:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn websockets_handshake_rules_are_reported() {
    check_capture("handshake-websockets.pcap");
}

#[test]
fn ws_handshake_rules_are_reported() {
    check_capture("handshake-ws.pcap");
}

/// Each head breaks exactly one rule and everything else the raw peers send
/// is correct, so any other violation on the connection is a false positive.
#[test]
fn no_other_rule_is_reported() {
    let all = expected();
    let mut failures = Vec::new();
    for name in CAPTURES {
        let (c, _) = run(&[samples_dir().join(name)], 1);
        for e in all.iter().filter(|e| e.capture == name) {
            let extra: Vec<String> = c
                .violations
                .iter()
                .filter(|v| v.conn_id == e.tcp_stream && v.rule != e.rule)
                .map(|v| format!("{} {} packet {:?}: {}", v.rule, v.direction.as_str(), v.packet, v.detail))
                .collect();
            if !extra.is_empty() {
                failures.push(format!("{}: other rules reported: {extra:?}", e.label()));
            }
        }
    }
    assert!(failures.is_empty(), "{} connections with extra violations:\n{}", failures.len(), failures.join("\n"));
}

/// Client-side rules: the raw server did send a 101, and the library client
/// failed the connection by closing TCP (no Close frame, nothing sent).
/// The assertions hold the analysis to the wire (the 101 was read, the
/// connection carries no frame, it ended with the client's FIN) and check
/// that the inferred 1006 is linked to the rule the client failed on; the
/// full picture is printed with `cargo test -- --nocapture`.
#[test]
fn client_side_failures_as_the_analysis_sees_them() {
    let all = expected();
    let mut failures = Vec::new();
    let mut table = Vec::new();
    for name in CAPTURES {
        let (c, _) = run(&[samples_dir().join(name)], 1);
        for e in all.iter().filter(|e| e.capture == name && !e.server_side()) {
            let Some(conn) = c.connections.iter().find(|k| k.conn_id == e.tcp_stream) else {
                failures.push(format!("{}: no connection reported", e.label()));
                continue;
            };
            let closes: Vec<String> = c
                .closes
                .iter()
                .filter(|r| r.conn_id == e.tcp_stream)
                .map(|r| {
                    format!(
                        "{} code {:?} inferred {} packet {} cause {:?}: {}",
                        r.direction.as_str(),
                        r.code,
                        r.inferred,
                        r.packet,
                        r.cause_rule,
                        r.diagnosis
                    )
                })
                .collect();
            table.push(format!(
                "{} | {} | library: {:?} | analysis: handshake {}, termination {}, status {}, frames {:?}, closes {closes:?}, findings {:?}",
                e.capture,
                e.tcp_stream,
                e.client_error,
                conn.handshake.as_str(),
                conn.termination.as_str(),
                conn.http.status,
                conn.frames,
                said_findings(&c, e.tcp_stream)
            ));
            assert!(e.refused, "{}: the library client did not fail the connection ({:?})", e.label(), e.client_error);
            if conn.http.status != 101 {
                failures.push(format!("{}: the analysis read status {}, the wire has 101", e.label(), conn.http.status));
            }
            if conn.frames != [0, 0] {
                failures.push(format!("{}: the analysis reports frames {:?}; the capture has none", e.label(), conn.frames));
            }
            if conn.fin_packet[Direction::ClientToServer.index()].is_none() {
                failures.push(format!("{}: the client's FIN is not reported ({})", e.label(), conn.termination.as_str()));
            }
            // The client's FIN is the failure the handshake rule demanded: the
            // inferred 1006 names that rule as its cause.
            let inferred = c.closes.iter().find(|r| r.conn_id == e.tcp_stream && r.inferred && r.code == Some(1006));
            match inferred {
                Some(r) if r.cause_rule == Some(e.rule.as_str()) => {}
                other => failures.push(format!(
                    "{}: the inferred 1006 is not linked to {} ({:?})",
                    e.label(),
                    e.rule,
                    other.map(|r| (r.cause_rule, &r.diagnosis))
                )),
            }
        }
    }
    eprintln!("client-side rules, what the analysis says:\n{}", table.join("\n"));
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

/// Every handshake rule of the brief has a real-peer connection in both
/// captures, from the right side, with the catalogue's reacting side.
#[test]
fn every_handshake_rule_is_covered_by_both_libraries() {
    let all = expected();
    let mut by_capture: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for e in &all {
        by_capture.entry(e.capture.as_str()).or_default().insert(e.rule.as_str());
        let rule = Rule::from_id(&e.rule).unwrap_or_else(|| panic!("{}: unknown rule", e.label()));
        let info = rule.info();
        assert!(matches!(info.category, Category::Handshake | Category::Deflate), "{}: {:?}", e.label(), info.category);
        if e.server_side() {
            assert!(SERVER_SIDE.contains(&e.rule.as_str()), "{}", e.label());
            assert_eq!(e.direction, Direction::ClientToServer, "{}", e.label());
            assert_eq!(info.must_fail, MustFail::Server, "{}", e.label());
            assert!(e.http_status.is_some(), "{}: no answer", e.label());
        } else {
            assert!(CLIENT_SIDE.contains(&e.rule.as_str()), "{}", e.label());
            assert_eq!(e.direction, Direction::ServerToClient, "{}", e.label());
            assert_eq!(e.http_status, Some(101), "{}", e.label());
            assert_eq!(info.must_fail, MustFail::Client, "{}", e.label());
        }
    }
    assert_eq!(by_capture.keys().copied().collect::<Vec<_>>(), CAPTURES.to_vec());
    for (capture, rules) in &by_capture {
        for r in SERVER_SIDE.iter().chain(CLIENT_SIDE) {
            assert!(rules.contains(r), "{capture}: no connection for {r}");
        }
    }
}
