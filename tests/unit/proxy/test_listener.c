/* Unit tests for the listeners: --listen parsing and formatting, the probe that makes a port in
 * use an error, SO_REUSEPORT sockets, the loop check (an address that reaches a listener), and,
 * through one worker of the proxy on a loopback port, accepting a connection, the pause when
 * accept() runs out of descriptors (one line when it starts, one with the count of refused
 * attempts when connections are accepted again) and closing the listeners on stop. */
#include "fcaudit/ca.h"
#include "fcaudit/config.h"
#include "fcaudit/proxy.h"
#include "fcaudit/util.h"
#include "harness.h"
#include "listener.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- addresses ---- */

static void parse_ok(const char *spec, const char *formatted) {
  fca_sockaddr_t a;
  char err[256] = "", buf[80];
  cr_assert_eq(fca_listen_parse(spec, &a, err, sizeof err), 0, "%s: %s", spec, err);
  fca_sockaddr_format(&a, buf, sizeof buf);
  cr_assert_str_eq(buf, formatted, "%s", spec);
}

Test(listener, parse_and_format) {
  parse_ok("127.0.0.1:8080", "127.0.0.1:8080");
  parse_ok("[::1]:8443", "[::1]:8443");
  parse_ok("localhost:0", "127.0.0.1:0");
  parse_ok(":9000", "127.0.0.1:9000");
  parse_ok("0.0.0.0:65535", "0.0.0.0:65535");
  fca_sockaddr_t a;
  fca_listen_parse("[::1]:8443", &a, NULL, 0);
  cr_assert_eq(fca_sockaddr_port(&a), 8443);
  cr_assert(fca_sockaddr_is_loopback(&a));
  fca_listen_parse("127.3.2.1:1", &a, NULL, 0);
  cr_assert(fca_sockaddr_is_loopback(&a), "all of 127/8 is loopback");
  fca_listen_parse("0.0.0.0:1", &a, NULL, 0);
  cr_assert_not(fca_sockaddr_is_loopback(&a));
}

Test(listener, parse_refuses_what_is_no_address) {
  static const char *const bad[] = {"8080",      "127.0.0.1", "127.0.0.1:",  "127.0.0.1:x",
                                    "[::1]8080", "[::1:8080", "::1:8080:zz", "1.2.3.4:65536",
                                    "host:80",   "1.2.3.4:-1"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    fca_sockaddr_t a;
    char err[256] = "";
    cr_assert_eq(fca_listen_parse(bad[i], &a, err, sizeof err), -1, "%s accepted", bad[i]);
    cr_assert(strstr(err, "bad listen address") && strstr(err, bad[i]), "%s: %s", bad[i], err);
  }
}

Test(listener, probe_says_a_port_in_use) {
  int busy = 0, fd = fca_busy_port(&busy);
  cr_assert_geq(fd, 0);
  char spec[64], err[256] = "";
  snprintf(spec, sizeof spec, "127.0.0.1:%d", busy);
  fca_sockaddr_t a;
  cr_assert_eq(fca_listen_parse(spec, &a, err, sizeof err), 0);
  cr_assert_eq(fca_listen_probe(&a, err, sizeof err), -1);
  cr_assert(strstr(err, "address already in use") && strstr(err, spec), "%s", err);
  cr_assert_eq(fca_listen_socket(&a, err, sizeof err), -1,
               "a socket without SO_REUSEPORT holds the port");
  close(fd);
  cr_assert_eq(fca_listen_probe(&a, err, sizeof err), 0, "free again: %s", err);
  fca_listen_parse("127.0.0.1:0", &a, NULL, 0);
  cr_assert_eq(fca_listen_probe(&a, err, sizeof err), 0, "port 0 is never in use");
}

Test(listener, sockets_share_a_port_and_do_not_block) {
  fca_sockaddr_t a;
  char err[256] = "";
  fca_listen_parse("127.0.0.1:0", &a, NULL, 0);
  int fd1 = fca_listen_socket(&a, err, sizeof err);
  cr_assert_geq(fd1, 0, "%s", err);
  a.len = sizeof a.addr;
  getsockname(fd1, (struct sockaddr *)&a.addr, &a.len);
  cr_assert_gt(fca_sockaddr_port(&a), 0);
  int fd2 = fca_listen_socket(&a, err, sizeof err);
  cr_assert_geq(fd2, 0, "a second worker's socket on the same port (SO_REUSEPORT): %s", err);
  cr_assert(fcntl(fd1, F_GETFL) & O_NONBLOCK);
  cr_assert(fcntl(fd1, F_GETFD) & FD_CLOEXEC);
  /* Nothing waits: accept says so instead of blocking. */
  cr_assert_eq(accept(fd1, NULL, NULL), -1);
  cr_assert(errno == EAGAIN || errno == EWOULDBLOCK);
  close(fd1);
  close(fd2);
}

static fca_sockaddr_t addr(const char *spec) {
  fca_sockaddr_t a;
  cr_assert_eq(fca_listen_parse(spec, &a, NULL, 0), 0, "%s", spec);
  return a;
}

Test(listener, what_reaches_a_listener) {
  fca_sockaddr_t listen[] = {addr("127.0.0.1:8080")};
  fca_sockaddr_t local[] = {addr("192.0.2.7:0")};
  static const char *const reach[] = {"127.0.0.1:8080", "127.9.9.9:8080", "0.0.0.0:8080",
                                      "[::1]:8080",     "[::]:8080",      "[::ffff:127.0.0.1]:8080",
                                      "192.0.2.7:8080", "0.1.2.3:8080"};
  for (size_t i = 0; i < sizeof reach / sizeof reach[0]; i++) {
    fca_sockaddr_t s = addr(reach[i]);
    cr_assert(fca_sockaddr_reaches_listener((struct sockaddr *)&s.addr, listen, 1, local, 1),
              "%s reaches 127.0.0.1:8080", reach[i]);
  }
  static const char *const miss[] = {"127.0.0.1:8081", "192.0.2.8:8080", "[2001:db8::1]:8080"};
  for (size_t i = 0; i < sizeof miss / sizeof miss[0]; i++) {
    fca_sockaddr_t s = addr(miss[i]);
    cr_assert_not(fca_sockaddr_reaches_listener((struct sockaddr *)&s.addr, listen, 1, local, 1),
                  "%s does not reach 127.0.0.1:8080", miss[i]);
  }
  /* A listener bound to an address that is no interface's still counts. */
  fca_sockaddr_t odd[] = {addr("198.51.100.1:3128")};
  fca_sockaddr_t s = addr("198.51.100.1:3128");
  cr_assert(fca_sockaddr_reaches_listener((struct sockaddr *)&s.addr, odd, 1, NULL, 0));
  s = addr("192.0.2.7:1");
  cr_assert(fca_sockaddr_is_this_host((struct sockaddr *)&s.addr, local, 1));
  s = addr("[2001:db8::1]:1");
  cr_assert_not(fca_sockaddr_is_this_host((struct sockaddr *)&s.addr, local, 1));
}

/* ---- accepting, through one worker of the proxy ---- */

static char tmpdir[64];
static fca_ca_t *ca;
static fca_config_t cfg;
static char *listen_spec[] = {"127.0.0.1:0"};
static fca_proxy_t *px;
static int port;
static int saved_stderr = -1;
static int errread = -1; /* opened at start: the log stays readable with every descriptor taken */
static char errpath[128];

static void start(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/fca-listener-test-XXXXXX");
  cr_assert_not_null(mkdtemp(tmpdir));
  char err[256], dir[128];
  snprintf(dir, sizeof dir, "%s/ca", tmpdir);
  ca = fca_ca_create(dir, NULL, false, err, sizeof err);
  cr_assert_not_null(ca, "%s", err);
  /* The proxy's log lines go to a file the tests read. */
  snprintf(errpath, sizeof errpath, "%s/stderr", tmpdir);
  int efd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
  cr_assert_geq(efd, 0);
  fflush(stderr);
  saved_stderr = dup(2);
  dup2(efd, 2);
  close(efd);
  errread = open(errpath, O_RDONLY);
  cr_assert_geq(errread, 0);
  fca_config_init(&cfg);
  cfg.workers = 1;
  cfg.listen = (fca_strlist_t){listen_spec, 1};
  fca_proxy_opts_t o = {.cfg = &cfg, .ca = ca};
  px = fca_proxy_new(&o, err, sizeof err);
  cr_assert_not_null(px, "%s", err);
  port = fca_proxy_port(px, 0);
  cr_assert_gt(port, 0);
  fca_proxy_start(px);
}

static void stop(void) {
  if (px) {
    fca_proxy_stop(px);
    fca_proxy_wait_free(px);
  }
  px = NULL;
  cfg.listen = (fca_strlist_t){NULL, 0};
  fca_config_free(&cfg);
  fca_ca_free(ca);
  if (saved_stderr >= 0) {
    dup2(saved_stderr, 2);
    close(saved_stderr);
    saved_stderr = -1;
  }
  if (errread >= 0) close(errread);
  errread = -1;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  cr_assert_eq(system(cmd), 0);
}

TestSuite(accept, .init = start, .fini = stop, .timeout = 60);

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What the proxy logged so far (malloc'd). */
static char *logged(void) {
  char *buf = fca_xcalloc(1, 65536);
  ssize_t n = pread(errread, buf, 65535, 0);
  cr_assert_geq(n, 0);
  buf[n] = '\0';
  return buf;
}

/* A connected loopback socket to the proxy (the socket made before, when s >= 0). */
static int dial(int s) {
  if (s < 0) s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cr_assert_geq(s, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  cr_assert_eq(connect(s, (struct sockaddr *)&a, sizeof a), 0, "%s", strerror(errno));
  return s;
}

/* Sends a request the proxy answers itself (origin form: 400) and reads the status line; ""
 * when nothing came within ms. */
static void ask(int s) {
  static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  cr_assert_eq(send(s, req, sizeof req - 1, MSG_NOSIGNAL), (ssize_t)(sizeof req - 1));
}

static bool answered(int s, int ms) {
  struct pollfd p = {.fd = s, .events = POLLIN};
  if (poll(&p, 1, ms) != 1) return false;
  char buf[64] = "";
  ssize_t r = recv(s, buf, sizeof buf - 1, 0);
  return r >= 12 && strncmp(buf, "HTTP/1.1 400", 12) == 0;
}

Test(accept, a_connection_is_accepted_and_served) {
  int s = dial(-1);
  ask(s);
  cr_assert(answered(s, 5000), "the worker accepted the connection and answered it");
  fca_metrics_t m;
  fca_proxy_metrics(px, &m);
  cr_assert_eq(m.conns_total, 1);
  close(s);
  char *log = logged();
  cr_assert_null(strstr(log, "accept"), "nothing to say about accepting:\n%s", log);
  free(log);
}

Test(accept, out_of_descriptors_pauses_and_says_so_twice) {
  enum { CLIENTS = 4 };
  /* Every descriptor this process may open is taken (the limit is lowered to a few above the
   * highest in use), except the client sockets made beforehand: the worker's accept() fails
   * with EMFILE while the connections wait in the backlog. */
  struct rlimit old;
  cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
  int probe = dup(0);
  struct rlimit low = {(rlim_t)probe + 64, old.rlim_max};
  close(probe);
  cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
  int cs[CLIENTS];
  for (int i = 0; i < CLIENTS; i++) cs[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int fill[128], nfill = 0;
  while (nfill < 128 && (fill[nfill] = dup(0)) >= 0) nfill++;
  cr_assert_eq(errno, EMFILE);
  cr_assert_lt(nfill, 128);
  for (int i = 0; i < CLIENTS; i++) {
    dial(cs[i]);
    ask(cs[i]);
  }
  /* Starving: nothing is served, and the episode is told once however often accept fails
   * (it is retried after 10, 20, 40 ... ms). */
  char *log = NULL;
  for (long long end = now_ms() + 5000; now_ms() < end; usleep(20 * 1000)) {
    free(log);
    log = logged();
    if (strstr(log, "out of file descriptors")) break;
  }
  cr_assert_not_null(strstr(log, "out of file descriptors"), "the pause is told:\n%s", log);
  usleep(400 * 1000);
  cr_assert_not(answered(cs[0], 0), "no connection is accepted while descriptors lack");
  free(log);
  log = logged();
  cr_assert_eq(fca_count_str(log, strlen(log), "accept"), 1, "one line when the pause starts:\n%s",
               log);
  cr_assert(strstr(log, "pausing new connections"), "%s", log);
  cr_assert_null(strstr(log, "accepting connections again"), "%s", log);
  /* Descriptors come back: every waiting client is served, and the end is told with a count. */
  for (int i = 0; i < nfill; i++) close(fill[i]);
  setrlimit(RLIMIT_NOFILE, &old);
  for (int i = 0; i < CLIENTS; i++)
    cr_assert(answered(cs[i], 5000), "client %d is served once descriptors are back", i);
  for (long long end = now_ms() + 5000; now_ms() < end; usleep(20 * 1000)) {
    free(log);
    log = logged();
    if (strstr(log, "accepting connections again")) break;
  }
  const char *again = strstr(log, "accepting connections again: ");
  cr_assert_not_null(again, "the end of the pause is told:\n%s", log);
  unsigned long long n = strtoull(again + strlen("accepting connections again: "), NULL, 10);
  cr_assert_geq(n, 2, "the refused attempts are counted (retries included):\n%s", log);
  cr_assert(strstr(again, "refused for lack of file descriptors over "), "%s", log);
  cr_assert_eq(fca_count_str(log, strlen(log), "accept"), 2, "two lines for one episode:\n%s", log);
  fca_metrics_t m;
  fca_proxy_metrics(px, &m);
  cr_assert_eq(m.conns_total, CLIENTS);
  for (int i = 0; i < CLIENTS; i++) close(cs[i]);
  free(log);
}

Test(accept, stop_closes_the_listener) {
  int s = dial(-1);
  ask(s);
  cr_assert(answered(s, 5000));
  fca_proxy_stop(px);
  fca_proxy_join(px);
  /* The listening socket is closed with the worker's listeners: nobody accepts any more. */
  fca_proxy_wait_free(px);
  px = NULL;
  int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  cr_assert_eq(connect(c, (struct sockaddr *)&a, sizeof a), -1);
  cr_assert_eq(errno, ECONNREFUSED, "%s", strerror(errno));
  close(c);
  close(s);
}
