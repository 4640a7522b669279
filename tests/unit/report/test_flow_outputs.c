/* Unit tests: the "never fetched" state and stack-specific fixes tell the same story in every
 * output: the model, the JSON report, HTML, JUnit, SARIF, the console summary, the live console
 * line and `fcaudit tail`'s reading of a logged event. */
#include "fcaudit/console.h"
#include "fcaudit/model.h"
#include "fcaudit/report_json.h"
#include "fcaudit/tailfmt.h"
#include "junit.h"
#include "report_fixture.h"
#include "report_html.h"
#include "sarif.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define RUN "20261206T100000Z-cccccc"
#define PG(id, url)                                                                                \
  "\"page\":{\"id\":" #id ",\"url\":\"" url "\",\"top_level\":true,\"tagged_by\":\"script-tag\","  \
  "\"confidence\":\"high\"}"
#define HEAD(type, ts) "{\"schema\":1,\"run\":\"" RUN "\",\"ts\":\"" ts "\",\"type\":\"" type "\","

#define FIX_STACK                                                                                  \
  "\"fix_stack\":{\"stack\":\"helmet\",\"label\":\"Express with helmet\",\"confidence\":"          \
  "\"guess\",\"why\":\"helmet's default headers\",\"fix\":\"helmet({ crossOriginOpenerPolicy: "    \
  "{ policy: \\\"same-origin-allow-popups\\\" } })\"}"

/* One event per line; clang-format 14 does not settle on a layout for this concatenation. */
// clang-format off
static const char LOG[] =
    HEAD("page", "2026-12-06T10:00:00.000Z") PG(1, "https://shop.test/blocked") "}\n"
    HEAD("page", "2026-12-06T10:00:00.100Z") PG(2, "https://shop.test/ok") "}\n"
    HEAD("violation", "2026-12-06T10:00:00.200Z")
        "\"rule\":\"FC-COOP-1\",\"level\":\"error\",\"item\":1,\"message\":\"m\","
        "\"fix\":\"Send Cross-Origin-Opener-Policy: same-origin-allow-popups\"," FIX_STACK ","
        PG(2, "https://shop.test/ok")
        ",\"evidence\":{\"source\":\"header\",\"name\":\"Cross-Origin-Opener-Policy\","
        "\"value\":\"same-origin\",\"offset\":null}}\n"
    HEAD("note", "2026-12-06T10:00:31.000Z")
        "\"note\":\"stripe-js-not-fetched\",\"message\":\"references Stripe.js (never "
        "fetched): the browser requested 2 other subresource(s) of this page but never "
        "https://js.stripe.com/v3\"," PG(1, "https://shop.test/blocked") "}\n";
// clang-format on

static fca_model_t *model(void) {
  fca_model_t *m = fx_model_run(LOG, NULL);
  fca_model_finalize(m);
  return m;
}

static const fca_model_page_t *page(fca_model_t *m, const char *key) {
  for (size_t i = 0; i < m->npages; i++)
    if (!strcmp(m->pages[i].key, key)) return &m->pages[i];
  cr_assert_fail("no page %s", key);
  return NULL;
}

Test(flow_outputs, model) {
  fca_model_t *m = model();
  cr_assert(page(m, "https://shop.test/blocked")->never_fetched);
  cr_assert_not(page(m, "https://shop.test/ok")->never_fetched);
  cr_assert_str_eq(fca_model_page_stripejs(page(m, "https://shop.test/blocked")),
                   "references Stripe.js (never fetched)");
  cr_assert_str_eq(fca_model_page_stripejs(page(m, "https://shop.test/ok")), "loads Stripe.js");
  cr_assert_eq(m->nfindings, 1);
  char *line = fca_model_stack_fix_line(&m->findings[0]);
  cr_assert_str_eq(line, "Express with helmet (a guess from its headers): helmet({ "
                         "crossOriginOpenerPolicy: { policy: \"same-origin-allow-popups\" } })");
  free(line);
  fca_model_free(m);
}

Test(flow_outputs, json_report) {
  fca_model_t *m = model();
  json_t *r = fca_report_json(m);
  json_t *pages = json_object_get(r, "pages");
  size_t i;
  json_t *p;
  int seen = 0;
  json_array_foreach(pages, i, p) {
    const char *url = json_string_value(json_object_get(p, "url"));
    const char *st = json_string_value(json_object_get(p, "stripe_js"));
    const char *tx = json_string_value(json_object_get(p, "stripe_js_text"));
    if (!strcmp(url, "https://shop.test/blocked")) {
      cr_assert_str_eq(st, "never-fetched");
      cr_assert_str_eq(tx, "references Stripe.js (never fetched)");
      seen++;
    } else {
      cr_assert_str_eq(st, "loads");
      cr_assert_str_eq(tx, "loads Stripe.js");
      seen++;
    }
  }
  cr_assert_eq(seen, 2);
  json_t *v = json_array_get(json_object_get(r, "violations"), 0);
  json_t *fs = json_object_get(v, "fix_stack");
  cr_assert_str_eq(json_string_value(json_object_get(fs, "stack")), "helmet");
  cr_assert_str_eq(json_string_value(json_object_get(fs, "confidence")), "guess");
  cr_assert_not_null(
      strstr(json_string_value(json_object_get(fs, "fix")), "crossOriginOpenerPolicy"));
  json_decref(r);
  fca_model_free(m);
}

Test(flow_outputs, html_junit_sarif_console) {
  fca_model_t *m = model();
  char *html = fx_capture(fca_report_html_write, m);
  cr_assert_eq(fx_count(html, "top-level page · references Stripe.js (never fetched) · tagged by"),
               1, "%s", html);
  cr_assert_eq(fx_count(html, "top-level page · loads Stripe.js · tagged by"), 1);
  cr_assert_not_null(strstr(html, "Fix for this stack:</b> Express with helmet (a guess"));
  free(html);
  char *ju = fx_capture(fca_junit_write, m);
  cr_assert_not_null(
      strstr(ju, "<property name=\"stripe_js\" value=\"references Stripe.js (never fetched)\"/>"));
  cr_assert_not_null(strstr(ju, "fix for this stack: Express with helmet (a guess"));
  free(ju);
  json_t *s = fca_sarif_build(m);
  char *sj = json_dumps(s, JSON_COMPACT);
  cr_assert_not_null(strstr(sj, "\"fix_stack\":{"), "%s", sj);
  cr_assert_not_null(strstr(sj, "For this stack, Express with helmet"));
  free(sj);
  json_decref(s);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  fca_model_print_summary(f, m, false);
  fclose(f);
  cr_assert_not_null(strstr(buf, "references Stripe.js (never fetched)"), "%s", buf);
  free(buf);
  fca_model_free(m);
}

Test(flow_outputs, live_console_and_tail_line) {
  /* the logged violation, read back as `fcaudit tail` does, printed as the console does */
  const char *v = strstr(LOG, HEAD("violation", "2026-12-06T10:00:00.200Z"));
  const char *nl = strchr(v, '\n');
  json_t *o = json_loadb(v, (size_t)(nl - v), 0, NULL);
  cr_assert_not_null(o);
  fca_event_t ev;
  cr_assert_eq(fca_tailfmt_event(o, &ev), 0);
  cr_assert_str_eq(ev.fix_stack, "helmet");
  char line[FCA_CONSOLE_LINE_MAX];
  fca_console_format(line, sizeof line, &ev, false);
  cr_assert_not_null(strstr(line, "→ fix: Send Cross-Origin-Opener-Policy: "
                                  "same-origin-allow-popups; Express with helmet (guess): "
                                  "helmet({ crossOriginOpenerPolicy"),
                     "%s", line);
  cr_assert_eq(fx_count(line, "\n"), 1, "one line");
  json_decref(o);
}
