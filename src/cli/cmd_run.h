/* cmd_run: `fcaudit run [proxy options] -- CMD [ARGS...]` starts the proxy on a free loopback
 * port, runs CMD with the proxy and the CA in its environment, forwards SIGINT/SIGTERM to it,
 * then drains the proxy, writes the reports and prints the summary. */
#ifndef FCAUDIT_CMD_RUN_H
#define FCAUDIT_CMD_RUN_H

#include <stdbool.h>
#include <stddef.h>

#include "fcaudit/config.h"

/* argv is the whole command line and argv[first] is "run"; options after it are parsed into cfg
 * (those before it already are: the whole line is scanned only to see whether --listen or
 * --admin was given). Returns the exit status: 0, 1 (findings at or above --fail-on, too few
 * tagged pages), 2 (CMD failed), 3 (fcaudit could not run); the highest that applies. */
int fca_cmd_run_main(fca_config_t *cfg, int argc, char **argv, int first);

/* The environment CMD gets: env (NULL-terminated "K=V" list, not modified) with the proxy,
 * CA and bundle variables set and NO_PROXY/no_proxy removed. A new array of new strings; free
 * with fca_cmd_run_env_free. proxy_url: "http://127.0.0.1:PORT". */
char **fca_cmd_run_env(char *const env[], const char *proxy_url, const char *ca_file,
                       const char *spki, const char *bundle);
void fca_cmd_run_env_free(char **env);

/* Writes a PEM bundle of the system roots (the first readable of $SSL_CERT_FILE, OpenSSL's
 * default file and the usual distribution paths) followed by the CA certificate at ca_pem.
 * Returns 0, or -1 with err; *had_system tells whether system roots were found. */
int fca_cmd_run_write_bundle(const char *path, const char *ca_pem, bool *had_system, char *err,
                             size_t errlen);

#endif
