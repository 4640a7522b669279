/* freshness: how long a browser's private cache may reuse a response without asking (RFC 9111
 * 4.2.1): Cache-Control max-age (no-store and no-cache: never), else Expires - Date (an invalid
 * Expires: already expired), else 10% of Date - Last-Modified (the heuristic browsers use). */
#include "freshness.h"

#include <string.h>
#include <strings.h>
#include <time.h>

static bool http_date(const char *v, size_t n, int64_t *out) {
  char buf[64];
  if (n >= sizeof buf) return false;
  memcpy(buf, v, n);
  buf[n] = '\0';
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  const char *s = buf;
  while (*s == ' ') s++;
  const char *end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end) return false;
  *out = (int64_t)timegm(&tm) * 1000;
  return true;
}

static bool hname(const fca_audit_header_t *h, const char *n) {
  size_t l = strlen(n);
  return h->name_len == l && strncasecmp(h->name, n, l) == 0;
}

int64_t fca_freshness_ms(const fca_audit_header_t *hs, size_t n) {
  int64_t max_age = -1, date = -1, expires = -1, lm = -1;
  bool expires_bad = false;
  for (size_t i = 0; i < n; i++) {
    const fca_audit_header_t *h = &hs[i];
    if (hname(h, "cache-control")) {
      const char *v = h->value, *end = v + h->value_len;
      while (v < end) {
        const char *c = memchr(v, ',', (size_t)(end - v));
        const char *de = c ? c : end;
        while (v < de && (*v == ' ' || *v == '\t')) v++;
        size_t dl = (size_t)(de - v);
        while (dl && (v[dl - 1] == ' ' || v[dl - 1] == '\t')) dl--;
        if ((dl == 8 && strncasecmp(v, "no-store", 8) == 0) ||
            (dl >= 8 && strncasecmp(v, "no-cache", 8) == 0 && (dl == 8 || v[8] == '=')))
          return 0;
        if (dl > 8 && strncasecmp(v, "max-age=", 8) == 0) {
          int64_t s = 0;
          size_t k = 8;
          if (k < dl && v[k] == '"') k++;
          bool digits = false;
          for (; k < dl && v[k] >= '0' && v[k] <= '9' && s < 1000000000; k++, digits = true)
            s = s * 10 + (v[k] - '0');
          if (digits && max_age < 0) max_age = s * 1000;
        }
        v = de + 1;
      }
    } else if (hname(h, "date")) {
      if (!http_date(h->value, h->value_len, &date)) date = -1;
    } else if (hname(h, "expires")) {
      if (!http_date(h->value, h->value_len, &expires)) expires_bad = true;
    } else if (hname(h, "last-modified")) {
      if (!http_date(h->value, h->value_len, &lm)) lm = -1;
    }
  }
  if (max_age >= 0) return max_age;
  if (expires_bad) return 0; /* an invalid Expires means already expired */
  if (expires >= 0) return date >= 0 && expires > date ? expires - date : 0;
  if (lm >= 0 && date > lm) return (date - lm) / 10;
  return 0;
}
