/* audit_capture: test helpers for the audit engine. A capture callback that deep-copies every
 * event (thread-safe), and drivers that feed synthetic exchanges through the facade. Header
 * only (static functions), shared by the audit test files. */
#ifndef FCA_TEST_AUDIT_CAPTURE_H
#define FCA_TEST_AUDIT_CAPTURE_H

#include "fcaudit/audit.h"
#include "fcaudit/event.h"
#include "fcaudit/eventjson.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  fca_event_type_t type;
  char *rule, *message, *note, *client;
  fca_level_t level;
  int item;
  uint64_t count;
  bool has_page;
  uint64_t page_id;
  char *page_url, *tagged_by, *confidence;
  bool top_level;
  bool has_evidence;
  char *ev_source, *ev_name, *ev_value, *ev_url;
  int64_t ev_offset;
  char *fix, *fix_stack, *fix_stack_conf, *fix_stack_text;
  json_t *summary;
} cap_event_t;

typedef struct {
  pthread_mutex_t mu;
  cap_event_t *ev;
  size_t n, cap;
} capture_t;

static __attribute__((unused)) char *cap_dup(const char *s) { return s ? strdup(s) : NULL; }

static __attribute__((unused)) void cap_fn(void *ud, const fca_event_t *e) {
  capture_t *c = ud;
  pthread_mutex_lock(&c->mu);
  if (c->n == c->cap) {
    c->cap = c->cap ? c->cap * 2 : 16;
    c->ev = realloc(c->ev, c->cap * sizeof *c->ev);
  }
  cap_event_t *r = &c->ev[c->n++];
  memset(r, 0, sizeof *r);
  r->type = e->type;
  r->rule = cap_dup(e->rule);
  r->message = cap_dup(e->message);
  r->note = cap_dup(e->note);
  r->client = cap_dup(e->client);
  r->fix = cap_dup(e->fix);
  r->fix_stack = cap_dup(e->fix_stack);
  r->fix_stack_conf = cap_dup(e->fix_stack_confidence);
  r->fix_stack_text = cap_dup(e->fix_stack_text);
  r->level = e->level;
  r->item = e->item;
  r->count = e->count;
  r->has_page = e->has_page;
  if (e->has_page) {
    r->page_id = e->page.id;
    r->page_url = cap_dup(e->page.url);
    r->tagged_by = cap_dup(e->page.tagged_by);
    r->confidence = cap_dup(e->page.confidence);
    r->top_level = e->page.top_level;
  }
  r->has_evidence = e->has_evidence;
  if (e->has_evidence) {
    r->ev_source = cap_dup(e->evidence.source);
    r->ev_name = cap_dup(e->evidence.name);
    r->ev_value = e->evidence.value ? strndup(e->evidence.value, e->evidence.value_len) : NULL;
    r->ev_url = cap_dup(e->evidence.url);
    r->ev_offset = e->evidence.offset;
  }
  if (e->summary) r->summary = fca_summary_to_json(e->summary); /* as the log writes it */
  pthread_mutex_unlock(&c->mu);
}

static __attribute__((unused)) void cap_init(capture_t *c) {
  memset(c, 0, sizeof *c);
  pthread_mutex_init(&c->mu, NULL);
}

static __attribute__((unused)) void cap_clear(capture_t *c) {
  for (size_t i = 0; i < c->n; i++) {
    cap_event_t *r = &c->ev[i];
    free(r->rule);
    free(r->message);
    free(r->note);
    free(r->client);
    free(r->page_url);
    free(r->tagged_by);
    free(r->confidence);
    free(r->ev_source);
    free(r->ev_name);
    free(r->ev_value);
    free(r->ev_url);
    free(r->fix);
    free(r->fix_stack);
    free(r->fix_stack_conf);
    free(r->fix_stack_text);
    if (r->summary) json_decref(r->summary);
  }
  free(c->ev);
  c->ev = NULL;
  c->n = c->cap = 0;
}

static __attribute__((unused)) void cap_free(capture_t *c) {
  cap_clear(c);
  pthread_mutex_destroy(&c->mu);
}

/* Number of events of a type (and rule, when not NULL). */
static __attribute__((unused)) size_t cap_count(const capture_t *c, fca_event_type_t type,
                                                const char *rule) {
  size_t k = 0;
  for (size_t i = 0; i < c->n; i++)
    if (c->ev[i].type == type && (!rule || (c->ev[i].rule && !strcmp(c->ev[i].rule, rule)))) k++;
  return k;
}

/* The first event of a type (and rule), or NULL. */
static __attribute__((unused)) const cap_event_t *
cap_find(const capture_t *c, fca_event_type_t type, const char *rule) {
  for (size_t i = 0; i < c->n; i++)
    if (c->ev[i].type == type && (!rule || (c->ev[i].rule && !strcmp(c->ev[i].rule, rule))))
      return &c->ev[i];
  return NULL;
}

/* The violation rule ids in emission order, space separated (for readable assertions). */
static __attribute__((unused)) char *cap_rules(const capture_t *c) {
  size_t len = 1;
  for (size_t i = 0; i < c->n; i++)
    if (c->ev[i].type == FCA_EV_VIOLATION) len += strlen(c->ev[i].rule) + 1;
  char *s = calloc(1, len);
  for (size_t i = 0; i < c->n; i++)
    if (c->ev[i].type == FCA_EV_VIOLATION) {
      if (*s) strcat(s, " ");
      strcat(s, c->ev[i].rule);
    }
  return s;
}

/* ---- exchange drivers ------------------------------------------------------------------ */

#define XH_MAX 16
typedef struct {
  const char *method; /* default GET */
  const char *url;
  const char *dest;    /* Sec-Fetch-Dest, NULL = absent */
  const char *referer; /* NULL = absent */
  const char *accept;
  const char *client;    /* default 127.0.0.1:50000 */
  const char *client_id; /* default 127.0.0.1 */
  int64_t now_ms;
  int status;               /* default 200 */
  const char *ctype;        /* Content-Type, NULL = absent */
  const char *cenc;         /* Content-Encoding */
  const char *h[XH_MAX][2]; /* more response headers */
  const void *body;
  size_t body_len;      /* 0 with body: strlen */
  size_t chunk;         /* feed in slices of this size (0 = whole) */
  bool incomplete;      /* end with complete = false */
  const char *rh[4][2]; /* more request headers */
  const char *req_body; /* request body (fed whole before the response head) */
} xreq_t;

static __attribute__((unused)) void x_head(fca_audit_exchange_t *x, const xreq_t *r) {
  fca_audit_header_t hs[XH_MAX + 2];
  size_t n = 0;
  if (r->ctype) hs[n++] = (fca_audit_header_t){"Content-Type", 12, r->ctype, strlen(r->ctype)};
  if (r->cenc) hs[n++] = (fca_audit_header_t){"Content-Encoding", 16, r->cenc, strlen(r->cenc)};
  for (size_t i = 0; i < XH_MAX && r->h[i][0]; i++)
    hs[n++] = (fca_audit_header_t){r->h[i][0], strlen(r->h[i][0]), r->h[i][1], strlen(r->h[i][1])};
  fca_audit_response_head(x, r->status ? r->status : 200, hs, n);
}

static __attribute__((unused)) fca_audit_exchange_t *x_begin(fca_audit_t *a, const xreq_t *r) {
  fca_audit_header_t hs[8];
  size_t n = 0;
  for (size_t i = 0; i < 4 && r->rh[i][0]; i++)
    hs[n++] =
        (fca_audit_header_t){r->rh[i][0], strlen(r->rh[i][0]), r->rh[i][1], strlen(r->rh[i][1])};
  if (r->dest) hs[n++] = (fca_audit_header_t){"Sec-Fetch-Dest", 14, r->dest, strlen(r->dest)};
  if (r->referer) hs[n++] = (fca_audit_header_t){"Referer", 7, r->referer, strlen(r->referer)};
  if (r->accept) hs[n++] = (fca_audit_header_t){"Accept", 6, r->accept, strlen(r->accept)};
  fca_audit_request_t req = {.method = r->method ? r->method : "GET",
                             .url = r->url,
                             .headers = hs,
                             .nheaders = n,
                             .client = r->client ? r->client : "127.0.0.1:50000",
                             .client_id = r->client_id ? r->client_id : "127.0.0.1",
                             .now_ms = r->now_ms};
  return fca_audit_begin(a, &req);
}

/* A whole exchange: request, head, body (sliced), end, free. */
static __attribute__((unused)) void x_run(fca_audit_t *a, const xreq_t *r) {
  fca_audit_exchange_t *x = x_begin(a, r);
  if (r->req_body) fca_audit_request_body(x, r->req_body, strlen(r->req_body));
  x_head(x, r);
  size_t len = r->body ? (r->body_len ? r->body_len : strlen(r->body)) : 0;
  const char *b = r->body;
  size_t step = r->chunk ? r->chunk : (len ? len : 1);
  for (size_t o = 0; o < len; o += step)
    fca_audit_response_body(x, b + o, len - o < step ? len - o : step);
  fca_audit_response_end(x, !r->incomplete);
  fca_audit_exchange_free(x);
}

static __attribute__((unused)) fca_audit_t *cap_audit(capture_t *c, const char *env) {
  fca_audit_opts_t o = {.emit = cap_fn, .emit_ud = c, .dedup = true, .env = env};
  return fca_audit_new(&o);
}

#endif
