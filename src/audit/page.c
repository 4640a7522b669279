/* page: construction, header capture and parsing, 304 copies, and URL keys of a page record.
 * Only the headers the rules read are kept, each as raw lines (evidence is the value exactly
 * as sent); parsing happens once when the head is complete. */
#include "page.h"

#include "fcaudit/util.h"
#include "trustworthy.h"
#include "url.h"

#include <libpsl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *fca_tag_kind_name(fca_tag_kind_t k) {
  switch (k) {
  case FCA_TAG_NONE: return NULL;
  case FCA_TAG_SCRIPT_LITERAL: return "script-literal";
  case FCA_TAG_SCRIPT_REQUEST: return "script-request";
  case FCA_TAG_SCRIPT_TAG: return "script-tag";
  }
  return NULL;
}

const char *fca_confidence_name(fca_confidence_t c) {
  switch (c) {
  case FCA_CONF_NONE: return NULL;
  case FCA_CONF_MEDIUM: return "medium";
  case FCA_CONF_HIGH: return "high";
  }
  return NULL;
}

static char *dup_or_null(const char *s) { return s ? fca_xstrdup(s) : NULL; }

char *fca_page_url_nofrag(const char *url) {
  const char *h = strchr(url, '#');
  return h ? fca_xstrndup(url, (size_t)(h - url)) : fca_xstrdup(url);
}

/* scheme "://" host [":" port], or NULL for a URL without a host. */
static char *origin_of(const fca_url_t *u) {
  if (!u->has_authority || u->host_len == 0) return NULL;
  /* Without userinfo the serialised URL starts with exactly the origin. */
  if (u->host == u->href + u->scheme_len + 3) {
    const char *end = u->port_len ? u->port + u->port_len : u->host + u->host_len;
    return fca_xstrndup(u->href, (size_t)(end - u->href));
  }
  return fca_xasprintf("%.*s://%.*s%s%.*s", (int)u->scheme_len, u->scheme, (int)u->host_len,
                       u->host, u->port_len ? ":" : "", (int)u->port_len, u->port);
}

static char *site_of(const fca_url_t *u) {
  char *host = fca_xstrndup(u->host, u->host_len);
  /* an IP address is its own site (the PSL would cut "127.0.0.1" at its last labels) */
  bool ip = host[0] == '[' || strspn(host, "0123456789.") == u->host_len;
  const char *rd = ip ? NULL : psl_registrable_domain(psl_builtin(), host);
  if (!rd) return host;
  char *site = fca_xstrdup(rd);
  free(host);
  return site;
}

char *fca_page_url_origin(const char *url) {
  fca_url_t u;
  if (fca_url_parse(url, strlen(url), &u) != 0) return NULL;
  char *o = origin_of(&u);
  fca_url_free(&u);
  return o;
}

char *fca_page_url_site(const char *url) {
  fca_url_t u;
  if (fca_url_parse(url, strlen(url), &u) != 0) return NULL;
  char *site = site_of(&u);
  fca_url_free(&u);
  return site;
}

uint64_t fca_page_src_hash(const char *url) {
  uint64_t h = 1469598103934665603ull;
  for (const char *s = url; *s && *s != '#'; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

fca_page_t *fca_page_new(uint64_t id, const char *url, const char *client, const char *client_id,
                         const char *referer, bool top_level, int64_t ts_ms) {
  fca_page_t *p = fca_xcalloc(1, sizeof *p);
  p->id = id;
  p->url = fca_page_url_nofrag(url);
  p->dedup_url = fca_url_without_query(url);
  /* One parse gives the origin, the site and whether the origin is trustworthy. */
  fca_url_t u;
  bool parsed = fca_url_parse(url, strlen(url), &u) == 0;
  p->origin = parsed ? origin_of(&u) : NULL;
  if (!p->origin) p->origin = fca_xstrdup("");
  p->site = parsed ? site_of(&u) : NULL;
  if (!p->site) p->site = fca_xstrdup("");
  p->secure = parsed && fca_url_parsed_trustworthy(&u);
  if (parsed) fca_url_free(&u);
  p->client = fca_xstrdup(client ? client : "");
  p->client_id = fca_xstrdup(client_id ? client_id : (client ? client : ""));
  p->referer = dup_or_null(referer);
  p->top_level = top_level;
  p->ts_ms = ts_ms;
  p->refs = 1;
  return p;
}

void fca_page_ev_set(fca_page_ev_t *ev, const char *value, size_t len, int64_t offset,
                     const char *url) {
  free(ev->value);
  free(ev->url);
  ev->value = fca_xstrndup(value ? value : "", value ? len : 0);
  ev->len = value ? len : 0;
  ev->offset = offset;
  ev->url = dup_or_null(url);
}

void fca_page_ev_set_tag(fca_page_ev_t *ev, const char *tag, size_t len) {
  free(ev->tag);
  ev->tag = tag && len ? fca_xstrndup(tag, len) : NULL;
  ev->tag_len = ev->tag ? len : 0;
}

void fca_page_ev_clear(fca_page_ev_t *ev) {
  free(ev->value);
  free(ev->url);
  free(ev->tag);
  memset(ev, 0, sizeof *ev);
}

static void ev_copy(fca_page_ev_t *d, const fca_page_ev_t *s) {
  memset(d, 0, sizeof *d);
  if (s->value) fca_page_ev_set(d, s->value, s->len, s->offset, s->url);
  if (s->tag) fca_page_ev_set_tag(d, s->tag, s->tag_len);
}

void *fca_page_push(void **arr, size_t *n, size_t *cap, size_t elem, size_t max) {
  if (*n >= max) return NULL;
  if (*n == *cap) {
    size_t c = *cap ? *cap * 2 : 2;
    if (c > max) c = max;
    *arr = fca_xrealloc(*arr, c * elem);
    *cap = c;
  }
  void *e = (char *)*arr + *n * elem;
  memset(e, 0, elem);
  (*n)++;
  return e;
}

static void lines_free(fca_page_lines_t *l) {
  for (size_t i = 0; i < l->n; i++) free(l->v[i]);
  free(l->v);
  memset(l, 0, sizeof *l);
}

static void lines_copy(fca_page_lines_t *d, const fca_page_lines_t *s) {
  lines_free(d);
  if (s->n) d->v = fca_xcalloc(s->n, sizeof *d->v);
  for (size_t i = 0; i < s->n; i++) d->v[i] = fca_xstrdup(s->v[i]);
  d->n = d->cap = s->n;
  d->dropped = s->dropped;
}

static void free_findings(fca_page_t *p) {
  lines_free(&p->coop);
  lines_free(&p->coop_ro);
  lines_free(&p->refpol);
  lines_free(&p->csp);
  lines_free(&p->csp_ro);
  lines_free(&p->coep);
  free(p->base);
  p->base = NULL;
  for (size_t i = 0; i < p->nscripts; i++) {
    fca_page_ev_clear(&p->scripts[i].src);
    fca_page_ev_clear(&p->scripts[i].refpol);
    free(p->scripts[i].url);
    free(p->scripts[i].nonce);
    free(p->scripts[i].integrity);
  }
  for (size_t i = 0; i < p->ncspmetas; i++) fca_page_ev_clear(&p->cspmetas[i].content);
  for (size_t i = 0; i < p->ninlines; i++) {
    free(p->inlines[i].attr_name);
    free(p->inlines[i].nonce);
  }
  free(p->cspmetas);
  free(p->inlines);
  p->cspmetas = NULL;
  p->inlines = NULL;
  p->ncspmetas = p->ninlines = p->cap_cspmetas = p->cap_inlines = 0;
  for (size_t i = 0; i < p->nmetas; i++) fca_page_ev_clear(&p->metas[i].content);
  for (size_t i = 0; i < p->niframes; i++) {
    free(p->iframes[i].src);
    fca_page_ev_clear(&p->iframes[i].sandbox);
  }
  for (size_t i = 0; i < p->nkeys; i++) fca_page_ev_clear(&p->keys[i].key);
  for (size_t i = 0; i < p->nfc; i++) fca_page_ev_clear(&p->fc[i].ev);
  free(p->scripts);
  free(p->metas);
  free(p->iframes);
  free(p->keys);
  free(p->fc);
  free(p->srcs);
  p->srcs = NULL;
  p->nsrcs = p->cap_srcs = 0;
  p->scripts = NULL;
  p->metas = NULL;
  p->iframes = NULL;
  p->keys = NULL;
  p->fc = NULL;
  p->nscripts = p->nmetas = p->niframes = p->nkeys = p->nfc = 0;
  p->cap_scripts = p->cap_metas = p->cap_iframes = p->cap_keys = p->cap_fc = 0;
}

void fca_page_ref(fca_page_t *p) { p->refs++; }

void fca_page_unref(fca_page_t *p) {
  while (p && --p->refs == 0) {
    fca_page_t *parent = p->parent;
    free_findings(p);
    fca_page_ev_clear(&p->tag_ev);
    free(p->js_url);
    free(p->fired);
    free(p->url);
    free(p->dedup_url);
    free(p->origin);
    free(p->site);
    free(p->client);
    free(p->client_id);
    free(p->referer);
    free(p);
    p = parent; /* iterative: a long chain of frames never recurses */
  }
}

static fca_page_lines_t *lines_for(fca_page_t *p, const char *name, size_t n) {
  static const struct {
    const char *name;
    size_t off;
  } kept[] = {
      {"cross-origin-opener-policy", offsetof(fca_page_t, coop)},
      {"cross-origin-opener-policy-report-only", offsetof(fca_page_t, coop_ro)},
      {"referrer-policy", offsetof(fca_page_t, refpol)},
      {"content-security-policy", offsetof(fca_page_t, csp)},
      {"content-security-policy-report-only", offsetof(fca_page_t, csp_ro)},
      {"cross-origin-embedder-policy", offsetof(fca_page_t, coep)},
  };
  for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
    if (strlen(kept[i].name) == n && strncasecmp(kept[i].name, name, n) == 0)
      return (fca_page_lines_t *)((char *)p + kept[i].off);
  return NULL;
}

void fca_page_add_header(fca_page_t *p, const char *name, size_t name_len, const char *value,
                         size_t value_len) {
  fca_page_lines_t *l = lines_for(p, name, name_len);
  if (!l) return;
  char **slot =
      fca_page_push((void **)&l->v, &l->n, &l->cap, sizeof *l->v, FCA_PAGE_HEADER_LINES_MAX);
  if (!slot) {
    l->dropped++;
    return;
  }
  *slot = fca_xstrndup(value, value_len);
}

static size_t spans(const fca_page_lines_t *l, fca_policy_str_t *out) {
  for (size_t i = 0; i < l->n; i++) out[i] = (fca_policy_str_t){l->v[i], strlen(l->v[i])};
  return l->n;
}

void fca_page_parse_headers(fca_page_t *p) {
  fca_policy_str_t a[FCA_PAGE_HEADER_LINES_MAX], b[FCA_PAGE_HEADER_LINES_MAX];
  size_t n = spans(&p->coop, a);
  fca_coop_parse(a, n, &p->coop_p);
  n = spans(&p->coop_ro, a);
  fca_coop_parse(a, n, &p->coop_ro_p);
  n = spans(&p->coep, a);
  fca_coep_parse(a, n, &p->coep_p);
  n = spans(&p->refpol, a);
  fca_referrer_parse_header(a, n, &p->refpol_p);
  n = spans(&p->csp, a);
  size_t m = spans(&p->csp_ro, b);
  fca_csp_sandbox(a, n, b, m, &p->csp_p);
}

void fca_page_copy_findings(fca_page_t *d, const fca_page_t *s) {
  free_findings(d);
  lines_copy(&d->coop, &s->coop);
  lines_copy(&d->coop_ro, &s->coop_ro);
  lines_copy(&d->refpol, &s->refpol);
  lines_copy(&d->csp, &s->csp);
  lines_copy(&d->csp_ro, &s->csp_ro);
  lines_copy(&d->coep, &s->coep);
  fca_page_parse_headers(d);
  d->stack = s->stack;
  d->base = dup_or_null(s->base);
  for (size_t i = 0; i < s->nscripts; i++) {
    fca_page_script_t *e = FCA_PAGE_PUSH(d, scripts);
    e->has_refpol = s->scripts[i].has_refpol;
    ev_copy(&e->src, &s->scripts[i].src);
    ev_copy(&e->refpol, &s->scripts[i].refpol);
    e->url = dup_or_null(s->scripts[i].url);
    e->nonce = dup_or_null(s->scripts[i].nonce);
    e->integrity = dup_or_null(s->scripts[i].integrity);
    e->nmeta = s->scripts[i].nmeta;
  }
  for (size_t i = 0; i < s->ncspmetas; i++) {
    fca_page_cspmeta_t *e = FCA_PAGE_PUSH(d, cspmetas);
    ev_copy(&e->content, &s->cspmetas[i].content);
  }
  for (size_t i = 0; i < s->ninlines; i++) {
    fca_page_inline_t *e = FCA_PAGE_PUSH(d, inlines);
    *e = s->inlines[i];
    e->attr_name = dup_or_null(s->inlines[i].attr_name);
    e->nonce = dup_or_null(s->inlines[i].nonce);
    e->req.nonce = (fca_policy_str_t){e->nonce, e->nonce ? strlen(e->nonce) : 0};
  }
  for (size_t i = 0; i < s->nmetas; i++) {
    fca_page_meta_t *e = FCA_PAGE_PUSH(d, metas);
    *e = s->metas[i];
    ev_copy(&e->content, &s->metas[i].content);
  }
  for (size_t i = 0; i < s->niframes; i++) {
    fca_page_iframe_t *e = FCA_PAGE_PUSH(d, iframes);
    *e = s->iframes[i];
    e->src = dup_or_null(s->iframes[i].src);
    ev_copy(&e->sandbox, &s->iframes[i].sandbox);
  }
  for (size_t i = 0; i < s->nkeys; i++) {
    fca_page_key_t *e = FCA_PAGE_PUSH(d, keys);
    *e = s->keys[i];
    ev_copy(&e->key, &s->keys[i].key);
  }
  for (size_t i = 0; i < s->nfc; i++) {
    fca_page_fc_t *e = FCA_PAGE_PUSH(d, fc);
    *e = s->fc[i];
    ev_copy(&e->ev, &s->fc[i].ev);
  }
  if (s->nsrcs) {
    d->srcs = fca_xmalloc(s->nsrcs * sizeof *d->srcs);
    memcpy(d->srcs, s->srcs, s->nsrcs * sizeof *d->srcs);
    d->nsrcs = d->cap_srcs = s->nsrcs;
  }
  if (s->nsrcs) {
    d->srcs = fca_xmalloc(s->nsrcs * sizeof *d->srcs);
    memcpy(d->srcs, s->srcs, s->nsrcs * sizeof *d->srcs);
    d->nsrcs = d->cap_srcs = s->nsrcs;
  }
  d->dropped = s->dropped;
}
