/* rule_coop: FC-COOP-1..3 on top-level pages (COOP is ignored in frames), FC-COOP-4 on framed
 * pages through their top-level page, which the registry keeps whether it is tagged or not. On
 * plain HTTP (not a secure context) browsers ignore COOP: an `ignored-on-http` note instead. */
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

/* Why item 1 passes: what the checklist allows, said as such (no COOP is fine, not a risk). */
static char *coop_why(const fca_page_t *p, const char *prefix) {
  const char *ok = ", which the checklist allows";
  if (!p->coop_p.present)
    return fca_xstrcat(prefix, "no Cross-Origin-Opener-Policy header (unsafe-none)", ok, NULL);
  if (!p->coop_p.valid)
    return fca_xstrcat(prefix, "Cross-Origin-Opener-Policy invalid, so browsers apply unsafe-none",
                       ok, NULL);
  if (p->coop_p.value == FCA_COOP_OTHER)
    return fca_xstrcat(prefix,
                       "Cross-Origin-Opener-Policy unknown value, so browsers apply unsafe-none",
                       ok, NULL);
  return fca_xstrcat(prefix, "Cross-Origin-Opener-Policy ",
                     fca_coop_name(fca_coop_effective(&p->coop_p)), ok, NULL);
}

/* Item 1 passes for the reason coop_why gives (built only while the item is undecided). */
static void coop_pass(fca_page_t *p, const fca_page_t *of, const char *prefix) {
  if (!fca_rules_item_open(p, 1)) return;
  char *why = coop_why(of, prefix);
  fca_rules_item_pass(p, 1, why);
  free(why);
}

/* A top-level page on plain HTTP: browsers ignore its COOP headers (not a secure context). What
 * would fire becomes an `ignored-on-http` note, and item 1 says why it passes for now. */
static void insecure_top(fca_audit_t *a, fca_page_t *p) {
  fca_coop_value_t v = fca_coop_effective(&p->coop_p);
  const char *line = p->coop.n ? p->coop.v[0] : "";
  if (v == FCA_COOP_SAME_ORIGIN || v == FCA_COOP_NOOPENER_ALLOW_POPUPS)
    fca_rules_note_insecure(a, p, v == FCA_COOP_SAME_ORIGIN ? FCA_RULE_COOP_1 : FCA_RULE_COOP_2,
                            "Cross-Origin-Opener-Policy", line, p->origin);
  if (fca_coop_effective(&p->coop_ro_p) == FCA_COOP_SAME_ORIGIN)
    fca_rules_note_insecure(a, p, FCA_RULE_COOP_3, "Cross-Origin-Opener-Policy-Report-Only",
                            p->coop_ro.n ? p->coop_ro.v[0] : "", p->origin);
  if (v != FCA_COOP_SAME_ORIGIN && v != FCA_COOP_NOOPENER_ALLOW_POPUPS) {
    coop_pass(p, p, "plain HTTP, COOP ignored: ");
    return;
  }
  if (!fca_rules_item_open(p, 1)) return;
  char *why = fca_xstrcat("Cross-Origin-Opener-Policy ", fca_coop_name(v),
                          " ignored on plain HTTP (unsafe-none); it breaks the bank popup once the "
                          "page is served over HTTPS (",
                          v == FCA_COOP_SAME_ORIGIN ? "FC-COOP-1" : "FC-COOP-2", ")", NULL);
  fca_rules_item_pass(p, 1, why);
  free(why);
}

void fca_rule_coop(fca_audit_t *a, fca_page_t *p) {
  fca_page_ev_t ev;
  if (p->top_level && !p->secure) {
    insecure_top(a, p);
    return;
  }
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
    coop_pass(p, p, "");
    return;
  }
  fca_page_t *top = fca_rules_top_of(p);
  if (!top) return;   /* not known yet: a later join re-evaluates */
  if (!top->secure) { /* the top-level page's COOP is ignored on plain HTTP */
    if (fca_coop_effective(&top->coop_p) == FCA_COOP_SAME_ORIGIN) {
      fca_rules_note_insecure(a, p, FCA_RULE_COOP_4,
                              "the top-level page's Cross-Origin-Opener-Policy",
                              top->coop.n ? top->coop.v[0] : "", top->origin);
      fca_rules_item_pass(p, 1,
                          "top-level page: Cross-Origin-Opener-Policy same-origin ignored on "
                          "plain HTTP (unsafe-none); it breaks the bank popup once the page is "
                          "served over HTTPS (FC-COOP-4)");
    } else {
      coop_pass(p, top, "top-level page (plain HTTP, COOP ignored): ");
    }
    return;
  }
  if (fca_coop_effective(&top->coop_p) == FCA_COOP_SAME_ORIGIN) {
    line_ev(&top->coop, top->url, &ev);
    fca_rules_fire(a, p, FCA_RULE_COOP_4, top->dedup_url, &ev, "header",
                   "Cross-Origin-Opener-Policy");
    fca_page_ev_clear(&ev);
  }
  coop_pass(p, top, "top-level page: ");
}
