#!/usr/bin/env node
// drive.mjs: opens pages in headless Chromium through fcaudit's proxy, the way an end-to-end test
// would, so `fcaudit run` can audit them. Meant to run as fcaudit run's CMD:
//
//   fcaudit run --require-tagged 1 --junit fcaudit.xml -- node tools/headless/drive.mjs URL...
//
// fcaudit run puts FCAUDIT_PROXY (the proxy) and FCAUDIT_SPKI (its CA's key hash) in the
// environment; Chromium is told to use the proxy and to trust certificates from that CA only
// (--ignore-certificate-errors-spki-list, honoured with a throwaway --user-data-dir).
//
// Options (environment): CHROMIUM (browser path, default /usr/bin/chromium), FCAUDIT_SETTLE_MS
// (time to stay on each page after it loaded, so Stripe.js and its frames load; default 3000),
// FCAUDIT_CLICK (a CSS selector clicked on each page once loaded, e.g. the button that opens
// Financial Connections; optional).
// Exit status: 0 when every page loaded with a 2xx/3xx status, 1 otherwise, 3 on a usage error.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const urls = process.argv.slice(2);
const proxy = process.env.FCAUDIT_PROXY;
const spki = process.env.FCAUDIT_SPKI;
if (urls.length === 0 || !proxy || !spki) {
  console.error('usage: fcaudit run [options] -- node drive.mjs URL...');
  console.error('(FCAUDIT_PROXY and FCAUDIT_SPKI come from fcaudit run)');
  process.exit(3);
}
const settleMs = Number(process.env.FCAUDIT_SETTLE_MS ?? 3000);
const profile = mkdtempSync(join(tmpdir(), 'fcaudit-chromium-'));
let failed = 0;
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--proxy-server=${proxy}`,
      // Chromium sends loopback hosts directly unless told otherwise; a staging origin on
      // localhost must go through the proxy too.
      '--proxy-bypass-list=<-loopback>',
      `--ignore-certificate-errors-spki-list=${spki}`,
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  for (const url of urls) {
    try {
      const resp = await page.goto(url, { waitUntil: 'load', timeout: 60000 });
      const status = resp ? resp.status() : 0;
      if (process.env.FCAUDIT_CLICK) await page.click(process.env.FCAUDIT_CLICK, { timeout: 30000 });
      await page.waitForTimeout(settleMs);
      console.log(`${status} ${url} ${JSON.stringify(await page.title())}`);
      if (status < 200 || status >= 400) failed++;
    } catch (e) {
      console.error(`failed: ${url}: ${e.message.split('\n')[0]}`);
      failed++;
    }
  }
} finally {
  if (context) await context.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
