//! The log side of the report: matches.csv, the lines printed under each
//! close that was looked up in the logs, and the "Server logs" section.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::Path;

use crate::correlate::{LogInvestigation, MatchRow};
use crate::error::Error;
use crate::model::{ConnId, PacketIndex};
use crate::report::csv::{CsvFile, CsvOptions, match_cells};
use crate::report::summary::escape_control;

/// Column names of matches.csv, in order.
pub const MATCH_COLUMNS: &[&str] = &[
    "conn_id",
    "close_ts",
    "close_code",
    "log_file",
    "log_line",
    "log_ts",
    "delta_s",
    "exception",
    "message",
    "top_frame",
    "confidence",
    "evidence",
    // Added after the contract columns.
    "kind",
    "close_packet",
    "log_end_line",
    "level",
];

/// Writes matches.csv: every close looked up (with its event or, with the
/// event columns empty, the reason none was found), then the error events
/// no close claims (close columns empty).
pub fn write_csv(path: &Path, inv: &LogInvestigation, opts: CsvOptions) -> Result<(), Error> {
    let err = |source: std::io::Error| Error::Io { path: path.to_path_buf(), source };
    let file = std::fs::File::create(path).map_err(err)?;
    let mut w = CsvFile::new(std::io::BufWriter::new(file), MATCH_COLUMNS).map_err(err)?;
    for row in &inv.correlation.rows {
        w.row(&match_cells(inv, row), opts).map_err(err)?;
    }
    w.flush().map_err(err)
}

/// Lines to print under each close that was looked up, keyed by connection
/// and close packet.
pub fn close_notes(inv: &LogInvestigation) -> HashMap<(ConnId, PacketIndex), Vec<String>> {
    let mut out: HashMap<(ConnId, PacketIndex), Vec<String>> = HashMap::new();
    for row in &inv.correlation.rows {
        let Some(t) = row.target.and_then(|i| inv.targets.get(i)) else { continue };
        let lines = out.entry((t.conn_id, t.close_packet)).or_default();
        lines.extend(describe(inv, row));
    }
    out
}

fn describe(inv: &LogInvestigation, row: &MatchRow) -> Vec<String> {
    let Some(e) = row.event.and_then(|i| inv.collector.errors.get(i)) else {
        return vec![format!("trace:    none found: {}", row.evidence)];
    };
    let file = inv.summary.files.get(e.file).map(|f| f.path.display().to_string()).unwrap_or_default();
    let what = if e.exception.is_empty() { e.message.clone() } else { e.exception.clone() };
    let mut lines = vec![format!(
        "trace:    {} ({file}:{})",
        escape_control(&what),
        if e.end_line > e.line { format!("{}-{}", e.line, e.end_line) } else { e.line.to_string() }
    )];
    if !e.top_frame.is_empty() {
        lines.push(format!("          at {}", escape_control(&e.top_frame)));
    }
    let conf = row.confidence.map(|c| c.as_str()).unwrap_or("low");
    lines.push(format!("          confidence {conf}: {}", escape_control(&row.evidence)));
    lines
}

/// The "Server logs" section: files, clock offset, unmatched errors.
pub fn render_section(inv: &LogInvestigation, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w)?;
    writeln!(w, "Server logs:")?;
    for f in &inv.summary.files {
        writeln!(w, "  {}: {} lines, {} events ({})", f.path.display(), f.lines, f.events, f.format)?;
    }
    for n in inv.summary.notices.iter().take(20) {
        writeln!(w, "  log damage: {}", escape_control(&n.to_string()))?;
    }
    let o = &inv.correlation.offset;
    match o.method {
        "given" => writeln!(w, "  clock offset: log = capture {:+.3} s (given)", o.seconds)?,
        "none" => writeln!(w, "  clock offset: none estimated (no connection named in the log, no error near a close); 0 assumed")?,
        m => writeln!(
            w,
            "  clock offset: log = capture {:+.3} s (from {} {}, spread {:.3} s)",
            o.seconds,
            o.pairs,
            if m == "anchors" { "connections the log names" } else { "closes aligned with error events" },
            o.spread_s
        )?,
    }
    let looked = inv.correlation.rows.iter().filter(|r| r.target.is_some()).count();
    let found = inv.correlation.rows.iter().filter(|r| r.target.is_some() && r.event.is_some()).count();
    let orphans = inv.correlation.rows.iter().filter(|r| r.target.is_none()).count();
    writeln!(
        w,
        "  closes looked up: {looked}, explained by a log event: {found}; error events with no close: {orphans} (see matches.csv)"
    )?;
    // The first error events no close claims: problems that did not show
    // in the capture, or closes outside it.
    for row in inv.correlation.rows.iter().filter(|r| r.target.is_none()).take(10) {
        if let Some(e) = row.event.and_then(|i| inv.collector.errors.get(i)) {
            let file = inv.summary.files.get(e.file).map(|f| f.path.display().to_string()).unwrap_or_default();
            let what = if e.exception.is_empty() { &e.message } else { &e.exception };
            writeln!(w, "    unmatched: {} {} ({file}:{})", e.ts, escape_control(what), e.line)?;
        }
    }
    if orphans > 10 {
        writeln!(w, "    ... and {} more", orphans - 10)?;
    }
    Ok(())
}
