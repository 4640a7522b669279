/* admin stream: /events, the dashboard's live feed as Server-Sent Events. Each client has a
 * cursor into the event ring and at most one batch in flight: the next batch is cut when the
 * previous one has been written, so a slow or stalled dashboard holds one batch of memory,
 * never a backlog (what it misses while too slow is replayed from the ring or reported as a
 * gap). Runs on the admin thread only. */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_int.h"
#include "fcaudit/util.h"

struct fca_admin_client {
  fca_admin_t *a;
  struct evhttp_request *req;
  uint64_t cursor;      /* seq of the last event sent */
  bool in_flight;       /* a batch is being written */
  int64_t in_flight_ms; /* since when (monotonic) */
  uint64_t opened;      /* order of opening */
  fca_admin_client_t *prev, *next;
};

static void unlink_client(fca_admin_client_t *c) {
  fca_admin_t *a = c->a;
  if (c->prev)
    c->prev->next = c->next;
  else
    a->clients = c->next;
  if (c->next) c->next->prev = c->prev;
  a->nclients--;
}

/* The connection is going down. When the client went away (EOF, error), evhttp has already
 * detached our unfinished request from it and leaves it to us: ending the reply frees it. When
 * the admin shuts down, the request is still attached and goes with the connection. */
static void on_close(struct evhttp_connection *evcon, void *ud) {
  fca_admin_client_t *c = ud;
  if (evhttp_request_get_connection(c->req) == NULL) evhttp_send_reply_end(c->req);
  unlink_client(c);
  free(c);
}

static void pump(fca_admin_client_t *c);

static void on_written(struct evhttp_connection *evcon, void *ud) {
  fca_admin_client_t *c = ud;
  c->in_flight = false;
  pump(c);
}

static void send_chunk(fca_admin_client_t *c, const fca_abuf_t *b) {
  struct evbuffer *eb = evbuffer_new();
  evbuffer_add(eb, b->p, b->len);
  if (!c->in_flight) c->in_flight_ms = fca_mono_ms();
  c->in_flight = true;
  evhttp_send_reply_chunk_with_cb(c->req, eb, on_written, c);
  evbuffer_free(eb);
}

static void pump(fca_admin_client_t *c) {
  if (c->in_flight) return;
  fca_abuf_t b = {0};
  uint64_t missed = 0;
  uint64_t last = fca_admin_ring_replay(c->a->ring, c->cursor, FCA_ADMIN_STREAM_BATCH, &b, &missed);
  if (missed) {
    /* Tell the page, so it can say its feed has a hole (the report still has everything). */
    fca_abuf_t g = {0};
    char data[64];
    int n = snprintf(data, sizeof data, "{\"missed\":%" PRIu64 "}", missed);
    fca_admin_sse_frame(&g, NULL, "gap", data, (size_t)n);
    fca_abuf_add(&g, b.p ? b.p : "", b.len);
    fca_abuf_free(&b);
    b = g;
  }
  c->cursor = last;
  if (b.len) send_chunk(c, &b);
  fca_abuf_free(&b);
}

/* At the cap, a new dashboard takes the place of the stream that has waited longest for a
 * write to complete (a client that stopped reading), or else of the oldest stream: open tabs
 * nobody looks at must not lock a new dashboard out. The evicted page's EventSource reconnects
 * and replays what it missed. Returns false when nothing could be evicted. */
static bool evict_one(fca_admin_t *a) {
  fca_admin_client_t *victim = NULL;
  for (fca_admin_client_t *c = a->clients; c; c = c->next) {
    if (!victim) {
      victim = c;
      continue;
    }
    bool cs = c->in_flight, vs = victim->in_flight;
    if (cs != vs) {
      if (cs) victim = c; /* stalled first */
    } else if (cs ? c->in_flight_ms < victim->in_flight_ms : c->opened < victim->opened) {
      victim = c;
    }
  }
  if (!victim) return false;
  struct evhttp_connection *evcon = evhttp_request_get_connection(victim->req);
  if (!evcon) return false;
  fca_debug("admin: too many live dashboards; closing the %s one",
            victim->in_flight ? "longest-stalled" : "oldest");
  evhttp_connection_free(evcon); /* its close callback unlinks and frees the client */
  return true;
}

void fca_admin_stream_open(fca_admin_t *a, struct evhttp_request *req) {
  struct evkeyvalq *out = evhttp_request_get_output_headers(req);
  if (a->nclients >= FCA_ADMIN_STREAMS_MAX) evict_one(a);
  if (a->nclients >= FCA_ADMIN_STREAMS_MAX) {
    evhttp_add_header(out, "Retry-After", "10");
    fca_admin_reply_text(req, 503, "fcaudit admin: too many live dashboards open\n");
    return;
  }
  evhttp_add_header(out, "Content-Type", "text/event-stream; charset=utf-8");
  evhttp_add_header(out, "X-Accel-Buffering", "no");
  if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
    evhttp_send_reply(req, 200, "OK", NULL);
    return;
  }
  const char *last_id = evhttp_find_header(evhttp_request_get_input_headers(req), "Last-Event-ID");
  fca_admin_client_t *c = fca_xcalloc(1, sizeof *c);
  c->a = a;
  c->req = req;
  c->cursor = fca_admin_sse_last_id(last_id, a->run);
  static uint64_t opens; /* admin thread only */
  c->opened = ++opens;
  c->next = a->clients;
  if (a->clients) a->clients->prev = c;
  a->clients = c;
  a->nclients++;
  struct evhttp_connection *evcon = evhttp_request_get_connection(req);
  evhttp_connection_set_closecb(evcon, on_close, c);
  /* A stream is quiet from the client's side for its whole life: no read timeout. Writes still
   * time out, so a client that stopped reading is dropped (it reconnects and replays). */
  struct timeval wt = {FCA_ADMIN_WRITE_TIMEOUT_S, 0};
  bufferevent_set_timeouts(evhttp_connection_get_bufferevent(evcon), NULL, &wt);
  evhttp_send_reply_start(req, 200, "OK");
  /* retry: how soon EventSource reconnects; hello: the run, so a page left open across a
   * restart of fcaudit knows to clear its feed. Neither carries an id (Last-Event-ID stays). */
  fca_abuf_t b = {0};
  fca_abuf_puts(&b, "retry: 2000\n\n");
  json_t *hello =
      json_pack("{s:s, s:I}", "run", a->run, "last", (json_int_t)fca_admin_ring_last(a->ring));
  char *hs = json_dumps(hello, JSON_COMPACT);
  fca_admin_sse_frame(&b, NULL, "hello", hs, strlen(hs));
  free(hs);
  json_decref(hello);
  send_chunk(c, &b);
  fca_abuf_free(&b);
}

void fca_admin_stream_pump_all(fca_admin_t *a) {
  for (fca_admin_client_t *c = a->clients, *next; c; c = next) {
    next = c->next;
    pump(c);
  }
}

void fca_admin_stream_heartbeat(fca_admin_t *a) {
  static const fca_abuf_t ping = {.p = ": ping\n\n", .len = 8, .cap = 0};
  for (fca_admin_client_t *c = a->clients; c; c = c->next)
    if (!c->in_flight) send_chunk(c, &ping);
}
