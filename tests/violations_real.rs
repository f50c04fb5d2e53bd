//! Protocol violations against real peers: `samples/violations-websockets.pcap`
//! (Python websockets) and `samples/violations-ws.pcap` (Node ws). In each
//! capture a raw-socket client breaks one rule per TCP connection against the
//! library's server, and the last connection is the library's client facing a
//! raw-socket server that masks its frame. `samples/violations-expected.json`
//! holds, per connection, what was observed on the wire with tshark and
//! cross-checked with the library's own log (see samples/README.md,
//! "Violation captures", and scripts/record-samples/violations.py).
//!
//! For every connection the analysis must report (1) the rule, sent in the
//! right direction, at the packet that carries the bad bytes; (2) every Close
//! the receiving library sent, with its code, packet and initiator flag; and
//! (3) when the library answered the violation with a Close, that Close's
//! cause linked to the rule. Each mismatch is listed with the capture,
//! tcp.stream and what the analysis said.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{Collected, run, samples_dir};
use serde_json::Value;
use wsforensics::model::Direction;
use wsforensics::ws::rules::{MustFail, Rule};

/// One connection of violations-expected.json.
#[derive(Debug)]
struct Expected {
    capture: String,
    tcp_stream: u64,
    rule: String,
    case: String,
    receiver: String,
    /// Direction of the bad bytes.
    direction: Direction,
    violation_packet: u64,
    /// The Close the receiving library answered the violation with.
    observed_close: Option<u16>,
    peer_close_initiator: bool,
    /// Every Close frame of the receiving library: (code, packet).
    peer_closes: Vec<(Option<u16>, u64)>,
}

impl Expected {
    fn label(&self) -> String {
        format!("{} tcp.stream {} {}/{} (receiver {})", self.capture, self.tcp_stream, self.rule, self.case, self.receiver)
    }
}

fn expected() -> Vec<Expected> {
    let path = samples_dir().join("violations-expected.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: Value = serde_json::from_str(&text).unwrap();
    let code = |v: &Value| v.as_u64().map(|c| u16::try_from(c).unwrap());
    doc["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| Expected {
            capture: e["capture"].as_str().unwrap().to_string(),
            tcp_stream: e["tcp_stream"].as_u64().unwrap(),
            rule: e["rule"].as_str().unwrap().to_string(),
            case: e["case"].as_str().unwrap().to_string(),
            receiver: e["receiver"].as_str().unwrap().to_string(),
            direction: match e["direction"].as_str().unwrap() {
                "c2s" => Direction::ClientToServer,
                "s2c" => Direction::ServerToClient,
                d => panic!("bad direction {d}"),
            },
            violation_packet: e["violation_packet"].as_u64().unwrap(),
            observed_close: code(&e["observed_close"]),
            peer_close_initiator: e["peer_close_initiator"].as_bool().unwrap(),
            peer_closes: e["peer_closes"].as_array().unwrap().iter().map(|c| (code(&c["code"]), c["packet"].as_u64().unwrap())).collect(),
        })
        .collect()
}

/// Every mismatch between the analysis and one expected connection.
fn check(c: &Collected, e: &Expected) -> Vec<String> {
    let mut out = Vec::new();
    let conn = e.tcp_stream;
    if !c.connections.iter().any(|k| k.conn_id == conn) {
        return vec![format!("{}: no connection with conn_id {conn} reported", e.label())];
    }
    let said_violations: Vec<String> = c
        .violations
        .iter()
        .filter(|v| v.conn_id == conn)
        .map(|v| format!("{} {} packet {:?}", v.rule, v.direction.as_str(), v.packet))
        .collect();
    // (1) the rule, from the right side, at the packet with the bad bytes.
    let hits: Vec<_> = c.violations.iter().filter(|v| v.conn_id == conn && v.rule == e.rule).collect();
    let notice = Rule::from_id(&e.rule).is_some_and(|r| r.info().severity == wsforensics::ws::rules::Severity::Notice);
    if notice {
        // Not the sender's fault (e.g. a message over the receiver's own
        // limit): reported as the cause of the receiver's Close, not as a
        // violation.
        if !c
            .closes
            .iter()
            .any(|r| r.conn_id == conn && r.cause_rule == Some(e.rule.as_str()) && r.cause_packet == Some(e.violation_packet))
        {
            out.push(format!("{}: notice {} is not the cause of any Close at packet {}", e.label(), e.rule, e.violation_packet));
        }
    } else if hits.is_empty() {
        let linked: Vec<String> = c
            .closes
            .iter()
            .filter(|r| r.conn_id == conn && r.cause_rule == Some(e.rule.as_str()))
            .map(|r| format!("{} Close {:?} at packet {} (cause_packet {:?})", r.direction.as_str(), r.code, r.packet, r.cause_packet))
            .collect();
        out.push(format!(
            "{}: no violation record with rule {}; the analysis reported {said_violations:?}{}",
            e.label(),
            e.rule,
            if linked.is_empty() { String::new() } else { format!(" (the rule only appears as the cause of {linked:?})") }
        ));
    } else if !hits.iter().any(|v| v.direction == e.direction) {
        out.push(format!(
            "{}: rule {} reported, but not as sent {} (the bad bytes' direction); the analysis reported {said_violations:?}",
            e.label(),
            e.rule,
            e.direction.as_str()
        ));
    } else if !hits.iter().any(|v| v.direction == e.direction && v.packet == Some(e.violation_packet)) {
        out.push(format!(
            "{}: rule {} reported {}, but not at packet {} (the bad bytes); the analysis reported {said_violations:?}",
            e.label(),
            e.rule,
            e.direction.as_str(),
            e.violation_packet
        ));
    }
    // (2) every Close the receiving side sent, with its code and packet.
    let peer = e.direction.reverse();
    let said_closes: Vec<String> = c
        .closes
        .iter()
        .filter(|r| r.conn_id == conn)
        .map(|r| {
            format!(
                "{} code {:?} packet {} initiator {} inferred {} cause {:?}",
                r.direction.as_str(),
                r.code,
                r.packet,
                r.initiator,
                r.inferred,
                r.cause_rule
            )
        })
        .collect();
    let peer_records: Vec<_> = c.closes.iter().filter(|r| r.conn_id == conn && r.direction == peer && !r.inferred).collect();
    for (i, &(code, packet)) in e.peer_closes.iter().enumerate() {
        match peer_records.iter().find(|r| r.packet == packet) {
            None => out.push(format!(
                "{}: the {} Close (code {code:?}) at packet {packet} is not reported; closes reported: {said_closes:?}",
                e.label(),
                peer.as_str()
            )),
            Some(r) if r.code != code => out.push(format!(
                "{}: the {} Close at packet {packet} is reported with code {:?}, the capture has {code:?}",
                e.label(),
                peer.as_str(),
                r.code
            )),
            Some(r) if i == 0 && r.initiator != e.peer_close_initiator => out.push(format!(
                "{}: the {} Close at packet {packet} is reported with initiator {}, the capture says {}; closes reported: {said_closes:?}",
                e.label(),
                peer.as_str(),
                r.initiator,
                e.peer_close_initiator
            )),
            Some(_) => {}
        }
    }
    // (3) the Close that answered the violation names it as its cause.
    if let Some(code) = e.observed_close {
        let first = e.peer_closes.first().map(|&(_, p)| p);
        if let Some(r) = peer_records.iter().find(|r| Some(r.packet) == first && r.code == Some(code)) {
            if r.cause_rule != Some(e.rule.as_str()) {
                out.push(format!(
                    "{}: the {} Close {code} at packet {} (the library's answer to the violation) has cause_rule {:?}, expected Some({:?}); diagnosis: {:?}",
                    e.label(),
                    peer.as_str(),
                    r.packet,
                    r.cause_rule,
                    e.rule,
                    r.diagnosis
                ));
            }
        } else {
            out.push(format!(
                "{}: no {} Close {code} reported to link the cause to; closes reported: {said_closes:?}",
                e.label(),
                peer.as_str()
            ));
        }
    }
    out
}

fn check_capture(name: &str) {
    let all = expected();
    let entries: Vec<&Expected> = all.iter().filter(|e| e.capture == name).collect();
    assert!(entries.len() >= 23, "{name}: {} entries in violations-expected.json", entries.len());
    let (c, _) = run(&[samples_dir().join(name)], 1);
    // conn_id = tcp.stream: one TCP connection per case, in order.
    let ids: BTreeSet<u64> = c.connections.iter().map(|k| k.conn_id).collect();
    let want: BTreeSet<u64> = entries.iter().map(|e| e.tcp_stream).collect();
    assert_eq!(ids, want, "{name}: connections reported vs tcp.stream values in the capture");
    let failures: Vec<String> = entries.iter().flat_map(|e| check(&c, e)).collect();
    assert!(
        failures.is_empty(),
        "{name}: {} mismatches between the analysis and the real peers' reactions:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn websockets_reactions_are_explained() {
    check_capture("violations-websockets.pcap");
}

#[test]
fn ws_reactions_are_explained() {
    check_capture("violations-ws.pcap");
}

/// A violation the receiving library did not answer with one of the rule's
/// accepted close codes (a lenient peer, or another code) is flagged as a
/// `violation-not-answered` finding, and one it answered rightly is not.
fn check_answer_finding(c: &Collected, e: &Expected) -> Option<String> {
    let rule = Rule::ALL.iter().find(|r| r.id() == e.rule).unwrap_or_else(|| panic!("unknown rule {}", e.rule));
    let info = rule.info();
    if info.must_fail != MustFail::Receiver || info.accepted_closes.is_empty() {
        return None; // e.g. frame-after-close: no reaction is defined
    }
    let answered_right = e.observed_close.is_some_and(|code| info.accepted_closes.contains(&code));
    let flagged: Vec<&str> = c
        .findings
        .iter()
        .filter(|f| f.conn_id == Some(e.tcp_stream) && f.kind == "violation-not-answered" && f.detail.contains(&e.rule))
        .map(|f| f.detail.as_str())
        .collect();
    match (answered_right, flagged.is_empty()) {
        (true, false) => Some(format!(
            "{}: the library answered {:?}, one of the accepted codes {:?}, yet the analysis flags it: {flagged:?}",
            e.label(),
            e.observed_close,
            info.accepted_closes
        )),
        (false, true) => Some(format!(
            "{}: the library answered {:?}, not one of {:?}, and the analysis has no violation-not-answered finding",
            e.label(),
            e.observed_close,
            info.accepted_closes
        )),
        _ => None,
    }
}

#[test]
fn wrong_or_missing_answers_are_flagged() {
    let all = expected();
    let mut failures = Vec::new();
    for name in ["violations-websockets.pcap", "violations-ws.pcap"] {
        let (c, _) = run(&[samples_dir().join(name)], 1);
        failures.extend(all.iter().filter(|e| e.capture == name).filter_map(|e| check_answer_finding(&c, e)));
    }
    assert!(failures.is_empty(), "{} mismatches in violation-not-answered findings:\n{}", failures.len(), failures.join("\n"));
}

/// Every framing, close and deflate rule of issue 3 has a real-peer
/// connection in both captures, with the sender and the observed answer.
#[test]
fn every_rule_is_covered_by_both_libraries() {
    const RULES: &[&str] = &[
        "rsv-bits-without-extension",
        "reserved-opcode",
        "fragmented-control-frame",
        "control-frame-too-long",
        "unmasked-client-frame",
        "masked-server-frame",
        "continuation-without-message",
        "message-interrupted",
        "non-minimal-length",
        "length-msb-set",
        "close-payload-one-byte",
        "invalid-close-code",
        "close-reason-too-long",
        "invalid-utf8-close-reason",
        "invalid-utf8-text",
        "frame-after-close",
        "rsv1-on-continuation",
        "rsv1-on-control",
        "deflate-error",
        "message-too-big",
    ];
    let all = expected();
    let mut by_capture: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for e in &all {
        by_capture.entry(e.capture.as_str()).or_default().insert(e.rule.as_str());
        let sender = if e.rule == "masked-server-frame" { Direction::ServerToClient } else { Direction::ClientToServer };
        assert_eq!(e.direction, sender, "{}", e.label());
        // A Close that answers the violation is the receiving library's.
        if e.observed_close.is_some() {
            assert!(!e.peer_closes.is_empty(), "{}", e.label());
        }
    }
    assert_eq!(by_capture.len(), 2, "{:?}", by_capture.keys());
    for (capture, rules) in &by_capture {
        for r in RULES {
            assert!(rules.contains(r), "{capture}: no connection for {r}");
        }
    }
}
