/* Unit tests for sfitem: the RFC 8941 Item grammar COOP and COEP are read with. */
#include "policy.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static int parse(const char *s, fca_sf_item_t *it) { return fca_sf_parse_item(s, strlen(s), it); }

static void ok(const char *s, fca_sf_type_t type, const char *bare) {
  fca_sf_item_t it;
  cr_assert_eq(parse(s, &it), 0, "should parse: [%s]", s);
  cr_assert_eq(it.type, type, "type of [%s]", s);
  cr_assert_eq(it.len, strlen(bare), "bare item length of [%s]", s);
  cr_assert_eq(memcmp(s + it.off, bare, it.len), 0, "bare item of [%s]", s);
}

static void bad(const char *s) {
  fca_sf_item_t it;
  cr_assert_eq(parse(s, &it), -1, "should be invalid: [%s]", s);
}

Test(sfitem, tokens) {
  ok("same-origin", FCA_SF_TOKEN, "same-origin");
  ok("*foo", FCA_SF_TOKEN, "*foo");
  ok("a:b/c.d", FCA_SF_TOKEN, "a:b/c.d");
  ok("Same-origin", FCA_SF_TOKEN, "Same-origin"); /* valid token, case kept */
  ok("  same-origin  ", FCA_SF_TOKEN, "same-origin");
  bad("-same"); /* a token starts with ALPHA or '*' */
  bad("same origin");
  bad("same-origin,same-origin");
  bad("same-origin, same-origin");
  bad("same-origin\x80");
  bad("");
  bad("   ");
}

Test(sfitem, other_bare_items) {
  ok("\"same-origin\"", FCA_SF_STRING, "\"same-origin\"");
  ok("\"a\\\"b\\\\c\"", FCA_SF_STRING, "\"a\\\"b\\\\c\"");
  bad("\"unterminated");
  bad("\"bad\\escape\"");
  bad("\"tab\there\"");
  ok("42", FCA_SF_INTEGER, "42");
  ok("-42", FCA_SF_INTEGER, "-42");
  ok("999999999999999", FCA_SF_INTEGER, "999999999999999");
  bad("9999999999999999"); /* 16 digits */
  bad("-");
  ok("1.5", FCA_SF_DECIMAL, "1.5");
  ok("123456789012.123", FCA_SF_DECIMAL, "123456789012.123");
  bad("1234567890123.1"); /* 13 integer digits */
  bad("1.1234");          /* 4 fraction digits */
  bad("1.");
  ok(":aGVsbG8=:", FCA_SF_BYTES, ":aGVsbG8=:");
  bad(":not base64!:");
  bad(":open");
  ok("?1", FCA_SF_BOOLEAN, "?1");
  ok("?0", FCA_SF_BOOLEAN, "?0");
  bad("?2");
  bad("?");
}

Test(sfitem, parameters) {
  fca_sf_item_t it;
  cr_assert_eq(parse("same-origin; report-to=\"x\"", &it), 0);
  cr_assert_eq(it.type, FCA_SF_TOKEN);
  cr_assert_eq(it.len, strlen("same-origin"));
  cr_assert_eq(it.nparams, 1);
  cr_assert_eq(parse("same-origin;report-to=\"x\";a;b=?0;c=1.5;d=tok;e=:YQ==:;*f=-3", &it), 0);
  cr_assert_eq(it.nparams, 7);
  cr_assert_eq(parse("same-origin;a;a=2", &it), 0); /* a duplicate key is not an error */
  ok("same-origin;   report-to=\"x\"", FCA_SF_TOKEN, "same-origin"); /* SP after ';' */
  bad("same-origin ;report-to=\"x\"");                               /* no whitespace before ';' */
  bad("same-origin; Report-To=\"x\"");                               /* keys are lowercase */
  bad("same-origin; 1a");                /* key starts with lcalpha or '*' */
  bad("same-origin; report-to=");        /* '=' needs a value */
  bad("same-origin; report-to=\"x");     /* unterminated string */
  bad("same-origin; report-to = \"x\""); /* no whitespace around '=' */
  bad("same-origin;");                   /* ';' needs a key */
  bad("same-origin; a=b c");
}

/* Arbitrary bytes in exact-size heap buffers: ASan catches any read past the value. */
Test(sfitem, random_inputs_stay_in_bounds) {
  static const char alphabet[] = "a-Z*;=\" ,.:?01\\\t\x80/";
  uint32_t seed = 12345;
  for (int round = 0; round < 20000; round++) {
    size_t n = (seed = seed * 1103515245u + 12345u) >> 27;
    char *buf = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
      buf[i] = alphabet[((seed = seed * 1103515245u + 12345u) >> 16) % (sizeof alphabet - 1)];
    fca_sf_item_t it;
    if (fca_sf_parse_item(buf, n, &it) == 0) cr_assert_leq(it.off + it.len, n);
    fca_policy_str_t l = {buf, n};
    fca_coop_t c;
    fca_coop_parse(&l, 1, &c);
    if (c.valid) cr_assert_leq(c.tok_off + c.tok_len, n);
    free(buf);
  }
}
