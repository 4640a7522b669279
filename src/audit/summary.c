/* summary: scorecards of tagged pages (created when a page is first announced, shared by its
 * later loads, kept after the registry forgets the page) and the typed end-of-run summary handed to
 * the outputs in the summary event (fca_summary_t, fcaudit/checklist.h; its JSON form is in
 * docs/audit.md). An item no rule decided is said in the checklist's words
 * (fca_item_undecided_why). Built under the audit lock. */
#include "clientkey.h"
#include "engine.h"
#include "fcaudit/util.h"

#include <stdlib.h>
#include <string.h>

static unsigned fc_kinds_of(const fca_page_t *p) {
  unsigned k = 0;
  for (size_t i = 0; i < p->nfc; i++) /* evidence recorded before the page was tagged */
    k |= !strcmp(p->fc[i].kind, "fc-method")               ? 1u
         : !strcmp(p->fc[i].kind, "linked-accounts-inner") ? 2u
                                                           : 4u;
  return k;
}

static const char *stripe_js_of(const fca_page_t *p) {
  return p->tagged_by == FCA_TAG_SCRIPT_REQUEST ? "fetched"
         : p->js_noted                          ? "never-fetched"
         : p->js_fetched                        ? "fetched"
         : p->js_cached                         ? "cached"
                                                : "unknown";
}

/* Another load of a page that has its card: the card takes it in. */
static fca_card_t *another_load(fca_card_t *c, const fca_page_t *p) {
  if (c->loads < UINT32_MAX) c->loads++;
  if (fca_tag_strength(p->tagged_by, p->confidence) >
      fca_tag_strength(c->tagged_by, c->confidence)) {
    c->tagged_by = p->tagged_by;
    c->confidence = p->confidence;
  }
  /* A load that has said nothing yet ("unknown") leaves the card's word as it is. */
  const char *js = stripe_js_of(p);
  if (strcmp(js, "unknown") != 0) c->stripe_js = js;
  c->fc_kinds |= fc_kinds_of(p);
  return c;
}

fca_card_t *fca_card_new(fca_audit_t *a, const fca_page_t *p) {
  fca_strmap_t *keys = &a->card_keys[p->top_level]; /* a page and a frame of it: two cards */
  fca_clientkey_t kb;
  const char *key = fca_clientkey(&kb, p->client_id, p->url);
  fca_strmap_entry_t *e = fca_strmap_gets(keys, key);
  fca_card_t *c = e ? another_load(e->val, p) : NULL;
  if (!c && a->ncards >= FCA_AUDIT_CARDS_MAX) {
    a->cards_dropped++;
  } else if (!c) {
    c = fca_xcalloc(1, sizeof *c);
    c->page_id = p->id;
    c->loads = 1;
    c->url = fca_xstrdup(p->url);
    c->client = fca_xstrdup(p->client);
    c->top_level = p->top_level;
    c->tagged_by = p->tagged_by;
    c->confidence = p->confidence;
    c->stripe_js = stripe_js_of(p);
    c->fc_kinds = fc_kinds_of(p);
    *a->cards_tail = c;
    a->cards_tail = &c->next;
    a->ncards++;
    fca_strmap_puts(keys, key, NULL)->val = c;
  }
  fca_clientkey_done(&kb);
  return c;
}

void fca_card_free(fca_card_t *c) {
  if (!c) return;
  for (int i = 0; i <= FCA_CHECKLIST_ITEMS; i++) fca_item_clear(&c->items[i]);
  free(c->url);
  free(c->client);
  free(c);
}

static void violations(const fca_audit_t *a, fca_summary_t *s) {
  for (int r = 0; r < FCA_RULE_COUNT; r++) {
    uint64_t ro = 0;
    for (int l = FCA_LEVEL_INFO; l <= FCA_LEVEL_ERROR; l++) ro += a->occurrences[r][l];
    if (!ro) continue;
    const fca_rule_info_t *info = fca_rule_get((fca_rule_id_t)r);
    fca_rule_counts_t *rc = fca_summary_add_rule(s, info->id, info->item);
    for (int l = FCA_LEVEL_INFO; l <= FCA_LEVEL_ERROR; l++) {
      if (!a->occurrences[r][l]) continue;
      rc->by_level[l] = (fca_count_t){a->reported[r][l], a->occurrences[r][l]};
      rc->total.reported += a->reported[r][l];
      rc->total.occurrences += a->occurrences[r][l];
      s->violations_by_level[l].reported += a->reported[r][l];
      s->violations_by_level[l].occurrences += a->occurrences[r][l];
    }
    s->violations.reported += rc->total.reported;
    s->violations.occurrences += rc->total.occurrences;
  }
}

static void scorecard(const fca_card_t *c, fca_summary_t *s) {
  fca_scorecard_t *sc = fca_summary_add_page(s);
  sc->id = c->page_id;
  sc->loads = c->loads;
  free(sc->url), free(sc->client), free(sc->tagged_by), free(sc->confidence), free(sc->stripe_js);
  sc->url = fca_xstrdup(c->url);
  sc->client = fca_xstrdup(c->client);
  sc->top_level = c->top_level;
  const char *tb = fca_tag_kind_name(c->tagged_by), *cf = fca_confidence_name(c->confidence);
  sc->tagged_by = fca_xstrdup(tb ? tb : "");
  sc->confidence = fca_xstrdup(cf ? cf : "");
  sc->stripe_js = fca_xstrdup(c->stripe_js ? c->stripe_js : "unknown");
  sc->pass_event = c->passed;
  sc->notes = c->notes;
  for (int i = 1; i <= FCA_CHECKLIST_ITEMS; i++) {
    fca_item_set(&sc->items[i], c->items[i].status,
                 c->items[i].why ? c->items[i].why : fca_item_undecided_why(i, c->top_level));
    sc->items_said |= 1u << i;
  }
  for (int r = 0; r < FCA_RULE_COUNT; r++) {
    if (!c->count[r]) continue;
    if (c->level[r] >= FCA_LEVEL_WARNING) sc->fail = true;
    fca_scorecard_add_finding(sc, fca_rule_get((fca_rule_id_t)r)->id, (fca_level_t)c->level[r],
                              c->count[r]);
  }
  sc->fc_evidence = c->fc_kinds;
}

static void test_mode(const fca_audit_t *a, fca_level_t level, fca_test_mode_t *t) {
  char seen[256] = "";
  for (int i = 0; i < FCA_TEST_INSTITUTIONS; i++) {
    bool linked = a->institutions & (1u << i);
    fca_test_mode_add_institution(t, fca_test_institutions[i], linked);
    if (linked) {
      if (*seen) strcat(seen, ", ");
      strcat(seen, fca_test_institutions[i]);
    }
  }
  const fca_rule_info_t *info = fca_rule_get(FCA_RULE_TEST_2);
  t->present = true;
  t->rule = fca_xstrdup(info->id);
  t->level = level;
  t->item = info->item;
  t->message = fca_rule_message(info, *seen ? seen : "none");
  t->fix = fca_xstrdup(info->fix);
  t->doc = fca_xstrdup(info->doc);
  t->api_responses = a->api_responses;
  t->test_mode_responses = a->api_test;
  t->live_mode_responses = a->api_live;
  t->complete = a->institutions == (1u << FCA_TEST_INSTITUTIONS) - 1;
}

fca_summary_t *fca_summary_build(fca_audit_t *a) {
  fca_summary_t *s = fca_summary_new();
  s->exchanges = atomic_load(&a->exchanges);
  s->bytes_inspected = atomic_load(&a->bytes_inspected);
  s->pages_seen = (int64_t)a->pages_seen;
  s->pages_tagged = a->pages_tagged;
  s->pages_below_min_confidence = a->pages_below_confidence;
  s->notes = a->notes;
  violations(a, s);
  for (const fca_card_t *c = a->cards; c; c = c->next) scorecard(c, s);
  s->pages_not_listed = a->cards_dropped;
  s->env = a->env ? fca_xstrdup(a->env) : NULL;
  s->min_confidence = fca_xstrdup(a->o.min_confidence_high ? "high" : "medium");
  fca_level_t l2 = fca_ruleset_level_of(a->o.rules, FCA_RULE_TEST_2, NULL);
  if (l2 != FCA_LEVEL_IGNORE) test_mode(a, l2, &s->test_mode);
  if (a->pages_tagged == 0) s->warning = fca_xstrdup(FCA_SUMMARY_NO_TAG_WARNING);
  return s;
}
