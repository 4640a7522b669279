/* conn: one proxied client connection and the upstream it talks to (two symmetric endpoints).
 * Requests are handled one at a time: a pipelined request waits in the client's input until
 * the previous response has ended, so answers stay in order. Bytes move between the two
 * endpoints' evbuffers without copies (except a request head that must be rewritten);
 * each side stops reading while the other side's output is over --buffer-limit.
 * A connection is freed only from a deferred event (never inside an endpoint callback), and
 * only when no DNS lookup still refers to it. */
#include "fcaudit/conn.h"

#include "fcaudit/admin.h"
#include "fcaudit/audit.h"
#include "fcaudit/endpoint.h"
#include "fcaudit/http1.h"
#include "fcaudit/intercept.h"
#include "fcaudit/tlsctx.h"
#include "fcaudit/upool.h"
#include "fcaudit/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef enum {
  REQ_IDLE,      /* waiting for a request head */
  REQ_BODY,      /* forwarding the request body */
  REQ_DONE,      /* request forwarded; the next one waits for this response */
  REQ_TUNNEL,    /* bytes flow unparsed (CONNECT tunnel, upgraded connection) */
  REQ_PEEK,      /* CONNECT answered; waiting for the client's first bytes */
  REQ_HANDSHAKE, /* TLS handshake with the client (interception) */
} req_state_t;

typedef enum {
  RESP_NONE,       /* no exchange in progress */
  RESP_RESOLVING,  /* DNS lookup */
  RESP_CONNECTING, /* TCP connect (and TLS handshake) */
  RESP_PARENT,     /* waiting for --upstream-proxy's answer to our CONNECT */
  RESP_HEAD,       /* waiting for the response head */
  RESP_BODY,       /* forwarding the response body */
  RESP_TUNNEL,
} resp_state_t;

struct fca_conn {
  fca_worker_t *w;
  struct fca_conn *prev, *next;
  fca_ep_t *client, *up;
  char client_addr[64];
  fca_http1_t req, resp;
  req_state_t rs;
  resp_state_t ss;
  struct evbuffer *pending; /* request bytes produced before the upstream is connected */
  struct event *timer, *free_ev, *gc_ev;
  fca_ep_t **graveyard; /* endpoints closed inside callbacks, freed from gc_ev */
  size_t ngrave;
  struct evdns_getaddrinfo_request *dns_req;
  int refs; /* the connection itself + a DNS lookup in flight */
  bool closing, close_after_flush, freed_scheduled;
  bool client_keep_alive;
  bool response_started; /* bytes of a response went to the client */
  bool head_request;
  bool connect_tunnel;   /* CONNECT: after 200, bytes are tunnelled */
  bool connect_answered; /* the 200 to CONNECT was already sent */
  bool inner;            /* requests arrive inside a CONNECT tunnel (origin-form) */
  bool inner_tls;        /* ... decrypted with a minted certificate */
  bool up_tls;           /* the upstream speaks TLS */
  bool via_parent;       /* the upstream is reached through --upstream-proxy */
  bool to_admin;         /* the request is for fcaudit.test: served by the admin listener */
  bool shut_up_pending;  /* the client half-closed a tunnel: shut the upstream's write side */
  char tunnel_host[256]; /* the CONNECT target */
  int tunnel_host_port;
  char *url;                /* the current request's absolute URL */
  fca_audit_exchange_t *ax; /* the audit of the current exchange */
  bool up_reusable;         /* the upstream is idle after a complete keep-alive response */
  bool up_reused;           /* the current exchange runs on a reused upstream */
  bool retried;             /* the current request was already re-sent once */
  struct evbuffer *retry;   /* a bodiless request sent on a reused upstream, to re-send once if
                               the origin had closed it */
  bool ax_body;             /* the audit inspects this response's body */
  int64_t head_deadline;    /* header timeout for a partial request head */
  /* the current exchange's target */
  char host[256];
  int port;
  char up_key[300]; /* "host:port" the upstream connection is for */
  fca_route_t route;
  size_t addr_next;
  struct evutil_addrinfo *addrs;
};

static void process_client(fca_conn_t *c);
static void process_upstream(fca_conn_t *c);
static void conn_close(fca_conn_t *c);
static void update_reading(fca_conn_t *c);
static void start_upstream(fca_conn_t *c);
static void audit_end(fca_conn_t *c, bool complete);
static void release_upstream(fca_conn_t *c);

static const fca_config_t *cfg_of(fca_conn_t *c) { return c->w->shared->cfg; }

/* ---- timers ---- */

static void on_timer(evutil_socket_t fd, short what, void *arg);

static void arm_timer(fca_conn_t *c, uint64_t ms) {
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
  for (size_t i = 0; i < c->ngrave; i++) fca_ep_free(c->graveyard[i]);
  free(c->graveyard);
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

static void conn_close(fca_conn_t *c) {
  if (c->closing) return;
  c->closing = true;
  audit_end(c, false);
  event_del(c->timer);
  if (c->client) fca_ep_shutdown(c->client);
  release_upstream(c);
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
  for (size_t i = 0; i < c->ngrave; i++) fca_ep_free(c->graveyard[i]);
  c->ngrave = 0;
}

/* The upstream may be closed from inside its own callback: it is shut down now (no more
 * events) and freed from a deferred event. */
static void close_upstream(fca_conn_t *c) {
  c->up_reusable = false;
  if (!c->up) return;
  fca_ep_shutdown(c->up);
  c->graveyard = fca_xrealloc(c->graveyard, (c->ngrave + 1) * sizeof *c->graveyard);
  c->graveyard[c->ngrave++] = c->up;
  event_active(c->gc_ev, EV_READ, 0);
  c->up = NULL;
  c->up_key[0] = '\0';
}

/* An idle upstream after a complete keep-alive response goes to the worker's pool for the
 * next client; any other is closed. */
static void release_upstream(fca_conn_t *c) {
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
  close_upstream(c);
}

/* Flushes what the client still has to receive, then closes. */
static void close_after_flush(fca_conn_t *c) {
  if (c->closing) return;
  c->close_after_flush = true;
  fca_ep_set_reading(c->client, false);
  if (c->up && c->ss != RESP_BODY && c->ss != RESP_TUNNEL) fca_ep_set_reading(c->up, false);
  fca_ep_flush(c->client);
  if (!c->closing && evbuffer_get_length(fca_ep_output(c->client)) == 0)
    conn_close(c);
  else if (!c->closing)
    arm_timer(c, cfg_of(c)->idle_timeout_ms);
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
  case 508: return "Loop Detected";
  default: return "Error";
  }
}

static void send_error(fca_conn_t *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void send_error(fca_conn_t *c, int status, const char *fmt, ...) {
  char msg[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  atomic_fetch_add(&c->w->stats->errors, 1);
  fca_warn("%s: %d %s: %s", c->client_addr, status, reason_phrase(status), msg);
  if (c->response_started || c->closing) {
    conn_close(c);
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
  close_upstream(c);
  c->ss = RESP_NONE;
  close_after_flush(c);
}

/* ---- backpressure ---- */

static struct evbuffer *request_sink(fca_conn_t *c) {
  return (c->up && c->ss != RESP_RESOLVING && c->ss != RESP_CONNECTING) ? fca_ep_output(c->up)
                                                                        : c->pending;
}

static void update_reading(fca_conn_t *c) {
  if (c->closing) return;
  size_t limit = (size_t)cfg_of(c)->buffer_limit;
  if (!c->close_after_flush) {
    bool on = evbuffer_get_length(fca_ep_input(c->client)) < limit &&
              evbuffer_get_length(request_sink(c)) < limit;
    fca_ep_set_reading(c->client, on);
  }
  if (c->up) {
    bool on = evbuffer_get_length(fca_ep_output(c->client)) < limit &&
              evbuffer_get_length(fca_ep_input(c->up)) < limit;
    fca_ep_set_reading(c->up, on);
  }
}

/* ---- the exchange ---- */

static void finish_exchange(fca_conn_t *c, bool upstream_reusable) {
  /* An origin that answered before the whole request body arrived still expects the rest: that
   * connection can serve nobody else. */
  if (c->rs != REQ_DONE) upstream_reusable = false;
  audit_end(c, true);
  c->ss = RESP_NONE;
  fca_http1_next(&c->resp);
  if (!upstream_reusable) {
    close_upstream(c);
  } else {
    event_del(c->timer);
    c->up_reusable = true;
  }
  if (!c->client_keep_alive || c->w->draining || c->rs == REQ_BODY) {
    close_after_flush(c);
    return;
  }
  c->rs = REQ_IDLE;
  c->response_started = false;
  fca_http1_next(&c->req);
  c->head_deadline = 0;
  arm_timer(c, cfg_of(c)->idle_timeout_ms);
  if (evbuffer_get_length(fca_ep_input(c->client)) > 0) process_client(c);
}

/* Moves n bytes of body (or tunnel) data from src to dst. */
static void move_bytes(struct evbuffer *src, struct evbuffer *dst, size_t n) {
  evbuffer_remove_buffer(src, dst, n);
}

/* Feeds body bytes at the start of `in` to the parser and moves those that belong to the
 * message to `out`. Returns 1 when the message ended, 0 if more is needed, -1 on error. */
static int pump_body(fca_http1_t *h, struct evbuffer *in, struct evbuffer *out, const char **why) {
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

static void start_tunnel(fca_conn_t *c) {
  c->rs = REQ_TUNNEL;
  c->ss = RESP_TUNNEL;
  arm_timer(c, cfg_of(c)->upstream_timeout_ms);
  struct evbuffer *cin = fca_ep_input(c->client);
  if (evbuffer_get_length(cin)) evbuffer_add_buffer(request_sink(c), cin);
  if (c->up) {
    struct evbuffer *uin = fca_ep_input(c->up);
    if (evbuffer_get_length(uin)) evbuffer_add_buffer(fca_ep_output(c->client), uin);
    fca_ep_flush(c->up);
  }
  fca_ep_flush(c->client);
}

static void tunnel_pump(fca_conn_t *c) {
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
  if (!c->closing) arm_timer(c, cfg_of(c)->upstream_timeout_ms);
}

/* ---- requests ---- */

static bool check_auth(fca_conn_t *c, const fca_http_head_t *h) {
  const char *want = c->w->shared->auth_expected;
  if (!want) return true;
  size_t n;
  const char *v = fca_http_get(h, "Proxy-Authorization", &n);
  return v && n == strlen(want) && memcmp(v, want, n) == 0;
}

static bool same_sockaddr_port(const struct sockaddr *a, const fca_sockaddr_t *l) {
  const struct sockaddr *b = (const struct sockaddr *)&l->addr;
  if (a->sa_family != b->sa_family) return false;
  if (a->sa_family == AF_INET) {
    const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
    if (x->sin_port != y->sin_port) return false;
    return y->sin_addr.s_addr == htonl(INADDR_ANY) || x->sin_addr.s_addr == y->sin_addr.s_addr ||
           ((ntohl(x->sin_addr.s_addr) >> 24) == 127 && (ntohl(y->sin_addr.s_addr) >> 24) == 127);
  }
  if (a->sa_family == AF_INET6) {
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    if (x->sin6_port != y->sin6_port) return false;
    return IN6_IS_ADDR_UNSPECIFIED(&y->sin6_addr) ||
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
  }
  return false;
}

static bool is_self(fca_conn_t *c, const struct sockaddr *sa) {
  const fca_proxy_shared_t *s = c->w->shared;
  for (size_t i = 0; i < s->nlisten; i++)
    if (same_sockaddr_port(sa, &s->listen[i])) return true;
  return false;
}

/* ---- audit ---- */

static size_t audit_headers(const fca_http_head_t *h, fca_audit_header_t *out) {
  for (size_t i = 0; i < h->nfields; i++) {
    const fca_http_field_t *f = &h->fields[i];
    out[i].name = h->base + f->name_off;
    out[i].name_len = f->name_len;
    out[i].value = h->base + f->value_off;
    out[i].value_len = f->value_len;
  }
  return h->nfields;
}

static void audit_begin(fca_conn_t *c, const fca_http_head_t *h) {
  fca_audit_t *a = c->w->shared->audit;
  if (!a) return;
  fca_audit_header_t hdrs[FCA_HTTP_MAX_FIELDS];
  char client_id[64];
  snprintf(client_id, sizeof client_id, "%s", c->client_addr);
  char *colon = strrchr(client_id, ':'); /* "1.2.3.4:5" or "[::1]:5": drop the port */
  if (colon) *colon = '\0';
  fca_audit_request_t req = {
      .method = llhttp_method_name((llhttp_method_t)h->method),
      .url = c->url,
      .headers = hdrs,
      .nheaders = audit_headers(h, hdrs),
      .client = c->client_addr,
      .client_id = client_id,
      .now_ms = fca_now_ms(),
  };
  c->ax = fca_audit_begin(a, &req);
  c->ax_body = false;
}

static void audit_end(fca_conn_t *c, bool complete) {
  if (!c->ax) return;
  fca_audit_response_end(c->ax, complete);
  fca_audit_exchange_free(c->ax);
  c->ax = NULL;
  c->ax_body = false;
}

static void on_resp_body(void *ud, const char *data, size_t len) {
  fca_conn_t *c = ud;
  if (c->ax_body) fca_audit_response_body(c->ax, data, len);
}

/* --anticache: documents and scripts are fetched afresh so the audit sees them. */
static bool anticache_applies(const fca_http_head_t *h) {
  size_t n;
  const char *dest = fca_http_get(h, "Sec-Fetch-Dest", &n);
  if (dest) {
    return (n == 8 && strncasecmp(dest, "document", 8) == 0) ||
           (n == 6 && strncasecmp(dest, "iframe", 6) == 0) ||
           (n == 5 && strncasecmp(dest, "frame", 5) == 0) ||
           (n == 6 && strncasecmp(dest, "script", 6) == 0);
  }
  const char *accept = fca_http_get(h, "Accept", &n);
  return accept && memmem(accept, n, "text/html", 9) != NULL;
}

/* fcaudit's own pages, reachable through the proxy (".test" is reserved: never a real host). */
static bool is_admin_host(const char *host) { return strcasecmp(host, FCA_ADMIN_HOST) == 0; }

/* Where a CONNECT tunnel goes once the client's first bytes are known. */
static void handle_connect(fca_conn_t *c) {
  const fca_config_t *cfg = cfg_of(c);
  fca_route_t rt;
  fca_routes_lookup(c->w->shared->routes, c->host, c->port, &rt);
  bool admin = is_admin_host(c->host);
  /* Through --upstream-proxy every host goes to the parent the user named (as plain HTTP does). */
  bool parent = c->w->shared->parent_port != 0;
  if (!admin && !parent && cfg->only_resolved && !fca_route_allowed_offline(&rt, c->host)) {
    send_error(c, 403,
               "host '%s' is not allowed: --only-resolved forwards only hosts named by "
               "--resolve or --connect-to, and loopback addresses",
               c->host);
    return;
  }
  fca_http1_next(&c->req); /* requests inside the tunnel start afresh */
  c->tunnel_host_port = c->port;
  snprintf(c->tunnel_host, sizeof c->tunnel_host, "%s", c->host);
  if (!admin && !fca_intercept_wanted(c->w->shared, c->host)) {
    /* Blind tunnel: answer 200 once the origin is reachable. */
    c->connect_tunnel = true;
    c->rs = REQ_DONE;
    start_upstream(c);
    return;
  }
  /* Answer now and look at what the client sends first. */
  c->response_started = true;
  evbuffer_add_printf(fca_ep_output(c->client), "HTTP/1.1 200 Connection established\r\n\r\n");
  fca_ep_flush(c->client);
  if (c->closing) return;
  c->rs = REQ_PEEK;
  c->head_deadline = fca_mono_ms() + (int64_t)cfg->header_timeout_ms;
  arm_timer(c, cfg->header_timeout_ms);
}

/* The first bytes inside a CONNECT tunnel: TLS, plain HTTP, or something else. */
static void peek_tunnel(fca_conn_t *c) {
  struct evbuffer *in = fca_ep_input(c->client);
  size_t n = evbuffer_get_length(in);
  if (n == 0) return;
  unsigned char first[8] = {0};
  size_t k = n < sizeof first ? n : sizeof first;
  evbuffer_copyout(in, first, k);
  if (first[0] == 0x16) {
    SSL *ssl = fca_tls_server_ssl_new(c->w->tls_srv, c->tunnel_host);
    if (!ssl) {
      char e[200];
      fca_tls_errstr(e, sizeof e);
      fca_warn("%s: cannot intercept TLS for %s: %s", c->client_addr, c->tunnel_host, e);
      conn_close(c);
      return;
    }
    c->inner = true;
    c->inner_tls = true;
    c->rs = REQ_HANDSHAKE;
    fca_ep_start_tls(c->client, ssl, true);
    return;
  }
  /* An HTTP method is upper-case letters then a space. */
  size_t i = 0;
  while (i < k && first[i] >= 'A' && first[i] <= 'Z') i++;
  if (i > 0 && (i < k ? first[i] == ' ' : k < sizeof first)) {
    if (i == k) return; /* wait for more */
    c->inner = true;
    c->rs = REQ_IDLE;
    c->response_started = false;
    c->head_deadline = 0;
    process_client(c);
    return;
  }
  /* Neither: a blind tunnel (200 already sent). */
  c->connect_tunnel = true;
  c->connect_answered = true;
  snprintf(c->host, sizeof c->host, "%s", c->tunnel_host);
  c->port = c->tunnel_host_port;
  c->rs = REQ_DONE;
  start_upstream(c);
}

static void handle_request_head(fca_conn_t *c, size_t head_len) {
  struct evbuffer *in = fca_ep_input(c->client);
  const char *data = (const char *)evbuffer_pullup(in, (ev_ssize_t)head_len);
  const char *why = NULL;
  if (fca_http1_feed_head(&c->req, data, head_len, &why) < 0) {
    send_error(c, 400, "malformed request: %s", why);
    return;
  }
  fca_http_head_t *h = &c->req.head;
  atomic_fetch_add(&c->w->stats->requests, 1);
  c->client_keep_alive = h->keep_alive;
  c->response_started = false;
  c->head_request = (h->method == HTTP_HEAD);
  if (!c->inner && !check_auth(c, h)) {
    send_error(c, 407, "proxy authentication required");
    return;
  }
  const char *target = h->base + h->target_off;
  fca_target_t t;
  if (h->method == HTTP_CONNECT) {
    if (c->inner || fca_http_parse_authority(target, h->target_len, 0, &t) < 0) {
      send_error(c, 400, "CONNECT needs host:port, got '%.*s'", (int)h->target_len, target);
      return;
    }
    snprintf(c->host, sizeof c->host, "%s", t.host);
    c->port = t.port;
    c->to_admin = false; /* set per exchange: a keep-alive connection may have used it before */
    c->up_tls = false;
    evbuffer_drain(in, head_len);
    c->head_deadline = 0;
    handle_connect(c);
    return;
  }
  if (c->inner) {
    /* Inside a CONNECT tunnel: origin-form, to the tunnel's host. */
    if (h->target_len == 0 || (target[0] != '/' && target[0] != '*')) {
      send_error(c, 400, "expected an origin-form request inside the tunnel");
      return;
    }
    memset(&t, 0, sizeof t);
    snprintf(t.scheme, sizeof t.scheme, "%s", c->inner_tls ? "https" : "http");
    snprintf(t.host, sizeof t.host, "%s", c->tunnel_host);
    t.port = c->tunnel_host_port;
    t.path = target;
    t.path_len = h->target_len;
  } else if (fca_http_parse_absolute(target, h->target_len, &t) < 0) {
    if (h->target_len > 0 && target[0] == '/')
      send_error(c, 400,
                 "this is a proxy: send absolute-form requests (e.g. curl -x http://HOST:PORT "
                 "http://example.test/)");
    else
      send_error(c, 400, "bad request target '%.*s'", (int)h->target_len, target);
    return;
  } else if (strcmp(t.scheme, "http") != 0) {
    send_error(c, 400,
               "only http:// URLs can be sent to a proxy in the clear; use CONNECT for "
               "https");
    return;
  }
  snprintf(c->host, sizeof c->host, "%s", t.host);
  c->port = t.port;
  c->to_admin = is_admin_host(t.host);
  c->up_tls = (strcmp(t.scheme, "https") == 0) && !c->to_admin;
  if (c->to_admin && c->w->shared->admin_port == 0) {
    send_error(c, 503,
               "fcaudit's admin pages are off (--admin off); start fcaudit with "
               "--admin 127.0.0.1:8081 to use http://" FCA_ADMIN_HOST "/");
    return;
  }

  /* Build what goes upstream: the request line in origin-form, then the head without its
   * hop-by-hop fields. A request inside a tunnel is already origin-form. */
  char portpart[8] = "";
  if (t.port != (c->up_tls ? 443 : 80)) snprintf(portpart, sizeof portpart, ":%d", t.port);
  bool v6 = strchr(t.host, ':') != NULL;
  char hostport[300];
  snprintf(hostport, sizeof hostport, "%s%s%s%s", v6 ? "[" : "", t.host, v6 ? "]" : "", portpart);
  static const char *const anticache_drop[] = {"If-None-Match", "If-Modified-Since", NULL};
  const char *const *drop = (cfg_of(c)->anticache && anticache_applies(h)) ? anticache_drop : NULL;
  if (c->inner && !drop && !fca_http_has_hop_by_hop(h)) {
    evbuffer_add(c->pending, h->base, h->len);
  } else if (c->inner) {
    fca_http_write_filtered(c->pending, h, NULL, 0, h->upgrade, NULL, drop);
  } else {
    char line[8192];
    const char *method = llhttp_method_name((llhttp_method_t)h->method);
    /* Through a parent proxy a plain-HTTP request stays in absolute-form. */
    bool absolute = c->w->shared->parent_port != 0 && !c->to_admin;
    int n = absolute ? snprintf(line, sizeof line, "%s %.*s HTTP/%d.%d\r\n", method,
                                (int)h->target_len, target, h->major, h->minor)
                     : snprintf(line, sizeof line, "%s %.*s HTTP/%d.%d\r\n", method,
                                t.path_len ? (int)t.path_len : 1, t.path_len ? t.path : "/",
                                h->major, h->minor);
    if (n < 0 || (size_t)n >= sizeof line) {
      send_error(c, 414, "request target too long");
      return;
    }
    /* An HTTP/1.0 client may omit Host; the origin gets one from the URL. */
    fca_http_write_filtered(c->pending, h, line, (size_t)n, h->upgrade, hostport, drop);
  }
  free(c->url);
  c->url = fca_xasprintf("%s://%s%.*s", t.scheme, hostport, t.path_len ? (int)t.path_len : 1,
                         t.path_len ? t.path : "/");
  audit_end(c, false); /* a previous exchange that never ended */
  audit_begin(c, h);
  evbuffer_drain(in, head_len);
  c->head_deadline = 0;

  if (c->req.msg_done)
    c->rs = REQ_DONE;
  else
    c->rs = REQ_BODY;
  start_upstream(c);
}

static void process_client(fca_conn_t *c) {
  if (c->closing || c->close_after_flush) return;
  struct evbuffer *in = fca_ep_input(c->client);
  if (c->rs == REQ_TUNNEL) {
    tunnel_pump(c);
    update_reading(c);
    return;
  }
  if (c->rs == REQ_PEEK) {
    peek_tunnel(c);
    if (c->closing || c->rs != REQ_IDLE) return;
  }
  if (c->rs == REQ_HANDSHAKE) return;
  if (c->rs == REQ_IDLE && c->ss == RESP_NONE) {
    if (evbuffer_get_length(in) == 0) return;
    ssize_t hl = fca_http1_head_length(in, (size_t)cfg_of(c)->max_header_size);
    if (hl < 0) {
      send_error(c, 431, "request head is larger than --max-header-size (%llu bytes)",
                 (unsigned long long)cfg_of(c)->max_header_size);
      return;
    }
    if (hl == 0) {
      if (!c->head_deadline) {
        c->head_deadline = fca_mono_ms() + (int64_t)cfg_of(c)->header_timeout_ms;
        arm_timer(c, cfg_of(c)->header_timeout_ms);
      }
      update_reading(c);
      return;
    }
    handle_request_head(c, (size_t)hl);
    if (c->closing || c->close_after_flush) return;
  }
  if (c->rs == REQ_BODY) {
    const char *why = NULL;
    int r = pump_body(&c->req, in, request_sink(c), &why);
    if (r < 0) {
      send_error(c, 400, "malformed request body: %s", why);
      return;
    }
    if (r == 1) c->rs = REQ_DONE;
    /* A slow upload that still progresses is not an origin that stays silent. */
    if (c->ss == RESP_HEAD) arm_timer(c, cfg_of(c)->upstream_timeout_ms);
    if (c->up && request_sink(c) == fca_ep_output(c->up)) fca_ep_flush(c->up);
  }
  update_reading(c);
}

/* ---- upstream ---- */

static void on_up_read(fca_ep_t *ep, void *ud);
static void on_up_drain(fca_ep_t *ep, void *ud);
static void on_up_event(fca_ep_t *ep, int what, void *ud);
static const fca_ep_cbs_t up_cbs = {on_up_read, on_up_drain, on_up_event};

static void upstream_ready(fca_conn_t *c) {
  if (c->connect_tunnel) {
    /* The CONNECT target is reachable: tell the client, then tunnel. */
    c->response_started = true;
    if (!c->connect_answered)
      evbuffer_add_printf(fca_ep_output(c->client), "HTTP/1.1 200 Connection established\r\n\r\n");
    c->ss = RESP_TUNNEL;
    evbuffer_add_buffer(fca_ep_output(c->up), c->pending);
    start_tunnel(c);
    update_reading(c);
    return;
  }
  c->ss = RESP_HEAD;
  c->up_reusable = false;
  evbuffer_drain(c->retry, evbuffer_get_length(c->retry));
  size_t plen = evbuffer_get_length(c->pending);
  int m = c->req.head.method;
  bool safe = m == HTTP_GET || m == HTTP_HEAD || m == HTTP_OPTIONS;
  if (c->up_reused && !c->retried && safe && c->rs == REQ_DONE && plen <= 65536)
    evbuffer_add(c->retry, evbuffer_pullup(c->pending, (ev_ssize_t)plen), plen);
  evbuffer_add_buffer(fca_ep_output(c->up), c->pending);
  fca_ep_flush(c->up);
  if (c->closing) return;
  arm_timer(c, cfg_of(c)->upstream_timeout_ms);
  process_client(c); /* a request body may be waiting */
}

static void try_connect(fca_conn_t *c);

static bool more_addresses(fca_conn_t *c) {
  struct evutil_addrinfo *ai = c->addrs;
  for (size_t i = 0; ai && i < c->addr_next; i++) ai = ai->ai_next;
  return ai != NULL;
}

static void connect_failed(fca_conn_t *c, const char *why) {
  if (more_addresses(c)) {
    fca_debug("%s: %s:%d: %s, trying the next address", c->client_addr, c->host, c->port, why);
    try_connect(c);
    return;
  }
  send_error(c, 502, "cannot connect to %s:%d: %s", c->host, c->port, why);
}

static void connect_addr(fca_conn_t *c, const struct sockaddr *sa, socklen_t len) {
  if (is_self(c, sa)) {
    send_error(c, 508, "request for %s:%d points at this proxy itself", c->host, c->port);
    return;
  }
  int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    connect_failed(c, strerror(errno));
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, sa, len) < 0 && errno != EINPROGRESS) {
    int e = errno;
    close(fd);
    connect_failed(c, strerror(e));
    return;
  }
  c->up = fca_ep_new(c->w->base, fd, true, &up_cbs, c);
  fca_ep_set_low_watermark(c->up, (size_t)cfg_of(c)->buffer_limit / 2);
  const fca_proxy_shared_t *sh = c->w->shared;
  if (sh->parent_port && !c->up_tls && !c->inner && !c->connect_tunnel && !c->to_admin)
    snprintf(c->up_key, sizeof c->up_key, "parent://%s:%d", sh->parent_host, sh->parent_port);
  else
    snprintf(c->up_key, sizeof c->up_key, "%s://%s:%d", c->up_tls ? "https" : "http", c->host,
             c->port);
  c->ss = RESP_CONNECTING;
  arm_timer(c, cfg_of(c)->connect_timeout_ms);
}

static void try_connect(fca_conn_t *c) {
  struct evutil_addrinfo *ai = c->addrs;
  for (size_t i = 0; ai && i < c->addr_next; i++) ai = ai->ai_next;
  if (!ai) {
    send_error(c, 502, "cannot connect to %s:%d", c->host, c->port);
    return;
  }
  c->addr_next++;
  connect_addr(c, ai->ai_addr, ai->ai_addrlen);
}

static void on_dns(int result, struct evutil_addrinfo *res, void *arg) {
  fca_conn_t *c = arg;
  c->refs--;
  c->dns_req = NULL;
  if (c->closing) {
    if (res) evutil_freeaddrinfo(res);
    if (c->refs == 0) event_active(c->free_ev, EV_READ, 0);
    return;
  }
  if (result != 0 || !res) {
    if (res) evutil_freeaddrinfo(res);
    send_error(c, 502, "cannot resolve host '%s': %s", c->route.host, evutil_gai_strerror(result));
    return;
  }
  /* evdns leaves the port to us: set it on every address. */
  for (struct evutil_addrinfo *ai = res; ai; ai = ai->ai_next) {
    if (ai->ai_family == AF_INET)
      ((struct sockaddr_in *)ai->ai_addr)->sin_port = htons(c->route.port);
    else if (ai->ai_family == AF_INET6)
      ((struct sockaddr_in6 *)ai->ai_addr)->sin6_port = htons(c->route.port);
  }
  c->addrs = res;
  c->addr_next = 0;
  try_connect(c);
}

static void open_upstream(fca_conn_t *c);

static void start_upstream(fca_conn_t *c) {
  char key[300];
  const fca_proxy_shared_t *sh = c->w->shared;
  if (sh->parent_port && !c->up_tls && !c->inner && !c->connect_tunnel && !c->to_admin)
    snprintf(key, sizeof key, "parent://%s:%d", sh->parent_host, sh->parent_port);
  else
    snprintf(key, sizeof key, "%s://%s:%d", c->up_tls ? "https" : "http", c->host, c->port);
  c->retried = false;
  if (c->up && c->up_reusable && strcmp(key, c->up_key) == 0 && !fca_ep_eof(c->up) &&
      evbuffer_get_length(fca_ep_input(c->up)) == 0 && !c->connect_tunnel) {
    c->up_reused = true;
    atomic_fetch_add(&c->w->stats->upstream_reused, 1);
    upstream_ready(c); /* keep-alive reuse */
    return;
  }
  release_upstream(c);
  if (!c->connect_tunnel && c->w->upool) {
    fca_ep_t *ep = fca_upool_take(c->w->upool, key);
    if (ep) {
      c->up = ep;
      fca_ep_set_cbs(ep, &up_cbs, c);
      snprintf(c->up_key, sizeof c->up_key, "%s", key);
      c->up_reused = true;
      atomic_fetch_add(&c->w->stats->upstream_reused, 1);
      fca_debug("%s: reusing an idle connection to %s", c->client_addr, key);
      upstream_ready(c);
      return;
    }
  }
  c->up_reused = false;
  open_upstream(c);
}

/* A new upstream connection: route, resolve, connect. */
static void open_upstream(fca_conn_t *c) {
  if (c->addrs) {
    evutil_freeaddrinfo(c->addrs);
    c->addrs = NULL;
  }
  const fca_proxy_shared_t *sh = c->w->shared;
  c->via_parent = sh->parent_port != 0 && !c->to_admin;
  if (c->to_admin) {
    /* The admin listener, on loopback: no route, no parent, no DNS. */
    memset(&c->route, 0, sizeof c->route);
    snprintf(c->route.host, sizeof c->route.host, "%s", sh->admin_host);
    snprintf(c->route.addrs[0], sizeof c->route.addrs[0], "%s", sh->admin_host);
    c->route.port = sh->admin_port;
    c->route.n_addrs = 1;
    c->route.named = true;
  } else if (c->via_parent) {
    /* Every upstream goes through the parent proxy (named by the user: always allowed). */
    fca_routes_lookup(sh->routes, sh->parent_host, sh->parent_port, &c->route);
    c->route.named = true;
  } else {
    fca_routes_lookup(sh->routes, c->host, c->port, &c->route);
  }
  if (!c->to_admin && cfg_of(c)->only_resolved && !fca_route_allowed_offline(&c->route, c->host)) {
    send_error(c, 403,
               "host '%s' is not allowed: --only-resolved forwards only hosts named by "
               "--resolve or --connect-to, and loopback addresses",
               c->host);
    return;
  }
  arm_timer(c, cfg_of(c)->connect_timeout_ms);
  if (c->route.n_addrs > 0) {
    /* Literal addresses: build the list ourselves, no resolver involved. */
    struct evutil_addrinfo *head = NULL, **tail = &head;
    for (size_t i = 0; i < c->route.n_addrs; i++) {
      struct evutil_addrinfo hints = {0}, *r = NULL;
      hints.ai_family = AF_UNSPEC;
      hints.ai_socktype = SOCK_STREAM;
      hints.ai_flags = EVUTIL_AI_NUMERICHOST | EVUTIL_AI_NUMERICSERV;
      char port[8];
      snprintf(port, sizeof port, "%d", c->route.port);
      if (evutil_getaddrinfo(c->route.addrs[i], port, &hints, &r) == 0 && r) {
        *tail = r;
        while (*tail) tail = &(*tail)->ai_next;
      }
    }
    c->addrs = head;
    c->addr_next = 0;
    try_connect(c);
    return;
  }
  c->ss = RESP_RESOLVING;
  struct evutil_addrinfo hints = {0};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  c->refs++;
  struct evdns_getaddrinfo_request *req =
      evdns_getaddrinfo(c->w->dns, c->route.host, NULL, &hints, on_dns, c);
  /* The callback may already have run (hosts file, cache). */
  if (c->refs > 0) c->dns_req = req;
}

static void handle_response_head(fca_conn_t *c, size_t head_len) {
  struct evbuffer *in = fca_ep_input(c->up);
  const char *data = (const char *)evbuffer_pullup(in, (ev_ssize_t)head_len);
  const char *why = NULL;
  c->resp.skip_body = c->head_request;
  if (fca_http1_feed_head(&c->resp, data, head_len, &why) < 0) {
    send_error(c, 502, "%s:%d sent a malformed response: %s", c->host, c->port, why);
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
  if (c->ax && !switching && (h->status < 100 || h->status >= 200)) {
    fca_audit_header_t hdrs[FCA_HTTP_MAX_FIELDS];
    fca_audit_response_head(c->ax, h->status, hdrs, audit_headers(h, hdrs));
    c->ax_body = fca_audit_wants_body(c->ax);
  }
  evbuffer_drain(in, head_len);
  h->base = NULL; /* its bytes are gone; only the parsed numbers remain valid */
  if (switching) {
    audit_end(c, true);
    start_tunnel(c);
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
    finish_exchange(c, h->keep_alive && evbuffer_get_length(in) == 0);
    return;
  }
  c->ss = RESP_BODY;
}

static void upstream_connected(fca_conn_t *c, fca_ep_t *ep);

/* The parent proxy's answer to CONNECT: 2xx opens the tunnel, anything else is passed on as
 * the reason of a 502. */
static void parent_answer(fca_conn_t *c) {
  struct evbuffer *in = fca_ep_input(c->up);
  ssize_t hl = fca_http1_head_length(in, (size_t)cfg_of(c)->max_header_size);
  if (hl == 0) return;
  if (hl < 0) {
    send_error(c, 502, "the upstream proxy sent an oversized answer to CONNECT");
    return;
  }
  char line[128] = "";
  size_t n = (size_t)hl < sizeof line - 1 ? (size_t)hl : sizeof line - 1;
  evbuffer_copyout(in, line, n);
  line[n] = '\0';
  line[strcspn(line, "\r\n")] = '\0';
  evbuffer_drain(in, (size_t)hl);
  if (strncmp(line, "HTTP/1.", 7) != 0 || strlen(line) < 12 || line[9] != '2') {
    send_error(c, 502, "the upstream proxy refused CONNECT %s:%d: %s", c->host, c->port, line);
    return;
  }
  c->ss = RESP_CONNECTING;
  upstream_connected(c, c->up);
}

static void process_upstream(fca_conn_t *c) {
  if (c->closing || !c->up) return;
  struct evbuffer *in = fca_ep_input(c->up);
  if (c->ss == RESP_TUNNEL) {
    tunnel_pump(c);
    update_reading(c);
    return;
  }
  if (c->ss == RESP_NONE) {
    if (evbuffer_get_length(in) > 0) close_upstream(c); /* unsolicited bytes on an idle link */
    return;
  }
  if (c->ss == RESP_PARENT) {
    parent_answer(c);
    return;
  }
  arm_timer(c, cfg_of(c)->upstream_timeout_ms);
  fca_ep_t *up = c->up;
  while (!c->closing && c->up == up && (c->ss == RESP_HEAD || c->ss == RESP_BODY) &&
         evbuffer_get_length(in) > 0) {
    if (c->ss == RESP_HEAD) {
      ssize_t hl = fca_http1_head_length(in, (size_t)cfg_of(c)->max_header_size);
      if (hl < 0) {
        send_error(c, 502, "%s:%d sent a response head larger than --max-header-size", c->host,
                   c->port);
        return;
      }
      if (hl == 0) break;
      handle_response_head(c, (size_t)hl);
      continue;
    }
    const char *why = NULL;
    int r = pump_body(&c->resp, in, fca_ep_output(c->client), &why);
    fca_ep_flush(c->client);
    if (c->closing) return;
    if (r < 0) {
      fca_warn("%s: %s:%d sent a malformed response body: %s", c->client_addr, c->host, c->port,
               why);
      conn_close(c);
      return;
    }
    if (r == 1) {
      bool reuse = c->resp.head.keep_alive && evbuffer_get_length(in) == 0;
      finish_exchange(c, reuse);
    }
    break;
  }
  if (!c->closing && c->up && c->ss == RESP_TUNNEL) tunnel_pump(c);
  if (!c->closing) fca_ep_flush(c->client);
  update_reading(c);
}

/* A kept-alive upstream may have been closed by the origin just as we sent on it: a bodiless
 * request that got no byte of answer is sent once more on a new connection. */
static bool retry_request(fca_conn_t *c) {
  if (!c->up_reused || c->retried || c->response_started || evbuffer_get_length(c->retry) == 0 ||
      evbuffer_get_length(fca_ep_input(c->up)) > 0)
    return false;
  fca_debug("%s: %s:%d closed a reused connection; sending the request again", c->client_addr,
            c->host, c->port);
  close_upstream(c);
  c->retried = true;
  c->up_reused = false;
  evbuffer_add_buffer(c->pending, c->retry);
  fca_http1_next(&c->resp);
  open_upstream(c);
  return true;
}

static void upstream_eof(fca_conn_t *c) {
  if (c->ss == RESP_TUNNEL) {
    /* Deliver what is left, then close the client too. */
    tunnel_pump(c);
    close_after_flush(c);
    return;
  }
  if (c->ss == RESP_NONE) {
    close_upstream(c); /* an idle keep-alive connection went away */
    return;
  }
  if (c->ss == RESP_BODY) {
    process_upstream(c);
    if (c->closing || c->ss != RESP_BODY) return;
    int r = fca_http1_finish(&c->resp);
    if (r == 1) {
      fca_ep_flush(c->client);
      c->client_keep_alive = false; /* a close-delimited body ends with the connection */
      finish_exchange(c, false);
      return;
    }
    fca_warn("%s: %s:%d closed the connection in the middle of a response", c->client_addr, c->host,
             c->port);
    close_after_flush(c);
    return;
  }
  if (c->ss == RESP_HEAD) {
    process_upstream(c);
    if (c->closing || c->ss != RESP_HEAD) return;
    if (retry_request(c)) return;
  }
  send_error(c, 502, "%s:%d closed the connection without a complete response", c->host, c->port);
}

/* The client half-closed a tunnel: the origin is told once everything it sent is delivered. */
static void shut_upstream_write(fca_conn_t *c) {
  c->shut_up_pending = false;
  if (!c->up) return;
  if (fca_ep_is_tls(c->up)) SSL_shutdown(fca_ep_ssl(c->up)); /* close_notify, then the FIN */
  shutdown(fca_ep_fd(c->up), SHUT_WR);
}

static void on_up_read(fca_ep_t *ep, void *ud) {
  (void)ep;
  fca_conn_t *c = ud;
  process_upstream(c);
}

static void on_up_drain(fca_ep_t *ep, void *ud) {
  fca_conn_t *c = ud;
  if (c->closing) return;
  if (c->shut_up_pending && evbuffer_get_length(fca_ep_output(ep)) == 0) shut_upstream_write(c);
  if (c->rs == REQ_BODY || c->rs == REQ_TUNNEL)
    process_client(c);
  else
    update_reading(c);
}

/* TCP is up (directly or through the parent's tunnel): TLS next, or ready. */
static void upstream_connected(fca_conn_t *c, fca_ep_t *ep) {
  if (c->up_tls && !c->connect_tunnel) {
    SSL *ssl = fca_tls_client_ssl_new(c->w->tls_cli, c->host, c->port);
    if (!ssl) {
      char e[200];
      fca_tls_errstr(e, sizeof e);
      send_error(c, 502, "cannot start TLS to %s:%d: %s", c->host, c->port, e);
      return;
    }
    fca_ep_start_tls(ep, ssl, false);
    return;
  }
  upstream_ready(c);
}

static void on_up_event(fca_ep_t *ep, int what, void *ud) {
  fca_conn_t *c = ud;
  if (c->closing) return;
  if ((what & FCA_EP_CONNECTED) && c->via_parent && (c->up_tls || c->inner || c->connect_tunnel)) {
    /* Ask the parent proxy for a tunnel to the origin first. */
    bool v6 = strchr(c->host, ':') != NULL;
    evbuffer_add_printf(fca_ep_output(ep), "CONNECT %s%s%s:%d HTTP/1.1\r\nHost: %s%s%s:%d\r\n\r\n",
                        v6 ? "[" : "", c->host, v6 ? "]" : "", c->port, v6 ? "[" : "", c->host,
                        v6 ? "]" : "", c->port);
    fca_ep_flush(ep);
    c->ss = RESP_PARENT;
    return;
  }
  if (what & FCA_EP_CONNECTED) {
    upstream_connected(c, ep);
    return;
  }
  if (what & FCA_EP_HANDSHAKE) {
    upstream_ready(c);
    return;
  }
  if (what & FCA_EP_EOF) {
    upstream_eof(c);
    return;
  }
  if (what & FCA_EP_ERROR) {
    if (c->ss == RESP_CONNECTING && fca_ep_is_tls(ep)) {
      long vr = SSL_get_verify_result(fca_ep_ssl(ep));
      if (vr != X509_V_OK)
        send_error(c, 502, "TLS verification of %s:%d failed: %s", c->host, c->port,
                   fca_tls_verify_reason(vr));
      else
        send_error(c, 502, "TLS handshake with %s:%d failed: %s", c->host, c->port,
                   fca_ep_error(ep));
      return;
    }
    if (c->ss == RESP_CONNECTING) {
      char why[200];
      snprintf(why, sizeof why, "%s", fca_ep_error(ep));
      close_upstream(c);
      connect_failed(c, why);
      return;
    }
    if (c->ss == RESP_NONE) {
      close_upstream(c);
      return;
    }
    if (c->ss == RESP_HEAD && retry_request(c)) return;
    if (!c->response_started)
      send_error(c, 502, "connection to %s:%d failed: %s", c->host, c->port, fca_ep_error(ep));
    else {
      fca_warn("%s: connection to %s:%d failed mid-response: %s", c->client_addr, c->host, c->port,
               fca_ep_error(ep));
      close_after_flush(c);
    }
  }
}

/* ---- client ---- */

static void on_client_read(fca_ep_t *ep, void *ud) {
  (void)ep;
  process_client(ud);
}

static void on_client_drain(fca_ep_t *ep, void *ud) {
  fca_conn_t *c = ud;
  if (c->closing) return;
  if (c->close_after_flush) {
    if (evbuffer_get_length(fca_ep_output(ep)) == 0) conn_close(c);
    return;
  }
  if (c->up && (c->ss == RESP_BODY || c->ss == RESP_TUNNEL || c->ss == RESP_HEAD))
    process_upstream(c);
  else
    update_reading(c);
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
    arm_timer(c, cfg_of(c)->idle_timeout_ms);
    process_client(c);
    return;
  }
  if (what & FCA_EP_ERROR) {
    if (c->rs == REQ_HANDSHAKE) {
      atomic_fetch_add(&c->w->stats->tls_failures, 1);
      fca_intercept_rejected(c->w->shared, c->tunnel_host, c->client_addr, fca_ep_error(ep));
      conn_close(c);
      return;
    }
    fca_debug("%s: client connection: %s", c->client_addr, fca_ep_error(ep));
    conn_close(c);
    return;
  }
  if (what & FCA_EP_EOF) {
    if (c->rs == REQ_HANDSHAKE) {
      atomic_fetch_add(&c->w->stats->tls_failures, 1);
      fca_intercept_rejected(c->w->shared, c->tunnel_host, c->client_addr,
                             "the client closed the connection during the TLS handshake");
      conn_close(c);
      return;
    }
    process_client(c);
    if (c->closing) return;
    if (c->rs == REQ_TUNNEL) {
      /* Half-close: deliver what the client sent, then pass the close on (from on_up_drain when
       * bytes are still queued). */
      if (c->up && c->ss == RESP_TUNNEL) {
        c->shut_up_pending = true;
        fca_ep_flush(c->up);
        if (!c->closing && c->up && evbuffer_get_length(fca_ep_output(c->up)) == 0)
          shut_upstream_write(c);
      } else {
        conn_close(c);
      }
      return;
    }
    if (c->rs == REQ_DONE && c->ss != RESP_NONE) {
      c->client_keep_alive = false; /* answer what was asked, then close */
      return;
    }
    /* Nothing more will be asked: deliver what is still queued for the client, then close. */
    close_after_flush(c);
  }
}

static const fca_ep_cbs_t client_cbs = {on_client_read, on_client_drain, on_client_event};

static void on_timer(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  fca_conn_t *c = arg;
  if (c->closing) return;
  if (c->close_after_flush) {
    conn_close(c);
    return;
  }
  switch (c->ss) {
  case RESP_RESOLVING:
  case RESP_CONNECTING:
  case RESP_PARENT:
    send_error(c, 504, "connecting to %s:%d timed out (--connect-timeout)", c->host, c->port);
    return;
  case RESP_HEAD:
  case RESP_BODY:
    if (!c->response_started)
      send_error(c, 504, "%s:%d did not answer within --upstream-timeout", c->host, c->port);
    else {
      fca_warn("%s: %s:%d stalled mid-response (--upstream-timeout)", c->client_addr, c->host,
               c->port);
      conn_close(c);
    }
    return;
  case RESP_TUNNEL:
    conn_close(c); /* idle tunnel */
    return;
  case RESP_NONE: break;
  }
  if (c->rs == REQ_PEEK || c->rs == REQ_HANDSHAKE) {
    fca_info("%s: CONNECT %s: nothing usable received within --header-timeout; closing",
             c->client_addr, c->tunnel_host);
    conn_close(c);
    return;
  }
  if (c->head_deadline) {
    send_error(c, 408, "request head not received within --header-timeout");
    return;
  }
  conn_close(c); /* idle keep-alive connection */
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
  c->pending = evbuffer_new();
  c->retry = evbuffer_new();
  c->timer = event_new(w->base, -1, 0, on_timer, c);
  c->free_ev = event_new(w->base, -1, 0, on_free, c);
  c->gc_ev = event_new(w->base, -1, 0, on_gc, c);
  fca_http1_init(&c->req, HTTP_REQUEST, NULL, c);
  fca_http1_init(&c->resp, HTTP_RESPONSE, on_resp_body, c);
  c->next = w->conns;
  if (w->conns) w->conns->prev = c;
  w->conns = c;
  w->nconns++;
  atomic_fetch_add(&w->stats->conns_total, 1);
  atomic_fetch_add(&w->stats->conns_open, 1);
  arm_timer(c, w->shared->cfg->header_timeout_ms);
  c->head_deadline = fca_mono_ms() + (int64_t)w->shared->cfg->header_timeout_ms;
}

void fca_conn_drain_all(fca_worker_t *w) {
  for (fca_conn_t *c = w->conns; c; c = c->next) {
    if (c->closing) continue;
    if (c->ss == RESP_NONE && c->rs == REQ_IDLE)
      conn_close(c);
    else
      c->client_keep_alive = false;
  }
}

void fca_conn_close_all(fca_worker_t *w) {
  for (fca_conn_t *c = w->conns; c; c = c->next) conn_close(c);
}
