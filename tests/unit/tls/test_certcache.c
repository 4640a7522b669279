/* Unit tests for certcache: hits and misses (case-insensitive), LRU eviction order, re-minting
 * near expiry through the clock hook, failures, and the settings of the contexts it builds. */
#include "certcache.h"
#include "fcaudit/mint.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static char tmpdir[64];
static fca_ca_t *ca;
static EVP_PKEY *leaf_key;

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  return remove(p);
}

static void setup(void) {
  strcpy(tmpdir, "/tmp/fca-test-cc-XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
  char err[512] = "";
  ca = fca_ca_create(tmpdir, NULL, false, err, sizeof err);
  cr_assert_not_null(ca, "%s", err);
  leaf_key = fca_mint_leaf_key_new(NULL);
  cr_assert_not_null(leaf_key);
}

static void teardown(void) {
  fca_ca_free(ca);
  EVP_PKEY_free(leaf_key);
  nftw(tmpdir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(certcache, .init = setup, .fini = teardown);

static fca_certcache_stats_t stats(fca_certcache_t *c) {
  fca_certcache_stats_t s;
  fca_certcache_stats(c, &s);
  return s;
}

static void leaf_cn(SSL_CTX *ctx, char *out, size_t n) {
  X509 *x = SSL_CTX_get0_certificate(ctx);
  cr_assert_not_null(x);
  cr_assert_gt(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out, (int)n), 0);
}

Test(certcache, hit_and_miss_case_insensitive) {
  fca_certcache_t *c = fca_certcache_new(ca, leaf_key, 8);
  SSL_CTX *a = fca_certcache_get(c, "shop.test");
  cr_assert_not_null(a);
  fca_certcache_stats_t s = stats(c);
  cr_assert_eq(s.misses, 1);
  cr_assert_eq(s.hits, 0);
  cr_assert_eq(s.mints, 1);
  cr_assert_eq(s.entries, 1);
  cr_assert_eq(s.capacity, 8);
  cr_assert_eq(fca_certcache_get(c, "SHOP.Test"), a, "same entry whatever the case");
  cr_assert_eq(fca_certcache_get(c, "shop.test"), a);
  s = stats(c);
  cr_assert_eq(s.hits, 2);
  cr_assert_eq(s.misses, 1);
  cr_assert_eq(s.mints, 1);
  SSL_CTX *b = fca_certcache_get(c, "other.test");
  cr_assert_not_null(b);
  cr_assert_neq(a, b);
  char cn[64];
  leaf_cn(a, cn, sizeof cn);
  cr_assert_str_eq(cn, "shop.test");
  leaf_cn(b, cn, sizeof cn);
  cr_assert_str_eq(cn, "other.test");
  cr_assert_eq(stats(c).entries, 2);
  fca_certcache_free(c);
}

Test(certcache, evicts_least_recently_used) {
  fca_certcache_t *c = fca_certcache_new(ca, leaf_key, 2);
  SSL_CTX *a = fca_certcache_get(c, "a.test");
  fca_certcache_get(c, "b.test");
  cr_assert_eq(fca_certcache_get(c, "a.test"), a); /* a is now the most recent */
  fca_certcache_get(c, "c.test");                  /* evicts b */
  fca_certcache_stats_t s = stats(c);
  cr_assert_eq(s.evictions, 1);
  cr_assert_eq(s.entries, 2);
  uint64_t hits = s.hits, misses = s.misses;
  cr_assert_eq(fca_certcache_get(c, "a.test"), a, "a survived");
  cr_assert_eq(stats(c).hits, hits + 1);
  fca_certcache_get(c, "c.test");
  cr_assert_eq(stats(c).hits, hits + 2, "c survived");
  fca_certcache_get(c, "b.test"); /* b was evicted: a miss, which now evicts a */
  s = stats(c);
  cr_assert_eq(s.misses, misses + 1);
  cr_assert_eq(s.evictions, 2);
  fca_certcache_get(c, "c.test");
  cr_assert_eq(stats(c).hits, hits + 3, "c is more recent than a");
  fca_certcache_get(c, "a.test");
  cr_assert_eq(stats(c).misses, misses + 2, "a was the one evicted");
  cr_assert_eq(stats(c).mints, 5);
  fca_certcache_free(c);
}

Test(certcache, evicted_context_stays_valid_for_its_users) {
  fca_certcache_t *c = fca_certcache_new(ca, leaf_key, 1);
  SSL_CTX *a = fca_certcache_get(c, "a.test");
  SSL *ssl = SSL_new(a); /* a connection holds its own reference */
  cr_assert_not_null(ssl);
  fca_certcache_get(c, "b.test");
  cr_assert_eq(stats(c).evictions, 1);
  char cn[64];
  leaf_cn(SSL_get_SSL_CTX(ssl), cn, sizeof cn);
  cr_assert_str_eq(cn, "a.test");
  SSL_free(ssl);
  fca_certcache_free(c);
}

static time_t fake_now;
static time_t fake_clock(void *arg) { return fake_now; }

static time_t ctx_not_after(SSL_CTX *ctx) {
  struct tm tm;
  cr_assert(ASN1_TIME_to_tm(X509_get0_notAfter(SSL_CTX_get0_certificate(ctx)), &tm));
  return timegm(&tm);
}

Test(certcache, remints_near_expiry) {
  fca_certcache_t *c = fca_certcache_new(ca, leaf_key, 4);
  fake_now = time(NULL);
  fca_certcache_set_clock(c, fake_clock, NULL);
  SSL_CTX *a = fca_certcache_get(c, "shop.test");
  cr_assert_not_null(a);
  time_t exp = ctx_not_after(a);
  ASN1_INTEGER *old_serial = ASN1_INTEGER_dup(X509_get0_serialNumber(SSL_CTX_get0_certificate(a)));
  cr_assert_gt(exp, fake_now);
  /* Just outside the renewal margin: still a hit. */
  fake_now = exp - FCA_CERTCACHE_RENEW_SECS - 1;
  cr_assert_eq(fca_certcache_get(c, "shop.test"), a);
  cr_assert_eq(stats(c).hits, 1);
  /* Inside the margin: re-minted, replacing the entry. */
  fake_now = exp - FCA_CERTCACHE_RENEW_SECS;
  SSL_CTX *b = fca_certcache_get(c, "shop.test");
  cr_assert_not_null(b);
  fca_certcache_stats_t s = stats(c);
  cr_assert_eq(s.renewals, 1);
  cr_assert_eq(s.misses, 2);
  cr_assert_eq(s.mints, 2);
  cr_assert_eq(s.entries, 1);
  cr_assert_eq(s.evictions, 0);
  /* The new certificate is a different one (new serial, later expiry). */
  cr_assert_neq(ASN1_INTEGER_cmp(old_serial, X509_get0_serialNumber(SSL_CTX_get0_certificate(b))),
                0);
  ASN1_INTEGER_free(old_serial);
  cr_assert_geq(ctx_not_after(b), exp);
  fake_now = time(NULL); /* the new leaf's validity counts from the real clock */
  cr_assert_eq(fca_certcache_get(c, "shop.test"), b);
  fca_certcache_free(c);
}

Test(certcache, invalid_host_fails) {
  fca_certcache_t *c = fca_certcache_new(ca, leaf_key, 4);
  cr_assert_null(fca_certcache_get(c, "bad host"));
  cr_assert_null(fca_certcache_get(c, ""));
  cr_assert_null(fca_certcache_get(c, NULL));
  fca_certcache_stats_t s = stats(c);
  cr_assert_eq(s.failures, 1);
  cr_assert_eq(s.entries, 0);
  cr_assert_eq(s.mints, 0);
  fca_certcache_free(c);
}

Test(certcache, zero_capacity_is_one) {
  fca_certcache_t *c = fca_certcache_new(ca, leaf_key, 0);
  cr_assert_eq(stats(c).capacity, 1);
  cr_assert_not_null(fca_certcache_get(c, "a.test"));
  cr_assert_not_null(fca_certcache_get(c, "b.test"));
  cr_assert_eq(stats(c).entries, 1);
  fca_certcache_free(c);
}

Test(certcache, many_hosts_bounded) {
  fca_certcache_t *c = fca_certcache_new(ca, leaf_key, 16);
  char host[32];
  for (int i = 0; i < 40; i++) {
    snprintf(host, sizeof host, "h%d.test", i);
    cr_assert_not_null(fca_certcache_get(c, host));
  }
  fca_certcache_stats_t s = stats(c);
  cr_assert_eq(s.entries, 16);
  cr_assert_eq(s.evictions, 24);
  for (int i = 24; i < 40; i++) {
    snprintf(host, sizeof host, "H%d.TEST", i);
    fca_certcache_get(c, host);
  }
  cr_assert_eq(stats(c).hits, 16, "the 16 most recent are all present");
  fca_certcache_free(c);
}

Test(certcache, context_settings) {
  fca_certcache_t *c = fca_certcache_new(ca, leaf_key, 4);
  SSL_CTX *ctx = fca_certcache_get(c, "shop.test");
  cr_assert_not_null(ctx);
  cr_assert_eq(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
  cr_assert_eq(SSL_CTX_get_max_proto_version(ctx), TLS1_3_VERSION);
  cr_assert(SSL_CTX_get_options(ctx) & SSL_OP_IGNORE_UNEXPECTED_EOF);
  cr_assert_eq(SSL_CTX_get_mode(ctx) & SSL_MODE_RELEASE_BUFFERS, 0);
  cr_assert_eq(SSL_CTX_get_num_tickets(ctx), 1u);
  /* The chain holds the CA, and the key is the shared leaf key. */
  STACK_OF(X509) *chain = NULL;
  cr_assert_eq(SSL_CTX_get0_chain_certs(ctx, &chain), 1);
  cr_assert_eq(sk_X509_num(chain), 1);
  cr_assert_eq(X509_cmp(sk_X509_value(chain, 0), fca_ca_cert(ca)), 0);
  cr_assert_eq(EVP_PKEY_eq(SSL_CTX_get0_privatekey(ctx), leaf_key), 1);
  cr_assert_eq(SSL_CTX_check_private_key(ctx), 1);
  fca_certcache_free(c);
}
