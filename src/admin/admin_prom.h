/* admin_prom: /metrics in the Prometheus text exposition format 0.0.4: every family with its
 * HELP and TYPE lines, counters named *_total, label values escaped. Pure: formats a metrics
 * snapshot (metrics.h), the event sink's statistics and the admin listener's own figures. */
#ifndef FCAUDIT_ADMIN_PROM_H
#define FCAUDIT_ADMIN_PROM_H

#include <stdint.h>

#include "admin_util.h"
#include "fcaudit/metrics.h"
#include "fcaudit/sink.h"

#define FCA_ADMIN_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct {
  uint64_t sse_clients;    /* dashboards connected to /events now */
  uint64_t ring_events;    /* events held for replay */
  uint64_t ring_evicted;   /* events that left the replay ring */
  uint64_t admin_requests; /* requests the admin listener answered */
} fca_admin_prom_extra_t;

/* Appends the exposition. s and x may be NULL (their families are then left out). */
void fca_admin_prom_write(fca_abuf_t *out, const fca_metrics_t *m, const fca_sink_stats_t *s,
                          const fca_admin_prom_extra_t *x);

/* Appends v as a label value: backslash, double quote and line feed escaped. */
void fca_admin_prom_label(fca_abuf_t *out, const char *v);

#endif
