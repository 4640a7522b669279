/* endpoint: one side of a proxied connection (client or upstream): a non-blocking socket with
 * an input and an output evbuffer, driven by libevent socket events. Two implementations share
 * this interface, plain and TLS; conn.c never knows which it has. The TLS one drives SSL itself
 * (SSL_read until WANT_READ, SSL_has_pending before sleeping, output coalesced into records of
 * up to 16 KiB), avoiding bufferevent_openssl's small records and backpressure stalls.
 * Callbacks may close the owner; an endpoint is only freed by fca_ep_free, never from inside
 * its own callback frames (owners defer frees). */
#ifndef FCAUDIT_ENDPOINT_H
#define FCAUDIT_ENDPOINT_H

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct fca_ep fca_ep_t;

enum {
  FCA_EP_CONNECTED = 1, /* non-blocking connect finished */
  FCA_EP_HANDSHAKE = 2, /* TLS handshake finished */
  FCA_EP_EOF = 4,       /* peer closed (input may still hold data) */
  FCA_EP_ERROR = 8,     /* socket or TLS error; fca_ep_error() says which */
};

typedef struct {
  void (*on_read)(fca_ep_t *ep, void *ud);            /* new bytes in fca_ep_input() */
  void (*on_drain)(fca_ep_t *ep, void *ud);           /* output fell to the low watermark, or
                                                         a write emptied it */
  void (*on_event)(fca_ep_t *ep, int what, void *ud); /* FCA_EP_* */
} fca_ep_cbs_t;

/* Takes ownership of fd (closed by fca_ep_free). `connecting`: a connect() is in progress. */
fca_ep_t *fca_ep_new(struct event_base *base, int fd, bool connecting, const fca_ep_cbs_t *cbs,
                     void *ud);
/* Switches the endpoint to TLS on the same fd (server or client side) and starts the handshake.
 * Bytes already read into the input buffer are handed to TLS first. Takes ownership of ssl. */
void fca_ep_start_tls(fca_ep_t *ep, SSL *ssl, bool server);
void fca_ep_free(fca_ep_t *ep);

struct evbuffer *fca_ep_input(fca_ep_t *ep);
struct evbuffer *fca_ep_output(fca_ep_t *ep);
int fca_ep_fd(const fca_ep_t *ep);
bool fca_ep_is_tls(const fca_ep_t *ep);
/* TLS: the peer certificate's verification result (X509_V_OK when verified or not TLS). */
long fca_ep_verify_result(const fca_ep_t *ep);
/* TLS: the protocol ALPN selected ("h2", "http/1.1"), or "" when none or not TLS. */
const char *fca_ep_alpn(const fca_ep_t *ep);
bool fca_ep_eof(const fca_ep_t *ep);
const char *fca_ep_error(const fca_ep_t *ep); /* last error text, or NULL */
/* Half-close: once all output is written, TLS sends close_notify (waiting for the socket if it
 * must), then the socket's write side is shut down. Reading goes on. */
void fca_ep_shutdown_write(fca_ep_t *ep);

/* Reading: when disabled, no more bytes are taken from the socket (backpressure); enabling it
 * again also processes bytes already decrypted inside OpenSSL. */
void fca_ep_set_reading(fca_ep_t *ep, bool on);
bool fca_ep_reading(const fca_ep_t *ep);
/* Reads fill the input buffer to at most n bytes (SIZE_MAX, the default: no bound); an input
 * already holding n turns reading off (fca_ep_reading() false) until the owner enables it. */
void fca_ep_set_read_max(fca_ep_t *ep, size_t n);
/* Tries to write the output now; waits for EV_WRITE only for what is left. */
void fca_ep_flush(fca_ep_t *ep);
/* on_drain fires when the output falls to at most this many bytes after having been above. */
void fca_ep_set_low_watermark(fca_ep_t *ep, size_t lowat);
/* Sends TLS close_notify when the handshake finished (best effort), then stops all I/O. */
void fca_ep_shutdown(fca_ep_t *ep);
void fca_ep_set_cbs(fca_ep_t *ep, const fca_ep_cbs_t *cbs, void *ud);
/* Byte counters (application bytes, after TLS). */
uint64_t fca_ep_bytes_in(const fca_ep_t *ep);
uint64_t fca_ep_bytes_out(const fca_ep_t *ep);

#endif
