/* Unit tests for tlsctx: real in-memory TLS handshakes over BIO pairs. Client-facing side: SNI
 * and CONNECT-host fallback, chain and ALPN, resumption. Upstream side: untrusted issuer, host
 * and IP mismatch, extra CA files, insecure mode, session reuse. Plus SNI parsing and the
 * verify-reason and error-queue helpers. */
#include "certcache.h"
#include "fcaudit/mint.h"
#include "fcaudit/tlsctx.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

static char tmpdir[64];
static fca_ca_t *ca;
static EVP_PKEY *leaf_key;

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  return remove(p);
}

static void setup(void) {
  strcpy(tmpdir, "/tmp/fca-test-tls-XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
  char err[512] = "";
  ca = fca_ca_create(tmpdir, NULL, false, err, sizeof err);
  cr_assert_not_null(ca, "%s", err);
  leaf_key = fca_mint_leaf_key_new(NULL);
  cr_assert_not_null(leaf_key);
}

static void teardown(void) {
  fca_ca_free(ca);
  EVP_PKEY_free(leaf_key);
  nftw(tmpdir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(tlsctx, .init = setup, .fini = teardown);

/* Connects two SSLs through an in-memory BIO pair. */
static void wire(SSL *client, SSL *server) {
  BIO *bc = NULL, *bs = NULL;
  cr_assert_eq(BIO_new_bio_pair(&bc, 0, &bs, 0), 1);
  SSL_set_bio(client, bc, bc);
  SSL_set_bio(server, bs, bs);
}

/* Drives both handshakes; 0 when both finished, -1 client failed, -2 server failed. Afterwards
 * lets the client read what the server sent after its Finished (TLS 1.3 tickets). */
static int handshake(SSL *c, SSL *s) {
  bool cdone = false, sdone = false;
  for (int i = 0; i < 50 && !(cdone && sdone); i++) {
    if (!cdone) {
      int r = SSL_do_handshake(c);
      if (r == 1) {
        cdone = true;
      } else {
        int e = SSL_get_error(c, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) return -1;
      }
    }
    if (!sdone) {
      int r = SSL_do_handshake(s);
      if (r == 1) {
        sdone = true;
      } else {
        int e = SSL_get_error(s, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) return -2;
      }
    }
  }
  if (!(cdone && sdone)) return -3;
  char b[16];
  int r = SSL_read(c, b, sizeof b);
  cr_assert_eq(r, -1);
  cr_assert_eq(SSL_get_error(c, r), SSL_ERROR_WANT_READ);
  return 0;
}

/* A plain verifying client that trusts only our CA. */
static SSL_CTX *trusting_client_ctx(const char *alpn, size_t alpnlen) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  cr_assert_not_null(ctx);
  cr_assert_eq(X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), fca_ca_cert(ca)), 1);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  if (alpn) cr_assert_eq(SSL_CTX_set_alpn_protos(ctx, (const unsigned char *)alpn, alpnlen), 0);
  return ctx;
}

static void peer_cn(SSL *ssl, char *out, size_t n) {
  X509 *x = SSL_get0_peer_certificate(ssl);
  cr_assert_not_null(x);
  cr_assert_gt(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out, (int)n), 0);
}

static bool chain_has_ca(SSL *client) {
  STACK_OF(X509) *chain = SSL_get_peer_cert_chain(client);
  for (int i = 0; chain && i < sk_X509_num(chain); i++)
    if (X509_cmp(sk_X509_value(chain, i), fca_ca_cert(ca)) == 0) return true;
  return false;
}

Test(tlsctx, server_uses_sni) {
  fca_tls_server_t *srv = fca_tls_server_new(ca, leaf_key, 16);
  cr_assert_not_null(srv);
  static const char alpn[] = "\x02h2\x08http/1.1";
  SSL_CTX *cctx = trusting_client_ctx(alpn, sizeof alpn - 1);
  SSL *c = SSL_new(cctx);
  SSL_set_connect_state(c);
  SSL_set_tlsext_host_name(c, "Shop.Test");
  SSL_set1_host(c, "shop.test");
  SSL *s = fca_tls_server_ssl_new(srv, "connect.test");
  cr_assert_not_null(s);
  cr_assert_str_eq(fca_tls_server_host(s), "connect.test");
  wire(c, s);
  cr_assert_eq(handshake(c, s), 0);
  cr_assert_eq(SSL_get_verify_result(c), X509_V_OK);
  char cn[64];
  peer_cn(c, cn, sizeof cn);
  cr_assert_str_eq(cn, "shop.test");
  cr_assert(chain_has_ca(c), "the CA is in the chain the client received");
  const unsigned char *sel = NULL;
  unsigned int sellen = 0;
  SSL_get0_alpn_selected(c, &sel, &sellen);
  cr_assert_eq(sellen, 8);
  cr_assert(memcmp(sel, "http/1.1", 8) == 0,
            "without fca_tls_server_set_http2, only http/1.1 is selected");
  cr_assert_str_eq(fca_tls_server_host(s), "shop.test");
  cr_assert_str_eq(fca_tls_server_connect_host(s), "connect.test");
  cr_assert(fca_tls_server_had_sni(s));
  cr_assert_eq(SSL_version(s), TLS1_3_VERSION);
  /* Application data flows both ways. */
  cr_assert_eq(SSL_write(c, "ping", 4), 4);
  char buf[8];
  cr_assert_eq(SSL_read(s, buf, sizeof buf), 4);
  cr_assert(memcmp(buf, "ping", 4) == 0);
  SSL_free(c);
  SSL_free(s);
  SSL_CTX_free(cctx);
  fca_certcache_stats_t st;
  fca_tls_server_stats(srv, &st);
  cr_assert_eq(st.misses, 1);
  cr_assert_eq(st.mints, 1);
  fca_tls_server_free(srv);
}

Test(tlsctx, server_without_sni_uses_connect_host) {
  fca_tls_server_t *srv = fca_tls_server_new(ca, leaf_key, 16);
  SSL_CTX *cctx = trusting_client_ctx(NULL, 0);
  for (int round = 0; round < 2; round++) {
    SSL *c = SSL_new(cctx);
    SSL_set_connect_state(c);
    SSL_set1_host(c, "connect.test");
    SSL *s = fca_tls_server_ssl_new(srv, "connect.test");
    wire(c, s);
    cr_assert_eq(handshake(c, s), 0);
    cr_assert_eq(SSL_get_verify_result(c), X509_V_OK);
    char cn[64];
    peer_cn(c, cn, sizeof cn);
    cr_assert_str_eq(cn, "connect.test");
    cr_assert_not(fca_tls_server_had_sni(s));
    cr_assert_str_eq(fca_tls_server_host(s), "connect.test");
    const unsigned char *sel = NULL;
    unsigned int sellen = 0;
    SSL_get0_alpn_selected(s, &sel, &sellen);
    cr_assert_eq(sellen, 0, "no ALPN offered, none selected");
    SSL_free(c);
    SSL_free(s);
  }
  fca_certcache_stats_t st;
  fca_tls_server_stats(srv, &st);
  cr_assert_eq(st.misses, 1);
  cr_assert_eq(st.hits, 1, "the second connection reused the cached context");
  SSL_CTX_free(cctx);
  fca_tls_server_free(srv);
}

Test(tlsctx, server_ip_connect_host) {
  fca_tls_server_t *srv = fca_tls_server_new(ca, leaf_key, 16);
  SSL_CTX *cctx = trusting_client_ctx(NULL, 0);
  SSL *c = SSL_new(cctx);
  SSL_set_connect_state(c);
  X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c), "::1");
  SSL *s = fca_tls_server_ssl_new(srv, "[::1]");
  wire(c, s);
  cr_assert_eq(handshake(c, s), 0);
  cr_assert_eq(SSL_get_verify_result(c), X509_V_OK);
  SSL_free(c);
  SSL_free(s);
  SSL_CTX_free(cctx);
  fca_tls_server_free(srv);
}

Test(tlsctx, server_no_name_at_all_fails) {
  fca_tls_server_t *srv = fca_tls_server_new(ca, leaf_key, 16);
  SSL_CTX *cctx = trusting_client_ctx(NULL, 0);
  SSL *c = SSL_new(cctx);
  SSL_set_connect_state(c);
  SSL *s = fca_tls_server_ssl_new(srv, NULL);
  cr_assert_null(fca_tls_server_host(s));
  wire(c, s);
  cr_assert_lt(handshake(c, s), 0);
  ERR_clear_error();
  SSL_free(c);
  SSL_free(s);
  SSL_CTX_free(cctx);
  fca_tls_server_free(srv);
}

Test(tlsctx, server_tls12_and_resumption) {
  fca_tls_server_t *srv = fca_tls_server_new(ca, leaf_key, 16);
  SSL_CTX *cctx = trusting_client_ctx(NULL, 0);
  SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_CLIENT);
  for (int v = 0; v < 2; v++) {
    SSL_CTX_set_max_proto_version(cctx, v == 0 ? TLS1_2_VERSION : TLS1_3_VERSION);
    SSL_SESSION *sess = NULL;
    for (int round = 0; round < 2; round++) {
      SSL *c = SSL_new(cctx);
      SSL_set_connect_state(c);
      SSL_set_tlsext_host_name(c, "shop.test");
      SSL_set1_host(c, "shop.test");
      if (sess) SSL_set_session(c, sess);
      SSL *s = fca_tls_server_ssl_new(srv, "connect.test");
      wire(c, s);
      cr_assert_eq(handshake(c, s), 0, "version round %d", v);
      cr_assert_eq(SSL_version(c), v == 0 ? TLS1_2_VERSION : TLS1_3_VERSION);
      cr_assert_eq(SSL_session_reused(c), round == 1, "v%d round %d", v, round);
      cr_assert_str_eq(fca_tls_server_host(s), "shop.test");
      if (!sess) sess = SSL_get1_session(c);
      SSL_shutdown(c);
      SSL_free(c);
      SSL_free(s);
    }
    SSL_SESSION_free(sess);
  }
  SSL_CTX_free(cctx);
  fca_tls_server_free(srv);
}

/* A server presenting a fixed certificate for `name`, from a cache built on the given CA. */
static SSL *fixed_server(fca_certcache_t *cc, const char *name) {
  SSL_CTX *ctx = fca_certcache_get(cc, name);
  cr_assert_not_null(ctx);
  SSL *s = SSL_new(ctx);
  SSL_set_accept_state(s);
  return s;
}

Test(tlsctx, upstream_untrusted_issuer) {
  char err[512] = "";
  fca_tls_client_t *cl = fca_tls_client_new(NULL, 0, false, err, sizeof err);
  cr_assert_not_null(cl, "%s", err);
  fca_tls_server_t *srv = fca_tls_server_new(ca, leaf_key, 4); /* our CA: not trusted here */
  SSL *c = fca_tls_client_ssl_new(cl, "shop.test", 443);
  cr_assert_not_null(c);
  SSL *s = fca_tls_server_ssl_new(srv, "shop.test");
  wire(c, s);
  cr_assert_eq(handshake(c, s), -1);
  long vr = SSL_get_verify_result(c);
  cr_assert_neq(vr, X509_V_OK);
  cr_assert_str_eq(fca_tls_verify_reason(vr), "unknown issuer (not trusted)");
  char e[256];
  fca_tls_errstr(e, sizeof e);
  cr_assert(strstr(e, "certificate verify failed") != NULL, "%s", e);
  cr_assert_eq(ERR_peek_error(), 0, "queue drained");
  SSL_free(c);
  SSL_free(s);
  fca_tls_server_free(srv);
  fca_tls_client_free(cl);
}

Test(tlsctx, upstream_trusted_via_extra_ca_and_resumes) {
  char err[512] = "";
  const char *files[] = {fca_ca_cert_path(ca)};
  fca_tls_client_t *cl = fca_tls_client_new(files, 1, false, err, sizeof err);
  cr_assert_not_null(cl, "%s", err);
  fca_tls_server_t *srv = fca_tls_server_new(ca, leaf_key, 4);
  for (int round = 0; round < 2; round++) {
    SSL *c = fca_tls_client_ssl_new(cl, "shop.test", 8443);
    SSL *s = fca_tls_server_ssl_new(srv, NULL);
    wire(c, s);
    cr_assert_eq(handshake(c, s), 0, "round %d", round);
    cr_assert_eq(SSL_get_verify_result(c), X509_V_OK);
    cr_assert(fca_tls_server_had_sni(s), "the upstream client sends SNI");
    cr_assert_str_eq(fca_tls_server_host(s), "shop.test");
    const unsigned char *sel = NULL;
    unsigned int sellen = 0;
    SSL_get0_alpn_selected(c, &sel, &sellen);
    cr_assert_eq(sellen, 8);
    cr_assert(memcmp(sel, "http/1.1", 8) == 0);
    cr_assert_eq(SSL_session_reused(c), round == 1, "round %d", round);
    SSL_shutdown(c);
    SSL_free(c);
    SSL_free(s);
  }
  fca_tls_client_stats_t st;
  fca_tls_client_stats(cl, &st);
  cr_assert_eq(st.sessions_offered, 1);
  cr_assert_geq(st.sessions_stored, 1);
  cr_assert_eq(st.sessions, 1);
  /* Another port is another key: no session offered. */
  SSL *c = fca_tls_client_ssl_new(cl, "shop.test", 443);
  fca_tls_client_stats(cl, &st);
  cr_assert_eq(st.sessions_offered, 1);
  SSL_free(c);
  fca_tls_server_free(srv);
  fca_tls_client_free(cl);
}

Test(tlsctx, upstream_host_mismatch) {
  char err[512] = "";
  const char *files[] = {fca_ca_cert_path(ca)};
  fca_tls_client_t *cl = fca_tls_client_new(files, 1, false, err, sizeof err);
  cr_assert_not_null(cl, "%s", err);
  fca_certcache_t *cc = fca_certcache_new(ca, leaf_key, 4);
  SSL *c = fca_tls_client_ssl_new(cl, "other.test", 443);
  SSL *s = fixed_server(cc, "shop.test");
  wire(c, s);
  cr_assert_eq(handshake(c, s), -1);
  cr_assert_str_eq(fca_tls_verify_reason(SSL_get_verify_result(c)),
                   "host name does not match the certificate");
  ERR_clear_error();
  SSL_free(c);
  SSL_free(s);
  fca_certcache_free(cc);
  fca_tls_client_free(cl);
}

Test(tlsctx, upstream_ip_literal) {
  char err[512] = "";
  const char *files[] = {fca_ca_cert_path(ca)};
  fca_tls_client_t *cl = fca_tls_client_new(files, 1, false, err, sizeof err);
  cr_assert_not_null(cl, "%s", err);
  fca_certcache_t *cc = fca_certcache_new(ca, leaf_key, 4);
  /* Matching IP: verifies, and no SNI is sent for an IP literal. */
  SSL *c = fca_tls_client_ssl_new(cl, "127.0.0.1", 443);
  SSL *s = fixed_server(cc, "127.0.0.1");
  wire(c, s);
  cr_assert_eq(handshake(c, s), 0);
  cr_assert_null(SSL_get_servername(s, TLSEXT_NAMETYPE_host_name));
  SSL_free(c);
  SSL_free(s);
  c = fca_tls_client_ssl_new(cl, "[::1]", 443);
  s = fixed_server(cc, "::1");
  wire(c, s);
  cr_assert_eq(handshake(c, s), 0);
  SSL_free(c);
  SSL_free(s);
  /* A certificate for another address is a mismatch. */
  c = fca_tls_client_ssl_new(cl, "127.0.0.2", 443);
  s = fixed_server(cc, "127.0.0.1");
  wire(c, s);
  cr_assert_eq(handshake(c, s), -1);
  cr_assert_str_eq(fca_tls_verify_reason(SSL_get_verify_result(c)),
                   "host name does not match the certificate");
  ERR_clear_error();
  SSL_free(c);
  SSL_free(s);
  fca_certcache_free(cc);
  fca_tls_client_free(cl);
}

Test(tlsctx, upstream_insecure_continues) {
  char err[512] = "";
  fca_tls_client_t *cl = fca_tls_client_new(NULL, 0, true, err, sizeof err);
  cr_assert_not_null(cl, "%s", err);
  fca_tls_server_t *srv = fca_tls_server_new(ca, leaf_key, 4);
  SSL *c = fca_tls_client_ssl_new(cl, "shop.test", 443);
  SSL *s = fca_tls_server_ssl_new(srv, NULL);
  wire(c, s);
  cr_assert_eq(handshake(c, s), 0);
  cr_assert_neq(SSL_get_verify_result(c), X509_V_OK, "still computed");
  SSL_free(c);
  SSL_free(s);
  fca_tls_server_free(srv);
  fca_tls_client_free(cl);
}

Test(tlsctx, upstream_bad_ca_file) {
  char err[512] = "", path[128];
  snprintf(path, sizeof path, "%s/garbage.pem", tmpdir);
  FILE *f = fopen(path, "w");
  fputs("not a certificate\n", f);
  fclose(f);
  const char *files[] = {path};
  cr_assert_null(fca_tls_client_new(files, 1, false, err, sizeof err));
  cr_assert(strstr(err, path) != NULL, "%s", err);
  const char *missing[] = {"/nonexistent/ca.pem"};
  cr_assert_null(fca_tls_client_new(missing, 1, false, err, sizeof err));
  cr_assert(strstr(err, "/nonexistent/ca.pem") != NULL, "%s", err);
  cr_assert_eq(ERR_peek_error(), 0);
}

/* server_name extension bodies */
Test(tlsctx, parse_sni) {
  char out[256];
  static const unsigned char ok[] = {0, 12, 0, 0, 9, 'S', 'h', 'o', 'p', '.', 'T', 'e', 's', 't'};
  cr_assert_eq(fca_tls_parse_sni(ok, sizeof ok, out, sizeof out), 1);
  cr_assert_str_eq(out, "shop.test");
  static const unsigned char dot[] = {0, 6, 0, 0, 3, 'a', '.', '.'};
  cr_assert_eq(fca_tls_parse_sni(dot, sizeof dot, out, sizeof out), 1);
  cr_assert_str_eq(out, "a.");
  /* an unknown name type first, then the host name */
  static const unsigned char two[] = {0, 10, 7, 0, 2, 'x', 'y', 0, 0, 2, 'a', 'b'};
  cr_assert_eq(fca_tls_parse_sni(two, sizeof two, out, sizeof out), 1);
  cr_assert_str_eq(out, "ab");
  static const unsigned char other[] = {0, 5, 7, 0, 2, 'x', 'y'};
  cr_assert_eq(fca_tls_parse_sni(other, sizeof other, out, sizeof out), 0);
  /* malformed: */
  static const unsigned char shortlist[] = {0,   13,  0,   0,   9,   's', 'h',
                                            'o', 'p', '.', 't', 'e', 's', 't'};
  cr_assert_eq(fca_tls_parse_sni(shortlist, sizeof shortlist, out, sizeof out), -1);
  static const unsigned char namelong[] = {0, 5, 0, 0, 9, 'a', 'b'};
  cr_assert_eq(fca_tls_parse_sni(namelong, sizeof namelong, out, sizeof out), -1);
  static const unsigned char empty[] = {0, 3, 0, 0, 0};
  cr_assert_eq(fca_tls_parse_sni(empty, sizeof empty, out, sizeof out), -1);
  static const unsigned char nul[] = {0, 5, 0, 0, 2, 'a', 0};
  cr_assert_eq(fca_tls_parse_sni(nul, sizeof nul, out, sizeof out), -1);
  static const unsigned char trunc[] = {0, 2, 0, 0};
  cr_assert_eq(fca_tls_parse_sni(trunc, sizeof trunc, out, sizeof out), -1);
  static const unsigned char zero[] = {0, 0};
  cr_assert_eq(fca_tls_parse_sni(zero, sizeof zero, out, sizeof out), -1);
  cr_assert_eq(fca_tls_parse_sni(ok, 1, out, sizeof out), -1);
  cr_assert_eq(fca_tls_parse_sni(ok, sizeof ok, out, 9), -1, "does not fit");
  /* Every truncation of a valid body is rejected, never read past. */
  for (size_t n = 0; n < sizeof ok; n++)
    cr_assert_eq(fca_tls_parse_sni(ok, n, out, sizeof out), -1, "len %zu", n);
}

Test(tlsctx, verify_reasons) {
  cr_assert_str_eq(fca_tls_verify_reason(X509_V_ERR_CERT_HAS_EXPIRED), "certificate has expired");
  cr_assert_str_eq(fca_tls_verify_reason(X509_V_ERR_CERT_NOT_YET_VALID),
                   "certificate is not yet valid");
  cr_assert_str_eq(fca_tls_verify_reason(X509_V_ERR_HOSTNAME_MISMATCH),
                   "host name does not match the certificate");
  cr_assert_str_eq(fca_tls_verify_reason(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY),
                   "unknown issuer (not trusted)");
  cr_assert_str_eq(fca_tls_verify_reason(X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT),
                   "self-signed certificate");
  cr_assert_str_eq(fca_tls_verify_reason(X509_V_ERR_CERT_REVOKED),
                   X509_verify_cert_error_string(X509_V_ERR_CERT_REVOKED));
}

Test(tlsctx, errstr) {
  char buf[256];
  OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL);
  ERR_clear_error();
  fca_tls_errstr(buf, sizeof buf);
  cr_assert_str_eq(buf, "no OpenSSL error detail");
  ERR_raise(ERR_LIB_SSL, SSL_R_CERTIFICATE_VERIFY_FAILED);
  ERR_raise(ERR_LIB_X509, X509_R_CERT_ALREADY_IN_HASH_TABLE);
  fca_tls_errstr(buf, sizeof buf);
  cr_assert(strstr(buf, "certificate verify failed") != NULL, "%s", buf);
  cr_assert(strstr(buf, "; ") != NULL, "%s", buf);
  cr_assert_eq(ERR_peek_error(), 0);
  /* Truncated into a small buffer, and still drained. */
  ERR_raise(ERR_LIB_SSL, SSL_R_CERTIFICATE_VERIFY_FAILED);
  ERR_raise(ERR_LIB_SSL, SSL_R_CERTIFICATE_VERIFY_FAILED);
  char small[10];
  fca_tls_errstr(small, sizeof small);
  cr_assert_eq(strlen(small), 9u);
  cr_assert_eq(ERR_peek_error(), 0);
}

Test(tlsctx, server_invalid_sni_uses_connect_host) {
  /* Go's hey sends "host:port" as SNI: the CONNECT host names the certificate instead. */
  fca_tls_server_t *srv = fca_tls_server_new(ca, leaf_key, 4);
  SSL_CTX *cctx = trusting_client_ctx(NULL, 0);
  SSL *c = SSL_new(cctx);
  SSL_set_connect_state(c);
  SSL_set_tlsext_host_name(c, "127.0.0.1:8443");
  SSL *s = fca_tls_server_ssl_new(srv, "connect.test");
  wire(c, s);
  cr_assert_eq(handshake(c, s), 0);
  cr_assert_str_eq(fca_tls_server_host(s), "connect.test");
  SSL_free(c);
  SSL_free(s);
  SSL_CTX_free(cctx);
  fca_tls_server_free(srv);
}

Test(tlsctx, server_invalid_sni_refused) {
  fca_tls_server_t *srv = fca_tls_server_new(ca, leaf_key, 4);
  SSL_CTX *cctx = trusting_client_ctx(NULL, 0);
  SSL *c = SSL_new(cctx);
  SSL_set_connect_state(c);
  SSL_set_tlsext_host_name(c, "bad host\x01.test");
  SSL *s = fca_tls_server_ssl_new(srv, NULL);
  wire(c, s);
  cr_assert_eq(handshake(c, s), -2, "the server refuses");
  ERR_clear_error();
  cr_assert_lt(SSL_do_handshake(c), 1);
  char e[256];
  fca_tls_errstr(e, sizeof e); /* the client got the alert */
  cr_assert(strstr(e, "unrecognized name") != NULL, "%s", e);
  fca_certcache_stats_t st;
  fca_tls_server_stats(srv, &st);
  cr_assert_eq(st.mints, 0);
  cr_assert_eq(st.failures, 1);
  SSL_free(c);
  SSL_free(s);
  SSL_CTX_free(cctx);
  fca_tls_server_free(srv);
}

Test(tlsctx, server_alpn_without_http11_still_connects) {
  fca_tls_server_t *srv = fca_tls_server_new(ca, leaf_key, 4);
  static const char alpn[] = "\x02h2";
  SSL_CTX *cctx = trusting_client_ctx(alpn, sizeof alpn - 1);
  SSL *c = SSL_new(cctx);
  SSL_set_connect_state(c);
  SSL_set_tlsext_host_name(c, "shop.test");
  SSL *s = fca_tls_server_ssl_new(srv, NULL);
  wire(c, s);
  cr_assert_eq(handshake(c, s), 0);
  const unsigned char *sel = NULL;
  unsigned int sellen = 0;
  SSL_get0_alpn_selected(c, &sel, &sellen);
  cr_assert_eq(sellen, 0, "h2 is never selected");
  SSL_free(c);
  SSL_free(s);
  SSL_CTX_free(cctx);
  fca_tls_server_free(srv);
}

/* With HTTP/2 on, ALPN takes the first protocol of the client's list that fcaudit speaks. */
static void alpn_case(bool h2_on, const char *offer, size_t offerlen, const char *want) {
  fca_tls_server_t *srv = fca_tls_server_new(ca, leaf_key, 16);
  cr_assert_not_null(srv);
  fca_tls_server_set_http2(srv, h2_on);
  SSL_CTX *cctx = trusting_client_ctx(offer, offerlen);
  SSL *c = SSL_new(cctx);
  SSL_set_connect_state(c);
  SSL_set_tlsext_host_name(c, "shop.test");
  SSL *s = fca_tls_server_ssl_new(srv, "shop.test");
  wire(c, s);
  cr_assert_eq(handshake(c, s), 0);
  const unsigned char *sel = NULL;
  unsigned int sellen = 0;
  SSL_get0_alpn_selected(c, &sel, &sellen);
  cr_assert_eq(sellen, strlen(want), "offered %zu bytes, want %s", offerlen, want);
  cr_assert(sellen == 0 || memcmp(sel, want, sellen) == 0);
  SSL_free(c);
  SSL_free(s);
  SSL_CTX_free(cctx);
  fca_tls_server_free(srv);
}

Test(tlsctx, server_alpn_h2_when_on_and_client_prefers_it) {
  static const char h2_first[] = "\x02h2\x08http/1.1", h1_first[] = "\x08http/1.1\x02h2",
                    h2_only[] = "\x02h2";
  alpn_case(true, h2_first, sizeof h2_first - 1, "h2");
  alpn_case(true, h1_first, sizeof h1_first - 1, "http/1.1");
  alpn_case(false, h2_first, sizeof h2_first - 1, "http/1.1");
  alpn_case(false, h2_only, sizeof h2_only - 1, "");
  alpn_case(true, h2_only, sizeof h2_only - 1, "h2");
}
