/* Tests for the JUnit report: well-formed (xmllint), the elements CI tools read, counts that add
 * up per suite and in total, escaping of hostile text, baseline and threshold handling. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "junit.h"
#include "report_fixture.h"

static int xmllint(const char *xml) {
  char path[] = "/tmp/fca-junit-XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  FILE *f = fdopen(fd, "w");
  fputs(xml, f);
  fclose(f);
  char *cmd = fca_xasprintf("xmllint --noout %s", path);
  int rc = system(cmd);
  free(cmd);
  unlink(path);
  return rc;
}

/* Value of attribute `name` in the element starting at p. */
static long attr(const char *p, const char *name) {
  const char *end = strchr(p, '>');
  char key[64];
  snprintf(key, sizeof key, " %s=\"", name);
  const char *a = strstr(p, key);
  cr_assert(a && a < end, "no %s in %.80s", name, p);
  return strtol(a + strlen(key), NULL, 10);
}

/* Checks every suite's counts against its test cases, and the root's against the sum. */
static void check_counts(const char *xml, size_t *suites, long *tests, long *fails, long *skips) {
  const char *root = strstr(xml, "<testsuites ");
  cr_assert_not_null(root);
  long st = 0, sf = 0, ss = 0;
  *suites = 0;
  for (const char *s = strstr(xml, "<testsuite "); s; s = strstr(s + 1, "<testsuite ")) {
    const char *end = strstr(s, "</testsuite>");
    cr_assert_not_null(end);
    long t = 0, f = 0, k = 0;
    for (const char *c = strstr(s, "<testcase "); c && c < end; c = strstr(c + 1, "<testcase "))
      t++;
    for (const char *c = strstr(s, "<failure "); c && c < end; c = strstr(c + 1, "<failure ")) f++;
    for (const char *c = strstr(s, "<skipped "); c && c < end; c = strstr(c + 1, "<skipped ")) k++;
    cr_assert_eq(attr(s, "tests"), t);
    cr_assert_eq(attr(s, "failures"), f);
    cr_assert_eq(attr(s, "skipped"), k);
    cr_assert_eq(attr(s, "errors"), 0);
    st += t, sf += f, ss += k;
    (*suites)++;
  }
  cr_assert_eq(attr(root, "tests"), st);
  cr_assert_eq(attr(root, "failures"), sf);
  cr_assert_eq(attr(root, "skipped"), ss);
  *tests = st, *fails = sf, *skips = ss;
}

Test(junit, structure_and_counts) {
  fca_model_t *m = fx_model();
  char *xml = fx_capture(fca_junit_write, m);
  cr_assert_eq(xmllint(xml), 0, "%s", xml);
  size_t suites;
  long tests, fails, skips;
  check_counts(xml, &suites, &tests, &fails, &skips);
  cr_assert_eq(suites, 4, "the run suite plus one per tagged page");
  /* run 1 + checkout 4 + frame 5 (item 0: FC-ISO-1) + pay 4 */
  cr_assert_eq(tests, 14);
  cr_assert_eq(fails, 2, "COOP-1 on the checkout, SBX-1 on the frame");
  cr_assert(strstr(xml, "<testsuite name=\"https://shop.test/checkout\""));
  cr_assert(strstr(xml, "type=\"FC-COOP-1\""));
  cr_assert(strstr(xml, "fix: send Cross-Origin-Opener-Policy: same-origin-allow-popups"));
  cr_assert(strstr(xml, "&lt;iframe src=&quot;https://pay.shop.test/frame&quot;"), "escaped");
  cr_assert(strstr(xml, "FC-ISO-1 (warning)"), "a lower finding is listed, not failed");
  free(xml);
  fca_model_free(m);
}

Test(junit, warning_threshold_and_baseline) {
  fca_model_t *m = fx_model();
  fca_model_policy_t p = {FCA_LEVEL_WARNING, 0};
  fca_model_set_policy(m, &p);
  char *xml = fx_capture(fca_junit_write, m);
  size_t suites;
  long tests, fails, skips;
  check_counts(xml, &suites, &tests, &fails, &skips);
  cr_assert_eq(fails, 3);
  free(xml);
  for (size_t i = 0; i < m->nfindings; i++) m->findings[i].baseline = true;
  xml = fx_capture(fca_junit_write, m);
  check_counts(xml, &suites, &tests, &fails, &skips);
  cr_assert_eq(fails, 0, "known findings do not fail");
  cr_assert(strstr(xml, "FC-COOP-1 (error, baseline"));
  free(xml);
  fca_model_free(m);
}

Test(junit, too_few_tagged_and_empty_run) {
  fca_model_t *m = fca_model_new(NULL);
  fca_model_policy_t p = {FCA_LEVEL_ERROR, 1};
  fca_model_set_policy(m, &p);
  char *xml = fx_capture(fca_junit_write, m);
  cr_assert_eq(xmllint(xml), 0);
  size_t suites;
  long tests, fails, skips;
  check_counts(xml, &suites, &tests, &fails, &skips);
  cr_assert_eq(suites, 1);
  cr_assert_eq(tests, 1, "a report never has zero tests");
  cr_assert_eq(fails, 1);
  cr_assert(strstr(xml, "type=\"require-tagged\""));
  cr_assert(strstr(xml, "no page loaded Stripe.js"));
  free(xml);
  fca_model_free(m);
}

Test(junit, hostile_text_stays_well_formed) {
  const char log[] =
      "{\"run\":\"r\",\"type\":\"violation\",\"rule\":\"FC-REF-1\",\"level\":\"error\",\"item\":2,"
      "\"message\":\"]]> <x> & \\u0001 \\u001b[31m\",\"fix\":\"'\\\"\",\"page\":{\"url\":"
      "\"https://s.test/<a>&\\\"'\",\"top_level\":true,\"tagged_by\":\"script-tag\","
      "\"confidence\":\"high\"},\"evidence\":{\"source\":\"meta\",\"name\":\"meta\",\"value\":"
      "\"<meta content=\\\"no-referrer\\\"> \\u007f\"}}\n";
  fca_model_t *m = fx_model_run(log, NULL);
  cr_assert_eq(m->nfindings, 1);
  char *xml = fx_capture(fca_junit_write, m);
  cr_assert_eq(xmllint(xml), 0, "%s", xml);
  cr_assert(strstr(xml, "\\x01"));
  free(xml);
  fca_model_free(m);
}
