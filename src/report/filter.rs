//! Which records reach the outputs: `--conn`, `--code`, `--since`/`--until`,
//! `--client`, `--server`, `--only-problems`.
//!
//! Two kinds of test. The time window is judged record by record (a frame
//! is kept when its time is in the window, a connection when its life
//! overlaps it). The others select whole connections, and all of a
//! selected connection's records are kept: the frames before a 1002 are the
//! evidence for it. Whether a connection is selected by its closes, its
//! endpoints or its problems is only known when it ends, but its frames are
//! reported as they are decoded; rather than hold every frame of every
//! open connection in memory, the caller runs the analysis twice: a first
//! pass with a [`ConnectionSelector`] collects the selected connection ids,
//! a second pass writes through a [`FilteredSink`]. `--conn` alone needs no
//! first pass.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::model::{ConnId, Endpoint, Timestamp};
use crate::session::record::{
    CloseRecord, ConnectionRecord, Finding, FrameRecord, HandshakeState, MessageRecord, RecordSink, ViolationRecord,
};

/// Whether a close with this reported code (RFC 6455 §7.4.1) deserves a
/// look: everything but a normal closure (1000), going away (1001) and a
/// Close without status (1005, what `close()` without a code sends).
pub fn is_problem_code(code: u16) -> bool {
    !matches!(code, 1000 | 1001 | 1005)
}

/// An address to match an endpoint against: an IP, with or without a port
/// (`10.0.0.7`, `10.0.0.7:443`, `::1`, `[::1]:8080`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EndpointPattern {
    pub ip: IpAddr,
    pub port: Option<u16>,
}

impl EndpointPattern {
    pub fn matches(&self, e: &Endpoint) -> bool {
        e.ip() == self.ip && self.port.is_none_or(|p| p == e.port())
    }
}

impl FromStr for EndpointPattern {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(EndpointPattern { ip, port: None });
        }
        if let Ok(sa) = s.parse::<std::net::SocketAddr>() {
            return Ok(EndpointPattern { ip: sa.ip(), port: Some(sa.port()) });
        }
        Err(format!("{s:?} is not an address: use IP or IP:PORT (IPv6 with a port as [::1]:8080)"))
    }
}

impl fmt::Display for EndpointPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.port, self.ip) {
            (None, ip) => write!(f, "{ip}"),
            (Some(p), IpAddr::V4(ip)) => write!(f, "{ip}:{p}"),
            (Some(p), IpAddr::V6(ip)) => write!(f, "[{ip}]:{p}"),
        }
    }
}

/// A `--since`/`--until` bound: a point in time, or an offset from the start
/// of the capture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeBound {
    At(Timestamp),
    /// Nanoseconds after the capture's first packet.
    AfterStart(i64),
}

impl TimeBound {
    pub fn resolve(self, capture_start: Timestamp) -> Timestamp {
        match self {
            TimeBound::At(t) => t,
            TimeBound::AfterStart(ns) => Timestamp(capture_start.0.saturating_add(ns)),
        }
    }

    pub fn is_relative(self) -> bool {
        matches!(self, TimeBound::AfterStart(_))
    }
}

impl FromStr for TimeBound {
    type Err = String;

    /// RFC 3339 (`2026-11-24T03:12:00Z`, `2026-11-24 03:12:00.5+01:00`) or a
    /// duration after the capture start (`90s`, `+1m30s`, `2h`, `PT90S`,
    /// `1.5s`).
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if let Ok(ts) = t.parse::<jiff::Timestamp>() {
            return Ok(TimeBound::At(Timestamp(i64::try_from(ts.as_nanosecond()).unwrap_or(i64::MAX))));
        }
        let d = t.strip_prefix('+').unwrap_or(t);
        // A bare number is seconds.
        if let Ok(secs) = d.parse::<f64>()
            && secs.is_finite()
            && secs >= 0.0
        {
            return Ok(TimeBound::AfterStart((secs * 1e9) as i64));
        }
        match d.parse::<jiff::SignedDuration>() {
            Ok(dur) if !dur.is_negative() => Ok(TimeBound::AfterStart(i64::try_from(dur.as_nanos()).unwrap_or(i64::MAX))),
            _ => Err(format!(
                "{s:?} is neither an RFC 3339 time (2026-11-24T03:12:00Z) nor a duration after the capture start (90s, 1m30s, PT90S)"
            )),
        }
    }
}

/// What to keep. The default keeps everything.
#[derive(Clone, Debug, Default)]
pub struct RecordFilter {
    /// Connection ids (`tcp.stream`); empty: any.
    pub conns: Vec<ConnId>,
    /// Keep connections with a close whose reported code is one of these
    /// (1005 and 1006 match inferred closes); empty: any.
    pub codes: Vec<u16>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// Keep connections whose client (server) matches one of these; empty: any.
    pub clients: Vec<EndpointPattern>,
    pub servers: Vec<EndpointPattern>,
    /// Keep connections with a protocol violation, a failed upgrade, or a
    /// close other than 1000/1001/1005 (an inferred 1006 included).
    pub only_problems: bool,
}

impl RecordFilter {
    /// Whether the filter keeps everything.
    pub fn is_empty(&self) -> bool {
        self.conns.is_empty() && self.since.is_none() && self.until.is_none() && !self.needs_selection_pass()
    }

    /// Whether selecting connections needs what is only known when they end
    /// (a first pass with [`ConnectionSelector`]).
    pub fn needs_selection_pass(&self) -> bool {
        !self.codes.is_empty() || !self.clients.is_empty() || !self.servers.is_empty() || self.only_problems
    }

    fn in_window(&self, from: Timestamp, to: Timestamp) -> bool {
        self.since.is_none_or(|s| to >= s) && self.until.is_none_or(|u| from <= u)
    }

    fn conn_listed(&self, id: ConnId) -> bool {
        self.conns.is_empty() || self.conns.contains(&id)
    }
}

/// What the first pass learns about an open connection.
#[derive(Default)]
struct ConnFacts {
    codes: Vec<u16>,
    problem: bool,
}

/// First pass: decides which connections the filter selects, from their
/// closes, violations and connection records. Keeps a few bytes per open
/// connection and the ids of the selected ones.
pub struct ConnectionSelector<'a> {
    filter: &'a RecordFilter,
    open: HashMap<ConnId, ConnFacts>,
    selected: HashSet<ConnId>,
}

impl<'a> ConnectionSelector<'a> {
    pub fn new(filter: &'a RecordFilter) -> Self {
        ConnectionSelector { filter, open: HashMap::new(), selected: HashSet::new() }
    }

    /// The ids of the selected connections.
    pub fn finish(self) -> HashSet<ConnId> {
        self.selected
    }
}

impl RecordSink for ConnectionSelector<'_> {
    fn connection(&mut self, rec: ConnectionRecord) {
        let facts = self.open.remove(&rec.conn_id).unwrap_or_default();
        let f = self.filter;
        let keep = f.conn_listed(rec.conn_id)
            && (f.codes.is_empty() || facts.codes.iter().any(|c| f.codes.contains(c)))
            && (f.clients.is_empty() || f.clients.iter().any(|p| p.matches(&rec.client)))
            && (f.servers.is_empty() || f.servers.iter().any(|p| p.matches(&rec.server)))
            && (!f.only_problems || facts.problem || rec.handshake == HandshakeState::Failed);
        if keep {
            self.selected.insert(rec.conn_id);
        }
    }
    fn frame(&mut self, _: FrameRecord) {}
    fn message(&mut self, _: MessageRecord) {}
    fn close(&mut self, rec: CloseRecord) {
        let facts = self.open.entry(rec.conn_id).or_default();
        facts.problem |= is_problem_code(rec.reported_code);
        if !facts.codes.contains(&rec.reported_code) {
            facts.codes.push(rec.reported_code);
        }
    }
    fn violation(&mut self, rec: ViolationRecord) {
        self.open.entry(rec.conn_id).or_default().problem = true;
    }
    fn finding(&mut self, _: Finding) {}
}

/// Second pass: passes on the records the filter keeps.
pub struct FilteredSink<'a, S: RecordSink + ?Sized> {
    filter: &'a RecordFilter,
    /// The connections selected by the first pass, when one ran.
    selected: Option<HashSet<ConnId>>,
    inner: &'a mut S,
}

impl<'a, S: RecordSink + ?Sized> FilteredSink<'a, S> {
    /// `selected`: the result of [`ConnectionSelector::finish`] when
    /// [`RecordFilter::needs_selection_pass`], else `None`.
    pub fn new(filter: &'a RecordFilter, selected: Option<HashSet<ConnId>>, inner: &'a mut S) -> Self {
        FilteredSink { filter, selected, inner }
    }

    fn conn(&self, id: ConnId) -> bool {
        self.filter.conn_listed(id) && self.selected.as_ref().is_none_or(|s| s.contains(&id))
    }
}

impl<S: RecordSink + ?Sized> RecordSink for FilteredSink<'_, S> {
    fn connection(&mut self, rec: ConnectionRecord) {
        if self.conn(rec.conn_id) && self.filter.in_window(rec.start_ts, rec.end_ts) {
            self.inner.connection(rec);
        }
    }
    fn frame(&mut self, rec: FrameRecord) {
        if self.conn(rec.conn_id) && self.filter.in_window(rec.ts, rec.ts) {
            self.inner.frame(rec);
        }
    }
    fn message(&mut self, rec: MessageRecord) {
        if self.conn(rec.conn_id) && self.filter.in_window(rec.first_ts, rec.ts) {
            self.inner.message(rec);
        }
    }
    fn close(&mut self, rec: CloseRecord) {
        if self.conn(rec.conn_id) && self.filter.in_window(rec.ts, rec.ts) {
            self.inner.close(rec);
        }
    }
    fn violation(&mut self, rec: ViolationRecord) {
        if self.conn(rec.conn_id) && self.filter.in_window(rec.ts, rec.ts) {
            self.inner.violation(rec);
        }
    }
    fn finding(&mut self, rec: Finding) {
        // Findings about the capture as a whole belong to no connection; a
        // connection filter leaves them out.
        let conn_ok = match rec.conn_id {
            Some(id) => self.conn(id),
            None => self.filter.conns.is_empty() && self.selected.is_none(),
        };
        let time_ok = rec.ts.is_none_or(|t| self.filter.in_window(t, t));
        if conn_ok && time_ok {
            self.inner.finding(rec);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_patterns() {
        let p: EndpointPattern = "10.0.0.7".parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(p.matches(&"10.0.0.7:5000".parse().unwrap_or_else(|e| panic!("{e}"))));
        let p: EndpointPattern = "[::1]:8080".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.port, Some(8080));
        assert!(!p.matches(&"[::1]:8081".parse().unwrap_or_else(|e| panic!("{e}"))));
        assert_eq!(p.to_string(), "[::1]:8080");
        assert!("example.com".parse::<EndpointPattern>().is_err());
    }

    #[test]
    fn time_bounds() {
        let at = "2026-11-24T03:12:00Z".parse::<TimeBound>().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(at, TimeBound::At(Timestamp(1_795_489_920_000_000_000)));
        let start = Timestamp(1_000_000_000);
        for (s, ns) in [("90s", 90_000_000_000i64), ("+1m30s", 90_000_000_000), ("PT90S", 90_000_000_000), ("1.5", 1_500_000_000)] {
            let b = s.parse::<TimeBound>().unwrap_or_else(|e| panic!("{s}: {e}"));
            assert!(b.is_relative());
            assert_eq!(b.resolve(start), Timestamp(1_000_000_000 + ns), "{s}");
        }
        assert!("-5s".parse::<TimeBound>().is_err());
        assert!("yesterday".parse::<TimeBound>().is_err());
    }

    #[test]
    fn problem_codes() {
        assert!(!is_problem_code(1000) && !is_problem_code(1001) && !is_problem_code(1005));
        assert!(is_problem_code(1002) && is_problem_code(1006) && is_problem_code(1011) && is_problem_code(4000));
    }
}
