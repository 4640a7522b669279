/* Tests for rules.c, the way a finding becomes an event: nothing for a page that is not
 * announced; each (rule, evidence) fires once per page; the same finding on another load of
 * the same URL (query ignored) is reported once and counted always (or reported again, with its
 * count, without dedup); the ruleset's level decides (ignore: nothing at all; warning and error
 * fail the checklist item, info does not). */
#include <criterion/criterion.h>

#include "audit_capture.h"
#include "engine.h"
#include "fcaudit/ruleset.h"
#include "rules.h"

static capture_t cap;
static fca_audit_t *a;
static fca_ruleset_t *rs;
static uint64_t next_id;

static void start(bool dedup) {
  cap_init(&cap);
  rs = fca_ruleset_new();
  fca_audit_opts_t o = {
      .emit = cap_fn, .emit_ud = &cap, .dedup = dedup, .env = "staging", .rules = rs};
  a = fca_audit_new(&o);
  next_id = 1;
}
static void setup(void) { start(true); }
static void teardown(void) {
  fca_audit_free(a);
  fca_ruleset_free(rs);
  cap_free(&cap);
}

/* An announced top-level page with a scorecard, as tagging leaves it. */
static fca_page_t *announced(const char *url) {
  fca_page_t *p = fca_page_new(next_id++, url, "127.0.0.1:5000", "127.0.0.1", NULL, true, 1000);
  p->announced = true;
  p->card = fca_card_new(a, p);
  return p;
}

static void fire(fca_page_t *p, fca_rule_id_t rule, const char *value) {
  fca_page_ev_t ev = {0};
  fca_page_ev_set(&ev, value, strlen(value), -1, NULL);
  fca_rules_fire(a, p, rule, value, &ev, "header", "Cross-Origin-Opener-Policy");
  fca_page_ev_clear(&ev);
}

TestSuite(rules, .init = setup, .fini = teardown);

Test(rules, nothing_for_a_page_not_announced) {
  fca_page_t *p = fca_page_new(next_id++, "https://shop.test/", "c", "c", NULL, true, 1000);
  fire(p, FCA_RULE_COOP_1, "same-origin");
  cr_assert_eq(cap.n, 0);
  fca_page_unref(p);
}

Test(rules, once_per_page_and_evidence) {
  fca_page_t *p = announced("https://shop.test/checkout");
  fire(p, FCA_RULE_COOP_1, "same-origin");
  fire(p, FCA_RULE_COOP_1, "same-origin");
  cr_assert_eq(cap_count(&cap, FCA_EV_VIOLATION, "FC-COOP-1"), 1);
  cr_assert_eq(a->occurrences[FCA_RULE_COOP_1][FCA_LEVEL_ERROR], 1, "a repeat is not new");
  fire(p, FCA_RULE_COOP_1, "same-origin-allow-popups;x"); /* other evidence: a new finding */
  cr_assert_eq(cap_count(&cap, FCA_EV_VIOLATION, "FC-COOP-1"), 2);
  fca_page_unref(p);
}

Test(rules, other_loads_of_the_url_are_counted_not_repeated) {
  fca_page_t *p1 = announced("https://shop.test/checkout?session=1");
  fca_page_t *p2 = announced("https://shop.test/checkout?session=2");
  fire(p1, FCA_RULE_COOP_1, "same-origin");
  fire(p2, FCA_RULE_COOP_1, "same-origin");
  cr_assert_eq(cap_count(&cap, FCA_EV_VIOLATION, "FC-COOP-1"), 1);
  cr_assert_eq(a->occurrences[FCA_RULE_COOP_1][FCA_LEVEL_ERROR], 2);
  cr_assert_eq(a->reported[FCA_RULE_COOP_1][FCA_LEVEL_ERROR], 1);
  cr_assert_eq(p2->card->count[FCA_RULE_COOP_1], 1, "the second page's scorecard counts it");
  fca_page_unref(p1);
  fca_page_unref(p2);
}

Test(rules, without_dedup_every_load_reports_with_its_count, .init = NULL) {
  start(false);
  fca_page_t *p1 = announced("https://shop.test/checkout?session=1");
  fca_page_t *p2 = announced("https://shop.test/checkout?session=2");
  fire(p1, FCA_RULE_COOP_1, "same-origin");
  fire(p2, FCA_RULE_COOP_1, "same-origin");
  cr_assert_eq(cap_count(&cap, FCA_EV_VIOLATION, "FC-COOP-1"), 2);
  cr_assert_eq(cap.ev[1].count, 2);
  fca_page_unref(p1);
  fca_page_unref(p2);
}

Test(rules, the_ruleset_level_decides) {
  char err[128];
  cr_assert_eq(fca_ruleset_apply_cli(rs, "FC-COOP-1=ignore", err, sizeof err), 0, "%s", err);
  cr_assert_eq(fca_ruleset_apply_cli(rs, "FC-REF-1=info", err, sizeof err), 0, "%s", err);
  fca_page_t *p = announced("https://shop.test/checkout");
  fire(p, FCA_RULE_COOP_1, "same-origin");
  cr_assert_eq(cap.n, 0, "an ignored rule produced an event");
  cr_assert_eq(a->occurrences[FCA_RULE_COOP_1][FCA_LEVEL_IGNORE], 0);
  cr_assert_eq(p->card->items[1].status, FCA_ITEM_NA);
  fire(p, FCA_RULE_REF_1, "no-referrer");
  const cap_event_t *e = cap_find(&cap, FCA_EV_VIOLATION, "FC-REF-1");
  cr_assert_not_null(e);
  cr_assert_eq(e->level, FCA_LEVEL_INFO);
  cr_assert_eq(p->card->items[2].status, FCA_ITEM_NA, "an info finding does not fail its item");
  fca_page_unref(p);
}

Test(rules, an_error_fails_its_item_and_keeps_the_first_reason) {
  fca_page_t *p = announced("https://shop.test/checkout");
  fca_rules_item_pass(p, 1, "looked fine so far");
  cr_assert_eq(p->card->items[1].status, FCA_ITEM_PASS);
  fire(p, FCA_RULE_COOP_1, "same-origin");
  cr_assert_eq(p->card->items[1].status, FCA_ITEM_FAIL);
  cr_assert(strstr(p->card->items[1].why, "FC-COOP-1") != NULL, "%s", p->card->items[1].why);
  fca_rules_item_pass(p, 1, "too late");
  cr_assert_eq(p->card->items[1].status, FCA_ITEM_FAIL, "a pass undid a failure");
  cr_assert_eq(p->worst, FCA_LEVEL_ERROR);
  fca_page_unref(p);
}

Test(rules, notes_are_deduplicated_per_url) {
  fca_page_t *p1 = announced("https://shop.test/a?x=1");
  fca_page_t *p2 = announced("https://shop.test/a?x=2");
  fca_rules_note(a, p1, NULL, "audit-incomplete", "body larger than --max-audit-bytes");
  fca_rules_note(a, p2, NULL, "audit-incomplete", "body larger than --max-audit-bytes");
  cr_assert_eq(cap_count(&cap, FCA_EV_NOTE, NULL), 1);
  cr_assert_eq(p2->card->notes, 1);
  fca_rules_note(a, NULL, "127.0.0.1:5000", "audit-incomplete", "no page");
  cr_assert_eq(cap_count(&cap, FCA_EV_NOTE, NULL), 2, "a note without a page always goes out");
  fca_page_unref(p1);
  fca_page_unref(p2);
}
