/* Integration tests from an adversarial campaign against the real binary: descriptor
 * exhaustion, requests that loop back into the proxy under other spellings of its address,
 * bytes sent in the same packet as CONNECT, hostile request framing (whitespace before the
 * colon, HTTP/0.9 and HTTP/2.0 request lines, too many fields), and secrets that must never be
 * echoed (userinfo passwords, queries under --redact-query). Loopback only. */
#include "harness.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/ssl.h>

TestSuite(hostile, .fini = fca_harness_cleanup, .timeout = 120);

static fca_origin_t org;
static fca_testproxy_t px;

static size_t exchange(const char *req, size_t req_len, char **resp, const char *needle,
                       int timeout_ms) {
  size_t n = 0;
  int rc = fca_raw_exchange(px.port, req, req_len, resp, &n, 0, needle, timeout_ms);
  cr_assert_geq(rc, 0, "raw exchange with the proxy failed");
  return n;
}

static char *fca_xasprintf_test(const char *fmt, int v) {
  char *s = malloc(256);
  snprintf(s, 256, fmt, v);
  return s;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A nonblocking connect to 127.0.0.1:port: the kernel completes it into the listen backlog
 * whether or not the proxy accepts it. */
static int connect_nb(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  connect(fd, (struct sockaddr *)&a, sizeof a);
  return fd;
}

/* ---- 1. descriptor exhaustion ---- */

Test(hostile, fd_exhaustion_backs_off_says_so_once_and_resumes) {
  cr_assert_eq(fca_origin_start(&org, NULL), 0);
  /* The proxy inherits a limit of 64 descriptors; the test itself needs more. */
  struct rlimit old;
  cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
  struct rlimit low = {64, old.rlim_max};
  cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
  int rc = fca_testproxy_start(&px, (const char *const[]){"--workers", "1", NULL});
  setrlimit(RLIMIT_NOFILE, &old);
  cr_assert_eq(rc, 0, "fcaudit did not start");
  enum { N = 300 };
  struct rlimit need = {old.rlim_cur < 1024 ? 1024 : old.rlim_cur, old.rlim_max};
  if (need.rlim_cur > need.rlim_max) need.rlim_cur = need.rlim_max;
  setrlimit(RLIMIT_NOFILE, &need);
  int fds[N];
  for (int i = 0; i < N; i++) fds[i] = connect_nb(px.port);
  usleep(1500 * 1000);
  char *err = fca_testproxy_stderr(&px);
  size_t elen = strlen(err);
  size_t said = fca_count_str(err, elen, "accept");
  cr_assert_leq(said, 1,
                "exhaustion is reported once per episode, not per attempt (%zu times, "
                "%zu bytes of stderr):\n%.2000s",
                said, elen, err);
  cr_assert_not_null(strstr(err, "file descriptors"), "the episode is reported:\n%.2000s", err);
  int wst = 0;
  bool alive = fca_proc_alive(px.pid) || fca_proc_wait(px.pid, 0, &wst) != 0;
  if (!alive) {
    free(err);
    err = fca_testproxy_stderr(&px);
    elen = strlen(err);
  }
  cr_assert(alive, "fcaudit died (wait status %#x):\n%.3000s", (unsigned)wst,
            err + (elen > 3000 ? elen - 3000 : 0));
  free(err);
  for (int i = 0; i < N; i++)
    if (fds[i] >= 0) close(fds[i]);
  setrlimit(RLIMIT_NOFILE, &old);
  /* Once clients went away the proxy serves again, and says the episode ended with a count. */
  char *url = fca_origin_url(&org, "/echo");
  char *proxy = fca_testproxy_url(&px);
  bool served = false;
  for (int64_t end = now_ms() + 10000; now_ms() < end && !served;) {
    fca_run_t r;
    fca_curl(&r, 3000, "-x", proxy, url, NULL);
    served = fca_run_exit_code(&r) == 0 && strstr(r.out, "target: /echo") != NULL;
    fca_run_free(&r);
    if (!served) usleep(200 * 1000);
  }
  cr_assert(served, "the proxy accepts connections again");
  err = NULL;
  for (int64_t end = now_ms() + 5000; now_ms() < end; usleep(100 * 1000)) {
    free(err);
    err = fca_testproxy_stderr(&px);
    if (strstr(err, "accepting connections again")) break;
  }
  cr_assert_not_null(strstr(err, "accepting connections again"), "%.2000s", err);
  cr_assert_not_null(strstr(err, "refused"), "the end of the episode gives a count:\n%.2000s", err);
  free(err);
  free(url);
  free(proxy);
}

/* ---- 2. loops through other spellings of the proxy's address ---- */

static void start_dns_off(const char *const extra[]) {
  /* No --only-resolved (address literals pass as they would for a user); DNS goes nowhere. */
  const char *args[16] = {"--dns-server", "127.0.0.1:9", "--workers", "1"};
  size_t k = 4;
  while (extra && *extra) args[k++] = *extra++;
  args[k] = NULL;
  cr_assert_eq(fca_testproxy_start_flags(&px, args, FCA_TESTPROXY_ALLOW_DNS), 0);
}

static void expect_508(const char *req) {
  char *resp;
  size_t rn = exchange(req, strlen(req), &resp, "\r\n\r\n", 5000);
  cr_assert(rn >= 12 && strncmp(resp, "HTTP/1.1 508", 12) == 0, "%s ->\n%.*s", req, (int)rn, resp);
  free(resp);
}

Test(hostile, loop_through_unspecified_and_v4_mapped_addresses_is_508) {
  start_dns_off(NULL);
  const char *forms[] = {"0.0.0.0", "[::ffff:127.0.0.1]", "127.0.0.2", "[::]", "[::1]"};
  for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
    char req[256];
    snprintf(req, sizeof req, "GET http://%s:%d/ HTTP/1.1\r\nHost: x\r\n\r\n", forms[i], px.port);
    expect_508(req);
    snprintf(req, sizeof req, "CONNECT %s:%d HTTP/1.1\r\nHost: x\r\n\r\n", forms[i], px.port);
    expect_508(req);
  }
}

Test(hostile, loop_through_a_resolved_name_is_508) {
  int port = fca_free_port();
  char listen2[64], res[128];
  snprintf(listen2, sizeof listen2, "127.0.0.1:%d", port);
  snprintf(res, sizeof res, "self.test:%d:0.0.0.0", port);
  cr_assert_eq(
      fca_testproxy_start(&px, (const char *const[]){"--listen", listen2, "--resolve", res, NULL}),
      0);
  char req[256];
  snprintf(req, sizeof req, "GET http://self.test:%d/ HTTP/1.1\r\nHost: self.test\r\n\r\n", port);
  expect_508(req);
}

Test(hostile, upstream_proxy_pointing_at_itself_is_508) {
  int port = fca_free_port();
  char listen2[64], parent[64];
  snprintf(listen2, sizeof listen2, "127.0.0.1:%d", port);
  snprintf(parent, sizeof parent, "http://0.0.0.0:%d", port);
  cr_assert_eq(fca_origin_start(&org, NULL), 0);
  start_dns_off((const char *const[]){"--listen", listen2, "--upstream-proxy", parent, NULL});
  char req[256];
  snprintf(req, sizeof req, "GET http://127.0.0.1:%d/echo HTTP/1.1\r\nHost: x\r\n\r\n", org.port);
  expect_508(req);
  /* And the proxy did not open hundreds of connections to itself. */
  char *err = fca_testproxy_stderr(&px);
  cr_assert_leq(fca_count_str(err, strlen(err), "508 Loop Detected"), 1, "%.3000s", err);
  free(err);
}

/* ---- 3. bytes sent with the CONNECT head ---- */

Test(hostile, request_sent_with_connect_head_is_processed_at_once) {
  cr_assert_eq(fca_origin_start(&org, NULL), 0);
  cr_assert_eq(fca_testproxy_start(&px, (const char *const[]){"--header-timeout", "20s", NULL}), 0);
  char req[512];
  int n = snprintf(req, sizeof req,
                   "CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n"
                   "GET /echo HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n",
                   org.port, org.port, org.port);
  int64_t t0 = now_ms();
  char *resp;
  size_t rn = exchange(req, (size_t)n, &resp, "target: /echo", 8000);
  cr_assert_not_null(fca_find(resp, rn, "target: /echo"),
                     "the request in the CONNECT packet was answered (after %lld ms):\n%.*s",
                     (long long)(now_ms() - t0), (int)rn, resp);
  free(resp);
}

Test(hostile, client_hello_sent_with_connect_head_is_processed_at_once) {
  cr_assert_eq(fca_origin_start(&org, NULL), 0);
  cr_assert_eq(fca_testproxy_start(&px, (const char *const[]){"--header-timeout", "20s", NULL}), 0);
  /* A real ClientHello from OpenSSL, written in the same segment as the CONNECT head. */
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  SSL *ssl = SSL_new(ctx);
  BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, rb, wb);
  SSL_set_tlsext_host_name(ssl, "shop.test");
  SSL_set_connect_state(ssl);
  cr_assert_leq(SSL_do_handshake(ssl), 0);
  char *hello;
  long hl = BIO_get_mem_data(wb, &hello);
  cr_assert_gt(hl, 0);
  char req[4096];
  int n = snprintf(req, sizeof req, "CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                   org.port);
  memcpy(req + n, hello, (size_t)hl);
  n += (int)hl;
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  int fd = fca_tcp_connect(px.port, 3000);
  cr_assert_geq(fd, 0);
  cr_assert_eq(fca_send_all(fd, req, (size_t)n, 2000), 0);
  char *buf = NULL;
  size_t len = 0;
  const char *head_end = "Connection established\r\n\r\n";
  /* The 200, then the proxy's ServerHello (a TLS handshake record) without waiting. */
  size_t want = strlen("HTTP/1.1 200 ") + strlen(head_end) + 5;
  fca_recv_until(fd, &buf, &len, want, NULL, 5000);
  close(fd);
  const char *e = fca_find(buf, len, head_end);
  cr_assert_not_null(e, "%.*s", (int)len, buf);
  size_t off = (size_t)(e - buf) + strlen(head_end);
  cr_assert_gt(len, off, "no TLS answer to the ClientHello sent with CONNECT");
  cr_assert_eq((unsigned char)buf[off], 0x16, "a TLS handshake record follows the 200");
  free(buf);
}

/* ---- 4. hostile request framing ---- */

static void expect_status(const char *req, size_t len, const char *status) {
  char *resp;
  size_t rn = exchange(req, len, &resp, "\r\n\r\n", 5000);
  size_t sl = strlen(status);
  cr_assert(rn >= 9 + sl && strncmp(resp + 9, status, sl) == 0, "want %s for\n%s\ngot\n%.*s",
            status, req, (int)rn, resp);
  free(resp);
}

Test(hostile, whitespace_before_colon_is_400_and_never_forwarded) {
  fca_origin_opts_t oo = {.verbose = true};
  cr_assert_eq(fca_origin_start(&org, &oo), 0);
  cr_assert_eq(fca_testproxy_start(&px, NULL), 0);
  const char *fields[] = {"Host : evil.test", "Cookie\t: a=b",
                          "Proxy-Authorization : Basic eA==", "X-A  : 1"};
  for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET http://127.0.0.1:%d/echo HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n\r\n",
                     org.port, i == 0 ? "X-Pad: 1" : fields[i]);
    if (i == 0)
      n = snprintf(req, sizeof req, "GET http://127.0.0.1:%d/echo HTTP/1.1\r\n%s\r\n\r\n", org.port,
                   fields[0]);
    expect_status(req, (size_t)n, "400");
  }
  size_t n;
  char *seen = fca_read_file(org.stderr_path, &n);
  cr_assert(seen == NULL || fca_find(seen, n, "/echo") == NULL, "reached the origin:\n%s", seen);
  free(seen);
}

Test(hostile, http09_and_http2_request_lines_are_refused) {
  cr_assert_eq(fca_origin_start(&org, NULL), 0);
  cr_assert_eq(fca_testproxy_start(&px, NULL), 0);
  char req[512];
  int n = snprintf(req, sizeof req, "GET http://127.0.0.1:%d/echo HTTP/2.0\r\nHost: a\r\n\r\n",
                   org.port);
  expect_status(req, (size_t)n, "505");
  n = snprintf(req, sizeof req, "GET http://127.0.0.1:%d/echo HTTP/0.9\r\nHost: a\r\n\r\n",
               org.port);
  char *resp;
  size_t rn = exchange(req, (size_t)n, &resp, "\r\n\r\n", 5000);
  cr_assert(rn >= 12 &&
                (strncmp(resp, "HTTP/1.1 400", 12) == 0 || strncmp(resp, "HTTP/1.1 505", 12) == 0),
            "%.*s", (int)rn, resp);
  free(resp);
  n = snprintf(req, sizeof req, "GET http://127.0.0.1:%d/echo HTTP/3.0\r\nHost: a\r\n\r\n",
               org.port);
  expect_status(req, (size_t)n, "505");
}

Test(hostile, too_many_fields_is_431) {
  cr_assert_eq(fca_origin_start(&org, NULL), 0);
  cr_assert_eq(fca_testproxy_start(&px, NULL), 0);
  size_t cap = 64 * 1024;
  char *req = malloc(cap);
  int n = snprintf(req, cap, "GET http://127.0.0.1:%d/echo HTTP/1.1\r\nHost: a\r\n", org.port);
  for (int i = 0; i < 500; i++) n += snprintf(req + n, cap - (size_t)n, "X-%d: v\r\n", i);
  n += snprintf(req + n, cap - (size_t)n, "\r\n");
  expect_status(req, (size_t)n, "431");
  free(req);
}

/* ---- 6. secrets in targets are never echoed ---- */

static void assert_no_secret(const char *what, const char *text, const char *secret) {
  cr_assert_null(text ? strstr(text, secret) : NULL, "%s shows '%s':\n%.3000s", what, secret, text);
}

Test(hostile, userinfo_password_and_redacted_query_never_echoed) {
  cr_assert_eq(fca_origin_start(&org, NULL), 0);
  cr_assert_eq(fca_testproxy_start(&px, (const char *const[]){"--redact-query", NULL}), 0);
  const char *reqs[] = {
      "GET http://a@shop.test/x?client_secret=QSECRET1 HTTP/1.1\r\nHost: shop.test\r\n\r\n",
      "GET http://u:PWSECRET2@shop.test/x HTTP/1.1\r\nHost: shop.test\r\n\r\n",
      "GET http://u:PWSECRET3@127.0.0.1:%d/echo?k=QSECRET4 HTTP/1.1\r\nHost: a\r\n\r\n",
      "CONNECT u:PWSECRET5@shop.test:443?client_secret=QSECRET6 HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET http://127.0.0.1:%d/echo?k=QSECRET7 HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET ftp://u:PWSECRET8@shop.test/?k=QSECRET9 HTTP/1.1\r\nHost: a\r\n\r\n",
  };
  for (size_t i = 0; i < sizeof reqs / sizeof *reqs; i++) {
    char req[512];
    int n = snprintf(req, sizeof req, reqs[i], org.port);
    char *resp;
    size_t rn = exchange(req, (size_t)n, &resp, "\r\n\r\n", 5000);
    resp[rn] = '\0';
    char *body = strstr(resp, "\r\n\r\n");
    if (strstr(resp, "fcaudit:")) { /* the proxy's own answer */
      assert_no_secret("the proxy's answer", body, "PWSECRET");
      assert_no_secret("the proxy's answer", body, "QSECRET");
    }
    free(resp);
  }
  /* stop forgets the paths: keep them to read what the proxy wrote until it exited */
  char *err_path = strdup(px.stderr_path), *log_path = strdup(px.log_path);
  fca_testproxy_stop(&px);
  char *err = fca_read_file(err_path, NULL);
  cr_assert_not_null(err, "cannot read the proxy's stderr");
  assert_no_secret("stderr", err, "PWSECRET");
  assert_no_secret("stderr", err, "QSECRET");
  free(err);
  char *log = fca_read_file(log_path, NULL);
  cr_assert_not_null(log, "cannot read the event log");
  assert_no_secret("the event log", log, "PWSECRET");
  assert_no_secret("the event log", log, "QSECRET");
  free(log);
  free(err_path);
  free(log_path);
}

Test(hostile, userinfo_password_never_echoed_without_redact_query) {
  cr_assert_eq(fca_origin_start(&org, NULL), 0);
  cr_assert_eq(fca_testproxy_start(&px, NULL), 0);
  char req[512];
  int n = snprintf(req, sizeof req,
                   "GET http://u:PWSECRET1@shop.test/x HTTP/1.1\r\nHost: shop.test\r\n\r\n");
  char *resp;
  size_t rn = exchange(req, (size_t)n, &resp, "\r\n\r\n", 5000);
  resp[rn] = '\0';
  assert_no_secret("the proxy's answer", resp, "PWSECRET");
  free(resp);
  n = snprintf(req, sizeof req, "CONNECT u:PWSECRET2@shop.test:443 HTTP/1.1\r\nHost: a\r\n\r\n");
  rn = exchange(req, (size_t)n, &resp, "\r\n\r\n", 5000);
  resp[rn] = '\0';
  assert_no_secret("the proxy's answer", resp, "PWSECRET");
  free(resp);
  char *err_path = strdup(px.stderr_path);
  fca_testproxy_stop(&px);
  char *err = fca_read_file(err_path, NULL);
  cr_assert_not_null(err, "cannot read the proxy's stderr");
  assert_no_secret("stderr", err, "PWSECRET");
  free(err);
  free(err_path);
}

/* ---- 7. a torn last line from an earlier run ---- */

Test(hostile, next_run_starts_the_event_log_on_a_fresh_line) {
  cr_assert_eq(fca_origin_start(&org, NULL), 0);
  char *dir = fca_tmpdir_new();
  char *log = fca_path(dir, "events.ndjson");
  const char *torn = "{\"type\":\"violation\",\"ru";
  cr_assert_eq(fca_write_file(log, torn, strlen(torn)), 0);
  cr_assert_eq(fca_testproxy_start(&px, (const char *const[]){"--log", log, NULL}), 0);
  char *url = fca_origin_url(&org, "/echo");
  char *proxy = fca_testproxy_url(&px);
  fca_run_t r;
  fca_curl(&r, 5000, "-x", proxy, url, NULL);
  fca_run_free(&r);
  fca_testproxy_stop(&px);
  size_t n;
  char *text = fca_read_file(log, &n);
  cr_assert_not_null(text);
  cr_assert(n > strlen(torn) + 1 && text[strlen(torn)] == '\n',
            "the first event is glued to the torn line:\n%.600s", text);
  cr_assert_eq(text[n - 1], '\n');
  /* Every line after the torn one is a whole event. */
  size_t events = 0;
  for (char *p = text + strlen(torn) + 1; p < text + n; p = strchr(p, '\n') + 1) {
    cr_assert_eq(*p, '{', "%.200s", p);
    events++;
  }
  cr_assert_geq(events, 1);
  free(text);
  free(url);
  free(proxy);
  free(log);
  free(dir);
}

/* ---- a CA directory anyone may write to ---- */

Test(hostile, world_writable_ca_dir_is_refused) {
  char *dir = fca_tmpdir_new();
  char *ca = fca_path(dir, "ca");
  cr_assert_eq(mkdir(ca, 0700), 0);
  cr_assert_eq(chmod(ca, 0777), 0);
  char listen[64];
  snprintf(listen, sizeof listen, "127.0.0.1:%d", fca_free_port());
  char *log = fca_path(dir, "events.ndjson");
  char *const argv[] = {FCA_TEST_BINARY, "--listen", listen,    "--only-resolved",
                        "--ca-dir",      ca,         "--admin", "off",
                        "--log",         log,        NULL};
  fca_run_t r;
  int rc = fca_run(argv, 5000, &r);
  cr_assert_eq(rc, 0, "fcaudit ran with a world-writable --ca-dir");
  cr_assert_neq(fca_run_exit_code(&r), 0);
  cr_assert_not_null(strstr(r.err, "writable by others"), "%s", r.err);
  fca_run_free(&r);
  char *key = fca_path(ca, "ca.key");
  cr_assert_neq(access(key, F_OK), 0, "no key is written there");
  free(key);
  free(log);
  free(ca);
  free(dir);
}

/* ---- CONNECT to this host's own ports when remote clients are allowed ---- */

Test(hostile, allow_remote_denies_connect_to_local_ports) {
  cr_assert_eq(fca_origin_start(&org, NULL), 0);
  cr_assert_eq(fca_testproxy_start(&px, (const char *const[]){"--allow-remote", NULL}), 0);
  char req[256];
  int n = snprintf(req, sizeof req, "CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\n", org.port);
  expect_status(req, (size_t)n, "403");
  /* A request inside the tunnel would have reached the local service: nothing did. */
  n = snprintf(req, sizeof req, "CONNECT localhost:%d HTTP/1.1\r\nHost: x\r\n\r\n", org.port);
  expect_status(req, (size_t)n, "403");
  char *err = fca_testproxy_stderr(&px);
  cr_assert_not_null(strstr(err, "--allow-local-connect"), "%s", err);
  free(err);
  fca_testproxy_stop(&px);
  /* The option lifts it. */
  cr_assert_eq(fca_testproxy_start(
                   &px, (const char *const[]){"--allow-remote", "--allow-local-connect", NULL}),
               0);
  n = snprintf(req, sizeof req,
               "CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: x\r\n\r\n"
               "GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
               org.port);
  char *resp;
  size_t rn = exchange(req, (size_t)n, &resp, "target: /echo", 8000);
  cr_assert_not_null(fca_find(resp, rn, "target: /echo"), "%.*s", (int)rn, resp);
  free(resp);
}

/* ---- the admin listener under many dashboards ---- */

static int start_with_admin(const char *root) {
  int admin = fca_free_port();
  char a[64];
  snprintf(a, sizeof a, "127.0.0.1:%d", admin);
  fca_origin_opts_t oo = {.root = root};
  cr_assert_eq(fca_origin_start(&org, &oo), 0);
  cr_assert_eq(fca_testproxy_start(&px, (const char *const[]){"--admin", a, NULL}), 0);
  cr_assert_eq(fca_wait_tcp_port(admin, 10000), 0);
  return admin;
}

Test(hostile, stalled_event_streams_do_not_lock_out_a_new_dashboard) {
  int admin = start_with_admin(NULL);
  enum { N = 64 };
  int fds[N];
  const char *ev = "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  for (int i = 0; i < N; i++) {
    fds[i] = fca_tcp_connect(admin, 3000);
    cr_assert_geq(fds[i], 0);
    cr_assert_eq(fca_send_all(fds[i], ev, strlen(ev), 2000), 0);
    char *buf = NULL;
    size_t n = 0;
    fca_recv_until(fds[i], &buf, &n, 0, "event: hello", 3000);
    cr_assert(n >= 12 && strncmp(buf, "HTTP/1.1 200", 12) == 0, "stream %d: %.*s", i, (int)n, buf);
    free(buf); /* and never read again */
  }
  int fd = fca_tcp_connect(admin, 3000);
  cr_assert_eq(fca_send_all(fd, ev, strlen(ev), 2000), 0);
  char *buf = NULL;
  size_t n = 0;
  fca_recv_until(fd, &buf, &n, 0, "\r\n\r\n", 3000);
  cr_assert(n >= 12 && strncmp(buf, "HTTP/1.1 200", 12) == 0, "a new dashboard: %.*s", (int)n, buf);
  free(buf);
  close(fd);
  /* The oldest stream made room. */
  buf = NULL;
  n = 0;
  cr_assert_eq(fca_recv_until(fds[0], &buf, &n, 0, NULL, 3000), 1, "the oldest stream is closed");
  free(buf);
  for (int i = 0; i < N; i++) close(fds[i]);
}

Test(hostile, cached_report_follows_new_events) {
  char *root = fca_tmpdir_new();
  char *page = fca_path(root, "page.html");
  const char *html = "<!doctype html><title>pay</title>"
                     "<script src=\"https://js.stripe.com/v3/\"></script>";
  cr_assert_eq(fca_write_file(page, html, strlen(html)), 0);
  int admin = start_with_admin(root);
  char *report = fca_xasprintf_test("http://127.0.0.1:%d/api/report.json", admin);
  fca_run_t a, b, c;
  fca_curl(&a, 5000, "-sf", report, NULL);
  fca_curl(&b, 5000, "-sf", report, NULL);
  cr_assert_eq(fca_run_exit_code(&a), 0);
  cr_assert_str_eq(a.out, b.out, "nothing happened in between: the same report");
  /* A page load: events the report shows. */
  char *url = fca_origin_url(&org, "/files/page.html");
  char *proxy = fca_testproxy_url(&px);
  fca_run_t r;
  fca_curl(&r, 5000, "-x", proxy, "-H", "Accept: text/html", url, NULL);
  cr_assert_eq(fca_run_exit_code(&r), 0, "%s", r.err);
  fca_run_free(&r);
  bool changed = false;
  for (int i = 0; i < 50 && !changed; i++) {
    fca_curl(&c, 5000, "-sf", report, NULL);
    changed = strcmp(c.out, a.out) != 0;
    fca_run_free(&c);
    if (!changed) usleep(100 * 1000);
  }
  cr_assert(changed, "the report never showed the new exchange");
  fca_run_free(&a);
  fca_run_free(&b);
  free(url);
  free(proxy);
  free(report);
  free(page);
  free(root);
}
