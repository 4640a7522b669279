/* cmd_run: `fcaudit run [proxy options] -- CMD [ARGS...]` starts the proxy on a free loopback
 * port, runs CMD with the proxy and the CA in its environment, forwards SIGINT/SIGTERM to it,
 * then drains the proxy, writes the reports and prints the summary. */
#ifndef FCAUDIT_CMD_RUN_H
#define FCAUDIT_CMD_RUN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "fcaudit/config.h"

struct fca_model;
struct fca_proxy;
struct fca_ca;
struct fca_run_session;

/* cfg holds every option; argv (argc entries, argv[0] the program) are the fcaudit options as
 * given, scanned only to see whether --listen or --admin was given; cmdv is CMD [ARGS...],
 * NULL-terminated. Returns the exit status: 0, 1 (findings at or above --fail-on, too few
 * tagged pages), 2 (CMD failed), 3 (fcaudit could not run); the highest that applies. */
int fca_cmd_run_main(fca_config_t *cfg, int argc, char **argv, char **cmdv);

/* The machinery of `run`, shared with `browse`, on top of the run session (run_session.h):
 * a proxy on a free loopback port (unless --listen), its run model, the CA, a temporary
 * directory with a CA bundle; SIGINT/SIGTERM/SIGCHLD blocked so only the waiting thread takes
 * them. rs is NULL when browse drives a proxy already running (then own_ca is its CA). */
typedef struct {
  fca_config_t *cfg;
  const char *who; /* "run", "browse": in messages */
  struct fca_run_session *rs;
  struct fca_model *m;     /* rs's */
  struct fca_proxy *p;     /* rs's */
  const struct fca_ca *ca; /* rs's, or own_ca */
  struct fca_ca *own_ca;
  char *dir, *tmpdir, *bundle;
  char *url;      /* "http://127.0.0.1:PORT": shown, given to browsers */
  char *auth_url; /* the same with the --proxy-auth credentials: CMD's environment */
  char spki[64];
  sigset_t set;
} fca_cmd_session_t;

/* default_admin: the --admin used when none was given ("off" for run). Returns 0, or 3 with
 * the reason on stderr (call fca_cmd_session_finish anyway). */
int fca_cmd_session_start(fca_cmd_session_t *s, fca_config_t *cfg, int argc, char **argv,
                          const char *who, const char *default_admin);
/* Starts cmdv with env, default signal dispositions and an empty mask. 0, or 2. */
int fca_cmd_session_spawn(fca_cmd_session_t *s, char **cmdv, char **env, pid_t *child);
/* The same; quiet sends the child's stdout and stderr to /dev/null. */
int fca_cmd_session_spawn_quiet(fca_cmd_session_t *s, char **cmdv, char **env, pid_t *child,
                                bool quiet);
/* Waits for child, passing SIGINT/SIGTERM on. tick (may be NULL) is called about every 200 ms;
 * when it returns true the child is asked to end (SIGTERM) and its exit is not a failure.
 * Returns 0, or 2 when the child failed. */
int fca_cmd_session_wait(fca_cmd_session_t *s, pid_t child, const char *name,
                         bool (*tick)(void *ud), void *ud);
/* Drains the proxy, writes the reports, prints the summary, frees. Returns the exit status:
 * the highest of status and the verdict's; FCA_EXIT_FATAL when every request was refused
 * (fca_proxy_outcome: nothing was audited). */
int fca_cmd_session_finish(fca_cmd_session_t *s, int status);

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
