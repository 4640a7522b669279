/* Integration: command-line conventions every subcommand follows: options before or after the
 * subcommand word, `NAME --help`, the closest name suggested for a typo. Runs the built binary;
 * nothing but a temporary CA directory and event log is touched. */
#include "cli_helpers.h"

static char *run_ok(char *const argv[]) {
  cli_proc_t p;
  int rc = cli_run(&p, argv, NULL);
  cr_assert_eq(rc, 0, "%s %s: %s", argv[1], argv[2] ? argv[2] : "", p.err);
  free(p.err);
  return p.out;
}

static char *run_fail(char *const argv[]) {
  cli_proc_t p;
  int rc = cli_run(&p, argv, NULL);
  cr_assert_eq(rc, 3, "usage errors exit 3: %s", p.err);
  free(p.out);
  return p.err;
}

Test(cli_conventions, ca_options_before_or_after_the_word) {
  char *dir = cli_tmpdir();
  char *ca = fca_xasprintf("%s/ca", dir);
  char *out = run_ok((char *[]){FCA_TEST_BINARY, "ca", "init", "--ca-dir", ca, NULL});
  cr_assert(strstr(out, "Created a new"), "%s", out);
  free(out);
  char *pem = fca_xasprintf("%s/ca.pem", ca);
  cr_assert_eq(access(pem, R_OK), 0, "the CA is where --ca-dir said");
  char *a = run_ok((char *[]){FCA_TEST_BINARY, "--ca-dir", ca, "ca", "spki", NULL});
  char *b = run_ok((char *[]){FCA_TEST_BINARY, "ca", "spki", "--ca-dir", ca, NULL});
  char *c = run_ok((char *[]){FCA_TEST_BINARY, "ca", "--ca-dir", ca, "spki", NULL});
  char *eq = fca_xasprintf("--ca-dir=%s", ca);
  char *d = run_ok((char *[]){FCA_TEST_BINARY, "ca", "spki", eq, NULL});
  cr_assert_str_eq(a, d);
  free(eq);
  cr_assert_eq(strlen(a), 45, "base64 of 32 bytes and a newline: %s", a);
  cr_assert_str_eq(a, b);
  cr_assert_str_eq(a, c);
  free(a), free(b), free(c), free(d);
  /* init again: refused without --force, whichever side of the word it is on */
  char *e = run_fail((char *[]){FCA_TEST_BINARY, "ca", "--ca-dir", ca, "init", NULL});
  cr_assert(strstr(e, "already exists"), "%s", e);
  free(e);
  out = run_ok((char *[]){FCA_TEST_BINARY, "--force", "ca", "init", "--ca-dir", ca, NULL});
  free(out);
  cli_rm_rf(dir);
  free(dir), free(ca), free(pem);
}

Test(cli_conventions, every_subcommand_has_help) {
  const char *cmds[] = {"ca", "run", "report", "tail", "browse", "audit"};
  for (size_t i = 0; i < 6; i++) {
    char *out = run_ok((char *[]){FCA_TEST_BINARY, (char *)cmds[i], "--help", NULL});
    char *want = fca_xasprintf("usage: fcaudit %s ", cmds[i]);
    cr_assert(strncmp(out, want, strlen(want)) == 0, "%s --help:\n%s", cmds[i], out);
    free(out);
    out = run_ok((char *[]){FCA_TEST_BINARY, "--help", (char *)cmds[i], NULL});
    cr_assert(strncmp(out, want, strlen(want)) == 0, "--help %s:\n%s", cmds[i], out);
    free(out);
    free(want);
  }
  char *out = run_ok((char *[]){FCA_TEST_BINARY, "ca", "-h", NULL});
  cr_assert(strstr(out, "--force"), "%s", out);
  free(out);
}

Test(cli_conventions, typos_get_the_closest_name) {
  char *e = run_fail((char *[]){FCA_TEST_BINARY, "tial", NULL});
  cr_assert(strstr(e, "unknown command 'tial' (did you mean tail?)"), "%s", e);
  free(e);
  e = run_fail((char *[]){FCA_TEST_BINARY, "brwose", "--headless", NULL});
  cr_assert(strstr(e, "did you mean browse?"), "%s", e);
  free(e);
  e = run_fail((char *[]){FCA_TEST_BINARY, "ca", "init", "--ca-dri", "/nonexistent", NULL});
  cr_assert(strstr(e, "unknown option --ca-dri"), "%s", e);
  cr_assert(strstr(e, "did you mean --ca-dir?"), "%s", e);
  free(e);
  e = run_fail((char *[]){FCA_TEST_BINARY, "tail", "--no-folow", "x.ndjson", NULL});
  cr_assert(strstr(e, "did you mean --no-follow?"), "%s", e);
  free(e);
  e = run_fail((char *[]){FCA_TEST_BINARY, "ca", "exprot", NULL});
  cr_assert(strstr(e, "did you mean export?"), "%s", e);
  free(e);
  e = run_fail((char *[]){FCA_TEST_BINARY, "--der", NULL});
  cr_assert(strstr(e, "--der belongs to `fcaudit ca`"), "%s", e);
  free(e);
}

Test(cli_conventions, tail_options_before_the_word_and_no_follow) {
  char *dir = cli_tmpdir();
  char *log = fca_xasprintf("%s/e.ndjson", dir);
  cli_write(log,
            "{\"schema\":1,\"run\":\"r\",\"ts\":\"2026-12-06T10:00:00.000Z\",\"type\":\"note\","
            "\"note\":\"n1\",\"message\":\"m\"}\n"
            "{\"schema\":1,\"run\":\"r\",\"ts\":\"2026-12-06T10:00:01.000Z\",\"type\":\"note\","
            "\"note\":\"n2\",\"message\":\"m\"}\n");
  char *a = run_ok((char *[]){FCA_TEST_BINARY, "--no-follow", "-n", "1", "--log", log, "tail",
                              "--color", "never", NULL});
  char *b = run_ok(
      (char *[]){FCA_TEST_BINARY, "tail", "--no-follow", "-n", "1", "--color", "never", log, NULL});
  cr_assert_str_eq(a, b);
  cr_assert(strstr(a, "n2") && !strstr(a, "n1"), "-n 1: the last event only: %s", a);
  free(a), free(b);
  cli_rm_rf(dir);
  free(dir), free(log);
}
