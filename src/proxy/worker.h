/* worker: one event loop thread of the proxy: its event_base, evdns_base, SO_REUSEPORT
 * listeners and connections. Workers share only what fca_proxy_shared_t holds (read-only
 * configuration and routes, plus modules with their own locks); caches are per worker. */
#ifndef FCAUDIT_WORKER_H
#define FCAUDIT_WORKER_H

#include "fcaudit/config.h"
#include "routes.h"

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>

struct fca_conn;

typedef struct {
  struct sockaddr_storage addr;
  socklen_t len;
} fca_sockaddr_t;

/* Read-only after start, shared by every worker. */
typedef struct {
  const fca_config_t *cfg;
  fca_routes_t *routes;
  fca_sockaddr_t *listen; /* bound listen addresses (actual ports) */
  size_t nlisten;
  fca_sockaddr_t *local; /* this host's interface addresses (loop detection) */
  size_t nlocal;
  char *auth_expected;                 /* "Basic base64(user:pass)" or NULL */
  struct fca_passthrough *passthrough; /* hosts whose clients rejected interception */
  struct fca_refusals *refusals;       /* policy refusals, told once per host, counted */
  struct fca_ca *ca;                   /* the interception CA */
  struct evp_pkey_st *leaf_key;        /* one leaf key shared by every minted certificate */
  struct fca_audit *audit;             /* the audit engine (thread-safe registry) */
  struct fca_harw *har;                /* --har writer (thread-safe), or NULL */
  char admin_host[64];                 /* the admin listener (for fcaudit.test), or admin_port 0 */
  int admin_port;
  char parent_host[256]; /* --upstream-proxy, or parent_port 0 */
  int parent_port;
} fca_proxy_shared_t;

typedef struct {
  atomic_ullong conns_total, conns_open, requests, bytes_up, bytes_down;
  atomic_ullong errors, tls_handshakes, tls_failures, upstream_reused;
  atomic_ullong h2_stream_peak; /* most response bytes one HTTP/2 stream held at once */
  /* accept() failing for lack of descriptors or memory: workers in such an episode, and the
   * failed attempts of the current episode (reported once when it starts and once at its end) */
  atomic_ullong refused, forwarded; /* see fca_proxy_outcome_t */
  atomic_flag first_refusal_taken;
  char first_refusal[200]; /* written once, by the worker that took the flag */
  atomic_uint accept_starved;
  atomic_ullong accept_failures;
  atomic_llong accept_starved_since_ms;
} fca_proxy_stats_t;

typedef struct fca_worker {
  int index;
  struct event_base *base;
  struct evdns_base *dns;
  const fca_proxy_shared_t *shared;
  fca_proxy_stats_t *stats;
  struct evconnlistener **listeners;
  size_t nlisteners;
  struct fca_conn *conns; /* every open connection of this worker */
  size_t nconns;
  bool draining;
  struct event *stop_ev;
  struct event *drain_timer;
  struct event *tick_ev;      /* worker 0: the audit's clock (fca_audit_tick), once a second */
  struct event *accept_timer; /* resumes accepting after a pause for lack of descriptors */
  unsigned accept_backoff_ms; /* the next pause; 0 outside an episode */
  bool accept_paused;         /* listeners disabled by the pause */
  bool accept_failed;         /* accept failed since the listeners were enabled again */
  bool accept_progress;       /* a connection was accepted during the episode */
  pthread_t thread;
  struct fca_tls_server *tls_srv; /* per worker: minted-certificate cache */
  struct fca_tls_client *tls_cli; /* per worker: upstream context and sessions */
  struct fca_upool *upool;        /* per worker: idle upstream connections */
} fca_worker_t;

/* Takes ownership of an accepted socket. */
void fca_conn_accept(fca_worker_t *w, int fd, const struct sockaddr *sa, socklen_t salen);
/* Shutdown: idle connections close now, busy ones after their current exchange. */
void fca_conn_drain_all(fca_worker_t *w);
/* Closes every connection at once (drain timeout, exit). */
void fca_conn_close_all(fca_worker_t *w);

#endif
