/* admin_int: what the admin's files share (server, stream, pages, CA page). The admin thread
 * owns everything here but `ring` (shared with the sink's worker threads, locked inside) and
 * the atomics; no other thread touches evhttp objects. */
#ifndef FCAUDIT_ADMIN_INT_H
#define FCAUDIT_ADMIN_INT_H

#include <event2/event.h>
#include <event2/http.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "admin_sse.h"
#include "admin_util.h"
#include "fcaudit/admin.h"
#include "fcaudit/ca.h"
#include "fcaudit/eventjson.h"
#include "fcaudit/model.h"

/* Bytes of SSE frames handed to one client at a time (its next batch waits until they are
 * written, so a slow dashboard costs at most this much buffer). */
#ifndef FCA_ADMIN_STREAM_BATCH
#define FCA_ADMIN_STREAM_BATCH (64u * 1024)
#endif
/* Seconds between keep-alive comments on idle streams. */
#ifndef FCA_ADMIN_HEARTBEAT_S
#define FCA_ADMIN_HEARTBEAT_S 15
#endif

/* Live streams at once; more are refused with 503 (each holds a connection and a batch). */
#ifndef FCA_ADMIN_STREAMS_MAX
#define FCA_ADMIN_STREAMS_MAX 64
#endif
/* Seconds a stream may wait for the client to take its bytes before it is dropped. */
#ifndef FCA_ADMIN_WRITE_TIMEOUT_S
#define FCA_ADMIN_WRITE_TIMEOUT_S 60
#endif

typedef struct fca_admin_client fca_admin_client_t;

struct fca_admin {
  fca_admin_opts_t opts;
  char listen_host[64];
  int port;
  struct event_base *base;
  struct evhttp *http;
  pthread_t thread;
  bool thread_started;
  int wake_rd, wake_wr;
  struct event *wake_ev;
  struct event *heartbeat_ev;
  atomic_bool wake_pending;
  atomic_bool stopping;
  atomic_uint_fast64_t requests;
  fca_admin_ring_t *ring;
  fca_model_t *model;
  bool own_model;
  char run[FCA_RUN_ID_SIZE];
  /* the CA, rendered once at start */
  char *ca_pem, *ca_der;
  size_t ca_pem_len, ca_der_len;
  char ca_spki[FCA_CA_SPKI_B64_LEN];
  char ca_sha256[FCA_CA_FP_SHA256_LEN];
  char ca_subject[256];
  char ca_not_after[64];
  /* live /events clients */
  fca_admin_client_t *clients;
  size_t nclients;
  /* /api/report.json as last built, and the model's event count it was built from: calls in
   * between are answered from it (shared, by reference, with every reply still sending it). */
  struct fca_admin_report_cache *report;
  uint64_t report_seq;
};

/* admin.c */
void fca_admin_reply(struct evhttp_request *req, int code, const char *type, const void *body,
                     size_t n);
void fca_admin_reply_text(struct evhttp_request *req, int code, const char *text);

/* stream.c */
void fca_admin_stream_open(fca_admin_t *a, struct evhttp_request *req);
void fca_admin_stream_pump_all(fca_admin_t *a);
void fca_admin_stream_heartbeat(fca_admin_t *a);

/* pages.c: dashboard, assets, metrics, health, report (the text is malloc'd) */
char *fca_admin_report_text(fca_admin_t *a);
void fca_admin_report_cache_free(fca_admin_t *a);
bool fca_admin_pages_route(fca_admin_t *a, struct evhttp_request *req, const char *path);

/* capage.c */
int fca_admin_ca_prepare(fca_admin_t *a, char *err, size_t errlen);
bool fca_admin_ca_route(fca_admin_t *a, struct evhttp_request *req, const char *path);

#endif
