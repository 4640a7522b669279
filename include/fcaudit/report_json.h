/* report_json: the JSON report (format in docs/report.md, versioned by "report_version"): the
 * verdict, the summary, every tagged page with its scorecard, every finding once with its count
 * and fingerprint, the notes. `--baseline` reads this format back. */
#ifndef FCAUDIT_REPORT_JSON_H
#define FCAUDIT_REPORT_JSON_H

#include <jansson.h>

#include "fcaudit/model.h"

/* A new JSON object (caller owns it). Finalizes the model's scorecards. */
json_t *fca_report_json(fca_model_t *m);

#endif
