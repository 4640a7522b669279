/* cmd_dashboard: the fleet dashboard. A reader thread walks the Redis stream from its start and
 * then follows it (XREAD BLOCK); each entry, once (run + seq), goes into one merged model (the
 * scorecards: pages by URL across runs and instances), into the fleet table (runs, instances,
 * recent events with their instance) served as /api/fleet.json, and into a sink without a log
 * whose subscriber is the admin's live feed. The main thread only waits for a signal. When Redis
 * stalls (no answer within the URL's timeout) or goes away, the reader says so once on stderr
 * and in /api/fleet.json's "error" (the dashboard keeps what it read), reconnects with a
 * backoff, and clears it when Redis answers again, going on after the last entry it read.
 * Invariant: the model is changed under its lock, the fleet table under `mu`. */
#include "cmd_dashboard.h"
#include "commands.h"

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fcaudit/admin.h"
#include "fcaudit/exit.h"
#include "fcaudit/model.h"
#include "fcaudit/redis_read.h"
#include "fcaudit/sink.h"
#include "fcaudit/tailfmt.h"
#include "fcaudit/util.h"

/* Recent events kept for the fleet feed. */
#define RECENT_MAX 200

typedef struct {
  char *run, *instance, *label;
  char *first_ts, *last_ts;
  uint64_t events;
  bool ended; /* its summary arrived */
} frun_t;

typedef struct {
  pthread_mutex_t mu;
  frun_t *runs;
  size_t nruns, cap;
  json_t *recent; /* array, oldest first */
  uint64_t entries, repeats;
  fca_model_t *m;
  fca_sink_t *sink;
  fca_redis_dedup_t seen;
  fca_redis_reader_t *r;
  char stream_name[400];
  atomic_bool stop;
  bool reader_failed;
  char err[800];
} fleet_t;

static const char *jstr(const json_t *o, const char *k) {
  const json_t *v = json_object_get(o, k);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

static frun_t *run_of(fleet_t *f, const fca_redis_entry_t *e) {
  for (size_t i = 0; i < f->nruns; i++)
    if (strcmp(f->runs[i].run, e->run) == 0) return &f->runs[i];
  if (f->nruns == f->cap) {
    f->cap = f->cap ? f->cap * 2 : 16;
    f->runs = fca_xrealloc(f->runs, f->cap * sizeof *f->runs);
  }
  frun_t *r = &f->runs[f->nruns++];
  memset(r, 0, sizeof *r);
  r->run = fca_xstrdup(e->run);
  r->instance = fca_xstrdup(e->instance);
  r->label = e->label ? fca_xstrdup(e->label) : NULL;
  return r;
}

static void set_ts(char **dst, const char *ts) {
  if (!ts) return;
  free(*dst);
  *dst = fca_xstrdup(ts);
}

static int take(void *ud, const fca_redis_entry_t *e) {
  fleet_t *f = ud;
  if (atomic_load(&f->stop)) return 1;
  if (!fca_redis_dedup_first(&f->seen, e->run, e->seq)) {
    pthread_mutex_lock(&f->mu);
    f->repeats++;
    pthread_mutex_unlock(&f->mu);
    return 0;
  }
  json_t *o = json_loadb(e->event, e->event_len, JSON_REJECT_DUPLICATES, NULL);
  if (!o || !json_is_object(o)) {
    json_decref(o);
    return 0;
  }
  const char *type = jstr(o, "type"), *ts = jstr(o, "ts");
  char line[FCA_CONSOLE_LINE_MAX];
  size_t n = fca_tailfmt_line(o, line, sizeof line, false);
  while (n && line[n - 1] == '\n') n--;

  pthread_mutex_lock(&f->mu);
  f->entries++;
  frun_t *r = run_of(f, e);
  r->events++;
  if (!r->first_ts) set_ts(&r->first_ts, ts);
  set_ts(&r->last_ts, ts);
  if (type && strcmp(type, "summary") == 0) r->ended = true;
  json_t *item =
      json_pack("{s:s, s:s, s:s, s:I, s:s?, s:s?, s:s%}", "id", e->id, "run", e->run, "instance",
                e->instance, "seq", (json_int_t)e->seq, "type", type, "ts", ts, "text", line, n);
  if (item) json_array_append_new(f->recent, item);
  while (json_array_size(f->recent) > RECENT_MAX) json_array_remove(f->recent, 0);
  pthread_mutex_unlock(&f->mu);

  pthread_mutex_lock(&f->m->lock);
  fca_model_add_json(f->m, o);
  pthread_mutex_unlock(&f->m->lock);

  fca_event_t ev;
  if (fca_tailfmt_event(o, &ev) == 0) fca_sink_emit(f->sink, &ev); /* the live feed */
  json_decref(o);
  return 0;
}

#define RETRY_MIN_MS 100
#define RETRY_MAX_MS 5000

static void set_error(fleet_t *f, const char *msg) {
  pthread_mutex_lock(&f->mu);
  f->reader_failed = msg != NULL;
  snprintf(f->err, sizeof f->err, "%s", msg ? msg : "");
  pthread_mutex_unlock(&f->mu);
}

/* Sleeps ms in steps, false when asked to stop meanwhile. */
static bool nap(fleet_t *f, uint64_t ms) {
  for (uint64_t slept = 0; slept < ms && !atomic_load(&f->stop); slept += 50) {
    struct timespec ts = {0, 50 * 1000000L};
    nanosleep(&ts, NULL);
  }
  return !atomic_load(&f->stop);
}

/* After a -2: says it once, reconnects until Redis accepts (or the dashboard stops). */
static bool wait_for_redis(fleet_t *f, const char *why, bool *away) {
  if (!*away) {
    char msg[800];
    snprintf(msg, sizeof msg,
             "%s; the dashboard shows what it read so far and waits for it (retrying with "
             "backoff up to %d ms)",
             why, RETRY_MAX_MS);
    fprintf(stderr, "fcaudit dashboard: %s\n", msg);
    set_error(f, msg);
    *away = true;
  }
  char err[600];
  for (uint64_t wait = RETRY_MIN_MS;; wait = wait * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : wait * 2) {
    if (!nap(f, wait)) return false;
    if (fca_redis_reader_reconnect(f->r, err, sizeof err) == 0) return true;
  }
}

static void *reader_main(void *arg) {
  fleet_t *f = arg;
  char last[FCA_REDIS_ID_SIZE] = "0", err[600];
  bool away = false; /* said that Redis stalled or went away; not yet back */
  int rc = fca_redis_reader_range(f->r, "0", 1000, take, f, last, err, sizeof err);
  for (;;) {
    if (rc == -2 && !atomic_load(&f->stop)) {
      if (!wait_for_redis(f, err, &away)) break;
    } else if (rc != 0 || atomic_load(&f->stop)) {
      break;
    } else if (away) {
      fprintf(stderr, "fcaudit dashboard: %s answers again; reading after the last entry read\n",
              f->stream_name);
      set_error(f, NULL);
      away = false;
    }
    rc = fca_redis_reader_follow(f->r, last, 500, take, f, last, err, sizeof err);
  }
  if (rc == -1 && !atomic_load(&f->stop)) {
    fprintf(stderr, "fcaudit dashboard: %s; the dashboard shows what it read so far\n", err);
    pthread_mutex_lock(&f->mu);
    f->reader_failed = true;
    snprintf(f->err, sizeof f->err, "%s", err);
    pthread_mutex_unlock(&f->mu);
  }
  return NULL;
}

/* /api/fleet.json: {"fleet": true, "stream", "entries", "repeats", "runs":[...], "instances":[...],
 * "recent":[...], "error"?} */
static char *fleet_json(void *ud) {
  fleet_t *f = ud;
  pthread_mutex_lock(&f->mu);
  json_t *runs = json_array(), *insts = json_array();
  for (size_t i = 0; i < f->nruns; i++) {
    const frun_t *r = &f->runs[i];
    json_array_append_new(runs, json_pack("{s:s, s:s, s:s?, s:I, s:s?, s:s?, s:b}", "run", r->run,
                                          "instance", r->instance, "label", r->label, "events",
                                          (json_int_t)r->events, "first_ts", r->first_ts, "last_ts",
                                          r->last_ts, "ended", r->ended));
    json_t *inst = NULL;
    for (size_t k = 0; k < json_array_size(insts) && !inst; k++)
      if (strcmp(jstr(json_array_get(insts, k), "instance"), r->instance) == 0)
        inst = json_array_get(insts, k);
    if (!inst) {
      inst = json_pack("{s:s, s:I, s:I, s:s?}", "instance", r->instance, "runs", (json_int_t)0,
                       "events", (json_int_t)0, "last_ts", r->last_ts);
      json_array_append_new(insts, inst);
    }
    json_object_set_new(inst, "runs",
                        json_integer(json_integer_value(json_object_get(inst, "runs")) + 1));
    json_object_set_new(
        inst, "events",
        json_integer(json_integer_value(json_object_get(inst, "events")) + (json_int_t)r->events));
    const char *lt = jstr(inst, "last_ts");
    if (r->last_ts && (!lt || strcmp(r->last_ts, lt) > 0))
      json_object_set_new(inst, "last_ts", json_string(r->last_ts));
  }
  json_t *doc =
      json_pack("{s:b, s:s, s:I, s:I, s:o, s:o, s:O}", "fleet", 1, "stream", f->stream_name,
                "entries", (json_int_t)f->entries, "repeats", (json_int_t)f->repeats, "runs", runs,
                "instances", insts, "recent", f->recent);
  if (f->reader_failed) json_object_set_new(doc, "error", json_string(f->err));
  pthread_mutex_unlock(&f->mu);
  char *s = json_dumps(doc, JSON_COMPACT);
  json_decref(doc);
  return s;
}

static void usage(FILE *out) { fca_command_print_help(out, fca_command_find("dashboard")); }

int fca_cmd_dashboard_main(fca_config_t *cfg, int argc, char **argv) {
  const char *redis = NULL;
  char **rest = fca_xcalloc((size_t)argc + 1, sizeof *rest);
  int n = 0, status = 3;
  rest[n++] = argv[0];
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--redis") == 0 && i + 1 < argc)
      redis = argv[++i];
    else if (strncmp(argv[i], "--redis=", 8) == 0)
      redis = argv[i] + 8;
    else
      rest[n++] = argv[i];
  }
  char err[600];
  bool help = false;
  int next = fca_config_parse_args(cfg, n, rest, 1, &help, NULL, err, sizeof err);
  free(rest);
  if (next < 0) {
    fprintf(stderr, "fcaudit dashboard: %s\n", err);
    return FCA_EXIT_FATAL;
  }
  if (help) {
    usage(stdout);
    return 0;
  }
  if (next < n || !redis) {
    usage(stderr);
    return FCA_EXIT_FATAL;
  }
  if (!cfg->admin || strcmp(cfg->admin, "off") == 0) {
    fprintf(stderr, "fcaudit dashboard: needs an --admin address to serve on\n");
    return FCA_EXIT_FATAL;
  }
  fleet_t f = {0};
  pthread_mutex_init(&f.mu, NULL);
  f.recent = json_array();
  f.r = fca_redis_reader_open(redis, err, sizeof err);
  if (!f.r) {
    fprintf(stderr, "fcaudit dashboard: %s\n", err);
    json_decref(f.recent);
    return FCA_EXIT_FATAL;
  }
  snprintf(f.stream_name, sizeof f.stream_name, "%s", fca_redis_reader_name(f.r));
  f.m = fca_model_new(NULL);
  f.m->fleet = true;
  fca_level_t fail_on;
  if (cfg->fail_on && fca_model_parse_fail_on(cfg->fail_on, &fail_on) == 0)
    fca_model_set_policy(
        f.m, &(fca_model_policy_t){.fail_on = fail_on, .require_tagged = cfg->require_tagged});
  f.sink = fca_sink_new(NULL);

  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, &old); /* the threads inherit it; only sigwait takes them */
  fca_admin_opts_t ao = {.listen = cfg->admin,
                         .allow_remote = cfg->allow_remote_admin,
                         .sink = f.sink,
                         .model = f.m,
                         .fleet_json = fleet_json,
                         .fleet_ud = &f};
  fca_admin_t *a = fca_admin_start(&ao, err, sizeof err);
  pthread_t th;
  bool started = false;
  if (!a) {
    fprintf(stderr, "fcaudit dashboard: %s\n", err);
    goto out;
  }
  if (pthread_create(&th, NULL, reader_main, &f) != 0) {
    fprintf(stderr, "fcaudit dashboard: cannot start the reader thread\n");
    goto out;
  }
  started = true;
  fca_info("fleet dashboard on http://%s/ reading %s", cfg->admin, f.stream_name);
  int sig = 0;
  sigwait(&set, &sig);
  fca_info("%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
  status = 0;
out:
  atomic_store(&f.stop, true);
  if (started) pthread_join(th, NULL); /* its XREAD ends within 500 ms plus the timeout */
  fca_admin_stop_free(a);
  fca_sink_close(f.sink);
  fca_redis_reader_close(f.r);
  fca_redis_dedup_free(&f.seen);
  fca_model_free(f.m);
  for (size_t i = 0; i < f.nruns; i++) {
    frun_t *r = &f.runs[i];
    free(r->run), free(r->instance), free(r->label), free(r->first_ts), free(r->last_ts);
  }
  free(f.runs);
  json_decref(f.recent);
  pthread_mutex_destroy(&f.mu);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return status;
}
