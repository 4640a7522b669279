/* redis_url: parses redis://[USER:PASS@]HOST:PORT[/DB][?stream=NAME&maxlen=N&backlog=N
 * &timeout=MS]. Invariant: no error message and no display string ever contains USER or PASS; the
 * only place they live is the parsed struct, which goes to AUTH and nowhere else. */
#include "fcaudit/redis_url.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcaudit/config.h"
#include "fcaudit/util.h"

bool fca_redis_url_is(const char *s) { return s && strncmp(s, "redis://", 8) == 0; }

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = tolower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Percent-decodes s[0..n) into a new string; NULL on a bad escape or a decoded NUL. */
static char *pct_decode(const char *s, size_t n) {
  char *out = fca_xmalloc(n + 1);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '%') {
      int h = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
      int l = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
      if (h < 0 || l < 0 || (h == 0 && l == 0)) {
        free(out);
        return NULL;
      }
      out[k++] = (char)(h * 16 + l);
      i += 2;
    } else {
      out[k++] = s[i];
    }
  }
  out[k] = '\0';
  return out;
}

static int parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out) {
  if (n == 0 || n > 20) return -1;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isdigit((unsigned char)s[i])) return -1;
    if (v > (UINT64_MAX - 9) / 10) return -1;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  if (v > max) return -1;
  *out = v;
  return 0;
}

static bool stream_name_ok(const char *s, size_t n) {
  if (n == 0 || n > 200) return false;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!isalnum(c) && !strchr(":._-/{}", c)) return false;
  }
  return true;
}

static int query(fca_redis_url_t *u, const char *q, char *err, size_t errlen) {
  while (*q) {
    size_t n = strcspn(q, "&");
    const char *eq = memchr(q, '=', n);
    if (!eq) {
      fca_seterr(err, errlen, "redis URL: expected NAME=VALUE in the query, got '%.*s'", (int)n, q);
      return -1;
    }
    size_t kl = (size_t)(eq - q), vl = n - kl - 1;
    const char *v = eq + 1;
    if (kl == 6 && strncmp(q, "stream", 6) == 0) {
      if (!stream_name_ok(v, vl)) {
        fca_seterr(err, errlen,
                   "redis URL: bad stream name '%.*s' (letters, digits and :._-/{} only)", (int)vl,
                   v);
        return -1;
      }
      free(u->stream);
      u->stream = fca_xstrndup(v, vl);
    } else if (kl == 6 && strncmp(q, "maxlen", 6) == 0) {
      if (parse_u64(v, vl, 1000000000000ULL, &u->maxlen) < 0) {
        fca_seterr(err, errlen, "redis URL: maxlen: expected a number of entries, got '%.*s'",
                   (int)vl, v);
        return -1;
      }
    } else if (kl == 7 && strncmp(q, "backlog", 7) == 0) {
      if (parse_u64(v, vl, 100000000ULL, &u->backlog) < 0 || u->backlog == 0) {
        fca_seterr(err, errlen,
                   "redis URL: backlog: expected a number of events (1 or more), "
                   "got '%.*s'",
                   (int)vl, v);
        return -1;
      }
    } else if (kl == 7 && strncmp(q, "timeout", 7) == 0) {
      if (parse_u64(v, vl, 3600000ULL, &u->timeout_ms) < 0 || u->timeout_ms == 0) {
        fca_seterr(err, errlen,
                   "redis URL: timeout: expected milliseconds (1 to 3600000), got '%.*s'", (int)vl,
                   v);
        return -1;
      }
    } else {
      fca_seterr(err, errlen,
                 "redis URL: unknown parameter '%.*s' (known: stream, maxlen, backlog, timeout)",
                 (int)kl, q);
      return -1;
    }
    q += n;
    if (*q == '&') q++;
  }
  return 0;
}

int fca_redis_url_parse(const char *s, fca_redis_url_t *u, char *err, size_t errlen) {
  memset(u, 0, sizeof *u);
  u->maxlen = FCA_REDIS_DEFAULT_MAXLEN;
  u->timeout_ms = FCA_REDIS_DEFAULT_TIMEOUT_MS;
  if (!fca_redis_url_is(s)) {
    fca_seterr(err, errlen, "expected redis://[USER:PASS@]HOST:PORT[/DB][?stream=NAME]");
    return -1;
  }
  const char *p = s + 8;
  size_t auth_end = strcspn(p, "/?#");
  const char *at = NULL;
  for (const char *c = p; c < p + auth_end; c++)
    if (*c == '@') at = c; /* the last '@' ends the credentials */
  if (at) {
    const char *colon = memchr(p, ':', (size_t)(at - p));
    if (!colon) {
      fca_seterr(err, errlen, "redis URL: credentials must be USER:PASS@ or :PASS@");
      goto fail;
    }
    if (colon > p) {
      u->user = pct_decode(p, (size_t)(colon - p));
      if (!u->user) {
        fca_seterr(err, errlen, "redis URL: bad %%-escape in the user name");
        goto fail;
      }
    }
    u->pass = pct_decode(colon + 1, (size_t)(at - colon - 1));
    if (!u->pass) {
      fca_seterr(err, errlen, "redis URL: bad %%-escape in the password");
      goto fail;
    }
    p = at + 1;
  }
  size_t hp_len = strcspn(p, "/?#");
  if (p[hp_len] == '#') {
    fca_seterr(err, errlen, "redis URL: no fragment (#) allowed");
    goto fail;
  }
  char hp[300];
  if (hp_len == 0 || hp_len >= sizeof hp) {
    fca_seterr(err, errlen, "redis URL: expected HOST:PORT after redis://");
    goto fail;
  }
  memcpy(hp, p, hp_len);
  hp[hp_len] = '\0';
  if (fca_config_split_hostport(hp, u->host, sizeof u->host, &u->port) < 0 || u->port == 0) {
    fca_seterr(err, errlen, "redis URL: expected HOST:PORT (PORT 1-65535), got '%s'", hp);
    goto fail;
  }
  p += hp_len;
  if (*p == '/') {
    p++;
    size_t dl = strcspn(p, "?#");
    uint64_t db = 0;
    if (dl && parse_u64(p, dl, 65535, &db) < 0) {
      fca_seterr(err, errlen, "redis URL: expected a database number after '/', got '%.*s'",
                 (int)dl, p);
      goto fail;
    }
    u->db = (int)db;
    p += dl;
  }
  if (*p == '#') {
    fca_seterr(err, errlen, "redis URL: no fragment (#) allowed");
    goto fail;
  }
  if (*p == '?') {
    if (strchr(p, '#')) {
      fca_seterr(err, errlen, "redis URL: no fragment (#) allowed");
      goto fail;
    }
    if (query(u, p + 1, err, errlen) < 0) goto fail;
  }
  if (!u->stream) u->stream = fca_xstrdup(FCA_REDIS_DEFAULT_STREAM);
  return 0;
fail:
  fca_redis_url_free(u);
  return -1;
}

void fca_redis_url_free(fca_redis_url_t *u) {
  if (!u) return;
  free(u->user);
  if (u->pass) {
    volatile char *v = u->pass; /* wipe the password before the memory is reused */
    while (*v) *v++ = 0;
  }
  free(u->pass);
  free(u->stream);
  u->user = u->pass = u->stream = NULL;
}

void fca_redis_url_display(const fca_redis_url_t *u, char *out, size_t n) {
  bool v6 = strchr(u->host, ':') != NULL;
  snprintf(out, n, "redis://%s%s%s%s:%d/%d?stream=%s", u->pass || u->user ? "***@" : "",
           v6 ? "[" : "", u->host, v6 ? "]" : "", u->port, u->db, u->stream ? u->stream : "");
}
