/* Tests for correlate's page matching (which document made a subresource request): a full
 * Referer names the page exactly (high confidence); a bare-origin Referer (the default
 * cross-origin policy) picks the client's most recent page of that origin, else of that site
 * (medium); no Referer picks the client's most recent page (medium); never another client's
 * page, never one older than the correlation window. And tags only ever get stronger. */
#include <criterion/criterion.h>

#include "audit_capture.h"
#include "engine.h"
#include "fcaudit/util.h"
#include "registry.h"

static capture_t cap;
static fca_audit_t *a;
static uint64_t next_id;

static void setup(void) {
  cap_init(&cap);
  fca_audit_opts_t o = {.emit = cap_fn,
                        .emit_ud = &cap,
                        .dedup = true,
                        .env = "staging",
                        .correlation_window_ms = 10000};
  a = fca_audit_new(&o);
  next_id = 1;
}
static void teardown(void) {
  fca_audit_free(a);
  cap_free(&cap);
}

static fca_page_t *page(const char *url, const char *client_id, int64_t ts) {
  fca_page_t *p = fca_page_new(next_id++, url, client_id, client_id, NULL, true, ts);
  fca_registry_add(a->reg, p, ts);
  fca_page_unref(p); /* the registry holds it */
  return p;
}

TestSuite(correlate, .init = setup, .fini = teardown);

Test(correlate, full_referer_names_the_page) {
  fca_page_t *checkout = page("https://shop.test/checkout?step=2", "c1", 1000);
  page("https://shop.test/other", "c1", 2000); /* more recent, same origin */
  fca_match_t m = fca_correlate_page(a, "c1", "https://shop.test/checkout?step=2", 3000);
  cr_assert_eq(m.page, checkout);
  cr_assert_eq(m.confidence, FCA_CONF_HIGH);
  m = fca_correlate_page(a, "c1", "https://shop.test/checkout?step=2#frag", 3000);
  cr_assert_eq(m.page, checkout, "the fragment is not part of the page's identity");
}

Test(correlate, bare_origin_referer_takes_the_newest_page_of_that_origin) {
  page("https://shop.test/a", "c1", 1000);
  fca_page_t *b = page("https://shop.test/b", "c1", 2000);
  page("https://elsewhere.test/", "c1", 2500);
  fca_match_t m = fca_correlate_page(a, "c1", "https://shop.test/", 3000);
  cr_assert_eq(m.page, b);
  cr_assert_eq(m.confidence, FCA_CONF_MEDIUM);
}

Test(correlate, same_site_when_the_origin_has_no_page) {
  fca_page_t *p = page("https://www.shop.test/pay", "c1", 1000);
  fca_match_t m = fca_correlate_page(a, "c1", "https://checkout.shop.test/", 2000);
  cr_assert_eq(m.page, p, "a page of the same registrable domain");
  cr_assert_eq(m.confidence, FCA_CONF_MEDIUM);
  m = fca_correlate_page(a, "c1", "https://unrelated.test/", 2000);
  cr_assert_null(m.page);
}

Test(correlate, no_referer_takes_the_clients_newest_page) {
  page("https://shop.test/a", "c1", 1000);
  fca_page_t *b = page("https://other.test/b", "c1", 2000);
  page("https://shop.test/c", "c2", 2500); /* another client */
  fca_match_t m = fca_correlate_page(a, "c1", NULL, 3000);
  cr_assert_eq(m.page, b);
  cr_assert_eq(m.confidence, FCA_CONF_MEDIUM);
  m = fca_correlate_page(a, "c1", "", 3000);
  cr_assert_eq(m.page, b);
}

Test(correlate, never_another_client_nor_outside_the_window) {
  page("https://shop.test/a", "c1", 1000);
  cr_assert_null(fca_correlate_page(a, "c2", "https://shop.test/", 2000).page);
  cr_assert_null(fca_correlate_page(a, "c2", NULL, 2000).page);
  cr_assert_null(fca_correlate_page(a, "c1", "https://shop.test/", 1000 + 10001).page,
                 "older than the correlation window");
  cr_assert_null(fca_correlate_page(a, "c1", NULL, 1000 + 10001).page);
  cr_assert_not_null(fca_correlate_page(a, "c1", NULL, 1000 + 9999).page);
}

Test(correlate, tags_only_get_stronger) {
  fca_page_t *p = page("https://shop.test/a", "c1", 1000);
  static const char v[] = "https://js.stripe.com/v3";
  fca_correlate_tag(a, p, FCA_TAG_SCRIPT_REQUEST, FCA_CONF_MEDIUM, "request", "script", v,
                    sizeof v - 1, -1, v);
  cr_assert_eq(p->tagged_by, FCA_TAG_SCRIPT_REQUEST);
  cr_assert_eq(p->confidence, FCA_CONF_MEDIUM);
  fca_correlate_tag(a, p, FCA_TAG_SCRIPT_TAG, FCA_CONF_HIGH, "body", "script", v, sizeof v - 1, 10,
                    v);
  cr_assert_eq(p->tagged_by, FCA_TAG_SCRIPT_TAG);
  cr_assert_eq(p->confidence, FCA_CONF_HIGH);
  cr_assert(p->announced, "a page tagged at high confidence is announced");
  cr_assert_eq(cap_count(&cap, FCA_EV_PAGE, NULL), 1);
  fca_correlate_tag(a, p, FCA_TAG_SCRIPT_LITERAL, FCA_CONF_MEDIUM, "body", "script", v,
                    sizeof v - 1, 20, v);
  cr_assert_eq(p->tagged_by, FCA_TAG_SCRIPT_TAG, "a weaker tag replaced a stronger one");
  cr_assert_eq(p->confidence, FCA_CONF_HIGH);
  cr_assert_eq(cap_count(&cap, FCA_EV_PAGE, NULL), 1, "announced twice");
}

/* Two loads of a page share its scorecard: a later load starting over ("unknown") does not take
 * back what an earlier load established, and its own Stripe.js request says "fetched" even when
 * its tag is no stronger than the card's. */
Test(correlate, a_later_load_keeps_the_scorecard_s_stripe_js) {
  static const char v[] = "https://js.stripe.com/v3";
  fca_page_t *p1 = page("https://shop.test/a", "c1", 1000);
  fca_correlate_tag(a, p1, FCA_TAG_SCRIPT_LITERAL, FCA_CONF_MEDIUM, "body", "script literal", v,
                    sizeof v - 1, 10, NULL);
  fca_correlate_tag(a, p1, FCA_TAG_SCRIPT_REQUEST, FCA_CONF_HIGH, "request", "request", v,
                    sizeof v - 1, -1, v);
  cr_assert_not_null(p1->card);
  cr_assert_str_eq(p1->card->stripe_js, "fetched");
  fca_page_t *p2 = page("https://shop.test/a", "c1", 2000);
  fca_correlate_tag(a, p2, FCA_TAG_SCRIPT_LITERAL, FCA_CONF_MEDIUM, "body", "script literal", v,
                    sizeof v - 1, 10, NULL);
  cr_assert_eq(p2->card, p1->card, "one card for both loads");
  cr_assert_eq(p1->card->loads, 2);
  cr_assert_str_eq(p1->card->stripe_js, "fetched", "the second load has not said anything yet");
  fca_correlate_tag(a, p2, FCA_TAG_SCRIPT_REQUEST, FCA_CONF_HIGH, "request", "request", v,
                    sizeof v - 1, -1, v);
  cr_assert_eq(p1->card->tagged_by, FCA_TAG_SCRIPT_REQUEST);
  cr_assert_eq(p1->card->confidence, FCA_CONF_HIGH);
  cr_assert_str_eq(p1->card->stripe_js, "fetched");
}
