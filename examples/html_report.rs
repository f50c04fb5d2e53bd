//! Writes the HTML incident report (and optionally the Markdown summary) of
//! a capture, the way `wsforensics --html FILE --markdown FILE` does: the
//! analysis, the incident collector fed the same records as the summary,
//! the server logs matched with the closes, then the writers.
//!
//! ```text
//! cargo run --release --example html_report -- CAPTURE... [--log PATH]... [--markdown OUT.md] OUT.html
//! ```
//!
//! `scripts/check-html.sh` uses it to render a report in headless Chromium.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use wsforensics::correlate::{MatchOptions, TargetCollector, investigate};
use wsforensics::logs::{LogOptions, expand_log_paths};
use wsforensics::pipeline::{AnalysisOptions, analyze};
use wsforensics::report::html::write_html;
use wsforensics::report::incident::IncidentCollector;
use wsforensics::report::markdown::write_markdown;
use wsforensics::report::summary::{CaptureTotals, Summary};
use wsforensics::session::record::{CloseRecord, ConnectionRecord, Finding, FrameRecord, MessageRecord, RecordSink, ViolationRecord};

/// The summary, the incident collector, and what log matching needs.
#[derive(Default)]
struct Sink {
    summary: Summary,
    incident: IncidentCollector,
    targets: TargetCollector,
}

impl RecordSink for Sink {
    fn connection(&mut self, rec: ConnectionRecord) {
        self.targets.connection(&rec);
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
        self.targets.close(&rec);
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

struct Args {
    captures: Vec<PathBuf>,
    logs: Vec<String>,
    markdown: Option<PathBuf>,
    out: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut positional: Vec<PathBuf> = Vec::new();
    let mut logs = Vec::new();
    let mut markdown = None;
    let mut it = std::env::args_os().skip(1);
    while let Some(a) = it.next() {
        match a.to_str() {
            Some("--log") => logs.push(it.next().and_then(|v| v.into_string().ok()).ok_or("--log needs a path")?),
            Some("--markdown") => markdown = Some(PathBuf::from(it.next().ok_or("--markdown needs a path")?)),
            Some("-h" | "--help") => return Err(String::new()),
            _ => positional.push(PathBuf::from(a)),
        }
    }
    let out = positional.pop().ok_or("no output path")?;
    if positional.is_empty() {
        return Err("no capture file".to_string());
    }
    Ok(Args { captures: positional, logs, markdown, out })
}

fn run(a: Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut sink = Sink::default();
    sink.incident.set_captures(&a.captures);
    let stats = analyze(&a.captures, &AnalysisOptions::default(), &mut sink, &mut ())?;
    let investigation = if a.logs.is_empty() {
        None
    } else {
        let paths = expand_log_paths(&a.logs)?;
        let log_opts = LogOptions { reference: sink.summary.first_ts, ..LogOptions::default() };
        Some(investigate(&paths, &log_opts, std::mem::take(&mut sink.targets.targets), &sink.targets.conns, &MatchOptions::default())?)
    };
    let totals = CaptureTotals {
        files: stats.files.len(),
        packets: stats.packets,
        tcp_connections: stats.tcp_connections,
        notices: stats.notices.iter().map(|n| n.to_string()).collect(),
        ..CaptureTotals::default()
    };
    let mut w = std::io::BufWriter::new(std::fs::File::create(&a.out)?);
    write_html(&sink.incident, &sink.summary, &totals, investigation.as_ref(), &mut w)?;
    w.flush()?;
    if let Some(md) = &a.markdown {
        let mut w = std::io::BufWriter::new(std::fs::File::create(md)?);
        write_markdown(&sink.incident, &sink.summary, &totals, investigation.as_ref(), &mut w)?;
        w.flush()?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("error: {e}");
            }
            eprintln!("usage: html_report CAPTURE... [--log PATH]... [--markdown OUT.md] OUT.html");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
