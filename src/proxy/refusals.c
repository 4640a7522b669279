/* refusals: a small table of (policy, host) -> count under one mutex. Refusals are rare next to
 * traffic (each one ends a request), so a linear search over at most FCA_REFUSALS_MAX entries
 * is cheap; the table never grows past its bound. */
#include "refusals.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fcaudit/util.h"

typedef struct {
  char *policy, *host;
  uint64_t count;
} entry_t;

struct fca_refusals {
  pthread_mutex_t mu;
  entry_t e[FCA_REFUSALS_MAX];
  size_t n;
  uint64_t other; /* refusals past the table's bound */
  uint64_t total;
};

fca_refusals_t *fca_refusals_new(void) {
  fca_refusals_t *r = fca_xcalloc(1, sizeof *r);
  pthread_mutex_init(&r->mu, NULL);
  return r;
}

void fca_refusals_free(fca_refusals_t *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n; i++) free(r->e[i].policy), free(r->e[i].host);
  pthread_mutex_destroy(&r->mu);
  free(r);
}

bool fca_refusals_note(fca_refusals_t *r, const char *policy, const char *host) {
  if (!r) return true;
  if (!host) host = "";
  bool first = false;
  pthread_mutex_lock(&r->mu);
  r->total++;
  size_t i = 0;
  while (i < r->n && (strcmp(r->e[i].host, host) != 0 || strcmp(r->e[i].policy, policy) != 0)) i++;
  if (i < r->n) {
    r->e[i].count++;
  } else if (r->n < FCA_REFUSALS_MAX) {
    r->e[r->n++] = (entry_t){fca_xstrdup(policy), fca_xstrdup(host), 1};
    first = true;
  } else {
    r->other++;
  }
  pthread_mutex_unlock(&r->mu);
  return first;
}

uint64_t fca_refusals_total(fca_refusals_t *r, size_t *hosts) {
  pthread_mutex_lock(&r->mu);
  uint64_t t = r->total;
  if (hosts) *hosts = r->n;
  pthread_mutex_unlock(&r->mu);
  return t;
}

static int by_count(const void *a, const void *b) {
  const entry_t *x = a, *y = b;
  if (x->count != y->count) return x->count < y->count ? 1 : -1;
  return strcmp(x->host, y->host);
}

/* Host names come from clients: control bytes are shown as \xHH. */
static void put_safe(FILE *f, const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c < 0x20 || c == 0x7f)
      fprintf(f, "\\x%02x", c);
    else
      fputc(c, f);
  }
}

void fca_refusals_print(fca_refusals_t *r, FILE *f) {
  if (!r) return;
  pthread_mutex_lock(&r->mu);
  if (r->total) {
    entry_t *copy = fca_xcalloc(r->n + 1, sizeof *copy);
    memcpy(copy, r->e, r->n * sizeof *copy);
    qsort(copy, r->n, sizeof *copy, by_count);
    size_t hosts = r->n + (r->other ? 1 : 0);
    fprintf(f, "  refused by policy (not audited): %llu request%s to %zu host%s\n",
            (unsigned long long)r->total, r->total == 1 ? "" : "s", hosts, hosts == 1 ? "" : "s");
    for (size_t i = 0; i < r->n; i++) {
      fputs("    ", f);
      put_safe(f, copy[i].host);
      fprintf(f, "  ×%llu  (%s)\n", (unsigned long long)copy[i].count, copy[i].policy);
    }
    if (r->other)
      fprintf(f, "    other hosts  ×%llu  (past %d listed)\n", (unsigned long long)r->other,
              FCA_REFUSALS_MAX);
    free(copy);
  }
  pthread_mutex_unlock(&r->mu);
}
