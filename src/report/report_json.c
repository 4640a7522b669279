/* report_json: the model as the versioned JSON report (docs/report.md). Keys are fixed: the
 * dashboard and --baseline read them. Optional values are absent rather than null, except
 * pages_seen (null when the engine's summary did not say). */
#include "fcaudit/report_json.h"

#include <stdlib.h>
#include <string.h>

#include "fcaudit/eventjson.h"
#include "fcaudit/ruleset.h"

static void set_str(json_t *o, const char *k, const char *v) {
  if (v) json_object_set_new(o, k, json_string(v));
}

static json_t *levels_obj(const size_t n[4]) {
  json_t *o = json_object();
  json_object_set_new(o, "error", json_integer((json_int_t)n[FCA_LEVEL_ERROR]));
  json_object_set_new(o, "warning", json_integer((json_int_t)n[FCA_LEVEL_WARNING]));
  json_object_set_new(o, "info", json_integer((json_int_t)n[FCA_LEVEL_INFO]));
  return o;
}

static json_t *page_ref(const fca_model_page_t *p) {
  json_t *o = json_object();
  set_str(o, "url", p->url);
  json_object_set_new(o, "top_level", json_boolean(p->top_level));
  set_str(o, "tagged_by", p->tagged_by);
  set_str(o, "confidence", p->confidence);
  return o;
}

static json_t *finding_json(const fca_model_t *m, const fca_model_finding_t *f) {
  json_t *o = json_object();
  json_t *fps = json_object();
  json_object_set_new(fps, FCA_FINGERPRINT_KEY, json_string(f->fingerprint));
  json_object_set_new(o, "fingerprints", fps);
  set_str(o, "rule", f->rule);
  const fca_rule_info_t *ri = fca_rule_lookup(f->rule);
  if (ri) set_str(o, "title", ri->title);
  set_str(o, "level", fca_level_name(f->level));
  json_object_set_new(o, "item", json_integer(f->item));
  set_str(o, "message", f->message);
  set_str(o, "fix", f->fix);
  if (f->stack_fix) {
    json_t *fs = json_object();
    set_str(fs, "stack", f->stack);
    set_str(fs, "label", f->stack_label);
    set_str(fs, "confidence", f->stack_confidence);
    set_str(fs, "fix", f->stack_fix);
    json_object_set_new(o, "fix_stack", fs);
  }
  set_str(o, "doc", f->doc);
  json_object_set_new(o, "page", page_ref(&m->pages[f->page]));
  if (f->has_evidence) {
    json_t *e = json_object();
    set_str(e, "source", f->ev_source);
    set_str(e, "name", f->ev_name);
    set_str(e, "value", f->ev_value);
    if (f->ev_offset >= 0) json_object_set_new(e, "offset", json_integer(f->ev_offset));
    set_str(e, "url", f->ev_url);
    if (f->ev_escaped) json_object_set_new(e, "escaped", json_true());
    json_object_set_new(o, "evidence", e);
  }
  json_object_set_new(o, "count", json_integer((json_int_t)f->count));
  set_str(o, "first_seen", f->first_ts);
  set_str(o, "last_seen", f->last_ts);
  json_object_set_new(o, "baseline", json_boolean(f->baseline));
  json_object_set_new(o, "fails_run", json_boolean(fca_model_finding_fails(m, f)));
  return o;
}

json_t *fca_report_json(fca_model_t *m) {
  fca_model_finalize(m);
  fca_model_verdict_t v;
  fca_model_verdict(m, &v);
  json_t *r = json_object();
  json_object_set_new(r, "report_version", json_integer(FCA_REPORT_VERSION));
  json_t *tool = json_object();
  set_str(tool, "name", "fcaudit");
  set_str(tool, "version", FCA_VERSION);
  json_object_set_new(r, "tool", tool);
  set_str(r, "run", m->run);
  set_str(r, "started", m->first_ts);
  set_str(r, "ended", m->last_ts);

  json_t *verdict = json_object();
  set_str(verdict, "result", v.fail ? "fail" : "pass");
  set_str(verdict, "fail_on", fca_policy_fail_on_name(&m->policy));
  json_object_set_new(verdict, "require_tagged",
                      json_integer((json_int_t)m->policy.require_tagged));
  json_object_set_new(verdict, "failing_findings", json_integer((json_int_t)v.failing));
  json_object_set_new(verdict, "too_few_tagged", json_boolean(v.too_few_tagged));
  json_object_set_new(verdict, "exit_code", json_integer(v.fail ? 1 : 0));
  json_t *reasons = json_array();
  if (v.failing)
    json_array_append_new(reasons, json_sprintf("%zu new finding%s at or above %s", v.failing,
                                                v.failing == 1 ? "" : "s",
                                                fca_level_name(m->policy.fail_on)));
  if (v.too_few_tagged)
    json_array_append_new(reasons, json_sprintf("%zu tagged page%s, fewer than the %llu required",
                                                m->npages, m->npages == 1 ? "" : "s",
                                                (unsigned long long)m->policy.require_tagged));
  json_object_set_new(verdict, "reasons", reasons);
  char *sentence = fca_model_verdict_sentence(m);
  set_str(verdict, "sentence", sentence);
  free(sentence);
  json_object_set_new(r, "verdict", verdict);

  json_t *sum = json_object();
  int64_t seen = fca_model_pages_seen(m);
  json_object_set_new(sum, "pages_seen", seen >= 0 ? json_integer(seen) : json_null());
  json_object_set_new(sum, "pages_tagged", json_integer((json_int_t)m->npages));
  json_object_set_new(sum, "findings", levels_obj(v.by_level));
  size_t occ[4];
  for (int i = 0; i < 4; i++) occ[i] = (size_t)v.occurrences[i];
  json_object_set_new(sum, "occurrences", levels_obj(occ));
  json_object_set_new(sum, "baseline_findings", json_integer((json_int_t)v.known));
  json_t *by_rule = json_array();
  for (size_t ri = 0; ri < fca_rule_count(); ri++) {
    const fca_rule_info_t *info = fca_rule_get((fca_rule_id_t)ri);
    for (int lv = FCA_LEVEL_ERROR; lv >= FCA_LEVEL_INFO; lv--) {
      size_t n = 0, fresh = 0;
      uint64_t c = 0;
      for (size_t i = 0; i < m->nfindings; i++) {
        const fca_model_finding_t *f = &m->findings[i];
        if ((int)f->level != lv || strcmp(f->rule, info->id) != 0) continue;
        n++, c += f->count, fresh += !f->baseline;
      }
      if (!n) continue;
      json_t *e = json_object();
      set_str(e, "rule", info->id);
      set_str(e, "title", info->title);
      set_str(e, "level", fca_level_name((fca_level_t)lv));
      json_object_set_new(e, "item", json_integer(info->item));
      json_object_set_new(e, "findings", json_integer((json_int_t)n));
      json_object_set_new(e, "occurrences", json_integer((json_int_t)c));
      json_object_set_new(e, "new", json_integer((json_int_t)fresh));
      json_array_append_new(by_rule, e);
    }
  }
  json_object_set_new(sum, "by_rule", by_rule);
  json_object_set_new(sum, "notes", json_integer((json_int_t)m->nnotes));
  if (m->npages == 0) set_str(sum, "warning", "no page loaded Stripe.js, so nothing was audited");
  json_t *engine = fca_summary_to_json(m->summary);
  json_t *tm = json_object_get(engine, "test_mode");
  if (tm) json_object_set(sum, "test_mode", tm);
  char *coverage = fca_model_test_mode_line(m);
  set_str(sum, "test_mode_coverage", coverage);
  free(coverage);
  if (m->dropped) json_object_set_new(sum, "dropped_events", json_integer((json_int_t)m->dropped));
  if (m->baseline_path) set_str(sum, "baseline", m->baseline_path);
  json_object_set_new(r, "summary", sum);

  json_t *pages = json_array();
  for (size_t k = 0; k < m->npages; k++) {
    const fca_model_page_t *p = &m->pages[k];
    json_t *o = page_ref(p);
    json_object_set_new(o, "loads", json_integer((json_int_t)(p->loads ? p->loads : 1)));
    set_str(o, "stripe_js", p->never_fetched ? "never-fetched" : "loads");
    set_str(o, "stripe_js_text", fca_model_page_stripejs(p));
    set_str(o, "first_seen", p->first_ts);
    bool fail = false;
    json_t *card = json_array();
    for (int item = 1; item <= 4; item++) {
      json_t *it = json_object();
      json_object_set_new(it, "item", json_integer(item));
      set_str(it, "title", fca_item_title(item));
      set_str(it, "status", fca_item_status_name(p->items[item].status));
      set_str(it, "why", p->items[item].why);
      json_t *rules = json_array();
      for (size_t i = 0; i < m->nfindings; i++)
        if (m->findings[i].page == k && m->findings[i].item == item)
          json_array_append_new(rules, json_string(m->findings[i].fingerprint));
      json_object_set_new(it, "findings", rules);
      fail |= p->items[item].status == FCA_ITEM_FAIL;
      json_array_append_new(card, it);
    }
    set_str(o, "result", fail ? "fail" : "pass");
    json_object_set_new(o, "scorecard", card);
    json_array_append_new(pages, o);
  }
  json_object_set_new(r, "pages", pages);

  json_t *vs = json_array();
  for (size_t i = 0; i < m->nfindings; i++)
    json_array_append_new(vs, finding_json(m, &m->findings[i]));
  json_object_set_new(r, "violations", vs);

  json_t *notes = json_array();
  for (size_t i = 0; i < m->nnotes; i++) {
    json_t *o = json_object();
    set_str(o, "note", m->notes[i].kind);
    set_str(o, "message", m->notes[i].message);
    set_str(o, "url", m->notes[i].url);
    json_object_set_new(o, "count", json_integer((json_int_t)m->notes[i].count));
    json_array_append_new(notes, o);
  }
  json_object_set_new(r, "notes", notes);
  if (engine) json_object_set_new(r, "engine_summary", engine);
  return r;
}
