/* One story in every output: one recorded event log (tests/integration/data/one-story.ndjson:
 * four tagged pages, each with a live key in a staging run, one of them tagged first by a
 * script literal and then by the browser's request for Stripe.js) goes through `fcaudit
 * report` (console summary, JSON report = the dashboard's /api/report.json, JUnit, SARIF, HTML)
 * and `fcaudit tail`; every output must show the same final tag, the same per-item status and
 * reason, and the same verdict sentence. */
#include <jansson.h>

#include "cli_helpers.h"

#define LOG FCA_TEST_SRCDIR "/tests/integration/data/one-story.ndjson"
#define SENTENCE "pass at --fail-on error; 4 warnings on 4 pages fail their checklist item"

/* How many times needle occurs in hay. */
static size_t count(const char *hay, const char *needle) {
  size_t n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
  return n;
}

/* The console block of one page: from its "  KEY  (" line to the next page or the end. */
static char *console_block(const char *out, const char *key) {
  char *head = fca_xasprintf("\n  %s  (", key);
  const char *s = strstr(out, head);
  free(head);
  cr_assert_not_null(s, "no console block for %s:\n%s", key, out);
  s++;
  const char *e = s + 1;
  while ((e = strchr(e, '\n')) && strncmp(e + 1, "    ", 4) == 0) e++;
  return fca_xstrndup(s, e ? (size_t)(e + 1 - s) : strlen(s));
}

Test(one_story, every_output_tells_the_same_story) {
  char *dir = cli_tmpdir();
  char *json = fca_xasprintf("%s/r.json", dir), *junit = fca_xasprintf("%s/r.xml", dir),
       *sarif = fca_xasprintf("%s/r.sarif", dir), *html = fca_xasprintf("%s/r.html", dir);
  cli_proc_t rep, tail;
  int rc = cli_run(&rep,
                   (char *[]){FCA_TEST_BINARY, "report", "--report-json", json, "--junit", junit,
                              "--sarif", sarif, "--report-html", html, LOG, NULL},
                   NULL);
  cr_assert_eq(rc, 0, "warnings below --fail-on error pass the run: %s%s", rep.out, rep.err);
  rc = cli_run(&tail,
               (char *[]){FCA_TEST_BINARY, "tail", "--no-follow", "-n", "100", "--color", "never",
                          LOG, NULL},
               NULL);
  cr_assert_eq(rc, 0, "%s", tail.err);

  json_error_t je;
  json_t *r = json_load_file(json, 0, &je);
  cr_assert_not_null(r, "%s", je.text);
  char *xml = cli_read(junit), *sar = cli_read(sarif), *page = cli_read(html);
  cr_assert(xml && sar && page);

  /* The verdict: one sentence, word for word, in every output; the run passes at --fail-on
   * error but does not claim a bare pass. */
  const char *sentence =
      json_string_value(json_object_get(json_object_get(r, "verdict"), "sentence"));
  cr_assert_str_eq(sentence, SENTENCE);
  cr_assert(strstr(rep.out, "verdict: " SENTENCE "\n"), "console:\n%s", rep.out);
  cr_assert(strstr(tail.out, "verdict: " SENTENCE), "tail:\n%s", tail.out);
  cr_assert(strstr(tail.out, "errors 0  warnings 4  info 0"), "tail: real counts\n%s", tail.out);
  cr_assert(strstr(page, "<small>" SENTENCE "</small>"), "html");
  cr_assert(strstr(page, "class=\"verdict mixed\""),
            "html: a pass with failing pages is not green");
  cr_assert(strstr(xml, "<property name=\"verdict\" value=\"" SENTENCE "\"/>"), "junit");
  json_t *s = json_loads(sar, 0, &je);
  cr_assert_str_eq(
      json_string_value(json_object_get(
          json_object_get(
              json_array_get(
                  json_object_get(json_array_get(json_object_get(s, "runs"), 0), "invocations"), 0),
              "properties"),
          "verdict")),
      SENTENCE);
  json_decref(s);

  /* Item 4's test-mode coverage: the same line on the console, in the report (which the
   * dashboard shows) and in the HTML report. */
  const char *cov =
      json_string_value(json_object_get(json_object_get(r, "summary"), "test_mode_coverage"));
  cr_assert_not_null(cov);
  cr_assert(strstr(cov, "seen linked: Test (OAuth); missing: Test (Non-OAuth)"), "%s", cov);
  cr_assert(strstr(rep.out, cov), "console shows the coverage:\n%s", rep.out);
  cr_assert(strstr(page, cov), "html shows the coverage");

  /* Page by page, item by item. */
  json_t *pages = json_object_get(r, "pages");
  cr_assert_eq(json_array_size(pages), 4);
  size_t i;
  json_t *p;
  json_array_foreach(pages, i, p) {
    const char *url = json_string_value(json_object_get(p, "url"));
    const char *tag = json_string_value(json_object_get(p, "tagged_by"));
    const char *conf = json_string_value(json_object_get(p, "confidence"));
    if (strcmp(url, "https://shop.test/checkout") == 0)
      cr_assert_str_eq(tag, "script-request", "the final tag, not the first");
    char *blk = console_block(rep.out, url);
    char *want = fca_xasprintf("tagged by %s, %s confidence", tag, conf);
    cr_assert(strstr(blk, want), "console tag of %s: %s", url, blk);
    free(want);
    want = fca_xasprintf("tagged by %s · %s confidence", tag, conf);
    cr_assert(strstr(page, want), "html tag of %s", url);
    free(want);
    want = fca_xasprintf("<property name=\"tagged_by\" value=\"%s\"/>", tag);
    cr_assert(strstr(xml, want), "junit tag of %s", url);
    free(want);
    json_t *card = json_object_get(p, "scorecard");
    for (size_t k = 0; k < 4; k++) {
      json_t *it = json_array_get(card, k);
      const char *st = json_string_value(json_object_get(it, "status"));
      const char *why = json_string_value(json_object_get(it, "why"));
      cr_assert_not_null(why);
      /* console: "N title  STATUS  why", the reason once */
      char *line = fca_xasprintf("%-4s  %s\n", strcmp(st, "fail") == 0 ? "FAIL" : st, why);
      cr_assert(strstr(blk, line), "console item %zu of %s: want '%s' in\n%s", k + 1, url, line,
                blk);
      cr_assert_eq(count(blk, why), 1, "console says item %zu's reason once", k + 1);
      free(line);
      /* html: the scorecard row */
      line = fca_xasprintf("\">%s</td><td>%s</td>", strcmp(st, "fail") == 0 ? "FAIL" : st, why);
      cr_assert(strstr(page, line), "html item %zu of %s: %s", k + 1, url, line);
      free(line);
      /* junit: the item's case holds the same status and reason */
      line = fca_xasprintf("scorecard: %s — %s", st, why);
      cr_assert(strstr(xml, line), "junit item %zu of %s: %s", k + 1, url, line);
      free(line);
    }
    /* Item 4 fails for the live key, in the same words on every page. */
    const char *why4 = json_string_value(json_object_get(json_array_get(card, 3), "why"));
    cr_assert(strncmp(why4, "FC-TEST-1: A live publishable key", 33) == 0, "%s", why4);
    free(blk);
  }
  cr_assert_null(strstr(rep.out, "script-literal"), "console: only the final tag");
  cr_assert_null(strstr(page, "script-literal"), "html: only the final tag");
  cr_assert_null(strstr(xml, "script-literal"), "junit: only the final tag");
  cr_assert_null(strstr(json_dumps(pages, 0), "script-literal"), "json: only the final tag");

  json_decref(r);
  free(xml), free(sar), free(page);
  cli_proc_free(&rep), cli_proc_free(&tail);
  cli_rm_rf(dir);
  free(dir), free(json), free(junit), free(sarif), free(html);
}
