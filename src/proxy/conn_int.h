/* conn_int: what the three files of the connection share (conn.c: lifetime, errors,
 * backpressure, the exchange and the client side; request.c: request heads, CONNECT and the
 * audit hooks; upstream.c: reaching the origin and its events). Private to src/proxy/. */
#ifndef FCA_PROXY_CONN_INT_H
#define FCA_PROXY_CONN_INT_H

#include "conn.h"
#include "endpoint.h"
#include "fcaudit/audit.h"
#include "fcaudit/defer.h"
#include "http1.h"
#include "routes.h"

#include <stdbool.h>
#include <stdint.h>

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
  fca_defer_t graveyard; /* endpoints closed inside callbacks, freed from gc_ev */
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
  struct fca_harw_x *hx;    /* --har: the HAR record of the current exchange, or NULL */
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

static inline const fca_config_t *cfg_of(const fca_conn_t *c) { return c->w->shared->cfg; }

void fca_conn_arm_timer(fca_conn_t *c, uint64_t ms);
void fca_conn_close(fca_conn_t *c);
void fca_conn_close_upstream(fca_conn_t *c);
void fca_conn_release_upstream(fca_conn_t *c);
void fca_conn_close_after_flush(fca_conn_t *c);
void fca_conn_send_error(fca_conn_t *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Like fca_conn_send_error for a refusal the user's policy asked for (--only-resolved,
 * --proxy-auth): told once per (policy, host) at info level, counted for the summary. */
void fca_conn_refuse(fca_conn_t *c, int status, const char *policy, const char *host,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
struct evbuffer *fca_conn_request_sink(fca_conn_t *c);
void fca_conn_update_reading(fca_conn_t *c);
void fca_conn_finish_exchange(fca_conn_t *c, bool upstream_reusable);
int fca_conn_pump_body(fca_http1_t *h, struct evbuffer *in, struct evbuffer *out, const char **why);
void fca_conn_start_tunnel(fca_conn_t *c);
void fca_conn_tunnel_pump(fca_conn_t *c);
void fca_conn_process_client(fca_conn_t *c);
void fca_conn_process_upstream(fca_conn_t *c);
void fca_conn_upstream_ready(fca_conn_t *c);
void fca_conn_start_upstream(fca_conn_t *c);
void fca_conn_open_upstream(fca_conn_t *c);
void fca_conn_parent_answer(fca_conn_t *c);
bool fca_conn_retry_request(fca_conn_t *c);
void fca_conn_upstream_eof(fca_conn_t *c);
void fca_conn_shut_upstream_write(fca_conn_t *c);
bool fca_conn_is_self(fca_conn_t *c, const struct sockaddr *sa);
bool fca_conn_local_connect_denied(fca_conn_t *c, const struct sockaddr *sa);
size_t fca_conn_audit_headers(const fca_http_head_t *h, fca_audit_header_t *out);
void fca_conn_audit_end(fca_conn_t *c, bool complete);
void fca_conn_on_resp_body(void *ud, const char *data, size_t len);
void fca_conn_on_req_body(void *ud, const char *data, size_t len);
bool fca_conn_is_admin_host(const char *host);
void fca_conn_peek_tunnel(fca_conn_t *c);
void fca_conn_handle_request_head(fca_conn_t *c, size_t head_len);

#endif
