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
  uint64_t h2_stream_peak;  /* most response bytes one HTTP/2 stream held at once */
  uint64_t pages_seen, pages_tagged, audit_notes, audit_bytes; /* from the audit engine */
  uint64_t events_written, sink_write_errors;                  /* from the event sink */
  /* item 4's test-mode coverage so far: names[i] linked when bit i of institutions is set */
  bool test_mode_judged;
  unsigned test_institutions;
  const char *test_institution_names[4];
  uint64_t api_test, api_live;
  /* Redis sinks (--sink), summed over them; redis_sinks == 0: none configured. */
  uint64_t redis_sinks, redis_connected;
  uint64_t redis_shipped, redis_waiting, redis_unshipped, redis_failures;
  int64_t started_ms; /* wall clock at start */
} fca_metrics_t;

#endif
