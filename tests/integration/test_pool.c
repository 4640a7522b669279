/* Integration tests for a pool of instances behind a real HAProxy (started by the test on free
 * loopback ports, TCP mode, balance source, health checks on fcaudit's /healthz through the
 * proxy port): every client's page and its js.stripe.com request land on one instance, which
 * tags the page (dynamic tagging needs both), with one shared CA for all instances; an instance
 * that goes away is taken out by the health check; a reload (-sf) lets the old HAProxy finish
 * the connections it holds while the new one takes new ones. Only 127.0.0.x; bounded waits. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fcaudit/util.h"
#include "harness.h"

TestSuite(pool, .fini = fca_harness_cleanup, .timeout = 240);

#define CURL_MS 15000
#define NCLIENTS 12

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* ---- haproxy ---- */

typedef struct {
  pid_t pid;
  int port;
  char *dir, *cfg, *sock;
} hap_t;

static void hap_write_cfg(hap_t *h, const int ports[], size_t n) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  fprintf(f,
          "global\n"
          "    maxconn 256\n"
          "    stats socket %s mode 600 level admin\n"
          "defaults\n"
          "    mode tcp\n"
          "    timeout connect 2s\n"
          "    timeout client 60s\n"
          "    timeout server 60s\n"
          "frontend fcaudit_pool\n"
          "    bind 127.0.0.1:%d\n"
          "    default_backend fcaudit\n"
          "backend fcaudit\n"
          "    balance source\n"
          "    hash-type consistent\n"
          "    option httpchk GET /healthz\n"
          "    option redispatch\n"
          "    retries 3\n"
          "    http-check expect status 200\n"
          "    default-server check inter 300ms fall 2 rise 1\n",
          h->sock, h->port);
  for (size_t i = 0; i < n; i++) fprintf(f, "    server fca%zu 127.0.0.1:%d\n", i, ports[i]);
  fclose(f);
  cr_assert_eq(fca_write_file(h->cfg, text, len), 0);
  free(text);
}

static pid_t hap_spawn(hap_t *h, pid_t replace) {
  char old[16];
  snprintf(old, sizeof old, "%d", (int)replace);
  char *errp = fca_path(h->dir, replace ? "haproxy2.err" : "haproxy.err");
  char *const argv_new[] = {"haproxy", "-db", "-f", h->cfg, NULL};
  char *const argv_reload[] = {"haproxy", "-db", "-f", h->cfg, "-sf", old, NULL};
  pid_t pid = fca_spawn(replace ? argv_reload : argv_new, NULL, errp);
  cr_assert_gt(pid, 0, "cannot start haproxy");
  free(errp);
  return pid;
}

/* One command on the admin socket; the answer (malloc'd). */
static char *hap_cmd(const hap_t *h, const char *cmd) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", h->sock);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    close(fd);
    return fca_xstrdup("");
  }
  char *line = fca_xasprintf("%s\n", cmd);
  if (write(fd, line, strlen(line)) < 0) cr_log_warn("admin socket write failed");
  free(line);
  char *out = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&out, &len);
  char buf[4096];
  ssize_t r;
  while ((r = read(fd, buf, sizeof buf)) > 0) fwrite(buf, 1, (size_t)r, m);
  fclose(m);
  close(fd);
  return out;
}

/* Waits until the backend reports `up` servers UP (show stat: status column). */
static void hap_wait_up(const hap_t *h, int up) {
  long deadline = now_ms() + 15000;
  for (;;) {
    char *st = hap_cmd(h, "show stat");
    int n = 0;
    for (char *p = st; (p = strstr(p, "\nfcaudit,fca")) != NULL; p++) {
      char *eol = strchr(p + 1, '\n');
      char *up_at = strstr(p, ",UP,");
      if (up_at && (!eol || up_at < eol)) n++;
    }
    free(st);
    if (n == up) return;
    cr_assert_lt(now_ms(), deadline, "haproxy never saw %d servers up (%d)", up, n);
    sleep_ms(100);
  }
}

static void hap_start(hap_t *h, const int ports[], size_t n) {
  h->dir = fca_tmpdir_new();
  h->cfg = fca_path(h->dir, "haproxy.cfg");
  h->sock = fca_path(h->dir, "admin.sock");
  h->port = fca_free_port();
  hap_write_cfg(h, ports, n);
  h->pid = hap_spawn(h, 0);
  cr_assert_eq(fca_wait_tcp_port(h->port, 10000), 0, "haproxy did not listen");
}

/* ---- origin and instances ---- */

static fca_origin_t torg;
static char *root, *shared_ca;

static void put(const char *name, const char *headers, const char *body) {
  char *p = fca_path(root, name);
  cr_assert_eq(fca_write_file(p, body, strlen(body)), 0);
  free(p);
  if (headers) {
    char *hn = fca_xasprintf("%s.headers", name);
    p = fca_path(root, hn);
    cr_assert_eq(fca_write_file(p, headers, strlen(headers)), 0);
    free(p);
    free(hn);
  }
}

static void start_origin(void) {
  root = fca_tmpdir_new();
  cr_assert_eq(fca_origin_start(&torg, &(fca_origin_opts_t){.tls = true, .root = root}), 0);
  /* Pages that load Stripe.js at run time: only the later script request can tag them. */
  for (int i = 0; i < NCLIENTS; i++) {
    char name[32];
    snprintf(name, sizeof name, "dyn%d.html", i);
    put(name, "Cross-Origin-Opener-Policy: same-origin\n",
        "<html><head><script src=\"/files/app.js\"></script></head></html>");
  }
  put("app.js", NULL, "/* loads https://js.stripe.com/v3 */");
  shared_ca = fca_tmpdir_new();
  chmod(shared_ca, 0700);
}

static void start_instance(fca_testproxy_t *px, const char *name) {
  static char shop[96], js[96];
  snprintf(shop, sizeof shop, "shop.test:443:127.0.0.1:%d", torg.port);
  snprintf(js, sizeof js, "js.stripe.com:443:127.0.0.1:%d", torg.port);
  const char *args[] = {"--connect-to", shop, "--connect-to", js, "--upstream-ca", torg.ca_pem,
                        "--ca-dir", shared_ca, "--instance", name, NULL};
  cr_assert_eq(fca_testproxy_start(px, args), 0, "fcaudit %s did not start", name);
}

/* curl through the pool from source address src (127.0.0.x). */
static void pool_curl(const hap_t *h, const char *src, const char *url, const char *dest,
                      const char *referer) {
  char proxy[64], ca[600], ref[600], dst[64];
  snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d", h->port);
  snprintf(ca, sizeof ca, "%s/ca.pem", shared_ca);
  snprintf(dst, sizeof dst, "Sec-Fetch-Dest: %s", dest);
  snprintf(ref, sizeof ref, "Referer: %s", referer ? referer : "");
  fca_run_t r;
  fca_curl(&r, CURL_MS, "--noproxy", "", "-x", proxy, "--interface", src, "--cacert", ca, "-o",
           "/dev/null", "-H", dst, "-H", referer ? ref : "X-None: 1", url, NULL);
  cr_assert_eq(fca_run_exit_code(&r), 0, "curl %s from %s: %s", url, src, r.err);
  fca_run_free(&r);
}

/* The page URLs an instance's log tagged, with how. */
static size_t tagged_in(const char *log, const char *url, const char **how) {
  char *text = fca_read_file(log, NULL);
  size_t n = 0;
  for (char *line = strtok(text ? text : "", "\n"); line; line = strtok(NULL, "\n")) {
    json_t *o = json_loads(line, 0, NULL);
    json_t *page = json_object_get(o, "page");
    if (o && strcmp(json_string_value(json_object_get(o, "type")), "page") == 0 &&
        strcmp(json_string_value(json_object_get(page, "url")), url) == 0) {
      n++;
      static char tb[32];
      snprintf(tb, sizeof tb, "%s", json_string_value(json_object_get(page, "tagged_by")));
      *how = tb;
    }
    json_decref(o);
  }
  free(text);
  return n;
}

Test(pool, balance_source_keeps_a_page_and_its_stripe_js_on_one_instance) {
  start_origin();
  fca_testproxy_t a, b;
  start_instance(&a, "pool-a"); /* makes the shared CA */
  start_instance(&b, "pool-b"); /* loads the same one */
  /* One CA for the pool: both instances present certificates from the same ca.pem. */
  char *ca_key = fca_path(shared_ca, "ca.key");
  struct stat st;
  cr_assert_eq(stat(ca_key, &st), 0);
  cr_assert_eq(st.st_mode & 077, 0, "ca.key readable by others: %o", st.st_mode & 0777);
  hap_t h;
  int ports[] = {a.port, b.port};
  hap_start(&h, ports, 2);
  hap_wait_up(&h, 2);
  char *la = fca_xstrdup(a.log_path), *lb = fca_xstrdup(b.log_path);
  for (int i = 0; i < NCLIENTS; i++) {
    char src[32], page[96];
    snprintf(src, sizeof src, "127.0.0.%d", i + 1);
    snprintf(page, sizeof page, "https://shop.test/files/dyn%d.html", i);
    pool_curl(&h, src, page, "document", NULL);
    pool_curl(&h, src, "https://js.stripe.com/v3", "script", page);
  }
  fca_testproxy_stop(&a);
  fca_testproxy_stop(&b);
  size_t on_a = 0, on_b = 0;
  for (int i = 0; i < NCLIENTS; i++) {
    char page[96];
    snprintf(page, sizeof page, "https://shop.test/files/dyn%d.html", i);
    const char *how_a = NULL, *how_b = NULL;
    size_t ta = tagged_in(la, page, &how_a), tb = tagged_in(lb, page, &how_b);
    cr_assert_eq(ta + tb, 1, "client 127.0.0.%d: page tagged %zu times on a, %zu on b", i + 1,
                 ta, tb);
    cr_assert_str_eq(ta ? how_a : how_b, "script-request");
    ta ? on_a++ : on_b++;
  }
  /* Both instances served someone: the hash spreads sources, and each kept its pairs. */
  cr_assert_gt(on_a, 0, "every client on one instance");
  cr_assert_gt(on_b, 0, "every client on one instance");
  fprintf(stderr, "pool: %zu clients on instance a, %zu on b\n", on_a, on_b);
  free(la), free(lb), free(ca_key);
}

Test(pool, health_check_takes_a_stopped_instance_out_and_reload_drains) {
  start_origin();
  fca_origin_t plain;
  cr_assert_eq(fca_origin_start(&plain, &(fca_origin_opts_t){.root = root}), 0);
  fca_testproxy_t a, b;
  start_instance(&a, "pool-a");
  start_instance(&b, "pool-b");
  hap_t h;
  int ports[] = {a.port, b.port};
  hap_start(&h, ports, 2);
  hap_wait_up(&h, 2);

  /* A slow exchange through the pool, in flight while HAProxy reloads. */
  char proxy[64];
  snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d", h.port);
  char *slow_url = fca_origin_url(&plain, "/delay/2000");
  char *out = fca_path(h.dir, "slow.out");
  char *const slow[] = {"curl", "-q", "-sS", "--noproxy", "", "-x", proxy, "-o", "/dev/null",
                        "-w", "%{http_code}", "--max-time", "20", slow_url, NULL};
  pid_t cpid = fca_spawn(slow, out, NULL);
  sleep_ms(500);
  pid_t old = h.pid;
  h.pid = hap_spawn(&h, old); /* haproxy -sf OLD: the old one stops listening, finishes */
  long t0 = now_ms();
  /* New connections are served while the old process drains. */
  char *fast = fca_origin_url(&plain, "/status/204");
  fca_run_t r;
  fca_curl(&r, CURL_MS, "--noproxy", "", "-x", proxy, "-o", "/dev/null", "-w", "%{http_code}",
           fast, NULL);
  cr_assert_eq(fca_run_exit_code(&r), 0, "%s", r.err);
  cr_assert_str_eq(r.out, "204");
  fca_run_free(&r);
  int st;
  cr_assert_eq(fca_proc_wait(cpid, 20000, &st), 0);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the in-flight request failed on reload");
  char *code = fca_read_file(out, NULL);
  cr_assert_str_eq(code, "200", "the in-flight request was cut by the reload");
  free(code);
  cr_assert_eq(fca_proc_wait(old, 10000, &st), 0, "the old haproxy did not exit after draining");
  fprintf(stderr, "pool: old haproxy exited %ld ms after the reload\n", now_ms() - t0);

  /* Stop instance a: its /healthz check fails, and every client goes to b. */
  hap_wait_up(&h, 2);
  fca_testproxy_stop(&a);
  hap_wait_up(&h, 1);
  for (int i = 0; i < 4; i++) {
    char src[32];
    snprintf(src, sizeof src, "127.0.0.%d", i + 1);
    fca_curl(&r, CURL_MS, "--noproxy", "", "-x", proxy, "--interface", src, "-o", "/dev/null",
             "-w", "%{http_code}", fast, NULL);
    cr_assert_eq(fca_run_exit_code(&r), 0, "client %s after a stopped: %s", src, r.err);
    cr_assert_str_eq(r.out, "204");
    fca_run_free(&r);
  }
  fca_testproxy_stop(&b);
  fca_proc_stop(h.pid, 5000);
  free(slow_url), free(out), free(fast);
}
