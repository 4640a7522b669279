/* reports: the end of a run, shared by `fcaudit run`, the plain proxy at exit and `fcaudit
 * report`: apply the options (policy, baseline, ignored rules) to a model, write every report
 * the configuration asks for, and map the outcome to an exit status. */
#ifndef FCAUDIT_REPORTS_H
#define FCAUDIT_REPORTS_H

#include <stddef.h>

#include "fcaudit/config.h"
#include "fcaudit/exit.h"
#include "fcaudit/model.h"

/* Policy from --fail-on/--require-tagged, rules set to ignore by --rule ID=ignore and
 * --rules-file (lines without a URL glob), and the --baseline file. Idempotent. Returns 0, or -1
 * with err (unreadable baseline or rules file). */
int fca_reports_prepare(fca_model_t *m, const fca_config_t *cfg, char *err, size_t errlen);

/* Prepares the model (as above) and writes --report-json, --junit, --sarif and --report-html
 * (each to FILE.tmp, then renamed, so a reader never sees half a report). Problems are printed
 * on stderr. Returns 0, or -1 when a report could not be written (exit status 3). */
int fca_reports_write_all(fca_model_t *m, const fca_config_t *cfg);

/* Writes one report to path atomically; kind: "json", "junit", "sarif", "html". */
int fca_reports_write_one(fca_model_t *m, const char *kind, const char *path, char *err,
                          size_t errlen);

#endif
