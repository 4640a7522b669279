/* http1: message framing on llhttp plus the pure helpers of request forwarding.
 * A head is parsed from one contiguous buffer, so fields are recorded as offsets into it;
 * on_message_complete pauses the parser, which is how the caller learns the exact last byte
 * of a message inside a slice that may also hold the next one. */
#include "http1.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static fca_http1_t *self(llhttp_t *p) { return (fca_http1_t *)p->data; }

static int on_message_begin(llhttp_t *p) {
  fca_http1_t *h = self(p);
  h->msg_done = false;
  return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t n) {
  fca_http1_t *h = self(p);
  if (h->head.target_len == 0) h->head.target_off = (uint32_t)(at - h->head.base);
  h->head.target_len = (uint32_t)(at + n - h->head.base - h->head.target_off);
  return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t n) {
  fca_http1_t *h = self(p);
  fca_http_head_t *hd = &h->head;
  if (h->cur_name == NULL) {
    if (hd->nfields == FCA_HTTP_MAX_FIELDS) {
      hd->too_many_fields = true;
      return -1;
    }
    fca_http_field_t *f = &hd->fields[hd->nfields++];
    memset(f, 0, sizeof *f);
    f->name_off = (uint32_t)(at - hd->base);
    f->value_off = UINT32_MAX;
    h->cur_name = at;
  }
  fca_http_field_t *f = &hd->fields[hd->nfields - 1];
  f->name_len = (uint32_t)(at + n - hd->base - f->name_off);
  return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t n) {
  fca_http1_t *h = self(p);
  fca_http_head_t *hd = &h->head;
  if (hd->nfields == 0) return 0;
  fca_http_field_t *f = &hd->fields[hd->nfields - 1];
  if (f->value_off == UINT32_MAX) f->value_off = (uint32_t)(at - hd->base);
  f->value_len = (uint32_t)(at + n - hd->base - f->value_off);
  return 0;
}

static int on_header_value_complete(llhttp_t *p) {
  self(p)->cur_name = NULL;
  return 0;
}

static int on_headers_complete(llhttp_t *p) {
  fca_http1_t *h = self(p);
  fca_http_head_t *hd = &h->head;
  hd->method = p->method;
  hd->status = p->status_code;
  hd->major = p->http_major;
  hd->minor = p->http_minor;
  hd->upgrade = p->upgrade;
  hd->keep_alive = llhttp_should_keep_alive(p);
  /* Complete each field's raw line: from its name to the end of its LF. */
  for (size_t i = 0; i < hd->nfields; i++) {
    fca_http_field_t *f = &hd->fields[i];
    if (f->value_off == UINT32_MAX) {
      f->value_off = f->name_off + f->name_len;
      f->value_len = 0;
    }
    size_t from = f->value_off + f->value_len;
    if (from < f->name_off + f->name_len) from = f->name_off + f->name_len;
    const char *lf = memchr(hd->base + from, '\n', hd->len - from);
    size_t end = lf ? (size_t)(lf - hd->base) + 1 : hd->len;
    f->line_off = f->name_off;
    f->line_len = (uint32_t)(end - f->name_off);
  }
  const char *lf = memchr(hd->base, '\n', hd->len);
  hd->line_len = lf ? (uint32_t)(lf - hd->base + 1) : 0;
  h->head_done = true;
  if (h->skip_body) return 1;
  return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n) {
  fca_http1_t *h = self(p);
  if (h->on_body) h->on_body(h->ud, at, n);
  return 0;
}

static int on_message_complete(llhttp_t *p) {
  fca_http1_t *h = self(p);
  h->msg_done = true;
  return HPE_PAUSED;
}

void fca_http1_init(fca_http1_t *h, llhttp_type_t type, fca_http1_body_fn body, void *ud) {
  memset(h, 0, sizeof *h);
  llhttp_settings_init(&h->s);
  h->s.on_message_begin = on_message_begin;
  h->s.on_url = on_url;
  h->s.on_header_field = on_header_field;
  h->s.on_header_value = on_header_value;
  h->s.on_header_value_complete = on_header_value_complete;
  h->s.on_headers_complete = on_headers_complete;
  h->s.on_body = on_body;
  h->s.on_message_complete = on_message_complete;
  llhttp_init(&h->p, type, &h->s);
  h->p.data = h;
  h->on_body = body;
  h->ud = ud;
}

ssize_t fca_http1_head_length(struct evbuffer *buf, size_t max) {
  struct evbuffer_ptr pos;
  evbuffer_ptr_set(buf, &pos, 0, EVBUFFER_PTR_SET);
  /* Find "\n\r\n" or "\n\n" (a blank line), tolerating bare LF line ends. */
  size_t total = evbuffer_get_length(buf);
  size_t limit = total < max ? total : max;
  struct evbuffer_iovec v[8];
  size_t off = 0;
  int state = 0; /* 0: in line, 1: after LF, 2: after LF CR */
  while (off < limit) {
    evbuffer_ptr_set(buf, &pos, off, EVBUFFER_PTR_SET);
    int nv = evbuffer_peek(buf, (ev_ssize_t)(limit - off), &pos, v, 8);
    if (nv <= 0) break;
    for (int i = 0; i < nv && off < limit; i++) {
      const unsigned char *p = v[i].iov_base;
      size_t n = v[i].iov_len;
      if (n > limit - off) n = limit - off;
      for (size_t k = 0; k < n; k++) {
        unsigned char c = p[k];
        if (state == 0) {
          if (c == '\n') state = 1;
          /* Skip quickly to the next LF. */
          else {
            const unsigned char *lf = memchr(p + k, '\n', n - k);
            if (!lf) {
              k = n - 1;
              continue;
            }
            k = (size_t)(lf - p);
            state = 1;
          }
        } else if (state == 1) {
          if (c == '\n') return (ssize_t)(off + k + 1);
          state = (c == '\r') ? 2 : 0;
        } else {
          if (c == '\n') return (ssize_t)(off + k + 1);
          state = 0;
        }
      }
      off += n;
    }
  }
  if (total >= max) return -1;
  return 0;
}

static void reset_head(fca_http1_t *h, const char *data, size_t len) {
  fca_http_head_t *hd = &h->head;
  hd->base = data;
  hd->len = len;
  hd->nfields = 0;
  hd->target_off = hd->target_len = 0;
  hd->too_many_fields = false;
  h->cur_name = NULL;
  h->head_done = false;
  h->msg_done = false;
}

/* RFC 9110 5.6.2: tchar. */
static bool is_tchar(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* The checks RFC 9112 asks of a server receiving a request, beyond what llhttp enforces. */
static int check_request(fca_http1_t *h, const char *data, const char **why) {
  const fca_http_head_t *hd = &h->head;
  if (hd->major != 1 || hd->minor > 1) {
    /* HTTP/0.9 has no head to forward; HTTP/2 and later are not spoken over this framing. */
    h->reject_status = hd->major < 1 ? 400 : 505;
    *why = hd->major < 1 ? "HTTP/0.9 requests are not supported"
                         : "HTTP version not supported (HTTP/1.0 and HTTP/1.1 are)";
    return -1;
  }
  for (size_t i = 0; i < hd->nfields; i++) {
    const fca_http_field_t *f = &hd->fields[i];
    const unsigned char *name = (const unsigned char *)data + f->name_off;
    for (size_t k = 0; k < f->name_len; k++) {
      if (name[k] == ' ' || name[k] == '\t') {
        *why = "whitespace between a header field name and the colon";
        return -1;
      }
      if (!is_tchar(name[k])) {
        *why = "invalid character in a header field name";
        return -1;
      }
    }
    if (f->name_len == 0) {
      *why = "empty header field name";
      return -1;
    }
    if (memchr(data + f->value_off, '\n', f->value_len)) {
      *why = "obsolete line folding in a header field";
      return -1;
    }
  }
  return 0;
}

int fca_http1_feed_head(fca_http1_t *h, const char *data, size_t len, const char **why) {
  reset_head(h, data, len);
  h->reject_status = 400;
  llhttp_errno_t e = llhttp_execute(&h->p, data, len);
  if (e == HPE_OK || e == HPE_PAUSED || e == HPE_PAUSED_UPGRADE) {
    if (!h->head_done) {
      *why = "incomplete message head";
      return -1;
    }
    if (e == HPE_PAUSED && llhttp_get_error_pos(&h->p) != data + len) {
      *why = "unexpected bytes after the message head";
      return -1;
    }
    /* A malformed request is refused, never forwarded. (Responses are passed on as sent:
     * observe, never alter.) */
    if (h->p.type == HTTP_REQUEST && check_request(h, data, why) < 0) return -1;
    return 0;
  }
  if (h->head.too_many_fields) h->reject_status = 431;
  if (e == HPE_INVALID_VERSION && h->p.type == HTTP_REQUEST) h->reject_status = 505;
  *why = h->head.too_many_fields ? "too many header fields" : llhttp_get_error_reason(&h->p);
  if (!*why) *why = llhttp_errno_name(e);
  return -1;
}

int fca_http1_feed_body(fca_http1_t *h, const char *data, size_t len, size_t *used,
                        const char **why) {
  if (h->msg_done) { /* the message already ended: these bytes are not part of it */
    *why = "bytes after the end of the message";
    return -1;
  }
  llhttp_errno_t e = llhttp_execute(&h->p, data, len);
  if (e == HPE_OK) {
    *used = len;
    return 0;
  }
  if (e == HPE_PAUSED && h->msg_done) {
    *used = (size_t)(llhttp_get_error_pos(&h->p) - data);
    return 1;
  }
  *why = llhttp_get_error_reason(&h->p);
  if (!*why) *why = llhttp_errno_name(e);
  return -1;
}

int fca_http1_finish(fca_http1_t *h) {
  if (h->msg_done || !h->head_done) return 0;
  llhttp_errno_t e = llhttp_finish(&h->p);
  if ((e == HPE_OK || e == HPE_PAUSED) && h->msg_done) return 1;
  return -1;
}

void fca_http1_next(fca_http1_t *h) {
  llhttp_errno_t e = llhttp_get_errno(&h->p);
  /* After CONNECT or an upgrade llhttp would stop at the next byte: start afresh. */
  if (h->head.upgrade || (e != HPE_OK && e != HPE_PAUSED))
    llhttp_reset(&h->p);
  else if (e == HPE_PAUSED)
    llhttp_resume(&h->p);
  h->head.upgrade = false;
  h->head_done = false;
  h->msg_done = false;
  h->skip_body = false;
}

bool fca_http1_close_delimited(const fca_http1_t *h) {
  return h->head_done && llhttp_message_needs_eof(&h->p);
}

bool fca_http_name_eq(const fca_http_head_t *h, const fca_http_field_t *f, const char *name) {
  size_t n = strlen(name);
  return f->name_len == n && strncasecmp(h->base + f->name_off, name, n) == 0;
}

const char *fca_http_get(const fca_http_head_t *h, const char *name, size_t *n) {
  for (size_t i = 0; i < h->nfields; i++) {
    if (fca_http_name_eq(h, &h->fields[i], name)) {
      *n = h->fields[i].value_len;
      return h->base + h->fields[i].value_off;
    }
  }
  return NULL;
}

bool fca_http_list_has(const char *v, size_t n, const char *token) {
  size_t tl = strlen(token);
  size_t i = 0;
  while (i < n) {
    while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) i++;
    size_t s = i;
    while (i < n && v[i] != ',') i++;
    size_t e = i;
    while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t')) e--;
    if (e - s == tl && strncasecmp(v + s, token, tl) == 0) return true;
  }
  return false;
}

static bool name_is(const fca_http_head_t *h, const fca_http_field_t *f, const char *name) {
  return fca_http_name_eq(h, f, name);
}

/* Connection lists other hop-by-hop fields by name. */
static bool listed_in_connection(const fca_http_head_t *h, const fca_http_field_t *f) {
  char name[128];
  if (f->name_len >= sizeof name) return false;
  memcpy(name, h->base + f->name_off, f->name_len);
  name[f->name_len] = '\0';
  for (size_t i = 0; i < h->nfields; i++) {
    const fca_http_field_t *c = &h->fields[i];
    if (name_is(h, c, "Connection") &&
        fca_http_list_has(h->base + c->value_off, c->value_len, name))
      return true;
  }
  return false;
}

bool fca_http_is_hop_by_hop(const fca_http_head_t *h, const fca_http_field_t *f) {
  if (name_is(h, f, "Connection") || name_is(h, f, "Proxy-Connection") ||
      name_is(h, f, "Keep-Alive") || name_is(h, f, "Proxy-Authorization"))
    return true;
  if (name_is(h, f, "TE")) return true; /* kept as "TE: trailers" by the writer when asked */
  /* Framing and Host are never dropped, whatever Connection lists: the proxy frames the body
   * by them, so the origin must see the same (else a request could be smuggled). */
  if (name_is(h, f, "Transfer-Encoding") || name_is(h, f, "Content-Length") ||
      name_is(h, f, "Host") || name_is(h, f, "Upgrade"))
    return false;
  return listed_in_connection(h, f);
}

bool fca_http_has_hop_by_hop(const fca_http_head_t *h) {
  for (size_t i = 0; i < h->nfields; i++)
    if (fca_http_is_hop_by_hop(h, &h->fields[i])) return true;
  return false;
}

void fca_http_write_filtered(struct evbuffer *out, const fca_http_head_t *h, const char *first_line,
                             size_t first_len, bool upgrade, const char *add_host,
                             const char *const *drop) {
  if (first_line)
    evbuffer_add(out, first_line, first_len);
  else
    evbuffer_add(out, h->base, h->line_len);
  bool has_host = false, te_trailers = false;
  for (size_t i = 0; i < h->nfields; i++) {
    const fca_http_field_t *f = &h->fields[i];
    if (name_is(h, f, "Host")) {
      has_host = true;
      if (add_host && (f->value_len != strlen(add_host) ||
                       strncasecmp(h->base + f->value_off, add_host, f->value_len) != 0)) {
        /* Absolute-form: the target's authority replaces a different Host (RFC 9112 3.2.2). */
        evbuffer_add_printf(out, "Host: %s\r\n", add_host);
        continue;
      }
    }
    if (name_is(h, f, "TE") && fca_http_list_has(h->base + f->value_off, f->value_len, "trailers"))
      te_trailers = true;
    if (upgrade && name_is(h, f, "Upgrade")) {
      evbuffer_add(out, h->base + f->line_off, f->line_len);
      continue;
    }
    if (fca_http_is_hop_by_hop(h, f)) continue;
    bool dropped = false;
    for (const char *const *d = drop; d && *d && !dropped; d++) dropped = name_is(h, f, *d);
    if (dropped) continue;
    evbuffer_add(out, h->base + f->line_off, f->line_len);
  }
  if (!has_host && add_host) evbuffer_add_printf(out, "Host: %s\r\n", add_host);
  if (te_trailers) evbuffer_add(out, "TE: trailers\r\n", 14);
  if (upgrade) evbuffer_add(out, "Connection: upgrade\r\n", 21);
  evbuffer_add(out, "\r\n", 2);
}

static int parse_host_port(const char *t, size_t n, int default_port, fca_target_t *out) {
  size_t hl;
  const char *hs;
  size_t i = 0;
  if (n > 0 && t[0] == '[') {
    const char *rb = memchr(t, ']', n);
    if (!rb) return -1;
    hs = t + 1;
    hl = (size_t)(rb - hs);
    i = (size_t)(rb - t) + 1;
  } else {
    hs = t;
    while (i < n && t[i] != ':') i++;
    hl = i;
  }
  if (hl == 0 || hl >= sizeof out->host) return -1;
  for (size_t k = 0; k < hl; k++) {
    unsigned char c = (unsigned char)hs[k];
    if (c <= ' ' || c == '/' || c == '?' || c == '#' || c == '@' || c >= 0x7f) return -1;
    out->host[k] = (char)tolower(c);
  }
  out->host[hl] = '\0';
  out->port = default_port;
  if (i < n) {
    if (t[i] != ':') return -1;
    i++;
    if (i == n) return out->port > 0 ? 0 : -1;
    long port = 0;
    for (; i < n; i++) {
      if (!isdigit((unsigned char)t[i])) return -1;
      port = port * 10 + (t[i] - '0');
      if (port > 65535) return -1;
    }
    if (port == 0) return -1;
    out->port = (int)port;
  }
  return out->port > 0 ? 0 : -1;
}

int fca_http_parse_authority(const char *t, size_t n, int default_port, fca_target_t *out) {
  memset(out, 0, sizeof *out);
  return parse_host_port(t, n, default_port, out);
}

int fca_http_parse_absolute(const char *t, size_t n, fca_target_t *out) {
  memset(out, 0, sizeof *out);
  int defport;
  size_t skip;
  if (n >= 7 && strncasecmp(t, "http://", 7) == 0) {
    strcpy(out->scheme, "http");
    defport = 80;
    skip = 7;
  } else if (n >= 8 && strncasecmp(t, "https://", 8) == 0) {
    strcpy(out->scheme, "https");
    defport = 443;
    skip = 8;
  } else {
    return -1;
  }
  const char *a = t + skip;
  size_t rest = n - skip;
  size_t alen = 0;
  while (alen < rest && a[alen] != '/' && a[alen] != '?' && a[alen] != '#') alen++;
  if (memchr(a, '@', alen)) return -1; /* userinfo in a proxy request: refuse */
  char scheme[8];
  memcpy(scheme, out->scheme, sizeof scheme);
  if (parse_host_port(a, alen, defport, out) < 0) return -1;
  memcpy(out->scheme, scheme, sizeof scheme);
  out->path = a + alen;
  out->path_len = rest - alen;
  /* A fragment never goes on the wire. */
  const char *hash = memchr(out->path, '#', out->path_len);
  if (hash) out->path_len = (size_t)(hash - out->path);
  return 0;
}
