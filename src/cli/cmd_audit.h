/* cmd_audit: `fcaudit audit [options] FILE.har...`: HAR files replayed through the audit
 * engine offline, with the reports, baseline and exit statuses of `fcaudit run`. */
#ifndef FCAUDIT_CMD_AUDIT_H
#define FCAUDIT_CMD_AUDIT_H

#include "fcaudit/config.h"

/* argv[0] is "audit". Returns 0 pass, 1 findings (--fail-on, --require-tagged), 3 error. */
int fca_cmd_audit_main(fca_config_t *cfg, int argc, char **argv);

#endif
