/* proxy: binds the listeners, starts the workers and stops them. Nothing is global: what
 * workers share lives in fca_proxy_shared_t (read-only after start) and in modules with their
 * own locks. The caller (the CLI's run session) owns the audit engine, the CA, signals and
 * everything that outlives the workers; it tells workers to stop through events made active
 * across threads (libevent with pthreads support). */
#include "fcaudit/proxy.h"
#include "refusals.h"

#include "fcaudit/audit.h"
#include "fcaudit/ca.h"
#include "fcaudit/har_writer.h"
#include "fcaudit/mint.h"
#include "fcaudit/tlsctx.h"
#include "fcaudit/util.h"
#include "intercept.h"
#include "listener.h"
#include "routes.h"
#include "upool.h"
#include "worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct fca_proxy {
  fca_proxy_shared_t shared;
  fca_proxy_stats_t stats;
  fca_worker_t *workers;
  int nworkers;
  bool running; /* worker threads started */
  bool *joined; /* per worker, once its thread has been joined */
};

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg) {
  (void)l;
  fca_worker_t *w = arg;
  if (w->draining) {
    close(fd);
    return;
  }
  if (w->accept_backoff_ms) w->accept_progress = true;
  fca_conn_accept(w, fd, sa, (socklen_t)len);
}

/* accept() failing for lack of descriptors (or kernel memory) would fail again at once while
 * the connection waits in the backlog: a level-triggered listener would spin and log every
 * attempt. The worker pauses its listeners instead, for a growing interval (10 ms doubling to
 * 1 s while no connection could be accepted in between), and the proxy says so once when the first
 * worker starts starving and once, with a count, when the last one accepts again. */
#define ACCEPT_PAUSE_MIN_MS 10
#define ACCEPT_PAUSE_MAX_MS 1000

static void set_listeners(fca_worker_t *w, bool on) {
  for (size_t i = 0; i < w->nlisteners; i++) {
    if (!w->listeners[i]) continue; /* closed by the drain */
    if (on)
      evconnlistener_enable(w->listeners[i]);
    else
      evconnlistener_disable(w->listeners[i]);
  }
}

static void end_accept_episode(fca_worker_t *w) {
  if (!w->accept_backoff_ms) return;
  w->accept_backoff_ms = 0;
  if (atomic_fetch_sub(&w->stats->accept_starved, 1) == 1) {
    unsigned long long n = atomic_exchange(&w->stats->accept_failures, 0);
    long long ms = fca_now_ms() - atomic_load(&w->stats->accept_starved_since_ms);
    fca_info("accepting connections again: %llu attempt%s refused for lack of file descriptors "
             "over %lld.%03lld s",
             n, n == 1 ? "" : "s", ms / 1000, ms % 1000);
  }
}

static void on_accept_timer(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  fca_worker_t *w = arg;
  if (w->draining) return;
  if (w->accept_paused) {
    /* Try again; if nothing fails for one more interval, the episode is over. */
    w->accept_paused = false;
    w->accept_failed = false;
    set_listeners(w, true);
    struct timeval tv = {0, (suseconds_t)w->accept_backoff_ms * 1000};
    if (w->accept_backoff_ms >= 1000) tv = (struct timeval){w->accept_backoff_ms / 1000, 0};
    evtimer_add(w->accept_timer, &tv);
    return;
  }
  if (!w->accept_failed) end_accept_episode(w);
}

static void on_accept_error(struct evconnlistener *l, void *arg) {
  (void)l;
  fca_worker_t *w = arg;
  int e = EVUTIL_SOCKET_ERROR();
  if (e != EMFILE && e != ENFILE && e != ENOBUFS && e != ENOMEM) {
    /* Transient (a connection aborted before it was accepted): nothing to pause for. */
    fca_debug("accept: %s", evutil_socket_error_to_string(e));
    return;
  }
  atomic_fetch_add(&w->stats->accept_failures, 1);
  w->accept_failed = true;
  if (w->accept_paused) return;
  if (w->accept_progress) w->accept_backoff_ms = ACCEPT_PAUSE_MIN_MS; /* descriptors came back */
  w->accept_progress = false;
  if (!w->accept_backoff_ms) {
    w->accept_backoff_ms = ACCEPT_PAUSE_MIN_MS;
    if (atomic_fetch_add(&w->stats->accept_starved, 1) == 0) {
      atomic_store(&w->stats->accept_starved_since_ms, fca_now_ms());
      fca_warn("accept: %s: out of file descriptors; pausing new connections until some close "
               "(raise the limit with ulimit -n)",
               evutil_socket_error_to_string(e));
    }
  }
  w->accept_paused = true;
  set_listeners(w, false);
  struct timeval tv = {0, (suseconds_t)w->accept_backoff_ms * 1000};
  if (w->accept_backoff_ms >= 1000) tv = (struct timeval){w->accept_backoff_ms / 1000, 0};
  evtimer_add(w->accept_timer, &tv);
  w->accept_backoff_ms *= 2;
  if (w->accept_backoff_ms > ACCEPT_PAUSE_MAX_MS) w->accept_backoff_ms = ACCEPT_PAUSE_MAX_MS;
}

static void on_drain_timeout(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  fca_worker_t *w = arg;
  if (w->nconns) fca_info("drain timeout: closing %zu connection(s)", w->nconns);
  fca_conn_close_all(w);
  event_base_loopexit(w->base, NULL);
}

/* The audit's clock: settles what waits on time alone (a Stripe.js request that never came). */
static void on_tick(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  fca_worker_t *w = arg;
  if (w->shared->audit) fca_audit_tick(w->shared->audit, fca_now_ms());
}

/* Stopping closes the proxy port rather than only pausing it: a listening socket nobody accepts
 * from still completes handshakes, so a load balancer would go on sending clients (and health
 * checks) into its backlog until the process exits, where they are reset; a closed port is
 * refused at once, which HAProxy retries on another instance (option redispatch) and its health
 * check sees. What already waits in the backlog arrived before the stop and is served. */
static void close_listeners(fca_worker_t *w) {
  for (size_t i = 0; i < w->nlisteners; i++) {
    struct evconnlistener *l = w->listeners[i];
    if (!l) continue;
    evutil_socket_t lfd = evconnlistener_get_fd(l);
    for (int n = 0; n < 4096; n++) {
      struct sockaddr_storage ss;
      socklen_t len = sizeof ss;
      int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) break;
      fca_conn_accept(w, fd, (struct sockaddr *)&ss, len);
    }
    evconnlistener_free(l);
    w->listeners[i] = NULL;
  }
}

/* Runs in the worker thread. */
static void on_stop(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  fca_worker_t *w = arg;
  if (w->draining) { /* second request: now */
    fca_conn_close_all(w);
    event_base_loopexit(w->base, NULL);
    return;
  }
  w->draining = true;
  if (w->accept_timer) event_del(w->accept_timer);
  end_accept_episode(w);
  close_listeners(w);
  fca_conn_drain_all(w);
  if (w->nconns == 0) {
    event_base_loopexit(w->base, NULL);
    return;
  }
  const fca_config_t *cfg = w->shared->cfg;
  struct timeval tv = {(time_t)(cfg->drain_timeout_ms / 1000),
                       (suseconds_t)((cfg->drain_timeout_ms % 1000) * 1000)};
  evtimer_add(w->drain_timer, &tv);
}

static void *worker_main(void *arg) {
  fca_worker_t *w = arg;
  event_base_dispatch(w->base);
  /* Whatever is left (drain timeout) is closed and freed before the thread ends. */
  fca_conn_close_all(w);
  for (int i = 0; i < 8 && w->nconns > 0; i++) event_base_loop(w->base, EVLOOP_NONBLOCK);
  return NULL;
}

static char *basic_auth(const char *userpass) {
  size_t n = strlen(userpass);
  char *b64 = fca_xmalloc(4 * ((n + 2) / 3) + 1);
  EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)userpass, (int)n);
  char *out = fca_xasprintf("Basic %s", b64);
  free(b64);
  return out;
}

static int make_dns(fca_worker_t *w, const fca_config_t *cfg, char *err, size_t errlen) {
  if (cfg->dns_server.n == 0) {
    w->dns = evdns_base_new(w->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
    if (!w->dns) {
      /* No usable resolv.conf: still honour /etc/hosts. */
      w->dns = evdns_base_new(w->base, 0);
      if (w->dns) evdns_base_load_hosts(w->dns, NULL);
    }
  } else {
    w->dns = evdns_base_new(w->base, 0);
    if (w->dns) {
      evdns_base_load_hosts(w->dns, NULL);
      for (size_t i = 0; i < cfg->dns_server.n; i++) {
        if (evdns_base_nameserver_ip_add(w->dns, cfg->dns_server.items[i]) != 0) {
          fca_seterr(err, errlen, "bad --dns-server '%s' (want ADDR[:PORT])",
                     cfg->dns_server.items[i]);
          return -1;
        }
      }
    }
  }
  if (!w->dns) {
    fca_seterr(err, errlen, "cannot set up the DNS resolver");
    return -1;
  }
  evdns_base_set_option(w->dns, "randomize-case:", "0");
  return 0;
}

void fca_proxy_route_admin(fca_proxy_t *p, const char *listen, int port) {
  /* Workers connect to it by address: a wildcard bind is reached on loopback. */
  fca_sockaddr_t a;
  char err[256];
  char host[INET6_ADDRSTRLEN] = "127.0.0.1";
  if (fca_listen_parse(listen, &a, err, sizeof err) == 0) {
    const struct sockaddr *sa = (const struct sockaddr *)&a.addr;
    if (sa->sa_family == AF_INET) {
      const struct in_addr *in = &((const struct sockaddr_in *)sa)->sin_addr;
      if (in->s_addr != htonl(INADDR_ANY)) inet_ntop(AF_INET, in, host, sizeof host);
    } else if (sa->sa_family == AF_INET6) {
      const struct in6_addr *in6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
      snprintf(host, sizeof host, "::1");
      if (!IN6_IS_ADDR_UNSPECIFIED(in6)) inet_ntop(AF_INET6, in6, host, sizeof host);
    }
  }
  snprintf(p->shared.admin_host, sizeof p->shared.admin_host, "%s", host);
  p->shared.admin_port = port;
  bool v6 = strchr(host, ':') != NULL;
  fca_info("dashboard on http://%s%s%s:%d/ (and http://" FCA_ADMIN_HOST "/ through the proxy)",
           v6 ? "[" : "", host, v6 ? "]" : "", p->shared.admin_port);
}

/* The leaf key every minted certificate shares, of the CA's key type. */
static int make_leaf_key(fca_proxy_t *p, const fca_config_t *cfg, char *err, size_t errlen) {
  p->shared.leaf_key = fca_mint_leaf_key_new(fca_ca_key_type(p->shared.ca));
  if (!p->shared.leaf_key) {
    fca_seterr(err, errlen, "cannot make the leaf key");
    return -1;
  }
  if (cfg->insecure_upstream)
    fca_warn("--insecure-upstream: origin certificates are NOT verified; anyone on the path to "
             "an origin can impersonate it. Use only against test origins.");
  return 0;
}

static void free_proxy(fca_proxy_t *p) {
  for (int i = 0; i < p->nworkers; i++) {
    fca_worker_t *w = &p->workers[i];
    for (size_t k = 0; k < w->nlisteners; k++)
      if (w->listeners[k]) evconnlistener_free(w->listeners[k]);
    free(w->listeners);
    if (w->stop_ev) event_free(w->stop_ev);
    if (w->drain_timer) event_free(w->drain_timer);
    if (w->tick_ev) event_free(w->tick_ev);
    if (w->accept_timer) event_free(w->accept_timer);
    if (w->upool) fca_upool_free(w->upool);
    if (w->dns) evdns_base_free(w->dns, 1);
    if (w->tls_srv) fca_tls_server_free(w->tls_srv);
    if (w->tls_cli) fca_tls_client_free(w->tls_cli);
    if (w->base) event_base_free(w->base);
  }
  free(p->workers);
  free(p->joined);
  free(p->shared.listen);
  free(p->shared.local);
  free(p->shared.auth_expected);
  fca_routes_free(p->shared.routes);
  fca_passthrough_free(p->shared.passthrough);
  fca_refusals_free(p->shared.refusals);
  if (p->shared.leaf_key) EVP_PKEY_free(p->shared.leaf_key);
  free(p);
}

fca_proxy_t *fca_proxy_new(const fca_proxy_opts_t *o, char *err, size_t errlen) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, (void (*)(void))evthread_use_pthreads);
  const fca_config_t *cfg = o->cfg;
  fca_proxy_t *p = fca_xcalloc(1, sizeof *p);
  p->shared.cfg = cfg;
  p->shared.audit = o->audit;
  p->shared.ca = o->ca;
  p->shared.har = o->har;
  p->shared.routes = fca_routes_new(&cfg->resolve, &cfg->connect_to, err, errlen);
  if (!p->shared.routes) goto fail;
  if (cfg->proxy_auth) p->shared.auth_expected = basic_auth(cfg->proxy_auth);
  if (cfg->upstream_proxy && fca_config_parse_proxy_url(cfg->upstream_proxy, p->shared.parent_host,
                                                        sizeof p->shared.parent_host,
                                                        &p->shared.parent_port, err, errlen) < 0)
    goto fail;
  p->shared.passthrough = fca_passthrough_new();
  p->shared.refusals = fca_refusals_new();
  if (make_leaf_key(p, cfg, err, errlen) < 0) goto fail;

  const fca_strlist_t *ls = &cfg->listen;
  static char *const def_listen[] = {"127.0.0.1:8080"};
  fca_strlist_t deflist = {(char **)def_listen, 1};
  if (ls->n == 0) ls = &deflist;
  p->shared.nlisten = ls->n;
  p->shared.listen = fca_xcalloc(ls->n, sizeof *p->shared.listen);
  for (size_t i = 0; i < ls->n; i++) {
    if (fca_listen_parse(ls->items[i], &p->shared.listen[i], err, errlen) < 0) goto fail;
    if (!cfg->allow_remote && !fca_sockaddr_is_loopback(&p->shared.listen[i])) {
      fca_seterr(err, errlen,
                 "refusing to listen on %s: not a loopback address, and an open MITM proxy is "
                 "dangerous; add --allow-remote (and --proxy-auth USER:PASS) if you mean it",
                 ls->items[i]);
      goto fail;
    }
    if (fca_listen_probe(&p->shared.listen[i], err, errlen) < 0) goto fail;
  }

  p->shared.local = fca_local_addrs(&p->shared.nlocal);

  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  p->nworkers = cfg->workers > 0 ? cfg->workers : (ncpu > 0 ? (int)ncpu : 1);
  p->workers = fca_xcalloc((size_t)p->nworkers, sizeof *p->workers);
  p->joined = fca_xcalloc((size_t)p->nworkers, sizeof *p->joined);
  for (int i = 0; i < p->nworkers; i++) {
    fca_worker_t *w = &p->workers[i];
    w->index = i;
    w->shared = &p->shared;
    w->stats = &p->stats;
    w->base = event_base_new();
    if (!w->base) {
      fca_seterr(err, errlen, "cannot create an event loop");
      goto fail;
    }
    if (make_dns(w, cfg, err, errlen) < 0) goto fail;
    w->tls_srv = fca_tls_server_new(p->shared.ca, p->shared.leaf_key, (size_t)cfg->cert_cache_size);
    if (w->tls_srv) fca_tls_server_set_http2(w->tls_srv, !cfg->no_http2);
    w->tls_cli = i == 0
                     ? fca_tls_client_new((const char *const *)cfg->upstream_ca.items,
                                          cfg->upstream_ca.n, cfg->insecure_upstream, err, errlen)
                     : fca_tls_client_new_sharing(p->workers[0].tls_cli, cfg->insecure_upstream,
                                                  err, errlen);
    if (!w->tls_srv || !w->tls_cli) {
      if (!w->tls_srv) fca_seterr(err, errlen, "cannot set up TLS interception");
      goto fail;
    }
    w->upool = fca_upool_new(w->base, FCA_UPOOL_PER_WORKER,
                             cfg->idle_timeout_ms < 30000 ? cfg->idle_timeout_ms : 30000);
    w->stop_ev = event_new(w->base, -1, 0, on_stop, w);
    w->drain_timer = evtimer_new(w->base, on_drain_timeout, w);
    if (i == 0 && p->shared.audit) {
      w->tick_ev = fca_xcheck(event_new(w->base, -1, EV_PERSIST, on_tick, w), "a worker's events");
      struct timeval second = {1, 0};
      event_add(w->tick_ev, &second);
    }
    w->accept_timer = evtimer_new(w->base, on_accept_timer, w);
    if (!w->stop_ev || !w->drain_timer || !w->accept_timer) fca_oom("a worker's events");
    w->listeners = fca_xcalloc(p->shared.nlisten, sizeof *w->listeners);
    for (size_t k = 0; k < p->shared.nlisten; k++) {
      int fd = fca_listen_socket(&p->shared.listen[k], err, errlen);
      if (fd < 0) goto fail;
      if (fca_sockaddr_port(&p->shared.listen[k]) == 0) {
        /* The first worker's bind picked the port; the others share it. */
        fca_sockaddr_t *a = &p->shared.listen[k];
        a->len = sizeof a->addr;
        getsockname(fd, (struct sockaddr *)&a->addr, &a->len);
      }
      w->listeners[k] = evconnlistener_new(w->base, on_accept, w, LEV_OPT_CLOSE_ON_FREE, -1, fd);
      if (!w->listeners[k]) {
        close(fd);
        fca_seterr(err, errlen, "cannot listen: %s", strerror(errno));
        goto fail;
      }
      evconnlistener_set_error_cb(w->listeners[k], on_accept_error);
      /* libevent hands the error callback the listener's own argument: the worker. */
      w->nlisteners = k + 1;
    }
  }
  return p;
fail:
  free_proxy(p);
  return NULL;
}

void fca_proxy_start(fca_proxy_t *p) {
  for (int i = 0; i < p->nworkers; i++) {
    if (pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]) != 0) {
      fca_err("cannot start worker thread %d", i);
      abort();
    }
  }
  p->running = true;
}

size_t fca_proxy_nlisten(const fca_proxy_t *p) { return p->shared.nlisten; }

int fca_proxy_nworkers(const fca_proxy_t *p) { return p->nworkers; }

void fca_proxy_listen_name(const fca_proxy_t *p, size_t i, char *buf, size_t n) {
  if (i < p->shared.nlisten)
    fca_sockaddr_format(&p->shared.listen[i], buf, n);
  else if (n)
    buf[0] = '\0';
}

void fca_proxy_metrics(fca_proxy_t *p, fca_metrics_t *m) {
  memset(m, 0, sizeof *m);
  fca_proxy_stats_t *s = &p->stats;
  m->conns_open = atomic_load(&s->conns_open);
  m->conns_total = atomic_load(&s->conns_total);
  m->requests = atomic_load(&s->requests);
  m->bytes_from_clients = atomic_load(&s->bytes_up);
  m->bytes_to_clients = atomic_load(&s->bytes_down);
  m->tls_handshakes = atomic_load(&s->tls_handshakes);
  m->tls_failures = atomic_load(&s->tls_failures);
  m->upstream_reused = atomic_load(&s->upstream_reused);
  m->proxy_errors = atomic_load(&s->errors);
  m->h2_stream_peak = atomic_load(&s->h2_stream_peak);
  for (int i = 0; i < p->nworkers; i++) {
    if (!p->workers[i].tls_srv) continue;
    fca_certcache_stats_t cs;
    fca_tls_server_stats(p->workers[i].tls_srv, &cs);
    m->cert_cache_hits += cs.hits;
    m->cert_cache_misses += cs.misses;
    m->certs_minted += cs.mints;
  }
}

int fca_proxy_port(const fca_proxy_t *p, size_t i) {
  return i < p->shared.nlisten ? fca_sockaddr_port(&p->shared.listen[i]) : 0;
}

void fca_proxy_stop(fca_proxy_t *p) {
  for (int i = 0; i < p->nworkers; i++) event_active(p->workers[i].stop_ev, EV_READ, 0);
}

bool fca_proxy_try_join(fca_proxy_t *p) {
  bool alive = false;
  for (int i = 0; p->running && i < p->nworkers; i++) {
    if (!p->joined[i] && pthread_tryjoin_np(p->workers[i].thread, NULL) == 0) p->joined[i] = true;
    if (!p->joined[i]) alive = true;
  }
  return !alive;
}

void fca_proxy_join(fca_proxy_t *p) {
  for (int i = 0; p->running && i < p->nworkers; i++) {
    if (!p->joined[i]) pthread_join(p->workers[i].thread, NULL);
    p->joined[i] = true;
  }
}

void fca_proxy_wait_free(fca_proxy_t *p) {
  fca_proxy_join(p);
  free_proxy(p);
}

void fca_proxy_outcome(fca_proxy_t *p, fca_proxy_outcome_t *out) {
  memset(out, 0, sizeof *out);
  out->refused = atomic_load(&p->stats.refused);
  out->forwarded = atomic_load(&p->stats.forwarded);
  if (out->refused)
    snprintf(out->first_refusal, sizeof out->first_refusal, "%s", p->stats.first_refusal);
}

void fca_proxy_print_refusals(fca_proxy_t *p, FILE *f) {
  fca_refusals_print(p->shared.refusals, f);
}
