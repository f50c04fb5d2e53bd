//! JSON-lines records: the field names of pino, bunyan, winston, zap,
//! logrus, slog, structlog, python-json-logger, log4j2 (JsonLayout and
//! JsonTemplateLayout), logstash-logback-encoder, ECS, OpenTelemetry,
//! Serilog CLEF, .NET's JSON console, tracing-subscriber and journald,
//! mapped to one event (first alias found wins; dotted names are looked up
//! both as literal keys and as nested objects).

use std::net::{IpAddr, SocketAddr};

use serde_json::{Map, Value};

use super::group::{append, cut};
use super::header::{level_word, syslog_severity};
use super::time::{self, Converter, Resolved};
use super::{EventParts, ExceptionInfo, Frame, Language, Level, MAX_FRAMES, MAX_MESSAGE, Span, ids, trace};

/// A parsed JSON record and its resolved timestamp.
#[derive(Debug)]
pub(crate) struct JsonRec {
    pub value: Value,
    pub ts: Option<Resolved>,
    pub ts_raw: String,
}

const TS_KEYS: &[&str] = &[
    "@timestamp",
    "timestamp",
    "time",
    "ts",
    "t",
    "@t",
    "instant",
    "timeMillis",
    "Timestamp",
    "timeUnixNano",
    "time_unix_nano",
    "observedTimeUnixNano",
    "_SOURCE_REALTIME_TIMESTAMP",
    "__REALTIME_TIMESTAMP",
    "date",
    "datetime",
    "asctime",
];
const LEVEL_KEYS: &[&str] = &[
    "level",
    "log.level",
    "severity",
    "levelname",
    "@l",
    "SeverityText",
    "severityText",
    "severity_text",
    "lvl",
    "loglevel",
    "LogLevel",
    "levelName",
    "PRIORITY",
];
const LEVEL_NUM_KEYS: &[&str] = &["severityNumber", "SeverityNumber", "severity_number"];
const MESSAGE_KEYS: &[&str] = &["message", "msg", "@m", "MESSAGE", "body", "Body", "event", "fields.message", "Message", "@mt", "log"];
const LOGGER_KEYS: &[&str] = &[
    "logger",
    "logger_name",
    "loggerName",
    "log.logger",
    "target",
    "Category",
    "category",
    "SourceContext",
    "name",
    "scope.name",
    "instrumentationScope.name",
];
const STACK_KEYS: &[&str] = &[
    "error.stack_trace",
    "exception.stacktrace",
    "stack_trace",
    "stacktrace",
    "stack",
    "err.stack",
    "error.stack",
    "exception",
    "exc_info",
    "@x",
    "Exception",
    "error.stacktrace",
    "errorVerbose",
];
const TYPE_KEYS: &[&str] =
    &["error.type", "exception.type", "err.type", "err.name", "error.name", "error.kind", "exc_type", "exception.class", "error.class"];
const EXC_MSG_KEYS: &[&str] = &["error.message", "exception.message", "err.message", "exc_value", "error.msg"];

/// Parses a line holding one JSON object.
pub(crate) fn parse_line(text: &[u8], conv: &mut Converter) -> Option<JsonRec> {
    let value: Value = serde_json::from_slice(text).ok()?;
    if !value.is_object() {
        return None;
    }
    let (ts, ts_raw) = timestamp(&value, conv);
    Some(JsonRec { value, ts, ts_raw })
}

/// `v[path]`: the literal key, else nested objects along the dots (any
/// split: `log.level` is `{"log.level"}` or `{"log":{"level"}}`); OTel
/// `attributes` (an object or OTLP's key/value list) are looked in too.
pub(crate) fn get<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    if let Some(x) = lookup(v, path) {
        return Some(x);
    }
    let attrs = v.get("attributes").or_else(|| v.get("Attributes"))?;
    match attrs {
        Value::Object(_) => lookup(attrs, path),
        Value::Array(items) => {
            items.iter().find(|kv| kv.get("key").and_then(Value::as_str) == Some(path)).and_then(|kv| kv.get("value")).map(otlp_value)
        }
        _ => None,
    }
}

fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    if let Some(x) = v.get(path) {
        return Some(x);
    }
    let mut start = 0;
    while let Some(p) = path.get(start..).and_then(|s| s.find('.')) {
        let split = start + p;
        if let (Some(head), Some(tail)) = (path.get(..split), path.get(split + 1..))
            && let Some(inner) = v.get(head)
            && inner.is_object()
            && let Some(x) = lookup(inner, tail)
        {
            return Some(x);
        }
        start = split + 1;
    }
    None
}

/// OTLP/JSON values are wrapped: `{"stringValue": "x"}`.
fn otlp_value(v: &Value) -> &Value {
    match v {
        Value::Object(m) if m.len() == 1 && m.keys().next().is_some_and(|k| k.ends_with("Value")) => m.values().next().unwrap_or(v),
        _ => v,
    }
}

fn first<'a>(v: &'a Value, keys: &[&'static str]) -> Option<(&'static str, &'a Value)> {
    keys.iter().find_map(|k| get(v, k).filter(|x| !x.is_null()).map(|x| (*k, otlp_value(x))))
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => None,
        Value::Array(items) if items.iter().all(Value::is_string) => {
            Some(items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("\n"))
        }
        other => Some(other.to_string()),
    }
}

fn timestamp(v: &Value, conv: &mut Converter) -> (Option<Resolved>, String) {
    let Some((key, t)) = first(v, TS_KEYS) else { return (None, String::new()) };
    let raw = as_text(t).unwrap_or_default();
    let resolved = match t {
        Value::String(s) => time::any_text(s).and_then(|w| conv.resolve(&w)),
        Value::Number(n) => number_ts(n),
        Value::Object(o) if key == "instant" => {
            // log4j2: `{"epochSecond": 1, "nanoOfSecond": 2}`.
            let secs = o.get("epochSecond").and_then(Value::as_i64);
            let nanos = o.get("nanoOfSecond").and_then(Value::as_u64).unwrap_or(0);
            secs.map(|s| Resolved {
                ts: crate::model::Timestamp::from_secs_frac(s, nanos.min(999_999_999) as u32),
                res_ns: 1,
                ambiguous: false,
            })
        }
        _ => None,
    };
    (resolved, raw)
}

/// An epoch number: integers exactly (unit by magnitude), fractions through
/// their decimal text (`1795514401.75` seconds, exact to the digit).
fn number_ts(n: &serde_json::Number) -> Option<Resolved> {
    if let Some(i) = n.as_i64() {
        let (ts, res_ns) = time::epoch_int(i)?;
        return Some(Resolved { ts, res_ns, ambiguous: false });
    }
    let text = n.to_string();
    if let Some((w, _)) = time::epoch(text.as_bytes(), 0)
        && let time::WrittenZone::Instant(ns) = w.zone
    {
        return Some(Resolved { ts: crate::model::Timestamp::from_nanos(ns), res_ns: w.res_ns, ambiguous: false });
    }
    let (ts, res_ns) = time::epoch_number(n.as_f64()?)?;
    Some(Resolved { ts, res_ns, ambiguous: false })
}

fn level(v: &Value) -> Option<Level> {
    if let Some((key, l)) = first(v, LEVEL_KEYS) {
        match l {
            Value::String(s) if key == "PRIORITY" => return s.trim().parse::<u32>().ok().map(syslog_severity),
            Value::String(s) => {
                if let Some(l) = level_word(s.trim().as_bytes()) {
                    return Some(l);
                }
                if let Ok(n) = s.trim().parse::<u64>() {
                    return Some(pino_level(n));
                }
            }
            Value::Number(n) if key == "PRIORITY" => return n.as_u64().map(|n| syslog_severity(n.min(7) as u32)),
            Value::Number(n) => return n.as_u64().map(pino_level),
            _ => {}
        }
    }
    let (_, n) = first(v, LEVEL_NUM_KEYS)?;
    // OpenTelemetry SeverityNumber: 1-4 trace ... 21-24 fatal.
    Some(match n.as_u64()? {
        0..=4 => Level::Trace,
        5..=8 => Level::Debug,
        9..=12 => Level::Info,
        13..=16 => Level::Warn,
        17..=20 => Level::Error,
        _ => Level::Fatal,
    })
}

/// pino/bunyan numeric levels.
fn pino_level(n: u64) -> Level {
    match n {
        0..=10 => Level::Trace,
        11..=20 => Level::Debug,
        21..=30 => Level::Info,
        31..=40 => Level::Warn,
        41..=50 => Level::Error,
        _ => Level::Fatal,
    }
}

type Chain = Vec<(String, String, Vec<Frame>)>;

/// log4j2 JsonLayout `thrown`: `{name, message, extendedStackTrace: [...], cause}`.
fn log4j_thrown(t: &Map<String, Value>) -> Option<ExceptionInfo> {
    let mut chain: Chain = Vec::new();
    let mut cur = Some(t);
    while let Some(o) = cur {
        if chain.len() >= 16 {
            break;
        }
        let name = o.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
        let msg = o.get("message").or_else(|| o.get("localizedMessage")).and_then(Value::as_str).unwrap_or_default().to_string();
        let frames = o
            .get("extendedStackTrace")
            .or_else(|| o.get("stackTrace"))
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .take(MAX_FRAMES)
                    .filter_map(|f| {
                        let class = f.get("class").and_then(Value::as_str)?;
                        let method = f.get("method").and_then(Value::as_str).unwrap_or_default();
                        let function = format!("{class}.{method}");
                        let file = f.get("file").and_then(Value::as_str).unwrap_or_default().to_string();
                        let line = f.get("line").and_then(Value::as_u64).and_then(|l| u32::try_from(l).ok());
                        let in_app = trace::java_in_app(&function);
                        Some(Frame { function, file, line, in_app })
                    })
                    .collect()
            })
            .unwrap_or_default();
        chain.push((name, msg, frames));
        cur = o.get("cause").and_then(Value::as_object);
    }
    build(Language::Java, chain)
}

/// structlog's dict tracebacks: `[{exc_type, exc_value, frames: [{filename, lineno, name}]}]`.
fn structlog_dict(items: &[Value]) -> Option<ExceptionInfo> {
    let chain: Chain = items
        .iter()
        .take(16)
        .filter_map(|s| {
            let typ = s.get("exc_type").and_then(Value::as_str)?.to_string();
            let msg = s.get("exc_value").and_then(Value::as_str).unwrap_or_default().to_string();
            let mut frames: Vec<Frame> = s
                .get("frames")
                .and_then(Value::as_array)
                .map(|fs| {
                    fs.iter()
                        .take(MAX_FRAMES)
                        .filter_map(|f| {
                            let file = f.get("filename").and_then(Value::as_str)?.to_string();
                            let line = f.get("lineno").and_then(Value::as_u64).and_then(|l| u32::try_from(l).ok());
                            let function = f.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
                            Some(Frame { in_app: trace::python_in_app(&file), function, file, line })
                        })
                        .collect()
                })
                .unwrap_or_default();
            // Most recent call last, as Python prints them.
            frames.reverse();
            Some((typ, msg, frames))
        })
        .collect();
    build(Language::Python, chain)
}

/// An exception from a chain listed outermost first.
fn build(language: Language, mut chain: Chain) -> Option<ExceptionInfo> {
    if chain.is_empty() {
        return None;
    }
    chain.reverse();
    let (inner_t, inner_m) = chain.first().map(|c| (c.0.clone(), c.1.clone())).unwrap_or_default();
    let (outer_t, outer_m) = chain.last().map(|c| (c.0.clone(), c.1.clone())).unwrap_or_default();
    let top_app_frame =
        chain.iter().flat_map(|c| c.2.iter()).find(|f| f.in_app).or_else(|| chain.iter().find_map(|c| c.2.first())).cloned();
    let chain_len = chain.len();
    let frames = chain.into_iter().flat_map(|c| c.2).take(MAX_FRAMES).collect();
    Some(ExceptionInfo {
        language,
        exc_type: outer_t,
        message: outer_m,
        innermost_type: inner_t,
        innermost_message: inner_m,
        chain_len,
        top_app_frame,
        frames,
    })
}

fn frameless(typ: String, msg: String) -> ExceptionInfo {
    ExceptionInfo {
        language: Language::Unknown,
        exc_type: typ.clone(),
        message: msg.clone(),
        innermost_type: typ,
        innermost_message: msg,
        chain_len: 1,
        top_app_frame: None,
        frames: Vec::new(),
    }
}

fn exception(v: &Value, level: Option<Level>) -> Option<ExceptionInfo> {
    if let Some(Value::Object(t)) = v.get("thrown") {
        return log4j_thrown(t);
    }
    if let Some(Value::Array(items)) = v.get("exception")
        && items.first().is_some_and(Value::is_object)
    {
        return structlog_dict(items);
    }
    let stack = first(v, STACK_KEYS).and_then(|(_, s)| as_text(s)).filter(|s| !s.trim().is_empty());
    let typ = first(v, TYPE_KEYS).and_then(|(_, t)| as_text(t)).filter(|s| !s.is_empty());
    let msg = first(v, EXC_MSG_KEYS).and_then(|(_, m)| as_text(m));
    let mut info = stack.as_deref().and_then(trace::parse_stack);
    match (&mut info, typ) {
        (Some(info), Some(t)) => {
            // Explicit fields name the outer exception; the stack keeps the root.
            if info.chain_len <= 1 {
                info.innermost_type = t.clone();
                if let Some(m) = &msg {
                    info.innermost_message = m.clone();
                }
            }
            info.exc_type = t;
            if let Some(m) = msg {
                info.message = m;
            }
        }
        (Some(info), None) => {
            if let Some(m) = msg
                && info.message.is_empty()
            {
                info.message = m;
            }
            // zap: a bare stack, the error text beside it.
            if info.exc_type.is_empty()
                && let Some(e) = v.get("error").or_else(|| v.get("err")).and_then(Value::as_str)
            {
                let (t, m) = trace::find_exc(e, true).unwrap_or_else(|| ("error".to_string(), e.to_string()));
                info.exc_type = t.clone();
                info.message = m.clone();
                if info.innermost_type.is_empty() {
                    info.innermost_type = t;
                    info.innermost_message = m;
                }
            }
        }
        (None, Some(t)) => info = Some(frameless(t, msg.unwrap_or_default())),
        (None, None) => {
            // logrus / zap: an `error` string on an error record.
            if level.is_some_and(Level::is_error)
                && let Some(e) = v.get("error").or_else(|| v.get("err")).and_then(Value::as_str)
            {
                let (t, m) = trace::find_exc(e, true).unwrap_or_else(|| ("error".to_string(), e.to_string()));
                info = Some(frameless(t, m));
            }
        }
    }
    info
}

/// Keys whose strings are stack text, not worth scanning for identifiers.
fn is_stack_key(k: &str) -> bool {
    matches!(
        k,
        "stack_trace"
            | "stacktrace"
            | "stack"
            | "exception"
            | "exc_info"
            | "@x"
            | "Exception"
            | "errorVerbose"
            | "extendedStackTrace"
            | "thrown"
    )
}

/// `ip`/`address` + `port` siblings.
fn pair(ip: Option<&Value>, port: Option<&Value>, out: &mut ids::IdSink<'_>) {
    let Some(ip) = ip.and_then(Value::as_str).and_then(|s| s.trim_start_matches("::ffff:").parse::<IpAddr>().ok()) else { return };
    let port = port.and_then(|p| p.as_u64().or_else(|| p.as_str().and_then(|s| s.parse().ok())));
    match port.and_then(|p| u16::try_from(p).ok()) {
        Some(p) => out.ip_port(SocketAddr::new(ip, p)),
        None => out.ip(ip),
    }
}

fn walk(prefix: &str, m: &Map<String, Value>, out: &mut ids::IdSink<'_>, depth: usize, budget: &mut usize) {
    if depth > 4 {
        return;
    }
    for (ip_key, port_key) in
        [("ip", "port"), ("address", "port"), ("addr", "port"), ("remoteAddress", "remotePort"), ("remote_addr", "remote_port")]
    {
        pair(m.get(ip_key), m.get(port_key), out);
    }
    for (k, v) in m {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        // `client.ip` + `client.port` written as dotted keys.
        if let Some(base) = k.strip_suffix(".ip").or_else(|| k.strip_suffix(".address")) {
            pair(Some(v), m.get(&format!("{base}.port")), out);
        }
        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        let id_key = ids::is_id_key(k.as_bytes()) || ids::is_id_key(key.as_bytes());
        match v {
            Value::Object(inner) if !is_stack_key(k) => walk(&key, inner, out, depth + 1, budget),
            Value::String(s) if id_key => out.id_owned(&key, s),
            Value::Number(n) if id_key => out.id_owned(&key, &n.to_string()),
            Value::String(s) if !is_stack_key(k) && s.len() <= 4096 => ids::scan(s.as_bytes(), out),
            Value::Array(items) if items.iter().all(|i| i.get("key").is_some_and(Value::is_string) && i.get("value").is_some()) => {
                // OTLP attributes: `[{"key": "client.port", "value": {"intValue": "1"}}]`.
                let map: Map<String, Value> = items
                    .iter()
                    .take(64)
                    .filter_map(|i| Some((i.get("key")?.as_str()?.to_string(), otlp_value(i.get("value")?).clone())))
                    .collect();
                walk(&key, &map, out, depth + 1, budget);
            }
            Value::Array(items) if !is_stack_key(k) => {
                for item in items.iter().take(16) {
                    match item {
                        Value::String(s) if s.len() <= 4096 => ids::scan(s.as_bytes(), out),
                        Value::Object(inner) => walk(&key, inner, out, depth + 1, budget),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
}

/// The event of a JSON record; `text` holds the raw line (`raw`).
pub(crate) fn event(j: &JsonRec, file: usize, line: u64, end_line: u64, mut text: String, raw: Span) -> EventParts {
    let v = &j.value;
    let level = level(v);
    let message = first(v, MESSAGE_KEYS).and_then(|(_, m)| as_text(m)).unwrap_or_default();
    let message = append(&mut text, cut(&message, MAX_MESSAGE));
    let logger = first(v, LOGGER_KEYS).and_then(|(_, l)| l.as_str()).filter(|s| !s.is_empty()).map(|l| append(&mut text, l));
    let ts_raw = append(&mut text, &j.ts_raw);
    let exception = exception(v, level).map(Box::new);
    let mut found = Vec::new();
    if let Value::Object(m) = v {
        let mut budget = 512;
        let mut sink = ids::IdSink::copying(&mut found, &mut text);
        walk("", m, &mut sink, 0, &mut budget);
    }
    EventParts {
        file,
        line,
        end_line,
        ts: j.ts.map(|r| r.ts),
        ts_res_ns: j.ts.map_or(0, |r| r.res_ns),
        ts_ambiguous: j.ts.is_some_and(|r| r.ambiguous),
        wrapper_ts: None,
        level,
        stream: None,
        exception,
        text,
        raw,
        message,
        ts_raw,
        logger,
        ids: found.into(),
    }
}
