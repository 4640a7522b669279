/* Unit tests for referrer: Referrer-Policy header, <meta name=referrer>, the referrerpolicy
 * attribute and the effective policy, as browsers compute them (RULES.md cases). */
#include "policy.h"

#include <criterion/criterion.h>
#include <string.h>

static fca_referrer_header_t hdr(size_t n, const char *const *v) {
  fca_policy_str_t l[8] = {{0}};
  for (size_t i = 0; i < n; i++) l[i] = (fca_policy_str_t){v[i], strlen(v[i])};
  fca_referrer_header_t h;
  fca_referrer_parse_header(l, n, &h);
  return h;
}

static fca_referrer_header_t hdr1(const char *v) { return hdr(1, &v); }

static void expect1(const char *v, bool valid, fca_refpol_t p) {
  fca_referrer_header_t h = hdr1(v);
  cr_assert(h.present, "[%s] present", v);
  cr_assert_eq(h.header_valid, valid, "[%s] header_valid", v);
  cr_assert_eq(h.policy, p, "[%s] policy %d", v, h.policy);
}

static fca_refpol_t meta(const char *c) { return fca_referrer_parse_meta(c, strlen(c)); }

Test(referrer, absent) {
  fca_referrer_header_t h = hdr(0, NULL);
  cr_assert_not(h.present);
  cr_assert_not(h.header_valid);
  cr_assert_eq(h.policy, FCA_REFPOL_NONE);
  cr_assert_eq(fca_referrer_effective(&h, NULL, 0), FCA_REFPOL_STRICT_ORIGIN_WHEN_CROSS_ORIGIN);
  cr_assert_eq(fca_referrer_effective(NULL, NULL, 0), FCA_REFPOL_DEFAULT);
}

Test(referrer, every_token) {
  for (int p = FCA_REFPOL_NO_REFERRER; p <= FCA_REFPOL_UNSAFE_URL; p++)
    expect1(fca_referrer_name((fca_refpol_t)p), true, (fca_refpol_t)p);
}

Test(referrer, header_cases) {
  expect1("no-referrer, unknown-token", true, FCA_REFPOL_NO_REFERRER);
  expect1("no-referrer, strict-origin-when-cross-origin", true,
          FCA_REFPOL_STRICT_ORIGIN_WHEN_CROSS_ORIGIN);
  expect1("strict-origin-when-cross-origin, no-referrer", true, FCA_REFPOL_NO_REFERRER);
  expect1("no-referrer, foo_bar", false, FCA_REFPOL_NONE);
  expect1("foo_bar, no-referrer", false, FCA_REFPOL_NONE);
  expect1("NO-REFERRER", true, FCA_REFPOL_NO_REFERRER);
  expect1("Strict-Origin", true, FCA_REFPOL_STRICT_ORIGIN);
  expect1("  origin  ", true, FCA_REFPOL_ORIGIN);
  expect1("\torigin\t,\tunsafe-url ", true, FCA_REFPOL_UNSAFE_URL);
  expect1("unknown-token", true, FCA_REFPOL_NONE);
  expect1("no-referrer,,", true, FCA_REFPOL_NO_REFERRER);
  expect1(",no-referrer", true, FCA_REFPOL_NO_REFERRER);
  expect1("no-referrer origin", false, FCA_REFPOL_NONE); /* space inside a token */
  expect1("\"no-referrer\"", false, FCA_REFPOL_NONE);
  expect1("no-referrer;", false, FCA_REFPOL_NONE);
  expect1("no-referrer1", false, FCA_REFPOL_NONE);
  expect1("origin, no-referr\xc3\xa9r", false, FCA_REFPOL_NONE);
  expect1("", false, FCA_REFPOL_NONE);
  expect1(" , ", false, FCA_REFPOL_NONE);
}

Test(referrer, header_lines_join) {
  const char *two[] = {"no-referrer", "origin"};
  fca_referrer_header_t h = hdr(2, two);
  cr_assert(h.header_valid);
  cr_assert_eq(h.policy, FCA_REFPOL_ORIGIN);
  cr_assert_eq(h.line, 1);
  const char *unk[] = {"no-referrer", "unknown"};
  cr_assert_eq(hdr(2, unk).policy, FCA_REFPOL_NO_REFERRER);
  const char *bad[] = {"origin", "x y"};
  h = hdr(2, bad);
  cr_assert_not(h.header_valid);
  cr_assert_eq(h.policy, FCA_REFPOL_NONE);
  const char *empty_line[] = {"", "same-origin"};
  h = hdr(2, empty_line);
  cr_assert(h.header_valid);
  cr_assert_eq(h.policy, FCA_REFPOL_SAME_ORIGIN);
}

Test(referrer, winning_token_position) {
  fca_referrer_header_t h = hdr1("origin,  unsafe-url , bogus");
  cr_assert_eq(h.policy, FCA_REFPOL_UNSAFE_URL);
  cr_assert_eq(h.line, 0);
  cr_assert_eq(h.tok_off, 9);
  cr_assert_eq(h.tok_len, strlen("unsafe-url"));
}

Test(referrer, meta_values) {
  cr_assert_eq(meta("no-referrer"), FCA_REFPOL_NO_REFERRER);
  cr_assert_eq(meta("  Origin \n"), FCA_REFPOL_ORIGIN);
  cr_assert_eq(meta("STRICT-ORIGIN"), FCA_REFPOL_STRICT_ORIGIN);
  cr_assert_eq(meta("never"), FCA_REFPOL_NO_REFERRER);
  cr_assert_eq(meta("Never"), FCA_REFPOL_NO_REFERRER);
  cr_assert_eq(meta("default"), FCA_REFPOL_STRICT_ORIGIN_WHEN_CROSS_ORIGIN);
  cr_assert_eq(meta("always"), FCA_REFPOL_UNSAFE_URL);
  cr_assert_eq(meta("origin-when-crossorigin"), FCA_REFPOL_ORIGIN_WHEN_CROSS_ORIGIN);
  cr_assert_eq(meta(""), FCA_REFPOL_NONE);
  cr_assert_eq(meta("   "), FCA_REFPOL_NONE);
  cr_assert_eq(meta("bogus"), FCA_REFPOL_NONE);
  cr_assert_eq(meta("no-referrer, origin"), FCA_REFPOL_NONE); /* not a list */
}

Test(referrer, attribute_values) {
  cr_assert_eq(fca_referrer_parse_attr("no-referrer", 11), FCA_REFPOL_NO_REFERRER);
  cr_assert_eq(fca_referrer_parse_attr("Same-Origin", 11), FCA_REFPOL_SAME_ORIGIN);
  cr_assert_eq(fca_referrer_parse_attr("never", 5), FCA_REFPOL_NONE); /* no legacy keywords */
  cr_assert_eq(fca_referrer_parse_attr(" no-referrer", 12), FCA_REFPOL_NONE);
  cr_assert_eq(fca_referrer_parse_attr("", 0), FCA_REFPOL_NONE);
}

Test(referrer, effective_meta_overrides_header) {
  fca_referrer_header_t h = hdr1("no-referrer");
  fca_refpol_t m1[] = {meta("origin")};
  cr_assert_eq(fca_referrer_effective(&h, m1, 1), FCA_REFPOL_ORIGIN);
  cr_assert_eq(fca_referrer_effective(&h, NULL, 0), FCA_REFPOL_NO_REFERRER);
  /* last meta wins; ignored metas keep the previous value */
  fca_refpol_t m2[] = {meta("origin"), meta("never"), meta(""), meta("bogus")};
  cr_assert_eq(fca_referrer_effective(&h, m2, 4), FCA_REFPOL_NO_REFERRER);
  fca_refpol_t m3[] = {meta("never"), meta("always")};
  cr_assert_eq(fca_referrer_effective(NULL, m3, 2), FCA_REFPOL_UNSAFE_URL);
  /* an invalid header is ignored: the meta, else the default */
  fca_referrer_header_t inv = hdr1("no-referrer, foo_bar");
  cr_assert_eq(fca_referrer_effective(&inv, NULL, 0), FCA_REFPOL_DEFAULT);
  fca_refpol_t m4[] = {meta("same-origin")};
  cr_assert_eq(fca_referrer_effective(&inv, m4, 1), FCA_REFPOL_SAME_ORIGIN);
  fca_refpol_t m5[] = {meta("")};
  cr_assert_eq(fca_referrer_effective(&h, m5, 1), FCA_REFPOL_NO_REFERRER);
}

Test(referrer, sends_cross_origin) {
  cr_assert_not(fca_referrer_sends_cross_origin_referer(FCA_REFPOL_NO_REFERRER));
  cr_assert_not(fca_referrer_sends_cross_origin_referer(FCA_REFPOL_SAME_ORIGIN));
  cr_assert(fca_referrer_sends_cross_origin_referer(FCA_REFPOL_UNSAFE_URL));
  cr_assert(fca_referrer_sends_cross_origin_referer(FCA_REFPOL_NO_REFERRER_WHEN_DOWNGRADE));
  cr_assert(fca_referrer_sends_cross_origin_referer(FCA_REFPOL_ORIGIN));
  cr_assert(fca_referrer_sends_cross_origin_referer(FCA_REFPOL_STRICT_ORIGIN));
  cr_assert(fca_referrer_sends_cross_origin_referer(FCA_REFPOL_ORIGIN_WHEN_CROSS_ORIGIN));
  cr_assert(fca_referrer_sends_cross_origin_referer(FCA_REFPOL_STRICT_ORIGIN_WHEN_CROSS_ORIGIN));
  cr_assert(fca_referrer_sends_cross_origin_referer(FCA_REFPOL_NONE)); /* = the default */
}

Test(referrer, checklist_set) {
  int allowed = 0;
  for (int p = FCA_REFPOL_NONE; p <= FCA_REFPOL_UNSAFE_URL; p++)
    allowed += fca_referrer_checklist_allowed((fca_refpol_t)p);
  cr_assert_eq(allowed, 4);
  cr_assert(fca_referrer_checklist_allowed(FCA_REFPOL_ORIGIN));
  cr_assert(fca_referrer_checklist_allowed(FCA_REFPOL_ORIGIN_WHEN_CROSS_ORIGIN));
  cr_assert(fca_referrer_checklist_allowed(FCA_REFPOL_STRICT_ORIGIN));
  cr_assert(fca_referrer_checklist_allowed(FCA_REFPOL_STRICT_ORIGIN_WHEN_CROSS_ORIGIN));
  cr_assert(fca_referrer_checklist_value_ok(" Strict-Origin-When-Cross-Origin ", 33));
  cr_assert_not(fca_referrer_checklist_value_ok("unsafe-url", 10));
  cr_assert_not(fca_referrer_checklist_value_ok("no-referrer-when-downgrade", 26));
  cr_assert_not(fca_referrer_checklist_value_ok("default", 7)); /* legacy: not a listed value */
  cr_assert_not(fca_referrer_checklist_value_ok("", 0));
}

Test(referrer, names) {
  cr_assert_str_eq(fca_referrer_name(FCA_REFPOL_NONE), "");
  cr_assert_str_eq(fca_referrer_name(FCA_REFPOL_STRICT_ORIGIN_WHEN_CROSS_ORIGIN),
                   "strict-origin-when-cross-origin");
  cr_assert_str_eq(fca_referrer_name(FCA_REFPOL_NO_REFERRER_WHEN_DOWNGRADE),
                   "no-referrer-when-downgrade");
}
