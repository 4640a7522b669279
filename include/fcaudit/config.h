/* config: every option of fcaudit in one struct, filled from one table (src/cli/config.c) by the
 * command line and by `--config FILE` (same long names, `name = value` lines; the command line
 * wins). Durations are stored in milliseconds, sizes in bytes. Lists keep the order given. */
#ifndef FCAUDIT_CONFIG_H
#define FCAUDIT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The name that reaches the admin pages through the proxy (http(s)://fcaudit.test/). */
#define FCA_ADMIN_HOST "fcaudit.test"

typedef struct {
  char **items;
  size_t n;
} fca_strlist_t;

typedef struct {
  /* network */
  fca_strlist_t listen;         /* "ADDR:PORT", "[::1]:8080"; default 127.0.0.1:8080 */
  bool allow_remote;            /* allow non-loopback --listen */
  bool allow_local_connect;     /* with allow_remote: CONNECT to any port of this host */
  char *proxy_auth;             /* "USER:PASS" or NULL */
  int workers;                  /* 0 = number of CPUs */
  fca_strlist_t dns_server;     /* "ADDR[:PORT]" replaces the system resolvers */
  bool only_resolved;           /* refuse hosts not named by --resolve/--connect-to */
  fca_strlist_t resolve;        /* "HOST:PORT:ADDR" (curl syntax) */
  fca_strlist_t connect_to;     /* "HOST1:PORT1:HOST2:PORT2" (curl syntax) */
  uint64_t buffer_limit;        /* per-direction output bound, bytes (256k) */
  uint64_t max_header_size;     /* request/response head limit, bytes (64k) */
  uint64_t connect_timeout_ms;  /* 10s */
  uint64_t header_timeout_ms;   /* 30s */
  uint64_t idle_timeout_ms;     /* 60s */
  uint64_t upstream_timeout_ms; /* 120s */
  uint64_t drain_timeout_ms;    /* 5s */
  char *log_level;              /* error|warn|info|debug; default info */

  /* TLS interception */
  char *ca_dir;                  /* default $FCAUDIT_CA_DIR, else ~/.fcaudit */
  char *ca_key_type;             /* ecdsa-p256 (default) | rsa2048 */
  uint64_t cert_cache_size;      /* per worker, 1024 */
  fca_strlist_t ignore_hosts;    /* globs: tunnelled blindly */
  fca_strlist_t intercept_hosts; /* globs: only these decrypted */
  bool auto_passthrough;
  fca_strlist_t upstream_ca; /* extra PEM files trusted for origins */
  bool insecure_upstream;
  char *upstream_proxy; /* http://HOST:PORT */

  /* audit */
  uint64_t max_audit_bytes; /* 16M */
  bool anticache;
  bool no_http2;                  /* ALPN offers only http/1.1 to clients */
  uint64_t correlation_window_ms; /* 30s */
  char *min_confidence;           /* medium|high */
  char *env;                      /* production|staging|test (staging) */
  char *rules_file;
  fca_strlist_t rule; /* "ID=LEVEL" */
  bool no_dedup;
  bool redact_query;

  /* output */
  char *log;          /* NDJSON event log, default fcaudit-events.ndjson */
  fca_strlist_t sink; /* "redis://..." event shippers (the log is their spool) */
  char *instance;     /* name in the fleet; NULL = "HOST:PID" */
  char *label;        /* run label in the fleet, or NULL */
  bool quiet;
  char *report_json;
  char *junit;
  char *sarif;
  char *report_html;
  char *baseline;
  char *har;             /* write the session as HAR 1.2 */
  uint64_t har_body_max; /* bodies kept in the HAR (2M) */

  /* run */
  char *fail_on; /* info|warning|error|never (error) */
  uint64_t require_tagged;

  /* admin */
  char *admin; /* "127.0.0.1:8081" default, "off" to disable */
  bool allow_remote_admin;

  /* meta */
  char *config_file;
} fca_config_t;

/* Fills defaults. */
void fca_config_init(fca_config_t *cfg);
void fca_config_free(fca_config_t *cfg);

/* The --listen address used when neither the command line nor a config file names one.
 * fca_config_init leaves cfg->listen empty; fca_config_parse_args adds this default at its end
 * when the list is still empty (code that builds a config by hand adds its own address). */
#define FCA_CONFIG_DEFAULT_LISTEN "127.0.0.1:8080"

/* Parses options from argv[first..] up to a "--" or the first non-option word.
 * On success returns the index of the first unparsed argument: the index of the argument
 * right after "--" (then argv[ret - 1] is "--"; no option value can be "--"), the index of the
 * first non-option word (a subcommand, a positional; "-" alone is a word), or argc.
 * On error returns -1 and writes a message (one line, no trailing newline) into err.
 * `--help` and `--version` set *want_help / *want_version (either may be NULL) and stop
 * parsing; the index after them is returned.
 * A `--config FILE` (anywhere among the options) is read first; command-line values then
 * override it, and a list option given on the command line replaces the file's list. */
int fca_config_parse_args(fca_config_t *cfg, int argc, char **argv, int first, bool *want_help,
                          bool *want_version, char *err, size_t errlen);

/* Reads `name = value` lines (# comments) from path. Returns 0 or -1 with err set
 * ("FILE:LINE: message"). */
int fca_config_load_file(fca_config_t *cfg, const char *path, char *err, size_t errlen);

/* Checks cross-option constraints (e.g. non-loopback listen without --allow-remote). */
int fca_config_validate(const fca_config_t *cfg, char *err, size_t errlen);

/* Writes the --help text (options grouped by topic) to the stream. */
void fca_config_print_help(void *stream /* FILE* */, const char *progname);

/* Writes every option, grouped by topic as in --help, in one of three formats: the --help
 * text, roff for the OPTIONS section of man/fcaudit.1, or Markdown tables for README.md.
 * The docs embed this output verbatim (a unit test keeps them in sync). */
typedef enum {
  FCA_CONFIG_FMT_HELP = 0,
  FCA_CONFIG_FMT_MAN = 1,
  FCA_CONFIG_FMT_MARKDOWN = 2,
} fca_config_fmt_t;
void fca_config_print_options(void *stream /* FILE* */, fca_config_fmt_t fmt);

/* Number of options in the table, and the long name of option i (no leading dashes). */
size_t fca_config_option_count(void);
const char *fca_config_option_name(size_t i);

/* What --help shows for option i, in table order (options of one group are adjacent). */
typedef struct {
  const char *name;    /* long name without dashes */
  const char *metavar; /* "ADDR:PORT"; NULL for switches (no value) */
  const char *help;    /* one line */
  const char *group;   /* "Network", "Timeouts and limits", ... */
  const char *def;     /* default as shown, NULL when none */
  bool repeatable;
} fca_config_option_info_t;
int fca_config_option_info(size_t i, fca_config_option_info_t *out);

/* Splits "HOST:PORT" or "[IPv6]:PORT" (brackets removed from host). HOST is non-empty and,
 * unless bracketed, has no ':'; PORT is decimal 0..65535. Returns 0, or -1 on bad syntax or
 * when the host does not fit in hostlen. */
int fca_config_split_hostport(const char *s, char *host, size_t hostlen, int *port);

/* True when s is an IPv4 (dotted quad) or IPv6 address literal, without brackets. */
bool fca_config_is_ip(const char *s);

/* --dns-server "IP", "IP:PORT", "IPv6", "[IPv6]" or "[IPv6]:PORT"; the port defaults to 53.
 * Returns 0 with host (no brackets) and *port filled, or -1 on bad syntax. */
int fca_config_parse_dns_server(const char *spec, char *host, size_t hostlen, int *port);

/* --upstream-proxy "http://HOST:PORT" (optional trailing '/'; no credentials, PORT required).
 * Returns 0 with host (no brackets) and *port filled, or -1 with err set (if non-NULL). */
int fca_config_parse_proxy_url(const char *spec, char *host, size_t hostlen, int *port, char *err,
                               size_t errlen);

/* True for "localhost", 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104 (host without brackets). */
bool fca_config_host_is_loopback(const char *host);

/* --resolve "HOST:PORT:ADDR[,ADDR...]" (curl syntax; ADDR may be a bracketed IPv6 address;
 * HOST may be "*"). On success fills *host (allocated), *port and appends each ADDR (no
 * brackets) to addrs; returns 0. On error returns -1 with a message in err (if non-NULL). */
int fca_config_parse_resolve(const char *spec, char **host, int *port, fca_strlist_t *addrs,
                             char *err, size_t errlen);

/* --connect-to "HOST1:PORT1:HOST2:PORT2" (curl syntax): an empty HOST1/PORT1 matches any
 * host/port, an empty HOST2/PORT2 keeps the original. Empty hosts come back as NULL, empty
 * ports as 0; hosts are allocated, brackets removed. Returns 0, or -1 with err set. */
int fca_config_parse_connect_to(const char *spec, char **host1, int *port1, char **host2,
                                int *port2, char *err, size_t errlen);

void fca_strlist_add(fca_strlist_t *l, const char *s);
void fca_strlist_free(fca_strlist_t *l);

#endif
