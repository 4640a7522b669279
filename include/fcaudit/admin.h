/* admin: the dashboard, the CA onboarding page and the metrics, served on the admin listener
 * (--admin, loopback unless --allow-remote-admin) by a thread with its own event loop. The
 * proxy also routes http(s)://fcaudit.test/ to this listener, so a browser that only has the
 * proxy configured reaches the same pages. Everything it shows comes from the event sink
 * (subscribed at start), the CA, and the metrics callback. */
#ifndef FCAUDIT_ADMIN_H
#define FCAUDIT_ADMIN_H

#include "fcaudit/config.h"
#include "fcaudit/metrics.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct fca_admin fca_admin_t;
struct fca_sink;
struct fca_ca;
struct fca_model;

typedef struct {
  const char *listen; /* "127.0.0.1:8081" (port 0 = any free port) */
  bool allow_remote;  /* --allow-remote-admin */
  struct fca_sink *sink;
  const struct fca_ca *ca;
  void (*metrics)(void *ud, fca_metrics_t *out);
  void *metrics_ud;
  /* The run model behind /api/report.json and the dashboard's scorecards: pass the one that
   * --report-json is written from (already subscribed to the sink, its policy set) so both are
   * the same document. NULL = the admin keeps its own, subscribed at start. */
  struct fca_model *model;
  /* The fleet view (`fcaudit dashboard --redis`): a JSON document (malloc'd) of runs,
   * instances and recent events, served as /api/fleet.json; NULL = no fleet: the document is
   * {"fleet":false}. Called on the admin thread. */
  char *(*fleet_json)(void *ud);
  void *fleet_ud;
} fca_admin_opts_t;

/* Starts the admin thread. Refuses a listen address that is not loopback unless allow_remote.
 * NULL with err when it cannot start or bind (the caller warns and goes on without it).
 * The sink gets a subscriber whose userdata is the admin: the sink must not emit after
 * fca_admin_stop_free (stop the admin after the last emit, e.g. just before fca_sink_close). */
fca_admin_t *fca_admin_start(const fca_admin_opts_t *opts, char *err, size_t errlen);
/* The bound port (after port 0). */
int fca_admin_port(const fca_admin_t *a);
/* Ends open streams, stops the thread, frees. NULL is fine. */
void fca_admin_stop_free(fca_admin_t *a);

#endif
