/* csp_fix: the one place that words a CSP fix: the directive that governs a kind of load, with
 * the sources it needs added and the page's own sources kept. The structure (directive name,
 * kept and added sources) is what stack-specific wording builds on; the text form is the
 * generic one-line fix: "script-src 'self' https://js.stripe.com" plus the subdomain wildcard. */
#include "csp.h"

#include "fcaudit/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const *fca_csp_stripe_sources(fca_csp_kind_t kind) {
  static const char *const script[] = {"https://js.stripe.com", "https://*.js.stripe.com", NULL};
  static const char *const frame[] = {"https://js.stripe.com", "https://*.js.stripe.com",
                                      "https://hooks.stripe.com", NULL};
  static const char *const connect[] = {"https://api.stripe.com", NULL};
  static const char *const none[] = {NULL};
  switch (kind) {
  case FCA_CSP_SCRIPT_ELEM: return script;
  case FCA_CSP_FRAME: return frame;
  case FCA_CSP_CONNECT: return connect;
  case FCA_CSP_SCRIPT_ATTR:
  case FCA_CSP_KIND_COUNT: break;
  }
  return none;
}

/* The directive a fix writes when only default-src governs: the kind's own common name. */
static const char *own_name(fca_csp_kind_t kind) {
  switch (kind) {
  case FCA_CSP_SCRIPT_ELEM: return "script-src";
  case FCA_CSP_SCRIPT_ATTR: return "script-src-attr";
  case FCA_CSP_FRAME: return "frame-src";
  case FCA_CSP_CONNECT:
  case FCA_CSP_KIND_COUNT: break;
  }
  return "connect-src";
}

void fca_csp_fix_build(fca_policy_str_t policy, fca_csp_kind_t kind, const char *const *add,
                       fca_csp_fix_t *out) {
  memset(out, 0, sizeof *out);
  fca_csp_directive_t d;
  int idx = fca_csp_governing(policy, kind, &d);
  const char *const *list = fca_csp_fallback(kind);
  /* Editing default-src would widen every other fetch: add the kind's own directive instead,
   * starting from default-src's sources (what governs this kind today). */
  bool is_default = idx >= 0 && strcmp(list[idx], "default-src") == 0;
  out->name = idx < 0 || is_default ? own_name(kind) : list[idx];
  out->existing = idx >= 0 && !is_default;
  if (idx >= 0) {
    size_t pos = 0;
    fca_csp_source_t src;
    while (fca_csp_next_source(d.value, &pos, &src) && out->nkept < FCA_CSP_FIX_SOURCES_MAX)
      if (src.kind != FCA_CSP_SRC_NONE) /* 'none' cannot stay next to a source */
        out->kept[out->nkept++] = src.text;
  }
  for (size_t i = 0; add && add[i] && out->nadded < sizeof out->added / sizeof out->added[0]; i++) {
    bool dup = false;
    size_t an = strlen(add[i]);
    for (size_t k = 0; k < out->nkept && !dup; k++)
      dup = out->kept[k].n == an && strncasecmp(out->kept[k].s, add[i], an) == 0;
    if (!dup) out->added[out->nadded++] = add[i];
  }
}

char *fca_csp_fix_directive(const fca_csp_fix_t *fix) {
  size_t len = strlen(fix->name) + 1;
  for (size_t i = 0; i < fix->nkept; i++) len += fix->kept[i].n + 1;
  for (size_t i = 0; i < fix->nadded; i++) len += strlen(fix->added[i]) + 1;
  char *s = fca_xmalloc(len + 1), *p = s;
  p += sprintf(p, "%s", fix->name);
  for (size_t i = 0; i < fix->nkept; i++)
    p += sprintf(p, " %.*s", (int)fix->kept[i].n, fix->kept[i].s);
  for (size_t i = 0; i < fix->nadded; i++) p += sprintf(p, " %s", fix->added[i]);
  return s;
}
