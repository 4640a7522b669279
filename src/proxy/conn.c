/* conn: one proxied client connection and the upstream it talks to (two symmetric endpoints).
 * Requests are handled one at a time: a pipelined request waits in the client's input until
 * the previous response has ended, so answers stay in order. Bytes move between the two
 * endpoints' evbuffers without copies (except a request head that must be rewritten);
 * each side stops reading while the other side's output is over --buffer-limit.
 * A connection is freed only from a deferred event (never inside an endpoint callback), and
 * only when no DNS lookup still refers to it. */
#include "conn_int.h"
#include "refusals.h"

#include "endpoint.h"
#include "fcaudit/audit.h"
#include "fcaudit/config.h"
#include "fcaudit/har_writer.h"
#include "fcaudit/redact.h"
#include "fcaudit/tlsctx.h"
#include "fcaudit/util.h"
#include "http1.h"
#include "intercept.h"
#include "upool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---- timers ---- */

static void on_timer(evutil_socket_t fd, short what, void *arg);

void fca_conn_arm_timer(fca_conn_t *c, uint64_t ms) {
  struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
  event_add(c->timer, &tv);
}

/* ---- lifetime ---- */

static void on_free(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  fca_conn_t *c = arg;
  if (c->refs > 0) return; /* the DNS callback frees it */
  fca_worker_t *w = c->w;
  if (c->prev)
    c->prev->next = c->next;
  else
    w->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  w->nconns--;
  atomic_fetch_sub(&w->stats->conns_open, 1);
  atomic_fetch_add(&w->stats->bytes_up, fca_ep_bytes_in(c->client));
  atomic_fetch_add(&w->stats->bytes_down, fca_ep_bytes_out(c->client));
  fca_ep_free(c->client);
  fca_ep_free(c->up);
  fca_defer_destroy(&c->graveyard);
  event_free(c->gc_ev);
  if (c->addrs) evutil_freeaddrinfo(c->addrs);
  evbuffer_free(c->pending);
  evbuffer_free(c->retry);
  free(c->url);
  event_free(c->timer);
  event_free(c->free_ev);
  free(c);
  if (w->draining && w->nconns == 0) event_base_loopexit(w->base, NULL);
}

void fca_conn_close(fca_conn_t *c) {
  if (c->closing) return;
  c->closing = true;
  fca_conn_audit_end(c, false);
  event_del(c->timer);
  if (c->client) fca_ep_shutdown(c->client);
  fca_conn_release_upstream(c);
  if (c->dns_req) {
    evdns_getaddrinfo_cancel(c->dns_req);
    c->dns_req = NULL;
  }
  event_active(c->free_ev, EV_READ, 0);
}

static void on_gc(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  fca_conn_t *c = arg;
  fca_defer_run(&c->graveyard);
}

static void free_ep(void *ep) { fca_ep_free(ep); }

/* The upstream may be closed from inside its own callback: it is shut down now (no more
 * events) and freed from a deferred event. */
void fca_conn_close_upstream(fca_conn_t *c) {
  c->up_reusable = false;
  if (!c->up) return;
  fca_ep_shutdown(c->up);
  if (fca_defer_add(&c->graveyard, free_ep, c->up)) event_active(c->gc_ev, EV_READ, 0);
  c->up = NULL;
  c->up_key[0] = '\0';
}

/* An idle upstream after a complete keep-alive response goes to the worker's pool for the
 * next client; any other is closed. */
void fca_conn_release_upstream(fca_conn_t *c) {
  if (!c->up) return;
  if (c->up_reusable && c->ss == RESP_NONE && c->rs != REQ_BODY && !fca_ep_eof(c->up) &&
      c->w->upool && evbuffer_get_length(fca_ep_input(c->up)) == 0 &&
      evbuffer_get_length(fca_ep_output(c->up)) == 0) {
    fca_upool_put(c->w->upool, c->up_key, c->up);
    c->up = NULL;
    c->up_key[0] = '\0';
    c->up_reusable = false;
    return;
  }
  fca_conn_close_upstream(c);
}

/* Flushes what the client still has to receive, then closes. */
void fca_conn_close_after_flush(fca_conn_t *c) {
  if (c->closing) return;
  c->close_after_flush = true;
  fca_ep_set_reading(c->client, false);
  if (c->up && c->ss != RESP_BODY && c->ss != RESP_TUNNEL) fca_ep_set_reading(c->up, false);
  fca_ep_flush(c->client);
  if (!c->closing && evbuffer_get_length(fca_ep_output(c->client)) == 0)
    fca_conn_close(c);
  else if (!c->closing)
    fca_conn_arm_timer(c, cfg_of(c)->idle_timeout_ms);
}

/* ---- errors the proxy answers itself ---- */

static const char *reason_phrase(int status) {
  switch (status) {
  case 400: return "Bad Request";
  case 403: return "Forbidden";
  case 407: return "Proxy Authentication Required";
  case 408: return "Request Timeout";
  case 414: return "URI Too Long";
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

/* Answers status with msg; a 4xx that ends an exchange before any response counts as a refusal
 * (fca_proxy_outcome: a run whose every request was refused does not pass). */
static void send_error_msg(fca_conn_t *c, int status, const char *msg) {
  if (status >= 400 && status < 500 && !c->response_started) {
    fca_proxy_stats_t *st = c->w->stats;
    atomic_fetch_add(&st->refused, 1);
    if (!atomic_flag_test_and_set(&st->first_refusal_taken))
      snprintf(st->first_refusal, sizeof st->first_refusal, "%d %s: %.150s", status,
               reason_phrase(status), msg);
  }
  if (c->response_started || c->closing) {
    fca_conn_close(c);
    return;
  }
  c->response_started = true;
  struct evbuffer *out = fca_ep_output(c->client);
  evbuffer_add_printf(out,
                      "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n",
                      status, reason_phrase(status), strlen(msg) + 10);
  if (status == 407) evbuffer_add_printf(out, "Proxy-Authenticate: Basic realm=\"fcaudit\"\r\n");
  evbuffer_add_printf(out, "\r\nfcaudit: %s\n", msg);
  fca_conn_close_upstream(c);
  c->ss = RESP_NONE;
  fca_conn_close_after_flush(c);
}

void fca_conn_send_error(fca_conn_t *c, int status, const char *fmt, ...) {
  char msg[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  redact_msg(c, msg, sizeof msg);
  atomic_fetch_add(&c->w->stats->errors, 1);
  fca_warn("%s: %d %s: %s", c->client_addr, status, reason_phrase(status), msg);
  send_error_msg(c, status, msg);
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
             status, reason_phrase(status), msg);
  send_error_msg(c, status, msg);
}

/* ---- backpressure ---- */

struct evbuffer *fca_conn_request_sink(fca_conn_t *c) {
  return (c->up && c->ss != RESP_RESOLVING && c->ss != RESP_CONNECTING) ? fca_ep_output(c->up)
                                                                        : c->pending;
}

void fca_conn_update_reading(fca_conn_t *c) {
  if (c->closing) return;
  size_t limit = (size_t)cfg_of(c)->buffer_limit;
  if (!c->close_after_flush) {
    bool on = evbuffer_get_length(fca_ep_input(c->client)) < limit &&
              evbuffer_get_length(fca_conn_request_sink(c)) < limit;
    fca_ep_set_reading(c->client, on);
  }
  if (c->up) {
    bool on = evbuffer_get_length(fca_ep_output(c->client)) < limit &&
              evbuffer_get_length(fca_ep_input(c->up)) < limit;
    fca_ep_set_reading(c->up, on);
  }
}

/* ---- the exchange ---- */

void fca_conn_finish_exchange(fca_conn_t *c, bool upstream_reusable) {
  /* An origin that answered before the whole request body arrived still expects the rest: that
   * connection can serve nobody else. */
  if (c->rs != REQ_DONE) upstream_reusable = false;
  fca_conn_audit_end(c, true);
  c->ss = RESP_NONE;
  fca_http1_next(&c->resp);
  if (!upstream_reusable) {
    fca_conn_close_upstream(c);
  } else {
    event_del(c->timer);
    c->up_reusable = true;
  }
  if (!c->client_keep_alive || c->w->draining || c->rs == REQ_BODY) {
    fca_conn_close_after_flush(c);
    return;
  }
  c->rs = REQ_IDLE;
  c->response_started = false;
  fca_http1_next(&c->req);
  c->head_deadline = 0;
  fca_conn_arm_timer(c, cfg_of(c)->idle_timeout_ms);
  if (evbuffer_get_length(fca_ep_input(c->client)) > 0) fca_conn_process_client(c);
}

/* Moves n bytes of body (or tunnel) data from src to dst. */
static void move_bytes(struct evbuffer *src, struct evbuffer *dst, size_t n) {
  evbuffer_remove_buffer(src, dst, n);
}

/* Feeds body bytes at the start of `in` to the parser and moves those that belong to the
 * message to `out`. Returns 1 when the message ended, 0 if more is needed, -1 on error. */
int fca_conn_pump_body(fca_http1_t *h, struct evbuffer *in, struct evbuffer *out,
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
        move_bytes(in, out, total);
        return 1;
      }
    }
    move_bytes(in, out, total);
  }
  return 0;
}

void fca_conn_start_tunnel(fca_conn_t *c) {
  c->rs = REQ_TUNNEL;
  c->ss = RESP_TUNNEL;
  fca_conn_arm_timer(c, cfg_of(c)->upstream_timeout_ms);
  struct evbuffer *cin = fca_ep_input(c->client);
  if (evbuffer_get_length(cin)) evbuffer_add_buffer(fca_conn_request_sink(c), cin);
  if (c->up) {
    struct evbuffer *uin = fca_ep_input(c->up);
    if (evbuffer_get_length(uin)) evbuffer_add_buffer(fca_ep_output(c->client), uin);
    fca_ep_flush(c->up);
  }
  fca_ep_flush(c->client);
}

void fca_conn_tunnel_pump(fca_conn_t *c) {
  if (!c->up) return;
  if (c->ss == RESP_RESOLVING || c->ss == RESP_CONNECTING) {
    struct evbuffer *cin = fca_ep_input(c->client);
    if (evbuffer_get_length(cin)) evbuffer_add_buffer(c->pending, cin);
    return;
  }
  struct evbuffer *cin = fca_ep_input(c->client), *uin = fca_ep_input(c->up);
  if (evbuffer_get_length(cin)) {
    evbuffer_add_buffer(fca_ep_output(c->up), cin);
    fca_ep_flush(c->up);
  }
  if (c->closing) return;
  if (evbuffer_get_length(uin)) {
    evbuffer_add_buffer(fca_ep_output(c->client), uin);
    fca_ep_flush(c->client);
  }
  if (!c->closing) fca_conn_arm_timer(c, cfg_of(c)->upstream_timeout_ms);
}

void fca_conn_process_client(fca_conn_t *c) {
  if (c->closing || c->close_after_flush) return;
  struct evbuffer *in = fca_ep_input(c->client);
  if (c->rs == REQ_TUNNEL) {
    fca_conn_tunnel_pump(c);
    fca_conn_update_reading(c);
    return;
  }
  if (c->rs == REQ_PEEK) {
    fca_conn_peek_tunnel(c);
    if (c->closing || c->rs != REQ_IDLE) return;
  }
  if (c->rs == REQ_HANDSHAKE) return;
  if (c->rs == REQ_IDLE && c->ss == RESP_NONE) {
    if (evbuffer_get_length(in) == 0) return;
    ssize_t hl = fca_http1_head_length(in, (size_t)cfg_of(c)->max_header_size);
    if (hl < 0) {
      fca_conn_send_error(c, 431, "request head is larger than --max-header-size (%llu bytes)",
                          (unsigned long long)cfg_of(c)->max_header_size);
      return;
    }
    if (hl == 0) {
      if (!c->head_deadline) {
        c->head_deadline = fca_mono_ms() + (int64_t)cfg_of(c)->header_timeout_ms;
        fca_conn_arm_timer(c, cfg_of(c)->header_timeout_ms);
      }
      fca_conn_update_reading(c);
      return;
    }
    fca_conn_handle_request_head(c, (size_t)hl);
    if (c->closing || c->close_after_flush) return;
    if (c->rs == REQ_PEEK) {
      /* Bytes sent in the same segment as CONNECT (a ClientHello, a request) wait for no
       * further event. */
      if (evbuffer_get_length(in) > 0) fca_conn_process_client(c);
      return;
    }
  }
  if (c->rs == REQ_BODY) {
    const char *why = NULL;
    int r = fca_conn_pump_body(&c->req, in, fca_conn_request_sink(c), &why);
    if (r < 0) {
      fca_conn_send_error(c, 400, "malformed request body: %s", why);
      return;
    }
    if (r == 1) c->rs = REQ_DONE;
    /* A slow upload that still progresses is not an origin that stays silent. */
    if (c->ss == RESP_HEAD) fca_conn_arm_timer(c, cfg_of(c)->upstream_timeout_ms);
    if (c->up && fca_conn_request_sink(c) == fca_ep_output(c->up)) fca_ep_flush(c->up);
  }
  fca_conn_update_reading(c);
}

static void handle_response_head(fca_conn_t *c, size_t head_len) {
  struct evbuffer *in = fca_ep_input(c->up);
  const char *data = (const char *)evbuffer_pullup(in, (ev_ssize_t)head_len);
  const char *why = NULL;
  c->resp.skip_body = c->head_request;
  if (fca_http1_feed_head(&c->resp, data, head_len, &why) < 0) {
    fca_conn_send_error(c, 502, "%s:%d sent a malformed response: %s", c->host, c->port, why);
    return;
  }
  fca_http_head_t *h = &c->resp.head;
  bool switching = (h->status == 101);
  struct evbuffer *out = fca_ep_output(c->client);
  c->response_started = true;
  if (fca_http_has_hop_by_hop(h))
    fca_http_write_filtered(out, h, NULL, 0, switching, NULL, NULL);
  else
    evbuffer_add(out, data, head_len);
  /* The audit reads the fields in place: before the head leaves the input buffer. */
  if ((c->ax || c->hx) && !switching && (h->status < 100 || h->status >= 200)) {
    fca_audit_header_t hdrs[FCA_HTTP_MAX_FIELDS];
    size_t nh = fca_conn_audit_headers(h, hdrs);
    if (c->ax) {
      fca_audit_response_head(c->ax, h->status, hdrs, nh);
      c->ax_body = fca_audit_wants_body(c->ax);
    }
    if (c->hx) fca_harw_response_head(c->hx, h->status, hdrs, nh);
  }
  evbuffer_drain(in, head_len);
  h->base = NULL; /* its bytes are gone; only the parsed numbers remain valid */
  if (switching) {
    fca_conn_audit_end(c, true);
    fca_conn_start_tunnel(c);
    return;
  }
  if (h->status >= 100 && h->status < 200) {
    /* Interim response (100 Continue, 103 Early Hints): the final one follows. */
    fca_http1_next(&c->resp);
    c->resp.skip_body = c->head_request;
    fca_ep_flush(c->client);
    return;
  }
  if (c->resp.msg_done) {
    fca_ep_flush(c->client);
    fca_conn_finish_exchange(c, h->keep_alive && evbuffer_get_length(in) == 0);
    return;
  }
  c->ss = RESP_BODY;
}

void fca_conn_process_upstream(fca_conn_t *c) {
  if (c->closing || !c->up) return;
  struct evbuffer *in = fca_ep_input(c->up);
  if (c->ss == RESP_TUNNEL) {
    fca_conn_tunnel_pump(c);
    fca_conn_update_reading(c);
    return;
  }
  if (c->ss == RESP_NONE) {
    if (evbuffer_get_length(in) > 0)
      fca_conn_close_upstream(c); /* unsolicited bytes on an idle link */
    return;
  }
  if (c->ss == RESP_PARENT) {
    fca_conn_parent_answer(c);
    return;
  }
  fca_conn_arm_timer(c, cfg_of(c)->upstream_timeout_ms);
  fca_ep_t *up = c->up;
  while (!c->closing && c->up == up && (c->ss == RESP_HEAD || c->ss == RESP_BODY) &&
         evbuffer_get_length(in) > 0) {
    if (c->ss == RESP_HEAD) {
      ssize_t hl = fca_http1_head_length(in, (size_t)cfg_of(c)->max_header_size);
      if (hl < 0) {
        fca_conn_send_error(c, 502, "%s:%d sent a response head larger than --max-header-size",
                            c->host, c->port);
        return;
      }
      if (hl == 0) break;
      handle_response_head(c, (size_t)hl);
      continue;
    }
    const char *why = NULL;
    int r = fca_conn_pump_body(&c->resp, in, fca_ep_output(c->client), &why);
    fca_ep_flush(c->client);
    if (c->closing) return;
    if (r < 0) {
      fca_warn("%s: %s:%d sent a malformed response body: %s", c->client_addr, c->host, c->port,
               why);
      fca_conn_close(c);
      return;
    }
    if (r == 1) {
      bool reuse = c->resp.head.keep_alive && evbuffer_get_length(in) == 0;
      fca_conn_finish_exchange(c, reuse);
    }
    break;
  }
  if (!c->closing && c->up && c->ss == RESP_TUNNEL) fca_conn_tunnel_pump(c);
  if (!c->closing) fca_ep_flush(c->client);
  fca_conn_update_reading(c);
}

/* ---- client ---- */

static void on_client_read(fca_ep_t *ep, void *ud) {
  (void)ep;
  fca_conn_process_client(ud);
}

static void on_client_drain(fca_ep_t *ep, void *ud) {
  fca_conn_t *c = ud;
  if (c->closing) return;
  if (c->close_after_flush) {
    if (evbuffer_get_length(fca_ep_output(ep)) == 0) fca_conn_close(c);
    return;
  }
  if (c->up && (c->ss == RESP_BODY || c->ss == RESP_TUNNEL || c->ss == RESP_HEAD))
    fca_conn_process_upstream(c);
  else
    fca_conn_update_reading(c);
}

static void on_client_event(fca_ep_t *ep, int what, void *ud) {
  (void)ep;
  fca_conn_t *c = ud;
  if (c->closing) return;
  if (what & FCA_EP_HANDSHAKE) {
    atomic_fetch_add(&c->w->stats->tls_handshakes, 1);
    c->rs = REQ_IDLE;
    c->response_started = false;
    c->head_deadline = 0;
    fca_conn_arm_timer(c, cfg_of(c)->idle_timeout_ms);
    fca_conn_process_client(c);
    return;
  }
  if (what & FCA_EP_ERROR) {
    if (c->rs == REQ_HANDSHAKE) {
      atomic_fetch_add(&c->w->stats->tls_failures, 1);
      fca_intercept_rejected(c->w->shared, c->tunnel_host, c->client_addr, fca_ep_error(ep));
      fca_conn_close(c);
      return;
    }
    fca_debug("%s: client connection: %s", c->client_addr, fca_ep_error(ep));
    fca_conn_close(c);
    return;
  }
  if (what & FCA_EP_EOF) {
    if (c->rs == REQ_HANDSHAKE) {
      atomic_fetch_add(&c->w->stats->tls_failures, 1);
      fca_intercept_rejected(c->w->shared, c->tunnel_host, c->client_addr,
                             "the client closed the connection during the TLS handshake");
      fca_conn_close(c);
      return;
    }
    fca_conn_process_client(c);
    if (c->closing) return;
    if (c->rs == REQ_TUNNEL) {
      /* Half-close: deliver what the client sent, then pass the close on (from on_up_drain when
       * bytes are still queued). */
      if (c->up && c->ss == RESP_TUNNEL) {
        c->shut_up_pending = true;
        fca_ep_flush(c->up);
        if (!c->closing && c->up && evbuffer_get_length(fca_ep_output(c->up)) == 0)
          fca_conn_shut_upstream_write(c);
      } else {
        fca_conn_close(c);
      }
      return;
    }
    if (c->rs == REQ_DONE && c->ss != RESP_NONE) {
      c->client_keep_alive = false; /* answer what was asked, then close */
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
  if (c->closing) return;
  if (c->close_after_flush) {
    fca_conn_close(c);
    return;
  }
  switch (c->ss) {
  case RESP_RESOLVING:
  case RESP_CONNECTING:
  case RESP_PARENT:
    fca_conn_send_error(c, 504, "connecting to %s:%d timed out (--connect-timeout)", c->host,
                        c->port);
    return;
  case RESP_HEAD:
  case RESP_BODY:
    if (!c->response_started)
      fca_conn_send_error(c, 504, "%s:%d did not answer within --upstream-timeout", c->host,
                          c->port);
    else {
      fca_warn("%s: %s:%d stalled mid-response (--upstream-timeout)", c->client_addr, c->host,
               c->port);
      fca_conn_close(c);
    }
    return;
  case RESP_TUNNEL:
    fca_conn_close(c); /* idle tunnel */
    return;
  case RESP_NONE: break;
  }
  if (c->rs == REQ_PEEK || c->rs == REQ_HANDSHAKE) {
    fca_info("%s: CONNECT %s: nothing usable received within --header-timeout; closing",
             c->client_addr, c->tunnel_host);
    fca_conn_close(c);
    return;
  }
  if (c->head_deadline) {
    fca_conn_send_error(c, 408, "request head not received within --header-timeout");
    return;
  }
  fca_conn_close(c); /* idle keep-alive connection */
}

void fca_conn_accept(fca_worker_t *w, int fd, const struct sockaddr *sa, socklen_t salen) {
  (void)salen;
  fca_conn_t *c = fca_xcalloc(1, sizeof *c);
  c->w = w;
  c->refs = 0;
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
  c->client = fca_ep_new(w->base, fd, false, &client_cbs, c);
  fca_ep_set_low_watermark(c->client, (size_t)w->shared->cfg->buffer_limit / 2);
  c->pending = fca_xcheck(evbuffer_new(), "a connection's buffers");
  c->retry = fca_xcheck(evbuffer_new(), "a connection's buffers");
  c->timer = fca_xcheck(event_new(w->base, -1, 0, on_timer, c), "a connection's events");
  c->free_ev = fca_xcheck(event_new(w->base, -1, 0, on_free, c), "a connection's events");
  c->gc_ev = fca_xcheck(event_new(w->base, -1, 0, on_gc, c), "a connection's events");
  fca_http1_init(&c->req, HTTP_REQUEST, fca_conn_on_req_body, c);
  fca_http1_init(&c->resp, HTTP_RESPONSE, fca_conn_on_resp_body, c);
  c->next = w->conns;
  if (w->conns) w->conns->prev = c;
  w->conns = c;
  w->nconns++;
  atomic_fetch_add(&w->stats->conns_total, 1);
  atomic_fetch_add(&w->stats->conns_open, 1);
  fca_conn_arm_timer(c, w->shared->cfg->header_timeout_ms);
  c->head_deadline = fca_mono_ms() + (int64_t)w->shared->cfg->header_timeout_ms;
}

void fca_conn_drain_all(fca_worker_t *w) {
  for (fca_conn_t *c = w->conns; c; c = c->next) {
    if (c->closing) continue;
    if (c->ss == RESP_NONE && c->rs == REQ_IDLE)
      fca_conn_close(c);
    else
      c->client_keep_alive = false;
  }
}

void fca_conn_close_all(fca_worker_t *w) {
  for (fca_conn_t *c = w->conns; c; c = c->next) fca_conn_close(c);
}
