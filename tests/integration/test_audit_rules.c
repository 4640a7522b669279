/* Integration: every checklist rule of RULES.md through the real fcaudit binary and a local
 * origin, read back from the NDJSON log the proxy wrote: for each rule a failing page with its
 * exact violation(s) and a passing page, and the parser edge cases browsers define (COOP items,
 * Referrer-Policy lists and meta overrides, CSP sandbox policies, iframe sandboxes joined in
 * either order, COEP, keys, test-mode institutions). Helpers: audit_rules_fixture.h. */
#include "audit_rules_fixture.h"

TestSuite(audit_rules, .fini = fca_harness_cleanup, .timeout = 60);

/* ---- the correct page, untagged pages, classification ------------------------------------ */

Test(audit_rules, correct_page_passes) {
  start(NULL);
  put("ok.html",
      "Cross-Origin-Opener-Policy: same-origin-allow-popups\n"
      "Referrer-Policy: strict-origin-when-cross-origin\n",
      "<html><head>" STRIPE "</head><body>pay</body></html>");
  load("ok.html");
  finish();
  cr_assert_eq(L.n, 3, "page, pass, summary; got %zu events", L.n);
  cr_assert(is(L.ev[0], "page") && is(L.ev[1], "pass"));
  json_t *p = L.ev[0];
  char *u = url_of("ok.html");
  cr_assert_str_eq(jstr(p, "page.url"), u);
  cr_assert(json_is_true(jget(p, "page.top_level")));
  cr_assert_str_eq(jstr(p, "page.tagged_by"), "script-tag");
  cr_assert_str_eq(jstr(p, "page.confidence"), "high");
  cr_assert_str_eq(jstr(p, "evidence.source"), "script");
  cr_assert_str_eq(jstr(p, "evidence.name"), "script[src]");
  cr_assert_str_eq(jstr(p, "evidence.value"), "https://js.stripe.com/v3");
  cr_assert_eq(jint(p, "evidence.offset"), 12);
  cr_assert_eq(jint(L.ev[1], "page.id"), jint(p, "page.id"));
  cr_assert_null(jget(L.ev[1], "evidence"));
  cr_assert_eq(jint(L.summary, "pages_seen"), 1);
  cr_assert_eq(jint(L.summary, "pages_tagged"), 1);
  cr_assert_null(jget(L.summary, "warning"));
  cr_assert_eq(jint(L.summary, "violations.reported"), 0);
  json_t *c = card("ok.html", 0);
  cr_assert_str_eq(jstr(c, "verdict"), "pass");
  cr_assert(json_is_true(jget(c, "pass_event")));
  cr_assert_str_eq(item_status(c, 1), "pass");
  cr_assert_str_eq(item_status(c, 2), "pass");
  cr_assert_str_eq(item_status(c, 3), "n/a");
  cr_assert_str_eq(item_status(c, 4), "n/a");
  free(u);
}

Test(audit_rules, untagged_pages_are_silent_and_the_summary_warns) {
  start(NULL);
  const char *coop = "Cross-Origin-Opener-Policy: same-origin\nReferrer-Policy: no-referrer\n";
  put("plain.html", coop, "<html><script src=/files/app.js></script></html>");
  put("v3-insecure.html", coop, "<script src=\"http://js.stripe.com/v3\"></script>");
  put("v2.html", coop, "<script src=\"https://js.stripe.com/v2/\"></script>");
  put("tmpl-type.html", coop,
      "<script type=\"text/template\" src=\"https://js.stripe.com/v3\"></script>");
  put("inert.html", coop,
      "<!-- " STRIPE " --><template>" STRIPE "</template><noscript>" STRIPE "</noscript>");
  put("evil-host.html", coop, "<script src=\"https://js.stripe.com.evil.test/v3\"></script>");
  const char *names[] = {"plain.html",     "v3-insecure.html", "v2.html",
                         "tmpl-type.html", "inert.html",       "evil-host.html"};
  for (size_t i = 0; i < 6; i++) load(names[i]);
  finish();
  cr_assert_eq(L.n, 1, "only the summary; got %zu events, the first a %s", L.n,
               jstr(L.ev[0], "type"));
  cr_assert_eq(jint(L.summary, "pages_seen"), 6);
  cr_assert_eq(jint(L.summary, "pages_tagged"), 0);
  cr_assert_eq(json_array_size(jget(L.summary, "pages")), 0);
  cr_assert_str_eq(jstr(L.summary, "warning"),
                   "no page loaded Stripe.js: the flow under test probably never reached a "
                   "Stripe page");
}

Test(audit_rules, plain_http_pages_without_sec_fetch) {
  start(NULL);
  const char *coop = "Cross-Origin-Opener-Policy: same-origin\n";
  put("acc-html.html", coop, STRIPE);
  put("acc-json.html", coop, STRIPE);
  put("img.html", coop, STRIPE);
  put("head.html", coop, STRIPE);
  put("post.html", coop, STRIPE);
  char *a = url_of("acc-html.html"), *b = url_of("acc-json.html"), *h = url_of("head.html"),
       *p = url_of("post.html");
  pcurl((const char *[]){"-H", "Accept: text/html,application/xhtml+xml;q=0.9", a, NULL});
  pcurl((const char *[]){"-H", "Accept: application/json", b, NULL});
  load_as("img.html", "image", NULL);
  pcurl((const char *[]){"-I", "-H", "Sec-Fetch-Dest: document", h, NULL}); /* HEAD: no body */
  pcurl((const char *[]){"-d", "order=1", "-H", "Sec-Fetch-Dest: document", p, NULL});
  finish();
  expect_page("acc-html.html", "FC-COOP-1", 0);
  expect_page("acc-json.html", "", 0);
  expect_page("img.html", "", 0);
  expect_page("head.html", "", 0);
  expect_page("post.html", "FC-COOP-1", 0); /* a form's answer is a document too */
  cr_assert_eq(count("page", NULL, NULL), 2);
  cr_assert_eq(jint(L.summary, "pages_seen"), 2);
  free(a);
  free(b);
  free(h);
  free(p);
}

/* ---- item 1: COOP ---------------------------------------------------------------------- */

Test(audit_rules, coop_rules_and_parser_edges) {
  start(NULL);
  put("coop-params.html", "Cross-Origin-Opener-Policy: same-origin; report-to=\"x\"\n", STRIPE);
  put("coop-so.html", "Cross-Origin-Opener-Policy: same-origin\n", STRIPE);
  put("coop-noopener.html", "Cross-Origin-Opener-Policy: noopener-allow-popups\n", STRIPE);
  put("coop-ro.html", "Cross-Origin-Opener-Policy-Report-Only: same-origin\n", STRIPE);
  /* ignored by browsers (unsafe-none): no finding */
  put("coop-quoted.html", "Cross-Origin-Opener-Policy: \"same-origin\"\n", STRIPE);
  put("coop-case.html", "Cross-Origin-Opener-Policy: Same-origin\n", STRIPE);
  put("coop-two.html",
      "Cross-Origin-Opener-Policy: same-origin\nCross-Origin-Opener-Policy: same-origin\n", STRIPE);
  put("coop-list.html", "Cross-Origin-Opener-Policy: same-origin,same-origin\n", STRIPE);
  put("coop-space.html", "Cross-Origin-Opener-Policy: same-origin same-origin\n", STRIPE);
  put("coop-ws-semi.html", "Cross-Origin-Opener-Policy: same-origin ;report-to=\"x\"\n", STRIPE);
  put("coop-upper-key.html", "Cross-Origin-Opener-Policy: same-origin; Report-To=\"x\"\n", STRIPE);
  /* allowed values */
  put("coop-sop.html", "Cross-Origin-Opener-Policy: same-origin-allow-popups\n", STRIPE);
  put("coop-rp.html", "Cross-Origin-Opener-Policy: restrict-properties\n", STRIPE);
  put("coop-none.html", "Cross-Origin-Opener-Policy: unsafe-none\n", STRIPE);
  put("coop-ro-ok.html", "Cross-Origin-Opener-Policy-Report-Only: same-origin-allow-popups\n",
      STRIPE);
  const char *all[] = {"coop-params.html",  "coop-so.html",        "coop-noopener.html",
                       "coop-ro.html",      "coop-quoted.html",    "coop-case.html",
                       "coop-two.html",     "coop-list.html",      "coop-space.html",
                       "coop-ws-semi.html", "coop-upper-key.html", "coop-sop.html",
                       "coop-rp.html",      "coop-none.html",      "coop-ro-ok.html"};
  size_t nall = sizeof all / sizeof *all;
  for (size_t i = 0; i < nall; i++) load(all[i]);
  finish();
  expect_v((want_t){.rule = "FC-COOP-1",
                    .level = "error",
                    .item = 1,
                    .page = "coop-params.html",
                    .src = "header",
                    .name = "Cross-Origin-Opener-Policy",
                    .value = "same-origin; report-to=\"x\"",
                    .offset = -1});
  expect_v((want_t){.rule = "FC-COOP-1",
                    .level = "error",
                    .item = 1,
                    .page = "coop-so.html",
                    .src = "header",
                    .name = "Cross-Origin-Opener-Policy",
                    .value = "same-origin",
                    .offset = -1});
  expect_v((want_t){.rule = "FC-COOP-2",
                    .level = "warning",
                    .item = 1,
                    .page = "coop-noopener.html",
                    .src = "header",
                    .name = "Cross-Origin-Opener-Policy",
                    .value = "noopener-allow-popups",
                    .offset = -1});
  expect_v((want_t){.rule = "FC-COOP-3",
                    .level = "warning",
                    .item = 1,
                    .page = "coop-ro.html",
                    .src = "header",
                    .name = "Cross-Origin-Opener-Policy-Report-Only",
                    .value = "same-origin",
                    .offset = -1});
  expect_page("coop-params.html", "FC-COOP-1", 0);
  expect_page("coop-so.html", "FC-COOP-1", 0);
  expect_page("coop-noopener.html", "FC-COOP-2", 0);
  expect_page("coop-ro.html", "FC-COOP-3", 0);
  for (size_t i = 4; i < nall; i++) expect_page(all[i], "", 1);
  cr_assert_eq(count("violation", NULL, NULL), 4);
  cr_assert_eq(count("page", NULL, NULL), nall);
  cr_assert_str_eq(item_status(card("coop-quoted.html", 0), 1), "pass");
  cr_assert_str_eq(item_status(card("coop-ro.html", 0), 1), "fail");
}

/* ---- item 2: referrer policy ----------------------------------------------------------- */

Test(audit_rules, referrer_rules_and_parser_edges) {
  start(NULL);
  const char *meta_never = "<META NAME=Referrer CONTENT=\" never \">";
  const char *meta_referer = "<meta name=\"referer\" content=\"no-referrer\">";
  const char *ref3_tag = "<script referrerpolicy=\"no-referrer\" src=\"https://js.stripe.com/v3\">";
  char *body;
  put("r-header.html", "Referrer-Policy: no-referrer\n", STRIPE);
  put("r-same-origin.html", "Referrer-Policy: origin, same-origin, bogus\n", STRIPE);
  put("r-two-lines.html", "Referrer-Policy: origin\nReferrer-Policy: no-referrer\n", STRIPE);
  body = fca_xasprintf("%s%s", STRIPE, meta_never);
  put("r-meta.html", "Referrer-Policy: origin\n", body); /* meta makes a good header bad */
  free(body);
  put("r-meta-fixes.html", "Referrer-Policy: no-referrer\n",
      STRIPE "<meta name=\"referrer\" content=\"origin\">");
  put("r-meta-last.html", NULL,
      STRIPE "<meta name=referrer content=no-referrer><meta name=referrer content=default>");
  put("r-meta-empty.html", "Referrer-Policy: origin\n", STRIPE "<meta name=referrer content=\"\">");
  put("r-invalid.html", "Referrer-Policy: no-referrer, foo_bar\n", STRIPE);
  put("r-semicolon.html", "Referrer-Policy: no-referrer;\n", STRIPE);
  put("r-quoted.html", "Referrer-Policy: no-referrer, \"origin\"\n", STRIPE);
  put("r-unknown.html", "Referrer-Policy: no-referrer, unknown-token\n", STRIPE);
  put("r-ok.html", "Referrer-Policy: strict-origin-when-cross-origin\n", STRIPE);
  put("r-unsafe.html", "Referrer-Policy: unsafe-url\n", STRIPE);
  body = fca_xasprintf("%s%s", STRIPE, meta_referer);
  put("r-referer.html", NULL, body);
  free(body);
  put("r-referer-ok.html", NULL, STRIPE "<meta name=\"referer\" content=\"Strict-Origin\">");
  body = fca_xasprintf("%s</script>", ref3_tag);
  put("r-script.html", NULL, body);
  free(body);
  put("r-script-ok.html", NULL,
      "<script referrerpolicy=\"origin\" src=\"https://js.stripe.com/v3\"></script>");
  const char *all[] = {"r-header.html",     "r-same-origin.html", "r-two-lines.html",
                       "r-meta.html",       "r-meta-fixes.html",  "r-meta-last.html",
                       "r-meta-empty.html", "r-invalid.html",     "r-semicolon.html",
                       "r-quoted.html",     "r-unknown.html",     "r-ok.html",
                       "r-unsafe.html",     "r-referer.html",     "r-referer-ok.html",
                       "r-script.html",     "r-script-ok.html"};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) load(all[i]);
  finish();
  expect_v((want_t){.rule = "FC-REF-1",
                    .level = "error",
                    .item = 2,
                    .page = "r-header.html",
                    .src = "header",
                    .name = "Referrer-Policy",
                    .value = "no-referrer",
                    .offset = -1});
  expect_v((want_t){.rule = "FC-REF-1",
                    .level = "error",
                    .item = 2,
                    .page = "r-same-origin.html",
                    .src = "header",
                    .name = "Referrer-Policy",
                    .value = "origin, same-origin, bogus",
                    .offset = -1});
  expect_v((want_t){.rule = "FC-REF-1",
                    .level = "error",
                    .item = 2,
                    .page = "r-meta.html",
                    .src = "meta",
                    .name = "meta[name=referrer]",
                    .value = meta_never,
                    .offset = (long)strlen(STRIPE)});
  expect_v((want_t){.rule = "FC-REF-4",
                    .level = "info",
                    .item = 2,
                    .page = "r-invalid.html",
                    .src = "header",
                    .name = "Referrer-Policy",
                    .value = "no-referrer, foo_bar",
                    .offset = -1});
  expect_v((want_t){.rule = "FC-REF-4",
                    .level = "info",
                    .item = 2,
                    .page = "r-semicolon.html",
                    .src = "header",
                    .name = "Referrer-Policy",
                    .value = "no-referrer;",
                    .offset = -1});
  expect_v((want_t){.rule = "FC-REF-2",
                    .level = "warning",
                    .item = 2,
                    .page = "r-referer.html",
                    .src = "meta",
                    .name = "meta[name=referer]",
                    .value = meta_referer,
                    .offset = (long)strlen(STRIPE)});
  expect_v((want_t){.rule = "FC-REF-3",
                    .level = "warning",
                    .item = 2,
                    .page = "r-script.html",
                    .src = "script",
                    .name = "script[referrerpolicy]",
                    .value = ref3_tag,
                    .offset = 0});
  expect_page("r-header.html", "FC-REF-1", 0);
  expect_page("r-same-origin.html", "FC-REF-1", 0);
  expect_page("r-two-lines.html", "FC-REF-1", 0); /* lines joined: the last token wins */
  expect_page("r-meta.html", "FC-REF-1", 0);
  expect_page("r-meta-fixes.html", "", 1);
  expect_page("r-meta-last.html", "", 1);
  expect_page("r-meta-empty.html", "", 1);
  expect_page("r-invalid.html", "FC-REF-4", 1); /* info: the page still passes */
  expect_page("r-semicolon.html", "FC-REF-4", 1);
  expect_page("r-quoted.html", "FC-REF-4", 1);
  expect_page("r-unknown.html", "FC-REF-1", 0); /* an unknown [A-Za-z-] token is skipped */
  expect_page("r-ok.html", "", 1);
  expect_page("r-unsafe.html", "", 1);
  expect_page("r-referer.html", "FC-REF-2", 0); /* browsers ignore it: no FC-REF-1 */
  expect_page("r-referer-ok.html", "", 1);
  expect_page("r-script.html", "FC-REF-3", 0);
  expect_page("r-script-ok.html", "", 1);
  cr_assert_str_eq(item_status(card("r-invalid.html", 0), 2), "pass");
  cr_assert_str_eq(item_status(card("r-meta.html", 0), 2), "fail");
}

/* ---- item 3: sandbox (CSP and iframes) ----------------------------------------------------- */

Test(audit_rules, csp_sandbox_rules) {
  start(NULL);
  put("csp-scripts.html",
      "Content-Security-Policy: img-src 'self'; sandbox allow-scripts\n"
      "Referrer-Policy: no-referrer\n",
      STRIPE);
  put("csp-empty.html", "Content-Security-Policy: sandbox\n", STRIPE);
  put("csp-second.html",
      "Content-Security-Policy: default-src *\n"
      "Content-Security-Policy: sandbox allow-scripts allow-same-origin allow-popups\n",
      STRIPE);
  put("csp-ro.html", "Content-Security-Policy-Report-Only: sandbox\n", STRIPE);
  put("csp-comma.html",
      "Content-Security-Policy: default-src *, sandbox allow-scripts allow-same-origin "
      "allow-popups\n",
      STRIPE);
  put("csp-meta.html", NULL,
      STRIPE "<meta http-equiv=\"Content-Security-Policy\" content=\"sandbox\">");
  put("csp-ok.html",
      "Content-Security-Policy: sandbox allow-scripts allow-same-origin allow-popups "
      "allow-popups-to-escape-sandbox\n",
      STRIPE);
  put("csp-first-wins.html",
      "Content-Security-Policy: sandbox allow-scripts allow-same-origin allow-popups "
      "allow-popups-to-escape-sandbox; sandbox\n",
      STRIPE);
  const char *all[] = {"csp-scripts.html", "csp-empty.html",     "csp-second.html",
                       "csp-ro.html",      "csp-comma.html",     "csp-meta.html",
                       "csp-ok.html",      "csp-first-wins.html"};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) load(all[i]);
  finish();
  const char *v = "img-src 'self'; sandbox allow-scripts";
  expect_v((want_t){.rule = "FC-SBX-3",
                    .level = "error",
                    .item = 3,
                    .page = "csp-scripts.html",
                    .src = "csp",
                    .name = "Content-Security-Policy",
                    .value = v,
                    .offset = -1});
  expect_v((want_t){.rule = "FC-SBX-4",
                    .level = "error",
                    .item = 3,
                    .page = "csp-scripts.html",
                    .src = "csp",
                    .name = "Content-Security-Policy",
                    .value = v,
                    .offset = -1});
  expect_v((want_t){.rule = "FC-SBX-5",
                    .level = "error",
                    .item = 3,
                    .page = "csp-empty.html",
                    .src = "csp",
                    .name = "Content-Security-Policy",
                    .value = "sandbox",
                    .offset = -1});
  expect_v((want_t){.rule = "FC-SBX-3",
                    .level = "error",
                    .item = 3,
                    .page = "csp-second.html",
                    .src = "csp",
                    .name = "Content-Security-Policy",
                    .value = "sandbox allow-scripts allow-same-origin allow-popups",
                    .offset = -1});
  /* opaque origin: FC-SBX-4 instead of FC-REF-1 */
  expect_page("csp-scripts.html", "FC-SBX-3 FC-SBX-4", 0);
  expect_page("csp-empty.html", "FC-SBX-3 FC-SBX-4 FC-SBX-5", 0);
  expect_page("csp-second.html", "FC-SBX-3", 0);
  expect_page("csp-ro.html", "", 1);
  expect_page("csp-comma.html", "FC-SBX-3", 0); /* a comma starts another policy */
  expect_page("csp-meta.html", "", 1);
  expect_page("csp-ok.html", "", 1);
  expect_page("csp-first-wins.html", "", 1);
  cr_assert_str_eq(item_status(card("csp-ok.html", 0), 3), "pass");
  cr_assert_str_eq(item_status(card("csp-empty.html", 0), 3), "fail");
}

static const char *const FR_BAD =
    "<iframe src=\"/files/f-bad.html\" sandbox=\"allow-scripts allow-same-origin\">";
static const char *const FR_EMPTY = "<iframe sandbox src='f-empty.html'>";
static const char *const FR_GOOD =
    "<IFRAME src=\"f-good.html\" sandbox=\"allow-scripts allow-same-origin allow-popups "
    "allow-popups-to-escape-sandbox\">";
static const char *const G_SBX1 =
    "<iframe src=\"g-sbx1.html\" sandbox=\"allow-scripts allow-same-origin allow-popups\">";
static const char *const G_SBX4 =
    "<iframe src=\"g-sbx4.html\" sandbox=\"allow-scripts allow-popups "
    "allow-popups-to-escape-sandbox\">";
static const char *const G_SBX5 =
    "<iframe src=\"g-sbx5.html\" sandbox=\"allow-same-origin allow-popups "
    "allow-popups-to-escape-sandbox\">";
static const char *const G_OK =
    "<iframe src=\"g-ok.html\" sandbox=\" ALLOW-SCRIPTS allow-same-origin allow-popups "
    "allow-popups-to-escape-sandbox allow-bogus \">";
static const char *const G_NONE = "<iframe src=\"g-none.html\">";

Test(audit_rules, iframe_sandbox_and_coop4_parent_first) {
  start(NULL);
  /* parent 1: COOP same-origin, untagged (its COOP is kept all the same) */
  char *p1 = fca_xasprintf("<html><body>%s</iframe>%s</iframe>%s</iframe></body></html>", FR_BAD,
                           FR_EMPTY, FR_GOOD);
  put("frames.html", "Cross-Origin-Opener-Policy: same-origin\n", p1);
  char *p2 = fca_xasprintf("<html>%s</iframe>%s</iframe>%s</iframe>%s</iframe>%s</iframe></html>",
                           G_SBX1, G_SBX4, G_SBX5, G_OK, G_NONE);
  put("frames-ok.html", "Cross-Origin-Opener-Policy: same-origin-allow-popups\n", p2);
  const char *kids1[] = {"f-bad.html", "f-empty.html", "f-good.html"};
  const char *kids2[] = {"g-sbx1.html", "g-sbx4.html", "g-sbx5.html", "g-ok.html", "g-none.html"};
  for (size_t i = 0; i < 3; i++) put(kids1[i], NULL, STRIPE);
  for (size_t i = 0; i < 5; i++) put(kids2[i], NULL, STRIPE);
  /* top-level-only rules do not judge frames: COOP and Referrer-Policy of a framed page */
  put("g-ok.html", "Cross-Origin-Opener-Policy: same-origin\n", STRIPE);
  put("g-none.html", "Referrer-Policy: no-referrer\n", STRIPE);
  load("frames.html");
  for (size_t i = 0; i < 3; i++) load_as(kids1[i], "iframe", "frames.html");
  load("frames-ok.html");
  for (size_t i = 0; i < 5; i++) load_as(kids2[i], "iframe", "frames-ok.html");
  finish();
  expect_page("frames.html", "", 0);
  expect_page("f-bad.html", "FC-COOP-4 FC-SBX-1 FC-SBX-2", 0);
  expect_page("f-empty.html", "FC-COOP-4 FC-SBX-1 FC-SBX-2 FC-SBX-4 FC-SBX-5", 0);
  expect_page("f-good.html", "FC-COOP-4", 0);
  expect_page("g-sbx1.html", "FC-SBX-1", 0);
  expect_page("g-sbx4.html", "FC-SBX-4", 0);
  expect_page("g-sbx5.html", "FC-SBX-5", 0);
  expect_page("g-ok.html", "", 1);
  expect_page("g-none.html", "", 1);
  const char *kids[] = {"f-bad.html", "f-empty.html", "f-good.html"};
  for (size_t i = 0; i < 3; i++)
    expect_v((want_t){.rule = "FC-COOP-4",
                      .level = "error",
                      .item = 1,
                      .page = kids[i],
                      .framed = true,
                      .src = "header",
                      .name = "Cross-Origin-Opener-Policy",
                      .value = "same-origin",
                      .offset = -1,
                      .ev_url = "frames.html"});
  const char *sbx[] = {"FC-SBX-1", "FC-SBX-2"};
  for (size_t i = 0; i < 2; i++)
    expect_v((want_t){.rule = sbx[i],
                      .level = "error",
                      .item = 3,
                      .page = "f-bad.html",
                      .framed = true,
                      .src = "iframe",
                      .name = "iframe[sandbox]",
                      .value = FR_BAD,
                      .offset = off_in(p1, FR_BAD),
                      .ev_url = "frames.html"});
  const char *sbx_all[] = {"FC-SBX-1", "FC-SBX-2", "FC-SBX-4", "FC-SBX-5"};
  for (size_t i = 0; i < 4; i++)
    expect_v((want_t){.rule = sbx_all[i],
                      .level = "error",
                      .item = 3,
                      .page = "f-empty.html",
                      .framed = true,
                      .src = "iframe",
                      .name = "iframe[sandbox]",
                      .value = FR_EMPTY,
                      .offset = off_in(p1, FR_EMPTY),
                      .ev_url = "frames.html"});
  struct {
    const char *rule, *page, *tag;
  } one[] = {{"FC-SBX-1", "g-sbx1.html", G_SBX1},
             {"FC-SBX-4", "g-sbx4.html", G_SBX4},
             {"FC-SBX-5", "g-sbx5.html", G_SBX5}};
  for (size_t i = 0; i < 3; i++)
    expect_v((want_t){.rule = one[i].rule,
                      .level = "error",
                      .item = 3,
                      .page = one[i].page,
                      .framed = true,
                      .src = "iframe",
                      .name = "iframe[sandbox]",
                      .value = one[i].tag,
                      .offset = off_in(p2, one[i].tag),
                      .ev_url = "frames-ok.html"});
  json_t *c = card("g-ok.html", 0);
  cr_assert_str_eq(item_status(c, 1), "pass");
  cr_assert_str_eq(item_status(c, 2), "n/a");
  cr_assert_str_eq(item_status(c, 3), "pass");
  cr_assert_eq(count("note", NULL, NULL), 0);
  free(p1);
  free(p2);
}

/* The framed page streams completely while its parent's HTML has not reached the <iframe> yet:
 * the parent (served by the in-process server) stalls after "<html><body>". */
Test(audit_rules, framing_joined_child_first) {
  start(NULL);
  put("child.html", NULL, "<html>" STRIPE "</html>");
  char *child = url_of("child.html");
  char *tag =
      fca_xasprintf("<iframe sandbox=\"allow-scripts allow-same-origin\" src=\"%s\">", child);
  char *rest = fca_xasprintf("%s</iframe></body></html>", tag);
  static mini_t m;
  memset(&m, 0, sizeof m);
  m.routes[0] = (route_t){.path = "/outer",
                          .head = "Content-Type: text/html\r\nCross-Origin-Opener-Policy: "
                                  "same-origin\r\n",
                          .part1 = "<html><body>",
                          .part2 = rest,
                          .stall = true};
  m.nroutes = 1;
  mini_start(&m, false);
  char parent[64];
  snprintf(parent, sizeof parent, "http://127.0.0.1:%d/outer", m.port);
  char *out = fca_path(px.dir, "parent.out");
  const char *argv[] = {"curl",       "-q",      "-sS",       "-N",
                        "--max-time", "20",      "--noproxy", "",
                        "-x",         proxy_url, "-H",        "Sec-Fetch-Dest: document",
                        parent,       NULL};
  pid_t pid = fca_spawn((char *const *)argv, out, NULL);
  cr_assert_gt(pid, 0);
  long end = now_ms() + 10000;
  for (;;) { /* the proxy has passed the parent's head and first bytes on */
    size_t n;
    char *got = fca_read_file(out, &n);
    bool seen = got && strstr(got, "<body>");
    free(got);
    if (seen) break;
    cr_assert(now_ms() < end, "the parent's first bytes never came through");
    sleep_ms(10);
  }
  load_as("child.html", "iframe", parent);
  /* nothing is known against the frame yet: it passes when its document ends */
  wait_log(10000, "\"type\":\"pass\"", "child.html", NULL);
  mini_release(&m);
  int st;
  cr_assert_eq(fca_proc_wait(pid, 15000, &st), 0, "the parent download did not end");
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "curl for the parent failed");
  mini_stop(&m);
  finish();
  expect_page("child.html", "FC-COOP-4 FC-SBX-1 FC-SBX-2", 1);
  expect_page(parent, "", 0);
  size_t pass_at = 0, first_v = 0;
  for (size_t i = 0; i < L.n; i++) {
    if (is(L.ev[i], "pass")) pass_at = i;
    if (is(L.ev[i], "violation") && !first_v) first_v = i;
  }
  cr_assert_lt(pass_at, first_v, "the frame's pass came before the late framing findings");
  expect_v((want_t){.rule = "FC-COOP-4",
                    .level = "error",
                    .item = 1,
                    .page = "child.html",
                    .framed = true,
                    .src = "header",
                    .name = "Cross-Origin-Opener-Policy",
                    .value = "same-origin",
                    .offset = -1,
                    .ev_url = parent});
  expect_v((want_t){.rule = "FC-SBX-1",
                    .level = "error",
                    .item = 3,
                    .page = "child.html",
                    .framed = true,
                    .src = "iframe",
                    .name = "iframe[sandbox]",
                    .value = tag,
                    .offset = 12,
                    .ev_url = parent});
  expect_v((want_t){.rule = "FC-SBX-2",
                    .level = "error",
                    .item = 3,
                    .page = "child.html",
                    .framed = true,
                    .src = "iframe",
                    .name = "iframe[sandbox]",
                    .value = tag,
                    .offset = 12,
                    .ev_url = parent});
  cr_assert_eq(count("note", NULL, NULL), 0, "the iframe was seen: no iframe-unknown note");
  json_t *c = card("child.html", 0);
  cr_assert_str_eq(jstr(c, "verdict"), "fail", "the summary holds the final verdict");
  cr_assert_str_eq(item_status(c, 3), "fail");
  free(out);
  free(child);
  free(tag);
  free(rest);
}

/* ---- beyond the checklist: COEP; item 4: keys ---------------------------------------------- */

Test(audit_rules, coep_iso1) {
  start(NULL);
  put("iso-corp.html", "Cross-Origin-Embedder-Policy: require-corp\n", STRIPE);
  put("iso-cl.html",
      "Cross-Origin-Embedder-Policy: credentialless\nCross-Origin-Opener-Policy: same-origin\n",
      STRIPE);
  put("iso-none.html", "Cross-Origin-Embedder-Policy: unsafe-none\n", STRIPE);
  put("iso-ro.html", "Cross-Origin-Embedder-Policy-Report-Only: require-corp\n", STRIPE);
  const char *all[] = {"iso-corp.html", "iso-cl.html", "iso-none.html", "iso-ro.html"};
  for (size_t i = 0; i < 4; i++) load(all[i]);
  finish();
  expect_v((want_t){.rule = "FC-ISO-1",
                    .level = "warning",
                    .item = 0,
                    .page = "iso-corp.html",
                    .src = "header",
                    .name = "Cross-Origin-Embedder-Policy",
                    .value = "require-corp",
                    .offset = -1});
  expect_v((want_t){.rule = "FC-ISO-1",
                    .level = "warning",
                    .item = 0,
                    .page = "iso-cl.html",
                    .src = "header",
                    .name = "Cross-Origin-Embedder-Policy",
                    .value = "credentialless",
                    .offset = -1});
  expect_page("iso-corp.html", "FC-ISO-1", 0);
  expect_page("iso-cl.html", "FC-COOP-1 FC-ISO-1", 0);
  expect_page("iso-none.html", "", 1);
  expect_page("iso-ro.html", "", 1);
}

static const char *const LIVE = "pk_live_0123456789abcdefghijkl";

static void put_key_pages(void) {
  put("key-live.html", NULL, STRIPE "<script>Stripe('pk_live_0123456789abcdefghijkl')</script>");
  put("key-attr.html", NULL, STRIPE "<div data-key=\"pk_live_0123456789abcdefghijkl\"></div>");
  put("key-test.html", NULL, STRIPE "<script>Stripe('pk_test_0123456789abcdefghijkl')</script>");
  put("key-short.html", NULL, STRIPE "<script>Stripe('pk_live_0123')</script>");
  put("key-js.html", NULL, STRIPE "<script src=\"/files/key.js\"></script>");
  put("key.js", NULL, "const stripe = Stripe('pk_live_0123456789abcdefghijkl');\n");
  const char *all[] = {"key-live.html", "key-attr.html", "key-test.html", "key-short.html",
                       "key-js.html"};
  for (size_t i = 0; i < 5; i++) load(all[i]);
  load_as("key.js", "script", "key-js.html"); /* the key is in a script served to the page */
}

Test(audit_rules, live_key_test1) {
  start(NULL);
  put_key_pages();
  finish();
  expect_v((want_t){.rule = "FC-TEST-1",
                    .level = "warning",
                    .item = 4,
                    .page = "key-live.html",
                    .src = "script",
                    .name = "publishable key",
                    .value = LIVE,
                    .offset = (long)strlen(STRIPE) + 16});
  expect_page("key-live.html", "FC-TEST-1", 0);
  expect_page("key-attr.html", "FC-TEST-1", 0);
  expect_v((want_t){.rule = "FC-TEST-1",
                    .level = "warning",
                    .item = 4,
                    .page = "key-js.html",
                    .src = "script",
                    .name = "publishable key",
                    .value = LIVE,
                    .offset = 23,
                    .ev_url = "key.js"});
  expect_page("key-test.html", "", 1);
  expect_page("key-short.html", "", 1);
  cr_assert_str_eq(item_status(card("key-live.html", 0), 4), "fail");
  cr_assert_str_eq(item_status(card("key-test.html", 0), 4), "pass");
  cr_assert_str_eq(jstr(L.summary, "env"), "staging");
}

Test(audit_rules, live_key_on_a_production_run) {
  start((const char *[]){"--env", "production", NULL});
  put_key_pages();
  finish();
  cr_assert_eq(count("violation", NULL, NULL), 0);
  cr_assert_eq(count("pass", NULL, NULL), 5);
  cr_assert_str_eq(jstr(L.summary, "env"), "production");
}

/* ---- FC-TEST-2: api.stripe.com stand-in over TLS, intercepted ----------------------------- */

static const char *const API_ALL =
    "{\"object\":\"list\",\"livemode\":false,\"data\":["
    "{\"object\":\"linked_account\",\"institution_name\":\"Test (OAuth)\"},"
    "{\"object\":\"linked_account\",\"institution_name\":\"Test (Non-OAuth)\"},"
    "{\"object\":\"linked_account\",\"institution\":{\"name\":\" bank (oauth) \"}},"
    "{\"object\":\"linked_account\",\"institution_name\":\"Bank (Non-OAuth)\"}]}";
static const char *const API_ONE =
    "{\"object\":\"list\",\"livemode\":false,\"data\":["
    "{\"object\":\"linked_account\",\"institution_name\":\"Test (OAuth)\"}]}";
static const char *const API_LIVE =
    "{\"object\":\"list\",\"livemode\":true,\"data\":["
    "{\"object\":\"linked_account\",\"institution_name\":\"Bank (OAuth)\"}]}";

/* A run where api.stripe.com is the in-process TLS server answering body1 (and body2) for two
 * FC endpoints, requested after a tagged page. */
static void run_api(const char *body1, const char *body2, const char *const extra[]) {
  start_origin(true);
  static mini_t m;
  memset(&m, 0, sizeof m);
  const char *ct = "Content-Type: application/json\r\n";
  m.routes[0] =
      (route_t){.path = "/v1/link_account_sessions/list_accounts", .head = ct, .part1 = body1};
  m.routes[1] = (route_t){
      .path = "/v1/financial_connections/accounts", .head = ct, .part1 = body2 ? body2 : "{}"};
  m.nroutes = 2;
  mini_start(&m, true);
  char ct_api[96];
  snprintf(ct_api, sizeof ct_api, "api.stripe.com:443:127.0.0.1:%d", m.port);
  const char *args[16] = {"--connect-to", ct_api, "--upstream-ca", torg.ca_pem};
  size_t k = 4;
  for (size_t i = 0; extra && extra[i]; i++) args[k++] = extra[i];
  args[k] = NULL;
  start_proxy(args);
  put("fc.html", NULL, STRIPE "<script>Stripe('pk_test_0123456789abcdefghijkl')</script>");
  load("fc.html");
  load_as("https://api.stripe.com/v1/link_account_sessions/list_accounts", "empty", NULL);
  if (body2) load_as("https://api.stripe.com/v1/financial_connections/accounts", "empty", NULL);
  mini_stop(&m);
  finish();
  cr_assert_eq(count("violation", "FC-TEST-2", NULL), 0, "FC-TEST-2 is in the summary only");
}

Test(audit_rules, test2_all_four_institutions) {
  run_api(API_ALL, NULL, NULL);
  json_t *t = jget(L.summary, "test_mode");
  cr_assert_not_null(t);
  cr_assert_str_eq(jstr(t, "rule"), "FC-TEST-2");
  cr_assert_str_eq(jstr(t, "level"), "info");
  cr_assert_eq(jint(t, "item"), 4);
  cr_assert_eq(jint(t, "api_responses"), 1);
  cr_assert_eq(jint(t, "test_mode_responses"), 1);
  const char *names[] = {"Test (OAuth)", "Test (Non-OAuth)", "Bank (OAuth)", "Bank (Non-OAuth)"};
  for (size_t i = 0; i < 4; i++)
    cr_assert(json_is_true(json_object_get(jget(t, "institutions"), names[i])), "%s", names[i]);
  cr_assert_eq(json_array_size(jget(t, "missing")), 0);
  cr_assert(json_is_true(jget(t, "complete")));
  cr_assert_not_null(strstr(jstr(t, "message"), "Test (OAuth)"));
  json_t *fc = jget(card("fc.html", 0), "fc_evidence");
  bool api = false;
  for (size_t i = 0; i < json_array_size(fc); i++)
    api |= strcmp(json_string_value(json_array_get(fc, i)), "api") == 0;
  cr_assert(api, "the API call is FC evidence on the tagged page");
}

Test(audit_rules, test2_missing_institutions) {
  run_api(API_ONE, API_LIVE, NULL);
  json_t *t = jget(L.summary, "test_mode");
  cr_assert_eq(jint(t, "api_responses"), 2);
  cr_assert_eq(jint(t, "test_mode_responses"), 1);
  cr_assert_eq(jint(t, "live_mode_responses"), 1);
  cr_assert(json_is_true(json_object_get(jget(t, "institutions"), "Test (OAuth)")));
  cr_assert(json_is_false(json_object_get(jget(t, "institutions"), "Bank (OAuth)")),
            "a live-mode link does not count");
  json_t *miss = jget(t, "missing");
  cr_assert_eq(json_array_size(miss), 3);
  cr_assert_str_eq(json_string_value(json_array_get(miss, 0)), "Test (Non-OAuth)");
  cr_assert(json_is_false(jget(t, "complete")));
}

Test(audit_rules, test2_ignored) {
  run_api(API_ALL, NULL, (const char *[]){"--rule", "FC-TEST-2=ignore", NULL});
  cr_assert_null(jget(L.summary, "test_mode"));
}

/* ---- what Chromium next to curl shows on plain HTTP (QA: Express+helmet, Django) ---------- */

#define CHROME_UA "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36"

/* A browser request on plain HTTP: no Sec-Fetch-*, its User-Agent, Accept taking HTML. */
static void chrome_plain(const char *url, const char *referer) {
  char *ref = referer ? fca_xasprintf("Referer: %s", referer) : NULL;
  const char *args[10] = {"-H", CHROME_UA, "-H", "Accept: text/html,*/*;q=0.8"};
  size_t k = 4;
  if (ref) {
    args[k++] = "-H";
    args[k++] = ref;
  }
  args[k++] = url;
  args[k] = NULL;
  pcurl(args);
  free(ref);
}

Test(audit_rules, plain_http_frame_coop_ignored_and_curl_is_another_client) {
  start_origin(false);
  char ct[64];
  snprintf(ct, sizeof ct, "plain.test:80:127.0.0.1:%d", org.port);
  start_proxy((const char *[]){"--connect-to", ct, NULL});
  const char *h = "Cross-Origin-Opener-Policy: same-origin\nReferrer-Policy: no-referrer\n";
  const char *iframe = "<iframe sandbox=\"allow-scripts allow-same-origin allow-popups "
                       "allow-forms\" src=\"/files/framed.html\">";
  char *top = fca_xasprintf("<html>" STRIPE "%s</iframe></html>", iframe);
  put("coop.html", h, top);
  put("framed.html", h, "<html>" STRIPE "</html>");
  put("dyn.html", NULL, "<html><script src=/files/app.js></script></html>");
  put("loader.js", "Content-Type: application/javascript\n",
      "var s=document.createElement('script');s.src='https://js.stripe.com/v3/';");
  chrome_plain("http://plain.test/files/coop.html", NULL);
  chrome_plain("http://plain.test/files/framed.html", NULL); /* the parent sends no Referer */
  chrome_plain("http://plain.test/files/dyn.html", NULL);
  /* curl on the same address: its script is not the Chromium page's */
  pcurl((const char *[]){"-A", "curl/8", "http://plain.test/files/loader.js", NULL});
  finish();
  expect_page("http://plain.test/files/coop.html", "FC-REF-1", 0);
  expect_page("http://plain.test/files/framed.html", "FC-SBX-1", 0);
  expect_page("http://plain.test/files/dyn.html", "", 0);
  expect_v((want_t){.rule = "FC-SBX-1",
                    .level = "error",
                    .item = 3,
                    .page = "http://plain.test/files/framed.html",
                    .framed = true,
                    .src = "iframe",
                    .name = "iframe[sandbox]",
                    .value = iframe,
                    .offset = (long)strlen("<html>" STRIPE),
                    .ev_url = "http://plain.test/files/coop.html"});
  size_t notes = 0;
  for (size_t i = 0; i < L.n; i++)
    if (is(L.ev[i], "note") && strcmp(jstr(L.ev[i], "note"), "ignored-on-http") == 0) {
      notes++;
      cr_assert(strstr(jstr(L.ev[i], "message"), "http://plain.test"), "%s",
                jstr(L.ev[i], "message"));
    }
  cr_assert_eq(notes, 2, "COOP-1 on the top, COOP-4 on the frame: notes, not errors");
  cr_assert_eq(count("page", NULL, "http://plain.test/files/dyn.html"), 0);
  json_t *c = card("http://plain.test/files/coop.html", 0);
  cr_assert_str_eq(item_status(c, 1), "pass");
  cr_assert(strstr(jstr(jget(c, "items"), "1.why"), "served over HTTPS"), "%s",
            jstr(jget(c, "items"), "1.why"));
  free(top);
}

Test(audit_rules, config_304_still_shows_the_live_key) {
  start_origin(false);
  mini_t m = {0};
  const char *live = "pk_live_0123456789abcdefghijkl";
  char *json = fca_xasprintf("{\"publishableKey\":\"%s\"}", live);
  m.routes[0] = (route_t){.path = "/config",
                          .head = "Content-Type: application/json\r\nETag: \"v1\"\r\n",
                          .part1 = json};
  m.nroutes = 1;
  mini_start(&m, false);
  start_proxy(NULL);
  put("a.html", NULL, "<html>" STRIPE "</html>");
  put("b.html", NULL, "<html>" STRIPE "</html>");
  char *cfg = fca_xasprintf("http://127.0.0.1:%d/config", m.port);
  char *ra = url_of("a.html"), *rb = url_of("b.html");
  char *refa = fca_xasprintf("Referer: %s", ra), *refb = fca_xasprintf("Referer: %s", rb);
  load("a.html");
  pcurl((const char *[]){"-H", "Sec-Fetch-Dest: empty", "-H", refa, cfg, NULL});
  load("b.html");
  m.routes[0].part1 = ""; /* the browser revalidates its cached copy */
  m.routes[0].status = 304;
  pcurl((const char *[]){"-H", "Sec-Fetch-Dest: empty", "-H", "If-None-Match: \"v1\"", "-H", refb,
                         cfg, NULL});
  mini_stop(&m);
  finish();
  /* each page passed at its end; the key arrives later and is still reported */
  expect_page("a.html", "FC-TEST-1", 1);
  expect_page("b.html", "FC-TEST-1", 1);
  json_t *v = NULL;
  for (size_t i = 0; i < L.n; i++)
    if (is(L.ev[i], "violation") && strcmp(jstr(L.ev[i], "page.url"), rb) == 0) v = L.ev[i];
  cr_assert_str_eq(jstr(v, "evidence.value"), live);
  cr_assert_str_eq(jstr(v, "evidence.url"), cfg);
  free(json), free(cfg), free(ra), free(rb), free(refa), free(refb);
}
