/* Unit tests for csp_match: CSP3 §6.7 as browsers apply one policy to Stripe.js, inline code,
 * frames and fetches. Each test names the spec step it checks. */
#include "csp.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static fca_policy_str_t S(const char *s) { return (fca_policy_str_t){s, strlen(s)}; }

#define PAGE "https://shop.example/checkout"
#define V3 "https://js.stripe.com/v3/"

static bool url_ok(const char *list, const char *url, const char *page) {
  return fca_csp_url_matches_list(S(list), url, page);
}

/* ---- §6.7.2.5 source lists --------------------------------------------------------------- */
Test(csp_match, empty_list_and_none) {
  cr_assert_not(url_ok("", V3, PAGE));       /* step 2 */
  cr_assert_not(url_ok("'none'", V3, PAGE)); /* step 3 */
  cr_assert_not(url_ok(" 'NONE' ", V3, PAGE));
  cr_assert(url_ok("'none' https://js.stripe.com", V3, PAGE)); /* 'none' among others */
  cr_assert_not(url_ok("'bogus' nonsense/%zz", V3, PAGE));     /* invalid expressions */
}

/* ---- §6.7.2.6 step 1: "*" ---------------------------------------------------------------- */
Test(csp_match, star) {
  cr_assert(url_ok("*", V3, PAGE));
  cr_assert(url_ok("*", "http://js.stripe.com/v3/", PAGE));
  cr_assert_not(url_ok("*", "data:text/javascript,1", PAGE));
  cr_assert_not(url_ok("*", "blob:https://shop.example/x", PAGE));
  /* the page's own scheme matches too */
  cr_assert(url_ok("*", "ftp://files.example/x", "ftp://files.example/"));
}

/* ---- step 2: scheme sources, §6.7.2.7 scheme-part matching -------------------------------- */
Test(csp_match, scheme_source) {
  cr_assert(url_ok("https:", V3, PAGE));
  cr_assert(url_ok("HTTPS:", V3, PAGE));
  cr_assert(url_ok("http:", V3, PAGE)); /* http upgrades to https */
  cr_assert_not(url_ok("https:", "http://js.stripe.com/v3/", PAGE));
  cr_assert_not(url_ok("data:", V3, PAGE));
  cr_assert(url_ok("ws:", "wss://api.stripe.com/", PAGE));
  cr_assert(url_ok("ws:", "https://api.stripe.com/", PAGE));
  cr_assert(url_ok("wss:", "https://api.stripe.com/", PAGE));
  cr_assert_not(url_ok("wss:", "http://api.stripe.com/", PAGE));
}

/* ---- step 3: host sources ------------------------------------------------------------------ */
Test(csp_match, host_exact_and_case) {
  cr_assert(url_ok("https://js.stripe.com", V3, PAGE));
  cr_assert(url_ok("HTTPS://JS.Stripe.COM", V3, PAGE));
  cr_assert_not(url_ok("https://stripe.com", V3, PAGE));
  cr_assert_not(url_ok("https://js.stripe.com.evil.example", V3, PAGE));
}

Test(csp_match, host_wildcard_subdomains_only) {
  /* §6.7.2.8 step 3: "*." matches subdomains, not the domain itself */
  cr_assert(url_ok("https://*.stripe.com", V3, PAGE));
  cr_assert(url_ok("https://*.stripe.com", "https://a.b.stripe.com/x", PAGE));
  cr_assert_not(url_ok("https://*.js.stripe.com", V3, PAGE));
  cr_assert(url_ok("https://*.js.stripe.com", "https://m.js.stripe.com/x", PAGE));
  cr_assert_not(url_ok("*.stripe.com", "https://xstripe.com/", PAGE));
  cr_assert(url_ok("https://*", V3, PAGE));
}

Test(csp_match, host_ip_literal_as_chromium_matches_it) {
  /* §6.7.2.8 step 1 matches domains only, but Chromium matches an address host by "*" or the
   * same literal (checked in Chromium 13x); "*." never matches an address */
  cr_assert(
      url_ok("http://127.0.0.1:8080", "http://127.0.0.1:8080/a.js", "http://localhost:8080/"));
  cr_assert(url_ok("*:8080", "http://127.0.0.1:8080/a.js", "http://localhost:8080/"));
  cr_assert_not(url_ok("http://127.0.0.2:8080", "http://127.0.0.1:8080/a.js", "http://x.test/"));
  cr_assert_not(url_ok("http://*.0.0.1:8080", "http://127.0.0.1:8080/a.js", "http://x.test/"));
  cr_assert(url_ok("'self'", "http://127.0.0.1:8080/a.js", "http://127.0.0.1:8080/"));
}

Test(csp_match, host_implied_scheme_is_the_pages) {
  /* step 3.2: no scheme-part: the origin's scheme, upgraded from http to https */
  cr_assert(url_ok("js.stripe.com", V3, PAGE));
  cr_assert(url_ok("js.stripe.com", V3, "http://shop.example/"));
  cr_assert_not(url_ok("js.stripe.com", "http://js.stripe.com/v3/", PAGE));
  cr_assert(url_ok("http://js.stripe.com", V3, PAGE)); /* step 2.1: explicit http upgrades */
  cr_assert_not(url_ok("https://js.stripe.com", "http://js.stripe.com/v3/", PAGE));
  cr_assert_not(url_ok("ftp://js.stripe.com", V3, PAGE));
  cr_assert_not(url_ok("js.stripe.com", "data:,x", PAGE)); /* 3.1: no host */
}

Test(csp_match, host_ports) {
  /* §6.7.2.9 */
  cr_assert(url_ok("https://js.stripe.com:443", V3, PAGE)); /* default port */
  cr_assert(url_ok("https://js.stripe.com:0443", V3, PAGE));
  cr_assert_not(url_ok("https://js.stripe.com:8443", V3, PAGE));
  cr_assert(url_ok("https://js.stripe.com:*", "https://js.stripe.com:9/v3/", PAGE));
  cr_assert(url_ok("https://js.stripe.com:9", "https://js.stripe.com:9/v3/", PAGE));
  cr_assert_not(url_ok("https://js.stripe.com", "https://js.stripe.com:9/v3/", PAGE));
  /* http://host (port null) upgraded to https (port null): matches */
  cr_assert(url_ok("http://js.stripe.com", V3, PAGE));
  /* an explicit :80 is not https's default */
  cr_assert_not(url_ok("http://js.stripe.com:80", V3, PAGE));
  cr_assert(url_ok("js.stripe.com:443", V3, "http://shop.example/"));
}

Test(csp_match, host_paths) {
  /* §6.7.2.10: trailing "/" = prefix, else exact; query ignored; percent-decoded */
  cr_assert(url_ok("https://js.stripe.com/v3/", V3, PAGE));
  cr_assert(url_ok("https://js.stripe.com/v3/", "https://js.stripe.com/v3/x/y.js", PAGE));
  cr_assert(url_ok("https://js.stripe.com/", V3, PAGE));
  cr_assert_not(url_ok("https://js.stripe.com/v3", V3, PAGE)); /* exact: /v3 is not /v3/ */
  cr_assert(url_ok("https://js.stripe.com/v3", "https://js.stripe.com/v3", PAGE));
  cr_assert(url_ok("https://js.stripe.com/v3", "https://js.stripe.com/v3?x=/v2", PAGE));
  cr_assert_not(url_ok("https://js.stripe.com/v2/", V3, PAGE));
  cr_assert_not(url_ok("https://js.stripe.com/v3/x/", V3, PAGE)); /* longer than the URL */
  cr_assert(url_ok("https://js.stripe.com/v%33/", V3, PAGE));
  cr_assert(url_ok("https://js.stripe.com/basil/stripe.js",
                   "https://js.stripe.com/basil/stripe%2Ejs", PAGE));
  cr_assert(fca_csp_path_matches(S("/"), S("")));
  cr_assert(fca_csp_path_matches(S(""), S("/anything")));
  cr_assert_not(fca_csp_path_matches(S("/a"), S("/b")));
}

/* ---- step 4: 'self' ----------------------------------------------------------------------- */
Test(csp_match, self) {
  cr_assert(url_ok("'self'", "https://shop.example/app.js", PAGE));
  cr_assert_not(url_ok("'self'", V3, PAGE));
  cr_assert_not(url_ok("'self'", "https://sub.shop.example/a.js", PAGE));
  cr_assert_not(url_ok("'self'", "https://shop.example:8443/a.js", PAGE));
  /* 4.2: same host, default ports, upgraded to https/wss */
  cr_assert(url_ok("'self'", "https://shop.example/a.js", "http://shop.example/"));
  cr_assert(url_ok("'self'", "wss://shop.example/s", "http://shop.example/"));
  cr_assert(url_ok("'self'", "ws://shop.example/s", "http://shop.example/"));
  cr_assert_not(url_ok("'self'", "http://shop.example/a.js", PAGE)); /* no downgrade */
  cr_assert_not(url_ok("'self'", "https://shop.example/a.js", "http://shop.example:8080/"));
  cr_assert(url_ok("'self'", "http://shop.example:8080/a", "http://shop.example:8080/"));
  cr_assert(url_ok("'self'", "https://shop.example:8080/a", "http://shop.example:8080/"));
  cr_assert_not(url_ok("'self'", "https://shop.example/a.js", "http://shop.example:443/"));
}

/* ---- §6.7.1.1 script pre-request check ---------------------------------------------------- */
static fca_csp_result_t script(const char *pol, const char *url, const char *nonce,
                               const char *integrity, bool parser_inserted, fca_csp_why_t *why) {
  fca_csp_request_t r = {.kind = FCA_CSP_SCRIPT_ELEM,
                         .url = url,
                         .parser_inserted = parser_inserted,
                         .nonceable = true};
  if (nonce) r.nonce = S(nonce);
  if (integrity) r.integrity = S(integrity);
  fca_csp_verdict_t v;
  fca_csp_check(S(pol), &r, PAGE, &v);
  if (why) *why = v.why;
  return v.result;
}

Test(csp_match, script_no_directive_allowed) {
  cr_assert_eq(script("img-src 'none'; frame-src 'none'", V3, NULL, NULL, true, NULL),
               FCA_CSP_ALLOWED_NO_DIRECTIVE);
}

Test(csp_match, script_fallbacks) {
  /* script-src-elem -> script-src -> default-src (§6.8.3) */
  cr_assert_eq(script("default-src 'self'", V3, NULL, NULL, true, NULL), FCA_CSP_BLOCKED);
  cr_assert_eq(
      script("default-src 'self'; script-src https://js.stripe.com", V3, NULL, NULL, true, NULL),
      FCA_CSP_ALLOWED);
  cr_assert_eq(script("script-src https://js.stripe.com; script-src-elem 'self'", V3, NULL, NULL,
                      true, NULL),
               FCA_CSP_BLOCKED);
  cr_assert_eq(script("script-src 'self'; script-src-attr https://js.stripe.com", V3, NULL, NULL,
                      true, NULL),
               FCA_CSP_BLOCKED); /* -attr does not govern elements */
  fca_csp_request_t r = {.kind = FCA_CSP_SCRIPT_ELEM, .url = V3, .parser_inserted = true};
  fca_csp_verdict_t v;
  fca_csp_check(S("default-src 'self'; script-src 'self'"), &r, PAGE, &v);
  cr_assert_str_eq(v.directive_name, "script-src");
  cr_assert_eq(v.fallback_index, 1);
}

Test(csp_match, script_nonce) {
  fca_csp_why_t why;
  const char *pol = "script-src 'nonce-R4nd0m'";
  cr_assert_eq(script(pol, V3, "R4nd0m", NULL, true, &why), FCA_CSP_ALLOWED);
  cr_assert_eq(why, FCA_CSP_WHY_NONCE);
  cr_assert_eq(script(pol, V3, "r4nd0m", NULL, true, NULL), FCA_CSP_BLOCKED); /* exact */
  cr_assert_eq(script(pol, V3, "", NULL, true, NULL), FCA_CSP_BLOCKED);       /* §6.7.2.2 s2 */
  cr_assert_eq(script(pol, V3, NULL, NULL, true, NULL), FCA_CSP_BLOCKED);
  /* not nonceable (§6.7.3.1): the nonce is ignored */
  fca_csp_request_t r = {.kind = FCA_CSP_SCRIPT_ELEM,
                         .url = V3,
                         .parser_inserted = true,
                         .nonce = S("R4nd0m"),
                         .nonceable = false};
  fca_csp_verdict_t v;
  fca_csp_check(S(pol), &r, PAGE, &v);
  cr_assert_eq(v.result, FCA_CSP_BLOCKED);
}

Test(csp_match, script_integrity_hash) {
  /* §6.7.1.1 steps 1.2-1.3: every integrity item needs a hash-source with its algorithm/value */
  const char *pol = "script-src 'sha384-AAA' 'sha256-BBB'";
  fca_csp_why_t why;
  cr_assert_eq(script(pol, V3, NULL, "sha384-AAA", true, &why), FCA_CSP_ALLOWED);
  cr_assert_eq(why, FCA_CSP_WHY_HASH);
  cr_assert_eq(script(pol, V3, NULL, "SHA384-AAA?opt  sha256-BBB", true, NULL), FCA_CSP_ALLOWED);
  cr_assert_eq(script(pol, V3, NULL, "sha384-AAA sha512-CCC", true, NULL), FCA_CSP_BLOCKED);
  cr_assert_eq(script(pol, V3, NULL, "sha256-AAA", true, NULL), FCA_CSP_BLOCKED);
  cr_assert_eq(script(pol, V3, NULL, "", true, NULL), FCA_CSP_BLOCKED);
  cr_assert_eq(script(pol, V3, NULL, "md5-AAA", true, NULL), FCA_CSP_BLOCKED); /* no metadata */
  cr_assert_eq(script(pol, V3, NULL, "md5-x sha384-AAA", true, NULL), FCA_CSP_ALLOWED);
}

Test(csp_match, script_strict_dynamic) {
  /* §6.7.1.1 step 1.4: host, scheme and 'self' ignored; parser-inserted blocked */
  const char *pol = "script-src 'strict-dynamic' 'nonce-n1' https://js.stripe.com https: 'self'";
  fca_csp_why_t why;
  cr_assert_eq(script(pol, V3, NULL, NULL, true, &why), FCA_CSP_BLOCKED);
  cr_assert_eq(why, FCA_CSP_WHY_STRICT_DYNAMIC);
  cr_assert_eq(script(pol, V3, NULL, NULL, false, NULL), FCA_CSP_ALLOWED); /* script-inserted */
  cr_assert_eq(script(pol, V3, "n1", NULL, true, NULL), FCA_CSP_ALLOWED);
  cr_assert_eq(
      script("script-src 'STRICT-DYNAMIC'", "https://evil.example/x.js", NULL, NULL, false, NULL),
      FCA_CSP_ALLOWED);
}

Test(csp_match, script_sources_and_unsafe_inline_irrelevant) {
  cr_assert_eq(script("script-src 'unsafe-inline'", V3, NULL, NULL, true, NULL), FCA_CSP_BLOCKED);
  cr_assert_eq(
      script("script-src 'report-sample' https://js.stripe.com/v3/", V3, NULL, NULL, true, NULL),
      FCA_CSP_ALLOWED);
  cr_assert_eq(script("script-src https://js.stripe.com/v3", V3, NULL, NULL, true, NULL),
               FCA_CSP_BLOCKED);
}

/* ---- §6.7.3 inline checks ----------------------------------------------------------------- */
static fca_csp_request_t inline_req(fca_csp_kind_t kind, const char *content, const char *nonce) {
  fca_csp_request_t r = {.kind = kind, .nonceable = true};
  if (nonce) r.nonce = S(nonce);
  bool algs[3] = {true, true, true};
  fca_csp_digest_t d;
  fca_csp_digest_init(&d, algs);
  fca_csp_digest_update(&d, content, strlen(content));
  fca_csp_digest_final(&d, &r);
  return r;
}

static fca_csp_result_t inl(const char *pol, fca_csp_kind_t kind, const char *content,
                            const char *nonce, fca_csp_why_t *why) {
  fca_csp_request_t r = inline_req(kind, content, nonce);
  fca_csp_verdict_t v;
  fca_csp_check(S(pol), &r, PAGE, &v);
  if (why) *why = v.why;
  return v.result;
}

/* sha256 of "Stripe('pk_test_1')" in base64 and base64url */
static void hash_of(const char *s, fca_sha2_alg_t alg, char *out) {
  fca_sha2_t c;
  unsigned char dg[64];
  fca_sha2_init(&c, alg);
  fca_sha2_update(&c, s, strlen(s));
  size_t n = fca_sha2_final(&c, dg);
  fca_base64_encode(dg, n, out);
}

#define CODE "Stripe('pk_test_1')"

Test(csp_match, inline_unsafe_inline_and_what_disables_it) {
  /* §6.7.3.2: 'unsafe-inline' allows all inline unless a nonce, hash or 'strict-dynamic' */
  fca_csp_why_t why;
  cr_assert_eq(inl("script-src 'unsafe-inline'", FCA_CSP_SCRIPT_ELEM, CODE, NULL, &why),
               FCA_CSP_ALLOWED);
  cr_assert_eq(why, FCA_CSP_WHY_UNSAFE_INLINE);
  cr_assert_eq(inl("script-src 'unsafe-inline' 'nonce-x'", FCA_CSP_SCRIPT_ELEM, CODE, NULL, &why),
               FCA_CSP_BLOCKED);
  cr_assert_eq(why, FCA_CSP_WHY_INLINE_IGNORED);
  cr_assert_eq(
      inl("script-src 'unsafe-inline' 'sha256-AAAA'", FCA_CSP_SCRIPT_ELEM, CODE, NULL, NULL),
      FCA_CSP_BLOCKED);
  cr_assert_eq(
      inl("script-src 'unsafe-inline' 'strict-dynamic'", FCA_CSP_SCRIPT_ELEM, CODE, NULL, NULL),
      FCA_CSP_BLOCKED);
  cr_assert_eq(inl("script-src 'self' https:", FCA_CSP_SCRIPT_ELEM, CODE, NULL, &why),
               FCA_CSP_BLOCKED);
  cr_assert_eq(why, FCA_CSP_WHY_INLINE);
  cr_assert_eq(inl("script-src 'unsafe-inline'", FCA_CSP_SCRIPT_ATTR, CODE, NULL, NULL),
               FCA_CSP_ALLOWED);
}

Test(csp_match, inline_nonce_elements_only) {
  fca_csp_why_t why;
  cr_assert_eq(
      inl("script-src 'nonce-abc' 'unsafe-inline'", FCA_CSP_SCRIPT_ELEM, CODE, "abc", &why),
      FCA_CSP_ALLOWED);
  cr_assert_eq(why, FCA_CSP_WHY_NONCE);
  cr_assert_eq(inl("script-src 'nonce-abc'", FCA_CSP_SCRIPT_ELEM, CODE, "abd", NULL),
               FCA_CSP_BLOCKED);
  /* §6.7.3.3 step 2: nonces apply to script and style elements, not attributes */
  cr_assert_eq(inl("script-src 'nonce-abc'", FCA_CSP_SCRIPT_ATTR, CODE, "abc", NULL),
               FCA_CSP_BLOCKED);
}

Test(csp_match, inline_hashes_each_algorithm_base64url) {
  const fca_sha2_alg_t algs[] = {FCA_SHA256, FCA_SHA384, FCA_SHA512};
  const char *names[] = {"sha256", "sha384", "sha512"};
  for (int i = 0; i < 3; i++) {
    char h[100], pol[200];
    hash_of(CODE, algs[i], h);
    snprintf(pol, sizeof pol, "script-src '%s-%s'", names[i], h);
    fca_csp_why_t why;
    cr_assert_eq(inl(pol, FCA_CSP_SCRIPT_ELEM, CODE, NULL, &why), FCA_CSP_ALLOWED, "%s", pol);
    cr_assert_eq(why, FCA_CSP_WHY_HASH);
    cr_assert_eq(inl(pol, FCA_CSP_SCRIPT_ELEM, CODE " ", NULL, NULL), FCA_CSP_BLOCKED);
    /* base64url spelling of the same digest */
    for (char *p = h; *p; p++) *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    snprintf(pol, sizeof pol, "script-src '%s-%s'", names[i], h);
    cr_assert_eq(inl(pol, FCA_CSP_SCRIPT_ELEM, CODE, NULL, NULL), FCA_CSP_ALLOWED, "%s", pol);
  }
}

Test(csp_match, inline_hash_attributes_need_unsafe_hashes) {
  char h[100], pol[200];
  hash_of(CODE, FCA_SHA256, h);
  snprintf(pol, sizeof pol, "script-src 'sha256-%s'", h);
  cr_assert_eq(inl(pol, FCA_CSP_SCRIPT_ATTR, CODE, NULL, NULL), FCA_CSP_BLOCKED);
  snprintf(pol, sizeof pol, "script-src-attr 'unsafe-hashes' 'sha256-%s'", h);
  cr_assert_eq(inl(pol, FCA_CSP_SCRIPT_ATTR, CODE, NULL, NULL), FCA_CSP_ALLOWED);
  /* script-src-attr governs attributes only; elements fall back to script-src */
  snprintf(pol, sizeof pol, "script-src 'none'; script-src-attr 'unsafe-inline'");
  cr_assert_eq(inl(pol, FCA_CSP_SCRIPT_ATTR, CODE, NULL, NULL), FCA_CSP_ALLOWED);
  cr_assert_eq(inl(pol, FCA_CSP_SCRIPT_ELEM, CODE, NULL, NULL), FCA_CSP_BLOCKED);
  cr_assert_eq(
      inl("default-src 'self'; script-src-attr 'none'", FCA_CSP_SCRIPT_ATTR, CODE, NULL, NULL),
      FCA_CSP_BLOCKED);
}

Test(csp_match, digest_normalises_newlines_at_every_split) {
  /* HTML input preprocessing turns CRLF and CR into LF before the script text exists */
  const char *raw = "a\r\nb\rc\n\r\r\nd\r";
  const char *norm = "a\nb\nc\n\n\nd\n";
  char want[100];
  hash_of(norm, FCA_SHA256, want);
  size_t n = strlen(raw);
  for (size_t cut = 0; cut <= n; cut++)
    for (size_t cut2 = cut; cut2 <= n; cut2++) {
      bool algs[3] = {true, false, false};
      fca_csp_digest_t d;
      fca_csp_digest_init(&d, algs);
      fca_csp_digest_update(&d, raw, cut);
      fca_csp_digest_update(&d, raw + cut, cut2 - cut);
      fca_csp_digest_update(&d, raw + cut2, n - cut2);
      fca_csp_request_t r = {0};
      fca_csp_digest_final(&d, &r);
      cr_assert(r.digest_ok[FCA_SHA256]);
      cr_assert_not(r.digest_ok[FCA_SHA384]);
      char got[100];
      fca_base64_encode(r.digest[FCA_SHA256], 32, got);
      cr_assert_str_eq(got, want, "cuts %zu %zu", cut, cut2);
    }
}

Test(csp_match, hash_algs_of_governing_directive) {
  bool a[3] = {false, false, false};
  fca_csp_hash_algs(S("default-src 'sha512-x'; script-src 'sha384-y' 'SHA256-z'"),
                    FCA_CSP_SCRIPT_ELEM, a);
  cr_assert(a[FCA_SHA256] && a[FCA_SHA384] && !a[FCA_SHA512]);
  bool b[3] = {false, false, false};
  fca_csp_hash_algs(S("img-src 'sha512-x'"), FCA_CSP_SCRIPT_ELEM, b);
  cr_assert(!b[0] && !b[1] && !b[2]);
}

/* ---- frames and fetches -------------------------------------------------------------------- */
static fca_csp_result_t load(const char *pol, fca_csp_kind_t kind, const char *url,
                             const char **dir) {
  fca_csp_request_t r = {.kind = kind, .url = url};
  fca_csp_verdict_t v;
  fca_csp_check(S(pol), &r, PAGE, &v);
  if (dir) *dir = v.directive_name;
  return v.result;
}

Test(csp_match, frames_fallback_and_strict_dynamic_irrelevant) {
  const char *dir;
  cr_assert_eq(load("default-src 'self'", FCA_CSP_FRAME, "https://js.stripe.com/v3/x.html", &dir),
               FCA_CSP_BLOCKED);
  cr_assert_str_eq(dir, "default-src");
  cr_assert_eq(load("default-src 'self'; child-src https://js.stripe.com", FCA_CSP_FRAME,
                    "https://js.stripe.com/v3/x.html", &dir),
               FCA_CSP_ALLOWED);
  cr_assert_str_eq(dir, "child-src");
  cr_assert_eq(load("child-src https://js.stripe.com; frame-src 'none'", FCA_CSP_FRAME,
                    "https://js.stripe.com/v3/x.html", &dir),
               FCA_CSP_BLOCKED);
  cr_assert_str_eq(dir, "frame-src");
  cr_assert_eq(load("script-src 'self'", FCA_CSP_FRAME, "https://js.stripe.com/", NULL),
               FCA_CSP_ALLOWED_NO_DIRECTIVE);
  cr_assert_eq(load("frame-src 'strict-dynamic'", FCA_CSP_FRAME, "https://js.stripe.com/", NULL),
               FCA_CSP_BLOCKED);
}

Test(csp_match, connect_fallback) {
  const char *dir;
  cr_assert_eq(load("default-src 'self'", FCA_CSP_CONNECT, "https://api.stripe.com/", &dir),
               FCA_CSP_BLOCKED);
  cr_assert_str_eq(dir, "default-src");
  cr_assert_eq(load("default-src 'none'; connect-src https://api.stripe.com", FCA_CSP_CONNECT,
                    "https://api.stripe.com/", &dir),
               FCA_CSP_ALLOWED);
  cr_assert_str_eq(dir, "connect-src");
  /* child-src does not govern fetches */
  cr_assert_eq(load("child-src 'none'", FCA_CSP_CONNECT, "https://api.stripe.com/", NULL),
               FCA_CSP_ALLOWED_NO_DIRECTIVE);
  cr_assert_eq(load("connect-src *.stripe.com", FCA_CSP_CONNECT, "https://api.stripe.com/", NULL),
               FCA_CSP_ALLOWED);
}

/* ---- §6.7.3.1 is element nonceable ------------------------------------------------------- */
static void on_script_tag(void *ud, const fca_html_tag_t *t, const fca_html_script_t *s) {
  (void)s;
  *(int *)ud = fca_csp_element_nonceable(t) ? 1 : 0;
}

static int nonceable_of(const char *html) {
  int r = -1;
  fca_html_scan_cb_t cb = {.script = on_script_tag};
  fca_html_scan_t *sc = fca_html_scan_new(&cb, &r);
  fca_html_scan_feed(sc, html, strlen(html));
  fca_html_scan_finish(sc);
  fca_html_scan_free(sc);
  return r;
}

Test(csp_match, element_nonceable) {
  cr_assert_eq(nonceable_of("<script nonce=abc src=x.js></script>"), 1);
  cr_assert_eq(nonceable_of("<script src=x.js></script>"), 0);                /* step 1 */
  cr_assert_eq(nonceable_of("<script nonce=abc a=\"<SCRIPT\"></script>"), 0); /* step 2 */
  cr_assert_eq(nonceable_of("<script nonce=abc a=\"x<style\"></script>"), 0);
  cr_assert_eq(nonceable_of("<script nonce=abc <script></script>"), 0);     /* in a name */
  cr_assert_eq(nonceable_of("<script nonce=abc src=a src=b></script>"), 0); /* step 3 */
  cr_assert_eq(nonceable_of("<script nonce=abc a=\"<scrip\"></script>"), 1);
}
