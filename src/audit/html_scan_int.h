/* html_scan_int: the scanner's state, shared by the tokenizer (html_scan.c) and the tag
 * assembly and callback side (html_tag.c). Private to src/audit/. The struct is allocated once
 * per scanner; the tag buffer inside it is the only place tag data is kept. */
#ifndef FCAUDIT_HTML_SCAN_INT_H
#define FCAUDIT_HTML_SCAN_INT_H

#include "html_charref.h"
#include "html_scan.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
  bool in_tag;            /* between '<' + name and '>' */
  size_t tagraw_len;      /* bytes in tagraw */
  const char *raw_direct; /* the tag's raw text in the input instead of tagraw (see EMIT_TAG) */
  size_t raw_direct_len;
  bool tagraw_cut;
  bool tag_end, tag_self, tag_store, tag_full;
  bool tag_dup; /* an attribute name was repeated (a parse error; CSP nonces then ignored) */
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
  /* The buffers (~43 KiB): left uninitialised by fca_html_scan_new; only the bytes below their
   * lengths (tagraw_len, nattrs, taglen) are ever read. */
  char tagraw[FCA_HTML_SCAN_RAW_MAX]; /* the tag as it appeared (capped) */
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

/* Storing the value of the current attribute (character references matter only then). */
static inline bool storing_value(const fca_html_scan_t *s) {
  return s->cur >= 0 && !s->slots[s->cur].oversize;
}

/* html_tag.c: tag assembly, element callbacks, raw text delivery, character references. */
void fca_html_scan_reset(fca_html_scan_t *s);
/* Records raw bytes of the open tag (capped at FCA_HTML_SCAN_RAW_MAX). */
void fca_html_tag_raw_append(fca_html_scan_t *s, const unsigned char *p, size_t n);
void fca_html_tag_raw_direct(fca_html_scan_t *s, const unsigned char *p, size_t n);
void fca_html_tag_begin(fca_html_scan_t *s, uint64_t off, bool end);
void fca_html_tag_name_append(fca_html_scan_t *s, const unsigned char *p, size_t n);
void fca_html_tag_name_done(fca_html_scan_t *s);
void fca_html_attr_start(fca_html_scan_t *s);
void fca_html_attr_name_append(fca_html_scan_t *s, const unsigned char *p, size_t n);
void fca_html_attr_name_done(fca_html_scan_t *s);
void fca_html_attr_value_append(fca_html_scan_t *s, const void *p, size_t n);
/* A complete tag ('>' consumed; next_off is the offset after it): callbacks, state switch. */
void fca_html_tag_emit(fca_html_scan_t *s, uint64_t next_off);
void fca_html_raw_text(fca_html_scan_t *s, uint64_t off, const void *data, size_t len);
void fca_html_raw_end(fca_html_scan_t *s, uint64_t off);
void fca_html_cr_flush_literal(fca_html_scan_t *s);
void fca_html_cr_resolve_named(fca_html_scan_t *s, int next);
void fca_html_cr_numeric_done(fca_html_scan_t *s);

#endif
