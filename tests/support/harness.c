/* harness: process, file and socket helpers for the integration tests (see harness.h).
 * Children are forked with PR_SET_PDEATHSIG so that a crashed or killed test leaves nothing
 * behind; between fork and exec a child only makes async-signal-safe calls (the test process
 * may have threads, e.g. the fake DNS server). */
#include "harness.h"

#include "testca.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_PROCS 64
#define MAX_DIRS 64

typedef struct {
  pid_t pid;
  bool reaped;
  int status;
} proc_t;

static proc_t procs[MAX_PROCS];
static size_t nprocs;
static char *dirs[MAX_DIRS];
static size_t ndirs;
static bool atexit_done;

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) abort();
  return p;
}

static char *xstrdup(const char *s) {
  char *d = xmalloc(strlen(s) + 1);
  strcpy(d, s);
  return d;
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static void register_atexit(void) {
  if (!atexit_done) {
    atexit(fca_harness_cleanup);
    atexit_done = true;
  }
}

static proc_t *proc_find(pid_t pid) {
  for (size_t i = 0; i < nprocs; i++)
    if (procs[i].pid == pid) return &procs[i];
  return NULL;
}

static void proc_add(pid_t pid) {
  register_atexit();
  if (nprocs == MAX_PROCS) { /* compact: drop reaped ones */
    size_t k = 0;
    for (size_t i = 0; i < nprocs; i++)
      if (!procs[i].reaped) procs[k++] = procs[i];
    nprocs = k;
  }
  if (nprocs < MAX_PROCS) procs[nprocs++] = (proc_t){pid, false, 0};
}

/* ---- cleanup ---- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  remove(path);
  return 0;
}

void fca_harness_cleanup(void) {
  for (size_t i = 0; i < nprocs; i++)
    if (!procs[i].reaped) fca_proc_stop(procs[i].pid, 3000);
  nprocs = 0;
  for (size_t i = 0; i < ndirs; i++) {
    nftw(dirs[i], rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(dirs[i]);
  }
  ndirs = 0;
}

/* ---- files ---- */

char *fca_tmpdir_new(void) {
  register_atexit();
  char tmpl[] = "/tmp/fca-test.XXXXXX";
  if (!mkdtemp(tmpl)) return NULL;
  if (ndirs < MAX_DIRS) dirs[ndirs++] = xstrdup(tmpl);
  return xstrdup(tmpl);
}

char *fca_path(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = xmalloc(n);
  snprintf(p, n, "%s/%s", dir, name);
  return p;
}

char *fca_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  char *buf = xmalloc(cap);
  size_t r;
  while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += r;
    if (cap - n - 1 == 0) {
      cap *= 2;
      buf = realloc(buf, cap);
      if (!buf) abort();
    }
  }
  fclose(f);
  buf[n] = 0;
  if (len) *len = n;
  return buf;
}

int fca_write_file(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t w = fwrite(data, 1, len, f);
  return fclose(f) == 0 && w == len ? 0 : -1;
}

long fca_count_lines(const char *path) {
  size_t n;
  char *s = fca_read_file(path, &n);
  if (!s) return -1;
  long lines = 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] == '\n') lines++;
  if (n > 0 && s[n - 1] != '\n') lines++;
  free(s);
  return lines;
}

/* ---- processes ---- */

static char *find_exe(const char *name) {
  if (strchr(name, '/')) return xstrdup(name);
  const char *path = getenv("PATH");
  if (!path) path = "/usr/local/bin:/usr/bin:/bin";
  while (*path) {
    size_t l = strcspn(path, ":");
    char buf[4096];
    snprintf(buf, sizeof buf, "%.*s/%s", (int)l, path, name);
    if (access(buf, X_OK) == 0) return xstrdup(buf);
    path += l;
    if (*path == ':') path++;
  }
  return xstrdup(name);
}

/* environ plus env_add ("NAME=VALUE" sets, "NAME" alone removes). The strings are borrowed. */
static char **build_env(char *const env_add[]) {
  size_t n = 0, na = 0;
  while (environ[n]) n++;
  while (env_add && env_add[na]) na++;
  char **env = xmalloc((n + na + 1) * sizeof *env);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    bool drop = false;
    for (size_t j = 0; j < na && !drop; j++) {
      size_t nl = strcspn(env_add[j], "=");
      drop = strncmp(environ[i], env_add[j], nl) == 0 && environ[i][nl] == '=';
    }
    if (!drop) env[k++] = environ[i];
  }
  for (size_t j = 0; j < na; j++)
    if (strchr(env_add[j], '=')) env[k++] = env_add[j];
  env[k] = NULL;
  return env;
}

/* Forks and execs; fds of -1 mean "open this path" (NULL path: /dev/null). */
static pid_t spawn(char *const argv[], char *const env_add[], int out_fd, int err_fd,
                   const char *out_path, const char *err_path) {
  char *exe = find_exe(argv[0]);
  char **env = build_env(env_add);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out_fd < 0)
      out_fd =
          open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (err_fd < 0)
      err_fd =
          open(err_path ? err_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (in < 0 || out_fd < 0 || err_fd < 0) _exit(126);
    dup2(in, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    execve(exe, argv, env);
    _exit(127);
  }
  free(exe);
  free(env);
  if (pid < 0) return -1;
  proc_add(pid);
  return pid;
}

pid_t fca_spawn(char *const argv[], const char *stdout_path, const char *stderr_path) {
  return spawn(argv, NULL, -1, -1, stdout_path, stderr_path);
}

pid_t fca_spawn_env(char *const argv[], char *const env_add[], const char *stdout_path,
                    const char *stderr_path) {
  return spawn(argv, env_add, -1, -1, stdout_path, stderr_path);
}

static bool reap(proc_t *p, bool block) {
  if (p->reaped) return true;
  int st;
  pid_t r;
  do r = waitpid(p->pid, &st, block ? 0 : WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r == p->pid || (r < 0 && errno == ECHILD)) {
    p->reaped = true;
    p->status = r == p->pid ? st : -1;
    return true;
  }
  return false;
}

int fca_proc_wait(pid_t pid, int timeout_ms, int *status) {
  proc_t *p = proc_find(pid);
  if (!p) return -1;
  int64_t end = mono_ms() + timeout_ms;
  while (!reap(p, false)) {
    if (mono_ms() >= end) return -1;
    sleep_ms(5);
  }
  if (status) *status = p->status;
  return 0;
}

bool fca_proc_alive(pid_t pid) {
  proc_t *p = proc_find(pid);
  return p && !reap(p, false);
}

int fca_proc_stop(pid_t pid, int timeout_ms) {
  proc_t *p = proc_find(pid);
  if (!p) return -1;
  if (!reap(p, false)) {
    kill(pid, SIGTERM);
    int st;
    if (fca_proc_wait(pid, timeout_ms, &st) < 0) {
      kill(pid, SIGKILL);
      reap(p, true);
    }
  }
  return p->status;
}

long fca_proc_peak_rss_kb(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  long kb = -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "VmHWM:", 6) == 0) kb = strtol(line + 6, NULL, 10);
  fclose(f);
  return kb;
}

static void buf_append(char **buf, size_t *len, size_t *cap, const char *data, size_t n) {
  if (*len + n + 1 > *cap) {
    *cap = (*len + n + 1) * 2;
    *buf = realloc(*buf, *cap);
    if (!*buf) abort();
  }
  memcpy(*buf + *len, data, n);
  *len += n;
  (*buf)[*len] = 0;
}

int fca_run(char *const argv[], int timeout_ms, fca_run_t *r) {
  memset(r, 0, sizeof *r);
  r->out = calloc(1, 1);
  r->err = calloc(1, 1);
  size_t ocap = 1, ecap = 1;
  int po[2], pe[2];
  if (pipe2(po, O_CLOEXEC) < 0) return -1;
  if (pipe2(pe, O_CLOEXEC) < 0) {
    close(po[0]);
    close(po[1]);
    return -1;
  }
  static char *const clean_env[] = {"http_proxy",  "https_proxy", "HTTP_PROXY",
                                    "HTTPS_PROXY", "ALL_PROXY",   "all_proxy",
                                    "NO_PROXY",    "no_proxy",    NULL};
  pid_t pid = spawn(argv, clean_env, po[1], pe[1], NULL, NULL);
  close(po[1]);
  close(pe[1]);
  if (pid < 0) {
    close(po[0]);
    close(pe[0]);
    return -1;
  }
  int64_t end = mono_ms() + timeout_ms;
  struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0) {
    int64_t left = end - mono_ms();
    if (left <= 0) {
      r->timed_out = true;
      break;
    }
    int n = poll(fds, 2, (int)left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char chunk[65536];
      ssize_t k = read(fds[i].fd, chunk, sizeof chunk);
      if (k > 0) {
        if (i == 0)
          buf_append(&r->out, &r->out_len, &ocap, chunk, (size_t)k);
        else
          buf_append(&r->err, &r->err_len, &ecap, chunk, (size_t)k);
      } else if (k == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        open_fds--;
      }
    }
  }
  for (int i = 0; i < 2; i++)
    if (fds[i].fd >= 0) close(fds[i].fd);
  int64_t left = end - mono_ms();
  if (r->timed_out || fca_proc_wait(pid, left > 0 ? (int)left : 0, &r->status) < 0) {
    r->timed_out = true;
    kill(pid, SIGKILL);
    fca_proc_wait(pid, 5000, &r->status);
    return -1;
  }
  return 0;
}

void fca_run_free(fca_run_t *r) {
  free(r->out);
  free(r->err);
  memset(r, 0, sizeof *r);
}

int fca_run_capture(char *const argv[], char **out, size_t *out_len, char **err, int *status,
                    int timeout_ms) {
  fca_run_t r;
  int rc = fca_run(argv, timeout_ms, &r);
  if (out)
    *out = r.out;
  else
    free(r.out);
  if (out_len) *out_len = r.out_len;
  if (err)
    *err = r.err;
  else
    free(r.err);
  if (status) *status = r.status;
  return rc;
}

int fca_run_exit_code(const fca_run_t *r) {
  if (r->timed_out || !WIFEXITED(r->status)) return -1;
  return WEXITSTATUS(r->status);
}

int fca_curl_argv(fca_run_t *r, int timeout_ms, const char *const args[]) {
  size_t n = 0;
  while (args[n]) n++;
  char maxtime[32];
  snprintf(maxtime, sizeof maxtime, "%.3f", timeout_ms / 1000.0);
  const char **argv = xmalloc((n + 6) * sizeof *argv);
  size_t k = 0;
  argv[k++] = "curl";
  argv[k++] = "-q"; /* no ~/.curlrc */
  argv[k++] = "-sS";
  argv[k++] = "--max-time";
  argv[k++] = maxtime;
  for (size_t i = 0; i < n; i++) argv[k++] = args[i];
  argv[k] = NULL;
  int rc = fca_run((char *const *)argv, timeout_ms + 3000, r);
  free(argv);
  return rc;
}

int fca_curl(fca_run_t *r, int timeout_ms, ...) {
  const char *args[128];
  size_t n = 0;
  va_list ap;
  va_start(ap, timeout_ms);
  const char *a;
  while ((a = va_arg(ap, const char *)) != NULL && n < 127) args[n++] = a;
  va_end(ap);
  args[n] = NULL;
  return fca_curl_argv(r, timeout_ms, args);
}

/* ---- ports ---- */

int fca_wait_port_file(const char *path, int timeout_ms) {
  int64_t end = mono_ms() + timeout_ms;
  do {
    char *s = fca_read_file(path, NULL);
    if (s) {
      int port = atoi(s);
      free(s);
      if (port > 0 && port < 65536) return port;
    }
    sleep_ms(10);
  } while (mono_ms() < end);
  return -1;
}

static struct sockaddr_in loopback(int port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

int fca_tcp_connect(int port, int timeout_ms) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  struct sockaddr_in a = loopback(port);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    if (errno != EINPROGRESS) {
      close(fd);
      return -1;
    }
    struct pollfd p = {fd, POLLOUT, 0};
    int err = 0;
    socklen_t el = sizeof err;
    if (poll(&p, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 ||
        err != 0) {
      close(fd);
      return -1;
    }
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

int fca_wait_tcp_port(int port, int timeout_ms) {
  int64_t end = mono_ms() + timeout_ms;
  do {
    int fd = fca_tcp_connect(port, 200);
    if (fd >= 0) {
      close(fd);
      return 0;
    }
    sleep_ms(10);
  } while (mono_ms() < end);
  return -1;
}

/* A socket bound to 127.0.0.1 on a port the kernel picks (listening when backlog > 0); -1. */
static int bind_loopback(int backlog, int *port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || (backlog > 0 && listen(fd, backlog) != 0) ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
    close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

int fca_free_port(void) {
  int port = -1, fd = bind_loopback(0, &port);
  if (fd >= 0) close(fd);
  return port;
}

int fca_busy_port(int *port) { return bind_loopback(4, port); }

/* ---- origin ---- */

int fca_origin_start(fca_origin_t *o, const fca_origin_opts_t *opts) {
  static const fca_origin_opts_t none = {0};
  if (!opts) opts = &none;
  memset(o, 0, sizeof *o);
  o->pid = -1;
  o->tls = opts->tls;
  o->dir = fca_tmpdir_new();
  if (!o->dir) return -1;
  char *port_file = fca_path(o->dir, "port");
  o->stderr_path = fca_path(o->dir, "origin.stderr");
  char *cert = opts->cert ? xstrdup(opts->cert) : NULL;
  char *key = opts->key ? xstrdup(opts->key) : NULL;
  if (opts->tls && !cert) {
    if (fca_testca_make(o->dir, fca_testca_default_names, fca_testca_default_count) < 0) {
      free(port_file);
      return -1;
    }
    cert = fca_path(o->dir, "leaf.pem");
    key = fca_path(o->dir, "leaf.key");
    o->ca_pem = fca_path(o->dir, "ca.pem");
  }
  const char *argv[16];
  size_t k = 0;
  argv[k++] = FCA_TEST_ORIGIN;
  argv[k++] = "--port";
  argv[k++] = "0";
  argv[k++] = "--port-file";
  argv[k++] = port_file;
  if (opts->tls) {
    argv[k++] = "--tls";
    argv[k++] = cert;
    argv[k++] = key;
  }
  if (opts->root) {
    argv[k++] = "--root";
    argv[k++] = opts->root;
  }
  if (opts->ipv6) argv[k++] = "--ipv6";
  if (opts->verbose) argv[k++] = "--verbose";
  argv[k] = NULL;
  o->pid = fca_spawn((char *const *)argv, NULL, o->stderr_path);
  o->port = o->pid > 0 ? fca_wait_port_file(port_file, 10000) : -1;
  free(port_file);
  free(cert);
  free(key);
  if (o->port < 0) {
    char *err = fca_read_file(o->stderr_path, NULL);
    fprintf(stderr, "fca-test-origin did not start: %s\n", err ? err : "");
    free(err);
    fca_origin_stop(o);
    return -1;
  }
  return 0;
}

int fca_origin_stop(fca_origin_t *o) {
  int st = o->pid > 0 ? fca_proc_stop(o->pid, 5000) : -1;
  o->pid = -1;
  free(o->dir);
  free(o->ca_pem);
  free(o->stderr_path);
  o->dir = o->ca_pem = o->stderr_path = NULL;
  return st;
}

char *fca_origin_url(const fca_origin_t *o, const char *path) {
  size_t n = strlen(path) + 64;
  char *u = xmalloc(n);
  snprintf(u, n, "%s://127.0.0.1:%d%s", o->tls ? "https" : "http", o->port, path);
  return u;
}

/* ---- proxy ---- */

int fca_testproxy_start(fca_testproxy_t *p, const char *const extra_args[]) {
  return fca_testproxy_start_flags(p, extra_args, 0);
}

int fca_testproxy_start_flags(fca_testproxy_t *p, const char *const extra_args[], unsigned flags) {
  memset(p, 0, sizeof *p);
  p->pid = -1;
  size_t nextra = 0;
  bool has_dns = false;
  while (extra_args && extra_args[nextra]) {
    if (strcmp(extra_args[nextra], "--dns-server") == 0) has_dns = true;
    nextra++;
  }
  if ((flags & FCA_TESTPROXY_ALLOW_DNS) && !has_dns) {
    fprintf(stderr, "harness: a proxy without --only-resolved needs --dns-server\n");
    return -1;
  }
  p->dir = fca_tmpdir_new();
  if (!p->dir) return -1;
  p->log_path = fca_path(p->dir, "events.ndjson");
  p->stderr_path = fca_path(p->dir, "proxy.stderr");
  p->ca_dir = fca_path(p->dir, "ca");
  const char **argv = xmalloc((nextra + 16) * sizeof *argv);
  char listen[64];
  for (int attempt = 0; attempt < 8; attempt++) {
    p->port = fca_free_port();
    snprintf(listen, sizeof listen, "127.0.0.1:%d", p->port);
    size_t k = 0;
    argv[k++] = FCA_TEST_BINARY;
    argv[k++] = "--listen";
    argv[k++] = listen;
    if (!(flags & FCA_TESTPROXY_ALLOW_DNS)) argv[k++] = "--only-resolved";
    argv[k++] = "--log";
    argv[k++] = p->log_path;
    argv[k++] = "--ca-dir";
    argv[k++] = p->ca_dir;
    argv[k++] = "--admin";
    argv[k++] = "off";
    for (size_t i = 0; i < nextra; i++) argv[k++] = extra_args[i];
    argv[k] = NULL;
    p->pid = fca_spawn((char *const *)argv, NULL, p->stderr_path);
    if (p->pid < 0) break;
    int64_t end = mono_ms() + 20000;
    bool up = false, exited = false;
    while (mono_ms() < end) {
      if (!fca_proc_alive(p->pid)) {
        exited = true;
        break;
      }
      int fd = fca_tcp_connect(p->port, 200);
      if (fd >= 0) {
        close(fd);
        up = true;
        break;
      }
      sleep_ms(10);
    }
    if (up) {
      free(argv);
      return 0;
    }
    char *err = fca_testproxy_stderr(p);
    bool retry = exited && strstr(err, "in use") != NULL;
    if (!retry)
      fprintf(stderr, "fcaudit did not start (%s):\n%s\n", exited ? "exited" : "timeout", err);
    free(err);
    fca_proc_stop(p->pid, 3000);
    p->pid = -1;
    if (!retry) break;
  }
  free(argv);
  return -1;
}

int fca_testproxy_stop(fca_testproxy_t *p) {
  int st = p->pid > 0 ? fca_proc_stop(p->pid, 10000) : -1;
  p->pid = -1;
  free(p->dir);
  free(p->log_path);
  free(p->stderr_path);
  free(p->ca_dir);
  p->dir = p->log_path = p->stderr_path = p->ca_dir = NULL;
  return st;
}

char *fca_testproxy_url(const fca_testproxy_t *p) {
  char *u = xmalloc(64);
  snprintf(u, 64, "http://127.0.0.1:%d", p->port);
  return u;
}

char *fca_testproxy_stderr(const fca_testproxy_t *p) {
  char *s = p->stderr_path ? fca_read_file(p->stderr_path, NULL) : NULL;
  return s ? s : xstrdup("");
}

/* ---- raw sockets ---- */

int fca_send_all(int fd, const void *buf, size_t n, int timeout_ms) {
  const char *p = buf;
  int64_t end = mono_ms() + timeout_ms;
  while (n > 0) {
    struct pollfd pf = {fd, POLLOUT, 0};
    int64_t left = end - mono_ms();
    if (left <= 0 || poll(&pf, 1, (int)left) != 1) return -1;
    ssize_t k = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (k < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (k <= 0) return -1;
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

const char *fca_find(const char *hay, size_t n, const char *needle) {
  return memmem(hay, n, needle, strlen(needle));
}

size_t fca_count_str(const char *hay, size_t n, const char *needle) {
  size_t count = 0, nl = strlen(needle);
  const char *p = hay, *e = hay + n;
  while (nl && (p = memmem(p, (size_t)(e - p), needle, nl)) != NULL) {
    count++;
    p += nl;
  }
  return count;
}

int fca_recv_until(int fd, char **buf, size_t *len, size_t want, const char *needle,
                   int timeout_ms) {
  size_t cap = *buf ? *len + 1 : 0;
  if (!*buf) {
    *buf = calloc(1, 1);
    *len = 0;
    cap = 1;
  }
  int64_t end = mono_ms() + timeout_ms;
  for (;;) {
    if (want && *len >= want) return 0;
    if (needle && fca_find(*buf, *len, needle)) return 0;
    int64_t left = end - mono_ms();
    if (left <= 0) return 0;
    struct pollfd pf = {fd, POLLIN, 0};
    int n = poll(&pf, 1, (int)left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;
    char chunk[65536];
    size_t room = sizeof chunk;
    if (want && want - *len < room) room = want - *len;
    ssize_t k = recv(fd, chunk, room, MSG_DONTWAIT);
    if (k < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (k < 0) return errno == ECONNRESET ? 1 : -1;
    if (k == 0) return 1;
    buf_append(buf, len, &cap, chunk, (size_t)k);
  }
}

int fca_raw_exchange(int port, const void *req, size_t req_len, char **resp, size_t *resp_len,
                     size_t want, const char *needle, int timeout_ms) {
  *resp = NULL;
  *resp_len = 0;
  int fd = fca_tcp_connect(port, timeout_ms);
  if (fd < 0) return -1;
  int rc = fca_send_all(fd, req, req_len, timeout_ms);
  if (rc == 0) rc = fca_recv_until(fd, resp, resp_len, want, needle, timeout_ms);
  close(fd);
  if (!*resp) *resp = calloc(1, 1);
  return rc;
}
