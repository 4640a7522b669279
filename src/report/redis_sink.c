/* redis_sink: the shipper thread. Invariants: only this thread touches the hiredis context, the
 * spool and the read fd; other threads only set `wake` (one event_active per burst) or ask it to
 * stop. Lines are read from the log after the sink wrote them, in order, and a line counts as
 * shipped only when Redis acknowledged its XADD (replies come in order, so each reply
 * acknowledges the oldest entry on its way). On any failure the connection is dropped, the lines
 * on their way are sent again on the next one (same seq: readers de-duplicate on run + seq),
 * and the retry waits double up to FCA_REDIS_RETRY_MAX_MS. Failure is said once per episode.
 * A Redis that accepts the connection but does not answer (stopped, wedged) is a failure too:
 * whenever something is on its way (the connection's setup, or XADDs) and no reply came for the
 * URL's timeout, the connection is dropped as if Redis had gone away. The watchdog is our own
 * check on the tick, not hiredis' (redisAsyncSetTimeout exists only from hiredis 1.0 on). */
#include "fcaudit/redis_sink.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fcaudit/eventjson.h"
#include "fcaudit/redis_url.h"
#include "fcaudit/sink.h"
#include "fcaudit/util.h"
#include "spool.h"

/* How often the log is looked at without a wake-up (rotation, lines queued after an error). */
#define TICK_MS 200

typedef enum { R_DOWN = 0, R_CONNECTING, R_READY } rstate_t;

struct fca_redis_sink {
  fca_sink_t *sink;
  fca_redis_url_t url;
  char disp[400]; /* the URL without credentials, for messages */
  char *path;
  int fd;
  dev_t dev;
  ino_t ino;
  char run[FCA_RUN_ID_SIZE];
  char *instance, *label;
  fca_spool_t sp;
  char *line;
  size_t line_cap;

  struct event_base *base;
  struct event *wake_ev, *tick_ev, *stop_ev;
  redisAsyncContext *ac;
  rstate_t state;
  int64_t waiting_since_ms; /* mono ms: the oldest unanswered request, or the last answer */
  bool in_error;            /* the failure of this episode was reported */
  bool said_ready;
  uint64_t backoff_ms;      /* next wait */
  int64_t next_try_ms;      /* mono ms of the next connection attempt */
  bool stopping;            /* close asked: ship what is left, then end */
  int64_t stop_deadline_ms; /* mono */
  uint64_t close_timeout_ms;

  atomic_bool wake;
  pthread_t thread;
  pthread_mutex_t mu; /* guards st */
  fca_redis_sink_stats_t st;
};

static void set_connected(fca_redis_sink_t *r, bool c) {
  pthread_mutex_lock(&r->mu);
  r->st.connected = c;
  pthread_mutex_unlock(&r->mu);
}

static void update_stats(fca_redis_sink_t *r, uint64_t shipped) {
  pthread_mutex_lock(&r->mu);
  r->st.shipped += shipped;
  r->st.waiting = fca_spool_waiting(&r->sp);
  r->st.dropped = r->sp.dropped;
  pthread_mutex_unlock(&r->mu);
}

/* A note event in the run's own log (and so, later, in the stream and every report). */
static void emit_note(fca_redis_sink_t *r, const char *msg) {
  fca_event_t ev = {.type = FCA_EV_NOTE, .note = "redis-unshipped", .message = msg};
  fca_sink_emit(r->sink, &ev);
}

static void report_dropped(fca_redis_sink_t *r) {
  uint64_t d = fca_spool_take_dropped(&r->sp);
  if (!d) return;
  char msg[1024];
  snprintf(msg, sizeof msg,
           "%llu event%s not shipped to Redis %s: it was away and the backlog passed its cap of "
           "%zu events; they are still in the local log %s",
           (unsigned long long)d, d == 1 ? " was" : "s were", r->disp, r->sp.cap, r->path);
  fca_err("%s", msg);
  emit_note(r, msg);
}

/* ---- reading the log ---- */

/* Switches to the file now at the path when it was replaced (rotation) and everything read
 * from the old one is acknowledged. */
static void follow_rotation(fca_redis_sink_t *r) {
  struct stat st;
  if (fca_spool_waiting(&r->sp) || stat(r->path, &st) != 0) return;
  if (st.st_dev == r->dev && st.st_ino == r->ino) return;
  int fd = open(r->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return;
  }
  close(r->fd);
  r->fd = fd;
  r->dev = st.st_dev;
  r->ino = st.st_ino;
  uint64_t next_seq = r->sp.acked_seq;
  size_t cap = r->sp.cap;
  uint64_t dropped = r->sp.dropped, pending = r->sp.dropped_pending;
  fca_spool_free(&r->sp);
  fca_spool_init(&r->sp, 0, next_seq, cap);
  r->sp.dropped = dropped;
  r->sp.dropped_pending = pending;
}

/* Records every whole line after the read offset. */
static void scan(fca_redis_sink_t *r) {
  char buf[65536];
  bool may_drop = r->state != R_READY;
  for (;;) {
    uint64_t off = fca_spool_read_off(&r->sp);
    ssize_t n = pread(r->fd, buf, sizeof buf, (off_t)off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    size_t used = 0;
    for (;;) {
      char *nl = memchr(buf + used, '\n', (size_t)n - used);
      if (!nl) break;
      used = (size_t)(nl - buf) + 1;
      if (fca_spool_push(&r->sp, off + used, may_drop) < 0) goto out; /* full: later */
    }
    if (used == 0) {
      /* A line longer than the buffer: find its end further on. */
      uint64_t at = off + (uint64_t)n;
      bool found = false;
      while (!found) {
        ssize_t m = pread(r->fd, buf, sizeof buf, (off_t)at);
        if (m < 0 && errno == EINTR) continue;
        if (m <= 0) break;
        char *nl = memchr(buf, '\n', (size_t)m);
        if (nl) {
          found = true;
          if (fca_spool_push(&r->sp, at + (uint64_t)(nl - buf) + 1, may_drop) < 0) goto out;
        } else {
          at += (uint64_t)m;
        }
      }
      if (!found) break; /* still being written */
    }
  }
out:
  if (r->sp.dropped_pending && !r->in_error) report_dropped(r);
  follow_rotation(r);
  update_stats(r, 0);
}

/* ---- Redis ---- */

static void connect_now(fca_redis_sink_t *r);
static void pump(fca_redis_sink_t *r);
static bool done_stopping(fca_redis_sink_t *r);

static void episode_start(fca_redis_sink_t *r, const char *why) {
  pthread_mutex_lock(&r->mu);
  r->st.failures++;
  pthread_mutex_unlock(&r->mu);
  if (!r->in_error) {
    r->in_error = true;
    fca_err("redis sink %s: %s; still proxying, events stay in %s and are shipped when Redis "
            "is back (retrying with backoff up to %u ms; past %zu waiting events the oldest are "
            "not shipped, and a note says how many)",
            r->disp, why, r->path, (unsigned)FCA_REDIS_RETRY_MAX_MS, r->sp.cap);
  } else {
    fca_debug("redis sink %s: %s", r->disp, why);
  }
}

/* The connection is gone (ac already freed by hiredis or about to be). */
static void lost(fca_redis_sink_t *r, const char *why) {
  r->ac = NULL;
  r->state = R_DOWN;
  set_connected(r, false);
  fca_spool_rewind(&r->sp);
  episode_start(r, why);
  r->next_try_ms = fca_mono_ms() + (int64_t)r->backoff_ms;
  r->backoff_ms *= 2;
  if (r->backoff_ms > FCA_REDIS_RETRY_MAX_MS) r->backoff_ms = FCA_REDIS_RETRY_MAX_MS;
}

/* Drops the connection after a refused command; hiredis calls on_disconnect. */
static void fail_conn(fca_redis_sink_t *r, const char *why) {
  redisAsyncContext *ac = r->ac;
  if (!ac) return;
  char msg[300];
  snprintf(msg, sizeof msg, "%s", why);
  lost(r, msg);
  ac->data = NULL; /* on_disconnect must not count this twice */
  redisAsyncDisconnect(ac);
}

/* The watchdog: something was sent (or the connection began) and nothing came back for the
 * timeout. redisAsyncFree, not redisAsyncDisconnect, which would wait for the missing replies;
 * the callbacks it runs see data == NULL and do nothing. */
static void check_stalled(fca_redis_sink_t *r) {
  if (!r->ac || (r->state == R_READY && fca_spool_inflight(&r->sp) == 0)) return;
  if (fca_mono_ms() - r->waiting_since_ms < (int64_t)r->url.timeout_ms) return;
  redisAsyncContext *ac = r->ac;
  char why[160];
  snprintf(why, sizeof why, "no answer within %llu ms (Redis stalled)",
           (unsigned long long)r->url.timeout_ms);
  lost(r, why);
  ac->data = NULL;
  redisAsyncFree(ac);
}

/* The connection works (the PING after AUTH and SELECT came back): ship. */
static void ready(fca_redis_sink_t *r) {
  r->state = R_READY;
  set_connected(r, true);
  r->backoff_ms = FCA_REDIS_RETRY_MIN_MS;
  if (!r->said_ready) {
    r->said_ready = true;
    fca_info("redis sink %s: shipping this run's events (instance %s)", r->disp, r->instance);
  }
  if (r->in_error) {
    fca_info("redis sink %s: connected again; shipping %zu waiting events", r->disp,
             fca_spool_waiting(&r->sp));
    r->in_error = false;
  }
  report_dropped(r);
  scan(r);
  pump(r);
}

static void on_connect(const redisAsyncContext *ac, int status) {
  fca_redis_sink_t *r = ac->data;
  if (!r || r->ac != ac) return;
  if (status != REDIS_OK) {
    char why[300];
    snprintf(why, sizeof why, "cannot connect: %s", ac->errstr[0] ? ac->errstr : "error");
    lost(r, why); /* hiredis frees the context */
  }
}

static void on_disconnect(const redisAsyncContext *ac, int status) {
  fca_redis_sink_t *r = ac->data;
  if (!r || r->ac != ac) return;
  char why[300];
  snprintf(why, sizeof why, "connection lost: %s",
           status == REDIS_OK ? "closed" : (ac->errstr[0] ? ac->errstr : "error"));
  lost(r, why);
}

/* AUTH, SELECT and PING: an error reply ends the connection (said without the credentials);
 * PING's answer means the connection is ready. */
static void on_setup_reply(redisAsyncContext *ac, void *reply, void *priv) {
  fca_redis_sink_t *r = ac->data;
  redisReply *rep = reply;
  if (!r || r->ac != ac || !rep) return;
  r->waiting_since_ms = fca_mono_ms();
  if (rep->type == REDIS_REPLY_ERROR) {
    char why[300];
    snprintf(why, sizeof why, "%s refused: %.200s", (const char *)priv, rep->str);
    fail_conn(r, why);
    return;
  }
  if (strcmp((const char *)priv, "PING") == 0 && r->state == R_CONNECTING) ready(r);
}

static void on_xadd_reply(redisAsyncContext *ac, void *reply, void *priv) {
  (void)priv;
  fca_redis_sink_t *r = ac->data;
  redisReply *rep = reply;
  if (!r || r->ac != ac || !rep) return; /* a dropped connection: sent again later */
  r->waiting_since_ms = fca_mono_ms();
  if (rep->type == REDIS_REPLY_ERROR) {
    char why[300];
    snprintf(why, sizeof why, "XADD refused: %.200s", rep->str);
    fail_conn(r, why);
    return;
  }
  fca_spool_ack(&r->sp);
  update_stats(r, 1);
  pump(r);
  if (done_stopping(r)) event_base_loopbreak(r->base);
}

static void connect_now(fca_redis_sink_t *r) {
  redisAsyncContext *ac = redisAsyncConnect(r->url.host, r->url.port);
  if (!ac) {
    lost(r, "cannot connect: out of memory");
    return;
  }
  if (ac->err) {
    char why[300];
    snprintf(why, sizeof why, "cannot connect: %s", ac->errstr);
    redisAsyncFree(ac);
    lost(r, why);
    return;
  }
  ac->data = r;
  r->ac = ac;
  r->state = R_CONNECTING;
  r->waiting_since_ms = fca_mono_ms();
  redisLibeventAttach(ac, r->base);
  redisAsyncSetConnectCallback(ac, on_connect);
  redisAsyncSetDisconnectCallback(ac, on_disconnect);
  if (r->url.pass) {
    if (r->url.user)
      redisAsyncCommand(ac, on_setup_reply, "AUTH", "AUTH %s %s", r->url.user, r->url.pass);
    else
      redisAsyncCommand(ac, on_setup_reply, "AUTH", "AUTH %s", r->url.pass);
  }
  if (r->url.db) redisAsyncCommand(ac, on_setup_reply, "SELECT", "SELECT %d", r->url.db);
  redisAsyncCommand(ac, on_setup_reply, "PING", "PING");
}

/* Reads [start, end) of the log into r->line (without its '\n'). */
static ssize_t read_line(fca_redis_sink_t *r, uint64_t start, uint64_t end) {
  size_t len = (size_t)(end - start);
  if (len + 1 > r->line_cap) {
    r->line_cap = len + 1;
    r->line = fca_xrealloc(r->line, r->line_cap);
  }
  size_t got = 0;
  while (got < len) {
    ssize_t n = pread(r->fd, r->line + got, len - got, (off_t)(start + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    got += (size_t)n;
  }
  if (len && r->line[len - 1] == '\n') len--;
  return (ssize_t)len;
}

/* Sends waiting lines while the window has room. */
static void pump(fca_redis_sink_t *r) {
  if (r->state != R_READY || !r->ac) return;
  char maxlen[24], seqs[24];
  snprintf(maxlen, sizeof maxlen, "%llu", (unsigned long long)r->url.maxlen);
  uint64_t start, end, seq;
  while (fca_spool_inflight(&r->sp) < FCA_REDIS_WINDOW &&
         fca_spool_next(&r->sp, &start, &end, &seq)) {
    ssize_t len = read_line(r, start, end);
    if (len < 0) {
      fca_err("redis sink %s: cannot read %s at offset %llu: %s", r->disp, r->path,
              (unsigned long long)start, strerror(errno));
      return;
    }
    snprintf(seqs, sizeof seqs, "%llu", (unsigned long long)seq);
    const char *argv[16];
    size_t argl[16], k = 0;
#define ARG(s, n) (argv[k] = (s), argl[k] = (n), k++)
#define ARGS(s) ARG(s, strlen(s))
    ARGS("XADD");
    ARGS(r->url.stream);
    if (r->url.maxlen) {
      ARGS("MAXLEN");
      ARGS("~");
      ARGS(maxlen);
    }
    ARGS("*");
    ARGS("run");
    ARGS(r->run);
    ARGS("instance");
    ARGS(r->instance);
    ARGS("seq");
    ARGS(seqs);
    if (r->label) {
      ARGS("label");
      ARGS(r->label);
    }
    ARGS("event");
    ARG(r->line, (size_t)len);
#undef ARG
#undef ARGS
    if (redisAsyncCommandArgv(r->ac, on_xadd_reply, NULL, (int)k, argv, argl) != REDIS_OK) {
      fail_conn(r, "cannot send XADD");
      return;
    }
    if (fca_spool_inflight(&r->sp) == 0) r->waiting_since_ms = fca_mono_ms();
    fca_spool_mark_sent(&r->sp);
  }
}

/* ---- the thread ---- */

static bool done_stopping(fca_redis_sink_t *r) {
  return r->stopping && (fca_spool_waiting(&r->sp) == 0 || fca_mono_ms() >= r->stop_deadline_ms ||
                         r->state == R_DOWN); /* away at the end: no waiting for it */
}

static void round_(fca_redis_sink_t *r) {
  atomic_store(&r->wake, false);
  scan(r);
  check_stalled(r);
  if (r->state == R_DOWN && fca_mono_ms() >= r->next_try_ms) connect_now(r);
  pump(r);
  if (done_stopping(r)) event_base_loopbreak(r->base);
}

static void on_wake(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  round_(arg);
}

static void on_stop(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  fca_redis_sink_t *r = arg;
  r->stopping = true;
  r->stop_deadline_ms = fca_mono_ms() + (int64_t)r->close_timeout_ms;
  round_(r);
}

static void *thread_main(void *arg) {
  fca_redis_sink_t *r = arg;
  event_base_dispatch(r->base);
  return NULL;
}

static void on_event(void *arg, const fca_event_t *ev) {
  (void)ev;
  fca_redis_sink_t *r = arg;
  if (!atomic_exchange(&r->wake, true)) event_active(r->wake_ev, EV_READ, 0);
}

char *fca_redis_sink_default_instance(void) {
  char host[256] = "localhost";
  if (gethostname(host, sizeof host) != 0) snprintf(host, sizeof host, "localhost");
  host[sizeof host - 1] = '\0';
  return fca_xasprintf("%s:%ld", host, (long)getpid());
}

fca_redis_sink_t *fca_redis_sink_new(fca_sink_t *sink, const fca_redis_sink_opts_t *o, char *err,
                                     size_t errlen) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, (void (*)(void))evthread_use_pthreads);
  if (!o->log_path) {
    fca_seterr(err, errlen, "--sink redis://...: needs the event log (--log), which it ships from");
    return NULL;
  }
  fca_redis_sink_t *r = fca_xcalloc(1, sizeof *r);
  if (fca_redis_url_parse(o->url, &r->url, err, errlen) < 0) {
    free(r);
    return NULL;
  }
  fca_redis_url_display(&r->url, r->disp, sizeof r->disp);
  r->fd = open(o->log_path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (r->fd < 0 || fstat(r->fd, &st) != 0) {
    fca_seterr(err, errlen, "redis sink: cannot read the event log %s: %s", o->log_path,
               strerror(errno));
    if (r->fd >= 0) close(r->fd);
    fca_redis_url_free(&r->url);
    free(r);
    return NULL;
  }
  r->dev = st.st_dev;
  r->ino = st.st_ino;
  r->sink = sink;
  r->path = fca_xstrdup(o->log_path);
  snprintf(r->run, sizeof r->run, "%s", fca_sink_run_id(sink));
  r->instance = o->instance ? fca_xstrdup(o->instance) : fca_redis_sink_default_instance();
  r->label = o->label && *o->label ? fca_xstrdup(o->label) : NULL;
  r->close_timeout_ms = o->close_timeout_ms;
  /* Lines already in the file belong to earlier runs. */
  size_t cap = o->cap ? o->cap : r->url.backlog ? (size_t)r->url.backlog : FCA_SPOOL_CAP;
  fca_spool_init(&r->sp, (uint64_t)st.st_size, 1, cap);
  r->backoff_ms = FCA_REDIS_RETRY_MIN_MS;
  pthread_mutex_init(&r->mu, NULL);
  atomic_init(&r->wake, false);
  r->base = event_base_new();
  if (!r->base) abort();
  r->wake_ev = event_new(r->base, -1, 0, on_wake, r);
  r->stop_ev = event_new(r->base, -1, 0, on_stop, r);
  r->tick_ev = event_new(r->base, -1, EV_PERSIST, on_wake, r);
  struct timeval tick = {0, TICK_MS * 1000};
  event_add(r->tick_ev, &tick);
  connect_now(r);
  if (fca_sink_subscribe(sink, on_event, r) < 0)
    fca_warn("redis sink %s: no subscriber slot left; shipping every %d ms instead", r->disp,
             TICK_MS);
  if (pthread_create(&r->thread, NULL, thread_main, r) != 0) {
    fca_err("cannot start the redis sink thread");
    abort();
  }
  pthread_setname_np(r->thread, "fca-redis-sink"); /* tools/bench reads its CPU time by name */
  return r;
}

void fca_redis_sink_stats(fca_redis_sink_t *r, fca_redis_sink_stats_t *out) {
  pthread_mutex_lock(&r->mu);
  *out = r->st;
  pthread_mutex_unlock(&r->mu);
}

void fca_redis_sink_close(fca_redis_sink_t *r) {
  if (!r) return;
  event_active(r->stop_ev, EV_READ, 0);
  pthread_join(r->thread, NULL);
  /* The thread has ended: its state is ours now. */
  scan(r);
  size_t left = fca_spool_waiting(&r->sp);
  uint64_t dropped = fca_spool_take_dropped(&r->sp);
  if (left || dropped) {
    char msg[1024];
    snprintf(msg, sizeof msg,
             "%llu event%s not shipped to Redis %s (%s); they are in the local "
             "log %s",
             (unsigned long long)(left + dropped), left + dropped == 1 ? " was" : "s were", r->disp,
             r->state == R_READY ? "time ran out" : "Redis is away", r->path);
    fca_err("%s", msg);
    emit_note(r, msg);
  }
  if (r->ac) {
    redisAsyncContext *ac = r->ac;
    r->ac = NULL;
    ac->data = NULL;
    redisAsyncFree(ac);
  }
  event_free(r->wake_ev);
  event_free(r->stop_ev);
  event_free(r->tick_ev);
  event_base_free(r->base);
  close(r->fd);
  fca_spool_free(&r->sp);
  fca_redis_url_free(&r->url);
  pthread_mutex_destroy(&r->mu);
  free(r->line);
  free(r->path);
  free(r->instance);
  free(r->label);
  free(r);
}
