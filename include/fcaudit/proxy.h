/* proxy: the forward proxy as a whole: worker threads (each with its own event_base, evdns_base
 * and SO_REUSEPORT listeners), shared read-only state, graceful shutdown. fca_proxy_main runs it
 * in the foreground with signal handling (SIGINT/SIGTERM drain and exit, SIGHUP reopens logs);
 * fca_proxy_start/stop/wait let another command (e.g. `fcaudit run`) embed it. */
#ifndef FCAUDIT_PROXY_H
#define FCAUDIT_PROXY_H

#include "fcaudit/config.h"
#include "fcaudit/metrics.h"

#include <stddef.h>

typedef struct fca_proxy fca_proxy_t;

/* Binds every --listen address and starts the workers. NULL with err on failure. */
fca_proxy_t *fca_proxy_start(const fca_config_t *cfg, char *err, size_t errlen);
/* The same, with the run model the admin pages show (the one the reports come from); the model
 * is subscribed to the proxy's sink before anything else starts. */
struct fca_model;
fca_proxy_t *fca_proxy_start_with_model(const fca_config_t *cfg, struct fca_model *model, char *err,
                                        size_t errlen);
/* The actual port of the i-th listen address (useful with port 0). */
int fca_proxy_port(const fca_proxy_t *p, size_t i);
/* The event sink (log, console, subscribers); valid until fca_proxy_wait_free. */
struct fca_sink *fca_proxy_sink(fca_proxy_t *p);
/* A snapshot of every counter (thread-safe; per-worker caches are read without their owner's
 * lock, so cache figures may be a moment old). */
void fca_proxy_metrics(fca_proxy_t *p, fca_metrics_t *out);
/* Starts a graceful shutdown: stop accepting, let exchanges finish for --drain-timeout.
 * Safe to call from any thread; a second call closes everything at once. */
void fca_proxy_stop(fca_proxy_t *p);
/* Waits for the workers to end (and the audit to finish); idempotent. */
void fca_proxy_wait(fca_proxy_t *p);
/* Waits for the workers to end, then frees the proxy. */
void fca_proxy_wait_free(fca_proxy_t *p);

/* What became of the requests clients sent: refused by fcaudit itself (a 4xx it answered:
 * authentication, --only-resolved, malformed requests) or forwarded (an origin or tunnel was
 * reached). first_refusal: "407 Proxy Authentication Required: ..." of the first refusal. */
typedef struct {
  unsigned long long refused, forwarded;
  char first_refusal[200];
} fca_proxy_outcome_t;
void fca_proxy_outcome(fca_proxy_t *p, fca_proxy_outcome_t *out);

/* Foreground run. Returns a process exit status: 0 after a clean shutdown, 3 when it could not
 * start. */
int fca_proxy_main(const fca_config_t *cfg);

#endif
