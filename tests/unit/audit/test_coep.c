/* Unit tests for coep: Cross-Origin-Embedder-Policy as browsers read it. */
#include "policy.h"

#include <criterion/criterion.h>
#include <string.h>

static fca_coep_t parse1(const char *v) {
  fca_policy_str_t l = {v, strlen(v)};
  fca_coep_t c;
  fca_coep_parse(&l, 1, &c);
  return c;
}

Test(coep, absent) {
  fca_coep_t c;
  fca_coep_parse(NULL, 0, &c);
  cr_assert_not(c.present);
  cr_assert_eq(c.value, FCA_COEP_UNSAFE_NONE);
}

Test(coep, values) {
  cr_assert_eq(parse1("require-corp").value, FCA_COEP_REQUIRE_CORP);
  cr_assert_eq(parse1("credentialless").value, FCA_COEP_CREDENTIALLESS);
  cr_assert_eq(parse1("unsafe-none").value, FCA_COEP_UNSAFE_NONE);
  cr_assert_eq(parse1("require-corp; report-to=\"e\"").value, FCA_COEP_REQUIRE_CORP);
  cr_assert_eq(parse1(" credentialless ").value, FCA_COEP_CREDENTIALLESS);
  fca_coep_t c = parse1("require-corp");
  cr_assert(c.present && c.valid);
  cr_assert_eq(c.tok_len, strlen("require-corp"));
}

Test(coep, invalid_or_unknown_is_unsafe_none) {
  const char *bad[] = {"\"require-corp\"",
                       "require-corp, credentialless",
                       "require-corp corp",
                       "Require-Corp",
                       "require-corp;Report-To=x",
                       "",
                       "?1"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    cr_assert_eq(parse1(bad[i]).value, FCA_COEP_UNSAFE_NONE, "[%s]", bad[i]);
  cr_assert(parse1("Require-Corp").valid); /* a token, just not a known one */
  cr_assert_not(parse1("\"require-corp\"").valid);
  fca_policy_str_t l[2] = {{"require-corp", 12}, {"require-corp", 12}};
  fca_coep_t c;
  fca_coep_parse(l, 2, &c);
  cr_assert(c.present);
  cr_assert_not(c.valid);
  cr_assert_eq(c.value, FCA_COEP_UNSAFE_NONE);
}

Test(coep, names) {
  cr_assert_str_eq(fca_coep_name(FCA_COEP_REQUIRE_CORP), "require-corp");
  cr_assert_str_eq(fca_coep_name(FCA_COEP_CREDENTIALLESS), "credentialless");
  cr_assert_str_eq(fca_coep_name(FCA_COEP_UNSAFE_NONE), "unsafe-none");
}
