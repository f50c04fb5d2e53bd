//! `--redact`: what the traffic said stays out of the reports, what it did
//! stays in.
//!
//! Reports get shared (postmortems, tickets, vendors); the capture behind
//! them may carry session tokens in a URL, cookies in a header, personal
//! data in a payload. Redaction keeps every fact of the analysis (codes,
//! rules, sizes, timings, packets, which header was wrong) and replaces the
//! text taken from the traffic:
//!
//! - HTTP header values (Host, Origin, User-Agent, the key and accept, every
//!   request header) and the query string of the request path; the path
//!   itself is kept, it names the endpoint. The negotiated subprotocol and
//!   extensions are protocol facts and stay.
//! - Close reasons and payload previews.
//! - Values quoted in violation details, findings and log-match evidence
//!   (`Connection: "keep-alive, Upgrade"`, `shares the header "4f2a..."`):
//!   every such value was written with Rust's `{:?}`, so every
//!   double-quoted string in those texts is a value from the traffic.
//!
//! Redaction runs after the log matching has used the values, just before
//! the records reach the outputs.

use crate::correlate::LogInvestigation;
use crate::session::record::{CloseRecord, ConnectionRecord, Finding, FrameRecord, MessageRecord, RecordSink, ViolationRecord};

/// What replaces a removed value.
pub const REDACTED: &str = "[redacted]";

fn redact(s: &mut String) {
    if !s.is_empty() {
        *s = REDACTED.to_string();
    }
}

/// Replaces every double-quoted string (as `{:?}` writes it, with `\"`
/// escapes) by `"[redacted]"`. An unterminated quote redacts to the end.
pub fn redact_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find('"') {
        let (before, after) = rest.split_at(start);
        out.push_str(before);
        out.push('"');
        out.push_str(REDACTED);
        out.push('"');
        // Skip to the closing quote, honoring backslash escapes.
        let body = after.get(1..).unwrap_or("");
        let mut escaped = false;
        let mut end = None;
        for (i, c) in body.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        rest = match end {
            Some(i) => body.get(i + 1..).unwrap_or(""),
            None => "",
        };
    }
    out.push_str(rest);
    out
}

/// Keeps the path of a request target, drops its query and fragment.
fn redact_query(path: &mut String) {
    if let Some(i) = path.find(['?', '#']) {
        path.truncate(i);
        path.push('?');
        path.push_str(REDACTED);
    }
}

pub fn connection(c: &mut ConnectionRecord) {
    let h = &mut c.http;
    redact_query(&mut h.path);
    for v in [&mut h.host, &mut h.origin, &mut h.user_agent, &mut h.key, &mut h.accept] {
        redact(v);
    }
    let headers: Vec<(String, String)> = h
        .request_headers
        .iter()
        .map(|(name, value)| {
            let mut v = crate::http::value_text(value);
            redact(&mut v);
            (name.to_string(), v)
        })
        .collect();
    h.request_headers = crate::http::Headers::from_pairs(headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())));
    for seen in c.closes.iter_mut().flatten() {
        redact(&mut seen.reason);
    }
}

pub fn frame(f: &mut FrameRecord) {
    f.payload.clear();
    f.inflated.clear();
    if let Some(r) = f.close_reason.as_mut() {
        redact(r);
    }
}

pub fn close(c: &mut CloseRecord) {
    redact(&mut c.reason);
    c.diagnosis = redact_quoted(&c.diagnosis);
}

pub fn violation(v: &mut ViolationRecord) {
    v.detail = redact_quoted(&v.detail);
}

pub fn finding(f: &mut Finding) {
    f.detail = redact_quoted(&f.detail);
}

/// The log matching's view of the traffic: close reasons, header values it
/// matched on, and the evidence quoting them.
pub fn investigation(inv: &mut LogInvestigation) {
    for t in &mut inv.targets {
        redact(&mut t.reason);
        for (_, v) in &mut t.tokens {
            redact(v);
        }
    }
    for row in &mut inv.correlation.rows {
        row.evidence = redact_quoted(&row.evidence);
    }
}

/// A sink that redacts every record before passing it on.
pub struct RedactingSink<'a, S: RecordSink + ?Sized> {
    inner: &'a mut S,
}

impl<'a, S: RecordSink + ?Sized> RedactingSink<'a, S> {
    pub fn new(inner: &'a mut S) -> Self {
        RedactingSink { inner }
    }
}

impl<S: RecordSink + ?Sized> RecordSink for RedactingSink<'_, S> {
    fn connection(&mut self, mut rec: ConnectionRecord) {
        connection(&mut rec);
        self.inner.connection(rec);
    }
    fn frame(&mut self, mut rec: FrameRecord) {
        frame(&mut rec);
        self.inner.frame(rec);
    }
    fn message(&mut self, rec: MessageRecord) {
        self.inner.message(rec);
    }
    fn close(&mut self, mut rec: CloseRecord) {
        close(&mut rec);
        self.inner.close(rec);
    }
    fn violation(&mut self, mut rec: ViolationRecord) {
        violation(&mut rec);
        self.inner.violation(rec);
    }
    fn finding(&mut self, mut rec: Finding) {
        finding(&mut rec);
        self.inner.finding(rec);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_are_redacted() {
        assert_eq!(redact_quoted(r#"Connection: "keep-alive""#), r#"Connection: "[redacted]""#);
        assert_eq!(
            redact_quoted(r#"Sec-WebSocket-Accept "a\"b", expected "c" for the key "d""#),
            r#"Sec-WebSocket-Accept "[redacted]", expected "[redacted]" for the key "[redacted]""#
        );
        assert_eq!(redact_quoted("no quotes"), "no quotes");
        assert_eq!(redact_quoted(r#"open "quote"#), r#"open "[redacted]""#);
        assert_eq!(redact_quoted("ünï \"cödé\" ok"), "ünï \"[redacted]\" ok");
    }

    #[test]
    fn query_is_dropped_path_kept() {
        let mut p = "/ws/chat?token=s3cret&room=1".to_string();
        redact_query(&mut p);
        assert_eq!(p, "/ws/chat?[redacted]");
        let mut p = "/ws".to_string();
        redact_query(&mut p);
        assert_eq!(p, "/ws");
    }
}
