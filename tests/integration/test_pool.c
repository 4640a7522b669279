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

/* The first block of docs/fleet.md between "```" + lang and "```" that holds needle (malloc'd). */
static char *doc_block(const char *lang, const char *needle) {
  char *path = fca_path(FCA_TEST_SRCDIR, "docs/fleet.md");
  char *doc = fca_read_file(path, NULL);
  cr_assert_not_null(doc, "no %s", path);
  char open_[32];
  snprintf(open_, sizeof open_, "```%s\n", lang);
  for (char *p = doc; (p = strstr(p, open_)) != NULL;) {
    p += strlen(open_);
    char *end = strstr(p, "```");
    cr_assert_not_null(end);
    char *out = fca_xstrndup(p, (size_t)(end - p));
    if (strstr(out, needle)) {
      free(doc), free(path);
      return out;
    }
    free(out);
    p = end + 3;
  }
  cr_assert_fail("docs/fleet.md has no %s block with '%s'", open_, needle);
  return NULL;
}

/* Replaces the one occurrence of from in *text (asserted: the doc and the test agree). */
static void subst(char **text, const char *from, const char *to) {
  char *at = strstr(*text, from);
  cr_assert_not_null(at, "'%s' is not in the recipe", from);
  cr_assert_null(strstr(at + 1, from), "'%s' is in the recipe twice", from);
  char *out = fca_xasprintf("%.*s%s%s", (int)(at - *text), *text, to, at + strlen(from));
  free(*text);
  *text = out;
}

/* Set by the test that shows what the recipe's `option redispatch` is for. */
static bool without_redispatch;

/* The HAProxy recipe of docs/fleet.md, word for word, with only the addresses (frontend port,
 * instances, admin socket) set to the test's. */
static void hap_write_cfg(hap_t *h, const int ports[], size_t n) {
  cr_assert_eq(n, 2, "the recipe has two servers");
  char *text = doc_block("haproxy", "balance source");
  char bind[64], s1[64], s2[64], sock[600];
  snprintf(bind, sizeof bind, "bind 127.0.0.1:%d", h->port);
  snprintf(s1, sizeof s1, "server fca1 127.0.0.1:%d", ports[0]);
  snprintf(s2, sizeof s2, "server fca2 127.0.0.1:%d", ports[1]);
  snprintf(sock, sizeof sock, "stats socket %s ", h->sock);
  subst(&text, "bind :8080", bind);
  subst(&text, "server fca1 10.0.0.11:8080", s1);
  subst(&text, "server fca2 10.0.0.12:8080", s2);
  subst(&text, "stats socket /run/haproxy/admin.sock ", sock);
  if (without_redispatch) subst(&text, "    option redispatch ", "    # option redispatch ");
  cr_assert_eq(fca_write_file(h->cfg, text, strlen(text)), 0);
  free(text);
}

static char *doc_line(const char *lang, const char *start);

/* Starts HAProxy on the recipe; with replace, the reload line of docs/fleet.md word for word
 * (haproxy -f haproxy.cfg -sf $(cat haproxy.pid), run in the HAProxy's directory). */
static pid_t hap_spawn(hap_t *h, pid_t replace) {
  char *errp = fca_path(h->dir, replace ? "haproxy2.err" : "haproxy.err");
  pid_t pid;
  if (!replace) {
    char *const argv[] = {"haproxy", "-db", "-f", h->cfg, NULL};
    pid = fca_spawn(argv, NULL, errp);
  } else {
    char *pidf = fca_path(h->dir, "haproxy.pid"), old[24];
    snprintf(old, sizeof old, "%d\n", (int)replace);
    cr_assert_eq(fca_write_file(pidf, old, strlen(old)), 0);
    char *line = doc_line("sh", "haproxy -f haproxy.cfg -sf ");
    char *sh = fca_xasprintf("cd '%s' && exec %s", h->dir, line);
    char *const argv[] = {"sh", "-c", sh, NULL};
    pid = fca_spawn(argv, NULL, errp);
    free(pidf), free(line), free(sh);
  }
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

/* The line of the doc's operations block (the sh block with socat) that starts with start. */
static char *doc_line(const char *lang, const char *start) {
  char *block = doc_block(lang, "socat stdio");
  char *line = NULL;
  for (char *l = strtok(block, "\n"); l && !line; l = strtok(NULL, "\n"))
    if (strncmp(l, start, strlen(start)) == 0) line = fca_xstrdup(l);
  cr_assert_not_null(line, "no '%s' line in the doc's operations block", start);
  free(block);
  return line;
}

/* Runs the line of the doc's operations block that starts with `start` in a shell in the
 * HAProxy's directory, word for word but for the admin socket's path; returns its stdout. */
static char *doc_cmd(const hap_t *h, const char *start) {
  char *line = doc_line("sh", start);
  if (strstr(line, "/run/haproxy/admin.sock")) subst(&line, "/run/haproxy/admin.sock", h->sock);
  char *sh = fca_xasprintf("cd '%s' && %s", h->dir, line);
  char *const argv[] = {"sh", "-c", sh, NULL};
  fca_run_t r;
  fca_run(argv, 10000, &r);
  cr_assert_eq(fca_run_exit_code(&r), 0, "%s: %s", line, r.err);
  char *out = fca_xstrdup(r.out);
  fca_run_free(&r);
  free(sh), free(line);
  return out;
}

/* Sessions each server took so far (show stat: field 8, stot). */
static void hap_stot(const hap_t *h, long stot[2]) {
  char *st = hap_cmd(h, "show stat");
  stot[0] = stot[1] = -1;
  for (char *l = strtok(st, "\n"); l; l = strtok(NULL, "\n")) {
    int srv = strncmp(l, "fcaudit,fca1,", 13) == 0   ? 0
              : strncmp(l, "fcaudit,fca2,", 13) == 0 ? 1
                                                     : -1;
    if (srv < 0) continue;
    char *f = l;
    for (int k = 0; k < 7 && f; k++) f = strchr(f, ',') ? strchr(f, ',') + 1 : NULL;
    if (f) stot[srv] = strtol(f, NULL, 10);
  }
  free(st);
  cr_assert(stot[0] >= 0 && stot[1] >= 0, "no stot in show stat");
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
  const char *args[] = {
      "--connect-to", shop,         "--connect-to", js,  "--upstream-ca", torg.ca_pem, "--ca-dir",
      shared_ca,      "--instance", name,           NULL};
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
    cr_assert_eq(ta + tb, 1, "client 127.0.0.%d: page tagged %zu times on a, %zu on b", i + 1, ta,
                 tb);
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
  char *const slow[] = {"curl",         "-q",         "-sS", "--noproxy", "",
                        "-x",           proxy,        "-o",  "/dev/null", "-w",
                        "%{http_code}", "--max-time", "20",  slow_url,    NULL};
  pid_t cpid = fca_spawn(slow, out, NULL);
  sleep_ms(500);
  pid_t old = h.pid;
  h.pid = hap_spawn(&h, old); /* haproxy -sf OLD: the old one stops listening, finishes */
  long t0 = now_ms();
  /* New connections are served while the old process drains. */
  char *fast = fca_origin_url(&plain, "/status/204");
  fca_run_t r;
  fca_curl(&r, CURL_MS, "--noproxy", "", "-x", proxy, "-o", "/dev/null", "-w", "%{http_code}", fast,
           NULL);
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
    fca_curl(&r, CURL_MS, "--noproxy", "", "-x", proxy, "--interface", src, "-o", "/dev/null", "-w",
             "%{http_code}", fast, NULL);
    cr_assert_eq(fca_run_exit_code(&r), 0, "client %s after a stopped: %s", src, r.err);
    cr_assert_str_eq(r.out, "204");
    fca_run_free(&r);
  }
  fca_testproxy_stop(&b);
  fca_proc_stop(h.pid, 5000);
  free(slow_url), free(out), free(fast);
}

/* ---- taking one instance out while clients run ---- */

static char *pool_proxy(const hap_t *h) { return fca_xasprintf("http://127.0.0.1:%d", h->port); }

/* One request from src through the pool: curl's exit code; *code the HTTP status. */
static int pool_get(const hap_t *h, const char *src, const char *url, char code[8]) {
  char *proxy = pool_proxy(h);
  fca_run_t r;
  fca_curl(&r, CURL_MS, "--noproxy", "", "-x", proxy, "--interface", src, "-o", "/dev/null", "-w",
           "%{http_code}", url, NULL);
  int rc = fca_run_exit_code(&r);
  snprintf(code, 8, "%s", r.out ? r.out : "");
  if (rc != 0) fprintf(stderr, "pool: client %s: %s", src, r.err);
  fca_run_free(&r);
  free(proxy);
  return rc;
}

/* The server (0 = fca1, 1 = fca2) HAProxy gives client src: one request, seen in stot. */
static int server_of(const hap_t *h, const char *src, const char *url) {
  long b[2], a[2];
  char code[8];
  hap_stot(h, b);
  cr_assert_eq(pool_get(h, src, url, code), 0);
  cr_assert_str_eq(code, "204");
  hap_stot(h, a);
  cr_assert_eq(a[0] - b[0] + a[1] - b[1], 1, "one request, one session");
  return a[0] > b[0] ? 0 : 1;
}

/* A client address that balance source sends to server srv. */
static void src_on(const hap_t *h, int srv, const char *url, char src[32]) {
  for (int i = 1; i <= 40; i++) {
    snprintf(src, 32, "127.0.0.%d", i);
    if (server_of(h, src, url) == srv) return;
  }
  cr_assert_fail("no client address among 40 goes to fca%d", srv + 1);
}

/* A long exchange (delay_ms) from src in the background; its status lands in *out. */
static pid_t slow_client(const hap_t *h, const char *src, const char *url, char *out) {
  char *proxy = pool_proxy(h);
  char *const argv[] = {"curl",         "-q",          "-sS",       "--noproxy", "",          "-x",
                        proxy,          "--interface", (char *)src, "-o",        "/dev/null", "-w",
                        "%{http_code}", "--max-time",  "20",        (char *)url, NULL};
  pid_t pid = fca_spawn(argv, out, NULL);
  cr_assert_gt(pid, 0);
  free(proxy);
  return pid;
}

static void slow_client_done(pid_t pid, const char *out) {
  int st;
  cr_assert_eq(fca_proc_wait(pid, 25000, &st), 0);
  char *code = fca_read_file(out, NULL);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the held exchange failed (curl %d, %s)",
            WEXITSTATUS(st), code ? code : "");
  cr_assert_str_eq(code, "200", "the held exchange was cut");
  free(code);
}

typedef struct {
  fca_origin_t plain;
  fca_testproxy_t a, b;
  hap_t h;
  char *fast, *slow, *slow_out;
} pool_t;

static void pool_up(pool_t *p) {
  start_origin();
  cr_assert_eq(fca_origin_start(&p->plain, &(fca_origin_opts_t){.root = root}), 0);
  start_instance(&p->a, "pool-a");
  start_instance(&p->b, "pool-b");
  int ports[] = {p->a.port, p->b.port};
  hap_start(&p->h, ports, 2);
  hap_wait_up(&p->h, 2);
  p->fast = fca_origin_url(&p->plain, "/status/204");
  p->slow = fca_origin_url(&p->plain, "/delay/3000");
  p->slow_out = fca_path(p->h.dir, "slow.out");
}

Test(pool, drain_through_the_admin_socket_finishes_held_clients_and_moves_new_ones) {
  pool_t p;
  pool_up(&p);
  char src_a[32];
  src_on(&p.h, 0, p.fast, src_a);
  pid_t held = slow_client(&p.h, src_a, p.slow, p.slow_out);
  sleep_ms(500);
  free(doc_cmd(&p.h, "echo \"set server fcaudit/fca1 state drain\""));
  /* No new client goes to fca1, its own clients neither; every one is served. */
  long b[2], a[2];
  hap_stot(&p.h, b);
  char code[8];
  for (int i = 1; i <= 6; i++) {
    char src[32];
    snprintf(src, sizeof src, "127.0.0.%d", i);
    cr_assert_eq(pool_get(&p.h, src, p.fast, code), 0, "client %s during the drain", src);
    cr_assert_str_eq(code, "204");
  }
  cr_assert_eq(pool_get(&p.h, src_a, p.fast, code), 0);
  hap_stot(&p.h, a);
  cr_assert_eq(a[0], b[0], "the drained instance took %ld new clients", a[0] - b[0]);
  cr_assert_eq(a[1], b[1] + 7);
  /* The doc's wait: fca1's open connections go to 0 once the held exchange ends. */
  long t0 = now_ms();
  for (;;) {
    char *scur = doc_cmd(&p.h, "echo \"show stat\"");
    long n = strtol(scur, NULL, 10);
    cr_assert(scur[0] >= '0' && scur[0] <= '9', "show stat | awk printed '%s'", scur);
    free(scur);
    if (n == 0) break;
    cr_assert_lt(now_ms() - t0, 15000, "fca1 still holds %ld connections", n);
    sleep_ms(200);
  }
  slow_client_done(held, p.slow_out);
  /* Back in the pool: its clients come back to it. */
  free(doc_cmd(&p.h, "echo \"set server fcaudit/fca1 state ready\""));
  cr_assert_eq(server_of(&p.h, src_a, p.fast), 0);
  fca_testproxy_stop(&p.a);
  fca_testproxy_stop(&p.b);
  fca_proc_stop(p.h.pid, 5000);
}

/* SIGTERM to the instance fca1 while it holds a long exchange (so it drains for seconds), and
 * one of its clients keeps making requests. Returns how many of them failed; *worst_ms the
 * slowest that worked. */
static int stop_without_drain(pool_t *p, long *worst_ms) {
  char src_a[32];
  src_on(&p->h, 0, p->fast, src_a);
  pid_t held = slow_client(&p->h, src_a, p->slow, p->slow_out);
  sleep_ms(500);
  cr_assert_eq(kill(p->a.pid, SIGTERM), 0);
  long t0 = now_ms();
  int failed = 0;
  *worst_ms = 0;
  for (int i = 0; i < 40 && now_ms() - t0 < 8000; i++) {
    char code[8];
    long t = now_ms();
    int rc = pool_get(&p->h, src_a, p->fast, code);
    long took = now_ms() - t;
    if (rc != 0 || strcmp(code, "204") != 0) {
      failed++;
      fprintf(stderr, "pool: request %d (%ld ms after SIGTERM) failed after %ld ms\n", i, t - t0,
              took);
    } else if (took > *worst_ms) {
      *worst_ms = took;
    }
    sleep_ms(200);
  }
  slow_client_done(held, p->slow_out);
  int st;
  cr_assert_eq(fca_proc_wait(p->a.pid, 10000, &st), 0, "fca1 did not exit after its drain");
  return failed;
}

Test(pool, an_instance_stopped_without_a_drain_loses_no_client) {
  pool_t p;
  pool_up(&p);
  long worst;
  int failed = stop_without_drain(&p, &worst);
  fprintf(stderr,
          "pool: fca1 stopped without a drain: %d requests of its client failed, the "
          "slowest that worked took %ld ms\n",
          failed, worst);
  cr_assert_eq(failed, 0, "requests of fca1's client failed while it stopped");
  hap_wait_up(&p.h, 1);
  fca_testproxy_stop(&p.b);
  fca_proc_stop(p.h.pid, 5000);
}

/* Why the recipe has `option redispatch`: the same stop without it cuts that client off until
 * the health check notices. */
Test(pool, without_redispatch_a_stopped_instance_cuts_its_clients_off) {
  without_redispatch = true;
  pool_t p;
  pool_up(&p);
  long worst;
  int failed = stop_without_drain(&p, &worst);
  fprintf(stderr, "pool: without option redispatch, %d requests of fca1's client failed\n", failed);
  cr_assert_gt(failed, 0, "no request failed: option redispatch would not be needed");
  fca_testproxy_stop(&p.b);
  fca_proc_stop(p.h.pid, 5000);
}
