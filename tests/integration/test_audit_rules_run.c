/* Integration: how the audit behaves over a whole run of the real fcaudit binary, read back
 * from its NDJSON log: levels (--rule, --rules with URL globs, ignore), --min-confidence with
 * dynamic tags on intercepted HTTPS pages, dedup and --no-dedup, 16 concurrent clients, the
 * summary and its scorecards, --redact-query, bodies as they travel (content codings, chunks,
 * the audit cap), tag forms, 304 reuse, escaped evidence, SIGINT, and a response head that
 * arrives alone. Helpers: audit_rules_fixture.h. */
#include "audit_rules_fixture.h"

TestSuite(audit_run, .fini = fca_harness_cleanup, .timeout = 60);

/* ---- levels --------------------------------------------------------------------------------- */

Test(audit_run, rule_set_to_ignore_produces_nothing) {
  start((const char *[]){"--rule", "FC-COOP-1=ignore", NULL});
  put("ign.html", "Cross-Origin-Opener-Policy: same-origin\n", STRIPE);
  put("ign-ref.html", "Cross-Origin-Opener-Policy: same-origin\nReferrer-Policy: no-referrer\n",
      STRIPE);
  load("ign.html");
  load("ign-ref.html");
  finish();
  cr_assert_eq(count("violation", "FC-COOP-1", NULL), 0);
  expect_page("ign.html", "", 1); /* an ignored rule does not block pass */
  expect_page("ign-ref.html", "FC-REF-1", 0);
  cr_assert_eq(by_rule("FC-COOP-1", "occurrences"), -1, "absent from the summary counts");
  cr_assert_eq(by_rule("FC-REF-1", "occurrences"), 1);
  cr_assert_eq(jint(L.summary, "violations.occurrences"), 1);
  json_t *c = card("ign-ref.html", 0);
  cr_assert_null(json_object_get(jget(c, "findings"), "FC-COOP-1"));
  cr_assert_str_neq(item_status(c, 1), "fail", "an ignored rule fails no item");
}

Test(audit_run, rules_file_with_url_globs) {
  start_origin(false);
  char *dir = fca_tmpdir_new(), *rules = fca_path(dir, "rules.txt");
  const char *text = "# levels for this run\n"
                     "FC-COOP-1   warning\n"
                     "FC-COOP-1\tinfo    http://127.0.0.1:*/files/lv-info*   # an exception\n"
                     "\n"
                     "FC-ISO-1    ignore\n"
                     "FC-REF-1    warning  *LV-REF*\n";
  cr_assert_eq(fca_write_file(rules, text, strlen(text)), 0);
  start_proxy((const char *[]){"--rules", rules, "--rule", "FC-ISO-1=error", NULL});
  const char *coop = "Cross-Origin-Opener-Policy: same-origin\n";
  put("lv-warn.html", coop, STRIPE);
  put("lv-info.html", coop, STRIPE);
  put("lv-iso.html", "Cross-Origin-Embedder-Policy: require-corp\n", STRIPE);
  put("lv-ref.html", "Referrer-Policy: no-referrer\n", STRIPE);
  put("other-ref.html", "Referrer-Policy: no-referrer\n", STRIPE);
  const char *all[] = {"lv-warn.html", "lv-info.html", "lv-iso.html", "lv-ref.html",
                       "other-ref.html"};
  for (size_t i = 0; i < 5; i++) load(all[i]);
  finish();
  expect_v((want_t){.rule = "FC-COOP-1",
                    .level = "warning",
                    .item = 1,
                    .page = "lv-warn.html",
                    .src = "header",
                    .name = "Cross-Origin-Opener-Policy",
                    .value = "same-origin",
                    .offset = -1});
  expect_v((want_t){.rule = "FC-COOP-1",
                    .level = "info",
                    .item = 1,
                    .page = "lv-info.html",
                    .src = "header",
                    .name = "Cross-Origin-Opener-Policy",
                    .value = "same-origin",
                    .offset = -1});
  /* --rule wins over the file's ignore */
  expect_v((want_t){.rule = "FC-ISO-1",
                    .level = "error",
                    .item = 0,
                    .page = "lv-iso.html",
                    .src = "header",
                    .name = "Cross-Origin-Embedder-Policy",
                    .value = "require-corp",
                    .offset = -1});
  /* globs are case-insensitive */
  expect_v((want_t){.rule = "FC-REF-1",
                    .level = "warning",
                    .item = 2,
                    .page = "lv-ref.html",
                    .src = "header",
                    .name = "Referrer-Policy",
                    .value = "no-referrer",
                    .offset = -1});
  expect_v((want_t){.rule = "FC-REF-1",
                    .level = "error",
                    .item = 2,
                    .page = "other-ref.html",
                    .src = "header",
                    .name = "Referrer-Policy",
                    .value = "no-referrer",
                    .offset = -1});
  expect_page("lv-info.html", "FC-COOP-1", 1); /* info does not prevent pass */
  expect_page("lv-warn.html", "FC-COOP-1", 0);
  json_t *bl = jget(L.summary, "violations.by_rule.FC-COOP-1.by_level");
  cr_assert_eq(jint(bl, "warning.occurrences"), 1);
  cr_assert_eq(jint(bl, "info.occurrences"), 1);
  /* a bad file stops the start, naming the file and line */
  const char *bad = "FC-COOP-1 warning\nFC-COP-1 error\n";
  cr_assert_eq(fca_write_file(rules, bad, strlen(bad)), 0);
  char *log = fca_path(dir, "x.ndjson"), *ca = fca_path(dir, "ca");
  fca_run_t r;
  fca_run((char *const[]){FCA_TEST_BINARY, "--listen", "127.0.0.1:0", "--only-resolved", "--admin",
                          "off", "--log", log, "--ca-dir", ca, "--rules", rules, NULL},
          10000, &r);
  cr_assert_eq(fca_run_exit_code(&r), 3, "%s", r.err);
  char *want = fca_xasprintf("%s:2:", rules);
  cr_assert_not_null(strstr(r.err, want), "%s", r.err);
  cr_assert_not_null(strstr(r.err, "FC-COP-1"), "%s", r.err);
  fca_run_free(&r);
  free(want);
  free(log);
  free(ca);
  free(rules);
  free(dir);
}

/* HTTPS pages through interception: shop.test and js.stripe.com go to the TLS origin. */
static void start_https(const char *const extra[]) {
  start_origin(true);
  static char shop[96], js[96];
  snprintf(shop, sizeof shop, "shop.test:443:127.0.0.1:%d", torg.port);
  snprintf(js, sizeof js, "js.stripe.com:443:127.0.0.1:%d", torg.port);
  const char *args[16] = {"--connect-to", shop, "--connect-to", js, "--upstream-ca", torg.ca_pem};
  size_t k = 6;
  for (size_t i = 0; extra && extra[i]; i++) args[k++] = extra[i];
  args[k] = NULL;
  start_proxy(args);
}

#define DYN_HIGH "https://shop.test/files/dyn-high.html"
#define DYN_MED "https://shop.test/files/dyn-med.html"
#define HTTPS_STATIC "https://shop.test/files/static.html"

/* A dynamically tagged page with a full Referer (high), one with an origin-only Referer
 * (medium), a static tag over HTTPS, and an inline loader literal over plain HTTP (medium). */
static void dynamic_pages(void) {
  const char *coop = "Cross-Origin-Opener-Policy: same-origin\n";
  put("dyn-high.html", coop, "<script src=\"/files/app.js\"></script>");
  put("dyn-med.html", coop, "<script src=\"/files/app.js\"></script>");
  put("static.html", "Referrer-Policy: no-referrer\n", STRIPE);
  put("lit.html", coop,
      "<script>var s=document.createElement('script');s.src='https://js.stripe.com/v3';"
      "document.head.appendChild(s)</script>");
  load(DYN_HIGH);
  load_as("https://js.stripe.com/v3", "script", DYN_HIGH);
  load(DYN_MED);
  load_as("https://js.stripe.com/v3", "script", "https://shop.test/");
  load(HTTPS_STATIC);
  load("lit.html");
}

Test(audit_run, https_pages_static_and_dynamic_tags) {
  start_https(NULL);
  dynamic_pages();
  finish();
  expect_v((want_t){.rule = "FC-COOP-1",
                    .level = "error",
                    .item = 1,
                    .page = DYN_HIGH,
                    .tagged_by = "script-request",
                    .confidence = "high",
                    .src = "header",
                    .name = "Cross-Origin-Opener-Policy",
                    .value = "same-origin",
                    .offset = -1});
  expect_v((want_t){.rule = "FC-COOP-1",
                    .level = "error",
                    .item = 1,
                    .page = DYN_MED,
                    .tagged_by = "script-request",
                    .confidence = "medium",
                    .src = "header",
                    .name = "Cross-Origin-Opener-Policy",
                    .value = "same-origin",
                    .offset = -1});
  expect_v((want_t){.rule = "FC-REF-1",
                    .level = "error",
                    .item = 2,
                    .page = HTTPS_STATIC,
                    .src = "header",
                    .name = "Referrer-Policy",
                    .value = "no-referrer",
                    .offset = -1});
  expect_v((want_t){.rule = "FC-COOP-1",
                    .level = "error",
                    .item = 1,
                    .page = "lit.html",
                    .tagged_by = "script-literal",
                    .confidence = "medium",
                    .src = "header",
                    .name = "Cross-Origin-Opener-Policy",
                    .value = "same-origin",
                    .offset = -1});
  expect_page(DYN_HIGH, "FC-COOP-1", 0);
  expect_page(DYN_MED, "FC-COOP-1", 0);
  expect_page(HTTPS_STATIC, "FC-REF-1", 0);
  cr_assert_eq(count("page", NULL, NULL), 4);
  for (size_t i = 0; i < L.n; i++)
    if (is(L.ev[i], "page") && strcmp(jstr(L.ev[i], "page.tagged_by"), "script-request") == 0)
      cr_assert_str_eq(jstr(L.ev[i], "evidence.source"), "request");
  cr_assert_eq(jint(L.summary, "pages_below_min_confidence"), 0);
}

Test(audit_run, min_confidence_high_drops_medium_tags) {
  start_https((const char *[]){"--min-confidence", "high", NULL});
  dynamic_pages();
  finish();
  expect_page(DYN_HIGH, "FC-COOP-1", 0);
  expect_page(DYN_MED, "", 0);
  expect_page("lit.html", "", 0);
  expect_page(HTTPS_STATIC, "FC-REF-1", 0);
  cr_assert_eq(count("page", NULL, NULL), 2);
  cr_assert_eq(count("violation", NULL, NULL), 2);
  cr_assert_eq(jint(L.summary, "pages_below_min_confidence"), 2);
  cr_assert_str_eq(jstr(L.summary, "min_confidence"), "high");
}

/* ---- dedup ---------------------------------------------------------------------------------- */

static void load_three_times(void) {
  put("dd.html", "Cross-Origin-Opener-Policy: same-origin\n", STRIPE);
  for (int i = 0; i < 3; i++) load("dd.html");
  finish();
  cr_assert_eq(jint(L.summary, "pages_tagged"), 3, "each load is a page");
  cr_assert_eq(by_rule("FC-COOP-1", "occurrences"), 3);
  cr_assert_eq(jint(L.summary, "violations.by_level.error.occurrences"), 3);
  /* the three loads share the page's scorecard */
  json_t *pages = jget(L.summary, "pages");
  cr_assert_eq(json_array_size(pages), 1);
  cr_assert_eq(json_integer_value(json_object_get(json_array_get(pages, 0), "loads")), 3);
  cr_assert_eq(
      json_integer_value(json_object_get(
          json_object_get(json_object_get(json_array_get(pages, 0), "findings"), "FC-COOP-1"),
          "count")),
      3);
}

Test(audit_run, dedup_reports_once_and_counts) {
  start(NULL);
  load_three_times();
  cr_assert_eq(count("violation", "FC-COOP-1", "dd.html"), 1);
  cr_assert_eq(count("page", NULL, "dd.html"), 1, "a reloaded page is logged once per run");
  cr_assert_eq(by_rule("FC-COOP-1", "reported"), 1);
  cr_assert_eq(jint(L.summary, "violations.by_level.error.reported"), 1);
}

Test(audit_run, no_dedup_reports_every_time) {
  start((const char *[]){"--no-dedup", NULL});
  load_three_times();
  cr_assert_eq(count("violation", "FC-COOP-1", "dd.html"), 3);
  cr_assert_eq(count("page", NULL, "dd.html"), 3, "--no-dedup logs every load");
  cr_assert_eq(by_rule("FC-COOP-1", "reported"), 3);
  long long want = 1;
  for (size_t i = 0; i < L.n; i++) {
    if (!is(L.ev[i], "violation")) continue;
    json_t *c = jget(L.ev[i], "count");
    if (want == 1)
      cr_assert_null(c, "the first occurrence has no count");
    else
      cr_assert_eq(json_integer_value(c), want);
    want++;
  }
}

/* ---- concurrency ------------------------------------------------------------------------------
 */

Test(audit_run, sixteen_clients_at_once) {
  start((const char *[]){"--workers", "4", NULL});
  char pad[16384];
  memset(pad, ' ', sizeof pad - 1);
  pad[sizeof pad - 1] = 0;
  char name[16][32], *urls[16];
  for (int i = 0; i < 16; i++) {
    snprintf(name[i], sizeof name[i], "cc-%02d.html", i);
    char *body =
        fca_xasprintf("<html><head>" STRIPE "</head><body>%s<p>%d</p></body></html>", pad, i);
    put(name[i], "Cross-Origin-Opener-Policy: same-origin\n", body);
    free(body);
    urls[i] = url_of(name[i]);
  }
  pid_t pids[16];
  for (int i = 0; i < 16; i++) {
    const char *argv[] = {"curl",
                          "-q",
                          "-sS",
                          "--max-time",
                          "20",
                          "--noproxy",
                          "",
                          "-x",
                          proxy_url,
                          "-H",
                          "Sec-Fetch-Dest: document",
                          "-o",
                          "/dev/null",
                          urls[i],
                          NULL};
    pids[i] = fca_spawn((char *const *)argv, NULL, NULL);
    cr_assert_gt(pids[i], 0);
  }
  for (int i = 0; i < 16; i++) {
    int st;
    cr_assert_eq(fca_proc_wait(pids[i], 25000, &st), 0, "curl %d did not finish", i);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "curl %d failed", i);
  }
  finish(); /* every line parsed as one JSON object and validated */
  cr_assert_eq(fca_count_lines(log_path), (long)L.n);
  cr_assert_eq(count("violation", NULL, NULL), 16);
  cr_assert_eq(count("page", NULL, NULL), 16);
  cr_assert_eq(L.n, 33, "16 page + 16 violation + summary, got %zu", L.n);
  for (int i = 0; i < 16; i++) {
    expect_v((want_t){.rule = "FC-COOP-1",
                      .level = "error",
                      .item = 1,
                      .page = name[i],
                      .src = "header",
                      .name = "Cross-Origin-Opener-Policy",
                      .value = "same-origin",
                      .offset = -1});
    cr_assert_eq(count("page", NULL, name[i]), 1);
    free(urls[i]);
  }
  cr_assert_eq(jint(L.summary, "pages_tagged"), 16);
  cr_assert_eq(by_rule("FC-COOP-1", "reported"), 16);
}

/* ---- the summary, every event type, --redact-query ---------------------------------------- */

Test(audit_run, summary_scorecards_and_every_event_type) {
  start(NULL);
  put("s-ok.html", "Cross-Origin-Opener-Policy: same-origin-allow-popups\n", STRIPE);
  put("s-bad.html", "Cross-Origin-Opener-Policy: same-origin\nReferrer-Policy: no-referrer\n",
      STRIPE "<script>Stripe('pk_live_0123456789abcdefghijkl')</script>");
  put("s-none.html", NULL, "<p>no stripe</p>");
  put("s-orphan.html", NULL, STRIPE); /* framed, but no parent HTML showed its iframe */
  load("s-ok.html");
  load("s-bad.html");
  load("s-none.html");
  load_as("s-orphan.html", "iframe", NULL);
  finish();
  const char *types[] = {"page", "violation", "pass", "note", "summary"};
  for (size_t i = 0; i < 5; i++) cr_assert_geq(count(types[i], NULL, NULL), 1, "no %s", types[i]);
  json_t *note = NULL;
  for (size_t i = 0; i < L.n; i++)
    if (is(L.ev[i], "note")) note = L.ev[i];
  cr_assert_str_eq(jstr(note, "note"), "iframe-unknown");
  char *orphan = url_of("s-orphan.html");
  cr_assert_str_eq(jstr(note, "page.url"), orphan);
  free(orphan);
  json_t *s = L.summary;
  cr_assert_eq(jint(s, "pages_seen"), 4);
  cr_assert_eq(jint(s, "pages_tagged"), 3);
  cr_assert_geq(jint(s, "exchanges"), 4);
  cr_assert_eq(jint(s, "notes"), 1);
  cr_assert_null(jget(s, "warning"));
  cr_assert_eq(jint(s, "violations.reported"), 3);
  cr_assert_eq(jint(s, "violations.by_level.error.reported"), 2);
  cr_assert_eq(jint(s, "violations.by_level.warning.reported"), 1);
  cr_assert_eq(jint(s, "violations.by_level.info.reported"), 0);
  cr_assert_eq(by_rule("FC-COOP-1", "item"), 1);
  cr_assert_eq(by_rule("FC-REF-1", "item"), 2);
  cr_assert_eq(by_rule("FC-TEST-1", "item"), 4);
  cr_assert_eq(jint(jget(s, "violations.by_rule.FC-TEST-1.by_level"), "warning.reported"), 1);
  json_t *pages = jget(s, "pages");
  cr_assert_eq(json_array_size(pages), 3);
  char *u0 = url_of("s-ok.html");
  cr_assert_str_eq(jstr(json_array_get(pages, 0), "url"), u0, "tagging order");
  free(u0);
  json_t *ok = card("s-ok.html", 0), *bad = card("s-bad.html", 0), *orph = card("s-orphan.html", 0);
  cr_assert_str_eq(jstr(ok, "verdict"), "pass");
  cr_assert(json_is_true(jget(ok, "pass_event")));
  cr_assert_str_eq(jstr(bad, "verdict"), "fail");
  cr_assert(json_is_false(jget(bad, "pass_event")));
  cr_assert(json_is_true(jget(bad, "top_level")));
  cr_assert_str_eq(jstr(bad, "tagged_by"), "script-tag");
  const char *want_bad[] = {"fail", "fail", "n/a", "fail"};
  for (int i = 1; i <= 4; i++) cr_assert_str_eq(item_status(bad, i), want_bad[i - 1], "item %d", i);
  cr_assert_not_null(strstr(jstr(jget(bad, "items.1"), "why"), "FC-COOP-1"));
  cr_assert_eq(jint(bad, "findings.FC-REF-1.count"), 1);
  cr_assert_str_eq(jstr(bad, "findings.FC-REF-1.level"), "error");
  cr_assert(json_is_false(jget(orph, "top_level")));
  cr_assert_eq(jint(orph, "notes"), 1);
  cr_assert_str_eq(item_status(orph, 3), "n/a");
}

Test(audit_run, redact_query_keeps_query_strings_out_of_urls) {
  start((const char *[]){"--redact-query", NULL});
  put("q.html", "Cross-Origin-Opener-Policy: same-origin\n", STRIPE);
  put("q-parent.html", "Cross-Origin-Opener-Policy: same-origin-allow-popups\n",
      "<iframe src=\"q-child.html?ctoken=c0ffee\" sandbox=\"allow-scripts allow-same-origin\">"
      "</iframe>");
  put("q-child.html", NULL, STRIPE);
  load("q.html?token=s3cr3t");
  load("q-parent.html?ptoken=abc123");
  load_as("q-child.html?ctoken=c0ffee", "iframe", "q-parent.html?ptoken=abc123");
  finish();
  expect_page("q.html", "FC-COOP-1", 0);
  expect_page("q-child.html", "FC-SBX-1 FC-SBX-2", 0);
  expect_v((want_t){.rule = "FC-SBX-1",
                    .level = "error",
                    .item = 3,
                    .page = "q-child.html",
                    .framed = true,
                    .src = "iframe",
                    .name = "iframe[sandbox]",
                    .value = "<iframe src=\"q-child.html?ctoken=c0ffee\" sandbox=\"allow-scripts "
                             "allow-same-origin\">",
                    .offset = 0,
                    .ev_url = "q-parent.html"});
  for (size_t i = 0; i + 1 < L.n; i++) { /* every event but the summary */
    const char *u = jstr(L.ev[i], "page.url"), *e = jstr(L.ev[i], "evidence.url");
    cr_assert(!u || !strchr(u, '?'), "query in page.url: %s", u);
    cr_assert(!e || !strchr(e, '?'), "query in evidence.url: %s", e);
    char *line = json_dumps(L.ev[i], JSON_COMPACT);
    cr_assert(!strstr(line, "s3cr3t") && !strstr(line, "abc123"), "a query token in %s", line);
    free(line);
  }
  char *err = fca_read_file(err_path, NULL); /* the console is redacted too */
  cr_assert(err && !strstr(err, "s3cr3t") && !strstr(err, "abc123"), "query on the console:\n%s",
            err);
  free(err);
  /* the summary's scorecards name pages too */
  json_t *p;
  size_t i;
  json_array_foreach(jget(L.summary, "pages"), i, p) {
    cr_assert_null(strchr(jstr(p, "url"), '?'), "query in the summary: %s", jstr(p, "url"));
  }
}

/* ---- bodies as they travel: content codings, chunks, caps ---------------------------------- */

/* root/name = the body encoded by `tool -c` (gzip -n, brotli, zstd -q), written whole. */
static void put_encoded(const char *name, const char *tool, const char *body) {
  char *tmp = fca_path(root, "plain.tmp");
  cr_assert_eq(fca_write_file(tmp, body, strlen(body)), 0);
  char *const gz[] = {"gzip", "-c", "-n", tmp, NULL}, *const br[] = {"brotli", "-c", tmp, NULL},
              *const zs[] = {"zstd", "-q", "-c", tmp, NULL};
  char *const *argv = strcmp(tool, "gzip") == 0 ? gz : strcmp(tool, "brotli") == 0 ? br : zs;
  fca_run_t r;
  cr_assert_eq(fca_run(argv, 10000, &r), 0);
  cr_assert_eq(fca_run_exit_code(&r), 0, "%s: %s", tool, r.err);
  char *p = fca_path(root, name);
  cr_assert_eq(fca_write_file(p, r.out, r.out_len), 0);
  cr_assert_eq(fca_write_file(tmp, r.out, r.out_len), 0); /* so encodings can be stacked */
  fca_run_free(&r);
  free(p);
  free(tmp);
}

Test(audit_run, encoded_and_chunked_pages) {
  start(NULL);
  char pad[6000];
  memset(pad, 'x', sizeof pad - 1);
  pad[sizeof pad - 1] = 0;
  const char *meta = "<meta name=\"referrer\" content=\"no-referrer\">";
  char *body = fca_xasprintf("%s<p>%s</p>%s", STRIPE, pad, meta);
  long meta_at = off_in(body, meta);
  const char *hdr = "Cross-Origin-Opener-Policy: same-origin\nReferrer-Policy: origin\n";
  struct {
    const char *name, *tools[2], *coding;
  } enc[] = {{"enc-gzip.html", {"gzip"}, "gzip"},
             {"enc-br.html", {"brotli"}, "br"},
             {"enc-zstd.html", {"zstd"}, "zstd"},
             {"enc-stacked.html", {"gzip", "brotli"}, "gzip, br"}};
  for (size_t i = 0; i < 4; i++) {
    put_encoded(enc[i].name, enc[i].tools[0], body);
    if (enc[i].tools[1]) {
      char *tmp = fca_path(root, "plain.tmp"), *p = fca_path(root, enc[i].name);
      size_t n;
      char *once = fca_read_file(p, &n);
      cr_assert_eq(fca_write_file(tmp, once, n), 0);
      free(once);
      char *const argv[] = {"brotli", "-c", tmp, NULL};
      fca_run_t r;
      cr_assert_eq(fca_run(argv, 10000, &r), 0);
      cr_assert_eq(fca_write_file(p, r.out, r.out_len), 0);
      fca_run_free(&r);
      free(tmp);
      free(p);
    }
    char *h = fca_xasprintf("%sContent-Encoding: %s\n", hdr, enc[i].coding);
    char *p = fca_path(root, enc[i].name), *hp = fca_xasprintf("%s.headers", p);
    cr_assert_eq(fca_write_file(hp, h, strlen(h)), 0);
    free(h);
    free(hp);
    free(p);
  }
  /* chunked, with chunk boundaries inside the Stripe.js tag and inside the meta */
  char *chunked = fca_xstrdup(""), *rest = body;
  size_t cuts[] = {20, 30, 5990, 40, 0};
  for (size_t i = 0; cuts[i] && *rest; i++) {
    size_t n = strlen(rest) < cuts[i] ? strlen(rest) : cuts[i];
    char *t = fca_xasprintf("%s%zx\r\n%.*s\r\n", chunked, n, (int)n, rest);
    free(chunked);
    chunked = t;
    rest += n;
  }
  char *t = fca_xasprintf("%s%zx\r\n%s\r\n0\r\n\r\n", chunked, strlen(rest), rest);
  free(chunked);
  chunked = t;
  char *ch = fca_xasprintf("%sTransfer-Encoding: chunked\n", hdr);
  put("chunked.html", ch, chunked);
  free(ch);
  free(chunked);
  for (size_t i = 0; i < 4; i++) {
    char *u = url_of(enc[i].name);
    pcurl((const char *[]){"-H", "Sec-Fetch-Dest: document", "-H",
                           "Accept-Encoding: gzip, br, zstd", u, NULL});
    free(u);
  }
  load("chunked.html");
  finish();
  const char *pages[] = {"enc-gzip.html", "enc-br.html", "enc-zstd.html", "enc-stacked.html",
                         "chunked.html"};
  for (size_t i = 0; i < 5; i++) {
    expect_page(pages[i], "FC-COOP-1 FC-REF-1", 0);
    expect_v((want_t){.rule = "FC-REF-1",
                      .level = "error",
                      .item = 2,
                      .page = pages[i],
                      .src = "meta",
                      .name = "meta[name=referrer]",
                      .value = meta,
                      .offset = meta_at});
  }
  cr_assert_eq(count("note", NULL, NULL), 0, "every coding was decoded");
  free(body);
}

Test(audit_run, audit_cap_gives_a_note) {
  start((const char *[]){"--max-audit-bytes", "1k", NULL});
  char pad[2048];
  memset(pad, ' ', sizeof pad - 1);
  pad[sizeof pad - 1] = 0;
  char *late = fca_xasprintf("<html>%s%s</html>", pad, STRIPE);
  put("cap-late.html", "Cross-Origin-Opener-Policy: same-origin\n", late);
  char *early =
      fca_xasprintf("<html>%s%s<meta name=referrer content=no-referrer></html>", STRIPE, pad);
  put("cap-early.html", NULL, early);
  load("cap-late.html");
  load("cap-early.html");
  finish();
  expect_page("cap-late.html", "", 0);
  cr_assert_eq(count("page", NULL, "cap-late.html"), 0, "the tag was past the cap");
  cr_assert_eq(count("note", NULL, "cap-late.html"), 1);
  cr_assert_eq(count("note", NULL, "cap-early.html"), 1);
  cr_assert_eq(count("page", NULL, "cap-early.html"), 1);
  cr_assert_eq(count("violation", "FC-REF-1", NULL), 0, "the meta past the cap was not seen");
  for (size_t i = 0; i < L.n; i++)
    if (is(L.ev[i], "note")) cr_assert_str_eq(jstr(L.ev[i], "note"), "audit-incomplete");
  free(late);
  free(early);
}

/* ---- how tags and frames are recognised through the proxy --------------------------------- */

Test(audit_run, tag_forms_and_frame_urls) {
  start(NULL);
  const char *coop = "Cross-Origin-Opener-Policy: same-origin\n";
  struct {
    const char *name, *body, *value; /* value: the page event's evidence; NULL: not tagged */
  } t[] = {
      {"t-base.html", "<base href=\"https://js.stripe.com/\"><script src=\"v3\"></script>", "v3"},
      {"t-protorel.html", "<script src=\"//js.stripe.com/v3\"></script>", "//js.stripe.com/v3"},
      {"t-train.html", "<script src=\"https://js.stripe.com/basil/stripe.js\"></script>",
       "https://js.stripe.com/basil/stripe.js"},
      {"t-query.html", "<script src='https://js.stripe.com/v3/?advancedFraudSignals=false'>",
       "https://js.stripe.com/v3/?advancedFraudSignals=false"},
      {"t-module.html", "<script type=module src=https://js.stripe.com/v3></script>",
       "https://js.stripe.com/v3"},
      {"t-json.html", "<script type=\"application/json\" src=\"https://js.stripe.com/v3\">", NULL},
      {"t-port.html", "<script src=\"https://js.stripe.com:8443/v3\"></script>", NULL},
  };
  for (size_t i = 0; i < 7; i++) {
    put(t[i].name, coop, t[i].body);
    load(t[i].name);
  }
  /* a tagged 404 page is still a page; an iframe src with a fragment names the same URL */
  put("t-404.html", "Status: 404\nCross-Origin-Opener-Policy: same-origin\n", STRIPE);
  load("t-404.html");
  put("t-frag-parent.html", NULL,
      "<iframe src=\"t-frag-child.html#pay\" sandbox=\"allow-scripts allow-same-origin "
      "allow-popups\"></iframe>");
  put("t-frag-child.html", NULL, STRIPE);
  load("t-frag-parent.html");
  load_as("t-frag-child.html", "iframe", "t-frag-parent.html");
  finish();
  for (size_t i = 0; i < 7; i++) {
    expect_page(t[i].name, t[i].value ? "FC-COOP-1" : "", 0);
    if (!t[i].value) continue;
    char *u = url_of(t[i].name);
    for (size_t k = 0; k < L.n; k++)
      if (is(L.ev[k], "page") && strcmp(jstr(L.ev[k], "page.url"), u) == 0) {
        cr_assert_str_eq(jstr(L.ev[k], "evidence.value"), t[i].value);
        cr_assert_str_eq(jstr(L.ev[k], "page.tagged_by"), "script-tag");
      }
    free(u);
  }
  expect_page("t-404.html", "FC-COOP-1", 0);
  expect_page("t-frag-child.html", "FC-SBX-1", 0);
  cr_assert_eq(count("note", NULL, NULL), 0);
}

/* A 304 reuses the last full response of that URL: the same findings, deduplicated. */
Test(audit_run, not_modified_reuses_the_last_response) {
  start(NULL);
  put("nm.html", "Cross-Origin-Opener-Policy: same-origin\nETag: \"v1\"\n", STRIPE);
  load("nm.html");
  put("nm.html", "Status: 304\nETag: \"v1\"\n", "");
  char *u = url_of("nm.html");
  pcurl((const char *[]){"-H", "Sec-Fetch-Dest: document", "-H", "If-None-Match: \"v1\"", u, NULL});
  free(u);
  finish();
  cr_assert_eq(count("page", NULL, "nm.html"), 1, "the reload is logged once per run");
  cr_assert_eq(jint(L.summary, "pages_tagged"), 2);
  cr_assert_eq(count("violation", "FC-COOP-1", "nm.html"), 1);
  cr_assert_eq(by_rule("FC-COOP-1", "occurrences"), 2);
  cr_assert_eq(jint(L.summary, "pages_seen"), 2);
}

/* Header bytes that are not UTF-8 are escaped in the evidence, never dropped. */
Test(audit_run, non_utf8_evidence_is_escaped) {
  start(NULL);
  put("bytes.html", "Referrer-Policy: no-referrer\xff\n", STRIPE);
  load("bytes.html");
  finish();
  json_t *v = expect_v((want_t){.rule = "FC-REF-4",
                                .level = "info",
                                .item = 2,
                                .page = "bytes.html",
                                .src = "header",
                                .name = "Referrer-Policy",
                                .value = "no-referrer\\xff",
                                .offset = -1});
  cr_assert(json_is_true(jget(v, "evidence.escaped")));
  expect_page("bytes.html", "FC-REF-4", 1);
}

/* The summary is written on SIGINT too. */
Test(audit_run, summary_on_sigint) {
  start(NULL);
  put("int.html", "Cross-Origin-Opener-Policy: same-origin\n", STRIPE);
  load("int.html");
  char *path = fca_xstrdup(px.log_path);
  cr_assert_eq(kill(px.pid, SIGINT), 0);
  int st;
  cr_assert_eq(fca_proc_wait(px.pid, 10000, &st), 0, "fcaudit did not exit on SIGINT");
  px.pid = -1;
  parse_log(path, &L);
  cr_assert_not_null(L.summary, "no summary after SIGINT");
  cr_assert_eq(jint(L.summary, "pages_tagged"), 1);
  cr_assert_eq(by_rule("FC-COOP-1", "reported"), 1);
  free(path);
}

/* The origin sends the response head in its own segment and the body later: the headers the
 * audit reads must still be valid once the proxy has forwarded the head. */
Test(audit_run, response_head_arriving_alone) {
  start(NULL);
  static mini_t m;
  memset(&m, 0, sizeof m);
  m.routes[0] = (route_t){.path = "/slow",
                          .head = "Content-Type: text/html\r\nCross-Origin-Opener-Policy: "
                                  "same-origin\r\nReferrer-Policy: no-referrer\r\n",
                          .part1 = STRIPE,
                          .pause_ms = 300};
  m.nroutes = 1;
  mini_start(&m, false);
  char u[64];
  snprintf(u, sizeof u, "http://127.0.0.1:%d/slow", m.port);
  load(u);
  mini_stop(&m);
  finish();
  expect_page(u, "FC-COOP-1 FC-REF-1", 0);
  expect_v((want_t){.rule = "FC-COOP-1",
                    .level = "error",
                    .item = 1,
                    .page = u,
                    .src = "header",
                    .name = "Cross-Origin-Opener-Policy",
                    .value = "same-origin",
                    .offset = -1});
}
