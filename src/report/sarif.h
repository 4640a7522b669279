/* sarif: the SARIF 2.1.0 report for code-scanning dashboards: rule metadata from the catalogue
 * (id, name, help text, help URI, default level), one result per finding with its page URL as
 * location and a stable fingerprint (rule + page URL without query + evidence) under
 * partialFingerprints, and baselineState when a baseline was given. */
#ifndef FCAUDIT_SARIF_H
#define FCAUDIT_SARIF_H

#include <jansson.h>

#include "fcaudit/model.h"

#define FCA_SARIF_SCHEMA_URI "https://json.schemastore.org/sarif-2.1.0.json"

/* A new SARIF log object (caller owns it). */
json_t *fca_sarif_build(fca_model_t *m);

#endif
