//! The postmortem summary (`--markdown FILE`): Markdown to paste into an
//! incident document. The time span, closes by code and initiator, a
//! timeline of the problem closes, each cause with its evidence (packets,
//! Wireshark filter, the matched stack trace) and the open questions.
//!
//! Owns: the Markdown layout and escaping.
//! May import: report::incident (what to show), correlate, ws::kb.
//!
//! Every text that comes from the traffic or the logs goes through
//! [`md_escape`]: control characters escaped ([`clean_text`]), then every
//! character Markdown gives a meaning to (`|` included, so a reason cannot
//! add table cells) escaped with a backslash.

use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::correlate::LogInvestigation;
use crate::model::Direction;
use crate::report::incident::{CloseView, FrameBrief, IncidentCollector, IncidentReport, clean_text};
use crate::report::summary::{CaptureTotals, Summary};
use crate::ws::close::code_name;
use crate::ws::kb::{self, Lang};

/// Problem closes listed in the timeline table.
pub const MAX_TIMELINE_ROWS: usize = 500;
/// Causes described one by one.
pub const MAX_CAUSES: usize = 50;
/// Open questions listed.
pub const MAX_QUESTIONS: usize = 100;
/// Frames listed before a violation or a close.
const FRAMES_SHOWN: usize = 4;

/// Escapes text from the traffic or logs for Markdown (table cells
/// included): control and invisible formatting characters are shown as
/// escapes, and every Markdown-significant ASCII character gets a
/// backslash.
pub fn md_escape(s: &str) -> String {
    let clean = clean_text(s);
    let mut out = String::with_capacity(clean.len() + 8);
    for ch in clean.chars() {
        if matches!(ch, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '$' | '#' | '{' | '}' | '!' | '^') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// Writes the Markdown summary of the analysis.
pub fn write_markdown(
    c: &IncidentCollector,
    summary: &Summary,
    totals: &CaptureTotals,
    inv: Option<&LogInvestigation>,
    w: &mut dyn Write,
) -> io::Result<()> {
    render_markdown(&IncidentReport::build(c, summary, totals, inv), w)
}

fn code_label(code: u16) -> String {
    format!("{code} {}", code_name(code))
}

fn who(d: Direction) -> &'static str {
    d.sender().as_str()
}

fn frame_line(f: &FrameBrief) -> String {
    let arrow = if f.direction == Direction::ClientToServer { "client → server" } else { "server → client" };
    let mut s = format!(
        "{arrow} frame #{} (packet {}): FIN {}, RSV1 {}, RSV2 {}, RSV3 {}, opcode {} ({}), MASK {}, payload {} bytes ({}-bit length)",
        f.index,
        f.last_packet,
        u8::from(f.fin),
        u8::from(f.rsv1),
        u8::from(f.rsv2),
        u8::from(f.rsv3),
        f.opcode,
        f.opcode_name(),
        u8::from(f.mask.is_some()),
        f.payload_len,
        f.length_bits
    );
    if let Some(code) = f.close_code {
        s.push_str(&format!(", close code {code}"));
    }
    if let Some(r) = f.close_reason.as_deref().filter(|r| !r.is_empty()) {
        s.push_str(&format!(", reason \"{}\"", md_escape(r)));
    }
    if f.truncated {
        s.push_str(", cut by the capture end");
    }
    s
}

fn trace_line(v: &CloseView<'_>) -> String {
    match (&v.trace, &v.no_trace_reason) {
        (Some(t), _) => {
            let mut s = md_escape(t.headline());
            if !t.top_frame.is_empty() {
                s.push_str(&format!(" at {}", md_escape(&t.top_frame)));
            }
            s.push_str(&format!(" ({})", md_escape(&t.location())));
            s
        }
        (None, Some(why)) => format!("none: {}", md_escape(why)),
        (None, None) => String::new(),
    }
}

/// What groups closes into one cause: code and the rule, the exception, or
/// the kind of diagnosis.
fn cause_key(v: &CloseView<'_>) -> (u16, String) {
    let r = &v.entry.record;
    let what = if let Some(rule) = r.cause_rule {
        format!("after `{rule}`")
    } else if v.entry.no_visible_cause {
        "with no visible cause at the capture point".to_string()
    } else if let Some(t) = &v.trace {
        let exc = t.headline().split(':').next().unwrap_or_default().trim().to_string();
        format!("logged as {}", md_escape(&exc))
    } else if r.inferred && r.reported_code == 1006 {
        format!("no Close frame, TCP ended by the {}", who(r.direction))
    } else {
        format!("sent by the {}", who(r.direction))
    };
    (r.reported_code, what)
}

/// Renders an already built report.
pub fn render_markdown(r: &IncidentReport<'_>, w: &mut dyn Write) -> io::Result<()> {
    let logs_given = r.log.is_some();
    writeln!(w, "# WebSocket incident summary")?;
    writeln!(w)?;
    if !r.captures.is_empty() {
        let names: Vec<String> = r.captures.iter().map(|c| md_escape(c)).collect();
        writeln!(
            w,
            "- **Capture:** {} ({} file(s), {} packets, {} TCP connections)",
            names.join(", "),
            r.files,
            r.packets,
            r.tcp_connections
        )?;
    } else {
        writeln!(w, "- **Capture:** {} file(s), {} packets, {} TCP connections", r.files, r.packets, r.tcp_connections)?;
    }
    match r.span {
        Some((a, b)) => writeln!(w, "- **Time span (UTC):** {a} to {b} ({:.3} s)", b.secs_since(a))?,
        None => writeln!(w, "- **Time span (UTC):** no WebSocket connection in the capture")?,
    }
    writeln!(
        w,
        "- **WebSocket connections:** {} (upgrades ok {}, failed {}, handshake not captured {})",
        r.connections_total, r.handshake_ok, r.handshake_failed, r.handshake_missing
    )?;
    let closed: u64 = r.endings.iter().map(|e| e.total()).sum();
    writeln!(
        w,
        "- **Problem closes:** {} (closes other than a normal 1000/1001 or a status-less 1005; {closed} connections closed)",
        r.problem_closes_total
    )?;
    if r.violations_total > 0 {
        let rules: Vec<String> = r.violations_by_rule.iter().take(12).map(|(rule, n)| format!("`{rule}` {n}")).collect();
        let more = if r.violations_by_rule.len() > 12 { ", ..." } else { "" };
        writeln!(w, "- **Protocol violations:** {} ({}{more})", r.violations_total, rules.join(", "))?;
    } else {
        writeln!(w, "- **Protocol violations:** none")?;
    }
    match r.internal_explained {
        _ if r.internal_errors == 0 => writeln!(w, "- **1011 Internal Error:** none")?,
        Some(x) => writeln!(
            w,
            "- **1011 Internal Error:** {} ({x} explained by a server-log trace, {} unexplained)",
            r.internal_errors,
            r.internal_errors.saturating_sub(x)
        )?,
        None => writeln!(w, "- **1011 Internal Error:** {} (no server log given)", r.internal_errors)?,
    }
    if let Some(l) = &r.log {
        let files: Vec<String> = l.files.iter().map(|f| format!("{} ({} lines, {})", md_escape(&f.0), f.2, md_escape(&f.1))).collect();
        writeln!(w, "- **Server logs:** {}; clock offset {}", files.join(", "), md_escape(&l.offset_text))?;
    }
    if r.gap_bytes > 0 {
        writeln!(w, "- **Capture gaps:** {} bytes of WebSocket connections were never captured", r.gap_bytes)?;
    }
    for n in r.capture_notices.iter().take(5) {
        writeln!(w, "- **Capture damage:** {}", md_escape(n))?;
    }
    writeln!(w)?;

    writeln!(w, "## Closes by code and initiator")?;
    writeln!(w)?;
    if r.endings.is_empty() {
        writeln!(w, "No connection closed in the capture.")?;
    } else {
        writeln!(
            w,
            "One row per code that ended connections (the first close of each connection; an inferred 1006 counts the side that ended TCP)."
        )?;
        writeln!(w)?;
        writeln!(w, "| Code | Meaning | Initiated by client | Initiated by server | Total |")?;
        writeln!(w, "| ---: | --- | ---: | ---: | ---: |")?;
        for e in &r.endings {
            let note = if e.code == 1006 { " (no Close frame)" } else { "" };
            writeln!(w, "| {} | {}{note} | {} | {} | {} |", e.code, e.name, e.by[0], e.by[1], e.total())?;
        }
    }
    writeln!(w)?;

    let problems: Vec<&CloseView> = r.problem_closes().collect();
    writeln!(w, "## Timeline of problem closes")?;
    writeln!(w)?;
    if r.closes.is_empty() && r.closes_dropped == 0 {
        writeln!(w, "No close in the capture.")?;
    } else if problems.is_empty() {
        writeln!(w, "Every connection that closed ended with a normal 1000 or 1001 close.")?;
    } else {
        if logs_given {
            writeln!(w, "| Time (UTC) | tcp.stream | Client | Code | Sent by | Reason | Cause | Packets | Stack trace |")?;
            writeln!(w, "| --- | ---: | --- | --- | --- | --- | --- | --- | --- |")?;
        } else {
            writeln!(w, "| Time (UTC) | tcp.stream | Client | Code | Sent by | Reason | Cause | Packets |")?;
            writeln!(w, "| --- | ---: | --- | --- | --- | --- | --- | --- |")?;
        }
        for v in problems.iter().take(MAX_TIMELINE_ROWS) {
            let c = &v.entry.record;
            let code = if c.inferred && c.code == Some(1006) {
                "1006 Abnormal Closure (inferred)".to_string()
            } else {
                code_label(c.reported_code)
            };
            let cause = match (c.cause_rule, v.entry.no_visible_cause) {
                (Some(rule), _) => format!("`{rule}`"),
                (None, true) => "none visible".to_string(),
                _ => String::new(),
            };
            let packets: Vec<String> = v.entry.evidence_packets().iter().map(u64::to_string).collect();
            let trace = if logs_given { format!(" {} |", trace_line(v)) } else { String::new() };
            writeln!(
                w,
                "| {} | {} | {} | {code} | {} | {} | {cause} | {} |{trace}",
                c.ts,
                c.conn_id,
                v.entry.client,
                who(c.direction),
                md_escape(&c.reason),
                packets.join(", "),
            )?;
        }
        if problems.len() > MAX_TIMELINE_ROWS {
            writeln!(w)?;
            writeln!(w, "... and {} more (closes.csv has all of them).", problems.len() - MAX_TIMELINE_ROWS)?;
        }
        if r.closes_dropped > 0 {
            writeln!(w)?;
            writeln!(
                w,
                "The report kept {} closes; {} more (normal ones first) are only in closes.csv.",
                r.closes.len(),
                r.closes_dropped
            )?;
        }
    }
    writeln!(w)?;

    if !problems.is_empty() {
        writeln!(w, "## Causes and evidence")?;
        writeln!(w)?;
        let mut groups: BTreeMap<(u16, String), Vec<&CloseView>> = BTreeMap::new();
        let mut order: Vec<(u16, String)> = Vec::new();
        for v in &problems {
            let k = cause_key(v);
            let g = groups.entry(k.clone()).or_default();
            if g.is_empty() {
                order.push(k);
            }
            g.push(v);
        }
        let mut explained: Vec<u16> = Vec::new();
        for (n, key) in order.iter().take(MAX_CAUSES).enumerate() {
            let Some(list) = groups.get(key) else { continue };
            let Some(first) = list.first() else { continue };
            let kb_done = explained.contains(&key.0);
            write_cause(w, n + 1, key, list, first, kb_done)?;
            explained.push(key.0);
        }
        if order.len() > MAX_CAUSES {
            writeln!(w, "... and {} more causes.", order.len() - MAX_CAUSES)?;
            writeln!(w)?;
        }
    }

    writeln!(w, "## Open questions")?;
    writeln!(w)?;
    let mut questions: Vec<String> = Vec::new();
    for v in &r.closes {
        if let Some(q) = v.open_question(logs_given) {
            let c = &v.entry.record;
            questions.push(format!(
                "tcp.stream {} ({} {} from the {}, {}): {} Wireshark: `{}`",
                c.conn_id,
                code_label(c.reported_code),
                if c.inferred && c.reported_code == 1006 { "inferred" } else { "close" },
                who(c.direction),
                c.ts,
                md_escape(&q),
                v.entry.wireshark_filter()
            ));
        }
    }
    let total_q = questions.len();
    for q in questions.iter().take(MAX_QUESTIONS) {
        writeln!(w, "- {q}")?;
    }
    if total_q > MAX_QUESTIONS {
        writeln!(w, "- ... and {} more like these.", total_q - MAX_QUESTIONS)?;
    }
    let mut others = 0;
    if let Some(l) = &r.log
        && l.unmatched_total > 0
    {
        others += 1;
        writeln!(w, "- {} error event(s) in the server logs match no close in the capture; were they felt by clients?", l.unmatched_total)?;
        for t in l.unmatched.iter().take(10) {
            writeln!(w, "  - {} {} ({})", t.log_ts, md_escape(t.headline()), md_escape(&t.location()))?;
        }
        if l.unmatched_total > 10 {
            writeln!(w, "  - ... and {} more (matches.csv)", l.unmatched_total - 10)?;
        }
    }
    if r.gap_bytes > 0 {
        others += 1;
        writeln!(w, "- The capture missed {} bytes of WebSocket traffic (TCP gaps): could a missing frame explain a close?", r.gap_bytes)?;
    }
    if total_q == 0 && others == 0 {
        writeln!(w, "None: every problem close has a cause the capture or the logs show.")?;
    }
    writeln!(w)?;
    writeln!(
        w,
        "_Generated by wsforensics {} from the capture{}._",
        env!("CARGO_PKG_VERSION"),
        if logs_given { " and the server logs" } else { "" }
    )?;
    Ok(())
}

fn write_cause(
    w: &mut dyn Write,
    n: usize,
    key: &(u16, String),
    list: &[&CloseView<'_>],
    first: &CloseView<'_>,
    kb_done: bool,
) -> io::Result<()> {
    let c = &first.entry.record;
    writeln!(w, "### {n}. {} {} ({} close{})", code_label(key.0), key.1, list.len(), if list.len() == 1 { "" } else { "s" })?;
    writeln!(w)?;
    let mut conns: Vec<String> = list.iter().take(20).map(|v| v.entry.record.conn_id.to_string()).collect();
    if list.len() > 20 {
        conns.push(format!("... ({} more)", list.len() - 20));
    }
    writeln!(w, "- **Connections (tcp.stream):** {}", conns.join(", "))?;
    writeln!(w, "- **First:** {} tcp.stream {} ({} → {}), packet {}", c.ts, c.conn_id, first.entry.client, first.entry.server, c.packet)?;
    if !c.reason.is_empty() {
        writeln!(w, "- **Reason:** \"{}\"", md_escape(&c.reason))?;
    }
    writeln!(w, "- **Diagnosis:** {}", md_escape(&c.diagnosis))?;
    if let Some(rule) = c.cause_rule {
        let at = c.cause_packet.map(|p| format!(" at packet {p}")).unwrap_or_default();
        writeln!(w, "- **Cause:** `{rule}`{at}")?;
    }
    if let Some(cause) = &first.entry.cause {
        let v = &cause.violation;
        writeln!(w, "- **Violation:** `{}` ({}) by the {}: {}", v.rule, v.rfc_section, who(v.direction), md_escape(&v.detail))?;
        if let Some(f) = &cause.frame {
            writeln!(w, "- **Violating frame:** {}", frame_line(f))?;
        }
        let before: Vec<&FrameBrief> = cause.frames_before.iter().filter(|f| Some(*f) != cause.frame.as_ref()).collect();
        if !before.is_empty() {
            writeln!(w, "- **Frames before it:**")?;
            for f in before.iter().skip(before.len().saturating_sub(FRAMES_SHOWN)) {
                writeln!(w, "  - {}", frame_line(f))?;
            }
        }
    } else if !first.entry.frames_before.is_empty() {
        writeln!(w, "- **Frames up to the close:**")?;
        let fb = &first.entry.frames_before;
        for f in fb.iter().skip(fb.len().saturating_sub(FRAMES_SHOWN)) {
            writeln!(w, "  - {}", frame_line(f))?;
        }
    }
    let packets: Vec<String> = first.entry.evidence_packets().iter().map(u64::to_string).collect();
    writeln!(w, "- **Evidence packets:** {}", packets.join(", "))?;
    writeln!(w, "- **Wireshark:** `{}`", first.entry.wireshark_filter())?;
    if let Some(t) = &first.trace {
        writeln!(w, "- **Stack trace:** {} ({})", md_escape(t.headline()), md_escape(&t.location()))?;
        if !t.top_frame.is_empty() {
            writeln!(w, "  - at {}", md_escape(&t.top_frame))?;
        }
        let when = t.delta_s.map(|d| format!(", logged {d:+.3} s from the close")).unwrap_or_default();
        writeln!(w, "  - confidence {}{when}: {}", t.confidence.unwrap_or("low"), md_escape(&t.evidence))?;
    } else if let Some(why) = &first.no_trace_reason {
        writeln!(w, "- **Stack trace:** none found: {}", md_escape(why))?;
    }
    if kb_done {
        writeln!(w, "- **Meaning and fix:** as for {} above.", key.0)?;
    } else {
        let kb = kb::text(key.0, Lang::En);
        writeln!(w, "- **Meaning:** {}", kb.description)?;
        writeln!(w, "- **Fix:** {}", kb.how_to_fix)?;
    }
    writeln!(w)?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::report::incident::test_records::*;
    use crate::session::record::RecordSink;

    fn render(b: &Both) -> String {
        let mut out = Vec::new();
        write_markdown(&b.incident, &b.summary, &CaptureTotals::default(), None, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Cells of a Markdown table row, split at unescaped `|`.
    fn cells(row: &str) -> Vec<String> {
        let mut out = vec![String::new()];
        let mut escaped = false;
        for ch in row.trim().trim_start_matches('|').trim_end_matches('|').chars() {
            match ch {
                '|' if !escaped => out.push(String::new()),
                c => {
                    escaped = c == '\\' && !escaped;
                    if let Some(last) = out.last_mut() {
                        last.push(c);
                    }
                }
            }
        }
        out.into_iter().map(|c| c.trim().to_string()).collect()
    }

    #[test]
    fn escaping() {
        assert_eq!(md_escape("a|b"), "a\\|b");
        assert_eq!(md_escape("*x* _y_ [l](u) <b> `c` # ~ & $"), "\\*x\\* \\_y\\_ \\[l\\](u) \\<b\\> \\`c\\` \\# \\~ \\& \\$");
        assert_eq!(md_escape("a\nb\x1b[0m\\"), "a\\\\nb\\\\x1b\\[0m\\\\");
        assert_eq!(md_escape("ok: 1.0 – ü"), "ok: 1.0 – ü");
    }

    #[test]
    fn problem_closes_table_has_one_row_per_problem_with_pipes_escaped() {
        let mut b = Both::default();
        protocol_error(&mut b, 4, 100);
        normal(&mut b, 5, 300);
        b.close(close(6, S2C, 4001, "a | b | c\n| injected | row |", 610, 400, true, None));
        b.connection(connection(6, 350, 410, [None, Some(4001)], Some(S2C)));
        let md = render(&b);
        let section = md.split("## Timeline of problem closes").nth(1).unwrap().split("\n## ").next().unwrap();
        let rows: Vec<&str> = section.lines().filter(|l| l.starts_with("| 20")).collect();
        assert_eq!(rows.len(), 2, "{section}");
        let header = cells(section.lines().find(|l| l.starts_with("| Time")).unwrap());
        for r in &rows {
            assert_eq!(cells(r).len(), header.len(), "{r}");
        }
        let r1002 = cells(rows[0]);
        assert_eq!(r1002[1], "4");
        assert_eq!(r1002[3], "1002 Protocol Error");
        assert_eq!(r1002[6], "`reserved-opcode`");
        assert_eq!(r1002[7], "420, 421");
        let r4001 = cells(rows[1]);
        assert_eq!(r4001[5], "a \\| b \\| c\\\\n\\| injected \\| row \\|");
        assert!(!md.contains("\n| injected"));
        // The cause with its evidence.
        assert!(md.contains("### 1. 1002 Protocol Error after `reserved-opcode` (1 close)"), "{md}");
        assert!(md.contains("- **Wireshark:** `tcp.stream == 4 && frame.number in {420 421}`"));
        assert!(md.contains(
            "**Violating frame:** client → server frame #12 (packet 420): FIN 1, RSV1 0, RSV2 0, RSV3 0, opcode 3 (reserved-data), MASK 1"
        ));
        assert!(md.contains("| 1002 | Protocol Error | 0 | 1 | 1 |"));
        // No 1011, no clean-bytes 1002: no open question.
        assert!(md.contains("None: every problem close has a cause"), "{md}");
    }

    #[test]
    fn unexplained_1011_is_an_open_question() {
        let mut b = Both::default();
        b.close(close(9, S2C, 1011, "", 900, 50, true, None));
        b.connection(connection(9, 0, 60, [None, Some(1011)], Some(S2C)));
        let md = render(&b);
        let q = md.split("## Open questions").nth(1).unwrap();
        assert!(q.contains("- tcp.stream 9 (1011 Internal Error close from the server"), "{q}");
        assert!(q.contains("no server log was given"));
        assert!(q.contains("`tcp.stream == 9 && frame.number == 900`"));
        assert!(md.contains("- **1011 Internal Error:** 1 (no server log given)"));
    }
}
