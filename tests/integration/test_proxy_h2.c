/* Integration: HTTP/2 between the client and fcaudit (ALPN h2 on intercepted TLS), HTTP/1.1 to
 * the origin. curl --http2 through the proxy; --no-http2; findings identical over h1 and h2;
 * and the raw-frame suite (h2frames.py, python3-h2's frame and HPACK modules): flow control,
 * resets, GOAWAY on drain, SETTINGS limits, rapid reset, HPACK bombs, CONTINUATION floods and
 * stream-id abuse, one Criterion test per scenario. */
#include "fcaudit/util.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#ifndef FCA_TEST_PYTHON_H2
#define FCA_TEST_PYTHON_H2 ""
#endif

TestSuite(proxy_h2, .fini = fca_harness_cleanup, .timeout = 180);

static fca_origin_t org;
static fca_testproxy_t px;
static char proxy_url[64], proxy_ca[512], resolve[128], shop_url[128];
static char *root;

#define STRIPE "<script src=\"https://js.stripe.com/v3\"></script>"

static void start_origin(void) {
  root = fca_tmpdir_new();
  cr_assert_eq(fca_origin_start(&org, &(fca_origin_opts_t){.tls = true, .root = root}), 0);
  cr_assert_not_null(org.ca_pem);
  snprintf(resolve, sizeof resolve, "shop.test:%d:127.0.0.1", org.port);
  snprintf(shop_url, sizeof shop_url, "https://shop.test:%d", org.port);
}

static void start_proxy(fca_testproxy_t *p, const char *extra) {
  const char *args[8] = {"--resolve",          resolve, "--upstream-ca", org.ca_pem,
                         "--upstream-timeout", "3s",    extra,           NULL};
  cr_assert_eq(fca_testproxy_start(p, args), 0, "fcaudit did not start");
  snprintf(proxy_url, sizeof proxy_url, "http://127.0.0.1:%d", p->port);
  snprintf(proxy_ca, sizeof proxy_ca, "%s/ca.pem", p->ca_dir);
}

static void start(const char *extra) {
  start_origin();
  start_proxy(&px, extra);
}

/* curl through the proxy: stdout is the body, then "\n<http_version> <code>". */
static void pcurl(fca_run_t *r, const char *proto, const char *path) {
  char url[256], fmt[] = "\n%{http_version} %{http_code}";
  snprintf(url, sizeof url, "%s%s", shop_url, path);
  const char *args[] = {"-x", proxy_url, "--cacert", proxy_ca, proto, "-w", fmt, url, NULL};
  fca_curl_argv(r, 20000, args);
  cr_assert_eq(fca_run_exit_code(r), 0, "curl %s %s: %s", proto, url, r->err);
}

static void assert_ends_with(const char *s, const char *tail) {
  size_t n = strlen(s), k = strlen(tail);
  cr_assert(n >= k && strcmp(s + n - k, tail) == 0, "'%s' does not end with '%s'", s, tail);
}

Test(proxy_h2, curl_http2_through_the_proxy_is_h2) {
  start(NULL);
  fca_run_t r;
  pcurl(&r, "--http2", "/echo?h2");
  assert_ends_with(r.out, "\n2 200");
  cr_assert(strncmp(r.out, "method: GET\ntarget: /echo?h2\nversion: HTTP/1.1\n", 47) == 0, "%s",
            r.out);
  fca_run_free(&r);
  /* A client that asks for HTTP/1.1 gets it (its choice wins). */
  pcurl(&r, "--http1.1", "/echo?h1");
  assert_ends_with(r.out, "\n1.1 200");
  fca_run_free(&r);
  /* A chunked response arrives de-chunked and whole over h2. */
  pcurl(&r, "--http2", "/size/300000?chunked=1");
  cr_assert_eq(r.out_len, 300000 + strlen("\n2 200"));
  fca_run_free(&r);
}

Test(proxy_h2, no_http2_keeps_alpn_http11) {
  start("--no-http2");
  fca_run_t r;
  pcurl(&r, "--http2", "/echo");
  assert_ends_with(r.out, "\n1.1 200");
  fca_run_free(&r);
}

/* --only-resolved refusals are told once per host over HTTP/2 as over HTTP/1.1: an HTTP/2
 * client reaches a host through CONNECT, whose refusal (fca_conn_refuse) is the one told; the
 * streams inside an allowed tunnel are for the tunnel's host, whose route the tunnel already
 * passed (another :authority is 421). */
Test(proxy_h2, only_resolved_refusals_told_once_per_host) {
  start(NULL);
  char url[] = "https://nowhere.test/page";
  for (int i = 0; i < 6; i++) {
    fca_run_t r;
    const char *args[] = {"-x", proxy_url,      "--cacert", proxy_ca, "--http2",
                          "-w", "%{http_code}", url,        NULL};
    fca_curl_argv(&r, 20000, args);
    cr_assert_neq(fca_run_exit_code(&r), 0, "nowhere.test must be refused");
    fca_run_free(&r);
  }
  fca_run_t r;
  pcurl(&r, "--http2", "/echo");
  assert_ends_with(r.out, "\n2 200");
  fca_run_free(&r);
  char *err = fca_testproxy_stderr(&px);
  size_t n = 0;
  for (const char *p = err; (p = strstr(p, "host 'nowhere.test' is not allowed")); p++) n++;
  cr_assert_eq(n, 1, "one line for six refusals:\n%s", err);
  cr_assert(strstr(err, "(told once per host; the summary counts them all)"), "%s", err);
  cr_assert_null(strstr(err, "warn:"), "a policy refusal is not a warning:\n%s", err);
  free(err);
}

/* The violations of a log as sorted "rule page level evidence" lines. */
static char *violations(const char *log_path) {
  size_t n = 0;
  char *text = fca_read_file(log_path, &n);
  cr_assert_not_null(text, "no log at %s", log_path);
  char *lines[64];
  size_t k = 0;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    json_t *o = json_loads(line, 0, NULL);
    cr_assert_not_null(o, "not JSON: %s", line);
    const char *type = json_string_value(json_object_get(o, "type"));
    if (type && strcmp(type, "violation") == 0 && k < 64) {
      char *dump = json_dumps(json_object_get(o, "evidence"), JSON_SORT_KEYS | JSON_COMPACT);
      char *page = json_dumps(json_object_get(o, "page"), JSON_SORT_KEYS | JSON_COMPACT);
      lines[k++] = fca_xasprintf("%s %s %s %s\n", json_string_value(json_object_get(o, "rule")),
                                 page, json_string_value(json_object_get(o, "level")), dump);
      free(dump);
      free(page);
    }
    json_decref(o);
  }
  free(text);
  for (size_t i = 1; i < k; i++) /* insertion sort: a handful of lines */
    for (size_t j = i; j > 0 && strcmp(lines[j - 1], lines[j]) > 0; j--) {
      char *t = lines[j];
      lines[j] = lines[j - 1];
      lines[j - 1] = t;
    }
  char *all = fca_xstrdup("");
  for (size_t i = 0; i < k; i++) {
    char *next = fca_xasprintf("%s%s", all, lines[i]);
    free(all);
    free(lines[i]);
    all = next;
  }
  return all;
}

Test(proxy_h2, findings_identical_over_h1_and_h2) {
  start_origin();
  char *p = fca_path(root, "pay.html"), *ph = fca_path(root, "pay.html.headers");
  const char *body =
      "<!doctype html><html><head>" STRIPE "</head><body><iframe "
      "src=\"https://shop.test/x\" sandbox=\"allow-scripts\"></iframe></body></html>";
  const char *hdrs = "Content-Type: text/html\nReferrer-Policy: no-referrer\n"
                     "Cross-Origin-Opener-Policy: same-origin\n";
  cr_assert_eq(fca_write_file(p, body, strlen(body)), 0);
  cr_assert_eq(fca_write_file(ph, hdrs, strlen(hdrs)), 0);
  free(p);
  free(ph);
  char *logs[2];
  const char *protos[2] = {"--http1.1", "--http2"};
  const char *want[2] = {"\n1.1 200", "\n2 200"};
  for (int i = 0; i < 2; i++) {
    fca_testproxy_t q;
    start_proxy(&q, NULL);
    fca_run_t r;
    char url[256], fmt[] = "\n%{http_version} %{http_code}";
    snprintf(url, sizeof url, "%s/files/pay.html", shop_url);
    const char *args[] = {"-x",
                          proxy_url,
                          "--cacert",
                          proxy_ca,
                          protos[i],
                          "-H",
                          "Sec-Fetch-Dest: document",
                          "-H",
                          "Accept-Encoding: gzip",
                          "--compressed",
                          "-w",
                          fmt,
                          url,
                          NULL};
    fca_curl_argv(&r, 20000, args);
    cr_assert_eq(fca_run_exit_code(&r), 0, "%s", r.err);
    assert_ends_with(r.out, want[i]);
    fca_run_free(&r);
    char *log = fca_xstrdup(q.log_path);
    fca_testproxy_stop(&q);
    logs[i] = violations(log);
    free(log);
  }
  cr_assert_neq(strlen(logs[0]), 0, "the page has violations over HTTP/1.1");
  cr_assert_str_eq(logs[0], logs[1], "HTTP/1.1:\n%s\nHTTP/2:\n%s", logs[0], logs[1]);
  cr_log_info("violations over both:\n%s", logs[0]);
  free(logs[0]);
  free(logs[1]);
}

/* One scenario of h2frames.py against a fresh proxy (its admin listener on when admin). */
static void frames_on(const char *scenario, bool admin) {
  cr_assert(FCA_TEST_PYTHON_H2[0] != '\0',
            "no python3 with the h2 package (Debian python3-h2): run tools/deps");
  char admin_arg[48], aport[16] = "0";
  if (admin) {
    int port = fca_free_port();
    snprintf(aport, sizeof aport, "%d", port);
    snprintf(admin_arg, sizeof admin_arg, "--admin=127.0.0.1:%d", port);
  }
  start(admin ? admin_arg : NULL);
  char proxy[16], origin[16], pid[16];
  snprintf(proxy, sizeof proxy, "%d", px.port);
  snprintf(origin, sizeof origin, "%d", org.port);
  snprintf(pid, sizeof pid, "%d", (int)px.pid);
  char *script = fca_path(FCA_TEST_SRCDIR, "tests/integration/h2frames.py");
  char *const argv[] = {FCA_TEST_PYTHON_H2,
                        script,
                        (char *)scenario,
                        "--proxy",
                        proxy,
                        "--origin",
                        origin,
                        "--ca",
                        proxy_ca,
                        "--pid",
                        pid,
                        "--admin",
                        aport,
                        NULL};
  fca_run_t r;
  fca_run(argv, 120000, &r);
  char *err = fca_testproxy_stderr(&px);
  cr_assert_eq(fca_run_exit_code(&r), 0, "%s%s\nproxy:\n%s", r.out, r.err, err);
  cr_log_info("%s", r.out);
  free(err);
  fca_run_free(&r);
  free(script);
}

static void frames(const char *scenario) { frames_on(scenario, false); }

Test(proxy_h2, frames_basic_translation_and_stream_errors) { frames("basic"); }
Test(proxy_h2, frames_concurrent_streams) { frames("concurrent"); }
Test(proxy_h2, frames_flow_control_response_bounded) { frames("flow_response"); }
Test(proxy_h2, frames_flow_control_response_per_stream_bound) {
  frames_on("flow_response_bound", true);
}
Test(proxy_h2, frames_flow_control_request_window_given_back) { frames("flow_request"); }
Test(proxy_h2, frames_flow_control_request_bounded) { frames("flow_request_bounded"); }
Test(proxy_h2, frames_reset_one_stream) { frames("reset_one"); }
Test(proxy_h2, frames_rapid_reset_goaway_enhance_your_calm) { frames("rapid_reset"); }
Test(proxy_h2, frames_max_concurrent_streams_refused_stream) { frames("max_streams"); }
Test(proxy_h2, frames_refused_stream_flood_goaway_enhance_your_calm) { frames("refused_flood"); }
Test(proxy_h2, frames_header_list_over_limit_is_431) { frames("header_list"); }
Test(proxy_h2, frames_hpack_bomb) { frames("hpack_bomb"); }
Test(proxy_h2, frames_continuation_flood) { frames("continuation_flood"); }
Test(proxy_h2, frames_stream_id_abuse) { frames("stream_ids"); }
Test(proxy_h2, frames_upstream_errors_502_504_per_stream) { frames("upstream_errors"); }
Test(proxy_h2, frames_goaway_on_drain) { frames("goaway_drain"); }
Test(proxy_h2, frames_websocket_falls_back_to_http11) { frames("websocket"); }
