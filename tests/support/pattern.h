/* pattern: the deterministic content of the test origin's /size/N bodies, shared by the origin
 * (which generates it) and the tests (which verify every byte a client received). Byte i of a
 * body is (i*31+7) & 0xff; the sequence repeats every 256 bytes, so any 256-aligned block of it
 * can stand for any other. */
#ifndef FCA_TEST_PATTERN_H
#define FCA_TEST_PATTERN_H

#include <stddef.h>
#include <stdint.h>

static inline unsigned char fca_pattern_byte(uint64_t i) {
  return (unsigned char)((i * 31u + 7u) & 0xffu);
}

/* Returns the index of the first byte of buf[0..n) that differs from the pattern at offsets
 * off.., or n when they all match. */
static inline size_t fca_pattern_mismatch(const void *buf, size_t n, uint64_t off) {
  const unsigned char *p = buf;
  for (size_t i = 0; i < n; i++)
    if (p[i] != fca_pattern_byte(off + i)) return i;
  return n;
}

#endif
