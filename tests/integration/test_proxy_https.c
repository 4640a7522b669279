/* Integration: HTTPS through the real fcaudit binary (every test here needs the proxy): curl
 * sends CONNECT, trusts only the proxy's interception CA, and the proxy verifies the test
 * origin's certificate against the test CA given with --upstream-ca. Verification failures
 * (untrusted CA, expired leaf, wrong name) must end in a 502 that says why. */
#include "harness.h"
#include "pattern.h"
#include "testca.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(proxy_https, .fini = fca_harness_cleanup, .timeout = 120);

static fca_origin_t org;
static fca_testproxy_t px;
static char proxy_url[64], proxy_ca[512], resolve[128];

/* An HTTPS origin with the given leaf stem from a fresh test CA in dir ("leaf", "expired",
 * "wrong"); returns the CA path. */
static char *start_tls_origin(const char *stem) {
  char *dir = fca_tmpdir_new();
  cr_assert_eq(fca_testca_make(dir, fca_testca_default_names, fca_testca_default_count), 0);
  cr_assert_eq(fca_testca_make_expired(dir, fca_testca_default_names, fca_testca_default_count), 0);
  cr_assert_eq(fca_testca_make_wrong_name(dir), 0);
  char pem[64], key[64];
  snprintf(pem, sizeof pem, "%s.pem", stem);
  snprintf(key, sizeof key, "%s.key", stem);
  char *pp = fca_path(dir, pem), *kp = fca_path(dir, key);
  cr_assert_eq(fca_origin_start(&org, &(fca_origin_opts_t){.tls = true, .cert = pp, .key = kp}), 0);
  free(pp);
  free(kp);
  char *ca = fca_path(dir, "ca.pem");
  free(dir);
  return ca;
}

/* The proxy, resolving shop.test to the origin, trusting upstream_ca when not NULL. */
static void start_proxy(const char *upstream_ca) {
  snprintf(resolve, sizeof resolve, "shop.test:%d:127.0.0.1", org.port);
  const char *args[8] = {"--resolve", resolve, NULL};
  if (upstream_ca) {
    args[2] = "--upstream-ca";
    args[3] = upstream_ca;
    args[4] = NULL;
  }
  cr_assert_eq(fca_testproxy_start(&px, args), 0, "fcaudit did not start");
  snprintf(proxy_url, sizeof proxy_url, "http://127.0.0.1:%d", px.port);
  snprintf(proxy_ca, sizeof proxy_ca, "%s/ca.pem", px.ca_dir);
}

static char *shop(const char *path) {
  char *u = malloc(256);
  snprintf(u, 256, "https://shop.test:%d%s", org.port, path);
  return u;
}

/* curl -x PROXY --cacert PROXY_CA args; returns curl's exit code. */
static int pcurl(fca_run_t *r, const char *const args[]) {
  const char *argv[64];
  size_t k = 0;
  argv[k++] = "-x";
  argv[k++] = proxy_url;
  argv[k++] = "--cacert";
  argv[k++] = proxy_ca;
  for (size_t i = 0; args[i] && k < 63; i++) argv[k++] = args[i];
  argv[k] = NULL;
  fca_curl_argv(r, 30000, argv);
  return fca_run_exit_code(r);
}

static void pcurl_ok(fca_run_t *r, const char *const args[]) {
  int rc = pcurl(r, args);
  if (rc != 0) {
    char *err = fca_testproxy_stderr(&px);
    cr_assert_fail("curl exited %d: %s\nproxy stderr:\n%s", rc, r->err, err);
  }
}

Test(proxy_https, proxy_intercepts_with_verified_upstream) {
  char *ca = start_tls_origin("leaf");
  start_proxy(ca);
  fca_run_t r;
  char *u = shop("/echo?tls=1");
  pcurl_ok(&r, (const char *[]){"-H", "Proxy-Connection: keep-alive", u, NULL});
  /* inside the tunnel the origin sees an origin-form request for the CONNECT host */
  cr_assert(strncmp(r.out, "method: GET\ntarget: /echo?tls=1\n", 32) == 0, "%s", r.out);
  char host[64];
  snprintf(host, sizeof host, "\r\nHost: shop.test:%d\r\n", org.port);
  cr_assert_not_null(strstr(r.out, host), "%s", r.out);
  fca_run_free(&r);
  /* curl saw the proxy's certificate: it fails when told to trust only the origin's CA */
  const char *argv[] = {"-x", proxy_url, "--cacert", ca, u, NULL};
  fca_curl_argv(&r, 20000, argv);
  cr_assert_eq(fca_run_exit_code(&r), 60, "curl trusted a leaf not minted by the proxy: %s", r.err);
  fca_run_free(&r);
  free(u);
  free(ca);
}

Test(proxy_https, proxy_https_body_and_keep_alive) {
  char *ca = start_tls_origin("leaf");
  start_proxy(ca);
  fca_run_t r;
  char *big = shop("/size/5000000"), *small = shop("/size/1000");
  char *dir = fca_tmpdir_new(), *f1 = fca_path(dir, "1"), *f2 = fca_path(dir, "2");
  pcurl_ok(&r, (const char *[]){"-o", f1, "-o", f2, "-w", "%{http_code}:%{num_connects}\n", big,
                                small, NULL});
  cr_assert_str_eq(r.out, "200:1\n200:0\n");
  size_t n;
  char *body = fca_read_file(f1, &n);
  cr_assert_eq(n, 5000000);
  cr_assert_eq(fca_pattern_mismatch(body, n, 0), n);
  free(body);
  fca_run_free(&r);
  /* a POST inside the tunnel */
  char *echo = shop("/echo");
  pcurl_ok(&r, (const char *[]){"--data-binary", "secret=1", echo, NULL});
  cr_assert_not_null(strstr(r.out, "body-length: 8\n"), "%s", r.out);
  fca_run_free(&r);
  free(echo);
  free(big);
  free(small);
  free(f1);
  free(f2);
  free(dir);
  free(ca);
}

/* The status and body curl got through the tunnel. */
static int tunnel_status(char **body) {
  fca_run_t r;
  char *u = shop("/echo");
  int rc = pcurl(&r, (const char *[]){"-w", "\n%{http_code}", u, NULL});
  free(u);
  cr_assert_eq(rc, 0, "curl exited %d: %s", rc, r.err);
  char *nl = strrchr(r.out, '\n');
  int code = nl ? atoi(nl + 1) : -1;
  if (nl) *nl = 0;
  *body = r.out;
  free(r.err);
  return code;
}

Test(proxy_https, proxy_untrusted_origin_is_502) {
  char *ca = start_tls_origin("leaf");
  start_proxy(NULL); /* the test CA is not trusted */
  char *body;
  int code = tunnel_status(&body);
  cr_assert_eq(code, 502, "got %d: %s", code, body);
  cr_assert_not_null(strstr(body, "shop.test"), "%s", body);
  free(body);
  free(ca);
}

Test(proxy_https, proxy_expired_origin_cert_is_502) {
  char *ca = start_tls_origin("expired");
  start_proxy(ca);
  char *body;
  int code = tunnel_status(&body);
  cr_assert_eq(code, 502, "got %d: %s", code, body);
  cr_assert_not_null(strstr(body, "shop.test"), "%s", body);
  cr_assert_not_null(strcasestr(body, "expired"), "the 502 does not say why: %s", body);
  free(body);
  free(ca);
}

Test(proxy_https, proxy_wrong_name_origin_cert_is_502) {
  char *ca = start_tls_origin("wrong");
  start_proxy(ca);
  char *body;
  int code = tunnel_status(&body);
  cr_assert_eq(code, 502, "got %d: %s", code, body);
  cr_assert_not_null(strstr(body, "shop.test"), "%s", body);
  cr_assert_not_null(strcasestr(body, "name"), "the 502 does not say why: %s", body);
  free(body);
  free(ca);
}
