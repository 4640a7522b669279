/* Unit tests for config: defaults, every option type, both value forms, lists, every kind of
 * error message, config files (and the command line winning over them), validation of
 * remote listen/admin addresses, the address syntaxes, and the docs staying in sync with the
 * table (man/fcaudit.1 and README.md embed fca_config_print_options output verbatim). */
#include "fcaudit/config.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXARGS 32

/* Parses a NULL-terminated list of arguments (argv[0] is "fcaudit"). */
static int parse_v(fca_config_t *c, char *err, size_t errlen, bool *help, va_list ap) {
  char *argv[MAXARGS];
  int argc = 0;
  argv[argc++] = (char *)"fcaudit";
  const char *a;
  while ((a = va_arg(ap, const char *)) != NULL) argv[argc++] = (char *)a;
  argv[argc] = NULL;
  bool version = false;
  err[0] = '\0';
  return fca_config_parse_args(c, argc, argv, 1, help, &version, err, errlen);
}

static int parse(fca_config_t *c, char *err, size_t errlen, ...) {
  va_list ap;
  va_start(ap, errlen);
  bool help = false;
  int r = parse_v(c, err, errlen, &help, ap);
  va_end(ap);
  return r;
}

/* Expects parsing to fail; returns the message (static buffer). */
static const char *parse_err(const char *first, ...) {
  static char err[512];
  fca_config_t c;
  fca_config_init(&c);
  char *argv[MAXARGS];
  int argc = 0;
  argv[argc++] = (char *)"fcaudit";
  argv[argc++] = (char *)first;
  va_list ap;
  va_start(ap, first);
  const char *a;
  while ((a = va_arg(ap, const char *)) != NULL) argv[argc++] = (char *)a;
  va_end(ap);
  argv[argc] = NULL;
  int r = fca_config_parse_args(&c, argc, argv, 1, NULL, NULL, err, sizeof err);
  fca_config_free(&c);
  cr_assert_eq(r, -1, "expected an error for %s", first);
  cr_assert_null(strchr(err, '\n'), "one line: %s", err);
  return err;
}

#define assert_has(hay, needle)                                                                    \
  cr_assert(strstr((hay), (needle)) != NULL, "expected \"%s\" in \"%s\"", (needle), (hay))

static char tmpdir[64];

static const char *write_file(const char *name, const char *text) {
  static char path[128];
  if (!tmpdir[0]) {
    strcpy(tmpdir, "/tmp/fca-config-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
  }
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs(text, f);
  fclose(f);
  return path;
}

static void cleanup_tmp(void) {
  if (!tmpdir[0]) return;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  cr_assert_eq(system(cmd), 0);
  tmpdir[0] = '\0';
}

TestSuite(config, .fini = cleanup_tmp);

Test(config, defaults) {
  setenv("FCAUDIT_CA_DIR", "/srv/ca", 1);
  fca_config_t c;
  fca_config_init(&c);
  cr_assert_eq(c.listen.n, 0, "init leaves listen empty; parse_args adds the default");
  cr_assert_not(c.allow_remote);
  cr_assert_null(c.proxy_auth);
  cr_assert_eq(c.workers, 0);
  cr_assert_eq(c.buffer_limit, 256 * 1024);
  cr_assert_eq(c.max_header_size, 64 * 1024);
  cr_assert_eq(c.connect_timeout_ms, 10000);
  cr_assert_eq(c.header_timeout_ms, 30000);
  cr_assert_eq(c.idle_timeout_ms, 60000);
  cr_assert_eq(c.upstream_timeout_ms, 120000);
  cr_assert_eq(c.drain_timeout_ms, 5000);
  cr_assert_str_eq(c.log_level, "info");
  cr_assert_str_eq(c.ca_dir, "/srv/ca");
  cr_assert_str_eq(c.ca_key_type, "ecdsa-p256");
  cr_assert_eq(c.cert_cache_size, 1024);
  cr_assert_eq(c.max_audit_bytes, 16u * 1024 * 1024);
  cr_assert_eq(c.correlation_window_ms, 30000);
  cr_assert_str_eq(c.min_confidence, "medium");
  cr_assert_str_eq(c.env, "staging");
  cr_assert_null(c.rules_file);
  cr_assert_str_eq(c.log, "fcaudit-events.ndjson");
  cr_assert_str_eq(c.fail_on, "error");
  cr_assert_eq(c.require_tagged, 0);
  cr_assert_str_eq(c.admin, "127.0.0.1:8081");
  cr_assert_null(c.config_file);
  char err[256];
  cr_assert_eq(parse(&c, err, sizeof err, NULL), 1);
  cr_assert_eq(c.listen.n, 1);
  cr_assert_str_eq(c.listen.items[0], FCA_CONFIG_DEFAULT_LISTEN);
  cr_assert_eq(fca_config_validate(&c, err, sizeof err), 0, "%s", err);
  fca_config_free(&c);
}

Test(config, ca_dir_falls_back_to_home) {
  unsetenv("FCAUDIT_CA_DIR");
  setenv("HOME", "/home/tester", 1);
  fca_config_t c;
  fca_config_init(&c);
  cr_assert_str_eq(c.ca_dir, "/home/tester/.fcaudit");
  char err[256];
  cr_assert_eq(parse(&c, err, sizeof err, "--ca-dir", "~/other", "--log", "~/ev.ndjson", NULL), 5);
  cr_assert_str_eq(c.ca_dir, "/home/tester/other");
  cr_assert_str_eq(c.log, "/home/tester/ev.ndjson");
  fca_config_free(&c);
}

Test(config, every_type) {
  fca_config_t c;
  fca_config_init(&c);
  char err[256];
  int r = parse(&c, err, sizeof err, "--quiet", "--proxy-auth", "u:p", "--dns-server", "10.0.0.1",
                "--connect-timeout", "250ms", "--buffer-limit", "1M", "--workers", "4",
                "--cert-cache-size", "7", "--log-level", "DEBUG", "--env", "production", NULL);
  cr_assert_eq(r, 18, "%s", err);
  cr_assert(c.quiet);
  cr_assert_str_eq(c.proxy_auth, "u:p");
  cr_assert_eq(c.dns_server.n, 1);
  cr_assert_str_eq(c.dns_server.items[0], "10.0.0.1");
  cr_assert_eq(c.connect_timeout_ms, 250);
  cr_assert_eq(c.buffer_limit, 1024 * 1024);
  cr_assert_eq(c.workers, 4);
  cr_assert_eq(c.cert_cache_size, 7);
  cr_assert_str_eq(c.log_level, "debug", "enums are stored in their canonical spelling");
  cr_assert_str_eq(c.env, "production");
  fca_config_free(&c);
}

Test(config, equals_form_and_last_scalar_wins) {
  fca_config_t c;
  fca_config_init(&c);
  char err[256];
  int r =
      parse(&c, err, sizeof err, "--idle-timeout=2m", "--max-header-size=16k", "--fail-on=warning",
            "--fail-on=never", "--rules=r.txt", "--require-tagged=3", "--report-json=", NULL);
  cr_assert_eq(r, -1);
  assert_has(err, "--report-json: empty value");
  fca_config_free(&c);
  fca_config_init(&c);
  r = parse(&c, err, sizeof err, "--idle-timeout=2m", "--max-header-size=16k", "--fail-on=warning",
            "--fail-on=never", "--rules=r.txt", "--require-tagged=3", "--admin=off", NULL);
  cr_assert_eq(r, 8, "%s", err);
  cr_assert_eq(c.idle_timeout_ms, 120000);
  cr_assert_eq(c.max_header_size, 16 * 1024);
  cr_assert_str_eq(c.fail_on, "never");
  cr_assert_str_eq(c.rules_file, "r.txt");
  cr_assert_eq(c.require_tagged, 3);
  cr_assert_str_eq(c.admin, "off");
  fca_config_free(&c);
}

Test(config, lists_repeat_in_order_and_replace_default_listen) {
  fca_config_t c;
  fca_config_init(&c);
  char err[256];
  int r = parse(&c, err, sizeof err, "--listen", "127.0.0.1:9000", "--listen=[::1]:9001",
                "--ignore-hosts", "*.bank.example", "--ignore-hosts", "auth.*", "--rule",
                "FC-COOP-1=warning", "--upstream-ca", "a.pem", "--upstream-ca", "b.pem", NULL);
  cr_assert_eq(r, 14, "%s", err);
  cr_assert_eq(c.listen.n, 2);
  cr_assert_str_eq(c.listen.items[0], "127.0.0.1:9000");
  cr_assert_str_eq(c.listen.items[1], "[::1]:9001");
  cr_assert_eq(c.ignore_hosts.n, 2);
  cr_assert_str_eq(c.ignore_hosts.items[1], "auth.*");
  cr_assert_str_eq(c.rule.items[0], "FC-COOP-1=warning");
  cr_assert_eq(c.upstream_ca.n, 2);
  fca_config_free(&c);
}

Test(config, stops_at_double_dash_and_words) {
  fca_config_t c;
  fca_config_init(&c);
  char err[256];
  cr_assert_eq(parse(&c, err, sizeof err, "--quiet", "--", "npm", "test", NULL), 3,
               "index of the first argument after --");
  fca_config_free(&c);
  fca_config_init(&c);
  cr_assert_eq(parse(&c, err, sizeof err, "--workers", "2", "ca", "init", NULL), 3);
  cr_assert_eq(c.workers, 2);
  fca_config_free(&c);
  fca_config_init(&c);
  cr_assert_eq(parse(&c, err, sizeof err, "-", "x", NULL), 1, "'-' alone is a word");
  fca_config_free(&c);
  fca_config_init(&c);
  cr_assert_eq(parse(&c, err, sizeof err, "--", NULL), 2);
  fca_config_free(&c);

  /* parse_args from a later index, as for `fcaudit run [options] -- CMD` */
  char *argv[] = {"fcaudit", "run", "--fail-on", "info", "--", "make", "check", NULL};
  fca_config_init(&c);
  int r = fca_config_parse_args(&c, 7, argv, 2, NULL, NULL, err, sizeof err);
  cr_assert_eq(r, 5);
  cr_assert_str_eq(argv[r - 1], "--");
  cr_assert_str_eq(c.fail_on, "info");
  fca_config_free(&c);
}

Test(config, help_and_version_stop_parsing) {
  fca_config_t c;
  fca_config_init(&c);
  char err[256];
  char *argv[] = {"fcaudit", "--quiet", "--help", "--bogus", NULL};
  bool help = false, version = true;
  cr_assert_eq(fca_config_parse_args(&c, 4, argv, 1, &help, &version, err, sizeof err), 3);
  cr_assert(help);
  cr_assert_not(version);
  char *argv2[] = {"fcaudit", "--config", "/nonexistent/fcaudit.conf", "--version", NULL};
  cr_assert_eq(fca_config_parse_args(&c, 4, argv2, 1, &help, &version, err, sizeof err), 4,
               "--version works even with a broken --config: %s", err);
  cr_assert(version);
  cr_assert_not(help);
  fca_config_free(&c);
}

Test(config, unknown_option_suggests) {
  cr_assert_str_eq(parse_err("--lisen", "127.0.0.1:1", NULL),
                   "unknown option --lisen (did you mean --listen?)");
  cr_assert_str_eq(parse_err("--idle-timout=5s", NULL),
                   "unknown option --idle-timout (did you mean --idle-timeout?)");
  cr_assert_str_eq(parse_err("--frobnicate", NULL), "unknown option --frobnicate");
  assert_has(parse_err("-h", NULL), "did you mean --help?");
  assert_has(parse_err("-listen", "x", NULL), "did you mean --listen?");
  cr_assert_str_eq(parse_err("-x", NULL), "unknown option -x");
  cr_assert_str_eq(parse_err("-lisen", NULL), "unknown option --lisen (did you mean --listen?)");
}

Test(config, missing_and_unwanted_values) {
  cr_assert_str_eq(parse_err("--listen", NULL), "option --listen needs a value (ADDR:PORT)");
  cr_assert_str_eq(parse_err("--log", "--quiet", NULL), "option --log needs a value (FILE)");
  cr_assert_str_eq(parse_err("--quiet=yes", NULL), "option --quiet takes no value");
  assert_has(parse_err("--env=", NULL), "--env: empty value");
}

Test(config, bad_units_and_bounds) {
  cr_assert_str_eq(parse_err("--connect-timeout", "5x", NULL),
                   "--connect-timeout: bad duration '5x' (use a number with ms, s, m or h; a bare "
                   "number is seconds)");
  cr_assert_str_eq(parse_err("--buffer-limit", "12q", NULL),
                   "--buffer-limit: bad size '12q' (use a number with k, M or G; a bare number is "
                   "bytes)");
  cr_assert_str_eq(parse_err("--buffer-limit", "8k", NULL),
                   "--buffer-limit: 8k is out of range (16k to 1G)");
  cr_assert_str_eq(parse_err("--max-header-size", "17M", NULL),
                   "--max-header-size: 17M is out of range (1k to 16M)");
  cr_assert_str_eq(parse_err("--max-header-size", "1023", NULL),
                   "--max-header-size: 1023 is out of range (1k to 16M)");
  cr_assert_str_eq(parse_err("--workers", "257", NULL),
                   "--workers: 257 is out of range (0 to 256)");
  cr_assert_str_eq(parse_err("--workers", "-1", NULL),
                   "--workers: bad number '-1' (expected a whole number)");
  cr_assert_str_eq(parse_err("--cert-cache-size", "0", NULL),
                   "--cert-cache-size: 0 is out of range (1 to 1000000)");
  cr_assert_str_eq(parse_err("--connect-timeout", "0", NULL),
                   "--connect-timeout: 0 is out of range (1ms to 1h)");
  cr_assert_str_eq(parse_err("--idle-timeout", "25h", NULL),
                   "--idle-timeout: 25h is out of range (1ms to 24h)");
  /* the bounds themselves are accepted */
  fca_config_t c;
  fca_config_init(&c);
  char err[256];
  cr_assert_eq(parse(&c, err, sizeof err, "--buffer-limit", "16k", "--max-header-size", "16M",
                     "--workers", "256", "--drain-timeout", "0", NULL),
               9, "%s", err);
  fca_config_free(&c);
}

Test(config, bad_enums) {
  cr_assert_str_eq(parse_err("--log-level", "loud", NULL),
                   "--log-level: unknown value 'loud' (allowed: error, warn, info, debug)");
  cr_assert_str_eq(parse_err("--fail-on", "fatal", NULL),
                   "--fail-on: unknown value 'fatal' (allowed: info, warning, error, never)");
  assert_has(parse_err("--ca-key-type", "rsa4096", NULL), "(allowed: ecdsa-p256, rsa2048)");
  assert_has(parse_err("--min-confidence", "low", NULL), "(allowed: high, medium)");
  assert_has(parse_err("--env", "prod", NULL), "(allowed: production, staging, test)");
}

Test(config, resolve_and_connect_to_syntax) {
  fca_config_t c;
  fca_config_init(&c);
  char err[256];
  int r = parse(&c, err, sizeof err, "--resolve", "shop.test:443:127.0.0.1", "--resolve",
                "v6.test:443:[::1]", "--resolve", "multi.test:80:127.0.0.1,::1", "--resolve",
                "*:8443:127.0.0.2", "--connect-to", "::127.0.0.1:8443", "--connect-to",
                "a.test:443:[::1]:", "--connect-to", ":::", NULL);
  cr_assert_eq(r, 15, "%s", err);
  fca_config_free(&c);

  assert_has(parse_err("--resolve", "shop.test:443", NULL),
             "--resolve: bad value 'shop.test:443' (expected HOST:PORT:ADDR[,ADDR...]");
  assert_has(parse_err("--resolve", "shop.test:http:127.0.0.1", NULL), "PORT 1 to 65535");
  assert_has(parse_err("--resolve", "shop.test:443:300.1.1.1", NULL),
             "'300.1.1.1' is not an IP address");
  assert_has(parse_err("--resolve", "shop.test:443:[127.0.0.1]", NULL), "is not an IP address");
  assert_has(parse_err("--resolve", "shop.test:443:127.0.0.1,", NULL), "is not an IP address");
  assert_has(parse_err("--resolve", ":443:127.0.0.1", NULL), "expected HOST:PORT:ADDR");
  assert_has(parse_err("--connect-to", "a:1:b", NULL),
             "--connect-to: bad value 'a:1:b' (expected HOST1:PORT1:HOST2:PORT2");
  assert_has(parse_err("--connect-to", "a:1:b:2:3", NULL), "expected HOST1:PORT1:HOST2:PORT2");
  assert_has(parse_err("--connect-to", "a:99999:b:2", NULL), "ports 1 to 65535");
  assert_has(parse_err("--connect-to", "[nope]:1:b:2", NULL), "expected HOST1");
}

Test(config, other_value_syntaxes) {
  assert_has(parse_err("--listen", "8080", NULL), "--listen: bad address '8080'");
  assert_has(parse_err("--listen", "example.com:80", NULL), "bad address");
  assert_has(parse_err("--listen", "127.0.0.1:65536", NULL), "bad address");
  assert_has(parse_err("--admin", "nowhere", NULL), "or off)");
  assert_has(parse_err("--proxy-auth", "nocolon", NULL), "expected USER:PASS");
  assert_has(parse_err("--upstream-proxy", "https://p:3128", NULL), "only http://");
  assert_has(parse_err("--upstream-proxy", "http://u:p@p:3128", NULL), "credentials");
  assert_has(parse_err("--upstream-proxy", "http://p", NULL), "PORT 1 to 65535");
  assert_has(parse_err("--rule", "FC-COOP-1=fatal", NULL), "expected ID=LEVEL");
  assert_has(parse_err("--rule", "=error", NULL), "expected ID=LEVEL");
  assert_has(parse_err("--rule", "FC COOP=error", NULL), "expected ID=LEVEL");
  assert_has(parse_err("--dns-server", "dns.example", NULL), "--dns-server: bad server");
  fca_config_t c;
  fca_config_init(&c);
  char err[256];
  cr_assert_eq(parse(&c, err, sizeof err, "--upstream-proxy", "http://[::1]:3128/", "--dns-server",
                     "::1", "--dns-server", "[::1]:5353", "--dns-server", "127.0.0.1:53", "--rule",
                     "FC-TEST-2=ignore", "--listen", "localhost:0", NULL),
               13, "%s", err);
  fca_config_free(&c);
}

Test(config, address_helpers) {
  char host[64];
  int port;
  cr_assert_eq(fca_config_split_hostport("[::1]:8080", host, sizeof host, &port), 0);
  cr_assert_str_eq(host, "::1");
  cr_assert_eq(port, 8080);
  cr_assert_eq(fca_config_split_hostport("0.0.0.0:0", host, sizeof host, &port), 0);
  cr_assert_eq(port, 0);
  cr_assert_eq(fca_config_split_hostport("::1:80", host, sizeof host, &port), -1);
  cr_assert_eq(fca_config_split_hostport(":80", host, sizeof host, &port), -1);
  cr_assert_eq(fca_config_split_hostport("a:", host, sizeof host, &port), -1);
  cr_assert_eq(fca_config_split_hostport("averyveryverylonghostname.example:1", host, 8, &port),
               -1);

  cr_assert(fca_config_host_is_loopback("127.0.0.1"));
  cr_assert(fca_config_host_is_loopback("127.255.0.9"));
  cr_assert(fca_config_host_is_loopback("::1"));
  cr_assert(fca_config_host_is_loopback("::ffff:127.0.0.1"));
  cr_assert(fca_config_host_is_loopback("LocalHost"));
  cr_assert_not(fca_config_host_is_loopback("0.0.0.0"));
  cr_assert_not(fca_config_host_is_loopback("::"));
  cr_assert_not(fca_config_host_is_loopback("128.0.0.1"));
  cr_assert_not(fca_config_host_is_loopback("localhost.example"));

  char *h = NULL, *h2 = NULL;
  fca_strlist_t addrs = {0};
  cr_assert_eq(
      fca_config_parse_resolve("+shop.test:443:[::1],10.0.0.1", &h, &port, &addrs, NULL, 0), 0);
  cr_assert_str_eq(h, "shop.test");
  cr_assert_eq(port, 443);
  cr_assert_eq(addrs.n, 2);
  cr_assert_str_eq(addrs.items[0], "::1");
  cr_assert_str_eq(addrs.items[1], "10.0.0.1");
  free(h);
  fca_strlist_free(&addrs);

  int p1, p2;
  cr_assert_eq(fca_config_parse_connect_to("[::1]::b.test:", &h, &p1, &h2, &p2, NULL, 0), 0);
  cr_assert_str_eq(h, "::1");
  cr_assert_eq(p1, 0);
  cr_assert_str_eq(h2, "b.test");
  cr_assert_eq(p2, 0);
  free(h);
  free(h2);
  cr_assert_eq(fca_config_parse_connect_to(":443::8443", &h, &p1, &h2, &p2, NULL, 0), 0);
  cr_assert_null(h);
  cr_assert_null(h2);
  cr_assert_eq(p1, 443);
  cr_assert_eq(p2, 8443);

  cr_assert_eq(fca_config_parse_dns_server("10.0.0.2", host, sizeof host, &port), 0);
  cr_assert_eq(port, 53);
  cr_assert_eq(fca_config_parse_dns_server("[fe80::1]:5353", host, sizeof host, &port), 0);
  cr_assert_str_eq(host, "fe80::1");
  cr_assert_eq(port, 5353);
  cr_assert_eq(fca_config_parse_dns_server("10.0.0.2:0", host, sizeof host, &port), -1);
  cr_assert_eq(
      fca_config_parse_proxy_url("HTTP://proxy.test:3128", host, sizeof host, &port, NULL, 0), 0);
  cr_assert_str_eq(host, "proxy.test");
  cr_assert_eq(port, 3128);
  cr_assert(fca_config_is_ip("2001:db8::1"));
  cr_assert_not(fca_config_is_ip("1.2.3"));
}

Test(config, config_file) {
  const char *path = write_file("a.conf", "# fcaudit options\n"
                                          "\n"
                                          "listen = 127.0.0.1:9100\n"
                                          "listen 127.0.0.1:9101\n"
                                          "  workers=3   # trailing comment\n"
                                          "quiet # a switch with a comment\n"
                                          "anticache = yes\n"
                                          "redact-query = false\n"
                                          "insecure-upstream = 1\n"
                                          "proxy-auth = \"user:pa#ss\"\n"
                                          "connect-timeout = 3s\n"
                                          "ignore-hosts = *.bank.example\n"
                                          "--log-level debug\n");
  fca_config_t c;
  fca_config_init(&c);
  char err[512];
  cr_assert_eq(fca_config_load_file(&c, path, err, sizeof err), 0, "%s", err);
  cr_assert_eq(c.listen.n, 2);
  cr_assert_str_eq(c.listen.items[1], "127.0.0.1:9101");
  cr_assert_eq(c.workers, 3);
  cr_assert(c.quiet);
  cr_assert(c.anticache);
  cr_assert_not(c.redact_query);
  cr_assert(c.insecure_upstream);
  cr_assert_str_eq(c.proxy_auth, "user:pa#ss");
  cr_assert_eq(c.connect_timeout_ms, 3000);
  cr_assert_str_eq(c.log_level, "debug");
  cr_assert_str_eq(c.config_file, path);
  fca_config_free(&c);
}

static const char *file_err(const char *text) {
  static char err[512];
  const char *path = write_file("bad.conf", text);
  fca_config_t c;
  fca_config_init(&c);
  int r = fca_config_load_file(&c, path, err, sizeof err);
  fca_config_free(&c);
  cr_assert_eq(r, -1, "expected an error for %s", text);
  cr_assert_eq(strncmp(err, path, strlen(path)), 0, "starts with the file name: %s", err);
  return err + strlen(path);
}

Test(config, config_file_errors_have_line_numbers) {
  cr_assert_str_eq(file_err("# c\n\nlisen = 127.0.0.1:1\n"),
                   ":3: unknown option lisen (did you mean listen?)");
  cr_assert_str_eq(file_err("quiet\nworkers = 999\n"),
                   ":2: workers: 999 is out of range (0 to 256)");
  cr_assert_str_eq(file_err("quiet = maybe\n"),
                   ":1: quiet: bad boolean 'maybe' (use true, false, yes, no, 1 or 0)");
  cr_assert_str_eq(file_err("\n\n\n\nlog =\n"), ":5: log needs a value (FILE)");
  cr_assert_str_eq(file_err("config = other.conf\n"), ":1: config cannot be used in a config file");
  cr_assert_str_eq(file_err("idle-timeout = soon\n"),
                   ":1: idle-timeout: bad duration 'soon' (use a number with ms, s, m or h; a bare "
                   "number is seconds)");
  cr_assert_str_eq(file_err("= 5\n"), ":1: expected name = value");
  cr_assert_str_eq(file_err("proxy-auth = \"a:b\" extra\n"),
                   ":1: unterminated or trailing text after quoted value");

  char err[256];
  fca_config_t c;
  fca_config_init(&c);
  cr_assert_eq(fca_config_load_file(&c, "/nonexistent/x.conf", err, sizeof err), -1);
  cr_assert_str_eq(err, "/nonexistent/x.conf: cannot read config file: No such file or directory");
  fca_config_free(&c);
}

Test(config, command_line_wins_over_file) {
  const char *path = write_file("b.conf", "workers = 3\n"
                                          "env = test\n"
                                          "ignore-hosts = one.example\n"
                                          "ignore-hosts = two.example\n"
                                          "rule = FC-REF-4=ignore\n"
                                          "listen = 127.0.0.1:9200\n"
                                          "quiet\n");
  fca_config_t c;
  fca_config_init(&c);
  char err[512];
  /* --config after other options still applies first */
  int r = parse(&c, err, sizeof err, "--workers", "5", "--ignore-hosts", "cli.example", "--config",
                path, "sub", NULL);
  cr_assert_eq(r, 7, "%s", err);
  cr_assert_eq(c.workers, 5, "command line wins");
  cr_assert_str_eq(c.env, "test", "file value kept when the command line is silent");
  cr_assert(c.quiet);
  cr_assert_eq(c.ignore_hosts.n, 1, "a command-line list replaces the file's list");
  cr_assert_str_eq(c.ignore_hosts.items[0], "cli.example");
  cr_assert_eq(c.rule.n, 1);
  cr_assert_str_eq(c.rule.items[0], "FC-REF-4=ignore");
  cr_assert_eq(c.listen.n, 1, "the file's listen replaces the built-in default");
  cr_assert_str_eq(c.listen.items[0], "127.0.0.1:9200");
  cr_assert_str_eq(c.config_file, path);
  fca_config_free(&c);

  fca_config_init(&c);
  cr_assert_eq(parse(&c, err, sizeof err, "--config", path, "--config", path, NULL), -1);
  cr_assert_str_eq(err, "option --config given more than once");
  fca_config_free(&c);

  const char *bad = write_file("c.conf", "quiet\nfail-on = sometimes\n");
  fca_config_init(&c);
  cr_assert_eq(parse(&c, err, sizeof err, "--config=", NULL), -1);
  fca_config_free(&c);
  fca_config_init(&c);
  cr_assert_eq(parse(&c, err, sizeof err, "--config", bad, NULL), -1);
  assert_has(err, "c.conf:2: fail-on: unknown value 'sometimes'");
  fca_config_free(&c);
}

Test(config, validate_refuses_remote_listen) {
  fca_config_t c;
  fca_config_init(&c);
  char err[512];
  cr_assert_eq(parse(&c, err, sizeof err, "--listen", "0.0.0.0:8080", NULL), 3, "%s", err);
  cr_assert_eq(fca_config_validate(&c, err, sizeof err), -1);
  assert_has(err, "refusing --listen 0.0.0.0:8080 without --allow-remote");
  assert_has(err, "open MITM proxy is dangerous");
  cr_assert_null(strchr(err, '\n'));
  c.allow_remote = true;
  cr_assert_eq(fca_config_validate(&c, err, sizeof err), 0, "%s", err);
  fca_config_free(&c);

  const char *const ok[] = {"127.0.0.2:1", "[::1]:8080", "localhost:8080"};
  for (size_t i = 0; i < 3; i++) {
    fca_config_init(&c);
    fca_strlist_add(&c.listen, ok[i]);
    cr_assert_eq(fca_config_validate(&c, err, sizeof err), 0, "%s: %s", ok[i], err);
    fca_config_free(&c);
  }
  fca_config_init(&c);
  fca_strlist_add(&c.listen, "127.0.0.1:1");
  fca_strlist_add(&c.listen, "[::]:1");
  cr_assert_eq(fca_config_validate(&c, err, sizeof err), -1, "any remote address is refused");
  fca_config_free(&c);
}

Test(config, validate_admin_auth_and_syntax) {
  fca_config_t c;
  fca_config_init(&c);
  char err[512];
  free(c.admin);
  c.admin = strdup("192.0.2.10:8081");
  cr_assert_eq(fca_config_validate(&c, err, sizeof err), -1);
  assert_has(err, "refusing --admin 192.0.2.10:8081 without --allow-remote-admin");
  c.allow_remote_admin = true;
  cr_assert_eq(fca_config_validate(&c, err, sizeof err), 0, "%s", err);
  free(c.admin);
  c.admin = strdup("off");
  c.allow_remote_admin = false;
  cr_assert_eq(fca_config_validate(&c, err, sizeof err), 0, "%s", err);

  c.proxy_auth = strdup("nocolon");
  cr_assert_eq(fca_config_validate(&c, err, sizeof err), -1);
  assert_has(err, "--proxy-auth: expected USER:PASS");
  free(c.proxy_auth);
  c.proxy_auth = NULL;

  fca_strlist_add(&c.listen, "not-an-address");
  cr_assert_eq(fca_config_validate(&c, err, sizeof err), -1);
  assert_has(err, "--listen: bad address 'not-an-address'");
  fca_strlist_free(&c.listen);

  c.workers = 1000;
  cr_assert_eq(fca_config_validate(&c, err, sizeof err), -1);
  cr_assert_str_eq(err, "--workers: 1000 is out of range (0 to 256)");
  c.workers = 0;
  c.buffer_limit = 1024;
  cr_assert_eq(fca_config_validate(&c, err, sizeof err), -1);
  cr_assert_str_eq(err, "--buffer-limit: 1k is out of range (16k to 1G)");
  fca_config_free(&c);
}

static char *capture(void (*fn)(FILE *, int), int arg) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  cr_assert_not_null(f);
  fn(f, arg);
  fclose(f);
  return buf;
}

static void help_fn(FILE *f, int arg) {
  (void)arg;
  fca_config_print_help(f, "fcaudit");
}
static void options_fn(FILE *f, int fmt) { fca_config_print_options(f, (fca_config_fmt_t)fmt); }

Test(config, help_lists_every_option) {
  char *help = capture(help_fn, 0);
  size_t n = fca_config_option_count();
  cr_assert_geq(n, 48);
  for (size_t i = 0; i < n; i++) {
    char want[64];
    snprintf(want, sizeof want, "  --%s ", fca_config_option_name(i));
    assert_has(help, want);
  }
  static const char *const groups[] = {"Network:",
                                       "Timeouts and limits:",
                                       "TLS interception:",
                                       "Audit:",
                                       "Output and reports:",
                                       "CI runs:",
                                       "Admin:",
                                       "General:"};
  const char *prev = help;
  for (size_t g = 0; g < 8; g++) {
    const char *at = strstr(help, groups[g]);
    cr_assert_not_null(at, "%s", groups[g]);
    cr_assert_gt(at, prev, "groups in order: %s", groups[g]);
    prev = at;
  }
  assert_has(help, "fcaudit ca init|show|export [--der]|spki|path");
  assert_has(help, "fcaudit run [options] -- CMD [ARGS...]");
  assert_has(help, "fcaudit tail [-n N] [--level L]");
  assert_has(help, "fcaudit report [options] [--run ID] EVENTS.ndjson");
  assert_has(help, "[127.0.0.1:8080]");
  assert_has(help, "[256k]");
  for (const char *l = help; *l;) { /* no line wider than 100 columns */
    const char *e = strchr(l, '\n');
    cr_assert_not_null(e);
    cr_assert_leq(e - l, 100, "%.*s", (int)(e - l), l);
    l = e + 1;
  }
  free(help);
}

static char *read_doc(const char *rel) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", FCA_TEST_SRCDIR, rel);
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f, "cannot open %s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
  s[n] = '\0';
  fclose(f);
  return s;
}

/* The text between the BEGIN and END marker lines must be the generated option reference.
 * With FCA_REGEN_DOCS=1 in the environment the file is rewritten instead (for maintainers). */
static void check_generated(const char *rel, const char *begin, const char *end, int fmt) {
  char *doc = read_doc(rel);
  char *gen = capture(options_fn, fmt);
  char *b = strstr(doc, begin), *e = strstr(doc, end);
  cr_assert(b && e && e > b, "%s lacks the %s ... %s markers", rel, begin, end);
  b = strchr(b, '\n') + 1;
  size_t have = (size_t)(e - b);
  bool same = have == strlen(gen) && memcmp(b, gen, have) == 0;
  if (!same && getenv("FCA_REGEN_DOCS")) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", FCA_TEST_SRCDIR, rel);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fwrite(doc, 1, (size_t)(b - doc), f);
    fputs(gen, f);
    fputs(e, f);
    fclose(f);
    same = true;
  }
  cr_assert(same, "%s is out of date with the option table; run this test with FCA_REGEN_DOCS=1",
            rel);
  free(doc);
  free(gen);
}

Test(config, man_page_and_readme_match_the_table) {
  check_generated("man/fcaudit.1", ".\\\" BEGIN GENERATED OPTIONS", ".\\\" END GENERATED OPTIONS",
                  FCA_CONFIG_FMT_MAN);
  check_generated("README.md", "<!-- BEGIN GENERATED OPTIONS", "<!-- END GENERATED OPTIONS",
                  FCA_CONFIG_FMT_MARKDOWN);
  char *man = read_doc("man/fcaudit.1"), *readme = read_doc("README.md");
  for (size_t i = 0; i < fca_config_option_count(); i++) {
    const char *name = fca_config_option_name(i);
    char roff[96] = "\\-\\-", md[64];
    size_t k = strlen(roff);
    for (const char *p = name; *p && k + 3 < sizeof roff; p++) {
      if (*p == '-') roff[k++] = '\\';
      roff[k++] = *p;
    }
    roff[k] = '\0';
    snprintf(md, sizeof md, "`--%s", name);
    assert_has(man, roff);
    assert_has(readme, md);
  }
  free(man);
  free(readme);
}

Test(config, option_info_matches_table) {
  fca_config_option_info_t o;
  size_t n = fca_config_option_count();
  cr_assert_eq(fca_config_option_info(n, &o), -1);
  bool seen_listen = false;
  for (size_t i = 0; i < n; i++) {
    cr_assert_eq(fca_config_option_info(i, &o), 0);
    cr_assert_str_eq(o.name, fca_config_option_name(i));
    cr_assert(o.help && *o.help && !strchr(o.help, '\n'));
    if (strcmp(o.name, "listen") == 0) {
      seen_listen = true;
      cr_assert(o.repeatable);
      cr_assert_str_eq(o.def, FCA_CONFIG_DEFAULT_LISTEN);
      cr_assert_str_eq(o.group, "Network");
    }
    if (strcmp(o.name, "quiet") == 0) cr_assert_null(o.metavar);
  }
  cr_assert(seen_listen);
}
