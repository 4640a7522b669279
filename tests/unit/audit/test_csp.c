/* Unit tests for csp: the sandbox directive of Content-Security-Policy as browsers apply it. */
#include "policy.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static fca_csp_sandbox_t run(size_t n, const char *const *enforce, size_t nro,
                             const char *const *ro) {
  fca_policy_str_t e[8] = {{0}}, r[8] = {{0}};
  for (size_t i = 0; i < n; i++) e[i] = (fca_policy_str_t){enforce[i], strlen(enforce[i])};
  for (size_t i = 0; i < nro; i++) r[i] = (fca_policy_str_t){ro[i], strlen(ro[i])};
  fca_csp_sandbox_t out;
  fca_csp_sandbox(e, n, r, nro, &out);
  return out;
}

static fca_csp_sandbox_t run1(const char *v) { return run(1, &v, 0, NULL); }

Test(csp, no_csp) {
  fca_csp_sandbox_t c = run(0, NULL, 0, NULL);
  cr_assert_not(c.sandbox.sandboxed);
  cr_assert_eq(c.count, 0);
  c = run1("default-src 'self'; script-src https://js.stripe.com");
  cr_assert_not(c.sandbox.sandboxed);
  cr_assert_eq(fca_sandbox_missing(c.sandbox, FCA_SBX_REQUIRED), 0);
}

Test(csp, empty_sandbox_is_everything) {
  const char *cases[] = {"sandbox", "sandbox;", "  sandbox  ", "default-src 'self'; sandbox",
                         "SANDBOX", "sandbox\t"};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    fca_csp_sandbox_t c = run1(cases[i]);
    cr_assert(c.sandbox.sandboxed, "[%s]", cases[i]);
    cr_assert_eq(c.sandbox.allow, 0, "[%s]", cases[i]);
    cr_assert_eq(c.count, 1);
    cr_assert_eq(c.policies[0].val_len, 0, "[%s]", cases[i]);
  }
}

Test(csp, tokens_and_evidence) {
  const char *v = "default-src 'self'; Sandbox  allow-scripts ALLOW-POPUPS allow-bogus ;x";
  fca_csp_sandbox_t c = run1(v);
  cr_assert(c.sandbox.sandboxed);
  cr_assert_eq(c.sandbox.allow, FCA_SBX_ALLOW_SCRIPTS | FCA_SBX_ALLOW_POPUPS);
  cr_assert_eq(c.recorded, 1);
  const fca_csp_sandbox_policy_t *p = &c.policies[0];
  cr_assert_eq(p->line, 0);
  cr_assert_eq(p->pol_off, 0);
  cr_assert_eq(p->pol_len, strlen(v));
  cr_assert_eq(strncmp(v + p->val_off, "allow-scripts ALLOW-POPUPS allow-bogus", p->val_len), 0);
  cr_assert_eq(p->val_len, strlen("allow-scripts ALLOW-POPUPS allow-bogus"));
}

Test(csp, comma_starts_a_new_policy) {
  /* one line, two policies: the sandbox policy still applies, default-src is separate */
  fca_csp_sandbox_t c = run1("sandbox allow-scripts, default-src 'self'");
  cr_assert(c.sandbox.sandboxed);
  cr_assert_eq(c.sandbox.allow, FCA_SBX_ALLOW_SCRIPTS);
  cr_assert_eq(c.count, 1);
  cr_assert_eq(c.policies[0].pol_len, strlen("sandbox allow-scripts"));
  /* the comma ends the sandbox value: allow-popups belongs to the next policy's name */
  c = run1("sandbox allow-scripts,allow-popups");
  cr_assert_eq(c.sandbox.allow, FCA_SBX_ALLOW_SCRIPTS);
  /* a second policy in the same line with its own sandbox intersects */
  c = run1("sandbox allow-scripts allow-popups, sandbox allow-popups");
  cr_assert_eq(c.count, 2);
  cr_assert_eq(c.sandbox.allow, FCA_SBX_ALLOW_POPUPS);
  cr_assert_eq(c.policies[1].line, 0);
  cr_assert_eq(c.policies[1].pol_off, strlen("sandbox allow-scripts allow-popups,"));
}

Test(csp, duplicate_directive_first_wins) {
  fca_csp_sandbox_t c = run1("sandbox allow-scripts; sandbox allow-popups allow-scripts");
  cr_assert_eq(c.sandbox.allow, FCA_SBX_ALLOW_SCRIPTS);
  cr_assert_eq(c.count, 1);
  c = run1("sandbox; sandbox allow-scripts");
  cr_assert_eq(c.sandbox.allow, 0);
}

Test(csp, several_headers_all_enforced) {
  const char *two[] = {"sandbox allow-scripts allow-same-origin allow-popups",
                       "default-src *; sandbox allow-scripts allow-popups "
                       "allow-popups-to-escape-sandbox"};
  fca_csp_sandbox_t c = run(2, two, 0, NULL);
  cr_assert_eq(c.count, 2);
  cr_assert_eq(c.sandbox.allow, FCA_SBX_ALLOW_SCRIPTS | FCA_SBX_ALLOW_POPUPS);
  cr_assert_eq(c.policies[1].line, 1);
  const char *one_sbx[] = {"default-src 'self'", "sandbox allow-scripts"};
  c = run(2, one_sbx, 0, NULL);
  cr_assert_eq(c.count, 1);
  cr_assert_eq(c.sandbox.allow, FCA_SBX_ALLOW_SCRIPTS);
}

Test(csp, report_only_never_sandboxes) {
  const char *ro[] = {"sandbox"};
  fca_csp_sandbox_t c = run(0, NULL, 1, ro);
  cr_assert_not(c.sandbox.sandboxed);
  cr_assert(c.report_only_sandbox);
  cr_assert_eq(c.count, 0);
  const char *en[] = {"sandbox allow-scripts allow-popups"};
  c = run(1, en, 1, ro);
  cr_assert_eq(c.sandbox.allow, FCA_SBX_ALLOW_SCRIPTS | FCA_SBX_ALLOW_POPUPS);
  const char *ro2[] = {"default-src 'self'"};
  c = run(0, NULL, 1, ro2);
  cr_assert_not(c.report_only_sandbox);
}

Test(csp, not_a_sandbox_directive) {
  cr_assert_not(run1("sandboxed").sandbox.sandboxed);
  cr_assert_not(run1("x-sandbox").sandbox.sandboxed);
  cr_assert_not(run1("default-src sandbox").sandbox.sandboxed);
  cr_assert_not(run1("").sandbox.sandboxed);
  cr_assert_not(run1(" ; , ;").sandbox.sandboxed);
  /* a directive that is not ASCII is skipped whole */
  cr_assert_not(run1("sandbox allow-scripts \xc3\xa9").sandbox.sandboxed);
}

Test(csp, recorded_is_capped_but_all_combine) {
  char line[1024] = "";
  for (int i = 0; i < FCA_CSP_SANDBOX_MAX + 3; i++)
    strcat(line, i ? ", sandbox allow-scripts allow-popups" : "sandbox allow-scripts");
  fca_csp_sandbox_t c = run1(line);
  cr_assert_eq(c.count, FCA_CSP_SANDBOX_MAX + 3);
  cr_assert_eq(c.recorded, FCA_CSP_SANDBOX_MAX);
  cr_assert_eq(c.sandbox.allow, FCA_SBX_ALLOW_SCRIPTS);
}

/* Arbitrary bytes in exact-size heap buffers: ASan catches any read past the value; every
 * recorded span stays inside its line. */
Test(csp, random_inputs_stay_in_bounds) {
  static const char alphabet[] = "sandbox ;,allow-\t\xc3";
  uint32_t seed = 777;
  for (int round = 0; round < 20000; round++) {
    size_t n = (seed = seed * 1103515245u + 12345u) >> 26;
    char *buf = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
      buf[i] = alphabet[((seed = seed * 1103515245u + 12345u) >> 16) % (sizeof alphabet - 1)];
    fca_policy_str_t l = {buf, n};
    fca_csp_sandbox_t c;
    fca_csp_sandbox(&l, 1, &l, 1, &c);
    for (size_t i = 0; i < c.recorded; i++) {
      cr_assert_leq(c.policies[i].pol_off + c.policies[i].pol_len, n);
      cr_assert_leq(c.policies[i].val_off + c.policies[i].val_len, n);
    }
    fca_referrer_header_t h;
    fca_referrer_parse_header(&l, 1, &h);
    if (h.policy != FCA_REFPOL_NONE) cr_assert_leq(h.tok_off + h.tok_len, n);
    (void)fca_referrer_parse_meta(buf, n);
    (void)fca_sandbox_parse(buf, n);
    free(buf);
  }
}
