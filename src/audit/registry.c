/* registry: a list of pages, oldest first, plus string-keyed maps (fcaudit/strmap.h) that point
 * at the most recent page per key. Eviction always takes the oldest page, so when a map entry
 * points at an evicted page every older page with that key is gone too: the entry is simply
 * deleted. */
#include "registry.h"

#include "clientkey.h"

#include "fcaudit/strmap.h"
#include "fcaudit/util.h"

#include <stdlib.h>
#include <string.h>

/* ---- key -> (most recent page, index), in the shared string map ----------------------- */
typedef fca_strmap_t map_t;

static void map_init(map_t *m) { fca_strmap_init(m, 64, false); }
static void map_free(map_t *m) { fca_strmap_destroy(m, NULL); }

static void map_put(map_t *m, const char *key, fca_page_t *p, size_t idx) {
  fca_strmap_entry_t *e = fca_strmap_puts(m, key, NULL);
  e->val = p;
  e->num = idx;
}

/* Deletes key's entry if it points at p. */
static void map_del_if(map_t *m, const char *key, const fca_page_t *p) {
  fca_strmap_entry_t *e = fca_strmap_gets(m, key);
  if (e && e->val == p) fca_strmap_remove(m, e);
}

/* ---- the registry ---------------------------------------------------------------------- */
struct fca_registry {
  size_t max_pages;
  uint64_t max_age_ms;
  fca_page_t *oldest, *newest;
  size_t count;
  map_t by_url, by_origin, by_site, by_client, by_iframe;
};

fca_registry_t *fca_registry_new(size_t max_pages, uint64_t max_age_ms) {
  fca_registry_t *r = fca_xcalloc(1, sizeof *r);
  r->max_pages = max_pages ? max_pages : 4096;
  r->max_age_ms = max_age_ms ? max_age_ms : 10 * 60 * 1000;
  map_init(&r->by_url);
  map_init(&r->by_origin);
  map_init(&r->by_site);
  map_init(&r->by_client);
  map_init(&r->by_iframe);
  return r;
}

static void forget_keys(fca_registry_t *r, fca_page_t *p) {
  fca_clientkey_t kb;
  const char *k = fca_clientkey(&kb, p->client_id, p->url);
  map_del_if(&r->by_url, k, p);
  fca_clientkey_done(&kb);
  k = fca_clientkey(&kb, p->client_id, p->origin);
  map_del_if(&r->by_origin, k, p);
  fca_clientkey_done(&kb);
  k = fca_clientkey(&kb, p->client_id, p->site);
  map_del_if(&r->by_site, k, p);
  fca_clientkey_done(&kb);
  map_del_if(&r->by_client, p->client_id, p);
  for (size_t i = 0; i < p->niframes; i++) {
    if (!p->iframes[i].src) continue;
    k = fca_clientkey(&kb, p->client_id, p->iframes[i].src);
    map_del_if(&r->by_iframe, k, p);
    fca_clientkey_done(&kb);
  }
}

static void evict_oldest(fca_registry_t *r) {
  fca_page_t *p = r->oldest;
  forget_keys(r, p);
  r->oldest = p->reg_newer;
  if (r->oldest)
    r->oldest->reg_older = NULL;
  else
    r->newest = NULL;
  p->reg_newer = p->reg_older = NULL;
  p->in_registry = false;
  r->count--;
  fca_page_unref(p);
}

void fca_registry_free(fca_registry_t *r) {
  if (!r) return;
  while (r->oldest) evict_oldest(r);
  map_free(&r->by_url);
  map_free(&r->by_origin);
  map_free(&r->by_site);
  map_free(&r->by_client);
  map_free(&r->by_iframe);
  free(r);
}

void fca_registry_expire(fca_registry_t *r, int64_t now_ms) {
  while (r->oldest && r->oldest->ts_ms < now_ms - (int64_t)r->max_age_ms) evict_oldest(r);
}

size_t fca_registry_count(const fca_registry_t *r) { return r->count; }

void fca_registry_add(fca_registry_t *r, fca_page_t *p, int64_t now_ms) {
  fca_registry_expire(r, now_ms);
  while (r->count >= r->max_pages) evict_oldest(r);
  fca_page_ref(p);
  p->in_registry = true;
  p->reg_older = r->newest;
  p->reg_newer = NULL;
  if (r->newest)
    r->newest->reg_newer = p;
  else
    r->oldest = p;
  r->newest = p;
  r->count++;
  fca_clientkey_t kb;
  const char *k = fca_clientkey(&kb, p->client_id, p->url);
  map_put(&r->by_url, k, p, 0);
  fca_clientkey_done(&kb);
  k = fca_clientkey(&kb, p->client_id, p->origin);
  map_put(&r->by_origin, k, p, 0);
  fca_clientkey_done(&kb);
  k = fca_clientkey(&kb, p->client_id, p->site);
  map_put(&r->by_site, k, p, 0);
  fca_clientkey_done(&kb);
  map_put(&r->by_client, p->client_id, p, 0);
}

static fca_page_t *lookup(const map_t *m, const char *key, size_t *idx) {
  fca_strmap_entry_t *e = fca_strmap_gets(m, key);
  if (e && idx) *idx = (size_t)e->num;
  return e ? e->val : NULL;
}

fca_page_t *fca_registry_by_url(fca_registry_t *r, const char *client_id, const char *url) {
  char *nf = fca_page_url_nofrag(url);
  fca_clientkey_t kb;
  const char *k = fca_clientkey(&kb, client_id, nf);
  fca_page_t *p = lookup(&r->by_url, k, NULL);
  fca_clientkey_done(&kb);
  free(nf);
  return p;
}

static fca_page_t *recent(const map_t *m, const char *key, int64_t since_ms) {
  fca_page_t *p = lookup(m, key, NULL);
  return p && p->ts_ms >= since_ms ? p : NULL;
}

fca_page_t *fca_registry_recent_origin(fca_registry_t *r, const char *client_id, const char *origin,
                                       int64_t since_ms) {
  fca_clientkey_t kb;
  const char *k = fca_clientkey(&kb, client_id, origin);
  fca_page_t *p = recent(&r->by_origin, k, since_ms);
  fca_clientkey_done(&kb);
  return p;
}

fca_page_t *fca_registry_recent_site(fca_registry_t *r, const char *client_id, const char *site,
                                     int64_t since_ms) {
  fca_clientkey_t kb;
  const char *k = fca_clientkey(&kb, client_id, site);
  fca_page_t *p = recent(&r->by_site, k, since_ms);
  fca_clientkey_done(&kb);
  return p;
}

fca_page_t *fca_registry_recent_client(fca_registry_t *r, const char *client_id, int64_t since_ms) {
  return recent(&r->by_client, client_id, since_ms);
}

void fca_registry_add_iframe(fca_registry_t *r, fca_page_t *parent, size_t idx) {
  if (!parent->in_registry || idx >= parent->niframes || !parent->iframes[idx].src) return;
  fca_clientkey_t kb;
  const char *k = fca_clientkey(&kb, parent->client_id, parent->iframes[idx].src);
  map_put(&r->by_iframe, k, parent, idx);
  fca_clientkey_done(&kb);
}

fca_page_t *fca_registry_iframe_parent(fca_registry_t *r, const char *client_id, const char *url,
                                       size_t *idx) {
  char *nf = fca_page_url_nofrag(url);
  fca_clientkey_t kb;
  const char *k = fca_clientkey(&kb, client_id, nf);
  fca_page_t *p = lookup(&r->by_iframe, k, idx);
  fca_clientkey_done(&kb);
  free(nf);
  return p;
}

fca_page_t *fca_registry_next(fca_registry_t *r, fca_page_t *prev) {
  return prev ? prev->reg_older : r->newest;
}
