/* admin util: text buffer, HTML escaping, templates and the Host check of the admin listener.
 * Everything shown on an admin page that did not come from our own assets passes through
 * fca_abuf_html (server side) or textContent (browser side): traffic is untrusted. */
#include "admin_util.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fcaudit/admin.h"
#include "fcaudit/escape.h"
#include "fcaudit/util.h"

static void reserve(fca_abuf_t *b, size_t extra) {
  if (b->len + extra + 1 <= b->cap) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra + 1) cap *= 2;
  b->p = fca_xrealloc(b->p, cap);
  b->cap = cap;
}

void fca_abuf_add(fca_abuf_t *b, const void *s, size_t n) {
  reserve(b, n);
  if (n) memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

void fca_abuf_puts(fca_abuf_t *b, const char *s) { fca_abuf_add(b, s, strlen(s)); }

void fca_abuf_printf(fca_abuf_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char tmp[256];
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof tmp) {
    fca_abuf_add(b, tmp, (size_t)n);
    return;
  }
  reserve(b, (size_t)n);
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

static void put_abuf(void *ud, const char *p, size_t n) { fca_abuf_add(ud, p, n); }

void fca_abuf_html(fca_abuf_t *b, const char *s, size_t n) {
  reserve(b, n);
  fca_escape_markup(s, n, put_abuf, b);
}

void fca_abuf_free(fca_abuf_t *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

static bool name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

void fca_admin_template(fca_abuf_t *out, const char *tmpl, size_t n,
                        const char *(*lookup)(void *ud, const char *name), void *ud) {
  size_t i = 0, run = 0;
  while (i + 1 < n) {
    if (tmpl[i] != '{' || tmpl[i + 1] != '{') {
      i++;
      continue;
    }
    size_t j = i + 2;
    while (j < n && name_char(tmpl[j]) && j - (i + 2) < 63) j++;
    if (j == i + 2 || j + 1 >= n || tmpl[j] != '}' || tmpl[j + 1] != '}') {
      i++;
      continue;
    }
    char name[64];
    memcpy(name, tmpl + i + 2, j - (i + 2));
    name[j - (i + 2)] = '\0';
    fca_abuf_add(out, tmpl + run, i - run);
    const char *v = lookup(ud, name);
    if (v) fca_abuf_html(out, v, strlen(v));
    i = run = j + 2;
  }
  fca_abuf_add(out, tmpl + run, n - run);
}

bool fca_admin_host_allowed(const char *host, int port) {
  if (!host || !*host) return false;
  char name[256];
  const char *portstr = NULL;
  size_t hl;
  if (host[0] == '[') {
    const char *close = strchr(host, ']');
    if (!close) return false;
    hl = (size_t)(close - host - 1);
    if (hl == 0 || hl >= sizeof name) return false;
    memcpy(name, host + 1, hl);
    name[hl] = '\0';
    if (close[1] == ':')
      portstr = close + 2;
    else if (close[1] != '\0')
      return false;
    struct in6_addr a6;
    if (inet_pton(AF_INET6, name, &a6) != 1) return false;
  } else {
    const char *colon = strchr(host, ':');
    hl = colon ? (size_t)(colon - host) : strlen(host);
    if (hl == 0 || hl >= sizeof name) return false;
    memcpy(name, host, hl);
    name[hl] = '\0';
    if (colon) portstr = colon + 1;
    /* A fully qualified name may end in one dot. */
    if (hl > 1 && name[hl - 1] == '.') name[--hl] = '\0';
    struct in_addr a4;
    bool ok = strcasecmp(name, FCA_ADMIN_HOST) == 0 || strcasecmp(name, "localhost") == 0 ||
              inet_pton(AF_INET, name, &a4) == 1;
    if (!ok) return false;
  }
  long p = -1;
  if (portstr) {
    if (!*portstr || strlen(portstr) > 5) return false;
    char *end;
    p = strtol(portstr, &end, 10);
    if (*end || p < 0 || p > 65535) return false;
  }
  if (strcasecmp(name, FCA_ADMIN_HOST) == 0) return true;
  return p < 0 || p == port;
}
