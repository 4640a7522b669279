/* sha2: SHA-256, SHA-384 and SHA-512 (FIPS 180-4) and base64 (RFC 4648 §4), for CSP hash
 * sources, which name the base64 digest of an inline script or handler. Streaming (update with
 * slices of any size), no allocation, no I/O: the audit layer links no crypto library. */
#ifndef FCAUDIT_SHA2_H
#define FCAUDIT_SHA2_H

#include <stddef.h>
#include <stdint.h>

typedef enum { FCA_SHA256 = 0, FCA_SHA384, FCA_SHA512 } fca_sha2_alg_t;

#define FCA_SHA2_MAX_DIGEST 64

typedef struct {
  fca_sha2_alg_t alg;
  uint64_t h[8]; /* SHA-256 uses the low 32 bits of h[0..7] */
  unsigned char buf[128];
  size_t buflen;
  uint64_t total; /* bytes hashed (messages over 2^61 bytes are not a concern here) */
} fca_sha2_t;

void fca_sha2_init(fca_sha2_t *c, fca_sha2_alg_t alg);
void fca_sha2_update(fca_sha2_t *c, const void *data, size_t n);
/* Writes the digest (32, 48 or 64 bytes) and returns its length. */
size_t fca_sha2_final(fca_sha2_t *c, unsigned char *out);
size_t fca_sha2_digest_len(fca_sha2_alg_t alg);

/* Standard base64 with padding; out needs 4 * ((n + 2) / 3) + 1 bytes (NUL-terminated).
 * Returns the length written (without the NUL). */
size_t fca_base64_encode(const unsigned char *in, size_t n, char *out);

#endif
