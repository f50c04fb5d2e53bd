//! The HTTP/1.1 Upgrade handshake that opens a WebSocket connection
//! (RFC 6455 §4, RFC 9110 §7.8).
//!
//! Owns: finding and parsing request and response heads (httparse), the
//! `Sec-WebSocket-*` fields, the `Sec-WebSocket-Accept` check (§4.2.2:
//! base64(SHA-1(key + GUID))), and the extension header grammar (§9.1).
//! May import: model. Must not import: ws, flow, capture, session, report.

use base64::Engine as _;
use sha1::{Digest, Sha1};

/// The GUID appended to the key before hashing (RFC 6455 §1.3).
pub const WS_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Longest request or response head we accept; a real handshake is well
/// under 8 KiB, so anything longer is not a handshake we can use.
pub const MAX_HEAD_LEN: usize = 64 * 1024;

/// An HTTP header as sent (name case kept, value as raw bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: Vec<u8>,
}

/// Headers in order, with case-insensitive look-up.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<Header>);

impl Headers {
    /// The value of the first header named `name`, lossily decoded.
    pub fn get(&self, name: &str) -> Option<String> {
        self.0.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| String::from_utf8_lossy(&h.value).trim().to_string())
    }

    /// All values of headers named `name`, joined with ", " as RFC 9110 §5.3
    /// allows for list-valued fields.
    pub fn get_joined(&self, name: &str) -> Option<String> {
        let values: Vec<String> = self
            .0
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(&h.value).trim().to_string())
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    }

    /// How many times a header appears (duplicates of single-valued
    /// `Sec-WebSocket-Key`/`-Accept` are a finding).
    pub fn count(&self, name: &str) -> usize {
        self.0.iter().filter(|h| h.name.eq_ignore_ascii_case(name)).count()
    }

    /// Whether a comma-separated header contains `token` (case-insensitive),
    /// e.g. `Connection: keep-alive, Upgrade`.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.0
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .flat_map(|h| h.value.split(|b| *b == b','))
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
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
    Headers(raw.iter().map(|h| Header { name: h.name.to_string(), value: h.value.to_vec() }).collect())
}

/// Parses a request head from the start of `buf`.
pub fn parse_request(buf: &[u8]) -> HeadParse<Request> {
    let mut n = 64;
    loop {
        let mut storage = vec![httparse::EMPTY_HEADER; n];
        let mut req = httparse::Request::new(&mut storage);
        return match req.parse(buf) {
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
            Err(httparse::Error::TooManyHeaders) if n < 4096 => {
                n *= 4;
                continue;
            }
            Err(e) => HeadParse::Invalid(format!("malformed request head: {e}")),
        };
    }
}

/// Parses a response head from the start of `buf`.
pub fn parse_response(buf: &[u8]) -> HeadParse<Response> {
    let mut n = 64;
    loop {
        let mut storage = vec![httparse::EMPTY_HEADER; n];
        let mut resp = httparse::Response::new(&mut storage);
        return match resp.parse(buf) {
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
            Err(httparse::Error::TooManyHeaders) if n < 4096 => {
                n *= 4;
                continue;
            }
            Err(e) => HeadParse::Invalid(format!("malformed response head: {e}")),
        };
    }
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
