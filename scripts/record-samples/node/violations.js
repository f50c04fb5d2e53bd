#!/usr/bin/env node
// Node `ws` peers for the violation captures (see ../violations.py).
//
//   node violations.js server --port P [--max-payload N]   ws echo server (perMessageDeflate on)
//   node violations.js client --port P                     ws client of the raw-socket server
//
// The raw-socket peers (which send the bad bytes) are in ../violations.py.
// For every connection the log gets one `CONN {json}` line with what ws
// reported: the error it raised (code, message, the close code it sent) and
// the close it received.
'use strict';

const { WebSocket, WebSocketServer } = require('ws');

function iso() {
  return new Date().toISOString();
}
function info(msg) {
  console.log(`${iso()} INFO ${msg}`);
}

function parseArgs(argv) {
  const [role, ...rest] = argv;
  const opts = { role, port: 0, 'max-payload': '1024' };
  for (let i = 0; i < rest.length; i += 2) opts[rest[i].replace(/^--/, '')] = rest[i + 1];
  opts.port = Number(opts.port);
  opts.maxPayload = Number(opts['max-payload']);
  return opts;
}

// ws keeps the close code it sends for an error under a private symbol.
function statusOf(err) {
  const sym = Object.getOwnPropertySymbols(err).find((s) => String(s) === 'Symbol(status-code)');
  return sym ? err[sym] : undefined;
}

// Follow one WebSocket; resolve with the CONN record when it is closed.
function track(ws, path, peer) {
  const record = { path, peer, error: null, error_code: null, close_sent: null, close_rcvd: null };
  ws.on('error', (err) => {
    record.error = err.message;
    record.error_code = err.code || null;
    const status = statusOf(err);
    info(`client ${peer} path=${path} error ${err.code}: ${err.message} (ws sends close ${status})`);
  });
  ws.on('message', (data, isBinary) => {
    info(`client ${peer} path=${path} message ${isBinary ? 'binary' : 'text'} of ${data.length} bytes`);
    if (ws.readyState === WebSocket.OPEN) ws.send(data, { binary: isBinary });
  });
  ws.on('ping', (data) => info(`client ${peer} path=${path} ping of ${data.length} bytes`));
  // Record the Close frames ws itself sends (its close() is called for an error,
  // for an echo of the peer's Close, and by us).
  const origClose = ws.close.bind(ws);
  ws.close = (code, reason) => {
    // Only the first call while OPEN sends a Close frame (an empty body when no code).
    if (ws.readyState === WebSocket.OPEN) record.close_sent = code === undefined ? 'empty' : code;
    return origClose(code, reason);
  };
  return new Promise((resolve) => {
    ws.on('close', (code, reason) => {
      // `code` is what ws received (1005 = a Close without code, 1006 = none).
      record.close_rcvd = code;
      record.close_rcvd_reason = reason.toString();
      record.close_frame_received = ws._closeFrameReceived;
      record.close_frame_sent = ws._closeFrameSent;
      info(`client ${peer} path=${path} closed code=${code} reason=${JSON.stringify(reason.toString())}`);
      info(`CONN ${JSON.stringify(record)}`);
      resolve(record);
    });
  });
}

function server(opts) {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: opts.port,
    perMessageDeflate: true,
    maxPayload: opts.maxPayload,
  });
  wss.on('listening', () => info(`violations server listening on 127.0.0.1:${opts.port} (ws ${require('ws/package.json').version}, perMessageDeflate on, maxPayload ${opts.maxPayload})`));
  wss.on('connection', (ws, req) => {
    const peer = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    info(`client ${peer} connected path=${req.url} extensions=${JSON.stringify(ws.extensions)}`);
    track(ws, req.url, peer);
  });
  const shutdown = (signal) => {
    info(`received ${signal}, shutting down`);
    wss.close();
    setTimeout(() => process.exit(0), 100);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

async function client(opts) {
  const path = '/rule/masked-server-frame/text';
  const ws = new WebSocket(`ws://127.0.0.1:${opts.port}${path}`, { perMessageDeflate: false });
  ws.on('open', () => info(`connected from 127.0.0.1:${ws._socket.localPort}`));
  await track(ws, path, 'raw-server');
}

const table = { server, client };
const opts = parseArgs(process.argv.slice(2));
if (!table[opts.role]) {
  console.error('usage: node violations.js server|client --port P [--max-payload N]');
  process.exit(2);
}
Promise.resolve(table[opts.role](opts)).catch((err) => {
  console.error(`${iso()} ERROR ${err.stack}`);
  process.exit(1);
});
