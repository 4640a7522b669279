/* Integration tests for a fleet: real redis-server and haproxy processes started by the test on
 * free loopback ports, real fcaudit instances shipping to the stream (--sink redis://...), and
 * the readers (tail --redis, report --redis). Covers: events of two instances in the stream with
 * run, instance and seq; Redis stopped mid-run and restarted (the proxy keeps serving, the
 * backlog arrives, no seq missing, a repeat only ever with the same run+seq); the backlog cap's
 * note with its count; tail/report merging two runs; HAProxy in TCP mode with balance source
 * keeping a client's page and its js.stripe.com request on one instance (tagged there), health
 * checks on /healthz and a graceful reload. Only 127.0.0.1; every wait is bounded. */
#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fcaudit/util.h"
#include "harness.h"

TestSuite(fleet, .fini = fca_harness_cleanup, .timeout = 240);

#define CURL_MS 15000
#define STREAM "fcaudit:events" /* the default stream name */
#define STRIPE "<script src=\"https://js.stripe.com/v3\"></script>"

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* ---- redis-server ---- */

typedef struct {
  pid_t pid;
  int port;
  char *dir;
} redis_t;

static void redis_spawn(redis_t *r) {
  char port[16];
  snprintf(port, sizeof port, "%d", r->port);
  char *log = fca_path(r->dir, "redis.log");
  char *const argv[] = {"redis-server", "--port",    port,   "--bind",
                        "127.0.0.1",    "--save",    "",     "--appendonly",
                        "no",           "--dir",     r->dir, "--dbfilename",
                        "dump.rdb",     "--logfile", log,    NULL};
  r->pid = fca_spawn(argv, NULL, NULL);
  cr_assert_gt(r->pid, 0, "cannot start redis-server");
  cr_assert_eq(fca_wait_tcp_port(r->port, 10000), 0, "redis-server did not listen on %d", r->port);
  free(log);
}

static void redis_start(redis_t *r) {
  r->dir = fca_tmpdir_new();
  r->port = fca_free_port();
  redis_spawn(r);
}

static redisContext *redis_conn(const redis_t *r) {
  redisContext *c = redisConnect("127.0.0.1", r->port);
  cr_assert(c && !c->err, "cannot connect to redis on %d", r->port);
  return c;
}

/* Stops Redis the way an operator does (SHUTDOWN SAVE: the stream survives the restart). */
static void redis_shutdown(redis_t *r) {
  redisContext *c = redis_conn(r);
  redisReply *rep = redisCommand(c, "SHUTDOWN SAVE");
  if (rep) freeReplyObject(rep);
  redisFree(c);
  int st;
  cr_assert_eq(fca_proc_wait(r->pid, 10000, &st), 0, "redis-server did not stop");
}

static char *redis_url(const redis_t *r, const char *query) {
  return fca_xasprintf("redis://127.0.0.1:%d%s", r->port, query ? query : "");
}

/* ---- the stream ---- */

typedef struct {
  char *run, *instance, *label;
  unsigned long long seq;
  json_t *ev;
} entry_t;

typedef struct {
  entry_t *e;
  size_t n;
} stream_t;

static void stream_read(const redis_t *r, const char *name, stream_t *s) {
  memset(s, 0, sizeof *s);
  redisContext *c = redis_conn(r);
  redisReply *rep = redisCommand(c, "XRANGE %s - +", name);
  cr_assert(rep && rep->type == REDIS_REPLY_ARRAY, "XRANGE failed");
  s->e = fca_xcalloc(rep->elements + 1, sizeof *s->e);
  for (size_t i = 0; i < rep->elements; i++) {
    redisReply *kv = rep->element[i]->element[1];
    entry_t *e = &s->e[s->n++];
    for (size_t k = 0; k + 1 < kv->elements; k += 2) {
      const char *key = kv->element[k]->str, *v = kv->element[k + 1]->str;
      if (strcmp(key, "run") == 0) e->run = fca_xstrdup(v);
      if (strcmp(key, "instance") == 0) e->instance = fca_xstrdup(v);
      if (strcmp(key, "label") == 0) e->label = fca_xstrdup(v);
      if (strcmp(key, "seq") == 0) e->seq = strtoull(v, NULL, 10);
      if (strcmp(key, "event") == 0) e->ev = json_loads(v, 0, NULL);
    }
    cr_assert(e->run && e->instance && e->seq && e->ev, "entry %zu lacks a field", i);
    cr_assert_str_eq(json_string_value(json_object_get(e->ev, "run")), e->run);
  }
  freeReplyObject(rep);
  redisFree(c);
}

static void stream_free(stream_t *s) {
  for (size_t i = 0; i < s->n; i++) {
    free(s->e[i].run), free(s->e[i].instance), free(s->e[i].label);
    json_decref(s->e[i].ev);
  }
  free(s->e);
}

static const char *etype(const entry_t *e) {
  return json_string_value(json_object_get(e->ev, "type"));
}

/* The run id of the local log's lines (all of one run) and their number. */
static size_t log_lines_of(const char *path, char *run, size_t runlen) {
  char *text = fca_read_file(path, NULL);
  cr_assert_not_null(text, "no log %s", path);
  size_t n = 0;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    json_t *o = json_loads(line, 0, NULL);
    cr_assert_not_null(o, "log line is not JSON: %s", line);
    if (n == 0) snprintf(run, runlen, "%s", json_string_value(json_object_get(o, "run")));
    n++;
    json_decref(o);
  }
  free(text);
  return n;
}

/* Every seq 1..n of the run is in the stream; a seq seen twice is the same event. */
static void expect_all_seq(const stream_t *s, const char *run, size_t n, const char *instance) {
  json_t **by_seq = fca_xcalloc(n + 1, sizeof *by_seq);
  for (size_t i = 0; i < s->n; i++) {
    const entry_t *e = &s->e[i];
    if (strcmp(e->run, run) != 0) continue;
    cr_assert_str_eq(e->instance, instance);
    cr_assert(e->seq >= 1 && e->seq <= n, "seq %llu out of 1..%zu", e->seq, n);
    if (by_seq[e->seq])
      cr_assert(json_equal(by_seq[e->seq], e->ev), "seq %llu repeated with another event", e->seq);
    by_seq[e->seq] = e->ev;
  }
  for (size_t q = 1; q <= n; q++)
    cr_assert_not_null(by_seq[q], "seq %zu of run %s missing", q, run);
  free(by_seq);
}

/* ---- origin, proxies, pages ---- */

static fca_origin_t org;
static char *root;

static void start_origin(void) {
  root = fca_tmpdir_new();
  cr_assert_eq(fca_origin_start(&org, &(fca_origin_opts_t){.root = root}), 0, "no origin");
  /* shop0.html .. shop9.html: tagged pages whose COOP header fails item 1 (FC-COOP-1). */
  for (int i = 0; i < 10; i++) {
    char name[32];
    snprintf(name, sizeof name, "shop%d.html", i);
    char *p = fca_path(root, name);
    const char *body = "<html><head>" STRIPE "</head><body>shop</body></html>";
    cr_assert_eq(fca_write_file(p, body, strlen(body)), 0);
    free(p);
    snprintf(name, sizeof name, "shop%d.html.headers", i);
    p = fca_path(root, name);
    const char *h = "Cross-Origin-Opener-Policy: same-origin\n";
    cr_assert_eq(fca_write_file(p, h, strlen(h)), 0);
    free(p);
  }
}

static void start_proxy(fca_testproxy_t *px, const char *const extra[]) {
  cr_assert_eq(fca_testproxy_start(px, extra), 0, "fcaudit did not start");
}

/* Loads page shop<i>.html through proxy port (each page URL is audited, and its events
 * emitted, once per run); returns how long it took (ms). */
static long load_page(int port, int i) {
  char proxy[64], path[64];
  snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d", port);
  snprintf(path, sizeof path, "/files/shop%d.html", i);
  char *u = fca_origin_url(&org, path);
  long t0 = now_ms();
  fca_run_t r;
  fca_curl(&r, CURL_MS, "--noproxy", "", "-x", proxy, "-o", "/dev/null", "-w", "%{http_code}", "-H",
           "Sec-Fetch-Dest: document", u, NULL);
  long took = now_ms() - t0;
  cr_assert_eq(fca_run_exit_code(&r), 0, "curl failed: %s", r.err);
  cr_assert_str_eq(r.out, "200");
  fca_run_free(&r);
  free(u);
  return took;
}

/* Stops the proxy (SIGTERM: it drains, ships the rest, exits); its files stay until cleanup. */
typedef struct {
  char *log, *err;
} stopped_t;

static stopped_t stop_proxy(fca_testproxy_t *px) {
  stopped_t s = {fca_xstrdup(px->log_path), fca_xstrdup(px->stderr_path)};
  int st = fca_testproxy_stop(px);
  cr_assert(WIFEXITED(st), "fcaudit did not exit by itself");
  return s;
}

static char *stderr_of(const stopped_t *s) {
  char *t = fca_read_file(s->err, NULL);
  return t ? t : fca_xstrdup("");
}

/* ---- tests ---- */

Test(fleet, events_of_two_instances_reach_the_stream_with_run_instance_seq) {
  redis_t rd;
  redis_start(&rd);
  start_origin();
  char *url = redis_url(&rd, "?stream=qa:events");
  fca_testproxy_t a, b;
  start_proxy(&a, (const char *[]){"--sink", url, "--instance", "ci-a", "--label", "v1", NULL});
  start_proxy(&b, (const char *[]){"--sink", url, "--instance", "ci-b", NULL});
  for (int i = 0; i < 3; i++) load_page(a.port, i);
  for (int i = 3; i < 5; i++) load_page(b.port, i);
  stopped_t sa = stop_proxy(&a), sb = stop_proxy(&b);

  stream_t s;
  stream_read(&rd, "qa:events", &s);
  char run_a[64], run_b[64];
  size_t na = log_lines_of(sa.log, run_a, sizeof run_a);
  size_t nb = log_lines_of(sb.log, run_b, sizeof run_b);
  cr_assert_str_neq(run_a, run_b);
  cr_assert_eq(s.n, na + nb, "stream %zu entries, logs %zu + %zu lines", s.n, na, nb);
  expect_all_seq(&s, run_a, na, "ci-a");
  expect_all_seq(&s, run_b, nb, "ci-b");
  size_t pages_a = 0, pages_b = 0, summaries = 0;
  for (size_t i = 0; i < s.n; i++) {
    bool is_a = strcmp(s.e[i].instance, "ci-a") == 0;
    if (is_a)
      cr_assert_str_eq(s.e[i].label, "v1");
    else
      cr_assert_null(s.e[i].label, "no --label, no label field");
    if (strcmp(etype(&s.e[i]), "page") == 0) ++*(is_a ? &pages_a : &pages_b);
    if (strcmp(etype(&s.e[i]), "summary") == 0) summaries++;
  }
  /* One page event per page URL. */
  cr_assert_eq(pages_a, 3);
  cr_assert_eq(pages_b, 2);
  cr_assert_eq(summaries, 2, "each run's summary is shipped at exit");
  char *err = stderr_of(&sa);
  cr_assert_not_null(strstr(err, "redis sink redis://127.0.0.1:"), "%s", err);
  free(err);
  stream_free(&s);
  free(url);
}

Test(fleet, redis_stopped_mid_run_keeps_proxying_and_loses_nothing) {
  redis_t rd;
  redis_start(&rd);
  start_origin();
  char *url = redis_url(&rd, NULL);
  fca_testproxy_t px;
  int admin = fca_free_port();
  char admin_addr[32];
  snprintf(admin_addr, sizeof admin_addr, "127.0.0.1:%d", admin);
  start_proxy(&px,
              (const char *[]){"--sink", url, "--instance", "solo", "--admin", admin_addr, NULL});
  long before = 0, during = 0, after = 0;
  for (int i = 0; i < 3; i++) before += load_page(px.port, i);
  redis_shutdown(&rd);
  for (int i = 3; i < 8; i++) during += load_page(px.port, i);
  cr_log_info("page latency (ms, mean of curl wall time): Redis up %ld, Redis down %ld", before / 3,
              during / 5);
  fprintf(stderr, "fleet: page latency (ms): Redis up %ld, Redis down %ld\n", before / 3,
          during / 5);
  /* Never stalls: a page through the proxy with Redis away is served like any other. */
  cr_assert_lt(during / 5, 5000, "the proxy stalled while Redis was down");
  redis_spawn(&rd); /* same port, same dir: the stream comes back from dump.rdb */
  for (int i = 8; i < 10; i++) after += load_page(px.port, i);
  fprintf(stderr, "fleet: page latency (ms): Redis back %ld\n", after / 2);
  /* The backlog goes out on reconnect (retry backoff is at most 5 s). */
  char run[64];
  size_t n = log_lines_of(px.log_path, run, sizeof run);
  long deadline = now_ms() + 15000;
  stream_t s = {0};
  for (;;) {
    stream_read(&rd, STREAM, &s);
    bool done = s.n >= n;
    if (done || now_ms() > deadline) break;
    stream_free(&s);
    sleep_ms(200);
  }
  expect_all_seq(&s, run, n, "solo");
  stream_free(&s);
  /* /metrics tells the same story: connected again, everything shipped, one failure or more. */
  char murl[64];
  snprintf(murl, sizeof murl, "http://127.0.0.1:%d/metrics", admin);
  fca_run_t mr;
  fca_curl(&mr, CURL_MS, "--noproxy", "*", murl, NULL);
  cr_assert_eq(fca_run_exit_code(&mr), 0, "%s", mr.err);
  cr_assert_not_null(strstr(mr.out, "\nfcaudit_redis_sinks_connected 1\n"), "%s", mr.out);
  cr_assert_not_null(strstr(mr.out, "\nfcaudit_redis_events_waiting 0\n"), "%s", mr.out);
  cr_assert_not_null(strstr(mr.out, "\nfcaudit_redis_events_unshipped_total 0\n"), "%s", mr.out);
  const char *sh = strstr(mr.out, "\nfcaudit_redis_events_shipped_total ");
  cr_assert_not_null(sh);
  cr_assert_geq(strtoull(sh + strlen("\nfcaudit_redis_events_shipped_total "), NULL, 10), n);
  const char *fl = strstr(mr.out, "\nfcaudit_redis_failures_total ");
  cr_assert_not_null(fl);
  cr_assert_geq(strtoull(fl + strlen("\nfcaudit_redis_failures_total "), NULL, 10), 1);
  fca_run_free(&mr);
  stopped_t sp = stop_proxy(&px);
  stream_read(&rd, STREAM, &s);
  n = log_lines_of(sp.log, run, sizeof run);
  expect_all_seq(&s, run, n, "solo"); /* the summary too */
  stream_free(&s);
  char *err = stderr_of(&sp);
  /* Said once, and that it came back; the password-free URL only. */
  size_t said = 0;
  for (const char *p = err; (p = strstr(p, "still proxying")) != NULL; p++) said++;
  cr_assert_eq(said, 1, "the outage is reported once:\n%s", err);
  cr_assert_not_null(strstr(err, "connected again"), "%s", err);
  free(err);
  free(url);
}

Test(fleet, backlog_past_the_cap_gives_a_note_with_the_count) {
  redis_t rd = {.dir = fca_tmpdir_new(), .port = fca_free_port()};
  start_origin();
  /* Redis is not there yet; at most 3 events wait. */
  char *url = redis_url(&rd, "?backlog=3");
  fca_testproxy_t px;
  start_proxy(&px, (const char *[]){"--sink", url, "--instance", "capped", NULL});
  for (int i = 0; i < 5; i++) load_page(px.port, i);
  /* Each load's events (page, then the COOP error) are in the log once the audit ends. */
  char run[64];
  size_t before = 0;
  for (long deadline = now_ms() + 10000; now_ms() < deadline; sleep_ms(100))
    if ((before = log_lines_of(px.log_path, run, sizeof run)) >= 10) break;
  cr_assert_eq(before, 10, "5 pages: a page event and a COOP error each");
  redis_spawn(&rd);
  long deadline = now_ms() + 15000;
  stream_t s = {0};
  const entry_t *note = NULL;
  while (!note && now_ms() < deadline) {
    stream_free(&s);
    stream_read(&rd, STREAM, &s);
    for (size_t i = 0; i < s.n && !note; i++)
      if (strcmp(etype(&s.e[i]), "note") == 0) note = &s.e[i];
    if (!note) sleep_ms(200);
  }
  cr_assert_not_null(note, "no note about the unshipped events");
  cr_assert_str_eq(json_string_value(json_object_get(note->ev, "note")), "redis-unshipped");
  char want[64];
  snprintf(want, sizeof want, "%zu events were not shipped", before - 3);
  const char *msg = json_string_value(json_object_get(note->ev, "message"));
  cr_assert_not_null(strstr(msg, want), "note says: %s (want '%s')", msg, want);
  /* The newest 3 made it, with their own seq (the given-up ones leave a gap). */
  size_t shipped = 0;
  for (size_t i = 0; i < s.n; i++)
    if (strcmp(etype(&s.e[i]), "note") != 0) {
      cr_assert_gt(s.e[i].seq, before - 3);
      shipped++;
    }
  cr_assert_eq(shipped, 3);
  stopped_t sp = stop_proxy(&px);
  char *err = stderr_of(&sp);
  cr_assert_not_null(strstr(err, want), "%s", err);
  free(err);
  char *log = fca_read_file(sp.log, NULL);
  cr_assert_not_null(strstr(log, want), "the note is in the local log too");
  free(log);
  stream_free(&s);
  free(url);
}

/* Runs fcaudit with args; returns stdout (malloc'd), asserts the exit code. */
static char *fcaudit(int want_rc, const char *const args[]) {
  const char *argv[32] = {FCA_TEST_BINARY};
  size_t k = 1;
  for (size_t i = 0; args[i]; i++) argv[k++] = args[i];
  argv[k] = NULL;
  fca_run_t r;
  fca_run((char *const *)argv, 30000, &r);
  cr_assert_eq(fca_run_exit_code(&r), want_rc, "fcaudit %s: exit %d\n%s", args[0],
               fca_run_exit_code(&r), r.err);
  char *out = fca_xstrdup(r.out);
  fca_run_free(&r);
  return out;
}

Test(fleet, tail_and_report_read_two_runs_merged_each_event_once) {
  redis_t rd;
  redis_start(&rd);
  start_origin();
  char *url = redis_url(&rd, NULL);
  fca_testproxy_t a, b;
  start_proxy(&a, (const char *[]){"--sink", url, "--instance", "qa-a", "--label", "rc1", NULL});
  start_proxy(&b, (const char *[]){"--sink", url, "--instance", "qa-b", "--label", "rc1", NULL});
  load_page(a.port, 0);
  load_page(b.port, 0);
  load_page(b.port, 1);
  stopped_t sa = stop_proxy(&a), sb = stop_proxy(&b);
  char run_a[64], run_b[64];
  size_t na = log_lines_of(sa.log, run_a, sizeof run_a);
  size_t nb = log_lines_of(sb.log, run_b, sizeof run_b);
  /* A repeat, as a sink sends after a reconnect: same run, same seq. */
  stream_t s;
  stream_read(&rd, STREAM, &s);
  redisContext *c = redis_conn(&rd);
  char *ev = json_dumps(s.e[0].ev, JSON_COMPACT);
  redisReply *rep = redisCommand(c, "XADD %s * run %s instance %s seq %llu label rc1 event %s",
                                 STREAM, s.e[0].run, s.e[0].instance, s.e[0].seq, ev);
  cr_assert(rep && rep->type == REDIS_REPLY_STRING);
  freeReplyObject(rep);
  redisFree(c);
  free(ev);

  char *out = fcaudit(0, (const char *[]){"tail", "--redis", url, "--no-follow", "-n", "1000",
                                          "--color", "never", NULL});
  size_t lines = 0, la = 0, lb = 0;
  for (const char *p = out; *p; p++)
    if (*p == '\n') lines++;
  for (const char *p = out; (p = strstr(p, "[qa-a] ")) != NULL; p++) la++;
  for (const char *p = out; (p = strstr(p, "[qa-b] ")) != NULL; p++) lb++;
  cr_assert_eq(lines, na + nb, "each event once (%zu + %zu):\n%s", na, nb, out);
  cr_assert_eq(la, na);
  cr_assert_eq(lb, nb);
  cr_assert_not_null(strstr(out, "PAGE"), "%s", out);
  free(out);
  out = fcaudit(0, (const char *[]){"tail", "--redis", url, "--no-follow", "-n", "1000",
                                    "--instance", "qa-b", "--json", NULL});
  size_t jl = 0;
  for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
    json_t *o = json_loads(line, 0, NULL);
    cr_assert_not_null(o, "--json line: %s", line);
    cr_assert_str_eq(json_string_value(json_object_get(o, "instance")), "qa-b");
    cr_assert_str_eq(json_string_value(json_object_get(o, "label")), "rc1");
    json_decref(o);
    jl++;
  }
  cr_assert_eq(jl, nb);
  free(out);

  /* One report over both runs: shop0 seen by both instances is one page loaded twice. */
  char *dir = fca_tmpdir_new();
  char *json = fca_path(dir, "fleet.json");
  out = fcaudit(1, (const char *[]){"report", "--redis", url, "--release", "rc1", "--report-json",
                                    json, NULL});
  free(out);
  char *text = fca_read_file(json, NULL);
  json_t *rep_j = json_loads(text, 0, NULL);
  cr_assert_not_null(rep_j);
  const char *runs = json_string_value(json_object_get(rep_j, "run"));
  cr_assert(runs && strstr(runs, run_a) && strstr(runs, run_b), "run: %s", runs);
  json_t *pages = json_object_get(rep_j, "pages");
  cr_assert_eq(json_array_size(pages), 2, "%s", text);
  bool found = false;
  for (size_t i = 0; i < json_array_size(pages); i++) {
    json_t *pg = json_array_get(pages, i);
    if (!strstr(json_string_value(json_object_get(pg, "url")), "/shop0.html")) continue;
    found = true;
    cr_assert_eq(json_integer_value(json_object_get(pg, "loads")), 2, "%s", text);
  }
  cr_assert(found, "%s", text);
  json_decref(rep_j);
  free(text);
  /* --run picks one. */
  out = fcaudit(
      1, (const char *[]){"report", "--redis", url, "--run", run_a, "--report-json", json, NULL});
  free(out);
  text = fca_read_file(json, NULL);
  rep_j = json_loads(text, 0, NULL);
  cr_assert_str_eq(json_string_value(json_object_get(rep_j, "run")), run_a);
  json_decref(rep_j);
  free(text);
  /* Nothing matches: an error, not an empty pass. */
  out = fcaudit(3, (const char *[]){"report", "--redis", url, "--release", "nope", NULL});
  free(out);
  stream_free(&s);
  free(json);
  free(url);
}

/* GET path on 127.0.0.1:port; the body (malloc'd), asserting 200. */
static char *http_get(int port, const char *path) {
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
  fca_run_t r;
  fca_curl(&r, CURL_MS, "--noproxy", "*", "-f", url, NULL);
  cr_assert_eq(fca_run_exit_code(&r), 0, "GET %s: %s", path, r.err);
  char *body = fca_xstrdup(r.out);
  fca_run_free(&r);
  return body;
}

static json_t *get_json(int port, const char *path) {
  char *body = http_get(port, path);
  json_t *j = json_loads(body, 0, NULL);
  cr_assert_not_null(j, "%s is not JSON: %s", path, body);
  free(body);
  return j;
}

static json_t *find_by(json_t *arr, const char *key, const char *value) {
  for (size_t i = 0; i < json_array_size(arr); i++) {
    json_t *o = json_array_get(arr, i);
    const char *v = json_string_value(json_object_get(o, key));
    if (v && strcmp(v, value) == 0) return o;
  }
  return NULL;
}

Test(fleet, dashboard_shows_runs_instances_a_live_feed_and_merged_scorecards) {
  redis_t rd;
  redis_start(&rd);
  start_origin();
  char *url = redis_url(&rd, NULL);
  fca_testproxy_t a, b;
  start_proxy(&a, (const char *[]){"--sink", url, "--instance", "dash-a", "--label", "r9", NULL});
  start_proxy(&b, (const char *[]){"--sink", url, "--instance", "dash-b", NULL});
  load_page(a.port, 0);
  load_page(b.port, 0);
  load_page(b.port, 1);
  stop_proxy(&a);
  stop_proxy(&b);

  int port = fca_free_port();
  char admin[32];
  snprintf(admin, sizeof admin, "127.0.0.1:%d", port);
  char *dir = fca_tmpdir_new();
  char *errp = fca_path(dir, "dashboard.err");
  char *const argv[] = {FCA_TEST_BINARY, "dashboard", "--redis", url, "--admin", admin, NULL};
  pid_t d = fca_spawn(argv, NULL, errp);
  cr_assert_gt(d, 0);
  cr_assert_eq(fca_wait_tcp_port(port, 10000), 0, "the dashboard did not listen");

  /* Runs and instances: both runs, each with its instance and label. */
  json_t *f = NULL;
  for (long deadline = now_ms() + 10000;; sleep_ms(100)) {
    json_decref(f);
    f = get_json(port, "/api/fleet.json");
    if (json_array_size(json_object_get(f, "runs")) == 2 || now_ms() > deadline) break;
  }
  json_t *runs = json_object_get(f, "runs"), *insts = json_object_get(f, "instances");
  cr_assert_eq(json_array_size(runs), 2, "%s", json_dumps(f, 0));
  json_t *ra = find_by(runs, "instance", "dash-a"), *rb = find_by(runs, "instance", "dash-b");
  cr_assert(ra && rb);
  cr_assert_str_eq(json_string_value(json_object_get(ra, "label")), "r9");
  cr_assert(json_is_true(json_object_get(ra, "ended")), "a's summary arrived");
  cr_assert_not_null(find_by(insts, "instance", "dash-a"));
  cr_assert_not_null(find_by(insts, "instance", "dash-b"));
  json_t *recent = json_object_get(f, "recent");
  cr_assert_not_null(find_by(recent, "instance", "dash-a"));
  cr_assert_not_null(find_by(recent, "instance", "dash-b"));
  json_decref(f);

  /* Scorecards merged by URL: shop0 seen by both instances is one page with two loads. */
  json_t *rep = get_json(port, "/api/report.json");
  json_t *pages = json_object_get(rep, "pages");
  cr_assert_eq(json_array_size(pages), 2);
  bool shop0 = false;
  for (size_t i = 0; i < json_array_size(pages); i++) {
    json_t *pg = json_array_get(pages, i);
    if (!strstr(json_string_value(json_object_get(pg, "url")), "/shop0.html")) continue;
    shop0 = true;
    cr_assert_eq(json_integer_value(json_object_get(pg, "loads")), 2);
  }
  cr_assert(shop0);
  json_decref(rep);

  /* Live: a third instance starts now; its events appear without a reload of the dashboard. */
  fca_testproxy_t c;
  start_proxy(&c, (const char *[]){"--sink", url, "--instance", "dash-c", NULL});
  load_page(c.port, 5);
  bool seen = false;
  for (long deadline = now_ms() + 10000; !seen && now_ms() < deadline; sleep_ms(100)) {
    f = get_json(port, "/api/fleet.json");
    json_t *e = find_by(json_object_get(f, "recent"), "instance", "dash-c");
    seen = e && strcmp(json_string_value(json_object_get(e, "type")), "page") == 0;
    json_decref(f);
  }
  cr_assert(seen, "dash-c's page never reached the fleet feed");
  /* The SSE live feed carries it too (the page's URL in the replayed stream). */
  char sse[128];
  snprintf(sse, sizeof sse, "http://127.0.0.1:%d/events", port);
  fca_run_t r;
  fca_curl(&r, 3000, "--noproxy", "*", "-N", sse, NULL); /* cut by --max-time: it streams */
  cr_assert_not_null(strstr(r.out, "/files/shop5.html"), "%s", r.out);
  fca_run_free(&r);
  stop_proxy(&c);
  int st;
  kill(d, SIGTERM);
  cr_assert_eq(fca_proc_wait(d, 10000, &st), 0, "the dashboard did not stop");
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  free(errp);
  free(url);
}

/* ---- a hung Redis: it accepts connections but never answers (SIGSTOP) ---- */

/* Waits (bounded) until the stream holds at least n entries. */
static void wait_stream_n(const redis_t *rd, size_t n, long ms) {
  stream_t s = {0};
  for (long deadline = now_ms() + ms;; sleep_ms(100)) {
    stream_read(rd, STREAM, &s);
    size_t got = s.n;
    stream_free(&s);
    if (got >= n) return;
    cr_assert_lt(now_ms(), deadline, "the stream holds %zu entries, want %zu", got, n);
  }
}

/* Waits (bounded) until the file holds needle; returns its text (malloc'd). */
static char *wait_file_has(const char *path, const char *needle, long ms) {
  for (long deadline = now_ms() + ms;; sleep_ms(100)) {
    char *t = fca_read_file(path, NULL);
    if (t && strstr(t, needle)) return t;
    cr_assert_lt(now_ms(), deadline, "%s never said '%s':\n%s", path, needle, t ? t : "");
    free(t);
  }
}

static char *metrics_of(int admin) {
  char murl[64];
  snprintf(murl, sizeof murl, "http://127.0.0.1:%d/metrics", admin);
  fca_run_t mr;
  fca_curl(&mr, CURL_MS, "--noproxy", "*", murl, NULL);
  cr_assert_eq(fca_run_exit_code(&mr), 0, "%s", mr.err);
  char *out = fca_xstrdup(mr.out);
  fca_run_free(&mr);
  return out;
}

Test(fleet, redis_hung_mid_run_is_detected_keeps_proxying_and_loses_nothing) {
  redis_t rd;
  redis_start(&rd);
  start_origin();
  char *url = redis_url(&rd, "?timeout=500");
  fca_testproxy_t px;
  int admin = fca_free_port();
  char admin_addr[32];
  snprintf(admin_addr, sizeof admin_addr, "127.0.0.1:%d", admin);
  start_proxy(&px,
              (const char *[]){"--sink", url, "--instance", "hung", "--admin", admin_addr, NULL});
  long before = 0, during = 0, after = 0;
  for (int i = 0; i < 3; i++) before += load_page(px.port, i);
  char run[64];
  wait_stream_n(&rd, log_lines_of(px.log_path, run, sizeof run), 10000); /* shipping works */
  cr_assert_eq(kill(rd.pid, SIGSTOP), 0);
  for (int i = 3; i < 8; i++) during += load_page(px.port, i);
  fprintf(stderr, "fleet: page latency (ms): Redis up %ld, Redis hung %ld\n", before / 3,
          during / 5);
  cr_assert_lt(during / 5, 5000, "the proxy stalled while Redis hung");
  /* Detected: said on stderr, and /metrics no longer counts the sink connected. */
  char *err = wait_file_has(px.stderr_path, "no answer within 500 ms", 10000);
  free(err);
  char *m = metrics_of(admin);
  cr_assert_not_null(strstr(m, "\nfcaudit_redis_sinks_connected 0\n"), "%s", m);
  free(m);
  cr_assert_eq(kill(rd.pid, SIGCONT), 0);
  for (int i = 8; i < 10; i++) after += load_page(px.port, i);
  fprintf(stderr, "fleet: page latency (ms): Redis answering again %ld\n", after / 2);
  size_t n = log_lines_of(px.log_path, run, sizeof run);
  wait_stream_n(&rd, n, 15000);
  stream_t s;
  stream_read(&rd, STREAM, &s);
  expect_all_seq(&s, run, n, "hung"); /* none lost; a repeat only with the same run+seq */
  stream_free(&s);
  m = metrics_of(admin);
  cr_assert_not_null(strstr(m, "\nfcaudit_redis_sinks_connected 1\n"), "%s", m);
  free(m);
  stopped_t sp = stop_proxy(&px);
  stream_read(&rd, STREAM, &s);
  n = log_lines_of(sp.log, run, sizeof run);
  expect_all_seq(&s, run, n, "hung"); /* the summary too */
  stream_free(&s);
  err = stderr_of(&sp);
  size_t said = 0;
  for (const char *p = err; (p = strstr(p, "still proxying")) != NULL; p++) said++;
  cr_assert_eq(said, 1, "the hang is reported once:\n%s", err);
  cr_assert_not_null(strstr(err, "connected again"), "%s", err);
  free(err);
  free(url);
}

Test(fleet, readers_say_a_hung_redis_stalled_and_carry_on_when_it_answers) {
  redis_t rd;
  redis_start(&rd);
  start_origin();
  char *url = redis_url(&rd, "?timeout=500");
  fca_testproxy_t px;
  start_proxy(&px, (const char *[]){"--sink", url, "--instance", "rd-a", NULL});
  load_page(px.port, 0);
  char run[64];
  wait_stream_n(&rd, log_lines_of(px.log_path, run, sizeof run), 10000);

  char *dir = fca_tmpdir_new();
  char *tout = fca_path(dir, "tail.out"), *terr = fca_path(dir, "tail.err");
  char *const tail[] = {FCA_TEST_BINARY, "tail", "--redis", url, "-n", "100", NULL};
  pid_t tp = fca_spawn(tail, tout, terr);
  cr_assert_gt(tp, 0);
  int port = fca_free_port();
  char admin[32];
  snprintf(admin, sizeof admin, "127.0.0.1:%d", port);
  char *derr = fca_path(dir, "dashboard.err");
  char *const dash[] = {FCA_TEST_BINARY, "dashboard", "--redis", url, "--admin", admin, NULL};
  pid_t dp = fca_spawn(dash, NULL, derr);
  cr_assert_gt(dp, 0);
  cr_assert_eq(fca_wait_tcp_port(port, 10000), 0, "the dashboard did not listen");
  free(wait_file_has(tout, "/files/shop0.html", 10000));

  cr_assert_eq(kill(rd.pid, SIGSTOP), 0);
  /* tail says the source stalled instead of waiting silently. */
  free(wait_file_has(terr, "stalled", 10000));
  cr_assert(fca_proc_alive(tp), "tail gave up on a stalled Redis");
  /* The dashboard says it on stderr and on its fleet view. */
  free(wait_file_has(derr, "stalled", 10000));
  json_t *f = get_json(port, "/api/fleet.json");
  const char *e = json_string_value(json_object_get(f, "error"));
  cr_assert(e && strstr(e, "stalled"), "fleet.json: %s", json_dumps(f, 0));
  json_decref(f);
  /* A one-shot reader ends with the same words, by itself. */
  const char *rargs[] = {FCA_TEST_BINARY, "report", "--redis", url, "--run", run, NULL};
  fca_run_t r;
  fca_run((char *const *)rargs, 30000, &r);
  cr_assert_eq(fca_run_exit_code(&r), 3, "report on a stalled Redis: exit %d\n%s",
               fca_run_exit_code(&r), r.err);
  cr_assert_not_null(strstr(r.err, "stalled"), "%s", r.err);
  cr_assert_null(strstr(r.err, "secret"));
  fca_run_free(&r);

  cr_assert_eq(kill(rd.pid, SIGCONT), 0);
  load_page(px.port, 1);
  /* Both carry on from where they stopped. */
  free(wait_file_has(tout, "/files/shop1.html", 15000));
  /* Both pages have the same events: shop1's all arrive, none twice, nothing of shop0 again. */
  char *t = NULL;
  size_t n0 = 0, n1 = 0;
  for (long deadline = now_ms() + 15000; now_ms() < deadline; sleep_ms(100)) {
    free(t);
    t = fca_read_file(tout, NULL);
    n0 = fca_count_str(t, strlen(t), "/files/shop0.html");
    n1 = fca_count_str(t, strlen(t), "/files/shop1.html");
    if (n1 >= n0) break;
  }
  sleep_ms(500);
  free(t);
  t = fca_read_file(tout, NULL);
  n0 = fca_count_str(t, strlen(t), "/files/shop0.html");
  n1 = fca_count_str(t, strlen(t), "/files/shop1.html");
  cr_assert_eq(n0, n1, "shop0 shown in %zu lines, shop1 in %zu:\n%s", n0, n1, t);
  free(t);
  t = wait_file_has(terr, "answers again", 15000);
  cr_assert_eq(fca_count_str(t, strlen(t), "stalled"), 1, "said once:\n%s", t);
  free(t);
  bool clear = false;
  for (long deadline = now_ms() + 15000; !clear && now_ms() < deadline; sleep_ms(100)) {
    f = get_json(port, "/api/fleet.json");
    clear = !json_object_get(f, "error") &&
            find_by(json_object_get(f, "recent"), "instance", "rd-a") != NULL;
    json_decref(f);
  }
  cr_assert(clear, "the dashboard still says the source stalled");
  free(wait_file_has(derr, "answers again", 5000));
  stop_proxy(&px);
  int st;
  kill(dp, SIGTERM);
  cr_assert_eq(fca_proc_wait(dp, 10000, &st), 0, "the dashboard did not stop");
  fca_proc_stop(tp, 5000);
  free(tout), free(terr), free(derr), free(url), free(dir);
}
