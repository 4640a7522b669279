/* origin: fca-test-origin, the scriptable HTTP/1.1 (and HTTPS) origin that integration tests talk
 * to. Single-threaded on libevent; each connection drives its own socket (plain, or TLS through
 * OpenSSL directly: this build does not link bufferevent_openssl). Requests are parsed by llhttp
 * one at a time: parsing pauses at the end of each head and each message, so the raw head is
 * known byte for byte and pipelined requests wait in the input buffer until the response before
 * them is fully queued. Large bodies are generated from the write path as the socket drains,
 * never buffered whole. The endpoints are listed in usage() below. */
#include "pattern.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <inttypes.h>
#include <limits.h>
#include <llhttp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEAD_MAX (1024 * 1024)      /* a longer request head gets 431 */
#define BODY_KEEP_MAX (1024 * 1024) /* /echo keeps this much of a request body */
#define OUT_HIGH (1024 * 1024)      /* generators fill output up to this ... */
#define OUT_LOW (256 * 1024)        /* ... whenever it drains below this */
#define IN_MAX (4 * 1024 * 1024)    /* stop reading while this much input waits */
#define BLOCK 65536
#define RATE_TICK_MS 20
#define LINGER_MS 2000

static const char usage_text[] =
    "usage: fca-test-origin [--port N] [--ipv6] [--tls CERT KEY] [--root DIR]\n"
    "                       [--port-file FILE] [--verbose]\n"
    "Listens on 127.0.0.1 (and [::1] with --ipv6) on one port (0: any free one, written to\n"
    "--port-file atomically). Every response carries X-Origin: fca-test-origin. Endpoints:\n"
    "  /echo                 200, body: summary lines (method, target, version, body-length,\n"
    "                        body-chunked, trailer...), an empty line, the raw request head\n"
    "                        exactly as received, then the (de-chunked) body, first 1 MiB\n"
    "  /size/N               N bytes, byte i = (i*31+7)&0xff, Content-Length;\n"
    "                        ?chunked=1 chunked, ?close=1 close-delimited,\n"
    "                        ?rate=BYTES_PER_SEC rate-limited (options combine)\n"
    "  /chunked-trailers     chunked body 'hello world' then trailer X-Trailer: yes\n"
    "  /status/CODE          that status (200..599; 204 and 304 without body)\n"
    "  /continue             reads the body (100 Continue first when expected), 'received N'\n"
    "  /continue?final=CODE  answers CODE at once without reading the body, then closes\n"
    "  /garbage              writes bytes that are not HTTP and closes\n"
    "  /hang                 never answers\n"
    "  /stall                never answers and stops reading (the request body backs up)\n"
    "  /hang-body            Content-Length: 100, sends 10 bytes, then never more\n"
    "  /partial              Content-Length: 100, sends 10 bytes, then closes\n"
    "  /delay/MS             200 after MS milliseconds\n"
    "  /close                200 with Connection: close, then closes\n"
    "  /ws                   WebSocket handshake (101), then echoes raw bytes\n"
    "  /files/PATH           the file --root/PATH; headers from PATH.headers if present\n"
    "                        (raw lines; 'Status: N' sets the status)\n"
    "Any path with HEAD: the GET headers, no body. Anything else: 404.\n";

static unsigned char pattern_block[BLOCK + 256];

typedef struct {
  char *p;
  size_t n, cap;
} sbuf_t;

typedef struct {
  char *name, *value;
} hdr_t;

typedef struct {
  hdr_t *v;
  size_t n, cap;
} hdrs_t;

typedef enum { ST_HTTP, ST_WS, ST_HANG, ST_STALL, ST_CLOSING } state_t;

typedef struct server server_t;
typedef struct conn conn_t;

struct server {
  struct event_base *base;
  SSL_CTX *ssl_ctx;
  const char *root;
  bool verbose;
  conn_t *conns;
};

struct conn {
  server_t *srv;
  conn_t *prev, *next;
  evutil_socket_t fd;
  SSL *ssl;
  struct event *rev, *wev, *timer;
  struct evbuffer *in, *out;
  int ssl_write_len; /* length of an SSL_write that must be retried, or 0 */
  bool peer_eof, dead, shut_wr;
  state_t st;
  llhttp_t parser;
  /* the request being read */
  bool head_phase, headers_done, head_handled, msg_done, upgraded;
  struct evbuffer *head, *body;
  uint64_t body_len;
  sbuf_t url, field, value;
  hdrs_t hdrs, trailers;
  bool busy;       /* a response is in progress: parsing waits */
  bool keep_alive; /* decided by the request, cleared by close-style responses */
  bool is_head;
  char *path, *query;
  /* generator for /size */
  bool gen, gen_chunked;
  uint64_t gen_total, gen_sent, rate, budget;
  /* /delay */
  bool delay_pending;
};

/* ---- small helpers ---- */

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) {
    fprintf(stderr, "fca-test-origin: out of memory\n");
    abort();
  }
  return q;
}

static char *xstrndup(const char *s, size_t n) {
  char *d = xrealloc(NULL, n + 1);
  memcpy(d, s, n);
  d[n] = 0;
  return d;
}

static void sbuf_add(sbuf_t *b, const char *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    b->cap = (b->n + n + 1) * 2;
    b->p = xrealloc(b->p, b->cap);
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}

static const char *sbuf_str(sbuf_t *b) { return b->p ? b->p : ""; }

static void hdrs_clear(hdrs_t *h) {
  for (size_t i = 0; i < h->n; i++) {
    free(h->v[i].name);
    free(h->v[i].value);
  }
  h->n = 0;
}

static void hdrs_push(hdrs_t *h, const char *name, const char *value) {
  if (h->n == h->cap) {
    h->cap = h->cap ? h->cap * 2 : 16;
    h->v = xrealloc(h->v, h->cap * sizeof *h->v);
  }
  h->v[h->n].name = xstrndup(name, strlen(name));
  h->v[h->n].value = xstrndup(value, strlen(value));
  h->n++;
}

static const char *hdr_get(const hdrs_t *h, const char *name) {
  for (size_t i = 0; i < h->n; i++)
    if (strcasecmp(h->v[i].name, name) == 0) return h->v[i].value;
  return NULL;
}

/* Case-insensitive search for a token in a comma-separated header value. */
static bool hdr_has_token(const hdrs_t *h, const char *name, const char *token) {
  size_t tl = strlen(token);
  for (size_t i = 0; i < h->n; i++) {
    if (strcasecmp(h->v[i].name, name) != 0) continue;
    const char *s = h->v[i].value;
    while (*s) {
      while (*s == ' ' || *s == '\t' || *s == ',') s++;
      const char *e = s;
      while (*e && *e != ',') e++;
      const char *t = e;
      while (t > s && (t[-1] == ' ' || t[-1] == '\t')) t--;
      if ((size_t)(t - s) == tl && strncasecmp(s, token, tl) == 0) return true;
      s = e;
    }
  }
  return false;
}

/* Value of key in a query string "a=1&b=2" (copied into out), or false. */
static bool query_get(const char *query, const char *key, char *out, size_t outlen) {
  if (!query) return false;
  size_t kl = strlen(key);
  const char *s = query;
  while (*s) {
    const char *e = strchr(s, '&');
    if (!e) e = s + strlen(s);
    if ((size_t)(e - s) >= kl && strncmp(s, key, kl) == 0 && (s[kl] == '=' || s + kl == e)) {
      const char *v = s[kl] == '=' ? s + kl + 1 : e;
      size_t n = (size_t)(e - v);
      if (n >= outlen) n = outlen - 1;
      memcpy(out, v, n);
      out[n] = 0;
      return true;
    }
    s = *e ? e + 1 : e;
  }
  return false;
}

static bool parse_u64(const char *s, uint64_t *out) {
  if (!s || !*s) return false;
  uint64_t v = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return false;
    if (v > (UINT64_MAX - 9) / 10) return false;
    v = v * 10 + (uint64_t)(*s - '0');
  }
  *out = v;
  return true;
}

static const char *reason(int code) {
  switch (code) {
  case 100: return "Continue";
  case 101: return "Switching Protocols";
  case 200: return "OK";
  case 201: return "Created";
  case 204: return "No Content";
  case 206: return "Partial Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 304: return "Not Modified";
  case 400: return "Bad Request";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 417: return "Expectation Failed";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  default: return "Status";
  }
}

/* ---- connection lifetime ---- */

static void conn_free(conn_t *c) {
  if (c->prev)
    c->prev->next = c->next;
  else
    c->srv->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  event_free(c->rev);
  event_free(c->wev);
  event_free(c->timer);
  if (c->ssl) SSL_free(c->ssl);
  evutil_closesocket(c->fd);
  evbuffer_free(c->in);
  evbuffer_free(c->out);
  evbuffer_free(c->head);
  evbuffer_free(c->body);
  free(c->url.p);
  free(c->field.p);
  free(c->value.p);
  hdrs_clear(&c->hdrs);
  hdrs_clear(&c->trailers);
  free(c->hdrs.v);
  free(c->trailers.v);
  free(c->path);
  free(c->query);
  free(c);
}

static void timer_ms(conn_t *c, long ms) {
  struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
  evtimer_add(c->timer, &tv);
}

/* Stop serving: the queued output is still written, then the connection closes (after a
 * lingering read so that unread request bytes do not turn the close into a reset). */
static void conn_close_after_flush(conn_t *c) {
  c->st = ST_CLOSING;
  c->gen = false;
  evtimer_del(c->timer);
}

static void request_reset(conn_t *c) {
  c->head_phase = true;
  c->headers_done = c->head_handled = c->msg_done = false;
  evbuffer_drain(c->head, evbuffer_get_length(c->head));
  evbuffer_drain(c->body, evbuffer_get_length(c->body));
  c->body_len = 0;
  c->url.n = c->field.n = c->value.n = 0;
  hdrs_clear(&c->hdrs);
  hdrs_clear(&c->trailers);
  free(c->path);
  free(c->query);
  c->path = c->query = NULL;
  if (c->upgraded) {
    llhttp_resume_after_upgrade(&c->parser);
    c->upgraded = false;
  }
}

/* The response in progress is fully queued. */
static void response_done(conn_t *c) {
  c->gen = false;
  if (!c->keep_alive) {
    conn_close_after_flush(c);
    return;
  }
  request_reset(c);
  c->busy = false;
}

/* ---- responses ---- */

static const char *method_name(conn_t *c) {
  return llhttp_method_name((llhttp_method_t)llhttp_get_method(&c->parser));
}

static void resp_head(conn_t *c, int code, const char *extra, int64_t clen, bool chunked) {
  struct evbuffer *o = c->out;
  evbuffer_add_printf(o, "HTTP/1.1 %d %s\r\nX-Origin: fca-test-origin\r\n", code, reason(code));
  if (extra) evbuffer_add(o, extra, strlen(extra));
  if (chunked)
    evbuffer_add_printf(o, "Transfer-Encoding: chunked\r\n");
  else if (clen >= 0)
    evbuffer_add_printf(o, "Content-Length: %" PRId64 "\r\n", clen);
  if (!c->keep_alive) evbuffer_add_printf(o, "Connection: close\r\n");
  evbuffer_add(o, "\r\n", 2);
  if (c->srv->verbose)
    fprintf(stderr, "fca-test-origin: %s %s -> %d\n", method_name(c), sbuf_str(&c->url), code);
}

/* A complete response with a small body; ends the exchange. */
static void respond(conn_t *c, int code, const char *extra, const char *body) {
  size_t n = body ? strlen(body) : 0;
  bool bodiless = code == 204 || code == 304;
  resp_head(c, code, extra, bodiless ? -1 : (int64_t)n, false);
  if (!c->is_head && !bodiless) evbuffer_add(c->out, body, n);
  response_done(c);
}

static void respond_error_close(conn_t *c, int code, const char *why) {
  c->keep_alive = false;
  char body[300];
  snprintf(body, sizeof body, "%d %s: %s\n", code, reason(code), why);
  c->is_head = false;
  resp_head(c, code, "Content-Type: text/plain\r\n", (int64_t)strlen(body), false);
  evbuffer_add(c->out, body, strlen(body));
  conn_close_after_flush(c);
}

/* Adds up to the budget of /size body; returns true when it added bytes or finished. */
static bool gen_fill(conn_t *c) {
  bool did = false;
  while (c->gen && evbuffer_get_length(c->out) < OUT_HIGH) {
    uint64_t left = c->gen_total - c->gen_sent;
    if (left == 0) {
      if (c->gen_chunked) evbuffer_add(c->out, "0\r\n\r\n", 5);
      response_done(c);
      return true;
    }
    uint64_t n = left < BLOCK ? left : BLOCK;
    if (c->rate) {
      if (c->budget == 0) break;
      if (n > c->budget) n = c->budget;
      c->budget -= n;
    }
    if (c->gen_chunked) evbuffer_add_printf(c->out, "%" PRIx64 "\r\n", n);
    evbuffer_add_reference(c->out, pattern_block + (c->gen_sent % 256), (size_t)n, NULL, NULL);
    if (c->gen_chunked) evbuffer_add(c->out, "\r\n", 2);
    c->gen_sent += n;
    did = true;
  }
  return did;
}

static void h_size(conn_t *c, const char *arg) {
  uint64_t n;
  char v[64];
  if (!parse_u64(arg, &n)) {
    respond(c, 400, NULL, "bad size\n");
    return;
  }
  bool chunked = query_get(c->query, "chunked", v, sizeof v) && strcmp(v, "0") != 0;
  bool close_delim = query_get(c->query, "close", v, sizeof v) && strcmp(v, "0") != 0;
  uint64_t rate = 0;
  if (query_get(c->query, "rate", v, sizeof v) && !parse_u64(v, &rate)) {
    respond(c, 400, NULL, "bad rate\n");
    return;
  }
  if (close_delim) c->keep_alive = false;
  resp_head(c, 200, "Content-Type: application/octet-stream\r\n",
            close_delim || chunked ? -1 : (int64_t)n, chunked && !close_delim);
  if (c->is_head) {
    response_done(c);
    return;
  }
  c->gen = true;
  c->gen_chunked = chunked && !close_delim;
  c->gen_total = n;
  c->gen_sent = 0;
  c->rate = rate;
  c->budget = rate ? (rate / (1000 / RATE_TICK_MS) ? rate / (1000 / RATE_TICK_MS) : 1) : 0;
  if (rate) timer_ms(c, RATE_TICK_MS);
  gen_fill(c);
}

static void h_echo(conn_t *c) {
  struct evbuffer *b = evbuffer_new();
  const char *te = hdr_get(&c->hdrs, "Transfer-Encoding");
  evbuffer_add_printf(b, "method: %s\ntarget: %s\nversion: HTTP/%d.%d\n", method_name(c),
                      sbuf_str(&c->url), llhttp_get_http_major(&c->parser),
                      llhttp_get_http_minor(&c->parser));
  evbuffer_add_printf(b, "body-length: %" PRIu64 "\nbody-chunked: %s\n", c->body_len,
                      te && strcasestr(te, "chunked") ? "yes" : "no");
  for (size_t i = 0; i < c->trailers.n; i++)
    evbuffer_add_printf(b, "trailer: %s: %s\n", c->trailers.v[i].name, c->trailers.v[i].value);
  if (c->body_len > BODY_KEEP_MAX) evbuffer_add_printf(b, "body-truncated: yes\n");
  evbuffer_add(b, "\n", 1);
  evbuffer_add_buffer(b, c->head);
  evbuffer_add_buffer(b, c->body);
  resp_head(c, 200, "Content-Type: text/plain\r\n", (int64_t)evbuffer_get_length(b), false);
  if (!c->is_head) evbuffer_add_buffer(c->out, b);
  evbuffer_free(b);
  response_done(c);
}

static void h_status(conn_t *c, const char *arg) {
  uint64_t code;
  if (!parse_u64(arg, &code) || code < 200 || code > 599) {
    respond(c, 400, NULL, "status must be 200..599\n");
    return;
  }
  char body[64];
  snprintf(body, sizeof body, "status %d\n", (int)code);
  respond(c, (int)code, "Content-Type: text/plain\r\n", body);
}

static void h_ws(conn_t *c) {
  const char *key = hdr_get(&c->hdrs, "Sec-WebSocket-Key");
  if (!key || !hdr_has_token(&c->hdrs, "Upgrade", "websocket") ||
      !hdr_has_token(&c->hdrs, "Connection", "upgrade") || !c->upgraded) {
    respond(c, 400, NULL, "not a WebSocket upgrade\n");
    return;
  }
  char cat[512];
  snprintf(cat, sizeof cat, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
  unsigned char sha[EVP_MAX_MD_SIZE];
  unsigned int shalen = 0;
  EVP_Digest(cat, strlen(cat), sha, &shalen, EVP_sha1(), NULL);
  unsigned char acc[64];
  EVP_EncodeBlock(acc, sha, (int)shalen);
  char extra[256];
  snprintf(extra, sizeof extra,
           "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n", acc);
  resp_head(c, 101, extra, -1, false);
  c->st = ST_WS; /* the rest of the input, and everything after, is echoed */
}

static void h_files(conn_t *c, const char *rel) {
  const char *root = c->srv->root;
  if (!root || !*rel || rel[0] == '/' || strstr(rel, "..")) {
    respond(c, 404, NULL, "no such file\n");
    return;
  }
  char *full = NULL, *side = NULL;
  if (asprintf(&full, "%s/%s", root, rel) < 0 || asprintf(&side, "%s.headers", full) < 0) abort();
  struct stat st;
  FILE *f = stat(full, &st) == 0 && S_ISREG(st.st_mode) ? fopen(full, "rb") : NULL;
  if (!f) {
    free(full);
    free(side);
    respond(c, 404, NULL, "no such file\n");
    return;
  }
  struct evbuffer *b = evbuffer_new();
  char buf[16384];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) evbuffer_add(b, buf, n);
  fclose(f);
  sbuf_t extra = {0};
  int code = 200;
  bool has_len = false, has_type = false, has_te = false;
  FILE *hf = fopen(side, "r");
  if (hf) {
    char line[8192];
    while (fgets(line, sizeof line, hf)) {
      size_t l = strcspn(line, "\r\n");
      line[l] = 0;
      if (l == 0) continue;
      if (strncasecmp(line, "Status:", 7) == 0) {
        code = atoi(line + 7);
        continue;
      }
      if (strncasecmp(line, "Content-Length:", 15) == 0) has_len = true;
      if (strncasecmp(line, "Content-Type:", 13) == 0) has_type = true;
      if (strncasecmp(line, "Transfer-Encoding:", 18) == 0) has_te = true;
      sbuf_add(&extra, line, l);
      sbuf_add(&extra, "\r\n", 2);
    }
    fclose(hf);
  }
  if (!has_type) {
    const char *dot = strrchr(rel, '.');
    const char *ct = "application/octet-stream";
    if (dot && strcmp(dot, ".html") == 0)
      ct = "text/html; charset=utf-8";
    else if (dot && strcmp(dot, ".js") == 0)
      ct = "text/javascript";
    else if (dot && strcmp(dot, ".css") == 0)
      ct = "text/css";
    else if (dot && strcmp(dot, ".json") == 0)
      ct = "application/json";
    else if (dot && strcmp(dot, ".txt") == 0)
      ct = "text/plain; charset=utf-8";
    sbuf_add(&extra, "Content-Type: ", 14);
    sbuf_add(&extra, ct, strlen(ct));
    sbuf_add(&extra, "\r\n", 2);
  }
  if (code < 200 || code > 599) code = 200;
  resp_head(c, code, sbuf_str(&extra), has_len || has_te ? -1 : (int64_t)evbuffer_get_length(b),
            false);
  if (!c->is_head && code != 204 && code != 304) evbuffer_add_buffer(c->out, b);
  evbuffer_free(b);
  free(extra.p);
  free(full);
  free(side);
  response_done(c);
}

/* Called when the head is parsed, before the body is read. */
static void on_head(conn_t *c) {
  const char *u = sbuf_str(&c->url);
  /* Route on the path even when the target came in absolute form. */
  if (strncasecmp(u, "http://", 7) == 0 || strncasecmp(u, "https://", 8) == 0) {
    const char *p = strchr(strstr(u, "//") + 2, '/');
    u = p ? p : "/";
  }
  size_t pl = strcspn(u, "?");
  c->path = xstrndup(u, pl);
  c->query = u[pl] ? xstrndup(u + pl + 1, strlen(u + pl + 1)) : NULL;
  c->is_head = llhttp_get_method(&c->parser) == HTTP_HEAD;
  c->keep_alive = llhttp_should_keep_alive(&c->parser);
  char v[16];
  if (strcmp(c->path, "/continue") == 0 && query_get(c->query, "final", v, sizeof v)) {
    c->busy = true;
    c->keep_alive = false; /* the body stays unread */
    int code = atoi(v);
    respond(c, code >= 200 && code <= 599 ? code : 417, NULL, "final answer\n");
    return;
  }
  if (strcmp(c->path, "/stall") == 0) {
    c->busy = true;
    c->st = ST_STALL; /* neither answers nor reads: the request body backs up */
    return;
  }
  if (strcmp(c->path, "/hang") == 0) {
    c->busy = true;
    c->st = ST_HANG;
    if (c->srv->verbose) fprintf(stderr, "fca-test-origin: %s %s -> (hang)\n", method_name(c), u);
    return;
  }
  if (hdr_has_token(&c->hdrs, "Expect", "100-continue"))
    evbuffer_add_printf(c->out, "HTTP/1.1 100 Continue\r\n\r\n");
}

/* Called when the whole request is read. */
static void on_request(conn_t *c) {
  c->busy = true;
  const char *p = c->path;
  if (llhttp_get_method(&c->parser) == HTTP_CONNECT) {
    respond(c, 405, NULL, "this is an origin, not a proxy\n");
  } else if (strcmp(p, "/echo") == 0) {
    h_echo(c);
  } else if (strncmp(p, "/size/", 6) == 0) {
    h_size(c, p + 6);
  } else if (strcmp(p, "/chunked-trailers") == 0) {
    resp_head(c, 200, "Content-Type: text/plain\r\nTrailer: X-Trailer\r\n", -1, true);
    if (!c->is_head)
      evbuffer_add_printf(c->out, "6\r\nhello \r\n5\r\nworld\r\n0\r\nX-Trailer: yes\r\n\r\n");
    response_done(c);
  } else if (strncmp(p, "/status/", 8) == 0) {
    h_status(c, p + 8);
  } else if (strcmp(p, "/continue") == 0) {
    char body[64];
    snprintf(body, sizeof body, "received %" PRIu64 "\n", c->body_len);
    respond(c, 200, "Content-Type: text/plain\r\n", body);
  } else if (strcmp(p, "/garbage") == 0) {
    static const char junk[] = "this is not HTTP\x01\x02\xff\xfe\r\n\r\n";
    evbuffer_add(c->out, junk, sizeof junk - 1);
    conn_close_after_flush(c);
  } else if (strcmp(p, "/hang-body") == 0 || strcmp(p, "/partial") == 0) {
    bool partial = p[1] == 'p';
    if (partial) c->keep_alive = false;
    resp_head(c, 200, "Content-Type: text/plain\r\n", 100, false);
    if (!c->is_head) evbuffer_add(c->out, "0123456789", 10);
    if (partial)
      conn_close_after_flush(c);
    else
      c->st = ST_HANG;
  } else if (strncmp(p, "/delay/", 7) == 0) {
    uint64_t ms;
    if (!parse_u64(p + 7, &ms) || ms > 600000) {
      respond(c, 400, NULL, "bad delay\n");
      return;
    }
    c->delay_pending = true;
    timer_ms(c, (long)ms);
  } else if (strcmp(p, "/close") == 0) {
    c->keep_alive = false;
    respond(c, 200, "Content-Type: text/plain\r\n", "closing\n");
  } else if (strcmp(p, "/ws") == 0) {
    h_ws(c);
  } else if (strncmp(p, "/files/", 7) == 0) {
    h_files(c, p + 7);
  } else if (strcmp(p, "/") == 0) {
    respond(c, 200, "Content-Type: text/plain\r\n", "fca-test-origin\n");
  } else {
    respond(c, 404, "Content-Type: text/plain\r\n", "not found\n");
  }
}

/* ---- llhttp callbacks ---- */

static int cb_url(llhttp_t *p, const char *at, size_t n) {
  sbuf_add(&((conn_t *)p->data)->url, at, n);
  return 0;
}
static int cb_field(llhttp_t *p, const char *at, size_t n) {
  sbuf_add(&((conn_t *)p->data)->field, at, n);
  return 0;
}
static int cb_value(llhttp_t *p, const char *at, size_t n) {
  sbuf_add(&((conn_t *)p->data)->value, at, n);
  return 0;
}
static int cb_value_complete(llhttp_t *p) {
  conn_t *c = p->data;
  hdrs_push(c->headers_done ? &c->trailers : &c->hdrs, sbuf_str(&c->field), sbuf_str(&c->value));
  c->field.n = c->value.n = 0;
  if (c->field.p) c->field.p[0] = 0;
  if (c->value.p) c->value.p[0] = 0;
  return 0;
}
static int cb_headers_complete(llhttp_t *p) {
  conn_t *c = p->data;
  c->headers_done = true;
  c->head_phase = false;
  return HPE_PAUSED; /* so that the head's last byte is known */
}
static int cb_body(llhttp_t *p, const char *at, size_t n) {
  conn_t *c = p->data;
  if (c->body_len < BODY_KEEP_MAX) {
    size_t keep = n;
    if (keep > BODY_KEEP_MAX - c->body_len) keep = (size_t)(BODY_KEEP_MAX - c->body_len);
    evbuffer_add(c->body, at, keep);
  }
  c->body_len += n;
  return 0;
}
static int cb_message_complete(llhttp_t *p) {
  conn_t *c = p->data;
  c->msg_done = true;
  c->keep_alive = llhttp_should_keep_alive(p);
  return llhttp_get_upgrade(p) ? 0 : HPE_PAUSED; /* an upgrade pauses by itself */
}

static llhttp_settings_t parser_settings;

/* Parses what can be parsed: one message at a time, none while a response is in progress. */
static void process_input(conn_t *c) {
  while (c->st == ST_HTTP && !c->busy) {
    size_t avail = evbuffer_get_length(c->in);
    /* After the pause at the end of a head, a bodiless message completes without more bytes:
     * execute once more with none. */
    bool kick = c->headers_done && !c->msg_done;
    if (avail == 0 && !kick) break;
    size_t n = avail < BLOCK ? avail : BLOCK;
    const char *data = n ? (const char *)evbuffer_pullup(c->in, (ev_ssize_t)n) : "";
    bool was_head = c->head_phase;
    llhttp_errno_t e = llhttp_execute(&c->parser, data, n);
    size_t used = n;
    if (e == HPE_PAUSED || e == HPE_PAUSED_UPGRADE) {
      used = (size_t)(llhttp_get_error_pos(&c->parser) - data);
    } else if (e != HPE_OK) {
      c->busy = true;
      respond_error_close(c, 400, llhttp_get_error_reason(&c->parser));
      return;
    }
    if (was_head) {
      evbuffer_add(c->head, data, used);
      if (evbuffer_get_length(c->head) > HEAD_MAX) {
        c->busy = true;
        respond_error_close(c, 431, "request head too large");
        return;
      }
    }
    evbuffer_drain(c->in, used);
    if (e == HPE_PAUSED) llhttp_resume(&c->parser);
    if (e == HPE_PAUSED_UPGRADE) c->upgraded = true;
    if (c->headers_done && !c->head_handled) {
      c->head_handled = true;
      on_head(c);
    }
    if (c->msg_done && !c->busy && c->st == ST_HTTP)
      on_request(c);
    else if (n == 0 && !c->msg_done)
      break; /* the body needs bytes */
  }
  if (c->st == ST_WS && evbuffer_get_length(c->out) < OUT_HIGH) evbuffer_add_buffer(c->out, c->in);
  if (c->st == ST_HANG || c->st == ST_CLOSING) evbuffer_drain(c->in, evbuffer_get_length(c->in));
}

/* ---- socket I/O ---- */

static bool retriable(int e) { return e == EAGAIN || e == EWOULDBLOCK || e == EINTR; }

static void io_read(conn_t *c) {
  if (!c->ssl) {
    int n = evbuffer_read(c->in, c->fd, BLOCK);
    if (n == 0)
      c->peer_eof = true;
    else if (n < 0 && !retriable(errno))
      c->dead = true;
    return;
  }
  for (int rounds = 0; rounds < 16; rounds++) {
    struct evbuffer_iovec v;
    if (evbuffer_reserve_space(c->in, 16384, &v, 1) < 1) {
      c->dead = true;
      return;
    }
    int want = v.iov_len > INT_MAX ? INT_MAX : (int)v.iov_len;
    int n = SSL_read(c->ssl, v.iov_base, want);
    if (n > 0) {
      v.iov_len = (size_t)n;
      evbuffer_commit_space(c->in, &v, 1);
      continue;
    }
    evbuffer_commit_space(c->in, &v, 0);
    int err = SSL_get_error(c->ssl, n);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
    if (err == SSL_ERROR_ZERO_RETURN)
      c->peer_eof = true;
    else
      c->dead = true;
    ERR_clear_error();
    return;
  }
}

static void io_write(conn_t *c) {
  while (evbuffer_get_length(c->out) > 0) {
    if (!c->ssl) {
      int n = evbuffer_write(c->out, c->fd);
      if (n < 0 && !retriable(errno)) c->dead = true;
      if (n <= 0) return;
      continue;
    }
    size_t len = evbuffer_get_length(c->out);
    int n = c->ssl_write_len ? c->ssl_write_len : (int)(len < 16384 ? len : 16384);
    const void *p = evbuffer_pullup(c->out, n);
    int r = SSL_write(c->ssl, p, n);
    if (r > 0) {
      c->ssl_write_len = 0;
      evbuffer_drain(c->out, (size_t)r);
      continue;
    }
    c->ssl_write_len = n;
    int err = SSL_get_error(c->ssl, r);
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) c->dead = true;
    ERR_clear_error();
    return;
  }
}

/* Runs after every event: moves data, refills generators, arms events, closes when done. */
static void conn_drive(conn_t *c) {
  for (int round = 0; round < 64 && !c->dead; round++) {
    process_input(c);
    io_write(c);
    if (c->dead) break;
    if (c->gen && evbuffer_get_length(c->out) < OUT_LOW && gen_fill(c)) continue;
    if (c->st == ST_HTTP && !c->busy && evbuffer_get_length(c->in) > 0) continue;
    break;
  }
  if (!c->dead && c->peer_eof && c->st != ST_CLOSING && !c->busy) conn_close_after_flush(c);
  if (!c->dead && c->peer_eof && (c->st == ST_HANG || c->st == ST_WS)) conn_close_after_flush(c);
  if (!c->dead && c->st == ST_CLOSING && evbuffer_get_length(c->out) == 0) {
    if (c->peer_eof || c->shut_wr) {
      if (c->peer_eof) c->dead = true;
    } else {
      if (c->ssl && SSL_is_init_finished(c->ssl)) SSL_shutdown(c->ssl);
      ERR_clear_error();
      shutdown(c->fd, SHUT_WR);
      c->shut_wr = true;
      timer_ms(c, LINGER_MS);
    }
  }
  if (c->dead) {
    conn_free(c);
    return;
  }
  bool want_write = evbuffer_get_length(c->out) > 0;
  if (want_write)
    event_add(c->wev, NULL);
  else
    event_del(c->wev);
  bool want_read = !c->peer_eof;
  if (c->st == ST_HTTP && c->busy && evbuffer_get_length(c->in) > IN_MAX) want_read = false;
  if (c->st == ST_WS && evbuffer_get_length(c->out) >= OUT_HIGH) want_read = false;
  if (c->st == ST_STALL) want_read = false;
  if (want_read) {
    event_add(c->rev, NULL);
    if (c->ssl && SSL_pending(c->ssl) > 0) event_active(c->rev, EV_READ, 1);
  } else {
    event_del(c->rev);
  }
}

static void on_read(evutil_socket_t fd, short what, void *arg) {
  conn_t *c = arg;
  io_read(c);
  conn_drive(c);
}

static void on_write(evutil_socket_t fd, short what, void *arg) {
  conn_t *c = arg;
  if (c->ssl && !SSL_is_init_finished(c->ssl)) io_read(c); /* handshake wants to write */
  io_write(c);
  conn_drive(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg) {
  conn_t *c = arg;
  if (c->st == ST_CLOSING) {
    c->dead = true; /* linger over */
  } else if (c->delay_pending) {
    c->delay_pending = false;
    char body[64];
    snprintf(body, sizeof body, "delayed %s\n", c->path + 7);
    respond(c, 200, "Content-Type: text/plain\r\n", body);
  } else if (c->gen && c->rate) {
    uint64_t step = c->rate / (1000 / RATE_TICK_MS);
    if (step == 0) step = 1;
    c->budget += step;
    if (c->budget > step * 5) c->budget = step * 5;
    gen_fill(c);
    if (c->gen) timer_ms(c, RATE_TICK_MS);
  }
  conn_drive(c);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg) {
  server_t *srv = arg;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  conn_t *c = xrealloc(NULL, sizeof *c);
  memset(c, 0, sizeof *c);
  c->srv = srv;
  c->fd = fd;
  c->in = evbuffer_new();
  c->out = evbuffer_new();
  c->head = evbuffer_new();
  c->body = evbuffer_new();
  c->rev = event_new(srv->base, fd, EV_READ | EV_PERSIST, on_read, c);
  c->wev = event_new(srv->base, fd, EV_WRITE | EV_PERSIST, on_write, c);
  c->timer = evtimer_new(srv->base, on_timer, c);
  llhttp_init(&c->parser, HTTP_REQUEST, &parser_settings);
  c->parser.data = c;
  c->head_phase = true;
  if (srv->ssl_ctx) {
    c->ssl = SSL_new(srv->ssl_ctx);
    SSL_set_fd(c->ssl, fd);
    SSL_set_accept_state(c->ssl);
  }
  c->next = srv->conns;
  if (c->next) c->next->prev = c;
  srv->conns = c;
  event_add(c->rev, NULL);
}

/* ---- main ---- */

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg) {
  for (unsigned int i = 0; i < inlen;) {
    unsigned int l = in[i];
    if (i + 1 + l > inlen) break;
    if (l == 8 && memcmp(in + i + 1, "http/1.1", 8) == 0) {
      *out = in + i + 1;
      *outlen = (unsigned char)l;
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + l;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

static SSL_CTX *make_ssl_ctx(const char *cert, const char *key) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    fprintf(stderr, "fca-test-origin: cannot load %s / %s\n", cert, key);
    ERR_print_errors_fp(stderr);
    SSL_CTX_free(ctx);
    return NULL;
  }
  SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
  return ctx;
}

static struct evconnlistener *listen_on(server_t *srv, int family, int port) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t len;
  if (family == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof *a;
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    a->sin6_addr = in6addr_loopback;
    len = sizeof *a;
  }
  return evconnlistener_new_bind(srv->base, on_accept, srv,
                                 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 128,
                                 (struct sockaddr *)&ss, (int)len);
}

static int listener_port(struct evconnlistener *l) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&ss, &len) != 0) return -1;
  if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
  return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static int write_port_file(const char *path, int port) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) return -1;
  fprintf(f, "%d\n", port);
  if (fclose(f) != 0) return -1;
  return rename(tmp, path);
}

static void on_signal(evutil_socket_t sig, short what, void *arg) {
  event_base_loopexit(arg, NULL);
}

int main(int argc, char **argv) {
  int port = 0;
  bool ipv6 = false;
  const char *cert = NULL, *key = NULL, *port_file = NULL;
  server_t srv = {0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--port") == 0 && i + 1 < argc)
      port = atoi(argv[++i]);
    else if (strcmp(a, "--tls") == 0 && i + 2 < argc) {
      cert = argv[++i];
      key = argv[++i];
    } else if (strcmp(a, "--root") == 0 && i + 1 < argc)
      srv.root = argv[++i];
    else if (strcmp(a, "--port-file") == 0 && i + 1 < argc)
      port_file = argv[++i];
    else if (strcmp(a, "--verbose") == 0)
      srv.verbose = true;
    else if (strcmp(a, "--ipv6") == 0)
      ipv6 = true;
    else if (strcmp(a, "--help") == 0) {
      fputs(usage_text, stdout);
      return 0;
    } else {
      fputs(usage_text, stderr);
      return 2;
    }
  }
  if (port < 0 || port > 65535) {
    fputs(usage_text, stderr);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  for (size_t i = 0; i < sizeof pattern_block; i++) pattern_block[i] = fca_pattern_byte(i);
  llhttp_settings_init(&parser_settings);
  parser_settings.on_url = cb_url;
  parser_settings.on_header_field = cb_field;
  parser_settings.on_header_value = cb_value;
  parser_settings.on_header_value_complete = cb_value_complete;
  parser_settings.on_headers_complete = cb_headers_complete;
  parser_settings.on_body = cb_body;
  parser_settings.on_message_complete = cb_message_complete;
  if (cert && !(srv.ssl_ctx = make_ssl_ctx(cert, key))) return 1;
  srv.base = event_base_new();
  struct evconnlistener *l4 = NULL, *l6 = NULL;
  for (int attempt = 0; attempt < 20; attempt++) {
    l4 = listen_on(&srv, AF_INET, port);
    if (!l4) break;
    int chosen = listener_port(l4);
    if (!ipv6) break;
    l6 = listen_on(&srv, AF_INET6, chosen);
    if (l6 || port != 0) break;
    evconnlistener_free(l4); /* [::1] has that port taken: try another */
    l4 = NULL;
  }
  if (!l4 || (ipv6 && !l6)) {
    fprintf(stderr, "fca-test-origin: cannot listen on port %d: %s\n", port, strerror(errno));
    return 1;
  }
  int chosen = listener_port(l4);
  if (port_file && write_port_file(port_file, chosen) != 0) {
    fprintf(stderr, "fca-test-origin: cannot write %s: %s\n", port_file, strerror(errno));
    return 1;
  }
  if (srv.verbose)
    fprintf(stderr, "fca-test-origin: listening on 127.0.0.1:%d%s%s\n", chosen,
            ipv6 ? " and [::1]" : "", srv.ssl_ctx ? " (TLS)" : "");
  struct event *sigterm = evsignal_new(srv.base, SIGTERM, on_signal, srv.base);
  struct event *sigint = evsignal_new(srv.base, SIGINT, on_signal, srv.base);
  evsignal_add(sigterm, NULL);
  evsignal_add(sigint, NULL);
  event_base_dispatch(srv.base);
  while (srv.conns) conn_free(srv.conns);
  evconnlistener_free(l4);
  if (l6) evconnlistener_free(l6);
  event_free(sigterm);
  event_free(sigint);
  event_base_free(srv.base);
  SSL_CTX_free(srv.ssl_ctx);
  return 0;
}
