/* upstream: reaching the origin for a connection: routes (--connect-to, --resolve,
 * --upstream-proxy, the admin host), DNS through evdns, connect with fallback to further
 * addresses, TLS with verification, the worker's pool of idle connections and one retry of a
 * safe request on a reused connection that turned out closed; and the upstream's events. */
#include "conn_int.h"

#include "endpoint.h"
#include "fcaudit/audit.h"
#include "fcaudit/config.h"
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

static void on_up_read(fca_ep_t *ep, void *ud);
static void on_up_drain(fca_ep_t *ep, void *ud);
static void on_up_event(fca_ep_t *ep, int what, void *ud);
static const fca_ep_cbs_t up_cbs = {on_up_read, on_up_drain, on_up_event};
static bool more_addresses(fca_conn_t *c);
static void connect_failed(fca_conn_t *c, const char *why);
static void connect_addr(fca_conn_t *c, const struct sockaddr *sa, socklen_t len);
static void try_connect(fca_conn_t *c);
static void on_dns(int result, struct evutil_addrinfo *res, void *arg);
static void upstream_connected(fca_conn_t *c, fca_ep_t *ep);

void fca_conn_upstream_ready(fca_conn_t *c) {
  atomic_fetch_add(&c->w->stats->forwarded, 1);
  if (c->connect_tunnel) {
    /* The CONNECT target is reachable: tell the client, then tunnel. */
    c->response_started = true;
    if (!c->connect_answered)
      evbuffer_add_printf(fca_ep_output(c->client), "HTTP/1.1 200 Connection established\r\n\r\n");
    c->ss = RESP_TUNNEL;
    evbuffer_add_buffer(fca_ep_output(c->up), c->pending);
    fca_conn_start_tunnel(c);
    fca_conn_update_reading(c);
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
  fca_conn_arm_timer(c, cfg_of(c)->upstream_timeout_ms);
  fca_conn_process_client(c); /* a request body may be waiting */
}

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
  fca_conn_send_error(c, 502, "cannot connect to %s:%d: %s", c->host, c->port, why);
}

static void connect_addr(fca_conn_t *c, const struct sockaddr *sa, socklen_t len) {
  if (fca_conn_is_self(c, sa)) {
    fca_conn_send_error(c, 508, "request for %s:%d points at this proxy itself", c->host, c->port);
    return;
  }
  if ((c->connect_tunnel || c->inner) && !c->via_parent && !c->to_admin &&
      fca_conn_local_connect_denied(c, sa)) {
    fca_conn_send_error(c, 403,
                        "CONNECT to port %d of this host is not allowed for remote clients; "
                        "start fcaudit with --allow-local-connect to allow it",
                        c->port);
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
  fca_conn_arm_timer(c, cfg_of(c)->connect_timeout_ms);
}

static void try_connect(fca_conn_t *c) {
  struct evutil_addrinfo *ai = c->addrs;
  for (size_t i = 0; ai && i < c->addr_next; i++) ai = ai->ai_next;
  if (!ai) {
    fca_conn_send_error(c, 502, "cannot connect to %s:%d", c->host, c->port);
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
    fca_conn_send_error(c, 502, "cannot resolve host '%s': %s", c->route.host,
                        evutil_gai_strerror(result));
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

void fca_conn_start_upstream(fca_conn_t *c) {
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
    fca_conn_upstream_ready(c); /* keep-alive reuse */
    return;
  }
  fca_conn_release_upstream(c);
  if (!c->connect_tunnel && c->w->upool) {
    fca_ep_t *ep = fca_upool_take(c->w->upool, key);
    if (ep) {
      c->up = ep;
      fca_ep_set_cbs(ep, &up_cbs, c);
      snprintf(c->up_key, sizeof c->up_key, "%s", key);
      c->up_reused = true;
      atomic_fetch_add(&c->w->stats->upstream_reused, 1);
      fca_debug("%s: reusing an idle connection to %s", c->client_addr, key);
      fca_conn_upstream_ready(c);
      return;
    }
  }
  c->up_reused = false;
  fca_conn_open_upstream(c);
}

/* A new upstream connection: route, resolve, connect. */
void fca_conn_open_upstream(fca_conn_t *c) {
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
    fca_conn_refuse(c, 403, "--only-resolved", c->host,
                    "host '%s' is not allowed: --only-resolved forwards only hosts named by "
                    "--resolve or --connect-to, and loopback addresses",
                    c->host);
    return;
  }
  fca_conn_arm_timer(c, cfg_of(c)->connect_timeout_ms);
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

/* The parent proxy's answer to CONNECT: 2xx opens the tunnel, anything else is passed on as
 * the reason of a 502. */
void fca_conn_parent_answer(fca_conn_t *c) {
  struct evbuffer *in = fca_ep_input(c->up);
  ssize_t hl = fca_http1_head_length(in, (size_t)cfg_of(c)->max_header_size);
  if (hl == 0) return;
  if (hl < 0) {
    fca_conn_send_error(c, 502, "the upstream proxy sent an oversized answer to CONNECT");
    return;
  }
  char line[128] = "";
  size_t n = (size_t)hl < sizeof line - 1 ? (size_t)hl : sizeof line - 1;
  evbuffer_copyout(in, line, n);
  line[n] = '\0';
  line[strcspn(line, "\r\n")] = '\0';
  evbuffer_drain(in, (size_t)hl);
  if (strncmp(line, "HTTP/1.", 7) != 0 || strlen(line) < 12 || line[9] != '2') {
    fca_conn_send_error(c, 502, "the upstream proxy refused CONNECT %s:%d: %s", c->host, c->port,
                        line);
    return;
  }
  c->ss = RESP_CONNECTING;
  upstream_connected(c, c->up);
}

/* A kept-alive upstream may have been closed by the origin just as we sent on it: a bodiless
 * request that got no byte of answer is sent once more on a new connection. */
bool fca_conn_retry_request(fca_conn_t *c) {
  if (!c->up_reused || c->retried || c->response_started || evbuffer_get_length(c->retry) == 0 ||
      evbuffer_get_length(fca_ep_input(c->up)) > 0)
    return false;
  fca_debug("%s: %s:%d closed a reused connection; sending the request again", c->client_addr,
            c->host, c->port);
  fca_conn_close_upstream(c);
  c->retried = true;
  c->up_reused = false;
  evbuffer_add_buffer(c->pending, c->retry);
  fca_http1_next(&c->resp);
  fca_conn_open_upstream(c);
  return true;
}

void fca_conn_upstream_eof(fca_conn_t *c) {
  if (c->ss == RESP_TUNNEL) {
    /* Deliver what is left, then close the client too. */
    fca_conn_tunnel_pump(c);
    fca_conn_close_after_flush(c);
    return;
  }
  if (c->ss == RESP_NONE) {
    fca_conn_close_upstream(c); /* an idle keep-alive connection went away */
    return;
  }
  if (c->ss == RESP_BODY) {
    fca_conn_process_upstream(c);
    if (c->closing || c->ss != RESP_BODY) return;
    int r = fca_http1_finish(&c->resp);
    if (r == 1) {
      fca_ep_flush(c->client);
      c->client_keep_alive = false; /* a close-delimited body ends with the connection */
      fca_conn_finish_exchange(c, false);
      return;
    }
    fca_warn("%s: %s:%d closed the connection in the middle of a response", c->client_addr, c->host,
             c->port);
    fca_conn_close_after_flush(c);
    return;
  }
  if (c->ss == RESP_HEAD) {
    fca_conn_process_upstream(c);
    if (c->closing || c->ss != RESP_HEAD) return;
    if (fca_conn_retry_request(c)) return;
  }
  fca_conn_send_error(c, 502, "%s:%d closed the connection without a complete response", c->host,
                      c->port);
}

/* The client half-closed a tunnel: the origin is told once everything it sent is delivered. */
void fca_conn_shut_upstream_write(fca_conn_t *c) {
  c->shut_up_pending = false;
  if (!c->up) return;
  fca_ep_shutdown_write(c->up); /* close_notify, then the FIN */
}

static void on_up_read(fca_ep_t *ep, void *ud) {
  (void)ep;
  fca_conn_t *c = ud;
  fca_conn_process_upstream(c);
}

static void on_up_drain(fca_ep_t *ep, void *ud) {
  fca_conn_t *c = ud;
  if (c->closing) return;
  if (c->shut_up_pending && evbuffer_get_length(fca_ep_output(ep)) == 0)
    fca_conn_shut_upstream_write(c);
  if (c->rs == REQ_BODY || c->rs == REQ_TUNNEL)
    fca_conn_process_client(c);
  else
    fca_conn_update_reading(c);
}

/* TCP is up (directly or through the parent's tunnel): TLS next, or ready. */
static void upstream_connected(fca_conn_t *c, fca_ep_t *ep) {
  if (c->up_tls && !c->connect_tunnel) {
    SSL *ssl = fca_tls_client_ssl_new(c->w->tls_cli, c->host, c->port);
    if (!ssl) {
      char e[200];
      fca_tls_errstr(e, sizeof e);
      fca_conn_send_error(c, 502, "cannot start TLS to %s:%d: %s", c->host, c->port, e);
      return;
    }
    fca_ep_start_tls(ep, ssl, false);
    return;
  }
  fca_conn_upstream_ready(c);
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
    fca_conn_upstream_ready(c);
    return;
  }
  if (what & FCA_EP_EOF) {
    fca_conn_upstream_eof(c);
    return;
  }
  if (what & FCA_EP_ERROR) {
    if (c->ss == RESP_CONNECTING && fca_ep_is_tls(ep)) {
      long vr = SSL_get_verify_result(fca_ep_ssl(ep));
      if (vr != X509_V_OK)
        fca_conn_send_error(c, 502, "TLS verification of %s:%d failed: %s", c->host, c->port,
                            fca_tls_verify_reason(vr));
      else
        fca_conn_send_error(c, 502, "TLS handshake with %s:%d failed: %s", c->host, c->port,
                            fca_ep_error(ep));
      return;
    }
    if (c->ss == RESP_CONNECTING) {
      char why[200];
      snprintf(why, sizeof why, "%s", fca_ep_error(ep));
      fca_conn_close_upstream(c);
      connect_failed(c, why);
      return;
    }
    if (c->ss == RESP_NONE) {
      fca_conn_close_upstream(c);
      return;
    }
    if (c->ss == RESP_HEAD && fca_conn_retry_request(c)) return;
    if (!c->response_started)
      fca_conn_send_error(c, 502, "connection to %s:%d failed: %s", c->host, c->port,
                          fca_ep_error(ep));
    else {
      fca_warn("%s: connection to %s:%d failed mid-response: %s", c->client_addr, c->host, c->port,
               fca_ep_error(ep));
      fca_conn_close_after_flush(c);
    }
  }
}
