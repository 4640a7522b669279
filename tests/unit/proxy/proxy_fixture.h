/* proxy_fixture: what the connection-layer unit tests share: one worker (event loop, evdns,
 * pool, routes naming origin.test) built without the proxy's start-up, and a scripted origin
 * on a loopback port run by a thread: for each connection it reads one request head (and a
 * Content-Length body), records it, then writes the scripted answer and optionally closes.
 * Only 127.0.0.1 is touched; every wait is bounded. */
#ifndef FCA_TEST_PROXY_FIXTURE_H
#define FCA_TEST_PROXY_FIXTURE_H

#include "fcaudit/config.h"
#include "routes.h"
#include "upool.h"
#include "worker.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <event2/dns.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
  fca_config_t cfg;
  fca_proxy_shared_t shared;
  fca_proxy_stats_t stats;
  fca_worker_t w;
  char resolve[64];
  char *resolve_list[1];
  /* the scripted origin */
  int lfd, port;
  pthread_t th;
  const char *answer; /* written after each request head (NULL: never answers) */
  bool close_after;   /* close the connection after the answer */
  char got[8192];     /* the last request received */
  int requests;
} fx_t;

static void *fx_origin(void *arg) {
  fx_t *f = arg;
  for (;;) {
    int c = accept(f->lfd, NULL, NULL);
    if (c < 0) return NULL;
    for (;;) {
      size_t n = 0;
      while (n < sizeof f->got - 1) {
        ssize_t r = recv(c, f->got + n, sizeof f->got - 1 - n, 0);
        if (r <= 0) break;
        n += (size_t)r;
        f->got[n] = '\0';
        char *end = strstr(f->got, "\r\n\r\n");
        const char *cl = strcasestr(f->got, "content-length: ");
        if (end && (!cl || n >= (size_t)(end + 4 - f->got) + (size_t)atol(cl + 16))) break;
      }
      if (n == 0) break;
      __atomic_add_fetch(&f->requests, 1, __ATOMIC_SEQ_CST);
      if (!f->answer) continue; /* silent: wait for more (or the close) */
      if (send(c, f->answer, strlen(f->answer), MSG_NOSIGNAL) < 0 || f->close_after) break;
    }
    close(c);
  }
}

static inline void fx_init(fx_t *f) {
  memset(f, 0, sizeof *f);
  fca_config_init(&f->cfg);
  f->lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  cr_assert_eq(bind(f->lfd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t len = sizeof a;
  getsockname(f->lfd, (struct sockaddr *)&a, &len);
  f->port = ntohs(a.sin_port);
  cr_assert_eq(listen(f->lfd, 16), 0);
  snprintf(f->resolve, sizeof f->resolve, "origin.test:%d:127.0.0.1", f->port);
  f->resolve_list[0] = f->resolve;
  fca_strlist_t res = {f->resolve_list, 1}, none = {NULL, 0};
  char err[256];
  f->shared.cfg = &f->cfg;
  f->shared.routes = fca_routes_new(&res, &none, err, sizeof err);
  cr_assert_not_null(f->shared.routes, "%s", err);
  f->w.shared = &f->shared;
  f->w.stats = &f->stats;
  f->w.base = event_base_new();
  f->w.dns = evdns_base_new(f->w.base, 0);
  f->w.upool = fca_upool_new(f->w.base, 8, 30000);
  pthread_create(&f->th, NULL, fx_origin, f);
}

static inline void fx_free(fx_t *f) {
  /* Deferred frees still pending run now; pooled upstreams close, so the origin's reads end. */
  event_base_loop(f->w.base, EVLOOP_NONBLOCK);
  fca_upool_free(f->w.upool);
  event_base_loop(f->w.base, EVLOOP_NONBLOCK);
  shutdown(f->lfd, SHUT_RDWR);
  close(f->lfd);
  pthread_join(f->th, NULL);
  evdns_base_free(f->w.dns, 0);
  event_base_free(f->w.base);
  fca_routes_free(f->shared.routes);
  fca_config_free(&f->cfg);
}

/* Runs the loop until *flag is set or ms pass; returns *flag. */
static inline bool fx_run_until(fx_t *f, const bool *flag, int ms) {
  for (int i = 0; i < ms / 5 && !*flag; i++) {
    struct timeval tv = {0, 5000};
    event_base_loopexit(f->w.base, &tv);
    event_base_loop(f->w.base, 0);
  }
  return *flag;
}

#endif
