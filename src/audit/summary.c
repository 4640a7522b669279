/* summary: scorecards of tagged pages (created when a page is announced, kept after the
 * registry forgets the page) and the end-of-run summary object handed to the outputs as a
 * jansson json_t* (documented in docs/audit.md). Built under the audit lock. */
#include "engine.h"
#include "fcaudit/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define NO_TAG_WARNING                                                                             \
  "no page loaded Stripe.js: the flow under test probably never reached a Stripe page"

/* Why an item is n/a on a page, when no rule made it pass or fail. */
static const char *item_na(int item, bool top_level) {
  switch (item) {
  case 1: return top_level ? "not evaluated" : "top-level page not known";
  case 2:
    return top_level ? "referrer policy not judged (opaque origin: see item 3)"
                     : "framed page: the referrer policy is judged on the top-level page";
  case 3:
    return top_level ? "not framed, no CSP sandbox"
                     : "iframe not seen in a parent's HTML (created by script?): sandbox unknown";
  default: return "no publishable key seen";
  }
}

fca_card_t *fca_card_new(fca_audit_t *a, const fca_page_t *p) {
  if (a->ncards >= FCA_AUDIT_CARDS_MAX) {
    a->cards_dropped++;
    return NULL;
  }
  fca_card_t *c = fca_xcalloc(1, sizeof *c);
  c->page_id = p->id;
  c->url = fca_xstrdup(p->url);
  c->client = fca_xstrdup(p->client);
  c->top_level = p->top_level;
  c->tagged_by = p->tagged_by;
  c->confidence = p->confidence;
  c->stripe_js = p->tagged_by == FCA_TAG_SCRIPT_REQUEST ? "fetched"
                 : p->js_noted                          ? "never-fetched"
                 : p->js_fetched                        ? "fetched"
                 : p->js_cached                         ? "cached"
                                                        : "unknown";
  for (size_t i = 0; i < p->nfc; i++) /* evidence recorded before the page was tagged */
    c->fc_kinds |= !strcmp(p->fc[i].kind, "fc-method")               ? 1u
                   : !strcmp(p->fc[i].kind, "linked-accounts-inner") ? 2u
                                                                     : 4u;
  *a->cards_tail = c;
  a->cards_tail = &c->next;
  a->ncards++;
  return c;
}

void fca_card_free(fca_card_t *c) {
  if (!c) return;
  for (int i = 0; i < 5; i++) free(c->why[i]);
  free(c->url);
  free(c->client);
  free(c);
}

static json_t *counts(uint64_t reported, uint64_t occurrences) {
  return json_pack("{s:I,s:I}", "reported", (json_int_t)reported, "occurrences",
                   (json_int_t)occurrences);
}

static json_t *violations(const fca_audit_t *a) {
  json_t *by_rule = json_object(), *by_level = json_object();
  uint64_t lr[4] = {0}, lo[4] = {0}, tr = 0, to = 0;
  for (int r = 0; r < FCA_RULE_COUNT; r++) {
    uint64_t rr = 0, ro = 0;
    json_t *levels = json_object();
    for (int l = FCA_LEVEL_INFO; l <= FCA_LEVEL_ERROR; l++) {
      if (!a->occurrences[r][l]) continue;
      json_object_set_new(levels, fca_level_name((fca_level_t)l),
                          counts(a->reported[r][l], a->occurrences[r][l]));
      rr += a->reported[r][l];
      ro += a->occurrences[r][l];
      lr[l] += a->reported[r][l];
      lo[l] += a->occurrences[r][l];
    }
    if (!ro) {
      json_decref(levels);
      continue;
    }
    const fca_rule_info_t *info = fca_rule_get((fca_rule_id_t)r);
    json_object_set_new(by_rule, info->id,
                        json_pack("{s:i,s:I,s:I,s:o}", "item", info->item, "reported",
                                  (json_int_t)rr, "occurrences", (json_int_t)ro, "by_level",
                                  levels));
    tr += rr;
    to += ro;
  }
  for (int l = FCA_LEVEL_INFO; l <= FCA_LEVEL_ERROR; l++)
    json_object_set_new(by_level, fca_level_name((fca_level_t)l), counts(lr[l], lo[l]));
  return json_pack("{s:I,s:I,s:o,s:o}", "reported", (json_int_t)tr, "occurrences", (json_int_t)to,
                   "by_level", by_level, "by_rule", by_rule);
}

static json_t *card_json(const fca_card_t *c) {
  json_t *items = json_object(), *findings = json_object(), *fc = json_array();
  bool fail = false;
  for (int i = 1; i <= 4; i++) {
    const char *why = c->why[i] ? c->why[i] : item_na(i, c->top_level);
    char key[2] = {(char)('0' + i), 0};
    json_object_set_new(
        items, key,
        json_pack("{s:s,s:s}", "status", fca_item_status_name(c->state[i]), "why", why));
  }
  for (int r = 0; r < FCA_RULE_COUNT; r++) {
    if (!c->count[r]) continue;
    if (c->level[r] >= FCA_LEVEL_WARNING) fail = true;
    json_object_set_new(findings, fca_rule_get((fca_rule_id_t)r)->id,
                        json_pack("{s:s,s:I}", "level", fca_level_name(c->level[r]), "count",
                                  (json_int_t)c->count[r]));
  }
  static const char *const kinds[] = {"fc-method", "linked-accounts-inner", "api"};
  for (int k = 0; k < 3; k++)
    if (c->fc_kinds & (1u << k)) json_array_append_new(fc, json_string(kinds[k]));
  const char *tb = fca_tag_kind_name(c->tagged_by), *cf = fca_confidence_name(c->confidence);
  return json_pack("{s:I,s:s,s:s,s:b,s:s,s:s,s:s,s:s,s:b,s:I,s:o,s:o,s:o}", "id",
                   (json_int_t)c->page_id, "url", c->url, "client", c->client, "top_level",
                   c->top_level, "tagged_by", tb ? tb : "", "confidence", cf ? cf : "",
                   "stripe_js", c->stripe_js ? c->stripe_js : "unknown", "verdict",
                   fail ? "fail" : "pass", "pass_event", c->passed, "notes", (json_int_t)c->notes,
                   "items", items, "findings", findings, "fc_evidence", fc);
}

static json_t *test_mode(const fca_audit_t *a, fca_level_t level) {
  json_t *inst = json_object(), *missing = json_array();
  char seen[256] = "";
  for (int i = 0; i < FCA_TEST_INSTITUTIONS; i++) {
    bool s = a->institutions & (1u << i);
    json_object_set_new(inst, fca_test_institutions[i], json_boolean(s));
    if (!s) json_array_append_new(missing, json_string(fca_test_institutions[i]));
    if (s) {
      if (*seen) strcat(seen, ", ");
      strcat(seen, fca_test_institutions[i]);
    }
  }
  const fca_rule_info_t *info = fca_rule_get(FCA_RULE_TEST_2);
  char *msg = fca_rule_message(info, *seen ? seen : "none");
  json_t *j = json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:I,s:I,s:I,s:o,s:o,s:b}", "rule", info->id,
                        "level", fca_level_name(level), "item", info->item, "message", msg, "fix",
                        info->fix, "doc", info->doc, "api_responses", (json_int_t)a->api_responses,
                        "test_mode_responses", (json_int_t)a->api_test, "live_mode_responses",
                        (json_int_t)a->api_live, "institutions", inst, "missing", missing,
                        "complete", a->institutions == (1u << FCA_TEST_INSTITUTIONS) - 1);
  free(msg);
  return j;
}

void *fca_summary_build(fca_audit_t *a) {
  json_t *pages = json_array();
  for (const fca_card_t *c = a->cards; c; c = c->next) json_array_append_new(pages, card_json(c));
  json_t *s = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:I}", "exchanges",
                        (json_int_t)atomic_load(&a->exchanges), "bytes_inspected",
                        (json_int_t)atomic_load(&a->bytes_inspected), "pages_seen",
                        (json_int_t)a->pages_seen, "pages_tagged", (json_int_t)a->pages_tagged,
                        "pages_below_min_confidence", (json_int_t)a->pages_below_confidence,
                        "notes", (json_int_t)a->notes, "violations", violations(a), "pages", pages,
                        "pages_not_listed", (json_int_t)a->cards_dropped);
  json_object_set_new(s, "env", json_string(a->env));
  json_object_set_new(s, "min_confidence",
                      json_string(a->o.min_confidence_high ? "high" : "medium"));
  fca_level_t l2 = fca_ruleset_level_of(a->o.rules, FCA_RULE_TEST_2, NULL);
  if (l2 != FCA_LEVEL_IGNORE) json_object_set_new(s, "test_mode", test_mode(a, l2));
  if (a->pages_tagged == 0) json_object_set_new(s, "warning", json_string(NO_TAG_WARNING));
  return s;
}
