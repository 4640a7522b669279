/* Tests for the checklist's decisions on one page: the engine's first failing finding keeps the
 * words and a pass never undoes a failure; an item nothing decided is n/a (or passes) by the
 * rules' scope, in the words every output shows; the page's findings decide last; several
 * documents of one page combine to the worst state. And the typed summary: copy, fleet merge,
 * the test-mode line. */
#include <criterion/criterion.h>

#include "fcaudit/checklist.h"

#include <stdlib.h>
#include <string.h>

Test(scorecard, first_failure_keeps_its_words_and_a_pass_does_not_undo_it) {
  fca_item_result_t r = {0};
  fca_item_pass_by(&r, "COOP same-origin-allow-popups");
  cr_assert_eq(r.status, FCA_ITEM_PASS);
  cr_assert_str_eq(r.why, "COOP same-origin-allow-popups");
  fca_item_pass_by(&r, "a second judgement");
  cr_assert_str_eq(r.why, "COOP same-origin-allow-popups", "the first pass keeps its words");
  fca_item_fail_by(&r, "FC-COOP-1", "COOP same-origin blocks the popup");
  cr_assert_eq(r.status, FCA_ITEM_FAIL);
  cr_assert_str_eq(r.why, "FC-COOP-1: COOP same-origin blocks the popup");
  fca_item_fail_by(&r, "FC-COOP-2", "later");
  cr_assert_str_eq(r.why, "FC-COOP-1: COOP same-origin blocks the popup");
  fca_item_pass_by(&r, "fine after all");
  cr_assert_eq(r.status, FCA_ITEM_FAIL, "a pass undid a failure");
  fca_item_fail_by(&r, "FC-X", NULL);
  fca_item_clear(&r);
  cr_assert_eq(r.status, FCA_ITEM_NA);
  cr_assert_null(r.why);
  fca_item_fail_by(&r, "FC-REF-1", NULL);
  cr_assert_str_eq(r.why, "FC-REF-1: ");
  fca_item_clear(&r);
}

Test(scorecard, undecided_items_by_scope) {
  /* The engine's words when no rule decided an item (its summary's scorecard). */
  cr_assert_str_eq(fca_item_undecided_why(1, true), "not evaluated");
  cr_assert_str_eq(fca_item_undecided_why(1, false), "top-level page not known");
  cr_assert_str_eq(fca_item_undecided_why(2, true),
                   "referrer policy not judged (opaque origin: see item 3)");
  cr_assert_str_eq(fca_item_undecided_why(2, false),
                   "framed page: the referrer policy is judged on the top-level page");
  cr_assert_str_eq(fca_item_undecided_why(3, true), "not framed, no CSP sandbox");
  cr_assert_str_eq(fca_item_undecided_why(3, false),
                   "iframe not seen in a parent's HTML (created by script?): sandbox unknown");
  cr_assert_str_eq(fca_item_undecided_why(4, true), FCA_ITEM4_NO_KEY);
  cr_assert_str_eq(fca_item_undecided_why(4, false), FCA_ITEM4_NO_KEY);
}

static void expect_nothing_found(int item, bool top, fca_item_status_t st, const char *why) {
  fca_item_result_t r = {0};
  fca_item_set(&r, FCA_ITEM_FAIL, "stale words");
  fca_item_nothing_found(&r, item, top);
  cr_assert_eq(r.status, st, "item %d %s", item, top ? "top" : "framed");
  cr_assert_str_eq(r.why, why);
  fca_item_clear(&r);
}

Test(scorecard, nothing_found_before_the_engine_says) {
  expect_nothing_found(1, true, FCA_ITEM_PASS, "no Cross-Origin-Opener-Policy finding");
  expect_nothing_found(1, false, FCA_ITEM_PASS,
                       "no Cross-Origin-Opener-Policy finding on its top-level page");
  expect_nothing_found(2, true, FCA_ITEM_PASS, "no referrer policy finding");
  expect_nothing_found(2, false, FCA_ITEM_NA,
                       "framed page: the referrer policy is judged on the top-level page");
  expect_nothing_found(3, true, FCA_ITEM_NA, "not framed, no CSP sandbox");
  expect_nothing_found(3, false, FCA_ITEM_PASS, "no sandbox finding");
  expect_nothing_found(4, true, FCA_ITEM_NA, FCA_ITEM4_NO_KEY);
  expect_nothing_found(4, false, FCA_ITEM_NA, FCA_ITEM4_NO_KEY);
}

Test(scorecard, findings_decide_last) {
  fca_item_result_t r = {0};
  fca_item_set(&r, FCA_ITEM_PASS, "no referrer policy finding");
  fca_item_apply_findings(&r, 0, NULL, NULL, 0);
  cr_assert_eq(r.status, FCA_ITEM_PASS);
  cr_assert_str_eq(r.why, "no referrer policy finding", "no finding: unchanged");
  fca_item_apply_findings(&r, 0, NULL, NULL, 1);
  cr_assert_eq(r.status, FCA_ITEM_PASS, "an info finding does not fail its item");
  cr_assert_str_eq(r.why, "no referrer policy finding (1 info finding)");
  fca_item_set(&r, FCA_ITEM_NA, "not framed, no CSP sandbox");
  fca_item_apply_findings(&r, 0, NULL, NULL, 3);
  cr_assert_eq(r.status, FCA_ITEM_NA);
  cr_assert_str_eq(r.why, "not framed, no CSP sandbox (3 info findings)");
  fca_item_apply_findings(&r, 1, "FC-SBX-1", "sandbox without allow-popups", 5);
  cr_assert_eq(r.status, FCA_ITEM_FAIL);
  cr_assert_str_eq(r.why, "FC-SBX-1: sandbox without allow-popups", "the failure alone speaks");
  fca_item_apply_findings(&r, 2, "FC-COOP-1", "same-origin", 0);
  cr_assert_str_eq(r.why, "FC-COOP-1: same-origin (and 1 more finding)");
  fca_item_apply_findings(&r, 4, "FC-COOP-1", "same-origin", 0);
  cr_assert_str_eq(r.why, "FC-COOP-1: same-origin (and 3 more findings)");
  fca_item_clear(&r);
}

Test(scorecard, worst_state_ranks_highest) {
  cr_assert_gt(fca_item_status_rank(FCA_ITEM_FAIL), fca_item_status_rank(FCA_ITEM_PASS));
  cr_assert_gt(fca_item_status_rank(FCA_ITEM_PASS), fca_item_status_rank(FCA_ITEM_NA));
}

static fca_summary_t *one_run(uint64_t exchanges, const char *url, bool with_test_mode) {
  fca_summary_t *s = fca_summary_new();
  s->exchanges = exchanges;
  s->pages_seen = 3;
  s->pages_tagged = 1;
  s->env = strdup("staging");
  fca_scorecard_t *c = fca_summary_add_page(s);
  free(c->url);
  c->url = strdup(url);
  c->top_level = true;
  fca_item_fail_by(&c->items[1], "FC-COOP-1", "same-origin");
  c->items_said = 0x1e;
  fca_scorecard_add_finding(c, "FC-COOP-1", FCA_LEVEL_ERROR, 2);
  fca_rule_counts_t *rc = fca_summary_add_rule(s, "FC-COOP-1", 1);
  rc->total = rc->by_level[FCA_LEVEL_ERROR] = (fca_count_t){1, 2};
  if (with_test_mode) {
    s->test_mode.present = true;
    s->test_mode.test_mode_responses = 3;
    fca_test_mode_add_institution(&s->test_mode, "Test (OAuth)", true);
    fca_test_mode_add_institution(&s->test_mode, "Test (Non-OAuth)", false);
    fca_test_mode_add_institution(&s->test_mode, "Test (Ownership)", true);
  }
  return s;
}

Test(summary, copy_is_deep) {
  fca_summary_t *a = one_run(10, "https://a.test/", true);
  fca_summary_set_verdict(a, true, "error", 1, "fail at --fail-on error");
  fca_summary_t *b = fca_summary_copy(a);
  fca_summary_free(a);
  cr_assert_eq(b->exchanges, 10);
  cr_assert_str_eq(b->pages[0].url, "https://a.test/");
  cr_assert_str_eq(b->pages[0].items[1].why, "FC-COOP-1: same-origin");
  cr_assert_str_eq(b->pages[0].findings[0].rule, "FC-COOP-1");
  cr_assert_str_eq(b->by_rule[0].rule, "FC-COOP-1");
  cr_assert_str_eq(b->test_mode.institutions[1], "Test (Non-OAuth)");
  cr_assert_str_eq(b->verdict.sentence, "fail at --fail-on error");
  cr_assert_null(fca_summary_copy(NULL));
  fca_summary_free(b);
}

Test(summary, fleet_merge_adds_counters_and_joins_pages) {
  fca_summary_t *a = one_run(10, "https://a.test/", false);
  fca_summary_t *b = one_run(5, "https://b.test/", true);
  a->pages_seen = -1; /* the first run did not say */
  fca_summary_merge(a, b);
  cr_assert_eq(a->exchanges, 15);
  cr_assert_eq(a->pages_seen, 3);
  cr_assert_eq(a->pages_tagged, 2);
  cr_assert_eq(a->npages, 2);
  cr_assert_str_eq(a->pages[1].url, "https://b.test/");
  cr_assert_eq(a->nrules, 1, "violations stay as the first run said");
  cr_assert(a->test_mode.present, "what the first did not say, a later one does");
  cr_assert_str_eq(a->env, "staging");
  fca_summary_free(a);
  fca_summary_free(b);
}

Test(summary, test_mode_line) {
  fca_summary_t *s = one_run(1, "https://a.test/", true);
  char *line = fca_test_mode_line(&s->test_mode);
  cr_assert_str_eq(line, "test-mode institutions seen linked: Test (OAuth), Test (Ownership); "
                         "missing: Test (Non-OAuth); Stripe API responses: 3 in test mode, 0 "
                         "live");
  free(line);
  fca_test_mode_t none = {.present = true};
  line = fca_test_mode_line(&none);
  cr_assert_str_eq(line, "test-mode institutions seen linked: none; missing: none; Stripe API "
                         "responses: 0 in test mode, 0 live");
  free(line);
  s->test_mode.present = false;
  cr_assert_null(fca_test_mode_line(&s->test_mode), "FC-TEST-2 ignored: nothing to say");
  cr_assert_null(fca_test_mode_line(NULL));
  fca_summary_free(s);
}
