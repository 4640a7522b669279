/* Unit tests for rule_csp (FC-CSP-1..4) through the audit engine: which policies count
 * (headers, comma lists, <meta> in the head for the elements after it, report-only), the
 * element-level decisions (nonce, integrity, 'strict-dynamic', dynamic tagging), inline set-up
 * code (scripts and handlers, hashes over normalised text), evidence, fixes and levels. Body
 * tests run with the document split at every byte offset. */
#include "audit_capture.h"
#include "fcaudit/ruleset.h"
#include "fcaudit/util.h"
#include "sha2.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STRIPE "<script src=\"https://js.stripe.com/v3\"></script>"
#define HELMET                                                                                     \
  "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';"            \
  "frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self';"               \
  "script-src-attr 'none';style-src 'self' https: 'unsafe-inline';upgrade-insecure-requests"
#define STRIPE_CSP                                                                                 \
  "default-src 'self'; script-src 'self' https://js.stripe.com https://*.js.stripe.com; "          \
  "frame-src https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com; "             \
  "connect-src 'self' https://api.stripe.com"

static capture_t cap;
static fca_audit_t *A;

static void setup(void) {
  cap_init(&cap);
  A = cap_audit(&cap, "staging");
}

static void teardown(void) {
  fca_audit_free(A);
  cap_free(&cap);
}

TestSuite(rule_csp, .init = setup, .fini = teardown);

/* A top-level document with up to three extra headers, fed in slices of `chunk` bytes. */
static void doc3(const char *url, const char *body, size_t chunk, const char *h[3][2]) {
  xreq_t r = {.url = url,
              .dest = "document",
              .ctype = "text/html",
              .body = body,
              .now_ms = 1000,
              .chunk = chunk};
  for (int i = 0; i < 3 && h && h[i][0]; i++) {
    r.h[i][0] = h[i][0];
    r.h[i][1] = h[i][1];
  }
  x_run(A, &r);
}

static void doc(const char *url, const char *body, const char *name, const char *value) {
  const char *h[3][2] = {{name, value}, {NULL, NULL}, {NULL, NULL}};
  doc3(url, body, 0, name ? h : NULL);
}

static void assert_rules(const char *want) {
  char *got = cap_rules(&cap);
  cr_assert_str_eq(got, want);
  free(got);
}

/* The same document at every split: the same rules each time. */
static void every_split(const char *body, const char *h[3][2], const char *want) {
  size_t n = strlen(body);
  for (size_t chunk = 1; chunk <= n; chunk++) {
    fca_audit_free(A);
    cap_clear(&cap);
    A = cap_audit(&cap, "staging");
    doc3("https://shop.test/pay", body, chunk, h);
    char *got = cap_rules(&cap);
    cr_assert_str_eq(got, want, "chunk %zu: [%s]", chunk, got);
    free(got);
  }
}

Test(rule_csp, helmet_defaults_block_stripe) {
  doc("https://shop.test/pay", STRIPE, "Content-Security-Policy", HELMET);
  assert_rules("FC-CSP-1 FC-CSP-2 FC-CSP-3");
  const cap_event_t *v = cap_find(&cap, FCA_EV_VIOLATION, "FC-CSP-1");
  cr_assert_eq(v->level, FCA_LEVEL_ERROR);
  cr_assert_eq(v->item, 0);
  cr_assert_str_eq(v->ev_source, "csp");
  cr_assert_str_eq(v->ev_name, "Content-Security-Policy");
  cr_assert_str_eq(v->ev_value, HELMET);
  cr_assert_not_null(strstr(v->message, "script-src 'self' (used because"), "%s", v->message);
  cr_assert_not_null(strstr(v->message, "(used because the policy has no script-src-elem)"), "%s",
                     v->message);
  cr_assert_str_eq(v->fix, "Use \"script-src 'self' https://js.stripe.com https://*.js.stripe.com\""
                           " in this policy (its own sources kept)");
  v = cap_find(&cap, FCA_EV_VIOLATION, "FC-CSP-2");
  cr_assert_not_null(strstr(v->message, "default-src 'self' (used because the policy has no "
                                        "frame-src or child-src) does not allow frames"),
                     "%s", v->message);
  cr_assert_str_eq(v->fix, "Add \"frame-src 'self' https://js.stripe.com https://*.js.stripe.com "
                           "https://hooks.stripe.com\" in this policy (its own sources kept)");
  v = cap_find(&cap, FCA_EV_VIOLATION, "FC-CSP-3");
  cr_assert_not_null(strstr(v->fix, "\"connect-src 'self' https://api.stripe.com\""));
  cr_assert_null(cap_find(&cap, FCA_EV_PASS, NULL));
}

Test(rule_csp, stripes_documented_csp_passes) {
  doc("https://shop.test/pay", STRIPE, "Content-Security-Policy", STRIPE_CSP);
  assert_rules("");
  cr_assert_not_null(cap_find(&cap, FCA_EV_PASS, NULL));
}

Test(rule_csp, no_csp_no_finding) {
  doc("https://shop.test/pay", STRIPE "<script>Stripe('pk_test_abc')</script>", NULL, NULL);
  assert_rules("");
}

Test(rule_csp, every_policy_counts) {
  /* two header lines: the second blocks, and it is the evidence */
  const char *h[3][2] = {{"Content-Security-Policy", STRIPE_CSP},
                         {"Content-Security-Policy", "connect-src 'self'"},
                         {NULL, NULL}};
  doc3("https://shop.test/a", STRIPE, 0, h);
  assert_rules("FC-CSP-3");
  cr_assert_str_eq(cap_find(&cap, FCA_EV_VIOLATION, "FC-CSP-3")->ev_value, "connect-src 'self'");
  cap_clear(&cap);
  /* a comma-joined header: two policies, each one judged */
  doc("https://shop.test/b", STRIPE, "Content-Security-Policy",
      STRIPE_CSP ", script-src https://js.stripe.com/v2/");
  assert_rules("FC-CSP-1");
  cr_assert_not_null(strstr(cap_find(&cap, FCA_EV_VIOLATION, "FC-CSP-1")->message,
                            "script-src https://js.stripe.com/v2/ (used because the policy has "
                            "no script-src-elem) does not allow"));
  cap_clear(&cap);
  /* the first of two script-src directives wins; names are case-insensitive */
  doc("https://shop.test/c", STRIPE, "Content-Security-Policy",
      "SCRIPT-SRC https://js.stripe.com; script-src 'none'");
  assert_rules("");
}

Test(rule_csp, meta_applies_to_later_elements_in_head_only) {
  const char *meta = "<meta http-equiv=\"content-security-policy\" content=\"script-src 'self'; "
                     "connect-src 'self'\">";
  /* before the script: FC-CSP-1 and FC-CSP-3, evidence the tag */
  char *b = fca_xasprintf("<head>%s%s</head>", meta, STRIPE);
  every_split(b, NULL, "FC-CSP-1 FC-CSP-3");
  const cap_event_t *v = cap_find(&cap, FCA_EV_VIOLATION, "FC-CSP-1");
  cr_assert_str_eq(v->ev_source, "meta");
  cr_assert_str_eq(v->ev_name, "meta[http-equiv=Content-Security-Policy]");
  cr_assert_str_eq(v->ev_value, meta);
  cr_assert_eq(v->ev_offset, 6);
  free(b);
  /* after the script: Stripe.js already loaded, but fetches later are blocked */
  b = fca_xasprintf("<head>%s%s</head>", STRIPE, meta);
  every_split(b, NULL, "FC-CSP-3");
  free(b);
  /* in the body: ignored (Chromium: "outside the document's <head>") */
  b = fca_xasprintf("<head></head><body><div>%s</div>%s", meta, STRIPE);
  every_split(b, NULL, "");
  free(b);
  /* empty content, inert (template), report-only in meta: ignored */
  b = fca_xasprintf("<meta http-equiv=content-security-policy content=''>"
                    "<template><meta http-equiv=content-security-policy content=\"default-src "
                    "'none'\"></template>"
                    "<meta http-equiv=content-security-policy-report-only content=\"default-src "
                    "'none'\">%s",
                    STRIPE);
  every_split(b, NULL, "");
  free(b);
  /* a comma splits a meta's content into policies, as in Chromium (checked there: a meta
   * "script-src 'none', script-src 'self'" blocks same-origin scripts) */
  cap_clear(&cap);
  doc("https://shop.test/m",
      "<meta http-equiv=Content-Security-Policy content=\"connect-src 'self', "
      "connect-src https://api.stripe.com\">" STRIPE,
      NULL, NULL);
  assert_rules("FC-CSP-3");
  /* frame-ancestors/sandbox in meta do nothing here */
  cap_clear(&cap);
  doc("https://shop.test/n",
      "<meta http-equiv=Content-Security-Policy content=\"sandbox; frame-ancestors "
      "'none'\">" STRIPE,
      NULL, NULL);
  assert_rules("");
}

Test(rule_csp, nonce_integrity_and_strict_dynamic) {
  const char *pol = "script-src 'nonce-abc123' 'strict-dynamic' https://js.stripe.com";
  doc("https://shop.test/1", "<script nonce=abc123 src=\"https://js.stripe.com/v3\"></script>",
      "Content-Security-Policy", pol);
  assert_rules("");
  doc("https://shop.test/2", STRIPE, "Content-Security-Policy", pol);
  assert_rules("FC-CSP-1");
  const cap_event_t *v = cap_find(&cap, FCA_EV_VIOLATION, "FC-CSP-1");
  cr_assert_not_null(strstr(v->message, "'strict-dynamic'"), "%s", v->message);
  cr_assert_not_null(strstr(v->fix, "nonce"), "%s", v->fix);
  cap_clear(&cap);
  /* not nonceable: a repeated attribute, or markup smuggled into an attribute */
  doc("https://shop.test/3",
      "<script nonce=abc123 src=\"https://js.stripe.com/v3\" id=a id=b></script>",
      "Content-Security-Policy", pol);
  doc("https://shop.test/4",
      "<script nonce=abc123 data-x=\"<script\" src=\"https://js.stripe.com/v3\"></script>",
      "Content-Security-Policy", pol);
  assert_rules("FC-CSP-1 FC-CSP-1");
  cap_clear(&cap);
  /* integrity covered by the policy's hash sources */
  doc("https://shop.test/5",
      "<script integrity=\"sha384-AbCd\" src=\"https://js.stripe.com/v3\"></script>",
      "Content-Security-Policy", "script-src 'sha384-AbCd'");
  assert_rules("");
  doc("https://shop.test/6",
      "<script integrity=\"sha384-AbCe\" src=\"https://js.stripe.com/v3\"></script>",
      "Content-Security-Policy", "script-src 'sha384-AbCd'");
  assert_rules("FC-CSP-1");
}

Test(rule_csp, dynamic_tag_judged_as_script_inserted) {
  /* tagged by a literal in an inline script: judged for https://js.stripe.com/v3/ inserted by
   * a script, which 'strict-dynamic' trusts */
  const char *body = "<script nonce=n1>var s=document.createElement('script');"
                     "s.src='https://js.stripe.com/v3/';document.head.appendChild(s)</script>";
  doc("https://shop.test/d1", body, "Content-Security-Policy",
      "script-src 'nonce-n1' 'strict-dynamic'; connect-src https://api.stripe.com; "
      "frame-src https://js.stripe.com");
  assert_rules("");
  doc("https://shop.test/d2", body, "Content-Security-Policy",
      "script-src 'nonce-n1' https://js.stripe.com/v3; connect-src *; frame-src *");
  assert_rules("FC-CSP-1");
  cr_assert_not_null(
      strstr(cap_find(&cap, FCA_EV_VIOLATION, "FC-CSP-1")->message, "inserted by a script"));
}

static char *sha256_b64(const char *s) {
  fca_sha2_t c;
  unsigned char d[32];
  fca_sha2_init(&c, FCA_SHA256);
  fca_sha2_update(&c, s, strlen(s));
  fca_sha2_final(&c, d);
  char *out = malloc(64);
  fca_base64_encode(d, 32, out);
  return out;
}

Test(rule_csp, inline_setup_code) {
  const char *h[3][2] = {{"Content-Security-Policy", STRIPE_CSP}, {NULL, NULL}, {NULL, NULL}};
  every_split(STRIPE "<script>\r\nconst stripe = Stripe('pk_test_1');\r\n</script>", h, "FC-CSP-4");
  const cap_event_t *v = cap_find(&cap, FCA_EV_VIOLATION, "FC-CSP-4");
  cr_assert_eq(v->level, FCA_LEVEL_WARNING);
  cr_assert_not_null(strstr(v->message, "inline <script> at byte 48 (Stripe() is blocked by "
                                        "script-src 'self' https://js.stripe.com"),
                     "%s", v->message);
  /* the fix names the hash of the text as the browser sees it (CRLF -> LF) */
  char *hash = sha256_b64("\nconst stripe = Stripe('pk_test_1');\n");
  char *want = fca_xasprintf("'sha256-%s'", hash);
  cr_assert_not_null(strstr(v->fix, want), "%s", v->fix);
  /* ... and that hash allows it, at every split */
  const char *h2[3][2] = {{"Content-Security-Policy", NULL}, {NULL, NULL}, {NULL, NULL}};
  char *pol = fca_xasprintf("script-src https://js.stripe.com %s", want);
  h2[0][1] = pol;
  every_split(STRIPE "<script>\r\nconst stripe = Stripe('pk_test_1');\r\n</script>", h2, "");
  free(pol);
  free(want);
  free(hash);
  /* code that does not set Stripe up is not a finding; nor code that does not run */
  every_split(STRIPE "<script>console.log(1)</script><script type=text/plain>Stripe(1)</script>", h,
              "");
}

Test(rule_csp, inline_unsafe_inline_nonce_interplay) {
  const char *body = STRIPE "<script nonce=zz>stripe.collectFinancialConnectionsAccounts({})"
                            "</script>";
  doc("https://shop.test/i1", body, "Content-Security-Policy",
      "script-src https://js.stripe.com 'unsafe-inline'");
  assert_rules("");
  doc("https://shop.test/i2", body, "Content-Security-Policy",
      "script-src https://js.stripe.com 'unsafe-inline' 'nonce-other'");
  assert_rules("FC-CSP-4");
  cr_assert_not_null(
      strstr(cap_find(&cap, FCA_EV_VIOLATION, "FC-CSP-4")->message, "'unsafe-inline' is ignored"));
  cap_clear(&cap);
  doc("https://shop.test/i3", body, "Content-Security-Policy",
      "script-src https://js.stripe.com 'unsafe-inline' 'nonce-zz'");
  assert_rules("");
  /* script-src-elem governs the element, not script-src */
  doc("https://shop.test/i4", body, "Content-Security-Policy",
      "script-src 'unsafe-inline'; script-src-elem https://js.stripe.com");
  assert_rules("FC-CSP-4");
}

Test(rule_csp, event_handlers) {
  const char *body = STRIPE "<button onclick=\"stripe.collectBankAccountToken({})\">x</button>";
  const char *h[3][2] = {{"Content-Security-Policy",
                          HELMET ";script-src 'self' https://js.stripe.com;"
                                 "frame-src *;connect-src *"},
                         {NULL, NULL},
                         {NULL, NULL}};
  every_split(body, h, "FC-CSP-1 FC-CSP-4");
  /* helmet's script-src 'self' came first (first directive wins), so Stripe.js is blocked; the
   * handler by script-src-attr 'none' */
  const cap_event_t *v = cap_find(&cap, FCA_EV_VIOLATION, "FC-CSP-4");
  cr_assert_not_null(strstr(v->message, "the onclick attribute"), "%s", v->message);
  cr_assert_not_null(strstr(v->message, "script-src-attr 'none'"), "%s", v->message);
  cr_assert_not_null(strstr(v->fix, "\"script-src-attr 'unsafe-hashes' 'sha256-"), "%s", v->fix);
  cap_clear(&cap);
  char *hash = sha256_b64("stripe.collectBankAccountToken({})");
  char *pol = fca_xasprintf(STRIPE_CSP "; script-src-attr 'sha256-%s'", hash);
  doc("https://shop.test/e1", body, "Content-Security-Policy", pol);
  assert_rules("FC-CSP-4"); /* a hash alone does not allow a handler */
  free(pol);
  cap_clear(&cap);
  pol = fca_xasprintf(STRIPE_CSP "; script-src-attr 'unsafe-hashes' 'sha256-%s'", hash);
  doc("https://shop.test/e2", body, "Content-Security-Policy", pol);
  assert_rules("");
  free(pol);
  free(hash);
}

Test(rule_csp, report_only_is_info_and_never_fails) {
  doc("https://shop.test/ro", STRIPE, "Content-Security-Policy-Report-Only", HELMET);
  assert_rules("FC-CSP-1 FC-CSP-2 FC-CSP-3");
  for (size_t i = 0; i < cap.n; i++)
    if (cap.ev[i].type == FCA_EV_VIOLATION) {
      cr_assert_eq(cap.ev[i].level, FCA_LEVEL_INFO);
      cr_assert_str_eq(cap.ev[i].ev_name, "Content-Security-Policy-Report-Only");
      cr_assert(strncmp(cap.ev[i].message, "Report-only", 11) == 0, "%s", cap.ev[i].message);
    }
  cr_assert_not_null(cap_find(&cap, FCA_EV_PASS, NULL));
}

Test(rule_csp, levels_apply) {
  fca_audit_free(A);
  fca_ruleset_t *rs = fca_ruleset_new();
  char err[200];
  cr_assert_eq(fca_ruleset_apply_cli(rs, "FC-CSP-1=ignore", err, sizeof err), 0);
  cr_assert_eq(fca_ruleset_apply_cli(rs, "FC-CSP-2=warning", err, sizeof err), 0);
  fca_audit_opts_t o = {
      .emit = cap_fn, .emit_ud = &cap, .dedup = true, .env = "staging", .rules = rs};
  A = fca_audit_new(&o);
  doc("https://shop.test/l", STRIPE, "Content-Security-Policy", HELMET);
  assert_rules("FC-CSP-2 FC-CSP-3");
  cr_assert_eq(cap_find(&cap, FCA_EV_VIOLATION, "FC-CSP-2")->level, FCA_LEVEL_WARNING);
  fca_audit_free(A);
  A = NULL;
  fca_ruleset_free(rs);
  A = cap_audit(&cap, "staging");
}
