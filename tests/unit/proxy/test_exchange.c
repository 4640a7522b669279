/* Unit tests for the exchange: one request/response driven by a recording fake session against
 * a scripted origin: the response head, body in wire and decoded form, the upstream back to the
 * worker's pool after a keep-alive answer, 502/504 failures, and backpressure from the sink. */
#include "exchange.h"
#include "proxy_fixture.h"

#include <event2/buffer.h>

typedef struct {
  fx_t *f;
  fca_exch_t *x;
  struct evbuffer *sink;
  size_t sink_limit; /* sink_full once it holds this much (0: never) */
  int status;        /* final head */
  int heads;
  bool has_body;
  bool done, by_close, failed, tunnel;
  int fail_status;
  char fail_msg[600];
} rec_t;

static void r_head(void *s, fca_exch_t *x, const fca_http_head_t *h, const char *raw, size_t len) {
  rec_t *r = s;
  r->heads++;
  if (h->status >= 200) {
    r->status = h->status;
    r->has_body = fca_exch_response_has_body(x);
  }
  (void)raw;
  (void)len;
}
static struct evbuffer *r_sink(void *s, fca_exch_t *x) {
  (void)x;
  return ((rec_t *)s)->sink;
}
static bool r_sink_full(void *s, fca_exch_t *x) {
  (void)x;
  rec_t *r = s;
  return r->sink_limit && evbuffer_get_length(r->sink) >= r->sink_limit;
}
static void r_flush(void *s, fca_exch_t *x) {
  (void)s;
  (void)x;
}
static void r_done(void *s, fca_exch_t *x, bool by_close) {
  (void)x;
  rec_t *r = s;
  r->done = true;
  r->by_close = by_close;
}
static void r_fail(void *s, fca_exch_t *x, int status, const char *msg) {
  (void)x;
  rec_t *r = s;
  r->failed = true;
  r->fail_status = status;
  snprintf(r->fail_msg, sizeof r->fail_msg, "%s", msg ? msg : "");
}
static void r_tunnel(void *s, fca_exch_t *x) {
  (void)x;
  ((rec_t *)s)->tunnel = true;
}
static void r_drained(void *s, fca_exch_t *x) {
  (void)s;
  (void)x;
}
/* A sink that bounds what it holds (sink_room), recording the most response bytes held at once
 * between the upstream's input and the sink. */
static size_t held_max;
static void note_held(rec_t *r) {
  size_t held = evbuffer_get_length(r->sink) + fca_exch_response_buffered(r->x);
  if (held > held_max) held_max = held;
}
static size_t r_sink_room(void *s, fca_exch_t *x) {
  (void)x;
  rec_t *r = s;
  note_held(r);
  size_t have = evbuffer_get_length(r->sink);
  return have < r->sink_limit ? r->sink_limit - have : 0;
}
static void r_flush_note(void *s, fca_exch_t *x) {
  (void)x;
  note_held(s);
}
static const fca_exch_ops_t ops = {r_head, r_sink,   r_sink_full, r_flush,   r_done,
                                   r_fail, r_tunnel, r_tunnel,    r_drained, NULL};

static const fca_exch_ops_t bounded_ops = {r_head,    r_sink,     r_sink_full, r_flush_note,
                                           r_done,    r_fail,     r_tunnel,    r_tunnel,
                                           r_drained, r_sink_room};

static fx_t fx;
static rec_t rec;

static void setup(void) {
  fx_init(&fx);
  memset(&rec, 0, sizeof rec);
  rec.f = &fx;
  rec.sink = evbuffer_new();
}

static void teardown(void) {
  if (rec.x) fca_exch_free(rec.x);
  evbuffer_free(rec.sink);
  fx_free(&fx);
}

TestSuite(exchange, .init = setup, .fini = teardown, .timeout = 30);

/* A GET to origin.test through a new exchange. */
static void get(fca_exch_body_t mode, const char *path) {
  rec.x = fca_exch_new(&fx.w, &ops, &rec, "127.0.0.1:1", mode);
  fca_exch_prepare(rec.x,
                   &(fca_exch_target_t){
                       .host = "origin.test", .port = fx.port, .inner = true, .method = HTTP_GET});
  evbuffer_add_printf(fca_exch_request_sink(rec.x), "GET %s HTTP/1.1\r\nHost: origin.test\r\n\r\n",
                      path);
  fca_exch_request_end(rec.x);
  fca_exch_start(rec.x);
}

static char *sink_text(void) {
  size_t n = evbuffer_get_length(rec.sink);
  char *s = malloc(n + 1);
  evbuffer_remove(rec.sink, s, n);
  s[n] = '\0';
  return s;
}

Test(exchange, response_body_as_sent_then_upstream_pooled) {
  fx.answer = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
  get(FCA_EXCH_BODY_WIRE, "/a");
  cr_assert(fx_run_until(&fx, &rec.done, 5000), "no response (failed: %s)", rec.fail_msg);
  cr_assert_eq(rec.status, 200);
  cr_assert(rec.has_body);
  cr_assert_not(rec.by_close);
  char *b = sink_text();
  cr_assert_str_eq(b, "hello");
  free(b);
  cr_assert(strstr(fx.got, "GET /a HTTP/1.1\r\n") == fx.got, "%s", fx.got);
  cr_assert_eq(fca_exch_state(rec.x), FCA_EXCH_IDLE);
  fca_exch_free(rec.x);
  rec.x = NULL;
  cr_assert_eq(fca_upool_size(fx.w.upool), 1, "the idle keep-alive upstream is pooled");
  /* The next exchange takes it from the pool: the origin sees a second request on it. */
  memset(&rec.done, 0, sizeof rec.done);
  get(FCA_EXCH_BODY_WIRE, "/b");
  cr_assert(fx_run_until(&fx, &rec.done, 5000));
  cr_assert_eq(fca_upool_size(fx.w.upool), 0);
  cr_assert_eq(atomic_load(&fx.stats.upstream_reused), 1);
}

Test(exchange, chunked_body_wire_or_decoded) {
  fx.answer = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n"
              "0\r\n\r\n";
  get(FCA_EXCH_BODY_WIRE, "/c");
  cr_assert(fx_run_until(&fx, &rec.done, 5000));
  char *b = sink_text();
  cr_assert_str_eq(b, "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  free(b);
  fca_exch_free(rec.x);
  rec.done = false;
  get(FCA_EXCH_BODY_DECODED, "/c");
  cr_assert(fx_run_until(&fx, &rec.done, 5000));
  b = sink_text();
  cr_assert_str_eq(b, "hello world", "decoded mode drops the chunk framing");
  free(b);
}

Test(exchange, head_request_has_no_body) {
  fx.answer = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
  rec.x = fca_exch_new(&fx.w, &ops, &rec, "127.0.0.1:1", FCA_EXCH_BODY_DECODED);
  fca_exch_prepare(
      rec.x, &(fca_exch_target_t){.host = "origin.test", .port = fx.port, .method = HTTP_HEAD});
  evbuffer_add_printf(fca_exch_request_sink(rec.x), "HEAD / HTTP/1.1\r\nHost: o\r\n\r\n");
  fca_exch_request_end(rec.x);
  fca_exch_start(rec.x);
  cr_assert(fx_run_until(&fx, &rec.done, 5000));
  cr_assert_not(rec.has_body);
  cr_assert(fca_exch_is_head(rec.x));
}

Test(exchange, origin_closing_without_answer_is_502) {
  fx.answer = "";
  fx.close_after = true;
  get(FCA_EXCH_BODY_WIRE, "/x");
  cr_assert(fx_run_until(&fx, &rec.failed, 5000));
  cr_assert_eq(rec.fail_status, 502);
  cr_assert(strstr(rec.fail_msg, "closed the connection without a complete response"), "%s",
            rec.fail_msg);
  cr_assert_eq(fca_exch_state(rec.x), FCA_EXCH_IDLE);
}

Test(exchange, silent_origin_is_504) {
  fx.cfg.upstream_timeout_ms = 100;
  fx.answer = NULL;
  get(FCA_EXCH_BODY_WIRE, "/hang");
  cr_assert(fx_run_until(&fx, &rec.failed, 5000));
  cr_assert_eq(rec.fail_status, 504);
  cr_assert(strstr(rec.fail_msg, "--upstream-timeout"), "%s", rec.fail_msg);
}

Test(exchange, unknown_host_is_403_with_only_resolved) {
  fx.cfg.only_resolved = true;
  rec.x = fca_exch_new(&fx.w, &ops, &rec, "127.0.0.1:1", FCA_EXCH_BODY_WIRE);
  fca_exch_prepare(rec.x,
                   &(fca_exch_target_t){.host = "elsewhere.test", .port = 80, .method = HTTP_GET});
  fca_exch_request_end(rec.x);
  fca_exch_start(rec.x);
  cr_assert(rec.failed, "refused at once, no DNS");
  cr_assert_eq(rec.fail_status, 403);
}

/* A 200 answer with a 4 MiB body of 'x' (malloc'd). */
static char *big_answer(void) {
  char head[64];
  int n = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", 4 << 20);
  char *answer = malloc((size_t)n + (4 << 20) + 1);
  memcpy(answer, head, (size_t)n);
  memset(answer + n, 'x', 4 << 20);
  answer[n + (4 << 20)] = '\0';
  return answer;
}

Test(exchange, full_sink_stops_reading_the_upstream) {
  /* 4 MiB answer; the sink holds at most 64 KiB before the exchange stops reading. */
  char *answer = big_answer();
  fx.answer = answer;
  rec.sink_limit = 64 * 1024;
  get(FCA_EXCH_BODY_WIRE, "/big");
  bool never = false;
  fx_run_until(&fx, &never, 500);
  size_t held = evbuffer_get_length(rec.sink);
  cr_assert_gt(held, 0);
  cr_assert_lt(held, 64 * 1024 + 512 * 1024, "the sink took %zu bytes past its limit", held);
  cr_assert_not(rec.done);
  /* Room again: everything arrives. */
  size_t total = 0;
  for (int i = 0; i < 2000 && !rec.done; i++) {
    total += evbuffer_get_length(rec.sink);
    evbuffer_drain(rec.sink, evbuffer_get_length(rec.sink));
    fca_exch_resume(rec.x);
    struct timeval tv = {0, 2000};
    event_base_loopexit(fx.w.base, &tv);
    event_base_loop(fx.w.base, 0);
  }
  total += evbuffer_get_length(rec.sink);
  cr_assert(rec.done);
  cr_assert_eq(total, (size_t)4 << 20);
  free(answer);
}

Test(exchange, sink_room_bounds_what_the_upstream_reads) {
  /* The same 4 MiB answer to a session that holds at most 64 KiB: the upstream is read only
   * into the room left, so its input and the sink together never hold more. */
  char *answer = big_answer();
  fx.answer = answer;
  rec.sink_limit = 64 * 1024;
  held_max = 0;
  rec.x = fca_exch_new(&fx.w, &bounded_ops, &rec, "127.0.0.1:1", FCA_EXCH_BODY_WIRE);
  fca_exch_prepare(rec.x,
                   &(fca_exch_target_t){
                       .host = "origin.test", .port = fx.port, .inner = true, .method = HTTP_GET});
  evbuffer_add_printf(fca_exch_request_sink(rec.x),
                      "GET /big HTTP/1.1\r\nHost: origin.test\r\n\r\n");
  fca_exch_request_end(rec.x);
  fca_exch_start(rec.x);
  bool never = false;
  fx_run_until(&fx, &never, 500);
  cr_assert_gt(evbuffer_get_length(rec.sink), 0);
  cr_assert_leq(held_max, 64 * 1024, "%zu bytes held past the 64 KiB room", held_max);
  cr_assert_not(rec.done);
  size_t total = 0;
  for (int i = 0; i < 4000 && !rec.done; i++) {
    size_t n = evbuffer_get_length(rec.sink) / 2 + 1; /* the client takes part of it */
    if (n > evbuffer_get_length(rec.sink)) n = evbuffer_get_length(rec.sink);
    total += n;
    evbuffer_drain(rec.sink, n);
    fca_exch_resume(rec.x);
    struct timeval tv = {0, 1000};
    event_base_loopexit(fx.w.base, &tv);
    event_base_loop(fx.w.base, 0);
  }
  total += evbuffer_get_length(rec.sink);
  cr_assert(rec.done);
  cr_assert_eq(total, (size_t)4 << 20);
  cr_assert_leq(held_max, 64 * 1024, "%zu bytes held past the 64 KiB room", held_max);
  free(answer);
}
