/* sink: the one event sink shared by all worker threads. Each event becomes one line of the
 * NDJSON log (appended with one write(2), so lines never interleave and are on disk at once),
 * an optional console line, and a call to every subscriber (dashboard stream, report builder).
 * Lines that cannot be written are kept in a bounded retry queue and retried on the next emit,
 * reopen or flush: a write error is reported, never silently dropped. Pure: no libevent. */
#ifndef FCAUDIT_SINK_H
#define FCAUDIT_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fcaudit/console.h"
#include "fcaudit/event.h"

/* Bytes of unwritten lines kept for retry; past it a line goes to stderr instead. */
#ifndef FCA_SINK_RETRY_MAX
#define FCA_SINK_RETRY_MAX (4u * 1024 * 1024)
#endif
#ifndef FCA_SINK_SUBSCRIBERS_MAX
#define FCA_SINK_SUBSCRIBERS_MAX 8
#endif
/* Distinct (rule, level) counters kept for metrics; more are counted under rule "other". */
#ifndef FCA_SINK_RULES_MAX
#define FCA_SINK_RULES_MAX 64
#endif

typedef struct fca_sink fca_sink_t;

typedef struct {
  const char *log_path;   /* NDJSON log, opened O_APPEND|O_CREAT 0644; NULL = no file */
  FILE *console;          /* console lines; NULL = quiet */
  fca_color_mode_t color; /* for the console */
  bool redact_query;      /* drop ?query and #fragment from page.url and evidence.url */
  const char *run_id;     /* NULL = a new one (fca_run_id_new) */
} fca_sink_opts_t;

typedef struct {
  char rule[24];
  fca_level_t level;
  uint64_t count;
} fca_sink_rule_stat_t;

typedef struct {
  uint64_t events;      /* all events emitted */
  uint64_t by_type[5];  /* index: fca_event_type_t */
  uint64_t by_level[4]; /* violations, index: fca_level_t */
  size_t nrules;        /* violations by (rule, level), first seen first */
  fca_sink_rule_stat_t rules[FCA_SINK_RULES_MAX];
  uint64_t lines_written;  /* log lines fully written */
  uint64_t write_errors;   /* failed write/open attempts on the log */
  uint64_t error_episodes; /* stretches of failure, each reported once on stderr */
  uint64_t queued_lines;   /* lines waiting in the retry queue now */
  uint64_t queued_bytes;
  uint64_t overflowed; /* lines the full queue could not keep: sent to stderr */
} fca_sink_stats_t;

/* NULL when the log cannot be opened (reported on stderr). opts NULL = no file, quiet. */
fca_sink_t *fca_sink_new(const fca_sink_opts_t *opts);

/* Thread-safe. Writes the event (ts_ms == 0 means now) to the log and console and passes it to
 * the subscribers, after redaction (query strings when asked; Cookie, Set-Cookie,
 * Authorization, Proxy-Authorization evidence values always become "[redacted]"). */
void fca_sink_emit(fca_sink_t *sink, const fca_event_t *ev);

/* fca_event_fn-compatible wrapper: userdata is the sink. */
void fca_sink_event_fn(void *sink, const fca_event_t *ev);

/* Reopens the log at its path (after rotation by rename; call on SIGHUP, from any thread),
 * then retries queued lines. On failure the old file stays in use. Returns 0 or -1. */
int fca_sink_reopen(fca_sink_t *sink);

/* Like reopen, but at a new path (NULL = stop writing a file). Returns 0 or -1. */
int fca_sink_set_path(fca_sink_t *sink, const char *path);

/* Retries queued lines. Returns 0 when none is left, -1 otherwise. */
int fca_sink_flush(fca_sink_t *sink);

/* Registers fn to receive every event (sanitised as in the log). fn may be called from several
 * threads at once and must not emit into this sink. Returns 0, or -1 when the table is full. */
int fca_sink_subscribe(fca_sink_t *sink, fca_event_fn fn, void *userdata);

/* Registers fn to complete the summary event before it is logged and passed on: fn gets the
 * sink's copy of the summary (fcaudit/checklist.h) and may complete it (the run model sets its
 * verdict). Set it before the summary can be emitted; one hook per sink (NULL removes it). */
typedef void (*fca_sink_summary_fn)(void *userdata, struct fca_summary *summary);
void fca_sink_set_summary_fn(fca_sink_t *sink, fca_sink_summary_fn fn, void *userdata);

const char *fca_sink_run_id(const fca_sink_t *sink);
void fca_sink_stats(fca_sink_t *sink, fca_sink_stats_t *out);

/* Flushes (lines that still cannot be written go to stderr, so none is lost) and frees. Call it
 * once every emitting thread has stopped. */
void fca_sink_close(fca_sink_t *sink);

/* Test hook: replaces the log fd (the sink owns it from then on). */
void fca_sink_test_set_fd(fca_sink_t *sink, int fd);

#endif
