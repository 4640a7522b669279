/* proxy: the forward proxy as a whole: worker threads (each with its own event_base, evdns_base
 * and SO_REUSEPORT listeners), shared read-only state, graceful shutdown. It knows nothing of
 * reports, event sinks or the command line: the caller (src/cli's run session) gives it the
 * audit engine and the CA, starts it, stops it and turns the run into reports and an exit
 * code. The order of a run: fca_proxy_new (binds every --listen address), optionally
 * fca_proxy_route_admin, fca_proxy_start (workers accept), fca_proxy_stop (drain),
 * fca_proxy_try_join / fca_proxy_wait_free. */
#ifndef FCAUDIT_PROXY_H
#define FCAUDIT_PROXY_H

#include "fcaudit/config.h"
#include "fcaudit/metrics.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct fca_proxy fca_proxy_t;
struct fca_audit;
struct fca_ca;
struct fca_harw;

typedef struct {
  const fca_config_t *cfg; /* read for the proxy's whole life */
  struct fca_audit *audit; /* fed every intercepted exchange; the caller's, outlives the proxy */
  struct fca_ca *ca;       /* the interception CA; the caller's, outlives the proxy */
  struct fca_harw *har;    /* --har: exchanges recorded here (thread-safe), or NULL */
} fca_proxy_opts_t;

/* Binds every --listen address (probing each first) and makes the workers, which do not run
 * yet. NULL with err on failure. */
fca_proxy_t *fca_proxy_new(const fca_proxy_opts_t *opts, char *err, size_t errlen);
/* Where requests for http(s)://fcaudit.test/ go: the admin listener `listen` (the --admin
 * spec; a wildcard address is reached on loopback) bound on `port`. Before fca_proxy_start. */
void fca_proxy_route_admin(fca_proxy_t *p, const char *listen, int port);
/* Starts the worker threads: from here on connections are accepted and served. */
void fca_proxy_start(fca_proxy_t *p);

/* The actual port of the i-th listen address (useful with port 0). */
int fca_proxy_port(const fca_proxy_t *p, size_t i);
size_t fca_proxy_nlisten(const fca_proxy_t *p);
int fca_proxy_nworkers(const fca_proxy_t *p);
/* "127.0.0.1:8080", "[::1]:8080" for the i-th listen address. */
void fca_proxy_listen_name(const fca_proxy_t *p, size_t i, char *buf, size_t n);
/* A snapshot of the proxy's counters: connections, requests, bytes, TLS, certificate cache
 * (thread-safe; per-worker caches are read without their owner's lock, so cache figures may be
 * a moment old). The audit, sink and start-time fields are left 0 for the caller. */
void fca_proxy_metrics(fca_proxy_t *p, fca_metrics_t *out);

/* Starts a graceful shutdown: stop accepting, let exchanges finish for --drain-timeout.
 * Safe to call from any thread; a second call closes everything at once. */
void fca_proxy_stop(fca_proxy_t *p);
/* Joins the workers that have ended; true when none is left running. Does not block. */
bool fca_proxy_try_join(fca_proxy_t *p);
/* Waits for every worker to end (blocking); idempotent. */
void fca_proxy_join(fca_proxy_t *p);
/* Waits for the workers to end, then frees the proxy. Works on a proxy never started. */
void fca_proxy_wait_free(fca_proxy_t *p);

/* What became of the requests clients sent: refused by fcaudit itself (a 4xx it answered:
 * authentication, --only-resolved, malformed requests) or forwarded (an origin or tunnel was
 * reached). first_refusal: "407 Proxy Authentication Required: ..." of the first refusal. */
typedef struct {
  unsigned long long refused, forwarded;
  char first_refusal[200];
} fca_proxy_outcome_t;
void fca_proxy_outcome(fca_proxy_t *p, fca_proxy_outcome_t *out);

#endif
