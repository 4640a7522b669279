/* dedup: length-prefixed byte keys with counts in the shared string map.
 * The key joins the three parts with their lengths, so ("a","bc") and ("ab","c") differ. */
#include "dedup.h"

#include "fcaudit/strmap.h"
#include "fcaudit/util.h"

#include <stdlib.h>
#include <string.h>

struct fca_dedup {
  fca_strmap_t map; /* key -> count (num) */
};

fca_dedup_t *fca_dedup_new(void) {
  fca_dedup_t *d = fca_xcalloc(1, sizeof *d);
  fca_strmap_init(&d->map, 256, false);
  return d;
}

void fca_dedup_free(fca_dedup_t *d) {
  if (!d) return;
  fca_strmap_destroy(&d->map, NULL);
  free(d);
}

size_t fca_dedup_size(const fca_dedup_t *d) { return fca_strmap_count(&d->map); }

static size_t put_part(unsigned char *k, const void *s, size_t n) {
  uint64_t l = n;
  memcpy(k, &l, sizeof l);
  if (n) memcpy(k + sizeof l, s, n);
  return sizeof l + n;
}

uint64_t fca_dedup_hit(fca_dedup_t *d, const char *rule, const char *url, const char *value,
                       size_t value_len) {
  size_t rl = strlen(rule), ul = strlen(url);
  size_t len = 3 * sizeof(uint64_t) + rl + ul + value_len;
  unsigned char small[512]; /* the key is copied by the map when stored */
  unsigned char *k = len <= sizeof small ? small : fca_xmalloc(len);
  size_t o = put_part(k, rule, rl);
  o += put_part(k + o, url, ul);
  put_part(k + o, value, value_len);
  fca_strmap_entry_t *e = fca_strmap_get(&d->map, k, len);
  if (!e && fca_strmap_count(&d->map) < FCA_DEDUP_MAX) e = fca_strmap_put(&d->map, k, len, NULL);
  if (k != small) free(k);
  return e ? ++e->num : 1;
}
