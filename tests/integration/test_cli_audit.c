/* Integration tests of `fcaudit audit FILE.har...` and `--har FILE`: a Chrome DevTools-format
 * fixture (pages, _initiator, _resourceType, HTTP/2 pseudo-headers, base64, no body, 304);
 * exit statuses, reports and baseline as `fcaudit run`; a truncated or malformed HAR named by
 * entry with the findings before it still reported; a session written by `fcaudit run --har`
 * (curl through the proxy to the test origin) audited again offline with the same findings; a
 * generated 200 MB HAR audited with bounded peak RSS. Loopback only; every wait is bounded. */
#include <jansson.h>
#include <sys/resource.h>

#include "cli_helpers.h"
#include "harness.h"

#define FIXTURE FCA_TEST_SRCDIR "/tests/data/har/chrome-devtools.har"

static json_t *load(const char *path) {
  json_error_t je;
  json_t *r = json_load_file(path, 0, &je);
  cr_assert_not_null(r, "%s: %s", path, je.text);
  return r;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "RULE LEVEL PAGE-URL FINGERPRINT" per finding, sorted, one per line. */
static char *findings_of(const char *report) {
  json_t *r = load(report);
  json_t *vs = json_object_get(r, "violations");
  size_t n = json_array_size(vs), i;
  char **lines = fca_xcalloc(n + 1, sizeof *lines);
  json_t *v;
  json_array_foreach(vs, i, v) {
    lines[i] = fca_xasprintf(
        "%s %s %s %s", json_string_value(json_object_get(v, "rule")),
        json_string_value(json_object_get(v, "level")),
        json_string_value(json_object_get(json_object_get(v, "page"), "url")),
        json_string_value(json_object_get(json_object_get(v, "fingerprints"), "fcaudit/v1")));
  }
  qsort(lines, n, sizeof *lines, cmp_str);
  char *out = fca_xstrdup("");
  for (i = 0; i < n; i++) {
    char *t = fca_xasprintf("%s%s\n", out, lines[i]);
    free(out), free(lines[i]);
    out = t;
  }
  free(lines);
  json_decref(r);
  return out;
}

static int audit(cli_proc_t *p, const char *const args[]) {
  const char *argv[40];
  int n = 0;
  argv[n++] = FCA_TEST_BINARY;
  argv[n++] = "audit";
  for (size_t i = 0; args[i]; i++) argv[n++] = args[i];
  argv[n] = NULL;
  return cli_run(p, (char *const *)argv, (const char *[]){"NO_COLOR=1", NULL});
}

Test(cli_audit, chrome_devtools_fixture) {
  char *dir = cli_tmpdir();
  char *rep = fca_xasprintf("%s/r.json", dir), *log = fca_xasprintf("%s/ev.ndjson", dir);
  cli_proc_t p;
  int rc = audit(&p, (const char *[]){"--log", log, "--report-json", rep, FIXTURE, NULL});
  cr_assert_eq(rc, 1, "errors fail the run: %s", p.err);
  cr_assert(strstr(p.err, "audited 8 entries from 1 HAR file"), "%s", p.err);
  char *f = findings_of(rep);
  /* a static tag (REF-1), a frame from _initiator parser + the parent's iframe (SBX-1), a
   * dynamic Stripe.js request matched by its origin-only Referer (COOP-1) */
  cr_assert(strstr(f, "FC-REF-1 error https://shop.test/checkout "), "%s", f);
  cr_assert(strstr(f, "FC-SBX-1 error https://checkout.test/pay "), "%s", f);
  cr_assert(strstr(f, "FC-COOP-1 error https://shop.test/spa "), "%s", f);
  cr_assert_eq(cli_lines(f), 3, "%s", f);
  json_t *r = load(rep);
  size_t i;
  json_t *pg;
  int seen = 0;
  json_array_foreach(json_object_get(r, "pages"), i, pg) {
    const char *url = json_string_value(json_object_get(pg, "url"));
    bool top = json_is_true(json_object_get(pg, "top_level"));
    if (strcmp(url, "https://checkout.test/pay") == 0) {
      cr_assert_not(top);
      seen++;
    }
    if (strcmp(url, "https://shop.test/spa") == 0) {
      cr_assert(top);
      cr_assert_str_eq(json_string_value(json_object_get(pg, "tagged_by")), "script-request");
      seen++;
    }
  }
  cr_assert_eq(seen, 2);
  json_decref(r);
  /* the document saved without content says what could not be judged; the 304 image nothing */
  char *events = cli_read(log);
  cr_assert(strstr(events, "\"note\":\"body-missing\""), "%s", events);
  cr_assert(strstr(events, "no body for https://shop.test/cached"), "%s", events);
  cr_assert_null(strstr(events, "logo.png"), "%s", events);
  cr_assert_null(strstr(events, "audit-incomplete"), "decoded bodies are not decoded again");
  free(events);
  free(f);
  cli_proc_free(&p);
  cli_rm_rf(dir);
  free(dir), free(rep), free(log);
}

Test(cli_audit, exit_statuses_and_baseline_as_run) {
  char *dir = cli_tmpdir();
  char *r1 = fca_xasprintf("%s/r1.json", dir), *junit = fca_xasprintf("%s/j.xml", dir);
  char *sarif = fca_xasprintf("%s/s.sarif", dir), *html = fca_xasprintf("%s/r.html", dir);
  cli_proc_t p;
  int rc =
      audit(&p, (const char *[]){"--quiet", "--log", "/dev/null", "--report-json", r1, "--junit",
                                 junit, "--sarif", sarif, "--report-html", html, FIXTURE, NULL});
  cr_assert_eq(rc, 1, "%s", p.err);
  cr_assert(cli_exists(junit) && cli_exists(sarif) && cli_exists(html));
  cli_proc_free(&p);
  rc =
      audit(&p, (const char *[]){"--quiet", "--log", "/dev/null", "--baseline", r1, FIXTURE, NULL});
  cr_assert_eq(rc, 0, "known findings only: %s", p.err);
  cli_proc_free(&p);
  rc = audit(&p, (const char *[]){"--log", "/dev/null", "--fail-on", "never", FIXTURE, NULL});
  cr_assert_eq(rc, 0, "%s", p.err);
  cli_proc_free(&p);
  /* options after the file, and rule levels as the proxy takes them */
  rc = audit(&p, (const char *[]){FIXTURE, "--log", "/dev/null", "--rule", "FC-REF-1=warning",
                                  "--rule", "FC-SBX-1=ignore", "--rule", "FC-COOP-1=info", NULL});
  cr_assert_eq(rc, 0, "%s", p.err);
  cr_assert_null(strstr(p.err, "FC-SBX-1"), "ignored rules appear nowhere: %s", p.err);
  cli_proc_free(&p);
  rc = audit(&p, (const char *[]){"--log", "/dev/null", "--fail-on", "never", "--require-tagged",
                                  "4", FIXTURE, NULL});
  cr_assert_eq(rc, 1, "3 tagged pages < 4: %s", p.err);
  cli_proc_free(&p);
  rc = audit(&p, (const char *[]){"--log", "/dev/null", "/nonexistent.har", NULL});
  cr_assert_eq(rc, 3);
  cr_assert(strstr(p.err, "cannot read /nonexistent.har"), "%s", p.err);
  cli_proc_free(&p);
  rc = audit(&p, (const char *[]){NULL});
  cr_assert_eq(rc, 3);
  cr_assert(strstr(p.err, "usage: fcaudit audit"), "%s", p.err);
  cli_proc_free(&p);
  rc = audit(&p, (const char *[]){"--help", NULL});
  cr_assert_eq(rc, 0);
  cr_assert(strstr(p.out, "usage: fcaudit audit"), "%s", p.out);
  cli_proc_free(&p);
  cli_rm_rf(dir);
  free(dir), free(r1), free(junit), free(sarif), free(html);
}

/* Cut inside entry 6 (the dynamic Stripe.js request): an error naming entry 6, and the
 * findings of entries 1-5 (the checkout page and its frame) still in the report. */
Test(cli_audit, truncated_har_names_the_entry_and_keeps_earlier_findings) {
  char *dir = cli_tmpdir();
  char *har = fca_xasprintf("%s/cut.har", dir), *rep = fca_xasprintf("%s/r.json", dir);
  char *text = cli_read(FIXTURE);
  char *at = strstr(text, "\"https://js.stripe.com/v3\"");
  cr_assert_not_null(at);
  at[10] = '\0';
  cli_write(har, text);
  cli_proc_t p;
  int rc = audit(&p, (const char *[]){"--log", "/dev/null", "--report-json", rep, har, NULL});
  cr_assert_eq(rc, 3, "%s", p.err);
  cr_assert(strstr(p.err, "truncated HAR: the file ends at byte "), "%s", p.err);
  cr_assert(strstr(p.err, ", inside entry 6 (starting at byte "), "%s", p.err);
  cr_assert(strstr(p.err, "the 5 entries before it were audited"), "%s", p.err);
  char *f = findings_of(rep);
  cr_assert(strstr(f, "FC-REF-1 error https://shop.test/checkout "), "%s", f);
  cr_assert(strstr(f, "FC-SBX-1 error https://checkout.test/pay "), "%s", f);
  cr_assert_null(strstr(f, "FC-COOP-1"), "%s", f);
  free(f);
  cli_proc_free(&p);
  /* a malformed entry (a missing comma) is named the same way */
  free(text);
  text = cli_read(FIXTURE);
  at = strstr(text, "\"url\": \"https://shop.test/spa\"");
  at = strstr(at, "\"httpVersion\"");
  while (at[-1] != ',') at--;
  at[-1] = ' ';
  cli_write(har, text);
  rc = audit(&p, (const char *[]){"--log", "/dev/null", "--report-json", rep, har, NULL});
  cr_assert_eq(rc, 3, "%s", p.err);
  cr_assert(strstr(p.err, "malformed HAR in entry 4"), "%s", p.err);
  cr_assert(strstr(p.err, "expected ','"), "%s", p.err);
  f = findings_of(rep);
  cr_assert(strstr(f, "FC-REF-1 error https://shop.test/checkout "), "%s", f);
  free(f);
  free(text);
  cli_proc_free(&p);
  cli_rm_rf(dir);
  free(dir), free(har), free(rep);
}

/* Entries written out of startedDateTime order (the Stripe.js request before its page) are
 * put back in order within the window: the page is still tagged by the request. */
Test(cli_audit, out_of_order_entries_are_reordered) {
  char *dir = cli_tmpdir();
  char *har = fca_xasprintf("%s/ooo.har", dir), *rep = fca_xasprintf("%s/r.json", dir);
  json_t *h = load(FIXTURE);
  json_t *es = json_object_get(json_object_get(h, "log"), "entries");
  json_t *page = json_incref(json_array_get(es, 3)); /* /spa, whose Stripe.js is entry 6 */
  json_array_remove(es, 3);
  json_array_insert_new(es, 6, page);
  cr_assert_eq(json_dump_file(h, har, 0), 0);
  json_decref(h);
  cli_proc_t p;
  int rc = audit(&p, (const char *[]){"--log", "/dev/null", "--report-json", rep, har, NULL});
  cr_assert_eq(rc, 1, "%s", p.err);
  char *f = findings_of(rep);
  cr_assert(strstr(f, "FC-COOP-1 error https://shop.test/spa "), "%s", f);
  free(f);
  cli_proc_free(&p);
  cli_rm_rf(dir);
  free(dir), free(har), free(rep);
}

/* ---- --har: a session through the proxy, audited again offline ---- */

static void write_file(const char *dir, const char *name, const void *data, size_t n) {
  char *path = fca_xasprintf("%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f, "%s", path);
  fwrite(data, 1, n, f);
  fclose(f);
  free(path);
}

#define STRIPE "<script src=\"https://js.stripe.com/v3\"></script>"

Test(cli_audit, har_written_by_run_round_trips) {
  char *dir = cli_tmpdir();
  char *root = fca_xasprintf("%s/root", dir), *ca = fca_xasprintf("%s/ca", dir);
  mkdir(root, 0755);
  /* a gzip-encoded page with COOP same-origin; one with a no-referrer meta; an image */
  const char *coop = "<!doctype html><title>c</title>" STRIPE "<p>coop</p>\n";
  write_file(root, "coop.raw", coop, strlen(coop));
  char *gz = fca_xasprintf("gzip -c '%s/coop.raw' > '%s/coop.html'", root, root);
  cr_assert_eq(system(gz), 0);
  free(gz);
  const char *coop_h = "Content-Type: text/html\r\nContent-Encoding: gzip\r\n"
                       "Cross-Origin-Opener-Policy: same-origin\r\n";
  write_file(root, "coop.html.headers", coop_h, strlen(coop_h));
  const char *ref = "<!doctype html><meta name=\"referrer\" content=\"no-referrer\">" STRIPE "\n";
  write_file(root, "ref.html", ref, strlen(ref));
  write_file(root, "ref.html.headers", "Content-Type: text/html\r\n", 25);
  const unsigned char png[] = {0x89, 'P', 'N', 'G', 0, 1, 2, 0xff, 0xfe};
  write_file(root, "logo.png", png, sizeof png);
  write_file(root, "logo.png.headers", "Content-Type: image/png\r\n", 25);
  fca_origin_t o;
  cr_assert_eq(fca_origin_start(&o, &(fca_origin_opts_t){.root = root}), 0);
  char *resolve = fca_xasprintf("shop.test:%d:127.0.0.1", o.port);
  char *script =
      fca_xasprintf("for p in coop.html ref.html logo.png; do curl -sS --max-time 20 -o /dev/null "
                    "http://shop.test:%d/files/$p || exit 9; done",
                    o.port);
  char *har = fca_xasprintf("%s/session.har", dir), *live = fca_xasprintf("%s/live.json", dir);
  char *off = fca_xasprintf("%s/offline.json", dir), *log = fca_xasprintf("%s/ev.ndjson", dir);
  cli_proc_t p;
  int rc = cli_run(&p,
                   (char *[]){FCA_TEST_BINARY,
                              "run",
                              "--only-resolved",
                              "--ca-dir",
                              ca,
                              "--log",
                              log,
                              "--workers",
                              "1",
                              "--resolve",
                              resolve,
                              "--har",
                              har,
                              "--report-json",
                              live,
                              "--",
                              "sh",
                              "-c",
                              script,
                              NULL},
                   NULL);
  cr_assert_eq(rc, 1, "%s", p.err);
  cli_proc_free(&p);
  /* the same session again against the first report: known findings only (a baseline is
   * applied to the findings of a live run, which all arrive after start) */
  char *har2 = fca_xasprintf("%s/again.har", dir);
  rc = cli_run(&p,
               (char *[]){FCA_TEST_BINARY,
                          "run",
                          "--only-resolved",
                          "--ca-dir",
                          ca,
                          "--log",
                          log,
                          "--workers",
                          "1",
                          "--resolve",
                          resolve,
                          "--har",
                          har2,
                          "--baseline",
                          live,
                          "--",
                          "sh",
                          "-c",
                          script,
                          NULL},
               NULL);
  cr_assert_eq(rc, 0, "%s", p.err);
  cli_proc_free(&p);
  free(har2);
  fca_origin_stop(&o);
  char *spool = fca_xasprintf("%s.spool", har);
  cr_assert_not(cli_exists(spool), "the spool is gone once written");
  free(spool);
  /* the HAR: valid JSON, three entries, decoded text, findings attached, binary omitted */
  json_t *h = load(har);
  cr_assert_str_eq(json_string_value(json_object_get(
                       json_object_get(json_object_get(h, "log"), "creator"), "name")),
                   "fcaudit");
  json_t *es = json_object_get(json_object_get(h, "log"), "entries");
  cr_assert_eq(json_array_size(es), 3, "%s", json_dumps(h, 0));
  json_t *e0 = json_array_get(es, 0);
  json_t *c0 = json_object_get(json_object_get(e0, "response"), "content");
  cr_assert_str_eq(json_string_value(json_object_get(c0, "text")), coop, "decoded gzip body");
  char *evs = json_dumps(json_object_get(json_object_get(e0, "_fcaudit"), "events"), 0);
  /* http://shop.test is not a secure context: its COOP is ignored there, a note says so */
  cr_assert(strstr(evs, "\"note\": \"ignored-on-http\""), "%s", evs);
  cr_assert_null(strstr(evs, "\"rule\": \"FC-COOP-1\""), "%s", evs);
  free(evs);
  json_t *c2 = json_object_get(json_object_get(json_array_get(es, 2), "response"), "content");
  cr_assert_null(json_object_get(c2, "text"));
  cr_assert(strstr(json_string_value(json_object_get(c2, "comment")), "omitted"));
  json_decref(h);
  /* offline: the same findings */
  rc = audit(&p, (const char *[]){"--log", "/dev/null", "--report-json", off, har, NULL});
  cr_assert_eq(rc, 1, "%s", p.err);
  char *a = findings_of(live), *b = findings_of(off);
  cr_assert_eq(cli_lines(a), 1, "%s", a);
  cr_assert_str_eq(a, b, "live:\n%s\noffline:\n%s", a, b);
  free(a), free(b);
  cli_proc_free(&p);
  cli_rm_rf(dir);
  free(dir), free(root), free(ca), free(resolve), free(script), free(har), free(live), free(off),
      free(log);
}

/* ---- a large HAR streams: peak RSS stays bounded ---- */

Test(cli_audit, large_har_bounded_rss, .timeout = 600) {
  char *dir = cli_tmpdir();
  char *har = fca_xasprintf("%s/big.har", dir), *rep = fca_xasprintf("%s/r.json", dir);
  FILE *f = fopen(har, "w");
  cr_assert_not_null(f);
  fputs("{\"log\":{\"version\":\"1.2\",\"creator\":{\"name\":\"gen\",\"version\":\"1\"},"
        "\"entries\":[",
        f);
  size_t body = 256 * 1024;
  char *css = fca_xmalloc(body + 1);
  for (size_t i = 0; i < body; i++) css[i] = "a{color:red}\\n"[i % 14];
  css[body - (body % 14)] = '\0';
  uint64_t total = 0;
  int n = 0;
  for (; total < 200ull * 1024 * 1024; n++) {
    bool page = n % 50 == 0;
    const char *url = page ? "https://shop.test/p" : "https://cdn.test/s.css";
    const char *ct = page ? "text/html" : "text/css";
    const char *text =
        page ? "<!doctype html><script src=\\\"https://js.stripe.com/v3\\\"></script>" : css;
    int w = fprintf(f,
                    "%s{\"startedDateTime\":\"2026-12-01T10:%02d:%02d.%03dZ\",\"request\":{"
                    "\"method\":\"GET\",\"url\":\"%s%d\",\"headers\":[{\"name\":\"Sec-Fetch-Dest\","
                    "\"value\":\"%s\"}]},\"response\":{\"status\":200,\"headers\":[{\"name\":"
                    "\"Content-Type\",\"value\":\"%s\"},{\"name\":\"Referrer-Policy\",\"value\":"
                    "\"no-referrer\"}],\"content\":{\"size\":1,\"text\":\"%s\"}}}",
                    n ? "," : "", n / 600, n / 10 % 60, n % 10 * 100, url, n,
                    page ? "document" : "style", ct, text);
    cr_assert_gt(w, 0);
    total += (uint64_t)w;
  }
  fputs("]}}\n", f);
  fclose(f);
  free(css);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1), dup2(null, 2);
    /* a sanitizer build would count its quarantine of freed memory as resident */
    setenv("ASAN_OPTIONS", "quarantine_size_mb=4:detect_leaks=0", 1);
    execl(FCA_TEST_BINARY, FCA_TEST_BINARY, "audit", "--quiet", "--log", "/dev/null", "--fail-on",
          "never", "--report-json", rep, har, (char *)NULL);
    _exit(127);
  }
  int st;
  struct rusage ru;
  cr_assert_eq(wait4(pid, &st, 0, &ru), pid);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
  long peak_mib = ru.ru_maxrss / 1024;
  cr_log_info("%d entries, %llu MiB of HAR: peak RSS %ld MiB", n, (unsigned long long)(total >> 20),
              peak_mib);
  /* generous: the file is 200 MiB; one entry and the engine's state are a few MiB (ASan
   * builds double that) */
  cr_assert_lt(peak_mib, 120, "peak RSS %ld MiB for a %llu MiB HAR", peak_mib,
               (unsigned long long)(total >> 20));
  /* every 50th entry is a tagged page with a no-referrer header: all were audited */
  json_t *r = load(rep);
  json_t *sum = json_object_get(r, "summary");
  cr_assert_eq(json_integer_value(json_object_get(sum, "pages_tagged")), (n + 49) / 50);
  cr_assert_eq(json_integer_value(json_object_get(json_object_get(sum, "findings"), "error")),
               (n + 49) / 50);
  json_decref(r);
  cli_rm_rf(dir);
  free(dir), free(har), free(rep);
}

/* The plain proxy stopped with SIGINT writes the HAR of every exchange it saw. */
Test(cli_audit, proxy_har_written_on_sigint) {
  char *root = fca_tmpdir_new();
  const char *page = "<!doctype html><script src=\"https://js.stripe.com/v3\"></script>";
  write_file(root, "p.html", page, strlen(page));
  const char *hd = "Content-Type: text/html\r\nReferrer-Policy: no-referrer\r\n";
  write_file(root, "p.html.headers", hd, strlen(hd));
  fca_origin_t o;
  cr_assert_eq(fca_origin_start(&o, &(fca_origin_opts_t){.root = root}), 0);
  char *har = fca_xasprintf("%s/sigint.har", root);
  fca_testproxy_t px;
  cr_assert_eq(fca_testproxy_start(&px, (const char *[]){"--har", har, "--quiet", NULL}), 0);
  char *proxy = fca_testproxy_url(&px);
  for (int i = 0; i < 3; i++) {
    char *url = fca_origin_url(&o, "/files/p.html?i=0");
    url[strlen(url) - 1] = (char)('0' + i);
    fca_run_t r;
    cr_assert_eq(fca_curl(&r, 15000, "-x", proxy, "-o", "/dev/null", url, NULL), 0);
    fca_run_free(&r);
    free(url);
  }
  kill(px.pid, SIGINT);
  int st = -1;
  cr_assert_eq(fca_proc_wait(px.pid, 15000, &st), 0, "no exit after SIGINT");
  /* The pages have an error finding: the plain proxy ends with the verdict its reports name. */
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %d: %s", st, fca_testproxy_stderr(&px));
  px.pid = 0;
  fca_testproxy_stop(&px);
  fca_origin_stop(&o);
  json_t *h = load(har);
  json_t *es = json_object_get(json_object_get(h, "log"), "entries");
  cr_assert_eq(json_array_size(es), 3);
  char *evs =
      json_dumps(json_object_get(json_object_get(json_array_get(es, 0), "_fcaudit"), "events"), 0);
  cr_assert(strstr(evs, "FC-REF-1"), "%s", evs);
  free(evs);
  json_decref(h);
  free(proxy), free(har);
  cli_rm_rf(root);
  free(root);
}
