/* html_scan: an incremental HTML tokenizer for the audit. The states are the WHATWG tokenizer's
 * (data, tag, attribute, comment, raw text/RCDATA, the script data escape states, character
 * references in attribute values); the tree-builder decisions that switch tokenizer states are
 * taken from the tag name alone. Every state lives in the struct, so any byte can end a chunk.
 * Bytes that may begin a raw-text end tag ("</scr") are held in `pend` until decided, so inline
 * script text is delivered exactly once, in order. Simplifications (documented in the header
 * and the report): no foreign content (svg/math), DOCTYPE and CDATA are skipped as comments,
 * the named reference table is a subset, NUL is not replaced in script text. */
#include "html_scan.h"

#include "html_scan_int.h"

#include <stdlib.h>
#include <string.h>

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
  /* While a start or end tag is open, `rec` is where its not yet recorded raw bytes begin. */
  const unsigned char *rec = s->in_tag ? p : NULL;
#define TO_PENDING(st)                                                                             \
  do {                                                                                             \
    if (run) fca_html_raw_text(s, OFF(run), run, (size_t)(p - run));                               \
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
    fca_html_raw_text(s, s->pend_off, s->pend, s->pend_len);                                       \
    s->pend_len = 0;                                                                               \
    run = p;                                                                                       \
    s->state = (back);                                                                             \
  } while (0)
#define EMIT_TAG()                                                                                 \
  do {                                                                                             \
    p++;                                                                                           \
    if (rec && s->tagraw_len == 0)                                                                 \
      fca_html_tag_raw_direct(s, rec, (size_t)(p - rec));                                          \
    else if (rec)                                                                                  \
      fca_html_tag_raw_append(s, rec, (size_t)(p - rec));                                          \
    rec = NULL;                                                                                    \
    s->in_tag = false;                                                                             \
    fca_html_tag_emit(s, OFF(p));                                                                  \
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
        fca_html_tag_begin(s, s->tag_off, false);
        /* A tag that begins in this chunk is recorded from its '<' (and, if it ends here too,
         * handed on in place, uncopied); one that began in the last chunk from here on. */
        if (p > start) {
          rec = p - 1;
        } else {
          fca_html_tag_raw_append(s, (const unsigned char *)"<", 1);
          rec = p;
        }
        s->state = S_TAG_NAME;
      } else if (c == '?') {
        s->state = S_BOGUS_COMMENT;
      } else {
        s->state = S_DATA;
      }
      break;
    case S_END_TAG_OPEN:
      if (is_alpha(c)) {
        fca_html_tag_begin(s, s->tag_off, true);
        if (p - start >= 2) {
          rec = p - 2;
        } else {
          fca_html_tag_raw_append(s, (const unsigned char *)"</", 2);
          rec = p;
        }
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
      fca_html_tag_name_append(s, p, (size_t)(q - p));
      p = q;
      if (p == end) break;
      fca_html_tag_name_done(s);
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
        fca_html_attr_start(s);
        s->state = S_ATTR_NAME;
        if (c == '=') { /* an attribute named "=" */
          fca_html_attr_name_append(s, p, 1);
          p++;
        }
      }
      break;
    case S_ATTR_NAME: {
      const unsigned char *q = p;
      while (q < end && !is_ws(*q) && *q != '/' && *q != '>' && *q != '=') q++;
      fca_html_attr_name_append(s, p, (size_t)(q - p));
      p = q;
      if (p == end) break;
      fca_html_attr_name_done(s);
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
        fca_html_attr_start(s);
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
      fca_html_attr_value_append(s, p, (size_t)(q - p));
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
      fca_html_attr_value_append(s, p, (size_t)(q - p));
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
        fca_html_attr_value_append(s, "&", 1);
        s->state = s->cr_ret;
      }
      break;
    case S_CHARREF_NAMED:
      if (is_alnum(c) && s->cr_len < FCA_HTML_CHARREF_NAME_MAX) {
        s->crbuf[s->cr_len++] = (char)c;
        p++;
      } else if (c == ';' && s->cr_len < FCA_HTML_CHARREF_NAME_MAX) {
        s->crbuf[s->cr_len++] = ';';
        fca_html_cr_resolve_named(s, -1);
        s->state = s->cr_ret;
        p++;
      } else {
        fca_html_cr_resolve_named(s, c);
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
        fca_html_cr_flush_literal(s);
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
      fca_html_cr_numeric_done(s);
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
        fca_html_raw_end(s, off);
        fca_html_tag_begin(s, off, true);
        fca_html_tag_name_append(s, (const unsigned char *)s->raw_name, s->raw_name_len);
        fca_html_tag_name_done(s);
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
  if (run && IS_CONTENT(s->state)) fca_html_raw_text(s, OFF(run), run, (size_t)(end - run));
  if (rec && s->in_tag) fca_html_tag_raw_append(s, rec, (size_t)(end - rec));
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
    fca_html_raw_text(s, s->pend_off, s->pend, s->pend_len);
    s->pend_len = 0;
  }
  if (s->raw_kind != RK_NONE) fca_html_raw_end(s, s->origin + s->fed);
  s->state = S_DONE;
}
