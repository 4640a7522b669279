/* The admin pages of the real binary: started with --admin on loopback, reached directly and
 * through the proxy (http://fcaudit.test/, https://fcaudit.test/ via interception), with curl
 * as a real client. Loopback only; --only-resolved keeps every name off DNS. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fcaudit/util.h"

extern char **environ;

static char tmp[256];
static pid_t proxy_pid = -1;
static int proxy_port, admin_port;

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  socklen_t sl = sizeof sa;
  getsockname(fd, (struct sockaddr *)&sa, &sl);
  close(fd);
  return ntohs(sa.sin_port);
}

/* Runs argv with stdout and stderr to files; returns the pid. */
static pid_t spawn(char *const argv[], const char *out, const char *err) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid;
  int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  cr_assert_eq(rc, 0, "spawn %s: %s", argv[0], strerror(rc));
  return pid;
}

static char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *p = NULL;
  size_t cap = 0, len = 0;
  for (;;) {
    if (len + 4096 + 1 > cap) p = realloc(p, cap = cap * 2 + 8192);
    size_t r = fread(p + len, 1, 4096, f);
    len += r;
    if (r == 0) break;
  }
  fclose(f);
  p[len] = '\0';
  if (n) *n = len;
  return p;
}

/* Runs argv to completion; returns its exit status and (when out) its stdout. */
static int run(char *const argv[], char **out, size_t *outlen) {
  char o[300], e[300];
  snprintf(o, sizeof o, "%s/run.out", tmp);
  snprintf(e, sizeof e, "%s/run.err", tmp);
  pid_t pid = spawn(argv, o, e);
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  if (out) *out = slurp(o, outlen);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int dial(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

typedef struct {
  int status;
  char *all; /* head and body, NUL-terminated */
  char *body;
  size_t body_len;
} resp_t;

/* One request on a fresh connection (Connection: close), read to EOF, 10 s at most. Returns
 * -1 when the port does not answer. */
static int http(int port, const char *target, const char *host, resp_t *r) {
  memset(r, 0, sizeof *r);
  int fd = dial(port);
  if (fd < 0) return -1;
  char req[1024];
  int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                   target, host);
  if (write(fd, req, (size_t)n) != n) {
    close(fd);
    return -1;
  }
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  int64_t deadline = fca_mono_ms() + 10000;
  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int64_t left = deadline - fca_mono_ms();
    if (left <= 0 || poll(&p, 1, (int)left) <= 0) break;
    if (len + 4096 + 1 > cap) buf = realloc(buf, cap *= 2);
    ssize_t got = read(fd, buf + len, cap - len - 1);
    if (got <= 0) break;
    len += (size_t)got;
  }
  close(fd);
  buf[len] = '\0';
  r->all = buf;
  char *sep = strstr(buf, "\r\n\r\n");
  if (!sep || sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1) return -1;
  r->body = sep + 4;
  r->body_len = len - (size_t)(r->body - buf);
  return 0;
}

static void admin_get(const char *path, resp_t *r) {
  char host[64];
  snprintf(host, sizeof host, "127.0.0.1:%d", admin_port);
  cr_assert_eq(http(admin_port, path, host, r), 0, "admin %s did not answer", path);
}

static void start_proxy(const char *admin_arg, const char *extra) {
  proxy_port = free_port();
  char listen[64], ca_dir[300], log[300], out[300], err[300];
  snprintf(listen, sizeof listen, "127.0.0.1:%d", proxy_port);
  snprintf(ca_dir, sizeof ca_dir, "%s/ca", tmp);
  snprintf(log, sizeof log, "%s/events.ndjson", tmp);
  snprintf(out, sizeof out, "%s/proxy.out", tmp);
  snprintf(err, sizeof err, "%s/proxy.err", tmp);
  char *argv[16];
  int i = 0;
  argv[i++] = FCA_TEST_BINARY;
  argv[i++] = "--listen";
  argv[i++] = listen;
  argv[i++] = "--admin";
  argv[i++] = (char *)admin_arg;
  argv[i++] = "--only-resolved";
  argv[i++] = "--ca-dir";
  argv[i++] = ca_dir;
  argv[i++] = "--log";
  argv[i++] = log;
  argv[i++] = "--workers";
  argv[i++] = "1";
  if (extra) argv[i++] = (char *)extra;
  argv[i] = NULL;
  proxy_pid = spawn(argv, out, err);
  /* Ready when the proxy port accepts. */
  int64_t deadline = fca_mono_ms() + 15000;
  for (;;) {
    int fd = dial(proxy_port);
    if (fd >= 0) {
      close(fd);
      break;
    }
    int st;
    cr_assert_eq(waitpid(proxy_pid, &st, WNOHANG), 0, "the proxy exited: %s", slurp(err, NULL));
    cr_assert_lt(fca_mono_ms(), deadline, "the proxy did not start");
    usleep(50 * 1000);
  }
}

static void setup(void) {
  snprintf(tmp, sizeof tmp, "/tmp/fca-it-admin-XXXXXX");
  cr_assert_not_null(mkdtemp(tmp));
}

static void teardown(void) {
  if (proxy_pid > 0) {
    kill(proxy_pid, SIGTERM);
    int st;
    waitpid(proxy_pid, &st, 0);
    proxy_pid = -1;
  }
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
  cr_assert_eq(system(cmd), 0);
}

TestSuite(admin, .init = setup, .fini = teardown, .timeout = 120);

static void start_with_admin(void) {
  admin_port = free_port();
  char a[64];
  snprintf(a, sizeof a, "127.0.0.1:%d", admin_port);
  start_proxy(a, NULL);
  resp_t r;
  int64_t deadline = fca_mono_ms() + 10000;
  while (http(admin_port, "/healthz", "fcaudit.test", &r) != 0 || r.status != 200) {
    free(r.all);
    cr_assert_lt(fca_mono_ms(), deadline, "the admin listener did not come up");
    usleep(50 * 1000);
  }
  free(r.all);
}

static X509 *pem_cert(const char *pem, size_t n) {
  BIO *b = BIO_new_mem_buf(pem, (int)n);
  X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
  BIO_free(b);
  return x;
}

Test(admin, ca_downloads_are_what_ca_export_writes) {
  start_with_admin();
  char ca_dir[300];
  snprintf(ca_dir, sizeof ca_dir, "%s/ca", tmp);
  char *exp_pem = NULL, *exp_der = NULL;
  size_t exp_pem_len = 0, exp_der_len = 0;
  char *a1[] = {FCA_TEST_BINARY, "--ca-dir", ca_dir, "ca", "export", NULL};
  cr_assert_eq(run(a1, &exp_pem, &exp_pem_len), 0);
  char *a2[] = {FCA_TEST_BINARY, "--ca-dir", ca_dir, "ca", "export", "--der", NULL};
  cr_assert_eq(run(a2, &exp_der, &exp_der_len), 0);
  X509 *want = pem_cert(exp_pem, exp_pem_len);
  cr_assert_not_null(want, "ca export is not PEM");

  resp_t r;
  admin_get("/ca.pem", &r);
  cr_assert_eq(r.status, 200);
  X509 *got = pem_cert(r.body, r.body_len);
  cr_assert_not_null(got, "/ca.pem does not parse");
  cr_assert_eq(X509_cmp(got, want), 0, "/ca.pem is another certificate");
  cr_assert_eq(r.body_len, exp_pem_len);
  X509_free(got);
  free(r.all);

  admin_get("/ca.crt", &r);
  cr_assert_eq(r.status, 200);
  const unsigned char *p = (const unsigned char *)r.body;
  got = d2i_X509(NULL, &p, (long)r.body_len);
  cr_assert_not_null(got, "/ca.crt is not DER");
  cr_assert_eq(X509_cmp(got, want), 0);
  cr_assert(r.body_len == exp_der_len && memcmp(r.body, exp_der, exp_der_len) == 0);
  X509_free(got);
  free(r.all);

  /* The page names the same SPKI as `fcaudit ca spki`. */
  char *spki = NULL;
  char *a3[] = {FCA_TEST_BINARY, "--ca-dir", ca_dir, "ca", "spki", NULL};
  cr_assert_eq(run(a3, &spki, NULL), 0);
  spki[strcspn(spki, "\n")] = '\0';
  admin_get("/ca", &r);
  cr_assert_eq(r.status, 200);
  cr_assert(strstr(r.body, spki) != NULL, "SPKI %s not on /ca", spki);
  free(r.all);
  free(spki);
  X509_free(want);
  free(exp_pem);
  free(exp_der);
}

/* ---- a small Prometheus text parser ---- */

typedef struct {
  char key[512]; /* name{labels} as written */
  double value;
} sample_t;

static size_t parse_prom(const char *text, sample_t *out, size_t cap) {
  size_t n = 0;
  char types[128][96];
  size_t ntypes = 0;
  const char *line = text;
  while (*line) {
    const char *nl = strchr(line, '\n');
    cr_assert_not_null(nl, "the exposition does not end in a newline");
    size_t len = (size_t)(nl - line);
    char buf[512];
    cr_assert_lt(len, sizeof buf);
    memcpy(buf, line, len);
    buf[len] = '\0';
    line = nl + 1;
    if (len == 0) continue;
    if (strncmp(buf, "# TYPE ", 7) == 0) {
      char name[96], type[32];
      cr_assert_eq(sscanf(buf + 7, "%95s %31s", name, type), 2, "%s", buf);
      cr_assert(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0, "%s", buf);
      cr_assert_lt(ntypes, 128);
      snprintf(types[ntypes++], sizeof types[0], "%s", name);
      continue;
    }
    if (buf[0] == '#') {
      cr_assert(strncmp(buf, "# HELP ", 7) == 0, "unknown comment line: %s", buf);
      continue;
    }
    char *sp = strrchr(buf, ' ');
    cr_assert_not_null(sp, "%s", buf);
    *sp = '\0';
    char *end;
    double v = strtod(sp + 1, &end);
    cr_assert(*end == '\0' && end != sp + 1, "bad value: %s", sp + 1);
    size_t nlen = strcspn(buf, "{");
    bool declared = false;
    for (size_t i = 0; i < ntypes; i++)
      declared |= strlen(types[i]) == nlen && strncmp(types[i], buf, nlen) == 0;
    cr_assert(declared, "sample without a TYPE line: %s", buf);
    if (buf[nlen] == '{') cr_assert_eq(buf[strlen(buf) - 1], '}', "%s", buf);
    cr_assert_lt(n, cap);
    snprintf(out[n].key, sizeof out[n].key, "%s", buf);
    out[n++].value = v;
  }
  return n;
}

static double metric(const sample_t *s, size_t n, const char *key) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(s[i].key, key) == 0) return s[i].value;
  cr_assert_fail("no sample %s", key);
  return -1;
}

static size_t scrape(sample_t *s, size_t cap) {
  resp_t r;
  admin_get("/metrics", &r);
  cr_assert_eq(r.status, 200);
  cr_assert(strcasestr(r.all, "\r\nContent-Type: text/plain; version=0.0.4") != NULL);
  size_t n = parse_prom(r.body, s, cap);
  free(r.all);
  return n;
}

static int curl_via_proxy(const char *url, char **out) {
  char proxy[64], cacert[300];
  snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d", proxy_port);
  snprintf(cacert, sizeof cacert, "%s/ca/ca.pem", tmp);
  char *argv[] = {"/usr/bin/curl", "-sS",  "--max-time", "10", "--proxy", proxy,
                  "--cacert",      cacert, "-o",         "-",  "-w",      "\n%{http_code}",
                  (char *)url,     NULL};
  return run(argv, out, NULL);
}

Test(admin, metrics_parse_and_move_with_traffic) {
  start_with_admin();
  static sample_t a[256], b[256];
  size_t na = scrape(a, 256);
  double req0 = metric(a, na, "fcaudit_requests_total");
  double conn0 = metric(a, na, "fcaudit_connections_total");
  double tls0 = metric(a, na, "fcaudit_tls_handshakes_total");
  double recv0 = metric(a, na, "fcaudit_client_bytes_total{direction=\"received\"}");
  cr_assert_geq(metric(a, na, "fcaudit_connections_open"), 0);
  metric(a, na, "fcaudit_cert_cache_hits_total");
  metric(a, na, "fcaudit_cert_cache_misses_total");
  metric(a, na, "fcaudit_tls_handshake_failures_total");
  metric(a, na, "fcaudit_pages_seen_total");
  metric(a, na, "fcaudit_pages_tagged_total");
  metric(a, na, "fcaudit_audit_notes_total");
  metric(a, na, "fcaudit_event_sink_errors_total");

  /* Three plain requests and one intercepted https request through the proxy. */
  for (int i = 0; i < 3; i++) {
    resp_t r;
    char target[] = "http://fcaudit.test/healthz";
    cr_assert_eq(http(proxy_port, target, "fcaudit.test", &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.all);
    cr_assert_str_eq(r.body, "ok\n");
    free(r.all);
  }
  char *out = NULL;
  cr_assert_eq(curl_via_proxy("https://fcaudit.test/healthz", &out), 0, "%s", out);
  cr_assert(strstr(out, "ok\n\n200") != NULL, "%s", out);
  free(out);

  size_t nb = scrape(b, 256);
  cr_assert_geq(metric(b, nb, "fcaudit_requests_total"), req0 + 4);
  cr_assert_geq(metric(b, nb, "fcaudit_connections_total"), conn0 + 4);
  cr_assert_geq(metric(b, nb, "fcaudit_tls_handshakes_total"), tls0 + 1);
  cr_assert_gt(metric(b, nb, "fcaudit_client_bytes_total{direction=\"received\"}"), recv0);
}

Test(admin, pages_through_the_proxy) {
  start_with_admin();
  resp_t r;
  cr_assert_eq(http(proxy_port, "http://fcaudit.test/", "fcaudit.test", &r), 0);
  cr_assert_eq(r.status, 200);
  cr_assert(strstr(r.body, "<title>fcaudit") != NULL);
  cr_assert(strcasestr(r.all, "\r\nX-Content-Type-Options: nosniff") != NULL);
  free(r.all);
  char *out = NULL;
  cr_assert_eq(curl_via_proxy("https://fcaudit.test/trust-check", &out), 0, "%s", out);
  cr_assert(strstr(out, "\"fcaudit\":true") != NULL, "%s", out);
  free(out);
  /* The report is the run model's JSON report. */
  admin_get("/api/report.json", &r);
  cr_assert_eq(r.status, 200);
  cr_assert(strstr(r.body, "\"report_version\": 1") != NULL, "%s", r.body);
  free(r.all);
}

Test(admin, refuses_non_loopback_admin_without_flag) {
  proxy_port = free_port();
  char listen[64], ca_dir[300], log[300];
  snprintf(listen, sizeof listen, "127.0.0.1:%d", proxy_port);
  snprintf(ca_dir, sizeof ca_dir, "%s/ca", tmp);
  snprintf(log, sizeof log, "%s/events.ndjson", tmp);
  char *argv[] = {FCA_TEST_BINARY, "--listen", listen, "--admin",         "0.0.0.0:0", "--ca-dir",
                  ca_dir,          "--log",    log,    "--only-resolved", NULL};
  char o[300], e[300];
  snprintf(o, sizeof o, "%s/refuse.out", tmp);
  snprintf(e, sizeof e, "%s/refuse.err", tmp);
  pid_t pid = spawn(argv, o, e);
  int st;
  /* It must exit on its own, quickly, with a failure status. */
  int64_t deadline = fca_mono_ms() + 10000;
  while (waitpid(pid, &st, WNOHANG) == 0) {
    if (fca_mono_ms() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      cr_assert_fail("fcaudit kept running with a non-loopback --admin");
    }
    usleep(20 * 1000);
  }
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) != 0);
  char *msg = slurp(e, NULL);
  cr_assert(strstr(msg, "--allow-remote-admin") != NULL, "%s", msg);
  free(msg);
}

Test(admin, busy_admin_port_is_a_warning) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  cr_assert_eq(listen(fd, 1), 0);
  socklen_t sl = sizeof sa;
  getsockname(fd, (struct sockaddr *)&sa, &sl);
  char a[64];
  snprintf(a, sizeof a, "127.0.0.1:%d", ntohs(sa.sin_port));
  start_proxy(a, NULL);
  /* The proxy serves; fcaudit.test says the admin pages are off. */
  resp_t r;
  cr_assert_eq(http(proxy_port, "http://fcaudit.test/", "fcaudit.test", &r), 0);
  cr_assert_eq(r.status, 503, "%s", r.all);
  cr_assert(strstr(r.body, "--admin") != NULL, "%s", r.body);
  free(r.all);
  char e[300];
  snprintf(e, sizeof e, "%s/proxy.err", tmp);
  char *msg = slurp(e, NULL);
  cr_assert(strstr(msg, "admin") != NULL && strstr(msg, "in use") != NULL, "%s", msg);
  free(msg);
  close(fd);
}
