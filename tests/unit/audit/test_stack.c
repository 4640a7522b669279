/* Unit tests for stack: fingerprints from real stacks' default response headers (helmet 8,
 * Django 3.2/4.x SecurityMiddleware, Rails 7, Next.js, nginx, Apache) and the fixes in each
 * stack's words. */
#include "stack.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#define MAXH 32

/* "Name: value\n..." -> header array (strings point into a static copy). */
static size_t headers(const char *text, fca_stack_header_t *out) {
  static char buf[4096];
  snprintf(buf, sizeof buf, "%s", text);
  size_t n = 0;
  for (char *line = buf; *line && n < MAXH;) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = 0;
    char *colon = strchr(line, ':');
    cr_assert_not_null(colon, "bad test header %s", line);
    char *v = colon + 1;
    while (*v == ' ') v++;
    out[n++] = (fca_stack_header_t){line, (size_t)(colon - line), v, strlen(v)};
    if (!nl) break;
    line = nl + 1;
  }
  return n;
}

static fca_stack_t detect(const char *text) {
  fca_stack_header_t h[MAXH];
  size_t n = headers(text, h);
  fca_stack_t s;
  fca_stack_detect(h, n, &s);
  return s;
}

static const char *const HELMET8 =
    "Content-Security-Policy: default-src 'self';base-uri 'self';script-src 'self'\n"
    "Cross-Origin-Opener-Policy: same-origin\n"
    "Cross-Origin-Resource-Policy: same-origin\n"
    "Origin-Agent-Cluster: ?1\n"
    "Referrer-Policy: no-referrer\n"
    "Strict-Transport-Security: max-age=31536000; includeSubDomains\n"
    "X-Content-Type-Options: nosniff\n"
    "X-DNS-Prefetch-Control: off\n"
    "X-Download-Options: noopen\n"
    "X-Frame-Options: SAMEORIGIN\n"
    "X-Permitted-Cross-Domain-Policies: none\n"
    "X-XSS-Protection: 0\n"
    "Content-Type: text/html; charset=utf-8";

static const char *const DJANGO32 = "Content-Type: text/html; charset=utf-8\n"
                                    "X-Frame-Options: DENY\n"
                                    "Vary: Cookie\n"
                                    "X-Content-Type-Options: nosniff\n"
                                    "Referrer-Policy: same-origin";

static const char *const RAILS7 = "X-Frame-Options: SAMEORIGIN\n"
                                  "X-XSS-Protection: 0\n"
                                  "X-Content-Type-Options: nosniff\n"
                                  "X-Download-Options: noopen\n"
                                  "X-Permitted-Cross-Domain-Policies: none\n"
                                  "Referrer-Policy: strict-origin-when-cross-origin\n"
                                  "Content-Type: text/html; charset=utf-8\n"
                                  "X-Request-Id: 2f1b0c7e-5d5e-4d2c-9d51-6c0b2e4f0e1a\n"
                                  "X-Runtime: 0.012345";

Test(stack, helmet_defaults_are_a_guess) {
  fca_stack_t s = detect(HELMET8);
  cr_assert_eq(s.kind, FCA_STACK_HELMET);
  cr_assert_eq(s.confidence, FCA_STACK_GUESS, "helmet never names itself");
  cr_assert_str_eq(fca_stack_name(s.kind), "helmet");
  cr_assert_str_eq(fca_stack_conf_name(s.confidence), "guess");
  cr_assert_not_null(strstr(s.why, "X-DNS-Prefetch-Control"));
}

Test(stack, helmet_with_only_one_own_header_needs_two_shared_ones) {
  cr_assert_eq(detect("X-DNS-Prefetch-Control: off\nX-Download-Options: noopen\n"
                      "X-XSS-Protection: 0")
                   .kind,
               FCA_STACK_HELMET);
  cr_assert_eq(detect("X-DNS-Prefetch-Control: off\nX-Download-Options: noopen").kind,
               FCA_STACK_NONE);
  cr_assert_eq(detect("X-DNS-Prefetch-Control: on\nOrigin-Agent-Cluster: ?1").kind, FCA_STACK_NONE,
               "helmet sends off");
}

Test(stack, express_without_helmet) {
  fca_stack_t s = detect("X-Powered-By: Express\nContent-Type: text/html");
  cr_assert_eq(s.kind, FCA_STACK_EXPRESS);
  cr_assert_eq(s.confidence, FCA_STACK_HIGH);
  /* helmet with hidePoweredBy off: still helmet */
  char t[2048];
  snprintf(t, sizeof t, "X-Powered-By: Express\n%s", HELMET8);
  cr_assert_eq(detect(t).kind, FCA_STACK_HELMET);
}

Test(stack, django_security_middleware) {
  fca_stack_t s = detect(DJANGO32);
  cr_assert_eq(s.kind, FCA_STACK_DJANGO);
  cr_assert_eq(s.confidence, FCA_STACK_GUESS);
  cr_assert_eq(detect("Referrer-Policy: same-origin\nCross-Origin-Opener-Policy: same-origin\n"
                      "X-Content-Type-Options: nosniff")
                   .kind,
               FCA_STACK_DJANGO, "Django 4's COOP default counts");
  cr_assert_eq(detect("Set-Cookie: csrftoken=abc; Path=/\nX-Frame-Options: DENY\n"
                      "X-Content-Type-Options: nosniff")
                   .kind,
               FCA_STACK_DJANGO);
  cr_assert_eq(detect("Server: WSGIServer/0.2 CPython/3.11.2").kind, FCA_STACK_DJANGO);
  /* two of the set without Referrer-Policy same-origin or the cookie: not enough */
  cr_assert_eq(detect("X-Frame-Options: DENY\nX-Content-Type-Options: nosniff").kind,
               FCA_STACK_NONE);
  cr_assert_eq(detect("Set-Cookie: xcsrftoken=1\nX-Frame-Options: DENY\n"
                      "X-Content-Type-Options: nosniff")
                   .kind,
               FCA_STACK_NONE, "a cookie named otherwise");
}

Test(stack, rails_defaults) {
  fca_stack_t s = detect(RAILS7);
  cr_assert_eq(s.kind, FCA_STACK_RAILS);
  cr_assert_eq(s.confidence, FCA_STACK_GUESS);
  cr_assert_eq(detect("X-Runtime: 0.1").kind, FCA_STACK_NONE, "X-Runtime alone is any Rack app");
}

Test(stack, nextjs) {
  cr_assert_eq(detect("X-Powered-By: Next.js").kind, FCA_STACK_NEXTJS);
  fca_stack_t s = detect("x-nextjs-cache: HIT\nServer: nginx");
  cr_assert_eq(s.kind, FCA_STACK_NEXTJS, "the app wins over the server in front of it");
  cr_assert_eq(s.confidence, FCA_STACK_HIGH);
}

Test(stack, static_servers) {
  cr_assert_eq(detect("Server: nginx/1.22.1").kind, FCA_STACK_NGINX);
  cr_assert_eq(detect("Server: nginx").kind, FCA_STACK_NGINX);
  cr_assert_eq(detect("Server: Apache/2.4.57 (Debian)").kind, FCA_STACK_APACHE);
  cr_assert_eq(detect("Server: Apache-Coyote/1.1").kind, FCA_STACK_NONE, "that is Tomcat");
  char t[2048];
  snprintf(t, sizeof t, "Server: nginx\n%s", DJANGO32);
  cr_assert_eq(detect(t).kind, FCA_STACK_DJANGO, "Django behind nginx is fixed in Django");
  cr_assert_eq(detect("Server: gunicorn").kind, FCA_STACK_NONE);
  cr_assert_eq(detect("").kind, FCA_STACK_NONE);
}

static const char *fix(fca_stack_kind_t k, fca_fix_topic_t t, const char *v) {
  static char out[1024];
  cr_assert(fca_stack_fix(k, t, v, out, sizeof out));
  return out;
}

Test(stack, fixes_in_the_words_of_the_stack) {
  cr_assert_str_eq(fix(FCA_STACK_HELMET, FCA_FIX_COOP, NULL),
                   "helmet({ crossOriginOpenerPolicy: { policy: \"same-origin-allow-popups\" } })");
  cr_assert_str_eq(fix(FCA_STACK_HELMET, FCA_FIX_REFERRER, NULL),
                   "helmet({ referrerPolicy: { policy: \"strict-origin-when-cross-origin\" } })");
  cr_assert_str_eq(fix(FCA_STACK_DJANGO, FCA_FIX_COOP, NULL),
                   "settings.py: SECURE_CROSS_ORIGIN_OPENER_POLICY = \"same-origin-allow-popups\"");
  cr_assert_str_eq(fix(FCA_STACK_DJANGO, FCA_FIX_REFERRER, NULL),
                   "settings.py: SECURE_REFERRER_POLICY = \"strict-origin-when-cross-origin\"");
  cr_assert_not_null(strstr(fix(FCA_STACK_RAILS, FCA_FIX_COOP, NULL),
                            "config.action_dispatch.default_headers[\"Cross-Origin-Opener-"
                            "Policy\"] = \"same-origin-allow-popups\""));
  cr_assert_not_null(strstr(fix(FCA_STACK_NEXTJS, FCA_FIX_REFERRER, NULL), "headers()"));
  cr_assert_not_null(strstr(fix(FCA_STACK_NEXTJS, FCA_FIX_REFERRER, NULL), "next.config.js"));
  cr_assert_str_eq(fix(FCA_STACK_NGINX, FCA_FIX_COOP, NULL),
                   "add_header Cross-Origin-Opener-Policy \"same-origin-allow-popups\" always; in "
                   "the nginx location serving this page");
  cr_assert_str_eq(fix(FCA_STACK_APACHE, FCA_FIX_REFERRER, NULL),
                   "Header always set Referrer-Policy \"strict-origin-when-cross-origin\" in the "
                   "Apache vhost or .htaccess");
  cr_assert_str_eq(fix(FCA_STACK_HELMET, FCA_FIX_COEP, NULL),
                   "helmet({ crossOriginEmbedderPolicy: false })");
  cr_assert_not_null(strstr(fix(FCA_STACK_NGINX, FCA_FIX_COEP, NULL), "remove the add_header"));
  char out[64] = "x";
  cr_assert_not(fca_stack_fix(FCA_STACK_NONE, FCA_FIX_COOP, NULL, out, sizeof out));
  cr_assert_str_eq(out, "");
}

Test(stack, csp_fixes) {
  const char *d = "script-src 'self' https://js.stripe.com https://*.js.stripe.com";
  cr_assert_str_eq(fix(FCA_STACK_HELMET, FCA_FIX_CSP_DIRECTIVE, d),
                   "helmet({ contentSecurityPolicy: { directives: { scriptSrc: [\"'self'\", "
                   "\"https://js.stripe.com\", \"https://*.js.stripe.com\"] } } })");
  cr_assert_not_null(strstr(fix(FCA_STACK_DJANGO, FCA_FIX_CSP_DIRECTIVE, d),
                            "CSP_SCRIPT_SRC = (\"'self'\", \"https://js.stripe.com\", "
                            "\"https://*.js.stripe.com\")"));
  cr_assert_not_null(strstr(fix(FCA_STACK_RAILS, FCA_FIX_CSP_DIRECTIVE, d),
                            "policy.script_src :self, \"https://js.stripe.com\", "
                            "\"https://*.js.stripe.com\""));
  cr_assert_not_null(
      strstr(fix(FCA_STACK_RAILS, FCA_FIX_CSP_DIRECTIVE, d), "content_security_policy"));
  cr_assert_not_null(strstr(fix(FCA_STACK_NGINX, FCA_FIX_CSP_DIRECTIVE, d),
                            "add_header Content-Security-Policy \"... script-src 'self' "));
  cr_assert_not_null(
      strstr(fix(FCA_STACK_HELMET, FCA_FIX_CSP_SANDBOX, "allow-scripts allow-popups"),
             "sandbox: [\"allow-scripts\", \"allow-popups\"]"));
  char out[64];
  cr_assert_not(fca_stack_fix(FCA_STACK_HELMET, FCA_FIX_CSP_DIRECTIVE, NULL, out, sizeof out));
}

Test(stack, long_fixes_are_cut_not_overflowed) {
  char small[16];
  fca_stack_fix(FCA_STACK_NEXTJS, FCA_FIX_COOP, NULL, small, sizeof small);
  cr_assert_eq(strlen(small), 15);
}
