/* certcache: per-worker host -> SSL_CTX cache (see certcache.h). A context is built once per
 * host because SSL_CTX_new plus a certificate costs far more than a lookup; connections switch
 * to it in the client-hello callback. Entries hold the only cache reference to their context;
 * connections that use it hold their own, so evicting never pulls a context from under one. */
#include "certcache.h"

#include "fcaudit/mint.h"
#include "fcaudit/util.h"
#include "lru.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

struct fca_certcache {
  const fca_ca_t *ca;
  EVP_PKEY *leaf_key;
  lru_t lru; /* host -> SSL_CTX*, aux = the leaf's notAfter (time_t) */
  /* Counters: the owning worker updates them, the metrics thread reads them (relaxed atomics:
   * each figure is exact, the set a moment's snapshot). */
  struct {
    atomic_uint_least64_t hits, misses, evictions, mints, renewals, failures;
    atomic_size_t entries;
  } ctr;
  size_t capacity;
  time_t (*now)(void *);
  void *now_arg;
};

static int alpn_idx = -1;
static pthread_once_t alpn_once = PTHREAD_ONCE_INIT;
static void alpn_index_init(void) { alpn_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL); }

void fca_certcache_offer_h2(SSL *ssl) {
  pthread_once(&alpn_once, alpn_index_init);
  if (alpn_idx >= 0) SSL_set_ex_data(ssl, alpn_idx, (void *)1);
}

/* Selects the first protocol in the client's list that we speak: "h2" (only on connections
 * offered it) or "http/1.1" -- the client's preference wins. None of them: no ALPN (the client
 * decides whether it can live without, rather than us failing the handshake). */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg) {
  (void)arg;
  pthread_once(&alpn_once, alpn_index_init);
  bool h2 = alpn_idx >= 0 && SSL_get_ex_data(ssl, alpn_idx) != NULL;
  for (unsigned i = 0; i < inlen;) {
    unsigned n = in[i];
    if (i + 1 + n > inlen) break;
    const unsigned char *p = in + i + 1;
    if ((n == 8 && memcmp(p, "http/1.1", 8) == 0) || (h2 && n == 2 && memcmp(p, "h2", 2) == 0)) {
      *out = p;
      *outlen = (unsigned char)n;
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + n;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

SSL_CTX *fca_certcache_server_ctx_new(void) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return NULL;
  static const unsigned char sid[] = "fcaudit";
  if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
      !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) || !SSL_CTX_set_num_tickets(ctx, 1) ||
      !SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1)) {
    SSL_CTX_free(ctx);
    return NULL;
  }
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_clear_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  /* The proxy retries a write from an evbuffer whose memory may have moved. */
  SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
  return ctx;
}

static time_t default_now(void *arg) { return time(NULL); }

static void free_ctx(void *p) { SSL_CTX_free(p); }

fca_certcache_t *fca_certcache_new(const fca_ca_t *ca, EVP_PKEY *leaf_key, size_t capacity) {
  if (!ca || !leaf_key) return NULL;
  fca_certcache_t *c = fca_xcalloc(1, sizeof *c);
  c->ca = ca;
  c->leaf_key = leaf_key;
  lru_init(&c->lru, capacity, free_ctx);
  c->capacity = c->lru.cap;
  c->now = default_now;
  return c;
}

void fca_certcache_free(fca_certcache_t *c) {
  if (!c) return;
  lru_destroy(&c->lru);
  free(c);
}

void fca_certcache_set_clock(fca_certcache_t *c, time_t (*now)(void *arg), void *arg) {
  c->now = now ? now : default_now;
  c->now_arg = arg;
}

static int not_after(X509 *x, time_t *out) {
  struct tm tm;
  if (!ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm)) return -1;
  *out = timegm(&tm);
  return 0;
}

static SSL_CTX *build(fca_certcache_t *c, const char *host, time_t *expiry) {
  X509 *leaf = fca_mint_leaf(c->ca, c->leaf_key, host);
  if (!leaf) return NULL;
  SSL_CTX *ctx = fca_certcache_server_ctx_new();
  if (!ctx || SSL_CTX_use_certificate(ctx, leaf) != 1 ||
      SSL_CTX_use_PrivateKey(ctx, c->leaf_key) != 1 ||
      SSL_CTX_add1_chain_cert(ctx, fca_ca_cert(c->ca)) != 1 || not_after(leaf, expiry) != 0) {
    SSL_CTX_free(ctx);
    X509_free(leaf);
    return NULL;
  }
  X509_free(leaf);
  atomic_fetch_add_explicit(&c->ctr.mints, 1, memory_order_relaxed);
  return ctx;
}

SSL_CTX *fca_certcache_get(fca_certcache_t *c, const char *host) {
  if (!host || !*host) return NULL;
  lru_node_t *n = lru_get(&c->lru, host);
  time_t now = c->now(c->now_arg);
  if (n) {
    if ((int64_t)now < n->aux - FCA_CERTCACHE_RENEW_SECS) {
      atomic_fetch_add_explicit(&c->ctr.hits, 1, memory_order_relaxed);
      return n->val;
    }
    atomic_fetch_add_explicit(&c->ctr.renewals, 1, memory_order_relaxed);
  }
  atomic_fetch_add_explicit(&c->ctr.misses, 1, memory_order_relaxed);
  time_t expiry = 0;
  SSL_CTX *ctx = build(c, host, &expiry);
  if (!ctx) {
    atomic_fetch_add_explicit(&c->ctr.failures, 1, memory_order_relaxed);
    /* An expiring (not yet expired) entry stays usable until a re-mint succeeds. */
    return n && (int64_t)now < n->aux ? n->val : NULL;
  }
  if (lru_put(&c->lru, host, ctx, (int64_t)expiry))
    atomic_fetch_add_explicit(&c->ctr.evictions, 1, memory_order_relaxed);
  atomic_store_explicit(&c->ctr.entries, fca_strmap_count(&c->lru.map), memory_order_relaxed);
  return ctx;
}

void fca_certcache_stats(const fca_certcache_t *c, fca_certcache_stats_t *out) {
  fca_certcache_t *m = (fca_certcache_t *)c; /* atomic loads take non-const pointers in C11 */
  out->hits = atomic_load_explicit(&m->ctr.hits, memory_order_relaxed);
  out->misses = atomic_load_explicit(&m->ctr.misses, memory_order_relaxed);
  out->evictions = atomic_load_explicit(&m->ctr.evictions, memory_order_relaxed);
  out->mints = atomic_load_explicit(&m->ctr.mints, memory_order_relaxed);
  out->renewals = atomic_load_explicit(&m->ctr.renewals, memory_order_relaxed);
  out->failures = atomic_load_explicit(&m->ctr.failures, memory_order_relaxed);
  out->entries = atomic_load_explicit(&m->ctr.entries, memory_order_relaxed);
  out->capacity = c->capacity;
}
