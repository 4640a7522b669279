#include <criterion/criterion.h>
#include <string.h>

#include "admin_util.h"

static char *esc(const char *s, size_t n) {
  fca_abuf_t b = {0};
  fca_abuf_html(&b, s, n);
  fca_abuf_add(&b, "", 0);
  return b.p;
}

Test(admin_util, html_escapes_markup_and_quotes) {
  const char *in = "<script>alert(\"x\")</script> & 'y' <img src=x onerror=1>";
  char *out = esc(in, strlen(in));
  cr_assert_str_eq(out, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39; "
                        "&lt;img src=x onerror=1&gt;");
  free(out);
}

Test(admin_util, html_drops_nul_and_keeps_utf8) {
  const char in[] = "a\0b\xc3\xa9<";
  char *out = esc(in, sizeof in - 1);
  cr_assert_str_eq(out, "ab\xc3\xa9&lt;");
  free(out);
}

Test(admin_util, html_plain_and_empty) {
  char *out = esc("plain text", 10);
  cr_assert_str_eq(out, "plain text");
  free(out);
  out = esc("", 0);
  cr_assert_str_eq(out, "");
  free(out);
}

Test(admin_util, printf_grows_past_stack_buffer) {
  fca_abuf_t b = {0};
  char big[1000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  fca_abuf_printf(&b, "<%s>%d", big, 42);
  cr_assert_eq(b.len, 1 + 999 + 1 + 2);
  cr_assert_eq(b.p[0], '<');
  cr_assert_str_eq(b.p + 1001, "42");
  fca_abuf_free(&b);
}

static const char *lookup(void *ud, const char *name) {
  (void)ud;
  if (strcmp(name, "A") == 0) return "<b>&";
  if (strcmp(name, "B_2") == 0) return "two";
  return NULL;
}

Test(admin_util, template_fills_and_escapes) {
  const char *t = "x {{A}} y {{B_2}} z {{UNKNOWN}}. {{lower}} {{A} {A}} {{}}";
  fca_abuf_t b = {0};
  fca_admin_template(&b, t, strlen(t), lookup, NULL);
  cr_assert_str_eq(b.p, "x &lt;b&gt;&amp; y two z . {{lower}} {{A} {A}} {{}}");
  fca_abuf_free(&b);
}

Test(admin_util, template_at_edges) {
  fca_abuf_t b = {0};
  fca_admin_template(&b, "{{A}}", 5, lookup, NULL);
  cr_assert_str_eq(b.p, "&lt;b&gt;&amp;");
  fca_abuf_free(&b);
  fca_admin_template(&b, "{{A", 3, lookup, NULL);
  cr_assert_str_eq(b.p, "{{A");
  fca_abuf_free(&b);
}

Test(admin_util, host_allowed) {
  cr_assert(fca_admin_host_allowed("127.0.0.1:8081", 8081));
  cr_assert(fca_admin_host_allowed("localhost:8081", 8081));
  cr_assert(fca_admin_host_allowed("LOCALHOST:8081", 8081));
  cr_assert(fca_admin_host_allowed("[::1]:8081", 8081));
  cr_assert(fca_admin_host_allowed("fcaudit.test", 8081));
  cr_assert(fca_admin_host_allowed("FCAUDIT.test:443", 8081));
  cr_assert(fca_admin_host_allowed("fcaudit.test.", 8081));
  cr_assert(fca_admin_host_allowed("127.0.0.1", 8081));
  cr_assert(fca_admin_host_allowed("10.1.2.3:8081", 8081)); /* an IP cannot be rebound */
}

Test(admin_util, host_refused) {
  cr_assert_not(fca_admin_host_allowed(NULL, 8081));
  cr_assert_not(fca_admin_host_allowed("", 8081));
  cr_assert_not(fca_admin_host_allowed("evil.example:8081", 8081)); /* DNS rebinding */
  cr_assert_not(fca_admin_host_allowed("evil.example", 8081));
  cr_assert_not(fca_admin_host_allowed("fcaudit.test.evil.example", 8081));
  cr_assert_not(fca_admin_host_allowed("127.0.0.1:9999", 8081)); /* another port */
  cr_assert_not(fca_admin_host_allowed("localhost:80", 8081));
  cr_assert_not(fca_admin_host_allowed("127.0.0.1:", 8081));
  cr_assert_not(fca_admin_host_allowed("127.0.0.1:80x", 8081));
  cr_assert_not(fca_admin_host_allowed("[::1", 8081));
  cr_assert_not(fca_admin_host_allowed("[::1]x", 8081));
  cr_assert_not(fca_admin_host_allowed("[evil]:8081", 8081));
  cr_assert_not(fca_admin_host_allowed("127.0.0.1.evil.example", 8081));
  cr_assert_not(fca_admin_host_allowed(":8081", 8081));
}
