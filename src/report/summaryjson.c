/* summaryjson: the JSON form of the typed run summary (fcaudit/checklist.h), written once for
 * the log's summary line and read once for `fcaudit report` / `tail` from logs and Redis. Key
 * names and order are fixed (docs/events.md): tests and other tools read them. */
#include "fcaudit/eventjson.h"

#include <stdlib.h>
#include <string.h>

#include "fcaudit/util.h"

static json_t *counts(fca_count_t c) {
  return json_pack("{s:I,s:I}", "reported", (json_int_t)c.reported, "occurrences",
                   (json_int_t)c.occurrences);
}

static json_t *violations(const fca_summary_t *s) {
  json_t *by_level = json_object(), *by_rule = json_object();
  for (int l = FCA_LEVEL_INFO; l <= FCA_LEVEL_ERROR; l++)
    json_object_set_new(by_level, fca_level_name((fca_level_t)l),
                        counts(s->violations_by_level[l]));
  for (size_t i = 0; i < s->nrules; i++) {
    const fca_rule_counts_t *r = &s->by_rule[i];
    json_t *levels = json_object();
    for (int l = FCA_LEVEL_INFO; l <= FCA_LEVEL_ERROR; l++)
      if (r->by_level[l].occurrences)
        json_object_set_new(levels, fca_level_name((fca_level_t)l), counts(r->by_level[l]));
    json_object_set_new(by_rule, r->rule,
                        json_pack("{s:i,s:I,s:I,s:o}", "item", r->item, "reported",
                                  (json_int_t)r->total.reported, "occurrences",
                                  (json_int_t)r->total.occurrences, "by_level", levels));
  }
  return json_pack("{s:I,s:I,s:o,s:o}", "reported", (json_int_t)s->violations.reported,
                   "occurrences", (json_int_t)s->violations.occurrences, "by_level", by_level,
                   "by_rule", by_rule);
}

static json_t *card_json(const fca_scorecard_t *c) {
  json_t *items = json_object(), *findings = json_object(), *fc = json_array();
  for (int i = 1; i <= FCA_CHECKLIST_ITEMS; i++) {
    const fca_item_result_t *it = &c->items[i];
    if (!(c->items_said & (1u << i))) continue;
    char key[2] = {(char)('0' + i), 0};
    json_t *o = json_pack("{s:s}", "status", fca_item_status_name(it->status));
    if (it->why) json_object_set_new(o, "why", json_string(it->why));
    json_object_set_new(items, key, o);
  }
  for (size_t i = 0; i < c->nfindings; i++)
    json_object_set_new(findings, c->findings[i].rule,
                        json_pack("{s:s,s:I}", "level", fca_level_name(c->findings[i].level),
                                  "count", (json_int_t)c->findings[i].count));
  for (int k = 0; k < FCA_FC_EVIDENCE_KINDS; k++)
    if (c->fc_evidence & (1u << k))
      json_array_append_new(fc, json_string(fca_fc_evidence_names[k]));
  /* A string a log's page did not carry (an older engine's) stays out. */
  return json_pack("{s:I,s:I,s:s*,s:s*,s:b,s:s*,s:s*,s:s*,s:s,s:b,s:I,s:o,s:o,s:o}", "id",
                   (json_int_t)c->id, "loads", (json_int_t)(c->loads ? c->loads : 1), "url", c->url,
                   "client", c->client, "top_level", c->top_level, "tagged_by", c->tagged_by,
                   "confidence", c->confidence, "stripe_js", c->stripe_js, "verdict",
                   c->fail ? "fail" : "pass", "pass_event", c->pass_event, "notes",
                   (json_int_t)c->notes, "items", items, "findings", findings, "fc_evidence", fc);
}

static json_t *test_mode(const fca_test_mode_t *t) {
  json_t *inst = json_object(), *missing = json_array();
  for (size_t i = 0; i < t->ninstitutions; i++) {
    json_object_set_new(inst, t->institutions[i], json_boolean(t->linked[i]));
    if (!t->linked[i]) json_array_append_new(missing, json_string(t->institutions[i]));
  }
  return json_pack("{s:s?,s:s,s:i,s:s?,s:s?,s:s?,s:I,s:I,s:I,s:o,s:o,s:b}", "rule", t->rule,
                   "level", fca_level_name(t->level), "item", t->item, "message", t->message, "fix",
                   t->fix, "doc", t->doc, "api_responses", (json_int_t)t->api_responses,
                   "test_mode_responses", (json_int_t)t->test_mode_responses, "live_mode_responses",
                   (json_int_t)t->live_mode_responses, "institutions", inst, "missing", missing,
                   "complete", t->complete);
}

json_t *fca_summary_to_json(const fca_summary_t *s) {
  if (!s) return NULL;
  json_t *o = json_object(), *pages = json_array();
  json_object_set_new(o, "exchanges", json_integer((json_int_t)s->exchanges));
  json_object_set_new(o, "bytes_inspected", json_integer((json_int_t)s->bytes_inspected));
  if (s->pages_seen >= 0) json_object_set_new(o, "pages_seen", json_integer(s->pages_seen));
  json_object_set_new(o, "pages_tagged", json_integer((json_int_t)s->pages_tagged));
  json_object_set_new(o, "pages_below_min_confidence",
                      json_integer((json_int_t)s->pages_below_min_confidence));
  json_object_set_new(o, "notes", json_integer((json_int_t)s->notes));
  json_object_set_new(o, "violations", violations(s));
  for (size_t i = 0; i < s->npages; i++) json_array_append_new(pages, card_json(&s->pages[i]));
  json_object_set_new(o, "pages", pages);
  json_object_set_new(o, "pages_not_listed", json_integer((json_int_t)s->pages_not_listed));
  if (s->env) json_object_set_new(o, "env", json_string(s->env));
  if (s->min_confidence) json_object_set_new(o, "min_confidence", json_string(s->min_confidence));
  if (s->test_mode.present) json_object_set_new(o, "test_mode", test_mode(&s->test_mode));
  if (s->warning) json_object_set_new(o, "warning", json_string(s->warning));
  const fca_summary_verdict_t *v = &s->verdict;
  if (v->present)
    json_object_set_new(o, "verdict",
                        json_pack("{s:s,s:s?,s:i,s:s?}", "result", v->fail ? "fail" : "pass",
                                  "fail_on", v->fail_on, "exit_code", v->exit_code, "sentence",
                                  v->sentence));
  return o;
}

/* ---- reading ---- */

static const char *jstr(const json_t *o, const char *k) {
  const json_t *v = json_object_get(o, k);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

static uint64_t juint(const json_t *o, const char *k) {
  const json_t *v = json_object_get(o, k);
  return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

static char *dup_or_null(const char *s) { return s ? fca_xstrdup(s) : NULL; }

static void set_str(char **dst, const char *s) {
  free(*dst);
  *dst = dup_or_null(s);
}

static fca_count_t read_counts(const json_t *o) {
  return (fca_count_t){juint(o, "reported"), juint(o, "occurrences")};
}

static void read_violations(fca_summary_t *s, const json_t *v) {
  if (!json_is_object(v)) return;
  s->violations = read_counts(v);
  const json_t *bl = json_object_get(v, "by_level");
  for (int l = FCA_LEVEL_INFO; l <= FCA_LEVEL_ERROR; l++)
    s->violations_by_level[l] = read_counts(json_object_get(bl, fca_level_name((fca_level_t)l)));
  const char *id;
  const json_t *r;
  json_object_foreach((json_t *)json_object_get(v, "by_rule"), id, r) {
    const json_t *it = json_object_get(r, "item");
    fca_rule_counts_t *rc =
        fca_summary_add_rule(s, id, json_is_integer(it) ? (int)json_integer_value(it) : 0);
    rc->total = read_counts(r);
    const char *ln;
    const json_t *c;
    json_object_foreach((json_t *)json_object_get(r, "by_level"), ln, c) {
      fca_level_t l;
      if (fca_level_parse(ln, &l) == 0 && l != FCA_LEVEL_IGNORE) rc->by_level[l] = read_counts(c);
    }
  }
}

/* One item of a page's scorecard: {"1": {"status", "why"}} or [{"item": 1, "status", ...}]. */
static const json_t *card_item(const json_t *card, int item) {
  if (json_is_object(card)) {
    char k[4];
    snprintf(k, sizeof k, "%d", item);
    return json_object_get(card, k);
  }
  size_t i;
  const json_t *v;
  json_array_foreach(card, i, v) {
    const json_t *it = json_object_get(v, "item");
    if (json_is_integer(it) && json_integer_value(it) == item) return v;
  }
  return NULL;
}

static void read_card(fca_summary_t *s, const json_t *pg) {
  if (!json_is_object(pg)) return;
  fca_scorecard_t *c = fca_summary_add_page(s);
  c->id = juint(pg, "id");
  c->loads = juint(pg, "loads");
  if (!c->loads) c->loads = 1; /* a log from before pages combined their loads */
  set_str(&c->url, jstr(pg, "url"));
  set_str(&c->client, jstr(pg, "client"));
  c->top_level = !json_is_false(json_object_get(pg, "top_level"));
  set_str(&c->tagged_by, jstr(pg, "tagged_by"));
  set_str(&c->confidence, jstr(pg, "confidence"));
  set_str(&c->stripe_js, jstr(pg, "stripe_js"));
  const char *verdict = jstr(pg, "verdict");
  c->fail = verdict && strcmp(verdict, "fail") == 0;
  c->pass_event = json_is_true(json_object_get(pg, "pass_event"));
  c->notes = juint(pg, "notes");
  const json_t *card = json_object_get(pg, "items");
  if (!card) card = json_object_get(pg, "scorecard");
  for (int item = 1; item <= FCA_CHECKLIST_ITEMS; item++) {
    const json_t *e = card_item(card, item);
    const json_t *sv = json_is_object(e) ? json_object_get(e, "status") : e;
    fca_item_status_t st;
    if (!fca_item_status_parse(json_string_value(sv), &st)) continue;
    const char *why = jstr(e, "why");
    if (!why) why = jstr(e, "reason");
    fca_item_set(&c->items[item], st, why);
    c->items_said |= 1u << item;
  }
  const char *rule;
  const json_t *f;
  json_object_foreach((json_t *)json_object_get(pg, "findings"), rule, f) {
    fca_level_t l;
    if (!jstr(f, "level") || fca_level_parse(jstr(f, "level"), &l) < 0) continue;
    fca_scorecard_add_finding(c, rule, l, juint(f, "count"));
  }
  size_t i;
  const json_t *k;
  json_array_foreach(json_object_get(pg, "fc_evidence"), i, k) {
    for (int b = 0; b < FCA_FC_EVIDENCE_KINDS; b++)
      if (json_is_string(k) && strcmp(json_string_value(k), fca_fc_evidence_names[b]) == 0)
        c->fc_evidence |= 1u << b;
  }
}

static void read_test_mode(fca_test_mode_t *t, const json_t *o) {
  if (!json_is_object(o)) return;
  t->present = true;
  t->rule = dup_or_null(jstr(o, "rule"));
  fca_level_t l = FCA_LEVEL_IGNORE;
  if (jstr(o, "level")) fca_level_parse(jstr(o, "level"), &l);
  t->level = l;
  const json_t *it = json_object_get(o, "item");
  t->item = json_is_integer(it) ? (int)json_integer_value(it) : 0;
  t->message = dup_or_null(jstr(o, "message"));
  t->fix = dup_or_null(jstr(o, "fix"));
  t->doc = dup_or_null(jstr(o, "doc"));
  t->api_responses = juint(o, "api_responses");
  t->test_mode_responses = juint(o, "test_mode_responses");
  t->live_mode_responses = juint(o, "live_mode_responses");
  const char *name;
  const json_t *v;
  json_object_foreach((json_t *)json_object_get(o, "institutions"), name, v)
      fca_test_mode_add_institution(t, name, json_is_true(v));
  t->complete = json_is_true(json_object_get(o, "complete"));
}

fca_summary_t *fca_summary_from_json(const json_t *o) {
  if (!json_is_object(o)) return NULL;
  fca_summary_t *s = fca_summary_new();
  s->exchanges = juint(o, "exchanges");
  s->bytes_inspected = juint(o, "bytes_inspected");
  const json_t *seen = json_object_get(o, "pages_seen");
  s->pages_seen = json_is_integer(seen) ? (int64_t)json_integer_value(seen) : -1;
  s->pages_tagged = juint(o, "pages_tagged");
  s->pages_below_min_confidence = juint(o, "pages_below_min_confidence");
  s->notes = juint(o, "notes");
  read_violations(s, json_object_get(o, "violations"));
  size_t i;
  const json_t *pg;
  json_array_foreach(json_object_get(o, "pages"), i, pg) read_card(s, pg);
  s->pages_not_listed = juint(o, "pages_not_listed");
  s->env = dup_or_null(jstr(o, "env"));
  s->min_confidence = dup_or_null(jstr(o, "min_confidence"));
  read_test_mode(&s->test_mode, json_object_get(o, "test_mode"));
  s->warning = dup_or_null(jstr(o, "warning"));
  const json_t *v = json_object_get(o, "verdict");
  if (json_is_object(v)) {
    const json_t *ec = json_object_get(v, "exit_code");
    fca_summary_set_verdict(
        s, jstr(v, "result") && !strcmp(jstr(v, "result"), "fail"), jstr(v, "fail_on"),
        json_is_integer(ec) ? (int)json_integer_value(ec) : 0, jstr(v, "sentence"));
  }
  return s;
}
