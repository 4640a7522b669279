/* fca-scanbench: generates ~64 MiB of realistic HTML in memory (head with metas and scripts,
 * inline JS, styles, nested markup with attributes and entities, comments, text), then reports
 * the HTML scanner's throughput and gzip decoding throughput, fed in 16 KiB slices as the proxy
 * would. One line each; figures are MB/s (10^6 bytes) of decoded HTML. A last line gives the
 * audit engine's CPU time per exchange for tools/bench's W1 page (request head, response head,
 * the 6 KB page that loads Stripe.js, end): the engine's share of the proxy's CPU per request. */
#include "decode.h"
#include "fcaudit/audit.h"
#include "html_scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#define TARGET (64u << 20)
#define SLICE (16u << 10)

typedef struct {
  char *b;
  size_t n, cap;
} buf_t;

static void put(buf_t *b, const char *s) {
  size_t n = strlen(s);
  if (b->n + n > b->cap) {
    b->cap = (b->n + n) * 2;
    b->b = realloc(b->b, b->cap);
    if (!b->b) abort();
  }
  memcpy(b->b + b->n, s, n);
  b->n += n;
}

static unsigned rnd_state = 12345;
static unsigned rnd(unsigned n) {
  rnd_state = rnd_state * 1103515245u + 12345u;
  return (rnd_state >> 8) % n;
}

static const char *const words[] = {"account",  "payment", "the", "bank",     "and",
                                    "checkout", "secure",  "of",  "your",     "customer",
                                    "linked",   "verify",  "to",  "session",  "with",
                                    "order",    "details", "a",   "shipping", "total"};

static void text(buf_t *b, unsigned nwords) {
  for (unsigned i = 0; i < nwords; i++) {
    put(b, words[rnd(20)]);
    put(b, i + 1 < nwords ? " " : "");
  }
}

static void page(buf_t *b) {
  char tmp[512];
  put(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "<meta name=\"referrer\" content=\"strict-origin-when-cross-origin\">\n"
         "<title>Checkout &mdash; Example Shop</title>\n"
         "<link rel=\"stylesheet\" href=\"/assets/app.css?v=3\">\n"
         "<script src=\"https://js.stripe.com/v3/\" async></script>\n"
         "<script>window.dataLayer = window.dataLayer || [];\n"
         "function gtag(){dataLayer.push(arguments);} gtag('js', new Date());\n"
         "if (a < b && c > d) { console.log(\"<div>\" + x); }\n"
         "var stripe = Stripe('pk_test_123');</script>\n"
         "<style>.row{display:flex}.col>a{color:#333}</style>\n</head>\n<body class=\"page\">\n"
         "<!-- main navigation -->\n<nav id=\"top\"><ul>");
  for (int i = 0; i < 8; i++) {
    snprintf(tmp, sizeof tmp, "<li class=\"nav-item\"><a href=\"/c/%u?ref=nav&amp;p=%d\">",
             rnd(1000), i);
    put(b, tmp);
    text(b, 2);
    put(b, "</a></li>");
  }
  put(b, "</ul></nav>\n<main>\n");
  for (int s = 0; s < 40; s++) {
    snprintf(tmp, sizeof tmp,
             "<section class=\"product-list grid-%u\" data-id=\"%u\" aria-label='Products'>\n",
             rnd(4), rnd(100000));
    put(b, tmp);
    for (int i = 0; i < 6; i++) {
      snprintf(tmp, sizeof tmp,
               "<div class=\"card col-%u\"><img src=\"/img/p%u.jpg\" alt=\"Product %u\" "
               "loading=lazy width=320 height=240><h3>",
               rnd(12), rnd(5000), i);
      put(b, tmp);
      text(b, 3 + rnd(4));
      put(b, "</h3><p>");
      text(b, 20 + rnd(40));
      put(b, " &copy; 2024</p><span class=price>&euro;19.99</span><br>"
             "<button type=\"button\" onclick=\"add(this)\">Add</button></div>\n");
    }
    put(b, "</section>\n");
  }
  put(b, "<iframe src=\"https://pay.example/frame\" sandbox=\"allow-scripts allow-popups\" "
         "title=\"pay\"></iframe>\n<footer><p>");
  text(b, 40);
  put(b, "</p></footer>\n<script>document.querySelectorAll('.card').forEach(function (c) {"
         " c.addEventListener('click', function () { location.href = '/p/' + c.dataset.id; });"
         " });</script>\n</main>\n</body>\n</html>\n");
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned long long ntags, nscripts, ntext;
static void on_tag(void *ud, const fca_html_tag_t *t) { (void)ud, (void)t, ntags++; }
static void on_script(void *ud, const fca_html_tag_t *t, const fca_html_script_t *s) {
  (void)ud, (void)t, (void)s, nscripts++;
}
static void on_text(void *ud, const fca_html_text_t *x) { (void)ud, ntext += x->len; }

static int sink(void *ud, const unsigned char *b, size_t n) {
  (void)b;
  *(size_t *)ud += n;
  return 0;
}

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned long long nevents;
static void count_event(void *ud, const fca_event_t *ev) {
  (void)ud, (void)ev;
  nevents++;
}

/* The W1 exchange of tools/bench, through the audit facade as the proxy feeds it. */
static void audit_exchanges(void) {
  buf_t page = {0};
  put(&page, "<!doctype html><html><head><title>Checkout</title>\n"
             "<script src=\"https://js.stripe.com/v3/\"></script></head><body>\n");
  char line[128];
  for (int i = 1; i <= 60; i++) {
    snprintf(line, sizeof line,
             "<p class=\"row\">Line item %d: a product description for the bench page.</p>\n", i);
    put(&page, line);
  }
  put(&page, "</body></html>\n");
  char clen[24];
  snprintf(clen, sizeof clen, "%zu", page.n);
#define H(n, v)                                                                                    \
  { n, sizeof n - 1, v, sizeof v - 1 }
  const fca_audit_header_t req_h[] = {H("Host", "127.0.0.1:8080"), H("User-Agent", "wrk"),
                                      H("Accept", "*/*")};
  fca_audit_header_t resp_h[] = {H("Server", "nginx"),
                                 H("Date", "Sun, 06 Dec 2026 12:00:00 GMT"),
                                 H("Content-Type", "text/html"),
                                 {"Content-Length", 14, clen, strlen(clen)},
                                 H("Last-Modified", "Sun, 06 Dec 2026 11:00:00 GMT"),
                                 H("Connection", "keep-alive"),
                                 H("ETag", "\"6756e4f0-1a2b\""),
                                 H("Accept-Ranges", "bytes")};
#undef H
  fca_audit_opts_t o = {.emit = count_event, .env = "test", .dedup = true};
  fca_audit_t *a = fca_audit_new(&o);
  const int n = 20000;
  double best = 1e9;
  for (int rep = 0; rep < 3; rep++) {
    double t0 = cpu_now();
    for (int i = 0; i < n; i++) {
      fca_audit_request_t rq = {.method = "GET",
                                .url = "http://127.0.0.1:8080/page.html",
                                .headers = req_h,
                                .nheaders = 3,
                                .client = "127.0.0.1:40000",
                                .client_id = "127.0.0.1",
                                .now_ms = 1796558400000 + i};
      fca_audit_exchange_t *x = fca_audit_begin(a, &rq);
      fca_audit_response_head(x, 200, resp_h, sizeof resp_h / sizeof resp_h[0]);
      fca_audit_response_body(x, page.b, page.n);
      fca_audit_response_end(x, true);
      fca_audit_exchange_free(x);
    }
    double dt = cpu_now() - t0;
    if (dt < best) best = dt;
  }
  fca_audit_free(a);
  printf("audit, W1 page: %.2f us CPU per exchange (%d exchanges, %llu events)\n", best * 1e6 / n,
         n, nevents);
  free(page.b);
}

int main(void) {
  buf_t b = {0};
  while (b.n < TARGET) page(&b);
  double mb = (double)b.n / 1e6;

  fca_html_scan_cb_t cbs = {0};
  cbs.tag = on_tag;
  cbs.script = on_script;
  cbs.inline_script = on_text;
  double best = 1e9;
  for (int rep = 0; rep < 3; rep++) {
    ntags = nscripts = ntext = 0;
    fca_html_scan_t *s = fca_html_scan_new(&cbs, NULL);
    double t0 = now();
    for (size_t off = 0; off < b.n; off += SLICE)
      fca_html_scan_feed(s, b.b + off, b.n - off < SLICE ? b.n - off : SLICE);
    fca_html_scan_finish(s);
    double dt = now() - t0;
    if (dt < best) best = dt;
    fca_html_scan_free(s);
  }
  printf("html_scan: %.1f MB in %.3f s = %.0f MB/s (%llu tags, %llu scripts, %llu script bytes)\n",
         mb, best, mb / best, ntags, nscripts, ntext);

  uLong cap = compressBound((uLong)b.n);
  unsigned char *gz = malloc(cap);
  z_stream z;
  memset(&z, 0, sizeof z);
  if (!gz || deflateInit2(&z, 6, Z_DEFLATED, MAX_WBITS + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return 1;
  z.next_in = (unsigned char *)b.b;
  z.avail_in = (uInt)b.n;
  z.next_out = gz;
  z.avail_out = (uInt)cap;
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) return 1;
  size_t gzn = cap - z.avail_out;
  deflateEnd(&z);
  best = 1e9;
  size_t got = 0;
  for (int rep = 0; rep < 3; rep++) {
    got = 0;
    fca_decode_t *d = fca_decode_new("gzip", 0, sink, &got);
    double t0 = now();
    for (size_t off = 0; off < gzn; off += SLICE)
      fca_decode_feed(d, gz + off, gzn - off < SLICE ? gzn - off : SLICE);
    fca_decode_finish(d);
    double dt = now() - t0;
    if (dt < best) best = dt;
    if (fca_decode_state(d) != FCA_DECODE_OK || got != b.n) return 1;
    fca_decode_free(d);
  }
  printf("gunzip: %.1f MB decoded from %.1f MB in %.3f s = %.0f MB/s\n", mb, (double)gzn / 1e6,
         best, mb / best);
  free(gz);
  free(b.b);
  audit_exchanges();
  return 0;
}
