/* conn: the client session of one accepted connection, speaking HTTP/1.1 to the client (or
 * passing bytes through a tunnel). Requests are handled one at a time by the session's
 * exchange: a pipelined request waits in the client's input until the previous response has
 * ended, so answers stay in order. Bytes move between evbuffers without copies (except a
 * request head that must be rewritten); each side stops reading while the other side's output
 * is over --buffer-limit. A session is freed only from a deferred event (never inside an
 * endpoint callback); its exchange frees itself once nothing refers to it any more. */
#include "conn_int.h"
#include "refusals.h"

#include "h2.h"

#include "fcaudit/redact.h"
#include "fcaudit/util.h"
#include "intercept.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_timer(evutil_socket_t fd, short what, void *arg);
static const fca_exch_ops_t h1_ops;

/* ---- timers ---- */

void fca_conn_arm_timer(fca_conn_t *c, uint64_t ms) {
  struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
  event_add(c->timer, &tv);
}

/* ---- lifetime ---- */

static void on_free(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  fca_conn_t *c = arg;
  fca_worker_t *w = c->w;
  if (c->prev)
    c->prev->next = c->next;
  else
    w->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  w->nconns--;
  atomic_fetch_sub(&w->stats->conns_open, 1);
  atomic_fetch_add(&w->stats->bytes_up, fca_ep_bytes_in(c->cl.ep));
  atomic_fetch_add(&w->stats->bytes_down, fca_ep_bytes_out(c->cl.ep));
  fca_h2_free(c->h2);
  fca_ep_free(c->cl.ep);
  event_free(c->timer);
  event_free(c->free_ev);
  free(c);
  if (w->draining && w->nconns == 0) event_base_loopexit(w->base, NULL);
}

void fca_conn_close(fca_conn_t *c) {
  if (c->life == LIFE_CLOSED) return;
  c->life = LIFE_CLOSED;
  event_del(c->timer);
  if (c->cl.ep) fca_ep_shutdown(c->cl.ep);
  if (c->h2) fca_h2_close(c->h2);
  fca_exch_free(c->x);
  c->x = NULL;
  event_active(c->free_ev, EV_READ, 0);
}

fca_exch_t *fca_conn_exchange(fca_conn_t *c) {
  if (!c->x) c->x = fca_exch_new(c->w, &h1_ops, c, c->client_addr, FCA_EXCH_BODY_WIRE);
  return c->x;
}

static bool exchange_busy(const fca_conn_t *c) {
  return c->x && fca_exch_state(c->x) != FCA_EXCH_IDLE;
}

#ifndef FCA_CONN_LINGER_MS
#define FCA_CONN_LINGER_MS 1000
#endif

/* Everything queued went out: close (HTTP/2: linger first). */
static void flushed(fca_conn_t *c) {
  if (c->proto != PROTO_H2) {
    fca_conn_close(c);
    return;
  }
  c->life = LIFE_LINGERING;
  fca_ep_shutdown_write(c->cl.ep);
  evbuffer_drain(fca_ep_input(c->cl.ep), evbuffer_get_length(fca_ep_input(c->cl.ep)));
  fca_ep_set_reading(c->cl.ep, true);
  fca_conn_arm_timer(c, FCA_CONN_LINGER_MS);
}

/* Flushes what the client still has to receive, then closes. */
void fca_conn_close_after_flush(fca_conn_t *c) {
  if (c->life == LIFE_CLOSED || c->life == LIFE_LINGERING) return;
  c->life = LIFE_FLUSHING;
  fca_ep_set_reading(c->cl.ep, false);
  if (c->x) fca_exch_quiesce(c->x);
  fca_ep_flush(c->cl.ep);
  if (c->life == LIFE_CLOSED) return;
  if (evbuffer_get_length(fca_ep_output(c->cl.ep)) == 0)
    flushed(c);
  else
    fca_conn_arm_timer(c, cfg_of(c)->idle_timeout_ms);
}

/* ---- errors the proxy answers itself ---- */

const char *fca_conn_reason(int status) {
  switch (status) {
  case 400: return "Bad Request";
  case 403: return "Forbidden";
  case 407: return "Proxy Authentication Required";
  case 408: return "Request Timeout";
  case 414: return "URI Too Long";
  case 421: return "Misdirected Request";
  case 431: return "Request Header Fields Too Large";
  case 502: return "Bad Gateway";
  case 504: return "Gateway Timeout";
  case 503: return "Service Unavailable";
  case 505: return "HTTP Version Not Supported";
  case 508: return "Loop Detected";
  default: return "Error";
  }
}

/* Whatever URL a message quotes loses its password (and query with --redact-query). */
static void redact_msg(fca_conn_t *c, char *msg, size_t size) {
  char *clean = fca_redact_text(msg, strlen(msg), cfg_of(c)->redact_query, NULL);
  if (clean) snprintf(msg, size, "%s", clean);
  free(clean);
}

/* A 4xx that ends an exchange before any response counts as a refusal (fca_proxy_outcome: a run
 * whose every request was refused does not pass). */
static void count_refusal(fca_conn_t *c, int status, const char *msg, bool started) {
  if (status >= 400 && status < 500 && !started) {
    fca_proxy_stats_t *st = c->w->stats;
    atomic_fetch_add(&st->refused, 1);
    if (!atomic_flag_test_and_set(&st->first_refusal_taken))
      snprintf(st->first_refusal, sizeof st->first_refusal, "%d %s: %.150s", status,
               fca_conn_reason(status), msg);
  }
}

/* Answers status with msg (already redacted) and closes once it is sent. */
static void answer_error(fca_conn_t *c, int status, const char *msg) {
  if (c->cl.response_started || c->life == LIFE_CLOSED) {
    fca_conn_close(c);
    return;
  }
  c->cl.response_started = true;
  struct evbuffer *out = fca_ep_output(c->cl.ep);
  evbuffer_add_printf(out,
                      "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n",
                      status, fca_conn_reason(status), strlen(msg) + 10);
  if (status == 407) evbuffer_add_printf(out, "Proxy-Authenticate: Basic realm=\"fcaudit\"\r\n");
  evbuffer_add_printf(out, "\r\nfcaudit: %s\n", msg);
  if (c->x) fca_exch_reset(c->x);
  fca_conn_close_after_flush(c);
}

void fca_conn_send_error(fca_conn_t *c, int status, const char *fmt, ...) {
  char msg[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fca_conn_note_error(c, status, msg, sizeof msg, c->cl.response_started);
  answer_error(c, status, msg);
}

/* Logs an error answer and counts it (a refusal: a 4xx before any response). The message loses
 * any URL password (and query with --redact-query) first. */
void fca_conn_note_error(fca_conn_t *c, int status, char *msg, size_t cap, bool started) {
  redact_msg(c, msg, cap);
  atomic_fetch_add(&c->w->stats->errors, 1);
  fca_warn("%s: %d %s: %s", c->client_addr, status, fca_conn_reason(status), msg);
  count_refusal(c, status, msg, started);
}

void fca_conn_refuse(fca_conn_t *c, int status, const char *policy, const char *host,
                     const char *fmt, ...) {
  char msg[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  redact_msg(c, msg, sizeof msg);
  /* The user asked for it: told once per host at info level, then counted for the summary. */
  if (fca_refusals_note(c->w->shared->refusals, policy, host))
    fca_info("%s: %d %s: %s (told once per host; the summary counts them all)", c->client_addr,
             status, fca_conn_reason(status), msg);
  count_refusal(c, status, msg, c->cl.response_started);
  answer_error(c, status, msg);
}

/* ---- backpressure ---- */

void fca_conn_update_reading(fca_conn_t *c) {
  if (c->life == LIFE_CLOSED) return;
  size_t limit = (size_t)cfg_of(c)->buffer_limit;
  if (c->life == LIFE_OPEN) {
    bool on = evbuffer_get_length(fca_ep_input(c->cl.ep)) < limit &&
              (!c->x || fca_exch_request_buffered(c->x) < limit);
    fca_ep_set_reading(c->cl.ep, on);
  }
  if (c->x) fca_exch_update_reading(c->x);
}

/* ---- the exchange's ops: the response goes to the client as HTTP/1.1 ---- */

static void h1_head(void *sess, fca_exch_t *x, const fca_http_head_t *h, const char *raw,
                    size_t len) {
  (void)x;
  fca_conn_t *c = sess;
  struct evbuffer *out = fca_ep_output(c->cl.ep);
  c->cl.response_started = true;
  if (fca_http_has_hop_by_hop(h))
    fca_http_write_filtered(out, h, NULL, 0, h->status == 101, NULL, NULL);
  else
    evbuffer_add(out, raw, len);
}

static struct evbuffer *h1_sink(void *sess, fca_exch_t *x) {
  (void)x;
  return fca_ep_output(((fca_conn_t *)sess)->cl.ep);
}

static bool h1_sink_full(void *sess, fca_exch_t *x) {
  (void)x;
  fca_conn_t *c = sess;
  return evbuffer_get_length(fca_ep_output(c->cl.ep)) >= (size_t)cfg_of(c)->buffer_limit;
}

static void h1_flush(void *sess, fca_exch_t *x) {
  (void)x;
  fca_ep_flush(((fca_conn_t *)sess)->cl.ep);
}

static void h1_done(void *sess, fca_exch_t *x, bool by_close) {
  (void)x;
  fca_conn_t *c = sess;
  if (by_close) c->cl.keep_alive = false; /* a close-delimited body ends with the connection */
  if (!c->cl.keep_alive || c->w->draining || c->cl.rs == REQ_BODY) {
    fca_conn_close_after_flush(c);
    return;
  }
  c->cl.rs = REQ_IDLE;
  c->cl.response_started = false;
  fca_http1_next(&c->cl.req);
  c->cl.head_deadline = 0;
  fca_conn_arm_timer(c, cfg_of(c)->idle_timeout_ms);
  if (evbuffer_get_length(fca_ep_input(c->cl.ep)) > 0) fca_conn_process_client(c);
}

static void h1_fail(void *sess, fca_exch_t *x, int status, const char *msg) {
  fca_conn_t *c = sess;
  const char *policy = x && status > 0 ? fca_exch_refusal_policy(x) : NULL;
  if (policy)
    fca_conn_refuse(c, status, policy, fca_exch_host(x), "%s", msg ? msg : "");
  else if (status > 0)
    fca_conn_send_error(c, status, "%s", msg);
  else if (status == FCA_EXCH_ABORT_FLUSH)
    fca_conn_close_after_flush(c);
  else
    fca_conn_close(c);
}

static void tunnel_pump_client(fca_conn_t *c) {
  struct evbuffer *cin = fca_ep_input(c->cl.ep);
  if (!c->x || evbuffer_get_length(cin) == 0) return;
  evbuffer_add_buffer(fca_exch_request_sink(c->x), cin);
  fca_exch_request_flush(c->x);
  if (c->life != LIFE_CLOSED && c->x) fca_exch_request_progress(c->x);
}

static void h1_tunnel(void *sess, fca_exch_t *x) {
  (void)x;
  fca_conn_t *c = sess;
  if (c->cl.rs != REQ_TUNNEL && c->cl.rs == REQ_DONE && c->tun.blind) {
    /* The CONNECT target is reachable: tell the client (unless that was done already). */
    c->cl.response_started = true;
    if (!c->tun.answered)
      evbuffer_add_printf(fca_ep_output(c->cl.ep), "HTTP/1.1 200 Connection established\r\n\r\n");
  }
  c->cl.rs = REQ_TUNNEL;
  event_del(c->timer); /* the exchange times an idle tunnel */
  tunnel_pump_client(c);
  if (c->life == LIFE_CLOSED) return;
  /* The client closed its side while the target was being reached: pass that on now. */
  if (c->cl.half_closed && c->x) fca_exch_shut_write(c->x);
  if (c->life == LIFE_CLOSED) return;
  fca_ep_flush(c->cl.ep);
  if (c->life != LIFE_CLOSED) fca_conn_update_reading(c);
}

static void h1_tunnel_closed(void *sess, fca_exch_t *x) {
  (void)x;
  fca_conn_close_after_flush(sess);
}

static void h1_drained(void *sess, fca_exch_t *x) {
  (void)x;
  fca_conn_process_client(sess);
}

static const fca_exch_ops_t h1_ops = {
    .head = h1_head,
    .sink = h1_sink,
    .sink_full = h1_sink_full,
    .flush = h1_flush,
    .done = h1_done,
    .fail = h1_fail,
    .tunnel = h1_tunnel,
    .tunnel_closed = h1_tunnel_closed,
    .drained = h1_drained,
};

/* ---- the client side ---- */

void fca_conn_process_client(fca_conn_t *c) {
  if (c->life != LIFE_OPEN) return;
  struct evbuffer *in = fca_ep_input(c->cl.ep);
  if (c->cl.rs == REQ_TUNNEL) {
    tunnel_pump_client(c);
    fca_conn_update_reading(c);
    return;
  }
  if (c->cl.rs == REQ_PEEK) {
    fca_conn_peek_tunnel(c);
    if (c->life != LIFE_OPEN || c->cl.rs != REQ_IDLE) return;
  }
  if (c->cl.rs == REQ_HANDSHAKE) return;
  if (c->cl.rs == REQ_IDLE && !exchange_busy(c)) {
    if (evbuffer_get_length(in) == 0) return;
    ssize_t hl = fca_http1_head_length(in, (size_t)cfg_of(c)->max_header_size);
    if (hl < 0) {
      fca_conn_send_error(c, 431, "request head is larger than --max-header-size (%llu bytes)",
                          (unsigned long long)cfg_of(c)->max_header_size);
      return;
    }
    if (hl == 0) {
      if (!c->cl.head_deadline) {
        c->cl.head_deadline = fca_mono_ms() + (int64_t)cfg_of(c)->header_timeout_ms;
        fca_conn_arm_timer(c, cfg_of(c)->header_timeout_ms);
      }
      fca_conn_update_reading(c);
      return;
    }
    fca_conn_handle_request_head(c, (size_t)hl);
    if (c->life != LIFE_OPEN) return;
    if (c->cl.rs == REQ_PEEK) {
      /* Bytes sent in the same segment as CONNECT (a ClientHello, a request) wait for no
       * further event. */
      if (evbuffer_get_length(in) > 0) fca_conn_process_client(c);
      return;
    }
  }
  if (c->cl.rs == REQ_BODY && c->x) {
    const char *why = NULL;
    int r = fca_exch_pump_body(&c->cl.req, in, fca_exch_request_sink(c->x), &why);
    if (r < 0) {
      fca_conn_send_error(c, 400, "malformed request body: %s", why);
      return;
    }
    if (r == 1) {
      c->cl.rs = REQ_DONE;
      fca_exch_request_end(c->x);
    }
    /* A slow upload that still progresses is not an origin that stays silent. */
    fca_exch_request_progress(c->x);
    fca_exch_request_flush(c->x);
  }
  fca_conn_update_reading(c);
}

/* Request body bytes as the client sent them (chunked framing removed): the --har tap and the
 * audit. */
static void on_req_body(void *ud, const char *data, size_t len) {
  fca_conn_t *c = ud;
  if (c->x) fca_exch_request_body_seen(c->x, data, len);
}

static void on_client_read(fca_ep_t *ep, void *ud) {
  (void)ep;
  fca_conn_t *c = ud;
  if (c->life == LIFE_LINGERING) {
    evbuffer_drain(fca_ep_input(ep), evbuffer_get_length(fca_ep_input(ep)));
    return;
  }
  if (c->proto == PROTO_H2)
    fca_h2_on_read(c->h2);
  else
    fca_conn_process_client(c);
}

static void on_client_drain(fca_ep_t *ep, void *ud) {
  fca_conn_t *c = ud;
  if (c->life == LIFE_CLOSED || c->life == LIFE_LINGERING) return;
  if (c->life == LIFE_FLUSHING) {
    if (evbuffer_get_length(fca_ep_output(ep)) == 0) flushed(c);
    return;
  }
  if (c->proto == PROTO_H2) {
    fca_h2_on_drain(c->h2);
    return;
  }
  if (c->x) fca_exch_resume(c->x);
  fca_conn_update_reading(c);
}

static void on_client_event(fca_ep_t *ep, int what, void *ud) {
  fca_conn_t *c = ud;
  if (c->life == LIFE_CLOSED) return;
  if (c->life == LIFE_LINGERING) {
    if (what & (FCA_EP_EOF | FCA_EP_ERROR)) fca_conn_close(c);
    return;
  }
  if (what & FCA_EP_HANDSHAKE) {
    atomic_fetch_add(&c->w->stats->tls_handshakes, 1);
    if (strcmp(fca_ep_alpn(ep), "h2") == 0) {
      /* The client chose HTTP/2: the streams take over the connection. */
      c->h2 = fca_h2_new(c);
      if (!c->h2) {
        fca_warn("%s: cannot start HTTP/2", c->client_addr);
        fca_conn_close(c);
        return;
      }
      c->proto = PROTO_H2;
      c->cl.rs = REQ_IDLE;
      c->cl.head_deadline = 0;
      fca_conn_arm_timer(c, cfg_of(c)->idle_timeout_ms);
      fca_h2_on_read(c->h2);
      return;
    }
    c->cl.rs = REQ_IDLE;
    c->cl.response_started = false;
    c->cl.head_deadline = 0;
    fca_conn_arm_timer(c, cfg_of(c)->idle_timeout_ms);
    fca_conn_process_client(c);
    return;
  }
  if (what & FCA_EP_ERROR) {
    if (c->cl.rs == REQ_HANDSHAKE) {
      atomic_fetch_add(&c->w->stats->tls_failures, 1);
      fca_intercept_rejected(c->w->shared, c->tun.host, c->client_addr, fca_ep_error(ep));
      fca_conn_close(c);
      return;
    }
    fca_debug("%s: client connection: %s", c->client_addr, fca_ep_error(ep));
    fca_conn_close(c);
    return;
  }
  if ((what & FCA_EP_EOF) && c->proto == PROTO_H2) {
    fca_h2_on_read(c->h2); /* what arrived before the close */
    if (c->life != LIFE_CLOSED) fca_conn_close(c);
    return;
  }
  if (what & FCA_EP_EOF) {
    if (c->cl.rs == REQ_HANDSHAKE) {
      atomic_fetch_add(&c->w->stats->tls_failures, 1);
      fca_intercept_rejected(c->w->shared, c->tun.host, c->client_addr,
                             "the client closed the connection during the TLS handshake");
      fca_conn_close(c);
      return;
    }
    fca_conn_process_client(c);
    if (c->life == LIFE_CLOSED) return;
    if (c->cl.rs == REQ_TUNNEL) {
      /* Half-close: deliver what the client sent, then pass the close on (once the upstream
       * took every byte). */
      if (c->x && fca_exch_state(c->x) == FCA_EXCH_TUNNEL)
        fca_exch_shut_write(c->x);
      else
        fca_conn_close(c);
      return;
    }
    if (c->cl.rs == REQ_DONE && exchange_busy(c)) {
      c->cl.keep_alive = false; /* answer what was asked, then close */
      c->cl.half_closed = true;
      return;
    }
    /* Nothing more will be asked: deliver what is still queued for the client, then close. */
    fca_conn_close_after_flush(c);
  }
}

static const fca_ep_cbs_t client_cbs = {on_client_read, on_client_drain, on_client_event};

static void on_timer(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  fca_conn_t *c = arg;
  if (c->life == LIFE_CLOSED) return;
  if (c->life == LIFE_FLUSHING || c->life == LIFE_LINGERING) {
    fca_conn_close(c);
    return;
  }
  if (c->proto == PROTO_H2) {
    fca_h2_on_timer(c->h2);
    return;
  }
  if (c->cl.rs == REQ_PEEK || c->cl.rs == REQ_HANDSHAKE) {
    fca_info("%s: CONNECT %s: nothing usable received within --header-timeout; closing",
             c->client_addr, c->tun.host);
    fca_conn_close(c);
    return;
  }
  if (exchange_busy(c)) return; /* the exchange has its own timers */
  if (c->cl.head_deadline) {
    fca_conn_send_error(c, 408, "request head not received within --header-timeout");
    return;
  }
  fca_conn_close(c); /* idle keep-alive connection */
}

void fca_conn_accept(fca_worker_t *w, int fd, const struct sockaddr *sa, socklen_t salen) {
  (void)salen;
  fca_conn_t *c = fca_xcalloc(1, sizeof *c);
  c->w = w;
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *s4 = (const void *)sa;
    inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
    port = ntohs(s4->sin_port);
    snprintf(c->client_addr, sizeof c->client_addr, "%s:%d", host, port);
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const void *)sa;
    inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
    port = ntohs(s6->sin6_port);
    snprintf(c->client_addr, sizeof c->client_addr, "[%s]:%d", host, port);
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->cl.ep = fca_ep_new(w->base, fd, false, &client_cbs, c);
  fca_ep_set_low_watermark(c->cl.ep, (size_t)w->shared->cfg->buffer_limit / 2);
  c->timer = event_new(w->base, -1, 0, on_timer, c);
  c->free_ev = event_new(w->base, -1, 0, on_free, c);
  fca_http1_init(&c->cl.req, HTTP_REQUEST, on_req_body, c);
  c->next = w->conns;
  if (w->conns) w->conns->prev = c;
  w->conns = c;
  w->nconns++;
  atomic_fetch_add(&w->stats->conns_total, 1);
  atomic_fetch_add(&w->stats->conns_open, 1);
  fca_conn_arm_timer(c, w->shared->cfg->header_timeout_ms);
  c->cl.head_deadline = fca_mono_ms() + (int64_t)w->shared->cfg->header_timeout_ms;
}

void fca_conn_drain_all(fca_worker_t *w) {
  for (fca_conn_t *c = w->conns; c; c = c->next) {
    if (c->life == LIFE_CLOSED) continue;
    if (c->proto == PROTO_H2) {
      fca_h2_drain(c->h2);
      continue;
    }
    if (!exchange_busy(c) && c->cl.rs == REQ_IDLE)
      fca_conn_close(c);
    else
      c->cl.keep_alive = false;
  }
}

void fca_conn_close_all(fca_worker_t *w) {
  for (fca_conn_t *c = w->conns; c; c = c->next) fca_conn_close(c);
}
