/* audit_config: the audit engine and its rule levels as the options ask for them (--rules,
 * --rule, --max-audit-bytes, --correlation-window, --min-confidence, --env, --no-dedup), made
 * in one place for every command that audits: the proxy (live) and `fcaudit audit` (HAR). */
#ifndef FCAUDIT_AUDIT_CONFIG_H
#define FCAUDIT_AUDIT_CONFIG_H

#include <stddef.h>

#include "fcaudit/audit.h"
#include "fcaudit/config.h"
#include "fcaudit/ruleset.h"

/* Loads the rule levels into *rules (owned by the caller, to free after the audit) and makes
 * the engine emitting to emit(ud, ...). NULL with err (bad rules file or --rule). */
fca_audit_t *fca_audit_from_config(const fca_config_t *cfg, fca_event_fn emit, void *ud,
                                   fca_ruleset_t **rules, char *err, size_t errlen);

#endif
