/* Unit tests for mint: leaves verify against a store holding only the CA (DNS names, IPv4 and
 * IPv6 literals, with host/IP checks), validity window, extensions, serials, host validation. */
#include "fcaudit/mint.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static char tmpdir[64];
static fca_ca_t *ca;
static EVP_PKEY *leaf_key;

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  return remove(p);
}

static void make_ca(const char *type) {
  char err[512] = "";
  ca = fca_ca_create(tmpdir, type, false, err, sizeof err);
  cr_assert_not_null(ca, "%s", err);
  leaf_key = fca_mint_leaf_key_new(fca_ca_key_type(ca));
  cr_assert_not_null(leaf_key);
}

static void setup(void) {
  strcpy(tmpdir, "/tmp/fca-test-mint-XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
  make_ca(NULL);
}

static void teardown(void) {
  fca_ca_free(ca);
  EVP_PKEY_free(leaf_key);
  nftw(tmpdir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(mint, .init = setup, .fini = teardown);

/* X509_verify_cert against a store holding only the CA, as a TLS server cert for name (a host
 * name, or an IP literal when ip is set). Returns the verify error (X509_V_OK on success). */
static int verify_leaf(X509 *leaf, const char *name, bool ip) {
  X509_STORE *store = X509_STORE_new();
  cr_assert_eq(X509_STORE_add_cert(store, fca_ca_cert(ca)), 1);
  X509_STORE_CTX *ctx = X509_STORE_CTX_new();
  cr_assert_eq(X509_STORE_CTX_init(ctx, store, leaf, NULL), 1);
  X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
  cr_assert_eq(X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER), 1);
  if (ip)
    cr_assert_eq(X509_VERIFY_PARAM_set1_ip_asc(param, name), 1);
  else
    cr_assert_eq(X509_VERIFY_PARAM_set1_host(param, name, 0), 1);
  int ok = X509_verify_cert(ctx);
  int e = X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return ok == 1 ? X509_V_OK : (e ? e : -1);
}

static GENERAL_NAMES *sans(X509 *x) {
  GENERAL_NAMES *g = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
  cr_assert_not_null(g, "SAN present");
  return g;
}

static void check_cn(X509 *x, const char *want) {
  char cn[256];
  cr_assert_gt(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn),
               0);
  cr_assert_str_eq(cn, want);
}

Test(mint, dns_name_verifies) {
  X509 *x = fca_mint_leaf(ca, leaf_key, "Shop.Test");
  cr_assert_not_null(x);
  cr_assert_eq(verify_leaf(x, "shop.test", false), X509_V_OK);
  cr_assert_eq(verify_leaf(x, "other.test", false), X509_V_ERR_HOSTNAME_MISMATCH);
  GENERAL_NAMES *g = sans(x);
  cr_assert_eq(sk_GENERAL_NAME_num(g), 1);
  GENERAL_NAME *gn = sk_GENERAL_NAME_value(g, 0);
  cr_assert_eq(gn->type, GEN_DNS);
  cr_assert_eq(ASN1_STRING_length(gn->d.dNSName), 9);
  cr_assert(memcmp(ASN1_STRING_get0_data(gn->d.dNSName), "shop.test", 9) == 0);
  GENERAL_NAMES_free(g);
  check_cn(x, "shop.test");
  X509_free(x);
}

Test(mint, trailing_dot_dropped) {
  X509 *x = fca_mint_leaf(ca, leaf_key, "shop.test.");
  cr_assert_not_null(x);
  check_cn(x, "shop.test");
  cr_assert_eq(verify_leaf(x, "shop.test", false), X509_V_OK);
  X509_free(x);
}

static void check_ip(const char *host, const char *asc, const unsigned char *bytes, int len,
                     const char *cn) {
  X509 *x = fca_mint_leaf(ca, leaf_key, host);
  cr_assert_not_null(x, "%s", host);
  cr_assert_eq(verify_leaf(x, asc, true), X509_V_OK, "%s", host);
  cr_assert_eq(verify_leaf(x, len == 4 ? "127.0.0.2" : "::2", true),
               X509_V_ERR_IP_ADDRESS_MISMATCH);
  GENERAL_NAMES *g = sans(x);
  cr_assert_eq(sk_GENERAL_NAME_num(g), 1);
  GENERAL_NAME *gn = sk_GENERAL_NAME_value(g, 0);
  cr_assert_eq(gn->type, GEN_IPADD);
  cr_assert_eq(ASN1_STRING_length(gn->d.iPAddress), len);
  cr_assert(memcmp(ASN1_STRING_get0_data(gn->d.iPAddress), bytes, (size_t)len) == 0);
  GENERAL_NAMES_free(g);
  check_cn(x, cn);
  X509_free(x);
}

Test(mint, ipv4_literal_verifies) {
  static const unsigned char b[4] = {127, 0, 0, 1};
  check_ip("127.0.0.1", "127.0.0.1", b, 4, "127.0.0.1");
}

Test(mint, ipv6_literal_verifies) {
  static const unsigned char lo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  check_ip("::1", "::1", lo, 16, "::1");
  static const unsigned char doc[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  check_ip("[2001:DB8::1]", "2001:db8::1", doc, 16, "2001:db8::1");
}

Test(mint, validity_window) {
  time_t before = time(NULL);
  X509 *x = fca_mint_leaf(ca, leaf_key, "shop.test");
  cr_assert_not_null(x);
  /* notBefore is in the past, about one hour back. */
  cr_assert_lt(X509_cmp_time(X509_get0_notBefore(x), &before), 0);
  time_t t = before - FCA_MINT_BACKDATE_SECS - 5;
  cr_assert_gt(X509_cmp_time(X509_get0_notBefore(x), &t), 0);
  /* Total validity, backdating included, is 180 days: under the 200-day browser limit. */
  int days = 0, secs = 0;
  cr_assert(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)));
  long total = (long)days * 86400 + secs;
  cr_assert_eq(total, FCA_MINT_VALIDITY_SECS);
  cr_assert_lt(total, 200L * 86400);
  cr_assert_eq(X509_cmp_current_time(X509_get0_notAfter(x)), 1);
  X509_free(x);
}

static void check_usage(X509 *x, bool rsa) {
  cr_assert_eq(X509_check_ca(x), 0, "not a CA");
  uint32_t xku = X509_get_extended_key_usage(x);
  cr_assert(xku & XKU_SSL_SERVER);
  cr_assert_eq(xku & ~(uint32_t)XKU_SSL_SERVER, 0u, "serverAuth only");
  uint32_t ku = X509_get_key_usage(x);
  uint32_t want = rsa ? (KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT) : KU_DIGITAL_SIGNATURE;
  cr_assert_eq(ku, want, "keyUsage %x", ku);
  /* AKI is the CA's SKI; the leaf has its own SKI. */
  const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(x);
  cr_assert_not_null(aki);
  cr_assert_eq(ASN1_OCTET_STRING_cmp(aki, X509_get0_subject_key_id(fca_ca_cert(ca))), 0);
  cr_assert_not_null(X509_get0_subject_key_id(x));
  cr_assert_eq(X509_get_signature_nid(x),
               rsa ? NID_sha256WithRSAEncryption : NID_ecdsa_with_SHA256);
  EVP_PKEY *pub = X509_get0_pubkey(x);
  cr_assert_eq(EVP_PKEY_eq(pub, leaf_key), 1, "the shared leaf key");
}

Test(mint, extensions_ec) {
  X509 *x = fca_mint_leaf(ca, leaf_key, "shop.test");
  cr_assert_not_null(x);
  cr_assert(EVP_PKEY_is_a(leaf_key, "EC"));
  check_usage(x, false);
  X509_free(x);
}

Test(mint, extensions_rsa) {
  fca_ca_free(ca);
  EVP_PKEY_free(leaf_key);
  char sub[128];
  snprintf(sub, sizeof sub, "%s/rsa", tmpdir);
  char err[512] = "";
  ca = fca_ca_create(sub, "rsa2048", false, err, sizeof err);
  cr_assert_not_null(ca, "%s", err);
  leaf_key = fca_mint_leaf_key_new(fca_ca_key_type(ca));
  cr_assert(EVP_PKEY_is_a(leaf_key, "RSA"));
  cr_assert_eq(EVP_PKEY_get_bits(leaf_key), 2048);
  X509 *x = fca_mint_leaf(ca, leaf_key, "shop.test");
  cr_assert_not_null(x);
  check_usage(x, true);
  cr_assert_eq(verify_leaf(x, "shop.test", false), X509_V_OK);
  X509_free(x);
}

Test(mint, serial_random_128_bit) {
  X509 *a = fca_mint_leaf(ca, leaf_key, "shop.test");
  X509 *b = fca_mint_leaf(ca, leaf_key, "shop.test");
  cr_assert(a && b);
  const ASN1_INTEGER *sa = X509_get0_serialNumber(a), *sb = X509_get0_serialNumber(b);
  cr_assert_eq(ASN1_STRING_type(sa), V_ASN1_INTEGER, "positive");
  cr_assert_eq(ASN1_STRING_length(sa), 16);
  cr_assert_eq(ASN1_STRING_length(sb), 16);
  cr_assert_neq(ASN1_INTEGER_cmp(sa, sb), 0, "two mints differ");
  X509_free(a);
  X509_free(b);
}

Test(mint, long_name_has_san_but_no_cn) {
  char host[200];
  memset(host, 'a', 70);
  strcpy(host + 70, ".test");
  X509 *x = fca_mint_leaf(ca, leaf_key, "a.b");
  cr_assert_not_null(x);
  X509_free(x);
  /* a label of 70 bytes is invalid; several 60-byte labels are fine */
  cr_assert_null(fca_mint_leaf(ca, leaf_key, host));
  memset(host, 'a', 60);
  host[60] = '.';
  memset(host + 61, 'b', 60);
  strcpy(host + 121, ".test");
  x = fca_mint_leaf(ca, leaf_key, host);
  cr_assert_not_null(x);
  cr_assert_eq(X509_NAME_entry_count(X509_get_subject_name(x)), 0);
  cr_assert_eq(verify_leaf(x, host, false), X509_V_OK);
  X509_free(x);
}

Test(mint, rejects_bad_hosts) {
  const char *bad[] = {
      "",          "a..b",    ".a.test", "bad host.test", "*.shop.test", "a,DNS:evil.test",
      "x\ny.test", "-a.test", "[::1",    "[1.2.3.4]",     "a/b.test",    "a:443"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cr_assert_not(fca_mint_host_valid(bad[i]), "%s", bad[i]);
    cr_assert_null(fca_mint_leaf(ca, leaf_key, bad[i]), "%s", bad[i]);
  }
  char big[300];
  memset(big, 'a', sizeof big);
  for (int i = 50; i < 299; i += 50) big[i] = '.';
  big[254] = '\0';
  cr_assert_not(fca_mint_host_valid(big), "254 bytes");
  big[253] = '\0';
  cr_assert(fca_mint_host_valid(big), "253 bytes");
  cr_assert_null(fca_mint_leaf(ca, leaf_key, NULL));
  cr_assert_null(fca_mint_leaf(NULL, leaf_key, "a.test"));
  const char *good[] = {"localhost", "a_b.test", "xn--bcher-kva.test",
                        "1.2.3.4",   "::1",      "[fe80::1]"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    cr_assert(fca_mint_host_valid(good[i]), "%s", good[i]);
}
