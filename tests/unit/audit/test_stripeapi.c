/* Unit tests for stripeapi: test-mode detection and the four test institutions, in the
 * response shapes it matches, fed in slices; the size bound; invalid JSON. */
#include "stripeapi.h"

#include <criterion/criterion.h>
#include <string.h>

static fca_stripeapi_result_t run(const char *json, size_t step) {
  fca_stripeapi_t *s = fca_stripeapi_new();
  size_t n = strlen(json);
  for (size_t o = 0; o < n; o += step) fca_stripeapi_feed(s, json + o, n - o < step ? n - o : step);
  fca_stripeapi_result_t r;
  fca_stripeapi_finish(s, &r);
  fca_stripeapi_free(s);
  return r;
}

Test(stripeapi, shapes) {
  const char *j =
      "{\"object\":\"link_account_session\",\"livemode\":false,"
      "\"linked_accounts\":{\"data\":[{\"institution_name\":\"Test (OAuth)\"},"
      "{\"institution\":{\"name\":\"  TEST (NON-OAUTH) \"}},"
      "{\"object\":\"financial_connections.institution\",\"display_name\":\"Bank (OAuth)\"},"
      "{\"institution_name\":\"Chase\"}]}}";
  for (size_t step = 1; step <= strlen(j); step += 11) {
    fca_stripeapi_result_t r = run(j, step);
    cr_assert(r.parsed);
    cr_assert(r.test_mode);
    cr_assert_not(r.live_mode);
    cr_assert_eq(r.linked, 0x7u, "step %zu", step);
  }
}

Test(stripeapi, livemode_applies_to_nested_objects) {
  fca_stripeapi_result_t r;
  const char *j = "{\"livemode\":true,\"a\":[{\"institution_name\":\"Bank (Non-OAuth)\"},"
                  "{\"livemode\":false,\"institution_name\":\"Bank (Non-OAuth)\"}]}";
  fca_stripeapi_parse(j, strlen(j), &r);
  cr_assert(r.live_mode && r.test_mode);
  cr_assert_eq(r.linked, 1u << 3);
  const char *unknown = "{\"institution_name\":\"Test (OAuth)\"}"; /* mode unknown: not counted */
  fca_stripeapi_parse(unknown, strlen(unknown), &r);
  cr_assert(r.parsed);
  cr_assert_eq(r.linked, 0);
}

Test(stripeapi, invalid_and_oversize) {
  fca_stripeapi_result_t r = run("{\"livemode\":false,", 4);
  cr_assert_not(r.parsed);
  fca_stripeapi_t *s = fca_stripeapi_new();
  static char big[64 * 1024];
  memset(big, ' ', sizeof big);
  fca_stripeapi_feed(s, "{\"livemode\":false}", 18);
  for (size_t i = 0; i <= FCA_STRIPEAPI_MAX / sizeof big; i++)
    fca_stripeapi_feed(s, big, sizeof big);
  fca_stripeapi_finish(s, &r);
  cr_assert_not(r.parsed);
  fca_stripeapi_free(s);
}
