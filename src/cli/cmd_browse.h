/* cmd_browse: `fcaudit browse [options] [URL...]` opens a browser that is set up for the proxy
 * in one command: a fresh temporary profile, the proxy for every host (loopback included), the
 * fcaudit CA trusted, no first-run prompts, the dashboard in the first tab and the URLs in the
 * next ones. Closing the browser ends the run like `fcaudit run` (summary, reports, exit
 * status); --headless loads the URLs, waits for an idle network (or --wait) and closes it. */
#ifndef FCAUDIT_CMD_BROWSE_H
#define FCAUDIT_CMD_BROWSE_H

#include <stdbool.h>
#include <stddef.h>

#include "fcaudit/config.h"

typedef enum { FCA_BROWSER_CHROMIUM = 0, FCA_BROWSER_FIREFOX = 1 } fca_browser_kind_t;

/* gargv: the fcaudit options as given (argv[0] first); argv: "browse", its options, the URLs. */
int fca_cmd_browse_main(fca_config_t *cfg, int gargc, char **gargv, int argc, char **argv);

/* Finds a browser: `given` when set (its kind from its name), else Chrome or Chromium on PATH or
 * in the usual install locations, else Firefox. Returns a malloc'd path or NULL. */
char *fca_browse_find(const char *given, const char *path_env, fca_browser_kind_t *kind);

/* The Chromium command line (NULL-terminated, malloc'd strings; free with
 * fca_browse_argv_free). proxy: "http://127.0.0.1:PORT"; urls: NULL-terminated. */
char **fca_browse_chromium_argv(const char *exe, const char *profile, const char *proxy,
                                const char *spki, bool headless, bool as_root, char **urls);
/* Firefox: the command line, and the prefs file (user.js) of the profile. */
char **fca_browse_firefox_argv(const char *exe, const char *profile, bool headless, char **urls);
int fca_browse_firefox_profile(const char *profile, const char *proxy_host, int proxy_port,
                               char *err, size_t errlen);
void fca_browse_argv_free(char **argv);

/* Removes a directory tree (the temporary profile). 0 or -1. */
int fca_browse_rmtree(const char *dir);

#endif
