//! Ties closes to the server-log events that explain them: each 1011
//! Internal Error (and each server-side drop, unexplained 1002/1007, 1011
//! from a client, 1012-1014) to the stack trace that caused it, with a
//! confidence and the evidence in words.
//!
//! Owns: the close targets, the clock offset between capture and log, the
//! candidate search, scoring and one-to-one assignment, and the outcomes
//! when no trace is found.
//! May import: model, session::record, logs. Pure functions over collected
//! data: the capture is analysed first, the logs are read next, then this.
//!
//! How a match is made:
//! 1. Clock offset (log time minus capture time): given, or estimated from
//!    anchors (a log line naming a connection's client ip:port, paired with
//!    that connection's start or end), else from the offset that best
//!    aligns the closes with error events.
//! 2. Candidates: error events (level error or worse, or carrying an
//!    exception) from `window` seconds before the close to `slack` after,
//!    once the offset is corrected: Python websockets logs its traceback
//!    just after its 1011, Cowboy its crash report after the close.
//! 3. Score: time proximity; identifiers shared with the connection (client
//!    ip:port, request header values such as X-Request-Id, the
//!    Sec-WebSocket-Key, path and query values), directly in the event or in
//!    the lines the same file logged just before it (its request context);
//!    an event that names another connection counts against it.
//! 4. Assignment: best pairs first, one event per close, except an event
//!    that names several connections or a fatal crash followed by a burst of
//!    dropped connections (one process crash explains all of them).

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

use crate::logs::{Level, LogEvent};
use crate::model::{ConnId, Direction, PacketIndex, Timestamp};
use crate::session::record::{CloseRecord, ConnectionRecord};

/// Why a close is looked up in the logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TargetKind {
    /// The server closed with 1011.
    InternalError,
    /// A client closed with 1011 (an error inside the client).
    ClientInternalError,
    /// The server ended TCP without a Close (inferred 1006).
    ServerDrop,
    /// The server closed with 1002 or 1007 although the bytes it received
    /// are well-formed at the capture point.
    UnexplainedProtocolError,
    /// The server closed with 1012, 1013 or 1014.
    ServiceClose,
}

impl TargetKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            TargetKind::InternalError => "1011",
            TargetKind::ClientInternalError => "1011-from-client",
            TargetKind::ServerDrop => "server-drop-1006",
            TargetKind::UnexplainedProtocolError => "unexplained-protocol-error",
            TargetKind::ServiceClose => "service-close",
        }
    }
}

/// A close to explain from the logs.
#[derive(Clone, Debug)]
pub struct CloseTarget {
    pub conn_id: ConnId,
    pub kind: TargetKind,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub close_ts: Timestamp,
    pub close_packet: PacketIndex,
    /// The code endpoints report (1006 for an inferred drop).
    pub code: u16,
    pub reason: String,
    pub conn_start: Timestamp,
    pub conn_end: Timestamp,
    /// Values that name this connection: (what, value), e.g. ("X-Request-Id",
    /// "abc"), ("path", "/calc"), ("Sec-WebSocket-Key", "...").
    pub tokens: Vec<(String, String)>,
}

/// Request headers whose values are too common to identify a connection.
const COMMON_HEADERS: &[&str] = &[
    "host",
    "upgrade",
    "connection",
    "sec-websocket-version",
    "sec-websocket-extensions",
    "accept-encoding",
    "accept-language",
    "cache-control",
    "pragma",
    "user-agent",
    "origin",
    "content-length",
];

impl CloseTarget {
    /// The target for `close` of connection `conn`, if that close is one to
    /// explain from the server's logs.
    pub fn from_records(conn: &ConnectionRecord, close: &CloseRecord) -> Option<CloseTarget> {
        let from_server = close.direction == Direction::ServerToClient;
        let kind = match (close.reported_code, from_server, close.inferred) {
            (1011, true, _) => TargetKind::InternalError,
            (1011, false, _) => TargetKind::ClientInternalError,
            (1006, true, true) => TargetKind::ServerDrop,
            (1002 | 1007, true, _) if close.cause_rule.is_none() && close.initiator => TargetKind::UnexplainedProtocolError,
            (1012..=1014, true, _) => TargetKind::ServiceClose,
            _ => return None,
        };
        if !close.initiator && kind != TargetKind::InternalError {
            return None;
        }
        let mut tokens = Vec::new();
        for (name, value) in conn.http.request_headers.iter() {
            let value = crate::http::value_text(value);
            let lower = name.to_ascii_lowercase();
            if COMMON_HEADERS.contains(&lower.as_str()) || value.len() < 6 {
                continue;
            }
            tokens.push((name.to_string(), value.trim().to_string()));
        }
        let path = conn.http.path.split('?').next().unwrap_or_default();
        if path.len() > 1 {
            tokens.push(("path".to_string(), path.to_string()));
        }
        if let Some((_, query)) = conn.http.path.split_once('?') {
            for pair in query.split('&') {
                if let Some((k, v)) = pair.split_once('=')
                    && v.len() >= 6
                {
                    tokens.push((format!("query {k}"), v.to_string()));
                }
            }
        }
        Some(CloseTarget {
            conn_id: conn.conn_id,
            kind,
            client: conn.client,
            server: conn.server,
            close_ts: close.ts,
            close_packet: close.packet,
            code: close.reported_code,
            reason: close.reason.clone(),
            conn_start: conn.start_ts,
            conn_end: conn.end_ts,
            tokens,
        })
    }
}

/// A connection as the clock-offset estimate needs it.
#[derive(Clone, Copy, Debug)]
pub struct ConnTimes {
    pub client: SocketAddr,
    pub start: Timestamp,
    pub end: Timestamp,
}

/// Collects from the record stream what log matching needs: a
/// [`CloseTarget`] per close worth looking up, and every connection's client
/// and life span. A connection's closes arrive before its record, and
/// other connections' records may come in between (output is in packet
/// order), so closes wait per connection until their own record arrives.
#[derive(Debug, Default)]
pub struct TargetCollector {
    pending: HashMap<ConnId, Vec<CloseRecord>>,
    pub targets: Vec<CloseTarget>,
    pub conns: Vec<ConnTimes>,
}

impl TargetCollector {
    pub fn close(&mut self, rec: &CloseRecord) {
        self.pending.entry(rec.conn_id).or_default().push(rec.clone());
    }

    pub fn connection(&mut self, rec: &ConnectionRecord) {
        for close in self.pending.remove(&rec.conn_id).unwrap_or_default() {
            self.targets.extend(CloseTarget::from_records(rec, &close));
        }
        self.conns.push(ConnTimes { client: rec.client, start: rec.start_ts, end: rec.end_ts });
    }
}

/// An error event kept for matching (the log side's events are not kept
/// whole: a log may hold millions of them).
#[derive(Clone, Debug)]
pub struct ErrorEvent {
    pub file: usize,
    pub line: u64,
    pub end_line: u64,
    /// Log time (UTC as the log states it, before the clock offset).
    pub ts: Timestamp,
    pub level: Option<Level>,
    pub exception: String,
    pub message: String,
    pub top_frame: String,
    pub crash: bool,
    /// ip:port pairs the event names, and those named by the lines the same
    /// file logged just before it (its request context), with their line.
    pub ip_ports: Vec<SocketAddr>,
    pub context: Vec<(SocketAddr, u64)>,
    /// Other identifier values and paths named by the event.
    pub values: Vec<String>,
    pub raw_lower: String,
    /// For an error line without a stack of its own: the exception event
    /// logged shortly before in the same file whose message it quotes (a
    /// server reporting the panic of a task it spawned).
    pub quotes: Option<usize>,
    /// The exception's message alone (for recognising quotes of it).
    pub exception_message: String,
}

/// Collects what matching needs while the logs stream past.
#[derive(Debug, Default)]
pub struct EventCollector {
    pub errors: Vec<ErrorEvent>,
    /// First and last log time naming each known client ip:port: the first
    /// mention is usually logged when the connection opens, the last when
    /// it closes.
    pub mentions: HashMap<SocketAddr, (Timestamp, Timestamp)>,
    /// Earliest and latest log time seen, per file.
    pub coverage: HashMap<usize, (Timestamp, Timestamp)>,
    /// Recent ip:port mentions per file: (time, address, line).
    recent: HashMap<usize, Vec<(Timestamp, SocketAddr, u64)>>,
    clients: HashMap<SocketAddr, (Timestamp, Timestamp)>,
}

/// How long before an error the lines of its request context may be.
const CONTEXT_S: f64 = 1.0;
/// How long before an error line an exception it quotes may have been
/// logged (a backtrace takes time to print).
const QUOTE_S: f64 = 10.0;
/// At most this many error events are kept for matching.
const MAX_ERRORS: usize = 1_000_000;

impl EventCollector {
    pub fn new(conns: &[ConnTimes]) -> EventCollector {
        EventCollector { clients: conns.iter().map(|c| (c.client, (c.start, c.end))).collect(), ..EventCollector::default() }
    }

    /// Takes one log event (in file order).
    pub fn event(&mut self, e: &LogEvent) {
        let Some(ts) = e.ts.or(e.ts_not_before) else { return };
        let cov = self.coverage.entry(e.file).or_insert((ts, ts));
        cov.0 = cov.0.min(ts);
        cov.1 = cov.1.max(ts);
        let ip_ports: Vec<SocketAddr> = e.ip_ports().collect();
        for a in &ip_ports {
            if self.clients.contains_key(a) {
                let m = self.mentions.entry(*a).or_insert((ts, ts));
                m.0 = m.0.min(ts);
                m.1 = m.1.max(ts);
            }
        }
        let recent = self.recent.entry(e.file).or_default();
        recent.retain(|(t, _, _)| ts.secs_since(*t) <= CONTEXT_S);
        let is_error = e.level.is_some_and(Level::is_error) || e.exception.is_some();
        if is_error && self.errors.len() < MAX_ERRORS {
            let ex = e.exception.as_deref();
            let mut context: Vec<(SocketAddr, u64)> = Vec::new();
            for (_, a, line) in recent.iter().rev() {
                if !context.iter().any(|(c, _)| c == a) {
                    context.push((*a, *line));
                }
            }
            // An error line that quotes the message of an exception logged
            // just before it is about that exception.
            let quotes = if ex.is_none() {
                let raw = e.raw();
                self.errors
                    .iter()
                    .enumerate()
                    .rev()
                    .take(32)
                    .take_while(|(_, p)| ts.secs_since(p.ts) <= QUOTE_S)
                    .find(|(_, p)| p.file == e.file && p.exception_message.len() >= 8 && raw.contains(p.exception_message.as_str()))
                    .map(|(i, _)| i)
            } else {
                None
            };
            let ids = e.identifiers();
            let mut values: Vec<String> = ids.ids.into_iter().map(|(_, v)| v).collect();
            values.extend(ids.uuids);
            values.extend(ids.paths);
            self.errors.push(ErrorEvent {
                file: e.file,
                line: e.line,
                end_line: e.end_line,
                ts,
                level: e.level,
                exception: ex
                    .map(|x| if x.message.is_empty() { x.exc_type.clone() } else { format!("{}: {}", x.exc_type, x.message) })
                    .unwrap_or_default(),
                message: e.message().chars().take(512).collect(),
                top_frame: ex
                    .and_then(|x| x.top_app_frame.as_ref())
                    .map(|f| match f.line {
                        Some(l) if f.function.is_empty() => format!("{}:{l}", f.file),
                        Some(l) => format!("{} ({}:{l})", f.function, f.file),
                        None => format!("{} ({})", f.function, f.file),
                    })
                    .unwrap_or_default(),
                crash: e.level == Some(Level::Fatal),
                ip_ports: ip_ports.clone(),
                context,
                values,
                raw_lower: e.raw().chars().take(4096).collect::<String>().to_lowercase(),
                quotes,
                exception_message: ex.map(|x| x.message.clone()).unwrap_or_default(),
            });
        }
        for a in ip_ports {
            recent.push((ts, a, e.line));
        }
    }
}

/// What the matcher may assume.
#[derive(Clone, Copy, Debug)]
pub struct MatchOptions {
    /// Seconds before the close searched for its cause.
    pub window_s: f64,
    /// Seconds after the close still searched (logs written after the Close
    /// frame went out).
    pub slack_s: f64,
    /// Log time minus capture time, when the user knows it.
    pub offset_s: Option<f64>,
}

impl Default for MatchOptions {
    fn default() -> Self {
        MatchOptions { window_s: 5.0, slack_s: 2.0, offset_s: None }
    }
}

/// The clock offset used: log time = capture time + `seconds`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClockOffset {
    pub seconds: f64,
    /// Median absolute deviation of the pairs around it.
    pub spread_s: f64,
    pub pairs: usize,
    /// "given", "anchors" (log lines naming connections), "alignment"
    /// (closes against error events), or "none".
    pub method: &'static str,
}

/// How sure a match is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub const fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// One row of matches.csv: a close and the event that explains it, a close
/// with no explanation (and why), or an error event no close claims.
#[derive(Clone, Debug)]
pub struct MatchRow {
    pub target: Option<usize>,
    pub event: Option<usize>,
    pub delta_s: Option<f64>,
    pub confidence: Option<Confidence>,
    /// Why this event (or why none).
    pub evidence: String,
}

/// The result of matching.
#[derive(Clone, Debug)]
pub struct Correlation {
    pub offset: ClockOffset,
    pub rows: Vec<MatchRow>,
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}

/// The clock offset: given, from anchors, or from aligning closes with
/// error events.
pub fn estimate_offset(targets: &[CloseTarget], collector: &EventCollector, opts: &MatchOptions) -> ClockOffset {
    if let Some(s) = opts.offset_s {
        return ClockOffset { seconds: s, spread_s: 0.0, pairs: 0, method: "given" };
    }
    // Anchors: each client's first mention in the log against its
    // connection's start (the handshake is what servers log first).
    let mut anchors: Vec<f64> = collector
        .mentions
        .iter()
        .filter_map(|(client, (first, _))| collector.clients.get(client).map(|(start, _)| first.secs_since(*start)))
        .collect();
    if let Some(m) = median(&mut anchors) {
        let mut dev: Vec<f64> = anchors.iter().map(|a| (a - m).abs()).collect();
        let spread = median(&mut dev).unwrap_or(0.0);
        return ClockOffset { seconds: m, spread_s: spread, pairs: anchors.len(), method: "anchors" };
    }
    // Alignment: the offset that puts the most closes within the search
    // window of an error event, searched over the pairwise differences up
    // to ten minutes apart; ties go to the smallest offset.
    let mut diffs: Vec<f64> = Vec::new();
    for t in targets {
        for e in &collector.errors {
            let d = e.ts.secs_since(t.close_ts);
            if d.abs() <= 600.0 {
                diffs.push(d);
            }
        }
    }
    if diffs.is_empty() {
        return ClockOffset { seconds: 0.0, spread_s: 0.0, pairs: 0, method: "none" };
    }
    diffs.sort_by(f64::total_cmp);
    let width = opts.window_s.min(1.0);
    let (mut best, mut best_n) = (0.0, 0usize);
    let mut j = 0;
    for i in 0..diffs.len() {
        while j < diffs.len() && diffs[j] - diffs[i] <= width {
            j += 1;
        }
        let n = j - i;
        let centre = diffs[i..j].iter().sum::<f64>() / n as f64;
        if n > best_n || (n == best_n && centre.abs() < f64::abs(best)) {
            best_n = n;
            best = centre;
        }
    }
    let mut inside: Vec<f64> = diffs.iter().filter(|d| (*d - best).abs() <= width).map(|d| (d - best).abs()).collect();
    let spread = median(&mut inside).unwrap_or(0.0);
    ClockOffset { seconds: best, spread_s: spread, pairs: best_n, method: "alignment" }
}

/// How an event relates to a connection.
struct Evidence {
    score: f64,
    identified: bool,
    words: Vec<String>,
}

fn evidence(t: &CloseTarget, e: &ErrorEvent, dt: f64, opts: &MatchOptions, all_clients: &HashSet<SocketAddr>) -> Evidence {
    let mut ev = Evidence { score: 0.0, identified: false, words: Vec::new() };
    // Time: 1 at the close, falling to 0 at the window's edges.
    let time = if dt <= 0.0 { 1.0 + dt / opts.window_s } else { 1.0 - 0.5 * dt / opts.slack_s.max(0.001) };
    ev.score += time.max(0.0);
    let when = if dt <= 0.0 { format!("logged {:.3} s before the close", -dt) } else { format!("logged {:.3} s after the close", dt) };
    ev.words.push(when);
    if e.ip_ports.contains(&t.client) {
        ev.score += 3.0;
        ev.identified = true;
        ev.words.push(format!("names the client {}", t.client));
    } else if let Some((_, line)) = e.context.iter().find(|(a, _)| *a == t.client) {
        // The nearest context line naming this client, and no nearer one
        // naming another connection.
        let first = e.context.first().map(|(a, _)| *a);
        if first == Some(t.client) {
            ev.score += 2.0;
            ev.identified = true;
            ev.words.push(format!("the line logged just before it (line {line}) names the client {}", t.client));
        } else {
            ev.score += 0.5;
            ev.words.push(format!("a recent line (line {line}) names the client {}", t.client));
        }
    }
    for (what, value) in &t.tokens {
        let v = value.to_lowercase();
        if e.values.iter().any(|x| x.to_lowercase() == v) || (v.len() >= 8 && e.raw_lower.contains(&v)) {
            let strong = what != "path";
            ev.score += if strong { 3.0 } else { 0.5 };
            ev.identified |= strong;
            ev.words.push(format!("shares the {what} {value:?}"));
        }
    }
    let others: Vec<&SocketAddr> = e.ip_ports.iter().filter(|a| **a != t.client && all_clients.contains(a)).collect();
    if !others.is_empty() && !e.ip_ports.contains(&t.client) {
        ev.score -= 3.0;
        ev.words.push(format!("but names another connection's client {}", others[0]));
    }
    if !e.exception.is_empty() {
        ev.score += 0.5;
    }
    if e.crash {
        ev.score += 0.2;
    }
    ev
}

/// A close reason that explains the close without an exception.
fn reason_explains(reason: &str) -> Option<&'static str> {
    let r = reason.to_lowercase();
    if r.contains("keepalive") || r.contains("ping timeout") || r.contains("pong") {
        Some("the close reason itself explains it (a keepalive ping timeout), so no exception is expected")
    } else {
        None
    }
}

/// Matches closes to error events. `conns` holds every connection's client
/// endpoint (to tell an event about another connection).
pub fn correlate(targets: &[CloseTarget], collector: &EventCollector, conns: &[ConnTimes], opts: &MatchOptions) -> Correlation {
    let offset = estimate_offset(targets, collector, opts);
    let all_clients: HashSet<SocketAddr> = conns.iter().map(|c| c.client).collect();
    // Every candidate pair with its evidence.
    struct Cand {
        t: usize,
        e: usize,
        dt: f64,
        ev: Evidence,
    }
    let mut cands: Vec<Cand> = Vec::new();
    for (ti, t) in targets.iter().enumerate() {
        for (ei, e) in collector.errors.iter().enumerate() {
            let dt = e.ts.secs_since(t.close_ts) - offset.seconds;
            if dt < -opts.window_s || dt > opts.slack_s {
                continue;
            }
            let ev = evidence(t, e, dt, opts, &all_clients);
            if ev.score > 0.0 {
                cands.push(Cand { t: ti, e: ei, dt, ev });
            }
        }
    }
    cands.sort_by(|a, b| b.ev.score.total_cmp(&a.ev.score).then(a.dt.abs().total_cmp(&b.dt.abs())).then(a.t.cmp(&b.t)).then(a.e.cmp(&b.e)));
    let mut target_match: Vec<Option<usize>> = vec![None; targets.len()];
    let mut event_used: Vec<usize> = vec![0; collector.errors.len()];
    let mut rows: Vec<MatchRow> = Vec::new();
    for c in &cands {
        if target_match[c.t].is_some() {
            continue;
        }
        let e = &collector.errors[c.e];
        // An event may explain several closes when it names several
        // connections, or when it is a crash and the closes are drops.
        let shareable = e.ip_ports.len() > 1 || (e.crash && targets[c.t].kind == TargetKind::ServerDrop);
        if event_used[c.e] > 0 && !shareable {
            continue;
        }
        // Competing events for the same close.
        let rival = cands.iter().filter(|o| o.t == c.t && o.e != c.e && event_used[o.e] == 0).map(|o| o.ev.score).fold(f64::MIN, f64::max);
        let margin = c.ev.score - rival;
        if !c.ev.identified && margin.abs() < 0.05 && rival > f64::MIN {
            // Too close to call: left unmatched below.
            continue;
        }
        let confidence = if c.ev.identified && c.dt.abs() <= 2.0 {
            Confidence::High
        } else if c.ev.identified || (margin > 0.3 && c.dt.abs() <= 1.0) || rival == f64::MIN {
            Confidence::Medium
        } else {
            Confidence::Low
        };
        let mut words = c.ev.words.clone();
        if rival == f64::MIN {
            words.push("the only error event in the window".to_string());
        } else {
            words.push(format!("ahead of the next candidate by {margin:.2}"));
        }
        if event_used[c.e] > 0 {
            words.push("the same event explains other closes too".to_string());
        }
        target_match[c.t] = Some(rows.len());
        event_used[c.e] += 1;
        rows.push(MatchRow {
            target: Some(c.t),
            event: Some(c.e),
            delta_s: Some(c.dt),
            confidence: Some(confidence),
            evidence: words.join("; "),
        });
    }
    // A matched line without a stack that quotes an exception logged just
    // before: show that exception's trace, the one an engineer needs.
    for row in rows.iter_mut() {
        let Some(e) = row.event else { continue };
        let Some(q) = collector.errors.get(e).filter(|x| x.exception.is_empty()).and_then(|x| x.quotes) else { continue };
        if event_used.get(q).copied().unwrap_or(1) == 0 {
            event_used[q] += 1;
            let (line, qline) = (collector.errors[e].line, collector.errors[q].line);
            row.event = Some(q);
            row.evidence.push_str(&format!("; the matched line {line} quotes the exception logged at line {qline}, whose trace is shown"));
        }
    }
    // Closes left without a trace, each with the reason.
    for (ti, t) in targets.iter().enumerate() {
        if target_match[ti].is_some() {
            continue;
        }
        let in_window = cands.iter().filter(|c| c.t == ti).count();
        // The close on the log's clock, against each file's time range.
        let at = t.close_ts.as_secs_f64() + offset.seconds;
        let covered =
            collector.coverage.values().any(|(a, b)| a.as_secs_f64() - opts.window_s <= at && at <= b.as_secs_f64() + opts.window_s);
        let why = if let Some(r) = reason_explains(&t.reason) {
            r.to_string()
        } else if collector.coverage.is_empty() {
            "no log was given".to_string()
        } else if !covered {
            "the log does not cover that time".to_string()
        } else if in_window > 1 {
            format!("{in_window} candidate events too close to call")
        } else {
            format!("no error event from {:.1} s before to {:.1} s after the close", opts.window_s, opts.slack_s)
        };
        rows.push(MatchRow { target: Some(ti), event: None, delta_s: None, confidence: None, evidence: why });
    }
    // Error events no close claims, within the capture's time span.
    let span = targets.iter().fold(None::<(Timestamp, Timestamp)>, |acc, t| match acc {
        None => Some((t.conn_start, t.conn_end)),
        Some((a, b)) => Some((a.min(t.conn_start), b.max(t.conn_end))),
    });
    let span = span.or_else(|| {
        conns.iter().fold(None, |acc: Option<(Timestamp, Timestamp)>, c| match acc {
            None => Some((c.start, c.end)),
            Some((a, b)) => Some((a.min(c.start), b.max(c.end))),
        })
    });
    if let Some((a, b)) = span {
        for (ei, e) in collector.errors.iter().enumerate() {
            // The event on the capture's clock.
            let at = e.ts.as_secs_f64() - offset.seconds;
            if event_used[ei] == 0 && at >= a.as_secs_f64() - opts.window_s && at <= b.as_secs_f64() + opts.window_s {
                rows.push(MatchRow {
                    target: None,
                    event: Some(ei),
                    delta_s: None,
                    confidence: None,
                    evidence: "no close in the capture is explained by this event".to_string(),
                });
            }
        }
    }
    Correlation { offset, rows }
}

/// Everything matching produced, with what it was made from, for the
/// reports.
#[derive(Debug)]
pub struct LogInvestigation {
    pub targets: Vec<CloseTarget>,
    pub collector: EventCollector,
    pub correlation: Correlation,
    pub summary: crate::logs::LogSummary,
}

/// Reads the logs (streaming: only error events and anchors are kept) and
/// matches them with the closes.
pub fn investigate(
    log_paths: &[std::path::PathBuf],
    log_opts: &crate::logs::LogOptions,
    targets: Vec<CloseTarget>,
    conns: &[ConnTimes],
    opts: &MatchOptions,
) -> crate::error::Result<LogInvestigation> {
    let mut collector = EventCollector::new(conns);
    let summary = crate::logs::read_logs(log_paths, log_opts, |e| collector.event(&e))?;
    let correlation = correlate(&targets, &collector, conns, opts);
    Ok(LogInvestigation { targets, collector, correlation, summary })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closes_wait_for_their_own_connection() {
        use crate::report::incident::test_records::{S2C, close, connection};
        let mut c = TargetCollector::default();
        // Conn 1's 1011 comes first, then conn 0 ends, then conn 1 ends.
        c.close(&close(1, S2C, 1011, "", 10, 10, true, None));
        c.close(&close(0, S2C, 1011, "", 11, 11, true, None));
        c.connection(&connection(0, 0, 20, [None, Some(1011)], Some(S2C)));
        assert_eq!(c.targets.iter().map(|t| t.conn_id).collect::<Vec<_>>(), [0]);
        c.connection(&connection(1, 0, 30, [None, Some(1011)], Some(S2C)));
        assert_eq!(c.targets.iter().map(|t| (t.conn_id, t.close_packet)).collect::<Vec<_>>(), [(0, 11), (1, 10)]);
        assert_eq!(c.conns.len(), 2);
        assert!(c.pending.is_empty());
    }
    use crate::logs::{LogOptions, read_log_bytes};

    fn target(conn_id: ConnId, client: &str, close_s: i64, kind: TargetKind) -> CloseTarget {
        CloseTarget {
            conn_id,
            kind,
            client: client.parse().unwrap(),
            server: "10.0.0.1:443".parse().unwrap(),
            close_ts: Timestamp::from_secs_frac(close_s, 0),
            close_packet: 10,
            code: 1011,
            reason: String::new(),
            conn_start: Timestamp::from_secs_frac(close_s - 30, 0),
            conn_end: Timestamp::from_secs_frac(close_s, 0),
            tokens: vec![("X-Request-Id".into(), "req-7f3a9c".into())],
        }
    }

    fn collect(log: &str, conns: &[ConnTimes]) -> EventCollector {
        let (events, _) = read_log_bytes("server.log", log.as_bytes(), &LogOptions::default());
        let mut c = EventCollector::new(conns);
        for e in &events {
            c.event(e);
        }
        c
    }

    fn times(t: &CloseTarget) -> ConnTimes {
        ConnTimes { client: t.client, start: t.conn_start, end: t.conn_end }
    }

    // 1700000000 = 2023-11-14T22:13:20Z
    const LOG: &str = "\
2023-11-14T22:12:50.000Z INFO app: client 10.1.1.1:5000 connected
2023-11-14T22:12:50.000Z INFO app: client 10.1.1.2:6000 connected
2023-11-14T22:13:19.700Z INFO app: handling message from 10.1.1.2:6000
2023-11-14T22:13:19.750Z ERROR app: handler failed
Traceback (most recent call last):
  File \"/srv/app/handlers.py\", line 42, in on_message
    total = compute(payload)
ZeroDivisionError: division by zero
2023-11-14T22:13:19.800Z INFO app: handling message from 10.1.1.1:5000
2023-11-14T22:13:19.900Z ERROR app: request req-7f3a9c failed
Traceback (most recent call last):
  File \"/srv/app/handlers.py\", line 77, in on_message
    raise KeyError('user')
KeyError: 'user'
";

    #[test]
    fn two_internal_errors_in_the_same_second_go_to_their_own_connections() {
        let mut a = target(1, "10.1.1.1:5000", 1_700_000_000, TargetKind::InternalError);
        let mut b = target(2, "10.1.1.2:6000", 1_700_000_000, TargetKind::InternalError);
        b.tokens.clear();
        a.close_ts = Timestamp::from_secs_frac(1_699_999_999, 910_000_000);
        b.close_ts = Timestamp::from_secs_frac(1_699_999_999, 760_000_000);
        let targets = vec![a, b];
        let conns: Vec<ConnTimes> = targets.iter().map(times).collect();
        let c = collect(LOG, &conns);
        let r = correlate(&targets, &c, &conns, &MatchOptions::default());
        assert_eq!(r.offset.method, "anchors");
        assert!(r.offset.seconds.abs() < 0.01, "{:?}", r.offset);
        for (t, exc) in [(0usize, "KeyError"), (1, "ZeroDivisionError")] {
            let row = r.rows.iter().find(|x| x.target == Some(t)).unwrap();
            let e = &c.errors[row.event.unwrap()];
            assert!(e.exception.starts_with(exc), "target {t}: {}", e.exception);
            assert_eq!(row.confidence, Some(Confidence::High), "{}", row.evidence);
        }
    }

    #[test]
    fn clock_skew_is_estimated_and_corrected() {
        // The server's clock runs 2 minutes ahead of the capture host.
        let shifted = LOG.replace("22:12:50", "22:14:50").replace("22:13:19", "22:15:19");
        let mut t = target(1, "10.1.1.1:5000", 1_700_000_000, TargetKind::InternalError);
        t.close_ts = Timestamp::from_secs_frac(1_699_999_999, 910_000_000);
        let conns = vec![times(&t)];
        let c = collect(&shifted, &conns);
        let r = correlate(std::slice::from_ref(&t), &c, &conns, &MatchOptions::default());
        assert!((r.offset.seconds - 120.0).abs() < 0.2, "{:?}", r.offset);
        let row = r.rows.iter().find(|x| x.target == Some(0)).unwrap();
        assert!(c.errors[row.event.unwrap()].exception.starts_with("KeyError"), "{}", row.evidence);
    }

    #[test]
    fn no_trace_has_a_reason() {
        let mut t = target(1, "10.9.9.9:1", 1_699_000_000, TargetKind::InternalError);
        let conns = vec![times(&t)];
        let c = collect(LOG, &conns);
        let r = correlate(std::slice::from_ref(&t), &c, &conns, &MatchOptions { offset_s: Some(0.0), ..MatchOptions::default() });
        assert_eq!(r.rows[0].event, None);
        assert_eq!(r.rows[0].evidence, "the log does not cover that time");
        t.reason = "keepalive ping timeout".into();
        let r = correlate(std::slice::from_ref(&t), &c, &conns, &MatchOptions { offset_s: Some(0.0), ..MatchOptions::default() });
        assert!(r.rows[0].evidence.contains("keepalive"));
    }

    #[test]
    fn one_crash_explains_a_burst_of_dropped_connections() {
        // A Go server panics once; three connections drop right after.
        let log = "\
2023-11-14T22:13:19.000Z INFO app: serving
panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a2f1c]

goroutine 42 [running]:
main.(*Hub).broadcast(0x0)
	/srv/app/hub.go:88 +0x1c
main.main()
	/srv/app/main.go:30 +0x2a
";
        let targets: Vec<CloseTarget> = (0..3u16)
            .map(|i| {
                let mut t = target(u64::from(i), &format!("10.2.0.{i}:4000"), 1_700_000_000, TargetKind::ServerDrop);
                t.close_ts = Timestamp::from_secs_frac(1_699_999_999, 100_000_000 + u32::from(i) * 1_000_000);
                t.tokens.clear();
                t
            })
            .collect();
        let conns: Vec<ConnTimes> = targets.iter().map(times).collect();
        let c = collect(log, &conns);
        assert_eq!(c.errors.len(), 1, "the panic is one event");
        assert!(c.errors[0].crash, "{:?}", c.errors[0].level);
        let r = correlate(&targets, &c, &conns, &MatchOptions { offset_s: Some(0.0), ..MatchOptions::default() });
        let matched: Vec<_> = r.rows.iter().filter(|x| x.target.is_some() && x.event == Some(0)).collect();
        assert_eq!(matched.len(), 3, "{:?}", r.rows);
    }

    #[test]
    fn an_event_naming_another_connection_is_not_taken() {
        let t = target(1, "10.1.1.3:7000", 1_699_999_999, TargetKind::InternalError);
        let other = ConnTimes { client: "10.1.1.2:6000".parse().unwrap(), start: t.conn_start, end: t.conn_end };
        let log = "2023-11-14T22:13:18.900Z ERROR app: handler failed for 10.1.1.2:6000: boom\n";
        let conns = vec![times(&t), other];
        let c = collect(log, &conns);
        let mut t2 = t.clone();
        t2.tokens.clear();
        let r = correlate(std::slice::from_ref(&t2), &c, &conns, &MatchOptions { offset_s: Some(0.0), ..MatchOptions::default() });
        assert_eq!(r.rows.iter().find(|x| x.target == Some(0)).unwrap().event, None);
    }
}
