/* Tests for the upstream pool: the most recently parked connection for a key comes back first;
 * a full pool closes its oldest; a parked connection that receives bytes, that the origin
 * closes, or that stays idle too long is dropped (and its socket closed) without the owner's
 * callbacks ever running. */
#include <criterion/criterion.h>

#include "endpoint.h"
#include "fcaudit/util.h"
#include "upool.h"

#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct event_base *base;
static int owner_calls;

static void owner_read(fca_ep_t *ep, void *ud) {
  (void)ep;
  (void)ud;
  owner_calls++;
}
static void owner_event(fca_ep_t *ep, int what, void *ud) {
  (void)ep;
  (void)what;
  (void)ud;
  owner_calls++;
}
static const fca_ep_cbs_t owner_cbs = {owner_read, NULL, owner_event};

/* An endpoint on one end of a socketpair; *origin is the other end. */
static fca_ep_t *conn(int *origin) {
  int sv[2];
  cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  fcntl(sv[0], F_SETFL, O_NONBLOCK);
  fcntl(sv[1], F_SETFL, O_NONBLOCK);
  *origin = sv[1];
  return fca_ep_new(base, sv[0], false, &owner_cbs, NULL);
}

/* Did the pool close the socket behind origin (end of file on the origin's side)? */
static bool closed(int origin) {
  char c;
  return read(origin, &c, 1) == 0;
}

static void spin(int ms) {
  int64_t end = fca_mono_ms() + ms;
  while (fca_mono_ms() < end) {
    event_base_loop(base, EVLOOP_NONBLOCK);
    usleep(1000);
  }
}

static void setup(void) {
  base = event_base_new();
  owner_calls = 0;
}
static void teardown(void) { event_base_free(base); }

TestSuite(upool, .init = setup, .fini = teardown);

Test(upool, take_returns_the_newest_for_the_key) {
  fca_upool_t *p = fca_upool_new(base, 8, 30000);
  int o1, o2, o3;
  fca_ep_t *a = conn(&o1), *b = conn(&o2), *c = conn(&o3);
  fca_upool_put(p, "https://shop.test:443", a);
  fca_upool_put(p, "https://shop.test:443", b);
  fca_upool_put(p, "https://api.test:443", c);
  cr_assert_eq(fca_upool_size(p), 3);
  cr_assert_null(fca_upool_take(p, "http://shop.test:80"), "another scheme is another key");
  cr_assert_eq(fca_upool_take(p, "https://shop.test:443"), b);
  cr_assert_eq(fca_upool_take(p, "https://shop.test:443"), a);
  cr_assert_null(fca_upool_take(p, "https://shop.test:443"));
  cr_assert_eq(fca_upool_hits(p), 2);
  cr_assert_eq(fca_upool_size(p), 1);
  fca_ep_free(a);
  fca_ep_free(b);
  fca_upool_free(p); /* frees c */
  cr_assert(closed(o3));
  close(o1), close(o2), close(o3);
}

Test(upool, full_pool_closes_the_oldest) {
  fca_upool_t *p = fca_upool_new(base, 2, 30000);
  int o[3];
  fca_ep_t *e[3];
  for (int i = 0; i < 3; i++) {
    e[i] = conn(&o[i]);
    fca_upool_put(p, "k", e[i]);
  }
  cr_assert_eq(fca_upool_size(p), 2);
  spin(20); /* the dropped endpoint is freed from a deferred event */
  cr_assert(closed(o[0]), "the oldest was not closed");
  cr_assert_not(closed(o[1]));
  cr_assert_eq(fca_upool_take(p, "k"), e[2]);
  cr_assert_eq(fca_upool_take(p, "k"), e[1]);
  fca_ep_free(e[1]);
  fca_ep_free(e[2]);
  fca_upool_free(p);
  for (int i = 0; i < 3; i++) close(o[i]);
}

Test(upool, bytes_or_close_from_the_origin_drop_the_connection) {
  fca_upool_t *p = fca_upool_new(base, 8, 30000);
  int o1, o2;
  fca_upool_put(p, "a", conn(&o1));
  fca_upool_put(p, "b", conn(&o2));
  cr_assert_eq(write(o1, "x", 1), 1); /* an unsolicited byte: the connection is unusable */
  shutdown(o2, SHUT_WR);              /* the origin closed its idle connection */
  int64_t deadline = fca_mono_ms() + 5000;
  while (fca_upool_size(p) > 0) {
    cr_assert_lt(fca_mono_ms(), deadline, "still parked: %zu", fca_upool_size(p));
    spin(5);
  }
  cr_assert_null(fca_upool_take(p, "a"));
  cr_assert_null(fca_upool_take(p, "b"));
  spin(20);
  cr_assert(closed(o1));
  cr_assert_eq(owner_calls, 0, "the previous owner's callbacks ran while parked");
  fca_upool_free(p);
  close(o1), close(o2);
}

Test(upool, idle_connections_expire) {
  fca_upool_t *p = fca_upool_new(base, 8, 100);
  int o;
  fca_upool_put(p, "k", conn(&o));
  spin(50);
  cr_assert_eq(fca_upool_size(p), 1, "expired too early");
  int64_t deadline = fca_mono_ms() + 5000;
  while (fca_upool_size(p) > 0) {
    cr_assert_lt(fca_mono_ms(), deadline, "idle connection never expired");
    spin(20);
  }
  spin(20);
  cr_assert(closed(o));
  fca_upool_free(p);
  close(o);
}
