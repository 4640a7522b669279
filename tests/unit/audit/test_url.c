/* Unit tests for url: RFC 3986 reference resolution (the section 5.4 examples), the WHATWG input
 * rules that matter for recognising a script URL, and the split parts. */
#include "url.h"

#include <criterion/criterion.h>
#include <string.h>

static void expect_resolve(const char *base, const char *ref, const char *want) {
  fca_url_t u;
  int rc = fca_url_resolve(base, base ? strlen(base) : 0, ref, strlen(ref), &u);
  if (!want) {
    cr_assert_eq(rc, -1, "%s + %s should fail, got %s", base, ref, rc == 0 ? u.href : "");
    return;
  }
  cr_assert_eq(rc, 0, "%s + %s failed", base, ref);
  cr_assert_str_eq(u.href, want, "%s + %s", base, ref);
  fca_url_free(&u);
}

Test(url, rfc3986_normal_examples) {
  const char *b = "http://a/b/c/d;p?q";
  static const char *const cases[][2] = {
      {"g:h", "g:h"},
      {"g", "http://a/b/c/g"},
      {"./g", "http://a/b/c/g"},
      {"g/", "http://a/b/c/g/"},
      {"/g", "http://a/g"},
      {"//g", "http://g/"},
      {"?y", "http://a/b/c/d;p?y"},
      {"g?y", "http://a/b/c/g?y"},
      {"#s", "http://a/b/c/d;p?q#s"},
      {"g#s", "http://a/b/c/g#s"},
      {"g?y#s", "http://a/b/c/g?y#s"},
      {";x", "http://a/b/c/;x"},
      {"g;x", "http://a/b/c/g;x"},
      {"g;x?y#s", "http://a/b/c/g;x?y#s"},
      {"", "http://a/b/c/d;p?q"},
      {".", "http://a/b/c/"},
      {"./", "http://a/b/c/"},
      {"..", "http://a/b/"},
      {"../", "http://a/b/"},
      {"../g", "http://a/b/g"},
      {"../..", "http://a/"},
      {"../../", "http://a/"},
      {"../../g", "http://a/g"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    expect_resolve(b, cases[i][0], cases[i][1]);
}

Test(url, rfc3986_abnormal_examples) {
  const char *b = "http://a/b/c/d;p?q";
  static const char *const cases[][2] = {
      {"../../../g", "http://a/g"},
      {"../../../../g", "http://a/g"},
      {"/./g", "http://a/g"},
      {"/../g", "http://a/g"},
      {"g.", "http://a/b/c/g."},
      {".g", "http://a/b/c/.g"},
      {"g..", "http://a/b/c/g.."},
      {"..g", "http://a/b/c/..g"},
      {"./../g", "http://a/b/g"},
      {"./g/.", "http://a/b/c/g/"},
      {"g/./h", "http://a/b/c/g/h"},
      {"g/../h", "http://a/b/c/h"},
      {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
      {"g;x=1/../y", "http://a/b/c/y"},
      {"g?y/./x", "http://a/b/c/g?y/./x"},
      {"g#s/../x", "http://a/b/c/g#s/../x"},
      /* WHATWG, not RFC 3986 strict: same special scheme without slashes is relative. */
      {"http:g", "http://a/b/c/g"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    expect_resolve(b, cases[i][0], cases[i][1]);
}

Test(url, stripe_script_forms) {
  const char *page = "https://shop.example/checkout/pay.html?x=1";
  expect_resolve(page, "//js.stripe.com/v3/", "https://js.stripe.com/v3/");
  expect_resolve(page, "  https://JS.Stripe.COM/v3\n ", "https://js.stripe.com/v3");
  expect_resolve(page, "ht\ttps://js.str\nipe.com/v3", "https://js.stripe.com/v3");
  expect_resolve(page, "https:\\\\js.stripe.com\\v3", "https://js.stripe.com/v3");
  expect_resolve(page, "https:///js.stripe.com/v3", "https://js.stripe.com/v3");
  expect_resolve(page, "\\\\js.stripe.com/v3", "https://js.stripe.com/v3");
  expect_resolve(page, "https://js%2Estripe.com:443/v3/../v3?x#y", "https://js.stripe.com/v3?x#y");
  expect_resolve(page, "https://user@js.stripe.com/v3", "https://user@js.stripe.com/v3");
  expect_resolve(page, "http:js.stripe.com/v3", "http://js.stripe.com/v3");
  expect_resolve(page, "/v3/%2e%2E/v2/.%2e/x", "https://shop.example/x");
  expect_resolve(page, "js/app.js", "https://shop.example/checkout/js/app.js");
  expect_resolve("https://shop.example", "app.js", "https://shop.example/app.js");
  expect_resolve(page, "https://js.stripe.com:8443/v3", "https://js.stripe.com:8443/v3");
  expect_resolve(page, "data:text/javascript,alert(1)", "data:text/javascript,alert(1)");
  expect_resolve(page, "JavaScript:void(0)", "javascript:void(0)");
  /* Controls, spaces and non-ASCII are percent-encoded, so the href is one clean string. */
  expect_resolve(page, "/a b\x01\xc3\xa9?q r\"#f`",
                 "https://shop.example/a%20b%01%C3%A9?q%20r%22#f%60");
}

Test(url, failures) {
  expect_resolve(NULL, "/relative", NULL);
  expect_resolve("not a url", "/x", NULL);
  expect_resolve("https://a/", "https://js.stripe.com:99999/", NULL);
  expect_resolve("https://a/", "https://js.stripe.com:44x/", NULL);
  expect_resolve("https://a/", "https://js stripe.com/", NULL);
  expect_resolve("https://a/", "https:///", NULL);
  expect_resolve(NULL, "https:/%3aip", NULL); /* a decoded ':' cannot be in a host (fuzzer) */
  expect_resolve("data:text/html,x", "y", NULL);
  expect_resolve("data:text/html,x", "#f", "data:text/html,x#f");
  /* file: keeps an empty host (fuzzer finding: re-parsing took the path as the host). */
  expect_resolve("file://", "../../d;p", "file:///d;p");
  expect_resolve(NULL, "file:///etc/hosts", "file:///etc/hosts");
  /* A path starting "//" without authority is written "/.//" (fuzzer finding). */
  expect_resolve("x:/p", "..//d", "x:/.//d");
  expect_resolve(NULL, "x:/.//d", "x:/.//d");
}

Test(url, parts) {
  fca_url_t u;
  const char *s = "HTTPS://u:p@JS.Stripe.com:8443/v3/stripe.js?a=1#frag";
  cr_assert_eq(fca_url_parse(s, strlen(s), &u), 0);
  cr_assert_str_eq(u.href, "https://u:p@js.stripe.com:8443/v3/stripe.js?a=1#frag");
  cr_assert_eq(u.scheme_len, 5);
  cr_assert(memcmp(u.scheme, "https", 5) == 0);
  cr_assert_eq(u.userinfo_len, 3);
  cr_assert(memcmp(u.userinfo, "u:p", 3) == 0);
  cr_assert_eq(u.host_len, 13);
  cr_assert(memcmp(u.host, "js.stripe.com", 13) == 0);
  cr_assert_eq(u.port_len, 4);
  cr_assert_eq(u.port_num, 8443);
  cr_assert_eq(u.path_len, 13);
  cr_assert(memcmp(u.path, "/v3/stripe.js", 13) == 0);
  cr_assert(u.has_query && u.query_len == 3 && memcmp(u.query, "a=1", 3) == 0);
  cr_assert(u.has_fragment && u.fragment_len == 4 && memcmp(u.fragment, "frag", 4) == 0);
  cr_assert(u.special && u.has_authority);
  fca_url_free(&u);

  s = "https://js.stripe.com";
  cr_assert_eq(fca_url_parse(s, strlen(s), &u), 0);
  cr_assert_str_eq(u.href, "https://js.stripe.com/");
  cr_assert_eq(u.port_len, 0);
  cr_assert_eq(u.port_num, 443);
  cr_assert(!u.has_query && !u.has_fragment);
  cr_assert_eq(u.path_len, 1);
  fca_url_free(&u);

  s = "http://[::1]:8080/x?";
  cr_assert_eq(fca_url_parse(s, strlen(s), &u), 0);
  cr_assert_eq(u.host_len, 5);
  cr_assert(memcmp(u.host, "[::1]", 5) == 0);
  cr_assert_eq(u.port_num, 8080);
  cr_assert(u.has_query && u.query_len == 0);
  fca_url_free(&u);

  s = "mailto:a@b.test";
  cr_assert_eq(fca_url_parse(s, strlen(s), &u), 0);
  cr_assert(!u.has_authority && !u.special);
  cr_assert_eq(u.port_num, -1);
  cr_assert_eq(u.path_len, 8);
  fca_url_free(&u);
}
