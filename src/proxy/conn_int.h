/* conn_int: the client session's state, shared by its files (conn.c: lifetime, errors,
 * backpressure, HTTP/1.1 framing of the client side and tunnels; request.c: request heads,
 * CONNECT and what is sent upstream). One request at a time goes to the session's exchange
 * (exchange.h), which reaches the origin. Private to src/proxy/. */
#ifndef FCA_PROXY_CONN_INT_H
#define FCA_PROXY_CONN_INT_H

#include "exchange.h"

#include "conn.h"
#include "endpoint.h"
#include "http1.h"

#include <stdbool.h>
#include <stdint.h>

/* The client side: where the current request is. */
typedef enum {
  REQ_IDLE,      /* waiting for a request head */
  REQ_BODY,      /* forwarding the request body */
  REQ_DONE,      /* request forwarded; the next one waits for this response */
  REQ_TUNNEL,    /* bytes flow unparsed (CONNECT tunnel, upgraded connection) */
  REQ_PEEK,      /* CONNECT answered; waiting for the client's first bytes */
  REQ_HANDSHAKE, /* TLS handshake with the client (interception) */
} req_state_t;

/* The session's lifetime. */
typedef enum {
  LIFE_OPEN,      /* serving */
  LIFE_FLUSHING,  /* delivering what is queued for the client, then closing */
  LIFE_LINGERING, /* HTTP/2: output delivered and the write side shut; the client's last bytes
                     are read and dropped for a moment, so its GOAWAY is not lost to a reset */
  LIFE_CLOSED,    /* closed; freed from a deferred event */
} life_t;

/* How requests reach the session. */
typedef enum {
  VIA_PROXY,      /* to the proxy itself: absolute-form (or CONNECT) */
  VIA_TUNNEL,     /* inside a CONNECT tunnel, in the clear: origin-form */
  VIA_TUNNEL_TLS, /* inside a CONNECT tunnel, decrypted with a minted certificate */
} via_t;

/* The framing the client speaks. */
typedef enum {
  PROTO_H1, /* HTTP/1.1 (or a tunnel) */
  PROTO_H2, /* HTTP/2 (h2.c), after ALPN chose "h2" on intercepted TLS */
} proto_t;

/* The client side of the session. */
typedef struct {
  fca_ep_t *ep;
  fca_http1_t req;
  req_state_t rs;
  bool keep_alive;       /* the client wants the connection kept after this exchange */
  bool half_closed;      /* the client sent its FIN (a tunnel passes it on once open) */
  bool response_started; /* bytes of a response to the current request went to the client */
  int64_t head_deadline; /* header timeout for a partial request head */
} client_side_t;

/* The CONNECT tunnel the session lives in (via != VIA_PROXY), or the one it asked for. */
typedef struct {
  via_t via;
  bool blind;    /* passed on unparsed to the target (not intercepted) */
  bool answered; /* the 200 to CONNECT was already sent */
  char host[256];
  int port;
} tunnel_t;

struct fca_conn {
  fca_worker_t *w;
  struct fca_conn *prev, *next;
  char client_addr[64];
  life_t life;
  proto_t proto;
  struct fca_h2 *h2; /* PROTO_H2: the streams */
  client_side_t cl;
  tunnel_t tun;
  fca_exch_t *x; /* the exchange of the current request (kept between requests) */
  struct event *timer, *free_ev;
};

static inline const fca_config_t *cfg_of(const fca_conn_t *c) { return c->w->shared->cfg; }

void fca_conn_arm_timer(fca_conn_t *c, uint64_t ms);
void fca_conn_close(fca_conn_t *c);
void fca_conn_close_after_flush(fca_conn_t *c);
void fca_conn_send_error(fca_conn_t *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Like fca_conn_send_error for a refusal the user's policy asked for (--only-resolved,
 * --proxy-auth): told once per (policy, host) at info level, counted for the summary. */
void fca_conn_refuse(fca_conn_t *c, int status, const char *policy, const char *host,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void fca_conn_update_reading(fca_conn_t *c);
const char *fca_conn_reason(int status);
void fca_conn_note_error(fca_conn_t *c, int status, char *msg, size_t cap, bool started);
void fca_conn_process_client(fca_conn_t *c);
fca_exch_t *fca_conn_exchange(fca_conn_t *c);
/* request.c */
void fca_conn_peek_tunnel(fca_conn_t *c);
void fca_conn_handle_request_head(fca_conn_t *c, size_t head_len);

#endif
