#!/usr/bin/env python3
"""Python `websockets` servers and clients used to record wsforensics samples.

    py_scenarios.py server MODE --port P --log FILE [--compression none|deflate] [--debug]
    py_scenarios.py client MODE --port P --log FILE [--compression none|deflate] [--server-pid PID]

MODE is one of:
  echo         echo server; the client sends text/binary messages of the sizes
               below, one fragmented message, a ping, then closes with 1000.
  crash        JSON "calculator" server whose handler does not catch a
               ZeroDivisionError: websockets logs the traceback and closes with 1011.
               Two clients overlap; the log also holds noise and one unrelated,
               handled exception.
  close-codes  three connections: the client closes with 4001 "session expired";
               the server closes with 1008 "invalid token"; the server is shut
               down (SIGTERM, sent by the client to --server-pid) and closes the
               last connection with 1001.

Everything is deterministic except timestamps and ephemeral ports.
"""

import argparse
import asyncio
import json
import logging
import os
import random
import signal
import sys

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Sizes sent by the echo client, in order. Text messages are ASCII, so their
# payload length equals the character count.
TEXT_SIZES = [0, 1, 125, 126, 127, 65535, 65536]
BINARY_SIZES = [0, 1, 125, 126, 127, 102400]
FRAGMENTS = ["fragment-one ", "fragment-two ", "fragment-three"]
PING_PAYLOAD = b"ping-1"
PAUSE = 0.05  # seconds between client messages, so timestamps differ

log = logging.getLogger("app")


def setup_logging(path, debug):
    logging.basicConfig(filename=path, filemode="w", format=LOG_FORMAT,
                        level=logging.INFO)
    if debug:
        logging.getLogger("websockets").setLevel(logging.DEBUG)


def text_payload(size):
    """Readable, compressible ASCII text of exactly `size` bytes."""
    line = "The quick brown fox jumps over the lazy dog. 0123456789\n"
    return (line * (size // len(line) + 1))[:size]


def binary_payload(size, seed):
    """Pseudo-random (incompressible) bytes, the same on every run."""
    return random.Random(seed).randbytes(size)


def peer(ws):
    host, port = ws.remote_address[:2]
    return f"{host}:{port}"


def compression_arg(name):
    return None if name == "none" else "deflate"


# --------------------------------------------------------------------- servers

async def echo_handler(ws):
    log.info("client %s connected path=%s", peer(ws), ws.request.path)
    count = 0
    async for message in ws:
        count += 1
        await ws.send(message)
    log.info("client %s disconnected after %d messages (code %s)",
             peer(ws), count, ws.close_code)


async def crash_handler(ws):
    log.info("client %s connected path=%s", peer(ws), ws.request.path)
    async for message in ws:
        request = json.loads(message)
        log.info("client %s request id=%s op=%s", peer(ws), request["id"], request["op"])
        a, b = request["a"], request["b"]
        if request["op"] == "add":
            result = a + b
        elif request["op"] == "div":
            result = a / b  # ZeroDivisionError when b == 0: not caught on purpose
        else:
            result = None
        await ws.send(json.dumps({"id": request["id"], "result": result}))
    log.info("client %s disconnected (code %s)", peer(ws), ws.close_code)


async def metrics_task():
    """Background noise, including one handled exception unrelated to WebSocket."""
    await asyncio.sleep(0.15)
    log.info("metrics: flushed 12 counters to /var/lib/app/metrics.db")
    await asyncio.sleep(0.15)
    try:
        record = {"name": "requests_total", "value": 17}
        log.info("metrics: unit is %s", record["unit"])
    except KeyError:
        log.exception("metrics: failed to export record %r", record)
    await asyncio.sleep(0.3)
    log.warning("metrics: exporter queue above %d%% (%d/%d)", 80, 41, 50)


async def close_codes_handler(ws):
    log.info("client %s connected path=%s", peer(ws), ws.request.path)
    async for message in ws:
        if message.startswith("token:"):
            token = message[len("token:"):]
            if token != "s3cret":
                log.warning("client %s sent an invalid token, closing with 1008", peer(ws))
                await ws.close(1008, "invalid token")
                break
            await ws.send("welcome")
        else:
            await ws.send(message)
    log.info("client %s disconnected (code %s, reason %r)", peer(ws), ws.close_code,
             ws.close_reason)


async def run_server(args):
    setup_logging(args.log, args.debug)
    handlers = {"echo": echo_handler, "crash": crash_handler,
                "close-codes": close_codes_handler}
    log.info("starting %s server (websockets, compression=%s)", args.mode, args.compression)
    if args.mode == "crash":
        log.info("config: loaded /etc/app/calculator.toml (3 sections)")
        log.debug("config: debug logging is off")
    stop = asyncio.get_running_loop().create_future()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, "SIGTERM")
    loop.add_signal_handler(signal.SIGINT, stop.set_result, "SIGINT")
    async with serve(handlers[args.mode], "127.0.0.1", args.port,
                     compression=compression_arg(args.compression),
                     ping_interval=None) as server:
        noise = asyncio.create_task(metrics_task()) if args.mode == "crash" else None
        signame = await stop
        log.info("received %s, shutting down", signame)
        if noise:
            noise.cancel()
        server.close()  # closes open connections with 1001 (going away)
        await server.wait_closed()
    log.info("bye")


# --------------------------------------------------------------------- clients

async def echo_client(args):
    uri = f"ws://127.0.0.1:{args.port}/echo"
    async with connect(uri, compression=compression_arg(args.compression),
                       ping_interval=None, max_size=2**20) as ws:
        log.info("connected from %s:%d", *ws.local_address[:2])
        messages = [text_payload(n) for n in TEXT_SIZES]
        messages += [binary_payload(n, seed=n) for n in BINARY_SIZES]
        for message in messages:
            await ws.send(message)
            reply = await ws.recv()
            assert reply == message, "echo mismatch"
            kind = "text" if isinstance(message, str) else "binary"
            log.info("echoed %s message of %d bytes", kind, len(message))
            await asyncio.sleep(PAUSE)
        await ws.send(FRAGMENTS)  # an iterable: one message in 3 frames
        reply = await ws.recv()
        assert reply == "".join(FRAGMENTS)
        log.info("echoed fragmented text message (sent as an iterable of %d items)",
                 len(FRAGMENTS))
        await asyncio.sleep(PAUSE)
        latency = await (await ws.ping(PING_PAYLOAD))
        log.info("pong received after %.6f s", latency)
        await asyncio.sleep(PAUSE)
        await ws.close()  # 1000, empty reason
        log.info("closed: code=%s reason=%r", ws.close_code, ws.close_reason)


async def crash_client_a(uri):
    async with connect(uri, ping_interval=None) as ws:
        log.info("A connected from %s:%d", *ws.local_address[:2])
        for i in range(1, 4):
            await ws.send(json.dumps({"id": i, "op": "add", "a": i, "b": 10}))
            log.info("A got %s", await ws.recv())
            await asyncio.sleep(0.2)
        await ws.close()
        log.info("A closed: code=%s reason=%r", ws.close_code, ws.close_reason)


async def crash_client_b(uri):
    await asyncio.sleep(0.1)
    async with connect(uri, ping_interval=None) as ws:
        log.info("B connected from %s:%d", *ws.local_address[:2])
        await ws.send(json.dumps({"id": 101, "op": "add", "a": 6, "b": 7}))
        log.info("B got %s", await ws.recv())
        await asyncio.sleep(PAUSE)
        await ws.send(json.dumps({"id": 102, "op": "div", "a": 1, "b": 0}))
        try:
            log.info("B got %s", await ws.recv())
        except ConnectionClosed as exc:
            log.info("B connection closed: code=%s reason=%r", exc.rcvd.code if exc.rcvd else None,
                     exc.rcvd.reason if exc.rcvd else None)


async def crash_client(args):
    uri = f"ws://127.0.0.1:{args.port}/calc"
    await asyncio.gather(crash_client_a(uri), crash_client_b(uri))


async def close_codes_client(args):
    base = f"ws://127.0.0.1:{args.port}"
    # 1. The client closes with a private code and a reason.
    async with connect(base + "/session", ping_interval=None) as ws:
        log.info("1 connected from %s:%d", *ws.local_address[:2])
        await ws.send("token:s3cret")
        log.info("1 got %s", await ws.recv())
        await asyncio.sleep(PAUSE)
        await ws.send("hello")
        log.info("1 got %s", await ws.recv())
        await asyncio.sleep(PAUSE)
        await ws.close(4001, "session expired")
        log.info("1 closed: code=%s reason=%r", ws.close_code, ws.close_reason)
    await asyncio.sleep(0.1)
    # 2. The server closes with 1008 policy violation.
    async with connect(base + "/session", ping_interval=None) as ws:
        log.info("2 connected from %s:%d", *ws.local_address[:2])
        await ws.send("token:guess")
        try:
            await ws.recv()
        except ConnectionClosed:
            pass
        log.info("2 closed by server: code=%s reason=%r", ws.close_code, ws.close_reason)
    await asyncio.sleep(0.1)
    # 3. The server shuts down while the connection is idle: 1001 going away.
    async with connect(base + "/feed", ping_interval=None) as ws:
        log.info("3 connected from %s:%d", *ws.local_address[:2])
        await ws.send("subscribe")
        log.info("3 got %s", await ws.recv())
        await asyncio.sleep(0.2)
        log.info("3 sending SIGTERM to server pid %d", args.server_pid)
        os.kill(args.server_pid, signal.SIGTERM)
        try:
            await ws.recv()
        except ConnectionClosed:
            pass
        log.info("3 closed by server: code=%s reason=%r", ws.close_code, ws.close_reason)


async def run_client(args):
    global log
    log = logging.getLogger("client")
    setup_logging(args.log, args.debug)
    clients = {"echo": echo_client, "crash": crash_client, "close-codes": close_codes_client}
    await clients[args.mode](args)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("role", choices=["server", "client"])
    ap.add_argument("mode", choices=["echo", "crash", "close-codes"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--compression", choices=["none", "deflate"], default="deflate")
    ap.add_argument("--debug", action="store_true", help="websockets logger at DEBUG")
    ap.add_argument("--server-pid", type=int, help="close-codes client: server to SIGTERM")
    args = ap.parse_args()
    if args.role == "server":
        asyncio.run(run_server(args))
    else:
        asyncio.run(run_client(args))


if __name__ == "__main__":
    sys.exit(main())
