//! The opening handshake's rules (RFC 6455 §4.1, §4.2.1, §4.2.2; RFC 7692
//! §5, §7): what a server must refuse in a request, and what a client must
//! fail in a response.
//!
//! Owns: judging parsed heads against the rule catalogue.
//! May import: http (parsed heads), ws::rules, ws::deflate. Pure functions.

use base64::Engine as _;

use crate::http::{self, Request, Response};
use crate::ws::deflate::{ExtensionRef, Negotiation, negotiate};
use crate::ws::rules::{Rule, Violation};

/// Problems of an upgrade request that a server must answer with 400 (or
/// 426 for the version): the client broke §4.1's requirements.
pub fn check_request(req: &Request) -> Vec<Violation> {
    let mut v = Vec::new();
    let h = &req.headers;
    if !req.method.eq_ignore_ascii_case("GET") || req.version < 1 {
        v.push(Violation::new(Rule::BadRequestLine, format!("{} request, HTTP/1.{}", req.method, req.version)));
    }
    if h.value("host").is_none() {
        v.push(Violation::new(Rule::MissingHost, "no Host header"));
    }
    if !h.has_token("connection", "upgrade") {
        v.push(Violation::new(Rule::RequestMissingConnection, format!("Connection: {:?}", h.value("connection").unwrap_or_default())));
    }
    match (h.count("sec-websocket-key"), h.value("sec-websocket-key")) {
        (0, _) | (_, None) => v.push(Violation::new(Rule::MissingKey, "no Sec-WebSocket-Key header")),
        (1, Some(key)) => {
            let decoded = base64::engine::general_purpose::STANDARD.decode(key.as_bytes());
            if decoded.map_or(true, |d| d.len() != 16) {
                v.push(Violation::new(Rule::BadKey, format!("Sec-WebSocket-Key {key:?} is not 16 bytes in base64")));
            }
        }
        (n, _) => v.push(Violation::new(Rule::BadKey, format!("Sec-WebSocket-Key appears {n} times"))),
    }
    match h.value("sec-websocket-version").as_deref() {
        None => v.push(Violation::new(Rule::MissingVersion, "no Sec-WebSocket-Version header")),
        Some(ver) if ver != "13" => v.push(Violation::new(Rule::UnsupportedVersion, format!("Sec-WebSocket-Version: {ver} (13 required)"))),
        Some(_) => {}
    }
    v
}

/// Problems of a 101 response that the client must fail the connection on
/// (§4.1 items 2-6, RFC 7692 §5/§7), and the permessage-deflate
/// negotiation. `req` is `None` when the request was not captured.
pub fn check_response(req: Option<&Request>, resp: &Response) -> (Vec<Violation>, Negotiation) {
    let mut v = Vec::new();
    let h = &resp.headers;
    if !h.has_token("upgrade", "websocket") {
        v.push(Violation::new(Rule::MissingUpgradeHeader, format!("Upgrade: {:?}", h.value("upgrade").unwrap_or_default())));
    }
    if !h.has_token("connection", "upgrade") {
        v.push(Violation::new(Rule::MissingConnectionHeader, format!("Connection: {:?}", h.value("connection").unwrap_or_default())));
    }
    let key = req.and_then(|r| r.headers.value("sec-websocket-key"));
    match (h.value("sec-websocket-accept"), key) {
        (None, _) => v.push(Violation::new(Rule::MissingAccept, "no Sec-WebSocket-Accept header")),
        (Some(accept), Some(key)) => {
            let expected = http::accept_for_key(&key);
            if accept != expected || h.count("sec-websocket-accept") > 1 {
                v.push(Violation::new(
                    Rule::BadAccept,
                    format!("Sec-WebSocket-Accept {accept:?}, expected {expected:?} for the key {key:?}"),
                ));
            }
        }
        (Some(_), None) => {}
    }
    let offered_ext = req.map(|r| http::parse_extensions(&r.headers.get_joined("sec-websocket-extensions").unwrap_or_default()));
    let accepted_ext = http::parse_extensions(&h.get_joined("sec-websocket-extensions").unwrap_or_default());
    if let Some(offered) = &offered_ext {
        for e in &accepted_ext {
            if !offered.iter().any(|o| o.name.eq_ignore_ascii_case(&e.name)) {
                v.push(Violation::new(
                    Rule::ExtensionNotOffered,
                    format!("the server selected {:?}, which the client did not offer", e.name),
                ));
            }
        }
    }
    if let (Some(proto), Some(r)) = (h.value("sec-websocket-protocol"), req) {
        let offered = http::split_tokens(&r.headers.get_joined("sec-websocket-protocol").unwrap_or_default());
        if !offered.iter().any(|o| *o == proto) {
            v.push(Violation::new(
                Rule::SubprotocolNotOffered,
                format!("the server selected subprotocol {proto:?}; the client offered {offered:?}"),
            ));
        }
    }
    let offers: Vec<ExtensionRef<'_>> =
        offered_ext.as_deref().unwrap_or_default().iter().map(|e| ExtensionRef { name: &e.name, params: &e.params }).collect();
    let response: Vec<ExtensionRef<'_>> = accepted_ext.iter().map(|e| ExtensionRef { name: &e.name, params: &e.params }).collect();
    let mut n = negotiate(&offers, &response);
    v.append(&mut n.violations);
    (v, n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{HeadParse, parse_request, parse_response};

    fn req(s: &str) -> Request {
        match parse_request(s.as_bytes()) {
            HeadParse::Complete(r) => r,
            other => panic!("{other:?}"),
        }
    }

    fn resp(s: &str) -> Response {
        match parse_response(s.as_bytes()) {
            HeadParse::Complete(r) => r,
            other => panic!("{other:?}"),
        }
    }

    const GOOD_REQ: &str = "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";

    fn ids(v: &[Violation]) -> Vec<&'static str> {
        v.iter().map(|x| x.rule.id()).collect()
    }

    #[test]
    fn rfc_example_is_clean() {
        let r = req(GOOD_REQ);
        assert!(check_request(&r).is_empty());
        let s = resp(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10\r\n\r\n",
        );
        let (v, n) = check_response(Some(&r), &s);
        assert!(v.is_empty(), "{v:?}");
        assert!(n.params.is_some());
    }

    #[test]
    fn each_response_rule_fires() {
        let r = req(GOOD_REQ);
        let s = resp(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websockets\r\nConnection: keep-alive\r\n\
Sec-WebSocket-Accept: wrong=\r\nSec-WebSocket-Protocol: other\r\nSec-WebSocket-Extensions: x-custom\r\n\r\n",
        );
        let (v, _) = check_response(Some(&r), &s);
        assert_eq!(
            ids(&v),
            ["missing-upgrade-header", "missing-connection-header", "bad-accept", "extension-not-offered", "subprotocol-not-offered"]
        );
    }

    #[test]
    fn each_request_rule_fires() {
        let r = req(
            "POST / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: keep-alive\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 8\r\n\r\n",
        );
        assert_eq!(
            ids(&check_request(&r)),
            ["bad-request-line", "missing-host", "request-missing-connection", "bad-key", "unsupported-version"]
        );
    }
}
