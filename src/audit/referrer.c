/* referrer: the document's referrer policy as browsers compute it. The Referrer-Policy header
 * lines form one comma list whose last known token wins; unknown tokens of [A-Za-z-] are skipped,
 * any other byte voids the whole header. <meta name=referrer> tags then override it in document
 * order (legacy keywords allowed there only); with nothing valid the default applies. */
#include "policy.h"

#include <string.h>
#include <strings.h>

static const char *const names[] = {
    [FCA_REFPOL_NONE] = "",
    [FCA_REFPOL_NO_REFERRER] = "no-referrer",
    [FCA_REFPOL_NO_REFERRER_WHEN_DOWNGRADE] = "no-referrer-when-downgrade",
    [FCA_REFPOL_SAME_ORIGIN] = "same-origin",
    [FCA_REFPOL_ORIGIN] = "origin",
    [FCA_REFPOL_STRICT_ORIGIN] = "strict-origin",
    [FCA_REFPOL_ORIGIN_WHEN_CROSS_ORIGIN] = "origin-when-cross-origin",
    [FCA_REFPOL_STRICT_ORIGIN_WHEN_CROSS_ORIGIN] = "strict-origin-when-cross-origin",
    [FCA_REFPOL_UNSAFE_URL] = "unsafe-url",
};
#define NPOL (sizeof names / sizeof names[0])

static bool is_ows(char c) { return c == ' ' || c == '\t'; }
static bool is_ascii_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

static bool eq_ci(const char *s, size_t n, const char *lit) {
  return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

/* Case-insensitive match of the eight policy tokens; NONE when unknown. */
static fca_refpol_t from_token(const char *s, size_t n) {
  if (n == 0) return FCA_REFPOL_NONE;
  for (size_t i = 1; i < NPOL; i++)
    if (eq_ci(s, n, names[i])) return (fca_refpol_t)i;
  return FCA_REFPOL_NONE;
}

void fca_referrer_parse_header(const fca_policy_str_t *lines, size_t nlines,
                               fca_referrer_header_t *out) {
  memset(out, 0, sizeof *out);
  if (nlines == 0) return;
  out->present = true;
  bool any_token = false;
  fca_referrer_header_t best = *out;
  for (size_t l = 0; l < nlines; l++) {
    const char *s = lines[l].s;
    size_t n = lines[l].n, i = 0;
    while (i <= n) {
      size_t b = i, e = i;
      while (e < n && s[e] != ',') e++;
      i = e + 1;
      while (b < e && is_ows(s[b])) b++;
      size_t te = e;
      while (te > b && is_ows(s[te - 1])) te--;
      if (te == b) continue; /* empty list element */
      any_token = true;
      for (size_t k = b; k < te; k++) {
        char c = s[k];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-')) {
          return; /* header invalid: policy NONE, header_valid false */
        }
      }
      fca_refpol_t p = from_token(s + b, te - b);
      if (p != FCA_REFPOL_NONE) {
        best.policy = p;
        best.line = l;
        best.tok_off = b;
        best.tok_len = te - b;
      }
    }
  }
  if (!any_token) return; /* the grammar needs at least one token */
  out->header_valid = true;
  out->policy = best.policy;
  out->line = best.line;
  out->tok_off = best.tok_off;
  out->tok_len = best.tok_len;
}

fca_refpol_t fca_referrer_parse_meta(const char *content, size_t n) {
  size_t b = 0, e = n;
  while (b < e && is_ascii_ws(content[b])) b++;
  while (e > b && is_ascii_ws(content[e - 1])) e--;
  const char *s = content + b;
  n = e - b;
  if (eq_ci(s, n, "never")) return FCA_REFPOL_NO_REFERRER;
  if (eq_ci(s, n, "default")) return FCA_REFPOL_STRICT_ORIGIN_WHEN_CROSS_ORIGIN;
  if (eq_ci(s, n, "always")) return FCA_REFPOL_UNSAFE_URL;
  if (eq_ci(s, n, "origin-when-crossorigin")) return FCA_REFPOL_ORIGIN_WHEN_CROSS_ORIGIN;
  return from_token(s, n);
}

fca_refpol_t fca_referrer_parse_attr(const char *value, size_t n) { return from_token(value, n); }

fca_refpol_t fca_referrer_effective(const fca_referrer_header_t *hdr, const fca_refpol_t *metas,
                                    size_t nmetas) {
  fca_refpol_t p = hdr ? hdr->policy : FCA_REFPOL_NONE;
  for (size_t i = 0; i < nmetas; i++)
    if (metas[i] != FCA_REFPOL_NONE) p = metas[i];
  return p == FCA_REFPOL_NONE ? FCA_REFPOL_DEFAULT : p;
}

bool fca_referrer_sends_cross_origin_referer(fca_refpol_t p) {
  return p != FCA_REFPOL_NO_REFERRER && p != FCA_REFPOL_SAME_ORIGIN;
}

bool fca_referrer_checklist_allowed(fca_refpol_t p) {
  return p == FCA_REFPOL_ORIGIN || p == FCA_REFPOL_ORIGIN_WHEN_CROSS_ORIGIN ||
         p == FCA_REFPOL_STRICT_ORIGIN || p == FCA_REFPOL_STRICT_ORIGIN_WHEN_CROSS_ORIGIN;
}

bool fca_referrer_checklist_value_ok(const char *content, size_t n) {
  size_t b = 0, e = n;
  while (b < e && is_ascii_ws(content[b])) b++;
  while (e > b && is_ascii_ws(content[e - 1])) e--;
  return fca_referrer_checklist_allowed(from_token(content + b, e - b));
}

const char *fca_referrer_name(fca_refpol_t p) { return (size_t)p < NPOL ? names[p] : ""; }
