//! Deterministic generator of a plain-text server log with stack traces.
//!
//! Shared by `benches/log_reader.rs` and `examples/gen_log.rs` (both
//! include this file with `#[path]`).
//!
//! The log is what a small polyglot WebSocket backend writes to one file:
//! a Java (Spring/Tomcat, logback pattern) chat service, a Python
//! (`websockets`, logging asctime) worker and a Node.js (`ws`) gateway, all
//! with an ISO 8601 timestamp at the start of each record. Most records are
//! one line (INFO/DEBUG/WARN with client ip:port, request ids, UUIDs, URL
//! paths, key=value pairs); a share of ERROR records carry a multi-line stack
//! trace: Java with `Caused by:` chains and `... N more`, Python tracebacks
//! (some chained), Node.js `Error` stacks with `node_modules` frames.
//!
//! Everything comes from one seeded splitmix64 generator, so the same size,
//! seed and trace rate always give the same bytes.

#![allow(dead_code)]

use std::io::{self, Write};

/// What to generate.
#[derive(Clone, Debug)]
pub struct LogGenConfig {
    /// Stop after the record that reaches this many bytes.
    pub size: u64,
    pub seed: u64,
    /// Probability that a record is an ERROR with a stack trace.
    pub trace_rate: f64,
}

impl Default for LogGenConfig {
    fn default() -> Self {
        LogGenConfig { size: 64 << 20, seed: 1, trace_rate: 0.02 }
    }
}

/// What was written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogGenStats {
    pub bytes: u64,
    pub lines: u64,
    pub records: u64,
    /// Records with a stack trace: Java, Python, Node.js.
    pub traces: [u64; 3],
}

/// Parses `123`, `500MB`, `2GiB`, `1.5GB`, `64k` (decimal and binary units).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num.parse().ok()?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let bytes = value * mult;
    (bytes.is_finite() && bytes >= 0.0).then_some(bytes as u64)
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items.get(self.below(items.len())).copied().unwrap_or_default()
    }
}

/// Days since 1970-01-01 to (year, month, day) (H. Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// 2026-11-24T08:00:00Z in milliseconds since the epoch.
const START_MS: i64 = 1_795_507_200_000;

#[derive(Clone, Copy)]
enum Service {
    Java,
    Python,
    Node,
}

struct Gen {
    rng: Rng,
    now_ms: i64,
    out: Vec<u8>,
    stats: LogGenStats,
}

const JAVA_THREADS: [&str; 6] =
    ["http-nio-8080-exec-1", "http-nio-8080-exec-7", "http-nio-8080-exec-12", "ws-sender-3", "scheduling-1", "main"];
const JAVA_LOGGERS: [&str; 6] = [
    "c.e.chat.ws.ChatEndpoint",
    "c.e.chat.ws.SessionRegistry",
    "c.e.chat.service.RoomService",
    "o.a.tomcat.websocket.WsSession",
    "c.e.chat.auth.TokenFilter",
    "o.s.web.socket.handler.LoggingWebSocketHandlerDecorator",
];
const PY_LOGGERS: [&str; 4] = ["websockets.server", "app.handlers", "app.worker", "asyncio"];
const NODE_LOGGERS: [&str; 4] = ["gateway", "gateway.ws", "gateway.auth", "gateway.metrics"];
const PATHS: [&str; 6] = ["/chat", "/chat?room=42", "/ws/v2/stream", "/notifications", "/calc", "/live/prices?sym=ACME"];
const USERS: [&str; 6] = ["alice", "bob", "carol", "dave", "erin", "mallory"];

impl Gen {
    fn stamp(&mut self, svc: Service) {
        let ms = self.now_ms;
        let (y, mo, d) = civil(ms.div_euclid(86_400_000));
        let tod = ms.rem_euclid(86_400_000);
        let (h, mi, s, frac) = (tod / 3_600_000, tod / 60_000 % 60, tod / 1000 % 60, tod % 1000);
        let _ = match svc {
            Service::Java => write!(self.out, "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{frac:03} "),
            Service::Python => write!(self.out, "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02},{frac:03} "),
            Service::Node => write!(self.out, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{frac:03}Z "),
        };
    }

    fn header(&mut self, svc: Service, level: &str) {
        self.stamp(svc);
        let _ = match svc {
            Service::Java => {
                let (t, l) = (self.rng.pick(&JAVA_THREADS), self.rng.pick(&JAVA_LOGGERS));
                write!(self.out, "{level:<5} [{t}] {l} - ")
            }
            Service::Python => {
                let l = self.rng.pick(&PY_LOGGERS);
                write!(self.out, "{level} {l}: ")
            }
            Service::Node => {
                let l = self.rng.pick(&NODE_LOGGERS);
                write!(self.out, "{} {l}: ", level.to_ascii_lowercase())
            }
        };
    }

    fn client(&mut self) -> (u32, u16) {
        let ip = 0x0a00_0000 | (self.rng.next() as u32 & 0x000f_ffff);
        (ip, 32768 + (self.rng.below(28000) as u16))
    }

    fn write_client(&mut self) {
        let (ip, port) = self.client();
        let _ = write!(self.out, "{}.{}.{}.{}:{port}", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
    }

    fn write_uuid(&mut self) {
        let (a, b) = (self.rng.next(), self.rng.next());
        let _ = write!(
            self.out,
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 52,
            b & 0xffff_ffff_ffff
        );
    }

    /// One plain record (one line).
    fn line(&mut self) {
        let svc = match self.rng.below(10) {
            0..=3 => Service::Java,
            4..=6 => Service::Python,
            _ => Service::Node,
        };
        let r = self.rng.below(100);
        let level = match r {
            0..=9 => "DEBUG",
            10..=93 => "INFO",
            _ => "WARN",
        };
        self.header(svc, level);
        let kind = self.rng.below(8);
        let path = self.rng.pick(&PATHS);
        let user = self.rng.pick(&USERS);
        match kind {
            0 => {
                let _ = write!(self.out, "connection open client=");
                self.write_client();
                let _ = write!(self.out, " path={path} request_id=");
                self.write_uuid();
            }
            1 => {
                let _ = write!(self.out, "session ");
                self.write_uuid();
                let code = [1000, 1001, 1000, 1006, 1011, 1000][self.rng.below(6)];
                let _ = write!(self.out, " closed code={code} reason=\"\" duration_ms={} user={user}", self.rng.below(3_600_000));
            }
            2 => {
                let _ = write!(
                    self.out,
                    "message received op=text bytes={} room={} user={user} seq={}",
                    self.rng.range(20, 4000),
                    self.rng.below(500),
                    self.rng.next() % 1_000_000
                );
            }
            3 => {
                let _ = write!(self.out, "ping sent to ");
                self.write_client();
                let _ = write!(self.out, " rtt_ms={}", self.rng.below(250));
            }
            4 => {
                let _ = write!(
                    self.out,
                    "GET {path} HTTP/1.1 101 Switching Protocols upgrade=websocket ua=\"Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0\" took={}ms",
                    self.rng.below(40)
                );
            }
            5 => {
                let _ = write!(
                    self.out,
                    "broadcast room={} recipients={} queued={} dropped=0",
                    self.rng.below(500),
                    self.rng.range(1, 3000),
                    self.rng.below(64)
                );
            }
            6 => {
                let _ = write!(self.out, "token validated user={user} scopes=read,write trace_id=");
                self.write_uuid();
            }
            _ => {
                let _ = write!(
                    self.out,
                    "metrics open_connections={} msgs_per_s={} heap_used_mb={} gc_pause_ms={}",
                    self.rng.range(100, 20000),
                    self.rng.range(100, 90000),
                    self.rng.range(200, 4000),
                    self.rng.below(80)
                );
            }
        }
        self.out.push(b'\n');
        self.stats.lines += 1;
    }

    fn lines(&mut self, text: &str) {
        self.out.extend_from_slice(text.as_bytes());
        self.stats.lines += text.bytes().filter(|&b| b == b'\n').count() as u64;
    }

    fn java_trace(&mut self) {
        self.header(Service::Java, "ERROR");
        let _ = write!(self.out, "Error processing message for session ");
        self.write_uuid();
        let _ = write!(self.out, " from client ");
        self.write_client();
        self.out.push(b'\n');
        self.stats.lines += 1;
        const EXC: [(&str, &str); 5] = [
            (
                "java.lang.IllegalStateException",
                "The WebSocket session has been closed and no method (apart from close()) may be called on a closed session",
            ),
            ("java.lang.NullPointerException", "Cannot invoke \"com.example.chat.model.Room.getId()\" because \"room\" is null"),
            (
                "com.fasterxml.jackson.core.JsonParseException",
                "Unexpected character ('}' (code 125)): was expecting double-quote to start field name",
            ),
            ("java.io.IOException", "Broken pipe"),
            ("java.util.concurrent.TimeoutException", "Send timed out after 30000 ms"),
        ];
        let (exc, msg) = EXC[self.rng.below(EXC.len())];
        let _ = writeln!(self.out, "{exc}: {msg}");
        self.stats.lines += 1;
        self.lines(
            "\tat com.example.chat.ws.MessageRouter.route(MessageRouter.java:88)\n\tat com.example.chat.ws.ChatEndpoint.onMessage(ChatEndpoint.java:61)\n\tat jdk.internal.reflect.GeneratedMethodAccessor42.invoke(Unknown Source)\n\tat java.base/jdk.internal.reflect.DelegatingMethodAccessorImpl.invoke(DelegatingMethodAccessorImpl.java:43)\n\tat java.base/java.lang.reflect.Method.invoke(Method.java:568)\n\tat org.apache.tomcat.websocket.pojo.PojoMessageHandlerWholeBase.onMessage(PojoMessageHandlerWholeBase.java:80)\n\tat org.apache.tomcat.websocket.WsFrameBase.sendMessageText(WsFrameBase.java:415)\n\tat org.apache.tomcat.websocket.server.WsFrameServer.sendMessageText(WsFrameServer.java:129)\n\tat org.apache.tomcat.websocket.WsFrameBase.processDataText(WsFrameBase.java:515)\n\tat org.apache.tomcat.websocket.WsFrameBase.processData(WsFrameBase.java:301)\n\tat org.apache.tomcat.websocket.WsFrameBase.processInputBuffer(WsFrameBase.java:133)\n\tat org.apache.tomcat.websocket.server.WsFrameServer.onDataAvailable(WsFrameServer.java:85)\n",
        );
        let extra = self.rng.range(0, 14);
        for i in 0..extra {
            let _ = writeln!(
                self.out,
                "\tat org.apache.coyote.http11.Http11Processor.service{}(Http11Processor.java:{})",
                ["", "Upgrade", "Socket", "Internal"][i % 4],
                300 + i * 17
            );
            self.stats.lines += 1;
        }
        self.lines(
            "\tat org.apache.tomcat.util.net.NioEndpoint$SocketProcessor.doRun(NioEndpoint.java:1769)\n\tat org.apache.tomcat.util.net.SocketProcessorBase.run(SocketProcessorBase.java:49)\n\tat java.base/java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1136)\n\tat java.base/java.util.concurrent.ThreadPoolExecutor$Worker.run(ThreadPoolExecutor.java:635)\n\tat org.apache.tomcat.util.threads.TaskThread$WrappingRunnable.run(TaskThread.java:61)\n\tat java.base/java.lang.Thread.run(Thread.java:840)\n",
        );
        if self.rng.chance(0.5) {
            self.lines(
                "Caused by: java.lang.NumberFormatException: For input string: \"abc\"\n\tat java.base/java.lang.NumberFormatException.forInputString(NumberFormatException.java:67)\n\tat java.base/java.lang.Integer.parseInt(Integer.java:662)\n\tat java.base/java.lang.Integer.parseInt(Integer.java:778)\n\tat com.example.chat.ws.MessageRouter.parseRoom(MessageRouter.java:142)\n\tat com.example.chat.ws.MessageRouter.route(MessageRouter.java:85)\n",
            );
            let _ = writeln!(self.out, "\t... {} more", 17 + extra);
            self.stats.lines += 1;
        }
        self.stats.traces[0] += 1;
    }

    fn python_trace(&mut self) {
        let chained = self.rng.chance(0.3);
        self.header(Service::Python, "ERROR");
        let _ = write!(self.out, "connection handler failed client=");
        self.write_client();
        self.out.push(b'\n');
        self.stats.lines += 1;
        if chained {
            self.lines(
                "Traceback (most recent call last):\n  File \"/srv/app/app/handlers.py\", line 54, in parse_message\n    payload = json.loads(raw)\n              ^^^^^^^^^^^^^^^\n  File \"/usr/lib/python3.11/json/__init__.py\", line 346, in loads\n    return _default_decoder.decode(s)\n           ^^^^^^^^^^^^^^^^^^^^^^^^^^\n  File \"/usr/lib/python3.11/json/decoder.py\", line 337, in decode\n    obj, end = self.raw_decode(s, idx=_w(s, 0).end())\n               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\njson.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)\n\nThe above exception was the direct cause of the following exception:\n\n",
            );
        }
        self.lines(
            "Traceback (most recent call last):\n  File \"/srv/app/.venv/lib/python3.11/site-packages/websockets/asyncio/server.py\", line 376, in conn_handler\n    await self.handler(connection)\n  File \"/srv/app/app/handlers.py\", line 96, in chat_handler\n    async for message in websocket:\n  File \"/srv/app/app/handlers.py\", line 104, in chat_handler\n    await dispatch(websocket, message)\n  File \"/srv/app/app/dispatch.py\", line 31, in dispatch\n    result = HANDLERS[kind](state, body)\n             ^^^^^^^^^^^^^^^^^^^^^^^^^^^\n",
        );
        let last = [
            "ZeroDivisionError: division by zero",
            "KeyError: 'room_id'",
            "ValueError: invalid message kind 'sub'",
            "app.errors.ProtocolError: bad frame sequence",
        ][self.rng.below(4)];
        let _ = writeln!(
            self.out,
            "  File \"/srv/app/app/calc.py\", line {}, in apply\n    return a / b\n           ~~^~~\n{last}",
            self.rng.range(10, 200)
        );
        self.stats.lines += 4;
        self.stats.traces[1] += 1;
    }

    fn node_trace(&mut self) {
        self.header(Service::Node, "ERROR");
        let _ = write!(self.out, "uncaught error in message handler conn=");
        self.write_uuid();
        let _ = write!(self.out, " remote=");
        self.write_client();
        self.out.push(b'\n');
        self.stats.lines += 1;
        let first = [
            "TypeError: Cannot read properties of undefined (reading 'id')",
            "RangeError: Invalid WebSocket frame: invalid status code 1005",
            "Error: write EPIPE",
            "SyntaxError: Unexpected token } in JSON at position 17",
        ][self.rng.below(4)];
        let _ = writeln!(self.out, "{first}");
        self.stats.lines += 1;
        self.lines(
            "    at handleMessage (/srv/gateway/src/handlers/chat.js:42:17)\n    at WebSocket.<anonymous> (/srv/gateway/src/server.js:88:5)\n    at WebSocket.emit (node:events:519:28)\n    at Receiver.receiverOnMessage (/srv/gateway/node_modules/ws/lib/websocket.js:1220:20)\n    at Receiver.emit (node:events:519:28)\n    at Receiver.dataMessage (/srv/gateway/node_modules/ws/lib/receiver.js:569:14)\n    at Receiver.getData (/srv/gateway/node_modules/ws/lib/receiver.js:496:10)\n    at Receiver.startLoop (/srv/gateway/node_modules/ws/lib/receiver.js:167:16)\n    at Receiver._write (/srv/gateway/node_modules/ws/lib/receiver.js:94:10)\n    at writeOrBuffer (node:internal/streams/writable:570:12)\n",
        );
        if self.rng.chance(0.3) {
            self.lines(
                "    at _write (node:internal/streams/writable:499:10) {\n  code: 'WS_ERR_INVALID_CLOSE_CODE',\n  [cause]: Error: upstream closed\n      at Socket.onClose (/srv/gateway/src/upstream.js:77:11)\n      at Socket.emit (node:events:519:28)\n}\n",
            );
        }
        self.stats.traces[2] += 1;
    }

    fn record(&mut self, trace_rate: f64) {
        self.now_ms += self.rng.range(0, 40) as i64;
        if self.rng.chance(trace_rate) {
            match self.rng.below(3) {
                0 => self.java_trace(),
                1 => self.python_trace(),
                _ => self.node_trace(),
            }
        } else {
            self.line();
        }
        self.stats.records += 1;
    }
}

/// Writes the log to `out`, buffered in 1 MiB pieces.
pub fn generate(cfg: &LogGenConfig, mut out: impl Write) -> io::Result<LogGenStats> {
    let mut g = Gen { rng: Rng(cfg.seed), now_ms: START_MS, out: Vec::with_capacity(1 << 21), stats: LogGenStats::default() };
    while g.stats.bytes + (g.out.len() as u64) < cfg.size {
        g.record(cfg.trace_rate);
        if g.out.len() >= 1 << 20 {
            out.write_all(&g.out)?;
            g.stats.bytes += g.out.len() as u64;
            g.out.clear();
        }
    }
    out.write_all(&g.out)?;
    g.stats.bytes += g.out.len() as u64;
    out.flush()?;
    Ok(g.stats)
}

/// The whole log in memory.
pub fn generate_vec(cfg: &LogGenConfig) -> (Vec<u8>, LogGenStats) {
    let mut v = Vec::with_capacity(cfg.size as usize + (64 << 10));
    let stats = generate(cfg, &mut v).unwrap_or_default();
    (v, stats)
}
