/* redact: passwords (always) and queries (on request) out of URLs in free text; see redact.h.
 * In text, a URL starts at "scheme://" (scheme: a letter then letters, digits, "+-.") and ends
 * at whitespace, a quote, '<', '>' or a control character; a request target is one URL, with
 * or without a scheme (CONNECT's "user:pw@host:443"). Inside it, the authority ends at the first
 * '/',
 * '?' or '#'; its last '@' ends the userinfo, whose first ':' starts the password. */
#include "fcaudit/redact.h"

#include "fcaudit/util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static bool url_end(unsigned char c) {
  return c <= ' ' || c == '"' || c == '\'' || c == '<' || c == '>' || c == '`' || c == 0x7f;
}

/* Appends s[0..n) to out. */
static void put(char *out, size_t *o, const char *s, size_t n) {
  memcpy(out + *o, s, n);
  *o += n;
}

/* Copies one URL token u[0..n) to out, redacted. */
static bool put_url(char *out, size_t *o, const char *u, size_t n, size_t auth_from,
                    bool strip_query) {
  bool changed = false;
  size_t auth_end = auth_from;
  while (auth_end < n && u[auth_end] != '/' && u[auth_end] != '?' && u[auth_end] != '#') auth_end++;
  const char *at = NULL;
  for (size_t i = auth_from; i < auth_end; i++)
    if (u[i] == '@') at = u + i;
  const char *colon = at ? memchr(u + auth_from, ':', (size_t)(at - u) - auth_from) : NULL;
  if (colon) {
    put(out, o, u, (size_t)(colon - u) + 1);
    put(out, o, "***", 3);
    put(out, o, at, auth_end - (size_t)(at - u));
    changed = true;
  } else {
    put(out, o, u, auth_end);
  }
  size_t q = auth_end;
  while (q < n && u[q] != '?' && u[q] != '#') q++;
  put(out, o, u + auth_end, q - auth_end);
  if (q < n) {
    if (strip_query)
      changed = true;
    else
      put(out, o, u + q, n - q);
  }
  return changed;
}

/* Length of a scheme ending just before s[i] == ':' followed by "//", or 0. */
static size_t scheme_before(const char *s, size_t i) {
  size_t k = i;
  while (k > 0 && (isalnum((unsigned char)s[k - 1]) || s[k - 1] == '+' || s[k - 1] == '-' ||
                   s[k - 1] == '.'))
    k--;
  while (k < i && !isalpha((unsigned char)s[k])) k++;
  return i - k;
}

char *fca_redact_text(const char *s, size_t n, bool strip_query, size_t *out_len) {
  /* Redaction only shortens, except "***" for a password of fewer than 3 bytes. */
  char *out = fca_xmalloc(n + n / 2 + 4);
  size_t o = 0, i = 0, copied = 0;
  bool any = false;
  while (i + 3 <= n) {
    if (s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/') {
      size_t sl = scheme_before(s, i);
      if (sl > 0) {
        size_t start = i - sl;
        if (start < copied) { /* part of what was already written */
          i++;
          continue;
        }
        size_t end = i + 3;
        while (end < n && !url_end((unsigned char)s[end])) end++;
        put(out, &o, s + copied, start - copied);
        any |= put_url(out, &o, s + start, end - start, sl + 3, strip_query);
        i = copied = end;
        continue;
      }
    }
    i++;
  }
  put(out, &o, s + copied, n - copied);
  out[o] = '\0';
  if (!any) {
    free(out);
    return NULL;
  }
  if (out_len) *out_len = o;
  return out;
}

char *fca_redact_target(const char *s, size_t n, bool strip_query) {
  const char *sep = memmem(s, n, "://", 3);
  size_t from =
      sep && scheme_before(s, (size_t)(sep - s)) == (size_t)(sep - s) ? (size_t)(sep - s) + 3 : 0;
  char *out = fca_xmalloc(n + n / 2 + 4);
  size_t o = 0;
  put_url(out, &o, s, n, from, strip_query);
  out[o] = '\0';
  return out;
}
