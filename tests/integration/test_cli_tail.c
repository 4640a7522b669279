/* Integration tests of `fcaudit tail`: following a log while this process appends to it, rotates
 * it (rename + new file) and truncates it: every event printed once, in order; -n N; --level,
 * --rule, --url filters; --json pass-through; keeping up with a fast writer. */
#include "cli_helpers.h"

/* One page event for https://s.test/N. */
static char *page_line(int n) {
  return fca_xasprintf("{\"schema\":1,\"run\":\"r1\",\"ts\":\"2026-11-24T10:00:00.000Z\",\"type\":"
                       "\"page\",\"page\":{\"id\":%d,\"url\":\"https://s.test/%d\",\"top_level\":"
                       "true,\"tagged_by\":\"script-tag\",\"confidence\":\"high\"}}\n",
                       n, n);
}

static char *violation_line(const char *rule, const char *level, const char *url) {
  return fca_xasprintf(
      "{\"schema\":1,\"run\":\"r1\",\"ts\":\"2026-11-24T10:00:00.000Z\",\"type\":\"violation\","
      "\"rule\":\"%s\",\"level\":\"%s\",\"item\":1,\"message\":\"m\",\"fix\":\"do x\",\"page\":"
      "{\"id\":1,\"url\":\"%s\",\"top_level\":true,\"tagged_by\":\"script-tag\",\"confidence\":"
      "\"high\"},\"evidence\":{\"source\":\"header\",\"name\":\"H\",\"value\":\"v\",\"offset\":"
      "null}}\n",
      rule, level, url);
}

static void append_pages(const char *path, int from, int to) {
  for (int i = from; i <= to; i++) {
    char *l = page_line(i);
    cli_append(path, l);
    free(l);
  }
}

/* The numbers N of "https://s.test/N" in output order. */
static size_t numbers(const char *out, int *nums, size_t max) {
  size_t n = 0;
  for (const char *p = strstr(out, "https://s.test/"); p && n < max;
       p = strstr(p + 1, "https://s.test/"))
    nums[n++] = atoi(p + strlen("https://s.test/"));
  return n;
}

static void assert_sequence(const char *out, int from, int to) {
  int nums[20000];
  size_t n = numbers(out, nums, 20000);
  cr_assert_eq(n, (size_t)(to - from + 1), "expected %d events, got %zu:\n%.2000s", to - from + 1,
               n, out);
  for (size_t i = 0; i < n; i++)
    cr_assert_eq(nums[i], from + (int)i, "event %zu is %d, expected %d", i, nums[i], from + (int)i);
}

static char *until(int n) { return fca_xasprintf("https://s.test/%d ", n); }

static bool wait_event(cli_proc_t *p, int n) {
  char *u = until(n);
  bool ok = cli_wait_for_out(p, u, 15000);
  free(u);
  return ok;
}

Test(cli_tail, follows_appends_rotation_and_truncation) {
  char *dir = cli_tmpdir();
  char *log = fca_xasprintf("%s/events.ndjson", dir);
  char *rotated = fca_xasprintf("%s/events.ndjson.1", dir);
  cli_proc_t p;
  const char *argv[] = {FCA_TEST_BINARY, "tail", "--color", "never", "-n", "0", log, NULL};
  /* started before the file exists: it waits for it */
  cli_start(&p, (char *const *)argv, NULL);
  cli_sleep_ms(150);
  append_pages(log, 1, 50);
  cr_assert(wait_event(&p, 50), "%s / %s", p.out, p.err);
  /* a line written in two pieces is printed once, whole */
  char *l51 = page_line(51);
  size_t half = strlen(l51) / 2;
  char *first = fca_xstrndup(l51, half);
  cli_append(log, first);
  cli_sleep_ms(250);
  cli_append(log, l51 + half);
  free(first), free(l51);
  append_pages(log, 52, 60);
  cr_assert(wait_event(&p, 60));
  /* rotation: rename, then a new file at the path */
  append_pages(log, 61, 70);
  cr_assert_eq(rename(log, rotated), 0);
  append_pages(rotated, 71, 75); /* the writer still had the old file open */
  cli_sleep_ms(50);
  append_pages(log, 76, 100);
  cr_assert(wait_event(&p, 100), "%s / %s", p.out, p.err);
  /* truncation: the file is cut to nothing and written again */
  int fd = open(log, O_WRONLY | O_TRUNC);
  cr_assert_geq(fd, 0);
  close(fd);
  cli_sleep_ms(400);
  append_pages(log, 101, 120);
  cr_assert(wait_event(&p, 120), "%s / %s", p.out, p.err);
  kill(p.pid, SIGTERM);
  cli_wait(&p, 10000);
  assert_sequence(p.out, 1, 120);
  cr_assert(strstr(p.err, "truncated"), "%s", p.err);
  cli_proc_free(&p);
  cli_rm_rf(dir);
  free(dir), free(log), free(rotated);
}

Test(cli_tail, keeps_up_with_a_fast_writer) {
  char *dir = cli_tmpdir();
  char *log = fca_xasprintf("%s/events.ndjson", dir);
  cli_write(log, "");
  cli_proc_t p;
  const char *argv[] = {FCA_TEST_BINARY, "tail", "--color", "never", "-n", "0", log, NULL};
  cli_start(&p, (char *const *)argv, NULL);
  cli_sleep_ms(150);
  /* 5000 events as fast as one write(2) per line goes, like the sink */
  int fd = open(log, O_WRONLY | O_APPEND);
  for (int i = 1; i <= 5000; i++) {
    char *l = page_line(i);
    cr_assert_eq(write(fd, l, strlen(l)), (ssize_t)strlen(l));
    free(l);
  }
  close(fd);
  cr_assert(wait_event(&p, 5000), "%.300s", p.err);
  kill(p.pid, SIGTERM);
  cli_wait(&p, 10000);
  assert_sequence(p.out, 1, 5000);
  cli_proc_free(&p);
  cli_rm_rf(dir);
  free(dir), free(log);
}

Test(cli_tail, last_n_first) {
  char *dir = cli_tmpdir();
  char *log = fca_xasprintf("%s/events.ndjson", dir);
  append_pages(log, 1, 20);
  cli_proc_t p;
  cr_assert_eq(
      cli_run(&p, (char *[]){FCA_TEST_BINARY, "tail", "--no-follow", "-n", "5", log, NULL}, NULL),
      0, "%s", p.err);
  assert_sequence(p.out, 16, 20);
  cli_proc_free(&p);
  /* default: 10 */
  cr_assert_eq(cli_run(&p, (char *[]){FCA_TEST_BINARY, "tail", "--no-follow", log, NULL}, NULL), 0);
  assert_sequence(p.out, 11, 20);
  cli_proc_free(&p);
  /* following: the last 3, then what comes */
  const char *argv[] = {FCA_TEST_BINARY, "tail", "-n", "3", log, NULL};
  cli_start(&p, (char *const *)argv, NULL);
  cr_assert(wait_event(&p, 20));
  append_pages(log, 21, 22);
  cr_assert(wait_event(&p, 22));
  kill(p.pid, SIGTERM);
  cli_wait(&p, 10000);
  assert_sequence(p.out, 18, 22);
  cli_proc_free(&p);
  /* bad -n */
  cr_assert_eq(cli_run(&p, (char *[]){FCA_TEST_BINARY, "tail", "-n", "x", log, NULL}, NULL), 3);
  cli_proc_free(&p);
  cli_rm_rf(dir);
  free(dir), free(log);
}

Test(cli_tail, filters_and_json) {
  char *dir = cli_tmpdir();
  char *log = fca_xasprintf("%s/events.ndjson", dir);
  const char *rows[][3] = {{"FC-COOP-1", "error", "https://a.test/checkout"},
                           {"FC-REF-4", "info", "https://a.test/checkout"},
                           {"FC-SBX-1", "error", "https://b.test/frame"},
                           {"FC-ISO-1", "warning", "https://b.test/frame"}};
  char *all = fca_xstrdup("");
  for (size_t i = 0; i < 4; i++) {
    char *l = violation_line(rows[i][0], rows[i][1], rows[i][2]);
    char *n = fca_xasprintf("%s%s", all, l);
    free(all), free(l);
    all = n;
  }
  char *page = page_line(1);
  char *n = fca_xasprintf("%s%s", all, page);
  free(all), free(page);
  all = n;
  cli_write(log, all);
  cli_proc_t p;
  /* --level warning: errors and the warning; not the info, not the page */
  cr_assert_eq(cli_run(&p,
                       (char *[]){FCA_TEST_BINARY, "tail", "--no-follow", "--color", "never",
                                  "--level", "warning", log, NULL},
                       NULL),
               0);
  cr_assert(strstr(p.out, "FC-COOP-1") && strstr(p.out, "FC-SBX-1") && strstr(p.out, "FC-ISO-1"));
  cr_assert_null(strstr(p.out, "FC-REF-4"));
  cr_assert_null(strstr(p.out, "PAGE"));
  cr_assert(strstr(p.out, "fix: do x"), "console format: %s", p.out);
  cli_proc_free(&p);
  /* --rule glob */
  cr_assert_eq(
      cli_run(&p,
              (char *[]){FCA_TEST_BINARY, "tail", "--no-follow", "--rule", "FC-SBX-*", log, NULL},
              NULL),
      0);
  cr_assert(strstr(p.out, "FC-SBX-1"));
  cr_assert_null(strstr(p.out, "FC-COOP-1"));
  cli_proc_free(&p);
  /* --url glob */
  cr_assert_eq(cli_run(&p,
                       (char *[]){FCA_TEST_BINARY, "tail", "--no-follow", "--url",
                                  "https://a.test/*", log, NULL},
                       NULL),
               0);
  cr_assert(strstr(p.out, "FC-COOP-1") && strstr(p.out, "FC-REF-4"));
  cr_assert_null(strstr(p.out, "b.test"));
  cli_proc_free(&p);
  /* --json: the lines exactly as logged */
  cr_assert_eq(
      cli_run(&p, (char *[]){FCA_TEST_BINARY, "tail", "--no-follow", "--json", log, NULL}, NULL),
      0);
  cr_assert_str_eq(p.out, all);
  cli_proc_free(&p);
  /* --json with a filter keeps raw lines too */
  cr_assert_eq(cli_run(&p,
                       (char *[]){FCA_TEST_BINARY, "tail", "--no-follow", "--json", "--level",
                                  "error", log, NULL},
                       NULL),
               0);
  cr_assert_eq(cli_lines(p.out), 2);
  cr_assert(p.out[0] == '{');
  cli_proc_free(&p);
  /* colors only when asked (not a TTY here) */
  cr_assert_eq(
      cli_run(&p,
              (char *[]){FCA_TEST_BINARY, "tail", "--no-follow", "--color", "always", log, NULL},
              NULL),
      0);
  cr_assert(strstr(p.out, "\033["));
  cli_proc_free(&p);
  cr_assert_eq(cli_run(&p, (char *[]){FCA_TEST_BINARY, "tail", "--no-follow", log, NULL}, NULL), 0);
  cr_assert_null(strstr(p.out, "\033["));
  cli_proc_free(&p);
  cli_rm_rf(dir);
  free(dir), free(log), free(all);
}
