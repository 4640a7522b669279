/* html_tag: the scanner's tag side. Collects a tag's lower-cased name and attributes into the
 * fixed tag buffer (first duplicate wins; caps drop and count instead of growing), emits the
 * element callbacks and switches the tokenizer into raw text where the tree builder would, and
 * delivers raw text (inline script slices, or <noscript> content to an inert sub-scanner). */
#include "html_scan_int.h"

#include "fcaudit/util.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

void fca_html_scan_reset(fca_html_scan_t *s) {
  s->state = S_DATA;
  s->fed = 0;
  s->template_depth = 0;
  s->raw_kind = RK_NONE;
  s->pend_len = 0;
  s->cur = -1;
}

fca_html_scan_t *fca_html_scan_new(const fca_html_scan_cb_t *cbs, void *ud) {
  /* One scanner per inspected response: zero the state, not the buffers behind it. */
  fca_html_scan_t *s = fca_xmalloc(sizeof *s);
  memset(s, 0, offsetof(fca_html_scan_t, tagraw));
  if (cbs) s->cb = *cbs;
  s->ud = ud;
  fca_html_scan_reset(s);
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

void fca_html_tag_raw_append(fca_html_scan_t *s, const unsigned char *p, size_t n) {
  size_t room = sizeof s->tagraw - s->tagraw_len;
  if (n > room) {
    n = room;
    s->tagraw_cut = true;
  }
  memcpy(s->tagraw + s->tagraw_len, p, n);
  s->tagraw_len += n;
}

/* The whole tag is in the chunk being scanned: its raw text is read there, not copied. */
void fca_html_tag_raw_direct(fca_html_scan_t *s, const unsigned char *p, size_t n) {
  s->tagraw_cut = n > sizeof s->tagraw;
  s->raw_direct = (const char *)p;
  s->raw_direct_len = s->tagraw_cut ? sizeof s->tagraw : n;
}

void fca_html_tag_begin(fca_html_scan_t *s, uint64_t off, bool end) {
  s->in_tag = true;
  s->tagraw_len = 0;
  s->raw_direct = NULL;
  s->tagraw_cut = false;
  s->tag_off = off;
  s->tag_end = end;
  s->tag_self = false;
  s->tag_store = false;
  s->tag_full = false;
  s->tag_dup = false;
  s->tag_el = EL_OTHER;
  s->name_len = 0;
  s->taglen = 0;
  s->nattrs = 0;
  s->cur = -1;
}

void fca_html_tag_name_append(fca_html_scan_t *s, const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n && s->name_len < NAME_MAX_STORED; i++)
    s->tagbuf[s->name_len++] = p[i] == 0 ? '?' : (char)lower(p[i]);
}

/* The name is complete: decide whether attributes are worth storing. */
void fca_html_tag_name_done(fca_html_scan_t *s) {
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

void fca_html_attr_start(fca_html_scan_t *s) {
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

void fca_html_attr_name_append(fca_html_scan_t *s, const unsigned char *p, size_t n) {
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
void fca_html_attr_name_done(fca_html_scan_t *s) {
  if (s->cur < 0 || s->cur != (int)s->nattrs) return;
  slot_t *a = &s->slots[s->cur];
  const char *nm = s->tagbuf + a->name_off;
  for (size_t i = 0; i < s->nattrs; i++) {
    const slot_t *b = &s->slots[i];
    if (b->name_len == a->name_len && memcmp(s->tagbuf + b->name_off, nm, a->name_len) == 0) {
      s->taglen = a->name_off;
      s->stats.attrs_duplicate++;
      s->tag_dup = true;
      s->cur = -1;
      return;
    }
  }
  a->value_off = (uint32_t)s->taglen;
  s->nattrs++;
}

void fca_html_attr_value_append(fca_html_scan_t *s, const void *p, size_t n) {
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
  fca_html_scan_reset(s->sub);
  s->sub->origin = content_off;
  s->sub->template_depth = s->template_depth;
}

/* A complete tag ('>' consumed; `next_off` is the offset just after it). */
void fca_html_tag_emit(fca_html_scan_t *s, uint64_t next_off) {
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
  t.duplicate_attrs = s->tag_dup;
  t.raw = s->raw_direct ? s->raw_direct : s->tagraw;
  t.raw_len = s->raw_direct ? s->raw_direct_len : s->tagraw_len;
  s->raw_direct = NULL; /* valid only while this tag's callbacks run */
  t.raw_cut = s->tagraw_cut;
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

void fca_html_raw_text(fca_html_scan_t *s, uint64_t off, const void *data, size_t len) {
  if (len == 0) return;
  if (s->raw_kind == RK_SCRIPT) {
    if (s->cb.inline_script) {
      fca_html_text_t t = {s->script_off, off, data, len, false, s->script_inert};
      s->cb.inline_script(s->ud, &t);
    }
  } else if (s->raw_kind == RK_NOSCRIPT && s->sub && !s->inert_mode) {
    fca_html_scan_feed(s->sub, data, len);
  }
}

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

/* The raw text element ended (end tag matched, or end of input at `off`). */
void fca_html_raw_end(fca_html_scan_t *s, uint64_t off) {
  if (s->raw_kind == RK_SCRIPT && s->cb.inline_script) {
    fca_html_text_t t = {s->script_off, off, NULL, 0, true, s->script_inert};
    s->cb.inline_script(s->ud, &t);
  } else if (s->raw_kind == RK_NOSCRIPT && s->sub && !s->inert_mode) {
    sub_finish(s, s->sub);
  }
  s->raw_kind = RK_NONE;
}

/* ---- character references (attribute values only) ---- */

void fca_html_cr_flush_literal(fca_html_scan_t *s) {
  fca_html_attr_value_append(s, "&", 1);
  fca_html_attr_value_append(s, s->crbuf, s->cr_len);
}

/* Named reference: `next` is the character after the buffered name (-1 when it was ';'). */
void fca_html_cr_resolve_named(fca_html_scan_t *s, int next) {
  const char *rep;
  size_t rep_len;
  size_t m = fca_html_charref_named(s->crbuf, s->cr_len, &rep, &rep_len);
  if (m == 0) {
    fca_html_cr_flush_literal(s);
    return;
  }
  if (s->crbuf[m - 1] != ';') {
    int after = m < s->cr_len ? (unsigned char)s->crbuf[m] : next;
    if (after == '=' || (after >= 0 && is_alnum((unsigned char)after))) {
      fca_html_cr_flush_literal(s); /* legacy attribute-value rule: "&copy=2" stays as written */
      return;
    }
  }
  fca_html_attr_value_append(s, rep, rep_len);
  fca_html_attr_value_append(s, s->crbuf + m, s->cr_len - m);
}

void fca_html_cr_numeric_done(fca_html_scan_t *s) {
  char u[4];
  fca_html_attr_value_append(s, u, fca_html_utf8_encode(fca_html_charref_numeric(s->cr_cp), u));
}
