// Pool end-to-end test: headless Chromium through HAProxy (the recipe of docs/fleet.md word for
// word, only the addresses set: TCP mode, balance source, health checks on /healthz) in front
// of two fcaudit instances sharing one CA and shipping to one Redis stream. The staging shop's
// SPA (shop.test/spa-coop/) inserts the js.stripe.com script at run time, so only an instance
// that sees both the page and that request can tag it. Checks:
//   balance:  every connection of the browser went to one instance, which tagged the page by
//             its script request; the other saw none of it;
//   tail:     `fcaudit tail --redis --json` shows the page's expected events, each once;
//   report:   `fcaudit report --redis --release LABEL` holds the page once, tagged, and its
//             finding once, with the summaries of both runs.
// Usage: node pool.mjs FCAUDIT_BIN (or env FCAUDIT_BIN). Last line: "N passed, N failed".
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { HOSTS, makeCerts, prepareSite, playScenario, scenarios } from './site.mjs';
import { freePort, makeTmp, runMain, sleep, startSiteNginx, tally, track, waitExit, waitListening } from './proc.mjs';
import { brief, compare } from './events.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FLEET_MD = path.resolve(HERE, '../../docs/fleet.md');
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const PAGE = 'shop.test/spa-coop/index';
const LABEL = 'pool-e2e';

// docs/fleet.md's HAProxy recipe with only the addresses replaced (each exactly once).
function recipe({ port, servers, sock }) {
  const doc = fs.readFileSync(FLEET_MD, 'utf8');
  const m = /```haproxy\n([\s\S]*?)```/.exec(doc);
  if (!m) throw new Error('docs/fleet.md has no haproxy block');
  let text = m[1];
  const subst = (from, to) => {
    const at = text.indexOf(from);
    if (at < 0 || text.indexOf(from, at + 1) >= 0) throw new Error(`'${from}' is not in the recipe exactly once`);
    text = text.slice(0, at) + to + text.slice(at + from.length);
  };
  subst('bind :8080', `bind 127.0.0.1:${port}`);
  subst('server fca1 10.0.0.11:8080', `server fca1 127.0.0.1:${servers[0]}`);
  subst('server fca2 10.0.0.12:8080', `server fca2 127.0.0.1:${servers[1]}`);
  subst('stats socket /run/haproxy/admin.sock ', `stats socket ${sock} `);
  return text;
}

function hapCmd(sock, cmd) {
  return new Promise((resolve) => {
    let out = '';
    const c = net.connect(sock);
    c.on('connect', () => c.write(`${cmd}\n`));
    c.on('data', (d) => { out += d; });
    c.on('end', () => resolve(out));
    c.on('error', () => resolve(''));
  });
}

// show stat rows of the backend's servers: { fca1: { status, stot }, fca2: ... }
async function servers(sock) {
  const out = {};
  for (const line of (await hapCmd(sock, 'show stat')).split('\n')) {
    const f = line.split(',');
    if (f[0] === 'fcaudit' && /^fca\d$/.test(f[1])) out[f[1]] = { stot: Number(f[7]), status: f[17] };
  }
  return out;
}

function fcaudit(bin, args) {
  const r = spawnSync(bin, args, { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 30000 });
  return { status: r.status, out: r.stdout || '', err: r.stderr || '' };
}

// Every event in the stream (tail --redis --json: one object per line, each entry once).
function streamEvents(bin, url) {
  const r = fcaudit(bin, ['tail', '--redis', url, '--no-follow', '-n', '100000', '--json']);
  if (r.status !== 0) throw new Error(`tail --redis exited ${r.status}: ${r.err}`);
  return r.out.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}

async function visit(browser, sc) {
  const ctx = await browser.newContext();
  try {
    const page = await ctx.newPage();
    await page.goto(sc.visit, { waitUntil: 'load', timeout: 15000 });
    await playScenario(ctx, page, sc);
    return null;
  } catch (e) {
    return e.message.split('\n')[0];
  } finally {
    await ctx.close();
  }
}

async function main() {
  const bin = path.resolve(process.argv[2] || process.env.FCAUDIT_BIN || '');
  if (!bin || !fs.existsSync(bin)) throw new Error('usage: node pool.mjs FCAUDIT_BIN (or env FCAUDIT_BIN)');
  const sc = scenarios().find((s) => s.name === PAGE) ||
    JSON.parse(fs.readFileSync(path.resolve(HERE, `../site/${PAGE}.expected.json`), 'utf8'));
  const tmp = makeTmp('fca-pool-');
  const certs = makeCerts(path.join(tmp, 'certs'));
  const www = path.join(tmp, 'www');
  prepareSite(www);
  const nginxPort = await startSiteNginx(tmp, www, certs);

  // Redis
  const redisPort = await freePort();
  const redis = track(spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '',
    '--appendonly', 'no', '--dir', tmp], { stdio: 'ignore' }), 'SIGKILL');
  await waitListening(redisPort, redis, 'redis-server');
  const url = `redis://127.0.0.1:${redisPort}`;

  // two instances, one CA
  const caDir = path.join(tmp, 'fca-ca');
  execFileSync(bin, ['--ca-dir', caDir, 'ca', 'init'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const proxySpki = execFileSync(bin, ['--ca-dir', caDir, 'ca', 'spki']).toString().trim();
  const inst = [];
  for (const name of ['pool-a', 'pool-b']) {
    const port = await freePort();
    const log = path.join(tmp, `${name}.ndjson`);
    const args = ['--listen', `127.0.0.1:${port}`, '--only-resolved', '--admin', 'off', '--upstream-ca', certs.ca,
      '--ca-dir', caDir, '--log', log, '--env', 'staging', '--drain-timeout', '1s', '--quiet',
      '--sink', url, '--instance', name, '--label', LABEL];
    for (const h of HOSTS) args.push('--connect-to', `${h}:443:127.0.0.1:${nginxPort}`);
    const errFd = fs.openSync(path.join(tmp, `${name}.stderr`), 'w');
    const child = track(spawn(bin, args, { stdio: ['ignore', errFd, errFd], env: { ...process.env, NO_COLOR: '1' } }), 'SIGKILL');
    await waitListening(port, child, `fcaudit ${name}`);
    inst.push({ name, port, log, child });
  }

  // HAProxy on the recipe
  const hapPort = await freePort();
  const sock = path.join(tmp, 'haproxy.sock');
  const cfg = path.join(tmp, 'haproxy.cfg');
  fs.writeFileSync(cfg, recipe({ port: hapPort, servers: inst.map((i) => i.port), sock }));
  const hapErr = fs.openSync(path.join(tmp, 'haproxy.err'), 'w');
  const hap = track(spawn('haproxy', ['-db', '-f', cfg], { stdio: ['ignore', hapErr, hapErr] }), 'SIGKILL');
  await waitListening(hapPort, hap, 'haproxy');
  for (const until = Date.now() + 15000; ;) {
    const s = await servers(sock);
    if (s.fca1?.status === 'UP' && s.fca2?.status === 'UP') break;
    if (Date.now() > until) throw new Error(`haproxy never saw both instances up: ${JSON.stringify(s)}`);
    await sleep(100);
  }

  const checks = tally();
  const { report } = checks;

  const browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic',
      '--disable-default-apps', '--disable-domain-reliability', '--no-pings', '--metrics-recording-only',
      `--proxy-server=http://127.0.0.1:${hapPort}`, '--proxy-bypass-list=<-loopback>',
      `--ignore-certificate-errors-spki-list=${proxySpki}`,
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
  });
  const verr = await visit(browser, sc);
  await browser.close();
  report(!verr, `visit        ${sc.visit} through HAProxy (${sc.ready}${sc.flow ? `, then ${sc.flow.until}` : ''})`,
    verr ? [verr] : []);

  // tail --redis: the page's events arrive (bounded wait), then nothing more after a quiet time
  let evs = [];
  for (const until = Date.now() + 15000; ;) {
    evs = streamEvents(bin, url).filter((e) => e.type !== 'summary');
    if (compare(sc.events, evs).missing.length === 0 || Date.now() > until) break;
    await sleep(200);
  }
  await sleep(1000);
  evs = streamEvents(bin, url).filter((e) => e.type !== 'summary');
  const { missing, extra } = compare(sc.events, evs);
  const tdet = [...missing.map((m) => `missing: ${brief(m)}`), ...extra.map((x) => `extra:   ${brief(x)} (${x.instance})`)];
  report(tdet.length === 0, `tail         tail --redis shows the page's ${sc.events.length} expected events, each once`, tdet);

  // balance source: one instance saw the browser's every connection and tagged the page
  const pageUrl = sc.events.find((e) => e.type === 'page').page.url;
  const stats = await servers(sock);
  const on = evs.filter((e) => e.page?.url === pageUrl).map((e) => e.instance);
  const bdet = [];
  const tagger = on[0];
  if (on.length === 0) bdet.push('no event of the page in the stream');
  if (new Set(on).size > 1) bdet.push(`the page's events came from several instances: ${[...new Set(on)].join(', ')}`);
  const idx = inst.findIndex((i) => i.name === tagger);
  if (tagger && idx < 0) bdet.push(`events from an unknown instance ${tagger}`);
  if (idx >= 0) {
    const mine = stats[`fca${idx + 1}`];
    const other = stats[`fca${2 - idx}`];
    if (!(mine?.stot > 0)) bdet.push(`HAProxy counts no session on ${tagger}: ${JSON.stringify(stats)}`);
    if (other?.stot !== 0) bdet.push(`the browser's connections were split: ${JSON.stringify(stats)}`);
    const otherLog = fs.existsSync(inst[1 - idx].log) ? fs.readFileSync(inst[1 - idx].log, 'utf8') : '';
    if (otherLog.includes(pageUrl)) bdet.push(`${inst[1 - idx].name} saw the page too`);
    const page = evs.find((e) => e.type === 'page' && e.page?.url === pageUrl);
    if (page?.page?.tagged_by !== 'script-request') bdet.push(`tagged by ${page?.page?.tagged_by}, expected script-request`);
  }
  report(bdet.length === 0, `balance      page and its js.stripe.com request on one instance (${tagger || '?'}), tagged there`, bdet);

  // stop both (their summaries are shipped), then the merged report of the release
  for (const i of inst) i.child.kill('SIGTERM');
  const sdet = [];
  for (const i of inst) if (!(await waitExit(i.child, 15000))) sdet.push(`${i.name} did not exit within 15 s of SIGTERM`);
  const out = path.join(tmp, 'release.json');
  const r = fcaudit(bin, ['report', '--redis', url, '--release', LABEL, '--report-json', out, '--fail-on', 'never']);
  if (r.status !== 0) sdet.push(`report --redis exited ${r.status}: ${r.err.slice(-1500)}`);
  else {
    const rep = JSON.parse(fs.readFileSync(out, 'utf8'));
    const pages = (rep.pages || []).filter((p) => p.url === pageUrl);
    if (pages.length !== 1) sdet.push(`${pages.length} pages ${pageUrl} in the report, expected 1`);
    else if (pages[0].tagged_by !== 'script-request') sdet.push(`report: tagged by ${pages[0].tagged_by}`);
    else if (pages[0].loads !== 1) sdet.push(`report: the page loaded ${pages[0].loads} times, expected 1`);
    for (const want of sc.events.filter((e) => e.type === 'violation')) {
      const got = (rep.violations || []).filter((v) => v.rule === want.rule && v.page?.url === pageUrl);
      if (got.length !== 1) sdet.push(`report: ${got.length} findings ${want.rule} on the page, expected 1`);
      else if ((got[0].count ?? 1) !== 1) sdet.push(`report: ${want.rule} counted ${got[0].count} times, expected 1`);
    }
    const others = (rep.violations || []).filter((v) => !sc.events.some((w) => w.rule === v.rule && v.page?.url === pageUrl));
    for (const v of others) sdet.push(`report: unexpected finding ${v.rule} on ${v.page?.url}`);
    const runs = Array.isArray(rep.run) ? rep.run : String(rep.run || '').split(/[ ,]+/).filter(Boolean);
    if (runs.length !== 2) sdet.push(`report: runs ${JSON.stringify(rep.run)}, expected both instances' runs`);
  }
  report(sdet.length === 0, `report       report --redis --release ${LABEL}: the page once, tagged, its finding once`, sdet);

  hap.kill('SIGTERM');
  await waitExit(hap, 5000);
  redis.kill('SIGTERM');
  console.log(`${checks.passed} passed, ${checks.failed} failed`);
  return checks.failed === 0 ? 0 : 1;
}

runMain('pool.mjs', main);
