/* rule_iso: FC-ISO-1, beyond the checklist: COEP require-corp or credentialless blocks Stripe's
 * cross-origin iframes (whatever the COOP), on any tagged page that is a secure context (on plain
 * HTTP browsers ignore COEP: an `ignored-on-http` note instead). */
#include "engine.h"
#include "rules.h"

#include <string.h>

void fca_rule_iso(fca_audit_t *a, fca_page_t *p) {
  fca_coep_value_t v = p->coep_p.value;
  if (v != FCA_COEP_REQUIRE_CORP && v != FCA_COEP_CREDENTIALLESS) return;
  const char *line = p->coep.n ? p->coep.v[0] : "";
  if (!fca_rules_secure_context(p)) { /* COEP is ignored outside secure contexts */
    fca_rules_note_insecure(a, p, FCA_RULE_ISO_1, "Cross-Origin-Embedder-Policy", line, p->origin);
    return;
  }
  fca_page_ev_t ev = {0};
  fca_page_ev_set(&ev, line, strlen(line), -1, NULL);
  fca_rules_fire(a, p, FCA_RULE_ISO_1, fca_coep_name(v), &ev, "header",
                 "Cross-Origin-Embedder-Policy");
  fca_page_ev_clear(&ev);
}
