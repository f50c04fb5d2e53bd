//! Identifiers in free text, in one pass over the bytes that skips
//! everything but the few bytes an identifier can start at: IPv4/IPv6
//! addresses and `ip:port` pairs, UUIDs, request/trace/connection ids
//! (`request_id=...`, `"traceId":"..."`, `Connection id "..."`,
//! `Sec-WebSocket-Key: ...`), URL paths.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::time::at;
use super::{Ident, MAX_IDS, Span};

/// Byte classes of the scanner: one table lookup answers what a chain of
/// range tests would (the scan looks at every byte of every message).
const ALNUM: u8 = 1;
const HEX: u8 = 2;
const DIGIT: u8 = 4;
/// `:` `=` `/` `[`: punctuation that can start an identifier or end a key.
const PUNCT: u8 = 8;
/// An alphanumeric byte right after one of these is inside a token, not at a
/// word boundary: letters, digits, `.` `_` `-` `:`.
const JOINS: u8 = 16;
/// Bytes of a URL path ([`path_at`]).
const PATH: u8 = 32;
/// Bytes of an id value ([`value_after`]): letters, digits, `-_.:/+=`.
const VALUE: u8 = 64;
/// Bytes of a key ([`key_before`]): letters, digits, `_-.`.
const KEY: u8 = 128;

#[allow(clippy::indexing_slicing)] // `c` runs over 0..256, the table's length.
const fn byte_classes() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        let mut k = 0;
        if b.is_ascii_alphanumeric() {
            k |= ALNUM | JOINS;
        }
        if b.is_ascii_hexdigit() {
            k |= HEX;
        }
        if b.is_ascii_digit() {
            k |= DIGIT;
        }
        if matches!(b, b':' | b'=' | b'/' | b'[') {
            k |= PUNCT;
        }
        if matches!(b, b'.' | b'_' | b'-' | b':') {
            k |= JOINS;
        }
        if b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'/' | b'-' | b'_' | b'.' | b'~' | b'%' | b'?' | b'&' | b'=' | b'+' | b'@' | b'!' | b'$' | b'*' | b';' | b':' | b'#'
            )
        {
            k |= PATH;
        }
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/' | b'+' | b'=') {
            k |= VALUE;
        }
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.') {
            k |= KEY;
        }
        table[c] = k;
        c += 1;
    }
    table
}

static CLASS: [u8; 256] = byte_classes();

#[inline]
fn class(c: u8) -> u8 {
    CLASS.get(usize::from(c)).copied().unwrap_or(0)
}

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

    /// Whether an id of a kind has room: none of that kind is `same` and
    /// there are fewer than [`MAX_IDS`] of it (one pass over the ids).
    fn room(&self, kind: impl Fn(&Ident) -> bool, same: impl Fn(&Ident) -> bool) -> bool {
        let mut n = 0;
        for i in self.ids.iter() {
            if kind(i) {
                if same(i) {
                    return false;
                }
                n += 1;
            }
        }
        n < MAX_IDS
    }

    fn push_plain(&mut self, id: Ident, same_kind: impl Fn(&Ident) -> bool) {
        if self.room(same_kind, |i| *i == id) {
            self.ids.push(id);
        }
    }

    pub(crate) fn ip(&mut self, ip: IpAddr) {
        self.push_plain(Ident::Ip(ip), |i| matches!(i, Ident::Ip(_)));
    }

    pub(crate) fn ip_port(&mut self, sa: SocketAddr) {
        self.push_plain(Ident::ip_port(sa), |i| matches!(i, Ident::IpPort(..)));
    }

    fn uuid(&mut self, u: u128) {
        self.push_plain(Ident::uuid(u), |i| matches!(i, Ident::Uuid(_)));
    }

    fn path(&mut self, b: &[u8], s: usize, e: usize) {
        let p = b.get(s..e).unwrap_or_default();
        let text = self.text();
        if !self.room(|i| matches!(i, Ident::Path(_)), |i| matches!(i, Ident::Path(x) if x.of(text).as_bytes() == p)) {
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
        let same = |i: &Ident| matches!(i, Ident::Id { key: a, value: c } if a.of(text).as_bytes() == k && c.of(text).as_bytes() == v);
        if !self.room(|i| matches!(i, Ident::Id { .. }), same) {
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
    class(c) & ALNUM != 0
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

#[inline]
fn is_hex(c: u8) -> bool {
    class(c) & HEX != 0
}

/// The value of each hex digit; 0xff for any other byte.
static HEX_VALUE: [u8; 256] = hex_values();

#[allow(clippy::indexing_slicing)] // `c` runs over 0..256, the table's length.
const fn hex_values() -> [u8; 256] {
    let mut table = [0xffu8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        table[c] = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => 0xff,
        };
        c += 1;
    }
    table
}

/// UUID 8-4-4-4-12 at `i`, as a number (read from one array: no bounds
/// check per byte, the 32 digits folded into two words).
fn uuid_at(b: &[u8], i: usize) -> Option<u128> {
    let u: &[u8; 36] = b.get(i..i + 36)?.try_into().ok()?;
    if at(u, 8) != b'-' || at(u, 13) != b'-' || at(u, 18) != b'-' || at(u, 23) != b'-' {
        return None;
    }
    let after = at(b, i + 36);
    if is_alnum(after) || after == b'-' {
        return None;
    }
    // The groups' digits, each group from its fixed place.
    let group = |s: Option<&[u8]>| -> Option<u64> {
        s?.iter().try_fold(0u64, |v, &c| {
            let d = HEX_VALUE.get(usize::from(c)).copied().unwrap_or(0xff);
            (d != 0xff).then_some((v << 4) | u64::from(d))
        })
    };
    let hi = (group(u.get(0..8))? << 32) | (group(u.get(9..13))? << 16) | group(u.get(14..18))?;
    let lo = (group(u.get(19..23))? << 48) | group(u.get(24..36))?;
    Some((u128::from(hi) << 64) | u128::from(lo))
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

/// Roots of file-system paths, not URL paths: the first segment of
/// `/usr/...`, `/etc/...`.
fn fs_root(segment: &[u8]) -> bool {
    matches!(
        segment,
        b"usr"
            | b"etc"
            | b"var"
            | b"home"
            | b"opt"
            | b"proc"
            | b"sys"
            | b"dev"
            | b"tmp"
            | b"lib"
            | b"lib64"
            | b"bin"
            | b"sbin"
            | b"srv"
            | b"root"
            | b"nix"
            | b"snap"
            | b"run"
            | b"mnt"
            | b"work"
            | b"Users"
            | b"private"
            | b"rustc"
            | b"build"
            | b"go"
            | b"src"
            | b"workspace"
    )
}

#[inline]
fn is_path_byte(c: u8) -> bool {
    class(c) & PATH != 0
}

/// A URL path at `i` (a `/` after a boundary): its length (0 for file
/// paths and other non-paths) and the index after it. Works on bytes: a
/// path is ASCII by [`is_path_byte`].
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
    let s = b.get(i..j).unwrap_or_default();
    let first = at(b, i + 1);
    if s.len() < 2 || !(first.is_ascii_alphanumeric() || matches!(first, b'_' | b'-' | b'~' | b'.' | b'?')) || s.starts_with(b"//") {
        return (0, end);
    }
    // One pass over the path up to its query or fragment: its last `:`, the
    // last `.` after its last `/`, its second `/`.
    let mut len = s.len();
    let (mut colon, mut dot, mut second) = (None, None, None);
    for (k, &c) in s.iter().enumerate().skip(1) {
        match c {
            b'?' | b'#' => {
                len = k;
                break;
            }
            b':' => colon = Some(k),
            b'/' => {
                dot = None;
                second = second.or(Some(k));
            }
            b'.' => dot = Some(k),
            _ => {}
        }
    }
    let path_only = s.get(..len).unwrap_or(s);
    // `file:line(:col)` is a source location.
    let located = colon.and_then(|p| path_only.get(p + 1..)).is_some_and(|n| !n.is_empty() && n.iter().all(u8::is_ascii_digit));
    // An extension has no dot of its own: `.py` ends the last segment
    // exactly when it is what follows the segment's last dot.
    let file_like =
        dot.and_then(|p| path_only.get(p..)).is_some_and(|ext| FILE_EXTS.iter().any(|e| ext.eq_ignore_ascii_case(e.as_bytes())));
    let fs_like = len > 4 && second.and_then(|p| path_only.get(1..p)).is_some_and(fs_root);
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
    let window = b.get(s..b.len().min(s + 200)).unwrap_or_default();
    j = s + window.iter().position(|&c| class(c) & VALUE == 0).unwrap_or(window.len());
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
    // At most 40 bytes of key characters.
    let lo = e.saturating_sub(40);
    let window = b.get(lo..e).unwrap_or_default();
    let s = lo + window.iter().rposition(|&c| class(c) & KEY == 0).map_or(0, |p| p + 1);
    if s == e { None } else { Some((s, e)) }
}

/// Whether the key that would end right before the `=` or `:` at `i` can
/// be an id key: [`key_before`] then [`is_id_key`] say no unless the last
/// four letters of the key as [`is_id_key`] compares it (lower case, `_ - .`
/// dropped) end a known name. Most `key=value` pairs stop here.
#[inline]
fn may_end_id_key(b: &[u8], i: usize) -> bool {
    let e = if i > 0 && at(b, i - 1) == b'"' { i - 1 } else { i };
    // Most keys are rejected by their last two bytes (when both are letters
    // or digits): `id`, `nn`, `xt`, `nt`, `ay`, `ey` and `pt` end the names.
    let (last, prev) = (at(b, e.wrapping_sub(1)), at(b, e.wrapping_sub(2)));
    if class(last) & KEY == 0 {
        return false;
    }
    if class(last) & class(prev) & ALNUM != 0
        && !matches!(
            [prev | 0x20, last | 0x20],
            [b'i', b'd'] | [b'n', b'n'] | [b'x', b't'] | [b'n', b't'] | [b'a', b'y'] | [b'e', b'y'] | [b'p', b't']
        )
    {
        return false;
    }
    // The bytes `key_before` takes, last first.
    let key = b.get(e.saturating_sub(40)..e).unwrap_or_default();
    let mut tail = [0u8; 4];
    let mut n = 0;
    for &c in key.iter().rev() {
        if class(c) & KEY == 0 {
            break;
        }
        if class(c) & ALNUM == 0 {
            continue;
        }
        n += 1;
        match tail.get_mut(4 - n) {
            Some(slot) => *slot = c.to_ascii_lowercase(),
            None => break,
        }
        if n == 4 {
            break;
        }
    }
    // Every name has four letters or more.
    n == 4
        && matches!(
            &tail,
            b"stid"
                | b"eqid"
                | b"ceid"
                | b"text"
                | b"rent"
                | b"anid"
                | b"conn"
                | b"nnid"
                | b"onid"
                | b"etid"
                | b"wsid"
                | b"fray"
                | b"tkey"
                | b"cept"
        )
}

const LOW_BYTES: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `x` (8 bytes, first byte lowest) that is an
/// ASCII letter or digit, found with a few word operations (SWAR).
#[inline]
fn alnum_bytes(x: u64) -> u64 {
    // Each byte's low 7 bits: the sums below cannot carry into the next byte.
    let t = x & !HIGH_BITS;
    // High bit set where a byte of `w` is at least `v`.
    let at_least = |w: u64, v: u64| w + (0x80 - v) * LOW_BYTES;
    let digit = at_least(t, 0x30) & !at_least(t, 0x3a);
    // Upper case to lower case (and no other byte into `a`..=`z`).
    let lower = t | (0x20 * LOW_BYTES);
    let letter = at_least(lower, 0x61) & !at_least(lower, 0x7b);
    (digit | letter) & !x & HIGH_BITS
}

/// End of the run of ASCII letters and digits starting at `i`, 8 bytes at a
/// time (words are most of what the scan skips).
#[inline]
fn word_end(b: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = b.get(i..i + 8) {
        let stop = !alnum_bytes(u64::from_le_bytes(chunk.try_into().unwrap_or_default())) & HIGH_BITS;
        if stop != 0 {
            return i + (stop.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < b.len() && is_alnum(at(b, i)) {
        i += 1;
    }
    i
}

/// Scans `b` and adds what it finds to `ids`, in order. Words are skipped
/// whole unless one can start an identifier; [`scan_at`] decides at those
/// and at the punctuation that can start an identifier or end a key.
///
/// A word (a run of letters and digits) at a boundary can start one only
/// with a hex digit or the `i` of `id`, and only with a length and a next
/// byte that fit: a UUID's first group is 8 hex digits then a `-`, a dotted
/// quad's first number 1 to 3 digits then a `.`, a bare IPv6 address has a
/// `:` within 4 bytes of its start (so its first word is at most 4 long), a
/// two-word key's `id` is followed by a space. Other words are skipped
/// without a look.
pub(crate) fn scan(b: &[u8], ids: &mut IdSink<'_>) {
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let k = class(c);
        // Where the scan goes on when nothing starts at `i`.
        let on = if k & ALNUM != 0 {
            let end = word_end(b, i + 1);
            let fits = || {
                let (len, next) = (end - i, at(b, end));
                match len {
                    8 => next == b'-',
                    1..=4 => {
                        (len <= 3 && next == b'.' && k & DIGIT != 0)
                            || (end..=i + 4).any(|p| at(b, p) == b':')
                            || (len == 2 && next == b' ' && c | 0x20 == b'i')
                    }
                    _ => false,
                }
            };
            if !((k & HEX != 0 || c | 0x20 == b'i') && (i == 0 || class(at(b, i - 1)) & JOINS == 0) && fits()) {
                i = end;
                continue;
            }
            end
        } else if k & PUNCT == 0 {
            i += 1;
            continue;
        } else {
            i + 1
        };
        i = scan_at(b, i, ids).unwrap_or(on);
    }
}

/// What the scan finds at `i`: the index after the identifier found there,
/// or `None` (nothing starts at `i`).
fn scan_at(b: &[u8], i: usize, ids: &mut IdSink<'_>) -> Option<usize> {
    let c = at(b, i);
    let k = class(c);
    let prev = if i == 0 { b' ' } else { at(b, i - 1) };
    let boundary = class(prev) & JOINS == 0;
    if k & ALNUM != 0 {
        if !boundary {
            return None;
        }
        if k & HEX != 0 {
            if at(b, i + 8) == b'-'
                && let Some(u) = uuid_at(b, i)
            {
                ids.uuid(u);
                return Some(i + 36);
            }
            if k & DIGIT != 0
                && let Some((ip, j)) = ipv4_at(b, i)
            {
                return Some(match port_at(b, j) {
                    Some((port, e)) => {
                        ids.ip_port(SocketAddr::new(IpAddr::V4(ip), port));
                        e
                    }
                    None => {
                        ids.ip(IpAddr::V4(ip));
                        j
                    }
                });
            }
            if (at(b, i + 1) == b':' || at(b, i + 2) == b':' || at(b, i + 3) == b':' || at(b, i + 4) == b':')
                && let Some((ip, j)) = ipv6_bare_at(b, i)
            {
                ids.ip(IpAddr::V6(ip));
                return Some(j);
            }
        }
        // Two-word keys: `Connection id "0HM..."`, `Request id "..."`.
        if i > 0 && prev == b' ' && c | 0x20 == b'i' && at(b, i + 1) | 0x20 == b'd' && at(b, i + 2) == b' ' {
            two_word_key(b, i - 1, ids);
        }
        return None;
    }
    match c {
        b':' if at(b, i + 1) == b':' && boundary && is_hex(at(b, i + 2)) => {
            let (ip, j) = ipv6_bare_at(b, i)?;
            ids.ip(IpAddr::V6(ip));
            Some(j)
        }
        b'[' if at(b, i + 1) == b':' || is_hex(at(b, i + 1)) => {
            let (ip, port, j) = ipv6_bracket_at(b, i)?;
            match port {
                Some(p) => ids.ip_port(SocketAddr::new(IpAddr::V6(ip), p)),
                None => ids.ip(IpAddr::V6(ip)),
            }
            Some(j)
        }
        b'/' if i == 0 || matches!(prev, b' ' | b'=' | b'"' | b'\'' | b'(' | b'[' | b'\t' | b'<') => {
            let (len, j) = path_at(b, i);
            if len > 0 {
                ids.path(b, i, i + len);
            }
            Some(j.max(i + 1))
        }
        b'/' if prev == b'/' && i >= 2 && at(b, i - 2) == b':' => {
            // A URL: skip the host, keep the path.
            let mut j = i + 1;
            while j < b.len() && !matches!(at(b, j), b'/' | b' ' | b'"' | b'\'' | b')' | b'>' | b',') {
                j += 1;
            }
            if at(b, j) != b'/' {
                return Some(j);
            }
            let (len, e) = path_at(b, j);
            if len > 0 {
                ids.path(b, j, j + len);
            }
            Some(e)
        }
        b'=' | b':' => {
            if !may_end_id_key(b, i) {
                return None;
            }
            let (ks, ke) = key_before(b, i)?;
            if !is_id_key(b.get(ks..ke).unwrap_or_default()) {
                return None;
            }
            let (vs, ve) = value_after(b, i)?;
            ids.id(b, (ks, ke), (vs, ve));
            Some(ve)
        }
        _ => None,
    }
}

/// Texts known to hold no identifier, for [`scan_cached`]: the header
/// fields around a message (level, thread, logger) repeat from line to line,
/// and scanning the same bytes again would find nothing again. A small
/// direct-mapped table of short texts, filled as they are seen.
pub(crate) struct NoIds {
    slots: Vec<Remembered>,
}

/// Texts longer than this are always scanned.
const REMEMBERED_MAX: usize = 63;
const REMEMBERED_SLOTS: usize = 512;

/// One cache line.
#[derive(Clone)]
#[repr(align(64))]
struct Remembered {
    /// 0: an empty slot (an empty text is never looked up).
    len: u8,
    bytes: [u8; REMEMBERED_MAX],
}

/// The word of the 8 bytes at `i` (first byte lowest).
#[inline]
pub(super) fn word_at(b: &[u8], i: usize) -> u64 {
    b.get(i..i + 8).map_or(0, |c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
}

/// The last word of `b` (the 8 bytes before its end, overlapping the words
/// before), or all of it zero-padded when shorter.
#[inline]
fn last_word(b: &[u8]) -> u64 {
    match b.len().checked_sub(8) {
        Some(start) => word_at(b, start),
        None => {
            let mut padded = [0u8; 8];
            for (dst, &c) in padded.iter_mut().zip(b) {
                *dst = c;
            }
            u64::from_le_bytes(padded)
        }
    }
}

/// Whether two texts of the same length are equal, a word at a time.
#[inline]
pub(super) fn same_text(a: &[u8], b: &[u8]) -> bool {
    let mut i = 0;
    while i + 8 < b.len() {
        if word_at(a, i) != word_at(b, i) {
            return false;
        }
        i += 8;
    }
    last_word(a) == last_word(b)
}

impl NoIds {
    pub(crate) const fn new() -> Self {
        NoIds { slots: Vec::new() }
    }

    fn slot(&mut self, b: &[u8]) -> Option<&mut Remembered> {
        if self.slots.is_empty() {
            self.slots = vec![Remembered { len: 0, bytes: [0; REMEMBERED_MAX] }; REMEMBERED_SLOTS];
        }
        // A hash of the words, their products independent of each other (no
        // chain of multiplications to wait for): enough to spread short
        // texts; a slot holds the text itself to compare.
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut h = b.len() as u64;
        let mut i = 0;
        while i + 8 < b.len() {
            h = h.rotate_left(7) ^ word_at(b, i).wrapping_mul(K);
            i += 8;
        }
        h = h.rotate_left(7) ^ last_word(b).wrapping_mul(K);
        let h = (h ^ (h >> 29)).wrapping_mul(K);
        self.slots.get_mut((h >> 32) as usize % REMEMBERED_SLOTS)
    }
}

/// [`scan`], but not again over a text that `memo` has seen hold nothing.
/// The scan looks at nothing outside `b` and finds the same identifiers
/// whatever it found before (those only change which are kept), so a text
/// with no identifier never has one.
pub(crate) fn scan_cached(b: &[u8], ids: &mut IdSink<'_>, memo: &mut NoIds) {
    if b.is_empty() || b.len() > REMEMBERED_MAX {
        return scan(b, ids);
    }
    let Some(slot) = memo.slot(b) else { return scan(b, ids) };
    if usize::from(slot.len) == b.len() && slot.bytes.get(..b.len()).is_some_and(|kept| same_text(kept, b)) {
        return;
    }
    // Nothing kept from an empty start means nothing found.
    let empty = ids.ids.is_empty();
    scan(b, ids);
    if empty && ids.ids.is_empty() {
        slot.len = b.len() as u8;
        if let Some(dst) = slot.bytes.get_mut(..b.len()) {
            dst.copy_from_slice(b);
        }
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
