//! The HTML and Markdown incident reports on the real samples: the page is
//! self-contained, embeds every close and violation the analysis produced
//! (with the violating frame for the closes that answered one), shows the
//! matched stack trace of each 1011; the Markdown lists the problem closes
//! with their cause and evidence. And text from hostile traffic cannot get
//! out of the page's data or a Markdown table cell.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use serde_json::Value;

use common::samples_dir;
use wsforensics::correlate::{LogInvestigation, MatchOptions, TargetCollector, investigate};
use wsforensics::logs::LogOptions;
use wsforensics::model::{Direction, Timestamp};
use wsforensics::pipeline::{AnalysisOptions, analyze};
use wsforensics::report::html::write_html;
use wsforensics::report::incident::IncidentCollector;
use wsforensics::report::markdown::write_markdown;
use wsforensics::report::summary::{CaptureTotals, Summary};
use wsforensics::session::record::{
    ByteAccount, CloseRecord, ConnectionRecord, Finding, FrameRecord, HandshakeInfo, HandshakeState, MessageRecord, RecordSink,
    Termination, ViolationRecord,
};

/// Feeds the summary and the incident collector the same records (as the
/// CLI does), keeps what log matching needs, and every close and
/// violation to compare the reports with.
#[derive(Default)]
struct Sink {
    summary: Summary,
    incident: IncidentCollector,
    targets: TargetCollector,
    closes: Vec<CloseRecord>,
    violations: Vec<ViolationRecord>,
}

impl RecordSink for Sink {
    fn connection(&mut self, rec: ConnectionRecord) {
        self.targets.connection(&rec);
        self.summary.connection(&rec);
        self.incident.connection(rec);
    }
    fn frame(&mut self, rec: FrameRecord) {
        self.summary.frame(&rec);
        self.incident.frame(rec);
    }
    fn message(&mut self, rec: MessageRecord) {
        self.summary.message(&rec);
        self.incident.message(rec);
    }
    fn close(&mut self, rec: CloseRecord) {
        self.summary.close(&rec);
        self.targets.close(&rec);
        self.closes.push(rec.clone());
        self.incident.close(rec);
    }
    fn violation(&mut self, rec: ViolationRecord) {
        self.summary.violation(&rec);
        self.violations.push(rec.clone());
        self.incident.violation(rec);
    }
    fn finding(&mut self, rec: Finding) {
        self.summary.finding(&rec);
        self.incident.finding(rec);
    }
}

struct Run {
    sink: Sink,
    totals: CaptureTotals,
    inv: Option<LogInvestigation>,
}

impl Run {
    fn html(&self) -> String {
        let mut out = Vec::new();
        write_html(&self.sink.incident, &self.sink.summary, &self.totals, self.inv.as_ref(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn markdown(&self) -> String {
        let mut out = Vec::new();
        write_markdown(&self.sink.incident, &self.sink.summary, &self.totals, self.inv.as_ref(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }
}

/// Analyzes `samples/NAME` and, when `log` is set, matches the closes with
/// `samples/LOG`.
fn run_sample(name: &str, log: Option<&str>, threads: usize) -> Run {
    let path = samples_dir().join(name);
    let mut sink = Sink::default();
    sink.incident.set_captures([&path]);
    let stats = analyze(std::slice::from_ref(&path), &AnalysisOptions { threads, ..AnalysisOptions::default() }, &mut sink, &mut ())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let inv = log.map(|l| {
        let opts = LogOptions { reference: sink.summary.first_ts, ..LogOptions::default() };
        investigate(
            &[samples_dir().join(l)],
            &opts,
            std::mem::take(&mut sink.targets.targets),
            &sink.targets.conns,
            &MatchOptions::default(),
        )
        .unwrap()
    });
    let totals = CaptureTotals {
        files: stats.files.len(),
        packets: stats.packets,
        tcp_connections: stats.tcp_connections,
        notices: stats.notices.iter().map(|n| n.to_string()).collect(),
        ..CaptureTotals::default()
    };
    Run { sink, totals, inv }
}

/// The JSON the page embeds, as its script reads it.
fn data_of(html: &str) -> Value {
    let open = "<script type=\"application/json\" id=\"data\">";
    let start = html.find(open).expect("the data element") + open.len();
    let end = start + html[start..].find("</script>").expect("the end of the data element");
    serde_json::from_str(&html[start..end]).expect("the data is JSON")
}

/// No fetch of anything outside the file.
fn assert_self_contained(html: &str, what: &str) {
    for outside in ["http://", "https://", "//cdn", "@import", "<link", "<iframe", "<img", "<object", "<embed"] {
        assert!(!html.contains(outside), "{what}: the page contains {outside:?}");
    }
    // The markup, without the data (whose strings are checked apart: they
    // hold no `<`, so nothing in them is markup).
    let open = "<script type=\"application/json\" id=\"data\">";
    let start = html.find(open).expect("the data element") + open.len();
    let end = start + html[start..].find("</script>").expect("the end of the data element");
    assert!(!html[start..end].contains(['<', '>']), "{what}: markup characters in the data");
    let markup = format!("{}{}", &html[..start], &html[end..]);
    for (i, _) in markup.match_indices("src=") {
        let rest = markup[i + 4..].trim_start_matches(['"', '\'']);
        assert!(rest.starts_with("data:"), "{what}: a src= that is not a data: URI: {}", &markup[i..(i + 60).min(markup.len())]);
    }
    assert_eq!(html.matches("<script").count(), 2, "{what}: only the data and the page's own script");
    assert!(html.contains("default-src 'none'"), "{what}: the page forbids fetches");
}

fn closes_of(d: &Value) -> &Vec<Value> {
    d["closes"].as_array().unwrap()
}

/// Data rows of the Markdown table under `heading`.
fn table_rows<'a>(md: &'a str, heading: &str) -> Vec<&'a str> {
    let section = md.split(heading).nth(1).unwrap_or_else(|| panic!("no {heading} in\n{md}"));
    let section = section.split("\n## ").next().unwrap_or_default();
    section.lines().filter(|l| l.starts_with("| ") && !l.starts_with("| Time") && !l.starts_with("| ---")).collect()
}

/// Cells of a Markdown table row, split at unescaped `|`.
fn cells(row: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut escaped = false;
    for ch in row.trim().trim_start_matches('|').trim_end_matches('|').chars() {
        if ch == '|' && !escaped {
            out.push(String::new());
            continue;
        }
        escaped = ch == '\\' && !escaped;
        out.last_mut().unwrap().push(ch);
    }
    out.into_iter().map(|c| c.trim().to_string()).collect()
}

#[test]
fn every_sample_embeds_every_close_and_violation() {
    let mut names: Vec<String> = std::fs::read_dir(samples_dir())
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng"))
        .collect();
    names.sort();
    assert!(names.len() >= 10, "{names:?}");
    for name in &names {
        let run = run_sample(name, None, 1);
        let html = run.html();
        assert_self_contained(&html, name);
        let d = data_of(&html);
        assert_eq!(closes_of(&d).len(), run.sink.closes.len(), "{name}: closes");
        assert_eq!(d["violations"].as_array().unwrap().len(), run.sink.violations.len(), "{name}: violations");
        assert_eq!(d["violations_total"].as_u64(), Some(run.sink.violations.len() as u64), "{name}");
        assert_eq!(d["connections"].as_array().unwrap().len() as u64, run.sink.summary.connections, "{name}: connections");
        // Each close answered a violation in a frame: that frame is embedded
        // with its header fields.
        for c in &run.sink.closes {
            let (Some(rule), Some(packet)) = (c.cause_rule, c.cause_packet) else { continue };
            let Some(v) = run.sink.violations.iter().find(|v| v.conn_id == c.conn_id && v.rule == rule && v.packet == Some(packet)) else {
                continue;
            };
            let Some(index) = v.frame_index else { continue };
            let j = closes_of(&d)
                .iter()
                .find(|x| x["conn"] == c.conn_id && x["packet"] == c.packet && x["dir"] == c.direction.as_str())
                .unwrap();
            let f = &j["cause"]["frame"];
            assert_eq!(f[1].as_u64(), Some(index), "{name} tcp.stream {}: the violating frame", c.conn_id);
            assert!(f[3].as_u64() == Some(packet) || f[4].as_u64() == Some(packet), "{name}: {f}");
            assert_eq!(j["cause"]["rule"], rule);
        }
        // The Markdown lists every problem close.
        let problems = closes_of(&d).iter().filter(|c| c["problem"] == true).count();
        let md = run.markdown();
        let rows = if problems == 0 { Vec::new() } else { table_rows(&md, "## Timeline of problem closes") };
        assert_eq!(rows.len(), problems, "{name}:\n{md}");
    }
}

#[test]
fn protocol_errors_show_the_violating_frame() {
    let run = run_sample("violations-websockets.pcap", Some("violations-websockets.server.log"), 1);
    let html = run.html();
    let d = data_of(&html);
    // tcp.stream 1: a text frame with the reserved opcode 3, answered with 1002.
    let c = closes_of(&d).iter().find(|c| c["conn"] == 1 && c["reported"] == 1002 && c["by"] == "server").unwrap();
    assert_eq!(c["cause_rule"], "reserved-opcode");
    assert_eq!(c["problem"], true);
    let f = &c["cause"]["frame"];
    assert_eq!((f[0].as_u64(), f[6].as_u64()), (Some(0), Some(3)), "client frame with opcode 3: {f}");
    assert_eq!(f[5].as_u64().unwrap() & 16, 16, "masked");
    assert!(!c["frames"].as_array().unwrap().is_empty());
    assert_eq!(d["cards"]["violations"].as_u64(), Some(run.sink.violations.len() as u64));
    // The same report for any thread count.
    assert_eq!(run_sample("violations-websockets.pcap", Some("violations-websockets.server.log"), 3).html(), html);

    let md = run.markdown();
    let rows = table_rows(&md, "## Timeline of problem closes");
    let row = rows.iter().map(|r| cells(r)).find(|c| c[1] == "1" && c[3] == "1002 Protocol Error").unwrap();
    assert_eq!(row[4], "server");
    assert_eq!(row[6], "`reserved-opcode`");
    let expected_packets: Vec<String> = {
        let close = run.sink.closes.iter().find(|c| c.conn_id == 1 && c.direction == Direction::ServerToClient).unwrap();
        vec![close.cause_packet.unwrap().to_string(), close.packet.to_string()]
    };
    assert_eq!(row[7], expected_packets.join(", "));
    assert!(md.contains("### 2. 1002 Protocol Error after `reserved-opcode` (2 closes)"), "{md}");
    assert!(md.contains(&format!("- **Wireshark:** `tcp.stream == 1 && frame.number in {{{}}}`", expected_packets.join(" "))));
    assert!(md.contains("opcode 3 (reserved-data), MASK 1"));
    let by_code = table_rows(&md, "## Closes by code and initiator");
    assert!(by_code.contains(&"| 1002 | Protocol Error | 1 | 11 | 12 |"), "{by_code:?}");
}

#[test]
fn internal_errors_show_their_stack_trace() {
    let run = run_sample("py-handler-error-1011.pcap", Some("py-handler-error-1011.server.log"), 1);
    let html = run.html();
    assert_self_contained(&html, "py-handler-error-1011");
    let d = data_of(&html);
    let c = closes_of(&d).iter().find(|c| c["reported"] == 1011 && c["by"] == "server").unwrap();
    assert_eq!((c["conn"].as_u64(), c["packet"].as_u64()), (Some(1), Some(22)));
    let t = &c["trace"];
    assert_eq!(t["exception"], "ZeroDivisionError: division by zero");
    assert!(
        t["top_frame"].as_str().unwrap().starts_with("crash_handler (")
            && t["top_frame"].as_str().unwrap().ends_with("py_scenarios.py:96)"),
        "{t}"
    );
    assert!(t["location"].as_str().unwrap().ends_with("py-handler-error-1011.server.log:13-20"), "{t}");
    assert_eq!(t["confidence"], "high");
    assert!(t["delta_s"].as_f64().unwrap().abs() < 0.1);
    assert_eq!((d["cards"]["internal_errors"].as_u64(), d["cards"]["internal_explained"].as_u64()), (Some(1), Some(1)));
    // The unrelated KeyError the log holds is listed as unexplained.
    let unmatched = d["log"]["unmatched"].as_array().unwrap();
    assert!(unmatched.iter().any(|e| e["exception"].as_str().unwrap().starts_with("KeyError")), "{unmatched:?}");

    let md = run.markdown();
    let rows = table_rows(&md, "## Timeline of problem closes");
    assert_eq!(rows.len(), 1, "{md}");
    let row = cells(rows[0]);
    assert_eq!((row[1].as_str(), row[3].as_str(), row[7].as_str()), ("1", "1011 Internal Error", "22"));
    assert!(row[8].starts_with("ZeroDivisionError: division by zero at crash\\_handler ("), "{}", row[8]);
    assert!(row[8].ends_with("py-handler-error-1011.server.log:13-20)"), "{}", row[8]);
    assert!(md.contains("- **Stack trace:** ZeroDivisionError: division by zero ("));
    assert!(md.contains("py\\_scenarios.py:96)"));
    assert!(md.contains("- **Wireshark:** `tcp.stream == 1 && frame.number == 22`"));
    assert!(md.contains("- **1011 Internal Error:** 1 (1 explained by a server-log trace, 0 unexplained)"));
    let questions = md.split("## Open questions").nth(1).unwrap();
    assert!(questions.contains("error event(s) in the server logs match no close") && questions.contains("KeyError"), "{questions}");
}

#[test]
fn a_killed_server_is_an_inferred_1006_with_its_trace() {
    let run = run_sample("node-server-killed-1006.pcap", Some("node-server-killed-1006.server.log"), 1);
    let d = data_of(&run.html());
    let c = closes_of(&d).iter().find(|c| c["reported"] == 1006).unwrap();
    assert_eq!(
        (c["inferred"].as_bool(), c["by"].as_str(), c["target_kind"].as_str()),
        (Some(true), Some("server"), Some("server-drop-1006"))
    );
    assert!(c["trace"]["exception"].as_str().unwrap().contains("ENOENT"), "{c}");
    assert_eq!(d["cards"]["abnormal"], 1);
    let md = run.markdown();
    let row = cells(table_rows(&md, "## Timeline of problem closes")[0]);
    assert_eq!(row[3], "1006 Abnormal Closure (inferred)");
    assert_eq!(row[6], "`abnormal-closure`");
}

fn hostile_records(reason: &str) -> Sink {
    let ts = |ms: i64| Timestamp::from_nanos(1_795_514_400_000_000_000 + ms * 1_000_000);
    let mut sink = Sink::default();
    sink.close(CloseRecord {
        conn_id: 0,
        direction: Direction::ServerToClient,
        frame_index: Some(0),
        ts: ts(10),
        packet: 7,
        code: Some(4000),
        reason: reason.to_string(),
        initiator: true,
        inferred: false,
        reported_code: 4000,
        diagnosis: format!("server closed with 4000: {reason}"),
        cause_rule: None,
        cause_packet: None,
        answered: Some(false),
        answer_delay_s: None,
        tcp_end_delay_s: Some(0.0),
    });
    sink.violation(ViolationRecord {
        conn_id: 0,
        direction: Direction::ClientToServer,
        frame_index: None,
        ts: ts(11),
        packet: Some(8),
        rule: "close-unanswered",
        rfc_section: "RFC 6455 §5.5.1",
        expected_close: None,
        detail: reason.to_string(),
    });
    sink.connection(ConnectionRecord {
        conn_id: 0,
        community_id: String::new(),
        client: "10.0.0.1:40000".parse().unwrap(),
        server: "10.0.0.2:443".parse().unwrap(),
        roles_from: "syn",
        first_packet: 1,
        last_packet: 9,
        start_ts: ts(0),
        end_ts: ts(12),
        handshake: HandshakeState::Ok,
        http: HandshakeInfo { path: format!("/chat?x={reason}"), status: 101, ..HandshakeInfo::default() },
        frames: [0, 1],
        messages: [0, 0],
        payload_bytes: [0, 2],
        closes: [None, None],
        close_initiator: Some(Direction::ServerToClient),
        termination: Termination::CloseUnanswered,
        fin_packet: [None; 2],
        fin_ts: [None; 2],
        rst_packet: None,
        rst_ts: None,
        rst_from: None,
        bytes: [ByteAccount::default(); 2],
    });
    sink
}

#[test]
fn a_hostile_close_reason_cannot_break_out() {
    let reason = "</script><script>alert(1)</script><!--<img src=x onerror=alert(2)>\u{2028}";
    let run = Run { sink: hostile_records(reason), totals: CaptureTotals::default(), inv: None };
    let html = run.html();
    assert_self_contained(&html, "hostile");
    assert_eq!(html.matches("</script>").count(), 2);
    for markup in ["<script>alert", "<img", "<!--", "onerror=alert(2)>"] {
        assert!(!html.contains(markup), "{markup} got into the page");
    }
    assert!(!html.contains('\u{2028}'));
    let d = data_of(&html);
    let got = closes_of(&d)[0]["reason"].as_str().unwrap();
    assert!(got.starts_with("</script><script>alert(1)</script><!--<img src=x onerror=alert(2)>"), "{got}");
    assert_eq!(d["violations"][0]["detail"].as_str().unwrap(), got);
    assert!(d["connections"][0]["path"].as_str().unwrap().ends_with(got));

    let md_reason = "bad | worse | <b>x</b> `y` *z*\nnext line";
    let md = Run { sink: hostile_records(md_reason), totals: CaptureTotals::default(), inv: None }.markdown();
    let rows = table_rows(&md, "## Timeline of problem closes");
    assert_eq!(rows.len(), 1, "{md}");
    let row = cells(rows[0]);
    assert_eq!(row.len(), 8, "{row:?}");
    assert_eq!(row[5], "bad \\| worse \\| \\<b\\>x\\</b\\> \\`y\\` \\*z\\*\\\\nnext line");
    assert!(!md.contains("<b>") && !md.contains("\nnext line"));
}

#[test]
fn the_example_writes_both_reports() {
    // The files the CLI will write: the writers work on any io::Write.
    let run = run_sample("rust-panic-1011.pcap", Some("rust-panic-1011.server.log"), 1);
    let dir = tempfile::tempdir().unwrap();
    let (html_path, md_path): (PathBuf, PathBuf) = (dir.path().join("r.html"), dir.path().join("r.md"));
    let mut f = std::fs::File::create(&html_path).unwrap();
    write_html(&run.sink.incident, &run.sink.summary, &run.totals, run.inv.as_ref(), &mut f).unwrap();
    let mut f = std::fs::File::create(&md_path).unwrap();
    write_markdown(&run.sink.incident, &run.sink.summary, &run.totals, run.inv.as_ref(), &mut f).unwrap();
    let html = std::fs::read_to_string(&html_path).unwrap();
    let d = data_of(&html);
    let traced: Vec<&Value> = closes_of(&d).iter().filter(|c| !c["trace"].is_null()).collect();
    assert!(!traced.is_empty(), "the panic's 1011 has its trace");
    let md = std::fs::read_to_string(&md_path).unwrap();
    assert!(md.starts_with("# WebSocket incident summary\n"));
    assert!(md.contains("- **Time span (UTC):** 2026-11-24T11:15:58."), "{md}");
}
