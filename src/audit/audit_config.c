/* audit_config: options -> ruleset + engine, shared by the proxy and `fcaudit audit` so an
 * offline audit applies the same rules, levels and limits as a live one. */
#include "fcaudit/audit_config.h"

#include "fcaudit/util.h"

#include <stdio.h>
#include <string.h>

fca_audit_t *fca_audit_from_config(const fca_config_t *cfg, fca_event_fn emit, void *ud,
                                   fca_ruleset_t **rules, char *err, size_t errlen) {
  *rules = fca_ruleset_new();
  if (cfg->rules_file && fca_ruleset_load_file(*rules, cfg->rules_file, err, errlen) < 0)
    return NULL;
  for (size_t i = 0; i < cfg->rule.n; i++)
    if (fca_ruleset_apply_cli(*rules, cfg->rule.items[i], err, errlen) < 0) return NULL;
  fca_audit_opts_t o = {
      .emit = emit,
      .emit_ud = ud,
      .rules = *rules,
      .max_audit_bytes = cfg->max_audit_bytes,
      .correlation_window_ms = cfg->correlation_window_ms,
      .min_confidence_high = cfg->min_confidence && strcmp(cfg->min_confidence, "high") == 0,
      .env = cfg->env ? cfg->env : "staging",
      .dedup = !cfg->no_dedup,
      .registry_max_pages = 1024,
      .registry_max_age_ms = 30 * 60 * 1000,
  };
  fca_audit_t *a = fca_audit_new(&o);
  if (!a) fca_seterr(err, errlen, "cannot start the audit engine");
  return a;
}
