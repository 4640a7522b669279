/* rules: the checklist rules applied to a page, and the events they produce. Evaluation is
 * idempotent: fca_rules_evaluate may run whenever new evidence arrives (tagging, a body element,
 * document end, a framing join) and fires each (rule, evidence) at most once per page; what it
 * cannot judge yet (referrer verdicts before the document ends, framing rules before the join)
 * it leaves for a later call. Levels come from the ruleset (ignore = nothing anywhere), repeats
 * across pages of one URL are deduplicated (reported once, counted always). Every function here
 * runs with the audit lock held and emits through the audit's callback. */
#ifndef FCAUDIT_RULES_H
#define FCAUDIT_RULES_H

#include "fcaudit/audit.h"
#include "fcaudit/ruleset.h"
#include "page.h"

#include <stdbool.h>

/* Announces a page that is tagged at the confidence asked for (`page` event, scorecard), then
 * evaluates it. No-op when already announced or not (yet) eligible. */
void fca_rules_announce(fca_audit_t *a, fca_page_t *p);
/* Applies every rule whose evidence is complete; then `pass` once the document has ended
 * without warning or error. No-op for a page that is not announced. */
void fca_rules_evaluate(fca_audit_t *a, fca_page_t *p);

/* One finding: `msg_value` fills the catalogue message's {value}; the evidence is what was
 * seen (source: header|meta|script|iframe|csp|request|body|api; name: header or tag/attr). */
void fca_rules_fire(fca_audit_t *a, fca_page_t *p, fca_rule_id_t rule, const char *msg_value,
                    const fca_page_ev_t *ev, const char *source, const char *name);
/* The same with the fix of this finding (NULL: the catalogue's) and, for a CSP directive, the
 * directive the fix writes ("script-src 'self' https://js.stripe.com"), which the stack-specific
 * fix renders in the words of the stack (NULL otherwise). */
void fca_rules_fire_fix(fca_audit_t *a, fca_page_t *p, fca_rule_id_t rule, const char *msg_value,
                        const fca_page_ev_t *ev, const char *source, const char *name,
                        const char *fix, const char *csp_directive);
/* Everything a finding may carry beyond the catalogue: its own message and fix (NULL: the
 * catalogue's), the CSP directive its fix writes (for the stack-specific wording), and a level
 * cap (report-only CSP findings stay info). */
typedef struct {
  const char *msg_value;
  const char *message; /* replaces the catalogue message when set */
  const char *fix;     /* replaces the catalogue fix when set */
  const char *csp_directive;
  const fca_page_ev_t *ev;
  const char *source, *name;
  fca_level_t max_level; /* FCA_LEVEL_IGNORE: no cap */
} fca_rules_finding_t;
void fca_rules_fire_finding(fca_audit_t *a, fca_page_t *p, fca_rule_id_t rule,
                            const fca_rules_finding_t *f);
/* A note (kind e.g. "audit-incomplete") about p (may be NULL), with a one-line reason. */
void fca_rules_note(fca_audit_t *a, fca_page_t *p, const char *client, const char *kind,
                    const char *reason);

/* A rule that would fire but for a header browsers ignore outside secure contexts (COOP,
 * COEP on plain HTTP): one `ignored-on-http` note per page and rule instead of the finding,
 * saying what breaks once the page is served over HTTPS. Nothing when the rule is ignored. */
void fca_rules_note_insecure(fca_audit_t *a, fca_page_t *p, fca_rule_id_t rule, const char *header,
                             const char *value, const char *where);
/* Is p a secure context: its own origin and every known ancestor's potentially trustworthy? */
bool fca_rules_secure_context(const fca_page_t *p);

/* Scorecard bookkeeping for the rule modules: item applies and passes so far, with why. */
void fca_rules_item_pass(fca_page_t *p, int item, const char *why);
/* Whether a pass would still be recorded on item (its card exists and nothing decided it yet):
 * rules evaluate several times per page, so a why built per evaluation is built only then. */
bool fca_rules_item_open(const fca_page_t *p, int item);

/* The rule modules (rule_*.c), each evaluating its rules on an announced page. */
void fca_rule_coop(fca_audit_t *a, fca_page_t *p); /* FC-COOP-1..4 */
void fca_rule_ref(fca_audit_t *a, fca_page_t *p);  /* FC-REF-1..4 */
void fca_rule_sbx(fca_audit_t *a, fca_page_t *p);  /* FC-SBX-1..5 */
void fca_rule_iso(fca_audit_t *a, fca_page_t *p);  /* FC-ISO-1 */
void fca_rule_test(fca_audit_t *a, fca_page_t *p); /* FC-TEST-1 */
void fca_rule_csp(fca_audit_t *a, fca_page_t *p);  /* FC-CSP-1..4 */

/* rule_csp.c: which hash algorithms the page's policies (headers, report-only, and its first
 * nmeta <meta> CSPs) name for `kind`, so inline code is hashed only when a policy could use it. */
void fca_rule_csp_hash_algs(const fca_page_t *p, fca_csp_kind_t kind, size_t nmeta, bool algs[3]);
/* The words of a CSP fix (one line). The generic form is "Use <directive> in this policy";
 * stack-specific wording (helmet, Django, ...) hooks in here, from the structured fix. */
char *fca_rule_csp_fix_text(const fca_page_t *p, const fca_csp_fix_t *fix, const char *why);

/* The top-level page above a framed page, following parent links; p itself when top-level;
 * NULL when a link is missing. */
fca_page_t *fca_rules_top_of(fca_page_t *p);

#endif
