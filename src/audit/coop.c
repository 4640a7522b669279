/* coop: Cross-Origin-Opener-Policy as browsers read it (HTML "obtain a cross-origin opener
 * policy"): the combined field value must be an RFC 8941 Item whose bare item is a token; the
 * token is compared case-sensitively; anything else is ignored and the page gets unsafe-none.
 * Several header lines combine into "a, b", which is never an Item, so they are invalid. */
#include "policy.h"

#include <string.h>

static const struct {
  const char *name;
  fca_coop_value_t value;
} known[] = {
    {"unsafe-none", FCA_COOP_UNSAFE_NONE},
    {"same-origin", FCA_COOP_SAME_ORIGIN},
    {"same-origin-allow-popups", FCA_COOP_SAME_ORIGIN_ALLOW_POPUPS},
    {"restrict-properties", FCA_COOP_RESTRICT_PROPERTIES},
    {"noopener-allow-popups", FCA_COOP_NOOPENER_ALLOW_POPUPS},
};

void fca_coop_parse(const fca_policy_str_t *lines, size_t nlines, fca_coop_t *out) {
  memset(out, 0, sizeof *out);
  out->value = FCA_COOP_UNSAFE_NONE;
  if (!fca_sf_single_token(lines, nlines, &out->present, &out->tok_off, &out->tok_len)) return;
  out->valid = true;
  out->value = FCA_COOP_OTHER;
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
    if (strlen(known[i].name) == out->tok_len &&
        memcmp(known[i].name, lines[0].s + out->tok_off, out->tok_len) == 0) {
      out->value = known[i].value;
      break;
    }
  }
}

fca_coop_value_t fca_coop_effective(const fca_coop_t *coop) {
  if (!coop->valid || coop->value == FCA_COOP_OTHER) return FCA_COOP_UNSAFE_NONE;
  return coop->value;
}

const char *fca_coop_name(fca_coop_value_t v) {
  if (v == FCA_COOP_OTHER) return "other";
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (known[i].value == v) return known[i].name;
  return "?";
}
