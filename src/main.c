/* main: command-line dispatch. `fcaudit [options]` runs the proxy; subcommands: ca, run, tail,
 * report. Exit status 3 means fcaudit itself could not run (bad options, port, CA). */
#include "fcaudit/config.h"
#include "fcaudit/proxy.h"
#include "fcaudit/util.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  fca_config_t cfg;
  fca_config_init(&cfg);
  bool help = false, version = false;
  char err[512];
  int rest = fca_config_parse_args(&cfg, argc, argv, 1, &help, &version, err, sizeof err);
  if (rest < 0) {
    fprintf(stderr, "fcaudit: %s (see fcaudit --help)\n", err);
    fca_config_free(&cfg);
    return 3;
  }
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
  int status = fca_proxy_main(&cfg);
  fca_config_free(&cfg);
  return status;
}
