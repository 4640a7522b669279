/* redis_sink: ships the run's NDJSON event log to a Redis stream (`--sink redis://...`). The
 * log is the spool: an event reaches Redis only after it is in the local file, and the sink
 * reads the file from the offset where this run began, so Redis being away loses nothing and
 * never slows the proxy. Each stream entry holds the fields run, instance, seq (per run, from
 * 1, the same when an entry is sent twice), label (when given) and event (the log line). It
 * runs on its own thread and event loop (hiredis' libevent adapter); the proxy's loops only set
 * a flag. */
#ifndef FCAUDIT_REDIS_SINK_H
#define FCAUDIT_REDIS_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fca_sink;
typedef struct fca_redis_sink fca_redis_sink_t;

/* First retry after a failure; the wait doubles up to the maximum. */
#ifndef FCA_REDIS_RETRY_MIN_MS
#define FCA_REDIS_RETRY_MIN_MS 100
#endif
#ifndef FCA_REDIS_RETRY_MAX_MS
#define FCA_REDIS_RETRY_MAX_MS 5000
#endif
/* XADDs on their way at once (pipelined). */
#ifndef FCA_REDIS_WINDOW
#define FCA_REDIS_WINDOW 256
#endif

typedef struct {
  const char *url;           /* redis://[USER:PASS@]HOST:PORT[/DB][?stream=NAME&maxlen=N] */
  const char *log_path;      /* the NDJSON log the sink writes (the spool) */
  const char *instance;      /* this process's name in the fleet */
  const char *label;         /* --label, or NULL */
  size_t cap;                /* lines kept waiting while Redis is away; 0 = FCA_SPOOL_CAP */
  uint64_t close_timeout_ms; /* at close, how long to wait for the last events to ship */
} fca_redis_sink_opts_t;

typedef struct {
  uint64_t shipped;  /* entries Redis acknowledged */
  uint64_t waiting;  /* lines in the log not yet acknowledged */
  uint64_t dropped;  /* lines given up past the cap (each episode gets a note) */
  uint64_t failures; /* connection attempts or connections that failed */
  bool connected;
} fca_redis_sink_stats_t;

/* Starts shipping everything sink writes to its log from now on. The log must exist (the sink
 * opened it). Returns NULL with err set on a bad URL or when the log cannot be read; Redis
 * being away is not an error (it is retried). err never holds a credential. */
fca_redis_sink_t *fca_redis_sink_new(struct fca_sink *sink, const fca_redis_sink_opts_t *opts,
                                     char *err, size_t errlen);

/* Ships what is left (up to close_timeout_ms), stops the thread and frees. Events still not
 * shipped are counted in a note event emitted into the sink and in an error on stderr. Call
 * before closing the sink, after the last event was emitted. */
void fca_redis_sink_close(fca_redis_sink_t *r);

void fca_redis_sink_stats(fca_redis_sink_t *r, fca_redis_sink_stats_t *out);

/* The default --instance: "HOST:PID". */
char *fca_redis_sink_default_instance(void);

#endif
