// fcaudit dashboard: a live feed from /events (Server-Sent Events; EventSource reconnects by
// itself and sends Last-Event-ID, so nothing is shown twice) and totals and scorecards from
// /api/report.json, refreshed shortly after each event; for a fleet, /api/fleet.json (runs,
// instances, recent events of every instance) every 2 s. Everything shown came from traffic and
// is untrusted: it only ever reaches the page through textContent and attribute values set by
// property, never as markup.
'use strict';
(function () {
  const MAX_ROWS = 1000;
  const LEVELS = ['error', 'warning', 'info'];
  const $ = (id) => document.getElementById(id);

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function safeLevel(l) { return LEVELS.includes(l) ? l : 'other'; }
  function fmtTime(ts) {
    const d = new Date(ts);
    return isNaN(d) ? '' : d.toLocaleTimeString();
  }

  // ---- live feed ----
  const state = { run: null, rows: [], rules: new Set() };
  const feed = $('feed');
  const WAITING = $('feed-empty').textContent;

  function filters() {
    const levels = new Set();
    document.querySelectorAll('input[name=level]').forEach((c) => { if (c.checked) levels.add(c.value); });
    return {
      levels,
      notes: $('show-notes').checked,
      pages: $('show-pages').checked,
      rule: $('rule').value,
      text: $('text').value.trim().toLowerCase(),
    };
  }

  function visible(row, f) {
    const ev = row.ev;
    if (f.text && !(ev.page && String(ev.page.url || '').toLowerCase().includes(f.text))) return false;
    if (row.type === 'violation') {
      if (!f.levels.has(ev.level)) return false;
      return !f.rule || ev.rule === f.rule;
    }
    if (f.rule) return false;
    if (row.type === 'note') return f.notes;
    return f.pages;
  }

  function applyFilters() {
    const f = filters();
    let shown = 0;
    for (const row of state.rows) {
      row.li.hidden = !visible(row, f);
      if (!row.li.hidden) shown++;
    }
    $('feed-empty').hidden = shown > 0;
    $('feed-empty').textContent = state.rows.length ? 'No event matches the filters.' : WAITING;
  }

  function evidenceNode(evd) {
    const d = el('div', 'ev-evidence');
    d.appendChild(el('span', 'ev-src', (evd.source || 'evidence') + ': '));
    let text = '';
    if (evd.name) text += evd.name;
    if (evd.value !== undefined && evd.value !== null) text += (text ? ': ' : '') + evd.value;
    d.appendChild(el('code', null, text));
    if (typeof evd.offset === 'number') d.appendChild(el('span', 'ev-off', ' at byte ' + evd.offset));
    if (evd.url) d.appendChild(el('span', 'ev-other', ' in ' + evd.url));
    return d;
  }

  function renderRow(type, ev) {
    const li = el('li', 'ev ev-' + type);
    const head = el('div', 'ev-head');
    if (type === 'violation') {
      const lvl = safeLevel(ev.level);
      li.classList.add('lvl-' + lvl);
      li.dataset.rule = String(ev.rule || '');
      li.dataset.level = lvl;
      head.appendChild(el('span', 'badge lvl-' + lvl, ev.level));
      head.appendChild(el('code', 'ev-rule', ev.rule));
      if (typeof ev.item === 'number') head.appendChild(el('span', 'ev-item', ev.item ? 'item ' + ev.item : 'beyond the checklist'));
      if (ev.count > 1) head.appendChild(el('span', 'ev-count', '×' + ev.count));
    } else if (type === 'note') {
      head.appendChild(el('span', 'badge', 'note'));
      head.appendChild(el('code', null, ev.note));
    } else if (type === 'page') {
      head.appendChild(el('span', 'badge', 'tagged'));
      head.appendChild(el('span', null, [ev.page && ev.page.tagged_by, ev.page && ev.page.confidence].filter(Boolean).join(', ')));
    } else if (type === 'pass') {
      head.appendChild(el('span', 'badge st-pass', 'pass'));
    } else {
      head.appendChild(el('span', 'badge', type));
    }
    head.appendChild(el('time', null, fmtTime(ev.ts)));
    li.appendChild(head);
    if (ev.message && type !== 'page') li.appendChild(el('div', 'ev-msg', ev.message));
    if (ev.page && ev.page.url) li.appendChild(el('div', 'ev-url', (ev.page.top_level === false ? 'frame ' : '') + ev.page.url));
    if (ev.evidence && type !== 'page') li.appendChild(evidenceNode(ev.evidence));
    if (ev.fix) li.appendChild(el('div', 'ev-fix', ev.fix));
    if (ev.fix_stack) li.appendChild(stackFixNode(ev.fix_stack));
    return li;
  }

  // The fix in the words of the stack that sent the header; a guess says so.
  function stackFixNode(fs) {
    const guess = fs.confidence === 'guess';
    return el('div', 'ev-fix ev-fix-stack',
      (fs.label || fs.stack || 'stack') + (guess ? ' (a guess from its headers)' : '') + ': ' + (fs.fix || ''));
  }

  function addRuleOption(rule) {
    if (!rule || state.rules.has(rule)) return;
    state.rules.add(rule);
    const sel = $('rule');
    const cur = sel.value;
    const names = Array.from(state.rules).sort();
    while (sel.options.length > 1) sel.remove(1);
    for (const r of names) sel.add(new Option(r, r));
    sel.value = cur;
  }

  function clearFeed() {
    state.rows = [];
    feed.replaceChildren();
  }

  function onEvent(type, data) {
    let ev;
    try { ev = JSON.parse(data); } catch (e) { return; }
    if (!ev || typeof ev !== 'object') return;
    if (type === 'summary') { scheduleReport(); return; }
    const row = { type, ev, li: renderRow(type, ev) };
    row.li.hidden = !visible(row, filters());
    state.rows.push(row);
    feed.prepend(row.li);
    while (state.rows.length > MAX_ROWS) state.rows.shift().li.remove();
    if (type === 'violation') addRuleOption(ev.rule);
    applyFilters();
    scheduleReport();
  }

  function connect() {
    const es = new EventSource('/events');
    const conn = $('conn');
    es.onopen = () => { conn.textContent = 'live'; conn.className = 'conn conn-live'; };
    es.onerror = () => {
      conn.textContent = 'reconnecting…';
      conn.className = 'conn conn-wait';
      if (es.readyState === EventSource.CLOSED) setTimeout(connect, 3000);
    };
    es.addEventListener('hello', (m) => {
      let h;
      try { h = JSON.parse(m.data); } catch (e) { return; }
      if (state.run && h.run !== state.run) { clearFeed(); banner(''); }
      state.run = h.run;
      $('run').textContent = h.run;
      scheduleReport();
    });
    es.addEventListener('gap', (m) => {
      let g = {};
      try { g = JSON.parse(m.data); } catch (e) { /* keep default */ }
      banner('The live feed missed ' + (g.missed || 'some') + ' older events (the totals and scorecards below still count them).');
    });
    for (const t of ['violation', 'note', 'page', 'pass', 'summary'])
      es.addEventListener(t, (m) => onEvent(t, m.data));
  }

  function banner(text) {
    const b = $('banner');
    b.textContent = text;
    b.hidden = !text;
  }

  // ---- totals and scorecards from the report ----
  let reportTimer = null;
  let reportBusy = false;
  function scheduleReport() {
    if (reportTimer) return;
    reportTimer = setTimeout(() => { reportTimer = null; loadReport(); }, 300);
  }

  async function loadReport() {
    if (reportBusy) { scheduleReport(); return; }
    reportBusy = true;
    try {
      const [r, m] = await Promise.all([
        fetch('/api/report.json', { cache: 'no-store' }),
        fetch('/api/metrics.json', { cache: 'no-store' }),
      ]);
      const metrics = m.ok ? await m.json() : {};
      if (r.ok) renderReport(await r.json(), metrics);
    } catch (e) {
      /* the feed's status already says when fcaudit is unreachable */
    } finally {
      reportBusy = false;
    }
  }

  function setNum(id, v) { $(id).textContent = v === null || v === undefined ? '—' : String(v); }

  function renderReport(rep, metrics) {
    const s = rep.summary || {};
    const v = rep.verdict || {};
    // The report knows pages seen from the run's summary (at its end); live, the counters do.
    const seen = s.pages_seen !== null && s.pages_seen !== undefined ? s.pages_seen : metrics.pages_seen;
    setNum('pages-seen', seen);
    setNum('pages-tagged', s.pages_tagged);
    const f = s.findings || {};
    setNum('n-error', f.error || 0);
    setNum('n-warning', f.warning || 0);
    setNum('n-info', f.info || 0);
    setNum('n-notes', s.notes || 0);
    const vd = $('verdict');
    vd.textContent = v.result || '—';
    vd.className = 'n ' + (v.result === 'fail' ? 'verdict-fail' : v.result === 'pass' ? 'verdict-pass' : '');
    vd.title = (v.reasons || []).join('; ');
    if (rep.run) $('run').textContent = rep.run;
    renderCards(rep);
  }

  function renderCards(rep) {
    const byFp = new Map();
    for (const x of rep.violations || []) {
      const fp = x.fingerprints && Object.values(x.fingerprints)[0];
      if (fp) byFp.set(fp, x);
    }
    const cards = $('cards');
    const pages = rep.pages || [];
    $('cards-empty').hidden = pages.length > 0;
    const frag = document.createDocumentFragment();
    for (const p of pages) {
      const card = el('article', 'card');
      card.dataset.result = p.result === 'fail' ? 'fail' : 'pass';
      card.dataset.stripeJs = p.stripe_js === 'never-fetched' ? 'never-fetched' : 'loads';
      const head = el('div', 'card-head');
      head.appendChild(el('span', 'badge st-' + (p.result === 'fail' ? 'fail' : 'pass'), p.result));
      head.appendChild(el('span', 'card-url', p.url));
      card.appendChild(head);
      const meta = [p.top_level === false ? 'frame' : 'top-level page',
        p.stripe_js_text || 'loads Stripe.js', p.tagged_by, p.confidence && p.confidence + ' confidence',
        p.loads > 1 ? p.loads + ' loads' : null].filter(Boolean).join(' · ');
      card.appendChild(el('div', 'card-meta', meta));
      const items = el('ol', 'items');
      for (const it of p.scorecard || []) {
        const li = el('li', 'item');
        const st = it.status === 'fail' ? 'fail' : it.status === 'pass' ? 'pass' : 'na';
        li.dataset.status = st;
        const ih = el('div', 'item-head');
        ih.appendChild(el('span', 'badge st-' + st, it.status));
        ih.appendChild(el('span', null, it.item + '. ' + (it.title || '')));
        li.appendChild(ih);
        if (it.why) li.appendChild(el('div', 'item-why', it.why));
        for (const fp of it.findings || []) {
          const x = byFp.get(fp);
          if (!x) continue;
          const d = el('div', 'finding');
          const fh = el('div', 'ev-head');
          fh.appendChild(el('span', 'badge lvl-' + safeLevel(x.level), x.level));
          fh.appendChild(el('code', null, x.rule));
          if (x.count > 1) fh.appendChild(el('span', null, '×' + x.count));
          if (x.baseline) fh.appendChild(el('span', 'badge', 'baseline'));
          d.appendChild(fh);
          if (x.message) d.appendChild(el('div', 'ev-msg', x.message));
          if (x.evidence) d.appendChild(evidenceNode(x.evidence));
          if (x.fix) d.appendChild(el('div', 'ev-fix', x.fix));
          if (x.fix_stack) d.appendChild(stackFixNode(x.fix_stack));
          li.appendChild(d);
        }
        items.appendChild(li);
      }
      card.appendChild(items);
      frag.appendChild(card);
    }
    cards.replaceChildren(frag);
  }

  // ---- fleet (`fcaudit dashboard --redis`): runs, instances, a feed across them ----
  // /api/fleet.json says {"fleet":false} on a single proxy: the section then stays hidden.
  async function loadFleet() {
    let f = null;
    try {
      const r = await fetch('/api/fleet.json', { cache: 'no-store' });
      if (r.ok) f = await r.json();
    } catch (e) { /* retried below */ }
    if (f && f.fleet === false) return;
    if (f) renderFleet(f);
    setTimeout(loadFleet, 2000);
  }

  function cell(tr, text, cls) { tr.appendChild(el('td', cls, text)); }

  function renderFleet(f) {
    $('fleet').hidden = false;
    $('fleet-stream').textContent = f.stream || '';
    $('fleet-error').hidden = !f.error;
    $('fleet-error').textContent = f.error || '';
    const insts = $('fleet-instances');
    insts.replaceChildren();
    for (const i of f.instances || []) {
      const tr = el('tr');
      cell(tr, i.instance, 'mono');
      cell(tr, i.runs);
      cell(tr, i.events);
      cell(tr, i.last_ts ? fmtTime(i.last_ts) : '');
      insts.appendChild(tr);
    }
    const runs = $('fleet-runs');
    runs.replaceChildren();
    for (const r of (f.runs || []).slice().reverse()) {
      const tr = el('tr');
      cell(tr, r.run, 'mono');
      cell(tr, r.instance, 'mono');
      cell(tr, r.label || '');
      cell(tr, r.events);
      cell(tr, r.ended ? 'ended' : 'running');
      cell(tr, r.last_ts ? fmtTime(r.last_ts) : '');
      runs.appendChild(tr);
    }
    const list = $('fleet-feed');
    const frag = document.createDocumentFragment();
    for (const x of (f.recent || []).slice().reverse()) {
      const li = el('li', 'fleet-ev');
      li.appendChild(el('span', 'muted', x.ts ? fmtTime(x.ts) : ''));
      li.appendChild(el('code', 'fleet-inst', x.instance));
      li.appendChild(el('span', null, x.text || x.type));
      frag.appendChild(li);
    }
    list.replaceChildren(frag);
  }

  function start() {
    loadFleet();
    $('filters').addEventListener('input', applyFilters);
    $('filters').addEventListener('submit', (e) => e.preventDefault());
    connect();
    loadReport();
    setInterval(loadReport, 15000);
  }
  start();
})();
