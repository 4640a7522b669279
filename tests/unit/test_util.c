/* Unit tests for util: unit parsing and globbing. */
#include "fcaudit/util.h"

#include <criterion/criterion.h>

Test(util, durations) {
  uint64_t v;
  cr_assert_eq(fca_parse_duration_ms("250ms", &v), 0);
  cr_assert_eq(v, 250);
  cr_assert_eq(fca_parse_duration_ms("30s", &v), 0);
  cr_assert_eq(v, 30000);
  cr_assert_eq(fca_parse_duration_ms("2m", &v), 0);
  cr_assert_eq(v, 120000);
  cr_assert_eq(fca_parse_duration_ms("7", &v), 0);
  cr_assert_eq(v, 7000);
  cr_assert_eq(fca_parse_duration_ms("", &v), -1);
  cr_assert_eq(fca_parse_duration_ms("5x", &v), -1);
  cr_assert_eq(fca_parse_duration_ms("-5s", &v), -1);
  cr_assert_eq(fca_parse_duration_ms("99999999999999999999s", &v), -1);
}

Test(util, sizes) {
  uint64_t v;
  cr_assert_eq(fca_parse_size("256k", &v), 0);
  cr_assert_eq(v, 256 * 1024);
  cr_assert_eq(fca_parse_size("16M", &v), 0);
  cr_assert_eq(v, 16u * 1024 * 1024);
  cr_assert_eq(fca_parse_size("1GiB", &v), 0);
  cr_assert_eq(v, 1024ull * 1024 * 1024);
  cr_assert_eq(fca_parse_size("100", &v), 0);
  cr_assert_eq(v, 100);
  cr_assert_eq(fca_parse_size("1T", &v), -1);
  cr_assert_eq(fca_parse_size("k", &v), -1);
}

Test(util, glob) {
  cr_assert(fca_glob_match("*.bank.example", "www.bank.example"));
  cr_assert(fca_glob_match("*.BANK.example", "login.bank.EXAMPLE"));
  cr_assert_not(fca_glob_match("*.bank.example", "bank.example.evil"));
  cr_assert(fca_glob_match("shop.te?t", "shop.test"));
  cr_assert(fca_glob_match("*", ""));
  cr_assert_not(fca_glob_match("a*b", "acd"));
}
