/* Fuzzer for url: input "base\nref". A resolved URL must parse again to the same href, and its
 * parts must lie inside the href. */
#include "url.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void inside(const fca_url_t *u, const char *p, size_t n) {
  size_t len = strlen(u->href);
  if (p < u->href || p + n > u->href + len) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  const char *s = (const char *)data;
  const char *nl = memchr(s, '\n', n);
  const char *base = nl ? s : NULL;
  size_t base_len = nl ? (size_t)(nl - s) : 0;
  const char *ref = nl ? nl + 1 : s;
  size_t ref_len = nl ? n - base_len - 1 : n;
  fca_url_t u;
  if (fca_url_resolve(base, base_len, ref, ref_len, &u) != 0) return 0;
  inside(&u, u.scheme, u.scheme_len);
  inside(&u, u.host, u.host_len);
  inside(&u, u.path, u.path_len);
  inside(&u, u.query, u.query_len);
  inside(&u, u.fragment, u.fragment_len);
  fca_url_t again;
  if (fca_url_parse(u.href, strlen(u.href), &again) != 0) abort();
  if (strcmp(again.href, u.href) != 0) abort();
  fca_url_free(&again);
  fca_url_free(&u);
  return 0;
}
