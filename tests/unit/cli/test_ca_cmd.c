/* Unit tests for ca_cmd: `fcaudit ca init|show|export|spki|path`, exit statuses and output. */
#include "ca_cmd.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char tmpdir[64];
static char cadir[128];
static fca_config_t cfg;
static char outbuf[16384], errbuf[4096];
static size_t outlen;

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  return remove(p);
}

static void setup(void) {
  strcpy(tmpdir, "/tmp/fca-test-cacmd-XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
  snprintf(cadir, sizeof cadir, "%s/ca", tmpdir);
  memset(&cfg, 0, sizeof cfg);
  cfg.ca_dir = cadir;
}

static void teardown(void) { nftw(tmpdir, rm_cb, 8, FTW_DEPTH | FTW_PHYS); }

TestSuite(ca_cmd, .init = setup, .fini = teardown);

/* Runs `ca ARGS...` (NULL-terminated), capturing stdout/stderr. */
static int run(const char *first, ...) {
  char *argv[8];
  int argc = 0;
  va_list ap;
  va_start(ap, first);
  for (const char *a = first; a && argc < 8; a = va_arg(ap, const char *)) argv[argc++] = (char *)a;
  va_end(ap);
  FILE *out = tmpfile(), *err = tmpfile();
  int st = fca_ca_cmd_run(&cfg, argc, argv, out, err);
  rewind(out);
  rewind(err);
  outlen = fread(outbuf, 1, sizeof outbuf - 1, out);
  outbuf[outlen] = '\0';
  errbuf[fread(errbuf, 1, sizeof errbuf - 1, err)] = '\0';
  fclose(out);
  fclose(err);
  return st;
}

static fca_ca_t *load(void) {
  char err[512] = "";
  fca_ca_t *ca = fca_ca_load_or_create(cadir, NULL, false, NULL, err, sizeof err);
  cr_assert_not_null(ca, "%s", err);
  return ca;
}

Test(ca_cmd, path_needs_no_ca) {
  cr_assert_eq(run("ca", "path", NULL), 0);
  char want[256];
  snprintf(want, sizeof want, "%s/ca.pem\n", cadir);
  cr_assert_str_eq(outbuf, want);
}

Test(ca_cmd, show_without_ca_fails) {
  cr_assert_eq(run("ca", "show", NULL), 3);
  cr_assert(strstr(errbuf, "ca init") != NULL, "%s", errbuf);
  cr_assert_str_eq(outbuf, "");
  cr_assert_eq(run("spki", NULL), 3);
  cr_assert_eq(run("export", NULL), 3);
}

Test(ca_cmd, init_prints_trust_help_and_refuses_overwrite) {
  cr_assert_eq(run("ca", "init", NULL), 0, "%s", errbuf);
  fca_ca_t *ca = load();
  char spki[FCA_CA_SPKI_B64_LEN], fp1[FCA_CA_FP_SHA256_LEN], fp2[FCA_CA_FP_SHA256_LEN];
  fca_ca_spki_b64(ca, spki, sizeof spki);
  fca_ca_fingerprint_sha256(ca, fp1, sizeof fp1);
  fca_ca_free(ca);
  char want[256];
  snprintf(want, sizeof want, "--ignore-certificate-errors-spki-list=%s", spki);
  cr_assert(strstr(outbuf, want) != NULL, "%s", outbuf);
  snprintf(want, sizeof want, "--cacert %s/ca.pem", cadir);
  cr_assert(strstr(outbuf, want) != NULL, "%s", outbuf);
  cr_assert(strstr(outbuf, cadir) != NULL);
  cr_assert(strstr(outbuf, "ECDSA P-256") != NULL, "%s", outbuf);

  cr_assert_eq(run("ca", "init", NULL), 3);
  cr_assert(strstr(errbuf, "already exists") != NULL, "%s", errbuf);
  cr_assert(strstr(errbuf, "--force") != NULL, "%s", errbuf);
  ca = load();
  fca_ca_fingerprint_sha256(ca, fp2, sizeof fp2);
  fca_ca_free(ca);
  cr_assert_str_eq(fp1, fp2, "untouched");

  cr_assert_eq(run("ca", "init", "--force", NULL), 0, "%s", errbuf);
  ca = load();
  fca_ca_fingerprint_sha256(ca, fp2, sizeof fp2);
  fca_ca_free(ca);
  cr_assert_str_neq(fp1, fp2, "replaced");
}

Test(ca_cmd, init_rsa_and_show) {
  cfg.ca_key_type = "rsa2048";
  cr_assert_eq(run("init", NULL), 0, "%s", errbuf);
  cfg.ca_key_type = NULL;
  cr_assert_eq(run("ca", "show", NULL), 0, "%s", errbuf);
  fca_ca_t *ca = load();
  char sha256[FCA_CA_FP_SHA256_LEN], sha1[FCA_CA_FP_SHA1_LEN];
  fca_ca_fingerprint_sha256(ca, sha256, sizeof sha256);
  fca_ca_fingerprint_sha1(ca, sha1, sizeof sha1);
  cr_assert(strstr(outbuf, "Subject:") && strstr(outbuf, "fcaudit CA"), "%s", outbuf);
  cr_assert(strstr(outbuf, sha256) != NULL, "%s", outbuf);
  cr_assert(strstr(outbuf, sha1) != NULL, "%s", outbuf);
  cr_assert(strstr(outbuf, "Not before:") && strstr(outbuf, "Not after:"), "%s", outbuf);
  cr_assert(strstr(outbuf, "RSA 2048") != NULL, "%s", outbuf);
  cr_assert(strstr(outbuf, fca_ca_cert_path(ca)) != NULL, "%s", outbuf);
  fca_ca_free(ca);
}

Test(ca_cmd, export_spki) {
  cr_assert_eq(run("ca", "init", NULL), 0, "%s", errbuf);
  fca_ca_t *ca = load();
  cr_assert_eq(run("ca", "export", NULL), 0);
  BIO *b = BIO_new_mem_buf(outbuf, (int)outlen);
  X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
  BIO_free(b);
  cr_assert_not_null(x);
  cr_assert_eq(X509_cmp(x, fca_ca_cert(ca)), 0);
  X509_free(x);
  cr_assert_null(strstr(outbuf, "PRIVATE"), "never the key");

  cr_assert_eq(run("ca", "export", "--der", NULL), 0);
  const unsigned char *p = (const unsigned char *)outbuf;
  x = d2i_X509(NULL, &p, (long)outlen);
  cr_assert_not_null(x);
  cr_assert_eq((size_t)(p - (const unsigned char *)outbuf), outlen, "nothing else written");
  cr_assert_eq(X509_cmp(x, fca_ca_cert(ca)), 0);
  X509_free(x);

  cr_assert_eq(run("ca", "spki", NULL), 0);
  char spki[FCA_CA_SPKI_B64_LEN + 1];
  fca_ca_spki_b64(ca, spki, sizeof spki);
  strcat(spki, "\n");
  cr_assert_str_eq(outbuf, spki);
  fca_ca_free(ca);
}

Test(ca_cmd, usage_errors) {
  cr_assert_eq(run("ca", "frobnicate", NULL), 3);
  cr_assert(strstr(errbuf, "unknown action 'frobnicate'") != NULL, "%s", errbuf);
  cr_assert_eq(run("ca", NULL), 3);
  cr_assert(strstr(errbuf, "missing action") != NULL, "%s", errbuf);
  cr_assert_eq(run("ca", "show", "--der", NULL), 3);
  cr_assert(strstr(errbuf, "--der") != NULL, "%s", errbuf);
  cr_assert_eq(run("ca", "init", "--bogus", NULL), 3);
  cr_assert_not(fca_ca_exists(cadir), "nothing created on a usage error");
  cfg.ca_key_type = "dsa";
  cr_assert_eq(run("ca", "init", NULL), 3);
  cr_assert(strstr(errbuf, "dsa") != NULL, "%s", errbuf);
}
