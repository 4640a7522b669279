/* Integration: every checklist rule of RULES.md through the real fcaudit binary. Pages are
 * written into the test origin's root (body + a .headers sidecar of raw header lines) and loaded
 * with curl through the proxy; the test then stops the proxy and reads the NDJSON it wrote:
 * every line is parsed, validated against docs/events.schema.json and checked for one run id,
 * and each expectation pins a violation's rule, level, item, page, tag and evidence. A small
 * in-process server (plain or TLS) covers what the origin cannot: a parent document that stalls
 * mid-body (framing joined child first) and the api.stripe.com stand-in for FC-TEST-2. Only
 * 127.0.0.1 is touched; every wait is bounded. */
#include "fcaudit/util.h"
#include "harness.h"
#include "jsonschema.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

TestSuite(audit_rules, .fini = fca_harness_cleanup, .timeout = 60);

#define STRIPE "<script src=\"https://js.stripe.com/v3\"></script>"
#define CURL_MS 15000

static fca_origin_t org;  /* plain HTTP origin serving root */
static fca_origin_t torg; /* HTTPS origin (same root) for the interception cases */
static fca_testproxy_t px;
static char *root;
static char proxy_url[64], proxy_ca[512];

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* ---- origin, proxy, pages ---------------------------------------------------------------- */

static void start_origin(bool tls) {
  if (!root) root = fca_tmpdir_new();
  cr_assert_eq(fca_origin_start(&org, &(fca_origin_opts_t){.root = root}), 0, "no origin");
  if (tls) {
    cr_assert_eq(fca_origin_start(&torg, &(fca_origin_opts_t){.tls = true, .root = root}), 0,
                 "no TLS origin");
    cr_assert_not_null(torg.ca_pem);
  }
}

static void start_proxy(const char *const extra[]) {
  cr_assert_eq(fca_testproxy_start(&px, extra), 0, "fcaudit did not start");
  snprintf(proxy_url, sizeof proxy_url, "http://127.0.0.1:%d", px.port);
  snprintf(proxy_ca, sizeof proxy_ca, "%s/ca.pem", px.ca_dir);
}

static void start(const char *const extra[]) {
  start_origin(false);
  start_proxy(extra);
}

/* Writes root/name with body and, when headers is not NULL, root/name.headers ("A: b\n..."). */
static void put(const char *name, const char *headers, const char *body) {
  char *p = fca_path(root, name);
  cr_assert_eq(fca_write_file(p, body, strlen(body)), 0);
  if (headers) {
    char *h = fca_xasprintf("%s.headers", p);
    cr_assert_eq(fca_write_file(h, headers, strlen(headers)), 0);
    free(h);
  }
  free(p);
}

/* The URL of a page: a name is a file under /files/ of the plain origin; "http..." is kept. */
static char *url_of(const char *name) {
  if (strncmp(name, "http://", 7) == 0 || strncmp(name, "https://", 8) == 0)
    return fca_xstrdup(name);
  char *path = fca_xasprintf("/files/%s", name);
  char *u = fca_origin_url(&org, path);
  free(path);
  return u;
}

/* curl through the proxy (trusting its CA) with args; asserts curl succeeded. */
static void pcurl(const char *const args[]) {
  const char *argv[64];
  size_t k = 0;
  argv[k++] = "--noproxy"; /* a NO_PROXY in the environment must not bypass -x */
  argv[k++] = "";
  argv[k++] = "-x";
  argv[k++] = proxy_url;
  argv[k++] = "--cacert";
  argv[k++] = proxy_ca;
  argv[k++] = "-o";
  argv[k++] = "/dev/null";
  for (size_t i = 0; args[i] && k < 63; i++) argv[k++] = args[i];
  argv[k] = NULL;
  fca_run_t r;
  fca_curl_argv(&r, CURL_MS, argv);
  int rc = fca_run_exit_code(&r);
  if (rc != 0) {
    char *err = fca_testproxy_stderr(&px);
    cr_assert_fail("curl exited %d: %s\nproxy stderr:\n%s", rc, r.err, err);
  }
  fca_run_free(&r);
}

/* Loads a page with Sec-Fetch-Dest: dest (NULL: no Sec-Fetch-*), and a Referer when given. */
static void load_as(const char *name, const char *dest, const char *referer) {
  char *u = url_of(name), *d = NULL, *ref = NULL, *rr = referer ? url_of(referer) : NULL;
  const char *args[8];
  size_t k = 0;
  if (dest) {
    d = fca_xasprintf("Sec-Fetch-Dest: %s", dest);
    args[k++] = "-H";
    args[k++] = d;
  }
  if (rr) {
    ref = fca_xasprintf("Referer: %s", rr);
    args[k++] = "-H";
    args[k++] = ref;
  }
  args[k++] = u;
  args[k] = NULL;
  pcurl(args);
  free(u);
  free(d);
  free(ref);
  free(rr);
}

static void load(const char *name) { load_as(name, "document", NULL); }

/* ---- the event log --------------------------------------------------------------------- */

typedef struct {
  json_t **ev;
  size_t n;
  json_t *summary;
} evlog_t;

static evlog_t L;

static json_t *jget(json_t *o, const char *dotted) {
  char buf[128];
  snprintf(buf, sizeof buf, "%s", dotted);
  for (char *s = buf, *dot; o && s; s = dot ? dot + 1 : NULL) {
    dot = strchr(s, '.');
    if (dot) *dot = 0;
    o = json_object_get(o, s);
  }
  return o;
}

static const char *jstr(json_t *o, const char *dotted) {
  return json_string_value(jget(o, dotted));
}

static long long jint(json_t *o, const char *dotted) {
  json_t *v = jget(o, dotted);
  cr_assert(json_is_integer(v), "%s is not an integer", dotted);
  return json_integer_value(v);
}

/* Parses and checks a whole log: each line ends in '\n', is one JSON object, validates against
 * the schema, and carries the same run id; the summary (if any) is the last line. */
static void parse_log(const char *path, evlog_t *log) {
  static json_t *schema;
  if (!schema) {
    json_error_t je;
    schema = json_load_file(FCA_TEST_SRCDIR "/docs/events.schema.json", 0, &je);
    cr_assert_not_null(schema, "schema: %s", je.text);
  }
  memset(log, 0, sizeof *log);
  size_t len;
  char *text = fca_read_file(path, &len);
  cr_assert_not_null(text, "no event log at %s", path);
  cr_assert(len == 0 || text[len - 1] == '\n', "the log does not end with a newline");
  const char *run = NULL;
  for (char *line = text; *line;) {
    char *nl = strchr(line, '\n');
    *nl = 0;
    json_error_t je;
    json_t *ev = json_loads(line, JSON_REJECT_DUPLICATES, &je);
    cr_assert(json_is_object(ev), "line %zu is not a JSON object (%s): %s", log->n + 1, je.text,
              line);
    char err[512];
    cr_assert_eq(fca_jsonschema_validate(schema, ev, err, sizeof err), 0,
                 "line %zu does not match the schema: %s\n%s", log->n + 1, err, line);
    if (!run) run = jstr(ev, "run");
    cr_assert_str_eq(jstr(ev, "run"), run, "two run ids in one run's log");
    cr_assert_null(log->summary, "an event after the summary: %s", line);
    if (strcmp(jstr(ev, "type"), "summary") == 0) log->summary = ev;
    log->ev = fca_xrealloc(log->ev, (log->n + 1) * sizeof *log->ev);
    log->ev[log->n++] = ev;
    line = nl + 1;
  }
  free(text);
}

/* Stops the proxy (SIGTERM: the summary is written at exit) and reads its log into L. */
static char *log_path; /* the log of the stopped proxy */

static void finish(void) {
  log_path = fca_xstrdup(px.log_path);
  char *err_path = fca_xstrdup(px.stderr_path);
  int st = fca_testproxy_stop(&px);
  if (!WIFEXITED(st)) {
    char *err = fca_read_file(err_path, NULL);
    cr_assert_fail("fcaudit did not exit by itself (status %d):\n%s", st, err ? err : "");
  }
  free(err_path);
  parse_log(log_path, &L);
  cr_assert_not_null(L.summary, "no summary at exit");
}

/* Waits until the live log has a line with all the given substrings (NULL-terminated). */
static void wait_log(int timeout_ms, ...) {
  const char *needles[8];
  size_t n = 0;
  va_list ap;
  va_start(ap, timeout_ms);
  for (const char *s; n < 8 && (s = va_arg(ap, const char *));) needles[n++] = s;
  va_end(ap);
  long end = now_ms() + timeout_ms;
  for (;;) {
    size_t len;
    char *t = fca_read_file(px.log_path, &len);
    for (char *line = t; line && *line;) {
      char *nl = strchr(line, '\n');
      if (!nl) break;
      *nl = 0;
      size_t hit = 0;
      while (hit < n && strstr(line, needles[hit])) hit++;
      if (hit == n) {
        free(t);
        return;
      }
      line = nl + 1;
    }
    free(t);
    cr_assert(now_ms() < end, "the log never had a line with [%s]", needles[0]);
    sleep_ms(20);
  }
}

static bool is(json_t *ev, const char *type) { return strcmp(jstr(ev, "type"), type) == 0; }

/* Events of a type (and rule, and page URL when not NULL). */
static size_t count(const char *type, const char *rule, const char *page) {
  char *u = page ? url_of(page) : NULL;
  size_t n = 0;
  for (size_t i = 0; i < L.n; i++)
    if (is(L.ev[i], type) &&
        (!rule || (jstr(L.ev[i], "rule") && strcmp(jstr(L.ev[i], "rule"), rule) == 0)) &&
        (!u || (jstr(L.ev[i], "page.url") && strcmp(jstr(L.ev[i], "page.url"), u) == 0)))
      n++;
  free(u);
  return n;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The rule ids of the page's violations, sorted, space-separated. */
static char *rules_of(const char *page) {
  char *u = url_of(page);
  const char *ids[64];
  size_t n = 0;
  for (size_t i = 0; i < L.n && n < 64; i++)
    if (is(L.ev[i], "violation") && strcmp(jstr(L.ev[i], "page.url"), u) == 0)
      ids[n++] = jstr(L.ev[i], "rule");
  qsort(ids, n, sizeof *ids, cmp_str);
  char *out = fca_xstrdup("");
  for (size_t i = 0; i < n; i++) {
    char *t = fca_xasprintf("%s%s%s", out, i ? " " : "", ids[i]);
    free(out);
    out = t;
  }
  free(u);
  return out;
}

/* The page's violations are exactly `rules` (sorted ids) and it has `passes` pass events. */
static void expect_page(const char *page, const char *rules, size_t passes) {
  char *got = rules_of(page);
  cr_assert_str_eq(got, rules, "violations of %s: [%s], expected [%s]", page, got, rules);
  free(got);
  cr_assert_eq(count("pass", NULL, page), passes, "%s: %zu pass events, expected %zu", page,
               count("pass", NULL, page), passes);
}

typedef struct {
  const char *rule, *level;
  int item;
  const char *page;
  bool framed;
  const char *tagged_by, *confidence; /* NULL: script-tag, high */
  const char *src, *name, *value;     /* evidence */
  long offset;                        /* -1: null */
  const char *ev_url;                 /* page name or URL of the other document; NULL: absent */
} want_t;

/* Exactly one violation of w.rule on w.page, with every field as given. */
static json_t *expect_v(want_t w) {
  char *u = url_of(w.page);
  json_t *v = NULL;
  for (size_t i = 0; i < L.n; i++)
    if (is(L.ev[i], "violation") && strcmp(jstr(L.ev[i], "rule"), w.rule) == 0 &&
        strcmp(jstr(L.ev[i], "page.url"), u) == 0) {
      cr_assert_null(v, "two %s violations on %s", w.rule, u);
      v = L.ev[i];
    }
  cr_assert_not_null(v, "no %s violation on %s", w.rule, u);
  char *line = json_dumps(v, JSON_COMPACT);
  cr_assert_str_eq(jstr(v, "level"), w.level, "%s", line);
  cr_assert_eq(jint(v, "item"), w.item, "%s", line);
  cr_assert_eq(json_is_true(jget(v, "page.top_level")), !w.framed, "%s", line);
  cr_assert_str_eq(jstr(v, "page.tagged_by"), w.tagged_by ? w.tagged_by : "script-tag", "%s", line);
  cr_assert_str_eq(jstr(v, "page.confidence"), w.confidence ? w.confidence : "high", "%s", line);
  cr_assert_gt(jint(v, "page.id"), 0);
  cr_assert_str_eq(jstr(v, "evidence.source"), w.src, "%s", line);
  cr_assert_str_eq(jstr(v, "evidence.name"), w.name, "%s", line);
  cr_assert_str_eq(jstr(v, "evidence.value"), w.value, "%s", line);
  if (w.offset < 0)
    cr_assert(json_is_null(jget(v, "evidence.offset")), "offset should be null: %s", line);
  else
    cr_assert_eq(jint(v, "evidence.offset"), w.offset, "%s", line);
  if (w.ev_url) {
    char *eu = url_of(w.ev_url);
    cr_assert_str_eq(jstr(v, "evidence.url"), eu, "%s", line);
    free(eu);
  } else {
    cr_assert_null(jget(v, "evidence.url"), "%s", line);
  }
  cr_assert(jstr(v, "message") && *jstr(v, "message"), "%s", line);
  cr_assert(jstr(v, "fix") && *jstr(v, "fix"), "%s", line);
  cr_assert(strncmp(jstr(v, "client"), "127.0.0.1:", 10) == 0, "%s", line);
  free(line);
  free(u);
  return v;
}

/* summary.violations.by_rule.RULE.FIELD, or -1 when the rule is absent. */
static long long by_rule(const char *rule, const char *field) {
  json_t *r = json_object_get(jget(L.summary, "violations.by_rule"), rule);
  return r ? jint(r, field) : -1;
}

/* The scorecard entry of the summary for a page URL (the n-th load of it). */
static json_t *card(const char *page, int nth) {
  char *u = url_of(page);
  json_t *pages = jget(L.summary, "pages"), *p;
  size_t i;
  json_array_foreach(pages, i, p) {
    if (strcmp(jstr(p, "url"), u) == 0 && nth-- == 0) {
      free(u);
      return p;
    }
  }
  cr_assert_fail("no scorecard for %s", u);
  return NULL;
}

static const char *item_status(json_t *c, int n) {
  char k[2] = {(char)('0' + n), 0};
  return json_string_value(
      json_object_get(json_object_get(json_object_get(c, "items"), k), "status"));
}

/* ---- a small server of canned responses (plain or TLS) -------------------------------------- */

typedef struct {
  const char *path, *head; /* head: extra header lines, each ending in \r\n */
  const char *part1, *part2;
  bool stall;   /* wait for mini_release() between the parts */
  int pause_ms; /* pause between the head and part1 (the head arrives alone) */
} route_t;

typedef struct {
  int lfd, port;
  SSL_CTX *ctx;
  route_t routes[8];
  size_t nroutes;
  pthread_t thr;
  atomic_bool stop, part1_sent;
  int release[2]; /* a byte written here lets a stalled response go on */
} mini_t;

static int io_write(SSL *ssl, int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = ssl ? SSL_write(ssl, p, (int)n) : send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static void mini_serve(mini_t *m, int fd) {
  SSL *ssl = NULL;
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (m->ctx) {
    ssl = SSL_new(m->ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1) goto out;
  }
  char req[8192];
  size_t n = 0;
  while (n < sizeof req - 1) {
    int r = ssl ? SSL_read(ssl, req + n, (int)(sizeof req - 1 - n))
                : (int)recv(fd, req + n, sizeof req - 1 - n, 0);
    if (r <= 0) goto out;
    n += (size_t)r;
    req[n] = 0;
    if (strstr(req, "\r\n\r\n")) break;
  }
  char *sp = strchr(req, ' ');
  if (!sp) goto out;
  char *path = sp + 1, *end = strchr(path, ' ');
  if (end) *end = 0;
  if (strncmp(path, "http", 4) == 0 && strstr(path, "//"))
    path = strchr(strstr(path, "//") + 2, '/');
  const route_t *rt = NULL;
  for (size_t i = 0; path && i < m->nroutes; i++)
    if (strcmp(m->routes[i].path, path) == 0) rt = &m->routes[i];
  if (!rt) {
    const char *nf = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    io_write(ssl, fd, nf, strlen(nf));
    goto out;
  }
  const char *p2 = rt->part2 ? rt->part2 : "";
  char *head =
      fca_xasprintf("HTTP/1.1 200 OK\r\n%sContent-Length: %zu\r\nConnection: close\r\n\r\n",
                    rt->head, strlen(rt->part1) + strlen(p2));
  int rc = io_write(ssl, fd, head, strlen(head));
  free(head);
  if (rt->pause_ms) sleep_ms(rt->pause_ms);
  if (rc == 0) rc = io_write(ssl, fd, rt->part1, strlen(rt->part1));
  atomic_store(&m->part1_sent, true);
  if (rc == 0 && rt->stall) {
    struct pollfd pf = {.fd = m->release[0], .events = POLLIN};
    char b;
    if (poll(&pf, 1, 20000) == 1 && read(m->release[0], &b, 1) == 1) rc = 0;
  }
  if (rc == 0) io_write(ssl, fd, p2, strlen(p2));
out:
  if (ssl) {
    SSL_shutdown(ssl);
    SSL_free(ssl);
  }
  close(fd);
}

static void *mini_main(void *arg) {
  mini_t *m = arg;
  while (!atomic_load(&m->stop)) {
    struct pollfd pf = {.fd = m->lfd, .events = POLLIN};
    if (poll(&pf, 1, 100) != 1) continue;
    int fd = accept(m->lfd, NULL, NULL);
    if (fd >= 0) mini_serve(m, fd);
  }
  return NULL;
}

/* Starts the server on 127.0.0.1; TLS with the TLS origin's leaf when tls. */
static void mini_start(mini_t *m, bool tls) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof sa;
  m->lfd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert_geq(m->lfd, 0);
  cr_assert_eq(bind(m->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
  cr_assert_eq(listen(m->lfd, 16), 0);
  cr_assert_eq(getsockname(m->lfd, (struct sockaddr *)&sa, &sl), 0);
  m->port = ntohs(sa.sin_port);
  cr_assert_eq(pipe(m->release), 0);
  if (tls) {
    char *cert = fca_path(torg.dir, "leaf.pem"), *key = fca_path(torg.dir, "leaf.key");
    m->ctx = SSL_CTX_new(TLS_server_method());
    cr_assert_eq(SSL_CTX_use_certificate_chain_file(m->ctx, cert), 1);
    cr_assert_eq(SSL_CTX_use_PrivateKey_file(m->ctx, key, SSL_FILETYPE_PEM), 1);
    free(cert);
    free(key);
  }
  cr_assert_eq(pthread_create(&m->thr, NULL, mini_main, m), 0);
}

static void mini_release(mini_t *m) { cr_assert_eq(write(m->release[1], "x", 1), 1); }

static void mini_stop(mini_t *m) {
  atomic_store(&m->stop, true);
  pthread_join(m->thr, NULL);
  close(m->lfd);
  close(m->release[0]);
  close(m->release[1]);
  if (m->ctx) SSL_CTX_free(m->ctx);
}

/* ---- the correct page, untagged pages, classification ------------------------------------ */

Test(audit_rules, correct_page_passes) {
  start(NULL);
  put("ok.html",
      "Cross-Origin-Opener-Policy: same-origin-allow-popups\n"
      "Referrer-Policy: strict-origin-when-cross-origin\n",
      "<html><head>" STRIPE "</head><body>pay</body></html>");
  load("ok.html");
  finish();
  cr_assert_eq(L.n, 3, "page, pass, summary; got %zu events", L.n);
  cr_assert(is(L.ev[0], "page") && is(L.ev[1], "pass"));
  json_t *p = L.ev[0];
  char *u = url_of("ok.html");
  cr_assert_str_eq(jstr(p, "page.url"), u);
  cr_assert(json_is_true(jget(p, "page.top_level")));
  cr_assert_str_eq(jstr(p, "page.tagged_by"), "script-tag");
  cr_assert_str_eq(jstr(p, "page.confidence"), "high");
  cr_assert_str_eq(jstr(p, "evidence.source"), "script");
  cr_assert_str_eq(jstr(p, "evidence.name"), "script[src]");
  cr_assert_str_eq(jstr(p, "evidence.value"), "https://js.stripe.com/v3");
  cr_assert_eq(jint(p, "evidence.offset"), 12);
  cr_assert_eq(jint(L.ev[1], "page.id"), jint(p, "page.id"));
  cr_assert_null(jget(L.ev[1], "evidence"));
  cr_assert_eq(jint(L.summary, "pages_seen"), 1);
  cr_assert_eq(jint(L.summary, "pages_tagged"), 1);
  cr_assert_null(jget(L.summary, "warning"));
  cr_assert_eq(jint(L.summary, "violations.reported"), 0);
  json_t *c = card("ok.html", 0);
  cr_assert_str_eq(jstr(c, "verdict"), "pass");
  cr_assert(json_is_true(jget(c, "pass_event")));
  cr_assert_str_eq(item_status(c, 1), "pass");
  cr_assert_str_eq(item_status(c, 2), "pass");
  cr_assert_str_eq(item_status(c, 3), "n/a");
  cr_assert_str_eq(item_status(c, 4), "n/a");
  free(u);
}

Test(audit_rules, untagged_pages_are_silent_and_the_summary_warns) {
  start(NULL);
  const char *coop = "Cross-Origin-Opener-Policy: same-origin\nReferrer-Policy: no-referrer\n";
  put("plain.html", coop, "<html><script src=/files/app.js></script></html>");
  put("v3-insecure.html", coop, "<script src=\"http://js.stripe.com/v3\"></script>");
  put("v2.html", coop, "<script src=\"https://js.stripe.com/v2/\"></script>");
  put("tmpl-type.html", coop,
      "<script type=\"text/template\" src=\"https://js.stripe.com/v3\"></script>");
  put("inert.html", coop,
      "<!-- " STRIPE " --><template>" STRIPE "</template><noscript>" STRIPE "</noscript>");
  put("evil-host.html", coop, "<script src=\"https://js.stripe.com.evil.test/v3\"></script>");
  const char *names[] = {"plain.html",     "v3-insecure.html", "v2.html",
                         "tmpl-type.html", "inert.html",       "evil-host.html"};
  for (size_t i = 0; i < 6; i++) load(names[i]);
  finish();
  cr_assert_eq(L.n, 1, "only the summary; got %zu events, the first a %s", L.n,
               jstr(L.ev[0], "type"));
  cr_assert_eq(jint(L.summary, "pages_seen"), 6);
  cr_assert_eq(jint(L.summary, "pages_tagged"), 0);
  cr_assert_eq(json_array_size(jget(L.summary, "pages")), 0);
  cr_assert_str_eq(jstr(L.summary, "warning"),
                   "no page loaded Stripe.js: the flow under test probably never reached a "
                   "Stripe page");
}

Test(audit_rules, plain_http_pages_without_sec_fetch) {
  start(NULL);
  const char *coop = "Cross-Origin-Opener-Policy: same-origin\n";
  put("acc-html.html", coop, STRIPE);
  put("acc-json.html", coop, STRIPE);
  put("img.html", coop, STRIPE);
  char *a = url_of("acc-html.html"), *b = url_of("acc-json.html");
  pcurl((const char *[]){"-H", "Accept: text/html,application/xhtml+xml;q=0.9", a, NULL});
  pcurl((const char *[]){"-H", "Accept: application/json", b, NULL});
  load_as("img.html", "image", NULL);
  finish();
  expect_page("acc-html.html", "FC-COOP-1", 0);
  expect_page("acc-json.html", "", 0);
  expect_page("img.html", "", 0);
  cr_assert_eq(count("page", NULL, NULL), 1);
  cr_assert_eq(jint(L.summary, "pages_seen"), 1);
  free(a);
  free(b);
}

/* ---- item 1: COOP ---------------------------------------------------------------------- */

Test(audit_rules, coop_rules_and_parser_edges) {
  start(NULL);
  put("coop-params.html", "Cross-Origin-Opener-Policy: same-origin; report-to=\"x\"\n", STRIPE);
  put("coop-so.html", "Cross-Origin-Opener-Policy: same-origin\n", STRIPE);
  put("coop-noopener.html", "Cross-Origin-Opener-Policy: noopener-allow-popups\n", STRIPE);
  put("coop-ro.html", "Cross-Origin-Opener-Policy-Report-Only: same-origin\n", STRIPE);
  /* ignored by browsers (unsafe-none): no finding */
  put("coop-quoted.html", "Cross-Origin-Opener-Policy: \"same-origin\"\n", STRIPE);
  put("coop-case.html", "Cross-Origin-Opener-Policy: Same-origin\n", STRIPE);
  put("coop-two.html",
      "Cross-Origin-Opener-Policy: same-origin\nCross-Origin-Opener-Policy: same-origin\n", STRIPE);
  put("coop-list.html", "Cross-Origin-Opener-Policy: same-origin,same-origin\n", STRIPE);
  put("coop-space.html", "Cross-Origin-Opener-Policy: same-origin same-origin\n", STRIPE);
  put("coop-ws-semi.html", "Cross-Origin-Opener-Policy: same-origin ;report-to=\"x\"\n", STRIPE);
  put("coop-upper-key.html", "Cross-Origin-Opener-Policy: same-origin; Report-To=\"x\"\n", STRIPE);
  /* allowed values */
  put("coop-sop.html", "Cross-Origin-Opener-Policy: same-origin-allow-popups\n", STRIPE);
  put("coop-rp.html", "Cross-Origin-Opener-Policy: restrict-properties\n", STRIPE);
  put("coop-none.html", "Cross-Origin-Opener-Policy: unsafe-none\n", STRIPE);
  put("coop-ro-ok.html", "Cross-Origin-Opener-Policy-Report-Only: same-origin-allow-popups\n",
      STRIPE);
  const char *all[] = {"coop-params.html",  "coop-so.html",        "coop-noopener.html",
                       "coop-ro.html",      "coop-quoted.html",    "coop-case.html",
                       "coop-two.html",     "coop-list.html",      "coop-space.html",
                       "coop-ws-semi.html", "coop-upper-key.html", "coop-sop.html",
                       "coop-rp.html",      "coop-none.html",      "coop-ro-ok.html"};
  size_t nall = sizeof all / sizeof *all;
  for (size_t i = 0; i < nall; i++) load(all[i]);
  finish();
  expect_v((want_t){.rule = "FC-COOP-1",
                    .level = "error",
                    .item = 1,
                    .page = "coop-params.html",
                    .src = "header",
                    .name = "Cross-Origin-Opener-Policy",
                    .value = "same-origin; report-to=\"x\"",
                    .offset = -1});
  expect_v((want_t){.rule = "FC-COOP-1",
                    .level = "error",
                    .item = 1,
                    .page = "coop-so.html",
                    .src = "header",
                    .name = "Cross-Origin-Opener-Policy",
                    .value = "same-origin",
                    .offset = -1});
  expect_v((want_t){.rule = "FC-COOP-2",
                    .level = "warning",
                    .item = 1,
                    .page = "coop-noopener.html",
                    .src = "header",
                    .name = "Cross-Origin-Opener-Policy",
                    .value = "noopener-allow-popups",
                    .offset = -1});
  expect_v((want_t){.rule = "FC-COOP-3",
                    .level = "warning",
                    .item = 1,
                    .page = "coop-ro.html",
                    .src = "header",
                    .name = "Cross-Origin-Opener-Policy-Report-Only",
                    .value = "same-origin",
                    .offset = -1});
  expect_page("coop-params.html", "FC-COOP-1", 0);
  expect_page("coop-so.html", "FC-COOP-1", 0);
  expect_page("coop-noopener.html", "FC-COOP-2", 0);
  expect_page("coop-ro.html", "FC-COOP-3", 0);
  for (size_t i = 4; i < nall; i++) expect_page(all[i], "", 1);
  cr_assert_eq(count("violation", NULL, NULL), 4);
  cr_assert_eq(count("page", NULL, NULL), nall);
  cr_assert_str_eq(item_status(card("coop-quoted.html", 0), 1), "pass");
  cr_assert_str_eq(item_status(card("coop-ro.html", 0), 1), "fail");
}

/* ---- item 2: referrer policy ----------------------------------------------------------- */

Test(audit_rules, referrer_rules_and_parser_edges) {
  start(NULL);
  const char *meta_never = "<META NAME=Referrer CONTENT=\" never \">";
  const char *meta_referer = "<meta name=\"referer\" content=\"no-referrer\">";
  const char *ref3_tag = "<script referrerpolicy=\"no-referrer\" src=\"https://js.stripe.com/v3\">";
  char *body;
  put("r-header.html", "Referrer-Policy: no-referrer\n", STRIPE);
  put("r-same-origin.html", "Referrer-Policy: origin, same-origin, bogus\n", STRIPE);
  put("r-two-lines.html", "Referrer-Policy: origin\nReferrer-Policy: no-referrer\n", STRIPE);
  body = fca_xasprintf("%s%s", STRIPE, meta_never);
  put("r-meta.html", "Referrer-Policy: origin\n", body); /* meta makes a good header bad */
  free(body);
  put("r-meta-fixes.html", "Referrer-Policy: no-referrer\n",
      STRIPE "<meta name=\"referrer\" content=\"origin\">");
  put("r-meta-last.html", NULL,
      STRIPE "<meta name=referrer content=no-referrer><meta name=referrer content=default>");
  put("r-meta-empty.html", "Referrer-Policy: origin\n", STRIPE "<meta name=referrer content=\"\">");
  put("r-invalid.html", "Referrer-Policy: no-referrer, foo_bar\n", STRIPE);
  put("r-semicolon.html", "Referrer-Policy: no-referrer;\n", STRIPE);
  put("r-quoted.html", "Referrer-Policy: no-referrer, \"origin\"\n", STRIPE);
  put("r-unknown.html", "Referrer-Policy: no-referrer, unknown-token\n", STRIPE);
  put("r-ok.html", "Referrer-Policy: strict-origin-when-cross-origin\n", STRIPE);
  put("r-unsafe.html", "Referrer-Policy: unsafe-url\n", STRIPE);
  body = fca_xasprintf("%s%s", STRIPE, meta_referer);
  put("r-referer.html", NULL, body);
  free(body);
  put("r-referer-ok.html", NULL, STRIPE "<meta name=\"referer\" content=\"Strict-Origin\">");
  body = fca_xasprintf("%s</script>", ref3_tag);
  put("r-script.html", NULL, body);
  free(body);
  put("r-script-ok.html", NULL,
      "<script referrerpolicy=\"origin\" src=\"https://js.stripe.com/v3\"></script>");
  const char *all[] = {"r-header.html",     "r-same-origin.html", "r-two-lines.html",
                       "r-meta.html",       "r-meta-fixes.html",  "r-meta-last.html",
                       "r-meta-empty.html", "r-invalid.html",     "r-semicolon.html",
                       "r-quoted.html",     "r-unknown.html",     "r-ok.html",
                       "r-unsafe.html",     "r-referer.html",     "r-referer-ok.html",
                       "r-script.html",     "r-script-ok.html"};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) load(all[i]);
  finish();
  expect_v((want_t){.rule = "FC-REF-1",
                    .level = "error",
                    .item = 2,
                    .page = "r-header.html",
                    .src = "header",
                    .name = "Referrer-Policy",
                    .value = "no-referrer",
                    .offset = -1});
  expect_v((want_t){.rule = "FC-REF-1",
                    .level = "error",
                    .item = 2,
                    .page = "r-same-origin.html",
                    .src = "header",
                    .name = "Referrer-Policy",
                    .value = "origin, same-origin, bogus",
                    .offset = -1});
  expect_v((want_t){.rule = "FC-REF-1",
                    .level = "error",
                    .item = 2,
                    .page = "r-meta.html",
                    .src = "meta",
                    .name = "meta[name=referrer]",
                    .value = meta_never,
                    .offset = (long)strlen(STRIPE)});
  expect_v((want_t){.rule = "FC-REF-4",
                    .level = "info",
                    .item = 2,
                    .page = "r-invalid.html",
                    .src = "header",
                    .name = "Referrer-Policy",
                    .value = "no-referrer, foo_bar",
                    .offset = -1});
  expect_v((want_t){.rule = "FC-REF-4",
                    .level = "info",
                    .item = 2,
                    .page = "r-semicolon.html",
                    .src = "header",
                    .name = "Referrer-Policy",
                    .value = "no-referrer;",
                    .offset = -1});
  expect_v((want_t){.rule = "FC-REF-2",
                    .level = "warning",
                    .item = 2,
                    .page = "r-referer.html",
                    .src = "meta",
                    .name = "meta[name=referer]",
                    .value = meta_referer,
                    .offset = (long)strlen(STRIPE)});
  expect_v((want_t){.rule = "FC-REF-3",
                    .level = "warning",
                    .item = 2,
                    .page = "r-script.html",
                    .src = "script",
                    .name = "script[referrerpolicy]",
                    .value = ref3_tag,
                    .offset = 0});
  expect_page("r-header.html", "FC-REF-1", 0);
  expect_page("r-same-origin.html", "FC-REF-1", 0);
  expect_page("r-two-lines.html", "FC-REF-1", 0); /* lines joined: the last token wins */
  expect_page("r-meta.html", "FC-REF-1", 0);
  expect_page("r-meta-fixes.html", "", 1);
  expect_page("r-meta-last.html", "", 1);
  expect_page("r-meta-empty.html", "", 1);
  expect_page("r-invalid.html", "FC-REF-4", 1); /* info: the page still passes */
  expect_page("r-semicolon.html", "FC-REF-4", 1);
  expect_page("r-quoted.html", "FC-REF-4", 1);
  expect_page("r-unknown.html", "FC-REF-1", 0); /* an unknown [A-Za-z-] token is skipped */
  expect_page("r-ok.html", "", 1);
  expect_page("r-unsafe.html", "", 1);
  expect_page("r-referer.html", "FC-REF-2", 0); /* browsers ignore it: no FC-REF-1 */
  expect_page("r-referer-ok.html", "", 1);
  expect_page("r-script.html", "FC-REF-3", 0);
  expect_page("r-script-ok.html", "", 1);
  cr_assert_str_eq(item_status(card("r-invalid.html", 0), 2), "pass");
  cr_assert_str_eq(item_status(card("r-meta.html", 0), 2), "fail");
}

/* ---- item 3: sandbox (CSP and iframes) ----------------------------------------------------- */

Test(audit_rules, csp_sandbox_rules) {
  start(NULL);
  put("csp-scripts.html",
      "Content-Security-Policy: default-src 'self'; sandbox allow-scripts\n"
      "Referrer-Policy: no-referrer\n",
      STRIPE);
  put("csp-empty.html", "Content-Security-Policy: sandbox\n", STRIPE);
  put("csp-second.html",
      "Content-Security-Policy: default-src *\n"
      "Content-Security-Policy: sandbox allow-scripts allow-same-origin allow-popups\n",
      STRIPE);
  put("csp-ro.html", "Content-Security-Policy-Report-Only: sandbox\n", STRIPE);
  put("csp-comma.html",
      "Content-Security-Policy: default-src *, sandbox allow-scripts allow-same-origin "
      "allow-popups\n",
      STRIPE);
  put("csp-meta.html", NULL,
      STRIPE "<meta http-equiv=\"Content-Security-Policy\" content=\"sandbox\">");
  put("csp-ok.html",
      "Content-Security-Policy: sandbox allow-scripts allow-same-origin allow-popups "
      "allow-popups-to-escape-sandbox\n",
      STRIPE);
  put("csp-first-wins.html",
      "Content-Security-Policy: sandbox allow-scripts allow-same-origin allow-popups "
      "allow-popups-to-escape-sandbox; sandbox\n",
      STRIPE);
  const char *all[] = {"csp-scripts.html", "csp-empty.html",     "csp-second.html",
                       "csp-ro.html",      "csp-comma.html",     "csp-meta.html",
                       "csp-ok.html",      "csp-first-wins.html"};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) load(all[i]);
  finish();
  const char *v = "default-src 'self'; sandbox allow-scripts";
  expect_v((want_t){.rule = "FC-SBX-3",
                    .level = "error",
                    .item = 3,
                    .page = "csp-scripts.html",
                    .src = "csp",
                    .name = "Content-Security-Policy",
                    .value = v,
                    .offset = -1});
  expect_v((want_t){.rule = "FC-SBX-4",
                    .level = "error",
                    .item = 3,
                    .page = "csp-scripts.html",
                    .src = "csp",
                    .name = "Content-Security-Policy",
                    .value = v,
                    .offset = -1});
  expect_v((want_t){.rule = "FC-SBX-5",
                    .level = "error",
                    .item = 3,
                    .page = "csp-empty.html",
                    .src = "csp",
                    .name = "Content-Security-Policy",
                    .value = "sandbox",
                    .offset = -1});
  expect_v((want_t){.rule = "FC-SBX-3",
                    .level = "error",
                    .item = 3,
                    .page = "csp-second.html",
                    .src = "csp",
                    .name = "Content-Security-Policy",
                    .value = "sandbox allow-scripts allow-same-origin allow-popups",
                    .offset = -1});
  /* opaque origin: FC-SBX-4 instead of FC-REF-1 */
  expect_page("csp-scripts.html", "FC-SBX-3 FC-SBX-4", 0);
  expect_page("csp-empty.html", "FC-SBX-3 FC-SBX-4 FC-SBX-5", 0);
  expect_page("csp-second.html", "FC-SBX-3", 0);
  expect_page("csp-ro.html", "", 1);
  expect_page("csp-comma.html", "FC-SBX-3", 0); /* a comma starts another policy */
  expect_page("csp-meta.html", "", 1);
  expect_page("csp-ok.html", "", 1);
  expect_page("csp-first-wins.html", "", 1);
  cr_assert_str_eq(item_status(card("csp-ok.html", 0), 3), "pass");
  cr_assert_str_eq(item_status(card("csp-empty.html", 0), 3), "fail");
}

static const char *const FR_BAD =
    "<iframe src=\"/files/f-bad.html\" sandbox=\"allow-scripts allow-same-origin\">";
static const char *const FR_EMPTY = "<iframe sandbox src='f-empty.html'>";
static const char *const FR_GOOD =
    "<IFRAME src=\"f-good.html\" sandbox=\"allow-scripts allow-same-origin allow-popups "
    "allow-popups-to-escape-sandbox\">";
static const char *const G_SBX1 =
    "<iframe src=\"g-sbx1.html\" sandbox=\"allow-scripts allow-same-origin allow-popups\">";
static const char *const G_SBX4 =
    "<iframe src=\"g-sbx4.html\" sandbox=\"allow-scripts allow-popups "
    "allow-popups-to-escape-sandbox\">";
static const char *const G_SBX5 =
    "<iframe src=\"g-sbx5.html\" sandbox=\"allow-same-origin allow-popups "
    "allow-popups-to-escape-sandbox\">";
static const char *const G_OK =
    "<iframe src=\"g-ok.html\" sandbox=\" ALLOW-SCRIPTS allow-same-origin allow-popups "
    "allow-popups-to-escape-sandbox allow-bogus \">";
static const char *const G_NONE = "<iframe src=\"g-none.html\">";

static long off_in(const char *hay, const char *needle) {
  const char *p = strstr(hay, needle);
  cr_assert_not_null(p, "%s not in %s", needle, hay);
  return (long)(p - hay);
}

Test(audit_rules, iframe_sandbox_and_coop4_parent_first) {
  start(NULL);
  /* parent 1: COOP same-origin, untagged (its COOP is kept all the same) */
  char *p1 = fca_xasprintf("<html><body>%s</iframe>%s</iframe>%s</iframe></body></html>", FR_BAD,
                           FR_EMPTY, FR_GOOD);
  put("frames.html", "Cross-Origin-Opener-Policy: same-origin\n", p1);
  char *p2 = fca_xasprintf("<html>%s</iframe>%s</iframe>%s</iframe>%s</iframe>%s</iframe></html>",
                           G_SBX1, G_SBX4, G_SBX5, G_OK, G_NONE);
  put("frames-ok.html", "Cross-Origin-Opener-Policy: same-origin-allow-popups\n", p2);
  const char *kids1[] = {"f-bad.html", "f-empty.html", "f-good.html"};
  const char *kids2[] = {"g-sbx1.html", "g-sbx4.html", "g-sbx5.html", "g-ok.html", "g-none.html"};
  for (size_t i = 0; i < 3; i++) put(kids1[i], NULL, STRIPE);
  for (size_t i = 0; i < 5; i++) put(kids2[i], NULL, STRIPE);
  /* top-level-only rules do not judge frames: COOP and Referrer-Policy of a framed page */
  put("g-ok.html", "Cross-Origin-Opener-Policy: same-origin\n", STRIPE);
  put("g-none.html", "Referrer-Policy: no-referrer\n", STRIPE);
  load("frames.html");
  for (size_t i = 0; i < 3; i++) load_as(kids1[i], "iframe", "frames.html");
  load("frames-ok.html");
  for (size_t i = 0; i < 5; i++) load_as(kids2[i], "iframe", "frames-ok.html");
  finish();
  expect_page("frames.html", "", 0);
  expect_page("f-bad.html", "FC-COOP-4 FC-SBX-1 FC-SBX-2", 0);
  expect_page("f-empty.html", "FC-COOP-4 FC-SBX-1 FC-SBX-2 FC-SBX-4 FC-SBX-5", 0);
  expect_page("f-good.html", "FC-COOP-4", 0);
  expect_page("g-sbx1.html", "FC-SBX-1", 0);
  expect_page("g-sbx4.html", "FC-SBX-4", 0);
  expect_page("g-sbx5.html", "FC-SBX-5", 0);
  expect_page("g-ok.html", "", 1);
  expect_page("g-none.html", "", 1);
  const char *kids[] = {"f-bad.html", "f-empty.html", "f-good.html"};
  for (size_t i = 0; i < 3; i++)
    expect_v((want_t){.rule = "FC-COOP-4",
                      .level = "error",
                      .item = 1,
                      .page = kids[i],
                      .framed = true,
                      .src = "header",
                      .name = "Cross-Origin-Opener-Policy",
                      .value = "same-origin",
                      .offset = -1,
                      .ev_url = "frames.html"});
  const char *sbx[] = {"FC-SBX-1", "FC-SBX-2"};
  for (size_t i = 0; i < 2; i++)
    expect_v((want_t){.rule = sbx[i],
                      .level = "error",
                      .item = 3,
                      .page = "f-bad.html",
                      .framed = true,
                      .src = "iframe",
                      .name = "iframe[sandbox]",
                      .value = FR_BAD,
                      .offset = off_in(p1, FR_BAD),
                      .ev_url = "frames.html"});
  const char *sbx_all[] = {"FC-SBX-1", "FC-SBX-2", "FC-SBX-4", "FC-SBX-5"};
  for (size_t i = 0; i < 4; i++)
    expect_v((want_t){.rule = sbx_all[i],
                      .level = "error",
                      .item = 3,
                      .page = "f-empty.html",
                      .framed = true,
                      .src = "iframe",
                      .name = "iframe[sandbox]",
                      .value = FR_EMPTY,
                      .offset = off_in(p1, FR_EMPTY),
                      .ev_url = "frames.html"});
  struct {
    const char *rule, *page, *tag;
  } one[] = {{"FC-SBX-1", "g-sbx1.html", G_SBX1},
             {"FC-SBX-4", "g-sbx4.html", G_SBX4},
             {"FC-SBX-5", "g-sbx5.html", G_SBX5}};
  for (size_t i = 0; i < 3; i++)
    expect_v((want_t){.rule = one[i].rule,
                      .level = "error",
                      .item = 3,
                      .page = one[i].page,
                      .framed = true,
                      .src = "iframe",
                      .name = "iframe[sandbox]",
                      .value = one[i].tag,
                      .offset = off_in(p2, one[i].tag),
                      .ev_url = "frames-ok.html"});
  json_t *c = card("g-ok.html", 0);
  cr_assert_str_eq(item_status(c, 1), "pass");
  cr_assert_str_eq(item_status(c, 2), "n/a");
  cr_assert_str_eq(item_status(c, 3), "pass");
  cr_assert_eq(count("note", NULL, NULL), 0);
  free(p1);
  free(p2);
}

/* The framed page streams completely while its parent's HTML has not reached the <iframe> yet:
 * the parent (served by the in-process server) stalls after "<html><body>". */
Test(audit_rules, framing_joined_child_first) {
  start(NULL);
  put("child.html", NULL, "<html>" STRIPE "</html>");
  char *child = url_of("child.html");
  char *tag =
      fca_xasprintf("<iframe sandbox=\"allow-scripts allow-same-origin\" src=\"%s\">", child);
  char *rest = fca_xasprintf("%s</iframe></body></html>", tag);
  static mini_t m;
  memset(&m, 0, sizeof m);
  m.routes[0] = (route_t){.path = "/outer",
                          .head = "Content-Type: text/html\r\nCross-Origin-Opener-Policy: "
                                  "same-origin\r\n",
                          .part1 = "<html><body>",
                          .part2 = rest,
                          .stall = true};
  m.nroutes = 1;
  mini_start(&m, false);
  char parent[64];
  snprintf(parent, sizeof parent, "http://127.0.0.1:%d/outer", m.port);
  char *out = fca_path(px.dir, "parent.out");
  const char *argv[] = {"curl",       "-q",      "-sS",       "-N",
                        "--max-time", "20",      "--noproxy", "",
                        "-x",         proxy_url, "-H",        "Sec-Fetch-Dest: document",
                        parent,       NULL};
  pid_t pid = fca_spawn((char *const *)argv, out, NULL);
  cr_assert_gt(pid, 0);
  long end = now_ms() + 10000;
  for (;;) { /* the proxy has passed the parent's head and first bytes on */
    size_t n;
    char *got = fca_read_file(out, &n);
    bool seen = got && strstr(got, "<body>");
    free(got);
    if (seen) break;
    cr_assert(now_ms() < end, "the parent's first bytes never came through");
    sleep_ms(10);
  }
  load_as("child.html", "iframe", parent);
  /* nothing is known against the frame yet: it passes when its document ends */
  wait_log(10000, "\"type\":\"pass\"", "child.html", NULL);
  mini_release(&m);
  int st;
  cr_assert_eq(fca_proc_wait(pid, 15000, &st), 0, "the parent download did not end");
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "curl for the parent failed");
  mini_stop(&m);
  finish();
  expect_page("child.html", "FC-COOP-4 FC-SBX-1 FC-SBX-2", 1);
  expect_page(parent, "", 0);
  size_t pass_at = 0, first_v = 0;
  for (size_t i = 0; i < L.n; i++) {
    if (is(L.ev[i], "pass")) pass_at = i;
    if (is(L.ev[i], "violation") && !first_v) first_v = i;
  }
  cr_assert_lt(pass_at, first_v, "the frame's pass came before the late framing findings");
  expect_v((want_t){.rule = "FC-COOP-4",
                    .level = "error",
                    .item = 1,
                    .page = "child.html",
                    .framed = true,
                    .src = "header",
                    .name = "Cross-Origin-Opener-Policy",
                    .value = "same-origin",
                    .offset = -1,
                    .ev_url = parent});
  expect_v((want_t){.rule = "FC-SBX-1",
                    .level = "error",
                    .item = 3,
                    .page = "child.html",
                    .framed = true,
                    .src = "iframe",
                    .name = "iframe[sandbox]",
                    .value = tag,
                    .offset = 12,
                    .ev_url = parent});
  expect_v((want_t){.rule = "FC-SBX-2",
                    .level = "error",
                    .item = 3,
                    .page = "child.html",
                    .framed = true,
                    .src = "iframe",
                    .name = "iframe[sandbox]",
                    .value = tag,
                    .offset = 12,
                    .ev_url = parent});
  cr_assert_eq(count("note", NULL, NULL), 0, "the iframe was seen: no iframe-unknown note");
  json_t *c = card("child.html", 0);
  cr_assert_str_eq(jstr(c, "verdict"), "fail", "the summary holds the final verdict");
  cr_assert_str_eq(item_status(c, 3), "fail");
  free(out);
  free(child);
  free(tag);
  free(rest);
}

/* ---- beyond the checklist: COEP; item 4: keys ---------------------------------------------- */

Test(audit_rules, coep_iso1) {
  start(NULL);
  put("iso-corp.html", "Cross-Origin-Embedder-Policy: require-corp\n", STRIPE);
  put("iso-cl.html",
      "Cross-Origin-Embedder-Policy: credentialless\nCross-Origin-Opener-Policy: same-origin\n",
      STRIPE);
  put("iso-none.html", "Cross-Origin-Embedder-Policy: unsafe-none\n", STRIPE);
  put("iso-ro.html", "Cross-Origin-Embedder-Policy-Report-Only: require-corp\n", STRIPE);
  const char *all[] = {"iso-corp.html", "iso-cl.html", "iso-none.html", "iso-ro.html"};
  for (size_t i = 0; i < 4; i++) load(all[i]);
  finish();
  expect_v((want_t){.rule = "FC-ISO-1",
                    .level = "warning",
                    .item = 0,
                    .page = "iso-corp.html",
                    .src = "header",
                    .name = "Cross-Origin-Embedder-Policy",
                    .value = "require-corp",
                    .offset = -1});
  expect_v((want_t){.rule = "FC-ISO-1",
                    .level = "warning",
                    .item = 0,
                    .page = "iso-cl.html",
                    .src = "header",
                    .name = "Cross-Origin-Embedder-Policy",
                    .value = "credentialless",
                    .offset = -1});
  expect_page("iso-corp.html", "FC-ISO-1", 0);
  expect_page("iso-cl.html", "FC-COOP-1 FC-ISO-1", 0);
  expect_page("iso-none.html", "", 1);
  expect_page("iso-ro.html", "", 1);
}

static const char *const LIVE = "pk_live_0123456789abcdefghijkl";

static void put_key_pages(void) {
  put("key-live.html", NULL, STRIPE "<script>Stripe('pk_live_0123456789abcdefghijkl')</script>");
  put("key-attr.html", NULL, STRIPE "<div data-key=\"pk_live_0123456789abcdefghijkl\"></div>");
  put("key-test.html", NULL, STRIPE "<script>Stripe('pk_test_0123456789abcdefghijkl')</script>");
  put("key-short.html", NULL, STRIPE "<script>Stripe('pk_live_0123')</script>");
  put("key-js.html", NULL, STRIPE "<script src=\"/files/key.js\"></script>");
  put("key.js", NULL, "const stripe = Stripe('pk_live_0123456789abcdefghijkl');\n");
  const char *all[] = {"key-live.html", "key-attr.html", "key-test.html", "key-short.html",
                       "key-js.html"};
  for (size_t i = 0; i < 5; i++) load(all[i]);
  load_as("key.js", "script", "key-js.html"); /* the key is in a script served to the page */
}

Test(audit_rules, live_key_test1) {
  start(NULL);
  put_key_pages();
  finish();
  expect_v((want_t){.rule = "FC-TEST-1",
                    .level = "warning",
                    .item = 4,
                    .page = "key-live.html",
                    .src = "script",
                    .name = "publishable key",
                    .value = LIVE,
                    .offset = (long)strlen(STRIPE) + 16});
  expect_page("key-live.html", "FC-TEST-1", 0);
  expect_page("key-attr.html", "FC-TEST-1", 0);
  expect_v((want_t){.rule = "FC-TEST-1",
                    .level = "warning",
                    .item = 4,
                    .page = "key-js.html",
                    .src = "script",
                    .name = "publishable key",
                    .value = LIVE,
                    .offset = 23,
                    .ev_url = "key.js"});
  expect_page("key-test.html", "", 1);
  expect_page("key-short.html", "", 1);
  cr_assert_str_eq(item_status(card("key-live.html", 0), 4), "fail");
  cr_assert_str_eq(item_status(card("key-test.html", 0), 4), "pass");
  cr_assert_str_eq(jstr(L.summary, "env"), "staging");
}

Test(audit_rules, live_key_on_a_production_run) {
  start((const char *[]){"--env", "production", NULL});
  put_key_pages();
  finish();
  cr_assert_eq(count("violation", NULL, NULL), 0);
  cr_assert_eq(count("pass", NULL, NULL), 5);
  cr_assert_str_eq(jstr(L.summary, "env"), "production");
}

/* ---- FC-TEST-2: api.stripe.com stand-in over TLS, intercepted ----------------------------- */

static const char *const API_ALL =
    "{\"object\":\"list\",\"livemode\":false,\"data\":["
    "{\"object\":\"linked_account\",\"institution_name\":\"Test (OAuth)\"},"
    "{\"object\":\"linked_account\",\"institution_name\":\"Test (Non-OAuth)\"},"
    "{\"object\":\"linked_account\",\"institution\":{\"name\":\" bank (oauth) \"}},"
    "{\"object\":\"linked_account\",\"institution_name\":\"Bank (Non-OAuth)\"}]}";
static const char *const API_ONE =
    "{\"object\":\"list\",\"livemode\":false,\"data\":["
    "{\"object\":\"linked_account\",\"institution_name\":\"Test (OAuth)\"}]}";
static const char *const API_LIVE =
    "{\"object\":\"list\",\"livemode\":true,\"data\":["
    "{\"object\":\"linked_account\",\"institution_name\":\"Bank (OAuth)\"}]}";

/* A run where api.stripe.com is the in-process TLS server answering body1 (and body2) for two
 * FC endpoints, requested after a tagged page. */
static void run_api(const char *body1, const char *body2, const char *const extra[]) {
  start_origin(true);
  static mini_t m;
  memset(&m, 0, sizeof m);
  const char *ct = "Content-Type: application/json\r\n";
  m.routes[0] =
      (route_t){.path = "/v1/link_account_sessions/list_accounts", .head = ct, .part1 = body1};
  m.routes[1] = (route_t){
      .path = "/v1/financial_connections/accounts", .head = ct, .part1 = body2 ? body2 : "{}"};
  m.nroutes = 2;
  mini_start(&m, true);
  char ct_api[96];
  snprintf(ct_api, sizeof ct_api, "api.stripe.com:443:127.0.0.1:%d", m.port);
  const char *args[16] = {"--connect-to", ct_api, "--upstream-ca", torg.ca_pem};
  size_t k = 4;
  for (size_t i = 0; extra && extra[i]; i++) args[k++] = extra[i];
  args[k] = NULL;
  start_proxy(args);
  put("fc.html", NULL, STRIPE "<script>Stripe('pk_test_0123456789abcdefghijkl')</script>");
  load("fc.html");
  load_as("https://api.stripe.com/v1/link_account_sessions/list_accounts", "empty", NULL);
  if (body2) load_as("https://api.stripe.com/v1/financial_connections/accounts", "empty", NULL);
  mini_stop(&m);
  finish();
  cr_assert_eq(count("violation", "FC-TEST-2", NULL), 0, "FC-TEST-2 is in the summary only");
}

Test(audit_rules, test2_all_four_institutions) {
  run_api(API_ALL, NULL, NULL);
  json_t *t = jget(L.summary, "test_mode");
  cr_assert_not_null(t);
  cr_assert_str_eq(jstr(t, "rule"), "FC-TEST-2");
  cr_assert_str_eq(jstr(t, "level"), "info");
  cr_assert_eq(jint(t, "item"), 4);
  cr_assert_eq(jint(t, "api_responses"), 1);
  cr_assert_eq(jint(t, "test_mode_responses"), 1);
  const char *names[] = {"Test (OAuth)", "Test (Non-OAuth)", "Bank (OAuth)", "Bank (Non-OAuth)"};
  for (size_t i = 0; i < 4; i++)
    cr_assert(json_is_true(json_object_get(jget(t, "institutions"), names[i])), "%s", names[i]);
  cr_assert_eq(json_array_size(jget(t, "missing")), 0);
  cr_assert(json_is_true(jget(t, "complete")));
  cr_assert_not_null(strstr(jstr(t, "message"), "Test (OAuth)"));
  json_t *fc = jget(card("fc.html", 0), "fc_evidence");
  bool api = false;
  for (size_t i = 0; i < json_array_size(fc); i++)
    api |= strcmp(json_string_value(json_array_get(fc, i)), "api") == 0;
  cr_assert(api, "the API call is FC evidence on the tagged page");
}

Test(audit_rules, test2_missing_institutions) {
  run_api(API_ONE, API_LIVE, NULL);
  json_t *t = jget(L.summary, "test_mode");
  cr_assert_eq(jint(t, "api_responses"), 2);
  cr_assert_eq(jint(t, "test_mode_responses"), 1);
  cr_assert_eq(jint(t, "live_mode_responses"), 1);
  cr_assert(json_is_true(json_object_get(jget(t, "institutions"), "Test (OAuth)")));
  cr_assert(json_is_false(json_object_get(jget(t, "institutions"), "Bank (OAuth)")),
            "a live-mode link does not count");
  json_t *miss = jget(t, "missing");
  cr_assert_eq(json_array_size(miss), 3);
  cr_assert_str_eq(json_string_value(json_array_get(miss, 0)), "Test (Non-OAuth)");
  cr_assert(json_is_false(jget(t, "complete")));
}

Test(audit_rules, test2_ignored) {
  run_api(API_ALL, NULL, (const char *[]){"--rule", "FC-TEST-2=ignore", NULL});
  cr_assert_null(jget(L.summary, "test_mode"));
}

/* ---- levels --------------------------------------------------------------------------------- */

Test(audit_rules, rule_set_to_ignore_produces_nothing) {
  start((const char *[]){"--rule", "FC-COOP-1=ignore", NULL});
  put("ign.html", "Cross-Origin-Opener-Policy: same-origin\n", STRIPE);
  put("ign-ref.html", "Cross-Origin-Opener-Policy: same-origin\nReferrer-Policy: no-referrer\n",
      STRIPE);
  load("ign.html");
  load("ign-ref.html");
  finish();
  cr_assert_eq(count("violation", "FC-COOP-1", NULL), 0);
  expect_page("ign.html", "", 1); /* an ignored rule does not block pass */
  expect_page("ign-ref.html", "FC-REF-1", 0);
  cr_assert_eq(by_rule("FC-COOP-1", "occurrences"), -1, "absent from the summary counts");
  cr_assert_eq(by_rule("FC-REF-1", "occurrences"), 1);
  cr_assert_eq(jint(L.summary, "violations.occurrences"), 1);
  json_t *c = card("ign-ref.html", 0);
  cr_assert_null(json_object_get(jget(c, "findings"), "FC-COOP-1"));
  cr_assert_str_neq(item_status(c, 1), "fail", "an ignored rule fails no item");
}

Test(audit_rules, rules_file_with_url_globs) {
  start_origin(false);
  char *dir = fca_tmpdir_new(), *rules = fca_path(dir, "rules.txt");
  const char *text = "# levels for this run\n"
                     "FC-COOP-1   warning\n"
                     "FC-COOP-1\tinfo    http://127.0.0.1:*/files/lv-info*   # an exception\n"
                     "\n"
                     "FC-ISO-1    ignore\n"
                     "FC-REF-1    warning  *LV-REF*\n";
  cr_assert_eq(fca_write_file(rules, text, strlen(text)), 0);
  start_proxy((const char *[]){"--rules", rules, "--rule", "FC-ISO-1=error", NULL});
  const char *coop = "Cross-Origin-Opener-Policy: same-origin\n";
  put("lv-warn.html", coop, STRIPE);
  put("lv-info.html", coop, STRIPE);
  put("lv-iso.html", "Cross-Origin-Embedder-Policy: require-corp\n", STRIPE);
  put("lv-ref.html", "Referrer-Policy: no-referrer\n", STRIPE);
  put("other-ref.html", "Referrer-Policy: no-referrer\n", STRIPE);
  const char *all[] = {"lv-warn.html", "lv-info.html", "lv-iso.html", "lv-ref.html",
                       "other-ref.html"};
  for (size_t i = 0; i < 5; i++) load(all[i]);
  finish();
  expect_v((want_t){.rule = "FC-COOP-1",
                    .level = "warning",
                    .item = 1,
                    .page = "lv-warn.html",
                    .src = "header",
                    .name = "Cross-Origin-Opener-Policy",
                    .value = "same-origin",
                    .offset = -1});
  expect_v((want_t){.rule = "FC-COOP-1",
                    .level = "info",
                    .item = 1,
                    .page = "lv-info.html",
                    .src = "header",
                    .name = "Cross-Origin-Opener-Policy",
                    .value = "same-origin",
                    .offset = -1});
  /* --rule wins over the file's ignore */
  expect_v((want_t){.rule = "FC-ISO-1",
                    .level = "error",
                    .item = 0,
                    .page = "lv-iso.html",
                    .src = "header",
                    .name = "Cross-Origin-Embedder-Policy",
                    .value = "require-corp",
                    .offset = -1});
  /* globs are case-insensitive */
  expect_v((want_t){.rule = "FC-REF-1",
                    .level = "warning",
                    .item = 2,
                    .page = "lv-ref.html",
                    .src = "header",
                    .name = "Referrer-Policy",
                    .value = "no-referrer",
                    .offset = -1});
  expect_v((want_t){.rule = "FC-REF-1",
                    .level = "error",
                    .item = 2,
                    .page = "other-ref.html",
                    .src = "header",
                    .name = "Referrer-Policy",
                    .value = "no-referrer",
                    .offset = -1});
  expect_page("lv-info.html", "FC-COOP-1", 1); /* info does not prevent pass */
  expect_page("lv-warn.html", "FC-COOP-1", 0);
  json_t *bl = jget(L.summary, "violations.by_rule.FC-COOP-1.by_level");
  cr_assert_eq(jint(bl, "warning.occurrences"), 1);
  cr_assert_eq(jint(bl, "info.occurrences"), 1);
  /* a bad file stops the start, naming the file and line */
  const char *bad = "FC-COOP-1 warning\nFC-COP-1 error\n";
  cr_assert_eq(fca_write_file(rules, bad, strlen(bad)), 0);
  char *log = fca_path(dir, "x.ndjson"), *ca = fca_path(dir, "ca");
  fca_run_t r;
  fca_run((char *const[]){FCA_TEST_BINARY, "--listen", "127.0.0.1:0", "--only-resolved", "--admin",
                          "off", "--log", log, "--ca-dir", ca, "--rules", rules, NULL},
          10000, &r);
  cr_assert_eq(fca_run_exit_code(&r), 3, "%s", r.err);
  char *want = fca_xasprintf("%s:2:", rules);
  cr_assert_not_null(strstr(r.err, want), "%s", r.err);
  cr_assert_not_null(strstr(r.err, "FC-COP-1"), "%s", r.err);
  fca_run_free(&r);
  free(want);
  free(log);
  free(ca);
  free(rules);
  free(dir);
}

/* HTTPS pages through interception: shop.test and js.stripe.com go to the TLS origin. */
static void start_https(const char *const extra[]) {
  start_origin(true);
  static char shop[96], js[96];
  snprintf(shop, sizeof shop, "shop.test:443:127.0.0.1:%d", torg.port);
  snprintf(js, sizeof js, "js.stripe.com:443:127.0.0.1:%d", torg.port);
  const char *args[16] = {"--connect-to", shop, "--connect-to", js, "--upstream-ca", torg.ca_pem};
  size_t k = 6;
  for (size_t i = 0; extra && extra[i]; i++) args[k++] = extra[i];
  args[k] = NULL;
  start_proxy(args);
}

#define DYN_HIGH "https://shop.test/files/dyn-high.html"
#define DYN_MED "https://shop.test/files/dyn-med.html"
#define HTTPS_STATIC "https://shop.test/files/static.html"

/* A dynamically tagged page with a full Referer (high), one with an origin-only Referer
 * (medium), a static tag over HTTPS, and an inline loader literal over plain HTTP (medium). */
static void dynamic_pages(void) {
  const char *coop = "Cross-Origin-Opener-Policy: same-origin\n";
  put("dyn-high.html", coop, "<script src=\"/files/app.js\"></script>");
  put("dyn-med.html", coop, "<script src=\"/files/app.js\"></script>");
  put("static.html", "Referrer-Policy: no-referrer\n", STRIPE);
  put("lit.html", coop,
      "<script>var s=document.createElement('script');s.src='https://js.stripe.com/v3';"
      "document.head.appendChild(s)</script>");
  load(DYN_HIGH);
  load_as("https://js.stripe.com/v3", "script", DYN_HIGH);
  load(DYN_MED);
  load_as("https://js.stripe.com/v3", "script", "https://shop.test/");
  load(HTTPS_STATIC);
  load("lit.html");
}

Test(audit_rules, https_pages_static_and_dynamic_tags) {
  start_https(NULL);
  dynamic_pages();
  finish();
  expect_v((want_t){.rule = "FC-COOP-1",
                    .level = "error",
                    .item = 1,
                    .page = DYN_HIGH,
                    .tagged_by = "script-request",
                    .confidence = "high",
                    .src = "header",
                    .name = "Cross-Origin-Opener-Policy",
                    .value = "same-origin",
                    .offset = -1});
  expect_v((want_t){.rule = "FC-COOP-1",
                    .level = "error",
                    .item = 1,
                    .page = DYN_MED,
                    .tagged_by = "script-request",
                    .confidence = "medium",
                    .src = "header",
                    .name = "Cross-Origin-Opener-Policy",
                    .value = "same-origin",
                    .offset = -1});
  expect_v((want_t){.rule = "FC-REF-1",
                    .level = "error",
                    .item = 2,
                    .page = HTTPS_STATIC,
                    .src = "header",
                    .name = "Referrer-Policy",
                    .value = "no-referrer",
                    .offset = -1});
  expect_v((want_t){.rule = "FC-COOP-1",
                    .level = "error",
                    .item = 1,
                    .page = "lit.html",
                    .tagged_by = "script-literal",
                    .confidence = "medium",
                    .src = "header",
                    .name = "Cross-Origin-Opener-Policy",
                    .value = "same-origin",
                    .offset = -1});
  expect_page(DYN_HIGH, "FC-COOP-1", 0);
  expect_page(DYN_MED, "FC-COOP-1", 0);
  expect_page(HTTPS_STATIC, "FC-REF-1", 0);
  cr_assert_eq(count("page", NULL, NULL), 4);
  for (size_t i = 0; i < L.n; i++)
    if (is(L.ev[i], "page") && strcmp(jstr(L.ev[i], "page.tagged_by"), "script-request") == 0)
      cr_assert_str_eq(jstr(L.ev[i], "evidence.source"), "request");
  cr_assert_eq(jint(L.summary, "pages_below_min_confidence"), 0);
}

Test(audit_rules, min_confidence_high_drops_medium_tags) {
  start_https((const char *[]){"--min-confidence", "high", NULL});
  dynamic_pages();
  finish();
  expect_page(DYN_HIGH, "FC-COOP-1", 0);
  expect_page(DYN_MED, "", 0);
  expect_page("lit.html", "", 0);
  expect_page(HTTPS_STATIC, "FC-REF-1", 0);
  cr_assert_eq(count("page", NULL, NULL), 2);
  cr_assert_eq(count("violation", NULL, NULL), 2);
  cr_assert_eq(jint(L.summary, "pages_below_min_confidence"), 2);
  cr_assert_str_eq(jstr(L.summary, "min_confidence"), "high");
}

/* ---- dedup ---------------------------------------------------------------------------------- */

static void load_three_times(void) {
  put("dd.html", "Cross-Origin-Opener-Policy: same-origin\n", STRIPE);
  for (int i = 0; i < 3; i++) load("dd.html");
  finish();
  cr_assert_eq(jint(L.summary, "pages_tagged"), 3, "each load is a page");
  cr_assert_eq(by_rule("FC-COOP-1", "occurrences"), 3);
  cr_assert_eq(jint(L.summary, "violations.by_level.error.occurrences"), 3);
  cr_assert_eq(json_array_size(jget(L.summary, "pages")), 3);
}

Test(audit_rules, dedup_reports_once_and_counts) {
  start(NULL);
  load_three_times();
  cr_assert_eq(count("violation", "FC-COOP-1", "dd.html"), 1);
  cr_assert_eq(count("page", NULL, "dd.html"), 1, "a reloaded page is logged once per run");
  cr_assert_eq(by_rule("FC-COOP-1", "reported"), 1);
  cr_assert_eq(jint(L.summary, "violations.by_level.error.reported"), 1);
}

Test(audit_rules, no_dedup_reports_every_time) {
  start((const char *[]){"--no-dedup", NULL});
  load_three_times();
  cr_assert_eq(count("violation", "FC-COOP-1", "dd.html"), 3);
  cr_assert_eq(count("page", NULL, "dd.html"), 3, "--no-dedup logs every load");
  cr_assert_eq(by_rule("FC-COOP-1", "reported"), 3);
  long long want = 1;
  for (size_t i = 0; i < L.n; i++) {
    if (!is(L.ev[i], "violation")) continue;
    json_t *c = jget(L.ev[i], "count");
    if (want == 1)
      cr_assert_null(c, "the first occurrence has no count");
    else
      cr_assert_eq(json_integer_value(c), want);
    want++;
  }
}

/* ---- concurrency ------------------------------------------------------------------------------
 */

Test(audit_rules, sixteen_clients_at_once) {
  start((const char *[]){"--workers", "4", NULL});
  char pad[16384];
  memset(pad, ' ', sizeof pad - 1);
  pad[sizeof pad - 1] = 0;
  char name[16][32], *urls[16];
  for (int i = 0; i < 16; i++) {
    snprintf(name[i], sizeof name[i], "cc-%02d.html", i);
    char *body =
        fca_xasprintf("<html><head>" STRIPE "</head><body>%s<p>%d</p></body></html>", pad, i);
    put(name[i], "Cross-Origin-Opener-Policy: same-origin\n", body);
    free(body);
    urls[i] = url_of(name[i]);
  }
  pid_t pids[16];
  for (int i = 0; i < 16; i++) {
    const char *argv[] = {"curl",
                          "-q",
                          "-sS",
                          "--max-time",
                          "20",
                          "--noproxy",
                          "",
                          "-x",
                          proxy_url,
                          "-H",
                          "Sec-Fetch-Dest: document",
                          "-o",
                          "/dev/null",
                          urls[i],
                          NULL};
    pids[i] = fca_spawn((char *const *)argv, NULL, NULL);
    cr_assert_gt(pids[i], 0);
  }
  for (int i = 0; i < 16; i++) {
    int st;
    cr_assert_eq(fca_proc_wait(pids[i], 25000, &st), 0, "curl %d did not finish", i);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "curl %d failed", i);
  }
  finish(); /* every line parsed as one JSON object and validated */
  cr_assert_eq(fca_count_lines(log_path), (long)L.n);
  cr_assert_eq(count("violation", NULL, NULL), 16);
  cr_assert_eq(count("page", NULL, NULL), 16);
  cr_assert_eq(L.n, 33, "16 page + 16 violation + summary, got %zu", L.n);
  for (int i = 0; i < 16; i++) {
    expect_v((want_t){.rule = "FC-COOP-1",
                      .level = "error",
                      .item = 1,
                      .page = name[i],
                      .src = "header",
                      .name = "Cross-Origin-Opener-Policy",
                      .value = "same-origin",
                      .offset = -1});
    cr_assert_eq(count("page", NULL, name[i]), 1);
    free(urls[i]);
  }
  cr_assert_eq(jint(L.summary, "pages_tagged"), 16);
  cr_assert_eq(by_rule("FC-COOP-1", "reported"), 16);
}

/* ---- the summary, every event type, --redact-query ---------------------------------------- */

Test(audit_rules, summary_scorecards_and_every_event_type) {
  start(NULL);
  put("s-ok.html", "Cross-Origin-Opener-Policy: same-origin-allow-popups\n", STRIPE);
  put("s-bad.html", "Cross-Origin-Opener-Policy: same-origin\nReferrer-Policy: no-referrer\n",
      STRIPE "<script>Stripe('pk_live_0123456789abcdefghijkl')</script>");
  put("s-none.html", NULL, "<p>no stripe</p>");
  put("s-orphan.html", NULL, STRIPE); /* framed, but no parent HTML showed its iframe */
  load("s-ok.html");
  load("s-bad.html");
  load("s-none.html");
  load_as("s-orphan.html", "iframe", NULL);
  finish();
  const char *types[] = {"page", "violation", "pass", "note", "summary"};
  for (size_t i = 0; i < 5; i++) cr_assert_geq(count(types[i], NULL, NULL), 1, "no %s", types[i]);
  json_t *note = NULL;
  for (size_t i = 0; i < L.n; i++)
    if (is(L.ev[i], "note")) note = L.ev[i];
  cr_assert_str_eq(jstr(note, "note"), "iframe-unknown");
  char *orphan = url_of("s-orphan.html");
  cr_assert_str_eq(jstr(note, "page.url"), orphan);
  free(orphan);
  json_t *s = L.summary;
  cr_assert_eq(jint(s, "pages_seen"), 4);
  cr_assert_eq(jint(s, "pages_tagged"), 3);
  cr_assert_geq(jint(s, "exchanges"), 4);
  cr_assert_eq(jint(s, "notes"), 1);
  cr_assert_null(jget(s, "warning"));
  cr_assert_eq(jint(s, "violations.reported"), 3);
  cr_assert_eq(jint(s, "violations.by_level.error.reported"), 2);
  cr_assert_eq(jint(s, "violations.by_level.warning.reported"), 1);
  cr_assert_eq(jint(s, "violations.by_level.info.reported"), 0);
  cr_assert_eq(by_rule("FC-COOP-1", "item"), 1);
  cr_assert_eq(by_rule("FC-REF-1", "item"), 2);
  cr_assert_eq(by_rule("FC-TEST-1", "item"), 4);
  cr_assert_eq(jint(jget(s, "violations.by_rule.FC-TEST-1.by_level"), "warning.reported"), 1);
  json_t *pages = jget(s, "pages");
  cr_assert_eq(json_array_size(pages), 3);
  char *u0 = url_of("s-ok.html");
  cr_assert_str_eq(jstr(json_array_get(pages, 0), "url"), u0, "tagging order");
  free(u0);
  json_t *ok = card("s-ok.html", 0), *bad = card("s-bad.html", 0), *orph = card("s-orphan.html", 0);
  cr_assert_str_eq(jstr(ok, "verdict"), "pass");
  cr_assert(json_is_true(jget(ok, "pass_event")));
  cr_assert_str_eq(jstr(bad, "verdict"), "fail");
  cr_assert(json_is_false(jget(bad, "pass_event")));
  cr_assert(json_is_true(jget(bad, "top_level")));
  cr_assert_str_eq(jstr(bad, "tagged_by"), "script-tag");
  const char *want_bad[] = {"fail", "fail", "n/a", "fail"};
  for (int i = 1; i <= 4; i++) cr_assert_str_eq(item_status(bad, i), want_bad[i - 1], "item %d", i);
  cr_assert_not_null(strstr(jstr(jget(bad, "items.1"), "why"), "FC-COOP-1"));
  cr_assert_eq(jint(bad, "findings.FC-REF-1.count"), 1);
  cr_assert_str_eq(jstr(bad, "findings.FC-REF-1.level"), "error");
  cr_assert(json_is_false(jget(orph, "top_level")));
  cr_assert_eq(jint(orph, "notes"), 1);
  cr_assert_str_eq(item_status(orph, 3), "n/a");
}

Test(audit_rules, redact_query_keeps_query_strings_out_of_urls) {
  start((const char *[]){"--redact-query", NULL});
  put("q.html", "Cross-Origin-Opener-Policy: same-origin\n", STRIPE);
  put("q-parent.html", "Cross-Origin-Opener-Policy: same-origin-allow-popups\n",
      "<iframe src=\"q-child.html?ctoken=c0ffee\" sandbox=\"allow-scripts allow-same-origin\">"
      "</iframe>");
  put("q-child.html", NULL, STRIPE);
  load("q.html?token=s3cr3t");
  load("q-parent.html?ptoken=abc123");
  load_as("q-child.html?ctoken=c0ffee", "iframe", "q-parent.html?ptoken=abc123");
  finish();
  expect_page("q.html", "FC-COOP-1", 0);
  expect_page("q-child.html", "FC-SBX-1 FC-SBX-2", 0);
  expect_v((want_t){.rule = "FC-SBX-1",
                    .level = "error",
                    .item = 3,
                    .page = "q-child.html",
                    .framed = true,
                    .src = "iframe",
                    .name = "iframe[sandbox]",
                    .value = "<iframe src=\"q-child.html?ctoken=c0ffee\" sandbox=\"allow-scripts "
                             "allow-same-origin\">",
                    .offset = 0,
                    .ev_url = "q-parent.html"});
  for (size_t i = 0; i + 1 < L.n; i++) { /* every event but the summary */
    const char *u = jstr(L.ev[i], "page.url"), *e = jstr(L.ev[i], "evidence.url");
    cr_assert(!u || !strchr(u, '?'), "query in page.url: %s", u);
    cr_assert(!e || !strchr(e, '?'), "query in evidence.url: %s", e);
    char *line = json_dumps(L.ev[i], JSON_COMPACT);
    cr_assert(!strstr(line, "s3cr3t") && !strstr(line, "abc123"), "a query token in %s", line);
    free(line);
  }
  /* the summary's scorecards name pages too */
  json_t *p;
  size_t i;
  json_array_foreach(jget(L.summary, "pages"), i, p) {
    cr_assert_null(strchr(jstr(p, "url"), '?'), "query in the summary: %s", jstr(p, "url"));
  }
}

/* ---- bodies as they travel: content codings, chunks, caps ---------------------------------- */

/* root/name = the body encoded by `tool -c` (gzip -n, brotli, zstd -q), written whole. */
static void put_encoded(const char *name, const char *tool, const char *body) {
  char *tmp = fca_path(root, "plain.tmp");
  cr_assert_eq(fca_write_file(tmp, body, strlen(body)), 0);
  char *const gz[] = {"gzip", "-c", "-n", tmp, NULL}, *const br[] = {"brotli", "-c", tmp, NULL},
              *const zs[] = {"zstd", "-q", "-c", tmp, NULL};
  char *const *argv = strcmp(tool, "gzip") == 0 ? gz : strcmp(tool, "brotli") == 0 ? br : zs;
  fca_run_t r;
  cr_assert_eq(fca_run(argv, 10000, &r), 0);
  cr_assert_eq(fca_run_exit_code(&r), 0, "%s: %s", tool, r.err);
  char *p = fca_path(root, name);
  cr_assert_eq(fca_write_file(p, r.out, r.out_len), 0);
  cr_assert_eq(fca_write_file(tmp, r.out, r.out_len), 0); /* so encodings can be stacked */
  fca_run_free(&r);
  free(p);
  free(tmp);
}

Test(audit_rules, encoded_and_chunked_pages) {
  start(NULL);
  char pad[6000];
  memset(pad, 'x', sizeof pad - 1);
  pad[sizeof pad - 1] = 0;
  const char *meta = "<meta name=\"referrer\" content=\"no-referrer\">";
  char *body = fca_xasprintf("%s<p>%s</p>%s", STRIPE, pad, meta);
  long meta_at = off_in(body, meta);
  const char *hdr = "Cross-Origin-Opener-Policy: same-origin\nReferrer-Policy: origin\n";
  struct {
    const char *name, *tools[2], *coding;
  } enc[] = {{"enc-gzip.html", {"gzip"}, "gzip"},
             {"enc-br.html", {"brotli"}, "br"},
             {"enc-zstd.html", {"zstd"}, "zstd"},
             {"enc-stacked.html", {"gzip", "brotli"}, "gzip, br"}};
  for (size_t i = 0; i < 4; i++) {
    put_encoded(enc[i].name, enc[i].tools[0], body);
    if (enc[i].tools[1]) {
      char *tmp = fca_path(root, "plain.tmp"), *p = fca_path(root, enc[i].name);
      size_t n;
      char *once = fca_read_file(p, &n);
      cr_assert_eq(fca_write_file(tmp, once, n), 0);
      free(once);
      char *const argv[] = {"brotli", "-c", tmp, NULL};
      fca_run_t r;
      cr_assert_eq(fca_run(argv, 10000, &r), 0);
      cr_assert_eq(fca_write_file(p, r.out, r.out_len), 0);
      fca_run_free(&r);
      free(tmp);
      free(p);
    }
    char *h = fca_xasprintf("%sContent-Encoding: %s\n", hdr, enc[i].coding);
    char *p = fca_path(root, enc[i].name), *hp = fca_xasprintf("%s.headers", p);
    cr_assert_eq(fca_write_file(hp, h, strlen(h)), 0);
    free(h);
    free(hp);
    free(p);
  }
  /* chunked, with chunk boundaries inside the Stripe.js tag and inside the meta */
  char *chunked = fca_xstrdup(""), *rest = body;
  size_t cuts[] = {20, 30, 5990, 40, 0};
  for (size_t i = 0; cuts[i] && *rest; i++) {
    size_t n = strlen(rest) < cuts[i] ? strlen(rest) : cuts[i];
    char *t = fca_xasprintf("%s%zx\r\n%.*s\r\n", chunked, n, (int)n, rest);
    free(chunked);
    chunked = t;
    rest += n;
  }
  char *t = fca_xasprintf("%s%zx\r\n%s\r\n0\r\n\r\n", chunked, strlen(rest), rest);
  free(chunked);
  chunked = t;
  char *ch = fca_xasprintf("%sTransfer-Encoding: chunked\n", hdr);
  put("chunked.html", ch, chunked);
  free(ch);
  free(chunked);
  for (size_t i = 0; i < 4; i++) {
    char *u = url_of(enc[i].name);
    pcurl((const char *[]){"-H", "Sec-Fetch-Dest: document", "-H",
                           "Accept-Encoding: gzip, br, zstd", u, NULL});
    free(u);
  }
  load("chunked.html");
  finish();
  const char *pages[] = {"enc-gzip.html", "enc-br.html", "enc-zstd.html", "enc-stacked.html",
                         "chunked.html"};
  for (size_t i = 0; i < 5; i++) {
    expect_page(pages[i], "FC-COOP-1 FC-REF-1", 0);
    expect_v((want_t){.rule = "FC-REF-1",
                      .level = "error",
                      .item = 2,
                      .page = pages[i],
                      .src = "meta",
                      .name = "meta[name=referrer]",
                      .value = meta,
                      .offset = meta_at});
  }
  cr_assert_eq(count("note", NULL, NULL), 0, "every coding was decoded");
  free(body);
}

Test(audit_rules, audit_cap_gives_a_note) {
  start((const char *[]){"--max-audit-bytes", "1k", NULL});
  char pad[2048];
  memset(pad, ' ', sizeof pad - 1);
  pad[sizeof pad - 1] = 0;
  char *late = fca_xasprintf("<html>%s%s</html>", pad, STRIPE);
  put("cap-late.html", "Cross-Origin-Opener-Policy: same-origin\n", late);
  char *early =
      fca_xasprintf("<html>%s%s<meta name=referrer content=no-referrer></html>", STRIPE, pad);
  put("cap-early.html", NULL, early);
  load("cap-late.html");
  load("cap-early.html");
  finish();
  expect_page("cap-late.html", "", 0);
  cr_assert_eq(count("page", NULL, "cap-late.html"), 0, "the tag was past the cap");
  cr_assert_eq(count("note", NULL, "cap-late.html"), 1);
  cr_assert_eq(count("note", NULL, "cap-early.html"), 1);
  cr_assert_eq(count("page", NULL, "cap-early.html"), 1);
  cr_assert_eq(count("violation", "FC-REF-1", NULL), 0, "the meta past the cap was not seen");
  for (size_t i = 0; i < L.n; i++)
    if (is(L.ev[i], "note")) cr_assert_str_eq(jstr(L.ev[i], "note"), "audit-incomplete");
  free(late);
  free(early);
}

/* ---- how tags and frames are recognised through the proxy --------------------------------- */

Test(audit_rules, tag_forms_and_frame_urls) {
  start(NULL);
  const char *coop = "Cross-Origin-Opener-Policy: same-origin\n";
  struct {
    const char *name, *body, *value; /* value: the page event's evidence; NULL: not tagged */
  } t[] = {
      {"t-base.html", "<base href=\"https://js.stripe.com/\"><script src=\"v3\"></script>", "v3"},
      {"t-protorel.html", "<script src=\"//js.stripe.com/v3\"></script>", "//js.stripe.com/v3"},
      {"t-train.html", "<script src=\"https://js.stripe.com/basil/stripe.js\"></script>",
       "https://js.stripe.com/basil/stripe.js"},
      {"t-query.html", "<script src='https://js.stripe.com/v3/?advancedFraudSignals=false'>",
       "https://js.stripe.com/v3/?advancedFraudSignals=false"},
      {"t-module.html", "<script type=module src=https://js.stripe.com/v3></script>",
       "https://js.stripe.com/v3"},
      {"t-json.html", "<script type=\"application/json\" src=\"https://js.stripe.com/v3\">", NULL},
      {"t-port.html", "<script src=\"https://js.stripe.com:8443/v3\"></script>", NULL},
  };
  for (size_t i = 0; i < 7; i++) {
    put(t[i].name, coop, t[i].body);
    load(t[i].name);
  }
  /* a tagged 404 page is still a page; an iframe src with a fragment names the same URL */
  put("t-404.html", "Status: 404\nCross-Origin-Opener-Policy: same-origin\n", STRIPE);
  load("t-404.html");
  put("t-frag-parent.html", NULL,
      "<iframe src=\"t-frag-child.html#pay\" sandbox=\"allow-scripts allow-same-origin "
      "allow-popups\"></iframe>");
  put("t-frag-child.html", NULL, STRIPE);
  load("t-frag-parent.html");
  load_as("t-frag-child.html", "iframe", "t-frag-parent.html");
  finish();
  for (size_t i = 0; i < 7; i++) {
    expect_page(t[i].name, t[i].value ? "FC-COOP-1" : "", 0);
    if (!t[i].value) continue;
    char *u = url_of(t[i].name);
    for (size_t k = 0; k < L.n; k++)
      if (is(L.ev[k], "page") && strcmp(jstr(L.ev[k], "page.url"), u) == 0) {
        cr_assert_str_eq(jstr(L.ev[k], "evidence.value"), t[i].value);
        cr_assert_str_eq(jstr(L.ev[k], "page.tagged_by"), "script-tag");
      }
    free(u);
  }
  expect_page("t-404.html", "FC-COOP-1", 0);
  expect_page("t-frag-child.html", "FC-SBX-1", 0);
  cr_assert_eq(count("note", NULL, NULL), 0);
}

/* A 304 reuses the last full response of that URL: the same findings, deduplicated. */
Test(audit_rules, not_modified_reuses_the_last_response) {
  start(NULL);
  put("nm.html", "Cross-Origin-Opener-Policy: same-origin\nETag: \"v1\"\n", STRIPE);
  load("nm.html");
  put("nm.html", "Status: 304\nETag: \"v1\"\n", "");
  char *u = url_of("nm.html");
  pcurl((const char *[]){"-H", "Sec-Fetch-Dest: document", "-H", "If-None-Match: \"v1\"", u, NULL});
  free(u);
  finish();
  cr_assert_eq(count("page", NULL, "nm.html"), 1, "the reload is logged once per run");
  cr_assert_eq(jint(L.summary, "pages_tagged"), 2);
  cr_assert_eq(count("violation", "FC-COOP-1", "nm.html"), 1);
  cr_assert_eq(by_rule("FC-COOP-1", "occurrences"), 2);
  cr_assert_eq(jint(L.summary, "pages_seen"), 2);
}

/* Header bytes that are not UTF-8 are escaped in the evidence, never dropped. */
Test(audit_rules, non_utf8_evidence_is_escaped) {
  start(NULL);
  put("bytes.html", "Referrer-Policy: no-referrer\xff\n", STRIPE);
  load("bytes.html");
  finish();
  json_t *v = expect_v((want_t){.rule = "FC-REF-4",
                                .level = "info",
                                .item = 2,
                                .page = "bytes.html",
                                .src = "header",
                                .name = "Referrer-Policy",
                                .value = "no-referrer\\xff",
                                .offset = -1});
  cr_assert(json_is_true(jget(v, "evidence.escaped")));
  expect_page("bytes.html", "FC-REF-4", 1);
}

/* The summary is written on SIGINT too. */
Test(audit_rules, summary_on_sigint) {
  start(NULL);
  put("int.html", "Cross-Origin-Opener-Policy: same-origin\n", STRIPE);
  load("int.html");
  char *path = fca_xstrdup(px.log_path);
  cr_assert_eq(kill(px.pid, SIGINT), 0);
  int st;
  cr_assert_eq(fca_proc_wait(px.pid, 10000, &st), 0, "fcaudit did not exit on SIGINT");
  px.pid = -1;
  parse_log(path, &L);
  cr_assert_not_null(L.summary, "no summary after SIGINT");
  cr_assert_eq(jint(L.summary, "pages_tagged"), 1);
  cr_assert_eq(by_rule("FC-COOP-1", "reported"), 1);
  free(path);
}

/* The origin sends the response head in its own segment and the body later: the headers the
 * audit reads must still be valid once the proxy has forwarded the head. */
Test(audit_rules, response_head_arriving_alone) {
  start(NULL);
  static mini_t m;
  memset(&m, 0, sizeof m);
  m.routes[0] = (route_t){.path = "/slow",
                          .head = "Content-Type: text/html\r\nCross-Origin-Opener-Policy: "
                                  "same-origin\r\nReferrer-Policy: no-referrer\r\n",
                          .part1 = STRIPE,
                          .pause_ms = 300};
  m.nroutes = 1;
  mini_start(&m, false);
  char u[64];
  snprintf(u, sizeof u, "http://127.0.0.1:%d/slow", m.port);
  load(u);
  mini_stop(&m);
  finish();
  expect_page(u, "FC-COOP-1 FC-REF-1", 0);
  expect_v((want_t){.rule = "FC-COOP-1",
                    .level = "error",
                    .item = 1,
                    .page = u,
                    .src = "header",
                    .name = "Cross-Origin-Opener-Policy",
                    .value = "same-origin",
                    .offset = -1});
}
