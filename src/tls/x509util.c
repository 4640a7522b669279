/* x509util: certificate-building steps shared by the CA (ca.c) and leaf minting (mint.c). */
#include "x509util.h"

#include <openssl/bn.h>
#include <openssl/rand.h>

int fca_x509_add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value) {
  X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
  if (!ext) return -1;
  int ok = X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
  return ok ? 0 : -1;
}

int fca_x509_random_serial(X509 *x) {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) return -1;
  b[0] = (unsigned char)((b[0] & 0x7f) | 0x40);
  BIGNUM *bn = BN_bin2bn(b, sizeof b, NULL);
  if (!bn) return -1;
  int ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
  BN_free(bn);
  return ok ? 0 : -1;
}
