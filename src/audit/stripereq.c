/* stripereq: the publishable key of an api.stripe.com request (form field, query, Bearer). */
#include "stripereq.h"

#include "detect.h"

#include <string.h>
#include <strings.h>

static bool alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

fca_key_kind_t fca_stripereq_key_kind(const char *s, size_t n) {
  if (n < 8 + FCA_LIT_KEY_MIN || n > FCA_STRIPEREQ_KEY_MAX) return FCA_KEY_NONE;
  fca_key_kind_t k = memcmp(s, "pk_live_", 8) == 0   ? FCA_KEY_LIVE
                     : memcmp(s, "pk_test_", 8) == 0 ? FCA_KEY_TEST
                                                     : FCA_KEY_NONE;
  for (size_t i = 8; k && i < n; i++)
    if (!alnum(s[i])) return FCA_KEY_NONE;
  return k;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Percent- and plus-decodes s[0..n) into out (at most cap bytes). Returns the decoded length,
 * or cap + 1 when it does not fit. A '%' not followed by two hex digits stays as is. */
static size_t decode(const char *s, size_t n, char *out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '+') {
      c = ' ';
    } else if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      i += 2;
    }
    if (o == cap) return cap + 1;
    out[o++] = c;
  }
  return o;
}

fca_key_kind_t fca_stripereq_form_key(const char *form, size_t n, char *out, size_t outlen,
                                      size_t *outn) {
  if (outlen) out[0] = '\0';
  if (outn) *outn = 0;
  size_t i = 0;
  while (i < n) {
    size_t e = i;
    while (e < n && form[e] != '&') e++;
    const char *f = form + i;
    size_t fl = e - i;
    i = e + 1;
    if (!fl) continue;
    const char *eq = memchr(f, '=', fl);
    size_t nl = eq ? (size_t)(eq - f) : fl;
    char name[8];
    if (decode(f, nl, name, sizeof name) != 3 || memcmp(name, "key", 3) != 0) continue;
    /* the first `key` field decides */
    if (!eq || outlen < 2) return FCA_KEY_NONE;
    size_t vl = decode(eq + 1, fl - nl - 1, out, outlen - 1);
    if (vl >= outlen) {
      out[0] = '\0';
      return FCA_KEY_NONE;
    }
    out[vl] = '\0';
    fca_key_kind_t k = fca_stripereq_key_kind(out, vl);
    if (!k) {
      out[0] = '\0';
      return FCA_KEY_NONE;
    }
    if (outn) *outn = vl;
    return k;
  }
  return FCA_KEY_NONE;
}

fca_key_kind_t fca_stripereq_bearer(const char *v, size_t n, const char **key, size_t *keyn) {
  while (n && (*v == ' ' || *v == '\t')) v++, n--;
  while (n && (v[n - 1] == ' ' || v[n - 1] == '\t')) n--;
  if (n < 7 || strncasecmp(v, "bearer", 6) != 0 || (v[6] != ' ' && v[6] != '\t'))
    return FCA_KEY_NONE;
  size_t i = 7;
  while (i < n && (v[i] == ' ' || v[i] == '\t')) i++;
  fca_key_kind_t k = fca_stripereq_key_kind(v + i, n - i);
  if (k) {
    *key = v + i;
    *keyn = n - i;
  }
  return k;
}
