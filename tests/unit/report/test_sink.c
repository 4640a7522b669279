/* Unit tests for sink: one whole JSON line per event (validated against the schema), redaction,
 * subscribers, stats, 8 concurrent writers, rotation by rename + reopen, and the write-error
 * path (/dev/full gives ENOSPC): reported once, queued, written after a reopen, never lost. */
#include "fcaudit/sink.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fcaudit/eventjson.h"
#include "jsonschema.h"

static char dir[256];

static void mkdir_tmp(void) {
  const char *t = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/fca-sink-XXXXXX", t && *t ? t : "/tmp");
  cr_assert_not_null(mkdtemp(dir));
}

static void rm_tmp(void) {
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  cr_assert_eq(system(cmd), 0);
}

TestSuite(sink, .init = mkdir_tmp, .fini = rm_tmp);

static char *path_in(const char *name) {
  static char p[2][300];
  static int k;
  k ^= 1;
  snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
  return p[k];
}

static long fca_count_lines_in(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  long n = 0;
  int c;
  while ((c = fgetc(f)) != EOF) n += c == '\n';
  fclose(f);
  return n;
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "open %s", path);
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  size_t r;
  while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += r;
    if (cap - n < 2) buf = realloc(buf, cap *= 2);
  }
  fclose(f);
  buf[n] = '\0';
  if (len) *len = n;
  return buf;
}

/* Parses every line of the log; each must be a whole JSON object valid against the schema. */
static json_t *read_log(const char *path) {
  static json_t *schema;
  if (!schema) {
    json_error_t e;
    schema = json_load_file(FCA_TEST_SRCDIR "/docs/events.schema.json", 0, &e);
    cr_assert_not_null(schema, "%s", e.text);
  }
  size_t n;
  char *text = slurp(path, &n);
  cr_assert(n == 0 || text[n - 1] == '\n', "the log ends with a whole line");
  json_t *arr = json_array();
  char *save = NULL;
  for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    json_error_t e;
    json_t *o = json_loads(l, 0, &e);
    cr_assert_not_null(o, "not JSON (%s): %.200s", e.text, l);
    char err[256];
    cr_assert_eq(fca_jsonschema_validate(schema, o, err, sizeof err), 0, "%s: %.200s", err, l);
    json_array_append_new(arr, o);
  }
  free(text);
  return arr;
}

typedef struct {
  int saved;
  char path[300];
} capture_t;

static void capture_start(capture_t *c) {
  snprintf(c->path, sizeof c->path, "%s/stderr.txt", dir);
  int fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  cr_assert_geq(fd, 0);
  fflush(stderr);
  c->saved = dup(2);
  dup2(fd, 2);
  close(fd);
}

static char *capture_end(capture_t *c) {
  fflush(stderr);
  dup2(c->saved, 2);
  close(c->saved);
  char *s = slurp(c->path, NULL);
  unlink(c->path);
  return s;
}

static int count_of(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
  return n;
}

static fca_event_t violation(uint64_t id) {
  fca_event_t ev = {
      .type = FCA_EV_VIOLATION,
      .ts_ms = 1795514400123LL,
      .rule = "FC-COOP-1",
      .level = FCA_LEVEL_ERROR,
      .item = 1,
      .message = "COOP same-origin",
      .fix = "send Cross-Origin-Opener-Policy: same-origin-allow-popups",
      .doc = "https://docs.stripe.test/checklist",
      .has_page = true,
      .page = {id, "https://shop.test/checkout?session=abc#step2", true, "script-tag", "high"},
      .has_evidence = true,
      .evidence = {"header", "Cross-Origin-Opener-Policy", "same-origin", 11, -1, NULL},
      .client = "127.0.0.1:50312",
      .count = 1,
  };
  return ev;
}

static uint64_t page_id(json_t *o) {
  return (uint64_t)json_integer_value(json_object_get(json_object_get(o, "page"), "id"));
}

Test(sink, one_line_per_event_all_types) {
  char *log = path_in("events.ndjson");
  fca_sink_t *s = fca_sink_new(&(fca_sink_opts_t){.log_path = log, .run_id = "run-A"});
  cr_assert_not_null(s);
  cr_assert_str_eq(fca_sink_run_id(s), "run-A");
  fca_event_t v = violation(1);
  fca_event_t page = {.type = FCA_EV_PAGE, .has_page = true, .page = v.page};
  fca_event_t pass = {.type = FCA_EV_PASS, .has_page = true, .page = v.page};
  fca_event_t note = {.type = FCA_EV_NOTE, .note = "audit-incomplete", .message = "UTF-16 body"};
  fca_summary_t *sum = fca_summary_new();
  sum->pages_tagged = 1;
  fca_event_t summary = {.type = FCA_EV_SUMMARY, .summary = sum};
  fca_sink_emit(s, &page);
  fca_sink_emit(s, &v);
  fca_sink_emit(s, &pass);
  fca_sink_emit(s, &note);
  fca_sink_emit(s, &summary);
  /* On disk at once: read before close. */
  json_t *lines = read_log(log);
  cr_assert_eq(json_array_size(lines), 5);
  const char *types[] = {"page", "violation", "pass", "note", "summary"};
  for (size_t i = 0; i < 5; i++) {
    json_t *o = json_array_get(lines, i);
    cr_assert_str_eq(json_string_value(json_object_get(o, "type")), types[i]);
    cr_assert_str_eq(json_string_value(json_object_get(o, "run")), "run-A");
  }
  /* ts_ms == 0 means now. */
  const char *ts = json_string_value(json_object_get(json_array_get(lines, 0), "ts"));
  cr_assert(strncmp(ts, "1970", 4) != 0, "%s", ts);
  cr_assert_str_eq(json_string_value(json_object_get(json_array_get(lines, 1), "ts")),
                   "2026-11-24T10:00:00.123Z");
  json_decref(lines);
  fca_summary_free(sum);

  fca_sink_stats_t st;
  fca_sink_stats(s, &st);
  cr_assert_eq(st.events, 5);
  cr_assert_eq(st.lines_written, 5);
  for (int t = 0; t < 5; t++) cr_assert_eq(st.by_type[t], 1);
  cr_assert_eq(st.by_level[FCA_LEVEL_ERROR], 1);
  cr_assert_eq(st.write_errors, 0);
  fca_sink_close(s);
  struct stat sb;
  cr_assert_eq(stat(log, &sb), 0);
  cr_assert_eq(sb.st_mode & 0777, 0644 & ~umask(022));
}

Test(sink, appends_to_existing_log_and_new_run_ids) {
  char *log = path_in("append.ndjson");
  fca_sink_t *a = fca_sink_new(&(fca_sink_opts_t){.log_path = log});
  fca_event_t v = violation(1);
  fca_sink_emit(a, &v);
  char run_a[FCA_RUN_ID_SIZE];
  snprintf(run_a, sizeof run_a, "%s", fca_sink_run_id(a));
  fca_sink_close(a);
  fca_sink_t *b = fca_sink_new(&(fca_sink_opts_t){.log_path = log});
  fca_sink_emit(b, &v);
  cr_assert_str_neq(fca_sink_run_id(b), run_a, "each start gets its own run id");
  fca_sink_close(b);
  json_t *lines = read_log(log);
  cr_assert_eq(json_array_size(lines), 2);
  cr_assert_str_eq(json_string_value(json_object_get(json_array_get(lines, 0), "run")), run_a);
  json_decref(lines);
}

typedef struct {
  int calls;
  char url[256];
  char value[64];
} seen_t;

static void subscriber(void *ud, const fca_event_t *ev) {
  seen_t *s = ud;
  s->calls++;
  snprintf(s->url, sizeof s->url, "%s", ev->has_page ? ev->page.url : "");
  if (ev->has_evidence && ev->evidence.value)
    snprintf(s->value, sizeof s->value, "%.*s", (int)ev->evidence.value_len, ev->evidence.value);
}

Test(sink, redact_query_everywhere) {
  char *log = path_in("redact.ndjson");
  FILE *con = tmpfile();
  fca_sink_t *s = fca_sink_new(&(fca_sink_opts_t){
      .log_path = log, .console = con, .color = FCA_COLOR_NEVER, .redact_query = true});
  seen_t seen = {0};
  cr_assert_eq(fca_sink_subscribe(s, subscriber, &seen), 0);
  fca_event_t v = violation(1);
  v.evidence.url = "https://shop.test/top?token=abc";
  fca_sink_emit(s, &v);
  fca_sink_close(s);
  char *text = slurp(log, NULL);
  cr_assert_null(strstr(text, "session=abc"), "%s", text);
  cr_assert_null(strstr(text, "token=abc"), "%s", text);
  cr_assert_null(strstr(text, "#step2"), "%s", text);
  free(text);
  json_t *lines = read_log(log);
  json_t *o = json_array_get(lines, 0);
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(o, "page"), "url")),
                   "https://shop.test/checkout");
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(o, "evidence"), "url")),
                   "https://shop.test/top");
  json_decref(lines);
  cr_assert_str_eq(seen.url, "https://shop.test/checkout");
  rewind(con);
  char buf[1024] = "";
  cr_assert_not_null(fgets(buf, sizeof buf, con));
  cr_assert_null(strstr(buf, "session"), "%s", buf);
  fclose(con);
  /* The caller's event is not modified. */
  cr_assert_str_eq(v.page.url, "https://shop.test/checkout?session=abc#step2");
}

/* The summary hook completes the sink's own copy of the summary, and the log says it. */
static void set_verdict(void *ud, fca_summary_t *sum) {
  *(int *)ud += 1;
  cr_assert_null(strstr(sum->pages[0].url, "session"), "the hook sees the redacted copy");
  fca_summary_set_verdict(sum, true, "error", 1, "fail at --fail-on error");
}

Test(sink, summary_page_urls_redacted_and_completed_by_the_hook) {
  char *log = path_in("summary.ndjson");
  fca_sink_t *s = fca_sink_new(&(fca_sink_opts_t){.log_path = log, .redact_query = true});
  int calls = 0;
  fca_sink_set_summary_fn(s, set_verdict, &calls);
  fca_summary_t *sum = fca_summary_new();
  fca_scorecard_t *c = fca_summary_add_page(sum);
  free(c->url);
  c->url = strdup("https://user:pw@shop.test/checkout?session=abc#step2");
  fca_event_t ev = {.type = FCA_EV_SUMMARY, .summary = sum};
  fca_sink_emit(s, &ev);
  fca_sink_close(s);
  cr_assert_eq(calls, 1);
  json_t *lines = read_log(log);
  json_t *o = json_array_get(lines, 0);
  json_t *pg = json_array_get(json_object_get(o, "pages"), 0);
  cr_assert_str_eq(json_string_value(json_object_get(pg, "url")),
                   "https://user:***@shop.test/checkout");
  json_t *v = json_object_get(o, "verdict");
  cr_assert_str_eq(json_string_value(json_object_get(v, "sentence")), "fail at --fail-on error");
  json_decref(lines);
  /* The caller's summary is not modified. */
  cr_assert_str_eq(sum->pages[0].url, "https://user:pw@shop.test/checkout?session=abc#step2");
  cr_assert_not(sum->verdict.present);
  fca_summary_free(sum);
}

Test(sink, redact_query_reaches_urls_inside_evidence_values) {
  char *log = path_in("redact-value.ndjson");
  FILE *con = tmpfile();
  fca_sink_t *s = fca_sink_new(&(fca_sink_opts_t){
      .log_path = log, .console = con, .color = FCA_COLOR_NEVER, .redact_query = true});
  seen_t seen = {0};
  cr_assert_eq(fca_sink_subscribe(s, subscriber, &seen), 0);
  fca_event_t v = violation(1);
  const char *val = "script-src https://js.stripe.test/v3?client_secret=pi_SECRET 'self'";
  v.evidence.name = "Content-Security-Policy";
  v.evidence.value = val;
  v.evidence.value_len = strlen(val);
  fca_sink_emit(s, &v);
  fca_sink_close(s);
  char *text = slurp(log, NULL);
  cr_assert_null(strstr(text, "pi_SECRET"), "%s", text);
  cr_assert_not_null(strstr(text, "script-src https://js.stripe.test/v3 'self'"), "%s", text);
  free(text);
  cr_assert_null(strstr(seen.value, "pi_SECRET"), "%s", seen.value);
  rewind(con);
  char buf[2048] = "";
  cr_assert_not_null(fgets(buf, sizeof buf, con));
  cr_assert_null(strstr(buf, "pi_SECRET"), "%s", buf);
  fclose(con);
}

Test(sink, url_passwords_never_written) {
  char *log = path_in("pw.ndjson");
  fca_sink_t *s = fca_sink_new(&(fca_sink_opts_t){.log_path = log});
  fca_event_t v = violation(1);
  v.page.url = "https://user:hunter2@shop.test/checkout?session=abc";
  v.evidence.url = "https://u:pw2secret@js.test/x.js";
  const char *val = "see http://a:pw3secret@b.test/";
  v.evidence.value = val;
  v.evidence.value_len = strlen(val);
  fca_sink_emit(s, &v);
  fca_sink_close(s);
  char *text = slurp(log, NULL);
  cr_assert_null(strstr(text, "hunter2"), "%s", text);
  cr_assert_null(strstr(text, "pw2secret"), "%s", text);
  cr_assert_null(strstr(text, "pw3secret"), "%s", text);
  cr_assert_not_null(strstr(text, "https://user:***@shop.test/checkout?session=abc"), "%s", text);
  free(text);
}

/* Every line of the file is a whole JSON object (the torn prefix aside). */
static void assert_whole_lines(const char *path, size_t skip) {
  size_t n;
  char *text = slurp(path, &n);
  cr_assert(n == 0 || text[n - 1] == '\n', "the file ends inside a line:\n%s", text);
  size_t lineno = 0;
  for (char *p = text, *nl; p < text + n; p = nl + 1, lineno++) {
    nl = memchr(p, '\n', (size_t)(text + n - p));
    *nl = '\0';
    if (lineno < skip) continue;
    json_error_t je;
    json_t *o = json_loads(p, 0, &je);
    cr_assert_not_null(o, "line %zu is not JSON: %s", lineno + 1, p);
    json_decref(o);
  }
  free(text);
}

Test(sink, failed_write_leaves_no_partial_line) {
  char *log = path_in("fsize.ndjson");
  fca_sink_t *s = fca_sink_new(&(fca_sink_opts_t){.log_path = log});
  fca_event_t v = violation(1);
  fca_sink_emit(s, &v);
  struct stat st;
  cr_assert_eq(stat(log, &st), 0);
  /* The file may grow by 40 more bytes: the next line is cut there (a disk filling up). */
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit old, lim;
  getrlimit(RLIMIT_FSIZE, &old);
  lim = (struct rlimit){(rlim_t)st.st_size + 40, old.rlim_max};
  cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
  fca_sink_emit(s, &v);
  setrlimit(RLIMIT_FSIZE, &old);
  assert_whole_lines(log, 0);
  fca_sink_stats_t ss;
  fca_sink_stats(s, &ss);
  cr_assert_geq(ss.write_errors, 1);
  /* Space again: the queued line is written whole. */
  cr_assert_eq(fca_sink_flush(s), 0);
  fca_sink_close(s);
  assert_whole_lines(log, 0);
  cr_assert_eq(fca_count_lines_in(log), 2);
}

Test(sink, a_torn_last_line_is_ended_before_the_first_event) {
  char *log = path_in("torn.ndjson");
  FILE *f = fopen(log, "w");
  fputs("{\"type\":\"viol", f);
  fclose(f);
  fca_sink_t *s = fca_sink_new(&(fca_sink_opts_t){.log_path = log});
  fca_event_t v = violation(1);
  fca_sink_emit(s, &v);
  fca_sink_close(s);
  assert_whole_lines(log, 1);
  cr_assert_eq(fca_count_lines_in(log), 2);
}

Test(sink, query_kept_without_redaction) {
  char *log = path_in("keep.ndjson");
  fca_sink_t *s = fca_sink_new(&(fca_sink_opts_t){.log_path = log});
  fca_event_t v = violation(1);
  fca_sink_emit(s, &v);
  fca_sink_close(s);
  char *text = slurp(log, NULL);
  cr_assert_not_null(strstr(text, "https://shop.test/checkout?session=abc#step2"));
  free(text);
}

Test(sink, secret_values_never_written) {
  char *log = path_in("secret.ndjson");
  FILE *con = tmpfile();
  fca_sink_t *s =
      fca_sink_new(&(fca_sink_opts_t){.log_path = log, .console = con, .color = FCA_COLOR_ALWAYS});
  seen_t seen = {0};
  fca_sink_subscribe(s, subscriber, &seen);
  const char *names[] = {"Cookie", "SET-COOKIE", "authorization", "Proxy-Authorization"};
  for (int i = 0; i < 4; i++) {
    fca_event_t v = violation((uint64_t)i);
    v.evidence.name = names[i];
    v.evidence.value = "sid=s3cr3t-value";
    v.evidence.value_len = 16;
    fca_sink_emit(s, &v);
    cr_assert_str_eq(seen.value, "[redacted]");
  }
  fca_sink_close(s);
  char *text = slurp(log, NULL);
  cr_assert_null(strstr(text, "s3cr3t"), "%s", text);
  cr_assert_eq(count_of(text, "\"value\":\"[redacted]\""), 4);
  free(text);
  rewind(con);
  char buf[8192];
  size_t n = fread(buf, 1, sizeof buf - 1, con);
  buf[n] = '\0';
  cr_assert_null(strstr(buf, "s3cr3t"), "%s", buf);
  cr_assert_eq(count_of(buf, "\n"), 4);
  fclose(con);
}

Test(sink, subscribers_and_quiet_mode) {
  fca_sink_t *s = fca_sink_new(&(fca_sink_opts_t){0}); /* no file, no console */
  cr_assert_not_null(s);
  seen_t seen[FCA_SINK_SUBSCRIBERS_MAX] = {0};
  for (int i = 0; i < FCA_SINK_SUBSCRIBERS_MAX; i++) {
    cr_assert_eq(fca_sink_subscribe(s, subscriber, &seen[i]), 0);
  }
  seen_t extra = {0};
  cr_assert_eq(fca_sink_subscribe(s, subscriber, &extra), -1, "table full");
  fca_event_t v = violation(1);
  fca_sink_event_fn(s, &v);
  fca_sink_event_fn(s, &v);
  for (int i = 0; i < FCA_SINK_SUBSCRIBERS_MAX; i++) cr_assert_eq(seen[i].calls, 2);
  cr_assert_eq(extra.calls, 0);
  cr_assert_eq(fca_sink_flush(s), 0);
  cr_assert_eq(fca_sink_reopen(s), 0);
  fca_sink_stats_t st;
  fca_sink_stats(s, &st);
  cr_assert_eq(st.events, 2);
  cr_assert_eq(st.lines_written, 0);
  fca_sink_close(s);
}

Test(sink, stats_by_rule_and_level) {
  fca_sink_t *s = fca_sink_new(&(fca_sink_opts_t){0});
  fca_event_t v = violation(1);
  fca_sink_emit(s, &v);
  fca_sink_emit(s, &v);
  v.rule = "FC-REF-4";
  v.level = FCA_LEVEL_INFO;
  fca_sink_emit(s, &v);
  v.level = FCA_LEVEL_WARNING; /* same rule at another level: its own counter */
  fca_sink_emit(s, &v);
  fca_event_t page = {.type = FCA_EV_PAGE, .has_page = true, .page = v.page};
  fca_sink_emit(s, &page);
  fca_sink_stats_t st;
  fca_sink_stats(s, &st);
  cr_assert_eq(st.by_type[FCA_EV_VIOLATION], 4);
  cr_assert_eq(st.by_type[FCA_EV_PAGE], 1);
  cr_assert_eq(st.by_level[FCA_LEVEL_ERROR], 2);
  cr_assert_eq(st.by_level[FCA_LEVEL_INFO], 1);
  cr_assert_eq(st.by_level[FCA_LEVEL_WARNING], 1);
  cr_assert_eq(st.nrules, 3);
  cr_assert_str_eq(st.rules[0].rule, "FC-COOP-1");
  cr_assert_eq(st.rules[0].count, 2);
  cr_assert_str_eq(st.rules[1].rule, "FC-REF-4");
  cr_assert_eq(st.rules[1].level, FCA_LEVEL_INFO);
  cr_assert_eq(st.rules[2].level, FCA_LEVEL_WARNING);
  /* Past the table, further rules share the "other" slot. */
  char id[32];
  for (int i = 0; i < FCA_SINK_RULES_MAX + 10; i++) {
    snprintf(id, sizeof id, "FC-X-%d", i);
    v.rule = id;
    fca_sink_emit(s, &v);
  }
  fca_sink_stats(s, &st);
  cr_assert_eq(st.nrules, FCA_SINK_RULES_MAX);
  cr_assert_str_eq(st.rules[FCA_SINK_RULES_MAX - 1].rule, "other");
  uint64_t total = 0;
  for (size_t i = 0; i < st.nrules; i++) total += st.rules[i].count;
  cr_assert_eq(total, st.by_type[FCA_EV_VIOLATION]);
  fca_sink_close(s);
}

#define THREADS 8
#define PER_THREAD 2000

typedef struct {
  fca_sink_t *sink;
  int t;
} worker_t;

static void *worker(void *arg) {
  worker_t *w = arg;
  for (int i = 0; i < PER_THREAD; i++) {
    fca_event_t v = violation((uint64_t)w->t * 100000 + (uint64_t)i);
    fca_sink_emit(w->sink, &v);
  }
  return NULL;
}

Test(sink, concurrent_writers_no_interleaving, .timeout = 240) {
  char *log = path_in("threads.ndjson");
  fca_sink_t *s = fca_sink_new(&(fca_sink_opts_t){.log_path = log});
  pthread_t th[THREADS];
  worker_t w[THREADS];
  for (int t = 0; t < THREADS; t++) {
    w[t] = (worker_t){s, t};
    cr_assert_eq(pthread_create(&th[t], NULL, worker, &w[t]), 0);
  }
  for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
  fca_sink_close(s);
  json_t *lines = read_log(log); /* every line whole and valid */
  cr_assert_eq(json_array_size(lines), THREADS * PER_THREAD);
  int next[THREADS] = {0};
  size_t i;
  json_t *o;
  json_array_foreach(lines, i, o) {
    uint64_t id = page_id(o);
    int t = (int)(id / 100000), k = (int)(id % 100000);
    cr_assert(t >= 0 && t < THREADS);
    cr_assert_eq(k, next[t], "thread %d: line %d where %d was expected", t, k, next[t]);
    next[t]++;
  }
  for (int t = 0; t < THREADS; t++) cr_assert_eq(next[t], PER_THREAD);
  json_decref(lines);
}

Test(sink, rotation_by_rename_and_reopen) {
  char log[300], old[300];
  snprintf(log, sizeof log, "%s", path_in("rot.ndjson"));
  snprintf(old, sizeof old, "%s", path_in("rot.ndjson.1"));
  fca_sink_t *s = fca_sink_new(&(fca_sink_opts_t){.log_path = log});
  for (uint64_t i = 0; i < 10; i++) {
    fca_event_t v = violation(i);
    fca_sink_emit(s, &v);
  }
  cr_assert_eq(rename(log, old), 0);
  for (uint64_t i = 10; i < 15; i++) { /* before SIGHUP: still the renamed file */
    fca_event_t v = violation(i);
    fca_sink_emit(s, &v);
  }
  cr_assert_eq(fca_sink_reopen(s), 0);
  for (uint64_t i = 15; i < 22; i++) {
    fca_event_t v = violation(i);
    fca_sink_emit(s, &v);
  }
  fca_sink_close(s);
  json_t *a = read_log(old), *b = read_log(log);
  cr_assert_eq(json_array_size(a), 15);
  cr_assert_eq(json_array_size(b), 7);
  for (size_t i = 0; i < 15; i++) cr_assert_eq(page_id(json_array_get(a, i)), i);
  for (size_t i = 0; i < 7; i++) cr_assert_eq(page_id(json_array_get(b, i)), 15 + i);
  json_decref(a);
  json_decref(b);
}

typedef struct {
  fca_sink_t *sink;
  volatile int stop;
} reopener_t;

static void *reopen_loop(void *arg) {
  reopener_t *r = arg;
  while (!r->stop) {
    fca_sink_reopen(r->sink);
    usleep(200);
  }
  return NULL;
}

Test(sink, reopen_races_emits, .timeout = 240) {
  char *log = path_in("race.ndjson");
  fca_sink_t *s = fca_sink_new(&(fca_sink_opts_t){.log_path = log});
  reopener_t r = {s, 0};
  pthread_t rt, th[4];
  worker_t w[4];
  pthread_create(&rt, NULL, reopen_loop, &r);
  for (int t = 0; t < 4; t++) {
    w[t] = (worker_t){s, t};
    pthread_create(&th[t], NULL, worker, &w[t]);
  }
  for (int t = 0; t < 4; t++) pthread_join(th[t], NULL);
  r.stop = 1;
  pthread_join(rt, NULL);
  fca_sink_close(s);
  json_t *lines = read_log(log);
  cr_assert_eq(json_array_size(lines), 4 * PER_THREAD);
  json_decref(lines);
}

Test(sink, write_error_queued_then_written_after_reopen) {
  capture_t cap;
  capture_start(&cap);
  fca_sink_t *s = fca_sink_new(&(fca_sink_opts_t){.log_path = "/dev/full"});
  cr_assert_not_null(s);
  for (uint64_t i = 0; i < 3; i++) {
    fca_event_t v = violation(i);
    fca_sink_emit(s, &v);
  }
  fca_sink_stats_t st;
  fca_sink_stats(s, &st);
  cr_assert_eq(st.queued_lines, 3);
  cr_assert_geq(st.write_errors, 3);
  cr_assert_eq(st.error_episodes, 1);
  cr_assert_eq(st.lines_written, 0);
  cr_assert_eq(fca_sink_flush(s), -1, "still failing");
  char *good = path_in("recovered.ndjson");
  cr_assert_eq(fca_sink_set_path(s, good), 0);
  fca_event_t v = violation(3);
  fca_sink_emit(s, &v);
  fca_sink_stats(s, &st);
  cr_assert_eq(st.queued_lines, 0);
  cr_assert_eq(st.queued_bytes, 0);
  cr_assert_eq(st.lines_written, 4);
  fca_sink_close(s);
  char *err = capture_end(&cap);
  cr_assert_eq(count_of(err, "No space left on device"), 1, "reported once: %s", err);
  cr_assert_eq(count_of(err, "writable again"), 1, "%s", err);
  free(err);
  json_t *lines = read_log(good);
  cr_assert_eq(json_array_size(lines), 4, "none lost");
  for (size_t i = 0; i < 4; i++) cr_assert_eq(page_id(json_array_get(lines, i)), i, "in order");
  json_decref(lines);
}

Test(sink, failing_fd_then_reopen_same_path) {
  capture_t cap;
  capture_start(&cap);
  char *log = path_in("hook.ndjson");
  fca_sink_t *s = fca_sink_new(&(fca_sink_opts_t){.log_path = log});
  for (uint64_t i = 0; i < 2; i++) {
    fca_event_t v = violation(i);
    fca_sink_emit(s, &v);
  }
  int full = open("/dev/full", O_WRONLY);
  cr_assert_geq(full, 0);
  fca_sink_test_set_fd(s, full);
  for (uint64_t i = 2; i < 5; i++) {
    fca_event_t v = violation(i);
    fca_sink_emit(s, &v);
  }
  fca_sink_stats_t st;
  fca_sink_stats(s, &st);
  cr_assert_eq(st.queued_lines, 3);
  /* A second episode after recovery is reported again. */
  cr_assert_eq(fca_sink_reopen(s), 0);
  fca_sink_test_set_fd(s, open("/dev/full", O_WRONLY));
  fca_event_t v = violation(5);
  fca_sink_emit(s, &v);
  cr_assert_eq(fca_sink_reopen(s), 0);
  fca_sink_stats(s, &st);
  cr_assert_eq(st.error_episodes, 2);
  cr_assert_eq(st.queued_lines, 0);
  fca_sink_close(s);
  char *err = capture_end(&cap);
  cr_assert_eq(count_of(err, "No space left on device"), 2, "%s", err);
  free(err);
  json_t *lines = read_log(log);
  cr_assert_eq(json_array_size(lines), 6);
  for (size_t i = 0; i < 6; i++) cr_assert_eq(page_id(json_array_get(lines, i)), i);
  json_decref(lines);
}

Test(sink, full_queue_spills_to_stderr_and_close_dumps_rest) {
  capture_t cap;
  capture_start(&cap);
  fca_sink_t *s = fca_sink_new(&(fca_sink_opts_t){.log_path = "/dev/full"});
  size_t big = 256 * 1024;
  char *value = malloc(big);
  memset(value, 'v', big);
  int n = (int)(FCA_SINK_RETRY_MAX / big) + 4;
  for (int i = 0; i < n; i++) {
    fca_event_t v = violation((uint64_t)i);
    v.evidence.value = value;
    v.evidence.value_len = big;
    fca_sink_emit(s, &v);
  }
  fca_sink_stats_t st;
  fca_sink_stats(s, &st);
  cr_assert_geq(st.overflowed, 4);
  cr_assert_eq(st.queued_lines + st.overflowed, (uint64_t)n);
  cr_assert_leq(st.queued_bytes, FCA_SINK_RETRY_MAX);
  fca_sink_close(s); /* still unwritable: the queued lines go to stderr */
  free(value);
  char *err = capture_end(&cap);
  cr_assert_eq(count_of(err, "retry queue full"), (int)st.overflowed);
  cr_assert_not_null(strstr(err, "could not be written; they follow on stderr"));
  cr_assert_eq(count_of(err, "\"type\":\"violation\""), n, "every event is somewhere");
  free(err);
}

Test(sink, unopenable_log) {
  capture_t cap;
  capture_start(&cap);
  fca_sink_t *s = fca_sink_new(&(fca_sink_opts_t){.log_path = path_in("no/such/dir/x")});
  cr_assert_null(s);
  char *log = path_in("ok.ndjson");
  s = fca_sink_new(&(fca_sink_opts_t){.log_path = log});
  cr_assert_eq(fca_sink_set_path(s, path_in("no/such/dir/y")), -1);
  fca_event_t v = violation(1);
  fca_sink_emit(s, &v); /* still the old file */
  fca_sink_close(s);
  char *err = capture_end(&cap);
  cr_assert_eq(count_of(err, "cannot open event log"), 2, "%s", err);
  free(err);
  json_t *lines = read_log(log);
  cr_assert_eq(json_array_size(lines), 1);
  json_decref(lines);
}
