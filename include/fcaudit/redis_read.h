/* redis_read: what the readers (`tail --redis`, `report --redis`) need from the event stream:
 * a blocking connection (AUTH, SELECT), entries in stream order (XRANGE from an id, XREVRANGE
 * for the last N, XREAD BLOCK to follow), and the de-duplication rule: the sink may send an
 * entry twice after a reconnect, always with the same run and seq, and never sends a run's seq
 * out of order, so an entry whose seq is not above the run's highest seen is a duplicate. */
#ifndef FCAUDIT_REDIS_READ_H
#define FCAUDIT_REDIS_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  const char *id;                     /* stream id "ms-n" */
  const char *run, *instance, *label; /* label may be NULL */
  uint64_t seq;
  const char *event; /* the NDJSON line (no '\n') */
  size_t event_len;
} fca_redis_entry_t;

/* Return non-zero to stop the walk. */
typedef int (*fca_redis_entry_fn)(void *ud, const fca_redis_entry_t *e);

typedef struct fca_redis_reader fca_redis_reader_t;

/* Connects. NULL with err set (never holding a credential). Connecting and every command wait
 * at most the URL's timeout (?timeout=MS, default FCA_REDIS_DEFAULT_TIMEOUT_MS). */
fca_redis_reader_t *fca_redis_reader_open(const char *url, char *err, size_t errlen);
/* After a -2: connects again (AUTH, SELECT). 0, -1 or -2 with err set. */
int fca_redis_reader_reconnect(fca_redis_reader_t *r, char *err, size_t errlen);
uint64_t fca_redis_reader_timeout_ms(const fca_redis_reader_t *r);
void fca_redis_reader_close(fca_redis_reader_t *r);
/* The URL without credentials, for messages. */
const char *fca_redis_reader_name(const fca_redis_reader_t *r);

/* Every entry after id `after` ("0" or "" = from the start), oldest first, fetched `batch` at a
 * time; `last_id` (FCA_REDIS_ID_SIZE) gets the id of the last entry seen. Returns 0, 1 when fn
 * stopped it, -1 with err (Redis refused), -2 with err when Redis did not answer within the
 * timeout ("... (Redis stalled)") or the connection broke: the connection is closed then, and
 * fca_redis_reader_reconnect opens a new one. The same for the calls below. */
#define FCA_REDIS_ID_SIZE 48
int fca_redis_reader_range(fca_redis_reader_t *r, const char *after, size_t batch,
                           fca_redis_entry_fn fn, void *ud, char *last_id, char *err,
                           size_t errlen);
/* The last n entries, oldest first. */
int fca_redis_reader_last(fca_redis_reader_t *r, size_t n, fca_redis_entry_fn fn, void *ud,
                          char *last_id, char *err, size_t errlen);
/* Waits up to block_ms for entries after `after`, passes them on. 0 (also on timeout), 1, -1. */
int fca_redis_reader_follow(fca_redis_reader_t *r, const char *after, int block_ms,
                            fca_redis_entry_fn fn, void *ud, char *last_id, char *err,
                            size_t errlen);

/* ---- de-duplication (pure) ---- */
typedef struct {
  struct fca_redis_seen_run *runs;
  size_t n, cap;
} fca_redis_dedup_t;

/* True the first time (run, seq) is seen in order; false for a repeat. */
bool fca_redis_dedup_first(fca_redis_dedup_t *d, const char *run, uint64_t seq);
void fca_redis_dedup_free(fca_redis_dedup_t *d);

#endif
