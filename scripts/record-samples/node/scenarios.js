#!/usr/bin/env node
// Node `ws` servers and clients used to record wsforensics samples.
//
//   node scenarios.js server MODE --port P [--deflate on|off]
//   node scenarios.js client MODE --port P [--deflate on|off]
//
// Server modes: echo, app, browser.   Client modes: echo, app, killed.
// Both write their log to stdout/stderr (console.log / console.error), one line
// per event with an ISO-8601 UTC timestamp; record.sh redirects both to a file.
'use strict';

const fs = require('fs');
const http = require('http');
const { WebSocket, WebSocketServer } = require('ws');

const PAUSE_MS = 50;

function iso() {
  return new Date().toISOString();
}
function info(msg) {
  console.log(`${iso()} INFO ${msg}`);
}
function warn(msg) {
  console.error(`${iso()} WARN ${msg}`);
}
function error(msg) {
  console.error(`${iso()} ERROR ${msg}`);
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function parseArgs(argv) {
  const [role, mode, ...rest] = argv;
  const opts = { role, mode, port: 0, deflate: 'off' };
  for (let i = 0; i < rest.length; i += 2) {
    const key = rest[i].replace(/^--/, '');
    opts[key] = rest[i + 1];
  }
  opts.port = Number(opts.port);
  return opts;
}

function peerOf(req) {
  return `${req.socket.remoteAddress}:${req.socket.remotePort}`;
}

// Deterministic, incompressible bytes (xorshift32).
function pseudoRandomBytes(size, seed) {
  const buf = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    buf[i] = x & 0xff;
  }
  return buf;
}

function compressibleText(size) {
  const line = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. 42\n';
  return line.repeat(Math.ceil(size / line.length)).slice(0, size);
}

function installShutdown(wss, extra) {
  const shutdown = (signal) => {
    info(`received ${signal}, shutting down (${wss.clients.size} open connections)`);
    for (const ws of wss.clients) ws.close(1001, 'server shutting down');
    wss.close();
    if (extra) extra.close();
    setTimeout(() => process.exit(0), 200);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

// ------------------------------------------------------------------ servers

function serverEcho(opts) {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: opts.port,
    perMessageDeflate: opts.deflate === 'on',
  });
  wss.on('listening', () => info(`echo server listening on 127.0.0.1:${opts.port} (ws ${require('ws/package.json').version}, perMessageDeflate ${opts.deflate})`));
  wss.on('connection', (ws, req) => {
    const peer = peerOf(req);
    info(`client ${peer} connected path=${req.url} extensions="${ws.extensions}"`);
    let count = 0;
    ws.on('message', (data, isBinary) => {
      count += 1;
      ws.send(data, { binary: isBinary });
    });
    ws.on('ping', (data) => info(`client ${peer} ping ${JSON.stringify(data.toString())}`));
    ws.on('close', (code, reason) => {
      info(`client ${peer} disconnected after ${count} messages code=${code} reason=${JSON.stringify(reason.toString())}`);
    });
  });
  installShutdown(wss);
}

// The application server: JSON requests; a bug in one handler throws.
function handleRequest(ws, peer, data) {
  const req = JSON.parse(data);
  info(`client ${peer} request seq=${req.seq} type=${req.type}`);
  switch (req.type) {
    case 'echo':
      ws.send(JSON.stringify({ seq: req.seq, text: req.text }));
      break;
    case 'profile':
      // Bug: a user without a profile makes this throw a TypeError.
      ws.send(JSON.stringify({ seq: req.seq, name: req.user.profile.name }));
      break;
    case 'admin':
      if (!req.roles.includes('admin')) {
        warn(`client ${peer} is not an admin, closing with 4003`);
        ws.close(4003, 'forbidden: admin role required');
        return;
      }
      ws.send(JSON.stringify({ seq: req.seq, ok: true }));
      break;
    default:
      ws.send(JSON.stringify({ seq: req.seq, error: 'unknown type' }));
  }
}

function serverApp(opts) {
  info(`app server starting (node ${process.version}, ws ${require('ws/package.json').version})`);
  try {
    JSON.parse(fs.readFileSync('/etc/wsapp/feature-flags.json', 'utf8'));
  } catch (err) {
    warn(`feature flags unavailable, using defaults: ${err.stack}`);
  }
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: opts.port,
    perMessageDeflate: opts.deflate === 'on',
  });
  wss.on('listening', () => info(`listening on 127.0.0.1:${opts.port}`));
  wss.on('connection', (ws, req) => {
    const peer = peerOf(req);
    info(`client ${peer} connected path=${req.url}`);
    ws.on('message', (data) => {
      try {
        handleRequest(ws, peer, data);
      } catch (err) {
        error(`request handler failed for client ${peer}: ${err.stack}`);
        ws.close(1011, 'internal error');
      }
    });
    ws.on('close', (code, reason) => {
      info(`client ${peer} disconnected code=${code} reason=${JSON.stringify(reason.toString())}`);
    });
    ws.on('error', (err) => error(`client ${peer} socket error: ${err.stack}`));
  });
  installShutdown(wss);
}

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>wsforensics sample</title></head>
<body><pre id="out"></pre>
<script>
const out = document.getElementById('out');
const say = (m) => { out.textContent += m + '\\n'; };
const base = 'ws://' + location.host;
// Socket 1: three messages, echoed, then the page closes it with 1000.
const chat = new WebSocket(base + '/chat');
chat.binaryType = 'arraybuffer';
let echoes = 0;
chat.onopen = () => {
  chat.send('hello from chromium');
  const bytes = new Uint8Array(300);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) & 0xff;
  chat.send(bytes);
  chat.send('x'.repeat(3000));
};
chat.onmessage = () => {
  echoes += 1;
  if (echoes === 3) setTimeout(() => chat.close(1000, 'page done'), 100);
};
// Socket 2: a feed left open; when the browser process is stopped it closes it (1001).
const feed = new WebSocket(base + '/feed');
feed.onmessage = (ev) => say('feed: ' + ev.data);
chat.onclose = (ev) => {
  say('chat closed ' + ev.code);
  setTimeout(() => fetch('/done?chat=' + ev.code), 300);
};
</script></body></html>
`;

function serverBrowser(opts) {
  const httpServer = http.createServer((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(PAGE);
      info(`page / served to ${peerOf(req)} (${req.headers['user-agent']})`);
    } else if (req.url.startsWith('/done')) {
      res.writeHead(204);
      res.end();
      info(`page reported ${req.url} (${peerOf(req)})`);
    } else {
      res.writeHead(404);
      res.end();
      info(`${req.url} not found (${peerOf(req)})`);
    }
  });
  const wss = new WebSocketServer({ server: httpServer, perMessageDeflate: opts.deflate === 'on' });
  wss.on('connection', (ws, req) => {
    const peer = peerOf(req);
    info(`client ${peer} connected path=${req.url} extensions=${JSON.stringify(req.headers['sec-websocket-extensions'] || '')} agreed=${JSON.stringify(ws.extensions)}`);
    let timer = null;
    if (req.url === '/feed') {
      let n = 0;
      timer = setInterval(() => ws.send(`tick ${++n}`), 150);
    } else {
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    }
    ws.on('close', (code, reason) => {
      if (timer) clearInterval(timer);
      info(`client ${peer} ${req.url} disconnected code=${code} reason=${JSON.stringify(reason.toString())}`);
    });
  });
  httpServer.listen(opts.port, '127.0.0.1', () => info(`browser test server on http://127.0.0.1:${opts.port}/`));
  installShutdown(wss, httpServer);
}

// ------------------------------------------------------------------ clients

function open(url, opts) {
  const ws = new WebSocket(url, { perMessageDeflate: opts.deflate === 'on' });
  const inbox = [];
  const waiters = [];
  ws.on('message', (data, isBinary) => {
    const item = { data, isBinary };
    if (waiters.length) waiters.shift()(item);
    else inbox.push(item);
  });
  ws.next = () => (inbox.length ? Promise.resolve(inbox.shift()) : new Promise((r) => waiters.push(r)));
  ws.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.opened = new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
  return ws;
}

async function clientEcho(opts) {
  const ws = open(`ws://127.0.0.1:${opts.port}/echo`, opts);
  await ws.opened;
  info(`connected from 127.0.0.1:${ws._socket.localPort} extensions="${ws.extensions}"`);
  const messages = [
    ['text', 'hello'],
    ['text', compressibleText(200)],
    ['text', compressibleText(2000)],
    ['binary', Buffer.alloc(0)],
    ['binary', pseudoRandomBytes(70000, 70000)],
  ];
  for (const [kind, payload] of messages) {
    ws.send(payload, { binary: kind === 'binary' });
    const reply = await ws.next();
    if (Buffer.compare(Buffer.from(reply.data), Buffer.from(payload)) !== 0) throw new Error('echo mismatch');
    info(`echoed ${kind} message of ${Buffer.byteLength(payload)} bytes`);
    await sleep(PAUSE_MS);
  }
  // One text message in three frames (text FIN=0, continuation FIN=0, continuation FIN=1).
  ws.send('part-one ', { fin: false });
  ws.send('part-two ', { fin: false });
  ws.send('part-three', { fin: true });
  const frag = await ws.next();
  info(`echoed fragmented message ${JSON.stringify(frag.data.toString())}`);
  await sleep(PAUSE_MS);
  const pong = new Promise((resolve) => ws.once('pong', resolve));
  ws.ping('are-you-there');
  info(`pong ${JSON.stringify((await pong).toString())}`);
  await sleep(PAUSE_MS);
  ws.close(1000, 'done');
  const { code, reason } = await ws.closed;
  info(`closed code=${code} reason=${JSON.stringify(reason)}`);
}

async function request(ws, obj) {
  ws.send(JSON.stringify(obj));
  const reply = await ws.next();
  info(`${ws.label} reply ${reply.data.toString()}`);
}

async function clientApp(opts) {
  const url = `ws://127.0.0.1:${opts.port}/api`;
  // C1: a request hits the bug -> the server closes with 1011.
  const c1 = async () => {
    const ws = open(url, opts);
    ws.label = 'C1';
    await ws.opened;
    info(`C1 connected from 127.0.0.1:${ws._socket.localPort}`);
    await request(ws, { seq: 1, type: 'echo', text: 'hi' });
    await sleep(PAUSE_MS);
    ws.send(JSON.stringify({ seq: 2, type: 'profile', user: { id: 7 } }));
    const { code, reason } = await ws.closed;
    info(`C1 closed by server code=${code} reason=${JSON.stringify(reason)}`);
  };
  // C2: not an admin -> the server closes with 4003.
  const c2 = async () => {
    await sleep(30);
    const ws = open(url, opts);
    ws.label = 'C2';
    await ws.opened;
    info(`C2 connected from 127.0.0.1:${ws._socket.localPort}`);
    await request(ws, { seq: 10, type: 'echo', text: 'status?' });
    await sleep(150);
    ws.send(JSON.stringify({ seq: 11, type: 'admin', roles: ['viewer'] }));
    const { code, reason } = await ws.closed;
    info(`C2 closed by server code=${code} reason=${JSON.stringify(reason)}`);
  };
  // C3: the client itself closes with 4000 and a non-ASCII reason.
  const c3 = async () => {
    await sleep(60);
    const ws = open(url, opts);
    ws.label = 'C3';
    await ws.opened;
    info(`C3 connected from 127.0.0.1:${ws._socket.localPort}`);
    for (let i = 0; i < 3; i++) {
      await request(ws, { seq: 20 + i, type: 'echo', text: `msg ${i}` });
      await sleep(100);
    }
    ws.close(4000, 'user logged out – à bientôt ✓');
    const { code, reason } = await ws.closed;
    info(`C3 closed code=${code} reason=${JSON.stringify(reason)}`);
  };
  await Promise.all([c1(), c2(), c3()]);
}

// The client keeps sending until the connection dies under it.
async function clientKilled(opts) {
  const ws = open(`ws://127.0.0.1:${opts.port}/api`, opts);
  await ws.opened;
  info(`connected from 127.0.0.1:${ws._socket.localPort}`);
  let seq = 0;
  let alive = true;
  ws.closed.then(({ code, reason }) => {
    alive = false;
    info(`connection closed code=${code} reason=${JSON.stringify(reason)} (no close frame received: ${code === 1006})`);
  });
  ws.on('error', (err) => error(`socket error: ${err.message}`));
  ws.on('message', (data) => info(`reply ${data.toString()}`));
  while (alive && seq < 50) {
    seq += 1;
    ws.send(JSON.stringify({ seq, type: 'echo', text: `heartbeat ${seq}` }));
    await sleep(100);
  }
  await ws.closed;
}

// ------------------------------------------------------------------ main

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const table = {
    server: { echo: serverEcho, app: serverApp, browser: serverBrowser },
    client: { echo: clientEcho, app: clientApp, killed: clientKilled },
  };
  const fn = (table[opts.role] || {})[opts.mode];
  if (!fn) {
    console.error('usage: node scenarios.js server|client MODE --port P [--deflate on|off]');
    process.exit(2);
  }
  await fn(opts);
}

main().catch((err) => {
  error(err.stack);
  process.exit(1);
});
