// HAR end-to-end test: the staging shop (tests/site/) visited by headless Chromium through
// fcaudit (--har live.har), each visit also recorded by Playwright's recordHar (one HAR per
// browser context, bodies embedded). Then, offline:
//   recordHar:  `fcaudit audit` of Playwright's HARs gives the same findings as the live run;
//   round trip: `fcaudit audit` of the HAR fcaudit wrote gives the same findings again;
//   pages:      the same pages are tagged, the same way, in all three.
// Findings are compared by rule, level, page URL and fingerprint (rule, page, evidence).
// Usage: node har.mjs FCAUDIT_BIN (or env FCAUDIT_BIN). Last line: "N passed, N failed".
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { HOSTS, SITE_DIR, makeCerts, nginxConfig, prepareSite, startNginx } from './site.mjs';

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const children = [];
let tmp = null;

function cleanup() {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        c.kill(c.killSignal || 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
  }
  if (tmp && !process.env.FCA_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
  tmp = null;
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    console.error(`har.mjs: ${sig}, stopping`);
    process.exit(130);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitListening(port, child, what, ms = 10000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited before listening`);
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.on('connect', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`${what} not listening on 127.0.0.1:${port} after ${ms} ms`);
}

function waitExit(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => { clearTimeout(t); resolve(true); });
  });
}

function scenarios() {
  const out = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.expected.json') && p !== path.join(SITE_DIR, 'summary.expected.json')) {
        const rel = path.relative(SITE_DIR, p).replace(/\.expected\.json$/, '');
        out.push({ name: rel, ...JSON.parse(fs.readFileSync(p, 'utf8')) });
      }
    }
  };
  walk(SITE_DIR);
  const only = process.env.FCA_ONLY;
  return out.sort((a, b) => a.name.localeCompare(b.name)).filter((s) => !only || new RegExp(only).test(s.name));
}

const statusHas = (text) => {
  const el = document.getElementById('status');
  return !!el && el.textContent.includes(text);
};

async function waitFrame(page, url, ms = 10000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const f = page.frames().find((fr) => fr.url() === url);
    if (f) return f;
    await sleep(50);
  }
  throw new Error(`frame ${url} never appeared`);
}

// One visit in a fresh context that records a HAR with the bodies embedded.
async function visit(browser, sc, harPath) {
  const ctx = await browser.newContext({ recordHar: { path: harPath, content: 'embed' } });
  let error = null;
  try {
    const page = await ctx.newPage();
    await page.goto(sc.visit, { waitUntil: 'load', timeout: 15000 });
    const target = sc.frame ? await waitFrame(page, sc.frame) : page.mainFrame();
    if (sc.ready) await target.waitForFunction(statusHas, sc.ready, { timeout: 10000 });
    if (sc.flow) {
      const popup = ctx.waitForEvent('page', { timeout: 10000 });
      await target.click(sc.flow.click, { timeout: 5000 });
      await target.waitForFunction(statusHas, sc.flow.until, { timeout: 10000 });
      const pop = await popup;
      await pop.waitForURL((u) => u.href !== 'about:blank', { timeout: 10000 });
      await pop.waitForLoadState('load', { timeout: 10000 });
    }
    for (const p of ctx.pages()) await p.waitForLoadState('load', { timeout: 5000 }).catch(() => {});
    await sleep(300); // let the last responses finish before the HAR is closed
  } catch (e) {
    error = e.message.split('\n')[0];
  }
  await ctx.close(); // writes the HAR
  return error;
}

function findings(report) {
  const r = JSON.parse(fs.readFileSync(report, 'utf8'));
  const f = r.violations.map((v) => `${v.rule} ${v.level} ${v.page.url} ${v.fingerprints['fcaudit/v1']}`).sort();
  const pages = r.pages.map((p) => `${p.url} ${p.top_level ? 'top-level' : 'frame'} ${p.tagged_by}`).sort();
  return { f, pages };
}

function diff(what, a, b, nameA, nameB) {
  const out = [];
  for (const x of a) if (!b.includes(x)) out.push(`${what} only in ${nameA}: ${x}`);
  for (const x of b) if (!a.includes(x)) out.push(`${what} only in ${nameB}: ${x}`);
  return out;
}

function audit(bin, files, report, log) {
  const r = spawnSync(bin, ['audit', '--log', log, '--report-json', report, '--fail-on', 'never', ...files],
    { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 120000 });
  return { status: r.status, err: r.stderr };
}

async function main() {
  const bin = path.resolve(process.argv[2] || process.env.FCAUDIT_BIN || '');
  if (!bin || !fs.existsSync(bin)) throw new Error('usage: node har.mjs FCAUDIT_BIN (or env FCAUDIT_BIN)');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fca-har-'));
  fs.chmodSync(tmp, 0o755);
  const certs = makeCerts(path.join(tmp, 'certs'));
  const www = path.join(tmp, 'www');
  prepareSite(www);
  let nginx;
  let nginxPort;
  for (let attempt = 0; ; attempt++) {
    nginxPort = await freePort();
    nginx = startNginx(tmp, nginxConfig({ dir: tmp, www, port: nginxPort, certs }));
    nginx.killSignal = 'SIGTERM';
    children.push(nginx);
    try {
      await waitListening(nginxPort, nginx, 'nginx');
      break;
    } catch (e) {
      if (attempt >= 2) throw e;
    }
  }

  const caDir = path.join(tmp, 'fca-ca');
  execFileSync(bin, ['--ca-dir', caDir, 'ca', 'init'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const proxySpki = execFileSync(bin, ['--ca-dir', caDir, 'ca', 'spki']).toString().trim();
  const liveHar = path.join(tmp, 'live.har');
  const liveReport = path.join(tmp, 'live.json');
  const proxyPort = await freePort();
  const fcArgs = ['--listen', `127.0.0.1:${proxyPort}`, '--only-resolved', '--admin', 'off',
    '--upstream-ca', certs.ca, '--ca-dir', caDir, '--log', path.join(tmp, 'live.ndjson'), '--env', 'staging',
    '--drain-timeout', '1s', '--quiet', '--har', liveHar, '--report-json', liveReport, '--fail-on', 'never'];
  for (const h of HOSTS) fcArgs.push('--connect-to', `${h}:443:127.0.0.1:${nginxPort}`);
  const errFile = path.join(tmp, 'fcaudit-stderr.txt');
  const errFd = fs.openSync(errFile, 'w');
  const fca = spawn(bin, fcArgs, { stdio: ['ignore', errFd, errFd], env: { ...process.env, NO_COLOR: '1' } });
  fca.killSignal = 'SIGKILL';
  children.push(fca);
  await waitListening(proxyPort, fca, 'fcaudit');

  const browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic',
      '--disable-default-apps', '--disable-domain-reliability', '--no-pings', '--metrics-recording-only',
      `--proxy-server=http://127.0.0.1:${proxyPort}`, '--proxy-bypass-list=<-loopback>',
      `--ignore-certificate-errors-spki-list=${proxySpki}`,
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
  });

  let passed = 0;
  let failed = 0;
  const report = (ok, name, details = []) => {
    if (ok) passed++;
    else failed++;
    console.log(`${ok ? 'ok' : 'FAIL'}  ${name}`);
    for (const d of details) console.log(`      ${d}`);
  };

  const hars = [];
  const visitErrors = [];
  for (const [i, sc] of scenarios().entries()) {
    const harPath = path.join(tmp, `pw-${String(i).padStart(2, '0')}.har`);
    const err = await visit(browser, sc, harPath);
    if (err) visitErrors.push(`${sc.name}: ${err}`);
    hars.push(harPath);
  }
  await browser.close();
  report(visitErrors.length === 0, `visits       ${hars.length} pages through fcaudit, each recorded by recordHar`, visitErrors);

  fca.kill('SIGTERM');
  const exited = await waitExit(fca, 15000);
  const ldet = [];
  if (!exited) ldet.push('fcaudit did not exit within 15 s of SIGTERM');
  if (!fs.existsSync(liveReport)) ldet.push(`no live report: ${fs.readFileSync(errFile, 'utf8').slice(-2000)}`);
  if (!fs.existsSync(liveHar)) ldet.push('no --har file written at exit');
  report(ldet.length === 0, 'live         fcaudit stopped with SIGTERM wrote its report and its HAR', ldet);
  if (ldet.length) {
    console.log(`${passed} passed, ${failed + 2} failed`);
    return 1;
  }
  const live = findings(liveReport);

  // Playwright's HARs, offline
  const offReport = path.join(tmp, 'offline.json');
  const off = audit(bin, hars, offReport, path.join(tmp, 'offline.ndjson'));
  const odet = [];
  if (off.status !== 0) odet.push(`fcaudit audit exited ${off.status}: ${off.err.slice(-1500)}`);
  else {
    const o = findings(offReport);
    if (live.f.length === 0) odet.push('the live run found nothing: nothing to compare');
    odet.push(...diff('finding', live.f, o.f, 'the live run', 'the recordHar audit'));
    odet.push(...diff('page', live.pages, o.pages, 'the live run', 'the recordHar audit'));
  }
  report(odet.length === 0, `recordHar    fcaudit audit of Playwright's HARs = the live run (${live.f.length} findings, ${live.pages.length} pages)`, odet);

  // the HAR fcaudit wrote, offline
  const rtReport = path.join(tmp, 'roundtrip.json');
  const rt = audit(bin, [liveHar], rtReport, path.join(tmp, 'roundtrip.ndjson'));
  const rdet = [];
  if (rt.status !== 0) rdet.push(`fcaudit audit exited ${rt.status}: ${rt.err.slice(-1500)}`);
  else {
    const o = findings(rtReport);
    rdet.push(...diff('finding', live.f, o.f, 'the live run', 'the --har audit'));
    rdet.push(...diff('page', live.pages, o.pages, 'the live run', 'the --har audit'));
    const h = JSON.parse(fs.readFileSync(liveHar, 'utf8'));
    const withEvents = h.log.entries.filter((e) => e._fcaudit && e._fcaudit.events.some((v) => v.type === 'violation'));
    if (live.f.length && withEvents.length === 0) rdet.push('no entry of the --har file carries its findings (_fcaudit.events)');
  }
  report(rdet.length === 0, 'round trip   fcaudit audit of the --har file = the live run', rdet);

  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

main().then((code) => {
  cleanup();
  process.exit(code);
}, (e) => {
  console.error(`har.mjs: ${e.stack || e}`);
  console.log('0 passed, 1 failed');
  cleanup();
  process.exit(1);
});
