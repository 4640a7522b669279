/* audit: the facade of the pure audit engine (src/audit/), the only thing the proxy calls.
 * The proxy feeds each exchange: request head -> response head -> body slices -> end; the
 * engine decides what to inspect (documents, scripts, Stripe API calls), decodes and scans
 * bodies as they stream, keeps the page registry (shared by all workers, behind its own lock),
 * applies the checklist rules and emits events (fca_event_t) through one callback, from the
 * calling worker's thread. No libevent, no sockets: unit tests and offline modes reuse it.
 * Cost for an exchange that is not inspected: a few header comparisons, no allocation of
 * body state, body slices ignored. */
#ifndef FCAUDIT_AUDIT_H
#define FCAUDIT_AUDIT_H

#include "fcaudit/event.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fca_audit fca_audit_t;
typedef struct fca_audit_exchange fca_audit_exchange_t;
struct fca_ruleset; /* include/fcaudit/ruleset.h */

typedef struct {
  const char *name;
  size_t name_len;
  const char *value;
  size_t value_len;
} fca_audit_header_t;

typedef struct {
  fca_event_fn emit; /* thread-safe sink (report/sink.c); may be NULL in tests */
  void *emit_ud;
  const struct fca_ruleset *rules; /* levels and overrides; NULL = defaults */
  uint64_t max_audit_bytes;        /* decoded bytes inspected per response (16 MiB) */
  uint64_t correlation_window_ms;  /* 30 s */
  bool min_confidence_high;        /* --min-confidence high */
  const char *env;                 /* production | staging | test */
  bool dedup;                      /* report (rule, url w/o query, evidence) once per run */
  size_t registry_max_pages;       /* bound on remembered documents (e.g. 4096) */
  uint64_t registry_max_age_ms;    /* documents older than this are forgotten (e.g. 10 min) */
} fca_audit_opts_t;

fca_audit_t *fca_audit_new(const fca_audit_opts_t *opts);
void fca_audit_free(fca_audit_t *a);

typedef struct {
  const char *method; /* "GET" */
  const char *url;    /* absolute URL: scheme://host[:port]/path?query */
  const fca_audit_header_t *headers;
  size_t nheaders;
  const char *client;    /* "127.0.0.1:50312" (events) */
  const char *client_id; /* the client's address (IP) for correlation; the engine adds a hash
                            of the request's User-Agent, so that curl and a browser on one
                            address are two clients */
  bool client_id_whole;  /* client_id names one client by itself (a browser's own HAR, one
                            session): the User-Agent is not added */
  int64_t now_ms;        /* wall clock */
  bool body_decoded;     /* offline sources (a HAR's content.text): the response body will be
                            passed already decoded, so Content-Encoding is not undone again */
} fca_audit_request_t;

/* Starts an exchange; never NULL. Strings are copied as needed. */
fca_audit_exchange_t *fca_audit_begin(fca_audit_t *a, const fca_audit_request_t *req);
/* A slice of the request body as sent (chunked framing removed). Only an urlencoded POST to
 * api.stripe.com is read (its `key` field, at most FCA_STRIPEREQ_BODY_MAX bytes); for every
 * other exchange this returns at once. The body is judged when the exchange ends. */
void fca_audit_request_body(fca_audit_exchange_t *x, const void *data, size_t len);
/* The final response head (interim 1xx responses are not passed). */
void fca_audit_response_head(fca_audit_exchange_t *x, int status, const fca_audit_header_t *headers,
                             size_t nheaders);
/* A slice of the response body as sent (still content-encoded; chunked framing removed). */
void fca_audit_response_body(fca_audit_exchange_t *x, const void *data, size_t len);
/* Offline sources only, instead of body slices: the source holds no body for this response
 * (a HAR exported without content, a cached entry, a 304). When the engine would have
 * inspected it, a `body-missing` note says what could not be judged and why (`why`, e.g.
 * "the HAR entry has no content.text"). Then call fca_audit_response_end(x, true). */
void fca_audit_response_no_body(fca_audit_exchange_t *x, const char *why);
/* The response ended (complete = whole body seen). Document-end rules fire here. */
void fca_audit_response_end(fca_audit_exchange_t *x, bool complete);
/* Frees the exchange (an exchange freed before its end counts as cut short). */
void fca_audit_exchange_free(fca_audit_exchange_t *x);
/* True when this exchange's body is inspected (so the proxy must not bypass it). */
bool fca_audit_wants_body(const fca_audit_exchange_t *x);

/* End of run: emits the `summary` event (pages seen and tagged, violations by rule and level,
 * a scorecard of checklist items 1-4 per tagged page, FC-TEST-2's test-mode coverage, and a
 * warning when no page was tagged). Call once, after every exchange was freed. */
void fca_audit_finish(fca_audit_t *a);

/* Time passes (call about once a second): pages whose correlation window has ended without
 * their Stripe.js request are settled (the `stripe-js-not-fetched` note) without waiting for
 * the next request. Cheap when no page awaits. */
void fca_audit_tick(fca_audit_t *a, int64_t now_ms);

typedef struct {
  uint64_t exchanges, pages_seen, pages_tagged, violations, notes, bytes_inspected;
} fca_audit_stats_t;
void fca_audit_stats(fca_audit_t *a, fca_audit_stats_t *out);

#endif
