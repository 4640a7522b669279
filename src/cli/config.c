/* config: the one table of fcaudit's options. Every option is a row (name, type, field offset,
 * default, bounds, topic, metavar, help); the command line, `--config FILE`, fca_config_init's
 * defaults (applied through the same parser), validation, --help and the generated parts of the
 * man page and README all walk that table, so they cannot disagree. Errors are one line.
 * Invariant: after init every string option with a default is an owned, non-NULL string. */
#include "fcaudit/config.h"

#include "fcaudit/redis_url.h"
#include "fcaudit/util.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

// clang-format off
typedef enum { T_BOOL, T_STR, T_LIST, T_DUR, T_SIZE, T_INT, T_U64, T_ENUM, T_CONFIG, T_HELP,
               T_VERSION } opt_type_t;
typedef enum { G_NET, G_LIMITS, G_TLS, G_AUDIT, G_OUTPUT, G_RUN, G_ADMIN, G_GENERAL,
               G_COUNT } group_t;
// clang-format on

static const char *const group_names[G_COUNT] = {"Network",
                                                 "Timeouts and limits",
                                                 "TLS interception",
                                                 "Audit",
                                                 "Output and reports",
                                                 "CI runs",
                                                 "Admin",
                                                 "General"};

/* A checker writes why a value is wrong (without the option name) into why. */
typedef int (*check_fn)(const char *v, char *why, size_t n);

typedef struct {
  const char *name;
  opt_type_t type;
  size_t off;
  const char *def;   /* applied by fca_config_init through the parser; NULL = none */
  const char *shown; /* default as shown in help when it is computed, not parsed */
  uint64_t min, max; /* numeric bounds, inclusive */
  const char *const *choices;
  check_fn check;
  group_t group;
  const char *metavar;
  const char *help;
  bool path; /* a leading "~/" expands to $HOME */
} opt_t;

static int check_listen(const char *v, char *why, size_t n);
static int check_admin(const char *v, char *why, size_t n);
static int check_proxy_auth(const char *v, char *why, size_t n);
static int check_dns_server(const char *v, char *why, size_t n);
static int check_resolve(const char *v, char *why, size_t n);
static int check_connect_to(const char *v, char *why, size_t n);
static int check_upstream_proxy(const char *v, char *why, size_t n);
static int check_rule(const char *v, char *why, size_t n);
static int check_sink(const char *v, char *why, size_t n);
static int check_name(const char *v, char *why, size_t n);

static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};
static const char *const key_types[] = {"ecdsa-p256", "rsa2048", NULL};
static const char *const confidences[] = {"high", "medium", NULL};
static const char *const envs[] = {"production", "staging", "test", NULL};
static const char *const fail_levels[] = {"info", "warning", "error", "never", NULL};

#define OFF(f) offsetof(fca_config_t, f)
#define KIB 1024ULL
#define MIB (1024ULL * 1024)
#define GIB (1024ULL * 1024 * 1024)
#define SEC 1000ULL
#define HOUR 3600000ULL

// clang-format off
static const opt_t opts[] = {
    /* Network */
    {.name = "listen", .type = T_LIST, .off = OFF(listen), .shown = FCA_CONFIG_DEFAULT_LISTEN,
     .check = check_listen, .group = G_NET, .metavar = "ADDR:PORT",
     .help = "accept proxy clients on this address"},
    {.name = "allow-remote", .type = T_BOOL, .off = OFF(allow_remote), .group = G_NET,
     .help = "allow a non-loopback --listen address (an open MITM proxy is dangerous)"},
    {.name = "allow-local-connect", .type = T_BOOL, .off = OFF(allow_local_connect),
     .group = G_NET,
     .help = "with --allow-remote, let clients CONNECT to ports of this host other than 443 and "
             "8443"},
    {.name = "proxy-auth", .type = T_STR, .off = OFF(proxy_auth), .check = check_proxy_auth,
     .group = G_NET, .metavar = "USER:PASS",
     .help = "require these Basic credentials from clients (Proxy-Authorization)"},
    {.name = "workers", .type = T_INT, .off = OFF(workers), .def = "0", .max = 256, .group = G_NET,
     .metavar = "N", .help = "worker threads, 0 = one per CPU"},
    {.name = "dns-server", .type = T_LIST, .off = OFF(dns_server), .check = check_dns_server,
     .group = G_NET, .metavar = "ADDR[:PORT]",
     .help = "look up origins with this DNS server instead of the system's"},
    {.name = "only-resolved", .type = T_BOOL, .off = OFF(only_resolved), .group = G_NET,
     .help = "refuse hosts not named by --resolve or --connect-to (no DNS at all)"},
    {.name = "resolve", .type = T_LIST, .off = OFF(resolve), .check = check_resolve,
     .group = G_NET, .metavar = "HOST:PORT:ADDR",
     .help = "connect to ADDR for HOST:PORT, as curl --resolve"},
    {.name = "connect-to", .type = T_LIST, .off = OFF(connect_to), .check = check_connect_to,
     .group = G_NET, .metavar = "H1:P1:H2:P2",
     .help = "send requests for H1:P1 to H2:P2, as curl --connect-to"},
    {.name = "upstream-proxy", .type = T_STR, .off = OFF(upstream_proxy),
     .check = check_upstream_proxy, .group = G_NET, .metavar = "http://HOST:PORT",
     .help = "reach origins through this HTTP proxy"},
    /* Timeouts and limits */
    {.name = "connect-timeout", .type = T_DUR, .off = OFF(connect_timeout_ms), .def = "10s",
     .min = 1, .max = HOUR, .group = G_LIMITS, .metavar = "TIME",
     .help = "give up connecting to an origin after this long"},
    {.name = "header-timeout", .type = T_DUR, .off = OFF(header_timeout_ms), .def = "30s",
     .min = 1, .max = HOUR, .group = G_LIMITS, .metavar = "TIME",
     .help = "time a client has to send a complete request head"},
    {.name = "idle-timeout", .type = T_DUR, .off = OFF(idle_timeout_ms), .def = "60s", .min = 1,
     .max = 24 * HOUR, .group = G_LIMITS, .metavar = "TIME",
     .help = "close a client connection idle this long"},
    {.name = "upstream-timeout", .type = T_DUR, .off = OFF(upstream_timeout_ms), .def = "120s",
     .min = 1, .max = 24 * HOUR, .group = G_LIMITS, .metavar = "TIME",
     .help = "answer 504 when an origin stays silent this long"},
    {.name = "drain-timeout", .type = T_DUR, .off = OFF(drain_timeout_ms), .def = "5s",
     .max = HOUR, .group = G_LIMITS, .metavar = "TIME",
     .help = "on SIGINT/SIGTERM, let open requests finish for this long"},
    {.name = "buffer-limit", .type = T_SIZE, .off = OFF(buffer_limit), .def = "256k",
     .min = 16 * KIB, .max = GIB, .group = G_LIMITS, .metavar = "SIZE",
     .help = "bytes buffered per direction before reading pauses"},
    {.name = "max-header-size", .type = T_SIZE, .off = OFF(max_header_size), .def = "64k",
     .min = KIB, .max = 16 * MIB, .group = G_LIMITS, .metavar = "SIZE",
     .help = "largest request or response head accepted"},
    /* TLS interception */
    {.name = "ca-dir", .type = T_STR, .off = OFF(ca_dir), .shown = "$FCAUDIT_CA_DIR or ~/.fcaudit",
     .group = G_TLS, .metavar = "DIR", .path = true,
     .help = "where the interception CA is kept (ca.pem, ca.key); created if missing"},
    {.name = "ca-key-type", .type = T_ENUM, .off = OFF(ca_key_type), .def = "ecdsa-p256",
     .choices = key_types, .group = G_TLS, .metavar = "TYPE",
     .help = "key type of a new CA and the leaf certificates: ecdsa-p256, rsa2048"},
    {.name = "cert-cache-size", .type = T_U64, .off = OFF(cert_cache_size), .def = "1024",
     .min = 1, .max = 1000000, .group = G_TLS, .metavar = "N",
     .help = "minted host certificates kept per worker"},
    {.name = "ignore-hosts", .type = T_LIST, .off = OFF(ignore_hosts), .group = G_TLS,
     .metavar = "GLOB", .help = "tunnel matching hosts without decrypting them"},
    {.name = "intercept-hosts", .type = T_LIST, .off = OFF(intercept_hosts), .group = G_TLS,
     .metavar = "GLOB", .help = "decrypt only matching hosts, tunnel the rest"},
    {.name = "auto-passthrough", .type = T_BOOL, .off = OFF(auto_passthrough), .group = G_TLS,
     .help = "tunnel a host blindly once a client rejects our certificate for it"},
    {.name = "upstream-ca", .type = T_LIST, .off = OFF(upstream_ca), .group = G_TLS,
     .metavar = "FILE", .path = true,
     .help = "also trust the PEM certificates in FILE for origins"},
    {.name = "insecure-upstream", .type = T_BOOL, .off = OFF(insecure_upstream), .group = G_TLS,
     .help = "do not verify origin certificates (test origins only)"},
    {.name = "no-http2", .type = T_BOOL, .off = OFF(no_http2), .group = G_TLS,
     .help = "speak only HTTP/1.1 to clients (ALPN offers no h2 on intercepted TLS)"},
    /* Audit */
    {.name = "max-audit-bytes", .type = T_SIZE, .off = OFF(max_audit_bytes), .def = "16M",
     .min = KIB, .max = GIB, .group = G_AUDIT, .metavar = "SIZE",
     .help = "decoded bytes inspected per response; the rest passes unaudited"},
    {.name = "anticache", .type = T_BOOL, .off = OFF(anticache), .group = G_AUDIT,
     .help = "drop If-None-Match/If-Modified-Since so pages are re-sent (alters requests)"},
    {.name = "correlation-window", .type = T_DUR, .off = OFF(correlation_window_ms), .def = "30s",
     .max = HOUR, .group = G_AUDIT, .metavar = "TIME",
     .help = "how long after a page a Stripe.js request can still tag it"},
    {.name = "min-confidence", .type = T_ENUM, .off = OFF(min_confidence), .def = "medium",
     .choices = confidences, .group = G_AUDIT, .metavar = "LEVEL",
     .help = "audit pages tagged with at least this confidence: high, medium"},
    {.name = "env", .type = T_ENUM, .off = OFF(env), .def = "staging", .choices = envs,
     .group = G_AUDIT, .metavar = "ENV",
     .help = "what the audited deployment is: production, staging, test"},
    {.name = "rules", .type = T_STR, .off = OFF(rules_file), .group = G_AUDIT, .metavar = "FILE",
     .path = true,
     .help = "read rule levels from FILE: lines of RULE-ID LEVEL [URL-GLOB] (see docs/rules.md)"},
    {.name = "rule", .type = T_LIST, .off = OFF(rule), .check = check_rule, .group = G_AUDIT,
     .metavar = "ID=LEVEL", .help = "set a rule's level: ignore, info, warning, error"},
    {.name = "no-dedup", .type = T_BOOL, .off = OFF(no_dedup), .group = G_AUDIT,
     .help = "report a finding every time, not once per page and rule"},
    {.name = "redact-query", .type = T_BOOL, .off = OFF(redact_query), .group = G_AUDIT,
     .help = "leave query strings out of logged and reported URLs"},
    /* Output and reports */
    {.name = "log", .type = T_STR, .off = OFF(log), .def = "fcaudit-events.ndjson",
     .group = G_OUTPUT, .metavar = "FILE", .path = true,
     .help = "append every event to this NDJSON file"},
    {.name = "sink", .type = T_LIST, .off = OFF(sink), .check = check_sink, .group = G_OUTPUT,
     .metavar = "redis://HOST:PORT[/DB][?stream=NAME]",
     .help = "also ship every event, from the log, to this Redis stream (docs/fleet.md)"},
    {.name = "instance", .type = T_STR, .off = OFF(instance), .shown = "HOST:PID",
     .check = check_name, .group = G_OUTPUT, .metavar = "NAME",
     .help = "this proxy's name in the Redis stream"},
    {.name = "label", .type = T_STR, .off = OFF(label), .check = check_name, .group = G_OUTPUT,
     .metavar = "LABEL", .help = "tag this run in the Redis stream, e.g. a release or commit"},
    {.name = "quiet", .type = T_BOOL, .off = OFF(quiet), .group = G_OUTPUT,
     .help = "do not print findings on the console"},
    {.name = "report-json", .type = T_STR, .off = OFF(report_json), .group = G_OUTPUT,
     .metavar = "FILE", .path = true, .help = "write a JSON report at exit"},
    {.name = "junit", .type = T_STR, .off = OFF(junit), .group = G_OUTPUT, .metavar = "FILE",
     .path = true, .help = "write a JUnit XML report at exit"},
    {.name = "sarif", .type = T_STR, .off = OFF(sarif), .group = G_OUTPUT, .metavar = "FILE",
     .path = true, .help = "write a SARIF 2.1.0 report at exit"},
    {.name = "report-html", .type = T_STR, .off = OFF(report_html), .group = G_OUTPUT,
     .metavar = "FILE", .path = true, .help = "write an HTML report at exit"},
    {.name = "har", .type = T_STR, .off = OFF(har), .group = G_OUTPUT, .metavar = "FILE",
     .path = true,
     .help = "write the session as HAR 1.2 with findings on their entries (fcaudit audit reads it)"},
    {.name = "har-body-max", .type = T_SIZE, .off = OFF(har_body_max), .def = "2M", .min = 0,
     .max = GIB, .group = G_OUTPUT, .metavar = "SIZE",
     .help = "HTML, JSON and JavaScript bodies kept in the --har file, up to this size each"},
    {.name = "baseline", .type = T_STR, .off = OFF(baseline), .group = G_OUTPUT, .metavar = "FILE",
     .path = true, .help = "earlier JSON report whose findings are known and do not fail the run"},
    /* CI runs */
    {.name = "fail-on", .type = T_ENUM, .off = OFF(fail_on), .def = "error",
     .choices = fail_levels, .group = G_RUN, .metavar = "LEVEL",
     .help = "lowest finding level that fails the run: info, warning, error, never"},
    {.name = "require-tagged", .type = T_U64, .off = OFF(require_tagged), .def = "0",
     .max = 1000000, .group = G_RUN, .metavar = "N",
     .help = "fail the run unless at least N pages loaded Stripe.js"},
    /* Admin */
    {.name = "admin", .type = T_STR, .off = OFF(admin), .def = "127.0.0.1:8081",
     .check = check_admin, .group = G_ADMIN, .metavar = "ADDR:PORT|off",
     .help = "serve the dashboard, CA download and metrics here"},
    {.name = "allow-remote-admin", .type = T_BOOL, .off = OFF(allow_remote_admin),
     .group = G_ADMIN, .help = "allow a non-loopback --admin address"},
    /* General */
    {.name = "log-level", .type = T_ENUM, .off = OFF(log_level), .def = "info",
     .choices = log_levels, .group = G_GENERAL, .metavar = "LEVEL",
     .help = "diagnostics on stderr: error, warn, info, debug"},
    {.name = "config", .type = T_CONFIG, .off = OFF(config_file), .group = G_GENERAL,
     .metavar = "FILE", .path = true,
     .help = "read options from FILE (name = value lines); the command line wins"},
    {.name = "help", .type = T_HELP, .group = G_GENERAL, .help = "show this help and exit"},
    {.name = "version", .type = T_VERSION, .group = G_GENERAL,
     .help = "show the version and exit"},
};
// clang-format on

#define NOPTS (sizeof opts / sizeof opts[0])

static bool takes_value(const opt_t *o) {
  return o->type != T_BOOL && o->type != T_HELP && o->type != T_VERSION;
}
static void *field(fca_config_t *cfg, const opt_t *o) { return (char *)cfg + o->off; }
static const void *cfield(const fca_config_t *cfg, const opt_t *o) {
  return (const char *)cfg + o->off;
}

size_t fca_config_option_count(void) { return NOPTS; }
const char *fca_config_option_name(size_t i) { return i < NOPTS ? opts[i].name : NULL; }

int fca_config_option_info(size_t i, fca_config_option_info_t *out) {
  if (i >= NOPTS) return -1;
  const opt_t *o = &opts[i];
  out->name = o->name;
  out->metavar = takes_value(o) ? o->metavar : NULL;
  out->help = o->help;
  out->group = group_names[o->group];
  out->def = o->shown ? o->shown : o->def;
  out->repeatable = o->type == T_LIST;
  return 0;
}

static const opt_t *find_opt(const char *name, size_t len) {
  for (size_t i = 0; i < NOPTS; i++)
    if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0) return &opts[i];
  return NULL;
}

/* Returns 1 when a close name was suggested, else 0. */
static int unknown_msg(char *err, size_t errlen, const char *dash, const char *name, size_t len) {
  const char *best = NULL;
  size_t bestd = 3;
  for (size_t i = 0; i < NOPTS; i++) {
    size_t d = fca_edit_distance(name, len, opts[i].name, strlen(opts[i].name), false);
    if (d < bestd) bestd = d, best = opts[i].name;
  }
  if (best)
    fca_seterr(err, errlen, "unknown option %s%.*s (did you mean %s%s?)", dash, (int)len, name,
               dash, best);
  else
    fca_seterr(err, errlen, "unknown option %s%.*s", dash, (int)len, name);
  return best != NULL;
}

static int check_listen(const char *v, char *why, size_t n) {
  char host[256];
  int port;
  if (fca_config_split_hostport(v, host, sizeof host, &port) < 0 ||
      (strcasecmp(host, "localhost") != 0 && !fca_config_is_ip(host))) {
    snprintf(why, n, "bad address '%s' (expected IP:PORT, [IPv6]:PORT or localhost:PORT)", v);
    return -1;
  }
  return 0;
}

static int check_admin(const char *v, char *why, size_t n) {
  if (strcmp(v, "off") == 0) return 0;
  if (check_listen(v, why, n) == 0) return 0;
  snprintf(why, n, "bad address '%s' (expected IP:PORT, [IPv6]:PORT, localhost:PORT or off)", v);
  return -1;
}

static int check_proxy_auth(const char *v, char *why, size_t n) {
  const char *c = strchr(v, ':');
  if (!c || c == v) {
    snprintf(why, n, "expected USER:PASS (a user name, a colon, a password)");
    return -1;
  }
  return 0;
}

static int check_dns_server(const char *v, char *why, size_t n) {
  char host[64];
  int port;
  if (fca_config_parse_dns_server(v, host, sizeof host, &port) == 0) return 0;
  snprintf(why, n, "bad server '%s' (expected IP, IP:PORT, [IPv6] or [IPv6]:PORT)", v);
  return -1;
}

static int check_resolve(const char *v, char *why, size_t n) {
  return fca_config_parse_resolve(v, NULL, NULL, NULL, why, n);
}

static int check_connect_to(const char *v, char *why, size_t n) {
  return fca_config_parse_connect_to(v, NULL, NULL, NULL, NULL, why, n);
}

static int check_upstream_proxy(const char *v, char *why, size_t n) {
  char host[256];
  int port;
  return fca_config_parse_proxy_url(v, host, sizeof host, &port, why, n);
}

static int check_rule(const char *v, char *why, size_t n) {
  static const char *const levels[] = {"ignore", "info", "warning", "error"};
  const char *eq = strchr(v, '=');
  bool ok = eq && eq != v;
  for (const char *p = v; ok && p < eq; p++)
    if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_') ok = false;
  if (ok) {
    ok = false;
    for (size_t i = 0; i < 4; i++)
      if (strcmp(eq + 1, levels[i]) == 0) ok = true;
  }
  if (!ok) {
    snprintf(why, n,
             "bad rule setting '%s' (expected ID=LEVEL, LEVEL one of ignore, info, "
             "warning, error)",
             v);
    return -1;
  }
  return 0;
}

static int check_sink(const char *v, char *why, size_t n) {
  fca_redis_url_t u;
  if (fca_redis_url_parse(v, &u, why, n) < 0) return -1;
  fca_redis_url_free(&u);
  return 0;
}

/* Instance names and labels: printable, no spaces, so they read well in every output. */
static int check_name(const char *v, char *why, size_t n) {
  size_t len = strlen(v);
  bool ok = len > 0 && len <= 128;
  for (size_t i = 0; ok && i < len; i++)
    if ((unsigned char)v[i] <= ' ' || (unsigned char)v[i] >= 0x7f) ok = false;
  if (!ok) {
    snprintf(why, n, "expected 1 to 128 printable characters without spaces");
    return -1;
  }
  return 0;
}

/* ---- values ---- */

static void fmt_amount(const opt_t *o, uint64_t v, char *buf, size_t n) {
  if (o->type == T_SIZE) {
    if (v && v % GIB == 0)
      snprintf(buf, n, "%lluG", (unsigned long long)(v / GIB));
    else if (v && v % MIB == 0)
      snprintf(buf, n, "%lluM", (unsigned long long)(v / MIB));
    else if (v && v % KIB == 0)
      snprintf(buf, n, "%lluk", (unsigned long long)(v / KIB));
    else
      snprintf(buf, n, "%llu", (unsigned long long)v);
  } else if (o->type == T_DUR) {
    if (v && v % HOUR == 0)
      snprintf(buf, n, "%lluh", (unsigned long long)(v / HOUR));
    else if (v && v % 60000 == 0)
      snprintf(buf, n, "%llum", (unsigned long long)(v / 60000));
    else if (v && v % SEC == 0)
      snprintf(buf, n, "%llus", (unsigned long long)(v / SEC));
    else
      snprintf(buf, n, "%llums", (unsigned long long)v);
  } else {
    snprintf(buf, n, "%llu", (unsigned long long)v);
  }
}

static int check_bounds(const opt_t *o, uint64_t v, const char *given, char *why, size_t n) {
  if (v >= o->min && v <= o->max) return 0;
  char lo[32], hi[32], val[32];
  fmt_amount(o, o->min, lo, sizeof lo);
  fmt_amount(o, o->max, hi, sizeof hi);
  if (!given) fmt_amount(o, v, val, sizeof val);
  snprintf(why, n, "%s is out of range (%s to %s)", given ? given : val, lo, hi);
  return -1;
}

static int parse_bool(const char *v, bool *out) {
  static const char *const yes[] = {"true", "yes", "1", "on"}, *const no[] = {"false", "no", "0",
                                                                              "off"};
  for (size_t i = 0; i < 4; i++) {
    if (strcasecmp(v, yes[i]) == 0) return *out = true, 0;
    if (strcasecmp(v, no[i]) == 0) return *out = false, 0;
  }
  return -1;
}

static char *expand_path(const opt_t *o, const char *v) {
  const char *home = getenv("HOME");
  if (o->path && v[0] == '~' && v[1] == '/' && home && *home)
    return fca_xasprintf("%s%s", home, v + 1);
  return fca_xstrdup(v);
}

/* Sets option o from text v (NULL for a switch given without a value). Lists append. */
static int apply(fca_config_t *cfg, const opt_t *o, const char *v, char *why, size_t n) {
  void *f = field(cfg, o);
  uint64_t u;
  if (o->type == T_BOOL) {
    bool b = true;
    if (v && parse_bool(v, &b) < 0) {
      snprintf(why, n, "bad boolean '%s' (use true, false, yes, no, 1 or 0)", v);
      return -1;
    }
    *(bool *)f = b;
    return 0;
  }
  if (!v || !*v) {
    snprintf(why, n, "empty value (expected %s)", o->metavar);
    return -1;
  }
  switch (o->type) {
  case T_STR:
  case T_CONFIG:
  case T_LIST: {
    if (o->check && o->check(v, why, n) < 0) return -1;
    char *s = expand_path(o, v);
    if (o->type == T_LIST) {
      fca_strlist_add(f, s);
      free(s);
    } else {
      free(*(char **)f);
      *(char **)f = s;
    }
    return 0;
  }
  case T_ENUM:
    for (const char *const *c = o->choices; *c; c++) {
      if (strcasecmp(v, *c) == 0) {
        free(*(char **)f);
        *(char **)f = fca_xstrdup(*c);
        return 0;
      }
    }
    snprintf(why, n, "unknown value '%s' (allowed: ", v);
    for (const char *const *c = o->choices; *c; c++) {
      size_t l = strlen(why);
      snprintf(why + l, n - l, "%s%s", *c, c[1] ? ", " : ")");
    }
    return -1;
  case T_DUR:
    if (fca_parse_duration_ms(v, &u) < 0) {
      snprintf(why, n,
               "bad duration '%s' (use a number with ms, s, m or h; a bare number is "
               "seconds)",
               v);
      return -1;
    }
    if (check_bounds(o, u, v, why, n) < 0) return -1;
    *(uint64_t *)f = u;
    return 0;
  case T_SIZE:
    if (fca_parse_size(v, &u) < 0) {
      snprintf(why, n, "bad size '%s' (use a number with k, M or G; a bare number is bytes)", v);
      return -1;
    }
    if (check_bounds(o, u, v, why, n) < 0) return -1;
    *(uint64_t *)f = u;
    return 0;
  case T_INT:
  case T_U64: {
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (!isdigit((unsigned char)v[0]) || *end || errno) {
      snprintf(why, n, "bad number '%s' (expected a whole number)", v);
      return -1;
    }
    if (check_bounds(o, x, v, why, n) < 0) return -1;
    if (o->type == T_INT)
      *(int *)f = (int)x;
    else
      *(uint64_t *)f = x;
    return 0;
  }
  default: snprintf(why, n, "cannot be set here"); return -1;
  }
}

static char *default_ca_dir(void) {
  const char *env = getenv("FCAUDIT_CA_DIR");
  if (env && *env) return fca_xstrdup(env);
  const char *home = getenv("HOME");
  if (!home || !*home) {
    struct passwd *pw = getpwuid(getuid());
    home = pw && pw->pw_dir && *pw->pw_dir ? pw->pw_dir : ".";
  }
  return fca_xasprintf("%s/.fcaudit", home);
}

void fca_config_init(fca_config_t *cfg) {
  memset(cfg, 0, sizeof *cfg);
  char why[256];
  for (size_t i = 0; i < NOPTS; i++) {
    if (opts[i].def && apply(cfg, &opts[i], opts[i].def, why, sizeof why) < 0) {
      fca_err("config: bad built-in default for --%s: %s", opts[i].name, why);
      abort();
    }
  }
  cfg->ca_dir = default_ca_dir();
}

void fca_config_free(fca_config_t *cfg) {
  for (size_t i = 0; i < NOPTS; i++) {
    const opt_t *o = &opts[i];
    if (o->type == T_LIST)
      fca_strlist_free(field(cfg, o));
    else if (o->type == T_STR || o->type == T_ENUM || o->type == T_CONFIG) {
      free(*(char **)field(cfg, o));
      *(char **)field(cfg, o) = NULL;
    }
  }
}

/* ---- command line ---- */

/* One step over argv. Returns 1 with *o and *v (NULL for a switch) and *i advanced, 0 when
 * argv[*i] ends the options (*i is then the index to return), -1 with err set. */
static int next_opt(int argc, char **argv, int *i, const opt_t **o, const char **v, char *err,
                    size_t errlen) {
  if (*i >= argc) return 0;
  const char *a = argv[*i];
  if (strcmp(a, "--") == 0) {
    (*i)++;
    return 0;
  }
  if (a[0] != '-' || a[1] == '\0') return 0;
  if (a[1] != '-') {
    const char *name = a + 1;
    if (strcmp(name, "h") == 0)
      name = "help";
    else if (strcmp(name, "v") == 0 || strcmp(name, "V") == 0)
      name = "version";
    if (find_opt(name, strlen(name)))
      fca_seterr(err, errlen, "unknown option %s (options are long: did you mean --%s?)", a, name);
    else if (unknown_msg(err, errlen, "--", name, strlen(name)) == 0)
      fca_seterr(err, errlen, "unknown option %s", a);
    return -1;
  }
  const char *name = a + 2, *eq = strchr(name, '=');
  size_t len = eq ? (size_t)(eq - name) : strlen(name);
  *o = find_opt(name, len);
  if (!*o) {
    unknown_msg(err, errlen, "--", name, len);
    return -1;
  }
  if (!takes_value(*o)) {
    if (eq) {
      fca_seterr(err, errlen, "option --%s takes no value", (*o)->name);
      return -1;
    }
    *v = NULL;
    *i += 1;
    return 1;
  }
  if (eq) {
    *v = eq + 1;
    *i += 1;
    return 1;
  }
  if (*i + 1 >= argc || strncmp(argv[*i + 1], "--", 2) == 0) {
    fca_seterr(err, errlen, "option --%s needs a value (%s)", (*o)->name, (*o)->metavar);
    return -1;
  }
  *v = argv[*i + 1];
  *i += 2;
  return 1;
}

int fca_config_parse_args(fca_config_t *cfg, int argc, char **argv, int first, bool *want_help,
                          bool *want_version, char *err, size_t errlen) {
  if (want_help) *want_help = false;
  if (want_version) *want_version = false;
  const opt_t *o;
  const char *v, *config = NULL;
  int i = first, r;
  bool stop = false;
  /* Pass 1: find --config (the file is applied before the command line). */
  while (!stop && (r = next_opt(argc, argv, &i, &o, &v, err, errlen)) != 0) {
    if (r < 0) return -1;
    if (o->type == T_HELP || o->type == T_VERSION) stop = true;
    if (o->type != T_CONFIG) continue;
    if (config) {
      fca_seterr(err, errlen, "option --config given more than once");
      return -1;
    }
    if (!*v) {
      fca_seterr(err, errlen, "option --config needs a value (FILE)");
      return -1;
    }
    config = v;
  }
  if (config && !stop) {
    char *path = expand_path(find_opt("config", 6), config);
    int rc = fca_config_load_file(cfg, path, err, errlen);
    free(path);
    if (rc < 0) return -1;
  }
  /* Pass 2: the command line; a list given here replaces the list from the file. */
  bool cleared[NOPTS] = {false};
  char why[512];
  i = first;
  while ((r = next_opt(argc, argv, &i, &o, &v, err, errlen)) != 0) {
    if (r < 0) return -1;
    if (o->type == T_HELP || o->type == T_VERSION) {
      bool *want = o->type == T_HELP ? want_help : want_version;
      if (want) *want = true;
      return i;
    }
    if (o->type == T_CONFIG) continue;
    if (o->type == T_LIST && !cleared[o - opts]) {
      fca_strlist_free(field(cfg, o));
      cleared[o - opts] = true;
    }
    if (apply(cfg, o, v, why, sizeof why) < 0) {
      fca_seterr(err, errlen, "--%s: %s", o->name, why);
      return -1;
    }
  }
  if (cfg->listen.n == 0) fca_strlist_add(&cfg->listen, FCA_CONFIG_DEFAULT_LISTEN);
  return i;
}

/* ---- config file ---- */

static char *trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  size_t n = strlen(s);
  while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
  return s;
}

/* One "name = value" / "name value" / "name" line (already trimmed, not a comment). */
static int file_line(fca_config_t *cfg, char *line, char *why, size_t n) {
  char *name = line;
  if (strncmp(name, "--", 2) == 0) name += 2;
  char *p = name;
  while (*p && !isspace((unsigned char)*p) && *p != '=') p++;
  size_t len = (size_t)(p - name);
  while (isspace((unsigned char)*p)) p++;
  if (*p == '=') p++;
  char *v = trim(p);
  if (*v == '"') { /* quoted: may hold '#' and outer spaces */
    char *q = strchr(v + 1, '"');
    if (!q || (*trim(q + 1) && *trim(q + 1) != '#')) {
      snprintf(why, n, "unterminated or trailing text after quoted value");
      return -1;
    }
    *q = '\0';
    v++;
  } else {
    for (char *h = v; (h = strchr(h, '#')); h++)
      if (isspace((unsigned char)h[-1])) { /* h > name: there is a character before it */
        *h = '\0';
        v = trim(v);
        break;
      }
  }
  const opt_t *o = find_opt(name, len);
  if (len == 0) {
    snprintf(why, n, "expected name = value");
    return -1;
  }
  if (!o) {
    unknown_msg(why, n, "", name, len);
    return -1;
  }
  if (o->type == T_CONFIG || o->type == T_HELP || o->type == T_VERSION) {
    snprintf(why, n, "%s cannot be used in a config file", o->name);
    return -1;
  }
  if (o->type == T_BOOL && !*v)
    v = NULL;
  else if (!*v) {
    snprintf(why, n, "%s needs a value (%s)", o->name, o->metavar);
    return -1;
  }
  char inner[512];
  if (apply(cfg, o, v, inner, sizeof inner) < 0) {
    snprintf(why, n, "%s: %s", o->name, inner);
    return -1;
  }
  return 0;
}

int fca_config_load_file(fca_config_t *cfg, const char *path, char *err, size_t errlen) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fca_seterr(err, errlen, "%s: cannot read config file: %s", path, strerror(errno));
    return -1;
  }
  char *line = NULL, why[600];
  size_t cap = 0;
  unsigned lineno = 0;
  int rc = 0;
  while (getline(&line, &cap, f) >= 0) {
    lineno++;
    char *s = trim(line);
    if (!*s || *s == '#') continue;
    if (file_line(cfg, s, why, sizeof why) < 0) {
      fca_seterr(err, errlen, "%s:%u: %s", path, lineno, why);
      rc = -1;
      break;
    }
  }
  if (rc == 0 && ferror(f)) {
    fca_seterr(err, errlen, "%s: read error: %s", path, strerror(errno));
    rc = -1;
  }
  free(line);
  fclose(f);
  if (rc == 0) {
    free(cfg->config_file);
    cfg->config_file = fca_xstrdup(path);
  }
  return rc;
}

/* ---- validation ---- */

static int validate_value(const fca_config_t *cfg, const opt_t *o, char *why, size_t n) {
  const void *f = cfield(cfg, o);
  switch (o->type) {
  case T_STR: {
    const char *s = *(char *const *)f;
    return s && o->check ? o->check(s, why, n) : 0;
  }
  case T_LIST: {
    const fca_strlist_t *l = f;
    for (size_t k = 0; k < l->n; k++)
      if (o->check && o->check(l->items[k], why, n) < 0) return -1;
    return 0;
  }
  case T_ENUM: {
    const char *s = *(char *const *)f;
    if (!s) return 0;
    for (const char *const *c = o->choices; *c; c++)
      if (strcmp(s, *c) == 0) return 0;
    snprintf(why, n, "unknown value '%s'", s);
    return -1;
  }
  case T_DUR:
  case T_SIZE:
  case T_U64: return check_bounds(o, *(const uint64_t *)f, NULL, why, n);
  case T_INT: {
    int x = *(const int *)f;
    if (x < 0) {
      snprintf(why, n, "%d is out of range (%llu to %llu)", x, (unsigned long long)o->min,
               (unsigned long long)o->max);
      return -1;
    }
    return check_bounds(o, (uint64_t)x, NULL, why, n);
  }
  default: return 0;
  }
}

int fca_config_validate(const fca_config_t *cfg, char *err, size_t errlen) {
  char why[512], host[256];
  int port;
  for (size_t i = 0; i < NOPTS; i++) {
    if (validate_value(cfg, &opts[i], why, sizeof why) < 0) {
      fca_seterr(err, errlen, "--%s: %s", opts[i].name, why);
      return -1;
    }
  }
  for (size_t k = 0; k < cfg->listen.n; k++) {
    const char *a = cfg->listen.items[k];
    if (fca_config_split_hostport(a, host, sizeof host, &port) == 0 && !cfg->allow_remote &&
        !fca_config_host_is_loopback(host)) {
      fca_seterr(err, errlen,
                 "refusing --listen %s without --allow-remote: anyone who can reach a non-loopback "
                 "address could use this TLS-intercepting proxy (an open MITM proxy is dangerous)",
                 a);
      return -1;
    }
  }
  if (cfg->admin && strcmp(cfg->admin, "off") != 0 &&
      fca_config_split_hostport(cfg->admin, host, sizeof host, &port) == 0 &&
      !cfg->allow_remote_admin && !fca_config_host_is_loopback(host)) {
    fca_seterr(
        err, errlen,
        "refusing --admin %s without --allow-remote-admin: the admin page shows live traffic "
        "details and hands out the CA to anyone who can reach it",
        cfg->admin);
    return -1;
  }
  return 0;
}
