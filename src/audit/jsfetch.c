/* jsfetch: Stripe.js seen or only referenced (RULES.md). A page tagged by its markup awaits the
 * browser's request for the Stripe.js URL its <script src> names. It is settled:
 *  - fetched: a request for that URL from the same client arrives at or after the page's
 *    response (however late): the page it correlates to (Referer: the page's URL, else the
 *    client's latest document of the Referer's origin) when that page awaits it, else every
 *    page of the client awaiting that URL;
 *  - ran: a request to a Stripe host (Stripe.js' frames, its API and telemetry calls) whose
 *    Referer is the page's (its URL, or its origin: the client's latest document of that
 *    origin) shows Stripe.js ran there, e.g. from the browser's cache without a request;
 *  - never fetched: once the correlation window after the page has passed (checked on every
 *    request while pages await, by fca_audit_tick, and at the end of the run), when the client
 *    requested other subresources of the page in the meantime but not Stripe.js: a `note`
 *    (`stripe-js-not-fetched`). A page whose client requested nothing else (curl, a page
 *    closed at once) says nothing.
 * A copy the client fetched earlier that is still fresh (RFC 9111) is only mentioned in the
 * note: one IP address is often several browser contexts with separate caches, so freshness
 * alone never settles a page. The await list and the table of recent Stripe.js fetches are
 * bounded; runs under the lock. */
#include "engine.h"
#include "fcaudit/util.h"
#include "freshness.h"
#include "rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* The URL as the browser requests it: https (a protocol-relative or http reference to
 * js.stripe.com is upgraded, the host being HSTS-preloaded), no fragment. */
static char *normal_url(const char *url) {
  char *nf = fca_page_url_nofrag(url);
  if (strncasecmp(nf, "http://", 7) == 0) {
    char *s = fca_xasprintf("https://%s", nf + 7);
    free(nf);
    return s;
  }
  return nf;
}

static fca_jsfetch_t *find(fca_audit_t *a, const char *cid, const char *url) {
  for (size_t i = 0; i < FCA_AUDIT_JSFETCH_MAX; i++) {
    fca_jsfetch_t *e = &a->jsfetch[i];
    if (e->url && strcmp(e->client_id, cid) == 0 && strcmp(e->url, url) == 0) return e;
  }
  return NULL;
}

static void set_state(fca_page_t *p, const char *state) {
  if (p->card) p->card->stripe_js = state;
}

static void await_remove(fca_audit_t *a, size_t i) {
  fca_page_t *p = a->await[i];
  p->js_await = false;
  /* shifted, not swapped: the array stays in waiting order, so the longest waiter is first */
  memmove(&a->await[i], &a->await[i + 1], (a->nawait - i - 1) * sizeof a->await[0]);
  a->nawait--;
  atomic_store(&a->nawait_hint, a->nawait);
  fca_page_unref(p);
}

/* Was any enforced-CSP rule fired on the page (FC-CSP-*)? */
static const char *csp_rule_fired(const fca_page_t *p) {
  for (size_t i = 0; i < p->nfired; i++) {
    const fca_rule_info_t *r = fca_rule_get((fca_rule_id_t)p->fired[i].rule);
    if (r && strncmp(r->id, "FC-CSP-", 7) == 0) return r->id;
  }
  return NULL;
}

static void never_fetched(fca_audit_t *a, fca_page_t *p) {
  const char *rule = csp_rule_fired(p);
  char *why;
  if (rule)
    why = fca_xasprintf("references Stripe.js (never fetched): the browser requested %u other "
                        "subresource(s) of this page but never %s; the page's "
                        "Content-Security-Policy is the likely cause (%s)",
                        p->js_others, p->js_url, rule);
  else if (p->csp.n)
    why = fca_xasprintf("references Stripe.js (never fetched): the browser requested %u other "
                        "subresource(s) of this page but never %s; check the page's "
                        "Content-Security-Policy (script-src), extensions or network policies",
                        p->js_others, p->js_url);
  else
    why = fca_xasprintf("references Stripe.js (never fetched): the browser requested %u other "
                        "subresource(s) of this page but never %s (blocked by an extension, a "
                        "network policy, or a script error before it?)",
                        p->js_others, p->js_url);
  if (p->js_cached) {
    char *more = fca_xasprintf("%s (a copy this client fetched earlier was still fresh, but no "
                               "request of the page reached any Stripe host either)",
                               why);
    free(why);
    why = more;
  }
  set_state(p, "never-fetched");
  p->js_noted = true;
  fca_rules_note(a, p, NULL, "stripe-js-not-fetched", why);
  free(why);
}

void fca_jsfetch_settle(fca_audit_t *a, int64_t now_ms, bool final) {
  int64_t w = (int64_t)a->o.correlation_window_ms;
  for (size_t i = 0; i < a->nawait;) {
    fca_page_t *p = a->await[i];
    if (!p->js_fetched && !final && now_ms <= p->ts_ms + w) {
      i++;
      continue;
    }
    if (!p->js_fetched && p->js_others > 0 && p->announced) never_fetched(a, p);
    await_remove(a, i);
  }
}

void fca_jsfetch_await(fca_audit_t *a, fca_page_t *p, const char *src_url) {
  if (p->js_url || !src_url) return;
  p->js_url = normal_url(src_url);
  fca_jsfetch_t *e = find(a, p->client_id, p->js_url);
  if (e && e->at_ms >= p->ts_ms) { /* requested as soon as the tag reached the browser */
    p->js_fetched = true;
    set_state(p, "fetched");
    return;
  }
  if (e && e->fresh_until_ms >= p->ts_ms) { /* maybe run from the cache: said, not decisive */
    p->js_cached = true;
    set_state(p, "cached");
  }
  if (a->nawait == FCA_AUDIT_AWAIT_MAX) { /* full: settle the longest waiter with what is known */
    fca_page_t *q = a->await[0];
    if (!q->js_fetched && q->js_others > 0 && q->announced) never_fetched(a, q);
    await_remove(a, 0);
  }
  fca_page_ref(p);
  p->js_await = true;
  a->await[a->nawait++] = p;
  atomic_store(&a->nawait_hint, a->nawait);
}

void fca_jsfetch_seen(fca_audit_t *a, const char *cid, const char *url, int64_t now_ms,
                      fca_page_t *matched, fca_confidence_t conf) {
  char *u = normal_url(url);
  fca_jsfetch_t *e = find(a, cid, u);
  if (!e) { /* a free slot, else the oldest */
    e = &a->jsfetch[0];
    for (size_t i = 0; i < FCA_AUDIT_JSFETCH_MAX; i++) {
      fca_jsfetch_t *c = &a->jsfetch[i];
      if (!c->url) {
        e = c;
        break;
      }
      if (c->at_ms < e->at_ms) e = c;
    }
    free(e->url);
    e->url = fca_xstrdup(u);
    snprintf(e->client_id, sizeof e->client_id, "%s", cid);
    e->fresh_until_ms = 0;
  }
  e->at_ms = now_ms;
  /* The page the request correlates to, when it awaits this URL (or names it by its full URL);
   * else every page of the client awaiting this URL (the request cannot be told apart). */
  bool mine = matched && matched->js_await && now_ms >= matched->ts_ms &&
              (strcmp(matched->js_url, u) == 0 || conf == FCA_CONF_HIGH);
  for (size_t i = 0; i < a->nawait; i++) {
    fca_page_t *p = a->await[i];
    bool same =
        mine ? p == matched
             : strcmp(p->client_id, cid) == 0 && now_ms >= p->ts_ms && strcmp(p->js_url, u) == 0;
    if (same && !p->js_fetched) {
      p->js_fetched = true;
      set_state(p, "fetched");
    }
  }
  free(u);
}

void fca_jsfetch_ran(fca_audit_t *a, fca_page_t *p) {
  (void)a;
  if (!p || p->js_fetched || !p->js_url) return;
  p->js_fetched = true; /* Stripe's frame or API was reached: Stripe.js ran (from the cache?) */
  set_state(p, p->js_cached ? "cached" : "fetched");
}

void fca_jsfetch_stripe_host(fca_audit_t *a, const char *cid, const char *referer, int64_t now_ms) {
  if (!a->nawait || !referer || !*referer) return;
  fca_match_t m = fca_correlate_page(a, cid, referer, now_ms);
  if (m.page && m.page->js_await && now_ms >= m.page->ts_ms) fca_jsfetch_ran(a, m.page);
}

void fca_jsfetch_other(fca_audit_t *a, const char *cid, const char *referer, int64_t now_ms) {
  fca_jsfetch_settle(a, now_ms, false);
  if (!a->nawait) return;
  fca_match_t m = fca_correlate_page(a, cid, referer, now_ms);
  if (m.page && m.page->js_await && !m.page->js_fetched && now_ms >= m.page->ts_ms)
    m.page->js_others++;
}

void fca_jsfetch_response(fca_audit_t *a, const char *cid, const char *url, int64_t now_ms,
                          int status, const fca_audit_header_t *hs, size_t n) {
  int64_t fresh = (status == 200 || status == 203) ? fca_freshness_ms(hs, n) : 0;
  char *u = normal_url(url);
  fca_jsfetch_t *e = find(a, cid, u);
  if (e) e->fresh_until_ms = fresh > 0 ? now_ms + fresh : 0;
  free(u);
}

void fca_jsfetch_free(fca_audit_t *a) {
  while (a->nawait) await_remove(a, a->nawait - 1);
  for (size_t i = 0; i < FCA_AUDIT_JSFETCH_MAX; i++) free(a->jsfetch[i].url);
}
