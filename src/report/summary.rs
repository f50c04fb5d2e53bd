//! The terminal summary: totals accumulated while records stream past, and a
//! plain-text rendering of them.

use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::model::{Direction, Timestamp};
use crate::session::record::{
    CloseRecord, ConnectionRecord, Finding, FrameRecord, HandshakeState, MessageRecord, Termination, ViolationRecord,
};
use crate::ws::{close, opcode};

/// At most this many individual close lines are kept for the terminal; the
/// CSV files have all of them.
pub const MAX_CLOSE_LINES: usize = 200;

/// A close worth reporting on its own: any first close of a connection
/// other than a clean 1000.
pub type CloseLine = CloseRecord;

/// Totals over the whole analysis.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub connections: u64,
    pub handshake_ok: u64,
    pub handshake_failed: u64,
    pub handshake_missing: u64,
    /// Frames by direction and opcode.
    pub frames: [[u64; 16]; 2],
    pub messages: [u64; 2],
    /// Complete messages by direction: text, binary.
    pub messages_by_type: [[u64; 2]; 2],
    /// Messages cut short (interrupted, or the stream ended first).
    pub incomplete_messages: u64,
    /// Close frames by code (`None`: no status) and direction.
    pub closes: BTreeMap<(Option<u16>, Direction), u64>,
    /// Connections by who sent the first Close.
    pub initiator_client: u64,
    pub initiator_server: u64,
    /// Connections that ended without any Close frame, by how they ended.
    pub no_close: BTreeMap<&'static str, u64>,
    pub close_lines: Vec<CloseLine>,
    pub close_lines_dropped: u64,
    pub findings: BTreeMap<&'static str, u64>,
    /// Violations by rule id.
    pub violations: BTreeMap<&'static str, u64>,
    pub gap_bytes: u64,
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
}

impl Summary {
    pub fn connection(&mut self, c: &ConnectionRecord) {
        self.connections += 1;
        match c.handshake {
            HandshakeState::Ok => self.handshake_ok += 1,
            HandshakeState::Failed => self.handshake_failed += 1,
            HandshakeState::Missing => self.handshake_missing += 1,
        }
        for i in 0..2 {
            self.messages[i] += c.messages[i];
        }
        match c.close_initiator {
            Some(Direction::ClientToServer) => self.initiator_client += 1,
            Some(Direction::ServerToClient) => self.initiator_server += 1,
            None => {}
        }
        if matches!(c.termination, Termination::Fin | Termination::Rst | Termination::CaptureEnd) && c.handshake != HandshakeState::Failed {
            *self.no_close.entry(c.termination.as_str()).or_default() += 1;
        }
        self.gap_bytes += c.bytes[0].gap + c.bytes[1].gap;
        self.first_ts = Some(self.first_ts.map_or(c.start_ts, |t| t.min(c.start_ts)));
        self.last_ts = Some(self.last_ts.map_or(c.end_ts, |t| t.max(c.end_ts)));
    }

    pub fn frame(&mut self, f: &FrameRecord) {
        if let Some(n) = self.frames[f.direction.index()].get_mut(usize::from(f.header.opcode & 0x0f)) {
            *n += 1;
        }
    }

    pub fn message(&mut self, m: &MessageRecord) {
        if !m.complete {
            self.incomplete_messages += 1;
        } else if let Some(n) = self.messages_by_type[m.direction.index()].get_mut(usize::from(m.opcode == opcode::BINARY)) {
            *n += 1;
        }
    }

    pub fn close(&mut self, c: &CloseRecord) {
        if !c.inferred || c.code.is_none() {
            *self.closes.entry((c.code, c.direction)).or_default() += 1;
        }
        if c.initiator && c.reported_code != 1000 {
            if self.close_lines.len() < MAX_CLOSE_LINES {
                self.close_lines.push(c.clone());
            } else {
                self.close_lines_dropped += 1;
            }
        }
    }

    pub fn violation(&mut self, v: &ViolationRecord) {
        *self.violations.entry(v.rule).or_default() += 1;
    }

    pub fn finding(&mut self, f: &Finding) {
        *self.findings.entry(f.kind).or_default() += 1;
    }

    pub fn total_frames(&self) -> u64 {
        self.frames.iter().flatten().sum()
    }
}

fn code_text(code: Option<u16>) -> String {
    match code {
        Some(c) => format!("{c} {}", close::code_name(c)),
        None => "a Close without status (peer reports 1005)".to_string(),
    }
}

/// Replaces control characters so text from the traffic cannot drive the
/// terminal (escape sequences, carriage returns): shown as `\x1b`, `\n`...
pub fn escape_control(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Writes the summary as text.
/// Terminal colors (ANSI SGR). The caller decides whether they are on: only
/// on a terminal, never with `NO_COLOR` (<https://no-color.org>), never in
/// a file or a pipe.
#[derive(Clone, Copy, Debug, Default)]
pub struct Paint {
    pub enabled: bool,
}

/// What a colored piece of text is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Heading,
    /// A problem: protocol errors, internal errors, abnormal closures.
    Bad,
    /// Worth a look: capture damage, closes that are not errors.
    Warn,
    Good,
    /// Secondary: filters and hints.
    Dim,
}

impl Paint {
    pub fn tone(self, tone: Tone, text: &str) -> String {
        if !self.enabled {
            return text.to_string();
        }
        let sgr = match tone {
            Tone::Heading => "1",
            Tone::Bad => "1;31",
            Tone::Warn => "33",
            Tone::Good => "32",
            Tone::Dim => "2",
        };
        format!("\x1b[{sgr}m{text}\x1b[0m")
    }

    /// The tone of a close code: protocol and server errors are bad,
    /// normal closures good, the rest worth a look.
    pub fn code_tone(code: u16) -> Tone {
        match code {
            1000 | 1001 | 1005 => Tone::Good,
            1002 | 1006 | 1007 | 1009 | 1010 | 1011 | 1015 => Tone::Bad,
            _ => Tone::Warn,
        }
    }
}

/// Lines to print under a close block, by (connection, close packet): the
/// matched stack trace from the server logs, or why none was found.
pub type CloseNotes = std::collections::HashMap<(u64, u64), Vec<String>>;

/// The terminal report. Every text from the traffic goes through
/// [`escape_control`]; colors only come from `paint`.
pub fn render_text(s: &Summary, capture: &CaptureTotals, notes: &CloseNotes, paint: Paint, w: &mut dyn Write) -> io::Result<()> {
    let h = |t: &str| paint.tone(Tone::Heading, t);
    writeln!(w, "{} {} file(s), {} packets, {} TCP connections", h("Capture:"), capture.files, capture.packets, capture.tcp_connections)?;
    if let Some(f) = &capture.filter {
        writeln!(w, "{} only records selected by {f}", paint.tone(Tone::Warn, "Filtered:"))?;
    }
    if let (Some(a), Some(b)) = (s.first_ts, s.last_ts) {
        writeln!(w, "WebSocket time span: {a} .. {b} ({:.3} s)", b.secs_since(a))?;
    }
    for notice in &capture.notices {
        writeln!(w, "  {} {}", paint.tone(Tone::Warn, "capture damage:"), escape_control(notice))?;
    }
    if !capture.notices.is_empty() {
        writeln!(w, "  partial results: the damaged bytes were skipped, everything readable around them was analyzed")?;
    }
    writeln!(w)?;
    writeln!(
        w,
        "{} {}  (upgrades ok {}, failed {}, handshake not captured {})",
        h("WebSocket connections:"),
        s.connections,
        s.handshake_ok,
        s.handshake_failed,
        s.handshake_missing
    )?;
    writeln!(
        w,
        "{} {}  (client->server {}, server->client {})",
        h("Frames:"),
        s.total_frames(),
        s.frames[0].iter().sum::<u64>(),
        s.frames[1].iter().sum::<u64>()
    )?;
    writeln!(w, "  {:<18} {:>12} {:>12}", "opcode", "c2s", "s2c")?;
    for op in 0..16u8 {
        let (c, v) = (s.frames[0][usize::from(op)], s.frames[1][usize::from(op)]);
        if c + v > 0 {
            writeln!(w, "  {:<18} {:>12} {:>12}", format!("{} ({op})", opcode::name(op)), c, v)?;
        }
    }
    let [[ct, cb], [st, sb]] = s.messages_by_type;
    writeln!(
        w,
        "{} client->server {} (text {ct}, binary {cb}), server->client {} (text {st}, binary {sb})",
        h("Messages:"),
        s.messages[0],
        s.messages[1]
    )?;
    if s.incomplete_messages > 0 {
        writeln!(w, "  {} message(s) never completed (interrupted, or the capture or connection ended first)", s.incomplete_messages)?;
    }
    writeln!(w)?;
    writeln!(w, "{}", h("Closes (Close frames by code and sender):"))?;
    if s.closes.is_empty() {
        writeln!(w, "  none")?;
    }
    let mut by_code: BTreeMap<Option<u16>, [u64; 2]> = BTreeMap::new();
    for ((code, dir), n) in &s.closes {
        by_code.entry(*code).or_default()[dir.index()] += n;
    }
    for (code, [c, v]) in &by_code {
        let (code_s, name) = match code {
            Some(c) => (c.to_string(), close::code_name(*c)),
            None => ("-".to_string(), "no status code (peer reports 1005)"),
        };
        let code_s = paint.tone(Paint::code_tone(code.unwrap_or(1005)), &format!("{code_s:>5}"));
        writeln!(w, "  {code_s} {name:<36} from client {c:>8}  from server {v:>8}")?;
    }
    writeln!(w, "Close initiated by: client {}, server {}", s.initiator_client, s.initiator_server)?;
    if !s.no_close.is_empty() {
        let parts: Vec<String> = s.no_close.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let head = paint.tone(Tone::Bad, "Connections with no Close frame (endpoints report 1006 Abnormal Closure):");
        writeln!(w, "{head} {}", parts.join(", "))?;
    }
    if !s.close_lines.is_empty() {
        writeln!(w)?;
        writeln!(w, "{}", h("Connections that did not end with a clean 1000 close:"))?;
        for l in &s.close_lines {
            let who = l.direction.sender().as_str();
            let reason = if l.reason.is_empty() { String::new() } else { format!(" \"{}\"", escape_control(&l.reason)) };
            let what = if l.frame_index.is_none() {
                format!("no Close frame: {} {} inferred", l.reported_code, close::code_name(l.reported_code))
            } else {
                format!("{who} closed with {}{reason}", code_text(l.code))
            };
            let what = paint.tone(Paint::code_tone(l.reported_code), &what);
            let answered = match (l.answered, l.answer_delay_s) {
                (Some(true), Some(d)) => format!("; answered after {d:.3} s"),
                (Some(false), _) => "; never answered".to_string(),
                _ => String::new(),
            };
            writeln!(w, "  {}  conn {:<5} {what}{answered}  (frame.number == {})", l.ts, l.conn_id, l.packet)?;
            if l.reported_code == 1001 {
                continue;
            }
            let kb = crate::ws::kb::text(l.reported_code, crate::ws::kb::Lang::En);
            writeln!(w, "      meaning:  {}", kb.description)?;
            writeln!(w, "      cause:    {}", escape_control(&l.diagnosis))?;
            let mut packets = vec![l.packet];
            if let Some(p) = l.cause_packet.filter(|p| *p != l.packet) {
                packets.insert(0, p);
            }
            let evidence: Vec<String> = packets.iter().map(u64::to_string).collect();
            let rule = l.cause_rule.map(|r| format!("{r}; ")).unwrap_or_default();
            writeln!(w, "      evidence: {rule}packets {}", evidence.join(", "))?;
            let filter = format!("tcp.stream == {} && frame.number in {{{}}}", l.conn_id, evidence.join(" "));
            writeln!(w, "      wireshark: {}", paint.tone(Tone::Dim, &filter))?;
            for (i, line) in crate::report::explain::wrap(kb.how_to_fix, 88).iter().enumerate() {
                writeln!(w, "      {}{line}", if i == 0 { "fix:      " } else { "          " })?;
            }
            for line in notes.get(&(l.conn_id, l.packet)).into_iter().flatten() {
                writeln!(w, "      {line}")?;
            }
        }
        if s.close_lines_dropped > 0 {
            writeln!(w, "  ... and {} more (see closes.csv)", s.close_lines_dropped)?;
        }
    }
    if !s.violations.is_empty() {
        writeln!(w)?;
        writeln!(w, "{}", h("Protocol violations (see violations.csv):"))?;
        for (rule, n) in &s.violations {
            writeln!(w, "  {}: {n}", paint.tone(Tone::Bad, rule))?;
        }
    }
    if !s.findings.is_empty() || s.gap_bytes > 0 {
        writeln!(w)?;
        writeln!(w, "{}", h("Findings:"))?;
        if s.gap_bytes > 0 {
            writeln!(w, "  {} bytes never captured (TCP gaps) in WebSocket connections", s.gap_bytes)?;
        }
        for (k, n) in &s.findings {
            writeln!(w, "  {k}: {n}")?;
        }
    }
    Ok(())
}

/// Capture-level totals for the summary header.
#[derive(Clone, Debug, Default)]
pub struct CaptureTotals {
    pub files: usize,
    pub packets: u64,
    pub tcp_connections: u64,
    pub notices: Vec<String>,
    /// The filter the records went through, in words (`None`: all records).
    pub filter: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_control("a\x1b[31mred\r\n"), "a\\x1b[31mred\\r\\n");
        assert_eq!(escape_control("plain ü"), "plain ü");
    }
}
