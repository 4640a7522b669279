/* audit_rules_fixture: what the audit integration tests share. Pages are written into the test
 * origin's root (body + a .headers sidecar of raw header lines) and loaded with curl through the
 * real proxy; the proxy is then stopped and its NDJSON log read back: every line parsed,
 * validated against docs/events.schema.json and checked for one run id, with helpers that pin a
 * violation's rule, level, item, page, tag and evidence. A small in-process server (plain or
 * TLS) serves what the origin cannot: a response that stalls mid-body or whose head arrives
 * alone, and the api.stripe.com stand-in. Only 127.0.0.1 is touched; every wait is bounded. */
#ifndef FCA_AUDIT_RULES_FIXTURE_H
#define FCA_AUDIT_RULES_FIXTURE_H

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

#define STRIPE "<script src=\"https://js.stripe.com/v3\"></script>"
#define CURL_MS 15000

static fca_origin_t org;  /* plain HTTP origin serving root */
static fca_origin_t torg; /* HTTPS origin (same root) for the interception cases */
static fca_testproxy_t px;
static char *root;
static char proxy_url[64], proxy_ca[512];

static inline long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static inline void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* ---- origin, proxy, pages ---------------------------------------------------------------- */

static inline void start_origin(bool tls) {
  if (!root) root = fca_tmpdir_new();
  cr_assert_eq(fca_origin_start(&org, &(fca_origin_opts_t){.root = root}), 0, "no origin");
  if (tls) {
    cr_assert_eq(fca_origin_start(&torg, &(fca_origin_opts_t){.tls = true, .root = root}), 0,
                 "no TLS origin");
    cr_assert_not_null(torg.ca_pem);
  }
}

static inline void start_proxy(const char *const extra[]) {
  cr_assert_eq(fca_testproxy_start(&px, extra), 0, "fcaudit did not start");
  snprintf(proxy_url, sizeof proxy_url, "http://127.0.0.1:%d", px.port);
  snprintf(proxy_ca, sizeof proxy_ca, "%s/ca.pem", px.ca_dir);
}

static inline void start(const char *const extra[]) {
  start_origin(false);
  start_proxy(extra);
}

/* Writes root/name with body and, when headers is not NULL, root/name.headers ("A: b\n..."). */
static inline void put(const char *name, const char *headers, const char *body) {
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
static inline char *url_of(const char *name) {
  if (strncmp(name, "http://", 7) == 0 || strncmp(name, "https://", 8) == 0)
    return fca_xstrdup(name);
  char *path = fca_xasprintf("/files/%s", name);
  char *u = fca_origin_url(&org, path);
  free(path);
  return u;
}

/* curl through the proxy (trusting its CA) with args; asserts curl succeeded. */
static inline void pcurl(const char *const args[]) {
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
static inline void load_as(const char *name, const char *dest, const char *referer) {
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

static inline void load(const char *name) { load_as(name, "document", NULL); }

/* ---- the event log --------------------------------------------------------------------- */

typedef struct {
  json_t **ev;
  size_t n;
  json_t *summary;
} evlog_t;

static evlog_t L;

static inline json_t *jget(json_t *o, const char *dotted) {
  char buf[128];
  snprintf(buf, sizeof buf, "%s", dotted);
  for (char *s = buf, *dot; o && s; s = dot ? dot + 1 : NULL) {
    dot = strchr(s, '.');
    if (dot) *dot = 0;
    o = json_object_get(o, s);
  }
  return o;
}

static inline const char *jstr(json_t *o, const char *dotted) {
  return json_string_value(jget(o, dotted));
}

static inline long long jint(json_t *o, const char *dotted) {
  json_t *v = jget(o, dotted);
  cr_assert(json_is_integer(v), "%s is not an integer", dotted);
  return json_integer_value(v);
}

/* Parses and checks a whole log: each line ends in '\n', is one JSON object, validates against
 * the schema, and carries the same run id; the summary (if any) is the last line. */
static inline void parse_log(const char *path, evlog_t *log) {
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
static char *log_path, *err_path; /* the log and stderr of the stopped proxy */

static inline void finish(void) {
  log_path = fca_xstrdup(px.log_path);
  free(err_path);
  err_path = fca_xstrdup(px.stderr_path);
  int st = fca_testproxy_stop(&px);
  if (!WIFEXITED(st)) {
    char *err = fca_read_file(err_path, NULL);
    cr_assert_fail("fcaudit did not exit by itself (status %d):\n%s", st, err ? err : "");
  }
  parse_log(log_path, &L);
  cr_assert_not_null(L.summary, "no summary at exit");
}

/* Waits until the live log has a line with all the given substrings (NULL-terminated). */
static inline void wait_log(int timeout_ms, ...) {
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

static inline bool is(json_t *ev, const char *type) { return strcmp(jstr(ev, "type"), type) == 0; }

/* Events of a type (and rule, and page URL when not NULL). */
static inline size_t count(const char *type, const char *rule, const char *page) {
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

static inline int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The rule ids of the page's violations, sorted, space-separated. */
static inline char *rules_of(const char *page) {
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
static inline void expect_page(const char *page, const char *rules, size_t passes) {
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
static inline json_t *expect_v(want_t w) {
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
static inline long long by_rule(const char *rule, const char *field) {
  json_t *r = json_object_get(jget(L.summary, "violations.by_rule"), rule);
  return r ? jint(r, field) : -1;
}

/* The scorecard entry of the summary for a page URL (the n-th load of it). */
static inline json_t *card(const char *page, int nth) {
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

static inline const char *item_status(json_t *c, int n) {
  char k[2] = {(char)('0' + n), 0};
  return json_string_value(
      json_object_get(json_object_get(json_object_get(c, "items"), k), "status"));
}

/* ---- a small server of canned responses (plain or TLS) -------------------------------------- */

typedef struct {
  const char *path, *head; /* head: extra header lines, each ending in \r\n */
  const char *part1, *part2;
  int status;   /* 0: 200 (may be changed between requests, e.g. to 304) */
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

static inline int io_write(SSL *ssl, int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = ssl ? SSL_write(ssl, p, (int)n) : send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static inline void mini_serve(mini_t *m, int fd) {
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
    char *eoh = strstr(req, "\r\n\r\n");
    if (eoh) { /* and the body, when the request says how long it is */
      char *cl = strcasestr(req, "\r\nContent-Length:");
      size_t want = cl && cl < eoh ? (size_t)strtoul(cl + 17, NULL, 10) : 0;
      if ((size_t)(req + n - (eoh + 4)) >= want) break;
    }
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
  int code = rt->status ? rt->status : 200;
  char *head =
      fca_xasprintf("HTTP/1.1 %d %s\r\n%sContent-Length: %zu\r\nConnection: close\r\n\r\n", code,
                    code == 304 ? "Not Modified" : "OK", rt->head, strlen(rt->part1) + strlen(p2));
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

static inline void *mini_main(void *arg) {
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
static inline void mini_start(mini_t *m, bool tls) {
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

static inline void mini_release(mini_t *m) { cr_assert_eq(write(m->release[1], "x", 1), 1); }

static inline void mini_stop(mini_t *m) {
  atomic_store(&m->stop, true);
  pthread_join(m->thr, NULL);
  close(m->lfd);
  close(m->release[0]);
  close(m->release[1]);
  if (m->ctx) SSL_CTX_free(m->ctx);
}

static inline long off_in(const char *hay, const char *needle) {
  const char *p = strstr(hay, needle);
  cr_assert_not_null(p, "%s not in %s", needle, hay);
  return (long)(p - hay);
}

#endif
