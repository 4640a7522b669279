/* Tests for the run's verdict: which findings fail the run under --fail-on (new ones at or
 * above it; a baseline finding never), which still fail their checklist item without failing
 * the run, --require-tagged, and the one sentence every output says it in. */
#include <criterion/criterion.h>

#include "fcaudit/checklist.h"

#include <stdlib.h>
#include <string.h>

static char *sentence(fca_policy_t p, const fca_verdict_finding_t *f, size_t n, size_t pages,
                      fca_verdict_t *v) {
  fca_verdict_decide(&p, f, n, pages, v);
  return fca_verdict_sentence(&p, v);
}

static void expect(fca_policy_t p, const fca_verdict_finding_t *f, size_t n, size_t pages,
                   bool fail, const char *want) {
  fca_verdict_t v;
  char *s = sentence(p, f, n, pages, &v);
  cr_assert_eq(v.fail, fail, "%s", s);
  cr_assert_str_eq(s, want);
  free(s);
}

/* Two errors on page 0 (items 1 and 3), a warning on page 1 (item 2), an info on page 1, an
 * error known from the baseline on page 2. */
static const fca_verdict_finding_t run[] = {
    {FCA_LEVEL_ERROR, 1, 0, 3, false},   {FCA_LEVEL_ERROR, 3, 0, 2, false},
    {FCA_LEVEL_WARNING, 2, 1, 1, false}, {FCA_LEVEL_INFO, 2, 1, 4, false},
    {FCA_LEVEL_ERROR, 1, 2, 1, true},
};

Test(verdict, counts_by_level_and_policy) {
  fca_verdict_t v;
  fca_policy_t p = {FCA_LEVEL_ERROR, 0};
  fca_verdict_decide(&p, run, 5, 3, &v);
  cr_assert(v.fail);
  cr_assert_eq(v.failing, 2, "the baseline error does not fail the run");
  cr_assert_eq(v.failing_pages, 1);
  cr_assert_eq(v.known, 1);
  cr_assert_eq(v.by_level[FCA_LEVEL_ERROR], 3);
  cr_assert_eq(v.by_level[FCA_LEVEL_WARNING], 1);
  cr_assert_eq(v.by_level[FCA_LEVEL_INFO], 1);
  cr_assert_eq(v.occurrences[FCA_LEVEL_ERROR], 6);
  cr_assert_eq(v.standing[FCA_LEVEL_ERROR], 1, "the known error still fails its item");
  cr_assert_eq(v.standing[FCA_LEVEL_WARNING], 1);
  cr_assert_eq(v.standing_pages, 2);
  p.fail_on = FCA_LEVEL_WARNING;
  fca_verdict_decide(&p, run, 5, 3, &v);
  cr_assert_eq(v.failing, 3);
  cr_assert_eq(v.failing_pages, 2);
  p.fail_on = FCA_LEVEL_INFO;
  fca_verdict_decide(&p, run, 5, 3, &v);
  cr_assert_eq(v.failing, 4);
  p.fail_on = FCA_LEVEL_IGNORE;
  fca_verdict_decide(&p, run, 5, 3, &v);
  cr_assert_not(v.fail, "--fail-on never");
  cr_assert_eq(v.failing, 0);
  cr_assert_eq(v.standing[FCA_LEVEL_ERROR], 3);
}

Test(verdict, policy_names_and_what_fails) {
  fca_policy_t p = {FCA_LEVEL_IGNORE, 0};
  cr_assert_str_eq(fca_policy_fail_on_name(&p), "never");
  cr_assert_not(fca_policy_fails(&p, FCA_LEVEL_ERROR, false));
  p.fail_on = FCA_LEVEL_WARNING;
  cr_assert_str_eq(fca_policy_fail_on_name(&p), "warning");
  cr_assert(fca_policy_fails(&p, FCA_LEVEL_ERROR, false));
  cr_assert(fca_policy_fails(&p, FCA_LEVEL_WARNING, false));
  cr_assert_not(fca_policy_fails(&p, FCA_LEVEL_INFO, false));
  cr_assert_not(fca_policy_fails(&p, FCA_LEVEL_ERROR, true), "known from the baseline");
}

Test(verdict, the_sentence) {
  expect((fca_policy_t){FCA_LEVEL_ERROR, 0}, run, 5, 3, true,
         "fail at --fail-on error: 2 new findings at or above error on 1 page; also 1 error and "
         "1 warning on 2 pages fail their checklist item");
  expect((fca_policy_t){FCA_LEVEL_WARNING, 0}, run, 5, 3, true,
         "fail at --fail-on warning: 3 new findings at or above warning on 2 pages; also 1 error "
         "on 1 page fails its checklist item");
  expect((fca_policy_t){FCA_LEVEL_ERROR, 0}, run + 2, 2, 2, false,
         "pass at --fail-on error; 1 warning on 1 page fails its checklist item");
  expect((fca_policy_t){FCA_LEVEL_IGNORE, 0}, run, 2, 1, false,
         "pass at --fail-on never; 2 errors on 1 page fail their checklist item");
  expect((fca_policy_t){FCA_LEVEL_ERROR, 0}, run + 3, 1, 2, false,
         "pass at --fail-on error; no page fails a checklist item");
  expect((fca_policy_t){FCA_LEVEL_ERROR, 0}, run, 1, 1, true,
         "fail at --fail-on error: 1 new finding at or above error on 1 page");
}

Test(verdict, require_tagged_and_no_page) {
  expect((fca_policy_t){FCA_LEVEL_ERROR, 1}, NULL, 0, 0, true,
         "fail at --fail-on error: 0 tagged pages, fewer than --require-tagged 1; no page loaded "
         "Stripe.js, so nothing was audited");
  expect((fca_policy_t){FCA_LEVEL_ERROR, 0}, NULL, 0, 0, false,
         "pass at --fail-on error; no page loaded Stripe.js, so nothing was audited");
  expect((fca_policy_t){FCA_LEVEL_ERROR, 3}, run, 1, 1, true,
         "fail at --fail-on error: 1 new finding at or above error on 1 page; 1 tagged page, "
         "fewer than --require-tagged 3");
}
