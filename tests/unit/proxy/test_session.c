/* Unit tests for the client session (HTTP/1.1 side) on a socketpair: answers the proxy gives
 * itself (400, 408), an absolute-form request through its exchange to a scripted origin,
 * keep-alive reuse of the upstream, pipelined requests answered in order, and drain closing an
 * idle session. */
#include "conn.h"
#include "fcaudit/util.h"
#include "proxy_fixture.h"

#include <fcntl.h>
#include <poll.h>

static fx_t fx;
static int peer = -1;

static void setup(void) {
  fx_init(&fx);
  fx.cfg.idle_timeout_ms = 5000;
}

/* The session of a newly accepted client (after the test set its configuration). */
static void open_session(void) {
  int sv[2];
  cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  peer = sv[1];
  struct sockaddr_in a = {
      .sin_family = AF_INET, .sin_port = htons(5555), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  fca_conn_accept(&fx.w, sv[0], (struct sockaddr *)&a, sizeof a);
}

static void teardown(void) {
  fca_conn_close_all(&fx.w);
  event_base_loop(fx.w.base, EVLOOP_NONBLOCK);
  if (peer >= 0) close(peer);
  fx_free(&fx);
}

TestSuite(session, .init = setup, .fini = teardown, .timeout = 30);

static int count_ok(const char *s) {
  int n = 0;
  for (const char *p = s; (p = strstr(p, "HTTP/1.1 200 OK\r\n")); p++) n++;
  return n;
}

static void say(const char *s) { cr_assert_eq(write(peer, s, strlen(s)), (ssize_t)strlen(s)); }

/* Runs the loop and collects what the client receives until `until` appears (or EOF/timeout). */
static char got[65536];
static size_t gotn;
static bool eof;
static bool hear(const char *until, int ms) {
  for (int i = 0; i < ms / 5; i++) {
    struct timeval tv = {0, 5000};
    event_base_loopexit(fx.w.base, &tv);
    event_base_loop(fx.w.base, 0);
    ssize_t r;
    while ((r = read(peer, got + gotn, sizeof got - 1 - gotn)) > 0) gotn += (size_t)r;
    if (r == 0) eof = true;
    got[gotn] = '\0';
    if ((until && strstr(got, until)) || eof) break;
  }
  return until ? strstr(got, until) != NULL : eof;
}

Test(session, malformed_request_is_400_and_closes) {
  open_session();
  say("GARBAGE\r\n\r\n");
  cr_assert(hear("\n", 2000));
  cr_assert(strncmp(got, "HTTP/1.1 400 Bad Request\r\n", 26) == 0, "%s", got);
  cr_assert(strstr(got, "Connection: close\r\n"), "%s", got);
  cr_assert(hear(NULL, 2000), "the session closes after the answer");
  cr_assert_eq(atomic_load(&fx.stats.errors), 1);
}

Test(session, origin_form_to_the_proxy_is_400) {
  open_session();
  say("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  cr_assert(hear("this is a proxy", 2000), "%s", got);
  cr_assert(strncmp(got, "HTTP/1.1 400 ", 13) == 0, "%s", got);
}

Test(session, header_timeout_is_408) {
  fx.cfg.header_timeout_ms = 100;
  open_session();
  say("GET http://origin.test/ HTTP/1.1\r\n"); /* never finished */
  cr_assert(hear("\r\n\r\n", 3000), "%s", got);
  cr_assert(strncmp(got, "HTTP/1.1 408 Request Timeout\r\n", 30) == 0, "%s", got);
}

Test(session, request_through_the_exchange_keep_alive_and_pipelined) {
  open_session();
  fx.answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  char req[256];
  snprintf(req, sizeof req, "GET http://origin.test:%d/a HTTP/1.1\r\nHost: origin.test\r\n\r\n",
           fx.port);
  say(req);
  cr_assert(hear("\r\n\r\nok", 3000), "%s", got);
  cr_assert(strstr(fx.got, "GET /a HTTP/1.1\r\n") == fx.got, "origin-form upstream: %s", fx.got);
  /* Two pipelined requests: answered in order, on the kept upstream. */
  gotn = 0;
  got[0] = '\0';
  snprintf(req, sizeof req,
           "GET http://origin.test:%d/b HTTP/1.1\r\nHost: origin.test\r\n\r\n"
           "GET http://origin.test:%d/c HTTP/1.1\r\nHost: origin.test\r\n\r\n",
           fx.port, fx.port);
  say(req);
  for (int i = 0; i < 200 && count_ok(got) < 2; i++) hear("never", 10);
  cr_assert_eq(count_ok(got), 2, "%s", got);
  cr_assert_eq(__atomic_load_n(&fx.requests, __ATOMIC_SEQ_CST), 3);
  cr_assert_eq(atomic_load(&fx.stats.upstream_reused), 2, "one upstream for all three");
  cr_assert_eq(atomic_load(&fx.stats.requests), 3);
}

Test(session, drain_closes_an_idle_session) {
  open_session();
  fca_conn_drain_all(&fx.w);
  cr_assert(hear(NULL, 2000), "an idle session closes on drain");
  cr_assert_eq(gotn, 0);
}

/* A client that half-closes while its blind CONNECT tunnel is still being opened: its bytes
 * and then its FIN reach the target once the tunnel is up (the target answers after the FIN). */
Test(session, half_close_before_a_blind_tunnel_opens_is_passed_on) {
  char **ignore = fca_xcalloc(1, sizeof *ignore); /* the configuration frees it */
  ignore[0] = fca_xstrdup("origin.test");
  fx.cfg.ignore_hosts = (fca_strlist_t){ignore, 1};
  fx.answer = "bye";
  fx.close_after = true;
  open_session();
  char req[128];
  snprintf(req, sizeof req, "CONNECT origin.test:%d HTTP/1.1\r\nHost: origin.test\r\n\r\nhello",
           fx.port);
  say(req);
  shutdown(peer, SHUT_WR);
  cr_assert(hear("bye", 3000), "the target never saw the end of the client's bytes: %s", got);
  cr_assert(strncmp(got, "HTTP/1.1 200 Connection established\r\n\r\nbye", 42) == 0, "%s", got);
  cr_assert_str_eq(fx.got, "hello");
  cr_assert(hear(NULL, 3000), "the tunnel closes after the target did");
}
