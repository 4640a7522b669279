/* Unit tests for lazytrust: the bundle is read on the first lookup, not when it is added (a
 * bundle written after fca_lazytrust_add is the one that counts), once (a bundle changed after
 * the first lookup is not read again), and a missing bundle trusts nothing more. */
#include "fcaudit/ca.h"
#include "fcaudit/mint.h"
#include "lazytrust.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

static char tmpdir[64], bundle[128];
static fca_ca_t *ca, *other;
static EVP_PKEY *leaf_key;

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(p);
}

static void setup(void) {
  strcpy(tmpdir, "/tmp/fca-test-lt-XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
  char err[512] = "", sub[128];
  snprintf(sub, sizeof sub, "%s/a", tmpdir);
  ca = fca_ca_create(sub, NULL, false, err, sizeof err);
  cr_assert_not_null(ca, "%s", err);
  snprintf(sub, sizeof sub, "%s/b", tmpdir);
  other = fca_ca_create(sub, NULL, false, err, sizeof err);
  cr_assert_not_null(other, "%s", err);
  leaf_key = fca_mint_leaf_key_new(NULL);
  cr_assert_not_null(leaf_key);
  snprintf(bundle, sizeof bundle, "%s/bundle.pem", tmpdir);
}

static void teardown(void) {
  fca_ca_free(ca);
  fca_ca_free(other);
  EVP_PKEY_free(leaf_key);
  nftw(tmpdir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(lazytrust, .init = setup, .fini = teardown);

static void write_bundle(const fca_ca_t *c) {
  FILE *f = fopen(bundle, "w");
  cr_assert_not_null(f);
  cr_assert_eq(fca_ca_write_pem(c, f), 0);
  fclose(f);
}

/* Does a leaf minted by `issuer` verify against the store? */
static bool verifies(X509_STORE *st, const fca_ca_t *issuer) {
  X509 *leaf = fca_mint_leaf(issuer, leaf_key, "shop.test");
  cr_assert_not_null(leaf);
  X509_STORE_CTX *c = X509_STORE_CTX_new();
  cr_assert_eq(X509_STORE_CTX_init(c, st, leaf, NULL), 1);
  bool ok = X509_verify_cert(c) == 1;
  X509_STORE_CTX_free(c);
  X509_free(leaf);
  return ok;
}

Test(lazytrust, bundle_is_read_on_first_lookup_not_when_added) {
  X509_STORE *st = X509_STORE_new();
  cr_assert_eq(fca_lazytrust_add(st, bundle), 0); /* the file does not exist yet */
  write_bundle(ca);
  cr_assert(verifies(st, ca), "the bundle written after it was added is the one read");
  X509_STORE_free(st);
}

Test(lazytrust, bundle_is_read_once) {
  write_bundle(ca);
  X509_STORE *st = X509_STORE_new();
  cr_assert_eq(fca_lazytrust_add(st, bundle), 0);
  cr_assert(verifies(st, ca));
  cr_assert_not(verifies(st, other), "another issuer is not trusted");
  write_bundle(other); /* read once: a later change is not seen, and misses cost no reread */
  cr_assert_not(verifies(st, other));
  cr_assert(verifies(st, ca));
  X509_STORE_free(st);
}

Test(lazytrust, missing_bundle_trusts_nothing_more) {
  X509_STORE *st = X509_STORE_new();
  cr_assert_eq(fca_lazytrust_add(st, bundle), 0);
  cr_assert_not(verifies(st, ca));
  X509_STORE_free(st);
}
