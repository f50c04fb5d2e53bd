//! The log reader on small synthetic logs (`tests/data/logs/`), one per
//! format and language: record grouping, exception type / message / root
//! cause / top application frame, timestamps, levels, identifiers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use wsforensics::logs::{
    DetectedFormat, ExceptionInfo, Inner, Language, Level, LogEvent, LogFormat, LogOptions, LogSummary, LogTz, TextShape, Wrapper,
    read_log_bytes, read_logs,
};
use wsforensics::model::Timestamp;

const DIR: &str = "tests/data/logs";

fn read_with(name: &str, opts: &LogOptions) -> (Vec<LogEvent>, LogSummary) {
    let path = format!("{DIR}/{name}");
    let mut events = Vec::new();
    let summary = read_logs(&[&path], opts, |e| events.push(e)).unwrap();
    // Whatever the block size, the same events.
    let bytes = std::fs::read(&path).unwrap();
    for block_size in [1, 13, 200] {
        let (cut, _) = read_log_bytes(&path, &bytes, &LogOptions { block_size, ..opts.clone() });
        assert_eq!(cut, events, "{name} with {block_size}-byte blocks");
    }
    (events, summary)
}

fn read(name: &str) -> (Vec<LogEvent>, LogSummary) {
    read_with(name, &LogOptions::default())
}

fn ts(rfc3339: &str) -> Timestamp {
    let t: jiff::Timestamp = rfc3339.parse().unwrap();
    Timestamp::from_nanos(t.as_nanosecond() as i64)
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn ranges(events: &[LogEvent]) -> Vec<(u64, u64)> {
    events.iter().map(|e| (e.line, e.end_line)).collect()
}

fn exc(e: &LogEvent) -> &ExceptionInfo {
    e.exception.as_deref().unwrap_or_else(|| panic!("no exception in {:?}", e.raw()))
}

/// Type and message, root cause's type and message, top frame (function,
/// file suffix, line).
fn assert_exc(e: &LogEvent, lang: Language, outer: (&str, &str), inner: (&str, &str), top: (&str, &str, Option<u32>)) {
    let x = exc(e);
    assert_eq!(x.language, lang, "{x:?}");
    assert_eq!((x.exc_type.as_str(), x.message.as_str()), outer, "{x:?}");
    assert_eq!((x.innermost_type.as_str(), x.innermost_message.as_str()), inner, "{x:?}");
    let f = x.top_app_frame.as_ref().unwrap_or_else(|| panic!("no top frame: {x:?}"));
    assert_eq!(f.function, top.0, "{x:?}");
    assert!(f.file.ends_with(top.1), "{} does not end with {}", f.file, top.1);
    assert_eq!(f.line, top.2, "{x:?}");
}

fn text(shape: TextShape) -> DetectedFormat {
    DetectedFormat { wrapper: None, inner: Inner::Text(shape) }
}

#[test]
fn java_logback_caused_by_suppressed_and_uncaught() {
    let (events, s) = read("java-logback.log");
    assert_eq!(s.files[0].format, text(TextShape::Iso));
    assert_eq!(ranges(&events), vec![(1, 1), (2, 15), (16, 16), (17, 20), (21, 21)]);
    let e = &events[1];
    assert_eq!(
        (e.level, e.logger(), e.message()),
        (Some(Level::Error), Some("com.example.ws.ChatHandler"), "handler failed for session 7")
    );
    assert_exc(
        e,
        Language::Java,
        ("java.lang.IllegalStateException", "could not process message"),
        ("java.lang.NumberFormatException", "For input string: \"abc\""),
        ("com.example.ws.Parser.parseSeq", "Parser.java", Some(17)),
    );
    let x = exc(e);
    assert_eq!(x.chain_len, 2);
    // Suppressed frames are not part of the chain; the root cause's frames come first.
    assert!(x.frames.iter().all(|f| f.function != "com.example.ws.ChatHandler.cleanup"));
    assert_eq!(x.frames[0].function, "java.lang.NumberFormatException.forInputString");
    assert!(!x.frames[0].in_app);
    // The JVM's own uncaught-exception output has no header: its own event.
    assert_eq!(events[3].ts, None);
    assert_eq!(events[3].ts_not_before, Some(ts("2026-11-24T10:00:02.460Z")));
    assert_exc(
        &events[3],
        Language::Java,
        ("java.lang.NullPointerException", "Cannot invoke \"String.length()\" because \"name\" is null"),
        ("java.lang.NullPointerException", "Cannot invoke \"String.length()\" because \"name\" is null"),
        ("com.example.jobs.Cleanup.run", "Cleanup.java", Some(23)),
    );
    assert_eq!(events[0].ts, Some(ts("2026-11-24T10:00:01.123Z")));
    let ids = events[0].identifiers();
    assert_eq!((ids.ip_ports, ids.paths), (vec![sa("10.0.0.5:53422")], vec!["/ws/chat".to_string()]));
}

#[test]
fn python_chained_traceback_uncaught_and_debug_exc_info() {
    let (events, _) = read("python-chained.log");
    assert_eq!(ranges(&events), vec![(1, 6), (7, 7), (8, 8), (9, 26), (27, 27), (28, 32)]);
    // The interpreter's own output for an uncaught exception, before any header.
    assert_eq!((events[0].level, events[0].ts), (Some(Level::Error), None));
    assert_exc(
        &events[0],
        Language::Python,
        ("RuntimeError", "worker crashed"),
        ("RuntimeError", "worker crashed"),
        ("main", "worker.py", Some(5)),
    );
    assert_eq!(events[1].message(), "plain stdout line from print()");
    assert_exc(
        &events[3],
        Language::Python,
        ("LookupError", "unknown user u-17"),
        ("KeyError", "'u-17'"),
        ("load_user", "/srv/app/feed.py", Some(31)),
    );
    assert_eq!(exc(&events[3]).chain_len, 2);
    assert!(events[4].exception.is_none());
    // `logger.debug(..., exc_info=True)`: the traceback belongs to the DEBUG line.
    assert_eq!(events[5].level, Some(Level::Debug));
    let x = exc(&events[5]);
    assert_eq!(
        (x.exc_type.as_str(), x.message.as_str()),
        ("websockets.exceptions.InvalidHeaderValue", "invalid Sec-WebSocket-Version header: 8")
    );
    let ids = events[2].identifiers();
    assert_eq!(ids.ids, vec![("request_id".to_string(), "4bf92f35".to_string())]);
    assert_eq!(ids.ip_ports, vec![sa("10.1.2.3:50000")]);
}

#[test]
fn go_http_panic_and_runtime_panic() {
    let (events, s) = read("go-panic.log");
    assert_eq!(s.files[0].format, text(TextShape::Slash));
    assert_eq!(ranges(&events), vec![(1, 1), (2, 15), (16, 16), (17, 30)]);
    // net/http's recover: the client ip:port is on the panic line.
    let e = &events[1];
    assert_eq!(e.ts, Some(ts("2026-11-24T10:00:08Z")));
    assert_eq!(e.ts_res_ns, 1_000_000_000);
    assert_eq!(e.ip_ports().collect::<Vec<_>>(), vec![sa("192.168.1.20:61000")]);
    assert_exc(
        e,
        Language::Go,
        ("panic", "runtime error: index out of range [3] with length 3"),
        ("panic", "runtime error: index out of range [3] with length 3"),
        ("example.com/wsapp/hub.(*Client).handle", "/src/wsapp/hub/client.go", Some(88)),
    );
    // gorilla/websocket from the module cache is library code.
    assert!(exc(e).frames.iter().any(|f| f.function.starts_with("github.com/gorilla") && !f.in_app));
    // A runtime panic (Go 1.23 goroutine header), a second goroutine, `exit status 2`.
    let p = &events[3];
    assert_eq!(p.level, Some(Level::Fatal));
    assert_exc(
        p,
        Language::Go,
        ("panic", "assignment to entry in nil map"),
        ("panic", "assignment to entry in nil map"),
        ("main.(*registry).add", "main.go", Some(27)),
    );
    assert_eq!(exc(p).frames.len(), 2, "only the panicking goroutine's frames");
}

#[test]
fn node_cause_and_uncaught_exception() {
    let (events, _) = read("node-uncaught.log");
    assert_eq!(ranges(&events), vec![(1, 1), (2, 12), (13, 22)]);
    assert_exc(
        &events[1],
        Language::Node,
        ("Error", "write after end"),
        ("TypeError", "Cannot read properties of null (reading 'readyState')"),
        ("isOpen", "/app/src/hub.js", Some(12)),
    );
    // Uncaught: the `file:line` banner, source, caret, error, frames, `Node.js vX`.
    let u = &events[2];
    assert_eq!((u.level, u.ts), (Some(Level::Fatal), None));
    assert_eq!(u.ts_not_before, Some(ts("2026-11-24T10:00:10.200Z")));
    assert_exc(
        u,
        Language::Node,
        ("RangeError", "bad frame size -1"),
        ("RangeError", "bad frame size -1"),
        ("parseFrame", "/app/src/server.js", Some(88)),
    );
}

#[test]
fn rust_panics_with_and_without_backtrace() {
    let (events, _) = read("rust-panic.log");
    assert_eq!(ranges(&events), vec![(1, 1), (2, 4), (5, 5), (6, 20), (21, 22)]);
    let ids = events[0].identifiers();
    assert_eq!(ids.ip_ports, vec![sa("[::1]:52000")]);
    assert_eq!(ids.ids, vec![("conn_id".to_string(), "17".to_string())]);
    assert_exc(
        &events[1],
        Language::Rust,
        ("panic", "called `Result::unwrap()` on an `Err` value: Utf8Error { valid_up_to: 3, error_len: Some(1) }"),
        ("panic", "called `Result::unwrap()` on an `Err` value: Utf8Error { valid_up_to: 3, error_len: Some(1) }"),
        ("", "src/handler.rs", Some(42)),
    );
    // With RUST_BACKTRACE: std/core frames skipped, the site's function named.
    assert_exc(
        &events[3],
        Language::Rust,
        ("panic", "listener died:\naddress in use"),
        ("panic", "listener died:\naddress in use"),
        ("ws_server::serve", "src/main.rs", Some(9)),
    );
    assert_eq!(exc(&events[3]).frames.len(), 5);
    // Before Rust 1.73: the message in quotes on the header line.
    assert_exc(
        &events[4],
        Language::Rust,
        ("panic", "index out of bounds: the len is 2 but the index is 5"),
        ("panic", "index out of bounds: the len is 2 but the index is 5"),
        ("", "src/queue.rs", Some(77)),
    );
}

#[test]
fn dotnet_kestrel_inner_exception_and_unhandled() {
    let (events, s) = read("dotnet.log");
    assert_eq!(s.files[0].format, text(TextShape::LevelPrefix));
    assert_eq!(ranges(&events), vec![(1, 2), (3, 13), (14, 15), (16, 18)]);
    let e = &events[1];
    assert_eq!((e.level, e.logger()), (Some(Level::Error), Some("Microsoft.AspNetCore.Server.Kestrel")));
    assert!(e.message().starts_with("Connection id \"0HN8A4JQ3L2K9\""));
    let ids = e.identifiers().ids;
    assert!(ids.contains(&("Connection id".to_string(), "0HN8A4JQ3L2K9".to_string())), "{ids:?}");
    assert!(ids.contains(&("Request id".to_string(), "0HN8A4JQ3L2K9:00000001".to_string())), "{ids:?}");
    assert_exc(
        e,
        Language::DotNet,
        ("System.InvalidOperationException", "Message handler failed"),
        ("System.FormatException", "The input string 'x1' was not in a correct format."),
        ("Chat.Protocol.ParseSeq", "/src/Chat/Protocol.cs", Some(31)),
    );
    assert_exc(
        &events[3],
        Language::DotNet,
        ("System.IO.IOException", "Unable to read data from the transport connection."),
        ("System.IO.IOException", "Unable to read data from the transport connection."),
        ("Chat.Worker.Run", "Worker.cs", Some(12)),
    );
}

#[test]
fn ruby_logger_rails_and_uncaught() {
    let (events, s) = read("ruby.log");
    assert_eq!(s.files[0].format, text(TextShape::Ruby));
    assert_eq!(ranges(&events), vec![(1, 1), (2, 4), (5, 7), (8, 8), (9, 11)]);
    assert_eq!(events[0].identifiers().uuids, vec!["9f1c2d3e-aaaa-4bbb-8ccc-0123456789ab".to_string()]);
    assert_eq!(events[0].ts, Some(ts("2026-11-24T10:00:14.1Z")));
    assert_exc(
        &events[1],
        Language::Ruby,
        ("NoMethodError", "undefined method `name' for nil"),
        ("NoMethodError", "undefined method `name' for nil"),
        ("ChatChannel#receive", "app/channels/chat_channel.rb", Some(12)),
    );
    // Rails prints every trace line with its own tagged header: joined back.
    assert_eq!(events[2].level, Some(Level::Fatal));
    assert_exc(
        &events[2],
        Language::Ruby,
        ("ActionView::Template::Error", "undefined local variable or method `room'"),
        ("ActionView::Template::Error", "undefined local variable or method `room'"),
        ("_app_views_rooms_show", "show.html.erb", Some(3)),
    );
    assert_exc(
        &events[4],
        Language::Ruby,
        ("ZeroDivisionError", "divided by 0"),
        ("ZeroDivisionError", "divided by 0"),
        ("Calc#divide", "worker.rb", Some(6)),
    );
}

#[test]
fn php_uncaught_chained_php5_and_warning() {
    let (events, _) = read("php.log");
    assert_eq!(ranges(&events), vec![(1, 1), (2, 12), (13, 17)]);
    assert_eq!((events[0].level, events[0].ts), (Some(Level::Warn), Some(ts("2026-11-24T10:00:16Z"))));
    assert_exc(
        &events[1],
        Language::Php,
        ("RuntimeException", "message rejected"),
        ("InvalidArgumentException", "bad token"),
        ("App\\Auth->check", "/var/www/app/Auth.php", Some(44)),
    );
    assert!(exc(&events[1]).frames.iter().any(|f| f.file.contains("/vendor/") && !f.in_app));
    // PHP 5's form, in a log whose zone is a name (CET in November).
    assert_eq!(events[2].ts, Some(ts("2026-11-24T09:00:18Z")));
    assert_exc(
        &events[2],
        Language::Php,
        ("PDOException", "could not find driver"),
        ("PDOException", "could not find driver"),
        ("PDO->__construct", "/var/www/legacy/db.php", Some(7)),
    );
}

#[test]
fn elixir_genserver_crash() {
    let (events, _) = read("elixir.log");
    assert_eq!(ranges(&events), vec![(1, 1), (2, 6), (7, 7)]);
    assert_exc(
        &events[1],
        Language::Elixir,
        ("ArithmeticError", "bad argument in arithmetic expression"),
        ("ArithmeticError", "bad argument in arithmetic expression"),
        ("Chat.Room.handle_cast/2", "lib/chat/room.ex", Some(41)),
    );
}

#[test]
fn json_lines_libraries() {
    let json = DetectedFormat { wrapper: None, inner: Inner::Json };
    // pino: epoch ms, numeric levels, err.{type,message,stack}.
    let (events, s) = read("pino.jsonl");
    assert_eq!(s.files[0].format, json);
    assert_eq!((events[0].ts, events[0].level), (Some(ts("2026-11-24T10:00:00.100Z")), Some(Level::Info)));
    assert_eq!(events[0].ip_ports().collect::<Vec<_>>(), vec![sa("10.0.0.5:53422")]);
    assert_eq!(events[0].ids().collect::<Vec<_>>(), vec![("reqId", "req-1")]);
    assert_eq!(events[1].message(), "message handler failed");
    assert_exc(
        &events[1],
        Language::Node,
        ("TypeError", "Cannot read properties of undefined (reading 'id')"),
        ("TypeError", "Cannot read properties of undefined (reading 'id')"),
        ("onMessage", "/app/src/handler.js", Some(21)),
    );
    // zap: float seconds, a bare Go stack, the error text.
    let (events, _) = read("zap.jsonl");
    assert_eq!(events[1].ts, Some(ts("2026-11-24T10:00:01.75Z")));
    assert_exc(
        &events[1],
        Language::Go,
        ("error", "websocket: close 1006 (abnormal closure): unexpected EOF"),
        ("error", "websocket: close 1006 (abnormal closure): unexpected EOF"),
        ("example.com/wsapp/hub.(*Client).readPump", "client.go", Some(88)),
    );
    assert_eq!(events[0].identifiers().ids, vec![("conn_id".to_string(), "c-99".to_string())]);
    // logrus: RFC 3339 with an offset, an `error` string.
    let (events, _) = read("logrus.jsonl");
    assert_eq!(events[1].ts, Some(ts("2026-11-24T09:00:03Z")));
    let x = exc(&events[1]);
    assert_eq!((x.exc_type.as_str(), x.language), ("error", Language::Unknown));
    assert!(events[1].ip_ports().any(|a| a == sa("10.0.0.5:53422")));
    // structlog: `event`, a rendered traceback, and dict tracebacks.
    let (events, _) = read("structlog.jsonl");
    assert_eq!(events[1].message(), "handler crashed");
    assert_exc(
        &events[1],
        Language::Python,
        ("ValueError", "bad payload"),
        ("ValueError", "bad payload"),
        ("process", "/srv/app/ws.py", Some(9)),
    );
    assert_exc(
        &events[2],
        Language::Python,
        ("ValueError", "bad payload"),
        ("ValueError", "bad payload"),
        ("process", "/srv/app/ws.py", Some(9)),
    );
    assert_eq!(events[0].ip_ports().collect::<Vec<_>>(), vec![sa("10.0.0.5:53422")]);
    // log4j2 JsonLayout: `instant`, `thrown` with a cause.
    let (events, _) = read("log4j2.jsonl");
    assert_eq!(events[0].ts, Some(ts("2026-11-24T10:00:05.123456Z")));
    assert_eq!(events[0].logger(), Some("com.example.ws.Endpoint"));
    assert_exc(
        &events[0],
        Language::Java,
        ("java.io.UncheckedIOException", "write failed"),
        ("java.nio.channels.ClosedChannelException", ""),
        ("com.example.ws.Endpoint.onText", "Endpoint.java", Some(61)),
    );
    assert!(events[0].ids().any(|(k, v)| k == "contextMap.traceId" && v == "0af7651916cd43dd8448eb211c80319c"));
    // ECS: @timestamp, log.level, error.*, trace.id, client.ip/port, url.path.
    let (events, _) = read("ecs.jsonl");
    let e = &events[0];
    assert_eq!((e.ts, e.level, e.logger()), (Some(ts("2026-11-24T10:00:06.25Z")), Some(Level::Error), Some("com.example.Chat")));
    assert_exc(
        e,
        Language::Java,
        ("java.lang.IllegalStateException", "room closed"),
        ("java.lang.IllegalStateException", "room closed"),
        ("com.example.Chat.onMessage", "Chat.java", Some(88)),
    );
    let ids = e.identifiers();
    assert_eq!(ids.ip_ports, vec![sa("10.0.0.5:53422")]);
    assert_eq!(ids.paths, vec!["/ws/chat".to_string()]);
    assert!(ids.ids.contains(&("trace.id".to_string(), "4bf92f3577b34da6a3ce929d0e0e4736".to_string())));
    // OpenTelemetry (OTLP JSON): timeUnixNano, severity, body, exception.* attributes.
    let (events, _) = read("otel.jsonl");
    let e = &events[0];
    assert_eq!((e.ts, e.level, e.message()), (Some(ts("2026-11-24T10:00:07Z")), Some(Level::Error), "exception in ws handler"));
    assert_exc(
        e,
        Language::Python,
        ("ValueError", "negative size"),
        ("ValueError", "negative size"),
        ("on_message", "/srv/app/otel_ws.py", Some(20)),
    );
    assert!(e.ids().any(|(k, v)| k == "traceId" && v == "5b8efff798038103d269b633813fc60c"));
    assert_eq!(e.ip_ports().collect::<Vec<_>>(), vec![sa("10.0.0.5:53422")]);
}

#[test]
fn docker_json_file_wrapper() {
    let (events, s) = read("docker-json.log");
    assert_eq!(s.files[0].format, DetectedFormat { wrapper: Some(Wrapper::Docker), inner: Inner::Text(TextShape::Iso) });
    assert!(s.notices.is_empty(), "{:?}", s.notices);
    assert_eq!(ranges(&events), vec![(1, 1), (2, 6), (7, 7), (8, 9), (10, 10)]);
    // One JSON object per trace line, joined back into one event.
    let e = &events[1];
    assert_eq!(e.ts, Some(ts("2026-11-24T10:00:21.5Z")));
    assert_eq!(e.wrapper_ts, Some(ts("2026-11-24T10:00:21.5002Z")));
    assert_eq!(e.stream, Some(wsforensics::logs::Stream::Stderr));
    assert_exc(
        e,
        Language::Python,
        ("ZeroDivisionError", "division by zero"),
        ("ZeroDivisionError", "division by zero"),
        ("handler", "/app/handler.py", Some(12)),
    );
    // stdout print() without a header: the wrapper's clock.
    assert_eq!((events[2].ts, events[2].stream), (Some(ts("2026-11-24T10:00:21.6Z")), Some(wsforensics::logs::Stream::Stdout)));
    // A line over 16 KiB that Docker split in two: joined.
    assert_eq!(events[3].message().len(), 16 << 10);
    assert!(events[3].raw().ends_with("xxxx"));
    assert_eq!(events[3].raw().len(), "2026-11-24 10:00:22,000 INFO app: payload ".len() + 20000);
}

#[test]
fn cri_wrapper_joins_partial_lines() {
    let (events, s) = read("cri.log");
    assert_eq!(s.files[0].format, DetectedFormat { wrapper: Some(Wrapper::Cri), inner: Inner::Text(TextShape::Iso) });
    assert!(s.notices.is_empty(), "{:?}", s.notices);
    let e = &events[1];
    assert_eq!((e.line, e.end_line), (2, 6));
    assert_eq!(e.message(), "failed to handle message for session 42");
    assert_eq!(e.wrapper_ts, Some(ts("2026-11-24T10:00:24.2Z")));
    assert_exc(
        e,
        Language::Java,
        ("java.lang.IllegalArgumentException", "bad seq"),
        ("java.lang.IllegalArgumentException", "bad seq"),
        ("com.example.Chat.onMessage", "Chat.java", Some(51)),
    );
    // The `+00:00` form of the CRI timestamp (containerd) is read too.
    assert_eq!(events.last().unwrap().wrapper_ts, Some(ts("2026-11-24T10:00:25Z")));
    assert_eq!(events[0].ip_ports().collect::<Vec<_>>(), vec![sa("10.0.0.5:53422")]);
}

#[test]
fn syslog_3164_without_year_takes_the_reference_year() {
    // Captured just after midnight on New Year: December lines are 2026's.
    let opts = LogOptions { reference: Some(ts("2027-01-01T00:00:00Z")), ..LogOptions::default() };
    let (events, s) = read_with("syslog-3164.log", &opts);
    assert_eq!(s.files[0].format, text(TextShape::Syslog3164));
    assert!(s.notices.is_empty());
    assert_eq!(ranges(&events), vec![(1, 1), (2, 4), (5, 5)]);
    assert_eq!(events[0].ts, Some(ts("2026-12-31T23:59:58Z")));
    assert_eq!(events[2].ts, Some(ts("2027-01-01T00:00:01Z")));
    assert_eq!((events[0].level, events[0].logger()), (Some(Level::Info), Some("chat")));
    assert_eq!(events[1].level, Some(Level::Error));
    // A Java trace sent one syslog message per line, joined.
    assert_exc(
        &events[1],
        Language::Java,
        ("java.lang.IllegalStateException", "closed"),
        ("java.lang.IllegalStateException", "closed"),
        ("com.example.Chat.onMessage", "Chat.java", Some(51)),
    );
    // Without a reference: no times, and a notice says why.
    let (events, s) = read("syslog-3164.log");
    assert!(events.iter().all(|e| e.ts.is_none()));
    assert_eq!(s.notices.len(), 1);
    assert_eq!(s.notices[0].kind, wsforensics::logs::LogNoticeKind::NoYear);
}

#[test]
fn syslog_5424_structured_data_and_escaped_trace() {
    let (events, s) = read("syslog-5424.log");
    assert_eq!(s.files[0].format, text(TextShape::Syslog5424));
    assert_eq!(ranges(&events), vec![(1, 1), (2, 2), (3, 3)]);
    assert_eq!(events[0].ts, Some(ts("2026-11-24T09:00:26.123456Z")));
    assert_eq!(events[0].ids().collect::<Vec<_>>(), vec![("request_id", "r-77")]);
    assert_eq!((events[1].level, events[1].logger(), events[1].message()), (Some(Level::Error), Some("chat"), "handler failed"));
    // rsyslog's `#012`/`#011` escapes undone before reading the trace.
    assert_exc(
        &events[1],
        Language::Java,
        ("java.lang.IllegalStateException", "room closed"),
        ("java.lang.IllegalStateException", "room closed"),
        ("com.example.Chat.onMessage", "Chat.java", Some(88)),
    );
}

#[test]
fn other_text_header_shapes() {
    let (e, s) = read("nginx-error.log");
    assert_eq!(s.files[0].format, text(TextShape::Slash));
    assert_eq!((e[1].level, e[1].ts), (Some(Level::Error), Some(ts("2026-11-24T10:00:31Z"))));
    assert_eq!(e[1].identifiers().paths, vec!["/ws/chat".to_string()]);
    assert_eq!(e[0].level, Some(Level::Notice));

    let (e, s) = read("apache-error.log");
    assert_eq!(s.files[0].format, text(TextShape::Bracket));
    assert_eq!((e[0].level, e[0].ts), (Some(Level::Error), Some(ts("2026-11-24T10:00:32.123456Z"))));
    assert_eq!(e[0].ip_ports().collect::<Vec<_>>(), vec![sa("10.0.0.5:53422")]);

    let (e, s) = read("logfmt.log");
    assert_eq!(s.files[0].format, text(TextShape::Logfmt));
    assert_eq!((e[0].level, e[0].message(), e[0].ts), (Some(Level::Error), "read failed", Some(ts("2026-11-24T09:00:34.5Z"))));
    assert_eq!(e[0].ip_ports().collect::<Vec<_>>(), vec![sa("10.0.0.5:53422")]);
    assert_eq!(e[0].ids().collect::<Vec<_>>(), vec![("conn", "c-7")]);

    // glog: no year either.
    let (e, s) = read_with("glog.log", &LogOptions { reference: Some(ts("2026-11-24T00:00:00Z")), ..LogOptions::default() });
    assert_eq!(s.files[0].format, text(TextShape::Glog));
    assert_eq!((e[1].level, e[1].logger(), e[1].ts), (Some(Level::Error), Some("conn.go:120"), Some(ts("2026-11-24T10:00:37.25Z"))));

    let (e, s) = read("tomcat.log");
    assert_eq!(s.files[0].format, text(TextShape::Tomcat));
    assert_eq!(ranges(&e), vec![(1, 1), (2, 5)]);
    assert_eq!(e[1].level, Some(Level::Error));
    assert_exc(
        &e[1],
        Language::Java,
        ("java.io.IOException", "Broken pipe"),
        ("java.io.IOException", "Broken pipe"),
        ("com.example.ChatEndpoint.onMessage", "ChatEndpoint.java", Some(33)),
    );

    // Epoch seconds (with a fraction) and milliseconds.
    let (e, s) = read("epoch.log");
    assert_eq!(s.files[0].format, text(TextShape::Epoch));
    let got: Vec<_> = e.iter().map(|e| (e.ts, e.level)).collect();
    assert_eq!(
        got,
        vec![
            (Some(ts("2026-11-24T10:00:40Z")), Some(Level::Info)),
            (Some(ts("2026-11-24T10:00:40.25Z")), Some(Level::Error)),
            (Some(ts("2026-11-24T10:00:40.5Z")), Some(Level::Info))
        ]
    );

    let (e, s) = read("env-logger.log");
    assert_eq!(s.files[0].format, text(TextShape::Bracket));
    assert_eq!(
        (e[1].level, e[1].logger(), e[1].message()),
        (Some(Level::Error), Some("ws_server::conn"), "peer 10.0.0.5:53422 closed: protocol error")
    );

    // uvicorn's default format has no time at all.
    let (e, s) = read("uvicorn.log");
    assert_eq!(s.files[0].format, text(TextShape::LevelPrefix));
    assert_eq!(ranges(&e), vec![(1, 1), (2, 2), (3, 9), (10, 10)]);
    assert_eq!(e[1].ip_ports().collect::<Vec<_>>(), vec![sa("10.0.0.5:53422")]);
    assert_eq!(e[1].identifiers().paths, vec!["/ws".to_string()]);
    assert_exc(
        &e[2],
        Language::Python,
        ("json.decoder.JSONDecodeError", "Expecting value: line 1 column 1 (char 0)"),
        ("json.decoder.JSONDecodeError", "Expecting value: line 1 column 1 (char 0)"),
        ("ws_endpoint", "/app/main.py", Some(19)),
    );
    assert!(e.iter().all(|e| e.ts.is_none()));
}

#[test]
fn zone_less_stamps_in_the_given_zone() {
    let berlin = LogOptions { tz: "Europe/Berlin".parse().unwrap(), ..LogOptions::default() };
    let (e, _) = read_with("zoneless.log", &berlin);
    // CET in November (+01:00), CEST in July (+02:00).
    assert_eq!(e[0].ts, Some(ts("2026-11-24T10:00:54.282Z")));
    assert_eq!(e[3].ts, Some(ts("2026-07-01T10:00:00Z")));
    assert!(!e[0].ts_ambiguous && !e[3].ts_ambiguous);
    // 02:30 on 29 March does not exist, on 25 October it happens twice:
    // both flagged, read with the offset before the change.
    assert_eq!((e[1].ts, e[1].ts_ambiguous), (Some(ts("2026-03-29T01:30:00Z")), true));
    assert_eq!((e[2].ts, e[2].ts_ambiguous), (Some(ts("2026-10-25T00:30:00Z")), true));
    // A fixed offset; UTC by default.
    let ny = LogOptions { tz: "-05:00".parse().unwrap(), ..LogOptions::default() };
    assert_eq!(read_with("zoneless.log", &ny).0[0].ts, Some(ts("2026-11-24T16:00:54.282Z")));
    assert_eq!(read("zoneless.log").0[0].ts, Some(ts("2026-11-24T11:00:54.282Z")));
    // A written offset wins over the zone.
    let (e, _) = read_with("node-uncaught.log", &berlin);
    assert_eq!(e[0].ts, Some(ts("2026-11-24T10:00:10.1Z")));
}

#[test]
fn options_parse_from_flags() {
    assert_eq!("auto".parse::<LogFormat>(), Ok(LogFormat::Auto));
    assert_eq!("JSON".parse::<LogFormat>(), Ok(LogFormat::Json));
    assert_eq!("ndjson".parse::<LogFormat>(), Ok(LogFormat::Json));
    assert_eq!("k8s".parse::<LogFormat>(), Ok(LogFormat::Cri));
    assert_eq!("docker".parse::<LogFormat>(), Ok(LogFormat::Docker));
    assert_eq!("text".parse::<LogFormat>(), Ok(LogFormat::Text));
    assert!("xml".parse::<LogFormat>().is_err());
    assert_eq!(LogFormat::Cri.to_string(), "cri");
    for ok in ["UTC", "utc", "Z", "+02:00", "-0500", "+5", "UTC+2", "GMT-03:30", "Europe/Berlin", "America/New_York"] {
        assert!(ok.parse::<LogTz>().is_ok(), "{ok}");
    }
    for bad in ["Mars/Olympus", "+99:00", ""] {
        assert!(bad.parse::<LogTz>().is_err(), "{bad}");
    }
    let plus2: LogTz = "UTC+2".parse().unwrap();
    assert_eq!(plus2.0.to_fixed_offset().unwrap().seconds(), 7200);
    let minus330: LogTz = "GMT-03:30".parse().unwrap();
    assert_eq!(minus330.0.to_fixed_offset().unwrap().seconds(), -12600);
}

#[test]
fn forced_format_overrides_detection() {
    // A JSON log read as text: one event per line, no JSON fields.
    let opts = LogOptions { format: LogFormat::Text, ..LogOptions::default() };
    let (events, s) = read_with("pino.jsonl", &opts);
    assert_eq!(s.files[0].format, text(TextShape::Any));
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e.ts.is_none() && e.exception.is_none()));
    // Docker forced on a file without wrappers: every line noticed, read as text.
    let opts = LogOptions { format: LogFormat::Docker, ..LogOptions::default() };
    let (events, s) = read_with("java-logback.log", &opts);
    assert_eq!(s.files[0].format.wrapper, Some(Wrapper::Docker));
    assert_eq!(events.len(), 5);
    assert_eq!(s.notices.len(), 21);
    assert!(s.notices.iter().all(|n| n.kind == wsforensics::logs::LogNoticeKind::BadWrapper));
}

#[test]
fn every_fixture_line_is_accounted_for() {
    let mut names: Vec<String> = std::fs::read_dir(DIR).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    for name in names {
        let opts = LogOptions { reference: Some(ts("2026-11-24T00:00:00Z")), ..LogOptions::default() };
        let (events, s) = read_with(&name, &opts);
        let lines = std::fs::read_to_string(format!("{DIR}/{name}")).unwrap();
        let mut covered = vec![false; lines.lines().count() + 2];
        for e in &events {
            for l in e.line..=e.end_line {
                assert!(!covered[l as usize], "{name}: line {l} in two events");
                covered[l as usize] = true;
            }
            assert!(e.raw().len() <= wsforensics::logs::MAX_RAW);
        }
        for (i, l) in lines.lines().enumerate() {
            assert!(covered[i + 1] || l.trim().is_empty(), "{name}: line {} lost: {l}", i + 1);
        }
        assert_eq!(s.files[0].events as usize, events.len());
        assert!(events.windows(2).all(|w| w[0].line < w[1].line), "{name}: out of order");
    }
}
