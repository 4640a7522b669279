/* Unit tests for what follows a page through the flow (issue: can the flow run?): publishable
 * keys in the page's JSON/JS fetches and in api.stripe.com calls (FC-TEST-1, item 4), Stripe.js
 * referenced but never fetched (the note, its timing: late requests within the window, no other
 * subresource, the end of the run, the clock, the browser cache), the pure request-key parser,
 * and stack-specific fixes on violations. Synthetic exchanges through the facade. */
#include "audit_capture.h"
#include "engine.h"
#include "fcaudit/ruleset.h"
#include "freshness.h"
#include "stripereq.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STRIPE "<script src=\"https://js.stripe.com/v3\"></script>"
#define PAGE "https://shop.test/checkout"
#define LIVE "pk_live_0123456789abcdefghijkl"
#define TEST "pk_test_0123456789abcdefghijkl"
#define W 30000 /* the default correlation window */

static capture_t cap;
static fca_audit_t *A;

static void setup(void) {
  cap_init(&cap);
  A = cap_audit(&cap, "test");
}

static void teardown(void) {
  fca_audit_free(A);
  cap_free(&cap);
}

TestSuite(flow, .init = setup, .fini = teardown);

static void page_at(const char *url, const char *body, int64_t t) {
  x_run(A,
        &(xreq_t){.url = url, .dest = "document", .ctype = "text/html", .body = body, .now_ms = t});
}

static json_t *summary(void) {
  fca_audit_finish(A);
  const cap_event_t *s = cap_find(&cap, FCA_EV_SUMMARY, NULL);
  cr_assert_not_null(s);
  return s->summary;
}

static json_t *card0(json_t *s) { return json_array_get(json_object_get(s, "pages"), 0); }

static const char *item4(json_t *s) {
  return json_string_value(
      json_object_get(json_object_get(json_object_get(card0(s), "items"), "4"), "why"));
}

/* ---- request keys: the pure parser ------------------------------------------------------ */

Test(flow, stripereq_parser) {
  char k[256];
  size_t n;
  cr_assert_eq(fca_stripereq_form_key("a=1&key=" LIVE "&b=2", strlen("a=1&key=" LIVE "&b=2"), k,
                                      sizeof k, &n),
               FCA_KEY_LIVE);
  cr_assert_str_eq(k, LIVE);
  cr_assert_eq(n, strlen(LIVE));
  const char *enc = "k%65y=pk%5Ftest%5F0123456789abcdefghijkl";
  cr_assert_eq(fca_stripereq_form_key(enc, strlen(enc), k, sizeof k, &n), FCA_KEY_TEST,
               "names and values are percent-decoded");
  cr_assert_str_eq(k, TEST);
  const char *first = "key=nothing&key=" LIVE;
  cr_assert_eq(fca_stripereq_form_key(first, strlen(first), k, sizeof k, &n), FCA_KEY_NONE,
               "the first key field decides");
  const char *other = "publishable_key=" LIVE "&keys=" LIVE;
  cr_assert_eq(fca_stripereq_form_key(other, strlen(other), k, sizeof k, &n), FCA_KEY_NONE);
  const char *shortk = "key=pk_live_0123";
  cr_assert_eq(fca_stripereq_form_key(shortk, strlen(shortk), k, sizeof k, &n), FCA_KEY_NONE);
  const char *junk = "key=" LIVE "%21";
  cr_assert_eq(fca_stripereq_form_key(junk, strlen(junk), k, sizeof k, &n), FCA_KEY_NONE,
               "a key is letters and digits only");
  cr_assert_eq(fca_stripereq_form_key("key", 3, k, sizeof k, &n), FCA_KEY_NONE);
  const char *b;
  cr_assert_eq(fca_stripereq_bearer("Bearer " LIVE, strlen("Bearer " LIVE), &b, &n), FCA_KEY_LIVE);
  cr_assert_eq(n, strlen(LIVE));
  cr_assert_eq(fca_stripereq_bearer(" bearer\t" TEST " ", strlen(" bearer\t" TEST " "), &b, &n),
               FCA_KEY_TEST);
  cr_assert_eq(fca_stripereq_bearer("Basic " LIVE, strlen("Basic " LIVE), &b, &n), FCA_KEY_NONE);
  cr_assert_eq(fca_stripereq_bearer("Bearer sk_live_0123456789abcdefghijkl", 37, &b, &n),
               FCA_KEY_NONE, "a secret key is not a publishable key");
  cr_assert_eq(fca_stripereq_bearer("Bearer" LIVE, strlen("Bearer" LIVE), &b, &n), FCA_KEY_NONE);
}

/* ---- keys wherever they travel ---------------------------------------------------------- */

static void config_fetch(const char *url, const char *ctype, const char *json, int64_t t) {
  x_run(
      A,
      &(xreq_t){
          .url = url, .dest = "empty", .referer = PAGE, .ctype = ctype, .body = json, .now_ms = t});
}

Test(flow, live_key_from_config_json) {
  page_at(PAGE, "<html>" STRIPE "</html>", 1000);
  config_fetch("https://shop.test/config", "application/json", "{\"publishableKey\":\"" LIVE "\"}",
               1100);
  const cap_event_t *v = cap_find(&cap, FCA_EV_VIOLATION, "FC-TEST-1");
  cr_assert_not_null(v);
  cr_assert_str_eq(v->ev_value, LIVE);
  cr_assert_str_eq(v->ev_source, "response");
  cr_assert_str_eq(v->ev_url, "https://shop.test/config", "evidence names where it was seen");
  cr_assert_str_eq(v->page_url, PAGE);
  json_t *s = summary();
  cr_assert_str_eq(json_string_value(json_object_get(
                       json_object_get(json_object_get(card0(s), "items"), "4"), "status")),
                   "fail");
}

Test(flow, config_of_another_site_or_not_json_is_not_the_pages) {
  page_at(PAGE, "<html>" STRIPE "</html>", 1000);
  config_fetch("https://cdn.example/config", "application/json", "{\"k\":\"" LIVE "\"}", 1100);
  config_fetch("https://shop.test/config.txt", "text/plain", "{\"k\":\"" LIVE "\"}", 1200);
  cr_assert_eq(cap_count(&cap, FCA_EV_VIOLATION, "FC-TEST-1"), 0);
  /* a subdomain of the page's site is its own site */
  config_fetch("https://api.shop.test/config", "application/json; charset=utf-8",
               "{\"k\":\"" LIVE "\"}", 1300);
  cr_assert_eq(cap_count(&cap, FCA_EV_VIOLATION, "FC-TEST-1"), 1);
}

Test(flow, test_key_from_config_fills_item4) {
  page_at(PAGE, "<html>" STRIPE "</html>", 1000);
  config_fetch("https://shop.test/config", "application/json", "{\"publishableKey\":\"" TEST "\"}",
               1100);
  cr_assert_eq(cap_count(&cap, FCA_EV_VIOLATION, NULL), 0);
  json_t *s = summary();
  cr_assert_str_eq(item4(s), FCA_ITEM4_TEST_KEY);
}

Test(flow, key_in_a_dynamically_loaded_page_before_it_is_tagged) {
  /* @stripe/stripe-js: /config first, then the loader's Stripe.js request tags the page */
  page_at(PAGE, "<html><script src=/app.js></script></html>", 1000);
  config_fetch("https://shop.test/config", "application/json", "{\"pk\":\"" LIVE "\"}", 1100);
  cr_assert_eq(cap_count(&cap, FCA_EV_VIOLATION, NULL), 0, "not tagged yet");
  x_run(A, &(xreq_t){.url = "https://js.stripe.com/v3/",
                     .dest = "script",
                     .referer = "https://shop.test/",
                     .now_ms = 1200});
  cr_assert_eq(cap_count(&cap, FCA_EV_VIOLATION, "FC-TEST-1"), 1);
}

static void api_call(xreq_t r) {
  if (!r.url) r.url = "https://api.stripe.com/v1/payment_methods";
  r.dest = "empty";
  if (!r.referer) r.referer = "https://js.stripe.com/";
  r.ctype = "application/json";
  r.body = "{}";
  x_run(A, &r);
}

Test(flow, live_key_in_api_form_field) {
  page_at(PAGE, "<html>" STRIPE "</html>", 1000);
  api_call((xreq_t){.method = "POST",
                    .now_ms = 1500,
                    .rh = {{"Content-Type", "application/x-www-form-urlencoded"}},
                    .req_body = "type=card&key=" LIVE "&_stripe_version=2024"});
  const cap_event_t *v = cap_find(&cap, FCA_EV_VIOLATION, "FC-TEST-1");
  cr_assert_not_null(v);
  cr_assert_str_eq(v->ev_source, "request");
  cr_assert_str_eq(v->ev_name, "key (form field)");
  cr_assert_str_eq(v->ev_url, "https://api.stripe.com/v1/payment_methods");
}

Test(flow, live_key_in_api_bearer_and_query) {
  page_at(PAGE, "<html>" STRIPE "</html>", 1000);
  api_call((xreq_t){.now_ms = 1500, .rh = {{"Authorization", "Bearer " LIVE}}});
  const cap_event_t *v = cap_find(&cap, FCA_EV_VIOLATION, "FC-TEST-1");
  cr_assert_not_null(v);
  cr_assert_str_eq(v->ev_name, "Authorization: Bearer");
  cr_assert_str_eq(v->ev_value, LIVE, "the key only, never the header as a whole");
  fca_audit_free(A);
  cap_clear(&cap);
  A = cap_audit(&cap, "test");
  page_at(PAGE, "<html>" STRIPE "</html>", 1000);
  api_call((xreq_t){.url = "https://api.stripe.com/v1/elements/sessions?key=" LIVE "&locale=en",
                    .now_ms = 1500});
  v = cap_find(&cap, FCA_EV_VIOLATION, "FC-TEST-1");
  cr_assert_not_null(v);
  cr_assert_str_eq(v->ev_name, "key (query)");
  cr_assert_str_eq(v->ev_url, "https://api.stripe.com/v1/elements/sessions");
}

Test(flow, api_key_same_dedup_as_the_markup_key) {
  page_at(PAGE, "<html>" STRIPE "<script>Stripe('" LIVE "')</script></html>", 1000);
  api_call((xreq_t){.now_ms = 1500, .rh = {{"Authorization", "Bearer " LIVE}}});
  cr_assert_eq(cap_count(&cap, FCA_EV_VIOLATION, "FC-TEST-1"), 1, "one key, one finding");
  cr_assert_str_eq(cap_find(&cap, FCA_EV_VIOLATION, "FC-TEST-1")->ev_source, "script");
}

Test(flow, api_key_outside_the_window_or_other_client_is_nobodys) {
  page_at(PAGE, "<html>" STRIPE "</html>", 1000);
  api_call((xreq_t){.now_ms = 1000 + W + 1, .rh = {{"Authorization", "Bearer " LIVE}}});
  api_call((xreq_t){.now_ms = 1500,
                    .client_id = "10.0.0.9",
                    .client = "10.0.0.9:1",
                    .rh = {{"Authorization", "Bearer " LIVE}}});
  cr_assert_eq(cap_count(&cap, FCA_EV_VIOLATION, NULL), 0);
}

Test(flow, api_form_over_the_bound_keeps_whole_fields_only) {
  page_at(PAGE, "<html>" STRIPE "</html>", 1000);
  size_t pad = FCA_STRIPEREQ_BODY_MAX - 10;
  char *body = malloc(pad + 64);
  memset(body, 'a', pad);
  memcpy(body, "x=", 2);
  snprintf(body + pad, 64, "&key=%s", LIVE);
  api_call((xreq_t){.method = "POST",
                    .now_ms = 1500,
                    .rh = {{"Content-Type", "application/x-www-form-urlencoded"}},
                    .req_body = body});
  free(body);
  cr_assert_eq(cap_count(&cap, FCA_EV_VIOLATION, NULL), 0, "a key cut at the bound is no key");
}

Test(flow, production_run_live_key_in_api_passes_item4) {
  fca_audit_free(A);
  cap_clear(&cap);
  A = cap_audit(&cap, "production");
  page_at(PAGE, "<html>" STRIPE "</html>", 1000);
  api_call((xreq_t){.now_ms = 1500, .rh = {{"Authorization", "Bearer " LIVE}}});
  cr_assert_eq(cap_count(&cap, FCA_EV_VIOLATION, NULL), 0);
  cr_assert_str_eq(item4(summary()), FCA_ITEM4_LIVE_PRODUCTION);
}

/* ---- Stripe.js seen or only referenced -------------------------------------------------- */

static void sub_of(const char *page, const char *url, const char *dest, int64_t t) {
  x_run(A, &(xreq_t){.url = url, .dest = dest, .referer = page, .now_ms = t});
}

static void sub(const char *url, const char *dest, int64_t t) { sub_of(PAGE, url, dest, t); }

static void stripejs(const char *url, int64_t t, const char *cache_control) {
  xreq_t r = {.url = url,
              .dest = "script",
              .referer = "https://shop.test/",
              .now_ms = t,
              .ctype = "text/javascript"};
  if (cache_control) {
    r.h[0][0] = "Cache-Control";
    r.h[0][1] = cache_control;
  }
  x_run(A, &r);
}

static const char *stripe_js_state(json_t *s) {
  return json_string_value(json_object_get(card0(s), "stripe_js"));
}

Test(flow, never_fetched_after_the_window) {
  page_at(PAGE, "<html>" STRIPE "<img src=a.png></html>", 1000);
  sub("https://shop.test/a.png", "image", 1100);
  sub("https://shop.test/app.css", "style", 1200);
  cr_assert_eq(cap_count(&cap, FCA_EV_NOTE, NULL), 0, "still within the window");
  fca_audit_tick(A, 1000 + W);
  cr_assert_eq(cap_count(&cap, FCA_EV_NOTE, NULL), 0, "the window ends after ts + window");
  fca_audit_tick(A, 1000 + W + 1);
  const cap_event_t *n = cap_find(&cap, FCA_EV_NOTE, NULL);
  cr_assert_not_null(n);
  cr_assert_str_eq(n->note, "stripe-js-not-fetched");
  cr_assert_str_eq(n->page_url, PAGE);
  cr_assert_not_null(strstr(n->message, "references Stripe.js (never fetched)"), "%s", n->message);
  cr_assert_not_null(strstr(n->message, "https://js.stripe.com/v3"), "%s", n->message);
  cr_assert_not_null(strstr(n->message, "2 other"), "%s", n->message);
  json_t *s = summary();
  cr_assert_str_eq(stripe_js_state(s), "never-fetched");
  cr_assert_eq(cap_count(&cap, FCA_EV_NOTE, NULL), 1, "settled once");
  /* findings do not change: the page still passes the checklist */
  cr_assert_eq(cap_count(&cap, FCA_EV_PASS, NULL), 1);
}

Test(flow, fetched_late_within_the_window_gets_no_note) {
  page_at(PAGE, "<html>" STRIPE "</html>", 1000);
  sub("https://shop.test/a.png", "image", 1100);
  stripejs("https://js.stripe.com/v3", 1000 + W - 1, "no-cache");
  fca_audit_tick(A, 1000 + 3 * W);
  cr_assert_eq(cap_count(&cap, FCA_EV_NOTE, NULL), 0);
  cr_assert_str_eq(stripe_js_state(summary()), "fetched");
}

Test(flow, a_full_wait_list_settles_the_longest_waiter_first) {
  /* the first page to wait (it has another subresource) is settled when the list is full, before
   * any of the pages that came after it */
  page_at(PAGE, "<html>" STRIPE "</html>", 1000);
  sub("https://shop.test/a.png", "image", 1001);
  char url[64];
  for (int i = 0; i < FCA_AUDIT_AWAIT_MAX - 1; i++) {
    snprintf(url, sizeof url, "https://shop.test/p%d", i);
    page_at(url, "<html>" STRIPE "</html>", 900 + i % 50); /* earlier clocks: order is arrival */
    sub_of(url, "https://shop.test/b.png", "image", 1002 + i);
  }
  cr_assert_eq(cap_count(&cap, FCA_EV_NOTE, NULL), 0, "not full yet");
  page_at("https://shop.test/last", "<html>" STRIPE "</html>", 2000);
  cr_assert_eq(cap_count(&cap, FCA_EV_NOTE, NULL), 1, "one page settled to make room");
  const cap_event_t *n = cap_find(&cap, FCA_EV_NOTE, NULL);
  cr_assert_str_eq(n->note, "stripe-js-not-fetched");
  cr_assert_str_eq(n->page_url, PAGE, "the longest waiter, not the smallest clock");
}

Test(flow, no_other_subresource_no_note) {
  page_at(PAGE, "<html>" STRIPE "</html>", 1000); /* curl: the document only */
  fca_audit_tick(A, 1000 + 2 * W);
  json_t *s = summary();
  cr_assert_eq(cap_count(&cap, FCA_EV_NOTE, NULL), 0);
  cr_assert_str_eq(stripe_js_state(s), "unknown");
}

Test(flow, end_of_run_settles_inside_the_window) {
  page_at(PAGE, "<html>" STRIPE "</html>", 1000);
  sub("https://shop.test/a.js", "script", 1100);
  summary(); /* shutdown: written before the summary */
  cr_assert_eq(cap_count(&cap, FCA_EV_NOTE, NULL), 1);
  size_t note_at = 0, sum_at = 0;
  for (size_t i = 0; i < cap.n; i++) {
    if (cap.ev[i].type == FCA_EV_NOTE) note_at = i;
    if (cap.ev[i].type == FCA_EV_SUMMARY) sum_at = i;
  }
  cr_assert_lt(note_at, sum_at);
}

Test(flow, a_request_after_the_window_settles_too) {
  page_at(PAGE, "<html>" STRIPE "</html>", 1000);
  sub("https://shop.test/a.js", "script", 1100);
  sub("https://other.test/x.png", "image", 1000 + W + 5); /* no tick: a request is the clock */
  cr_assert_eq(cap_count(&cap, FCA_EV_NOTE, NULL), 1);
}

Test(flow, the_url_the_page_references_decides) {
  page_at(PAGE, "<html><script src=\"//js.stripe.com/v3/?advancedFraudSignals=false\"></script>",
          1000);
  sub("https://shop.test/a.js", "script", 1100);
  stripejs("https://js.stripe.com/v3/?advancedFraudSignals=false", 1200, NULL);
  summary();
  cr_assert_eq(cap_count(&cap, FCA_EV_NOTE, NULL), 0, "protocol-relative: fetched over https");
}

Test(flow, another_client_fetching_does_not_count) {
  page_at(PAGE, "<html>" STRIPE "</html>", 1000);
  sub("https://shop.test/a.js", "script", 1100);
  x_run(A, &(xreq_t){.url = "https://js.stripe.com/v3",
                     .dest = "script",
                     .client_id = "10.1.1.1",
                     .client = "10.1.1.1:9",
                     .now_ms = 1200});
  summary();
  cr_assert_eq(cap_count(&cap, FCA_EV_NOTE, NULL), 1);
}

Test(flow, cached_copy_that_runs_calls_stripe) {
  page_at(PAGE, "<html>" STRIPE "</html>", 1000);
  stripejs("https://js.stripe.com/v3", 1100, "max-age=300");
  page_at(PAGE "?again", "<html>" STRIPE "</html>", 5000); /* reload: served from the cache */
  sub_of(PAGE "?again", "https://shop.test/a.js", "script", 5100);
  /* Stripe.js runs from the cache: its frames and calls leave from the page (Referer: origin) */
  x_run(A, &(xreq_t){.url = "https://m.stripe.network/inner.html",
                     .dest = "iframe",
                     .referer = "https://shop.test/",
                     .now_ms = 5200});
  fca_audit_tick(A, 5000 + W + 1);
  cr_assert_eq(cap_count(&cap, FCA_EV_NOTE, NULL), 0);
  json_t *s = summary();
  cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(s, "pages"), 1),
                                                     "stripe_js")),
                   "cached");
}

Test(flow, a_fresh_copy_alone_does_not_settle) {
  /* several browser contexts share one address but not their caches: a fresh copy fetched by
   * "the client" proves nothing by itself */
  page_at(PAGE, "<html>" STRIPE "</html>", 1000);
  stripejs("https://js.stripe.com/v3", 1100, "max-age=300");
  page_at(PAGE "?csp", "<html>" STRIPE "</html>", 5000);
  sub_of(PAGE "?csp", "https://shop.test/a.js", "script", 5100);
  x_run(A, &(xreq_t){.url = "https://m.stripe.network/inner.html",
                     .dest = "iframe",
                     .referer = "https://js.stripe.com/",
                     .now_ms = 5200}); /* a Stripe frame's */
  summary();
  const cap_event_t *n = cap_find(&cap, FCA_EV_NOTE, NULL);
  cr_assert_not_null(n);
  cr_assert_str_eq(n->page_url, PAGE "?csp");
  cr_assert_not_null(strstr(n->message, "still fresh"), "%s", n->message);
}

Test(flow, stale_or_no_store_copy_must_be_fetched_again) {
  page_at(PAGE, "<html>" STRIPE "</html>", 1000);
  stripejs("https://js.stripe.com/v3", 1100, "max-age=2");
  page_at(PAGE "?again", "<html>" STRIPE "</html>", 5000);
  sub_of(PAGE "?again", "https://shop.test/a.js", "script", 5100);
  summary();
  cr_assert_eq(cap_count(&cap, FCA_EV_NOTE, NULL), 1, "max-age 2 s has passed");
}

Test(flow, csp_on_the_page_is_named) {
  x_run(A, &(xreq_t){.url = PAGE,
                     .dest = "document",
                     .ctype = "text/html",
                     .body = "<html>" STRIPE "</html>",
                     .now_ms = 1000,
                     .h = {{"Content-Security-Policy", "script-src 'self'"}}});
  sub("https://shop.test/a.js", "script", 1100);
  summary();
  const cap_event_t *n = cap_find(&cap, FCA_EV_NOTE, NULL);
  cr_assert_not_null(n);
  cr_assert_not_null(strstr(n->message, "Content-Security-Policy"), "%s", n->message);
}

Test(flow, freshness_rules) {
  fca_audit_header_t h[3];
#define H(i, n, v) h[i] = (fca_audit_header_t){n, strlen(n), v, strlen(v)}
  H(0, "Cache-Control", "public, max-age=60");
  cr_assert_eq(fca_freshness_ms(h, 1), 60000);
  H(0, "Cache-Control", "max-age=60, no-cache");
  cr_assert_eq(fca_freshness_ms(h, 1), 0);
  H(0, "Cache-Control", "no-store");
  cr_assert_eq(fca_freshness_ms(h, 1), 0);
  H(0, "Date", "Sun, 06 Dec 2026 10:00:00 GMT");
  H(1, "Expires", "Sun, 06 Dec 2026 10:05:00 GMT");
  cr_assert_eq(fca_freshness_ms(h, 2), 300000);
  H(1, "Expires", "0");
  cr_assert_eq(fca_freshness_ms(h, 2), 0, "an invalid Expires is already expired");
  H(1, "Last-Modified", "Sun, 06 Dec 2026 09:00:00 GMT");
  cr_assert_eq(fca_freshness_ms(h, 2), 360000, "10%% of the age since Last-Modified");
  H(2, "Cache-Control", "max-age=5");
  cr_assert_eq(fca_freshness_ms(h, 3), 5000, "max-age beats the heuristic");
  cr_assert_eq(fca_freshness_ms(h, 0), 0);
#undef H
}

/* ---- stack-specific fixes on violations ------------------------------------------------- */

Test(flow, helmet_page_gets_helmet_fixes) {
  x_run(A, &(xreq_t){.url = PAGE,
                     .dest = "document",
                     .ctype = "text/html",
                     .body = "<html>" STRIPE "</html>",
                     .now_ms = 1000,
                     .h = {{"Cross-Origin-Opener-Policy", "same-origin"},
                           {"Referrer-Policy", "no-referrer"},
                           {"X-DNS-Prefetch-Control", "off"},
                           {"Origin-Agent-Cluster", "?1"},
                           {"X-Download-Options", "noopen"}}});
  const cap_event_t *c = cap_find(&cap, FCA_EV_VIOLATION, "FC-COOP-1");
  cr_assert_not_null(c);
  cr_assert_str_eq(c->fix_stack, "helmet");
  cr_assert_str_eq(c->fix_stack_conf, "guess");
  cr_assert_not_null(strstr(c->fix_stack_text, "crossOriginOpenerPolicy"));
  cr_assert_not_null(strstr(c->fix, "same-origin-allow-popups"), "the generic fix stays");
  const cap_event_t *r = cap_find(&cap, FCA_EV_VIOLATION, "FC-REF-1");
  cr_assert_not_null(r);
  cr_assert_not_null(strstr(r->fix_stack_text, "referrerPolicy"));
}

Test(flow, django_page_gets_settings_fixes_and_meta_gets_none) {
  x_run(A, &(xreq_t){.url = PAGE,
                     .dest = "document",
                     .ctype = "text/html",
                     .body = "<html>" STRIPE "</html>",
                     .now_ms = 1000,
                     .h = {{"Cross-Origin-Opener-Policy", "same-origin"},
                           {"Referrer-Policy", "same-origin"},
                           {"X-Frame-Options", "DENY"},
                           {"X-Content-Type-Options", "nosniff"}}});
  const cap_event_t *c = cap_find(&cap, FCA_EV_VIOLATION, "FC-COOP-1");
  cr_assert_str_eq(c->fix_stack, "django");
  cr_assert_not_null(strstr(c->fix_stack_text, "SECURE_CROSS_ORIGIN_OPENER_POLICY"));
  cr_assert_not_null(strstr(cap_find(&cap, FCA_EV_VIOLATION, "FC-REF-1")->fix_stack_text,
                            "SECURE_REFERRER_POLICY"));
  /* a meta decides: the fix is in the markup, not in a stack setting */
  cap_clear(&cap);
  x_run(A, &(xreq_t){.url = PAGE "2",
                     .dest = "document",
                     .ctype = "text/html",
                     .body = "<html><meta name=referrer content=no-referrer>" STRIPE "</html>",
                     .now_ms = 2000,
                     .h = {{"Server", "nginx"}}});
  const cap_event_t *r = cap_find(&cap, FCA_EV_VIOLATION, "FC-REF-1");
  cr_assert_not_null(r);
  cr_assert_null(r->fix_stack);
}

Test(flow, unknown_stack_has_no_stack_fix) {
  x_run(A, &(xreq_t){.url = PAGE,
                     .dest = "document",
                     .ctype = "text/html",
                     .body = "<html>" STRIPE "</html>",
                     .now_ms = 1000,
                     .h = {{"Cross-Origin-Opener-Policy", "same-origin"}}});
  const cap_event_t *c = cap_find(&cap, FCA_EV_VIOLATION, "FC-COOP-1");
  cr_assert_null(c->fix_stack);
  cr_assert_null(c->fix_stack_text);
}

Test(flow, the_request_goes_to_the_page_it_correlates_to) {
  page_at(PAGE, "<html>" STRIPE "</html>", 1000);
  sub("https://shop.test/a.js", "script", 1100);
  page_at("https://shop.test/other", "<html>" STRIPE "</html>", 2000);
  stripejs("https://js.stripe.com/v3", 2100, NULL); /* Referer: the origin: the latest page */
  summary();
  const cap_event_t *n = cap_find(&cap, FCA_EV_NOTE, NULL);
  cr_assert_not_null(n, "the first page never got its Stripe.js");
  cr_assert_str_eq(n->page_url, PAGE);
  cr_assert_eq(cap_count(&cap, FCA_EV_NOTE, NULL), 1);
}

Test(flow, a_tool_fetching_pages_one_after_the_other_gets_no_note) {
  /* curl/wrk: no Sec-Fetch-Dest, Accept absent or any type: each request may be a document */
  for (int i = 0; i < 3; i++) {
    char url[64];
    snprintf(url, sizeof url, "%s?n=%d", PAGE, i);
    x_run(A, &(xreq_t){.url = url,
                       .ctype = "text/html",
                       .body = "<html>" STRIPE "</html>",
                       .now_ms = 1000 + i * 10,
                       .accept = i == 1 ? "*/*" : NULL});
  }
  x_run(A, &(xreq_t){.url = "https://shop.test/logo.png",
                     .accept = "image/avif,image/webp,*/*",
                     .now_ms = 1100});
  summary();
  cr_assert_eq(cap_count(&cap, FCA_EV_NOTE, NULL), 0);
  /* a subresource that does not take HTML still counts */
  fca_audit_free(A);
  cap_clear(&cap);
  A = cap_audit(&cap, "test");
  page_at(PAGE, "<html>" STRIPE "</html>", 1000);
  x_run(A, &(xreq_t){.url = "https://shop.test/logo.png", .accept = "image/png", .now_ms = 1100});
  summary();
  cr_assert_eq(cap_count(&cap, FCA_EV_NOTE, NULL), 1);
}
