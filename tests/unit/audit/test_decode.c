/* Unit tests for decode: every coding round-trips real compressed data (zlib and zstd made here,
 * brotli fixtures made with the brotli tool), and every input is also fed split at every byte
 * offset and in seeded random chunks, which must give the same output and state. */
#include "decode.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

typedef struct {
  unsigned char *buf;
  size_t len, cap;
  size_t calls;
  size_t stop_after; /* stop once this many bytes were seen; 0 = never */
} sink_t;

static int sink_fn(void *ud, const unsigned char *b, size_t n) {
  sink_t *s = ud;
  cr_assert_gt(n, 0, "empty slice delivered");
  if (s->len + n > s->cap) {
    s->cap = (s->len + n) * 2;
    s->buf = realloc(s->buf, s->cap);
  }
  memcpy(s->buf + s->len, b, n);
  s->len += n;
  s->calls++;
  return s->stop_after && s->len >= s->stop_after;
}

typedef struct {
  sink_t out;
  fca_decode_state_t state;
  char reason[160];
} result_t;

static void result_free(result_t *r) { free(r->out.buf); }

/* chunk == 0: one shot; chunk == SIZE_MAX: random chunks from seed; else split at `chunk`. */
static void run(const char *ce, const unsigned char *in, size_t n, size_t cap, size_t split,
                unsigned seed, result_t *r) {
  memset(r, 0, sizeof *r);
  fca_decode_t *d = fca_decode_new(ce, cap, sink_fn, &r->out);
  if (split == SIZE_MAX) {
    srand(seed);
    size_t off = 0;
    while (off < n) {
      size_t k = (size_t)(rand() % 700) + 1;
      if (k > n - off) k = n - off;
      int rc = fca_decode_feed(d, in + off, k);
      cr_assert_eq(rc, fca_decode_state(d) == FCA_DECODE_OK ? 0 : -1);
      off += k;
    }
  } else if (split == SIZE_MAX - 1) { /* byte by byte, as a slow TCP peer may deliver it */
    for (size_t off = 0; off < n; off++) fca_decode_feed(d, in + off, 1);
  } else if (split) {
    fca_decode_feed(d, in, split);
    fca_decode_feed(d, in + split, n - split);
  } else {
    fca_decode_feed(d, in, n);
  }
  int rc = fca_decode_finish(d);
  r->state = fca_decode_state(d);
  cr_assert_eq(rc, r->state == FCA_DECODE_OK ? 0 : -1);
  cr_assert_eq(fca_decode_bytes_out(d), r->out.len);
  snprintf(r->reason, sizeof r->reason, "%s", fca_decode_reason(d));
  fca_decode_free(d);
}

/* Clean and capped streams decode to identical bytes however they are chunked. On a corrupt or
 * truncated stream, how much a codec flushed before it noticed depends on the chunking (brotli
 * holds decoded bytes in its ring buffer), so there both outputs must be prefixes of each other. */
static void same_output(const result_t *t, const result_t *r, const char *what, size_t k) {
  if (r->state == FCA_DECODE_OK || r->state == FCA_DECODE_CAPPED)
    cr_assert_eq(t->out.len, r->out.len, "%s %zu: %zu vs %zu bytes", what, k, t->out.len,
                 r->out.len);
  size_t n = t->out.len < r->out.len ? t->out.len : r->out.len;
  cr_assert(n == 0 || memcmp(t->out.buf, r->out.buf, n) == 0, "%s %zu: output differs", what, k);
}

/* One-shot result, checked against every two-chunk split and 20 random chunkings. */
static void run_all(const char *ce, const unsigned char *in, size_t n, size_t cap, result_t *r) {
  run(ce, in, n, cap, 0, 0, r);
  for (size_t split = 1; split < n; split++) {
    result_t t;
    run(ce, in, n, cap, split, 0, &t);
    cr_assert_eq(t.state, r->state, "split %zu: state %s vs %s", split,
                 fca_decode_state_name(t.state), fca_decode_state_name(r->state));
    same_output(&t, r, "split", split);
    result_free(&t);
  }
  if (n <= 16384) { /* byte by byte (bounded for time: larger inputs get the splits above) */
    result_t b;
    run(ce, in, n, cap, SIZE_MAX - 1, 0, &b);
    cr_assert_eq(b.state, r->state, "byte by byte: state %s (%s) vs %s (%s)",
                 fca_decode_state_name(b.state), b.reason, fca_decode_state_name(r->state),
                 r->reason);
    same_output(&b, r, "byte by byte", 1);
    result_free(&b);
  }
  for (unsigned seed = 1; seed <= 20; seed++) {
    result_t t;
    run(ce, in, n, cap, SIZE_MAX, seed, &t);
    cr_assert_eq(t.state, r->state, "seed %u", seed);
    same_output(&t, r, "seed", seed);
    result_free(&t);
  }
}

static unsigned char *load(const char *name, size_t *n) {
  char path[512];
  snprintf(path, sizeof path, "%s/tests/unit/data/scan/%s", FCA_TEST_SRCDIR, name);
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "cannot open %s", path);
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *buf = malloc((size_t)len + 1);
  cr_assert_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
  fclose(f);
  *n = (size_t)len;
  return buf;
}

/* zlib-family compression: wbits 15+16 gzip, 15 zlib, -15 raw deflate. */
static unsigned char *zcompress(const unsigned char *in, size_t n, int wbits, size_t *outn) {
  z_stream z;
  memset(&z, 0, sizeof z);
  cr_assert_eq(deflateInit2(&z, 9, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY), Z_OK);
  size_t cap = deflateBound(&z, (uLong)n) + 64;
  unsigned char *out = malloc(cap);
  z.next_in = (unsigned char *)in;
  z.avail_in = (uInt)n;
  z.next_out = out;
  z.avail_out = (uInt)cap;
  cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
  *outn = cap - z.avail_out;
  deflateEnd(&z);
  return out;
}

static unsigned char *zstd_compress(const unsigned char *in, size_t n, size_t *outn) {
  size_t cap = ZSTD_compressBound(n);
  unsigned char *out = malloc(cap);
  size_t r = ZSTD_compress(out, cap, in, n, 19);
  cr_assert(!ZSTD_isError(r));
  *outn = r;
  return out;
}

static void expect_plain(const result_t *r, const unsigned char *plain, size_t n) {
  cr_assert_eq(r->state, FCA_DECODE_OK, "state %s (%s)", fca_decode_state_name(r->state),
               r->reason);
  cr_assert_eq(r->out.len, n, "%zu decoded bytes, expected %zu", r->out.len, n);
  cr_assert(memcmp(r->out.buf, plain, n) == 0);
}

Test(decode, gzip_roundtrip) {
  size_t pn, cn;
  unsigned char *plain = load("page.html", &pn);
  unsigned char *gz = zcompress(plain, pn, MAX_WBITS + 16, &cn);
  result_t r;
  run_all("gzip", gz, cn, 0, &r);
  expect_plain(&r, plain, pn);
  cr_assert_gt(r.out.calls, 2, "output comes in slices");
  result_free(&r);
  run_all(" X-GZip ", gz, cn, 0, &r);
  expect_plain(&r, plain, pn);
  result_free(&r);
  free(gz);
  free(plain);
}

Test(decode, deflate_zlib_and_raw) {
  size_t pn, zn, rn;
  unsigned char *plain = load("page.html", &pn);
  unsigned char *zl = zcompress(plain, pn, MAX_WBITS, &zn);
  unsigned char *raw = zcompress(plain, pn, -MAX_WBITS, &rn);
  cr_assert_eq(zl[0] & 0x0f, 8);
  result_t r;
  run_all("deflate", zl, zn, 0, &r);
  expect_plain(&r, plain, pn);
  result_free(&r);
  run_all("DEFLATE", raw, rn, 0, &r);
  expect_plain(&r, plain, pn);
  result_free(&r);
  /* A one-byte raw body is truncated, not a crash. */
  run("deflate", raw, 1, 0, 0, 0, &r);
  cr_assert_eq(r.state, FCA_DECODE_TRUNCATED);
  result_free(&r);
  free(zl);
  free(raw);
  free(plain);
}

Test(decode, brotli_roundtrip) {
  size_t pn, bn;
  unsigned char *plain = load("page.html", &pn);
  unsigned char *br = load("page.html.br", &bn);
  result_t r;
  run_all("br", br, bn, 0, &r);
  expect_plain(&r, plain, pn);
  result_free(&r);
  free(br);
  free(plain);
}

Test(decode, brotli_large_window_rejected) {
  size_t bn;
  unsigned char *br = load("page.large.br", &bn);
  result_t r;
  run_all("br", br, bn, 0, &r);
  cr_assert_eq(r.state, FCA_DECODE_CORRUPT);
  cr_assert(strncmp(r.reason, "br: ", 4) == 0, "%s", r.reason);
  result_free(&r);
  free(br);
}

Test(decode, zstd_roundtrip_and_concatenated_frames) {
  size_t pn, cn;
  unsigned char *plain = load("page.html", &pn);
  unsigned char *zs = zstd_compress(plain, pn, &cn);
  result_t r;
  run_all("zstd", zs, cn, 0, &r);
  expect_plain(&r, plain, pn);
  result_free(&r);
  /* Two frames back to back decode to both contents. */
  unsigned char *two = malloc(2 * cn);
  memcpy(two, zs, cn);
  memcpy(two + cn, zs, cn);
  run("zstd", two, 2 * cn, 0, 0, 0, &r);
  cr_assert_eq(r.state, FCA_DECODE_OK);
  cr_assert_eq(r.out.len, 2 * pn);
  cr_assert(memcmp(r.out.buf + pn, plain, pn) == 0);
  result_free(&r);
  free(two);
  free(zs);
  free(plain);
}

/* A frame whose header declares fewer bytes than its blocks hold: the same note whether the
 * body comes whole (zstd's one-pass path) or in pieces (its streaming path). */
Test(decode, zstd_wrong_declared_size_same_state_however_chunked) {
  size_t n = 300000;
  unsigned char *plain = malloc(n);
  for (size_t i = 0; i < n; i++) plain[i] = (unsigned char)("fcaudit "[i % 8] + (i / 4096) % 3);
  /* Small blocks (a flush every 1000 bytes), so that streaming emits output before it meets
   * the block that overruns the declared size. */
  ZSTD_CCtx *cc = ZSTD_createCCtx();
  cr_assert(!ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(cc, n)));
  size_t cap = ZSTD_compressBound(n) + 65536;
  unsigned char *zs = malloc(cap);
  ZSTD_outBuffer ob = {zs, cap, 0};
  for (size_t off = 0; off < n; off += 1000) {
    ZSTD_inBuffer ib = {plain + off, n - off < 1000 ? n - off : 1000, 0};
    ZSTD_EndDirective e = off + 1000 >= n ? ZSTD_e_end : ZSTD_e_flush;
    size_t left;
    do left = ZSTD_compressStream2(cc, &ob, &ib, e);
    while (left && !ZSTD_isError(left));
    cr_assert(!ZSTD_isError(left));
  }
  ZSTD_freeCCtx(cc);
  size_t cn = ob.pos;
  unsigned fhd = zs[4];
  cr_assert_eq(fhd >> 6, 2, "a 4-byte content size field");
  size_t at = 5 + (((fhd >> 5) & 1) ? 0 : 1) + (size_t[]){0, 1, 2, 4}[fhd & 3];
  uint32_t fcs = (uint32_t)zs[at] | (uint32_t)zs[at + 1] << 8 | (uint32_t)zs[at + 2] << 16 |
                 (uint32_t)zs[at + 3] << 24;
  cr_assert_eq(fcs, n);
  const uint32_t wrong = 10000;
  for (int k = 0; k < 4; k++) zs[at + k] = (unsigned char)(wrong >> (8 * k));
  result_t r;
  run_all("zstd", zs, cn, 4096, &r); /* the cap falls before the overrun */
  cr_assert_neq(r.state, FCA_DECODE_OK);
  result_free(&r);
  run_all("zstd", zs, cn, 0, &r);
  cr_assert_eq(r.state, FCA_DECODE_CORRUPT, "%s", r.reason);
  result_free(&r);
  free(zs);
  free(plain);
}

Test(decode, zstd_legacy_frames_refused_however_chunked) {
  unsigned char legacy[64] = {0x27, 0xB5, 0x2F, 0xFD}; /* v0.7 magic, then a made-up frame */
  for (size_t i = 4; i < sizeof legacy; i++) legacy[i] = (unsigned char)(i * 37);
  result_t r;
  run_all("zstd", legacy, sizeof legacy, 0, &r);
  cr_assert_eq(r.state, FCA_DECODE_CORRUPT);
  cr_assert(strstr(r.reason, "legacy") != NULL, "%s", r.reason);
  result_free(&r);
  legacy[0] = 0x22; /* v0.2 */
  run_all("zstd", legacy, sizeof legacy, 0, &r);
  cr_assert_eq(r.state, FCA_DECODE_CORRUPT);
  result_free(&r);
}

Test(decode, zstd_window_over_8mib_rejected) {
  size_t n = 1 << 20;
  unsigned char *plain = malloc(n);
  for (size_t i = 0; i < n; i++) plain[i] = (unsigned char)(i * 7 % 251);
  ZSTD_CCtx *c = ZSTD_createCCtx();
  cr_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, 27)));
  cr_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0)));
  size_t cap = ZSTD_compressBound(n) + 1024;
  unsigned char *out = malloc(cap);
  ZSTD_inBuffer ib = {plain, n, 0};
  ZSTD_outBuffer ob = {out, cap, 0};
  /* Streaming without a pledged size keeps the declared 128 MiB window. */
  cr_assert(!ZSTD_isError(ZSTD_compressStream2(c, &ob, &ib, ZSTD_e_continue)));
  size_t left;
  do left = ZSTD_compressStream2(c, &ob, &ib, ZSTD_e_end);
  while (left && !ZSTD_isError(left));
  cr_assert_eq(left, 0);
  result_t r;
  cr_assert_lt(ob.pos, 20000);
  run_all("zstd", out, ob.pos, 0, &r);
  cr_assert_eq(r.state, FCA_DECODE_CORRUPT);
  cr_assert(strstr(r.reason, "window") != NULL, "%s", r.reason);
  cr_assert_eq(r.out.len, 0);
  result_free(&r);
  ZSTD_freeCCtx(c);
  free(out);
  free(plain);
}

Test(decode, stacked_gzip_then_br) {
  size_t pn, bn;
  unsigned char *plain = load("page.html", &pn);
  unsigned char *gzbr = load("page.html.gz.br", &bn);
  result_t r;
  run_all("gzip, br", gzbr, bn, 0, &r);
  expect_plain(&r, plain, pn);
  result_free(&r);
  /* The opposite order cannot decode it. */
  run("br, gzip", gzbr, bn, 0, 0, 0, &r);
  cr_assert_eq(r.state, FCA_DECODE_CORRUPT);
  result_free(&r);
  /* identity members are skipped. */
  run("identity,gzip , identity, br", gzbr, bn, 0, 0, 0, &r);
  expect_plain(&r, plain, pn);
  result_free(&r);
  free(gzbr);
  free(plain);
}

Test(decode, stacked_three_and_too_many) {
  size_t pn, an, bn, cn;
  unsigned char *plain = load("page.html", &pn);
  unsigned char *a = zcompress(plain, pn, MAX_WBITS + 16, &an);
  unsigned char *b = zstd_compress(a, an, &bn);
  unsigned char *c = zcompress(b, bn, MAX_WBITS, &cn);
  result_t r;
  run_all("gzip, zstd, deflate", c, cn, 0, &r);
  expect_plain(&r, plain, pn);
  result_free(&r);
  fca_decode_t *d = fca_decode_new("gzip,gzip,gzip,gzip,gzip", 0, sink_fn, NULL);
  cr_assert_eq(fca_decode_state(d), FCA_DECODE_UNSUPPORTED);
  fca_decode_free(d);
  free(a);
  free(b);
  free(c);
  free(plain);
}

Test(decode, identity_passthrough_and_cap) {
  const unsigned char txt[] = "<html><body>hello world</body></html>";
  size_t n = sizeof txt - 1;
  result_t r;
  run_all(NULL, txt, n, 0, &r);
  expect_plain(&r, txt, n);
  result_free(&r);
  run_all("identity", txt, n, n, &r); /* exactly the cap: not capped */
  expect_plain(&r, txt, n);
  result_free(&r);
  run_all("", txt, n, 10, &r);
  cr_assert_eq(r.state, FCA_DECODE_CAPPED);
  cr_assert_eq(r.out.len, 10);
  cr_assert(memcmp(r.out.buf, txt, 10) == 0);
  result_free(&r);
}

Test(decode, gzip_bomb_stops_at_cap) {
  /* 100 MB of zeros, gzipped in pieces so the test never holds them. */
  z_stream z;
  memset(&z, 0, sizeof z);
  cr_assert_eq(deflateInit2(&z, 9, Z_DEFLATED, MAX_WBITS + 16, 9, Z_DEFAULT_STRATEGY), Z_OK);
  static unsigned char zeros[1 << 20];
  size_t cap = 1 << 20, len = 0;
  unsigned char *gz = malloc(cap);
  for (int i = 0; i < 100; i++) {
    z.next_in = zeros;
    z.avail_in = sizeof zeros;
    int flush = i == 99 ? Z_FINISH : Z_NO_FLUSH;
    do {
      if (cap - len < 65536) gz = realloc(gz, cap *= 2);
      z.next_out = gz + len;
      z.avail_out = (uInt)(cap - len);
      deflate(&z, flush);
      len = cap - z.avail_out;
    } while (z.avail_in > 0 || (flush == Z_FINISH && z.avail_out == 0));
  }
  deflateEnd(&z);
  cr_assert_lt(len, 200000, "bomb is small: %zu", len);
  sink_t s = {0};
  fca_decode_t *d = fca_decode_new("gzip", 1 << 20, sink_fn, &s);
  size_t fed = 0;
  while (fed < len && fca_decode_feed(d, gz + fed, 4096) == 0) fed += 4096;
  cr_assert_eq(fca_decode_state(d), FCA_DECODE_CAPPED);
  cr_assert_eq(s.len, (size_t)1 << 20);
  cr_assert_lt(fed, 8192, "decoding stopped early: fed %zu of %zu", fed, len);
  cr_assert_eq(fca_decode_feed(d, gz, 10), -1, "terminal state ignores input");
  cr_assert_eq(fca_decode_finish(d), -1);
  cr_assert_eq(fca_decode_state(d), FCA_DECODE_CAPPED);
  cr_assert_eq(fca_decode_bytes_out(d), (uint64_t)1 << 20);
  fca_decode_free(d);
  free(s.buf);
  free(gz);
}

Test(decode, corrupt_streams) {
  size_t pn, cn, bn, zn;
  unsigned char *plain = load("page.html", &pn);
  unsigned char *gz = zcompress(plain, pn, MAX_WBITS + 16, &cn);
  unsigned char *br = load("page.html.br", &bn);
  unsigned char *zs = zstd_compress(plain, pn, &zn);
  result_t r;
  /* Not gzip at all. */
  run_all("gzip", (const unsigned char *)"<html>hello</html>", 18, 0, &r);
  cr_assert_eq(r.state, FCA_DECODE_CORRUPT);
  cr_assert(strncmp(r.reason, "gzip: ", 6) == 0, "%s", r.reason);
  result_free(&r);
  /* Garbage in the middle of the deflate data. */
  for (size_t i = cn / 3; i < cn / 3 + 40; i++) gz[i] ^= 0x5a;
  run_all("gzip", gz, cn, 0, &r);
  cr_assert_eq(r.state, FCA_DECODE_CORRUPT);
  cr_assert_lt(r.out.len, pn);
  result_free(&r);
  for (size_t i = bn / 2; i < bn / 2 + 40; i++) br[i] ^= 0xa5;
  run_all("br", br, bn, 0, &r);
  cr_assert_eq(r.state, FCA_DECODE_CORRUPT);
  result_free(&r);
  memset(zs + zn / 2, 0xff, 32);
  run_all("zstd", zs, zn, 0, &r);
  cr_assert_eq(r.state, FCA_DECODE_CORRUPT);
  result_free(&r);
  free(gz);
  free(br);
  free(zs);
  free(plain);
}

Test(decode, truncated_streams) {
  size_t pn, cn, bn, zn, dn;
  unsigned char *plain = load("page.html", &pn);
  unsigned char *gz = zcompress(plain, pn, MAX_WBITS + 16, &cn);
  unsigned char *df = zcompress(plain, pn, MAX_WBITS, &dn);
  unsigned char *br = load("page.html.br", &bn);
  unsigned char *zs = zstd_compress(plain, pn, &zn);
  result_t r;
  run_all("gzip", gz, cn - 4, 0, &r); /* footer cut */
  cr_assert_eq(r.state, FCA_DECODE_TRUNCATED, "%s", fca_decode_state_name(r.state));
  result_free(&r);
  run_all("gzip", gz, cn / 2, 0, &r);
  cr_assert_eq(r.state, FCA_DECODE_TRUNCATED);
  cr_assert_gt(r.out.len, 0, "what arrived was decoded");
  result_free(&r);
  run_all("deflate", df, dn / 2, 0, &r);
  cr_assert_eq(r.state, FCA_DECODE_TRUNCATED);
  result_free(&r);
  run_all("br", br, bn - 1, 0, &r);
  cr_assert_eq(r.state, FCA_DECODE_TRUNCATED);
  result_free(&r);
  run_all("zstd", zs, zn - 1, 0, &r);
  cr_assert_eq(r.state, FCA_DECODE_TRUNCATED);
  result_free(&r);
  /* An empty body is fine for any coding. */
  run("gzip, br", gz, 0, 0, 0, 0, &r);
  cr_assert_eq(r.state, FCA_DECODE_OK);
  cr_assert_eq(r.out.len, 0);
  result_free(&r);
  free(gz);
  free(df);
  free(br);
  free(zs);
  free(plain);
}

Test(decode, gzip_first_member_only) {
  const unsigned char a[] = "first member;", b[] = "second member";
  size_t an, bn;
  unsigned char *ga = zcompress(a, sizeof a - 1, MAX_WBITS + 16, &an);
  unsigned char *gb = zcompress(b, sizeof b - 1, MAX_WBITS + 16, &bn);
  unsigned char *both = malloc(an + bn);
  memcpy(both, ga, an);
  memcpy(both + an, gb, bn);
  result_t r;
  run_all("gzip", both, an + bn, 0, &r);
  expect_plain(&r, a, sizeof a - 1);
  result_free(&r);
  free(ga);
  free(gb);
  free(both);
}

Test(decode, unknown_coding) {
  sink_t s = {0};
  fca_decode_t *d = fca_decode_new("gzip, compress", 0, sink_fn, &s);
  cr_assert_eq(fca_decode_state(d), FCA_DECODE_UNSUPPORTED);
  cr_assert(strstr(fca_decode_reason(d), "\"compress\"") != NULL, "%s", fca_decode_reason(d));
  cr_assert_str_eq(fca_decode_state_name(fca_decode_state(d)), "unsupported");
  cr_assert_eq(fca_decode_feed(d, "abc", 3), -1);
  cr_assert_eq(fca_decode_finish(d), -1);
  cr_assert_eq(s.len, 0);
  fca_decode_free(d);
  d = fca_decode_new("identity, , IDENTITY", 0, sink_fn, &s);
  cr_assert_eq(fca_decode_state(d), FCA_DECODE_OK);
  cr_assert_eq(fca_decode_stages(d), 0);
  fca_decode_free(d);
}

Test(decode, consumer_can_stop) {
  size_t pn, cn;
  unsigned char *plain = load("page.html", &pn);
  unsigned char *gz = zcompress(plain, pn, MAX_WBITS + 16, &cn);
  sink_t s = {0};
  s.stop_after = 1;
  fca_decode_t *d = fca_decode_new("gzip", 0, sink_fn, &s);
  cr_assert_eq(fca_decode_feed(d, gz, cn), -1);
  cr_assert_eq(fca_decode_state(d), FCA_DECODE_STOPPED);
  cr_assert_eq(s.calls, 1);
  cr_assert_leq(s.len, FCA_DECODE_BUF_SIZE);
  fca_decode_free(d);
  free(s.buf);
  free(gz);
  free(plain);
}
