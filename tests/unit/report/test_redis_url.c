/* Unit tests for redis_url (the --sink / --redis address): every part parsed, defaults, bad
 * input rejected with a message, and credentials never in a message or the display form. */
#include "fcaudit/redis_url.h"

#include <criterion/criterion.h>
#include <string.h>

Test(redis_url, host_port_only_gets_defaults) {
  fca_redis_url_t u;
  char err[256];
  cr_assert_eq(fca_redis_url_parse("redis://127.0.0.1:6379", &u, err, sizeof err), 0, "%s", err);
  cr_assert_str_eq(u.host, "127.0.0.1");
  cr_assert_eq(u.port, 6379);
  cr_assert_eq(u.db, 0);
  cr_assert_null(u.user);
  cr_assert_null(u.pass);
  cr_assert_str_eq(u.stream, FCA_REDIS_DEFAULT_STREAM);
  cr_assert_eq(u.maxlen, FCA_REDIS_DEFAULT_MAXLEN);
  cr_assert_eq(u.timeout_ms, FCA_REDIS_DEFAULT_TIMEOUT_MS);
  fca_redis_url_free(&u);
}

Test(redis_url, every_part) {
  fca_redis_url_t u;
  char err[256];
  cr_assert_eq(fca_redis_url_parse("redis://ci:s%40cret:x@[::1]:7000/3?stream=qa:events&maxlen=500"
                                   "&backlog=20&timeout=750",
                                   &u, err, sizeof err),
               0, "%s", err);
  cr_assert_str_eq(u.host, "::1");
  cr_assert_eq(u.port, 7000);
  cr_assert_eq(u.db, 3);
  cr_assert_str_eq(u.user, "ci");
  cr_assert_str_eq(u.pass, "s@cret:x");
  cr_assert_str_eq(u.stream, "qa:events");
  cr_assert_eq(u.maxlen, 500);
  cr_assert_eq(u.backlog, 20);
  cr_assert_eq(u.timeout_ms, 750);
  char d[300];
  fca_redis_url_display(&u, d, sizeof d);
  cr_assert_str_eq(d, "redis://***@[::1]:7000/3?stream=qa:events");
  fca_redis_url_free(&u);
}

Test(redis_url, password_alone_and_empty_db) {
  fca_redis_url_t u;
  char err[256];
  cr_assert_eq(fca_redis_url_parse("redis://:hunter2@localhost:6379/", &u, err, sizeof err), 0,
               "%s", err);
  cr_assert_null(u.user);
  cr_assert_str_eq(u.pass, "hunter2");
  cr_assert_eq(u.db, 0);
  char d[300];
  fca_redis_url_display(&u, d, sizeof d);
  cr_assert_null(strstr(d, "hunter2"));
  cr_assert_str_eq(d, "redis://***@localhost:6379/0?stream=fcaudit:events");
  fca_redis_url_free(&u);
}

Test(redis_url, maxlen_zero_means_unbounded) {
  fca_redis_url_t u;
  char err[256];
  cr_assert_eq(fca_redis_url_parse("redis://h:1?maxlen=0", &u, err, sizeof err), 0, "%s", err);
  cr_assert_eq(u.maxlen, 0);
  fca_redis_url_free(&u);
}

Test(redis_url, bad_input_is_refused_without_leaking_the_password) {
  static const char *const bad[] = {
      "http://h:1",                         /* scheme */
      "redis://",                           /* nothing */
      "redis://h",                          /* no port */
      "redis://h:0",                        /* port 0 */
      "redis://h:70000",                    /* port range */
      "redis://h:1/x",                      /* db */
      "redis://h:1/70000",                  /* db range */
      "redis://h:1?stream=",                /* empty stream */
      "redis://h:1?stream=a b",             /* space */
      "redis://h:1?maxlen=-1",              /* negative */
      "redis://h:1?backlog=0",              /* no room at all */
      "redis://h:1?timeout=0",              /* never answers in time */
      "redis://h:1?timeout=5s",             /* milliseconds, a number */
      "redis://h:1?color=red",              /* unknown */
      "redis://h:1#frag",                   /* fragment */
      "redis://topsecret@h:1",              /* no colon in credentials */
      "redis://u:top%zzsecret@h:1",         /* bad escape */
      "redis://u:top%00secret@h:1",         /* NUL */
      "redis://u:topsecret@h:1?stream=a b", /* error after credentials */
      "redis://u:topsecret@h",              /* ditto */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    fca_redis_url_t u;
    char err[256] = "";
    cr_assert_eq(fca_redis_url_parse(bad[i], &u, err, sizeof err), -1, "%s accepted", bad[i]);
    cr_assert_neq(err[0], '\0', "%s: no message", bad[i]);
    cr_assert_null(strstr(err, "secret"), "%s: message leaks it: %s", bad[i], err);
    cr_assert_null(u.pass);
    cr_assert_null(u.stream);
  }
}

Test(redis_url, is_redis) {
  cr_assert(fca_redis_url_is("redis://h:1"));
  cr_assert_not(fca_redis_url_is("rediss://h:1"));
  cr_assert_not(fca_redis_url_is(NULL));
}
