/* Unit tests for dedup: counts per (rule, url, value), binary values, distinct part splits. */
#include "dedup.h"

#include <criterion/criterion.h>
#include <stdio.h>

Test(dedup, counts_per_key) {
  fca_dedup_t *d = fca_dedup_new();
  cr_assert_eq(fca_dedup_hit(d, "FC-COOP-1", "https://a.test/", "same-origin", 11), 1);
  cr_assert_eq(fca_dedup_hit(d, "FC-COOP-1", "https://a.test/", "same-origin", 11), 2);
  cr_assert_eq(fca_dedup_hit(d, "FC-COOP-1", "https://b.test/", "same-origin", 11), 1);
  cr_assert_eq(fca_dedup_hit(d, "FC-COOP-2", "https://a.test/", "same-origin", 11), 1);
  cr_assert_eq(fca_dedup_hit(d, "FC-COOP-1", "https://a.test/", "same-origin ", 12), 1);
  /* parts are length-delimited: ("ab","c") is not ("a","bc") */
  cr_assert_eq(fca_dedup_hit(d, "R", "ab", "c", 1), 1);
  cr_assert_eq(fca_dedup_hit(d, "R", "a", "bc", 2), 1);
  /* values may hold NUL bytes */
  cr_assert_eq(fca_dedup_hit(d, "R", "u", "a\0b", 3), 1);
  cr_assert_eq(fca_dedup_hit(d, "R", "u", "a\0c", 3), 1);
  cr_assert_eq(fca_dedup_hit(d, "R", "u", "a\0b", 3), 2);
  cr_assert_eq(fca_dedup_size(d), 8);
  fca_dedup_free(d);
}

Test(dedup, grows) {
  fca_dedup_t *d = fca_dedup_new();
  char v[32];
  for (int i = 0; i < 5000; i++) {
    int n = snprintf(v, sizeof v, "%d", i);
    cr_assert_eq(fca_dedup_hit(d, "R", "u", v, (size_t)n), 1);
  }
  for (int i = 0; i < 5000; i += 7) {
    int n = snprintf(v, sizeof v, "%d", i);
    cr_assert_eq(fca_dedup_hit(d, "R", "u", v, (size_t)n), 2);
  }
  cr_assert_eq(fca_dedup_size(d), 5000);
  fca_dedup_free(d);
}
