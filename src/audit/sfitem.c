/* sfitem: RFC 8941 structured-field Item parser, the grammar browsers apply to COOP and COEP.
 * Strict like the RFC: any byte outside the grammar (a second item, whitespace before ';', an
 * uppercase parameter key, a non-ASCII byte) makes the whole value invalid, never a partial
 * result. Parameter values are validated but not kept: the policies only need the bare item. */
#include "policy.h"

typedef struct {
  const char *s;
  size_t n, i;
} cur_t;

static bool is_digit(int c) { return c >= '0' && c <= '9'; }
static bool is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_lcalpha(int c) { return c >= 'a' && c <= 'z'; }

/* RFC 9110 tchar */
static bool is_tchar(int c) {
  if (is_alpha(c) || is_digit(c)) return true;
  switch (c) {
  case '!':
  case '#':
  case '$':
  case '%':
  case '&':
  case '\'':
  case '*':
  case '+':
  case '-':
  case '.':
  case '^':
  case '_':
  case '`':
  case '|':
  case '~': return true;
  default: return false;
  }
}

static int peek(const cur_t *c) { return c->i < c->n ? (unsigned char)c->s[c->i] : -1; }

static void skip_sp(cur_t *c) {
  while (peek(c) == ' ') c->i++;
}

static int parse_number(cur_t *c, fca_sf_type_t *type) {
  bool decimal = false;
  size_t ndigits = 0, frac = 0;
  if (peek(c) == '-') c->i++;
  if (!is_digit(peek(c))) return -1;
  for (;;) {
    int ch = peek(c);
    if (is_digit(ch)) {
      c->i++;
      ndigits++;
      if (decimal) frac++;
    } else if (ch == '.' && !decimal) {
      if (ndigits > 12) return -1;
      c->i++;
      ndigits++; /* the RFC counts the '.' in the 16-character limit */
      decimal = true;
    } else {
      break;
    }
    if (!decimal && ndigits > 15) return -1;
    if (decimal && ndigits > 16) return -1;
  }
  if (decimal && (frac == 0 || frac > 3)) return -1;
  *type = decimal ? FCA_SF_DECIMAL : FCA_SF_INTEGER;
  return 0;
}

static int parse_string(cur_t *c) {
  c->i++; /* '"' */
  while (c->i < c->n) {
    int ch = (unsigned char)c->s[c->i++];
    if (ch == '\\') {
      int nx = peek(c);
      if (nx != '"' && nx != '\\') return -1;
      c->i++;
    } else if (ch == '"') {
      return 0;
    } else if (ch < 0x20 || ch > 0x7e) {
      return -1;
    }
  }
  return -1; /* unterminated */
}

static int parse_token(cur_t *c) {
  int ch = peek(c);
  if (!is_alpha(ch) && ch != '*') return -1;
  c->i++;
  while (c->i < c->n) {
    ch = (unsigned char)c->s[c->i];
    if (!is_tchar(ch) && ch != ':' && ch != '/') break;
    c->i++;
  }
  return 0;
}

static int parse_bytes(cur_t *c) {
  c->i++; /* ':' */
  while (c->i < c->n) {
    int ch = (unsigned char)c->s[c->i++];
    if (ch == ':') return 0;
    if (!is_alpha(ch) && !is_digit(ch) && ch != '+' && ch != '/' && ch != '=') return -1;
  }
  return -1;
}

static int parse_boolean(cur_t *c) {
  c->i++; /* '?' */
  int ch = peek(c);
  if (ch != '0' && ch != '1') return -1;
  c->i++;
  return 0;
}

static int parse_bare_item(cur_t *c, fca_sf_type_t *type) {
  int ch = peek(c);
  if (ch == '-' || is_digit(ch)) return parse_number(c, type);
  if (ch == '"') return *type = FCA_SF_STRING, parse_string(c);
  if (ch == '*' || is_alpha(ch)) return *type = FCA_SF_TOKEN, parse_token(c);
  if (ch == ':') return *type = FCA_SF_BYTES, parse_bytes(c);
  if (ch == '?') return *type = FCA_SF_BOOLEAN, parse_boolean(c);
  return -1;
}

static int parse_key(cur_t *c) {
  int ch = peek(c);
  if (!is_lcalpha(ch) && ch != '*') return -1;
  c->i++;
  for (;;) {
    ch = peek(c);
    if (!is_lcalpha(ch) && !is_digit(ch) && ch != '_' && ch != '-' && ch != '.' && ch != '*') break;
    c->i++;
  }
  return 0;
}

static int parse_parameters(cur_t *c, size_t *count) {
  *count = 0;
  while (peek(c) == ';') {
    c->i++;
    skip_sp(c);
    if (parse_key(c) < 0) return -1;
    if (peek(c) == '=') {
      c->i++;
      fca_sf_type_t t;
      if (parse_bare_item(c, &t) < 0) return -1;
    }
    (*count)++;
  }
  return 0;
}

int fca_sf_parse_item(const char *s, size_t n, fca_sf_item_t *out) {
  cur_t c = {s, n, 0};
  fca_sf_item_t it = {0};
  skip_sp(&c);
  it.off = c.i;
  if (parse_bare_item(&c, &it.type) < 0) return -1;
  it.len = c.i - it.off;
  if (parse_parameters(&c, &it.nparams) < 0) return -1;
  skip_sp(&c);
  if (c.i != c.n) return -1;
  *out = it;
  return 0;
}

static bool ows(char c) { return c == ' ' || c == '\t'; }

int fca_sf_single_token(const fca_policy_str_t *lines, size_t nlines, bool *present,
                        size_t *tok_off, size_t *tok_len) {
  *present = nlines > 0;
  if (nlines != 1) return 0;
  const char *s = lines[0].s;
  size_t b = 0, e = lines[0].n;
  while (b < e && ows(s[b])) b++;
  while (e > b && ows(s[e - 1])) e--;
  fca_sf_item_t it;
  if (fca_sf_parse_item(s + b, e - b, &it) < 0 || it.type != FCA_SF_TOKEN) return 0;
  *tok_off = b + it.off;
  *tok_len = it.len;
  return 1;
}
