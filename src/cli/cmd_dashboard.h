/* cmd_dashboard: `fcaudit dashboard --redis URL`, the fleet's dashboard: the usual pages on the
 * admin address, fed from the Redis stream every instance ships to instead of from one proxy. */
#ifndef FCAUDIT_CMD_DASHBOARD_H
#define FCAUDIT_CMD_DASHBOARD_H

#include "fcaudit/config.h"

/* argv[0] is "dashboard"; options after it are parsed into cfg (--admin, --fail-on, ...).
 * Runs until SIGINT/SIGTERM. Returns 0, or 3 when it cannot start. */
int fca_cmd_dashboard_main(fca_config_t *cfg, int argc, char **argv);

#endif
