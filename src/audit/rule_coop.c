/* rule_coop: FC-COOP-1..3 on top-level pages (COOP is ignored in frames), FC-COOP-4 on framed
 * pages through their top-level page, which the registry keeps whether it is tagged or not. */
#include "engine.h"
#include "fcaudit/util.h"
#include "rules.h"

#include <stdlib.h>
#include <string.h>

/* The evidence for a COOP verdict: the single header line (a valid COOP has exactly one). */
static void line_ev(const fca_page_lines_t *l, const char *url, fca_page_ev_t *ev) {
  memset(ev, 0, sizeof *ev);
  const char *v = l->n ? l->v[0] : "";
  fca_page_ev_set(ev, v, strlen(v), -1, url);
}

static char *coop_why(const fca_page_t *p, const char *prefix) {
  if (!p->coop_p.present)
    return fca_xasprintf("%sno Cross-Origin-Opener-Policy (unsafe-none)", prefix);
  if (!p->coop_p.valid)
    return fca_xasprintf("%sCross-Origin-Opener-Policy invalid, ignored by browsers (unsafe-none)",
                         prefix);
  if (p->coop_p.value == FCA_COOP_OTHER)
    return fca_xasprintf("%sCross-Origin-Opener-Policy unknown value, ignored (unsafe-none)",
                         prefix);
  return fca_xasprintf("%sCross-Origin-Opener-Policy %s", prefix,
                       fca_coop_name(fca_coop_effective(&p->coop_p)));
}

void fca_rule_coop(fca_audit_t *a, fca_page_t *p) {
  fca_page_ev_t ev;
  if (p->top_level) {
    fca_coop_value_t v = fca_coop_effective(&p->coop_p);
    if (v == FCA_COOP_SAME_ORIGIN || v == FCA_COOP_NOOPENER_ALLOW_POPUPS) {
      line_ev(&p->coop, NULL, &ev);
      fca_rules_fire(a, p, v == FCA_COOP_SAME_ORIGIN ? FCA_RULE_COOP_1 : FCA_RULE_COOP_2, ev.value,
                     &ev, "header", "Cross-Origin-Opener-Policy");
      fca_page_ev_clear(&ev);
    }
    if (fca_coop_effective(&p->coop_ro_p) == FCA_COOP_SAME_ORIGIN) {
      line_ev(&p->coop_ro, NULL, &ev);
      fca_rules_fire(a, p, FCA_RULE_COOP_3, ev.value, &ev, "header",
                     "Cross-Origin-Opener-Policy-Report-Only");
      fca_page_ev_clear(&ev);
    }
    char *why = coop_why(p, "");
    fca_rules_item_pass(p, 1, why);
    free(why);
    return;
  }
  fca_page_t *top = fca_rules_top_of(p);
  if (!top) return; /* not known yet: a later join re-evaluates */
  if (fca_coop_effective(&top->coop_p) == FCA_COOP_SAME_ORIGIN) {
    line_ev(&top->coop, top->url, &ev);
    fca_rules_fire(a, p, FCA_RULE_COOP_4, top->dedup_url, &ev, "header",
                   "Cross-Origin-Opener-Policy");
    fca_page_ev_clear(&ev);
  }
  char *why = coop_why(top, "top-level page: ");
  fca_rules_item_pass(p, 1, why);
  free(why);
}
