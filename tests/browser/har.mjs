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
import path from 'node:path';
import { chromium } from 'playwright-core';
import { HOSTS, makeCerts, prepareSite, playScenario, scenarios } from './site.mjs';
import { freePort, makeTmp, runMain, sleep, startSiteNginx, tally, track, waitExit, waitListening } from './proc.mjs';

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
// One visit in a fresh context that records a HAR with the bodies embedded.
async function visit(browser, sc, harPath) {
  const ctx = await browser.newContext({ recordHar: { path: harPath, content: 'embed' } });
  let error = null;
  try {
    const page = await ctx.newPage();
    await page.goto(sc.visit, { waitUntil: 'load', timeout: 15000 });
    await playScenario(ctx, page, sc);
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
  const tmp = makeTmp('fca-har-');
  const certs = makeCerts(path.join(tmp, 'certs'));
  const www = path.join(tmp, 'www');
  prepareSite(www);
  const nginxPort = await startSiteNginx(tmp, www, certs);

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
  track(fca, 'SIGKILL');
  await waitListening(proxyPort, fca, 'fcaudit');

  const browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic',
      '--disable-default-apps', '--disable-domain-reliability', '--no-pings', '--metrics-recording-only',
      `--proxy-server=http://127.0.0.1:${proxyPort}`, '--proxy-bypass-list=<-loopback>',
      `--ignore-certificate-errors-spki-list=${proxySpki}`,
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
  });

  const checks = tally();
  const { report } = checks;

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
    console.log(`${checks.passed} passed, ${checks.failed + 2} failed`);
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

  console.log(`${checks.passed} passed, ${checks.failed} failed`);
  return checks.failed === 0 ? 0 : 1;
}

runMain('har.mjs', main);
