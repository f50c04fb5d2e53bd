//! The `wsforensics` command: parses arguments, runs the library's analysis,
//! writes the reports, picks the exit code. Everything else is in the
//! library.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use wsforensics::correlate::{MatchOptions, TargetCollector, investigate};
use wsforensics::pipeline::{AnalysisOptions, AnalysisStats, Progress, analyze};
use wsforensics::report::csv::{CsvOptions, CsvWriter};
use wsforensics::report::filter::{ConnectionSelector, EndpointPattern, FilteredSink, RecordFilter, TimeBound};
use wsforensics::report::incident::IncidentCollector;
use wsforensics::report::json::JsonWriter;
use wsforensics::report::redact;
use wsforensics::report::summary::{CaptureTotals, Paint, Summary, render_text};
use wsforensics::session::record::{CloseRecord, ConnectionRecord, Finding, FrameRecord, MessageRecord, RecordSink, ViolationRecord};

const EXAMPLES: &str = "\
Examples:
  wsforensics capture.pcap                      summary of every WebSocket connection and close
  wsforensics capture.pcap --csv out/           also write connections/frames/messages/closes/violations/findings.csv
  wsforensics rotated-0.pcap rotated-1.pcap     several files, analyzed as one capture in time order
  wsforensics capture.pcap --log server.log     tie every 1011 to the stack trace that caused it
  wsforensics capture.pcap --only-problems --csv out/
                                                only connections with violations, failed upgrades or error closes
  wsforensics capture.pcap --code 1002,1011 --since 5m --until 10m
                                                closes by code in a window (times after the capture start, or RFC 3339)
  wsforensics capture.pcap --json | jq 'select(.type == \"close\")'
                                                JSON Lines for jq and log pipelines
  wsforensics capture.pcap --log server.log --html report.html --markdown postmortem.md
                                                an incident report to open in a browser, a summary for the postmortem
  wsforensics capture.pcap --redact --csv out/  share the results without header values, close reasons or payloads
  wsforensics explain 1002 1011                 two close codes side by side (--lang ar for Arabic)
  wsforensics completions bash > /etc/bash_completion.d/wsforensics
  wsforensics man > wsforensics.1

Exit status: 0 analyzed; 1 a --fail-on condition was found; 2 usage error or unreadable input.
Colors: only on a terminal, never with NO_COLOR set (--color overrides).";

#[derive(Parser, Debug)]
#[command(name = "wsforensics", version, about = "Offline forensic analysis of WebSocket connections in packet captures", after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Analyze capture files (the default command).
    Analyze(Box<AnalyzeArgs>),
    /// Explain close codes: meaning, when you see them, how to fix them.
    /// Two codes are compared side by side (e.g. `explain 1002 1011`).
    Explain(ExplainArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Print the manual page (roff) of wsforensics, or of one subcommand.
    Man(ManArgs),
}

#[derive(clap::Args, Debug)]
struct CompletionsArgs {
    /// The shell to complete in.
    shell: clap_complete::Shell,
}

#[derive(clap::Args, Debug)]
struct ManArgs {
    /// A subcommand (analyze, explain, completions) for its own page,
    /// `wsforensics-SUBCOMMAND(1)`.
    subcommand: Option<String>,
}

/// When to color the terminal report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    Always,
    Never,
}

#[derive(clap::Args, Debug)]
struct ExplainArgs {
    /// Close codes (0-65535).
    #[arg(required = true, value_name = "CODE")]
    codes: Vec<u16>,
    /// Language of the texts: en or ar.
    #[arg(long, default_value = "en", value_parser = parse_lang)]
    lang: wsforensics::ws::kb::Lang,
}

fn parse_lang(s: &str) -> Result<wsforensics::ws::kb::Lang, String> {
    wsforensics::ws::kb::Lang::from_code(s).ok_or_else(|| format!("unknown language {s:?} (use en or ar)"))
}

#[derive(clap::Args, Debug)]
struct AnalyzeArgs {
    /// Capture files (pcap or pcapng), analyzed together in time order.
    #[arg(required = true, value_name = "CAPTURE")]
    captures: Vec<PathBuf>,
    /// Write connections, frames, messages, closes, violations and findings CSV files into DIR.
    #[arg(long, value_name = "DIR")]
    csv: Option<PathBuf>,
    /// Worker threads (default: one per core). Output is the same for any value.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Write JSON Lines (one object per connection, frame, message, close,
    /// violation, finding, match, and a summary last; field names as the
    /// CSV columns) to FILE, or to standard output with `--json` or `--json -`
    /// (the text summary is then left out).
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "-")]
    json: Option<PathBuf>,
    /// Write a self-contained HTML report (timeline, close histogram,
    /// drill-down per close with its evidence and stack trace, tables) to FILE.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Write a postmortem-ready Markdown summary (problem closes, causes,
    /// evidence, open questions) to FILE.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Write text from the traffic into CSV cells as is (no formula-injection guard).
    #[arg(long)]
    raw_csv: bool,
    /// Stop inflating a compressed message at this size (e.g. 64MiB, 512KiB,
    /// 1000000); a message that inflates further is reported, not obeyed.
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = parse_size)]
    max_message: u64,
    /// Server log to match against the closes (repeatable; globs and .gz
    /// accepted): ties every 1011 to the stack trace that caused it.
    #[arg(long = "log", value_name = "PATH")]
    logs: Vec<String>,
    /// Log format, when detection guesses wrong: auto, text, json, docker, cri.
    #[arg(long, value_name = "FORMAT", default_value = "auto")]
    log_format: wsforensics::logs::LogFormat,
    /// Time zone of log timestamps written without one: an IANA name
    /// (Europe/Berlin) or an offset (-05:00).
    #[arg(long, value_name = "TZ", default_value = "UTC")]
    log_tz: wsforensics::logs::LogTz,
    /// Seconds the log's clock is ahead of the capture's (estimated when not
    /// given).
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    log_offset: Option<f64>,
    /// Seconds before a close searched for its cause in the logs.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    match_window: f64,
    /// Exit with status 1 when the analysis finds any of these (comma
    /// separated): violations (protocol violations), 1011 (Internal Error
    /// closes), abnormal (connections that ended without a Close: 1006).
    #[arg(long, value_name = "WHAT", value_delimiter = ',')]
    fail_on: Vec<FailOn>,
    /// Print nothing but errors (no summary, no progress bar).
    #[arg(long, short)]
    quiet: bool,
    /// Color the terminal report: auto (on a terminal, unless NO_COLOR is
    /// set), always, never.
    #[arg(long, value_name = "WHEN", default_value = "auto")]
    color: ColorChoice,

    /// Only these connections (tcp.stream numbers, as in Wireshark; comma
    /// separated or repeated).
    #[arg(long = "conn", value_name = "ID", value_delimiter = ',', help_heading = "Filters (every output)")]
    conns: Vec<u64>,
    /// Only connections with a close of one of these codes, as the endpoints
    /// report them (1005 and 1006 match inferred closes). All records of a
    /// selected connection are kept: the frames before a close are its
    /// evidence.
    #[arg(long = "code", value_name = "CODES", value_delimiter = ',', help_heading = "Filters (every output)")]
    codes: Vec<u16>,
    /// Only records at or after this time: RFC 3339 (2026-11-24T03:12:00Z) or
    /// a duration after the capture start (90s, 5m, 1h30m, PT90S).
    #[arg(long, value_name = "TIME", help_heading = "Filters (every output)")]
    since: Option<TimeBound>,
    /// Only records at or before this time (same forms as --since).
    #[arg(long, value_name = "TIME", help_heading = "Filters (every output)")]
    until: Option<TimeBound>,
    /// Only connections from this client: IP or IP:PORT ([v6]:PORT); repeatable.
    #[arg(long = "client", value_name = "IP[:PORT]", help_heading = "Filters (every output)")]
    clients: Vec<EndpointPattern>,
    /// Only connections to this server: IP or IP:PORT; repeatable.
    #[arg(long = "server", value_name = "IP[:PORT]", help_heading = "Filters (every output)")]
    servers: Vec<EndpointPattern>,
    /// Only connections with a protocol violation, a refused upgrade, or a
    /// close other than 1000, 1001 or 1005 (an inferred 1006 included).
    #[arg(long, help_heading = "Filters (every output)")]
    only_problems: bool,

    /// Preview the first N bytes of each frame's payload (text as text,
    /// binary as hex; compressed frames as inflated) in frames.csv and JSON.
    #[arg(long, value_name = "N", default_value_t = 0)]
    payloads: usize,
    /// Leave HTTP header values, query strings, close reasons, payload
    /// previews and values quoted in details out of every output.
    #[arg(long)]
    redact: bool,
}

/// What `--fail-on` can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum FailOn {
    Violations,
    #[value(name = "1011")]
    InternalError,
    Abnormal,
}

/// Sends records to the summary and, if asked, the CSV files, and keeps
/// what log matching needs.
struct Outputs {
    summary: Summary,
    csv: Option<CsvWriter>,
    json: Option<JsonWriter<Box<dyn Write>>>,
    /// What the HTML and Markdown reports need (`--html`, `--markdown`).
    incident: Option<IncidentCollector>,
    error: Option<wsforensics::error::Error>,
    /// What log matching needs; only kept with `--log` (it grows with the
    /// connections of the capture).
    targets: Option<TargetCollector>,
    /// Counts for `--fail-on`.
    violations: u64,
    internal_errors: u64,
    abnormal: u64,
    /// `--redact`: records are redacted after log matching has what it
    /// needs from them, before any output sees them.
    redact: bool,
}

impl Outputs {
    fn write(&mut self, f: impl FnOnce(&mut CsvWriter) -> Result<(), wsforensics::error::Error>) {
        if self.error.is_some() {
            return;
        }
        if let Some(w) = self.csv.as_mut()
            && let Err(e) = f(w)
        {
            self.error = Some(e);
        }
    }

    fn write_json(&mut self, f: impl FnOnce(&mut JsonWriter<Box<dyn Write>>) -> Result<(), wsforensics::error::Error>) {
        if self.error.is_some() {
            return;
        }
        if let Some(w) = self.json.as_mut()
            && let Err(e) = f(w)
        {
            self.error = Some(e);
        }
    }
}

impl RecordSink for Outputs {
    fn connection(&mut self, mut rec: ConnectionRecord) {
        if let Some(t) = self.targets.as_mut() {
            t.connection(&rec);
        }
        if self.redact {
            redact::connection(&mut rec);
        }
        self.summary.connection(&rec);
        self.write(|w| w.connection(&rec));
        self.write_json(|j| j.connection(&rec));
        if let Some(i) = self.incident.as_mut() {
            i.connection(rec);
        }
    }
    fn frame(&mut self, mut rec: FrameRecord) {
        if self.redact {
            redact::frame(&mut rec);
        }
        self.summary.frame(&rec);
        self.write(|w| w.frame(&rec));
        self.write_json(|j| j.frame(&rec));
        if let Some(i) = self.incident.as_mut() {
            i.frame(rec);
        }
    }
    fn message(&mut self, rec: MessageRecord) {
        self.summary.message(&rec);
        self.write(|w| w.message(&rec));
        self.write_json(|j| j.message(&rec));
        if let Some(i) = self.incident.as_mut() {
            i.message(rec);
        }
    }
    fn close(&mut self, rec: CloseRecord) {
        self.internal_errors += u64::from(rec.reported_code == 1011 && rec.initiator);
        self.abnormal += u64::from(rec.inferred && rec.reported_code == 1006);
        if let Some(t) = self.targets.as_mut() {
            t.close(&rec);
        }
        let mut shown = rec;
        if self.redact {
            redact::close(&mut shown);
        }
        self.summary.close(&shown);
        self.write(|w| w.close(&shown));
        self.write_json(|j| j.close(&shown));
        if let Some(i) = self.incident.as_mut() {
            i.close(shown);
        }
    }
    fn violation(&mut self, mut rec: ViolationRecord) {
        if self.redact {
            redact::violation(&mut rec);
        }
        self.violations += 1;
        self.summary.violation(&rec);
        self.write(|w| w.violation(&rec));
        self.write_json(|j| j.violation(&rec));
        if let Some(i) = self.incident.as_mut() {
            i.violation(rec);
        }
    }
    fn finding(&mut self, mut rec: Finding) {
        if self.redact {
            redact::finding(&mut rec);
        }
        self.summary.finding(&rec);
        self.write(|w| w.finding(&rec));
        self.write_json(|j| j.finding(&rec));
        if let Some(i) = self.incident.as_mut() {
            i.finding(rec);
        }
    }
}

/// A progress bar on stderr for runs longer than a second, only on a
/// terminal: bytes read of the total, packets per second, connections open.
struct ProgressBar {
    start: std::time::Instant,
    bar: Option<indicatif::ProgressBar>,
    enabled: bool,
}

impl ProgressBar {
    fn new(enabled: bool) -> ProgressBar {
        ProgressBar { start: std::time::Instant::now(), bar: None, enabled: enabled && std::io::stderr().is_terminal() }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Progress for ProgressBar {
    fn update(&mut self, bytes_read: u64, bytes_total: u64, packets: u64, open_connections: usize) {
        if !self.enabled {
            return;
        }
        let elapsed = self.start.elapsed();
        if self.bar.is_none() && elapsed.as_secs_f64() >= 1.0 {
            let bar = indicatif::ProgressBar::with_draw_target(Some(bytes_total), indicatif::ProgressDrawTarget::stderr());
            let style = indicatif::ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            self.bar = Some(bar);
        }
        if let Some(bar) = &self.bar {
            bar.set_position(bytes_read);
            // Rates over the whole run: the bar only appears after a second.
            let secs = elapsed.as_secs_f64().max(1e-3);
            let (mb_s, pkt_s) = (bytes_read as f64 / secs / 1e6, packets as f64 / secs);
            bar.set_message(format!("{mb_s:.0} MB/s, {pkt_s:.0} packets/s, {open_connections} connections open"));
        }
    }
}

/// A byte size: a number with an optional unit (B, KB, KiB, MB, MiB, GB, GiB).
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("{s:?} is not a size (e.g. 64MiB)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "kib" | "k" => 1 << 10,
        "mb" => 1_000_000,
        "mib" | "m" => 1 << 20,
        "gb" => 1_000_000_000,
        "gib" | "g" => 1 << 30,
        other => return Err(format!("unknown size unit {other:?} (use KiB, MiB, GiB)")),
    };
    n.checked_mul(mult).ok_or_else(|| format!("{s:?} is too large"))
}

/// `wsforensics FILE...` means `wsforensics analyze FILE...`.
fn with_default_command(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let known = ["analyze", "explain", "completions", "man", "help", "-h", "--help", "-V", "--version"];
    if let Some(first) = args.get(1)
        && !known.iter().any(|k| first == *k)
    {
        args.insert(1, "analyze".into());
    }
    args
}

fn run_analyze(a: AnalyzeArgs) -> anyhow::Result<ExitCode> {
    let mut opts = AnalysisOptions::default();
    if let Some(n) = a.threads {
        anyhow::ensure!(n >= 1, "--threads must be at least 1");
        opts.threads = n;
    }
    opts.session.max_message = a.max_message;
    // Redacted previews would be empty: do not keep the bytes at all.
    opts.session.decoder.data_keep = if a.redact { 0 } else { a.payloads };
    let csv_opts = CsvOptions { raw: a.raw_csv, payloads: opts.session.decoder.data_keep };
    let filter = build_filter(&a)?;
    let csv = match &a.csv {
        Some(dir) => Some(CsvWriter::create(dir, csv_opts).with_context(|| format!("cannot write CSV files into {}", dir.display()))?),
        None => None,
    };
    let json: Option<JsonWriter<Box<dyn Write>>> = match &a.json {
        Some(p) if p.as_os_str() == "-" => Some(
            JsonWriter::new(Box::new(std::io::BufWriter::new(std::io::stdout())) as Box<dyn Write>, "<stdout>")
                .with_payloads(csv_opts.payloads),
        ),
        Some(p) => {
            let file = std::fs::File::create(p).with_context(|| format!("cannot write {}", p.display()))?;
            let out: Box<dyn Write> = Box::new(std::io::BufWriter::with_capacity(256 * 1024, file));
            Some(JsonWriter::new(out, p).with_payloads(csv_opts.payloads))
        }
        None => None,
    };
    let json_to_stdout = a.json.as_deref().is_some_and(|p| p.as_os_str() == "-");
    let mut out = Outputs {
        summary: Summary::default(),
        csv,
        json,
        incident: (a.html.is_some() || a.markdown.is_some()).then(|| {
            let mut c = IncidentCollector::new();
            c.set_captures(&a.captures);
            c
        }),
        error: None,
        targets: (!a.logs.is_empty()).then(TargetCollector::default),
        violations: 0,
        internal_errors: 0,
        abnormal: 0,
        redact: a.redact,
    };
    let mut progress = ProgressBar::new(!a.quiet);
    // Connection filters that depend on how connections end need a first
    // pass (see report::filter): it only collects the selected ids.
    let selected = if filter.needs_selection_pass() {
        let mut selector = ConnectionSelector::new(&filter);
        let first = analyze(&a.captures, &opts, &mut selector, &mut progress);
        progress.finish();
        first?;
        progress = ProgressBar::new(!a.quiet);
        Some(selector.finish())
    } else {
        None
    };
    let result = if filter.is_empty() {
        analyze(&a.captures, &opts, &mut out, &mut progress)
    } else {
        analyze(&a.captures, &opts, &mut FilteredSink::new(&filter, selected, &mut out), &mut progress)
    };
    progress.finish();
    let stats: AnalysisStats = result?;
    if let Some(e) = out.error.take() {
        return Err(e.into());
    }
    if let Some(w) = out.csv.take() {
        w.finish()?;
    }
    let investigation = if a.logs.is_empty() {
        None
    } else {
        let paths = wsforensics::logs::expand_log_paths(&a.logs)?;
        let log_opts = wsforensics::logs::LogOptions {
            format: a.log_format,
            tz: a.log_tz.clone(),
            reference: out.summary.first_ts,
            ..wsforensics::logs::LogOptions::default()
        };
        anyhow::ensure!(a.match_window > 0.0, "--match-window must be positive");
        let match_opts = MatchOptions { window_s: a.match_window, offset_s: a.log_offset, ..MatchOptions::default() };
        let collected = out.targets.take().unwrap_or_default();
        let mut inv = investigate(&paths, &log_opts, collected.targets, &collected.conns, &match_opts)?;
        if a.redact {
            redact::investigation(&mut inv);
        }
        if let Some(dir) = &a.csv {
            wsforensics::report::matches::write_csv(&dir.join("matches.csv"), &inv, csv_opts)?;
        }
        Some(inv)
    };
    let notices: Vec<String> = stats.notices.iter().map(|n| n.to_string()).collect();
    let totals = CaptureTotals {
        files: stats.files.len(),
        packets: stats.packets,
        tcp_connections: stats.tcp_connections,
        notices: notices.clone(),
        filter: describe_filter(&a),
    };
    if let Some(c) = &out.incident {
        let write = |path: &PathBuf, f: &dyn Fn(&mut dyn Write) -> std::io::Result<()>| -> anyhow::Result<()> {
            let file = std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
            let mut w = std::io::BufWriter::new(file);
            f(&mut w).and_then(|()| w.flush()).with_context(|| format!("cannot write {}", path.display()))
        };
        if let Some(p) = &a.html {
            write(p, &|w| wsforensics::report::html::write_html(c, &out.summary, &totals, investigation.as_ref(), w))?;
        }
        if let Some(p) = &a.markdown {
            write(p, &|w| wsforensics::report::markdown::write_markdown(c, &out.summary, &totals, investigation.as_ref(), w))?;
        }
    }
    if let Some(mut j) = out.json.take() {
        if let Some(inv) = &investigation {
            j.matches(inv)?;
        }
        j.summary(&out.summary, &totals)?;
        j.finish()?;
    }
    if !a.quiet && !json_to_stdout {
        let notes = investigation.as_ref().map(wsforensics::report::matches::close_notes).unwrap_or_default();
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        let paint = Paint { enabled: use_color(a.color, std::io::stdout().is_terminal()) };
        render_text(&out.summary, &totals, &notes, paint, &mut lock)?;
        if let Some(inv) = &investigation {
            wsforensics::report::matches::render_section(inv, &mut lock)?;
        }
        lock.flush()?;
    } else if !notices.is_empty() && std::io::stderr().is_terminal() {
        for n in &notices {
            eprintln!("warning: {n}");
        }
        eprintln!("warning: partial results: the damaged bytes were skipped, everything readable around them was analyzed");
    }
    let failed: Vec<String> = a
        .fail_on
        .iter()
        .filter_map(|f| match f {
            FailOn::Violations if out.violations > 0 => Some(format!("{} protocol violation(s)", out.violations)),
            FailOn::InternalError if out.internal_errors > 0 => Some(format!("{} 1011 close(s)", out.internal_errors)),
            FailOn::Abnormal if out.abnormal > 0 => Some(format!("{} connection(s) ended without a Close", out.abnormal)),
            _ => None,
        })
        .collect();
    if !failed.is_empty() {
        eprintln!("wsforensics: --fail-on: {}", failed.join(", "));
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// The filter of the command line, with times relative to the capture
/// start resolved.
fn build_filter(a: &AnalyzeArgs) -> anyhow::Result<RecordFilter> {
    let relative = [a.since, a.until].iter().flatten().any(|b| b.is_relative());
    let start = if relative {
        let mut reader = wsforensics::capture::CaptureReader::open(&a.captures)?;
        let first = reader.next_packet()?.map(|p| p.ts);
        first.ok_or_else(|| anyhow::anyhow!("--since/--until relative to the capture start: the capture has no packet"))?
    } else {
        wsforensics::model::Timestamp(0)
    };
    let filter = RecordFilter {
        conns: a.conns.clone(),
        codes: a.codes.clone(),
        since: a.since.map(|b| b.resolve(start)),
        until: a.until.map(|b| b.resolve(start)),
        clients: a.clients.clone(),
        servers: a.servers.clone(),
        only_problems: a.only_problems,
    };
    if let (Some(s), Some(u)) = (filter.since, filter.until) {
        anyhow::ensure!(s <= u, "--since ({s}) is after --until ({u}): nothing would be shown");
    }
    Ok(filter)
}

/// The filter in words for the report header, `None` without one.
fn describe_filter(a: &AnalyzeArgs) -> Option<String> {
    let join = |v: Vec<String>| v.join(",");
    let mut parts = Vec::new();
    if !a.conns.is_empty() {
        parts.push(format!("--conn {}", join(a.conns.iter().map(u64::to_string).collect())));
    }
    if !a.codes.is_empty() {
        parts.push(format!("--code {}", join(a.codes.iter().map(u16::to_string).collect())));
    }
    if let Some(t) = a.since {
        parts.push(format!("--since {}", describe_bound(t)));
    }
    if let Some(t) = a.until {
        parts.push(format!("--until {}", describe_bound(t)));
    }
    for c in &a.clients {
        parts.push(format!("--client {c}"));
    }
    for s in &a.servers {
        parts.push(format!("--server {s}"));
    }
    if a.only_problems {
        parts.push("--only-problems".to_string());
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

fn describe_bound(b: TimeBound) -> String {
    match b {
        TimeBound::At(t) => t.to_string(),
        TimeBound::AfterStart(ns) => format!("capture start + {:.3} s", ns as f64 / 1e9),
    }
}

/// Colors on or off: `--color`, else on a terminal without `NO_COLOR`
/// (set and not empty, <https://no-color.org>).
fn use_color(choice: ColorChoice, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

fn render_man(sub: Option<&str>) -> anyhow::Result<()> {
    use clap::CommandFactory as _;
    let cmd = Cli::command();
    let page = match sub {
        None => cmd,
        Some(name) => {
            let sub = cmd
                .get_subcommands()
                .find(|c| c.get_name() == name)
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("no subcommand {name:?} (analyze, explain, completions, man)"))?;
            // The page of a subcommand is named like git's: wsforensics-analyze(1).
            sub.name(format!("wsforensics-{name}"))
        }
    };
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    clap_mangen::Man::new(page).render(&mut lock)?;
    lock.flush()?;
    Ok(())
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse_from(with_default_command(std::env::args_os().collect())) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    let result = match cli.command {
        Command::Analyze(a) => run_analyze(*a),
        Command::Completions(c) => {
            use clap::CommandFactory as _;
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            clap_complete::generate(c.shell, &mut Cli::command(), "wsforensics", &mut lock);
            lock.flush().map(|()| ExitCode::SUCCESS).map_err(anyhow::Error::from)
        }
        Command::Man(m) => render_man(m.subcommand.as_deref()).map(|()| ExitCode::SUCCESS),
        Command::Explain(e) => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            wsforensics::report::explain::render(&e.codes, e.lang, &mut lock)
                .and_then(|()| lock.flush())
                .map(|()| ExitCode::SUCCESS)
                .map_err(anyhow::Error::from)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // A closed pipe (`| head`) is not an error.
            if e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
