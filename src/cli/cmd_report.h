/* cmd_report: `fcaudit report [options] EVENTS.ndjson` writes the reports of one run of an
 * event log offline (same output options as the proxy, plus --run ID). */
#ifndef FCAUDIT_CMD_REPORT_H
#define FCAUDIT_CMD_REPORT_H

#include "fcaudit/config.h"

/* argv[0] is "report"; options after it are parsed into cfg. Returns 0, 1 (the run fails its
 * policy) or 3 (cannot read the log, bad options, cannot write a report). */
int fca_cmd_report_main(fca_config_t *cfg, int argc, char **argv);

#endif
