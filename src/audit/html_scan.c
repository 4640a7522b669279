/* html_scan: an incremental HTML tokenizer for the audit. The states are the WHATWG tokenizer's
 * (data, tag, attribute, comment, raw text/RCDATA, the script data escape states, character
 * references in attribute values); the tree-builder decisions that switch tokenizer states are
 * taken from the tag name alone. Every state lives in the struct, so any byte can end a chunk.
 * Bytes that may begin a raw-text end tag ("</scr") are held in `pend` until decided, so inline
 * script text is delivered exactly once, in order. Simplifications (documented in the header
 * and the report): no foreign content (svg/math), DOCTYPE and CDATA are skipped as comments,
 * the named reference table is a subset, NUL is not replaced in script text. */
#include "fcaudit/html_scan.h"

#include "fcaudit/util.h"
#include "html_charref.h"

#include <stdlib.h>
#include <string.h>

enum {
  S_DATA,
  S_TAG_OPEN,
  S_END_TAG_OPEN,
  S_TAG_NAME,
  S_BEFORE_ATTR_NAME,
  S_ATTR_NAME,
  S_AFTER_ATTR_NAME,
  S_BEFORE_ATTR_VALUE,
  S_ATTR_VALUE_DQ,
  S_ATTR_VALUE_SQ,
  S_ATTR_VALUE_UQ,
  S_AFTER_ATTR_VALUE_Q,
  S_SELF_CLOSING,
  S_BOGUS_COMMENT,
  S_MARKUP_DECL,
  S_COMMENT_START,
  S_COMMENT_START_DASH,
  S_COMMENT,
  S_COMMENT_END_DASH,
  S_COMMENT_END,
  S_COMMENT_END_BANG,
  S_DOCTYPE,
  S_CHARREF,
  S_CHARREF_NAMED,
  S_CHARREF_NUMERIC,
  S_CHARREF_HEX_START,
  S_CHARREF_DEC_START,
  S_CHARREF_HEX,
  S_CHARREF_DEC,
  /* raw text: content states first, then the pending ones (bytes held in `pend`) */
  S_RAW,
  S_SCRIPT,
  S_SCRIPT_ESC_START,
  S_SCRIPT_ESC_START_DASH,
  S_SCRIPT_ESC,
  S_SCRIPT_ESC_DASH,
  S_SCRIPT_ESC_DASH_DASH,
  S_SCRIPT_DBL_START,
  S_SCRIPT_DBL,
  S_SCRIPT_DBL_DASH,
  S_SCRIPT_DBL_DASH_DASH,
  S_SCRIPT_DBL_LT,
  S_SCRIPT_DBL_END,
  S_RAW_LT,
  S_SCRIPT_LT,
  S_SCRIPT_ESC_LT,
  S_RT_END_OPEN,
  S_RT_END_NAME,
  S_PLAINTEXT,
  S_DONE,
};

#define IS_CONTENT(st) ((st) >= S_RAW && (st) <= S_SCRIPT_DBL_END)
#define IS_PENDING(st) ((st) >= S_RAW_LT && (st) <= S_RT_END_NAME)

enum { RK_NONE, RK_SCRIPT, RK_NOSCRIPT, RK_OTHER };

enum {
  EL_OTHER,
  EL_SCRIPT,
  EL_META,
  EL_IFRAME,
  EL_FRAME,
  EL_BASE,
  EL_RAWTEXT, /* style xmp noembed noframes title textarea (iframe handled apart) */
  EL_NOSCRIPT,
  EL_PLAINTEXT,
  EL_TEMPLATE,
};

typedef struct {
  uint32_t name_off, name_len, value_off, value_len;
  bool has_value, oversize;
} slot_t;

#define NAME_MAX_STORED 64 /* longer tag names are kept truncated */
_Static_assert(FCA_HTML_SCAN_TAG_MAX >= 256, "FCA_HTML_SCAN_TAG_MAX too small");
_Static_assert(FCA_HTML_SCAN_ATTR_MAX >= 8, "FCA_HTML_SCAN_ATTR_MAX too small");
#define PEND_MAX 16

struct fca_html_scan {
  fca_html_scan_cb_t cb;
  void *ud;
  int state;
  uint64_t origin; /* added to local offsets (a noscript sub-scanner's content start) */
  uint64_t fed;    /* bytes consumed before the current chunk */
  bool inert_mode; /* sub-scanner for <noscript> content */
  bool utf16;
  unsigned char bom[2];
  size_t bom_len;
  unsigned template_depth;

  /* the tag being built */
  uint64_t tag_off;
  bool tag_end, tag_self, tag_store, tag_full;
  int tag_el;
  size_t name_len; /* bytes of the name stored (<= NAME_MAX_STORED) */
  size_t taglen;
  size_t nattrs;
  int cur; /* slot receiving name/value chars, -1 = discard */

  char look[8]; /* markup declaration lookahead */
  size_t look_len;

  int cr_ret; /* character reference: attribute value state to return to */
  char crbuf[FCA_HTML_CHARREF_NAME_MAX + 2];
  size_t cr_len;
  uint32_t cr_cp;

  int raw_kind;
  char raw_name[12];
  size_t raw_name_len;
  int rt_back;      /* content state a failed end tag match returns to */
  size_t end_match; /* chars of raw_name matched in S_RT_END_NAME */
  char pend[PEND_MAX];
  size_t pend_len;
  uint64_t pend_off;
  char tmp[8]; /* double-escape "script" detection */
  size_t tmp_len;
  uint64_t script_off;
  bool script_inert;
  fca_html_scan_t *sub;

  char *base;
  size_t base_len;
  bool base_seen;
  fca_html_scan_stats_t stats;
  slot_t slots[FCA_HTML_SCAN_MAX_ATTRS];
  fca_html_attr_t out[FCA_HTML_SCAN_MAX_ATTRS];
  char tagbuf[FCA_HTML_SCAN_TAG_MAX];
};

static inline bool is_ws(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}
static inline bool is_alpha(unsigned char c) { return (unsigned char)((c | 0x20) - 'a') < 26; }
static inline bool is_digit(unsigned char c) { return (unsigned char)(c - '0') < 10; }
static inline bool is_alnum(unsigned char c) { return is_alpha(c) || is_digit(c); }
static inline bool is_hex(unsigned char c) {
  return is_digit(c) || (unsigned char)((c | 0x20) - 'a') < 6;
}
static inline unsigned char lower(unsigned char c) {
  return (unsigned char)(c - 'A') < 26 ? (unsigned char)(c | 0x20) : c;
}

static void reset_state(fca_html_scan_t *s) {
  s->state = S_DATA;
  s->fed = 0;
  s->template_depth = 0;
  s->raw_kind = RK_NONE;
  s->pend_len = 0;
  s->cur = -1;
}

fca_html_scan_t *fca_html_scan_new(const fca_html_scan_cb_t *cbs, void *ud) {
  fca_html_scan_t *s = fca_xcalloc(1, sizeof *s);
  if (cbs) s->cb = *cbs;
  s->ud = ud;
  reset_state(s);
  return s;
}

void fca_html_scan_free(fca_html_scan_t *s) {
  if (!s) return;
  fca_html_scan_free(s->sub);
  free(s->base);
  free(s);
}

const fca_html_scan_stats_t *fca_html_scan_stats(const fca_html_scan_t *s) { return &s->stats; }
bool fca_html_scan_is_utf16(const fca_html_scan_t *s) { return s->utf16; }

const char *fca_html_scan_base_href(const fca_html_scan_t *s, size_t *len) {
  if (len) *len = s->base_len;
  return s->base_seen ? s->base : NULL;
}

fca_html_str_t fca_html_tag_attr(const fca_html_tag_t *tag, const char *name) {
  fca_html_str_t r = {NULL, 0, false};
  size_t n = strlen(name);
  for (size_t i = 0; i < tag->nattrs; i++) {
    const fca_html_attr_t *a = &tag->attrs[i];
    if (a->name_len == n && memcmp(a->name, name, n) == 0) {
      r.ptr = a->value;
      r.len = a->value_len;
      r.present = true;
      break;
    }
  }
  return r;
}

/* ---- tag construction ---- */

static int classify(const char *n, size_t len) {
#define IS(lit) (len == sizeof lit - 1 && memcmp(n, lit, len) == 0)
  switch (len) {
  case 4:
    if (IS("meta")) return EL_META;
    if (IS("base")) return EL_BASE;
    break;
  case 5:
    if (IS("frame")) return EL_FRAME;
    if (IS("style")) return EL_RAWTEXT;
    if (IS("title")) return EL_RAWTEXT;
    break;
  case 6:
    if (IS("script")) return EL_SCRIPT;
    if (IS("iframe")) return EL_IFRAME;
    break;
  case 3:
    if (IS("xmp")) return EL_RAWTEXT;
    break;
  case 7:
    if (IS("noembed")) return EL_RAWTEXT;
    break;
  case 8:
    if (IS("noframes")) return EL_RAWTEXT;
    if (IS("textarea")) return EL_RAWTEXT;
    if (IS("noscript")) return EL_NOSCRIPT;
    if (IS("template")) return EL_TEMPLATE;
    break;
  case 9:
    if (IS("plaintext")) return EL_PLAINTEXT;
    break;
  }
  return EL_OTHER;
#undef IS
}

static void begin_tag(fca_html_scan_t *s, uint64_t off, bool end) {
  s->tag_off = off;
  s->tag_end = end;
  s->tag_self = false;
  s->tag_store = false;
  s->tag_full = false;
  s->tag_el = EL_OTHER;
  s->name_len = 0;
  s->taglen = 0;
  s->nattrs = 0;
  s->cur = -1;
}

static void name_append(fca_html_scan_t *s, const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n && s->name_len < NAME_MAX_STORED; i++)
    s->tagbuf[s->name_len++] = p[i] == 0 ? '?' : (char)lower(p[i]);
}

/* The name is complete: decide whether attributes are worth storing. */
static void name_done(fca_html_scan_t *s) {
  s->taglen = s->name_len;
  s->tag_el = classify(s->tagbuf, s->name_len);
  if (s->tag_end) return;
  s->tag_store = s->cb.tag || s->tag_el == EL_SCRIPT || s->tag_el == EL_META ||
                 s->tag_el == EL_IFRAME || s->tag_el == EL_FRAME || s->tag_el == EL_BASE;
}

static void drop_attr(fca_html_scan_t *s) {
  s->stats.attrs_dropped++;
  if (!s->tag_full) s->stats.tags_truncated++;
  s->tag_full = true;
  s->cur = -1;
}

static void attr_start(fca_html_scan_t *s) {
  s->cur = -1;
  if (!s->tag_store) return;
  if (s->tag_full || s->nattrs == FCA_HTML_SCAN_MAX_ATTRS) {
    drop_attr(s);
    return;
  }
  slot_t *a = &s->slots[s->nattrs];
  memset(a, 0, sizeof *a);
  a->name_off = (uint32_t)s->taglen;
  s->cur = (int)s->nattrs;
}

static void attr_name_append(fca_html_scan_t *s, const unsigned char *p, size_t n) {
  if (s->cur < 0) return;
  if (n > sizeof s->tagbuf - s->taglen) {
    s->taglen = s->slots[s->cur].name_off;
    drop_attr(s);
    return;
  }
  char *d = s->tagbuf + s->taglen;
  for (size_t i = 0; i < n; i++) d[i] = p[i] == 0 ? '?' : (char)lower(p[i]);
  s->taglen += n;
  s->slots[s->cur].name_len += (uint32_t)n;
}

/* Leaving the attribute name state: a duplicate is discarded (the first one wins). */
static void attr_name_done(fca_html_scan_t *s) {
  if (s->cur < 0 || s->cur != (int)s->nattrs) return;
  slot_t *a = &s->slots[s->cur];
  const char *nm = s->tagbuf + a->name_off;
  for (size_t i = 0; i < s->nattrs; i++) {
    const slot_t *b = &s->slots[i];
    if (b->name_len == a->name_len && memcmp(s->tagbuf + b->name_off, nm, a->name_len) == 0) {
      s->taglen = a->name_off;
      s->stats.attrs_duplicate++;
      s->cur = -1;
      return;
    }
  }
  a->value_off = (uint32_t)s->taglen;
  s->nattrs++;
}

static void value_append(fca_html_scan_t *s, const void *p, size_t n) {
  if (s->cur < 0 || n == 0) return;
  slot_t *a = &s->slots[s->cur];
  if (a->oversize) return;
  if (a->value_len + n > FCA_HTML_SCAN_ATTR_MAX) {
    s->taglen = a->value_off;
    a->value_len = 0;
    a->oversize = true;
    s->stats.attrs_oversize++;
    return;
  }
  if (n > sizeof s->tagbuf - s->taglen) {
    s->taglen = a->name_off;
    s->nattrs--; /* the current attribute is always the last slot */
    drop_attr(s);
    return;
  }
  memcpy(s->tagbuf + s->taglen, p, n);
  s->taglen += n;
  a->value_len += (uint32_t)n;
}

/* Storing the value of the current attribute (character references matter only then). */
static inline bool storing_value(const fca_html_scan_t *s) {
  return s->cur >= 0 && !s->slots[s->cur].oversize;
}

static fca_html_str_t attr_of(const fca_html_tag_t *t, const char *name) {
  return fca_html_tag_attr(t, name);
}

static void raw_begin(fca_html_scan_t *s, int kind, const char *name, size_t len) {
  s->raw_kind = kind;
  memcpy(s->raw_name, name, len);
  s->raw_name_len = len;
  s->state = kind == RK_SCRIPT ? S_SCRIPT : S_RAW;
}

static void noscript_begin(fca_html_scan_t *s, uint64_t content_off) {
  raw_begin(s, RK_NOSCRIPT, "noscript", 8);
  if (s->inert_mode) return; /* nested: plain raw text */
  if (!s->sub) {
    s->sub = fca_html_scan_new(&s->cb, s->ud);
    s->sub->inert_mode = true;
  }
  reset_state(s->sub);
  s->sub->origin = content_off;
  s->sub->template_depth = s->template_depth;
}

/* A complete tag ('>' consumed; `next_off` is the offset just after it). */
static void emit_tag(fca_html_scan_t *s, uint64_t next_off) {
  s->state = S_DATA;
  s->stats.tags++;
  fca_html_tag_t t;
  memset(&t, 0, sizeof t);
  t.name = s->tagbuf;
  t.name_len = s->name_len;
  t.offset = s->tag_off;
  t.end_tag = s->tag_end;
  t.self_closing = s->tag_self;
  t.truncated = s->tag_full;
  if (s->tag_end) {
    if (s->tag_el == EL_TEMPLATE && s->template_depth > 0) s->template_depth--;
    t.inert = s->inert_mode || s->template_depth > 0;
    t.template_depth = s->template_depth;
    if (s->cb.tag) s->cb.tag(s->ud, &t);
    return;
  }
  t.inert = s->inert_mode || s->template_depth > 0;
  t.template_depth = s->template_depth;
  for (size_t i = 0; i < s->nattrs; i++) {
    const slot_t *a = &s->slots[i];
    fca_html_attr_t *o = &s->out[i];
    o->name = s->tagbuf + a->name_off;
    o->name_len = a->name_len;
    o->value = s->tagbuf + a->value_off;
    o->value_len = a->value_len;
    o->has_value = a->has_value;
    o->oversize = a->oversize;
  }
  t.attrs = s->out;
  t.nattrs = s->nattrs;
  if (s->cb.tag) s->cb.tag(s->ud, &t);
  switch (s->tag_el) {
  case EL_SCRIPT: {
    if (s->cb.script) {
      fca_html_script_t sc = {
          .src = attr_of(&t, "src"),
          .type = attr_of(&t, "type"),
          .language = attr_of(&t, "language"),
          .referrerpolicy = attr_of(&t, "referrerpolicy"),
          .integrity = attr_of(&t, "integrity"),
          .crossorigin = attr_of(&t, "crossorigin"),
          .nonce = attr_of(&t, "nonce"),
          .async = attr_of(&t, "async").present,
          .defer = attr_of(&t, "defer").present,
          .nomodule = attr_of(&t, "nomodule").present,
      };
      s->cb.script(s->ud, &t, &sc);
    }
    s->script_off = s->tag_off;
    s->script_inert = t.inert;
    raw_begin(s, RK_SCRIPT, "script", 6);
    break;
  }
  case EL_META:
    if (s->cb.meta) {
      fca_html_meta_t m = {attr_of(&t, "name"), attr_of(&t, "http-equiv"), attr_of(&t, "content"),
                           attr_of(&t, "charset")};
      s->cb.meta(s->ud, &t, &m);
    }
    break;
  case EL_IFRAME:
  case EL_FRAME:
    if (s->cb.iframe) {
      fca_html_iframe_t f = {attr_of(&t, "src"),  attr_of(&t, "sandbox"), attr_of(&t, "srcdoc"),
                             attr_of(&t, "name"), attr_of(&t, "allow"),   s->tag_el == EL_FRAME};
      s->cb.iframe(s->ud, &t, &f);
    }
    if (s->tag_el == EL_IFRAME) raw_begin(s, RK_OTHER, "iframe", 6);
    break;
  case EL_BASE: {
    fca_html_str_t href = attr_of(&t, "href");
    if (!t.inert && !s->base_seen && href.present) {
      s->base_seen = true;
      s->base = fca_xstrndup(href.ptr ? href.ptr : "", href.len);
      s->base_len = href.len;
      if (s->cb.base) s->cb.base(s->ud, &t, s->base, s->base_len);
    }
    break;
  }
  case EL_RAWTEXT: raw_begin(s, RK_OTHER, t.name, t.name_len); break;
  case EL_NOSCRIPT: noscript_begin(s, next_off); break;
  case EL_PLAINTEXT: s->state = S_PLAINTEXT; break;
  case EL_TEMPLATE: s->template_depth++; break;
  }
}

/* ---- raw text delivery ---- */

static void scan(fca_html_scan_t *s, const unsigned char *p, size_t n);

static void raw_text(fca_html_scan_t *s, uint64_t off, const void *data, size_t len) {
  if (len == 0) return;
  if (s->raw_kind == RK_SCRIPT) {
    if (s->cb.inline_script) {
      fca_html_text_t t = {s->script_off, off, data, len, false, s->script_inert};
      s->cb.inline_script(s->ud, &t);
    }
  } else if (s->raw_kind == RK_NOSCRIPT && s->sub && !s->inert_mode) {
    scan(s->sub, data, len);
  }
}

static void sub_finish(fca_html_scan_t *parent, fca_html_scan_t *s);

/* The raw text element ended (end tag matched, or end of input at `off`). */
static void raw_end(fca_html_scan_t *s, uint64_t off) {
  if (s->raw_kind == RK_SCRIPT && s->cb.inline_script) {
    fca_html_text_t t = {s->script_off, off, NULL, 0, true, s->script_inert};
    s->cb.inline_script(s->ud, &t);
  } else if (s->raw_kind == RK_NOSCRIPT && s->sub && !s->inert_mode) {
    sub_finish(s, s->sub);
  }
  s->raw_kind = RK_NONE;
}

/* ---- character references (attribute values only) ---- */

static void cr_flush_literal(fca_html_scan_t *s) {
  value_append(s, "&", 1);
  value_append(s, s->crbuf, s->cr_len);
}

/* Named reference: `next` is the character after the buffered name (-1 when it was ';'). */
static void cr_resolve_named(fca_html_scan_t *s, int next) {
  const char *rep;
  size_t rep_len;
  size_t m = fca_html_charref_named(s->crbuf, s->cr_len, &rep, &rep_len);
  if (m == 0) {
    cr_flush_literal(s);
    return;
  }
  if (s->crbuf[m - 1] != ';') {
    int after = m < s->cr_len ? (unsigned char)s->crbuf[m] : next;
    if (after == '=' || (after >= 0 && is_alnum((unsigned char)after))) {
      cr_flush_literal(s); /* legacy attribute-value rule: "&copy=2" stays as written */
      return;
    }
  }
  value_append(s, rep, rep_len);
  value_append(s, s->crbuf + m, s->cr_len - m);
}

static void cr_numeric_done(fca_html_scan_t *s) {
  char u[4];
  value_append(s, u, fca_html_utf8_encode(fca_html_charref_numeric(s->cr_cp), u));
}

/* ---- the tokenizer ---- */

/* End of a <noscript>: its tags count in the parent's statistics. */
static void sub_finish(fca_html_scan_t *parent, fca_html_scan_t *s) {
  fca_html_scan_finish(s);
  parent->stats.tags += s->stats.tags;
  parent->stats.attrs_oversize += s->stats.attrs_oversize;
  parent->stats.tags_truncated += s->stats.tags_truncated;
  parent->stats.attrs_dropped += s->stats.attrs_dropped;
  parent->stats.attrs_duplicate += s->stats.attrs_duplicate;
  parent->stats.comments += s->stats.comments;
  memset(&s->stats, 0, sizeof s->stats);
}

static const unsigned char *find2(const unsigned char *p, const unsigned char *end, unsigned char a,
                                  unsigned char b) {
  while (p < end && *p != a && *p != b) p++;
  return p;
}

static void scan(fca_html_scan_t *s, const unsigned char *p, size_t n) {
  const unsigned char *const start = p, *const end = p + n;
  const uint64_t base = s->origin + s->fed;
#define OFF(q) (base + (uint64_t)((q)-start))
  /* In a raw text content state, `run` is where the not yet delivered text begins. */
  const unsigned char *run = IS_CONTENT(s->state) ? p : NULL;
#define TO_PENDING(st)                                                                             \
  do {                                                                                             \
    if (run) raw_text(s, OFF(run), run, (size_t)(p - run));                                        \
    run = NULL;                                                                                    \
    s->pend_off = OFF(p);                                                                          \
    s->pend[0] = '<';                                                                              \
    s->pend_len = 1;                                                                               \
    s->state = (st);                                                                               \
    p++;                                                                                           \
  } while (0)
#define PEND(c) (s->pend_len < PEND_MAX ? (void)(s->pend[s->pend_len++] = (char)(c)) : (void)0)
  /* Not an end tag after all: the held bytes were text; reprocess *p in `back`. */
#define UNPEND(back)                                                                               \
  do {                                                                                             \
    raw_text(s, s->pend_off, s->pend, s->pend_len);                                                \
    s->pend_len = 0;                                                                               \
    run = p;                                                                                       \
    s->state = (back);                                                                             \
  } while (0)
#define EMIT_TAG()                                                                                 \
  do {                                                                                             \
    p++;                                                                                           \
    emit_tag(s, OFF(p));                                                                           \
    if (IS_CONTENT(s->state)) run = p;                                                             \
  } while (0)

  while (p < end) {
    unsigned char c = *p;
    switch (s->state) {
    case S_DATA: {
      const unsigned char *q = memchr(p, '<', (size_t)(end - p));
      if (!q) {
        p = end;
        break;
      }
      s->tag_off = OFF(q);
      p = q + 1;
      s->state = S_TAG_OPEN;
      break;
    }
    case S_TAG_OPEN:
      if (c == '!') {
        s->look_len = 0;
        s->state = S_MARKUP_DECL;
        p++;
      } else if (c == '/') {
        s->state = S_END_TAG_OPEN;
        p++;
      } else if (is_alpha(c)) {
        begin_tag(s, s->tag_off, false);
        s->state = S_TAG_NAME;
      } else if (c == '?') {
        s->state = S_BOGUS_COMMENT;
      } else {
        s->state = S_DATA;
      }
      break;
    case S_END_TAG_OPEN:
      if (is_alpha(c)) {
        begin_tag(s, s->tag_off, true);
        s->state = S_TAG_NAME;
      } else if (c == '>') {
        s->state = S_DATA;
        p++;
      } else {
        s->state = S_BOGUS_COMMENT;
      }
      break;
    case S_TAG_NAME: {
      const unsigned char *q = p;
      while (q < end && !is_ws(*q) && *q != '/' && *q != '>') q++;
      name_append(s, p, (size_t)(q - p));
      p = q;
      if (p == end) break;
      name_done(s);
      c = *p;
      if (c == '>')
        EMIT_TAG();
      else {
        s->state = c == '/' ? S_SELF_CLOSING : S_BEFORE_ATTR_NAME;
        p++;
      }
      break;
    }
    case S_BEFORE_ATTR_NAME:
      if (is_ws(c)) {
        p++;
      } else if (c == '/' || c == '>') {
        s->state = S_AFTER_ATTR_NAME;
      } else {
        attr_start(s);
        s->state = S_ATTR_NAME;
        if (c == '=') { /* an attribute named "=" */
          attr_name_append(s, p, 1);
          p++;
        }
      }
      break;
    case S_ATTR_NAME: {
      const unsigned char *q = p;
      while (q < end && !is_ws(*q) && *q != '/' && *q != '>' && *q != '=') q++;
      attr_name_append(s, p, (size_t)(q - p));
      p = q;
      if (p == end) break;
      attr_name_done(s);
      if (*p == '=') {
        if (s->cur >= 0) s->slots[s->cur].has_value = true;
        s->state = S_BEFORE_ATTR_VALUE;
        p++;
      } else {
        s->state = S_AFTER_ATTR_NAME;
      }
      break;
    }
    case S_AFTER_ATTR_NAME:
      if (is_ws(c)) {
        p++;
      } else if (c == '/') {
        s->state = S_SELF_CLOSING;
        p++;
      } else if (c == '=') {
        if (s->cur >= 0) s->slots[s->cur].has_value = true;
        s->state = S_BEFORE_ATTR_VALUE;
        p++;
      } else if (c == '>') {
        EMIT_TAG();
      } else {
        attr_start(s);
        s->state = S_ATTR_NAME;
      }
      break;
    case S_BEFORE_ATTR_VALUE:
      if (is_ws(c)) {
        p++;
      } else if (c == '"') {
        s->state = S_ATTR_VALUE_DQ;
        p++;
      } else if (c == '\'') {
        s->state = S_ATTR_VALUE_SQ;
        p++;
      } else if (c == '>') {
        EMIT_TAG();
      } else {
        s->state = S_ATTR_VALUE_UQ;
      }
      break;
    case S_ATTR_VALUE_DQ:
    case S_ATTR_VALUE_SQ: {
      unsigned char quote = s->state == S_ATTR_VALUE_DQ ? '"' : '\'';
      if (!storing_value(s)) {
        const unsigned char *q = memchr(p, quote, (size_t)(end - p));
        if (!q) {
          p = end;
          break;
        }
        p = q + 1;
        s->state = S_AFTER_ATTR_VALUE_Q;
        break;
      }
      const unsigned char *q = find2(p, end, quote, '&');
      value_append(s, p, (size_t)(q - p));
      p = q;
      if (p == end) break;
      if (*p == '&') {
        s->cr_ret = s->state;
        s->state = S_CHARREF;
      } else {
        s->state = S_AFTER_ATTR_VALUE_Q;
      }
      p++;
      break;
    }
    case S_ATTR_VALUE_UQ: {
      const unsigned char *q = p;
      while (q < end && !is_ws(*q) && *q != '>' && *q != '&') q++;
      value_append(s, p, (size_t)(q - p));
      p = q;
      if (p == end) break;
      c = *p;
      if (c == '&') {
        if (storing_value(s)) {
          s->cr_ret = S_ATTR_VALUE_UQ;
          s->state = S_CHARREF;
        }
        p++;
      } else if (c == '>') {
        EMIT_TAG();
      } else {
        s->state = S_BEFORE_ATTR_NAME;
        p++;
      }
      break;
    }
    case S_AFTER_ATTR_VALUE_Q:
      if (is_ws(c)) {
        s->state = S_BEFORE_ATTR_NAME;
        p++;
      } else if (c == '/') {
        s->state = S_SELF_CLOSING;
        p++;
      } else if (c == '>') {
        EMIT_TAG();
      } else {
        s->state = S_BEFORE_ATTR_NAME;
      }
      break;
    case S_SELF_CLOSING:
      if (c == '>') {
        s->tag_self = true;
        EMIT_TAG();
      } else {
        s->state = S_BEFORE_ATTR_NAME;
      }
      break;

    /* character references */
    case S_CHARREF:
      s->cr_len = 0;
      if (is_alnum(c)) {
        s->state = S_CHARREF_NAMED;
      } else if (c == '#') {
        s->crbuf[s->cr_len++] = '#';
        s->cr_cp = 0;
        s->state = S_CHARREF_NUMERIC;
        p++;
      } else {
        value_append(s, "&", 1);
        s->state = s->cr_ret;
      }
      break;
    case S_CHARREF_NAMED:
      if (is_alnum(c) && s->cr_len < FCA_HTML_CHARREF_NAME_MAX) {
        s->crbuf[s->cr_len++] = (char)c;
        p++;
      } else if (c == ';' && s->cr_len < FCA_HTML_CHARREF_NAME_MAX) {
        s->crbuf[s->cr_len++] = ';';
        cr_resolve_named(s, -1);
        s->state = s->cr_ret;
        p++;
      } else {
        cr_resolve_named(s, c);
        s->state = s->cr_ret;
      }
      break;
    case S_CHARREF_NUMERIC:
      if (c == 'x' || c == 'X') {
        s->crbuf[s->cr_len++] = (char)c;
        s->state = S_CHARREF_HEX_START;
        p++;
      } else {
        s->state = S_CHARREF_DEC_START;
      }
      break;
    case S_CHARREF_HEX_START:
    case S_CHARREF_DEC_START:
      if (s->state == S_CHARREF_HEX_START ? is_hex(c) : is_digit(c)) {
        s->state = s->state == S_CHARREF_HEX_START ? S_CHARREF_HEX : S_CHARREF_DEC;
      } else {
        cr_flush_literal(s);
        s->state = s->cr_ret;
      }
      break;
    case S_CHARREF_HEX:
    case S_CHARREF_DEC: {
      bool hex = s->state == S_CHARREF_HEX;
      if (hex ? is_hex(c) : is_digit(c)) {
        uint32_t d = is_digit(c) ? (uint32_t)(c - '0') : (uint32_t)((c | 0x20) - 'a' + 10);
        if (s->cr_cp <= 0x10FFFF) s->cr_cp = s->cr_cp * (hex ? 16 : 10) + d;
        p++;
        break;
      }
      if (c == ';') p++;
      cr_numeric_done(s);
      s->state = s->cr_ret;
      break;
    }

    /* comments, doctype, bogus comments */
    case S_MARKUP_DECL: {
      static const char *const cands[] = {"--", "doctype", "[CDATA["};
      s->look[s->look_len++] = (char)c;
      int prefix_of = -1;
      for (int i = 0; i < 3; i++) {
        size_t k = 0;
        while (k < s->look_len && cands[i][k] &&
               (i == 1 ? lower((unsigned char)s->look[k]) : (unsigned char)s->look[k]) ==
                   (unsigned char)cands[i][k])
          k++;
        if (k == s->look_len) {
          prefix_of = i;
          break;
        }
      }
      if (prefix_of < 0) {
        s->state = S_BOGUS_COMMENT; /* reprocess c */
        s->stats.comments++;
        break;
      }
      p++;
      if (s->look_len == strlen(cands[prefix_of])) {
        s->state = prefix_of == 0 ? S_COMMENT_START : prefix_of == 1 ? S_DOCTYPE : S_BOGUS_COMMENT;
        s->stats.comments += prefix_of != 1;
      }
      break;
    }
    case S_BOGUS_COMMENT:
    case S_DOCTYPE: {
      const unsigned char *q = memchr(p, '>', (size_t)(end - p));
      if (!q) {
        p = end;
        break;
      }
      p = q + 1;
      s->state = S_DATA;
      break;
    }
    case S_COMMENT_START:
      if (c == '-') {
        s->state = S_COMMENT_START_DASH;
        p++;
      } else if (c == '>') { /* <!--> */
        s->state = S_DATA;
        p++;
      } else {
        s->state = S_COMMENT;
      }
      break;
    case S_COMMENT_START_DASH:
      if (c == '-') {
        s->state = S_COMMENT_END;
        p++;
      } else if (c == '>') { /* <!---> */
        s->state = S_DATA;
        p++;
      } else {
        s->state = S_COMMENT;
      }
      break;
    case S_COMMENT: {
      const unsigned char *q = memchr(p, '-', (size_t)(end - p));
      if (!q) {
        p = end;
        break;
      }
      p = q + 1;
      s->state = S_COMMENT_END_DASH;
      break;
    }
    case S_COMMENT_END_DASH:
      if (c == '-') {
        s->state = S_COMMENT_END;
        p++;
      } else {
        s->state = S_COMMENT;
      }
      break;
    case S_COMMENT_END:
      if (c == '>') {
        s->state = S_DATA;
        p++;
      } else if (c == '!') {
        s->state = S_COMMENT_END_BANG;
        p++;
      } else if (c == '-') {
        p++;
      } else {
        s->state = S_COMMENT;
      }
      break;
    case S_COMMENT_END_BANG:
      if (c == '-') {
        s->state = S_COMMENT_END_DASH;
        p++;
      } else if (c == '>') {
        s->state = S_DATA;
        p++;
      } else {
        s->state = S_COMMENT;
      }
      break;

    /* raw text, RCDATA and script data */
    case S_RAW:
    case S_SCRIPT: {
      const unsigned char *q = memchr(p, '<', (size_t)(end - p));
      if (!q) {
        p = end;
        break;
      }
      p = q;
      s->rt_back = s->state;
      TO_PENDING(s->state == S_RAW ? S_RAW_LT : S_SCRIPT_LT);
      break;
    }
    case S_RAW_LT:
    case S_SCRIPT_LT:
    case S_SCRIPT_ESC_LT:
      if (c == '/') {
        PEND(c);
        s->end_match = 0;
        s->state = S_RT_END_OPEN;
        p++;
      } else if (s->state == S_SCRIPT_LT && c == '!') {
        UNPEND(S_SCRIPT_ESC_START);
        p++;
      } else if (s->state == S_SCRIPT_ESC_LT && is_alpha(c)) {
        UNPEND(S_SCRIPT_DBL_START);
        s->tmp_len = 0;
      } else {
        UNPEND(s->rt_back);
      }
      break;
    case S_RT_END_OPEN:
      if (is_alpha(c))
        s->state = S_RT_END_NAME;
      else
        UNPEND(s->rt_back);
      break;
    case S_RT_END_NAME:
      if (is_alpha(c) && s->end_match < s->raw_name_len &&
          lower(c) == (unsigned char)s->raw_name[s->end_match]) {
        PEND(c);
        s->end_match++;
        p++;
      } else if ((is_ws(c) || c == '/' || c == '>') && s->end_match == s->raw_name_len) {
        /* The appropriate end tag: the element's text ends at pend_off. */
        uint64_t off = s->pend_off;
        s->pend_len = 0;
        raw_end(s, off);
        begin_tag(s, off, true);
        name_append(s, (const unsigned char *)s->raw_name, s->raw_name_len);
        name_done(s);
        if (c == '>') {
          EMIT_TAG();
        } else {
          s->state = c == '/' ? S_SELF_CLOSING : S_BEFORE_ATTR_NAME;
          p++;
        }
      } else {
        UNPEND(s->rt_back);
      }
      break;
    case S_SCRIPT_ESC_START:
      if (c == '-') {
        s->state = S_SCRIPT_ESC_START_DASH;
        p++;
      } else {
        s->state = S_SCRIPT;
      }
      break;
    case S_SCRIPT_ESC_START_DASH:
      if (c == '-') {
        s->state = S_SCRIPT_ESC_DASH_DASH;
        p++;
      } else {
        s->state = S_SCRIPT;
      }
      break;
    case S_SCRIPT_ESC:
    case S_SCRIPT_ESC_DASH:
    case S_SCRIPT_ESC_DASH_DASH:
      if (c == '-') {
        s->state = s->state == S_SCRIPT_ESC ? S_SCRIPT_ESC_DASH : S_SCRIPT_ESC_DASH_DASH;
        p++;
      } else if (c == '<') {
        s->rt_back = S_SCRIPT_ESC;
        TO_PENDING(S_SCRIPT_ESC_LT);
      } else if (c == '>' && s->state == S_SCRIPT_ESC_DASH_DASH) {
        s->state = S_SCRIPT;
        p++;
      } else {
        s->state = S_SCRIPT_ESC;
        p = find2(p + 1, end, '-', '<');
      }
      break;
    case S_SCRIPT_DBL_START:
    case S_SCRIPT_DBL_END:
      if (is_ws(c) || c == '/' || c == '>') {
        bool is_script = s->tmp_len == 6 && memcmp(s->tmp, "script", 6) == 0;
        if (s->state == S_SCRIPT_DBL_START)
          s->state = is_script ? S_SCRIPT_DBL : S_SCRIPT_ESC;
        else
          s->state = is_script ? S_SCRIPT_ESC : S_SCRIPT_DBL;
        p++;
      } else if (is_alpha(c)) {
        if (s->tmp_len < sizeof s->tmp) s->tmp[s->tmp_len] = (char)lower(c);
        s->tmp_len++;
        p++;
      } else {
        s->state = s->state == S_SCRIPT_DBL_START ? S_SCRIPT_ESC : S_SCRIPT_DBL;
      }
      break;
    case S_SCRIPT_DBL:
    case S_SCRIPT_DBL_DASH:
    case S_SCRIPT_DBL_DASH_DASH:
      if (c == '-') {
        s->state = s->state == S_SCRIPT_DBL ? S_SCRIPT_DBL_DASH : S_SCRIPT_DBL_DASH_DASH;
        p++;
      } else if (c == '<') {
        s->state = S_SCRIPT_DBL_LT;
        p++;
      } else if (c == '>' && s->state == S_SCRIPT_DBL_DASH_DASH) {
        s->state = S_SCRIPT;
        p++;
      } else {
        s->state = S_SCRIPT_DBL;
        p = find2(p + 1, end, '-', '<');
      }
      break;
    case S_SCRIPT_DBL_LT:
      if (c == '/') {
        s->tmp_len = 0;
        s->state = S_SCRIPT_DBL_END;
        p++;
      } else {
        s->state = S_SCRIPT_DBL;
      }
      break;
    case S_PLAINTEXT:
    case S_DONE: p = end; break;
    }
  }
  if (run && IS_CONTENT(s->state)) raw_text(s, OFF(run), run, (size_t)(end - run));
  s->fed += n;
#undef OFF
#undef TO_PENDING
#undef PEND
#undef UNPEND
#undef EMIT_TAG
}

void fca_html_scan_feed(fca_html_scan_t *s, const void *buf, size_t n) {
  const unsigned char *p = buf;
  if (n == 0 || s->state == S_DONE) return;
  s->stats.bytes += n;
  if (s->utf16) return;
  if (!s->inert_mode && s->bom_len < 2) {
    /* Only the first two bytes of the stream matter; they are scanned normally as text. */
    for (size_t i = 0; i < n && s->bom_len < 2; i++) s->bom[s->bom_len++] = p[i];
    if (s->bom_len == 2 &&
        ((s->bom[0] == 0xFE && s->bom[1] == 0xFF) || (s->bom[0] == 0xFF && s->bom[1] == 0xFE))) {
      s->utf16 = true;
      return;
    }
  }
  scan(s, p, n);
}

void fca_html_scan_finish(fca_html_scan_t *s) {
  if (s->state == S_DONE) return;
  if (IS_PENDING(s->state)) {
    raw_text(s, s->pend_off, s->pend, s->pend_len);
    s->pend_len = 0;
  }
  if (s->raw_kind != RK_NONE) raw_end(s, s->origin + s->fed);
  s->state = S_DONE;
}
