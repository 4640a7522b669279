/* clientkey: "client_id \n rest", the key the registry and the scorecards index pages by ('\n'
 * occurs in neither part: URLs are cleaned, ids are addresses). Built in the caller's buffer when
 * it fits, since every page add and lookup makes several. */
#ifndef FCAUDIT_AUDIT_CLIENTKEY_H
#define FCAUDIT_AUDIT_CLIENTKEY_H

#include "fcaudit/util.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
  char small[256];
  char *heap;
} fca_clientkey_t;

/* The key (NUL-terminated; its length is strlen); release it with fca_clientkey_done. */
static inline const char *fca_clientkey(fca_clientkey_t *b, const char *client_id,
                                        const char *rest) {
  if (!rest) rest = "";
  size_t a = strlen(client_id), n = strlen(rest);
  b->heap = NULL;
  char *k = a + n + 2 <= sizeof b->small ? b->small : (b->heap = fca_xmalloc(a + n + 2));
  memcpy(k, client_id, a);
  k[a] = '\n';
  memcpy(k + a + 1, rest, n + 1);
  return k;
}

static inline void fca_clientkey_done(fca_clientkey_t *b) {
  free(b->heap);
  b->heap = NULL;
}

#endif
