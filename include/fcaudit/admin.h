/* admin: the dashboard, the CA onboarding page and the metrics, served on the admin listener
 * (--admin, loopback unless --allow-remote-admin) by a thread with its own event loop. The
 * proxy also routes http(s)://fcaudit.test/ to this listener, so a browser that only has the
 * proxy configured reaches the same pages. Everything it shows comes from the event sink
 * (subscribed at start), the CA, and the metrics callback. */
#ifndef FCAUDIT_ADMIN_H
#define FCAUDIT_ADMIN_H

#include "fcaudit/metrics.h"

#include <stdbool.h>
#include <stddef.h>

#define FCA_ADMIN_HOST "fcaudit.test"

typedef struct fca_admin fca_admin_t;
struct fca_sink;
struct fca_ca;

typedef struct {
  const char *listen; /* "127.0.0.1:8081" (port 0 = any free port) */
  bool allow_remote;  /* --allow-remote-admin */
  struct fca_sink *sink;
  const struct fca_ca *ca;
  void (*metrics)(void *ud, fca_metrics_t *out);
  void *metrics_ud;
} fca_admin_opts_t;

/* NULL with err when the listener cannot be bound (the caller warns and goes on without it). */
fca_admin_t *fca_admin_start(const fca_admin_opts_t *opts, char *err, size_t errlen);
/* The bound port (after port 0). */
int fca_admin_port(const fca_admin_t *a);
void fca_admin_stop_free(fca_admin_t *a);

#endif
