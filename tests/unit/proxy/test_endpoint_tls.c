/* Unit tests for the endpoint's TLS and protocol-neutral accessors over socketpairs on one event
 * loop: plain reads and writes, reading paused (backpressure) and resumed, the write-side shutdown
 * (FIN, and close_notify first on TLS), and over TLS the ALPN the server chose and the verify
 * result the client got, without SSL * leaving the endpoint. (test_endpoint.c drives the
 * endpoint against a hand-played peer: partial writes, WANT_READ/WANT_WRITE, close_notify.) */
#include "endpoint.h"
#include "fcaudit/mint.h"
#include "fcaudit/tlsctx.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
  int reads, drains, events;
  int what; /* FCA_EP_* seen */
} seen_t;

static void on_read(fca_ep_t *ep, void *ud) {
  (void)ep;
  ((seen_t *)ud)->reads++;
}
static void on_drain(fca_ep_t *ep, void *ud) {
  (void)ep;
  ((seen_t *)ud)->drains++;
}
static void on_event(fca_ep_t *ep, int what, void *ud) {
  (void)ep;
  ((seen_t *)ud)->events++;
  ((seen_t *)ud)->what |= what;
}
static const fca_ep_cbs_t cbs = {on_read, on_drain, on_event};

static struct event_base *base;

static void spin(int ms) {
  struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
  event_base_loopexit(base, &tv);
  event_base_loop(base, 0);
}

static void setup(void) { base = event_base_new(); }
static void teardown(void) { event_base_free(base); }

TestSuite(endpoint, .init = setup, .fini = teardown, .timeout = 30);

Test(endpoint, plain_read_write_and_backpressure) {
  int sv[2];
  cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  seen_t s = {0};
  fca_ep_t *ep = fca_ep_new(base, sv[0], false, &cbs, &s);
  cr_assert_not(fca_ep_is_tls(ep));
  cr_assert_str_eq(fca_ep_alpn(ep), "");
  cr_assert_eq(fca_ep_verify_result(ep), X509_V_OK);
  cr_assert_eq(write(sv[1], "ping", 4), 4);
  spin(50);
  cr_assert_gt(s.reads, 0);
  cr_assert_eq(evbuffer_get_length(fca_ep_input(ep)), 4);
  /* Reading paused: bytes stay in the socket, no callback. */
  fca_ep_set_reading(ep, false);
  int before = s.reads;
  cr_assert_eq(write(sv[1], "more", 4), 4);
  spin(50);
  cr_assert_eq(s.reads, before);
  cr_assert_eq(evbuffer_get_length(fca_ep_input(ep)), 4);
  fca_ep_set_reading(ep, true);
  spin(50);
  cr_assert_eq(evbuffer_get_length(fca_ep_input(ep)), 8);
  /* Writing. */
  evbuffer_add(fca_ep_output(ep), "pong", 4);
  fca_ep_flush(ep);
  char b[16] = "";
  spin(20);
  cr_assert_eq(read(sv[1], b, sizeof b), 4);
  cr_assert_eq(memcmp(b, "pong", 4), 0);
  cr_assert_eq(fca_ep_bytes_in(ep), 8);
  cr_assert_eq(fca_ep_bytes_out(ep), 4);
  fca_ep_free(ep);
  close(sv[1]);
}

Test(endpoint, plain_shutdown_write_keeps_reading) {
  int sv[2];
  cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  seen_t s = {0};
  fca_ep_t *ep = fca_ep_new(base, sv[0], false, &cbs, &s);
  fca_ep_shutdown_write(ep);
  char b[8];
  cr_assert_eq(read(sv[1], b, sizeof b), 0, "the peer sees the end of the stream");
  cr_assert_eq(write(sv[1], "late", 4), 4);
  spin(50);
  cr_assert_eq(evbuffer_get_length(fca_ep_input(ep)), 4, "reading goes on after the half-close");
  close(sv[1]);
  spin(50);
  cr_assert(s.what & FCA_EP_EOF);
  fca_ep_free(ep);
}

/* ---- TLS ---- */

static char tmpdir[64];
static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(p);
}

Test(endpoint, tls_alpn_verify_and_close_notify) {
  strcpy(tmpdir, "/tmp/fca-test-ep-XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
  char err[512] = "";
  fca_ca_t *ca = fca_ca_create(tmpdir, NULL, false, err, sizeof err);
  cr_assert_not_null(ca, "%s", err);
  EVP_PKEY *key = fca_mint_leaf_key_new(NULL);
  fca_tls_server_t *srv = fca_tls_server_new(ca, key, 4);
  fca_tls_server_set_http2(srv, true);
  SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
  X509_STORE_add_cert(SSL_CTX_get_cert_store(cctx), fca_ca_cert(ca));
  SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);
  static const unsigned char alpn[] = "\x02h2\x08http/1.1";
  SSL_CTX_set_alpn_protos(cctx, alpn, sizeof alpn - 1);
  SSL *cssl = SSL_new(cctx);
  SSL_set_tlsext_host_name(cssl, "shop.test");
  SSL_set1_host(cssl, "shop.test");

  int sv[2];
  cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  seen_t ss = {0}, cs = {0};
  fca_ep_t *server = fca_ep_new(base, sv[0], false, &cbs, &ss);
  fca_ep_t *client = fca_ep_new(base, sv[1], false, &cbs, &cs);
  fca_ep_start_tls(server, fca_tls_server_ssl_new(srv, "shop.test"), true);
  fca_ep_start_tls(client, cssl, false);
  for (int i = 0; i < 100 && !((ss.what & cs.what) & FCA_EP_HANDSHAKE); i++) spin(10);
  cr_assert(ss.what & FCA_EP_HANDSHAKE, "server handshake");
  cr_assert(cs.what & FCA_EP_HANDSHAKE, "client handshake");
  cr_assert(fca_ep_is_tls(server));
  cr_assert_str_eq(fca_ep_alpn(server), "h2", "the client preferred h2 and it was offered");
  cr_assert_str_eq(fca_ep_alpn(client), "h2");
  cr_assert_eq(fca_ep_verify_result(client), X509_V_OK, "the minted leaf verifies");
  /* Data, then the client's half-close: the server reads both, the data first. */
  evbuffer_add(fca_ep_output(client), "GET / HTTP/1.1\r\n\r\n", 18);
  fca_ep_flush(client);
  fca_ep_shutdown_write(client);
  for (int i = 0; i < 100 && !(ss.what & FCA_EP_EOF); i++) spin(10);
  cr_assert(ss.what & FCA_EP_EOF, "close_notify and FIN reached the server");
  cr_assert_eq(evbuffer_get_length(fca_ep_input(server)), 18);
  /* The server can still answer a half-closed client. */
  evbuffer_add(fca_ep_output(server), "HTTP/1.1 200 OK\r\n\r\n", 19);
  fca_ep_flush(server);
  for (int i = 0; i < 100 && evbuffer_get_length(fca_ep_input(client)) < 19; i++) spin(10);
  cr_assert_eq(evbuffer_get_length(fca_ep_input(client)), 19);
  fca_ep_free(server);
  fca_ep_free(client);
  SSL_CTX_free(cctx);
  fca_tls_server_free(srv);
  EVP_PKEY_free(key);
  fca_ca_free(ca);
  nftw(tmpdir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}
