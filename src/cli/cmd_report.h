/* cmd_report: `fcaudit report [options] EVENTS.ndjson` writes the reports of one run of an
 * event log offline (same output options as the proxy, plus --run ID). */
#ifndef FCAUDIT_CMD_REPORT_H
#define FCAUDIT_CMD_REPORT_H

#include <stdint.h>

#include "fcaudit/config.h"
#include "fcaudit/model.h"

/* argv[0] is "report"; options after it are parsed into cfg. Returns 0, 1 (the run fails its
 * policy) or 3 (cannot read the log, bad options, cannot write a report). */
int fca_cmd_report_main(fca_config_t *cfg, int argc, char **argv);

/* `report --redis URL`: which entries of the stream make the report (all given must match). */
typedef struct {
  const char *run;   /* --run ID */
  const char *label; /* --release LABEL (the runs' --label) */
  int64_t since_ms;  /* --since: entries added at or after (0 = any time) */
} fca_report_redis_sel_t;

/* Loads every matching entry of the stream into m, merged (m->fleet). 0, or -1 with err. */
int fca_report_load_redis(fca_model_t *m, const char *url, const fca_report_redis_sel_t *sel,
                          char *err, size_t errlen);
/* --since TIME: a duration back from now ("2h", "30m") or a UTC date/time
 * ("2026-11-24", "2026-11-24T10:00:00Z"). 0, or -1. */
int fca_report_parse_since(const char *s, int64_t now_ms, int64_t *out);

#endif
