#!/usr/bin/env python3
"""Opening-handshake captures: raw-socket peers against real WebSocket libraries.

    handshake.py server       --port P --log FILE            websockets server (default settings)
    handshake.py rawclient    --port P --log FILE [CASE...]  raw-socket client: one bad upgrade request per connection
    handshake.py rawserver    --port P --log FILE [--count N] raw-socket server: a bad 101 per connection
    handshake.py libclient    --port P --log FILE [CASE...]  websockets client of the raw server
    handshake.py client-cases                                the client-side cases as JSON (node/handshake.js client)
    handshake.py expected     --samples DIR                  write samples/handshake-expected.json
    handshake.py cases                                       list the case names

Server-side rules (RFC 6455 §4.2.1, the server must refuse): the raw client
opens one TCP connection per entry of REQUEST_CASES, sends an upgrade request
that breaks the rule in one write (`GET /rule/<rule-id>[/<case>]`, a fixed
Sec-WebSocket-Key per case) and reads the server's answer: the status, the
headers and the body, then waits up to WAIT_EOF s for the server's FIN (and
closes TCP itself if none comes). If the server accepts (101), the client
closes properly: a masked Close 1000 "accepted", the server's Close, FIN.

Client-side rules (RFC 6455 §4.1, RFC 7692: the client must fail the
connection): a real client library connects to the raw server once per entry
of RESPONSE_CASES, configured as the case says (compression off, default, or
without client_max_window_bits; subprotocols offered). The raw server reads
the request path, answers with the bad 101 of that case in one write and then
only watches what the client does for up to WAIT_REACTION s: bytes it sends
(a Close frame would be parsed and echoed), its FIN or RST. After the client's
FIN it closes its side; if nothing happens, it closes first.

Every raw-peer connection ends with a `RESULT {json}` line in its log; the
library peers log `CONN {json}` (clients: the error they raised) and `HS {json}`
(websockets server: the status it answered and the handshake exception).
`expected` reads the captures with tshark, cross-checks them with those lines
and writes samples/handshake-expected.json (exit 1 on any disagreement).
"""

import argparse
import asyncio
import base64
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time

from violations import Conn, accept_of, close_body, frame, library_versions, log_records, setup_logging

WAIT_HEAD = 3.0  # seconds to wait for an HTTP head
WAIT_EOF = 1.5  # seconds to wait for the server's FIN after its answer
WAIT_REACTION = 2.0  # seconds the raw server watches the client after the bad 101
RFC_EXAMPLE_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455 §1.3, for the key dGhlIHNhbXBsZSBub25jZQ==

CAPTURES = {
    "handshake-websockets.pcap": {"port": 8772, "raw_port": 8773, "library": "websockets",
                                  "server_log": "handshake-websockets.server.log",
                                  "client_log": "handshake-websockets.client.log",
                                  "libclient_log": "handshake-websockets.libclient.log",
                                  "rawserver_log": "handshake-websockets.rawserver.log"},
    "handshake-ws.pcap": {"port": 9012, "raw_port": 9013, "library": "ws",
                          "server_log": "handshake-ws.server.log",
                          "client_log": "handshake-ws.client.log",
                          "libclient_log": "handshake-ws.libclient.log",
                          "rawserver_log": "handshake-ws.rawserver.log"},
}

# ------------------------------------------------------------------ cases

# Server-side rules: (rule id, case or None, method, header changes). A change
# maps a header of the correct request to a new value, or to None to leave it out.
REQUEST_CASES = [
    ("unsupported-version", "8", "GET", {"Sec-WebSocket-Version": "8"}),
    ("unsupported-version", "12", "GET", {"Sec-WebSocket-Version": "12"}),
    ("missing-version", None, "GET", {"Sec-WebSocket-Version": None}),
    ("missing-key", None, "GET", {"Sec-WebSocket-Key": None}),
    # base64 of "short key": 9 bytes, not 16
    ("bad-key", None, "GET", {"Sec-WebSocket-Key": "c2hvcnQga2V5"}),
    ("request-missing-connection", None, "GET", {"Connection": None}),
    ("missing-host", None, "GET", {"Host": None}),
    ("bad-request-line", None, "POST", {}),
]

# Client-side rules: (rule id, case or None, client configuration, response
# header changes). Client configuration: compression "off" (no extension
# offered), "default" (the library's default permessage-deflate offer) or
# "no-client-bits" (permessage-deflate offered without client_max_window_bits);
# protocols: the subprotocols the client offers.
OFF = {"compression": "off", "protocols": []}
DEFLATE = {"compression": "default", "protocols": []}
RESPONSE_CASES = [
    ("bad-accept", None, OFF, {"Sec-WebSocket-Accept": RFC_EXAMPLE_ACCEPT}),
    ("missing-accept", None, OFF, {"Sec-WebSocket-Accept": None}),
    ("missing-upgrade-header", None, OFF, {"Upgrade": "websockets"}),
    ("missing-connection-header", None, OFF, {"Connection": None}),
    ("extension-not-offered", "permessage-deflate", OFF, {"Sec-WebSocket-Extensions": "permessage-deflate"}),
    ("extension-not-offered", "x-custom", OFF, {"Sec-WebSocket-Extensions": "x-custom"}),
    ("subprotocol-not-offered", "none-offered", OFF, {"Sec-WebSocket-Protocol": "superchat"}),
    ("subprotocol-not-offered", "chat-offered", {"compression": "off", "protocols": ["chat"]},
     {"Sec-WebSocket-Protocol": "superchat"}),
    ("deflate-bad-value", None, DEFLATE,
     {"Sec-WebSocket-Extensions": "permessage-deflate; server_max_window_bits=16"}),
    ("deflate-duplicate-parameter", None, DEFLATE,
     {"Sec-WebSocket-Extensions": "permessage-deflate; server_no_context_takeover; server_no_context_takeover"}),
    ("deflate-window-bits-not-offered", None, {"compression": "no-client-bits", "protocols": []},
     {"Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits=10"}),
    ("deflate-bad-parameter", None, DEFLATE,
     {"Sec-WebSocket-Extensions": "permessage-deflate; x_unknown_parameter=1"}),
]


def path_of(rule, case):
    return f"/rule/{rule}" + (f"/{case}" if case else "")


REQUEST_PATHS = [path_of(r, c) for r, c, *_ in REQUEST_CASES]
RESPONSE_PATHS = [path_of(r, c) for r, c, *_ in RESPONSE_CASES]
PATH_RE = re.compile(r"/rule/([a-z0-9-]+)(?:/([A-Za-z0-9.-]+))?")


def apply_changes(headers, changes):
    """headers: list of (name, value); changes: name -> value or None (drop)."""
    out = []
    for name, value in headers:
        if name in changes:
            if changes[name] is not None:
                out.append((name, changes[name]))
        else:
            out.append((name, value))
    for name, value in changes.items():
        if value is not None and name not in [n for n, _ in headers]:
            out.append((name, value))
    return out


def head_bytes(first_line, headers):
    return (first_line + "\r\n" + "".join(f"{n}: {v}\r\n" for n, v in headers) + "\r\n").encode()


def parse_head(head):
    lines = head.split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        key = name.strip().lower()
        headers[key] = headers[key] + ", " + value.strip() if key in headers else value.strip()
    return lines[0], headers


# ------------------------------------------------------------------ raw client (server-side rules)

def run_request_case(port, rule, case, method, changes, log):
    path = path_of(rule, case)
    key = base64.b64encode(hashlib.md5(path.encode()).digest()).decode()
    headers = apply_changes([("Host", f"127.0.0.1:{port}"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
                             ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", "13")], changes)
    request = head_bytes(f"{method} {path} HTTP/1.1", headers)
    result = {"rule": rule, "case": case, "path": path, "request": request.decode()}
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c = Conn(sock)
    result["client_port"] = sock.getsockname()[1]
    log.info("%s: connected from 127.0.0.1:%d", path, result["client_port"])
    sock.sendall(request)
    log.info("%s: sent %r", path, request.decode())
    try:
        head = c.read_http(time.monotonic() + WAIT_HEAD)
    except RuntimeError as exc:
        log.info("%s: %s", path, exc)
        result.update(status=None, server_tcp_end=c.eof)
        head = None
    if head is not None:
        status_line, rh = parse_head(head)
        status = int(status_line.split(" ")[1])
        result.update(status=status, status_line=status_line, headers=rh)
        log.info("%s: answer %r", path, head)
        if status == 101:
            ok = rh.get("sec-websocket-accept") == accept_of(key)
            result["accept_ok"] = ok
            sock.sendall(frame(0x8, close_body(1000, b"accepted")))
            log.info("%s: the server accepted; sent close 1000 'accepted'", path)
            result["client_action"] = "close-1000"
            f = c.read_frame(time.monotonic() + WAIT_EOF)
            while f is not None and f[2] != 0x8:
                f = c.read_frame(time.monotonic() + WAIT_EOF)
            if f is not None:
                result["close_reply"] = int.from_bytes(f[4][:2], "big") if len(f[4]) >= 2 else None
                log.info("%s: server answered close %s", path, result["close_reply"])
        else:
            n = int(rh.get("content-length", "0") or 0)
            deadline = time.monotonic() + WAIT_EOF
            while len(c.buf) < n and c.fill(deadline):
                pass
            body, c.buf = c.buf[:n], c.buf[n:]
            result["body"] = body.decode("utf-8", "replace")
            log.info("%s: body %r", path, result["body"])
        eof = c.wait_eof(time.monotonic() + WAIT_EOF)
        result["server_tcp_end"] = eof
        if eof is None:
            result.setdefault("client_action", "tcp-close")
        log.info("%s: server TCP end: %s", path, eof or f"none within {WAIT_EOF} s (client closes)")
    sock.close()
    log.info("RESULT %s", json.dumps(result, sort_keys=True))
    return result


def raw_client(args):
    log = setup_logging(args.log, "rawclient")
    for rule, case, method, changes in REQUEST_CASES:
        if args.cases and path_of(rule, case) not in args.cases:
            continue
        run_request_case(args.port, rule, case, method, changes, log)
        time.sleep(0.1)


# ------------------------------------------------------------------ raw server (client-side rules)

def response_for(path, key):
    rule, case, _cfg, changes = next(c for c in RESPONSE_CASES if path_of(c[0], c[1]) == path)
    headers = apply_changes([("Upgrade", "websocket"), ("Connection", "Upgrade"),
                             ("Sec-WebSocket-Accept", accept_of(key))], changes)
    return rule, case, head_bytes("HTTP/1.1 101 Switching Protocols", headers)


def raw_server(args):
    log = setup_logging(args.log, "rawserver")
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", args.port))
    lsock.listen(4)
    log.info("raw server listening on 127.0.0.1:%d", args.port)
    for _ in range(args.count or len(RESPONSE_CASES)):
        sock, addr = lsock.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c = Conn(sock)
        peer = f"{addr[0]}:{addr[1]}"
        head = c.read_http(time.monotonic() + WAIT_HEAD)
        line, rh = parse_head(head)
        path = line.split(" ")[1]
        log.info("client %s: %r", peer, head)
        rule, case, response = response_for(path, rh["sec-websocket-key"])
        result = {"rule": rule, "case": case, "path": path, "client_port": addr[1],
                  "offer": {"extensions": rh.get("sec-websocket-extensions"),
                            "protocols": rh.get("sec-websocket-protocol")},
                  "response": response.decode()}
        sock.sendall(response)
        t0 = time.monotonic()
        log.info("client %s: sent %r", peer, response.decode())
        # Watch the client: any byte it sends, and how it ends TCP.
        received = []
        deadline = t0 + WAIT_REACTION
        nbytes = 0
        while True:
            before = len(c.buf)
            if not c.fill(deadline):
                break
            nbytes += len(c.buf) - before
            closed = False
            while (f := c.read_frame(time.monotonic())) is not None:  # only what is buffered
                fin, rsv, opcode, masked, payload = f
                item = {"opcode": opcode, "masked": masked, "len": len(payload)}
                if opcode == 0x8:
                    item["code"] = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                    sock.sendall(frame(0x8, payload[:2], mask=False))
                    log.info("client %s: received close %s; echoed it", peer, item["code"])
                    closed = True
                received.append(item)
            if closed:
                # The client accepted the 101 and closed properly: the server
                # closes TCP first (RFC 6455 §7.1.1).
                time.sleep(0.1)
                break
        result["client_bytes"] = nbytes
        result["client_frames"] = received
        result["client_tcp_end"] = c.eof
        result["client_end_after_s"] = round(time.monotonic() - t0, 3) if c.eof else None
        if c.eof:
            log.info("client %s: client ended TCP with %s %.3f s after the 101 (%d bytes sent)", peer,
                     c.eof, time.monotonic() - t0, nbytes)
        else:
            log.info("client %s: no TCP end from the client in %.1f s (%d bytes sent); closing", peer,
                     WAIT_REACTION, nbytes)
        sock.close()
        log.info("RESULT %s", json.dumps(result, sort_keys=True))
    lsock.close()


# ------------------------------------------------------------------ websockets peers

async def lib_server(args):
    import signal

    import websockets
    from websockets.asyncio.server import serve

    log = setup_logging(args.log, "app")

    async def handler(ws):
        peer = "%s:%d" % ws.remote_address[:2]
        log.info("client %s connected path=%s (the server accepted the request)", peer, ws.request.path)
        try:
            async for message in ws:
                await ws.send(message)
        except Exception as exc:
            log.info("client %s handler ended: %s: %s", peer, type(exc).__name__, exc)
        await ws.wait_closed()
        log.info("client %s closed: close_rcvd=%s close_sent=%s", peer,
                 ws.protocol.close_rcvd.code if ws.protocol.close_rcvd else None,
                 ws.protocol.close_sent.code if ws.protocol.close_sent else None)

    def process_response(conn, request, response):
        # Only logs: the response is the library's own (None keeps it).
        exc = conn.protocol.handshake_exc
        log.info("HS %s", json.dumps({
            "path": request.path, "peer": "%s:%d" % conn.remote_address[:2],
            "method": getattr(request, "method", "GET"),
            "status": response.status_code, "reason": response.reason_phrase,
            "headers": {k: v for k, v in response.headers.raw_items()},
            "error": f"{type(exc).__name__}: {exc}" if exc else None,
        }, sort_keys=True))
        return None

    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, "SIGTERM")
    loop.add_signal_handler(signal.SIGINT, stop.set_result, "SIGINT")
    log.info("handshake server (websockets %s), default settings (compression=deflate)", websockets.__version__)
    async with serve(handler, "127.0.0.1", args.port, process_response=process_response,
                     ping_interval=None, close_timeout=3) as server:
        signame = await stop
        log.info("received %s, shutting down", signame)
        server.close()
        await server.wait_closed()
    log.info("bye")


def client_kwargs(cfg):
    from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

    kw = {"ping_interval": None, "close_timeout": 3, "open_timeout": 5}
    if cfg["compression"] == "off":
        kw["compression"] = None
    elif cfg["compression"] == "no-client-bits":
        kw["compression"] = None
        kw["extensions"] = [ClientPerMessageDeflateFactory(client_max_window_bits=None,
                                                           compress_settings={"memLevel": 5})]
    if cfg["protocols"]:
        kw["subprotocols"] = cfg["protocols"]
    return kw


async def lib_client(args):
    from websockets.asyncio.client import connect

    log = setup_logging(args.log, "libclient")
    for rule, case, cfg, _ in RESPONSE_CASES:
        path = path_of(rule, case)
        if args.cases and path not in args.cases:
            continue
        record = {"path": path, "config": cfg, "opened": False, "error": None}
        try:
            async with connect(f"ws://127.0.0.1:{args.port}{path}", **client_kwargs(cfg)) as ws:
                record["opened"] = True
                log.info("%s: connected (the client ACCEPTED the handshake); closing with 1000", path)
                await ws.close(1000, "accepted")
        except Exception as exc:
            record["error"] = f"{type(exc).__name__}: {exc}"
            if exc.__cause__ is not None:
                record["cause"] = f"{type(exc.__cause__).__name__}: {exc.__cause__}"
            log.info("%s: connect failed: %s", path, record["error"])
        log.info("CONN %s", json.dumps(record, sort_keys=True))
        await asyncio.sleep(0.1)


# ------------------------------------------------------------------ expected facts

TSHARK_FIELDS = ["frame.number", "frame.time_relative", "tcp.stream", "tcp.srcport", "tcp.dstport", "tcp.len",
                 "tcp.flags.syn", "tcp.flags.fin", "tcp.flags.reset", "http.request.method", "http.request.uri",
                 "http.response.code", "websocket.opcode", "websocket.payload.close.status_code"]


def tshark_rows(cap, ports):
    cmd = ["tshark", "-n", "-r", cap, "-o", "tcp.desegment_tcp_streams:TRUE", "-o", "tcp.check_checksum:FALSE"]
    for p in ports:
        cmd += ["-d", f"tcp.port=={p},http"]
    cmd += ["-T", "fields", "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=|"]
    for f in TSHARK_FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        vals = line.split("\t")
        vals += [""] * (len(TSHARK_FIELDS) - len(vals))
        rows.append(dict(zip(TSHARK_FIELDS, vals)))
    return rows


def flag(r, name):
    return r[name] in ("1", "True")


def connection_facts(cap, s, pk, meta, logs, versions, errors):
    lib = meta["library"]
    server_port = int(pk[0]["tcp.dstport"])  # the SYN goes to the server
    if not flag(pk[0], "tcp.flags.syn"):
        errors.append(f"{cap} stream {s}: does not start with a SYN")

    def dir_of(r):
        return "c2s" if int(r["tcp.dstport"]) == server_port else "s2c"

    req = next((r for r in pk if r["http.request.uri"]), None)
    resp = next((r for r in pk if r["http.response.code"]), None)
    uri = req["http.request.uri"] if req else None
    m = PATH_RE.fullmatch(uri or "")
    if not m:
        errors.append(f"{cap} stream {s}: no /rule/ request ({uri!r})")
        return None
    rule, case = m.groups()
    raw_server_side = server_port == meta["raw_port"]  # the bad head is the raw server's 101
    fins = [(int(r["frame.number"]), dir_of(r)) for r in pk if flag(r, "tcp.flags.fin")]
    rsts = [(int(r["frame.number"]), dir_of(r)) for r in pk if flag(r, "tcp.flags.reset")]
    status = int(resp["http.response.code"]) if resp else None
    resp_pkt = int(resp["frame.number"]) if resp else None
    entry = {"capture": cap, "tcp_stream": s, "rule": rule, "case": case, "path": uri}
    if not raw_server_side:
        result = logs["client"].get(uri)
        if result is None:
            errors.append(f"{cap} stream {s}: no RESULT line for {uri}")
            return None
        if result.get("status") != status:
            errors.append(f"{cap} stream {s} {uri}: raw client saw status {result.get('status')}, tshark {status}")
        headers = result.get("headers", {})
        server_end = next(((p, "fin") for p, d in fins if d == "s2c"), None)
        rst = next(((p, "rst") for p, d in rsts if d == "s2c"), None)
        reported = logs["server"].get(uri)
        if lib == "websockets" and status is not None:
            if reported is None:
                errors.append(f"{cap} stream {s} {uri}: no HS line in the websockets server log")
            elif reported["status"] != status:
                errors.append(f"{cap} stream {s} {uri}: websockets logged {reported['status']}, tshark {status}")
        entry.update({
            "side": "server-side",
            "sender": "client",
            "direction": "c2s",
            "bad_head": "request",
            "bad_head_packet": int(req["frame.number"]),
            "receiver": f"{lib} {versions[lib]} server",
            "method": req["http.request.method"],
            "observed": {
                "http_status": status,
                "status_line": result.get("status_line"),
                "response_packet": resp_pkt,
                "sec_websocket_version": headers.get("sec-websocket-version"),
                "upgrade": headers.get("upgrade"),
                "connection": headers.get("connection"),
                "body": result.get("body"),
                "server_tcp_end": (server_end or rst or (None, None))[1],
                "server_tcp_end_packet": (server_end or rst or (None, None))[0],
                "first_fin_from": fins[0][1] if fins else None,
                "close_reply": result.get("close_reply"),
            },
            "refused": status != 101,
            "library_report": reported,
        })
    else:
        result = logs["rawserver"].get(uri)
        report = logs["libclient"].get(uri)
        if result is None or report is None:
            errors.append(f"{cap} stream {s} {uri}: RESULT {result is not None}, CONN {report is not None}")
            return None
        if status != 101:
            errors.append(f"{cap} stream {s} {uri}: the raw server's answer is {status}, not 101")
        after = [r for r in pk if resp_pkt and int(r["frame.number"]) > resp_pkt and dir_of(r) == "c2s"]
        sent = sum(int(r["tcp.len"] or 0) for r in after)
        frames = [int(op) for r in after for op in (r["websocket.opcode"].split("|") if r["websocket.opcode"] else [])]
        c_fin = next((p for p, d in fins if d == "c2s"), None)
        c_rst = next((p for p, d in rsts if d == "c2s"), None)
        tcp_end = "fin" if c_fin and (not c_rst or c_fin < c_rst) else ("rst" if c_rst else None)
        end_pkt = c_fin if tcp_end == "fin" else c_rst
        t_resp = float(resp["frame.time_relative"])
        t_end = next((float(r["frame.time_relative"]) for r in pk if int(r["frame.number"]) == end_pkt), None)
        if tcp_end != result["client_tcp_end"]:
            errors.append(f"{cap} stream {s} {uri}: raw server saw client TCP end {result['client_tcp_end']}, "
                          f"tshark {tcp_end}")
        if sent != result["client_bytes"]:
            errors.append(f"{cap} stream {s} {uri}: raw server got {result['client_bytes']} bytes, tshark {sent}")
        if report["opened"] != bool(frames):
            errors.append(f"{cap} stream {s} {uri}: library opened={report['opened']}, frames on the wire {frames}")
        entry.update({
            "side": "client-side",
            "sender": "server",
            "direction": "s2c",
            "bad_head": "response",
            "bad_head_packet": resp_pkt,
            "receiver": f"{lib} {versions[lib]} client",
            "client_config": next(c[2] for c in RESPONSE_CASES if path_of(c[0], c[1]) == uri),
            "client_offer": result["offer"],
            "observed": {
                "http_status": status,
                "client_failed": not report["opened"],
                "client_sent_bytes_after_101": sent,
                "client_frames_after_101": frames,
                "client_tcp_end": tcp_end,
                "client_tcp_end_packet": end_pkt,
                "client_tcp_end_after_s": round(t_end - t_resp, 6) if t_end is not None else None,
                "first_fin_from": fins[0][1] if fins else None,
                "client_error": report["error"],
            },
            "refused": not report["opened"],
            "library_report": report,
        })
    entry["rst"] = [{"packet": p, "from": d} for p, d in rsts]
    return entry


def expected(args):
    samples = args.samples
    entries, errors = [], []
    versions = library_versions()
    for cap, meta in CAPTURES.items():
        capfile = os.path.join(samples, cap)
        if not os.path.exists(capfile):
            errors.append(f"{cap}: missing")
            continue
        rows = tshark_rows(capfile, [meta["port"], meta["raw_port"]])
        logs = {
            "client": {r["path"]: r for r in log_records(os.path.join(samples, meta["client_log"]), "RESULT")},
            "rawserver": {r["path"]: r for r in log_records(os.path.join(samples, meta["rawserver_log"]), "RESULT")},
            "libclient": {r["path"]: r for r in log_records(os.path.join(samples, meta["libclient_log"]), "CONN")},
            "server": {r["path"]: r for r in log_records(os.path.join(samples, meta["server_log"]), "HS")},
        }
        streams = {}
        for r in rows:
            streams.setdefault(int(r["tcp.stream"]), []).append(r)
        want = REQUEST_PATHS + RESPONSE_PATHS
        if sorted(streams) != list(range(len(want))):
            errors.append(f"{cap}: tcp.stream values {sorted(streams)}, want 0..{len(want) - 1}")
        paths = []
        for s in sorted(streams):
            e = connection_facts(cap, s, streams[s], meta, logs, versions, errors)
            if e:
                entries.append(e)
                paths.append(e["path"])
        if paths != want:
            errors.append(f"{cap}: connections in the order {paths}, want {want}")
    out = {
        "about": "Handshake captures: for each TCP connection, the opening-handshake rule broken by the raw-socket "
                 "peer and the reaction of the real library on the other side, as observed in the capture (tshark) "
                 "and cross-checked with the raw peer's RESULT line and the library's own log. Written by "
                 "scripts/record-samples/handshake.py expected. See samples/README.md, 'Handshake captures'.",
        "fields": {
            "tcp_stream": "0-based connection index in the capture (tshark tcp.stream = wsforensics conn_id)",
            "side": "server-side: a bad request to the library's server; client-side: a bad 101 to the library's client",
            "sender": "the side that sent the bad head (client = raw-socket client, server = raw-socket server)",
            "direction": "direction of the bad head: c2s (request) or s2c (response)",
            "bad_head_packet": "frame.number of the packet that completes the bad HTTP head (tshark)",
            "observed.http_status": "the status of the response on the wire (the library server's answer for "
                                    "server-side rules; always the raw server's 101 for client-side rules)",
            "observed.client_failed": "client-side: the library client raised an error instead of opening",
            "observed.client_sent_bytes_after_101": "client-side: TCP payload bytes the client sent after the 101",
            "observed.client_tcp_end": "client-side: how the client ended TCP (fin/rst), from the capture",
            "observed.client_error": "client-side: the error the library client reported",
            "refused": "the library refused: a non-101 answer (server-side) or a failed connection (client-side)",
            "library_report": "what the library logged (websockets server: HS line; clients: CONN line)",
        },
        "versions": versions,
    }
    text = json.dumps(out, indent=1, ensure_ascii=False)[:-2]
    text += ',\n "entries": [\n'
    text += ",\n".join("  " + json.dumps(e, ensure_ascii=False) for e in entries)
    text += "\n ]\n}\n"
    json.loads(text)
    with open(os.path.join(samples, "handshake-expected.json"), "w", encoding="utf-8") as fh:
        fh.write(text)
    for e in errors:
        print("FAIL", e, file=sys.stderr)
    print(f"handshake-expected.json: {len(entries)} connections, {len(errors)} disagreements", file=sys.stderr)
    return 1 if errors else 0


# ------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("role", choices=["server", "rawclient", "rawserver", "libclient", "client-cases", "expected",
                                     "cases"])
    ap.add_argument("cases", nargs="*", help="rawclient/libclient: paths /rule/... (default: all)")
    ap.add_argument("--port", type=int)
    ap.add_argument("--log")
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--samples", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "samples"))
    args = ap.parse_args()
    if args.role == "server":
        asyncio.run(lib_server(args))
    elif args.role == "rawclient":
        raw_client(args)
    elif args.role == "rawserver":
        raw_server(args)
    elif args.role == "libclient":
        asyncio.run(lib_client(args))
    elif args.role == "client-cases":
        print(json.dumps([{"path": path_of(r, c), "rule": r, "case": c, **cfg} for r, c, cfg, _ in RESPONSE_CASES]))
    elif args.role == "expected":
        return expected(args)
    else:
        print("\n".join(REQUEST_PATHS + RESPONSE_PATHS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
