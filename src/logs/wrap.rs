//! Container wrappers around each physical line: Docker json-file
//! (`{"log":"...\n","stream":"stderr","time":"..."}`) and Kubernetes CRI
//! (`2026-11-24T10:00:01.123456789Z stdout F text`), and rsyslog's `#012`
//! escapes.

use std::borrow::Cow;

use super::Stream;
use super::time::{self, Written};

/// One unwrapped physical line.
#[derive(Debug)]
pub(crate) struct Unwrapped<'a> {
    pub text: Cow<'a, [u8]>,
    pub stream: Option<Stream>,
    pub time: Option<Written>,
    /// A partial line: the next piece of the same stream continues it.
    pub partial: bool,
}

fn stream_of(s: &[u8]) -> Option<Stream> {
    match s {
        b"stdout" => Some(Stream::Stdout),
        b"stderr" => Some(Stream::Stderr),
        _ => None,
    }
}

/// A CRI line: `TIMESTAMP STREAM TAG CONTENT`; the tag is `F` (full) or
/// `P` (partial), possibly followed by more `:`-separated tags.
pub(crate) fn cri(line: &[u8]) -> Option<Unwrapped<'_>> {
    let (w, j) = time::iso(line, 0)?;
    if time::at(line, j) != b' ' {
        return None;
    }
    let rest = line.get(j + 1..)?;
    let sp = memchr::memchr(b' ', rest)?;
    let stream = stream_of(rest.get(..sp)?)?;
    let rest = rest.get(sp + 1..)?;
    let tag_end = memchr::memchr(b' ', rest).unwrap_or(rest.len());
    let tag = rest.get(..tag_end)?;
    let partial = match tag.split(|&c| c == b':').next() {
        Some(b"P") => true,
        Some(b"F") => false,
        _ => return None,
    };
    let text = rest.get(tag_end + 1..).unwrap_or_default();
    Some(Unwrapped { text: Cow::Borrowed(text), stream: Some(stream), time: Some(w), partial })
}

/// A Docker json-file line. The `log` value ends with `\n` unless the line
/// was split (Docker splits lines longer than 16 KiB).
pub(crate) fn docker(line: &[u8]) -> Option<Unwrapped<'static>> {
    if time::at(line, 0) != b'{' {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(line).ok()?;
    let log = v.get("log")?.as_str()?;
    let stream = v.get("stream").and_then(|s| s.as_str()).and_then(|s| stream_of(s.as_bytes()));
    let time = v.get("time").and_then(|t| t.as_str()).and_then(time::any_text);
    let (text, partial) = match log.strip_suffix('\n') {
        Some(t) => (t.strip_suffix('\r').unwrap_or(t), false),
        None => (log, true),
    };
    Some(Unwrapped { text: Cow::Owned(text.as_bytes().to_vec()), stream, time, partial })
}

/// Stream and partial flag of a wrapped line (for cutting blocks).
pub(crate) fn partial_info(line: &[u8], wrapper: super::Wrapper) -> Option<(Option<Stream>, bool)> {
    let u = match wrapper {
        super::Wrapper::Cri => cri(line)?,
        super::Wrapper::Docker => docker(line)?,
    };
    Some((u.stream, u.partial))
}

/// rsyslog's control-character escapes (`#012` newline, `#011` tab,
/// `#015` CR): a trace sent as one syslog message comes back multi-line.
pub(crate) fn unescape_syslog(b: &[u8]) -> Option<Vec<u8>> {
    memchr::memchr_iter(b'#', b).find(|&p| b.get(p + 1..p + 3) == Some(b"01"))?;
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b.get(i..i + 4) {
            Some(b"#012") => {
                out.push(b'\n');
                i += 4;
            }
            Some(b"#011") => {
                out.push(b'\t');
                i += 4;
            }
            Some(b"#015") => i += 4,
            _ => {
                out.push(time::at(b, i));
                i += 1;
            }
        }
    }
    Some(out)
}
