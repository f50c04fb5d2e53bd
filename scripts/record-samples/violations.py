#!/usr/bin/env python3
"""Protocol-violation captures: raw-socket peers against real WebSocket libraries.

    violations.py server    --port P --log FILE [--max-size N]   websockets echo server
    violations.py rawclient --port P --log FILE [CASE...]        raw-socket client (no WebSocket library)
    violations.py rawserver --port P --log FILE [--count N]      raw-socket server (sends a masked frame)
    violations.py libclient --port P --log FILE                  websockets client of the raw server
    violations.py expected  --samples DIR                        write samples/violations-expected.json
    violations.py cases                                          list the case names

The raw client opens one TCP connection per case (see CASES), does a correct
opening handshake (`GET /rule/<rule-id>/<case>`, offering permessage-deflate
when the case needs it and checking that the server agreed), sends the
offending bytes in one write, then reads what the server does:
  * a Close frame: if the client has not sent a Close itself, it echoes the
    code (RFC 6455 §5.5.1), then waits up to WAIT_EOF s for the server's FIN.
    After the length-msb-set frame it does not echo: whatever it sent would be
    payload of its own unfinished frame;
  * nothing within WAIT_REACTION s (a lenient server): it closes normally with
    1000 "no reaction" (or, when the server is stuck inside a frame of declared
    length 2^63+5, it just closes TCP).
Every case ends with a `RESULT {json}` line in the client log: what the client
sent and received. The `server` (websockets) and node/violations.js (ws) log
what the library reported for each connection (the code it sent, the error).

The raw server accepts a WebSocket handshake and sends a masked text frame
(servers must not mask, RFC 6455 §5.1); a real client library connects to it
(`libclient` here, `node/violations.js client` for ws) and its reaction is
recorded.

`expected` reads the captures with tshark and writes, for every connection,
the facts observed on the wire (rule, sender, tcp.stream, the Close frames of
the receiving library and their packets), cross-checked against the RESULT lines
and the library logs. It exits 1 if anything disagrees.
"""

import argparse
import asyncio
import base64
import hashlib
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
import zlib

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
WAIT_REACTION = 1.0  # seconds to wait for the server's reaction to the bad bytes
WAIT_EOF = 1.5  # seconds to wait for the server's FIN after the closing handshake
PAUSE = 0.05  # between the handshake and the bad bytes, so they are separate segments
MAX_SIZE = 1024  # the servers' message size limit (websockets max_size, ws maxPayload)

# The captures this script describes: name -> (library server port, raw server port,
# library, version source).
CAPTURES = {
    "violations-websockets.pcap": {"port": 8770, "raw_port": 8771, "library": "websockets",
                                   "server_log": "violations-websockets.server.log",
                                   "client_log": "violations-websockets.client.log",
                                   "libclient_log": "violations-websockets.libclient.log",
                                   "rawserver_log": "violations-websockets.rawserver.log"},
    "violations-ws.pcap": {"port": 9010, "raw_port": 9011, "library": "ws",
                           "server_log": "violations-ws.server.log",
                           "client_log": "violations-ws.client.log",
                           "libclient_log": "violations-ws.libclient.log",
                           "rawserver_log": "violations-ws.rawserver.log"},
}


# ------------------------------------------------------------------ frames

def frame(opcode, payload=b"", *, fin=True, rsv=0, mask=True, length=None, key=b"\x37\xfa\x21\x3d"):
    """One frame. rsv: 4 = RSV1, 2 = RSV2, 1 = RSV3. length: 'min' (default),
    '16' or '64' to force a length form, or an int to put a false 64-bit length."""
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload)
    m = 0x80 if mask else 0
    if isinstance(length, int):
        head = bytes([b0, m | 127]) + length.to_bytes(8, "big")
    elif length == "16" or (length is None and 126 <= n < 65536):
        head = bytes([b0, m | 126]) + n.to_bytes(2, "big")
    elif length == "64" or (length is None and n >= 65536):
        head = bytes([b0, m | 127]) + n.to_bytes(8, "big")
    else:
        head = bytes([b0, m | n])
    if not mask:
        return head + payload
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def close_body(code, reason=b""):
    return code.to_bytes(2, "big") + reason


def deflate_parts(text, split):
    """Raw-deflate `text` (one message, RFC 7692 §7.2.1: sync flush, tail removed)
    and cut the result in two at byte `split`."""
    c = zlib.compressobj(wbits=-15)
    data = c.compress(text) + c.flush(zlib.Z_SYNC_FLUSH)
    assert data.endswith(b"\x00\x00\xff\xff")
    data = data[:-4]
    return data[:split], data[split:]


_DEFLATED_A, _DEFLATED_B = deflate_parts(b"compressed message, " * 4, 6)

# The UTF-8 test string of Autobahn case 6.4.x: "κόσμε" + ED A0 80 (a UTF-16
# surrogate, not allowed in UTF-8) + "edited".
AUTOBAHN_BAD_UTF8 = bytes.fromhex("cebae1bdb9cf83cebcceb5eda080656469746564")

# (rule id, case, needs permessage-deflate, bad bytes, flags)
# Flags: "own-close": the bad bytes contain a valid Close of the client's own,
# so the server's Close answers that Close, not the violation; "stuck": the
# server may wait for the rest of a frame forever, and any later byte of the
# client is payload of that frame (the client sends no Close after it).
CASES = [
    ("rsv-bits-without-extension", "rsv2", False, frame(0x1, b"hello", rsv=2), ()),
    ("reserved-opcode", "opcode-3", False, frame(0x3, b"hello"), ()),
    ("reserved-opcode", "opcode-11", False, frame(0xB, b"hello"), ()),
    ("fragmented-control-frame", "ping-fin0", False, frame(0x9, b"ping", fin=False), ()),
    ("control-frame-too-long", "ping-126", False, frame(0x9, b"p" * 126), ()),
    ("unmasked-client-frame", "text", False, frame(0x1, b"hello", mask=False), ()),
    ("continuation-without-message", "cont", False, frame(0x0, b"orphan"), ()),
    ("message-interrupted", "text-then-text", False,
     frame(0x1, b"part-one ", fin=False) + frame(0x1, b"new message"), ()),
    ("non-minimal-length", "len16-5", False, frame(0x1, b"hello", length="16"), ()),
    ("close-payload-one-byte", "body-03", False, frame(0x8, b"\x03"), ()),
    ("invalid-close-code", "1005", False, frame(0x8, close_body(1005)), ()),
    ("invalid-close-code", "999", False, frame(0x8, close_body(999)), ()),
    ("close-reason-too-long", "body-126", False, frame(0x8, close_body(1000, b"r" * 124)), ()),
    ("invalid-utf8-close-reason", "c3-28", False, frame(0x8, close_body(1000, b"bye \xc3\x28")), ()),
    ("invalid-utf8-text", "surrogate", False, frame(0x1, AUTOBAHN_BAD_UTF8), ()),
    ("invalid-utf8-text", "ff", False, frame(0x1, b"\xff"), ()),
    ("frame-after-close", "close-then-text", False,
     frame(0x8, close_body(1000, b"bye")) + frame(0x1, b"after close"), ("own-close",)),
    ("message-too-big", "text-2000", False, frame(0x1, b"m" * 2000), ()),
    ("rsv1-on-control", "ping-rsv1", True, frame(0x9, b"ping", rsv=4), ()),
    ("rsv1-on-continuation", "cont-rsv1", True,
     frame(0x1, _DEFLATED_A, rsv=4, fin=False) + frame(0x0, _DEFLATED_B, rsv=4), ()),
    ("deflate-error", "block-type-3", True, frame(0x1, b"\x07not deflate", rsv=4), ()),
    # Last: a declared length of 2^63 + 5 (top bit set); a server that does
    # not check it waits for the payload.
    ("length-msb-set", "len64-msb", False, frame(0x1, b"hello", length=(1 << 63) + 5), ("stuck",)),
]

CASE_NAMES = [f"{rule}/{case}" for rule, case, *_ in CASES]


def path_of(rule, case):
    return f"/rule/{rule}/{case}"


# ------------------------------------------------------------------ raw client

class Conn:
    """A plain TCP socket with a receive buffer."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.eof = None  # "fin" or "rst" once the peer ended the connection

    def fill(self, deadline):
        if self.eof:
            return False
        timeout = deadline - time.monotonic()
        if timeout <= 0:
            return False
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            self.eof = "rst"
            return False
        if not data:
            self.eof = "fin"
            return False
        self.buf += data
        return True

    def read_http(self, deadline):
        while b"\r\n\r\n" not in self.buf:
            if not self.fill(deadline):
                raise RuntimeError(f"no HTTP response (eof={self.eof}, got {self.buf!r})")
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        return head.decode("latin-1")

    def read_frame(self, deadline):
        """Parse one frame from the peer: (fin, rsv, opcode, masked, payload) or None."""
        while True:
            f = parse_frame(self.buf)
            if f is not None:
                (fin, rsv, opcode, masked, payload), used = f
                self.buf = self.buf[used:]
                return fin, rsv, opcode, masked, payload
            if not self.fill(deadline):
                return None

    def wait_eof(self, deadline):
        while not self.eof and self.fill(deadline):
            pass
        return self.eof


def parse_frame(buf):
    if len(buf) < 2:
        return None
    b0, b1 = buf[0], buf[1]
    n = b1 & 0x7F
    pos = 2
    if n == 126:
        if len(buf) < 4:
            return None
        n = int.from_bytes(buf[2:4], "big")
        pos = 4
    elif n == 127:
        if len(buf) < 10:
            return None
        n = int.from_bytes(buf[2:10], "big")
        pos = 10
    masked = bool(b1 & 0x80)
    key = b""
    if masked:
        if len(buf) < pos + 4:
            return None
        key = buf[pos:pos + 4]
        pos += 4
    if len(buf) < pos + n:
        return None
    payload = buf[pos:pos + n]
    if masked:
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return (bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0x0F, masked, payload), pos + n


def accept_of(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def run_case(port, rule, case, deflate, bad, flags, log):
    path = path_of(rule, case)
    # A fixed key per case, so a re-recording sends the same bytes.
    key = base64.b64encode(hashlib.md5(path.encode()).digest()).decode()
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n")
    if deflate:
        request += "Sec-WebSocket-Extensions: permessage-deflate\r\n"
    request += "\r\n"
    result = {"rule": rule, "case": case, "path": path, "sent_hex": bad.hex() if len(bad) <= 64 else
              bad[:64].hex() + f"...({len(bad)} bytes)"}
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c = Conn(sock)
    result["client_port"] = sock.getsockname()[1]
    log.info("%s: connected from 127.0.0.1:%d", path, result["client_port"])
    sock.sendall(request.encode())
    head = c.read_http(time.monotonic() + 5)
    lines = head.split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
    if not lines[0].startswith("HTTP/1.1 101"):
        raise RuntimeError(f"{path}: handshake refused: {lines[0]}")
    if headers.get("sec-websocket-accept") != accept_of(key):
        raise RuntimeError(f"{path}: bad Sec-WebSocket-Accept")
    ext = headers.get("sec-websocket-extensions", "")
    result["extensions"] = ext
    if deflate and not ext.startswith("permessage-deflate"):
        raise RuntimeError(f"{path}: permessage-deflate not agreed ({ext!r})")
    if not deflate and ext:
        raise RuntimeError(f"{path}: unexpected extension {ext!r}")
    log.info("%s: 101, extensions=%r", path, ext)
    time.sleep(PAUSE)
    sock.sendall(bad)
    first = parse_frame(bad)
    client_closed = first is not None and first[0][2] == 0x8  # the bad bytes start with a Close
    log.info("%s: sent %d bad bytes (%s)", path, len(bad), result["sent_hex"])
    received = []
    server_close = None
    deadline = time.monotonic() + WAIT_REACTION
    while True:
        f = c.read_frame(deadline)
        if f is None:
            break
        fin, rsv, opcode, masked, payload = f
        item = {"opcode": opcode, "fin": fin, "rsv": rsv, "masked": masked, "len": len(payload)}
        if opcode == 0x8:
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
            reason = payload[2:].decode("utf-8", "replace")
            item.update(code=code, reason=reason)
            server_close = item
        received.append(item)
        log.info("%s: received %s", path, item)
        if server_close:
            break
    result["received"] = received
    result["reaction"] = "close" if server_close else (c.eof or "none")
    if server_close:
        if "stuck" in flags:
            # Any byte the client sends now is payload of its own unfinished frame
            # (declared length 2^63 + 5), so it cannot answer with a Close.
            log.info("%s: not echoing the close: the client is inside its unfinished frame", path)
            result["client_action"] = "no-echo"
        elif not client_closed:
            echo = close_body(server_close["code"]) if server_close["code"] is not None else b""
            sock.sendall(frame(0x8, echo))
            log.info("%s: echoed close %s", path, server_close["code"])
            result["client_echo"] = server_close["code"]
    elif c.eof:
        log.info("%s: server ended TCP with %s and no close frame", path, c.eof)
    elif "stuck" in flags:
        log.info("%s: no reaction in %.1f s, closing TCP (the server is inside a frame)", path,
                 WAIT_REACTION)
        result["client_action"] = "tcp-close"
    else:
        log.info("%s: no reaction in %.1f s, closing with 1000", path, WAIT_REACTION)
        sock.sendall(frame(0x8, close_body(1000, b"no reaction")))
        result["client_action"] = "close-1000"
        f = c.read_frame(time.monotonic() + WAIT_EOF)
        while f is not None and f[2] != 0x8:
            received.append({"opcode": f[2], "fin": f[0], "rsv": f[1], "masked": f[3], "len": len(f[4])})
            f = c.read_frame(time.monotonic() + WAIT_EOF)
        if f is not None:
            payload = f[4]
            result["close_reply"] = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
            log.info("%s: server answered close %s", path, result["close_reply"])
    eof = c.wait_eof(time.monotonic() + WAIT_EOF)
    result["server_tcp_end"] = eof
    log.info("%s: server TCP end: %s", path, eof or "none (client closes)")
    sock.close()
    log.info("RESULT %s", json.dumps(result, sort_keys=True))
    return result


def raw_client(args):
    log = setup_logging(args.log, "rawclient")
    wanted = args.cases or CASE_NAMES
    for rule, case, deflate, bad, flags in CASES:
        if f"{rule}/{case}" not in wanted:
            continue
        run_case(args.port, rule, case, deflate, bad, flags, log)
        time.sleep(0.1)


# ------------------------------------------------------------------ raw server

def raw_server(args):
    """Accept --count WebSocket connections; send each a masked text frame."""
    log = setup_logging(args.log, "rawserver")
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", args.port))
    lsock.listen(4)
    log.info("raw server listening on 127.0.0.1:%d", args.port)
    for _ in range(args.count):
        sock, addr = lsock.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c = Conn(sock)
        head = c.read_http(time.monotonic() + 5)
        lines = head.split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
        log.info("client %s:%d: %s", addr[0], addr[1], lines[0])
        sock.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Accept: "
                      f"{accept_of(headers['sec-websocket-key'])}\r\n\r\n").encode())
        time.sleep(PAUSE)
        bad = frame(0x1, b"masked by the server")  # mask=True: a server must not
        sock.sendall(bad)
        log.info("client %s:%d: sent a masked text frame (%s)", addr[0], addr[1], bad.hex())
        f = c.read_frame(time.monotonic() + 3)
        if f is not None and f[2] == 0x8:
            payload = f[4]
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
            log.info("client %s:%d: received close %s %r (masked=%s)", addr[0], addr[1], code,
                     payload[2:].decode("utf-8", "replace"), f[3])
            sock.sendall(frame(0x8, payload[:2], mask=False))
            log.info("client %s:%d: echoed close %s", addr[0], addr[1], code)
        else:
            log.info("client %s:%d: no close frame (frame=%r, eof=%s)", addr[0], addr[1], f, c.eof)
        # The server closes TCP first after the closing handshake (RFC 6455 §7.1.1).
        time.sleep(0.1)
        sock.close()
        log.info("client %s:%d: TCP closed", addr[0], addr[1])
    lsock.close()


# ------------------------------------------------------------------ websockets peers

def setup_logging(path, name):
    logging.basicConfig(filename=path, filemode="w", format=LOG_FORMAT, level=logging.INFO)
    logging.getLogger("websockets").setLevel(logging.DEBUG)
    return logging.getLogger(name)


async def lib_server(args):
    from websockets.asyncio.server import serve
    import signal

    log = setup_logging(args.log, "app")

    async def handler(ws):
        peer = "%s:%d" % ws.remote_address[:2]
        log.info("client %s connected path=%s extensions=%r", peer, ws.request.path,
                 ws.response.headers.get("Sec-WebSocket-Extensions"))
        try:
            async for message in ws:
                log.info("client %s path=%s message %s of %d bytes, echoing", peer,
                         ws.request.path, type(message).__name__, len(message))
                await ws.send(message)
        except Exception as exc:  # ConnectionClosedError after a failure
            log.info("client %s path=%s handler ended: %s: %s", peer, ws.request.path,
                     type(exc).__name__, exc)
        await ws.wait_closed()
        p = ws.protocol
        log.info("CONN %s", json.dumps({
            "path": ws.request.path, "peer": peer,
            "close_sent": p.close_sent.code if p.close_sent else None,
            "close_sent_reason": p.close_sent.reason if p.close_sent else None,
            "close_rcvd": p.close_rcvd.code if p.close_rcvd else None,
            "close_rcvd_then_sent": p.close_rcvd_then_sent,
            "error": f"{type(p.parser_exc).__name__}: {p.parser_exc}" if p.parser_exc else None,
        }, sort_keys=True))

    stop = asyncio.get_running_loop().create_future()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, "SIGTERM")
    loop.add_signal_handler(signal.SIGINT, stop.set_result, "SIGINT")
    import websockets
    log.info("violations server (websockets %s) max_size=%d compression=deflate",
             websockets.__version__, args.max_size)
    async with serve(handler, "127.0.0.1", args.port, max_size=args.max_size,
                     ping_interval=None, close_timeout=3) as server:
        signame = await stop
        log.info("received %s, shutting down", signame)
        server.close()
        await server.wait_closed()
    log.info("bye")


async def lib_client(args):
    from websockets.asyncio.client import connect

    log = setup_logging(args.log, "libclient")
    uri = f"ws://127.0.0.1:{args.port}{path_of('masked-server-frame', 'text')}"
    async with connect(uri, compression=None, ping_interval=None, close_timeout=3) as ws:
        log.info("connected from %s:%d", *ws.local_address[:2])
        try:
            message = await ws.recv()
            log.info("received %r (not rejected)", message)
        except Exception as exc:
            log.info("recv failed: %s: %s", type(exc).__name__, exc)
    p = ws.protocol
    log.info("CONN %s", json.dumps({
        "path": path_of("masked-server-frame", "text"),
        "close_sent": p.close_sent.code if p.close_sent else None,
        "close_sent_reason": p.close_sent.reason if p.close_sent else None,
        "close_rcvd": p.close_rcvd.code if p.close_rcvd else None,
        "error": f"{type(p.parser_exc).__name__}: {p.parser_exc}" if p.parser_exc else None,
    }, sort_keys=True))


# ------------------------------------------------------------------ expected facts

TSHARK_FIELDS = ["frame.number", "tcp.stream", "tcp.srcport", "tcp.dstport", "tcp.len",
                 "tcp.flags.fin", "tcp.flags.reset", "http.request.uri", "http.response.code",
                 "websocket.opcode", "websocket.payload.close.status_code",
                 "websocket.payload.close.reason"]


def tshark_rows(cap, ports):
    cmd = ["tshark", "-n", "-r", cap, "-o", "tcp.desegment_tcp_streams:TRUE",
           "-o", "tcp.check_checksum:FALSE"]
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


def log_records(path, tag):
    """The JSON objects logged as `TAG {json}` in a log file."""
    out = []
    if not os.path.exists(path):
        return out
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            m = re.search(rf"\b{tag} (\{{.*\}})\s*$", line)
            if m:
                out.append(json.loads(m.group(1)))
    return out


def close_frames(rows, dir_of):
    """Every Close frame tshark decoded, in packet order: dicts dir/packet/code/reason."""
    out = []
    for r in rows:
        ops = r["websocket.opcode"].split("|") if r["websocket.opcode"] else []
        codes = r["websocket.payload.close.status_code"].split("|")
        reasons = r["websocket.payload.close.reason"].split("|")
        ci = 0
        for op in ops:
            if op != "8":
                continue
            code = codes[ci] if ci < len(codes) else ""
            out.append({"dir": dir_of(r), "packet": int(r["frame.number"]),
                        "code": int(code) if code else None,
                        "reason": reasons[ci] if ci < len(reasons) else ""})
            ci += 1
    return out


def case_flags(rule, case):
    return next((bad, flags) for ru, ca, _, bad, flags in CASES if (ru, ca) == (rule, case))


def connection_facts(cap, s, pk, meta, logs, versions, errors):
    """The expected-facts entry of one TCP connection (tcp.stream s)."""
    raw_port, lib = meta["raw_port"], meta["library"]
    server_port = int(pk[0]["tcp.dstport"])  # the first packet is the SYN, to the server
    uri = next((r["http.request.uri"] for r in pk if r["http.request.uri"]), None)
    m = re.fullmatch(r"/rule/([a-z0-9-]+)/([A-Za-z0-9-]+)", uri or "")
    if not m:
        errors.append(f"{cap} stream {s}: no /rule/ request ({uri!r})")
        return None
    rule, case = m.groups()
    raw_peer = server_port == raw_port  # the bad bytes come from the raw-socket server

    def dir_of(r):
        return "c2s" if int(r["tcp.dstport"]) == server_port else "s2c"

    bad_dir, peer_dir = ("s2c", "c2s") if raw_peer else ("c2s", "s2c")
    resp = next(r for r in pk if r["http.response.code"])
    if resp["http.response.code"] != "101":
        errors.append(f"{cap} stream {s}: HTTP {resp['http.response.code']}")
    bad_pkt = next(int(r["frame.number"]) for r in pk
                   if int(r["frame.number"]) > int(resp["frame.number"])
                   and dir_of(r) == bad_dir and int(r["tcp.len"] or 0) > 0)
    closes = close_frames(pk, dir_of)
    peer_closes = [c for c in closes if c["dir"] == peer_dir]
    raw_closes = [c for c in closes if c["dir"] == bad_dir]
    fins = [(int(r["frame.number"]), dir_of(r)) for r in pk if r["tcp.flags.fin"] in ("1", "True")]
    rsts = [(int(r["frame.number"]), dir_of(r)) for r in pk if r["tcp.flags.reset"] in ("1", "True")]
    first_close = closes[0] if closes else None
    peer_first = peer_closes[0] if peer_closes else None
    peer_initiator = peer_first is not None and first_close is peer_first

    if raw_peer:
        rec = logs["libclient"][0] if logs["libclient"] else None
        result = None
        reacts = peer_first is not None
    else:
        rec = logs["server"].get(uri)
        result = logs["client"].get(uri)
        if result is None:
            errors.append(f"{cap} stream {s}: no RESULT line for {uri}")
            return None
        bad, flags = case_flags(rule, case)
        first_bad = parse_frame(bad)
        bad_is_close = first_bad is not None and first_bad[0][2] == 0x8
        # What the library's first Close answers: the violation, unless the raw client
        # had already sent a valid Close of its own (frame-after-close) or closed
        # normally because nothing happened (a lenient server).
        if result.get("client_action") == "close-1000":
            reacts = False
        elif "own-close" in flags:
            reacts = False
        else:
            reacts = peer_first is not None
        # The capture must show what the client says it did.
        if bad_is_close and (not raw_closes or raw_closes[0]["packet"] != bad_pkt):
            errors.append(f"{cap} stream {s} {uri}: the bad Close is not the first raw-side Close")
        got = [x for x in result["received"] if x["opcode"] == 8]
        if result["reaction"] == "close" and got and peer_first and got[0]["code"] != peer_first["code"]:
            errors.append(f"{cap} stream {s} {uri}: raw client saw close {got[0]['code']}, "
                          f"tshark {peer_first['code']}")
        if result.get("close_reply") is not None and peer_first["code"] != result["close_reply"]:
            errors.append(f"{cap} stream {s} {uri}: raw client got reply {result['close_reply']}, "
                          f"tshark {peer_first['code']}")
    # The library's own report of the Close it sent must match the wire.
    if rec is None:
        errors.append(f"{cap} stream {s} {uri}: no CONN line in the library's log")
    else:
        lib_sent = rec.get("close_sent")
        wire = peer_first["code"] if peer_first else None
        if lib_sent in (1005, "empty"):  # a Close without a status code
            lib_sent = None
        if lib_sent != wire:
            errors.append(f"{cap} stream {s} {uri}: {lib} says it sent close {lib_sent}, "
                          f"the capture shows {wire}")
    entry = {
        "capture": cap,
        "tcp_stream": s,
        "rule": rule,
        "case": case,
        "path": uri,
        "sender": "server" if raw_peer else "client",
        "direction": bad_dir,
        "receiver": f"{lib} {versions[lib]} {'client' if raw_peer else 'server'}",
        "violation_packet": bad_pkt,
        "observed_close": peer_first["code"] if reacts else None,
        "observed_reason": peer_first["reason"] if reacts else None,
        "peer_close_initiator": peer_initiator,
        "peer_closes": [{"code": c["code"], "reason": c["reason"], "packet": c["packet"]}
                        for c in peer_closes],
        "raw_side_closes": [{"code": c["code"], "packet": c["packet"]} for c in raw_closes],
        "first_fin": {"packet": fins[0][0], "from": fins[0][1]} if fins else None,
        "rst": [{"packet": p, "from": d} for p, d in rsts],
        "library_report": rec,
    }
    if result is not None:
        entry["client_action"] = result.get("client_action")
    return entry


def expected(args):
    samples = args.samples
    entries = []
    errors = []
    versions = library_versions()
    for cap, meta in CAPTURES.items():
        capfile = os.path.join(samples, cap)
        if not os.path.exists(capfile):
            errors.append(f"{cap}: missing")
            continue
        rows = tshark_rows(capfile, [meta["port"], meta["raw_port"]])
        logs = {
            "client": {r["path"]: r for r in log_records(os.path.join(samples, meta["client_log"]), "RESULT")},
            "server": {r["path"]: r for r in log_records(os.path.join(samples, meta["server_log"]), "CONN")},
            "libclient": log_records(os.path.join(samples, meta["libclient_log"]), "CONN"),
        }
        streams = {}
        for r in rows:
            streams.setdefault(int(r["tcp.stream"]), []).append(r)
        if sorted(streams) != list(range(len(CASES) + 1)):
            errors.append(f"{cap}: tcp.stream values {sorted(streams)}, want 0..{len(CASES)}")
        names = []
        for s in sorted(streams):
            entry = connection_facts(cap, s, streams[s], meta, logs, versions, errors)
            if entry:
                entries.append(entry)
                names.append(f"{entry['rule']}/{entry['case']}")
        want = CASE_NAMES + ["masked-server-frame/text"]
        if names != want:
            errors.append(f"{cap}: connections in the order {names}, want {want}")
    out = {
        "about": "Violation captures: for each TCP connection, the rule broken by the raw-socket peer and "
                 "the reaction of the real library on the other side, as observed in the capture "
                 "(tshark) and cross-checked with the library's own log. Written by "
                 "scripts/record-samples/violations.py expected. See samples/README.md, 'Violation captures'.",
        "fields": {
            "tcp_stream": "0-based connection index in the capture (tshark tcp.stream = wsforensics conn_id)",
            "sender": "the side that sent the bad bytes (client = raw-socket client, server = raw-socket server)",
            "direction": "direction of the bad bytes: c2s or s2c",
            "violation_packet": "frame.number of the packet that carries the bad bytes",
            "observed_close": "the close code the receiving library answered the violation with; null when it "
                              "sent no Close because of the violation (it accepted the bytes, or its Close "
                              "answers a valid Close of the raw peer)",
            "observed_reason": "the reason of that Close (tshark)",
            "peer_close_initiator": "the receiving library's first Close is the first Close of the connection "
                                    "(false when the bad bytes are themselves a Close)",
            "peer_closes": "every Close frame the receiving library sent on the connection (tshark)",
            "raw_side_closes": "every Close frame of the raw-socket peer that tshark decoded (the bad one, "
                               "then the echo of the library's code)",
            "first_fin": "the first TCP FIN of the connection",
            "library_report": "what the library itself logged for the connection (close_sent = the code it "
                              "sent, error = the error it raised)",
        },
        "versions": versions,
        "max_message_size": MAX_SIZE,
    }
    # One entry per line, so a diff shows which connection changed.
    text = json.dumps(out, indent=1, ensure_ascii=False)[:-2]
    text += ',\n "entries": [\n'
    text += ",\n".join("  " + json.dumps(e, ensure_ascii=False) for e in entries)
    text += "\n ]\n}\n"
    json.loads(text)
    with open(os.path.join(samples, "violations-expected.json"), "w", encoding="utf-8") as fh:
        fh.write(text)
    for e in errors:
        print("FAIL", e, file=sys.stderr)
    print(f"violations-expected.json: {len(entries)} connections, {len(errors)} disagreements",
          file=sys.stderr)
    return 1 if errors else 0


def library_versions():
    import websockets
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "node", "node_modules", "ws", "package.json"), encoding="utf-8") as fh:
        ws_version = json.load(fh)["version"]
    return {"websockets": websockets.__version__, "ws": ws_version}


# ------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("role", choices=["server", "rawclient", "rawserver", "libclient", "expected", "cases"])
    ap.add_argument("cases", nargs="*", help="rawclient: RULE/CASE names (default: all)")
    ap.add_argument("--port", type=int)
    ap.add_argument("--log")
    ap.add_argument("--max-size", type=int, default=MAX_SIZE)
    ap.add_argument("--count", type=int, default=1)
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
    elif args.role == "expected":
        return expected(args)
    else:
        print("\n".join(CASE_NAMES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
