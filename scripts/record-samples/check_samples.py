#!/usr/bin/env python3
"""Check every sample's tshark oracle against what the scenario scripts sent.

    check_samples.py [--samples DIR] [--summary]

For each capture in samples/ it reads CAPTURE.tshark.tsv (made by
scripts/tshark_oracle.py) and asserts the facts listed in EXPECTED below, which
are derived from py_scenarios.py and node/scenarios.js (message sizes, fragments,
pings, close codes and who sent them). Exit status 1 if any check fails.
With --summary it also prints, per capture, the per-direction opcode counts and
the close frames in packet order (the facts listed in samples/README.md).

Directions: "c2s" = client to server (dst port = server port), "s2c" the reverse.
"""

import argparse
import csv
import os
import sys
from collections import Counter

OPNAMES = {0: "cont", 1: "text", 2: "bin", 8: "close", 9: "ping", 10: "pong"}


def frames(path):
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    return rows


def direction(row, port):
    return "c2s" if int(row["tcp.dstport"]) == port else "s2c"


# ----------------------------------------------------------------- expectations

def py_echo_sequence():
    """(dir, opcode, fin, payload length) in packet order, for compression=None."""
    text_sizes = [0, 1, 125, 126, 127, 65535, 65536]
    binary_sizes = [0, 1, 125, 126, 127, 102400]
    seq = []
    for n in text_sizes:
        seq += [("c2s", 1, 1, n), ("s2c", 1, 1, n)]
    for n in binary_sizes:
        seq += [("c2s", 2, 1, n), ("s2c", 2, 1, n)]
    # websockets sends an iterable as one frame per item with FIN=0, then an
    # empty continuation frame with FIN=1.
    seq += [("c2s", 1, 0, 13), ("c2s", 0, 0, 13), ("c2s", 0, 0, 14), ("c2s", 0, 1, 0),
            ("s2c", 1, 1, 40)]
    seq += [("c2s", 9, 1, 6), ("s2c", 10, 1, 6)]
    seq += [("c2s", 8, 1, 2), ("s2c", 8, 1, 2)]
    return seq


def node_echo_sequence():
    seq = []
    for opcode, n in [(1, 5), (1, 200), (1, 2000), (2, 0), (2, 70000)]:
        seq += [("c2s", opcode, 1, n), ("s2c", opcode, 1, n)]
    seq += [("c2s", 1, 0, 9), ("c2s", 0, 0, 9), ("c2s", 0, 1, 10), ("s2c", 1, 1, 28)]
    seq += [("c2s", 9, 1, 13), ("s2c", 10, 1, 13)]
    seq += [("c2s", 8, 1, 6), ("s2c", 8, 1, 6)]
    return seq


def strip_lengths(seq):
    return [(d, op, fin) for d, op, fin, _ in seq]


# closes: list of (tcp.stream, direction, code, reason) in packet order.
EXPECTED = {
    "py-echo-plain.pcap": dict(
        port=8765, streams=1, sequence=py_echo_sequence(), pmc=False,
        closes=[(0, "c2s", "1000", ""), (0, "s2c", "1000", "")]),
    "py-echo-deflate.pcapng": dict(
        port=8765, streams=1, sequence_no_len=strip_lengths(py_echo_sequence()), pmc=True,
        rsv1="first-data-frames",
        closes=[(0, "c2s", "1000", ""), (0, "s2c", "1000", "")]),
    "py-handler-error-1011.pcap": dict(
        port=8766, streams=2, pmc=True, rsv1="first-data-frames",
        counts={"c2s": {"text": 5, "close": 2}, "s2c": {"text": 4, "close": 2}},
        closes=[(1, "s2c", "1011", ""), (1, "c2s", "1011", ""),
                (0, "c2s", "1000", ""), (0, "s2c", "1000", "")]),
    "py-close-codes.pcap": dict(
        port=8767, streams=3, pmc=True, rsv1="first-data-frames",
        counts={"c2s": {"text": 4, "close": 3}, "s2c": {"text": 3, "close": 3}},
        closes=[(0, "c2s", "4001", "session expired"), (0, "s2c", "4001", "session expired"),
                (1, "s2c", "1008", "invalid token"), (1, "c2s", "1008", "invalid token"),
                (2, "s2c", "1001", ""), (2, "c2s", "1001", "")]),
    "node-echo-plain.pcap": dict(
        port=9001, streams=1, sequence=node_echo_sequence(), pmc=False,
        closes=[(0, "c2s", "1000", "done"), (0, "s2c", "1000", "done")]),
    "node-echo-deflate.pcap": dict(
        port=9001, streams=1, sequence_no_len=strip_lengths(node_echo_sequence()), pmc=True,
        rsv1="first-data-frames",
        closes=[(0, "c2s", "1000", "done"), (0, "s2c", "1000", "done")]),
    "node-handler-error-1011.pcap": dict(
        port=9002, streams=3, pmc=False,
        counts={"c2s": {"text": 7, "close": 3}, "s2c": {"text": 5, "close": 3}},
        closes=[(0, "s2c", "1011", "internal error"), (0, "c2s", "1011", "internal error"),
                (1, "s2c", "4003", "forbidden: admin role required"),
                (1, "c2s", "4003", "forbidden: admin role required"),
                (2, "c2s", "4000", "user logged out – à bientôt ✓"),
                (2, "s2c", "4000", "user logged out – à bientôt ✓")]),
    # Timing-dependent: the server is killed after it logged request seq=3, so
    # 3 or more request/reply pairs; never a close frame.
    "node-server-killed-1006.pcap": dict(
        port=9003, streams=1, pmc=False, min_counts={"c2s": {"text": 3}, "s2c": {"text": 3}},
        only_opcodes={"text"}, closes=[]),
    # tokio-tungstenite (rust-server/): stream 1's panic is caught and closed
    # with 1011; stream 2's panic drops the connection (FIN, no close frame).
    "rust-panic-1011.pcap": dict(
        port=8790, streams=3, pmc=False,
        counts={"c2s": {"text": 8, "close": 2}, "s2c": {"text": 6, "close": 2}},
        closes=[(1, "s2c", "1011", "internal error"), (1, "c2s", "1011", "internal error"),
                (0, "c2s", "1000", ""), (0, "s2c", "1000", "")]),
    # Chromium: the number of feed ticks depends on timing.
    "chromium-browser.pcap": dict(
        port=8080, pmc=True, rsv1="first-data-frames",
        min_counts={"c2s": {"text": 2, "bin": 1, "close": 2},
                    "s2c": {"text": 3, "bin": 1, "close": 2}},
        only_opcodes={"text", "bin", "close"},
        closes=[(None, "c2s", "1000", "page done"), (None, "s2c", "1000", "page done"),
                (None, "c2s", "1001", ""), (None, "s2c", "1001", "")]),
}


def check(name, rows, exp, errors):
    port = exp["port"]

    def fail(msg):
        errors.append(f"{name}: {msg}")

    def seq_of(with_len=True):
        out = []
        for r in rows:
            item = (direction(r, port), int(r["websocket.opcode"]), int(r["websocket.fin"]))
            if with_len:
                item += (int(r["payload_len_effective"]),)
            out.append(item)
        return out

    if "sequence" in exp and seq_of() != exp["sequence"]:
        fail(f"frame sequence differs:\n  got  {seq_of()}\n  want {exp['sequence']}")
    if "sequence_no_len" in exp and seq_of(False) != exp["sequence_no_len"]:
        fail(f"frame sequence differs:\n  got  {seq_of(False)}\n  want {exp['sequence_no_len']}")
    counts = {"c2s": Counter(), "s2c": Counter()}
    for r in rows:
        counts[direction(r, port)][OPNAMES[int(r["websocket.opcode"])]] += 1
    if "counts" in exp:
        for d in ("c2s", "s2c"):
            if dict(counts[d]) != exp["counts"][d]:
                fail(f"{d} opcode counts {dict(counts[d])} != {exp['counts'][d]}")
    for d, want in exp.get("min_counts", {}).items():
        for op, n in want.items():
            if counts[d][op] < n:
                fail(f"{d} has {counts[d][op]} {op} frames, want >= {n}")
    if "only_opcodes" in exp:
        seen = set(counts["c2s"]) | set(counts["s2c"])
        if not seen <= exp["only_opcodes"]:
            fail(f"unexpected opcodes {seen - exp['only_opcodes']}")
    if "streams" in exp:
        n = len({r["tcp.stream"] for r in rows})
        if n != exp["streams"]:
            fail(f"{n} TCP streams with frames, want {exp['streams']}")
    closes = [(int(r["tcp.stream"]), direction(r, port), r["websocket.payload.close.status_code"],
               r["websocket.payload.close.reason"]) for r in rows if r["websocket.opcode"] == "8"]
    want_closes = exp["closes"]
    if any(c[0] is None for c in want_closes):
        closes = [(None,) + c[1:] for c in closes]
    if closes != want_closes:
        fail(f"closes {closes} != {want_closes}")
    for r in rows:
        d = direction(r, port)
        if r["websocket.mask"] != ("1" if d == "c2s" else "0"):
            fail(f"frame {r['frame.number']}: mask={r['websocket.mask']} for {d}")
        if (r["websocket.pmc"] != "") != exp["pmc"]:
            fail(f"frame {r['frame.number']}: pmc={r['websocket.pmc']!r}")
    if exp.get("rsv1") == "first-data-frames":
        for r in rows:
            op = int(r["websocket.opcode"])
            want = "4" if op in (1, 2) else "0"
            if r["websocket.rsv"] != want:
                fail(f"frame {r['frame.number']}: rsv={r['websocket.rsv']} for opcode {op}")
    elif any(r["websocket.rsv"] != "0" for r in rows):
        fail("RSV bits set without permessage-deflate")
    return counts, closes


def summary_line(name, rows, counts, closes):
    def fmt(c):
        order = ["text", "bin", "cont", "ping", "pong", "close"]
        return ", ".join(f"{k} {c[k]}" for k in order if c[k])
    close_txt = "; ".join(
        f"{d} {code}" + (f" \"{reason}\"" if reason else "") for _, d, code, reason in closes)
    return (f"| {name} | {len(rows)} | {fmt(counts['c2s'])} | {fmt(counts['s2c'])} | "
            f"{close_txt or 'none'} |")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", default=os.path.join(here, "..", "..", "samples"))
    ap.add_argument("--summary", action="store_true")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    errors = []
    lines = []
    names = args.names or list(EXPECTED)
    for name in names:
        tsv = os.path.join(args.samples, name + ".tshark.tsv")
        if not os.path.exists(tsv):
            errors.append(f"{name}: no oracle {tsv}")
            continue
        rows = frames(tsv)
        counts, closes = check(name, rows, EXPECTED[name], errors)
        lines.append(summary_line(name, rows, counts, closes))
    if args.summary:
        print("| file | frames | client to server | server to client | closes in packet order |")
        print("| --- | ---: | --- | --- | --- |")
        print("\n".join(lines))
    for e in errors:
        print("FAIL", e, file=sys.stderr)
    print(f"{len(names) - len({e.split(':')[0] for e in errors})} passed, "
          f"{len({e.split(':')[0] for e in errors})} failed", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
