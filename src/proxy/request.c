/* request: a client's HTTP/1.1 request head: authentication, CONNECT (intercept, plain HTTP
 * inside, or a blind tunnel), the target and the head sent upstream through the session's
 * exchange (origin-form, hop-by-hop removed, --anticache), and the opening of its audit. */
#include "conn_int.h"

#include "fcaudit/redact.h"
#include "fcaudit/tlsctx.h"
#include "fcaudit/util.h"
#include "listener.h"

#include "intercept.h"
#include "routes.h"
#include <openssl/crypto.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool check_auth(fca_conn_t *c, const fca_http_head_t *h) {
  const char *want = c->w->shared->auth_expected;
  if (!want) return true;
  size_t n;
  const char *v = fca_http_get(h, "Proxy-Authorization", &n);
  /* Constant time: how much of a guess matched must not show in the answer's timing. */
  return v && n == strlen(want) && CRYPTO_memcmp(v, want, n) == 0;
}

/* A route whose addresses are known without DNS and one of which is this proxy (self: 508) or,
 * for a tunnel, a local port it may not reach (403). Returns 508, 403 or 0. */
static int route_refusal(fca_conn_t *c, const fca_route_t *rt, bool self_only) {
  const fca_proxy_shared_t *s = c->w->shared;
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
      if (fca_sockaddr_reaches_listener(a->ai_addr, s->listen, s->nlisten, s->local, s->nlocal))
        refusal = 508;
      else if (!self_only && !refusal && fca_exch_local_connect_denied(c->w, a->ai_addr))
        refusal = 403;
    }
    evutil_freeaddrinfo(r);
  }
  return refusal;
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

/* A blind tunnel to the CONNECT target: the exchange answers 200 once it is reachable. */
static void start_blind(fca_conn_t *c) {
  fca_exch_t *x = fca_conn_exchange(c);
  c->tun.blind = true;
  c->cl.rs = REQ_DONE;
  fca_exch_prepare(
      x, &(fca_exch_target_t){
             .host = c->tun.host, .port = c->tun.port, .blind = true, .method = HTTP_CONNECT});
  fca_exch_request_end(x);
  fca_exch_start(x);
}

/* Where a CONNECT tunnel goes once the client's first bytes are known. */
static void handle_connect(fca_conn_t *c, const fca_target_t *t) {
  const fca_config_t *cfg = cfg_of(c);
  fca_route_t rt;
  fca_routes_lookup(c->w->shared->routes, t->host, t->port, &rt);
  bool admin = fca_exch_is_admin_host(t->host);
  /* Through --upstream-proxy every host goes to the parent the user named (as plain HTTP does). */
  bool parent = c->w->shared->parent_port != 0;
  if (!admin && !parent && cfg->only_resolved && !fca_route_allowed_offline(&rt, t->host)) {
    fca_conn_refuse(c, 403, "--only-resolved", t->host,
                    "host '%s' is not allowed: --only-resolved forwards only hosts named by "
                    "--resolve or --connect-to, and loopback addresses",
                    t->host);
    return;
  }
  /* A tunnel back into this proxy is refused before it is answered (the check at connect
   * time would come after the 200 of an intercepted tunnel). */
  fca_route_t prt;
  if (parent)
    fca_routes_lookup(c->w->shared->routes, c->w->shared->parent_host, c->w->shared->parent_port,
                      &prt);
  int refusal = admin ? 0 : route_refusal(c, parent ? &prt : &rt, parent);
  if (refusal == 508) {
    fca_conn_send_error(c, 508, "request for %s:%d points at this proxy itself", t->host, t->port);
    return;
  }
  if (refusal == 403) {
    fca_conn_send_error(c, 403,
                        "CONNECT to port %d of this host is not allowed for remote clients; "
                        "start fcaudit with --allow-local-connect to allow it",
                        t->port);
    return;
  }
  fca_http1_next(&c->cl.req); /* requests inside the tunnel start afresh */
  c->tun.port = t->port;
  snprintf(c->tun.host, sizeof c->tun.host, "%s", t->host);
  if (!admin && !fca_intercept_wanted(c->w->shared, t->host)) {
    start_blind(c);
    return;
  }
  /* Answer now and look at what the client sends first. */
  c->cl.response_started = true;
  c->tun.answered = true;
  evbuffer_add_printf(fca_ep_output(c->cl.ep), "HTTP/1.1 200 Connection established\r\n\r\n");
  fca_ep_flush(c->cl.ep);
  if (c->life != LIFE_OPEN) return;
  c->cl.rs = REQ_PEEK;
  c->cl.head_deadline = fca_mono_ms() + (int64_t)cfg->header_timeout_ms;
  fca_conn_arm_timer(c, cfg->header_timeout_ms);
}

/* The first bytes inside a CONNECT tunnel: TLS, plain HTTP, or something else. */
void fca_conn_peek_tunnel(fca_conn_t *c) {
  struct evbuffer *in = fca_ep_input(c->cl.ep);
  size_t n = evbuffer_get_length(in);
  if (n == 0) return;
  unsigned char first[8] = {0};
  size_t k = n < sizeof first ? n : sizeof first;
  evbuffer_copyout(in, first, k);
  if (first[0] == 0x16) {
    SSL *ssl = fca_tls_server_ssl_new(c->w->tls_srv, c->tun.host);
    if (!ssl) {
      char e[200];
      fca_tls_errstr(e, sizeof e);
      fca_warn("%s: cannot intercept TLS for %s: %s", c->client_addr, c->tun.host, e);
      fca_conn_close(c);
      return;
    }
    c->tun.via = VIA_TUNNEL_TLS;
    c->cl.rs = REQ_HANDSHAKE;
    fca_ep_start_tls(c->cl.ep, ssl, true);
    return;
  }
  /* An HTTP method is upper-case letters then a space. */
  size_t i = 0;
  while (i < k && first[i] >= 'A' && first[i] <= 'Z') i++;
  if (i > 0 && (i < k ? first[i] == ' ' : k < sizeof first)) {
    if (i == k) return; /* wait for more */
    c->tun.via = VIA_TUNNEL;
    c->cl.rs = REQ_IDLE;
    c->cl.response_started = false;
    c->cl.head_deadline = 0;
    fca_conn_process_client(c);
    return;
  }
  /* Neither: a blind tunnel (200 already sent). */
  start_blind(c);
}

/* `GET /healthz` in origin-form on the proxy port: a load balancer's health check (HAProxy
 * `option httpchk GET /healthz`). No proxy request ever has this form, so it needs no
 * credentials and reveals nothing; 200 while serving, 503 once draining. */
static bool is_health_check(const fca_http_head_t *h, const char *target) {
  return (h->method == HTTP_GET || h->method == HTTP_HEAD) && h->target_len == 8 &&
         memcmp(target, "/healthz", 8) == 0;
}

static void send_health(fca_conn_t *c, bool head) {
  bool up = !c->w->draining;
  const char *body = up ? "ok\n" : "draining\n";
  c->cl.response_started = true;
  struct evbuffer *out = fca_ep_output(c->cl.ep);
  evbuffer_add_printf(out,
                      "HTTP/1.1 %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                      "Content-Length: %zu\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
                      up ? "200 OK" : "503 Service Unavailable", strlen(body));
  if (!head) evbuffer_add(out, body, strlen(body));
  fca_conn_close_after_flush(c);
}

void fca_conn_handle_request_head(fca_conn_t *c, size_t head_len) {
  struct evbuffer *in = fca_ep_input(c->cl.ep);
  const char *data = (const char *)evbuffer_pullup(in, (ev_ssize_t)head_len);
  const char *why = NULL;
  if (fca_http1_feed_head(&c->cl.req, data, head_len, &why) < 0) {
    int st = c->cl.req.reject_status;
    fca_conn_send_error(c, st, "%s%s", st == 400 ? "malformed request: " : "", why);
    return;
  }
  fca_http_head_t *h = &c->cl.req.head;
  atomic_fetch_add(&c->w->stats->requests, 1);
  event_del(c->timer); /* the exchange times what follows */
  c->cl.keep_alive = h->keep_alive;
  c->cl.response_started = false;
  bool inner = c->tun.via != VIA_PROXY;
  const char *target = h->base + h->target_off;
  if (!inner && is_health_check(h, target)) {
    send_health(c, h->method == HTTP_HEAD);
    return;
  }
  if (!inner && !check_auth(c, h)) {
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
    if (inner || fca_http_parse_authority(target, h->target_len, 0, &t) < 0) {
      char *shown = fca_redact_target(target, h->target_len, cfg_of(c)->redact_query);
      fca_conn_send_error(c, 400, "CONNECT needs host:port, got '%s'", shown);
      free(shown);
      return;
    }
    evbuffer_drain(in, head_len);
    c->cl.head_deadline = 0;
    handle_connect(c, &t);
    return;
  }
  if (inner) {
    /* Inside a CONNECT tunnel: origin-form, to the tunnel's host. */
    if (h->target_len == 0 || (target[0] != '/' && target[0] != '*')) {
      fca_conn_send_error(c, 400, "expected an origin-form request inside the tunnel");
      return;
    }
    memset(&t, 0, sizeof t);
    snprintf(t.scheme, sizeof t.scheme, "%s", c->tun.via == VIA_TUNNEL_TLS ? "https" : "http");
    snprintf(t.host, sizeof t.host, "%s", c->tun.host);
    t.port = c->tun.port;
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
  bool admin = fca_exch_is_admin_host(t.host);
  bool up_tls = (strcmp(t.scheme, "https") == 0) && !admin;
  if (admin && c->w->shared->admin_port == 0) {
    fca_conn_send_error(c, 503,
                        "fcaudit's admin pages are off (--admin off); start fcaudit with "
                        "--admin 127.0.0.1:8081 to use http://" FCA_ADMIN_HOST "/");
    return;
  }
  fca_exch_t *x = fca_conn_exchange(c);
  fca_exch_prepare(x, &(fca_exch_target_t){.host = t.host,
                                           .port = t.port,
                                           .tls = up_tls,
                                           .inner = inner,
                                           .admin = admin,
                                           .method = h->method});

  /* Build what goes upstream: the request line in origin-form, then the head without its
   * hop-by-hop fields. A request inside a tunnel is already origin-form. */
  char hostport[300];
  fca_sb_t hp = fca_sb(hostport, sizeof hostport);
  bool v6 = strchr(t.host, ':') != NULL;
  if (v6) fca_sb_put(&hp, "[", 1);
  fca_sb_puts(&hp, t.host);
  if (v6) fca_sb_put(&hp, "]", 1);
  if (t.port != (up_tls ? 443 : 80)) {
    fca_sb_put(&hp, ":", 1);
    fca_sb_putu(&hp, (uint64_t)t.port);
  }
  static const char *const anticache_drop[] = {"If-None-Match", "If-Modified-Since", NULL};
  const char *const *drop = (cfg_of(c)->anticache && anticache_applies(h)) ? anticache_drop : NULL;
  struct evbuffer *sink = fca_exch_request_sink(x);
  if (inner && !drop && !fca_http_has_hop_by_hop(h)) {
    evbuffer_add(sink, h->base, h->len);
  } else if (inner) {
    fca_http_write_filtered(sink, h, NULL, 0, h->upgrade, NULL, drop);
  } else {
    char line[8192];
    const char *method = llhttp_method_name((llhttp_method_t)h->method);
    /* Through a parent proxy a plain-HTTP request stays in absolute-form. */
    bool absolute = c->w->shared->parent_port != 0 && !admin;
    fca_sb_t ln = fca_sb(line, sizeof line);
    fca_sb_puts(&ln, method);
    fca_sb_put(&ln, " ", 1);
    if (absolute)
      fca_sb_put(&ln, target, h->target_len);
    else if (t.path_len)
      fca_sb_put(&ln, t.path, t.path_len);
    else
      fca_sb_put(&ln, "/", 1);
    fca_sb_put(&ln, " HTTP/", 6);
    fca_sb_putu(&ln, (uint64_t)h->major);
    fca_sb_put(&ln, ".", 1);
    fca_sb_putu(&ln, (uint64_t)h->minor);
    fca_sb_put(&ln, "\r\n", 2);
    if (ln.cut) {
      fca_conn_send_error(c, 414, "request target too long");
      return;
    }
    /* An HTTP/1.0 client may omit Host; the origin gets one from the URL. */
    fca_http_write_filtered(sink, h, line, ln.n, h->upgrade, hostport, drop);
  }
  size_t ucap = strlen(t.scheme) + 3 + hp.n + (t.path_len ? t.path_len : 1) + 1;
  char *url = fca_xmalloc(ucap);
  fca_sb_t u = fca_sb(url, ucap);
  fca_sb_puts(&u, t.scheme);
  fca_sb_put(&u, "://", 3);
  fca_sb_put(&u, hostport, hp.n);
  fca_sb_put(&u, t.path_len ? t.path : "/", t.path_len ? t.path_len : 1);
  fca_audit_header_t hdrs[FCA_HTTP_MAX_FIELDS];
  fca_exch_audit_begin(
      x, &(fca_exch_request_t){.method = llhttp_method_name((llhttp_method_t)h->method),
                               .url = url,
                               .http_major = h->major,
                               .http_minor = h->minor,
                               .headers = hdrs,
                               .nheaders = fca_exch_audit_headers(h, hdrs)});
  free(url);
  evbuffer_drain(in, head_len);
  c->cl.head_deadline = 0;

  if (c->cl.req.msg_done) {
    c->cl.rs = REQ_DONE;
    fca_exch_request_end(x);
  } else {
    c->cl.rs = REQ_BODY;
  }
  fca_exch_start(x);
}
