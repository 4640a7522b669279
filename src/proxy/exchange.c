/* exchange: one request/response, independent of the client's protocol: lifetime, the
 * upstream timers (connect, response, tunnel idle), the response (head, body slices, interim
 * answers, 101 into a tunnel) handed to the session's ops, and the audit tap.
 * Invariant: once `closing` is set no op is called any more; every call into the session is
 * followed by a check of `closing`, since the session may free the exchange from inside it. */
#include "exchange_int.h"

#include "fcaudit/config.h"
#include "fcaudit/har_writer.h"
#include "fcaudit/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void on_timer(evutil_socket_t fd, short what, void *arg);
static void on_resp_body(void *ud, const char *data, size_t len);
static int pump_response_body(fca_exch_t *x, struct evbuffer *in, const char **why);

/* ---- lifetime ---- */

static void on_free(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  fca_exch_t *x = arg;
  if (x->refs > 0) return; /* the DNS callback frees it */
  fca_ep_free(x->up);
  fca_defer_destroy(&x->graveyard);
  if (x->addrs) evutil_freeaddrinfo(x->addrs);
  evbuffer_free(x->pending);
  evbuffer_free(x->retry);
  free(x->url);
  event_free(x->timer);
  event_free(x->gc_ev);
  event_free(x->free_ev);
  free(x);
}

static void on_gc(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  fca_exch_t *x = arg;
  fca_defer_run(&x->graveyard);
}

fca_exch_t *fca_exch_new(fca_worker_t *w, const fca_exch_ops_t *ops, void *sess,
                         const char *client_addr, fca_exch_body_t body) {
  fca_exch_t *x = fca_xcalloc(1, sizeof *x);
  x->body_mode = body;
  x->w = w;
  x->ops = ops;
  x->sess = sess;
  x->client_addr = client_addr;
  x->pending = evbuffer_new();
  x->retry = evbuffer_new();
  x->timer = event_new(w->base, -1, 0, on_timer, x);
  x->free_ev = event_new(w->base, -1, 0, on_free, x);
  x->gc_ev = event_new(w->base, -1, 0, on_gc, x);
  if (!x->pending || !x->retry || !x->timer || !x->free_ev || !x->gc_ev) {
    fca_log(FCA_LOG_ERROR, "fcaudit: out of memory (exchange)");
    abort();
  }
  fca_http1_init(&x->resp, HTTP_RESPONSE, on_resp_body, x);
  return x;
}

void fca_exch_free(fca_exch_t *x) {
  if (!x || x->freed) return;
  x->freed = true;
  x->closing = true;
  fca_exch_audit_end(x, false);
  event_del(x->timer);
  fca_exch_cancel_dns(x);
  fca_exch_release_upstream(x);
  event_active(x->free_ev, EV_READ, 0);
}

void fca_exch_reset(fca_exch_t *x) {
  fca_exch_audit_end(x, false);
  event_del(x->timer);
  fca_exch_cancel_dns(x);
  fca_exch_close_upstream(x);
  x->st = FCA_EXCH_IDLE;
}

void fca_exch_arm_timer(fca_exch_t *x, uint64_t ms) {
  struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
  event_add(x->timer, &tv);
}

/* ---- accessors ---- */

fca_exch_state_t fca_exch_state(const fca_exch_t *x) { return x->st; }
const char *fca_exch_host(const fca_exch_t *x) { return x->host; }
int fca_exch_port(const fca_exch_t *x) { return x->port; }
bool fca_exch_is_head(const fca_exch_t *x) { return x->head_method; }
bool fca_exch_response_has_body(const fca_exch_t *x) { return !x->resp.msg_done; }
const char *fca_exch_url(const fca_exch_t *x) { return x->url; }
bool fca_exch_is_admin_host(const char *host) { return strcasecmp(host, FCA_ADMIN_HOST) == 0; }

/* ---- the request ---- */

void fca_exch_prepare(fca_exch_t *x, const fca_exch_target_t *t) {
  snprintf(x->host, sizeof x->host, "%s", t->host);
  x->port = t->port;
  x->tls = t->tls;
  x->inner = t->inner;
  x->admin = t->admin;
  x->blind = t->blind;
  x->method = t->method;
  x->head_method = (t->method == HTTP_HEAD);
  x->rq = XREQ_SENDING;
  x->answered = false;
  fca_http1_next(&x->resp);
}

struct evbuffer *fca_exch_request_sink(fca_exch_t *x) {
  return (x->up && x->st != FCA_EXCH_IDLE && x->st != FCA_EXCH_RESOLVING &&
          x->st != FCA_EXCH_CONNECTING && x->st != FCA_EXCH_PARENT)
             ? fca_ep_output(x->up)
             : x->pending;
}

size_t fca_exch_request_buffered(fca_exch_t *x) {
  return evbuffer_get_length(fca_exch_request_sink(x));
}

void fca_exch_request_flush(fca_exch_t *x) {
  if (x->up && fca_exch_request_sink(x) == fca_ep_output(x->up)) fca_ep_flush(x->up);
}

void fca_exch_request_end(fca_exch_t *x) { x->rq = XREQ_ENDED; }
bool fca_exch_request_ended(const fca_exch_t *x) { return x->rq == XREQ_ENDED; }

void fca_exch_request_progress(fca_exch_t *x) {
  if (x->st == FCA_EXCH_HEAD || x->st == FCA_EXCH_TUNNEL)
    fca_exch_arm_timer(x, xcfg(x)->upstream_timeout_ms);
}

/* ---- failing ---- */

const char *fca_exch_refusal_policy(const fca_exch_t *x) { return x->refuse_policy; }

void fca_exch_fail(fca_exch_t *x, int status, const char *fmt, ...) {
  char msg[600] = "";
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
  }
  if (x->closing) return;
  fca_exch_audit_end(x, false);
  event_del(x->timer);
  fca_exch_close_upstream(x);
  x->st = FCA_EXCH_IDLE;
  x->ops->fail(x->sess, x, status, fmt ? msg : NULL);
}

static void on_timer(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  fca_exch_t *x = arg;
  if (x->closing) return;
  switch (x->st) {
  case FCA_EXCH_RESOLVING:
  case FCA_EXCH_CONNECTING:
  case FCA_EXCH_PARENT:
    fca_exch_fail(x, 504, "connecting to %s:%d timed out (--connect-timeout)", x->host, x->port);
    return;
  case FCA_EXCH_HEAD:
  case FCA_EXCH_BODY:
    if (!x->answered) {
      fca_exch_fail(x, 504, "%s:%d did not answer within --upstream-timeout", x->host, x->port);
    } else {
      fca_warn("%s: %s:%d stalled mid-response (--upstream-timeout)", x->client_addr, x->host,
               x->port);
      fca_exch_fail(x, FCA_EXCH_ABORT_NOW, NULL);
    }
    return;
  case FCA_EXCH_TUNNEL: fca_exch_fail(x, FCA_EXCH_ABORT_NOW, NULL); return; /* idle tunnel */
  case FCA_EXCH_IDLE: return;
  }
}

/* ---- the response ---- */

void fca_exch_finish(fca_exch_t *x, bool reusable, bool by_close) {
  /* An origin that answered before the whole request body arrived still expects the rest: that
   * connection can serve nobody else. */
  if (x->rq != XREQ_ENDED) reusable = false;
  fca_exch_audit_end(x, true);
  x->st = FCA_EXCH_IDLE;
  fca_http1_next(&x->resp);
  if (!reusable) {
    fca_exch_close_upstream(x);
  } else {
    event_del(x->timer);
    x->up_reusable = true;
  }
  x->ops->done(x->sess, x, by_close);
}

static void tunnel_pump_up(fca_exch_t *x) {
  struct evbuffer *uin = fca_ep_input(x->up);
  if (evbuffer_get_length(uin)) {
    evbuffer_add_buffer(x->ops->sink(x->sess, x), uin);
    x->ops->flush(x->sess, x);
  }
  if (!x->closing) fca_exch_arm_timer(x, xcfg(x)->upstream_timeout_ms);
}

void fca_exch_tunnel_begin(fca_exch_t *x) {
  x->st = FCA_EXCH_TUNNEL;
  x->answered = true;
  fca_exch_arm_timer(x, xcfg(x)->upstream_timeout_ms);
  x->ops->tunnel(x->sess, x);
  if (x->closing || !x->up) return;
  fca_ep_flush(x->up);
  if (!x->closing && x->up) tunnel_pump_up(x);
}

static void handle_response_head(fca_exch_t *x, size_t head_len) {
  struct evbuffer *in = fca_ep_input(x->up);
  const char *data = (const char *)evbuffer_pullup(in, (ev_ssize_t)head_len);
  const char *why = NULL;
  x->resp.skip_body = x->head_method;
  if (fca_http1_feed_head(&x->resp, data, head_len, &why) < 0) {
    fca_exch_fail(x, 502, "%s:%d sent a malformed response: %s", x->host, x->port, why);
    return;
  }
  fca_http_head_t *h = &x->resp.head;
  bool switching = (h->status == 101);
  x->answered = true;
  x->ops->head(x->sess, x, h, data, head_len);
  if (x->closing) return;
  /* The audit reads the fields in place: before the head leaves the input buffer. */
  if ((x->ax || x->hx) && !switching && (h->status < 100 || h->status >= 200)) {
    fca_audit_header_t hdrs[FCA_HTTP_MAX_FIELDS];
    size_t nh = fca_exch_audit_headers(h, hdrs);
    if (x->ax) {
      fca_audit_response_head(x->ax, h->status, hdrs, nh);
      x->ax_body = fca_audit_wants_body(x->ax);
    }
    if (x->hx) fca_harw_response_head(x->hx, h->status, hdrs, nh);
  }
  evbuffer_drain(in, head_len);
  h->base = NULL; /* its bytes are gone; only the parsed numbers remain valid */
  if (switching) {
    fca_exch_audit_end(x, true);
    fca_exch_tunnel_begin(x);
    return;
  }
  if (h->status >= 100 && h->status < 200) {
    /* Interim response (100 Continue, 103 Early Hints): the final one follows. */
    fca_http1_next(&x->resp);
    x->resp.skip_body = x->head_method;
    x->ops->flush(x->sess, x);
    return;
  }
  if (x->resp.msg_done) {
    x->ops->flush(x->sess, x);
    if (x->closing) return;
    fca_exch_finish(x, h->keep_alive && evbuffer_get_length(in) == 0, false);
    return;
  }
  x->st = FCA_EXCH_BODY;
}

/* A session with sink_room: the upstream's input is filled only up to the sink's room (while a
 * head is awaited, at least --max-header-size), so the response bytes held for the session,
 * read or queued, stay within its bound. Returns whether there is room to read into. */
bool fca_exch_limit_reads(fca_exch_t *x) {
  if (!x->ops->sink_room || (x->st != FCA_EXCH_HEAD && x->st != FCA_EXCH_BODY)) {
    fca_ep_set_read_max(x->up, SIZE_MAX);
    return true;
  }
  size_t room = x->ops->sink_room(x->sess, x);
  size_t head = (size_t)xcfg(x)->max_header_size;
  if (x->st == FCA_EXCH_HEAD && room < head) room = head;
  fca_ep_set_read_max(x->up, room);
  return evbuffer_get_length(fca_ep_input(x->up)) < room;
}

size_t fca_exch_response_buffered(fca_exch_t *x) {
  return x->up ? evbuffer_get_length(fca_ep_input(x->up)) : 0;
}

void fca_exch_update_reading(fca_exch_t *x) {
  if (x->closing || !x->up) return;
  size_t limit = (size_t)xcfg(x)->buffer_limit;
  bool on = !x->ops->sink_full(x->sess, x) && evbuffer_get_length(fca_ep_input(x->up)) < limit;
  if (!fca_exch_limit_reads(x)) on = false;
  fca_ep_set_reading(x->up, on);
}

void fca_exch_process_upstream(fca_exch_t *x) {
  if (x->closing || !x->up) return;
  struct evbuffer *in = fca_ep_input(x->up);
  if (x->st == FCA_EXCH_TUNNEL) {
    tunnel_pump_up(x);
    fca_exch_update_reading(x);
    return;
  }
  if (x->st == FCA_EXCH_IDLE) {
    if (evbuffer_get_length(in) > 0) fca_exch_close_upstream(x); /* unsolicited bytes */
    return;
  }
  if (x->st == FCA_EXCH_PARENT) {
    fca_exch_parent_answer(x);
    return;
  }
  if (x->st != FCA_EXCH_HEAD && x->st != FCA_EXCH_BODY) return;
  fca_exch_arm_timer(x, xcfg(x)->upstream_timeout_ms);
  fca_ep_t *up = x->up;
  while (!x->closing && x->up == up && (x->st == FCA_EXCH_HEAD || x->st == FCA_EXCH_BODY) &&
         evbuffer_get_length(in) > 0) {
    if (x->st == FCA_EXCH_HEAD) {
      ssize_t hl = fca_http1_head_length(in, (size_t)xcfg(x)->max_header_size);
      if (hl < 0) {
        fca_exch_fail(x, 502, "%s:%d sent a response head larger than --max-header-size", x->host,
                      x->port);
        return;
      }
      if (hl == 0) break;
      handle_response_head(x, (size_t)hl);
      continue;
    }
    const char *why = NULL;
    int r = pump_response_body(x, in, &why);
    x->ops->flush(x->sess, x);
    if (x->closing) return;
    if (r < 0) {
      fca_warn("%s: %s:%d sent a malformed response body: %s", x->client_addr, x->host, x->port,
               why);
      fca_exch_fail(x, FCA_EXCH_ABORT_NOW, NULL);
      return;
    }
    if (r == 1) fca_exch_finish(x, x->resp.head.keep_alive && evbuffer_get_length(in) == 0, false);
    break;
  }
  if (x->closing) return;
  if (x->up && x->st == FCA_EXCH_TUNNEL) tunnel_pump_up(x);
  if (x->closing) return;
  x->ops->flush(x->sess, x);
  fca_exch_update_reading(x);
}

void fca_exch_resume(fca_exch_t *x) {
  if (x->closing) return;
  if (x->up && (x->st == FCA_EXCH_BODY || x->st == FCA_EXCH_TUNNEL || x->st == FCA_EXCH_HEAD))
    fca_exch_process_upstream(x);
  else
    fca_exch_update_reading(x);
}

void fca_exch_quiesce(fca_exch_t *x) {
  if (x->up && x->st != FCA_EXCH_BODY && x->st != FCA_EXCH_TUNNEL) fca_ep_set_reading(x->up, false);
}

/* The response body to the session's sink: moved as is, or (decoded mode, chunked) as the
 * parser's body slices. */
static int pump_response_body(fca_exch_t *x, struct evbuffer *in, const char **why) {
  struct evbuffer *sink = x->ops->sink(x->sess, x);
  if (x->body_mode == FCA_EXCH_BODY_WIRE || !(x->resp.p.flags & F_CHUNKED))
    return fca_exch_pump_body(&x->resp, in, sink, why);
  x->body_out = sink;
  int r = fca_exch_pump_body(&x->resp, in, NULL, why);
  x->body_out = NULL;
  return r;
}

static void move_or_drop(struct evbuffer *in, struct evbuffer *out, size_t n) {
  if (out)
    evbuffer_remove_buffer(in, out, n);
  else
    evbuffer_drain(in, n);
}

int fca_exch_pump_body(fca_http1_t *h, struct evbuffer *in, struct evbuffer *out,
                       const char **why) {
  while (evbuffer_get_length(in) > 0) {
    struct evbuffer_iovec v[4];
    int nv = evbuffer_peek(in, -1, NULL, v, 4);
    size_t total = 0;
    for (int i = 0; i < nv; i++) {
      size_t used = 0;
      int r = fca_http1_feed_body(h, v[i].iov_base, v[i].iov_len, &used, why);
      if (r < 0) return -1;
      total += used;
      if (r == 1) {
        move_or_drop(in, out, total);
        return 1;
      }
    }
    move_or_drop(in, out, total);
  }
  return 0;
}

/* ---- the audit tap ---- */

size_t fca_exch_audit_headers(const fca_http_head_t *h, fca_audit_header_t *out) {
  for (size_t i = 0; i < h->nfields; i++) {
    const fca_http_field_t *f = &h->fields[i];
    out[i].name = h->base + f->name_off;
    out[i].name_len = f->name_len;
    out[i].value = h->base + f->value_off;
    out[i].value_len = f->value_len;
  }
  return h->nfields;
}

void fca_exch_audit_begin(fca_exch_t *x, const fca_exch_request_t *r) {
  fca_exch_audit_end(x, false); /* a previous exchange that never ended */
  free(x->url);
  x->url = fca_xstrdup(r->url);
  fca_harw_t *har = x->w->shared->har;
  if (har) { /* the --har tap: the request head as the client sent it */
    fca_harw_request_t hr = {.method = r->method,
                             .url = x->url,
                             .http_major = r->http_major,
                             .http_minor = r->http_minor,
                             .headers = r->headers,
                             .nheaders = r->nheaders,
                             .client = x->client_addr,
                             .now_ms = fca_now_ms()};
    x->hx = fca_harw_begin(har, &hr);
  }
  fca_audit_t *a = x->w->shared->audit;
  if (!a) return;
  char client_id[64];
  snprintf(client_id, sizeof client_id, "%s", x->client_addr);
  char *colon = strrchr(client_id, ':'); /* "1.2.3.4:5" or "[::1]:5": drop the port */
  if (colon) *colon = '\0';
  fca_audit_request_t req = {
      .method = r->method,
      .url = x->url,
      .headers = r->headers,
      .nheaders = r->nheaders,
      .client = x->client_addr,
      .client_id = client_id,
      .now_ms = fca_now_ms(),
  };
  x->ax = fca_audit_begin(a, &req);
  x->ax_body = false;
}

void fca_exch_audit_end(fca_exch_t *x, bool complete) {
  if (x->hx) {
    fca_harw_end(x->hx, complete);
    x->hx = NULL;
  }
  if (!x->ax) return;
  fca_audit_response_end(x->ax, complete);
  fca_audit_exchange_free(x->ax);
  x->ax = NULL;
  x->ax_body = false;
}

static void on_resp_body(void *ud, const char *data, size_t len) {
  fca_exch_t *x = ud;
  if (x->ax_body) fca_audit_response_body(x->ax, data, len);
  if (x->hx) fca_harw_response_body(x->hx, data, len);
  if (x->body_out) evbuffer_add(x->body_out, data, len);
}

void fca_exch_request_body_seen(fca_exch_t *x, const char *data, size_t len) {
  if (x->hx) fca_harw_request_body(x->hx, data, len);
  /* the audit reads what it needs (an urlencoded body to api.stripe.com, bounded) */
  if (x->ax) fca_audit_request_body(x->ax, data, len);
}
