/* strmap: the one hash table of the code base. Keys are byte strings (any byte; copied into the
 * entry and NUL-terminated, so a C string key reads back as one), compared exactly or
 * ASCII-case-insensitively; FNV-1a 64-bit hash; chained buckets that double when the table
 * holds as many entries as buckets. Each entry carries a pointer and a number for its owner (a
 * page and an iframe index, a count, a cache node). Entries never move: a pointer to one stays
 * valid until it is removed. Not thread-safe: the owner locks. */
#ifndef FCAUDIT_STRMAP_H
#define FCAUDIT_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct fca_strmap_entry {
  struct fca_strmap_entry *next; /* bucket chain */
  uint64_t hash;
  void *val;    /* the owner's */
  uint64_t num; /* the owner's */
  size_t len;   /* key length, without the NUL added after it */
  char key[];
} fca_strmap_entry_t;

typedef struct {
  fca_strmap_entry_t **b;
  size_t nb, n; /* buckets (a power of two), entries */
  bool nocase;  /* ASCII letters compare and hash case-insensitively */
} fca_strmap_t;

/* FNV-1a 64 over n bytes, continuing from h (start with FCA_HASH_INIT): the map's hash, for
 * anyone else who needs one. */
#define FCA_HASH_INIT 1469598103934665603ull
static inline uint64_t fca_hash_bytes(uint64_t h, const void *p, size_t n) {
  const unsigned char *s = p;
  for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
  return h;
}

/* hint: the expected number of entries (0 = a small table). */
void fca_strmap_init(fca_strmap_t *m, size_t hint, bool nocase);
/* Frees every entry (free_val, when not NULL, gets each val) and the buckets. */
void fca_strmap_destroy(fca_strmap_t *m, void (*free_val)(void *));
size_t fca_strmap_count(const fca_strmap_t *m);

/* The entry for key, or NULL. */
fca_strmap_entry_t *fca_strmap_get(const fca_strmap_t *m, const void *key, size_t len);
/* The entry for key, made (val NULL, num 0) when absent; *created tells which (may be NULL). */
fca_strmap_entry_t *fca_strmap_put(fca_strmap_t *m, const void *key, size_t len, bool *created);
/* Unlinks and frees e (an entry of m); its val is the caller's to free first. */
void fca_strmap_remove(fca_strmap_t *m, fca_strmap_entry_t *e);

/* Iteration in no particular order: start with NULL; do not put or remove while iterating. */
fca_strmap_entry_t *fca_strmap_next(const fca_strmap_t *m, const fca_strmap_entry_t *prev);

/* C string keys. */
static inline fca_strmap_entry_t *fca_strmap_gets(const fca_strmap_t *m, const char *key) {
  return fca_strmap_get(m, key, strlen(key));
}
static inline fca_strmap_entry_t *fca_strmap_puts(fca_strmap_t *m, const char *key, bool *created) {
  return fca_strmap_put(m, key, strlen(key), created);
}

#endif
