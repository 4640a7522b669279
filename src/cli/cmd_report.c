/* cmd_report: the reports of one run, offline, from an event log. The same option names as the
 * proxy (--report-json, --junit, --sarif, --report-html, --baseline, --fail-on,
 * --require-tagged, --rule, --rules-file) plus --run ID; several runs may share the log, and
 * without --run the latest (the one whose first line comes last) is used. */
#include "cmd_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcaudit/console.h"
#include "fcaudit/exit.h"
#include "fcaudit/model.h"
#include "fcaudit/redis_url.h"
#include "fcaudit/reports.h"
#include "fcaudit/util.h"

static void usage(FILE *f) {
  fputs("usage: fcaudit report [--run ID] [--report-json FILE] [--junit FILE] [--sarif FILE]\n"
        "                      [--report-html FILE] [--baseline FILE] [--fail-on LEVEL]\n"
        "                      [--require-tagged N] [--rule ID=ignore] [--rules-file FILE]\n"
        "                      EVENTS.ndjson\n"
        "       fcaudit report --redis URL (--run ID | --since TIME | --release LABEL) [...]\n"
        "Writes the reports of one run of an event log (\"-\" reads standard input, then --run is\n"
        "needed when several runs share it) and prints its summary. With --redis, reads the\n"
        "fleet's stream instead and merges every matching run of every instance: --since 2h or\n"
        "a UTC date (2026-11-24T10:00:00Z), --release the runs' --label. Exit status: 0 pass,\n"
        "1 findings at or above --fail-on or too few tagged pages, 3 error.\n",
        f);
}

int fca_cmd_report_main(fca_config_t *cfg, int argc, char **argv) {
  /* --run is ours; everything else is a configuration option. */
  char **rest = fca_xcalloc((size_t)argc + 1, sizeof *rest);
  int n = 0;
  const char *run = NULL, *file = NULL, *redis = NULL, *since = NULL, *release = NULL;
  struct {
    const char *name, *metavar;
    const char **dst;
  } ours[] = {{"run", "ID", &run},
              {"redis", "URL", &redis},
              {"since", "TIME", &since},
              {"release", "LABEL", &release}};
  rest[n++] = argv[0];
  for (int i = 1; i < argc; i++) {
    bool mine = false;
    for (size_t k = 0; k < sizeof ours / sizeof ours[0] && !mine; k++) {
      size_t l = strlen(ours[k].name);
      if (strncmp(argv[i], "--", 2) != 0 || strncmp(argv[i] + 2, ours[k].name, l) != 0) continue;
      const char *tail = argv[i] + 2 + l;
      if (*tail == '=') {
        *ours[k].dst = tail + 1;
        mine = true;
      } else if (*tail == '\0') {
        if (i + 1 >= argc) {
          fprintf(stderr, "fcaudit report: --%s needs a value (%s)\n", ours[k].name,
                  ours[k].metavar);
          free(rest);
          return FCA_EXIT_FATAL;
        }
        *ours[k].dst = argv[++i];
        mine = true;
      }
    }
    if (!mine) rest[n++] = argv[i];
  }
  int status = FCA_EXIT_FATAL;
  char err[512];
  fca_model_t *m = NULL;
  int i = 1;
  while (i < n) {
    bool help = false;
    int next = fca_config_parse_args(cfg, n, rest, i, &help, NULL, err, sizeof err);
    if (next < 0) {
      fprintf(stderr, "fcaudit report: %s\n", err);
      goto out;
    }
    if (help) {
      usage(stdout);
      status = FCA_EXIT_OK;
      goto out;
    }
    if (next >= n) break;
    if (file) {
      fprintf(stderr, "fcaudit report: one event log at a time ('%s' and '%s')\n", file,
              rest[next]);
      goto out;
    }
    file = rest[next];
    i = next + 1;
  }
  if (redis) {
    fca_report_redis_sel_t sel = {.run = run, .label = release};
    if (file) {
      fprintf(stderr, "fcaudit report: --redis or an event log, not both\n");
      goto out;
    }
    if (!run && !since && !release) {
      fprintf(stderr, "fcaudit report: --redis needs --run ID, --since TIME or --release LABEL\n");
      goto out;
    }
    if (since && fca_report_parse_since(since, fca_now_ms(), &sel.since_ms) < 0) {
      fprintf(stderr,
              "fcaudit report: --since: expected a duration (2h, 30m) or a UTC date "
              "(2026-11-24 or 2026-11-24T10:00:00Z), got '%s'\n",
              since);
      goto out;
    }
    m = fca_model_new(NULL);
    if (fca_report_load_redis(m, redis, &sel, err, sizeof err) < 0) {
      fprintf(stderr, "fcaudit report: %s\n", err);
      goto out;
    }
    file = fca_redis_url_is(redis) ? "redis" : redis;
  } else {
    if (since || release) {
      fprintf(stderr, "fcaudit report: --since and --release read the fleet's stream: add "
                      "--redis URL\n");
      goto out;
    }
    if (!file) {
      usage(stderr);
      goto out;
    }
    m = fca_model_new(run);
    if (fca_model_load_file(m, file, err, sizeof err) < 0) {
      fprintf(stderr, "fcaudit report: %s\n", err);
      goto out;
    }
  }
  if (m->bad_lines)
    fprintf(stderr, "fcaudit report: %s: skipped %llu line%s that %s not events\n", file,
            (unsigned long long)m->bad_lines, m->bad_lines == 1 ? "" : "s",
            m->bad_lines == 1 ? "is" : "are");
  if (fca_reports_prepare(m, cfg, err, sizeof err) < 0) {
    fprintf(stderr, "fcaudit report: %s\n", err);
    goto out;
  }
  int wrote = fca_reports_write_all(m, cfg);
  if (!cfg->quiet)
    fca_model_print_summary(stdout, m, fca_console_use_color(stdout, FCA_COLOR_AUTO));
  status = wrote < 0 ? FCA_EXIT_FATAL : fca_model_exit_code(m);
out:
  fca_model_free(m);
  free(rest);
  return status;
}
