/* Integration tests for the proxy's robustness against clients and origins that do unusual
 * but legal (or hostile) things: request smuggling through Connection, an origin answering
 * before the request body arrived, an origin sending more than it announced, a keep-alive
 * connection switching between the admin host and a CONNECT tunnel, a client half-closing with
 * a large response still queued, slow uploads, and Host differing from the target. Each was a
 * real defect found in review; every test talks only to 127.0.0.1. */
#include "harness.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

TestSuite(robust, .fini = fca_harness_cleanup, .timeout = 120);

static fca_origin_t org;
static fca_testproxy_t px;

static void start(const char *const extra[]) {
  cr_assert_eq(fca_origin_start(&org, NULL), 0, "origin did not start");
  cr_assert_eq(fca_testproxy_start(&px, extra), 0, "fcaudit did not start");
}

static size_t exchange(const char *req, size_t req_len, char **resp, const char *needle,
                       int timeout_ms) {
  size_t n = 0;
  int rc = fca_raw_exchange(px.port, req, req_len, resp, &n, 0, needle, timeout_ms);
  cr_assert_geq(rc, 0, "raw exchange with the proxy failed");
  return n;
}

Test(robust, connection_cannot_strip_content_length) {
  start(NULL);
  char inner[128], req[512];
  int il = snprintf(inner, sizeof inner, "GET /smuggled HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n",
                    org.port);
  int n = snprintf(req, sizeof req,
                   "POST http://127.0.0.1:%d/echo HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                   "Connection: keep-alive, Content-Length\r\nContent-Length: %d\r\n\r\n%s",
                   org.port, org.port, il, inner);
  char *resp;
  size_t rn = exchange(req, (size_t)n, &resp, "smuggled HTTP/1.1", 5000);
  char want[64];
  snprintf(want, sizeof want, "\r\nContent-Length: %d\r\n", il);
  cr_assert_not_null(fca_find(resp, rn, want), "the origin must see the framing:\n%.*s", (int)rn,
                     resp);
  cr_assert_not_null(fca_find(resp, rn, "body-length: "), "%.*s", (int)rn, resp);
  cr_assert_eq(fca_count_str(resp, rn, "HTTP/1.1 200"), 1, "one request, one answer:\n%.*s",
               (int)rn, resp);
  free(resp);
}

/* ---- a scripted origin: the first connection answers before reading the request body ---- */

typedef struct {
  int lfd, port;
  pthread_mutex_t mu;
  char seen[8192]; /* everything the origin received, all connections */
  size_t nseen;
  int conns;
} early_t;

static early_t eo;

static void *early_conn(void *arg) {
  int fd = (int)(intptr_t)arg;
  pthread_mutex_lock(&eo.mu);
  int idx = eo.conns++;
  pthread_mutex_unlock(&eo.mu);
  char buf[4096];
  bool answered = false;
  for (;;) {
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    if (r <= 0) break;
    pthread_mutex_lock(&eo.mu);
    size_t room = sizeof eo.seen - eo.nseen;
    size_t take = (size_t)r < room ? (size_t)r : room;
    memcpy(eo.seen + eo.nseen, buf, take);
    eo.nseen += take;
    pthread_mutex_unlock(&eo.mu);
    if (!answered && memmem(buf, (size_t)r, "\r\n\r\n", 4)) {
      answered = true;
      const char *a = idx == 0 ? "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nearly"
                               : "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nvictim";
      fca_send_all(fd, a, strlen(a), 2000);
    }
  }
  close(fd);
  return NULL;
}

static void *early_accept(void *arg) {
  (void)arg;
  for (int i = 0; i < 4; i++) {
    int fd = accept(eo.lfd, NULL, NULL);
    if (fd < 0) break;
    pthread_t t;
    pthread_create(&t, NULL, early_conn, (void *)(intptr_t)fd);
    pthread_detach(t);
  }
  return NULL;
}

static void early_start(void) {
  memset(&eo, 0, sizeof eo);
  pthread_mutex_init(&eo.mu, NULL);
  eo.lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  cr_assert_eq(bind(eo.lfd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t l = sizeof a;
  getsockname(eo.lfd, (struct sockaddr *)&a, &l);
  eo.port = ntohs(a.sin_port);
  cr_assert_eq(listen(eo.lfd, 8), 0);
  pthread_t t;
  pthread_create(&t, NULL, early_accept, NULL);
  pthread_detach(t);
}

Test(robust, early_answer_does_not_pool_a_connection_expecting_a_body) {
  early_start();
  cr_assert_eq(fca_testproxy_start(&px, (const char *const[]){"--workers", "1", NULL}), 0);
  /* Client A: announces 60 body bytes, sends 10, gets the early answer, goes away. */
  char req[512];
  int n = snprintf(req, sizeof req,
                   "POST http://127.0.0.1:%d/early HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                   "Content-Length: 60\r\n\r\n0123456789",
                   eo.port, eo.port);
  char *resp;
  size_t rn = exchange(req, (size_t)n, &resp, "early", 5000);
  cr_assert_not_null(fca_find(resp, rn, "early"), "%.*s", (int)rn, resp);
  free(resp);
  usleep(200 * 1000);
  /* Client B: an ordinary GET must get its own answer, not be eaten as A's body. */
  n = snprintf(req, sizeof req, "GET http://127.0.0.1:%d/victim HTTP/1.1\r\nHost: x\r\n\r\n",
               eo.port);
  rn = exchange(req, (size_t)n, &resp, "victim", 5000);
  cr_assert_not_null(fca_find(resp, rn, "victim"), "B's answer:\n%.*s", (int)rn, resp);
  free(resp);
  pthread_mutex_lock(&eo.mu);
  cr_assert_geq(eo.conns, 2, "B went over a new connection");
  pthread_mutex_unlock(&eo.mu);
  close(eo.lfd);
}

Test(robust, origin_sending_more_than_announced_keeps_pipelined_answers) {
  /* A file whose headers announce 2 bytes while 4 are sent: the extra bytes must not be taken
   * for the next answer, and the next request gets its own. */
  char *root = fca_tmpdir_new();
  char *f = fca_path(root, "x.txt");
  fca_write_file(f, "hiXX", 4);
  char *hf = fca_path(root, "x.txt.headers");
  const char *h = "Content-Type: text/plain\r\nContent-Length: 2\r\n";
  fca_write_file(hf, h, strlen(h));
  fca_origin_opts_t oo = {.root = root};
  cr_assert_eq(fca_origin_start(&org, &oo), 0);
  cr_assert_eq(fca_testproxy_start(&px, NULL), 0);
  char req[512];
  int n = snprintf(req, sizeof req,
                   "GET http://127.0.0.1:%d/files/x.txt HTTP/1.1\r\nHost: a\r\n\r\n"
                   "GET http://127.0.0.1:%d/echo HTTP/1.1\r\nHost: a\r\n\r\n",
                   org.port, org.port);
  char *resp;
  size_t rn = exchange(req, (size_t)n, &resp, "target: /echo", 8000);
  cr_assert_eq(fca_count_str(resp, rn, "HTTP/1.1 200"), 2, "both answered:\n%.*s", (int)rn, resp);
  cr_assert_not_null(fca_find(resp, rn, "\r\n\r\nhiHTTP/1.1 200"), "%.*s", (int)rn, resp);
  cr_assert_null(fca_find(resp, rn, "XX"), "the extra bytes never reach the client");
  free(resp);
  free(f);
  free(hf);
  free(root);
}

Test(robust, connect_after_admin_request_goes_to_its_target) {
  int admin = fca_free_port();
  char adm[32];
  snprintf(adm, sizeof adm, "127.0.0.1:%d", admin);
  cr_assert_eq(fca_origin_start(&org, NULL), 0);
  /* The fixture turns the admin listener off; a later --admin wins. */
  cr_assert_eq(fca_testproxy_start(
                   &px, (const char *const[]){"--admin", adm, "--ignore-hosts", "127.0.0.1", NULL}),
               0);
  int fd = fca_tcp_connect(px.port, 3000);
  cr_assert_geq(fd, 0);
  const char *a = "GET http://fcaudit.test/healthz HTTP/1.1\r\nHost: fcaudit.test\r\n\r\n";
  cr_assert_eq(fca_send_all(fd, a, strlen(a), 2000), 0);
  char *buf = NULL;
  size_t n = 0;
  fca_recv_until(fd, &buf, &n, 0, "\r\n\r\n", 3000);
  cr_assert(n >= 12 && strncmp(buf, "HTTP/1.1 200", 12) == 0, "%.*s", (int)n, buf);
  /* drain the small body */
  fca_recv_until(fd, &buf, &n, 0, "ok", 1000);
  free(buf);
  char c[256];
  snprintf(c, sizeof c, "CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", org.port,
           org.port);
  cr_assert_eq(fca_send_all(fd, c, strlen(c), 2000), 0);
  buf = NULL;
  n = 0;
  fca_recv_until(fd, &buf, &n, 0, "\r\n\r\n", 3000);
  cr_assert(n >= 12 && strncmp(buf, "HTTP/1.1 200", 12) == 0, "%.*s", (int)n, buf);
  free(buf);
  const char *g = "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n";
  cr_assert_eq(fca_send_all(fd, g, strlen(g), 2000), 0);
  buf = NULL;
  n = 0;
  fca_recv_until(fd, &buf, &n, 0, "target: /echo", 5000);
  cr_assert_not_null(fca_find(buf, n, "X-Origin: fca-test-origin"), "reached the origin:\n%.*s",
                     (int)n, buf);
  free(buf);
  close(fd);
}

Test(robust, half_close_with_a_large_response_queued_delivers_it_all) {
  start((const char *const[]){"--buffer-limit", "64M", NULL});
  int fd = fca_tcp_connect(px.port, 3000);
  cr_assert_geq(fd, 0);
  const size_t size = 40u * 1000 * 1000;
  char req[256];
  snprintf(req, sizeof req, "GET http://127.0.0.1:%d/size/%zu HTTP/1.1\r\nHost: a\r\n\r\n",
           org.port, size);
  cr_assert_eq(fca_send_all(fd, req, strlen(req), 2000), 0);
  usleep(1500 * 1000); /* the proxy queues the body while this client does not read */
  shutdown(fd, SHUT_WR);
  char *buf = NULL;
  size_t n = 0;
  int rc = fca_recv_until(fd, &buf, &n, 0, NULL, 30000);
  const char *body = fca_find(buf, n, "\r\n\r\n");
  cr_assert_not_null(body);
  size_t got = n - (size_t)(body + 4 - buf);
  cr_assert_eq(got, size, "received %zu of %zu body bytes (rc %d)", got, size, rc);
  free(buf);
  close(fd);
}

Test(robust, slow_upload_that_progresses_is_not_a_timeout) {
  start((const char *const[]){"--upstream-timeout", "2s", NULL});
  int fd = fca_tcp_connect(px.port, 3000);
  cr_assert_geq(fd, 0);
  char head[256];
  snprintf(head, sizeof head,
           "POST http://127.0.0.1:%d/echo HTTP/1.1\r\nHost: a\r\nContent-Length: 8\r\n\r\n",
           org.port);
  cr_assert_eq(fca_send_all(fd, head, strlen(head), 2000), 0);
  for (int i = 0; i < 8; i++) { /* 8 bytes over 4 s: twice the timeout, never silent for it */
    usleep(500 * 1000);
    cr_assert_eq(fca_send_all(fd, "x", 1, 2000), 0);
  }
  char *buf = NULL;
  size_t n = 0;
  fca_recv_until(fd, &buf, &n, 0, "xxxxxxxx", 5000);
  cr_assert(n >= 12 && strncmp(buf, "HTTP/1.1 200", 12) == 0, "%.*s", (int)n, buf);
  cr_assert_not_null(fca_find(buf, n, "body-length: 8"), "%.*s", (int)n, buf);
  free(buf);
  close(fd);
}

Test(robust, host_is_the_target_authority) {
  start(NULL);
  char req[256];
  int n = snprintf(req, sizeof req,
                   "GET http://127.0.0.1:%d/echo HTTP/1.1\r\nHost: other.test\r\n\r\n", org.port);
  char *resp;
  size_t rn = exchange(req, (size_t)n, &resp, "target: /echo", 5000);
  char want[64];
  snprintf(want, sizeof want, "\r\nHost: 127.0.0.1:%d\r\n", org.port);
  cr_assert_not_null(fca_find(resp, rn, want), "%.*s", (int)rn, resp);
  cr_assert_null(fca_find(resp, rn, "other.test"), "%.*s", (int)rn, resp);
  free(resp);
}
