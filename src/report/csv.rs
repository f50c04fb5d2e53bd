//! CSV export: connections.csv, frames.csv, messages.csv, closes.csv,
//! violations.csv and findings.csv.
//!
//! RFC 4180 (a field is quoted when it holds a comma, a quote, CR or LF, its
//! quotes doubled: what the csv crate writes), a header row, timestamps in UTC
//! RFC 3339 with microseconds, booleans `true`/`false`, packet numbers
//! 1-based as Wireshark's `frame.number`. The leading columns of each file
//! are a public contract (scripts rely on their names and order); more
//! columns may only be added after them.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::correlate::{ErrorEvent, LogInvestigation, MatchRow};
use crate::error::Error;
use crate::model::{Direction, Timestamp};
use crate::session::record::{CloseRecord, ConnectionRecord, Finding, FrameRecord, MessageRecord, ViolationRecord};
use crate::ws::opcode;

/// Column names of connections.csv, in order.
pub const CONNECTION_COLUMNS: &[&str] = &[
    "conn_id",
    "community_id",
    "client_ip",
    "client_port",
    "server_ip",
    "server_port",
    "start_ts",
    "end_ts",
    "handshake",
    "http_status",
    "path",
    "subprotocol",
    "extensions",
    "frames_c2s",
    "frames_s2c",
    "messages_c2s",
    "messages_s2c",
    "payload_bytes_c2s",
    "payload_bytes_s2c",
    "close_code_c2s",
    "close_code_s2c",
    "close_initiator",
    "termination",
    "gap_bytes",
    // Added after the contract columns.
    "first_packet",
    "last_packet",
    "roles_from",
    "host",
    "origin",
    "user_agent",
    "sec_websocket_key",
    "sec_websocket_version",
    "protocols_offered",
    "extensions_offered",
    "accept_valid",
    "fin_packet_c2s",
    "fin_packet_s2c",
    "rst_packet",
    "rst_from",
    "bytes_captured_c2s",
    "bytes_handshake_c2s",
    "bytes_frame_headers_c2s",
    "bytes_frame_payload_c2s",
    "bytes_undecoded_c2s",
    "bytes_duplicate_c2s",
    "bytes_gap_c2s",
    "bytes_captured_s2c",
    "bytes_handshake_s2c",
    "bytes_frame_headers_s2c",
    "bytes_frame_payload_s2c",
    "bytes_undecoded_s2c",
    "bytes_duplicate_s2c",
    "bytes_gap_s2c",
];

/// Column names of frames.csv, in order.
pub const FRAME_COLUMNS: &[&str; FRAME_WIDTH] = &[
    "conn_id",
    "direction",
    "frame_index",
    "ts",
    "first_packet",
    "last_packet",
    "stream_offset",
    "fin",
    "rsv1",
    "rsv2",
    "rsv3",
    "opcode",
    "opcode_name",
    "masked",
    "payload_len",
    "message_index",
    "compressed",
    "inflated_len",
    // Added after the contract columns.
    "mask_key",
    "header_len",
    "length_bits",
    "captured_len",
    "gap_len",
    "truncated",
    "first_ts",
    "close_code",
    "close_reason",
    "payload_preview",
    "payload_preview_encoding",
];

/// Columns of frames.csv and messages.csv. Their rows are arrays: they
/// are most of the rows written, and a vector each was an allocation each.
pub const FRAME_WIDTH: usize = 29;
pub const MESSAGE_WIDTH: usize = 16;

/// Column names of messages.csv, in order.
pub const MESSAGE_COLUMNS: &[&str; MESSAGE_WIDTH] = &[
    "conn_id",
    "direction",
    "message_index",
    "opcode",
    "opcode_name",
    "frames",
    "payload_len",
    "first_frame",
    "last_frame",
    "first_packet",
    "last_packet",
    "first_ts",
    "ts",
    "complete",
    "compressed",
    "inflated_len",
];

/// Column names of closes.csv, in order.
pub const CLOSE_COLUMNS: &[&str] = &[
    "conn_id",
    "direction",
    "ts",
    "packet",
    "code",
    "reason",
    "initiator",
    "inferred",
    "diagnosis",
    "cause_rule",
    "cause_packet",
    // Added after the contract columns.
    "frame_index",
    "code_name",
    "reported_code",
    "answered",
    "answer_delay_s",
    "tcp_end_delay_s",
];

/// Column names of violations.csv, in order.
pub const VIOLATION_COLUMNS: &[&str] =
    &["conn_id", "direction", "frame_index", "ts", "packet", "rule", "rfc_section", "expected_close", "detail"];

/// Column names of findings.csv, in order.
pub const FINDING_COLUMNS: &[&str] = &["conn_id", "direction", "kind", "packet", "ts", "stream_offset", "len", "detail"];

/// How text taken from the traffic is written.
#[derive(Clone, Copy, Debug, Default)]
pub struct CsvOptions {
    /// Write attacker-controlled text as is, without neutralizing cells that
    /// a spreadsheet would run as a formula.
    pub raw: bool,
    /// Bytes of payload previewed per frame in frames.csv (0: none).
    pub payloads: usize,
}

/// Writes the CSV files into a directory as records arrive.
pub struct CsvWriter {
    dir: PathBuf,
    opts: CsvOptions,
    connections: CsvFile<BufWriter<File>>,
    frames: CsvFile<BufWriter<File>>,
    messages: CsvFile<BufWriter<File>>,
    closes: CsvFile<BufWriter<File>>,
    violations: CsvFile<BufWriter<File>>,
    findings: CsvFile<BufWriter<File>>,
}

fn open(dir: &Path, name: &str, columns: &[&str]) -> Result<CsvFile<BufWriter<File>>, Error> {
    let path = dir.join(name);
    let file = File::create(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
    CsvFile::new(BufWriter::with_capacity(256 * 1024, file), columns).map_err(|source| Error::Io { path, source })
}

/// One CSV file being written: a header row, then rows of cells.
///
/// Rows are formatted here, straight into one reused buffer, and written
/// with one call each. Through the csv crate's writer each field cost about
/// 450 instructions (a `fmt` call per number, then the crate's per-field
/// state machine), which made `--csv` slower than the whole analysis; the
/// output is the same bytes (tests read it back with the csv crate).
pub struct CsvFile<W: Write> {
    out: W,
    row: Vec<u8>,
    /// Fields per row (the header's): a row of another width is a bug.
    width: usize,
}

impl<W: Write> CsvFile<W> {
    /// Starts the file with its header row.
    pub fn new(out: W, columns: &[&str]) -> std::io::Result<CsvFile<W>> {
        let mut f = CsvFile { out, row: Vec::with_capacity(512), width: columns.len() };
        for (i, c) in columns.iter().enumerate() {
            if i > 0 {
                f.row.push(b',');
            }
            push_field(&mut f.row, "", c);
        }
        f.row.push(b'\n');
        f.out.write_all(&f.row)?;
        Ok(f)
    }

    /// Writes one row.
    pub fn row(&mut self, cells: &[Cell<'_>], opts: CsvOptions) -> std::io::Result<()> {
        debug_assert_eq!(cells.len(), self.width, "a row must have one cell per column");
        self.row.clear();
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                self.row.push(b',');
            }
            c.push_csv(opts, &mut self.row);
        }
        self.row.push(b'\n');
        self.out.write_all(&self.row)
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Appends `prefix` and `text` as one field, quoted when RFC 4180 needs it:
/// the field holds a comma, a quote, CR or LF (quotes are doubled inside).
fn push_field(out: &mut Vec<u8>, prefix: &str, text: &str) {
    let special = |s: &str| s.bytes().any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'));
    if !special(prefix) && !special(text) {
        out.extend_from_slice(prefix.as_bytes());
        out.extend_from_slice(text.as_bytes());
        return;
    }
    out.push(b'"');
    for part in [prefix, text] {
        for piece in part.as_bytes().split_inclusive(|&b| b == b'"') {
            out.extend_from_slice(piece);
            if piece.last() == Some(&b'"') {
                out.push(b'"');
            }
        }
    }
    out.push(b'"');
}

/// One typed cell of a row, shared by the CSV and the JSON Lines writers so
/// that both are built from the same code (see `*_cells` below).
///
/// In CSV a cell is written as text (`Null` as an empty cell, `Float` with
/// six decimals, `Text` through [`safe_text`]); in JSON as a typed value
/// (see [`Cell::to_json`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Cell<'a> {
    /// A string of the tool's own (a name, a timestamp, an address).
    Str(Cow<'a, str>),
    /// Text taken from the traffic or a log: neutralized against formula
    /// injection in CSV, written as is in JSON.
    Text(Cow<'a, str>),
    Int(u64),
    /// Seconds and other fractions; six decimals in CSV.
    Float(f64),
    Bool(bool),
    /// A time, as UTC RFC 3339 with microseconds.
    Ts(Timestamp),
    /// An empty cell: the value does not apply or is unknown.
    Null,
}

impl<'a> Cell<'a> {
    fn s(v: &'a str) -> Cell<'a> {
        Cell::Str(Cow::Borrowed(v))
    }

    fn text(v: &'a str) -> Cell<'a> {
        Cell::Text(Cow::Borrowed(v))
    }

    fn ts(t: Timestamp) -> Cell<'a> {
        Cell::Ts(t)
    }

    fn int<T: Into<u64>>(v: Option<T>) -> Cell<'a> {
        v.map_or(Cell::Null, |x| Cell::Int(x.into()))
    }

    fn boolean(v: Option<bool>) -> Cell<'a> {
        v.map_or(Cell::Null, Cell::Bool)
    }

    fn float(v: Option<f64>) -> Cell<'a> {
        v.map_or(Cell::Null, Cell::Float)
    }

    /// The cell as CSV text.
    pub fn to_csv(&self, opts: CsvOptions) -> Cow<'_, str> {
        match self {
            Cell::Str(s) => Cow::Borrowed(s.as_ref()),
            Cell::Text(s) => Cow::Owned(safe_text(s, opts)),
            Cell::Int(n) => Cow::Owned(n.to_string()),
            Cell::Float(x) => Cow::Owned(format!("{x:.6}")),
            Cell::Bool(v) => Cow::Borrowed(b(*v)),
            Cell::Ts(t) => Cow::Owned(t.rfc3339_micros()),
            Cell::Null => Cow::Borrowed(""),
        }
    }

    /// Appends the cell's CSV text to `out` (what [`Cell::to_csv`] gives,
    /// without an allocation per cell).
    fn push_csv(&self, opts: CsvOptions, out: &mut Vec<u8>) {
        match self {
            Cell::Str(s) => push_field(out, "", s),
            Cell::Text(s) => push_field(out, if needs_guard(s, opts) { "'" } else { "" }, s),
            Cell::Int(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
            Cell::Float(x) => {
                let _ = write!(out, "{x:.6}");
            }
            Cell::Bool(v) => out.extend_from_slice(b(*v).as_bytes()),
            Cell::Ts(t) => t.push_rfc3339_micros_bytes(out),
            Cell::Null => {}
        }
    }

    /// The cell as a JSON value: `Int` and `Float` as numbers (a float
    /// rounded to the six decimals the CSV shows; not finite: null),
    /// `Bool` as a boolean, text raw (no formula guard), and every cell that
    /// is empty in CSV (`Null`, an empty string) as null.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Cell::Str(s) | Cell::Text(s) if s.is_empty() => Value::Null,
            Cell::Str(s) | Cell::Text(s) => Value::String(s.to_string()),
            Cell::Ts(t) => Value::String(t.rfc3339_micros()),
            Cell::Int(n) => Value::from(*n),
            Cell::Float(x) => {
                let shown: f64 = format!("{x:.6}").parse().unwrap_or(*x);
                serde_json::Number::from_f64(shown).map_or(Value::Null, Value::Number)
            }
            Cell::Bool(v) => Value::Bool(*v),
            Cell::Null => Value::Null,
        }
    }
}

fn b(v: bool) -> &'static str {
    if v { "true" } else { "false" }
}

fn needs_guard(s: &str, opts: CsvOptions) -> bool {
    !opts.raw && s.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// Neutralizes a cell that a spreadsheet would evaluate (OWASP "CSV
/// injection"): a leading `=`, `+`, `-`, `@`, tab or CR gets a `'` in front.
pub fn safe_text(s: &str, opts: CsvOptions) -> String {
    if needs_guard(s, opts) { format!("'{s}") } else { s.to_string() }
}

impl CsvWriter {
    /// Creates the directory if needed and the files with their headers.
    pub fn create(dir: &Path, opts: CsvOptions) -> Result<CsvWriter, Error> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.to_path_buf(), source })?;
        Ok(CsvWriter {
            dir: dir.to_path_buf(),
            opts,
            connections: open(dir, "connections.csv", CONNECTION_COLUMNS)?,
            frames: open(dir, "frames.csv", FRAME_COLUMNS)?,
            messages: open(dir, "messages.csv", MESSAGE_COLUMNS)?,
            closes: open(dir, "closes.csv", CLOSE_COLUMNS)?,
            violations: open(dir, "violations.csv", VIOLATION_COLUMNS)?,
            findings: open(dir, "findings.csv", FINDING_COLUMNS)?,
        })
    }

    fn err(&self, name: &str, source: std::io::Error) -> Error {
        Error::Io { path: self.dir.join(name), source }
    }

    pub fn connection(&mut self, c: &ConnectionRecord) -> Result<(), Error> {
        self.connections.row(&connection_cells(c), self.opts).map_err(|e| self.err("connections.csv", e))
    }

    pub fn frame(&mut self, f: &FrameRecord) -> Result<(), Error> {
        self.frames.row(&frame_cells(f, self.opts.payloads), self.opts).map_err(|e| self.err("frames.csv", e))
    }

    pub fn message(&mut self, m: &MessageRecord) -> Result<(), Error> {
        self.messages.row(&message_cells(m), self.opts).map_err(|e| self.err("messages.csv", e))
    }

    pub fn close(&mut self, c: &CloseRecord) -> Result<(), Error> {
        self.closes.row(&close_cells(c), self.opts).map_err(|e| self.err("closes.csv", e))
    }

    pub fn violation(&mut self, v: &ViolationRecord) -> Result<(), Error> {
        self.violations.row(&violation_cells(v), self.opts).map_err(|e| self.err("violations.csv", e))
    }

    pub fn finding(&mut self, f: &Finding) -> Result<(), Error> {
        self.findings.row(&finding_cells(f), self.opts).map_err(|e| self.err("findings.csv", e))
    }

    /// Flushes every file.
    pub fn finish(mut self) -> Result<(), Error> {
        for (name, w) in [
            ("connections.csv", &mut self.connections),
            ("frames.csv", &mut self.frames),
            ("messages.csv", &mut self.messages),
            ("closes.csv", &mut self.closes),
            ("violations.csv", &mut self.violations),
            ("findings.csv", &mut self.findings),
        ] {
            w.flush().map_err(|source| Error::Io { path: self.dir.join(name), source })?;
        }
        Ok(())
    }
}

/// A row of connections.csv, one cell per [`CONNECTION_COLUMNS`] entry.
pub fn connection_cells(c: &ConnectionRecord) -> Vec<Cell<'_>> {
    let [bc, bs] = c.bytes;
    let h = &c.http;
    vec![
        Cell::Int(c.conn_id),
        Cell::s(&c.community_id),
        Cell::Str(Cow::Owned(c.client.ip().to_string())),
        Cell::Int(c.client.port().into()),
        Cell::Str(Cow::Owned(c.server.ip().to_string())),
        Cell::Int(c.server.port().into()),
        Cell::ts(c.start_ts),
        Cell::ts(c.end_ts),
        Cell::s(c.handshake.as_str()),
        Cell::int(Some(h.status).filter(|s| *s != 0)),
        Cell::text(&h.path),
        Cell::text(&h.subprotocol),
        Cell::text(&h.extensions),
        Cell::Int(c.frames[0]),
        Cell::Int(c.frames[1]),
        Cell::Int(c.messages[0]),
        Cell::Int(c.messages[1]),
        Cell::Int(c.payload_bytes[0]),
        Cell::Int(c.payload_bytes[1]),
        Cell::int(c.close_code(Direction::ClientToServer)),
        Cell::int(c.close_code(Direction::ServerToClient)),
        Cell::s(c.close_initiator.map_or("none", |d| d.sender().as_str())),
        Cell::s(c.termination.as_str()),
        Cell::Int(bc.gap + bs.gap),
        Cell::Int(c.first_packet),
        Cell::Int(c.last_packet),
        Cell::s(c.roles_from),
        Cell::text(&h.host),
        Cell::text(&h.origin),
        Cell::text(&h.user_agent),
        Cell::text(&h.key),
        Cell::text(&h.version),
        Cell::text(&h.protocols_offered),
        Cell::text(&h.extensions_offered),
        Cell::boolean(h.accept_valid),
        Cell::int(c.fin_packet[0]),
        Cell::int(c.fin_packet[1]),
        Cell::int(c.rst_packet),
        c.rst_from.map_or(Cell::Null, |d| Cell::s(d.sender().as_str())),
        Cell::Int(bc.captured),
        Cell::Int(bc.handshake),
        Cell::Int(bc.frame_headers),
        Cell::Int(bc.frame_payload),
        Cell::Int(bc.undecoded),
        Cell::Int(bc.duplicate),
        Cell::Int(bc.gap),
        Cell::Int(bs.captured),
        Cell::Int(bs.handshake),
        Cell::Int(bs.frame_headers),
        Cell::Int(bs.frame_payload),
        Cell::Int(bs.undecoded),
        Cell::Int(bs.duplicate),
        Cell::Int(bs.gap),
    ]
}

/// A row of frames.csv, one cell per [`FRAME_COLUMNS`] entry.
/// `payloads`: bytes of payload to preview (`--payloads`).
pub fn frame_cells(f: &FrameRecord, payloads: usize) -> [Cell<'_>; FRAME_WIDTH] {
    let h = &f.header;
    let preview = crate::report::preview::payload_preview(f, payloads);
    let (preview_cell, encoding_cell) = match preview {
        Some((text, enc)) => (Cell::Text(Cow::Owned(text)), Cell::s(enc.as_str())),
        None => (Cell::Null, Cell::Null),
    };
    [
        Cell::Int(f.conn_id),
        Cell::s(f.direction.as_str()),
        Cell::Int(f.index),
        Cell::ts(f.ts),
        Cell::Int(f.first_packet),
        Cell::Int(f.last_packet),
        Cell::Int(f.stream_offset),
        Cell::Bool(h.fin),
        Cell::Bool(h.rsv1),
        Cell::Bool(h.rsv2),
        Cell::Bool(h.rsv3),
        Cell::Int(h.opcode.into()),
        Cell::s(opcode::name(h.opcode)),
        Cell::Bool(h.mask.is_some()),
        Cell::Int(h.payload_len),
        Cell::int(f.message_index),
        Cell::Bool(f.compressed),
        Cell::int(f.inflated_len),
        h.mask.map_or(Cell::Null, |k| Cell::Str(Cow::Owned(hex4(k)))),
        Cell::Int(h.header_len.into()),
        Cell::Int(h.length_form.bits().into()),
        Cell::Int(f.captured_len),
        Cell::Int(f.gap_len),
        Cell::Bool(f.truncated),
        Cell::ts(f.first_ts),
        Cell::int(f.close_code),
        f.close_reason.as_deref().map_or(Cell::Null, Cell::text),
        preview_cell,
        encoding_cell,
    ]
}

/// A row of messages.csv, one cell per [`MESSAGE_COLUMNS`] entry.
pub fn message_cells(m: &MessageRecord) -> [Cell<'_>; MESSAGE_WIDTH] {
    [
        Cell::Int(m.conn_id),
        Cell::s(m.direction.as_str()),
        Cell::Int(m.index),
        Cell::Int(m.opcode.into()),
        Cell::s(opcode::name(m.opcode)),
        Cell::Int(m.frames),
        Cell::Int(m.payload_len),
        Cell::Int(m.first_frame),
        Cell::Int(m.last_frame),
        Cell::Int(m.first_packet),
        Cell::Int(m.last_packet),
        Cell::ts(m.first_ts),
        Cell::ts(m.ts),
        Cell::Bool(m.complete),
        Cell::Bool(m.compressed),
        Cell::int(m.inflated_len),
    ]
}

/// A row of closes.csv, one cell per [`CLOSE_COLUMNS`] entry.
pub fn close_cells(c: &CloseRecord) -> Vec<Cell<'_>> {
    vec![
        Cell::Int(c.conn_id),
        Cell::s(c.direction.as_str()),
        Cell::ts(c.ts),
        Cell::Int(c.packet),
        Cell::int(c.code),
        Cell::text(&c.reason),
        Cell::Bool(c.initiator),
        Cell::Bool(c.inferred),
        Cell::text(&c.diagnosis),
        c.cause_rule.map_or(Cell::Null, Cell::s),
        Cell::int(c.cause_packet),
        Cell::int(c.frame_index),
        Cell::s(crate::ws::close::code_name(c.reported_code)),
        Cell::Int(c.reported_code.into()),
        Cell::boolean(c.answered),
        Cell::float(c.answer_delay_s),
        Cell::float(c.tcp_end_delay_s),
    ]
}

/// A row of violations.csv, one cell per [`VIOLATION_COLUMNS`] entry.
pub fn violation_cells(v: &ViolationRecord) -> Vec<Cell<'_>> {
    vec![
        Cell::Int(v.conn_id),
        Cell::s(v.direction.as_str()),
        Cell::int(v.frame_index),
        Cell::ts(v.ts),
        Cell::int(v.packet),
        Cell::s(v.rule),
        Cell::s(v.rfc_section),
        Cell::int(v.expected_close),
        Cell::text(&v.detail),
    ]
}

/// A row of findings.csv, one cell per [`FINDING_COLUMNS`] entry.
pub fn finding_cells(f: &Finding) -> Vec<Cell<'_>> {
    vec![
        Cell::int(f.conn_id),
        f.direction.map_or(Cell::Null, |d| Cell::s(d.as_str())),
        Cell::s(f.kind),
        Cell::int(f.packet),
        f.ts.map_or(Cell::Null, Cell::ts),
        Cell::int(f.stream_offset),
        Cell::int(f.len),
        Cell::text(&f.detail),
    ]
}

/// A row of matches.csv, one cell per
/// [`MATCH_COLUMNS`](crate::report::matches::MATCH_COLUMNS) entry: a close
/// looked up in the logs and its event (event cells null when none was
/// found), or an error event no close claims (close cells null).
pub fn match_cells<'a>(inv: &'a LogInvestigation, row: &'a MatchRow) -> Vec<Cell<'a>> {
    let target = row.target.and_then(|i| inv.targets.get(i));
    let event = row.event.and_then(|i| inv.collector.errors.get(i));
    let file = event.map(|e| inv.summary.files.get(e.file).map(|f| f.path.display().to_string()).unwrap_or_default());
    let ev_text = |f: fn(&ErrorEvent) -> &String| event.map_or(Cell::Null, |e| Cell::text(f(e)));
    vec![
        Cell::int(target.map(|t| t.conn_id)),
        target.map_or(Cell::Null, |t| Cell::ts(t.close_ts)),
        Cell::int(target.map(|t| t.code)),
        file.map_or(Cell::Null, |f| Cell::Text(Cow::Owned(f))),
        Cell::int(event.map(|e| e.line)),
        event.map_or(Cell::Null, |e| Cell::ts(e.ts)),
        Cell::float(row.delta_s),
        ev_text(|e| &e.exception),
        ev_text(|e| &e.message),
        ev_text(|e| &e.top_frame),
        row.confidence.map_or(Cell::Null, |c| Cell::s(c.as_str())),
        Cell::text(&row.evidence),
        target.map_or(Cell::Null, |t| Cell::s(t.kind.as_str())),
        Cell::int(target.map(|t| t.close_packet)),
        Cell::int(event.map(|e| e.end_line)),
        event.and_then(|e| e.level).map_or(Cell::Null, |l| Cell::s(l.as_str())),
    ]
}

fn hex4(k: [u8; 4]) -> String {
    format!("{:02x}{:02x}{:02x}{:02x}", k[0], k[1], k[2], k[3])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Our rows are the bytes the csv crate's writer produces for the same
    /// fields, and read back to the same text.
    #[test]
    fn rows_match_the_csv_crate() {
        let texts = [
            "",
            "plain",
            "a,b",
            "say \"hi\"",
            "\"",
            "\"\"",
            "line\nbreak",
            "cr\rhere",
            "=1+2",
            "-5",
            "@x",
            "\tlead",
            "\r",
            ",",
            "ünï\u{1F600}",
            " spaced ",
        ];
        for raw in [false, true] {
            let opts = CsvOptions { raw, ..CsvOptions::default() };
            let columns = ["a", "b,c", "d\"e", "f"];
            for t in texts {
                let cells = [Cell::Int(u64::MAX), Cell::text(t), Cell::s(t), Cell::Null];
                let mut ours = CsvFile::new(Vec::new(), &columns).unwrap();
                ours.row(&cells, opts).unwrap();
                let mut theirs = csv::Writer::from_writer(Vec::new());
                theirs.write_record(columns).unwrap();
                let guarded = safe_text(t, opts);
                theirs.write_record([u64::MAX.to_string().as_str(), guarded.as_str(), t, ""]).unwrap();
                let theirs = theirs.into_inner().unwrap();
                assert_eq!(String::from_utf8_lossy(&ours.out), String::from_utf8_lossy(&theirs), "{t:?}");
                let mut rd = csv::Reader::from_reader(ours.out.as_slice());
                let rec = rd.records().next().unwrap().unwrap();
                assert_eq!((&rec[1], &rec[2], &rec[3]), (guarded.as_str(), t, ""));
            }
        }
    }

    #[test]
    fn formula_cells_are_neutralized() {
        let o = CsvOptions::default();
        assert_eq!(safe_text("=HYPERLINK(\"x\")", o), "'=HYPERLINK(\"x\")");
        assert_eq!(safe_text("-1+1", o), "'-1+1");
        assert_eq!(safe_text("normal", o), "normal");
        assert_eq!(safe_text("=1", CsvOptions { raw: true, ..CsvOptions::default() }), "=1");
    }

    #[test]
    fn contract_columns_come_first() {
        assert_eq!(&FRAME_COLUMNS[..3], &["conn_id", "direction", "frame_index"]);
        assert_eq!(CONNECTION_COLUMNS[23], "gap_bytes");
        assert_eq!(&CLOSE_COLUMNS[..7], &["conn_id", "direction", "ts", "packet", "code", "reason", "initiator"]);
    }
}
