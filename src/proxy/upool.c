/* upool: idle upstream connections per worker. Entries live in an array (small: tens), newest
 * last; a lookup scans it. Endpoints are never freed inside their own callbacks: a dropped
 * entry is shut down at once and freed from a deferred event. */
#include "upool.h"

#include "fcaudit/defer.h"
#include "fcaudit/util.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
  char key[300];
  fca_ep_t *ep;
  int64_t since;
} entry_t;

struct fca_upool {
  struct event_base *base;
  entry_t *e;
  size_t n, max;
  uint64_t idle_ms, hits;
  struct event *timer, *gc;
  fca_defer_t dead; /* dropped endpoints, freed from the gc event */
};

static void on_gc(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  fca_upool_t *p = arg;
  fca_defer_run(&p->dead);
}

static void free_ep(void *ep) { fca_ep_free(ep); }

static void drop_at(fca_upool_t *p, size_t i) {
  fca_ep_shutdown(p->e[i].ep);
  if (fca_defer_add(&p->dead, free_ep, p->e[i].ep)) event_active(p->gc, EV_READ, 0);
  memmove(&p->e[i], &p->e[i + 1], (p->n - i - 1) * sizeof *p->e);
  p->n--;
}

static void drop_ep(fca_upool_t *p, fca_ep_t *ep) {
  for (size_t i = 0; i < p->n; i++) {
    if (p->e[i].ep == ep) {
      drop_at(p, i);
      return;
    }
  }
}

/* Anything from a parked connection (bytes, close, error) ends its usefulness. */
static void on_read(fca_ep_t *ep, void *ud) { drop_ep(ud, ep); }
static void on_event(fca_ep_t *ep, int what, void *ud) {
  (void)what;
  drop_ep(ud, ep);
}
static const fca_ep_cbs_t parked_cbs = {on_read, NULL, on_event};

static void on_timer(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  fca_upool_t *p = arg;
  int64_t now = fca_mono_ms();
  while (p->n > 0 && now - p->e[0].since >= (int64_t)p->idle_ms) drop_at(p, 0);
  if (p->n > 0) {
    struct timeval tv = {1, 0};
    event_add(p->timer, &tv);
  }
}

fca_upool_t *fca_upool_new(struct event_base *base, size_t max, uint64_t idle_ms) {
  fca_upool_t *p = fca_xcalloc(1, sizeof *p);
  p->base = base;
  p->max = max ? max : 1;
  p->idle_ms = idle_ms;
  p->e = fca_xcalloc(p->max, sizeof *p->e);
  p->timer = fca_xcheck(evtimer_new(base, on_timer, p), "the upstream pool's events");
  p->gc = fca_xcheck(event_new(base, -1, 0, on_gc, p), "the upstream pool's events");
  return p;
}

void fca_upool_free(fca_upool_t *p) {
  if (!p) return;
  for (size_t i = 0; i < p->n; i++) fca_ep_free(p->e[i].ep);
  fca_defer_destroy(&p->dead);
  free(p->e);
  event_free(p->timer);
  event_free(p->gc);
  free(p);
}

void fca_upool_put(fca_upool_t *p, const char *key, fca_ep_t *ep) {
  if (p->n == p->max) drop_at(p, 0);
  entry_t *e = &p->e[p->n++];
  size_t kl = strlen(key);
  if (kl >= sizeof e->key) kl = sizeof e->key - 1;
  memcpy(e->key, key, kl);
  e->key[kl] = '\0';
  e->ep = ep;
  e->since = fca_mono_ms();
  fca_ep_set_cbs(ep, &parked_cbs, p);
  fca_ep_set_reading(ep, true); /* to notice the origin closing it */
  if (!event_pending(p->timer, EV_TIMEOUT, NULL)) {
    struct timeval tv = {1, 0};
    event_add(p->timer, &tv);
  }
}

fca_ep_t *fca_upool_take(fca_upool_t *p, const char *key) {
  for (size_t i = p->n; i-- > 0;) {
    if (strcmp(p->e[i].key, key) == 0) {
      fca_ep_t *ep = p->e[i].ep;
      memmove(&p->e[i], &p->e[i + 1], (p->n - i - 1) * sizeof *p->e);
      p->n--;
      p->hits++;
      return ep;
    }
  }
  return NULL;
}

size_t fca_upool_size(const fca_upool_t *p) { return p->n; }
uint64_t fca_upool_hits(const fca_upool_t *p) { return p->hits; }
