/* decode: Content-Encoding decoding as a push pipeline. Stage 0 undoes the last-applied coding;
 * each stage decodes into its own fixed buffer and pushes every filled slice to the next stage,
 * the last one to the output callback, which is where the cap is enforced. Recursion depth is
 * bounded by FCA_DECODE_MAX_STAGES. Any non-OK state is terminal, so a capped bomb stops costing
 * CPU as soon as the cap is reached. */
#include "decode.h"

#include "fcaudit/util.h"

#include <brotli/decode.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#define ZLIB_FEED_MAX ((size_t)1 << 30)

typedef enum { CODING_GZIP, CODING_DEFLATE, CODING_BR, CODING_ZSTD } coding_t;

static const char *const coding_names[] = {"gzip", "deflate", "br", "zstd"};

typedef struct {
  coding_t kind;
  bool started; /* received at least one byte */
  bool done;    /* the coded stream ended; later bytes are ignored */
  bool zinit;   /* z is initialised */
  z_stream z;
  BrotliDecoderState *br;
  ZSTD_DStream *zs;
  size_t zstd_hint;       /* last ZSTD_decompressStream result: 0 = frame complete */
  bool zframe;            /* zstd: inside a frame whose header zstd already has */
  unsigned char zhdr[18]; /* the largest frame header (RFC 8878 3.1.1.1) */
  size_t nzhdr;           /* zstd: bytes of the next frame's header, held until it is whole */
  unsigned char sniff[2];
  size_t nsniff; /* deflate: header bytes held until zlib vs raw is known */
  unsigned char *buf;
} stage_t;

struct fca_decode {
  stage_t st[FCA_DECODE_MAX_STAGES];
  size_t n;
  fca_decode_state_t state;
  char reason[160];
  size_t cap;
  uint64_t in, out;
  fca_decode_out_fn fn;
  void *ud;
  unsigned char *bufs;
};

static void set_state(fca_decode_t *d, fca_decode_state_t st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_state(fca_decode_t *d, fca_decode_state_t st, const char *fmt, ...) {
  if (d->state != FCA_DECODE_OK) return;
  d->state = st;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(d->reason, sizeof d->reason, fmt, ap);
  va_end(ap);
}

static void emit(fca_decode_t *d, const unsigned char *buf, size_t n) {
  if (d->state != FCA_DECODE_OK || n == 0) return;
  size_t give = n;
  bool capped = false;
  if (d->cap && n > d->cap - d->out) {
    give = d->cap - d->out;
    capped = true;
  }
  if (give) {
    d->out += give;
    if (d->fn && d->fn(d->ud, buf, give) != 0) {
      set_state(d, FCA_DECODE_STOPPED, "stopped by consumer");
      return;
    }
  }
  if (capped) set_state(d, FCA_DECODE_CAPPED, "decoded body exceeds %zu bytes", d->cap);
}

static void push(fca_decode_t *d, size_t i, const unsigned char *in, size_t n);

static void run_zlib(fca_decode_t *d, size_t i, const unsigned char *in, size_t n) {
  stage_t *s = &d->st[i];
  s->z.next_in = (unsigned char *)in;
  s->z.avail_in = (uInt)n;
  do {
    s->z.next_out = s->buf;
    s->z.avail_out = FCA_DECODE_BUF_SIZE;
    int r = inflate(&s->z, Z_NO_FLUSH);
    size_t got = FCA_DECODE_BUF_SIZE - s->z.avail_out;
    if (got) push(d, i + 1, s->buf, got);
    if (d->state != FCA_DECODE_OK) return;
    if (r == Z_STREAM_END) {
      s->done = true;
      return;
    }
    if (r == Z_NEED_DICT) {
      set_state(d, FCA_DECODE_CORRUPT, "%s: preset dictionary required", coding_names[s->kind]);
      return;
    }
    if (r != Z_OK && r != Z_BUF_ERROR) {
      set_state(d, FCA_DECODE_CORRUPT, "%s: %s", coding_names[s->kind],
                s->z.msg ? s->z.msg : "invalid data");
      return;
    }
    if (r == Z_BUF_ERROR) return; /* no progress possible: input exhausted */
  } while (s->z.avail_in > 0 || s->z.avail_out == 0);
}

/* A zlib header: CM 8, window <= 32 KiB, check bits valid. Anything else is taken as raw
 * deflate, as browsers do for servers that send raw streams under "deflate". */
static bool zlib_header(const unsigned char h[2]) {
  return (h[0] & 0x0f) == 8 && (h[0] >> 4) <= 7 && ((unsigned)h[0] << 8 | h[1]) % 31 == 0;
}

static void run_deflate(fca_decode_t *d, size_t i, const unsigned char *in, size_t n) {
  stage_t *s = &d->st[i];
  if (!s->zinit) {
    while (s->nsniff < 2 && n > 0) {
      s->sniff[s->nsniff++] = *in++;
      n--;
    }
    if (s->nsniff < 2) return;
    int wbits = zlib_header(s->sniff) ? MAX_WBITS : -MAX_WBITS;
    if (inflateInit2(&s->z, wbits) != Z_OK) {
      set_state(d, FCA_DECODE_CORRUPT, "deflate: cannot initialise zlib");
      return;
    }
    s->zinit = true;
    unsigned char h[2] = {s->sniff[0], s->sniff[1]};
    run_zlib(d, i, h, 2);
    if (d->state != FCA_DECODE_OK || s->done || n == 0) return;
  }
  run_zlib(d, i, in, n);
}

static void run_brotli(fca_decode_t *d, size_t i, const unsigned char *in, size_t n) {
  stage_t *s = &d->st[i];
  const uint8_t *next_in = in;
  size_t avail_in = n;
  for (;;) {
    uint8_t *next_out = s->buf;
    size_t avail_out = FCA_DECODE_BUF_SIZE;
    BrotliDecoderResult r =
        BrotliDecoderDecompressStream(s->br, &avail_in, &next_in, &avail_out, &next_out, NULL);
    size_t got = FCA_DECODE_BUF_SIZE - avail_out;
    if (got) push(d, i + 1, s->buf, got);
    if (d->state != FCA_DECODE_OK) return;
    switch (r) {
    case BROTLI_DECODER_RESULT_SUCCESS: s->done = true; return;
    case BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT: return;
    case BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT: continue;
    default:
      set_state(d, FCA_DECODE_CORRUPT, "br: %s",
                BrotliDecoderErrorString(BrotliDecoderGetErrorCode(s->br)));
      return;
    }
  }
}

/* Feeds zstd until the input is used; returns with the frame complete (s->zframe false) when
 * zstd says so, leaving the rest of the input in *ib. */
static void zstd_stream(fca_decode_t *d, size_t i, ZSTD_inBuffer *ib) {
  stage_t *s = &d->st[i];
  bool full;
  do {
    ZSTD_outBuffer ob = {s->buf, FCA_DECODE_BUF_SIZE, 0};
    size_t r = ZSTD_decompressStream(s->zs, &ob, ib);
    /* What zstd decoded before it met an error is output as well: fed in pieces, those bytes
     * would have been pushed by earlier calls (and may reach the cap first). */
    if (ZSTD_isError(r) && ob.pos) push(d, i + 1, s->buf, ob.pos);
    if (d->state != FCA_DECODE_OK) return;
    if (ZSTD_isError(r)) {
      if (ZSTD_getErrorCode(r) == ZSTD_error_frameParameter_windowTooLarge)
        set_state(d, FCA_DECODE_CORRUPT, "zstd: window larger than %u bytes",
                  1u << FCA_DECODE_ZSTD_WINDOW_LOG_MAX);
      else
        set_state(d, FCA_DECODE_CORRUPT, "zstd: %s", ZSTD_getErrorName(r));
      return;
    }
    s->zstd_hint = r;
    if (ob.pos) push(d, i + 1, s->buf, ob.pos);
    if (d->state != FCA_DECODE_OK) return;
    full = ob.pos == ob.size;
    if (r == 0 && !full) {
      s->zframe = false; /* frame complete and flushed: the next byte starts a frame */
      return;
    }
  } while (ib->pos < ib->size || full);
}

/* The size of the frame header starting at h (RFC 8878 3.1.1 and 3.1.2), given the bytes
 * seen so far: may grow once the descriptor byte is known; n itself when no frame starts. */
static size_t zstd_header_size(const unsigned char *h, size_t n) {
  uint32_t magic =
      (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
  if ((magic & 0xFFFFFFF0u) == 0x184D2A50u) return 8; /* skippable: magic, size */
  if (magic != 0xFD2FB528u) return n;
  if (n < 5) return 5;
  unsigned fhd = h[4];
  static const size_t did[4] = {0, 1, 2, 4};
  bool single = (fhd >> 5) & 1;
  size_t fcs = (fhd >> 6) == 0 ? (single ? 1 : 0) : (size_t)1 << (fhd >> 6);
  return 5 + (single ? 0 : 1) + did[fhd & 3] + fcs;
}

/* zstd decodes a frame in one pass, without streaming, when the whole frame is in one input
 * buffer: what it reports then (and how much it emits first) would depend on how the body was
 * segmented. Each frame's header is therefore given to zstd on its own, which keeps zstd in
 * streaming mode for every frame, whatever the chunking. Legacy (v0.1-v0.7) frames, which
 * browsers do not decode, are refused by their magic number. */
static void run_zstd(fca_decode_t *d, size_t i, const unsigned char *in, size_t n) {
  stage_t *s = &d->st[i];
  while (n > 0 && d->state == FCA_DECODE_OK) {
    if (s->zframe) {
      /* No more than zstd asks for (the next block header, the next block): it then sees the
       * same input at each step however the body was segmented. */
      size_t give = s->zstd_hint && s->zstd_hint < n ? s->zstd_hint : n;
      ZSTD_inBuffer ib = {in, give, 0};
      zstd_stream(d, i, &ib);
      in += ib.pos;
      n -= ib.pos;
      if (ib.pos == 0 && s->zframe && d->state == FCA_DECODE_OK)
        set_state(d, FCA_DECODE_CORRUPT, "zstd: no progress"); /* never loop on the same input */
      continue;
    }
    /* The next frame's header: its magic number, then as many bytes as it says it has. */
    size_t need = 4;
    for (;;) {
      while (s->nzhdr < need && n > 0) {
        s->zhdr[s->nzhdr++] = *in++;
        n--;
      }
      if (s->nzhdr < need) return;
      uint32_t magic = (uint32_t)s->zhdr[0] | (uint32_t)s->zhdr[1] << 8 |
                       (uint32_t)s->zhdr[2] << 16 | (uint32_t)s->zhdr[3] << 24;
      if (magic >= 0xFD2FB522u && magic <= 0xFD2FB527u) {
        set_state(d, FCA_DECODE_CORRUPT, "zstd: legacy frame format (v0.%u) not supported",
                  magic - 0xFD2FB520u);
        return;
      }
      size_t want = zstd_header_size(s->zhdr, s->nzhdr);
      if (want <= s->nzhdr) break; /* whole, or not a frame (zstd reports it) */
      need = want;
    }
    /* The header is whole (or wrong, which zstd then reports): zstd gets it alone. */
    ZSTD_inBuffer ib = {s->zhdr, s->nzhdr, 0};
    s->zframe = true;
    s->nzhdr = 0;
    zstd_stream(d, i, &ib);
  }
}

static void push(fca_decode_t *d, size_t i, const unsigned char *in, size_t n) {
  if (i == d->n) {
    emit(d, in, n);
    return;
  }
  stage_t *s = &d->st[i];
  if (n == 0 || d->state != FCA_DECODE_OK || s->done) return;
  s->started = true;
  switch (s->kind) {
  case CODING_GZIP:
  case CODING_DEFLATE:
    while (n > 0 && d->state == FCA_DECODE_OK && !s->done) {
      size_t k = n > ZLIB_FEED_MAX ? ZLIB_FEED_MAX : n; /* avail_in is 32-bit */
      if (s->kind == CODING_GZIP)
        run_zlib(d, i, in, k);
      else
        run_deflate(d, i, in, k);
      in += k;
      n -= k;
    }
    break;
  case CODING_BR: run_brotli(d, i, in, n); break;
  case CODING_ZSTD: run_zstd(d, i, in, n); break;
  }
}

static bool token_eq(const char *t, size_t n, const char *lit) {
  return strlen(lit) == n && strncasecmp(t, lit, n) == 0;
}

/* Fills d->st in decode order (reverse of the header). Returns -1 with the state set. */
static int parse_codings(fca_decode_t *d, const char *ce) {
  coding_t list[FCA_DECODE_MAX_STAGES];
  size_t n = 0;
  const char *p = ce ? ce : "";
  while (*p) {
    const char *e = strchr(p, ',');
    if (!e) e = p + strlen(p);
    const char *a = p, *b = e;
    while (a < b && (*a == ' ' || *a == '\t')) a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t')) b--;
    size_t len = (size_t)(b - a);
    p = *e ? e + 1 : e;
    if (len == 0 || token_eq(a, len, "identity")) continue;
    coding_t c;
    if (token_eq(a, len, "gzip") || token_eq(a, len, "x-gzip"))
      c = CODING_GZIP;
    else if (token_eq(a, len, "deflate"))
      c = CODING_DEFLATE;
    else if (token_eq(a, len, "br"))
      c = CODING_BR;
    else if (token_eq(a, len, "zstd"))
      c = CODING_ZSTD;
    else {
      set_state(d, FCA_DECODE_UNSUPPORTED, "unsupported content-coding \"%.*s\"",
                (int)(len > 40 ? 40 : len), a);
      return -1;
    }
    if (n == FCA_DECODE_MAX_STAGES) {
      set_state(d, FCA_DECODE_UNSUPPORTED, "more than %d stacked content-codings",
                FCA_DECODE_MAX_STAGES);
      return -1;
    }
    list[n++] = c;
  }
  d->n = n;
  for (size_t i = 0; i < n; i++) d->st[i].kind = list[n - 1 - i];
  return 0;
}

fca_decode_t *fca_decode_new(const char *content_encoding, size_t out_cap, fca_decode_out_fn out,
                             void *ud) {
  fca_decode_t *d = fca_xcalloc(1, sizeof *d);
  d->cap = out_cap;
  d->fn = out;
  d->ud = ud;
  if (parse_codings(d, content_encoding) < 0) return d;
  if (d->n) d->bufs = fca_xmalloc(d->n * (size_t)FCA_DECODE_BUF_SIZE);
  for (size_t i = 0; i < d->n; i++) {
    stage_t *s = &d->st[i];
    s->buf = d->bufs + i * (size_t)FCA_DECODE_BUF_SIZE;
    switch (s->kind) {
    case CODING_GZIP:
      if (inflateInit2(&s->z, MAX_WBITS + 16) != Z_OK) {
        set_state(d, FCA_DECODE_CORRUPT, "gzip: cannot initialise zlib");
        return d;
      }
      s->zinit = true;
      break;
    case CODING_DEFLATE: break; /* initialised once the header is sniffed */
    case CODING_BR:
      s->br = BrotliDecoderCreateInstance(NULL, NULL, NULL);
      if (!s->br) {
        set_state(d, FCA_DECODE_CORRUPT, "br: cannot create decoder");
        return d;
      }
      break;
    case CODING_ZSTD:
      s->zs = ZSTD_createDStream();
      if (!s->zs || ZSTD_isError(ZSTD_DCtx_setParameter(s->zs, ZSTD_d_windowLogMax,
                                                        FCA_DECODE_ZSTD_WINDOW_LOG_MAX))) {
        set_state(d, FCA_DECODE_CORRUPT, "zstd: cannot create decoder");
        return d;
      }
      break;
    }
  }
  return d;
}

int fca_decode_feed(fca_decode_t *d, const void *buf, size_t n) {
  if (d->state != FCA_DECODE_OK) return -1;
  d->in += n;
  push(d, 0, buf, n);
  return d->state == FCA_DECODE_OK ? 0 : -1;
}

int fca_decode_finish(fca_decode_t *d) {
  if (d->state != FCA_DECODE_OK) return -1;
  for (size_t i = 0; i < d->n; i++) {
    stage_t *s = &d->st[i];
    if (!s->started) continue;
    bool ended = s->kind == CODING_ZSTD ? !s->zframe && s->nzhdr == 0 : s->done;
    if (!ended) {
      set_state(d, FCA_DECODE_TRUNCATED, "%s: stream ends early", coding_names[s->kind]);
      break;
    }
  }
  return d->state == FCA_DECODE_OK ? 0 : -1;
}

void fca_decode_free(fca_decode_t *d) {
  if (!d) return;
  for (size_t i = 0; i < d->n; i++) {
    stage_t *s = &d->st[i];
    if (s->zinit) inflateEnd(&s->z);
    if (s->br) BrotliDecoderDestroyInstance(s->br);
    if (s->zs) ZSTD_freeDStream(s->zs);
  }
  free(d->bufs);
  free(d);
}

fca_decode_state_t fca_decode_state(const fca_decode_t *d) { return d->state; }
const char *fca_decode_reason(const fca_decode_t *d) { return d->reason; }
size_t fca_decode_stages(const fca_decode_t *d) { return d->n; }
uint64_t fca_decode_bytes_in(const fca_decode_t *d) { return d->in; }
uint64_t fca_decode_bytes_out(const fca_decode_t *d) { return d->out; }

const char *fca_decode_state_name(fca_decode_state_t st) {
  switch (st) {
  case FCA_DECODE_OK: return "ok";
  case FCA_DECODE_CAPPED: return "capped";
  case FCA_DECODE_CORRUPT: return "corrupt";
  case FCA_DECODE_TRUNCATED: return "truncated";
  case FCA_DECODE_UNSUPPORTED: return "unsupported";
  case FCA_DECODE_STOPPED: return "stopped";
  }
  return "?";
}
