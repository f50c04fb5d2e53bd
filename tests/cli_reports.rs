//! The command line's filters, redaction, payload previews, colors,
//! completions and man pages, run on the bundled samples as a user would.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wsforensics"))
}

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples").join(name)
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "exit {:?}, stderr: {}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// A CSV file as rows of column name -> value.
fn rows(path: &Path) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    r.records().map(|rec| header.iter().cloned().zip(rec.unwrap().iter().map(str::to_string)).collect()).collect()
}

/// Runs the analysis with `args` into a fresh CSV directory.
fn csv_run(capture: &Path, args: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    ok(bin().arg(capture).arg("--csv").arg(dir.path()).args(args).arg("-q").output().unwrap());
    dir
}

fn conn_ids(dir: &Path, file: &str) -> BTreeSet<u64> {
    rows(&dir.join(file)).iter().map(|r| r["conn_id"].parse().unwrap()).collect()
}

const FILES: &[&str] = &["connections.csv", "frames.csv", "messages.csv", "closes.csv", "violations.csv"];

/// Every file of `dir` only has rows of `conns`, and has all the rows the
/// unfiltered run `all` has for them.
fn assert_only(dir: &Path, all: &Path, conns: &BTreeSet<u64>) {
    for file in FILES {
        let kept = rows(&dir.join(file));
        let expected: Vec<_> = rows(&all.join(file)).into_iter().filter(|r| conns.contains(&r["conn_id"].parse().unwrap())).collect();
        assert_eq!(kept, expected, "{file}: the filtered rows are exactly the selected connections' rows");
    }
}

#[test]
fn only_problems_keeps_connections_with_violations_or_error_closes() {
    let capture = sample("py-close-codes.pcap");
    let all = csv_run(&capture, &[]);
    let mut problems: BTreeSet<u64> = conn_ids(all.path(), "violations.csv");
    for c in rows(&all.path().join("closes.csv")) {
        if !matches!(c["reported_code"].as_str(), "1000" | "1001" | "1005") {
            problems.insert(c["conn_id"].parse().unwrap());
        }
    }
    let every = conn_ids(all.path(), "connections.csv");
    assert!(!problems.is_empty() && problems.len() < every.len(), "the sample mixes clean and broken connections");
    let filtered = csv_run(&capture, &["--only-problems"]);
    assert_eq!(conn_ids(filtered.path(), "connections.csv"), problems);
    assert_only(filtered.path(), all.path(), &problems);
}

#[test]
fn code_filter_selects_connections_by_reported_code() {
    let capture = sample("py-handler-error-1011.pcap");
    let all = csv_run(&capture, &[]);
    let with_1011: BTreeSet<u64> = rows(&all.path().join("closes.csv"))
        .iter()
        .filter(|c| c["reported_code"] == "1011")
        .map(|c| c["conn_id"].parse().unwrap())
        .collect();
    assert_eq!(with_1011.len(), 1);
    let filtered = csv_run(&capture, &["--code", "1011"]);
    assert_eq!(conn_ids(filtered.path(), "connections.csv"), with_1011);
    // The frames before the 1011 are its evidence: all of them are kept.
    assert_only(filtered.path(), all.path(), &with_1011);
    let none = csv_run(&capture, &["--code", "1002,4000"]);
    assert!(rows(&none.path().join("frames.csv")).is_empty());

    // The summary says it is filtered and counts only what was kept.
    let text = ok(bin().arg(&capture).args(["--code", "1011"]).output().unwrap());
    assert!(text.contains("Filtered: only records selected by --code 1011"), "{text}");
    assert!(text.contains("WebSocket connections: 1 "), "{text}");
}

#[test]
fn conn_filter_and_endpoint_filters() {
    let capture = sample("violations-ws.pcap");
    let all = csv_run(&capture, &[]);
    let conns = rows(&all.path().join("connections.csv"));
    let picked: BTreeSet<u64> = [0, 2].into();
    let filtered = csv_run(&capture, &["--conn", "0,2"]);
    assert_only(filtered.path(), all.path(), &picked);

    let third = conns.iter().find(|c| c["conn_id"] == "3").unwrap();
    let client = format!("{}:{}", third["client_ip"], third["client_port"]);
    let by_client = csv_run(&capture, &["--client", &client]);
    assert_only(by_client.path(), all.path(), &[3].into());
    // An address without a port matches every port: all connections are on
    // loopback.
    let every: BTreeSet<u64> = conns.iter().map(|c| c["conn_id"].parse().unwrap()).collect();
    let by_server = csv_run(&capture, &["--server", &third["server_ip"]]);
    assert_only(by_server.path(), all.path(), &every);
    let elsewhere = csv_run(&capture, &["--server", "192.0.2.1:80"]);
    assert!(rows(&elsewhere.path().join("connections.csv")).is_empty());

    let bad = bin().arg(&capture).args(["--client", "not-an-ip"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("IP:PORT"));
}

#[test]
fn time_window_relative_and_absolute() {
    let capture = sample("violations-websockets.pcap");
    let all = csv_run(&capture, &[]);
    let frames = rows(&all.path().join("frames.csv"));
    let ts = |r: &HashMap<String, String>| r["ts"].parse::<jiff::Timestamp>().unwrap();
    let start = frames.iter().map(ts).min().unwrap();
    let end = frames.iter().map(ts).max().unwrap();
    // The capture starts with the first SYN, at or before the first frame.
    let relative = csv_run(&capture, &["--since", "1s", "--until", "3.5s"]);
    let kept = rows(&relative.path().join("frames.csv"));
    assert!(!kept.is_empty() && kept.len() < frames.len(), "a window inside the capture keeps some frames");
    let (lo, hi) = (kept.iter().map(ts).min().unwrap(), kept.iter().map(ts).max().unwrap());
    assert!(lo > start && hi < end);
    // The same window as RFC 3339 times gives the same rows.
    let packets = rows(&all.path().join("connections.csv"));
    let first_packet = packets.iter().map(|r| r["start_ts"].parse::<jiff::Timestamp>().unwrap()).min().unwrap();
    let since = (first_packet + jiff::SignedDuration::from_secs(1)).to_string();
    let until = (first_packet + jiff::SignedDuration::from_millis(3500)).to_string();
    let absolute = csv_run(&capture, &["--since", &since, "--until", &until]);
    assert_eq!(rows(&absolute.path().join("frames.csv")), kept);
    for r in rows(&absolute.path().join("closes.csv")) {
        let t = ts(&r);
        assert!(t >= since.parse().unwrap() && t <= until.parse().unwrap());
    }

    let reversed = bin().arg(&capture).args(["--since", "3s", "--until", "1s"]).output().unwrap();
    assert_eq!(reversed.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&reversed.stderr).contains("is after --until"));
}

#[test]
fn json_lines_parse_on_every_sample_and_follow_filters() {
    let mut captures: Vec<PathBuf> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("samples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .collect();
    captures.sort();
    assert!(captures.len() >= 14);
    for capture in &captures {
        let out = ok(bin().arg(capture).args(["--json", "--payloads", "32"]).output().unwrap());
        let mut types = BTreeSet::new();
        for line in out.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{}: {e}: {line}", capture.display()));
            types.insert(v["type"].as_str().unwrap().to_string());
        }
        assert!(types.contains("connection") && types.contains("frame") && types.contains("summary"), "{}: {types:?}", capture.display());
        assert!(out.lines().last().unwrap().starts_with("{\"type\":\"summary\""));
    }
    // With a filter, every record names a selected connection.
    let out = ok(bin().arg(sample("violations-ws.pcap")).args(["--json", "--conn", "1"]).output().unwrap());
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["type"] != "summary" {
            assert_eq!(v["conn_id"], 1, "{line}");
        } else {
            assert_eq!(v["filter"], "--conn 1");
        }
    }
    // jq itself, when installed, reads the same stream.
    if let Ok(jq) = Command::new("jq").arg("--version").output()
        && jq.status.success()
    {
        let json = bin().arg(sample("py-close-codes.pcap")).arg("--json").output().unwrap();
        let mut child = Command::new("jq")
            .args(["-r", "select(.type == \"close\") | .code_name"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(&json.stdout).unwrap();
        let names = ok(child.wait_with_output().unwrap());
        assert!(names.lines().any(|l| l == "Going Away"), "{names}");
    }
}

#[test]
fn payload_previews_text_binary_and_inflated() {
    let plain = csv_run(&sample("py-echo-plain.pcap"), &["--payloads", "16"]);
    let frames = rows(&plain.path().join("frames.csv"));
    let text: Vec<_> = frames.iter().filter(|f| f["opcode_name"] == "text" && f["payload_len"] != "0").collect();
    assert!(!text.is_empty());
    for f in &text {
        assert_eq!(f["payload_preview_encoding"], "text");
        let len: usize = f["payload_len"].parse().unwrap();
        assert_eq!(f["payload_preview"].len(), len.min(16), "{f:?}");
    }
    for f in frames.iter().filter(|f| f["opcode_name"] == "binary" && f["payload_len"] != "0") {
        assert_eq!(f["payload_preview_encoding"], "hex");
        assert!(f["payload_preview"].bytes().all(|b| b.is_ascii_hexdigit()));
    }
    // Compressed frames are previewed by what they inflated to: the same
    // text as the uncompressed twin capture.
    let deflate = csv_run(&sample("node-echo-deflate.pcap"), &["--payloads", "24"]);
    let twin = csv_run(&sample("node-echo-plain.pcap"), &["--payloads", "24"]);
    let previews = |d: &Path| -> Vec<String> {
        rows(&d.join("frames.csv")).into_iter().filter(|f| f["opcode_name"] == "text").map(|f| f["payload_preview"].clone()).collect()
    };
    let compressed = previews(deflate.path());
    assert!(rows(&deflate.path().join("frames.csv")).iter().any(|f| f["compressed"] == "true"));
    assert!(compressed.iter().filter(|p| !p.is_empty()).count() > 2);
    assert_eq!(compressed, previews(twin.path()));
    // Without --payloads the columns are empty.
    let off = csv_run(&sample("py-echo-plain.pcap"), &[]);
    assert!(rows(&off.path().join("frames.csv")).iter().all(|f| f["payload_preview"].is_empty()));
}

#[test]
fn redact_leaves_traffic_text_out_of_every_output() {
    let capture = sample("handshake-ws.pcap");
    let clear = csv_run(&capture, &["--payloads", "64"]);
    let conns = rows(&clear.path().join("connections.csv"));
    assert!(conns.iter().any(|c| !c["host"].is_empty() && !c["user_agent"].is_empty() || !c["sec_websocket_key"].is_empty()));
    let red = csv_run(&capture, &["--payloads", "64", "--redact"]);
    for c in rows(&red.path().join("connections.csv")) {
        for col in ["host", "origin", "user_agent", "sec_websocket_key"] {
            assert!(c[col].is_empty() || c[col] == "[redacted]", "{col}: {}", c[col]);
        }
        assert!(!c["path"].contains('?') || c["path"].ends_with("?[redacted]"));
    }
    for f in rows(&red.path().join("frames.csv")) {
        assert!(f["payload_preview"].is_empty());
        assert!(f["close_reason"].is_empty() || f["close_reason"] == "[redacted]");
    }
    for v in rows(&red.path().join("violations.csv")) {
        // Quoted values are gone; the rule and its section stay.
        let quoted: Vec<&str> = v["detail"].split('"').skip(1).step_by(2).collect();
        assert!(quoted.iter().all(|q| *q == "[redacted]"), "{}", v["detail"]);
        assert!(!v["rule"].is_empty());
    }
    // The facts stay: same rows, same rules, same codes.
    assert_eq!(rows(&red.path().join("violations.csv")).len(), rows(&clear.path().join("violations.csv")).len());
    let codes = |d: &Path| rows(&d.join("closes.csv")).into_iter().map(|r| r["reported_code"].clone()).collect::<Vec<_>>();
    assert_eq!(codes(red.path()), codes(clear.path()));

    // No header value of the clear run appears anywhere in the redacted
    // JSON or terminal output.
    let values: BTreeSet<String> = conns
        .iter()
        .flat_map(|c| ["host", "user_agent", "sec_websocket_key", "origin"].map(|k| c[k].clone()))
        .filter(|v| v.len() > 4)
        .collect();
    assert!(!values.is_empty());
    let json = ok(bin().arg(&capture).args(["--json", "--redact", "--payloads", "64"]).output().unwrap());
    let text = ok(bin().arg(&capture).args(["--redact"]).output().unwrap());
    for v in &values {
        assert!(!json.contains(v.as_str()), "{v} leaked into JSON");
        assert!(!text.contains(v.as_str()), "{v} leaked into the report");
    }
}

#[test]
fn redact_reaches_log_matching_output() {
    let capture = sample("py-handler-error-1011.pcap");
    let log = sample("py-handler-error-1011.server.log");
    let dir = tempfile::tempdir().unwrap();
    ok(bin().arg(&capture).arg("--log").arg(&log).arg("--csv").arg(dir.path()).arg("--redact").arg("-q").output().unwrap());
    let matches = rows(&dir.path().join("matches.csv"));
    assert!(matches.iter().any(|m| m["exception"].contains("ZeroDivisionError")), "the match itself survives redaction");
    for m in &matches {
        let quoted: Vec<&str> = m["evidence"].split('"').skip(1).step_by(2).collect();
        assert!(quoted.iter().all(|q| *q == "[redacted]"), "{}", m["evidence"]);
    }
}

#[test]
fn colors_only_when_asked_or_on_a_terminal_without_no_color() {
    let capture = sample("py-handler-error-1011.pcap");
    let piped = ok(bin().arg(&capture).output().unwrap());
    assert!(!piped.contains('\x1b'), "no escape codes into a pipe");
    let always = ok(bin().arg(&capture).args(["--color", "always"]).output().unwrap());
    assert!(always.contains("\x1b[1;31m"), "1011 is shown in red");
    assert!(!ok(bin().arg(&capture).args(["--color", "never"]).output().unwrap()).contains('\x1b'));
    // On a real terminal (script(1) gives one): colored, unless NO_COLOR.
    let on_tty = |no_color: Option<&str>| -> Option<String> {
        let cmd = format!("{} {} --color auto", env!("CARGO_BIN_EXE_wsforensics"), capture.display());
        let mut c = Command::new("script");
        c.args(["-qec", &cmd, "/dev/null"]).env_remove("NO_COLOR");
        if let Some(v) = no_color {
            c.env("NO_COLOR", v);
        }
        let out = c.output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    };
    if let Some(tty) = on_tty(None) {
        assert!(tty.contains("\x1b[1;31m"), "auto colors a terminal");
        let no_color = on_tty(Some("1")).unwrap();
        assert!(no_color.contains("WebSocket connections") && !no_color.contains("\x1b[1;31m"), "NO_COLOR turns colors off");
    }
}

#[test]
fn completions_and_man_pages_come_from_the_same_definitions() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = ok(bin().args(["completions", shell]).output().unwrap());
        assert!(script.contains("only-problems") && script.contains("redact"), "{shell} completes the analyze flags");
        assert!(script.contains("explain"), "{shell} completes the subcommands");
    }
    let bad = bin().args(["completions", "cmd.exe"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));

    let man = ok(bin().arg("man").output().unwrap());
    assert!(man.starts_with(".ie") || man.contains(".TH wsforensics 1"), "{}", &man[..200.min(man.len())]);
    assert!(man.contains("completions") && man.contains("explain"));
    let analyze = ok(bin().args(["man", "analyze"]).output().unwrap());
    assert!(analyze.contains(".TH wsforensics\\-analyze 1") || analyze.contains(".TH wsforensics-analyze 1"), "{}", &analyze[..300]);
    for flag in ["only\\-problems", "redact", "payloads", "since", "fail\\-on"] {
        assert!(analyze.contains(flag), "the analyze page documents --{flag}");
    }
    // The committed pages are what the binary prints.
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/man");
    assert_eq!(std::fs::read_to_string(docs.join("wsforensics.1")).unwrap(), man, "docs/man is stale: run scripts/gen-man.sh");
    assert_eq!(std::fs::read_to_string(docs.join("wsforensics-analyze.1")).unwrap(), analyze, "docs/man is stale: run scripts/gen-man.sh");
    let unknown = bin().args(["man", "nope"]).output().unwrap();
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn help_has_examples_and_the_default_command() {
    let help = ok(bin().arg("--help").output().unwrap());
    assert!(help.contains("Examples:") && help.contains("--only-problems") && help.contains("Exit status"));
    // `wsforensics FILE` is `wsforensics analyze FILE`.
    let a = ok(bin().arg(sample("py-echo-plain.pcap")).output().unwrap());
    let b = ok(bin().arg("analyze").arg(sample("py-echo-plain.pcap")).output().unwrap());
    assert_eq!(a, b);
}

#[test]
fn html_and_markdown_reports_from_the_command_line() {
    let capture = sample("py-handler-error-1011.pcap");
    let log = sample("py-handler-error-1011.server.log");
    let dir = tempfile::tempdir().unwrap();
    let (html, md) = (dir.path().join("report.html"), dir.path().join("postmortem.md"));
    ok(bin().arg(&capture).arg("--log").arg(&log).arg("--html").arg(&html).arg("--markdown").arg(&md).arg("-q").output().unwrap());
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") || page.starts_with("<!doctype html>"), "{}", &page[..80]);
    assert!(!page.contains("http://") && !page.contains("https://"), "self-contained: no URL");
    assert!(page.contains("ZeroDivisionError"), "the matched trace is in the page's data");
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(text.contains("1011") && text.contains("ZeroDivisionError") && text.contains("scenarios.py:96"), "{text}");
    // Filters and redaction reach the reports too.
    let red = dir.path().join("red.md");
    ok(bin().arg(sample("py-close-codes.pcap")).args(["--redact", "-q", "--markdown"]).arg(&red).output().unwrap());
    let clear = dir.path().join("clear.md");
    ok(bin().arg(sample("py-close-codes.pcap")).args(["-q", "--markdown"]).arg(&clear).output().unwrap());
    let (red, clear) = (std::fs::read_to_string(red).unwrap(), std::fs::read_to_string(clear).unwrap());
    assert!(clear.contains("session expired"), "{clear}");
    assert!(!red.contains("session expired") && red.contains("4001"), "{red}");
    let only = dir.path().join("only.html");
    ok(bin().arg(sample("py-close-codes.pcap")).args(["--code", "4001", "-q", "--html"]).arg(&only).output().unwrap());
    let all = dir.path().join("all.html");
    ok(bin().arg(sample("py-close-codes.pcap")).args(["-q", "--html"]).arg(&all).output().unwrap());
    assert!(std::fs::metadata(&only).unwrap().len() < std::fs::metadata(&all).unwrap().len(), "the filtered report holds less");
}
