/* admin sse: the ring of recent events behind /events and the SSE framing. Workers push under
 * a mutex (a copy of the event's JSON text, no parsing); the admin thread copies frames out
 * under the same mutex. Both bounds (events, bytes) hold at every push, so memory stays fixed
 * however fast events come and however slow a dashboard reads. */
#include "admin_sse.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcaudit/util.h"

typedef struct {
  uint64_t seq;
  char type[16];
  char *data;
  size_t n;
} entry_t;

struct fca_admin_ring {
  pthread_mutex_t lock;
  char run[64];
  entry_t *slots; /* circular: head = oldest */
  size_t cap, head, count;
  size_t bytes, max_bytes;
  uint64_t next_seq; /* seq of the next push */
  uint64_t evicted;
};

fca_admin_ring_t *fca_admin_ring_new(const char *run, size_t max_events, size_t max_bytes) {
  fca_admin_ring_t *r = fca_xcalloc(1, sizeof *r);
  pthread_mutex_init(&r->lock, NULL);
  snprintf(r->run, sizeof r->run, "%s", run ? run : "run");
  r->cap = max_events ? max_events : FCA_ADMIN_RING_EVENTS;
  r->max_bytes = max_bytes ? max_bytes : FCA_ADMIN_RING_BYTES;
  r->slots = fca_xcalloc(r->cap, sizeof *r->slots);
  r->next_seq = 1;
  return r;
}

void fca_admin_ring_free(fca_admin_ring_t *r) {
  if (!r) return;
  for (size_t i = 0; i < r->count; i++) free(r->slots[(r->head + i) % r->cap].data);
  free(r->slots);
  pthread_mutex_destroy(&r->lock);
  free(r);
}

static void evict_oldest(fca_admin_ring_t *r) {
  entry_t *e = &r->slots[r->head];
  r->bytes -= e->n;
  free(e->data);
  e->data = NULL;
  r->head = (r->head + 1) % r->cap;
  r->count--;
  r->evicted++;
}

uint64_t fca_admin_ring_push(fca_admin_ring_t *r, const char *type, const char *data, size_t n) {
  char *copy;
  if (n > r->max_bytes) {
    copy = fca_xasprintf("{\"type\":\"%s\",\"oversize\":%zu}", type, n);
    n = strlen(copy);
    if (n > r->max_bytes) n = 0;
  } else {
    copy = fca_xmalloc(n + 1);
    memcpy(copy, data, n);
    copy[n] = '\0';
  }
  pthread_mutex_lock(&r->lock);
  while (r->count && (r->count == r->cap || r->bytes + n > r->max_bytes)) evict_oldest(r);
  entry_t *e = &r->slots[(r->head + r->count) % r->cap];
  e->seq = r->next_seq++;
  snprintf(e->type, sizeof e->type, "%s", type ? type : "message");
  e->data = copy;
  e->n = n;
  r->count++;
  r->bytes += n;
  uint64_t seq = e->seq;
  pthread_mutex_unlock(&r->lock);
  return seq;
}

uint64_t fca_admin_ring_replay(fca_admin_ring_t *r, uint64_t after, size_t max_bytes,
                               fca_abuf_t *out, uint64_t *missed) {
  pthread_mutex_lock(&r->lock);
  uint64_t oldest = r->count ? r->slots[r->head].seq : r->next_seq;
  if (missed) *missed = after + 1 < oldest ? oldest - after - 1 : 0;
  uint64_t last = after;
  size_t start_len = out->len;
  for (size_t i = 0; i < r->count; i++) {
    const entry_t *e = &r->slots[(r->head + i) % r->cap];
    if (e->seq <= after) continue;
    if (last != after && out->len - start_len >= max_bytes) break;
    char id[96];
    snprintf(id, sizeof id, "%s.%" PRIu64, r->run, e->seq);
    fca_admin_sse_frame(out, id, e->type, e->data, e->n);
    last = e->seq;
  }
  pthread_mutex_unlock(&r->lock);
  return last;
}

uint64_t fca_admin_ring_last(fca_admin_ring_t *r) {
  pthread_mutex_lock(&r->lock);
  uint64_t v = r->next_seq - 1;
  pthread_mutex_unlock(&r->lock);
  return v;
}

uint64_t fca_admin_ring_evicted(fca_admin_ring_t *r) {
  pthread_mutex_lock(&r->lock);
  uint64_t v = r->evicted;
  pthread_mutex_unlock(&r->lock);
  return v;
}

size_t fca_admin_ring_size(fca_admin_ring_t *r) {
  pthread_mutex_lock(&r->lock);
  size_t v = r->count;
  pthread_mutex_unlock(&r->lock);
  return v;
}

const char *fca_admin_ring_run(const fca_admin_ring_t *r) { return r->run; }

static size_t line_len(const char *s) { return strcspn(s, "\r\n"); }

void fca_admin_sse_frame(fca_abuf_t *out, const char *id, const char *type, const char *data,
                         size_t n) {
  if (id) {
    fca_abuf_puts(out, "id: ");
    fca_abuf_add(out, id, line_len(id));
    fca_abuf_puts(out, "\n");
  }
  if (type) {
    fca_abuf_puts(out, "event: ");
    fca_abuf_add(out, type, line_len(type));
    fca_abuf_puts(out, "\n");
  }
  size_t i = 0;
  do {
    size_t j = i;
    while (j < n && data[j] != '\r' && data[j] != '\n') j++;
    fca_abuf_puts(out, "data: ");
    fca_abuf_add(out, data + i, j - i);
    fca_abuf_puts(out, "\n");
    if (j < n && data[j] == '\r' && j + 1 < n && data[j + 1] == '\n') j++;
    i = j + 1;
  } while (i < n);
  fca_abuf_puts(out, "\n");
}

uint64_t fca_admin_sse_last_id(const char *header, const char *run) {
  if (!header || !run) return 0;
  size_t rl = strlen(run);
  if (strncmp(header, run, rl) != 0 || header[rl] != '.') return 0;
  const char *p = header + rl + 1;
  if (*p < '0' || *p > '9') return 0;
  uint64_t v = 0;
  for (; *p >= '0' && *p <= '9'; p++) {
    if (v > (UINT64_MAX - 9) / 10) return 0;
    v = v * 10 + (uint64_t)(*p - '0');
  }
  return *p ? 0 : v;
}
