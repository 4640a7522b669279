/* Unit tests for the page record: which headers are kept (raw lines, case-insensitive names,
 * capped), their parsing, URL keys, and the deep copy a 304 reuses. */
#include "page.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add(fca_page_t *p, const char *n, const char *v) {
  fca_page_add_header(p, n, strlen(n), v, strlen(v));
}

Test(page, keeps_policy_headers) {
  fca_page_t *p = fca_page_new(7, "https://s.test/a?q=1#f", "1.2.3.4:5", "1.2.3.4",
                               "https://r.test/", true, 10);
  cr_assert_str_eq(p->url, "https://s.test/a?q=1");
  cr_assert_str_eq(p->dedup_url, "https://s.test/a");
  add(p, "cross-origin-opener-policy", "same-origin");
  add(p, "REFERRER-POLICY", "origin");
  add(p, "Referrer-Policy", "no-referrer");
  add(p, "Content-Security-Policy", "sandbox allow-scripts");
  add(p, "Content-Security-Policy-Report-Only", "sandbox");
  add(p, "Cross-Origin-Embedder-Policy", "require-corp");
  add(p, "Cross-Origin-Opener-Policy-Report-Only", "same-origin");
  add(p, "Set-Cookie", "secret=1");
  fca_page_parse_headers(p);
  cr_assert_eq(p->coop.n, 1);
  cr_assert_eq(p->refpol.n, 2);
  cr_assert_str_eq(p->refpol.v[1], "no-referrer");
  cr_assert_eq(fca_coop_effective(&p->coop_p), FCA_COOP_SAME_ORIGIN);
  cr_assert_eq(fca_coop_effective(&p->coop_ro_p), FCA_COOP_SAME_ORIGIN);
  cr_assert_eq(p->refpol_p.policy, FCA_REFPOL_NO_REFERRER);
  cr_assert(p->csp_p.sandbox.sandboxed);
  cr_assert(p->csp_p.report_only_sandbox);
  cr_assert_eq(p->coep_p.value, FCA_COEP_REQUIRE_CORP);
  fca_page_unref(p);
}

Test(page, header_lines_are_capped) {
  fca_page_t *p = fca_page_new(1, "https://s.test/", "c", "c", NULL, true, 0);
  for (int i = 0; i < FCA_PAGE_HEADER_LINES_MAX + 5; i++) add(p, "Content-Security-Policy", "x");
  cr_assert_eq(p->csp.n, FCA_PAGE_HEADER_LINES_MAX);
  cr_assert_eq(p->csp.dropped, 5);
  fca_page_unref(p);
}

Test(page, copy_for_not_modified) {
  fca_page_t *a = fca_page_new(1, "https://s.test/", "c", "c", NULL, true, 0);
  add(a, "Cross-Origin-Opener-Policy", "same-origin");
  fca_page_parse_headers(a);
  a->base = strdup("https://s.test/base/");
  fca_page_script_t *sc = FCA_PAGE_PUSH(a, scripts);
  fca_page_ev_set(&sc->src, "https://js.stripe.com/v3", 24, 5, NULL);
  fca_page_iframe_t *f = FCA_PAGE_PUSH(a, iframes);
  f->src = strdup("https://s.test/f");
  fca_page_ev_set(&f->sandbox, "", 0, 9, NULL);
  f->sb = fca_sandbox_parse("", 0);
  fca_page_key_t *k = FCA_PAGE_PUSH(a, keys);
  fca_page_ev_set(&k->key, "pk_live_x", 9, 3, "https://s.test/app.js");
  k->live = true;
  fca_page_t *b = fca_page_new(2, "https://s.test/", "c", "c", NULL, true, 5);
  fca_page_copy_findings(b, a);
  fca_page_unref(a); /* the copy owns its strings */
  cr_assert_eq(fca_coop_effective(&b->coop_p), FCA_COOP_SAME_ORIGIN);
  cr_assert_str_eq(b->base, "https://s.test/base/");
  cr_assert_str_eq(b->scripts[0].src.value, "https://js.stripe.com/v3");
  cr_assert_eq(b->scripts[0].src.offset, 5);
  cr_assert_str_eq(b->iframes[0].src, "https://s.test/f");
  cr_assert(b->iframes[0].sb.sandboxed);
  cr_assert_str_eq(b->keys[0].key.url, "https://s.test/app.js");
  cr_assert_eq(b->tagged_by, FCA_TAG_NONE);
  fca_page_unref(b);
}

Test(page, lists_grow_to_their_cap) {
  fca_page_t *p = fca_page_new(1, "https://s.test/", "c", "c", NULL, true, 0);
  for (int i = 0; i < FCA_PAGE_LIST_MAX; i++) {
    fca_page_meta_t *m = FCA_PAGE_PUSH(p, metas);
    cr_assert_not_null(m);
    cr_assert_eq(m->policy, FCA_REFPOL_NONE);
    fca_page_ev_set(&m->content, "origin", 6, i, NULL);
  }
  cr_assert_null(FCA_PAGE_PUSH(p, metas));
  cr_assert_eq(p->nmetas, FCA_PAGE_LIST_MAX);
  cr_assert_eq(p->metas[FCA_PAGE_LIST_MAX - 1].content.offset, FCA_PAGE_LIST_MAX - 1);
  fca_page_unref(p);
}

Test(page, names) {
  cr_assert_str_eq(fca_tag_kind_name(FCA_TAG_SCRIPT_TAG), "script-tag");
  cr_assert_str_eq(fca_tag_kind_name(FCA_TAG_SCRIPT_REQUEST), "script-request");
  cr_assert_str_eq(fca_tag_kind_name(FCA_TAG_SCRIPT_LITERAL), "script-literal");
  cr_assert_null(fca_tag_kind_name(FCA_TAG_NONE));
  cr_assert_str_eq(fca_confidence_name(FCA_CONF_HIGH), "high");
  cr_assert_str_eq(fca_confidence_name(FCA_CONF_MEDIUM), "medium");
  char *o = fca_page_url_origin("https://S.test:443/x");
  cr_assert_str_eq(o, "https://s.test");
  free(o);
  o = fca_page_url_origin("http://s.test:8080/x");
  cr_assert_str_eq(o, "http://s.test:8080");
  free(o);
  cr_assert_null(fca_page_url_origin("not a url"));
}
