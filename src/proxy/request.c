/* request: a client's request head: authentication, CONNECT (intercept, plain HTTP inside,
 * or a blind tunnel), the target and the head sent upstream (origin-form, hop-by-hop removed,
 * --anticache), and the audit hooks of the exchange. */
#include "conn_int.h"

#include "endpoint.h"
#include "fcaudit/audit.h"
#include "fcaudit/config.h"
#include "fcaudit/har_writer.h"
#include "fcaudit/redact.h"
#include "fcaudit/tlsctx.h"
#include "fcaudit/util.h"
#include "http1.h"
#include "intercept.h"
#include "listener.h"
#include "upool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static bool check_auth(fca_conn_t *c, const fca_http_head_t *h);
static void audit_begin(fca_conn_t *c, const fca_http_head_t *h);
static bool anticache_applies(const fca_http_head_t *h);
static void handle_connect(fca_conn_t *c);

static bool check_auth(fca_conn_t *c, const fca_http_head_t *h) {
  const char *want = c->w->shared->auth_expected;
  if (!want) return true;
  size_t n;
  const char *v = fca_http_get(h, "Proxy-Authorization", &n);
  /* Constant time: how much of a guess matched must not show in the answer's timing. */
  return v && n == strlen(want) && CRYPTO_memcmp(v, want, n) == 0;
}

bool fca_conn_is_self(fca_conn_t *c, const struct sockaddr *sa) {
  const fca_proxy_shared_t *s = c->w->shared;
  return fca_sockaddr_reaches_listener(sa, s->listen, s->nlisten, s->local, s->nlocal);
}

/* With --allow-remote, a tunnel may reach this host's own services only on the usual TLS
 * ports, unless --allow-local-connect (as squid allows CONNECT to SSL ports only). */
bool fca_conn_local_connect_denied(fca_conn_t *c, const struct sockaddr *sa) {
  const fca_config_t *cfg = cfg_of(c);
  if (!cfg->allow_remote || cfg->allow_local_connect) return false;
  int port = sa->sa_family == AF_INET    ? ntohs(((const struct sockaddr_in *)sa)->sin_port)
             : sa->sa_family == AF_INET6 ? ntohs(((const struct sockaddr_in6 *)sa)->sin6_port)
                                         : 0;
  if (port == 443 || port == 8443) return false;
  const fca_proxy_shared_t *s = c->w->shared;
  return fca_sockaddr_is_this_host(sa, s->local, s->nlocal);
}

/* A route whose addresses are known without DNS and one of which is this proxy (self) or, for
 * a tunnel, a local port it may not reach. Returns 508, 403 or 0. */
static int route_refusal(fca_conn_t *c, const fca_route_t *rt) {
  int refusal = 0;
  for (size_t i = 0; i < rt->n_addrs && refusal != 508; i++) {
    struct evutil_addrinfo hints = {0}, *r = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = EVUTIL_AI_NUMERICHOST | EVUTIL_AI_NUMERICSERV;
    char port[8];
    snprintf(port, sizeof port, "%d", rt->port);
    if (evutil_getaddrinfo(rt->addrs[i], port, &hints, &r) != 0 || !r) continue;
    for (struct evutil_addrinfo *a = r; a; a = a->ai_next) {
      if (fca_conn_is_self(c, a->ai_addr))
        refusal = 508;
      else if (!refusal && fca_conn_local_connect_denied(c, a->ai_addr))
        refusal = 403;
    }
    evutil_freeaddrinfo(r);
  }
  return refusal;
}

/* A route whose addresses are known without DNS and one of which is this proxy. */
static bool route_is_self(fca_conn_t *c, const fca_route_t *rt) {
  for (size_t i = 0; i < rt->n_addrs; i++) {
    struct evutil_addrinfo hints = {0}, *r = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = EVUTIL_AI_NUMERICHOST | EVUTIL_AI_NUMERICSERV;
    char port[8];
    snprintf(port, sizeof port, "%d", rt->port);
    if (evutil_getaddrinfo(rt->addrs[i], port, &hints, &r) != 0 || !r) continue;
    bool self = false;
    for (struct evutil_addrinfo *a = r; a && !self; a = a->ai_next)
      self = fca_conn_is_self(c, a->ai_addr);
    evutil_freeaddrinfo(r);
    if (self) return true;
  }
  return false;
}

size_t fca_conn_audit_headers(const fca_http_head_t *h, fca_audit_header_t *out) {
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
  fca_harw_t *har = c->w->shared->har;
  if (har) { /* the --har tap: the request head as the client sent it */
    fca_audit_header_t hh[FCA_HTTP_MAX_FIELDS];
    fca_harw_request_t hr = {.method = llhttp_method_name((llhttp_method_t)h->method),
                             .url = c->url,
                             .http_major = h->major,
                             .http_minor = h->minor,
                             .headers = hh,
                             .nheaders = fca_conn_audit_headers(h, hh),
                             .client = c->client_addr,
                             .now_ms = fca_now_ms()};
    c->hx = fca_harw_begin(har, &hr);
  }
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
      .nheaders = fca_conn_audit_headers(h, hdrs),
      .client = c->client_addr,
      .client_id = client_id,
      .now_ms = fca_now_ms(),
  };
  c->ax = fca_audit_begin(a, &req);
  c->ax_body = false;
}

void fca_conn_audit_end(fca_conn_t *c, bool complete) {
  if (c->hx) {
    fca_harw_end(c->hx, complete);
    c->hx = NULL;
  }
  if (!c->ax) return;
  fca_audit_response_end(c->ax, complete);
  fca_audit_exchange_free(c->ax);
  c->ax = NULL;
  c->ax_body = false;
}

void fca_conn_on_resp_body(void *ud, const char *data, size_t len) {
  fca_conn_t *c = ud;
  if (c->ax_body) fca_audit_response_body(c->ax, data, len);
  if (c->hx) fca_harw_response_body(c->hx, data, len);
}

void fca_conn_on_req_body(void *ud, const char *data, size_t len) {
  fca_conn_t *c = ud;
  if (c->hx) fca_harw_request_body(c->hx, data, len);
  /* the audit reads what it needs (an urlencoded body to api.stripe.com, bounded) */
  if (c->ax) fca_audit_request_body(c->ax, data, len);
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
bool fca_conn_is_admin_host(const char *host) { return strcasecmp(host, FCA_ADMIN_HOST) == 0; }

/* Where a CONNECT tunnel goes once the client's first bytes are known. */
static void handle_connect(fca_conn_t *c) {
  const fca_config_t *cfg = cfg_of(c);
  fca_route_t rt;
  fca_routes_lookup(c->w->shared->routes, c->host, c->port, &rt);
  bool admin = fca_conn_is_admin_host(c->host);
  /* Through --upstream-proxy every host goes to the parent the user named (as plain HTTP does). */
  bool parent = c->w->shared->parent_port != 0;
  if (!admin && !parent && cfg->only_resolved && !fca_route_allowed_offline(&rt, c->host)) {
    fca_conn_refuse(c, 403, "--only-resolved", c->host,
                    "host '%s' is not allowed: --only-resolved forwards only hosts named by "
                    "--resolve or --connect-to, and loopback addresses",
                    c->host);
    return;
  }
  /* A tunnel back into this proxy is refused before it is answered (the check at connect
   * time would come after the 200 of an intercepted tunnel). */
  fca_route_t prt;
  if (parent)
    fca_routes_lookup(c->w->shared->routes, c->w->shared->parent_host, c->w->shared->parent_port,
                      &prt);
  int refusal = admin ? 0 : parent ? (route_is_self(c, &prt) ? 508 : 0) : route_refusal(c, &rt);
  if (refusal == 508) {
    fca_conn_send_error(c, 508, "request for %s:%d points at this proxy itself", c->host, c->port);
    return;
  }
  if (refusal == 403) {
    fca_conn_send_error(c, 403,
                        "CONNECT to port %d of this host is not allowed for remote clients; "
                        "start fcaudit with --allow-local-connect to allow it",
                        c->port);
    return;
  }
  fca_http1_next(&c->req); /* requests inside the tunnel start afresh */
  c->tunnel_host_port = c->port;
  snprintf(c->tunnel_host, sizeof c->tunnel_host, "%s", c->host);
  if (!admin && !fca_intercept_wanted(c->w->shared, c->host)) {
    /* Blind tunnel: answer 200 once the origin is reachable. */
    c->connect_tunnel = true;
    c->rs = REQ_DONE;
    fca_conn_start_upstream(c);
    return;
  }
  /* Answer now and look at what the client sends first. */
  c->response_started = true;
  evbuffer_add_printf(fca_ep_output(c->client), "HTTP/1.1 200 Connection established\r\n\r\n");
  fca_ep_flush(c->client);
  if (c->closing) return;
  c->rs = REQ_PEEK;
  c->head_deadline = fca_mono_ms() + (int64_t)cfg->header_timeout_ms;
  fca_conn_arm_timer(c, cfg->header_timeout_ms);
}

/* The first bytes inside a CONNECT tunnel: TLS, plain HTTP, or something else. */
void fca_conn_peek_tunnel(fca_conn_t *c) {
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
      fca_conn_close(c);
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
    fca_conn_process_client(c);
    return;
  }
  /* Neither: a blind tunnel (200 already sent). */
  c->connect_tunnel = true;
  c->connect_answered = true;
  snprintf(c->host, sizeof c->host, "%s", c->tunnel_host);
  c->port = c->tunnel_host_port;
  c->rs = REQ_DONE;
  fca_conn_start_upstream(c);
}

/* `GET /healthz` in origin-form on the proxy port: a load balancer's health check (HAProxy
 * `option httpchk GET /healthz`). No proxy request ever has this form, so it needs no
 * credentials and reveals nothing; 200 while serving, 503 once draining. */
static bool is_health_check(const fca_http_head_t *h, const char *target) {
  return (h->method == HTTP_GET || h->method == HTTP_HEAD) && h->target_len == 8 &&
         memcmp(target, "/healthz", 8) == 0;
}

static void send_health(fca_conn_t *c) {
  bool up = !c->w->draining;
  const char *body = up ? "ok\n" : "draining\n";
  c->response_started = true;
  struct evbuffer *out = fca_ep_output(c->client);
  evbuffer_add_printf(out,
                      "HTTP/1.1 %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                      "Content-Length: %zu\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
                      up ? "200 OK" : "503 Service Unavailable", strlen(body));
  if (!c->head_request) evbuffer_add(out, body, strlen(body));
  c->ss = RESP_NONE;
  fca_conn_close_after_flush(c);
}

void fca_conn_handle_request_head(fca_conn_t *c, size_t head_len) {
  struct evbuffer *in = fca_ep_input(c->client);
  const char *data = (const char *)evbuffer_pullup(in, (ev_ssize_t)head_len);
  const char *why = NULL;
  if (fca_http1_feed_head(&c->req, data, head_len, &why) < 0) {
    int st = c->req.reject_status;
    fca_conn_send_error(c, st, "%s%s", st == 400 ? "malformed request: " : "", why);
    return;
  }
  fca_http_head_t *h = &c->req.head;
  atomic_fetch_add(&c->w->stats->requests, 1);
  c->client_keep_alive = h->keep_alive;
  c->response_started = false;
  c->head_request = (h->method == HTTP_HEAD);
  const char *target = h->base + h->target_off;
  if (!c->inner && is_health_check(h, target)) {
    send_health(c);
    return;
  }
  if (!c->inner && !check_auth(c, h)) {
    /* Clients send a first request without credentials, then again with them: counted per
     * client address (without its port), not warned about each time. */
    char who[sizeof c->client_addr + 8];
    snprintf(who, sizeof who, "client %s", c->client_addr);
    char *colon = strrchr(who, ':');
    if (colon && colon > who + 7) *colon = '\0';
    fca_conn_refuse(c, 407, "--proxy-auth", who, "proxy authentication required");
    return;
  }
  fca_target_t t;
  if (h->method == HTTP_CONNECT) {
    if (c->inner || fca_http_parse_authority(target, h->target_len, 0, &t) < 0) {
      char *shown = fca_redact_target(target, h->target_len, cfg_of(c)->redact_query);
      fca_conn_send_error(c, 400, "CONNECT needs host:port, got '%s'", shown);
      free(shown);
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
      fca_conn_send_error(c, 400, "expected an origin-form request inside the tunnel");
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
      fca_conn_send_error(
          c, 400,
          "this is a proxy: send absolute-form requests (e.g. curl -x http://HOST:PORT "
          "http://example.test/)");
    else {
      char *shown = fca_redact_target(target, h->target_len, cfg_of(c)->redact_query);
      fca_conn_send_error(c, 400, "bad request target '%s'", shown);
      free(shown);
    }
    return;
  } else if (strcmp(t.scheme, "http") != 0) {
    fca_conn_send_error(c, 400,
                        "only http:// URLs can be sent to a proxy in the clear; use CONNECT for "
                        "https");
    return;
  }
  snprintf(c->host, sizeof c->host, "%s", t.host);
  c->port = t.port;
  c->to_admin = fca_conn_is_admin_host(t.host);
  c->up_tls = (strcmp(t.scheme, "https") == 0) && !c->to_admin;
  if (c->to_admin && c->w->shared->admin_port == 0) {
    fca_conn_send_error(c, 503,
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
      fca_conn_send_error(c, 414, "request target too long");
      return;
    }
    /* An HTTP/1.0 client may omit Host; the origin gets one from the URL. */
    fca_http_write_filtered(c->pending, h, line, (size_t)n, h->upgrade, hostport, drop);
  }
  free(c->url);
  c->url = fca_xasprintf("%s://%s%.*s", t.scheme, hostport, t.path_len ? (int)t.path_len : 1,
                         t.path_len ? t.path : "/");
  fca_conn_audit_end(c, false); /* a previous exchange that never ended */
  audit_begin(c, h);
  evbuffer_drain(in, head_len);
  c->head_deadline = 0;

  if (c->req.msg_done)
    c->rs = REQ_DONE;
  else
    c->rs = REQ_BODY;
  fca_conn_start_upstream(c);
}
