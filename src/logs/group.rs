//! Lines to records to events: classification of each line, the grouping
//! state machine (a header starts a record; crash output is grouped by
//! per-language rules), per-block parsing and the in-order stitching of
//! blocks.

use std::borrow::Cow;
use std::cell::RefCell;
use std::path::PathBuf;

use jiff::tz::TimeZone;

use super::header::{self, TextShape};
use super::time::{Converter, Resolved, StampMemo};
use super::trace::TrimFast;
use super::{
    DetectedFormat, EventParts, IdList, Ident, Inner, Level, LogEvent, LogNotice, LogNoticeKind, MAX_MESSAGE, MAX_RAW, MAX_RECORD_BYTES,
    MAX_RECORD_LINES, Span, Stream, Wrapper, ids, json, trace, wrap,
};
use crate::model::Timestamp;

/// What one file is read with.
pub(crate) struct FileCtx {
    pub file: usize,
    pub path: PathBuf,
    pub format: DetectedFormat,
    pub tz: TimeZone,
    pub reference: Option<Timestamp>,
    pub max_line: usize,
}

impl FileCtx {
    pub(crate) fn notice(&self, line: u64, end_line: u64, kind: LogNoticeKind, message: String) -> LogNotice {
        LogNotice { file: self.file, path: self.path.clone(), line, end_line, kind, message }
    }

    fn shape(&self) -> TextShape {
        match self.format.inner {
            Inner::Text(s) => s,
            Inner::Json => TextShape::Any,
        }
    }
}

/// A runtime's own crash output, written without any log header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Crash {
    Go,
    Rust,
    Java,
    DotNet,
    Php,
    Node,
    Ruby,
}

/// A parsed header with its timestamp resolved; positions in the line.
#[derive(Clone, Debug)]
pub(crate) struct HeaderInfo {
    ts: Option<Resolved>,
    ts_span: (usize, usize),
    level: Option<Level>,
    logger: Option<(usize, usize)>,
    msg: (usize, usize),
    /// The header before the message (after the timestamp) is known to
    /// name no identifier: it need not be scanned.
    tail_no_ids: bool,
}

impl HeaderInfo {
    /// The message (in `text`, the line) is itself a stack-trace line
    /// (syslog or Rails print every trace line with its own header). Asked
    /// only when it matters: most headers start a record whatever it says.
    fn trace_body(&self, text: &[u8]) -> bool {
        trace::is_trace_line(strip_tags(text.get(self.msg.0..self.msg.1).unwrap_or_default()))
    }
}

#[derive(Debug)]
pub(crate) enum Class {
    Blank,
    Binary,
    Header(HeaderInfo),
    Json(Box<json::JsonRec>),
    Crash(Crash),
    /// `Traceback (most recent call last):` at the start of a line.
    Traceback,
    /// `goroutine N [state]:` at the start of a line.
    Goroutine,
    /// Elixir's `** (Type) message`: continues a logged `[error]` record,
    /// else starts one.
    ElixirError,
    Other,
}

/// A logical line: one physical line, or partial container lines joined.
#[derive(Debug)]
pub(crate) struct LLine<'a> {
    text: Cow<'a, [u8]>,
    /// 0-based physical line numbers (relative to the block until shifted).
    first: u64,
    last: u64,
    wrap_ts: Option<Resolved>,
    stream: Option<Stream>,
    class: Class,
    /// What the text may hold (a `#` of a syslog escape such as `#012`, a
    /// newline), as far as the scan that cut it saw.
    seen: Seen,
    /// The text as a string, when it is known to be UTF-8 (a line of a block
    /// validated as a whole): the record's text is then built without
    /// checking it again.
    view: Option<&'a str>,
}

/// Bytes a logical line may hold, as far as the scan that cut it saw: an
/// escape (ANSI colours), a `#` (syslog escapes), a newline (none in a line
/// of plain text). All `true` when unknown (the text of a container wrapper
/// is unescaped, not scanned).
#[derive(Clone, Copy, Debug)]
struct Seen {
    esc: bool,
    hash: bool,
    newline: bool,
}

impl Seen {
    const UNKNOWN: Seen = Seen { esc: true, hash: true, newline: true };
    const NOTHING: Seen = Seen { esc: false, hash: false, newline: false };
}

impl LLine<'_> {
    fn into_owned(self) -> LLine<'static> {
        LLine {
            text: Cow::Owned(self.text.into_owned()),
            first: self.first,
            last: self.last,
            wrap_ts: self.wrap_ts,
            stream: self.stream,
            class: self.class,
            seen: self.seen,
            view: None,
        }
    }

    /// Starts a record whatever came before (so a block can be grouped from
    /// its first such line without knowing the block before).
    fn definite_start(&self) -> bool {
        match &self.class {
            Class::Header(h) => !h.trace_body(&self.text),
            Class::Json(_) | Class::Crash(_) => true,
            _ => false,
        }
    }
}

// ---------------------------------------------------------------- line shapes

#[inline]
fn starts(b: &[u8], p: &[u8]) -> bool {
    b.starts_with(p)
}

fn indented(b: &[u8]) -> bool {
    matches!(b.first(), Some(b' ' | b'\t'))
}

fn trim_start(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    b.get(n..).unwrap_or_default()
}

fn is_blank(b: &[u8]) -> bool {
    b.iter().all(u8::is_ascii_whitespace)
}

/// Substring test for the few needles used per line, without building a
/// searcher each time: `memchr` on the needle's first byte, then compare.
fn contains(b: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else { return true };
    memchr::memchr_iter(first, b).any(|p| b.get(p + 1..p + 1 + rest.len()) == Some(rest))
}

/// NUL bytes, or more than one byte in ten a control character.
fn is_binary(b: &[u8]) -> bool {
    // Most lines have no byte below 0x20 but tabs, and no DEL: nothing to count.
    if !has_control(b) {
        return false;
    }
    if memchr::memchr(0, b).is_some() {
        return true;
    }
    let ctrl = b.iter().filter(|&&c| (c < 0x20 && !matches!(c, b'\t' | b'\r' | 0x1b | 0x0c | 0x08)) || c == 0x7f).count();
    ctrl > 0 && ctrl * 10 > b.len()
}

/// Whether `b` has a byte below 0x20 other than a tab, or a DEL (0x7f): 8
/// bytes at a time, with word operations (SWAR); a word with a tab (as
/// trace lines start) is looked at byte by byte.
fn has_control(b: &[u8]) -> bool {
    // Indentation (trace lines) is no control byte: the words start after.
    let b = b.get(b.iter().take_while(|&&c| c == b'\t' || c == b' ').count()..).unwrap_or_default();
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let control = |c: u8| (c < 0x20 && c != b'\t') || c == 0x7f;
    let mut chunks = b.chunks_exact(8);
    for chunk in &mut chunks {
        let x = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        // Some byte below 0x20 or equal to 0x7f (the borrows of these
        // subtractions only run above a byte that matches: the test is
        // exact for the word).
        let below = x.wrapping_sub(0x20 * LOW) & !x & HIGH;
        let del = {
            let z = x ^ (0x7f * LOW);
            z.wrapping_sub(LOW) & !z & HIGH
        };
        if (below | del) != 0 && chunk.iter().any(|&c| control(c)) {
            return true;
        }
    }
    chunks.remainder().iter().any(|&c| control(c))
}

/// Removes ANSI CSI sequences (`ESC [ ... letter`) and other `ESC x` pairs.
fn strip_ansi(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b.get(i).copied().unwrap_or(0);
        if c == 0x1b {
            if b.get(i + 1) == Some(&b'[') {
                i += 2;
                while i < b.len() && !b.get(i).is_some_and(|c| (0x40..=0x7e).contains(c)) {
                    i += 1;
                }
                i += 1;
            } else {
                i += 2;
            }
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Crash output at column 0 that always starts a record.
fn crash_start(b: &[u8]) -> Option<Crash> {
    match b.first()? {
        b'p' if starts(b, b"panic: ") => Some(Crash::Go),
        b'f' if starts(b, b"fatal error: ") => Some(Crash::Go),
        b'S' if starts(b, b"SIGQUIT: ") || starts(b, b"SIGABRT: ") || starts(b, b"SIGSEGV: ") => Some(Crash::Go),
        b't' if starts(b, b"thread '") && contains(b, b"panicked at ") => Some(Crash::Rust),
        b'E' if starts(b, b"Exception in thread \"") => Some(Crash::Java),
        b'U' if starts(b, b"Unhandled exception. ") || starts(b, b"Unhandled Exception: ") => Some(Crash::DotNet),
        b'P' if starts(b, b"PHP Fatal error:")
            || starts(b, b"PHP Warning:")
            || starts(b, b"PHP Parse error:")
            || starts(b, b"PHP Notice:")
            || starts(b, b"PHP Deprecated:") =>
        {
            Some(Crash::Php)
        }
        b'F' if starts(b, b"Fatal error: Uncaught ") => Some(Crash::Php),
        _ if node_location_line(b) => Some(Crash::Node),
        _ if ruby_uncaught(b) => Some(Crash::Ruby),
        _ => None,
    }
}

/// Node's uncaught-exception banner: `/app/server.js:42` alone on a line.
fn node_location_line(b: &[u8]) -> bool {
    if b.len() > 1024
        || b.contains(&b' ')
        || !(starts(b, b"/") || starts(b, b"file://") || starts(b, b"node:") || b.get(1..3) == Some(b":\\"))
    {
        return false;
    }
    let Some(colon) = memchr::memrchr(b':', b) else { return false };
    let (file, num) = (b.get(..colon).unwrap_or_default(), b.get(colon + 1..).unwrap_or_default());
    !num.is_empty()
        && num.iter().all(u8::is_ascii_digit)
        && (file.ends_with(b".js")
            || file.ends_with(b".mjs")
            || file.ends_with(b".cjs")
            || file.ends_with(b".ts")
            || starts(file, b"node:"))
}

/// Plain Ruby's uncaught exception: `app.rb:6:in 'm': msg (Type)`.
fn ruby_uncaught(b: &[u8]) -> bool {
    b.ends_with(b")") && !indented(b) && contains(b, b".rb:") && contains(b, b":in ")
}

/// Lines that continue a header-less record (Java or Node traces logged
/// without a prefix, wrapped messages).
fn generic_cont(b: &[u8]) -> bool {
    indented(b)
        || starts(b, b"Caused by: ")
        || starts(b, b"Wrapped by: ")
        || starts(b, b"Suppressed: ")
        || starts(b, b"--- End of ")
        || starts(b, b"Stack trace:")
        || (starts(b, b"#") && b.get(1).is_some_and(u8::is_ascii_digit))
        || starts(b, b"Next ")
        || starts(b, b"}")
        || starts(b, b"Node.js v")
        || starts(b, b"During handling of the above exception")
        || starts(b, b"The above exception was the direct cause")
}

/// A Go function line of a goroutine dump: `pkg.(*T).f(0xc0, ...)`.
fn go_func_line(b: &[u8]) -> bool {
    let Some(open) = memchr::memchr(b'(', b) else { return false };
    let name = b.get(..open).unwrap_or_default();
    !name.is_empty() && !name.contains(&b' ') && (name.contains(&b'.') || name == b"panic") && b.ends_with(b")")
}

/// A register line of a Go signal dump: `rax    0x0`.
fn go_register_line(b: &[u8]) -> bool {
    let mut parts = b.split(|c| c.is_ascii_whitespace()).filter(|p| !p.is_empty());
    let (Some(name), Some(value), None) = (parts.next(), parts.next(), parts.next()) else { return false };
    name.len() <= 4 && name.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) && starts(value, b"0x")
}

/// A line naming an exception type at its start (`TypeError: x`, `Error`),
/// as in Node's uncaught output.
fn type_line(b: &[u8]) -> bool {
    let end = b.iter().position(|c| !(c.is_ascii_alphanumeric() || matches!(c, b'_' | b'$' | b'.'))).unwrap_or(b.len());
    let name = b.get(..end).unwrap_or_default();
    let rest = b.get(end..).unwrap_or_default();
    name.first().is_some_and(u8::is_ascii_uppercase) && (rest.is_empty() || starts(rest, b": ") || starts(rest, b" [") || rest == b":")
}

// ---------------------------------------------------------------- records

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Py {
    Frames,
    AfterExc,
    Chain,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RustSt {
    Message(u32),
    Expect,
    Backtrace,
    Notes,
}

/// How the open record takes further lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Started by a header: every non-header line continues it.
    Headed,
    Json,
    /// Header-less text: only continuation shapes continue it.
    Bare,
    Python(Py),
    Go,
    Rust(RustSt),
    Node {
        done: bool,
    },
    Java,
    DotNet,
    Php,
    Ruby,
    Elixir,
}

impl Mode {
    fn from_crash(c: Crash, line: &[u8]) -> Mode {
        match c {
            Crash::Go => Mode::Go,
            // Since 1.73: `panicked at src/x.rs:1:2:` with the message below.
            Crash::Rust => Mode::Rust(if line.ends_with(b":") { RustSt::Message(0) } else { RustSt::Expect }),
            Crash::Java => Mode::Java,
            Crash::DotNet => Mode::DotNet,
            Crash::Php => Mode::Php,
            Crash::Node => Mode::Node { done: false },
            Crash::Ruby => Mode::Ruby,
        }
    }

    /// Whether a non-header, non-blank line continues a record in this mode,
    /// and the mode after it.
    fn next(self, b: &[u8]) -> Option<Mode> {
        let t = trim_start(b);
        let ind = indented(b);
        match self {
            Mode::Headed => Some(Mode::Headed),
            Mode::Json => None,
            Mode::Bare => generic_cont(b).then_some(Mode::Bare),
            Mode::Python(Py::Frames) => Some(if ind { self } else { Mode::Python(Py::AfterExc) }),
            Mode::Python(Py::AfterExc) => {
                if ind {
                    Some(self)
                } else if starts(b, b"During handling of the above exception") || starts(b, b"The above exception was the direct cause") {
                    Some(Mode::Python(Py::Chain))
                } else {
                    None
                }
            }
            Mode::Python(Py::Chain) => None,
            Mode::Go => (ind
                || starts(b, b"[signal ")
                || starts(b, b"created by ")
                || starts(b, b"exit status ")
                || starts(b, b"PC=")
                || starts(b, b"[recovered")
                || starts(b, b"...additional frames elided...")
                || go_func_line(b)
                || go_register_line(b))
            .then_some(Mode::Go),
            Mode::Rust(st) => {
                if starts(t, b"note: ") {
                    return Some(Mode::Rust(RustSt::Notes));
                }
                if t == b"stack backtrace:" {
                    return Some(Mode::Rust(RustSt::Backtrace));
                }
                match st {
                    RustSt::Message(n) if n < 64 => Some(Mode::Rust(RustSt::Message(n + 1))),
                    RustSt::Backtrace if ind => Some(self),
                    _ => None,
                }
            }
            Mode::Node { done: true } => None,
            Mode::Node { done: false } => {
                if starts(b, b"Node.js v") {
                    Some(Mode::Node { done: true })
                } else {
                    (ind || starts(b, b"{")
                        || starts(b, b"}")
                        || starts(b, b"[cause]")
                        || starts(b, b"Thrown at:")
                        || starts(b, b"Emitted 'error' event")
                        || type_line(b))
                    .then_some(self)
                }
            }
            Mode::Java => (ind || starts(b, b"Caused by: ") || starts(b, b"Wrapped by: ") || starts(b, b"Suppressed: ")).then_some(self),
            Mode::DotNet => (ind || starts(b, b"--- End of ") || starts(b, b"---> ")).then_some(self),
            Mode::Php => (ind
                || starts(b, b"Stack trace:")
                || starts(b, b"PHP Stack trace:")
                || starts(b, b"PHP   ")
                || (starts(b, b"#") && b.get(1).is_some_and(u8::is_ascii_digit))
                || starts(b, b"Next ")
                || starts(b, b"thrown in "))
            .then_some(self),
            Mode::Ruby => (ind || starts(b, b"from ")).then_some(self),
            Mode::Elixir => ind.then_some(self),
        }
    }
}

/// A record being assembled.
#[derive(Debug)]
pub(crate) struct Record {
    first: u64,
    last: u64,
    mode: Mode,
    level: Option<Level>,
    ts: Option<Resolved>,
    /// Positions in `raw` (the header is on the first line, which `raw`
    /// starts with).
    ts_span: (usize, usize),
    logger_span: Option<(usize, usize)>,
    /// Parts of the first line around the message worth scanning for
    /// identifiers (the header after the timestamp; logfmt fields after
    /// `msg`), as ranges of `raw`.
    around_msg: [(usize, usize); 2],
    json: Option<Box<json::JsonRec>>,
    /// The record's text as read (unwrapped), at most [`MAX_RAW`] bytes.
    raw: Raw,
    /// The first line's message: a range of `raw`, or its own bytes when it
    /// was unescaped or is longer than `raw` keeps.
    msg_span: (usize, usize),
    msg_own: Option<Vec<u8>>,
    /// Continuation lines to analyse, each after a `\n`.
    more: Vec<u8>,
    /// While `Some(start)`, the continuation lines to analyse are
    /// `raw[start..]` and `more` is unused: every line went whole to both, as
    /// they do unless a limit cuts them (a stack trace is then not copied
    /// twice).
    more_from: Option<usize>,
    body_lines: usize,
    /// Lines past the analysis limits.
    dropped: u64,
    pending_blanks: u32,
    wrap_ts: Option<Resolved>,
    stream: Option<Stream>,
    /// The first line may hold a newline (not one of plain text).
    first_newline: bool,
}

/// A record's text as read, at most [`MAX_RAW`] bytes: a string while every
/// part of it is known to be UTF-8, else bytes (checked, or made lossy, when
/// the event is built).
#[derive(Debug)]
enum Raw {
    Text(String),
    Bytes(Vec<u8>),
}

impl Raw {
    fn bytes(&self) -> &[u8] {
        match self {
            Raw::Text(t) => t.as_bytes(),
            Raw::Bytes(b) => b,
        }
    }

    fn len(&self) -> usize {
        match self {
            Raw::Text(t) => t.len(),
            Raw::Bytes(b) => b.len(),
        }
    }

    /// Appends `b` (`view` is the same text as a string, when known), up to
    /// [`MAX_RAW`] bytes in all.
    fn push(&mut self, b: &[u8], view: Option<&str>) {
        let room = MAX_RAW.saturating_sub(self.len());
        if let (Raw::Text(t), Some(v)) = (&mut *self, view) {
            // The same bytes as below, while the cut falls between characters.
            if let Some(part) = v.get(..room.min(v.len())) {
                t.push_str(part);
                return;
            }
        }
        if let Raw::Text(t) = self {
            *self = Raw::Bytes(std::mem::take(t).into_bytes());
        }
        if let Raw::Bytes(dst) = self {
            push_bounded(dst, b, MAX_RAW);
        }
    }
}

/// Bytes first reserved for a record's continuation lines.
const CONTINUATION_ROOM: usize = 2048;

fn push_bounded(dst: &mut Vec<u8>, src: &[u8], limit: usize) {
    let room = limit.saturating_sub(dst.len());
    dst.extend_from_slice(src.get(..room.min(src.len())).unwrap_or_default());
}

impl Record {
    fn new(line: &LLine<'_>, mode: Mode) -> Record {
        let mut rec = Record {
            first: 0,
            last: 0,
            mode,
            level: None,
            ts: None,
            ts_span: (0, 0),
            logger_span: None,
            around_msg: [(0, 0); 2],
            json: None,
            msg_span: (0, 0),
            msg_own: None,
            raw: Raw::Bytes(Vec::new()),
            more: Vec::new(),
            more_from: None,
            body_lines: 1,
            dropped: 0,
            pending_blanks: 0,
            wrap_ts: None,
            stream: None,
            first_newline: true,
        };
        rec.reset(line, mode);
        rec
    }

    /// Makes this the record that `line` starts, in place: records are
    /// reused one after the other (their continuation buffer with them)
    /// rather than moved around.
    fn reset(&mut self, line: &LLine<'_>, mode: Mode) {
        let text = line.text.as_ref();
        // Slack for the identifier texts appended when the event is built.
        let room = text.len().min(MAX_RAW) + 48;
        let raw = match line.view {
            Some(v) if v.len() <= MAX_RAW => {
                let mut t = String::with_capacity(room);
                t.push_str(v);
                Raw::Text(t)
            }
            _ => {
                let mut b = Vec::with_capacity(room);
                push_bounded(&mut b, text, MAX_RAW);
                Raw::Bytes(b)
            }
        };
        self.first = line.first;
        self.last = line.last;
        self.mode = mode;
        self.level = None;
        self.ts = None;
        self.ts_span = (0, 0);
        self.logger_span = None;
        self.around_msg = [(0, 0); 2];
        self.json = None;
        self.msg_span = (0, raw.len());
        self.msg_own = None;
        self.raw = raw;
        self.more.clear();
        self.more_from = Some(self.raw.len());
        self.body_lines = 1;
        self.dropped = 0;
        self.pending_blanks = 0;
        self.wrap_ts = line.wrap_ts;
        self.stream = line.stream;
        self.first_newline = line.seen.newline;
        let rec = self;
        match &line.class {
            Class::Header(h) => {
                rec.level = h.level;
                rec.ts = h.ts;
                rec.ts_span = h.ts_span;
                rec.logger_span = h.logger;
                let (ms, me) = (h.msg.0, h.msg.1.max(h.msg.0));
                let end = rec.raw.len();
                let before = if h.tail_no_ids { (0, 0) } else { (h.ts_span.1.min(ms), ms.min(end)) };
                rec.around_msg = [before, (me.min(end), if me < text.len() { end } else { me.min(end) })];
                let msg = text.get(ms..me).unwrap_or_default();
                if let Some(unescaped) = if line.seen.hash { wrap::unescape_syslog(msg) } else { None } {
                    rec.msg_own = Some(unescaped);
                } else if me > rec.raw.len() {
                    let mut own = Vec::new();
                    push_bounded(&mut own, msg, MAX_RECORD_BYTES);
                    rec.msg_own = Some(own);
                } else {
                    rec.msg_span = (ms, me);
                }
            }
            Class::Crash(c) => {
                rec.level = Some(match c {
                    Crash::Rust | Crash::Java => Level::Error,
                    Crash::Php if contains(text, b"Warning:") || contains(text, b"Notice:") || contains(text, b"Deprecated:") => {
                        Level::Warn
                    }
                    _ => Level::Fatal,
                });
            }
            Class::Traceback | Class::ElixirError => rec.level = Some(Level::Error),
            _ => {}
        }
        if rec.msg_own.is_none() && text.len() > rec.raw.len() {
            let mut own = Vec::new();
            push_bounded(&mut own, text, MAX_RECORD_BYTES);
            rec.msg_own = Some(own);
        }
    }

    /// Appends a continuation line (`body` is what to analyse of it).
    fn push(&mut self, text: &[u8], view: Option<&str>, body: &[u8], last: u64) {
        let blanks = self.pending_blanks as usize;
        self.pending_blanks = 0;
        let analysed = self.body_lines + blanks < MAX_RECORD_LINES && self.more_len() + body.len() + blanks < MAX_RECORD_BYTES;
        if let Some(from) = self.more_from {
            // Still a view of `raw` if the line goes whole to both.
            let whole = self.raw.len() + blanks + 1 + text.len() <= MAX_RAW;
            if !(analysed && std::ptr::eq(body, text) && whole) {
                self.more.clear();
                self.more.extend_from_slice(self.raw.bytes().get(from..).unwrap_or_default());
                self.more_from = None;
            }
        }
        if analysed && self.more_from.is_some() {
            self.body_lines += blanks + 1;
        } else if analysed {
            if self.more.capacity() == 0 {
                // A record with one continuation line usually has more (a
                // stack trace): start with room for a few instead of
                // growing from a handful of bytes.
                self.more.reserve(CONTINUATION_ROOM.max(body.len() + blanks + 1));
            }
            self.more.resize(self.more.len() + blanks + 1, b'\n');
            self.more.extend_from_slice(body);
            self.body_lines += blanks + 1;
        } else {
            self.dropped += blanks as u64 + 1;
        }
        if self.raw.len() < MAX_RAW {
            for _ in 0..=blanks {
                self.raw.push(b"\n", Some("\n"));
            }
            self.raw.push(text, view);
        }
        self.last = last;
    }

    /// The length of the continuation lines to analyse.
    fn more_len(&self) -> usize {
        match self.more_from {
            Some(from) => self.raw.len() - from,
            None => self.more.len(),
        }
    }

    fn shift(&mut self, base: u64) {
        self.first += base;
        self.last += base;
    }
}

/// The grouping state machine: at most one open record.
#[derive(Default)]
pub(crate) struct Grouper {
    open: Option<Record>,
}

impl Grouper {
    /// Hands the open record to `done`; none is open after.
    fn close(&mut self, done: &mut impl FnMut(&mut Record)) {
        if let Some(r) = self.open.as_mut() {
            done(r);
        }
        self.open = None;
    }

    /// Hands the open record to `done` and opens the one `line` starts (in
    /// the same place).
    fn start(&mut self, line: &LLine<'_>, mode: Mode, done: &mut impl FnMut(&mut Record)) {
        match self.open.as_mut() {
            Some(r) => {
                done(r);
                r.reset(line, mode);
            }
            None => self.open = Some(Record::new(line, mode)),
        }
    }

    /// Groups one line; the records it finishes go to `done`, in order (it
    /// may take what it needs out of them).
    pub(crate) fn feed(&mut self, line: &mut LLine<'_>, done: &mut impl FnMut(&mut Record)) {
        if let Class::Json(_) = line.class {
            self.start(line, Mode::Json, done);
            if let Class::Json(j) = std::mem::replace(&mut line.class, Class::Other)
                && let Some(r) = self.open.as_mut()
            {
                r.ts = j.ts;
                r.json = Some(j);
            }
            self.close(done);
            return;
        }
        let line = &*line;
        let same_stream = |r: &Record| r.stream.is_none() || line.stream.is_none() || r.stream == line.stream;
        match &line.class {
            Class::Json(_) => {}
            Class::Binary => self.close(done),
            Class::Blank => {
                if let Some(r) = self.open.as_mut()
                    && same_stream(r)
                {
                    r.pending_blanks = r.pending_blanks.saturating_add(1);
                }
            }
            Class::Header(h) => {
                if let Some(r) = self.open.as_mut()
                    && r.mode == Mode::Headed
                    && r.level == h.level
                    && same_stream(r)
                    && h.trace_body(&line.text)
                {
                    let body = line.text.get(h.msg.0..h.msg.1.max(h.msg.0)).unwrap_or_default();
                    r.push(&line.text, line.view, strip_tags(body), line.last);
                    return;
                }
                self.start(line, Mode::Headed, done);
            }
            Class::Crash(c) => self.start(line, Mode::from_crash(*c, &line.text), done),
            // A traceback under a header belongs to it, whatever its level
            // (`logger.debug("...", exc_info=True)` is common: websockets
            // logs failed handshakes that way).
            Class::Traceback => match self.open.as_mut() {
                Some(r) if same_stream(r) && matches!(r.mode, Mode::Headed | Mode::Bare | Mode::Python(_)) => {
                    if r.mode != Mode::Headed {
                        r.mode = Mode::Python(Py::Frames);
                    }
                    r.push(&line.text, line.view, &line.text, line.last);
                }
                _ => self.start(line, Mode::Python(Py::Frames), done),
            },
            Class::ElixirError => match self.open.as_mut() {
                Some(r) if same_stream(r) && matches!(r.mode, Mode::Headed | Mode::Bare) => {
                    if r.mode == Mode::Bare {
                        r.mode = Mode::Elixir;
                    }
                    r.push(&line.text, line.view, &line.text, line.last);
                }
                _ => self.start(line, Mode::Elixir, done),
            },
            Class::Goroutine => match self.open.as_mut() {
                Some(r) if same_stream(r) && matches!(r.mode, Mode::Headed | Mode::Bare | Mode::Go) => {
                    if r.mode == Mode::Bare {
                        r.mode = Mode::Go;
                    }
                    r.push(&line.text, line.view, &line.text, line.last);
                }
                _ => self.start(line, Mode::Go, done),
            },
            Class::Other => {
                if let Some(r) = self.open.as_mut()
                    && same_stream(r)
                    && let Some(mode) = r.mode.next(&line.text)
                {
                    r.mode = mode;
                    r.push(&line.text, line.view, &line.text, line.last);
                    return;
                }
                self.start(line, Mode::Bare, done);
            }
        }
    }

    pub(crate) fn take(&mut self) -> Option<Record> {
        self.open.take()
    }
}

/// Rails-style tags before a message: `[req-id] [user] text` → `text`.
fn strip_tags(b: &[u8]) -> &[u8] {
    let mut t = b;
    for _ in 0..4 {
        if t.first() == Some(&b'[')
            && let Some(p) = memchr::memchr(b']', t)
        {
            let rest = t.get(p + 1..).unwrap_or_default();
            t = rest.strip_prefix(b" ").unwrap_or(rest);
        } else {
            break;
        }
    }
    t
}

// ---------------------------------------------------------------- classification

/// Classifies one logical line of a text (or JSON-lines) log.
fn classify(
    text: &[u8],
    ctx: &FileCtx,
    conv: &mut Converter,
    memo: &mut StampMemo,
    tails: &mut header::TailMemo,
    notices: &mut Vec<LogNotice>,
    lineno: u64,
) -> Class {
    if text.is_empty() || is_blank(text) {
        return Class::Blank;
    }
    if ctx.format.inner == Inner::Json && text.first() == Some(&b'{') {
        match json::parse_line(text, conv) {
            Some(j) => return Class::Json(Box::new(j)),
            None => notices.push(ctx.notice(lineno, lineno, LogNoticeKind::BadJson, "not valid JSON; read as text".to_string())),
        }
    }
    if let Some((h, tail_no_ids)) = header::parse_with(ctx.shape(), text, memo, tails) {
        let ts = h.ts.as_ref().and_then(|w| conv.resolve(w));
        let msg = (h.msg_start.min(text.len()), h.msg_end.unwrap_or(text.len()).min(text.len()));
        return Class::Header(HeaderInfo { ts, ts_span: h.ts_span, level: h.level, logger: h.logger, msg, tail_no_ids });
    }
    if is_binary(text) {
        return Class::Binary;
    }
    if let Some(c) = crash_start(text) {
        return Class::Crash(c);
    }
    if starts(text, b"Traceback (most recent call last):") {
        return Class::Traceback;
    }
    if starts(text, b"goroutine ") && text.ends_with(b"]:") {
        return Class::Goroutine;
    }
    if starts(text, b"** (") {
        return Class::ElixirError;
    }
    Class::Other
}

// ---------------------------------------------------------------- events

fn utf8(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// At most `max` bytes of `s`, cut on a character boundary.
pub(crate) fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

/// Appends `s` to the event text and returns its span.
pub(crate) fn append(text: &mut String, s: &str) -> Span {
    let start = text.len();
    text.push_str(s);
    Span::new(start, text.len())
}

/// The message span for the first line held in `text[span]`: the first
/// line only, bounded, without trailing blanks.
fn message_span(text: &str, span: Span) -> Span {
    first_line_span(text, span, memchr::memchr(b'\n', span.of(text).as_bytes()))
}

/// [`message_span`] when the first newline in `text[span]` is known.
fn first_line_span(text: &str, span: Span, newline: Option<usize>) -> Span {
    let all = span.of(text);
    let first = newline.and_then(|p| all.get(..p)).unwrap_or(all);
    let len = cut(first, MAX_MESSAGE).trim_end_fast().len();
    Span::new(span.start as usize, span.start as usize + len)
}

/// What building events keeps from one event to the next.
pub(crate) struct Scratch {
    /// The identifiers of the event being built (copied into it at the end).
    ids: Vec<Ident>,
    /// Header parts known to hold no identifier.
    no_ids: ids::NoIds,
    /// Header tails seen.
    tails: header::TailMemo,
}

impl Scratch {
    pub(crate) const fn new() -> Self {
        Scratch { ids: Vec::new(), no_ids: ids::NoIds::new(), tails: header::TailMemo::new() }
    }
}

thread_local! {
    /// Each worker thread's [`Scratch`], kept from block to block.
    static SCRATCH: RefCell<Scratch> = const { RefCell::new(Scratch::new()) };
}

/// Builds the event of a finished record.
pub(crate) fn build_event(rec: &mut Record, ctx: &FileCtx, notices: &mut Vec<LogNotice>, scratch: &mut Scratch) -> LogEvent {
    let (line, end_line) = (rec.first + 1, rec.last + 1);
    if rec.dropped > 0 {
        notices.push(ctx.notice(
            line,
            end_line,
            LogNoticeKind::LongRecord,
            format!("record of {} lines: the last {} are counted but not analysed", rec.body_lines as u64 + rec.dropped, rec.dropped),
        ));
    }
    // The text buffer: the raw bytes themselves when they are UTF-8 (spans
    // found in the bytes hold), else a lossy copy with the parts copied.
    let bytes_span = |b: &[u8], (s, e): (usize, usize)| utf8(b.get(s..e).unwrap_or_default()).into_owned();
    let more_len = rec.more_len();
    let raw = match std::mem::replace(&mut rec.raw, Raw::Bytes(Vec::new())) {
        Raw::Text(t) => Ok(t),
        Raw::Bytes(b) => String::from_utf8(b),
    };
    let (mut text, exact, copied) = match raw {
        Ok(t) => (t, true, None),
        Err(e) => {
            let b = e.into_bytes();
            // The continuation lines, as bytes, before they are made lossy.
            if let Some(from) = rec.more_from.take() {
                rec.more.clear();
                rec.more.extend_from_slice(b.get(from..).unwrap_or_default());
            }
            let parts = (bytes_span(&b, rec.ts_span), rec.logger_span.map(|l| bytes_span(&b, l)), bytes_span(&b, rec.msg_span));
            (String::from_utf8_lossy(&b).into_owned(), false, Some(parts))
        }
    };
    let raw = Span::new(0, text.len());
    let (ts_raw, logger, first_line) = match copied {
        None => (
            Span::new(rec.ts_span.0, rec.ts_span.1),
            rec.logger_span.map(|(s, e)| Span::new(s, e)).filter(|s| s.start < s.end),
            Span::new(rec.msg_span.0, rec.msg_span.1),
        ),
        Some((ts, lg, msg)) => {
            let ts = append(&mut text, &ts);
            let lg = lg.filter(|l| !l.is_empty()).map(|l| append(&mut text, &l));
            let msg = append(&mut text, &msg);
            (ts, lg, msg)
        }
    };
    let wrapper_ts = rec.wrap_ts.map(|r| r.ts);
    let (ts, ts_res_ns, ts_ambiguous) = match rec.ts.or(rec.wrap_ts) {
        Some(r) => (Some(r.ts), r.res_ns, r.ambiguous),
        None => (None, 0, false),
    };
    let ids = &mut scratch.ids;
    ids.clear();
    if let Some(j) = &rec.json {
        let mut parts = json::event(j, ctx.file, line, end_line, text, raw);
        parts.wrapper_ts = wrapper_ts;
        parts.stream = rec.stream;
        if parts.ts.is_none()
            && let Some(w) = rec.wrap_ts
        {
            parts.ts = Some(w.ts);
            parts.ts_res_ns = w.res_ns;
        }
        return parts.into();
    }
    // The first line's message: in the raw text, or its own copy.
    let own_first = rec.msg_own.as_ref().map(|own| append(&mut text, &utf8(own)));
    let first_span = own_first.unwrap_or(first_line);
    // Its first newline (from an unescaped syslog message, or a container's
    // unescaped text), looked for once.
    let newline = if own_first.is_none() && !rec.first_newline { None } else { memchr::memchr(b'\n', first_span.of(&text).as_bytes()) };
    let mut message = first_line_span(&text, first_span, newline);
    if message.start == message.end && exact && more_len > 0 {
        // `fail: Category[13]` and the like: the message is on the next line.
        let raw_text = raw.of(&text);
        let mut pos = raw_text.find('\n').map_or(raw_text.len(), |p| p + 1);
        for l in raw_text.get(pos..).unwrap_or_default().split('\n') {
            if !l.trim_fast().is_empty() {
                let lead = l.len() - l.trim_start_fast().len();
                message = message_span(&text, Span::new(pos + lead, pos + l.len()));
                break;
            }
            pos += l.len() + 1;
        }
    }
    // Header fields around the message (syslog structured data, logfmt
    // fields, Apache's `[client ip:port]`...) name identifiers too.
    if exact {
        for (s, e) in rec.around_msg {
            if s < e
                && let Some(part) = text.get(s..e)
            {
                let mut sink = ids::IdSink::in_text(ids, &text, s);
                ids::scan_cached(part.as_bytes(), &mut sink, &mut scratch.no_ids);
            }
        }
    }
    let multi = more_len > 0 || newline.is_some();
    let exception = if multi || rec.level.is_some_and(Level::is_error) {
        let mut body = first_span.of(&text).to_string();
        match rec.more_from {
            // The text is the raw bytes (checked UTF-8): the lines are there.
            Some(from) => body.push_str(text.get(from..raw.end as usize).unwrap_or_default()),
            None => body.push_str(&utf8(&rec.more)),
        }
        let mut lines: Vec<&str> = Vec::with_capacity(rec.body_lines + 1);
        let mut start = 0;
        for p in memchr::memchr_iter(b'\n', body.as_bytes()) {
            lines.push(body.get(start..p).unwrap_or_default());
            start = p + 1;
        }
        lines.push(body.get(start..).unwrap_or_default());
        let (exc, mask) = trace::parse(&lines, rec.level);
        let mut sink = ids::IdSink::copying(ids, &mut text);
        for (i, l) in lines.iter().enumerate() {
            if !mask.get(i).copied().unwrap_or(false) {
                ids::scan(l.as_bytes(), &mut sink);
            }
        }
        exc.map(Box::new)
    } else if exact || own_first.is_some() {
        let base = first_span.start as usize;
        let scanned = first_span.of(&text);
        let mut sink = ids::IdSink::in_text(ids, &text, base);
        ids::scan(scanned.as_bytes(), &mut sink);
        None
    } else {
        let scanned = first_span.of(&text).to_string();
        let mut sink = ids::IdSink::copying(ids, &mut text);
        ids::scan(scanned.as_bytes(), &mut sink);
        None
    };
    EventParts {
        file: ctx.file,
        line,
        end_line,
        ts,
        ts_res_ns,
        ts_ambiguous,
        wrapper_ts,
        level: rec.level,
        stream: rec.stream,
        exception,
        text,
        raw,
        message,
        ts_raw,
        logger,
        ids: IdList::from_slice(ids),
    }
    .into()
}

// ---------------------------------------------------------------- blocks

/// A block of whole lines, as the reader cut it.
pub(crate) struct Block {
    /// The block is `data[..len]`; the rest is room the reader reuses (its
    /// buffers go back to it once parsed, and are never zeroed again).
    pub data: Vec<u8>,
    pub len: usize,
    /// The block is one line cut at `max_line`: its original length.
    pub cut_line: Option<u64>,
}

impl Block {
    /// A block of all of `data`.
    #[cfg(test)]
    pub(crate) fn whole(data: Vec<u8>) -> Block {
        Block { len: data.len(), data, cut_line: None }
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        self.data.get(..self.len).unwrap_or(&self.data)
    }
}

/// What a block gives: lines before its first definite record start (to be
/// grouped after the previous block), finished events, and its last record,
/// still open.
pub(crate) struct BlockOut {
    pub lines: u64,
    prefix: Vec<LLine<'static>>,
    started: bool,
    events: Vec<LogEvent>,
    open: Option<Record>,
    notices: Vec<LogNotice>,
}

/// A pending partial container line.
struct Partial {
    text: Vec<u8>,
    first: u64,
    wrap_ts: Option<Resolved>,
    stream: Option<Stream>,
}

fn stream_slot(s: Option<Stream>) -> usize {
    match s {
        Some(Stream::Stdout) => 0,
        Some(Stream::Stderr) => 1,
        None => 2,
    }
}

struct BlockState<'c> {
    ctx: &'c FileCtx,
    scratch: &'c mut Scratch,
    conv: Converter,
    stamps: StampMemo,
    grouper: Grouper,
    events: Vec<LogEvent>,
    prefix: Vec<LLine<'static>>,
    started: bool,
    notices: Vec<LogNotice>,
    /// A run of binary lines: first, last, bytes.
    binary: Option<(u64, u64, u64)>,
    /// Build events (false: only count records, to measure grouping alone).
    build: bool,
    records: u64,
}

impl BlockState<'_> {
    fn flush_binary(&mut self) {
        if let Some((a, b, bytes)) = self.binary.take() {
            let n = b - a + 1;
            self.notices.push(self.ctx.notice(
                a + 1,
                b + 1,
                LogNoticeKind::Binary,
                format!("binary data ({n} lines, {bytes} bytes) not read as log text"),
            ));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn logical<'t>(
        &mut self,
        text: Cow<'t, [u8]>,
        view: Option<&'t str>,
        first: u64,
        last: u64,
        wrap_ts: Option<Resolved>,
        stream: Option<Stream>,
        seen: Seen,
    ) {
        let (text, view) =
            if seen.esc && memchr::memchr(0x1b, &text).is_some() { (Cow::Owned(strip_ansi(&text)), None) } else { (text, view) };
        let class = classify(&text, self.ctx, &mut self.conv, &mut self.stamps, &mut self.scratch.tails, &mut self.notices, first + 1);
        if matches!(class, Class::Binary) {
            let bytes = text.len() as u64;
            self.binary = match self.binary {
                Some((a, _, n)) => Some((a, last, n + bytes)),
                None => Some((first, last, bytes)),
            };
        } else if self.binary.is_some() && !matches!(class, Class::Blank) {
            self.flush_binary();
        }
        let mut line = LLine { text, first, last, wrap_ts, stream, class, seen, view };
        if !self.started && line.definite_start() {
            self.started = true;
        }
        if self.started {
            let BlockState { ctx, grouper, events, notices, build, records, scratch, .. } = self;
            grouper.feed(&mut line, &mut |r: &mut Record| {
                *records += 1;
                if *build {
                    events.push(build_event(r, ctx, notices, scratch));
                }
            });
        } else {
            // Binary lines only matter as record breaks: keep no bytes.
            let line = if matches!(line.class, Class::Binary) { LLine { text: Cow::Borrowed(&[][..]), view: None, ..line } } else { line };
            self.prefix.push(line.into_owned());
        }
    }
}

/// Parses one block: runs in parallel with other blocks of the file.
pub(crate) fn parse_block(block: &Block, ctx: &FileCtx) -> BlockOut {
    parse_block_with(block, ctx, true).0
}

/// Reads and groups a block without building events: the number of
/// records it closes (for measuring the grouping alone).
#[cfg(test)]
pub(crate) fn count_records(block: &Block, ctx: &FileCtx) -> u64 {
    parse_block_with(block, ctx, false).1
}

fn parse_block_with(block: &Block, ctx: &FileCtx, build: bool) -> (BlockOut, u64) {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => parse_block_in(block, ctx, build, &mut scratch),
        Err(_) => parse_block_in(block, ctx, build, &mut Scratch::new()),
    })
}

fn parse_block_in(block: &Block, ctx: &FileCtx, build: bool, scratch: &mut Scratch) -> (BlockOut, u64) {
    let mut st = BlockState {
        ctx,
        scratch,
        conv: Converter::new(&ctx.tz, ctx.reference),
        stamps: StampMemo::default(),
        grouper: Grouper::default(),
        events: Vec::with_capacity(if build { block.len / 48 + 16 } else { 0 }),
        prefix: Vec::new(),
        started: false,
        notices: Vec::new(),
        binary: None,
        build,
        records: 0,
    };
    let mut partials: [Option<Partial>; 3] = [None, None, None];
    let data = block.bytes();
    let mut start = 0usize;
    let mut lineno = 0u64;
    // Line ends, and on the way the bytes that need work on a line (see
    // `Seen`): one pass over the block instead of one per line and byte.
    // The block as a string when it is UTF-8 (checked once, fast): its lines
    // are then strings too.
    let text = simdutf8::basic::from_utf8(data).ok();
    // Most blocks have neither: then the scan looks for line ends alone.
    let rare = memchr::memchr2(0x1b, b'#', data).is_some();
    let mut hits = memchr::memchr3_iter(b'\n', 0x1b, b'#', data);
    let mut newlines = memchr::memchr_iter(b'\n', data);
    let mut seen = Seen::NOTHING;
    loop {
        let newline = if !rare {
            newlines.next()
        } else {
            loop {
                match hits.next() {
                    Some(p) if data.get(p) == Some(&b'\n') => break Some(p),
                    Some(p) if data.get(p) == Some(&0x1b) => seen.esc = true,
                    Some(_) => seen.hash = true,
                    None => break None,
                }
            }
        };
        let end = match newline {
            Some(p) => p,
            None if start < data.len() => data.len(),
            None => break,
        };
        let line_seen = std::mem::replace(&mut seen, Seen::NOTHING);
        let line_start = start;
        let mut line = data.get(start..end).unwrap_or_default();
        start = end + 1;
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        if let Some(len) = block.cut_line {
            st.notices.push(ctx.notice(
                lineno + 1,
                lineno + 1,
                LogNoticeKind::LongLine,
                format!("line of {len} bytes: only the first {} read", line.len()),
            ));
        } else if line.len() > ctx.max_line {
            let len = line.len();
            line = line.get(..ctx.max_line).unwrap_or(line);
            st.notices.push(ctx.notice(
                lineno + 1,
                lineno + 1,
                LogNoticeKind::LongLine,
                format!("line of {len} bytes: only the first {} read", ctx.max_line),
            ));
        }
        // Not where a cut split a character.
        let view = text.and_then(|t| t.get(line_start..line_start + line.len()));
        match ctx.format.wrapper {
            None => st.logical(Cow::Borrowed(line), view, lineno, lineno, None, None, line_seen),
            Some(w) => {
                let unwrapped = match w {
                    Wrapper::Cri => wrap::cri(line),
                    Wrapper::Docker => wrap::docker(line),
                };
                match unwrapped {
                    None => {
                        if !is_blank(line) && !is_binary(line) {
                            st.notices.push(ctx.notice(
                                lineno + 1,
                                lineno + 1,
                                LogNoticeKind::BadWrapper,
                                "no valid container wrapper; read as plain text".to_string(),
                            ));
                        }
                        st.logical(Cow::Borrowed(line), view, lineno, lineno, None, None, line_seen);
                    }
                    Some(u) => {
                        let wrap_ts = u.time.as_ref().and_then(|w| st.conv.resolve(w));
                        let slot = stream_slot(u.stream);
                        let pending = partials.get_mut(slot).and_then(Option::take);
                        match pending {
                            None if !u.partial => st.logical(u.text, None, lineno, lineno, wrap_ts, u.stream, Seen::UNKNOWN),
                            None => {
                                if let Some(p) = partials.get_mut(slot) {
                                    *p = Some(Partial { text: u.text.into_owned(), first: lineno, wrap_ts, stream: u.stream });
                                }
                            }
                            Some(mut p) => {
                                push_bounded(&mut p.text, &u.text, ctx.max_line);
                                if u.partial && p.text.len() < ctx.max_line {
                                    if let Some(s) = partials.get_mut(slot) {
                                        *s = Some(p);
                                    }
                                } else {
                                    st.logical(Cow::Owned(p.text), None, p.first, lineno, p.wrap_ts, p.stream, Seen::UNKNOWN);
                                }
                            }
                        }
                    }
                }
            }
        }
        lineno += 1;
    }
    for p in partials.into_iter().flatten() {
        let last = lineno.saturating_sub(1).max(p.first);
        st.notices.push(ctx.notice(
            p.first + 1,
            last + 1,
            LogNoticeKind::UnfinishedPartial,
            "partial container line never completed; read as it is".to_string(),
        ));
        st.logical(Cow::Owned(p.text), None, p.first, last, p.wrap_ts, p.stream, Seen::UNKNOWN);
    }
    st.flush_binary();
    let open = st.grouper.take();
    (BlockOut { lines: lineno, prefix: st.prefix, started: st.started, events: st.events, open, notices: st.notices }, st.records)
}

/// Puts blocks back together in order and hands out events.
pub(crate) struct Stitcher {
    /// Physical lines before the next block.
    pub base: u64,
    grouper: Grouper,
    last_ts: Option<Timestamp>,
    pub events: u64,
    scratch: Scratch,
}

impl Stitcher {
    pub(crate) fn new() -> Self {
        Stitcher { base: 0, grouper: Grouper::default(), last_ts: None, events: 0, scratch: Scratch::new() }
    }

    fn emit(&mut self, mut ev: LogEvent, sink: &mut dyn FnMut(LogEvent)) {
        match ev.ts {
            Some(ts) => self.last_ts = Some(ts),
            None => ev.ts_not_before = self.last_ts,
        }
        self.events += 1;
        sink(ev);
    }

    pub(crate) fn push(&mut self, out: BlockOut, ctx: &FileCtx, sink: &mut dyn FnMut(LogEvent), notices: &mut Vec<LogNotice>) {
        let base = self.base;
        for mut n in out.notices {
            if n.line > 0 {
                n.line += base;
                n.end_line += base;
            }
            // A binary run across a block boundary is one notice.
            if let Some(prev) = notices.last_mut()
                && prev.kind == LogNoticeKind::Binary
                && n.kind == LogNoticeKind::Binary
                && prev.file == n.file
                && prev.end_line + 1 == n.line
            {
                prev.end_line = n.end_line;
                prev.message = format!("binary data ({} lines) not read as log text", prev.end_line - prev.line + 1);
                continue;
            }
            notices.push(n);
        }
        // The lines before the block's first record start, grouped after
        // the blocks before it.
        let mut built = Vec::new();
        let scratch = &mut self.scratch;
        let mut done = |r: &mut Record| built.push(build_event(r, ctx, notices, scratch));
        for mut line in out.prefix {
            line.first += base;
            line.last += base;
            self.grouper.feed(&mut line, &mut done);
        }
        if out.started {
            self.grouper.close(&mut done);
        }
        for ev in built {
            self.emit(ev, sink);
        }
        if out.started {
            for mut ev in out.events {
                ev.line += base;
                ev.end_line += base;
                self.emit(ev, sink);
            }
            if let Some(mut r) = out.open {
                r.shift(base);
                self.grouper.open = Some(r);
            }
        }
        self.base += out.lines;
    }

    pub(crate) fn finish(&mut self, ctx: &FileCtx, sink: &mut dyn FnMut(LogEvent), notices: &mut Vec<LogNotice>) {
        if let Some(mut r) = self.grouper.take() {
            let ev = build_event(&mut r, ctx, notices, &mut self.scratch);
            self.emit(ev, sink);
        }
    }
}

/// Sample lines unwrapped, for detecting the inner format.
pub(crate) fn sample_inner(lines: &[&[u8]], wrapper: Option<Wrapper>) -> Vec<Vec<u8>> {
    lines
        .iter()
        .filter_map(|l| match wrapper {
            None => Some(l.to_vec()),
            Some(Wrapper::Cri) => wrap::cri(l).map(|u| u.text.into_owned()),
            Some(Wrapper::Docker) => wrap::docker(l).map(|u| u.text.into_owned()),
        })
        .collect()
}
