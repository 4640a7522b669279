/* testca: a throwaway root CA and leaves for the test origins (see testca.h). Keys are P-256,
 * signatures SHA-256; serials random 128-bit, as real CAs do, so two runs never collide. */
#include "testca.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const fca_testca_default_names[] = {
    "localhost",     "127.0.0.1",         "::1",           "shop.test",
    "checkout.test", "embed.test",        "js.stripe.com", "api.stripe.com",
    "*.shop.test",   "connect.stripe.com"};
const size_t fca_testca_default_count =
    sizeof fca_testca_default_names / sizeof fca_testca_default_names[0];

static int fail(const char *what) {
  fprintf(stderr, "testca: %s\n", what);
  ERR_print_errors_fp(stderr);
  return -1;
}

static char *join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  if (!p) abort();
  snprintf(p, n, "%s/%s", dir, name);
  return p;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
  X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
  if (!ext) return -1;
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok ? 0 : -1;
}

static int random_serial(X509 *cert) {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) return -1;
  b[0] &= 0x7f; /* positive */
  BIGNUM *bn = BN_bin2bn(b, sizeof b, NULL);
  if (!bn) return -1;
  ASN1_INTEGER *ai = BN_to_ASN1_INTEGER(bn, NULL);
  BN_free(bn);
  if (!ai) return -1;
  int ok = X509_set_serialNumber(cert, ai);
  ASN1_INTEGER_free(ai);
  return ok ? 0 : -1;
}

/* The SAN value "DNS:a,IP:127.0.0.1,...". */
static char *san_value(const char *const *names, size_t n) {
  size_t cap = 16;
  for (size_t i = 0; i < n; i++) cap += strlen(names[i]) + 8;
  char *s = calloc(1, cap);
  if (!s) abort();
  for (size_t i = 0; i < n; i++) {
    unsigned char addr[16];
    bool ip = inet_pton(AF_INET, names[i], addr) == 1 || inet_pton(AF_INET6, names[i], addr) == 1;
    if (i) strcat(s, ",");
    strcat(s, ip ? "IP:" : "DNS:");
    strcat(s, names[i]);
  }
  return s;
}

/* A certificate for key, signed by issuer_key (self-signed when issuer is NULL). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                       const char *const *names, size_t n, int nb_days, int na_days) {
  X509 *x = X509_new();
  if (!x) return NULL;
  bool ok = X509_set_version(x, 2) && random_serial(x) == 0 &&
            X509_gmtime_adj(X509_getm_notBefore(x), (long)nb_days * 86400) &&
            X509_gmtime_adj(X509_getm_notAfter(x), (long)na_days * 86400) &&
            X509_set_pubkey(x, key);
  X509_NAME *subj = X509_get_subject_name(x);
  ok = ok && X509_NAME_add_entry_by_txt(subj, "O", MBSTRING_ASC,
                                        (const unsigned char *)"fcaudit tests", -1, -1, 0);
  ok = ok &&
       X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
  ok = ok && X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : subj);
  X509 *iss = issuer ? issuer : x;
  if (ok && !issuer) {
    ok = add_ext(x, iss, NID_basic_constraints, "critical,CA:TRUE") == 0 &&
         add_ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign") == 0 &&
         add_ext(x, iss, NID_subject_key_identifier, "hash") == 0;
  } else if (ok) {
    char *san = san_value(names, n);
    ok = add_ext(x, iss, NID_basic_constraints, "critical,CA:FALSE") == 0 &&
         add_ext(x, iss, NID_key_usage, "critical,digitalSignature") == 0 &&
         add_ext(x, iss, NID_ext_key_usage, "serverAuth") == 0 &&
         add_ext(x, iss, NID_subject_key_identifier, "hash") == 0 &&
         add_ext(x, iss, NID_authority_key_identifier, "keyid") == 0 &&
         add_ext(x, iss, NID_subject_alt_name, san) == 0;
    free(san);
  }
  ok = ok && X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0;
  if (!ok) {
    X509_free(x);
    return NULL;
  }
  return x;
}

static int write_pem(const char *dir, const char *name, X509 *cert, EVP_PKEY *key) {
  char *path = join(dir, name);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, key ? 0600 : 0644);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!f && fd >= 0) close(fd);
  int ok = f != NULL;
  if (ok) ok = cert ? PEM_write_X509(f, cert) : PEM_write_PrivateKey(f, key, NULL, NULL, 0, 0, 0);
  if (f && fclose(f) != 0) ok = 0;
  if (!ok) fprintf(stderr, "testca: cannot write %s\n", path);
  free(path);
  return ok ? 0 : -1;
}

static int write_pair(const char *dir, const char *stem, X509 *cert, EVP_PKEY *key) {
  char pem[256], k[256];
  snprintf(pem, sizeof pem, "%s.pem", stem);
  snprintf(k, sizeof k, "%s.key", stem);
  return write_pem(dir, pem, cert, NULL) == 0 && write_pem(dir, k, NULL, key) == 0 ? 0 : -1;
}

static int load_ca(const char *dir, X509 **cert, EVP_PKEY **key) {
  char *cp = join(dir, "ca.pem"), *kp = join(dir, "ca.key");
  FILE *cf = fopen(cp, "r"), *kf = fopen(kp, "r");
  *cert = cf ? PEM_read_X509(cf, NULL, NULL, NULL) : NULL;
  *key = kf ? PEM_read_PrivateKey(kf, NULL, NULL, NULL) : NULL;
  if (cf) fclose(cf);
  if (kf) fclose(kf);
  free(cp);
  free(kp);
  if (*cert && *key) return 0;
  X509_free(*cert);
  EVP_PKEY_free(*key);
  return fail("no CA in that directory (call fca_testca_make first)");
}

int fca_testca_make_leaf(const char *dir, const char *stem, const char *const *names, size_t n,
                         int not_before_days, int not_after_days) {
  X509 *ca;
  EVP_PKEY *ca_key;
  if (n == 0) return fail("a leaf needs at least one name");
  if (load_ca(dir, &ca, &ca_key) < 0) return -1;
  EVP_PKEY *key = EVP_EC_gen("P-256");
  X509 *leaf =
      key ? make_cert(key, names[0], ca, ca_key, names, n, not_before_days, not_after_days) : NULL;
  int rc = leaf ? write_pair(dir, stem, leaf, key) : fail("cannot make the leaf");
  X509_free(leaf);
  EVP_PKEY_free(key);
  X509_free(ca);
  EVP_PKEY_free(ca_key);
  return rc;
}

int fca_testca_make(const char *dir, const char *const *names, size_t n) {
  EVP_PKEY *key = EVP_EC_gen("P-256");
  X509 *ca = key ? make_cert(key, "fcaudit test origin CA", NULL, NULL, NULL, 0, -1, 30) : NULL;
  int rc = ca ? write_pair(dir, "ca", ca, key) : fail("cannot make the CA");
  X509_free(ca);
  EVP_PKEY_free(key);
  if (rc < 0) return -1;
  return fca_testca_make_leaf(dir, "leaf", names, n, -1, 30);
}

int fca_testca_make_expired(const char *dir, const char *const *names, size_t n) {
  return fca_testca_make_leaf(dir, "expired", names, n, -30, -1);
}

int fca_testca_make_wrong_name(const char *dir) {
  static const char *const wrong[] = {"wrong-name.test"};
  return fca_testca_make_leaf(dir, "wrong", wrong, 1, -1, 30);
}
