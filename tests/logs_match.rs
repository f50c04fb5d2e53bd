//! 1011 ↔ stack trace on real servers: each capture in `samples/` recorded
//! with the server's own log (unrelated noise and an unrelated exception
//! included). Every 1011 must be matched to its own trace with high
//! confidence, and nothing else matched.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use common::{run, samples_dir};
use wsforensics::correlate::{CloseTarget, Confidence, ConnTimes, LogInvestigation, MatchOptions, TargetKind, investigate};
use wsforensics::logs::LogOptions;

fn investigate_sample(name: &str, opts: MatchOptions) -> LogInvestigation {
    investigate_capture(name, samples_dir().join(format!("{name}.server.log")), LogOptions::default(), opts)
}

/// Analyzes `samples/NAME.pcap`, then matches its closes against `log`.
fn investigate_capture(name: &str, log: PathBuf, log_opts: LogOptions, opts: MatchOptions) -> LogInvestigation {
    let (c, _) = run(&[samples_dir().join(format!("{name}.pcap"))], 1);
    let mut targets = Vec::new();
    for conn in &c.connections {
        for close in c.closes.iter().filter(|x| x.conn_id == conn.conn_id) {
            targets.extend(CloseTarget::from_records(conn, close));
        }
    }
    let conns: Vec<ConnTimes> = c.connections.iter().map(|k| ConnTimes { client: k.client, start: k.start_ts, end: k.end_ts }).collect();
    investigate(&[log], &log_opts, targets, &conns, &opts).unwrap()
}

/// (exception prefix, top frame function) of the event matched to each 1011.
fn matched(inv: &LogInvestigation) -> Vec<(u64, String, String, Confidence)> {
    inv.correlation
        .rows
        .iter()
        .filter_map(|r| {
            let t = inv.targets.get(r.target?)?;
            let e = inv.collector.errors.get(r.event?)?;
            Some((t.conn_id, e.exception.clone(), e.top_frame.clone(), r.confidence?))
        })
        .collect()
}

#[test]
fn python_websockets_1011_is_its_zero_division_traceback() {
    let inv = investigate_sample("py-handler-error-1011", MatchOptions::default());
    assert_eq!(inv.targets.len(), 1, "one 1011 in the capture");
    let m = matched(&inv);
    assert_eq!(m.len(), 1, "{m:?}");
    let (conn, exc, frame, conf) = &m[0];
    assert_eq!(*conn, 1);
    assert_eq!(exc, "ZeroDivisionError: division by zero");
    assert!(frame.starts_with("crash_handler ("), "{frame}");
    assert_eq!(*conf, Confidence::High);
    // The unrelated KeyError is left alone, reported as an error with no close.
    let orphans: Vec<&str> = inv
        .correlation
        .rows
        .iter()
        .filter(|r| r.target.is_none())
        .map(|r| inv.collector.errors[r.event.unwrap()].exception.as_str())
        .collect();
    assert!(orphans.iter().any(|e| e.starts_with("KeyError")), "{orphans:?}");
    assert_eq!(inv.correlation.offset.method, "anchors");
}

#[test]
fn node_ws_1011_is_its_type_error_stack() {
    let inv = investigate_sample("node-handler-error-1011", MatchOptions::default());
    let m = matched(&inv);
    assert_eq!(m.len(), 1, "{m:?}");
    let (conn, exc, frame, conf) = &m[0];
    assert_eq!(*conn, 0);
    assert!(exc.starts_with("TypeError: Cannot read properties of undefined"), "{exc}");
    assert!(frame.starts_with("handleRequest ("), "{frame}");
    assert_eq!(*conf, Confidence::High);
}

#[test]
fn a_wrong_offset_loses_the_match_and_says_why() {
    // With the clock forced 10 minutes off, nothing is in the window.
    let inv = investigate_sample("py-handler-error-1011", MatchOptions { offset_s: Some(600.0), ..MatchOptions::default() });
    assert!(matched(&inv).is_empty());
    let row = inv.correlation.rows.iter().find(|r| r.target.is_some()).unwrap();
    assert_eq!(row.evidence, "the log does not cover that time");
}

/// The Python sample's log rewritten as a server in Berlin would write it:
/// local time (UTC+1 in November), no zone in the stamps.
fn berlin_log(dir: &std::path::Path) -> PathBuf {
    let text = std::fs::read_to_string(samples_dir().join("py-handler-error-1011.server.log")).unwrap();
    let shifted: String = text
        .lines()
        .map(|l| match l.strip_prefix("2026-11-24 10:") {
            Some(rest) => format!("2026-11-24 11:{rest}\n"),
            None => format!("{l}\n"),
        })
        .collect();
    let p = dir.join("berlin.log");
    std::fs::write(&p, shifted).unwrap();
    p
}

fn investigate_with(log: PathBuf, log_opts: LogOptions) -> LogInvestigation {
    investigate_capture("py-handler-error-1011", log, log_opts, MatchOptions::default())
}

#[test]
fn zone_less_log_in_another_time_zone() {
    let dir = tempfile::tempdir().unwrap();
    let log = berlin_log(dir.path());
    // With --log-tz Europe/Berlin the stamps land on the capture's clock.
    let tz: wsforensics::logs::LogTz = "Europe/Berlin".parse().unwrap();
    let inv = investigate_with(log.clone(), LogOptions { tz, ..LogOptions::default() });
    assert!(inv.correlation.offset.seconds.abs() < 0.01, "{:?}", inv.correlation.offset);
    let m = matched(&inv);
    assert_eq!(m.len(), 1);
    assert!(m[0].1.starts_with("ZeroDivisionError"));
    assert_eq!(m[0].3, Confidence::High);
    // Read as UTC by mistake, the hour shows as a clock offset estimated
    // from the connections the log names, and the match still holds.
    let inv = investigate_with(log, LogOptions::default());
    assert!((inv.correlation.offset.seconds - 3600.0).abs() < 0.01, "{:?}", inv.correlation.offset);
    let m = matched(&inv);
    assert_eq!(m.len(), 1);
    assert!(m[0].1.starts_with("ZeroDivisionError"));
}

/// `rust-panic-1011`: tokio-tungstenite 0.30 server, three connections on port
/// 8790 (tcp.stream 0 = healthy client, closes 1000; 1 = the panic is caught
/// through the request task's `JoinHandle` and the server closes with 1011
/// "internal error" at packet 23; 2 = the panic unwinds the connection task,
/// the stream is dropped and the server's FIN at packet 44 ends it with no
/// Close frame, i.e. 1006). Both panics are `called Option::unwrap() on a None
/// value` at `rust_panic_server::evaluate` (rust-server/src/main.rs:52), each
/// printed by the default panic hook with `RUST_BACKTRACE=1` (no timestamp on
/// the panic lines). The log also has the app's own ERROR line for the caught
/// panic (names the client, no stack) and one unrelated ERROR (metrics).
fn rust_panic_sample() -> (LogInvestigation, Vec<(u64, String, String, Confidence)>) {
    let inv = investigate_sample("rust-panic-1011", MatchOptions::default());
    let kinds: Vec<(u64, TargetKind, u16)> = inv.targets.iter().map(|t| (t.conn_id, t.kind, t.code)).collect();
    assert_eq!(
        kinds,
        vec![(1, TargetKind::InternalError, 1011), (2, TargetKind::ServerDrop, 1006)],
        "targets: the server's 1011 on conn 1 and the server's drop of conn 2; none for the healthy conn 0"
    );
    let m = matched(&inv);
    assert!(m.iter().all(|(conn, ..)| *conn != 0), "the healthy connection (conn 0, 1000) must match nothing: {m:?}");
    (inv, m)
}

fn is_main_rs_panic(exc: &str, frame: &str) -> bool {
    exc.starts_with("panic: called `Option::unwrap()` on a `None` value")
        && frame.starts_with("rust_panic_server::evaluate (")
        && frame.contains("rust-server/src/main.rs:52")
}

#[test]
fn rust_tokio_tungstenite_dropped_connection_is_its_panic() {
    let (inv, m) = rust_panic_sample();
    let row = m.iter().find(|(conn, ..)| *conn == 2);
    let Some((_, exc, frame, conf)) = row else {
        panic!("the server-dropped connection (conn 2, FIN at packet 44, inferred 1006) is matched to nothing: {m:?}");
    };
    assert!(is_main_rs_panic(exc, frame), "conn 2 matched to exception {exc:?} at {frame:?}, not the panic in main.rs");
    assert_eq!(*conf, Confidence::High);
    // The unrelated metrics error is left alone.
    let orphans: Vec<&str> = inv
        .correlation
        .rows
        .iter()
        .filter(|r| r.target.is_none())
        .map(|r| inv.collector.errors[r.event.unwrap()].message.as_str())
        .collect();
    assert!(orphans.iter().any(|e| e.starts_with("metrics: failed to export record")), "{orphans:?}");
}

#[test]
fn rust_tokio_tungstenite_1011_is_its_panic_backtrace() {
    let (inv, m) = rust_panic_sample();
    let row = inv.correlation.rows.iter().find(|r| r.target.is_some_and(|t| inv.targets[t].conn_id == 1));
    let event = row.and_then(|r| r.event).map(|e| &inv.collector.errors[e]);
    let Some(e) = event else {
        panic!("the 1011 close (conn 1, packet 23) is matched to nothing: {m:?}");
    };
    // The caught panic's stack is printed by the panic hook (log line 10, about
    // 86 ms before the close); the app's ERROR line that names the client
    // (line 128, 0.000 s before the close) quotes the panic message but has no
    // stack. The 1011 should lead to the backtrace.
    assert!(
        is_main_rs_panic(&e.exception, &e.top_frame),
        "the 1011 close (conn 1, packet 23) was matched to log line {} ({:?}, exception {:?}, top frame {:?}), \
         an event with no stack, while the panic's backtrace (exception `panic: called Option::unwrap() on a None value`, \
         top frame rust_panic_server::evaluate in rust-server/src/main.rs:52) is left unmatched; all matches: {m:?}",
        e.line,
        e.message,
        e.exception,
        e.top_frame,
    );
    assert_eq!(row.unwrap().confidence, Some(Confidence::High));
}
