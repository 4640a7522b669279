/* Unit tests for redact: URL passwords always go, queries and fragments on request, in URLs
 * anywhere in a text and in a bare request or CONNECT target; text without URLs is left
 * alone (NULL: nothing changed). */
#include "fcaudit/redact.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static void check(const char *in, bool strip, const char *want) {
  char *r = fca_redact_text(in, strlen(in), strip, NULL);
  if (!want) {
    cr_assert_null(r, "'%s' -> '%s'", in, r);
    return;
  }
  cr_assert_not_null(r, "'%s' unchanged", in);
  cr_assert_str_eq(r, want);
  free(r);
}

Test(redact, passwords_always) {
  check("http://u:pw@shop.test/x", false, "http://u:***@shop.test/x");
  check("bad target 'https://a:b:c@h.test:8443/p?q=1'", false,
        "bad target 'https://a:***@h.test:8443/p?q=1'");
  check("http://user@shop.test/", false, NULL); /* no password */
  check("ws://x:y@a/ and ftp://m:n@b/", false, "ws://x:***@a/ and ftp://m:***@b/");
}

Test(redact, queries_on_request) {
  check("http://a@shop.test/x?client_secret=abc", true, "http://a@shop.test/x");
  check("http://a@shop.test/x?client_secret=abc", false, NULL);
  check("GET https://h.test/p?x=1#frag done", true, "GET https://h.test/p done");
  check("script-src https://js.test/v3?k=1 'self'", true, "script-src https://js.test/v3 'self'");
}

Test(redact, plain_text_untouched) {
  check("no urls here: host:80 and a?b", false, NULL);
  check("what? 1 ok", true, NULL);
  check("", true, NULL);
}

static void target(const char *in, bool strip, const char *want) {
  char *r = fca_redact_target(in, strlen(in), strip);
  cr_assert_str_eq(r, want);
  free(r);
}

Test(redact, targets_with_or_without_scheme) {
  target("u:secret@shop.test:443", false, "u:***@shop.test:443");
  target("shop.test:443?client_secret=x", true, "shop.test:443");
  target("u:p@shop.test:443?k=v", true, "u:***@shop.test:443");
  target("http://u:p@h/x?y", true, "http://u:***@h/x");
  target("abc", true, "abc");
  target("/path?q=1", true, "/path");
}
