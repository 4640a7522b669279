/* spool: the bookkeeping of shipping an append-only NDJSON log somewhere else (the Redis sink):
 * which lines are shipped for sure (the acknowledged offset), which are on their way, which are
 * waiting, and what each line's sequence number is. The log file is the spool: this module only
 * holds the end offsets of lines read but not yet acknowledged, at most `cap` of them; while
 * the destination is away the oldest are given up (counted, never silently). Sequence numbers
 * are per run and follow the lines' order in the log, so a line sent twice keeps its number.
 * Pure: no I/O. */
#ifndef FCAUDIT_SPOOL_H
#define FCAUDIT_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Lines kept waiting while the destination is away; past it the oldest are not shipped. */
#ifndef FCA_SPOOL_CAP
#define FCA_SPOOL_CAP 100000u
#endif

typedef struct {
  uint64_t acked_off; /* every line before this offset is shipped (or given up) */
  uint64_t acked_seq; /* sequence number of the line starting at acked_off */
  uint64_t *ends;     /* ring: end offsets (after '\n') of lines read, not yet acknowledged */
  size_t cap, head, n;
  size_t sent;              /* the first `sent` of them are on their way */
  uint64_t dropped;         /* lines given up, in total */
  uint64_t dropped_pending; /* lines given up not yet reported in a note */
} fca_spool_t;

/* start: the log's size when the run began (earlier runs are not ours); first_seq usually 1. */
void fca_spool_init(fca_spool_t *sp, uint64_t start, uint64_t first_seq, size_t cap);
void fca_spool_free(fca_spool_t *sp);

/* Offset up to which lines have been read (the next read starts there). */
uint64_t fca_spool_read_off(const fca_spool_t *sp);

/* A whole line was read, ending at `end` (> read offset). When the ring is full and
 * `may_drop`, the oldest unsent line is given up to make room; returns 0. Returns -1 (line not
 * taken; read it again later) when full and nothing may be dropped. */
int fca_spool_push(fca_spool_t *sp, uint64_t end, bool may_drop);

/* The next line to send: [*start, *end) and its sequence number. false when all are sent. */
bool fca_spool_next(const fca_spool_t *sp, uint64_t *start, uint64_t *end, uint64_t *seq);
void fca_spool_mark_sent(fca_spool_t *sp);

/* The oldest line on its way is acknowledged. Returns -1 when none is on its way. */
int fca_spool_ack(fca_spool_t *sp);

/* The connection was lost: lines on their way are sent again (same sequence numbers). */
void fca_spool_rewind(fca_spool_t *sp);

size_t fca_spool_waiting(const fca_spool_t *sp); /* read, not acknowledged */
size_t fca_spool_inflight(const fca_spool_t *sp);

/* Lines given up since the last call (for the note that says so); resets the count. */
uint64_t fca_spool_take_dropped(fca_spool_t *sp);

#endif
