/* summary: the typed end-of-run summary (fcaudit/checklist.h): run counters, violations by rule
 * and level, item 4's test-mode coverage, each tagged page's scorecard and the verdict. Built by
 * the audit engine, carried by its summary event, read back from logs by the report layer. */
#include "fcaudit/checklist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcaudit/strmap.h"
#include "fcaudit/util.h"

const char *const fca_fc_evidence_names[FCA_FC_EVIDENCE_KINDS] = {"fc-method",
                                                                  "linked-accounts-inner", "api"};

static char *dup_or_null(const char *s) { return s ? fca_xstrdup(s) : NULL; }

fca_summary_t *fca_summary_new(void) {
  fca_summary_t *s = fca_xcalloc(1, sizeof *s);
  s->pages_seen = -1;
  return s;
}

static void free_card(fca_scorecard_t *c) {
  free(c->url), free(c->client), free(c->tagged_by), free(c->confidence), free(c->stripe_js);
  for (int i = 0; i <= FCA_CHECKLIST_ITEMS; i++) fca_item_clear(&c->items[i]);
  for (size_t i = 0; i < c->nfindings; i++) free(c->findings[i].rule);
  free(c->findings);
}

static void free_test_mode(fca_test_mode_t *t) {
  free(t->rule), free(t->message), free(t->fix), free(t->doc);
  for (size_t i = 0; i < t->ninstitutions; i++) free(t->institutions[i]);
}

void fca_summary_free(fca_summary_t *s) {
  if (!s) return;
  for (size_t i = 0; i < s->npages; i++) free_card(&s->pages[i]);
  free(s->pages);
  for (size_t i = 0; i < s->nrules; i++) free(s->by_rule[i].rule);
  free(s->by_rule);
  free(s->env), free(s->min_confidence), free(s->warning);
  free_test_mode(&s->test_mode);
  free(s->verdict.fail_on), free(s->verdict.sentence);
  free(s);
}

static void copy_card(fca_scorecard_t *d, const fca_scorecard_t *c) {
  *d = *c;
  d->url = dup_or_null(c->url), d->client = dup_or_null(c->client);
  d->tagged_by = dup_or_null(c->tagged_by), d->confidence = dup_or_null(c->confidence);
  d->stripe_js = dup_or_null(c->stripe_js);
  for (int i = 0; i <= FCA_CHECKLIST_ITEMS; i++) {
    d->items[i] = (fca_item_result_t){0};
    fca_item_copy(&d->items[i], &c->items[i]);
  }
  d->findings = NULL;
  d->nfindings = 0;
  for (size_t i = 0; i < c->nfindings; i++)
    fca_scorecard_add_finding(d, c->findings[i].rule, c->findings[i].level, c->findings[i].count);
}

static void copy_test_mode(fca_test_mode_t *d, const fca_test_mode_t *t) {
  *d = *t;
  d->rule = dup_or_null(t->rule), d->message = dup_or_null(t->message);
  d->fix = dup_or_null(t->fix), d->doc = dup_or_null(t->doc);
  for (size_t i = 0; i < t->ninstitutions; i++)
    d->institutions[i] = fca_xstrdup(t->institutions[i]);
}

static void copy_verdict(fca_summary_verdict_t *d, const fca_summary_verdict_t *v) {
  *d = *v;
  d->fail_on = dup_or_null(v->fail_on);
  d->sentence = dup_or_null(v->sentence);
}

static void append_pages(fca_summary_t *into, const fca_summary_t *from) {
  if (!from->npages) return;
  into->pages = fca_xrealloc(into->pages, (into->npages + from->npages) * sizeof *into->pages);
  for (size_t i = 0; i < from->npages; i++)
    copy_card(&into->pages[into->npages++], &from->pages[i]);
}

fca_summary_t *fca_summary_copy(const fca_summary_t *s) {
  if (!s) return NULL;
  fca_summary_t *d = fca_xcalloc(1, sizeof *d);
  *d = *s;
  d->pages = NULL, d->npages = 0;
  append_pages(d, s);
  d->by_rule = s->nrules ? fca_xcalloc(s->nrules, sizeof *d->by_rule) : NULL;
  for (size_t i = 0; i < s->nrules; i++) {
    d->by_rule[i] = s->by_rule[i];
    d->by_rule[i].rule = fca_xstrdup(s->by_rule[i].rule);
  }
  d->env = dup_or_null(s->env), d->min_confidence = dup_or_null(s->min_confidence);
  d->warning = dup_or_null(s->warning);
  copy_test_mode(&d->test_mode, &s->test_mode);
  copy_verdict(&d->verdict, &s->verdict);
  return d;
}

fca_scorecard_t *fca_summary_add_page(fca_summary_t *s) {
  s->pages = fca_xrealloc(s->pages, (s->npages + 1) * sizeof *s->pages);
  fca_scorecard_t *c = &s->pages[s->npages++];
  memset(c, 0, sizeof *c);
  c->url = fca_xstrdup(""), c->client = fca_xstrdup("");
  c->tagged_by = fca_xstrdup(""), c->confidence = fca_xstrdup("");
  c->stripe_js = fca_xstrdup("unknown");
  return c;
}

void fca_scorecard_add_finding(fca_scorecard_t *c, const char *rule, fca_level_t level,
                               uint64_t count) {
  c->findings = fca_xrealloc(c->findings, (c->nfindings + 1) * sizeof *c->findings);
  c->findings[c->nfindings++] = (fca_card_finding_t){fca_xstrdup(rule), level, count};
}

fca_rule_counts_t *fca_summary_add_rule(fca_summary_t *s, const char *rule, int item) {
  s->by_rule = fca_xrealloc(s->by_rule, (s->nrules + 1) * sizeof *s->by_rule);
  fca_rule_counts_t *r = &s->by_rule[s->nrules++];
  memset(r, 0, sizeof *r);
  r->rule = fca_xstrdup(rule);
  r->item = item;
  return r;
}

void fca_test_mode_add_institution(fca_test_mode_t *t, const char *name, bool linked) {
  if (t->ninstitutions >= FCA_TEST_INSTITUTIONS_MAX) return;
  t->institutions[t->ninstitutions] = fca_xstrdup(name);
  t->linked[t->ninstitutions++] = linked;
}

void fca_summary_merge(fca_summary_t *into, const fca_summary_t *more) {
  into->exchanges += more->exchanges;
  into->bytes_inspected += more->bytes_inspected;
  if (more->pages_seen >= 0)
    into->pages_seen = (into->pages_seen >= 0 ? into->pages_seen : 0) + more->pages_seen;
  into->pages_tagged += more->pages_tagged;
  into->pages_below_min_confidence += more->pages_below_min_confidence;
  into->notes += more->notes;
  into->pages_not_listed += more->pages_not_listed;
  append_pages(into, more);
  if (!into->env) into->env = dup_or_null(more->env);
  if (!into->min_confidence) into->min_confidence = dup_or_null(more->min_confidence);
  if (!into->warning) into->warning = dup_or_null(more->warning);
  if (!into->test_mode.present && more->test_mode.present)
    copy_test_mode(&into->test_mode, &more->test_mode);
  if (!into->verdict.present && more->verdict.present) copy_verdict(&into->verdict, &more->verdict);
}

void fca_summary_set_verdict(fca_summary_t *s, bool fail, const char *fail_on, int exit_code,
                             const char *sentence) {
  free(s->verdict.fail_on), free(s->verdict.sentence);
  s->verdict =
      (fca_summary_verdict_t){true, fail, dup_or_null(fail_on), exit_code, dup_or_null(sentence)};
}

char *fca_test_mode_line(const fca_test_mode_t *t) {
  if (!t || !t->present) return NULL;
  char seen[512] = "", missing[512] = "";
  for (size_t i = 0; i < t->ninstitutions; i++) {
    char *dst = t->linked[i] ? seen : missing;
    size_t l = strlen(dst);
    snprintf(dst + l, sizeof seen - l, "%s%s", l ? ", " : "", t->institutions[i]);
  }
  return fca_xasprintf("test-mode institutions seen linked: %s; missing: %s; Stripe API "
                       "responses: %llu in test mode, %llu live",
                       *seen ? seen : "none", *missing ? missing : "none",
                       (unsigned long long)t->test_mode_responses,
                       (unsigned long long)t->live_mode_responses);
}

size_t fca_summary_pages_by_url(const fca_summary_t *s) {
  fca_strmap_t seen; /* URL without query -> bit 1: a top-level page, bit 2: a frame */
  fca_strmap_init(&seen, s->npages, false);
  size_t n = 0;
  for (size_t i = 0; i < s->npages; i++) {
    const fca_scorecard_t *c = &s->pages[i];
    if (!c->url) continue;
    char *key = fca_url_without_query(c->url);
    fca_strmap_entry_t *e = fca_strmap_puts(&seen, key, NULL);
    uint64_t bit = c->top_level ? 1u : 2u;
    if (!(e->num & bit)) n++;
    e->num |= bit;
    free(key);
  }
  fca_strmap_destroy(&seen, NULL);
  return n;
}
