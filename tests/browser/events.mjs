// Reading fcaudit's NDJSON event log and comparing it with a page's expected events
// (tests/site/**/<page>.expected.json): nothing missing, nothing extra. An expected event names
// only what it pins: type, rule, level, note, the page's url/top_level/tagged_by/confidence,
// evidence and fix_stack keys (a key ending in "~" matches a substring; fix_stack null: none),
// and "message~". Evidence with a byte offset must
// point, in the decoded body of the document it came from, at its value or at the tag that
// holds it.
import fs from 'node:fs';
import path from 'node:path';
import { SITE_DIR } from './site.mjs';

const TYPES = new Set(['page', 'violation', 'pass', 'note', 'summary']);

// Lines appended to the log since byte `from`; a partial last line is left for next time.
export function readEvents(file, from) {
  let buf;
  try {
    buf = fs.readFileSync(file);
  } catch {
    return { events: [], next: from, errors: [] };
  }
  const text = buf.subarray(from).toString('utf8');
  const end = text.lastIndexOf('\n');
  if (end < 0) return { events: [], next: from, errors: [] };
  const events = [];
  const errors = [];
  for (const line of text.slice(0, end).split('\n')) {
    if (!line) continue;
    try {
      events.push(JSON.parse(line));
    } catch (e) {
      errors.push(`log line is not JSON (${e.message}): ${line.slice(0, 200)}`);
    }
  }
  return { events, next: from + Buffer.byteLength(text.slice(0, end + 1)), errors };
}

// Format checks every line must pass whatever the page.
export function checkEnvelope(ev, runIds) {
  const errs = [];
  if (ev.schema !== 1) errs.push(`schema is ${JSON.stringify(ev.schema)}, not 1`);
  if (typeof ev.run !== 'string' || !/^\d{8}T\d{6}Z-[0-9a-f]{6}$/.test(ev.run)) {
    errs.push(`bad run id ${JSON.stringify(ev.run)}`);
  } else runIds.add(ev.run);
  if (typeof ev.ts !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(ev.ts)) {
    errs.push(`bad ts ${JSON.stringify(ev.ts)}`);
  }
  if (!TYPES.has(ev.type)) errs.push(`unknown type ${JSON.stringify(ev.type)}`);
  if (['page', 'violation', 'pass'].includes(ev.type)) {
    const p = ev.page || {};
    if (typeof p.id !== 'number' || typeof p.url !== 'string' || typeof p.top_level !== 'boolean' ||
        !['script-tag', 'script-request', 'script-literal'].includes(p.tagged_by) ||
        !['high', 'medium'].includes(p.confidence)) {
      errs.push(`incomplete page object ${JSON.stringify(ev.page)}`);
    }
  }
  if (ev.type === 'violation') {
    if (!/^FC-[A-Z]+-\d+$/.test(ev.rule || '')) errs.push(`bad rule ${JSON.stringify(ev.rule)}`);
    if (!['info', 'warning', 'error'].includes(ev.level)) errs.push(`bad level ${JSON.stringify(ev.level)}`);
    if (typeof ev.message !== 'string' || typeof ev.fix !== 'string') errs.push('violation without message/fix');
  }
  return errs.map((e) => `${e} in ${JSON.stringify(ev)}`);
}

function sameValue(want, got) {
  if (want === null) return got === null || got === undefined;
  return JSON.stringify(want) === JSON.stringify(got);
}

// The keys of an object the expectation pins (a key ending in "~" matches a substring).
function pinned(want, got) {
  for (const [k, v] of Object.entries(want || {})) {
    const g = got || {};
    if (k.endsWith('~')) {
      const s = g[k.slice(0, -1)];
      if (typeof s !== 'string' || !s.includes(v)) return false;
    } else if (!sameValue(v, g[k])) return false;
  }
  return true;
}

export function matches(want, got) {
  for (const k of ['type', 'rule', 'level', 'note']) {
    if (k in want && want[k] !== got[k]) return false;
  }
  if (!('rule' in want) && got.type === 'violation') return false;
  for (const [k, v] of Object.entries(want.page || {})) {
    if (!got.page || !sameValue(v, got.page[k])) return false;
  }
  if (!pinned(want.evidence, got.evidence)) return false;
  if ('message~' in want && !(typeof got.message === 'string' && got.message.includes(want['message~'])))
    return false;
  if (want.fix_stack === null) return !got.fix_stack;
  if (want.fix_stack && !(got.fix_stack && pinned(want.fix_stack, got.fix_stack))) return false;
  return true;
}

// The decoded body of a test-site document, from its URL (null when not a site file).
function siteFile(url) {
  let u;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  let p = decodeURIComponent(u.pathname);
  if (p.endsWith('/')) p += 'index.html';
  const file = path.join(SITE_DIR, u.hostname, p);
  if (!file.startsWith(SITE_DIR + path.sep)) return null;
  try {
    return fs.readFileSync(file);
  } catch {
    return null;
  }
}

// Evidence offsets point at the evidence value in the decoded body.
export function checkOffset(ev) {
  const e = ev.evidence;
  if (!e || typeof e.offset !== 'number' || typeof e.value !== 'string' || e.escaped) return null;
  const doc = e.url || (ev.page && ev.page.url);
  const body = siteFile(doc);
  if (!body) return null;
  const at = body.subarray(e.offset, e.offset + Buffer.byteLength(e.value)).toString('utf8');
  if (at === e.value) return null;
  // or the offset starts the tag the value was taken from (value = an attribute's value)
  if (body[e.offset] === 0x3c) {
    const end = body.indexOf('>', e.offset);
    if (end > 0 && body.subarray(e.offset, end + 1).toString('utf8').includes(e.value)) return null;
  }
  return `evidence offset ${e.offset} in ${doc} holds ${JSON.stringify(at)}, neither the evidence ` +
    `value nor a tag holding it (${ev.rule || ev.type})`;
}

// Multiset comparison: returns { missing: [want...], extra: [got...] }.
export function compare(expected, actual) {
  const left = [...actual];
  const missing = [];
  for (const want of expected) {
    const i = left.findIndex((got) => matches(want, got));
    if (i < 0) missing.push(want);
    else left.splice(i, 1);
  }
  return { missing, extra: left };
}

export function brief(ev) {
  const p = ev.page ? ` ${ev.page.url}${ev.page.top_level === false ? ' (frame)' : ''}` +
    (ev.page.tagged_by ? ` [${ev.page.tagged_by}/${ev.page.confidence}]` : '') : '';
  const e = ev.evidence ? ' ' + JSON.stringify(ev.evidence) : '';
  return `${ev.type}${ev.rule ? ' ' + ev.rule : ''}${ev.level ? ' ' + ev.level : ''}${p}${e}` +
    (ev.type === 'note' ? ` ${ev.note}: ${ev.message}` : '');
}
