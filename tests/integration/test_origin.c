/* Integration: the test origin itself, driven by curl and by raw sockets with no proxy in
 * between, so that every endpoint the proxy tests rely on is proven first. */
#include "harness.h"
#include "pattern.h"
#include "testca.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

TestSuite(origin, .fini = fca_harness_cleanup, .timeout = 120);

static fca_origin_t org;

static void start(const fca_origin_opts_t *opts) {
  cr_assert_eq(fca_origin_start(&org, opts), 0, "origin did not start");
}

static char *url(const char *path) { return fca_origin_url(&org, path); }

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* curl -i URL plus args; asserts curl exited 0. */
static void curl_ok(fca_run_t *r, const char *const args[]) {
  fca_curl_argv(r, 20000, args);
  cr_assert_eq(fca_run_exit_code(r), 0, "curl failed: %s", r->err);
}

static void assert_has(const char *hay, size_t n, const char *needle) {
  cr_assert_not_null(fca_find(hay, n, needle), "missing [%s] in:\n%.*s", needle,
                     (int)(n > 4000 ? 4000 : n), hay);
}

/* Raw exchange that asserts it connected. */
static size_t raw(const char *req, char **resp, size_t want, const char *needle, int timeout_ms) {
  size_t n;
  int rc = fca_raw_exchange(org.port, req, strlen(req), resp, &n, want, needle, timeout_ms);
  cr_assert_geq(rc, 0, "raw exchange failed");
  return n;
}

Test(origin, echo_describes_request_exactly) {
  start(NULL);
  fca_run_t r;
  char *u = url("/echo?q=1&x=%20y");
  curl_ok(&r, (const char *[]){"-i", "-H", "X-Test:  two  spaces", "-H", "x-lower: v", u, NULL});
  assert_has(r.out, r.out_len, "HTTP/1.1 200 OK\r\n");
  assert_has(r.out, r.out_len, "\r\nX-Origin: fca-test-origin\r\n");
  assert_has(r.out, r.out_len, "\nmethod: GET\n");
  assert_has(r.out, r.out_len, "\ntarget: /echo?q=1&x=%20y\n");
  assert_has(r.out, r.out_len, "\nversion: HTTP/1.1\n");
  assert_has(r.out, r.out_len, "\nbody-length: 0\n");
  /* the raw head, byte for byte, including whitespace and case */
  assert_has(r.out, r.out_len, "\n\nGET /echo?q=1&x=%20y HTTP/1.1\r\n");
  assert_has(r.out, r.out_len, "\r\nX-Test:  two  spaces\r\n");
  assert_has(r.out, r.out_len, "\r\nx-lower: v\r\n");
  cr_assert(r.out_len > 4 && memcmp(r.out + r.out_len - 4, "\r\n\r\n", 4) == 0);
  fca_run_free(&r);
  free(u);
}

Test(origin, echo_post_content_length_and_chunked) {
  start(NULL);
  fca_run_t r;
  char *u = url("/echo");
  curl_ok(&r, (const char *[]){"-i", "--data-binary", "hello world", u, NULL});
  assert_has(r.out, r.out_len, "\nmethod: POST\n");
  assert_has(r.out, r.out_len, "\nbody-length: 11\nbody-chunked: no\n");
  assert_has(r.out, r.out_len, "Content-Length: 11\r\n");
  cr_assert(r.out_len >= 11 && memcmp(r.out + r.out_len - 11, "hello world", 11) == 0);
  fca_run_free(&r);
  curl_ok(&r, (const char *[]){"-i", "-H", "Transfer-Encoding: chunked", "--data-binary", "chunky",
                               u, NULL});
  assert_has(r.out, r.out_len, "\nbody-length: 6\nbody-chunked: yes\n");
  cr_assert(memcmp(r.out + r.out_len - 6, "chunky", 6) == 0);
  fca_run_free(&r);
  free(u);
}

Test(origin, echo_chunked_request_with_trailers) {
  start(NULL);
  char *resp;
  size_t n = raw("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "3\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n",
                 &resp, 0, "abcde", 5000);
  assert_has(resp, n, "body-length: 5\nbody-chunked: yes\ntrailer: X-T: 1\n");
  free(resp);
}

Test(origin, size_content_length_pattern) {
  start(NULL);
  fca_run_t r;
  char *u = url("/size/1000003");
  curl_ok(&r, (const char *[]){"-D", "/dev/stderr", u, NULL});
  cr_assert_eq(r.out_len, 1000003);
  cr_assert_eq(fca_pattern_mismatch(r.out, r.out_len, 0), r.out_len, "pattern mismatch");
  assert_has(r.err, r.err_len, "Content-Length: 1000003\r\n");
  fca_run_free(&r);
  free(u);
}

Test(origin, size_chunked_and_close_delimited) {
  start(NULL);
  fca_run_t r;
  char *u = url("/size/300000?chunked=1");
  curl_ok(&r, (const char *[]){"-D", "/dev/stderr", u, NULL});
  cr_assert_eq(r.out_len, 300000);
  cr_assert_eq(fca_pattern_mismatch(r.out, r.out_len, 0), r.out_len);
  assert_has(r.err, r.err_len, "Transfer-Encoding: chunked\r\n");
  cr_assert_null(fca_find(r.err, r.err_len, "Content-Length"));
  fca_run_free(&r);
  free(u);
  u = url("/size/300000?close=1");
  curl_ok(&r, (const char *[]){"-D", "/dev/stderr", u, NULL});
  cr_assert_eq(r.out_len, 300000);
  cr_assert_eq(fca_pattern_mismatch(r.out, r.out_len, 0), r.out_len);
  assert_has(r.err, r.err_len, "Connection: close\r\n");
  cr_assert_null(fca_find(r.err, r.err_len, "Content-Length"));
  cr_assert_null(fca_find(r.err, r.err_len, "Transfer-Encoding"));
  fca_run_free(&r);
  free(u);
}

Test(origin, size_rate_limited) {
  start(NULL);
  fca_run_t r;
  char *u = url("/size/200000?rate=400000");
  long t0 = now_ms();
  curl_ok(&r, (const char *[]){u, NULL});
  long took = now_ms() - t0;
  cr_assert_eq(r.out_len, 200000);
  cr_assert_eq(fca_pattern_mismatch(r.out, r.out_len, 0), r.out_len);
  cr_assert_geq(took, 350, "200000 bytes at 400000 B/s took only %ld ms", took);
  cr_assert_lt(took, 5000);
  fca_run_free(&r);
  free(u);
}

Test(origin, size_one_gib_is_streamed) {
  start(NULL);
  fca_run_t r;
  char *u = url("/size/1073741824");
  curl_ok(&r, (const char *[]){"-o", "/dev/null", "-w", "%{size_download}", u, NULL});
  cr_assert_str_eq(r.out, "1073741824");
  long kb = fca_proc_peak_rss_kb(org.pid);
  cr_assert_gt(kb, 0);
  cr_assert_lt(kb, 64 * 1024, "origin peak RSS %ld KiB: the body was buffered", kb);
  fca_run_free(&r);
  free(u);
}

Test(origin, chunked_trailers) {
  start(NULL);
  fca_run_t r;
  char *u = url("/chunked-trailers");
  curl_ok(&r, (const char *[]){"-i", "--raw", u, NULL});
  assert_has(r.out, r.out_len, "Transfer-Encoding: chunked\r\n");
  assert_has(r.out, r.out_len, "Trailer: X-Trailer\r\n");
  assert_has(r.out, r.out_len, "6\r\nhello \r\n5\r\nworld\r\n0\r\nX-Trailer: yes\r\n\r\n");
  fca_run_free(&r);
  free(u);
}

Test(origin, status_codes) {
  start(NULL);
  static const char *const codes[] = {"200", "201", "204", "302", "304", "404", "418", "503"};
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    char path[64];
    snprintf(path, sizeof path, "/status/%s", codes[i]);
    char *u = url(path);
    fca_run_t r;
    curl_ok(&r,
            (const char *[]){"-o", "/dev/null", "-w", "%{http_code} %{size_download}", u, NULL});
    char want[64];
    bool empty = strcmp(codes[i], "204") == 0 || strcmp(codes[i], "304") == 0;
    snprintf(want, sizeof want, "%s %d", codes[i], empty ? 0 : 11);
    cr_assert_str_eq(r.out, want);
    fca_run_free(&r);
    free(u);
  }
  char *resp;
  size_t n =
      raw("GET /status/204 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", &resp, 0, NULL, 5000);
  cr_assert_null(fca_find(resp, n, "Content-Length"), "204 with a length: %s", resp);
  free(resp);
  fca_run_t r;
  char *u = url("/nope");
  curl_ok(&r, (const char *[]){"-o", "/dev/null", "-w", "%{http_code}", u, NULL});
  cr_assert_str_eq(r.out, "404");
  fca_run_free(&r);
  free(u);
}

Test(origin, head_has_length_but_no_body) {
  start(NULL);
  char *resp;
  /* HEAD then GET on one connection: if HEAD sent a body, the second answer would be garbled. */
  size_t n = raw("HEAD /size/12345 HTTP/1.1\r\nHost: a\r\n\r\n"
                 "GET /status/201 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                 &resp, 0, NULL, 5000);
  cr_assert(strncmp(resp, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", resp);
  assert_has(resp, n, "Content-Length: 12345\r\n\r\nHTTP/1.1 201 Created\r\n");
  cr_assert(n > 11 && memcmp(resp + n - 11, "status 201\n", 11) == 0, "%s", resp);
  free(resp);
}

Test(origin, continue_sends_100_then_reads_body) {
  start(NULL);
  int fd = fca_tcp_connect(org.port, 2000);
  cr_assert_geq(fd, 0);
  const char *head = "POST /continue HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                     "Expect: 100-continue\r\n\r\n";
  cr_assert_eq(fca_send_all(fd, head, strlen(head), 2000), 0);
  char *resp = NULL;
  size_t n = 0;
  fca_recv_until(fd, &resp, &n, 0, "\r\n\r\n", 3000);
  cr_assert_str_eq(resp, "HTTP/1.1 100 Continue\r\n\r\n");
  cr_assert_eq(fca_send_all(fd, "12345", 5, 2000), 0);
  fca_recv_until(fd, &resp, &n, 0, "received 5\n", 3000);
  assert_has(resp, n, "HTTP/1.1 200 OK\r\n");
  assert_has(resp, n, "received 5\n");
  free(resp);
  close(fd);
  /* final=417: the final answer at once, no 100, and the connection closes */
  n = raw("POST /continue?final=417 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
          "Expect: 100-continue\r\n\r\n",
          &resp, 0, NULL, 5000);
  cr_assert(strncmp(resp, "HTTP/1.1 417 ", 13) == 0, "%s", resp);
  cr_assert_null(fca_find(resp, n, "100 Continue"));
  free(resp);
}

Test(origin, garbage_and_partial_and_bad_request) {
  start(NULL);
  char *resp;
  size_t n = raw("GET /garbage HTTP/1.1\r\nHost: a\r\n\r\n", &resp, 0, NULL, 5000);
  cr_assert(n > 0 && strncmp(resp, "this is not HTTP", 16) == 0);
  free(resp);
  fca_run_t r;
  char *u = url("/partial");
  fca_curl_argv(&r, 10000, (const char *[]){u, NULL});
  cr_assert_eq(fca_run_exit_code(&r), 18, "curl: %s", r.err); /* partial file */
  fca_run_free(&r);
  free(u);
  n = raw("BL\x01H / HTTP/1.1\r\n\r\n", &resp, 0, NULL, 5000);
  cr_assert(strncmp(resp, "HTTP/1.1 400 ", 13) == 0, "%s", resp);
  free(resp);
}

Test(origin, hang_never_answers_and_delay_answers_late) {
  start(NULL);
  char *resp;
  long t0 = now_ms();
  const char *hang = "GET /hang HTTP/1.1\r\nHost: a\r\n\r\n";
  int rc = fca_raw_exchange(org.port, hang, strlen(hang), &resp, &(size_t){0}, 0, NULL, 600);
  cr_assert_eq(rc, 0, "the connection closed");
  cr_assert_str_eq(resp, "");
  cr_assert_geq(now_ms() - t0, 550);
  free(resp);
  size_t n = raw("GET /hang-body HTTP/1.1\r\nHost: a\r\n\r\n", &resp, 0, "0123456789", 3000);
  assert_has(resp, n, "Content-Length: 100\r\n");
  free(resp);
  fca_run_t r;
  char *u = url("/delay/300");
  t0 = now_ms();
  curl_ok(&r, (const char *[]){u, NULL});
  cr_assert_geq(now_ms() - t0, 290);
  cr_assert_str_eq(r.out, "delayed 300\n");
  fca_run_free(&r);
  free(u);
}

Test(origin, websocket_handshake_and_echo) {
  start(NULL);
  int fd = fca_tcp_connect(org.port, 2000);
  cr_assert_geq(fd, 0);
  const char *req = "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                    "\r\nearly";
  cr_assert_eq(fca_send_all(fd, req, strlen(req), 2000), 0);
  char *resp = NULL;
  size_t n = 0;
  fca_recv_until(fd, &resp, &n, 0, "early", 3000);
  cr_assert(strncmp(resp, "HTTP/1.1 101 Switching Protocols\r\n", 34) == 0, "%s", resp);
  /* RFC 6455's own example key and accept value */
  assert_has(resp, n, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n");
  assert_has(resp, n, "\r\n\r\nearly");
  cr_assert_eq(fca_send_all(fd, "\x81\x05hello", 7, 2000), 0);
  fca_recv_until(fd, &resp, &n, 0, "hello", 3000);
  assert_has(resp, n, "early\x81\x05hello");
  free(resp);
  close(fd);
}

Test(origin, pipelined_requests_answered_in_order) {
  start(NULL);
  char *resp;
  size_t n = raw("GET /status/201 HTTP/1.1\r\nHost: a\r\n\r\n"
                 "GET /size/10 HTTP/1.1\r\nHost: a\r\n\r\n"
                 "GET /echo?third HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                 &resp, 0, NULL, 5000);
  const char *a = fca_find(resp, n, "HTTP/1.1 201");
  const char *b = fca_find(resp, n, "Content-Length: 10\r\n");
  const char *c = fca_find(resp, n, "target: /echo?third");
  cr_assert(a && b && c && a < b && b < c, "%s", resp);
  cr_assert_eq(fca_count_str(resp, n, "HTTP/1.1 "), 3);
  free(resp);
}

Test(origin, keep_alive_reused_by_curl) {
  start(NULL);
  fca_run_t r;
  char *u1 = url("/status/200"), *u2 = url("/echo");
  curl_ok(&r, (const char *[]){"-o", "/dev/null", "-o", "/dev/null", "-w", "%{num_connects}\n", u1,
                               u2, NULL});
  cr_assert_str_eq(r.out, "1\n0\n");
  fca_run_free(&r);
  free(u1);
  free(u2);
}

Test(origin, files_with_sidecar_headers) {
  char *root = fca_tmpdir_new();
  char *page = fca_path(root, "page.html"), *side = fca_path(root, "page.html.headers");
  char *js = fca_path(root, "app.js"), *gz = fca_path(root, "blob.bin"),
       *gzside = fca_path(root, "blob.bin.headers");
  const char *html = "<!doctype html><title>t</title>";
  cr_assert_eq(fca_write_file(page, html, strlen(html)), 0);
  const char *hdrs = "Cross-Origin-Opener-Policy: same-origin\nStatus: 202\n\nX-Multi: a\r\n";
  cr_assert_eq(fca_write_file(side, hdrs, strlen(hdrs)), 0);
  cr_assert_eq(fca_write_file(js, "var x;", 6), 0);
  cr_assert_eq(fca_write_file(gz, "abcdef", 6), 0);
  const char *gzh = "Content-Length: 6\nContent-Type: application/x-test\n";
  cr_assert_eq(fca_write_file(gzside, gzh, strlen(gzh)), 0);
  start(&(fca_origin_opts_t){.root = root});
  fca_run_t r;
  char *u = url("/files/page.html");
  curl_ok(&r, (const char *[]){"-i", u, NULL});
  assert_has(r.out, r.out_len, "HTTP/1.1 202 ");
  assert_has(r.out, r.out_len, "\r\nCross-Origin-Opener-Policy: same-origin\r\n");
  assert_has(r.out, r.out_len, "\r\nX-Multi: a\r\n");
  assert_has(r.out, r.out_len, "\r\nContent-Type: text/html; charset=utf-8\r\n");
  assert_has(r.out, r.out_len, "\r\nContent-Length: 31\r\n");
  cr_assert_null(fca_find(r.out, r.out_len, "Status:"));
  cr_assert(memcmp(r.out + r.out_len - strlen(html), html, strlen(html)) == 0);
  fca_run_free(&r);
  free(u);
  u = url("/files/app.js");
  curl_ok(&r, (const char *[]){"-i", u, NULL});
  assert_has(r.out, r.out_len, "\r\nContent-Type: text/javascript\r\n");
  fca_run_free(&r);
  free(u);
  u = url("/files/blob.bin");
  curl_ok(&r, (const char *[]){"-i", u, NULL});
  cr_assert_eq(fca_count_str(r.out, r.out_len, "Content-Length"), 1);
  cr_assert_eq(fca_count_str(r.out, r.out_len, "Content-Type"), 1);
  assert_has(r.out, r.out_len, "Content-Type: application/x-test\r\n");
  fca_run_free(&r);
  free(u);
  u = url("/files/../etc/passwd");
  curl_ok(&r, (const char *[]){"--path-as-is", "-o", "/dev/null", "-w", "%{http_code}", u, NULL});
  cr_assert_str_eq(r.out, "404");
  fca_run_free(&r);
  free(u);
  free(page);
  free(side);
  free(js);
  free(gz);
  free(gzside);
  free(root);
}

Test(origin, https_with_test_ca) {
  start(&(fca_origin_opts_t){.tls = true});
  cr_assert_not_null(org.ca_pem);
  char resolve[64], shop[64];
  snprintf(resolve, sizeof resolve, "shop.test:%d:127.0.0.1", org.port);
  snprintf(shop, sizeof shop, "https://shop.test:%d/size/5000000", org.port);
  fca_run_t r;
  curl_ok(&r, (const char *[]){"--cacert", org.ca_pem, "--resolve", resolve, shop, NULL});
  cr_assert_eq(r.out_len, 5000000);
  cr_assert_eq(fca_pattern_mismatch(r.out, r.out_len, 0), r.out_len);
  fca_run_free(&r);
  /* address SAN, keep-alive over TLS, POST body */
  char *u = url("/echo");
  curl_ok(&r, (const char *[]){"--cacert", org.ca_pem, "--data-binary", "tls-body", "-w",
                               "|%{num_connects}", u, u, NULL});
  cr_assert_eq(fca_count_str(r.out, r.out_len, "body-length: 8"), 2);
  assert_has(r.out, r.out_len, "tls-body|1");
  assert_has(r.out, r.out_len, "tls-body|0");
  fca_run_free(&r);
  /* not trusted without the CA */
  fca_curl_argv(&r, 10000, (const char *[]){u, NULL});
  cr_assert_eq(fca_run_exit_code(&r), 60, "curl: %s", r.err);
  fca_run_free(&r);
  free(u);
}

Test(origin, https_bad_leaves_fail_verification) {
  char *dir = fca_tmpdir_new();
  static const char *const names[] = {"localhost", "127.0.0.1"};
  cr_assert_eq(fca_testca_make(dir, names, 2), 0);
  cr_assert_eq(fca_testca_make_expired(dir, names, 2), 0);
  cr_assert_eq(fca_testca_make_wrong_name(dir), 0);
  char *ca = fca_path(dir, "ca.pem");
  static const char *const stems[] = {"expired", "wrong"};
  for (int i = 0; i < 2; i++) {
    char pem[64], key[64];
    snprintf(pem, sizeof pem, "%s.pem", stems[i]);
    snprintf(key, sizeof key, "%s.key", stems[i]);
    char *pp = fca_path(dir, pem), *kp = fca_path(dir, key);
    start(&(fca_origin_opts_t){.tls = true, .cert = pp, .key = kp});
    char *u = url("/echo");
    fca_run_t r;
    fca_curl_argv(&r, 10000, (const char *[]){"--cacert", ca, u, NULL});
    cr_assert_eq(fca_run_exit_code(&r), 60, "%s leaf accepted: %s", stems[i], r.err);
    fca_run_free(&r);
    /* the same server is fine once verification is off: the failure was the certificate */
    fca_curl_argv(&r, 10000, (const char *[]){"-k", u, NULL});
    cr_assert_eq(fca_run_exit_code(&r), 0, "%s", r.err);
    fca_run_free(&r);
    free(u);
    fca_origin_stop(&org);
    free(pp);
    free(kp);
  }
  free(ca);
  free(dir);
}

Test(origin, ipv6_loopback) {
  start(&(fca_origin_opts_t){.ipv6 = true});
  char u[64];
  snprintf(u, sizeof u, "http://[::1]:%d/echo", org.port);
  fca_run_t r;
  curl_ok(&r, (const char *[]){u, NULL});
  assert_has(r.out, r.out_len, "method: GET\n");
  fca_run_free(&r);
}

Test(origin, exits_cleanly_on_sigterm) {
  start(&(fca_origin_opts_t){.verbose = true});
  fca_run_t r;
  char *u = url("/status/200");
  curl_ok(&r, (const char *[]){"-o", "/dev/null", u, NULL});
  fca_run_free(&r);
  free(u);
  /* an open idle connection does not keep it from exiting */
  int fd = fca_tcp_connect(org.port, 2000);
  cr_assert_geq(fd, 0);
  char *err_path = strdup(org.stderr_path);
  int st = fca_origin_stop(&org);
  close(fd);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
  char *log = fca_read_file(err_path, NULL);
  cr_assert_not_null(strstr(log, "GET /status/200 -> 200"), "%s", log);
  free(log);
  free(err_path);
}
