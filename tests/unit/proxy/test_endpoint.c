/* Tests for the endpoint, the only code that touches sockets and SSL: each test drives one
 * endpoint on one end of a socketpair with its own event loop, and plays the peer by hand on
 * the other end (raw bytes, or an OpenSSL client with its own state). Covered: plain reads and
 * end of file; partial writes into small socket buffers with the low watermark; reading turned
 * off and on (backpressure), including bytes already decrypted inside OpenSSL; TLS records that
 * arrive a byte at a time (WANT_READ); TLS writes that do not fit (WANT_WRITE, retried with the
 * same bytes); close_notify both ways; an input bounded by fca_ep_set_read_max. */
#include <criterion/criterion.h>

#include "endpoint.h"
#include "fcaudit/util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
  int reads, drains, eofs, errors, handshakes;
  size_t stop_at; /* the owner stops reading once its input holds this much (0: never) */
} seen_t;

static struct event_base *base;
static fca_ep_t *ep;
static int peer = -1;
static seen_t seen;

static void on_read(fca_ep_t *e, void *ud) {
  seen_t *s = ud;
  s->reads++;
  if (s->stop_at && evbuffer_get_length(fca_ep_input(e)) >= s->stop_at)
    fca_ep_set_reading(e, false);
}
static void on_drain(fca_ep_t *e, void *ud) {
  (void)e;
  ((seen_t *)ud)->drains++;
}
static void on_event(fca_ep_t *e, int what, void *ud) {
  (void)e;
  seen_t *s = ud;
  if (what & FCA_EP_EOF) s->eofs++;
  if (what & FCA_EP_ERROR) s->errors++;
  if (what & FCA_EP_HANDSHAKE) s->handshakes++;
}
static const fca_ep_cbs_t cbs = {on_read, on_drain, on_event};

static void nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

static void small_buffers(int fd) {
  int sz = 4096; /* the kernel doubles and rounds it; still far below what the tests send */
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
}

static void setup(void) {
  signal(SIGPIPE, SIG_IGN); /* as fcaudit's main does: a write to a closed peer is an error */
  int sv[2];
  cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  nonblock(sv[0]);
  nonblock(sv[1]);
  base = event_base_new();
  memset(&seen, 0, sizeof seen);
  ep = fca_ep_new(base, sv[0], false, &cbs, &seen);
  peer = sv[1];
}

static void teardown(void) {
  if (ep) fca_ep_free(ep);
  ep = NULL;
  if (peer >= 0) close(peer);
  peer = -1;
  event_base_free(base);
}

static void loop_once(void) { event_base_loop(base, EVLOOP_NONBLOCK); }

/* Runs the loop until cond() holds; fails after 5 s. */
#define RUN_UNTIL(cond, ...)                                                                       \
  do {                                                                                             \
    int64_t deadline_ = fca_mono_ms() + 5000;                                                      \
    while (!(cond)) {                                                                              \
      cr_assert_lt(fca_mono_ms(), deadline_, __VA_ARGS__);                                         \
      event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);                                        \
      pump();                                                                                      \
      usleep(200);                                                                                 \
    }                                                                                              \
  } while (0)

/* ---- the peer: raw bytes ---- */

static unsigned char pattern(size_t i) { return (unsigned char)((i * 7 + i / 251) & 0xff); }

static unsigned char *peer_in;
static size_t peer_in_len, peer_in_cap;
static bool peer_reads; /* the raw peer drains its socket on every pump */

static void pump_raw(void) {
  if (!peer_reads) return;
  for (;;) {
    if (peer_in_len == peer_in_cap) {
      peer_in_cap = peer_in_cap ? peer_in_cap * 2 : 65536;
      peer_in = fca_xrealloc(peer_in, peer_in_cap);
    }
    ssize_t n = read(peer, peer_in + peer_in_len, peer_in_cap - peer_in_len);
    if (n <= 0) break;
    peer_in_len += (size_t)n;
  }
}

/* ---- the peer: an OpenSSL client ---- */

static SSL_CTX *srv_ctx, *cli_ctx;
static SSL *cli;
static bool cli_handshaken;

static void pump_tls(void) {
  if (!cli) return;
  if (!cli_handshaken) {
    ERR_clear_error();
    if (SSL_do_handshake(cli) == 1) cli_handshaken = true;
    return;
  }
  if (!peer_reads) return;
  for (;;) {
    if (peer_in_len == peer_in_cap) {
      peer_in_cap = peer_in_cap ? peer_in_cap * 2 : 65536;
      peer_in = fca_xrealloc(peer_in, peer_in_cap);
    }
    size_t n = 0;
    ERR_clear_error();
    if (SSL_read_ex(cli, peer_in + peer_in_len, peer_in_cap - peer_in_len, &n) != 1) break;
    peer_in_len += n;
  }
}

static void pump(void) {
  if (cli)
    pump_tls();
  else
    pump_raw();
}

static void reset_peer_in(void) {
  free(peer_in);
  peer_in = NULL;
  peer_in_len = peer_in_cap = 0;
  peer_reads = false;
}

/* A throw-away self-signed P-256 certificate for the endpoint's server side. */
static void make_tls(void) {
  EVP_PKEY *key = EVP_EC_gen("P-256");
  cr_assert_not_null(key);
  X509 *x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_NAME *name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"ep.test", -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_set_pubkey(x, key);
  cr_assert_gt(X509_sign(x, key, EVP_sha256()), 0);
  srv_ctx = SSL_CTX_new(TLS_server_method());
  cr_assert_eq(SSL_CTX_use_certificate(srv_ctx, x), 1);
  cr_assert_eq(SSL_CTX_use_PrivateKey(srv_ctx, key), 1);
  cli_ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(cli_ctx, SSL_VERIFY_NONE, NULL);
  X509_free(x);
  EVP_PKEY_free(key);
}

static void tls_setup(void) {
  setup();
  make_tls();
  fca_ep_start_tls(ep, SSL_new(srv_ctx), true);
  cli = SSL_new(cli_ctx);
  SSL_set_fd(cli, peer);
  SSL_set_connect_state(cli);
  cli_handshaken = false;
  RUN_UNTIL(cli_handshaken && seen.handshakes == 1, "no TLS handshake");
}

static void tls_teardown(void) {
  if (ep) fca_ep_free(ep);
  ep = NULL;
  SSL_free(cli);
  cli = NULL;
  SSL_CTX_free(srv_ctx);
  SSL_CTX_free(cli_ctx);
  close(peer);
  peer = -1;
  reset_peer_in();
  event_base_free(base);
}

static bool input_is(const char *s) {
  struct evbuffer *in = fca_ep_input(ep);
  size_t n = strlen(s);
  return evbuffer_get_length(in) == n && memcmp(evbuffer_pullup(in, -1), s, n) == 0;
}

static void fill_output(size_t n) {
  unsigned char *b = malloc(n);
  for (size_t i = 0; i < n; i++) b[i] = pattern(i);
  evbuffer_add(fca_ep_output(ep), b, n);
  free(b);
}

static void check_peer_got_pattern(size_t n) {
  cr_assert_eq(peer_in_len, n, "peer got %zu of %zu bytes", peer_in_len, n);
  for (size_t i = 0; i < n; i++)
    if (peer_in[i] != pattern(i)) cr_assert_fail("byte %zu differs: data reordered or lost", i);
}

/* ---- plain ---- */

Test(endpoint_plain, reads_then_end_of_file, .init = setup, .fini = teardown) {
  cr_assert_eq(write(peer, "hello", 5), 5);
  RUN_UNTIL(seen.reads > 0, "no read callback");
  cr_assert(input_is("hello"));
  cr_assert_eq(fca_ep_bytes_in(ep), 5);
  shutdown(peer, SHUT_WR);
  RUN_UNTIL(seen.eofs == 1, "no end of file");
  cr_assert(fca_ep_eof(ep));
  cr_assert_eq(seen.errors, 0);
}

Test(endpoint_plain, partial_writes_keep_order_and_drain_at_the_low_watermark, .init = setup,
     .fini = teardown) {
  small_buffers(fca_ep_fd(ep));
  small_buffers(peer);
  const size_t total = 2 * 1024 * 1024;
  fill_output(total);
  fca_ep_set_low_watermark(ep, 64 * 1024);
  fca_ep_flush(ep);
  size_t left = evbuffer_get_length(fca_ep_output(ep));
  cr_assert_gt(left, 64 * 1024, "the socket took everything at once: no partial write tested");
  for (int i = 0; i < 20; i++) loop_once(); /* nobody reads: nothing drains */
  cr_assert_eq(seen.drains, 0);
  cr_assert_eq(evbuffer_get_length(fca_ep_output(ep)), left, "bytes vanished");
  peer_reads = true;
  RUN_UNTIL(peer_in_len == total, "peer got %zu of %zu", peer_in_len, total);
  check_peer_got_pattern(total);
  cr_assert_geq(seen.drains, 1, "no drain callback");
  cr_assert_eq(fca_ep_bytes_out(ep), total);
  reset_peer_in();
}

Test(endpoint_plain, reading_off_is_backpressure, .init = setup, .fini = teardown) {
  fca_ep_set_reading(ep, false);
  cr_assert_eq(write(peer, "abc", 3), 3);
  for (int i = 0; i < 20; i++) loop_once();
  cr_assert_eq(seen.reads, 0);
  cr_assert_eq(evbuffer_get_length(fca_ep_input(ep)), 0, "read while reading was off");
  fca_ep_set_reading(ep, true);
  RUN_UNTIL(seen.reads > 0, "reading on again did not read");
  cr_assert(input_is("abc"));
}

Test(endpoint_plain, read_max_bounds_the_input, .init = setup, .fini = teardown) {
  /* A bound just above one whole read (evbuffer may offer more room than asked): the input
   * never holds more, reading turns itself off at the bound, and every byte arrives in order
   * once the owner makes room. */
  const size_t total = 150 * 1024, bound = 65536 + 10;
  unsigned char *b = malloc(total);
  for (size_t i = 0; i < total; i++) b[i] = pattern(i);
  int sz = 512 * 1024;
  setsockopt(peer, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
  size_t sent = 0;
  while (sent < total) {
    ssize_t w = write(peer, b + sent, total - sent);
    if (w <= 0) break;
    sent += (size_t)w;
  }
  cr_assert_gt(sent, bound, "the socket took only %zu bytes: no bound tested", sent);
  fca_ep_set_read_max(ep, bound);
  RUN_UNTIL(!fca_ep_reading(ep), "reading did not stop at the bound (input %zu)",
            evbuffer_get_length(fca_ep_input(ep)));
  for (int i = 0; i < 20; i++) loop_once();
  size_t held = evbuffer_get_length(fca_ep_input(ep));
  cr_assert_eq(held, bound, "the input holds %zu bytes, bound %zu", held, bound);
  struct evbuffer *got = evbuffer_new();
  evbuffer_remove_buffer(fca_ep_input(ep), got, 1000); /* the owner makes a little room */
  fca_ep_set_reading(ep, true);
  RUN_UNTIL(!fca_ep_reading(ep), "reading did not stop at the bound again");
  cr_assert_eq(evbuffer_get_length(fca_ep_input(ep)), bound);
  fca_ep_set_read_max(ep, SIZE_MAX);
  fca_ep_set_reading(ep, true);
  while (sent < total) {
    ssize_t w = write(peer, b + sent, total - sent);
    if (w > 0) sent += (size_t)w;
    loop_once();
  }
  RUN_UNTIL(evbuffer_get_length(got) + evbuffer_get_length(fca_ep_input(ep)) == total,
            "got %zu of %zu", evbuffer_get_length(got) + evbuffer_get_length(fca_ep_input(ep)),
            total);
  evbuffer_add_buffer(got, fca_ep_input(ep));
  cr_assert_eq(memcmp(evbuffer_pullup(got, -1), b, total), 0, "data differs");
  evbuffer_free(got);
  free(b);
}

Test(endpoint_plain, peer_gone_is_an_error_on_write, .init = setup, .fini = teardown) {
  close(peer);
  peer = -1;
  fill_output(1024);
  fca_ep_flush(ep);
  RUN_UNTIL(seen.errors + seen.eofs > 0, "no error after the peer went away");
  cr_assert_not_null(fca_ep_error(ep));
}

/* ---- TLS ---- */

Test(endpoint_tls, data_both_ways, .init = tls_setup, .fini = tls_teardown) {
  cr_assert(fca_ep_is_tls(ep));
  cr_assert_eq(SSL_write(cli, "ping", 4), 4);
  RUN_UNTIL(seen.reads > 0 && evbuffer_get_length(fca_ep_input(ep)) == 4, "no ping");
  cr_assert(input_is("ping"));
  const size_t total = 1024 * 1024 + 17; /* many records, the last one short */
  fill_output(total);
  fca_ep_flush(ep);
  peer_reads = true;
  RUN_UNTIL(peer_in_len == total, "peer got %zu of %zu", peer_in_len, total);
  check_peer_got_pattern(total);
  cr_assert_eq(fca_ep_bytes_out(ep), total);
}

Test(endpoint_tls, record_in_pieces_waits_for_the_rest, .init = tls_setup, .fini = tls_teardown) {
  /* The client's record goes through a memory BIO, then onto the socket a byte at a time: each
   * partial record is a WANT_READ for the endpoint and must not surface as data or error. */
  BIO *mem = BIO_new(BIO_s_mem());
  BIO *sock = SSL_get_wbio(cli);
  BIO_up_ref(sock);
  SSL_set0_wbio(cli, mem);
  cr_assert_eq(SSL_write(cli, "in pieces", 9), 9);
  char *rec;
  long n = BIO_get_mem_data(mem, &rec);
  cr_assert_gt(n, 9);
  for (long i = 0; i < n; i++) {
    cr_assert_eq(write(peer, rec + i, 1), 1);
    for (int k = 0; k < 3; k++) loop_once();
    if (i + 1 < n) {
      cr_assert_eq(seen.reads, 0, "data before the record was complete (byte %ld of %ld)", i, n);
      cr_assert_eq(seen.errors, 0, "%s", fca_ep_error(ep));
    }
  }
  SSL_set0_wbio(cli, sock);
  RUN_UNTIL(seen.reads > 0, "the complete record was not read");
  cr_assert(input_is("in pieces"));
}

Test(endpoint_tls, write_that_does_not_fit_is_retried_intact, .init = tls_setup,
     .fini = tls_teardown) {
  small_buffers(fca_ep_fd(ep));
  small_buffers(peer);
  const size_t total = 3 * 1024 * 1024;
  fill_output(total);
  fca_ep_set_low_watermark(ep, 32 * 1024);
  fca_ep_flush(ep); /* SSL_write meets a full socket: WANT_WRITE, the same record again later */
  size_t left = evbuffer_get_length(fca_ep_output(ep));
  cr_assert_gt(left, 0, "everything fit: WANT_WRITE not reached");
  for (int i = 0; i < 20; i++) loop_once();
  cr_assert_eq(seen.errors, 0, "%s", fca_ep_error(ep));
  peer_reads = true;
  RUN_UNTIL(peer_in_len == total, "peer got %zu of %zu", peer_in_len, total);
  check_peer_got_pattern(total);
  cr_assert_geq(seen.drains, 1);
}

Test(endpoint_tls, backpressure_stops_reading_and_loses_nothing, .init = tls_setup,
     .fini = tls_teardown) {
  /* The owner stops reading when its input holds 200 KiB; the client keeps sending until the
   * socket is full. While reading is off the input must not grow; once it is on again every
   * byte must arrive, in order, including records OpenSSL had already read ahead (no socket
   * event announces those). */
  seen.stop_at = 200 * 1024;
  const size_t total = 1024 * 1024;
  unsigned char *b = malloc(total);
  for (size_t i = 0; i < total; i++) b[i] = pattern(i);
  size_t sent = 0;
  bool checked = false;
  int64_t deadline = fca_mono_ms() + 10000;
  while (sent < total) {
    size_t w = 0, chunk = total - sent < 16384 ? total - sent : 16384;
    ERR_clear_error();
    if (SSL_write_ex(cli, b + sent, chunk, &w) == 1) {
      sent += w;
      continue;
    }
    cr_assert_lt(fca_mono_ms(), deadline, "client cannot send (%zu of %zu)", sent, total);
    if (!fca_ep_reading(ep) && !checked) {
      size_t held = evbuffer_get_length(fca_ep_input(ep));
      for (int i = 0; i < 50; i++) loop_once();
      cr_assert_eq(evbuffer_get_length(fca_ep_input(ep)), held, "read while reading was off");
      checked = true;
      seen.stop_at = 0;
      fca_ep_set_reading(ep, true);
    }
    loop_once();
  }
  cr_assert(checked, "the client never had to wait: no backpressure tested");
  RUN_UNTIL(evbuffer_get_length(fca_ep_input(ep)) == total, "got %zu of %zu",
            evbuffer_get_length(fca_ep_input(ep)), total);
  cr_assert_eq(memcmp(evbuffer_pullup(fca_ep_input(ep), -1), b, total), 0, "data differs");
  free(b);
}

Test(endpoint_tls, close_notify_from_the_peer_is_end_of_file, .init = tls_setup,
     .fini = tls_teardown) {
  cr_assert_eq(SSL_write(cli, "bye", 3), 3);
  SSL_shutdown(cli); /* close_notify after the data */
  RUN_UNTIL(seen.eofs == 1, "close_notify did not end the input");
  cr_assert(input_is("bye"), "data before close_notify lost");
  cr_assert_eq(seen.errors, 0, "a clean close reported as an error: %s", fca_ep_error(ep));
}

Test(endpoint_tls, shutdown_sends_close_notify, .init = tls_setup, .fini = tls_teardown) {
  fca_ep_shutdown(ep);
  char c;
  size_t n;
  int64_t deadline = fca_mono_ms() + 5000;
  int r, e;
  for (;;) {
    ERR_clear_error();
    r = SSL_read_ex(cli, &c, 1, &n);
    e = SSL_get_error(cli, r);
    if (e != SSL_ERROR_WANT_READ) break;
    cr_assert_lt(fca_mono_ms(), deadline, "nothing arrived");
    struct pollfd p = {.fd = peer, .events = POLLIN};
    poll(&p, 1, 100);
  }
  cr_assert_eq(e, SSL_ERROR_ZERO_RETURN, "the client saw no close_notify (error %d)", e);
}
