/* exchange: one request and its response, whatever the client's protocol: the target and its
 * route, an upstream connection leased from the worker's pool (or kept from the previous
 * exchange of the same session), the audit tap and the upstream timers. The client session
 * (HTTP/1.1 or HTTP/2) writes the upstream request into fca_exch_request_sink() and gets the
 * response back through fca_exch_ops_t; nothing here knows the client's protocol.
 * Ownership: a session owns its exchanges; fca_exch_free is safe inside any callback (the
 * memory goes from a deferred event, after a DNS lookup in flight has called back). */
#ifndef FCA_PROXY_EXCHANGE_H
#define FCA_PROXY_EXCHANGE_H

#include "fcaudit/audit.h"
#include "http1.h"
#include "worker.h"

#include <event2/buffer.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct fca_exch fca_exch_t;

typedef enum {
  FCA_EXCH_IDLE,       /* no request in progress (a kept upstream may be parked here) */
  FCA_EXCH_RESOLVING,  /* DNS lookup */
  FCA_EXCH_CONNECTING, /* TCP connect (and TLS handshake) */
  FCA_EXCH_PARENT,     /* waiting for --upstream-proxy's answer to our CONNECT */
  FCA_EXCH_HEAD,       /* waiting for the response head */
  FCA_EXCH_BODY,       /* forwarding the response body */
  FCA_EXCH_TUNNEL,     /* bytes flow unparsed both ways */
} fca_exch_state_t;

/* How an exchange that cannot go on ends for the client. */
enum {
  FCA_EXCH_ABORT_FLUSH = 0, /* deliver what is queued, then close (or reset the stream) */
  FCA_EXCH_ABORT_NOW = -1,  /* close (or reset) at once */
};

/* What the session does for its exchanges (sess: the owner given to fca_exch_new). */
typedef struct {
  /* A response head (interim 1xx, 101 or final). raw/len: the head as received, valid during
   * the call only. */
  void (*head)(void *sess, fca_exch_t *x, const fca_http_head_t *h, const char *raw, size_t len);
  /* Where response body (and tunnel) bytes go, and whether it is full (backpressure). */
  struct evbuffer *(*sink)(void *sess, fca_exch_t *x);
  bool (*sink_full)(void *sess, fca_exch_t *x);
  /* Bytes were added to the sink. */
  void (*flush)(void *sess, fca_exch_t *x);
  /* The response ended. by_close: its body was delimited by the origin closing. */
  void (*done)(void *sess, fca_exch_t *x, bool by_close);
  /* The exchange cannot go on: status > 0 is the answer to give if nothing was sent yet (the
   * message says why; it is logged by the session), or an FCA_EXCH_ABORT_* (msg NULL). */
  void (*fail)(void *sess, fca_exch_t *x, int status, const char *msg);
  /* Bytes flow unparsed from now on (a reachable CONNECT target, or 101). */
  void (*tunnel)(void *sess, fca_exch_t *x);
  /* The tunnel's upstream closed: deliver what is left, then close. */
  void (*tunnel_closed)(void *sess, fca_exch_t *x);
  /* The upstream took request bytes (or just connected): more request body may follow. */
  void (*drained)(void *sess, fca_exch_t *x);
  /* Optional: response bytes the sink may still take. The upstream is then read only into
   * this room, so what waits in the upstream's input and in the sink together stays within the
   * session's bound (a response head may take up to --max-header-size). NULL: sink_full only. */
  size_t (*sink_room)(void *sess, fca_exch_t *x);
} fca_exch_ops_t;

/* What a request is sent to. */
typedef struct {
  const char *host; /* lowercased, without brackets */
  int port;
  bool tls;   /* the origin speaks TLS */
  bool inner; /* the request came inside a CONNECT tunnel (origin-form) */
  bool admin; /* fcaudit's own pages */
  bool blind; /* CONNECT to a host not intercepted: a byte tunnel */
  int method; /* llhttp_method_t */
} fca_exch_target_t;

/* How response bodies reach the session's sink. */
typedef enum {
  FCA_EXCH_BODY_WIRE,    /* as sent by the origin (HTTP/1.1 framing, chunks included) */
  FCA_EXCH_BODY_DECODED, /* the message body only (chunked framing and trailers removed) */
} fca_exch_body_t;

/* client_addr must outlive the exchange (it is the session's). */
fca_exch_t *fca_exch_new(fca_worker_t *w, const fca_exch_ops_t *ops, void *sess,
                         const char *client_addr, fca_exch_body_t body);
/* No callback follows; an idle reusable upstream goes back to the worker's pool. */
void fca_exch_free(fca_exch_t *x);

/* A new request on x (idle): sets the target; the session then writes the upstream request
 * head into fca_exch_request_sink(), opens the audit and calls fca_exch_start. */
void fca_exch_prepare(fca_exch_t *x, const fca_exch_target_t *t);
void fca_exch_start(fca_exch_t *x);
/* The request as the audit (and the --har tap) see it; read during the call only. */
typedef struct {
  const char *method, *url;
  int http_major, http_minor; /* as the client spoke (2.0 for HTTP/2) */
  const fca_audit_header_t *headers;
  size_t nheaders;
} fca_exch_request_t;

/* Opens the audit of this exchange (and its --har record). */
void fca_exch_audit_begin(fca_exch_t *x, const fca_exch_request_t *req);
/* Request body bytes as the client sent them (the --har tap). */
void fca_exch_request_body_seen(fca_exch_t *x, const char *data, size_t len);
const char *fca_exch_url(const fca_exch_t *x);

/* Request bytes: where they go (the upstream's output once connected), how much waits there,
 * and pushing them out. fca_exch_request_end: the whole request is in the sink. */
struct evbuffer *fca_exch_request_sink(fca_exch_t *x);
size_t fca_exch_request_buffered(fca_exch_t *x);
void fca_exch_request_flush(fca_exch_t *x);
void fca_exch_request_end(fca_exch_t *x);
bool fca_exch_request_ended(const fca_exch_t *x);
/* A request body still progresses: the origin's silence is not a timeout yet. */
void fca_exch_request_progress(fca_exch_t *x);

/* The session's sink drained: read the upstream again (processing what is buffered). */
void fca_exch_resume(fca_exch_t *x);
/* Re-evaluates whether the upstream is read (after the sink's fill changed). */
void fca_exch_update_reading(fca_exch_t *x);
/* Response bytes read from the upstream and not yet in the sink. */
size_t fca_exch_response_buffered(fca_exch_t *x);
/* Tunnel: the client half-closed; the origin is told once everything it sent is delivered. */
void fca_exch_shut_write(fca_exch_t *x);
/* Drops the request in progress (the session answers for itself): the audit ends cut short,
 * the upstream is closed, x is idle and can be prepared again. No callback follows. */
void fca_exch_reset(fca_exch_t *x);
/* Stop reading the upstream unless a response body or tunnel is flowing (closing softly). */
void fca_exch_quiesce(fca_exch_t *x);

fca_exch_state_t fca_exch_state(const fca_exch_t *x);
const char *fca_exch_host(const fca_exch_t *x);
int fca_exch_port(const fca_exch_t *x);
/* The response to a HEAD request has no body. */
bool fca_exch_is_head(const fca_exch_t *x);
/* During ops->head: whether body bytes (or a tunnel) follow this head. */
bool fca_exch_response_has_body(const fca_exch_t *x);

/* Pure helpers shared by the sessions. */
size_t fca_exch_audit_headers(const fca_http_head_t *h, fca_audit_header_t *out);
/* Feeds body bytes at the start of `in` to the parser and moves those that belong to the
 * message to `out` (or drops them: out NULL). Returns 1 when the message ended, 0 if more is
 * needed, -1 on error. */
int fca_exch_pump_body(fca_http1_t *h, struct evbuffer *in, struct evbuffer *out, const char **why);
bool fca_exch_is_admin_host(const char *host);
/* With --allow-remote, a tunnel may reach this host's own services only on the usual TLS
 * ports, unless --allow-local-connect (as squid allows CONNECT to SSL ports only). */
bool fca_exch_local_connect_denied(const fca_worker_t *w, const struct sockaddr *sa);

/* The policy behind the exchange's failure when the user's options refused it ("--only-resolved"),
 * else NULL; and the host it was for. For the session's once-per-host refusal lines. */
const char *fca_exch_refusal_policy(const fca_exch_t *x);

#endif
