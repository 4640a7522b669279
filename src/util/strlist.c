/* strlist: a growable list of owned strings (fca_strlist_t, fcaudit/config.h), for the repeatable
 * options and the address parsers. */
#include "fcaudit/config.h"
#include "fcaudit/util.h"

#include <stdlib.h>

void fca_strlist_add(fca_strlist_t *l, const char *s) {
  l->items = fca_xrealloc(l->items, (l->n + 1) * sizeof *l->items);
  l->items[l->n++] = fca_xstrdup(s);
}

void fca_strlist_free(fca_strlist_t *l) {
  for (size_t i = 0; i < l->n; i++) free(l->items[i]);
  free(l->items);
  l->items = NULL;
  l->n = 0;
}
