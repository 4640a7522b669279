/* Unit tests for html_scan. Every callback is recorded as one log line (inline script text is
 * joined per script, since slicing may differ); each input is scanned in one shot, split at
 * every byte offset, and in seeded random chunks, and all logs must be identical. */
#include "html_scan.h"
#include "url.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  char *log;
  size_t len, cap;
  char *text; /* current inline script's text */
  size_t text_len, text_cap;
  uint64_t text_next; /* expected offset of the next slice; 0 = none yet */
  bool tags;          /* record every tag too */
} rec_t;

static void put(rec_t *r, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char tmp[256];
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (r->len + (size_t)n + 1 > r->cap) {
    r->cap = (r->len + (size_t)n + 1) * 2;
    r->log = realloc(r->log, r->cap);
  }
  memcpy(r->log + r->len, tmp, (size_t)n + 1);
  r->len += (size_t)n;
}

static void put_bytes(rec_t *r, const char *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    if (c < 0x20 || c >= 0x7f || c == '\\' || c == '"')
      put(r, "\\x%02x", c);
    else
      put(r, "%c", c);
  }
}

static void put_str(rec_t *r, const char *key, fca_html_str_t v) {
  if (!v.present) return;
  put(r, " %s=", key);
  put_bytes(r, v.ptr, v.len);
}

static void put_flags(rec_t *r, const fca_html_tag_t *t) {
  if (t->inert) put(r, " INERT%u", t->template_depth);
  if (t->truncated) put(r, " TRUNC");
  if (t->self_closing) put(r, " SELF");
}

static void on_tag(void *ud, const fca_html_tag_t *t) {
  rec_t *r = ud;
  if (!r->tags) return;
  put(r, "T%llu %s", (unsigned long long)t->offset, t->end_tag ? "/" : "");
  put_bytes(r, t->name, t->name_len);
  for (size_t i = 0; i < t->nattrs; i++) {
    put(r, " ");
    put_bytes(r, t->attrs[i].name, t->attrs[i].name_len);
    if (t->attrs[i].oversize)
      put(r, "=OVERSIZE");
    else if (t->attrs[i].has_value) {
      put(r, "=");
      put_bytes(r, t->attrs[i].value, t->attrs[i].value_len);
    }
  }
  put_flags(r, t);
  put(r, "\n");
}

static void on_script(void *ud, const fca_html_tag_t *t, const fca_html_script_t *s) {
  rec_t *r = ud;
  put(r, "S%llu", (unsigned long long)t->offset);
  put_str(r, "src", s->src);
  put_str(r, "type", s->type);
  put_str(r, "rp", s->referrerpolicy);
  if (s->async) put(r, " async");
  if (s->defer) put(r, " defer");
  if (s->nomodule) put(r, " nomodule");
  put_flags(r, t);
  put(r, "\n");
}

static void on_text(void *ud, const fca_html_text_t *x) {
  rec_t *r = ud;
  if (!x->last) cr_assert_gt(x->len, 0, "empty non-final slice");
  if (r->text_next) cr_assert_eq(x->offset, r->text_next, "slices not contiguous");
  r->text_next = x->offset + x->len;
  if (r->text_len + x->len > r->text_cap) {
    r->text_cap = (r->text_len + x->len) * 2 + 16;
    r->text = realloc(r->text, r->text_cap);
  }
  if (x->len) memcpy(r->text + r->text_len, x->data, x->len);
  r->text_len += x->len;
  if (x->last) {
    put(r, "I%llu@%llu%s \"", (unsigned long long)x->script_offset,
        (unsigned long long)(x->offset - r->text_len), x->inert ? " INERT" : "");
    put_bytes(r, r->text, r->text_len);
    put(r, "\"\n");
    r->text_len = 0;
    r->text_next = 0;
  }
}

static void on_meta(void *ud, const fca_html_tag_t *t, const fca_html_meta_t *m) {
  rec_t *r = ud;
  put(r, "M%llu", (unsigned long long)t->offset);
  put_str(r, "name", m->name);
  put_str(r, "http-equiv", m->http_equiv);
  put_str(r, "content", m->content);
  put_flags(r, t);
  put(r, "\n");
}

static void on_iframe(void *ud, const fca_html_tag_t *t, const fca_html_iframe_t *f) {
  rec_t *r = ud;
  put(r, "%s%llu", f->is_frame ? "FRAME" : "F", (unsigned long long)t->offset);
  put_str(r, "src", f->src);
  put_str(r, "sandbox", f->sandbox);
  put_str(r, "srcdoc", f->srcdoc);
  put_flags(r, t);
  put(r, "\n");
}

static void on_base(void *ud, const fca_html_tag_t *t, const char *href, size_t n) {
  rec_t *r = ud;
  put(r, "B%llu ", (unsigned long long)t->offset);
  put_bytes(r, href, n);
  put(r, "\n");
}

static const fca_html_scan_cb_t cbs = {on_tag, on_script, on_text, on_meta, on_iframe, on_base};

/* split: 0 = one shot, SIZE_MAX = random chunks of 1..max_chunk bytes, else two chunks. */
static char *scan_log(const char *in, size_t n, bool tags, size_t split, unsigned seed,
                      fca_html_scan_stats_t *st) {
  rec_t r = {0};
  r.tags = tags;
  put(&r, "%s", "");
  fca_html_scan_t *s = fca_html_scan_new(&cbs, &r);
  if (split == SIZE_MAX) {
    srand(seed);
    size_t max_chunk = seed % 2 ? 3 : 64;
    for (size_t off = 0; off < n;) {
      size_t k = (size_t)rand() % max_chunk + 1;
      if (k > n - off) k = n - off;
      fca_html_scan_feed(s, in + off, k);
      off += k;
    }
  } else if (split) {
    fca_html_scan_feed(s, in, split);
    fca_html_scan_feed(s, in + split, n - split);
  } else {
    fca_html_scan_feed(s, in, n);
  }
  fca_html_scan_finish(s);
  fca_html_scan_finish(s); /* idempotent */
  if (fca_html_scan_is_utf16(s)) put(&r, "UTF16\n");
  if (st) *st = *fca_html_scan_stats(s);
  fca_html_scan_free(s);
  free(r.text);
  return r.log;
}

static char *check_n(const char *in, size_t n, bool tags, const char *expect,
                     fca_html_scan_stats_t *st) {
  char *one = scan_log(in, n, tags, 0, 0, st);
  if (expect) cr_assert_str_eq(one, expect, "input: %s\n got: %s\nwant: %s", in, one, expect);
  for (size_t split = 1; split < n; split++) {
    char *l = scan_log(in, n, tags, split, 0, NULL);
    cr_assert_str_eq(l, one, "split at %zu of: %s", split, in);
    free(l);
  }
  for (unsigned seed = 1; seed <= 16; seed++) {
    char *l = scan_log(in, n, tags, SIZE_MAX, seed, NULL);
    cr_assert_str_eq(l, one, "random chunks seed %u", seed);
    free(l);
  }
  return one;
}

static void check(const char *in, const char *expect) {
  free(check_n(in, strlen(in), false, expect, NULL));
}
static void check_tags(const char *in, const char *expect) {
  free(check_n(in, strlen(in), true, expect, NULL));
}

Test(html_scan, script_tag_basic_and_offsets) {
  const char *in = "<!doctype html><html><head><meta charset=utf-8>\n"
                   "<script src=\"https://js.stripe.com/v3/\" async></script></head></html>";
  char buf[256];
  size_t off = (size_t)(strstr(in, "<script") - in);
  size_t endoff = (size_t)(strstr(in, "</script>") - in);
  size_t meta = (size_t)(strstr(in, "<meta") - in);
  snprintf(buf, sizeof buf, "M%zu\nS%zu src=https://js.stripe.com/v3/ async\nI%zu@%zu \"\"\n", meta,
           off, off, endoff);
  check(in, buf);
}

Test(html_scan, every_tag_with_attributes) {
  check_tags("<P Class=a ID='b' data-x=\"c d\" hidden>x</p><BR/><img src=a.png / >",
             "T0 p class=a id=b data-x=c d hidden\n"
             "T39 /p\n"
             "T43 br SELF\n"
             "T48 img src=a.png\n");
}

Test(html_scan, uppercase_tags_and_attributes) {
  check("<SCRIPT SRC='https://js.stripe.com/v3' DEFER TYPE=text/javascript "
        "ReferrerPolicy=no-referrer NoModule></SCRIPT>",
        "S0 src=https://js.stripe.com/v3 type=text/javascript rp=no-referrer defer nomodule\n"
        "I0@102 \"\"\n");
}

Test(html_scan, entity_encoded_src) {
  check("<script src=\"https:&#x2F;&#X2f;js.stripe.com&sol;v3&period;js\"></script>",
        "S0 src=https://js.stripe.com/v3.js\nI0@63 \"\"\n");
  check("<script src=https&colon;&#47;&#047;js&#46;stripe&period;com/v3></script>",
        "S0 src=https://js.stripe.com/v3\nI0@63 \"\"\n");
  check("<script src='ht&NewLine;tps://js.stripe.com/v3?a=1&amp;b=2&ampc=3&copy=4&copy;&ampx;'>"
        "</script>",
        "S0 src=ht\\x0atps://js.stripe.com/v3?a=1&b=2&ampc=3&copy=4\\xc2\\xa9&ampx;\nI0@86 \"\"\n");
}

Test(html_scan, character_reference_edge_cases) {
  check_tags("<a t=\"&#0;|&#x110000;|&#128;|&#X41|&#;|&#x;|&#xD800;|&unknown;|&|&lt&gt;|&#65a\">",
             "T0 a t=\\xef\\xbf\\xbd|\\xef\\xbf\\xbd|\\xe2\\x82\\xac|A|&#;|&#x;|\\xef\\xbf\\xbd|"
             "&unknown;|&|<>|Aa\n");
  /* In text and in end tags references do not matter; unquoted values decode them. */
  check_tags("&amp;<b title=a&amp;b&lt>&lt;</b x=&amp;>", "T5 b title=a&b<\nT29 /b\n");
}

Test(html_scan, duplicate_attributes_first_wins) {
  fca_html_scan_stats_t st;
  const char *in = "<script src=a SRC=b src='c' async ASYNC></script>";
  free(check_n(in, strlen(in), false, "S0 src=a async\nI0@40 \"\"\n", &st));
  cr_assert_eq(st.attrs_duplicate, 3);
}

Test(html_scan, comments_hide_scripts) {
  check("<!-- <script src=a></script> --><p>", "");
  check("<!--><script src=b></script>", "S5 src=b\nI5@19 \"\"\n");
  check("<!---><script src=c></script>", "S6 src=c\nI6@20 \"\"\n");
  check("<!-- x --!><script src=d></script>", "S11 src=d\nI11@25 \"\"\n");
  check("<!-- x -- > <script src=e></script> --->", "");
  check("<!-- unterminated <script src=f></script>", "");
  check("<!----><script src=g></script>", "S7 src=g\nI7@21 \"\"\n");
}

Test(html_scan, doctype_cdata_and_processing_instructions) {
  check("<!DOCTYPE html PUBLIC \"-//W3C//DTD\"><![CDATA[ <script src=x> ]]>"
        "<?php <script src=y> ?><script src=z></script>",
        "S87 src=z\nI87@101 \"\"\n");
  check("<!doctypehtml><!><! x ><script src=a></script>", "S23 src=a\nI23@37 \"\"\n");
  check("</ script src=b><//><script src=c></script>", "S20 src=c\nI20@34 \"\"\n");
}

Test(html_scan, raw_text_elements_hide_tags) {
  check("<style><script src=a></script></style>"
        "<textarea><script src=b></TextArea >"
        "<title><script src=c></title>"
        "<xmp><script src=d></xmp>"
        "<iframe src=/f><script src=e></script></iframe>"
        "<noembed><script src=f></noembed>"
        "<noframes><script src=g></noframes><script src=h></script>",
        "F128 src=/f\nS243 src=h\nI243@257 \"\"\n");
}

Test(html_scan, end_tag_inside_js_string_ends_script) {
  check("<script>var s = \"</script><script src=x>\";</script>",
        "S0\nI0@8 \"var s = \\x22\"\nS26 src=x\nI26@40 \"\\x22;\"\n");
}

Test(html_scan, script_end_tag_forms) {
  check("<script>a</scripty>b</SCRIPT >c", "S0\nI0@8 \"a</scripty>b\"\n");
  check("<script>a</script/>b<script>c</script\tx=1>", "S0\nI0@8 \"a\"\nS20\nI20@28 \"c\"\n");
  check("<script>a</scr ipt></script", "S0\nI0@8 \"a</scr ipt></script\"\n");
  check("<script>a</", "S0\nI0@8 \"a</\"\n");
  check("<script>a</script", "S0\nI0@8 \"a</script\"\n");
  check("<script src=a />text<p></script>", "S0 src=a SELF\nI0@16 \"text<p>\"\n");
}

Test(html_scan, script_escape_states) {
  check("<script><!-- document.write(\"<script src=a></script>\"); --></script>"
        "<script src=b></script>",
        "S0\nI0@8 \"<!-- document.write(\\x22<script src=a></script>\\x22); -->\"\n"
        "S68 src=b\nI68@82 \"\"\n");
  /* Escaped (no nested <script>): </script> still ends it. */
  check("<script><!-- x </script><script src=c></script>",
        "S0\nI0@8 \"<!-- x \"\nS24 src=c\nI24@38 \"\"\n");
  /* Double escaped and never closed: the rest of the input is script text. */
  check("<script><!--<script></script><p>", "S0\nI0@8 \"<!--<script></script><p>\"\n");
  check("<script><!--<script>--></script>x", "S0\nI0@8 \"<!--<script>-->\"\n");
  check("<script><!-></script>", "S0\nI0@8 \"<!->\"\n");
  check("<script><!--->--></script>", "S0\nI0@8 \"<!--->-->\"\n");
}

Test(html_scan, template_and_noscript_are_inert) {
  check("<template><script src=x></script><template></template><script src=y></script>"
        "</template><script src=z></script>",
        "S10 src=x INERT1\nI10@24 INERT \"\"\n"
        "S54 src=y INERT1\nI54@68 INERT \"\"\n"
        "S88 src=z\nI88@102 \"\"\n");
  check("<noscript><script src=n>t</script><base href=/q><iframe src=i></iframe></noscript>"
        "<script src=m></script>",
        "S10 src=n INERT0\nI10@24 INERT \"t\"\nF48 src=i INERT0\nS82 src=m\nI82@96 \"\"\n");
  /* noscript is raw text: a comment does not hide its end tag. */
  check("<noscript><!-- </noscript> --><script src=m></script>", "S30 src=m\nI30@44 \"\"\n");
  /* Unterminated script inside noscript ends with the noscript. */
  check("<NOSCRIPT><script>abc</noscript>", "S10 INERT0\nI10@18 INERT \"abc\"\n");
  check("<template><noscript><meta name=referrer content=no-referrer></noscript></template>",
        "M20 name=referrer content=no-referrer INERT1\n");
}

Test(html_scan, base_first_one_counts) {
  char *l = check_n("<template><base href=/t/></template><base target=x><base href=\" /a/ \">"
                    "<base href=/b/>",
                    71 + 15, false, "B51  /a/ \n", NULL);
  free(l);
  fca_html_scan_t *s = fca_html_scan_new(NULL, NULL);
  const char *in = "<base href=\"https://x.test/&amp;\"><base href=/c/>";
  fca_html_scan_feed(s, in, strlen(in));
  fca_html_scan_finish(s);
  size_t n;
  const char *b = fca_html_scan_base_href(s, &n);
  cr_assert_not_null(b);
  cr_assert_eq(n, 16);
  cr_assert(memcmp(b, "https://x.test/&", 16) == 0);
  fca_html_scan_free(s);
}

Test(html_scan, meta_and_iframes) {
  check("<meta name=\"Referrer\" content=\"no-referrer\">"
        "<META HTTP-EQUIV=Content-Security-Policy CONTENT='sandbox allow-scripts'>"
        "<iframe src=\"https://pay.test/\" sandbox=\"allow-scripts allow-popups\" srcdoc></iframe>"
        "<iframe src=/x sandbox></iframe><frameset><frame src=a></frameset>",
        "M0 name=Referrer content=no-referrer\n"
        "M44 http-equiv=Content-Security-Policy content=sandbox allow-scripts\n"
        "F117 src=https://pay.test/ sandbox=allow-scripts allow-popups srcdoc=\n"
        "F202 src=/x sandbox=\n"
        "FRAME244 src=a\n");
}

Test(html_scan, plaintext_swallows_rest) {
  check_tags("<plaintext><script src=a></script></plaintext>", "T0 plaintext\n");
}

Test(html_scan, unterminated_tag_is_dropped) {
  check("<script src=a", "");
  check("<script src=\"a>", "");
  check("<meta name=a content='x&amp", "");
}

Test(html_scan, attribute_edge_syntax) {
  check_tags("<a =x b= c=\"\" d=' e 'f g/h>", "T0 a =x b=c=\\x22\\x22 d= e  f g h\n");
  check_tags("<a\nb\t=\fc\r>", "T0 a b=c\n");
  check_tags("<a b=\"x\"c=\"y\">", "T0 a b=x c=y\n");
  check_tags("<a b='x'/c>", "T0 a b=x c\n");
  check_tags("<3 <a<b>", "T3 a<b\n");
}

Test(html_scan, oversize_attribute_skipped_and_counted) {
  size_t big = FCA_HTML_SCAN_ATTR_MAX + 10;
  char *in = malloc(big + 128);
  int k = sprintf(in, "<script data-x=\"");
  memset(in + k, 'a', big);
  sprintf(in + k + big, "\" src=https://js.stripe.com/v3></script>");
  fca_html_scan_stats_t st;
  char *l = scan_log(in, strlen(in), true, 0, 0, &st);
  cr_assert(strstr(l, "T0 script data-x=OVERSIZE src=https://js.stripe.com/v3\n") != NULL, "%s", l);
  cr_assert(strstr(l, "S0 src=https://js.stripe.com/v3\n") != NULL);
  cr_assert_eq(st.attrs_oversize, 1);
  free(l);
  free(check_n(in, strlen(in), true, NULL, NULL));
  free(in);
}

Test(html_scan, oversize_tag_truncated_and_counted) {
  /* Six values of 6000 bytes: the 32 KiB tag buffer holds five. */
  char *in = malloc(64 * 1024);
  size_t k = (size_t)sprintf(in, "<iframe sandbox=allow-scripts");
  for (int i = 0; i < 6; i++) {
    k += (size_t)sprintf(in + k, " a%d=\"", i);
    memset(in + k, 'v', 6000);
    k += 6000;
    in[k++] = '"';
  }
  k += (size_t)sprintf(in + k, " src=/late></iframe>");
  fca_html_scan_stats_t st;
  char *l = scan_log(in, k, false, 0, 0, &st);
  cr_assert_str_eq(l, "F0 sandbox=allow-scripts TRUNC\n");
  cr_assert_eq(st.tags_truncated, 1);
  cr_assert_eq(st.attrs_dropped, 2);
  /* Chunked the same way (every 61st split: the input is 36 KB). */
  for (size_t split = 1; split < k; split += 61) {
    char *m = scan_log(in, k, false, split, 0, NULL);
    cr_assert_str_eq(m, l, "split %zu", split);
    free(m);
  }
  free(l);
  free(in);
}

Test(html_scan, utf16_bom_detected) {
  static const char in[] = "\xff\xfe<\0s\0c\0r\0i\0p\0t\0>\0";
  free(check_n(in, sizeof in - 1, true, "UTF16\n", NULL));
  static const char be[] = "\xfe\xff\0<\0a\0>";
  free(check_n(be, sizeof be - 1, true, "UTF16\n", NULL));
  /* A UTF-8 BOM is just text. */
  free(check_n("\xef\xbb\xbf<p>", 6, true, "T3 p\n", NULL));
}

Test(html_scan, inline_script_text_slices) {
  const char *in = "<script>if (a < b && c<!d) x = '<\\/script>'; // </scrip\n</script>";
  check(in, "S0\nI0@8 \"if (a < b && c<!d) x = '<\\x5c/script>'; // </scrip\\x0a\"\n");
}

Test(html_scan, random_markup_chunking_is_stable) {
  /* Random soup of markup fragments: whatever the result, chunking must not change it. */
  static const char *frags[] = {
      "<script>",    "</script>",  "<!--",        "-->",        "<template>",
      "</template>", "<noscript>", "</noscript>", "<a href='",  "'",
      "\"",          "&amp;",      "&#x2F;",      "<style>",    "</style>",
      "<base href=", ">",          " ",           "<!DOCTYPE ", "<iframe src=",
      "</iframe>",   "x",          "<",           "</",         "<meta name=referrer content=",
      "<![CDATA[",   "<?",         "=",           "-",          "!",
  };
  char buf[600];
  for (unsigned round = 0; round < 40; round++) {
    srand(round * 7919 + 3);
    size_t n = 0;
    while (n < 400) {
      const char *f = frags[(size_t)rand() % (sizeof frags / sizeof frags[0])];
      size_t fl = strlen(f);
      memcpy(buf + n, f, fl);
      n += fl;
    }
    buf[n] = 0;
    free(check_n(buf, n, true, NULL, NULL));
  }
}

typedef struct {
  char base[256];
  char src[256];
} resolve_rec_t;

static void rr_base(void *ud, const fca_html_tag_t *t, const char *href, size_t n) {
  resolve_rec_t *r = ud;
  fca_url_t u;
  const char *doc = "https://shop.example/checkout/pay";
  cr_assert_eq(fca_url_resolve(doc, strlen(doc), href, n, &u), 0);
  snprintf(r->base, sizeof r->base, "%s", u.href);
  fca_url_free(&u);
}

static void rr_script(void *ud, const fca_html_tag_t *t, const fca_html_script_t *s) {
  resolve_rec_t *r = ud;
  fca_url_t u;
  cr_assert_eq(fca_url_resolve(r->base, strlen(r->base), s->src.ptr, s->src.len, &u), 0);
  snprintf(r->src, sizeof r->src, "%s", u.href);
  fca_url_free(&u);
}

Test(html_scan, base_resolution_of_script_src) {
  fca_html_scan_cb_t cb = {0};
  cb.base = rr_base;
  cb.script = rr_script;
  resolve_rec_t r = {0};
  const char *in = "<head><BASE HREF=' /assets/v2/ '><base href=/ignored/>"
                   "<script src=\"..&#x2F;js/app.js?x=1&amp;y\"></script>";
  fca_html_scan_t *s = fca_html_scan_new(&cb, &r);
  fca_html_scan_feed(s, in, strlen(in));
  fca_html_scan_finish(s);
  fca_html_scan_free(s);
  cr_assert_str_eq(r.base, "https://shop.example/assets/v2/");
  cr_assert_str_eq(r.src, "https://shop.example/assets/js/app.js?x=1&y");
  /* A protocol-relative Stripe.js URL takes the base's scheme. */
  memset(&r, 0, sizeof r);
  in = "<base href='http://cdn.example/'><script src='//js.stripe.com/v3/'></script>";
  s = fca_html_scan_new(&cb, &r);
  fca_html_scan_feed(s, in, strlen(in));
  fca_html_scan_finish(s);
  fca_html_scan_free(s);
  cr_assert_str_eq(r.src, "http://js.stripe.com/v3/");
}

/* Evidence is "the tag as it appeared": raw bytes, whatever the chunking, whether a tag is
 * handed on in place (whole in one chunk) or copied (split). */
static char raw_seen[8][256];
static size_t raw_count;
static bool raw_of_end_tags;
static void raw_tag(void *ud, const fca_html_tag_t *t) {
  (void)ud;
  if (t->end_tag != raw_of_end_tags || raw_count >= 8) return;
  snprintf(raw_seen[raw_count++], sizeof raw_seen[0], "%.*s", (int)t->raw_len, t->raw);
}

/* Feeds `in` split in two at every offset; the raw text of its start (or end) tags is `want`. */
static void raw_at_every_split(const char *in, bool end_tags, const char *const *want,
                               size_t nwant) {
  fca_html_scan_cb_t cb = {0};
  cb.tag = raw_tag;
  raw_of_end_tags = end_tags;
  size_t n = strlen(in);
  for (size_t split = 0; split <= n; split++) {
    raw_count = 0;
    fca_html_scan_t *s = fca_html_scan_new(&cb, NULL);
    fca_html_scan_feed(s, in, split);
    fca_html_scan_feed(s, in + split, n - split);
    fca_html_scan_finish(s);
    fca_html_scan_free(s);
    cr_assert_eq(raw_count, nwant, "split %zu", split);
    for (size_t i = 0; i < nwant; i++)
      cr_assert_str_eq(raw_seen[i], want[i], "split %zu tag %zu", split, i);
  }
}

Test(html_scan, raw_tag_text_at_every_split) {
  const char *want[] = {"<p>", "<META NAME=referrer content='no&#45;referrer'>",
                        "<iframe sandbox=\"allow-scripts\n allow-popups\" src=/f>"};
  raw_at_every_split("<p>x</p><META NAME=referrer content='no&#45;referrer'>"
                     "<iframe sandbox=\"allow-scripts\n allow-popups\" src=/f></iframe>",
                     false, want, 3);
}

Test(html_scan, raw_end_tag_text_at_every_split) {
  const char *want[] = {"</p >", "</DIV\t>"};
  raw_at_every_split("<p>x</p ><div></DIV\t>", true, want, 2);
}

/* A tag longer than the evidence cap is cut at the cap, in one chunk or two. */
static size_t long_len;
static bool long_cut;
static char long_head[8];
static void long_tag(void *ud, const fca_html_tag_t *t) {
  (void)ud;
  if (t->end_tag) return;
  long_len = t->raw_len;
  long_cut = t->raw_cut;
  snprintf(long_head, sizeof long_head, "%.*s", (int)(t->raw_len < 7 ? t->raw_len : 7), t->raw);
}

Test(html_scan, raw_tag_longer_than_the_cap_is_cut) {
  size_t vlen = FCA_HTML_SCAN_RAW_MAX + 100;
  char *in = malloc(vlen + 32);
  size_t n = (size_t)sprintf(in, "<a title=\"");
  memset(in + n, 'x', vlen);
  n += vlen;
  n += (size_t)sprintf(in + n, "\">");
  fca_html_scan_cb_t cb = {0};
  cb.tag = long_tag;
  size_t splits[] = {n, 1, 5, n / 2, n - 1};
  for (size_t i = 0; i < sizeof splits / sizeof *splits; i++) {
    long_len = 0;
    long_cut = false;
    fca_html_scan_t *s = fca_html_scan_new(&cb, NULL);
    fca_html_scan_feed(s, in, splits[i]);
    fca_html_scan_feed(s, in + splits[i], n - splits[i]);
    fca_html_scan_finish(s);
    fca_html_scan_free(s);
    cr_assert_eq(long_len, (size_t)FCA_HTML_SCAN_RAW_MAX, "split %zu", splits[i]);
    cr_assert(long_cut, "split %zu", splits[i]);
    cr_assert_str_eq(long_head, "<a titl", "split %zu", splits[i]);
  }
  free(in);
}
