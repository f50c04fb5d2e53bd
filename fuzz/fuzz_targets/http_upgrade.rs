//! The HTTP upgrade parser: arbitrary bytes to `parse_request`,
//! `parse_response` and (as text) `parse_extensions`, then the
//! permessage-deflate negotiation on what was parsed. No panic; a complete
//! head's length lies within the input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wsforensics::http::{self, HeadParse};
use wsforensics::ws::deflate::{self, ExtensionRef};

fn check_headers(h: &http::Headers) {
    for name in ["upgrade", "connection", "sec-websocket-key", "sec-websocket-extensions", "sec-websocket-protocol"] {
        let _ = h.get(name);
        if let Some(v) = h.get_joined(name) {
            let _ = http::split_tokens(&v);
            let _ = http::parse_extensions(&v);
        }
        let _ = h.count(name);
        let _ = h.has_token(name, "websocket");
    }
}

fn negotiate_text(offer: &str, answer: &str) {
    let offers = http::parse_extensions(offer);
    let answers = http::parse_extensions(answer);
    let o: Vec<ExtensionRef<'_>> = offers.iter().map(|e| ExtensionRef { name: &e.name, params: &e.params }).collect();
    let a: Vec<ExtensionRef<'_>> = answers.iter().map(|e| ExtensionRef { name: &e.name, params: &e.params }).collect();
    for e in &o {
        let _ = e.name;
        let _ = deflate::parse_params(*e, deflate::Side::Offer);
    }
    for e in &a {
        let _ = deflate::parse_params(*e, deflate::Side::Response);
    }
    let n = deflate::negotiate(&o, &a);
    if let Some(p) = n.params {
        for role in [wsforensics::model::Role::Client, wsforensics::model::Role::Server] {
            let _ = p.direction(role);
            let _ = p.inflater_config(role, 1 << 20);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = http::looks_like_request(data);
    let _ = http::looks_like_response(data);
    if let Some(end) = http::head_end(data) {
        assert!(end <= data.len());
    }
    match http::parse_request(data) {
        HeadParse::Complete(req) => {
            assert!(req.head_len <= data.len(), "head_len {} > {}", req.head_len, data.len());
            let _ = req.wants_websocket();
            check_headers(&req.headers);
        }
        HeadParse::Incomplete | HeadParse::Invalid(_) => {}
    }
    match http::parse_response(data) {
        HeadParse::Complete(resp) => {
            assert!(resp.head_len <= data.len(), "head_len {} > {}", resp.head_len, data.len());
            check_headers(&resp.headers);
        }
        HeadParse::Incomplete | HeadParse::Invalid(_) => {}
    }
    let text = String::from_utf8_lossy(data);
    for e in http::parse_extensions(&text) {
        let _ = e.param("client_max_window_bits");
        let _ = e.param("server_max_window_bits");
    }
    // Offer and answer: the text split at the first '|' (or the same text
    // both ways).
    match text.split_once('|') {
        Some((offer, answer)) => negotiate_text(offer, answer),
        None => negotiate_text(&text, &text),
    }
    let _ = http::accept_for_key(&text);
});
