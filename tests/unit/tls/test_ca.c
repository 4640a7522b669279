/* Unit tests for ca: creation properties for both key types, file modes, reload, refusal of an
 * unsafe key file, fingerprints, SPKI hash and export. */
#include "fcaudit/ca.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[64];
static char cadir[128];

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  return remove(p);
}

static void setup(void) {
  strcpy(tmpdir, "/tmp/fca-test-ca-XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
  snprintf(cadir, sizeof cadir, "%s/sub/ca", tmpdir); /* nested, not existing yet */
}

static void teardown(void) { nftw(tmpdir, rm_cb, 8, FTW_DEPTH | FTW_PHYS); }

TestSuite(ca, .init = setup, .fini = teardown);

static void check_ca_properties(const fca_ca_t *ca, bool rsa) {
  X509 *x = fca_ca_cert(ca);
  cr_assert_not_null(x);
  cr_assert_eq(X509_get_version(x), X509_VERSION_3);
  /* basicConstraints: critical, CA:TRUE, pathlen 0 */
  int pos = X509_get_ext_by_NID(x, NID_basic_constraints, -1);
  cr_assert_geq(pos, 0);
  cr_assert_eq(X509_EXTENSION_get_critical(X509_get_ext(x, pos)), 1);
  BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
  cr_assert_not_null(bc);
  cr_assert(bc->ca);
  cr_assert_not_null(bc->pathlen);
  cr_assert_eq(ASN1_INTEGER_get(bc->pathlen), 0);
  BASIC_CONSTRAINTS_free(bc);
  /* keyUsage: critical, exactly keyCertSign + cRLSign */
  pos = X509_get_ext_by_NID(x, NID_key_usage, -1);
  cr_assert_geq(pos, 0);
  cr_assert_eq(X509_EXTENSION_get_critical(X509_get_ext(x, pos)), 1);
  cr_assert_eq(X509_get_key_usage(x), (uint32_t)(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  cr_assert_not_null(X509_get0_subject_key_id(x));
  cr_assert_eq(X509_check_ca(x), 1);
  cr_assert_eq(X509_self_signed(x, 1), 1, "self-signature verifies");
  cr_assert_eq(X509_get_signature_nid(x),
               rsa ? NID_sha256WithRSAEncryption : NID_ecdsa_with_SHA256);
  /* subject: unique CN and O=fcaudit */
  char cn[128], o[64];
  cr_assert_gt(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn),
               0);
  cr_assert(strncmp(cn, "fcaudit CA ", 11) == 0, "CN %s", cn);
  cr_assert_gt(
      X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_organizationName, o, sizeof o), 0);
  cr_assert_str_eq(o, "fcaudit");
  /* 128-bit positive serial */
  const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
  cr_assert_eq(ASN1_STRING_length(serial), 16);
  cr_assert_eq(ASN1_STRING_type(serial), V_ASN1_INTEGER);
  /* about ten years, started in the past */
  int days = 0, secs = 0;
  cr_assert(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)));
  cr_assert(days >= 3649 && days <= 3651, "days %d", days);
  cr_assert_lt(X509_cmp_current_time(X509_get0_notBefore(x)), 0);
  /* key type */
  EVP_PKEY *k = fca_ca_key(ca);
  if (rsa) {
    cr_assert(EVP_PKEY_is_a(k, "RSA"));
    cr_assert_eq(EVP_PKEY_get_bits(k), 2048);
    cr_assert_str_eq(fca_ca_key_type(ca), "rsa2048");
  } else {
    cr_assert(EVP_PKEY_is_a(k, "EC"));
    char group[32];
    cr_assert(EVP_PKEY_get_group_name(k, group, sizeof group, NULL));
    cr_assert_str_eq(group, "prime256v1");
    cr_assert_str_eq(fca_ca_key_type(ca), "ecdsa-p256");
  }
  cr_assert_eq(fca_ca_is_rsa(ca), rsa);
  cr_assert_eq(X509_check_private_key(x, k), 1);
}

static void check_modes(void) {
  struct stat st;
  char p[256];
  snprintf(p, sizeof p, "%s/ca.key", cadir);
  cr_assert_eq(stat(p, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0600, "key mode %o", st.st_mode & 0777);
  cr_assert_eq(stat(cadir, &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0700, "dir mode %o", st.st_mode & 0777);
  snprintf(p, sizeof p, "%s/ca.pem", cadir);
  cr_assert_eq(stat(p, &st), 0);
  snprintf(p, sizeof p, "%s/ca.key.new", cadir);
  cr_assert_neq(access(p, F_OK), 0, "no temporary left behind");
}

Test(ca, create_ecdsa) {
  char err[512] = "";
  bool created = false;
  fca_ca_t *ca = fca_ca_load_or_create(cadir, NULL, true, &created, err, sizeof err);
  cr_assert_not_null(ca, "%s", err);
  cr_assert(created);
  check_ca_properties(ca, false);
  check_modes();
  cr_assert_str_eq(fca_ca_dir(ca), cadir);
  char expect[256];
  snprintf(expect, sizeof expect, "%s/ca.pem", cadir);
  cr_assert_str_eq(fca_ca_cert_path(ca), expect);
  fca_ca_free(ca);
}

Test(ca, create_rsa) {
  char err[512] = "";
  bool created = false;
  fca_ca_t *ca = fca_ca_load_or_create(cadir, "rsa2048", true, &created, err, sizeof err);
  cr_assert_not_null(ca, "%s", err);
  cr_assert(created);
  check_ca_properties(ca, true);
  check_modes();
  fca_ca_free(ca);
  /* Reloaded, it is still RSA whatever key type is asked for. */
  ca = fca_ca_load_or_create(cadir, "ecdsa-p256", true, &created, err, sizeof err);
  cr_assert_not_null(ca, "%s", err);
  cr_assert_not(created);
  check_ca_properties(ca, true);
  fca_ca_free(ca);
}

Test(ca, reload_same_fingerprint) {
  char err[512] = "", fp1[FCA_CA_FP_SHA256_LEN], fp2[FCA_CA_FP_SHA256_LEN];
  char s1[FCA_CA_FP_SHA1_LEN], s2[FCA_CA_FP_SHA1_LEN];
  bool created = false;
  fca_ca_t *ca = fca_ca_load_or_create(cadir, NULL, true, &created, err, sizeof err);
  cr_assert_not_null(ca, "%s", err);
  cr_assert_eq(fca_ca_fingerprint_sha256(ca, fp1, sizeof fp1), 0);
  cr_assert_eq(fca_ca_fingerprint_sha1(ca, s1, sizeof s1), 0);
  fca_ca_free(ca);
  ca = fca_ca_load_or_create(cadir, NULL, false, &created, err, sizeof err);
  cr_assert_not_null(ca, "%s", err);
  cr_assert_not(created);
  cr_assert_eq(fca_ca_fingerprint_sha256(ca, fp2, sizeof fp2), 0);
  cr_assert_eq(fca_ca_fingerprint_sha1(ca, s2, sizeof s2), 0);
  cr_assert_str_eq(fp1, fp2);
  cr_assert_str_eq(s1, s2);
  cr_assert_eq(strlen(fp1), 95u);
  cr_assert_eq(strlen(s1), 59u);
  /* Same value as X509_digest, formatted as colon hex. */
  unsigned char d[32];
  unsigned int len = 0;
  cr_assert(X509_digest(fca_ca_cert(ca), EVP_sha256(), d, &len));
  char hex[4];
  for (unsigned i = 0; i < len; i++) {
    snprintf(hex, sizeof hex, "%02X", d[i]);
    cr_assert(strncmp(fp1 + 3 * i, hex, 2) == 0);
    if (i + 1 < len) cr_assert_eq(fp1[3 * i + 2], ':');
  }
  cr_assert_eq(fca_ca_fingerprint_sha256(ca, fp2, 50), -1, "small buffer refused");
  fca_ca_free(ca);
}

Test(ca, refuses_group_readable_key) {
  char err[512] = "";
  fca_ca_t *ca = fca_ca_load_or_create(cadir, NULL, true, NULL, err, sizeof err);
  cr_assert_not_null(ca, "%s", err);
  fca_ca_free(ca);
  char key[256];
  snprintf(key, sizeof key, "%s/ca.key", cadir);
  cr_assert_eq(chmod(key, 0644), 0);
  ca = fca_ca_load_or_create(cadir, NULL, true, NULL, err, sizeof err);
  cr_assert_null(ca);
  cr_assert(strstr(err, "permissions") != NULL, "%s", err);
  cr_assert(strstr(err, "0644") != NULL, "%s", err);
  cr_assert(strstr(err, "chmod 600") != NULL, "%s", err);
  cr_assert(strstr(err, key) != NULL, "%s", err);
  cr_assert_eq(chmod(key, 0660), 0);
  cr_assert_null(fca_ca_load_or_create(cadir, NULL, false, NULL, err, sizeof err));
  cr_assert_eq(chmod(key, 0600), 0);
  ca = fca_ca_load_or_create(cadir, NULL, false, NULL, err, sizeof err);
  cr_assert_not_null(ca, "%s", err);
  fca_ca_free(ca);
}

Test(ca, refuses_world_writable_directory) {
  char err[512] = "";
  fca_ca_t *ca = fca_ca_load_or_create(cadir, NULL, true, NULL, err, sizeof err);
  cr_assert_not_null(ca, "%s", err);
  fca_ca_free(ca);
  cr_assert_eq(chmod(cadir, 0777), 0);
  ca = fca_ca_load_or_create(cadir, NULL, true, NULL, err, sizeof err);
  cr_assert_null(ca, "a world-writable CA directory is used");
  cr_assert(strstr(err, "writable by others") != NULL, "%s", err);
  cr_assert(strstr(err, "chmod 700") != NULL, "%s", err);
  /* Before a CA exists too: nothing is created there. */
  char sub[300];
  snprintf(sub, sizeof sub, "%s/open", cadir);
  cr_assert_eq(mkdir(sub, 0700), 0);
  cr_assert_eq(chmod(sub, 01777), 0);
  cr_assert_null(fca_ca_load_or_create(sub, NULL, true, NULL, err, sizeof err));
  cr_assert_null(fca_ca_create(sub, NULL, false, err, sizeof err));
  cr_assert_eq(chmod(cadir, 0700), 0);
}

Test(ca, missing_without_create) {
  char err[512] = "";
  cr_assert_null(fca_ca_load_or_create(cadir, NULL, false, NULL, err, sizeof err));
  cr_assert(strstr(err, "ca init") != NULL, "%s", err);
  cr_assert_not(fca_ca_exists(cadir));
  cr_assert_null(fca_ca_load_or_create(NULL, NULL, true, NULL, err, sizeof err));
}

Test(ca, bad_key_type) {
  char err[512] = "";
  cr_assert_null(fca_ca_load_or_create(cadir, "dsa", true, NULL, err, sizeof err));
  cr_assert(strstr(err, "dsa") != NULL, "%s", err);
  cr_assert_not(fca_ca_exists(cadir));
}

Test(ca, create_refuses_existing_unless_overwrite) {
  char err[512] = "", fp1[FCA_CA_FP_SHA256_LEN], fp2[FCA_CA_FP_SHA256_LEN];
  fca_ca_t *ca = fca_ca_create(cadir, NULL, false, err, sizeof err);
  cr_assert_not_null(ca, "%s", err);
  fca_ca_fingerprint_sha256(ca, fp1, sizeof fp1);
  fca_ca_free(ca);
  cr_assert_null(fca_ca_create(cadir, NULL, false, err, sizeof err));
  cr_assert(strstr(err, "already exists") != NULL, "%s", err);
  ca = fca_ca_create(cadir, NULL, true, err, sizeof err);
  cr_assert_not_null(ca, "%s", err);
  fca_ca_free(ca);
  ca = fca_ca_load_or_create(cadir, NULL, false, NULL, err, sizeof err);
  cr_assert_not_null(ca, "%s", err);
  fca_ca_fingerprint_sha256(ca, fp2, sizeof fp2);
  cr_assert_str_neq(fp1, fp2);
  check_modes();
  fca_ca_free(ca);
}

Test(ca, key_not_matching_cert) {
  char err[512] = "", other[192];
  snprintf(other, sizeof other, "%s/other", tmpdir);
  fca_ca_t *a = fca_ca_create(cadir, NULL, false, err, sizeof err);
  fca_ca_t *b = fca_ca_create(other, NULL, false, err, sizeof err);
  cr_assert(a && b);
  FILE *f = fopen(fca_ca_cert_path(a), "w");
  cr_assert_not_null(f);
  cr_assert_eq(fca_ca_write_pem(b, f), 0);
  fclose(f);
  fca_ca_free(a);
  fca_ca_free(b);
  cr_assert_null(fca_ca_load_or_create(cadir, NULL, true, NULL, err, sizeof err));
  cr_assert(strstr(err, "does not belong") != NULL, "%s", err);
}

Test(ca, spki_matches_second_computation) {
  char err[512] = "", spki[FCA_CA_SPKI_B64_LEN];
  fca_ca_t *ca = fca_ca_create(cadir, NULL, false, err, sizeof err);
  cr_assert_not_null(ca, "%s", err);
  cr_assert_eq(fca_ca_spki_b64(ca, spki, sizeof spki), 0);
  cr_assert_eq(strlen(spki), 44u);
  /* Second way: i2d_PUBKEY of the private key's public half, SHA-256, base64 through a BIO. */
  unsigned char *der = NULL;
  int len = i2d_PUBKEY(fca_ca_key(ca), &der);
  cr_assert_gt(len, 0);
  unsigned char md[32];
  SHA256(der, (size_t)len, md);
  OPENSSL_free(der);
  BIO *b64 = BIO_new(BIO_f_base64());
  BIO *mem = BIO_new(BIO_s_mem());
  BIO_set_flags(b64, BIO_FLAGS_BASE64_NO_NL);
  BIO_push(b64, mem);
  BIO_write(b64, md, sizeof md);
  cr_assert_eq(BIO_flush(b64), 1);
  char *p = NULL;
  long n = BIO_get_mem_data(mem, &p);
  cr_assert_eq(n, 44);
  cr_assert(memcmp(p, spki, 44) == 0, "%.44s vs %s", p, spki);
  BIO_free_all(b64);
  cr_assert_eq(fca_ca_spki_b64(ca, spki, 20), -1);
  fca_ca_free(ca);
}

Test(ca, export_pem_and_der) {
  char err[512] = "";
  fca_ca_t *ca = fca_ca_create(cadir, NULL, false, err, sizeof err);
  cr_assert_not_null(ca, "%s", err);
  FILE *f = tmpfile();
  cr_assert_eq(fca_ca_write_pem(ca, f), 0);
  rewind(f);
  X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
  cr_assert_not_null(x);
  cr_assert_eq(X509_cmp(x, fca_ca_cert(ca)), 0);
  X509_free(x);
  fclose(f);
  f = tmpfile();
  cr_assert_eq(fca_ca_write_der(ca, f), 0);
  rewind(f);
  x = d2i_X509_fp(f, NULL);
  cr_assert_not_null(x);
  cr_assert_eq(X509_cmp(x, fca_ca_cert(ca)), 0);
  X509_free(x);
  /* DER never contains the key: it is exactly the certificate's encoding. */
  cr_assert_eq(ftell(f), (long)i2d_X509(fca_ca_cert(ca), NULL));
  fclose(f);
  fca_ca_free(ca);
}

Test(ca, resolve_dir) {
  char *d = fca_ca_resolve_dir("/x/y");
  cr_assert_str_eq(d, "/x/y");
  free(d);
  setenv("FCAUDIT_CA_DIR", "/env/ca", 1);
  d = fca_ca_resolve_dir(NULL);
  cr_assert_str_eq(d, "/env/ca");
  free(d);
  unsetenv("FCAUDIT_CA_DIR");
  setenv("HOME", "/home/someone", 1);
  d = fca_ca_resolve_dir(NULL);
  cr_assert_str_eq(d, "/home/someone/.fcaudit");
  free(d);
  unsetenv("HOME");
  cr_assert_null(fca_ca_resolve_dir(""));
}
