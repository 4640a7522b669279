/* rule_csp: FC-CSP-1..4, what an enforced Content-Security-Policy lets Stripe do on a tagged
 * page. Every enforced policy counts (each header line, each comma-separated policy in it, and
 * each <meta> CSP for the elements after it); one that blocks fires with its own evidence (the
 * header line or the meta tag) and names the directive that decided. Report-only policies
 * block nothing: the same checks fire at most at info, marked "report-only". Checks are
 * monotone (a later policy can only block more), so evaluating early is never wrong. */
#include "engine.h"
#include "fcaudit/util.h"
#include "rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POLICIES_MAX 64

/* What a page's dynamic loader inserts (the npm loader, or a script that adds the tag). */
#define STRIPE_JS_DYNAMIC "https://js.stripe.com/v3/"
/* Where Financial Connections' frame and Stripe.js's API calls go. */
#define STRIPE_FRAME "https://js.stripe.com/v3/linked-accounts-inner.html"
#define STRIPE_API "https://api.stripe.com/v1/link_account_sessions"

typedef struct {
  fca_policy_str_t pol;
  bool report_only;
  const char *line;               /* header: the line as sent */
  const fca_page_cspmeta_t *meta; /* meta: the tag */
} policy_t;

/* Header policies (enforced, then report-only), then those of the first nmeta <meta> CSPs. The
 * HTML standard parses a meta's content as one policy, but Chromium splits it on commas like a
 * header (a meta "script-src 'none', script-src 'self'" blocks same-origin scripts there), and
 * the browser is what decides. */
static size_t policies(const fca_page_t *p, size_t nmeta, policy_t *out) {
  size_t n = 0;
  const fca_page_lines_t *sets[2] = {&p->csp, &p->csp_ro};
  for (int ro = 0; ro < 2; ro++)
    for (size_t l = 0; l < sets[ro]->n; l++) {
      const char *line = sets[ro]->v[l];
      fca_policy_str_t list = {line, strlen(line)}, pol;
      size_t pos = 0;
      while (n < POLICIES_MAX && fca_csp_next_policy(list, &pos, &pol))
        out[n++] = (policy_t){pol, ro == 1, line, NULL};
    }
  for (size_t i = 0; i < nmeta && i < p->ncspmetas; i++) {
    const fca_page_cspmeta_t *m = &p->cspmetas[i];
    fca_policy_str_t list = {m->content.value, m->content.len}, pol;
    size_t pos = 0;
    while (n < POLICIES_MAX && fca_csp_next_policy(list, &pos, &pol))
      out[n++] = (policy_t){pol, false, NULL, m};
  }
  return n;
}

void fca_rule_csp_hash_algs(const fca_page_t *p, fca_csp_kind_t kind, size_t nmeta, bool algs[3]) {
  policy_t pols[POLICIES_MAX];
  size_t n = policies(p, nmeta, pols);
  for (size_t i = 0; i < n; i++) fca_csp_hash_algs(pols[i].pol, kind, algs);
}

char *fca_rule_csp_fix_text(const fca_page_t *p, const fca_csp_fix_t *fix, const char *why) {
  (void)p; /* stack-specific wording (from p's response headers) plugs in here */
  char *dir = fca_csp_fix_directive(fix);
  char *s = fca_xasprintf("%s%s%s \"%s\" in this policy (its own sources kept)", why ? why : "",
                          why ? ": " : "", fix->existing ? "Use" : "Add", dir);
  free(dir);
  return s;
}

/* "script-src 'self'" (capped), and why it governs ("used because the policy has no
 * script-src-elem"). */
static char *directive_text(const fca_csp_verdict_t *v, fca_csp_kind_t kind) {
  const char *const *list = fca_csp_fallback(kind);
  int vn = (int)(v->directive.value.n > 200 ? 200 : v->directive.value.n);
  const char *ell = v->directive.value.n > 200 ? "..." : "";
  if (v->fallback_index == 0)
    return fca_xasprintf("%s %.*s%s", v->directive_name, vn, v->directive.value.s, ell);
  char missing[80] = "";
  for (int i = 0; i < v->fallback_index; i++)
    snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s%s", i ? " or " : "",
             list[i]);
  return fca_xasprintf("%s %.*s%s (used because the policy has no %s)", v->directive_name, vn,
                       v->directive.value.s, ell, missing);
}

static void fire(fca_audit_t *a, fca_page_t *p, fca_rule_id_t rule, const policy_t *pol,
                 const char *value, const char *fix, const char *directive) {
  fca_page_ev_t ev = {0};
  const char *source = "csp", *name = "Content-Security-Policy";
  if (pol->meta) {
    const fca_page_ev_t *c = &pol->meta->content;
    fca_page_ev_set(&ev, c->value, c->len, c->offset, NULL);
    fca_page_ev_set_tag(&ev, c->tag, c->tag_len);
    source = "meta";
    name = "meta[http-equiv=Content-Security-Policy]";
  } else {
    fca_page_ev_set(&ev, pol->line, strlen(pol->line), -1, NULL);
    if (pol->report_only) name = "Content-Security-Policy-Report-Only";
  }
  fca_rules_finding_t f = {.msg_value = value,
                           .fix = fix,
                           .csp_directive = directive,
                           .ev = &ev,
                           .source = source,
                           .name = name};
  char *msg = NULL;
  if (pol->report_only) {
    char *m = fca_rule_message(fca_rule_get(rule), value);
    msg = fca_xasprintf("Report-only (nothing is blocked yet; this breaks once enforced): %s", m);
    free(m);
    f.message = msg;
    f.max_level = FCA_LEVEL_INFO;
  }
  fca_rules_fire_finding(a, p, rule, &f);
  free(msg);
  fca_page_ev_clear(&ev);
}

/* FC-CSP-1, FC-CSP-2, FC-CSP-3: a URL load checked against each policy. */
static void check_load(fca_audit_t *a, fca_page_t *p, fca_rule_id_t rule,
                       const fca_csp_request_t *req, size_t nmeta, const char *what) {
  policy_t pols[POLICIES_MAX];
  size_t n = policies(p, nmeta, pols);
  for (size_t i = 0; i < n; i++) {
    fca_csp_verdict_t v;
    fca_csp_check(pols[i].pol, req, p->url, &v);
    if (v.result != FCA_CSP_BLOCKED) continue;
    char *dir = directive_text(&v, req->kind);
    const char *reason = "no source in it matches";
    char *fix = NULL, *directive = NULL;
    if (v.why == FCA_CSP_WHY_STRICT_DYNAMIC) {
      reason = "it has 'strict-dynamic', which ignores host and scheme sources, and this "
               "<script> from the HTML has no matching nonce or hash";
      fix = fca_xstrdup("Give the Stripe.js <script> the nonce the policy lists (nonce=\"...\", "
                        "new for each response), or insert Stripe.js from an allowed script "
                        "(e.g. @stripe/stripe-js): 'strict-dynamic' trusts scripts that allowed "
                        "scripts create");
    } else {
      fca_csp_fix_t fx;
      fca_csp_fix_build(pols[i].pol, req->kind, fca_csp_stripe_sources(req->kind), &fx);
      fix = fca_rule_csp_fix_text(p, &fx, NULL);
      directive = fca_csp_fix_directive(&fx);
    }
    char *value = fca_xasprintf("%s does not allow %s (%s)", dir, what, reason);
    fire(a, p, rule, &pols[i], value, fix, directive);
    free(directive);
    free(value);
    free(fix);
    free(dir);
  }
}

static void rule_stripejs(fca_audit_t *a, fca_page_t *p) {
  for (size_t i = 0; i < p->nscripts; i++) {
    const fca_page_script_t *s = &p->scripts[i];
    if (!s->url) continue;
    fca_csp_request_t req = {.kind = FCA_CSP_SCRIPT_ELEM,
                             .url = s->url,
                             .parser_inserted = true,
                             .nonceable = s->nonce != NULL};
    if (s->nonce) req.nonce = (fca_policy_str_t){s->nonce, strlen(s->nonce)};
    if (s->integrity) req.integrity = (fca_policy_str_t){s->integrity, strlen(s->integrity)};
    char *what = fca_xasprintf("the Stripe.js <script src> %s", s->url);
    check_load(a, p, FCA_RULE_CSP_1, &req, s->nmeta, what);
    free(what);
  }
  /* Tagged only dynamically: a loader inserts Stripe.js once the document is parsed, so every
   * meta policy applies and 'strict-dynamic' trusts the inserted script. */
  if (p->nscripts == 0 && p->doc_ended && p->tagged_by != FCA_TAG_SCRIPT_TAG) {
    fca_csp_request_t req = {.kind = FCA_CSP_SCRIPT_ELEM, .url = STRIPE_JS_DYNAMIC};
    check_load(a, p, FCA_RULE_CSP_1, &req, p->ncspmetas,
               "Stripe.js (" STRIPE_JS_DYNAMIC ", inserted by a script)");
  }
}

static void rule_inline(fca_audit_t *a, fca_page_t *p) {
  for (size_t k = 0; k < p->ninlines; k++) {
    const fca_page_inline_t *in = &p->inlines[k];
    policy_t pols[POLICIES_MAX];
    size_t n = policies(p, in->nmeta, pols);
    for (size_t i = 0; i < n; i++) {
      fca_csp_verdict_t v;
      fca_csp_check(pols[i].pol, &in->req, p->url, &v);
      if (v.result != FCA_CSP_BLOCKED) continue;
      char *dir = directive_text(&v, in->req.kind);
      char *where =
          in->attr
              ? fca_xasprintf("the %s attribute at byte %lld", in->attr_name, (long long)in->offset)
              : fca_xasprintf("the inline <script> at byte %lld", (long long)in->offset);
      const char *reason = v.why == FCA_CSP_WHY_INLINE_IGNORED
                               ? "its 'unsafe-inline' is ignored because the directive also "
                                 "has a nonce, a hash or 'strict-dynamic'"
                               : "no 'unsafe-inline', nonce or hash allows it";
      char *value = fca_xasprintf("%s (%s) is blocked by %s: %s", where, in->what, dir, reason);
      char hash[120] = "";
      if (in->req.digest_ok[FCA_SHA256]) {
        char b64[64];
        fca_base64_encode(in->req.digest[FCA_SHA256], 32, b64);
        snprintf(hash, sizeof hash, "'sha256-%s'", b64);
      }
      const char *add_el[] = {hash, NULL};
      const char *add_attr[] = {"'unsafe-hashes'", hash, NULL};
      fca_csp_fix_t fx;
      fca_csp_fix_build(pols[i].pol, in->req.kind, in->attr ? add_attr : add_el, &fx);
      char *fix = fca_rule_csp_fix_text(
          p, &fx,
          in->attr ? "Call it from a script file with addEventListener, or allow this exact "
                     "handler"
                   : "Move it into a script file the policy allows, give the <script> the "
                     "policy's nonce, or allow this exact code by its hash");
      char *directive = fca_csp_fix_directive(&fx);
      fire(a, p, FCA_RULE_CSP_4, &pols[i], value, fix, directive);
      free(directive);
      free(fix);
      free(value);
      free(where);
      free(dir);
    }
  }
}

void fca_rule_csp(fca_audit_t *a, fca_page_t *p) {
  if (p->csp.n == 0 && p->csp_ro.n == 0 && p->ncspmetas == 0) return; /* no CSP: nothing */
  rule_stripejs(a, p);
  /* Frames and fetches happen after parsing: every meta policy applies. */
  fca_csp_request_t frame = {.kind = FCA_CSP_FRAME, .url = STRIPE_FRAME};
  check_load(a, p, FCA_RULE_CSP_2, &frame, p->ncspmetas, "frames from https://js.stripe.com");
  fca_csp_request_t api = {.kind = FCA_CSP_CONNECT, .url = STRIPE_API};
  check_load(a, p, FCA_RULE_CSP_3, &api, p->ncspmetas, "fetches to https://api.stripe.com");
  rule_inline(a, p);
}
