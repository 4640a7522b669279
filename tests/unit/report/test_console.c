/* Unit tests for console: the line of each event type, with and without color; truncation;
 * terminal-unsafe bytes; secret values; buffers too small. */
#include "fcaudit/console.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static fca_event_t violation(void) {
  fca_event_t ev = {
      .type = FCA_EV_VIOLATION,
      .ts_ms = 1,
      .rule = "FC-COOP-1",
      .level = FCA_LEVEL_ERROR,
      .item = 1,
      .message = "m",
      .fix = "send Cross-Origin-Opener-Policy: same-origin-allow-popups",
      .has_page = true,
      .page = {7, "https://shop.test/checkout", true, "script-tag", "high"},
      .has_evidence = true,
      .evidence = {"header", "Cross-Origin-Opener-Policy", "same-origin", 11, -1, NULL},
      .count = 1,
  };
  return ev;
}

static char line[FCA_CONSOLE_LINE_MAX];

static const char *fmt(const fca_event_t *ev, bool color) {
  size_t n = fca_console_format(line, sizeof line, ev, color);
  cr_assert_eq(n, strlen(line));
  return line;
}

Test(console, violation_plain) {
  fca_event_t ev = violation();
  cr_assert_str_eq(
      fmt(&ev, false),
      "ERROR   FC-COOP-1  https://shop.test/checkout  Cross-Origin-Opener-Policy: "
      "same-origin  → fix: send Cross-Origin-Opener-Policy: same-origin-allow-popups\n");
  ev.level = FCA_LEVEL_WARNING;
  ev.rule = "FC-ISO-1";
  ev.count = 4;
  ev.fix = NULL;
  ev.evidence.url = "https://shop.test/top";
  cr_assert_str_eq(fmt(&ev, false),
                   "WARNING FC-ISO-1   https://shop.test/checkout  Cross-Origin-Opener-Policy: "
                   "same-origin (from https://shop.test/top)  (×4)\n");
  ev.has_evidence = false;
  ev.level = FCA_LEVEL_INFO;
  cr_assert_str_eq(fmt(&ev, false), "INFO    FC-ISO-1   https://shop.test/checkout  (×4)\n");
}

Test(console, violation_color) {
  fca_event_t ev = violation();
  cr_assert_str_eq(fmt(&ev, true),
                   "\033[1;31mERROR\033[0m   FC-COOP-1  https://shop.test/checkout  "
                   "Cross-Origin-Opener-Policy: same-origin  \033[2m→ fix:\033[0m send "
                   "Cross-Origin-Opener-Policy: same-origin-allow-popups\n");
  ev.level = FCA_LEVEL_WARNING;
  cr_assert(strncmp(fmt(&ev, true), "\033[33mWARNING\033[0m ", 17) == 0, "%s", line);
  ev.level = FCA_LEVEL_INFO;
  cr_assert(strncmp(fmt(&ev, true), "\033[36mINFO\033[0m    ", 17) == 0, "%s", line);
  cr_assert_null(strchr(fmt(&ev, false), '\033'), "no escape without color");
}

Test(console, other_types) {
  fca_event_t ev = {.type = FCA_EV_PAGE,
                    .has_page = true,
                    .page = {1, "https://shop.test/pay", true, "script-request", "medium"}};
  cr_assert_str_eq(fmt(&ev, false),
                   "PAGE    https://shop.test/pay  tagged by script-request (medium)\n");
  ev.page.top_level = false;
  cr_assert_str_eq(fmt(&ev, false),
                   "PAGE    https://shop.test/pay  tagged by script-request (medium), frame\n");
  ev.type = FCA_EV_PASS;
  cr_assert_str_eq(fmt(&ev, false), "PASS    https://shop.test/pay\n");
  cr_assert_str_eq(fmt(&ev, true), "\033[32mPASS\033[0m    https://shop.test/pay\n");
  ev.type = FCA_EV_NOTE;
  ev.note = "audit-incomplete";
  ev.message = "body over the audit cap";
  cr_assert_str_eq(fmt(&ev, false),
                   "NOTE    https://shop.test/pay  audit-incomplete: body over the audit cap\n");
  ev.has_page = false;
  cr_assert_str_eq(fmt(&ev, false), "NOTE    -  audit-incomplete: body over the audit cap\n");
  ev.type = FCA_EV_SUMMARY;
  cr_assert_eq(fca_console_format(line, sizeof line, &ev, false), 0);
  cr_assert_str_eq(line, "");
}

Test(console, evidence_truncated) {
  char value[400];
  memset(value, 'v', sizeof value);
  fca_event_t ev = violation();
  ev.evidence.name = "Content-Security-Policy";
  ev.evidence.value = value;
  ev.evidence.value_len = sizeof value;
  fmt(&ev, false);
  const char *start = strstr(line, "Content-Security-Policy: ");
  const char *end = strstr(line, "…  → fix:");
  cr_assert(start && end, "%s", line);
  /* "name: value" is 120 characters, then the ellipsis. */
  cr_assert_eq(end - start, FCA_CONSOLE_EVIDENCE_MAX, "%d", (int)(end - start));
  /* A value that fits is not cut. */
  ev.evidence.value_len = FCA_CONSOLE_EVIDENCE_MAX - strlen("Content-Security-Policy: ");
  cr_assert_null(strstr(fmt(&ev, false), "…"), "%s", line);
}

Test(console, unsafe_bytes_escaped) {
  static const char v[] = "a\033[2Jb\xff\x00"
                          "c\xc2\x9b"
                          "d\xc3\xa9";
  fca_event_t ev = violation();
  ev.evidence.value = v;
  ev.evidence.value_len = sizeof v - 1;
  ev.page.url = "https://shop.test/\r\nFAKE";
  fmt(&ev, false);
  cr_assert_null(strchr(line, '\033'), "%s", line);
  cr_assert_null(strchr(line, '\r'));
  cr_assert_eq(strchr(line, '\n'), line + strlen(line) - 1, "one line");
  cr_assert_not_null(strstr(line, "a\\x1b[2Jb\\xff\\x00c\\xc2\\x9bd\xc3\xa9"), "%s", line);
  cr_assert_not_null(strstr(line, "https://shop.test/\\x0d\\x0aFAKE"), "%s", line);
}

Test(console, secrets_redacted) {
  fca_event_t ev = violation();
  ev.evidence.name = "set-cookie";
  ev.evidence.value = "sid=s3cr3t";
  ev.evidence.value_len = 10;
  cr_assert_null(strstr(fmt(&ev, false), "s3cr3t"), "%s", line);
  cr_assert_not_null(strstr(line, "set-cookie: [redacted]"), "%s", line);
}

Test(console, small_buffers) {
  fca_event_t ev = violation();
  char small[40];
  size_t n = fca_console_format(small, sizeof small, &ev, false);
  cr_assert_eq(n, strlen(small));
  cr_assert_lt(n, sizeof small);
  cr_assert_eq(small[n - 1], '\n', "a cut line still ends the line");
  cr_assert_str_eq(small, "ERROR   FC-COOP-1  https://shop.test/c\n");
  char one[1] = {'x'};
  cr_assert_eq(fca_console_format(one, 1, &ev, false), 0);
  cr_assert_eq(one[0], '\0');
  cr_assert_eq(fca_console_format(NULL, 0, &ev, false), 0);
  /* A cut never splits a UTF-8 character of the URL. */
  ev.page.url = "https://shop.test/\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";
  for (size_t sz = 2; sz < 60; sz++) {
    char b[60];
    size_t l = fca_console_format(b, sz, &ev, false);
    cr_assert_lt(l, sz);
    for (size_t i = 0; i + 1 < l; i++) {
      if ((unsigned char)b[i] == 0xc3) cr_assert_lt(i + 1, l - 1, "split at size %zu", sz);
    }
  }
}

Test(console, use_color) {
  FILE *f = tmpfile();
  cr_assert_not(fca_console_use_color(f, FCA_COLOR_AUTO), "a file is not a TTY");
  cr_assert(fca_console_use_color(f, FCA_COLOR_ALWAYS));
  cr_assert_not(fca_console_use_color(f, FCA_COLOR_NEVER));
  fca_event_t ev = violation();
  fca_console_write(f, &ev, false);
  rewind(f);
  char buf[512] = "";
  cr_assert_not_null(fgets(buf, sizeof buf, f));
  cr_assert(strncmp(buf, "ERROR   FC-COOP-1", 17) == 0, "%s", buf);
  fclose(f);
}
