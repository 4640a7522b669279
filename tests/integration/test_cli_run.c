/* Integration tests of `fcaudit run`: the child's environment, every exit status, signal
 * forwarding, reports written (JUnit checked by xmllint, HTML rendered by headless Chromium), and
 * curl through the proxy to a local origin. Every proxy runs with --only-resolved and a
 * temporary --ca-dir; everything stays on loopback. */
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include "cli_helpers.h"

typedef struct {
  char *dir, *ca, *log;
} fx_t;

static fx_t fx_new(void) {
  fx_t f;
  f.dir = cli_tmpdir();
  f.ca = fca_xasprintf("%s/ca", f.dir);
  f.log = fca_xasprintf("%s/events.ndjson", f.dir);
  return f;
}

static void fx_free(fx_t *f) {
  cli_rm_rf(f->dir);
  free(f->dir), free(f->ca), free(f->log);
}

/* argv: fcaudit run --only-resolved --ca-dir D --log L --workers 1 [extra...] -- [cmd...] */
static int run_fcaudit(cli_proc_t *p, const fx_t *f, const char *const extra[],
                       const char *const cmd[], const char *const env[]) {
  const char *argv[64];
  int n = 0;
  argv[n++] = FCA_TEST_BINARY;
  argv[n++] = "run";
  argv[n++] = "--only-resolved";
  argv[n++] = "--ca-dir";
  argv[n++] = f->ca;
  argv[n++] = "--log";
  argv[n++] = f->log;
  argv[n++] = "--workers";
  argv[n++] = "1";
  argv[n++] = "--drain-timeout";
  argv[n++] = "2s";
  for (size_t i = 0; extra && extra[i]; i++) argv[n++] = extra[i];
  if (cmd) {
    argv[n++] = "--";
    for (size_t i = 0; cmd[i]; i++) argv[n++] = cmd[i];
  }
  argv[n] = NULL;
  return cli_run(p, (char *const *)argv, env);
}

static const char *env_value(const char *env, const char *key) {
  static char val[4096];
  char *pat = fca_xasprintf("\n%s=", key);
  const char *p = strstr(env, pat);
  if (!p && strncmp(env, pat + 1, strlen(pat + 1)) == 0) p = env - 1;
  free(pat);
  if (!p) return NULL;
  p += strlen(key) + 2;
  size_t n = strcspn(p, "\n");
  snprintf(val, sizeof val, "%.*s", (int)n, p);
  return val;
}

Test(cli_run, child_environment) {
  fx_t f = fx_new();
  cli_proc_t p;
  const char *cmd[] = {
      "sh", "-c", "env; echo BUNDLE_CERTS=$(grep -c 'BEGIN CERTIFICATE' \"$SSL_CERT_FILE\")", NULL};
  const char *env[] = {"NO_PROXY=localhost,127.0.0.1", "no_proxy=*", "HTTP_PROXY=http://old:1",
                       NULL};
  int rc = run_fcaudit(&p, &f, (const char *[]){"--quiet", NULL}, cmd, env);
  cr_assert_eq(rc, 0, "stderr: %s", p.err);
  const char *keys[] = {"HTTP_PROXY",  "HTTPS_PROXY", "http_proxy",
                        "https_proxy", "ALL_PROXY",   "FCAUDIT_PROXY"};
  char proxy[256];
  snprintf(proxy, sizeof proxy, "%s", env_value(p.out, "FCAUDIT_PROXY"));
  cr_assert(strncmp(proxy, "http://127.0.0.1:", 17) == 0, "%s", proxy);
  cr_assert_neq(atoi(proxy + 17), 0, "a real, free port");
  cr_assert_neq(atoi(proxy + 17), 8080);
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    const char *v = env_value(p.out, keys[i]);
    cr_assert_not_null(v, "%s missing", keys[i]);
    cr_assert_str_eq(v, proxy, "%s", keys[i]);
  }
  cr_assert_null(env_value(p.out, "NO_PROXY"), "NO_PROXY cleared");
  cr_assert_null(env_value(p.out, "no_proxy"), "no_proxy cleared");
  char *ca_file = fca_xasprintf("%s/ca.pem", f.ca);
  cr_assert_str_eq(env_value(p.out, "FCAUDIT_CA_FILE"), ca_file);
  char bundle[1024];
  snprintf(bundle, sizeof bundle, "%s", env_value(p.out, "SSL_CERT_FILE"));
  const char *bundles[] = {"NODE_EXTRA_CA_CERTS", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE"};
  for (size_t i = 0; i < 3; i++) cr_assert_str_eq(env_value(p.out, bundles[i]), bundle);
  cr_assert_gt(atoi(env_value(p.out, "BUNDLE_CERTS")), 1, "system roots plus the fcaudit CA");
  cr_assert_not(cli_exists(bundle), "the temporary bundle is removed at the end");
  /* FCAUDIT_SPKI is what `fcaudit ca spki` says */
  char spki[128];
  snprintf(spki, sizeof spki, "%s", env_value(p.out, "FCAUDIT_SPKI"));
  cli_proc_t q;
  cr_assert_eq(cli_run(&q, (char *[]){FCA_TEST_BINARY, "--ca-dir", f.ca, "ca", "spki", NULL}, NULL),
               0);
  q.out[strcspn(q.out, "\n")] = '\0';
  cr_assert_str_eq(spki, q.out);
  cli_proc_free(&q);
  free(ca_file);
  cli_proc_free(&p);
  fx_free(&f);
}

Test(cli_run, exit_0_and_summary) {
  fx_t f = fx_new();
  cli_proc_t p;
  int rc = run_fcaudit(&p, &f, NULL, (const char *[]){"true", NULL}, NULL);
  cr_assert_eq(rc, 0, "%s", p.err);
  cr_assert(strstr(p.err, "fcaudit summary"), "%s", p.err);
  cr_assert(strstr(p.err, "WARNING: no page loaded Stripe.js"), "%s", p.err);
  cr_assert(strstr(p.err, "exit status 0"));
  cli_proc_free(&p);
  fx_free(&f);
}

Test(cli_run, exit_1_too_few_tagged) {
  fx_t f = fx_new();
  cli_proc_t p;
  int rc = run_fcaudit(&p, &f, (const char *[]){"--require-tagged", "1", NULL},
                       (const char *[]){"true", NULL}, NULL);
  cr_assert_eq(rc, 1, "%s", p.err);
  cr_assert(strstr(p.err, "fewer than --require-tagged 1"), "%s", p.err);
  cli_proc_free(&p);
  fx_free(&f);
}

Test(cli_run, exit_2_command_failed) {
  fx_t f = fx_new();
  cli_proc_t p;
  int rc = run_fcaudit(&p, &f, NULL, (const char *[]){"sh", "-c", "exit 7", NULL}, NULL);
  cr_assert_eq(rc, 2, "%s", p.err);
  cr_assert(strstr(p.err, "sh exited with status 7"), "%s", p.err);
  cli_proc_free(&p);
  rc = run_fcaudit(&p, &f, NULL, (const char *[]){"sh", "-c", "kill -TERM $$", NULL}, NULL);
  cr_assert_eq(rc, 2, "%s", p.err);
  cr_assert(strstr(p.err, "killed by signal 15"), "%s", p.err);
  cli_proc_free(&p);
  rc = run_fcaudit(&p, &f, NULL, (const char *[]){"fcaudit-no-such-command", NULL}, NULL);
  cr_assert_eq(rc, 2, "%s", p.err);
  cr_assert(strstr(p.err, "cannot run fcaudit-no-such-command"), "%s", p.err);
  cli_proc_free(&p);
  /* The highest status wins: 2 over 1. */
  rc = run_fcaudit(&p, &f, (const char *[]){"--require-tagged", "1", NULL},
                   (const char *[]){"false", NULL}, NULL);
  cr_assert_eq(rc, 2, "%s", p.err);
  cli_proc_free(&p);
  fx_free(&f);
}

Test(cli_run, exit_3_fcaudit_cannot_run) {
  fx_t f = fx_new();
  char *marker = fca_xasprintf("%s/ran", f.dir);
  char *touch = fca_xasprintf("touch %s", marker);
  const char *cmd[] = {"sh", "-c", touch, NULL};
  cli_proc_t p;
  cr_assert_eq(run_fcaudit(&p, &f, (const char *[]){"--no-such-option", NULL}, cmd, NULL), 3);
  cr_assert(strstr(p.err, "no-such-option"), "%s", p.err);
  cli_proc_free(&p);
  cr_assert_eq(run_fcaudit(&p, &f, (const char *[]){"--fail-on", "loud", NULL}, cmd, NULL), 3);
  cli_proc_free(&p);
  char *missing = fca_xasprintf("%s/missing.json", f.dir);
  cr_assert_eq(run_fcaudit(&p, &f, (const char *[]){"--baseline", missing, NULL}, cmd, NULL), 3);
  cr_assert(strstr(p.err, "baseline"), "%s", p.err);
  cli_proc_free(&p);
  /* A CA directory that is a file */
  char *notdir = fca_xasprintf("%s/file", f.dir);
  cli_write(notdir, "x");
  free(f.ca);
  f.ca = fca_xstrdup(notdir);
  cr_assert_eq(run_fcaudit(&p, &f, NULL, cmd, NULL), 3, "%s", p.err);
  cli_proc_free(&p);
  /* No command */
  cr_assert_eq(run_fcaudit(&p, &f, NULL, NULL, NULL), 3);
  cr_assert(strstr(p.err, "usage: fcaudit run"), "%s", p.err);
  cli_proc_free(&p);
  cr_assert_not(cli_exists(marker), "CMD never ran");
  free(missing), free(notdir), free(marker), free(touch);
  fx_free(&f);
}

Test(cli_run, sigterm_is_forwarded) {
  fx_t f = fx_new();
  char *ready = fca_xasprintf("%s/ready", f.dir);
  char *script = fca_xasprintf(
      "trap 'echo got-term; exit 9' TERM; touch %s; while :; do sleep 0.1; done", ready);
  const char *argv[] = {FCA_TEST_BINARY,
                        "run",
                        "--only-resolved",
                        "--ca-dir",
                        f.ca,
                        "--log",
                        f.log,
                        "--workers",
                        "1",
                        "--",
                        "sh",
                        "-c",
                        script,
                        NULL};
  cli_proc_t p;
  cli_start(&p, (char *const *)argv, NULL);
  int64_t end = fca_mono_ms() + 20000;
  while (!cli_exists(ready) && fca_mono_ms() < end) cli_pump(&p, 50);
  cr_assert(cli_exists(ready), "%s", p.err);
  kill(p.pid, SIGTERM);
  int rc = cli_wait(&p, CLI_DEADLINE_MS);
  cr_assert_eq(rc, 2, "%s", p.err);
  cr_assert(strstr(p.out, "got-term"), "CMD got the signal: %s", p.out);
  cr_assert(strstr(p.err, "exited with status 9"), "%s", p.err);
  cli_proc_free(&p);
  free(ready), free(script);
  fx_free(&f);
}

Test(cli_run, reports_written) {
  fx_t f = fx_new();
  char *json = fca_xasprintf("%s/r.json", f.dir), *junit = fca_xasprintf("%s/j.xml", f.dir),
       *sarif = fca_xasprintf("%s/s.sarif", f.dir), *html = fca_xasprintf("%s/r.html", f.dir);
  cli_proc_t p;
  int rc = run_fcaudit(&p, &f,
                       (const char *[]){"--report-json", json, "--junit", junit, "--sarif", sarif,
                                        "--report-html", html, NULL},
                       (const char *[]){"true", NULL}, NULL);
  cr_assert_eq(rc, 0, "%s", p.err);
  cli_proc_free(&p);
  json_error_t je;
  json_t *r = json_load_file(json, 0, &je);
  cr_assert_not_null(r, "%s", je.text);
  cr_assert_eq(json_integer_value(json_object_get(r, "report_version")), 1);
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "verdict"), "result")),
                   "pass");
  cr_assert_not_null(json_string_value(json_object_get(r, "run")));
  json_decref(r);
  r = json_load_file(sarif, 0, &je);
  cr_assert_str_eq(json_string_value(json_object_get(r, "version")), "2.1.0");
  json_decref(r);
  char *cmd = fca_xasprintf("xmllint --noout %s", junit);
  cr_assert_eq(system(cmd), 0);
  free(cmd);
  /* The HTML report in headless Chromium: a non-empty page with the verdict visible. */
  char *profile = fca_xasprintf("--user-data-dir=%s/chrome", f.dir);
  char *url = fca_xasprintf("file://%s", html);
  const char *chrome[] = {"/usr/bin/chromium",
                          "--headless",
                          "--no-sandbox",
                          "--disable-gpu",
                          "--no-first-run",
                          "--disable-background-networking",
                          "--disable-component-update",
                          "--disable-sync",
                          profile,
                          "--dump-dom",
                          url,
                          NULL};
  rc = cli_run(&p, (char *const *)chrome, NULL);
  cr_assert_eq(rc, 0, "%s", p.err);
  cr_assert(strstr(p.out, "Verdict: PASS"), "rendered DOM: %.400s", p.out);
  cr_assert(strstr(p.out, "<h1>"), "non-empty page");
  cli_proc_free(&p);
  free(profile), free(url);
  free(json), free(junit), free(sarif), free(html);
  fx_free(&f);
}

/* ---- a local origin for curl ---- */

typedef struct {
  int fd;
  int hits;
} origin_t;

static void *origin_main(void *arg) {
  origin_t *o = arg;
  for (;;) {
    int c = accept(o->fd, NULL, NULL);
    if (c < 0) return NULL;
    char buf[4096];
    size_t got = 0;
    while (got < sizeof buf - 1) {
      ssize_t r = read(c, buf + got, sizeof buf - 1 - got);
      if (r <= 0) break;
      got += (size_t)r;
      buf[got] = '\0';
      if (strstr(buf, "\r\n\r\n")) break;
    }
    o->hits++;
    const char resp[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n"
                        "Connection: close\r\n\r\nhello-origin\n";
    if (write(c, resp, sizeof resp - 1) < 0) {
    }
    close(c);
  }
}

Test(cli_run, curl_through_the_proxy) {
  origin_t o = {socket(AF_INET, SOCK_STREAM, 0), 0};
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  cr_assert_eq(bind(o.fd, (struct sockaddr *)&sa, sizeof sa), 0);
  cr_assert_eq(listen(o.fd, 8), 0);
  socklen_t sl = sizeof sa;
  getsockname(o.fd, (struct sockaddr *)&sa, &sl);
  int port = ntohs(sa.sin_port);
  pthread_t th;
  pthread_create(&th, NULL, origin_main, &o);
  fx_t f = fx_new();
  char *resolve = fca_xasprintf("shop.test:%d:127.0.0.1", port);
  char *url = fca_xasprintf("http://shop.test:%d/", port);
  cli_proc_t p;
  /* shop.test resolves nowhere but in the proxy: the answer proves curl went through it. */
  int rc = run_fcaudit(&p, &f, (const char *[]){"--resolve", resolve, NULL},
                       (const char *[]){"curl", "-sS", "--max-time", "20", url, NULL}, NULL);
  cr_assert_eq(rc, 0, "%s", p.err);
  cr_assert(strstr(p.out, "hello-origin"), "out: %s err: %s", p.out, p.err);
  cr_assert_eq(o.hits, 1);
  cli_proc_free(&p);
  shutdown(o.fd, SHUT_RDWR);
  close(o.fd);
  pthread_join(th, NULL);
  free(resolve), free(url);
  fx_free(&f);
}

/* ---- HTTPS: curl trusts the intercepted certificate through the bundle fcaudit run made ---- */

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  bind(fd, (struct sockaddr *)&sa, sizeof sa);
  socklen_t sl = sizeof sa;
  getsockname(fd, (struct sockaddr *)&sa, &sl);
  close(fd);
  return ntohs(sa.sin_port);
}

static bool port_open(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
  close(fd);
  return ok;
}

Test(cli_run, https_curl_trusts_the_bundle) {
  fx_t f = fx_new();
  /* A TLS origin: openssl s_server serving files (-WWW) with a self-signed certificate. */
  char *gen = fca_xasprintf(
      "cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "
      "o.key -out o.pem -days 2 -subj /CN=shop.test -addext subjectAltName=DNS:shop.test "
      ">/dev/null 2>&1 && echo tls-origin-page > page.txt",
      f.dir);
  cr_assert_eq(system(gen), 0);
  int port = free_port();
  char *accept_at = fca_xasprintf("127.0.0.1:%d", port);
  char *cert = fca_xasprintf("%s/o.pem", f.dir), *key = fca_xasprintf("%s/o.key", f.dir);
  pid_t srv = fork();
  if (srv == 0) {
    if (chdir(f.dir) != 0) _exit(1);
    int dn = open("/dev/null", O_RDWR);
    dup2(dn, 0), dup2(dn, 1), dup2(dn, 2);
    execlp("openssl", "openssl", "s_server", "-quiet", "-accept", accept_at, "-cert", cert, "-key",
           key, "-WWW", (char *)NULL);
    _exit(127);
  }
  int64_t end = fca_mono_ms() + 10000;
  while (!port_open(port) && fca_mono_ms() < end) cli_sleep_ms(50);
  cr_assert(port_open(port));
  char *resolve = fca_xasprintf("shop.test:%d:127.0.0.1", port);
  char *url = fca_xasprintf("https://shop.test:%d/page.txt", port);
  cli_proc_t p;
  int rc = run_fcaudit(&p, &f, (const char *[]){"--resolve", resolve, "--upstream-ca", cert, NULL},
                       (const char *[]){"curl", "-sS", "--max-time", "20", url, NULL}, NULL);
  kill(srv, SIGTERM);
  waitpid(srv, NULL, 0);
  cr_assert_eq(rc, 0, "%s", p.err);
  cr_assert(strstr(p.out, "tls-origin-page"), "out: %s err: %s", p.out, p.err);
  cli_proc_free(&p);
  free(gen), free(accept_at), free(cert), free(key), free(resolve), free(url);
  fx_free(&f);
}

/* ---- --proxy-auth: CMD's clients get the credentials; a run whose every request was refused
 * does not pass ---- */

static int start_origin(origin_t *o, pthread_t *th) {
  o->fd = socket(AF_INET, SOCK_STREAM, 0);
  o->hits = 0;
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  cr_assert_eq(bind(o->fd, (struct sockaddr *)&sa, sizeof sa), 0);
  cr_assert_eq(listen(o->fd, 8), 0);
  socklen_t sl = sizeof sa;
  getsockname(o->fd, (struct sockaddr *)&sa, &sl);
  pthread_create(th, NULL, origin_main, o);
  return ntohs(sa.sin_port);
}

static void stop_origin(origin_t *o, pthread_t th) {
  shutdown(o->fd, SHUT_RDWR);
  close(o->fd);
  pthread_join(th, NULL);
}

Test(cli_run, proxy_auth_credentials_reach_the_child) {
  origin_t o;
  pthread_t th;
  int port = start_origin(&o, &th);
  fx_t f = fx_new();
  char *resolve = fca_xasprintf("shop.test:%d:127.0.0.1", port);
  char *url = fca_xasprintf("http://shop.test:%d/", port);
  cli_proc_t p;
  /* A password with characters a URL's userinfo must percent-encode. */
  int rc = run_fcaudit(
      &p, &f, (const char *[]){"--resolve", resolve, "--proxy-auth", "ci user:pa@ss:w/rd%#", NULL},
      (const char *[]){"curl", "-sS", "--max-time", "20", url, NULL}, NULL);
  cr_assert_eq(rc, 0, "%s", p.err);
  cr_assert(strstr(p.out, "hello-origin"), "out: %s err: %s", p.out, p.err);
  cr_assert_eq(o.hits, 1);
  cr_assert_null(strstr(p.err, "pa@ss"), "the password is printed:\n%s", p.err);
  cr_assert_null(strstr(p.err, "pa%40ss"), "the password is printed:\n%s", p.err);
  cli_proc_free(&p);
  stop_origin(&o, th);
  free(resolve), free(url);
  fx_free(&f);
}

Test(cli_run, every_request_refused_does_not_pass) {
  origin_t o;
  pthread_t th;
  int port = start_origin(&o, &th);
  fx_t f = fx_new();
  char *resolve = fca_xasprintf("shop.test:%d:127.0.0.1", port);
  char *script = fca_xasprintf(
      /* the child drops the credentials fcaudit gave it */
      "curl -sS --max-time 20 -x \"http://${HTTP_PROXY#*@}\" http://shop.test:%d/; "
      "curl -sS --max-time 20 -x \"http://${HTTP_PROXY#*@}\" http://shop.test:%d/x; exit 0",
      port, port);
  cli_proc_t p;
  int rc =
      run_fcaudit(&p, &f, (const char *[]){"--resolve", resolve, "--proxy-auth", "u:secret", NULL},
                  (const char *[]){"sh", "-c", script, NULL}, NULL);
  cr_assert_eq(o.hits, 0);
  cr_assert_eq(rc, 3, "a run that audited nothing passed:\n%s", p.err);
  cr_assert(strstr(p.err, "every request (2) was refused"), "%s", p.err);
  cr_assert(strstr(p.err, "407"), "%s", p.err);
  cr_assert_null(strstr(p.err, "secret"), "%s", p.err);
  cli_proc_free(&p);
  stop_origin(&o, th);
  free(resolve), free(script);
  fx_free(&f);
}
