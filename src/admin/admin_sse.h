/* admin_sse: the dashboard's live stream. A bounded ring of recent events (written by worker
 * threads through the sink subscriber, read by the admin thread) and the Server-Sent Events
 * framing. Event ids are "<run>.<seq>", seq counting from 1 per process, so a browser that
 * reconnects with Last-Event-ID gets exactly what it missed from this run (as far as the ring
 * still holds it), and one that comes back after a restart gets the new run from its start.
 * Pure (pthread only): no libevent. */
#ifndef FCAUDIT_ADMIN_SSE_H
#define FCAUDIT_ADMIN_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "admin_util.h"

/* Bounds of the ring: events kept and their total bytes (the oldest go first). */
#ifndef FCA_ADMIN_RING_EVENTS
#define FCA_ADMIN_RING_EVENTS 2000
#endif
#ifndef FCA_ADMIN_RING_BYTES
#define FCA_ADMIN_RING_BYTES (8u * 1024 * 1024)
#endif

typedef struct fca_admin_ring fca_admin_ring_t;

/* max_events / max_bytes 0 = the defaults above. run: the run id used in event ids. */
fca_admin_ring_t *fca_admin_ring_new(const char *run, size_t max_events, size_t max_bytes);
void fca_admin_ring_free(fca_admin_ring_t *r);

/* Thread-safe. Stores one event (type: "violation", ...; data: one JSON text, its newlines
 * are framed as several data lines) and returns its seq. An event bigger than max_bytes on its
 * own is stored as a short stand-in saying so. */
uint64_t fca_admin_ring_push(fca_admin_ring_t *r, const char *type, const char *data, size_t n);

/* Thread-safe. Appends to out the SSE frames of the events with seq > after, oldest first,
 * stopping once out has grown by max_bytes (at least one event is always taken). Returns the seq
 * of the last event appended (after when none). When events after `after` have already left
 * the ring, *missed (may be NULL) gets how many, else 0. */
uint64_t fca_admin_ring_replay(fca_admin_ring_t *r, uint64_t after, size_t max_bytes,
                               fca_abuf_t *out, uint64_t *missed);

/* Seq of the newest event (0 when none), events evicted so far, and events held now. */
uint64_t fca_admin_ring_last(fca_admin_ring_t *r);
uint64_t fca_admin_ring_evicted(fca_admin_ring_t *r);
size_t fca_admin_ring_size(fca_admin_ring_t *r);
const char *fca_admin_ring_run(const fca_admin_ring_t *r);

/* One SSE frame: "id: ID\n" (when id), "event: TYPE\n" (when type), one "data: " line per line
 * of data (CR, LF and CRLF all end a line), then an empty line. id and type must hold no CR/LF
 * (they are cut at one). */
void fca_admin_sse_frame(fca_abuf_t *out, const char *id, const char *type, const char *data,
                         size_t n);

/* Reads a Last-Event-ID header: "<run>.<seq>" of this run gives seq; anything else (another
 * run, garbage, NULL) gives 0, i.e. replay from the start of what the ring holds. */
uint64_t fca_admin_sse_last_id(const char *header, const char *run);

#endif
