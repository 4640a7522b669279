/* exchange_int: the exchange's state, shared by its two files (exchange.c: lifetime, timers,
 * the response and the audit tap; upstream.c: its upstream lease — route, DNS, connect, TLS,
 * pool, retry — and the upstream's events). Private to src/proxy/. */
#ifndef FCA_PROXY_EXCHANGE_INT_H
#define FCA_PROXY_EXCHANGE_INT_H

#include "exchange.h"

#include "endpoint.h"
#include "fcaudit/defer.h"
#include "routes.h"

#include <event2/dns.h>

/* The upstream connection the exchange holds. */
typedef enum {
  UP_NONE,  /* none */
  UP_FRESH, /* opened for this exchange */
  UP_REUSED /* kept from a previous exchange or taken from the pool */
} up_lease_t;

/* The request's progress towards the upstream. */
typedef enum {
  XREQ_SENDING, /* the session still produces request bytes (a body) */
  XREQ_ENDED,   /* the whole request is in the sink */
} xreq_state_t;

struct fca_exch {
  fca_worker_t *w;
  const fca_exch_ops_t *ops;
  void *sess;
  const char *client_addr;
  fca_exch_state_t st;
  xreq_state_t rq;
  bool closing;     /* freed or aborted: no callback goes to the session any more */
  bool freed;       /* fca_exch_free was called */
  bool answered;    /* a response head went to the session */
  bool head_method; /* the request is HEAD: its response has no body */
  const char
      *refuse_policy; /* a refusal the user's policy asked for ("--only-resolved"), or NULL */
  /* target */
  char host[256];
  int port;
  int method;
  bool tls, inner, admin, blind, via_parent;
  fca_route_t route;
  size_t addr_next;
  struct evutil_addrinfo *addrs;
  struct evdns_getaddrinfo_request *dns_req;
  int refs; /* DNS lookups in flight (the memory waits for them) */
  /* upstream */
  fca_ep_t *up;
  up_lease_t lease;
  bool up_reusable;         /* idle after a complete keep-alive response */
  bool shut_pending;        /* tunnel: shut the upstream's write side once its output is empty */
  char up_key[300];         /* "scheme://host:port" the upstream connection is for */
  fca_defer_t graveyard;    /* upstreams closed inside callbacks, freed from gc_ev */
  struct evbuffer *pending; /* request bytes produced before the upstream is connected */
  struct evbuffer *retry;   /* a bodiless request sent on a reused upstream, to re-send once if
                               the origin had closed it */
  bool retried;
  fca_http1_t resp;
  fca_exch_body_t body_mode;
  struct evbuffer *body_out; /* decoded mode: where on_resp_body puts the slices */
  struct event *timer, *free_ev, *gc_ev;
  /* audit */
  char *url;
  fca_audit_exchange_t *ax;
  struct fca_harw_x *hx; /* --har: the HAR record of this exchange, or NULL */
  bool ax_body;          /* the audit inspects this response's body */
};

static inline const fca_config_t *xcfg(const fca_exch_t *x) { return x->w->shared->cfg; }

void fca_exch_arm_timer(fca_exch_t *x, uint64_t ms);
void fca_exch_fail(fca_exch_t *x, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void fca_exch_finish(fca_exch_t *x, bool reusable, bool by_close);
void fca_exch_audit_end(fca_exch_t *x, bool complete);
void fca_exch_process_upstream(fca_exch_t *x);
void fca_exch_tunnel_begin(fca_exch_t *x);
bool fca_exch_limit_reads(fca_exch_t *x);
/* upstream.c */
void fca_exch_close_upstream(fca_exch_t *x);
void fca_exch_release_upstream(fca_exch_t *x);
void fca_exch_start_upstream(fca_exch_t *x);
void fca_exch_cancel_dns(fca_exch_t *x);
void fca_exch_parent_answer(fca_exch_t *x);

#endif
