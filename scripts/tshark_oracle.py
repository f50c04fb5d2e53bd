#!/usr/bin/env python3
"""Write the tshark oracle (`*.tshark.tsv`) of a capture to stdout.

Usage:
    scripts/tshark_oracle.py CAPTURE [--decode-as tcp.port==P,http ...] > CAPTURE.tshark.tsv

Recipe (the one described in ../shared/captures/public/README.md, "Oracle files"):

    tshark -n -r CAPTURE -o tcp.desegment_tcp_streams:TRUE -o tcp.check_checksum:FALSE \
           [-d DECODE-AS ...] -T pdml -Y websocket

Every `<proto name="websocket">` element of the PDML becomes one row, in document
order, so a packet that holds several WebSocket frames gives several rows
(`ws.index_in_frame` = 1-based position inside the packet).

Column notes:
  * `ip.src`/`ip.dst`: the IPv4 or IPv6 header that comes last before the TCP
    header in the packet (the inner header of a tunnel).
  * `websocket.rsv`: tshark shows "0x04"; written as the integer (4 = RSV1).
  * `websocket.pmc`, `..._ext_16`, `..._ext_64`, close status/reason: empty when
    tshark has no such field for that frame (pmc exists only when
    permessage-deflate was negotiated).
  * `payload_len_effective`: ext_64, else ext_16, else the 7-bit field.
  * `websocket.payload.close.reason`: tshark's `show` text (UTF-8; tshark itself
    writes other control characters as `\\xN`), with TAB, LF and CR written as the
    two characters `\\t`, `\\n`, `\\r` so that the row stays one TSV line.
    Backslashes are not doubled (tshark does not double them either).
  * `ws.expert`: the `_ws.expert.message` texts found inside the WebSocket tree,
    joined with " | " (the same escaping as the reason); empty when none.

The PDML is read with a small tag tokenizer instead of an XML parser, because
tshark puts raw TAB/LF characters inside attribute values (an XML parser would
normalise them to spaces) and can emit characters that XML 1.0 forbids.
"""

import argparse
import re
import subprocess
import sys

COLUMNS = [
    "frame.number",
    "ws.index_in_frame",
    "tcp.stream",
    "ip.src",
    "tcp.srcport",
    "ip.dst",
    "tcp.dstport",
    "websocket.fin",
    "websocket.rsv",
    "websocket.pmc",
    "websocket.opcode",
    "websocket.mask",
    "websocket.payload_length",
    "websocket.payload_length_ext_16",
    "websocket.payload_length_ext_64",
    "payload_len_effective",
    "websocket.payload.close.status_code",
    "websocket.payload.close.reason",
    "ws.expert",
]

TAG_RE = re.compile(r'<(/?)([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+="[^"]*")*)\s*(/?)>')
ATTR_RE = re.compile(r'([\w.:-]+)="([^"]*)"')
ENTITY_RE = re.compile(r"&(#x[0-9A-Fa-f]+|#[0-9]+|amp|lt|gt|quot|apos);")
NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


def unescape(text):
    def repl(m):
        ent = m.group(1)
        if ent.startswith("#x"):
            return chr(int(ent[2:], 16))
        if ent.startswith("#"):
            return chr(int(ent[1:]))
        return NAMED[ent]

    return ENTITY_RE.sub(repl, text) if "&" in text else text


class Node:
    __slots__ = ("tag", "attrs", "children")

    def __init__(self, tag, attrs):
        self.tag = tag
        self.attrs = attrs
        self.children = []

    @property
    def name(self):
        return self.attrs.get("name", "")

    def iter(self):
        yield self
        for child in self.children:
            yield from child.iter()

    def first(self, field_name):
        for node in self.iter():
            if node.tag == "field" and node.name == field_name:
                return node.attrs.get("show", "")
        return None


def packets(pdml):
    """Yield one Node tree per <packet> element."""
    stack = []
    for m in TAG_RE.finditer(pdml):
        closing, tag, attr_text, selfclose = m.groups()
        if tag == "pdml":
            continue  # the root element: packets are handled one by one
        if closing:
            node = stack.pop()
            if node.tag != tag:
                raise ValueError(f"unbalanced PDML: </{tag}> closes <{node.tag}>")
            if not stack:
                if tag == "packet":
                    yield node
            continue
        attrs = {k: unescape(v) for k, v in ATTR_RE.findall(attr_text)}
        node = Node(tag, attrs)
        if stack:
            stack[-1].children.append(node)
        if not selfclose:
            stack.append(node)


def escape_text(text):
    return text.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def rows_for_packet(pkt):
    protos = pkt.children
    frame = next((p for p in protos if p.tag == "proto" and p.name == "frame"), None)
    frame_number = frame.first("frame.number") if frame else None
    if frame_number is None:
        geninfo = next((p for p in protos if p.name == "geninfo"), None)
        frame_number = geninfo.first("num") if geninfo else ""

    # IP header: the last ip/ipv6 proto before the (last) tcp proto.
    ip_src = ip_dst = ""
    tcp = None
    last_ip = None
    for p in protos:
        if p.tag != "proto":
            continue
        if p.name in ("ip", "ipv6"):
            last_ip = p
        elif p.name == "tcp":
            tcp = p
            if last_ip is not None:
                pre = "ip" if last_ip.name == "ip" else "ipv6"
                ip_src = last_ip.first(pre + ".src") or ""
                ip_dst = last_ip.first(pre + ".dst") or ""

    def tcpf(name):
        if tcp is None:
            return ""
        v = tcp.first(name)
        return v if v is not None else ""

    rows = []
    ws_protos = [n for n in pkt.iter() if n.tag == "proto" and n.name == "websocket"]
    for index, ws in enumerate(ws_protos, 1):
        def f(name):
            v = ws.first(name)
            return v if v is not None else ""

        rsv = f("websocket.rsv")
        if rsv != "":
            rsv = str(int(rsv, 0))
        plen = f("websocket.payload_length")
        ext16 = f("websocket.payload_length_ext_16")
        ext64 = f("websocket.payload_length_ext_64")
        effective = ext64 or ext16 or plen
        experts = [
            n.attrs.get("show", "")
            for n in ws.iter()
            if n.tag == "field" and n.name == "_ws.expert.message"
        ]
        rows.append([
            frame_number,
            str(index),
            tcpf("tcp.stream"),
            ip_src,
            tcpf("tcp.srcport"),
            ip_dst,
            tcpf("tcp.dstport"),
            f("websocket.fin"),
            rsv,
            f("websocket.pmc"),
            f("websocket.opcode"),
            f("websocket.mask"),
            plen,
            ext16,
            ext64,
            effective,
            f("websocket.payload.close.status_code"),
            escape_text(f("websocket.payload.close.reason")),
            escape_text(" | ".join(experts)),
        ])
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("capture")
    ap.add_argument("--decode-as", "-d", action="append", default=[],
                    help="tshark decode-as rule, e.g. tcp.port==8765,http (repeatable)")
    ap.add_argument("--tshark", default="tshark")
    args = ap.parse_args()

    cmd = [args.tshark, "-n", "-r", args.capture,
           "-o", "tcp.desegment_tcp_streams:TRUE", "-o", "tcp.check_checksum:FALSE"]
    for rule in args.decode_as:
        cmd += ["-d", rule]
    cmd += ["-T", "pdml", "-Y", "websocket"]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr.decode("utf-8", "replace"))
        sys.exit(f"tshark failed ({proc.returncode}): {' '.join(cmd)}")
    pdml = proc.stdout.decode("utf-8", "surrogateescape")

    out = sys.stdout
    out.write("\t".join(COLUMNS) + "\n")
    for pkt in packets(pdml):
        for row in rows_for_packet(pkt):
            out.write("\t".join(row) + "\n")


if __name__ == "__main__":
    sys.stdout.reconfigure(encoding="utf-8", errors="surrogateescape", newline="\n")
    main()
