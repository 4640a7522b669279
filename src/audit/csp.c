/* csp: the sandbox directive of Content-Security-Policy, read as CSP3 "parse a serialized CSP".
 * Every header line, and every comma inside one, is a separate policy and all are enforced;
 * directives split on ';', names compare case-insensitively, and the first of two directives
 * with one name wins. Each sandboxing policy adds its restrictions (allowed tokens intersect).
 * Report-only policies never sandbox; they are only noted. */
#include "policy.h"

#include <string.h>
#include <strings.h>

static bool is_ascii_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* Finds the first sandbox directive of the policy s[0..n). Returns true and its value span. */
static bool find_sandbox(const char *s, size_t n, size_t *voff, size_t *vlen) {
  size_t i = 0;
  while (i <= n) {
    size_t b = i, e = i;
    while (e < n && s[e] != ';') e++;
    i = e + 1;
    while (b < e && is_ascii_ws(s[b])) b++;
    while (e > b && is_ascii_ws(s[e - 1])) e--;
    if (b == e) continue;
    bool ascii = true;
    for (size_t k = b; k < e; k++)
      if ((unsigned char)s[k] >= 0x80) ascii = false;
    if (!ascii) continue; /* CSP3 skips a directive that is not ASCII */
    size_t ne = b;
    while (ne < e && !is_ascii_ws(s[ne])) ne++;
    /* Only the first directive of a name counts, so the first "sandbox" is the one. */
    if (ne - b == 7 && strncasecmp(s + b, "sandbox", 7) == 0) {
      while (ne < e && is_ascii_ws(s[ne])) ne++;
      *voff = ne;
      *vlen = e - ne;
      return true;
    }
  }
  return false;
}

typedef void (*policy_fn)(void *ud, size_t line, const char *s, size_t off, size_t len);

static void each_policy(const fca_policy_str_t *lines, size_t nlines, policy_fn fn, void *ud) {
  for (size_t l = 0; l < nlines; l++) {
    size_t n = lines[l].n, i = 0;
    while (i <= n) {
      size_t b = i, e = i;
      while (e < n && lines[l].s[e] != ',') e++;
      i = e + 1;
      fn(ud, l, lines[l].s, b, e - b);
    }
  }
}

static void on_enforced(void *ud, size_t line, const char *s, size_t off, size_t len) {
  fca_csp_sandbox_t *out = ud;
  size_t voff, vlen;
  if (!find_sandbox(s + off, len, &voff, &vlen)) return;
  uint32_t allow = fca_sandbox_parse_tokens(s + off + voff, vlen);
  out->sandbox = fca_sandbox_intersect(out->sandbox, (fca_sandbox_t){true, allow});
  if (out->recorded < FCA_CSP_SANDBOX_MAX) {
    out->policies[out->recorded++] = (fca_csp_sandbox_policy_t){
        .line = line,
        .pol_off = off,
        .pol_len = len,
        .val_off = off + voff,
        .val_len = vlen,
        .allow = allow,
    };
  }
  out->count++;
}

static void on_report_only(void *ud, size_t line, const char *s, size_t off, size_t len) {
  fca_csp_sandbox_t *out = ud;
  size_t voff, vlen;
  (void)line;
  if (find_sandbox(s + off, len, &voff, &vlen)) out->report_only_sandbox = true;
}

void fca_csp_sandbox(const fca_policy_str_t *enforce, size_t nenforce,
                     const fca_policy_str_t *report_only, size_t nreport_only,
                     fca_csp_sandbox_t *out) {
  memset(out, 0, sizeof *out);
  out->sandbox = FCA_SANDBOX_NONE;
  each_policy(enforce, nenforce, on_enforced, out);
  each_policy(report_only, nreport_only, on_report_only, out);
}
