// wsforensics incident report. Plain JavaScript, no framework, no network.
// Every text shown comes from hostile traffic or logs: it is only ever put
// in the page with textContent / createTextNode, never parsed as markup.
(function () {
  "use strict";

  const D = JSON.parse(document.getElementById("data").textContent);
  const app = document.getElementById("app");

  // ---------------------------------------------------------------- helpers
  // The SVG namespace, taken from an element the HTML parser made (no URL
  // literal in the page).
  const SVG_NS = (function () {
    const holder = document.getElementById("svg-ns");
    return holder ? holder.namespaceURI : null;
  })();

  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    setAttrs(e, attrs);
    append(e, children);
    return e;
  }
  function sv(tag, attrs, children) {
    const e = document.createElementNS(SVG_NS, tag);
    setAttrs(e, attrs);
    append(e, children);
    return e;
  }
  function setAttrs(e, attrs) {
    if (!attrs) return;
    for (const k of Object.keys(attrs)) {
      const v = attrs[k];
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") e.textContent = String(v);
      else if (k === "class") e.setAttribute("class", v);
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, String(v));
    }
  }
  function append(e, children) {
    if (children === null || children === undefined) return;
    if (!Array.isArray(children)) children = [children];
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      e.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
    }
  }
  function clear(e) {
    while (e.firstChild) e.removeChild(e.firstChild);
  }
  function svgTitle(node, s) {
    node.appendChild(sv("title", { text: s }));
    return node;
  }
  function fmtInt(n) {
    return n === null || n === undefined ? "" : Number(n).toLocaleString("en-US");
  }
  function plural(n, one, many) {
    return fmtInt(n) + " " + (n === 1 ? one : many || one + "s");
  }

  // The Wireshark display filter for packets of a connection.
  function wsFilter(conn, packets) {
    return packets.length === 1
      ? "tcp.stream == " + conn + " && frame.number == " + packets[0]
      : "tcp.stream == " + conn + " && frame.number in {" + packets.join(" ") + "}";
  }
  // Epoch microseconds -> RFC 3339 UTC with microseconds.
  function fmtTs(us) {
    const ms = Math.floor(us / 1000);
    const micro = String(((us % 1000) + 1000) % 1000).padStart(3, "0");
    const iso = new Date(ms).toISOString();
    return iso.slice(0, 23) + micro + "Z";
  }
  function fmtClock(us, stepUs) {
    const s = fmtTs(us).slice(11, 26);
    if (stepUs >= 1e6) return s.slice(0, 8);
    if (stepUs >= 1e3) return s.slice(0, 12);
    return s;
  }
  function fmtDur(us) {
    const a = Math.abs(us);
    if (a < 1e3) return us.toFixed(0) + " µs";
    if (a < 1e6) return (us / 1e3).toFixed(a < 1e4 ? 2 : 1) + " ms";
    if (a < 120e6) return (us / 1e6).toFixed(3) + " s";
    if (a < 7200e6) return (us / 60e6).toFixed(1) + " min";
    return (us / 3600e6).toFixed(2) + " h";
  }
  function fmtSecs(s) {
    return s === null || s === undefined ? "" : (s >= 0 ? "+" : "") + s.toFixed(3) + " s";
  }

  // --------------------------------------------------------------- colours
  // Okabe-Ito palette (safe for the common colour-vision deficiencies),
  // extended with Paul Tol's; every colour also has a legend entry, and
  // marks differ by shape (close, no-Close, violation).
  // The registered codes that matter most have a colour each; the rest
  // share one colour per class (the legend says which).
  const FIXED = {
    1000: "#0072B2", 1001: "#56B4E9", 1002: "#D55E00", 1003: "#882255", 1005: "#BBBBBB",
    1006: "#333333", 1007: "#CC79A7", 1008: "#009E73", 1009: "#F0E442", 1010: "#999933",
    1011: "#E69F00", 1012: "#44AA99", 1013: "#44AA99", 1014: "#44AA99",
  };
  function codeClass(code) {
    if (code === null || code === undefined) return { key: "1005", label: null, color: "#BBBBBB" };
    if (FIXED[code]) {
      if (code >= 1012 && code <= 1014) return { key: "1012-1014", label: "1012–1014 restart / try again / bad gateway", color: FIXED[code] };
      return { key: String(code), label: null, color: FIXED[code] };
    }
    if (code >= 3000 && code <= 3999) return { key: "3xxx", label: "3000–3999 library / framework codes", color: "#117733" };
    if (code >= 4000 && code <= 4999) return { key: "4xxx", label: "4000–4999 private-use (application) codes", color: "#332288" };
    return { key: "invalid", label: "invalid or reserved codes", color: "#AA4499" };
  }
  function codeColor(code) {
    return codeClass(code).color;
  }
  function codeName(code) {
    if (code === null || code === undefined) return "no status";
    const t = D.codes[String(code)];
    return t ? t.name : "";
  }
  function codeLabel(code) {
    return code === null || code === undefined ? "no status (1005)" : code + " " + codeName(code);
  }
  function swatch(code) {
    return el("span", { class: "swatch", style: "background:" + codeColor(code) });
  }
  function codePill(code, extra) {
    return el("span", { class: "code-pill" }, [swatch(code), codeLabel(code) + (extra || "")]);
  }

  // ------------------------------------------------------------------ data
  // Frames come as compact arrays (see html.rs frame_json).
  function opName(op) {
    const names = { 0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong" };
    if (names[op]) return names[op];
    return op >= 3 && op <= 7 ? "reserved-data" : "reserved-control";
  }
  function F(a) {
    if (!a) return null;
    const fl = a[5];
    return {
      dir: a[0] === 0 ? "c2s" : "s2c", index: a[1], t: a[2], ts: fmtTs(a[2]), first_packet: a[3], last_packet: a[4],
      fin: !!(fl & 1), rsv1: !!(fl & 2), rsv2: !!(fl & 4), rsv3: !!(fl & 8), masked: !!(fl & 16), compressed: !!(fl & 32), truncated: !!(fl & 64),
      opcode: a[6], opname: opName(a[6]), payload_len: a[7], header_len: a[8], length_bits: a[9], captured_len: a[10],
      mask_key: a[11], close_code: a[12], close_reason: a[13], preview_hex: a[14], preview_text: a[15],
    };
  }
  for (const c of D.closes) {
    c.frames = c.frames.map(F);
    if (c.cause) {
      c.cause.frame = F(c.cause.frame);
      c.cause.frames = c.cause.frames.map(F);
    }
  }
  for (const v of D.violations) {
    v.frame = F(v.frame);
    v.filter = v.packet === null ? null : wsFilter(v.conn, [v.packet]);
  }
  for (const c of D.closes) c.filter = wsFilter(c.conn, c.packets);
  for (const c of D.connections) {
    c.start_ts = fmtTs(c.start);
    c.end_ts = fmtTs(c.end);
    c.filter = "tcp.stream == " + c.id;
  }
  const closes = D.closes;
  const violations = D.violations;
  const conns = D.connections;
  const connById = new Map();
  for (const c of conns) connById.set(c.id, c);
  const closesByConn = new Map();
  for (const c of closes) {
    if (!closesByConn.has(c.conn)) closesByConn.set(c.conn, []);
    closesByConn.get(c.conn).push(c);
  }
  const violationsByConn = new Map();
  violations.forEach(function (v, i) {
    v.i = i;
    if (!violationsByConn.has(v.conn)) violationsByConn.set(v.conn, []);
    violationsByConn.get(v.conn).push(v);
  });
  // Codes present, for the legend.
  const codeSet = new Set();
  for (const e of D.endings) codeSet.add(e.code);
  for (const c of closes) codeSet.add(c.reported);
  const legendCodes = Array.from(codeSet).sort(function (a, b) { return a - b; });

  const span = D.span;
  const full = span ? { a: span.start, b: Math.max(span.end, span.start + 1000) } : { a: 0, b: 1e6 };
  const pad = (full.b - full.a) * 0.02;
  const home = { a: full.a - pad, b: full.b + pad };
  const view = { a: home.a, b: home.b };
  let selectedKey = null;

  // ---------------------------------------------------------------- layout
  const tooltip = el("div", { class: "tooltip" });
  document.body.appendChild(tooltip);
  function showTip(evt, lines) {
    clear(tooltip);
    lines.forEach(function (l, i) {
      tooltip.appendChild(el("div", { class: i === 0 ? "t1" : "", text: l }));
    });
    tooltip.style.display = "block";
    const x = Math.min(evt.clientX + 14, window.innerWidth - tooltip.offsetWidth - 8);
    const y = Math.min(evt.clientY + 14, window.innerHeight - tooltip.offsetHeight - 8);
    tooltip.style.left = x + "px";
    tooltip.style.top = y + "px";
  }
  function hideTip() {
    tooltip.style.display = "none";
  }

  // Header.
  const metaParts = [];
  if (span) metaParts.push(el("span", { text: span.start_ts + " → " + span.end_ts + " (UTC)" }));
  metaParts.push(el("span", { text: plural(D.files, "capture file") + ", " + fmtInt(D.packets) + " packets, " + plural(D.tcp_connections, "TCP connection") }));
  metaParts.push(el("span", { text: D.generator }));
  app.appendChild(el("header", { class: "top" }, [
    el("h1", { text: "WebSocket incident report" }),
    el("div", { class: "meta" }, metaParts),
    D.captures.length ? el("div", { class: "captures mono", text: D.captures.join("  ·  ") }) : null,
  ]));
  for (const n of D.capture_notices) app.appendChild(el("div", { class: "warn-line", text: "Capture damage: " + n }));
  if (D.log) for (const n of D.log.notices) app.appendChild(el("div", { class: "warn-line", text: "Log damage: " + n }));

  // Summary cards.
  function card(label, value, sub, accent) {
    return el("div", { class: "card", style: accent ? "--card-accent:" + accent : null }, [
      el("div", { class: "label", text: label }),
      el("div", { class: "value", text: value }),
      el("div", { class: "sub" }, sub),
    ]);
  }
  const K = D.cards;
  const closedTotal = D.endings.reduce(function (s, e) { return s + e.client + e.server; }, 0);
  const topRule = D.violations_by_rule.length ? D.violations_by_rule[0] : null;
  const ieSub = K.internal_explained === null
    ? ["no server log given (--log)"]
    : [el("b", { text: fmtInt(K.internal_explained) }), " explained by a log trace · ", el("b", { text: fmtInt(K.internal_errors - K.internal_explained) }), " unexplained"];
  app.appendChild(el("section", { class: "cards" }, [
    card("Connections", fmtInt(K.connections), ["upgrades ok ", el("b", { text: fmtInt(K.handshake_ok) }), " · failed ", el("b", { text: fmtInt(K.handshake_failed) }), " · not captured ", el("b", { text: fmtInt(K.handshake_missing) })], "#0072B2"),
    card("Problem closes", fmtInt(K.problem_closes), ["of ", el("b", { text: fmtInt(closedTotal) }), " connections that closed (not 1000/1001/1005)"], "#D55E00"),
    card("Protocol violations", fmtInt(K.violations), topRule ? ["most: ", el("b", { text: topRule.rule }), " (" + fmtInt(topRule.count) + ")"] : ["none found"], "#CC79A7"),
    card("1011 Internal Error", fmtInt(K.internal_errors), ieSub, "#E69F00"),
    card("No Close frame (1006)", fmtInt(K.abnormal), K.refused_upgrades
      ? ["ended with FIN/RST only; ", el("b", { text: fmtInt(K.refused_upgrades) }), " of them refused upgrades"]
      : ["connections that ended with FIN/RST only"], "#333333"),
    card("Time span", span ? fmtDur((span.end - span.start)) : "–", span ? [fmtInt(K.frames) + " frames · " + fmtInt(D.packets) + " packets"] : ["no WebSocket connection"], "#56B4E9"),
  ]));

  // Legend (shared by the timeline and the histogram).
  function shapeIcon(kind, color) {
    const s = sv("svg", { width: 14, height: 14, viewBox: "0 0 14 14" });
    if (kind === "close") s.appendChild(sv("circle", { cx: 7, cy: 7, r: 5, fill: color, stroke: "#1d2330", "stroke-width": 1 }));
    else if (kind === "inferred") s.appendChild(sv("path", { d: "M7 1.5 L12.5 7 L7 12.5 L1.5 7 Z", fill: color, stroke: "#1d2330", "stroke-width": 1 }));
    else if (kind === "violation") s.appendChild(sv("path", { d: "M7 1.5 L12.5 12 L1.5 12 Z", fill: color, stroke: "#1d2330", "stroke-width": 1 }));
    else s.appendChild(sv("rect", { x: 1, y: 4, width: 12, height: 6, rx: 2, fill: color, "fill-opacity": 0.45, stroke: "rgba(0,0,0,0.3)" }));
    return s;
  }
  function legend() {
    const items = [];
    const seen = new Set();
    for (const code of legendCodes) {
      const k = codeClass(code);
      if (seen.has(k.key)) continue;
      seen.add(k.key);
      items.push(el("span", { class: "item" }, [swatch(code), k.label || codeLabel(code)]));
    }
    if (!legendCodes.length) items.push(el("span", { class: "item muted", text: "no close in the capture" }));
    items.push(el("span", { class: "sep" }));
    items.push(el("span", { class: "item" }, [shapeIcon("close", "#ffffff"), "Close frame (large: problem close)"]));
    items.push(el("span", { class: "item" }, [shapeIcon("inferred", "#ffffff"), "no Close frame (inferred 1006)"]));
    items.push(el("span", { class: "item" }, [shapeIcon("violation", "#ffffff"), "violation (colour: close it calls for)"]));
    items.push(el("span", { class: "item" }, [shapeIcon("bar", "#8a93a3"), "connection lifetime (colour: how it ended)"]));
    return el("div", { class: "legend" }, items);
  }

  // ------------------------------------------------------------- timeline
  const LABEL_W = 230;
  const LANE_H = 20;
  const AXIS_H = 28;
  const MAX_LANES = 400;
  const problemDefault = conns.length > 150 && conns.some(function (c) { return c.problem; });
  const tlProblems = el("input", { type: "checkbox" });
  tlProblems.checked = problemDefault;
  const tlFilter = el("input", { type: "search", placeholder: "filter: stream, address, path, code" });
  const rangeReadout = el("span", { class: "range-readout" });
  const tlAxis = sv("svg", { class: "tl-axis", height: AXIS_H });
  const tlLanes = sv("svg", { class: "tl-lanes" });
  const tlScroll = el("div", { class: "tl-scroll" }, tlLanes);
  const tlNote = el("div", { class: "tl-note" });
  function zoomBy(f, anchor) {
    const w = view.b - view.a;
    const at = anchor === undefined ? view.a + w / 2 : anchor;
    let nw = Math.max(20, Math.min((home.b - home.a) * 4, w * f));
    view.a = at - (at - view.a) * (nw / w);
    view.b = view.a + nw;
    redraw();
  }
  function resetView() {
    view.a = home.a;
    view.b = home.b;
    redraw();
  }
  const tlPanel = el("section", { class: "panel" }, [
    el("div", { class: "head" }, [
      el("h2", { text: "Timeline of connections" }),
      el("span", { class: "spacer" }),
      rangeReadout,
      el("button", { class: "icon", title: "Zoom out", onclick: function () { zoomBy(2); }, text: "−" }),
      el("button", { class: "icon", title: "Zoom in", onclick: function () { zoomBy(0.5); }, text: "+" }),
      el("button", { title: "Show the whole capture", onclick: resetView, text: "Reset" }),
      el("label", { class: "check" }, [tlProblems, "problem connections only"]),
      tlFilter,
    ]),
    legend(),
    el("div", { class: "timeline-wrap" }, [tlAxis, tlScroll]),
    tlNote,
  ]);
  app.appendChild(tlPanel);
  tlProblems.addEventListener("change", redraw);
  tlFilter.addEventListener("input", redraw);

  function plotWidth() {
    return Math.max(300, tlScroll.clientWidth - LABEL_W - 16);
  }
  function xOf(t, w) {
    return LABEL_W + ((t - view.a) / (view.b - view.a)) * w;
  }
  const STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7, 15e6, 3e7,
    6e7, 12e7, 3e8, 6e8, 9e8, 18e8, 36e8, 72e8, 108e8, 216e8, 432e8, 864e8, 1728e8, 6048e8];
  function niceStep(target) {
    for (const s of STEPS) if (s >= target) return s;
    return Math.ceil(target / 6048e8) * 6048e8;
  }
  function drawAxis(svg, w, height, withGrid) {
    const step = niceStep((view.b - view.a) / Math.max(2, w / 120));
    const first = Math.ceil(view.a / step) * step;
    const g = sv("g");
    for (let t = first; t <= view.b; t += step) {
      const x = xOf(t, w);
      const tick = sv("g", { class: "tick" });
      tick.appendChild(sv("line", { x1: x, x2: x, y1: height - 6, y2: height }));
      tick.appendChild(sv("text", { x: x, y: height - 9, "text-anchor": "middle", text: fmtClock(t, step) }));
      g.appendChild(tick);
      if (withGrid) withGrid.push(x);
    }
    svg.appendChild(g);
    return step;
  }
  function connMatches(c, q) {
    if (!q) return true;
    const hay = ("#" + c.id + " " + c.client + " " + c.server + " " + c.path + " " + (c.end_code === null ? "" : c.end_code) + " " + c.termination).toLowerCase();
    return hay.indexOf(q) >= 0;
  }
  function markKey(kind, i) {
    return kind + ":" + i;
  }
  function drawTimeline() {
    clear(tlAxis);
    clear(tlLanes);
    const w = plotWidth();
    const total = w + LABEL_W + 8;
    tlAxis.setAttribute("width", total);
    tlLanes.setAttribute("width", total);
    rangeReadout.textContent = fmtTs(Math.round(view.a)).slice(11) + " – " + fmtTs(Math.round(view.b)).slice(11) + "  (" + fmtDur(view.b - view.a) + ")";
    if (!conns.length) {
      tlLanes.setAttribute("height", 60);
      tlLanes.appendChild(sv("text", { x: 20, y: 34, class: "axis-label", text: "No WebSocket connection in the capture." }));
      tlNote.textContent = "";
      return;
    }
    const grid = [];
    tlAxis.appendChild(sv("text", { x: 8, y: AXIS_H - 9, class: "axis-label", text: "tcp.stream  client (UTC time →)" }));
    drawAxis(tlAxis, w, AXIS_H, grid);
    const q = tlFilter.value.trim().toLowerCase();
    const onlyProblems = tlProblems.checked;
    const matching = conns.filter(function (c) {
      return (!onlyProblems || c.problem) && c.end >= view.a && c.start <= view.b && connMatches(c, q);
    });
    const lanes = matching.slice(0, MAX_LANES);
    const h = Math.max(lanes.length * LANE_H + 6, 40);
    tlLanes.setAttribute("height", h);
    // Grid lines behind the lanes.
    const bg = sv("g");
    tlLanes.appendChild(bg);
    const plot = sv("g", { class: "tl-plot" });
    tlLanes.appendChild(plot);
    plot.appendChild(sv("rect", { x: LABEL_W, y: 0, width: w, height: h, fill: "transparent", class: "pan-surface" }));
    const clipId = "tl-clip";
    const defs = sv("defs");
    const clip = sv("clipPath", { id: clipId });
    clip.appendChild(sv("rect", { x: LABEL_W, y: 0, width: w, height: h }));
    defs.appendChild(clip);
    tlLanes.appendChild(defs);
    const marks = sv("g", { "clip-path": "url(#" + clipId + ")" });
    plot.appendChild(marks);
    lanes.forEach(function (c, i) {
      const y = i * LANE_H + 3;
      const laneBg = sv("rect", { x: 0, y: y - 1, width: total, height: LANE_H, class: "lane-bg" + (i % 2 ? " alt" : "") });
      bg.appendChild(laneBg);
      const label = sv("text", { x: 6, y: y + LANE_H / 2 + 3, class: "lane-label" + (c.problem ? " problem" : ""), text: "#" + c.id + "  " + c.client });
      svgTitle(label, "tcp.stream " + c.id + ": " + c.client + " → " + c.server + (c.path ? " " + c.path : "") + " (click for details)");
      label.addEventListener("click", function () { showConnection(c); });
      bg.appendChild(label);
      const x1 = Math.max(LABEL_W - 2, xOf(c.start, w));
      const x2 = Math.min(LABEL_W + w + 2, xOf(c.end, w));
      const bar = sv("rect", {
        x: x1, y: y + 5, width: Math.max(2, x2 - x1), height: LANE_H - 12, rx: 2,
        class: "lane-bar", fill: c.end_code === null ? "#8a93a3" : codeColor(c.end_code), "fill-opacity": 0.42,
      });
      bar.addEventListener("mousemove", function (e) {
        showTip(e, ["tcp.stream " + c.id + "  " + c.client + " → " + c.server, c.start_ts + " → " + c.end_ts, "ended: " + (c.end_code === null ? "still open / " + c.termination : codeLabel(c.end_code) + " (" + c.termination + ")"), fmtInt(c.frames[0] + c.frames[1]) + " frames, " + plural(c.violations, "violation")]);
      });
      bar.addEventListener("mouseleave", hideTip);
      bar.addEventListener("click", function () { showConnection(c); });
      marks.appendChild(bar);
      const cy = y + LANE_H / 2 - 1;
      for (const v of violationsByConn.get(c.id) || []) {
        if (v.t < view.a || v.t > view.b) continue;
        const x = xOf(v.t, w);
        const key = markKey("v", v.i);
        const m = sv("path", {
          d: "M" + x + " " + (cy - 7) + " L" + (x + 6) + " " + (cy + 4) + " L" + (x - 6) + " " + (cy + 4) + " Z",
          fill: v.expected === null ? "#ffffff" : codeColor(v.expected), class: "mark-violation" + (selectedKey === key ? " selected" : ""),
        });
        m.addEventListener("mousemove", function (e) { showTip(e, ["violation: " + v.rule, v.ts + " · packet " + (v.packet === null ? "–" : v.packet), v.detail]); });
        m.addEventListener("mouseleave", hideTip);
        m.addEventListener("click", function (e) { e.stopPropagation(); showViolation(v); });
        marks.appendChild(m);
      }
      for (const k of closesByConn.get(c.id) || []) {
        if (k.t < view.a || k.t > view.b) continue;
        const x = xOf(k.t, w);
        const key = markKey("c", k.i);
        const cls = "mark-close" + (k.problem ? "" : " normal") + (selectedKey === key ? " selected" : "");
        const fill = codeColor(k.reported);
        const r = k.problem ? 5.5 : 3.5;
        const m = k.inferred && k.code === 1006
          ? sv("path", { d: "M" + x + " " + (cy - 6.5) + " L" + (x + 6.5) + " " + cy + " L" + x + " " + (cy + 6.5) + " L" + (x - 6.5) + " " + cy + " Z", fill: fill, class: cls })
          : sv("circle", { cx: x, cy: cy, r: r, fill: fill, class: cls });
        m.addEventListener("mousemove", function (e) {
          showTip(e, [codeLabel(k.reported) + " from the " + k.by, k.ts + " · packet " + k.packet, k.reason ? "reason: “" + k.reason + "”" : "", k.trace ? "trace: " + (k.trace.exception || k.trace.message) : ""].filter(Boolean));
        });
        m.addEventListener("mouseleave", hideTip);
        m.addEventListener("click", function (e) { e.stopPropagation(); showClose(k); });
        marks.appendChild(m);
      }
    });
    for (const x of grid) bg.appendChild(sv("line", { x1: x, x2: x, y1: 0, y2: h, class: "gridline" }));
    let note = "Wheel: zoom · drag: pan · click a mark or a lane for its evidence. Showing " + plural(lanes.length, "connection") + " in view";
    if (matching.length > lanes.length) note += " (the first " + fmtInt(MAX_LANES) + " of " + fmtInt(matching.length) + ": zoom in or filter to see the rest)";
    if (onlyProblems) note += "; only connections with a problem close, a violation or a refused upgrade";
    if (D.connections_dropped) note += "; " + fmtInt(D.connections_dropped) + " more connections were not kept in the report (see connections.csv)";
    tlNote.textContent = note + ".";
  }

  // Wheel zoom and drag pan over the timeline.
  function timeAtClientX(clientX, svg) {
    const rect = svg.getBoundingClientRect();
    const w = plotWidth();
    return view.a + ((clientX - rect.left - LABEL_W) / w) * (view.b - view.a);
  }
  function onWheel(e) {
    e.preventDefault();
    const f = Math.exp(Math.max(-0.5, Math.min(0.5, e.deltaY * 0.0015)));
    zoomBy(f, timeAtClientX(e.clientX, tlLanes));
  }
  tlLanes.addEventListener("wheel", onWheel, { passive: false });
  tlAxis.addEventListener("wheel", onWheel, { passive: false });
  let drag = null;
  tlLanes.addEventListener("pointerdown", function (e) {
    const cls = e.target.getAttribute("class") || "";
    if (e.button !== 0 || cls.indexOf("mark-") >= 0 || cls.indexOf("lane-label") >= 0) return;
    const rect = tlLanes.getBoundingClientRect();
    if (e.clientX - rect.left < LABEL_W) return;
    drag = { x: e.clientX, a: view.a, b: view.b, moved: false };
    tlLanes.setPointerCapture(e.pointerId);
  });
  tlLanes.addEventListener("pointermove", function (e) {
    if (!drag) return;
    const dx = e.clientX - drag.x;
    if (Math.abs(dx) > 3) drag.moved = true;
    if (!drag.moved) return;
    tlLanes.classList.add("dragging");
    const dt = (dx / plotWidth()) * (drag.b - drag.a);
    view.a = drag.a - dt;
    view.b = drag.b - dt;
    hideTip();
    scheduleRedraw();
  });
  function endDrag(e) {
    if (!drag) return;
    if (drag.moved) e.preventDefault();
    drag = null;
    tlLanes.classList.remove("dragging");
  }
  tlLanes.addEventListener("pointerup", endDrag);
  tlLanes.addEventListener("pointercancel", endDrag);

  // ------------------------------------------------------------ histogram
  const histSvg = sv("svg", { class: "hist-svg", height: 210 });
  const histBox = el("div", {}, histSvg);
  const HIST_H = 210;
  const HIST_TOP = 12;
  const HIST_BOTTOM = 26;
  const HIST_LEFT = 44;
  const histPanel = el("section", { class: "panel" }, [
    el("div", { class: "head" }, [
      el("h2", { text: "Closes over time, by code" }),
      el("span", { class: "hint", text: "the first close of each connection, stacked by code · drag to zoom the timeline · double-click: reset" }),
    ]),
    el("div", { class: "body" }, histBox),
  ]);

  // Closes by code and initiator.
  const maxEnding = D.endings.reduce(function (m, e) { return Math.max(m, e.client + e.server); }, 0);
  const codesBody = el("tbody");
  for (const e of D.endings) {
    const tot = e.client + e.server;
    const bar = el("div", { class: "hbar", title: fmtInt(tot) }, [
      el("span", { style: "width:" + (100 * tot / Math.max(1, maxEnding)).toFixed(2) + "%;background:" + codeColor(e.code) }),
    ]);
    codesBody.appendChild(el("tr", {}, [
      el("td", {}, [codePill(e.code, e.code === 1006 ? " (no Close)" : ""), bar]),
      el("td", { class: "num", text: fmtInt(e.client) }),
      el("td", { class: "num", text: fmtInt(e.server) }),
      el("td", { class: "num", text: fmtInt(tot) }),
    ]));
  }
  const codesPanel = el("section", { class: "panel" }, [
    el("div", { class: "head" }, [el("h2", { text: "Closes by code and initiator" })]),
    D.endings.length
      ? el("table", { class: "codes-table" }, [
        el("thead", {}, el("tr", {}, [el("th", { text: "code (first close of each connection)" }), el("th", { class: "num", text: "client" }), el("th", { class: "num", text: "server" }), el("th", { class: "num", text: "total" })])),
        codesBody,
      ])
      : el("div", { class: "empty", text: "No connection closed in the capture." }),
    D.log ? el("div", { class: "body log-info" }, [
      el("div", { class: "log-title", text: "Server logs" }),
      el("ul", {}, D.log.files.map(function (f) { return el("li", {}, [el("span", { class: "mono", text: f.path }), el("span", { class: "muted", text: " " + fmtInt(f.lines) + " lines, " + f.format })]); })),
      el("div", { class: "muted", text: "Clock offset: " + D.log.offset_text + "." }),
      el("div", { class: "muted", text: "Closes looked up: " + D.log.looked_up + ", explained by a log event: " + D.log.explained + "; error events no close explains: " + D.log.unmatched_total + "." }),
    ]) : null,
  ]);
  app.appendChild(el("div", { class: "grid2" }, [histPanel, codesPanel]));

  let brush = null;
  function histPlotW() {
    return Math.max(200, histBox.clientWidth - HIST_LEFT - 10);
  }
  function histX(t, w) {
    return HIST_LEFT + ((t - view.a) / (view.b - view.a)) * w;
  }
  function drawHistogram() {
    clear(histSvg);
    const w = histPlotW();
    histSvg.setAttribute("width", w + HIST_LEFT + 10);
    const plotH = HIST_H - HIST_TOP - HIST_BOTTOM;
    const buckets = D.histogram.buckets;
    if (!buckets.length) {
      histSvg.appendChild(sv("text", { x: HIST_LEFT, y: 60, class: "axis-label", text: "No close in the capture." }));
      return;
    }
    const binW = Math.max(D.histogram.width_us, niceStep((view.b - view.a) / Math.max(10, w / 9)));
    const bins = new Map();
    for (const b of buckets) {
      if (b.t + D.histogram.width_us < view.a || b.t > view.b) continue;
      const k = Math.floor(b.t / binW);
      if (!bins.has(k)) bins.set(k, {});
      const acc = bins.get(k);
      for (const code of Object.keys(b.counts)) acc[code] = (acc[code] || 0) + b.counts[code];
    }
    let maxStack = 1;
    bins.forEach(function (acc) {
      let s = 0;
      for (const code of Object.keys(acc)) s += acc[code];
      maxStack = Math.max(maxStack, s);
    });
    const yStep = niceCount(maxStack / 4);
    const yMax = Math.ceil(maxStack / yStep) * yStep;
    const g = sv("g");
    for (let v = 0; v <= yMax; v += yStep) {
      const y = HIST_TOP + plotH - (v / yMax) * plotH;
      g.appendChild(sv("line", { x1: HIST_LEFT, x2: HIST_LEFT + w, y1: y, y2: y, class: "gridline" }));
      g.appendChild(sv("text", { x: HIST_LEFT - 6, y: y + 4, "text-anchor": "end", class: "axis-label", text: fmtInt(v) }));
    }
    histSvg.appendChild(g);
    // Time axis.
    const step = niceStep((view.b - view.a) / Math.max(2, w / 120));
    for (let t = Math.ceil(view.a / step) * step; t <= view.b; t += step) {
      const x = histX(t, w);
      histSvg.appendChild(sv("line", { x1: x, x2: x, y1: HIST_TOP + plotH, y2: HIST_TOP + plotH + 5, class: "gridline" }));
      histSvg.appendChild(sv("text", { x: x, y: HIST_TOP + plotH + 18, "text-anchor": "middle", class: "axis-label", text: fmtClock(t, step) }));
    }
    const bars = sv("g");
    bins.forEach(function (acc, k) {
      const t0 = k * binW;
      const x1 = Math.max(HIST_LEFT, histX(t0, w));
      const x2 = Math.min(HIST_LEFT + w, histX(t0 + binW, w));
      if (x2 <= x1) return;
      const bw = Math.max(1.5, x2 - x1 - (x2 - x1 > 4 ? 1 : 0));
      let yAcc = 0;
      const codes = Object.keys(acc).map(Number).sort(function (a, b) { return a - b; });
      for (const code of codes) {
        const n = acc[code];
        const hgt = (n / yMax) * plotH;
        const y = HIST_TOP + plotH - yAcc - hgt;
        yAcc += hgt;
        const r = sv("rect", { x: x1, y: y, width: bw, height: Math.max(0.5, hgt), fill: codeColor(code), class: "hist-bar" });
        r.addEventListener("mousemove", function (e) { showTip(e, [codeLabel(code) + ": " + plural(n, "close"), fmtTs(t0).slice(11) + " + " + fmtDur(binW)]); });
        r.addEventListener("mouseleave", hideTip);
        bars.appendChild(r);
      }
    });
    histSvg.appendChild(bars);
    histSvg.appendChild(sv("line", { x1: HIST_LEFT, x2: HIST_LEFT + w, y1: HIST_TOP + plotH, y2: HIST_TOP + plotH, stroke: "#8a93a3" }));
    if (brush && brush.x2 !== undefined) {
      const a = Math.min(brush.x1, brush.x2);
      histSvg.appendChild(sv("rect", { x: a, y: HIST_TOP, width: Math.abs(brush.x2 - brush.x1), height: plotH, class: "brush" }));
    }
  }
  function niceCount(target) {
    const steps = [1, 2, 5];
    let mag = 1;
    for (;;) {
      for (const s of steps) if (s * mag >= target) return s * mag;
      mag *= 10;
    }
  }
  histSvg.addEventListener("pointerdown", function (e) {
    if (e.button !== 0) return;
    const rect = histSvg.getBoundingClientRect();
    brush = { x1: e.clientX - rect.left, left: rect.left };
    histSvg.setPointerCapture(e.pointerId);
  });
  histSvg.addEventListener("pointermove", function (e) {
    if (!brush) return;
    brush.x2 = e.clientX - brush.left;
    hideTip();
    scheduleRedraw();
  });
  histSvg.addEventListener("pointerup", function () {
    if (!brush) return;
    const b = brush;
    brush = null;
    if (b.x2 !== undefined && Math.abs(b.x2 - b.x1) > 4) {
      const w = histPlotW();
      const t1 = view.a + ((Math.min(b.x1, b.x2) - HIST_LEFT) / w) * (view.b - view.a);
      const t2 = view.a + ((Math.max(b.x1, b.x2) - HIST_LEFT) / w) * (view.b - view.a);
      view.a = t1;
      view.b = Math.max(t2, t1 + 20);
    }
    redraw();
  });
  histSvg.addEventListener("dblclick", resetView);
  histSvg.addEventListener("wheel", function (e) {
    e.preventDefault();
    const rect = histSvg.getBoundingClientRect();
    const at = view.a + ((e.clientX - rect.left - HIST_LEFT) / histPlotW()) * (view.b - view.a);
    zoomBy(Math.exp(Math.max(-0.5, Math.min(0.5, e.deltaY * 0.0015))), at);
  }, { passive: false });

  let pending = false;
  function scheduleRedraw() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () {
      pending = false;
      drawTimeline();
      drawHistogram();
    });
  }
  function redraw() {
    drawTimeline();
    drawHistogram();
  }

  // --------------------------------------------------------------- tables
  function makeTable(opts) {
    const state = { sort: opts.sort || 0, dir: opts.dir || 1, q: "", page: 0, rows: opts.rows };
    const PAGE = 100;
    const search = el("input", { type: "search", placeholder: opts.placeholder || "filter rows" });
    const tools = el("div", { class: "table-tools" }, [search].concat(opts.tools || []));
    const thead = el("thead");
    const tbody = el("tbody");
    const table = el("table", { class: "data-table" }, [thead, tbody]);
    const pager = el("div", { class: "pager" });
    const headRow = el("tr");
    const cells = opts.cols.map(function (c, i) {
      const th = el("th", { class: "sortable" + (c.num ? " num" : ""), text: c.label, title: "sort" });
      th.addEventListener("click", function () {
        if (state.sort === i) state.dir = -state.dir;
        else { state.sort = i; state.dir = c.desc ? -1 : 1; }
        state.page = 0;
        render();
      });
      headRow.appendChild(th);
      return th;
    });
    thead.appendChild(headRow);
    function textOf(c, r) {
      const v = c.text ? c.text(r) : c.value(r);
      return v === null || v === undefined ? "" : String(v);
    }
    for (const r of opts.rows) r.__search = opts.cols.map(function (c) { return textOf(c, r); }).join(" \u0001 ").toLowerCase();
    search.addEventListener("input", function () { state.q = search.value.trim().toLowerCase(); state.page = 0; render(); });
    function render() {
      const pre = opts.prefilter ? opts.rows.filter(opts.prefilter) : opts.rows;
      const q = state.q;
      const rows = q ? pre.filter(function (r) { return r.__search.indexOf(q) >= 0; }) : pre.slice();
      const col = opts.cols[state.sort];
      rows.sort(function (a, b) {
        const x = col.value(a);
        const y = col.value(b);
        if (x === y) return 0;
        if (x === null || x === undefined || x === "") return 1;
        if (y === null || y === undefined || y === "") return -1;
        return (x < y ? -1 : 1) * state.dir;
      });
      cells.forEach(function (th, i) { th.setAttribute("aria-sort", i === state.sort ? (state.dir > 0 ? "ascending" : "descending") : "none"); });
      const pages = Math.max(1, Math.ceil(rows.length / PAGE));
      state.page = Math.min(state.page, pages - 1);
      clear(tbody);
      for (const r of rows.slice(state.page * PAGE, (state.page + 1) * PAGE)) {
        const tr = el("tr");
        for (const c of opts.cols) {
          const td = el("td", { class: (c.num ? "num " : "") + (c.wrap ? "wrap " : "") + (c.nowrap ? "nowrap" : "") });
          append(td, c.node ? c.node(r) : textOf(c, r));
          tr.appendChild(td);
        }
        tr.addEventListener("click", function () {
          for (const o of tbody.querySelectorAll("tr.sel")) o.classList.remove("sel");
          tr.classList.add("sel");
          opts.onClick(r);
        });
        tbody.appendChild(tr);
      }
      if (!rows.length) tbody.appendChild(el("tr", {}, el("td", { colspan: opts.cols.length, class: "empty", text: "No rows." })));
      clear(pager);
      pager.appendChild(el("span", { text: fmtInt(rows.length) + " of " + fmtInt(pre.length) + " rows" + (opts.note ? " · " + opts.note : "") }));
      if (pages > 1) {
        pager.appendChild(el("span", { class: "spacer" }));
        pager.appendChild(el("button", { text: "‹ Prev", onclick: function () { if (state.page > 0) { state.page--; render(); } } }));
        pager.appendChild(el("span", { text: "page " + (state.page + 1) + " / " + pages }));
        pager.appendChild(el("button", { text: "Next ›", onclick: function () { if (state.page < pages - 1) { state.page++; render(); } } }));
      }
    }
    render();
    return { node: el("div", {}, [tools, el("div", { class: "table-scroll" }, table), pager]), render: render };
  }
  function yesNo(v) {
    return v === null || v === undefined ? "" : v ? "yes" : "no";
  }

  const closesOnlyProblems = el("input", { type: "checkbox" });
  closesOnlyProblems.checked = closes.some(function (c) { return c.problem; });
  const closesTable = makeTable({
    rows: closes,
    placeholder: "filter: code, reason, rule, address…",
    tools: [el("label", { class: "check" }, [closesOnlyProblems, "problem closes only"])],
    prefilter: function (r) { return !closesOnlyProblems.checked || r.problem; },
    note: D.closes_dropped ? fmtInt(D.closes_dropped) + " more closes not kept (closes.csv has them)" : "",
    cols: [
      { label: "time (UTC)", nowrap: true, value: function (r) { return r.t; }, text: function (r) { return r.ts; } },
      { label: "stream", num: true, value: function (r) { return r.conn; } },
      { label: "code", value: function (r) { return r.reported; }, text: function (r) { return codeLabel(r.reported) + (r.inferred && r.code === 1006 ? " (inferred)" : ""); }, node: function (r) { return codePill(r.reported, r.inferred && r.code === 1006 ? " (inferred)" : ""); } },
      { label: "sent by", value: function (r) { return r.by; } },
      { label: "role", value: function (r) { return r.initiator ? "initiator" : "reply"; } },
      { label: "reason", wrap: true, value: function (r) { return r.reason; } },
      { label: "cause", value: function (r) { return r.cause_rule || (r.no_visible_cause ? "none visible" : ""); } },
      { label: "packet", num: true, value: function (r) { return r.packet; } },
      { label: "client", value: function (r) { return r.client; } },
      { label: "stack trace", wrap: true, value: function (r) { return r.trace ? (r.trace.exception || r.trace.message) : (r.no_trace ? "none: " + r.no_trace : ""); } },
    ],
    onClick: showClose,
  });
  closesOnlyProblems.addEventListener("change", closesTable.render);

  const violationsTable = makeTable({
    rows: violations,
    placeholder: "filter: rule, detail, stream…",
    note: D.violations_dropped ? fmtInt(D.violations_dropped) + " more violations not kept (violations.csv has them)" : "",
    cols: [
      { label: "time (UTC)", nowrap: true, value: function (r) { return r.t; }, text: function (r) { return r.ts; } },
      { label: "stream", num: true, value: function (r) { return r.conn; } },
      { label: "rule", value: function (r) { return r.rule; }, node: function (r) { return el("span", { class: "mono", text: r.rule }); } },
      { label: "sender", value: function (r) { return r.dir === "c2s" ? "client" : "server"; } },
      { label: "packet", num: true, value: function (r) { return r.packet; } },
      { label: "frame", num: true, value: function (r) { return r.frame_index; } },
      { label: "calls for", value: function (r) { return r.expected; }, text: function (r) { return r.expected === null ? "" : codeLabel(r.expected); }, node: function (r) { return r.expected === null ? "" : codePill(r.expected); } },
      { label: "RFC", value: function (r) { return r.rfc; } },
      { label: "detail", wrap: true, value: function (r) { return r.detail; } },
    ],
    onClick: showViolation,
  });

  const connsTable = makeTable({
    rows: conns,
    placeholder: "filter: stream, address, path…",
    note: D.connections_dropped ? fmtInt(D.connections_dropped) + " more connections not kept (connections.csv has them)" : "",
    cols: [
      { label: "stream", num: true, value: function (r) { return r.id; } },
      { label: "start (UTC)", nowrap: true, value: function (r) { return r.start; }, text: function (r) { return r.start_ts; } },
      { label: "duration", num: true, value: function (r) { return r.end - r.start; }, text: function (r) { return fmtDur(r.end - r.start); } },
      { label: "client", value: function (r) { return r.client; } },
      { label: "server", value: function (r) { return r.server; } },
      { label: "path", wrap: true, value: function (r) { return r.path; } },
      { label: "handshake", value: function (r) { return r.handshake + (r.status ? " " + r.status : ""); } },
      { label: "ended", value: function (r) { return r.end_code; }, text: function (r) { return r.end_code === null ? r.termination : codeLabel(r.end_code); }, node: function (r) { return r.end_code === null ? r.termination : codePill(r.end_code); } },
      { label: "termination", value: function (r) { return r.termination; } },
      { label: "frames", num: true, desc: true, value: function (r) { return r.frames[0] + r.frames[1]; } },
      { label: "violations", num: true, desc: true, value: function (r) { return r.violations; } },
    ],
    onClick: showConnection,
  });

  const tabs = [
    { label: "Closes", count: closes.length, node: closesTable.node },
    { label: "Violations", count: D.violations_total, node: violationsTable.node },
    { label: "Connections", count: D.cards.connections, node: connsTable.node },
  ];
  if (D.log) {
    const logTable = makeTable({
      rows: D.log.unmatched,
      placeholder: "filter log errors…",
      note: D.log.unmatched_total > D.log.unmatched.length ? "first " + D.log.unmatched.length + " of " + D.log.unmatched_total : "",
      cols: [
        { label: "log time", nowrap: true, value: function (r) { return r.log_ts; } },
        { label: "level", value: function (r) { return r.level; } },
        { label: "exception / message", wrap: true, value: function (r) { return r.exception || r.message; } },
        { label: "top frame", wrap: true, value: function (r) { return r.top_frame; } },
        { label: "where", wrap: true, value: function (r) { return r.location; } },
      ],
      onClick: function (r) { showLogEvent(r); },
    });
    tabs.push({ label: "Log errors no close explains", count: D.log.unmatched_total, node: logTable.node });
  }
  const tabBar = el("div", { class: "tabs", role: "tablist" });
  const tabBody = el("div");
  tabs.forEach(function (t, i) {
    const b = el("button", { class: "tab", role: "tab" }, [t.label, el("span", { class: "count", text: fmtInt(t.count) })]);
    b.addEventListener("click", function () { selectTab(i); });
    t.button = b;
    tabBar.appendChild(b);
  });
  function selectTab(i) {
    tabs.forEach(function (t, j) { t.button.setAttribute("aria-selected", i === j ? "true" : "false"); });
    clear(tabBody);
    tabBody.appendChild(tabs[i].node);
  }
  app.appendChild(el("section", { class: "panel" }, [tabBar, tabBody]));
  selectTab(0);
  app.appendChild(el("footer", { text: "Generated by " + D.generator + ". Packet numbers are Wireshark's frame.number, stream numbers its tcp.stream." }));

  // --------------------------------------------------------------- drawer
  const drawerTitle = el("h3");
  const drawerSub = el("div", { class: "sub" });
  const drawerBody = el("div", { class: "d-body" });
  const drawer = el("aside", { id: "drawer", "aria-hidden": "true" }, [
    el("div", { class: "d-head" }, [el("div", { style: "flex:1;min-width:0" }, [drawerTitle, drawerSub]), el("button", { class: "icon", title: "Close (Esc)", text: "×", onclick: closeDrawer })]),
    drawerBody,
  ]);
  document.body.appendChild(drawer);
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") closeDrawer(); });
  function openDrawer(title, sub, key) {
    clear(drawerTitle);
    append(drawerTitle, title);
    drawerSub.textContent = sub;
    clear(drawerBody);
    drawer.classList.add("open");
    drawer.setAttribute("aria-hidden", "false");
    selectedKey = key;
    drawTimeline();
  }
  function closeDrawer() {
    drawer.classList.remove("open");
    drawer.setAttribute("aria-hidden", "true");
    if (selectedKey !== null) {
      selectedKey = null;
      drawTimeline();
    }
  }
  function h4(s) {
    return el("h4", { text: s });
  }
  function kv(pairs) {
    const dl = el("dl", { class: "kv" });
    for (const p of pairs) {
      if (p[1] === null || p[1] === undefined || p[1] === "") continue;
      dl.appendChild(el("dt", { text: p[0] }));
      dl.appendChild(el("dd", {}, p[1]));
    }
    return dl;
  }
  function codeBox(text) {
    const code = el("code", { text: text });
    const btn = el("button", { text: "Copy" });
    btn.addEventListener("click", function () {
      const done = function () { btn.textContent = "Copied"; setTimeout(function () { btn.textContent = "Copy"; }, 1200); };
      const fallback = function () {
        const range = document.createRange();
        range.selectNodeContents(code);
        const sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
        btn.textContent = "Selected: Ctrl+C";
      };
      try {
        if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, fallback);
        else fallback();
      } catch (err) {
        fallback();
      }
    });
    return el("div", { class: "codebox" }, [code, btn]);
  }
  // Header fields a rule is about, highlighted in the frame.
  function hotFields(rule) {
    const r = rule || "";
    const hot = new Set();
    if (r.indexOf("rsv") >= 0) { hot.add("RSV1"); hot.add("RSV2"); hot.add("RSV3"); }
    if (r === "rsv1-on-continuation" || r === "rsv1-on-control") { hot.clear(); hot.add("RSV1"); }
    if (r.indexOf("opcode") >= 0 || r.indexOf("continuation") >= 0 || r === "message-interrupted" || r === "frame-after-close") hot.add("opcode");
    if (r.indexOf("mask") >= 0) { hot.add("MASK"); hot.add("mask key"); }
    if (r.indexOf("length") >= 0 || r.indexOf("too-long") >= 0 || r.indexOf("one-byte") >= 0) { hot.add("payload len"); hot.add("length form"); }
    if (r === "fragmented-control-frame") { hot.add("FIN"); hot.add("opcode"); }
    return hot;
  }
  function frameFields(f, rule) {
    const hot = hotFields(rule);
    const fields = [
      ["FIN", f.fin ? "1" : "0"], ["RSV1", f.rsv1 ? "1" : "0"], ["RSV2", f.rsv2 ? "1" : "0"], ["RSV3", f.rsv3 ? "1" : "0"],
      ["opcode", f.opcode + " " + f.opname], ["MASK", f.masked ? "1" : "0"],
      ["mask key", f.mask_key || "–"], ["payload len", fmtInt(f.payload_len)], ["length form", f.length_bits + "-bit"],
      ["header len", f.header_len + " B"], ["packets", f.first_packet === f.last_packet ? String(f.last_packet) : f.first_packet + "–" + f.last_packet],
      ["frame #", (f.dir === "c2s" ? "c→s " : "s→c ") + f.index],
    ];
    const grid = el("div", { class: "fields" });
    for (const p of fields) grid.appendChild(el("div", { class: "field" + (hot.has(p[0]) ? " hl" : "") }, [el("div", { class: "k", text: p[0] }), el("div", { class: "v", text: p[1] })]));
    const extra = [];
    if (f.close_code !== null) extra.push(["close code", codeLabel(f.close_code)]);
    if (f.close_reason) extra.push(["close reason", "“" + f.close_reason + "”"]);
    if (f.compressed) extra.push(["compressed", "permessage-deflate"]);
    if (f.truncated) extra.push(["truncated", "the capture ended inside this frame"]);
    if (f.captured_len !== f.payload_len && !f.truncated) extra.push(["captured", fmtInt(f.captured_len) + " of " + fmtInt(f.payload_len) + " payload bytes"]);
    if (f.preview_text) extra.push(["payload (text)", f.preview_text]);
    else if (f.preview_hex) extra.push(["payload (hex)", f.preview_hex]);
    extra.push(["time", f.ts]);
    return el("div", {}, [grid, el("div", { style: "margin-top:8px" }, kv(extra))]);
  }
  function framesTable(frames, refT, hlKey, closing) {
    const body = el("tbody");
    for (const f of frames) {
      const key = f.dir + ":" + f.index;
      let info = "";
      if (f.close_code !== null) info = "close " + f.close_code + (f.close_reason ? " “" + f.close_reason + "”" : "");
      else if (f.preview_text) info = f.preview_text;
      else if (f.preview_hex) info = f.preview_hex;
      const cls = key === hlKey ? "hl" : (closing && f.opcode === 8 ? "closing" : "");
      body.appendChild(el("tr", { class: cls }, [
        el("td", { text: fmtDur(f.t - refT), title: f.ts }),
        el("td", { text: f.dir === "c2s" ? "c → s" : "s → c" }),
        el("td", { class: "num", text: String(f.index) }),
        el("td", { class: "num", text: String(f.last_packet) }),
        el("td", { text: f.opname }),
        el("td", { text: (f.fin ? "F" : "·") + (f.rsv1 ? "1" : "·") + (f.rsv2 ? "2" : "·") + (f.rsv3 ? "3" : "·") + (f.masked ? "M" : "·") }),
        el("td", { class: "num", text: fmtInt(f.payload_len) }),
        el("td", { class: "info", text: info }),
      ]));
    }
    return el("table", { class: "frames" }, [
      el("thead", {}, el("tr", {}, ["Δt", "dir", "#", "packet", "opcode", "F123M", "len", "payload"].map(function (h) { return el("th", { text: h }); }))),
      body,
    ]);
  }
  function traceBox(t) {
    const parts = [el("div", { class: "exc", text: t.exception || t.message })];
    if (t.exception && t.message && t.message !== t.exception) parts.push(el("div", { class: "at", text: t.message }));
    if (t.top_frame) parts.push(el("div", { class: "at", text: "at " + t.top_frame }));
    const loc = [t.location, t.level ? "level " + t.level : "", "logged " + t.log_ts];
    if (t.delta_s !== null && t.delta_s !== undefined) loc.push(fmtSecs(t.delta_s) + " from the close (clock offset corrected)");
    parts.push(el("div", { class: "loc", text: loc.filter(Boolean).join(" · ") }));
    if (t.confidence) parts.push(el("div", { class: "loc" }, [el("span", { class: "badge " + (t.confidence === "high" ? "good" : "info"), text: "confidence " + t.confidence }), " ", t.evidence]));
    return el("div", { class: "trace" }, parts);
  }
  function kbBlock(code) {
    const t = D.codes[String(code)];
    if (!t) return null;
    return el("div", { class: "kb" }, [
      h4("What " + code + " means"), el("p", { text: t.description }),
      t.when ? el("p", { class: "muted", text: t.when }) : null,
      h4("How to fix"), el("p", { text: t.fix }),
    ]);
  }
  function showClose(c) {
    const inferred = c.inferred && c.code === 1006;
    openDrawer(codePill(c.reported, inferred ? " (inferred: no Close frame)" : ""),
      (inferred ? "TCP ended by the " : "sent by the ") + c.by + " · tcp.stream " + c.conn + " · packet " + c.packet + " · " + c.ts, markKey("c", c.i));
    const badges = [];
    badges.push(el("span", { class: "badge " + (c.problem ? "bad" : "good"), text: c.problem ? "problem close" : "normal close" }));
    badges.push(" ");
    badges.push(el("span", { class: "badge", text: c.initiator ? "first close of the connection" : "reply" }));
    if (c.no_visible_cause) { badges.push(" "); badges.push(el("span", { class: "badge bad", text: "no visible cause at the capture point" })); }
    drawerBody.appendChild(el("div", { style: "margin-top:10px" }, badges));
    if (c.question) {
      drawerBody.appendChild(h4("Open question"));
      drawerBody.appendChild(el("div", { class: "question", text: c.question }));
    }
    drawerBody.appendChild(h4("Diagnosis"));
    drawerBody.appendChild(el("div", { class: "diag", text: c.diagnosis }));
    const conn = connById.get(c.conn);
    drawerBody.appendChild(h4("Close"));
    drawerBody.appendChild(kv([
      ["connection", el("span", { class: "linkish", text: "tcp.stream " + c.conn + ": " + c.client + " → " + c.server, onclick: function () { if (conn) showConnection(conn); } })],
      ["path", c.path],
      ["reason", c.reason ? "“" + c.reason + "”" : (inferred ? "" : "(none)")],
      ["code on the wire", inferred ? "none (no Close frame)" : (c.code === null ? "none: the peer reports 1005" : String(c.code))],
      ["answered", c.answered === null ? "" : c.answered ? "yes, after " + fmtSecs(c.answer_delay_s).replace("+", "") : "never"],
      ["TCP ended", c.tcp_end_delay_s === null ? "" : fmtSecs(c.tcp_end_delay_s) + " after this close"],
      ["cause rule", c.cause_rule ? el("span", { class: "mono", text: c.cause_rule }) : ""],
      ["cause packet", c.cause_packet === null ? "" : String(c.cause_packet)],
      ["evidence packets", c.packets.join(", ")],
    ]));
    drawerBody.appendChild(h4("Wireshark filter"));
    drawerBody.appendChild(codeBox(c.filter));
    if (c.trace || c.no_trace || c.target_kind) {
      drawerBody.appendChild(h4("Server log"));
      if (c.trace) drawerBody.appendChild(traceBox(c.trace));
      else drawerBody.appendChild(el("div", { class: "diag", text: "No stack trace matched: " + (c.no_trace || "not found") }));
    } else if (c.reported === 1011 && !D.log) {
      drawerBody.appendChild(h4("Server log"));
      drawerBody.appendChild(el("div", { class: "diag", text: "No server log was given: run with --log to match this 1011 with its stack trace." }));
    }
    if (c.cause) {
      const v = c.cause;
      drawerBody.appendChild(h4("The violation this close answered"));
      drawerBody.appendChild(kv([
        ["rule", el("span", { class: "mono", text: v.rule + " (" + v.rfc + ")" })],
        ["sent by", v.dir === "c2s" ? "client" : "server"],
        ["packet", v.packet === null ? "" : String(v.packet)],
        ["detail", v.detail],
        ["calls for", v.expected === null ? "" : codeLabel(v.expected)],
      ]));
      if (v.frame) {
        drawerBody.appendChild(h4("Violating frame: header fields"));
        drawerBody.appendChild(frameFields(v.frame, v.rule));
      }
      if (v.frames.length) {
        drawerBody.appendChild(h4("Frames up to the violation"));
        drawerBody.appendChild(framesTable(v.frames, v.frame ? v.frame.t : c.t, v.frame ? v.frame.dir + ":" + v.frame.index : null, false));
      }
    }
    if (c.frames.length) {
      drawerBody.appendChild(h4(inferred ? "Last frames before TCP ended" : "Frames up to the close"));
      const closeKey = c.frame_index === null ? null : c.dir + ":" + c.frame_index;
      drawerBody.appendChild(framesTable(c.frames, c.t, closeKey, true));
    }
    const kb = kbBlock(c.reported);
    if (kb) drawerBody.appendChild(kb);
  }
  function showViolation(v) {
    openDrawer(el("span", { class: "mono", text: v.rule }), "violation by the " + (v.dir === "c2s" ? "client" : "server") + " · tcp.stream " + v.conn + " · packet " + (v.packet === null ? "–" : v.packet) + " · " + v.ts, markKey("v", v.i));
    drawerBody.appendChild(h4("Violation"));
    const answered = (closesByConn.get(v.conn) || []).filter(function (c) { return c.cause_rule === v.rule && c.cause_packet === v.packet; });
    drawerBody.appendChild(kv([
      ["rule", v.rule + " (" + v.rfc + ")"],
      ["detail", v.detail],
      ["calls for", v.expected === null ? "" : codePill(v.expected)],
      ["answered by", answered.length ? el("span", {}, answered.map(function (c) { return el("span", { class: "linkish", text: codeLabel(c.reported) + " from the " + c.by + " (packet " + c.packet + ")", onclick: function () { showClose(c); } }); })) : "no close names it as its cause"],
      ["frame", v.frame_index === null ? "" : "#" + v.frame_index],
    ]));
    if (v.filter) {
      drawerBody.appendChild(h4("Wireshark filter"));
      drawerBody.appendChild(codeBox(v.filter));
    }
    if (v.frame) {
      drawerBody.appendChild(h4("Frame: header fields"));
      drawerBody.appendChild(frameFields(v.frame, v.rule));
    }
    if (v.expected !== null) {
      const kb = kbBlock(v.expected);
      if (kb) drawerBody.appendChild(kb);
    }
  }
  function showConnection(c) {
    openDrawer("tcp.stream " + c.id, c.client + " → " + c.server + " · " + c.start_ts, null);
    drawerBody.appendChild(h4("Connection"));
    drawerBody.appendChild(kv([
      ["client", c.client], ["server", c.server], ["path", c.path],
      ["handshake", c.handshake + (c.status ? " (HTTP " + c.status + ")" : "")],
      ["start", c.start_ts], ["end", c.end_ts], ["duration", fmtDur(c.end - c.start)],
      ["packets", c.first_packet + "–" + c.last_packet],
      ["frames", "client → server " + fmtInt(c.frames[0]) + ", server → client " + fmtInt(c.frames[1])],
      ["messages", "client → server " + fmtInt(c.messages[0]) + ", server → client " + fmtInt(c.messages[1])],
      ["close codes", "client " + (c.codes[0] === null ? "–" : c.codes[0]) + ", server " + (c.codes[1] === null ? "–" : c.codes[1])],
      ["initiator", c.initiator || "none"],
      ["ended", (c.end_code === null ? "no close" : codeLabel(c.end_code)) + " (" + c.termination + ")"],
      ["gap bytes", c.gap_bytes ? fmtInt(c.gap_bytes) : ""],
    ]));
    drawerBody.appendChild(el("div", { style: "margin-top:10px" }, el("button", {
      text: "Zoom the timeline to this connection",
      onclick: function () {
        const w = Math.max(c.end - c.start, 1000);
        view.a = c.start - w * 0.08;
        view.b = c.end + w * 0.08;
        tlFilter.value = "#" + c.id + " ";
        redraw();
        tlPanel.scrollIntoView({ behavior: "smooth", block: "start" });
      },
    })));
    drawerBody.appendChild(h4("Wireshark filter"));
    drawerBody.appendChild(codeBox(c.filter));
    const cl = closesByConn.get(c.id) || [];
    if (cl.length) {
      drawerBody.appendChild(h4("Closes"));
      for (const k of cl) drawerBody.appendChild(el("div", {}, el("span", { class: "linkish", text: k.ts + "  " + codeLabel(k.reported) + " from the " + k.by + " (packet " + k.packet + ")", onclick: function () { showClose(k); } })));
    }
    const vl = violationsByConn.get(c.id) || [];
    if (vl.length) {
      drawerBody.appendChild(h4("Violations"));
      for (const v of vl) drawerBody.appendChild(el("div", {}, el("span", { class: "linkish", text: v.ts + "  " + v.rule + " (packet " + (v.packet === null ? "–" : v.packet) + ")", onclick: function () { showViolation(v); } })));
    }
  }
  function showLogEvent(t) {
    openDrawer("Log error no close explains", t.location, null);
    drawerBody.appendChild(h4("Event"));
    drawerBody.appendChild(traceBox(t));
  }

  // ---------------------------------------------------------------- start
  redraw();
  let resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(redraw, 120);
  });
  document.body.dataset.ready = "1";
})();
