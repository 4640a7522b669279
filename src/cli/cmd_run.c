/* cmd_run: the CI wrapper. Order matters: options and the baseline are checked before anything
 * starts (a typo exits 3 at once); SIGINT/SIGTERM/SIGCHLD are blocked before the proxy's
 * threads exist, so they inherit the mask and only this thread takes signals (sigtimedwait);
 * the proxy accepts before CMD starts (fca_run_session_start returns with its sockets listening
 * and the run model subscribed); CMD
 * gets default signal dispositions and mask; the proxy drains only after CMD ended, so every
 * exchange CMD made is audited before the reports are written. */
#include "cmd_run.h"

#include <errno.h>
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

#include "fcaudit/ca.h"
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

static void usage(FILE *f) {
  fputs("usage: fcaudit run [proxy options] -- CMD [ARGS...]\n"
        "Starts the proxy on a free loopback port, runs CMD with HTTP(S)_PROXY, the fcaudit CA\n"
        "and FCAUDIT_PROXY/FCAUDIT_SPKI in its environment, then writes the reports.\n"
        "Exit status: 0 pass; 1 findings at or above --fail-on (default error) or fewer tagged\n"
        "pages than --require-tagged; 2 CMD failed; 3 fcaudit could not run, or refused every\n"
        "request CMD made (nothing audited). The highest wins. With --proxy-auth the proxy URLs\n"
        "carry the credentials.\n"
        "See fcaudit --help for the options.\n",
        f);
}

int fca_cmd_run_main(fca_config_t *cfg, int argc, char **argv, int first) {
  char err[512];
  bool help = false;
  int cmd = fca_config_parse_args(cfg, argc, argv, first + 1, &help, NULL, err, sizeof err);
  if (cmd < 0) {
    fprintf(stderr, "fcaudit run: %s\n", err);
    return FCA_EXIT_FATAL;
  }
  if (help) {
    usage(stdout);
    return 0;
  }
  if (cmd >= argc) {
    usage(stderr);
    return FCA_EXIT_FATAL;
  }
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
    cfg->admin = fca_xstrdup("off");
  }
  if (fca_config_validate(cfg, err, sizeof err) < 0) {
    fprintf(stderr, "fcaudit run: %s\n", err);
    return FCA_EXIT_FATAL;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &set, NULL);

  int status = FCA_EXIT_OK;
  char *tmpdir = NULL, *bundle = NULL, *url = NULL;
  char **env = NULL;
  /* What the end of the run needs is checked before anything starts. */
  fca_run_session_t *s = fca_run_session_start(cfg, err, sizeof err);
  if (!s) {
    fprintf(stderr, "fcaudit run: %s\n", err);
    return FCA_EXIT_FATAL;
  }
  fca_model_t *m = fca_run_session_model(s);
  const fca_ca_t *ca = fca_run_session_ca(s);
  char spki[FCA_CA_SPKI_B64_LEN] = "";
  if (fca_ca_spki_b64(ca, spki, sizeof spki) < 0) {
    fprintf(stderr, "fcaudit run: CA: cannot compute the SPKI hash\n");
    status = FCA_EXIT_FATAL;
    goto stop;
  }
  const char *tmpbase = getenv("TMPDIR");
  tmpdir = fca_xasprintf("%s/fcaudit-run-XXXXXX", tmpbase && *tmpbase ? tmpbase : "/tmp");
  if (!mkdtemp(tmpdir)) {
    fprintf(stderr, "fcaudit run: cannot make a temporary directory: %s\n", strerror(errno));
    free(tmpdir), tmpdir = NULL;
    status = FCA_EXIT_FATAL;
    goto stop;
  }
  bundle = fca_xasprintf("%s/ca-bundle.pem", tmpdir);
  bool had_system;
  if (fca_cmd_run_write_bundle(bundle, fca_ca_cert_path(ca), &had_system, err, sizeof err) < 0) {
    fprintf(stderr, "fcaudit run: %s\n", err);
    status = FCA_EXIT_FATAL;
    goto stop;
  }
  if (!had_system)
    fca_warn("no system CA bundle found: CMD's TLS clients trust only the fcaudit CA");
  url = proxy_url(cfg, fca_proxy_port(fca_run_session_proxy(s), 0), true);
  env = fca_cmd_run_env(environ, url, fca_ca_cert_path(ca), spki, bundle);
  char *shown =
      proxy_url(cfg, fca_proxy_port(fca_run_session_proxy(s), 0), false); /* never the password */
  fca_info("proxy %s%s (run %s); running %s", shown,
           cfg->proxy_auth ? " with --proxy-auth credentials" : "", m->run, argv[cmd]);
  free(shown);

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
  pid_t child;
  int rc = posix_spawnp(&child, argv[cmd], NULL, &attr, argv + cmd, env);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    fprintf(stderr, "fcaudit run: cannot run %s: %s\n", argv[cmd], strerror(rc));
    status = FCA_EXIT_CMD;
    goto stop;
  }
  int wst = 0;
  for (;;) {
    siginfo_t si;
    struct timespec tick = {0, 200 * 1000000L};
    int sig = sigtimedwait(&set, &si, &tick);
    if (sig == SIGINT || sig == SIGTERM) {
      /* A terminal's Ctrl-C already reached CMD (same process group); a kill(2) aimed at
       * fcaudit alone did not, so pass that one on. */
      if (si.si_code != SI_KERNEL) {
        fca_info("%s: passing it to %s", sig == SIGINT ? "SIGINT" : "SIGTERM", argv[cmd]);
        kill(child, sig);
      }
      continue;
    }
    pid_t r = waitpid(child, &wst, WNOHANG);
    if (r == child) break;
    if (r < 0 && errno != EINTR) {
      fprintf(stderr, "fcaudit run: waitpid: %s\n", strerror(errno));
      break;
    }
  }
  if (WIFEXITED(wst) && WEXITSTATUS(wst) != 0) {
    fprintf(stderr, "fcaudit run: %s exited with status %d\n", argv[cmd], WEXITSTATUS(wst));
    status = FCA_EXIT_CMD;
  } else if (WIFSIGNALED(wst)) {
    fprintf(stderr, "fcaudit run: %s was killed by signal %d (%s)\n", argv[cmd], WTERMSIG(wst),
            strsignal(WTERMSIG(wst)));
    status = FCA_EXIT_CMD;
  }
stop:
  /* Drain: in-flight exchanges finish (up to --drain-timeout) and their audits with them. */
  /* A run whose every request fcaudit refused audited nothing: it must not pass. */
  fca_proxy_t *p = fca_run_session_proxy(s);
  fca_run_session_stop(s);
  fca_proxy_join(p);
  fca_proxy_outcome_t oc;
  fca_proxy_outcome(p, &oc);
  bool all_refused = status != FCA_EXIT_FATAL && oc.refused > 0 && oc.forwarded == 0;
  if (all_refused) {
    status = fca_run_session_finish(s, status, false);
    fprintf(stderr,
            "fcaudit run: every request (%llu) was refused by the proxy, so nothing was "
            "audited; first: %s\n",
            oc.refused, oc.first_refusal);
    status = FCA_EXIT_FATAL;
    fprintf(stderr, "fcaudit run: exit status %d (%s)\n", status,
            "fcaudit could not finish: every request was refused");
  } else if (status != FCA_EXIT_FATAL) {
    status = fca_run_session_finish(s, status, true);
    fprintf(stderr, "fcaudit run: exit status %d (%s)\n", status,
            status == 0   ? "pass"
            : status == 1 ? "findings or too few tagged pages"
            : status == 2 ? "the command failed"
                          : "fcaudit could not finish");
  } else {
    status = fca_run_session_finish(s, status, true);
  }
  if (bundle) unlink(bundle);
  if (tmpdir) rmdir(tmpdir);
  free(bundle), free(tmpdir), free(url);
  fca_cmd_run_env_free(env);
  /* The mask stays: a signal still pending must not kill fcaudit before it returns status. */
  return status;
}
