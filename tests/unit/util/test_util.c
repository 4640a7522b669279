/* Unit tests for util: unit parsing and globbing. */
#include "fcaudit/util.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

Test(util, edit_distance) {
  cr_assert_eq(fca_edit_distance("listen", 6, "listne", 6, false), 2);
  cr_assert_eq(fca_edit_distance("FC-COP-1", 8, "FC-COOP-1", 9, false), 1);
  cr_assert_eq(fca_edit_distance("fc-coop-1", 9, "FC-COOP-1", 9, true), 0);
  cr_assert_eq(fca_edit_distance("fc-coop-1", 9, "FC-COOP-1", 9, false), 6);
  cr_assert_eq(fca_edit_distance("", 0, "abc", 3, false), 3);
  char longs[80];
  memset(longs, 'a', sizeof longs);
  cr_assert_eq(fca_edit_distance(longs, sizeof longs, "a", 1, false), SIZE_MAX);
}

Test(util, seterr) {
  char err[8];
  fca_seterr(err, sizeof err, "bad %s", "value here");
  cr_assert_str_eq(err, "bad val", "truncated, terminated");
  fca_seterr(NULL, 0, "ignored %d", 1);
}

Test(util, url_without_query) {
  cr_assert_eq(fca_url_query_offset("https://a.test/p?q=1#f"), strlen("https://a.test/p"));
  cr_assert_eq(fca_url_query_offset("https://a.test/p#f?x"), strlen("https://a.test/p"));
  cr_assert_eq(fca_url_query_offset("https://a.test/p"), strlen("https://a.test/p"));
  char *u = fca_url_without_query("https://a.test/p?q=1#f");
  cr_assert_str_eq(u, "https://a.test/p");
  free(u);
  u = fca_url_without_query("?only");
  cr_assert_str_eq(u, "");
  free(u);
  cr_assert_null(fca_url_without_query(NULL));
}

Test(util, strcat_joins_up_to_null) {
  char *s = fca_xstrcat("referrer policy ", "no-referrer", " (", "header", ")", NULL);
  cr_assert_str_eq(s, "referrer policy no-referrer (header)");
  free(s);
  s = fca_xstrcat("", NULL);
  cr_assert_str_eq(s, "");
  free(s);
}

Test(util, sb_appends_what_fits_and_says_when_cut) {
  char buf[16];
  fca_sb_t b = fca_sb(buf, sizeof buf);
  cr_assert_str_eq(buf, "");
  fca_sb_puts(&b, "GET ");
  fca_sb_put(&b, "/abc?x", 4);
  fca_sb_put(&b, " ", 1);
  fca_sb_putu(&b, 0);
  fca_sb_putu(&b, 18446744073709551615ull);
  cr_assert(b.cut, "20 digits do not fit in what is left");
  cr_assert_eq(b.n, sizeof buf - 1);
  cr_assert_str_eq(buf, "GET /abc 018446");
  char small[12];
  b = fca_sb(small, sizeof small);
  fca_sb_putu(&b, 443);
  fca_sb_put(&b, ":", 1);
  fca_sb_putu(&b, 1234567);
  cr_assert_not(b.cut);
  cr_assert_str_eq(small, "443:1234567");
  fca_sb_put(&b, "x", 1);
  cr_assert(b.cut);
  cr_assert_str_eq(small, "443:1234567");
}
