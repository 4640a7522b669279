/* Fuzzer for decode: the first byte picks the Content-Encoding (and the chunk size), the rest is
 * the body. The chunking invariant: one-shot, byte-by-byte (as a slow TCP peer delivers it) and
 * chunked decoding must agree on the state (the audit's note must not depend on segmentation),
 * and on the output when the stream is clean or capped; the cap must hold. */
#include "decode.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Small enough that a body can overrun it, as max-audit-bytes does. */
#define CAP (64 * 1024)

static const char *const codings[] = {"gzip",     "deflate",  "br",         "zstd",
                                      "gzip, br", "identity", "zstd, gzip", "deflate, zstd"};

typedef struct {
  uint64_t h;
  size_t n;
} sink_t;

static int sink(void *ud, const unsigned char *b, size_t n) {
  sink_t *s = ud;
  for (size_t i = 0; i < n; i++) s->h = (s->h ^ b[i]) * 0x100000001b3ull;
  s->n += n;
  return 0;
}

static fca_decode_state_t run(const char *ce, const uint8_t *d, size_t n, size_t chunk, sink_t *s) {
  fca_decode_t *dec = fca_decode_new(ce, CAP, sink, s);
  for (size_t off = 0; off < n; off += chunk)
    if (fca_decode_feed(dec, d + off, n - off < chunk ? n - off : chunk) < 0) break;
  fca_decode_finish(dec);
  fca_decode_state_t st = fca_decode_state(dec);
  if (fca_decode_bytes_out(dec) != s->n || s->n > CAP) abort();
  fca_decode_free(dec);
  return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  if (n < 1) return 0;
  const char *ce = codings[data[0] % (sizeof codings / sizeof codings[0])];
  size_t chunk = (size_t)(data[0] >> 3) + 1;
  sink_t a = {0xcbf29ce484222325ull, 0}, b = a;
  fca_decode_state_t sa = run(ce, data + 1, n - 1, n, &a);
  fca_decode_state_t sb = run(ce, data + 1, n - 1, chunk, &b);
  if (sa != sb) abort();
  if ((sa == FCA_DECODE_OK || sa == FCA_DECODE_CAPPED) && (a.h != b.h || a.n != b.n)) abort();
  if (chunk > 1) {
    sink_t c = {0xcbf29ce484222325ull, 0};
    fca_decode_state_t sc = run(ce, data + 1, n - 1, 1, &c);
    if (sc != sa) abort();
    if ((sa == FCA_DECODE_OK || sa == FCA_DECODE_CAPPED) && (a.h != c.h || a.n != c.n)) abort();
  }
  return 0;
}
