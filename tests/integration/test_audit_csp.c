/* Integration: FC-CSP-1..4 through the real fcaudit binary and a local origin, read back from
 * the NDJSON log (validated against docs/events.schema.json): a page per rule with its exact
 * violation (evidence, level, item, fix), a <meta> policy, a report-only policy (info, still
 * passes), and Stripe's documented policy (passes). Helpers: audit_rules_fixture.h. */
#include "audit_rules_fixture.h"

TestSuite(audit_csp, .fini = fca_harness_cleanup, .timeout = 60);

#define HELMET                                                                                     \
  "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';"            \
  "frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self';"               \
  "script-src-attr 'none';style-src 'self' https: 'unsafe-inline';upgrade-insecure-requests"
#define STRIPE_CSP                                                                                 \
  "default-src 'self'; script-src 'self' https://js.stripe.com https://*.js.stripe.com; "          \
  "frame-src https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com; "             \
  "connect-src 'self' https://api.stripe.com"

static const char *fix_of(const char *rule, const char *page) {
  char *u = url_of(page);
  const char *fix = NULL;
  for (size_t i = 0; i < L.n; i++)
    if (is(L.ev[i], "violation") && strcmp(jstr(L.ev[i], "rule"), rule) == 0 &&
        strcmp(jstr(L.ev[i], "page.url"), u) == 0)
      fix = jstr(L.ev[i], "fix");
  free(u);
  cr_assert_not_null(fix, "%s on %s", rule, page);
  return fix;
}

static const char *message_of(const char *rule, const char *page) {
  char *u = url_of(page);
  const char *m = NULL;
  for (size_t i = 0; i < L.n; i++)
    if (is(L.ev[i], "violation") && strcmp(jstr(L.ev[i], "rule"), rule) == 0 &&
        strcmp(jstr(L.ev[i], "page.url"), u) == 0)
      m = jstr(L.ev[i], "message");
  free(u);
  cr_assert_not_null(m);
  return m;
}

static want_t csp_v(const char *rule, const char *level, const char *page, const char *value) {
  return (want_t){.rule = rule,
                  .level = level,
                  .item = 0,
                  .page = page,
                  .src = "csp",
                  .name = "Content-Security-Policy",
                  .value = value,
                  .offset = -1};
}

Test(audit_csp, one_page_per_rule) {
  start(NULL);
  put("helmet.html", "Content-Security-Policy: " HELMET "\n", "<head>" STRIPE "</head>");
  put("frames.html", "Content-Security-Policy: frame-src 'self' https://hooks.stripe.com\n",
      STRIPE);
  put("connect.html", "Content-Security-Policy: connect-src 'none'\n", STRIPE);
  put("inline.html", "Content-Security-Policy: script-src https://js.stripe.com\n",
      STRIPE "<script>const stripe = Stripe('pk_test_123');</script>");
  put("stripe-csp.html", "Content-Security-Policy: " STRIPE_CSP "\n", STRIPE);
  const char *all[] = {"helmet.html", "frames.html", "connect.html", "inline.html",
                       "stripe-csp.html"};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) load(all[i]);
  finish();
  expect_page("helmet.html", "FC-CSP-1 FC-CSP-2 FC-CSP-3", 0);
  expect_v(csp_v("FC-CSP-1", "error", "helmet.html", HELMET));
  expect_v(csp_v("FC-CSP-2", "error", "helmet.html", HELMET));
  expect_v(csp_v("FC-CSP-3", "error", "helmet.html", HELMET));
  cr_assert_str_eq(fix_of("FC-CSP-1", "helmet.html"),
                   "Use \"script-src 'self' https://js.stripe.com https://*.js.stripe.com\" in "
                   "this policy (its own sources kept)");
  cr_assert_str_eq(fix_of("FC-CSP-2", "helmet.html"),
                   "Add \"frame-src 'self' https://js.stripe.com https://*.js.stripe.com "
                   "https://hooks.stripe.com\" in this policy (its own sources kept)");
  cr_assert_str_eq(fix_of("FC-CSP-3", "helmet.html"),
                   "Add \"connect-src 'self' https://api.stripe.com\" in this policy (its own "
                   "sources kept)");

  expect_page("frames.html", "FC-CSP-2", 0);
  expect_v(csp_v("FC-CSP-2", "error", "frames.html", "frame-src 'self' https://hooks.stripe.com"));
  cr_assert_str_eq(fix_of("FC-CSP-2", "frames.html"),
                   "Use \"frame-src 'self' https://hooks.stripe.com https://js.stripe.com "
                   "https://*.js.stripe.com\" in this policy (its own sources kept)");

  expect_page("connect.html", "FC-CSP-3", 0);
  expect_v(csp_v("FC-CSP-3", "error", "connect.html", "connect-src 'none'"));
  cr_assert_str_eq(fix_of("FC-CSP-3", "connect.html"),
                   "Use \"connect-src https://api.stripe.com\" in this policy (its own sources "
                   "kept)");

  expect_page("inline.html", "FC-CSP-4", 0);
  expect_v(csp_v("FC-CSP-4", "warning", "inline.html", "script-src https://js.stripe.com"));
  cr_assert_not_null(strstr(message_of("FC-CSP-4", "inline.html"),
                            "the inline <script> at byte 48 (Stripe() is blocked by script-src "
                            "https://js.stripe.com"));
  cr_assert_not_null(
      strstr(fix_of("FC-CSP-4", "inline.html"), "\"script-src https://js.stripe.com 'sha256-"));

  expect_page("stripe-csp.html", "", 1);
  cr_assert_eq(by_rule("FC-CSP-1", "reported"), 1);
}

Test(audit_csp, meta_and_report_only) {
  start(NULL);
  const char *meta = "<meta http-equiv=\"Content-Security-Policy\" content=\"script-src 'self'\">";
  char *body = fca_xasprintf("<head>%s%s</head>", meta, STRIPE);
  put("meta.html", NULL, body);
  free(body);
  put("meta-late.html", NULL,
      "<head>" STRIPE "<meta http-equiv=\"Content-Security-Policy\" "
      "content=\"script-src 'self'\"></head>");
  put("ro.html", "Content-Security-Policy-Report-Only: " HELMET "\n", STRIPE);
  load("meta.html");
  load("meta-late.html");
  load("ro.html");
  finish();
  expect_page("meta.html", "FC-CSP-1", 0);
  expect_v((want_t){.rule = "FC-CSP-1",
                    .level = "error",
                    .item = 0,
                    .page = "meta.html",
                    .src = "meta",
                    .name = "meta[http-equiv=Content-Security-Policy]",
                    .value = meta,
                    .offset = 6});
  expect_page("meta-late.html", "", 1); /* the meta came after the script it would block */
  /* report-only: the same findings at info, and the page still passes */
  expect_page("ro.html", "FC-CSP-1 FC-CSP-2 FC-CSP-3", 1);
  want_t w = csp_v("FC-CSP-1", "info", "ro.html", HELMET);
  w.name = "Content-Security-Policy-Report-Only";
  expect_v(w);
  cr_assert(strncmp(message_of("FC-CSP-2", "ro.html"), "Report-only", 11) == 0);
  cr_assert_str_eq(item_status(card("ro.html", 0), 1), "pass");
}
