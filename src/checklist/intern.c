/* intern: the shared sentences of intern.h. Open addressing over a table twice the string
 * limit, so a probe always ends at an empty slot; a string is never removed. */
#include "intern.h"

#include "fcaudit/util.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS (2 * FCA_INTERN_MAX_STRINGS)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const char *table[SLOTS];
static size_t nstrings, nbytes;

static uint64_t hash(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return h;
}

const char *fca_intern(const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s);
  if (n > FCA_INTERN_MAX_LEN) return NULL;
  size_t i = (size_t)(hash(s, n) % SLOTS);
  const char *found = NULL;
  pthread_mutex_lock(&lock);
  for (; table[i]; i = (i + 1) % SLOTS) {
    if (strcmp(table[i], s) == 0) {
      found = table[i];
      break;
    }
  }
  if (!found && nstrings < FCA_INTERN_MAX_STRINGS && nbytes + n + 1 <= FCA_INTERN_MAX_BYTES) {
    char *c = fca_xmalloc(n + 1);
    memcpy(c, s, n + 1);
    table[i] = found = c;
    nstrings++;
    nbytes += n + 1;
  }
  pthread_mutex_unlock(&lock);
  return found;
}
