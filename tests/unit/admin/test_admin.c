/* The admin listener in-process: a real socket on loopback, a real sink, CA and model; events
 * injected through the sink as the audit engine would emit them. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/x509.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "fcaudit/admin.h"
#include "fcaudit/ca.h"
#include "fcaudit/sink.h"
#include "fcaudit/util.h"
#include "harness.h"

static char tmpdir[256];
static fca_ca_t *ca;
static fca_sink_t *sink;
static fca_admin_t *admin;
static int port;

static void fake_metrics(void *ud, fca_metrics_t *out) {
  (void)ud;
  out->conns_total = 7;
  out->requests = 11;
  out->started_ms = 1795000000000;
}

static void setup(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/fca-admin-test-XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
  char err[256];
  char dir[300];
  snprintf(dir, sizeof dir, "%s/ca", tmpdir);
  ca = fca_ca_create(dir, NULL, false, err, sizeof err);
  cr_assert_not_null(ca, "%s", err);
  sink = fca_sink_new(NULL);
  cr_assert_not_null(sink);
  fca_admin_opts_t o = {.listen = "127.0.0.1:0", .sink = sink, .ca = ca, .metrics = fake_metrics};
  admin = fca_admin_start(&o, err, sizeof err);
  cr_assert_not_null(admin, "%s", err);
  port = fca_admin_port(admin);
  cr_assert_gt(port, 0);
}

static void teardown(void) {
  fca_admin_stop_free(admin);
  fca_sink_close(sink);
  fca_ca_free(ca);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  cr_assert_eq(system(cmd), 0);
}

TestSuite(admin, .init = setup, .fini = teardown, .timeout = 60);

static int dial(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0, "%s", strerror(errno));
  return fd;
}

static void send_all(int fd, const char *s) {
  size_t n = strlen(s);
  while (n) {
    ssize_t w = write(fd, s, n);
    cr_assert_gt(w, 0);
    s += w, n -= (size_t)w;
  }
}

/* Reads until `want` has been seen (or EOF when want is NULL), 5 s at most. */
static size_t read_until(int fd, char *buf, size_t cap, size_t len, const char *want) {
  int64_t deadline = fca_mono_ms() + 5000;
  while (len + 1 < cap) {
    buf[len] = '\0';
    if (want && strstr(buf, want)) return len;
    int64_t left = deadline - fca_mono_ms();
    if (left <= 0) break;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, (int)left) <= 0) break;
    ssize_t r = read(fd, buf + len, cap - 1 - len);
    if (r <= 0) break;
    len += (size_t)r;
  }
  buf[len] = '\0';
  return len;
}

typedef struct {
  int status;
  char head[4096];
  char *body;
  size_t body_len;
} resp_t;

static void request(const char *method, const char *path, const char *host, const char *extra,
                    resp_t *r) {
  int fd = dial();
  char req[1024];
  snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n%s\r\n", method,
           path, host, extra ? extra : "");
  send_all(fd, req);
  static char buf[1 << 20];
  size_t n = read_until(fd, buf, sizeof buf, 0, NULL);
  close(fd);
  char *sep = strstr(buf, "\r\n\r\n");
  cr_assert_not_null(sep, "no response head: %s", buf);
  size_t hl = (size_t)(sep - buf);
  cr_assert_lt(hl, sizeof r->head);
  memcpy(r->head, buf, hl);
  r->head[hl] = '\0';
  r->body = buf + hl + 4;
  r->body_len = n - hl - 4;
  cr_assert_eq(sscanf(buf, "HTTP/1.1 %d", &r->status), 1, "%s", buf);
}

static char host_hdr[64];
static const char *own_host(void) {
  snprintf(host_hdr, sizeof host_hdr, "127.0.0.1:%d", port);
  return host_hdr;
}

static bool has_header(const resp_t *r, const char *line) {
  char want[512];
  snprintf(want, sizeof want, "\r\n%s\r", line);
  return strcasestr(r->head, want) != NULL;
}

static void emit_violation(const char *rule, fca_level_t level, int item, uint64_t page) {
  fca_event_t ev = {
      .type = FCA_EV_VIOLATION,
      .rule = rule,
      .level = level,
      .item = item,
      .message = "Cross-Origin-Opener-Policy same-origin breaks OAuth bank logins",
      .fix = "send Cross-Origin-Opener-Policy: same-origin-allow-popups",
      .has_page = true,
      .page = {.id = page,
               .url = "https://shop.test/checkout",
               .top_level = true,
               .tagged_by = "script-tag",
               .confidence = "high"},
      .has_evidence = true,
      .evidence = {.source = "header",
                   .name = "Cross-Origin-Opener-Policy",
                   .value = "same-origin<script>",
                   .value_len = 19,
                   .offset = -1},
      .client = "127.0.0.1:5000",
  };
  fca_sink_emit(sink, &ev);
}

static void emit_page(uint64_t page) {
  fca_event_t ev = {.type = FCA_EV_PAGE,
                    .has_page = true,
                    .page = {.id = page,
                             .url = "https://shop.test/checkout",
                             .top_level = true,
                             .tagged_by = "script-tag",
                             .confidence = "high"}};
  fca_sink_emit(sink, &ev);
}

Test(admin, dashboard_with_security_headers) {
  resp_t r;
  request("GET", "/", own_host(), NULL, &r);
  cr_assert_eq(r.status, 200);
  cr_assert(strstr(r.body, "<title>fcaudit") != NULL);
  cr_assert(has_header(&r, "X-Content-Type-Options: nosniff"), "%s", r.head);
  cr_assert(has_header(&r, "Content-Type: text/html; charset=utf-8"), "%s", r.head);
  cr_assert(strcasestr(r.head, "Content-Security-Policy: default-src 'none'; script-src 'self'") !=
            NULL);
  cr_assert(strcasestr(r.head, "frame-ancestors 'none'") != NULL);
  request("GET", "/assets/app.js", own_host(), NULL, &r);
  cr_assert_eq(r.status, 200);
  cr_assert(has_header(&r, "Content-Type: text/javascript; charset=utf-8"), "%s", r.head);
  request("GET", "/assets/../ca.key", own_host(), NULL, &r);
  cr_assert_eq(r.status, 404);
  request("GET", "/nope", own_host(), NULL, &r);
  cr_assert_eq(r.status, 404);
  cr_assert(has_header(&r, "X-Content-Type-Options: nosniff"));
}

Test(admin, only_get_and_head) {
  const char *methods[] = {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
  for (size_t i = 0; i < 5; i++) {
    resp_t r;
    request(methods[i], "/", own_host(), "Content-Length: 0\r\n", &r);
    cr_assert_eq(r.status, 405, "%s", methods[i]);
    cr_assert(has_header(&r, "Allow: GET, HEAD"), "%s", r.head);
  }
  resp_t r;
  request("HEAD", "/healthz", own_host(), NULL, &r);
  cr_assert_eq(r.status, 200);
  cr_assert_eq(r.body_len, 0);
  cr_assert(has_header(&r, "Content-Length: 3"), "%s", r.head);
  request("GET", "/healthz", own_host(), NULL, &r);
  cr_assert_eq(r.status, 200);
  cr_assert_str_eq(r.body, "ok\n");
}

Test(admin, foreign_host_refused) {
  resp_t r;
  request("GET", "/", "evil.example", NULL, &r);
  cr_assert_eq(r.status, 403);
  char h[64];
  snprintf(h, sizeof h, "rebind.evil.example:%d", port);
  request("GET", "/ca.pem", h, NULL, &r);
  cr_assert_eq(r.status, 403);
  cr_assert_null(strstr(r.body, "BEGIN CERTIFICATE"));
  request("GET", "/", "fcaudit.test", NULL, &r);
  cr_assert_eq(r.status, 200);
  snprintf(h, sizeof h, "localhost:%d", port);
  request("GET", "/healthz", h, NULL, &r);
  cr_assert_eq(r.status, 200);
}

Test(admin, ca_downloads_are_the_ca) {
  char *pem = NULL;
  size_t pem_len = 0;
  FILE *f = open_memstream(&pem, &pem_len);
  fca_ca_write_pem(ca, f);
  fclose(f);
  resp_t r;
  request("GET", "/ca.pem", "fcaudit.test", NULL, &r);
  cr_assert_eq(r.status, 200);
  cr_assert(has_header(&r, "Content-Type: application/x-pem-file"), "%s", r.head);
  cr_assert_eq(r.body_len, pem_len);
  cr_assert_eq(memcmp(r.body, pem, pem_len), 0);
  free(pem);

  request("GET", "/ca.crt", "fcaudit.test", NULL, &r);
  cr_assert_eq(r.status, 200);
  cr_assert(has_header(&r, "Content-Type: application/x-x509-ca-cert"), "%s", r.head);
  const unsigned char *p = (const unsigned char *)r.body;
  X509 *x = d2i_X509(NULL, &p, (long)r.body_len);
  cr_assert_not_null(x);
  cr_assert_eq(X509_cmp(x, fca_ca_cert(ca)), 0);
  X509_free(x);

  char spki[FCA_CA_SPKI_B64_LEN], fp[FCA_CA_FP_SHA256_LEN];
  fca_ca_spki_b64(ca, spki, sizeof spki);
  fca_ca_fingerprint_sha256(ca, fp, sizeof fp);
  request("GET", "/ca", "fcaudit.test", NULL, &r);
  cr_assert_eq(r.status, 200);
  cr_assert(strstr(r.body, spki) != NULL);
  cr_assert(strstr(r.body, fp) != NULL);
  cr_assert(strstr(r.body, "--ignore-certificate-errors-spki-list=") != NULL);
  const char *platforms[] = {"Chrome", "Firefox", "macOS", "Windows", "Linux", "Android", "iOS"};
  for (size_t i = 0; i < 7; i++)
    cr_assert(strstr(r.body, platforms[i]) != NULL, "%s", platforms[i]);
  cr_assert_null(strstr(r.body, "{{"), "template left unfilled");
  cr_assert_null(strstr(r.body, "PRIVATE KEY"));

  request("GET", "/trust-check", "fcaudit.test:443", "Origin: http://fcaudit.test\r\n", &r);
  cr_assert_eq(r.status, 200);
  cr_assert(has_header(&r, "Access-Control-Allow-Origin: *"), "%s", r.head);
  cr_assert(strstr(r.body, fp) != NULL);
}

Test(admin, metrics_exposition_moves_with_events) {
  resp_t r;
  request("GET", "/metrics", own_host(), NULL, &r);
  cr_assert_eq(r.status, 200);
  cr_assert(has_header(&r, "Content-Type: text/plain; version=0.0.4; charset=utf-8"), "%s", r.head);
  cr_assert(strstr(r.body, "\nfcaudit_requests_total 11\n") != NULL);
  cr_assert(strstr(r.body, "\nfcaudit_connections_total 7\n") != NULL);
  cr_assert_null(strstr(r.body, "fcaudit_violations_total{"));
  emit_violation("FC-COOP-1", FCA_LEVEL_ERROR, 1, 1);
  emit_violation("FC-COOP-1", FCA_LEVEL_ERROR, 1, 2);
  request("GET", "/metrics", own_host(), NULL, &r);
  cr_assert(strstr(r.body, "\nfcaudit_violations_total{rule=\"FC-COOP-1\",level=\"error\"} 2\n") !=
                NULL,
            "%s", r.body);
  cr_assert(strstr(r.body, "\nfcaudit_events_total{type=\"violation\"} 2\n") != NULL);
}

Test(admin, metrics_json_for_the_dashboard) {
  resp_t r;
  request("GET", "/api/metrics.json", own_host(), NULL, &r);
  cr_assert_eq(r.status, 200);
  json_t *o = json_loadb(r.body, r.body_len, 0, NULL);
  cr_assert_not_null(o);
  cr_assert_eq(json_integer_value(json_object_get(o, "requests")), 11);
  cr_assert_eq(json_integer_value(json_object_get(o, "connections_total")), 7);
  cr_assert_not_null(json_object_get(o, "pages_seen"));
  json_decref(o);
}

static int open_stream(const char *last_id, char *buf, size_t cap, size_t *len) {
  int fd = dial();
  char req[512];
  snprintf(req, sizeof req, "GET /events HTTP/1.1\r\nHost: fcaudit.test\r\n%s%s%s\r\n",
           last_id ? "Last-Event-ID: " : "", last_id ? last_id : "", last_id ? "\r\n" : "");
  send_all(fd, req);
  *len = read_until(fd, buf, cap, 0, "event: hello");
  cr_assert(strstr(buf, "event: hello") != NULL, "%s", buf);
  cr_assert(strcasestr(buf, "Content-Type: text/event-stream") != NULL);
  cr_assert(strstr(buf, "retry: 2000") != NULL);
  return fd;
}

Test(admin, live_stream_delivers_events) {
  static char buf[65536];
  size_t len;
  int fd = open_stream(NULL, buf, sizeof buf, &len);
  emit_violation("FC-REF-1", FCA_LEVEL_ERROR, 2, 3);
  len = read_until(fd, buf, sizeof buf, len, "\"rule\":\"FC-REF-1\"");
  cr_assert(strstr(buf, "\"rule\":\"FC-REF-1\"") != NULL, "%s", buf);
  char id[96];
  snprintf(id, sizeof id, "id: %s.1\nevent: violation\ndata: {", fca_sink_run_id(sink));
  cr_assert(strstr(buf, id) != NULL, "%s", buf);
  /* The evidence travels as JSON text; the page renders it with textContent. */
  cr_assert(strstr(buf, "same-origin<script>") != NULL);
  /* A second event on the same stream. */
  emit_page(4);
  len = read_until(fd, buf, sizeof buf, len, "event: page");
  cr_assert(strstr(buf, "event: page") != NULL, "%s", buf);
  close(fd);
}

Test(admin, reconnect_replays_from_last_event_id) {
  for (uint64_t i = 1; i <= 3; i++) emit_violation("FC-COOP-1", FCA_LEVEL_ERROR, 1, i);
  const char *run = fca_sink_run_id(sink);
  char last[96], want[96], not_want[96];
  snprintf(last, sizeof last, "%s.1", run);
  snprintf(want, sizeof want, "id: %s.3\n", run);
  snprintf(not_want, sizeof not_want, "id: %s.1\n", run);
  static char buf[65536];
  size_t len;
  int fd = open_stream(last, buf, sizeof buf, &len);
  len = read_until(fd, buf, sizeof buf, len, want);
  close(fd);
  cr_assert(strstr(buf, want) != NULL, "%s", buf);
  snprintf(want, sizeof want, "id: %s.2\n", run);
  cr_assert(strstr(buf, want) != NULL, "%s", buf);
  cr_assert_null(strstr(buf, not_want), "already seen event replayed");

  /* A fresh page (no Last-Event-ID) or one from another run gets the whole ring. */
  fd = open_stream("20200101T000000Z-000000.2", buf, sizeof buf, &len);
  len = read_until(fd, buf, sizeof buf, len, "3\nevent: violation");
  close(fd);
  cr_assert(strstr(buf, not_want) != NULL, "%s", buf);
}

/* At the cap of 64 live streams a new dashboard still gets in: the oldest stream (none is
 * stalled here) is closed to make room, and its page reconnects with Last-Event-ID. */
Test(admin, live_streams_are_capped_and_the_oldest_makes_room) {
  static char buf[8192];
  size_t len;
  int fds[64];
  for (int i = 0; i < 64; i++) fds[i] = open_stream(NULL, buf, sizeof buf, &len);
  int extra = open_stream(NULL, buf, sizeof buf, &len);
  struct pollfd p = {.fd = fds[0], .events = POLLIN};
  cr_assert_eq(poll(&p, 1, 3000), 1, "the oldest stream is closed");
  char c;
  while (recv(fds[0], &c, 1, MSG_DONTWAIT) > 0) {
  }
  cr_assert_eq(recv(fds[0], &c, 1, 0), 0, "the oldest stream ends");
  /* The next oldest is still open. */
  cr_assert_neq(recv(fds[1], &c, 1, MSG_PEEK | MSG_DONTWAIT), 0);
  close(extra);
  for (int i = 0; i < 64; i++) close(fds[i]);
}

Test(admin, head_on_stream_does_not_hang) {
  resp_t r;
  request("HEAD", "/events", "fcaudit.test", NULL, &r);
  cr_assert_eq(r.status, 200);
  cr_assert(strcasestr(r.head, "text/event-stream") != NULL);
}

Test(admin, report_json_has_scorecards) {
  emit_page(9);
  emit_violation("FC-COOP-1", FCA_LEVEL_ERROR, 1, 9);
  resp_t r;
  request("GET", "/api/report.json", own_host(), NULL, &r);
  cr_assert_eq(r.status, 200);
  cr_assert(has_header(&r, "Content-Type: application/json"), "%s", r.head);
  json_error_t je;
  json_t *doc = json_loadb(r.body, r.body_len, 0, &je);
  cr_assert_not_null(doc, "%s", je.text);
  cr_assert_eq(json_integer_value(json_object_get(doc, "report_version")), 1);
  json_t *pages = json_object_get(doc, "pages");
  cr_assert_eq(json_array_size(pages), 1);
  json_t *card = json_object_get(json_array_get(pages, 0), "scorecard");
  cr_assert_eq(json_array_size(card), 4);
  cr_assert_str_eq(json_string_value(json_object_get(json_array_get(card, 0), "status")), "fail");
  json_t *v = json_array_get(json_object_get(doc, "violations"), 0);
  cr_assert_str_eq(json_string_value(json_object_get(v, "rule")), "FC-COOP-1");
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(doc, "verdict"), "result")),
                   "fail");
  json_decref(doc);
}

Test(admin, stop_with_open_streams) {
  static char buf[8192];
  size_t len;
  int fd1 = open_stream(NULL, buf, sizeof buf, &len);
  int fd2 = open_stream(NULL, buf, sizeof buf, &len);
  emit_violation("FC-COOP-1", FCA_LEVEL_ERROR, 1, 1);
  fca_admin_stop_free(admin);
  admin = NULL;
  /* Both streams end: the server closes them (end of file), it does not leave them open until
   * the read times out. */
  int fds[2] = {fd1, fd2};
  for (int i = 0; i < 2; i++) {
    int64_t t0 = fca_mono_ms();
    read_until(fds[i], buf, sizeof buf, 0, NULL);
    cr_assert_lt(fca_mono_ms() - t0, 4000, "stream %d still open after the admin stopped", i);
    struct pollfd p = {.fd = fds[i], .events = POLLIN};
    cr_assert_eq(poll(&p, 1, 0), 1, "stream %d: no end of file", i);
    char c;
    cr_assert_eq(read(fds[i], &c, 1), 0, "stream %d: no end of file", i);
    close(fds[i]);
  }
}

Test(admin, client_that_goes_away_is_forgotten) {
  static char buf[8192];
  size_t len;
  for (int i = 0; i < 5; i++) close(open_stream(NULL, buf, sizeof buf, &len));
  emit_violation("FC-COOP-1", FCA_LEVEL_ERROR, 1, 1);
  /* The admin notices the closed sockets; the clients gauge drops back to 0. */
  int64_t deadline = fca_mono_ms() + 5000;
  resp_t r;
  for (;;) {
    request("GET", "/metrics", own_host(), NULL, &r);
    if (strstr(r.body, "\nfcaudit_admin_stream_clients 0\n")) break;
    cr_assert_lt(fca_mono_ms(), deadline, "%s", r.body);
    usleep(50 * 1000);
  }
}

/* ---- start failures (no fixture listener needed) ---- */

Test(admin, refuses_non_loopback_without_flag, .init = NULL, .fini = NULL) {
  char err[256] = "";
  fca_admin_opts_t o = {.listen = "0.0.0.0:0"};
  cr_assert_null(fca_admin_start(&o, err, sizeof err));
  cr_assert(strstr(err, "--allow-remote-admin") != NULL, "%s", err);
  o.listen = "192.0.2.1:8081";
  cr_assert_null(fca_admin_start(&o, err, sizeof err));
  cr_assert(strstr(err, "--allow-remote-admin") != NULL, "%s", err);
  o.listen = "nonsense";
  cr_assert_null(fca_admin_start(&o, err, sizeof err));
  cr_assert(strstr(err, "ADDR:PORT") != NULL, "%s", err);
}

Test(admin, busy_port_is_an_error_not_a_crash, .init = NULL, .fini = NULL) {
  int busy = 0, fd = fca_busy_port(&busy);
  cr_assert_geq(fd, 0);
  char listen_addr[64], err[256] = "";
  snprintf(listen_addr, sizeof listen_addr, "127.0.0.1:%d", busy);
  fca_admin_opts_t o = {.listen = listen_addr};
  cr_assert_null(fca_admin_start(&o, err, sizeof err));
  cr_assert(strstr(err, "in use") != NULL, "%s", err);
  close(fd);
}

Test(admin, no_sink_no_ca_still_serves, .init = NULL, .fini = NULL) {
  char err[256] = "";
  fca_admin_opts_t o = {.listen = "127.0.0.1:0"};
  fca_admin_t *a = fca_admin_start(&o, err, sizeof err);
  cr_assert_not_null(a, "%s", err);
  port = fca_admin_port(a);
  resp_t r;
  request("GET", "/ca.pem", "fcaudit.test", NULL, &r);
  cr_assert_eq(r.status, 404);
  request("GET", "/metrics", "fcaudit.test", NULL, &r);
  cr_assert_eq(r.status, 200);
  request("GET", "/ca", "fcaudit.test", NULL, &r);
  cr_assert_eq(r.status, 200);
  fca_admin_stop_free(a);
}
