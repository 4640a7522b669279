/* admin: the admin listener's server — its thread and event loop, the security policy every
 * response follows, and routing. Only GET and HEAD are served (405 otherwise); a Host that is
 * neither this listener nor fcaudit.test is refused (DNS rebinding); every response carries
 * nosniff, no-store and a strict CSP. Worker threads reach this thread only through the event
 * ring and a wake-up pipe. */
#include "admin_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fcaudit/config.h"
#include "fcaudit/eventjson.h"
#include "fcaudit/sink.h"
#include "fcaudit/util.h"

/* The admin's own pages load scripts and styles from itself only; the CA page may probe
 * fcaudit.test (through the proxy) to learn whether the browser trusts the CA. */
#define CSP                                                                                        \
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "                \
  "connect-src 'self' http://" FCA_ADMIN_HOST " https://" FCA_ADMIN_HOST "; "                      \
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

void fca_admin_reply(struct evhttp_request *req, int code, const char *type, const void *body,
                     size_t n) {
  struct evkeyvalq *h = evhttp_request_get_output_headers(req);
  if (type) evhttp_add_header(h, "Content-Type", type);
  struct evbuffer *b = evbuffer_new();
  if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
    /* evhttp would send the body to HEAD too: the length alone, as GET would have it. */
    char len[24];
    snprintf(len, sizeof len, "%zu", n);
    evhttp_add_header(h, "Content-Length", len);
  } else if (n) {
    evbuffer_add(b, body, n);
  }
  evhttp_send_reply(req, code, NULL, b);
  evbuffer_free(b);
}

void fca_admin_reply_text(struct evhttp_request *req, int code, const char *text) {
  fca_admin_reply(req, code, "text/plain; charset=utf-8", text, strlen(text));
}

static void on_request(struct evhttp_request *req, void *ud) {
  fca_admin_t *a = ud;
  atomic_fetch_add(&a->requests, 1);
  struct evkeyvalq *out = evhttp_request_get_output_headers(req);
  evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
  evhttp_add_header(out, "Referrer-Policy", "no-referrer");
  evhttp_add_header(out, "X-Frame-Options", "DENY");
  evhttp_add_header(out, "Content-Security-Policy", CSP);
  evhttp_add_header(out, "Cache-Control", "no-store");

  enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
  if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
    evhttp_add_header(out, "Allow", "GET, HEAD");
    fca_admin_reply_text(req, 405, "fcaudit admin: only GET and HEAD are served\n");
    return;
  }
  const char *host = evhttp_find_header(evhttp_request_get_input_headers(req), "Host");
  if (!fca_admin_host_allowed(host, a->port)) {
    fca_admin_reply_text(req, 403,
                         "fcaudit admin: this Host is not served here (open http://" FCA_ADMIN_HOST
                         "/ through the proxy, or the listener's own address)\n");
    return;
  }
  const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
  const char *path = u ? evhttp_uri_get_path(u) : NULL;
  if (!path || !*path) path = "/";
  if (strcmp(path, "/events") == 0) {
    fca_admin_stream_open(a, req);
    return;
  }
  if (fca_admin_ca_route(a, req, path)) return;
  if (fca_admin_pages_route(a, req, path)) return;
  fca_admin_reply_text(req, 404, "fcaudit admin: no such page\n");
}

/* ---- events from worker threads ---- */

static void wake(fca_admin_t *a) {
  if (atomic_exchange(&a->wake_pending, true)) return;
  ssize_t r = write(a->wake_wr, "x", 1);
  (void)r; /* a full pipe already means "wake up" */
}

static void on_event(void *ud, const fca_event_t *ev) {
  fca_admin_t *a = ud;
  if (atomic_load(&a->stopping)) return;
  size_t n = 0;
  char *line = fca_event_to_line(ev, a->run, &n);
  if (!line) return;
  while (n && line[n - 1] == '\n') n--;
  fca_admin_ring_push(a->ring, fca_event_type_name(ev->type), line, n);
  free(line);
  wake(a);
}

static void on_wake(evutil_socket_t fd, short what, void *ud) {
  fca_admin_t *a = ud;
  char buf[256];
  atomic_store(&a->wake_pending, false);
  while (read(fd, buf, sizeof buf) > 0) {
  }
  if (atomic_load(&a->stopping)) {
    event_base_loopbreak(a->base);
    return;
  }
  fca_admin_stream_pump_all(a);
}

static void on_heartbeat(evutil_socket_t fd, short what, void *ud) {
  fca_admin_stream_heartbeat(ud);
}

static void *admin_main(void *ud) {
  fca_admin_t *a = ud;
  event_base_dispatch(a->base);
  return NULL;
}

/* ---- start / stop ---- */

static int bind_listener(fca_admin_t *a, char *err, size_t errlen) {
  char portstr[8];
  int port;
  if (fca_config_split_hostport(a->opts.listen, a->listen_host, sizeof a->listen_host, &port) < 0) {
    fca_seterr(err, errlen, "bad --admin address '%s' (want ADDR:PORT)", a->opts.listen);
    return -1;
  }
  if (!a->opts.allow_remote && !fca_config_host_is_loopback(a->listen_host)) {
    fca_seterr(err, errlen,
               "refusing --admin %s without --allow-remote-admin: the admin pages show live "
               "traffic and hand out the CA",
               a->opts.listen);
    return -1;
  }
  snprintf(portstr, sizeof portstr, "%d", port);
  struct addrinfo hints = {
      .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
  if (fca_config_is_ip(a->listen_host)) hints.ai_flags |= AI_NUMERICHOST;
  struct addrinfo *res = NULL;
  int gai = getaddrinfo(a->listen_host, portstr, &hints, &res);
  if (gai != 0 || !res) {
    fca_seterr(err, errlen, "cannot resolve --admin address '%s': %s", a->opts.listen,
               gai_strerror(gai));
    return -1;
  }
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 64) < 0) {
    fca_seterr(err, errlen, "cannot listen on %s (admin): %s", a->opts.listen, strerror(errno));
    if (fd >= 0) close(fd);
    freeaddrinfo(res);
    return -1;
  }
  freeaddrinfo(res);
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  getsockname(fd, (struct sockaddr *)&ss, &sl);
  a->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                           : ((struct sockaddr_in *)&ss)->sin_port);
  if (!evhttp_accept_socket_with_handle(a->http, fd)) {
    close(fd);
    fca_seterr(err, errlen, "cannot listen on %s (admin)", a->opts.listen);
    return -1;
  }
  return 0;
}

static void free_admin(fca_admin_t *a) {
  if (a->heartbeat_ev) event_free(a->heartbeat_ev);
  if (a->wake_ev) event_free(a->wake_ev);
  if (a->http) evhttp_free(a->http); /* closes streams: their close callbacks free clients */
  if (a->base) event_base_free(a->base);
  fca_admin_report_cache_free(a); /* after evhttp: replies still sending it hold their own ref */
  if (a->wake_rd >= 0) close(a->wake_rd);
  if (a->wake_wr >= 0) close(a->wake_wr);
  if (a->own_model) fca_model_free(a->model);
  fca_admin_ring_free(a->ring);
  free(a->ca_pem);
  free(a->ca_der);
  free(a);
}

fca_admin_t *fca_admin_start(const fca_admin_opts_t *opts, char *err, size_t errlen) {
  fca_admin_t *a = fca_xcalloc(1, sizeof *a);
  a->opts = *opts;
  a->wake_rd = a->wake_wr = -1;
  if (!opts->listen) {
    fca_seterr(err, errlen, "no --admin address");
    goto fail;
  }
  if (fca_admin_ca_prepare(a, err, errlen) < 0) goto fail;
  a->base = event_base_new();
  a->http = a->base ? evhttp_new(a->base) : NULL;
  if (!a->http) {
    fca_seterr(err, errlen, "cannot create the admin event loop");
    goto fail;
  }
  /* Methods evhttp does not know are refused by it; the known ones reach on_request, which
   * answers 405 for all but GET and HEAD. */
  evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                          EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                          EVHTTP_REQ_PATCH | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT);
  evhttp_set_max_headers_size(a->http, 16 * 1024);
  evhttp_set_max_body_size(a->http, 64 * 1024);
  evhttp_set_timeout(a->http, 60);
  evhttp_set_gencb(a->http, on_request, a);
  if (bind_listener(a, err, errlen) < 0) goto fail;

  int p[2];
  if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0) {
    fca_seterr(err, errlen, "cannot create the admin wake-up pipe: %s", strerror(errno));
    goto fail;
  }
  a->wake_rd = p[0];
  a->wake_wr = p[1];
  a->wake_ev = event_new(a->base, a->wake_rd, EV_READ | EV_PERSIST, on_wake, a);
  event_add(a->wake_ev, NULL);
  a->heartbeat_ev = event_new(a->base, -1, EV_PERSIST, on_heartbeat, a);
  struct timeval hb = {FCA_ADMIN_HEARTBEAT_S, 0};
  event_add(a->heartbeat_ev, &hb);

  const char *run = opts->sink ? fca_sink_run_id(opts->sink) : NULL;
  if (run)
    snprintf(a->run, sizeof a->run, "%s", run);
  else
    fca_run_id_new(a->run, sizeof a->run);
  a->ring = fca_admin_ring_new(a->run, 0, 0);
  a->model = opts->model;
  if (!a->model) {
    a->model = fca_model_new(NULL);
    a->own_model = true;
  }
  if (pthread_create(&a->thread, NULL, admin_main, a) != 0) {
    fca_seterr(err, errlen, "cannot start the admin thread");
    goto fail;
  }
  a->thread_started = true;
  /* Subscribed last: a subscription cannot be undone, so nothing may fail after it. */
  if (opts->sink) {
    if (fca_sink_subscribe(opts->sink, on_event, a) < 0) {
      fca_seterr(err, errlen, "the event sink has no room for the admin's subscriber");
      goto fail;
    }
    if (a->own_model && fca_sink_subscribe(opts->sink, fca_model_event_fn, a->model) < 0)
      fca_warn("admin: the event sink has no room for the report model; /api/report.json "
               "stays empty");
  }
  return a;
fail:
  if (a->thread_started) {
    atomic_store(&a->stopping, true);
    wake(a);
    pthread_join(a->thread, NULL);
  }
  free_admin(a);
  return NULL;
}

int fca_admin_port(const fca_admin_t *a) { return a ? a->port : 0; }

void fca_admin_stop_free(fca_admin_t *a) {
  if (!a) return;
  atomic_store(&a->stopping, true);
  if (a->thread_started) {
    atomic_store(&a->wake_pending, false);
    wake(a);
    pthread_join(a->thread, NULL);
  }
  free_admin(a);
}
