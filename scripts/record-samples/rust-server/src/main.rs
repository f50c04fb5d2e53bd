//! A tokio-tungstenite JSON "calculator" whose request handler panics, for
//! wsforensics' real-server samples (`record.sh rust-panic`).
//!
//!     rust-panic-server --port P        (log to stderr, RUST_BACKTRACE=1)
//!
//! Requests are JSON text messages `{"id":N,"op":"add"|"div","a":X,"b":Y}`;
//! other text is echoed. `div` with `b == 0` panics (an `unwrap()` on the
//! `None` of `checked_div`). What happens next depends on the path:
//! - `/calc`: each request is evaluated in its own task; the connection task
//!   sees the panic through the `JoinHandle` and closes with 1011 "internal error".
//! - `/v0/calc` (legacy): the request is evaluated inline, so the panic unwinds
//!   the connection task itself and the stream is dropped: no Close frame.
//! Either way the default panic hook prints the panic and its backtrace.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use log::{error, info, warn};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{SignalKind, signal};
use tokio_tungstenite::accept_hdr_async;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

#[derive(Debug)]
struct Calc {
    id: i64,
    op: String,
    a: i64,
    b: i64,
}

fn parse(text: &str) -> Option<Calc> {
    let v: Value = serde_json::from_str(text).ok()?;
    Some(Calc {
        id: v.get("id")?.as_i64()?,
        op: v.get("op")?.as_str()?.to_string(),
        a: v.get("a")?.as_i64()?,
        b: v.get("b")?.as_i64()?,
    })
}

fn evaluate(req: &Calc) -> Option<i64> {
    match req.op.as_str() {
        "add" => Some(req.a + req.b),
        // checked_div is None when b == 0: the unwrap panics, on purpose.
        "div" => Some(req.a.checked_div(req.b).unwrap()),
        _ => None,
    }
}

fn reply(req: &Calc, result: Option<i64>) -> Message {
    Message::text(json!({"id": req.id, "result": result}).to_string())
}

async fn serve(stream: TcpStream, peer: SocketAddr) {
    let mut path = String::new();
    let ws = accept_hdr_async(stream, |req: &Request, resp: Response| {
        path = req.uri().path().to_string();
        Ok(resp)
    })
    .await;
    let mut ws = match ws {
        Ok(ws) => ws,
        Err(e) => {
            warn!("client {peer} handshake failed: {e}");
            return;
        }
    };
    info!("client {peer} connected path={path}");
    let supervised = path != "/v0/calc";
    let mut count = 0u32;
    while let Some(msg) = ws.next().await {
        let msg = match msg {
            Ok(m) => m,
            Err(e) => {
                warn!("client {peer} read error: {e}");
                return;
            }
        };
        let text = match msg {
            Message::Text(t) => t,
            Message::Close(frame) => {
                let code = frame.as_ref().map(|f| u16::from(f.code));
                info!("client {peer} disconnected after {count} requests (code {code:?})");
                // tungstenite answers the Close when the stream is driven on.
                while ws.next().await.is_some() {}
                return;
            }
            _ => continue,
        };
        count += 1;
        let Some(req) = parse(text.as_str()) else {
            let _ = ws.send(Message::Text(text)).await;
            continue;
        };
        info!("client {peer} request id={} op={}", req.id, req.op);
        let result = if supervised {
            let handle = tokio::spawn(async move {
                let r = evaluate(&req);
                (req, r)
            });
            match handle.await {
                Ok((req, r)) => Some((req, r)),
                Err(e) if e.is_panic() => {
                    error!("request handler panicked for client {peer}, closing with 1011: {e}");
                    let frame = CloseFrame { code: CloseCode::Error, reason: "internal error".into() };
                    let _ = ws.close(Some(frame)).await;
                    while ws.next().await.is_some() {}
                    info!("client {peer} closed after handler panic");
                    return;
                }
                Err(e) => {
                    error!("request task for client {peer} failed: {e}");
                    return;
                }
            }
        } else {
            // Legacy path: evaluated inline; a panic ends this task and drops `ws`.
            let r = evaluate(&req);
            Some((req, r))
        };
        if let Some((req, r)) = result {
            if ws.send(reply(&req, r)).await.is_err() {
                return;
            }
        }
    }
    info!("client {peer} stream ended");
}

async fn metrics() {
    tokio::time::sleep(Duration::from_millis(150)).await;
    info!("metrics: flushed 12 counters to /var/lib/app/metrics.db");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let record = r#"{"name":"requests_total","value":17}"#;
    match serde_json::from_str::<Value>(record).map(|v| v.get("unit").cloned()) {
        Ok(Some(unit)) => info!("metrics: unit is {unit}"),
        _ => error!("metrics: failed to export record {record}: missing field `unit`"),
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    warn!("metrics: exporter queue above 80% (41/50)");
}

#[tokio::main]
async fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_timestamp_millis()
        .init();
    let port: u16 = std::env::args()
        .skip_while(|a| a != "--port")
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(8790);
    let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
    info!(
        "starting calc server (tokio-tungstenite) on 127.0.0.1:{port}, RUST_BACKTRACE={}",
        std::env::var("RUST_BACKTRACE").unwrap_or_default()
    );
    info!("config: loaded /etc/app/calculator.toml (3 sections)");
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let noise = tokio::spawn(metrics());
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Detached: nobody awaits this JoinHandle, so a panic in it only
                    // reaches the panic hook.
                    tokio::spawn(serve(stream, peer));
                }
                Err(e) => warn!("accept failed: {e}"),
            },
            _ = term.recv() => break,
        }
    }
    info!("received SIGTERM, shutting down");
    noise.abort();
    let _ = std::io::stderr().flush();
}
