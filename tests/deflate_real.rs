//! permessage-deflate on real captures: the negotiated parameters are read
//! from the handshake, every compressed message inflates (per direction, with
//! the window kept across messages), text is UTF-8, and the frame-sequence
//! rules find nothing on these valid sessions.
//!
//! The frames come from the library itself (with whole data payloads kept);
//! messages are assembled with `ws::rules::FrameRules`, the way the session
//! layer is meant to.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use wsforensics::http::parse_extensions;
use wsforensics::model::{ConnId, Direction};
use wsforensics::pipeline::{AnalysisOptions, analyze};
use wsforensics::session::record::ConnectionRecord;
use wsforensics::ws::DecoderConfig;
use wsforensics::ws::deflate::{ExtensionRef, Inflater, negotiate};
use wsforensics::ws::rules::{FramePlace, FrameRules, Role};
use wsforensics::ws::utf8::Utf8Validator;

mod common;

fn public(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/captures/public").join(rel)
}

fn run(path: PathBuf) -> common::Collected {
    let mut opts = AnalysisOptions { threads: 1, ..AnalysisOptions::default() };
    opts.session.decoder = DecoderConfig { data_keep: usize::MAX, ..DecoderConfig::default() };
    let mut c = common::Collected::default();
    analyze(std::slice::from_ref(&path), &opts, &mut c, &mut ()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    c
}

fn view(e: &wsforensics::http::Extension) -> ExtensionRef<'_> {
    ExtensionRef { name: &e.name, params: &e.params }
}

/// One data message as the receiver sees it.
#[derive(Debug)]
struct Message {
    conn: ConnId,
    direction: Direction,
    opcode: u8,
    compressed: bool,
    /// 1-based packet completing the last frame.
    last_packet: u64,
    wire_len: usize,
    payload: Vec<u8>,
}

/// Per connection and direction: the rules, the inflater (when deflate was
/// negotiated), the message being built.
type DirState = (FrameRules, Option<Inflater>, Option<Message>);

/// What a capture yields: messages (inflated), rule violations, and the
/// negotiation outcome per connection.
struct Decoded {
    messages: Vec<Message>,
    violations: Vec<(ConnId, Direction, u64, &'static str, String)>,
    deflate_connections: usize,
}

fn decode(path: PathBuf) -> Decoded {
    let c = run(path.clone());
    let mut by_conn: BTreeMap<ConnId, &ConnectionRecord> = BTreeMap::new();
    for conn in &c.connections {
        by_conn.insert(conn.conn_id, conn);
    }
    let mut out = Decoded { messages: Vec::new(), violations: Vec::new(), deflate_connections: 0 };
    let mut state: BTreeMap<(ConnId, Direction), DirState> = BTreeMap::new();
    for f in &c.frames {
        let conn = by_conn.get(&f.conn_id).expect("every frame has its connection");
        let (rules, inflater, open) = state.entry((f.conn_id, f.direction)).or_insert_with(|| {
            let sender = match f.direction {
                Direction::ClientToServer => Role::Client,
                Direction::ServerToClient => Role::Server,
            };
            let offers = parse_extensions(&conn.http.extensions_offered);
            let answer = parse_extensions(&conn.http.extensions);
            let offers: Vec<ExtensionRef<'_>> = offers.iter().map(view).collect();
            let answer: Vec<ExtensionRef<'_>> = answer.iter().map(view).collect();
            let n = negotiate(&offers, &answer);
            assert!(n.violations.is_empty(), "{}: {:?}", path.display(), n.violations);
            let inflater = n.params.map(|p| Inflater::new(p.inflater_config(sender, 64 << 20)));
            (FrameRules::new(Some(sender), inflater.is_some()), inflater, None)
        });
        let verdict = rules.check(&f.header);
        for v in verdict.violations {
            out.violations.push((f.conn_id, f.direction, f.last_packet, v.rule.id(), v.detail));
        }
        assert!(f.payload.len() as u64 == f.captured_len || f.header.is_control(), "whole payloads are kept");
        let (start, last) = match verdict.place {
            FramePlace::MessageStart { opcode, compressed, last } => {
                let m = Message {
                    conn: f.conn_id,
                    direction: f.direction,
                    opcode,
                    compressed,
                    last_packet: f.last_packet,
                    wire_len: 0,
                    payload: Vec::new(),
                };
                (Some(m), last)
            }
            FramePlace::MessageContinue { last } => (None, last),
            FramePlace::Control | FramePlace::Orphan | FramePlace::Reserved => continue,
        };
        if let Some(m) = start {
            *open = Some(m);
        }
        let Some(m) = open.as_mut() else { continue };
        m.last_packet = f.last_packet;
        m.wire_len += f.payload.len();
        if m.compressed {
            let inf = inflater.as_mut().expect("compressed only with deflate");
            let sink = &mut |b: &[u8]| m.payload.extend_from_slice(b);
            inf.feed(&f.payload, sink).unwrap_or_else(|e| panic!("packet {}: {e}", f.last_packet));
            if last {
                inf.finish(sink).unwrap_or_else(|e| panic!("packet {}: {e}", f.last_packet));
            }
        } else {
            m.payload.extend_from_slice(&f.payload);
        }
        if last && let Some(m) = open.take() {
            if m.opcode == wsforensics::ws::opcode::TEXT {
                let mut v = Utf8Validator::new();
                let r = v.feed(&m.payload).and_then(|()| v.finish());
                assert_eq!(r, Ok(()), "packet {}: text not UTF-8", m.last_packet);
            }
            out.messages.push(m);
        }
    }
    out.deflate_connections = state.values().filter(|s| s.1.is_some()).count() / 2;
    out
}

#[test]
fn evsetool_ocpp_session_inflates_with_context_takeover() {
    let d = decode(public("evsetool/cap.pcapng"));
    assert!(d.violations.is_empty(), "{:?}", d.violations);
    // Both legs of the docker capture (README: tcp.stream 0 and 1).
    assert_eq!(d.deflate_connections, 2);
    let compressed: Vec<&Message> = d.messages.iter().filter(|m| m.compressed).collect();
    assert_eq!(compressed.len(), 16, "8 compressed text frames per leg");
    let text = |packet_1based: u64| {
        let m =
            d.messages.iter().find(|m| m.last_packet == packet_1based).unwrap_or_else(|| panic!("no message at packet {packet_1based}"));
        assert!(m.compressed);
        String::from_utf8(m.payload.clone()).unwrap()
    };
    // evsetool's own test: packet index 42 (0-based), a message that only
    // inflates with the window of the earlier messages.
    assert_eq!(text(43), r#"[3,"cee3e36b-34fb-45a8-a6b8-f5d394f32beb",{}]"#);
    // Packet index 24: the BootNotification result.
    let boot = text(25);
    assert!(boot.starts_with(r#"[3,"bad9a3f6-"#), "{boot}");
    assert!(boot.contains(r#""status":"Accepted""#) && boot.contains(r#""interval":14400"#), "{boot}");
    // Compression actually happened and every message is OCPP JSON.
    for m in &compressed {
        assert!(m.payload.starts_with(b"[") && m.payload.ends_with(b"]"), "{:?}", String::from_utf8_lossy(&m.payload));
        assert!(m.wire_len < m.payload.len() + 8);
    }
    // Both legs carry the same conversation.
    let leg = |conn: ConnId| -> Vec<(Direction, Vec<u8>)> {
        compressed.iter().filter(|m| m.conn == conn).map(|m| (m.direction, m.payload.clone())).collect()
    };
    let conns: Vec<ConnId> = compressed.iter().map(|m| m.conn).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    assert_eq!(conns.len(), 2);
    assert_eq!(leg(conns[0]), leg(conns[1]));
}

#[test]
fn other_public_compressed_sessions_inflate() {
    for (rel, min_compressed) in [
        ("scapy/websocket_compressed_session.pcap", 1),
        ("suricata-verify/websocket-compressed.pcap", 1),
        ("zeek/websocket_compressed.pcap", 2),
    ] {
        let path = public(rel);
        if !path.exists() {
            continue;
        }
        let d = decode(path);
        let n = d.messages.iter().filter(|m| m.compressed).count();
        assert!(n >= min_compressed, "{rel}: {n} compressed messages");
        assert!(d.violations.is_empty(), "{rel}: {:?}", d.violations);
    }
}

fn samples(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples").join(rel)
}

/// The recording scripts send the same (seeded) messages with and without
/// permessage-deflate, so the compressed recording must inflate to exactly
/// the bytes the uncompressed one carries, message for message.
#[test]
fn recorded_samples_inflate_to_exactly_what_was_sent() {
    for (compressed, plain) in [("py-echo-deflate.pcapng", "py-echo-plain.pcap"), ("node-echo-deflate.pcap", "node-echo-plain.pcap")] {
        let d = decode(samples(compressed));
        let p = decode(samples(plain));
        assert!(d.messages.iter().any(|m| m.compressed), "{compressed}: no compressed message");
        for dir in Direction::BOTH {
            let inflated: Vec<(u8, &[u8])> =
                d.messages.iter().filter(|m| m.direction == dir).map(|m| (m.opcode, m.payload.as_slice())).collect();
            let sent: Vec<(u8, &[u8])> =
                p.messages.iter().filter(|m| m.direction == dir).map(|m| (m.opcode, m.payload.as_slice())).collect();
            assert_eq!(inflated.len(), sent.len(), "{compressed} vs {plain} {dir}: message counts");
            for (i, (a, b)) in inflated.iter().zip(&sent).enumerate() {
                assert!(a == b, "{compressed} vs {plain} {dir}: message {i} differs ({} vs {} bytes)", a.1.len(), b.1.len());
            }
        }
    }
}
