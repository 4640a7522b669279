/* Tests for tailfmt: log lines back to console lines, summaries, and the tail filters. */
#include <criterion/criterion.h>
#include <string.h>

#include "fcaudit/tailfmt.h"

static json_t *j(const char *s) {
  json_t *o = json_loads(s, 0, NULL);
  cr_assert_not_null(o, "%s", s);
  return o;
}

static const char VIOL[] =
    "{\"schema\":1,\"run\":\"r1\",\"type\":\"violation\",\"rule\":\"FC-COOP-1\",\"level\":"
    "\"error\","
    "\"item\":1,\"message\":\"m\",\"fix\":\"send same-origin-allow-popups\",\"page\":{\"id\":7,"
    "\"url\":\"https://shop.test/checkout\",\"top_level\":true,\"tagged_by\":\"script-tag\","
    "\"confidence\":\"high\"},\"evidence\":{\"source\":\"header\",\"name\":\"Cross-Origin-Opener-"
    "Policy\",\"value\":\"same-origin\",\"offset\":null},\"count\":3}";

Test(tailfmt, violation_line_like_the_console) {
  json_t *o = j(VIOL);
  char buf[1024];
  size_t n = fca_tailfmt_line(o, buf, sizeof buf, false);
  cr_assert_gt(n, 0);
  cr_assert_eq(buf[n - 1], '\n');
  cr_assert(strstr(buf, "FC-COOP-1"), "%s", buf);
  cr_assert(strstr(buf, "https://shop.test/checkout"));
  cr_assert(strstr(buf, "Cross-Origin-Opener-Policy: same-origin"));
  cr_assert(strstr(buf, "fix: send same-origin-allow-popups"));
  cr_assert(strstr(buf, "3"), "count shown");
  cr_assert_null(strstr(buf, "\033["));
  n = fca_tailfmt_line(o, buf, sizeof buf, true);
  cr_assert(strstr(buf, "\033["));
  json_decref(o);
}

Test(tailfmt, summary_and_non_events) {
  /* The summary's layout as the engine writes it (docs/events.md), verdict from the model.
   * "tagged" counts pages as the console and the reports do (by URL without query, a frame
   * apart), not the 5 loads. */
  json_t *o = j("{\"run\":\"r1\",\"type\":\"summary\",\"pages_seen\":4,\"pages_tagged\":5,"
                "\"pages\":[{\"url\":\"https://a.test/p?x=1\",\"top_level\":true,\"loads\":3},"
                "{\"url\":\"https://a.test/p?y=2\",\"top_level\":true},"
                "{\"url\":\"https://a.test/p\",\"top_level\":false}],"
                "\"violations\":{\"reported\":3,\"occurrences\":5,\"by_level\":{"
                "\"info\":{\"reported\":2,\"occurrences\":2},"
                "\"warning\":{\"reported\":0,\"occurrences\":0},"
                "\"error\":{\"reported\":1,\"occurrences\":3}},\"by_rule\":{}},"
                "\"verdict\":{\"result\":\"fail\",\"sentence\":\"fail at --fail-on error\"}}");
  char buf[256];
  cr_assert_gt(fca_tailfmt_line(o, buf, sizeof buf, false), 0);
  cr_assert(strstr(buf, "SUMMARY run r1  pages seen 4  tagged 2  errors 1  warnings 0  info 2"),
            "%s", buf);
  cr_assert(strstr(buf, "verdict: fail at --fail-on error"), "%s", buf);
  cr_assert_null(strstr(buf, "-1"), "%s", buf);
  json_decref(o);
  o = j("{\"run\":\"r2\",\"type\":\"summary\",\"pages_tagged\":10001,"
        "\"pages\":[{\"url\":\"https://a.test/p\"}],\"pages_not_listed\":10000}");
  cr_assert_gt(fca_tailfmt_line(o, buf, sizeof buf, false), 0);
  cr_assert(strstr(buf, "  tagged 1+  "), "a summary past its page cap says so: %s", buf);
  json_decref(o);
  o = j("{\"run\":\"r3\",\"type\":\"summary\",\"pages_tagged\":3}");
  cr_assert_gt(fca_tailfmt_line(o, buf, sizeof buf, false), 0);
  cr_assert(strstr(buf, "  tagged 3  "), "a summary without its pages: its count: %s", buf);
  json_decref(o);
  o = j("{\"type\":\"something-new\"}");
  cr_assert_eq(fca_tailfmt_line(o, buf, sizeof buf, false), 0);
  json_decref(o);
  o = j("[1,2]");
  fca_event_t ev;
  cr_assert_eq(fca_tailfmt_event(o, &ev), -1);
  json_decref(o);
}

Test(tailfmt, filters) {
  json_t *v = j(VIOL);
  json_t *page = j("{\"run\":\"r2\",\"type\":\"page\",\"page\":{\"url\":\"https://b.test/x\","
                   "\"top_level\":true,\"tagged_by\":\"script-tag\",\"confidence\":\"high\"}}");
  fca_tail_filter_t f = {FCA_LEVEL_INFO, NULL, NULL, NULL};
  cr_assert(fca_tailfmt_match(&f, v));
  cr_assert(fca_tailfmt_match(&f, page));
  f.min_level = FCA_LEVEL_ERROR;
  cr_assert(fca_tailfmt_match(&f, v));
  cr_assert_not(fca_tailfmt_match(&f, page), "non-violations count as info");
  f = (fca_tail_filter_t){FCA_LEVEL_INFO, "FC-SBX-*", NULL, NULL};
  cr_assert_not(fca_tailfmt_match(&f, v));
  f.rule = "FC-COOP-*";
  cr_assert(fca_tailfmt_match(&f, v));
  cr_assert_not(fca_tailfmt_match(&f, page), "--rule shows violations only");
  f = (fca_tail_filter_t){FCA_LEVEL_INFO, NULL, "https://b.test/*", NULL};
  cr_assert(fca_tailfmt_match(&f, page));
  cr_assert_not(fca_tailfmt_match(&f, v));
  f = (fca_tail_filter_t){FCA_LEVEL_INFO, NULL, NULL, "r1"};
  cr_assert(fca_tailfmt_match(&f, v));
  cr_assert_not(fca_tailfmt_match(&f, page));
  json_decref(v);
  json_decref(page);
}
