/* url: split a cleaned reference into parts (pointers into the cleaned copy), resolve it against
 * a base's parts (RFC 3986 section 5.2.2, with the WHATWG special-scheme rules listed in the
 * header), then serialise once into the owned href that the result's parts point into. */
#include "url.h"

#include "fcaudit/util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
  const char *p;
  size_t n;
} span_t;

typedef struct {
  char scheme[32];
  bool has_scheme, special, has_auth, has_query, has_frag;
  span_t userinfo, host, port, path, query, frag;
  bool has_userinfo;
} parts_t;

static const char *const specials[] = {"http", "https", "ws", "wss", "ftp", "file"};

static bool is_special(const char *scheme) {
  for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++)
    if (strcmp(scheme, specials[i]) == 0) return true;
  return false;
}

static int default_port(const char *scheme) {
  if (!strcmp(scheme, "http") || !strcmp(scheme, "ws")) return 80;
  if (!strcmp(scheme, "https") || !strcmp(scheme, "wss")) return 443;
  if (!strcmp(scheme, "ftp")) return 21;
  return -1;
}

static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c | 0x20) : c; }

/* WHATWG input cleanup: trim C0 controls and spaces, drop every tab and newline. Written into
 * `small` when it fits (most URLs), else into a new allocation the caller frees. */
static char *clean(const char *s, size_t n, size_t *out_n, char *small, size_t small_cap) {
  while (n > 0 && (unsigned char)s[0] <= 0x20) s++, n--;
  while (n > 0 && (unsigned char)s[n - 1] <= 0x20) n--;
  char *c = n + 1 <= small_cap ? small : fca_xmalloc(n + 1);
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] != '\t' && s[i] != '\n' && s[i] != '\r') c[k++] = s[i];
  c[k] = '\0';
  *out_n = k;
  return c;
}

static void clean_done(char *c, const char *small) {
  if (c != small) free(c);
}

static bool is_slash(char c, bool special) { return c == '/' || (special && c == '\\'); }

/* Authority [userinfo@]host[:port] from p up to the first delimiter; returns the end. */
static const char *split_authority(const char *p, const char *end, parts_t *r) {
  const char *a = p;
  while (a < end && *a != '?' && *a != '#' && !is_slash(*a, r->special)) a++;
  const char *at = NULL;
  for (const char *q = p; q < a; q++)
    if (*q == '@') at = q;
  const char *h = p;
  if (at) {
    r->has_userinfo = true;
    r->userinfo = (span_t){p, (size_t)(at - p)};
    h = at + 1;
  }
  const char *colon = NULL;
  if (h < a && *h == '[') {
    const char *rb = memchr(h, ']', (size_t)(a - h));
    if (rb && rb + 1 < a && rb[1] == ':') colon = rb + 1;
  } else {
    colon = memchr(h, ':', (size_t)(a - h));
  }
  r->host = (span_t){h, (size_t)((colon ? colon : a) - h)};
  if (colon) r->port = (span_t){colon + 1, (size_t)(a - colon - 1)};
  r->has_auth = true;
  return a;
}

static void split_rest(const char *p, const char *end, parts_t *r) {
  const char *q = p;
  while (q < end && *q != '?' && *q != '#') q++;
  r->path = (span_t){p, (size_t)(q - p)};
  if (q < end && *q == '?') {
    const char *f = memchr(q, '#', (size_t)(end - q));
    if (!f) f = end;
    r->has_query = true;
    r->query = (span_t){q + 1, (size_t)(f - q - 1)};
    q = f;
  }
  if (q < end && *q == '#') {
    r->has_frag = true;
    r->frag = (span_t){q + 1, (size_t)(end - q - 1)};
  }
}

/* Splits a cleaned reference. A special scheme equal to the base's, not followed by a slash,
 * makes the rest relative (WHATWG "special relative or authority"). */
static int split(const char *s, size_t n, const parts_t *base, parts_t *r) {
  memset(r, 0, sizeof *r);
  const char *p = s, *end = s + n;
  if (p < end && is_alpha(*p)) {
    const char *q = p + 1;
    while (q < end && (is_alpha(*q) || is_digit(*q) || *q == '+' || *q == '-' || *q == '.')) q++;
    if (q < end && *q == ':' && (size_t)(q - p) < sizeof r->scheme) {
      for (size_t i = 0; i < (size_t)(q - p); i++) r->scheme[i] = lower(p[i]);
      r->has_scheme = true;
      r->special = is_special(r->scheme);
      p = q + 1;
    }
  }
  /* file: keeps "file:///path" (empty host); other special schemes skip any slashes. */
  bool file = strcmp(r->scheme, "file") == 0;
  if (r->has_scheme && r->special && !file) {
    bool same = base && strcmp(base->scheme, r->scheme) == 0;
    bool two = end - p >= 2 && is_slash(p[0], true) && is_slash(p[1], true);
    if (same && !two) {
      r->has_scheme = false; /* relative to the base */
    } else {
      while (p < end && is_slash(*p, true)) p++;
      p = split_authority(p, end, r);
      split_rest(p, end, r);
      return 0;
    }
  }
  if (!r->has_scheme) {
    if (!base) return -1;
    memcpy(r->scheme, base->scheme, sizeof r->scheme);
    r->special = base->special;
  }
  if (end - p >= 2 && is_slash(p[0], r->special) && is_slash(p[1], r->special)) {
    p += 2;
    if (r->special && strcmp(r->scheme, "file") != 0)
      while (p < end && is_slash(*p, true)) p++;
    p = split_authority(p, end, r);
  }
  split_rest(p, end, r);
  return 0;
}

static bool dot1(const char *s, size_t n) {
  return (n == 1 && s[0] == '.') || (n == 3 && strncasecmp(s, "%2e", 3) == 0);
}
static bool dot2(const char *s, size_t n) {
  if (n == 2) return s[0] == '.' && s[1] == '.';
  if (n == 4)
    return (s[0] == '.' && !strncasecmp(s + 1, "%2e", 3)) ||
           (!strncasecmp(s, "%2e", 3) && s[3] == '.');
  return n == 6 && !strncasecmp(s, "%2e%2e", 6);
}

/* Dot-segment removal on an absolute path (in[0] == '/'); out holds >= n + 1 bytes. */
static size_t remove_dots(char *out, const char *in, size_t n) {
  size_t o = 0, i = 0;
  while (i < n) {
    size_t j = i + 1;
    while (j < n && in[j] != '/') j++;
    const char *seg = in + i + 1;
    size_t sl = j - i - 1;
    bool last = j >= n;
    if (dot1(seg, sl)) {
      if (last) out[o++] = '/';
    } else if (dot2(seg, sl)) {
      while (o > 0 && out[o - 1] != '/') o--;
      if (o > 0) o--;
      if (last) out[o++] = '/';
    } else {
      out[o++] = '/';
      memcpy(out + o, seg, sl);
      o += sl;
    }
    i = j;
  }
  if (o == 0) out[o++] = '/';
  return o;
}

typedef struct {
  char *b;
  size_t n, cap;
} buf_t;

static void put(buf_t *b, const char *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    b->cap = (b->n + n + 1) * 2;
    b->b = fca_xrealloc(b->b, b->cap);
  }
  memcpy(b->b + b->n, s, n);
  b->n += n;
  b->b[b->n] = '\0';
}

enum { ENC_USERINFO, ENC_PATH, ENC_QUERY, ENC_FRAGMENT };

/* Percent-encodes controls, space, non-ASCII and the few characters WHATWG encodes per part, so
 * the href never holds a byte a URL cannot (and parsing it again gives the same href). */
static bool must_encode(unsigned char c, int part) {
  if (c < 0x21 || c > 0x7e || c == '"' || c == '<' || c == '>') return true;
  switch (part) {
  case ENC_PATH: return c == '`' || c == '{' || c == '}';
  case ENC_FRAGMENT: return c == '`';
  case ENC_USERINFO: return c == '/' || c == '@' || c == '\\';
  default: return false;
  }
}

static void put_enc(buf_t *b, const char *s, size_t n, int part) {
  static const char hex[] = "0123456789ABCDEF";
  size_t run = 0; /* start of the bytes copied as they are */
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!must_encode(c, part)) continue;
    put(b, s + run, i - run);
    char e[3] = {'%', hex[c >> 4], hex[c & 15]};
    put(b, e, 3);
    run = i + 1;
  }
  put(b, s + run, n - run);
}

static int hexval(char c) {
  if (is_digit(c)) return c - '0';
  c = lower(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Host: percent-decoded and lower-cased; characters a URL host cannot hold fail. */
static int put_host(buf_t *b, span_t h, bool special) {
  for (size_t i = 0; i < h.n; i++) {
    char c = h.p[i];
    if (c == '%' && special && i + 2 < h.n && hexval(h.p[i + 1]) >= 0 && hexval(h.p[i + 2]) >= 0) {
      c = (char)(hexval(h.p[i + 1]) * 16 + hexval(h.p[i + 2]));
      i += 2;
    }
    unsigned char u = (unsigned char)c;
    bool bracket = h.n > 0 && h.p[0] == '['; /* IPv6 literal */
    if (u <= 0x20 || u == 0x7f || c == '#' || c == '/' || c == '?' || c == '@' || c == '\\' ||
        c == '<' || c == '>' || c == '^' || c == '|' ||
        (!bracket && (c == '[' || c == ']' || c == ':')) || (special && c == '%'))
      return -1;
    char l = lower(c);
    put(b, &l, 1);
  }
  return 0;
}

static int build(const parts_t *t, const char *path, size_t path_len, fca_url_t *out) {
  buf_t b = {0};
  /* One allocation: every part at most triples when percent-encoded. */
  b.cap = strlen(t->scheme) + 16 + t->host.n + t->port.n +
          3 * (t->userinfo.n + path_len + t->query.n + t->frag.n);
  b.b = fca_xmalloc(b.cap);
  size_t o_scheme, o_user = 0, o_host = 0, o_port = 0, o_path, o_query = 0, o_frag = 0;
  size_t l_host = 0, l_port = 0, l_user = 0, l_path = 0, l_query = 0, l_frag = 0;
  int port_num = -1;
  o_scheme = b.n;
  put(&b, t->scheme, strlen(t->scheme));
  put(&b, ":", 1);
  if (t->has_auth) {
    put(&b, "//", 2);
    if (t->has_userinfo) {
      o_user = b.n;
      put_enc(&b, t->userinfo.p, t->userinfo.n, ENC_USERINFO);
      l_user = b.n - o_user;
      put(&b, "@", 1);
    }
    o_host = b.n;
    if (put_host(&b, t->host, t->special) < 0) goto fail;
    l_host = b.n - o_host;
    if (l_host == 0 && t->special && strcmp(t->scheme, "file") != 0) goto fail;
    int def = default_port(t->scheme);
    port_num = def;
    if (t->port.n) {
      long v = 0;
      for (size_t i = 0; i < t->port.n; i++) {
        if (!is_digit(t->port.p[i])) goto fail;
        v = v * 10 + (t->port.p[i] - '0');
        if (v > 65535) goto fail;
      }
      port_num = (int)v;
      if (v != def) {
        put(&b, ":", 1);
        o_port = b.n;
        char tmp[8];
        size_t k = sizeof tmp;
        do tmp[--k] = (char)('0' + v % 10), v /= 10;
        while (v);
        put(&b, tmp + k, sizeof tmp - k);
        l_port = sizeof tmp - k;
      }
    }
  }
  /* Without an authority a path starting "//" would read back as one: WHATWG writes "/." */
  if (!t->has_auth && path_len >= 2 && path[0] == '/' && path[1] == '/') put(&b, "/.", 2);
  o_path = b.n;
  put_enc(&b, path, path_len, ENC_PATH);
  l_path = b.n - o_path;
  if (t->has_query) {
    put(&b, "?", 1);
    o_query = b.n;
    put_enc(&b, t->query.p, t->query.n, ENC_QUERY);
    l_query = b.n - o_query;
  }
  if (t->has_frag) {
    put(&b, "#", 1);
    o_frag = b.n;
    put_enc(&b, t->frag.p, t->frag.n, ENC_FRAGMENT);
    l_frag = b.n - o_frag;
  }
  memset(out, 0, sizeof *out);
  out->href = b.b;
  out->scheme = b.b + o_scheme;
  out->scheme_len = strlen(t->scheme);
  out->userinfo = b.b + o_user;
  out->userinfo_len = l_user;
  out->host = b.b + o_host;
  out->host_len = l_host;
  out->port = b.b + o_port;
  out->port_len = l_port;
  out->port_num = t->has_auth ? port_num : -1;
  out->path = b.b + o_path;
  out->path_len = l_path;
  out->query = b.b + o_query;
  out->query_len = l_query;
  out->fragment = b.b + o_frag;
  out->fragment_len = l_frag;
  out->has_authority = t->has_auth;
  out->has_query = t->has_query;
  out->has_fragment = t->has_frag;
  out->special = t->special;
  return 0;
fail:
  free(b.b);
  return -1;
}

/* The target's path: normalised ('\' as '/' for special schemes, dot segments removed). */
static int finish(parts_t *t, const char *prefix, size_t prefix_len, fca_url_t *out) {
  size_t n = prefix_len + t->path.n;
  /* joined (n + 2) then normalised (n + 2), in one buffer: on the stack for most paths */
  char small[1024];
  char *joined = 2 * (n + 2) <= sizeof small ? small : fca_xmalloc(2 * (n + 2));
  char *norm = joined + n + 2;
  memcpy(joined, prefix, prefix_len);
  memcpy(joined + prefix_len, t->path.p, t->path.n);
  if (t->special)
    for (size_t i = 0; i < n; i++)
      if (joined[i] == '\\') joined[i] = '/';
  size_t nn;
  if (n > 0 && joined[0] == '/') {
    nn = remove_dots(norm, joined, n);
  } else if (n == 0 && t->special) {
    norm[0] = '/'; /* special URLs always have a path */
    nn = 1;
  } else {
    memcpy(norm, joined, n); /* empty, or opaque (mailto:, data:, javascript:) */
    nn = n;
  }
  int rc = build(t, norm, nn, out);
  if (joined != small) free(joined);
  return rc;
}

int fca_url_parse(const char *s, size_t n, fca_url_t *out) {
  return fca_url_resolve(NULL, 0, s, n, out);
}

int fca_url_resolve(const char *base, size_t base_len, const char *ref, size_t ref_len,
                    fca_url_t *out) {
  size_t bn = 0, rn;
  char rsmall[512], bsmall[512];
  char *bc = NULL, *rc = clean(ref, ref_len, &rn, rsmall, sizeof rsmall);
  parts_t b, r, t;
  int ret = -1;
  if (base) {
    bc = clean(base, base_len, &bn, bsmall, sizeof bsmall);
    if (split(bc, bn, NULL, &b) < 0 || !b.has_scheme) goto out;
  }
  if (split(rc, rn, base ? &b : NULL, &r) < 0) goto out;
  if (r.has_scheme) {
    ret = finish(&r, "", 0, out);
    goto out;
  }
  /* Relative: RFC 3986 5.2.2 against b. An opaque base only takes a fragment. */
  bool opaque = !b.has_auth && !(b.path.n > 0 && b.path.p[0] == '/') && !b.special;
  if (opaque && (r.has_auth || r.path.n || r.has_query)) goto out;
  t = r;
  memcpy(t.scheme, b.scheme, sizeof t.scheme);
  t.special = b.special;
  t.has_scheme = true;
  if (r.has_auth) {
    ret = finish(&t, "", 0, out);
    goto out;
  }
  t.has_auth = b.has_auth;
  t.has_userinfo = b.has_userinfo;
  t.userinfo = b.userinfo;
  t.host = b.host;
  t.port = b.port;
  if (r.path.n == 0) {
    t.path = b.path;
    if (!r.has_query) {
      t.has_query = b.has_query;
      t.query = b.query;
    }
    ret = opaque ? build(&t, b.path.p, b.path.n, out) : finish(&t, "", 0, out);
    goto out;
  }
  if (is_slash(r.path.p[0], t.special)) {
    ret = finish(&t, "", 0, out);
    goto out;
  }
  /* Merge: the base path up to its last '/', or "/" for an authority with an empty path. */
  size_t keep = 0;
  for (size_t i = 0; i < b.path.n; i++)
    if (is_slash(b.path.p[i], b.special)) keep = i + 1;
  if (keep == 0) {
    ret = finish(&t, "/", 1, out);
  } else {
    ret = finish(&t, b.path.p, keep, out);
  }
out:
  clean_done(bc, bsmall);
  clean_done(rc, rsmall);
  return ret;
}

void fca_url_free(fca_url_t *u) {
  if (!u) return;
  free(u->href);
  memset(u, 0, sizeof *u);
}
