/* run_session: see run_session.h. The only place that wires the layers of a run together:
 * report (sink, Redis sinks, model, reports), checklist (rule levels), audit (the engine, the
 * HAR writer), tls (the CA), admin (the pages) and proxy (listeners and workers). */
#include "run_session.h"

#include "fcaudit/admin.h"
#include "fcaudit/audit.h"
#include "fcaudit/audit_config.h"
#include "fcaudit/console.h"
#include "fcaudit/har_writer.h"
#include "fcaudit/redis_sink.h"
#include "fcaudit/reports.h"
#include "fcaudit/ruleset.h"
#include "fcaudit/sink.h"
#include "fcaudit/util.h"

#include <event2/event.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fca_run_session {
  const fca_config_t *cfg;
  fca_model_t *model;
  fca_sink_t *sink;
  fca_redis_sink_t **redis; /* --sink redis://..., shipping from the log */
  size_t nredis;
  fca_harw_t *har; /* --har */
  fca_ruleset_t *rules;
  fca_audit_t *audit;
  fca_ca_t *ca;
  fca_proxy_t *proxy;
  fca_admin_t *admin;
  int64_t started_ms;
  int stops;
};

/* The interception CA: created on first start (and said so once, with how to trust it). */
static int load_ca(fca_run_session_t *s, char *err, size_t errlen) {
  char *dir = fca_ca_resolve_dir(s->cfg->ca_dir);
  if (!dir) {
    fca_seterr(err, errlen, "no CA directory: set --ca-dir or FCAUDIT_CA_DIR (or HOME)");
    return -1;
  }
  bool created = false;
  s->ca = fca_ca_load_or_create(dir, s->cfg->ca_key_type, true, &created, err, errlen);
  if (s->ca && created) fca_ca_print_trust_help(stderr, s->ca, dir);
  free(dir);
  return s->ca ? 0 : -1;
}

/* /metrics and the dashboard: the proxy's counters, the audit engine's and the sink's. */
static void metrics(void *ud, fca_metrics_t *m) {
  fca_run_session_t *s = ud;
  fca_proxy_metrics(s->proxy, m);
  fca_audit_stats_t as;
  fca_audit_stats(s->audit, &as);
  m->pages_seen = as.pages_seen;
  m->pages_tagged = as.pages_tagged;
  m->audit_notes = as.notes;
  m->audit_bytes = as.bytes_inspected;
  fca_sink_stats_t ss;
  fca_sink_stats(s->sink, &ss);
  m->events_written = ss.lines_written;
  m->sink_write_errors = ss.write_errors;
  for (size_t i = 0; i < s->nredis; i++) {
    fca_redis_sink_stats_t rs;
    fca_redis_sink_stats(s->redis[i], &rs);
    m->redis_sinks++;
    m->redis_connected += rs.connected;
    m->redis_shipped += rs.shipped;
    m->redis_waiting += rs.waiting;
    m->redis_unshipped += rs.dropped;
    m->redis_failures += rs.failures;
  }
  m->started_ms = s->started_ms;
}

/* The admin listener (dashboard, CA page, metrics). A busy port is a warning: the proxy goes
 * on without it. Also where fcaudit.test is routed to. */
static void start_admin(fca_run_session_t *s) {
  const fca_config_t *cfg = s->cfg;
  if (!cfg->admin || strcmp(cfg->admin, "off") == 0) return;
  fca_admin_opts_t o = {.listen = cfg->admin,
                        .allow_remote = cfg->allow_remote_admin,
                        .sink = s->sink,
                        .ca = s->ca,
                        .metrics = metrics,
                        .metrics_ud = s,
                        .model = s->model};
  char err[256];
  s->admin = fca_admin_start(&o, err, sizeof err);
  if (!s->admin) {
    fca_warn("%s; going on without the admin pages", err);
    return;
  }
  fca_proxy_route_admin(s->proxy, cfg->admin, fca_admin_port(s->admin));
}

static void free_session(fca_run_session_t *s) {
  if (s->proxy) fca_proxy_wait_free(s->proxy);
  if (s->admin) fca_admin_stop_free(s->admin); /* before the sink it subscribed to */
  if (s->audit) fca_audit_free(s->audit);
  if (s->rules) fca_ruleset_free(s->rules);
  for (size_t i = 0; i < s->nredis; i++) fca_redis_sink_close(s->redis[i]);
  free(s->redis);
  if (s->sink) fca_sink_close(s->sink);
  fca_harw_free(s->har); /* after the sink it subscribed to */
  if (s->ca) fca_ca_free(s->ca);
  fca_model_free(s->model);
  free(s);
}

fca_run_session_t *fca_run_session_start(const fca_config_t *cfg, char *err, size_t errlen) {
  fca_run_session_t *s = fca_xcalloc(1, sizeof *s);
  s->cfg = cfg;
  s->started_ms = fca_now_ms();
  /* The run model collects the events for the reports and the summary at exit; what the end
   * of the run needs is checked before anything starts. */
  s->model = fca_model_new(NULL);
  if (fca_reports_prepare(s->model, cfg, err, errlen) < 0) goto fail;
  fca_sink_opts_t so = {
      .log_path = cfg->log,
      .console = cfg->quiet ? NULL : stderr,
      .color = FCA_COLOR_AUTO,
      .redact_query = cfg->redact_query,
  };
  s->sink = fca_sink_new(&so);
  if (!s->sink) {
    fca_seterr(err, errlen, "cannot open the event log '%s'", cfg->log ? cfg->log : "-");
    goto fail;
  }
  /* Before any listener: the model sees every event of the run. */
  fca_model_subscribe(s->model, s->sink);
  if (cfg->sink.n) {
    s->redis = fca_xcalloc(cfg->sink.n, sizeof *s->redis);
    for (size_t i = 0; i < cfg->sink.n; i++) {
      fca_redis_sink_opts_t ro = {
          .url = cfg->sink.items[i],
          .log_path = cfg->log,
          .instance = cfg->instance,
          .label = cfg->label,
          .close_timeout_ms = cfg->drain_timeout_ms,
      };
      s->redis[i] = fca_redis_sink_new(s->sink, &ro, err, errlen);
      if (!s->redis[i]) goto fail;
      s->nredis = i + 1;
    }
  }
  s->audit = fca_audit_from_config(cfg, fca_sink_event_fn, s->sink, &s->rules, err, errlen);
  if (!s->audit) goto fail;
  if (cfg->har) {
    s->har = fca_harw_open(cfg->har, cfg->har_body_max, err, errlen);
    if (!s->har) goto fail;
    fca_sink_subscribe(s->sink, fca_harw_event_fn, s->har);
  }
  if (load_ca(s, err, errlen) < 0) goto fail;
  fca_proxy_opts_t po = {.cfg = cfg, .audit = s->audit, .ca = s->ca, .har = s->har};
  s->proxy = fca_proxy_new(&po, err, errlen);
  if (!s->proxy) goto fail;
  start_admin(s);
  fca_proxy_start(s->proxy);
  return s;
fail:
  free_session(s);
  return NULL;
}

fca_proxy_t *fca_run_session_proxy(fca_run_session_t *s) { return s->proxy; }
fca_model_t *fca_run_session_model(fca_run_session_t *s) { return s->model; }
const fca_ca_t *fca_run_session_ca(const fca_run_session_t *s) { return s->ca; }

void fca_run_session_reopen_log(fca_run_session_t *s) { fca_sink_reopen(s->sink); }

void fca_run_session_stop(fca_run_session_t *s) {
  if (s->stops++ == 0) fca_proxy_stop(s->proxy);
}

int fca_run_session_finish(fca_run_session_t *s, int status, bool judge) {
  if (s->stops == 0) fca_proxy_stop(s->proxy);
  fca_proxy_wait_free(s->proxy);
  s->proxy = NULL;
  /* Every exchange has ended: the summary goes out before the reports are written. */
  fca_audit_finish(s->audit);
  fca_sink_flush(s->sink);
  if (s->har) fca_harw_close(s->har);
  if (status != FCA_EXIT_FATAL) {
    if (fca_reports_write_all(s->model, s->cfg) < 0) status = FCA_EXIT_FATAL;
    fca_model_print_summary(stderr, s->model, fca_console_use_color(stderr, FCA_COLOR_AUTO));
    if (judge) {
      int verdict = fca_model_exit_code(s->model);
      if (verdict > status) status = verdict;
    }
  }
  free_session(s);
  return status;
}

/* ---- the plain proxy in the foreground ---- */

typedef struct {
  fca_run_session_t *s;
  struct event_base *base;
} main_ctx_t;

static void on_signal(evutil_socket_t sig, short what, void *arg) {
  (void)what;
  main_ctx_t *m = arg;
  if (!m->s) return; /* not started yet (signals are blocked until it is) */
  if (sig == SIGHUP) {
    fca_info("SIGHUP: reopening the event log");
    fca_run_session_reopen_log(m->s);
    return;
  }
  if (m->s->stops == 0)
    fca_info("%s: stopping; finishing in-flight exchanges (up to %llu ms; again to force)",
             sig == SIGINT ? "SIGINT" : "SIGTERM", (unsigned long long)m->s->cfg->drain_timeout_ms);
  m->s->stops++;
  fca_proxy_stop(m->s->proxy);
  event_base_loopexit(m->base, NULL);
}

int fca_run_session_main(const fca_config_t *cfg) {
  fca_log_level_t lvl;
  if (cfg->log_level && fca_log_level_parse(cfg->log_level, &lvl) == 0) fca_log_set_level(lvl);
  char err[512];
  /* Signals wait (blocked) until their handlers are in place: the workers inherit the mask,
   * and the main thread unblocks them once libevent listens for them. */
  sigset_t blocked, old;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGINT);
  sigaddset(&blocked, SIGTERM);
  sigaddset(&blocked, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &blocked, &old);
  /* The signal loop and its descriptors exist before any worker accepts: clients arriving at
   * once could otherwise take the last descriptor libevent needs for signals (a fatal exit). */
  main_ctx_t m = {NULL, fca_xcheck(event_base_new(), "the main event loop")};
  struct event *sigs[3];
  int signo[3] = {SIGINT, SIGTERM, SIGHUP};
  for (int i = 0; i < 3; i++) {
    sigs[i] = fca_xcheck(evsignal_new(m.base, signo[i], on_signal, &m), "a signal event");
    if (evsignal_add(sigs[i], NULL) != 0) fca_oom("a signal event");
  }
  fca_run_session_t *s = fca_run_session_start(cfg, err, sizeof err);
  if (!s) {
    for (int i = 0; i < 3; i++) event_free(sigs[i]);
    event_base_free(m.base);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    fca_err("%s", err);
    return FCA_EXIT_FATAL;
  }
  m.s = s;
  fca_proxy_t *p = s->proxy;
  int nworkers = fca_proxy_nworkers(p);
  for (size_t i = 0; i < fca_proxy_nlisten(p); i++) {
    char name[80];
    fca_proxy_listen_name(p, i, name, sizeof name);
    fca_info("listening on %s (%d worker%s)", name, nworkers, nworkers == 1 ? "" : "s");
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  /* Keep handling signals while the workers drain (a second SIGINT forces). */
  event_base_dispatch(m.base);
  event_base_loopexit(m.base, NULL);
  struct timeval tick = {0, 100000};
  while (!fca_proxy_try_join(p)) {
    event_base_loopexit(m.base, &tick);
    event_base_dispatch(m.base);
  }
  /* The plain proxy ends with the run's verdict too (the exit code its reports name). */
  int status = fca_run_session_finish(s, FCA_EXIT_OK, true);
  for (int i = 0; i < 3; i++) event_free(sigs[i]);
  event_base_free(m.base);
  fca_info("stopped");
  return status;
}
