/* certcache: a worker's bounded LRU map from host name to a ready client-facing SSL_CTX (minted
 * leaf + CA in the chain + the shared leaf key). Hosts compare case-insensitively; an entry is
 * re-minted when it comes within FCA_CERTCACHE_RENEW_SECS of its notAfter.
 * NOT thread-safe, by design: each worker owns one (shared caches would contend on locks in
 * every handshake, and a host minted once per worker costs well under a millisecond). */
#ifndef FCA_TLS_CERTCACHE_H
#define FCA_TLS_CERTCACHE_H

#include "fcaudit/ca.h"
#include "fcaudit/tlsctx.h" /* fca_certcache_stats_t */

#include <openssl/types.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Re-mint an entry this long before its certificate expires. */
#ifndef FCA_CERTCACHE_RENEW_SECS
#define FCA_CERTCACHE_RENEW_SECS (7L * 24 * 3600)
#endif

typedef struct fca_certcache fca_certcache_t;

/* A server SSL_CTX with fcaudit's client-facing settings and no certificate: TLS 1.2–1.3,
 * ALPN selecting "http/1.1" (and "h2" where offered), SSL_OP_IGNORE_UNEXPECTED_EOF, one TLS 1.3
 * ticket, no SSL_MODE_RELEASE_BUFFERS. Used for every minted host and for the proxy's base context.
 */
SSL_CTX *fca_certcache_server_ctx_new(void);
/* Lets ALPN select "h2" on this connection when the client prefers it. */
void fca_certcache_offer_h2(SSL *ssl);

/* ca and leaf_key are borrowed and must outlive the cache. capacity 0 is taken as 1. */
fca_certcache_t *fca_certcache_new(const fca_ca_t *ca, EVP_PKEY *leaf_key, size_t capacity);
void fca_certcache_free(fca_certcache_t *c);

/* The context for host (a DNS name or IP literal), minting it on a miss. Borrowed: valid until
 * the entry is evicted or re-minted, so take a reference (SSL_set_SSL_CTX, SSL_new or
 * SSL_CTX_up_ref) before the next call. NULL when host is invalid or minting fails. */
SSL_CTX *fca_certcache_get(fca_certcache_t *c, const char *host);

void fca_certcache_stats(const fca_certcache_t *c, fca_certcache_stats_t *out);

/* Test hook: the clock used for expiry decisions (default time(NULL)). */
void fca_certcache_set_clock(fca_certcache_t *c, time_t (*now)(void *arg), void *arg);

#endif
