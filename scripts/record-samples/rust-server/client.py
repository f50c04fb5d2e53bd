#!/usr/bin/env python3
"""Clients for the tokio-tungstenite panic sample (`record.sh rust-panic`).

    client.py --port P --log FILE

Three overlapping connections to rust-server (src/main.rs):
  A  /calc     four `add` requests 250 ms apart, then close 1000 (healthy).
  B  /calc     `add` id 101, then `div` id 102 with b=0: the handler panics, the
               server catches it through the JoinHandle and closes with 1011.
  C  /v0/calc  `add` id 201, then `div` id 202 with b=0: the panic unwinds the
               connection task, the stream is dropped (no Close frame: 1006).
"""

import argparse
import asyncio
import json
import logging

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

log = logging.getLogger("client")


def closed(name, exc):
    rcvd = exc.rcvd
    log.info("%s connection closed: code=%s reason=%r (%s)", name,
             rcvd.code if rcvd else 1006, rcvd.reason if rcvd else "", type(exc).__name__)


async def client_a(base):
    async with connect(base + "/calc", ping_interval=None, compression=None) as ws:
        log.info("A connected from %s:%d", *ws.local_address[:2])
        for i in range(1, 5):
            await ws.send(json.dumps({"id": i, "op": "add", "a": i, "b": 10}))
            log.info("A got %s", await ws.recv())
            await asyncio.sleep(0.25)
        await ws.close()
        log.info("A closed: code=%s reason=%r", ws.close_code, ws.close_reason)


async def client_crash(name, base, path, delay, first_id):
    await asyncio.sleep(delay)
    async with connect(base + path, ping_interval=None, compression=None) as ws:
        log.info("%s connected from %s:%d", name, *ws.local_address[:2])
        await ws.send(json.dumps({"id": first_id, "op": "add", "a": 6, "b": 7}))
        log.info("%s got %s", name, await ws.recv())
        await asyncio.sleep(0.05)
        await ws.send(json.dumps({"id": first_id + 1, "op": "div", "a": 1, "b": 0}))
        try:
            log.info("%s got %s", name, await ws.recv())
        except ConnectionClosed as exc:
            closed(name, exc)


async def main(args):
    base = f"ws://127.0.0.1:{args.port}"
    await asyncio.gather(client_a(base),
                         client_crash("B", base, "/calc", 0.1, 101),
                         client_crash("C", base, "/v0/calc", 0.45, 201))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    logging.basicConfig(filename=a.log, filemode="w", level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(main(a))
