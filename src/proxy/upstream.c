/* upstream: an exchange's upstream lease: routes (--connect-to, --resolve, --upstream-proxy,
 * the admin host), DNS through evdns, connect with fallback to further addresses, TLS with
 * verification, the worker's pool of idle connections, one retry of a safe request on a reused
 * connection that turned out closed, and the upstream's events. */
#include "exchange_int.h"

#include "fcaudit/tlsctx.h"
#include "fcaudit/util.h"
#include "listener.h"
#include "upool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void on_up_read(fca_ep_t *ep, void *ud);
static void on_up_drain(fca_ep_t *ep, void *ud);
static void on_up_event(fca_ep_t *ep, int what, void *ud);
static const fca_ep_cbs_t up_cbs = {on_up_read, on_up_drain, on_up_event};
static void try_connect(fca_exch_t *x);
static void open_upstream(fca_exch_t *x);
static void upstream_connected(fca_exch_t *x, fca_ep_t *ep);

/* ---- the lease ---- */

static void free_ep(void *ep) { fca_ep_free(ep); }

/* The upstream may be closed from inside its own callback: it is shut down now (no more
 * events) and freed from a deferred event. */
void fca_exch_close_upstream(fca_exch_t *x) {
  x->up_reusable = false;
  x->shut_pending = false;
  if (!x->up) return;
  fca_ep_shutdown(x->up);
  if (fca_defer_add(&x->graveyard, free_ep, x->up)) event_active(x->gc_ev, EV_READ, 0);
  x->up = NULL;
  x->lease = UP_NONE;
  x->up_key[0] = '\0';
}

/* An idle upstream after a complete keep-alive response goes to the worker's pool for the
 * next exchange; any other is closed. */
void fca_exch_release_upstream(fca_exch_t *x) {
  if (!x->up) return;
  if (x->up_reusable && x->st == FCA_EXCH_IDLE && x->rq == XREQ_ENDED && !fca_ep_eof(x->up) &&
      x->w->upool && evbuffer_get_length(fca_ep_input(x->up)) == 0 &&
      evbuffer_get_length(fca_ep_output(x->up)) == 0) {
    fca_upool_put(x->w->upool, x->up_key, x->up);
    x->up = NULL;
    x->lease = UP_NONE;
    x->up_key[0] = '\0';
    x->up_reusable = false;
    return;
  }
  fca_exch_close_upstream(x);
}

void fca_exch_cancel_dns(fca_exch_t *x) {
  if (x->dns_req) {
    struct evdns_getaddrinfo_request *r = x->dns_req;
    x->dns_req = NULL;
    evdns_getaddrinfo_cancel(r);
  }
}

static bool uses_parent(const fca_exch_t *x) {
  return x->w->shared->parent_port && !x->tls && !x->inner && !x->blind && !x->admin;
}

static void make_key(const fca_exch_t *x, char *key, size_t n) {
  const fca_proxy_shared_t *sh = x->w->shared;
  if (uses_parent(x))
    snprintf(key, n, "parent://%s:%d", sh->parent_host, sh->parent_port);
  else
    snprintf(key, n, "%s://%s:%d", x->tls ? "https" : "http", x->host, x->port);
}

/* The connection is ready for the request (new, pooled or kept). */
static void upstream_ready(fca_exch_t *x) {
  atomic_fetch_add(&x->w->stats->forwarded, 1);
  if (x->blind) {
    /* The CONNECT target is reachable: the session answers, then bytes are tunnelled. */
    evbuffer_add_buffer(fca_ep_output(x->up), x->pending);
    fca_exch_tunnel_begin(x);
    return;
  }
  x->st = FCA_EXCH_HEAD;
  x->up_reusable = false;
  fca_exch_limit_reads(x); /* this exchange's bound (a pooled upstream kept its last one) */
  evbuffer_drain(x->retry, evbuffer_get_length(x->retry));
  size_t plen = evbuffer_get_length(x->pending);
  int m = x->method;
  bool safe = m == HTTP_GET || m == HTTP_HEAD || m == HTTP_OPTIONS;
  if (x->lease == UP_REUSED && !x->retried && safe && x->rq == XREQ_ENDED && plen <= 65536)
    evbuffer_add(x->retry, evbuffer_pullup(x->pending, (ev_ssize_t)plen), plen);
  evbuffer_add_buffer(fca_ep_output(x->up), x->pending);
  fca_ep_flush(x->up);
  if (x->closing) return;
  fca_exch_arm_timer(x, xcfg(x)->upstream_timeout_ms);
  x->ops->drained(x->sess, x); /* a request body may be waiting */
}

void fca_exch_start(fca_exch_t *x) {
  char key[300];
  make_key(x, key, sizeof key);
  x->retried = false;
  if (x->up && x->up_reusable && strcmp(key, x->up_key) == 0 && !fca_ep_eof(x->up) &&
      evbuffer_get_length(fca_ep_input(x->up)) == 0 && !x->blind) {
    x->lease = UP_REUSED;
    atomic_fetch_add(&x->w->stats->upstream_reused, 1);
    upstream_ready(x); /* keep-alive reuse */
    return;
  }
  /* A kept upstream of a previous request for another origin goes to the pool: it was marked
   * reusable only after that request ended. */
  xreq_state_t rq = x->rq;
  x->rq = XREQ_ENDED;
  fca_exch_release_upstream(x);
  x->rq = rq;
  if (!x->blind && x->w->upool) {
    fca_ep_t *ep = fca_upool_take(x->w->upool, key);
    if (ep) {
      x->up = ep;
      fca_ep_set_cbs(ep, &up_cbs, x);
      snprintf(x->up_key, sizeof x->up_key, "%s", key);
      x->lease = UP_REUSED;
      atomic_fetch_add(&x->w->stats->upstream_reused, 1);
      fca_debug("%s: reusing an idle connection to %s", x->client_addr, key);
      upstream_ready(x);
      return;
    }
  }
  open_upstream(x);
}

/* ---- a new connection: route, resolve, connect ---- */

static bool is_self(fca_exch_t *x, const struct sockaddr *a) {
  const fca_proxy_shared_t *s = x->w->shared;
  return fca_sockaddr_reaches_listener(a, s->listen, s->nlisten, s->local, s->nlocal);
}

bool fca_exch_local_connect_denied(const fca_worker_t *w, const struct sockaddr *sa) {
  const fca_config_t *cfg = w->shared->cfg;
  if (!cfg->allow_remote || cfg->allow_local_connect) return false;
  int port = sa->sa_family == AF_INET    ? ntohs(((const struct sockaddr_in *)sa)->sin_port)
             : sa->sa_family == AF_INET6 ? ntohs(((const struct sockaddr_in6 *)sa)->sin6_port)
                                         : 0;
  if (port == 443 || port == 8443) return false;
  const fca_proxy_shared_t *s = w->shared;
  return fca_sockaddr_is_this_host(sa, s->local, s->nlocal);
}

static bool more_addresses(fca_exch_t *x) {
  struct evutil_addrinfo *ai = x->addrs;
  for (size_t i = 0; ai && i < x->addr_next; i++) ai = ai->ai_next;
  return ai != NULL;
}

static void connect_failed(fca_exch_t *x, const char *why) {
  if (more_addresses(x)) {
    fca_debug("%s: %s:%d: %s, trying the next address", x->client_addr, x->host, x->port, why);
    try_connect(x);
    return;
  }
  fca_exch_fail(x, 502, "cannot connect to %s:%d: %s", x->host, x->port, why);
}

static void connect_addr(fca_exch_t *x, const struct sockaddr *sa, socklen_t len) {
  if (is_self(x, sa)) {
    fca_exch_fail(x, 508, "request for %s:%d points at this proxy itself", x->host, x->port);
    return;
  }
  if ((x->blind || x->inner) && !x->via_parent && !x->admin &&
      fca_exch_local_connect_denied(x->w, sa)) {
    fca_exch_fail(x, 403,
                  "CONNECT to port %d of this host is not allowed for remote clients; start "
                  "fcaudit with --allow-local-connect to allow it",
                  x->port);
    return;
  }
  int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    connect_failed(x, strerror(errno));
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, sa, len) < 0 && errno != EINPROGRESS) {
    int e = errno;
    close(fd);
    connect_failed(x, strerror(e));
    return;
  }
  x->up = fca_ep_new(x->w->base, fd, true, &up_cbs, x);
  x->lease = UP_FRESH;
  fca_ep_set_low_watermark(x->up, (size_t)xcfg(x)->buffer_limit / 2);
  make_key(x, x->up_key, sizeof x->up_key);
  x->st = FCA_EXCH_CONNECTING;
  fca_exch_arm_timer(x, xcfg(x)->connect_timeout_ms);
}

static void try_connect(fca_exch_t *x) {
  struct evutil_addrinfo *ai = x->addrs;
  for (size_t i = 0; ai && i < x->addr_next; i++) ai = ai->ai_next;
  if (!ai) {
    fca_exch_fail(x, 502, "cannot connect to %s:%d", x->host, x->port);
    return;
  }
  x->addr_next++;
  connect_addr(x, ai->ai_addr, ai->ai_addrlen);
}

static void on_dns(int result, struct evutil_addrinfo *res, void *arg) {
  fca_exch_t *x = arg;
  x->refs--;
  if (result == EVUTIL_EAI_CANCEL) { /* cancelled: dns_req was cleared then */
    if (res) evutil_freeaddrinfo(res);
    if (x->freed && x->refs == 0) event_active(x->free_ev, EV_READ, 0);
    return;
  }
  x->dns_req = NULL;
  if (x->closing || x->st != FCA_EXCH_RESOLVING) {
    if (res) evutil_freeaddrinfo(res);
    if (x->freed && x->refs == 0) event_active(x->free_ev, EV_READ, 0);
    return;
  }
  if (result != 0 || !res) {
    if (res) evutil_freeaddrinfo(res);
    fca_exch_fail(x, 502, "cannot resolve host '%s': %s", x->route.host,
                  evutil_gai_strerror(result));
    return;
  }
  /* evdns leaves the port to us: set it on every address. */
  for (struct evutil_addrinfo *ai = res; ai; ai = ai->ai_next) {
    if (ai->ai_family == AF_INET)
      ((struct sockaddr_in *)ai->ai_addr)->sin_port = htons(x->route.port);
    else if (ai->ai_family == AF_INET6)
      ((struct sockaddr_in6 *)ai->ai_addr)->sin6_port = htons(x->route.port);
  }
  x->addrs = res;
  x->addr_next = 0;
  try_connect(x);
}

static void open_upstream(fca_exch_t *x) {
  if (x->addrs) {
    evutil_freeaddrinfo(x->addrs);
    x->addrs = NULL;
  }
  const fca_proxy_shared_t *sh = x->w->shared;
  x->via_parent = sh->parent_port != 0 && !x->admin;
  if (x->admin) {
    /* The admin listener, on loopback: no route, no parent, no DNS. */
    memset(&x->route, 0, sizeof x->route);
    snprintf(x->route.host, sizeof x->route.host, "%s", sh->admin_host);
    snprintf(x->route.addrs[0], sizeof x->route.addrs[0], "%s", sh->admin_host);
    x->route.port = sh->admin_port;
    x->route.n_addrs = 1;
    x->route.named = true;
  } else if (x->via_parent) {
    /* Every upstream goes through the parent proxy (named by the user: always allowed). */
    fca_routes_lookup(sh->routes, sh->parent_host, sh->parent_port, &x->route);
    x->route.named = true;
  } else {
    fca_routes_lookup(sh->routes, x->host, x->port, &x->route);
  }
  if (!x->admin && xcfg(x)->only_resolved && !fca_route_allowed_offline(&x->route, x->host)) {
    x->refuse_policy = "--only-resolved";
    fca_exch_fail(x, 403,
                  "host '%s' is not allowed: --only-resolved forwards only hosts named by "
                  "--resolve or --connect-to, and loopback addresses",
                  x->host);
    return;
  }
  fca_exch_arm_timer(x, xcfg(x)->connect_timeout_ms);
  if (x->route.n_addrs > 0) {
    /* Literal addresses: build the list ourselves, no resolver involved. */
    struct evutil_addrinfo *head = NULL, **tail = &head;
    for (size_t i = 0; i < x->route.n_addrs; i++) {
      struct evutil_addrinfo hints = {0}, *r = NULL;
      hints.ai_family = AF_UNSPEC;
      hints.ai_socktype = SOCK_STREAM;
      hints.ai_flags = EVUTIL_AI_NUMERICHOST | EVUTIL_AI_NUMERICSERV;
      char port[8];
      snprintf(port, sizeof port, "%d", x->route.port);
      if (evutil_getaddrinfo(x->route.addrs[i], port, &hints, &r) == 0 && r) {
        *tail = r;
        while (*tail) tail = &(*tail)->ai_next;
      }
    }
    x->addrs = head;
    x->addr_next = 0;
    x->st = FCA_EXCH_CONNECTING;
    try_connect(x);
    return;
  }
  x->st = FCA_EXCH_RESOLVING;
  struct evutil_addrinfo hints = {0};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  x->refs++;
  struct evdns_getaddrinfo_request *req =
      evdns_getaddrinfo(x->w->dns, x->route.host, NULL, &hints, on_dns, x);
  /* The callback may already have run (hosts file, cache). */
  if (x->refs > 0) x->dns_req = req;
}

/* The parent proxy's answer to CONNECT: 2xx opens the tunnel, anything else is passed on as
 * the reason of a 502. */
void fca_exch_parent_answer(fca_exch_t *x) {
  struct evbuffer *in = fca_ep_input(x->up);
  ssize_t hl = fca_http1_head_length(in, (size_t)xcfg(x)->max_header_size);
  if (hl == 0) return;
  if (hl < 0) {
    fca_exch_fail(x, 502, "the upstream proxy sent an oversized answer to CONNECT");
    return;
  }
  char line[128] = "";
  size_t n = (size_t)hl < sizeof line - 1 ? (size_t)hl : sizeof line - 1;
  evbuffer_copyout(in, line, n);
  line[n] = '\0';
  line[strcspn(line, "\r\n")] = '\0';
  evbuffer_drain(in, (size_t)hl);
  if (strncmp(line, "HTTP/1.", 7) != 0 || strlen(line) < 12 || line[9] != '2') {
    fca_exch_fail(x, 502, "the upstream proxy refused CONNECT %s:%d: %s", x->host, x->port, line);
    return;
  }
  x->st = FCA_EXCH_CONNECTING;
  upstream_connected(x, x->up);
}

/* A kept-alive upstream may have been closed by the origin just as we sent on it: a bodiless
 * request that got no byte of answer is sent once more on a new connection. */
static bool retry_request(fca_exch_t *x) {
  if (x->lease != UP_REUSED || x->retried || x->answered || evbuffer_get_length(x->retry) == 0 ||
      evbuffer_get_length(fca_ep_input(x->up)) > 0)
    return false;
  fca_debug("%s: %s:%d closed a reused connection; sending the request again", x->client_addr,
            x->host, x->port);
  fca_exch_close_upstream(x);
  x->retried = true;
  evbuffer_add_buffer(x->pending, x->retry);
  fca_http1_next(&x->resp);
  open_upstream(x);
  return true;
}

static void upstream_eof(fca_exch_t *x) {
  if (x->st == FCA_EXCH_TUNNEL) {
    /* Deliver what is left, then close the client too. */
    fca_exch_process_upstream(x);
    if (x->closing) return;
    x->ops->tunnel_closed(x->sess, x);
    return;
  }
  if (x->st == FCA_EXCH_IDLE) {
    fca_exch_close_upstream(x); /* an idle keep-alive connection went away */
    return;
  }
  if (x->st == FCA_EXCH_BODY) {
    fca_exch_process_upstream(x);
    if (x->closing || x->st != FCA_EXCH_BODY) return;
    int r = fca_http1_finish(&x->resp);
    if (r == 1) {
      x->ops->flush(x->sess, x);
      if (x->closing) return;
      fca_exch_finish(x, false, true); /* a close-delimited body ends with the connection */
      return;
    }
    fca_warn("%s: %s:%d closed the connection in the middle of a response", x->client_addr, x->host,
             x->port);
    fca_exch_fail(x, FCA_EXCH_ABORT_FLUSH, NULL);
    return;
  }
  if (x->st == FCA_EXCH_HEAD) {
    fca_exch_process_upstream(x);
    if (x->closing || x->st != FCA_EXCH_HEAD) return;
    if (retry_request(x)) return;
  }
  fca_exch_fail(x, 502, "%s:%d closed the connection without a complete response", x->host,
                x->port);
}

/* ---- tunnels ---- */

static void shut_now(fca_exch_t *x) {
  x->shut_pending = false;
  if (x->up) fca_ep_shutdown_write(x->up);
}

void fca_exch_shut_write(fca_exch_t *x) {
  if (!x->up) return;
  x->shut_pending = true;
  fca_ep_flush(x->up);
  if (!x->closing && x->up && x->shut_pending && evbuffer_get_length(fca_ep_output(x->up)) == 0)
    shut_now(x);
}

/* ---- upstream events ---- */

static void on_up_read(fca_ep_t *ep, void *ud) {
  (void)ep;
  fca_exch_process_upstream(ud);
}

static void on_up_drain(fca_ep_t *ep, void *ud) {
  fca_exch_t *x = ud;
  if (x->closing) return;
  if (x->shut_pending && evbuffer_get_length(fca_ep_output(ep)) == 0) shut_now(x);
  if (x->rq == XREQ_SENDING || x->st == FCA_EXCH_TUNNEL)
    x->ops->drained(x->sess, x);
  else
    fca_exch_update_reading(x);
}

/* TCP is up (directly or through the parent's tunnel): TLS next, or ready. */
static void upstream_connected(fca_exch_t *x, fca_ep_t *ep) {
  if (x->tls && !x->blind) {
    SSL *ssl = fca_tls_client_ssl_new(x->w->tls_cli, x->host, x->port);
    if (!ssl) {
      char e[200];
      fca_tls_errstr(e, sizeof e);
      fca_exch_fail(x, 502, "cannot start TLS to %s:%d: %s", x->host, x->port, e);
      return;
    }
    fca_ep_start_tls(ep, ssl, false);
    return;
  }
  upstream_ready(x);
}

static void on_up_event(fca_ep_t *ep, int what, void *ud) {
  fca_exch_t *x = ud;
  if (x->closing) return;
  if ((what & FCA_EP_CONNECTED) && x->via_parent && (x->tls || x->inner || x->blind)) {
    /* Ask the parent proxy for a tunnel to the origin first. */
    bool v6 = strchr(x->host, ':') != NULL;
    evbuffer_add_printf(fca_ep_output(ep), "CONNECT %s%s%s:%d HTTP/1.1\r\nHost: %s%s%s:%d\r\n\r\n",
                        v6 ? "[" : "", x->host, v6 ? "]" : "", x->port, v6 ? "[" : "", x->host,
                        v6 ? "]" : "", x->port);
    fca_ep_flush(ep);
    x->st = FCA_EXCH_PARENT;
    return;
  }
  if (what & FCA_EP_CONNECTED) {
    upstream_connected(x, ep);
    return;
  }
  if (what & FCA_EP_HANDSHAKE) {
    upstream_ready(x);
    return;
  }
  if (what & FCA_EP_EOF) {
    upstream_eof(x);
    return;
  }
  if (what & FCA_EP_ERROR) {
    if (x->st == FCA_EXCH_CONNECTING && fca_ep_is_tls(ep)) {
      long vr = fca_ep_verify_result(ep);
      if (vr != X509_V_OK)
        fca_exch_fail(x, 502, "TLS verification of %s:%d failed: %s", x->host, x->port,
                      fca_tls_verify_reason(vr));
      else
        fca_exch_fail(x, 502, "TLS handshake with %s:%d failed: %s", x->host, x->port,
                      fca_ep_error(ep));
      return;
    }
    if (x->st == FCA_EXCH_CONNECTING) {
      char why[200];
      snprintf(why, sizeof why, "%s", fca_ep_error(ep));
      fca_exch_close_upstream(x);
      connect_failed(x, why);
      return;
    }
    if (x->st == FCA_EXCH_IDLE) {
      fca_exch_close_upstream(x);
      return;
    }
    if (x->st == FCA_EXCH_HEAD && retry_request(x)) return;
    if (!x->answered) {
      fca_exch_fail(x, 502, "connection to %s:%d failed: %s", x->host, x->port, fca_ep_error(ep));
    } else {
      fca_warn("%s: connection to %s:%d failed mid-response: %s", x->client_addr, x->host, x->port,
               fca_ep_error(ep));
      fca_exch_fail(x, FCA_EXCH_ABORT_FLUSH, NULL);
    }
  }
}
