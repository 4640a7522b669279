/* decode: streaming Content-Encoding decoder (gzip, deflate, br, zstd, stacked) that pushes
 * decoded bytes to a callback in slices. Memory is fixed after creation: one 16 KiB output
 * buffer per coding plus the codec's own window (zlib 32 KiB, brotli <= 16 MiB, zstd capped at
 * 8 MiB), and the total decoded output is capped: a decompression bomb costs at most the cap.
 * Once the decoder leaves FCA_DECODE_OK it is terminal: further input is ignored. */
#ifndef FCAUDIT_DECODE_H
#define FCAUDIT_DECODE_H

#include <stddef.h>
#include <stdint.h>

#ifndef FCA_DECODE_BUF_SIZE
#define FCA_DECODE_BUF_SIZE (16 * 1024) /* output buffer per coding stage */
#endif
#ifndef FCA_DECODE_MAX_STAGES
#define FCA_DECODE_MAX_STAGES 4 /* more stacked codings than this: unsupported */
#endif
#define FCA_DECODE_ZSTD_WINDOW_LOG_MAX 23 /* 8 MiB, the limit browsers apply */

typedef enum {
  FCA_DECODE_OK = 0,      /* decoding (or finished cleanly after fca_decode_finish) */
  FCA_DECODE_CAPPED,      /* out_cap bytes were delivered and more output followed */
  FCA_DECODE_CORRUPT,     /* the coded stream is invalid */
  FCA_DECODE_TRUNCATED,   /* fca_decode_finish came before a coded stream ended */
  FCA_DECODE_UNSUPPORTED, /* unknown content-coding or too many stacked ones */
  FCA_DECODE_STOPPED,     /* the output callback asked to stop */
} fca_decode_state_t;

/* Receives decoded bytes; the slice is valid during the call only. Return 0 to go on, non-zero
 * to stop decoding (state FCA_DECODE_STOPPED). */
typedef int (*fca_decode_out_fn)(void *ud, const unsigned char *buf, size_t n);

typedef struct fca_decode fca_decode_t;

/* content_encoding: the Content-Encoding value (all header lines joined with ","), NULL or ""
 * for none. Codings are listed in the order they were applied and are undone in reverse;
 * `identity` and empty list members are skipped. `deflate` accepts a zlib-wrapped or a raw
 * deflate stream (sniffed from the first two bytes, as browsers do). `gzip`/`x-gzip` decode the
 * first gzip member only and ignore trailing bytes (Chromium's behaviour); bytes after the end of
 * a deflate or brotli stream are ignored too; zstd decodes concatenated frames. out_cap 0 means
 * no cap. Never returns NULL: an unsupported coding yields a decoder in FCA_DECODE_UNSUPPORTED. */
fca_decode_t *fca_decode_new(const char *content_encoding, size_t out_cap, fca_decode_out_fn out,
                             void *ud);
/* Both return 0 while the decoder is in FCA_DECODE_OK, -1 once it is in any other state. */
int fca_decode_feed(fca_decode_t *d, const void *buf, size_t n);
/* End of input: a coded stream that has not ended becomes FCA_DECODE_TRUNCATED (a body with no
 * bytes at all is fine). */
int fca_decode_finish(fca_decode_t *d);
void fca_decode_free(fca_decode_t *d);

fca_decode_state_t fca_decode_state(const fca_decode_t *d);
/* Short human-readable reason for a non-OK state ("" when OK), e.g. "gzip: invalid block type".
 * Valid until the decoder is freed. */
const char *fca_decode_reason(const fca_decode_t *d);
/* "ok", "capped", "corrupt", "truncated", "unsupported", "stopped". */
const char *fca_decode_state_name(fca_decode_state_t st);
/* Number of codings that will be undone (0 = identity pass-through). */
size_t fca_decode_stages(const fca_decode_t *d);
uint64_t fca_decode_bytes_in(const fca_decode_t *d);
uint64_t fca_decode_bytes_out(const fca_decode_t *d);

#endif
