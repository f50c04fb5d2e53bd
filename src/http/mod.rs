//! The HTTP/1.1 Upgrade handshake that opens a WebSocket connection
//! (RFC 6455 §4, RFC 9110 §7.8).
//!
//! Owns: finding and parsing request and response heads (httparse), the
//! `Sec-WebSocket-*` fields, the `Sec-WebSocket-Accept` check (§4.2.2:
//! base64(SHA-1(key + GUID))), and the extension header grammar (§9.1).
//! May import: model. Must not import: ws, flow, capture, session, report.

use std::borrow::Cow;

use base64::Engine as _;
use sha1::{Digest, Sha1};

/// The GUID appended to the key before hashing (RFC 6455 §1.3).
pub const WS_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Longest request or response head we accept; a real handshake is well
/// under 8 KiB, so anything longer is not a handshake we can use.
pub const MAX_HEAD_LEN: usize = 64 * 1024;

/// The headers of a head, in order, with case-insensitive look-up. Names
/// (case kept) and raw values sit back to back in one buffer: a handshake
/// has a dozen headers, and a connection storm has thousands of
/// handshakes a second, so this is two allocations rather than two per
/// header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers {
    text: Vec<u8>,
    /// Per header, where its name and its value end in `text`; the name
    /// starts where the previous value ended, the value where its name ends.
    ends: Vec<(usize, usize)>,
}

impl Headers {
    /// Builds the headers from name / raw value pairs, in order.
    pub fn from_pairs<'a, I>(pairs: I) -> Headers
    where
        I: IntoIterator<Item = (&'a str, &'a [u8])>,
        I::IntoIter: Clone,
    {
        let pairs = pairs.into_iter();
        // Sized first: growing the buffer header by header reallocated it
        // several times per head.
        let (mut len, mut count) = (0, 0);
        for (name, value) in pairs.clone() {
            len += name.len() + value.len();
            count += 1;
        }
        let mut h = Headers { text: Vec::with_capacity(len), ends: Vec::with_capacity(count) };
        for (name, value) in pairs {
            h.text.extend_from_slice(name.as_bytes());
            let name_end = h.text.len();
            h.text.extend_from_slice(value);
            h.ends.push((name_end, h.text.len()));
        }
        h
    }

    /// Name and raw value of each header, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        // Names come from `&str`s (httparse checks they are tokens).
        self.raw().map(|(name, value)| (std::str::from_utf8(name).unwrap_or_default(), value))
    }

    /// Name and value bytes of each header, in order.
    fn raw(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().map(|&(_, v)| v));
        starts.zip(&self.ends).map(|(start, &(name_end, value_end))| {
            (self.text.get(start..name_end).unwrap_or_default(), self.text.get(name_end..value_end).unwrap_or_default())
        })
    }

    /// Raw values of the headers named `name`, in order.
    fn values<'s, 'n>(&'s self, name: &'n str) -> impl Iterator<Item = &'s [u8]> + use<'s, 'n> {
        self.raw().filter(move |(n, _)| n.eq_ignore_ascii_case(name.as_bytes())).map(|(_, v)| v)
    }

    /// The value of the first header named `name`, lossily decoded and
    /// trimmed; borrowed when it is valid UTF-8 (nearly always).
    pub fn value<'s>(&'s self, name: &str) -> Option<Cow<'s, str>> {
        self.values(name).next().map(trimmed_text)
    }

    /// The value of the first header named `name`, lossily decoded.
    pub fn get(&self, name: &str) -> Option<String> {
        self.value(name).map(Cow::into_owned)
    }

    /// All values of headers named `name`, joined with ", " as RFC 9110 §5.3
    /// allows for list-valued fields.
    pub fn get_joined(&self, name: &str) -> Option<String> {
        let mut joined: Option<String> = None;
        for value in self.values(name) {
            let v = trimmed_text(value);
            match &mut joined {
                None => joined = Some(v.into_owned()),
                Some(j) => {
                    j.push_str(", ");
                    j.push_str(&v);
                }
            }
        }
        joined
    }

    /// How many times a header appears (duplicates of single-valued
    /// `Sec-WebSocket-Key`/`-Accept` are a finding).
    pub fn count(&self, name: &str) -> usize {
        self.values(name).count()
    }

    /// Whether a comma-separated header contains `token` (case-insensitive),
    /// e.g. `Connection: keep-alive, Upgrade`.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.values(name).flat_map(|v| v.split(|b| *b == b',')).any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
    }
}

/// A header value as text: trimmed, borrowed when it is valid UTF-8 (the
/// common case, checked with the fast validator), else lossily decoded.
fn trimmed_text(value: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(value) {
        Ok(s) => Cow::Borrowed(s.trim()),
        Err(_) => Cow::Owned(String::from_utf8_lossy(value).trim().to_string()),
    }
}

/// A header value as text, untrimmed: valid UTF-8 is copied as is (checked
/// with the fast validator), anything else lossily decoded.
pub fn value_text(value: &[u8]) -> String {
    match std::str::from_utf8(value) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(value).into_owned(),
    }
}

/// A parsed request head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// HTTP minor version (1 for HTTP/1.1).
    pub version: u8,
    pub headers: Headers,
    /// Length of the head including the blank line.
    pub head_len: usize,
}

impl Request {
    /// Whether this request asks for a WebSocket upgrade (§4.1: `Upgrade:
    /// websocket`, case-insensitive).
    pub fn wants_websocket(&self) -> bool {
        self.headers.has_token("upgrade", "websocket")
    }
}

/// A parsed response head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub version: u8,
    pub headers: Headers,
    pub head_len: usize,
}

/// Result of parsing a head from the start of a buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeadParse<T> {
    Complete(T),
    /// More bytes are needed.
    Incomplete,
    /// The bytes are not an HTTP head (the message says why).
    Invalid(String),
}

/// Whether `prefix` can be the start of an HTTP/1.x request line: a method
/// token of capital letters followed by a space (checked on what is there).
pub fn looks_like_request(prefix: &[u8]) -> bool {
    let token_len = prefix.iter().take_while(|b| b.is_ascii_uppercase()).count();
    match prefix.get(token_len) {
        Some(b' ') => (3..=10).contains(&token_len),
        None => token_len == prefix.len() && token_len <= 10 && !prefix.is_empty(),
        _ => false,
    }
}

/// Whether `prefix` can be the start of an HTTP/1.x status line.
pub fn looks_like_response(prefix: &[u8]) -> bool {
    let n = prefix.len().min(5);
    !prefix.is_empty() && prefix.get(..n) == b"HTTP/".get(..n)
}

/// Position just past the blank line that ends a head, if present.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    memchr::memmem::find(buf, b"\r\n\r\n").map(|p| p + 4)
}

fn collect_headers(raw: &[httparse::Header<'_>]) -> Headers {
    Headers::from_pairs(raw.iter().map(|h| (h.name, h.value)))
}

/// Headers parsed on the stack before falling back to the heap: a real
/// handshake has about a dozen.
const INLINE_HEADERS: usize = 32;
/// Most headers a head may have before it is not a handshake we can use.
const MAX_HEADERS: usize = 4096;

/// Runs `parse` over header storage: first inline, then on the heap,
/// growing while `parse` returns `None` (httparse found too many headers).
/// `None` when even [`MAX_HEADERS`] are too few.
fn with_header_storage<'b, T>(mut parse: impl FnMut(&mut [httparse::Header<'b>]) -> Option<T>) -> Option<T> {
    let mut inline = [httparse::EMPTY_HEADER; INLINE_HEADERS];
    if let Some(done) = parse(&mut inline) {
        return Some(done);
    }
    let mut n = INLINE_HEADERS * 8;
    loop {
        let mut storage = vec![httparse::EMPTY_HEADER; n];
        if let Some(done) = parse(&mut storage) {
            return Some(done);
        }
        if n >= MAX_HEADERS {
            return None;
        }
        n *= 4;
    }
}

/// Parses a request head from the start of `buf`.
pub fn parse_request(buf: &[u8]) -> HeadParse<Request> {
    with_header_storage(|storage| {
        let mut req = httparse::Request::new(storage);
        Some(match req.parse(buf) {
            Ok(httparse::Status::Complete(head_len)) => HeadParse::Complete(Request {
                method: req.method.unwrap_or_default().to_string(),
                path: req.path.unwrap_or_default().to_string(),
                version: req.version.unwrap_or(1),
                headers: collect_headers(req.headers),
                head_len,
            }),
            Ok(httparse::Status::Partial) if buf.len() >= MAX_HEAD_LEN => {
                HeadParse::Invalid(format!("request head longer than {MAX_HEAD_LEN} bytes"))
            }
            Ok(httparse::Status::Partial) => HeadParse::Incomplete,
            Err(httparse::Error::TooManyHeaders) => return None,
            Err(e) => HeadParse::Invalid(format!("malformed request head: {e}")),
        })
    })
    .unwrap_or_else(|| HeadParse::Invalid(format!("malformed request head: {}", httparse::Error::TooManyHeaders)))
}

/// Parses a response head from the start of `buf`.
pub fn parse_response(buf: &[u8]) -> HeadParse<Response> {
    with_header_storage(|storage| {
        let mut resp = httparse::Response::new(storage);
        Some(match resp.parse(buf) {
            Ok(httparse::Status::Complete(head_len)) => HeadParse::Complete(Response {
                status: resp.code.unwrap_or(0),
                reason: resp.reason.unwrap_or_default().to_string(),
                version: resp.version.unwrap_or(1),
                headers: collect_headers(resp.headers),
                head_len,
            }),
            Ok(httparse::Status::Partial) if buf.len() >= MAX_HEAD_LEN => {
                HeadParse::Invalid(format!("response head longer than {MAX_HEAD_LEN} bytes"))
            }
            Ok(httparse::Status::Partial) => HeadParse::Incomplete,
            Err(httparse::Error::TooManyHeaders) => return None,
            Err(e) => HeadParse::Invalid(format!("malformed response head: {e}")),
        })
    })
    .unwrap_or_else(|| HeadParse::Invalid(format!("malformed response head: {}", httparse::Error::TooManyHeaders)))
}

/// The `Sec-WebSocket-Accept` value a server must send for `key`
/// (RFC 6455 §4.2.2 item 5.4).
pub fn accept_for_key(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.trim().as_bytes());
    sha.update(WS_GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

/// One extension of a `Sec-WebSocket-Extensions` list (RFC 6455 §9.1), e.g.
/// `permessage-deflate; client_max_window_bits=10`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension {
    pub name: String,
    /// Parameters in order; quoted values are unquoted.
    pub params: Vec<(String, Option<String>)>,
}

impl Extension {
    pub fn param(&self, name: &str) -> Option<&Option<String>> {
        self.params.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }
}

/// Parses an extension list. Tolerant: malformed pieces are kept as well as
/// they can be read, and judged by the verdict layer.
pub fn parse_extensions(value: &str) -> Vec<Extension> {
    value
        .split(',')
        .filter_map(|ext| {
            let mut parts = ext.split(';').map(str::trim);
            let name = parts.next().filter(|n| !n.is_empty())?.to_ascii_lowercase();
            let params = parts
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim().trim_matches('"').to_string())),
                    None => (p.to_ascii_lowercase(), None),
                })
                .collect();
            Some(Extension { name, params })
        })
        .collect()
}

/// Comma-separated tokens of a header value (subprotocol lists).
pub fn split_tokens(value: &str) -> Vec<String> {
    value.split(',').map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_accept_example() {
        // RFC 6455 §1.3.
        assert_eq!(accept_for_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn parses_upgrade_request_and_response() {
        let req = b"GET /chat?room=1 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n\x81\x85";
        let HeadParse::Complete(r) = parse_request(req) else { panic!("not parsed") };
        assert_eq!((r.method.as_str(), r.path.as_str(), r.version), ("GET", "/chat?room=1", 1));
        assert!(r.wants_websocket());
        assert!(r.headers.has_token("connection", "upgrade"));
        assert_eq!(r.head_len, req.len() - 2);
        assert_eq!(r.headers.get("sec-websocket-version").as_deref(), Some("13"));
        let ext = parse_extensions(&r.headers.get("Sec-WebSocket-Extensions").unwrap());
        assert_eq!(ext[0].name, "permessage-deflate");
        assert_eq!(ext[0].param("client_max_window_bits"), Some(&None));

        let resp = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
        let HeadParse::Complete(r) = parse_response(resp) else { panic!("not parsed") };
        assert_eq!(r.status, 101);
        assert_eq!(r.headers.get("sec-websocket-accept").unwrap(), accept_for_key("dGhlIHNhbXBsZSBub25jZQ=="));
    }

    #[test]
    fn partial_and_invalid_heads() {
        assert_eq!(parse_request(b"GET / HTTP/1.1\r\nHost: a\r\n"), HeadParse::Incomplete);
        assert!(matches!(parse_request(b"\x16\x03\x01\x02\x00\r\n\r\n"), HeadParse::Invalid(_)));
        assert!(looks_like_request(b"GET /"));
        assert!(looks_like_request(b"GE"));
        assert!(!looks_like_request(b"\x81\x85abc"));
        assert!(looks_like_response(b"HTTP/1.1 101"));
        assert!(looks_like_response(b"HTT"));
        assert!(!looks_like_response(b"\x81\x05Hello"));
    }

    #[test]
    fn extension_params_with_values_and_quotes() {
        let e = parse_extensions("permessage-deflate; server_max_window_bits=\"12\"; client_no_context_takeover, x-webkit-deflate-frame");
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].param("server_max_window_bits"), Some(&Some("12".to_string())));
        assert_eq!(e[0].param("client_no_context_takeover"), Some(&None));
        assert_eq!(e[1].name, "x-webkit-deflate-frame");
    }
}
