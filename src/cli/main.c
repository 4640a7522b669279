/* main: command-line dispatch. `fcaudit [options]` runs the proxy; subcommands: ca, run, tail,
 * report, audit, dashboard. Options may come before the subcommand and after it.
 * Exit statuses: fcaudit/exit.h (FCA_EXIT_FATAL: fcaudit itself could not run). */
#include "ca_cmd.h"
#include "cmd_audit.h"
#include "cmd_dashboard.h"
#include "cmd_report.h"
#include "cmd_run.h"
#include "cmd_tail.h"
#include "fcaudit/config.h"
#include "fcaudit/exit.h"
#include "fcaudit/util.h"
#include "run_session.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static int usage_error(fca_config_t *cfg, const char *msg) {
  fprintf(stderr, "fcaudit: %s (see fcaudit --help)\n", msg);
  fca_config_free(cfg);
  return FCA_EXIT_FATAL;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  fca_config_t cfg;
  fca_config_init(&cfg);
  bool help = false, version = false;
  char err[512];
  int rest = fca_config_parse_args(&cfg, argc, argv, 1, &help, &version, err, sizeof err);
  if (rest < 0) return usage_error(&cfg, err);
  if (help) {
    fca_config_print_help(stdout, "fcaudit");
    fca_config_free(&cfg);
    return 0;
  }
  if (version) {
    printf("fcaudit %s\n", FCA_VERSION);
    fca_config_free(&cfg);
    return 0;
  }
  fca_log_level_t lvl;
  if (cfg.log_level && fca_log_level_parse(cfg.log_level, &lvl) == 0) fca_log_set_level(lvl);
  int status;
  if (rest < argc && strcmp(argv[rest], "ca") == 0) {
    status = fca_ca_cmd_main(&cfg, argc - rest, argv + rest);
  } else if (rest < argc && strcmp(argv[rest], "run") == 0) {
    status = fca_cmd_run_main(&cfg, argc, argv, rest);
  } else if (rest < argc && strcmp(argv[rest], "tail") == 0) {
    status = fca_cmd_tail_main(&cfg, argc - rest, argv + rest);
  } else if (rest < argc && strcmp(argv[rest], "report") == 0) {
    status = fca_cmd_report_main(&cfg, argc - rest, argv + rest);
  } else if (rest < argc && strcmp(argv[rest], "audit") == 0) {
    status = fca_cmd_audit_main(&cfg, argc - rest, argv + rest);
  } else if (rest < argc && strcmp(argv[rest], "dashboard") == 0) {
    status = fca_cmd_dashboard_main(&cfg, argc - rest, argv + rest);
  } else if (rest < argc) {
    char msg[300];
    snprintf(msg, sizeof msg, "unknown command '%s'", argv[rest]);
    return usage_error(&cfg, msg);
  } else {
    if (fca_config_validate(&cfg, err, sizeof err) < 0) return usage_error(&cfg, err);
    status = fca_run_session_main(&cfg);
  }
  fca_config_free(&cfg);
  return status;
}
