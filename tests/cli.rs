//! The command line and its CSV files, run as a user would.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::public_dir;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wsforensics"))
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r.records().map(|row| row.unwrap().iter().map(str::to_string).collect()).collect();
    (header, rows)
}

fn col(header: &[String], row: &[String], name: &str) -> String {
    let i = header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"));
    row[i].clone()
}

#[test]
fn csv_export_of_a_1009_close() {
    let capture = public_dir().join("zeek/message-too-big-status.pcap");
    let dir = tempfile::tempdir().unwrap();
    let out = bin().arg(&capture).arg("--csv").arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("WebSocket connections: 1"), "{stdout}");
    assert!(stdout.contains("1009"), "summary names the 1009 close: {stdout}");
    assert!(stdout.contains("Message Too Big"), "{stdout}");

    let (h, rows) = read_csv(&dir.path().join("connections.csv"));
    assert_eq!(
        &h[..24],
        &[
            "conn_id",
            "community_id",
            "client_ip",
            "client_port",
            "server_ip",
            "server_port",
            "start_ts",
            "end_ts",
            "handshake",
            "http_status",
            "path",
            "subprotocol",
            "extensions",
            "frames_c2s",
            "frames_s2c",
            "messages_c2s",
            "messages_s2c",
            "payload_bytes_c2s",
            "payload_bytes_s2c",
            "close_code_c2s",
            "close_code_s2c",
            "close_initiator",
            "termination",
            "gap_bytes"
        ]
    );
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(col(&h, r, "handshake"), "ok");
    assert_eq!(col(&h, r, "http_status"), "101");
    assert_eq!(col(&h, r, "close_code_c2s"), "1009");
    assert_eq!(col(&h, r, "close_code_s2c"), "1000");
    assert_eq!(col(&h, r, "close_initiator"), "client");
    assert_eq!(col(&h, r, "termination"), "close_handshake");
    assert_eq!(col(&h, r, "frames_c2s"), "1");
    assert_eq!(col(&h, r, "frames_s2c"), "2");
    assert!(col(&h, r, "community_id").starts_with("1:"));
    assert!(col(&h, r, "start_ts").ends_with('Z'));

    let (h, rows) = read_csv(&dir.path().join("frames.csv"));
    assert_eq!(
        &h[..15],
        &[
            "conn_id",
            "direction",
            "frame_index",
            "ts",
            "first_packet",
            "last_packet",
            "stream_offset",
            "fin",
            "rsv1",
            "rsv2",
            "rsv3",
            "opcode",
            "opcode_name",
            "masked",
            "payload_len"
        ]
    );
    assert_eq!(rows.len(), 3);
    let ping = &rows[0];
    assert_eq!(col(&h, ping, "opcode_name"), "ping");
    assert_eq!(col(&h, ping, "direction"), "s2c");
    assert_eq!(col(&h, ping, "masked"), "false");
    assert_eq!(col(&h, ping, "payload_len"), "4");
    // RFC 3339 UTC with exactly microseconds.
    let ts = col(&h, ping, "ts");
    assert_eq!(ts.len(), "2024-01-01T00:00:00.000000Z".len(), "{ts}");

    let (h, rows) = read_csv(&dir.path().join("closes.csv"));
    assert_eq!(&h[..7], &["conn_id", "direction", "ts", "packet", "code", "reason", "initiator"]);
    assert_eq!(rows.len(), 2);
    assert_eq!(col(&h, &rows[0], "code"), "1009");
    assert_eq!(col(&h, &rows[0], "reason"), "over size limit (4 > 2 bytes)");
    assert_eq!(col(&h, &rows[0], "initiator"), "true");
    assert_eq!(col(&h, &rows[1], "initiator"), "false");
}

#[test]
fn several_files_are_one_capture() {
    // The same capture given twice: packets are merged in time order, so
    // every packet number doubles up and the 4-tuples repeat.
    let capture = public_dir().join("zeek/reply-ping-separate.pcap");
    let out = bin().arg(&capture).arg(&capture).output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("2 file(s), 36 packets"), "{stdout}");
}

#[test]
fn missing_file_is_a_clear_error_with_exit_2() {
    let out = bin().arg("/nonexistent/capture.pcap").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("/nonexistent/capture.pcap"), "{stderr}");
}

#[test]
fn explicit_analyze_subcommand_and_thread_count_give_the_same_output() {
    let capture: PathBuf = public_dir().join("zeek/wstunnel-ssh.pcap");
    let a = bin().arg(&capture).arg("--threads").arg("1").output().unwrap();
    let b = bin().arg("analyze").arg(&capture).arg("--threads").arg("3").output().unwrap();
    assert!(a.status.success() && b.status.success());
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn truncated_capture_keeps_what_was_decoded_and_says_where() {
    // A capture cut while writing: the last record is incomplete.
    let src = std::fs::read(public_dir().join("zeek/message-too-big-status.pcap")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &src[..src.len() - 30]).unwrap();
    let out = bin().arg(&cut).arg("--csv").arg(dir.path().join("csv")).output().unwrap();
    assert!(out.status.success(), "damage is reported, not fatal");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("capture damage"), "{stdout}");
    assert!(stdout.contains("cut.pcap"), "names the file: {stdout}");
    assert!(stdout.contains("byte "), "names the offset: {stdout}");
    // The frames before the cut are all there: 13 complete packets of 14.
    assert!(stdout.contains("13 packets"), "{stdout}");
    let (_, frames) = read_csv(&dir.path().join("csv/frames.csv"));
    assert!(frames.len() >= 2, "frames before the damage are kept");
}

#[test]
fn unsupported_link_type_is_named() {
    // The same capture relabelled as link type USER0 (147).
    let mut bytes = std::fs::read(public_dir().join("zeek/message-too-big-status.pcap")).unwrap();
    bytes[20..24].copy_from_slice(&147u32.to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("user0.pcap");
    std::fs::write(&p, &bytes).unwrap();
    let out = bin().arg(&p).output().unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(all.contains("147"), "{all}");
    assert!(all.contains("not supported"), "{all}");
}

#[test]
fn explain_compares_two_codes_in_english_and_arabic() {
    let out = bin().args(["explain", "1002", "1011"]).output().unwrap();
    assert!(out.status.success());
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.starts_with("1002 Protocol Error  vs  1011 Internal Error"), "{s}");
    assert!(s.contains("How to fix it") && s.contains("When to suspect it"), "{s}");
    let ar = bin().args(["explain", "1002", "1011", "--lang", "ar"]).output().unwrap();
    assert!(ar.status.success());
    let s = String::from_utf8(ar.stdout).unwrap();
    assert!(s.contains("كيف تصلحه"), "{s}");
    let bad = bin().args(["explain", "1002", "--lang", "xx"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn max_message_caps_inflation_and_says_so() {
    // py-echo-deflate holds compressed messages up to 100 KiB: with a 1 KiB
    // cap the bigger ones are reported as over the cap, never inflated
    // further, and later messages that needed the lost context are named.
    let capture = common::samples_dir().join("py-echo-deflate.pcapng");
    let dir = tempfile::tempdir().unwrap();
    let out = bin().arg(&capture).args(["--max-message", "1KiB", "--csv"]).arg(dir.path()).output().unwrap();
    assert!(out.status.success());
    let (h, rows) = read_csv(&dir.path().join("findings.csv"));
    let kinds: Vec<String> = rows.iter().map(|r| col(&h, r, "kind")).collect();
    assert!(kinds.iter().any(|k| k == "inflate-cap-exceeded"), "{kinds:?}");
    let (_, violations) = read_csv(&dir.path().join("violations.csv"));
    assert!(violations.is_empty(), "a cap is our limit, not the peer's fault");
    // Without the cap everything inflates.
    let out = bin().arg(&capture).arg("--csv").arg(dir.path()).output().unwrap();
    assert!(out.status.success());
    let (_, rows) = read_csv(&dir.path().join("findings.csv"));
    assert!(rows.is_empty());
    let bad = bin().arg(&capture).args(["--max-message", "12XB"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn log_matching_writes_matches_csv_and_reports_the_trace() {
    let capture = common::samples_dir().join("py-handler-error-1011.pcap");
    let log = common::samples_dir().join("py-handler-error-1011.server.log");
    let dir = tempfile::tempdir().unwrap();
    let out = bin().arg(&capture).arg("--log").arg(&log).arg("--csv").arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("trace:    ZeroDivisionError: division by zero"), "{stdout}");
    assert!(stdout.contains("clock offset"), "{stdout}");
    let (h, rows) = read_csv(&dir.path().join("matches.csv"));
    assert_eq!(
        &h[..12],
        &[
            "conn_id",
            "close_ts",
            "close_code",
            "log_file",
            "log_line",
            "log_ts",
            "delta_s",
            "exception",
            "message",
            "top_frame",
            "confidence",
            "evidence"
        ]
    );
    let m: Vec<_> = rows.iter().filter(|r| !col(&h, r, "conn_id").is_empty()).collect();
    assert_eq!(m.len(), 1);
    assert_eq!(col(&h, m[0], "close_code"), "1011");
    assert_eq!(col(&h, m[0], "confidence"), "high");
    assert_eq!(col(&h, m[0], "log_line"), "13");
    // The unrelated exception is listed without a close.
    assert!(rows.iter().any(|r| col(&h, r, "conn_id").is_empty() && col(&h, r, "exception").starts_with("KeyError")));
}

#[test]
fn fail_on_sets_exit_status_1_for_ci_pipelines() {
    let dir = common::samples_dir();
    let status = |capture: &str, what: &str| bin().arg(dir.join(capture)).args(["-q", "--fail-on", what]).output().unwrap().status.code();
    assert_eq!(status("py-handler-error-1011.pcap", "1011"), Some(1));
    assert_eq!(status("py-handler-error-1011.pcap", "violations"), Some(0));
    assert_eq!(status("node-server-killed-1006.pcap", "abnormal"), Some(1));
    assert_eq!(status("node-server-killed-1006.pcap", "violations,1011"), Some(0));
    assert_eq!(status("violations-ws.pcap", "violations"), Some(1));
    assert_eq!(status("py-echo-plain.pcap", "violations,1011,abnormal"), Some(0));
    assert_eq!(status("py-echo-plain.pcap", "nonsense"), Some(2));
}

#[test]
fn json_lines_on_stdout_parse_for_every_sample() {
    for capture in common::captures_with_oracle(&common::samples_dir()) {
        let out = bin().arg(&capture).arg("--json").output().unwrap();
        assert!(out.status.success(), "{}", capture.display());
        let text = String::from_utf8(out.stdout).unwrap();
        let mut types = std::collections::BTreeSet::new();
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{}: {e}: {line}", capture.display()));
            types.insert(v["type"].as_str().unwrap().to_string());
        }
        assert!(types.contains("connection") && types.contains("frame"), "{}: {types:?}", capture.display());
        assert!(text.lines().last().unwrap().contains("\"type\":\"summary\""), "summary last");
        assert!(!text.contains("WebSocket connections:"), "no text summary mixed in");
    }
    // To a file, the text summary still goes to the terminal.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.jsonl");
    let out = bin().arg(common::samples_dir().join("py-close-codes.pcap")).arg("--json").arg(&file).output().unwrap();
    assert!(String::from_utf8(out.stdout).unwrap().contains("WebSocket connections: 3"));
    assert!(std::fs::read_to_string(&file).unwrap().lines().count() > 10);
}
