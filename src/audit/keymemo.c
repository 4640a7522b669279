/* keymemo: the publishable keys a client was last served in a JSON/JS response of a URL (the
 * `/config` pattern), remembered so that a later 304 Not Modified (or a response with no body)
 * for that URL -- the browser reusing its cached copy -- still shows the key to the page that
 * asked. A bounded table, least recently used entry replaced; one live and one test key per
 * (client, URL). Runs under the audit lock. */
#include "engine.h"
#include "fcaudit/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t url_hash(const char *cid, const char *url) {
  uint64_t h = 1469598103934665603ull;
  for (const char *s = cid; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  h = (h ^ '\n') * 1099511628211ull;
  for (const char *s = url; *s && *s != '#'; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static bool same_url(const char *a, const char *b) {
  size_t la = strcspn(a, "#"), lb = strcspn(b, "#");
  return la == lb && memcmp(a, b, la) == 0;
}

static fca_keymemo_t *find(fca_audit_t *a, const char *cid, const char *url, uint64_t h) {
  for (size_t i = 0; i < FCA_AUDIT_KEYMEMO_MAX; i++) {
    fca_keymemo_t *e = &a->keymemo[i];
    if (e->url && e->hash == h && strcmp(e->client_id, cid) == 0 && same_url(e->url, url)) return e;
  }
  return NULL;
}

void fca_keymemo_put(fca_audit_t *a, const char *cid, const char *url, bool live, const char *key,
                     size_t n, int64_t offset) {
  uint64_t h = url_hash(cid, url);
  fca_keymemo_t *e = find(a, cid, url, h);
  if (!e) { /* a free slot, else the least recently used */
    e = &a->keymemo[0];
    for (size_t i = 0; i < FCA_AUDIT_KEYMEMO_MAX; i++) {
      fca_keymemo_t *c = &a->keymemo[i];
      if (!c->url) {
        e = c;
        break;
      }
      if (c->used < e->used) e = c;
    }
    free(e->url);
    for (int k = 0; k < 2; k++) free(e->key[k]);
    memset(e, 0, sizeof *e);
    e->url = fca_page_url_nofrag(url);
    e->hash = h;
    snprintf(e->client_id, sizeof e->client_id, "%s", cid);
  }
  e->used = ++a->keymemo_clock;
  int k = live ? 1 : 0;
  if (e->key[k]) return; /* the first key of each kind, as FC-TEST-1 judges it */
  e->key[k] = fca_xstrndup(key, n);
  e->len[k] = n;
  e->offset[k] = offset;
}

void fca_keymemo_forget(fca_audit_t *a, const char *cid, const char *url) {
  fca_keymemo_t *e = find(a, cid, url, url_hash(cid, url));
  if (!e) return;
  for (int k = 0; k < 2; k++) {
    free(e->key[k]);
    e->key[k] = NULL;
  }
}

void fca_keymemo_apply(fca_audit_t *a, const char *cid, const char *url, fca_page_t *p) {
  fca_keymemo_t *e = find(a, cid, url, url_hash(cid, url));
  if (!e) return;
  e->used = ++a->keymemo_clock;
  for (int k = 1; k >= 0; k--)
    if (e->key[k])
      fca_correlate_key(a, p, k == 1, e->key[k], e->len[k], e->offset[k], "response",
                        "publishable key (cached response)", e->url);
}

void fca_keymemo_free(fca_audit_t *a) {
  for (size_t i = 0; i < FCA_AUDIT_KEYMEMO_MAX; i++) {
    free(a->keymemo[i].url);
    for (int k = 0; k < 2; k++) free(a->keymemo[i].key[k]);
  }
}
