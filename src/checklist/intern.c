/* intern: the shared sentences of intern.h, kept as the keys of one string map (an entry's key
 * never moves until it is removed, and none is). */
#include "intern.h"

#include "fcaudit/strmap.h"

#include <pthread.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static fca_strmap_t table;
static size_t nbytes;

const char *fca_intern(const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s);
  if (n > FCA_INTERN_MAX_LEN) return NULL;
  const char *found = NULL;
  pthread_mutex_lock(&lock);
  if (!table.b) fca_strmap_init(&table, 64, false);
  fca_strmap_entry_t *e = fca_strmap_get(&table, s, n);
  if (!e && fca_strmap_count(&table) < FCA_INTERN_MAX_STRINGS &&
      nbytes + n + 1 <= FCA_INTERN_MAX_BYTES) {
    e = fca_strmap_put(&table, s, n, NULL);
    nbytes += n + 1;
  }
  if (e) found = e->key;
  pthread_mutex_unlock(&lock);
  return found;
}
