//! Server logs read into events: one [`LogEvent`] per log record, a
//! multi-line stack trace grouped with the line that logged it, with its
//! timestamp on the capture's time axis, its exception (type, message, root
//! cause, top application frame) and the identifiers it names.
//!
//! Owns: [`read_logs`] (files, globs, `.gz`), format detection
//! ([`LogFormat`], [`DetectedFormat`]), time zones for zone-less stamps
//! ([`LogTz`]), the event vocabulary ([`LogEvent`], [`ExceptionInfo`],
//! [`Frame`], [`Identifiers`], [`Level`]) and [`LogNotice`] (damage in a
//! log, reported as data).
//! May import: std, jiff, memchr, simdutf8, rayon, serde_json, flate2, glob,
//! `crate::model`, `crate::error`.
//! Must not import: the capture side (`capture`, `decode`, `flow`, `http`,
//! `ws`, `session`, `pipeline`): tying events to connections is the
//! matcher's job, not this module's.
//!
//! Reading, in order:
//! 1. **Blocks.** A file is read in blocks of about [`LogOptions::block_size`]
//!    bytes cut after a newline (and, for container logs, never inside a run
//!    of partial lines), on a reader thread, gzip decoded on the fly.
//!    A line longer than [`LogOptions::max_line`] keeps its first
//!    `max_line` bytes and gives a notice; memory stays bounded whatever the
//!    input.
//! 2. **Lines** (in parallel, one block per task): container wrappers
//!    (Docker json-file, Kubernetes CRI) unwrapped and partial lines joined;
//!    each line classified: a record header (a timestamp at the start, in the
//!    shape detected for the file), a JSON record, a runtime's crash output
//!    (`panic:`, `thread 'x' panicked at`, `Exception in thread`, ...), a
//!    blank, binary garbage, or other text.
//! 3. **Records**: a header starts a record and the lines after it continue
//!    it (Logstash's "negate/previous"); output without headers is grouped by
//!    per-language rules (Python, Java, Go, Node.js, Rust, .NET, Ruby, PHP,
//!    Elixir). Only the lines before a block's first header depend on the
//!    block before, so blocks are grouped in parallel and stitched in order.
//! 4. **Events**: the exception parsed from the record's text (chains, root
//!    cause, frames, top application frame), identifiers extracted, the
//!    timestamp converted to UTC (zone-less stamps in [`LogOptions::tz`],
//!    year-less ones near [`LogOptions::reference`]).
//!
//! Damage is never an `Err`: binary garbage, cut lines, unparseable JSON, a
//! corrupt gzip stream each give a [`LogNotice`] with the file and line
//! numbers, and reading goes on. `Err` means a file cannot be read at all.

#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod group;
mod header;
mod ids;
mod json;
mod reader;
mod time;
mod trace;
mod wrap;

#[cfg(test)]
mod tests;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::model::Timestamp;

pub use header::TextShape;

/// Default block size: the unit of parallel work. Small enough that a
/// block, its records and its events stay in a core's cache (L2) from reading
/// to handing out: larger blocks spend their time in cache misses, notably
/// when the events are freed.
pub const DEFAULT_BLOCK_SIZE: usize = 256 << 10;
/// Default longest line kept whole; longer lines keep this many bytes.
pub const DEFAULT_MAX_LINE: usize = 1 << 20;
/// At most this many bytes of a record are kept in [`LogEvent::raw`].
pub const MAX_RAW: usize = 64 << 10;
/// At most this many bytes of an event's message.
pub const MAX_MESSAGE: usize = 16 << 10;
/// At most this many frames are kept per exception.
pub const MAX_FRAMES: usize = 128;
/// At most this many lines of one record are analysed (the rest still
/// count in its line range, and a notice says so).
pub const MAX_RECORD_LINES: usize = 10_000;
/// At most this many bytes of one record are analysed.
pub const MAX_RECORD_BYTES: usize = 4 << 20;
/// At most this many values per identifier kind and event.
pub const MAX_IDS: usize = 32;

/// Severity, normalised across libraries (`WARNING`, `warn`, `W`, pino 40,
/// syslog 4 all read as [`Level::Warn`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Notice,
    Warn,
    Error,
    /// Fatal, critical, emergency, alert, panic; also a runtime's own crash
    /// output (an uncaught exception, a Go panic).
    Fatal,
}

impl Level {
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Notice => "NOTICE",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
            Level::Fatal => "FATAL",
        }
    }

    /// Error or worse.
    pub const fn is_error(self) -> bool {
        matches!(self, Level::Error | Level::Fatal)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The language (runtime) whose stack-trace shape was recognised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Language {
    Python,
    /// Java and other JVM languages (Kotlin, Scala).
    Java,
    Go,
    /// Node.js (V8 stack format).
    Node,
    Rust,
    DotNet,
    Ruby,
    Php,
    Elixir,
    /// An exception named in a message without a recognisable trace.
    Unknown,
}

impl Language {
    pub const fn as_str(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::Java => "java",
            Language::Go => "go",
            Language::Node => "node",
            Language::Rust => "rust",
            Language::DotNet => "dotnet",
            Language::Ruby => "ruby",
            Language::Php => "php",
            Language::Elixir => "elixir",
            Language::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One stack frame.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frame {
    /// Function or method as the trace names it (`crash_handler`,
    /// `com.x.Foo.bar`, `main.(*Server).handle`); empty when the trace
    /// gives only a location (a Rust panic site, an anonymous JS function).
    pub function: String,
    /// Source file as printed (absolute, relative, or `Native Method`).
    pub file: String,
    pub line: Option<u32>,
    /// Application code, not the runtime, a framework or a dependency
    /// (`site-packages`, `node_modules`, `java.*`, `runtime.`, `std::`, ...).
    pub in_app: bool,
}

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.function.is_empty(), self.line) {
            (false, Some(l)) => write!(f, "{} ({}:{})", self.function, self.file, l),
            (false, None) if self.file.is_empty() => f.write_str(&self.function),
            (false, None) => write!(f, "{} ({})", self.function, self.file),
            (true, Some(l)) => write!(f, "{}:{}", self.file, l),
            (true, None) => f.write_str(&self.file),
        }
    }
}

/// An exception (or panic) found in an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExceptionInfo {
    pub language: Language,
    /// Type of the exception that propagated (the outermost one of a chain):
    /// `ZeroDivisionError`, `java.lang.IllegalStateException`, `TypeError`;
    /// `panic` / `runtime error` / `fatal error` for Go, `panic` for Rust.
    pub exc_type: String,
    pub message: String,
    /// The root cause (the first exception thrown): Python's first chained
    /// traceback, Java's last `Caused by:`, .NET's last `--->`, Node's
    /// deepest `[cause]`. The same as the outer one when there is no chain.
    pub innermost_type: String,
    pub innermost_message: String,
    /// Number of exceptions in the chain (1 without a chain).
    pub chain_len: usize,
    /// The first application frame walking out from the throw site, root
    /// cause first; the throw site itself when every frame is library code.
    pub top_app_frame: Option<Frame>,
    /// Frames, throw site first within each exception, root cause's
    /// exception first; at most [`MAX_FRAMES`].
    pub frames: Vec<Frame>,
}

/// Identifiers named by an event, for tying it to a connection
/// (materialized by [`LogEvent::identifiers`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identifiers {
    /// Every IP address (also those of `ip_ports`).
    pub ips: Vec<IpAddr>,
    /// `ip:port` pairs (`127.0.0.1:44156`, `[::1]:8080`, JSON `client.ip` +
    /// `client.port`).
    pub ip_ports: Vec<SocketAddr>,
    /// UUIDs, lower case.
    pub uuids: Vec<String>,
    /// Request / trace / span / connection / session ids and
    /// `Sec-WebSocket-Key`s, with the key that named them as written
    /// (`("request_id", "abc")`, `("Connection id", "0HM7...")`,
    /// `("trace.id", "4bf9...")`).
    pub ids: Vec<(String, String)>,
    /// URL paths (`/calc`, `/done?chat=1000`), not file paths.
    pub paths: Vec<String>,
}

impl Identifiers {
    pub fn is_empty(&self) -> bool {
        self.ips.is_empty() && self.ip_ports.is_empty() && self.uuids.is_empty() && self.ids.is_empty() && self.paths.is_empty()
    }
}

/// A byte range of an event's text buffer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) end: u32,
}

impl Span {
    pub(crate) fn new(start: usize, end: usize) -> Span {
        let clamp = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        Span { start: clamp(start), end: clamp(end.max(start)) }
    }

    pub(crate) fn of(self, text: &str) -> &str {
        text.get(self.start as usize..self.end as usize).unwrap_or_default()
    }
}

/// One identifier, compactly (strings are spans of the event's text; 20
/// bytes, as events carry a few inline).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ident {
    Ip(IpAddr),
    /// `SocketAddr::new(ip, port)` (no IPv6 flow or scope: none is read).
    IpPort(IpAddr, u16),
    /// A UUID's 128 bits, most significant first.
    Uuid([u32; 4]),
    Id {
        key: Span,
        value: Span,
    },
    Path(Span),
}

impl Ident {
    pub(crate) fn ip_port(sa: SocketAddr) -> Ident {
        Ident::IpPort(sa.ip(), sa.port())
    }

    pub(crate) fn uuid(u: u128) -> Ident {
        Ident::Uuid([(u >> 96) as u32, (u >> 64) as u32, (u >> 32) as u32, u as u32])
    }
}

fn uuid_value(words: [u32; 4]) -> u128 {
    words.iter().fold(0u128, |v, &w| (v << 32) | u128::from(w))
}

/// Identifiers kept inline in an event: most events name one to three.
const INLINE_IDS: usize = 3;

/// An event's identifiers: up to [`INLINE_IDS`] in the event itself, more in
/// a vector. Events are built by the hundred thousand a second; this saves
/// one allocation (and its release) for most of them.
#[derive(Clone)]
pub(crate) enum IdList {
    Inline { len: u8, items: [Ident; INLINE_IDS] },
    Heap(Vec<Ident>),
}

impl IdList {
    pub(crate) fn from_slice(ids: &[Ident]) -> IdList {
        if ids.len() > INLINE_IDS {
            return IdList::Heap(ids.to_vec());
        }
        // One by one: a few elements (a call to `memcpy` costs more).
        let mut items = [Ident::Path(Span::default()); INLINE_IDS];
        for (dst, src) in items.iter_mut().zip(ids) {
            *dst = *src;
        }
        IdList::Inline { len: ids.len() as u8, items }
    }

    pub(crate) fn as_slice(&self) -> &[Ident] {
        match self {
            IdList::Inline { len, items } => items.get(..usize::from(*len)).unwrap_or_default(),
            IdList::Heap(v) => v,
        }
    }
}

impl std::ops::Deref for IdList {
    type Target = [Ident];

    fn deref(&self) -> &[Ident] {
        self.as_slice()
    }
}

impl Default for IdList {
    fn default() -> Self {
        IdList::from_slice(&[])
    }
}

impl From<Vec<Ident>> for IdList {
    fn from(v: Vec<Ident>) -> IdList {
        if v.len() <= INLINE_IDS { IdList::from_slice(&v) } else { IdList::Heap(v) }
    }
}

/// Compared and shown as the list it holds, wherever it is kept.
impl PartialEq for IdList {
    fn eq(&self, other: &IdList) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl fmt::Debug for IdList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// Container stream a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One log record. Its texts (raw record, message, timestamp as written,
/// logger, identifier strings) share one buffer and are read through
/// methods: an event without an exception costs one allocation (two when it
/// names more than three identifiers), which keeps reading at hundreds of
/// MB/s.
#[derive(Clone, Debug, PartialEq)]
pub struct LogEvent {
    /// Index of the file in [`LogSummary::files`].
    pub file: usize,
    /// 1-based number of the record's first physical line in its file
    /// (after decompression).
    pub line: u64,
    /// 1-based number of its last non-blank physical line.
    pub end_line: u64,
    /// When it was logged, UTC: the record's own timestamp, else the
    /// container wrapper's.
    pub ts: Option<Timestamp>,
    /// Resolution of `ts` in nanoseconds (1_000_000_000 for a stamp in whole
    /// seconds: the event happened in `[ts, ts + res)`); 0 without `ts`.
    pub ts_res_ns: i64,
    /// The zone-less local time fell in a DST fold or gap; `ts` took the
    /// offset before the transition (jiff's "compatible" rule).
    pub ts_ambiguous: bool,
    /// The container runtime's timestamp (Docker json-file, CRI), kept
    /// beside the application's: a second, independent clock.
    pub wrapper_ts: Option<Timestamp>,
    /// For an event without its own timestamp (crash output on stderr):
    /// the timestamp of the nearest earlier event of the file.
    pub ts_not_before: Option<Timestamp>,
    pub level: Option<Level>,
    pub stream: Option<Stream>,
    /// Boxed: most events have none, and events travel by value.
    pub exception: Option<Box<ExceptionInfo>>,
    /// The record's raw text first, then texts that are not part of it.
    text: String,
    raw: Span,
    message: Span,
    ts_raw: Span,
    logger: Option<Span>,
    ids: IdList,
}

impl LogEvent {
    /// The record's text (unwrapped for container logs), lossy UTF-8, at
    /// most [`MAX_RAW`] bytes.
    pub fn raw(&self) -> &str {
        self.raw.of(&self.text)
    }

    /// The message of the record's first line (after the header), at most
    /// [`MAX_MESSAGE`] bytes; for JSON, the message field.
    pub fn message(&self) -> &str {
        self.message.of(&self.text)
    }

    /// The timestamp as written (empty without one).
    pub fn ts_raw(&self) -> &str {
        self.ts_raw.of(&self.text)
    }

    /// Logger / category / syslog tag (`websockets.server`, `com.x.Foo`).
    pub fn logger(&self) -> Option<&str> {
        self.logger.map(|s| s.of(&self.text))
    }

    /// `ip:port` pairs named by the event (cheap; no allocation).
    pub fn ip_ports(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        self.ids.iter().filter_map(|i| if let Ident::IpPort(ip, port) = i { Some(SocketAddr::new(*ip, *port)) } else { None })
    }

    /// Request / trace / connection ids as (key as written, value).
    pub fn ids(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.ids
            .iter()
            .filter_map(|i| if let Ident::Id { key, value } = i { Some((key.of(&self.text), value.of(&self.text))) } else { None })
    }

    /// URL paths named by the event.
    pub fn paths(&self) -> impl Iterator<Item = &str> + '_ {
        self.ids.iter().filter_map(|i| if let Ident::Path(p) = i { Some(p.of(&self.text)) } else { None })
    }

    /// Every identifier, as plain collections.
    pub fn identifiers(&self) -> Identifiers {
        let mut out = Identifiers::default();
        for id in self.ids.iter() {
            match *id {
                Ident::Ip(ip) => {
                    if !out.ips.contains(&ip) {
                        out.ips.push(ip);
                    }
                }
                Ident::IpPort(ip, port) => {
                    out.ip_ports.push(SocketAddr::new(ip, port));
                    if !out.ips.contains(&ip) {
                        out.ips.push(ip);
                    }
                }
                Ident::Uuid(u) => out.uuids.push(format_uuid(uuid_value(u))),
                Ident::Id { key, value } => out.ids.push((key.of(&self.text).to_string(), value.of(&self.text).to_string())),
                Ident::Path(p) => out.paths.push(p.of(&self.text).to_string()),
            }
        }
        out
    }

    /// `line` or `line-end_line`, for reports.
    pub fn line_range(&self) -> String {
        if self.end_line > self.line { format!("{}-{}", self.line, self.end_line) } else { self.line.to_string() }
    }
}

fn format_uuid(u: u128) -> String {
    let h = format!("{u:032x}");
    let part = |a: usize, b: usize| h.get(a..b).unwrap_or_default();
    format!("{}-{}-{}-{}-{}", part(0, 8), part(8, 12), part(12, 16), part(16, 20), part(20, 32))
}

/// The parts an event is built from (inside this module).
pub(crate) struct EventParts {
    pub file: usize,
    pub line: u64,
    pub end_line: u64,
    pub ts: Option<Timestamp>,
    pub ts_res_ns: i64,
    pub ts_ambiguous: bool,
    pub wrapper_ts: Option<Timestamp>,
    pub level: Option<Level>,
    pub stream: Option<Stream>,
    pub exception: Option<Box<ExceptionInfo>>,
    pub text: String,
    pub raw: Span,
    pub message: Span,
    pub ts_raw: Span,
    pub logger: Option<Span>,
    pub ids: IdList,
}

impl From<EventParts> for LogEvent {
    fn from(p: EventParts) -> LogEvent {
        LogEvent {
            file: p.file,
            line: p.line,
            end_line: p.end_line,
            ts: p.ts,
            ts_res_ns: p.ts_res_ns,
            ts_ambiguous: p.ts_ambiguous,
            wrapper_ts: p.wrapper_ts,
            ts_not_before: None,
            level: p.level,
            stream: p.stream,
            exception: p.exception,
            text: p.text,
            raw: p.raw,
            message: p.message,
            ts_raw: p.ts_raw,
            logger: p.logger,
            ids: p.ids,
        }
    }
}

/// What `--log-format` asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LogFormat {
    /// Detect per file from its first lines.
    #[default]
    Auto,
    /// Plain text; the header shape is still detected.
    Text,
    /// One JSON object per line.
    Json,
    /// Docker json-file (`{"log":...,"stream":...,"time":...}`); the inner
    /// text is detected.
    Docker,
    /// Kubernetes CRI (`TIMESTAMP STREAM P|F TEXT`); the inner text is
    /// detected.
    Cri,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(LogFormat::Auto),
            "text" | "plain" | "txt" => Ok(LogFormat::Text),
            "json" | "jsonl" | "ndjson" | "json-lines" => Ok(LogFormat::Json),
            "docker" | "docker-json" | "json-file" => Ok(LogFormat::Docker),
            "cri" | "containerd" | "cri-o" | "crio" | "kubernetes" | "k8s" => Ok(LogFormat::Cri),
            other => Err(format!("unknown log format {other:?} (expected auto, text, json, docker or cri)")),
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogFormat::Auto => "auto",
            LogFormat::Text => "text",
            LogFormat::Json => "json",
            LogFormat::Docker => "docker",
            LogFormat::Cri => "cri",
        })
    }
}

/// Container wrapper around each line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Wrapper {
    Docker,
    Cri,
}

/// What a file's records look like inside any wrapper.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Inner {
    /// Text records starting with a header of this shape.
    Text(TextShape),
    /// JSON lines (text lines among them are still read as text).
    Json,
}

/// The format found (or forced) for one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DetectedFormat {
    pub wrapper: Option<Wrapper>,
    pub inner: Inner,
}

impl fmt::Display for DetectedFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.wrapper {
            Some(Wrapper::Docker) => f.write_str("docker+")?,
            Some(Wrapper::Cri) => f.write_str("cri+")?,
            None => {}
        }
        match self.inner {
            Inner::Json => f.write_str("json"),
            Inner::Text(shape) => write!(f, "text({})", shape.as_str()),
        }
    }
}

/// The zone of timestamps written without one (`--log-tz`): an IANA name
/// (`Europe/Berlin`, DST-aware through jiff), a fixed offset (`-05:00`,
/// `+0530`, `UTC+2`) or `UTC` (the default).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogTz(pub jiff::tz::TimeZone);

impl Default for LogTz {
    fn default() -> Self {
        LogTz(jiff::tz::TimeZone::UTC)
    }
}

impl FromStr for LogTz {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let t = s.trim();
        let upper = t.to_ascii_uppercase();
        if matches!(upper.as_str(), "UTC" | "Z" | "GMT" | "ZULU" | "ETC/UTC") {
            return Ok(LogTz(jiff::tz::TimeZone::UTC));
        }
        let offset_text = upper.strip_prefix("UTC").or_else(|| upper.strip_prefix("GMT")).unwrap_or(&upper);
        if let Some(secs) = time::parse_offset_text(offset_text.as_bytes()) {
            let offset = jiff::tz::Offset::from_seconds(secs).map_err(|e| format!("bad offset {t:?}: {e}"))?;
            return Ok(LogTz(jiff::tz::TimeZone::fixed(offset)));
        }
        jiff::tz::TimeZone::get(t).map(LogTz).map_err(|e| {
            format!("unknown time zone {t:?} (expected an IANA name such as Europe/Berlin, an offset such as -05:00, or UTC): {e}")
        })
    }
}

/// How to read logs.
#[derive(Clone, Debug)]
pub struct LogOptions {
    pub format: LogFormat,
    /// Zone of timestamps written without one.
    pub tz: LogTz,
    /// A moment near the logged period (the capture's start): gives the
    /// year of year-less stamps (syslog RFC 3164, glog), picking the year
    /// that puts each stamp nearest to it (so Dec→Jan rollovers work).
    /// Without it such stamps stay unset and a notice says so.
    pub reference: Option<Timestamp>,
    /// Target size of a parallel work unit.
    pub block_size: usize,
    /// Longest line kept whole.
    pub max_line: usize,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            format: LogFormat::Auto,
            tz: LogTz::default(),
            reference: None,
            block_size: DEFAULT_BLOCK_SIZE,
            max_line: DEFAULT_MAX_LINE,
        }
    }
}

/// What kind of damage or limitation a [`LogNotice`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogNoticeKind {
    /// A line longer than [`LogOptions::max_line`]; only its start was read.
    LongLine,
    /// A record longer than [`MAX_RECORD_LINES`] / [`MAX_RECORD_BYTES`]; its
    /// tail is counted in its line range but not analysed.
    LongRecord,
    /// Binary data (NUL or control bytes), not read as log text.
    Binary,
    /// A line that looked like JSON in a JSON log but did not parse; read as
    /// text.
    BadJson,
    /// A container log line without a valid wrapper; read as plain text.
    BadWrapper,
    /// A run of partial container lines never completed.
    UnfinishedPartial,
    /// Year-less timestamps and no reference time: their times are unset.
    NoYear,
    /// The compressed stream is corrupt or cut; the rest of the file is lost.
    Decompress,
    /// A read error in the middle of the file; the rest of the file is lost.
    Io,
}

impl LogNoticeKind {
    /// Stable snake_case identifier.
    pub const fn id(self) -> &'static str {
        match self {
            LogNoticeKind::LongLine => "long_line",
            LogNoticeKind::LongRecord => "long_record",
            LogNoticeKind::Binary => "binary",
            LogNoticeKind::BadJson => "bad_json",
            LogNoticeKind::BadWrapper => "bad_wrapper",
            LogNoticeKind::UnfinishedPartial => "unfinished_partial",
            LogNoticeKind::NoYear => "no_year",
            LogNoticeKind::Decompress => "decompress",
            LogNoticeKind::Io => "io",
        }
    }
}

/// Damage or a limitation found while reading a log. Displays as
/// `server.log: lines 12-14: binary data (3 lines, 310 bytes) not read as log text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogNotice {
    /// Index in [`LogSummary::files`].
    pub file: usize,
    pub path: PathBuf,
    /// 1-based line range (`end_line == line` for one line; 0 when it
    /// concerns the whole file).
    pub line: u64,
    pub end_line: u64,
    pub kind: LogNoticeKind,
    pub message: String,
}

impl fmt::Display for LogNotice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.end_line) {
            (0, _) => write!(f, "{}: {}", self.path.display(), self.message),
            (a, b) if b > a => write!(f, "{}: lines {a}-{b}: {}", self.path.display(), self.message),
            (a, _) => write!(f, "{}: line {a}: {}", self.path.display(), self.message),
        }
    }
}

/// One file read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogFileSummary {
    pub path: PathBuf,
    pub format: DetectedFormat,
    pub gzip: bool,
    /// Bytes read (decompressed).
    pub bytes: u64,
    /// Physical lines read.
    pub lines: u64,
    pub events: u64,
}

/// What [`read_logs`] read, besides the events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogSummary {
    pub files: Vec<LogFileSummary>,
    pub notices: Vec<LogNotice>,
}

/// Expands `--log` arguments: a path is taken as is; an argument with glob
/// characters (`*`, `?`, `[`) that is not itself a file is expanded, sorted,
/// and must match at least one file.
pub fn expand_log_paths<S: AsRef<str>>(args: &[S]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for arg in args {
        let arg = arg.as_ref();
        if !arg.contains(['*', '?', '[']) || Path::new(arg).exists() {
            out.push(PathBuf::from(arg));
            continue;
        }
        let bad = |kind, msg: String| Error::Io { path: PathBuf::from(arg), source: std::io::Error::new(kind, msg) };
        let paths = glob::glob(arg).map_err(|e| bad(std::io::ErrorKind::InvalidInput, format!("bad glob pattern: {e}")))?;
        let mut found: Vec<PathBuf> = Vec::new();
        for entry in paths {
            match entry {
                Ok(p) if p.is_file() => found.push(p),
                Ok(_) => {}
                Err(e) => return Err(Error::Io { path: e.path().to_path_buf(), source: e.into() }),
            }
        }
        if found.is_empty() {
            return Err(bad(std::io::ErrorKind::NotFound, "no file matches this pattern".to_string()));
        }
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

/// Reads log files one after the other and hands every event to `sink`, in
/// file order then line order. Each file is streamed in blocks parsed in
/// parallel on the current rayon pool; memory does not grow with the file.
/// `paths` are files (see [`expand_log_paths`] for globs); gzip files
/// (recognised by content) are decompressed.
pub fn read_logs<P: AsRef<Path>>(paths: &[P], opts: &LogOptions, mut sink: impl FnMut(LogEvent)) -> Result<LogSummary> {
    let mut summary = LogSummary::default();
    for (index, path) in paths.iter().enumerate() {
        let file = reader::read_file(index, path.as_ref(), opts, &mut sink, &mut summary.notices)?;
        summary.files.push(file);
    }
    Ok(summary)
}

/// Reads one log from any byte stream (standard input, a pipe): the same
/// parsing as [`read_logs`], with `name` standing for the path in notices
/// and events numbered as file 0. Gzip is recognised by content.
pub fn read_log_reader<R: std::io::Read + Send>(name: &str, src: R, opts: &LogOptions, mut sink: impl FnMut(LogEvent)) -> LogSummary {
    let mut summary = LogSummary::default();
    let file = reader::read_source(0, Path::new(name), src, opts, &mut sink, &mut summary.notices);
    summary.files.push(file);
    summary
}

/// Reads one log held in memory: [`read_log_reader`] collecting the events.
pub fn read_log_bytes(name: &str, bytes: &[u8], opts: &LogOptions) -> (Vec<LogEvent>, LogSummary) {
    let mut events = Vec::new();
    let summary = read_log_reader(name, bytes, opts, |e| events.push(e));
    (events, summary)
}
