/* cmd_tail: `fcaudit tail [FILE]`, follows an NDJSON event log like tail -F. */
#ifndef FCAUDIT_CMD_TAIL_H
#define FCAUDIT_CMD_TAIL_H

#include "fcaudit/config.h"

/* argv[0] is "tail". cfg supplies the default FILE (--log). Returns an exit status. */
int fca_cmd_tail_main(const fca_config_t *cfg, int argc, char **argv);

#endif
