/* Differential fuzzer for html_scan: the input scanned in one shot and in chunks whose sizes
 * come from the input must produce the same callback sequence (hashed; inline script text is
 * hashed byte by byte so slicing does not matter). Any difference aborts. */
#include "html_scan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  uint64_t h;
  uint64_t text_next;
} rec_t;

static void mix(rec_t *r, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) r->h = (r->h ^ b[i]) * 0x100000001b3ull;
}
static void mix_u64(rec_t *r, uint64_t v) { mix(r, &v, sizeof v); }

static void mix_tag(rec_t *r, const fca_html_tag_t *t) {
  mix_u64(r, t->offset);
  mix(r, t->name, t->name_len);
  unsigned flags = t->end_tag | t->self_closing << 1 | t->inert << 2 | t->truncated << 3;
  mix_u64(r, flags | (uint64_t)t->template_depth << 8);
  for (size_t i = 0; i < t->nattrs; i++) {
    const fca_html_attr_t *a = &t->attrs[i];
    if (a->value_len > FCA_HTML_SCAN_ATTR_MAX) abort();
    mix(r, a->name, a->name_len);
    mix_u64(r, a->value_len | (uint64_t)a->has_value << 40 | (uint64_t)a->oversize << 41);
    mix(r, a->value, a->value_len);
  }
}

static void on_tag(void *ud, const fca_html_tag_t *t) { mix_tag(ud, t); }
static void on_script(void *ud, const fca_html_tag_t *t, const fca_html_script_t *s) {
  mix_tag(ud, t);
  mix(ud, s->src.ptr, s->src.len);
}
static void on_text(void *ud, const fca_html_text_t *x) {
  rec_t *r = ud;
  if (r->text_next && x->offset != r->text_next) abort(); /* slices must be contiguous */
  r->text_next = x->last ? 0 : x->offset + x->len;
  mix(r, x->data, x->len);
  if (x->last) mix_u64(r, x->script_offset ^ x->offset << 1 ^ (uint64_t)x->inert);
}
static void on_meta(void *ud, const fca_html_tag_t *t, const fca_html_meta_t *m) {
  mix_tag(ud, t);
  mix(ud, m->content.ptr, m->content.len);
}
static void on_iframe(void *ud, const fca_html_tag_t *t, const fca_html_iframe_t *f) {
  mix_tag(ud, t);
  mix(ud, f->sandbox.ptr, f->sandbox.len);
}
static void on_base(void *ud, const fca_html_tag_t *t, const char *h, size_t n) {
  mix_tag(ud, t);
  mix(ud, h, n);
}

static const fca_html_scan_cb_t cbs = {on_tag, on_script, on_text, on_meta, on_iframe, on_base};

static uint64_t run(const uint8_t *data, size_t n, size_t chunk_seed) {
  rec_t r = {0xcbf29ce484222325ull, 0};
  fca_html_scan_t *s = fca_html_scan_new(&cbs, &r);
  size_t off = 0, k = chunk_seed;
  while (off < n) {
    size_t len = chunk_seed ? (k = k * 1103515245u + 12345u) % 13 + 1 : n;
    if (len > n - off) len = n - off;
    fca_html_scan_feed(s, data + off, len);
    off += len;
  }
  fca_html_scan_finish(s);
  const fca_html_scan_stats_t *st = fca_html_scan_stats(s);
  mix_u64(&r, st->tags ^ st->attrs_oversize << 20 ^ st->attrs_dropped << 40);
  mix_u64(&r, fca_html_scan_is_utf16(s));
  fca_html_scan_free(s);
  return r.h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  uint64_t a = run(data, n, 0);
  uint64_t b = run(data, n, n ? data[0] + 1u : 1u);
  if (a != b) abort();
  return 0;
}
