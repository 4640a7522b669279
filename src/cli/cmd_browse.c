/* cmd_browse: the browser launcher. It reuses the machinery of `fcaudit run` (cmd_run.h: the
 * proxy on a free loopback port, the run model, the CA, signal handling, the end-of-run
 * summary). The profile lives in the session's temporary directory and is removed at the end,
 * whatever the browser left in it. Chromium trusts the CA by its key hash
 * (--ignore-certificate-errors-spki-list, honoured with --user-data-dir); Firefox gets the proxy
 * in the profile's user.js and the CA through certutil when it is installed. */
#include "cmd_browse.h"

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd_run.h"
#include "commands.h"
#include "fcaudit/admin.h"
#include "fcaudit/ca.h"
#include "fcaudit/metrics.h"
#include "fcaudit/model.h"
#include "fcaudit/proxy.h"
#include "fcaudit/reports.h"
#include "fcaudit/util.h"

extern char **environ;

/* Without --wait, headless ends once nothing moved through the proxy for this long... */
#ifndef FCA_BROWSE_IDLE_MS
#define FCA_BROWSE_IDLE_MS 2000
#endif
/* ...or at the latest after this long. */
#ifndef FCA_BROWSE_MAX_MS
#define FCA_BROWSE_MAX_MS 60000
#endif

static const char *const CHROMES[] = {
    "google-chrome", "google-chrome-stable", "chromium", "chromium-browser", "chrome", NULL};
static const char *const CHROME_PATHS[] = {
    "/opt/google/chrome/chrome",
    "/usr/lib/chromium/chromium",
    "/snap/bin/chromium",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
    NULL};
static const char *const FIREFOXES[] = {"firefox", "firefox-esr", NULL};
static const char *const FIREFOX_PATHS[] = {"/usr/lib/firefox/firefox", "/opt/firefox/firefox",
                                            "/Applications/Firefox.app/Contents/MacOS/firefox",
                                            NULL};

static bool executable(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

static char *on_path(const char *name, const char *path_env) {
  if (!path_env) return NULL;
  const char *p = path_env;
  while (*p) {
    size_t n = strcspn(p, ":");
    char *cand = fca_xasprintf("%.*s/%s", (int)n, n ? p : ".", name);
    if (executable(cand)) return cand;
    free(cand);
    p += n;
    if (*p == ':') p++;
  }
  return NULL;
}

static char *search(const char *const names[], const char *const paths[], const char *path_env) {
  for (size_t i = 0; names[i]; i++) {
    char *c = on_path(names[i], path_env);
    if (c) return c;
  }
  for (size_t i = 0; paths[i]; i++)
    if (executable(paths[i])) return fca_xstrdup(paths[i]);
  return NULL;
}

char *fca_browse_find(const char *given, const char *path_env, fca_browser_kind_t *kind) {
  if (given) {
    const char *base = strrchr(given, '/');
    base = base ? base + 1 : given;
    *kind = strstr(base, "firefox") ? FCA_BROWSER_FIREFOX : FCA_BROWSER_CHROMIUM;
    if (strchr(given, '/')) return executable(given) ? fca_xstrdup(given) : NULL;
    return on_path(given, path_env);
  }
  char *c = search(CHROMES, CHROME_PATHS, path_env);
  if (c) {
    *kind = FCA_BROWSER_CHROMIUM;
    return c;
  }
  c = search(FIREFOXES, FIREFOX_PATHS, path_env);
  if (c) *kind = FCA_BROWSER_FIREFOX;
  return c;
}

static void add(char ***v, size_t *n, char *s) {
  *v = fca_xrealloc(*v, (*n + 2) * sizeof **v);
  (*v)[(*n)++] = s;
  (*v)[*n] = NULL;
}

char **fca_browse_chromium_argv(const char *exe, const char *profile, const char *proxy,
                                const char *spki, bool headless, bool as_root, char **urls) {
  char **v = NULL;
  size_t n = 0;
  add(&v, &n, fca_xstrdup(exe));
  add(&v, &n, fca_xasprintf("--user-data-dir=%s", profile));
  add(&v, &n, fca_xasprintf("--proxy-server=%s", proxy));
  /* Chromium never proxies loopback unless told: sites on localhost are audited too. */
  add(&v, &n, fca_xstrdup("--proxy-bypass-list=<-loopback>"));
  add(&v, &n, fca_xasprintf("--ignore-certificate-errors-spki-list=%s", spki));
  static const char *const quiet[] = {"--no-first-run",
                                      "--no-default-browser-check",
                                      "--disable-background-networking",
                                      "--disable-component-update",
                                      "--disable-sync",
                                      "--disable-default-apps",
                                      "--disable-search-engine-choice-screen",
                                      NULL};
  for (size_t i = 0; quiet[i]; i++) add(&v, &n, fca_xstrdup(quiet[i]));
  if (headless) {
    add(&v, &n, fca_xstrdup("--headless"));
    add(&v, &n, fca_xstrdup("--disable-gpu"));
  }
  if (headless || as_root) add(&v, &n, fca_xstrdup("--no-sandbox")); /* root has no sandbox */
  for (size_t i = 0; urls && urls[i]; i++) add(&v, &n, fca_xstrdup(urls[i]));
  return v;
}

char **fca_browse_firefox_argv(const char *exe, const char *profile, bool headless, char **urls) {
  char **v = NULL;
  size_t n = 0;
  add(&v, &n, fca_xstrdup(exe));
  add(&v, &n, fca_xstrdup("-no-remote"));
  add(&v, &n, fca_xstrdup("-profile"));
  add(&v, &n, fca_xstrdup(profile));
  if (headless) add(&v, &n, fca_xstrdup("-headless"));
  for (size_t i = 0; urls && urls[i]; i++) {
    if (i > 0) add(&v, &n, fca_xstrdup("-new-tab"));
    add(&v, &n, fca_xstrdup(urls[i]));
  }
  return v;
}

int fca_browse_firefox_profile(const char *profile, const char *proxy_host, int proxy_port,
                               char *err, size_t errlen) {
  char *path = fca_xasprintf("%s/user.js", profile);
  FILE *f = fopen(path, "w");
  if (!f) {
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    free(path);
    return -1;
  }
  fprintf(f,
          "// written by fcaudit browse: this profile uses the fcaudit proxy for every host\n"
          "user_pref(\"network.proxy.type\", 1);\n"
          "user_pref(\"network.proxy.http\", \"%s\");\n"
          "user_pref(\"network.proxy.http_port\", %d);\n"
          "user_pref(\"network.proxy.ssl\", \"%s\");\n"
          "user_pref(\"network.proxy.ssl_port\", %d);\n"
          "user_pref(\"network.proxy.share_proxy_settings\", true);\n"
          "user_pref(\"network.proxy.no_proxies_on\", \"\");\n"
          "user_pref(\"network.proxy.allow_hijacking_localhost\", true);\n"
          "user_pref(\"browser.shell.checkDefaultBrowser\", false);\n"
          "user_pref(\"browser.aboutwelcome.enabled\", false);\n"
          "user_pref(\"browser.startup.homepage_override.mstone\", \"ignore\");\n"
          "user_pref(\"datareporting.policy.dataSubmissionEnabled\", false);\n"
          "user_pref(\"toolkit.telemetry.reportingpolicy.firstRun\", false);\n"
          "user_pref(\"app.update.auto\", false);\n"
          "user_pref(\"app.normandy.enabled\", false);\n"
          "user_pref(\"network.captive-portal-service.enabled\", false);\n"
          "user_pref(\"network.connectivity-service.enabled\", false);\n",
          proxy_host, proxy_port, proxy_host, proxy_port);
  int rc = fclose(f) == 0 ? 0 : -1;
  if (rc < 0) snprintf(err, errlen, "cannot write %s", path);
  free(path);
  return rc;
}

void fca_browse_argv_free(char **argv) {
  for (size_t i = 0; argv && argv[i]; i++) free(argv[i]);
  free(argv);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)ftw;
  return (flag == FTW_DP ? rmdir(path) : unlink(path)) == 0 || errno == ENOENT ? 0 : -1;
}

int fca_browse_rmtree(const char *dir) {
  struct stat st;
  if (lstat(dir, &st) != 0) return errno == ENOENT ? 0 : -1;
  return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Firefox has no per-profile "trust this key" switch: the CA goes into the profile's NSS
 * database with certutil (libnss3-tools). Returns true when it did. */
static bool firefox_trust_ca(const char *profile, const char *ca_pem, fca_cmd_session_t *s) {
  char *certutil = on_path("certutil", getenv("PATH"));
  if (!certutil) return false;
  char *db = fca_xasprintf("sql:%s", profile);
  char *argv[] = {certutil, "-N", "-d", db, "--empty-password", NULL};
  char *argv2[] = {certutil, "-A",           "-n", "fcaudit", "-t", "C,,",
                   "-i",     (char *)ca_pem, "-d", db,        NULL};
  bool ok = true;
  char **steps[] = {argv, argv2};
  for (int k = 0; k < 2 && ok; k++) {
    pid_t pid;
    if (fca_cmd_session_spawn(s, steps[k], environ, &pid) != 0) {
      ok = false;
      break;
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
  }
  free(db);
  free(certutil);
  return ok;
}

typedef struct {
  fca_cmd_session_t *s;
  int64_t start, last_change, wait_ms;
  uint64_t requests, bytes;
  bool seen;
} idle_t;

/* --headless: done after --wait, or once the proxy saw traffic and then nothing for a while. */
static bool headless_done(void *ud) {
  idle_t *w = ud;
  int64_t now = fca_mono_ms();
  if (w->wait_ms) return now - w->start >= w->wait_ms;
  if (now - w->start >= FCA_BROWSE_MAX_MS) {
    fca_info("browse: the network was not idle after %d s; closing the browser",
             FCA_BROWSE_MAX_MS / 1000);
    return true;
  }
  if (!w->s->p) return now - w->start >= FCA_BROWSE_IDLE_MS * 5;
  fca_metrics_t m;
  fca_proxy_metrics(w->s->p, &m);
  if (m.requests != w->requests || m.bytes_to_clients != w->bytes) {
    w->requests = m.requests;
    w->bytes = m.bytes_to_clients;
    w->last_change = now;
    w->seen = true;
    return false;
  }
  return w->seen && now - w->last_change >= FCA_BROWSE_IDLE_MS;
}

static void usage(FILE *f) { fca_command_print_help(f, fca_command_find("browse")); }

int fca_cmd_browse_main(fca_config_t *cfg, int gargc, char **gargv, int argc, char **argv) {
  const char *proxy = NULL, *browser = NULL;
  bool headless = false;
  uint64_t wait_ms = 0;
  char **urls = fca_xcalloc((size_t)argc + 2, sizeof *urls);
  size_t nurls = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *eq = strchr(a, '=');
    const char *val = NULL;
#define OPT(name)                                                                                  \
  (strncmp(a, name, strlen(name)) == 0 && (a[strlen(name)] == '\0' || a[strlen(name)] == '='))
    bool takes = OPT("--proxy") || OPT("--browser") || OPT("--wait");
    if (takes) val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
    if (takes && !val) {
      fprintf(stderr, "fcaudit browse: %s needs a value\n", a);
      free(urls);
      return FCA_EXIT_FATAL;
    }
    if (OPT("--proxy")) {
      proxy = val;
    } else if (OPT("--browser")) {
      browser = val;
    } else if (OPT("--wait")) {
      if (fca_parse_duration_ms(val, &wait_ms) < 0 || wait_ms == 0) {
        fprintf(stderr, "fcaudit browse: --wait: bad duration '%s'\n", val);
        free(urls);
        return FCA_EXIT_FATAL;
      }
    } else if (strcmp(a, "--headless") == 0) {
      headless = true;
    } else if (a[0] == '-') {
      usage(stderr);
      free(urls);
      return FCA_EXIT_FATAL;
    } else {
      urls[nurls++] = (char *)a;
    }
#undef OPT
  }
  if (wait_ms && !headless) {
    fprintf(stderr, "fcaudit browse: --wait goes with --headless\n");
    free(urls);
    return FCA_EXIT_FATAL;
  }
  if (headless && nurls == 0) {
    fprintf(stderr, "fcaudit browse: --headless needs at least one URL to load\n");
    free(urls);
    return FCA_EXIT_FATAL;
  }
  char proxy_host[256] = "127.0.0.1";
  int proxy_port = 0;
  if (proxy && (fca_config_split_hostport(proxy, proxy_host, sizeof proxy_host, &proxy_port) < 0 ||
                proxy_port == 0)) {
    fprintf(stderr, "fcaudit browse: --proxy: expected HOST:PORT, got '%s'\n", proxy);
    free(urls);
    return FCA_EXIT_FATAL;
  }
  fca_browser_kind_t kind = FCA_BROWSER_CHROMIUM;
  char *exe = fca_browse_find(browser, getenv("PATH"), &kind);
  if (!exe) {
    if (browser)
      fprintf(stderr, "fcaudit browse: --browser %s: not found or not executable\n", browser);
    else
      fprintf(stderr, "fcaudit browse: no Chrome, Chromium or Firefox found on PATH or in the "
                      "usual install locations; name one with --browser PATH\n");
    free(urls);
    return FCA_EXIT_FATAL;
  }

#ifdef __linux__
  const char *disp = getenv("DISPLAY"), *wl = getenv("WAYLAND_DISPLAY");
  if (!headless && !(disp && *disp) && !(wl && *wl))
    fca_warn("browse: no DISPLAY or WAYLAND_DISPLAY: the browser has no screen to open on "
             "(--headless runs without one)");
#endif
  fca_cmd_session_t s;
  int status;
  if (proxy) {
    /* A proxy already running: the browser only; its summary is that proxy's. */
    memset(&s, 0, sizeof s);
    s.cfg = cfg;
    s.who = "browse";
    sigemptyset(&s.set);
    sigaddset(&s.set, SIGINT);
    sigaddset(&s.set, SIGTERM);
    sigaddset(&s.set, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &s.set, NULL);
    char err[512];
    s.dir = fca_ca_resolve_dir(cfg->ca_dir);
    s.own_ca =
        s.dir ? fca_ca_load_or_create(s.dir, cfg->ca_key_type, false, NULL, err, sizeof err) : NULL;
    s.ca = s.own_ca;
    status = FCA_EXIT_OK;
    if (!s.ca || fca_ca_spki_b64(s.ca, s.spki, sizeof s.spki) < 0) {
      fprintf(stderr, "fcaudit browse: CA: %s\n", s.dir ? err : "no CA directory (set --ca-dir)");
      status = FCA_EXIT_FATAL;
    } else {
      const char *tmpbase = getenv("TMPDIR");
      s.tmpdir = fca_xasprintf("%s/fcaudit-browse-XXXXXX", tmpbase && *tmpbase ? tmpbase : "/tmp");
      if (!mkdtemp(s.tmpdir)) {
        fprintf(stderr, "fcaudit browse: cannot make a temporary directory: %s\n", strerror(errno));
        free(s.tmpdir), s.tmpdir = NULL;
        status = FCA_EXIT_FATAL;
      }
      bool v6 = strchr(proxy_host, ':') != NULL;
      s.url =
          fca_xasprintf("http://%s%s%s:%d", v6 ? "[" : "", proxy_host, v6 ? "]" : "", proxy_port);
    }
  } else {
    /* The dashboard is wanted (first tab): on a free port unless --admin says otherwise. */
    status = fca_cmd_session_start(&s, cfg, gargc, gargv, "browse", "127.0.0.1:0");
    if (status == FCA_EXIT_OK) {
      char host[256];
      fca_config_split_hostport(s.url + 7, host, sizeof host, &proxy_port);
      snprintf(proxy_host, sizeof proxy_host, "%s", host);
    }
  }
  char *profile = NULL;
  char **bargv = NULL;
  if (status == FCA_EXIT_OK) {
    profile = fca_xasprintf("%s/profile", s.tmpdir);
    if (mkdir(profile, 0700) != 0) {
      fprintf(stderr, "fcaudit browse: cannot make %s: %s\n", profile, strerror(errno));
      status = FCA_EXIT_FATAL;
    }
  }
  if (status == FCA_EXIT_OK) {
    /* The dashboard first (not headless: nothing would look at it, and its live feed would
     * keep the network busy), then the URLs. */
    char **tabs = fca_xcalloc(nurls + 2, sizeof *tabs);
    size_t k = 0;
    bool dashboard = !headless && (proxy || strcmp(cfg->admin, "off") != 0);
    if (dashboard) tabs[k++] = "http://" FCA_ADMIN_HOST "/";
    for (size_t i = 0; i < nurls; i++) tabs[k++] = urls[i];
    if (kind == FCA_BROWSER_FIREFOX) {
      char err[512];
      if (fca_browse_firefox_profile(profile, proxy_host, proxy_port, err, sizeof err) < 0) {
        fprintf(stderr, "fcaudit browse: %s\n", err);
        status = FCA_EXIT_FATAL;
      } else if (!firefox_trust_ca(profile, fca_ca_cert_path(s.ca), &s)) {
        fca_warn("browse: certutil (libnss3-tools) not found or failed: Firefox does not trust "
                 "the fcaudit CA yet; import %s in Settings > Certificates > Authorities (or "
                 "open http://" FCA_ADMIN_HOST "/ca), or install it with an enterprise policy "
                 "(policies.json: Certificates > Install)",
                 fca_ca_cert_path(s.ca));
      }
      bargv = fca_browse_firefox_argv(exe, profile, headless, tabs);
    } else {
      bargv = fca_browse_chromium_argv(exe, profile, s.url, s.spki, headless, geteuid() == 0, tabs);
    }
    free(tabs);
  }
  if (status == FCA_EXIT_OK) {
    if (s.m)
      fca_info("proxy %s (run %s); starting %s%s", s.url, s.m->run, exe,
               headless ? " (headless)" : "; close it to end the run");
    else
      fca_info("proxy %s; starting %s", s.url, exe);
    pid_t child;
    /* A browser writes much to stderr that is not about the audit; --log-level debug shows it. */
    bool quiet = !cfg->log_level || strcmp(cfg->log_level, "debug") != 0;
    status = fca_cmd_session_spawn_quiet(&s, bargv, environ, &child, quiet);
    if (status == FCA_EXIT_OK) {
      idle_t w = {.s = &s, .start = fca_mono_ms(), .wait_ms = (int64_t)wait_ms};
      w.last_change = w.start;
      status = fca_cmd_session_wait(&s, child, exe, headless ? headless_done : NULL, &w);
      /* A browser killed by our own request is not a failed command. */
    }
  }
  if (profile) {
    /* Helpers of the browser may still be writing for a moment after it exited. */
    for (int tries = 0; tries < 20 && fca_browse_rmtree(profile) != 0; tries++) usleep(100000);
    struct stat st;
    if (lstat(profile, &st) == 0)
      fca_warn("browse: could not remove the temporary profile %s", profile);
  }
  fca_browse_argv_free(bargv);
  free(profile);
  free(exe);
  free(urls);
  return fca_cmd_session_finish(&s, status);
}
