/* Unit tests for setupscan: Stripe set-up code found in inline code whatever its slicing
 * (every split point, one byte at a time), and nothing found in code that does not set it up. */
#include "setupscan.h"

#include <criterion/criterion.h>
#include <string.h>

/* Labels are compared as strings: equal literals of two files need not share an address. */
static void same(const char *got, const char *want, const char *text, size_t cut, size_t step) {
  if (!want)
    cr_assert_null(got, "%s cut %zu step %zu: %s", text, cut, step, got);
  else
    cr_assert(got && strcmp(got, want) == 0, "%s cut %zu step %zu: %s", text, cut, step,
              got ? got : "(none)");
}

static const char *scan_split(const char *s, size_t cut, size_t step) {
  fca_setupscan_t sc;
  fca_setupscan_reset(&sc);
  size_t n = strlen(s);
  fca_setupscan_feed(&sc, s, cut);
  for (size_t o = cut; o < n; o += step)
    fca_setupscan_feed(&sc, s + o, n - o < step ? n - o : step);
  return sc.found;
}

Test(setupscan, patterns_at_every_split) {
  struct {
    const char *text, *want;
  } c[] = {
      {"var s = Stripe('pk_x');", "Stripe("},
      {"const s = await loadStripe(key)", "Stripe("},
      {"stripe.collectFinancialConnectionsAccounts({clientSecret})",
       "collectFinancialConnectionsAccounts"},
      {"x.collectBankAccountToken()", "collectBankAccountToken"},
      {"x.collectBankAccountForPayment()", "collectBankAccountForPayment"},
      {"x.collectBankAccountForSetup()", "collectBankAccountForSetup"},
      {"window.KEY = 'pk_live_abcdefghijklmnop';", "a publishable key"},
      {"data = {key: \"pk_test_abcdefghijklmnop\"}", "a publishable key"},
      {"console.log('Stripe is great'); stripe (x)", NULL},
      {"collect(); pk_other", NULL},
      {"", NULL},
  };
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
    size_t n = strlen(c[i].text);
    same(fca_setupscan_text(c[i].text, n), c[i].want, c[i].text, 0, 0);
    for (size_t cut = 0; cut <= n; cut++)
      for (size_t step = 1; step <= 3; step++)
        same(scan_split(c[i].text, cut, step), c[i].want, c[i].text, cut, step);
  }
}

Test(setupscan, long_text_and_reset) {
  char big[10000];
  memset(big, 'a', sizeof big);
  memcpy(big + 5000, "Stripe(", 7);
  big[sizeof big - 1] = 0;
  for (size_t cut = 4990; cut <= 5010; cut++)
    cr_assert_str_eq(scan_split(big, cut, 997), "Stripe(");
  fca_setupscan_t sc;
  fca_setupscan_reset(&sc);
  fca_setupscan_feed(&sc, "Strip", 5);
  fca_setupscan_reset(&sc); /* a new script: nothing carries over */
  fca_setupscan_feed(&sc, "e(", 2);
  cr_assert_null(sc.found);
}
