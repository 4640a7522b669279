/* h2: HTTP/2 to the client (RFC 9113) over libnghttp2, each stream an exchange to an HTTP/1.1
 * upstream: pseudo-headers become the request line and Host, cookie crumbs are joined with
 * "; ", connection-specific fields never cross, a body of unknown length goes chunked.
 * Flow control follows the upstream: request DATA is given back to the client's window only as
 * the upstream takes it, and a stream's response is read from the upstream only into the room
 * left in its share of FCA_H2_CONN_BUFFER (what waits for the client's window plus what was
 * read), so memory per stream and per connection stays bounded. A stream past the advertised
 * concurrent-stream limit is refused (RST_STREAM REFUSED_STREAM, retryable). Abuse ends the
 * connection with GOAWAY: rapid resets or refusals (ENHANCE_YOUR_CALM), CONTINUATION floods, bad
 * stream ids (nghttp2); an oversized header list is answered 431 without storing it. nghttp2 is
 * never re-entered from its own callbacks: sending happens only from flush_session, outside them.
 */
#include "h2.h"

#include "conn_int.h"
#include "fcaudit/config.h"
#include "fcaudit/util.h"

#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Where a stream's request is. */
typedef enum {
  RQ_HEADERS, /* header block being received */
  RQ_BODY,    /* body DATA flowing to the upstream */
  RQ_DONE,    /* END_STREAM received */
} h2_req_t;

/* Where a stream's response is. */
typedef enum {
  RS_WAITING,   /* no final head sent yet */
  RS_STREAMING, /* head sent; body bytes queue in `out` */
  RS_ENDED,     /* everything is in `out`: END_STREAM follows it */
  RS_RESET,     /* reset (or to be reset once `out` is sent) */
} h2_resp_t;

typedef struct {
  uint32_t name_off, name_len, value_off, value_len;
} h2_field_t;

typedef struct h2_stream {
  fca_h2_t *h;
  int32_t id;
  fca_exch_t *x; /* NULL once the response ended or failed */
  struct h2_stream *prev, *next;
  h2_req_t rq;
  h2_resp_t rs;
  /* the request head as received */
  char *buf;
  size_t len, cap;
  h2_field_t *f;
  size_t nf, fcap;
  size_t list_size;     /* RFC 9113 §6.5.2 size of the header list */
  bool too_large;       /* over --max-header-size: answered 431, fields not kept */
  bool chunked;         /* the body goes upstream chunked (no content-length) */
  size_t unconsumed;    /* DATA bytes not yet given back to the client's windows */
  struct evbuffer *out; /* response body bytes waiting for the client's window */
  bool deferred;        /* the data provider waits for bytes */
  bool resume;          /* the exchange stopped reading its upstream for room in `out` */
} h2_stream_t;

struct fca_h2 {
  fca_conn_t *c;
  nghttp2_session *s;
  h2_stream_t *streams;
  size_t nstreams;
  bool in_nghttp2;     /* inside nghttp2_session_mem_recv/send: no send from here */
  bool flush_again;    /* flush_session was asked for while it ran */
  bool goaway;         /* GOAWAY submitted (drain or idle) */
  bool resume_pending; /* some stream stopped reading its upstream for room */
  /* Exchanges ask for a flush as their upstreams deliver; the flush runs once after the
   * loop's current batch of events, so responses finishing together share TLS records and
   * write calls instead of one of each per stream. */
  struct event *flush_ev;
  bool flush_scheduled;
  bool dead;       /* the session closed: callbacks do nothing */
  bool advertised; /* our SETTINGS went out (with FCA_H2_MAX_STREAMS) */
  int32_t max_id;  /* the highest stream id the client used */
  int64_t reset_window_start;
  unsigned resets;
};

/* SETTINGS_MAX_CONCURRENT_STREAMS as nghttp2 knows it (fca_h2_new). */
#define H2_NGHTTP2_MAX_STREAMS (FCA_H2_MAX_STREAMS + FCA_H2_RESET_LIMIT + 1)

static void flush_session(fca_h2_t *h);
static void flush_soon(fca_h2_t *h);
static void go_away(fca_h2_t *h);
static const fca_exch_ops_t h2_ops;

static const fca_config_t *hcfg(const fca_h2_t *h) { return h->c->w->shared->cfg; }

/* ---- streams ---- */

static h2_stream_t *stream_new(fca_h2_t *h, int32_t id) {
  h2_stream_t *st = fca_xcalloc(1, sizeof *st);
  st->h = h;
  st->id = id;
  st->out = evbuffer_new();
  if (!st->out) {
    fca_log(FCA_LOG_ERROR, "fcaudit: out of memory (HTTP/2 stream)");
    abort();
  }
  st->next = h->streams;
  if (h->streams) h->streams->prev = st;
  h->streams = st;
  h->nstreams++;
  event_del(h->c->timer); /* not idle */
  return st;
}

static void stream_free(fca_h2_t *h, h2_stream_t *st) {
  fca_exch_free(st->x);
  if (st->prev)
    st->prev->next = st->next;
  else
    h->streams = st->next;
  if (st->next) st->next->prev = st->prev;
  h->nstreams--;
  evbuffer_free(st->out);
  free(st->buf);
  free(st->f);
  free(st);
}

static const char *field_name(const h2_stream_t *st, const h2_field_t *f) {
  return st->buf + f->name_off;
}
static const char *field_value(const h2_stream_t *st, const h2_field_t *f) {
  return st->buf + f->value_off;
}
static bool field_is(const h2_stream_t *st, const h2_field_t *f, const char *name) {
  return f->name_len == strlen(name) && memcmp(field_name(st, f), name, f->name_len) == 0;
}
/* The value of a field (pseudo or not), or NULL. */
static const char *field_get(const h2_stream_t *st, const char *name, size_t *n) {
  for (size_t i = 0; i < st->nf; i++)
    if (field_is(st, &st->f[i], name)) {
      *n = st->f[i].value_len;
      return field_value(st, &st->f[i]);
    }
  return NULL;
}

static void keep_field(h2_stream_t *st, const uint8_t *name, size_t nlen, const uint8_t *value,
                       size_t vlen) {
  if (st->len + nlen + vlen + 2 > st->cap) {
    size_t cap = st->cap ? st->cap * 2 : 1024;
    while (cap < st->len + nlen + vlen + 2) cap *= 2;
    st->buf = fca_xrealloc(st->buf, cap);
    st->cap = cap;
  }
  if (st->nf == st->fcap) {
    st->fcap = st->fcap ? st->fcap * 2 : 16;
    st->f = fca_xrealloc(st->f, st->fcap * sizeof *st->f);
  }
  h2_field_t *f = &st->f[st->nf++];
  f->name_off = (uint32_t)st->len;
  f->name_len = (uint32_t)nlen;
  memcpy(st->buf + st->len, name, nlen);
  st->len += nlen;
  st->buf[st->len++] = '\0';
  f->value_off = (uint32_t)st->len;
  f->value_len = (uint32_t)vlen;
  memcpy(st->buf + st->len, value, vlen);
  st->len += vlen;
  st->buf[st->len++] = '\0';
}

/* ---- answers fcaudit gives itself ---- */

static ssize_t read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length,
                         uint32_t *flags, nghttp2_data_source *src, void *ud);

static nghttp2_data_provider body_provider(h2_stream_t *st) {
  nghttp2_data_provider p = {.source = {.ptr = st}, .read_callback = read_body};
  return p;
}

/* A response with a short text body, or RST_STREAM when a response already started. */
static void answer_error(h2_stream_t *st, int status, const char *msg) {
  fca_h2_t *h = st->h;
  char text[600];
  snprintf(text, sizeof text, "%s", msg);
  fca_conn_note_error(h->c, status, text, sizeof text, st->rs != RS_WAITING);
  msg = text;
  fca_exch_free(st->x);
  st->x = NULL;
  if (st->rs != RS_WAITING) {
    st->rs = RS_RESET;
    nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
    return;
  }
  char code[8], clen[24];
  snprintf(code, sizeof code, "%d", status);
  evbuffer_drain(st->out, evbuffer_get_length(st->out));
  evbuffer_add_printf(st->out, "fcaudit: %s\n", msg);
  snprintf(clen, sizeof clen, "%zu", evbuffer_get_length(st->out));
  nghttp2_nv nv[] = {
      {(uint8_t *)":status", (uint8_t *)code, 7, strlen(code), NGHTTP2_NV_FLAG_NONE},
      {(uint8_t *)"content-type", (uint8_t *)"text/plain; charset=utf-8", 12, 25,
       NGHTTP2_NV_FLAG_NONE},
      {(uint8_t *)"content-length", (uint8_t *)clen, 14, strlen(clen), NGHTTP2_NV_FLAG_NONE},
  };
  st->rs = RS_ENDED;
  nghttp2_data_provider p = body_provider(st);
  nghttp2_submit_response(h->s, st->id, nv, sizeof nv / sizeof *nv, &p);
}

static void reset_stream(h2_stream_t *st, uint32_t code) {
  fca_exch_free(st->x);
  st->x = NULL;
  st->rs = RS_RESET;
  nghttp2_submit_rst_stream(st->h->s, NGHTTP2_FLAG_NONE, st->id, code);
}

/* ---- the request: HTTP/2 fields to an HTTP/1.1 head ---- */

static int method_number(const char *m, size_t n) {
  for (int i = 0; i < 64; i++) {
    const char *name = llhttp_method_name((llhttp_method_t)i);
    if (strlen(name) == n && memcmp(name, m, n) == 0) return i;
  }
  return -1;
}

static bool is_connection_specific(const h2_stream_t *st, const h2_field_t *f) {
  static const char *const names[] = {
      "connection", "keep-alive", "proxy-connection",   "transfer-encoding", "upgrade",
      "te",         "host",       "proxy-authorization"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (field_is(st, f, names[i])) return true;
  return false;
}

/* --anticache: documents and scripts are fetched afresh so the audit sees them (as HTTP/1.1). */
static bool anticache_applies(const h2_stream_t *st) {
  size_t n;
  const char *dest = field_get(st, "sec-fetch-dest", &n);
  if (dest)
    return (n == 8 && strncasecmp(dest, "document", 8) == 0) ||
           (n == 6 && strncasecmp(dest, "iframe", 6) == 0) ||
           (n == 5 && strncasecmp(dest, "frame", 5) == 0) ||
           (n == 6 && strncasecmp(dest, "script", 6) == 0);
  const char *accept = field_get(st, "accept", &n);
  return accept && memmem(accept, n, "text/html", 9) != NULL;
}

/* Whether an :authority names host:port (the port 443 when absent). */
static bool authority_is(const char *a, size_t n, const char *host, int port) {
  fca_target_t t;
  char buf[300];
  if (n >= sizeof buf) return false;
  memcpy(buf, a, n);
  buf[n] = '\0';
  if (fca_http_parse_authority(buf, n, 443, &t) < 0) return false;
  return strcasecmp(t.host, host) == 0 && t.port == port;
}

static void start_request(h2_stream_t *st, bool ended) {
  fca_h2_t *h = st->h;
  fca_conn_t *c = h->c;
  atomic_fetch_add(&c->w->stats->requests, 1);
  st->rq = ended ? RQ_DONE : RQ_BODY;
  if (st->too_large) {
    answer_error(st, 431, "request head is larger than --max-header-size");
    return;
  }
  size_t mlen = 0, plen = 0, alen = 0;
  const char *method = field_get(st, ":method", &mlen);
  const char *path = field_get(st, ":path", &plen);
  const char *authority = field_get(st, ":authority", &alen);
  if (!authority) authority = field_get(st, "host", &alen);
  if (!method || (mlen == 7 && memcmp(method, "CONNECT", 7) == 0)) {
    answer_error(st, 400, "CONNECT is not supported inside an intercepted HTTP/2 connection");
    return;
  }
  if (!path || plen == 0) {
    answer_error(st, 400, "malformed request: no :path");
    return;
  }
  const char *host = c->tun.host;
  int port = c->tun.port;
  if (authority && !authority_is(authority, alen, host, port)) {
    /* The tunnel (and the certificate) are for another host: RFC 9113 9.1.2. */
    answer_error(st, 421, "this connection is for a different host");
    return;
  }
  bool admin = fca_exch_is_admin_host(host);
  if (admin && c->w->shared->admin_port == 0) {
    answer_error(st, 503,
                 "fcaudit's admin pages are off (--admin off); start fcaudit with --admin "
                 "127.0.0.1:8081 to use http://" FCA_ADMIN_HOST "/");
    return;
  }
  int m = method_number(method, mlen);
  fca_exch_t *x = fca_exch_new(c->w, &h2_ops, st, c->client_addr, FCA_EXCH_BODY_DECODED);
  st->x = x;
  fca_exch_prepare(
      x,
      &(fca_exch_target_t){
          .host = host, .port = port, .tls = !admin, .inner = true, .admin = admin, .method = m});
  /* The HTTP/1.1 head for the upstream, and the same fields for the audit. */
  struct evbuffer *out = fca_exch_request_sink(x);
  evbuffer_add_printf(out, "%.*s %.*s HTTP/1.1\r\n", (int)mlen, method, (int)plen, path);
  fca_audit_header_t hdrs[FCA_HTTP_MAX_FIELDS];
  size_t nh = 0;
  char hostport[300];
  bool v6 = strchr(host, ':') != NULL;
  char portpart[8] = "";
  if (port != 443) snprintf(portpart, sizeof portpart, ":%d", port);
  snprintf(hostport, sizeof hostport, "%s%s%s%s", v6 ? "[" : "", host, v6 ? "]" : "", portpart);
  if (authority) {
    evbuffer_add_printf(out, "Host: %.*s\r\n", (int)alen, authority);
    hdrs[nh++] = (fca_audit_header_t){"host", 4, authority, alen};
  }
  static const char *const anticache_drop[] = {"if-none-match", "if-modified-since"};
  bool drop = hcfg(h)->anticache && anticache_applies(st);
  bool has_length = false;
  struct evbuffer *cookies = NULL;
  for (size_t i = 0; i < st->nf; i++) {
    const h2_field_t *f = &st->f[i];
    const char *name = field_name(st, f), *value = field_value(st, f);
    if (name[0] == ':' || is_connection_specific(st, f)) continue;
    if (drop && (field_is(st, f, anticache_drop[0]) || field_is(st, f, anticache_drop[1])))
      continue;
    if (field_is(st, f, "cookie")) { /* crumbs (RFC 9113 §8.2.3) go upstream as one field */
      if (!cookies) {
        cookies = evbuffer_new();
      } else {
        evbuffer_add(cookies, "; ", 2);
      }
      evbuffer_add(cookies, value, f->value_len);
      continue;
    }
    if (field_is(st, f, "content-length")) has_length = true;
    evbuffer_add(out, name, f->name_len);
    evbuffer_add(out, ": ", 2);
    evbuffer_add(out, value, f->value_len);
    evbuffer_add(out, "\r\n", 2);
    if (nh < FCA_HTTP_MAX_FIELDS - 1)
      hdrs[nh++] = (fca_audit_header_t){name, f->name_len, value, f->value_len};
  }
  if (cookies) {
    size_t n = evbuffer_get_length(cookies);
    const char *v = (const char *)evbuffer_pullup(cookies, -1);
    evbuffer_add_printf(out, "Cookie: %.*s\r\n", (int)n, v);
    hdrs[nh++] = (fca_audit_header_t){"cookie", 6, v, n};
  }
  if (!ended && !has_length) {
    st->chunked = true;
    evbuffer_add(out, "Transfer-Encoding: chunked\r\n", 28);
  }
  evbuffer_add(out, "\r\n", 2);
  char *url = fca_xasprintf("https://%s%.*s", hostport, (int)plen, path);
  char mname[32];
  snprintf(mname, sizeof mname, "%.*s", (int)(mlen < sizeof mname ? mlen : sizeof mname - 1),
           method);
  fca_exch_audit_begin(x, &(fca_exch_request_t){.method = mname,
                                                .url = url,
                                                .http_major = 2,
                                                .http_minor = 0,
                                                .headers = hdrs,
                                                .nheaders = nh});
  free(url);
  if (cookies) evbuffer_free(cookies);
  if (ended) fca_exch_request_end(x);
  fca_exch_start(x);
}

/* Request DATA the upstream has taken goes back to the client's windows. */
static void give_back_window(h2_stream_t *st) {
  if (!st->unconsumed) return;
  size_t buffered = st->x ? fca_exch_request_buffered(st->x) : 0;
  if (buffered >= st->unconsumed) return;
  size_t n = st->unconsumed - buffered;
  st->unconsumed -= n;
  nghttp2_session_consume(st->h->s, st->id, n);
}

/* ---- the exchange's ops: the response goes to the client as HTTP/2 ---- */

static void h2_head(void *sess, fca_exch_t *x, const fca_http_head_t *h, const char *raw,
                    size_t len) {
  (void)raw;
  (void)len;
  h2_stream_t *st = sess;
  if (h->status >= 100 && h->status < 200 && h->status != 103) return; /* 100, 101: not sent */
  nghttp2_nv nv[FCA_HTTP_MAX_FIELDS + 1];
  size_t n = 0;
  char code[8];
  snprintf(code, sizeof code, "%d", h->status);
  nv[n++] =
      (nghttp2_nv){(uint8_t *)":status", (uint8_t *)code, 7, strlen(code), NGHTTP2_NV_FLAG_NONE};
  char names[8192];
  size_t used = 0;
  for (size_t i = 0; i < h->nfields && n < sizeof nv / sizeof *nv; i++) {
    const fca_http_field_t *f = &h->fields[i];
    if (fca_http_is_hop_by_hop(h, f) || fca_http_name_eq(h, f, "Transfer-Encoding") ||
        fca_http_name_eq(h, f, "Upgrade"))
      continue;
    /* HTTP/2 field names are lower case. */
    uint8_t *name;
    if (used + f->name_len <= sizeof names) {
      name = (uint8_t *)names + used;
      used += f->name_len;
    } else {
      continue;
    }
    for (size_t k = 0; k < f->name_len; k++) {
      char ch = h->base[f->name_off + k];
      name[k] = (uint8_t)((ch >= 'A' && ch <= 'Z') ? ch + 32 : ch);
    }
    nv[n++] = (nghttp2_nv){name, (uint8_t *)h->base + f->value_off, f->name_len, f->value_len,
                           NGHTTP2_NV_FLAG_NONE};
  }
  if (h->status < 200) {
    nghttp2_submit_headers(st->h->s, NGHTTP2_FLAG_NONE, st->id, NULL, nv, n, NULL);
    return;
  }
  bool body = fca_exch_response_has_body(x);
  st->rs = body ? RS_STREAMING : RS_ENDED;
  nghttp2_data_provider p = body_provider(st);
  nghttp2_submit_response(st->h->s, st->id, nv, n, body ? &p : NULL);
}

static struct evbuffer *h2_sink(void *sess, fca_exch_t *x) {
  (void)x;
  return ((h2_stream_t *)sess)->out;
}

/* Response bytes a stream may queue: the connection's budget shared by its open streams, at
 * least FCA_H2_STREAM_BUFFER and at most --buffer-limit (a lone download streams at full speed;
 * a hundred streams stay within the budget). */
static size_t stream_cap(const fca_h2_t *h) {
  size_t cap = FCA_H2_CONN_BUFFER / (h->nstreams ? h->nstreams : 1);
  size_t hi = (size_t)hcfg(h)->buffer_limit;
  if (cap > hi) cap = hi;
  return cap < FCA_H2_STREAM_BUFFER ? FCA_H2_STREAM_BUFFER : cap;
}

/* The most response bytes one stream held, for /metrics: queued for the client's window plus
 * read from the origin and not yet queued. */
static void note_held(const h2_stream_t *st, fca_exch_t *x) {
  unsigned long long held = evbuffer_get_length(st->out) + fca_exch_response_buffered(x);
  atomic_ullong *peak = &st->h->c->w->stats->h2_stream_peak;
  unsigned long long was = atomic_load_explicit(peak, memory_order_relaxed);
  while (held > was && !atomic_compare_exchange_weak(peak, &was, held)) {
  }
}

static bool h2_sink_full(void *sess, fca_exch_t *x) {
  h2_stream_t *st = sess;
  note_held(st, x);
  if (evbuffer_get_length(st->out) < stream_cap(st->h)) return false;
  st->resume = true;
  st->h->resume_pending = true;
  return true;
}

/* The upstream is read only into this room: a stream holds at most stream_cap() response
 * bytes, read or queued (or --max-header-size while its head is awaited). */
static size_t h2_sink_room(void *sess, fca_exch_t *x) {
  (void)x;
  h2_stream_t *st = sess;
  size_t cap = stream_cap(st->h), held = evbuffer_get_length(st->out);
  return held < cap ? cap - held : 0;
}

static void h2_flush(void *sess, fca_exch_t *x) {
  (void)x;
  h2_stream_t *st = sess;
  if (st->deferred && evbuffer_get_length(st->out) > 0) {
    st->deferred = false;
    nghttp2_session_resume_data(st->h->s, st->id);
  }
  flush_soon(st->h);
}

static void h2_done(void *sess, fca_exch_t *x, bool by_close) {
  (void)x;
  (void)by_close;
  h2_stream_t *st = sess;
  if (st->rs == RS_STREAMING) st->rs = RS_ENDED;
  /* The upstream is idle now: back to the pool for the next stream. */
  fca_exch_free(st->x);
  st->x = NULL;
  if (st->deferred) {
    st->deferred = false;
    nghttp2_session_resume_data(st->h->s, st->id);
  }
  flush_soon(st->h);
}

static void h2_fail(void *sess, fca_exch_t *x, int status, const char *msg) {
  (void)x;
  h2_stream_t *st = sess;
  if (status > 0) {
    answer_error(st, status, msg);
  } else if (status == FCA_EXCH_ABORT_FLUSH && st->rs == RS_STREAMING) {
    /* Deliver what is queued, then reset: the client must see the response was cut. */
    fca_exch_free(st->x);
    st->x = NULL;
    st->rs = RS_RESET;
    if (st->deferred) {
      st->deferred = false;
      nghttp2_session_resume_data(st->h->s, st->id);
    }
  } else {
    reset_stream(st, NGHTTP2_INTERNAL_ERROR);
  }
  flush_soon(st->h);
}

/* HTTP/2 has no tunnels here (no extended CONNECT; upgrade fields never go upstream). */
static void h2_tunnel(void *sess, fca_exch_t *x) {
  (void)x;
  h2_stream_t *st = sess;
  reset_stream(st, NGHTTP2_INTERNAL_ERROR);
  flush_soon(st->h);
}

static void h2_drained(void *sess, fca_exch_t *x) {
  (void)x;
  h2_stream_t *st = sess;
  give_back_window(st);
  flush_soon(st->h);
}

static const fca_exch_ops_t h2_ops = {
    .head = h2_head,
    .sink = h2_sink,
    .sink_full = h2_sink_full,
    .flush = h2_flush,
    .done = h2_done,
    .fail = h2_fail,
    .tunnel = h2_tunnel,
    .tunnel_closed = h2_tunnel,
    .drained = h2_drained,
    .sink_room = h2_sink_room,
};

/* ---- nghttp2 callbacks ---- */

/* fcaudit's SETTINGS frame as the client sees it: nghttp2 was given H2_NGHTTP2_MAX_STREAMS,
 * the client is told FCA_H2_MAX_STREAMS (see fca_h2_new). Length and layout stay as they are. */
static bool advertise_max_streams(const uint8_t *data, size_t len, uint8_t *copy, size_t cap) {
  if (len < 9 || len > cap || data[3] != NGHTTP2_SETTINGS || (data[4] & NGHTTP2_FLAG_ACK) ||
      ((size_t)data[0] << 16 | (size_t)data[1] << 8 | data[2]) + 9 != len)
    return false;
  memcpy(copy, data, len);
  for (size_t i = 9; i + 6 <= len; i += 6)
    if ((copy[i] << 8 | copy[i + 1]) == NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS) {
      uint32_t v = FCA_H2_MAX_STREAMS;
      copy[i + 2] = (uint8_t)(v >> 24), copy[i + 3] = (uint8_t)(v >> 16);
      copy[i + 4] = (uint8_t)(v >> 8), copy[i + 5] = (uint8_t)v;
    }
  return true;
}

static ssize_t on_send(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *ud) {
  (void)s;
  (void)flags;
  fca_h2_t *h = ud;
  struct evbuffer *out = fca_ep_output(h->c->cl.ep);
  if (evbuffer_get_length(out) >= (size_t)hcfg(h)->buffer_limit) return NGHTTP2_ERR_WOULDBLOCK;
  uint8_t settings[9 + 6 * 8];
  if (!h->advertised && advertise_max_streams(data, len, settings, sizeof settings)) {
    h->advertised = true;
    data = settings;
  }
  evbuffer_add(out, data, len);
  return (ssize_t)len;
}

static ssize_t read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length,
                         uint32_t *flags, nghttp2_data_source *src, void *ud) {
  (void)s;
  (void)id;
  (void)buf;
  (void)ud;
  h2_stream_t *st = src->ptr;
  size_t have = evbuffer_get_length(st->out);
  size_t n = have < length ? have : length;
  if (n == 0) {
    if (st->rs == RS_ENDED) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      return 0;
    }
    if (st->rs == RS_RESET) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* RST_STREAM */
    st->deferred = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
  if (st->rs == RS_ENDED && n == have) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return (ssize_t)n;
}

static int on_send_data(nghttp2_session *s, nghttp2_frame *frame, const uint8_t *framehd,
                        size_t length, nghttp2_data_source *src, void *ud) {
  (void)s;
  fca_h2_t *h = ud;
  h2_stream_t *st = src->ptr;
  struct evbuffer *out = fca_ep_output(h->c->cl.ep);
  if (evbuffer_get_length(out) >= (size_t)hcfg(h)->buffer_limit) return NGHTTP2_ERR_WOULDBLOCK;
  evbuffer_add(out, framehd, 9);
  if (frame->data.padlen > 0) return NGHTTP2_ERR_CALLBACK_FAILURE; /* never asked for */
  evbuffer_remove_buffer(st->out, out, length);
  return 0;
}

/* RFC 9113 5.1.1: a new stream's id is greater than every id the client used before (nghttp2
 * ignores a lower one silently; it is a connection error). */
static int on_begin_frame(nghttp2_session *s, const nghttp2_frame_hd *hd, void *ud) {
  fca_h2_t *h = ud;
  if (h->dead || hd->type != NGHTTP2_HEADERS) return 0;
  if (hd->stream_id > h->max_id) {
    h->max_id = hd->stream_id;
    return 0;
  }
  if (!nghttp2_session_find_stream(s, hd->stream_id)) {
    fca_info("%s: HTTP/2 client opened stream %d after stream %d; closing", h->c->client_addr,
             hd->stream_id, h->max_id);
    nghttp2_session_terminate_session(s, NGHTTP2_PROTOCOL_ERROR);
  }
  return 0;
}

static void count_reset(fca_h2_t *h);

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *frame, void *ud) {
  fca_h2_t *h = ud;
  if (h->dead || frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
    return 0;
  if (h->nstreams >= FCA_H2_MAX_STREAMS) {
    /* Past the advertised limit (RFC 9113 5.1.2): a stream error the client may retry, the
     * connection and its other streams go on. The header block is still decoded (HPACK state)
     * but not kept; refusals count with resets against rapid reset. */
    nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_REFUSED_STREAM);
    count_reset(h);
    return 0;
  }
  h2_stream_t *st = stream_new(h, frame->hd.stream_id);
  nghttp2_session_set_stream_user_data(s, frame->hd.stream_id, st);
  return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
                     size_t nlen, const uint8_t *value, size_t vlen, uint8_t flags, void *ud) {
  (void)flags;
  fca_h2_t *h = ud;
  if (h->dead || frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
    return 0; /* trailers are not passed on */
  h2_stream_t *st = nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
  if (!st) return 0;
  /* An HPACK bomb expands a few bytes into a huge list: counted, never stored past the limit. */
  st->list_size += nlen + vlen + 32;
  if (st->list_size > hcfg(h)->max_header_size || st->nf >= FCA_HTTP_MAX_FIELDS) {
    st->too_large = true;
    return 0;
  }
  keep_field(st, name, nlen, value, vlen);
  return 0;
}

static void count_reset(fca_h2_t *h) {
  int64_t now = fca_mono_ms();
  if (now - h->reset_window_start > FCA_H2_RESET_WINDOW_MS) {
    h->reset_window_start = now;
    h->resets = 0;
  }
  if (++h->resets > FCA_H2_RESET_LIMIT) {
    fca_warn("%s: HTTP/2 client reset (or opened past the concurrent-stream limit) more than %d "
             "streams within %d ms (rapid reset); closing",
             h->c->client_addr, FCA_H2_RESET_LIMIT, FCA_H2_RESET_WINDOW_MS);
    nghttp2_session_terminate_session(h->s, NGHTTP2_ENHANCE_YOUR_CALM);
  }
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *frame, void *ud) {
  fca_h2_t *h = ud;
  if (h->dead) return 0;
  if (frame->hd.type == NGHTTP2_RST_STREAM) {
    count_reset(h);
    return 0;
  }
  if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
  h2_stream_t *st = nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
  if (!st) return 0;
  bool end = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    start_request(st, end);
    return 0;
  }
  if (end && st->rq == RQ_BODY) {
    st->rq = RQ_DONE;
    if (st->x) {
      if (st->chunked) evbuffer_add(fca_exch_request_sink(st->x), "0\r\n\r\n", 5);
      fca_exch_request_end(st->x);
      fca_exch_request_flush(st->x);
    }
  }
  return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *ud) {
  (void)flags;
  fca_h2_t *h = ud;
  h2_stream_t *st = h->dead ? NULL : nghttp2_session_get_stream_user_data(s, id);
  if (!st || !st->x || st->rq != RQ_BODY) {
    nghttp2_session_consume(s, id, len); /* nobody takes it: the window is not held */
    return 0;
  }
  fca_exch_request_body_seen(st->x, (const char *)data, len);
  struct evbuffer *sink = fca_exch_request_sink(st->x);
  if (st->chunked) evbuffer_add_printf(sink, "%zx\r\n", len);
  evbuffer_add(sink, data, len);
  if (st->chunked) evbuffer_add(sink, "\r\n", 2);
  st->unconsumed += len;
  fca_exch_request_progress(st->x);
  fca_exch_request_flush(st->x);
  return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t code, void *ud) {
  (void)code;
  fca_h2_t *h = ud;
  h2_stream_t *st = nghttp2_session_get_stream_user_data(s, id);
  if (!st) return 0;
  nghttp2_session_set_stream_user_data(s, id, NULL);
  if (st->unconsumed) nghttp2_session_consume_connection(s, st->unconsumed);
  stream_free(h, st);
  return 0;
}

/* ---- the session ---- */

static void on_flush_ev(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  fca_h2_t *h = arg;
  h->flush_scheduled = false;
  flush_session(h);
}

static void flush_soon(fca_h2_t *h) {
  if (h->dead || h->flush_scheduled) return;
  h->flush_scheduled = true;
  event_active(h->flush_ev, 0, 0);
}

fca_h2_t *fca_h2_new(fca_conn_t *c) {
  fca_h2_t *h = fca_xcalloc(1, sizeof *h);
  h->c = c;
  nghttp2_session_callbacks *cb;
  if (nghttp2_session_callbacks_new(&cb) != 0) {
    free(h);
    return NULL;
  }
  nghttp2_session_callbacks_set_send_callback(cb, on_send);
  nghttp2_session_callbacks_set_send_data_callback(cb, on_send_data);
  nghttp2_session_callbacks_set_on_begin_frame_callback(cb, on_begin_frame);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
  nghttp2_option *opt;
  if (nghttp2_option_new(&opt) != 0) {
    nghttp2_session_callbacks_del(cb);
    free(h);
    return NULL;
  }
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_max_continuations(opt, FCA_H2_MAX_CONTINUATIONS);
  nghttp2_option_set_max_settings(opt, 32);
  int rv = nghttp2_session_server_new2(&h->s, cb, h, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);
  if (rv != 0) {
    free(h);
    return NULL;
  }
  uint64_t hl = hcfg(h)->max_header_size;
  /* nghttp2 treats a stream past its (acknowledged) SETTINGS_MAX_CONCURRENT_STREAMS as a
   * connection error and refuses streams only past a value not yet acknowledged. It is given a
   * higher ceiling than the client is told (on_send writes FCA_H2_MAX_STREAMS into the frame), so
   * on_begin_headers refuses the excess streams one by one; nghttp2's connection error stays
   * only for a client already past the rapid-reset limit. */
  nghttp2_settings_entry iv[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, H2_NGHTTP2_MAX_STREAMS},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, FCA_H2_STREAM_WINDOW},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)(hl > UINT32_MAX ? UINT32_MAX : hl)},
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
  };
  nghttp2_submit_settings(h->s, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof *iv);
  nghttp2_session_set_local_window_size(h->s, NGHTTP2_FLAG_NONE, 0, FCA_H2_CONN_WINDOW);
  h->flush_ev = fca_xcheck(event_new(c->w->base, -1, 0, on_flush_ev, h), "an HTTP/2 event");
  h->reset_window_start = fca_mono_ms();
  if (c->w->draining) go_away(h); /* shutting down: this connection takes no stream */
  return h;
}

/* The session ends: every stream's exchange goes (their upstreams to the pool when idle). */
void fca_h2_close(fca_h2_t *h) {
  h->dead = true;
  for (h2_stream_t *st = h->streams; st; st = st->next) {
    fca_exch_free(st->x);
    st->x = NULL;
  }
}

void fca_h2_free(fca_h2_t *h) {
  if (!h) return;
  fca_h2_close(h);
  nghttp2_session_del(h->s); /* calls no stream-close callback */
  while (h->streams) stream_free(h, h->streams);
  if (h->flush_ev) event_free(h->flush_ev);
  free(h);
}

bool fca_h2_idle(const fca_h2_t *h) { return h->nstreams == 0; }

/* Sends what nghttp2 has queued (as far as the client's output allows), resumes exchanges that
 * waited for room, and ends the session when nghttp2 is done with it. */
static void flush_session(fca_h2_t *h) {
  if (h->dead || h->c->life == LIFE_CLOSED || h->c->life == LIFE_LINGERING) return;
  if (h->in_nghttp2) {
    h->flush_again = true;
    return;
  }
  fca_conn_t *c = h->c;
  h->in_nghttp2 = true;
  do {
    h->flush_again = false;
    int rv = nghttp2_session_send(h->s);
    if (rv != 0) {
      h->in_nghttp2 = false;
      fca_debug("%s: HTTP/2: %s", c->client_addr, nghttp2_strerror(rv));
      fca_conn_close(c);
      return;
    }
    if (h->resume_pending) { /* only when a stream waits for room (not per flush) */
      h->resume_pending = false;
      for (h2_stream_t *st = h->streams; st; st = st->next) {
        if (!st->resume || !st->x) continue;
        if (evbuffer_get_length(st->out) >= stream_cap(h) / 2) {
          h->resume_pending = true; /* still full: look again next time */
          continue;
        }
        st->resume = false;
        fca_exch_resume(st->x);
      }
    }
  } while (h->flush_again && !h->dead);
  h->in_nghttp2 = false;
  if (h->dead || c->life == LIFE_CLOSED) return;
  fca_ep_flush(c->cl.ep);
  if (c->life != LIFE_OPEN) return;
  if (!nghttp2_session_want_read(h->s) && !nghttp2_session_want_write(h->s)) {
    fca_conn_close_after_flush(c);
    return;
  }
  if (h->goaway && h->nstreams == 0) {
    fca_conn_close_after_flush(c);
    return;
  }
  if (h->nstreams == 0 && !event_pending(c->timer, EV_TIMEOUT, NULL))
    fca_conn_arm_timer(c, hcfg(h)->idle_timeout_ms);
  /* The client's bytes wait while its output is full (it is not reading). */
  fca_ep_set_reading(c->cl.ep,
                     evbuffer_get_length(fca_ep_output(c->cl.ep)) < (size_t)hcfg(h)->buffer_limit);
}

void fca_h2_on_read(fca_h2_t *h) {
  fca_conn_t *c = h->c;
  if (h->dead || c->life != LIFE_OPEN) return;
  struct evbuffer *in = fca_ep_input(c->cl.ep);
  h->in_nghttp2 = true;
  while (evbuffer_get_length(in) > 0 && !h->dead) {
    struct evbuffer_iovec v;
    if (evbuffer_peek(in, -1, NULL, &v, 1) < 1) break;
    ssize_t r = nghttp2_session_mem_recv(h->s, v.iov_base, v.iov_len);
    if (r < 0) {
      h->in_nghttp2 = false;
      fca_info("%s: HTTP/2 client sent a bad connection: %s", c->client_addr,
               nghttp2_strerror((int)r));
      /* The client is told why before the close (nghttp2 queued no GOAWAY for these). */
      uint32_t code = (r == NGHTTP2_ERR_FLOODED || r == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS)
                          ? NGHTTP2_ENHANCE_YOUR_CALM
                          : NGHTTP2_PROTOCOL_ERROR;
      nghttp2_session_terminate_session(h->s, code);
      nghttp2_session_send(h->s);
      fca_conn_close_after_flush(c);
      return;
    }
    evbuffer_drain(in, (size_t)r);
  }
  h->in_nghttp2 = false;
  flush_session(h);
}

void fca_h2_on_drain(fca_h2_t *h) { flush_session(h); }

static void go_away(fca_h2_t *h) {
  if (h->goaway) return;
  h->goaway = true;
  nghttp2_submit_goaway(h->s, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(h->s),
                        NGHTTP2_NO_ERROR, NULL, 0);
}

void fca_h2_drain(fca_h2_t *h) {
  go_away(h);
  flush_session(h);
}

void fca_h2_on_timer(fca_h2_t *h) {
  if (h->nstreams > 0) return;
  go_away(h);
  flush_session(h);
  if (h->c->life == LIFE_OPEN) fca_conn_close_after_flush(h->c);
}
