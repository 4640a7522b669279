// Process helpers shared by the browser tests (run.mjs, har.mjs, pool.mjs): every child they
// start is tracked and stopped on exit (with its own kill signal), the test's temporary
// directory is removed (unless FCA_KEEP_TMP), and waits are bounded.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { nginxConfig, startNginx } from './site.mjs';

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

// Stops everything on exit and on SIGINT/SIGTERM/SIGHUP (`name` prefixes the message).
export function installCleanup(name) {
  process.on('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      console.error(`${name}: ${sig}, stopping`);
      process.exit(130);
    });
  }
}

// Runs main() and exits with its code; an exception counts as one failed check.
export function runMain(name, main) {
  installCleanup(name);
  main().then((code) => {
    cleanup();
    process.exit(code);
  }, (e) => {
    console.error(`${name}: ${e.stack || e}`);
    console.log('0 passed, 1 failed');
    cleanup();
    process.exit(1);
  });
}

// The test's temporary directory (removed at exit).
export function makeTmp(prefix) {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(tmp, 0o755);
  return tmp;
}

// Tracks a child: it is stopped with killSignal (default SIGTERM) at exit.
export function track(child, killSignal) {
  if (killSignal) child.killSignal = killSignal;
  children.push(child);
  return child;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function waitListening(port, child, what, ms = 10000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before listening`);
    }
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

export function waitExit(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => { clearTimeout(t); resolve(true); });
  });
}

// nginx serving the test site on a free port (retried on a port race); returns the port.
export async function startSiteNginx(dir, www, certs) {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const nginx = track(startNginx(dir, nginxConfig({ dir, www, port, certs })), 'SIGTERM'); // the master stops its workers
    try {
      await waitListening(port, nginx, 'nginx');
      return port;
    } catch (e) {
      if (attempt >= 2) {
        const log = path.join(dir, 'nginx-error.log');
        throw new Error(`${e.message}\n${fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : ''}`);
      }
    }
  }
}

// A run's checks: report(ok, name, details) prints "ok  name" or "FAIL  name" and its details
// indented; passed and failed count them.
export function tally() {
  const t = { passed: 0, failed: 0 };
  t.report = (ok, name, details = []) => {
    if (ok) t.passed++;
    else t.failed++;
    console.log(`${ok ? 'ok' : 'FAIL'}  ${name}`);
    for (const d of details) console.log(`      ${String(d).replace(/\n/g, '\n      ')}`);
  };
  return t;
}
