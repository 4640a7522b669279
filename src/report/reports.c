/* reports: applies the run's options to a model and writes the reports the configuration names.
 * Each report is written to FILE.tmp and renamed over FILE, so a CI step that picks reports up
 * never reads half of one, and an earlier report survives a failed write. */
#include "fcaudit/reports.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fcaudit/report_json.h"
#include "fcaudit/ruleset.h"
#include "fcaudit/util.h"
#include "junit.h"
#include "report_html.h"
#include "sarif.h"

int fca_reports_prepare(fca_model_t *m, const fca_config_t *cfg, char *err, size_t errlen) {
  fca_model_policy_t pol = {FCA_LEVEL_ERROR, cfg->require_tagged};
  if (cfg->fail_on && fca_model_parse_fail_on(cfg->fail_on, &pol.fail_on) < 0) {
    fca_seterr(err, errlen, "--fail-on: unknown level '%s'", cfg->fail_on);
    return -1;
  }
  fca_model_set_policy(m, &pol);
  /* Rules set to ignore for every page leave no trace in any report. */
  if (cfg->rules_file || cfg->rule.n) {
    fca_ruleset_t *rs = fca_ruleset_new();
    if (cfg->rules_file && fca_ruleset_load_file(rs, cfg->rules_file, err, errlen) < 0) {
      fca_ruleset_free(rs);
      return -1;
    }
    for (size_t i = 0; i < cfg->rule.n; i++) {
      if (fca_ruleset_apply_cli(rs, cfg->rule.items[i], err, errlen) < 0) {
        fca_ruleset_free(rs);
        return -1;
      }
    }
    for (size_t r = 0; r < fca_rule_count(); r++)
      if (fca_ruleset_level_of(rs, (fca_rule_id_t)r, NULL) == FCA_LEVEL_IGNORE)
        fca_model_ignore_rule(m, fca_rule_get((fca_rule_id_t)r)->id);
    fca_ruleset_free(rs);
  }
  /* Applied again at the end: a live run's findings arrive after the check at start. */
  if (cfg->baseline) return fca_model_apply_baseline(m, cfg->baseline, err, errlen);
  return 0;
}

static int write_json_doc(json_t *doc, FILE *f) {
  int rc = json_dumpf(doc, f, JSON_INDENT(2));
  fputc('\n', f);
  json_decref(doc);
  return rc;
}

int fca_reports_write_one(fca_model_t *m, const char *kind, const char *path, char *err,
                          size_t errlen) {
  char *tmp = fca_xasprintf("%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) {
    fca_seterr(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
    free(tmp);
    return -1;
  }
  int rc;
  if (strcmp(kind, "json") == 0)
    rc = write_json_doc(fca_report_json(m), f);
  else if (strcmp(kind, "sarif") == 0)
    rc = write_json_doc(fca_sarif_build(m), f);
  else if (strcmp(kind, "junit") == 0)
    rc = fca_junit_write(m, f);
  else
    rc = fca_report_html_write(m, f);
  int saved = errno;
  if (fclose(f) != 0 && rc == 0) rc = -1, saved = errno;
  if (rc == 0 && rename(tmp, path) != 0) rc = -1, saved = errno;
  if (rc != 0) {
    fca_seterr(err, errlen, "cannot write %s: %s", path, strerror(saved));
    unlink(tmp);
  }
  free(tmp);
  return rc;
}

int fca_reports_write_all(fca_model_t *m, const fca_config_t *cfg) {
  char err[512];
  if (fca_reports_prepare(m, cfg, err, sizeof err) < 0) {
    fca_err("%s", err);
    return -1;
  }
  const struct {
    const char *kind, *path;
  } out[] = {{"json", cfg->report_json},
             {"junit", cfg->junit},
             {"sarif", cfg->sarif},
             {"html", cfg->report_html}};
  int rc = 0;
  for (size_t i = 0; i < sizeof out / sizeof out[0]; i++) {
    if (!out[i].path) continue;
    if (fca_reports_write_one(m, out[i].kind, out[i].path, err, sizeof err) < 0) {
      fca_err("%s", err);
      rc = -1;
    } else {
      fca_info("wrote the %s report to %s", out[i].kind, out[i].path);
    }
  }
  return rc;
}
