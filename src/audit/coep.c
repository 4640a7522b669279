/* coep: Cross-Origin-Embedder-Policy as browsers read it (HTML "obtain an embedder policy"):
 * an RFC 8941 Item whose bare item is the token require-corp or credentialless (case-sensitive);
 * anything else, including several header lines, leaves the default unsafe-none. */
#include "policy.h"

#include <string.h>

static bool tok_is(const char *s, size_t n, const char *lit) {
  return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

void fca_coep_parse(const fca_policy_str_t *lines, size_t nlines, fca_coep_t *out) {
  memset(out, 0, sizeof *out);
  out->value = FCA_COEP_UNSAFE_NONE;
  if (!fca_sf_single_token(lines, nlines, &out->present, &out->tok_off, &out->tok_len)) return;
  out->valid = true;
  const char *t = lines[0].s + out->tok_off;
  if (tok_is(t, out->tok_len, "require-corp"))
    out->value = FCA_COEP_REQUIRE_CORP;
  else if (tok_is(t, out->tok_len, "credentialless"))
    out->value = FCA_COEP_CREDENTIALLESS;
}

const char *fca_coep_name(fca_coep_value_t v) {
  switch (v) {
  case FCA_COEP_UNSAFE_NONE: return "unsafe-none";
  case FCA_COEP_REQUIRE_CORP: return "require-corp";
  case FCA_COEP_CREDENTIALLESS: return "credentialless";
  }
  return "?";
}
