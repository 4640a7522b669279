/* cmd_report: the reports of one run, offline, from an event log. The same option names as the
 * proxy (--report-json, --junit, --sarif, --report-html, --baseline, --fail-on,
 * --require-tagged, --rule, --rules-file) plus --run ID; several runs may share the log, and
 * without --run the latest (the one whose first line comes last) is used. */
#include "cmd_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcaudit/console.h"
#include "fcaudit/model.h"
#include "fcaudit/reports.h"
#include "fcaudit/util.h"

static void usage(FILE *f) {
  fputs("usage: fcaudit report [--run ID] [--report-json FILE] [--junit FILE] [--sarif FILE]\n"
        "                      [--report-html FILE] [--baseline FILE] [--fail-on LEVEL]\n"
        "                      [--require-tagged N] [--rule ID=ignore] [--rules-file FILE]\n"
        "                      EVENTS.ndjson\n"
        "Writes the reports of one run of an event log (\"-\" reads standard input, then --run is\n"
        "needed when several runs share it) and prints its summary. Exit status: 0 pass,\n"
        "1 findings at or above --fail-on or too few tagged pages, 3 error.\n",
        f);
}

int fca_cmd_report_main(fca_config_t *cfg, int argc, char **argv) {
  /* --run is ours; everything else is a configuration option. */
  char **rest = fca_xcalloc((size_t)argc + 1, sizeof *rest);
  int n = 0;
  const char *run = NULL, *file = NULL;
  rest[n++] = argv[0];
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--run") == 0 && i + 1 < argc) {
      run = argv[++i];
    } else if (strncmp(argv[i], "--run=", 6) == 0) {
      run = argv[i] + 6;
    } else if (strcmp(argv[i], "--run") == 0) {
      fprintf(stderr, "fcaudit report: --run needs a value (ID)\n");
      free(rest);
      return 3;
    } else {
      rest[n++] = argv[i];
    }
  }
  int status = 3;
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
      status = 0;
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
  if (!file) {
    usage(stderr);
    goto out;
  }
  m = fca_model_new(run);
  if (fca_model_load_file(m, file, err, sizeof err) < 0) {
    fprintf(stderr, "fcaudit report: %s\n", err);
    goto out;
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
  status = wrote < 0 ? 3 : fca_model_exit_code(m);
out:
  fca_model_free(m);
  free(rest);
  return status;
}
