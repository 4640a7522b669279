/* har_writer: --har FILE (in the audit layer: it decodes bodies with the engine's decoder and
 * classifies them as the engine does; events are written with the log's field names). Invariants:
 * an exchange holds at most body_max decoded bytes of its response (and of its request body); each
 * ended exchange is one line appended to FILE.spool under the lock (so nothing is lost if fcaudit
 * dies, and the spool says how far it got); events are kept (bounded) by the sequence number of the
 * exchange they belong to: the most recent exchange of the event's client for the event's page URL;
 * FILE is assembled at close, one spool line at a time, and renamed into place, so a reader never
 * sees half a HAR. */
#include "fcaudit/har_writer.h"

#include "decode.h"
#include "detect.h"
#include "fcaudit/util.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define RECENT_MAX 4096   /* (client, url) -> exchange, for attaching events */
#define EVENTS_MAX 100000 /* events kept for attachment */

typedef struct {
  char *key; /* client '\n' url */
  uint64_t seq;
} recent_t;

struct fca_harw {
  pthread_mutex_t mu;
  char *path, *spool;
  FILE *f;
  uint64_t body_max;
  uint64_t seq, entries;
  recent_t recent[RECENT_MAX]; /* ring */
  size_t nrecent, next_recent;
  json_t *events; /* object: seq (decimal) -> array of event objects */
  uint64_t nevents, dropped;
  bool closed;
};

typedef struct {
  char *data;
  size_t len, cap;
  uint64_t max;
  bool cut;
} buf_t;

struct fca_harw_x {
  fca_harw_t *w;
  uint64_t seq;
  int64_t start_ms, head_ms;
  json_t *request, *response;
  char *ctype, *req_ctype;
  bool keep; /* the response body is HTML, JSON or JavaScript */
  fca_decode_t *dec;
  buf_t body, req_body;
  uint64_t body_size;
  bool got_head;
};

fca_harw_t *fca_harw_open(const char *path, uint64_t body_max, char *err, size_t errlen) {
  fca_harw_t *w = fca_xcalloc(1, sizeof *w);
  w->path = fca_xstrdup(path);
  w->spool = fca_xasprintf("%s.spool", path);
  w->f = fopen(w->spool, "w");
  if (!w->f) {
    fca_seterr(err, errlen, "--har: cannot write %s: %s", w->spool, strerror(errno));
    free(w->path), free(w->spool), free(w);
    return NULL;
  }
  pthread_mutex_init(&w->mu, NULL);
  w->body_max = body_max;
  w->events = json_object();
  return w;
}

uint64_t fca_harw_entries(fca_harw_t *w) {
  pthread_mutex_lock(&w->mu);
  uint64_t n = w->entries;
  pthread_mutex_unlock(&w->mu);
  return n;
}

static void buf_add(buf_t *b, const void *data, size_t n) {
  if (b->len + n > b->max) {
    n = b->max > b->len ? (size_t)(b->max - b->len) : 0;
    b->cut = true;
  }
  if (!n) return;
  if (b->len + n > b->cap) {
    b->cap = (b->len + n) * 2;
    if (b->cap > b->max) b->cap = (size_t)b->max;
    b->data = fca_xrealloc(b->data, b->cap);
  }
  memcpy(b->data + b->len, data, n);
  b->len += n;
}

/* A JSON string of bytes as seen: UTF-8 as is; other bytes read as Latin-1 (what HTTP header
 * bytes are, and how DevTools shows them), so nothing is dropped and the result is valid JSON. */
static json_t *jstr(const char *s, size_t n) {
  if (!s) return json_null();
  json_t *j = json_stringn(s, n);
  if (j) return j;
  char *u = fca_xmalloc(2 * n + 1);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == 0) {
      u[k++] = ' ';
    } else if (c < 0x80) {
      u[k++] = (char)c;
    } else {
      u[k++] = (char)(0xC0 | (c >> 6));
      u[k++] = (char)(0x80 | (c & 0x3F));
    }
  }
  j = json_stringn(u, k);
  free(u);
  return j;
}

static void iso(int64_t ms, char *out, size_t n) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

static const char *const TYPES[] = {"page", "violation", "pass", "note", "summary"};

/* The event as the NDJSON log names its fields (docs/events.md), without run and time. */
static json_t *event_json(const fca_event_t *ev) {
  json_t *o = json_object();
  json_object_set_new(o, "type", json_string(TYPES[ev->type]));
  if (ev->rule) json_object_set_new(o, "rule", json_string(ev->rule));
  if (ev->type == FCA_EV_VIOLATION) {
    json_object_set_new(o, "level", json_string(fca_level_name(ev->level)));
    json_object_set_new(o, "item", json_integer(ev->item));
  }
  if (ev->note) json_object_set_new(o, "note", json_string(ev->note));
  if (ev->message) json_object_set_new(o, "message", jstr(ev->message, strlen(ev->message)));
  if (ev->fix) json_object_set_new(o, "fix", json_string(ev->fix));
  json_t *pg = json_pack("{s:I,s:o,s:b}", "id", (json_int_t)ev->page.id, "url",
                         jstr(ev->page.url, strlen(ev->page.url)), "top_level", ev->page.top_level);
  if (ev->page.tagged_by) json_object_set_new(pg, "tagged_by", json_string(ev->page.tagged_by));
  if (ev->page.confidence) json_object_set_new(pg, "confidence", json_string(ev->page.confidence));
  json_object_set_new(o, "page", pg);
  if (ev->has_evidence) {
    const fca_event_evidence_t *e = &ev->evidence;
    json_t *ej = json_object();
    if (e->source) json_object_set_new(ej, "source", json_string(e->source));
    if (e->name) json_object_set_new(ej, "name", jstr(e->name, strlen(e->name)));
    json_object_set_new(ej, "value", jstr(e->value, e->value ? e->value_len : 0));
    json_object_set_new(ej, "offset", e->offset >= 0 ? json_integer(e->offset) : json_null());
    if (e->url) json_object_set_new(ej, "url", jstr(e->url, strlen(e->url)));
    json_object_set_new(o, "evidence", ej);
  }
  if (ev->count > 1) json_object_set_new(o, "count", json_integer((json_int_t)ev->count));
  return o;
}

static json_t *headers_json(const fca_audit_header_t *h, size_t n, char **ctype) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) {
    json_array_append_new(a, json_pack("{s:o,s:o}", "name", jstr(h[i].name, h[i].name_len), "value",
                                       jstr(h[i].value, h[i].value_len)));
    if (ctype && !*ctype && h[i].name_len == 12 && strncasecmp(h[i].name, "content-type", 12) == 0)
      *ctype = fca_xstrndup(h[i].value, h[i].value_len);
  }
  return a;
}

fca_harw_x_t *fca_harw_begin(fca_harw_t *w, const fca_harw_request_t *req) {
  fca_harw_x_t *x = fca_xcalloc(1, sizeof *x);
  x->w = w;
  x->start_ms = req->now_ms;
  x->body.max = w->body_max;
  x->req_body.max = w->body_max;
  char ver[16];
  snprintf(ver, sizeof ver, "HTTP/%d.%d", req->http_major, req->http_minor);
  x->request = json_pack("{s:s,s:o,s:s,s:o,s:[],s:[],s:i,s:i}", "method", req->method, "url",
                         jstr(req->url, strlen(req->url)), "httpVersion", ver, "headers",
                         headers_json(req->headers, req->nheaders, &x->req_ctype), "queryString",
                         "cookies", "headersSize", -1, "bodySize", 0);
  pthread_mutex_lock(&w->mu);
  x->seq = ++w->seq;
  recent_t *r = &w->recent[w->next_recent];
  free(r->key);
  r->key = fca_xasprintf("%s\n%s", req->client ? req->client : "", req->url);
  r->seq = x->seq;
  w->next_recent = (w->next_recent + 1) % RECENT_MAX;
  if (w->nrecent < RECENT_MAX) w->nrecent++;
  pthread_mutex_unlock(&w->mu);
  json_object_set_new(x->request, "_client", json_string(req->client ? req->client : ""));
  return x;
}

void fca_harw_request_body(fca_harw_x_t *x, const void *data, size_t len) {
  json_object_set_new(
      x->request, "bodySize",
      json_integer(json_integer_value(json_object_get(x->request, "bodySize")) + (json_int_t)len));
  buf_add(&x->req_body, data, len);
}

static int on_decoded(void *ud, const unsigned char *buf, size_t n) {
  fca_harw_x_t *x = ud;
  buf_add(&x->body, buf, n);
  return x->body.cut ? 1 : 0;
}

void fca_harw_response_head(fca_harw_x_t *x, int status, const fca_audit_header_t *headers,
                            size_t nheaders) {
  if (x->got_head) return;
  x->got_head = true;
  x->head_ms = fca_now_ms();
  char *ce = NULL;
  const char *location = "";
  for (size_t i = 0; i < nheaders; i++) {
    const fca_audit_header_t *h = &headers[i];
    if (h->name_len == 16 && strncasecmp(h->name, "content-encoding", 16) == 0) {
      char *more = ce ? fca_xasprintf("%s,%.*s", ce, (int)h->value_len, h->value)
                      : fca_xstrndup(h->value, h->value_len);
      free(ce);
      ce = more;
    }
  }
  json_t *hs = headers_json(headers, nheaders, &x->ctype);
  size_t i;
  json_t *h;
  json_array_foreach(
      hs, i, h) if (strcasecmp(json_string_value(json_object_get(h, "name")), "location") == 0)
      location = json_string_value(json_object_get(h, "value"));
  x->response = json_pack("{s:i,s:s,s:s,s:o,s:[],s:s,s:i,s:i}", "status", status, "statusText", "",
                          "httpVersion", "HTTP/1.1", "headers", hs, "cookies", "redirectURL",
                          location, "headersSize", -1, "bodySize", 0);
  const char *ct = x->ctype ? x->ctype : "";
  size_t cl = strlen(ct);
  x->keep =
      fca_detect_ctype_html(ct, cl) || fca_detect_ctype_json(ct, cl) || fca_detect_ctype_js(ct, cl);
  if (x->keep) x->dec = fca_decode_new(ce, (size_t)x->w->body_max + 1, on_decoded, x);
  free(ce);
}

void fca_harw_response_body(fca_harw_x_t *x, const void *data, size_t len) {
  x->body_size += len;
  if (x->dec) fca_decode_feed(x->dec, data, len);
}

/* content.text: UTF-8 text as is, anything else base64. */
static void set_text(json_t *obj, const buf_t *b) {
  json_t *t = json_stringn(b->data ? b->data : "", b->len);
  if (t) {
    json_object_set_new(obj, "text", t);
    return;
  }
  static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t n = b->len, o = 0;
  char *s = fca_xmalloc(4 * ((n + 2) / 3) + 1);
  const unsigned char *d = (const unsigned char *)b->data;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0) |
                 (i + 2 < n ? d[i + 2] : 0);
    s[o++] = tbl[v >> 18 & 63];
    s[o++] = tbl[v >> 12 & 63];
    s[o++] = i + 1 < n ? tbl[v >> 6 & 63] : '=';
    s[o++] = i + 2 < n ? tbl[v & 63] : '=';
  }
  s[o] = '\0';
  json_object_set_new(obj, "text", json_string(s));
  json_object_set_new(obj, "encoding", json_string("base64"));
  free(s);
}

void fca_harw_end(fca_harw_x_t *x, bool complete) {
  fca_harw_t *w = x->w;
  int64_t end = fca_now_ms();
  char ts[96];
  iso(x->start_ms, ts, sizeof ts);
  if (x->req_body.len || x->req_body.cut) {
    const char *rct = x->req_ctype ? x->req_ctype : "";
    json_t *pd = json_pack("{s:o}", "mimeType", jstr(rct, strlen(rct)));
    set_text(pd, &x->req_body);
    if (x->req_body.cut)
      json_object_set_new(pd, "comment", json_string("request body over --har-body-max: cut"));
    json_object_set_new(x->request, "postData", pd);
  }
  json_t *fx = json_pack("{s:O}", "client", json_object_get(x->request, "_client"));
  json_object_del(x->request, "_client");
  json_t *resp = x->response;
  if (!resp) /* no response: HAR viewers show status 0 as a failed request */
    resp = json_pack("{s:i,s:s,s:s,s:[],s:[],s:s,s:i,s:i}", "status", 0, "statusText", "",
                     "httpVersion", "", "headers", "cookies", "redirectURL", "", "headersSize", -1,
                     "bodySize", -1);
  json_object_set_new(resp, "bodySize", json_integer((json_int_t)x->body_size));
  const char *ct = x->ctype ? x->ctype : "";
  json_t *content =
      json_pack("{s:I,s:o}", "size", (json_int_t)x->body_size, "mimeType", jstr(ct, strlen(ct)));
  if (x->dec) {
    fca_decode_finish(x->dec);
    fca_decode_state_t st = fca_decode_state(x->dec);
    bool cut = x->body.cut || st == FCA_DECODE_CAPPED || st == FCA_DECODE_STOPPED;
    json_object_set_new(content, "size", json_integer((json_int_t)fca_decode_bytes_out(x->dec)));
    if (st == FCA_DECODE_CORRUPT || st == FCA_DECODE_UNSUPPORTED) {
      json_object_set_new(content, "comment",
                          json_string("body omitted: its content encoding could not be decoded"));
    } else {
      set_text(content, &x->body);
      if (cut) {
        json_object_set_new(content, "comment",
                            json_string("body over --har-body-max: only its start is kept"));
        json_object_set_new(fx, "body_cut", json_true());
      }
    }
  } else if (x->response && x->body_size) {
    json_object_set_new(content, "comment",
                        json_string("body omitted: fcaudit keeps HTML, JSON and JavaScript"));
  }
  if (!complete) json_object_set_new(fx, "incomplete", json_true());
  json_object_set_new(resp, "content", content);
  int64_t wait = x->head_ms ? x->head_ms - x->start_ms : end - x->start_ms;
  int64_t recv = x->head_ms ? end - x->head_ms : 0;
  json_t *e = json_pack("{s:s,s:I,s:O,s:o,s:{},s:{s:i,s:I,s:I},s:o}", "startedDateTime", ts, "time",
                        (json_int_t)(end - x->start_ms), "request", x->request, "response", resp,
                        "cache", "timings", "send", 0, "wait", (json_int_t)wait, "receive",
                        (json_int_t)recv, "_fcaudit", fx);
  char *line = json_dumps(e, JSON_COMPACT);
  json_decref(e);
  pthread_mutex_lock(&w->mu);
  if (!w->closed && line) {
    fprintf(w->f, "%llu\t", (unsigned long long)x->seq);
    fputs(line, w->f);
    fputc('\n', w->f);
    fflush(w->f);
    w->entries++;
  }
  pthread_mutex_unlock(&w->mu);
  free(line);
  json_decref(x->request);
  fca_decode_free(x->dec);
  free(x->body.data);
  free(x->req_body.data);
  free(x->ctype);
  free(x->req_ctype);
  free(x);
}

void fca_harw_event_fn(void *ud, const fca_event_t *ev) {
  fca_harw_t *w = ud;
  if (!ev->has_page || !ev->page.url || ev->type == FCA_EV_SUMMARY) return;
  char *key = fca_xasprintf("%s\n%s", ev->client ? ev->client : "", ev->page.url);
  json_t *j = event_json(ev);
  pthread_mutex_lock(&w->mu);
  uint64_t seq = 0;
  for (size_t k = 0; k < w->nrecent && !seq; k++) { /* newest first */
    size_t i = (w->next_recent + RECENT_MAX - 1 - k) % RECENT_MAX;
    if (w->recent[i].key && strcmp(w->recent[i].key, key) == 0) seq = w->recent[i].seq;
  }
  if (seq && w->nevents < EVENTS_MAX && !w->closed) {
    char sk[24];
    snprintf(sk, sizeof sk, "%llu", (unsigned long long)seq);
    json_t *arr = json_object_get(w->events, sk);
    if (!arr) json_object_set_new(w->events, sk, arr = json_array());
    json_array_append(arr, j);
    w->nevents++;
  } else if (seq) {
    w->dropped++;
  }
  pthread_mutex_unlock(&w->mu);
  json_decref(j);
  free(key);
}

typedef struct {
  uint64_t seq;
  long off;
} spooled_t;

static int by_seq(const void *a, const void *b) {
  uint64_t x = ((const spooled_t *)a)->seq, y = ((const spooled_t *)b)->seq;
  return x < y ? -1 : x > y;
}

int fca_harw_close(fca_harw_t *w) {
  pthread_mutex_lock(&w->mu);
  if (w->closed) {
    pthread_mutex_unlock(&w->mu);
    return 0;
  }
  w->closed = true;
  pthread_mutex_unlock(&w->mu);
  fclose(w->f);
  w->f = NULL;
  char *tmp = fca_xasprintf("%s.tmp", w->path);
  FILE *in = fopen(w->spool, "r"), *out = fopen(tmp, "w");
  int rc = 0;
  if (!in || !out) {
    fca_err("--har: cannot write %s: %s (the entries are in %s)", tmp, strerror(errno), w->spool);
    rc = -1;
    goto done;
  }
  fprintf(out,
          "{\"log\":{\"version\":\"1.2\",\"creator\":{\"name\":\"fcaudit\",\"version\":\"%s\"},"
          "\"pages\":[],\"entries\":[\n",
          FCA_VERSION);
  /* entries in the order their requests started (the spool has them in the order they
   * ended): an index of (seq, offset), sorted, then each line read where it is */
  spooled_t *idx = NULL;
  size_t nidx = 0, capidx = 0;
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  for (long off = ftell(in); (n = getline(&line, &cap, in)) > 0; off = ftell(in)) {
    if (nidx == capidx) {
      capidx = capidx ? capidx * 2 : 256;
      idx = fca_xrealloc(idx, capidx * sizeof *idx);
    }
    idx[nidx++] = (spooled_t){strtoull(line, NULL, 10), off};
  }
  qsort(idx, nidx, sizeof *idx, by_seq);
  bool first = true;
  for (size_t k = 0; k < nidx; k++) {
    if (fseek(in, idx[k].off, SEEK_SET) != 0 || (n = getline(&line, &cap, in)) <= 0) continue;
    char *tab = memchr(line, '\t', (size_t)n);
    json_t *e = tab ? json_loadb(tab + 1, (size_t)(n - (tab + 1 - line)), 0, NULL) : NULL;
    if (!e) continue;
    char sk[24];
    snprintf(sk, sizeof sk, "%llu", (unsigned long long)idx[k].seq);
    json_t *evs = json_object_get(w->events, sk);
    json_object_set_new(json_object_get(e, "_fcaudit"), "events",
                        evs ? json_incref(evs) : json_array());
    char *s = json_dumps(e, JSON_COMPACT);
    json_decref(e);
    if (!s) continue;
    fputs(first ? "" : ",\n", out);
    fputs(s, out);
    free(s);
    first = false;
  }
  free(idx);
  free(line);
  fputs("\n]}}\n", out);
  if (ferror(out) || fclose(out) != 0) {
    out = NULL;
    fca_err("--har: cannot write %s (the entries are in %s)", tmp, w->spool);
    rc = -1;
    goto done;
  }
  out = NULL;
  if (rename(tmp, w->path) != 0) {
    fca_err("--har: cannot rename %s to %s: %s", tmp, w->path, strerror(errno));
    rc = -1;
    goto done;
  }
  unlink(w->spool);
  if (w->dropped)
    fca_warn("--har: %llu event(s) not attached to their entries (over %d)",
             (unsigned long long)w->dropped, EVENTS_MAX);
  fca_info("wrote the HAR (%llu entries) to %s", (unsigned long long)w->entries, w->path);
done:
  if (in) fclose(in);
  if (out) fclose(out);
  free(tmp);
  return rc;
}

void fca_harw_free(fca_harw_t *w) {
  if (!w) return;
  if (w->f) fclose(w->f);
  for (size_t i = 0; i < RECENT_MAX; i++) free(w->recent[i].key);
  json_decref(w->events);
  pthread_mutex_destroy(&w->mu);
  free(w->path);
  free(w->spool);
  free(w);
}
