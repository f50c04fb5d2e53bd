//! Record headers of text logs: a timestamp at the start of a line in one of
//! the shapes servers write, then the level, logger and message. Each
//! parser looks at fixed positions first, so a line that is no header costs
//! a few byte compares.

use std::fmt;

use super::time::{self, Written, at};
use super::{Level, ids};

/// The header shape of a text log (detected per file).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TextShape {
    /// `2026-11-24 10:00:01,123`, `2026-11-24T10:00:01.123Z`,
    /// `2026-11-24T10:00:01+01:00`: log4j/logback, Python asctime,
    /// RFC 3339, Node/Rust/Erlang loggers, rsyslog high precision.
    Iso,
    /// `2026/11/24 10:00:01[.123456]`: Go's `log`, nginx error log.
    Slash,
    /// Epoch seconds (with or without a fraction), ms, µs or ns.
    Epoch,
    /// `<PRI>Nov 24 10:00:01 host tag[pid]: msg` (RFC 3164, the PRI
    /// optional): no year.
    Syslog3164,
    /// `<PRI>1 2026-11-24T10:00:01.123Z host app procid msgid [sd] msg`.
    Syslog5424,
    /// A timestamp in brackets: `[2026-11-24 10:00:01,123]`,
    /// `[24-Nov-2026 10:00:01 UTC]` (PHP), `[Tue Nov 24 10:00:01.123 2026]`
    /// (Apache), `[24/Nov/2026:10:00:01 +0000]`, env_logger
    /// `[2026-11-24T10:00:01Z ERROR app]`.
    Bracket,
    /// Ruby Logger: `E, [2026-11-24T10:00:01.123456 #1234] ERROR -- app: msg`.
    Ruby,
    /// glog/klog: `E1124 10:00:01.123456   12345 file.go:42] msg` (no year).
    Glog,
    /// `24-Nov-2026 10:00:01.123 SEVERE [thread] logger msg` (Tomcat).
    Tomcat,
    /// logfmt: `time=2026-11-24T10:00:01Z level=error msg="..."` (Go slog
    /// text, logrus text).
    Logfmt,
    /// A level but no time: Python's default `ERROR:name:msg`, uvicorn
    /// `ERROR:    msg`, .NET console `fail: Category[13]`.
    LevelPrefix,
    /// No shape found in the file's first lines: any unmistakable timestamp
    /// shape (not bare epoch numbers or level prefixes) starts a record.
    Any,
}

impl TextShape {
    pub const fn as_str(self) -> &'static str {
        match self {
            TextShape::Iso => "iso",
            TextShape::Slash => "slash",
            TextShape::Epoch => "epoch",
            TextShape::Syslog3164 => "syslog-3164",
            TextShape::Syslog5424 => "syslog-5424",
            TextShape::Bracket => "bracket",
            TextShape::Ruby => "ruby",
            TextShape::Glog => "glog",
            TextShape::Tomcat => "tomcat",
            TextShape::Logfmt => "logfmt",
            TextShape::LevelPrefix => "level-prefix",
            TextShape::Any => "any",
        }
    }

    /// Shapes tried, in order, when detecting a file's shape.
    pub(crate) const DETECT: [TextShape; 11] = [
        TextShape::Iso,
        TextShape::Slash,
        TextShape::Bracket,
        TextShape::Syslog5424,
        TextShape::Syslog3164,
        TextShape::Ruby,
        TextShape::Tomcat,
        TextShape::Logfmt,
        TextShape::Glog,
        TextShape::LevelPrefix,
        TextShape::Epoch,
    ];

    /// Whether stamps of this shape lack a year.
    pub(crate) const fn yearless(self) -> bool {
        matches!(self, TextShape::Syslog3164 | TextShape::Glog)
    }
}

impl fmt::Display for TextShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed header: positions are byte offsets in the line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub ts: Option<Written>,
    pub ts_span: (usize, usize),
    pub level: Option<Level>,
    pub logger: Option<(usize, usize)>,
    /// The message: from here to the end of the line (or `msg_end`).
    pub msg_start: usize,
    pub msg_end: Option<usize>,
}

/// A level word (any case; brackets and a trailing colon stripped by the
/// caller): `ERROR`, `warning`, `Information`, `SEVERE`, `crit`, ...
pub(crate) fn level_word(tok: &[u8]) -> Option<Level> {
    if tok.is_empty() || tok.len() > 13 {
        return None;
    }
    if tok.len() <= 8 {
        // Lower case, as a word (zero-padded: no name holds a NUL byte, so
        // the word tells the length too).
        let mut w = 0u64;
        for (k, &c) in tok.iter().enumerate() {
            if c == 0 {
                return None;
            }
            w |= u64::from(c.to_ascii_lowercase()) << (8 * k);
        }
        return short_level(w);
    }
    let mut buf = [0u8; 13];
    for (dst, src) in buf.iter_mut().zip(tok) {
        *dst = src.to_ascii_lowercase();
    }
    let low = buf.get(..tok.len())?;
    Some(match low {
        b"trace" | b"trc" | b"trce" | b"finest" | b"finer" | b"verbose" | b"vrb" => Level::Trace,
        b"debug" | b"dbg" | b"dbug" | b"fine" | b"config" => Level::Debug,
        b"info" | b"inf" | b"information" | b"informational" => Level::Info,
        b"notice" => Level::Notice,
        b"warn" | b"warning" | b"wrn" => Level::Warn,
        b"error" | b"err" | b"eror" | b"fail" | b"severe" => Level::Error,
        b"fatal" | b"critical" | b"crit" | b"ftl" | b"crt" | b"emerg" | b"emergency" | b"alert" | b"panic" => Level::Fatal,
        _ => return None,
    })
}

/// A name of at most 8 bytes as a word, first byte lowest.
#[allow(clippy::indexing_slicing)] // `k` runs over the name.
const fn name(s: &[u8]) -> u64 {
    let mut w = 0u64;
    let mut k = 0;
    while k < s.len() {
        w |= (s[k] as u64) << (8 * k);
        k += 1;
    }
    w
}

/// [`level_word`] for a token of at most 8 bytes, lower case, as a word.
fn short_level(w: u64) -> Option<Level> {
    const TRACE: u64 = name(b"trace");
    const TRC: u64 = name(b"trc");
    const TRCE: u64 = name(b"trce");
    const FINEST: u64 = name(b"finest");
    const FINER: u64 = name(b"finer");
    const VERBOSE: u64 = name(b"verbose");
    const VRB: u64 = name(b"vrb");
    const DEBUG: u64 = name(b"debug");
    const DBG: u64 = name(b"dbg");
    const DBUG: u64 = name(b"dbug");
    const FINE: u64 = name(b"fine");
    const CONFIG: u64 = name(b"config");
    const INFO: u64 = name(b"info");
    const INF: u64 = name(b"inf");
    const NOTICE: u64 = name(b"notice");
    const WARN: u64 = name(b"warn");
    const WARNING: u64 = name(b"warning");
    const WRN: u64 = name(b"wrn");
    const ERROR: u64 = name(b"error");
    const ERR: u64 = name(b"err");
    const EROR: u64 = name(b"eror");
    const FAIL: u64 = name(b"fail");
    const SEVERE: u64 = name(b"severe");
    const FATAL: u64 = name(b"fatal");
    const CRITICAL: u64 = name(b"critical");
    const CRIT: u64 = name(b"crit");
    const FTL: u64 = name(b"ftl");
    const CRT: u64 = name(b"crt");
    const EMERG: u64 = name(b"emerg");
    const ALERT: u64 = name(b"alert");
    const PANIC: u64 = name(b"panic");
    Some(match w {
        TRACE | TRC | TRCE | FINEST | FINER | VERBOSE | VRB => Level::Trace,
        DEBUG | DBG | DBUG | FINE | CONFIG => Level::Debug,
        INFO | INF => Level::Info,
        NOTICE => Level::Notice,
        WARN | WARNING | WRN => Level::Warn,
        ERROR | ERR | EROR | FAIL | SEVERE => Level::Error,
        FATAL | CRITICAL | CRIT | FTL | CRT | EMERG | ALERT | PANIC => Level::Fatal,
        _ => return None,
    })
}

/// Syslog severity (0-7) to a level.
pub(crate) fn syslog_severity(sev: u32) -> Level {
    match sev {
        0..=2 => Level::Fatal,
        3 => Level::Error,
        4 => Level::Warn,
        5 => Level::Notice,
        6 => Level::Info,
        _ => Level::Debug,
    }
}

#[inline]
fn is_ws(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_ws(at(b, i)) {
        i += 1;
    }
    i
}

/// End of the token starting at `i` (first whitespace or end), 8 bytes at a
/// time (headers are a few tokens, but every line has one).
fn token_end(b: &[u8], mut i: usize) -> usize {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = b.get(i..i + 8) {
        let x = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        // High bits at bytes equal to a space or a tab: exact up to the
        // first such byte (the borrow of `- LOW` only runs past a zero byte),
        // which is all `trailing_zeros` looks at.
        let zero = |z: u64| z.wrapping_sub(LOW) & !z & HIGH;
        let ws = zero(x ^ (u64::from(b' ') * LOW)) | zero(x ^ (u64::from(b'\t') * LOW));
        if ws != 0 {
            return i + (ws.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < b.len() && !is_ws(at(b, i)) {
        i += 1;
    }
    i
}

fn strip_token(tok: &[u8]) -> &[u8] {
    let mut t = tok;
    while let [b'[' | b'<' | b'(' | b'{', rest @ ..] = t {
        t = rest;
    }
    while let [rest @ .., b']' | b'>' | b')' | b'}' | b':' | b',' | b'|'] = t {
        t = rest;
    }
    t
}

/// A byte of a logger name: letters, digits, `._$-/<>:#@`.
const LOGGER: u8 = 1;
/// A byte of a logger name or a bracket around one.
const LOGGER_OR_BRACKET: u8 = 2;

#[allow(clippy::indexing_slicing)] // `c` runs over 0..256, the table's length.
const fn logger_classes() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'$' | b'-' | b'/' | b'<' | b'>' | b':' | b'#' | b'@') {
            table[c] = LOGGER | LOGGER_OR_BRACKET;
        } else if matches!(b, b'[' | b']') {
            table[c] = LOGGER_OR_BRACKET;
        }
        c += 1;
    }
    table
}

static LOGGER_BYTES: [u8; 256] = logger_classes();

#[inline]
fn is_logger_byte(c: u8) -> bool {
    LOGGER_BYTES.get(usize::from(c)).copied().unwrap_or(0) & LOGGER != 0
}

/// The logger classes every byte of `tok` has: a fold without a branch per
/// byte (logger names are long, `o.s.w.s.h.LoggingWebSocketHandlerDecorator`).
fn logger_bits(tok: &[u8]) -> u8 {
    tok.iter().fold(LOGGER | LOGGER_OR_BRACKET, |acc, &c| acc & LOGGER_BYTES.get(usize::from(c)).copied().unwrap_or(0))
}

/// Tokens skipped while looking for the level or the logger: a pid, a
/// `[thread]`, nginx `12#12:`, Spring's `---`, separators.
fn skippable(tok: &[u8]) -> bool {
    match tok {
        [] => true,
        b"-" | b"|" | b"---" | b"--" | b":" | b"::" => true,
        [b'[', .., b']'] | [b'[', .., b']', b':'] => true,
        [b'#', rest @ ..] => rest.iter().all(u8::is_ascii_digit),
        _ => tok.first().is_some_and(u8::is_ascii_digit) && tok.iter().all(|c| c.is_ascii_digit() || *c == b'#' || *c == b':'),
    }
}

/// After a timestamp: `[thread] LEVEL logger: msg`, `LEVEL [thread]
/// logger - msg`, Spring's `LEVEL 1234 --- [app] [thread] logger : msg`,
/// nginx `[error] 12#12: *99 msg`, or just a message.
pub(crate) fn tail(b: &[u8], from: usize) -> (Option<Level>, Option<(usize, usize)>, usize) {
    let mut i = skip_ws(b, from);
    let first = i;
    let mut level = None;
    for _ in 0..5 {
        if i >= b.len() {
            break;
        }
        let te = token_end(b, i);
        let tok = b.get(i..te).unwrap_or_default();
        if tok == b"PHP" {
            // PHP's error log: `PHP Fatal error:  Uncaught ...`, `PHP Warning:  ...`.
            let rest = b.get(skip_ws(b, te)..).unwrap_or_default();
            let php = [
                (&b"Fatal error:"[..], Level::Fatal),
                (b"Parse error:", Level::Fatal),
                (b"Warning:", Level::Warn),
                (b"Notice:", Level::Notice),
                (b"Deprecated:", Level::Notice),
            ]
            .into_iter()
            .find(|(p, _)| rest.starts_with(p));
            if let Some((_, l)) = php {
                return (Some(l), None, i);
            }
        }
        let stripped = strip_token(tok);
        // Apache's `[module:level]`.
        let after_colon = || stripped.iter().rposition(|&c| c == b':').and_then(|p| stripped.get(p + 1..)).and_then(level_word);
        if let Some(l) = level_word(stripped).or_else(after_colon) {
            level = Some(l);
            i = skip_ws(b, te);
            break;
        }
        if tok.starts_with(b"level=") || tok.starts_with(b"lvl=") {
            let v = tok.iter().position(|&c| c == b'=').and_then(|p| tok.get(p + 1..)).unwrap_or_default();
            if let Some(l) = level_word(strip_token(trim_quotes(v))) {
                level = Some(l);
                i = skip_ws(b, te);
                break;
            }
        }
        if skippable(tok) {
            i = skip_ws(b, te);
            continue;
        }
        break;
    }
    if level.is_none() {
        return (None, None, first);
    }
    // Separators, pid, `---`, `[thread]` before the logger (at most 4).
    let mut te = token_end(b, i);
    for _ in 0..4 {
        let tok = b.get(i..te).unwrap_or_default();
        if !tok.is_empty() && skippable(tok) && te < b.len() {
            i = skip_ws(b, te);
            te = token_end(b, i);
        } else {
            break;
        }
    }
    let tok = b.get(i..te).unwrap_or_default();
    if tok.len() >= 2 && tok.ends_with(b":") {
        let name = tok.get(..tok.len() - 1).unwrap_or_default();
        if logger_bits(name) & LOGGER != 0 && name.first().is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_') {
            return (level, Some((i, te - 1)), skip_ws(b, te));
        }
    }
    if !tok.is_empty() && logger_bits(tok) & LOGGER_OR_BRACKET != 0 {
        let after = skip_ws(b, te);
        let sep = b.get(after..after + 2);
        if matches!(sep, Some(b"- " | b": " | b"| ")) || (matches!(b.get(after..), Some(b"-" | b":" | b"|"))) {
            let t = strip_token(tok);
            let start = i + tok.iter().take_while(|&&c| c == b'[').count();
            return (level, Some((start, start + t.len())), skip_ws(b, after + 1));
        }
    }
    (level, None, i)
}

fn trim_quotes(v: &[u8]) -> &[u8] {
    let v = v.strip_prefix(b"\"").unwrap_or(v);
    v.strip_suffix(b"\"").unwrap_or(v)
}

fn header_with_tail(ts: Written, span: (usize, usize), b: &[u8], from: usize) -> Header {
    let (level, logger, msg_start) = tail(b, from);
    Header { ts: Some(ts), ts_span: span, level, logger, msg_start, msg_end: None }
}

/// [`parse`] for line after line of a log: ISO stamps repeat their date and
/// time from one line to the next (`memo` keeps the last one), and so do
/// the tails after them (`tails` keeps those seen). Also whether the tail
/// (from the end of the timestamp to the message) is known to name no
/// identifier.
pub(crate) fn parse_with(shape: TextShape, b: &[u8], memo: &mut time::StampMemo, tails: &mut TailMemo) -> Option<(Header, bool)> {
    match shape {
        TextShape::Iso => {
            let (ts, j) = time::iso_memo(b, memo)?;
            let (level, logger, msg_start, no_ids) = tails.tail(b, j);
            Some((Header { ts: Some(ts), ts_span: (0, j), level, logger, msg_start, msg_end: None }, no_ids))
        }
        _ => parse(shape, b).map(|h| (h, false)),
    }
}

/// Header tails seen before, for [`parse_with`]: a log repeats a few
/// hundred `LEVEL [thread] logger - ` at most, and [`tail`] costs more than
/// finding one again. A small set-associative table of tails that name a
/// logger, filled as they are seen; a tail is looked for by its start (its
/// key, [`tail_key`]).
///
/// Such a tail is all that [`tail`] reads of a line, up to the first byte
/// of the message: its result holds for any line that starts with the same
/// bytes, followed by a byte that is no space or tab. (A tail without a
/// logger is not kept: [`tail`] decided after reading the message's first
/// word, or the end of the line.)
pub(crate) struct TailMemo {
    /// Sets of [`KNOWN_TAIL_WAYS`] slots, the one used last first.
    slots: Vec<KnownTail>,
}

/// Tails longer than this are parsed every time.
const KNOWN_TAIL_MAX: usize = 90;
const KNOWN_TAIL_WAYS: usize = 4;
const KNOWN_TAIL_SETS: usize = 128;
/// The longest key of a tail (see [`tail_key`]).
const TAIL_KEY_MAX: usize = 32;

/// One and a half cache lines.
#[derive(Clone)]
#[repr(align(32))]
struct KnownTail {
    /// 0: an empty slot (a kept tail is never empty).
    len: u8,
    bytes: [u8; KNOWN_TAIL_MAX],
    level: Option<Level>,
    /// The logger, as offsets in the tail.
    logger: (u8, u8),
    /// The tail names no identifier (`ids::scan` finds none in it).
    no_ids: bool,
}

impl KnownTail {
    const EMPTY: KnownTail = KnownTail { len: 0, bytes: [0; KNOWN_TAIL_MAX], level: None, logger: (0, 0), no_ids: false };

    /// Whether `rest` starts with this tail, then a byte of the message.
    fn starts(&self, rest: &[u8]) -> bool {
        let len = usize::from(self.len);
        let (Some(t), Some(kept)) = (rest.get(..len), self.bytes.get(..len)) else { return false };
        // The last word first: tails of a set share their start.
        len >= 8
            && rest.get(len).is_some_and(|&c| !is_ws(c))
            && ids::word_at(t, len - 8) == ids::word_at(kept, len - 8)
            && ids::same_text(t, kept)
    }
}

impl TailMemo {
    pub(crate) const fn new() -> Self {
        TailMemo { slots: Vec::new() }
    }

    /// The set of the tails whose key is `key` (a hash of its words,
    /// their products independent of each other).
    fn set(&mut self, key: &[u8]) -> Option<&mut [KnownTail]> {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut h = key.len() as u64;
        let mut i = 0;
        while i + 8 < key.len() {
            h = h.rotate_left(7) ^ ids::word_at(key, i).wrapping_mul(K);
            i += 8;
        }
        h = h.rotate_left(7) ^ ids::word_at(key, key.len().checked_sub(8)?).wrapping_mul(K);
        let h = (h ^ (h >> 29)).wrapping_mul(K);
        let first = ((h >> 32) as usize % KNOWN_TAIL_SETS) * KNOWN_TAIL_WAYS;
        if self.slots.is_empty() {
            self.slots = vec![KnownTail::EMPTY; KNOWN_TAIL_SETS * KNOWN_TAIL_WAYS];
        }
        self.slots.get_mut(first..first + KNOWN_TAIL_WAYS)
    }

    /// [`tail`]`(b, from)`, found in the table when it can be, and whether
    /// the tail is known to name no identifier.
    pub(crate) fn tail(&mut self, b: &[u8], from: usize) -> (Option<Level>, Option<(usize, usize)>, usize, bool) {
        let rest = b.get(from..).unwrap_or_default();
        let parsed = || {
            let (level, logger, m) = tail(b, from);
            (level, logger, m, false)
        };
        let Some(key) = tail_key(rest).and_then(|k| rest.get(..k)) else { return parsed() };
        let Some(set) = self.set(key) else { return parsed() };
        if let Some(way) = set.iter().position(|t| t.starts(rest)) {
            if way > 0
                && let Some(used) = set.get_mut(..=way)
            {
                used.rotate_right(1);
            }
            if let Some(t) = set.first() {
                let (s, e) = (from + usize::from(t.logger.0), from + usize::from(t.logger.1));
                return (t.level, Some((s, e)), from + usize::from(t.len), t.no_ids);
            }
        }
        let found = tail(b, from);
        if let (Some(level), Some((s, e)), m) = found {
            // Kept when the line goes on after it (see above), and when its
            // key is part of it (a line with this tail has the same key).
            let len = m - from;
            if key.len() <= len && len <= KNOWN_TAIL_MAX && m < b.len() {
                set.rotate_right(1);
                if let Some(t) = set.first_mut() {
                    t.len = len as u8;
                    if let Some(dst) = t.bytes.get_mut(..len) {
                        dst.copy_from_slice(rest.get(..len).unwrap_or_default());
                    }
                    t.level = Some(level);
                    t.logger = ((s - from) as u8, (e - from) as u8);
                    t.no_ids = std::str::from_utf8(t.bytes.get(..len).unwrap_or_default()).is_ok_and(|text| {
                        let mut found = Vec::new();
                        ids::scan(text.as_bytes(), &mut ids::IdSink::in_text(&mut found, text, 0));
                        found.is_empty()
                    });
                }
            }
        }
        (found.0, found.1, found.2, false)
    }
}

/// The key of a line's tail, at the start of `rest`: up to its first `: `
/// (that ends many tails, `INFO app.handlers: `) within [`TAIL_KEY_MAX`]
/// bytes, else that many bytes (longer tails differ in their start less:
/// `INFO  [http-nio-8080-exec-1] c.e.chat.ws.ChatEndpoint - `); `None` when
/// `rest` is shorter. Its length, found 8 bytes at a time (SWAR).
fn tail_key(rest: &[u8]) -> Option<usize> {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // High bits at the bytes of `x` equal to `c`, exactly.
    let equal = |x: u64, c: u8| {
        let v = x ^ (u64::from(c) * LOW);
        !(((v & !HIGH) + !HIGH) | v) & HIGH
    };
    let mut colon_before = 0;
    let mut i = 0;
    while i < TAIL_KEY_MAX {
        let x = ids::word_at(rest, i);
        let colons = equal(x, b':');
        let hits = ((colons << 8) | colon_before) & equal(x, b' ');
        if hits != 0 {
            return Some(i + (hits.trailing_zeros() / 8) as usize + 1);
        }
        colon_before = colons >> 56;
        i += 8;
    }
    (rest.len() > TAIL_KEY_MAX).then_some(TAIL_KEY_MAX)
}

/// Parses a header of the given shape at the start of `b`.
pub(crate) fn parse(shape: TextShape, b: &[u8]) -> Option<Header> {
    match shape {
        TextShape::Iso => {
            let (w, j) = time::iso(b, 0)?;
            Some(header_with_tail(w, (0, j), b, j))
        }
        TextShape::Slash => {
            let (w, j) = time::slash(b, 0)?;
            Some(header_with_tail(w, (0, j), b, j))
        }
        TextShape::Epoch => {
            let (w, j) = time::epoch(b, 0)?;
            Some(header_with_tail(w, (0, j), b, j))
        }
        TextShape::Tomcat => {
            let (w, j) = time::dmy(b, 0)?;
            Some(header_with_tail(w, (0, j), b, j))
        }
        TextShape::Syslog3164 => syslog3164(b),
        TextShape::Syslog5424 => syslog5424(b),
        TextShape::Bracket => bracket(b),
        TextShape::Ruby => ruby(b),
        TextShape::Glog => glog(b),
        TextShape::Logfmt => logfmt(b),
        TextShape::LevelPrefix => level_prefix(b),
        TextShape::Any => parse_any(b),
    }
}

/// Unmistakable shapes only, dispatched on the first byte.
fn parse_any(b: &[u8]) -> Option<Header> {
    match at(b, 0) {
        b'0'..=b'9' => parse(TextShape::Iso, b).or_else(|| parse(TextShape::Slash, b)).or_else(|| parse(TextShape::Tomcat, b)),
        b'<' => syslog5424(b).or_else(|| syslog3164(b)),
        b'[' => bracket(b),
        b'A'..=b'Z' => ruby(b).or_else(|| syslog3164(b)),
        b't' => logfmt(b),
        _ => None,
    }
}

/// `<PRI>` at the start: severity and the index after it.
fn pri(b: &[u8]) -> Option<(u32, usize)> {
    if at(b, 0) != b'<' {
        return None;
    }
    let mut v = 0u32;
    let mut i = 1;
    while at(b, i).is_ascii_digit() && i <= 3 {
        v = v * 10 + u32::from(at(b, i) - b'0');
        i += 1;
    }
    if i == 1 || at(b, i) != b'>' || v > 191 {
        return None;
    }
    Some((v & 7, i + 1))
}

fn syslog3164(b: &[u8]) -> Option<Header> {
    let (sev, start) = match pri(b) {
        Some((s, i)) => (Some(s), i),
        None => (None, 0),
    };
    let (w, j) = time::bsd(b, start)?;
    let span = (start, j);
    // `host tag[pid]: msg`, or `tag[pid]: msg` when written locally.
    let mut i = skip_ws(b, j);
    let t1e = token_end(b, i);
    let t1 = b.get(i..t1e).unwrap_or_default();
    if !(t1.ends_with(b":") || t1.contains(&b'[')) {
        i = skip_ws(b, t1e);
    }
    let te = token_end(b, i);
    let tok = b.get(i..te).unwrap_or_default();
    let (logger, msg) = if tok.ends_with(b":") || tok.contains(&b'[') {
        let name_len = tok.iter().position(|&c| c == b'[' || c == b':').unwrap_or(tok.len());
        (Some((i, i + name_len)), skip_ws(b, te))
    } else {
        (None, i)
    };
    let level = sev.map(syslog_severity);
    if level.is_none() || level == Some(Level::Notice) {
        // No PRI (or the default user.notice): a level word may open the message.
        let (l, _, m) = tail(b, msg);
        if let Some(l) = l {
            return Some(Header { ts: Some(w), ts_span: span, level: Some(l), logger, msg_start: m, msg_end: None });
        }
    }
    Some(Header { ts: Some(w), ts_span: span, level, logger, msg_start: msg, msg_end: None })
}

fn syslog5424(b: &[u8]) -> Option<Header> {
    let (sev, i) = pri(b)?;
    if at(b, i) != b'1' || at(b, i + 1) != b' ' {
        return None;
    }
    let ts_start = i + 2;
    let (ts, ts_end) = if at(b, ts_start) == b'-' { (None, ts_start + 1) } else { time::iso(b, ts_start).map(|(w, j)| (Some(w), j))? };
    // HOSTNAME APP-NAME PROCID MSGID
    let mut fields = [(0usize, 0usize); 4];
    let mut k = ts_end;
    for f in fields.iter_mut() {
        if at(b, k) != b' ' {
            return None;
        }
        let s = k + 1;
        let e = token_end(b, s);
        *f = (s, e);
        k = e;
    }
    // Structured data: `-` or one or more `[...]` (quoted values may hold `]`).
    let mut j = k + 1;
    if at(b, j) == b'-' {
        j += 1;
    } else {
        while at(b, j) == b'[' {
            let mut in_q = false;
            j += 1;
            while j < b.len() {
                match at(b, j) {
                    b'\\' if in_q => j += 1,
                    b'"' => in_q = !in_q,
                    b']' if !in_q => break,
                    _ => {}
                }
                j += 1;
            }
            j += 1;
        }
    }
    let mut msg = skip_ws(b, j.min(b.len()));
    if b.get(msg..msg + 3) == Some(b"\xEF\xBB\xBF") {
        msg += 3;
    }
    let app = fields[1];
    let logger = if b.get(app.0..app.1) == Some(b"-") { None } else { Some(app) };
    Some(Header { ts, ts_span: (ts_start, ts_end), level: Some(syslog_severity(sev)), logger, msg_start: msg, msg_end: None })
}

fn bracket(b: &[u8]) -> Option<Header> {
    if at(b, 0) != b'[' {
        return None;
    }
    let (w, j) = time::iso(b, 1)
        .or_else(|| time::slash(b, 1))
        .or_else(|| time::dmy(b, 1))
        .or_else(|| time::ctime(b, 1))
        .or_else(|| time::clf(b, 1))?;
    let span = (1, j);
    if at(b, j) == b']' {
        return Some(header_with_tail(w, span, b, j + 1));
    }
    // env_logger: `[2026-11-24T10:00:01Z ERROR app::ws] msg`.
    let close = memchr::memchr(b']', b.get(j..)?)? + j;
    let inside = b.get(j..close)?;
    let (level, logger, _) = tail(inside, 0);
    let level = level?;
    let logger = logger.map(|(s, e)| (s + j, e + j)).or_else(|| {
        // `LEVEL target` without a separator: the last word.
        let s = inside.iter().rposition(|&c| c == b' ').map(|p| p + 1)?;
        let word = inside.get(s..)?;
        if level_word(word).is_some() || word.is_empty() { None } else { Some((s + j, close)) }
    });
    Some(Header { ts: Some(w), ts_span: span, level: Some(level), logger, msg_start: skip_ws(b, close + 1), msg_end: None })
}

fn ruby(b: &[u8]) -> Option<Header> {
    if !matches!(at(b, 0), b'D' | b'I' | b'W' | b'E' | b'F' | b'A' | b'U') || b.get(1..4) != Some(b", [") {
        return None;
    }
    let (w, j) = time::iso(b, 4)?;
    let close = memchr::memchr(b']', b.get(j..)?)? + j;
    let mut i = skip_ws(b, close + 1);
    let te = token_end(b, i);
    let level = level_word(b.get(i..te)?).or(match at(b, 0) {
        b'D' => Some(Level::Debug),
        b'I' => Some(Level::Info),
        b'W' => Some(Level::Warn),
        b'E' => Some(Level::Error),
        b'F' => Some(Level::Fatal),
        _ => None,
    });
    i = skip_ws(b, te);
    let mut logger = None;
    if b.get(i..i + 2) == Some(b"--") {
        i = skip_ws(b, i + 2);
        // `progname: msg`; the progname may be empty (`-- : msg`).
        let rest = b.get(i..)?;
        if let Some(p) = memchr::memmem::find(rest, b": ").or(if rest == b":" { Some(0) } else { None }) {
            if p > 0 && rest.get(..p).is_some_and(|n| !n.contains(&b' ')) {
                logger = Some((i, i + p));
            }
            i = skip_ws(b, i + p + 1);
        }
    }
    Some(Header { ts: Some(w), ts_span: (4, j), level, logger, msg_start: i, msg_end: None })
}

fn glog(b: &[u8]) -> Option<Header> {
    let (w, j) = time::glog(b, 0)?;
    let level = match at(b, 0) {
        b'I' => Level::Info,
        b'W' => Level::Warn,
        b'E' => Level::Error,
        _ => Level::Fatal,
    };
    // `   12345 file.go:42] msg`
    let i = skip_ws(b, j);
    let pe = token_end(b, i);
    if !b.get(i..pe)?.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let fs = skip_ws(b, pe);
    let close = memchr::memchr(b']', b.get(fs..)?)? + fs;
    Some(Header {
        ts: Some(w),
        ts_span: (0, j),
        level: Some(level),
        logger: Some((fs, close)),
        msg_start: skip_ws(b, close + 1),
        msg_end: None,
    })
}

/// logfmt value at `i` (quoted or bare): (value start, value end, index after).
fn logfmt_value(b: &[u8], i: usize) -> (usize, usize, usize) {
    if at(b, i) == b'"' {
        let mut j = i + 1;
        while j < b.len() {
            match at(b, j) {
                b'\\' => j += 2,
                b'"' => return (i + 1, j, j + 1),
                _ => j += 1,
            }
        }
        (i + 1, b.len(), b.len())
    } else {
        let e = token_end(b, i);
        (i, e, e)
    }
}

fn logfmt(b: &[u8]) -> Option<Header> {
    let key_len = if b.starts_with(b"time=") {
        5
    } else if b.starts_with(b"ts=") {
        3
    } else if b.starts_with(b"t=") {
        2
    } else {
        return None;
    };
    let (vs, ve, mut i) = logfmt_value(b, key_len);
    let value = b.get(vs..ve)?;
    let w = time::iso(value, 0).or_else(|| time::epoch(value, 0)).map(|(w, _)| w)?;
    let (mut level, mut logger, mut msg) = (None, None, None);
    let mut guard = 0;
    while i < b.len() && guard < 64 {
        guard += 1;
        i = skip_ws(b, i);
        let eq = match memchr::memchr(b'=', b.get(i..).unwrap_or_default()) {
            Some(p) => i + p,
            None => break,
        };
        let key = b.get(i..eq).unwrap_or_default();
        if key.contains(&b' ') {
            break;
        }
        let (s, e, next) = logfmt_value(b, eq + 1);
        match key {
            b"level" | b"lvl" | b"severity" => level = level_word(b.get(s..e).unwrap_or_default()),
            b"msg" | b"message" => msg = Some((s, e)),
            b"logger" | b"component" | b"source" | b"caller" if logger.is_none() => logger = Some((s, e)),
            _ => {}
        }
        i = next;
    }
    let (ms, me) = msg.unwrap_or((b.len(), b.len()));
    Some(Header { ts: Some(w), ts_span: (vs, ve), level, logger, msg_start: ms, msg_end: Some(me) })
}

fn level_prefix(b: &[u8]) -> Option<Header> {
    // .NET console: `fail: Category[13]`.
    if let (Some(word), Some(b": ")) = (b.get(..4), b.get(4..6)) {
        let level = match word {
            b"trce" => Some(Level::Trace),
            b"dbug" => Some(Level::Debug),
            b"info" => Some(Level::Info),
            b"warn" => Some(Level::Warn),
            b"fail" => Some(Level::Error),
            b"crit" => Some(Level::Fatal),
            _ => None,
        };
        if let Some(level) = level {
            let end = b.iter().rposition(|&c| c == b'[').filter(|&p| p > 6).unwrap_or(b.len());
            return Some(Header {
                ts: None,
                ts_span: (0, 0),
                level: Some(level),
                logger: Some((6, end)),
                msg_start: b.len(),
                msg_end: None,
            });
        }
    }
    // Python `LEVEL:logger:msg`, uvicorn `LEVEL:   msg`.
    let colon = memchr::memchr(b':', b.get(..10.min(b.len()))?)?;
    let word = b.get(..colon)?;
    if !word.iter().all(u8::is_ascii_uppercase) {
        return None;
    }
    let level = level_word(word)?;
    let rest = colon + 1;
    if at(b, rest) == b' ' {
        return Some(Header { ts: None, ts_span: (0, 0), level: Some(level), logger: None, msg_start: skip_ws(b, rest), msg_end: None });
    }
    let lend = memchr::memchr(b':', b.get(rest..)?).map(|p| p + rest)?;
    if !b.get(rest..lend)?.iter().all(|&c| is_logger_byte(c)) {
        return None;
    }
    Some(Header { ts: None, ts_span: (0, 0), level: Some(level), logger: Some((rest, lend)), msg_start: lend + 1, msg_end: None })
}

/// The shape most lines of a sample start with; [`TextShape::Any`] if none.
pub(crate) fn detect<'a>(lines: impl Iterator<Item = &'a [u8]>) -> TextShape {
    let mut counts = [0usize; TextShape::DETECT.len()];
    let mut total = 0;
    for line in lines.filter(|l| !l.iter().all(u8::is_ascii_whitespace)).take(400) {
        total += 1;
        for (n, shape) in counts.iter_mut().zip(TextShape::DETECT) {
            if parse(shape, line).is_some() {
                *n += 1;
            }
        }
    }
    let weak = |s: TextShape| matches!(s, TextShape::Epoch | TextShape::LevelPrefix | TextShape::Glog);
    let best = |want_weak: bool| {
        counts
            .iter()
            .zip(TextShape::DETECT)
            .filter(|(_, s)| weak(*s) == want_weak)
            .fold((0, TextShape::Any), |b, (&n, s)| if n > b.0 { (n, s) } else { b })
    };
    // A timestamp shape wins; a weak shape (bare numbers, level prefixes,
    // glog) needs no timestamp shape at all and more than an accident.
    let strong = best(false);
    if strong.0 > 0 {
        return strong.1;
    }
    let (n, shape) = best(true);
    if n >= 2 && n * 8 >= total { shape } else { TextShape::Any }
}
