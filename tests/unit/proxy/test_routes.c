/* Unit tests for routes: curl-compatible --resolve / --connect-to parsing and lookups, and the
 * --only-resolved policy. */
#include "routes.h"

#include <criterion/criterion.h>
#include <string.h>

static fca_routes_t *make(const char **res, size_t nres, const char **ct, size_t nct) {
  fca_strlist_t r = {(char **)res, nres}, c = {(char **)ct, nct};
  char err[256];
  fca_routes_t *rt = fca_routes_new(&r, &c, err, sizeof err);
  cr_assert_not_null(rt, "%s", err);
  return rt;
}

Test(routes, resolve_syntax) {
  char err[256];
  cr_assert_eq(fca_routes_check_resolve("shop.test:443:127.0.0.1", err, sizeof err), 0);
  cr_assert_eq(fca_routes_check_resolve("shop.test:443:[::1]", err, sizeof err), 0);
  cr_assert_eq(fca_routes_check_resolve("+shop.test:443:127.0.0.1,::1", err, sizeof err), 0);
  cr_assert_eq(fca_routes_check_resolve("shop.test:443", err, sizeof err), -1);
  cr_assert(strstr(err, "HOST:PORT:ADDR") != NULL, "%s", err);
  cr_assert_eq(fca_routes_check_resolve("shop.test:x:127.0.0.1", err, sizeof err), -1);
  cr_assert_eq(fca_routes_check_resolve("shop.test:443:not-an-ip", err, sizeof err), -1);
  cr_assert(strstr(err, "not an IP address") != NULL, "%s", err);
  cr_assert_eq(fca_routes_check_resolve(":443:127.0.0.1", err, sizeof err), -1);
}

Test(routes, connect_to_syntax) {
  char err[256];
  cr_assert_eq(fca_routes_check_connect_to("shop.test:443:127.0.0.1:8443", err, sizeof err), 0);
  cr_assert_eq(fca_routes_check_connect_to("::127.0.0.1:", err, sizeof err), 0);
  cr_assert_eq(fca_routes_check_connect_to("[::1]:443:[::1]:8443", err, sizeof err), 0);
  cr_assert_eq(fca_routes_check_connect_to("a:1:b", err, sizeof err), -1);
  cr_assert_eq(fca_routes_check_connect_to("a:70000:b:1", err, sizeof err), -1);
}

Test(routes, resolve_lookup) {
  const char *res[] = {"shop.test:443:127.0.0.1", "SHOP.test:80:::1"};
  fca_routes_t *r = make(res, 2, NULL, 0);
  fca_route_t rt;
  fca_routes_lookup(r, "shop.test", 443, &rt);
  cr_assert_eq(rt.n_addrs, 1);
  cr_assert_str_eq(rt.addrs[0], "127.0.0.1");
  cr_assert(rt.named);
  fca_routes_lookup(r, "Shop.Test", 80, &rt);
  cr_assert_str_eq(rt.addrs[0], "::1");
  fca_routes_lookup(r, "shop.test", 8080, &rt);
  cr_assert_eq(rt.n_addrs, 0, "--resolve is per port, as in curl");
  cr_assert_not(fca_route_allowed_offline(&rt, "shop.test"));
  fca_routes_free(r);
}

Test(routes, connect_to_then_resolve) {
  const char *ct[] = {"js.stripe.com:443:stripe-standin.test:9443", "::127.0.0.1:"};
  const char *res[] = {"stripe-standin.test:9443:127.0.0.1"};
  fca_routes_t *r = make(res, 1, ct, 2);
  fca_route_t rt;
  fca_routes_lookup(r, "js.stripe.com", 443, &rt);
  cr_assert_str_eq(rt.host, "stripe-standin.test");
  cr_assert_eq(rt.port, 9443);
  cr_assert_str_eq(rt.addrs[0], "127.0.0.1");
  cr_assert(fca_route_allowed_offline(&rt, "js.stripe.com"));
  /* The wildcard entry sends everything else to 127.0.0.1, same port. */
  fca_routes_lookup(r, "other.test", 8080, &rt);
  cr_assert_str_eq(rt.host, "127.0.0.1");
  cr_assert_eq(rt.port, 8080);
  cr_assert_eq(rt.n_addrs, 1);
  cr_assert_not(rt.named, "a wildcard does not name a host");
  cr_assert_not(fca_route_allowed_offline(&rt, "other.test"));
  fca_routes_free(r);
}

Test(routes, only_resolved_policy) {
  fca_routes_t *r = make(NULL, 0, NULL, 0);
  fca_route_t rt;
  fca_routes_lookup(r, "127.0.0.1", 8080, &rt);
  cr_assert(fca_route_allowed_offline(&rt, "127.0.0.1"));
  fca_routes_lookup(r, "::1", 8080, &rt);
  cr_assert(fca_route_allowed_offline(&rt, "::1"));
  fca_routes_lookup(r, "localhost", 8080, &rt);
  cr_assert(fca_route_allowed_offline(&rt, "localhost"));
  fca_routes_lookup(r, "10.1.2.3", 80, &rt);
  cr_assert_not(fca_route_allowed_offline(&rt, "10.1.2.3"), "not loopback, not named");
  fca_routes_lookup(r, "example.com", 80, &rt);
  cr_assert_not(fca_route_allowed_offline(&rt, "example.com"));
  fca_routes_free(r);
}

Test(routes, loopback_and_ip) {
  cr_assert(fca_host_is_loopback("127.8.9.1"));
  cr_assert(fca_host_is_loopback("::1"));
  cr_assert_not(fca_host_is_loopback("128.0.0.1"));
  cr_assert(fca_host_is_ip("::ffff:1.2.3.4"));
  cr_assert_not(fca_host_is_ip("shop.test"));
}

Test(routes, resolve_wildcard_host) {
  const char *res[] = {"*:443:127.0.0.1", "shop.test:443:::1"};
  fca_routes_t *r = make(res, 2, NULL, 0);
  fca_route_t rt;
  fca_routes_lookup(r, "any.test", 443, &rt);
  cr_assert_eq(rt.n_addrs, 1);
  cr_assert_str_eq(rt.addrs[0], "127.0.0.1");
  fca_routes_lookup(r, "shop.test", 443, &rt);
  cr_assert_str_eq(rt.addrs[0], "::1", "a later, specific entry wins");
  fca_routes_lookup(r, "any.test", 80, &rt);
  cr_assert_eq(rt.n_addrs, 0);
  fca_routes_free(r);
}
