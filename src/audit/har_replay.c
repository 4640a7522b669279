/* har_replay: one HAR entry fed to the audit engine the way the proxy feeds an exchange:
 * request head, final response head, body slices, end. HAR bodies are already decoded
 * (content.text, base64 when content.encoding says so), so the exchange is marked
 * body_decoded and Content-Encoding is not undone again. Chrome's fields fill what its export
 * may lack: `_resourceType` stands in for a missing Sec-Fetch-Dest (a document initiated by a
 * parser or script is a frame), a parser `_initiator` for a missing Referer. An entry with no
 * body gets the engine's body-missing note, naming why (304, cache, exported without content). */
#include "fcaudit/har.h"

#include "fcaudit/util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define HEADERS_MAX 256
#define PAGES_MAX 4096
#define FEED_SLICE (64 * 1024)

typedef struct {
  char *id, *title;
  bool doc_seen; /* a document entry of this page was replayed (later ones are its frames) */
} page_t;

struct fca_har_replay {
  fca_audit_t *a;
  char *client, *dir;
  page_t pages[PAGES_MAX];
  size_t npages;
};

fca_har_replay_t *fca_har_replay_new(fca_audit_t *a, const char *client, const char *dir) {
  fca_har_replay_t *r = fca_xcalloc(1, sizeof *r);
  r->a = a;
  r->client = fca_xstrdup(client ? client : "har");
  r->dir = dir ? fca_xstrdup(dir) : NULL;
  return r;
}

void fca_har_replay_free(fca_har_replay_t *r) {
  if (!r) return;
  for (size_t i = 0; i < r->npages; i++) free(r->pages[i].id), free(r->pages[i].title);
  free(r->client);
  free(r->dir);
  free(r);
}

void fca_har_replay_page(fca_har_replay_t *r, const json_t *page) {
  const char *id = json_string_value(json_object_get(page, "id"));
  if (!id || r->npages == PAGES_MAX) return;
  const char *title = json_string_value(json_object_get(page, "title"));
  r->pages[r->npages].id = fca_xstrdup(id);
  r->pages[r->npages].title = fca_xstrdup(title ? title : "");
  r->npages++;
}

/* ---- dates ---- */

static int digits(const char **s, int n) {
  int v = 0;
  for (int i = 0; i < n; i++, (*s)++) {
    if (!isdigit((unsigned char)**s)) return -1;
    v = v * 10 + (**s - '0');
  }
  return v;
}

int64_t fca_har_parse_time(const char *s) {
  if (!s) return -1;
  struct tm tm = {0};
  int y = digits(&s, 4);
  if (y < 0 || *s++ != '-') return -1;
  int mo = digits(&s, 2);
  if (mo < 1 || mo > 12 || *s++ != '-') return -1;
  int d = digits(&s, 2);
  if (d < 1 || d > 31 || (*s != 'T' && *s != 't' && *s != ' ')) return -1;
  s++;
  int h = digits(&s, 2);
  if (h < 0 || h > 23 || *s++ != ':') return -1;
  int mi = digits(&s, 2);
  if (mi < 0 || mi > 59) return -1;
  int sec = 0;
  if (*s == ':') {
    s++;
    sec = digits(&s, 2);
    if (sec < 0 || sec > 60) return -1;
  }
  int64_t ms = 0;
  if (*s == '.' || *s == ',') {
    s++;
    int64_t scale = 100;
    if (!isdigit((unsigned char)*s)) return -1;
    for (; isdigit((unsigned char)*s); s++, scale /= 10) ms += (*s - '0') * scale;
  }
  int64_t zone = 0;
  if (*s == 'Z' || *s == 'z') {
    s++;
  } else if (*s == '+' || *s == '-') {
    int sign = *s++ == '-' ? -1 : 1;
    int zh = digits(&s, 2);
    if (zh < 0) return -1;
    if (*s == ':') s++;
    int zm = digits(&s, 2);
    if (zm < 0) return -1;
    zone = sign * (zh * 60 + zm) * 60000LL;
  } else {
    return -1; /* HAR 1.2 requires a zone */
  }
  if (*s) return -1;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  time_t t = timegm(&tm);
  return (int64_t)t * 1000 + ms - zone;
}

int64_t fca_har_entry_time(const json_t *entry) {
  return fca_har_parse_time(json_string_value(json_object_get(entry, "startedDateTime")));
}

/* ---- headers ---- */

typedef struct {
  fca_audit_header_t h[HEADERS_MAX + 2];
  size_t n;
} hdrs_t;

/* HAR headers: [{name, value}]; HTTP/2 pseudo-headers (":authority") are not header fields. */
static void collect(hdrs_t *out, const json_t *arr) {
  size_t i;
  const json_t *h;
  out->n = 0;
  json_array_foreach(arr, i, h) {
    if (out->n == HEADERS_MAX) break;
    const json_t *n = json_object_get(h, "name"), *v = json_object_get(h, "value");
    if (!json_is_string(n) || !json_is_string(v)) continue;
    const char *name = json_string_value(n);
    if (!*name || name[0] == ':') continue;
    out->h[out->n++] = (fca_audit_header_t){name, json_string_length(n), json_string_value(v),
                                            json_string_length(v)};
  }
}

static const fca_audit_header_t *find(const hdrs_t *hs, const char *name) {
  size_t n = strlen(name);
  for (size_t i = 0; i < hs->n; i++)
    if (hs->h[i].name_len == n && strncasecmp(hs->h[i].name, name, n) == 0) return &hs->h[i];
  return NULL;
}

static page_t *page_of(fca_har_replay_t *r, const json_t *entry) {
  const char *ref = json_string_value(json_object_get(entry, "pageref"));
  for (size_t i = 0; ref && i < r->npages; i++)
    if (strcmp(r->pages[i].id, ref) == 0) return &r->pages[i];
  return NULL;
}

/* Sec-Fetch-Dest from Chrome's _resourceType when the request does not carry one. */
static const char *dest_of(fca_har_replay_t *r, const json_t *entry) {
  const char *rt = json_string_value(json_object_get(entry, "_resourceType"));
  if (!rt) return NULL;
  const char *it = json_string_value(json_object_get(json_object_get(entry, "_initiator"), "type"));
  if (strcasecmp(rt, "document") == 0) {
    /* a navigation is initiated by "other" (the address bar, a link) or is its page's first
     * document; a frame is initiated by its parent's parser or scripts */
    page_t *pg = page_of(r, entry);
    bool framed =
        it ? (strcmp(it, "parser") == 0 || strcmp(it, "script") == 0) : (pg && pg->doc_seen);
    if (pg) pg->doc_seen = true;
    return framed ? "iframe" : "document";
  }
  if (strcasecmp(rt, "script") == 0) return "script";
  if (strcasecmp(rt, "xhr") == 0 || strcasecmp(rt, "fetch") == 0) return "empty";
  if (strcasecmp(rt, "stylesheet") == 0) return "style";
  if (strcasecmp(rt, "image") == 0) return "image";
  if (strcasecmp(rt, "font") == 0) return "font";
  return NULL;
}

/* ---- bodies ---- */

static int b64val(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

/* Decodes base64 (standard or URL alphabet, whitespace allowed, padding optional) in slices. */
static int feed_base64(fca_audit_exchange_t *x, const char *s, size_t n) {
  unsigned char out[FEED_SLICE];
  size_t k = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '=') break;
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    int v = b64val(c);
    if (v < 0) return -1;
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[k++] = (unsigned char)(acc >> bits);
      if (k == sizeof out) {
        fca_audit_response_body(x, out, k);
        k = 0;
      }
    }
  }
  if (k) fca_audit_response_body(x, out, k);
  return 0;
}

static void feed_text(fca_audit_exchange_t *x, const char *s, size_t n) {
  for (size_t o = 0; o < n; o += FEED_SLICE)
    fca_audit_response_body(x, s + o, n - o < FEED_SLICE ? n - o : FEED_SLICE);
}

/* Playwright's recordHar with content "attach" keeps bodies in files beside the HAR. */
static int feed_file(fca_har_replay_t *r, fca_audit_exchange_t *x, const char *name) {
  if (!r->dir || strstr(name, "..") || name[0] == '/') return -1;
  char *path = fca_xasprintf("%s/%s", r->dir, name);
  FILE *f = fopen(path, "rb");
  free(path);
  if (!f) return -1;
  char buf[FEED_SLICE];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, f)) > 0) fca_audit_response_body(x, buf, got);
  fclose(f);
  return 0;
}

static const char *no_body_why(const json_t *entry, const json_t *resp, int status) {
  const json_t *content = json_object_get(resp, "content");
  if (status == 304) return "304 Not Modified: the browser used its cached copy";
  if (json_is_true(json_object_get(entry, "_fromCache")) ||
      json_string_value(json_object_get(entry, "_fromCache")) ||
      json_object_size(json_object_get(json_object_get(entry, "cache"), "beforeRequest")) > 0)
    return "served from the browser cache";
  if (json_string_value(json_object_get(content, "comment")))
    return json_string_value(json_object_get(content, "comment"));
  return "the HAR entry has no content.text: saved without content?";
}

int fca_har_replay_entry(fca_har_replay_t *r, const json_t *entry, bool text_cut, char *err,
                         size_t errlen) {
  const json_t *req = json_object_get(entry, "request"), *resp = json_object_get(entry, "response");
  const char *url = json_string_value(json_object_get(req, "url"));
  const char *method = json_string_value(json_object_get(req, "method"));
  if (!url || !*url) {
    fca_seterr(err, errlen, "no request.url");
    return -1;
  }
  int64_t t = fca_har_entry_time(entry);
  if (t < 0) {
    fca_seterr(err, errlen, "startedDateTime is missing or not an ISO 8601 date with a zone");
    return -1;
  }
  hdrs_t rq;
  collect(&rq, json_object_get(req, "headers"));
  if (!find(&rq, "sec-fetch-dest")) {
    const char *d = dest_of(r, entry);
    if (d) rq.h[rq.n++] = (fca_audit_header_t){"Sec-Fetch-Dest", 14, d, strlen(d)};
  }
  if (!find(&rq, "referer")) {
    const json_t *ini = json_object_get(entry, "_initiator");
    const char *it = json_string_value(json_object_get(ini, "type"));
    const char *iu = json_string_value(json_object_get(ini, "url"));
    if (it && iu && strcmp(it, "parser") == 0 && *iu)
      rq.h[rq.n++] = (fca_audit_header_t){"Referer", 7, iu, strlen(iu)};
  }
  const json_t *fx = json_object_get(entry, "_fcaudit");
  const char *client = json_string_value(json_object_get(fx, "client"));
  const char *client_id = client;
  char idbuf[80];
  if (client) { /* "1.2.3.4:5" or "[::1]:5": the identity is the address */
    snprintf(idbuf, sizeof idbuf, "%s", client);
    char *colon = strrchr(idbuf, ':');
    if (colon && colon != idbuf) *colon = '\0';
    client_id = idbuf;
  }
  fca_audit_request_t ar = {
      .method = method ? method : "GET",
      .url = url,
      .headers = rq.h,
      .nheaders = rq.n,
      .client = client ? client : r->client,
      .client_id = client ? client_id : r->client,
      /* without fcaudit's own client field, a HAR is one browser's session (whose exports
       * often leave out headers such as User-Agent): one client */
      .client_id_whole = !client,
      .now_ms = t,
      .body_decoded = true,
  };
  fca_audit_exchange_t *x = fca_audit_begin(r->a, &ar);
  const json_t *post = json_object_get(json_object_get(req, "postData"), "text");
  if (json_is_string(post)) /* what the browser sent (a key in a form to api.stripe.com) */
    fca_audit_request_body(x, json_string_value(post), json_string_length(post));
  int status = (int)json_integer_value(json_object_get(resp, "status"));
  if (!resp || status <= 0) { /* failed or blocked: no response ever came */
    fca_audit_exchange_free(x);
    return 0;
  }
  hdrs_t rs;
  collect(&rs, json_object_get(resp, "headers"));
  fca_audit_response_head(x, status, rs.h, rs.n);
  const json_t *content = json_object_get(resp, "content");
  const json_t *text = json_object_get(content, "text");
  const char *enc = json_string_value(json_object_get(content, "encoding"));
  const char *file = json_string_value(json_object_get(content, "_file"));
  int rc = 0;
  bool complete = !text_cut && !json_is_true(json_object_get(fx, "body_cut")) &&
                  !json_is_true(json_object_get(fx, "incomplete"));
  if (json_is_string(text) && (json_string_length(text) > 0 || status != 304)) {
    if (enc && strcasecmp(enc, "base64") == 0) {
      if (feed_base64(x, json_string_value(text), json_string_length(text)) < 0) {
        fca_seterr(err, errlen, "response.content.text is not valid base64");
        rc = -1;
        complete = false;
      }
    } else {
      feed_text(x, json_string_value(text), json_string_length(text));
    }
  } else if (!text && status != 304 && json_integer_value(json_object_get(content, "size")) == 0 &&
             json_is_integer(json_object_get(content, "size")) && !file) {
    /* an empty body (Chrome writes no text for one) */
  } else if (!(file && feed_file(r, x, file) == 0)) {
    fca_audit_response_no_body(x, no_body_why(entry, resp, status));
  }
  fca_audit_response_end(x, complete);
  fca_audit_exchange_free(x);
  return rc;
}
