/* Integration: `fcaudit browse --headless URL` with real Chromium. A page of the test site (COOP
 * same-origin, a static Stripe.js tag) is served by the test origin; the proxy runs with
 * --only-resolved and --resolve for the site's host. The page must be loaded through the proxy,
 * its finding must reach the log, the run must end by itself with the verdict, and the
 * temporary profile must be gone. (The page is plain HTTP: browsers apply the referrer policy
 * there, not COOP, which needs a secure context.) Skipped (not passed) when no Chromium is
 * installed. */
#include <dirent.h>
#include <jansson.h>

#include "cli_helpers.h"
#include "harness.h"

TestSuite(cli_browse, .fini = fca_harness_cleanup, .timeout = 150);

/* Directories named fcaudit-browse-* in dir. */
static int count_profiles(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strncmp(e->d_name, "fcaudit-browse-", 15) == 0) n++;
  closedir(d);
  return n;
}

static bool have_chromium(void) {
  return access("/usr/bin/chromium", X_OK) == 0 || access("/usr/bin/google-chrome", X_OK) == 0 ||
         access("/usr/bin/chromium-browser", X_OK) == 0;
}

Test(cli_browse, headless_loads_a_page_through_the_proxy) {
  if (!have_chromium()) cr_skip_test("no Chromium installed");
  /* The site's page and its headers, laid out the way the test origin serves /files/. */
  char *dir = cli_tmpdir();
  char *www = fca_xasprintf("%s/www", dir);
  cr_assert_eq(mkdir(www, 0700), 0);
  char *html = cli_read(FCA_TEST_SRCDIR "/tests/site/shop.test/checkout-referrer-no-referrer.html");
  char *hdrs =
      cli_read(FCA_TEST_SRCDIR "/tests/site/shop.test/checkout-referrer-no-referrer.headers");
  cr_assert(html && hdrs && strstr(hdrs, "Referrer-Policy: no-referrer"));
  char *f1 = fca_xasprintf("%s/checkout.html", www), *f2 = fca_xasprintf("%s.headers", f1);
  cli_write(f1, html);
  cli_write(f2, hdrs);
  free(html), free(hdrs), free(f1), free(f2);
  fca_origin_t org;
  fca_origin_opts_t oo = {.root = www};
  cr_assert_eq(fca_origin_start(&org, &oo), 0);
  char *tmp = fca_xasprintf("%s/tmp", dir), *ca = fca_xasprintf("%s/ca", dir),
       *log = fca_xasprintf("%s/events.ndjson", dir), *json = fca_xasprintf("%s/r.json", dir);
  cr_assert_eq(mkdir(tmp, 0700), 0);
  char *resolve = fca_xasprintf("shop.test:%d:127.0.0.1", org.port);
  char *url = fca_xasprintf("http://shop.test:%d/files/checkout.html", org.port);
  char *env_tmp = fca_xasprintf("TMPDIR=%s", tmp);
  const char *env[] = {env_tmp, NULL};
  cli_proc_t p;
  int rc = cli_run(&p,
                   (char *[]){FCA_TEST_BINARY, "browse", "--headless", "--only-resolved",
                              "--resolve", resolve, "--ca-dir", ca, "--log", log, "--report-json",
                              json, "--drain-timeout", "1s", url, NULL},
                   env);
  /* FC-REF-1 is an error: the run fails with the verdict, as `fcaudit run` would. */
  cr_assert_eq(rc, 1, "exit status: %d\nstderr: %s", rc, p.err);
  cr_assert(strstr(p.err, "starting") && strstr(p.err, "(headless)"), "%s", p.err);
  cr_assert(strstr(p.err, "verdict: fail at --fail-on error: 1 new finding"), "%s", p.err);
  cr_assert(strstr(p.err, "fcaudit browse: exit status 1"), "%s", p.err);
  cr_assert_null(strstr(p.err, "ERROR:"), "the browser's own chatter stays off the console:\n%s",
                 p.err);

  /* Refusals (Stripe.js on js.stripe.com, Chromium's background hosts): one info line per host,
   * each host with its count in the summary. */
  cr_assert(strstr(p.err, "host 'js.stripe.com' is not allowed"), "%s", p.err);
  size_t hosts = 0;
  for (const char *l = p.err; (l = strstr(l, "host '")); l++) {
    const char *h = l + 6, *e = strchr(h, '\'');
    cr_assert_not_null(e);
    char *needle = fca_xasprintf("host '%.*s' is not allowed", (int)(e - h), h);
    size_t n = 0;
    for (const char *q = p.err; (q = strstr(q, needle)); q++) n++;
    cr_assert_eq(n, 1, "one line for %.*s:\n%s", (int)(e - h), h, p.err);
    free(needle);
    needle = fca_xasprintf("\n    %.*s  ×", (int)(e - h), h);
    cr_assert(strstr(p.err, needle), "%.*s counted in the summary:\n%s", (int)(e - h), h, p.err);
    free(needle);
    hosts++;
  }
  cr_assert(strstr(p.err, "refused by policy (not audited): "), "%s", p.err);
  cr_assert_null(strstr(p.err, "warn: 127.0.0.1"), "no refusal is a warning:\n%s", p.err);
  cr_assert_geq(hosts, 1);

  /* The page went through the proxy and its finding reached the log. */
  char *events = cli_read(log);
  cr_assert_not_null(events);
  char *page_url = fca_xasprintf("\"url\":\"%s\"", url);
  cr_assert(strstr(events, "\"type\":\"page\"") && strstr(events, page_url), "%s", events);
  cr_assert(strstr(events, "\"rule\":\"FC-REF-1\""), "%s", events);
  cr_assert(strstr(events, "\"type\":\"summary\""), "%s", events);
  json_error_t je;
  json_t *r = json_load_file(json, 0, &je);
  cr_assert_not_null(r, "%s", je.text);
  cr_assert_eq(json_array_size(json_object_get(r, "pages")), 1);
  json_decref(r);

  /* The temporary profile (and its directory) are gone. */
  cr_assert_eq(count_profiles(tmp), 0, "a temporary profile was left in %s", tmp);

  free(events), free(page_url);
  cli_proc_free(&p);
  fca_origin_stop(&org);
  cli_rm_rf(dir);
  free(dir), free(www), free(tmp), free(ca), free(log), free(json), free(resolve), free(url),
      free(env_tmp);
}

Test(cli_browse, browser_not_found_is_an_error) {
  cli_proc_t p;
  int rc = cli_run(&p,
                   (char *[]){FCA_TEST_BINARY, "browse", "--browser", "/nonexistent/chrome",
                              "--headless", "http://shop.test/", NULL},
                   NULL);
  cr_assert_eq(rc, 3, "%s", p.err);
  cr_assert(strstr(p.err, "--browser /nonexistent/chrome: not found"), "%s", p.err);
  cli_proc_free(&p);
}

/* --proxy: the browser only, through a proxy that is already running; the page is audited by
 * that proxy (its log), and browse ends after --wait (generous: Chromium starts slowly on a loaded
 * machine). */
Test(cli_browse, headless_through_a_running_proxy) {
  if (!have_chromium()) cr_skip_test("no Chromium installed");
  char *dir = cli_tmpdir();
  char *www = fca_xasprintf("%s/www", dir), *tmp = fca_xasprintf("%s/tmp", dir);
  cr_assert_eq(mkdir(www, 0700), 0);
  cr_assert_eq(mkdir(tmp, 0700), 0);
  char *f1 = fca_xasprintf("%s/checkout.html", www), *f2 = fca_xasprintf("%s.headers", f1);
  char *html = cli_read(FCA_TEST_SRCDIR "/tests/site/shop.test/checkout-referrer-no-referrer.html");
  cr_assert_not_null(html);
  cli_write(f1, html);
  cli_write(f2, "Referrer-Policy: no-referrer\n");
  free(html);
  fca_origin_t org;
  fca_origin_opts_t oo = {.root = www};
  cr_assert_eq(fca_origin_start(&org, &oo), 0);
  char *resolve = fca_xasprintf("shop.test:%d:127.0.0.1", org.port);
  fca_testproxy_t px;
  cr_assert_eq(fca_testproxy_start(&px, (const char *[]){"--resolve", resolve, NULL}), 0);
  char *hp = fca_xasprintf("127.0.0.1:%d", px.port);
  char *url = fca_xasprintf("http://shop.test:%d/files/checkout.html", org.port);
  char *env_tmp = fca_xasprintf("TMPDIR=%s", tmp);
  const char *env[] = {env_tmp, NULL};
  cli_proc_t p;
  int rc = cli_run(&p,
                   (char *[]){FCA_TEST_BINARY, "browse", "--proxy", hp, "--ca-dir", px.ca_dir,
                              "--headless", "--wait", "12s", url, NULL},
                   env);
  cr_assert_eq(rc, 0, "%s", p.err);
  cr_assert_null(strstr(p.err, "fcaudit summary"), "the running proxy owns the run:\n%s", p.err);
  cr_assert_eq(count_profiles(tmp), 0, "a temporary profile was left in %s", tmp);
  char *events = cli_read(px.log_path);
  char *perr = fca_testproxy_stderr(&px);
  cr_assert(events && strstr(events, "\"rule\":\"FC-REF-1\""), "log: %s\nproxy: %s\nbrowse: %s",
            events ? events : "", perr, p.err);
  free(perr);
  free(events);
  fca_testproxy_stop(&px);
  cli_proc_free(&p);
  fca_origin_stop(&org);
  cli_rm_rf(dir);
  free(dir), free(www), free(tmp), free(f1), free(f2), free(resolve), free(hp), free(url),
      free(env_tmp);
}
