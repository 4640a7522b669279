/* ca_trust: the "where is the CA and how do I trust it" text, printed by `fcaudit ca init` and
 * by the proxy when it first creates a CA. */
#include "fcaudit/ca.h"

#include <stdio.h>

void fca_ca_print_trust_help(FILE *f, const fca_ca_t *ca, const char *dir) {
  char spki[FCA_CA_SPKI_B64_LEN] = "?", fp[FCA_CA_FP_SHA256_LEN] = "?";
  fca_ca_spki_b64(ca, spki, sizeof spki);
  fca_ca_fingerprint_sha256(ca, fp, sizeof fp);
  const char *pem = fca_ca_cert_path(ca);
  fprintf(f,
          "fcaudit CA certificate: %s\n"
          "  private key:          %s (mode 0600; keep it private)\n"
          "  SHA-256 fingerprint:  %s\n"
          "To trust it:\n"
          "  curl:      curl --cacert %s --proxy http://HOST:PORT https://...\n"
          "  Chromium:  --ignore-certificate-errors-spki-list=%s\n"
          "             (honoured only together with --user-data-dir)\n"
          "  Node.js:   NODE_EXTRA_CA_CERTS=%s\n"
          "  Browsers:  import %s as a certificate authority trusted for websites\n"
          "  (`fcaudit ca show` prints these details again; the directory is %s)\n",
          pem, fca_ca_key_path(ca), fp, pem, spki, pem, pem, dir ? dir : fca_ca_dir(ca));
}
