/* audit: the facade. Classifies each exchange from its heads (document, script, Stripe.js or
 * FC request, api.stripe.com FC response) and hands inspected bodies to docscan.c. An exchange
 * that is not inspected costs a few header comparisons and shares one static-like exchange
 * object (no allocation). Requests that are evidence by themselves (Stripe.js, the FC iframe)
 * are handled at begin. Lifecycle, counters and the summary event live here too. */
#include "fcaudit/audit.h"

#include "engine.h"
#include "fcaudit/util.h"
#include "rules.h"
#include "stripereq.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_MAX_AUDIT_BYTES (16u * 1024 * 1024)
#define DEFAULT_WINDOW_MS 30000

fca_audit_t *fca_audit_new(const fca_audit_opts_t *opts) {
  fca_audit_t *a = fca_xcalloc(1, sizeof *a);
  if (opts) a->o = *opts;
  if (!a->o.max_audit_bytes) a->o.max_audit_bytes = DEFAULT_MAX_AUDIT_BYTES;
  if (!a->o.correlation_window_ms) a->o.correlation_window_ms = DEFAULT_WINDOW_MS;
  a->env = fca_xstrdup(a->o.env ? a->o.env : "staging");
  a->o.env = a->env;
  a->production = strcmp(a->env, "production") == 0;
  pthread_mutex_init(&a->mu, NULL);
  a->reg = fca_registry_new(a->o.registry_max_pages, a->o.registry_max_age_ms);
  a->dedup = fca_dedup_new();
  a->cards_tail = &a->cards;
  fca_strmap_init(&a->card_keys[0], 0, false);
  fca_strmap_init(&a->card_keys[1], 0, false);
  a->ignored = fca_xcalloc(1, sizeof *a->ignored);
  a->ignored->a = a;
  a->ignored->ignored = true;
  a->ignored->ended = true;
  atomic_init(&a->exchanges, 0);
  atomic_init(&a->nawait_hint, 0);
  atomic_init(&a->bytes_inspected, 0);
  return a;
}

void fca_audit_free(fca_audit_t *a) {
  if (!a) return;
  for (size_t i = 0; i < a->npending; i++) fca_page_unref(a->pending[i]);
  fca_jsfetch_free(a);
  fca_keymemo_free(a);
  fca_registry_free(a->reg);
  fca_dedup_free(a->dedup);
  for (fca_card_t *c = a->cards, *n; c; c = n) {
    n = c->next;
    fca_card_free(c);
  }
  fca_strmap_destroy(&a->card_keys[0], NULL);
  fca_strmap_destroy(&a->card_keys[1], NULL);
  free(a->ignored);
  free(a->env);
  pthread_mutex_destroy(&a->mu);
  free(a);
}

void fca_audit_emit(fca_audit_t *a, fca_event_t *ev) {
  ev->ts_ms = fca_now_ms();
  if (a->o.emit) a->o.emit(a->o.emit_ud, ev);
}

/* ---- classification helpers ------------------------------------------------------------ */

static bool name_is(const fca_audit_header_t *h, const char *name) {
  size_t n = strlen(name);
  return h->name_len == n && strncasecmp(h->name, name, n) == 0;
}

static bool value_is(const fca_audit_header_t *h, const char *v) {
  size_t n = strlen(v), l = h->value_len;
  const char *s = h->value;
  while (l && (*s == ' ' || *s == '\t')) s++, l--;
  while (l && (s[l - 1] == ' ' || s[l - 1] == '\t')) l--;
  return l == n && strncasecmp(s, v, n) == 0;
}

/* The host of an absolute URL (no userinfo, no port), without parsing the rest. */
static void url_host(const char *url, const char **h, size_t *n) {
  const char *p = strstr(url, "://");
  p = p ? p + 3 : url;
  size_t a = strcspn(p, "/?#\\");
  const char *at = memchr(p, '@', a);
  if (at) {
    a -= (size_t)(at + 1 - p);
    p = at + 1;
  }
  size_t hl = a;
  if (p[0] == '[') {
    const char *rb = memchr(p, ']', a);
    if (rb) hl = (size_t)(rb + 1 - p);
  } else {
    const char *colon = memchr(p, ':', a);
    if (colon) hl = (size_t)(colon - p);
  }
  *h = p;
  *n = hl;
}

static bool host_eq(const char *h, size_t n, const char *lit) {
  return strlen(lit) == n && strncasecmp(h, lit, n) == 0;
}

/* A navigation or frame load rather than a subresource. Without Sec-Fetch-Dest (a plain-HTTP
 * origin, a non-browser client) anything that would take HTML counts as one, so a tool that
 * fetches pages one after the other never looks like a page loading its subresources. */
static bool document_request(const fca_audit_header_t *dest, const fca_audit_header_t *accept) {
  if (dest)
    return value_is(dest, "document") || value_is(dest, "iframe") || value_is(dest, "frame") ||
           value_is(dest, "embed") || value_is(dest, "object");
  return !accept || fca_detect_accepts_html(accept->value, accept->value_len);
}

/* The client as correlation knows it: its address plus a hash of its User-Agent, so that curl
 * and a browser on one address (loopback, a NAT) are two clients. Cheap: one FNV-1a pass over
 * the header value; the result fits FCA_AUDIT_CLIENT_ID_MAX. */
static void client_key(const fca_audit_request_t *req, const fca_audit_header_t *ua, char *out,
                       size_t len) {
  const char *id = req->client_id ? req->client_id : (req->client ? req->client : "");
  if (req->client_id_whole) {
    snprintf(out, len, "%s", id);
    return;
  }
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; ua && i < ua->value_len; i++)
    h = (h ^ (unsigned char)ua->value[i]) * 1099511628211ull;
  snprintf(out, len, "%.*s ua:%016llx", (int)(len - 22), id, ua ? (unsigned long long)h : 0ull);
}

static fca_audit_exchange_t *new_exchange(fca_audit_t *a, const fca_audit_request_t *req,
                                          const char *cid, const char *referer,
                                          size_t referer_len) {
  /* The exchange and its four strings in one allocation (they live exactly as long). */
  const char *client = req->client ? req->client : "";
  size_t ul = strlen(req->url) + 1, cl = strlen(client) + 1, il = strlen(cid) + 1;
  size_t rl = referer ? referer_len + 1 : 0;
  fca_audit_exchange_t *x = fca_xcalloc(1, sizeof *x + ul + cl + il + rl);
  char *s = (char *)(x + 1);
  x->a = a;
  x->url = memcpy(s, req->url, ul);
  x->client = memcpy(s += ul, client, cl);
  x->client_id = memcpy(s += cl, cid, il);
  if (referer) {
    x->referer = memcpy(s += il, referer, referer_len);
    x->referer[referer_len] = '\0';
  }
  x->now_ms = req->now_ms;
  x->body_decoded = req->body_decoded;
  return x;
}

/* A request that is evidence by itself: Stripe.js (tags its page, and is the fetch a page tagged
 * by its markup awaits) or the FC iframe. Returns true for Stripe.js. */
static bool stripe_request(fca_audit_t *a, const fca_audit_request_t *req, const char *cid,
                           const char *referer, size_t referer_len, bool sfd_script_or_absent) {
  fca_url_t u;
  if (fca_url_parse(req->url, strlen(req->url), &u) != 0) return false;
  bool is_js = sfd_script_or_absent && fca_detect_stripejs_url(&u, false);
  bool inner = !is_js && fca_detect_linked_accounts_inner(&u);
  fca_url_free(&u);
  if (!is_js && !inner) return false;
  char *ref = referer ? fca_xstrndup(referer, referer_len) : NULL;
  pthread_mutex_lock(&a->mu);
  fca_match_t m = fca_correlate_page(a, cid, ref, req->now_ms);
  if (is_js) fca_jsfetch_seen(a, cid, req->url, req->now_ms, m.page, m.confidence);
  if (m.page && is_js) {
    fca_correlate_tag(a, m.page, FCA_TAG_SCRIPT_REQUEST, m.confidence, "request",
                      "Stripe.js request", req->url, strlen(req->url), -1, req->url);
  } else if (m.page) {
    fca_jsfetch_ran(a, m.page);
    fca_page_fc_t *f = FCA_PAGE_PUSH(m.page, fc);
    if (!f) {
      m.page->dropped++;
      pthread_mutex_unlock(&a->mu);
      free(ref);
      return false;
    }
    f->kind = "linked-accounts-inner";
    f->source = "request";
    fca_page_ev_set(&f->ev, req->url, strlen(req->url), -1, req->url);
    if (m.page->card) m.page->card->fc_kinds |= 2u;
  }
  pthread_mutex_unlock(&a->mu);
  free(ref);
  return is_js;
}

/* An api.stripe.com FC call is made from Stripe's own iframe (its Referer is js.stripe.com), so
 * it is attributed to the client's most recent tagged page within the window, if any. */
static void api_evidence(fca_audit_t *a, const fca_audit_request_t *req, const char *cid) {
  int64_t since = req->now_ms - (int64_t)a->o.correlation_window_ms;
  pthread_mutex_lock(&a->mu);
  for (fca_page_t *p = fca_registry_next(a->reg, NULL); p && p->ts_ms >= since;
       p = fca_registry_next(a->reg, p)) {
    if (!p->announced || strcmp(p->client_id, cid) != 0) continue;
    fca_jsfetch_ran(a, p);
    size_t ul = fca_url_query_offset(req->url); /* the endpoint, not its parameters */
    bool seen = false;
    for (size_t i = 0; i < p->nfc && !seen; i++)
      seen = p->fc[i].ev.len == ul && memcmp(p->fc[i].ev.value, req->url, ul) == 0;
    fca_page_fc_t *f = seen ? NULL : FCA_PAGE_PUSH(p, fc);
    if (f) {
      f->kind = "api";
      f->source = "request";
      fca_page_ev_set(&f->ev, req->url, ul, -1, NULL);
      if (p->card) p->card->fc_kinds |= 4u;
    }
    break;
  }
  pthread_mutex_unlock(&a->mu);
}

/* The page an api.stripe.com request was made for (lock held): the Referer's page when the
 * Referer is the page's (Stripe.js calls from the page itself), else -- a call from Stripe's
 * own frames, whose Referer is js.stripe.com, or none -- the client's most recent tagged page
 * within the window. */
static fca_page_t *api_page(fca_audit_t *a, const char *cid, const char *referer, int64_t now) {
  if (referer && *referer) {
    const char *h;
    size_t hn;
    url_host(referer, &h, &hn);
    if (!fca_detect_stripe_host(h, hn)) return fca_correlate_page(a, cid, referer, now).page;
  }
  int64_t since = now - (int64_t)a->o.correlation_window_ms;
  for (fca_page_t *p = fca_registry_next(a->reg, NULL); p && p->ts_ms >= since;
       p = fca_registry_next(a->reg, p))
    if (p->tagged_by != FCA_TAG_NONE && strcmp(p->client_id, cid) == 0) return p;
  return NULL;
}

/* A publishable key an api.stripe.com request carries: recorded on its page (FC-TEST-1, item
 * 4), the evidence naming the endpoint (the URL without its query). */
static void api_key(fca_audit_t *a, const char *cid, const char *referer, int64_t now,
                    const char *url, fca_key_kind_t kind, const char *key, size_t n,
                    const char *name) {
  char *where = fca_url_without_query(url);
  pthread_mutex_lock(&a->mu);
  fca_page_t *p = api_page(a, cid, referer, now);
  if (p) fca_correlate_key(a, p, kind == FCA_KEY_LIVE, key, n, -1, "request", name, where);
  pthread_mutex_unlock(&a->mu);
  free(where);
}

/* The key in the query (`key=`) or an `Authorization: Bearer` header of an api.stripe.com call. */
static void api_head_keys(fca_audit_t *a, const fca_audit_request_t *req, const char *cid,
                          const char *referer, const fca_audit_header_t *auth) {
  const char *q = strchr(req->url, '?');
  char key[FCA_STRIPEREQ_KEY_MAX + 1];
  size_t kn;
  if (q) {
    size_t ql = strcspn(q + 1, "#");
    fca_key_kind_t k = fca_stripereq_form_key(q + 1, ql, key, sizeof key, &kn);
    if (k) api_key(a, cid, referer, req->now_ms, req->url, k, key, kn, "key (query)");
  }
  const char *bk;
  fca_key_kind_t k = auth ? fca_stripereq_bearer(auth->value, auth->value_len, &bk, &kn) : 0;
  if (k) api_key(a, cid, referer, req->now_ms, req->url, k, bk, kn, "Authorization: Bearer");
}

/* The urlencoded body of an api.stripe.com call, once complete (or cut at the bound). */
static void api_form_done(fca_audit_exchange_t *x) {
  if (!x->form_wanted || x->form_done) return;
  x->form_done = true;
  size_t n = x->form_len;
  if (x->form_over) /* only whole fields: a key cut at the bound is not a key */
    while (n && x->form[n - 1] != '&') n--;
  char key[FCA_STRIPEREQ_KEY_MAX + 1];
  size_t kn;
  fca_key_kind_t k = x->form ? fca_stripereq_form_key(x->form, n, key, sizeof key, &kn) : 0;
  if (k) api_key(x->a, x->client_id, x->referer, x->now_ms, x->url, k, key, kn, "key (form field)");
  free(x->form);
  x->form = NULL;
  x->form_len = 0;
}

void fca_audit_request_body(fca_audit_exchange_t *x, const void *data, size_t len) {
  if (x->ignored || !x->form_wanted || x->form_done || x->form_over || !len) return;
  size_t room = FCA_STRIPEREQ_BODY_MAX - x->form_len;
  if (len > room) {
    len = room;
    x->form_over = true;
  }
  x->form = fca_xrealloc(x->form, x->form_len + len + 1);
  memcpy(x->form + x->form_len, data, len);
  x->form_len += len;
}

fca_audit_exchange_t *fca_audit_begin(fca_audit_t *a, const fca_audit_request_t *req) {
  atomic_fetch_add_explicit(&a->exchanges, 1, memory_order_relaxed);
  const fca_audit_header_t *dest = NULL, *referer = NULL, *accept = NULL, *auth = NULL,
                           *ctype = NULL, *ua = NULL;
  for (size_t i = 0; i < req->nheaders; i++) {
    const fca_audit_header_t *h = &req->headers[i];
    if (h->name_len == 14 && name_is(h, "sec-fetch-dest"))
      dest = h;
    else if (h->name_len == 7 && name_is(h, "referer"))
      referer = h;
    else if (h->name_len == 6 && name_is(h, "accept"))
      accept = h;
    else if (h->name_len == 13 && name_is(h, "authorization"))
      auth = h;
    else if (h->name_len == 12 && name_is(h, "content-type"))
      ctype = h;
    else if (h->name_len == 10 && name_is(h, "user-agent"))
      ua = h;
  }
  if (!req->url ||
      (req->method && strcmp(req->method, "GET") != 0 && strcmp(req->method, "POST") != 0))
    return a->ignored;
  /* the client key, made on first use (most exchanges are not inspected and never need it) */
  char cidbuf[FCA_AUDIT_CLIENT_ID_MAX] = "";
#define CLIENT_KEY (cidbuf[0] ? cidbuf : (client_key(req, ua, cidbuf, sizeof cidbuf), cidbuf))
  const char *host;
  size_t hn;
  url_host(req->url, &host, &hn);
  bool stripe = fca_detect_stripe_host(host, hn);
  bool d_script = dest && value_is(dest, "script");
  const char *rv = referer ? referer->value : NULL;
  size_t rl = referer ? referer->value_len : 0;
  bool js_host = stripe && host_eq(host, hn, "js.stripe.com");
  /* While pages await their Stripe.js request, count the other subresources they load. */
  if (atomic_load_explicit(&a->nawait_hint, memory_order_relaxed) > 0 && !js_host &&
      !document_request(dest, accept)) {
    char *ref = rv ? fca_xstrndup(rv, rl) : NULL;
    pthread_mutex_lock(&a->mu);
    fca_jsfetch_other(a, CLIENT_KEY, ref, req->now_ms);
    pthread_mutex_unlock(&a->mu);
    free(ref);
  }
  if (stripe && rv && atomic_load_explicit(&a->nawait_hint, memory_order_relaxed) > 0) {
    const char *rh;
    size_t rhn;
    char *ref = fca_xstrndup(rv, rl);
    url_host(ref, &rh, &rhn);
    if (!fca_detect_stripe_host(rh, rhn)) { /* from the page itself, not from Stripe's frames */
      pthread_mutex_lock(&a->mu);
      fca_jsfetch_stripe_host(a, CLIENT_KEY, ref, req->now_ms);
      pthread_mutex_unlock(&a->mu);
    }
    free(ref);
  }
  if (stripe) {
    if (js_host) {
      if (!stripe_request(a, req, CLIENT_KEY, rv, rl, d_script || !dest)) return a->ignored;
      fca_audit_exchange_t *x = new_exchange(a, req, CLIENT_KEY, rv, rl);
      x->js_request = true;
      return x;
    }
    if (host_eq(host, hn, "api.stripe.com")) {
      fca_url_t u;
      bool fc = fca_url_parse(req->url, strlen(req->url), &u) == 0;
      if (fc) {
        fc = fca_detect_fc_api(&u);
        fca_url_free(&u);
      }
      char *ref = rv ? fca_xstrndup(rv, rl) : NULL;
      api_head_keys(a, req, CLIENT_KEY, ref, auth);
      free(ref);
      bool form = req->method && strcmp(req->method, "POST") == 0 && ctype &&
                  fca_detect_ctype_form(ctype->value, ctype->value_len);
      if (!fc && !form) return a->ignored;
      if (fc) api_evidence(a, req, CLIENT_KEY);
      fca_audit_exchange_t *x = new_exchange(a, req, CLIENT_KEY, rv, rl);
      x->api_candidate = fc;
      x->form_wanted = form;
      return x;
    }
    return a->ignored; /* Stripe's own documents are never pages */
  }
  bool doc = false, top = true, script = false, data = false;
  if (!dest) {
    /* non-browser client, or a plain-HTTP origin (no Sec-Fetch-*): the response decides */
    doc = !accept || fca_detect_accepts_html(accept->value, accept->value_len);
    script = true;
    data = true;
  } else if (value_is(dest, "empty")) {
    data = true; /* fetch() / XHR: the `/config` pattern */
  } else if (value_is(dest, "document")) {
    doc = true;
  } else if (value_is(dest, "iframe") || value_is(dest, "frame")) {
    doc = true;
    top = false;
  } else if (d_script) {
    script = true;
  }
  if (!doc && !script && !data) return a->ignored;
  if (req->method && strcmp(req->method, "GET") != 0 && !doc && !data) return a->ignored;
  fca_audit_exchange_t *x = new_exchange(a, req, CLIENT_KEY, rv, rl);
  x->doc_candidate = doc;
  x->top_level = top;
  x->no_dest = !dest;
  x->script_candidate = script && (!req->method || strcmp(req->method, "GET") == 0);
  x->data_candidate = data;
  x->sfd_script = d_script;
  return x;
}
#undef CLIENT_KEY

bool fca_audit_wants_body(const fca_audit_exchange_t *x) {
  return !x->ignored && x->mode != FCA_X_NONE && !x->ended;
}

/* ---- response head ---------------------------------------------------------------------- */

/* Without Sec-Fetch-Dest a document is top-level unless a parent's <iframe> names it. */
static bool top_level_of(fca_audit_exchange_t *x) {
  if (!x->no_dest || !x->top_level) return x->top_level;
  pthread_mutex_lock(&x->a->mu);
  bool framed = fca_correlate_is_framed(x->a, x->client_id, x->url, x->referer, x->now_ms);
  pthread_mutex_unlock(&x->a->mu);
  return !framed;
}

static void new_page(fca_audit_exchange_t *x, const fca_audit_header_t *hs, size_t n) {
  fca_audit_t *a = x->a;
  x->top_level = top_level_of(x);
  fca_page_t *p =
      fca_page_new(0, x->url, x->client, x->client_id, x->referer, x->top_level, x->now_ms);
  p->status = x->status;
  for (size_t i = 0; i < n; i++)
    fca_page_add_header(p, hs[i].name, hs[i].name_len, hs[i].value, hs[i].value_len);
  fca_page_parse_headers(p);
  fca_stack_detect(hs, n, &p->stack);
  pthread_mutex_lock(&a->mu);
  p->id = ++a->next_page_id;
  fca_registry_add(a->reg, p, x->now_ms);
  a->pages_seen++;
  if (!p->top_level) fca_correlate_framed_page(a, p);
  pthread_mutex_unlock(&a->mu);
  x->page = p;
  x->mode = FCA_X_DOC;
}

/* A 304 for a document: a new page load that reuses its last full response's findings. */
static void not_modified(fca_audit_exchange_t *x) {
  fca_audit_t *a = x->a;
  x->top_level = top_level_of(x);
  pthread_mutex_lock(&a->mu);
  fca_page_t *prev = fca_registry_by_url(a->reg, x->client_id, x->url);
  if (!prev) {
    pthread_mutex_unlock(&a->mu);
    return;
  }
  fca_page_t *p = fca_page_new(++a->next_page_id, x->url, x->client, x->client_id, x->referer,
                               x->top_level, x->now_ms);
  p->status = 304;
  p->not_modified = true;
  fca_page_copy_findings(p, prev);
  fca_registry_add(a->reg, p, x->now_ms);
  a->pages_seen++;
  for (size_t i = 0; i < p->niframes; i++) fca_correlate_iframe(a, p, i);
  if (!p->top_level) fca_correlate_framed_page(a, p);
  if (prev->tagged_by != FCA_TAG_NONE)
    fca_correlate_tag(a, p, prev->tagged_by, prev->confidence, prev->tag_source, prev->tag_name,
                      prev->tag_ev.value, prev->tag_ev.len, prev->tag_ev.offset, prev->tag_ev.url);
  if (prev->js_url) fca_jsfetch_await(a, p, prev->js_url);
  pthread_mutex_unlock(&a->mu);
  x->page = p;
  x->mode = FCA_X_DOC;
}

static bool same_origin(const char *url, const char *origin) {
  char *o = fca_page_url_origin(url);
  bool same = o && strcmp(o, origin) == 0;
  free(o);
  return same;
}

/* Was this script requested as a script for the page it correlates to (so that a Stripe.js
 * literal in it tags the page)? Sec-Fetch-Dest, when present, is `script` (checked at begin);
 * a Referer, when present, names that page: its URL, or its origin when the policy sends only
 * that; with neither (a non-browser client, a plain-HTTP page with no-referrer), the page's HTML
 * must have loaded this URL with a <script src>. Lock held. */
static bool script_for_page(const fca_audit_exchange_t *x, fca_match_t m) {
  if (x->referer && *x->referer) {
    if (fca_correlate_referer_is_full(x->referer)) return m.confidence == FCA_CONF_HIGH;
    return same_origin(x->referer, m.page->origin);
  }
  return x->sfd_script || fca_page_references_script(m.page, x->url);
}

void fca_audit_response_head(fca_audit_exchange_t *x, int status, const fca_audit_header_t *headers,
                             size_t nheaders) {
  if (x->ignored || x->mode != FCA_X_NONE || x->ended) return;
  /* (an urlencoded request body is read up to the end of the exchange: a server may answer
   * before the whole body has passed) */
  if (x->js_request) {
    pthread_mutex_lock(&x->a->mu);
    fca_jsfetch_response(x->a, x->client_id, x->url, x->now_ms, status, headers, nheaders);
    pthread_mutex_unlock(&x->a->mu);
    return;
  }
  x->status = status;
  const fca_audit_header_t *ct = NULL;
  size_t ce_len = 0, nce = 0;
  for (size_t i = 0; i < nheaders; i++) {
    if (name_is(&headers[i], "content-type"))
      ct = &headers[i];
    else if (name_is(&headers[i], "content-encoding")) {
      ce_len += headers[i].value_len + 1;
      nce++;
    }
  }
  bool ok = status >= 200 && status < 300 && status != 204 && status != 205;
  bool err_page = status >= 400 && status < 600;
  if (x->doc_candidate && status == 304) {
    not_modified(x);
    return;
  }
  bool html = ct && fca_detect_ctype_html(ct->value, ct->value_len);
  if (x->doc_candidate && html && (ok || err_page)) {
    new_page(x, headers, nheaders);
  } else if (x->script_candidate && ok &&
             (x->sfd_script || (ct && fca_detect_ctype_js(ct->value, ct->value_len)))) {
    fca_audit_t *a = x->a;
    pthread_mutex_lock(&a->mu);
    fca_match_t m = fca_correlate_page(a, x->client_id, x->referer, x->now_ms);
    if (m.page) {
      fca_page_ref(m.page);
      x->page = m.page;
      x->same_origin = same_origin(x->url, m.page->origin);
      x->lit_tags = script_for_page(x, m);
      x->mode = FCA_X_SCRIPT;
    }
    pthread_mutex_unlock(&a->mu);
  } else if (x->api_candidate && ok && ct && fca_detect_ctype_json(ct->value, ct->value_len)) {
    x->mode = FCA_X_API;
  } else if (x->data_candidate &&
             (status == 304 || (ok && ct &&
                                (fca_detect_ctype_json(ct->value, ct->value_len) ||
                                 fca_detect_ctype_js(ct->value, ct->value_len))))) {
    /* a JSON or JavaScript answer of the page's own site (the `/config` pattern); a 304 reuses
     * the client's cached copy, whose keys were remembered when it was served in full */
    char *site = fca_page_url_site(x->url);
    fca_audit_t *a = x->a;
    pthread_mutex_lock(&a->mu);
    fca_match_t m = fca_correlate_page(a, x->client_id, x->referer, x->now_ms);
    if (m.page && site && strcmp(site, m.page->site) == 0) {
      if (status == 304) {
        fca_keymemo_apply(a, x->client_id, x->url, m.page);
      } else {
        fca_keymemo_forget(a, x->client_id, x->url);
        fca_page_ref(m.page);
        x->page = m.page;
        x->mode = FCA_X_DATA;
      }
    }
    pthread_mutex_unlock(&a->mu);
    free(site);
  }
  if (x->mode == FCA_X_NONE) return;
  char *ce = NULL;
  if (nce && !x->body_decoded) {
    ce = fca_xcalloc(1, ce_len + 1);
    for (size_t i = 0; i < nheaders; i++)
      if (name_is(&headers[i], "content-encoding")) {
        if (*ce) strcat(ce, ",");
        strncat(ce, headers[i].value, headers[i].value_len);
      }
  }
  fca_docscan_start(x, ce);
  free(ce);
}

void fca_audit_response_body(fca_audit_exchange_t *x, const void *data, size_t len) {
  if (x->ignored || x->mode == FCA_X_NONE || x->ended || len == 0) return;
  fca_docscan_body(x, data, len);
}

void fca_audit_response_no_body(fca_audit_exchange_t *x, const char *why) {
  if (x->ignored || x->ended) return;
  const char *what = NULL;
  fca_page_t *p = x->page;
  if (x->mode == FCA_X_DOC && !p->not_modified)
    what = "document: its Stripe.js <script> tags, <meta> referrer policy and CSP, <iframe> "
           "sandbox attributes, inline scripts and keys could not be judged (its headers were)";
  else if (x->mode == FCA_X_SCRIPT)
    what = "script: a Stripe.js URL, Financial Connections calls or keys in it could not be seen";
  else if (x->mode == FCA_X_API)
    what = "Stripe API response: the test-mode institutions it links could not be seen";
  else if (x->mode == FCA_X_DATA) { /* keys an earlier full copy held still count */
    pthread_mutex_lock(&x->a->mu);
    fca_keymemo_apply(x->a, x->client_id, x->url, p);
    pthread_mutex_unlock(&x->a->mu);
  } else if (x->mode == FCA_X_NONE && x->doc_candidate && x->status == 304)
    what = "304 Not Modified with no earlier full response of this document: nothing in it "
           "could be judged";
  if (!what) return;
  char *msg = fca_xasprintf("no body for %s (%s); %s", x->url, why ? why : "not recorded", what);
  pthread_mutex_lock(&x->a->mu);
  fca_rules_note(x->a, x->mode == FCA_X_API ? NULL : p, x->client, "body-missing", msg);
  pthread_mutex_unlock(&x->a->mu);
  free(msg);
}

void fca_audit_response_end(fca_audit_exchange_t *x, bool complete) {
  if (x->ignored || x->ended) return;
  x->ended = true;
  api_form_done(x);
  if (x->mode != FCA_X_NONE) fca_docscan_end(x, complete);
}

void fca_audit_exchange_free(fca_audit_exchange_t *x) {
  if (!x || x->ignored) return;
  if (!x->ended) fca_audit_response_end(x, false);
  fca_docscan_free(x);
  if (x->page) {
    pthread_mutex_lock(&x->a->mu);
    fca_page_unref(x->page);
    pthread_mutex_unlock(&x->a->mu);
  }
  free(x->base);
  free(x->form);
  free(x);
}

void fca_audit_finish(fca_audit_t *a) {
  pthread_mutex_lock(&a->mu);
  if (a->finished) {
    pthread_mutex_unlock(&a->mu);
    return;
  }
  a->finished = true;
  fca_correlate_pending(a, true);
  fca_jsfetch_settle(a, fca_now_ms(), true);
  fca_summary_t *s = fca_summary_build(a);
  fca_event_t ev = {.type = FCA_EV_SUMMARY, .summary = s, .count = 1};
  ev.message = s->warning ? s->warning : "end of run";
  fca_audit_emit(a, &ev);
  fca_summary_free(s);
  pthread_mutex_unlock(&a->mu);
}

void fca_audit_tick(fca_audit_t *a, int64_t now_ms) {
  if (!atomic_load_explicit(&a->nawait_hint, memory_order_relaxed)) return;
  pthread_mutex_lock(&a->mu);
  if (!a->finished) fca_jsfetch_settle(a, now_ms, false);
  pthread_mutex_unlock(&a->mu);
}

void fca_audit_stats(fca_audit_t *a, fca_audit_stats_t *out) {
  pthread_mutex_lock(&a->mu);
  out->exchanges = atomic_load(&a->exchanges);
  out->bytes_inspected = atomic_load(&a->bytes_inspected);
  out->pages_seen = a->pages_seen;
  out->pages_tagged = a->pages_tagged;
  out->violations = a->violations;
  out->notes = a->notes;
  out->test_mode_judged =
      fca_ruleset_level_of(a->o.rules, FCA_RULE_TEST_2, NULL) != FCA_LEVEL_IGNORE;
  out->test_institutions = a->institutions;
  out->api_test = a->api_test;
  out->api_live = a->api_live;
  pthread_mutex_unlock(&a->mu);
}

const char *fca_audit_test_institution(int i) {
  return i >= 0 && i < FCA_TEST_INSTITUTIONS ? fca_test_institutions[i] : NULL;
}
