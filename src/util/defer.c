/* defer: see fcaudit/defer.h. */
#include "fcaudit/defer.h"

#include "fcaudit/util.h"

#include <stdlib.h>

bool fca_defer_add(fca_defer_t *d, void (*free_fn)(void *), void *obj) {
  if (d->n == d->cap) {
    d->cap = d->cap ? d->cap * 2 : 4;
    d->v = fca_xrealloc(d->v, d->cap * sizeof *d->v);
  }
  d->v[d->n++] = (struct fca_defer_item){free_fn, obj};
  return d->n == 1;
}

void fca_defer_run(fca_defer_t *d) {
  /* Index, not a saved count: a free function may queue more. */
  for (size_t i = 0; i < d->n; i++) d->v[i].free_fn(d->v[i].obj);
  d->n = 0;
}

void fca_defer_destroy(fca_defer_t *d) {
  fca_defer_run(d);
  free(d->v);
  d->v = NULL;
  d->cap = 0;
}
