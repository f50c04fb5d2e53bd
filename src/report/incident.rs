//! What the incident reports (`--html`, `--markdown`) need, kept while the
//! records stream past, in bounded memory.
//!
//! Owns: [`IncidentCollector`] (a [`RecordSink`]) and the render-ready
//! [`IncidentReport`] built from it, the summary and, when logs were read,
//! the log investigation.
//! May import: model, session::record, ws, correlate, report::summary.
//!
//! A capture can hold millions of frames and connections, so nothing grows
//! with them without a cap:
//! - per connection still open, a ring of the last [`RING_FRAMES`] frames per
//!   direction (dropped when the connection's record arrives), the frames
//!   seen when each direction's first Close was sent, and the first
//!   [`CONN_VIOLATIONS`] violations with the frames before them;
//! - closes, violations and connection rows up to a cap each, with a count
//!   of the rest; problem closes and problem connections push normal ones
//!   out when the cap is reached, so the report keeps what matters;
//! - counts (closes by code and initiator, the close histogram over time,
//!   whose buckets widen to stay under [`MAX_BUCKETS`]).
//!
//! Records arrive per connection in the order the pipeline emits them:
//! frames, messages and violations as they happen; at the end, the
//! diagnosis' violations and findings, the closes, and the connection
//! record last.

use std::collections::{BTreeMap, HashMap, VecDeque};

use crate::correlate::{LogInvestigation, TargetKind};
use crate::model::{ConnId, Direction, Endpoint, PacketIndex, Timestamp};
use crate::report::summary::{CaptureTotals, Summary, escape_control};
use crate::session::record::{
    CloseRecord, ConnectionRecord, Finding, FrameRecord, HandshakeState, MessageRecord, RecordSink, Termination, ViolationRecord,
};
use crate::ws::opcode;

/// Frames kept per direction of an open connection.
pub const RING_FRAMES: usize = 8;
/// Frames shown as the evidence before a close or a violation (both
/// directions together, the latest ones).
pub const EVIDENCE_FRAMES: usize = 8;
/// Connection rows kept for the timeline and the tables.
pub const MAX_CONNECTIONS: usize = 20_000;
/// Closes kept with their evidence.
pub const MAX_CLOSES: usize = 20_000;
/// Violations kept for the table.
pub const MAX_VIOLATIONS: usize = 20_000;
/// Violations per connection kept with their frames, to show the one a
/// close answered.
pub const CONN_VIOLATIONS: usize = 8;
/// Payload bytes kept per frame for the preview.
pub const PREVIEW_BYTES: usize = 32;
/// Characters kept of any text from the traffic or the logs.
pub const MAX_TEXT: usize = 1024;
/// At most this many buckets in the close histogram; the bucket width
/// doubles when there would be more.
pub const MAX_BUCKETS: usize = 2048;
/// Narrowest histogram bucket: 1 µs.
const BASE_BUCKET_NS: i64 = 1_000;
/// Frames kept before a normal (1000/1001) close.
pub const NORMAL_CLOSE_FRAMES: usize = 3;
/// Unmatched log errors listed in the reports.
pub const MAX_UNMATCHED: usize = 200;

/// Text from the traffic or the logs, made safe to show: control
/// characters escaped as the terminal report does ([`escape_control`]), and
/// the invisible formatting characters that can make text read differently
/// from what it is (bidirectional overrides, zero-width characters, line
/// and paragraph separators) shown as `\u{...}`.
pub fn clean_text(s: &str) -> String {
    let escaped = escape_control(s);
    if !escaped.chars().any(is_format_char) {
        return escaped;
    }
    let mut out = String::with_capacity(escaped.len() + 8);
    for ch in escaped.chars() {
        if is_format_char(ch) {
            out.push_str(&format!("\\u{{{:04x}}}", ch as u32));
        } else {
            out.push(ch);
        }
    }
    out
}

fn is_format_char(ch: char) -> bool {
    matches!(ch, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}' | '\u{061c}' | '\u{00ad}')
}

/// The first [`MAX_TEXT`] characters of `s`.
fn capped(s: &str) -> String {
    match s.char_indices().nth(MAX_TEXT) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// A frame as the reports keep it: the header fields and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameBrief {
    pub direction: Direction,
    /// 0-based per connection and direction.
    pub index: u64,
    pub first_packet: PacketIndex,
    pub last_packet: PacketIndex,
    pub ts: Timestamp,
    pub fin: bool,
    pub rsv1: bool,
    pub rsv2: bool,
    pub rsv3: bool,
    pub opcode: u8,
    pub mask: Option<[u8; 4]>,
    pub payload_len: u64,
    pub header_len: u8,
    /// 7, 16 or 64: the length form used.
    pub length_bits: u8,
    pub captured_len: u64,
    pub truncated: bool,
    /// Part of a permessage-deflate compressed message.
    pub compressed: bool,
    pub close_code: Option<u16>,
    pub close_reason: Option<String>,
    /// The first [`PREVIEW_BYTES`] payload bytes kept (unmasked; compressed
    /// bytes for a compressed frame): `preview_len` of them are valid.
    preview_bytes: [u8; PREVIEW_BYTES],
    preview_len: u8,
}

impl FrameBrief {
    pub fn from_record(f: &FrameRecord) -> FrameBrief {
        let h = &f.header;
        FrameBrief {
            direction: f.direction,
            index: f.index,
            first_packet: f.first_packet,
            last_packet: f.last_packet,
            ts: f.ts,
            fin: h.fin,
            rsv1: h.rsv1,
            rsv2: h.rsv2,
            rsv3: h.rsv3,
            opcode: h.opcode,
            mask: h.mask,
            payload_len: h.payload_len,
            header_len: h.header_len,
            length_bits: h.length_form.bits(),
            captured_len: f.captured_len,
            truncated: f.truncated,
            compressed: f.compressed,
            close_code: f.close_code,
            close_reason: f.close_reason.as_deref().map(capped),
            // A compressed frame is previewed by what it inflated to
            // (`--payloads`), like frames.csv.
            preview_bytes: {
                let kept: &[u8] = if f.compressed { &f.inflated } else { &f.payload };
                let mut b = [0u8; PREVIEW_BYTES];
                let n = PREVIEW_BYTES.min(kept.len());
                if let (Some(dst), Some(src)) = (b.get_mut(..n), kept.get(..n)) {
                    dst.copy_from_slice(src);
                }
                b
            },
            preview_len: PREVIEW_BYTES.min(if f.compressed { f.inflated.len() } else { f.payload.len() }) as u8,
        }
    }

    /// The payload bytes kept for the preview.
    pub fn preview(&self) -> &[u8] {
        self.preview_bytes.get(..usize::from(self.preview_len)).unwrap_or_default()
    }

    pub fn opcode_name(&self) -> &'static str {
        opcode::name(self.opcode)
    }

    /// The preview as hex (`48 65 6c`).
    pub fn preview_hex(&self) -> String {
        self.preview().iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
    }

    /// The preview as text, when the kept bytes are printable UTF-8 (cut
    /// at the last whole character); `None` for binary bytes.
    pub fn preview_text(&self) -> Option<String> {
        let preview = self.preview();
        if preview.is_empty() {
            return None;
        }
        let bytes: &[u8] = if self.opcode == opcode::CLOSE { preview.get(2..).unwrap_or_default() } else { preview };
        let text = match std::str::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) if e.error_len().is_none() => std::str::from_utf8(bytes.get(..e.valid_up_to()).unwrap_or_default()).ok()?,
            Err(_) => return None,
        };
        if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            return None;
        }
        Some(clean_text(text))
    }

    /// Output order: time, then packet, direction, index.
    fn order_key(&self) -> (Timestamp, PacketIndex, Direction, u64) {
        (self.ts, self.last_packet, self.direction, self.index)
    }
}

/// A violation as the reports keep it, with the offending frame when it was
/// still in the connection's ring.
#[derive(Clone, Debug)]
pub struct ViolationEntry {
    pub record: ViolationRecord,
    pub frame: Option<FrameBrief>,
}

/// The violation a close answered, with the frames up to it.
#[derive(Clone, Debug)]
pub struct CauseEvidence {
    pub violation: ViolationRecord,
    /// The offending frame.
    pub frame: Option<FrameBrief>,
    /// The frames before it (both directions, the offending one last).
    pub frames_before: Vec<FrameBrief>,
}

/// A close with what the capture shows about it.
#[derive(Clone, Debug)]
pub struct CloseEntry {
    pub record: CloseRecord,
    pub client: Endpoint,
    pub server: Endpoint,
    /// Request path of the connection.
    pub path: String,
    /// Not a normal close: anything but 1000/1001/1005 that is not an echo of
    /// the peer's Close (see [`IncidentCollector`]).
    pub problem: bool,
    /// A 1002/1007 with well-formed bytes at the capture point (the
    /// `close-without-visible-cause` finding).
    pub no_visible_cause: bool,
    /// The frames before the close (both directions, the Close last).
    pub frames_before: Vec<FrameBrief>,
    /// The violation the close answered, when the diagnosis names one.
    pub cause: Option<CauseEvidence>,
    /// The connection's upgrade was refused: its inferred 1006 is the
    /// refusal, not a drop.
    pub handshake_failed: bool,
}

impl CloseEntry {
    /// Packets that are the evidence: the cause's packet, then the close's.
    pub fn evidence_packets(&self) -> Vec<PacketIndex> {
        let mut packets = vec![self.record.packet];
        if let Some(p) = self.record.cause_packet.filter(|p| *p != self.record.packet) {
            packets.insert(0, p);
        }
        packets
    }

    /// The Wireshark display filter that shows the evidence.
    pub fn wireshark_filter(&self) -> String {
        wireshark_filter(self.record.conn_id, &self.evidence_packets())
    }

    /// Whether the close is one the server's logs are searched for (the
    /// same rule as [`crate::correlate::CloseTarget::from_records`] for
    /// 1011): a 1011 that opened the closing handshake, or any 1011 from
    /// the server.
    pub fn is_internal_error(&self) -> bool {
        is_internal_error(&self.record)
    }
}

fn is_internal_error(c: &CloseRecord) -> bool {
    c.reported_code == 1011 && (c.initiator || c.direction == Direction::ServerToClient)
}

/// `tcp.stream == N && frame.number == P` (or `in {P Q}`).
pub fn wireshark_filter(conn: ConnId, packets: &[PacketIndex]) -> String {
    match packets {
        [p] => format!("tcp.stream == {conn} && frame.number == {p}"),
        _ => {
            let list: Vec<String> = packets.iter().map(u64::to_string).collect();
            format!("tcp.stream == {conn} && frame.number in {{{}}}", list.join(" "))
        }
    }
}

/// A connection as the timeline and the tables show it.
#[derive(Clone, Debug)]
pub struct ConnRow {
    pub conn_id: ConnId,
    pub client: Endpoint,
    pub server: Endpoint,
    pub start_ts: Timestamp,
    pub end_ts: Timestamp,
    pub first_packet: PacketIndex,
    pub last_packet: PacketIndex,
    pub handshake: HandshakeState,
    pub http_status: u16,
    pub path: String,
    /// Status code of the first Close in each direction.
    pub close_codes: [Option<u16>; 2],
    pub close_initiator: Option<Direction>,
    pub termination: Termination,
    /// How the connection ended: the code endpoints report for its first
    /// close (1006 when it ended without a Close, 1005 for a Close without
    /// status); `None` while still open at the end of the capture.
    pub end_code: Option<u16>,
    pub frames: [u64; 2],
    pub messages: [u64; 2],
    pub violations: u64,
    pub gap_bytes: u64,
    /// Has a problem close, a violation, or a refused upgrade.
    pub problem: bool,
}

/// Initiating closes over time, by reported code: buckets of a width that
/// doubles (from 1 µs) whenever there would be more than [`MAX_BUCKETS`].
#[derive(Clone, Debug)]
pub struct CloseHistogram {
    width_ns: i64,
    /// Bucket number (time / width) to counts by code.
    buckets: BTreeMap<i64, BTreeMap<u16, u64>>,
}

impl Default for CloseHistogram {
    fn default() -> Self {
        CloseHistogram { width_ns: BASE_BUCKET_NS, buckets: BTreeMap::new() }
    }
}

impl CloseHistogram {
    pub fn add(&mut self, ts: Timestamp, code: u16) {
        *self.buckets.entry(ts.as_nanos().div_euclid(self.width_ns)).or_default().entry(code).or_default() += 1;
        while self.buckets.len() > MAX_BUCKETS && self.width_ns < i64::MAX / 2 {
            // floor(floor(t / w) / 2) == floor(t / 2w): merging neighbours is exact.
            self.width_ns *= 2;
            let old = std::mem::take(&mut self.buckets);
            for (k, counts) in old {
                let merged = self.buckets.entry(k.div_euclid(2)).or_default();
                for (code, n) in counts {
                    *merged.entry(code).or_default() += n;
                }
            }
        }
    }

    /// Width of a bucket in nanoseconds.
    pub fn width_ns(&self) -> i64 {
        self.width_ns
    }

    /// Buckets in time order: start time and counts by code.
    pub fn buckets(&self) -> impl Iterator<Item = (Timestamp, &BTreeMap<u16, u64>)> {
        self.buckets.iter().map(|(k, v)| (Timestamp(k.saturating_mul(self.width_ns)), v))
    }
}

/// Items kept up to a cap, important ones first: an important item pushes
/// out the latest normal one when the cap is reached.
#[derive(Clone, Debug)]
struct Kept<T> {
    important: Vec<T>,
    normal: Vec<T>,
    cap: usize,
    dropped: u64,
}

impl<T> Kept<T> {
    fn new(cap: usize) -> Kept<T> {
        Kept { important: Vec::new(), normal: Vec::new(), cap, dropped: 0 }
    }

    fn push(&mut self, important: bool, item: T) {
        let full = self.important.len() + self.normal.len() >= self.cap;
        if !full {
            if important { self.important.push(item) } else { self.normal.push(item) }
        } else if important && self.normal.pop().is_some() {
            self.dropped += 1;
            self.important.push(item);
        } else {
            self.dropped += 1;
        }
    }

    fn iter(&self) -> impl Iterator<Item = &T> {
        self.important.iter().chain(self.normal.iter())
    }
}

/// What is kept about a connection until its record arrives.
#[derive(Debug, Default)]
struct OpenConn {
    ring: [VecDeque<FrameBrief>; 2],
    /// The frames seen when each direction sent its first Close.
    at_close: [Option<(u64, Vec<FrameBrief>)>; 2],
    violations: Vec<CauseEvidence>,
    violation_count: u64,
    closes: Vec<CloseEntry>,
    /// Closes reported as `close-without-visible-cause`: (sender, packet).
    no_visible_cause: Vec<(Option<Direction>, Option<PacketIndex>)>,
}

impl OpenConn {
    /// The latest [`EVIDENCE_FRAMES`] frames of both rings up to `upto`
    /// (inclusive, by time and packet), oldest first.
    fn snapshot(&self, upto: Option<(Timestamp, PacketIndex)>) -> Vec<FrameBrief> {
        let mut all: Vec<&FrameBrief> =
            self.ring.iter().flatten().filter(|f| upto.is_none_or(|(ts, p)| (f.ts, f.last_packet) <= (ts, p))).collect();
        all.sort_by_key(|f| f.order_key());
        let skip = all.len().saturating_sub(EVIDENCE_FRAMES);
        all.into_iter().skip(skip).cloned().collect()
    }

    fn find_frame(&self, dir: Direction, index: u64) -> Option<&FrameBrief> {
        self.ring[dir.index()].iter().rev().find(|f| f.index == index)
    }
}

/// Collects what the HTML and Markdown incident reports need. Feed it every
/// record (it is a [`RecordSink`]), then render with
/// [`crate::report::html::write_html`] or
/// [`crate::report::markdown::write_markdown`].
#[derive(Debug)]
pub struct IncidentCollector {
    captures: Vec<String>,
    open: HashMap<ConnId, OpenConn>,
    connections: Kept<ConnRow>,
    closes: Kept<CloseEntry>,
    violations: Vec<ViolationEntry>,
    violation_cap: usize,
    violations_dropped: u64,
    violations_total: u64,
    /// Initiating closes by reported code and initiator direction.
    endings: BTreeMap<u16, [u64; 2]>,
    histogram: CloseHistogram,
    problem_closes: u64,
    internal_errors: u64,
    /// Inferred 1006 closes of connections whose upgrade was refused.
    refused_upgrades: u64,
}

impl Default for IncidentCollector {
    fn default() -> Self {
        IncidentCollector::new()
    }
}

impl IncidentCollector {
    pub fn new() -> IncidentCollector {
        IncidentCollector::with_caps(MAX_CONNECTIONS, MAX_CLOSES, MAX_VIOLATIONS)
    }

    /// A collector keeping at most these many connection rows, closes and
    /// violations.
    pub fn with_caps(connections: usize, closes: usize, violations: usize) -> IncidentCollector {
        IncidentCollector {
            captures: Vec::new(),
            open: HashMap::new(),
            connections: Kept::new(connections),
            closes: Kept::new(closes),
            violations: Vec::new(),
            violation_cap: violations,
            violations_dropped: 0,
            violations_total: 0,
            endings: BTreeMap::new(),
            histogram: CloseHistogram::default(),
            problem_closes: 0,
            internal_errors: 0,
            refused_upgrades: 0,
        }
    }

    /// Names of the capture files, for the report's header.
    pub fn set_captures<I: IntoIterator<Item = S>, S: AsRef<std::path::Path>>(&mut self, paths: I) {
        self.captures = paths.into_iter().map(|p| p.as_ref().display().to_string()).collect();
    }

    /// Connections still open (their record has not arrived).
    pub fn open_connections(&self) -> usize {
        self.open.len()
    }

    fn conn(&mut self, id: ConnId) -> &mut OpenConn {
        self.open.entry(id).or_default()
    }

    /// Whether a close of a finished connection is a problem: any code but
    /// 1000/1001/1005, unless it just echoes the close that opened the closing
    /// handshake.
    fn mark_problems(closes: &mut [CloseEntry]) {
        let first = closes.iter().find(|c| c.record.initiator).map(|c| c.record.code);
        for c in closes.iter_mut() {
            let r = &c.record;
            let echo = !r.initiator && first.is_some_and(|code| code == r.code || r.code == Some(1000) || r.code.is_none());
            c.problem = crate::report::filter::is_problem_code(r.reported_code) && (!echo || is_internal_error(r));
        }
    }
}

impl RecordSink for IncidentCollector {
    fn connection(&mut self, rec: ConnectionRecord) {
        let mut open = self.open.remove(&rec.conn_id).unwrap_or_default();
        let mut closes = std::mem::take(&mut open.closes);
        IncidentCollector::mark_problems(&mut closes);
        let end_code = closes.iter().find(|c| c.record.initiator).map(|c| c.record.reported_code);
        let any_problem = closes.iter().any(|c| c.problem);
        for mut c in closes {
            if !c.problem {
                let extra = c.frames_before.len().saturating_sub(NORMAL_CLOSE_FRAMES);
                c.frames_before.drain(..extra);
                c.frames_before.shrink_to_fit();
            }
            c.client = rec.client;
            c.server = rec.server;
            c.handshake_failed = rec.handshake == HandshakeState::Failed;
            self.refused_upgrades += u64::from(c.handshake_failed && c.record.inferred && c.record.reported_code == 1006);
            c.path = capped(&rec.http.path);
            self.problem_closes += u64::from(c.problem);
            self.closes.push(c.problem, c);
        }
        let problem = any_problem || open.violation_count > 0 || rec.handshake == HandshakeState::Failed;
        let row = ConnRow {
            conn_id: rec.conn_id,
            client: rec.client,
            server: rec.server,
            start_ts: rec.start_ts,
            end_ts: rec.end_ts,
            first_packet: rec.first_packet,
            last_packet: rec.last_packet,
            handshake: rec.handshake,
            http_status: rec.http.status,
            path: capped(&rec.http.path),
            close_codes: [rec.close_code(Direction::ClientToServer), rec.close_code(Direction::ServerToClient)],
            close_initiator: rec.close_initiator,
            termination: rec.termination,
            end_code,
            frames: rec.frames,
            messages: rec.messages,
            violations: open.violation_count,
            gap_bytes: rec.bytes[0].gap + rec.bytes[1].gap,
            problem,
        };
        self.connections.push(problem, row);
    }

    fn frame(&mut self, rec: FrameRecord) {
        let brief = FrameBrief::from_record(&rec);
        let conn = self.conn(rec.conn_id);
        let d = rec.direction.index();
        let ring = &mut conn.ring[d];
        if ring.len() >= RING_FRAMES {
            ring.pop_front();
        }
        let is_close = brief.opcode == opcode::CLOSE;
        ring.push_back(brief);
        if is_close && conn.at_close[d].is_none() {
            conn.at_close[d] = Some((rec.index, conn.snapshot(None)));
        }
    }

    fn message(&mut self, _rec: MessageRecord) {}

    fn close(&mut self, rec: CloseRecord) {
        if rec.initiator {
            self.endings.entry(rec.reported_code).or_default()[rec.direction.index()] += 1;
            self.histogram.add(rec.ts, rec.reported_code);
        }
        self.internal_errors += u64::from(is_internal_error(&rec));
        let conn = self.conn(rec.conn_id);
        let d = rec.direction.index();
        let frames_before = match (rec.frame_index, &conn.at_close[d]) {
            (Some(i), Some((at, frames))) if *at == i => frames.clone(),
            _ => conn.snapshot(Some((rec.ts, rec.packet))),
        };
        let cause = rec
            .cause_rule
            .and_then(|rule| conn.violations.iter().find(|v| v.violation.rule == rule && v.violation.packet == rec.cause_packet).cloned());
        let no_visible_cause = conn.no_visible_cause.iter().any(|(dir, p)| *dir == Some(rec.direction) && *p == Some(rec.packet));
        let mut rec = rec;
        rec.reason = capped(&rec.reason);
        rec.diagnosis = capped(&rec.diagnosis);
        conn.closes.push(CloseEntry {
            record: rec,
            client: Endpoint::from(([0, 0, 0, 0], 0)),
            server: Endpoint::from(([0, 0, 0, 0], 0)),
            path: String::new(),
            problem: false,
            no_visible_cause,
            frames_before,
            cause,
            handshake_failed: false,
        });
    }

    fn violation(&mut self, rec: ViolationRecord) {
        self.violations_total += 1;
        let mut rec = rec;
        rec.detail = capped(&rec.detail);
        let conn = self.open.entry(rec.conn_id).or_default();
        conn.violation_count += 1;
        let frame = rec.frame_index.and_then(|i| conn.find_frame(rec.direction, i)).cloned();
        if conn.violations.len() < CONN_VIOLATIONS {
            let frames_before = match &frame {
                Some(f) => conn.snapshot(Some((f.ts, f.last_packet))),
                None => Vec::new(),
            };
            conn.violations.push(CauseEvidence { violation: rec.clone(), frame: frame.clone(), frames_before });
        }
        if self.violations.len() < self.violation_cap {
            self.violations.push(ViolationEntry { record: rec, frame });
        } else {
            self.violations_dropped += 1;
        }
    }

    fn finding(&mut self, rec: Finding) {
        if rec.kind == "close-without-visible-cause"
            && let Some(id) = rec.conn_id
        {
            self.conn(id).no_visible_cause.push((rec.direction, rec.packet));
        }
    }
}

/// A server-log error event, ready to show: the one matched to a close, or
/// one that no close claims.
#[derive(Clone, Debug)]
pub struct TraceView {
    /// The log file and its line range.
    pub log_file: String,
    pub line: u64,
    pub end_line: u64,
    /// Log time (as the log states it).
    pub log_ts: Timestamp,
    pub level: Option<&'static str>,
    pub exception: String,
    pub message: String,
    /// The top application frame: `function (file:line)`.
    pub top_frame: String,
    pub confidence: Option<&'static str>,
    /// Why this event (in words).
    pub evidence: String,
    /// Seconds from the close to the event, clock offset corrected.
    pub delta_s: Option<f64>,
}

impl TraceView {
    /// `file:line` or `file:first-last`.
    pub fn location(&self) -> String {
        if self.end_line > self.line {
            format!("{}:{}-{}", self.log_file, self.line, self.end_line)
        } else {
            format!("{}:{}", self.log_file, self.line)
        }
    }

    /// The exception (`Type: message`), else the message.
    pub fn headline(&self) -> &str {
        if self.exception.is_empty() { &self.message } else { &self.exception }
    }
}

/// A close and what the server's logs say about it.
#[derive(Clone, Debug)]
pub struct CloseView<'a> {
    pub entry: &'a CloseEntry,
    /// Why the logs were searched for this close (`1011`,
    /// `server-drop-1006`...: [`TargetKind::as_str`]), when they were.
    pub target_kind: Option<&'static str>,
    pub trace: Option<TraceView>,
    /// Why no trace was found, when the logs were searched.
    pub no_trace_reason: Option<String>,
}

impl CloseView<'_> {
    /// The question this close leaves open, if any: a 1011 without a
    /// trace, a 1002/1007 with clean bytes at the capture point, a server
    /// drop or service close nothing explains.
    pub fn open_question(&self, logs_given: bool) -> Option<String> {
        let r = &self.entry.record;
        let why = || match &self.no_trace_reason {
            Some(w) => format!("no trace found in the logs: {w}"),
            None if logs_given => "the logs were not searched for it".to_string(),
            None => "no server log was given (--log) to find its stack trace".to_string(),
        };
        if self.entry.no_visible_cause {
            let what = if r.reported_code == 1007 { "invalid message data (1007)" } else { "a protocol error (1002)" };
            let who = r.direction.sender().as_str();
            let peer = r.direction.sender().peer().as_str();
            return Some(format!(
                "the {who} reported {what}, but every byte the {peer} sent is well-formed at the capture point: \
                 were the bytes altered between the capture point and the {who} (a proxy, a load balancer), or is the {who}'s parser wrong?{}",
                self.trace.as_ref().map_or(String::new(), |t| format!(" The log names {}.", t.headline()))
            ));
        }
        if self.trace.is_some() || self.entry.handshake_failed {
            return None;
        }
        if self.entry.is_internal_error() {
            return Some(format!("what failed inside the {}? {}", r.direction.sender().as_str(), why()));
        }
        if r.inferred && r.reported_code == 1006 && r.direction == Direction::ServerToClient && self.entry.problem {
            return Some(format!("why did the server end the connection without a Close? {}", why()));
        }
        if matches!(r.reported_code, 1012..=1014) && r.direction == Direction::ServerToClient && r.initiator {
            return Some(format!(
                "why did the server close with {} {}? {}",
                r.reported_code,
                crate::ws::close::code_name(r.reported_code),
                why()
            ));
        }
        None
    }
}

/// Initiating closes of one code, by who initiated them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndingRow {
    pub code: u16,
    pub name: &'static str,
    /// By direction index: from the client, from the server (for an
    /// inferred 1006: the side that ended TCP first).
    pub by: [u64; 2],
}

impl EndingRow {
    pub fn total(&self) -> u64 {
        self.by[0] + self.by[1]
    }
}

/// The log side, ready to show.
#[derive(Clone, Debug)]
pub struct LogView {
    /// (path, format, lines, events).
    pub files: Vec<(String, String, u64, u64)>,
    pub notices: Vec<String>,
    /// Log time = capture time + `offset_s`.
    pub offset_s: f64,
    pub offset_method: &'static str,
    /// The clock offset in words.
    pub offset_text: String,
    pub looked_up: usize,
    pub explained: usize,
    /// Error events no close claims (the first [`MAX_UNMATCHED`]).
    pub unmatched: Vec<TraceView>,
    pub unmatched_total: usize,
}

/// Everything the HTML and Markdown reports show, sorted and ready.
#[derive(Clone, Debug)]
pub struct IncidentReport<'a> {
    pub captures: &'a [String],
    pub files: usize,
    pub packets: u64,
    pub tcp_connections: u64,
    pub capture_notices: Vec<String>,
    /// First connection start and last connection end.
    pub span: Option<(Timestamp, Timestamp)>,
    pub connections_total: u64,
    pub handshake_ok: u64,
    pub handshake_failed: u64,
    pub handshake_missing: u64,
    pub frames_total: u64,
    pub messages: [u64; 2],
    /// Close frames by code (`None`: no status) and sender.
    pub close_frames: Vec<(Option<u16>, [u64; 2])>,
    /// Initiating closes (one per connection that closed) by reported code
    /// and initiator.
    pub endings: Vec<EndingRow>,
    pub problem_closes_total: u64,
    pub violations_total: u64,
    pub violations_by_rule: Vec<(&'static str, u64)>,
    pub findings_by_kind: Vec<(&'static str, u64)>,
    pub gap_bytes: u64,
    /// 1011 closes (initiating, or any from the server).
    pub internal_errors: u64,
    /// Of those, how many a log event explains (`None`: no log read).
    pub internal_explained: Option<u64>,
    /// Inferred 1006 closes that are refused upgrades (no WebSocket
    /// connection ever existed).
    pub refused_upgrades: u64,
    /// Sorted by start, then connection.
    pub connections: Vec<&'a ConnRow>,
    pub connections_dropped: u64,
    /// Sorted by time, then packet.
    pub closes: Vec<CloseView<'a>>,
    pub closes_dropped: u64,
    /// Sorted by time, then packet.
    pub violations: Vec<&'a ViolationEntry>,
    pub violations_dropped: u64,
    pub histogram: &'a CloseHistogram,
    pub log: Option<LogView>,
}

fn trace_view(inv: &LogInvestigation, event: usize, row: Option<&crate::correlate::MatchRow>) -> Option<TraceView> {
    let e = inv.collector.errors.get(event)?;
    Some(TraceView {
        log_file: inv.summary.files.get(e.file).map(|f| f.path.display().to_string()).unwrap_or_default(),
        line: e.line,
        end_line: e.end_line,
        log_ts: e.ts,
        level: e.level.map(|l| l.as_str()),
        exception: capped(&e.exception),
        message: capped(&e.message),
        top_frame: capped(&e.top_frame),
        confidence: row.and_then(|r| r.confidence).map(|c| c.as_str()),
        evidence: row.map(|r| capped(&r.evidence)).unwrap_or_default(),
        delta_s: row.and_then(|r| r.delta_s),
    })
}

impl<'a> IncidentReport<'a> {
    pub fn build(c: &'a IncidentCollector, s: &Summary, totals: &CaptureTotals, inv: Option<&LogInvestigation>) -> IncidentReport<'a> {
        // What the logs say, by (connection, close packet).
        let mut looked: HashMap<(ConnId, PacketIndex), (TargetKind, Option<TraceView>, String)> = HashMap::new();
        let mut internal_explained = None;
        let log = inv.map(|inv| {
            let mut explained = 0u64;
            for row in &inv.correlation.rows {
                let Some(t) = row.target.and_then(|i| inv.targets.get(i)) else { continue };
                let trace = row.event.and_then(|e| trace_view(inv, e, Some(row)));
                if trace.is_some() && matches!(t.kind, TargetKind::InternalError | TargetKind::ClientInternalError) {
                    explained += 1;
                }
                looked.insert((t.conn_id, t.close_packet), (t.kind, trace, capped(&row.evidence)));
            }
            internal_explained = Some(explained);
            let orphans: Vec<usize> = inv.correlation.rows.iter().filter(|r| r.target.is_none()).filter_map(|r| r.event).collect();
            let o = &inv.correlation.offset;
            let offset_text = match o.method {
                "given" => format!("log = capture {:+.3} s (given)", o.seconds),
                "none" => "none estimated (no connection named in the log, no error near a close); 0 assumed".to_string(),
                m => format!(
                    "log = capture {:+.3} s (from {} {}, spread {:.3} s)",
                    o.seconds,
                    o.pairs,
                    if m == "anchors" { "connections the log names" } else { "closes aligned with error events" },
                    o.spread_s
                ),
            };
            LogView {
                files: inv.summary.files.iter().map(|f| (f.path.display().to_string(), f.format.to_string(), f.lines, f.events)).collect(),
                notices: inv.summary.notices.iter().take(20).map(|n| capped(&n.to_string())).collect(),
                offset_s: o.seconds,
                offset_method: o.method,
                offset_text,
                looked_up: inv.correlation.rows.iter().filter(|r| r.target.is_some()).count(),
                explained: inv.correlation.rows.iter().filter(|r| r.target.is_some() && r.event.is_some()).count(),
                unmatched: orphans.iter().take(MAX_UNMATCHED).filter_map(|e| trace_view(inv, *e, None)).collect(),
                unmatched_total: orphans.len(),
            }
        });
        let mut closes: Vec<CloseView> = c
            .closes
            .iter()
            .map(|e| {
                let found = looked.get(&(e.record.conn_id, e.record.packet));
                CloseView {
                    entry: e,
                    target_kind: found.map(|f| f.0.as_str()),
                    trace: found.and_then(|f| f.1.clone()),
                    no_trace_reason: found.filter(|f| f.1.is_none()).map(|f| f.2.clone()),
                }
            })
            .collect();
        closes.sort_by_key(|v| (v.entry.record.ts, v.entry.record.packet, v.entry.record.conn_id, v.entry.record.direction));
        let mut connections: Vec<&ConnRow> = c.connections.iter().collect();
        connections.sort_by_key(|r| (r.start_ts, r.conn_id));
        let mut violations: Vec<&ViolationEntry> = c.violations.iter().collect();
        violations.sort_by_key(|v| (v.record.ts, v.record.packet, v.record.conn_id));
        let mut by_code: BTreeMap<Option<u16>, [u64; 2]> = BTreeMap::new();
        for ((code, dir), n) in &s.closes {
            by_code.entry(*code).or_default()[dir.index()] += n;
        }
        let mut violations_by_rule: Vec<(&'static str, u64)> = s.violations.iter().map(|(k, v)| (*k, *v)).collect();
        violations_by_rule.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        IncidentReport {
            captures: &c.captures,
            files: totals.files,
            packets: totals.packets,
            tcp_connections: totals.tcp_connections,
            capture_notices: totals.notices.iter().take(50).map(|n| capped(n)).collect(),
            span: s.first_ts.zip(s.last_ts),
            connections_total: s.connections,
            handshake_ok: s.handshake_ok,
            handshake_failed: s.handshake_failed,
            handshake_missing: s.handshake_missing,
            frames_total: s.total_frames(),
            messages: s.messages,
            close_frames: by_code.into_iter().collect(),
            endings: c
                .endings
                .iter()
                .map(|(code, by)| EndingRow { code: *code, name: crate::ws::close::code_name(*code), by: *by })
                .collect(),
            problem_closes_total: c.problem_closes,
            violations_total: c.violations_total,
            violations_by_rule,
            findings_by_kind: s.findings.iter().map(|(k, v)| (*k, *v)).collect(),
            gap_bytes: s.gap_bytes,
            internal_errors: c.internal_errors,
            internal_explained,
            refused_upgrades: c.refused_upgrades,
            connections,
            connections_dropped: c.connections.dropped,
            closes,
            closes_dropped: c.closes.dropped,
            violations,
            violations_dropped: c.violations_dropped,
            histogram: &c.histogram,
            log,
        }
    }

    /// The closes that are not normal (see [`CloseEntry::problem`]).
    pub fn problem_closes(&self) -> impl Iterator<Item = &CloseView<'a>> {
        self.closes.iter().filter(|c| c.entry.problem)
    }

    /// Connections that ended without any Close frame (inferred 1006),
    /// refused upgrades included (see [`IncidentReport::refused_upgrades`]).
    pub fn abnormal_closures(&self) -> u64 {
        self.endings.iter().filter(|e| e.code == 1006).map(EndingRow::total).sum()
    }
}

/// Hand-built records for the report tests.
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) mod test_records {
    use super::*;
    use crate::session::record::{ByteAccount, HandshakeInfo};
    use crate::ws::{FrameHeader, HeaderParse};

    pub const C2S: Direction = Direction::ClientToServer;
    pub const S2C: Direction = Direction::ServerToClient;

    /// 2026-11-24T10:00:00Z plus `ms` milliseconds.
    pub fn at(ms: i64) -> Timestamp {
        Timestamp::from_nanos(1_795_514_400_000_000_000 + ms * 1_000_000)
    }

    /// The summary and the collector, fed the same records.
    #[derive(Default)]
    pub struct Both {
        pub summary: Summary,
        pub incident: IncidentCollector,
    }

    impl RecordSink for Both {
        fn connection(&mut self, rec: ConnectionRecord) {
            self.summary.connection(&rec);
            self.incident.connection(rec);
        }
        fn frame(&mut self, rec: FrameRecord) {
            self.summary.frame(&rec);
            self.incident.frame(rec);
        }
        fn message(&mut self, rec: MessageRecord) {
            self.summary.message(&rec);
            self.incident.message(rec);
        }
        fn close(&mut self, rec: CloseRecord) {
            self.summary.close(&rec);
            self.incident.close(rec);
        }
        fn violation(&mut self, rec: ViolationRecord) {
            self.summary.violation(&rec);
            self.incident.violation(rec);
        }
        fn finding(&mut self, rec: Finding) {
            self.summary.finding(&rec);
            self.incident.finding(rec);
        }
    }

    pub fn connection(id: ConnId, start_ms: i64, end_ms: i64, closes: [Option<u16>; 2], initiator: Option<Direction>) -> ConnectionRecord {
        let seen = |code: Option<u16>| {
            code.map(|c| crate::session::record::CloseSeen {
                code: Some(c),
                reason: String::new(),
                packet: 1,
                ts: at(end_ms),
                frame_index: 0,
            })
        };
        ConnectionRecord {
            conn_id: id,
            community_id: String::new(),
            client: format!("10.0.0.{}:{}", id % 200 + 1, 40_000 + id).parse().unwrap(),
            server: "192.0.2.1:443".parse().unwrap(),
            roles_from: "syn",
            first_packet: 1,
            last_packet: 2,
            start_ts: at(start_ms),
            end_ts: at(end_ms),
            handshake: HandshakeState::Ok,
            http: HandshakeInfo { path: "/ws".to_string(), status: 101, ..HandshakeInfo::default() },
            frames: [0; 2],
            messages: [0; 2],
            payload_bytes: [0; 2],
            closes: [seen(closes[0]), seen(closes[1])],
            close_initiator: initiator,
            termination: if closes.iter().all(Option::is_some) { Termination::CloseHandshake } else { Termination::Fin },
            fin_packet: [None; 2],
            fin_ts: [None; 2],
            rst_packet: None,
            rst_ts: None,
            rst_from: None,
            bytes: [ByteAccount::default(); 2],
        }
    }

    /// A frame from its wire header bytes and (unmasked) payload.
    pub fn frame(conn: ConnId, dir: Direction, index: u64, packet: PacketIndex, ms: i64, header: &[u8], payload: &[u8]) -> FrameRecord {
        let HeaderParse::Complete(h) = FrameHeader::parse(header) else { panic!("incomplete header {header:?}") };
        let body = crate::ws::close::CloseBody::parse(payload);
        let is_close = h.opcode == opcode::CLOSE;
        FrameRecord {
            conn_id: conn,
            direction: dir,
            index,
            header: h,
            stream_offset: 0,
            first_packet: packet,
            last_packet: packet,
            first_ts: at(ms),
            ts: at(ms),
            captured_len: h.payload_len,
            gap_len: 0,
            truncated: false,
            message_index: None,
            compressed: false,
            inflated_len: None,
            close_code: if is_close { body.code() } else { None },
            close_reason: is_close.then(|| body.reason_lossy()),
            payload: payload.to_vec(),
            inflated: Vec::new(),
            text: h.opcode == opcode::TEXT,
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn close(
        conn: ConnId,
        dir: Direction,
        code: u16,
        reason: &str,
        packet: PacketIndex,
        ms: i64,
        initiator: bool,
        cause: Option<(&'static str, PacketIndex)>,
    ) -> CloseRecord {
        CloseRecord {
            conn_id: conn,
            direction: dir,
            frame_index: Some(if initiator { 1 } else { 2 }),
            ts: at(ms),
            packet,
            code: Some(code),
            reason: reason.to_string(),
            initiator,
            inferred: false,
            reported_code: code,
            diagnosis: format!("{} closed with {code}", dir.sender().as_str()),
            cause_rule: cause.map(|c| c.0),
            cause_packet: cause.map(|c| c.1),
            answered: initiator.then_some(true),
            answer_delay_s: initiator.then_some(0.001),
            tcp_end_delay_s: Some(0.002),
        }
    }

    pub fn violation(
        conn: ConnId,
        dir: Direction,
        frame_index: Option<u64>,
        packet: PacketIndex,
        ms: i64,
        rule: &'static str,
        expected: Option<u16>,
    ) -> ViolationRecord {
        ViolationRecord {
            conn_id: conn,
            direction: dir,
            frame_index,
            ts: at(ms),
            packet: Some(packet),
            rule,
            rfc_section: "RFC 6455 §5.2",
            expected_close: expected,
            detail: format!("{rule} detail"),
        }
    }

    /// A connection whose client sends text frames, one of them with a
    /// reserved opcode, and the server fails it with 1002; the client echoes.
    pub fn protocol_error(sink: &mut dyn RecordSink, conn: ConnId, base_ms: i64) {
        let p = conn * 100;
        for i in 0..12u64 {
            sink.frame(frame(conn, C2S, i, p + i, base_ms + i as i64, &[0x81, 0x85, 1, 2, 3, 4], b"hello"));
        }
        sink.frame(frame(conn, C2S, 12, p + 20, base_ms + 20, &[0x83, 0x85, 1, 2, 3, 4], b"bad!!"));
        sink.violation(violation(conn, C2S, Some(12), p + 20, base_ms + 20, "reserved-opcode", Some(1002)));
        sink.frame(frame(conn, S2C, 0, p + 21, base_ms + 21, &[0x88, 0x10], b"\x03\xeainvalid opcode"));
        sink.frame(frame(conn, C2S, 13, p + 22, base_ms + 22, &[0x88, 0x82, 0, 0, 0, 0], b"\x03\xea"));
        sink.close(close(conn, S2C, 1002, "invalid opcode", p + 21, base_ms + 21, true, Some(("reserved-opcode", p + 20))));
        sink.close(close(conn, C2S, 1002, "", p + 22, base_ms + 22, false, None));
        let mut rec = connection(conn, base_ms - 5, base_ms + 30, [Some(1002), Some(1002)], Some(S2C));
        rec.frames = [14, 1];
        sink.connection(rec);
    }

    /// A connection closed normally by the client.
    pub fn normal(sink: &mut dyn RecordSink, conn: ConnId, base_ms: i64) {
        let p = conn * 100;
        sink.frame(frame(conn, C2S, 0, p, base_ms, &[0x88, 0x82, 0, 0, 0, 0], b"\x03\xe8"));
        sink.frame(frame(conn, S2C, 0, p + 1, base_ms + 1, &[0x88, 0x02], b"\x03\xe8"));
        sink.close(close(conn, C2S, 1000, "", p, base_ms, true, None));
        sink.close(close(conn, S2C, 1000, "", p + 1, base_ms + 1, false, None));
        sink.connection(connection(conn, base_ms - 10, base_ms + 2, [Some(1000), Some(1000)], Some(C2S)));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::test_records::*;
    use super::*;

    fn report(b: &Both) -> IncidentReport<'_> {
        IncidentReport::build(&b.incident, &b.summary, &CaptureTotals::default(), None)
    }

    #[test]
    fn a_close_keeps_the_frames_before_it_and_the_violating_frame() {
        let mut b = Both::default();
        protocol_error(&mut b, 3, 1_000);
        assert_eq!(b.incident.open_connections(), 0, "the ring is dropped with the connection record");
        let r = report(&b);
        assert_eq!(r.closes.len(), 2);
        let server = r.closes.iter().find(|c| c.entry.record.direction == S2C).unwrap();
        assert!(server.entry.problem);
        // The last EVIDENCE_FRAMES frames, the server's Close last.
        let fb = &server.entry.frames_before;
        assert_eq!(fb.len(), EVIDENCE_FRAMES);
        let last = fb.last().unwrap();
        assert_eq!((last.direction, last.opcode, last.close_code), (S2C, opcode::CLOSE, Some(1002)));
        assert!(fb.windows(2).all(|w| w[0].order_key() <= w[1].order_key()));
        // The cause: the reserved-opcode frame with its header fields.
        let cause = server.entry.cause.as_ref().expect("the 1002 is linked to its violation");
        assert_eq!(cause.violation.rule, "reserved-opcode");
        let f = cause.frame.as_ref().expect("the violating frame was in the ring");
        assert_eq!((f.index, f.opcode, f.fin, f.rsv1, f.mask, f.payload_len), (12, 3, true, false, Some([1, 2, 3, 4]), 5));
        assert_eq!(cause.frames_before.last(), Some(f));
        assert_eq!(server.entry.wireshark_filter(), "tcp.stream == 3 && frame.number in {320 321}");
        // The client's echo is not a problem of its own.
        let echo = r.closes.iter().find(|c| c.entry.record.direction == C2S).unwrap();
        assert!(!echo.entry.problem);
        assert_eq!(r.problem_closes().count(), 1);
        assert_eq!(r.endings, vec![EndingRow { code: 1002, name: "Protocol Error", by: [0, 1] }]);
    }

    #[test]
    fn rings_stay_bounded_while_a_connection_is_open() {
        let mut b = Both::default();
        for i in 0..10_000u64 {
            b.frame(frame(1, if i % 2 == 0 { C2S } else { S2C }, i / 2, i + 1, i as i64, &[0x82, 0x01], b"x"));
        }
        let open = b.incident.open.get(&1).unwrap();
        assert!(open.ring.iter().all(|r| r.len() == RING_FRAMES));
        assert_eq!(open.ring[1].back().unwrap().index, 4_999);
    }

    #[test]
    fn caps_keep_problem_connections_and_closes_first() {
        let mut b = Both { incident: IncidentCollector::with_caps(4, 4, 1), ..Both::default() };
        for id in 0..6 {
            normal(&mut b, id, 100 * id as i64);
        }
        protocol_error(&mut b, 10, 2_000);
        protocol_error(&mut b, 11, 3_000);
        let r = report(&b);
        assert_eq!(r.connections.len(), 4);
        assert_eq!(r.connections_dropped, 4);
        assert!(r.connections.iter().any(|c| c.conn_id == 10) && r.connections.iter().any(|c| c.conn_id == 11));
        assert_eq!(r.problem_closes().count(), 2, "problem closes are kept over normal ones");
        assert_eq!(r.closes.len(), 4);
        assert_eq!(r.closes_dropped, 16 - 4);
        assert_eq!((r.violations.len(), r.violations_dropped, r.violations_total), (1, 1, 2));
        // Counts stay whole whatever the caps.
        assert_eq!(r.problem_closes_total, 2);
        assert_eq!(r.endings.iter().map(EndingRow::total).sum::<u64>(), 8);
    }

    #[test]
    fn histogram_widens_its_buckets_and_keeps_every_count() {
        let mut h = CloseHistogram::default();
        for i in 0..10_000i64 {
            h.add(at(i * 7), if i % 3 == 0 { 1011 } else { 1000 });
        }
        assert!(h.buckets.len() <= MAX_BUCKETS);
        assert!(h.width_ns() > BASE_BUCKET_NS && h.width_ns() % BASE_BUCKET_NS == 0);
        let total: u64 = h.buckets().flat_map(|(_, c)| c.values()).sum();
        assert_eq!(total, 10_000);
        let errors: u64 = h.buckets().filter_map(|(_, c)| c.get(&1011)).sum();
        assert_eq!(errors, 3_334);
        // Bucket starts are multiples of the width, in order.
        let starts: Vec<i64> = h.buckets().map(|(t, _)| t.as_nanos()).collect();
        assert!(starts.windows(2).all(|w| w[0] < w[1]) && starts.iter().all(|t| t % h.width_ns() == 0));
    }

    #[test]
    fn replies_that_echo_are_not_problems_but_a_1011_reply_is() {
        let mut b = Both::default();
        // Client closes 1000, the server answers 1011.
        b.close(close(5, C2S, 1000, "", 10, 0, true, None));
        b.close(close(5, S2C, 1011, "boom", 11, 1, false, None));
        b.connection(connection(5, 0, 2, [Some(1000), Some(1011)], Some(C2S)));
        let r = report(&b);
        let problems: Vec<u16> = r.problem_closes().map(|c| c.entry.record.reported_code).collect();
        assert_eq!(problems, vec![1011]);
        assert_eq!(r.internal_errors, 1);
        assert!(r.closes[1].open_question(false).unwrap().contains("no server log was given"));
    }

    #[test]
    fn clean_bytes_1002_is_an_open_question() {
        let mut b = Both::default();
        b.finding(Finding {
            conn_id: Some(8),
            direction: Some(S2C),
            kind: "close-without-visible-cause",
            packet: Some(40),
            ts: Some(at(5)),
            stream_offset: None,
            len: None,
            detail: String::new(),
        });
        b.close(close(8, S2C, 1002, "", 40, 5, true, None));
        b.connection(connection(8, 0, 6, [None, Some(1002)], Some(S2C)));
        let r = report(&b);
        assert!(r.closes[0].entry.no_visible_cause);
        let q = r.closes[0].open_question(false).unwrap();
        assert!(q.contains("well-formed at the capture point"), "{q}");
    }

    #[test]
    fn text_is_cleaned_of_control_and_invisible_characters() {
        assert_eq!(clean_text("a\x1b[2Jb\r\n"), "a\\x1b[2Jb\\r\\n");
        assert_eq!(clean_text("evil\u{202e}txt.exe\u{2028}"), "evil\\u{202e}txt.exe\\u{2028}");
        assert_eq!(clean_text("plain – ü ✓"), "plain – ü ✓");
        assert_eq!(capped(&"x".repeat(MAX_TEXT + 5)).chars().count(), MAX_TEXT + 1);
    }

    #[test]
    fn previews_show_text_or_hex() {
        let f = FrameBrief::from_record(&frame(1, C2S, 0, 1, 0, &[0x81, 0x85, 1, 2, 3, 4], b"hello"));
        assert_eq!(f.preview_text().as_deref(), Some("hello"));
        assert_eq!(f.preview_hex(), "68 65 6c 6c 6f");
        let c = FrameBrief::from_record(&frame(1, S2C, 0, 1, 0, &[0x88, 0x04], b"\x03\xe8ok"));
        assert_eq!(c.preview_text().as_deref(), Some("ok"));
        let bin = FrameBrief::from_record(&frame(1, S2C, 1, 1, 0, &[0x82, 0x03], b"\x00\x01\xff"));
        assert_eq!(bin.preview_text(), None);
        let long = FrameBrief::from_record(&frame(1, S2C, 2, 1, 0, &[0x82, 0x7e, 0x00, 0xc8], &[7u8; 200]));
        assert_eq!(long.preview().len(), PREVIEW_BYTES);
    }
}
