/* docscan: the body pipelines of inspected exchanges, run by the exchange's own thread outside
 * the audit lock: decode (capped at max_audit_bytes) -> html_scan for documents, -> litscan
 * for scripts, -> a bounded JSON buffer for api.stripe.com. What the scanners report is
 * recorded on the page under the lock, and rules run at once when the page is tagged. Offsets
 * are in the decoded body. */
#include "engine.h"
#include "fcaudit/util.h"
#include "rules.h"
#include "url.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void lock(fca_audit_exchange_t *x) { pthread_mutex_lock(&x->a->mu); }
static void unlock(fca_audit_exchange_t *x) { pthread_mutex_unlock(&x->a->mu); }

/* ---- recording (lock held) ------------------------------------------------------------ */

static void add_key(fca_audit_exchange_t *x, bool live, const char *v, size_t n, int64_t off,
                    const char *source, const char *url) {
  fca_correlate_key(x->a, x->page, live, v, n, off, source, "publishable key", url);
}

static void add_fc(fca_audit_exchange_t *x, const char *v, size_t n, int64_t off, const char *url) {
  fca_page_t *p = x->page;
  for (size_t i = 0; i < p->nfc; i++)
    if (p->fc[i].ev.len == n && memcmp(p->fc[i].ev.value, v, n) == 0) return;
  fca_page_fc_t *f = FCA_PAGE_PUSH(p, fc);
  if (!f) {
    p->dropped++;
    return;
  }
  f->kind = "fc-method";
  f->source = "script";
  fca_page_ev_set(&f->ev, v, n, off, url);
  if (p->card) p->card->fc_kinds |= 1u;
}

/* What a literal scan found, in an inline script (DOC) or a script response (SCRIPT). */
static void on_lit(void *ud, fca_lit_kind_t kind, const char *v, size_t n, uint64_t off) {
  fca_audit_exchange_t *x = ud;
  bool doc = x->mode == FCA_X_DOC;
  const char *url = doc ? NULL : x->url;
  if (x->mode == FCA_X_DATA) { /* a JSON/JS answer to a fetch: only keys count */
    if (kind != FCA_LIT_KEY_TEST && kind != FCA_LIT_KEY_LIVE) return;
    lock(x);
    add_key(x, kind == FCA_LIT_KEY_LIVE, v, n, (int64_t)off, "response", url);
    fca_keymemo_put(x->a, x->client_id, x->url, kind == FCA_LIT_KEY_LIVE, v, n, (int64_t)off);
    unlock(x);
    return;
  }
  lock(x);
  switch (kind) {
  case FCA_LIT_STRIPEJS:
    if (doc ? x->lit_runs : x->same_origin && x->lit_tags)
      fca_correlate_tag(x->a, x->page, FCA_TAG_SCRIPT_LITERAL, FCA_CONF_MEDIUM, "script",
                        doc ? "inline script" : "script", v, n, (int64_t)off, url);
    break;
  case FCA_LIT_FC_METHOD: add_fc(x, v, n, (int64_t)off, url); break;
  case FCA_LIT_KEY_TEST:
  case FCA_LIT_KEY_LIVE:
    add_key(x, kind == FCA_LIT_KEY_LIVE, v, n, (int64_t)off, "script", url);
    break;
  }
  unlock(x);
}

/* Keys in attribute values (data-key="pk_live_..."): offset of the tag. */
static void on_attr_lit(void *ud, fca_lit_kind_t kind, const char *v, size_t n, uint64_t off) {
  fca_audit_exchange_t *x = ud;
  if (kind != FCA_LIT_KEY_TEST && kind != FCA_LIT_KEY_LIVE) return;
  lock(x);
  add_key(x, kind == FCA_LIT_KEY_LIVE, v, n, (int64_t)off, "body", NULL);
  unlock(x);
}

/* ---- html_scan callbacks (DOC) -------------------------------------------------------- */

static const char *base_of(const fca_audit_exchange_t *x) { return x->base ? x->base : x->url; }

/* Start tags the HTML parser keeps in (or moves to) the head; any other starts the body. */
static bool head_tag(const fca_html_tag_t *t) {
  static const char *const names[] = {"html",    "head",  "base",     "basefont",
                                      "bgsound", "link",  "meta",     "noscript",
                                      "script",  "style", "template", "title"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (t->name_len == strlen(names[i]) && memcmp(t->name, names[i], t->name_len) == 0) return true;
  return false;
}

static void csp_inline_record(fca_audit_exchange_t *x, bool attr, const char *attr_name,
                              size_t attr_len, const char *what, int64_t off,
                              const fca_csp_request_t *req, const char *nonce, size_t nmeta) {
  fca_page_t *p = x->page;
  fca_page_inline_t *e = FCA_PAGE_PUSH(p, inlines);
  if (!e) {
    p->dropped++;
    return;
  }
  e->attr = attr;
  e->attr_name = attr_name ? fca_xstrndup(attr_name, attr_len) : NULL;
  e->what = what;
  e->offset = off;
  e->req = *req;
  e->nonce = nonce ? fca_xstrdup(nonce) : NULL;
  e->req.nonce = (fca_policy_str_t){e->nonce, e->nonce ? strlen(e->nonce) : 0};
  e->nmeta = nmeta;
  fca_rules_evaluate(x->a, p);
}

/* Event-handler attributes that set Stripe up, on a page with a CSP. */
static void csp_handlers(fca_audit_exchange_t *x, const fca_html_tag_t *t) {
  for (size_t i = 0; i < t->nattrs; i++) {
    const fca_html_attr_t *at = &t->attrs[i];
    if (at->name_len < 3 || at->name[0] != 'o' || at->name[1] != 'n') continue;
    const char *what = fca_setupscan_text(at->value, at->value_len);
    if (!what) continue;
    lock(x);
    fca_page_t *p = x->page;
    bool algs[3] = {true, false, false}; /* SHA-256 always: the fix names it */
    fca_rule_csp_hash_algs(p, FCA_CSP_SCRIPT_ATTR, p->ncspmetas, algs);
    fca_csp_request_t req = {.kind = FCA_CSP_SCRIPT_ATTR};
    fca_csp_digest_t d;
    fca_csp_digest_init(&d, algs);
    fca_csp_digest_update(&d, at->value, at->value_len);
    fca_csp_digest_final(&d, &req);
    csp_inline_record(x, true, at->name, at->name_len, what, (int64_t)t->offset, &req, NULL,
                      p->ncspmetas);
    unlock(x);
  }
}

static void on_tag(void *ud, const fca_html_tag_t *t) {
  fca_audit_exchange_t *x = ud;
  if (t->end_tag || t->inert) return;
  if (!x->in_body && !head_tag(t)) x->in_body = true;
  if (x->csp_any) csp_handlers(x, t);
  for (size_t i = 0; i < t->nattrs; i++) {
    const fca_html_attr_t *at = &t->attrs[i];
    if (at->value_len < 8 || !memmem(at->value, at->value_len, "pk_", 3)) continue;
    if (t->name_len == 6 && memcmp(t->name, "script", 6) == 0 && at->name_len == 3 &&
        memcmp(at->name, "src", 3) == 0)
      continue;
    fca_litscan_t *ls = fca_litscan_new(on_attr_lit, x);
    fca_litscan_restart(ls, t->offset);
    fca_litscan_feed(ls, at->value, at->value_len);
    fca_litscan_finish(ls);
    fca_litscan_free(ls);
  }
}

/* An inline script that runs, on a page with a CSP: hash it (for the algorithms the policies
 * name) and look for set-up code while its text streams past. */
static void csp_inline_start(fca_audit_exchange_t *x, const fca_html_tag_t *t,
                             const fca_html_script_t *s) {
  if (!x->inl) x->inl = fca_xcalloc(1, sizeof *x->inl);
  struct fca_csp_inline *in = x->inl;
  free(in->nonce);
  in->nonce = NULL;
  if (s->nonce.present && fca_csp_element_nonceable(t))
    in->nonce = fca_xstrndup(s->nonce.ptr, s->nonce.len);
  in->script = t->offset + 1;
  fca_setupscan_reset(&in->setup);
  bool algs[3] = {true, false, false}; /* SHA-256 always: the fix names it */
  lock(x);
  in->nmeta = x->page->ncspmetas;
  fca_rule_csp_hash_algs(x->page, FCA_CSP_SCRIPT_ELEM, in->nmeta, algs);
  unlock(x);
  fca_csp_digest_init(&in->digest, algs);
}

static char *resolve_nofrag(const char *base, const char *ref, size_t n);
static char *http_nofrag(const fca_url_t *u);

static void on_script(void *ud, const fca_html_tag_t *t, const fca_html_script_t *s) {
  fca_audit_exchange_t *x = ud;
  bool runs = !t->inert && fca_detect_script_runs(s);
  x->script_at = t->offset + 1;
  x->script_runs = runs;
  if (x->inl) x->inl->script = 0;
  if (runs && !s->src.present && x->csp_any) csp_inline_start(x, t, s);
  if (!runs || !s->src.present) return;
  /* The src is resolved once: its hash, the Stripe.js test and the URL awaited all read it. */
  const char *base = base_of(x);
  fca_url_t u;
  if (fca_url_resolve(base, strlen(base), s->src.ptr, s->src.len, &u) != 0) return;
  char *abs = http_nofrag(&u);
  if (abs) { /* remembered so that its response can be told to be this page's script */
    lock(x);
    uint64_t *h = FCA_PAGE_PUSH(x->page, srcs);
    if (h) *h = fca_page_src_hash(abs);
    unlock(x);
  }
  if (!fca_detect_stripejs_url(&u, fca_detect_protocol_relative(s->src.ptr, s->src.len))) {
    fca_url_free(&u);
    free(abs);
    return;
  }
  lock(x);
  fca_page_t *p = x->page;
  fca_page_script_t *e = FCA_PAGE_PUSH(p, scripts);
  if (e) {
    fca_page_ev_set(&e->src, s->src.ptr, s->src.len, (int64_t)t->offset, NULL);
    fca_page_ev_set_tag(&e->src, t->raw, t->raw_len);
    if (s->referrerpolicy.present) {
      e->has_refpol = true;
      fca_page_ev_set(&e->refpol, s->referrerpolicy.ptr, s->referrerpolicy.len, (int64_t)t->offset,
                      NULL);
      fca_page_ev_set_tag(&e->refpol, t->raw, t->raw_len);
    }
    e->url = fca_page_url_nofrag(u.href);
    if (s->nonce.present && fca_csp_element_nonceable(t))
      e->nonce = fca_xstrndup(s->nonce.ptr, s->nonce.len);
    if (s->integrity.present) e->integrity = fca_xstrndup(s->integrity.ptr, s->integrity.len);
    e->nmeta = p->ncspmetas;
  } else {
    p->dropped++;
  }
  fca_url_free(&u);
  fca_correlate_tag(x->a, p, FCA_TAG_SCRIPT_TAG, FCA_CONF_HIGH, "script", "script[src]", s->src.ptr,
                    s->src.len, (int64_t)t->offset, NULL);
  fca_rules_evaluate(x->a, p);
  /* the browser should now request it: await that request */
  if (!p->js_url) fca_jsfetch_await(x->a, p, abs);
  unlock(x);
  free(abs);
}

static void csp_inline_text(fca_audit_exchange_t *x, const fca_html_text_t *txt) {
  struct fca_csp_inline *in = x->inl;
  if (txt->len) {
    fca_csp_digest_update(&in->digest, txt->data, txt->len);
    fca_setupscan_feed(&in->setup, txt->data, txt->len);
  }
  if (!txt->last) return;
  in->script = 0;
  fca_csp_request_t req = {.kind = FCA_CSP_SCRIPT_ELEM, .nonceable = in->nonce != NULL};
  fca_csp_digest_final(&in->digest, &req);
  if (!in->setup.found) return;
  lock(x);
  csp_inline_record(x, false, NULL, 0, in->setup.found, (int64_t)txt->script_offset, &req,
                    in->nonce, in->nmeta);
  unlock(x);
}

static void on_inline(void *ud, const fca_html_text_t *txt) {
  fca_audit_exchange_t *x = ud;
  if (txt->inert) return;
  if (x->inl && x->inl->script == txt->script_offset + 1) csp_inline_text(x, txt);
  if (!x->lit) x->lit = fca_litscan_new(on_lit, x);
  if (x->lit_script != txt->script_offset + 1) {
    fca_litscan_restart(x->lit, txt->offset);
    x->lit_script = txt->script_offset + 1;
    x->lit_runs = x->script_at == txt->script_offset + 1 && x->script_runs;
  }
  if (txt->len) fca_litscan_feed(x->lit, txt->data, txt->len);
  if (txt->last) {
    fca_litscan_finish(x->lit);
    x->lit_script = 0;
  }
}

/* <meta http-equiv="Content-Security-Policy">: HTML's http-equiv processing enforces it only
 * for a meta in the head with a non-empty content (the parser moves a meta seen after </head>
 * but before the body into the head). */
static void csp_meta(fca_audit_exchange_t *x, const fca_html_tag_t *t, const fca_html_meta_t *m) {
  if (x->in_body || !m->content.present || m->content.len == 0) return;
  lock(x);
  fca_page_t *p = x->page;
  fca_page_cspmeta_t *e = FCA_PAGE_PUSH(p, cspmetas);
  if (e) {
    fca_page_ev_set(&e->content, m->content.ptr, m->content.len, (int64_t)t->offset, NULL);
    fca_page_ev_set_tag(&e->content, t->raw, t->raw_len);
    x->csp_any = true;
    fca_rules_evaluate(x->a, p);
  } else {
    p->dropped++;
  }
  unlock(x);
}

static void on_meta(void *ud, const fca_html_tag_t *t, const fca_html_meta_t *m) {
  fca_audit_exchange_t *x = ud;
  if (t->inert) return;
  if (m->http_equiv.present && m->http_equiv.len == 23 &&
      strncasecmp(m->http_equiv.ptr, "content-security-policy", 23) == 0)
    csp_meta(x, t, m);
  if (!m->name.present) return;
  bool referrer = m->name.len == 8 && strncasecmp(m->name.ptr, "referrer", 8) == 0;
  bool referer = m->name.len == 7 && strncasecmp(m->name.ptr, "referer", 7) == 0;
  if (!referrer && !referer) return;
  const char *c = m->content.present ? m->content.ptr : "";
  size_t cl = m->content.present ? m->content.len : 0;
  if (referrer && !m->content.present) return; /* no content: the tag is ignored */
  lock(x);
  fca_page_t *p = x->page;
  fca_page_meta_t *e = FCA_PAGE_PUSH(p, metas);
  if (e) {
    e->referer_spelling = referer;
    e->policy = referrer ? fca_referrer_parse_meta(c, cl) : FCA_REFPOL_NONE;
    fca_page_ev_set(&e->content, c, cl, (int64_t)t->offset, NULL);
    fca_page_ev_set_tag(&e->content, t->raw, t->raw_len);
    fca_rules_evaluate(x->a, p);
  } else {
    p->dropped++;
  }
  unlock(x);
}

/* An http(s) URL without its fragment, else NULL. */
static char *http_nofrag(const fca_url_t *u) {
  size_t sl = u->scheme_len;
  if ((sl == 4 && memcmp(u->scheme, "http", 4) == 0) ||
      (sl == 5 && memcmp(u->scheme, "https", 5) == 0))
    return fca_page_url_nofrag(u->href);
  return NULL;
}

static char *resolve_nofrag(const char *base, const char *ref, size_t n) {
  fca_url_t u;
  if (fca_url_resolve(base, strlen(base), ref, n, &u) != 0) return NULL;
  char *r = http_nofrag(&u);
  fca_url_free(&u);
  return r;
}

static void on_iframe(void *ud, const fca_html_tag_t *t, const fca_html_iframe_t *f) {
  fca_audit_exchange_t *x = ud;
  if (t->inert) return;
  char *src = NULL;
  if (f->src.present && f->src.len > 0 && !f->srcdoc.present)
    src = resolve_nofrag(base_of(x), f->src.ptr, f->src.len);
  if (!src && !f->sandbox.present) return; /* nothing to join, nothing to judge */
  lock(x);
  fca_page_t *p = x->page;
  fca_page_iframe_t *e = FCA_PAGE_PUSH(p, iframes);
  if (e) {
    size_t idx = p->niframes - 1;
    e->src = src;
    src = NULL;
    e->offset = (int64_t)t->offset;
    e->sb = FCA_SANDBOX_NONE;
    if (f->sandbox.present) {
      e->sb = fca_sandbox_parse(f->sandbox.ptr, f->sandbox.len);
      fca_page_ev_set(&e->sandbox, f->sandbox.ptr, f->sandbox.len, (int64_t)t->offset, NULL);
      fca_page_ev_set_tag(&e->sandbox, t->raw, t->raw_len);
    }
    fca_correlate_iframe(x->a, p, idx);
  } else {
    p->dropped++;
  }
  unlock(x);
  free(src);
}

static void on_base(void *ud, const fca_html_tag_t *t, const char *href, size_t n) {
  fca_audit_exchange_t *x = ud;
  if (x->base) return;
  fca_url_t u;
  if (fca_url_resolve(x->url, strlen(x->url), href, n, &u) != 0) return;
  x->base = fca_xstrdup(u.href);
  fca_url_free(&u);
  lock(x);
  if (!x->page->base) x->page->base = fca_xstrdup(x->base);
  unlock(x);
}

/* ---- the pipeline --------------------------------------------------------------------- */

static int on_decoded(void *ud, const unsigned char *buf, size_t n) {
  fca_audit_exchange_t *x = ud;
  switch (x->mode) {
  case FCA_X_DOC: fca_html_scan_feed(x->scan, buf, n); break;
  case FCA_X_SCRIPT:
  case FCA_X_DATA: fca_litscan_feed(x->lit, buf, n); break;
  case FCA_X_API: fca_stripeapi_feed(x->api, buf, n); break;
  case FCA_X_NONE: break;
  }
  return 0;
}

void fca_docscan_start(fca_audit_exchange_t *x, const char *content_encoding) {
  if (x->mode == FCA_X_DOC && x->page->not_modified) return; /* 304: no body */
  static const fca_html_scan_cb_t cbs = {
      .tag = on_tag,
      .script = on_script,
      .inline_script = on_inline,
      .meta = on_meta,
      .iframe = on_iframe,
      .base = on_base,
  };
  size_t cap = (size_t)x->a->o.max_audit_bytes;
  if (x->mode == FCA_X_API && cap > FCA_STRIPEAPI_MAX + 1) cap = FCA_STRIPEAPI_MAX + 1;
  if (x->mode == FCA_X_DATA && cap > FCA_AUDIT_DATA_MAX) cap = FCA_AUDIT_DATA_MAX;
  x->dec = fca_decode_new(content_encoding, cap, on_decoded, x);
  if (x->mode == FCA_X_DOC) {
    x->scan = fca_html_scan_new(&cbs, x);
    x->csp_any = x->page->csp.n > 0 || x->page->csp_ro.n > 0;
  }
  if (x->mode == FCA_X_SCRIPT || x->mode == FCA_X_DATA) {
    x->lit = fca_litscan_new(on_lit, x);
    fca_litscan_restart(x->lit, 0);
  }
  if (x->mode == FCA_X_API) x->api = fca_stripeapi_new();
}

void fca_docscan_body(fca_audit_exchange_t *x, const void *data, size_t len) {
  if (x->dec) fca_decode_feed(x->dec, data, len);
}

static void doc_notes(fca_audit_exchange_t *x, bool complete) {
  fca_decode_state_t st = fca_decode_state(x->dec);
  char *reason = NULL;
  if (st == FCA_DECODE_CAPPED)
    reason = fca_xasprintf("decoded body passed --max-audit-bytes (%llu bytes): the rest was not "
                           "inspected",
                           (unsigned long long)x->a->o.max_audit_bytes);
  else if (st == FCA_DECODE_CORRUPT || st == FCA_DECODE_UNSUPPORTED)
    reason = fca_xasprintf("content encoding %s: %s", fca_decode_state_name(st),
                           fca_decode_reason(x->dec));
  else if (!complete)
    reason = fca_xstrdup("response cut short: the rest of the document was not inspected");
  else if (st == FCA_DECODE_TRUNCATED)
    reason = fca_xasprintf("content encoding truncated: %s", fca_decode_reason(x->dec));
  if (reason) fca_rules_note(x->a, x->page, x->client, "audit-incomplete", reason);
  free(reason);
  if (fca_html_scan_is_utf16(x->scan))
    fca_rules_note(x->a, x->page, x->client, "audit-incomplete",
                   "UTF-16 document: not scanned (Stripe.js tags, metas and iframes unknown)");
}

void fca_docscan_end(fca_audit_exchange_t *x, bool complete) {
  fca_audit_t *a = x->a;
  if (x->dec) {
    fca_decode_finish(x->dec);
    atomic_fetch_add_explicit(&a->bytes_inspected, fca_decode_bytes_out(x->dec),
                              memory_order_relaxed);
  }
  if (x->mode == FCA_X_DOC) {
    if (x->scan) fca_html_scan_finish(x->scan);
    lock(x);
    fca_page_t *p = x->page;
    if (x->dec) doc_notes(x, complete);
    p->doc_ended = true;
    p->complete = complete;
    fca_rules_evaluate(a, p);
    if (p->announced && !p->top_level && !p->parent) fca_correlate_add_pending(a, p);
    fca_correlate_pending(a, false);
    unlock(x);
  } else if (x->mode == FCA_X_DATA && x->dec && fca_decode_bytes_out(x->dec) == 0) {
    lock(x); /* an empty answer: the client reuses what it was served before */
    fca_keymemo_apply(a, x->client_id, x->url, x->page);
    unlock(x);
  } else if (x->mode == FCA_X_SCRIPT || x->mode == FCA_X_DATA) {
    fca_litscan_finish(x->lit);
  } else if (x->mode == FCA_X_API) {
    fca_stripeapi_result_t r;
    fca_stripeapi_finish(x->api, &r);
    lock(x);
    a->api_responses++;
    if (r.test_mode) a->api_test++;
    if (r.live_mode) a->api_live++;
    a->institutions |= r.linked;
    unlock(x);
  }
}

void fca_docscan_free(fca_audit_exchange_t *x) {
  fca_decode_free(x->dec);
  fca_html_scan_free(x->scan);
  fca_litscan_free(x->lit);
  fca_stripeapi_free(x->api);
  if (x->inl) free(x->inl->nonce);
  free(x->inl);
  x->inl = NULL;
  x->dec = NULL;
  x->scan = NULL;
  x->lit = NULL;
  x->api = NULL;
}
