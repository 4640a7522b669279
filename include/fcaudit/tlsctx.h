/* tlsctx: the TLS contexts the proxy uses, one set per worker (not thread-safe, by design).
 * Server side (facing the browser): one base SSL_CTX whose client-hello callback picks the host
 * (SNI, else the CONNECT host) and switches the connection to that host's cached, minted
 * context. Upstream side (facing origins): one verifying client SSL_CTX whose trust store is
 * loaded once, plus a small per-worker table of the last session per host:port for resumption.
 * Free a server/client only after every SSL made from it has been freed. */
#ifndef FCAUDIT_TLSCTX_H
#define FCAUDIT_TLSCTX_H

#include "fcaudit/ca.h"

#include <openssl/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Number of host:port sessions each upstream context keeps for resumption. */
/* The minted-certificate cache behind a server context (src/tls/certcache.h), in figures. */
typedef struct {
  uint64_t hits;      /* lookups served from the cache */
  uint64_t misses;    /* lookups that had to mint (absent or expiring) */
  uint64_t evictions; /* entries dropped to stay within capacity */
  uint64_t mints;     /* leaves minted (successful) */
  uint64_t renewals;  /* misses caused by an entry close to expiry */
  uint64_t failures;  /* mints or context builds that failed */
  size_t entries;     /* current number of entries */
  size_t capacity;
} fca_certcache_stats_t;

#ifndef FCA_TLS_CLIENT_SESSIONS
#define FCA_TLS_CLIENT_SESSIONS 256
#endif

/* ---- client-facing (server) side ---- */

typedef struct fca_tls_server fca_tls_server_t;

/* ca and leaf_key are borrowed and must outlive the server. cache_size: --cert-cache-size. */
fca_tls_server_t *fca_tls_server_new(const fca_ca_t *ca, EVP_PKEY *leaf_key, size_t cache_size);
void fca_tls_server_free(fca_tls_server_t *s);
/* ALPN offers "h2" besides "http/1.1" on connections made from now on (off by default). */
void fca_tls_server_set_http2(fca_tls_server_t *s, bool on);

/* A new SSL in accept state. connect_host (the CONNECT request's host, may be NULL) names the
 * certificate when the client sends no SNI. The host's context is chosen during the handshake;
 * a malformed SNI fails it with decode_error, an unusable name with unrecognized_name. */
SSL *fca_tls_server_ssl_new(fca_tls_server_t *s, const char *connect_host);

/* The name the certificate was minted for (lower case; SNI or the CONNECT host), or before the
 * ClientHello was processed the CONNECT host; NULL for an SSL not made here. */
const char *fca_tls_server_host(const SSL *ssl);
/* The CONNECT host given to fca_tls_server_ssl_new. */
const char *fca_tls_server_connect_host(const SSL *ssl);
/* True when the client sent SNI (valid after the ClientHello). */
bool fca_tls_server_had_sni(const SSL *ssl);

void fca_tls_server_stats(const fca_tls_server_t *s, fca_certcache_stats_t *out);

/* Finds the host_name in a server_name extension body (RFC 6066 section 3), bounds-checked:
 * 1 found (copied into out lower-cased, one trailing dot dropped), 0 no host_name entry,
 * -1 malformed (bad lengths, empty or NUL-containing name, name not fitting outlen). */
int fca_tls_parse_sni(const unsigned char *p, size_t len, char *out, size_t outlen);

/* ---- upstream (client) side ---- */

typedef struct fca_tls_client fca_tls_client_t;

typedef struct {
  uint64_t sessions_stored;  /* sessions received from origins and kept */
  uint64_t sessions_offered; /* connections that offered a stored session */
  size_t sessions;           /* current number of stored sessions */
} fca_tls_client_stats_t;

/* Trust: the system default paths plus each extra PEM file (a CA bundle or a single cert;
 * intermediates in them are trust anchors too). insecure: no verification failure stops a
 * handshake (the verify result is still computed). NULL with err set when a file fails. */
fca_tls_client_t *fca_tls_client_new(const char *const *extra_ca_files, size_t n, bool insecure,
                                     char *err, size_t errlen);
/* Another worker's context with the same trust store (loaded once, shared, thread-safe). */
fca_tls_client_t *fca_tls_client_new_sharing(const fca_tls_client_t *other, bool insecure,
                                             char *err, size_t errlen);
void fca_tls_client_free(fca_tls_client_t *c);

/* A new SSL in connect state for host (DNS name or IP literal, IPv6 with or without brackets)
 * and port: SNI for names (never for IP literals), name or IP checked against the certificate,
 * ALPN "http/1.1", and the last session for host:port offered for resumption. NULL on failure. */
SSL *fca_tls_client_ssl_new(fca_tls_client_t *c, const char *host, int port);

void fca_tls_client_stats(const fca_tls_client_t *c, fca_tls_client_stats_t *out);

/* Short words for an X509 verify result (SSL_get_verify_result): "certificate has expired",
 * "certificate is not yet valid", "host name does not match the certificate", "unknown issuer
 * (not trusted)", "self-signed certificate", else OpenSSL's own string. */
const char *fca_tls_verify_reason(long verify_result);

/* Drains the calling thread's OpenSSL error queue into buf as "lib: reason; lib: reason"
 * (truncated to n), or "no OpenSSL error detail" when it is empty. */
void fca_tls_errstr(char *buf, size_t n);

#endif
