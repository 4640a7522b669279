/* mint: issues leaf certificates for intercepted hosts. The host comes from a client's SNI, so
 * it is validated here and placed into the SAN as a structured GENERAL_NAME (never through
 * OpenSSL's "DNS:..." config strings, where a comma would smuggle in another name). Every leaf
 * is backdated by FCA_MINT_BACKDATE_SECS for clock skew and valid FCA_MINT_VALIDITY_SECS in
 * total, well under the 200 days browsers accept. Cost (P-256, OpenSSL 3.0): ~380 us a leaf, of
 * which ~200 us is X509_set_pubkey's provider encode/decode round trip and ~30 us the signature. */
#include "fcaudit/mint.h"

#include "fcaudit/util.h"
#include "x509util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

EVP_PKEY *fca_mint_leaf_key_new(const char *key_type) {
  if (key_type && strcmp(key_type, "rsa2048") == 0) return EVP_RSA_gen(2048);
  return EVP_EC_gen("P-256");
}

/* Parses an IP literal ("1.2.3.4", "::1", "[::1]") into 4 or 16 bytes; returns the length or
 * 0 when host is not an IP literal. */
static int parse_ip(const char *host, unsigned char out[16]) {
  char buf[64];
  size_t n = strlen(host);
  if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
    if (n - 2 >= sizeof buf) return 0;
    memcpy(buf, host + 1, n - 2);
    buf[n - 2] = '\0';
    return inet_pton(AF_INET6, buf, out) == 1 ? 16 : 0;
  }
  if (inet_pton(AF_INET, host, out) == 1) return 4;
  if (inet_pton(AF_INET6, host, out) == 1) return 16;
  return 0;
}

static bool dns_name_valid(const char *host) {
  size_t n = strlen(host);
  if (n == 0 || n > 253 || host[0] == '.' || host[0] == '-') return false;
  size_t label = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)host[i];
    if (c == '.') {
      if (label == 0) return false; /* empty label */
      label = 0;
      continue;
    }
    if (!(isalnum(c) || c == '-' || c == '_')) return false; /* no wildcards */
    if (++label > 63) return false;
  }
  return true;
}

bool fca_mint_host_valid(const char *host) {
  unsigned char ip[16];
  return host && (parse_ip(host, ip) > 0 || dns_name_valid(host));
}

static int add_san(X509 *x, const char *dns, const unsigned char *ip, int iplen) {
  GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
  GENERAL_NAME *gn = GENERAL_NAME_new();
  ASN1_STRING *s = ASN1_STRING_type_new(ip ? V_ASN1_OCTET_STRING : V_ASN1_IA5STRING);
  int ok = 0;
  if (!names || !gn || !s) goto out;
  if (!ASN1_STRING_set(s, ip ? (const void *)ip : (const void *)dns, ip ? iplen : -1)) goto out;
  GENERAL_NAME_set0_value(gn, ip ? GEN_IPADD : GEN_DNS, s);
  s = NULL;
  if (!sk_GENERAL_NAME_push(names, gn)) goto out;
  gn = NULL;
  ok = X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) == 1;
out:
  ASN1_STRING_free(s);
  GENERAL_NAME_free(gn);
  GENERAL_NAMES_free(names);
  return ok ? 0 : -1;
}

X509 *fca_mint_leaf(const fca_ca_t *ca, EVP_PKEY *leaf_key, const char *host) {
  if (!ca || !leaf_key || !host) return NULL;
  unsigned char ip[16];
  int iplen = parse_ip(host, ip);
  char name[256];
  if (iplen == 0) {
    if (!dns_name_valid(host)) return NULL;
    size_t n = strlen(host);
    if (host[n - 1] == '.') n--; /* "example.com." names example.com */
    for (size_t i = 0; i < n; i++) name[i] = (char)tolower((unsigned char)host[i]);
    name[n] = '\0';
  } else {
    /* The canonical text form, without brackets, is the CN. */
    if (!inet_ntop(iplen == 4 ? AF_INET : AF_INET6, ip, name, sizeof name)) return NULL;
  }
  X509 *ca_cert = fca_ca_cert(ca);
  X509 *x = X509_new();
  if (!x) return NULL;
  X509_NAME *subj = X509_get_subject_name(x);
  X509V3_CTX ctx;
  bool rsa = EVP_PKEY_is_a(leaf_key, "RSA");
  if (!X509_set_version(x, X509_VERSION_3) || fca_x509_random_serial(x) != 0 ||
      (strlen(name) <= 64 && !X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC,
                                                         (const unsigned char *)name, -1, -1, 0)) ||
      !X509_set_issuer_name(x, X509_get_subject_name(ca_cert)) ||
      !X509_gmtime_adj(X509_getm_notBefore(x), -FCA_MINT_BACKDATE_SECS) ||
      !X509_gmtime_adj(X509_getm_notAfter(x), FCA_MINT_VALIDITY_SECS - FCA_MINT_BACKDATE_SECS) ||
      !X509_set_pubkey(x, leaf_key))
    goto fail;
  X509V3_set_ctx(&ctx, ca_cert, x, NULL, NULL, 0);
  if (fca_x509_add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
      fca_x509_add_ext(x, &ctx, NID_key_usage,
                       rsa ? "critical,digitalSignature,keyEncipherment"
                           : "critical,digitalSignature") != 0 ||
      fca_x509_add_ext(x, &ctx, NID_ext_key_usage, "serverAuth") != 0 ||
      fca_x509_add_ext(x, &ctx, NID_subject_key_identifier, "hash") != 0 ||
      fca_x509_add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always") != 0 ||
      add_san(x, name, iplen ? ip : NULL, iplen) != 0)
    goto fail;
  if (X509_sign(x, fca_ca_key(ca), EVP_sha256()) <= 0) goto fail;
  return x;
fail:
  X509_free(x);
  return NULL;
}
