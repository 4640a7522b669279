/* x509util: the two certificate-building steps the CA and the minting code share. Private to
 * src/tls/. */
#ifndef FCA_TLS_X509UTIL_H
#define FCA_TLS_X509UTIL_H

#include <openssl/x509v3.h>

/* Adds an extension from its config-string form ("critical,CA:TRUE"). 0 or -1. */
int fca_x509_add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value);
/* A random positive 128-bit serial with a fixed DER length (top bit 0, next bit 1). 0 or -1. */
int fca_x509_random_serial(X509 *x);

#endif
