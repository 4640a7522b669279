/* cmd_report_redis: `fcaudit report --redis URL --run ID|--since TIME|--release LABEL` reads
 * the fleet's stream and builds one model from every matching run (each entry once: run + seq
 * de-duplicates what a sink sent twice), so the usual reports come out merged across runs and
 * instances: pages grouped by URL, findings by fingerprint. */
#include "cmd_report.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fcaudit/redis_read.h"
#include "fcaudit/util.h"

typedef struct {
  fca_model_t *m;
  const fca_report_redis_sel_t *sel;
  fca_redis_dedup_t seen;
  uint64_t taken, bad;
} rload_t;

static int take(void *ud, const fca_redis_entry_t *e) {
  rload_t *l = ud;
  if (l->sel->run && strcmp(l->sel->run, e->run) != 0) return 0;
  if (l->sel->label && (!e->label || strcmp(l->sel->label, e->label) != 0)) return 0;
  if (l->sel->since_ms > 0 && strtoll(e->id, NULL, 10) < l->sel->since_ms) return 0;
  if (!fca_redis_dedup_first(&l->seen, e->run, e->seq)) return 0;
  json_t *o = json_loadb(e->event, e->event_len, JSON_REJECT_DUPLICATES, NULL);
  if (!o || fca_model_add_json(l->m, o) < 0)
    l->bad++;
  else
    l->taken++;
  json_decref(o);
  return 0;
}

int fca_report_parse_since(const char *s, int64_t now_ms, int64_t *out) {
  uint64_t d;
  if (fca_parse_duration_ms(s, &d) == 0) {
    *out = now_ms - (int64_t)d;
    return 0;
  }
  struct tm tm = {0};
  const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end) {
    memset(&tm, 0, sizeof tm);
    end = strptime(s, "%Y-%m-%d", &tm);
  }
  if (!end || (*end && strcmp(end, "Z") != 0)) return -1;
  *out = (int64_t)timegm(&tm) * 1000;
  return 0;
}

int fca_report_load_redis(fca_model_t *m, const char *url, const fca_report_redis_sel_t *sel,
                          char *err, size_t errlen) {
  fca_redis_reader_t *r = fca_redis_reader_open(url, err, errlen);
  if (!r) return -1;
  m->fleet = true;
  rload_t l = {.m = m, .sel = sel};
  char last[FCA_REDIS_ID_SIZE];
  int rc = fca_redis_reader_range(r, "0", 1000, take, &l, last, err, errlen);
  if (rc == 0 && l.taken == 0) {
    fca_seterr(err, errlen, "%s: no event matches (%s%s%s%s%s)", fca_redis_reader_name(r),
               sel->run ? "--run " : "", sel->run ? sel->run : "", sel->label ? " --release " : "",
               sel->label ? sel->label : "", sel->since_ms ? " --since" : "");
    rc = -1;
  }
  m->bad_lines += l.bad;
  fca_redis_dedup_free(&l.seen);
  fca_redis_reader_close(r);
  return rc < 0 ? -1 : 0;
}
