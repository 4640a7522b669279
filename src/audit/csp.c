/* csp: reading Content-Security-Policy as CSP3 §2.2 "parse a serialized CSP (list)" and §2.3.1
 * (source expression grammar) say, plus the sandbox directive (FC-SBX-3). Every header line, and
 * every comma inside one, is a separate policy and all are enforced; directives split on ';',
 * names compare case-insensitively, and the first of two directives with one name wins. Each
 * sandboxing policy adds its restrictions (allowed tokens intersect). Report-only policies never
 * sandbox; they are only noted. Nothing here allocates: results are spans of the input. */
#include "csp.h"

#include <string.h>
#include <strings.h>

static bool is_ascii_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}
static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool ieq(fca_policy_str_t s, const char *lit) {
  size_t n = strlen(lit);
  return s.n == n && strncasecmp(s.s, lit, n) == 0;
}

/* ---- §2.2.2 parse a serialized CSP list ------------------------------------------------- */
bool fca_csp_next_policy(fca_policy_str_t list, size_t *pos, fca_policy_str_t *policy) {
  while (*pos <= list.n) {
    size_t b = *pos, e = b;
    while (e < list.n && list.s[e] != ',') e++;
    *pos = e + 1;
    fca_policy_str_t pol = {list.s + b, e - b};
    size_t dp = 0;
    fca_csp_directive_t d;
    /* Step 2.2: a policy whose directive set is empty is not added. */
    if (!fca_csp_next_directive(pol, &dp, &d)) continue;
    *policy = pol;
    return true;
  }
  return false;
}

/* ---- §2.2.1 parse a serialized CSP ------------------------------------------------------ */
bool fca_csp_next_directive(fca_policy_str_t pol, size_t *pos, fca_csp_directive_t *d) {
  while (*pos <= pol.n) {
    /* Step 2: for each token from strictly splitting serialized on ';' */
    size_t b = *pos, e = b;
    while (e < pol.n && pol.s[e] != ';') e++;
    *pos = e + 1;
    /* 2.1 strip leading and trailing ASCII whitespace */
    while (b < e && is_ascii_ws(pol.s[b])) b++;
    while (e > b && is_ascii_ws(pol.s[e - 1])) e--;
    /* 2.2 empty, or not an ASCII string: continue */
    if (b == e) continue;
    bool ascii = true;
    for (size_t k = b; k < e; k++)
      if ((unsigned char)pol.s[k] >= 0x80) ascii = false;
    if (!ascii) continue;
    /* 2.3 the name: code points that are not ASCII whitespace (lower-cased when compared) */
    size_t ne = b;
    while (ne < e && !is_ascii_ws(pol.s[ne])) ne++;
    size_t vb = ne;
    while (vb < e && is_ascii_ws(pol.s[vb])) vb++;
    d->name = (fca_policy_str_t){pol.s + b, ne - b};
    d->value = (fca_policy_str_t){pol.s + vb, e - vb};
    return true;
  }
  return false;
}

bool fca_csp_find(fca_policy_str_t pol, const char *name, fca_csp_directive_t *d) {
  size_t pos = 0;
  /* 2.5: a later directive with a name already in the set is skipped: the first wins. */
  while (fca_csp_next_directive(pol, &pos, d))
    if (ieq(d->name, name)) return true;
  return false;
}

/* ---- §2.3.1 source expressions ---------------------------------------------------------- */
static bool is_b64_char(char c) {
  return is_alpha(c) || is_digit(c) || c == '+' || c == '/' || c == '-' || c == '_';
}

/* base64-value = 1*( ALPHA / DIGIT / "+" / "/" / "-" / "_" ) *2( "=" ) */
static bool is_b64_value(const char *s, size_t n) {
  size_t i = 0;
  while (i < n && is_b64_char(s[i])) i++;
  if (i == 0) return false;
  size_t eq = 0;
  while (i < n && s[i] == '=') i++, eq++;
  return i == n && eq <= 2;
}

/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ); returns its length (0 = none). */
static size_t scheme_len(const char *s, size_t n) {
  if (n == 0 || !is_alpha(s[0])) return 0;
  size_t i = 1;
  while (i < n && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.'))
    i++;
  return i;
}

static bool is_host_char(char c) { return is_alpha(c) || is_digit(c) || c == '-'; }

/* host-part = "*" / [ "*." ] 1*host-char *( "." 1*host-char ) [ "." ]; returns its length. */
static size_t host_len(const char *s, size_t n) {
  size_t i = 0;
  if (n >= 1 && s[0] == '*') {
    if (n == 1 || s[1] != '.') return 1;
    i = 2;
  }
  size_t l = i;
  while (i < n && is_host_char(s[i])) i++;
  if (i == l) return 0;
  while (i < n && s[i] == '.') {
    size_t j = i + 1, k = j;
    while (k < n && is_host_char(s[k])) k++;
    if (k == j) return i + 1; /* the optional trailing "." */
    i = k;
  }
  return i;
}

static bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* pchar = unreserved / pct-encoded / sub-delims / ":" / "@" */
static bool is_pchar_at(const char *s, size_t n, size_t i, size_t *adv) {
  char c = s[i];
  *adv = 1;
  if (is_alpha(c) || is_digit(c) || (c && strchr("-._~!$&'()*+,;=:@", c))) return true;
  if (c == '%' && i + 2 < n && is_hex(s[i + 1]) && is_hex(s[i + 2])) {
    *adv = 3;
    return true;
  }
  return false;
}

/* path-part = path-absolute (RFC 3986: "/" [ segment-nz *( "/" segment ) ], so never "//") */
static bool is_path_absolute(const char *s, size_t n) {
  if (n == 0 || s[0] != '/') return false;
  if (n >= 2 && s[1] == '/') return false;
  for (size_t i = 1; i < n;) {
    if (s[i] == '/') {
      i++;
      continue;
    }
    size_t adv;
    if (!is_pchar_at(s, n, i, &adv)) return false;
    i += adv;
  }
  return true;
}

static const struct {
  const char *text;
  fca_csp_src_kind_t kind;
} keywords[] = {
    {"'none'", FCA_CSP_SRC_NONE},
    {"'self'", FCA_CSP_SRC_SELF},
    {"'unsafe-inline'", FCA_CSP_SRC_UNSAFE_INLINE},
    {"'unsafe-eval'", FCA_CSP_SRC_UNSAFE_EVAL},
    {"'strict-dynamic'", FCA_CSP_SRC_STRICT_DYNAMIC},
    {"'unsafe-hashes'", FCA_CSP_SRC_UNSAFE_HASHES},
    {"'report-sample'", FCA_CSP_SRC_REPORT_SAMPLE},
    {"'unsafe-allow-redirects'", FCA_CSP_SRC_KEYWORD},
    {"'wasm-unsafe-eval'", FCA_CSP_SRC_KEYWORD},
    {"'trusted-types-eval'", FCA_CSP_SRC_KEYWORD},
    {"'report-sha256'", FCA_CSP_SRC_KEYWORD},
    {"'report-sha384'", FCA_CSP_SRC_KEYWORD},
    {"'report-sha512'", FCA_CSP_SRC_KEYWORD},
    {"'inline-speculation-rules'", FCA_CSP_SRC_KEYWORD},
};

void fca_csp_parse_source(const char *s, size_t n, fca_csp_source_t *out) {
  memset(out, 0, sizeof *out);
  out->text = (fca_policy_str_t){s, n};
  out->kind = FCA_CSP_SRC_INVALID;
  fca_policy_str_t t = out->text;
  if (n == 0) return;
  /* keyword-source: matched ASCII case-insensitively, quotes included */
  for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
    if (ieq(t, keywords[i].text)) {
      out->kind = keywords[i].kind;
      return;
    }
  if (s[0] == '\'') {
    /* nonce-source = "'nonce-" base64-value "'" */
    if (n > 8 && strncasecmp(s, "'nonce-", 7) == 0 && s[n - 1] == '\'' &&
        is_b64_value(s + 7, n - 8)) {
      out->kind = FCA_CSP_SRC_NONCE;
      out->b64 = (fca_policy_str_t){s + 7, n - 8};
      return;
    }
    /* hash-source = "'" hash-algorithm "-" base64-value "'" */
    static const struct {
      const char *p;
      fca_sha2_alg_t alg;
    } algs[] = {{"'sha256-", FCA_SHA256}, {"'sha384-", FCA_SHA384}, {"'sha512-", FCA_SHA512}};
    for (size_t i = 0; i < 3; i++)
      if (n > 9 && strncasecmp(s, algs[i].p, 8) == 0 && s[n - 1] == '\'' &&
          is_b64_value(s + 8, n - 9)) {
        out->kind = FCA_CSP_SRC_HASH;
        out->alg = algs[i].alg;
        out->b64 = (fca_policy_str_t){s + 8, n - 9};
        return;
      }
    return; /* an unknown quoted token: invalid */
  }
  if (n == 1 && s[0] == '*') {
    out->kind = FCA_CSP_SRC_STAR;
    return;
  }
  /* scheme-source = scheme-part ":" */
  size_t sl = scheme_len(s, n);
  if (sl && sl + 1 == n && s[sl] == ':') {
    out->kind = FCA_CSP_SRC_SCHEME;
    out->scheme = (fca_policy_str_t){s, sl};
    return;
  }
  /* host-source = [ scheme-part "://" ] host-part [ ":" port-part ] [ path-part ] */
  size_t i = 0;
  if (sl && n - sl >= 3 && memcmp(s + sl, "://", 3) == 0) {
    out->scheme = (fca_policy_str_t){s, sl};
    i = sl + 3;
  }
  size_t hl = host_len(s + i, n - i);
  if (!hl) return;
  out->host = (fca_policy_str_t){s + i, hl};
  i += hl;
  if (i < n && s[i] == ':') {
    size_t pb = ++i;
    if (i < n && s[i] == '*')
      i++;
    else
      while (i < n && is_digit(s[i])) i++;
    if (i == pb) return; /* ":" without a port */
    out->port = (fca_policy_str_t){s + pb, i - pb};
  }
  if (i < n) {
    if (!is_path_absolute(s + i, n - i)) return;
    out->path = (fca_policy_str_t){s + i, n - i};
  }
  out->kind = FCA_CSP_SRC_HOST;
}

bool fca_csp_next_source(fca_policy_str_t v, size_t *pos, fca_csp_source_t *src) {
  size_t i = *pos;
  while (i < v.n && is_ascii_ws(v.s[i])) i++;
  if (i >= v.n) {
    *pos = v.n;
    return false;
  }
  size_t b = i;
  while (i < v.n && !is_ascii_ws(v.s[i])) i++;
  *pos = i;
  fca_csp_parse_source(v.s + b, i - b, src);
  return true;
}

/* ---- §6.8 effective directives ---------------------------------------------------------- */
const char *const *fca_csp_fallback(fca_csp_kind_t kind) {
  static const char *const elem[] = {"script-src-elem", "script-src", "default-src", NULL};
  static const char *const attr[] = {"script-src-attr", "script-src", "default-src", NULL};
  static const char *const frame[] = {"frame-src", "child-src", "default-src", NULL};
  static const char *const connect[] = {"connect-src", "default-src", NULL};
  switch (kind) {
  case FCA_CSP_SCRIPT_ELEM: return elem;
  case FCA_CSP_SCRIPT_ATTR: return attr;
  case FCA_CSP_FRAME: return frame;
  case FCA_CSP_CONNECT:
  case FCA_CSP_KIND_COUNT: break;
  }
  return connect;
}

int fca_csp_governing(fca_policy_str_t pol, fca_csp_kind_t kind, fca_csp_directive_t *d) {
  const char *const *list = fca_csp_fallback(kind);
  /* §6.8.4: a directive executes when it is the first name of the fallback list that the
   * policy contains. */
  for (int i = 0; list[i]; i++)
    if (fca_csp_find(pol, list[i], d)) return i;
  return -1;
}

/* ---- the sandbox directive (FC-SBX-3) --------------------------------------------------- */
static void sandbox_lines(const fca_policy_str_t *lines, size_t nlines, bool enforce,
                          fca_csp_sandbox_t *out) {
  for (size_t l = 0; l < nlines; l++) {
    size_t pos = 0;
    fca_policy_str_t pol;
    while (fca_csp_next_policy(lines[l], &pos, &pol)) {
      fca_csp_directive_t d;
      if (!fca_csp_find(pol, "sandbox", &d)) continue;
      if (!enforce) {
        out->report_only_sandbox = true;
        continue;
      }
      uint32_t allow = fca_sandbox_parse_tokens(d.value.s, d.value.n);
      out->sandbox = fca_sandbox_intersect(out->sandbox, (fca_sandbox_t){true, allow});
      if (out->recorded < FCA_CSP_SANDBOX_MAX)
        out->policies[out->recorded++] = (fca_csp_sandbox_policy_t){
            .line = l,
            .pol_off = (size_t)(pol.s - lines[l].s),
            .pol_len = pol.n,
            .val_off = (size_t)(d.value.s - lines[l].s),
            .val_len = d.value.n,
            .allow = allow,
        };
      out->count++;
    }
  }
}

void fca_csp_sandbox(const fca_policy_str_t *enforce, size_t nenforce,
                     const fca_policy_str_t *report_only, size_t nreport_only,
                     fca_csp_sandbox_t *out) {
  memset(out, 0, sizeof *out);
  out->sandbox = FCA_SANDBOX_NONE;
  sandbox_lines(enforce, nenforce, true, out);
  sandbox_lines(report_only, nreport_only, false, out);
}
