#!/usr/bin/env python3
"""Renders a wsforensics HTML report in headless Chromium and checks it.

    scripts/check_html.py REPORT.html [--screenshot OUT.png] [--drawer-screenshot OUT.png]
                          [--min-marks N] [--chromium PATH] [--width 1400 --height 1000]

Drives Chromium over the DevTools protocol (a minimal WebSocket client from
the standard library, no third-party package) and fails (exit 1) when:
- the page logs a console error or throws an uncaught exception;
- the page makes any request that is not file: or data: (the report must
  be self-contained), or the embedded data holds a raw `<`, `>`, `&`;
- a JavaScript dialog opens (an `alert()` of injected script);
- `document.body.dataset.ready` is not "1" within the timeout;
- the timeline has fewer than --min-marks close/violation marks
  (`svg .mark-close`, `svg .mark-violation`) or no connection bar, or the
  numbers drawn disagree with the embedded data;
- interacting (wheel zoom, drag, reset, opening a close's drill-down,
  sorting and filtering tables) raises an error.
Saves a screenshot of the viewport (and, optionally, of the drill-down of
the first problem close).
"""

import argparse
import base64
import json
import os
import pathlib
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request


class WebSocket:
    """Just enough of RFC 6455 for the DevTools protocol: text frames,
    client masking, fragmentation, ping/pong, close."""

    def __init__(self, url, timeout=30.0):
        assert url.startswith("ws://"), url
        rest = url[len("ws://"):]
        hostport, _, path = rest.partition("/")
        host, _, port = hostport.partition(":")
        self.sock = socket.create_connection((host, int(port or 80)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        req = (
            f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(req.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("DevTools closed the connection during the handshake")
            head += chunk
        head, _, self.buf = head.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status + b" ":
            raise ConnectionError(f"DevTools refused the WebSocket upgrade: {status!r}")

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(max(65536, n - len(self.buf)))
            if not chunk:
                raise ConnectionError("DevTools connection closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _send_frame(self, opcode, payload):
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send(self, text):
        self._send_frame(0x1, text.encode())

    def recv(self):
        message = b""
        while True:
            b0, b1 = self._read(2)
            opcode = b0 & 0x0F
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            payload = self._read(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x9:
                self._send_frame(0xA, payload)
                continue
            if opcode == 0x8:
                raise ConnectionError("DevTools sent a Close")
            if opcode in (0x0, 0x1, 0x2):
                message += payload
                if b0 & 0x80:
                    return message.decode("utf-8")

    def close(self):
        try:
            self._send_frame(0x8, struct.pack("!H", 1000))
            self.sock.close()
        except OSError:
            pass


class Page:
    """One page target: commands with ids, events collected as they come."""

    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0
        self.events = []

    def call(self, method, **params):
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)
                if msg["method"] == "Page.javascriptDialogOpening":
                    # A dialog blocks the page: dismiss it (without waiting
                    # for the answer); the event is reported as a failure.
                    self.next_id += 1
                    self.ws.send(json.dumps({"id": self.next_id, "method": "Page.handleJavaScriptDialog",
                                             "params": {"accept": False}}))

    def eval(self, expr, await_promise=False):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=await_promise)
        if "exceptionDetails" in r:
            raise RuntimeError(f"evaluating {expr[:60]!r}: {r['exceptionDetails'].get('text')} "
                               f"{r['exceptionDetails'].get('exception', {}).get('description', '')}")
        return r.get("result", {}).get("value")


def problems_in(events):
    """Console errors, uncaught exceptions, log errors, outside requests."""
    out = []
    for ev in events:
        m, p = ev["method"], ev.get("params", {})
        if m == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            out.append(f"uncaught exception: {d.get('text')} {d.get('exception', {}).get('description', '')}")
        elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            out.append(f"console.{p.get('type')}: {args}")
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            e = p["entry"]
            out.append(f"log error ({e.get('source')}): {e.get('text')} {e.get('url', '')}")
        elif m == "Page.javascriptDialogOpening":
            out.append(f"the page opened a {p.get('type')} dialog: {p.get('message')!r} (injected script?)")
        elif m == "Network.requestWillBeSent":
            url = p.get("request", {}).get("url", "")
            if not (url.startswith("file:") or url.startswith("data:")):
                out.append(f"the page requested {url}")
    return out


def find_chromium(given):
    for c in [given, "/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"), shutil.which("google-chrome")]:
        if c and os.path.exists(c):
            return c
    sys.exit("check_html: no Chromium found (use --chromium PATH)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("report")
    ap.add_argument("--screenshot")
    ap.add_argument("--drawer-screenshot")
    ap.add_argument("--full-screenshot", help="a screenshot of the whole page, not just the viewport")
    ap.add_argument("--min-marks", type=int, default=1)
    ap.add_argument("--chromium")
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--height", type=int, default=1000)
    ap.add_argument("--timeout", type=float, default=30.0)
    a = ap.parse_args()

    report = pathlib.Path(a.report).resolve()
    if not report.is_file():
        sys.exit(f"check_html: {report} does not exist")
    text = report.read_text(encoding="utf-8")
    failures = []
    # Static checks: nothing outside the file. The embedded data is checked
    # apart: it must hold no markup character at all (they are \u escapes),
    # so what it says cannot be markup; the rest is the page itself.
    m = re.search(r'<script type="application/json" id="data">(.*?)</script>', text, re.S)
    if not m:
        failures.append("no <script type=\"application/json\" id=\"data\"> element")
        markup = text
    else:
        data = m.group(1)
        for ch in "<>&\u2028\u2029":
            if ch in data:
                failures.append(f"the embedded data contains a raw {ch!r}")
        markup = text[:m.start(1)] + text[m.end(1):]
    for needle in ("http://", "https://", "//cdn", "<link ", "@import"):
        if needle in text:
            failures.append(f"the HTML contains {needle!r}")
    for m in re.finditer(r"url\(\s*['\"]?(?!#|data:)", markup):
        failures.append(f"the HTML refers to an outside resource: {markup[m.start():m.start() + 40]!r}")
    for m in re.finditer(r"\bsrc\s*=\s*['\"]?(?!data:)", markup):
        failures.append(f"the HTML loads a resource: {markup[m.start():m.start() + 40]!r}")
    if markup.count("<script") != 2:
        failures.append(f"{markup.count('<script')} script elements; expected the data and the page's script")

    profile = tempfile.mkdtemp(prefix="wsf-chromium-")
    chromium = find_chromium(a.chromium)
    proc = subprocess.Popen(
        [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--mute-audio",
         f"--user-data-dir={profile}", "--remote-debugging-port=0", f"--window-size={a.width},{a.height}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ws = None
    try:
        port_file = pathlib.Path(profile) / "DevToolsActivePort"
        deadline = time.time() + a.timeout
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.time() > deadline or proc.poll() is not None:
                sys.exit("check_html: Chromium did not start its DevTools server")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        targets = []
        while not targets:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
                targets = [t for t in json.load(r) if t.get("type") == "page"]
            if not targets:
                time.sleep(0.1)
        ws = WebSocket(targets[0]["webSocketDebuggerUrl"], timeout=a.timeout)
        page = Page(ws)
        for domain in ("Runtime", "Log", "Page", "Network"):
            page.call(f"{domain}.enable")
        page.call("Emulation.setDeviceMetricsOverride", width=a.width, height=a.height, deviceScaleFactor=1, mobile=False)
        page.call("Page.navigate", url=report.as_uri())
        ready = None
        while time.time() < deadline:
            try:
                ready = page.eval("document.body && document.body.dataset.ready")
            except RuntimeError:
                ready = None
            if ready == "1":
                break
            if problems_in(page.events):
                break
            time.sleep(0.1)
        if ready != "1":
            failures.append("document.body.dataset.ready never became \"1\"")
        counts = page.eval("""(() => {
            const d = JSON.parse(document.getElementById('data').textContent);
            const q = s => document.querySelectorAll(s).length;
            return {closes: q('svg .mark-close'), violations: q('svg .mark-violation'), bars: q('svg .lane-bar'),
                    hist: q('svg .hist-bar'), data_closes: d.closes.length, data_violations: d.violations.length,
                    data_conns: d.connections.length, external: q('script[src],link[href],img[src],iframe,object,embed')};
        })()""") or {}
        print(f"check_html: {report.name}: data closes {counts.get('data_closes')}, violations {counts.get('data_violations')}, "
              f"connections {counts.get('data_conns')}; drawn close marks {counts.get('closes')}, violation marks "
              f"{counts.get('violations')}, connection bars {counts.get('bars')}, histogram bars {counts.get('hist')}")
        if counts.get("external"):
            failures.append(f"{counts['external']} element(s) load an outside resource")
        marks = (counts.get("closes") or 0) + (counts.get("violations") or 0)
        if marks < a.min_marks:
            failures.append(f"the timeline has {marks} marks, fewer than {a.min_marks}")
        if counts.get("data_conns") and not counts.get("bars"):
            failures.append("the timeline has no connection bar")
        if counts.get("data_closes") and not counts.get("hist"):
            failures.append("the close histogram has no bar")
        if a.screenshot and ready == "1":
            shot = page.call("Page.captureScreenshot", format="png")
            pathlib.Path(a.screenshot).write_bytes(base64.b64decode(shot["data"]))
            print(f"check_html: screenshot {a.screenshot}")
        if a.full_screenshot and ready == "1":
            m = page.call("Page.getLayoutMetrics")
            size = m.get("cssContentSize") or m.get("contentSize")
            shot = page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                             clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1})
            pathlib.Path(a.full_screenshot).write_bytes(base64.b64decode(shot["data"]))
            print(f"check_html: full-page screenshot {a.full_screenshot}")
        # Exercise the interactions: any error they raise is a failure.
        if ready == "1":
            page.eval("""(() => {
                const svg = document.querySelector('.tl-lanes');
                const r = svg.getBoundingClientRect();
                const x = r.left + 230 + (r.width - 230) / 2, y = r.top + 10;
                for (let i = 0; i < 3; i++) svg.dispatchEvent(new WheelEvent('wheel', {deltaY: -200, clientX: x, clientY: y, bubbles: true, cancelable: true}));
                const opt = {clientX: x, clientY: y, bubbles: true, pointerId: 1, button: 0, isPrimary: true};
                svg.dispatchEvent(new PointerEvent('pointerdown', opt));
                svg.dispatchEvent(new PointerEvent('pointermove', Object.assign({}, opt, {clientX: x + 80})));
                svg.dispatchEvent(new PointerEvent('pointerup', Object.assign({}, opt, {clientX: x + 80})));
                for (const b of document.querySelectorAll('button')) if (b.textContent === 'Reset') b.click();
                for (const th of document.querySelectorAll('.data-table th')) { th.click(); th.click(); }
                for (const t of document.querySelectorAll('.tab')) t.click();
                document.querySelector('.tab').click();
                const s = document.querySelector('.table-tools input[type=search]');
                s.value = '10'; s.dispatchEvent(new Event('input'));
                s.value = ''; s.dispatchEvent(new Event('input'));
                return true;
            })()""")
            time.sleep(0.3)
            opened = page.eval("""(() => {
                const m = document.querySelector('svg .mark-close:not(.normal)') || document.querySelector('svg .mark-close')
                          || document.querySelector('svg .mark-violation');
                if (!m) return false;
                m.dispatchEvent(new MouseEvent('click', {bubbles: true}));
                return document.getElementById('drawer').classList.contains('open');
            })()""")
            if opened is False and marks:
                failures.append("clicking a mark did not open its drill-down")
            time.sleep(0.4)
            if a.drawer_screenshot and opened:
                shot = page.call("Page.captureScreenshot", format="png")
                pathlib.Path(a.drawer_screenshot).write_bytes(base64.b64decode(shot["data"]))
                print(f"check_html: drill-down screenshot {a.drawer_screenshot}")
            # Every close and violation drill-down renders.
            page.eval("""(() => {
                for (const tab of document.querySelectorAll('.tab')) {
                    tab.click();
                    const rows = document.querySelectorAll('.data-table tbody tr');
                    for (let i = 0; i < Math.min(rows.length, 60); i++) rows[i].click();
                }
                document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape'}));
                return true;
            })()""")
            time.sleep(0.3)
            page.call("Runtime.evaluate", expression="1")
        failures.extend(problems_in(page.events))
    finally:
        if ws:
            ws.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)
    if failures:
        for f in failures:
            print(f"check_html: FAIL: {f}", file=sys.stderr)
        sys.exit(1)
    print(f"check_html: {report.name}: OK")


if __name__ == "__main__":
    main()
