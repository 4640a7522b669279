/* rule_ref: FC-REF-1..4 on top-level pages. REF-2 (the checklist's `referer` spelling), REF-3
 * (the Stripe.js tag's referrerpolicy) and REF-4 (invalid header) fire as soon as seen; REF-1
 * waits for the end of the document, since a later <meta name=referrer> overrides the header.
 * A page sandboxed without allow-same-origin sends no Referer at all: FC-SBX-4, not REF-1. */
#include "engine.h"
#include "fcaudit/util.h"
#include "rules.h"

#include <stdlib.h>
#include <string.h>

static void ref1(fca_audit_t *a, fca_page_t *p) {
  if (p->csp_p.sandbox.sandboxed && !(p->csp_p.sandbox.allow & FCA_SBX_ALLOW_SAME_ORIGIN))
    return; /* opaque origin: judged by FC-SBX-4 */
  fca_refpol_t metas[FCA_PAGE_LIST_MAX];
  size_t nm = 0, last_meta = SIZE_MAX;
  for (size_t i = 0; i < p->nmetas; i++) {
    if (p->metas[i].referer_spelling) continue;
    metas[nm++] = p->metas[i].policy;
    if (p->metas[i].policy != FCA_REFPOL_NONE) last_meta = i;
  }
  fca_refpol_t eff = fca_referrer_effective(&p->refpol_p, metas, nm);
  if (fca_referrer_sends_cross_origin_referer(eff)) {
    if (!fca_rules_item_open(p, 2)) return;
    char *why = fca_xstrcat("referrer policy ", fca_referrer_name(eff), " (",
                            last_meta != SIZE_MAX                   ? "meta"
                            : p->refpol_p.policy != FCA_REFPOL_NONE ? "header"
                                                                    : "default",
                            ")", NULL);
    fca_rules_item_pass(p, 2, why);
    free(why);
    return;
  }
  if (last_meta != SIZE_MAX) {
    fca_rules_fire(a, p, FCA_RULE_REF_1, fca_referrer_name(eff), &p->metas[last_meta].content,
                   "meta", "meta[name=referrer]");
  } else {
    fca_page_ev_t ev = {0};
    const char *line = p->refpol_p.line < p->refpol.n ? p->refpol.v[p->refpol_p.line] : "";
    fca_page_ev_set(&ev, line, strlen(line), -1, NULL);
    fca_rules_fire(a, p, FCA_RULE_REF_1, fca_referrer_name(eff), &ev, "header", "Referrer-Policy");
    fca_page_ev_clear(&ev);
  }
}

void fca_rule_ref(fca_audit_t *a, fca_page_t *p) {
  if (!p->top_level) return;
  /* REF-4: an invalid header is ignored by browsers. */
  if (p->refpol_p.present && !p->refpol_p.header_valid) {
    size_t len = 0;
    for (size_t i = 0; i < p->refpol.n; i++) len += strlen(p->refpol.v[i]) + 2;
    char *joined = fca_xcalloc(1, len + 1);
    for (size_t i = 0; i < p->refpol.n; i++) {
      if (i) strcat(joined, ", ");
      strcat(joined, p->refpol.v[i]);
    }
    fca_page_ev_t ev = {0};
    fca_page_ev_set(&ev, joined, strlen(joined), -1, NULL);
    fca_rules_fire(a, p, FCA_RULE_REF_4, joined, &ev, "header", "Referrer-Policy");
    fca_page_ev_clear(&ev);
    free(joined);
  }
  /* REF-2: <meta name="referer"> with a value the checklist does not list. */
  for (size_t i = 0; i < p->nmetas; i++) {
    const fca_page_meta_t *m = &p->metas[i];
    if (!m->referer_spelling) continue;
    if (fca_referrer_checklist_value_ok(m->content.value, m->content.len)) continue;
    fca_rules_fire(a, p, FCA_RULE_REF_2, m->content.value, &m->content, "meta",
                   "meta[name=referer]");
  }
  /* REF-3: the Stripe.js <script> itself sends no Referer. */
  for (size_t i = 0; i < p->nscripts; i++) {
    const fca_page_script_t *s = &p->scripts[i];
    if (!s->has_refpol) continue;
    fca_refpol_t rp = fca_referrer_parse_attr(s->refpol.value, s->refpol.len);
    if (rp != FCA_REFPOL_NO_REFERRER && rp != FCA_REFPOL_SAME_ORIGIN) continue;
    fca_rules_fire(a, p, FCA_RULE_REF_3, s->refpol.value, &s->refpol, "script",
                   "script[referrerpolicy]");
  }
  if (p->doc_ended) ref1(a, p);
}
