/* Tests for the HTML report: self-contained (no external asset, no script), verdict present,
 * scorecards and findings shown, network text escaped. */
#include <criterion/criterion.h>

#include "report_fixture.h"
#include "report_html.h"

/* True when some real tag (text between '<' and '>'; escaped text has no '<') contains needle. */
static bool tag_has(const char *html, const char *needle) {
  for (const char *p = strchr(html, '<'); p; p = strchr(p + 1, '<')) {
    const char *end = strchr(p, '>');
    if (!end) return false;
    char *tag = fca_xstrndup(p, (size_t)(end - p));
    bool hit = strstr(tag, needle) != NULL;
    free(tag);
    if (hit) return true;
  }
  return false;
}

Test(html, self_contained_with_verdict) {
  fca_model_t *m = fx_model();
  char *html = fx_capture(fca_report_html_write, m);
  cr_assert(strncmp(html, "<!DOCTYPE html>", 15) == 0);
  cr_assert(strstr(html, "</html>"));
  cr_assert(strstr(html, "id=\"verdict\">Verdict: FAIL"), "verdict first");
  cr_assert(strstr(html, "2 new findings at or above error"));
  /* Nothing is fetched: no src, no stylesheet link, no CSS url(), no @import, no script. */
  cr_assert_not(tag_has(html, "src="), "no tag loads anything");
  cr_assert_null(strstr(html, "<link"));
  cr_assert_null(strstr(html, "url("));
  cr_assert_null(strstr(html, "@import"));
  cr_assert_null(strstr(html, "<script"));
  cr_assert_null(strstr(html, "<img"));
  cr_assert_null(strstr(html, "<iframe"));
  /* scorecards and findings */
  cr_assert_eq(fx_count(html, "<h2>https://"), 3);
  cr_assert(strstr(html, "<td class=\"st fail\">FAIL</td>"));
  cr_assert(strstr(html, "<td class=\"st na\">n/a</td>"));
  cr_assert(strstr(html, "<b>Fix:</b> send Cross-Origin-Opener-Policy: same-origin-allow-popups"));
  cr_assert(strstr(html, "&lt;iframe src=&quot;https://pay.shop.test/frame&quot;"));
  cr_assert(strstr(html, "seen 2×"));
  cr_assert(strstr(html, "audit-incomplete"));
  free(html);
  fca_model_free(m);
}

Test(html, pass_and_empty_run) {
  fca_model_t *m = fca_model_new(NULL);
  char *html = fx_capture(fca_report_html_write, m);
  cr_assert(strstr(html, "Verdict: PASS"));
  cr_assert(strstr(html, "No page loaded Stripe.js"));
  free(html);
  fca_model_free(m);
}

Test(html, hostile_text_escaped) {
  const char log[] =
      "{\"run\":\"r\",\"type\":\"violation\",\"rule\":\"FC-REF-1\",\"level\":\"error\",\"item\":2,"
      "\"message\":\"<script>alert(1)</script>\",\"doc\":\"javascript:alert(1)\",\"page\":{"
      "\"url\":\"https://s.test/\\\"><img src=x>\",\"top_level\":true,\"tagged_by\":\"script-tag\""
      ",\"confidence\":\"high\"},\"evidence\":{\"source\":\"meta\",\"name\":\"meta\",\"value\":"
      "\"<style>@import url(https://evil.test/x.css)</style>\\u001b[2J\"}}\n";
  fca_model_t *m = fx_model_run(log, NULL);
  char *html = fx_capture(fca_report_html_write, m);
  cr_assert_null(strstr(html, "<script"));
  cr_assert_null(strstr(html, "<img"));
  cr_assert_null(strstr(html, "<style>@import"));
  cr_assert_null(strstr(html, "href=\"javascript:"), "only http(s) links are links");
  cr_assert(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
  cr_assert(strstr(html, "\\x1b[2J"));
  free(html);
  fca_model_free(m);
}
