//! JSON Lines export: one JSON object per line, one line per record.
//!
//! Every object starts with `"type"`, one of [`RECORD_TYPES`]' names or
//! `summary`. The other keys of a record object are the column names of the
//! CSV file of the same records, in the same order
//! (`connection`: connections.csv, `frame`: frames.csv, `message`:
//! messages.csv, `close`: closes.csv, `violation`: violations.csv,
//! `finding`: findings.csv, `match`: matches.csv). The cells come from the
//! same functions as the CSV rows ([`crate::report::csv::connection_cells`]
//! ...), typed: counts, codes and packet numbers are numbers, seconds are
//! numbers with the CSV's six decimals, flags are booleans, timestamps the
//! same RFC 3339 strings, and every cell the CSV leaves empty is `null`.
//! Text from the traffic or the logs is written as is (JSON has no formula
//! injection; `--raw-csv` does not matter here).
//!
//! The last line is the `summary` object:
//!
//! | key | value |
//! |-----|-------|
//! | `files`, `packets`, `tcp_connections` | the capture: files read, packets, TCP connections |
//! | `capture_notices` | damage found while reading the capture (strings) |
//! | `filter` | the filter options the records went through, in words; null when none |
//! | `first_ts`, `last_ts`, `duration_s` | WebSocket time span (null without connections) |
//! | `connections`, `handshake_ok`, `handshake_failed`, `handshake_missing` | WebSocket connections and how their upgrade looked |
//! | `frames`, `frames_c2s`, `frames_s2c` | frame counts |
//! | `frames_by_opcode` | `[{opcode, opcode_name, c2s, s2c}]`, opcodes seen only |
//! | `messages_c2s`, `messages_s2c` | data messages per direction |
//! | `messages_text_c2s`, `messages_binary_c2s`, `messages_text_s2c`, `messages_binary_s2c` | complete messages by type |
//! | `incomplete_messages` | messages never completed |
//! | `closes_by_code` | `[{code, code_name, from_client, from_server}]` Close frames (`code` null: no status, peer reports 1005) |
//! | `close_initiator_client`, `close_initiator_server` | connections by who sent the first Close |
//! | `no_close` | `{termination: count}` connections that ended without any Close (1006) |
//! | `violations`, `violations_by_rule` | protocol violations, total and `{rule: count}` |
//! | `findings_by_kind` | `{kind: count}` |
//! | `gap_bytes` | bytes never captured in WebSocket connections |
//! | `logs` | null when no log was read; else `{files: [{path, format, lines, events}], damage_notices, clock_offset_s, clock_offset_method, clock_offset_pairs, clock_offset_spread_s, closes_looked_up, closes_explained, unmatched_errors}` (`clock_offset_s`: log time = capture time + offset, six decimals like every number of seconds; method `given`, `anchors`, `alignment` or `none`) |

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::correlate::LogInvestigation;
use crate::error::Error;
use crate::report::csv::{
    CLOSE_COLUMNS, CONNECTION_COLUMNS, Cell, FINDING_COLUMNS, FRAME_COLUMNS, MESSAGE_COLUMNS, VIOLATION_COLUMNS, close_cells,
    connection_cells, finding_cells, frame_cells, match_cells, message_cells, violation_cells,
};
use crate::report::matches::MATCH_COLUMNS;
use crate::report::summary::{CaptureTotals, Summary};
use crate::session::record::{CloseRecord, ConnectionRecord, Finding, FrameRecord, MessageRecord, ViolationRecord};
use crate::ws::{close, opcode};

/// The record types and their keys after `type` (the CSV columns).
pub const RECORD_TYPES: &[(&str, &[&str])] = &[
    ("connection", CONNECTION_COLUMNS),
    ("frame", FRAME_COLUMNS),
    ("message", MESSAGE_COLUMNS),
    ("close", CLOSE_COLUMNS),
    ("violation", VIOLATION_COLUMNS),
    ("finding", FINDING_COLUMNS),
    ("match", MATCH_COLUMNS),
];

/// The keys after `type` of a record type, `None` for `summary` and unknown
/// types.
pub fn columns(record_type: &str) -> Option<&'static [&'static str]> {
    RECORD_TYPES.iter().find(|(t, _)| *t == record_type).map(|(_, c)| *c)
}

/// A JSON object written key by key, in order (serde_json's `Map` sorts
/// its keys without the `preserve_order` feature).
struct Obj {
    buf: String,
}

impl Obj {
    fn new() -> Obj {
        Obj { buf: String::from("{") }
    }

    fn key(&mut self, key: &str) {
        if self.buf.len() > 1 {
            self.buf.push(',');
        }
        // Display of a Value is its compact JSON, escaped.
        let _ = write!(self.buf, "{}", Value::from(key));
        self.buf.push(':');
    }

    fn field(&mut self, key: &str, v: impl Into<Value>) -> &mut Obj {
        self.key(key);
        let _ = write!(self.buf, "{}", v.into());
        self
    }

    fn raw(&mut self, key: &str, json: &str) -> &mut Obj {
        self.key(key);
        self.buf.push_str(json);
        self
    }

    fn array(&mut self, key: &str, items: impl IntoIterator<Item = Obj>) -> &mut Obj {
        let parts: Vec<String> = items.into_iter().map(Obj::finish).collect();
        self.raw(key, &format!("[{}]", parts.join(",")))
    }

    fn finish(mut self) -> String {
        self.buf.push('}');
        self.buf
    }
}

/// The summary of the logs, kept from [`JsonWriter::matches`] for the
/// summary line.
fn logs_object(inv: &LogInvestigation) -> Obj {
    let files = inv.summary.files.iter().map(|f| {
        let mut o = Obj::new();
        o.field("path", f.path.display().to_string())
            .field("format", f.format.to_string())
            .field("lines", f.lines)
            .field("events", f.events);
        o
    });
    let rows = &inv.correlation.rows;
    let o_ = &inv.correlation.offset;
    let mut o = Obj::new();
    o.array("files", files)
        .field("damage_notices", inv.summary.notices.len() as u64)
        .field("clock_offset_s", round6(o_.seconds))
        .field("clock_offset_method", o_.method)
        .field("clock_offset_pairs", o_.pairs as u64)
        .field("clock_offset_spread_s", round6(o_.spread_s))
        .field("closes_looked_up", rows.iter().filter(|r| r.target.is_some()).count() as u64)
        .field("closes_explained", rows.iter().filter(|r| r.target.is_some() && r.event.is_some()).count() as u64)
        .field("unmatched_errors", rows.iter().filter(|r| r.target.is_none()).count() as u64);
    o
}

/// Writes JSON Lines as records arrive.
pub struct JsonWriter<W: Write> {
    out: W,
    /// Where the lines go, for error messages (a path, or `<stdout>`).
    name: PathBuf,
    /// The `logs` object of the summary, once [`JsonWriter::matches`] ran.
    logs: Option<String>,
    /// Bytes of payload previewed per frame (0: no previews).
    payloads: usize,
}

impl JsonWriter<BufWriter<File>> {
    /// Creates (truncates) the file.
    pub fn create(path: &Path) -> Result<Self, Error> {
        let file = File::create(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
        Ok(JsonWriter::new(BufWriter::with_capacity(256 * 1024, file), path))
    }
}

impl<W: Write> JsonWriter<W> {
    /// Writes into `out` (buffer it: one write per line); `name` names it in
    /// errors.
    pub fn new(out: W, name: impl Into<PathBuf>) -> Self {
        JsonWriter { out, name: name.into(), logs: None, payloads: 0 }
    }

    /// Previews the first `n` payload bytes of each frame (`payload_preview`).
    pub fn with_payloads(mut self, n: usize) -> Self {
        self.payloads = n;
        self
    }

    fn line(&mut self, obj: Obj) -> Result<(), Error> {
        let mut s = obj.finish();
        s.push('\n');
        self.out.write_all(s.as_bytes()).map_err(|source| Error::Io { path: self.name.clone(), source })
    }

    fn record(&mut self, record_type: &str, columns: &[&str], cells: &[Cell<'_>]) -> Result<(), Error> {
        debug_assert_eq!(columns.len(), cells.len(), "{record_type}: cells and columns differ");
        let mut o = Obj::new();
        o.field("type", record_type);
        for (k, c) in columns.iter().zip(cells) {
            o.field(k, c.to_json());
        }
        self.line(o)
    }

    pub fn connection(&mut self, c: &ConnectionRecord) -> Result<(), Error> {
        self.record("connection", CONNECTION_COLUMNS, &connection_cells(c))
    }

    pub fn frame(&mut self, f: &FrameRecord) -> Result<(), Error> {
        self.record("frame", FRAME_COLUMNS, &frame_cells(f, self.payloads))
    }

    pub fn message(&mut self, m: &MessageRecord) -> Result<(), Error> {
        self.record("message", MESSAGE_COLUMNS, &message_cells(m))
    }

    pub fn close(&mut self, c: &CloseRecord) -> Result<(), Error> {
        self.record("close", CLOSE_COLUMNS, &close_cells(c))
    }

    pub fn violation(&mut self, v: &ViolationRecord) -> Result<(), Error> {
        self.record("violation", VIOLATION_COLUMNS, &violation_cells(v))
    }

    pub fn finding(&mut self, f: &Finding) -> Result<(), Error> {
        self.record("finding", FINDING_COLUMNS, &finding_cells(f))
    }

    /// One `match` line per row of matches.csv, in its order; the log
    /// totals and clock offset go into the summary line written after.
    pub fn matches(&mut self, inv: &LogInvestigation) -> Result<(), Error> {
        for row in &inv.correlation.rows {
            self.record("match", MATCH_COLUMNS, &match_cells(inv, row))?;
        }
        self.logs = Some(logs_object(inv).finish());
        Ok(())
    }

    /// The `summary` line (see the module documentation for its keys).
    pub fn summary(&mut self, s: &Summary, capture: &CaptureTotals) -> Result<(), Error> {
        let mut o = Obj::new();
        o.field("type", "summary")
            .field("files", capture.files as u64)
            .field("packets", capture.packets)
            .field("tcp_connections", capture.tcp_connections)
            .field("capture_notices", capture.notices.clone())
            .field("filter", capture.filter.clone())
            .field("first_ts", s.first_ts.map(|t| t.rfc3339_micros()))
            .field("last_ts", s.last_ts.map(|t| t.rfc3339_micros()))
            .field("duration_s", s.first_ts.zip(s.last_ts).map(|(a, b)| round6(b.secs_since(a))))
            .field("connections", s.connections)
            .field("handshake_ok", s.handshake_ok)
            .field("handshake_failed", s.handshake_failed)
            .field("handshake_missing", s.handshake_missing)
            .field("frames", s.total_frames())
            .field("frames_c2s", s.frames[0].iter().sum::<u64>())
            .field("frames_s2c", s.frames[1].iter().sum::<u64>());
        let by_opcode = (0..16u8).filter(|op| s.frames[0][usize::from(*op)] + s.frames[1][usize::from(*op)] > 0).map(|op| {
            let mut e = Obj::new();
            e.field("opcode", op)
                .field("opcode_name", opcode::name(op))
                .field("c2s", s.frames[0][usize::from(op)])
                .field("s2c", s.frames[1][usize::from(op)]);
            e
        });
        o.array("frames_by_opcode", by_opcode);
        let [[ct, cb], [st, sb]] = s.messages_by_type;
        o.field("messages_c2s", s.messages[0])
            .field("messages_s2c", s.messages[1])
            .field("messages_text_c2s", ct)
            .field("messages_binary_c2s", cb)
            .field("messages_text_s2c", st)
            .field("messages_binary_s2c", sb)
            .field("incomplete_messages", s.incomplete_messages);
        let mut by_code: std::collections::BTreeMap<Option<u16>, [u64; 2]> = std::collections::BTreeMap::new();
        for ((code, dir), n) in &s.closes {
            by_code.entry(*code).or_default()[dir.index()] += n;
        }
        let closes = by_code.iter().map(|(code, [c, v])| {
            let mut e = Obj::new();
            e.field("code", *code)
                .field("code_name", code.map_or("no status code (peer reports 1005)", close::code_name))
                .field("from_client", *c)
                .field("from_server", *v);
            e
        });
        o.array("closes_by_code", closes);
        o.field("close_initiator_client", s.initiator_client).field("close_initiator_server", s.initiator_server);
        o.raw("no_close", &counts(&s.no_close));
        o.field("violations", s.violations.values().sum::<u64>());
        o.raw("violations_by_rule", &counts(&s.violations));
        o.raw("findings_by_kind", &counts(&s.findings));
        o.field("gap_bytes", s.gap_bytes);
        let logs = self.logs.clone().unwrap_or_else(|| "null".to_string());
        o.raw("logs", &logs);
        self.line(o)
    }

    /// Flushes and hands back the writer.
    pub fn finish(mut self) -> Result<W, Error> {
        self.out.flush().map_err(|source| Error::Io { path: self.name.clone(), source })?;
        Ok(self.out)
    }
}

/// `{name: count}` in the map's order.
fn counts(m: &std::collections::BTreeMap<&'static str, u64>) -> String {
    let mut o = Obj::new();
    for (k, n) in m {
        o.field(k, *n);
    }
    o.finish()
}

/// Seconds as the CSV shows them: six decimals.
fn round6(x: f64) -> f64 {
    format!("{x:.6}").parse().unwrap_or(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Direction, Timestamp};
    use crate::session::record::{ByteAccount, HandshakeInfo, HandshakeState, Termination};
    use crate::ws::{FrameHeader, LengthForm};

    fn lines(buf: &[u8]) -> Vec<serde_json::Map<String, Value>> {
        let text = std::str::from_utf8(buf).expect("utf-8");
        assert!(text.ends_with('\n'));
        text.lines()
            .map(|l| match serde_json::from_str::<Value>(l).expect("valid JSON") {
                Value::Object(m) => m,
                other => panic!("not an object: {other}"),
            })
            .collect()
    }

    /// The keys of a line's top-level object in their written order (the
    /// parsed `Map` sorts them).
    fn keys_in_order(line: &str) -> Vec<String> {
        let mut keys = Vec::new();
        let mut rest = line.trim().strip_prefix('{').expect("an object");
        loop {
            rest = rest.trim_start();
            if let Some(end) = rest.strip_prefix('}') {
                assert!(end.trim().is_empty(), "{line}");
                return keys;
            }
            let mut it = serde_json::Deserializer::from_str(rest).into_iter::<String>();
            keys.push(it.next().expect("a key").expect("a string key"));
            rest = rest[it.byte_offset()..].trim_start().strip_prefix(':').expect("a colon");
            let mut it = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
            it.next().expect("a value").expect("a JSON value");
            rest = rest[it.byte_offset()..].trim_start();
            rest = rest.strip_prefix(',').unwrap_or(rest);
        }
    }

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_secs_frac(1_700_000_000 + s, 123_456_000)
    }

    fn connection() -> ConnectionRecord {
        ConnectionRecord {
            conn_id: 3,
            community_id: "1:abc=".into(),
            client: "10.0.0.1:40000".parse().expect("addr"),
            server: "[::1]:8080".parse().expect("addr"),
            roles_from: "syn",
            first_packet: 1,
            last_packet: 20,
            start_ts: ts(0),
            end_ts: ts(2),
            handshake: HandshakeState::Ok,
            http: HandshakeInfo {
                path: "=cmd|' /C calc'!A0".into(),
                status: 101,
                user_agent: "agent \"quoted\"\n\u{1b}[31m".into(),
                accept_valid: Some(true),
                ..HandshakeInfo::default()
            },
            frames: [4, 5],
            messages: [1, 2],
            payload_bytes: [10, 20],
            closes: [None, None],
            close_initiator: Some(Direction::ServerToClient),
            termination: Termination::CloseHandshake,
            fin_packet: [Some(18), None],
            fin_ts: [None, None],
            rst_packet: None,
            rst_ts: None,
            rst_from: None,
            bytes: [ByteAccount { captured: 100, gap: 3, ..ByteAccount::default() }, ByteAccount::default()],
        }
    }

    fn frame() -> FrameRecord {
        FrameRecord {
            conn_id: 3,
            direction: Direction::ClientToServer,
            index: 0,
            header: FrameHeader {
                fin: true,
                rsv1: false,
                rsv2: false,
                rsv3: false,
                opcode: 8,
                mask: Some([1, 2, 0xab, 0xff]),
                len7: 4,
                payload_len: 4,
                length_form: LengthForm::Short,
                header_len: 6,
            },
            stream_offset: 200,
            first_packet: 7,
            last_packet: 7,
            first_ts: ts(1),
            ts: ts(1),
            captured_len: 4,
            gap_len: 0,
            truncated: false,
            message_index: None,
            compressed: false,
            inflated_len: None,
            close_code: Some(1011),
            close_reason: Some("-oops".into()),
            payload: Vec::new(),
            inflated: Vec::new(),
            text: false,
        }
    }

    fn message() -> MessageRecord {
        MessageRecord {
            conn_id: 3,
            direction: Direction::ServerToClient,
            index: 1,
            opcode: 1,
            frames: 2,
            payload_len: 30,
            first_frame: 1,
            last_frame: 2,
            first_packet: 9,
            last_packet: 10,
            first_ts: ts(1),
            ts: ts(1),
            complete: true,
            compressed: true,
            inflated_len: Some(64),
        }
    }

    fn close_rec() -> CloseRecord {
        CloseRecord {
            conn_id: 3,
            direction: Direction::ServerToClient,
            frame_index: Some(4),
            ts: ts(2),
            packet: 19,
            code: None,
            reason: String::new(),
            initiator: true,
            inferred: true,
            reported_code: 1005,
            diagnosis: "+no status".into(),
            cause_rule: None,
            cause_packet: Some(17),
            answered: Some(false),
            answer_delay_s: Some(0.123_456_789),
            tcp_end_delay_s: None,
        }
    }

    fn violation() -> ViolationRecord {
        ViolationRecord {
            conn_id: 3,
            direction: Direction::ClientToServer,
            frame_index: Some(2),
            ts: ts(1),
            packet: None,
            rule: "reserved-opcode",
            rfc_section: "RFC 6455 §5.2",
            expected_close: Some(1002),
            detail: "opcode 3".into(),
        }
    }

    fn finding() -> Finding {
        Finding {
            conn_id: None,
            direction: None,
            kind: "capture-gap",
            packet: Some(5),
            ts: None,
            stream_offset: Some(0),
            len: Some(10),
            detail: "@gap".into(),
        }
    }

    fn write_all() -> Vec<u8> {
        let mut w = JsonWriter::new(Vec::new(), "<test>");
        w.connection(&connection()).expect("write");
        w.frame(&frame()).expect("write");
        w.message(&message()).expect("write");
        w.close(&close_rec()).expect("write");
        w.violation(&violation()).expect("write");
        w.finding(&finding()).expect("write");
        let mut s = Summary::default();
        s.connection(&connection());
        s.frame(&frame());
        s.message(&message());
        s.close(&close_rec());
        s.violation(&violation());
        s.finding(&finding());
        let totals = CaptureTotals { files: 1, packets: 20, tcp_connections: 1, notices: vec!["a \"notice\"".into()], filter: None };
        w.summary(&s, &totals).expect("write");
        w.finish().expect("flush")
    }

    #[test]
    fn every_line_has_its_type_and_the_csv_columns_in_order() {
        let buf = write_all();
        let text = std::str::from_utf8(&buf).expect("utf-8");
        let types: Vec<String> = lines(&buf).iter().map(|m| m["type"].as_str().expect("type").to_string()).collect();
        assert_eq!(types, ["connection", "frame", "message", "close", "violation", "finding", "summary"]);
        for (line, t) in text.lines().zip(&types) {
            let keys = keys_in_order(line);
            assert_eq!(keys[0], "type");
            if let Some(cols) = columns(t) {
                assert_eq!(keys[1..], *cols, "{line}");
            }
        }
    }

    #[test]
    fn values_are_typed_and_text_is_raw() {
        let buf = write_all();
        let l = lines(&buf);
        let (conn, frame, msg, close, viol, find) = (&l[0], &l[1], &l[2], &l[3], &l[4], &l[5]);
        assert_eq!(conn["conn_id"], Value::from(3));
        assert_eq!(conn["client_ip"], "10.0.0.1");
        assert_eq!(conn["server_ip"], "::1");
        assert_eq!(conn["server_port"], Value::from(8080));
        assert_eq!(conn["start_ts"], "2023-11-14T22:13:20.123456Z");
        assert_eq!(conn["http_status"], Value::from(101));
        // No formula guard in JSON, control characters escaped by JSON.
        assert_eq!(conn["path"], "=cmd|' /C calc'!A0");
        assert_eq!(conn["user_agent"], "agent \"quoted\"\n\u{1b}[31m");
        assert_eq!(conn["subprotocol"], Value::Null);
        assert_eq!(conn["close_code_c2s"], Value::Null);
        assert_eq!(conn["close_initiator"], "server");
        assert_eq!(conn["accept_valid"], Value::Bool(true));
        assert_eq!(conn["fin_packet_c2s"], Value::from(18));
        assert_eq!(conn["rst_from"], Value::Null);
        assert_eq!(conn["gap_bytes"], Value::from(3));
        assert_eq!(frame["fin"], Value::Bool(true));
        assert_eq!(frame["opcode_name"], "close");
        assert_eq!(frame["mask_key"], "0102abff");
        assert_eq!(frame["message_index"], Value::Null);
        assert_eq!(frame["close_code"], Value::from(1011));
        assert_eq!(frame["close_reason"], "-oops");
        assert_eq!(msg["inflated_len"], Value::from(64));
        assert_eq!(msg["compressed"], Value::Bool(true));
        assert_eq!(close["code"], Value::Null);
        assert_eq!(close["reason"], Value::Null);
        assert_eq!(close["diagnosis"], "+no status");
        assert_eq!(close["cause_rule"], Value::Null);
        assert_eq!(close["reported_code"], Value::from(1005));
        assert_eq!(close["answered"], Value::Bool(false));
        assert_eq!(close["answer_delay_s"], Value::from(0.123457));
        assert_eq!(close["tcp_end_delay_s"], Value::Null);
        assert_eq!(viol["packet"], Value::Null);
        assert_eq!(viol["rfc_section"], "RFC 6455 §5.2");
        assert_eq!(find["conn_id"], Value::Null);
        assert_eq!(find["detail"], "@gap");
    }

    #[test]
    fn csv_and_json_cells_agree() {
        // Every cell: null in JSON exactly when empty in CSV; otherwise the
        // same text (raw CSV) or the same number.
        let raw = crate::report::csv::CsvOptions { raw: true, ..Default::default() };
        let (c, f, m, cl, v, fi) = (connection(), frame(), message(), close_rec(), violation(), finding());
        let rows: Vec<Vec<Cell<'_>>> = vec![
            connection_cells(&c),
            frame_cells(&f, 0).to_vec(),
            message_cells(&m).to_vec(),
            close_cells(&cl),
            violation_cells(&v),
            finding_cells(&fi),
        ];
        for (cells, (_, cols)) in rows.iter().zip(RECORD_TYPES) {
            assert_eq!(cells.len(), cols.len());
            for cell in cells {
                let (csv, json) = (cell.to_csv(raw), cell.to_json());
                match &json {
                    Value::Null => assert_eq!(csv, ""),
                    Value::String(s) => assert_eq!(csv, s.as_str()),
                    Value::Bool(b) => assert_eq!(csv, b.to_string()),
                    Value::Number(n) => assert_eq!(csv.parse::<f64>().ok(), n.as_f64(), "{csv} vs {n}"),
                    other => panic!("unexpected {other}"),
                }
            }
        }
        // The guard applies to CSV only.
        let guarded = crate::report::csv::CsvOptions::default();
        assert_eq!(Cell::Text("=1".into()).to_csv(guarded), "'=1");
        assert_eq!(Cell::Text("=1".into()).to_json(), "=1");
        assert_eq!(Cell::Float(f64::NAN).to_json(), Value::Null);
    }

    #[test]
    fn summary_has_totals_and_no_logs_without_matches() {
        let buf = write_all();
        let l = lines(&buf);
        let s = &l[6];
        assert_eq!(s["connections"], Value::from(1));
        assert_eq!(s["handshake_ok"], Value::from(1));
        assert_eq!(s["frames"], Value::from(1));
        assert_eq!(s["frames_by_opcode"], serde_json::json!([{"opcode": 8, "opcode_name": "close", "c2s": 1, "s2c": 0}]));
        assert_eq!(
            s["closes_by_code"],
            serde_json::json!([{"code": null, "code_name": "no status code (peer reports 1005)", "from_client": 0, "from_server": 1}])
        );
        assert_eq!(s["violations"], Value::from(1));
        assert_eq!(s["violations_by_rule"], serde_json::json!({"reserved-opcode": 1}));
        assert_eq!(s["findings_by_kind"], serde_json::json!({"capture-gap": 1}));
        assert_eq!(s["capture_notices"], serde_json::json!(["a \"notice\""]));
        assert_eq!(s["duration_s"], Value::from(2.0));
        assert_eq!(s["logs"], Value::Null);
    }

    #[test]
    fn record_types_cover_every_csv_file() {
        assert_eq!(RECORD_TYPES.len(), 7);
        assert_eq!(columns("match"), Some(MATCH_COLUMNS));
        assert_eq!(columns("summary"), None);
        assert_eq!(keys_in_order(r#"{"type":"x","a,b":"}","c":[1,{"d":2}]}"#), ["type", "a,b", "c"]);
    }
}
