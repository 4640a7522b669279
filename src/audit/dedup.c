/* dedup: a chained hash set of length-prefixed byte keys with counts.
 * The key joins the three parts with their lengths, so ("a","bc") and ("ab","c") differ. */
#include "dedup.h"

#include "fcaudit/util.h"

#include <stdlib.h>
#include <string.h>

typedef struct node {
  struct node *next;
  uint64_t hash, count;
  size_t len;
  unsigned char key[];
} node_t;

struct fca_dedup {
  node_t **b;
  size_t nb, n;
};

fca_dedup_t *fca_dedup_new(void) {
  fca_dedup_t *d = fca_xcalloc(1, sizeof *d);
  d->nb = 256;
  d->b = fca_xcalloc(d->nb, sizeof *d->b);
  return d;
}

void fca_dedup_free(fca_dedup_t *d) {
  if (!d) return;
  for (size_t i = 0; i < d->nb; i++)
    for (node_t *e = d->b[i], *nx; e; e = nx) {
      nx = e->next;
      free(e);
    }
  free(d->b);
  free(d);
}

size_t fca_dedup_size(const fca_dedup_t *d) { return d->n; }

static size_t put_part(unsigned char *k, const void *s, size_t n) {
  uint64_t l = n;
  memcpy(k, &l, sizeof l);
  if (n) memcpy(k + sizeof l, s, n);
  return sizeof l + n;
}

static uint64_t hash_bytes(const unsigned char *s, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
  return h;
}

static void grow(fca_dedup_t *d) {
  size_t nb = d->nb * 2;
  node_t **b = fca_xcalloc(nb, sizeof *b);
  for (size_t i = 0; i < d->nb; i++)
    for (node_t *e = d->b[i], *nx; e; e = nx) {
      nx = e->next;
      e->next = b[e->hash & (nb - 1)];
      b[e->hash & (nb - 1)] = e;
    }
  free(d->b);
  d->b = b;
  d->nb = nb;
}

uint64_t fca_dedup_hit(fca_dedup_t *d, const char *rule, const char *url, const char *value,
                       size_t value_len) {
  size_t rl = strlen(rule), ul = strlen(url);
  size_t len = 3 * sizeof(uint64_t) + rl + ul + value_len;
  unsigned char *k = fca_xmalloc(len);
  size_t o = put_part(k, rule, rl);
  o += put_part(k + o, url, ul);
  put_part(k + o, value, value_len);
  uint64_t h = hash_bytes(k, len);
  for (node_t *e = d->b[h & (d->nb - 1)]; e; e = e->next)
    if (e->hash == h && e->len == len && memcmp(e->key, k, len) == 0) {
      free(k);
      return ++e->count;
    }
  if (d->n >= FCA_DEDUP_MAX) {
    free(k);
    return 1;
  }
  if (d->n + 1 > d->nb) grow(d);
  node_t *e = fca_xmalloc(sizeof *e + len);
  memcpy(e->key, k, len);
  free(k);
  e->hash = h;
  e->len = len;
  e->count = 1;
  e->next = d->b[h & (d->nb - 1)];
  d->b[h & (d->nb - 1)] = e;
  d->n++;
  return 1;
}
