/* registry: the documents the audit remembers, shared by all workers (the caller holds the
 * audit lock around every call). Bounded by count and by age; the oldest page goes first.
 * Lookups are hash lookups of the most recent page per key, all scoped to one client:
 * by URL (without fragment), by origin, by site, by client, and by the resolved URL of an
 * <iframe> seen in a parent's HTML (the framing join). Every document is kept, tagged or not,
 * so a framed page's top-level page can be judged on its COOP. */
#ifndef FCAUDIT_REGISTRY_H
#define FCAUDIT_REGISTRY_H

#include "page.h"

#include <stddef.h>
#include <stdint.h>

typedef struct fca_registry fca_registry_t;

/* max_pages 0 = 4096; max_age_ms 0 = 10 minutes. */
fca_registry_t *fca_registry_new(size_t max_pages, uint64_t max_age_ms);
void fca_registry_free(fca_registry_t *r); /* drops the registry's references */

/* Adds a page (the registry takes its own reference), after forgetting pages older than
 * now - max_age and the oldest ones past max_pages. */
void fca_registry_add(fca_registry_t *r, fca_page_t *p, int64_t now_ms);
/* Forgets pages older than now - max_age. */
void fca_registry_expire(fca_registry_t *r, int64_t now_ms);
size_t fca_registry_count(const fca_registry_t *r);

/* Most recent page of the client with that URL (fragment ignored), or NULL. */
fca_page_t *fca_registry_by_url(fca_registry_t *r, const char *client_id, const char *url);
/* Most recent page of the client with that origin / site / any, received at or after since_ms
 * (pages are matched on their response time). NULL when none. */
fca_page_t *fca_registry_recent_origin(fca_registry_t *r, const char *client_id, const char *origin,
                                       int64_t since_ms);
fca_page_t *fca_registry_recent_site(fca_registry_t *r, const char *client_id, const char *site,
                                     int64_t since_ms);
fca_page_t *fca_registry_recent_client(fca_registry_t *r, const char *client_id, int64_t since_ms);

/* The framing index: parent->iframes[idx] (with a resolved src) becomes the most recent iframe
 * of the client for that URL. */
void fca_registry_add_iframe(fca_registry_t *r, fca_page_t *parent, size_t idx);
/* The most recent parent page whose HTML holds an <iframe src> resolving to url (fragment
 * ignored) for that client, with the iframe index; NULL when none. */
fca_page_t *fca_registry_iframe_parent(fca_registry_t *r, const char *client_id, const char *url,
                                       size_t *idx);

/* Iteration, newest first: start with NULL. Do not add or expire while iterating. */
fca_page_t *fca_registry_next(fca_registry_t *r, fca_page_t *prev);

#endif
