/* Unit tests for what a real browser next to other clients shows the audit (QA with Chromium,
 * Express+helmet and Django): a client is its address plus its User-Agent; a script-literal tag
 * needs the page's own script request; a plain-HTTP frame (no Sec-Fetch-Dest) is told by its
 * parent's <iframe>; COOP and COEP are ignored on origins that are not potentially trustworthy
 * (an `ignored-on-http` note instead of the finding); keys of a cached /config reach the page
 * on a 304; the sandbox fix names only the missing tokens. Synthetic exchanges. */
#include "audit_capture.h"
#include "fcaudit/ruleset.h"
#include "trustworthy.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define STRIPE "<script src=\"https://js.stripe.com/v3/\"></script>"
#define LIVE "pk_live_0123456789abcdefghijkl"
#define CHROME "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36"
#define CURL "curl/8.11.1"

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

TestSuite(clients, .init = setup, .fini = teardown);

static json_t *summary(void) {
  fca_audit_finish(A);
  const cap_event_t *s = cap_find(&cap, FCA_EV_SUMMARY, NULL);
  cr_assert_not_null(s);
  return s->summary;
}

static const char *item_of(json_t *s, const char *url, int n, const char *field) {
  json_t *pages = json_object_get(s, "pages"), *p;
  size_t i;
  char k[2] = {(char)('0' + n), 0};
  json_array_foreach(pages, i, p) {
    if (strcmp(json_string_value(json_object_get(p, "url")), url) == 0)
      return json_string_value(
          json_object_get(json_object_get(json_object_get(p, "items"), k), field));
  }
  cr_assert_fail("no scorecard for %s", url);
  return NULL;
}

static const cap_event_t *violation_on(const char *rule, const char *url) {
  for (size_t i = 0; i < cap.n; i++)
    if (cap.ev[i].type == FCA_EV_VIOLATION && !strcmp(cap.ev[i].rule, rule) &&
        !strcmp(cap.ev[i].page_url, url))
      return &cap.ev[i];
  return NULL;
}

static size_t notes_of(const char *kind, const char *url) {
  size_t n = 0;
  for (size_t i = 0; i < cap.n; i++)
    if (cap.ev[i].type == FCA_EV_NOTE && !strcmp(cap.ev[i].note, kind) &&
        (!url || (cap.ev[i].page_url && !strcmp(cap.ev[i].page_url, url))))
      n++;
  return n;
}

static const cap_event_t *page_event(const char *url) {
  for (size_t i = 0; i < cap.n; i++)
    if (cap.ev[i].type == FCA_EV_PAGE && !strcmp(cap.ev[i].page_url, url)) return &cap.ev[i];
  return NULL;
}

/* ---- 1. plain HTTP: a framed page is told by its parent's <iframe> ----------------------- */

#define PLAIN_TOP "http://plain.test/coop"
#define PLAIN_FRAME "http://plain.test/framed"
#define SBX_IFRAME                                                                                 \
  "<iframe sandbox=\"allow-scripts allow-same-origin allow-popups allow-forms\" "                  \
  "src=\"/framed\"></iframe>"

/* A browser document on plain HTTP: no Sec-Fetch-*, Accept takes HTML. */
static void plain_doc(const char *url, const char *referer, const char *body, int64_t t,
                      const char *ua) {
  x_run(A, &(xreq_t){.url = url,
                     .referer = referer,
                     .accept = "text/html,application/xhtml+xml,*/*;q=0.8",
                     .ctype = "text/html",
                     .body = body,
                     .now_ms = t,
                     .rh = {{"User-Agent", ua ? ua : CHROME}},
                     .h = {{"Cross-Origin-Opener-Policy", "same-origin"},
                           {"Referrer-Policy", "no-referrer"}}});
}

Test(clients, plain_http_frame_is_judged_as_a_frame_of_its_parent) {
  plain_doc(PLAIN_TOP, NULL, "<html>" STRIPE SBX_IFRAME "</html>", 1000, NULL);
  plain_doc(PLAIN_FRAME, NULL, "<html>" STRIPE "</html>", 1100, NULL); /* no-referrer parent */
  const cap_event_t *p = page_event(PLAIN_FRAME);
  cr_assert_not_null(p);
  cr_assert_not(p->top_level, "the iframe names it: a frame, not a top-level page");
  const cap_event_t *v = violation_on("FC-SBX-1", PLAIN_FRAME);
  cr_assert_not_null(v, "the iframe's sandbox applies");
  cr_assert_str_eq(v->ev_url, PLAIN_TOP);
  cr_assert_null(violation_on("FC-COOP-1", PLAIN_FRAME));
  cr_assert_null(violation_on("FC-REF-1", PLAIN_FRAME), "framed: REF is judged on the top");
  cr_assert_null(violation_on("FC-COOP-4", PLAIN_FRAME), "the top's COOP is ignored on HTTP");
  cr_assert_eq(notes_of("ignored-on-http", PLAIN_FRAME), 1);
  cr_assert_not_null(violation_on("FC-REF-1", PLAIN_TOP));
}

Test(clients, plain_http_frame_with_the_parents_referer_or_origin) {
  const char *body = "<html>" STRIPE "<iframe src=/framed></iframe></html>";
  x_run(A, &(xreq_t){.url = PLAIN_TOP,
                     .accept = "text/html",
                     .ctype = "text/html",
                     .body = body,
                     .now_ms = 1000});
  x_run(A, &(xreq_t){.url = PLAIN_FRAME,
                     .referer = PLAIN_TOP,
                     .accept = "text/html",
                     .ctype = "text/html",
                     .body = STRIPE,
                     .now_ms = 1100});
  cr_assert_not(page_event(PLAIN_FRAME)->top_level);
  cap_clear(&cap);
  /* a cross-origin frame is sent the parent's origin only */
  x_run(A, &(xreq_t){.url = "http://shop.test/outer",
                     .accept = "text/html",
                     .ctype = "text/html",
                     .body = "<iframe src=http://pay.test/embed></iframe>",
                     .now_ms = 2000});
  x_run(A, &(xreq_t){.url = "http://pay.test/embed",
                     .referer = "http://shop.test/",
                     .accept = "text/html",
                     .ctype = "text/html",
                     .body = STRIPE,
                     .now_ms = 2100});
  cr_assert_not(page_event("http://pay.test/embed")->top_level);
}

Test(clients, plain_http_document_stays_top_level_otherwise) {
  const char *body = "<html>" STRIPE "<iframe src=/framed></iframe></html>";
  x_run(A, &(xreq_t){.url = PLAIN_TOP,
                     .accept = "text/html",
                     .ctype = "text/html",
                     .body = body,
                     .now_ms = 1000});
  /* a Referer naming another page: a link followed from there, not this frame */
  x_run(A, &(xreq_t){.url = PLAIN_FRAME,
                     .referer = "http://plain.test/elsewhere",
                     .accept = "text/html",
                     .ctype = "text/html",
                     .body = STRIPE,
                     .now_ms = 1100});
  cr_assert(page_event(PLAIN_FRAME)->top_level);
  cap_clear(&cap);
  /* past the correlation window */
  x_run(A, &(xreq_t){.url = "http://plain.test/p2",
                     .accept = "text/html",
                     .ctype = "text/html",
                     .body = "<iframe src=/f2></iframe>",
                     .now_ms = 5000});
  x_run(A, &(xreq_t){.url = "http://plain.test/f2",
                     .accept = "text/html",
                     .ctype = "text/html",
                     .body = STRIPE,
                     .now_ms = 5000 + 31000});
  cr_assert(page_event("http://plain.test/f2")->top_level);
  cap_clear(&cap);
  /* another client (another User-Agent on the same address) */
  x_run(A, &(xreq_t){.url = "http://plain.test/p3",
                     .accept = "text/html",
                     .ctype = "text/html",
                     .body = "<iframe src=/f3></iframe>",
                     .now_ms = 9000,
                     .rh = {{"User-Agent", CHROME}}});
  x_run(A, &(xreq_t){.url = "http://plain.test/f3",
                     .accept = "text/html",
                     .ctype = "text/html",
                     .body = STRIPE,
                     .now_ms = 9100,
                     .rh = {{"User-Agent", CURL}}});
  cr_assert(page_event("http://plain.test/f3")->top_level);
}

/* ---- 2. a client is its address and its User-Agent ---------------------------------------- */

#define SHOP "https://shop.test/checkout"
#define LOADER_JS                                                                                  \
  "(function(){var s=document.createElement('script');s.src='https://js.stripe.com/v3/';})()"

static void chrome_page(const char *url, const char *body, int64_t t) {
  x_run(A, &(xreq_t){.url = url,
                     .dest = "document",
                     .ctype = "text/html",
                     .body = body,
                     .now_ms = t,
                     .rh = {{"User-Agent", CHROME}}});
}

Test(clients, curl_on_the_same_address_is_another_client) {
  chrome_page(SHOP, "<html><script src=/app.js></script></html>", 1000);
  /* curl: no Sec-Fetch-*, no Referer */
  x_run(A, &(xreq_t){.url = "https://shop.test/loader.js",
                     .ctype = "application/javascript",
                     .body = LOADER_JS,
                     .now_ms = 1500,
                     .rh = {{"User-Agent", CURL}}});
  cr_assert_eq(cap_count(&cap, FCA_EV_PAGE, NULL), 0, "curl's script does not tag Chromium's page");
  x_run(A, &(xreq_t){.url = "https://shop.test/config",
                     .ctype = "application/json",
                     .body = "{\"publishableKey\":\"" LIVE "\"}",
                     .now_ms = 1600,
                     .rh = {{"User-Agent", CURL}}});
  /* the page gets tagged later by its own Stripe.js request: curl's /config is not its key */
  x_run(A, &(xreq_t){.url = "https://js.stripe.com/v3/",
                     .dest = "script",
                     .referer = "https://shop.test/",
                     .now_ms = 1700,
                     .rh = {{"User-Agent", CHROME}}});
  cr_assert_eq(cap_count(&cap, FCA_EV_PAGE, NULL), 1);
  cr_assert_eq(cap_count(&cap, FCA_EV_VIOLATION, "FC-TEST-1"), 0);
  /* a Stripe.js request of curl does not tag Chromium's page either */
  cap_clear(&cap);
  chrome_page("https://b.test/", "<html></html>", 3000);
  x_run(A, &(xreq_t){
               .url = "https://js.stripe.com/v3/", .now_ms = 3100, .rh = {{"User-Agent", CURL}}});
  cr_assert_eq(cap_count(&cap, FCA_EV_PAGE, NULL), 0);
}

Test(clients, script_literal_only_from_the_pages_own_script_request) {
  chrome_page(SHOP, "<html><script src=/app.js></script></html>", 1000);
  /* same client, no Sec-Fetch-Dest and no Referer, a script the page never loaded */
  x_run(A, &(xreq_t){.url = "https://shop.test/loader.js",
                     .ctype = "application/javascript",
                     .body = LOADER_JS,
                     .now_ms = 1100,
                     .rh = {{"User-Agent", CHROME}}});
  cr_assert_eq(cap_count(&cap, FCA_EV_PAGE, NULL), 0);
  /* a Referer naming another page of the origin */
  x_run(A, &(xreq_t){.url = "https://shop.test/loader.js",
                     .dest = "script",
                     .referer = "https://shop.test/other",
                     .ctype = "application/javascript",
                     .body = LOADER_JS,
                     .now_ms = 1200,
                     .rh = {{"User-Agent", CHROME}}});
  cr_assert_eq(cap_count(&cap, FCA_EV_PAGE, NULL), 0);
  /* the script its HTML loads, requested without Sec-Fetch-* or Referer (plain HTTP,
   * no-referrer): it tags */
  x_run(A, &(xreq_t){.url = "https://shop.test/app.js",
                     .ctype = "application/javascript",
                     .body = LOADER_JS,
                     .now_ms = 1300,
                     .rh = {{"User-Agent", CHROME}}});
  const cap_event_t *p = page_event(SHOP);
  cr_assert_not_null(p);
  cr_assert_str_eq(p->tagged_by, "script-literal");
  cap_clear(&cap);
  /* requested as a script with the page's URL as Referer: tags */
  chrome_page("https://shop.test/dynamic", "<html></html>", 2000);
  x_run(A, &(xreq_t){.url = "https://shop.test/loader.js",
                     .dest = "script",
                     .referer = "https://shop.test/dynamic",
                     .ctype = "application/javascript",
                     .body = LOADER_JS,
                     .now_ms = 2100,
                     .rh = {{"User-Agent", CHROME}}});
  cr_assert_not_null(page_event("https://shop.test/dynamic"));
}

/* ---- 3. COOP and COEP on origins that are not potentially trustworthy ---------------------- */

Test(clients, trustworthy_origins) {
  const char *yes[] = {"https://shop.test/",   "wss://shop.test/x",       "file:///tmp/a.html",
                       "http://localhost/",    "http://LOCALHOST:8080/a", "http://a.b.localhost/",
                       "http://127.0.0.1:80/", "http://127.9.8.7/",       "http://[::1]:8080/",
                       "ws://localhost/"};
  const char *no[] = {
      "http://plain.test/", "http://localhost.test/", "http://128.0.0.1/", "http://127.0.0.1.test/",
      "http://10.0.0.1/",   "http://[::2]/",          "ftp://localhost/",  "not a url",
      "http://xlocalhost/"};
  for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
    cr_assert(fca_url_trustworthy(yes[i]), "%s is potentially trustworthy", yes[i]);
  for (size_t i = 0; i < sizeof no / sizeof *no; i++)
    cr_assert_not(fca_url_trustworthy(no[i]), "%s is not", no[i]);
}

Test(clients, coop_and_coep_are_ignored_on_plain_http) {
  x_run(A, &(xreq_t){.url = "http://plain.test/pay",
                     .accept = "text/html",
                     .ctype = "text/html",
                     .body = STRIPE,
                     .now_ms = 1000,
                     .h = {{"Cross-Origin-Opener-Policy", "same-origin"},
                           {"Cross-Origin-Opener-Policy-Report-Only", "same-origin"},
                           {"Cross-Origin-Embedder-Policy", "require-corp"}}});
  cr_assert_eq(cap_count(&cap, FCA_EV_VIOLATION, NULL), 0);
  cr_assert_eq(notes_of("ignored-on-http", "http://plain.test/pay"), 3, "COOP-1, COOP-3, ISO-1");
  const cap_event_t *n = cap_find(&cap, FCA_EV_NOTE, NULL);
  cr_assert(strstr(n->message, "Cross-Origin-Opener-Policy: same-origin is ignored by browsers on "
                               "http://plain.test"),
            "%s", n->message);
  cr_assert(strstr(n->message, "once the page is served over HTTPS"), "%s", n->message);
  cr_assert(strstr(n->message, "(FC-COOP-1)"), "%s", n->message);
  cr_assert_eq(cap_count(&cap, FCA_EV_PASS, NULL), 1, "nothing fails today");
  /* the same headers on loopback and https apply */
  x_run(A, &(xreq_t){.url = "http://127.0.0.1:8080/pay",
                     .dest = "document",
                     .ctype = "text/html",
                     .body = STRIPE,
                     .now_ms = 1000,
                     .h = {{"Cross-Origin-Opener-Policy", "same-origin"}}});
  x_run(A, &(xreq_t){.url = "http://shop.localhost/pay",
                     .dest = "document",
                     .ctype = "text/html",
                     .body = STRIPE,
                     .now_ms = 1000,
                     .h = {{"Cross-Origin-Embedder-Policy", "require-corp"}}});
  cr_assert_not_null(violation_on("FC-COOP-1", "http://127.0.0.1:8080/pay"));
  cr_assert_not_null(violation_on("FC-ISO-1", "http://shop.localhost/pay"));
  json_t *s = summary();
  cr_assert_str_eq(item_of(s, "http://plain.test/pay", 1, "status"), "pass");
  const char *why = item_of(s, "http://plain.test/pay", 1, "why");
  cr_assert(strstr(why, "ignored on plain HTTP") && strstr(why, "served over HTTPS"), "%s", why);
  cr_assert_str_eq(item_of(s, "http://127.0.0.1:8080/pay", 1, "status"), "fail");
}

Test(clients, ignored_rule_has_no_note_either) {
  fca_audit_free(A);
  fca_ruleset_t *rs = fca_ruleset_new();
  char err[256];
  cr_assert_eq(fca_ruleset_apply_cli(rs, "FC-COOP-1=ignore", err, sizeof err), 0);
  A = fca_audit_new(
      &(fca_audit_opts_t){.emit = cap_fn, .emit_ud = &cap, .dedup = true, .rules = rs});
  x_run(A, &(xreq_t){.url = "http://plain.test/pay",
                     .accept = "text/html",
                     .ctype = "text/html",
                     .body = STRIPE,
                     .h = {{"Cross-Origin-Opener-Policy", "same-origin"}}});
  cr_assert_eq(notes_of("ignored-on-http", NULL), 0);
  fca_audit_free(A);
  A = cap_audit(&cap, "staging");
  fca_ruleset_free(rs);
}

/* ---- 4. a cached /config (304) still shows its key ----------------------------------------- */

static void config(const char *page, int status, const char *body, int64_t t) {
  x_run(A, &(xreq_t){.url = "https://shop.test/config",
                     .dest = "empty",
                     .referer = page,
                     .status = status,
                     .ctype = status == 304 ? NULL : "application/json",
                     .body = body,
                     .now_ms = t,
                     .rh = {{"User-Agent", CHROME}}});
}

Test(clients, config_304_reuses_the_remembered_key) {
  chrome_page(SHOP, "<html>" STRIPE "</html>", 1000);
  config(SHOP, 200, "{\"publishableKey\":\"" LIVE "\"}", 1100);
  cr_assert_not_null(violation_on("FC-TEST-1", SHOP));
  chrome_page("https://shop.test/coop", "<html>" STRIPE "</html>", 5000);
  config("https://shop.test/coop", 304, NULL, 5100);
  const cap_event_t *v = violation_on("FC-TEST-1", "https://shop.test/coop");
  cr_assert_not_null(v, "the 304 reuses the cached copy, whose key was live");
  cr_assert_str_eq(v->ev_value, LIVE);
  cr_assert_str_eq(v->ev_url, "https://shop.test/config");
  cr_assert_str_eq(v->ev_source, "response");
  /* another client's 304 of the same URL: nothing remembered for it */
  x_run(A, &(xreq_t){.url = "https://shop.test/third",
                     .dest = "document",
                     .ctype = "text/html",
                     .body = "<html>" STRIPE "</html>",
                     .now_ms = 6000,
                     .rh = {{"User-Agent", CURL}}});
  x_run(A, &(xreq_t){.url = "https://shop.test/config",
                     .dest = "empty",
                     .referer = "https://shop.test/third",
                     .status = 304,
                     .now_ms = 6100,
                     .rh = {{"User-Agent", CURL}}});
  cr_assert_null(violation_on("FC-TEST-1", "https://shop.test/third"));
}

Test(clients, a_new_full_config_replaces_the_remembered_key) {
  chrome_page(SHOP, "<html>" STRIPE "</html>", 1000);
  config(SHOP, 200, "{\"publishableKey\":\"" LIVE "\"}", 1100);
  config(SHOP, 200, "{\"publishableKey\":\"pk_test_0123456789abcdefghijkl\"}", 1200);
  chrome_page("https://shop.test/b", "<html>" STRIPE "</html>", 2000);
  config("https://shop.test/b", 304, NULL, 2100);
  cr_assert_null(violation_on("FC-TEST-1", "https://shop.test/b"));
  json_t *s = summary();
  cr_assert_str_eq(item_of(s, "https://shop.test/b", 4, "why"), FCA_ITEM4_TEST_KEY);
}

/* ---- 5. the sandbox fix names only what is missing ----------------------------------------- */

Test(clients, sandbox_fix_lists_only_the_missing_tokens) {
  x_run(A, &(xreq_t){.url = "https://shop.test/outer",
                     .dest = "document",
                     .ctype = "text/html",
                     .body = "<iframe sandbox='allow-scripts allow-same-origin allow-popups' "
                             "src=/a></iframe><iframe sandbox='allow-scripts allow-same-origin' "
                             "src=/b></iframe>",
                     .now_ms = 1000});
  x_run(A, &(xreq_t){.url = "https://shop.test/a",
                     .dest = "iframe",
                     .ctype = "text/html",
                     .body = STRIPE,
                     .now_ms = 1100});
  x_run(A, &(xreq_t){.url = "https://shop.test/b",
                     .dest = "iframe",
                     .ctype = "text/html",
                     .body = STRIPE,
                     .now_ms = 1200});
  cr_assert_str_eq(violation_on("FC-SBX-1", "https://shop.test/a")->fix,
                   "Add allow-popups-to-escape-sandbox to the iframe's sandbox attribute");
  cr_assert_null(violation_on("FC-SBX-2", "https://shop.test/a"));
  cr_assert_str_eq(violation_on("FC-SBX-1", "https://shop.test/b")->fix,
                   "Add allow-popups and allow-popups-to-escape-sandbox to the iframe's sandbox "
                   "attribute");
  cr_assert_str_eq(violation_on("FC-SBX-2", "https://shop.test/b")->fix,
                   "Add allow-popups and allow-popups-to-escape-sandbox to the iframe's sandbox "
                   "attribute");
}
