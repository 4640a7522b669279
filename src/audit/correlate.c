/* correlate: joins what arrives on different exchanges. A subresource request (Stripe.js,
 * the FC iframe, a same-origin script) is matched to the page that made it; a framed page is
 * joined with the <iframe> in its parent's HTML, in whichever order the two arrive; tags are
 * upgraded to the strongest evidence seen. Runs under the audit lock. */
#include "engine.h"
#include "fcaudit/util.h"
#include "rules.h"
#include "url.h"

#include <stdlib.h>
#include <string.h>

/* Does this Referer name a full URL (path other than "/" or a query), rather than the bare
 * origin a cross-origin request carries under the default policy? */
bool fca_correlate_referer_is_full(const char *referer) {
  fca_url_t u;
  if (fca_url_parse(referer, strlen(referer), &u) != 0) return false;
  bool full = u.has_query || !(u.path_len == 0 || (u.path_len == 1 && u.path[0] == '/'));
  fca_url_free(&u);
  return full;
}

fca_match_t fca_correlate_page(fca_audit_t *a, const char *client_id, const char *referer,
                               int64_t now_ms) {
  fca_match_t m = {NULL, FCA_CONF_NONE};
  int64_t since = now_ms - (int64_t)a->o.correlation_window_ms;
  if (referer && *referer) {
    if (fca_correlate_referer_is_full(referer)) {
      fca_page_t *p = fca_registry_by_url(a->reg, client_id, referer);
      if (p) return (fca_match_t){p, FCA_CONF_HIGH};
    }
    char *origin = fca_page_url_origin(referer);
    if (!origin) return m;
    fca_page_t *p = fca_registry_recent_origin(a->reg, client_id, origin, since);
    free(origin);
    if (!p) {
      char *site = fca_page_url_site(referer);
      if (site) p = fca_registry_recent_site(a->reg, client_id, site, since);
      free(site);
    }
    if (p) m = (fca_match_t){p, FCA_CONF_MEDIUM};
    return m;
  }
  fca_page_t *p = fca_registry_recent_client(a->reg, client_id, since);
  if (p) m = (fca_match_t){p, FCA_CONF_MEDIUM};
  return m;
}

bool fca_page_references_script(const fca_page_t *p, const char *url) {
  uint64_t h = fca_page_src_hash(url);
  for (size_t i = 0; i < p->nsrcs; i++)
    if (p->srcs[i] == h) return true;
  return false;
}

void fca_correlate_tag(fca_audit_t *a, fca_page_t *p, fca_tag_kind_t kind, fca_confidence_t conf,
                       const char *source, const char *name, const char *value, size_t len,
                       int64_t offset, const char *url) {
  if (fca_tag_strength(kind, conf) <= fca_tag_strength(p->tagged_by, p->confidence)) return;
  bool was_tagged = p->tagged_by != FCA_TAG_NONE, was_announced = p->announced;
  p->tagged_by = kind;
  p->confidence = conf;
  p->tag_source = source;
  p->tag_name = name;
  fca_page_ev_set(&p->tag_ev, value, len, offset, url);
  if (p->card) { /* an upgrade of an announced page: the scorecard shows the strongest tag of
                   its loads, and this load's request for Stripe.js whatever the card's tag */
    if (fca_tag_strength(kind, conf) > fca_tag_strength(p->card->tagged_by, p->card->confidence)) {
      p->card->tagged_by = kind;
      p->card->confidence = conf;
    }
    if (kind == FCA_TAG_SCRIPT_REQUEST) p->card->stripe_js = "fetched";
  }
  fca_rules_announce(a, p);
  if (!was_tagged && !p->announced) a->pages_below_confidence++;
  if (was_tagged && !was_announced && p->announced) a->pages_below_confidence--;
  if (p->announced && !p->top_level && !p->parent) fca_correlate_add_pending(a, p);
}

void fca_correlate_key(fca_audit_t *a, fca_page_t *p, bool live, const char *v, size_t n,
                       int64_t offset, const char *source, const char *name, const char *url) {
  for (size_t i = 0; i < p->nkeys; i++) /* a key is judged once per page, where first seen */
    if (p->keys[i].key.len == n && memcmp(p->keys[i].key.value, v, n) == 0) return;
  fca_page_key_t *k = FCA_PAGE_PUSH(p, keys);
  if (!k) {
    p->dropped++;
    return;
  }
  k->live = live;
  k->source = source;
  k->name = name;
  fca_page_ev_set(&k->key, v, n, offset, url);
  fca_rules_evaluate(a, p);
}

/* Pages whose chain of parents passes through `via` (framed, announced): a join above them
 * may have made their top-level page or an ancestor iframe known. */
static void reevaluate_below(fca_audit_t *a, fca_page_t *via) {
  for (fca_page_t *q = fca_registry_next(a->reg, NULL); q; q = fca_registry_next(a->reg, q)) {
    if (q == via || q->top_level || !q->announced) continue;
    size_t hops = 0;
    for (fca_page_t *c = q->parent; c && hops < 64; c = c->parent, hops++)
      if (c == via) {
        fca_rules_evaluate(a, q);
        break;
      }
  }
}

static void join(fca_audit_t *a, fca_page_t *parent, size_t idx, fca_page_t *child) {
  if (child->parent || parent == child || parent->id >= child->id) return;
  if (strcmp(parent->client_id, child->client_id) != 0) return;
  fca_page_ref(parent);
  child->parent = parent;
  child->parent_iframe = idx;
  fca_rules_evaluate(a, child);
  reevaluate_below(a, child);
}

void fca_correlate_framed_page(fca_audit_t *a, fca_page_t *child) {
  size_t idx = 0;
  fca_page_t *parent = fca_registry_iframe_parent(a->reg, child->client_id, child->url, &idx);
  int64_t since = child->ts_ms - (int64_t)a->o.correlation_window_ms;
  if (parent && parent->ts_ms >= since) join(a, parent, idx, child);
}

bool fca_correlate_is_framed(fca_audit_t *a, const char *client_id, const char *url,
                             const char *referer, int64_t now_ms) {
  size_t idx = 0;
  fca_page_t *parent = fca_registry_iframe_parent(a->reg, client_id, url, &idx);
  if (!parent || parent->ts_ms < now_ms - (int64_t)a->o.correlation_window_ms) return false;
  if (!referer || !*referer) return true; /* a no-referrer parent: the iframe alone decides */
  if (fca_correlate_referer_is_full(referer)) {
    char *nf = fca_page_url_nofrag(referer);
    bool same = strcmp(nf, parent->url) == 0;
    free(nf);
    return same;
  }
  char *origin = fca_page_url_origin(referer); /* a cross-origin frame gets only the origin */
  bool same = origin && strcmp(origin, parent->origin) == 0;
  free(origin);
  return same;
}

void fca_correlate_iframe(fca_audit_t *a, fca_page_t *parent, size_t idx) {
  fca_registry_add_iframe(a->reg, parent, idx);
  const char *src = parent->iframes[idx].src;
  if (!src) return;
  fca_page_t *child = fca_registry_by_url(a->reg, parent->client_id, src);
  if (!child || child->top_level || child->parent) return;
  if (child->ts_ms > parent->ts_ms + (int64_t)a->o.correlation_window_ms) return;
  join(a, parent, idx, child);
}

void fca_correlate_add_pending(fca_audit_t *a, fca_page_t *p) {
  for (size_t i = 0; i < a->npending; i++)
    if (a->pending[i] == p) return;
  if (a->npending == FCA_AUDIT_PENDING_MAX) {
    /* full: settle the oldest now rather than lose it */
    fca_correlate_pending(a, true);
  }
  fca_page_ref(p);
  a->pending[a->npending++] = p;
}

/* Settles a framed page whose iframe was never seen: a note, and a parent guessed from the
 * Referer so that its top-level page's COOP can still be judged (FC-COOP-4). */
static void settle(fca_audit_t *a, fca_page_t *p, fca_page_t *guess) {
  if (!p->iframe_unknown_noted) {
    p->iframe_unknown_noted = true;
    fca_rules_note(a, p, NULL, "iframe-unknown",
                   "framed page whose <iframe> was not seen in any parent's HTML (created by "
                   "script?): its sandbox is unknown");
  }
  if (guess && !p->parent && guess != p && guess->id < p->id &&
      strcmp(guess->client_id, p->client_id) == 0) {
    fca_page_ref(guess);
    p->parent = guess;
    p->parent_iframe = SIZE_MAX; /* no iframe: sandbox unknown */
    fca_rules_evaluate(a, p);
    reevaluate_below(a, p);
  }
}

/* The document that most likely framed p: the Referer's page when it is a full URL, else the
 * client's most recent earlier document of the Referer's origin (any origin without one). */
static fca_page_t *parent_guess(fca_audit_t *a, fca_page_t *p) {
  if (p->referer && fca_correlate_referer_is_full(p->referer)) {
    fca_page_t *q = fca_registry_by_url(a->reg, p->client_id, p->referer);
    if (q && q != p && q->id < p->id) return q;
  }
  char *origin = p->referer ? fca_page_url_origin(p->referer) : NULL;
  int64_t since = p->ts_ms - (int64_t)a->o.correlation_window_ms;
  fca_page_t *found = NULL;
  for (fca_page_t *q = p->in_registry ? p->reg_older : NULL; q && q->ts_ms >= since;
       q = q->reg_older)
    if (strcmp(q->client_id, p->client_id) == 0 && (!origin || strcmp(q->origin, origin) == 0)) {
      found = q;
      break;
    }
  free(origin);
  return found;
}

void fca_correlate_pending(fca_audit_t *a, bool final) {
  size_t k = 0;
  for (size_t i = 0; i < a->npending; i++) {
    fca_page_t *p = a->pending[i];
    bool keep = false;
    if (!p->parent) {
      fca_page_t *guess = parent_guess(a, p);
      /* wait while the child or its likely parent still streams (the iframe may follow) */
      if (!final && (!p->doc_ended || (guess && !guess->doc_ended)))
        keep = true;
      else
        settle(a, p, guess);
    }
    if (keep)
      a->pending[k++] = p;
    else
      fca_page_unref(p);
  }
  a->npending = k;
}
