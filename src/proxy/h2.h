/* h2: the HTTP/2 framing of a client session (RFC 9113, libnghttp2), on an intercepted TLS
 * connection whose client chose "h2" in ALPN. Each stream is an exchange to an HTTP/1.1
 * upstream; the session owns the streams, the exchanges own their upstreams. Private to
 * src/proxy/. */
#ifndef FCA_PROXY_H2_H
#define FCA_PROXY_H2_H

#include <stdbool.h>
#include <stddef.h>

struct fca_conn;
typedef struct fca_h2 fca_h2_t;

/* Limits, overridable at compile time so tests reach them. */
#ifndef FCA_H2_MAX_STREAMS
#define FCA_H2_MAX_STREAMS 100 /* SETTINGS_MAX_CONCURRENT_STREAMS */
#endif
/* Response bytes a stream may hold, queued for the client's window plus read from its upstream
 * (whose reads are sized by the room left): the connection's FCA_H2_CONN_BUFFER shared by its
 * streams, at least FCA_H2_STREAM_BUFFER, at most --buffer-limit. */
#ifndef FCA_H2_STREAM_BUFFER
#define FCA_H2_STREAM_BUFFER (64 * 1024)
#endif
#ifndef FCA_H2_CONN_BUFFER
#define FCA_H2_CONN_BUFFER (1024 * 1024)
#endif
#ifndef FCA_H2_STREAM_WINDOW
#define FCA_H2_STREAM_WINDOW                                                                       \
  (256 * 1024) /* request body bytes a client may send per stream                                  \
                  ahead of the upstream taking them */
#endif
#ifndef FCA_H2_CONN_WINDOW
#define FCA_H2_CONN_WINDOW (1024 * 1024) /* ... and on the whole connection */
#endif
#ifndef FCA_H2_RESET_LIMIT
#define FCA_H2_RESET_LIMIT 200 /* streams the client may reset per window (CVE-2023-44487) */
#endif
#ifndef FCA_H2_RESET_WINDOW_MS
#define FCA_H2_RESET_WINDOW_MS 10000
#endif
#ifndef FCA_H2_MAX_CONTINUATIONS
#define FCA_H2_MAX_CONTINUATIONS 8 /* CONTINUATION frames per header block */
#endif

/* Takes over the session's client endpoint (its TLS handshake just chose "h2"). Returns NULL
 * when nghttp2 cannot start (the session is then closed by the caller). */
fca_h2_t *fca_h2_new(struct fca_conn *c);
/* The session closed: no more callbacks, the exchanges go. fca_h2_free (from the session's
 * deferred free) releases the rest. */
void fca_h2_close(fca_h2_t *h);
void fca_h2_free(fca_h2_t *h);
/* Client endpoint events, routed here by the session. */
void fca_h2_on_read(fca_h2_t *h);
void fca_h2_on_drain(fca_h2_t *h);
/* Shutdown: GOAWAY now; the session closes once its open streams have finished. */
void fca_h2_drain(fca_h2_t *h);
/* The session timer fired (idle with no stream open): GOAWAY and close. */
void fca_h2_on_timer(fca_h2_t *h);
bool fca_h2_idle(const fca_h2_t *h);

#endif
