/* csp_match: CSP3 §6.7 as a browser applies one enforced policy to a script element, an inline
 * script or event handler, a frame or a fetch: the governing directive (§6.8 fallback lists),
 * then the directive's pre-request or inline check. Section numbers in comments are those of
 * the W3C CSP Level 3 draft. The caller checks every enforced policy: any Blocked blocks. */
#include "csp.h"

#include "url.h"

#include <string.h>
#include <strings.h>

static bool span_ieq(fca_policy_str_t a, const char *b, size_t bn) {
  return a.n == bn && strncasecmp(a.s, b, bn) == 0;
}

/* §6.7.2.7 scheme-part matching: a matches b, or an insecure scheme upgrades to a secure one. */
static bool scheme_part_matches(const char *a, size_t an, const char *b, size_t bn) {
  fca_policy_str_t A = {a, an};
  if (span_ieq(A, b, bn)) return true;
  fca_policy_str_t B = {b, bn};
  if (span_ieq(A, "http", 4)) return span_ieq(B, "https", 5);
  if (span_ieq(A, "ws", 2))
    return span_ieq(B, "wss", 3) || span_ieq(B, "http", 4) || span_ieq(B, "https", 5);
  if (span_ieq(A, "wss", 3)) return span_ieq(B, "https", 5);
  return false;
}

static bool is_http_s(const fca_url_t *u) {
  return (u->scheme_len == 4 && memcmp(u->scheme, "http", 4) == 0) ||
         (u->scheme_len == 5 && memcmp(u->scheme, "https", 5) == 0);
}

/* A host that is an IP address literal rather than a domain. */
static bool host_is_ip(const char *h, size_t n) {
  if (n == 0 || h[0] == '[') return true;
  for (size_t i = 0; i < n; i++)
    if (!((h[i] >= '0' && h[i] <= '9') || h[i] == '.')) return false;
  return true; /* all digits and dots: an IPv4 address */
}

/* §6.7.2.8 host-part matching. Step 1 of the draft matches domains only; Chromium also
 * matches an IP-address host by "*" or by the same literal (verified in Chromium), and the
 * browser decides, so that is what this does. A "*." wildcard never matches an address. */
static bool host_part_matches(fca_policy_str_t pat, const char *host, size_t hn) {
  if (pat.n == 1 && pat.s[0] == '*') return true;
  bool ip = host_is_ip(host, hn);
  if (pat.n >= 2 && pat.s[0] == '*' && pat.s[1] == '.') {
    /* remaining = pattern without the leading '*': ".example.com"; host must end with it, so
     * the bare domain does not match (subdomains only). */
    size_t rn = pat.n - 1;
    return !ip && hn > rn && strncasecmp(host + hn - rn, pat.s + 1, rn) == 0;
  }
  return pat.n == hn && strncasecmp(pat.s, host, hn) == 0;
}

static int default_port(const char *scheme, size_t n) {
  fca_policy_str_t s = {scheme, n};
  if (span_ieq(s, "http", 4) || span_ieq(s, "ws", 2)) return 80;
  if (span_ieq(s, "https", 5) || span_ieq(s, "wss", 3)) return 443;
  if (span_ieq(s, "ftp", 3)) return 21;
  return -1;
}

/* §6.7.2.9 port-part matching (url's port is null when it is the scheme's default). */
static bool port_part_matches(fca_policy_str_t port, const fca_url_t *u) {
  if (port.n == 1 && port.s[0] == '*') return true;
  long want = -1; /* null */
  if (port.n) {
    want = 0;
    for (size_t i = 0; i < port.n && want < 100000; i++) want = want * 10 + (port.s[i] - '0');
  }
  long have = u->port_len ? u->port_num : -1;
  if (want == have) return true;
  if (have == -1 && want == default_port(u->scheme, u->scheme_len)) return true;
  return false;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Compares two path pieces after percent-decoding both. */
static bool piece_eq(const char *a, size_t an, const char *b, size_t bn) {
  size_t i = 0, j = 0;
  for (;;) {
    int ca = -1, cb = -1;
    if (i < an) {
      ca = (unsigned char)a[i];
      if (a[i] == '%' && i + 2 < an && hexval(a[i + 1]) >= 0 && hexval(a[i + 2]) >= 0) {
        ca = hexval(a[i + 1]) * 16 + hexval(a[i + 2]);
        i += 2;
      }
      i++;
    }
    if (j < bn) {
      cb = (unsigned char)b[j];
      if (b[j] == '%' && j + 2 < bn && hexval(b[j + 1]) >= 0 && hexval(b[j + 2]) >= 0) {
        cb = hexval(b[j + 1]) * 16 + hexval(b[j + 2]);
        j += 2;
      }
      j++;
    }
    if (ca != cb) return false;
    if (ca == -1) return true;
  }
}

/* §6.7.2.10 path-part matching. */
bool fca_csp_path_matches(fca_policy_str_t a, fca_policy_str_t b) {
  /* 1. an empty expression path matches; 2. "/" matches an empty URL path */
  if (a.n == 0) return true;
  if (a.n == 1 && a.s[0] == '/' && b.n == 0) return true;
  /* 3. exact match unless the expression path ends with "/" */
  bool exact = a.s[a.n - 1] != '/';
  /* 4. strictly split both on "/" */
  size_t na = 1, nb = 1;
  for (size_t i = 0; i < a.n; i++) na += a.s[i] == '/';
  for (size_t i = 0; i < b.n; i++) nb += b.s[i] == '/';
  /* 5, 6 */
  if (na > nb) return false;
  if (exact && na != nb) return false;
  /* 7. a prefix match drops the empty final piece of the expression */
  if (!exact) na--;
  /* 8. compare piece by piece, percent-decoded */
  size_t ia = 0, ib = 0;
  for (size_t k = 0; k < na; k++) {
    size_t ea = ia, eb = ib;
    while (ea < a.n && a.s[ea] != '/') ea++;
    while (eb < b.n && b.s[eb] != '/') eb++;
    if (!piece_eq(a.s + ia, ea - ia, b.s + ib, eb - ib)) return false;
    ia = ea + 1;
    ib = eb + 1;
  }
  return true;
}

static bool same_origin(const fca_url_t *a, const fca_url_t *b) {
  return a->scheme_len == b->scheme_len && memcmp(a->scheme, b->scheme, a->scheme_len) == 0 &&
         a->host_len == b->host_len && memcmp(a->host, b->host, a->host_len) == 0 &&
         a->port_num == b->port_num && a->has_authority && b->has_authority;
}

static bool url_matches_source(const fca_csp_source_t *src, const fca_url_t *u,
                               const fca_url_t *origin) {
  switch (src->kind) {
  case FCA_CSP_SRC_STAR:
    /* §6.7.2.6 step 1: "*" matches HTTP(S) URLs and URLs of the origin's own scheme */
    if (is_http_s(u)) return true;
    return origin && origin->scheme_len == u->scheme_len &&
           memcmp(origin->scheme, u->scheme, u->scheme_len) == 0;
  case FCA_CSP_SRC_SCHEME:
    /* step 2: a scheme-source matches on its scheme-part alone */
    return scheme_part_matches(src->scheme.s, src->scheme.n, u->scheme, u->scheme_len);
  case FCA_CSP_SRC_HOST:
    /* step 2.1: an explicit scheme-part must match */
    if (src->scheme.n &&
        !scheme_part_matches(src->scheme.s, src->scheme.n, u->scheme, u->scheme_len))
      return false;
    /* step 3.1: url's host must not be null */
    if (!u->has_authority || u->host_len == 0) return false;
    /* step 3.2: no scheme-part: the origin's scheme must match (http upgrades to https) */
    if (!src->scheme.n && (!origin || !scheme_part_matches(origin->scheme, origin->scheme_len,
                                                           u->scheme, u->scheme_len)))
      return false;
    /* steps 3.3 to 3.5: host, port */
    if (!host_part_matches(src->host, u->host, u->host_len)) return false;
    if (!port_part_matches(src->port, u)) return false;
    /* step 3.6: a non-empty path-part must match (redirect count 0) */
    if (src->path.n && !fca_csp_path_matches(src->path, (fca_policy_str_t){u->path, u->path_len}))
      return false;
    return true;
  case FCA_CSP_SRC_SELF:
    /* step 4: same origin, or same host upgraded to a secure scheme with default ports */
    if (!origin || !origin->has_authority) return false;
    if (same_origin(origin, u)) return true;
    if (origin->host_len != u->host_len || memcmp(origin->host, u->host, u->host_len) != 0)
      return false;
    {
      /* ports are null when they are their scheme's default */
      bool ports = (origin->port_len == 0 && u->port_len == 0) ||
                   (origin->port_len && u->port_len && origin->port_num == u->port_num);
      if (!ports) return false;
      fca_policy_str_t us = {u->scheme, u->scheme_len}, os = {origin->scheme, origin->scheme_len};
      if (span_ieq(us, "https", 5) || span_ieq(us, "wss", 3)) return true;
      return span_ieq(os, "http", 4) && (span_ieq(us, "http", 4) || span_ieq(us, "ws", 2));
    }
  default: return false; /* keywords, nonces, hashes, invalid: not URL matches */
  }
}

bool fca_csp_url_matches_source(const fca_csp_source_t *src, const char *url,
                                const char *page_url) {
  fca_url_t u, o;
  if (fca_url_parse(url, strlen(url), &u) != 0) return false;
  bool have_o = page_url && fca_url_parse(page_url, strlen(page_url), &o) == 0;
  bool r = url_matches_source(src, &u, have_o ? &o : NULL);
  fca_url_free(&u);
  if (have_o) fca_url_free(&o);
  return r;
}

/* §6.7.2.5 "Does url match source list in origin with redirect count". */
static bool list_matches(fca_policy_str_t value, const fca_url_t *u, const fca_url_t *origin) {
  size_t pos = 0, count = 0;
  fca_csp_source_t src;
  bool only_none = false;
  while (fca_csp_next_source(value, &pos, &src)) {
    count++;
    only_none = src.kind == FCA_CSP_SRC_NONE;
  }
  /* 2. an empty list, 3. a list that is exactly 'none': Does Not Match */
  if (count == 0 || (count == 1 && only_none)) return false;
  /* 4. any expression that matches ('none' among others is simply not a match) */
  pos = 0;
  while (fca_csp_next_source(value, &pos, &src))
    if (url_matches_source(&src, u, origin)) return true;
  return false;
}

bool fca_csp_url_matches_list(fca_policy_str_t value, const char *url, const char *page_url) {
  fca_url_t u, o;
  if (fca_url_parse(url, strlen(url), &u) != 0) return false;
  bool have_o = page_url && fca_url_parse(page_url, strlen(page_url), &o) == 0;
  bool r = list_matches(value, &u, have_o ? &o : NULL);
  fca_url_free(&u);
  if (have_o) fca_url_free(&o);
  return r;
}

/* §6.7.2.2 "Does nonce match source list": a non-empty nonce identical to a nonce-source. */
static bool nonce_matches(fca_policy_str_t nonce, fca_policy_str_t value) {
  if (nonce.n == 0) return false;
  size_t pos = 0;
  fca_csp_source_t src;
  while (fca_csp_next_source(value, &pos, &src))
    if (src.kind == FCA_CSP_SRC_NONCE && src.b64.n == nonce.n &&
        memcmp(src.b64.s, nonce.s, nonce.n) == 0)
      return true;
  return false;
}

static bool has_kind(fca_policy_str_t value, fca_csp_src_kind_t kind) {
  size_t pos = 0;
  fca_csp_source_t src;
  while (fca_csp_next_source(value, &pos, &src))
    if (src.kind == kind) return true;
  return false;
}

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }

/* §6.7.1.1 step 1.3: the integrity metadata (SRI "parse metadata": whitespace-separated
 * "alg-value[?options]", unknown algorithms skipped) is a bypass when it is not empty and every
 * item has a hash-source of the same algorithm and an identical base64-value. */
static bool integrity_bypass(fca_policy_str_t integrity, fca_policy_str_t value) {
  size_t i = 0, items = 0;
  while (i < integrity.n) {
    while (i < integrity.n && is_ws(integrity.s[i])) i++;
    size_t b = i;
    while (i < integrity.n && !is_ws(integrity.s[i])) i++;
    if (i == b) break;
    const char *t = integrity.s + b;
    size_t tn = i - b;
    const char *q = memchr(t, '?', tn);
    if (q) tn = (size_t)(q - t);
    const char *dash = memchr(t, '-', tn);
    if (!dash) continue;
    size_t an = (size_t)(dash - t);
    int alg = -1;
    if (an == 6 && strncasecmp(t, "sha256", 6) == 0) alg = FCA_SHA256;
    if (an == 6 && strncasecmp(t, "sha384", 6) == 0) alg = FCA_SHA384;
    if (an == 6 && strncasecmp(t, "sha512", 6) == 0) alg = FCA_SHA512;
    if (alg < 0) continue; /* not a hash function the user agent knows */
    items++;
    fca_policy_str_t val = {dash + 1, tn - an - 1};
    bool found = false;
    size_t pos = 0;
    fca_csp_source_t src;
    while (!found && fca_csp_next_source(value, &pos, &src))
      found = src.kind == FCA_CSP_SRC_HASH && (int)src.alg == alg && src.b64.n == val.n &&
              memcmp(src.b64.s, val.s, val.n) == 0;
    if (!found) return false;
  }
  return items > 0;
}

/* §6.7.3.2 "Does a source list allow all inline behavior for type" (script types). */
static bool allows_all_inline(fca_policy_str_t value) {
  bool allow = false;
  size_t pos = 0;
  fca_csp_source_t src;
  while (fca_csp_next_source(value, &pos, &src)) {
    if (src.kind == FCA_CSP_SRC_NONCE || src.kind == FCA_CSP_SRC_HASH) return false;
    if (src.kind == FCA_CSP_SRC_STRICT_DYNAMIC) return false;
    if (src.kind == FCA_CSP_SRC_UNSAFE_INLINE) allow = true;
  }
  return allow;
}

/* A hash-source's base64-value against a digest: base64url characters are read as base64
 * (CSP3 §6.7.3.3 step 4: "-" is "+", "_" is "/"), padding compared as written. */
static bool hash_matches(const fca_csp_source_t *src, const fca_csp_request_t *req) {
  if (!req->digest_ok[src->alg]) return false;
  char b64[2 * FCA_SHA2_MAX_DIGEST];
  size_t n = fca_base64_encode(req->digest[src->alg], fca_sha2_digest_len(src->alg), b64);
  if (src->b64.n != n) return false;
  for (size_t i = 0; i < n; i++) {
    char c = src->b64.s[i];
    if (c == '-') c = '+';
    if (c == '_') c = '/';
    if (c != b64[i]) return false;
  }
  return true;
}

/* §6.7.3.3 "Does element match source list for type and source" for inline script and
 * script attribute; sets *why. */
static bool inline_matches(fca_policy_str_t value, const fca_csp_request_t *req,
                           fca_csp_why_t *why) {
  bool attr = req->kind == FCA_CSP_SCRIPT_ATTR;
  /* 1. 'unsafe-inline' in effect */
  if (allows_all_inline(value)) {
    *why = FCA_CSP_WHY_UNSAFE_INLINE;
    return true;
  }
  /* 2. a script element that is nonceable with a matching nonce (not attributes) */
  if (!attr && req->nonceable && nonce_matches(req->nonce, value)) {
    *why = FCA_CSP_WHY_NONCE;
    return true;
  }
  /* 3, 4. hashes: for script elements always, for attributes only with 'unsafe-hashes' */
  if (!attr || has_kind(value, FCA_CSP_SRC_UNSAFE_HASHES)) {
    size_t pos = 0;
    fca_csp_source_t src;
    while (fca_csp_next_source(value, &pos, &src))
      if (src.kind == FCA_CSP_SRC_HASH && hash_matches(&src, req)) {
        *why = FCA_CSP_WHY_HASH;
        return true;
      }
  }
  *why =
      has_kind(value, FCA_CSP_SRC_UNSAFE_INLINE) ? FCA_CSP_WHY_INLINE_IGNORED : FCA_CSP_WHY_INLINE;
  return false;
}

/* §6.7.1.1 "Script directives pre-request check" for a script-like request. */
static bool script_prerequest(fca_policy_str_t value, const fca_csp_request_t *req,
                              const fca_url_t *u, const fca_url_t *origin, fca_csp_why_t *why) {
  /* 1.1 a matching nonce */
  if (req->nonceable && nonce_matches(req->nonce, value)) {
    *why = FCA_CSP_WHY_NONCE;
    return true;
  }
  /* 1.2, 1.3 hash-sources against the request's integrity metadata */
  if (has_kind(value, FCA_CSP_SRC_HASH) && integrity_bypass(req->integrity, value)) {
    *why = FCA_CSP_WHY_HASH;
    return true;
  }
  /* 1.4 'strict-dynamic': parser-inserted scripts are blocked, others allowed; host, scheme,
   * 'self' and 'unsafe-inline' are not consulted at all */
  if (has_kind(value, FCA_CSP_SRC_STRICT_DYNAMIC)) {
    *why = FCA_CSP_WHY_STRICT_DYNAMIC;
    return !req->parser_inserted;
  }
  /* 1.5 "Does request match source list" */
  *why = FCA_CSP_WHY_SOURCE;
  return u && list_matches(value, u, origin);
}

void fca_csp_check(fca_policy_str_t policy, const fca_csp_request_t *req, const char *page_url,
                   fca_csp_verdict_t *out) {
  memset(out, 0, sizeof *out);
  out->fallback_index = fca_csp_governing(policy, req->kind, &out->directive);
  if (out->fallback_index < 0) {
    out->result = FCA_CSP_ALLOWED_NO_DIRECTIVE;
    return;
  }
  out->directive_name = fca_csp_fallback(req->kind)[out->fallback_index];
  fca_policy_str_t value = out->directive.value;
  fca_url_t u, o;
  bool have_u = req->url && fca_url_parse(req->url, strlen(req->url), &u) == 0;
  bool have_o = page_url && fca_url_parse(page_url, strlen(page_url), &o) == 0;
  bool ok;
  switch (req->kind) {
  case FCA_CSP_SCRIPT_ELEM:
    if (req->url) {
      ok = script_prerequest(value, req, have_u ? &u : NULL, have_o ? &o : NULL, &out->why);
      break;
    }
    ok = inline_matches(value, req, &out->why);
    break;
  case FCA_CSP_SCRIPT_ATTR: ok = inline_matches(value, req, &out->why); break;
  default:
    out->why = FCA_CSP_WHY_SOURCE;
    ok = have_u && list_matches(value, &u, have_o ? &o : NULL);
    break;
  }
  out->result = ok ? FCA_CSP_ALLOWED : FCA_CSP_BLOCKED;
  if (have_u) fca_url_free(&u);
  if (have_o) fca_url_free(&o);
}

void fca_csp_hash_algs(fca_policy_str_t policy, fca_csp_kind_t kind, bool algs[3]) {
  fca_csp_directive_t d;
  if (fca_csp_governing(policy, kind, &d) < 0) return;
  size_t pos = 0;
  fca_csp_source_t src;
  while (fca_csp_next_source(d.value, &pos, &src))
    if (src.kind == FCA_CSP_SRC_HASH) algs[src.alg] = true;
}

void fca_csp_digest_init(fca_csp_digest_t *d, const bool algs[3]) {
  memset(d, 0, sizeof *d);
  for (int a = 0; a < 3; a++)
    if ((d->on[a] = algs[a])) fca_sha2_init(&d->sha[a], (fca_sha2_alg_t)a);
}

static void digest_put(fca_csp_digest_t *d, const char *p, size_t n) {
  for (int a = 0; a < 3; a++)
    if (d->on[a] && n) fca_sha2_update(&d->sha[a], p, n);
}

void fca_csp_digest_update(fca_csp_digest_t *d, const void *data, size_t n) {
  const char *p = data;
  size_t b = 0;
  if (n == 0) return;
  if (d->cr && p[0] == '\n') b = 1; /* the "\n" of a "\r\n" split across slices */
  d->cr = false;
  for (size_t i = b; i < n; i++) {
    if (p[i] != '\r') continue;
    digest_put(d, p + b, i - b);
    digest_put(d, "\n", 1);
    if (i + 1 < n && p[i + 1] == '\n')
      i++;
    else if (i + 1 == n)
      d->cr = true;
    b = i + 1;
  }
  digest_put(d, p + b, n - b);
}

void fca_csp_digest_final(fca_csp_digest_t *d, fca_csp_request_t *req) {
  for (int a = 0; a < 3; a++) {
    req->digest_ok[a] = d->on[a];
    if (d->on[a]) fca_sha2_final(&d->sha[a], req->digest[a]);
  }
}

static bool has_ci(const char *s, size_t n, const char *lit) {
  size_t ln = strlen(lit);
  for (size_t i = 0; i + ln <= n; i++)
    if (strncasecmp(s + i, lit, ln) == 0) return true;
  return false;
}

bool fca_csp_element_nonceable(const fca_html_tag_t *t) {
  /* 1. no nonce attribute: not nonceable */
  if (!fca_html_tag_attr(t, "nonce").present) return false;
  /* 2. a script whose attributes smuggle markup (a dangling injection that swallowed the
   * nonce of a following tag) */
  for (size_t i = 0; i < t->nattrs; i++) {
    const fca_html_attr_t *a = &t->attrs[i];
    if (has_ci(a->name, a->name_len, "<script") || has_ci(a->name, a->name_len, "<style") ||
        has_ci(a->value, a->value_len, "<script") || has_ci(a->value, a->value_len, "<style"))
      return false;
  }
  /* 3. a duplicate-attribute parse error */
  return !t->duplicate_attrs;
}
