/* sink: serialises events and appends them to the NDJSON log, the console and subscribers.
 * Invariants: a log line is written by one write(2) under the mutex (partial writes continue
 * under the same lock), so lines from different threads never interleave; serialisation and
 * console formatting happen outside the lock; lines that fail are queued in order (bounded by
 * FCA_SINK_RETRY_MAX) and always written before newer lines; an error is reported on stderr
 * once per episode; secret header values and (optionally) query strings never reach an output. */
#include "fcaudit/sink.h"

#include "fcaudit/redact.h"
#include "fcaudit/util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fcaudit/eventjson.h"
#include "fcaudit/redact.h"
#include "fcaudit/util.h"

typedef struct qline {
  struct qline *next;
  size_t len; /* bytes of data */
  size_t off; /* bytes already written to the current fd */
  char data[];
} qline_t;

typedef struct {
  fca_event_fn fn;
  void *userdata;
} sub_t;

struct fca_sink {
  pthread_mutex_t mu;  /* guards everything below but subs/nsubs reads */
  int fd;              /* -1: no file open */
  char *path;          /* NULL: no log file */
  atomic_bool has_log; /* path != NULL, readable without the lock */
  FILE *console;
  bool color;
  bool redact_query;
  char run_id[FCA_RUN_ID_SIZE];
  qline_t *qhead, *qtail;
  bool in_error;
  bool torn; /* the file ends inside a line that could not be taken back */
  fca_sink_stats_t st;
  sub_t subs[FCA_SINK_SUBSCRIBERS_MAX];
  atomic_size_t nsubs; /* entries below it are complete (release/acquire) */
  fca_sink_summary_fn summary_fn;
  void *summary_ud;
};

/* Opens the log for appending. A file whose last line was cut short (a crash or a full disk in
 * an earlier run) gets its newline first, so the first event of this run is a line of its own. */
static int open_log(const char *path) {
  int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 && errno == EACCES) return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  struct stat st;
  char last;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
      pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n') {
    if (write(fd, "\n", 1) != 1) { /* reported by the first write of an event */
    }
  }
  return fd;
}

/* Writes buf[*off..len) to fd, retrying EINTR and partial writes. Returns 0 or an errno. */
static int write_all(int fd, const char *buf, size_t len, size_t *off) {
  while (*off < len) {
    ssize_t w = write(fd, buf + *off, len - *off);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (w == 0) return EIO;
    *off += (size_t)w;
  }
  return 0;
}

static void report_error(fca_sink_t *s, int err) {
  s->st.write_errors++;
  if (s->in_error) return;
  s->in_error = true;
  s->st.error_episodes++;
  fca_err("event log %s: %s; keeping unwritten events in memory (up to %u KiB) and retrying",
          s->path ? s->path : "(fd)", strerror(err), (unsigned)(FCA_SINK_RETRY_MAX / 1024));
}

static void recovered(fca_sink_t *s) {
  if (!s->in_error || s->qhead) return;
  s->in_error = false;
  fca_warn("event log %s: writable again; queued events written", s->path ? s->path : "(fd)");
}

/* A write that failed after `off` bytes of a line left them in the file: take them back so the
 * file holds whole lines only; if the file cannot be truncated (not a regular file), the next
 * line starts with a newline instead. Lock held. */
static void untear(fca_sink_t *s, size_t off) {
  if (off == 0) return;
  off_t end = lseek(s->fd, 0, SEEK_END);
  if (end >= (off_t)off && ftruncate(s->fd, end - (off_t)off) == 0) return;
  s->torn = true;
}

/* Before a line: the newline a torn line still needs. Returns 0 or an errno. Lock held. */
static int mend(fca_sink_t *s) {
  if (!s->torn) return 0;
  size_t off = 0;
  int err = write_all(s->fd, "\n", 1, &off);
  if (!err) s->torn = false;
  return err;
}

/* Queues a line that could not be written; off bytes of it are already in the current file. */
static void enqueue(fca_sink_t *s, const char *line, size_t len, size_t off) {
  if (s->st.queued_bytes + len > FCA_SINK_RETRY_MAX) {
    /* Never silently dropped: the event goes to stderr so it is still seen. */
    s->st.overflowed++;
    fprintf(stderr, "fcaudit: error: event log unwritable and retry queue full; event: %.*s",
            (int)len, line);
    return;
  }
  qline_t *q = fca_xmalloc(sizeof *q + len);
  q->next = NULL;
  q->len = len;
  q->off = off;
  memcpy(q->data, line, len);
  if (s->qtail)
    s->qtail->next = q;
  else
    s->qhead = q;
  s->qtail = q;
  s->st.queued_lines++;
  s->st.queued_bytes += len;
}

/* Writes queued lines in order. Returns 0 when the queue is empty. Lock held. */
static int drain(fca_sink_t *s) {
  while (s->qhead) {
    if (s->fd < 0) return -1;
    qline_t *q = s->qhead;
    int err = mend(s);
    if (!err) err = write_all(s->fd, q->data, q->len, &q->off);
    if (err) {
      untear(s, q->off);
      q->off = 0;
      report_error(s, err);
      return -1;
    }
    s->qhead = q->next;
    if (!s->qhead) s->qtail = NULL;
    s->st.queued_lines--;
    s->st.queued_bytes -= q->len;
    s->st.lines_written++;
    free(q);
  }
  recovered(s);
  return 0;
}

/* Appends one line to the log (queue first, to keep order). Lock held. */
static void log_line(fca_sink_t *s, const char *line, size_t len) {
  if (!s->path) return;
  if (drain(s) != 0) {
    enqueue(s, line, len, 0);
    return;
  }
  size_t off = 0;
  int err = mend(s);
  if (!err) err = write_all(s->fd, line, len, &off);
  if (err) {
    untear(s, off);
    report_error(s, err);
    enqueue(s, line, len, 0);
    return;
  }
  s->st.lines_written++;
}

static size_t find_rule(const fca_sink_stats_t *st, const char *rule, fca_level_t level,
                        bool any_level) {
  size_t i = 0;
  for (; i < st->nrules; i++) {
    const fca_sink_rule_stat_t *r = &st->rules[i];
    if ((any_level || r->level == level) && strcmp(r->rule, rule) == 0) break;
  }
  return i;
}

static void count_event(fca_sink_t *s, const fca_event_t *ev) {
  s->st.events++;
  if ((unsigned)ev->type < 5) s->st.by_type[ev->type]++;
  if (ev->type != FCA_EV_VIOLATION) return;
  if ((unsigned)ev->level < 4) s->st.by_level[ev->level]++;
  const char *rule = ev->rule ? ev->rule : "?";
  size_t i = find_rule(&s->st, rule, ev->level, false);
  if (i == s->st.nrules && s->st.nrules >= FCA_SINK_RULES_MAX - 1) {
    /* Table full: the last slot collects every further (rule, level). */
    rule = "other";
    i = find_rule(&s->st, rule, ev->level, true);
  }
  if (i == s->st.nrules) {
    fca_sink_rule_stat_t *r = &s->st.rules[s->st.nrules++];
    snprintf(r->rule, sizeof r->rule, "%s", rule);
    r->level = ev->level;
    r->count = 0;
  }
  s->st.rules[i].count++;
}

fca_sink_t *fca_sink_new(const fca_sink_opts_t *opts) {
  static const fca_sink_opts_t none = {0};
  if (!opts) opts = &none;
  fca_sink_t *s = fca_xcalloc(1, sizeof *s);
  s->fd = -1;
  if (opts->log_path) {
    s->fd = open_log(opts->log_path);
    if (s->fd < 0) {
      fca_err("cannot open event log %s: %s", opts->log_path, strerror(errno));
      free(s);
      return NULL;
    }
    s->path = fca_xstrdup(opts->log_path);
  }
  pthread_mutex_init(&s->mu, NULL);
  s->console = opts->console;
  s->color = fca_console_use_color(opts->console, opts->color);
  s->redact_query = opts->redact_query;
  if (opts->run_id)
    snprintf(s->run_id, sizeof s->run_id, "%s", opts->run_id);
  else
    fca_run_id_new(s->run_id, sizeof s->run_id);
  atomic_init(&s->nsubs, 0);
  atomic_init(&s->has_log, s->path != NULL);
  return s;
}

static bool secret_name(const char *name) {
  return name &&
         (strcasecmp(name, "cookie") == 0 || strcasecmp(name, "set-cookie") == 0 ||
          strcasecmp(name, "authorization") == 0 || strcasecmp(name, "proxy-authorization") == 0);
}

/* text without URL passwords (and, when strip_query, URL queries and fragments), malloc'd, or
 * NULL when nothing had to go. */
static char *redact(const char *text, size_t n, bool strip_query, size_t *out_len) {
  return text ? fca_redact_text(text, n, strip_query, out_len) : NULL;
}

/* Every page URL of a summary is redacted. */
static void redact_urls(fca_summary_t *sum, bool strip_query) {
  for (size_t i = 0; i < sum->npages; i++) {
    if (!sum->pages[i].url) continue;
    char *u = redact(sum->pages[i].url, strlen(sum->pages[i].url), strip_query, NULL);
    if (u) free(sum->pages[i].url), sum->pages[i].url = u;
  }
}

void fca_sink_emit(fca_sink_t *s, const fca_event_t *ev) {
  if (!s || !ev) return;
  fca_event_t e = *ev;
  char *page_url = NULL, *ev_url = NULL;
  fca_summary_t *summary = NULL;
  if (e.ts_ms == 0) e.ts_ms = fca_now_ms();
  /* URL passwords never leave the sink; with --redact-query neither do queries, wherever a URL
   * appears (page and evidence URLs, URLs inside evidence values, the summary). */
  bool sq = s->redact_query;
  char *ev_value = NULL;
  if (e.has_page && e.page.url && (page_url = redact(e.page.url, strlen(e.page.url), sq, NULL)))
    e.page.url = page_url;
  if (e.has_evidence && e.evidence.url &&
      (ev_url = redact(e.evidence.url, strlen(e.evidence.url), sq, NULL)))
    e.evidence.url = ev_url;
  if (e.has_evidence && secret_name(e.evidence.name)) {
    e.evidence.value = "[redacted]";
    e.evidence.value_len = strlen("[redacted]");
  } else if (e.has_evidence && e.evidence.value &&
             (ev_value =
                  redact(e.evidence.value, e.evidence.value_len, sq, &e.evidence.value_len))) {
    e.evidence.value = ev_value;
  }
  if (e.summary) {
    summary = fca_summary_copy(e.summary);
    redact_urls(summary, sq);
    e.summary = summary;
  }
  if (e.type == FCA_EV_SUMMARY && summary && s->summary_fn) s->summary_fn(s->summary_ud, summary);
  size_t len = 0;
  bool has_log = atomic_load_explicit(&s->has_log, memory_order_relaxed);
  char *line = has_log ? fca_event_to_line(&e, s->run_id, &len) : NULL;
  char cline[FCA_CONSOLE_LINE_MAX];
  size_t clen = s->console ? fca_console_format(cline, sizeof cline, &e, s->color) : 0;

  pthread_mutex_lock(&s->mu);
  count_event(s, &e);
  if (s->path && !line) line = fca_event_to_line(&e, s->run_id, &len); /* a path just set */
  if (line) log_line(s, line, len);
  pthread_mutex_unlock(&s->mu);
  free(line);

  if (clen) { /* one stdio call: the FILE's own lock keeps the line whole */
    fputs(cline, s->console);
    fflush(s->console);
  }
  size_t n = atomic_load_explicit(&s->nsubs, memory_order_acquire);
  for (size_t i = 0; i < n; i++) s->subs[i].fn(s->subs[i].userdata, &e);
  free(page_url);
  free(ev_url);
  free(ev_value);
  fca_summary_free(summary);
}

void fca_sink_event_fn(void *sink, const fca_event_t *ev) { fca_sink_emit(sink, ev); }

void fca_sink_set_summary_fn(fca_sink_t *s, fca_sink_summary_fn fn, void *userdata) {
  if (!s) return;
  s->summary_fn = fn;
  s->summary_ud = userdata;
}

/* Switches to a newly opened fd. Lock held. */
static void use_fd(fca_sink_t *s, int fd) {
  if (s->fd >= 0 && s->fd != fd) close(s->fd);
  s->fd = fd;
  s->torn = false; /* a new file: open_log started it on a fresh line */
  if (s->qhead) s->qhead->off = 0;
}

int fca_sink_set_path(fca_sink_t *s, const char *path) {
  if (!s) return -1;
  int fd = -1;
  if (path) {
    fd = open_log(path);
    if (fd < 0) {
      int err = errno;
      pthread_mutex_lock(&s->mu);
      s->st.write_errors++;
      pthread_mutex_unlock(&s->mu);
      fca_err("cannot open event log %s: %s; still writing to the previous file", path,
              strerror(err));
      return -1;
    }
  }
  pthread_mutex_lock(&s->mu);
  char *old = s->path;
  s->path = path ? fca_xstrdup(path) : NULL;
  atomic_store_explicit(&s->has_log, s->path != NULL, memory_order_relaxed);
  free(old);
  use_fd(s, fd);
  int rc = 0;
  if (s->path) rc = drain(s);
  pthread_mutex_unlock(&s->mu);
  return rc;
}

int fca_sink_reopen(fca_sink_t *s) {
  if (!s) return -1;
  pthread_mutex_lock(&s->mu);
  char *path = s->path ? fca_xstrdup(s->path) : NULL;
  pthread_mutex_unlock(&s->mu);
  if (!path) return 0;
  int rc = fca_sink_set_path(s, path);
  free(path);
  return rc;
}

int fca_sink_flush(fca_sink_t *s) {
  if (!s) return -1;
  pthread_mutex_lock(&s->mu);
  int rc = drain(s);
  pthread_mutex_unlock(&s->mu);
  return rc;
}

int fca_sink_subscribe(fca_sink_t *s, fca_event_fn fn, void *userdata) {
  if (!s || !fn) return -1;
  pthread_mutex_lock(&s->mu);
  size_t n = atomic_load_explicit(&s->nsubs, memory_order_relaxed);
  int rc = -1;
  if (n < FCA_SINK_SUBSCRIBERS_MAX) {
    s->subs[n].fn = fn;
    s->subs[n].userdata = userdata;
    atomic_store_explicit(&s->nsubs, n + 1, memory_order_release);
    rc = 0;
  }
  pthread_mutex_unlock(&s->mu);
  return rc;
}

const char *fca_sink_run_id(const fca_sink_t *s) { return s ? s->run_id : NULL; }

void fca_sink_stats(fca_sink_t *s, fca_sink_stats_t *out) {
  pthread_mutex_lock(&s->mu);
  *out = s->st;
  pthread_mutex_unlock(&s->mu);
}

void fca_sink_test_set_fd(fca_sink_t *s, int fd) {
  pthread_mutex_lock(&s->mu);
  use_fd(s, fd);
  pthread_mutex_unlock(&s->mu);
}

void fca_sink_close(fca_sink_t *s) {
  if (!s) return;
  pthread_mutex_lock(&s->mu);
  if (drain(s) != 0) {
    fca_err("event log %s: %llu events could not be written; they follow on stderr",
            s->path ? s->path : "(fd)", (unsigned long long)s->st.queued_lines);
  }
  while (s->qhead) {
    qline_t *q = s->qhead;
    s->qhead = q->next;
    fprintf(stderr, "%.*s", (int)q->len, q->data);
    free(q);
  }
  if (s->fd >= 0) close(s->fd);
  pthread_mutex_unlock(&s->mu);
  pthread_mutex_destroy(&s->mu);
  free(s->path);
  free(s);
}
