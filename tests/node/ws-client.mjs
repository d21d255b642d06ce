// ws-client.mjs - chatd's websocket listener against an independent
// WebSocket implementation: the npm `ws` package's client (tests/node,
// installed with `npm ci`), chatting with a plain TCP chat client (what nc
// does) in one room.  Run by tests/ws-node.bats; from the environment:
//   NODE_DIR      where `npm ci` put node_modules
//   WS_URL        the websocket listener, e.g. ws://127.0.0.1:PORT/chat
//   CHAT_PORT     the chat listener on 127.0.0.1, same room
//   STEP_TIMEOUT  ms for each wait (default 5000)
// Steps: both join and see each other, a line each way, a message sent in
// three fragments (arriving as one line), a ping answered with its payload,
// /nick and /who, and the close handshake with code 1000 (the client sees
// chatd's close frame with 1000, the TCP client sees the leave).  Every wait
// is for something observable; on failure it names the step and exits 1.
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';

const env = process.env;
const require = createRequire(path.join(env.NODE_DIR, 'package.json'));
const WebSocket = require('ws');
const T = Number(env.STEP_TIMEOUT || 5000);

let step = 'start';
function log(s) { step = s; process.stderr.write(`# ws-client: ${s}\n`); }

// A line source: lines pushed as they arrive, waited for by regex.
class Lines {
  constructor(name) { this.name = name; this.seen = []; this.pos = 0; this.waiter = null; }
  push(line) {
    this.seen.push(line);
    if (this.waiter) this.waiter();
  }
  // expect(re): the next line matching re, skipping others; its match.
  expect(re) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`${this.name}: no line matching ${re} within ${T} ms; got: ` +
          JSON.stringify(this.seen.slice(-10))));
      }, T);
      const look = () => {
        while (this.pos < this.seen.length) {
          const m = re.exec(this.seen[this.pos++]);
          if (m) { clearTimeout(timer); this.waiter = null; resolve(m); return; }
        }
      };
      this.waiter = look;
      look();
    });
  }
}

function withTimeout(p, what) {
  let timer;
  return Promise.race([p, new Promise((_, rej) => {
    timer = setTimeout(() => rej(new Error(`${what}: nothing within ${T} ms`)), T);
  })]).finally(() => clearTimeout(timer));
}

async function main() {
  // ---- the TCP client (as nc) ----
  log('TCP client connects');
  const tcp = new Lines('tcp');
  const sock = net.connect(Number(env.CHAT_PORT), '127.0.0.1');
  let tbuf = '';
  sock.setEncoding('utf8');
  sock.on('data', (d) => {
    tbuf += d;
    let i;
    while ((i = tbuf.indexOf('\n')) >= 0) {
      tcp.push(tbuf.slice(0, i).replace(/\r$/, ''));
      tbuf = tbuf.slice(i + 1);
    }
  });
  await withTimeout(new Promise((res, rej) => { sock.on('connect', res); sock.on('error', rej); }),
    'TCP connect');
  const tcpName = `127.0.0.1:${sock.localPort}`;

  // ---- the ws client ----
  log(`ws client connects to ${env.WS_URL}`);
  const ws = new WebSocket(env.WS_URL);
  const wsl = new Lines('ws');
  const pongs = [];
  let pongWaiter = null;
  ws.on('message', (data, isBinary) => {
    if (isBinary) wsl.push(`<binary ${data.length} bytes>`);
    else wsl.push(data.toString('utf8'));
  });
  ws.on('pong', (data) => { pongs.push(data.toString('utf8')); if (pongWaiter) pongWaiter(); });
  const closed = new Promise((res) => ws.on('close', (code, reason) => res({ code, reason: reason.toString() })));
  await withTimeout(new Promise((res, rej) => { ws.on('open', res); ws.on('error', rej); }), 'ws open');
  const wsName = `127.0.0.1:${ws._socket.localPort}`;

  log('the TCP client sees the ws client join');
  await tcp.expect(new RegExp(`^\\* ${wsName.replace(/\./g, '\\.')} joined$`));

  log('ws -> TCP');
  ws.send('hello from npm ws');
  await tcp.expect(/^127\.0\.0\.1:\d+: hello from npm ws$/);
  await wsl.expect(/^127\.0\.0\.1:\d+: hello from npm ws$/);

  log('TCP -> ws');
  sock.write('hi from nc, caf\u00e9 \u20ac\n');
  await wsl.expect(/^127\.0\.0\.1:\d+: hi from nc, caf\u00e9 \u20ac$/);

  log('a message in three fragments, a ping between them');
  // ws: fin=false starts a fragmented message, later sends continue it.
  ws.send('frag-', { fin: false });
  ws.send('ment-', { fin: false });
  ws.ping('between fragments');
  ws.send('ed \u00fc', { fin: true });
  await tcp.expect(/^127\.0\.0\.1:\d+: frag-ment-ed \u00fc$/);
  await wsl.expect(/^127\.0\.0\.1:\d+: frag-ment-ed \u00fc$/);

  log('the ping is answered with its payload');
  await withTimeout(new Promise((res) => {
    const look = () => { if (pongs.includes('between fragments')) { pongWaiter = null; res(); } };
    pongWaiter = look;
    look();
  }), 'pong');

  log('/nick and /who');
  ws.send('/nick npmws');
  await tcp.expect(new RegExp(`^\\* ${wsName.replace(/\./g, '\\.')} is now known as npmws$`));
  ws.send('/who');
  await wsl.expect(new RegExp(`^\\* users: .*\\b${tcpName.replace(/\./g, '\\.')}`));
  sock.write('bye npmws\n');
  await wsl.expect(/^127\.0\.0\.1:\d+: bye npmws$/);

  log('close handshake with 1000');
  ws.close(1000, 'done');
  const c = await withTimeout(closed, 'close');
  if (c.code !== 1000) throw new Error(`close code ${c.code} (reason "${c.reason}"), not 1000`);
  await tcp.expect(/^\* npmws left$/);
  sock.end();
  process.stdout.write(`ws-client: close ${c.code} observed; all steps passed\n`);
}

main().then(() => process.exit(0), (e) => {
  process.stderr.write(`ws-client: FAILED at step "${step}": ${e.stack || e}\n`);
  process.exit(1);
});
