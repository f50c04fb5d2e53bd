//! JSON Lines output on every bundled sample: every line parses, has a known
//! `type`, and has exactly the CSV columns of its type as keys, in order;
//! and every value agrees with the cell the CSV writer writes for the same
//! record (null exactly where the CSV cell is empty).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

use wsforensics::correlate::{MatchOptions, TargetCollector, investigate};
use wsforensics::logs::LogOptions;
use wsforensics::pipeline::{AnalysisOptions, analyze};
use wsforensics::report::csv::{CsvOptions, CsvWriter};
use wsforensics::report::json::{JsonWriter, columns};
use wsforensics::report::summary::{CaptureTotals, Summary};
use wsforensics::session::record::{CloseRecord, ConnectionRecord, Finding, FrameRecord, MessageRecord, RecordSink, ViolationRecord};

/// Feeds every record to a JSON writer and, for comparison, a CSV writer
/// (raw: no formula guard, so the text is the same) and the summary.
struct Both {
    json: JsonWriter<Vec<u8>>,
    csv: CsvWriter,
    summary: Summary,
    targets: TargetCollector,
}

impl RecordSink for Both {
    fn connection(&mut self, rec: ConnectionRecord) {
        self.targets.connection(&rec);
        self.summary.connection(&rec);
        self.json.connection(&rec).unwrap();
        self.csv.connection(&rec).unwrap();
    }
    fn frame(&mut self, rec: FrameRecord) {
        self.summary.frame(&rec);
        self.json.frame(&rec).unwrap();
        self.csv.frame(&rec).unwrap();
    }
    fn message(&mut self, rec: MessageRecord) {
        self.summary.message(&rec);
        self.json.message(&rec).unwrap();
        self.csv.message(&rec).unwrap();
    }
    fn close(&mut self, rec: CloseRecord) {
        self.summary.close(&rec);
        self.json.close(&rec).unwrap();
        self.csv.close(&rec).unwrap();
        self.targets.close(&rec);
    }
    fn violation(&mut self, rec: ViolationRecord) {
        self.summary.violation(&rec);
        self.json.violation(&rec).unwrap();
        self.csv.violation(&rec).unwrap();
    }
    fn finding(&mut self, rec: Finding) {
        self.summary.finding(&rec);
        self.json.finding(&rec).unwrap();
        self.csv.finding(&rec).unwrap();
    }
}

/// The keys of a line's top-level object in their written order (a parsed
/// `serde_json::Map` sorts them).
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

fn samples() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(common::samples_dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    out.sort();
    out
}

/// The server log recorded with a sample, if any.
fn server_log(capture: &Path) -> Option<PathBuf> {
    let log = capture.with_extension("server.log");
    log.exists().then_some(log)
}

/// The CSV file of a record type.
fn csv_file(record_type: &str) -> &'static str {
    match record_type {
        "connection" => "connections.csv",
        "frame" => "frames.csv",
        "message" => "messages.csv",
        "close" => "closes.csv",
        "violation" => "violations.csv",
        "finding" => "findings.csv",
        "match" => "matches.csv",
        other => panic!("no CSV file for {other}"),
    }
}

/// The JSON value agrees with the CSV cell.
fn agrees(json: &Value, cell: &str) -> bool {
    match json {
        Value::Null => cell.is_empty(),
        Value::String(s) => s == cell,
        Value::Bool(b) => cell == if *b { "true" } else { "false" },
        Value::Number(n) => {
            if n.is_u64() {
                cell.parse::<u64>().ok() == n.as_u64()
            } else {
                cell.parse::<f64>().ok() == n.as_f64()
            }
        }
        _ => false,
    }
}

struct Output {
    json: String,
    csv_dir: tempfile::TempDir,
    has_matches: bool,
}

fn run(capture: &Path) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut sink = Both {
        json: JsonWriter::new(Vec::new(), "<memory>"),
        csv: CsvWriter::create(dir.path(), CsvOptions { raw: true, ..CsvOptions::default() }).unwrap(),
        summary: Summary::default(),
        targets: TargetCollector::default(),
    };
    let stats = analyze(&[capture.to_path_buf()], &AnalysisOptions { threads: 2, ..AnalysisOptions::default() }, &mut sink, &mut ())
        .unwrap_or_else(|e| panic!("{}: {e}", capture.display()));
    let Both { mut json, csv, summary, targets: TargetCollector { targets, conns, .. }, .. } = sink;
    csv.finish().unwrap();
    let log = server_log(capture);
    if let Some(log) = &log {
        let log_opts = LogOptions { reference: summary.first_ts, ..LogOptions::default() };
        let inv = investigate(std::slice::from_ref(log), &log_opts, targets, &conns, &MatchOptions::default()).unwrap();
        wsforensics::report::matches::write_csv(&dir.path().join("matches.csv"), &inv, CsvOptions { raw: true, ..CsvOptions::default() })
            .unwrap();
        json.matches(&inv).unwrap();
    }
    let totals = CaptureTotals {
        files: stats.files.len(),
        packets: stats.packets,
        tcp_connections: stats.tcp_connections,
        notices: stats.notices.iter().map(|n| n.to_string()).collect(),
        filter: None,
    };
    json.summary(&summary, &totals).unwrap();
    let bytes = json.finish().unwrap();
    Output { json: String::from_utf8(bytes).expect("JSON Lines are UTF-8"), csv_dir: dir, has_matches: log.is_some() }
}

const SUMMARY_KEYS: &[&str] = &[
    "type",
    "files",
    "packets",
    "tcp_connections",
    "capture_notices",
    "filter",
    "first_ts",
    "last_ts",
    "duration_s",
    "connections",
    "handshake_ok",
    "handshake_failed",
    "handshake_missing",
    "frames",
    "frames_c2s",
    "frames_s2c",
    "frames_by_opcode",
    "messages_c2s",
    "messages_s2c",
    "messages_text_c2s",
    "messages_binary_c2s",
    "messages_text_s2c",
    "messages_binary_s2c",
    "incomplete_messages",
    "closes_by_code",
    "close_initiator_client",
    "close_initiator_server",
    "no_close",
    "violations",
    "violations_by_rule",
    "findings_by_kind",
    "gap_bytes",
    "logs",
];

#[test]
fn every_sample_gives_json_lines_with_the_csv_columns() {
    let samples = samples();
    assert!(samples.len() >= 10, "samples: {samples:?}");
    let mut with_matches = 0;
    for capture in &samples {
        let name = capture.display().to_string();
        let out = run(capture);
        let lines: Vec<&str> = out.json.lines().collect();
        assert!(out.json.ends_with('\n'), "{name}");
        assert!(!lines.is_empty(), "{name}");

        // Parse every line; check its type and its keys.
        let mut by_type: std::collections::BTreeMap<String, Vec<serde_json::Map<String, Value>>> = Default::default();
        for (i, line) in lines.iter().enumerate() {
            let obj = match serde_json::from_str::<Value>(line) {
                Ok(Value::Object(m)) => m,
                other => panic!("{name}: line {}: not a JSON object: {other:?}", i + 1),
            };
            let t = obj.get("type").and_then(Value::as_str).unwrap_or_else(|| panic!("{name}: line {}: no type", i + 1)).to_string();
            let keys = keys_in_order(line);
            if t == "summary" {
                assert_eq!(i, lines.len() - 1, "{name}: the summary is the last line");
                assert_eq!(keys, SUMMARY_KEYS, "{name}");
            } else {
                let cols = columns(&t).unwrap_or_else(|| panic!("{name}: line {}: unknown type {t:?}", i + 1));
                assert_eq!(keys[0], "type", "{name}: line {}", i + 1);
                assert_eq!(keys[1..], *cols, "{name}: line {}: keys are not the CSV columns", i + 1);
            }
            by_type.entry(t).or_default().push(obj);
        }
        assert_eq!(by_type.get("summary").map(Vec::len), Some(1), "{name}");

        // Same records, same values as the CSV files.
        let types: Vec<&str> = ["connection", "frame", "message", "close", "violation", "finding"]
            .into_iter()
            .chain(out.has_matches.then_some("match"))
            .collect();
        for t in types {
            let path = out.csv_dir.path().join(csv_file(t));
            let mut r = csv::Reader::from_path(&path).unwrap();
            let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
            assert_eq!(header, columns(t).unwrap(), "{name}: {t}");
            let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
            let objs = by_type.get(t).map(Vec::as_slice).unwrap_or_default();
            assert_eq!(objs.len(), rows.len(), "{name}: {t} lines vs {} rows", csv_file(t));
            for (k, (obj, row)) in objs.iter().zip(&rows).enumerate() {
                for (col, cell) in header.iter().zip(row.iter()) {
                    assert!(agrees(&obj[col], cell), "{name}: {t} {k} {col}: JSON {} vs CSV {cell:?}", obj[col]);
                }
            }
        }

        // The summary's totals agree with the records.
        let s = &by_type["summary"][0];
        let count = |t: &str| by_type.get(t).map_or(0, Vec::len) as u64;
        assert_eq!(s["connections"].as_u64(), Some(count("connection")), "{name}");
        assert_eq!(s["frames"].as_u64(), Some(count("frame")), "{name}");
        assert_eq!(s["violations"].as_u64(), Some(count("violation")), "{name}");
        let by_rule: u64 = s["violations_by_rule"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
        assert_eq!(by_rule, count("violation"), "{name}");
        let by_op: u64 =
            s["frames_by_opcode"].as_array().unwrap().iter().map(|o| o["c2s"].as_u64().unwrap() + o["s2c"].as_u64().unwrap()).sum();
        assert_eq!(by_op, count("frame"), "{name}");
        let handshakes = ["handshake_ok", "handshake_failed", "handshake_missing"].iter().map(|k| s[*k].as_u64().unwrap()).sum::<u64>();
        assert_eq!(handshakes, count("connection"), "{name}");
        if out.has_matches {
            with_matches += 1;
            let logs = s["logs"].as_object().unwrap_or_else(|| panic!("{name}: no logs object"));
            assert!(logs["clock_offset_s"].is_number(), "{name}");
            assert!(logs["clock_offset_method"].is_string(), "{name}");
            assert_eq!(logs["files"].as_array().map(Vec::len), Some(1), "{name}");
            let rows = logs["closes_looked_up"].as_u64().unwrap() + logs["unmatched_errors"].as_u64().unwrap();
            assert_eq!(rows, count("match"), "{name}");
        } else {
            assert!(s["logs"].is_null(), "{name}");
            assert_eq!(count("match"), 0, "{name}");
        }
    }
    assert!(with_matches > 0, "no sample with a server log");
}

#[test]
fn one_violation_sample_has_typed_values() {
    let out = run(&common::samples_dir().join("violations-ws.pcap"));
    let lines: Vec<Value> = out.json.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let v = lines.iter().find(|l| l["type"] == "violation").expect("a violation");
    assert!(v["conn_id"].is_u64());
    assert!(v["rule"].is_string());
    assert!(v["ts"].as_str().is_some_and(|t| t.ends_with('Z') && t.contains('T')));
    let f = lines.iter().find(|l| l["type"] == "frame").expect("a frame");
    assert!(f["fin"].is_boolean() && f["masked"].is_boolean());
    assert!(f["opcode"].is_u64() && f["payload_len"].is_u64());
    let c = lines.iter().find(|l| l["type"] == "close").expect("a close");
    assert!(c["reported_code"].is_u64());
    assert!(c["initiator"].is_boolean());
}
