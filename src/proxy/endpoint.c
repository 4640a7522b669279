/* endpoint: a socket with input/output evbuffers, plain or TLS, driven by libevent events.
 * Invariants: the read event is pending only while reading is enabled and no handshake waits
 * on a write; the write event is pending only while output is left or TLS asked to wait for it.
 * TLS output goes out in records of up to FCA_EP_RECORD bytes; TLS input is read until
 * WANT_READ (bounded per wakeup for fairness), and bytes OpenSSL still holds are processed as
 * soon as reading is enabled again. */
#include "endpoint.h"

#include "fcaudit/util.h"

#include <errno.h>
#include <openssl/err.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef FCA_EP_RECORD
#define FCA_EP_RECORD 16384
#endif
#ifndef FCA_EP_TLS_READ_BUF
#define FCA_EP_TLS_READ_BUF (64 * 1024)
#endif
#ifndef FCA_EP_PLAIN_READ
#define FCA_EP_PLAIN_READ 65536
#endif
#ifndef FCA_EP_READ_BUDGET
#define FCA_EP_READ_BUDGET (256 * 1024)
#endif

struct fca_ep {
  struct event_base *base;
  int fd;
  SSL *ssl;
  BIO *prefix;       /* bytes read before TLS started, consumed by OpenSSL first */
  bool sock_drained; /* OpenSSL's last socket read got less than it asked for (or nothing) */
  struct event *rev, *wev, *kick;
  struct event *drain_ev; /* on_drain after a flush the owner asked for: never re-entrant */
  bool in_flush;
  struct evbuffer *in, *out;
  fca_ep_cbs_t cbs;
  void *ud;
  size_t lowat;
  size_t read_max; /* reading stops once the input holds this much (fca_ep_set_read_max) */
  uint64_t nin, nout;
  bool connecting, handshaking, tls_server, handshake_done;
  bool reading, eof, dead, above_lowat;
  bool write_wants_read; /* SSL_write returned WANT_READ */
  bool read_wants_write; /* SSL_read / handshake returned WANT_WRITE */
  size_t pending_write;  /* length of an SSL_write to retry with at least this many bytes */
  bool shut_wr_pending;  /* the owner asked to end the write side once output is flushed */
  bool shut_wants_write; /* ... and SSL_shutdown waits for the socket to take close_notify */
  char err[160];
};

static void update_events(fca_ep_t *ep);
static void on_socket(evutil_socket_t fd, short what, void *arg);
static void on_kick(evutil_socket_t fd, short what, void *arg);

static void on_drain_ev(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  fca_ep_t *ep = arg;
  if (!ep->dead && ep->cbs.on_drain) ep->cbs.on_drain(ep, ep->ud);
}

fca_ep_t *fca_ep_new(struct event_base *base, int fd, bool connecting, const fca_ep_cbs_t *cbs,
                     void *ud) {
  fca_ep_t *ep = fca_xcalloc(1, sizeof *ep);
  ep->base = base;
  ep->fd = fd;
  ep->in = evbuffer_new();
  ep->out = evbuffer_new();
  ep->rev = event_new(base, fd, EV_READ | EV_PERSIST, on_socket, ep);
  ep->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, on_socket, ep);
  ep->kick = event_new(base, -1, 0, on_kick, ep);
  ep->drain_ev = event_new(base, -1, 0, on_drain_ev, ep);
  if (!ep->in || !ep->out || !ep->rev || !ep->wev || !ep->kick || !ep->drain_ev)
    fca_oom("a connection endpoint");
  ep->cbs = *cbs;
  ep->ud = ud;
  ep->connecting = connecting;
  ep->reading = true;
  ep->lowat = 0;
  ep->read_max = SIZE_MAX;
  update_events(ep);
  return ep;
}

void fca_ep_set_cbs(fca_ep_t *ep, const fca_ep_cbs_t *cbs, void *ud) {
  ep->cbs = *cbs;
  ep->ud = ud;
}

/* Watches OpenSSL's reads from the socket: a short one means the socket had no more, so the
 * read loop can stop without an SSL_read that ends in EAGAIN (epoll is level-triggered: bytes
 * arriving later are reported again). */
static long sock_watch(BIO *b, int oper, const char *argp, size_t len, int argi, long argl, int ret,
                       size_t *processed) {
  (void)argp, (void)argi, (void)argl;
  if (oper == (BIO_CB_READ | BIO_CB_RETURN)) {
    fca_ep_t *ep = (fca_ep_t *)BIO_get_callback_arg(b);
    ep->sock_drained = ret <= 0 || !processed || *processed < len;
  }
  return ret;
}

void fca_ep_start_tls(fca_ep_t *ep, SSL *ssl, bool server) {
  ep->ssl = ssl;
  ep->tls_server = server;
  ep->handshaking = true;
  BIO *sock = fca_xcheck(BIO_new_socket(ep->fd, BIO_NOCLOSE), "a TLS socket BIO");
  BIO_set_callback_arg(sock, (char *)ep);
  BIO_set_callback_ex(sock, sock_watch);
  size_t pre = evbuffer_get_length(ep->in);
  if (pre > 0) {
    /* Bytes that arrived with the plaintext part (e.g. right after CONNECT). */
    ep->prefix = fca_xcheck(BIO_new(BIO_s_mem()), "a TLS memory BIO");
    if (BIO_write(ep->prefix, evbuffer_pullup(ep->in, -1), (int)pre) != (int)pre)
      fca_oom("a TLS memory BIO");
    evbuffer_drain(ep->in, pre);
    BIO_up_ref(ep->prefix);
    SSL_set0_rbio(ssl, ep->prefix);
    SSL_set0_wbio(ssl, sock);
  } else {
    SSL_set_bio(ssl, sock, sock);
  }
  /* Read ahead: OpenSSL takes whatever the socket has (several records) in one read instead of
   * a header read and a body read per record. */
  SSL_set_read_ahead(ssl, 1);
  SSL_set_default_read_buffer_len(ssl, FCA_EP_TLS_READ_BUF);
  if (server)
    SSL_set_accept_state(ssl);
  else
    SSL_set_connect_state(ssl);
  event_active(ep->kick, EV_READ, 0);
}

void fca_ep_free(fca_ep_t *ep) {
  if (!ep) return;
  event_free(ep->rev);
  event_free(ep->wev);
  event_free(ep->kick);
  event_free(ep->drain_ev);
  if (ep->ssl) SSL_free(ep->ssl); /* frees its BIOs; the socket BIO does not close fd */
  if (ep->prefix) BIO_free(ep->prefix);
  if (ep->fd >= 0) close(ep->fd);
  evbuffer_free(ep->in);
  evbuffer_free(ep->out);
  free(ep);
}

struct evbuffer *fca_ep_input(fca_ep_t *ep) {
  return ep->in;
}
struct evbuffer *fca_ep_output(fca_ep_t *ep) {
  return ep->out;
}
int fca_ep_fd(const fca_ep_t *ep) { return ep->fd; }
bool fca_ep_is_tls(const fca_ep_t *ep) { return ep->ssl != NULL; }
long fca_ep_verify_result(const fca_ep_t *ep) {
  return ep->ssl ? SSL_get_verify_result(ep->ssl) : X509_V_OK;
}
const char *fca_ep_alpn(const fca_ep_t *ep) {
  static const char *const known[] = {"h2", "http/1.1"};
  if (!ep->ssl) return "";
  const unsigned char *p = NULL;
  unsigned n = 0;
  SSL_get0_alpn_selected(ep->ssl, &p, &n);
  for (size_t i = 0; i < sizeof known / sizeof *known; i++)
    if (p && n == strlen(known[i]) && memcmp(p, known[i], n) == 0) return known[i];
  return "";
}
bool fca_ep_eof(const fca_ep_t *ep) { return ep->eof; }
const char *fca_ep_error(const fca_ep_t *ep) { return ep->err[0] ? ep->err : NULL; }
bool fca_ep_reading(const fca_ep_t *ep) { return ep->reading; }
uint64_t fca_ep_bytes_in(const fca_ep_t *ep) { return ep->nin; }
uint64_t fca_ep_bytes_out(const fca_ep_t *ep) { return ep->nout; }
void fca_ep_set_low_watermark(fca_ep_t *ep, size_t lowat) { ep->lowat = lowat; }

static void set_event(struct event *ev, bool on) {
  bool pending = event_pending(ev, EV_READ | EV_WRITE, NULL) != 0;
  if (on && !pending)
    event_add(ev, NULL);
  else if (!on && pending)
    event_del(ev);
}

static void update_events(fca_ep_t *ep) {
  if (ep->dead) {
    set_event(ep->rev, false);
    set_event(ep->wev, false);
    return;
  }
  bool want_r, want_w;
  if (ep->connecting) {
    want_r = false;
    want_w = true;
  } else if (ep->handshaking) {
    want_w = ep->read_wants_write;
    want_r = !want_w;
  } else {
    want_r = (ep->reading && !ep->eof) || ep->write_wants_read;
    want_w = (evbuffer_get_length(ep->out) > 0 && !ep->write_wants_read) || ep->read_wants_write ||
             ep->shut_wants_write;
  }
  set_event(ep->rev, want_r);
  set_event(ep->wev, want_w);
}

static void fail(fca_ep_t *ep, const char *what) {
  if (!ep->err[0] && what != ep->err) snprintf(ep->err, sizeof ep->err, "%s", what);
  ep->dead = true;
  update_events(ep);
  if (ep->cbs.on_event) ep->cbs.on_event(ep, FCA_EP_ERROR, ep->ud);
}

static void fail_errno(fca_ep_t *ep, const char *ctx, int e) {
  snprintf(ep->err, sizeof ep->err, "%s: %s", ctx, strerror(e));
  fail(ep, ep->err);
}

/* SSL_get_error needs an empty error queue before each TLS call; emptying a queue that is
 * already empty (nearly always) costs a full clear of its 16 slots, so look first. */
static inline void clear_errors(void) {
  if (ERR_peek_error()) ERR_clear_error();
}

static void fail_ssl(fca_ep_t *ep, const char *ctx, int sslerr) {
  char buf[120] = "";
  unsigned long e = ERR_get_error();
  if (e) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  if (sslerr == SSL_ERROR_SYSCALL && !e)
    snprintf(ep->err, sizeof ep->err, "%s: %s", ctx, errno ? strerror(errno) : "connection closed");
  else
    snprintf(ep->err, sizeof ep->err, "%s: %s", ctx, buf[0] ? buf : "TLS error");
  fail(ep, ep->err);
}

static void set_eof(fca_ep_t *ep) {
  ep->eof = true;
  update_events(ep);
  if (ep->cbs.on_event) ep->cbs.on_event(ep, FCA_EP_EOF, ep->ud);
}

/* Ends the write side once everything queued is out: close_notify first on TLS (retried when
 * the socket cannot take it yet), then the TCP FIN. */
static void try_shutdown_write(fca_ep_t *ep) {
  if (!ep->shut_wr_pending || ep->dead || ep->connecting || ep->handshaking ||
      evbuffer_get_length(ep->out) > 0 || ep->pending_write)
    return;
  if (ep->ssl) {
    clear_errors();
    int r = SSL_shutdown(ep->ssl);
    if (r < 0) {
      int e = SSL_get_error(ep->ssl, r);
      clear_errors();
      if (e == SSL_ERROR_WANT_WRITE) {
        ep->shut_wants_write = true;
        update_events(ep);
        return;
      }
    }
  }
  ep->shut_wr_pending = false;
  ep->shut_wants_write = false;
  shutdown(ep->fd, SHUT_WR);
  update_events(ep);
}

void fca_ep_shutdown_write(fca_ep_t *ep) {
  if (ep->dead) return;
  ep->shut_wr_pending = true;
  try_shutdown_write(ep);
}

static void after_write(fca_ep_t *ep, bool wrote) {
  size_t left = evbuffer_get_length(ep->out);
  if (left == 0 && ep->shut_wr_pending) try_shutdown_write(ep);
  if (left > ep->lowat) ep->above_lowat = true;
  update_events(ep);
  if ((ep->above_lowat && left <= ep->lowat) || (wrote && left == 0)) {
    ep->above_lowat = false;
    /* Inside the owner's own fca_ep_flush the callback would re-enter the owner's code in the
     * middle of its update: deliver it from the loop instead. */
    if (ep->in_flush)
      event_active(ep->drain_ev, EV_WRITE, 0);
    else if (ep->cbs.on_drain)
      ep->cbs.on_drain(ep, ep->ud);
  }
}

/* The prefix BIO holds bytes read before TLS started; once OpenSSL has consumed them, read
 * from the socket directly. */
static bool swap_prefix_if_empty(fca_ep_t *ep) {
  if (!ep->prefix || BIO_pending(ep->prefix) > 0) return false;
  BIO *sock = SSL_get_wbio(ep->ssl);
  BIO_up_ref(sock);
  SSL_set0_rbio(ep->ssl, sock);
  BIO_free(ep->prefix);
  ep->prefix = NULL;
  return true;
}

static void do_write(fca_ep_t *ep);
static void do_read(fca_ep_t *ep);

static void do_handshake(fca_ep_t *ep) {
  for (;;) {
    clear_errors();
    int r = SSL_do_handshake(ep->ssl);
    if (r == 1) {
      ep->handshaking = false;
      ep->handshake_done = true;
      ep->read_wants_write = false;
      update_events(ep);
      if (ep->cbs.on_event) ep->cbs.on_event(ep, FCA_EP_HANDSHAKE, ep->ud);
      if (ep->dead) return;
      if (evbuffer_get_length(ep->out)) do_write(ep);
      if (!ep->dead && ep->reading) do_read(ep);
      return;
    }
    int e = SSL_get_error(ep->ssl, r);
    if (e == SSL_ERROR_WANT_READ) {
      if (swap_prefix_if_empty(ep)) continue;
      ep->read_wants_write = false;
      update_events(ep);
      return;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
      ep->read_wants_write = true;
      update_events(ep);
      return;
    }
    fail_ssl(ep, "TLS handshake", e);
    return;
  }
}

static void do_read(fca_ep_t *ep) {
  size_t total = 0;
  bool got = false;
  while (ep->reading && !ep->eof && !ep->dead) {
    if (total >= FCA_EP_READ_BUDGET) {
      event_active(ep->kick, EV_READ, 0); /* continue after others had their turn */
      break;
    }
    size_t held = evbuffer_get_length(ep->in);
    if (held >= ep->read_max) { /* full: the owner turns reading on again once it made room */
      ep->reading = false;
      break;
    }
    size_t room = ep->read_max - held; /* huge unless the owner bounded the input */
    if (!ep->ssl) {
      /* Read into reserved space ourselves: evbuffer_read would first ask FIONREAD (one more
       * syscall per read). */
      size_t want = room < FCA_EP_PLAIN_READ ? room : FCA_EP_PLAIN_READ;
      struct evbuffer_iovec v[2];
      int nv = evbuffer_reserve_space(ep->in, (ev_ssize_t)want, v, 2);
      if (nv < 1) fca_oom("a read buffer");
      for (int i = 0; i < nv; i++) { /* a bounded input takes no more than its room */
        if (v[i].iov_len > room) v[i].iov_len = room;
        room -= v[i].iov_len;
      }
      ssize_t n = readv(ep->fd, (struct iovec *)v, nv);
      if (n > 0) {
        size_t left = (size_t)n;
        for (int i = 0; i < nv; i++) {
          size_t take = left < v[i].iov_len ? left : v[i].iov_len;
          v[i].iov_len = take;
          left -= take;
        }
        evbuffer_commit_space(ep->in, v, nv);
        ep->nin += (uint64_t)n;
        total += (size_t)n;
        got = true;
        if ((size_t)n < want) break; /* drained; don't pay for an EAGAIN read */
        continue;
      }
      evbuffer_commit_space(ep->in, v, 0);
      if (n == 0) {
        if (got && ep->cbs.on_read) ep->cbs.on_read(ep, ep->ud);
        if (!ep->dead) set_eof(ep);
        return;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
      if (got && ep->cbs.on_read) ep->cbs.on_read(ep, ep->ud);
      if (!ep->dead) fail_errno(ep, "read", errno);
      return;
    }
    struct evbuffer_iovec v;
    if (evbuffer_reserve_space(ep->in, FCA_EP_RECORD, &v, 1) < 1) fca_oom("a read buffer");
    size_t n = 0;
    clear_errors();
    int r = SSL_read_ex(ep->ssl, v.iov_base, v.iov_len < room ? v.iov_len : room, &n);
    if (r == 1) {
      v.iov_len = n;
      evbuffer_commit_space(ep->in, &v, 1);
      ep->nin += n;
      total += n;
      got = true;
      /* Nothing buffered in OpenSSL and the socket was drained: don't pay for an EAGAIN. */
      if (ep->sock_drained && !ep->prefix && !SSL_has_pending(ep->ssl)) break;
      continue;
    }
    evbuffer_commit_space(ep->in, &v, 0);
    int e = SSL_get_error(ep->ssl, r);
    if (e == SSL_ERROR_WANT_READ) {
      if (swap_prefix_if_empty(ep)) continue;
      break;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
      ep->read_wants_write = true;
      break;
    }
    if (e == SSL_ERROR_ZERO_RETURN ||
        (e == SSL_ERROR_SSL &&
         ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) ||
        (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0)) {
      clear_errors();
      if (got && ep->cbs.on_read) ep->cbs.on_read(ep, ep->ud);
      if (!ep->dead) set_eof(ep);
      return;
    }
    if (got && ep->cbs.on_read) ep->cbs.on_read(ep, ep->ud);
    if (!ep->dead) fail_ssl(ep, "TLS read", e);
    return;
  }
  update_events(ep);
  if (got && ep->cbs.on_read) ep->cbs.on_read(ep, ep->ud);
}

static void do_write(fca_ep_t *ep) {
  if (ep->connecting || ep->handshaking || ep->dead) return;
  uint64_t before = ep->nout;
  while (evbuffer_get_length(ep->out) > 0) {
    if (!ep->ssl) {
      int n = evbuffer_write(ep->out, ep->fd);
      if (n > 0) {
        ep->nout += (uint64_t)n;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
      fail_errno(ep, "write", n < 0 ? errno : EPIPE);
      return;
    }
    size_t len = evbuffer_get_length(ep->out);
    if (len > FCA_EP_RECORD) len = FCA_EP_RECORD;
    if (len < ep->pending_write) len = ep->pending_write;
    unsigned char *p = evbuffer_pullup(ep->out, (ssize_t)len);
    size_t w = 0;
    clear_errors();
    int r = SSL_write_ex(ep->ssl, p, len, &w);
    if (r == 1) {
      ep->pending_write = 0;
      ep->write_wants_read = false;
      evbuffer_drain(ep->out, w);
      ep->nout += w;
      continue;
    }
    int e = SSL_get_error(ep->ssl, r);
    if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
      ep->pending_write = len;
      ep->write_wants_read = (e == SSL_ERROR_WANT_READ);
      break;
    }
    fail_ssl(ep, "TLS write", e);
    return;
  }
  after_write(ep, ep->nout != before);
}

void fca_ep_flush(fca_ep_t *ep) {
  if (ep->dead) return;
  ep->in_flush = true;
  do_write(ep);
  ep->in_flush = false;
}

static void finish_connect(fca_ep_t *ep) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(ep->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  if (err == EINPROGRESS) return;
  ep->connecting = false;
  if (err) {
    fail_errno(ep, "connect", err);
    return;
  }
  update_events(ep);
  if (ep->cbs.on_event) ep->cbs.on_event(ep, FCA_EP_CONNECTED, ep->ud);
}

static void on_socket(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  fca_ep_t *ep = arg;
  if (ep->dead) return;
  if (ep->connecting) {
    finish_connect(ep);
    if (!ep->dead && !ep->connecting && evbuffer_get_length(ep->out)) do_write(ep);
    return;
  }
  if (ep->handshaking) {
    do_handshake(ep);
    return;
  }
  if (what & EV_WRITE) {
    if (ep->read_wants_write) {
      ep->read_wants_write = false;
      do_read(ep);
      if (ep->dead) return;
    }
    if (!ep->write_wants_read) do_write(ep);
    if (!ep->dead && ep->shut_wants_write) try_shutdown_write(ep);
  }
  if (ep->dead) return;
  if (what & EV_READ) {
    if (ep->write_wants_read) {
      ep->write_wants_read = false;
      do_write(ep);
      if (ep->dead) return;
    }
    if (ep->reading) do_read(ep);
  }
  if (!ep->dead) update_events(ep);
}

static void on_kick(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  fca_ep_t *ep = arg;
  if (ep->dead) return;
  if (ep->handshaking)
    do_handshake(ep);
  else if (ep->reading)
    do_read(ep);
}

void fca_ep_set_reading(fca_ep_t *ep, bool on) {
  if (ep->reading == on) return;
  ep->reading = on;
  if (ep->dead) return;
  update_events(ep);
  /* Bytes OpenSSL already decrypted produce no socket event: look at them now. */
  if (on && ep->ssl && !ep->handshaking && SSL_has_pending(ep->ssl))
    event_active(ep->kick, EV_READ, 0);
}

void fca_ep_set_read_max(fca_ep_t *ep, size_t n) { ep->read_max = n; }

void fca_ep_shutdown(fca_ep_t *ep) {
  if (ep->ssl && ep->handshake_done && !ep->dead) {
    clear_errors();
    SSL_shutdown(ep->ssl); /* close_notify, so the session can be resumed */
    clear_errors();
  }
  ep->dead = true;
  update_events(ep);
}
