/* ca: fcaudit's local certificate authority — the one key every minted leaf chains to.
 * Lives in a directory as ca.pem (certificate) and ca.key (private key, mode 0600). A key that
 * group or others can read or write is refused at load: whoever reads it can impersonate every
 * site to every browser that trusts the CA. Immutable after load; safe to share across threads. */
#ifndef FCAUDIT_CA_H
#define FCAUDIT_CA_H

#include <openssl/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct fca_ca fca_ca_t;

#define FCA_CA_CERT_FILE "ca.pem"
#define FCA_CA_KEY_FILE "ca.key"
/* Buffer sizes, NUL included: "AB:CD:..." for SHA-256 / SHA-1, base64 of a SHA-256 digest. */
#define FCA_CA_FP_SHA256_LEN 96
#define FCA_CA_FP_SHA1_LEN 60
#define FCA_CA_SPKI_B64_LEN 45

/* The CA directory: `configured` when non-NULL, else $FCAUDIT_CA_DIR, else $HOME/.fcaudit.
 * Returns a malloc'd string, or NULL when none can be determined (no HOME). */
char *fca_ca_resolve_dir(const char *configured);

/* Loads the CA in dir. When there is none and `create` is set, makes one (key_type
 * "ecdsa-p256" (default when NULL) or "rsa2048"), creating dir with mode 0700 if missing, and
 * sets *created (when non-NULL). key_type does not apply to an existing CA. Returns NULL with a
 * one-line message in err on any failure (missing CA without `create`, unreadable or unsafe key
 * file, key not matching the certificate, ...). */
fca_ca_t *fca_ca_load_or_create(const char *dir, const char *key_type, bool create, bool *created,
                                char *err, size_t errlen);

/* Makes a new CA in dir. Fails if one exists unless `overwrite` is set (then it is replaced). */
fca_ca_t *fca_ca_create(const char *dir, const char *key_type, bool overwrite, char *err,
                        size_t errlen);

/* True when dir holds a CA certificate or key file. */
bool fca_ca_exists(const char *dir);

void fca_ca_free(fca_ca_t *ca);

/* Borrowed pointers, valid until fca_ca_free. */
X509 *fca_ca_cert(const fca_ca_t *ca);
EVP_PKEY *fca_ca_key(const fca_ca_t *ca);
/* "ecdsa-p256" or "rsa2048" (what fca_mint_leaf_key_new takes). */
const char *fca_ca_key_type(const fca_ca_t *ca);
bool fca_ca_is_rsa(const fca_ca_t *ca);
const char *fca_ca_dir(const fca_ca_t *ca);
const char *fca_ca_cert_path(const fca_ca_t *ca);
const char *fca_ca_key_path(const fca_ca_t *ca);

/* Base64 SHA-256 of the certificate's DER SubjectPublicKeyInfo: the value Chromium's
 * --ignore-certificate-errors-spki-list takes. out needs FCA_CA_SPKI_B64_LEN bytes. 0 / -1. */
int fca_ca_spki_b64(const fca_ca_t *ca, char *out, size_t n);
/* Certificate fingerprints as upper-case colon hex. 0 / -1 (buffer too small). */
int fca_ca_fingerprint_sha256(const fca_ca_t *ca, char *out, size_t n);
int fca_ca_fingerprint_sha1(const fca_ca_t *ca, char *out, size_t n);

/* Writes the certificate (never the key) as PEM or DER. 0 / -1. */
int fca_ca_write_pem(const fca_ca_t *ca, FILE *f);
int fca_ca_write_der(const fca_ca_t *ca, FILE *f);

/* Where the CA is and how to trust it (curl, Chromium SPKI flag, browsers, Node); dir NULL =
 * the CA's own directory (src/tls/ca_trust.c). */
void fca_ca_print_trust_help(FILE *f, const fca_ca_t *ca, const char *dir);

#endif
