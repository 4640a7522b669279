/* admin prom: the Prometheus text for /metrics. Names are stable (dashboards and alerts use
 * them): fcaudit_<what>[_total]. One HELP and one TYPE line per family, then its samples; a
 * family with labels and nothing counted yet has no sample, which Prometheus accepts. */
#include "admin_prom.h"

#include <inttypes.h>
#include <string.h>

#include "fcaudit/event.h"

static void family(fca_abuf_t *o, const char *name, const char *type, const char *help) {
  fca_abuf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(fca_abuf_t *o, const char *name, const char *type, const char *help,
                   uint64_t v) {
  family(o, name, type, help);
  fca_abuf_printf(o, "%s %" PRIu64 "\n", name, v);
}

void fca_admin_prom_label(fca_abuf_t *out, const char *v) {
  fca_abuf_puts(out, "\"");
  for (const char *p = v ? v : ""; *p; p++) {
    if (*p == '\\')
      fca_abuf_puts(out, "\\\\");
    else if (*p == '"')
      fca_abuf_puts(out, "\\\"");
    else if (*p == '\n')
      fca_abuf_puts(out, "\\n");
    else
      fca_abuf_add(out, p, 1);
  }
  fca_abuf_puts(out, "\"");
}

void fca_admin_prom_write(fca_abuf_t *o, const fca_metrics_t *m, const fca_sink_stats_t *s,
                          const fca_admin_prom_extra_t *x) {
  family(o, "fcaudit_info", "gauge", "Build information (always 1).");
  fca_abuf_puts(o, "fcaudit_info{version=");
  fca_admin_prom_label(o, FCA_VERSION);
  fca_abuf_puts(o, "} 1\n");
  family(o, "fcaudit_start_time_seconds", "gauge", "Start time of the process, Unix seconds.");
  fca_abuf_printf(o, "fcaudit_start_time_seconds %" PRId64 ".%03d\n", m->started_ms / 1000,
                  (int)(m->started_ms % 1000));

  sample(o, "fcaudit_connections_open", "gauge", "Client connections open now.", m->conns_open);
  sample(o, "fcaudit_connections_total", "counter", "Client connections accepted.", m->conns_total);
  sample(o, "fcaudit_requests_total", "counter",
         "HTTP requests parsed, including those inside TLS tunnels.", m->requests);
  family(o, "fcaudit_client_bytes_total", "counter",
         "Application bytes on the client side, by direction.");
  fca_abuf_printf(o, "fcaudit_client_bytes_total{direction=\"received\"} %" PRIu64 "\n",
                  m->bytes_from_clients);
  fca_abuf_printf(o, "fcaudit_client_bytes_total{direction=\"sent\"} %" PRIu64 "\n",
                  m->bytes_to_clients);
  sample(o, "fcaudit_tls_handshakes_total", "counter",
         "Client-facing TLS handshakes completed (interception).", m->tls_handshakes);
  sample(o, "fcaudit_tls_handshake_failures_total", "counter",
         "Client-facing TLS handshakes that failed.", m->tls_failures);
  sample(o, "fcaudit_cert_cache_hits_total", "counter", "Leaf certificates found in the cache.",
         m->cert_cache_hits);
  sample(o, "fcaudit_cert_cache_misses_total", "counter", "Leaf certificates not in the cache.",
         m->cert_cache_misses);
  sample(o, "fcaudit_certs_minted_total", "counter", "Leaf certificates minted.", m->certs_minted);
  sample(o, "fcaudit_upstream_reused_total", "counter",
         "Requests sent on a kept or pooled upstream connection.", m->upstream_reused);
  sample(o, "fcaudit_proxy_errors_total", "counter", "Error responses the proxy generated itself.",
         m->proxy_errors);
  sample(o, "fcaudit_h2_stream_buffer_peak_bytes", "gauge",
         "Most response bytes one HTTP/2 stream held at once (read from the origin, waiting for "
         "the client's flow-control window).",
         m->h2_stream_peak);
  sample(o, "fcaudit_pages_seen_total", "counter", "HTML documents the audit engine saw.",
         m->pages_seen);
  sample(o, "fcaudit_pages_tagged_total", "counter", "Pages tagged (they load Stripe.js).",
         m->pages_tagged);
  sample(o, "fcaudit_audit_notes_total", "counter", "Notes on what limited the audit.",
         m->audit_notes);
  sample(o, "fcaudit_audit_bytes_total", "counter", "Body bytes the audit engine scanned.",
         m->audit_bytes);

  if (s) {
    family(o, "fcaudit_violations_total", "counter", "Violations emitted, by rule and level.");
    for (size_t i = 0; i < s->nrules && i < FCA_SINK_RULES_MAX; i++) {
      fca_abuf_puts(o, "fcaudit_violations_total{rule=");
      fca_admin_prom_label(o, s->rules[i].rule);
      fca_abuf_puts(o, ",level=");
      fca_admin_prom_label(o, fca_level_name(s->rules[i].level));
      fca_abuf_printf(o, "} %" PRIu64 "\n", s->rules[i].count);
    }
    family(o, "fcaudit_events_total", "counter", "Events emitted, by type.");
    for (int t = FCA_EV_PAGE; t <= FCA_EV_SUMMARY; t++)
      fca_abuf_printf(o, "fcaudit_events_total{type=\"%s\"} %" PRIu64 "\n",
                      fca_event_type_name((fca_event_type_t)t), s->by_type[t]);
    sample(o, "fcaudit_event_log_lines_total", "counter", "Lines written to the event log.",
           s->lines_written);
    sample(o, "fcaudit_event_sink_errors_total", "counter",
           "Failed write or open attempts on the event log.", s->write_errors);
    sample(o, "fcaudit_event_sink_queued_lines", "gauge", "Event log lines waiting to be retried.",
           s->queued_lines);
    sample(o, "fcaudit_event_sink_overflowed_total", "counter",
           "Event log lines sent to stderr because the retry queue was full.", s->overflowed);
  } else {
    sample(o, "fcaudit_event_sink_errors_total", "counter",
           "Failed write or open attempts on the event log.", m->sink_write_errors);
  }

  if (m->redis_sinks) {
    sample(o, "fcaudit_redis_sinks_connected", "gauge",
           "Redis sinks (--sink) connected and shipping now.", m->redis_connected);
    sample(o, "fcaudit_redis_events_shipped_total", "counter",
           "Events Redis acknowledged (XADD), repeats after a reconnect included.",
           m->redis_shipped);
    sample(o, "fcaudit_redis_events_waiting", "gauge",
           "Events in the local log not yet acknowledged by Redis.", m->redis_waiting);
    sample(o, "fcaudit_redis_events_unshipped_total", "counter",
           "Events given up past the backlog cap while Redis was away (each told in a note).",
           m->redis_unshipped);
    sample(o, "fcaudit_redis_failures_total", "counter", "Redis connections that failed or broke.",
           m->redis_failures);
  }

  if (x) {
    sample(o, "fcaudit_admin_requests_total", "counter", "Requests the admin listener answered.",
           x->admin_requests);
    sample(o, "fcaudit_admin_stream_clients", "gauge", "Dashboards connected to the live feed.",
           x->sse_clients);
    sample(o, "fcaudit_admin_stream_buffered_events", "gauge",
           "Events held for replay to reconnecting dashboards.", x->ring_events);
    sample(o, "fcaudit_admin_stream_evicted_total", "counter",
           "Events that left the replay buffer.", x->ring_evicted);
  }
}
