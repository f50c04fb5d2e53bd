#!/usr/bin/env node
// Node `ws` peers for the handshake captures (see ../handshake.py).
//
//   node handshake.js server --port P                  ws server, default settings + perMessageDeflate on
//   node handshake.js client --port P --cases JSON     ws client of the raw-socket server, one connection per case
//
// The raw-socket peers (which send the bad heads) are in ../handshake.py; the
// client cases come from `handshake.py client-cases`.
//
// Server: every upgrade request and every plain HTTP request is logged (method,
// url, headers) with the status line that was written back, by listeners that
// only watch (prepended to ws's own; no 'clientError' or 'wsClientError'
// listener, which would change what ws and Node answer). A request that
// Node's HTTP layer refuses before any event (e.g. a bad request line) is not
// in this log.
// Client: one `CONN {json}` line per case with what ws reported (the 'error'
// message, the 'close' code, whether it opened).
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
  const opts = { role };
  for (let i = 0; i < rest.length; i += 2) opts[rest[i].replace(/^--/, '')] = rest[i + 1];
  opts.port = Number(opts.port);
  return opts;
}

// Log the first line of whatever is written back on `socket` (the status line).
function watchWrites(socket, label) {
  let logged = false;
  const wrap = (name) => {
    const orig = socket[name].bind(socket);
    socket[name] = (chunk, ...rest) => {
      if (!logged && chunk && chunk.length) {
        logged = true;
        const text = Buffer.isBuffer(chunk) ? chunk.toString('latin1') : String(chunk);
        info(`${label} answered ${JSON.stringify(text.split('\r\n')[0])}`);
      }
      return orig(chunk, ...rest);
    };
  };
  wrap('write');
  wrap('end');
}

function server(opts) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: opts.port, perMessageDeflate: true });
  const http = wss._server;
  http.prependListener('upgrade', (req, socket) => {
    const label = `upgrade request from ${req.socket.remoteAddress}:${req.socket.remotePort}`;
    info(`${label}: ${req.method} ${req.url} HTTP/${req.httpVersion} headers=${JSON.stringify(req.rawHeaders)}`);
    watchWrites(socket, label);
    socket.on('close', () => info(`${label}: socket closed`));
  });
  http.prependListener('request', (req, res) => {
    const label = `plain HTTP request (no upgrade) from ${req.socket.remoteAddress}:${req.socket.remotePort}`;
    info(`${label}: ${req.method} ${req.url} HTTP/${req.httpVersion} headers=${JSON.stringify(req.rawHeaders)}`);
    res.on('finish', () => info(`${label}: answered ${res.statusCode} ${res.statusMessage}`));
  });
  http.on('connection', (socket) => {
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    info(`TCP connection from ${peer}`);
    socket.on('close', (hadError) => info(`TCP connection from ${peer} closed (hadError=${hadError})`));
  });
  wss.on('listening', () =>
    info(`handshake server listening on 127.0.0.1:${opts.port} (ws ${require('ws/package.json').version}, perMessageDeflate on, Node ${process.version})`)
  );
  wss.on('connection', (ws, req) => {
    const peer = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    info(`client ${peer} connected path=${req.url} (the server ACCEPTED the request)`);
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('close', (code, reason) => info(`client ${peer} closed code=${code} reason=${JSON.stringify(reason.toString())}`));
  });
  const shutdown = (signal) => {
    info(`received ${signal}, shutting down`);
    wss.close();
    setTimeout(() => process.exit(0), 100);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

function clientOptions(c) {
  if (c.compression === 'off') return { perMessageDeflate: false };
  if (c.compression === 'no-client-bits') return { perMessageDeflate: { clientMaxWindowBits: false } };
  return {}; // ws's default: perMessageDeflate offered with client_max_window_bits
}

function runCase(port, c) {
  return new Promise((resolve) => {
    const record = { path: c.path, config: { compression: c.compression, protocols: c.protocols }, opened: false, error: null };
    const ws = new WebSocket(`ws://127.0.0.1:${port}${c.path}`, c.protocols, clientOptions(c));
    ws.on('upgrade', (res) => {
      record.upgrade_status = res.statusCode;
      info(`${c.path}: 'upgrade' event, status ${res.statusCode}`);
    });
    ws.on('open', () => {
      record.opened = true;
      info(`${c.path}: open (the client ACCEPTED the handshake); closing with 1000`);
      ws.close(1000, 'accepted');
    });
    ws.on('error', (err) => {
      record.error = err.message;
      info(`${c.path}: error: ${err.message}`);
    });
    ws.on('close', (code, reason) => {
      record.close_code = code;
      record.close_reason = reason.toString();
      info(`${c.path}: close event code=${code} reason=${JSON.stringify(reason.toString())}`);
      info(`CONN ${JSON.stringify(record)}`);
      setTimeout(resolve, 100);
    });
  });
}

async function client(opts) {
  info(`handshake client (ws ${require('ws/package.json').version}, Node ${process.version})`);
  for (const c of JSON.parse(opts.cases)) await runCase(opts.port, c);
}

const table = { server, client };
const opts = parseArgs(process.argv.slice(2));
if (!table[opts.role]) {
  console.error('usage: node handshake.js server|client --port P [--cases JSON]');
  process.exit(2);
}
Promise.resolve(table[opts.role](opts)).catch((err) => {
  console.error(`${iso()} ERROR ${err.stack}`);
  process.exit(1);
});
