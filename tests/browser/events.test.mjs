// Tests of the harness's own event comparison (node --test): a comparison that cannot fail
// would make the browser test worthless.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'node:test';
import { checkEnvelope, checkOffset, compare, matches, readEvents } from './events.mjs';

const page = { id: 1, url: 'https://shop.test/checkout-gzip.html', top_level: true, tagged_by: 'script-tag', confidence: 'high' };
const base = { schema: 1, run: '20261124T100000Z-3f9a1c', ts: '2026-11-24T10:00:00.123Z', client: '127.0.0.1:5000' };
const meta = '<meta name="referrer" content="no-referrer">';
const gzipBody = fs.readFileSync(new URL('../site/shop.test/checkout-gzip.html', import.meta.url));
const metaOffset = gzipBody.indexOf(meta);
const violation = {
  ...base, type: 'violation', rule: 'FC-REF-1', level: 'error', item: 2, message: 'm', fix: 'f', page,
  evidence: { source: 'meta', name: 'meta[name=referrer]', value: meta, offset: metaOffset },
};
const want = {
  type: 'violation', rule: 'FC-REF-1', level: 'error',
  page: { url: page.url, top_level: true, tagged_by: 'script-tag', confidence: 'high' },
  evidence: { source: 'meta', value: meta },
};

test('an event matches on the keys the expectation pins', () => {
  assert.ok(matches(want, violation));
  assert.ok(!matches({ ...want, level: 'warning' }, violation));
  assert.ok(!matches({ ...want, rule: 'FC-REF-2' }, violation));
  assert.ok(!matches({ ...want, page: { ...want.page, top_level: false } }, violation));
  assert.ok(!matches({ ...want, evidence: { ...want.evidence, value: 'no-referrer' } }, violation));
  assert.ok(matches({ ...want, evidence: { 'value~': 'no-referrer' } }, violation));
  assert.ok(!matches({ ...want, evidence: { 'value~': 'same-origin' } }, violation));
});

test('null in an expectation accepts null or absent, nothing else', () => {
  const hdr = { ...violation, evidence: { source: 'header', name: 'Referrer-Policy', value: 'no-referrer', offset: null } };
  const w = { ...want, evidence: { source: 'header', offset: null } };
  assert.ok(matches(w, hdr));
  assert.ok(matches(w, { ...hdr, evidence: { source: 'header' } }));
  assert.ok(!matches(w, { ...hdr, evidence: { source: 'header', offset: 0 } }));
});

test('an expectation without a rule never matches a violation', () => {
  assert.ok(!matches({ type: 'violation' }, violation));
  assert.ok(matches({ type: 'page', page: { url: page.url } }, { ...base, type: 'page', page }));
});

test('compare reports what is missing and what is extra', () => {
  const pg = { ...base, type: 'page', page };
  const pass = { ...base, type: 'pass', page };
  const wantPage = { type: 'page', page: { url: page.url } };
  assert.deepEqual(compare([wantPage, want], [pg, violation]), { missing: [], extra: [] });
  assert.deepEqual(compare([wantPage, want], [pg]), { missing: [want], extra: [] });
  assert.deepEqual(compare([wantPage], [pg, pass]), { missing: [], extra: [pass] });
  // a multiset: one actual event satisfies one expectation only
  assert.deepEqual(compare([wantPage, wantPage], [pg]), { missing: [wantPage], extra: [] });
  assert.deepEqual(compare([], [pg]), { missing: [], extra: [pg] });
});

test('evidence offsets must point at the value in the decoded body', () => {
  assert.ok(metaOffset > 16000); // the gzip page's tag lies deep in the body
  assert.equal(checkOffset(violation), null);
  const off = { ...violation, evidence: { ...violation.evidence, offset: metaOffset + 1 } };
  assert.match(checkOffset(off), /holds/);
  // an attribute's value, with the offset of its tag
  const attr = { ...violation, evidence: { ...violation.evidence, value: 'no-referrer' } };
  assert.equal(checkOffset(attr), null);
  assert.match(checkOffset({ ...attr, evidence: { ...attr.evidence, value: 'same-origin' } }), /holds/);
  assert.match(checkOffset({ ...attr, evidence: { ...attr.evidence, offset: metaOffset - 40 } }), /holds/);
  // evidence from another document is looked up in that document
  const other = { ...violation, evidence: { ...violation.evidence, url: 'https://shop.test/checkout.html' } };
  assert.match(checkOffset(other), /checkout\.html/);
});

test('envelope checks catch malformed lines', () => {
  const ids = new Set();
  assert.deepEqual(checkEnvelope(violation, ids), []);
  assert.deepEqual([...ids], [base.run]);
  assert.equal(checkEnvelope({ ...violation, schema: 2 }, ids).length, 1);
  assert.equal(checkEnvelope({ ...violation, ts: '2026-11-24 10:00' }, ids).length, 1);
  assert.equal(checkEnvelope({ ...violation, level: 'fatal' }, ids).length, 1);
  assert.equal(checkEnvelope({ ...violation, page: { url: page.url } }, ids).length, 1);
  assert.equal(checkEnvelope({ ...base, type: 'bogus' }, ids).length, 1);
});

test('readEvents returns whole lines only and resumes where it stopped', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fca-events-'));
  try {
    const f = path.join(dir, 'log.ndjson');
    assert.deepEqual(readEvents(f, 0), { events: [], next: 0, errors: [] });
    fs.writeFileSync(f, JSON.stringify({ a: 'é' }) + '\n{"b":');
    let r = readEvents(f, 0);
    assert.deepEqual(r.events, [{ a: 'é' }]);
    fs.appendFileSync(f, '2}\nnot json\n');
    r = readEvents(f, r.next);
    assert.deepEqual(r.events, [{ b: 2 }]);
    assert.equal(r.errors.length, 1);
    assert.equal(r.next, fs.statSync(f).size);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('notes, messages and stack fixes are pinned when named', () => {
  const note = { ...base, type: 'note', note: 'stripe-js-not-fetched', page,
    message: 'references Stripe.js (never fetched): ... never https://js.stripe.com/v3/' };
  assert.ok(matches({ type: 'note', note: 'stripe-js-not-fetched', 'message~': 'never fetched' }, note));
  assert.ok(!matches({ type: 'note', note: 'audit-incomplete' }, note));
  assert.ok(!matches({ type: 'note', 'message~': 'loads Stripe.js' }, note));
  const fixed = { ...violation, fix_stack: { stack: 'helmet', label: 'Express with helmet', confidence: 'guess', why: 'w', fix: 'helmet({ referrerPolicy: x })' } };
  assert.ok(matches({ ...want, fix_stack: { stack: 'helmet', 'fix~': 'referrerPolicy' } }, fixed));
  assert.ok(!matches({ ...want, fix_stack: { stack: 'django' } }, fixed));
  assert.ok(!matches({ ...want, fix_stack: { 'fix~': 'crossOriginOpenerPolicy' } }, fixed));
  assert.ok(!matches({ ...want, fix_stack: null }, fixed));
  assert.ok(matches({ ...want, fix_stack: null }, violation));
  assert.ok(!matches({ ...want, fix_stack: { stack: 'helmet' } }, violation));
});
