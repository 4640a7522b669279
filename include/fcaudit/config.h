/* config: every option of fcaudit in one struct, filled from one table (src/config.c) by the
 * command line and by `--config FILE` (same long names, `name = value` lines; the command line
 * wins). Durations are stored in milliseconds, sizes in bytes. Lists keep the order given. */
#ifndef FCAUDIT_CONFIG_H
#define FCAUDIT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  char **items;
  size_t n;
} fca_strlist_t;

typedef struct {
  /* network */
  fca_strlist_t listen;         /* "ADDR:PORT", "[::1]:8080"; default 127.0.0.1:8080 */
  bool allow_remote;            /* allow non-loopback --listen */
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
  uint64_t correlation_window_ms; /* 30s */
  char *min_confidence;           /* medium|high */
  char *env;                      /* production|staging|test (staging) */
  char *rules_file;
  fca_strlist_t rule; /* "ID=LEVEL" */
  bool no_dedup;
  bool redact_query;

  /* output */
  char *log; /* NDJSON event log, default fcaudit-events.ndjson */
  bool quiet;
  char *report_json;
  char *junit;
  char *sarif;
  char *report_html;
  char *baseline;

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

/* Parses options from argv[first..] up to a "--" or the first non-option word.
 * On success returns the index of the first unparsed argument (argc when all were options).
 * On error returns -1 and writes a message (one line, no trailing newline) into err.
 * `--help` and `--version` set *want_help / *want_version and stop parsing.
 * A `--config FILE` is read first; command-line values then override it. */
int fca_config_parse_args(fca_config_t *cfg, int argc, char **argv, int first, bool *want_help,
                          bool *want_version, char *err, size_t errlen);

/* Reads `name = value` lines (# comments) from path. Returns 0 or -1 with err set
 * ("FILE:LINE: message"). */
int fca_config_load_file(fca_config_t *cfg, const char *path, char *err, size_t errlen);

/* Checks cross-option constraints (e.g. non-loopback listen without --allow-remote). */
int fca_config_validate(const fca_config_t *cfg, char *err, size_t errlen);

/* Writes the --help text (options grouped by topic) to the stream. */
void fca_config_print_help(void *stream /* FILE* */, const char *progname);

void fca_strlist_add(fca_strlist_t *l, const char *s);
void fca_strlist_free(fca_strlist_t *l);

#endif
