/* Integration tests of `fcaudit report`: one run picked from a shared log (latest by default,
 * --run ID), exit statuses, reports written, and the baseline workflow: a second run checked
 * against the first run's report fails only on a newly introduced violation. */
#include <jansson.h>

#include "cli_helpers.h"

static char *violation(const char *run, const char *rule, const char *value) {
  return fca_xasprintf(
      "{\"schema\":1,\"run\":\"%s\",\"ts\":\"2026-11-24T10:00:00.000Z\",\"type\":\"violation\","
      "\"rule\":\"%s\",\"level\":\"error\",\"item\":1,\"message\":\"m\",\"fix\":\"f\",\"page\":{"
      "\"id\":1,\"url\":\"https://shop.test/checkout?s=%s\",\"top_level\":true,\"tagged_by\":"
      "\"script-tag\",\"confidence\":\"high\"},\"evidence\":{\"source\":\"header\",\"name\":\"H\","
      "\"value\":\"%s\",\"offset\":null}}\n",
      run, rule, run, value);
}

static void add(const char *log, char *line) {
  cli_append(log, line);
  free(line);
}

static json_t *load(const char *path) {
  json_error_t je;
  json_t *r = json_load_file(path, 0, &je);
  cr_assert_not_null(r, "%s: %s", path, je.text);
  return r;
}

Test(cli_report, baseline_fails_only_on_new_findings) {
  char *dir = cli_tmpdir();
  char *log = fca_xasprintf("%s/events.ndjson", dir);
  char *r1 = fca_xasprintf("%s/run1.json", dir), *r2 = fca_xasprintf("%s/run2.json", dir);
  /* run 1: one error */
  add(log, violation("run-1", "FC-COOP-1", "same-origin"));
  cli_proc_t p;
  int rc = cli_run(&p, (char *[]){FCA_TEST_BINARY, "report", "--report-json", r1, log, NULL}, NULL);
  cr_assert_eq(rc, 1, "%s%s", p.out, p.err);
  cr_assert(strstr(p.out, "verdict: fail at --fail-on error"), "%s", p.out);
  cli_proc_free(&p);
  /* run 2, same log: the same finding (another query string) */
  add(log, violation("run-2", "FC-COOP-1", "same-origin"));
  rc = cli_run(&p, (char *[]){FCA_TEST_BINARY, "report", "--baseline", r1, log, NULL}, NULL);
  cr_assert_eq(rc, 0, "known finding only: %s%s", p.out, p.err);
  cli_proc_free(&p);
  /* run 3: the same plus a new one */
  add(log, violation("run-3", "FC-COOP-1", "same-origin"));
  add(log, violation("run-3", "FC-REF-1", "no-referrer"));
  rc = cli_run(
      &p, (char *[]){FCA_TEST_BINARY, "report", "--baseline", r1, "--report-json", r2, log, NULL},
      NULL);
  cr_assert_eq(rc, 1, "%s%s", p.out, p.err);
  cli_proc_free(&p);
  json_t *j = load(r2);
  cr_assert_str_eq(json_string_value(json_object_get(j, "run")), "run-3");
  json_t *vs = json_object_get(j, "violations");
  cr_assert_eq(json_array_size(vs), 2);
  size_t i;
  json_t *v;
  json_array_foreach(vs, i, v) {
    bool is_new = strcmp(json_string_value(json_object_get(v, "rule")), "FC-REF-1") == 0;
    cr_assert_eq(json_is_true(json_object_get(v, "baseline")), !is_new);
    cr_assert_eq(json_is_true(json_object_get(v, "fails_run")), is_new);
  }
  json_decref(j);
  /* --run picks an older run from the shared log */
  rc = cli_run(
      &p, (char *[]){FCA_TEST_BINARY, "report", "--run", "run-2", "--report-json", r2, log, NULL},
      NULL);
  cr_assert_eq(rc, 1);
  cli_proc_free(&p);
  j = load(r2);
  cr_assert_str_eq(json_string_value(json_object_get(j, "run")), "run-2");
  cr_assert_eq(json_array_size(json_object_get(j, "violations")), 1);
  json_decref(j);
  /* --fail-on never and an ignored rule */
  rc = cli_run(&p, (char *[]){FCA_TEST_BINARY, "report", "--fail-on", "never", log, NULL}, NULL);
  cr_assert_eq(rc, 0);
  cli_proc_free(&p);
  rc = cli_run(&p,
               (char *[]){FCA_TEST_BINARY, "report", "--baseline", r1, "--rule", "FC-REF-1=ignore",
                          "--report-json", r2, log, NULL},
               NULL);
  cr_assert_eq(rc, 0, "%s%s", p.out, p.err);
  cli_proc_free(&p);
  char *text = cli_read(r2);
  cr_assert_null(strstr(text, "FC-REF-1"), "an ignored rule appears in no report");
  free(text);
  cli_rm_rf(dir);
  free(dir), free(log), free(r1), free(r2);
}

Test(cli_report, errors_exit_3) {
  char *dir = cli_tmpdir();
  char *log = fca_xasprintf("%s/events.ndjson", dir);
  cli_proc_t p;
  cr_assert_eq(cli_run(&p, (char *[]){FCA_TEST_BINARY, "report", log, NULL}, NULL), 3);
  cr_assert(strstr(p.err, "cannot open"), "%s", p.err);
  cli_proc_free(&p);
  add(log, violation("run-1", "FC-COOP-1", "x"));
  cr_assert_eq(cli_run(&p, (char *[]){FCA_TEST_BINARY, "report", "--run", "nope", log, NULL}, NULL),
               3);
  cr_assert(strstr(p.err, "no event of run nope"), "%s", p.err);
  cli_proc_free(&p);
  cr_assert_eq(cli_run(&p, (char *[]){FCA_TEST_BINARY, "report", NULL}, NULL), 3);
  cli_proc_free(&p);
  char *bad = fca_xasprintf("%s/nodir/r.json", dir);
  cr_assert_eq(
      cli_run(&p, (char *[]){FCA_TEST_BINARY, "report", "--report-json", bad, log, NULL}, NULL), 3);
  cli_proc_free(&p);
  cli_rm_rf(dir);
  free(dir), free(log), free(bad);
}
