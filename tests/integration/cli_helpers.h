/* cli_helpers: small helpers for the CLI integration tests (run, report, tail): a temporary
 * directory, running the built binary with captured output and a deadline, a background child
 * whose output is read as it comes, and files. Loopback only; nothing leaves the machine. */
#ifndef FCA_CLI_HELPERS_H
#define FCA_CLI_HELPERS_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fcaudit/util.h"

#define CLI_DEADLINE_MS 60000

static inline char *cli_tmpdir(void) {
  char *d = fca_xstrdup("/tmp/fca-cli-XXXXXX");
  cr_assert_not_null(mkdtemp(d));
  return d;
}

static inline void cli_rm_rf(const char *dir) {
  char *cmd = fca_xasprintf("rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
  free(cmd);
}

static inline void cli_write(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f, "%s", path);
  fputs(text, f);
  fclose(f);
}

static inline void cli_append(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
  cr_assert_geq(fd, 0);
  size_t n = strlen(text);
  cr_assert_eq(write(fd, text, n), (ssize_t)n);
  close(fd);
}

static inline char *cli_read(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  char *buf = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&buf, &len);
  int c;
  while ((c = fgetc(f)) != EOF) fputc(c, m);
  fclose(m);
  fclose(f);
  return buf;
}

static inline size_t cli_lines(const char *s) {
  size_t n = 0;
  for (; s && *s; s++) n += *s == '\n';
  return n;
}

static inline bool cli_exists(const char *path) { return access(path, F_OK) == 0; }

static inline void cli_sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

typedef struct {
  pid_t pid;
  int out_fd, err_fd;
  char *out, *err;
  size_t out_len, err_len;
} cli_proc_t;

/* Starts argv (argv[0] is a path) with stdout and stderr on pipes. env_extra: "K=V" strings
 * added to (or, as "K", removed from) the environment, NULL-terminated; may be NULL. */
static inline void cli_start(cli_proc_t *p, char *const argv[], const char *const env_extra[]) {
  int o[2], e[2];
  cr_assert_eq(pipe(o), 0);
  cr_assert_eq(pipe(e), 0);
  memset(p, 0, sizeof *p);
  p->out = fca_xstrdup("");
  p->err = fca_xstrdup("");
  p->pid = fork();
  cr_assert_geq(p->pid, 0);
  if (p->pid == 0) {
    dup2(o[1], 1);
    dup2(e[1], 2);
    close(o[0]), close(o[1]), close(e[0]), close(e[1]);
    for (size_t i = 0; env_extra && env_extra[i]; i++) {
      const char *eq = strchr(env_extra[i], '=');
      if (eq) {
        char *k = fca_xstrndup(env_extra[i], (size_t)(eq - env_extra[i]));
        setenv(k, eq + 1, 1);
        free(k);
      } else {
        unsetenv(env_extra[i]);
      }
    }
    execv(argv[0], argv);
    _exit(127);
  }
  close(o[1]), close(e[1]);
  p->out_fd = o[0];
  p->err_fd = e[0];
  fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
  fcntl(p->err_fd, F_SETFL, O_NONBLOCK);
}

/* Reads what is available (waiting up to ms). Returns false once both pipes are closed. */
static inline bool cli_pump(cli_proc_t *p, int ms) {
  struct pollfd pf[2] = {{p->out_fd, POLLIN, 0}, {p->err_fd, POLLIN, 0}};
  int n = 0;
  if (p->out_fd >= 0) n++;
  if (p->err_fd >= 0) n++;
  if (n == 0) return false;
  if (p->out_fd < 0) pf[0].fd = -1;
  if (p->err_fd < 0) pf[1].fd = -1;
  poll(pf, 2, ms);
  for (int i = 0; i < 2; i++) {
    int *fd = i ? &p->err_fd : &p->out_fd;
    char **buf = i ? &p->err : &p->out;
    size_t *len = i ? &p->err_len : &p->out_len;
    if (*fd < 0) continue;
    char tmp[65536];
    for (;;) {
      ssize_t r = read(*fd, tmp, sizeof tmp);
      if (r > 0) {
        *buf = fca_xrealloc(*buf, *len + (size_t)r + 1);
        memcpy(*buf + *len, tmp, (size_t)r);
        *len += (size_t)r;
        (*buf)[*len] = '\0';
        continue;
      }
      if (r == 0) {
        close(*fd);
        *fd = -1;
      }
      break;
    }
  }
  return p->out_fd >= 0 || p->err_fd >= 0;
}

/* Waits for exit (reading output); kills it after the deadline. Returns the exit status, or
 * 128 + signal. */
static inline int cli_wait(cli_proc_t *p, long deadline_ms) {
  int64_t end = fca_mono_ms() + deadline_ms;
  while (cli_pump(p, 100)) {
    if (fca_mono_ms() > end) {
      kill(p->pid, SIGKILL);
      cr_log_error("killed after %ld ms\nstdout: %s\nstderr: %s", deadline_ms, p->out, p->err);
      break;
    }
  }
  int st;
  while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (p->out_fd >= 0) close(p->out_fd);
  if (p->err_fd >= 0) close(p->err_fd);
  p->out_fd = p->err_fd = -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static inline void cli_proc_free(cli_proc_t *p) {
  free(p->out);
  free(p->err);
}

/* Runs argv to completion. */
static inline int cli_run(cli_proc_t *p, char *const argv[], const char *const env_extra[]) {
  cli_start(p, argv, env_extra);
  return cli_wait(p, CLI_DEADLINE_MS);
}

/* Waits until stdout holds needle (reading output). */
static inline bool cli_wait_for_out(cli_proc_t *p, const char *needle, long ms) {
  int64_t end = fca_mono_ms() + ms;
  while (!strstr(p->out, needle)) {
    if (fca_mono_ms() > end) return false;
    if (!cli_pump(p, 50) && !strstr(p->out, needle)) return false;
  }
  return true;
}

#endif
