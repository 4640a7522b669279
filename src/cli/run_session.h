/* run_session: one run of fcaudit as a proxy, from start to exit status, the same for the plain
 * proxy (`fcaudit [options]`) and for `fcaudit run`. It owns what outlives the workers: the
 * event sink, the run model the reports come from, the rule levels and the audit engine, the
 * CA, the admin pages and the proxy itself. Start-up order: the reports are checked, the sink
 * opens and the model subscribes to it, the audit engine and the CA are made, then the proxy
 * binds its listeners, the admin pages start and only then do the workers accept, so the model
 * sees every event of the run. The end: the proxy drains, the audit summary goes out, the
 * reports are written and the summary printed. */
#ifndef FCAUDIT_RUN_SESSION_H
#define FCAUDIT_RUN_SESSION_H

#include "fcaudit/ca.h"
#include "fcaudit/config.h"
#include "fcaudit/model.h"
#include "fcaudit/proxy.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct fca_run_session fca_run_session_t;

/* Everything up to accepting connections. NULL with err (nothing left running) on failure. */
fca_run_session_t *fca_run_session_start(const fca_config_t *cfg, char *err, size_t errlen);

fca_proxy_t *fca_run_session_proxy(fca_run_session_t *s);
fca_model_t *fca_run_session_model(fca_run_session_t *s);
const fca_ca_t *fca_run_session_ca(const fca_run_session_t *s);
/* SIGHUP: the event log is reopened (log rotation). */
void fca_run_session_reopen_log(fca_run_session_t *s);

/* Starts the drain (once; later calls do nothing). */
void fca_run_session_stop(fca_run_session_t *s);
/* Drains the proxy (if not stopped yet: fca_proxy_stop), waits for the workers, sends the
 * audit summary, then, unless status is already FCA_EXIT_FATAL, writes the reports (a failure
 * makes it FCA_EXIT_FATAL) and prints the summary; with judge, the run's own verdict
 * (fca_model_exit_code) raises the status. Frees the session; returns the status. */
int fca_run_session_finish(fca_run_session_t *s, int status, bool judge);

/* The plain proxy in the foreground: starts, logs the listen addresses, handles SIGINT/SIGTERM
 * (drain, a second one forces) and SIGHUP (reopen the log), finishes. Returns the exit status:
 * FCA_EXIT_OK, or FCA_EXIT_FATAL when it could not start or write its reports. */
int fca_run_session_main(const fca_config_t *cfg);

#endif
