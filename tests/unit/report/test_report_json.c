/* Tests for the JSON report: version, verdict, summary, pages with scorecards, findings once
 * with counts and fingerprints, notes; and that --baseline reads it back. */
#include <criterion/criterion.h>

#include "fcaudit/report_json.h"
#include "fcaudit/reports.h"
#include "report_fixture.h"

static json_t *by(json_t *arr, const char *key, const char *val) {
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) {
    if (json_is_string(json_object_get(v, key)) &&
        strcmp(json_string_value(json_object_get(v, key)), val) == 0)
      return v;
  }
  return NULL;
}

Test(report_json, structure) {
  fca_model_t *m = fx_model();
  json_t *r = fca_report_json(m);
  cr_assert_eq(json_integer_value(json_object_get(r, "report_version")), FCA_REPORT_VERSION);
  cr_assert_str_eq(json_string_value(json_object_get(r, "run")), FX_RUN_B);
  json_t *v = json_object_get(r, "verdict");
  cr_assert_str_eq(json_string_value(json_object_get(v, "result")), "fail");
  cr_assert_str_eq(json_string_value(json_object_get(v, "fail_on")), "error");
  cr_assert_eq(json_integer_value(json_object_get(v, "exit_code")), 1);
  cr_assert_eq(json_array_size(json_object_get(v, "reasons")), 1);

  json_t *s = json_object_get(r, "summary");
  cr_assert_eq(json_integer_value(json_object_get(s, "pages_seen")), 5);
  cr_assert_eq(json_integer_value(json_object_get(s, "pages_tagged")), 3);
  cr_assert_eq(json_integer_value(json_object_get(json_object_get(s, "findings"), "error")), 2);
  cr_assert_eq(json_integer_value(json_object_get(json_object_get(s, "occurrences"), "error")), 5);
  cr_assert_null(json_object_get(s, "warning"));
  cr_assert_not_null(json_object_get(s, "test_mode"), "FC-TEST-2 coverage is kept");
  json_t *coop = by(json_object_get(s, "by_rule"), "rule", "FC-COOP-1");
  cr_assert_eq(json_integer_value(json_object_get(coop, "findings")), 1);
  cr_assert_eq(json_integer_value(json_object_get(coop, "occurrences")), 2);

  json_t *pages = json_object_get(r, "pages");
  cr_assert_eq(json_array_size(pages), 3);
  json_t *co = json_array_get(pages, 0);
  cr_assert_str_eq(json_string_value(json_object_get(co, "url")),
                   "https://shop.test/checkout?session=1");
  cr_assert_str_eq(json_string_value(json_object_get(co, "result")), "fail");
  json_t *card = json_object_get(co, "scorecard");
  cr_assert_eq(json_array_size(card), 4);
  for (size_t i = 0; i < 4; i++) {
    json_t *it = json_array_get(card, i);
    cr_assert_eq(json_integer_value(json_object_get(it, "item")), (json_int_t)i + 1);
    cr_assert_not_null(json_string_value(json_object_get(it, "why")));
  }
  cr_assert_str_eq(json_string_value(json_object_get(json_array_get(card, 0), "status")), "fail");
  cr_assert_str_eq(json_string_value(json_object_get(json_array_get(card, 2), "status")), "n/a");
  cr_assert_str_eq(json_string_value(json_object_get(json_array_get(pages, 2), "result")), "pass");

  json_t *vs = json_object_get(r, "violations");
  cr_assert_eq(json_array_size(vs), 4);
  json_t *c1 = by(vs, "rule", "FC-COOP-1");
  cr_assert_eq(json_integer_value(json_object_get(c1, "count")), 2);
  cr_assert_eq(strlen(json_string_value(
                   json_object_get(json_object_get(c1, "fingerprints"), FCA_FINGERPRINT_KEY))),
               64);
  cr_assert(json_is_false(json_object_get(c1, "baseline")));
  cr_assert(json_is_true(json_object_get(c1, "fails_run")));
  cr_assert_str_eq(json_string_value(json_object_get(c1, "title")),
                   fca_rule_lookup("FC-COOP-1")->title);
  json_t *sbx = by(vs, "rule", "FC-SBX-1");
  cr_assert_eq(json_integer_value(json_object_get(json_object_get(sbx, "evidence"), "offset")),
               5120);
  cr_assert_eq(json_array_size(json_object_get(r, "notes")), 1);
  json_decref(r);
  fca_model_free(m);
}

Test(report_json, no_tagged_page_warns) {
  fca_model_t *m = fca_model_new(NULL);
  json_t *r = fca_report_json(m);
  json_t *s = json_object_get(r, "summary");
  cr_assert(strstr(json_string_value(json_object_get(s, "warning")), "no page loaded Stripe.js"));
  cr_assert(json_is_null(json_object_get(s, "pages_seen")));
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "verdict"), "result")),
                   "pass");
  json_decref(r);
  fca_model_free(m);
}

Test(report_json, written_file_is_a_baseline) {
  char dir[] = "/tmp/fca-rj-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char *path = fca_xasprintf("%s/r.json", dir);
  fca_model_t *m = fx_model();
  char err[256];
  cr_assert_eq(fca_reports_write_one(m, "json", path, err, sizeof err), 0, "%s", err);
  fca_model_free(m);
  m = fx_model();
  cr_assert_eq(fca_model_apply_baseline(m, path, err, sizeof err), 0, "%s", err);
  cr_assert_eq(fca_model_exit_code(m), 0, "every finding is known");
  fca_model_free(m);
  char *tmp = fca_xasprintf("%s.tmp", path);
  cr_assert_neq(access(tmp, F_OK), 0, "no temporary file left");
  unlink(path);
  rmdir(dir);
  free(tmp);
  free(path);
}

Test(report_json, ignored_rules_absent) {
  fca_config_t cfg;
  fca_config_init(&cfg);
  fca_strlist_add(&cfg.rule, "FC-SBX-1=ignore");
  fca_model_t *m = fx_model();
  char err[256];
  cr_assert_eq(fca_reports_prepare(m, &cfg, err, sizeof err), 0, "%s", err);
  json_t *r = fca_report_json(m);
  char *text = json_dumps(r, 0);
  cr_assert_null(strstr(text, "FC-SBX-1"));
  cr_assert_not_null(strstr(text, "FC-COOP-1"));
  free(text);
  json_decref(r);
  fca_model_free(m);
  fca_config_free(&cfg);
}

Test(report_json, prepare_rejects_bad_options) {
  fca_config_t cfg;
  fca_config_init(&cfg);
  cfg.baseline = fca_xstrdup("/nonexistent/report.json");
  fca_model_t *m = fx_model();
  char err[256];
  cr_assert_eq(fca_reports_prepare(m, &cfg, err, sizeof err), -1);
  cr_assert(strstr(err, "baseline"), "%s", err);
  fca_model_free(m);
  fca_config_free(&cfg);
}
