//! Close diagnosis: why each connection closed, from what the capture shows.
//!
//! Owns: turning a finished connection's Close frames, violations, message
//! sizes and TCP ending into close records with a cause, and the findings
//! that only make sense once the connection is over (a Close never answered,
//! a violation the receiver did not react to, a 1002/1007 with nothing wrong
//! in the bytes seen here).
//! May import: model, session::record, ws::close. Pure functions, no I/O.

use crate::model::{ConnId, Direction, PacketIndex, Timestamp};
use crate::session::record::{CloseRecord, CloseSeen, Finding, ViolationRecord};
use crate::ws::close::code_name;
use crate::ws::kb::{self, Lang};
use crate::ws::rules::{MustFail, Rule};

/// The close codes that count as the right answer to a violation.
fn accepted_closes(v: &ViolationRecord) -> &'static [u16] {
    Rule::from_id(v.rule).map_or(&[], |r| r.info().accepted_closes)
}

/// The violation received before a close with `code` that explains it: the
/// first one answered by that code, else (for 1002) the first one at all.
fn cause_of<'a>(received: &[&'a ViolationRecord], code: u16) -> Option<&'a ViolationRecord> {
    let answered = received.iter().find(|v| accepted_closes(v).contains(&code));
    match code {
        1002 => answered.or(received.first()).copied(),
        _ => answered.copied(),
    }
}

/// Rule id given to a connection that ended without any Close frame.
pub const ABNORMAL_CLOSURE: &str = "abnormal-closure";
/// Rule id given to a Close the peer never answered (RFC 6455 §5.5.1).
pub const CLOSE_UNANSWERED: &str = "close-unanswered";

/// The largest data message one side had sent when the other side closed,
/// for linking a 1009 to its cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageSize {
    pub len: u64,
    pub packet: PacketIndex,
}

/// What a finished connection shows about its end. Arrays are indexed by
/// `Direction::index()`.
#[derive(Clone, Debug)]
pub struct CloseFacts<'a> {
    pub conn_id: ConnId,
    /// The first Close frame sent in each direction.
    pub closes: [Option<&'a CloseSeen>; 2],
    pub initiator: Option<Direction>,
    /// Every violation of the connection, in capture order.
    pub violations: &'a [ViolationRecord],
    /// FIN from each direction (packet, time).
    pub fin: [Option<(PacketIndex, Timestamp)>; 2],
    /// RST: its sender, packet and time.
    pub rst: Option<(Direction, PacketIndex, Timestamp)>,
    /// The upgrade was asked for and not granted: the HTTP status (0 when
    /// no answer was captured).
    pub upgrade_failed: Option<u16>,
    /// Frames were exchanged (the connection got past its handshake).
    pub frames_seen: bool,
}

/// The diagnosis of one connection's end.
#[derive(Clone, Debug, Default)]
pub struct Diagnosis {
    pub closes: Vec<CloseRecord>,
    pub violations: Vec<ViolationRecord>,
    pub findings: Vec<Finding>,
}

fn side(d: Direction) -> &'static str {
    d.sender().as_str()
}

/// How TCP ended, first event at or after `after`: (time, packet, words).
fn tcp_end(f: &CloseFacts<'_>, after: Timestamp) -> Option<(Timestamp, PacketIndex, String)> {
    let mut ends: Vec<(Timestamp, PacketIndex, String)> = Vec::new();
    for d in Direction::BOTH {
        if let Some((p, ts)) = f.fin[d.index()] {
            ends.push((ts, p, format!("FIN from the {}", side(d))));
        }
    }
    if let Some((d, p, ts)) = f.rst {
        ends.push((ts, p, format!("RST from the {}", side(d))));
    }
    ends.into_iter().filter(|e| e.0 >= after).min_by_key(|e| (e.0, e.1))
}

/// Diagnoses how a connection ended. `largest_before[d]` is the largest data
/// message direction `d` had sent when the other side's Close was sent.
pub fn diagnose(f: &CloseFacts<'_>, largest_before: [Option<MessageSize>; 2]) -> Diagnosis {
    let mut out = Diagnosis::default();
    let first = f.initiator;
    for d in Direction::BOTH {
        let Some(c) = f.closes[d.index()] else { continue };
        let peer = d.reverse();
        let reply = f.closes[peer.index()];
        let initiator = first == Some(d);
        let received: Vec<&ViolationRecord> =
            f.violations.iter().filter(|v| v.direction == peer && v.packet.is_none_or(|p| p <= c.packet)).collect();
        let reported = c.code.unwrap_or(1005);
        let mut rec = CloseRecord {
            conn_id: f.conn_id,
            direction: d,
            frame_index: Some(c.frame_index),
            ts: c.ts,
            packet: c.packet,
            code: c.code,
            reason: c.reason.clone(),
            initiator,
            inferred: c.code.is_none(),
            reported_code: reported,
            diagnosis: String::new(),
            cause_rule: None,
            cause_packet: None,
            answered: initiator.then_some(reply.is_some()),
            answer_delay_s: if initiator { reply.map(|r| r.ts.secs_since(c.ts)) } else { None },
            tcp_end_delay_s: tcp_end(f, c.ts).map(|e| e.0.secs_since(c.ts)),
        };
        let who = side(d);
        let from = side(peer);
        let mut no_visible_cause = false;
        rec.diagnosis = match c.code {
            // An echo of the initiator's code is just the closing handshake.
            _ if !initiator && reply_is_echo(c, f.closes[peer.index()]) => {
                format!("{who} answered the {from}'s Close with {} ({})", code_label(c.code), code_name(reported))
            }
            None => format!("{who} closed without a status code: the {from} reports 1005 No Status Received"),
            Some(code @ (1002 | 1007)) => match cause_of(&received, code) {
                Some(v) => {
                    rec.cause_rule = Some(v.rule);
                    rec.cause_packet = v.packet;
                    let how = if code == 1002 { "failed the connection" } else { "rejected a message's data" };
                    format!("{who} {how} after receiving {} from the {from}{}", v.rule, at(v))
                }
                None if code == 1002 => {
                    no_visible_cause = true;
                    format!(
                        "{who} reports a protocol error, but every frame the {from} sent past this capture point is well-formed: \
                         the bytes were altered between the capture point and the {who} (a proxy or load balancer on the {who}'s side), \
                         or the {who}'s WebSocket parser is wrong"
                    )
                }
                None => {
                    no_visible_cause = true;
                    format!(
                        "{who} reports invalid message data, but every text message the {from} sent past this capture point is valid UTF-8 \
                         (after decompression): the data was altered between the capture point and the {who}, or the {who} applies a stricter \
                         rule of its own (e.g. a schema check reported with 1007)"
                    )
                }
            },
            Some(1009) => match (cause_of(&received, 1009), largest_before[peer.index()]) {
                (Some(v), _) => {
                    rec.cause_rule = Some(v.rule);
                    rec.cause_packet = v.packet;
                    format!("{who} refused a frame it read as too big after receiving {} from the {from}{}", v.rule, at(v))
                }
                (None, Some(m)) => {
                    rec.cause_rule = Some("message-too-big");
                    rec.cause_packet = Some(m.packet);
                    format!(
                        "{who} refused a message too big for it: the largest message the {from} sent before the Close was {} bytes (packet {})",
                        m.len, m.packet
                    )
                }
                (None, None) => {
                    format!("{who} refused a message too big for it; no data message from the {from} precedes the Close in the capture")
                }
            },
            Some(1011) if d == Direction::ServerToClient => {
                "the server hit an unexpected condition (usually an unhandled exception) while handling a message; its log says which"
                    .to_string()
            }
            Some(1011) => "the client sent 1011 Internal Error (meant for servers): an error inside the client".to_string(),
            Some(code) if !initiator => format!("{who} answered the {from}'s Close with {code} {}", code_name(code)),
            Some(code) => format!("{who} closed with {code} {}: {}", code_name(code), kb::text(code, Lang::En).description),
        };
        if no_visible_cause {
            out.findings.push(Finding {
                conn_id: Some(f.conn_id),
                direction: Some(d),
                kind: "close-without-visible-cause",
                packet: Some(c.packet),
                ts: Some(c.ts),
                stream_offset: None,
                len: None,
                detail: rec.diagnosis.clone(),
            });
        }
        if initiator
            && reply.is_none()
            && let Some((ts, packet, how)) = tcp_end(f, c.ts)
        {
            out.violations.push(ViolationRecord {
                conn_id: f.conn_id,
                direction: peer,
                frame_index: None,
                ts,
                packet: Some(packet),
                rule: CLOSE_UNANSWERED,
                rfc_section: "RFC 6455 §5.5.1",
                expected_close: None,
                detail: format!(
                    "the {from} received a Close (packet {}) and ended the connection ({how}) without answering with a Close",
                    c.packet
                ),
            });
        }
        out.closes.push(rec);
    }
    // A connection that ended with no Close frame at all: both endpoints
    // report 1006 Abnormal Closure (RFC 6455 §7.1.5). A connection still
    // open when the capture ended is not inferred to have failed.
    if f.closes.iter().all(Option::is_none)
        && let Some((ts, packet, how)) = tcp_end(f, Timestamp(i64::MIN))
    {
        let dir = match f.rst {
            Some((d, p, _)) if p == packet => d,
            _ => Direction::BOTH.into_iter().find(|d| f.fin[d.index()].is_some_and(|x| x.0 == packet)).unwrap_or(Direction::ServerToClient),
        };
        let who = side(dir);
        // A handshake rule the client (or server) had to fail the connection
        // on explains the end better than any guess.
        // (Handshake and permessage-deflate response rules: the ones a
        // client or server must fail on before frames flow.)
        let handshake_cause = f
            .violations
            .iter()
            .filter(|_| !f.frames_seen)
            .find(|v| Rule::from_id(v.rule).is_some_and(|r| r.info().must_fail != MustFail::Receiver));
        let (diagnosis, cause_rule, cause_packet) = if let Some(v) = handshake_cause {
            let failer = side(v.direction.reverse());
            (
                format!(
                    "the opening handshake broke {}{}, so the {failer} failed the connection before any Close could be sent (RFC 6455 §4.1, §4.2.1): \
                     the {how} ended it and the client reports 1006",
                    v.rule,
                    at(v)
                ),
                Some(v.rule),
                v.packet,
            )
        } else {
            let advice = match f.upgrade_failed {
                Some(0) => "the upgrade request was never answered in the capture".to_string(),
                Some(101) => "the 101 answer did not switch to WebSocket".to_string(),
                Some(status) => format!("the WebSocket upgrade was refused (HTTP {status}), so no WebSocket connection ever existed"),
                None if f.rst.is_some_and(|r| r.1 == packet) => {
                    "a crashed or killed process, a proxy or load balancer dropping the connection, or a server that resets instead of closing".to_string()
                }
                None => "a process that exited or closed the socket without the closing handshake, or an idle timeout in a proxy or load balancer"
                    .to_string(),
            };
            (
                format!(
                    "no Close frame: the connection ended with a {how}, so both endpoints report 1006 Abnormal Closure; typical causes: {advice} (the {who}'s side)"
                ),
                Some(ABNORMAL_CLOSURE),
                Some(packet),
            )
        };
        out.closes.push(CloseRecord {
            conn_id: f.conn_id,
            direction: dir,
            frame_index: None,
            ts,
            packet,
            code: Some(1006),
            reason: String::new(),
            initiator: true,
            inferred: true,
            reported_code: 1006,
            diagnosis,
            cause_rule,
            cause_packet,
            answered: None,
            answer_delay_s: None,
            tcp_end_delay_s: Some(0.0),
        });
    }
    out.findings.extend(unanswered_violations(f));
    out
}

/// Whether a reply Close just echoes the initiator's code (§5.5.1: "the
/// endpoint typically echoes the status code it received").
fn reply_is_echo(reply: &CloseSeen, initiator: Option<&CloseSeen>) -> bool {
    match initiator {
        Some(i) => i.code == reply.code || reply.code == Some(1000) || reply.code.is_none(),
        None => true,
    }
}

fn code_label(code: Option<u16>) -> String {
    code.map_or_else(|| "a Close without status".to_string(), |c| c.to_string())
}

fn at(v: &ViolationRecord) -> String {
    match (v.frame_index, v.packet) {
        (Some(i), Some(p)) => format!(" (frame #{i}, packet {p})"),
        (None, Some(p)) => format!(" (packet {p})"),
        _ => String::new(),
    }
}

/// The first violation in each direction that should have made the
/// receiver fail the connection, when the receiver did not: a lenient or
/// broken peer (or a violation the capture shows that the peer never saw).
fn unanswered_violations(f: &CloseFacts<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for sender in Direction::BOTH {
        let receiver = sender.reverse();
        let Some(v) = f.violations.iter().find(|v| v.direction == sender && v.expected_close.is_some()) else { continue };
        let Some(expected) = v.expected_close else { continue };
        let answer = f.closes[receiver.index()].filter(|c| v.packet.is_none_or(|p| c.packet >= p));
        let detail = match answer {
            Some(c) if c.code.is_some_and(|code| accepted_closes(v).contains(&code)) => continue,
            Some(c) => {
                format!("the {} received {}{} and closed with {} instead of {expected}", side(receiver), v.rule, at(v), code_label(c.code))
            }
            None => format!("the {} received {}{} and did not fail the connection with {expected}", side(receiver), v.rule, at(v)),
        };
        out.push(Finding {
            conn_id: Some(f.conn_id),
            direction: Some(receiver),
            kind: "violation-not-answered",
            packet: v.packet,
            ts: Some(v.ts),
            stream_offset: None,
            len: None,
            detail,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const C2S: Direction = Direction::ClientToServer;
    const S2C: Direction = Direction::ServerToClient;

    fn close(code: Option<u16>, packet: u64) -> CloseSeen {
        CloseSeen { code, reason: String::new(), packet, ts: Timestamp(packet as i64 * 1000), frame_index: 0 }
    }

    fn violation(dir: Direction, rule: &'static str, expected: Option<u16>, packet: u64) -> ViolationRecord {
        ViolationRecord {
            conn_id: 7,
            direction: dir,
            frame_index: Some(3),
            ts: Timestamp(packet as i64 * 1000),
            packet: Some(packet),
            rule,
            rfc_section: "RFC 6455 §5.2",
            expected_close: expected,
            detail: String::new(),
        }
    }

    fn facts<'a>(closes: [Option<&'a CloseSeen>; 2], initiator: Option<Direction>, violations: &'a [ViolationRecord]) -> CloseFacts<'a> {
        CloseFacts {
            conn_id: 7,
            closes,
            initiator,
            violations,
            fin: [None, Some((40, Timestamp(40_000)))],
            rst: None,
            upgrade_failed: None,
            frames_seen: true,
        }
    }

    #[test]
    fn protocol_error_is_linked_to_the_violation_received() {
        let server = close(Some(1002), 20);
        let client = close(Some(1002), 21);
        let v = [violation(C2S, "reserved-opcode", Some(1002), 18), violation(S2C, "masked-server-frame", Some(1002), 30)];
        let d = diagnose(&facts([Some(&client), Some(&server)], Some(S2C), &v), [None, None]);
        let s = d.closes.iter().find(|c| c.direction == S2C).unwrap();
        assert_eq!(s.cause_rule, Some("reserved-opcode"));
        assert_eq!(s.cause_packet, Some(18));
        assert_eq!(s.answered, Some(true));
        assert!(s.diagnosis.contains("reserved-opcode"), "{}", s.diagnosis);
        // The server's own later violation was not answered by the client
        // with a fresh 1002 after it: reported.
        assert!(d.findings.iter().any(|f| f.kind == "violation-not-answered" && f.direction == Some(C2S)));
    }

    #[test]
    fn protocol_error_with_clean_bytes_is_a_finding() {
        let server = close(Some(1002), 20);
        let d = diagnose(&facts([None, Some(&server)], Some(S2C), &[]), [None, None]);
        assert!(d.closes[0].cause_rule.is_none());
        assert!(d.closes[0].diagnosis.contains("altered between the capture point and the server"), "{}", d.closes[0].diagnosis);
        assert!(d.findings.iter().any(|f| f.kind == "close-without-visible-cause"));
        // Unanswered, and TCP ended with the server's FIN after it.
        assert_eq!(d.violations.len(), 1);
        assert_eq!(d.violations[0].rule, CLOSE_UNANSWERED);
        assert_eq!(d.violations[0].direction, C2S);
    }

    #[test]
    fn message_too_big_names_the_message() {
        let client = close(Some(1009), 12);
        let server = close(Some(1000), 13);
        let d = diagnose(&facts([Some(&client), Some(&server)], Some(C2S), &[]), [None, Some(MessageSize { len: 4, packet: 9 })]);
        let c = &d.closes[0];
        assert_eq!((c.cause_rule, c.cause_packet), (Some("message-too-big"), Some(9)));
        assert!(c.diagnosis.contains("4 bytes"));
        assert_eq!(c.answer_delay_s, Some(0.000001));
    }

    #[test]
    fn no_close_at_all_is_an_inferred_1006() {
        let mut f = facts([None, None], None, &[]);
        f.rst = Some((S2C, 33, Timestamp(33_000)));
        let d = diagnose(&f, [None, None]);
        assert_eq!(d.closes.len(), 1);
        let c = &d.closes[0];
        assert_eq!((c.code, c.reported_code, c.inferred, c.frame_index), (Some(1006), 1006, true, None));
        assert_eq!((c.direction, c.packet), (S2C, 33));
        assert!(c.diagnosis.contains("RST from the server"));
    }

    #[test]
    fn close_without_status_reports_1005() {
        let client = close(None, 5);
        let server = close(None, 6);
        let d = diagnose(&facts([Some(&client), Some(&server)], Some(C2S), &[]), [None, None]);
        assert!(d.closes.iter().all(|c| c.inferred && c.reported_code == 1005 && c.code.is_none()));
    }

    #[test]
    fn still_open_at_capture_end_is_not_a_failure() {
        let f = CloseFacts {
            conn_id: 1,
            closes: [None, None],
            initiator: None,
            violations: &[],
            fin: [None, None],
            rst: None,
            upgrade_failed: None,
            frames_seen: true,
        };
        assert!(diagnose(&f, [None, None]).closes.is_empty());
    }

    #[test]
    fn invalid_utf8_close_links_1007() {
        let server = close(Some(1007), 20);
        let v = [violation(C2S, "invalid-utf8-text", Some(1007), 19)];
        let d = diagnose(&facts([None, Some(&server)], Some(S2C), &v), [None, None]);
        assert_eq!(d.closes[0].cause_rule, Some("invalid-utf8-text"));
        assert!(!d.findings.iter().any(|f| f.kind == "violation-not-answered"));
    }
}
