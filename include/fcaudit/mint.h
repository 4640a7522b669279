/* mint: issues short-lived leaf certificates for intercepted hosts, signed by the fcaudit CA.
 * Every leaf of a process shares one key made at start (P-256, RSA-2048 under an RSA CA), so a
 * mint costs one CA signature and no key generation. Leaves carry a SAN always (DNS or IP),
 * EKU serverAuth, a random 128-bit serial, and a validity well under browsers' 200-day limit. */
#ifndef FCAUDIT_MINT_H
#define FCAUDIT_MINT_H

#include "fcaudit/ca.h"

#include <openssl/types.h>
#include <stdbool.h>
#include <stddef.h>

/* Total validity of a leaf, backdating included, and the backdating (clock skew allowance). */
#ifndef FCA_MINT_VALIDITY_SECS
#define FCA_MINT_VALIDITY_SECS (180L * 24 * 3600)
#endif
#ifndef FCA_MINT_BACKDATE_SECS
#define FCA_MINT_BACKDATE_SECS 3600L
#endif

/* The shared leaf key: "rsa2048" gives RSA-2048, anything else (NULL, "ecdsa-p256") P-256.
 * NULL on failure. */
EVP_PKEY *fca_mint_leaf_key_new(const char *key_type);

/* True when host is something fca_mint_leaf accepts: a DNS name (letters, digits, '-', '_',
 * '.', at most 253 bytes; never a wildcard) or an IPv4/IPv6 literal (IPv6 optionally in brackets).
 */
bool fca_mint_host_valid(const char *host);

/* Issues a leaf for host (DNS name, or IP literal: IP SAN then). The CN is the host as well
 * (when it fits in 64 bytes). Returns a new X509 the caller frees, or NULL (bad host, OpenSSL
 * failure). */
X509 *fca_mint_leaf(const fca_ca_t *ca, EVP_PKEY *leaf_key, const char *host);

#endif
