/* har_writer: the session as a HAR 1.2 file (--har FILE), for any HAR viewer and for
 * `fcaudit audit` to audit again offline with the same result. The proxy's tap gives each
 * exchange's request head, request body, response head, response body slices (as sent, still
 * content-encoded) and end; bodies of HTML, JSON and JavaScript are decoded and kept up to
 * --har-body-max, others are omitted with a `comment`. Entries are appended to FILE.spool as
 * they end (one JSON line each, so a crash keeps them); the writer also subscribes to the event
 * sink and, at close, assembles FILE from the spool, entries in the order their requests
 * started, with each exchange's events (violations, notes, page, pass) attached as
 * `_fcaudit.events`. Thread-safe: workers share one writer. */
#ifndef FCAUDIT_HAR_WRITER_H
#define FCAUDIT_HAR_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fcaudit/audit.h"
#include "fcaudit/event.h"

typedef struct fca_harw fca_harw_t;
typedef struct fca_harw_x fca_harw_x_t;

/* NULL with err when FILE.spool cannot be created. */
fca_harw_t *fca_harw_open(const char *path, uint64_t body_max, char *err, size_t errlen);
/* fca_event_fn for fca_sink_subscribe (userdata = the writer). */
void fca_harw_event_fn(void *w, const fca_event_t *ev);
/* Writes FILE (FILE.tmp, renamed) from the spool and removes the spool. Call once every
 * exchange has ended and the last event was emitted. Returns 0 or -1 (reported on stderr). */
int fca_harw_close(fca_harw_t *w);
void fca_harw_free(fca_harw_t *w);
/* Entries written so far. */
uint64_t fca_harw_entries(fca_harw_t *w);

typedef struct {
  const char *method, *url;
  int http_major, http_minor;
  const fca_audit_header_t *headers;
  size_t nheaders;
  const char *client; /* "127.0.0.1:50312" */
  int64_t now_ms;
} fca_harw_request_t;

/* One exchange; never NULL. */
fca_harw_x_t *fca_harw_begin(fca_harw_t *w, const fca_harw_request_t *req);
void fca_harw_request_body(fca_harw_x_t *x, const void *data, size_t len);
void fca_harw_response_head(fca_harw_x_t *x, int status, const fca_audit_header_t *headers,
                            size_t nheaders);
void fca_harw_response_body(fca_harw_x_t *x, const void *data, size_t len);
/* Appends the entry to the spool and frees x. complete: the whole response was seen. */
void fca_harw_end(fca_harw_x_t *x, bool complete);

#endif
