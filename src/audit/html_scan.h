/* html_scan: incremental HTML tokenizer (WHATWG tokenizer states, plus the few tree-builder
 * decisions that switch them: raw text, RCDATA, script data, plaintext) reporting the elements
 * the audit needs through callbacks. Its state survives any chunk boundary, and the sequence of
 * callbacks (with offsets) does not depend on how the input was chunked, except that inline
 * script text may be sliced differently. Memory is fixed at creation: a tag is collected in a
 * buffer of FCA_HTML_SCAN_TAG_MAX bytes and never grows past it. */
/* Simplifications, as known gaps: no foreign content (inside <svg>/<math>, <script>, <title>,
 * <style> are taken as HTML ones and CDATA is a bogus comment); scripting is assumed on, so
 * <noscript> is raw text as in browsers (its content is still scanned, all inert, by a
 * sub-scanner); the named character reference table is a subset (unknown names stay as
 * written); NUL is not replaced in script text; comment contents are never reported. */
#ifndef FCAUDIT_HTML_SCAN_H
#define FCAUDIT_HTML_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef FCA_HTML_SCAN_ATTR_MAX
#define FCA_HTML_SCAN_ATTR_MAX (8 * 1024) /* one attribute value, decoded */
#endif
#ifndef FCA_HTML_SCAN_TAG_MAX
#define FCA_HTML_SCAN_TAG_MAX (32 * 1024) /* tag name + all attribute names and values */
#endif
#ifndef FCA_HTML_SCAN_RAW_MAX
#define FCA_HTML_SCAN_RAW_MAX 2048 /* raw tag text kept for evidence */
#endif
#ifndef FCA_HTML_SCAN_MAX_ATTRS
#define FCA_HTML_SCAN_MAX_ATTRS 128 /* attributes kept per tag */
#endif

/* An attribute: name lower-cased, value with character references decoded (UTF-8). Pointers
 * are valid during the callback only and are not NUL-terminated. */
typedef struct {
  const char *name;
  size_t name_len;
  const char *value;
  size_t value_len;
  bool has_value; /* `<x a>` has none; `<x a="">` has an empty one */
  bool oversize;  /* the value passed FCA_HTML_SCAN_ATTR_MAX and was dropped (value empty) */
} fca_html_attr_t;

typedef struct {
  const char *name; /* lower-cased tag name */
  size_t name_len;
  const fca_html_attr_t *attrs; /* duplicates removed (the first wins); none for end tags */
  size_t nattrs;
  uint64_t offset; /* byte offset of the tag's '<' in the scanned (decoded) stream */
  bool end_tag;
  bool self_closing;
  /* Inside <template> content or <noscript> (which browsers with scripting parse as text):
   * the element never loads or applies. */
  bool inert;
  bool truncated;       /* attributes were dropped: FCA_HTML_SCAN_TAG_MAX or _MAX_ATTRS reached */
  bool duplicate_attrs; /* an attribute name appeared twice (the first kept): a parse error */
  /* The tag exactly as it appeared in the stream (no references decoded), for evidence; at
   * most FCA_HTML_SCAN_RAW_MAX bytes (raw_cut when longer). */
  const char *raw;
  size_t raw_len;
  bool raw_cut;
  unsigned template_depth;
} fca_html_tag_t;

/* An attribute lookup result: present or not, and the value (may be empty). */
typedef struct {
  const char *ptr;
  size_t len;
  bool present;
} fca_html_str_t;

typedef struct {
  fca_html_str_t src, type, language, referrerpolicy, integrity, crossorigin, nonce;
  bool async, defer, nomodule;
} fca_html_script_t;

typedef struct {
  fca_html_str_t name, http_equiv, content, charset;
} fca_html_meta_t;

typedef struct {
  fca_html_str_t src, sandbox, srcdoc, name, allow;
  bool is_frame; /* <frame> rather than <iframe> */
} fca_html_iframe_t;

/* A slice of an inline <script>'s text (raw bytes, no character references). Slices of one
 * script arrive in order and are contiguous; the final call has last = true (len may be 0) and
 * comes at the end tag or at fca_html_scan_finish. */
typedef struct {
  uint64_t script_offset; /* offset of the <script> start tag's '<' */
  uint64_t offset;        /* offset of data[0] */
  const char *data;
  size_t len;
  bool last;
  bool inert;
} fca_html_text_t;

/* Any callback may be NULL. Start tags of script, meta, iframe/frame and base get their own
 * callback (after `tag`, which sees every start and end tag, e.g. </head> and <body>). */
typedef struct {
  void (*tag)(void *ud, const fca_html_tag_t *tag);
  void (*script)(void *ud, const fca_html_tag_t *tag, const fca_html_script_t *script);
  void (*inline_script)(void *ud, const fca_html_text_t *text);
  void (*meta)(void *ud, const fca_html_tag_t *tag, const fca_html_meta_t *meta);
  void (*iframe)(void *ud, const fca_html_tag_t *tag, const fca_html_iframe_t *iframe);
  /* The document's base URL: only the first non-inert <base> with an href, as browsers do. */
  void (*base)(void *ud, const fca_html_tag_t *tag, const char *href, size_t href_len);
} fca_html_scan_cb_t;

typedef struct {
  uint64_t bytes;          /* bytes fed */
  uint64_t tags;           /* start and end tags emitted */
  uint64_t attrs_oversize; /* attribute values dropped for passing FCA_HTML_SCAN_ATTR_MAX */
  uint64_t tags_truncated; /* tags that lost attributes to FCA_HTML_SCAN_TAG_MAX/_MAX_ATTRS */
  uint64_t attrs_dropped;  /* attributes lost that way */
  uint64_t attrs_duplicate;
  uint64_t comments;
} fca_html_scan_stats_t;

typedef struct fca_html_scan fca_html_scan_t;

fca_html_scan_t *fca_html_scan_new(const fca_html_scan_cb_t *cbs, void *ud);
/* Never fails; after UTF-16 detection the remaining input is ignored. */
void fca_html_scan_feed(fca_html_scan_t *s, const void *buf, size_t n);
/* End of input: an unterminated script gets its last text call; an unfinished tag is dropped
 * (as browsers do at EOF in a tag). */
void fca_html_scan_finish(fca_html_scan_t *s);
void fca_html_scan_free(fca_html_scan_t *s);

const fca_html_scan_stats_t *fca_html_scan_stats(const fca_html_scan_t *s);
/* The body starts with a UTF-16 byte order mark (FE FF or FF FE): browsers decode it as
 * UTF-16, so this byte scanner saw nothing meaningful. */
bool fca_html_scan_is_utf16(const fca_html_scan_t *s);
/* The first <base href> seen so far (value as in the attribute), or NULL. */
const char *fca_html_scan_base_href(const fca_html_scan_t *s, size_t *len);

/* Looks up an attribute by lower-case name. */
fca_html_str_t fca_html_tag_attr(const fca_html_tag_t *tag, const char *name);

#endif
