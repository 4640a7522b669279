/* harness: helpers for the Criterion integration tests: temp dirs, child processes (spawned
 * with a death signal so none outlives the test), bounded command runs with captured output,
 * the test origin and the proxy as fixtures, and a raw-socket client for exact bytes.
 * Everything a test creates is registered and undone by fca_harness_cleanup(), which tests
 * use as .fini (it also runs at exit). Every wait has a timeout; only loopback is touched. */
#ifndef FCA_TEST_HARNESS_H
#define FCA_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- cleanup ---- */

/* Stops every registered process (SIGTERM, then SIGKILL) and removes every temp dir. */
void fca_harness_cleanup(void);

/* ---- files and dirs ---- */

/* A new directory /tmp/fca-test.XXXXXX (malloc'd path), removed recursively at cleanup. */
char *fca_tmpdir_new(void);
/* dir + "/" + name, malloc'd. */
char *fca_path(const char *dir, const char *name);
/* The whole file, NUL-terminated (len excludes the NUL); NULL if unreadable. */
char *fca_read_file(const char *path, size_t *len);
int fca_write_file(const char *path, const void *data, size_t len);
/* Number of '\n'-terminated lines (a last line without '\n' counts too); -1 if unreadable. */
long fca_count_lines(const char *path);

/* ---- processes ---- */

/* Starts argv (argv[0] looked up in PATH when it has no '/'), stdout/stderr to the files
 * (NULL: /dev/null), stdin from /dev/null. Returns the pid or -1. */
pid_t fca_spawn(char *const argv[], const char *stdout_path, const char *stderr_path);
/* Same, with "NAME=VALUE" entries added to (or replacing in) the environment. */
pid_t fca_spawn_env(char *const argv[], char *const env_add[], const char *stdout_path,
                    const char *stderr_path);
/* Waits up to timeout_ms for the process to exit: 0 and *status (wait status), or -1. */
int fca_proc_wait(pid_t pid, int timeout_ms, int *status);
/* True while the process has not exited. */
bool fca_proc_alive(pid_t pid);
/* SIGTERM, wait up to timeout_ms, then SIGKILL. Returns the wait status (see WIFEXITED), or -1
 * for an unknown pid. */
int fca_proc_stop(pid_t pid, int timeout_ms);
/* Peak resident set (VmHWM) in KiB, -1 when unknown. */
long fca_proc_peak_rss_kb(pid_t pid);

/* Result of a bounded run: output captured whole (NUL-terminated). */
typedef struct {
  char *out, *err;
  size_t out_len, err_len;
  int status;     /* wait status */
  bool timed_out; /* killed after the timeout */
} fca_run_t;

/* Runs argv to completion, killing it after timeout_ms. Returns 0 when it exited by itself. */
int fca_run(char *const argv[], int timeout_ms, fca_run_t *r);
void fca_run_free(fca_run_t *r);
/* The same with separate outputs (err may be NULL); returns 0 or -1 on timeout. */
int fca_run_capture(char *const argv[], char **out, size_t *out_len, char **err, int *status,
                    int timeout_ms);
/* Runs curl -sS with the given arguments (NULL-terminated list) and --max-time derived from
 * timeout_ms; returns fca_run's result. */
int fca_curl(fca_run_t *r, int timeout_ms, ...) __attribute__((sentinel));
/* Same with an argument vector. */
int fca_curl_argv(fca_run_t *r, int timeout_ms, const char *const args[]);
/* Exit code of a run (-1 when it did not exit normally). */
int fca_run_exit_code(const fca_run_t *r);

/* ---- ports ---- */

/* Polls until path holds a port number (written by the origin). Returns it, or -1. */
int fca_wait_port_file(const char *path, int timeout_ms);
/* Polls until 127.0.0.1:port accepts a TCP connection: 0, or -1 on timeout. */
int fca_wait_tcp_port(int port, int timeout_ms);
/* A port that was free a moment ago (bind 127.0.0.1:0, read, close). */
int fca_free_port(void);
/* A socket listening on 127.0.0.1 (the port in *port): the port is in use until it is closed.
 * Returns the socket, or -1. */
int fca_busy_port(int *port);

/* ---- the test origin ---- */

typedef struct {
  bool tls;         /* HTTPS; certificate from cert/key or a fresh test CA */
  const char *root; /* --root for /files/ */
  const char *cert, *key;
  bool ipv6;    /* also listen on [::1] */
  bool verbose; /* request lines to its stderr file */
} fca_origin_opts_t;

typedef struct {
  pid_t pid;
  int port;
  bool tls;
  char *dir;         /* its temp dir */
  char *ca_pem;      /* with tls and no cert given: the test CA that signed its leaf */
  char *stderr_path; /* its stderr */
} fca_origin_t;

/* Starts fca-test-origin on a free port (opts may be NULL). Returns 0 or -1. */
int fca_origin_start(fca_origin_t *o, const fca_origin_opts_t *opts);
/* Stops it; returns its wait status. */
int fca_origin_stop(fca_origin_t *o);
/* "http(s)://127.0.0.1:PORT" + path, malloc'd. */
char *fca_origin_url(const fca_origin_t *o, const char *path);

/* ---- the proxy under test ---- */

typedef struct {
  pid_t pid;
  int port;
  char *dir;         /* its temp dir */
  char *log_path;    /* --log: dir/events.ndjson */
  char *stderr_path; /* dir/proxy.stderr */
  char *ca_dir;      /* --ca-dir: dir/ca (its interception CA: ca.pem) */
} fca_testproxy_t;

/* Lets DNS happen: no --only-resolved. extra_args must then hold --dns-server. */
#define FCA_TESTPROXY_ALLOW_DNS 1u

/* Runs the fcaudit binary: --listen 127.0.0.1:<free port> --only-resolved --log dir/events.ndjson
 * --ca-dir dir/ca --admin off, then extra_args (NULL-terminated, may be NULL). Retries on a port
 * taken meanwhile; returns 0 once the port accepts connections, -1 if it never did (its stderr
 * is then in stderr_path and printed). */
int fca_testproxy_start(fca_testproxy_t *p, const char *const extra_args[]);
int fca_testproxy_start_flags(fca_testproxy_t *p, const char *const extra_args[], unsigned flags);
/* SIGTERM and wait (up to 10 s); returns the wait status. */
int fca_testproxy_stop(fca_testproxy_t *p);
/* "http://127.0.0.1:PORT", malloc'd (for curl -x). */
char *fca_testproxy_url(const fca_testproxy_t *p);
/* Its stderr so far (malloc'd, never NULL). */
char *fca_testproxy_stderr(const fca_testproxy_t *p);

/* ---- raw sockets ---- */

/* A connected TCP socket to 127.0.0.1:port (blocking), or -1. */
int fca_tcp_connect(int port, int timeout_ms);
int fca_send_all(int fd, const void *buf, size_t n, int timeout_ms);
/* Appends to *buf (malloc'd, NUL-terminated; *len its length) until the peer closes, *len
 * reaches want (0: no bound), needle appears (NULL: none) or timeout_ms passes. Returns 1 when
 * the peer closed, 0 otherwise, -1 on a socket error. */
int fca_recv_until(int fd, char **buf, size_t *len, size_t want, const char *needle,
                   int timeout_ms);
/* Connect, send req, shut down nothing, read as fca_recv_until, close. Returns as
 * fca_recv_until, or -1 when it could not connect or send. */
int fca_raw_exchange(int port, const void *req, size_t req_len, char **resp, size_t *resp_len,
                     size_t want, const char *needle, int timeout_ms);

/* Counts non-overlapping occurrences of needle in hay[0..n). */
size_t fca_count_str(const char *hay, size_t n, const char *needle);
/* memmem for tests. */
const char *fca_find(const char *hay, size_t n, const char *needle);

#endif
