/* Tests for the SARIF report: the structure SARIF 2.1.0 requires (and code-scanning tools read),
 * rule metadata from the catalogue, stable fingerprints across runs, baselineState, ignored
 * rules left out. */
#include <criterion/criterion.h>

#include "fcaudit/reports.h"
#include "report_fixture.h"
#include "sarif.h"

static const char *str(json_t *o, const char *path) {
  /* "a.b.c" through objects */
  char buf[128];
  snprintf(buf, sizeof buf, "%s", path);
  json_t *cur = o;
  for (char *tok = strtok(buf, "."); tok && cur; tok = strtok(NULL, "."))
    cur = json_object_get(cur, tok);
  return json_string_value(cur);
}

Test(sarif, required_structure) {
  fca_model_t *m = fx_model();
  json_t *log = fca_sarif_build(m);
  cr_assert_str_eq(str(log, "version"), "2.1.0");
  cr_assert_str_eq(str(log, "$schema"), FCA_SARIF_SCHEMA_URI);
  json_t *runs = json_object_get(log, "runs");
  cr_assert_eq(json_array_size(runs), 1);
  json_t *run = json_array_get(runs, 0);
  cr_assert_str_eq(str(run, "tool.driver.name"), "fcaudit");
  json_t *rules = json_object_get(json_object_get(json_object_get(run, "tool"), "driver"), "rules");
  cr_assert_eq(json_array_size(rules), fca_rule_count());
  size_t i;
  json_t *r;
  json_array_foreach(rules, i, r) {
    const fca_rule_info_t *ri = fca_rule_lookup(str(r, "id"));
    cr_assert_not_null(ri);
    cr_assert_str_eq(str(r, "name"), ri->title);
    cr_assert_str_eq(str(r, "shortDescription.text"), ri->title);
    cr_assert_not_null(str(r, "fullDescription.text"));
    cr_assert(strstr(str(r, "help.text"), ri->fix));
    cr_assert_str_eq(str(r, "helpUri"), ri->doc);
    const char *lv = str(r, "defaultConfiguration.level");
    cr_assert(!strcmp(lv, "error") || !strcmp(lv, "warning") || !strcmp(lv, "note"), "%s", lv);
  }
  json_t *results = json_object_get(run, "results");
  cr_assert_eq(json_array_size(results), 4);
  json_array_foreach(results, i, r) {
    json_int_t idx = json_integer_value(json_object_get(r, "ruleIndex"));
    cr_assert_str_eq(str(json_array_get(rules, (size_t)idx), "id"), str(r, "ruleId"));
    cr_assert_not_null(str(r, "message.text"));
    json_t *loc = json_array_get(json_object_get(r, "locations"), 0);
    cr_assert(strncmp(str(loc, "physicalLocation.artifactLocation.uri"), "https://", 8) == 0);
    cr_assert_eq(strlen(str(json_object_get(r, "partialFingerprints"), FCA_FINGERPRINT_KEY)), 64);
    cr_assert_geq(json_integer_value(json_object_get(r, "occurrenceCount")), 1);
    cr_assert_null(json_object_get(r, "baselineState"), "no baseline given");
  }
  json_t *first = json_array_get(results, 0);
  cr_assert_str_eq(str(first, "ruleId"), "FC-COOP-1");
  cr_assert_str_eq(str(first, "level"), "error");
  cr_assert_eq(json_integer_value(json_object_get(first, "occurrenceCount")), 2);
  /* SBX-1's evidence is in the parent: it is a related location, not a region of the frame. */
  json_t *sbx = json_array_get(results, 2);
  cr_assert_str_eq(str(sbx, "ruleId"), "FC-SBX-1");
  cr_assert_not_null(json_object_get(sbx, "relatedLocations"));
  json_t *info = json_array_get(results, 1);
  cr_assert_str_eq(str(info, "level"), "note");
  json_decref(log);
  fca_model_free(m);
}

Test(sarif, region_from_body_offset) {
  const char line[] =
      "{\"run\":\"r\",\"type\":\"violation\",\"rule\":\"FC-REF-1\",\"level\":\"error\",\"item\":2,"
      "\"message\":\"m\",\"page\":{\"url\":\"https://s.test/\",\"top_level\":true,\"tagged_by\":"
      "\"script-tag\",\"confidence\":\"high\"},\"evidence\":{\"source\":\"meta\",\"name\":\"meta["
      "name=referrer]\",\"value\":\"<meta name=referrer content=no-referrer>\",\"offset\":42}}\n";
  fca_model_t *m = fx_model_run(line, NULL);
  json_t *log = fca_sarif_build(m);
  json_t *res = json_array_get(
      json_object_get(json_array_get(json_object_get(log, "runs"), 0), "results"), 0);
  json_t *region = json_object_get(
      json_object_get(json_array_get(json_object_get(res, "locations"), 0), "physicalLocation"),
      "region");
  cr_assert_eq(json_integer_value(json_object_get(region, "byteOffset")), 42);
  cr_assert_eq(json_integer_value(json_object_get(region, "byteLength")), 40);
  json_decref(log);
  fca_model_free(m);
}

static char *fingerprint_of(const char *log, const char *rule) {
  fca_model_t *m = fx_model_run(log, NULL);
  json_t *sl = fca_sarif_build(m);
  json_t *results = json_object_get(json_array_get(json_object_get(sl, "runs"), 0), "results");
  char *out = NULL;
  size_t i;
  json_t *r;
  json_array_foreach(results, i, r) {
    if (strcmp(str(r, "ruleId"), rule) == 0)
      out = fca_xstrdup(str(json_object_get(r, "partialFingerprints"), FCA_FINGERPRINT_KEY));
  }
  json_decref(sl);
  fca_model_free(m);
  return out;
}

Test(sarif, fingerprints_stable_across_runs) {
  /* Another run: another run id, other times, another query string, another page id. */
  const char other[] =
      "{\"run\":\"another\",\"ts\":\"2027-01-01T00:00:00.000Z\",\"type\":\"violation\",\"rule\":"
      "\"FC-COOP-1\",\"level\":\"error\",\"item\":1,\"message\":\"changed wording\",\"page\":{"
      "\"id\":99,\"url\":\"https://shop.test/checkout?session=2\",\"top_level\":true,"
      "\"tagged_by\":\"script-request\",\"confidence\":\"medium\"},\"evidence\":{\"source\":"
      "\"header\",\"name\":\"Cross-Origin-Opener-Policy\",\"value\":\"same-origin\"}}\n";
  char *a = fingerprint_of(FX_LOG, "FC-COOP-1"), *b = fingerprint_of(other, "FC-COOP-1");
  cr_assert_str_eq(a, b);
  free(b);
  const char changed[] =
      "{\"run\":\"x\",\"type\":\"violation\",\"rule\":\"FC-COOP-1\",\"level\":\"error\",\"page\":{"
      "\"url\":\"https://shop.test/checkout\",\"top_level\":true,\"tagged_by\":\"script-tag\"},"
      "\"evidence\":{\"source\":\"header\",\"name\":\"Cross-Origin-Opener-Policy\",\"value\":"
      "\"same-origin; report-to=x\"}}\n";
  b = fingerprint_of(changed, "FC-COOP-1");
  cr_assert_str_neq(a, b, "other evidence, other finding");
  free(a);
  free(b);
}

Test(sarif, baseline_state_and_ignored_rules) {
  fca_model_t *m = fx_model();
  m->have_baseline = true;
  m->findings[0].baseline = true;
  fca_config_t cfg;
  fca_config_init(&cfg);
  fca_strlist_add(&cfg.rule, "FC-ISO-1=ignore");
  char err[256];
  cr_assert_eq(fca_reports_prepare(m, &cfg, err, sizeof err), 0, "%s", err);
  json_t *log = fca_sarif_build(m);
  char *text = json_dumps(log, 0);
  cr_assert_null(strstr(text, "FC-ISO-1"), "an ignored rule appears nowhere");
  json_t *results = json_object_get(json_array_get(json_object_get(log, "runs"), 0), "results");
  cr_assert_eq(json_array_size(results), 3);
  cr_assert_str_eq(str(json_array_get(results, 0), "baselineState"), "unchanged");
  cr_assert_str_eq(str(json_array_get(results, 1), "baselineState"), "new");
  free(text);
  json_decref(log);
  fca_model_free(m);
  fca_config_free(&cfg);
}
