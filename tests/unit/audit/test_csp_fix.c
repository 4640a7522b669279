/* Unit tests for csp_fix: the directive a fix writes keeps the page's sources and adds
 * Stripe's. */
#include "csp.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static char *fix(const char *pol, fca_csp_kind_t kind, fca_csp_fix_t *out) {
  fca_csp_fix_build((fca_policy_str_t){pol, strlen(pol)}, kind, fca_csp_stripe_sources(kind), out);
  return fca_csp_fix_directive(out);
}

Test(csp_fix, helmet_defaults) {
  const char *helmet = "default-src 'self';base-uri 'self';font-src 'self' https: data:;"
                       "form-action 'self';frame-ancestors 'self';img-src 'self' data:;"
                       "object-src 'none';script-src 'self';script-src-attr 'none';"
                       "style-src 'self' https: 'unsafe-inline';upgrade-insecure-requests";
  fca_csp_fix_t f;
  char *s = fix(helmet, FCA_CSP_SCRIPT_ELEM, &f);
  cr_assert_str_eq(s, "script-src 'self' https://js.stripe.com https://*.js.stripe.com");
  cr_assert(f.existing);
  free(s);
  s = fix(helmet, FCA_CSP_FRAME, &f);
  cr_assert_str_eq(s, "frame-src 'self' https://js.stripe.com https://*.js.stripe.com "
                      "https://hooks.stripe.com");
  cr_assert_not(f.existing); /* default-src governed: a new frame-src, default-src untouched */
  free(s);
  s = fix(helmet, FCA_CSP_CONNECT, &f);
  cr_assert_str_eq(s, "connect-src 'self' https://api.stripe.com");
  free(s);
}

Test(csp_fix, keeps_sources_drops_none_no_duplicates) {
  fca_csp_fix_t f;
  char *s = fix("script-src-elem 'none'; script-src x", FCA_CSP_SCRIPT_ELEM, &f);
  cr_assert_str_eq(s, "script-src-elem https://js.stripe.com https://*.js.stripe.com");
  free(s);
  s = fix("child-src 'self' HTTPS://JS.STRIPE.COM", FCA_CSP_FRAME, &f);
  cr_assert_str_eq(s, "child-src 'self' HTTPS://JS.STRIPE.COM https://*.js.stripe.com "
                      "https://hooks.stripe.com");
  cr_assert_eq(f.nkept, 2);
  cr_assert_eq(f.nadded, 2);
  free(s);
  s = fix("img-src *", FCA_CSP_CONNECT, &f);
  cr_assert_str_eq(s, "connect-src https://api.stripe.com");
  cr_assert_not(f.existing);
  free(s);
  const char *add[] = {"'unsafe-hashes'", "'sha256-abc'", NULL};
  fca_csp_fix_build((fca_policy_str_t){"script-src-attr 'none'", 22}, FCA_CSP_SCRIPT_ATTR, add, &f);
  s = fca_csp_fix_directive(&f);
  cr_assert_str_eq(s, "script-src-attr 'unsafe-hashes' 'sha256-abc'");
  free(s);
}
