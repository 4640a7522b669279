/* Tests for the one markup escaper: entities for the five characters that matter in HTML/XML
 * text and quoted attributes, NUL dropped, other controls shown as \xHH, UTF-8 untouched. */
#include <criterion/criterion.h>

#include "fcaudit/escape.h"

#include <string.h>

static char out[256];
static size_t out_len;
static int calls;

static void put(void *ud, const char *p, size_t n) {
  (void)ud;
  cr_assert_lt(out_len + n, sizeof out);
  memcpy(out + out_len, p, n);
  out_len += n;
  out[out_len] = '\0';
  calls++;
}

static const char *esc(const char *s, size_t n) {
  out_len = 0;
  out[0] = '\0';
  calls = 0;
  fca_escape_markup(s, n, put, NULL);
  return out;
}

Test(escape, the_five_characters) {
  cr_assert_str_eq(esc("<a href=\"x\" title='y'>&</a>", 27),
                   "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
}

Test(escape, controls_and_nul) {
  const char in[] = "a\0b\x01\x1b[2J\x7f\t\n\r";
  cr_assert_str_eq(esc(in, sizeof in - 1), "ab\\x01\\x1b[2J\\x7f\t\n\r");
}

Test(escape, utf8_and_plain_runs) {
  cr_assert_str_eq(esc("caf\xc3\xa9 \xe2\x86\x92 ok", 13), "caf\xc3\xa9 \xe2\x86\x92 ok");
  cr_assert_eq(calls, 1, "plain text goes out in one run");
  cr_assert_str_eq(esc("", 0), "");
  cr_assert_eq(calls, 0);
}
