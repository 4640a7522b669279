/* Unit tests for coop: Cross-Origin-Opener-Policy as browsers read it (RULES.md cases). */
#include "policy.h"

#include <criterion/criterion.h>
#include <string.h>

static fca_coop_t parse1(const char *v) {
  fca_policy_str_t l = {v, strlen(v)};
  fca_coop_t c;
  fca_coop_parse(&l, 1, &c);
  return c;
}

static void expect(const char *v, bool valid, fca_coop_value_t value, fca_coop_value_t eff) {
  fca_coop_t c = parse1(v);
  cr_assert(c.present, "[%s] present", v);
  cr_assert_eq(c.valid, valid, "[%s] valid", v);
  cr_assert_eq(c.value, value, "[%s] value %d", v, c.value);
  cr_assert_eq(fca_coop_effective(&c), eff, "[%s] effective", v);
}

Test(coop, absent_is_unsafe_none) {
  fca_coop_t c;
  fca_coop_parse(NULL, 0, &c);
  cr_assert_not(c.present);
  cr_assert_not(c.valid);
  cr_assert_eq(fca_coop_effective(&c), FCA_COOP_UNSAFE_NONE);
}

Test(coop, known_values) {
  expect("same-origin", true, FCA_COOP_SAME_ORIGIN, FCA_COOP_SAME_ORIGIN);
  expect("same-origin-allow-popups", true, FCA_COOP_SAME_ORIGIN_ALLOW_POPUPS,
         FCA_COOP_SAME_ORIGIN_ALLOW_POPUPS);
  expect("restrict-properties", true, FCA_COOP_RESTRICT_PROPERTIES, FCA_COOP_RESTRICT_PROPERTIES);
  expect("noopener-allow-popups", true, FCA_COOP_NOOPENER_ALLOW_POPUPS,
         FCA_COOP_NOOPENER_ALLOW_POPUPS);
  expect("unsafe-none", true, FCA_COOP_UNSAFE_NONE, FCA_COOP_UNSAFE_NONE);
}

Test(coop, parameters) {
  expect("same-origin; report-to=\"x\"", true, FCA_COOP_SAME_ORIGIN, FCA_COOP_SAME_ORIGIN);
  expect("same-origin;report-to=\"x\"", true, FCA_COOP_SAME_ORIGIN, FCA_COOP_SAME_ORIGIN);
  expect("same-origin-allow-popups; report-to=\"coop\"; foo", true,
         FCA_COOP_SAME_ORIGIN_ALLOW_POPUPS, FCA_COOP_SAME_ORIGIN_ALLOW_POPUPS);
  expect("same-origin; Report-To=\"x\"", false, FCA_COOP_UNSAFE_NONE, FCA_COOP_UNSAFE_NONE);
  expect("same-origin ;report-to=\"x\"", false, FCA_COOP_UNSAFE_NONE, FCA_COOP_UNSAFE_NONE);
  expect("same-origin; report-to=\"x", false, FCA_COOP_UNSAFE_NONE, FCA_COOP_UNSAFE_NONE);
  expect("same-origin; report-to=", false, FCA_COOP_UNSAFE_NONE, FCA_COOP_UNSAFE_NONE);
}

Test(coop, invalid_is_ignored) {
  expect("\"same-origin\"", false, FCA_COOP_UNSAFE_NONE, FCA_COOP_UNSAFE_NONE);
  expect("same-origin,same-origin", false, FCA_COOP_UNSAFE_NONE, FCA_COOP_UNSAFE_NONE);
  expect("same-origin, same-origin", false, FCA_COOP_UNSAFE_NONE, FCA_COOP_UNSAFE_NONE);
  expect("same-origin same-origin", false, FCA_COOP_UNSAFE_NONE, FCA_COOP_UNSAFE_NONE);
  expect("", false, FCA_COOP_UNSAFE_NONE, FCA_COOP_UNSAFE_NONE);
  expect("?1", false, FCA_COOP_UNSAFE_NONE, FCA_COOP_UNSAFE_NONE);
  expect("1", false, FCA_COOP_UNSAFE_NONE, FCA_COOP_UNSAFE_NONE);
  expect("-same-origin", false, FCA_COOP_UNSAFE_NONE, FCA_COOP_UNSAFE_NONE);
}

Test(coop, tokens_are_case_sensitive) {
  expect("Same-origin", true, FCA_COOP_OTHER, FCA_COOP_UNSAFE_NONE);
  expect("SAME-ORIGIN", true, FCA_COOP_OTHER, FCA_COOP_UNSAFE_NONE);
  expect("same-origin-allow-popups-x", true, FCA_COOP_OTHER, FCA_COOP_UNSAFE_NONE);
  expect("*", true, FCA_COOP_OTHER, FCA_COOP_UNSAFE_NONE);
}

Test(coop, ows_trimmed) {
  expect("  same-origin\t", true, FCA_COOP_SAME_ORIGIN, FCA_COOP_SAME_ORIGIN);
  expect("\tsame-origin", true, FCA_COOP_SAME_ORIGIN, FCA_COOP_SAME_ORIGIN);
  fca_coop_t c = parse1(" \tsame-origin; report-to=\"x\" ");
  cr_assert_eq(c.tok_off, 2);
  cr_assert_eq(c.tok_len, strlen("same-origin"));
}

Test(coop, two_header_lines_are_invalid) {
  fca_policy_str_t l[2] = {{"same-origin", 11}, {"same-origin", 11}};
  fca_coop_t c;
  fca_coop_parse(l, 2, &c);
  cr_assert(c.present);
  cr_assert_not(c.valid);
  cr_assert_eq(fca_coop_effective(&c), FCA_COOP_UNSAFE_NONE);
  fca_policy_str_t l2[2] = {{"same-origin", 11}, {"", 0}};
  fca_coop_parse(l2, 2, &c);
  cr_assert_not(c.valid);
}

Test(coop, not_nul_terminated) {
  const char buf[] = "same-originXYZ";
  fca_policy_str_t l = {buf, 11};
  fca_coop_t c;
  fca_coop_parse(&l, 1, &c);
  cr_assert_eq(c.value, FCA_COOP_SAME_ORIGIN);
}

Test(coop, names) {
  cr_assert_str_eq(fca_coop_name(FCA_COOP_SAME_ORIGIN), "same-origin");
  cr_assert_str_eq(fca_coop_name(FCA_COOP_UNSAFE_NONE), "unsafe-none");
  cr_assert_str_eq(fca_coop_name(FCA_COOP_RESTRICT_PROPERTIES), "restrict-properties");
  cr_assert_str_eq(fca_coop_name(FCA_COOP_NOOPENER_ALLOW_POPUPS), "noopener-allow-popups");
  cr_assert_str_eq(fca_coop_name(FCA_COOP_OTHER), "other");
}
