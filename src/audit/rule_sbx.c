/* rule_sbx: FC-SBX-1..5. The page's own enforced CSP sandbox (any tagged page: SBX-3/4/5), and
 * the sandbox attribute of every iframe on the way up to the top-level page (sandbox flags
 * are inherited by nested frames: SBX-1/2/4/5 per iframe, each naming the token it lacks).
 * Iframe evidence comes from the parent's HTML and carries the parent's URL. */
#include "engine.h"
#include "fcaudit/util.h"
#include "rules.h"

#include <stdlib.h>
#include <string.h>

static void csp_rules(fca_audit_t *a, fca_page_t *p) {
  const fca_csp_sandbox_t *c = &p->csp_p;
  if (!c->sandbox.sandboxed || c->recorded == 0) return;
  const fca_csp_sandbox_policy_t *pol = &c->policies[0];
  const char *line = pol->line < p->csp.n ? p->csp.v[pol->line] : "";
  fca_page_ev_t ev = {0};
  fca_page_ev_set(&ev, line, strlen(line), -1, NULL);
  uint32_t allow = c->sandbox.allow;
  char tokens[256];
  uint32_t popups = (FCA_SBX_ALLOW_POPUPS | FCA_SBX_ALLOW_POPUPS_TO_ESCAPE_SANDBOX) & ~allow;
  if (popups) {
    fca_sandbox_format(popups, tokens, sizeof tokens);
    fca_rules_fire(a, p, FCA_RULE_SBX_3, tokens, &ev, "csp", "Content-Security-Policy");
  }
  char *what = fca_xasprintf("CSP sandbox \"%.*s\"", (int)pol->val_len, line + pol->val_off);
  if (!(allow & FCA_SBX_ALLOW_SAME_ORIGIN))
    fca_rules_fire(a, p, FCA_RULE_SBX_4, what, &ev, "csp", "Content-Security-Policy");
  if (!(allow & FCA_SBX_ALLOW_SCRIPTS))
    fca_rules_fire(a, p, FCA_RULE_SBX_5, what, &ev, "csp", "Content-Security-Policy");
  free(what);
  fca_page_ev_clear(&ev);
}

static void iframe_rules(fca_audit_t *a, fca_page_t *p, const fca_page_t *parent,
                         const fca_page_iframe_t *f) {
  if (!f->sb.sandboxed) return;
  fca_page_ev_t ev = {0};
  fca_page_ev_set(&ev, f->sandbox.value, f->sandbox.len, f->offset, parent->url);
  fca_page_ev_set_tag(&ev, f->sandbox.tag, f->sandbox.tag_len);
  uint32_t missing = fca_sandbox_missing(f->sb, FCA_SBX_REQUIRED);
  /* the fix names only the popup tokens this iframe lacks */
  uint32_t popups = missing & (FCA_SBX_ALLOW_POPUPS | FCA_SBX_ALLOW_POPUPS_TO_ESCAPE_SANDBOX);
  char *fix = NULL;
  if (popups)
    fix = fca_xasprintf(
        "Add %s to the iframe's sandbox attribute",
        popups == FCA_SBX_ALLOW_POPUPS_TO_ESCAPE_SANDBOX ? "allow-popups-to-escape-sandbox"
        : popups == FCA_SBX_ALLOW_POPUPS                 ? "allow-popups"
                                         : "allow-popups and allow-popups-to-escape-sandbox");
  if (missing & FCA_SBX_ALLOW_POPUPS_TO_ESCAPE_SANDBOX)
    fca_rules_fire_fix(a, p, FCA_RULE_SBX_1, ev.value, &ev, "iframe", "iframe[sandbox]", fix, NULL);
  if (missing & FCA_SBX_ALLOW_POPUPS)
    fca_rules_fire_fix(a, p, FCA_RULE_SBX_2, ev.value, &ev, "iframe", "iframe[sandbox]", fix, NULL);
  free(fix);
  char *what = fca_xasprintf("iframe sandbox \"%s\"", ev.value);
  if (missing & FCA_SBX_ALLOW_SAME_ORIGIN)
    fca_rules_fire(a, p, FCA_RULE_SBX_4, what, &ev, "iframe", "iframe[sandbox]");
  if (missing & FCA_SBX_ALLOW_SCRIPTS)
    fca_rules_fire(a, p, FCA_RULE_SBX_5, what, &ev, "iframe", "iframe[sandbox]");
  free(what);
  fca_page_ev_clear(&ev);
}

void fca_rule_sbx(fca_audit_t *a, fca_page_t *p) {
  csp_rules(a, p);
  bool known = true, sandboxed = p->csp_p.sandbox.sandboxed;
  if (!p->top_level) {
    const fca_page_t *c = p;
    for (size_t hops = 0; c && !c->top_level && hops < 64; hops++) {
      const fca_page_t *parent = c->parent;
      if (!parent || c->parent_iframe >= parent->niframes) {
        known = false; /* no parent, or one guessed from the Referer (iframe made by script) */
        break;
      }
      const fca_page_iframe_t *f = &parent->iframes[c->parent_iframe];
      sandboxed |= f->sb.sandboxed;
      iframe_rules(a, p, parent, f);
      c = parent;
    }
  }
  if (!known) return; /* n/a unless something failed */
  if (sandboxed)
    fca_rules_item_pass(p, 3, "sandbox includes the tokens Financial Connections needs");
  else if (!p->top_level)
    fca_rules_item_pass(p, 3, "framed without a sandbox");
}
