//! The terminal summary: totals accumulated while records stream past, and a
//! plain-text rendering of them.

use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::model::{Direction, Timestamp};
use crate::session::record::{CloseRecord, ConnectionRecord, Finding, FrameRecord, HandshakeState, MessageRecord, Termination};
use crate::ws::{close, opcode};

/// At most this many individual close lines are kept for the terminal; the
/// CSV files have all of them.
pub const MAX_CLOSE_LINES: usize = 200;

/// How one connection ended, when it is worth a line of its own: any end
/// but a clean 1000 closing handshake.
#[derive(Clone, Debug)]
pub struct CloseLine {
    pub ts: Timestamp,
    pub conn_id: u64,
    /// Who sent the first Close, its code (None: no status) and reason.
    pub first: Option<(Direction, Option<u16>, String)>,
    /// The answering Close, if any (its code, None for no status).
    pub reply: Option<Option<u16>>,
    /// Packet of the first Close, or of the FIN/RST that ended a connection
    /// without one.
    pub packet: Option<u64>,
    /// For connections without any Close: how TCP ended.
    pub ended_by: &'static str,
    pub ended_from: Option<Direction>,
}

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
        if let Some(line) = close_line(c) {
            if self.close_lines.len() < MAX_CLOSE_LINES {
                self.close_lines.push(line);
            } else {
                self.close_lines_dropped += 1;
            }
        }
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
        *self.closes.entry((c.code, c.direction)).or_default() += 1;
    }

    pub fn finding(&mut self, f: &Finding) {
        *self.findings.entry(f.kind).or_default() += 1;
    }

    pub fn total_frames(&self) -> u64 {
        self.frames.iter().flatten().sum()
    }
}

/// The line for a connection's end, unless it was a clean 1000 handshake.
fn close_line(c: &ConnectionRecord) -> Option<CloseLine> {
    if c.handshake == HandshakeState::Failed {
        return None;
    }
    let first_dir = c.close_initiator;
    let first = first_dir.and_then(|d| c.closes[d.index()].as_ref().map(|cl| (d, cl)));
    let reply = first_dir.and_then(|d| c.closes[d.reverse().index()].as_ref().map(|cl| cl.code));
    match first {
        Some((d, cl)) => {
            let clean = cl.code == Some(1000) && reply == Some(Some(1000));
            (!clean).then(|| CloseLine {
                ts: cl.ts,
                conn_id: c.conn_id,
                first: Some((d, cl.code, cl.reason.clone())),
                reply,
                packet: Some(cl.packet),
                ended_by: c.termination.as_str(),
                ended_from: None,
            })
        }
        None => {
            // No Close at all: both endpoints report 1006.
            let (packet, ts, from) = match (c.rst_packet, c.fin_packet) {
                (Some(p), _) => (Some(p), c.rst_ts.unwrap_or(c.end_ts), c.rst_from),
                (None, [Some(a), Some(b)]) if b < a => (Some(b), c.fin_ts[1].unwrap_or(c.end_ts), Some(Direction::ServerToClient)),
                (None, [Some(a), _]) => (Some(a), c.fin_ts[0].unwrap_or(c.end_ts), Some(Direction::ClientToServer)),
                (None, [None, Some(b)]) => (Some(b), c.fin_ts[1].unwrap_or(c.end_ts), Some(Direction::ServerToClient)),
                (None, [None, None]) => (None, c.end_ts, None),
            };
            Some(CloseLine { ts, conn_id: c.conn_id, first: None, reply: None, packet, ended_by: c.termination.as_str(), ended_from: from })
        }
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
pub fn render_text(s: &Summary, capture: &CaptureTotals, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, "Capture: {} file(s), {} packets, {} TCP connections", capture.files, capture.packets, capture.tcp_connections)?;
    if let (Some(a), Some(b)) = (s.first_ts, s.last_ts) {
        writeln!(w, "WebSocket time span: {a} .. {b} ({:.3} s)", b.secs_since(a))?;
    }
    for notice in &capture.notices {
        writeln!(w, "  capture damage: {}", escape_control(notice))?;
    }
    writeln!(w)?;
    writeln!(
        w,
        "WebSocket connections: {}  (upgrades ok {}, failed {}, handshake not captured {})",
        s.connections, s.handshake_ok, s.handshake_failed, s.handshake_missing
    )?;
    writeln!(
        w,
        "Frames: {}  (client->server {}, server->client {})",
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
        "Messages: client->server {} (text {ct}, binary {cb}), server->client {} (text {st}, binary {sb})",
        s.messages[0], s.messages[1]
    )?;
    if s.incomplete_messages > 0 {
        writeln!(w, "  {} message(s) never completed (interrupted, or the capture or connection ended first)", s.incomplete_messages)?;
    }
    writeln!(w)?;
    writeln!(w, "Closes (Close frames by code and sender):")?;
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
        writeln!(w, "  {code_s:>5} {name:<36} from client {c:>8}  from server {v:>8}")?;
    }
    writeln!(w, "Close initiated by: client {}, server {}", s.initiator_client, s.initiator_server)?;
    if !s.no_close.is_empty() {
        let parts: Vec<String> = s.no_close.iter().map(|(k, n)| format!("{k} {n}")).collect();
        writeln!(w, "Connections with no Close frame (endpoints report 1006 Abnormal Closure): {}", parts.join(", "))?;
    }
    if !s.close_lines.is_empty() {
        writeln!(w)?;
        writeln!(w, "Connections that did not end with a clean 1000 close:")?;
        for l in &s.close_lines {
            let at = l.packet.map(|p| format!("  (frame.number == {p})")).unwrap_or_default();
            match &l.first {
                Some((dir, code, reason)) => {
                    let reason = if reason.is_empty() { String::new() } else { format!(" \"{}\"", escape_control(reason)) };
                    let reply = match l.reply {
                        Some(rc) => format!("; {} answered {}", dir.reverse().sender().as_str(), code_text(rc)),
                        None => format!("; {} never answered with a Close", dir.reverse().sender().as_str()),
                    };
                    writeln!(
                        w,
                        "  {}  conn {:<5} {} closed with {}{reason}{reply}{at}",
                        l.ts,
                        l.conn_id,
                        dir.sender().as_str(),
                        code_text(*code)
                    )?;
                    if let Some(c) = code {
                        writeln!(w, "  {:>27}   {c}: {}", "", close::code_meaning(*c))?;
                    }
                }
                None => {
                    let how = match (l.ended_by, l.ended_from) {
                        ("rst", Some(d)) => format!("TCP reset by the {}", d.sender().as_str()),
                        ("fin", Some(d)) => format!("TCP FIN from the {} first", d.sender().as_str()),
                        _ => "the capture ended first".to_string(),
                    };
                    writeln!(w, "  {}  conn {:<5} no Close frame ({how}): 1006 Abnormal Closure inferred{at}", l.ts, l.conn_id)?;
                }
            }
        }
        if s.close_lines_dropped > 0 {
            writeln!(w, "  ... and {} more (see connections.csv)", s.close_lines_dropped)?;
        }
    }
    if !s.findings.is_empty() || s.gap_bytes > 0 {
        writeln!(w)?;
        writeln!(w, "Findings:")?;
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
