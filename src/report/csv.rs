//! CSV export: connections.csv, frames.csv, messages.csv, closes.csv,
//! violations.csv and findings.csv.
//!
//! RFC 4180 (the csv crate quotes as needed), a header row, timestamps in UTC
//! RFC 3339 with microseconds, booleans `true`/`false`, packet numbers
//! 1-based as Wireshark's `frame.number`. The leading columns of each file
//! are a public contract (scripts rely on their names and order); more
//! columns may only be added after them.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

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
pub const FRAME_COLUMNS: &[&str] = &[
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
];

/// Column names of messages.csv, in order.
pub const MESSAGE_COLUMNS: &[&str] = &[
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
}

/// Writes the CSV files into a directory as records arrive.
pub struct CsvWriter {
    dir: PathBuf,
    opts: CsvOptions,
    connections: csv::Writer<BufWriter<File>>,
    frames: csv::Writer<BufWriter<File>>,
    messages: csv::Writer<BufWriter<File>>,
    closes: csv::Writer<BufWriter<File>>,
    violations: csv::Writer<BufWriter<File>>,
    findings: csv::Writer<BufWriter<File>>,
}

fn open(dir: &Path, name: &str, columns: &[&str]) -> Result<csv::Writer<BufWriter<File>>, Error> {
    let path = dir.join(name);
    let file = File::create(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
    let mut w = csv::Writer::from_writer(BufWriter::with_capacity(256 * 1024, file));
    w.write_record(columns).map_err(|e| csv_error(&path, e))?;
    Ok(w)
}

fn csv_error(path: &Path, e: csv::Error) -> Error {
    Error::Output { path: path.to_path_buf(), message: e.to_string() }
}

fn ts(t: Timestamp) -> String {
    t.rfc3339_micros()
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

fn b(v: bool) -> &'static str {
    if v { "true" } else { "false" }
}

/// Neutralizes a cell that a spreadsheet would evaluate (OWASP "CSV
/// injection"): a leading `=`, `+`, `-`, `@`, tab or CR gets a `'` in front.
pub fn safe_text(s: &str, opts: CsvOptions) -> String {
    if !opts.raw && s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_string() }
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

    fn err(&self, name: &str, e: csv::Error) -> Error {
        csv_error(&self.dir.join(name), e)
    }

    pub fn connection(&mut self, c: &ConnectionRecord) -> Result<(), Error> {
        let t = |s: &str| safe_text(s, self.opts);
        let dir_str = |d: Option<Direction>| d.map(|d| d.sender().as_str()).unwrap_or("none");
        let [bc, bs] = c.bytes;
        let row: Vec<String> = vec![
            c.conn_id.to_string(),
            c.community_id.clone(),
            c.client.ip().to_string(),
            c.client.port().to_string(),
            c.server.ip().to_string(),
            c.server.port().to_string(),
            ts(c.start_ts),
            ts(c.end_ts),
            c.handshake.as_str().to_string(),
            if c.http.status == 0 { String::new() } else { c.http.status.to_string() },
            t(&c.http.path),
            t(&c.http.subprotocol),
            t(&c.http.extensions),
            c.frames[0].to_string(),
            c.frames[1].to_string(),
            c.messages[0].to_string(),
            c.messages[1].to_string(),
            c.payload_bytes[0].to_string(),
            c.payload_bytes[1].to_string(),
            opt(c.close_code(Direction::ClientToServer)),
            opt(c.close_code(Direction::ServerToClient)),
            dir_str(c.close_initiator).to_string(),
            c.termination.as_str().to_string(),
            (bc.gap + bs.gap).to_string(),
            c.first_packet.to_string(),
            c.last_packet.to_string(),
            c.roles_from.to_string(),
            t(&c.http.host),
            t(&c.http.origin),
            t(&c.http.user_agent),
            t(&c.http.key),
            t(&c.http.version),
            t(&c.http.protocols_offered),
            t(&c.http.extensions_offered),
            c.http.accept_valid.map(b).unwrap_or_default().to_string(),
            opt(c.fin_packet[0]),
            opt(c.fin_packet[1]),
            opt(c.rst_packet),
            c.rst_from.map(|d| d.sender().as_str()).unwrap_or_default().to_string(),
            bc.captured.to_string(),
            bc.handshake.to_string(),
            bc.frame_headers.to_string(),
            bc.frame_payload.to_string(),
            bc.undecoded.to_string(),
            bc.duplicate.to_string(),
            bc.gap.to_string(),
            bs.captured.to_string(),
            bs.handshake.to_string(),
            bs.frame_headers.to_string(),
            bs.frame_payload.to_string(),
            bs.undecoded.to_string(),
            bs.duplicate.to_string(),
            bs.gap.to_string(),
        ];
        self.connections.write_record(&row).map_err(|e| self.err("connections.csv", e))
    }

    pub fn frame(&mut self, f: &FrameRecord) -> Result<(), Error> {
        let h = &f.header;
        let row: [&str; 27] = [
            &f.conn_id.to_string(),
            f.direction.as_str(),
            &f.index.to_string(),
            &ts(f.ts),
            &f.first_packet.to_string(),
            &f.last_packet.to_string(),
            &f.stream_offset.to_string(),
            b(h.fin),
            b(h.rsv1),
            b(h.rsv2),
            b(h.rsv3),
            &h.opcode.to_string(),
            opcode::name(h.opcode),
            b(h.mask.is_some()),
            &h.payload_len.to_string(),
            &opt(f.message_index),
            b(f.compressed),
            &opt(f.inflated_len),
            &h.mask.map(hex4).unwrap_or_default(),
            &h.header_len.to_string(),
            &h.length_form.bits().to_string(),
            &f.captured_len.to_string(),
            &f.gap_len.to_string(),
            b(f.truncated),
            &ts(f.first_ts),
            &opt(f.close_code),
            &f.close_reason.as_deref().map(|r| safe_text(r, self.opts)).unwrap_or_default(),
        ];
        self.frames.write_record(row).map_err(|e| self.err("frames.csv", e))
    }

    pub fn message(&mut self, m: &MessageRecord) -> Result<(), Error> {
        let row = [
            m.conn_id.to_string(),
            m.direction.as_str().to_string(),
            m.index.to_string(),
            m.opcode.to_string(),
            opcode::name(m.opcode).to_string(),
            m.frames.to_string(),
            m.payload_len.to_string(),
            m.first_frame.to_string(),
            m.last_frame.to_string(),
            m.first_packet.to_string(),
            m.last_packet.to_string(),
            ts(m.first_ts),
            ts(m.ts),
            b(m.complete).to_string(),
            b(m.compressed).to_string(),
            opt(m.inflated_len),
        ];
        self.messages.write_record(&row).map_err(|e| self.err("messages.csv", e))
    }

    pub fn close(&mut self, c: &CloseRecord) -> Result<(), Error> {
        let row = [
            c.conn_id.to_string(),
            c.direction.as_str().to_string(),
            ts(c.ts),
            c.packet.to_string(),
            opt(c.code),
            safe_text(&c.reason, self.opts),
            b(c.initiator).to_string(),
            b(c.inferred).to_string(),
            safe_text(&c.diagnosis, self.opts),
            c.cause_rule.unwrap_or_default().to_string(),
            opt(c.cause_packet),
            opt(c.frame_index),
            crate::ws::close::code_name(c.reported_code).to_string(),
            c.reported_code.to_string(),
            c.answered.map(b).unwrap_or_default().to_string(),
            c.answer_delay_s.map(|s| format!("{s:.6}")).unwrap_or_default(),
            c.tcp_end_delay_s.map(|s| format!("{s:.6}")).unwrap_or_default(),
        ];
        self.closes.write_record(&row).map_err(|e| self.err("closes.csv", e))
    }

    pub fn violation(&mut self, v: &ViolationRecord) -> Result<(), Error> {
        let row = [
            v.conn_id.to_string(),
            v.direction.as_str().to_string(),
            opt(v.frame_index),
            ts(v.ts),
            opt(v.packet),
            v.rule.to_string(),
            v.rfc_section.to_string(),
            opt(v.expected_close),
            safe_text(&v.detail, self.opts),
        ];
        self.violations.write_record(&row).map_err(|e| self.err("violations.csv", e))
    }

    pub fn finding(&mut self, f: &Finding) -> Result<(), Error> {
        let row = [
            opt(f.conn_id),
            f.direction.map(|d| d.as_str().to_string()).unwrap_or_default(),
            f.kind.to_string(),
            opt(f.packet),
            f.ts.map(ts).unwrap_or_default(),
            opt(f.stream_offset),
            opt(f.len),
            safe_text(&f.detail, self.opts),
        ];
        self.findings.write_record(&row).map_err(|e| self.err("findings.csv", e))
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

fn hex4(k: [u8; 4]) -> String {
    format!("{:02x}{:02x}{:02x}{:02x}", k[0], k[1], k[2], k[3])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralized() {
        let o = CsvOptions::default();
        assert_eq!(safe_text("=HYPERLINK(\"x\")", o), "'=HYPERLINK(\"x\")");
        assert_eq!(safe_text("-1+1", o), "'-1+1");
        assert_eq!(safe_text("normal", o), "normal");
        assert_eq!(safe_text("=1", CsvOptions { raw: true }), "=1");
    }

    #[test]
    fn contract_columns_come_first() {
        assert_eq!(&FRAME_COLUMNS[..3], &["conn_id", "direction", "frame_index"]);
        assert_eq!(CONNECTION_COLUMNS[23], "gap_bytes");
        assert_eq!(&CLOSE_COLUMNS[..7], &["conn_id", "direction", "ts", "packet", "code", "reason", "initiator"]);
    }
}
