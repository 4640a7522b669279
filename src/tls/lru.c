/* lru: see lru.h. Keys compare ASCII-case-insensitively, so "Shop.Test" and "shop.test" are
 * one entry. */
#include "lru.h"

#include "fcaudit/util.h"

#include <stdlib.h>

void lru_init(lru_t *l, size_t cap, void (*free_val)(void *)) {
  if (cap == 0) cap = 1;
  fca_strmap_init(&l->map, cap < ((size_t)1 << 20) ? cap : ((size_t)1 << 20), true);
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

static void drop(lru_t *l, lru_node_t *n) {
  list_unlink(n);
  if (l->free_val) l->free_val(n->val);
  fca_strmap_remove(&l->map, n->ent);
  free(n);
}

lru_node_t *lru_get(lru_t *l, const char *key) {
  fca_strmap_entry_t *e = fca_strmap_gets(&l->map, key);
  lru_node_t *n = e ? e->val : NULL;
  if (n && l->head.next != n) {
    list_unlink(n);
    list_push_front(l, n);
  }
  return n;
}

bool lru_remove(lru_t *l, const char *key) {
  fca_strmap_entry_t *e = fca_strmap_gets(&l->map, key);
  if (!e) return false;
  drop(l, e->val);
  return true;
}

bool lru_put(lru_t *l, const char *key, void *val, int64_t aux) {
  fca_strmap_entry_t *e = fca_strmap_gets(&l->map, key);
  if (e) {
    lru_node_t *n = e->val;
    if (l->free_val && n->val != val) l->free_val(n->val);
    n->val = val;
    n->aux = aux;
    list_unlink(n);
    list_push_front(l, n);
    return false;
  }
  bool evicted = false;
  if (fca_strmap_count(&l->map) >= l->cap) {
    drop(l, l->head.prev);
    evicted = true;
  }
  lru_node_t *n = fca_xcalloc(1, sizeof *n);
  n->ent = fca_strmap_puts(&l->map, key, NULL);
  n->ent->val = n;
  n->key = n->ent->key;
  n->val = val;
  n->aux = aux;
  list_push_front(l, n);
  return evicted;
}

void lru_destroy(lru_t *l) {
  lru_node_t *n = l->head.next;
  while (n != &l->head) {
    lru_node_t *next = n->next;
    if (l->free_val) l->free_val(n->val);
    free(n);
    n = next;
  }
  fca_strmap_destroy(&l->map, NULL);
  l->head.prev = l->head.next = &l->head;
}
