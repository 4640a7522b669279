/* upool: a worker's idle upstream connections, kept after a client connection is done with
 * them so the next client going to the same origin (scheme, host, port) skips the TCP and TLS
 * handshakes. Bounded in count and idle time; a parked connection that the origin closes, or
 * that receives anything, is dropped. Per worker, not thread-safe. */
#ifndef FCAUDIT_UPOOL_H
#define FCAUDIT_UPOOL_H

#include "endpoint.h"

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fca_upool fca_upool_t;

/* Idle connections a worker keeps: enough for every stream of two HTTP/2 clients at their
 * concurrency limit (each stream holds one HTTP/1.1 upstream while it runs), so a busy h2
 * connection does not re-open upstreams between requests. */
#ifndef FCA_UPOOL_PER_WORKER
#define FCA_UPOOL_PER_WORKER 256
#endif

fca_upool_t *fca_upool_new(struct event_base *base, size_t max, uint64_t idle_ms);
void fca_upool_free(fca_upool_t *p);

/* Parks ep under key (ownership passes to the pool; its callbacks are replaced). The oldest
 * entry is closed when the pool is full. */
void fca_upool_put(fca_upool_t *p, const char *key, fca_ep_t *ep);
/* The most recently parked connection for key, or NULL. The caller sets its callbacks. */
fca_ep_t *fca_upool_take(fca_upool_t *p, const char *key);

size_t fca_upool_size(const fca_upool_t *p);
uint64_t fca_upool_hits(const fca_upool_t *p);

#endif
