/* strmap: see fcaudit/strmap.h. */
#include "fcaudit/strmap.h"

#include "fcaudit/util.h"

#include <stdlib.h>

static unsigned char fold(unsigned char c, bool nocase) {
  return nocase && c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static uint64_t hash(const fca_strmap_t *m, const unsigned char *s, size_t n) {
  if (!m->nocase) return fca_hash_bytes(FCA_HASH_INIT, s, n);
  uint64_t h = FCA_HASH_INIT;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = fold(s[i], true);
    h = fca_hash_bytes(h, &c, 1);
  }
  return h;
}

static bool same(const fca_strmap_t *m, const fca_strmap_entry_t *e, const unsigned char *k,
                 size_t n, uint64_t h) {
  if (e->hash != h || e->len != n) return false;
  if (!m->nocase) return memcmp(e->key, k, n) == 0;
  for (size_t i = 0; i < n; i++)
    if (fold((unsigned char)e->key[i], true) != fold(k[i], true)) return false;
  return true;
}

void fca_strmap_init(fca_strmap_t *m, size_t hint, bool nocase) {
  size_t nb = 16;
  while (nb < hint && nb < ((size_t)1 << 30)) nb <<= 1;
  m->b = fca_xcalloc(nb, sizeof *m->b);
  m->nb = nb;
  m->n = 0;
  m->nocase = nocase;
}

void fca_strmap_destroy(fca_strmap_t *m, void (*free_val)(void *)) {
  if (!m->b) return;
  for (size_t i = 0; i < m->nb; i++)
    for (fca_strmap_entry_t *e = m->b[i], *nx; e; e = nx) {
      nx = e->next;
      if (free_val) free_val(e->val);
      free(e);
    }
  free(m->b);
  m->b = NULL;
  m->nb = m->n = 0;
}

size_t fca_strmap_count(const fca_strmap_t *m) { return m->n; }

fca_strmap_entry_t *fca_strmap_get(const fca_strmap_t *m, const void *key, size_t len) {
  uint64_t h = hash(m, key, len);
  for (fca_strmap_entry_t *e = m->b[h & (m->nb - 1)]; e; e = e->next)
    if (same(m, e, key, len, h)) return e;
  return NULL;
}

static void grow(fca_strmap_t *m) {
  size_t nb = m->nb * 2;
  fca_strmap_entry_t **b = fca_xcalloc(nb, sizeof *b);
  for (size_t i = 0; i < m->nb; i++)
    for (fca_strmap_entry_t *e = m->b[i], *nx; e; e = nx) {
      nx = e->next;
      e->next = b[e->hash & (nb - 1)];
      b[e->hash & (nb - 1)] = e;
    }
  free(m->b);
  m->b = b;
  m->nb = nb;
}

fca_strmap_entry_t *fca_strmap_put(fca_strmap_t *m, const void *key, size_t len, bool *created) {
  uint64_t h = hash(m, key, len);
  for (fca_strmap_entry_t *e = m->b[h & (m->nb - 1)]; e; e = e->next)
    if (same(m, e, key, len, h)) {
      if (created) *created = false;
      return e;
    }
  if (m->n + 1 > m->nb) grow(m);
  fca_strmap_entry_t *e = fca_xmalloc(sizeof *e + len + 1);
  if (len) memcpy(e->key, key, len);
  e->key[len] = '\0';
  e->len = len;
  e->hash = h;
  e->val = NULL;
  e->num = 0;
  e->next = m->b[h & (m->nb - 1)];
  m->b[h & (m->nb - 1)] = e;
  m->n++;
  if (created) *created = true;
  return e;
}

void fca_strmap_remove(fca_strmap_t *m, fca_strmap_entry_t *e) {
  for (fca_strmap_entry_t **pe = &m->b[e->hash & (m->nb - 1)]; *pe; pe = &(*pe)->next)
    if (*pe == e) {
      *pe = e->next;
      free(e);
      m->n--;
      return;
    }
}

fca_strmap_entry_t *fca_strmap_next(const fca_strmap_t *m, const fca_strmap_entry_t *prev) {
  if (prev && prev->next) return prev->next;
  size_t i = prev ? (prev->hash & (m->nb - 1)) + 1 : 0;
  for (; i < m->nb; i++)
    if (m->b[i]) return m->b[i];
  return NULL;
}
