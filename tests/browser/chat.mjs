// chat.mjs - the web page in a real browser (headless Debian Chromium driven
// by playwright-core), chatting with a TCP chat client in one room.
// Run by tests/browser.bats; everything comes from the environment:
//   CHATD_BIN CHATD_CONF CHATD_LOG  the daemon, its config, its stderr (appended)
//   WEB_PORT CHAT_PORT              the websocket and chat listeners (127.0.0.1)
//   NODE_DIR                        where `npm ci` put node_modules
//   ARTIFACTS                       where the screenshot goes
//   CHROMIUM                        the browser (default /usr/bin/chromium)
//   STEP_TIMEOUT                    ms for each wait (default 10000)
// It starts and kills chatd itself (the restart is part of the test), waits
// only for observable things (a port accepting, a line arriving, an element
// appearing) and exits non-zero with the failed step on stderr.
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const env = process.env;
const require = createRequire(path.join(env.NODE_DIR, 'package.json'));
const { chromium } = require('playwright-core');
const T = Number(env.STEP_TIMEOUT || 10000);
const WEB = Number(env.WEB_PORT), CHAT = Number(env.CHAT_PORT);

let step = 'start';
function log(s) { step = s; process.stderr.write(`# browser: ${s}\n`); }

// ---- the daemon --------------------------------------------------------
let daemon = null;
function startChatd() {
  const fd = fs.openSync(env.CHATD_LOG, 'a');
  daemon = spawn(env.CHATD_BIN, ['-c', env.CHATD_CONF], { stdio: ['ignore', 'ignore', fd] });
  fs.closeSync(fd);
  daemon.exited = new Promise((res) => daemon.on('exit', (code, sig) => res({ code, sig })));
  return Promise.all([waitPort(WEB), waitPort(CHAT)]);
}
async function waitPort(port) {
  const end = Date.now() + T;
  for (;;) {
    const ok = await new Promise((res) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); res(true); });
      s.on('error', () => res(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`port ${port} never accepted`);
    await new Promise((r) => setTimeout(r, 20));   // poll interval, not a wait for an event
  }
}
async function killChatd() {
  daemon.kill('SIGKILL');
  await daemon.exited;
}
async function stopChatd() {
  if (!daemon || daemon.exitCode !== null || daemon.signalCode !== null) return;
  daemon.kill('SIGTERM');
  const r = await daemon.exited;
  if (r.code !== 0) throw new Error(`chatd exited ${r.code} ${r.sig} after SIGTERM`);
}

// ---- a TCP chat client ---------------------------------------------------
function tcpClient() {
  const s = net.connect(CHAT, '127.0.0.1');
  const c = { lines: [], waiters: [], buf: '' };
  s.setEncoding('utf8');
  s.on('data', (d) => {
    c.buf += d;
    let i;
    while ((i = c.buf.indexOf('\n')) >= 0) {
      const l = c.buf.slice(0, i).replace(/\r$/, '');
      c.buf = c.buf.slice(i + 1);
      c.lines.push(l);
      c.waiters = c.waiters.filter((w) => !w(l));
    }
  });
  c.send = (l) => s.write(l + '\r\n');
  c.close = () => s.destroy();
  // expect(pred, what): resolves with the first line (seen or to come) matching.
  c.expect = (pred, what) => new Promise((res, rej) => {
    const test = typeof pred === 'string' ? (l) => l === pred : (l) => pred.test(l);
    const seen = c.lines.find(test);
    if (seen !== undefined) return res(seen);
    const timer = setTimeout(() => rej(new Error(`TCP client never got ${what || pred}; got:\n  ${c.lines.join('\n  ')}`)), T);
    c.waiters.push((l) => { if (!test(l)) return false; clearTimeout(timer); res(l); return true; });
  });
  return new Promise((res, rej) => { s.on('connect', () => res(c)); s.on('error', rej); });
}

// ---- the page -------------------------------------------------------------
async function say(page, line) {
  await page.fill('#input', line);
  await page.press('#input', 'Enter');
}
const row = (page, text) => page.locator('#log li', { hasText: text });
const state = (page, s) => page.locator(`body[data-state="${s}"]`).waitFor({ timeout: T });

let browser, ctx, tmp;
async function main() {
  fs.mkdirSync(env.ARTIFACTS, { recursive: true });
  log('starting chatd');
  await startChatd();

  log('launching Chromium');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chatd-chromium-'));
  ctx = await chromium.launchPersistentContext(tmp, {
    executablePath: env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 412, height: 732 },          // a phone
    args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const external = [];
  page.on('request', (r) => { if (!r.url().startsWith(`http://127.0.0.1:${WEB}/`) && !r.url().startsWith(`ws://127.0.0.1:${WEB}/`)) external.push(r.url()); });

  log('opening the page');
  await page.goto(`http://127.0.0.1:${WEB}/`);
  await state(page, 'open');

  log('a TCP client joins and takes a nick');
  let bob = await tcpClient();
  bob.send('/nick bob');
  await bob.expect(/is now known as bob$/);
  await row(page, 'is now known as bob').waitFor({ timeout: T });

  log('the page takes a nick');
  await say(page, '/nick alice');
  await bob.expect(/is now known as alice$/);
  await row(page, 'is now known as alice').waitFor({ timeout: T });

  log('page -> TCP');
  await say(page, 'hello from the browser');
  await bob.expect('alice: hello from the browser');

  log('TCP -> page, the name set apart');
  bob.send('hi alice');
  await row(page, 'bob: hi alice').locator('.nick', { hasText: /^bob$/ }).waitFor({ timeout: T });

  log('/me from the page');
  await say(page, '/me waves');
  await bob.expect('* alice waves');
  await row(page, '* alice waves').locator('.nick', { hasText: /^alice$/ }).waitFor({ timeout: T });

  log('/who shows both');
  await say(page, '/who');
  await row(page, /^\* users: .*\balice\b/).filter({ hasText: /\bbob\b/ }).waitFor({ timeout: T });

  log('input history: up, up, down');
  await page.press('#input', 'ArrowUp');
  if (await page.inputValue('#input') !== '/who') throw new Error('ArrowUp did not bring back /who');
  await page.press('#input', 'ArrowUp');
  if (await page.inputValue('#input') !== '/me waves') throw new Error('second ArrowUp did not bring back /me waves');
  await page.press('#input', 'ArrowDown');
  if (await page.inputValue('#input') !== '/who') throw new Error('ArrowDown did not go forward to /who');
  await page.fill('#input', '');

  log('markup from the TCP side is shown as text and runs nothing');
  bob.send('/nick <script>window.__pwned=1</script>');
  await bob.expect('* error: invalid nickname');
  const evil = ['<script>window.__pwned=1</script>', '<img src=x onerror="window.__pwned=2">'];
  for (const e of evil) bob.send(e);
  bob.send('/me <b onmouseover="window.__pwned=3">bold</b><script>window.__pwned=4</script>');
  for (const e of evil) await row(page, `bob: ${e}`).waitFor({ timeout: T });
  await row(page, '* bob <b onmouseover').waitFor({ timeout: T });
  const pwned = await page.evaluate(() => [typeof window.__pwned,
    document.querySelectorAll('#log script, #log img, #log b').length]);
  if (pwned[0] !== 'undefined' || pwned[1] !== 0)
    throw new Error(`markup was interpreted: window.__pwned is ${pwned[0]}, ${pwned[1]} elements made`);

  log('chatd killed: the page shows it is disconnected');
  bob.close();
  await killChatd();
  await state(page, 'closed');
  await page.locator('#state', { hasText: 'retrying' }).waitFor({ timeout: T });

  log('chatd restarted on the same ports: the page reconnects');
  await startChatd();
  await state(page, 'open');
  bob = await tcpClient();
  await say(page, '/nick alice');
  await bob.expect(/is now known as alice$/);
  await say(page, 'back again');
  await bob.expect('alice: back again');
  bob.send('welcome back');
  // an address as the name, colons and all, set apart whole
  await row(page, /^127\.0\.0\.1:\d+: welcome back$/).locator('.nick', { hasText: /^127\.0\.0\.1:\d+$/ })
    .waitFor({ timeout: T });

  if (errors.length) throw new Error(`errors in the page: ${errors.join('; ')}`);
  if (external.length) throw new Error(`the page loaded from elsewhere: ${external.join(' ')}`);

  log('screenshot');
  await page.screenshot({ path: path.join(env.ARTIFACTS, 'chat.png'), fullPage: true });
  bob.close();
  await ctx.close();
  ctx = null;
  await stopChatd();
}

try {
  await main();
  process.stderr.write('# browser: all steps passed\n');
} catch (e) {
  process.stderr.write(`# browser: FAILED at step "${step}": ${e && e.stack || e}\n`);
  process.exitCode = 1;
  try {
    if (ctx) await ctx.pages()[0]?.screenshot({ path: path.join(env.ARTIFACTS, 'chat-failed.png') });
  } catch { /* the failure is what matters */ }
} finally {
  if (ctx) await ctx.close().catch(() => {});
  if (daemon && daemon.exitCode === null && daemon.signalCode === null) daemon.kill('SIGKILL');
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
}
