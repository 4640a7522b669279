/* cmd_run: the CI wrapper. Order matters: options and the baseline are checked before anything
 * starts (a typo exits 3 at once); SIGINT/SIGTERM/SIGCHLD are blocked before the proxy's
 * threads exist, so they inherit the mask and only this thread takes signals (sigtimedwait);
 * the proxy accepts before CMD starts (fca_run_session_start returns with its sockets listening
 * and the run model subscribed); CMD
 * gets default signal dispositions and mask; the proxy drains only after CMD ended, so every
 * exchange CMD made is audited before the reports are written. */
#include "cmd_run.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/x509.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "fcaudit/ca.h"
#include "fcaudit/exit.h"
#include "fcaudit/model.h"
#include "fcaudit/proxy.h"
#include "fcaudit/reports.h"
#include "fcaudit/util.h"
#include "run_session.h"

extern char **environ;

/* ---- environment ---- */

static const char *const SET_KEYS[] = {
    "HTTP_PROXY",    "HTTPS_PROXY",    "ALL_PROXY",          "http_proxy",   "https_proxy",
    "all_proxy",     "FCAUDIT_PROXY",  "FCAUDIT_CA_FILE",    "FCAUDIT_SPKI", "NODE_EXTRA_CA_CERTS",
    "SSL_CERT_FILE", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "NO_PROXY",     "no_proxy",
};

static bool is_set_key(const char *kv) {
  size_t klen = strcspn(kv, "=");
  for (size_t i = 0; i < sizeof SET_KEYS / sizeof SET_KEYS[0]; i++)
    if (strlen(SET_KEYS[i]) == klen && strncmp(kv, SET_KEYS[i], klen) == 0) return true;
  return false;
}

char **fca_cmd_run_env(char *const env[], const char *proxy_url, const char *ca_file,
                       const char *spki, const char *bundle) {
  size_t n = 0;
  while (env && env[n]) n++;
  char **out = fca_xcalloc(n + 16, sizeof *out);
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (!is_set_key(env[i])) out[k++] = fca_xstrdup(env[i]);
  const char *proxies[] = {"HTTP_PROXY",  "HTTPS_PROXY", "ALL_PROXY",    "http_proxy",
                           "https_proxy", "all_proxy",   "FCAUDIT_PROXY"};
  for (size_t i = 0; i < sizeof proxies / sizeof proxies[0]; i++)
    out[k++] = fca_xasprintf("%s=%s", proxies[i], proxy_url);
  out[k++] = fca_xasprintf("FCAUDIT_CA_FILE=%s", ca_file);
  out[k++] = fca_xasprintf("FCAUDIT_SPKI=%s", spki);
  const char *bundles[] = {"NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "CURL_CA_BUNDLE",
                           "REQUESTS_CA_BUNDLE"};
  for (size_t i = 0; i < sizeof bundles / sizeof bundles[0]; i++)
    out[k++] = fca_xasprintf("%s=%s", bundles[i], bundle);
  out[k] = NULL;
  return out;
}

void fca_cmd_run_env_free(char **env) {
  for (size_t i = 0; env && env[i]; i++) free(env[i]);
  free(env);
}

static int append_file(FILE *out, const char *path) {
  FILE *in = fopen(path, "r");
  if (!in) return -1;
  char buf[65536];
  size_t r, total = 0;
  while ((r = fread(buf, 1, sizeof buf, in)) > 0) {
    fwrite(buf, 1, r, out);
    total += r;
  }
  bool bad = ferror(in);
  fclose(in);
  if (!bad && total && buf[(total - 1) % sizeof buf] != '\n') fputc('\n', out);
  return bad || total == 0 ? -1 : 0;
}

int fca_cmd_run_write_bundle(const char *path, const char *ca_pem, bool *had_system, char *err,
                             size_t errlen) {
  FILE *out = fopen(path, "w");
  if (!out) {
    fca_seterr(err, errlen, "cannot write %s: %s", path, strerror(errno));
    return -1;
  }
  const char *candidates[] = {getenv("SSL_CERT_FILE"), X509_get_default_cert_file(),
                              "/etc/ssl/certs/ca-certificates.crt",
                              "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"};
  *had_system = false;
  for (size_t i = 0; i < sizeof candidates / sizeof candidates[0] && !*had_system; i++) {
    if (!candidates[i] || !*candidates[i]) continue;
    long before = ftell(out);
    if (append_file(out, candidates[i]) == 0) {
      *had_system = true;
    } else if (before >= 0) { /* a partial copy is undone */
      fflush(out);
      if (ftruncate(fileno(out), before) != 0 || fseek(out, before, SEEK_SET) != 0) break;
    }
  }
  int rc = append_file(out, ca_pem);
  if (fclose(out) != 0 || rc < 0) {
    fca_seterr(err, errlen, "cannot build the CA bundle %s from %s", path, ca_pem);
    return -1;
  }
  return 0;
}

/* ---- options ---- */

/* Was --NAME given on the command line (before "--") or in the config file? */
static bool given(int argc, char **argv, const char *name, const fca_config_t *file_cfg,
                  bool in_file) {
  size_t n = strlen(name);
  for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
    if (strncmp(argv[i], "--", 2) == 0 && strncmp(argv[i] + 2, name, n) == 0 &&
        (argv[i][2 + n] == '\0' || argv[i][2 + n] == '='))
      return true;
  (void)file_cfg;
  return in_file;
}

/* s percent-encoded for a URL's userinfo (RFC 3986: everything but unreserved characters). */
static char *userinfo_encode(const char *s, size_t n) {
  char *out = fca_xmalloc(3 * n + 1), *o = out;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      *o++ = (char)c;
    } else {
      static const char hex[] = "0123456789ABCDEF";
      *o++ = '%';
      *o++ = hex[c >> 4];
      *o++ = hex[c & 15];
    }
  }
  *o = '\0';
  return out;
}

/* "http://HOST:PORT" for the first listen address, wildcards turned into loopback; with
 * --proxy-auth USER:PASS, "http://USER:PASS@HOST:PORT" (percent-encoded) so that CMD's clients
 * authenticate. */
static char *proxy_url(const fca_config_t *cfg, int port, bool with_auth) {
  char host[256] = "127.0.0.1";
  int ignored;
  if (cfg->listen.n) fca_config_split_hostport(cfg->listen.items[0], host, sizeof host, &ignored);
  if (strcmp(host, "0.0.0.0") == 0 || host[0] == '\0') snprintf(host, sizeof host, "127.0.0.1");
  if (strcmp(host, "::") == 0) snprintf(host, sizeof host, "::1");
  char *auth = fca_xstrdup("");
  if (with_auth && cfg->proxy_auth) {
    const char *colon = strchr(cfg->proxy_auth, ':');
    size_t ul = colon ? (size_t)(colon - cfg->proxy_auth) : strlen(cfg->proxy_auth);
    char *u = userinfo_encode(cfg->proxy_auth, ul);
    char *pw = colon ? userinfo_encode(colon + 1, strlen(colon + 1)) : fca_xstrdup("");
    free(auth);
    auth = fca_xasprintf("%s:%s@", u, pw);
    free(u);
    free(pw);
  }
  char *url = strchr(host, ':') ? fca_xasprintf("http://%s[%s]:%d", auth, host, port)
                                : fca_xasprintf("http://%s%s:%d", auth, host, port);
  free(auth);
  return url;
}

static void usage(FILE *f) { fca_command_print_help(f, fca_command_find("run")); }

static int max_status(int a, int b) { return a > b ? a : b; }

int fca_cmd_session_start(fca_cmd_session_t *s, fca_config_t *cfg, int argc, char **argv,
                          const char *who, const char *default_admin) {
  memset(s, 0, sizeof *s);
  s->cfg = cfg;
  s->who = who;
  char err[512];
  /* A config file may set --listen/--admin too: look at it alone. */
  bool file_listen = false, file_admin = false;
  if (cfg->config_file) {
    fca_config_t fc;
    fca_config_init(&fc);
    char *def_admin = fc.admin ? fca_xstrdup(fc.admin) : NULL;
    if (fca_config_load_file(&fc, cfg->config_file, err, sizeof err) == 0) {
      file_listen = fc.listen.n > 0;
      file_admin = fc.admin && (!def_admin || strcmp(fc.admin, def_admin) != 0);
    }
    free(def_admin);
    fca_config_free(&fc);
  }
  if (!given(argc, argv, "listen", cfg, file_listen)) {
    fca_strlist_free(&cfg->listen);
    fca_strlist_add(&cfg->listen, "127.0.0.1:0"); /* free port: parallel jobs never collide */
  }
  if (!given(argc, argv, "admin", cfg, file_admin)) {
    free(cfg->admin);
    cfg->admin = fca_xstrdup(default_admin);
  }
  if (fca_config_validate(cfg, err, sizeof err) < 0) {
    fprintf(stderr, "fcaudit %s: %s\n", who, err);
    return FCA_EXIT_FATAL;
  }
  sigemptyset(&s->set);
  sigaddset(&s->set, SIGINT);
  sigaddset(&s->set, SIGTERM);
  sigaddset(&s->set, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &s->set, NULL);
  /* What the end of the run needs is checked before anything starts (the run session). */
  s->rs = fca_run_session_start(cfg, err, sizeof err);
  if (!s->rs) {
    fprintf(stderr, "fcaudit %s: %s\n", who, err);
    return FCA_EXIT_FATAL;
  }
  s->m = fca_run_session_model(s->rs);
  s->p = fca_run_session_proxy(s->rs);
  s->ca = fca_run_session_ca(s->rs);
  if (fca_ca_spki_b64(s->ca, s->spki, sizeof s->spki) < 0) {
    fprintf(stderr, "fcaudit %s: CA: cannot compute the SPKI hash\n", who);
    return FCA_EXIT_FATAL;
  }
  const char *tmpbase = getenv("TMPDIR");
  s->tmpdir = fca_xasprintf("%s/fcaudit-%s-XXXXXX", tmpbase && *tmpbase ? tmpbase : "/tmp", who);
  if (!mkdtemp(s->tmpdir)) {
    fprintf(stderr, "fcaudit %s: cannot make a temporary directory: %s\n", who, strerror(errno));
    free(s->tmpdir), s->tmpdir = NULL;
    return FCA_EXIT_FATAL;
  }
  s->bundle = fca_xasprintf("%s/ca-bundle.pem", s->tmpdir);
  bool had_system;
  if (fca_cmd_run_write_bundle(s->bundle, fca_ca_cert_path(s->ca), &had_system, err, sizeof err) <
      0) {
    fprintf(stderr, "fcaudit %s: %s\n", who, err);
    return FCA_EXIT_FATAL;
  }
  if (!had_system)
    fca_warn("no system CA bundle found: CMD's TLS clients trust only the fcaudit CA");
  int port = fca_proxy_port(s->p, 0);
  s->url = proxy_url(cfg, port, false); /* never the password: shown, and given to browsers */
  s->auth_url = proxy_url(cfg, port, true);
  return FCA_EXIT_OK;
}

int fca_cmd_session_spawn(fca_cmd_session_t *s, char **cmdv, char **env, pid_t *child) {
  return fca_cmd_session_spawn_quiet(s, cmdv, env, child, false);
}

int fca_cmd_session_spawn_quiet(fca_cmd_session_t *s, char **cmdv, char **env, pid_t *child,
                                bool quiet) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (quiet) { /* its chatter (a browser's) stays off fcaudit's console */
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  }
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defs;
  sigemptyset(&none);
  sigemptyset(&defs);
  sigaddset(&defs, SIGINT);
  sigaddset(&defs, SIGTERM);
  sigaddset(&defs, SIGCHLD);
  sigaddset(&defs, SIGPIPE); /* main ignores it; an ignored signal would stay ignored in CMD */
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defs);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  int rc = posix_spawnp(child, cmdv[0], &fa, &attr, cmdv, env);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    fprintf(stderr, "fcaudit %s: cannot run %s: %s\n", s->who, cmdv[0], strerror(rc));
    return FCA_EXIT_CMD;
  }
  return FCA_EXIT_OK;
}

int fca_cmd_session_wait(fca_cmd_session_t *s, pid_t child, const char *name,
                         bool (*tick)(void *ud), void *ud) {
  int wst = 0;
  bool asked = false;
  for (;;) {
    siginfo_t si;
    struct timespec t = {0, 200 * 1000000L};
    int sig = sigtimedwait(&s->set, &si, &t);
    if (sig == SIGINT || sig == SIGTERM) {
      /* A terminal's Ctrl-C already reached CMD (same process group); a kill(2) aimed at
       * fcaudit alone did not, so pass that one on. */
      if (si.si_code != SI_KERNEL) {
        fca_info("%s: passing it to %s", sig == SIGINT ? "SIGINT" : "SIGTERM", name);
        kill(child, sig);
      }
      continue;
    }
    pid_t r = waitpid(child, &wst, WNOHANG);
    if (r == child) break;
    if (r < 0 && errno != EINTR) {
      fprintf(stderr, "fcaudit %s: waitpid: %s\n", s->who, strerror(errno));
      return FCA_EXIT_CMD;
    }
    if (!asked && tick && tick(ud)) { /* the caller is done with it: ask it to end */
      asked = true;
      kill(child, SIGTERM);
    }
  }
  if (asked) return FCA_EXIT_OK; /* ended because we asked */
  if (WIFEXITED(wst) && WEXITSTATUS(wst) != 0) {
    fprintf(stderr, "fcaudit %s: %s exited with status %d\n", s->who, name, WEXITSTATUS(wst));
    return FCA_EXIT_CMD;
  }
  if (WIFSIGNALED(wst)) {
    fprintf(stderr, "fcaudit %s: %s was killed by signal %d (%s)\n", s->who, name, WTERMSIG(wst),
            strsignal(WTERMSIG(wst)));
    return FCA_EXIT_CMD;
  }
  return FCA_EXIT_OK;
}

int fca_cmd_session_finish(fca_cmd_session_t *s, int status) {
  if (s->rs) {
    /* Drain: in-flight exchanges finish (up to --drain-timeout) and their audits with them.
     * A run whose every request fcaudit refused audited nothing: it must not pass. */
    fca_run_session_stop(s->rs);
    fca_proxy_join(s->p);
    fca_proxy_outcome_t oc;
    fca_proxy_outcome(s->p, &oc);
    bool all_refused = status != FCA_EXIT_FATAL && oc.refused > 0 && oc.forwarded == 0;
    if (all_refused) {
      fca_run_session_finish(s->rs, status, false);
      fprintf(stderr,
              "fcaudit %s: every request (%llu) was refused by the proxy, so nothing was "
              "audited; first: %s\n",
              s->who, oc.refused, oc.first_refusal);
      status = FCA_EXIT_FATAL;
      fprintf(stderr, "fcaudit %s: exit status %d (%s)\n", s->who, status,
              "fcaudit could not finish: every request was refused");
    } else if (status != FCA_EXIT_FATAL) {
      status = fca_run_session_finish(s->rs, status, true);
      fprintf(stderr, "fcaudit %s: exit status %d (%s)\n", s->who, status,
              status == 0   ? "pass"
              : status == 1 ? "findings or too few tagged pages"
              : status == 2 ? "the command failed"
                            : "fcaudit could not finish");
    } else {
      status = fca_run_session_finish(s->rs, status, true);
    }
  } else if (s->m && status != FCA_EXIT_FATAL) {
    status = max_status(status, fca_model_exit_code(s->m));
  }
  if (s->bundle) unlink(s->bundle);
  if (s->tmpdir) rmdir(s->tmpdir);
  free(s->bundle), free(s->tmpdir), free(s->url), free(s->auth_url), free(s->dir);
  if (s->own_ca) fca_ca_free(s->own_ca);
  memset(s, 0, sizeof *s);
  /* The mask stays: a signal still pending must not kill fcaudit before it returns status. */
  return status;
}

int fca_cmd_run_main(fca_config_t *cfg, int argc, char **argv, char **cmdv) {
  if (!cmdv || !cmdv[0]) {
    usage(stderr);
    return FCA_EXIT_FATAL;
  }
  fca_cmd_session_t s;
  int status = fca_cmd_session_start(&s, cfg, argc, argv, "run", "off");
  if (status != FCA_EXIT_OK) return fca_cmd_session_finish(&s, status);
  /* CMD's clients get the credentials (--proxy-auth); the console never shows them. */
  char **env = fca_cmd_run_env(environ, s.auth_url, fca_ca_cert_path(s.ca), s.spki, s.bundle);
  fca_info("proxy %s%s (run %s); running %s", s.url,
           cfg->proxy_auth ? " with --proxy-auth credentials" : "", s.m->run, cmdv[0]);
  pid_t child;
  status = fca_cmd_session_spawn(&s, cmdv, env, &child);
  if (status == FCA_EXIT_OK) status = fca_cmd_session_wait(&s, child, cmdv[0], NULL, NULL);
  fca_cmd_run_env_free(env);
  return fca_cmd_session_finish(&s, status);
}
