/* detect: Stripe.js / Financial Connections matchers and the streaming literal scanner.
 * The scanner copies input into a fixed window and only reports matches that start before the
 * window's last FCA_LITSCAN_KEEP bytes (which carry over), so every match has its lookahead
 * (boundary checks, key characters) in one contiguous buffer whatever the slicing. */
#include "detect.h"

#include "fcaudit/util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool span_eq(const char *s, size_t n, const char *lit) {
  size_t l = strlen(lit);
  return n == l && memcmp(s, lit, l) == 0;
}

static bool span_ieq(const char *s, size_t n, const char *lit) {
  size_t l = strlen(lit);
  return n == l && strncasecmp(s, lit, l) == 0;
}

static bool is_lower_alpha(char c) { return c >= 'a' && c <= 'z'; }
static bool is_ascii_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

bool fca_detect_stripejs_url(const fca_url_t *u, bool protocol_relative) {
  bool https = span_eq(u->scheme, u->scheme_len, "https");
  bool http = span_eq(u->scheme, u->scheme_len, "http");
  if (!https && !(http && protocol_relative)) return false;
  if (!span_eq(u->host, u->host_len, "js.stripe.com") || u->port_len != 0) return false;
  const char *p = u->path;
  size_t n = u->path_len;
  if (span_eq(p, n, "/v3") || span_eq(p, n, "/v3/")) return true;
  /* /<train>/stripe.js */
  static const char tail[] = "/stripe.js";
  size_t tl = sizeof tail - 1;
  if (n < 1 + 1 + tl || p[0] != '/' || memcmp(p + n - tl, tail, tl) != 0) return false;
  for (size_t i = 1; i < n - tl; i++)
    if (!is_lower_alpha(p[i])) return false;
  return true;
}

bool fca_detect_protocol_relative(const char *s, size_t n) {
  while (n > 0 && (unsigned char)s[0] <= 0x20) s++, n--;
  return n >= 2 && (s[0] == '/' || s[0] == '\\') && (s[1] == '/' || s[1] == '\\');
}

bool fca_detect_stripejs_request(const char *url) {
  fca_url_t u;
  if (fca_url_parse(url, strlen(url), &u) != 0) return false;
  bool ok = fca_detect_stripejs_url(&u, false);
  fca_url_free(&u);
  return ok;
}

bool fca_detect_linked_accounts_inner(const fca_url_t *u) {
  if (!span_eq(u->scheme, u->scheme_len, "https") ||
      !span_eq(u->host, u->host_len, "js.stripe.com"))
    return false;
  static const char pre[] = "/v3/linked-accounts-inner-", suf[] = ".html";
  size_t pl = sizeof pre - 1, sl = sizeof suf - 1;
  return u->path_len >= pl + sl && memcmp(u->path, pre, pl) == 0 &&
         memcmp(u->path + u->path_len - sl, suf, sl) == 0;
}

static bool has_prefix(const char *p, size_t n, const char *pre) {
  size_t l = strlen(pre);
  return n >= l && memcmp(p, pre, l) == 0;
}

bool fca_detect_fc_api(const fca_url_t *u) {
  if (!span_eq(u->scheme, u->scheme_len, "https") ||
      !span_eq(u->host, u->host_len, "api.stripe.com"))
    return false;
  const char *p = u->path;
  size_t n = u->path_len;
  if (has_prefix(p, n, "/v1/link_account_sessions") || has_prefix(p, n, "/v1/connections/") ||
      has_prefix(p, n, "/v1/financial_connections/"))
    return true;
  /* /v1/<segment>/link_account_sessions... */
  if (!has_prefix(p, n, "/v1/")) return false;
  const char *seg = p + 4, *end = p + n;
  const char *slash = memchr(seg, '/', (size_t)(end - seg));
  return slash && slash > seg && has_prefix(slash, (size_t)(end - slash), "/link_account_sessions");
}

static bool host_under(const char *h, size_t n, const char *dom) {
  size_t l = strlen(dom);
  if (n == l) return strncasecmp(h, dom, l) == 0;
  return n > l && h[n - l - 1] == '.' && strncasecmp(h + n - l, dom, l) == 0;
}

bool fca_detect_stripe_host(const char *host, size_t n) {
  if (n > 0 && host[n - 1] == '.') n--; /* "stripe.com." */
  return host_under(host, n, "stripe.com") || host_under(host, n, "stripe.network");
}

/* ---- script types and content types ---------------------------------------------------- */

static const char *const js_mimes[] = {"application/ecmascript",
                                       "application/javascript",
                                       "application/x-ecmascript",
                                       "application/x-javascript",
                                       "text/ecmascript",
                                       "text/javascript",
                                       "text/javascript1.0",
                                       "text/javascript1.1",
                                       "text/javascript1.2",
                                       "text/javascript1.3",
                                       "text/javascript1.4",
                                       "text/javascript1.5",
                                       "text/jscript",
                                       "text/livescript",
                                       "text/x-ecmascript",
                                       "text/x-javascript"};

bool fca_detect_js_mime(const char *s, size_t n) {
  for (size_t i = 0; i < sizeof js_mimes / sizeof js_mimes[0]; i++)
    if (span_ieq(s, n, js_mimes[i])) return true;
  return false;
}

static void trim_ws(const char **s, size_t *n) {
  while (*n > 0 && is_ascii_ws((*s)[0])) (*s)++, (*n)--;
  while (*n > 0 && is_ascii_ws((*s)[*n - 1])) (*n)--;
}

bool fca_detect_script_runs(const fca_html_script_t *s) {
  bool classic;
  if (s->type.present && s->type.len == 0) {
    classic = true;
  } else if (s->type.present) {
    const char *t = s->type.ptr;
    size_t n = s->type.len;
    trim_ws(&t, &n);
    if (span_ieq(t, n, "module")) return true; /* modules ignore nomodule */
    if (!fca_detect_js_mime(t, n)) return false;
    classic = true;
  } else if (s->language.present && s->language.len > 0) {
    char buf[64];
    if (s->language.len > sizeof buf - 6) return false;
    memcpy(buf, "text/", 5);
    memcpy(buf + 5, s->language.ptr, s->language.len);
    if (!fca_detect_js_mime(buf, 5 + s->language.len)) return false;
    classic = true;
  } else {
    classic = true;
  }
  return classic && !s->nomodule;
}

/* The media type essence of a Content-Type value: up to ';', trimmed. */
static void essence(const char *v, size_t n, const char **e, size_t *en) {
  const char *semi = memchr(v, ';', n);
  size_t l = semi ? (size_t)(semi - v) : n;
  *e = v;
  *en = l;
  trim_ws(e, en);
}

bool fca_detect_ctype_html(const char *v, size_t n) {
  const char *e;
  size_t en;
  essence(v, n, &e, &en);
  return span_ieq(e, en, "text/html") || span_ieq(e, en, "application/xhtml+xml");
}

bool fca_detect_ctype_js(const char *v, size_t n) {
  const char *e;
  size_t en;
  essence(v, n, &e, &en);
  return fca_detect_js_mime(e, en);
}

bool fca_detect_ctype_json(const char *v, size_t n) {
  const char *e;
  size_t en;
  essence(v, n, &e, &en);
  return span_ieq(e, en, "application/json") ||
         (en > 5 && strncasecmp(e + en - 5, "+json", 5) == 0);
}

bool fca_detect_ctype_form(const char *v, size_t n) {
  const char *e;
  size_t en;
  essence(v, n, &e, &en);
  return span_ieq(e, en, "application/x-www-form-urlencoded");
}

bool fca_detect_accepts_html(const char *v, size_t n) {
  /* Any member whose essence is text/html, a text wildcard or the any-type wildcard (q=0 is not
   * worth the parse). */
  const char *p = v, *end = v + n;
  while (p < end) {
    const char *comma = memchr(p, ',', (size_t)(end - p));
    const char *q = comma ? comma : end;
    const char *e;
    size_t en;
    essence(p, (size_t)(q - p), &e, &en);
    if (span_ieq(e, en, "text/html") || span_ieq(e, en, "text/*") || span_ieq(e, en, "*/*") ||
        span_ieq(e, en, "application/xhtml+xml"))
      return true;
    p = comma ? comma + 1 : end;
  }
  return false;
}

/* ---- literal scanner ------------------------------------------------------------------- */

struct fca_litscan {
  fca_lit_fn fn;
  void *ud;
  uint64_t base; /* stream offset of win[0] */
  char prev;     /* the byte before win[0] ('\0' at stream start) */
  size_t len;
  char win[FCA_LITSCAN_WIN];
};

_Static_assert(FCA_LITSCAN_WIN > 2 * FCA_LITSCAN_KEEP, "window too small");
_Static_assert(FCA_LITSCAN_KEEP > FCA_LIT_VALUE_MAX + 40, "carry too small for a value");

const char *fca_lit_kind_name(fca_lit_kind_t k) {
  switch (k) {
  case FCA_LIT_STRIPEJS: return "stripejs-literal";
  case FCA_LIT_FC_METHOD: return "fc-method";
  case FCA_LIT_KEY_TEST: return "key";
  case FCA_LIT_KEY_LIVE: return "key";
  }
  return "?";
}

fca_litscan_t *fca_litscan_new(fca_lit_fn fn, void *ud) {
  fca_litscan_t *ls = fca_xmalloc(sizeof *ls);
  ls->fn = fn;
  ls->ud = ud;
  ls->base = 0;
  ls->prev = '\0';
  ls->len = 0;
  return ls;
}

void fca_litscan_free(fca_litscan_t *ls) { free(ls); }

static bool ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '$';
}
static bool alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
static bool host_char(char c) { return alnum(c) || c == '-' || c == '.'; }

static char before(const fca_litscan_t *ls, size_t i) { return i ? ls->win[i - 1] : ls->prev; }

static void find_literal(fca_litscan_t *ls, size_t limit) {
  static const char pat[] = "https://js.stripe.com";
  const size_t pl = sizeof pat - 1;
  const char *w = ls->win, *end = w + ls->len;
  for (const char *p = w; p < w + limit;) {
    p = memmem(p, (size_t)(end - p), pat, pl);
    if (!p || p >= w + limit) break;
    const char *q = p + pl;
    if (q < end && host_char(*q)) { /* js.stripe.com.evil.example, js.stripe.company */
      p++;
      continue;
    }
    while (q < end && q - p<FCA_LIT_VALUE_MAX && * q> ' ' && *q != '"' && *q != '\'' && *q != '`' &&
           *q != '<' && *q != '>' && *q != ')' && *q != '\\')
      q++;
    ls->fn(ls->ud, FCA_LIT_STRIPEJS, p, (size_t)(q - p), ls->base + (uint64_t)(p - w));
    p += pl;
  }
}

static void find_methods(fca_litscan_t *ls, size_t limit) {
  static const char pat[] = "collect";
  static const char *const tails[] = {"FinancialConnectionsAccounts", "BankAccountToken",
                                      "BankAccountForPayment", "BankAccountForSetup"};
  const size_t pl = sizeof pat - 1;
  const char *w = ls->win, *end = w + ls->len;
  for (const char *p = w; p < w + limit;) {
    p = memmem(p, (size_t)(end - p), pat, pl);
    if (!p || p >= w + limit) break;
    if (!ident_char(before(ls, (size_t)(p - w)))) {
      for (size_t t = 0; t < sizeof tails / sizeof tails[0]; t++) {
        size_t tl = strlen(tails[t]);
        const char *q = p + pl;
        if ((size_t)(end - q) >= tl && memcmp(q, tails[t], tl) == 0 &&
            (q + tl == end || !ident_char(q[tl]))) {
          ls->fn(ls->ud, FCA_LIT_FC_METHOD, p, pl + tl, ls->base + (uint64_t)(p - w));
          break;
        }
      }
    }
    p += pl;
  }
}

static void find_keys(fca_litscan_t *ls, size_t limit) {
  static const char pat[] = "pk_";
  const char *w = ls->win, *end = w + ls->len;
  for (const char *p = w; p < w + limit;) {
    p = memmem(p, (size_t)(end - p), pat, 3);
    if (!p || p >= w + limit) break;
    fca_lit_kind_t kind;
    if ((size_t)(end - p) >= 8 && memcmp(p, "pk_test_", 8) == 0)
      kind = FCA_LIT_KEY_TEST;
    else if ((size_t)(end - p) >= 8 && memcmp(p, "pk_live_", 8) == 0)
      kind = FCA_LIT_KEY_LIVE;
    else {
      p += 3;
      continue;
    }
    if (!ident_char(before(ls, (size_t)(p - w)))) {
      const char *q = p + 8;
      while (q < end && q - p < FCA_LIT_VALUE_MAX && alnum(*q)) q++;
      if (q - (p + 8) >= FCA_LIT_KEY_MIN)
        ls->fn(ls->ud, kind, p, (size_t)(q - p), ls->base + (uint64_t)(p - w));
    }
    p += 8;
  }
}

/* Reports matches starting before `limit` (all lookahead lies within win[0..len)). */
static void scan(fca_litscan_t *ls, size_t limit) {
  find_literal(ls, limit);
  find_methods(ls, limit);
  find_keys(ls, limit);
}

void fca_litscan_feed(fca_litscan_t *ls, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    size_t k = FCA_LITSCAN_WIN - ls->len;
    if (k > n) k = n;
    memcpy(ls->win + ls->len, p, k);
    ls->len += k;
    p += k;
    n -= k;
    if (ls->len == FCA_LITSCAN_WIN) {
      size_t limit = FCA_LITSCAN_WIN - FCA_LITSCAN_KEEP;
      scan(ls, limit);
      ls->prev = ls->win[limit - 1];
      memmove(ls->win, ls->win + limit, FCA_LITSCAN_KEEP);
      ls->len = FCA_LITSCAN_KEEP;
      ls->base += limit;
    }
  }
}

void fca_litscan_finish(fca_litscan_t *ls) {
  scan(ls, ls->len);
  ls->base += ls->len;
  ls->prev = ls->len ? ls->win[ls->len - 1] : ls->prev;
  ls->len = 0;
}

void fca_litscan_restart(fca_litscan_t *ls, uint64_t offset) {
  fca_litscan_finish(ls);
  ls->base = offset;
  ls->prev = '\0';
}
