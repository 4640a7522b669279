/* main: command-line dispatch. `fcaudit [options]` runs the proxy; subcommands: audit, browse,
 * ca, dashboard, report, run, tail (src/commands.c reads the command line: options before or after
 * the subcommand word, `NAME --help`, the closest name for a typo).
 * Exit statuses: fcaudit/exit.h (FCA_EXIT_FATAL: fcaudit itself could not run). */
#include "ca_cmd.h"
#include "cmd_audit.h"
#include "cmd_browse.h"
#include "cmd_dashboard.h"
#include "cmd_report.h"
#include "cmd_run.h"
#include "cmd_tail.h"
#include "commands.h"
#include "fcaudit/config.h"
#include "fcaudit/exit.h"
#include "fcaudit/util.h"
#include "run_session.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage_error(fca_config_t *cfg, fca_cmdline_t *cl, const char *msg) {
  fprintf(stderr, "fcaudit: %s (see fcaudit%s%s --help)\n", msg, cl->cmd ? " " : "",
          cl->cmd ? cl->cmd->name : "");
  fca_cmdline_free(cl);
  fca_config_free(cfg);
  return FCA_EXIT_FATAL;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  fca_config_t cfg;
  fca_config_init(&cfg);
  fca_cmdline_t cl;
  char err[512];
  if (fca_commands_parse(&cl, &cfg, argc, argv, err, sizeof err) < 0)
    return usage_error(&cfg, &cl, err);
  if (cl.help) {
    if (cl.cmd)
      fca_command_print_help(stdout, cl.cmd);
    else
      fca_config_print_help(stdout, "fcaudit");
    fca_cmdline_free(&cl);
    fca_config_free(&cfg);
    return 0;
  }
  if (cl.version) {
    printf("fcaudit %s\n", FCA_VERSION);
    fca_cmdline_free(&cl);
    fca_config_free(&cfg);
    return 0;
  }
  fca_log_level_t lvl;
  if (cfg.log_level && fca_log_level_parse(cfg.log_level, &lvl) == 0) fca_log_set_level(lvl);
  const char *name = cl.cmd ? cl.cmd->name : "";
  if (cl.rest && strcmp(name, "audit") == 0) { /* audit -- FILE...: files that look like options */
    for (char **r = cl.rest; *r; r++) {
      cl.sub_argv = fca_xrealloc(cl.sub_argv, (size_t)(cl.sub_argc + 3) * sizeof *cl.sub_argv);
      if (r == cl.rest) cl.sub_argv[cl.sub_argc++] = "--";
      cl.sub_argv[cl.sub_argc++] = *r;
      cl.sub_argv[cl.sub_argc] = NULL;
    }
    free(cl.rest);
    cl.rest = NULL;
  }
  if (cl.rest && strcmp(name, "run") != 0) {
    char msg[300];
    snprintf(msg, sizeof msg, "unexpected argument '%s'", cl.rest[0] ? cl.rest[0] : "--");
    return usage_error(&cfg, &cl, msg);
  }
  int status;
  if (strcmp(name, "ca") == 0) {
    status = fca_ca_cmd_main(&cfg, cl.sub_argc, cl.sub_argv);
  } else if (strcmp(name, "run") == 0) {
    status = fca_cmd_run_main(&cfg, cl.global_argc, cl.global_argv, cl.rest);
  } else if (strcmp(name, "tail") == 0) {
    status = fca_cmd_tail_main(&cfg, cl.sub_argc, cl.sub_argv);
  } else if (strcmp(name, "report") == 0) {
    status = fca_cmd_report_main(&cfg, cl.sub_argc, cl.sub_argv);
  } else if (strcmp(name, "audit") == 0) {
    status = fca_cmd_audit_main(&cfg, cl.sub_argc, cl.sub_argv);
  } else if (strcmp(name, "dashboard") == 0) {
    status = fca_cmd_dashboard_main(&cfg, cl.sub_argc, cl.sub_argv);
  } else if (strcmp(name, "browse") == 0) {
    status = fca_cmd_browse_main(&cfg, cl.global_argc, cl.global_argv, cl.sub_argc, cl.sub_argv);
  } else {
    if (fca_config_validate(&cfg, err, sizeof err) < 0) return usage_error(&cfg, &cl, err);
    status = fca_run_session_main(&cfg);
  }
  fca_cmdline_free(&cl);
  fca_config_free(&cfg);
  return status;
}
