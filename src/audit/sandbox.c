/* sandbox: sandboxing flags from an iframe `sandbox` attribute or a CSP sandbox directive. Both
 * are ASCII-whitespace separated, ASCII case-insensitive keyword lists in which unknown keywords
 * are ignored. Flags are kept as the allow-* bits; two sandboxes that both apply (iframe and CSP,
 * or nested frames) combine by intersecting what they allow. */
#include "policy.h"

#include <string.h>
#include <strings.h>

static const char *const flag_names[] = {
    "allow-downloads",
    "allow-forms",
    "allow-modals",
    "allow-orientation-lock",
    "allow-pointer-lock",
    "allow-popups",
    "allow-popups-to-escape-sandbox",
    "allow-presentation",
    "allow-same-origin",
    "allow-scripts",
    "allow-storage-access-by-user-activation",
    "allow-top-navigation",
    "allow-top-navigation-by-user-activation",
    "allow-top-navigation-to-custom-protocols",
};
#define NFLAGS (sizeof flag_names / sizeof flag_names[0])

_Static_assert(FCA_SBX_ALL == (1u << NFLAGS) - 1, "FCA_SBX_ALL covers every flag");

static bool is_ascii_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

uint32_t fca_sandbox_parse_tokens(const char *value, size_t n) {
  uint32_t allow = 0;
  size_t i = 0;
  while (i < n) {
    while (i < n && is_ascii_ws(value[i])) i++;
    size_t b = i;
    while (i < n && !is_ascii_ws(value[i])) i++;
    size_t len = i - b;
    if (len == 0) continue;
    for (size_t f = 0; f < NFLAGS; f++) {
      if (strlen(flag_names[f]) == len && strncasecmp(value + b, flag_names[f], len) == 0) {
        allow |= 1u << f;
        break;
      }
    }
  }
  return allow;
}

fca_sandbox_t fca_sandbox_parse(const char *value, size_t n) {
  return (fca_sandbox_t){true, fca_sandbox_parse_tokens(value, n)};
}

fca_sandbox_t fca_sandbox_intersect(fca_sandbox_t a, fca_sandbox_t b) {
  fca_sandbox_t r = {a.sandboxed || b.sandboxed, FCA_SBX_ALL};
  if (a.sandboxed) r.allow &= a.allow;
  if (b.sandboxed) r.allow &= b.allow;
  return r;
}

uint32_t fca_sandbox_missing(fca_sandbox_t sb, uint32_t required) {
  return sb.sandboxed ? required & ~sb.allow : 0;
}

const char *fca_sandbox_flag_name(uint32_t bit) {
  for (size_t f = 0; f < NFLAGS; f++)
    if (bit == 1u << f) return flag_names[f];
  return NULL;
}

size_t fca_sandbox_format(uint32_t bits, char *buf, size_t len) {
  size_t need = 0;
  if (len > 0) buf[0] = '\0';
  for (size_t f = 0; f < NFLAGS; f++) {
    if (!(bits & (1u << f))) continue;
    const char *name = flag_names[f];
    size_t nl = strlen(name);
    size_t add = (need ? 1 : 0) + nl;
    if (len > 0 && need + add < len) {
      if (need) buf[need] = ' ';
      memcpy(buf + need + (need ? 1 : 0), name, nl);
      buf[need + add] = '\0';
    } else if (len > 0) {
      len = 0; /* truncated: keep what fits (already terminated), count the rest */
    }
    need += add;
  }
  return need;
}
