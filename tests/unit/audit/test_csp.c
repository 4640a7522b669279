/* Unit tests for csp: CSP3 parsing (policy lists, directives, source expressions, fallback
 * lists) and the sandbox directive of Content-Security-Policy as browsers apply it. */
#include "csp.h"
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

/* ---- CSP3 §2.2 parsing ------------------------------------------------------------------- */
static fca_policy_str_t S(const char *s) { return (fca_policy_str_t){s, strlen(s)}; }

static bool span_is(fca_policy_str_t a, const char *b) {
  return a.n == strlen(b) && memcmp(a.s, b, a.n) == 0;
}

Test(csp_parse, policy_list_splits_on_comma_and_drops_empty_policies) {
  /* §2.2.2: strictly split on ','; a policy with no directive is not added */
  const char *h = "script-src 'self', ,  ; ;, default-src 'none'";
  size_t pos = 0;
  fca_policy_str_t p;
  cr_assert(fca_csp_next_policy(S(h), &pos, &p));
  cr_assert(span_is(p, "script-src 'self'"));
  cr_assert(fca_csp_next_policy(S(h), &pos, &p));
  cr_assert(span_is(p, " default-src 'none'"));
  cr_assert_not(fca_csp_next_policy(S(h), &pos, &p));
  pos = 0;
  cr_assert_not(fca_csp_next_policy(S(""), &pos, &p));
}

Test(csp_parse, directives_trimmed_named_and_valued) {
  /* §2.2.1 step 2.1 strip ASCII whitespace (TAB LF FF CR SP); 2.3 name up to whitespace */
  const char *pol = "\t Script-SRC\f 'self'  https://a.example \r; ;img-src;";
  size_t pos = 0;
  fca_csp_directive_t d;
  cr_assert(fca_csp_next_directive(S(pol), &pos, &d));
  cr_assert(span_is(d.name, "Script-SRC"));
  cr_assert(span_is(d.value, "'self'  https://a.example"));
  cr_assert(fca_csp_next_directive(S(pol), &pos, &d));
  cr_assert(span_is(d.name, "img-src"));
  cr_assert_eq(d.value.n, 0);
  cr_assert_not(fca_csp_next_directive(S(pol), &pos, &d));
}

Test(csp_parse, non_ascii_directive_skipped) {
  /* §2.2.1 step 2.2: a token that is not an ASCII string is skipped whole */
  fca_csp_directive_t d;
  cr_assert_not(fca_csp_find(S("script-src https://\xc3\xa9.example"), "script-src", &d));
  cr_assert(
      fca_csp_find(S("script-src https://\xc3\xa9.example; script-src 'none'"), "script-src", &d));
  cr_assert(span_is(d.value, "'none'"));
}

Test(csp_parse, names_case_insensitive_first_occurrence_wins) {
  /* §2.2.1 steps 2.4/2.5: lower-cased; a repeated name is ignored */
  fca_csp_directive_t d;
  cr_assert(fca_csp_find(S("SCRIPT-SRC a.example; script-src b.example"), "script-src", &d));
  cr_assert(span_is(d.value, "a.example"));
  cr_assert_not(fca_csp_find(S("script-src-elem x"), "script-src", &d));
}

static fca_csp_source_t src(const char *s) {
  fca_csp_source_t o;
  fca_csp_parse_source(s, strlen(s), &o);
  return o;
}

Test(csp_parse, keyword_sources_case_insensitive) {
  struct {
    const char *t;
    fca_csp_src_kind_t k;
  } c[] = {{"'none'", FCA_CSP_SRC_NONE},
           {"'NONE'", FCA_CSP_SRC_NONE},
           {"'self'", FCA_CSP_SRC_SELF},
           {"'Self'", FCA_CSP_SRC_SELF},
           {"'unsafe-inline'", FCA_CSP_SRC_UNSAFE_INLINE},
           {"'unsafe-eval'", FCA_CSP_SRC_UNSAFE_EVAL},
           {"'strict-dynamic'", FCA_CSP_SRC_STRICT_DYNAMIC},
           {"'unsafe-hashes'", FCA_CSP_SRC_UNSAFE_HASHES},
           {"'report-sample'", FCA_CSP_SRC_REPORT_SAMPLE},
           {"'wasm-unsafe-eval'", FCA_CSP_SRC_KEYWORD},
           {"self", FCA_CSP_SRC_HOST}, /* unquoted: a host named "self" */
           {"'self", FCA_CSP_SRC_INVALID},
           {"'bogus'", FCA_CSP_SRC_INVALID},
           {"*", FCA_CSP_SRC_STAR}};
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
    cr_assert_eq(src(c[i].t).kind, c[i].k, "%s", c[i].t);
}

Test(csp_parse, nonce_and_hash_sources) {
  fca_csp_source_t s = src("'nonce-abc+/_-=='");
  cr_assert_eq(s.kind, FCA_CSP_SRC_NONCE);
  cr_assert(span_is(s.b64, "abc+/_-=="));
  cr_assert_eq(src("'NONCE-abc'").kind, FCA_CSP_SRC_NONCE);
  cr_assert_eq(src("'nonce-'").kind, FCA_CSP_SRC_INVALID);     /* 1*char */
  cr_assert_eq(src("'nonce-a==='").kind, FCA_CSP_SRC_INVALID); /* at most two '=' */
  cr_assert_eq(src("'nonce-a=b'").kind, FCA_CSP_SRC_INVALID);  /* '=' only at the end */
  cr_assert_eq(src("'nonce-a b'").kind, FCA_CSP_SRC_INVALID);
  s = src("'sha384-AbC='");
  cr_assert_eq(s.kind, FCA_CSP_SRC_HASH);
  cr_assert_eq(s.alg, FCA_SHA384);
  cr_assert(span_is(s.b64, "AbC="));
  cr_assert_eq(src("'SHA256-x'").alg, FCA_SHA256);
  cr_assert_eq(src("'sha512-x'").alg, FCA_SHA512);
  cr_assert_eq(src("'sha1-x'").kind, FCA_CSP_SRC_INVALID);
  cr_assert_eq(src("'sha256-'").kind, FCA_CSP_SRC_INVALID);
}

Test(csp_parse, scheme_sources) {
  fca_csp_source_t s = src("https:");
  cr_assert_eq(s.kind, FCA_CSP_SRC_SCHEME);
  cr_assert(span_is(s.scheme, "https"));
  cr_assert_eq(src("data:").kind, FCA_CSP_SRC_SCHEME);
  cr_assert_eq(src("web+x.y-z:").kind, FCA_CSP_SRC_SCHEME);
  cr_assert_eq(src("1http:").kind, FCA_CSP_SRC_INVALID);
  cr_assert_eq(src(":").kind, FCA_CSP_SRC_INVALID);
}

Test(csp_parse, host_sources) {
  fca_csp_source_t s = src("https://*.js.stripe.com:443/v3/");
  cr_assert_eq(s.kind, FCA_CSP_SRC_HOST);
  cr_assert(span_is(s.scheme, "https"));
  cr_assert(span_is(s.host, "*.js.stripe.com"));
  cr_assert(span_is(s.port, "443"));
  cr_assert(span_is(s.path, "/v3/"));
  s = src("js.stripe.com");
  cr_assert_eq(s.kind, FCA_CSP_SRC_HOST);
  cr_assert_eq(s.scheme.n, 0);
  cr_assert_eq(s.port.n, 0);
  cr_assert_eq(s.path.n, 0);
  s = src("localhost:*");
  cr_assert_eq(s.kind, FCA_CSP_SRC_HOST);
  cr_assert(span_is(s.port, "*"));
  s = src("https://*");
  cr_assert_eq(s.kind, FCA_CSP_SRC_HOST);
  cr_assert(span_is(s.host, "*"));
  cr_assert_eq(src("example.com.").kind, FCA_CSP_SRC_HOST); /* trailing dot allowed */
  cr_assert_eq(src("a.example/p%20q/r;x").kind, FCA_CSP_SRC_HOST);
  const char *bad[] = {"https://",     "*.",           "a..example",      "https://a:",
                       "https://a:8x", "a.example//p", "a.example/%zz",   "a.example/p?q",
                       "https://*x.a", "exa_mple.com", "http:/a.example", "*.*.a.example"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    cr_assert_eq(src(bad[i]).kind, FCA_CSP_SRC_INVALID, "%s", bad[i]);
}

Test(csp_parse, source_list_iteration) {
  const char *v = "  'self'\thttps: \n 'nonce-x' ";
  size_t pos = 0;
  fca_csp_source_t s;
  fca_csp_src_kind_t want[] = {FCA_CSP_SRC_SELF, FCA_CSP_SRC_SCHEME, FCA_CSP_SRC_NONCE};
  for (size_t i = 0; i < 3; i++) {
    cr_assert(fca_csp_next_source(S(v), &pos, &s));
    cr_assert_eq(s.kind, want[i]);
  }
  cr_assert_not(fca_csp_next_source(S(v), &pos, &s));
}

Test(csp_parse, fallback_lists) {
  /* §6.8.3 */
  const char *const *l = fca_csp_fallback(FCA_CSP_SCRIPT_ELEM);
  cr_assert_str_eq(l[0], "script-src-elem");
  cr_assert_str_eq(l[1], "script-src");
  cr_assert_str_eq(l[2], "default-src");
  cr_assert_null(l[3]);
  l = fca_csp_fallback(FCA_CSP_SCRIPT_ATTR);
  cr_assert_str_eq(l[0], "script-src-attr");
  cr_assert_str_eq(l[1], "script-src");
  l = fca_csp_fallback(FCA_CSP_FRAME);
  cr_assert_str_eq(l[0], "frame-src");
  cr_assert_str_eq(l[1], "child-src");
  cr_assert_str_eq(l[2], "default-src");
  l = fca_csp_fallback(FCA_CSP_CONNECT);
  cr_assert_str_eq(l[0], "connect-src");
  cr_assert_str_eq(l[1], "default-src");
  cr_assert_null(l[2]);
}

Test(csp_parse, governing_directive_first_present_in_fallback_list) {
  /* §6.8.4: the first name of the fallback list that the policy has */
  fca_csp_directive_t d;
  const char *pol = "default-src 'none'; child-src c.example; script-src s.example";
  cr_assert_eq(fca_csp_governing(S(pol), FCA_CSP_SCRIPT_ELEM, &d), 1);
  cr_assert(span_is(d.value, "s.example"));
  cr_assert_eq(fca_csp_governing(S(pol), FCA_CSP_SCRIPT_ATTR, &d), 1);
  cr_assert_eq(fca_csp_governing(S(pol), FCA_CSP_FRAME, &d), 1);
  cr_assert(span_is(d.value, "c.example"));
  cr_assert_eq(fca_csp_governing(S(pol), FCA_CSP_CONNECT, &d), 1);
  cr_assert(span_is(d.value, "'none'"));
  cr_assert_eq(
      fca_csp_governing(S("script-src-elem e; script-src-attr a"), FCA_CSP_SCRIPT_ELEM, &d), 0);
  cr_assert(span_is(d.value, "e"));
  cr_assert_eq(fca_csp_governing(S("img-src *"), FCA_CSP_CONNECT, &d), -1);
  cr_assert_eq(fca_csp_governing(S("frame-src f"), FCA_CSP_FRAME, &d), 0);
  cr_assert_eq(fca_csp_governing(S("default-src d"), FCA_CSP_FRAME, &d), 2);
}
