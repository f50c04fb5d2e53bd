//! Stack traces inside a record's text: which language printed it, the
//! exception chain (outermost and root cause), the frames and the top
//! application frame. Shapes follow the reference rules (Google's
//! fluent-plugin-detect-exceptions, Fluent Bit) with their known gaps
//! fixed: a log prefix before the exception, Python chains and carets,
//! .NET's short async marker, Go 1.21+/1.23+ headers, both Rust panic
//! formats, Node `[cause]` blocks, Ruby 3.4 quoting, PHP 5 and 7.

use super::{ExceptionInfo, Frame, Language, Level, MAX_FRAMES};

/// One exception of a chain: its type, message and frames (throw site
/// first).
#[derive(Default, Debug)]
struct Block {
    typ: String,
    msg: String,
    frames: Vec<Frame>,
}

/// Parses the exception in a record's lines (the first one is the message
/// part of the header line). Returns it and, per line, whether the line is
/// part of a frame (file paths and source code, skipped when looking for
/// identifiers).
pub(crate) fn parse(lines: &[&str], level: Option<Level>) -> (Option<ExceptionInfo>, Vec<bool>) {
    let mut mask = vec![false; lines.len()];
    let info = match detect(lines) {
        Some(Language::Python) => python(lines, &mut mask),
        Some(Language::Rust) => rust(lines, &mut mask),
        Some(Language::Go) => go(lines, &mut mask),
        Some(Language::Php) => php(lines, &mut mask),
        Some(Language::Elixir) => elixir(lines, &mut mask),
        Some(Language::Java) => java(lines, &mut mask),
        Some(Language::Node) => node(lines, &mut mask),
        Some(Language::DotNet) => dotnet(lines, &mut mask),
        Some(Language::Ruby) => ruby(lines, &mut mask),
        Some(Language::Unknown) | None => None,
    };
    let info = info.or_else(|| {
        // No trace: an error-level message naming an exception type.
        if !level.is_some_and(Level::is_error) {
            return None;
        }
        let (typ, msg) = lines.iter().take(3).find_map(|l| find_exc(l, true))?;
        Some(finish(Language::Unknown, vec![Block { typ, msg, frames: Vec::new() }]))
    });
    (info, mask)
}

/// Parses the stack text of a structured record (`error.stack_trace`,
/// `err.stack`, `exception`): the same rules, any level.
pub(crate) fn parse_stack(text: &str) -> Option<ExceptionInfo> {
    let lines: Vec<&str> = text.lines().take(super::MAX_RECORD_LINES).collect();
    parse(&lines, Some(Level::Error)).0
}

/// The language whose shapes the lines have, if any.
fn detect(lines: &[&str]) -> Option<Language> {
    let (mut java, mut node, mut dotnet, mut ruby) = (0usize, 0usize, 0usize, 0usize);
    let (mut go, mut php, mut elixir, mut rust) = (false, false, false, false);
    let mut go_frames = 0usize;
    let n = lines.len().min(2000);
    for (k, line) in lines.iter().take(n).enumerate() {
        // A line adds at most one vote: once a language leads by more than
        // the lines left, the vote is settled, and the lines only matter by
        // what overrides it (the checks for Python, Rust, Go, Elixir, PHP).
        let settled = vote_lead([java, node, dotnet, ruby]) > n - k;
        let t = line.trim_start_fast();
        if t.ends_with("Traceback (most recent call last):") {
            return Some(Language::Python);
        }
        // The needles below with `panic` (or `PHP `) in them need it first.
        let panic = has_str(t, "panic");
        if panic && has_str(t, "panicked at ") && (t.starts_with("thread '") || has_str(t, " thread '")) {
            rust = true;
        } else if t.starts_with("panic: ")
            || t.starts_with("fatal error: ")
            || (panic && has_str(t, "http: panic serving "))
            || (t.starts_with("goroutine ") && t.ends_with("]:"))
        {
            go = true;
        } else if let Some(rest) = t.strip_prefix("at ") {
            if !settled {
                match at_frame_kind(rest) {
                    Some(Language::Java) => java += 1,
                    Some(Language::Node) => node += 1,
                    Some(Language::DotNet) => dotnet += 1,
                    _ => {}
                }
            }
        } else if t.starts_with("Caused by: ") || t.starts_with("Wrapped by: ") {
            java += 1;
        } else if t.starts_with("---> ") || t.starts_with("--- End of ") || t.starts_with("Unhandled exception. ") {
            dotnet += 1;
        } else if t.starts_with("** (") {
            elixir = true;
        } else if (has_str(t, "PHP ")
            && (has_str(t, "PHP Fatal error") || has_str(t, "PHP Warning:") || has_str(t, "PHP Notice:") || has_str(t, "PHP Parse error")))
            || php_frame(t).is_some()
        {
            php = true;
        } else if !settled && (ruby_frame(t.strip_prefix("from ").unwrap_or(t)).is_some() || ruby_header(strip_tags(t)).is_some()) {
            ruby += 1;
        } else if !settled && line.starts_with('\t') && go_file_line(t).is_some() {
            // Only counts without any vote, which a settled vote is not.
            go_frames += 1;
        }
    }
    // A bare Go stack (zap's `stacktrace`): function / tab + file:line pairs.
    go |= go_frames >= 1 && java + node + dotnet + ruby == 0;
    if rust {
        return Some(Language::Rust);
    }
    if go {
        return Some(Language::Go);
    }
    if php {
        return Some(Language::Php);
    }
    if elixir {
        return Some(Language::Elixir);
    }
    let best = [(java, Language::Java), (node, Language::Node), (dotnet, Language::DotNet), (ruby, Language::Ruby)]
        .into_iter()
        .fold((0, Language::Unknown), |acc, (n, l)| if n > acc.0 { (n, l) } else { acc });
    if best.0 > 0 { Some(best.1) } else { None }
}

/// How far the leading vote is ahead of the next one.
fn vote_lead(votes: [usize; 4]) -> usize {
    let (mut first, mut second) = (0, 0);
    for v in votes {
        if v > first {
            second = first;
            first = v;
        } else if v > second {
            second = v;
        }
    }
    first - second
}

/// Builds the exception from blocks ordered root cause first.
fn finish(language: Language, blocks: Vec<Block>) -> ExceptionInfo {
    finish_with(language, blocks, None)
}

fn finish_with(language: Language, mut blocks: Vec<Block>, top: Option<Frame>) -> ExceptionInfo {
    blocks.retain(|b| !b.typ.is_empty() || !b.msg.is_empty() || !b.frames.is_empty());
    let named = |b: &Block| !b.typ.is_empty();
    let last = blocks.len().checked_sub(1);
    let outer = blocks.iter().rposition(named).or(last);
    let inner = blocks.iter().position(named).or(last.map(|_| 0));
    // Moved out of the blocks (their frames are all that is used after),
    // copied only when one block is both.
    let (innermost_type, innermost_message) = match inner {
        Some(i) if inner == outer => blocks.get(i).map(|b| (b.typ.clone(), b.msg.clone())).unwrap_or_default(),
        _ => inner.and_then(|i| blocks.get_mut(i)).map(|b| (std::mem::take(&mut b.typ), std::mem::take(&mut b.msg))).unwrap_or_default(),
    };
    let (exc_type, message) =
        outer.and_then(|i| blocks.get_mut(i)).map(|b| (std::mem::take(&mut b.typ), std::mem::take(&mut b.msg))).unwrap_or_default();
    let top_app_frame = top.or_else(|| {
        blocks.iter().flat_map(|b| b.frames.iter()).find(|f| f.in_app).or_else(|| blocks.iter().find_map(|b| b.frames.first())).cloned()
    });
    let chain_len = blocks.len().max(1);
    // The blocks' frames in order, at most `MAX_FRAMES` (the first block's
    // vector reused).
    let mut rest = blocks.into_iter();
    let mut frames = rest.next().map(|b| b.frames).unwrap_or_default();
    frames.truncate(MAX_FRAMES);
    for b in rest {
        let room = MAX_FRAMES - frames.len();
        frames.extend(b.frames.into_iter().take(room));
    }
    ExceptionInfo { language, exc_type, message, innermost_type, innermost_message, chain_len, top_app_frame, frames }
}

fn is_type_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'$' | b'.')
}

/// Type suffixes that mark an exception class without a package.
const TYPE_SUFFIXES: &[&str] = &[
    "Error",
    "Exception",
    "Throwable",
    "Fault",
    "Failure",
    "Panic",
    "Interrupt",
    "Exit",
    "Warning",
    "Timeout",
    "Iteration",
    "Closed",
    "Cancelled",
    "Group",
];

/// Finds `Type: message` in a line: the first token shaped like an exception
/// class followed by `: `, a Node code (`TypeError [ERR_X]: `) or the end of
/// the line. `strict` needs a type suffix (`...Error`, `...Exception`);
/// otherwise a qualified name with a capitalised last part
/// (`java.io.IOException`, `websockets.exceptions.X`) is enough.
pub(crate) fn find_exc(line: &str, strict: bool) -> Option<(String, String)> {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let prev = if i == 0 { b' ' } else { b.get(i - 1).copied().unwrap_or(b' ') };
        let c = b.get(i).copied().unwrap_or(0);
        if !(c.is_ascii_alphabetic() || c == b'_') || !matches!(prev, b' ' | b'\t' | b'"' | b'(' | b'\'' | b'[' | b':' | b'>') {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < b.len() {
            if is_type_byte(b.get(j).copied().unwrap_or(0)) {
                j += 1;
            } else if b.get(j..j + 2) == Some(b"::") && b.get(j + 2).is_some_and(u8::is_ascii_uppercase) {
                j += 2;
            } else {
                break;
            }
        }
        let token = line.get(i..j).unwrap_or_default().trim_end_matches('.');
        let rest = line.get(i + token.len()..).unwrap_or_default();
        let last = token.rsplit(['.', ':']).next().unwrap_or(token);
        let capital = last.as_bytes().first().is_some_and(u8::is_ascii_uppercase);
        let suffixed = TYPE_SUFFIXES.iter().any(|s| last.ends_with(s)) && !last.bytes().all(|c| c.is_ascii_uppercase());
        let qualified = token.contains('.') || has_str(token, "::");
        if capital && (suffixed || (!strict && qualified)) {
            if let Some(msg) = rest.strip_prefix(": ") {
                return Some((token.to_string(), msg.trim_fast().to_string()));
            }
            if rest.trim_fast().is_empty() || rest == ":" {
                return Some((token.to_string(), String::new()));
            }
            if let Some(code) = rest.strip_prefix(" [")
                && let Some((_, msg)) = split_str(code, "]: ")
            {
                return Some((token.to_string(), msg.trim_fast().to_string()));
            }
        }
        i = j.max(i + 1);
    }
    None
}

fn parse_u32(s: &str) -> Option<u32> {
    let s = s.trim_fast();
    if s.is_empty() || s.len() > 9 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    // At most 9 digits: no overflow.
    Some(s.bytes().fold(0, |v, c| v * 10 + u32::from(c - b'0')))
}

/// `s.find(c)` for an ASCII `c`, with `memchr` (the standard library's
/// character search costs more than these short lines).
fn find_byte(s: &str, c: u8) -> Option<usize> {
    memchr::memchr(c, s.as_bytes())
}

/// `s.rfind(c)` for an ASCII `c`.
fn rfind_byte(s: &str, c: u8) -> Option<usize> {
    memchr::memrchr(c, s.as_bytes())
}

/// `s.split_once(c)` for an ASCII `c`.
fn split_byte(s: &str, c: u8) -> Option<(&str, &str)> {
    let p = find_byte(s, c)?;
    Some((s.get(..p)?, s.get(p + 1..)?))
}

/// `s.rsplit_once(c)` for an ASCII `c`.
fn rsplit_byte(s: &str, c: u8) -> Option<(&str, &str)> {
    let p = rfind_byte(s, c)?;
    Some((s.get(..p)?, s.get(p + 1..)?))
}

/// `rsplit_byte(s, b':')`.
fn rsplit_colon(s: &str) -> Option<(&str, &str)> {
    rsplit_byte(s, b':')
}

/// `path:line[:col]` from the right.
fn split_location(loc: &str) -> (String, Option<u32>) {
    let loc = loc.trim_fast();
    if let Some((a, last)) = rsplit_colon(loc)
        && let Some(n) = parse_u32(last)
    {
        if let Some((file, line)) = rsplit_colon(a)
            && let Some(l) = parse_u32(line)
        {
            return (file.to_string(), Some(l));
        }
        return (a.to_string(), Some(n));
    }
    (loc.to_string(), None)
}

fn set(mask: &mut [bool], i: usize) {
    if let Some(m) = mask.get_mut(i) {
        *m = true;
    }
}

// ---------------------------------------------------------------- substrings

/// `str::trim_start`, `trim_end` and `trim`, with a fast path for the
/// usual case: trimming stops at an ASCII character. The standard ones
/// decode characters through a generic searcher, which costs more than
/// trimming a trace line does; the result is the same (ASCII whitespace as
/// `char::is_whitespace` counts it, then the standard trim from a non-ASCII
/// character on).
pub(crate) trait TrimFast {
    fn trim_start_fast(&self) -> &str;
    fn trim_end_fast(&self) -> &str;
    fn trim_fast(&self) -> &str;
}

/// ASCII whitespace as `char::is_whitespace` counts it (with the vertical
/// tab, unlike `u8::is_ascii_whitespace`).
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t'..=b'\r')
}

impl TrimFast for str {
    fn trim_start_fast(&self) -> &str {
        let b = self.as_bytes();
        let n = b.iter().take_while(|&&c| is_space(c)).count();
        let rest = self.get(n..).unwrap_or_default();
        if b.get(n).is_some_and(|c| !c.is_ascii()) { rest.trim_start() } else { rest }
    }

    fn trim_end_fast(&self) -> &str {
        let b = self.as_bytes();
        let end = b.len() - b.iter().rev().take_while(|&&c| is_space(c)).count();
        let kept = self.get(..end).unwrap_or_default();
        if end > 0 && b.get(end - 1).is_some_and(|c| !c.is_ascii()) { kept.trim_end() } else { kept }
    }

    fn trim_fast(&self) -> &str {
        self.trim_start_fast().trim_end_fast()
    }
}

/// Haystacks longer than this are searched with `memchr::memmem` (linear
/// time whatever the input); shorter ones by `memchr` on the needle's first
/// byte and a compare. `str::find` with a `&str` needle builds a Two-Way
/// searcher on every call, which costs more than searching a trace line.
const SHORT: usize = 256;

/// Byte offset of the first `needle` in `hay`. A match of valid UTF-8 in
/// valid UTF-8 starts and ends on character boundaries, so the offsets
/// slice `hay` as `str::find`'s would.
fn find_str(hay: &str, needle: &str) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    let Some((&first, rest)) = n.split_first() else { return Some(0) };
    if h.len() > SHORT {
        return memchr::memmem::find(h, n);
    }
    memchr::memchr_iter(first, h).find(|&p| h.get(p + 1..p + n.len()) == Some(rest))
}

/// Byte offset of the last `needle` in `hay` (as `str::rfind`).
fn rfind_str(hay: &str, needle: &str) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    let Some((&first, rest)) = n.split_first() else { return Some(h.len()) };
    if h.len() > SHORT {
        return memchr::memmem::rfind(h, n);
    }
    memchr::memrchr_iter(first, h).find(|&p| h.get(p + 1..p + n.len()) == Some(rest))
}

fn has_str(hay: &str, needle: &str) -> bool {
    find_str(hay, needle).is_some()
}

/// `str::split_once` with a `&str` needle.
fn split_str<'a>(s: &'a str, needle: &str) -> Option<(&'a str, &'a str)> {
    let p = find_str(s, needle)?;
    Some((s.get(..p)?, s.get(p + needle.len()..)?))
}

/// `str::rsplit_once` with a `&str` needle.
fn rsplit_str<'a>(s: &'a str, needle: &str) -> Option<(&'a str, &'a str)> {
    let p = rfind_str(s, needle)?;
    Some((s.get(..p)?, s.get(p + needle.len()..)?))
}

/// The part of `s` before the first `needle` (all of it without one), as
/// `s.split(needle).next()`.
fn before_str<'a>(s: &'a str, needle: &str) -> &'a str {
    find_str(s, needle).and_then(|p| s.get(..p)).unwrap_or(s)
}

// ---------------------------------------------------------------- Python

pub(crate) fn python_in_app(file: &str) -> bool {
    // Each pair of needles shares a part to look for first.
    let packages = || has_str(file, "-packages") && (has_str(file, "site-packages") || has_str(file, "dist-packages"));
    let windows = || find_byte(file, b'\\').is_some() && (has_str(file, "\\lib\\") || has_str(file, "\\Lib\\"));
    !(packages() || has_str(file, "/lib/python") || windows() || file.starts_with('<'))
}

/// `File "path", line N, in func`.
fn python_frame(t: &str) -> Option<Frame> {
    let rest = t.strip_prefix("File \"")?;
    let (file, rest) = split_byte(rest, b'"')?;
    let rest = rest.strip_prefix(", line ")?;
    let (num, func) = match split_str(rest, ", in ") {
        Some((n, f)) => (n, f.trim_fast()),
        None => (rest, ""),
    };
    Some(Frame { function: func.to_string(), file: file.to_string(), line: parse_u32(num), in_app: python_in_app(file) })
}

/// Python's exception line: `pkg.Type: message` or a bare `Type`.
fn python_exc(t: &str) -> (String, String) {
    let dotted = |s: &str| {
        !s.is_empty() && s.bytes().all(is_type_byte) && s.as_bytes().first().is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
    };
    if let Some((typ, msg)) = split_str(t, ": ")
        && dotted(typ)
    {
        return (typ.to_string(), msg.trim_fast().to_string());
    }
    let bare = t.trim_end_matches(':');
    if dotted(bare) {
        return (bare.to_string(), String::new());
    }
    find_exc(t, false).unwrap_or_else(|| (String::new(), t.trim_fast().to_string()))
}

/// Exception groups draw a gutter (`  | `, `  +-`) before their lines.
fn strip_gutter(line: &str) -> &str {
    let t = line.trim_start_fast();
    if let Some(r) = t.strip_prefix("| ") {
        return r;
    }
    if t.starts_with("+-") || t == "|" {
        return "";
    }
    if let Some(r) = t.strip_prefix("+ ") {
        return r;
    }
    line
}

fn python(lines: &[&str], mask: &mut [bool]) -> Option<ExceptionInfo> {
    #[derive(PartialEq)]
    enum St {
        Idle,
        Frames,
        AfterExc,
    }
    let mut blocks: Vec<Block> = Vec::new();
    let mut st = St::Idle;
    for (i, raw) in lines.iter().enumerate() {
        let line = strip_gutter(raw);
        let t = line.trim_start_fast();
        if t.ends_with("Traceback (most recent call last):") {
            blocks.push(Block::default());
            st = St::Frames;
            continue;
        }
        match st {
            St::Frames => {
                if let Some(f) = python_frame(t) {
                    if let Some(b) = blocks.last_mut()
                        && b.frames.len() < MAX_FRAMES
                    {
                        b.frames.push(f);
                    }
                    set(mask, i);
                } else if line.starts_with([' ', '\t']) || t.is_empty() {
                    // Source line, caret line, or blank.
                    set(mask, i);
                } else {
                    let (typ, msg) = python_exc(t);
                    if let Some(b) = blocks.last_mut() {
                        b.typ = typ;
                        b.msg = msg;
                    }
                    st = St::AfterExc;
                }
            }
            St::AfterExc => {
                if t.starts_with("During handling of the above exception") || t.starts_with("The above exception was the direct cause") {
                    st = St::Idle;
                }
            }
            St::Idle => {}
        }
    }
    if blocks.is_empty() {
        return None;
    }
    // Printed root cause first, each with the most recent call last.
    for b in &mut blocks {
        b.frames.reverse();
    }
    Some(finish(Language::Python, blocks))
}

// ---------------------------------------------------------------- `at` frames (Java, Node, .NET)

/// Which runtime printed an `at ...` frame (the text after `at `).
fn at_frame_kind(rest: &str) -> Option<Language> {
    let rest = rest.trim_end_fast();
    // The needles with a space cannot match a frame without one (Java's).
    let spaced = memchr::memchr(b' ', rest.as_bytes()).is_some();
    if spaced && ((has_str(rest, " in ") && has_str(rest, ":line ")) || has_str(rest, " + 0x")) {
        return Some(Language::DotNet);
    }
    if rest.ends_with(')')
        && let Some(open) = if spaced { rfind_str(rest, " (").map(|p| p + 1) } else { None }.or_else(|| find_byte(rest, b'('))
    {
        let inside = rest.get(open + 1..rest.len() - 1).unwrap_or_default();
        if node_location(inside) {
            return Some(Language::Node);
        }
        if inside == "Native Method"
            || inside == "Unknown Source"
            || inside == "<generated>"
            || [".java:", ".kt:", ".scala:", ".groovy:", ".clj:"].iter().any(|e| has_str(inside, e))
            || inside.ends_with(".java")
            || inside.ends_with(".kt")
        {
            return Some(Language::Java);
        }
        if inside.is_empty() || inside.contains(' ') {
            return Some(Language::DotNet);
        }
        return None;
    }
    if node_location(rest.strip_prefix("async ").unwrap_or(rest)) {
        return Some(Language::Node);
    }
    None
}

/// `path:line:col`, `node:internal/...`, `<anonymous>`.
fn node_location(loc: &str) -> bool {
    if loc.starts_with("node:") || loc == "<anonymous>" || loc == "native" || loc.starts_with("index ") {
        return true;
    }
    // `loc.rsplitn(3, ':')`: column, line and a non-empty path.
    let Some((rest, c)) = rsplit_colon(loc) else { return false };
    let Some((path, l)) = rsplit_colon(rest) else { return false };
    !path.is_empty() && parse_u32(c).is_some() && parse_u32(l).is_some()
}

const JAVA_LIB: &[&str] = &[
    "java.",
    "javax.",
    "jdk.",
    "sun.",
    "com.sun.",
    "kotlin.",
    "kotlinx.",
    "scala.",
    "groovy.",
    "clojure.",
    "org.springframework.",
    "org.eclipse.jetty.",
    "org.apache.",
    "io.netty.",
    "reactor.",
    "io.undertow.",
    "org.glassfish.",
    "ch.qos.logback.",
    "org.slf4j.",
    "jakarta.",
    "com.fasterxml.",
    "org.hibernate.",
    "io.micrometer.",
    "io.grpc.",
    "okhttp3.",
    "io.reactivex.",
    "akka.",
    "org.jboss.",
    "io.vertx.",
    "io.quarkus.",
    "com.google.common.",
    "org.junit.",
    "com.zaxxer.",
    "io.opentelemetry.",
    "net.bytebuddy.",
    "org.aspectj.",
];

/// Whether `s` starts with one of `prefixes` (none of them empty): first
/// bytes are compared before anything else, as these lists are checked for
/// every frame.
fn starts_with_any(s: &str, prefixes: &[&str]) -> bool {
    let first = s.as_bytes().first();
    prefixes.iter().any(|p| p.as_bytes().first() == first && s.starts_with(p))
}

pub(crate) fn java_in_app(function: &str) -> bool {
    // The generated classes below all have a `$` in their names.
    let dollar = find_byte(function, b'$').is_some();
    !(starts_with_any(function, JAVA_LIB)
        || (dollar && (has_str(function, "$$Lambda") || has_str(function, "CGLIB$$") || function.starts_with("$Proxy"))))
}

/// `at [module/]pkg.Class.method(File.java:42) [~[jar:ver]]`.
fn java_frame(rest: &str) -> Option<Frame> {
    let open = find_byte(rest, b'(')?;
    let close = find_byte(rest.get(open..)?, b')')? + open;
    let mut function = rest.get(..open)?.trim_fast();
    if let Some(p) = rfind_byte(function, b'/') {
        function = function.get(p + 1..).unwrap_or(function);
    }
    let inside = rest.get(open + 1..close)?;
    let (file, line) = match rsplit_byte(inside, b':').and_then(|(f, n)| Some((f, parse_u32(n)?))) {
        Some((f, n)) => (f.to_string(), Some(n)),
        None => (inside.to_string(), None),
    };
    Some(Frame { function: function.to_string(), file, line, in_app: java_in_app(function) })
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_fast().len()
}

fn java(lines: &[&str], mask: &mut [bool]) -> Option<ExceptionInfo> {
    let first_frame =
        lines.iter().position(|l| l.trim_start_fast().strip_prefix("at ").is_some_and(|r| at_frame_kind(r) == Some(Language::Java)))?;
    let head = (0..first_frame).rev().find_map(|i| {
        let l = lines.get(i)?.trim_start_fast();
        let l = match find_str(l, "Exception in thread \"") {
            Some(p) => l.get(p..).and_then(|s| split_str(s, "\" ")).map_or(l, |(_, r)| r),
            None => l,
        };
        find_exc(l, false).map(|e| (i, e))
    });
    let found = head.is_some();
    let (start, (typ, msg)) = head.unwrap_or((first_frame, (String::new(), String::new())));
    let mut blocks = vec![Block { typ, msg, frames: Vec::new() }];
    let mut wrapped = false;
    let mut suppressed: Option<usize> = None;
    for (i, line) in lines.iter().enumerate().skip(start + usize::from(found)) {
        let t = line.trim_start_fast();
        if let Some(s) = suppressed {
            if indent(line) > s || t.is_empty() {
                if t.starts_with("at ") || t.starts_with("...") {
                    set(mask, i);
                }
                continue;
            }
            suppressed = None;
        }
        if let Some(rest) = t.strip_prefix("at ") {
            if let Some(f) = java_frame(rest)
                && let Some(b) = blocks.last_mut()
                && b.frames.len() < MAX_FRAMES
            {
                b.frames.push(f);
            }
            set(mask, i);
        } else if let Some(rest) = t.strip_prefix("Caused by: ").or_else(|| t.strip_prefix("Wrapped by: ").inspect(|_| wrapped = true)) {
            let (typ, msg) = find_exc(rest, false).unwrap_or_else(|| python_exc(rest));
            blocks.push(Block { typ, msg, frames: Vec::new() });
        } else if t.starts_with("Suppressed: ") {
            suppressed = Some(indent(line));
        } else if t.starts_with("... ") {
            set(mask, i);
        }
    }
    // `Caused by` prints the root cause last; logback's `%rEx` (`Wrapped by`)
    // prints it first.
    if !wrapped {
        blocks.reverse();
    }
    Some(finish(Language::Java, blocks))
}

// ---------------------------------------------------------------- Node.js

fn node_in_app(file: &str) -> bool {
    !(file.is_empty()
        || file.starts_with("node:")
        || file.starts_with("internal/")
        || has_str(file, "node_modules")
        || file == "<anonymous>"
        || file == "native"
        || file.starts_with("index "))
}

/// `at fn (file:l:c)`, `at file:l:c`, `at async fn (...)`, `at new C (...)`.
fn node_frame(rest: &str) -> Frame {
    let rest = rest.trim_fast();
    let rest = rest.strip_prefix("async ").unwrap_or(rest);
    let (function, loc) = match rest.strip_suffix(')').and_then(|r| rfind_str(r, " (").map(|p| (r, p))) {
        Some((r, p)) => (r.get(..p).unwrap_or_default().trim_fast(), r.get(p + 2..).unwrap_or_default()),
        None => ("", rest),
    };
    let function = function.strip_prefix("new ").unwrap_or(function);
    let (file, line) = split_location(loc);
    let file = file.strip_prefix("file://").map(str::to_string).unwrap_or(file);
    Frame { function: function.to_string(), in_app: node_in_app(&file), file, line }
}

fn node(lines: &[&str], mask: &mut [bool]) -> Option<ExceptionInfo> {
    let first_frame =
        lines.iter().position(|l| l.trim_start_fast().strip_prefix("at ").is_some_and(|r| at_frame_kind(r) == Some(Language::Node)))?;
    let head = (0..first_frame).rev().find_map(|i| {
        let l = lines.get(i)?.trim_start_fast();
        let l = l.strip_prefix("Uncaught ").unwrap_or(l);
        find_exc(l, false).map(|e| (i, e))
    });
    let found = head.is_some();
    let (start, (typ, msg)) = head.unwrap_or((first_frame, (String::new(), String::new())));
    let mut blocks = vec![Block { typ, msg, frames: Vec::new() }];
    for (i, line) in lines.iter().enumerate().skip(start + usize::from(found)) {
        let t = line.trim_start_fast();
        if let Some(rest) = t.strip_prefix("at ") {
            if let Some(b) = blocks.last_mut()
                && b.frames.len() < MAX_FRAMES
            {
                b.frames.push(node_frame(rest));
            }
            set(mask, i);
        } else if let Some(rest) = t.strip_prefix("[cause]: ") {
            let (typ, msg) = find_exc(rest, false).unwrap_or_else(|| (String::new(), rest.trim_fast().to_string()));
            blocks.push(Block { typ, msg, frames: Vec::new() });
        }
    }
    // The deepest `[cause]` is the root.
    blocks.reverse();
    Some(finish(Language::Node, blocks))
}

// ---------------------------------------------------------------- .NET

const DOTNET_LIB: &[&str] = &[
    "System.",
    "Microsoft.",
    "Newtonsoft.",
    "Grpc.",
    "Npgsql.",
    "Serilog.",
    "NLog.",
    "Polly.",
    "StackExchange.",
    "Dapper.",
    "Castle.",
    "Autofac.",
    "lambda_method",
];

/// `at Ns.Class.Method(args) in /path/File.cs:line 42`.
fn dotnet_frame(rest: &str) -> Frame {
    let rest = rest.trim_fast();
    let rest = before_str(rest, " + 0x");
    let (sig, loc) = match rsplit_str(rest, " in ") {
        Some((s, l)) if has_str(l, ":line ") => (s, Some(l)),
        _ => (rest, None),
    };
    let function = find_byte(sig, b'(').and_then(|p| sig.get(..p)).unwrap_or(sig).trim_fast();
    let (file, line) = match loc.and_then(|l| rsplit_str(l, ":line ")) {
        Some((f, n)) => (f.to_string(), parse_u32(n)),
        None => (String::new(), None),
    };
    Frame { function: function.to_string(), file, line, in_app: !starts_with_any(function, DOTNET_LIB) }
}

fn dotnet(lines: &[&str], mask: &mut [bool]) -> Option<ExceptionInfo> {
    let first_frame = lines.iter().position(|l| l.trim_start_fast().starts_with("at ")).unwrap_or(lines.len());
    let (start, head_text) = (0..first_frame).find_map(|i| {
        let l = lines.get(i)?.trim_start_fast();
        let l = l.strip_prefix("Unhandled exception. ").or_else(|| l.strip_prefix("Unhandled Exception: ")).unwrap_or(l);
        let outer = before_str(l, " ---> ");
        find_exc(outer, false).map(|_| (i, l))
    })?;
    // .NET Framework prints inner exceptions on the header line.
    let mut blocks: Vec<Block> = head_text
        .split(" ---> ")
        .map(|part| {
            let (typ, msg) = find_exc(part, false).unwrap_or_default();
            Block { typ, msg, frames: Vec::new() }
        })
        .collect();
    let mut cur = blocks.len().saturating_sub(1);
    for (i, line) in lines.iter().enumerate().skip(start + 1) {
        let t = line.trim_start_fast();
        if let Some(rest) = t.strip_prefix("---> ") {
            let (typ, msg) = find_exc(rest, false).unwrap_or_else(|| (String::new(), rest.to_string()));
            blocks.push(Block { typ, msg, frames: Vec::new() });
            cur = blocks.len() - 1;
        } else if let Some(rest) = t.strip_prefix("at ") {
            if let Some(b) = blocks.get_mut(cur)
                && b.frames.len() < MAX_FRAMES
            {
                b.frames.push(dotnet_frame(rest));
            }
            set(mask, i);
        } else if t.starts_with("--- End of inner exception stack trace") {
            cur = cur.saturating_sub(1);
        } else if t.starts_with("--- End of stack trace from previous location") {
            set(mask, i);
        }
    }
    // The innermost exception's frames are printed first.
    blocks.reverse();
    Some(finish(Language::DotNet, blocks))
}

// ---------------------------------------------------------------- Go

fn go_in_app(function: &str, file: &str) -> bool {
    if function.is_empty()
        || function == "panic"
        || has_str(file, "/pkg/mod/")
        || has_str(file, "/vendor/")
        || has_str(file, "/usr/local/go/")
        || has_str(file, "/usr/lib/go")
        || has_str(file, "/go/src/runtime/")
        || has_str(file, "GOROOT")
    {
        return false;
    }
    // The standard library's import paths have no dot in their first element.
    let first = function.split('/').next().unwrap_or_default();
    if function.contains('/') {
        return first.contains('.');
    }
    function.split('.').next() == Some("main")
}

/// A Go function line without its arguments: `main.(*S).f(0xc0, {0x1})`.
fn go_function(t: &str) -> Option<&str> {
    let t = t.trim_fast();
    if !t.ends_with(')') {
        return None;
    }
    let mut depth = 0i32;
    for (p, c) in t.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' => {
                depth -= 1;
                if depth == 0 {
                    let f = t.get(..p)?;
                    return if f.is_empty() || f.contains(' ') { None } else { Some(f) };
                }
            }
            _ => {}
        }
    }
    None
}

/// `\t/src/x.go:42 +0x1d`: file and line.
fn go_file_line(t: &str) -> Option<(String, Option<u32>)> {
    let t = t.trim_fast();
    let t = before_str(t, " +0x");
    let (file, line) = rsplit_byte(t, b':')?;
    if !file.ends_with(".go") && !file.ends_with(".s") {
        return None;
    }
    Some((file.to_string(), parse_u32(line)))
}

fn go(lines: &[&str], mask: &mut [bool]) -> Option<ExceptionInfo> {
    let mut panics: Vec<(String, String)> = Vec::new();
    let mut frames: Vec<Frame> = Vec::new();
    let mut goroutines = 0;
    let mut pending: Option<(String, bool)> = None;
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_fast();
        if let Some(p) = find_str(t, "http: panic serving ") {
            let rest = t.get(p + "http: panic serving ".len()..).unwrap_or_default();
            let msg = split_str(rest, ": ").map_or(rest, |(_, m)| m);
            panics.push(("panic".to_string(), msg.to_string()));
        } else if let Some(rest) = t.strip_prefix("panic: ") {
            let mut msg = rest;
            for suffix in [" [recovered, repanicked]", " [recovered]"] {
                msg = msg.strip_suffix(suffix).unwrap_or(msg);
            }
            panics.push(match msg.strip_prefix("runtime error: ") {
                Some(m) => ("runtime error".to_string(), m.to_string()),
                None => ("panic".to_string(), msg.to_string()),
            });
        } else if let Some(rest) = t.strip_prefix("fatal error: ") {
            panics.push(("fatal error".to_string(), rest.to_string()));
        } else if t.starts_with("SIGQUIT: ") || t.starts_with("SIGABRT: ") {
            panics.push(("signal".to_string(), t.to_string()));
        } else if t.starts_with("goroutine ") && t.ends_with("]:") {
            goroutines += 1;
            pending = None;
        } else if goroutines <= 1 {
            // Frames of the first goroutine (the panicking one), or of a
            // header-less stack (zap's `stacktrace`).
            if let Some(f) = t.strip_prefix("created by ") {
                let f = before_str(f, " in goroutine ");
                pending = Some((f.to_string(), true));
                set(mask, i);
            } else if let Some((file, l)) = go_file_line(t) {
                if let Some((function, created)) = pending.take()
                    && frames.len() < MAX_FRAMES
                {
                    let in_app = !created && go_in_app(&function, &file);
                    frames.push(Frame { function, file, line: l, in_app });
                }
                set(mask, i);
            } else if let Some(f) = go_function(t) {
                pending = Some((f.to_string(), false));
                set(mask, i);
            } else if !t.contains(' ') && t.contains('.') && !t.is_empty() {
                // zap writes functions without arguments.
                pending = Some((t.to_string(), false));
            }
        }
    }
    if panics.is_empty() && frames.is_empty() {
        return None;
    }
    if panics.is_empty() {
        // A stack without a panic (a goroutine dump, zap's stacktrace):
        // no exception type of its own.
        panics.push((if goroutines > 0 { "goroutine dump".to_string() } else { String::new() }, String::new()));
    }
    // The first panic printed is the original one; a repanic comes after.
    let mut blocks: Vec<Block> = panics.into_iter().map(|(typ, msg)| Block { typ, msg, frames: Vec::new() }).collect();
    if let Some(b) = blocks.first_mut() {
        b.frames = frames;
    }
    Some(finish(Language::Go, blocks))
}

// ---------------------------------------------------------------- Rust

const RUST_LIB: &[&str] = &[
    "std::",
    "core::",
    "alloc::",
    "rust_begin_unwind",
    "__rust",
    "_start",
    "__libc",
    "__GI",
    "start_thread",
    "clone",
    "tokio::",
    "futures::",
    "futures_util::",
    "futures_core::",
    "<std::",
    "<core::",
    "<alloc::",
    "<tokio::",
    "<futures",
    "backtrace::",
    "hyper::",
    "<hyper::",
    "tower::",
    "<tower",
    "axum::",
    "<axum",
    "tungstenite::",
    "<tungstenite",
    "tokio_tungstenite::",
    "<tokio_tungstenite",
    "async_std::",
    "actix",
    "<F as",
    "std_detect",
];

fn rust_in_app(function: &str, file: &str) -> bool {
    !(starts_with_any(function, RUST_LIB)
        || function == "main"
        || has_str(file, "/rustc/")
        || has_str(file, ".cargo/registry")
        || has_str(file, "/library/std/")
        || has_str(file, "/library/core/")
        || has_str(file, "/library/alloc/"))
}

fn rust(lines: &[&str], mask: &mut [bool]) -> Option<ExceptionInfo> {
    let h = lines.iter().position(|l| has_str(l, "panicked at ") && has_str(l, "thread '"))?;
    let header = lines.get(h)?;
    let after = split_str(header, "panicked at ").map(|(_, r)| r)?.trim_end_fast();
    let (mut msg, site) = match after.strip_prefix('\'') {
        // Before 1.73: `panicked at 'msg', src/main.rs:2:5`.
        Some(quoted) => match rsplit_str(quoted, "', ") {
            Some((m, loc)) => (m.to_string(), loc.to_string()),
            None => (quoted.to_string(), String::new()),
        },
        None => (String::new(), after.strip_suffix(':').unwrap_or(after).to_string()),
    };
    let (site_file, site_line) = split_location(&site);
    let mut frames: Vec<Frame> = Vec::new();
    let mut in_bt = false;
    let mut msg_lines: Vec<&str> = Vec::new();
    let mut in_msg = msg.is_empty();
    for (i, line) in lines.iter().enumerate().skip(h + 1) {
        let t = line.trim_fast();
        if t.starts_with("note: ") {
            in_msg = false;
            continue;
        }
        if t == "stack backtrace:" {
            in_msg = false;
            in_bt = true;
            continue;
        }
        if t.starts_with("thread '") && has_str(t, "panicked at ") {
            break;
        }
        if in_bt {
            if let Some(loc) = t.strip_prefix("at ") {
                let (file, l) = split_location(loc);
                if let Some(f) = frames.last_mut() {
                    f.in_app = rust_in_app(&f.function, &file);
                    f.file = file;
                    f.line = l;
                }
                set(mask, i);
            } else if let Some((n, func)) = split_str(t, ": ")
                && parse_u32(n).is_some()
            {
                let func = split_str(func, " - ").filter(|(a, _)| a.starts_with("0x")).map_or(func, |(_, f)| f).trim_fast();
                if frames.len() < MAX_FRAMES {
                    frames.push(Frame { function: func.to_string(), file: String::new(), line: None, in_app: rust_in_app(func, "") });
                }
                set(mask, i);
            }
        } else if in_msg {
            msg_lines.push(line);
        }
    }
    if msg.is_empty() {
        msg = msg_lines.join("\n").trim_fast().to_string();
    }
    let site_frame = Frame { function: String::new(), in_app: rust_in_app("", &site_file), file: site_file, line: site_line };
    // The panic site is where it happened; name its function from the
    // backtrace frame that points at the same place.
    let site_tail = site_frame.file.trim_start_matches("./");
    let matching = frames.iter().find(|f| f.in_app && f.line == site_frame.line && !f.file.is_empty() && f.file.ends_with(site_tail));
    let top = match matching {
        Some(f) => Some(f.clone()),
        None if site_frame.in_app && !site_frame.file.is_empty() => {
            let function = frames.iter().find(|f| f.in_app).map(|f| f.function.clone()).unwrap_or_default();
            Some(Frame { function, ..site_frame.clone() })
        }
        None => frames.iter().find(|f| f.in_app).cloned().or_else(|| Some(site_frame.clone())),
    };
    if frames.is_empty() && !site_frame.file.is_empty() {
        frames.push(site_frame);
    }
    let block = Block { typ: "panic".to_string(), msg, frames };
    Some(finish_with(Language::Rust, vec![block], top))
}

// ---------------------------------------------------------------- Ruby

fn ruby_in_app(file: &str) -> bool {
    !(has_str(file, "/gems/")
        || has_str(file, "/ruby/")
        || file.starts_with("<internal:")
        || has_str(file, "/rubygems")
        || has_str(file, "vendor/bundle"))
}

/// `path.rb:6:in 'Calc#divide'` (3.4) or `` path.rb:6:in `divide' ``; the
/// text after the frame is returned too.
fn ruby_frame(t: &str) -> Option<(Frame, &str)> {
    let (loc, rest) = split_str(t, ":in ")?;
    let (file, line) = rsplit_byte(loc, b':')?;
    let line = parse_u32(line)?;
    if file.is_empty() || file.contains(' ') {
        return None;
    }
    let rest = rest.strip_prefix(['`', '\''])?;
    let close = rest.find('\'')?;
    let function = rest.get(..close)?;
    let after = rest.get(close + 1..).unwrap_or_default();
    Some((Frame { function: function.to_string(), file: file.to_string(), line: Some(line), in_app: ruby_in_app(file) }, after))
}

fn ruby_type(typ: &str) -> bool {
    typ.as_bytes().first().is_some_and(u8::is_ascii_uppercase) && typ.bytes().all(|c| c.is_ascii_alphanumeric() || c == b':' || c == b'_')
}

/// A header naming the type: plain Ruby `file:N:in 'm': msg (Type)` or
/// Rails `Type (msg):`.
fn ruby_header(t: &str) -> Option<(String, String)> {
    if let Some((_, after)) = ruby_frame(t)
        && let Some(rest) = after.strip_prefix(": ")
        && let Some((msg, typ)) = rest.strip_suffix(')').and_then(|r| rsplit_str(r, " ("))
    {
        return Some((typ.to_string(), msg.to_string()));
    }
    if let Some(inner) = t.strip_suffix("):")
        && let Some((typ, msg)) = split_str(inner, " (")
        && ruby_type(typ)
    {
        return Some((typ.to_string(), msg.to_string()));
    }
    None
}

/// Rails-style tags before a message: `[req-id] [user] text` → `text`.
fn strip_tags(t: &str) -> &str {
    let mut t = t;
    for _ in 0..4 {
        match t.strip_prefix('[').and_then(|r| split_byte(r, b']')) {
            Some((_, rest)) => t = rest.trim_start_fast(),
            None => break,
        }
    }
    t
}

fn ruby(lines: &[&str], mask: &mut [bool]) -> Option<ExceptionInfo> {
    let mut block = Block::default();
    for (i, line) in lines.iter().enumerate() {
        let t = strip_tags(line.trim_fast());
        if block.typ.is_empty()
            && let Some((typ, msg)) = ruby_header(t)
        {
            block.typ = typ;
            block.msg = msg;
            if let Some((f, _)) = ruby_frame(t) {
                block.frames.push(f);
            }
            continue;
        }
        if let Some((f, _)) = ruby_frame(t.strip_prefix("from ").unwrap_or(t)) {
            if block.frames.len() < MAX_FRAMES {
                block.frames.push(f);
            }
            set(mask, i);
        } else if block.typ.is_empty()
            && let Some((msg, typ)) = t.strip_suffix(')').and_then(|r| rsplit_str(r, " ("))
            && ruby_type(typ)
        {
            // Ruby's Logger: `message (Type)`, then the backtrace.
            block.typ = typ.to_string();
            block.msg = msg.to_string();
        }
    }
    if block.frames.is_empty() && block.typ.is_empty() {
        return None;
    }
    Some(finish(Language::Ruby, vec![block]))
}

// ---------------------------------------------------------------- PHP

/// `#N /path/x.php(20): Class->method()`, `#N {main}`, `#N [internal function]: f()`.
fn php_frame(t: &str) -> Option<(Option<String>, Option<u32>, String)> {
    let rest = t.strip_prefix('#')?;
    let (n, rest) = split_byte(rest, b' ')?;
    parse_u32(n)?;
    if rest == "{main}" {
        return Some((None, None, "{main}".to_string()));
    }
    let (loc, func) = split_str(rest, ": ")?;
    let func = find_byte(func, b'(').and_then(|p| func.get(..p)).unwrap_or(func).to_string();
    if loc == "[internal function]" {
        return Some((None, None, func));
    }
    let open = rfind_byte(loc, b'(')?;
    let line = parse_u32(loc.get(open + 1..loc.len().saturating_sub(1))?)?;
    Some((Some(loc.get(..open)?.to_string()), Some(line), func))
}

/// A PHP exception or error header: (type, message, file, line).
fn php_header(t: &str) -> Option<(String, String, String, Option<u32>)> {
    let t = t.trim_fast().trim_end_matches('"');
    if let Some(p) = find_str(t, "Uncaught ") {
        return Some(php_exception(t.get(p + "Uncaught ".len()..)?));
    }
    if let Some(rest) = t.strip_prefix("Next ") {
        return Some(php_exception(rest));
    }
    for kind in ["Fatal error", "Warning", "Notice", "Parse error", "Deprecated"] {
        let marker = format!("{kind}: ");
        if let Some(p) = t.find(&marker) {
            let rest = t.get(p + marker.len()..)?.trim_fast();
            let (msg, file, line) = match rsplit_str(rest, " on line ") {
                Some((a, n)) => match rsplit_str(a, " in ") {
                    Some((m, f)) => (m.to_string(), f.to_string(), parse_u32(n)),
                    None => (a.to_string(), String::new(), parse_u32(n)),
                },
                None => (rest.to_string(), String::new(), None),
            };
            return Some((kind.to_string(), msg, file, line));
        }
    }
    None
}

/// After `Uncaught ` / `Next `: `Type: msg in /path:12` (PHP 7+) or
/// `exception 'Type' with message 'msg' in /path:12` (PHP 5).
fn php_exception(rest: &str) -> (String, String, String, Option<u32>) {
    let (body, file, line) = match rsplit_str(rest, " in ") {
        Some((b, loc)) => {
            let (f, l) = split_location(loc);
            if l.is_some() { (b, f, l) } else { (rest, String::new(), None) }
        }
        None => (rest, String::new(), None),
    };
    if let Some(r) = body.strip_prefix("exception '")
        && let Some((typ, r)) = r.split_once('\'')
    {
        let msg = r.trim_fast().strip_prefix("with message '").and_then(|m| m.strip_suffix('\'')).unwrap_or(r).to_string();
        return (typ.to_string(), msg, file, line);
    }
    match split_str(body, ": ") {
        Some((typ, msg)) if !typ.contains(' ') => (typ.to_string(), msg.to_string(), file, line),
        _ => (String::new(), body.to_string(), file, line),
    }
}

fn php(lines: &[&str], mask: &mut [bool]) -> Option<ExceptionInfo> {
    struct PhpBlock {
        typ: String,
        msg: String,
        site: (String, Option<u32>),
        calls: Vec<(Option<String>, Option<u32>, String)>,
    }
    let mut blocks: Vec<PhpBlock> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_fast();
        let t = t.strip_prefix("PHP ").unwrap_or(t);
        if let Some(f) = php_frame(t) {
            if let Some(b) = blocks.last_mut()
                && b.calls.len() < MAX_FRAMES
            {
                b.calls.push(f);
            }
            set(mask, i);
        } else if t.starts_with("thrown in ") || t == "Stack trace:" {
            set(mask, i);
        } else if let Some((typ, msg, file, l)) = php_header(t) {
            blocks.push(PhpBlock { typ, msg, site: (file, l), calls: Vec::new() });
        }
    }
    if blocks.is_empty() {
        return None;
    }
    // Frame k is where call k was made, inside the function of call k+1;
    // the throw site is inside the function of call 0. PHP prints the
    // previous (root) exception first and the outer ones after `Next`.
    let blocks = blocks
        .into_iter()
        .map(|b| {
            let sites = std::iter::once((Some(b.site.0.clone()), b.site.1)).chain(b.calls.iter().map(|c| (c.0.clone(), c.1)));
            let mut frames = Vec::new();
            for (k, (file, line)) in sites.enumerate() {
                let function = b.calls.get(k).map(|c| c.2.clone()).unwrap_or_default();
                if let Some(file) = file
                    && !file.is_empty()
                {
                    frames.push(Frame { in_app: !has_str(&file, "/vendor/"), function, file, line });
                }
            }
            Block { typ: b.typ, msg: b.msg, frames }
        })
        .collect();
    Some(finish(Language::Php, blocks))
}

// ---------------------------------------------------------------- Elixir

const ELIXIR_LIB: &[&str] = &[
    "elixir",
    "stdlib",
    "kernel",
    "logger",
    "cowboy",
    "ranch",
    "plug",
    "plug_cowboy",
    "phoenix",
    "phoenix_live_view",
    "bandit",
    "thousand_island",
    "ecto",
    "db_connection",
    "postgrex",
    "mix",
    "iex",
    "gen_stage",
];

fn elixir(lines: &[&str], mask: &mut [bool]) -> Option<ExceptionInfo> {
    let mut block = Block::default();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_fast();
        if block.typ.is_empty()
            && let Some(rest) = t.strip_prefix("** (")
            && let Some((typ, msg)) = split_byte(rest, b')')
        {
            block.typ = typ.to_string();
            block.msg = msg.trim_fast().to_string();
        } else if let Some(rest) = t.strip_prefix('(')
            && let Some((app, rest)) = split_str(rest, ") ")
            && let Some((loc, function)) = split_str(rest, ": ")
        {
            let app_name = app.split(' ').next().unwrap_or(app);
            let (file, l) = split_location(loc);
            if block.frames.len() < MAX_FRAMES {
                block.frames.push(Frame { function: function.to_string(), file, line: l, in_app: !ELIXIR_LIB.contains(&app_name) });
            }
            set(mask, i);
        }
    }
    if block.typ.is_empty() {
        return None;
    }
    Some(finish(Language::Elixir, vec![block]))
}

/// Substring test without building a searcher (short needles, hot path).
fn has(b: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else { return true };
    memchr::memchr_iter(first, b).any(|p| b.get(p + 1..p + 1 + rest.len()) == Some(rest))
}

/// Whether a header line's message is itself a stack-trace line: traces
/// whose every line carries its own header (syslog, Rails) are joined back
/// with it. Checks the first byte before anything else (hot path).
pub(crate) fn is_trace_line(b: &[u8]) -> bool {
    let starts = |p: &[u8]| b.starts_with(p);
    // `.rb:` looked for from its `:` (rarer in messages than `.`).
    let rb = || memchr::memchr_iter(b':', b).any(|p| p >= 3 && b.get(p - 3..p) == Some(b".rb"));
    // A Ruby frame's file (before its first `:`) has no space: most
    // messages are told apart by their first word, before any search.
    let file_first = || {
        let t = b.strip_prefix(b"from ").unwrap_or(b);
        t.iter().find(|&&c| c == b' ' || c == b':') == Some(&b':')
    };
    let ruby =
        || file_first() && rb() && std::str::from_utf8(b).ok().is_some_and(|s| ruby_frame(s.strip_prefix("from ").unwrap_or(s)).is_some());
    match b.first() {
        None => false,
        Some(b' ' | b'\t') => b.iter().any(|c| !c.is_ascii_whitespace()),
        Some(b'a') => (starts(b"at ") && (b.contains(&b'(') || b.contains(&b':'))) || ruby(),
        Some(b'C') => starts(b"Caused by: "),
        Some(b'S') => starts(b"Suppressed: ") || starts(b"Stack trace:"),
        Some(b'W') => starts(b"Wrapped by: "),
        Some(b'.') => starts(b"... ") && (b.ends_with(b" more") || b.ends_with(b"omitted")),
        Some(b'F') => starts(b"File \""),
        Some(b'T') => starts(b"Traceback (most recent call last)") || starts(b"The above exception was the direct cause"),
        Some(b'D') => starts(b"During handling of the above exception"),
        Some(b'-') => starts(b"--- End of ") || starts(b"---> "),
        Some(b'#') => b.get(1).is_some_and(u8::is_ascii_digit) && (has(b, b"): ") || b.ends_with(b"{main}")),
        Some(_) => ruby(),
    }
}
