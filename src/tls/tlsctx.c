/* tlsctx: per-worker TLS contexts for both legs of an intercepted connection (see tlsctx.h).
 * Contexts are made once per worker (and, server side, once per minted host), never per
 * connection. Per-connection facts (CONNECT host, chosen name, host:port session key) live in
 * SSL ex_data, freed by OpenSSL with the SSL, so the proxy never has to track them. */
#include "fcaudit/tlsctx.h"

#include "certcache.h"
#include "fcaudit/mint.h"
#include "fcaudit/util.h"
#include "lazytrust.h"
#include "lru.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- ex_data indexes, registered once per process ---- */

typedef struct {
  char *connect_host;
  char *name; /* chosen in the client-hello callback */
  bool sni;
} server_conn_t;

static int server_idx = -1, client_idx = -1;
static pthread_once_t idx_once = PTHREAD_ONCE_INIT;

static void free_server_conn(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                             void *argp) {
  server_conn_t *d = ptr;
  if (!d) return;
  free(d->connect_host);
  free(d->name);
  free(d);
}

static void free_string(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                        void *argp) {
  free(ptr);
}

static void init_indexes(void) {
  server_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, free_server_conn);
  client_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, free_string);
}

static int indexes(void) {
  pthread_once(&idx_once, init_indexes);
  return server_idx >= 0 && client_idx >= 0 ? 0 : -1;
}

/* ---- server side ---- */

struct fca_tls_server {
  SSL_CTX *base;
  fca_certcache_t *cache;
  bool h2; /* ALPN may select "h2" */
};

int fca_tls_parse_sni(const unsigned char *p, size_t len, char *out, size_t outlen) {
  if (len < 2) return -1;
  size_t list = ((size_t)p[0] << 8) | p[1];
  if (list != len - 2 || list == 0) return -1;
  p += 2;
  while (list > 0) {
    if (list < 3) return -1;
    unsigned type = p[0];
    size_t n = ((size_t)p[1] << 8) | p[2];
    if (n > list - 3) return -1;
    if (type == TLSEXT_NAMETYPE_host_name) {
      if (n == 0 || n >= outlen) return -1;
      for (size_t i = 0; i < n; i++) {
        if (p[3 + i] == 0) return -1;
        out[i] = (char)tolower(p[3 + i]);
      }
      if (n > 1 && out[n - 1] == '.') n--;
      out[n] = '\0';
      return 1;
    }
    p += 3 + n;
    list -= 3 + n;
  }
  return 0;
}

static int client_hello_cb(SSL *ssl, int *al, void *arg) {
  fca_tls_server_t *srv = arg;
  server_conn_t *d = SSL_get_ex_data(ssl, server_idx);
  if (!d) {
    *al = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  if (d->name) return SSL_CLIENT_HELLO_SUCCESS; /* second ClientHello after a HelloRetryRequest */
  const unsigned char *ext = NULL;
  size_t extlen = 0;
  char sni[256];
  int found = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext, &extlen) == 1) {
    found = fca_tls_parse_sni(ext, extlen, sni, sizeof sni);
    if (found < 0) {
      fca_debug("tls: malformed server_name extension (CONNECT host %s)",
                d->connect_host ? d->connect_host : "-");
      *al = SSL_AD_DECODE_ERROR;
      return SSL_CLIENT_HELLO_ERROR;
    }
  }
  const char *host = found ? sni : d->connect_host;
  if (found && !fca_mint_host_valid(sni) && d->connect_host &&
      fca_mint_host_valid(d->connect_host)) {
    /* Some clients put "host:port" in SNI (Go's hey does); the CONNECT host names the
     * certificate then, and the client's own verification decides. */
    fca_debug("tls: SNI is not a host name; using the CONNECT host %s", d->connect_host);
    host = d->connect_host;
  }
  SSL_CTX *ctx = host ? fca_certcache_get(srv->cache, host) : NULL;
  if (!ctx) {
    if (!host) {
      fca_warn("tls: client sent no SNI and there is no CONNECT host to name a certificate");
    } else if (!fca_mint_host_valid(host)) {
      /* Not echoed: it came from the client and may hold control characters. */
      fca_warn("tls: refusing a certificate for an invalid host name (CONNECT host %s)",
               d->connect_host && fca_mint_host_valid(d->connect_host) ? d->connect_host : "-");
    } else {
      char e[256];
      fca_tls_errstr(e, sizeof e);
      fca_warn("tls: cannot make a certificate for '%s': %s", host, e);
    }
    *al = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_CLIENT_HELLO_ERROR;
  }
  SSL_set_SSL_CTX(ssl, ctx);
  /* SSL_set_SSL_CTX swaps certificate and key only; keep the connection's options in step. */
  SSL_set_options(ssl, SSL_CTX_get_options(ctx));
  d->sni = found > 0;
  d->name = fca_xstrdup(host);
  for (char *c = d->name; *c; c++) *c = (char)tolower((unsigned char)*c);
  return SSL_CLIENT_HELLO_SUCCESS;
}

fca_tls_server_t *fca_tls_server_new(const fca_ca_t *ca, EVP_PKEY *leaf_key, size_t cache_size) {
  if (indexes() != 0) return NULL;
  fca_certcache_t *cache = fca_certcache_new(ca, leaf_key, cache_size);
  SSL_CTX *base = fca_certcache_server_ctx_new();
  if (!cache || !base) {
    fca_certcache_free(cache);
    SSL_CTX_free(base);
    return NULL;
  }
  fca_tls_server_t *s = fca_xcalloc(1, sizeof *s);
  s->base = base;
  s->cache = cache;
  /* Stateless tickets only: no per-worker server session store to grow. */
  SSL_CTX_set_session_cache_mode(base, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_client_hello_cb(base, client_hello_cb, s);
  return s;
}

void fca_tls_server_set_http2(fca_tls_server_t *s, bool on) { s->h2 = on; }

void fca_tls_server_free(fca_tls_server_t *s) {
  if (!s) return;
  SSL_CTX_free(s->base);
  fca_certcache_free(s->cache);
  free(s);
}

SSL *fca_tls_server_ssl_new(fca_tls_server_t *s, const char *connect_host) {
  SSL *ssl = SSL_new(s->base);
  if (!ssl) return NULL;
  server_conn_t *d = fca_xcalloc(1, sizeof *d);
  if (connect_host) d->connect_host = fca_xstrdup(connect_host);
  if (!SSL_set_ex_data(ssl, server_idx, d)) {
    free_server_conn(NULL, d, NULL, 0, 0, NULL);
    SSL_free(ssl);
    return NULL;
  }
  if (s->h2) fca_certcache_offer_h2(ssl);
  SSL_set_accept_state(ssl);
  return ssl;
}

const char *fca_tls_server_host(const SSL *ssl) {
  const server_conn_t *d = server_idx >= 0 ? SSL_get_ex_data(ssl, server_idx) : NULL;
  if (!d) return NULL;
  return d->name ? d->name : d->connect_host;
}

const char *fca_tls_server_connect_host(const SSL *ssl) {
  const server_conn_t *d = server_idx >= 0 ? SSL_get_ex_data(ssl, server_idx) : NULL;
  return d ? d->connect_host : NULL;
}

bool fca_tls_server_had_sni(const SSL *ssl) {
  const server_conn_t *d = server_idx >= 0 ? SSL_get_ex_data(ssl, server_idx) : NULL;
  return d && d->sni;
}

void fca_tls_server_stats(const fca_tls_server_t *s, fca_certcache_stats_t *out) {
  fca_certcache_stats(s->cache, out);
}

/* ---- upstream (client) side ---- */

struct fca_tls_client {
  SSL_CTX *ctx;
  lru_t sessions; /* "host:port" -> SSL_SESSION* */
  fca_tls_client_stats_t st;
};

static void free_session(void *p) { SSL_SESSION_free(p); }

/* Keeps the newest session per host:port (TLS 1.3 may deliver several per connection). */
static int new_session_cb(SSL *ssl, SSL_SESSION *sess) {
  fca_tls_client_t *c = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
  const char *key = SSL_get_ex_data(ssl, client_idx);
  if (!c || !key || !SSL_SESSION_is_resumable(sess)) return 0;
  lru_node_t *old = lru_get(&c->sessions, key);
  if (old && old->val == sess) return 0; /* already held */
  lru_put(&c->sessions, key, sess, 0);
  c->st.sessions_stored++;
  return 1; /* we keep the reference */
}

/* The system trust, read lazily either way: the hashed certificate directory when it has
 * entries (OpenSSL reads one file per issuer looked up), and the bundle file when the
 * environment names one (SSL_CERT_FILE) or the directory has no hash links, read whole on the
 * first lookup that misses (lazytrust.h): an idle proxy holds neither. */
static int load_system_trust(SSL_CTX *ctx) {
  const char *dir = getenv(X509_get_default_cert_dir_env());
  if (!dir) dir = X509_get_default_cert_dir();
  const char *file_env = getenv(X509_get_default_cert_file_env());
  bool dir_ok = false;
  DIR *d = dir ? opendir(dir) : NULL;
  if (d) {
    struct dirent *e;
    while (!dir_ok && (e = readdir(d)) != NULL) {
      /* Hash links look like "5ad8a5d6.0". */
      size_t n = strlen(e->d_name);
      dir_ok = n == 10 && e->d_name[8] == '.' && strspn(e->d_name, "0123456789abcdef") == 8;
    }
    closedir(d);
  }
  if (dir_ok && SSL_CTX_load_verify_dir(ctx, dir) != 1) return -1;
  if (dir_ok && !file_env) return 0;
  const char *file = file_env ? file_env : X509_get_default_cert_file();
  return fca_lazytrust_add(SSL_CTX_get_cert_store(ctx), file);
}

/* One upstream context; its trust store is loaded here, or shared with another worker's
 * (X509_STORE is reference-counted and locks itself: the CA bundle is loaded once). */
static fca_tls_client_t *client_new(const char *const *extra_ca_files, size_t n, bool insecure,
                                    X509_STORE *share, char *err, size_t errlen) {
  if (indexes() != 0) {
    fca_seterr(err, errlen, "cannot register TLS connection data");
    return NULL;
  }
  static const unsigned char alpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) goto ossl_fail;
  if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
      SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn) != 0 /* 0 is success here */)
    goto ossl_fail;
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION);
  SSL_CTX_clear_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (share) {
    SSL_CTX_set1_cert_store(ctx, share);
  } else {
    if (load_system_trust(ctx) != 0) goto ossl_fail;
    for (size_t i = 0; i < n; i++) {
      if (SSL_CTX_load_verify_file(ctx, extra_ca_files[i]) != 1) {
        char e[200];
        fca_tls_errstr(e, sizeof e);
        fca_seterr(err, errlen, "cannot load CA file %s: %s", extra_ca_files[i], e);
        SSL_CTX_free(ctx);
        return NULL;
      }
    }
  }
  /* A trusted intermediate is enough (as curl does): --upstream-ca may name one. */
  X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_PARTIAL_CHAIN);
  SSL_CTX_set_verify(ctx, insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
  fca_tls_client_t *c = fca_xcalloc(1, sizeof *c);
  c->ctx = ctx;
  lru_init(&c->sessions, FCA_TLS_CLIENT_SESSIONS, free_session);
  SSL_CTX_set_app_data(ctx, c);
  return c;
ossl_fail : {
  char e[200];
  fca_tls_errstr(e, sizeof e);
  fca_seterr(err, errlen, "cannot set up the upstream TLS context: %s", e);
  SSL_CTX_free(ctx);
  return NULL;
}
}

fca_tls_client_t *fca_tls_client_new(const char *const *extra_ca_files, size_t n, bool insecure,
                                     char *err, size_t errlen) {
  return client_new(extra_ca_files, n, insecure, NULL, err, errlen);
}

fca_tls_client_t *fca_tls_client_new_sharing(const fca_tls_client_t *other, bool insecure,
                                             char *err, size_t errlen) {
  return client_new(NULL, 0, insecure, SSL_CTX_get_cert_store(other->ctx), err, errlen);
}

void fca_tls_client_free(fca_tls_client_t *c) {
  if (!c) return;
  SSL_CTX_free(c->ctx);
  lru_destroy(&c->sessions);
  free(c);
}

/* Copies an IP literal without brackets into out; false when host is not one. */
static bool ip_literal(const char *host, char *out, size_t n) {
  size_t len = strlen(host);
  if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
    host++;
    len -= 2;
  }
  if (len == 0 || len >= n) return false;
  memcpy(out, host, len);
  out[len] = '\0';
  unsigned char buf[16];
  return inet_pton(AF_INET, out, buf) == 1 || inet_pton(AF_INET6, out, buf) == 1;
}

SSL *fca_tls_client_ssl_new(fca_tls_client_t *c, const char *host, int port) {
  if (!host || !*host) return NULL;
  SSL *ssl = SSL_new(c->ctx);
  if (!ssl) return NULL;
  char ip[64];
  bool is_ip = ip_literal(host, ip, sizeof ip);
  char *key = fca_xasprintf("%s:%d", host, port);
  if (!SSL_set_ex_data(ssl, client_idx, key)) {
    free(key);
    goto fail;
  }
  if (is_ip) {
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ip) != 1) goto fail;
  } else {
    if (SSL_set_tlsext_host_name(ssl, host) != 1 || SSL_set1_host(ssl, host) != 1) goto fail;
  }
  lru_node_t *node = lru_get(&c->sessions, key);
  if (node) {
    SSL_SESSION *sess = node->val;
    time_t now = time(NULL);
    if (!SSL_SESSION_is_resumable(sess) ||
        now >= (time_t)(SSL_SESSION_get_time(sess) + SSL_SESSION_get_timeout(sess))) {
      lru_remove(&c->sessions, key);
    } else if (SSL_set_session(ssl, sess) == 1) {
      c->st.sessions_offered++;
    }
  }
  SSL_set_connect_state(ssl);
  return ssl;
fail:
  SSL_free(ssl);
  return NULL;
}

void fca_tls_client_stats(const fca_tls_client_t *c, fca_tls_client_stats_t *out) {
  *out = c->st;
  out->sessions = fca_strmap_count(&c->sessions.map);
}

const char *fca_tls_verify_reason(long r) {
  switch (r) {
  case X509_V_OK: return "ok";
  case X509_V_ERR_CERT_HAS_EXPIRED: return "certificate has expired";
  case X509_V_ERR_CERT_NOT_YET_VALID: return "certificate is not yet valid";
  case X509_V_ERR_HOSTNAME_MISMATCH:
  case X509_V_ERR_IP_ADDRESS_MISMATCH: return "host name does not match the certificate";
  case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
  case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
  case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
  case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN: return "unknown issuer (not trusted)";
  case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT: return "self-signed certificate";
  default: return X509_verify_cert_error_string(r);
  }
}

void fca_tls_errstr(char *buf, size_t n) {
  if (!buf || n == 0) return;
  size_t used = 0;
  buf[0] = '\0';
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    if (used + 1 >= n) continue; /* keep draining */
    const char *lib = ERR_lib_error_string(e);
    const char *reason = ERR_reason_error_string(e);
    char code[32];
    if (!reason) {
      snprintf(code, sizeof code, "error %d", ERR_GET_REASON(e));
      reason = code;
    }
    int w = snprintf(buf + used, n - used, "%s%s%s%s", used ? "; " : "", lib ? lib : "",
                     lib ? ": " : "", reason);
    if (w < 0) break;
    used += (size_t)w < n - used ? (size_t)w : n - used - 1;
  }
  if (!used) snprintf(buf, n, "no OpenSSL error detail");
}
