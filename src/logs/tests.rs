//! Unit tests of the log reader's parts: timestamp shapes and zones, header
//! tails, identifier scanning, exception shapes, grouping, and a measurement
//! of reading + grouping alone.

#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;

use jiff::tz::TimeZone;

use super::group::{Block, FileCtx, count_records, parse_block};
use super::header::{self, TextShape};
use super::time::{self, Converter, WrittenZone};
use super::{DetectedFormat, Ident, Identifiers, Inner, Language, Level, trace};
use crate::model::Timestamp;

fn ts(rfc3339: &str) -> Timestamp {
    let t: jiff::Timestamp = rfc3339.parse().unwrap();
    Timestamp::from_nanos(t.as_nanosecond() as i64)
}

fn resolve(text: &str, tz: &str, reference: Option<&str>) -> Option<(Timestamp, i64, bool)> {
    let tz = if tz == "UTC" { TimeZone::UTC } else { tz.parse::<super::LogTz>().unwrap().0 };
    let mut conv = Converter::new(&tz, reference.map(ts));
    let w = time::any_text(text)?;
    conv.resolve(&w).map(|r| (r.ts, r.res_ns, r.ambiguous))
}

#[test]
fn timestamp_shapes() {
    let cases: &[(&str, &str, i64)] = &[
        ("2026-11-24 10:00:01,123", "2026-11-24T10:00:01.123Z", 1_000_000),
        ("2026-11-24T10:00:01.123456789Z", "2026-11-24T10:00:01.123456789Z", 1),
        ("2026-11-24T10:00:01+01:00", "2026-11-24T09:00:01Z", 1_000_000_000),
        ("2026-11-24T10:00:01.5-0530", "2026-11-24T15:30:01.5Z", 100_000_000),
        ("2026-11-24 10:00:01 UTC", "2026-11-24T10:00:01Z", 1_000_000_000),
        ("2026/11/24 10:00:01.123456", "2026-11-24T10:00:01.123456Z", 1_000),
        ("24/Nov/2026:10:00:01 +0100", "2026-11-24T09:00:01Z", 1_000_000_000),
        ("24-Nov-2026 10:00:01.5", "2026-11-24T10:00:01.5Z", 100_000_000),
        ("Tue Nov 24 10:00:01.123456 2026", "2026-11-24T10:00:01.123456Z", 1_000),
        ("1795514401", "2026-11-24T10:00:01Z", 1_000_000_000),
        ("1795514401.25", "2026-11-24T10:00:01.25Z", 10_000_000),
        ("1795514401250", "2026-11-24T10:00:01.25Z", 1_000_000),
        ("1795514401250000", "2026-11-24T10:00:01.25Z", 1_000),
        ("1795514401250000001", "2026-11-24T10:00:01.250000001Z", 1),
        ("2026-11-24T10:00Z", "2026-11-24T10:00:00Z", 60_000_000_000),
    ];
    for (text, want, res) in cases {
        let (got, got_res, amb) = resolve(text, "UTC", None).unwrap_or_else(|| panic!("{text}"));
        assert_eq!((got, got_res, amb), (ts(want), *res, false), "{text}");
    }
    for bad in
        ["2026-13-01 10:00:01", "2026-02-30 10:00:01", "2026-11-24 24:00:00", "1795514401x", "12345", "2026-11-24", "Nov 31 10:00:00"]
    {
        assert_eq!(resolve(bad, "UTC", Some("2026-11-24T00:00:00Z")), None, "{bad}");
    }
    // A leap day exists only in leap years.
    assert!(resolve("2028-02-29 00:00:00", "UTC", None).is_some());
}

#[test]
fn zones_and_missing_years() {
    // Zone-less in Berlin: CET, CEST, the gap and the fold.
    assert_eq!(resolve("2026-11-24 11:00:00", "Europe/Berlin", None), Some((ts("2026-11-24T10:00:00Z"), 1_000_000_000, false)));
    assert_eq!(resolve("2026-07-01 12:00:00", "Europe/Berlin", None).unwrap().0, ts("2026-07-01T10:00:00Z"));
    assert_eq!(resolve("2026-03-29 02:30:00", "Europe/Berlin", None).unwrap(), (ts("2026-03-29T01:30:00Z"), 1_000_000_000, true));
    assert_eq!(resolve("2026-10-25 02:30:00", "Europe/Berlin", None).unwrap(), (ts("2026-10-25T00:30:00Z"), 1_000_000_000, true));
    assert_eq!(resolve("2026-11-24 10:00:00", "-05:00", None).unwrap().0, ts("2026-11-24T15:00:00Z"));
    // A written offset wins.
    assert_eq!(resolve("2026-11-24T10:00:00Z", "Europe/Berlin", None).unwrap().0, ts("2026-11-24T10:00:00Z"));
    // No year: the one nearest the reference, across New Year both ways.
    assert_eq!(resolve("Dec 31 23:59:59", "UTC", Some("2027-01-01T00:10:00Z")).unwrap().0, ts("2026-12-31T23:59:59Z"));
    assert_eq!(resolve("Jan  1 00:00:05", "UTC", Some("2026-12-31T23:50:00Z")).unwrap().0, ts("2027-01-01T00:00:05Z"));
    assert_eq!(resolve("Nov 24 10:00:00", "UTC", Some("2026-11-20T00:00:00Z")).unwrap().0, ts("2026-11-24T10:00:00Z"));
    assert_eq!(resolve("Feb 29 10:00:00", "UTC", Some("2028-03-01T00:00:00Z")).unwrap().0, ts("2028-02-29T10:00:00Z"));
    assert_eq!(resolve("Nov 24 10:00:00", "UTC", None), None);
    // A named zone in the text (PHP).
    let (w, _) = time::dmy(b"24-Nov-2026 10:00:00 America/New_York]", 0).unwrap();
    assert_eq!(w.zone, WrittenZone::Named("America/New_York".into()));
    let mut conv = Converter::new(&TimeZone::UTC, None);
    assert_eq!(conv.resolve(&w).unwrap().ts, ts("2026-11-24T15:00:00Z"));
    // The minute cache never serves another minute.
    let tz: super::LogTz = "Europe/Berlin".parse().unwrap();
    let mut conv = Converter::new(&tz.0, None);
    for (text, want) in [
        ("2026-10-25 01:59:59", "2026-10-24T23:59:59Z"),
        ("2026-10-25 03:00:00", "2026-10-25T02:00:00Z"),
        ("2026-10-25 01:59:30", "2026-10-24T23:59:30Z"),
    ] {
        let w = time::any_text(text).unwrap();
        assert_eq!(conv.resolve(&w).unwrap().ts, ts(want), "{text}");
    }
}

fn tail_of(line: &str) -> (Option<Level>, Option<String>, String) {
    let h = header::parse(TextShape::Any, line.as_bytes()).or_else(|| header::parse(TextShape::Epoch, line.as_bytes())).unwrap();
    let logger = h.logger.map(|(s, e)| line[s..e].to_string());
    (h.level, logger, line[h.msg_start..h.msg_end.unwrap_or(line.len())].to_string())
}

#[test]
fn header_tails() {
    let cases: &[(&str, Option<Level>, Option<&str>, &str)] = &[
        ("2026-11-24 10:00:01,123 INFO app: started", Some(Level::Info), Some("app"), "started"),
        ("2026-11-24 10:00:01,123 [main] ERROR com.x.Foo - boom", Some(Level::Error), Some("com.x.Foo"), "boom"),
        ("2026-11-24 10:00:01,123 ERROR [main] com.x.Foo - boom", Some(Level::Error), Some("com.x.Foo"), "boom"),
        (
            "2026-11-24T10:00:01.123+01:00 ERROR 1234 --- [chat] [nio-8080-exec-1] o.s.w.s.Handler          : failed",
            Some(Level::Error),
            Some("o.s.w.s.Handler"),
            "failed",
        ),
        ("2026-11-24T10:00:01.123Z WARN  ws_server::conn: slow peer", Some(Level::Warn), Some("ws_server::conn"), "slow peer"),
        ("2026-11-24 10:00:01 just a message", None, None, "just a message"),
        ("2026-11-24 10:00:01 | error | something", Some(Level::Error), None, "something"),
        ("2026/11/24 10:00:01 [crit] 7#7: *1 oops", Some(Level::Fatal), None, "*1 oops"),
        ("2026-11-24T10:00:01Z level=warn msg=x", Some(Level::Warn), None, "msg=x"),
        ("<13>Nov 24 10:00:01 host app[7]: ERROR bad", Some(Level::Error), Some("app"), "bad"),
        ("<11>Nov 24 10:00:01 host app: bad", Some(Level::Error), Some("app"), "bad"),
        ("Nov 24 10:00:01 host sshd[7]: Accepted", None, Some("sshd"), "Accepted"),
        ("<134>1 2026-11-24T10:00:01Z h app 7 ID [x a=\"]\"] m", Some(Level::Info), Some("app"), "m"),
        ("<134>1 - h - - - - nil time", Some(Level::Info), None, "nil time"),
        ("[2026-11-24 10:00:01,123] WARNING [ws] handshake slow", Some(Level::Warn), None, "handshake slow"),
        ("E, [2026-11-24T10:00:01.123456 #1] ERROR -- prog: bad", Some(Level::Error), Some("prog"), "bad"),
        ("time=2026-11-24T10:00:01Z level=error msg=\"a b\" k=v", Some(Level::Error), None, "a b"),
    ];
    for (line, level, logger, msg) in cases {
        assert_eq!(tail_of(line), (*level, logger.map(str::to_string), msg.to_string()), "{line}");
    }
    let h = header::parse(TextShape::LevelPrefix, b"ERROR:websockets.server:connection handler failed").unwrap();
    assert_eq!((h.level, h.logger, h.msg_start), (Some(Level::Error), Some((6, 23)), 24));
    assert!(header::parse(TextShape::LevelPrefix, b"Error: not a python prefix").is_none());
    assert!(header::parse(TextShape::Any, b"1795514401 a number is not a header in Any").is_none());
    assert!(header::parse(TextShape::Iso, b"2026-11-24T10:00:01Zulu").is_none());
}

#[test]
fn shape_detection() {
    let detect = |text: &str| header::detect(text.lines().map(str::as_bytes));
    assert_eq!(detect("2026-11-24 10:00:01,1 INFO a: b\n  more\n2026-11-24 10:00:02,1 INFO a: c"), TextShape::Iso);
    assert_eq!(detect("fail: X[1]\n      y\ninfo: Z[2]\n      w"), TextShape::LevelPrefix);
    assert_eq!(detect("1795514401 a\n1795514402 b"), TextShape::Epoch);
    assert_eq!(detect("hello\nworld\n1795514401 x\nmore\nmore\nmore\nmore\nmore\nmore\nmore"), TextShape::Any);
    assert_eq!(detect("Traceback (most recent call last):\n  File \"a\", line 1"), TextShape::Any);
}

/// Header tails found again in [`header::TailMemo`] are those [`header::tail`]
/// finds: lines that share a tail (or its start), in any order, twice.
#[test]
fn remembered_tails() {
    let tails = [
        " INFO  [http-nio-8080-exec-12] c.e.chat.service.RoomService - ",
        " INFO  [http-nio-8080-exec-12] c.e.chat.ws.ChatEndpoint - ",
        " INFO  [http-nio-8080-exec-1] c.e.chat.ws.ChatEndpoint - ",
        " ERROR [http-nio-8080-exec-12] c.e.chat.ws.ChatEndpoint - ",
        " INFO asyncio: ",
        " info gateway.metrics: ",
        " INFO app: ",
        " INFO app:\t",
        " WARN  ws_server::conn: ",
        " ERROR 1234 --- [chat] [nio-8080-exec-1] o.s.w.s.Handler          : ",
        " [main] ERROR com.x.Foo - ",
        " PHP Warning:  ",
        " just a ",
        " | error | ",
        " INFO a.very.long.logger.name.that.goes.on.and.on.and.on.past.the.longest.kept.tail.Name - ",
    ];
    let messages = ["started", " indented", "\tx", "", "-", ": y", "- z", "INFO b: c", "a b: c - d"];
    let mut memo = header::TailMemo::new();
    for round in 0..2 {
        for tail in tails {
            for msg in messages {
                let line = format!("2026-11-24 10:00:01,123{tail}{msg}");
                let b = line.as_bytes();
                let (level, logger, m, no_ids) = memo.tail(b, 23);
                assert_eq!((level, logger, m), header::tail(b, 23), "{line:?} (round {round})");
                assert!(!no_ids || scan(&line[23..m]).is_empty(), "{line:?}");
            }
        }
    }
}

#[test]
fn fast_trims_are_trims() {
    use super::trace::TrimFast;
    for s in ["", " ", "a", " a ", "\t a b \r\n", "\u{a0}a\u{a0}", " \u{3000} x \u{2003}", "é ", " é", "\x0b a \x0c", "\x1c a \x1f"] {
        assert_eq!(s.trim_start_fast(), s.trim_start(), "{s:?}");
        assert_eq!(s.trim_end_fast(), s.trim_end(), "{s:?}");
        assert_eq!(s.trim_fast(), s.trim(), "{s:?}");
    }
}

fn scan(text: &str) -> Identifiers {
    let mut ids = Vec::new();
    let mut sink = super::ids::IdSink::in_text(&mut ids, text, 0);
    super::ids::scan(text.as_bytes(), &mut sink);
    let mut ev = super::EventParts {
        file: 0,
        line: 1,
        end_line: 1,
        ts: None,
        ts_res_ns: 0,
        ts_ambiguous: false,
        wrapper_ts: None,
        level: None,
        stream: None,
        exception: None,
        text: text.to_string(),
        raw: super::Span::new(0, text.len()),
        message: super::Span::new(0, text.len()),
        ts_raw: super::Span::default(),
        logger: None,
        ids: Vec::new().into(),
    };
    ev.ids = ids.into();
    super::LogEvent::from(ev).identifiers()
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn identifiers_in_text() {
    let ids = scan("client 10.0.0.5:53422 and [2001:db8::1]:8443 and ::1 and fe80::1%eth0 from 192.168.1.1");
    assert_eq!(ids.ip_ports, vec![sa("10.0.0.5:53422"), sa("[2001:db8::1]:8443")]);
    assert!(ids.ips.contains(&"::1".parse().unwrap()) && ids.ips.contains(&"192.168.1.1".parse().unwrap()));
    assert!(ids.ips.contains(&"fe80::1".parse().unwrap()));
    // Not addresses: versions, times, ports past 65535, long dotted numbers.
    for text in ["v1.2.3 and 1.2.3.4.5 and 10:00:54,017", "999.1.1.1", "sha 1.2.3.4a", "add:beef"] {
        let ids = scan(text);
        assert!(ids.ip_ports.is_empty() && ids.ips.is_empty(), "{text}: {ids:?}");
    }
    let ids = scan("at 10.0.0.1:99999");
    assert_eq!((ids.ips.len(), ids.ip_ports.len()), (1, 0));
    let ids = scan("req 3F2504E0-4F89-11D3-9A0C-0305E82C3301 done, 3F2504E0-4F89-11D3-9A0C-0305E82C330 not one");
    assert_eq!(ids.uuids, vec!["3f2504e0-4f89-11d3-9a0c-0305e82c3301".to_string()]);
    let ids = scan(
        r#"request_id=abc-1 X-Request-Id: r2 {"traceId":"4bf9","span_id": "s1"} conn=7 trace.id=t3 traceparent=00-4bf9-01 Sec-WebSocket-Key: dGhlIHNhbXBsZQ== user_id=9 id=5"#,
    );
    let keys: Vec<(&str, &str)> = ids.ids.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        keys,
        vec![
            ("request_id", "abc-1"),
            ("X-Request-Id", "r2"),
            ("traceId", "4bf9"),
            ("span_id", "s1"),
            ("conn", "7"),
            ("trace.id", "t3"),
            ("traceparent", "00-4bf9-01"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZQ==")
        ]
    );
    let ids = scan(r#"Connection id "0HN8A4JQ3L2K9", Request id "0HN8A4JQ3L2K9:00000001": failed"#);
    assert_eq!(ids.ids, vec![("Connection id".into(), "0HN8A4JQ3L2K9".into()), ("Request id".into(), "0HN8A4JQ3L2K9:00000001".into())]);
    let ids = scan(
        r#"GET /ws/chat?room=7 HTTP/1.1 path=/feed upstream "http://backend:8080/ws/x" file /etc/app.toml /app/server.js:12 /srv/x.py (/api/v1)."#,
    );
    assert_eq!(ids.paths, vec!["/ws/chat?room=7", "/feed", "/ws/x", "/api/v1"]);
    // Duplicates once; a hard cap per kind.
    let many: String = (0..100).map(|i| format!("10.0.0.{}:{} 10.0.0.1:1 ", i % 250, 1000 + i)).collect();
    assert_eq!(scan(&many).ip_ports.len(), super::MAX_IDS);
    assert!(super::ids::is_id_key(b"X-Correlation-ID") && !super::ids::is_id_key(b"id") && !super::ids::is_id_key(b"identity"));
}

#[test]
fn exception_shapes() {
    let find = |l: &str| trace::find_exc(l, false);
    assert_eq!(find("boom: java.io.IOException: reset"), Some(("java.io.IOException".into(), "reset".into())));
    assert_eq!(find("TypeError [ERR_INVALID_ARG_TYPE]: bad arg"), Some(("TypeError".into(), "bad arg".into())));
    assert_eq!(find("Error"), Some(("Error".into(), String::new())));
    assert_eq!(find("ERROR: not a type"), None);
    assert_eq!(trace::find_exc("handler failed: my.pkg.Thing: x", true), None);
    assert_eq!(trace::find_exc("handler failed: ValueError: x", true), Some(("ValueError".into(), "x".into())));

    let parse = |text: &str| trace::parse(&text.lines().collect::<Vec<_>>(), Some(Level::Error)).0.unwrap();
    // .NET Framework: inner exceptions on the header line.
    let x = parse(
        "System.Exception: outer ---> System.IO.IOException: inner\n   at A.B.C() in c:\\src\\a.cs:line 3\n   --- End of inner exception stack trace ---\n   at A.B.D()",
    );
    assert_eq!(
        (x.language, x.exc_type.as_str(), x.innermost_type.as_str()),
        (Language::DotNet, "System.Exception", "System.IO.IOException")
    );
    assert_eq!(x.top_app_frame.unwrap().line, Some(3));
    // logback %rEx: root cause first, `Wrapped by:` after.
    let x = parse(
        "java.io.IOException: root\n\tat com.x.A.a(A.java:1)\nWrapped by: java.lang.RuntimeException: outer\n\tat com.x.B.b(B.java:2)",
    );
    assert_eq!((x.exc_type.as_str(), x.innermost_type.as_str()), ("java.lang.RuntimeException", "java.io.IOException"));
    assert_eq!(x.top_app_frame.unwrap().function, "com.x.A.a");
    // Python: bare exception line, exception group gutters, the direct-cause chain.
    let x = parse("Traceback (most recent call last):\n  File \"/app/a.py\", line 2, in f\n    assert x\nAssertionError");
    assert_eq!((x.exc_type.as_str(), x.message.as_str()), ("AssertionError", ""));
    let x = parse(
        "  + Exception Group Traceback (most recent call last):\n  |   File \"/app/g.py\", line 9, in main\n  |     raise ExceptionGroup(\"many\", errs)\n  | ExceptionGroup: many (1 sub-exception)",
    );
    assert_eq!((x.exc_type.as_str(), x.top_app_frame.unwrap().line), ("ExceptionGroup", Some(9)));
    let x = parse(
        "Traceback (most recent call last):\n  File \"/a.py\", line 1, in f\nOSError: disk\n\nThe above exception was the direct cause of the following exception:\n\nTraceback (most recent call last):\n  File \"/a.py\", line 5, in g\nRuntimeError: wrapped",
    );
    assert_eq!((x.exc_type.as_str(), x.innermost_type.as_str(), x.chain_len), ("RuntimeError", "OSError", 2));
    // Go: a repanic; the first panic is the root.
    let x = parse("panic: first [recovered]\n\tpanic: second\n\ngoroutine 1 [running]:\nmain.f()\n\t/src/m.go:3 +0x1");
    assert_eq!((x.exc_type.as_str(), x.message.as_str(), x.innermost_message.as_str()), ("panic", "second", "first"));
    // Library-only frames: the throw site stands in.
    let x = parse(
        "java.lang.IllegalStateException: x\n\tat java.util.Objects.requireNonNull(Objects.java:1)\n\tat org.springframework.A.b(A.java:2)",
    );
    let top = x.top_app_frame.unwrap();
    assert_eq!((top.function.as_str(), top.in_app), ("java.util.Objects.requireNonNull", false));
    // No trace, an error-level message naming an exception.
    let (x, _) = trace::parse(&["request failed: ConnectionResetError: peer reset"], Some(Level::Error));
    let x = x.unwrap();
    assert_eq!((x.language, x.exc_type.as_str(), x.message.as_str()), (Language::Unknown, "ConnectionResetError", "peer reset"));
    assert!(trace::parse(&["request failed: ConnectionResetError: peer reset"], Some(Level::Info)).0.is_none());
    assert!(trace::parse(&["all good"], Some(Level::Error)).0.is_none());
}

#[test]
fn trace_lines_after_headers() {
    for yes in [
        "at com.x.A.b(A.java:1)",
        "Caused by: x.Y: z",
        "... 12 more",
        "File \"/a.py\", line 1, in f",
        "#0 /a.php(3): f()",
        "app/x.rb:9:in `show'",
        " indented",
    ] {
        assert!(trace::is_trace_line(yes.as_bytes()), "{yes}");
    }
    for no in ["at the door", "client connected", "", "#hashtag", "apples"] {
        assert!(!trace::is_trace_line(no.as_bytes()), "{no}");
    }
}

fn ctx() -> FileCtx {
    FileCtx {
        file: 0,
        path: "mem.log".into(),
        format: DetectedFormat { wrapper: None, inner: Inner::Text(TextShape::Iso) },
        tz: TimeZone::UTC,
        reference: None,
        max_line: 1 << 20,
    }
}

#[test]
fn block_parts_stitch_back() {
    // A block that starts inside a trace leaves those lines to the block
    // before, whose last record is still open.
    let a = "2026-11-24 10:00:01,000 INFO app: first\n2026-11-24 10:00:02,000 ERROR app: failed\nTraceback (most recent call last):\n";
    let b = "  File \"/a.py\", line 1, in f\nValueError: x\n2026-11-24 10:00:03,000 INFO app: next /calc\n";
    let (oa, ob) = (parse_block(&Block::whole(a.into()), &ctx()), parse_block(&Block::whole(b.into()), &ctx()));
    assert_eq!((oa.lines, ob.lines), (3, 3));
    let mut events = Vec::new();
    let mut notices = Vec::new();
    let mut st = super::group::Stitcher::new();
    st.push(oa, &ctx(), &mut |e| events.push(e), &mut notices);
    st.push(ob, &ctx(), &mut |e| events.push(e), &mut notices);
    st.finish(&ctx(), &mut |e| events.push(e), &mut notices);
    let ranges: Vec<(u64, u64)> = events.iter().map(|e| (e.line, e.end_line)).collect();
    assert_eq!(ranges, vec![(1, 1), (2, 5), (6, 6)]);
    assert_eq!(events[1].exception.as_ref().unwrap().exc_type, "ValueError");
    assert!(events[2].ids.iter().any(|i| matches!(i, Ident::Path(_))));
    // Alone, a file that starts inside a trace has no context: its lines stand alone.
    let out = parse_block(&Block::whole(b.into()), &ctx());
    let mut events = Vec::new();
    let mut st = super::group::Stitcher::new();
    st.push(out, &ctx(), &mut |e| events.push(e), &mut notices);
    st.finish(&ctx(), &mut |e| events.push(e), &mut notices);
    assert_eq!(events.iter().map(|e| (e.line, e.end_line)).collect::<Vec<_>>(), vec![(1, 1), (2, 2), (3, 3)]);
}

/// Reading + grouping alone (no event building), the per-line hot path.
/// `cargo test --release --lib logs::tests::grouping_throughput -- --ignored --nocapture`
#[test]
#[ignore]
fn grouping_throughput() {
    let mut data = Vec::new();
    let mut i = 0u64;
    while data.len() < (256 << 20) {
        let line = if i.is_multiple_of(200) {
            format!(
                "2026-11-24 10:{:02}:{:02},{:03} ERROR websockets.server: connection handler failed\nTraceback (most recent call last):\n  File \"/srv/app/handler.py\", line 96, in crash_handler\n    result = a / b\nZeroDivisionError: division by zero\n",
                (i / 60_000) % 60,
                (i / 1000) % 60,
                i % 1000
            )
        } else {
            format!(
                "2026-11-24 10:{:02}:{:02},{:03} INFO app: client 127.0.0.1:{} request id={i} op=add path=/calc user=alice\n",
                (i / 60_000) % 60,
                (i / 1000) % 60,
                i % 1000,
                40000 + i % 20000
            )
        };
        data.extend_from_slice(line.as_bytes());
        i += 1;
    }
    let blocks: Vec<Block> = data
        .chunks(1 << 20)
        .map(|c| {
            let end = c.iter().rposition(|&b| b == b'\n').map_or(c.len(), |p| p + 1);
            Block::whole(c[..end].to_vec())
        })
        .collect();
    let bytes: usize = blocks.iter().map(|b| b.len).sum();
    let c = ctx();
    // The best of three runs: the machine may be shared.
    let best = |f: &dyn Fn() -> u64| {
        (0..3)
            .map(|_| {
                let start = std::time::Instant::now();
                let n = f();
                (start.elapsed().as_secs_f64(), n)
            })
            .fold((f64::MAX, 0), |a, b| if b.0 < a.0 { b } else { a })
    };
    let (secs, records) = best(&|| blocks.iter().map(|b| count_records(b, &c)).sum());
    println!(
        "reading + grouping, one thread: {:.0} MB in {secs:.2} s = {:.0} MB/s, {records} records",
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / secs
    );
    let (secs, lines) = best(&|| blocks.iter().map(|b| parse_block(b, &c).lines).sum());
    println!("with events, one thread: {:.0} MB/s ({lines} lines)", bytes as f64 / 1e6 / secs);
}
