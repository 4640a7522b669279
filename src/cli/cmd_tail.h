/* cmd_tail: `fcaudit tail [FILE]`, follows an NDJSON event log like tail -F. */
#ifndef FCAUDIT_CMD_TAIL_H
#define FCAUDIT_CMD_TAIL_H

#include <stdbool.h>
#include <stddef.h>

#include "fcaudit/config.h"
#include "fcaudit/tailfmt.h"

/* argv[0] is "tail". cfg supplies the default FILE (--log). Returns an exit status. */
int fca_cmd_tail_main(const fca_config_t *cfg, int argc, char **argv);

/* `tail --redis URL`: the fleet's stream instead of a file. */
typedef struct {
  const char *url;
  const char *instance; /* only this instance's events, or NULL */
  fca_tail_filter_t flt;
  size_t keep; /* -n */
  bool json, color, follow;
} fca_cmd_tail_redis_opts_t;
int fca_cmd_tail_redis(const fca_cmd_tail_redis_opts_t *o);

#endif
