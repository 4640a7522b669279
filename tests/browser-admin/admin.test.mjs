// Browser test of fcaudit's admin pages in headless Chromium (playwright-core drives the
// system Chromium). Starts fcaudit (proxy + admin listener on loopback) and a tiny origin
// serving a page that breaks the checklist, then: the dashboard at http://fcaudit.test/ (through
// the proxy) goes live, the violating page is loaded in another tab, and the violation shows up
// on the dashboard without a reload, within a bounded wait; the CA page tells an untrusting
// browser from one that trusts fcaudit's CA. Screenshots go to artifacts/ (git-ignored).
// Usage: node admin.test.mjs FCAUDIT_BIN   Last line: "N passed, N failed".
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = path.join(HERE, 'artifacts');
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const WAIT_MS = Number(process.env.FCA_ADMIN_WAIT_MS || 20000);
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-quic', '--disable-default-apps', '--no-pings'];

const bin = process.argv[2];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fca-admin-browser-'));
fs.mkdirSync(ARTIFACTS, { recursive: true });
const children = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, fn, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if (await fn()) return;
    } catch (e) { /* not yet */ }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

// The origin: a checkout page that loads Stripe.js and breaks items 1 and 2 of the checklist
// (COOP same-origin, no-referrer), plus a plain page. Its Referrer-Policy header carries markup
// that must reach the dashboard as text.
const CHECKOUT = `<!doctype html>
<html><head><meta charset="utf-8"><title>Checkout</title>
<meta name="referrer" content="no-referrer">
<script src="https://js.stripe.com/v3/"></script>
</head><body><h1>Checkout</h1><p>Link your bank account.</p></body></html>
`;
function startOrigin() {
  const srv = http.createServer((req, res) => {
    if (req.url.startsWith('/checkout')) {
      res.writeHead(200, {
        'Content-Type': 'text/html; charset=utf-8',
        'Cross-Origin-Opener-Policy': 'same-origin',
        // invalid (so ignored by browsers: FC-REF-4), and hostile markup in the evidence
        'Referrer-Policy': 'no-referrer, <img src=x onerror="window.__xss=1">',
        'Cache-Control': 'no-store',
      });
      res.end(CHECKOUT);
    } else {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>plain</title><p>nothing to audit</p>');
    }
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve(srv)));
}

async function startFcaudit(proxyPort, adminPort, originPort) {
  const args = ['--listen', `127.0.0.1:${proxyPort}`, '--admin', `127.0.0.1:${adminPort}`,
    '--only-resolved', '--resolve', `shop.test:${originPort}:127.0.0.1`,
    '--ca-dir', path.join(tmp, 'ca'), '--log', path.join(tmp, 'events.ndjson'),
    '--workers', '1', '--drain-timeout', '1s'];
  const out = fs.openSync(path.join(ARTIFACTS, 'fcaudit-console.txt'), 'w');
  const p = spawn(bin, args, { stdio: ['ignore', out, out], env: { ...process.env, NO_COLOR: '1' } });
  children.push(p);
  let exited = null;
  p.on('exit', (code) => { exited = code; });
  await waitFor('the admin listener', async () => {
    if (exited !== null) throw new Error(`fcaudit exited with ${exited}`);
    const r = await fetch(`http://127.0.0.1:${adminPort}/healthz`);
    return r.ok;
  });
  return p;
}

let passed = 0;
let failed = 0;
async function test(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok    ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL  ${name}\n      ${String(e && e.stack || e).split('\n').slice(0, 4).join('\n      ')}`);
  }
}
function assert(cond, msg) { if (!cond) throw new Error(msg); }

async function main() {
  if (!bin || !fs.existsSync(bin)) throw new Error('usage: node admin.test.mjs FCAUDIT_BIN');
  const origin = await startOrigin();
  const originPort = origin.address().port;
  const proxyPort = await freePort();
  const adminPort = await freePort();
  await startFcaudit(proxyPort, adminPort, originPort);
  const caPem = fs.readFileSync(path.join(tmp, 'ca', 'ca.pem'), 'utf8');
  const spki = execFileSync(bin, ['--ca-dir', path.join(tmp, 'ca'), 'ca', 'spki']).toString().trim();

  const proxyArgs = [`--proxy-server=http://127.0.0.1:${proxyPort}`,
    // nothing may reach a real resolver: names go to the proxy, loopback stays direct
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'];
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
    args: [...FLAGS, ...proxyArgs] });
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 860 } });
  const dash = await ctx.newPage();
  const requests = [];
  const problems = [];
  let navigations = 0;
  dash.on('request', (r) => requests.push(r.url()));
  dash.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  dash.on('pageerror', (e) => problems.push(String(e)));
  dash.on('framenavigated', (f) => { if (f === dash.mainFrame()) navigations++; });

  try {
    await test('dashboard at http://fcaudit.test/ goes live with nothing but its own assets', async () => {
      await dash.goto('http://fcaudit.test/', { waitUntil: 'load' });
      await dash.waitForSelector('#conn.conn-live', { timeout: 10000 });
      await waitFor('the report totals', async () => (await dash.textContent('#verdict')) !== '—');
      const foreign = requests.filter((u) => !u.startsWith('http://fcaudit.test/'));
      assert(foreign.length === 0, 'requests outside fcaudit: ' + foreign.join(', '));
      assert(problems.length === 0, 'console errors: ' + problems.join(' | '));
      assert((await dash.textContent('#run')).length > 10, 'no run id shown');
    });

    await test('a violation appears on the dashboard without a reload', async () => {
      const navBefore = navigations;
      const shop = await ctx.newPage();
      await shop.goto(`http://shop.test:${originPort}/checkout`, { waitUntil: 'load' });
      await dash.bringToFront();
      try {
        await dash.waitForSelector('#feed li.ev-violation', { timeout: WAIT_MS });
      } finally {
        await dash.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });
      }
      assert(navigations === navBefore, 'the dashboard reloaded');
      const rules = await dash.$$eval('#feed li.ev-violation', (els) => els.map((e) => e.dataset.rule));
      assert(rules.some((r) => r === 'FC-COOP-1' || r === 'FC-REF-1'), 'rules seen: ' + rules.join(','));
      const row = await dash.textContent('#feed li.ev-violation');
      assert(row.includes(`shop.test:${originPort}/checkout`), 'no page URL in the row: ' + row);
      assert(/Fix:|fix/i.test(await dash.$eval('#feed li.ev-violation', (e) => getComputedStyle(e.querySelector('.ev-fix'), '::before').content + e.querySelector('.ev-fix').textContent)), 'no fix shown');
      // totals and the page's scorecard follow from the report
      await waitFor('the error total', async () => Number(await dash.textContent('#n-error')) > 0, 5000);
      await waitFor('a failing scorecard', async () => (await dash.$$('#cards .card[data-result=fail] li.item[data-status=fail]')).length > 0, 5000);
      const card = await dash.textContent('#cards .card');
      assert(card.includes('/checkout'), 'scorecard lacks the page: ' + card);
      await dash.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });
      await shop.close();
    });

    await test('the dashboard says what the report says: verdict sentence, each reason once', async () => {
      const rep = await dash.evaluate(async () => (await fetch('/api/report.json', { cache: 'no-store' })).json());
      const sentence = rep.verdict && rep.verdict.sentence;
      assert(sentence && sentence.startsWith('fail at --fail-on error'), 'report sentence: ' + sentence);
      await waitFor('the verdict sentence', async () => (await dash.textContent('#verdict-sentence')) === 'Verdict: ' + sentence, 5000);
      const page = rep.pages.find((p) => p.url.includes('/checkout'));
      const card = await dash.$$eval('#cards .card', (els, u) => {
        const c = els.find((e) => e.querySelector('.card-url').textContent.includes(u));
        return c ? c.textContent : '';
      }, '/checkout');
      assert(card.includes(page.tagged_by), 'card tag: ' + card);
      for (const it of page.scorecard) {
        const n = card.split(it.why).length - 1;
        assert(n === 1, `item ${it.item}'s reason shown ${n} times: ${it.why}`);
      }
      // item 4's test-mode coverage is shown while the run goes on, in the report's words
      const cov = rep.summary && rep.summary.test_mode_coverage;
      assert(cov && cov.startsWith('test-mode institutions seen linked: '), 'coverage: ' + cov);
      await waitFor('the test-mode coverage', async () => !(await dash.$eval('#test-mode', (e) => e.hidden)), 5000);
      assert((await dash.textContent('#test-mode-line')) === cov, 'dashboard coverage differs from the report');
    });

    await test('evidence from traffic is shown as text, never as markup', async () => {
      await dash.waitForSelector('#feed li.ev-violation[data-rule="FC-REF-4"]', { timeout: WAIT_MS });
      const codes = await dash.$$eval('#feed code, #cards code', (els) => els.map((e) => e.textContent));
      const injected = await dash.$$eval('#feed img, #feed script, #cards img, #cards script', (els) => els.length);
      assert(injected === 0, 'markup from traffic became elements');
      assert(await dash.evaluate(() => window.__xss === undefined), 'script from traffic ran');
      assert(codes.some((t) => t.includes('<img src=x onerror="window.__xss=1">')),
        'hostile evidence not shown as text: ' + codes.join(' | '));
    });

    await test('filters by level and rule', async () => {
      const visible = () => dash.$$eval('#feed li.ev-violation', (els) => els.filter((e) => !e.hidden).length);
      const total = await visible();
      assert(total > 0, 'no violation to filter');
      const levels = await dash.$$eval('#feed li.ev-violation', (els) => [...new Set(els.map((e) => e.dataset.level))]);
      for (const l of levels) await dash.uncheck(`input[name=level][value=${l}]`);
      assert(await visible() === 0, 'unchecked levels still shown');
      for (const l of levels) await dash.check(`input[name=level][value=${l}]`);
      assert(await visible() === total, 'rechecked levels not shown again');
      const rule = await dash.$eval('#feed li.ev-violation', (e) => e.dataset.rule);
      await dash.selectOption('#rule', rule);
      const shownRules = await dash.$$eval('#feed li.ev-violation', (els) => els.filter((e) => !e.hidden).map((e) => e.dataset.rule));
      assert(shownRules.length > 0 && shownRules.every((r) => r === rule), 'rule filter: ' + shownRules.join(','));
      await dash.selectOption('#rule', '');
    });

    await test('the dashboard also works on the listener\'s own address', async () => {
      const p = await ctx.newPage();
      await p.goto(`http://127.0.0.1:${adminPort}/`, { waitUntil: 'load' });
      await p.waitForSelector('#conn.conn-live', { timeout: 10000 });
      await p.close();
    });

    await test('CA page: a browser that does not trust the CA is told so', async () => {
      const p = await ctx.newPage();
      await p.goto('http://fcaudit.test/ca', { waitUntil: 'load' });
      await p.waitForSelector('#trust[data-state=bad]', { timeout: 15000 });
      assert((await p.textContent('#spki')).trim() === spki, 'SPKI on the page differs from `ca spki`');
      const pem = await p.evaluate(async () => (await fetch('/ca.pem')).text());
      assert(pem === caPem, '/ca.pem differs from the CA file');
      for (const os of ['Chrome', 'Firefox', 'macOS', 'Windows', 'Linux', 'Android', 'iOS'])
        assert((await p.textContent('body')).includes(os), 'no steps for ' + os);
      await p.screenshot({ path: path.join(ARTIFACTS, 'ca-untrusted.png'), fullPage: true });
      await p.close();
    });

    await test('CA page: a browser that trusts the CA (SPKI flag) is told so', async () => {
      const b2 = await chromium.launch({ executablePath: CHROMIUM, headless: true,
        args: [...FLAGS, ...proxyArgs, `--ignore-certificate-errors-spki-list=${spki}`] });
      try {
        const p = await b2.newPage();
        await p.goto('http://fcaudit.test/ca', { waitUntil: 'load' });
        await p.waitForSelector('#trust[data-state=ok]', { timeout: 15000 });
        await p.goto('https://fcaudit.test/ca', { waitUntil: 'load' });
        await p.waitForSelector('#trust[data-state=ok]', { timeout: 15000 });
        await p.screenshot({ path: path.join(ARTIFACTS, 'ca-trusted.png'), fullPage: true });
      } finally {
        await b2.close();
      }
    });
  } finally {
    await browser.close();
    origin.close();
  }
}

try {
  await main();
} catch (e) {
  failed++;
  console.log(`FAIL  setup\n      ${String(e && e.stack || e)}`);
}
for (const c of children) c.kill('SIGTERM');
await sleep(300);
for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
fs.rmSync(tmp, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
