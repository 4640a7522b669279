/* lru: a bounded map from case-insensitive string keys to owned values, least recently used
 * evicted first; O(1) get/put through the shared string map (fcaudit/strmap.h, case-insensitive
 * keys) plus a doubly-linked recency list.
 * Internal to src/tls (the per-worker cert cache and upstream session table). Not thread-safe. */
#ifndef FCA_TLS_LRU_H
#define FCA_TLS_LRU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fcaudit/strmap.h"

typedef struct lru_node lru_node_t;
struct lru_node {
  const char *key; /* the map entry's copy */
  void *val;
  int64_t aux;             /* caller data stored with the value (e.g. an expiry time) */
  lru_node_t *prev, *next; /* recency list, head = most recent */
  fca_strmap_entry_t *ent; /* key -> this node */
};

typedef struct {
  fca_strmap_t map;
  size_t cap;
  lru_node_t head; /* sentinel of the recency list */
  void (*free_val)(void *);
} lru_t;

void lru_init(lru_t *l, size_t cap, void (*free_val)(void *));
void lru_destroy(lru_t *l);
/* Returns the node for key (marking it most recent) or NULL. */
lru_node_t *lru_get(lru_t *l, const char *key);
/* Inserts or replaces key's value (the old value is freed). Returns true when the least
 * recently used entry had to be evicted to make room. */
bool lru_put(lru_t *l, const char *key, void *val, int64_t aux);
/* Removes key (freeing its value); false when absent. */
bool lru_remove(lru_t *l, const char *key);

#endif
