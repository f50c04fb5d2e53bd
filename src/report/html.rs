//! The interactive incident report (`--html FILE`): one self-contained HTML
//! file, styles and script inline, no network fetch of any kind (a
//! Content-Security-Policy in the page forbids them), readable from
//! `file://`.
//!
//! Owns: the page shell and the JSON data the page's script renders from.
//! May import: report::incident (what to show), correlate, ws.
//!
//! Security: every text in the report comes from hostile traffic or logs.
//! The data is embedded once, as JSON inside
//! `<script type="application/json" id="data">`, with `<`, `>`, `&`, U+2028
//! and U+2029 written as `\u003c`... so nothing in it can end the script
//! element or start markup; the script reads it with `JSON.parse` and puts
//! text into the page only with `textContent` / `createTextNode`. Text is
//! also cleaned of control and invisible formatting characters
//! ([`clean_text`]) before it is embedded.

use std::io::{self, Write};

use serde_json::{Map, Value, json};

use crate::correlate::LogInvestigation;
use crate::model::Timestamp;
use crate::report::incident::{CloseView, ConnRow, FrameBrief, IncidentCollector, IncidentReport, TraceView, ViolationEntry, clean_text};
use crate::report::summary::{CaptureTotals, Summary};
use crate::ws::close::code_name;
use crate::ws::kb::{self, Lang};

const STYLE: &str = include_str!("html_assets/report.css");
const SCRIPT: &str = include_str!("html_assets/report.js");

/// Writes the HTML report of the analysis.
pub fn write_html(
    c: &IncidentCollector,
    summary: &Summary,
    totals: &CaptureTotals,
    inv: Option<&LogInvestigation>,
    w: &mut dyn Write,
) -> io::Result<()> {
    render_html(&IncidentReport::build(c, summary, totals, inv), w)
}

/// Renders an already built report.
pub fn render_html(r: &IncidentReport<'_>, w: &mut dyn Write) -> io::Result<()> {
    let title = match r.span {
        Some((a, _)) => format!("WebSocket incident report, {}", a.rfc3339_micros().get(..19).unwrap_or_default()),
        None => "WebSocket incident report".to_string(),
    };
    // Everything interpolated here is ours (the title is digits and
    // punctuation); the data goes only through the escaping writer.
    write!(
        w,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"wsforensics {version}\">\n\
         <title>{title}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n\
         <noscript><p class=\"noscript\">This report needs JavaScript to draw the timeline and tables; the data is in the page source (script#data).</p></noscript>\n\
         <svg id=\"svg-ns\" width=\"0\" height=\"0\" aria-hidden=\"true\" style=\"position:absolute\"></svg>\n\
         <div id=\"app\"></div>\n\
         <script type=\"application/json\" id=\"data\">",
        version = env!("CARGO_PKG_VERSION"),
    )?;
    let mut safe = ScriptSafe::new(&mut *w);
    write_data(r, &mut safe)?;
    safe.finish()?;
    write!(w, "</script>\n<script>\n{SCRIPT}</script>\n</body>\n</html>\n")
}

/// A writer that makes JSON safe inside a `<script>` element: `<`, `>`,
/// `&`, U+2028 and U+2029 (which JSON only holds inside strings) are
/// written as `\u` escapes, so the text can neither end the element nor
/// open a comment or markup.
pub struct ScriptSafe<W: Write> {
    inner: W,
    /// Bytes of a possible U+2028/U+2029 held back: 0, 1 (E2) or 2 (E2 80).
    held: u8,
    buf: Vec<u8>,
}

impl<W: Write> ScriptSafe<W> {
    pub fn new(inner: W) -> ScriptSafe<W> {
        ScriptSafe { inner, held: 0, buf: Vec::with_capacity(8192) }
    }

    fn push(&mut self, b: u8) {
        loop {
            match (self.held, b) {
                (0, b'<') => self.buf.extend_from_slice(b"\\u003c"),
                (0, b'>') => self.buf.extend_from_slice(b"\\u003e"),
                (0, b'&') => self.buf.extend_from_slice(b"\\u0026"),
                (0, 0xe2) => self.held = 1,
                (0, _) => self.buf.push(b),
                (1, 0x80) => self.held = 2,
                (2, 0xa8) => {
                    self.buf.extend_from_slice(b"\\u2028");
                    self.held = 0;
                }
                (2, 0xa9) => {
                    self.buf.extend_from_slice(b"\\u2029");
                    self.held = 0;
                }
                (n, _) => {
                    // Not a separator: release the held bytes, then look at
                    // this one afresh.
                    self.buf.push(0xe2);
                    if n == 2 {
                        self.buf.push(0x80);
                    }
                    self.held = 0;
                    continue;
                }
            }
            return;
        }
    }

    /// Writes out any held bytes and flushes.
    pub fn finish(mut self) -> io::Result<W> {
        if self.held > 0 {
            self.buf.push(0xe2);
            if self.held == 2 {
                self.buf.push(0x80);
            }
            self.held = 0;
        }
        self.inner.write_all(&self.buf)?;
        self.buf.clear();
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for ScriptSafe<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        for &b in data {
            self.push(b);
        }
        if self.buf.len() >= 64 * 1024 {
            self.inner.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.write_all(&self.buf)?;
        self.buf.clear();
        self.inner.flush()
    }
}

/// JSON text safe inside a `<script>` element (see [`ScriptSafe`]).
pub fn script_json(v: &Value) -> String {
    let mut safe = ScriptSafe::new(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut safe, v);
    let out = safe.finish().unwrap_or_default();
    String::from_utf8(out).unwrap_or_default()
}

/// Writes the top-level JSON object key by key, arrays item by item, so the
/// whole document is never held in memory as one value.
struct ObjectWriter<'w, W: Write> {
    w: &'w mut W,
    first: bool,
}

impl<'w, W: Write> ObjectWriter<'w, W> {
    fn new(w: &'w mut W) -> io::Result<ObjectWriter<'w, W>> {
        w.write_all(b"{")?;
        Ok(ObjectWriter { w, first: true })
    }

    fn key(&mut self, k: &str) -> io::Result<()> {
        if !self.first {
            self.w.write_all(b",")?;
        }
        self.first = false;
        serde_json::to_writer(&mut *self.w, k)?;
        self.w.write_all(b":")
    }

    fn field(&mut self, k: &str, v: &Value) -> io::Result<()> {
        self.key(k)?;
        serde_json::to_writer(&mut *self.w, v)?;
        Ok(())
    }

    fn array(&mut self, k: &str, items: impl Iterator<Item = Value>) -> io::Result<()> {
        self.key(k)?;
        self.w.write_all(b"[")?;
        for (i, v) in items.enumerate() {
            if i > 0 {
                self.w.write_all(b",")?;
            }
            serde_json::to_writer(&mut *self.w, &v)?;
        }
        self.w.write_all(b"]")
    }

    fn end(self) -> io::Result<()> {
        self.w.write_all(b"}")
    }
}

/// Microseconds since the Unix epoch: exact in a JavaScript number until
/// the year 2255.
fn us(ts: Timestamp) -> i64 {
    ts.as_nanos().div_euclid(1_000)
}

fn text(s: &str) -> Value {
    Value::String(clean_text(s))
}

fn opt_text(s: Option<&str>) -> Value {
    s.map_or(Value::Null, text)
}

/// A frame as a compact array (the page has many of them):
/// `[dir, index, t, first_packet, last_packet, flags, opcode, payload_len,
/// header_len, length_bits, captured_len, mask_key, close_code,
/// close_reason, preview_hex, preview_text]`; `dir` 0 = client to server;
/// flags: 1 FIN, 2 RSV1, 4 RSV2, 8 RSV3, 16 MASK, 32 compressed, 64
/// truncated.
fn frame_json(f: &FrameBrief) -> Value {
    let flags = u8::from(f.fin)
        | u8::from(f.rsv1) << 1
        | u8::from(f.rsv2) << 2
        | u8::from(f.rsv3) << 3
        | u8::from(f.mask.is_some()) << 4
        | u8::from(f.compressed) << 5
        | u8::from(f.truncated) << 6;
    json!([
        f.direction.index(),
        f.index,
        us(f.ts),
        f.first_packet,
        f.last_packet,
        flags,
        f.opcode,
        f.payload_len,
        f.header_len,
        f.length_bits,
        f.captured_len,
        f.mask.map(|k| k.iter().map(|b| format!("{b:02x}")).collect::<String>()),
        f.close_code,
        opt_text(f.close_reason.as_deref()),
        f.preview_hex(),
        f.preview_text(),
    ])
}

fn trace_json(t: &TraceView) -> Value {
    json!({
        "file": text(&t.log_file),
        "line": t.line,
        "end_line": t.end_line,
        "location": text(&t.location()),
        "log_ts": t.log_ts.rfc3339_micros(),
        "level": t.level,
        "exception": text(&t.exception),
        "message": text(&t.message),
        "top_frame": text(&t.top_frame),
        "confidence": t.confidence,
        "evidence": text(&t.evidence),
        "delta_s": t.delta_s,
    })
}

fn violation_json(v: &ViolationEntry) -> Value {
    let r = &v.record;
    json!({
        "conn": r.conn_id,
        "dir": r.direction.as_str(),
        "t": us(r.ts),
        "ts": r.ts.rfc3339_micros(),
        "packet": r.packet,
        "frame_index": r.frame_index,
        "rule": r.rule,
        "rfc": r.rfc_section,
        "expected": r.expected_close,
        "detail": text(&r.detail),
        "frame": v.frame.as_ref().map(frame_json),
    })
}

fn close_json(i: usize, v: &CloseView<'_>, logs_given: bool) -> Value {
    let e = &v.entry;
    let r = &e.record;
    let cause = e.cause.as_ref().map(|c| {
        json!({
            "rule": c.violation.rule,
            "rfc": c.violation.rfc_section,
            "dir": c.violation.direction.as_str(),
            "packet": c.violation.packet,
            "frame_index": c.violation.frame_index,
            "expected": c.violation.expected_close,
            "detail": text(&c.violation.detail),
            "frame": c.frame.as_ref().map(frame_json),
            "frames": c.frames_before.iter().map(frame_json).collect::<Vec<_>>(),
        })
    });
    json!({
        "i": i,
        "conn": r.conn_id,
        "dir": r.direction.as_str(),
        "by": r.direction.sender().as_str(),
        "t": us(r.ts),
        "ts": r.ts.rfc3339_micros(),
        "packet": r.packet,
        "frame_index": r.frame_index,
        "code": r.code,
        "reported": r.reported_code,
        "reason": text(&r.reason),
        "initiator": r.initiator,
        "inferred": r.inferred,
        "diagnosis": text(&r.diagnosis),
        "cause_rule": r.cause_rule,
        "cause_packet": r.cause_packet,
        "answered": r.answered,
        "answer_delay_s": r.answer_delay_s,
        "tcp_end_delay_s": r.tcp_end_delay_s,
        "problem": e.problem,
        "no_visible_cause": e.no_visible_cause,
        "client": e.client.to_string(),
        "server": e.server.to_string(),
        "path": text(&e.path),
        "packets": e.evidence_packets(),
        "handshake_failed": e.handshake_failed,
        "frames": e.frames_before.iter().map(frame_json).collect::<Vec<_>>(),
        "cause": cause,
        "target_kind": v.target_kind,
        "trace": v.trace.as_ref().map(trace_json),
        "no_trace": opt_text(v.no_trace_reason.as_deref()),
        "question": opt_text(v.open_question(logs_given).as_deref()),
    })
}

fn conn_json(c: &ConnRow) -> Value {
    json!({
        "id": c.conn_id,
        "client": c.client.to_string(),
        "server": c.server.to_string(),
        "start": us(c.start_ts),
        "end": us(c.end_ts),
        "first_packet": c.first_packet,
        "last_packet": c.last_packet,
        "handshake": c.handshake.as_str(),
        "status": c.http_status,
        "path": text(&c.path),
        "codes": c.close_codes,
        "initiator": c.close_initiator.map(|d| d.sender().as_str()),
        "termination": c.termination.as_str(),
        "end_code": c.end_code,
        "frames": c.frames,
        "messages": c.messages,
        "violations": c.violations,
        "gap_bytes": c.gap_bytes,
        "problem": c.problem,
    })
}

/// Writes the data the page renders: every number and text it shows.
pub fn write_data<W: Write>(r: &IncidentReport<'_>, w: &mut W) -> io::Result<()> {
    let logs_given = r.log.is_some();
    // Texts of every code that appears, from the knowledge base.
    let mut codes: Vec<u16> = r.endings.iter().map(|e| e.code).collect();
    codes.extend(r.closes.iter().map(|c| c.entry.record.reported_code));
    codes.extend(r.violations.iter().filter_map(|v| v.record.expected_close));
    codes.extend(r.close_frames.iter().filter_map(|(c, _)| *c));
    codes.sort_unstable();
    codes.dedup();
    let mut code_texts = Map::new();
    for code in codes {
        let t = kb::text(code, Lang::En);
        code_texts.insert(
            code.to_string(),
            json!({"name": code_name(code), "description": t.description, "fix": t.how_to_fix, "when": t.when_seen}),
        );
    }
    let log = r.log.as_ref().map(|l| {
        json!({
            "files": l.files.iter().map(|f| json!({"path": text(&f.0), "format": f.1, "lines": f.2, "events": f.3})).collect::<Vec<_>>(),
            "notices": l.notices.iter().map(|n| text(n)).collect::<Vec<_>>(),
            "offset_s": l.offset_s,
            "offset_method": l.offset_method,
            "offset_text": l.offset_text,
            "looked_up": l.looked_up,
            "explained": l.explained,
            "unmatched": l.unmatched.iter().map(trace_json).collect::<Vec<_>>(),
            "unmatched_total": l.unmatched_total,
        })
    });
    let mut o = ObjectWriter::new(w)?;
    o.field("generator", &json!(format!("wsforensics {}", env!("CARGO_PKG_VERSION"))))?;
    o.field("captures", &Value::Array(r.captures.iter().map(|c| text(c)).collect()))?;
    o.field("files", &json!(r.files))?;
    o.field("packets", &json!(r.packets))?;
    o.field("tcp_connections", &json!(r.tcp_connections))?;
    o.field("capture_notices", &Value::Array(r.capture_notices.iter().map(|n| text(n)).collect()))?;
    o.field(
        "span",
        &r.span.map_or(Value::Null, |(a, b)| {
            json!({"start": us(a), "end": us(b), "start_ts": a.rfc3339_micros(), "end_ts": b.rfc3339_micros(), "seconds": b.secs_since(a)})
        }),
    )?;
    o.field(
        "cards",
        &json!({
            "connections": r.connections_total,
            "handshake_ok": r.handshake_ok,
            "handshake_failed": r.handshake_failed,
            "handshake_missing": r.handshake_missing,
            "frames": r.frames_total,
            "messages": r.messages,
            "problem_closes": r.problem_closes_total,
            "violations": r.violations_total,
            "internal_errors": r.internal_errors,
            "internal_explained": r.internal_explained,
            "abnormal": r.abnormal_closures(),
            "refused_upgrades": r.refused_upgrades,
            "gap_bytes": r.gap_bytes,
        }),
    )?;
    o.array("endings", r.endings.iter().map(|e| json!({"code": e.code, "name": e.name, "client": e.by[0], "server": e.by[1]})))?;
    o.array("close_frames", r.close_frames.iter().map(|(c, by)| json!({"code": c, "client": by[0], "server": by[1]})))?;
    o.array("violations_by_rule", r.violations_by_rule.iter().map(|(rule, n)| json!({"rule": rule, "count": n})))?;
    o.array("findings_by_kind", r.findings_by_kind.iter().map(|(k, n)| json!({"kind": k, "count": n})))?;
    o.field("codes", &Value::Object(code_texts))?;
    o.array("connections", r.connections.iter().map(|c| conn_json(c)))?;
    o.field("connections_dropped", &json!(r.connections_dropped))?;
    o.array("closes", r.closes.iter().enumerate().map(|(i, c)| close_json(i, c, logs_given)))?;
    o.field("closes_dropped", &json!(r.closes_dropped))?;
    o.array("violations", r.violations.iter().map(|v| violation_json(v)))?;
    o.field("violations_dropped", &json!(r.violations_dropped))?;
    o.field("violations_total", &json!(r.violations_total))?;
    o.key("histogram")?;
    {
        let mut h = ObjectWriter::new(&mut *o.w)?;
        h.field("width_us", &json!(r.histogram.width_ns() / 1_000))?;
        h.array(
            "buckets",
            r.histogram.buckets().map(|(start, counts)| {
                let c: Map<String, Value> = counts.iter().map(|(code, n)| (code.to_string(), json!(n))).collect();
                json!({"t": us(start), "counts": c})
            }),
        )?;
        h.end()?;
    }
    o.field("log", &log.unwrap_or(Value::Null))?;
    o.end()
}

/// The data as one JSON value (for tests and tools; the writer streams it).
pub fn report_json(r: &IncidentReport<'_>) -> io::Result<Value> {
    let mut buf = Vec::new();
    write_data(r, &mut buf)?;
    serde_json::from_slice(&buf).map_err(io::Error::from)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::report::incident::test_records::*;
    use crate::session::record::RecordSink;

    const HOSTILE: &str = "</script><script>alert(1)</script><!-- \u{2028}\u{2029} & <b>";

    fn render(b: &Both) -> String {
        let mut out = Vec::new();
        write_html(&b.incident, &b.summary, &CaptureTotals::default(), None, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// The embedded JSON, as the page reads it.
    fn data_of(html: &str) -> Value {
        let open = "<script type=\"application/json\" id=\"data\">";
        let start = html.find(open).unwrap() + open.len();
        let end = start + html[start..].find("</script>").unwrap();
        serde_json::from_str(&html[start..end]).unwrap()
    }

    #[test]
    fn script_safe_escapes_across_any_split() {
        let v = json!({"reason": HOSTILE});
        let whole = script_json(&v);
        for bad in ["<", ">", "&", "\u{2028}", "\u{2029}"] {
            assert!(!whole.contains(bad), "{bad:?} in {whole}");
        }
        assert_eq!(serde_json::from_str::<Value>(&whole).unwrap(), v);
        // Byte by byte: a separator split between writes is still caught.
        let text = v.to_string();
        let mut safe = ScriptSafe::new(Vec::new());
        for b in text.as_bytes() {
            safe.write_all(std::slice::from_ref(b)).unwrap();
        }
        assert_eq!(String::from_utf8(safe.finish().unwrap()).unwrap(), whole);
        // Other three-byte characters starting E2 80 pass through intact.
        assert_eq!(script_json(&json!("– … ✓ \u{e2}")), "\"– … ✓ \u{e2}\"");
    }

    #[test]
    fn hostile_close_reason_cannot_break_out_of_the_data() {
        let mut b = Both::default();
        let mut c = close(1, S2C, 4000, HOSTILE, 10, 5, true, None);
        c.diagnosis = format!("diagnosis {HOSTILE}");
        b.frame(frame(1, S2C, 0, 10, 5, &[0x88, 0x2c], &[&[0x0f, 0xa0][..], HOSTILE.as_bytes()].concat()[..44]));
        b.close(c);
        let mut conn = connection(1, 0, 6, [None, Some(4000)], Some(S2C));
        conn.http.path = format!("/x?{HOSTILE}");
        b.connection(conn);
        b.violation(violation(1, S2C, None, 11, 6, "close-unanswered", None));
        let html = render(&b);
        // Exactly the page's two script elements, and no markup from the data.
        assert_eq!(html.matches("<script").count(), 2, "{html}");
        assert_eq!(html.matches("</script>").count(), 2);
        assert!(!html.contains("alert(1)</script>") && !html.contains("<!--") && !html.contains("<b>"));
        assert!(!html.contains('\u{2028}') && !html.contains('\u{2029}'));
        // The text is all there, intact apart from the invisible separators.
        let d = data_of(&html);
        let reason = d["closes"][0]["reason"].as_str().unwrap();
        assert_eq!(reason, clean_text(HOSTILE));
        assert!(reason.starts_with("</script><script>alert(1)</script>"));
        assert!(d["closes"][0]["diagnosis"].as_str().unwrap().contains("<script>"));
        assert!(d["connections"][0]["path"].as_str().unwrap().contains("</script>"));
    }

    #[test]
    fn page_is_self_contained_and_renders_text_only_as_text() {
        let mut b = Both::default();
        protocol_error(&mut b, 2, 100);
        normal(&mut b, 3, 500);
        let html = render(&b);
        for outside in ["http://", "https://", "//cdn", "src=", "@import", "<link", "<iframe", "<img"] {
            assert!(!html.contains(outside), "{outside}");
        }
        assert!(html.contains("Content-Security-Policy") && html.contains("default-src 'none'"));
        // The script never turns data into markup.
        for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"] {
            assert!(!SCRIPT.contains(sink), "{sink}");
        }
        assert!(SCRIPT.contains("document.body.dataset.ready = \"1\""));
        let d = data_of(&html);
        assert_eq!(d["closes"].as_array().unwrap().len(), 4);
        assert_eq!(d["violations"].as_array().unwrap().len(), 1);
        assert_eq!(d["connections"].as_array().unwrap().len(), 2);
        let server = d["closes"].as_array().unwrap().iter().find(|c| c["conn"] == 2 && c["dir"] == "s2c").unwrap();
        assert_eq!(server["cause"]["rule"], "reserved-opcode");
        // The violating frame, compact: [dir, index, t, first, last, flags, opcode, len, ...].
        let f = &server["cause"]["frame"];
        assert_eq!(
            (f[0].as_u64(), f[1].as_u64(), f[5].as_u64(), f[6].as_u64(), f[7].as_u64()),
            (Some(0), Some(12), Some(1 | 16), Some(3), Some(5))
        );
        assert_eq!(f[11], "01020304");
        assert_eq!(server["packets"], json!([220, 221]));
        assert_eq!(d["cards"]["problem_closes"], 1);
        assert_eq!(d["codes"]["1002"]["name"], "Protocol Error");
        let buckets = d["histogram"]["buckets"].as_array().unwrap();
        let total: u64 = buckets.iter().flat_map(|b| b["counts"].as_object().unwrap().values()).map(|n| n.as_u64().unwrap()).sum();
        assert_eq!(total, 2, "one initiating close per connection");
    }
}
