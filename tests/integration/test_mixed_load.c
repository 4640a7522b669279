/* A mixed load on the real binary, meant for the ThreadSanitizer build (tools/test --tsan) and
 * run by the ordinary suites too: two workers serve plain HTTP, intercepted HTTPS and blind
 * tunnels while the admin thread answers /api/report.json, /metrics and /healthz and the main
 * thread takes SIGHUP (log reopen) every 50 ms. Every request must succeed, the proxy must exit
 * cleanly on SIGTERM, and its stderr must hold no ThreadSanitizer report. Loopback only. */
#include "harness.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

TestSuite(mixed, .fini = fca_harness_cleanup, .timeout = 600);

enum { ROUNDS = 6, PER_ROUND = 16 };

Test(mixed, concurrent_http_https_tunnels_admin_and_sighup) {
  fca_origin_t plain, tls;
  cr_assert_eq(fca_origin_start(&plain, NULL), 0);
  cr_assert_eq(fca_origin_start(&tls, &(fca_origin_opts_t){.tls = true}), 0);
  int admin_port = fca_free_port();
  char admin[64], resolve[128], resolve_b[128], resolve_c[128], ignore[64];
  snprintf(admin, sizeof admin, "127.0.0.1:%d", admin_port);
  snprintf(resolve, sizeof resolve, "shop.test:%d:127.0.0.1", tls.port);
  /* More names: certificates are minted while the metrics thread reads the cache's counters. */
  snprintf(resolve_b, sizeof resolve_b, "b.shop.test:%d:127.0.0.1", tls.port);
  snprintf(resolve_c, sizeof resolve_c, "c.shop.test:%d:127.0.0.1", tls.port);
  snprintf(ignore, sizeof ignore, "localhost");
  fca_testproxy_t px;
  cr_assert_eq(
      fca_testproxy_start(&px, (const char *const[]){"--workers", "2", "--admin", admin,
                                                     "--upstream-ca", tls.ca_pem, "--resolve",
                                                     resolve, "--resolve", resolve_b, "--resolve",
                                                     resolve_c, "--ignore-hosts", ignore, NULL}),
      0);
  cr_assert_eq(fca_wait_tcp_port(admin_port, 10000), 0, "admin listener");
  char proxy[64], cacert[512];
  snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d", px.port);
  snprintf(cacert, sizeof cacert, "%s/ca.pem", px.ca_dir);
  char u_plain[128], u_tls[128], u_tls_b[128], u_tls_c[128], u_tunnel[128], u_report[128],
      u_metrics[128], u_health[128];
  snprintf(u_plain, sizeof u_plain, "http://127.0.0.1:%d/size/20000", plain.port);
  snprintf(u_tls, sizeof u_tls, "https://shop.test:%d/", tls.port);
  snprintf(u_tls_b, sizeof u_tls_b, "https://b.shop.test:%d/", tls.port);
  snprintf(u_tls_c, sizeof u_tls_c, "https://c.shop.test:%d/", tls.port);
  /* localhost is in --ignore-hosts: a blind tunnel to the TLS origin. */
  snprintf(u_tunnel, sizeof u_tunnel, "https://localhost:%d/echo", tls.port);
  snprintf(u_report, sizeof u_report, "http://127.0.0.1:%d/api/report.json", admin_port);
  snprintf(u_metrics, sizeof u_metrics, "http://127.0.0.1:%d/metrics", admin_port);
  snprintf(u_health, sizeof u_health, "http://fcaudit.test/healthz");

  /* SIGHUP every 50 ms from a child process for the whole load. */
  pid_t hup = fork();
  cr_assert_geq(hup, 0);
  if (hup == 0) {
    for (int i = 0; i < 2000; i++) {
      if (kill(px.pid, SIGHUP) != 0) _exit(0);
      usleep(50 * 1000);
    }
    _exit(0);
  }
  char *dir = fca_tmpdir_new();
  for (int round = 0; round < ROUNDS; round++) {
    pid_t pids[PER_ROUND];
    for (int i = 0; i < PER_ROUND; i++) {
      const char *u;
      bool via_proxy = true, tls_client = false;
      switch (i % 8) {
      case 0: u = u_plain; break;
      case 1: u = u_tls, tls_client = true; break;
      case 2: u = u_tunnel; break;
      case 3: u = u_report, via_proxy = false; break;
      case 4: u = u_metrics, via_proxy = false; break;
      case 5: u = round % 2 ? u_tls_b : u_tls_c, tls_client = true; break;
      case 6: u = u_metrics, via_proxy = false; break;
      default: u = u_health; break;
      }
      const char *argv[16];
      int k = 0;
      argv[k++] = "curl";
      argv[k++] = "-sSf";
      argv[k++] = "--max-time";
      argv[k++] = "60";
      argv[k++] = "-o";
      argv[k++] = "/dev/null";
      if (via_proxy) {
        argv[k++] = "-x";
        argv[k++] = proxy;
      }
      if (tls_client) {
        argv[k++] = "--cacert";
        argv[k++] = cacert;
      }
      if (u == u_tunnel) {
        argv[k++] = "--cacert";
        argv[k++] = tls.ca_pem;
      }
      argv[k++] = u;
      argv[k] = NULL;
      char name[32];
      snprintf(name, sizeof name, "curl-%d-%d.err", round, i);
      char *errp = fca_path(dir, name);
      pids[i] = fca_spawn((char *const *)argv, NULL, errp);
      free(errp);
      cr_assert_gt(pids[i], 0);
    }
    for (int i = 0; i < PER_ROUND; i++) {
      int st = 0;
      cr_assert_eq(fca_proc_wait(pids[i], 120000, &st), 0, "curl %d timed out", i);
      char name[32];
      snprintf(name, sizeof name, "curl-%d-%d.err", round, i);
      char *errp = fca_path(dir, name);
      char *err = fca_read_file(errp, NULL);
      if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        char *perr = fca_testproxy_stderr(&px);
        size_t pl = strlen(perr);
        cr_assert_fail("round %d request %d failed: %s\nfcaudit:\n%s", round, i, err ? err : "",
                       perr + (pl > 2000 ? pl - 2000 : 0));
      }
      free(err);
      free(errp);
    }
  }
  kill(hup, SIGKILL);
  waitpid(hup, NULL, 0);
  cr_assert(fca_proc_alive(px.pid));
  int st = fca_testproxy_stop(&px);
  char *err = fca_testproxy_stderr(&px);
  cr_assert_null(strstr(err, "ThreadSanitizer"), "%s", err);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d:\n%.4000s", st, err);
  free(err);
  free(dir);
}
