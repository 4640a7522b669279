/* Unit tests for the audit facade: classification, every rule with a passing and a failing
 * page, timing (header rules at tag time, referrer verdicts at document end, framing joins in
 * either order), dynamic tagging and its correlation, dedup, levels, --min-confidence, pass
 * and note events, the summary object, and concurrency (4 threads on one fca_audit_t). All
 * exchanges are synthetic; events are captured by a callback. */
#include "audit_capture.h"
#include "fcaudit/ruleset.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STRIPE "<script src=\"https://js.stripe.com/v3\"></script>"
#define PAGE_URL "https://shop.test/checkout?order=1"

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

/* A top-level document with the given body and extra response headers. */
static void doc(const char *url, const char *body, const char *h1, const char *v1, const char *h2,
                const char *v2) {
  xreq_t r = {.url = url, .dest = "document", .ctype = "text/html", .body = body, .now_ms = 1000};
  if (h1) {
    r.h[0][0] = h1;
    r.h[0][1] = v1;
  }
  if (h2) {
    r.h[1][0] = h2;
    r.h[1][1] = v2;
  }
  x_run(A, &r);
}

static void assert_rules(const char *want) {
  char *got = cap_rules(&cap);
  cr_assert_str_eq(got, want);
  free(got);
}

static json_t *finish_summary(void) {
  fca_audit_finish(A);
  const cap_event_t *s = cap_find(&cap, FCA_EV_SUMMARY, NULL);
  cr_assert_not_null(s);
  return s->summary;
}

static const char *item(json_t *summary, int page, int n, const char *field) {
  char k[2] = {(char)('0' + n), 0};
  json_t *p = json_array_get(json_object_get(summary, "pages"), (size_t)page);
  return json_string_value(json_object_get(json_object_get(json_object_get(p, "items"), k), field));
}

TestSuite(audit, .init = setup, .fini = teardown);

/* ---- classification and the correct page ---------------------------------------------- */

Test(audit, correct_page_passes) {
  doc(PAGE_URL, "<html><head>" STRIPE "</head></html>", "Cross-Origin-Opener-Policy",
      "same-origin-allow-popups", "Referrer-Policy", "strict-origin-when-cross-origin");
  cr_assert_eq(cap_count(&cap, FCA_EV_PAGE, NULL), 1);
  cr_assert_eq(cap_count(&cap, FCA_EV_VIOLATION, NULL), 0);
  cr_assert_eq(cap_count(&cap, FCA_EV_PASS, NULL), 1);
  const cap_event_t *p = cap_find(&cap, FCA_EV_PAGE, NULL);
  cr_assert_str_eq(p->page_url, PAGE_URL);
  cr_assert_str_eq(p->tagged_by, "script-tag");
  cr_assert_str_eq(p->confidence, "high");
  cr_assert(p->top_level);
  cr_assert_str_eq(p->ev_value, "https://js.stripe.com/v3");
  cr_assert_eq(p->ev_offset, 12);
  json_t *s = finish_summary();
  cr_assert_eq(json_integer_value(json_object_get(s, "pages_seen")), 1);
  cr_assert_eq(json_integer_value(json_object_get(s, "pages_tagged")), 1);
  cr_assert_null(json_object_get(s, "warning"));
  cr_assert_str_eq(item(s, 0, 1, "status"), "pass");
  cr_assert_str_eq(
      item(s, 0, 1, "why"),
      "Cross-Origin-Opener-Policy same-origin-allow-popups, which the checklist allows");
  cr_assert_str_eq(item(s, 0, 2, "status"), "pass");
  cr_assert_str_eq(item(s, 0, 3, "status"), "n/a");
  cr_assert_str_eq(item(s, 0, 4, "status"), "n/a");
}

Test(audit, untagged_page_is_silent) {
  doc(PAGE_URL, "<html><script src=/app.js></script></html>", "Cross-Origin-Opener-Policy",
      "same-origin", NULL, NULL);
  cr_assert_eq(cap.n, 0);
  json_t *s = finish_summary();
  cr_assert_eq(json_integer_value(json_object_get(s, "pages_seen")), 1);
  cr_assert_eq(json_integer_value(json_object_get(s, "pages_tagged")), 0);
  cr_assert_str_eq(json_string_value(json_object_get(s, "warning")),
                   "no page loaded Stripe.js: the flow under test probably never reached a "
                   "Stripe page");
}

Test(audit, not_inspected_exchanges) {
  const char *dests[] = {"image", "style", "font", "empty"};
  for (size_t i = 0; i < 4; i++) {
    xreq_t r = {.url = "https://shop.test/x", .dest = dests[i]};
    fca_audit_exchange_t *x = x_begin(A, &r);
    x_head(x, &(xreq_t){.ctype = "text/html"});
    cr_assert_not(fca_audit_wants_body(x));
    fca_audit_response_body(x, STRIPE, strlen(STRIPE));
    fca_audit_response_end(x, true);
    fca_audit_exchange_free(x);
  }
  /* a document that is not HTML, and Stripe's own documents */
  x_run(A, &(xreq_t){.url = "https://shop.test/a.json",
                     .dest = "document",
                     .ctype = "application/json",
                     .body = STRIPE});
  x_run(A, &(xreq_t){.url = "https://checkout.stripe.com/pay",
                     .dest = "document",
                     .ctype = "text/html",
                     .body = STRIPE});
  x_run(A, &(xreq_t){.url = "https://m.stripe.network/inner.html",
                     .dest = "iframe",
                     .ctype = "text/html",
                     .body = STRIPE});
  cr_assert_eq(cap.n, 0);
  fca_audit_stats_t st;
  fca_audit_stats(A, &st);
  cr_assert_eq(st.exchanges, 7);
  cr_assert_eq(st.pages_seen, 0);
}

Test(audit, plain_http_without_sec_fetch) {
  x_run(A, &(xreq_t){.url = "http://shop.test/",
                     .accept = "text/html,*/*;q=0.8",
                     .ctype = "text/html",
                     .body = STRIPE});
  x_run(A, &(xreq_t){.url = "http://shop.test/api",
                     .accept = "application/json",
                     .ctype = "text/html",
                     .body = STRIPE});
  cr_assert_eq(cap_count(&cap, FCA_EV_PAGE, NULL), 1);
  cr_assert(cap_find(&cap, FCA_EV_PAGE, NULL)->top_level);
}

/* ---- COOP --------------------------------------------------------------------------- */

Test(audit, coop_rules) {
  doc("https://a.test/", STRIPE, "Cross-Origin-Opener-Policy", "same-origin; report-to=\"x\"", NULL,
      NULL);
  assert_rules("FC-COOP-1");
  const cap_event_t *v = cap_find(&cap, FCA_EV_VIOLATION, "FC-COOP-1");
  cr_assert_eq(v->level, FCA_LEVEL_ERROR);
  cr_assert_eq(v->item, 1);
  cr_assert_str_eq(v->ev_source, "header");
  cr_assert_str_eq(v->ev_name, "Cross-Origin-Opener-Policy");
  cr_assert_str_eq(v->ev_value, "same-origin; report-to=\"x\"");
  cr_assert_eq(v->ev_offset, -1);
  cr_assert_null(v->ev_url);
  cr_assert_not_null(strstr(v->message, "same-origin; report-to"));
  cr_assert_not_null(v->message);
  cr_assert_eq(cap_count(&cap, FCA_EV_PASS, NULL), 0);
  cap_clear(&cap);
  doc("https://b.test/", STRIPE, "Cross-Origin-Opener-Policy", "noopener-allow-popups", NULL, NULL);
  doc("https://c.test/", STRIPE, "Cross-Origin-Opener-Policy-Report-Only", "same-origin", NULL,
      NULL);
  assert_rules("FC-COOP-2 FC-COOP-3");
  cap_clear(&cap);
  /* ignored by browsers: two lines, a list, a quoted string, wrong case */
  doc("https://d.test/", STRIPE, "Cross-Origin-Opener-Policy", "same-origin",
      "Cross-Origin-Opener-Policy", "same-origin");
  doc("https://e.test/", STRIPE, "Cross-Origin-Opener-Policy", "same-origin,same-origin", NULL,
      NULL);
  doc("https://f.test/", STRIPE, "Cross-Origin-Opener-Policy", "\"same-origin\"", NULL, NULL);
  doc("https://g.test/", STRIPE, "Cross-Origin-Opener-Policy", "Same-origin", NULL, NULL);
  assert_rules("");
  cr_assert_eq(cap_count(&cap, FCA_EV_PASS, NULL), 4);
}

/* ---- referrer policy ------------------------------------------------------------------ */

Test(audit, ref1_header_and_meta) {
  doc("https://a.test/", STRIPE, "Referrer-Policy", "no-referrer", NULL, NULL);
  assert_rules("FC-REF-1");
  const cap_event_t *v = cap_find(&cap, FCA_EV_VIOLATION, "FC-REF-1");
  cr_assert_str_eq(v->ev_source, "header");
  cr_assert_str_eq(v->ev_value, "no-referrer");
  cap_clear(&cap);
  /* a later meta overrides the header: verdict at document end */
  doc("https://b.test/", STRIPE "<meta name=referrer content=origin>", "Referrer-Policy",
      "no-referrer", NULL, NULL);
  assert_rules("");
  cr_assert_eq(cap_count(&cap, FCA_EV_PASS, NULL), 1);
  /* a meta makes a good header bad; legacy keyword */
  doc("https://c.test/", STRIPE "<META NAME=Referrer CONTENT=\" never \">", "Referrer-Policy",
      "origin", NULL, NULL);
  assert_rules("FC-REF-1");
  v = cap_find(&cap, FCA_EV_VIOLATION, "FC-REF-1");
  cr_assert_str_eq(v->ev_source, "meta");
  cr_assert_str_eq(v->ev_value, "<META NAME=Referrer CONTENT=\" never \">");
  cr_assert_eq(v->ev_offset, (int64_t)strlen(STRIPE));
  cr_assert_not_null(strstr(v->message, "no-referrer"));
  cap_clear(&cap);
  /* same-origin sends no cross-origin Referer either; the last valid token wins */
  doc("https://d.test/", STRIPE, "Referrer-Policy", "origin, same-origin, bogus", NULL, NULL);
  assert_rules("FC-REF-1");
}

Test(audit, ref1_waits_for_document_end) {
  xreq_t r = {.url = "https://a.test/",
              .dest = "document",
              .ctype = "text/html",
              .h = {{"Referrer-Policy", "no-referrer"}}};
  fca_audit_exchange_t *x = x_begin(A, &r);
  x_head(x, &r);
  fca_audit_response_body(x, STRIPE, strlen(STRIPE));
  cr_assert_eq(cap_count(&cap, FCA_EV_PAGE, NULL), 1);
  cr_assert_eq(cap_count(&cap, FCA_EV_VIOLATION, NULL), 0);
  fca_audit_response_end(x, true);
  fca_audit_exchange_free(x);
  assert_rules("FC-REF-1");
}

Test(audit, ref2_ref3_ref4) {
  doc("https://a.test/", STRIPE "<meta name=\"referer\" content=\"no-referrer\">", NULL, NULL, NULL,
      NULL);
  doc("https://b.test/", STRIPE "<meta name=\"referer\" content=\"Strict-Origin\">", NULL, NULL,
      NULL, NULL);
  assert_rules("FC-REF-2");
  cr_assert_str_eq(cap_find(&cap, FCA_EV_VIOLATION, "FC-REF-2")->ev_value,
                   "<meta name=\"referer\" content=\"no-referrer\">");
  cap_clear(&cap);
  doc("https://c.test/",
      "<script referrerpolicy=no-referrer src=\"https://js.stripe.com/v3\"></script>", NULL, NULL,
      NULL, NULL);
  doc("https://d.test/", "<script referrerpolicy=origin src=\"https://js.stripe.com/v3\"></script>",
      NULL, NULL, NULL, NULL);
  assert_rules("FC-REF-3");
  cr_assert_str_eq(cap_find(&cap, FCA_EV_VIOLATION, "FC-REF-3")->ev_name, "script[referrerpolicy]");
  cap_clear(&cap);
  doc("https://e.test/", STRIPE, "Referrer-Policy", "no-referrer;", NULL, NULL);
  assert_rules("FC-REF-4");
  const cap_event_t *v = cap_find(&cap, FCA_EV_VIOLATION, "FC-REF-4");
  cr_assert_eq(v->level, FCA_LEVEL_INFO);
  cr_assert_str_eq(v->ev_value, "no-referrer;");
  cr_assert_eq(cap_count(&cap, FCA_EV_PASS, NULL), 1, "info does not prevent pass");
}

/* ---- CSP sandbox, COEP, keys --------------------------------------------------------- */

Test(audit, csp_sandbox_rules) {
  doc("https://a.test/", STRIPE, "Content-Security-Policy", "img-src 'self'; sandbox allow-scripts",
      "Referrer-Policy", "no-referrer");
  assert_rules("FC-SBX-3 FC-SBX-4"); /* opaque origin: SBX-4, not REF-1 */
  const cap_event_t *v = cap_find(&cap, FCA_EV_VIOLATION, "FC-SBX-3");
  cr_assert_str_eq(v->ev_source, "csp");
  cr_assert_not_null(strstr(v->message, "allow-popups allow-popups-to-escape-sandbox"));
  cap_clear(&cap);
  doc("https://b.test/", STRIPE, "Content-Security-Policy-Report-Only", "sandbox", NULL, NULL);
  doc("https://c.test/", STRIPE, "Content-Security-Policy",
      "sandbox allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox", NULL,
      NULL);
  doc("https://d.test/", STRIPE "<meta http-equiv=Content-Security-Policy content=sandbox>", NULL,
      NULL, NULL, NULL);
  assert_rules("");
  doc("https://e.test/", STRIPE, "Content-Security-Policy", "sandbox", NULL, NULL);
  assert_rules("FC-SBX-3 FC-SBX-4 FC-SBX-5");
}

Test(audit, iso1_coep) {
  doc("https://a.test/", STRIPE, "Cross-Origin-Embedder-Policy", "require-corp", NULL, NULL);
  doc("https://b.test/", STRIPE, "Cross-Origin-Embedder-Policy", "credentialless", NULL, NULL);
  doc("https://c.test/", STRIPE, "Cross-Origin-Embedder-Policy", "unsafe-none", NULL, NULL);
  assert_rules("FC-ISO-1 FC-ISO-1");
  cr_assert_eq(cap_find(&cap, FCA_EV_VIOLATION, "FC-ISO-1")->item, 0);
}

Test(audit, test1_live_key) {
  const char *b = STRIPE "<script>Stripe('pk_live_0123456789abcdefghijkl')</script>";
  doc("https://a.test/", b, NULL, NULL, NULL, NULL);
  assert_rules("FC-TEST-1");
  const cap_event_t *v = cap_find(&cap, FCA_EV_VIOLATION, "FC-TEST-1");
  cr_assert_eq(v->level, FCA_LEVEL_WARNING);
  cr_assert_str_eq(v->ev_value, "pk_live_0123456789abcdefghijkl");
  cr_assert_eq(v->ev_offset, (int64_t)strlen(STRIPE) + 16);
  /* production run: no finding */
  capture_t c2;
  cap_init(&c2);
  fca_audit_t *prod = cap_audit(&c2, "production");
  x_run(prod,
        &(xreq_t){.url = "https://a.test/", .dest = "document", .ctype = "text/html", .body = b});
  cr_assert_eq(cap_count(&c2, FCA_EV_VIOLATION, NULL), 0);
  cr_assert_eq(cap_count(&c2, FCA_EV_PASS, NULL), 1);
  fca_audit_free(prod);
  cap_free(&c2);
}

/* ---- framing ------------------------------------------------------------------------- */

static void parent_doc(const char *coop) {
  xreq_t r = {.url = "https://shop.test/outer",
              .dest = "document",
              .ctype = "text/html",
              .now_ms = 1000,
              .body = "<html><iframe sandbox=\"allow-scripts allow-same-origin\" "
                      "src=\"/embed#f\"></iframe></html>"};
  if (coop) {
    r.h[0][0] = "Cross-Origin-Opener-Policy";
    r.h[0][1] = coop;
  }
  x_run(A, &r);
}

static void child_doc(void) {
  x_run(A, &(xreq_t){.url = "https://shop.test/embed",
                     .dest = "iframe",
                     .referer = "https://shop.test/outer",
                     .ctype = "text/html",
                     .body = STRIPE,
                     .now_ms = 1200});
}

static void check_framing_events(void) {
  assert_rules("FC-COOP-4 FC-SBX-1 FC-SBX-2");
  const cap_event_t *v = cap_find(&cap, FCA_EV_VIOLATION, "FC-COOP-4");
  cr_assert_str_eq(v->ev_url, "https://shop.test/outer");
  cr_assert_str_eq(v->ev_value, "same-origin");
  cr_assert_str_eq(v->page_url, "https://shop.test/embed");
  cr_assert_not(v->top_level);
  v = cap_find(&cap, FCA_EV_VIOLATION, "FC-SBX-1");
  cr_assert_str_eq(v->ev_source, "iframe");
  /* The evidence is the tag as it appeared in the parent (RULES.md). */
  cr_assert_str_eq(v->ev_value,
                   "<iframe sandbox=\"allow-scripts allow-same-origin\" src=\"/embed#f\">");
  cr_assert_str_eq(v->ev_url, "https://shop.test/outer");
  cr_assert_eq(v->ev_offset, 6);
}

Test(audit, framing_parent_first) {
  parent_doc("same-origin");
  cr_assert_eq(cap.n, 0);
  child_doc();
  check_framing_events();
  cr_assert_eq(cap_count(&cap, FCA_EV_PASS, NULL), 0);
  json_t *s = finish_summary();
  cr_assert_str_eq(item(s, 0, 1, "status"), "fail");
  cr_assert_str_eq(item(s, 0, 2, "status"), "n/a");
  cr_assert_str_eq(item(s, 0, 3, "status"), "fail");
  cr_assert_eq(cap_count(&cap, FCA_EV_NOTE, NULL), 0);
}

Test(audit, framing_child_first) {
  /* the framed page streams before the parent's HTML reaches its <iframe> */
  xreq_t pr = {.url = "https://shop.test/outer",
               .dest = "document",
               .ctype = "text/html",
               .now_ms = 1000,
               .h = {{"Cross-Origin-Opener-Policy", "same-origin"}}};
  fca_audit_exchange_t *px = x_begin(A, &pr);
  x_head(px, &pr);
  fca_audit_response_body(px, "<html><body>", 12);
  child_doc();
  /* pass: nothing known against it yet */
  cr_assert_eq(cap_count(&cap, FCA_EV_PASS, NULL), 1);
  cr_assert_eq(cap_count(&cap, FCA_EV_VIOLATION, NULL), 0);
  const char *rest =
      "<iframe sandbox=\"allow-scripts allow-same-origin\" src=\"/embed#f\"></iframe>";
  fca_audit_response_body(px, rest, strlen(rest));
  fca_audit_response_end(px, true);
  fca_audit_exchange_free(px);
  assert_rules("FC-COOP-4 FC-SBX-1 FC-SBX-2"); /* a later finding is still emitted */
  cr_assert_str_eq(cap_find(&cap, FCA_EV_VIOLATION, "FC-SBX-1")->ev_url, "https://shop.test/outer");
  cr_assert_eq(cap_find(&cap, FCA_EV_VIOLATION, "FC-SBX-1")->ev_offset, 12);
  json_t *s = finish_summary();
  cr_assert_str_eq(
      json_string_value(json_object_get(json_array_get(json_object_get(s, "pages"), 0), "verdict")),
      "fail");
  cr_assert_eq(cap_count(&cap, FCA_EV_NOTE, NULL), 0);
}

Test(audit, framed_good_sandbox_passes) {
  x_run(A, &(xreq_t){.url = "https://shop.test/outer",
                     .dest = "document",
                     .ctype = "text/html",
                     .now_ms = 1000,
                     .body = "<iframe sandbox='allow-scripts allow-same-origin allow-popups "
                             "allow-popups-to-escape-sandbox' src=embed></iframe>"});
  child_doc();
  assert_rules("");
  cr_assert_eq(cap_count(&cap, FCA_EV_PASS, NULL), 1);
  json_t *s = finish_summary();
  cr_assert_str_eq(item(s, 0, 1, "status"), "pass");
  cr_assert_str_eq(item(s, 0, 3, "status"), "pass");
}

Test(audit, framed_without_iframe_gets_note_and_coop4) {
  /* the iframe was created by script: not in the parent's HTML */
  x_run(A, &(xreq_t){.url = "https://shop.test/outer",
                     .dest = "document",
                     .ctype = "text/html",
                     .now_ms = 1000,
                     .body = "<script src=/app.js></script>",
                     .h = {{"Cross-Origin-Opener-Policy", "same-origin"}}});
  child_doc();
  cr_assert_eq(cap_count(&cap, FCA_EV_NOTE, NULL), 1);
  const cap_event_t *n = cap_find(&cap, FCA_EV_NOTE, NULL);
  cr_assert_str_eq(n->note, "iframe-unknown");
  cr_assert_str_eq(n->page_url, "https://shop.test/embed");
  assert_rules("FC-COOP-4");
  json_t *s = finish_summary();
  cr_assert_str_eq(item(s, 0, 3, "status"), "n/a");
}

Test(audit, nested_frames_follow_parent_links) {
  x_run(A,
        &(xreq_t){
            .url = "https://shop.test/top",
            .dest = "document",
            .ctype = "text/html",
            .now_ms = 1000,
            .body =
                "<iframe src=/mid sandbox='allow-scripts allow-same-origin allow-popups'></iframe>",
            .h = {{"Cross-Origin-Opener-Policy", "same-origin"}}});
  x_run(A, &(xreq_t){.url = "https://shop.test/mid",
                     .dest = "iframe",
                     .ctype = "text/html",
                     .now_ms = 1100,
                     .body = "<iframe src=/leaf></iframe>"});
  x_run(A, &(xreq_t){.url = "https://shop.test/leaf",
                     .dest = "iframe",
                     .ctype = "text/html",
                     .now_ms = 1200,
                     .body = STRIPE});
  assert_rules("FC-COOP-4 FC-SBX-1");
  cr_assert_str_eq(cap_find(&cap, FCA_EV_VIOLATION, "FC-COOP-4")->ev_url, "https://shop.test/top");
  cr_assert_str_eq(cap_find(&cap, FCA_EV_VIOLATION, "FC-SBX-1")->ev_url, "https://shop.test/top");
}

/* ---- dynamic tagging ---------------------------------------------------------------- */

static void script_request(const char *referer, int64_t now, const char *client_id) {
  x_run(A, &(xreq_t){.url = "https://js.stripe.com/v3",
                     .dest = "script",
                     .referer = referer,
                     .now_ms = now,
                     .client_id = client_id});
}

Test(audit, dynamic_tag_by_request) {
  doc(PAGE_URL, "<script src=/app.js></script>", "Cross-Origin-Opener-Policy", "same-origin", NULL,
      NULL);
  cr_assert_eq(cap.n, 0);
  script_request(PAGE_URL, 2000, NULL); /* full Referer (e.g. unsafe-url or same-origin) */
  const cap_event_t *p = cap_find(&cap, FCA_EV_PAGE, NULL);
  cr_assert_not_null(p);
  cr_assert_str_eq(p->tagged_by, "script-request");
  cr_assert_str_eq(p->confidence, "high");
  cr_assert_str_eq(p->ev_source, "request");
  /* header rules at tag time, referrer verdict (document already ended) too */
  assert_rules("FC-COOP-1");
}

Test(audit, dynamic_tag_by_origin_and_recency) {
  doc(PAGE_URL, "<script src=/app.js></script>", NULL, NULL, NULL, NULL);
  script_request("https://shop.test/", 2000, NULL);
  const cap_event_t *p = cap_find(&cap, FCA_EV_PAGE, NULL);
  cr_assert_not_null(p);
  cr_assert_str_eq(p->confidence, "medium");
  cr_assert_eq(cap_count(&cap, FCA_EV_PASS, NULL), 1);
}

Test(audit, dynamic_tag_same_site_and_no_referer) {
  doc("https://www.shop.test/a", "x", NULL, NULL, NULL, NULL);
  script_request("https://pay.shop.test/", 2000, NULL);
  cr_assert_eq(cap_count(&cap, FCA_EV_PAGE, NULL), 1);
  cr_assert_str_eq(cap_find(&cap, FCA_EV_PAGE, NULL)->page_url, "https://www.shop.test/a");
  cap_clear(&cap);
  doc("https://other.test/b", "x", NULL, NULL, NULL, NULL);
  script_request(NULL, 3000, NULL);
  cr_assert_eq(cap_count(&cap, FCA_EV_PAGE, NULL), 1);
  cr_assert_str_eq(cap_find(&cap, FCA_EV_PAGE, NULL)->page_url, "https://other.test/b");
  cr_assert_str_eq(cap_find(&cap, FCA_EV_PAGE, NULL)->confidence, "medium");
}

Test(audit, dynamic_tag_needs_window_and_client) {
  doc("https://a.test/", "x", NULL, NULL, NULL, NULL);
  script_request("https://a.test/", 1000 + 31000, NULL); /* past the 30 s window */
  script_request("https://a.test/", 2000, "10.0.0.9");   /* another client */
  script_request("https://unrelated.test/", 2000, NULL); /* another site */
  x_run(A, &(xreq_t){.url = "https://js.stripe.com/v3",
                     .dest = "image",
                     .referer = "https://a.test/",
                     .now_ms = 2000});
  x_run(A, &(xreq_t){.url = "https://js.stripe.com/v2/",
                     .dest = "script",
                     .referer = "https://a.test/",
                     .now_ms = 2000});
  cr_assert_eq(cap.n, 0);
}

Test(audit, script_literal_same_origin_only) {
  doc(PAGE_URL, "<script src=/bundle.js></script>", NULL, NULL, NULL, NULL);
  const char *js = "import('https://js.stripe.com/v3').then(x => x.collectBankAccountToken())";
  x_run(A, &(xreq_t){.url = "https://cdn.test/bundle.js",
                     .dest = "script",
                     .referer = PAGE_URL,
                     .ctype = "text/javascript",
                     .body = js,
                     .now_ms = 1500});
  cr_assert_eq(cap.n, 0, "cross-origin script literal does not tag");
  x_run(A, &(xreq_t){.url = "https://shop.test/bundle.js",
                     .dest = "script",
                     .referer = PAGE_URL,
                     .ctype = "text/javascript",
                     .body = js,
                     .now_ms = 1500,
                     .chunk = 7});
  const cap_event_t *p = cap_find(&cap, FCA_EV_PAGE, NULL);
  cr_assert_not_null(p);
  cr_assert_str_eq(p->tagged_by, "script-literal");
  cr_assert_str_eq(p->confidence, "medium");
  cr_assert_str_eq(p->ev_url, "https://shop.test/bundle.js");
  cr_assert_eq(p->ev_offset, 8);
  json_t *s = finish_summary();
  json_t *fc = json_object_get(json_array_get(json_object_get(s, "pages"), 0), "fc_evidence");
  cr_assert_str_eq(json_string_value(json_array_get(fc, 0)), "fc-method");
}

Test(audit, tag_upgrade_keeps_one_page_event) {
  xreq_t r = {.url = PAGE_URL, .dest = "document", .ctype = "text/html", .now_ms = 1000};
  fca_audit_exchange_t *x = x_begin(A, &r);
  x_head(x, &r);
  script_request("https://shop.test/", 1001, NULL); /* request seen before the tag streams */
  fca_audit_response_body(x, STRIPE, strlen(STRIPE));
  fca_audit_response_end(x, true);
  fca_audit_exchange_free(x);
  cr_assert_eq(cap_count(&cap, FCA_EV_PAGE, NULL), 1);
  json_t *s = finish_summary();
  json_t *p = json_array_get(json_object_get(s, "pages"), 0);
  cr_assert_str_eq(json_string_value(json_object_get(p, "tagged_by")), "script-tag");
  cr_assert_str_eq(json_string_value(json_object_get(p, "confidence")), "high");
}

/* ---- dedup, levels, confidence ---------------------------------------------------------- */

Test(audit, dedup_reports_once_and_counts) {
  for (int i = 0; i < 3; i++)
    doc(i == 2 ? "https://a.test/p?other=query" : "https://a.test/p?x=1", STRIPE,
        "Cross-Origin-Opener-Policy", "same-origin", NULL, NULL);
  doc("https://a.test/p", STRIPE, "Cross-Origin-Opener-Policy", "same-origin; report-to=x", NULL,
      NULL);
  assert_rules("FC-COOP-1 FC-COOP-1"); /* a different evidence value is a new finding */
  cr_assert_eq(cap_count(&cap, FCA_EV_PAGE, NULL), 1, "reloads with the same tag: one page event");
  json_t *s = finish_summary();
  json_t *r =
      json_object_get(json_object_get(json_object_get(s, "violations"), "by_rule"), "FC-COOP-1");
  cr_assert_eq(json_integer_value(json_object_get(r, "reported")), 2);
  cr_assert_eq(json_integer_value(json_object_get(r, "occurrences")), 4);
  json_t *e =
      json_object_get(json_object_get(json_object_get(s, "violations"), "by_level"), "error");
  cr_assert_eq(json_integer_value(json_object_get(e, "occurrences")), 4);
}

/* The loads of one page (client, URL, top-level) share one scorecard: its items combine as the
 * report combines them (a later failing load fails a passed item), findings add up, and a run
 * of many reloads keeps one card, not one per load. */
Test(audit, loads_of_a_page_share_its_scorecard) {
  doc("https://a.test/p", STRIPE, NULL, NULL, NULL, NULL);
  doc("https://a.test/p", STRIPE, "Cross-Origin-Opener-Policy", "same-origin", NULL, NULL);
  doc("https://a.test/q", STRIPE, NULL, NULL, NULL, NULL);
  for (int i = 0; i < 5; i++) doc("https://a.test/p", STRIPE, NULL, NULL, NULL, NULL);
  json_t *s = finish_summary();
  json_t *pages = json_object_get(s, "pages");
  cr_assert_eq(json_array_size(pages), 2, "one card per page, not per load");
  cr_assert_eq(json_integer_value(json_object_get(s, "pages_tagged")), 8, "every load counted");
  json_t *p = json_array_get(pages, 0), *q = json_array_get(pages, 1);
  cr_assert_str_eq(json_string_value(json_object_get(p, "url")), "https://a.test/p");
  cr_assert_eq(json_integer_value(json_object_get(p, "loads")), 7);
  cr_assert_str_eq(item(s, 0, 1, "status"), "fail", "the failing load fails the item");
  cr_assert(strstr(item(s, 0, 1, "why"), "FC-COOP-1") != NULL);
  cr_assert_str_eq(json_string_value(json_object_get(p, "verdict")), "fail");
  cr_assert_eq(json_integer_value(json_object_get(
                   json_object_get(json_object_get(p, "findings"), "FC-COOP-1"), "count")),
               1);
  cr_assert_str_eq(json_string_value(json_object_get(q, "url")), "https://a.test/q");
  cr_assert_eq(json_integer_value(json_object_get(q, "loads")), 1);
  cr_assert_str_eq(item(s, 1, 1, "status"), "pass");
  cr_assert_eq(json_integer_value(json_object_get(s, "pages_not_listed")), 0);
}

static uint64_t last_violation_count(const capture_t *c) {
  for (size_t i = c->n; i-- > 0;)
    if (c->ev[i].type == FCA_EV_VIOLATION) return c->ev[i].count;
  return 0;
}

Test(audit, no_dedup_reports_all) {
  capture_t c2;
  cap_init(&c2);
  fca_audit_opts_t o = {.emit = cap_fn, .emit_ud = &c2, .dedup = false};
  fca_audit_t *a = fca_audit_new(&o);
  for (int i = 0; i < 3; i++)
    x_run(a, &(xreq_t){.url = "https://a.test/",
                       .dest = "document",
                       .ctype = "text/html",
                       .body = STRIPE,
                       .h = {{"Cross-Origin-Opener-Policy", "same-origin"}}});
  cr_assert_eq(cap_count(&c2, FCA_EV_VIOLATION, "FC-COOP-1"), 3);
  cr_assert_eq(cap_count(&c2, FCA_EV_PAGE, NULL), 3, "every load is logged without dedup");
  cr_assert_eq(last_violation_count(&c2), 3);
  fca_audit_free(a);
  cap_free(&c2);
}

Test(audit, ignore_level_removes_everywhere) {
  fca_ruleset_t *rs = fca_ruleset_new();
  char err[256];
  cr_assert_eq(fca_ruleset_apply_cli(rs, "FC-COOP-1=ignore", err, sizeof err), 0);
  cr_assert_eq(
      fca_ruleset_load_string(rs, "FC-ISO-1 error https://b.test/*\n", 32, "r", err, sizeof err),
      0);
  capture_t c2;
  cap_init(&c2);
  fca_audit_opts_t o = {.emit = cap_fn, .emit_ud = &c2, .dedup = true, .rules = rs};
  fca_audit_t *a = fca_audit_new(&o);
  x_run(a, &(xreq_t){.url = "https://a.test/",
                     .dest = "document",
                     .ctype = "text/html",
                     .body = STRIPE,
                     .h = {{"Cross-Origin-Opener-Policy", "same-origin"}}});
  x_run(a, &(xreq_t){.url = "https://b.test/",
                     .dest = "document",
                     .ctype = "text/html",
                     .body = STRIPE,
                     .h = {{"Cross-Origin-Embedder-Policy", "require-corp"}}});
  cr_assert_eq(cap_count(&c2, FCA_EV_VIOLATION, "FC-COOP-1"), 0);
  cr_assert_eq(cap_count(&c2, FCA_EV_PASS, NULL), 1, "an ignored rule does not block pass");
  cr_assert_eq(cap_find(&c2, FCA_EV_VIOLATION, "FC-ISO-1")->level, FCA_LEVEL_ERROR);
  fca_audit_finish(a);
  json_t *s = cap_find(&c2, FCA_EV_SUMMARY, NULL)->summary;
  cr_assert_null(
      json_object_get(json_object_get(json_object_get(s, "violations"), "by_rule"), "FC-COOP-1"));
  cr_assert_not_null(
      json_object_get(json_object_get(json_object_get(s, "violations"), "by_rule"), "FC-ISO-1"));
  fca_audit_free(a);
  cap_free(&c2);
  fca_ruleset_free(rs);
}

Test(audit, min_confidence_high) {
  capture_t c2;
  cap_init(&c2);
  fca_audit_opts_t o = {.emit = cap_fn, .emit_ud = &c2, .dedup = true, .min_confidence_high = true};
  fca_audit_t *a = fca_audit_new(&o);
  x_run(a, &(xreq_t){.url = "https://a.test/",
                     .dest = "document",
                     .ctype = "text/html",
                     .now_ms = 1000,
                     .body = "<script>load('https://js.stripe.com/v3')</script>",
                     .h = {{"Cross-Origin-Opener-Policy", "same-origin"}}});
  x_run(a, &(xreq_t){.url = "https://js.stripe.com/v3",
                     .dest = "script",
                     .referer = "https://a.test/",
                     .now_ms = 1100});
  cr_assert_eq(c2.n, 0, "medium confidence is not audited");
  x_run(a, &(xreq_t){.url = "https://js.stripe.com/v3",
                     .dest = "script",
                     .referer = "https://a.test/",
                     .now_ms = 1200,
                     .client_id = "127.0.0.1"});
  x_run(a, &(xreq_t){.url = "https://b.test/",
                     .dest = "document",
                     .ctype = "text/html",
                     .body = STRIPE,
                     .now_ms = 1300});
  cr_assert_eq(cap_count(&c2, FCA_EV_PAGE, NULL), 1);
  cr_assert_str_eq(cap_find(&c2, FCA_EV_PAGE, NULL)->page_url, "https://b.test/");
  fca_audit_finish(a);
  json_t *s = cap_find(&c2, FCA_EV_SUMMARY, NULL)->summary;
  cr_assert_eq(json_integer_value(json_object_get(s, "pages_below_min_confidence")), 1);
  cr_assert_str_eq(json_string_value(json_object_get(s, "min_confidence")), "high");
  fca_audit_free(a);
  cap_free(&c2);
}

/* ---- 304, notes ---------------------------------------------------------------------- */

Test(audit, not_modified_reuses_findings) {
  doc("https://a.test/", STRIPE, "Cross-Origin-Opener-Policy", "same-origin", NULL, NULL);
  x_run(A, &(xreq_t){.url = "https://a.test/", .dest = "document", .status = 304, .now_ms = 5000});
  cr_assert_eq(cap_count(&cap, FCA_EV_PAGE, NULL), 1, "the reload is counted, not re-logged");
  cr_assert_eq(cap_count(&cap, FCA_EV_VIOLATION, NULL), 1, "deduplicated");
  json_t *s = finish_summary();
  cr_assert_eq(json_integer_value(json_object_get(s, "pages_seen")), 2);
  json_t *r =
      json_object_get(json_object_get(json_object_get(s, "violations"), "by_rule"), "FC-COOP-1");
  cr_assert_eq(json_integer_value(json_object_get(r, "occurrences")), 2);
  /* a 304 for a document never seen in full: nothing to reuse */
  x_run(A, &(xreq_t){.url = "https://new.test/", .dest = "document", .status = 304});
  fca_audit_stats_t st;
  fca_audit_stats(A, &st);
  cr_assert_eq(st.pages_seen, 2);
}

Test(audit, notes_for_cap_and_cut_short) {
  capture_t c2;
  cap_init(&c2);
  fca_audit_opts_t o = {.emit = cap_fn, .emit_ud = &c2, .dedup = true, .max_audit_bytes = 64};
  fca_audit_t *a = fca_audit_new(&o);
  char body[256];
  memset(body, ' ', sizeof body);
  memcpy(body + 100, STRIPE, strlen(STRIPE));
  x_run(a, &(xreq_t){.url = "https://a.test/",
                     .dest = "document",
                     .ctype = "text/html",
                     .body = body,
                     .body_len = sizeof body});
  cr_assert_eq(cap_count(&c2, FCA_EV_PAGE, NULL), 0, "past the cap: not seen");
  const cap_event_t *n = cap_find(&c2, FCA_EV_NOTE, NULL);
  cr_assert_not_null(n);
  cr_assert_str_eq(n->note, "audit-incomplete");
  cr_assert_not_null(strstr(n->message, "max-audit-bytes"));
  cr_assert_str_eq(n->page_url, "https://a.test/");
  x_run(a, &(xreq_t){.url = "https://b.test/",
                     .dest = "document",
                     .ctype = "text/html",
                     .body = "<p>",
                     .incomplete = true});
  cr_assert_eq(cap_count(&c2, FCA_EV_NOTE, NULL), 2);
  cr_assert_not_null(strstr(c2.ev[c2.n - 1].message, "cut short"));
  x_run(a, &(xreq_t){.url = "https://c.test/",
                     .dest = "document",
                     .ctype = "text/html",
                     .cenc = "compress",
                     .body = "x"});
  cr_assert_eq(cap_count(&c2, FCA_EV_NOTE, NULL), 3);
  cr_assert_not_null(strstr(c2.ev[c2.n - 1].message, "unsupported"));
  fca_audit_free(a);
  cap_free(&c2);
}

Test(audit, exchange_freed_before_end) {
  xreq_t r = {.url = "https://a.test/",
              .dest = "document",
              .ctype = "text/html",
              .h = {{"Referrer-Policy", "no-referrer"}}};
  fca_audit_exchange_t *x = x_begin(A, &r);
  x_head(x, &r);
  fca_audit_response_body(x, STRIPE, strlen(STRIPE));
  fca_audit_exchange_free(x);
  assert_rules("FC-REF-1");
  cr_assert_eq(cap_count(&cap, FCA_EV_NOTE, NULL), 1);
}

/* ---- summary and FC-TEST-2 ------------------------------------------------------------ */

Test(audit, summary_test_mode_coverage) {
  doc(PAGE_URL, STRIPE "<script>Stripe('pk_test_0123456789abcdefghijkl')</script>", NULL, NULL,
      NULL, NULL);
  x_run(A, &(xreq_t){.url = "https://js.stripe.com/v3/linked-accounts-inner-abc.html",
                     .dest = "iframe",
                     .referer = "https://shop.test/",
                     .ctype = "text/html",
                     .body = "x",
                     .now_ms = 1500});
  const char *json1 = "{\"object\":\"link_account_session\",\"livemode\":false,\"linked_accounts\":"
                      "{\"data\":[{\"institution_name\":\"Test "
                      "(OAuth)\"},{\"institution_name\":\"bank (non-oauth) \"}]}}";
  const char *json2 = "{\"livemode\":true,\"accounts\":[{\"institution_name\":\"Bank (OAuth)\"}]}";
  x_run(A, &(xreq_t){.method = "POST",
                     .url = "https://api.stripe.com/v1/link_account_sessions/complete",
                     .dest = "empty",
                     .ctype = "application/json",
                     .body = json1,
                     .chunk = 5});
  x_run(A, &(xreq_t){.url = "https://api.stripe.com/v1/financial_connections/accounts",
                     .dest = "empty",
                     .ctype = "application/json",
                     .body = json2});
  x_run(A, &(xreq_t){.url = "https://api.stripe.com/v1/payment_intents",
                     .dest = "empty",
                     .ctype = "application/json",
                     .body = json1});
  json_t *s = finish_summary();
  json_t *t = json_object_get(s, "test_mode");
  cr_assert_str_eq(json_string_value(json_object_get(t, "rule")), "FC-TEST-2");
  cr_assert_str_eq(json_string_value(json_object_get(t, "level")), "info");
  cr_assert_eq(json_integer_value(json_object_get(t, "api_responses")), 2);
  cr_assert_eq(json_integer_value(json_object_get(t, "test_mode_responses")), 1);
  json_t *inst = json_object_get(t, "institutions");
  cr_assert(json_is_true(json_object_get(inst, "Test (OAuth)")));
  cr_assert(json_is_true(json_object_get(inst, "Bank (Non-OAuth)")));
  cr_assert(json_is_false(json_object_get(inst, "Bank (OAuth)")), "live mode does not count");
  cr_assert_eq(json_array_size(json_object_get(t, "missing")), 2);
  cr_assert_not_null(
      strstr(json_string_value(json_object_get(t, "message")), "Test (OAuth), Bank (Non-OAuth)"));
  json_t *p = json_array_get(json_object_get(s, "pages"), 0);
  json_t *fc = json_object_get(p, "fc_evidence");
  cr_assert_eq(json_array_size(fc), 2);
  cr_assert_str_eq(json_string_value(json_array_get(fc, 0)), "linked-accounts-inner");
  cr_assert_str_eq(json_string_value(json_array_get(fc, 1)), "api");
  cr_assert_str_eq(item(s, 0, 4, "status"), "pass");
  cr_assert_eq(cap_count(&cap, FCA_EV_SUMMARY, NULL), 1);
  fca_audit_finish(A); /* once only */
  cr_assert_eq(cap_count(&cap, FCA_EV_SUMMARY, NULL), 1);
}

/* ---- concurrency --------------------------------------------------------------------- */

typedef struct {
  int id;
} worker_arg_t;

static void *worker(void *arg) {
  int id = ((worker_arg_t *)arg)->id;
  char url[128], client[32], ref[128];
  snprintf(client, sizeof client, "10.0.0.%d", id);
  for (int i = 0; i < 200; i++) {
    snprintf(url, sizeof url, "https://s%d.test/page/%d", id, i);
    x_run(A,
          &(xreq_t){.url = url,
                    .dest = "document",
                    .ctype = "text/html",
                    .client_id = client,
                    .now_ms = 1000 + i,
                    .chunk = 13,
                    .body = i % 2 ? STRIPE "<iframe src=/f sandbox></iframe>" : "<p>no stripe</p>",
                    .h = {{"Cross-Origin-Opener-Policy", "same-origin"}}});
    snprintf(ref, sizeof ref, "https://s%d.test/", id);
    x_run(A, &(xreq_t){.url = "https://js.stripe.com/v3",
                       .dest = "script",
                       .referer = ref,
                       .client_id = client,
                       .now_ms = 1000 + i});
    snprintf(url, sizeof url, "https://s%d.test/f", id);
    x_run(A, &(xreq_t){.url = url,
                       .dest = "iframe",
                       .ctype = "text/html",
                       .client_id = client,
                       .now_ms = 1000 + i,
                       .body = STRIPE,
                       .referer = ref});
    x_run(A, &(xreq_t){.url = "https://s.test/img.png", .dest = "image", .client_id = client});
  }
  return NULL;
}

Test(audit, four_threads_share_one_audit) {
  pthread_t t[4];
  worker_arg_t args[4];
  for (int i = 0; i < 4; i++) {
    args[i].id = i;
    cr_assert_eq(pthread_create(&t[i], NULL, worker, &args[i]), 0);
  }
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  fca_audit_stats_t st;
  fca_audit_stats(A, &st);
  cr_assert_eq(st.exchanges, 4 * 200 * 4);
  cr_assert_eq(st.pages_seen, 4 * 200 * 2);
  /* every document page is tagged (statically or by the request), every frame statically */
  cr_assert_eq(st.pages_tagged, 4 * 200 * 2);
  /* per host: COOP-1 once (same URL without query? no: distinct paths) */
  cr_assert_eq(cap_count(&cap, FCA_EV_VIOLATION, "FC-COOP-1"), 4 * 200);
  /* page events: every document URL is distinct; each thread's frame URL is logged once */
  cr_assert_eq(cap_count(&cap, FCA_EV_PAGE, NULL), 4 * 200 + 4);
  fca_audit_finish(A);
  json_t *s = cap_find(&cap, FCA_EV_SUMMARY, NULL)->summary;
  cr_assert_eq(json_integer_value(json_object_get(s, "pages_tagged")), 4 * 200 * 2);
}
