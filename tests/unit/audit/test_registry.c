/* Unit tests for the page registry: lookups by URL, origin, site and client (per client, most
 * recent, within a window), the iframe index, bounds by count and age (oldest first), and
 * pages that outlive eviction while someone holds a reference. */
#include "registry.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static fca_page_t *mk(uint64_t id, const char *url, const char *client, int64_t ts) {
  return fca_page_new(id, url, "c:1", client, NULL, true, ts);
}

Test(registry, lookups_are_per_client_and_most_recent) {
  fca_registry_t *r = fca_registry_new(0, 0);
  fca_page_t *a = mk(1, "https://shop.test/a?x=1#frag", "1.1.1.1", 100);
  fca_page_t *b = mk(2, "https://www.shop.test/b", "1.1.1.1", 200);
  fca_page_t *c = mk(3, "https://shop.test/a?x=1", "2.2.2.2", 300);
  fca_registry_add(r, a, 100);
  fca_registry_add(r, b, 200);
  fca_registry_add(r, c, 300);
  cr_assert_eq(fca_registry_by_url(r, "1.1.1.1", "https://shop.test/a?x=1#other"), a);
  cr_assert_eq(fca_registry_by_url(r, "2.2.2.2", "https://shop.test/a?x=1"), c);
  cr_assert_null(fca_registry_by_url(r, "1.1.1.1", "https://shop.test/a"));
  cr_assert_eq(fca_registry_recent_origin(r, "1.1.1.1", "https://shop.test", 0), a);
  cr_assert_null(fca_registry_recent_origin(r, "1.1.1.1", "https://shop.test", 101));
  cr_assert_eq(fca_registry_recent_site(r, "1.1.1.1", "shop.test", 0), b);
  cr_assert_eq(fca_registry_recent_client(r, "1.1.1.1", 0), b);
  cr_assert_eq(fca_registry_recent_client(r, "2.2.2.2", 0), c);
  cr_assert_null(fca_registry_recent_client(r, "3.3.3.3", 0));
  cr_assert_str_eq(a->site, "shop.test");
  cr_assert_str_eq(a->origin, "https://shop.test");
  cr_assert_str_eq(a->dedup_url, "https://shop.test/a");
  cr_assert_eq(fca_registry_count(r), 3);
  /* newest first */
  cr_assert_eq(fca_registry_next(r, NULL), c);
  cr_assert_eq(fca_registry_next(r, c), b);
  cr_assert_eq(fca_registry_next(r, b), a);
  cr_assert_null(fca_registry_next(r, a));
  fca_page_unref(a);
  fca_page_unref(b);
  fca_page_unref(c);
  fca_registry_free(r);
}

Test(registry, public_suffix_sites) {
  fca_page_t *p = mk(1, "https://a.b.example.co.uk/x", "1", 0);
  cr_assert_str_eq(p->site, "example.co.uk");
  fca_page_unref(p);
  p = mk(2, "https://shop.github.io/x", "1", 0);
  cr_assert_str_eq(p->site, "shop.github.io");
  fca_page_unref(p);
  p = mk(3, "http://127.0.0.1:8080/x", "1", 0);
  cr_assert_str_eq(p->site, "127.0.0.1");
  cr_assert_str_eq(p->origin, "http://127.0.0.1:8080");
  fca_page_unref(p);
}

Test(registry, bounded_by_count_and_age) {
  fca_registry_t *r = fca_registry_new(3, 1000);
  fca_page_t *p[5];
  char url[64];
  for (int i = 0; i < 5; i++) {
    snprintf(url, sizeof url, "https://s.test/%d", i);
    p[i] = mk((uint64_t)i + 1, url, "1", 100 * i);
    fca_registry_add(r, p[i], 100 * i);
  }
  cr_assert_eq(fca_registry_count(r), 3);
  cr_assert_not(p[0]->in_registry);
  cr_assert_not(p[1]->in_registry);
  cr_assert_null(fca_registry_by_url(r, "1", "https://s.test/0"));
  cr_assert_eq(fca_registry_by_url(r, "1", "https://s.test/4"), p[4]);
  /* the evicted page is still valid for its holder */
  cr_assert_str_eq(p[0]->url, "https://s.test/0");
  fca_registry_expire(r, 1350); /* older than 350 ms are gone: p[2] (200), p[3] (300) */
  cr_assert_eq(fca_registry_count(r), 1);
  cr_assert_eq(fca_registry_recent_origin(r, "1", "https://s.test", 0), p[4]);
  fca_registry_expire(r, 5000);
  cr_assert_eq(fca_registry_count(r), 0);
  cr_assert_null(fca_registry_recent_origin(r, "1", "https://s.test", 0));
  for (int i = 0; i < 5; i++) fca_page_unref(p[i]);
  fca_registry_free(r);
}

Test(registry, iframe_index) {
  fca_registry_t *r = fca_registry_new(2, 0);
  fca_page_t *parent = mk(1, "https://s.test/outer", "1", 0);
  fca_page_iframe_t *f = FCA_PAGE_PUSH(parent, iframes);
  f->src = strdup("https://s.test/embed");
  FCA_PAGE_PUSH(parent, iframes);
  fca_registry_add(r, parent, 0);
  fca_registry_add_iframe(r, parent, 0);
  fca_registry_add_iframe(r, parent, 1);
  size_t idx = 99;
  cr_assert_eq(fca_registry_iframe_parent(r, "1", "https://s.test/embed#x", &idx), parent);
  cr_assert_eq(idx, 0);
  cr_assert_null(fca_registry_iframe_parent(r, "2", "https://s.test/embed", &idx));
  /* evicting the parent drops its iframes from the index */
  fca_page_t *x = mk(2, "https://s.test/x", "1", 1), *y = mk(3, "https://s.test/y", "1", 2);
  fca_registry_add(r, x, 1);
  fca_registry_add(r, y, 2);
  cr_assert_null(fca_registry_iframe_parent(r, "1", "https://s.test/embed", &idx));
  fca_page_unref(x);
  fca_page_unref(y);
  fca_page_unref(parent);
  fca_registry_free(r);
}

Test(registry, parent_references_keep_pages_alive) {
  fca_registry_t *r = fca_registry_new(1, 0);
  fca_page_t *parent = mk(1, "https://s.test/outer", "1", 0);
  fca_page_t *child = mk(2, "https://s.test/inner", "1", 1);
  fca_registry_add(r, parent, 0);
  fca_page_ref(parent);
  child->parent = parent;
  fca_page_unref(parent);        /* the creator's reference */
  fca_registry_add(r, child, 1); /* evicts the parent from the registry */
  cr_assert_not(parent->in_registry);
  cr_assert_str_eq(child->parent->url, "https://s.test/outer");
  fca_page_unref(child);
  fca_registry_free(r); /* frees child, then its parent */
}
