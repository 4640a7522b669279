/* spool: offsets and sequence numbers for shipping a log. Invariants: ends[] is strictly
 * increasing from head, every entry is > acked_off; entries [0, sent) are on their way and
 * [sent, n) wait; the sequence number of entry i is acked_seq + i; dropping a line advances
 * acked_off and acked_seq exactly as an acknowledgement would, so numbers never shift. */
#include "spool.h"

#include <stdlib.h>

#include "fcaudit/util.h"

void fca_spool_init(fca_spool_t *sp, uint64_t start, uint64_t first_seq, size_t cap) {
  sp->acked_off = start;
  sp->acked_seq = first_seq;
  sp->cap = cap ? cap : 1;
  sp->ends = fca_xcalloc(sp->cap, sizeof *sp->ends);
  sp->head = sp->n = sp->sent = 0;
  sp->dropped = sp->dropped_pending = 0;
}

void fca_spool_free(fca_spool_t *sp) {
  free(sp->ends);
  sp->ends = NULL;
  sp->n = sp->sent = 0;
}

static uint64_t at(const fca_spool_t *sp, size_t i) { return sp->ends[(sp->head + i) % sp->cap]; }

uint64_t fca_spool_read_off(const fca_spool_t *sp) {
  return sp->n ? at(sp, sp->n - 1) : sp->acked_off;
}

/* Removes the oldest entry, as acknowledged or given up. */
static void pop(fca_spool_t *sp) {
  sp->acked_off = sp->ends[sp->head];
  sp->acked_seq++;
  sp->head = (sp->head + 1) % sp->cap;
  sp->n--;
}

int fca_spool_push(fca_spool_t *sp, uint64_t end, bool may_drop) {
  if (end <= fca_spool_read_off(sp)) return -1;
  if (sp->n == sp->cap) {
    if (!may_drop || sp->sent > 0) return -1;
    pop(sp);
    sp->dropped++;
    sp->dropped_pending++;
  }
  sp->ends[(sp->head + sp->n) % sp->cap] = end;
  sp->n++;
  return 0;
}

bool fca_spool_next(const fca_spool_t *sp, uint64_t *start, uint64_t *end, uint64_t *seq) {
  if (sp->sent >= sp->n) return false;
  *start = sp->sent ? at(sp, sp->sent - 1) : sp->acked_off;
  *end = at(sp, sp->sent);
  *seq = sp->acked_seq + sp->sent;
  return true;
}

void fca_spool_mark_sent(fca_spool_t *sp) {
  if (sp->sent < sp->n) sp->sent++;
}

int fca_spool_ack(fca_spool_t *sp) {
  if (sp->sent == 0) return -1;
  pop(sp);
  sp->sent--;
  return 0;
}

void fca_spool_rewind(fca_spool_t *sp) { sp->sent = 0; }

size_t fca_spool_waiting(const fca_spool_t *sp) { return sp->n; }
size_t fca_spool_inflight(const fca_spool_t *sp) { return sp->sent; }

uint64_t fca_spool_take_dropped(fca_spool_t *sp) {
  uint64_t d = sp->dropped_pending;
  sp->dropped_pending = 0;
  return d;
}
