// ws-broadcast.mjs - the Node.js peer of the WebSocket fan-out benchmark
// (issue 13): a chat room on the npm `ws` package's server, broadcasting
// the way its README does (each message sent to every open client).  It
// speaks as much of chatd's chat protocol as the benchmark needs: a text
// message is split into lines, each line goes to everyone (the sender
// too) as "ADDR:PORT: line" in a text frame, "* ADDR:PORT joined" / "left"
// notices (unless --no-announce), and a line starting with "/" is
// answered "* error: unknown command" to its sender only (the idle probe).
//
// usage: node bench/peers/ws-broadcast.mjs PORT [--no-announce]
//   NODE_DIR: where `npm ci` of tests/node put node_modules (ws is pinned
//   there); default ./tests/browser-node, as tests/ws-node.bats leaves it.
import { createRequire } from 'node:module';
import path from 'node:path';

const args = process.argv.slice(2);
const port = Number(args[0]);
const announce = !args.includes('--no-announce');
if (!(port > 0 && port < 65536)) {
  process.stderr.write('usage: node ws-broadcast.mjs PORT [--no-announce]\n');
  process.exit(2);
}
const nodeDir = process.env.NODE_DIR || path.resolve('tests/browser-node');
const require = createRequire(path.join(nodeDir, 'package.json'));
const { WebSocketServer, WebSocket } = require('ws');

const wss = new WebSocketServer({ host: '127.0.0.1', port, backlog: 4096, clientTracking: true });

function broadcast(text) {
  const data = Buffer.from(text);	// encoded once, framed by ws per client
  for (const c of wss.clients)
    if (c.readyState === WebSocket.OPEN) c.send(data, { binary: false });
}

wss.on('connection', (ws, req) => {
  const name = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
  if (announce) broadcast(`* ${name} joined`);
  ws.on('message', (data, isBinary) => {
    if (isBinary) { ws.close(1003); return; }
    for (const line of data.toString('utf8').split('\n')) {
      if (line.startsWith('/')) ws.send('* error: unknown command');
      else broadcast(`${name}: ${line}`);
    }
  });
  ws.on('close', () => { if (announce) broadcast(`* ${name} left`); });
  ws.on('error', () => {});
});
wss.on('listening', () => process.stderr.write(`ws-broadcast: listening on 127.0.0.1:${port}\n`));
for (const sig of ['SIGTERM', 'SIGINT'])
  process.on(sig, () => process.exit(0));
