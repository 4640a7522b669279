/* metrics: one snapshot of the proxy's counters, for /metrics (Prometheus text) and the
 * dashboard. Filled by fca_proxy_metrics (proxy.c) from the shared atomics, every worker's
 * caches and the audit and sink statistics. Plain data: no libevent here. */
#ifndef FCAUDIT_METRICS_H
#define FCAUDIT_METRICS_H

#include <stdint.h>

typedef struct {
  uint64_t conns_open, conns_total;              /* client connections */
  uint64_t requests;                             /* HTTP requests parsed (incl. inside tunnels) */
  uint64_t bytes_from_clients, bytes_to_clients; /* application bytes, client side */
  uint64_t tls_handshakes, tls_failures;         /* client-facing (interception) handshakes */
  uint64_t cert_cache_hits, cert_cache_misses, certs_minted;
  uint64_t upstream_reused; /* requests sent on a kept or pooled connection */
  uint64_t proxy_errors;    /* answers the proxy gave itself (4xx/5xx) */
  uint64_t pages_seen, pages_tagged, audit_notes, audit_bytes; /* from the audit engine */
  uint64_t events_written, sink_write_errors;                  /* from the event sink */
  /* Redis sinks (--sink), summed over them; redis_sinks == 0: none configured. */
  uint64_t redis_sinks, redis_connected;
  uint64_t redis_shipped, redis_waiting, redis_unshipped, redis_failures;
  int64_t started_ms;                                          /* wall clock at start */
} fca_metrics_t;

#endif
