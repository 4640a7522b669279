// End-to-end test: the staging shop (tests/site/, served by nginx on 127.0.0.1) visited by
// headless Chromium through fcaudit. For every page with an <page>.expected.json it checks
//   events:       the NDJSON events fcaudit wrote while the page was visited equal the expected
//                 ones (nothing missing, nothing extra);
//   transparency: the DOM and the response headers (less hop-by-hop headers and Date) the
//                 browser got through fcaudit equal those of a direct visit, in which Chromium
//                 trusts the test CA itself and maps the test hosts to nginx
//                 (--host-resolver-rules); nothing else resolves in either browser.
// Then it stops fcaudit and checks the run summary (FC-TEST-2's test-mode institutions).
// Usage: node run.mjs FCAUDIT_BIN (or env FCAUDIT_BIN). Last line: "N passed, N failed".
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { HOSTS, SITE_DIR, TEST_CA_NAME, makeCerts, prepareSite, playScenario, scenarios } from './site.mjs';
import { freePort, makeTmp, runMain, sleep, startSiteNginx, tally, track, waitExit, waitListening } from './proc.mjs';
import { brief, checkEnvelope, checkOffset, compare, readEvents } from './events.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = path.join(HERE, 'artifacts');
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const EVENT_WAIT_MS = Number(process.env.FCA_EVENT_WAIT_MS || 5000); // bounded wait per page
const SETTLE_MS = Number(process.env.FCA_SETTLE_MS || 800); // quiet time that shows nothing extra
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate',
  'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'date']);

// One visit in a fresh context: navigate, wait until ready, run the flow, then record the DOM
// of every page and frame and the headers of every response.
async function visit(browser, sc, shot) {
  const ctx = await browser.newContext({ viewport: { width: 1000, height: 760 } });
  const responses = [];
  const pending = [];
  const failed = [];
  ctx.on('response', (r) => pending.push((async () => {
    let headers;
    try {
      headers = await r.allHeaders();
    } catch (e) {
      headers = { '(error)': e.message };
    }
    responses.push({ key: `${r.request().method()} ${r.url()} ${r.status()}`, headers });
  })()));
  ctx.on('requestfailed', (r) => failed.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
  const result = { responses, failed, dom: [], error: null };
  try {
    const page = await ctx.newPage();
    const nav = await page.goto(sc.visit, { waitUntil: 'load', timeout: 15000 });
    const sec = nav && (await nav.securityDetails());
    result.issuer = sec ? sec.issuer : null;
    result.docHeaders = nav ? await nav.allHeaders() : {};
    // the protocol between Chromium and its next hop (fcaudit when proxied)
    result.protocol = await page.evaluate(() => performance.getEntries()[0].nextHopProtocol);
    await playScenario(ctx, page, sc);
    for (const p of ctx.pages()) {
      await p.waitForLoadState('load', { timeout: 5000 }).catch(() => {});
      for (const f of p.frames()) await f.waitForLoadState('load', { timeout: 5000 }).catch(() => {});
    }
    for (const p of ctx.pages()) {
      for (const f of p.frames()) {
        let html;
        try {
          html = await f.evaluate(() => document.documentElement.outerHTML);
        } catch (e) {
          html = `(not readable: ${e.message.split('\n')[0]})`;
        }
        result.dom.push({ url: f.url(), html });
      }
    }
    if (shot) await page.screenshot({ path: shot });
  } catch (e) {
    result.error = e.message.split('\n')[0];
  }
  await Promise.all(pending);
  await ctx.close();
  result.dom.sort((a, b) => a.url.localeCompare(b.url) || a.html.localeCompare(b.html));
  return result;
}

function normResponses(list) {
  return list.map((r) => {
    const h = Object.entries(r.headers).filter(([k]) => !HOP_BY_HOP.has(k.toLowerCase()))
      .map(([k, v]) => `${k.toLowerCase()}: ${v}`).sort();
    return `${r.key}\n  ${h.join('\n  ')}`;
  }).sort();
}

function diffLists(what, a, b) {
  const out = [];
  const bs = [...b];
  for (const x of a) {
    const i = bs.indexOf(x);
    if (i >= 0) bs.splice(i, 1);
    else out.push(`${what} only without the proxy:\n    ${x.replace(/\n/g, '\n    ')}`);
  }
  for (const x of bs) out.push(`${what} only through fcaudit:\n    ${x.replace(/\n/g, '\n    ')}`);
  return out;
}

function transparency(sc, direct, proxied) {
  const errs = [];
  // proof that each visit took the path it claims: the test CA directly, fcaudit's CA through it
  if (direct.issuer !== TEST_CA_NAME) errs.push(`direct visit: certificate issued by ${direct.issuer}`);
  if (!proxied.issuer || proxied.issuer === TEST_CA_NAME) {
    errs.push(`proxied visit was not intercepted by fcaudit (certificate issued by ${proxied.issuer})`);
  }
  // the document arrived as the page says it is served (e.g. content-encoding br)
  for (const [k, v] of Object.entries(sc.response_headers || {})) {
    for (const [mode, r] of [['direct', direct], ['through fcaudit', proxied]]) {
      if ((r.docHeaders || {})[k] !== v) errs.push(`${mode}: document ${k} is ${(r.docHeaders || {})[k]}, expected ${v}`);
    }
  }
  if (direct.error) errs.push(`the page did not work without the proxy: ${direct.error}`);
  if (proxied.error) errs.push(`the page did not work through fcaudit: ${proxied.error}`);
  errs.push(...diffLists('response', normResponses(direct.responses), normResponses(proxied.responses)));
  errs.push(...diffLists('failed request', direct.failed.sort(), proxied.failed.sort()));
  const dom = (r) => r.dom.map((d) => `${d.url}\n${d.html}`);
  const dd = diffLists('DOM', dom(direct), dom(proxied));
  errs.push(...dd.map((d) => (d.length > 600 ? d.slice(0, 600) + ' …' : d)));
  return errs;
}

async function main() {
  const bin = path.resolve(process.argv[2] || process.env.FCAUDIT_BIN || '');
  if (!bin || !fs.existsSync(bin)) throw new Error('usage: node run.mjs FCAUDIT_BIN (or env FCAUDIT_BIN)');
  const tmp = makeTmp('fca-browser-');
  fs.mkdirSync(ARTIFACTS, { recursive: true });

  const certs = makeCerts(path.join(tmp, 'certs'));
  const www = path.join(tmp, 'www');
  prepareSite(www);
  const nginxPort = await startSiteNginx(tmp, www, certs);

  // fcaudit
  const caDir = path.join(tmp, 'fca-ca');
  execFileSync(bin, ['--ca-dir', caDir, 'ca', 'init'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const proxySpki = execFileSync(bin, ['--ca-dir', caDir, 'ca', 'spki']).toString().trim();
  const logFile = path.join(tmp, 'events.ndjson');
  const proxyPort = await freePort();
  const fcArgs = ['--listen', `127.0.0.1:${proxyPort}`, '--only-resolved', '--admin', 'off',
    '--upstream-ca', certs.ca, '--ca-dir', caDir, '--log', logFile, '--env', 'staging',
    '--drain-timeout', '1s'];
  for (const h of HOSTS) fcArgs.push('--connect-to', `${h}:443:127.0.0.1:${nginxPort}`);
  const consoleFile = path.join(ARTIFACTS, 'fcaudit-console.txt');
  const consoleFd = fs.openSync(consoleFile, 'w');
  const fca = spawn(bin, fcArgs, { stdio: ['ignore', consoleFd, consoleFd], env: { ...process.env, NO_COLOR: '1' } });
  track(fca, 'SIGKILL');
  await waitListening(proxyPort, fca, 'fcaudit');

  const common = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-quic', '--disable-default-apps',
    '--disable-domain-reliability', '--no-pings', '--metrics-recording-only'];
  const viaProxy = await chromium.launch({
    executablePath: CHROMIUM, headless: true, args: [...common,
      `--proxy-server=http://127.0.0.1:${proxyPort}`, '--proxy-bypass-list=<-loopback>',
      `--ignore-certificate-errors-spki-list=${proxySpki}`,
      // belt and braces: should anything bypass the proxy, it cannot resolve
      ...(process.env.FCA_NO_MAP ? [] : ['--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'])],
  });
  const direct = await chromium.launch({
    executablePath: CHROMIUM, headless: true, args: [...common,
      `--ignore-certificate-errors-spki-list=${certs.caSpki},${certs.leafSpki}`,
      '--host-resolver-rules=' + HOSTS.map((h) => `MAP ${h} 127.0.0.1:${nginxPort}`).join(', ') +
        ', MAP * ~NOTFOUND'],
  });

  const checks = tally();
  const { report } = checks;

  const runIds = new Set();
  const formatErrors = [];
  const stray = [];
  let offset = 0;
  const take = () => {
    const r = readEvents(logFile, offset);
    offset = r.next;
    formatErrors.push(...r.errors);
    for (const ev of r.events) formatErrors.push(...checkEnvelope(ev, runIds));
    return r.events;
  };

  for (const sc of scenarios()) {
    const d = await visit(direct, sc, null);
    stray.push(...take()); // nothing is expected between pages
    const shot = path.join(ARTIFACTS, sc.name.replace(/\//g, '_') + '.png');
    const p = await visit(viaProxy, sc, shot);

    // events: bounded wait for the expected ones, then a quiet time for extras
    const got = [];
    const until = Date.now() + Math.max(EVENT_WAIT_MS, sc.event_wait_ms || 0);
    for (;;) {
      got.push(...take());
      if (compare(sc.events, got).missing.length === 0 || Date.now() > until) break;
      await sleep(100);
    }
    await sleep(SETTLE_MS);
    got.push(...take());
    const { missing, extra } = compare(sc.events, got);
    const det = [];
    for (const m of missing) det.push(`missing: ${brief(m)}`);
    for (const x of extra) det.push(`extra:   ${brief(x)}`);
    for (const ev of got) {
      const o = checkOffset(ev);
      if (o) det.push(o);
    }
    report(det.length === 0, `events       ${sc.name}  (${sc.visit})`, det);
    const tdet = transparency(sc, d, p);
    report(tdet.length === 0, `transparency ${sc.name}`, tdet);
    // HTTP/2 to the browser: the same events (above) arrive over h2
    report(p.protocol === 'h2', `http2        ${sc.name}`,
      p.protocol === 'h2' ? [] : [`Chromium reached fcaudit over ${p.protocol}, expected h2`]);
  }

  await viaProxy.close();
  await direct.close();

  // stop fcaudit: the summary is the run's last line
  fca.kill('SIGTERM');
  const exited = await waitExit(fca, 10000);
  const tail = take();
  const summaries = tail.filter((e) => e.type === 'summary');
  stray.push(...tail.filter((e) => e.type !== 'summary'));
  const sumWant = JSON.parse(fs.readFileSync(path.join(SITE_DIR, 'summary.expected.json'), 'utf8'));
  const sdet = [];
  if (!exited) sdet.push('fcaudit did not exit within 10 s of SIGTERM');
  if (summaries.length !== 1) sdet.push(`${summaries.length} summary events at exit, expected 1`);
  else {
    const text = JSON.stringify(summaries[0]);
    for (const inst of sumWant.institutions) {
      if (!text.includes(JSON.stringify(inst))) sdet.push(`summary does not name the institution ${inst}`);
    }
  }
  report(sdet.length === 0, 'summary      FC-TEST-2 test-mode institutions at exit', sdet);

  const all = readEvents(logFile, 0).events;
  const ldet = [...formatErrors];
  if (runIds.size > 1) ldet.push(`several run ids in one run: ${[...runIds].join(', ')}`);
  for (const r of sumWant.no_violation_for) {
    for (const e of all.filter((x) => x.type === 'violation' && x.rule === r)) ldet.push(`${r} must be in the summary only: ${brief(e)}`);
  }
  for (const e of stray) ldet.push(`event outside any page visit: ${brief(e)}`);
  report(ldet.length === 0, 'log          every line well-formed, one run id, nothing stray', ldet);

  if (fs.existsSync(logFile)) fs.copyFileSync(logFile, path.join(ARTIFACTS, 'events.ndjson'));
  await consoleShot(consoleFile);
  if (process.env.FCA_DOC_IMAGES) copyDocImages();
  console.log(`${checks.passed} passed, ${checks.failed} failed`);
  return checks.failed === 0 ? 0 : 1;
}

// FCA_DOC_IMAGES=1: refresh the QA guide's pictures (docs/img/) from this run's screenshots.
function copyDocImages() {
  const img = path.resolve(HERE, '../../docs/img');
  fs.mkdirSync(img, { recursive: true });
  for (const [from, to] of [['shop.test_checkout.png', 'qa-checkout.png'],
    ['embed.test_embed-sandbox-missing.png', 'qa-embed-sandbox.png'], ['console.png', 'qa-console.png']]) {
    if (fs.existsSync(path.join(ARTIFACTS, from))) fs.copyFileSync(path.join(ARTIFACTS, from), path.join(img, to));
  }
}

// A picture of fcaudit's event lines on its console for the QA guide, coloured as on a terminal
// (rendered locally, no network). fcaudit's own diagnostics ("fcaudit: ...") are left out.
async function consoleShot(consoleFile) {
  const esc = (t) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const colour = { ERROR: '#f14c4c', WARNING: '#e5c07b', INFO: '#56b6c2', PASS: '#23d18b', PAGE: '#ffffff', NOTE: '#aaaaaa' };
  const lines = fs.readFileSync(consoleFile, 'utf8').split('\n')
    .filter((l) => l.trim() && !l.startsWith('fcaudit: ')).slice(0, 40)
    .map((l) => {
      const m = /^(\S+)(\s.*)$/.exec(l);
      const c = m && colour[m[1]];
      return c ? `<span style="color:${c};font-weight:bold">${esc(m[1])}</span>${esc(m[2])}` : esc(l);
    });
  if (lines.length === 0) return;
  const b = await chromium.launch({ executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--host-resolver-rules=MAP * ~NOTFOUND'] });
  try {
    const page = await b.newPage({ viewport: { width: 1100, height: 300 } });
    await page.setContent('<body style="margin:0;background:#1e1e1e"><pre style="color:#ccc;margin:0;' +
      "font:12px/1.4 'DejaVu Sans Mono',monospace;padding:10px;white-space:pre-wrap\">" +
      lines.join('\n') + '</pre></body>');
    await page.screenshot({ path: path.join(ARTIFACTS, 'console.png'), fullPage: true });
  } finally {
    await b.close();
  }
}

runMain('run.mjs', main);
