/* Tests for the JSON form of the run summary: the writer's keys and their order (the log's
 * summary line, docs/events.md), the reader giving back what the writer wrote (a log read by
 * `fcaudit report` says what the live run said), and earlier forms of a page's scorecard. */
#include <criterion/criterion.h>

#include "fcaudit/eventjson.h"

#include <stdlib.h>
#include <string.h>

static fca_summary_t *engine_like(void) {
  fca_summary_t *s = fca_summary_new();
  s->exchanges = 40, s->bytes_inspected = 100000, s->pages_seen = 6, s->pages_tagged = 1;
  s->notes = 2;
  s->violations = (fca_count_t){1, 3};
  s->violations_by_level[FCA_LEVEL_ERROR] = (fca_count_t){1, 3};
  fca_rule_counts_t *r = fca_summary_add_rule(s, "FC-COOP-1", 1);
  r->total = r->by_level[FCA_LEVEL_ERROR] = (fca_count_t){1, 3};
  fca_scorecard_t *c = fca_summary_add_page(s);
  c->id = 7;
  free(c->url);
  c->url = strdup("https://shop.test/pay?x=1");
  c->top_level = true;
  c->fail = true;
  c->fc_evidence = 5;
  for (int i = 1; i <= 4; i++) {
    fca_item_set(&c->items[i], FCA_ITEM_NA, fca_item_undecided_why(i, true));
    c->items_said |= 1u << i;
  }
  fca_item_fail_by(&c->items[1], "FC-COOP-1", "COOP same-origin");
  fca_scorecard_add_finding(c, "FC-COOP-1", FCA_LEVEL_ERROR, 3);
  s->env = strdup("staging");
  s->min_confidence = strdup("medium");
  s->test_mode.present = true;
  s->test_mode.rule = strdup("FC-TEST-2");
  s->test_mode.level = FCA_LEVEL_INFO;
  s->test_mode.item = 4;
  s->test_mode.message = strdup("m"), s->test_mode.fix = strdup("f"),
  s->test_mode.doc = strdup("d");
  fca_test_mode_add_institution(&s->test_mode, "Test (OAuth)", true);
  fca_test_mode_add_institution(&s->test_mode, "Test (Non-OAuth)", false);
  fca_summary_set_verdict(s, true, "error", 1, "fail at --fail-on error");
  return s;
}

Test(summaryjson, keys_in_the_log_order) {
  fca_summary_t *s = engine_like();
  json_t *o = fca_summary_to_json(s);
  static const char *const keys[] = {"exchanges",
                                     "bytes_inspected",
                                     "pages_seen",
                                     "pages_tagged",
                                     "pages_below_min_confidence",
                                     "notes",
                                     "violations",
                                     "pages",
                                     "pages_not_listed",
                                     "env",
                                     "min_confidence",
                                     "test_mode",
                                     "verdict"};
  size_t i = 0;
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) {
    cr_assert_lt(i, sizeof keys / sizeof keys[0], "unexpected key %s", k);
    cr_assert_str_eq(k, keys[i], "key %zu", i);
    i++;
  }
  cr_assert_eq(i, sizeof keys / sizeof keys[0]);
  char *page = json_dumps(json_array_get(json_object_get(o, "pages"), 0), JSON_COMPACT);
  cr_assert_str_eq(
      page, "{\"id\":7,\"loads\":1,\"url\":\"https://shop.test/"
            "pay?x=1\",\"client\":\"\",\"top_level\":true,"
            "\"tagged_by\":\"\",\"confidence\":\"\",\"stripe_js\":\"unknown\",\"verdict\":\"fail\","
            "\"pass_event\":false,\"notes\":0,\"items\":{\"1\":{\"status\":\"fail\",\"why\":\"FC-"
            "COOP-1: COOP same-origin\"},\"2\":{\"status\":\"n/a\",\"why\":\"referrer policy not "
            "judged (opaque origin: see item 3)\"},\"3\":{\"status\":\"n/a\",\"why\":\"not framed, "
            "no CSP sandbox\"},\"4\":{\"status\":\"n/a\",\"why\":\"no publishable key seen\"}},"
            "\"findings\":{\"FC-COOP-1\":{\"level\":\"error\",\"count\":3}},\"fc_evidence\":[\"fc-"
            "method\",\"api\"]}");
  free(page);
  char *verdict = json_dumps(json_object_get(o, "verdict"), JSON_COMPACT);
  cr_assert_str_eq(verdict, "{\"result\":\"fail\",\"fail_on\":\"error\",\"exit_code\":1,"
                            "\"sentence\":\"fail at --fail-on error\"}");
  free(verdict);
  json_decref(o);
  fca_summary_free(s);
}

Test(summaryjson, the_reader_gives_back_what_the_writer_wrote) {
  fca_summary_t *s = engine_like();
  json_t *o = fca_summary_to_json(s);
  char *first = json_dumps(o, JSON_COMPACT);
  fca_summary_t *back = fca_summary_from_json(o);
  cr_assert_not_null(back);
  cr_assert_eq(back->pages[0].items[1].status, FCA_ITEM_FAIL);
  cr_assert_str_eq(back->verdict.sentence, "fail at --fail-on error");
  json_t *o2 = fca_summary_to_json(back);
  char *second = json_dumps(o2, JSON_COMPACT);
  cr_assert_str_eq(second, first);
  free(first), free(second);
  json_decref(o), json_decref(o2);
  fca_summary_free(s), fca_summary_free(back);
  cr_assert_null(fca_summary_from_json(NULL));
  cr_assert_null(fca_summary_to_json(NULL));
}

Test(summaryjson, earlier_scorecard_forms) {
  json_t *o = json_loads("{\"pages\":[{\"url\":\"https://a.test/\",\"scorecard\":[{\"item\":3,"
                         "\"status\":\"pass\",\"reason\":\"r3\"},{\"item\":1,\"status\":\"odd\"}]},"
                         "{\"url\":\"https://b.test/\",\"top_level\":false,\"items\":{\"2\":"
                         "\"fail\"}}]}",
                         0, NULL);
  cr_assert_not_null(o);
  fca_summary_t *s = fca_summary_from_json(o);
  cr_assert_eq(s->pages_seen, -1, "not said");
  cr_assert_eq(s->npages, 2);
  cr_assert(s->pages[0].top_level);
  cr_assert_eq(s->pages[0].items_said, 1u << 3, "an unknown state is not taken");
  cr_assert_str_eq(s->pages[0].items[3].why, "r3");
  cr_assert_null(s->pages[0].stripe_js, "a string the log did not carry stays out");
  cr_assert_eq(s->pages[0].loads, 1, "a log from before loads were combined: one load each");
  cr_assert_not(s->pages[1].top_level);
  cr_assert_eq(s->pages[1].items[2].status, FCA_ITEM_FAIL);
  cr_assert_null(s->pages[1].items[2].why);
  json_t *w = fca_summary_to_json(s);
  cr_assert_null(json_object_get(w, "pages_seen"));
  cr_assert_null(json_object_get(json_array_get(json_object_get(w, "pages"), 0), "stripe_js"));
  json_decref(w);
  json_decref(o);
  fca_summary_free(s);
}
