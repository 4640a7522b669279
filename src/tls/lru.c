/* lru: see lru.h. Keys are hashed and compared ASCII-case-insensitively, so "Shop.Test" and
 * "shop.test" are one entry; the table has at least two buckets per entry (up to 2^20
 * buckets) and never grows. */
#include "lru.h"

#include "fcaudit/util.h"

#include <stdlib.h>
#include <strings.h>

static uint32_t hash_ci(const char *s) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c >= 'A' && c <= 'Z') c = (unsigned char)(c + 32);
    h = (h ^ c) * 16777619u;
  }
  return h;
}

void lru_init(lru_t *l, size_t cap, void (*free_val)(void *)) {
  if (cap == 0) cap = 1;
  size_t nb = 2;
  while (nb < cap * 2 && nb < ((size_t)1 << 20)) nb <<= 1; /* chains grow past 512k entries */
  l->buckets = fca_xcalloc(nb, sizeof *l->buckets);
  l->nbuckets = nb;
  l->count = 0;
  l->cap = cap;
  l->head.prev = l->head.next = &l->head;
  l->free_val = free_val;
}

static void list_unlink(lru_node_t *n) {
  n->prev->next = n->next;
  n->next->prev = n->prev;
}

static void list_push_front(lru_t *l, lru_node_t *n) {
  n->next = l->head.next;
  n->prev = &l->head;
  l->head.next->prev = n;
  l->head.next = n;
}

static lru_node_t **find_slot(lru_t *l, const char *key, uint32_t h) {
  lru_node_t **pp = &l->buckets[h & (l->nbuckets - 1)];
  for (; *pp; pp = &(*pp)->hnext)
    if ((*pp)->hash == h && strcasecmp((*pp)->key, key) == 0) break;
  return pp;
}

static void drop(lru_t *l, lru_node_t **slot) {
  lru_node_t *n = *slot;
  *slot = n->hnext;
  list_unlink(n);
  if (l->free_val) l->free_val(n->val);
  free(n->key);
  free(n);
  l->count--;
}

lru_node_t *lru_get(lru_t *l, const char *key) {
  lru_node_t *n = *find_slot(l, key, hash_ci(key));
  if (n && l->head.next != n) {
    list_unlink(n);
    list_push_front(l, n);
  }
  return n;
}

bool lru_remove(lru_t *l, const char *key) {
  lru_node_t **slot = find_slot(l, key, hash_ci(key));
  if (!*slot) return false;
  drop(l, slot);
  return true;
}

bool lru_put(lru_t *l, const char *key, void *val, int64_t aux) {
  uint32_t h = hash_ci(key);
  lru_node_t **slot = find_slot(l, key, h);
  if (*slot) {
    lru_node_t *n = *slot;
    if (l->free_val && n->val != val) l->free_val(n->val);
    n->val = val;
    n->aux = aux;
    list_unlink(n);
    list_push_front(l, n);
    return false;
  }
  bool evicted = false;
  if (l->count >= l->cap) {
    lru_node_t *old = l->head.prev;
    drop(l, find_slot(l, old->key, old->hash));
    evicted = true;
  }
  lru_node_t *n = fca_xcalloc(1, sizeof *n);
  n->key = fca_xstrdup(key);
  n->val = val;
  n->aux = aux;
  n->hash = h;
  lru_node_t **b = &l->buckets[h & (l->nbuckets - 1)];
  n->hnext = *b;
  *b = n;
  list_push_front(l, n);
  l->count++;
  return evicted;
}

void lru_destroy(lru_t *l) {
  lru_node_t *n = l->head.next;
  while (n != &l->head) {
    lru_node_t *next = n->next;
    if (l->free_val) l->free_val(n->val);
    free(n->key);
    free(n);
    n = next;
  }
  free(l->buckets);
  l->buckets = NULL;
  l->count = 0;
  l->head.prev = l->head.next = &l->head;
}
