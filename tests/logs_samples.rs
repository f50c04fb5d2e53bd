//! The log reader on the project's real server logs (`samples/*.server.log`,
//! recorded with the captures): grouping, exceptions, identifiers,
//! timestamps, and that block boundaries never change the result.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::Path;

use wsforensics::logs::{Language, Level, LogEvent, LogOptions, LogSummary, read_log_bytes, read_logs};
use wsforensics::model::Timestamp;

fn read(path: &str) -> (Vec<LogEvent>, LogSummary) {
    let mut events = Vec::new();
    let summary = read_logs(&[path], &LogOptions::default(), |e| events.push(e)).unwrap();
    (events, summary)
}

fn at(events: &[LogEvent], line: u64) -> &LogEvent {
    events.iter().find(|e| e.line == line).unwrap_or_else(|| panic!("no event at line {line}"))
}

fn ts(rfc3339: &str) -> Timestamp {
    let t: jiff::Timestamp = rfc3339.parse().unwrap();
    Timestamp::from_nanos(t.as_nanosecond() as i64)
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Every non-blank line of the file lies in exactly one event.
fn assert_partition(path: &str, events: &[LogEvent]) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut owner = vec![0usize; text.lines().count() + 1];
    for (k, e) in events.iter().enumerate() {
        assert!(e.line <= e.end_line, "{path}: event {k} range {}-{}", e.line, e.end_line);
        for l in e.line..=e.end_line {
            assert_eq!(owner[l as usize], 0, "{path}: line {l} in two events");
            owner[l as usize] = k + 1;
        }
    }
    for (i, line) in text.lines().enumerate() {
        if !line.trim().is_empty() {
            assert_ne!(owner[i + 1], 0, "{path}: line {} in no event: {line}", i + 1);
        }
    }
}

#[test]
fn python_handler_error_traceback_is_one_event() {
    let path = "samples/py-handler-error-1011.server.log";
    let (events, summary) = read(path);
    assert!(summary.notices.is_empty(), "{:?}", summary.notices);
    assert_eq!(summary.files[0].format.to_string(), "text(iso)");
    assert_eq!(summary.files[0].lines, 35);
    assert_eq!(events.len(), 23);
    assert_partition(path, &events);

    // The traceback that caused the 1011: lines 13-20, one event.
    let e = at(&events, 13);
    assert_eq!((e.line, e.end_line), (13, 20));
    assert_eq!(e.ts, Some(ts("2026-11-24T10:00:54.282Z")));
    assert_eq!(e.ts_res_ns, 1_000_000);
    assert_eq!(e.ts_raw(), "2026-11-24 10:00:54,282");
    assert_eq!(e.level, Some(Level::Error));
    assert_eq!(e.logger(), Some("websockets.server"));
    assert_eq!(e.message(), "connection handler failed");
    let x = e.exception.as_ref().unwrap();
    assert_eq!(x.language, Language::Python);
    assert_eq!((x.exc_type.as_str(), x.message.as_str()), ("ZeroDivisionError", "division by zero"));
    assert_eq!((x.innermost_type.as_str(), x.chain_len), ("ZeroDivisionError", 1));
    let top = x.top_app_frame.as_ref().unwrap();
    assert_eq!(top.function, "crash_handler");
    assert!(top.file.ends_with("scripts/record-samples/py_scenarios.py"), "{}", top.file);
    assert_eq!(top.line, Some(96));
    assert!(top.in_app);
    // Throw site first; the websockets frame is library code.
    assert_eq!(x.frames.len(), 2);
    assert_eq!(x.frames[0], *top);
    assert!(x.frames[1].file.contains("site-packages/websockets/asyncio/server.py") && !x.frames[1].in_app);
    assert_eq!(x.frames[1].line, Some(762));

    // The unrelated handled KeyError 40 ms later is its own event.
    let k = at(&events, 21);
    assert_eq!((k.line, k.end_line), (21, 26));
    assert_eq!(k.logger(), Some("app"));
    let kx = k.exception.as_ref().unwrap();
    assert_eq!((kx.exc_type.as_str(), kx.message.as_str()), ("KeyError", "'unit'"));
    let ktop = kx.top_app_frame.as_ref().unwrap();
    assert_eq!((ktop.function.as_str(), ktop.line), ("metrics_task", Some(110)));

    // Noise: every other event is one line, without an exception.
    for e in events.iter().filter(|e| e.line != 13 && e.line != 21) {
        assert_eq!(e.line, e.end_line, "{}", e.raw());
        assert!(e.exception.is_none(), "{}", e.raw());
        assert!(e.ts.is_some());
    }
    let warn = at(&events, 29);
    assert_eq!((warn.level, warn.message()), (Some(Level::Warn), "metrics: exporter queue above 80% (41/50)"));

    // Client endpoints and the path, for tying events to connections.
    assert_eq!(at(&events, 11).ip_ports().collect::<Vec<_>>(), vec![sa("127.0.0.1:44156")]);
    assert_eq!(at(&events, 11).message(), "client 127.0.0.1:44156 request id=102 op=div");
    let connect = at(&events, 9).identifiers();
    assert_eq!(connect.ip_ports, vec![sa("127.0.0.1:44156")]);
    assert_eq!(connect.ips, vec!["127.0.0.1".parse::<std::net::IpAddr>().unwrap()]);
    assert_eq!(connect.paths, vec!["/calc".to_string()]);
    assert_eq!(at(&events, 31).ip_ports().collect::<Vec<_>>(), vec![sa("127.0.0.1:44148")]);
    // File paths are not URL paths.
    assert!(at(&events, 2).identifiers().paths.is_empty());
    assert!(at(&events, 7).identifiers().paths.is_empty());
    // Events come in line order, timestamps never go backwards here.
    assert!(events.windows(2).all(|w| w[0].line < w[1].line && w[0].ts <= w[1].ts));
}

#[test]
fn node_error_stack_is_one_event() {
    let path = "samples/node-handler-error-1011.server.log";
    let (events, summary) = read(path);
    assert!(summary.notices.is_empty(), "{:?}", summary.notices);
    assert_eq!(events.len(), 19);
    assert_partition(path, &events);

    let e = at(&events, 19);
    assert_eq!((e.line, e.end_line), (19, 29));
    assert_eq!(e.ts, Some(ts("2026-11-24T10:01:01.177Z")));
    assert_eq!(e.level, Some(Level::Error));
    assert_eq!(
        e.message(),
        "request handler failed for client 127.0.0.1:60858: TypeError: Cannot read properties of undefined (reading 'name')"
    );
    let x = e.exception.as_ref().unwrap();
    assert_eq!(x.language, Language::Node);
    assert_eq!(x.exc_type, "TypeError");
    assert_eq!(x.message, "Cannot read properties of undefined (reading 'name')");
    assert_eq!(x.frames.len(), 10);
    let top = x.top_app_frame.as_ref().unwrap();
    assert_eq!(top.function, "handleRequest");
    assert!(top.file.ends_with("scripts/record-samples/node/scenarios.js"));
    assert_eq!(top.line, Some(112));
    // ws internals (node_modules) and node: frames are not application code.
    assert!(x.frames.iter().filter(|f| f.file.contains("node_modules") || f.file.starts_with("node:")).all(|f| !f.in_app));
    assert_eq!(e.ip_ports().collect::<Vec<_>>(), vec![sa("127.0.0.1:60858")]);

    // The handled startup error: its own event; the first frame (node:fs) is
    // skipped for the application's.
    let w = at(&events, 2);
    assert_eq!((w.line, w.end_line, w.level), (2, 12, Some(Level::Warn)));
    let wx = w.exception.as_ref().unwrap();
    assert_eq!(wx.exc_type, "Error");
    assert!(wx.message.starts_with("ENOENT: no such file or directory"));
    assert_eq!(wx.frames[0].file, "node:fs");
    let wtop = wx.top_app_frame.as_ref().unwrap();
    assert_eq!((wtop.function.as_str(), wtop.line), ("serverApp", Some(130)));
    assert!(w.identifiers().paths.is_empty(), "{:?}", w.identifiers().paths);

    for e in events.iter().filter(|e| e.line != 19 && e.line != 2) {
        assert_eq!(e.line, e.end_line);
        assert!(e.exception.is_none(), "{}", e.raw());
    }
    // UTF-8 close reasons survive.
    assert_eq!(at(&events, 38).message(), "client 127.0.0.1:60874 disconnected code=4000 reason=\"user logged out – à bientôt ✓\"");
    assert_eq!(at(&events, 36).ip_ports().collect::<Vec<_>>(), vec![sa("127.0.0.1:60864")]);
}

#[test]
fn python_close_codes_debug_log() {
    let path = "samples/py-close-codes.server.log";
    let (events, summary) = read(path);
    assert!(summary.notices.is_empty());
    assert_eq!(events.len(), 95);
    assert_partition(path, &events);
    let with_exc: Vec<&LogEvent> = events.iter().filter(|e| e.exception.is_some()).collect();
    assert_eq!(with_exc.len(), 1);
    let e = with_exc[0];
    assert_eq!((e.line, e.end_line), (33, 44));
    let x = e.exception.as_ref().unwrap();
    assert_eq!(x.exc_type, "websockets.exceptions.ConnectionClosedError");
    assert_eq!(x.message, "received 4001 (private use) session expired; then sent 4001 (private use) session expired");
    let top = x.top_app_frame.as_ref().unwrap();
    assert_eq!((top.function.as_str(), top.line), ("close_codes_handler", Some(119)));
    // The throw site is in websockets (library); the app frame is found by walking out.
    assert!(!x.frames[0].in_app && x.frames[0].function == "recv");
    // Handshake lines: request path and Sec-WebSocket-Key as identifiers.
    assert_eq!(at(&events, 4).identifiers().paths, vec!["/session".to_string()]);
    let key = at(&events, 8).identifiers();
    assert_eq!(key.ids, vec![("Sec-WebSocket-Key".to_string(), "z18YIoUP8rBktYOXDW1j5w==".to_string())]);
    assert_eq!(at(&events, 8).level, Some(Level::Debug));
    assert_eq!(at(&events, 65).level, Some(Level::Warn));
}

#[test]
fn every_sample_log_reads_cleanly() {
    let mut paths: Vec<_> =
        std::fs::read_dir("samples").unwrap().map(|e| e.unwrap().path()).filter(|p| p.to_string_lossy().ends_with(".server.log")).collect();
    paths.sort();
    assert!(paths.len() >= 9);
    let mut events = Vec::new();
    let summary = read_logs(&paths, &LogOptions::default(), |e| events.push(e)).unwrap();
    assert!(summary.notices.is_empty(), "{:?}", summary.notices);
    for (i, f) in summary.files.iter().enumerate() {
        let mine: Vec<LogEvent> = events.iter().filter(|e| e.file == i).cloned().collect();
        assert_eq!(mine.len() as u64, f.events);
        assert_partition(&f.path.to_string_lossy(), &mine);
        // Runtime crash output (a Rust panic on stderr) has no stamp of its
        // own; it is placed after the line before it.
        assert!(mine.iter().all(|e| e.ts.is_some() || e.ts_not_before.is_some()), "{}", f.path.display());
    }
}

#[test]
fn block_boundaries_do_not_change_the_result() {
    for path in
        ["samples/py-handler-error-1011.server.log", "samples/node-handler-error-1011.server.log", "samples/py-close-codes.server.log"]
    {
        let bytes = std::fs::read(path).unwrap();
        let (whole, _) = read_log_bytes(path, &bytes, &LogOptions::default());
        for block_size in [1, 7, 64, 100, 333, 1000] {
            let opts = LogOptions { block_size, ..LogOptions::default() };
            let (cut, summary) = read_log_bytes(path, &bytes, &opts);
            assert!(summary.notices.is_empty());
            assert_eq!(cut, whole, "{path} with {block_size}-byte blocks");
        }
    }
    assert!(Path::new("samples/py-handler-error-1011.server.log").exists());
}
