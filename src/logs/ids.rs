//! Identifiers in free text, in one pass over the bytes that skips
//! everything but the few bytes an identifier can start at: IPv4/IPv6
//! addresses and `ip:port` pairs, UUIDs, request/trace/connection ids
//! (`request_id=...`, `"traceId":"..."`, `Connection id "..."`,
//! `Sec-WebSocket-Key: ...`), URL paths.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::time::at;
use super::{Ident, MAX_IDS, Span};

/// Whether a key (as written) names a request, trace, span, session or
/// connection id, or a handshake key: compared lower case with `_ - .` and
/// spaces removed (`request_id`, `X-Request-Id`, `traceId`, `trace.id`,
/// `Sec-WebSocket-Key` ...).
pub(crate) fn is_id_key(key: &[u8]) -> bool {
    if key.len() < 4 || key.len() > 40 {
        return false;
    }
    let mut buf = [0u8; 32];
    let mut n = 0;
    for &c in key {
        if matches!(c, b'_' | b'-' | b'.' | b' ') {
            continue;
        }
        match buf.get_mut(n) {
            Some(slot) => *slot = c.to_ascii_lowercase(),
            None => return false,
        }
        n += 1;
    }
    matches!(
        buf.get(..n).unwrap_or_default(),
        b"requestid"
            | b"reqid"
            | b"xrequestid"
            | b"traceid"
            | b"xtraceid"
            | b"ddtraceid"
            | b"xb3traceid"
            | b"xamzntraceid"
            | b"xcloudtracecontext"
            | b"traceparent"
            | b"spanid"
            | b"conn"
            | b"connid"
            | b"connectionid"
            | b"correlationid"
            | b"xcorrelationid"
            | b"sessionid"
            | b"websocketid"
            | b"wsid"
            | b"cfray"
            | b"transactionid"
            | b"secwebsocketkey"
            | b"secwebsocketaccept"
    )
}

/// Where found identifiers go. Strings are spans of the event's text:
/// either the scanned bytes are part of that text (`InText`, no copy) or
/// they are appended to it (`Copy`). Deduplicated, at most [`MAX_IDS`] of a
/// kind.
pub(crate) struct IdSink<'a> {
    ids: &'a mut Vec<Ident>,
    target: Target<'a>,
}

enum Target<'a> {
    /// The scanned bytes are `text[base..]`.
    InText {
        text: &'a str,
        base: usize,
    },
    Copy(&'a mut String),
}

impl<'a> IdSink<'a> {
    pub(crate) fn in_text(ids: &'a mut Vec<Ident>, text: &'a str, base: usize) -> Self {
        IdSink { ids, target: Target::InText { text, base } }
    }

    pub(crate) fn copying(ids: &'a mut Vec<Ident>, text: &'a mut String) -> Self {
        IdSink { ids, target: Target::Copy(text) }
    }

    fn text(&self) -> &str {
        match &self.target {
            Target::InText { text, .. } => text,
            Target::Copy(t) => t,
        }
    }

    /// The span of `b[s..e]` (copied into the text if it is not part of it).
    fn span(&mut self, b: &[u8], s: usize, e: usize) -> Span {
        match &mut self.target {
            Target::InText { base, .. } => Span::new(*base + s, *base + e),
            Target::Copy(t) => {
                let start = t.len();
                t.push_str(&String::from_utf8_lossy(b.get(s..e).unwrap_or_default()));
                Span::new(start, t.len())
            }
        }
    }

    fn count(&self, f: impl Fn(&Ident) -> bool) -> usize {
        self.ids.iter().filter(|i| f(i)).count()
    }

    fn push_plain(&mut self, id: Ident, same_kind: impl Fn(&Ident) -> bool) {
        if !self.ids.contains(&id) && self.count(same_kind) < MAX_IDS {
            self.ids.push(id);
        }
    }

    pub(crate) fn ip(&mut self, ip: IpAddr) {
        self.push_plain(Ident::Ip(ip), |i| matches!(i, Ident::Ip(_)));
    }

    pub(crate) fn ip_port(&mut self, sa: SocketAddr) {
        self.push_plain(Ident::IpPort(sa), |i| matches!(i, Ident::IpPort(_)));
    }

    fn uuid(&mut self, u: u128) {
        self.push_plain(Ident::Uuid(u), |i| matches!(i, Ident::Uuid(_)));
    }

    fn path(&mut self, b: &[u8], s: usize, e: usize) {
        let p = b.get(s..e).unwrap_or_default();
        let text = self.text();
        if self.ids.iter().any(|i| matches!(i, Ident::Path(x) if x.of(text).as_bytes() == p))
            || self.count(|i| matches!(i, Ident::Path(_))) >= MAX_IDS
        {
            return;
        }
        let span = self.span(b, s, e);
        self.ids.push(Ident::Path(span));
    }

    fn valid_value(value: &[u8]) -> bool {
        !(value.is_empty()
            || value.len() > 200
            || value == b"-"
            || value.eq_ignore_ascii_case(b"null")
            || value.eq_ignore_ascii_case(b"none"))
    }

    fn id(&mut self, b: &[u8], key: (usize, usize), value: (usize, usize)) {
        let (k, v) = (b.get(key.0..key.1).unwrap_or_default(), b.get(value.0..value.1).unwrap_or_default());
        if !Self::valid_value(v) {
            return;
        }
        let text = self.text();
        let dup = self
            .ids
            .iter()
            .any(|i| matches!(i, Ident::Id { key: a, value: c } if a.of(text).as_bytes() == k && c.of(text).as_bytes() == v));
        if dup || self.count(|i| matches!(i, Ident::Id { .. })) >= MAX_IDS {
            return;
        }
        let key = self.span(b, key.0, key.1);
        let value = self.span(b, value.0, value.1);
        self.ids.push(Ident::Id { key, value });
    }

    /// An id from a structured field (copying sinks only).
    pub(crate) fn id_owned(&mut self, key: &str, value: &str) {
        let value = value.trim();
        if let Target::Copy(_) = self.target {
            let joined = format!("{key}{value}");
            let b = joined.as_bytes();
            self.id(b, (0, key.len()), (key.len(), b.len()));
        }
    }
}

#[inline]
fn is_alnum(c: u8) -> bool {
    c.is_ascii_alphanumeric()
}

#[inline]
fn digits_at(b: &[u8], i: usize, max: usize) -> usize {
    let mut n = 0;
    while n <= max && at(b, i + n).is_ascii_digit() {
        n += 1;
    }
    n
}

/// Dotted quad at `i`: the address and the index after it.
fn ipv4_at(b: &[u8], i: usize) -> Option<(Ipv4Addr, usize)> {
    let mut octets = [0u8; 4];
    let mut j = i;
    for (k, o) in octets.iter_mut().enumerate() {
        let n = digits_at(b, j, 3);
        if n == 0 || n > 3 {
            return None;
        }
        let mut v = 0u32;
        for x in 0..n {
            v = v * 10 + u32::from(at(b, j + x) - b'0');
        }
        *o = u8::try_from(v).ok()?;
        j += n;
        if k < 3 {
            if at(b, j) != b'.' {
                return None;
            }
            j += 1;
        }
    }
    // Not part of a longer dotted number (a version, an OID).
    if (at(b, j) == b'.' && at(b, j + 1).is_ascii_digit()) || is_alnum(at(b, j)) {
        return None;
    }
    Some((Ipv4Addr::from(octets), j))
}

/// `:port` at `j`: the port and the index after it.
fn port_at(b: &[u8], j: usize) -> Option<(u16, usize)> {
    if at(b, j) != b':' {
        return None;
    }
    let n = digits_at(b, j + 1, 5);
    if n == 0 || n > 5 || is_alnum(at(b, j + 1 + n)) {
        return None;
    }
    let mut v = 0u32;
    for x in 0..n {
        v = v * 10 + u32::from(at(b, j + 1 + x) - b'0');
    }
    Some((u16::try_from(v).ok()?, j + 1 + n))
}

fn is_hex(c: u8) -> bool {
    c.is_ascii_hexdigit()
}

/// UUID 8-4-4-4-12 at `i`, as a number.
fn uuid_at(b: &[u8], i: usize) -> Option<u128> {
    let groups = [8, 4, 4, 4, 12];
    let mut j = i;
    for (k, n) in groups.iter().enumerate() {
        for x in 0..*n {
            if !is_hex(at(b, j + x)) {
                return None;
            }
        }
        j += n;
        if k < 4 {
            if at(b, j) != b'-' {
                return None;
            }
            j += 1;
        }
    }
    if is_alnum(at(b, j)) || at(b, j) == b'-' {
        return None;
    }
    let mut v: u128 = 0;
    for &c in b.get(i..j)? {
        if let Some(d) = char::from(c).to_digit(16) {
            v = (v << 4) | u128::from(d);
        }
    }
    Some(v)
}

/// IPv6 in brackets at `i` (`[::1]`, `[fe80::1]:8080`).
fn ipv6_bracket_at(b: &[u8], i: usize) -> Option<(Ipv6Addr, Option<u16>, usize)> {
    let close = memchr::memchr(b']', b.get(i + 1..(i + 48).min(b.len()))?)? + i + 1;
    let inner = std::str::from_utf8(b.get(i + 1..close)?).ok()?;
    let ip: Ipv6Addr = inner.parse().ok()?;
    let port = port_at(b, close + 1);
    Some((ip, port.map(|(p, _)| p), port.map_or(close + 1, |(_, e)| e)))
}

/// Bare IPv6 at `i` (needs `::` or 7 colons, so `10:00:54` is not one).
fn ipv6_bare_at(b: &[u8], i: usize) -> Option<(Ipv6Addr, usize)> {
    let mut j = i;
    let mut colons = 0;
    while j < b.len() && j - i < 46 && (is_hex(at(b, j)) || at(b, j) == b':' || at(b, j) == b'.') {
        if at(b, j) == b':' {
            colons += 1;
        }
        j += 1;
    }
    // A trailing `.` or single `:` (a `key:`) belongs to the text.
    while j > i && (at(b, j - 1) == b'.' || (at(b, j - 1) == b':' && at(b, j.saturating_sub(2)) != b':')) {
        j -= 1;
    }
    let s = std::str::from_utf8(b.get(i..j)?).ok()?;
    if !(s.contains("::") || colons >= 7) || is_alnum(at(b, j)) || !s.bytes().any(|c| c.is_ascii_digit()) {
        return None;
    }
    let ip: Ipv6Addr = s.parse().ok()?;
    Some((ip, j))
}

/// Extensions of files, not URL endpoints.
const FILE_EXTS: &[&str] = &[
    ".py", ".pyc", ".js", ".mjs", ".cjs", ".ts", ".java", ".class", ".jar", ".kt", ".scala", ".go", ".rs", ".rb", ".php", ".cs", ".dll",
    ".so", ".ex", ".exs", ".erl", ".beam", ".toml", ".yaml", ".yml", ".conf", ".cfg", ".ini", ".log", ".db", ".sqlite", ".sock", ".pid",
    ".gz", ".json", ".lock", ".c", ".h", ".cpp", ".pem", ".key", ".crt",
];

/// Roots of file-system paths, not URL paths.
const FS_ROOTS: &[&str] = &[
    "/usr/",
    "/etc/",
    "/var/",
    "/home/",
    "/opt/",
    "/proc/",
    "/sys/",
    "/dev/",
    "/tmp/",
    "/lib/",
    "/lib64/",
    "/bin/",
    "/sbin/",
    "/srv/",
    "/root/",
    "/nix/",
    "/snap/",
    "/run/",
    "/mnt/",
    "/work/",
    "/Users/",
    "/private/",
    "/rustc/",
    "/build/",
    "/go/",
    "/src/",
    "/workspace/",
];

fn is_path_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, b'/' | b'-' | b'_' | b'.' | b'~' | b'%' | b'?' | b'&' | b'=' | b'+' | b'@' | b'!' | b'$' | b'*' | b';' | b':' | b'#')
}

/// A URL path at `i` (a `/` after a boundary): its length (0 for file
/// paths and other non-paths) and the index after it.
fn path_at(b: &[u8], i: usize) -> (usize, usize) {
    let mut j = i + 1;
    while j < b.len() && j - i < 512 && is_path_byte(at(b, j)) {
        j += 1;
    }
    let end = j;
    // Trailing punctuation belongs to the sentence.
    while j > i + 1 && matches!(at(b, j - 1), b'.' | b',' | b';' | b':' | b'!' | b'?') {
        j -= 1;
    }
    let Some(s) = b.get(i..j).and_then(|s| std::str::from_utf8(s).ok()) else { return (0, end) };
    let first = at(b, i + 1);
    if s.len() < 2 || !(first.is_ascii_alphanumeric() || matches!(first, b'_' | b'-' | b'~' | b'.' | b'?')) || s.starts_with("//") {
        return (0, end);
    }
    let path_only = s.split(['?', '#']).next().unwrap_or(s);
    // `file:line(:col)` is a source location.
    let located = path_only.rsplit_once(':').is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()));
    let last_segment = path_only.rsplit('/').next().unwrap_or_default();
    let file_like = last_segment.contains('.')
        && FILE_EXTS.iter().any(|e| {
            last_segment.len() >= e.len() && last_segment.get(last_segment.len() - e.len()..).is_some_and(|t| t.eq_ignore_ascii_case(e))
        });
    let fs_like = path_only.len() > 4 && path_only.bytes().skip(1).any(|c| c == b'/') && FS_ROOTS.iter().any(|r| path_only.starts_with(r));
    if located || file_like || fs_like {
        return (0, end);
    }
    (s.len(), end)
}

/// The value after a key: skips `=`, `:`, quotes, spaces; returns (start, end).
fn value_after(b: &[u8], mut j: usize) -> Option<(usize, usize)> {
    let mut seps = 0;
    while seps < 4 && matches!(at(b, j), b'=' | b':' | b'"' | b'\'' | b' ' | b'[') {
        j += 1;
        seps += 1;
    }
    let s = j;
    while j < b.len()
        && j - s < 200
        && (at(b, j).is_ascii_alphanumeric() || matches!(at(b, j), b'-' | b'_' | b'.' | b':' | b'/' | b'+' | b'='))
    {
        j += 1;
    }
    // A value never ends with a separator.
    while j > s && matches!(at(b, j - 1), b'.' | b':' | b',') {
        j -= 1;
    }
    if j == s { None } else { Some((s, j)) }
}

/// The key token that ends right before `i` (a `=`, `:`, or a closing quote
/// before it).
fn key_before(b: &[u8], i: usize) -> Option<(usize, usize)> {
    let mut e = i;
    if e > 0 && at(b, e - 1) == b'"' {
        e -= 1;
    }
    let mut s = e;
    while s > 0 && e - s < 40 && (at(b, s - 1).is_ascii_alphanumeric() || matches!(at(b, s - 1), b'_' | b'-' | b'.')) {
        s -= 1;
    }
    if s == e { None } else { Some((s, e)) }
}

/// Punctuation that can start an identifier or end a key.
#[inline]
fn is_punct(c: u8) -> bool {
    matches!(c, b':' | b'=' | b'/' | b'[')
}

/// End of the run of ASCII letters and digits starting at `i`.
#[inline]
fn word_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_alnum(at(b, i)) {
        i += 1;
    }
    i
}

/// Scans `b` and adds what it finds to `ids`. Words are skipped whole
/// unless one can start an identifier (a hex digit at a word start).
pub(crate) fn scan(b: &[u8], ids: &mut IdSink<'_>) {
    let mut i = 0;
    while i < b.len() {
        let c = at(b, i);
        let prev = if i == 0 { b' ' } else { at(b, i - 1) };
        if is_alnum(c) {
            let boundary = !(matches!(prev, b'.' | b'_' | b'-' | b':') || is_alnum(prev));
            if boundary && is_hex(c) {
                if at(b, i + 8) == b'-'
                    && let Some(u) = uuid_at(b, i)
                {
                    ids.uuid(u);
                    i += 36;
                    continue;
                }
                if c.is_ascii_digit()
                    && let Some((ip, j)) = ipv4_at(b, i)
                {
                    match port_at(b, j) {
                        Some((port, e)) => {
                            ids.ip_port(SocketAddr::new(IpAddr::V4(ip), port));
                            i = e;
                        }
                        None => {
                            ids.ip(IpAddr::V4(ip));
                            i = j;
                        }
                    }
                    continue;
                }
                if (at(b, i + 1) == b':' || at(b, i + 2) == b':' || at(b, i + 3) == b':' || at(b, i + 4) == b':')
                    && let Some((ip, j)) = ipv6_bare_at(b, i)
                {
                    ids.ip(IpAddr::V6(ip));
                    i = j;
                    continue;
                }
            }
            let end = word_end(b, i);
            // Two-word keys: `Connection id "0HM..."`, `Request id "..."`.
            if prev == b' ' && end == i + 2 && at(b, end) == b' ' && b.get(i..end).is_some_and(|w| w.eq_ignore_ascii_case(b"id")) {
                two_word_key(b, i - 1, ids);
            }
            i = end;
            continue;
        }
        if !is_punct(c) {
            i += 1;
            continue;
        }
        let boundary = !(is_alnum(prev) || matches!(prev, b'.' | b'_' | b'-' | b':'));
        match c {
            b':' if at(b, i + 1) == b':' && boundary && is_hex(at(b, i + 2)) => {
                if let Some((ip, j)) = ipv6_bare_at(b, i) {
                    ids.ip(IpAddr::V6(ip));
                    i = j;
                    continue;
                }
            }
            b'[' if at(b, i + 1) == b':' || is_hex(at(b, i + 1)) => {
                if let Some((ip, port, j)) = ipv6_bracket_at(b, i) {
                    match port {
                        Some(p) => ids.ip_port(SocketAddr::new(IpAddr::V6(ip), p)),
                        None => ids.ip(IpAddr::V6(ip)),
                    }
                    i = j;
                    continue;
                }
            }
            b'/' if i == 0 || matches!(prev, b' ' | b'=' | b'"' | b'\'' | b'(' | b'[' | b'\t' | b'<') => {
                let (len, j) = path_at(b, i);
                if len > 0 {
                    ids.path(b, i, i + len);
                }
                i = j.max(i + 1);
                continue;
            }
            b'/' if prev == b'/' && i >= 2 && at(b, i - 2) == b':' => {
                // A URL: skip the host, keep the path.
                let mut j = i + 1;
                while j < b.len() && !matches!(at(b, j), b'/' | b' ' | b'"' | b'\'' | b')' | b'>' | b',') {
                    j += 1;
                }
                if at(b, j) == b'/' {
                    let (len, e) = path_at(b, j);
                    if len > 0 {
                        ids.path(b, j, j + len);
                    }
                    i = e;
                } else {
                    i = j;
                }
                continue;
            }
            b'=' | b':' => {
                if let Some((ks, ke)) = key_before(b, i)
                    && is_id_key(b.get(ks..ke).unwrap_or_default())
                    && let Some((vs, ve)) = value_after(b, i)
                {
                    ids.id(b, (ks, ke), (vs, ve));
                    i = ve;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
}

/// `Connection id "0HM..."`: `space` is the index of the space before `id`.
fn two_word_key(b: &[u8], space: usize, ids: &mut IdSink<'_>) {
    let Some((ks, ke)) = key_before(b, space) else { return };
    let word = b.get(ks..ke).unwrap_or_default();
    let known =
        [&b"connection"[..], b"request", b"trace", b"span", b"session", b"correlation"].iter().any(|w| word.eq_ignore_ascii_case(w));
    if known && let Some((vs, ve)) = value_after(b, space + 4) {
        ids.id(b, (ks, space + 3), (vs, ve));
    }
}
