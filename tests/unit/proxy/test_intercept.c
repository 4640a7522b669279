/* Tests for the decrypt-or-tunnel decision: --ignore-hosts wins, --intercept-hosts limits,
 * globs are case-insensitive, and a host whose client rejected interception is tunnelled from
 * then on only with --auto-passthrough; the rejected-host table is bounded and forgets the
 * oldest host first. */
#include <criterion/criterion.h>

#include "fcaudit/config.h"
#include "intercept.h"

#include <stdio.h>
#include <string.h>

static fca_config_t cfg;
static fca_proxy_shared_t sh;

static void setup(void) {
  memset(&cfg, 0, sizeof cfg);
  memset(&sh, 0, sizeof sh);
  sh.cfg = &cfg;
  sh.passthrough = fca_passthrough_new();
}
static void teardown(void) {
  fca_passthrough_free(sh.passthrough);
  fca_strlist_free(&cfg.ignore_hosts);
  fca_strlist_free(&cfg.intercept_hosts);
}

TestSuite(intercept, .init = setup, .fini = teardown);

Test(intercept, everything_by_default) {
  cr_assert(fca_intercept_wanted(&sh, "shop.test"));
  cr_assert(fca_intercept_wanted(&sh, "js.stripe.com"));
}

Test(intercept, ignore_hosts_wins) {
  fca_strlist_add(&cfg.ignore_hosts, "*.bank.test");
  fca_strlist_add(&cfg.intercept_hosts, "*.test");
  cr_assert_not(fca_intercept_wanted(&sh, "login.bank.test"));
  cr_assert_not(fca_intercept_wanted(&sh, "LOGIN.Bank.TEST"), "globs ignore case");
  cr_assert(fca_intercept_wanted(&sh, "shop.test"));
}

Test(intercept, intercept_hosts_limits) {
  fca_strlist_add(&cfg.intercept_hosts, "shop.test");
  fca_strlist_add(&cfg.intercept_hosts, "*.stripe.com");
  cr_assert(fca_intercept_wanted(&sh, "shop.test"));
  cr_assert(fca_intercept_wanted(&sh, "js.stripe.com"));
  cr_assert_not(fca_intercept_wanted(&sh, "other.test"));
}

Test(intercept, rejection_without_auto_passthrough_keeps_intercepting) {
  fca_intercept_rejected(&sh, "pinned.test", "127.0.0.1:5000", "unknown ca");
  cr_assert(fca_intercept_wanted(&sh, "pinned.test"));
}

Test(intercept, auto_passthrough_tunnels_rejecting_hosts) {
  cfg.auto_passthrough = true;
  fca_intercept_rejected(&sh, "Pinned.test", "127.0.0.1:5000", "unknown ca");
  cr_assert_not(fca_intercept_wanted(&sh, "pinned.test"), "host names ignore case");
  cr_assert(fca_intercept_wanted(&sh, "shop.test"));
}

Test(intercept, the_table_forgets_the_oldest_host) {
  cfg.auto_passthrough = true;
  char host[64];
  for (int i = 0; i <= 1024; i++) { /* one more than the table holds */
    snprintf(host, sizeof host, "h%d.test", i);
    fca_intercept_rejected(&sh, host, "127.0.0.1:5000", "unknown ca");
  }
  cr_assert(fca_intercept_wanted(&sh, "h0.test"), "the oldest host should be forgotten");
  cr_assert_not(fca_intercept_wanted(&sh, "h1.test"));
  cr_assert_not(fca_intercept_wanted(&sh, "h1024.test"));
}

Test(intercept, no_table_no_passthrough) {
  fca_passthrough_free(sh.passthrough);
  sh.passthrough = NULL;
  cfg.auto_passthrough = true;
  fca_intercept_rejected(&sh, "pinned.test", "127.0.0.1:5000", "unknown ca");
  cr_assert(fca_intercept_wanted(&sh, "pinned.test"));
}
