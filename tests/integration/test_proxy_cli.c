/* Integration: the fcaudit binary's command line and lifecycle as a user meets them: refusals at
 * start (non-loopback --listen, a port in use, an unsafe CA key) with exit status 3 and a reason,
 * --config files against the command line, --version, --help against the man page, unknown
 * options, signals (drain on SIGTERM, a second signal forces, SIGHUP reopens the event log), and
 * the `ca` subcommands checked with OpenSSL. Only loopback addresses are ever listened on. */
#include "harness.h"

#include <criterion/criterion.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

TestSuite(proxy_cli, .fini = fca_harness_cleanup, .timeout = 120);

static fca_origin_t org;
static fca_testproxy_t px;

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Runs fcaudit with args (NULL-terminated) to completion (at most 20 s); returns its exit code. */
static int run_fcaudit(fca_run_t *r, const char *const args[]) {
  const char *argv[64];
  size_t k = 0;
  argv[k++] = FCA_TEST_BINARY;
  for (size_t i = 0; args[i] && k < 63; i++) argv[k++] = args[i];
  argv[k] = NULL;
  int rc = fca_run((char *const *)argv, 20000, r);
  cr_assert_eq(rc, 0, "fcaudit did not exit within 20 s (stderr: %s)", r->err);
  return fca_run_exit_code(r);
}

/* The options every proxy started here needs so that it touches nothing outside dir. */
static size_t base_args(const char **argv, const char *dir) {
  size_t k = 0;
  argv[k++] = FCA_TEST_BINARY;
  argv[k++] = "--only-resolved";
  argv[k++] = "--admin";
  argv[k++] = "off";
  argv[k++] = "--log";
  argv[k++] = fca_path(dir, "events.ndjson");
  return k;
}

/* A proxy run that must refuse to start: exit status 3, stderr returned (malloc'd). */
static char *expect_refusal(const char *dir, const char *const args[]) {
  const char *argv[64];
  size_t k = base_args(argv, dir);
  for (size_t i = 0; args[i] && k < 63; i++) argv[k++] = args[i];
  argv[k] = NULL;
  fca_run_t r;
  int rc = fca_run((char *const *)argv, 20000, &r);
  free((char *)argv[5]);
  cr_assert_eq(rc, 0, "fcaudit kept running when it should have refused to start: %s", r.err);
  int code = fca_run_exit_code(&r);
  cr_assert_eq(code, 3, "exit status %d, not 3 (stderr: %s)", code, r.err);
  free(r.out);
  return r.err;
}

/* Starts a proxy with args; waits until it accepts on tcp_port (polling every poll_ms).
 * Returns the pid (its stderr goes to dir/NAME.stderr). */
static pid_t start_raw_proxy_poll(const char *dir, const char *name, int tcp_port,
                                  const char *const args[], int poll_ms) {
  const char *argv[64];
  size_t k = base_args(argv, dir);
  for (size_t i = 0; args[i] && k < 63; i++) argv[k++] = args[i];
  argv[k] = NULL;
  char en[64];
  snprintf(en, sizeof en, "%s.stderr", name);
  char *errp = fca_path(dir, en);
  pid_t pid = fca_spawn((char *const *)argv, NULL, errp);
  free((char *)argv[5]);
  cr_assert_gt(pid, 0);
  long end = now_ms() + 20000;
  while (now_ms() < end) {
    if (!fca_proc_alive(pid)) break;
    int fd = fca_tcp_connect(tcp_port, 200);
    if (fd >= 0) {
      close(fd);
      free(errp);
      return pid;
    }
    sleep_ms(poll_ms);
  }
  char *e = fca_read_file(errp, NULL);
  cr_assert_fail("fcaudit did not start on port %d:\n%s", tcp_port, e ? e : "");
  return -1;
}

static pid_t start_raw_proxy(const char *dir, const char *name, int tcp_port,
                             const char *const args[]) {
  return start_raw_proxy_poll(dir, name, tcp_port, args, 20);
}

/* Stopping a proxy the moment it accepts connections is tested on its own
 * (sigterm_as_soon_as_listening_exits_0); other tests give it this long first. */
static void settle(void) { sleep_ms(200); }

static char *stderr_of(const char *dir, const char *name) {
  char en[64];
  snprintf(en, sizeof en, "%s.stderr", name);
  char *p = fca_path(dir, en);
  char *s = fca_read_file(p, NULL);
  free(p);
  return s ? s : strdup("");
}

/* ---- refusals at start ---- */

Test(proxy_cli, non_loopback_listen_needs_allow_remote) {
  char *dir = fca_tmpdir_new(), *ca = fca_path(dir, "ca");
  int port = fca_free_port();
  char any4[64], any6[64], net[64];
  snprintf(any4, sizeof any4, "0.0.0.0:%d", port);
  snprintf(any6, sizeof any6, "[::]:%d", port);
  snprintf(net, sizeof net, "192.0.2.1:%d", port);
  const char *const cases[] = {any4, any6, net};
  for (size_t i = 0; i < 3; i++) {
    char *err = expect_refusal(dir, (const char *[]){"--listen", cases[i], "--ca-dir", ca, NULL});
    cr_assert_not_null(strstr(err, "--allow-remote"), "the refusal does not say why: %s", err);
    cr_assert_not_null(strstr(err, cases[i]) || strstr(err, strrchr(cases[i], ':') + 1),
                       "the refusal does not name the address: %s", err);
    free(err);
  }
  /* refused before anything listened */
  cr_assert_lt(fca_tcp_connect(port, 200), 0);
  /* with --allow-remote the address check passes: 192.0.2.1 (a documentation address, not on
   * this machine) then fails to bind, or binds where nothing can reach it; no refusal either way */
  int p2 = fca_free_port();
  snprintf(net, sizeof net, "192.0.2.1:%d", p2);
  const char *argv[64];
  size_t k = base_args(argv, dir);
  const char *more[] = {"--listen", net, "--allow-remote", "--ca-dir", ca, NULL};
  for (size_t i = 0; more[i]; i++) argv[k++] = more[i];
  argv[k] = NULL;
  char *errp = fca_path(dir, "remote.stderr");
  pid_t pid = fca_spawn((char *const *)argv, NULL, errp);
  free((char *)argv[5]);
  int st;
  bool exited = fca_proc_wait(pid, 3000, &st) == 0;
  fca_proc_stop(pid, 3000);
  char *err = fca_read_file(errp, NULL);
  cr_assert_not_null(err);
  cr_assert_null(strstr(err, "refusing"), "--allow-remote did not lift the refusal: %s", err);
  if (exited) /* the address is not on this machine: bind failed, and it says so */
    cr_assert_not_null(strstr(err, "cannot listen on 192.0.2.1"), "%s", err);
  free(err);
  free(errp);
  free(ca);
  free(dir);
}

Test(proxy_cli, other_loopback_address_with_allow_remote) {
  cr_assert_eq(fca_origin_start(&org, NULL), 0);
  char *dir = fca_tmpdir_new(), *ca = fca_path(dir, "ca");
  int port = fca_free_port();
  char listen[64], proxy[64], u[96];
  snprintf(listen, sizeof listen, "127.0.0.2:%d", port);
  snprintf(proxy, sizeof proxy, "http://127.0.0.2:%d", port);
  snprintf(u, sizeof u, "http://127.0.0.1:%d/status/200", org.port);
  const char *args[] = {"--listen", listen, "--allow-remote", "--ca-dir", ca, NULL};
  const char *argv[64];
  size_t k = base_args(argv, dir);
  for (size_t i = 0; args[i]; i++) argv[k++] = args[i];
  argv[k] = NULL;
  char *errp = fca_path(dir, "p.stderr");
  pid_t pid = fca_spawn((char *const *)argv, NULL, errp);
  free((char *)argv[5]);
  /* curl can reach 127.0.0.2; the harness's own connect helper only knows 127.0.0.1 */
  fca_run_t r;
  long end = now_ms() + 20000;
  int rc;
  do {
    sleep_ms(50);
    cr_assert(fca_proc_alive(pid), "fcaudit exited: %s", fca_read_file(errp, NULL));
    fca_curl(&r, 5000, "-x", proxy, "-w", "|%{http_code}", u, NULL);
    rc = fca_run_exit_code(&r);
    if (rc != 0) fca_run_free(&r);
  } while (rc != 0 && now_ms() < end);
  cr_assert_eq(rc, 0, "no answer through %s", proxy);
  cr_assert_str_eq(r.out, "status 200\n|200");
  fca_run_free(&r);
  /* it listens on that address only */
  cr_assert_lt(fca_tcp_connect(port, 200), 0, "fcaudit also listens on 127.0.0.1:%d", port);
  cr_assert_eq(kill(pid, SIGTERM), 0);
  int st;
  cr_assert_eq(fca_proc_wait(pid, 10000, &st), 0);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
  free(errp);
  free(ca);
  free(dir);
}

static int listen_on(int port, bool reuseport) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cr_assert_geq(fd, 0);
  int one = 1;
  if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0, "bind: %s", strerror(errno));
  cr_assert_eq(listen(fd, 8), 0);
  cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  return fd;
}

static int port_of(int fd) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  return ntohs(a.sin_port);
}

Test(proxy_cli, port_in_use_is_an_error_at_start) {
  char *dir = fca_tmpdir_new(), *ca = fca_path(dir, "ca");
  /* a plain listener, one with SO_REUSEPORT (as fcaudit's workers use), and a running fcaudit */
  for (int i = 0; i < 3; i++) {
    int fd = -1, port;
    if (i < 2) {
      fd = listen_on(0, i == 1);
      port = port_of(fd);
    } else {
      cr_assert_eq(fca_testproxy_start(&px, NULL), 0);
      port = px.port;
    }
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    char *err = expect_refusal(dir, (const char *[]){"--listen", listen, "--ca-dir", ca, NULL});
    cr_assert_not_null(strstr(err, "address already in use"), "case %d: %s", i, err);
    cr_assert_not_null(strstr(err, listen), "case %d does not name the address: %s", i, err);
    free(err);
    if (fd >= 0) close(fd);
  }
  /* the fcaudit already running there is unharmed */
  cr_assert(fca_proc_alive(px.pid));
  int st = fca_testproxy_stop(&px);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  free(ca);
  free(dir);
}

/* ---- options ---- */

static int status_through(int port, const char *url, const char *const more[]) {
  char proxy[64];
  snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d", port);
  const char *args[32];
  size_t k = 0;
  args[k++] = "-x";
  args[k++] = proxy;
  args[k++] = "-o";
  args[k++] = "/dev/null";
  args[k++] = "-w";
  args[k++] = "%{http_code}";
  for (size_t i = 0; more && more[i]; i++) args[k++] = more[i];
  args[k++] = url;
  args[k] = NULL;
  fca_run_t r;
  fca_curl_argv(&r, 10000, args);
  int code = atoi(r.out);
  fca_run_free(&r);
  return code;
}

Test(proxy_cli, config_file_honoured_and_command_line_wins) {
  cr_assert_eq(fca_origin_start(&org, NULL), 0);
  char *dir = fca_tmpdir_new(), *cfgp = fca_path(dir, "fcaudit.conf");
  char text[512];
  snprintf(text, sizeof text,
           "# options for the test\n"
           "\n"
           "resolve = shop.test:%d:127.0.0.1\n"
           "  max-header-size = 1k   # small\n"
           "proxy-auth=cfg:secret\n",
           org.port);
  cr_assert_eq(fca_write_file(cfgp, text, strlen(text)), 0);
  char url[96], big[2100], hdr[2200];
  snprintf(url, sizeof url, "http://shop.test:%d/echo", org.port);
  memset(big, 'x', 2000);
  big[2000] = 0;
  snprintf(hdr, sizeof hdr, "X-Big: %s", big);
  /* the file alone: --resolve, --max-header-size and --proxy-auth all apply */
  cr_assert_eq(fca_testproxy_start(&px, (const char *[]){"--config", cfgp, NULL}), 0);
  cr_assert_eq(status_through(px.port, url, NULL), 407);
  cr_assert_eq(status_through(px.port, url, (const char *[]){"--proxy-user", "cfg:secret", NULL}),
               200);
  cr_assert_eq(
      status_through(px.port, url, (const char *[]){"--proxy-user", "cfg:secret", "-H", hdr, NULL}),
      431);
  fca_testproxy_stop(&px);
  /* the command line wins, whether it comes before or after --config */
  cr_assert_eq(fca_testproxy_start(&px, (const char *[]){"--max-header-size", "16k", "--config",
                                                         cfgp, "--proxy-auth", "cli:pw", NULL}),
               0);
  cr_assert_eq(status_through(px.port, url, (const char *[]){"--proxy-user", "cfg:secret", NULL}),
               407);
  cr_assert_eq(
      status_through(px.port, url, (const char *[]){"--proxy-user", "cli:pw", "-H", hdr, NULL}),
      200);
  fca_testproxy_stop(&px);
  /* a mistake in the file: exit 3 naming the file, the line and the option */
  snprintf(text, sizeof text, "resolve = shop.test:%d:127.0.0.1\nidle-timeuot = 5s\n", org.port);
  cr_assert_eq(fca_write_file(cfgp, text, strlen(text)), 0);
  fca_run_t r;
  cr_assert_eq(run_fcaudit(&r, (const char *[]){"--config", cfgp, "--admin", "off", NULL}), 3);
  char where[600];
  snprintf(where, sizeof where, "%s:2:", cfgp);
  cr_assert_not_null(strstr(r.err, where), "%s", r.err);
  cr_assert_not_null(strstr(r.err, "idle-timeuot"), "%s", r.err);
  cr_assert_not_null(strstr(r.err, "idle-timeout"), "no suggestion: %s", r.err);
  fca_run_free(&r);
  free(cfgp);
  free(dir);
}

Test(proxy_cli, version) {
  fca_run_t r;
  cr_assert_eq(run_fcaudit(&r, (const char *[]){"--version", NULL}), 0);
  cr_assert_str_eq(r.out, "fcaudit " FCA_VERSION "\n");
  cr_assert(isdigit((unsigned char)FCA_VERSION[0]) && strchr(FCA_VERSION, '.'));
  fca_run_free(&r);
}

/* roff escapes '-' as "\-" */
static char *roff_option(const char *name) {
  char *s = malloc(2 * strlen(name) + 8);
  size_t k = 0;
  s[k++] = '\\', s[k++] = '-', s[k++] = '\\', s[k++] = '-';
  for (const char *p = name; *p; p++) {
    if (*p == '-') s[k++] = '\\';
    s[k++] = *p;
  }
  s[k] = 0;
  return s;
}

Test(proxy_cli, help_groups_and_man_page_lists_every_option) {
  fca_run_t r;
  cr_assert_eq(run_fcaudit(&r, (const char *[]){"--help", NULL}), 0);
  static const char *const groups[] = {"Network",
                                       "Timeouts and limits",
                                       "TLS interception",
                                       "Audit",
                                       "Output and reports",
                                       "CI runs",
                                       "Admin",
                                       "General"};
  const char *prev = r.out;
  for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
    char h[64];
    snprintf(h, sizeof h, "\n%s:\n", groups[i]);
    const char *at = strstr(r.out, h);
    cr_assert_not_null(at, "--help lacks the group %s:\n%s", groups[i], r.out);
    cr_assert_gt(at, prev, "group %s out of order", groups[i]);
    prev = at;
  }
  size_t manlen;
  char *man = fca_read_file(FCA_TEST_SRCDIR "/man/fcaudit.1", &manlen);
  cr_assert_not_null(man, "no man page");
  /* every "  --name" at the start of a help line */
  size_t count = 0;
  for (const char *p = r.out; (p = strstr(p, "\n  --")); p += 5) {
    const char *s = p + 5, *e = s;
    while (*e && (isalnum((unsigned char)*e) || *e == '-')) e++;
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)(e - s), s);
    char *ro = roff_option(name);
    cr_assert_not_null(strstr(man, ro), "man/fcaudit.1 does not document --%s (%s)", name, ro);
    free(ro);
    count++;
  }
  cr_assert_geq(count, 30, "only %zu options found in --help", count);
  /* the ones a user needs first are among them */
  static const char *const must[] = {"listen", "allow-remote", "proxy-auth",   "config",
                                     "ca-dir", "ignore-hosts", "drain-timeout"};
  for (size_t i = 0; i < sizeof must / sizeof must[0]; i++) {
    char o[64];
    snprintf(o, sizeof o, "\n  --%s", must[i]);
    cr_assert_not_null(strstr(r.out, o), "--help lacks --%s", must[i]);
  }
  free(man);
  fca_run_free(&r);
}

Test(proxy_cli, unknown_option_exit_3_with_suggestion) {
  fca_run_t r;
  cr_assert_eq(run_fcaudit(&r, (const char *[]){"--listne", "127.0.0.1:1", NULL}), 3);
  cr_assert_not_null(strstr(r.err, "--listne"), "%s", r.err);
  cr_assert_not_null(strstr(r.err, "did you mean --listen"), "no suggestion: %s", r.err);
  cr_assert_eq(r.out_len, 0, "%s", r.out);
  fca_run_free(&r);
  /* a bad value names the option */
  cr_assert_eq(run_fcaudit(&r, (const char *[]){"--idle-timeout", "forever", NULL}), 3);
  cr_assert_not_null(strstr(r.err, "--idle-timeout"), "%s", r.err);
  fca_run_free(&r);
  /* an unknown subcommand */
  cr_assert_eq(run_fcaudit(&r, (const char *[]){"frobnicate", NULL}), 3);
  cr_assert_not_null(strstr(r.err, "frobnicate"), "%s", r.err);
  fca_run_free(&r);
}

/* ---- signals ---- */

/* A raw GET through the proxy on an open connection. */
static int send_get(int port, const char *path) {
  int fd = fca_tcp_connect(port, 3000);
  cr_assert_geq(fd, 0);
  char req[256];
  snprintf(req, sizeof req, "GET http://127.0.0.1:%d%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n",
           org.port, path, org.port);
  cr_assert_eq(fca_send_all(fd, req, strlen(req), 3000), 0);
  return fd;
}

Test(proxy_cli, sigterm_finishes_in_flight_response_then_exits_0) {
  cr_assert_eq(fca_origin_start(&org, NULL), 0);
  cr_assert_eq(fca_testproxy_start(&px, (const char *[]){"--drain-timeout", "10s", NULL}), 0);
  int fd = send_get(px.port, "/delay/2000");
  sleep_ms(300); /* the request is at the origin */
  long t0 = now_ms();
  cr_assert_eq(kill(px.pid, SIGTERM), 0);
  /* new connections are refused: the port is closed (a load balancer retries elsewhere) */
  sleep_ms(300);
  int other = fca_tcp_connect(px.port, 500);
  if (other >= 0) close(other);
  cr_assert_lt(other, 0, "the proxy port still accepts connections while draining");
  /* the in-flight response completes */
  char *resp = NULL;
  size_t n = 0;
  int closed = fca_recv_until(fd, &resp, &n, 0, "delayed 2000\n", 8000);
  long got_at = now_ms() - t0;
  cr_assert(strncmp(resp, "HTTP/1.1 200 OK\r\n", 17) == 0, "[%s]", resp);
  cr_assert_not_null(strstr(resp, "\r\n\r\ndelayed 2000\n"), "[%s]", resp);
  cr_assert_neq(closed, -1);
  /* then the connection is closed and the proxy exits 0, long before the drain timeout */
  closed = fca_recv_until(fd, &resp, &n, 0, NULL, 5000);
  cr_assert_eq(closed, 1, "the proxy kept the connection open after draining");
  close(fd);
  free(resp);
  int st;
  cr_assert_eq(fca_proc_wait(px.pid, 8000, &st), 0, "fcaudit still running after the drain");
  long exited_at = now_ms() - t0;
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d", st);
  cr_assert_geq(got_at, 1400, "the response came too early (%ld ms)", got_at);
  cr_assert_lt(exited_at, 6000, "exit %ld ms after SIGTERM (drain timeout 10 s)", exited_at);
}

Test(proxy_cli, drain_timeout_bounds_the_exit) {
  cr_assert_eq(fca_origin_start(&org, NULL), 0);
  cr_assert_eq(fca_testproxy_start(&px, (const char *[]){"--drain-timeout", "1s", NULL}), 0);
  int fd = send_get(px.port, "/hang");
  sleep_ms(300);
  long t0 = now_ms();
  cr_assert_eq(kill(px.pid, SIGTERM), 0);
  int st;
  cr_assert_eq(fca_proc_wait(px.pid, 8000, &st), 0, "fcaudit ignored --drain-timeout 1s");
  long took = now_ms() - t0;
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d", st);
  cr_assert_geq(took, 800, "exited before the drain timeout (%ld ms)", took);
  cr_assert_lt(took, 4000, "exit %ld ms after SIGTERM with --drain-timeout 1s", took);
  char *resp = NULL;
  size_t n = 0;
  cr_assert_eq(fca_recv_until(fd, &resp, &n, 0, NULL, 3000), 1, "the hung exchange stays open");
  free(resp);
  close(fd);
}

/* A supervisor may stop fcaudit as soon as its port answers (a CI step that failed early, a
 * test): that is still a clean stop with exit status 0, never death by the signal. */
Test(proxy_cli, sigterm_as_soon_as_listening_exits_0) {
  char *dir = fca_tmpdir_new(), *ca = fca_path(dir, "ca");
  int port = fca_free_port();
  char listen[64];
  snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
  const char *args[] = {"--listen", listen, "--ca-dir", ca, NULL};
  for (int i = 0; i < 40; i++) {
    pid_t pid = start_raw_proxy_poll(dir, "quick", port, args, 1);
    int sig = i % 2 ? SIGINT : SIGTERM;
    cr_assert_eq(kill(pid, sig), 0);
    int st;
    cr_assert_eq(fca_proc_wait(pid, 10000, &st), 0);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "start %d: %s as soon as the port accepted: %s %d, not exit 0", i,
              sig == SIGINT ? "SIGINT" : "SIGTERM",
              WIFSIGNALED(st) ? "killed by signal" : "exit status",
              WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
  }
  free(ca);
  free(dir);
}

static void second_signal_forces(int second) {
  cr_assert_eq(fca_origin_start(&org, NULL), 0);
  cr_assert_eq(fca_testproxy_start(&px, (const char *[]){"--drain-timeout", "60s", NULL}), 0);
  int fd = send_get(px.port, "/hang");
  sleep_ms(300);
  cr_assert_eq(kill(px.pid, SIGTERM), 0);
  sleep_ms(1000);
  cr_assert(fca_proc_alive(px.pid), "fcaudit did not wait for the in-flight exchange");
  long t0 = now_ms();
  cr_assert_eq(kill(px.pid, second), 0);
  int st;
  cr_assert_eq(fca_proc_wait(px.pid, 5000, &st), 0, "a second signal did not force the exit");
  cr_assert_lt(now_ms() - t0, 3000);
  cr_assert(WIFEXITED(st), "fcaudit died of a signal (%d) instead of exiting", st);
  close(fd);
}

Test(proxy_cli, second_sigint_during_drain_forces_exit) { second_signal_forces(SIGINT); }

Test(proxy_cli, second_sigterm_during_drain_forces_exit) { second_signal_forces(SIGTERM); }

Test(proxy_cli, sighup_reopens_event_log) {
  cr_assert_eq(fca_origin_start(&org, NULL), 0);
  cr_assert_eq(fca_testproxy_start(&px, NULL), 0);
  char u[96];
  snprintf(u, sizeof u, "http://127.0.0.1:%d/status/200", org.port);
  cr_assert_eq(status_through(px.port, u, NULL), 200);
  cr_assert_eq(access(px.log_path, F_OK), 0, "no event log at %s", px.log_path);
  char *rotated = fca_path(px.dir, "events.ndjson.1");
  cr_assert_eq(rename(px.log_path, rotated), 0);
  cr_assert_eq(kill(px.pid, SIGHUP), 0);
  long end = now_ms() + 5000;
  bool back = false;
  while (!back && now_ms() < end) {
    cr_assert_eq(status_through(px.port, u, NULL), 200);
    back = access(px.log_path, F_OK) == 0;
    if (!back) sleep_ms(100);
  }
  cr_assert(back, "the event log was not reopened at %s after SIGHUP", px.log_path);
  cr_assert(fca_proc_alive(px.pid), "SIGHUP stopped fcaudit");
  cr_assert_eq(access(rotated, F_OK), 0);
  /* another SIGHUP without a rename is harmless */
  cr_assert_eq(kill(px.pid, SIGHUP), 0);
  sleep_ms(200);
  cr_assert_eq(status_through(px.port, u, NULL), 200);
  int st = fca_testproxy_stop(&px);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d", st);
  free(rotated);
}

/* ---- the CA ---- */

static char *ca_cmd(const char *ca_dir, const char *action, const char *arg, int want_code,
                    size_t *out_len) {
  fca_run_t r;
  int code = run_fcaudit(&r, (const char *[]){"--ca-dir", ca_dir, "ca", action, arg, NULL});
  cr_assert_eq(code, want_code, "fcaudit ca %s exited %d: %s", action, code, r.err);
  if (out_len) *out_len = r.out_len;
  char *out = r.out;
  free(r.err);
  return out;
}

static void hex(const unsigned char *d, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", d[i]);
}

/* The hex digits of s, lower-case. */
static void only_hex(const char *s, char *out, size_t cap) {
  size_t k = 0;
  for (; *s && *s != '\n' && k + 1 < cap; s++)
    if (isxdigit((unsigned char)*s)) out[k++] = (char)tolower((unsigned char)*s);
  out[k] = 0;
}

Test(proxy_cli, ca_init_show_export_spki_path) {
  char *dir = fca_tmpdir_new(), *ca = fca_path(dir, "myca");
  char *pem_path = fca_path(ca, "ca.pem"), *key_path = fca_path(ca, "ca.key");
  /* path works before there is a CA */
  char *out = ca_cmd(ca, "path", NULL, 0, NULL);
  char want[600];
  snprintf(want, sizeof want, "%s\n", pem_path);
  cr_assert_str_eq(out, want);
  free(out);
  /* init creates it, key mode 0600 */
  free(ca_cmd(ca, "init", NULL, 0, NULL));
  struct stat st;
  cr_assert_eq(stat(key_path, &st), 0, "no key at %s", key_path);
  cr_assert_eq(st.st_mode & 0777, 0600, "key mode %o", (unsigned)(st.st_mode & 0777));
  size_t pem_len;
  char *pem_file = fca_read_file(pem_path, &pem_len);
  cr_assert_not_null(pem_file);
  /* a second init does not replace it */
  free(ca_cmd(ca, "init", NULL, 3, NULL));
  char *again = fca_read_file(pem_path, NULL);
  cr_assert_str_eq(again, pem_file, "ca init replaced an existing CA");
  free(again);
  /* export: a CA certificate, the one on disk */
  size_t n;
  out = ca_cmd(ca, "export", NULL, 0, &n);
  BIO *b = BIO_new_mem_buf(out, (int)n);
  X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
  BIO_free(b);
  cr_assert_not_null(x, "ca export is not a PEM certificate: %s", out);
  cr_assert_eq(X509_check_ca(x), 1, "the exported certificate is not a CA");
  EVP_PKEY *pk = X509_get0_pubkey(x);
  cr_assert_eq(EVP_PKEY_get_base_id(pk), EVP_PKEY_EC, "default key is not ECDSA");
  b = BIO_new_mem_buf(pem_file, (int)pem_len);
  X509 *disk = PEM_read_bio_X509(b, NULL, NULL, NULL);
  BIO_free(b);
  cr_assert_eq(X509_cmp(x, disk), 0, "export differs from %s", pem_path);
  X509_free(disk);
  free(out);
  /* export --der: the same certificate */
  out = ca_cmd(ca, "export", "--der", 0, &n);
  const unsigned char *p = (const unsigned char *)out;
  X509 *xd = d2i_X509(NULL, &p, (long)n);
  cr_assert_not_null(xd, "ca export --der does not parse");
  cr_assert_eq(X509_cmp(x, xd), 0);
  X509_free(xd);
  free(out);
  /* spki: base64 of SHA-256 over the certificate's SubjectPublicKeyInfo */
  unsigned char *spki_der = NULL;
  int dl = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki_der);
  cr_assert_gt(dl, 0);
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(spki_der, (size_t)dl, md);
  OPENSSL_free(spki_der);
  char b64[64];
  EVP_EncodeBlock((unsigned char *)b64, md, sizeof md);
  out = ca_cmd(ca, "spki", NULL, 0, NULL);
  char spki_line[80];
  snprintf(spki_line, sizeof spki_line, "%s\n", b64);
  cr_assert_str_eq(out, spki_line, "ca spki does not match the exported certificate");
  free(out);
  /* show: subject, fingerprint (matching the certificate), validity, SPKI, paths */
  out = ca_cmd(ca, "show", NULL, 0, NULL);
  cr_assert_not_null(strstr(out, "Subject:"), "%s", out);
  cr_assert_not_null(strstr(out, b64), "show lacks the SPKI hash: %s", out);
  cr_assert_not_null(strstr(out, pem_path), "show lacks the path: %s", out);
  cr_assert_not_null(strcasestr(out, "Not after"), "%s", out);
  const char *fp = strstr(out, "SHA-256:");
  cr_assert_not_null(fp, "%s", out);
  unsigned char cd[32];
  unsigned int cl = 0;
  X509_digest(x, EVP_sha256(), cd, &cl);
  char hx[80], shown[200];
  hex(cd, cl, hx);
  only_hex(fp + 8, shown, sizeof shown);
  cr_assert_str_eq(shown, hx, "show's SHA-256 is not the certificate's");
  free(out);
  X509_free(x);
  free(pem_file);
  /* --ca-key-type rsa2048 */
  char *rsa = fca_path(dir, "rsa");
  fca_run_t r;
  cr_assert_eq(run_fcaudit(&r, (const char *[]){"--ca-dir", rsa, "--ca-key-type", "rsa2048", "ca",
                                                "init", NULL}),
               0, "%s", r.err);
  fca_run_free(&r);
  out = ca_cmd(rsa, "export", NULL, 0, &n);
  b = BIO_new_mem_buf(out, (int)n);
  x = PEM_read_bio_X509(b, NULL, NULL, NULL);
  BIO_free(b);
  cr_assert_not_null(x);
  cr_assert_eq(EVP_PKEY_get_base_id(X509_get0_pubkey(x)), EVP_PKEY_RSA);
  cr_assert_eq(EVP_PKEY_get_bits(X509_get0_pubkey(x)), 2048);
  X509_free(x);
  free(out);
  free(rsa);
  free(pem_path);
  free(key_path);
  free(ca);
  free(dir);
}

Test(proxy_cli, ca_key_readable_by_others_refused) {
  char *dir = fca_tmpdir_new(), *ca = fca_path(dir, "ca"), *key = fca_path(ca, "ca.key");
  free(ca_cmd(ca, "init", NULL, 0, NULL));
  cr_assert_eq(chmod(key, 0644), 0);
  int port = fca_free_port();
  char listen[64];
  snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
  char *err = expect_refusal(dir, (const char *[]){"--listen", listen, "--ca-dir", ca, NULL});
  cr_assert_not_null(strcasestr(err, "permission"), "the refusal does not say why: %s", err);
  cr_assert_not_null(strstr(err, key), "the refusal does not name the key: %s", err);
  free(err);
  cr_assert_lt(fca_tcp_connect(port, 200), 0);
  /* group-readable is as bad */
  cr_assert_eq(chmod(key, 0640), 0);
  err = expect_refusal(dir, (const char *[]){"--listen", listen, "--ca-dir", ca, NULL});
  cr_assert_not_null(strcasestr(err, "permission"), "%s", err);
  free(err);
  /* fixed: it starts */
  cr_assert_eq(chmod(key, 0600), 0);
  pid_t pid =
      start_raw_proxy(dir, "ok", port, (const char *[]){"--listen", listen, "--ca-dir", ca, NULL});
  settle();
  cr_assert_eq(kill(pid, SIGTERM), 0);
  int st;
  cr_assert_eq(fca_proc_wait(pid, 10000, &st), 0);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  free(key);
  free(ca);
  free(dir);
}

Test(proxy_cli, ca_created_on_first_start_and_announced_once) {
  char *dir = fca_tmpdir_new(), *ca = fca_path(dir, "newca"), *pem = fca_path(ca, "ca.pem");
  int port = fca_free_port();
  char listen[64];
  snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
  const char *args[] = {"--listen", listen, "--ca-dir", ca, NULL};
  pid_t pid = start_raw_proxy(dir, "first", port, args);
  int st;
  settle();
  cr_assert_eq(kill(pid, SIGTERM), 0);
  cr_assert_eq(fca_proc_wait(pid, 10000, &st), 0);
  char *err = stderr_of(dir, "first");
  cr_assert_not_null(strstr(err, pem), "the new CA's path is not shown: %s", err);
  cr_assert_not_null(strstr(err, "--cacert"), "no hint how to trust it: %s", err);
  cr_assert_eq(fca_count_str(err, strlen(err), "To trust it"), 1, "%s", err);
  free(err);
  char *first_pem = fca_read_file(pem, NULL);
  cr_assert_not_null(first_pem);
  /* the second start reuses it and says nothing about it */
  pid = start_raw_proxy(dir, "second", port, args);
  settle();
  cr_assert_eq(kill(pid, SIGTERM), 0);
  cr_assert_eq(fca_proc_wait(pid, 10000, &st), 0);
  err = stderr_of(dir, "second");
  cr_assert_null(strstr(err, "To trust it"), "announced again: %s", err);
  free(err);
  char *second_pem = fca_read_file(pem, NULL);
  cr_assert_str_eq(first_pem, second_pem, "the CA changed between starts");
  free(first_pem);
  free(second_pem);
  free(pem);
  free(ca);
  free(dir);
}
