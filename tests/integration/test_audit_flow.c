/* Integration: can the flow run on the page? Through the real fcaudit binary, a local origin and
 * an in-process TLS stand-in for js.stripe.com and api.stripe.com (--connect-to): a live key
 * that reaches the page from its `/config` JSON, or travels to api.stripe.com in a form field
 * or a Bearer header, fires FC-TEST-1 with --env test; a test key there fills item 4; a page
 * whose Stripe.js is never requested while its other subresources are gets the
 * stripe-js-not-fetched note (at the end of the run, or from the proxy's clock once the window
 * ends) while a page that fetches it does not; helmet-like and Django-like headers give fixes
 * in the words of those stacks. Helpers: audit_rules_fixture.h. */
#include "audit_rules_fixture.h"

TestSuite(audit_flow, .fini = fca_harness_cleanup, .timeout = 60);

#define LIVE "pk_live_0123456789abcdefghijkl"
#define TESTK "pk_test_0123456789abcdefghijkl"

static mini_t stripe; /* js.stripe.com and api.stripe.com */

/* Origin (plain + TLS for the stand-in's certificate), the Stripe stand-in, the proxy. */
static void start_flow(const char *const extra[]) {
  start_origin(true);
  memset(&stripe, 0, sizeof stripe);
  const char *json = "Content-Type: application/json\r\n";
  stripe.routes[0] = (route_t){.path = "/v3",
                               .head = "Content-Type: text/javascript\r\nCache-Control: "
                                       "max-age=60\r\n",
                               .part1 = "window.Stripe=function(){};"};
  stripe.routes[1] = (route_t){.path = "/v1/payment_methods", .head = json, .part1 = "{}"};
  stripe.routes[2] = (route_t){.path = "/v1/elements/sessions", .head = json, .part1 = "{}"};
  stripe.nroutes = 3;
  mini_start(&stripe, true);
  static char js[96], api[96];
  snprintf(js, sizeof js, "js.stripe.com:443:127.0.0.1:%d", stripe.port);
  snprintf(api, sizeof api, "api.stripe.com:443:127.0.0.1:%d", stripe.port);
  const char *args[24] = {"--connect-to", js, "--connect-to", api, "--upstream-ca", torg.ca_pem};
  size_t k = 6;
  for (size_t i = 0; extra && extra[i]; i++) args[k++] = extra[i];
  args[k] = NULL;
  start_proxy(args);
}

static void finish_flow(void) {
  mini_stop(&stripe);
  finish();
}

/* A request as the browser makes it for a page: Sec-Fetch-Dest and a Referer (a page name or
 * an absolute URL), plus more curl arguments. */
static void fetch_for(const char *url_or_name, const char *dest, const char *referer,
                      const char *const more[]) {
  char *u = url_of(url_or_name), *d = fca_xasprintf("Sec-Fetch-Dest: %s", dest);
  char *rr = url_of(referer), *ref = fca_xasprintf("Referer: %s", rr);
  const char *args[24] = {"-H", d, "-H", ref};
  size_t k = 4;
  for (size_t i = 0; more && more[i]; i++) args[k++] = more[i];
  args[k++] = u;
  args[k] = NULL;
  pcurl(args);
  free(u);
  free(d);
  free(rr);
  free(ref);
}

static json_t *only_v(const char *rule, const char *page) {
  char *u = url_of(page);
  json_t *v = NULL;
  for (size_t i = 0; i < L.n; i++)
    if (is(L.ev[i], "violation") && !strcmp(jstr(L.ev[i], "rule"), rule) &&
        !strcmp(jstr(L.ev[i], "page.url"), u)) {
      cr_assert_null(v, "two %s on %s", rule, u);
      v = L.ev[i];
    }
  cr_assert_not_null(v, "no %s on %s", rule, u);
  free(u);
  return v;
}

static size_t notes(const char *kind, const char *page) {
  char *u = page ? url_of(page) : NULL;
  size_t n = 0;
  for (size_t i = 0; i < L.n; i++)
    if (is(L.ev[i], "note") && !strcmp(jstr(L.ev[i], "note"), kind) &&
        (!u || (jstr(L.ev[i], "page.url") && !strcmp(jstr(L.ev[i], "page.url"), u))))
      n++;
  free(u);
  return n;
}

/* ---- keys wherever they travel ---------------------------------------------------------- */

Test(audit_flow, live_key_from_config_json) {
  start_flow((const char *[]){"--env", "test", NULL});
  put("cfg.html", NULL,
      "<html>" STRIPE "<script>fetch('/files/config.json').then(r => r.json())"
      ".then(c => Stripe(c.publishableKey))</script></html>");
  put("config.json", NULL, "{\"publishableKey\":\"" LIVE "\"}");
  put("cfg-test.html", NULL, "<html>" STRIPE "</html>");
  put("config-test.json", NULL, "{\"publishableKey\":\"" TESTK "\"}");
  load("cfg.html");
  fetch_for("config.json", "empty", "cfg.html", NULL);
  load("cfg-test.html");
  fetch_for("config-test.json", "empty", "cfg-test.html", NULL);
  finish_flow();
  json_t *v = only_v("FC-TEST-1", "cfg.html");
  cr_assert_str_eq(jstr(v, "level"), "warning");
  cr_assert_eq(jint(v, "item"), 4);
  cr_assert_str_eq(jstr(v, "evidence.source"), "response");
  cr_assert_str_eq(jstr(v, "evidence.value"), LIVE);
  char *cu = url_of("config.json");
  cr_assert_str_eq(jstr(v, "evidence.url"), cu, "the evidence names where the key was seen");
  free(cu);
  cr_assert_str_eq(item_status(card("cfg.html", 0), 4), "fail");
  expect_page("cfg-test.html", "", 1);
  json_t *c = card("cfg-test.html", 0);
  cr_assert_str_eq(item_status(c, 4), "pass");
  cr_assert_str_eq(jstr(c, "items.4.why"), "test key seen",
                   "no longer \"no publishable key seen\"");
  cr_assert_str_eq(jstr(L.summary, "env"), "test");
}

Test(audit_flow, live_key_in_api_stripe_requests) {
  start_flow((const char *[]){"--env", "test", NULL});
  put("pay-form.html", NULL, "<html>" STRIPE "</html>");
  put("pay-bearer.html", NULL, "<html>" STRIPE "</html>");
  load("pay-form.html");
  /* Stripe.js from the page: an urlencoded POST with the key field, Referer the page's origin */
  fetch_for(
      "https://api.stripe.com/v1/payment_methods", "empty", "https://js.stripe.com/",
      (const char *[]){"--data", "type=card&key=" LIVE "&payment_user_agent=stripe.js", NULL});
  load("pay-bearer.html");
  fetch_for("https://api.stripe.com/v1/elements/sessions", "empty", "https://js.stripe.com/",
            (const char *[]){"-H", "Authorization: Bearer " LIVE, NULL});
  finish_flow();
  json_t *f = only_v("FC-TEST-1", "pay-form.html");
  cr_assert_str_eq(jstr(f, "evidence.source"), "request");
  cr_assert_str_eq(jstr(f, "evidence.name"), "key (form field)");
  cr_assert_str_eq(jstr(f, "evidence.value"), LIVE);
  cr_assert_str_eq(jstr(f, "evidence.url"), "https://api.stripe.com/v1/payment_methods");
  /* same rule, same dedup: the second page reports the same key under its own URL */
  json_t *b = only_v("FC-TEST-1", "pay-bearer.html");
  cr_assert_str_eq(jstr(b, "evidence.name"), "Authorization: Bearer");
  cr_assert_str_eq(jstr(b, "evidence.value"), LIVE, "the key, never the header as a whole");
  cr_assert_str_eq(jstr(b, "evidence.url"), "https://api.stripe.com/v1/elements/sessions");
}

/* ---- Stripe.js seen or only referenced -------------------------------------------------- */

Test(audit_flow, never_fetched_note_at_the_end_of_the_run) {
  start_flow(NULL);
  put("blocked.html", NULL, "<html>" STRIPE "<img src=logo.png></html>");
  put("loaded.html", NULL, "<html>" STRIPE "<img src=logo.png></html>");
  put("alone.html", NULL, "<html>" STRIPE "</html>");
  put("logo.png", NULL, "png");
  load("blocked.html");
  fetch_for("logo.png", "image", "blocked.html", NULL);
  load("loaded.html");
  fetch_for("https://js.stripe.com/v3", "script", "https://127.0.0.1/", NULL);
  fetch_for("logo.png", "image", "loaded.html", NULL);
  load("alone.html"); /* no other subresource: nothing to conclude */
  finish_flow();
  cr_assert_eq(notes("stripe-js-not-fetched", "blocked.html"), 1);
  cr_assert_eq(notes("stripe-js-not-fetched", "loaded.html"), 0);
  cr_assert_eq(notes("stripe-js-not-fetched", "alone.html"), 0);
  cr_assert_eq(notes("stripe-js-not-fetched", NULL), 1);
  char *bu = url_of("blocked.html");
  for (size_t i = 0; i < L.n; i++)
    if (is(L.ev[i], "note"))
      cr_assert_not_null(strstr(jstr(L.ev[i], "message"), "references Stripe.js (never fetched)"));
  free(bu);
  cr_assert_str_eq(jstr(card("blocked.html", 0), "stripe_js"), "never-fetched");
  cr_assert_str_eq(jstr(card("loaded.html", 0), "stripe_js"), "fetched");
  /* the stand-in sends max-age=60: the client may run its cached copy without a request */
  cr_assert_str_eq(jstr(card("alone.html", 0), "stripe_js"), "cached");
  /* no finding changes */
  expect_page("blocked.html", "", 1);
  expect_page("loaded.html", "", 1);
}

Test(audit_flow, never_fetched_note_when_the_window_ends_while_running) {
  start_flow((const char *[]){"--correlation-window", "1s", NULL});
  put("csp.html", "Content-Security-Policy: script-src 'self'\n",
      "<html>" STRIPE "<script src=app.js></script></html>");
  put("app.js", NULL, "console.log(1)");
  load("csp.html");
  fetch_for("app.js", "script", "csp.html", NULL);
  /* no request follows: the proxy's clock settles the page about a second later */
  wait_log(10000, "\"stripe-js-not-fetched\"", "csp.html", NULL);
  finish_flow();
  cr_assert_eq(notes("stripe-js-not-fetched", "csp.html"), 1);
  for (size_t i = 0; i < L.n; i++)
    if (is(L.ev[i], "note"))
      cr_assert_not_null(strstr(jstr(L.ev[i], "message"), "Content-Security-Policy"));
}

/* ---- fixes in the words of the stack ---------------------------------------------------- */

Test(audit_flow, helmet_and_django_headers_give_stack_fixes) {
  start_flow(NULL);
  put("helmet.html",
      "Cross-Origin-Opener-Policy: same-origin\n"
      "Cross-Origin-Resource-Policy: same-origin\n"
      "Origin-Agent-Cluster: ?1\n"
      "Referrer-Policy: no-referrer\n"
      "X-Content-Type-Options: nosniff\n"
      "X-DNS-Prefetch-Control: off\n"
      "X-Download-Options: noopen\n"
      "X-Frame-Options: SAMEORIGIN\n"
      "X-Permitted-Cross-Domain-Policies: none\n"
      "X-XSS-Protection: 0\n",
      "<html>" STRIPE "</html>");
  put("django.html",
      "X-Frame-Options: DENY\n"
      "X-Content-Type-Options: nosniff\n"
      "Referrer-Policy: same-origin\n"
      "Cross-Origin-Opener-Policy: same-origin\n"
      "Vary: Cookie\n",
      "<html>" STRIPE "</html>");
  put("plain.html", "Cross-Origin-Opener-Policy: same-origin\n", "<html>" STRIPE "</html>");
  load("helmet.html");
  load("django.html");
  load("plain.html");
  finish_flow();
  json_t *c = only_v("FC-COOP-1", "helmet.html");
  cr_assert_str_eq(jstr(c, "fix_stack.stack"), "helmet");
  cr_assert_str_eq(jstr(c, "fix_stack.confidence"), "guess", "a guess is labelled as one");
  cr_assert_str_eq(jstr(c, "fix_stack.fix"),
                   "helmet({ crossOriginOpenerPolicy: { policy: \"same-origin-allow-popups\" } })");
  cr_assert_not_null(strstr(jstr(c, "fix"), "same-origin-allow-popups"), "generic fix kept");
  json_t *r = only_v("FC-REF-1", "helmet.html");
  cr_assert_str_eq(jstr(r, "fix_stack.fix"),
                   "helmet({ referrerPolicy: { policy: \"strict-origin-when-cross-origin\" } })");
  json_t *dc = only_v("FC-COOP-1", "django.html");
  cr_assert_str_eq(jstr(dc, "fix_stack.stack"), "django");
  cr_assert_str_eq(jstr(dc, "fix_stack.fix"),
                   "settings.py: SECURE_CROSS_ORIGIN_OPENER_POLICY = \"same-origin-allow-popups\"");
  json_t *dr = only_v("FC-REF-1", "django.html");
  cr_assert_str_eq(jstr(dr, "fix_stack.fix"),
                   "settings.py: SECURE_REFERRER_POLICY = \"strict-origin-when-cross-origin\"");
  cr_assert_null(jget(only_v("FC-COOP-1", "plain.html"), "fix_stack"), "no stack, no guess");
}
