/* Tests for the run model: run selection, grouping, dedup counts, scorecards, verdict, baseline,
 * ignored rules, the live subscriber, and the console summary. */
#include <criterion/criterion.h>

#include "fcaudit/eventjson.h"
#include "fcaudit/report_json.h"
#include "fcaudit/sink.h"
#include "jsonschema.h"

#include "report_fixture.h"
#include <unistd.h>

static const fca_model_finding_t *find(const fca_model_t *m, const char *rule) {
  for (size_t i = 0; i < m->nfindings; i++)
    if (strcmp(m->findings[i].rule, rule) == 0) return &m->findings[i];
  return NULL;
}

static const fca_model_page_t *page(const fca_model_t *m, const char *key, bool top) {
  for (size_t i = 0; i < m->npages; i++)
    if (strcmp(m->pages[i].key, key) == 0 && m->pages[i].top_level == top) return &m->pages[i];
  return NULL;
}

Test(model, latest_run_by_default_and_run_by_id) {
  fca_model_t *m = fx_model();
  cr_assert_str_eq(m->run, FX_RUN_B);
  cr_assert_eq(m->npages, 3);
  cr_assert_eq(m->nfindings, 4);
  cr_assert_eq(m->bad_lines, 1);
  cr_assert_eq(m->other_runs, 2);
  fca_model_free(m);
  m = fx_model_run(FX_LOG, FX_RUN_A);
  cr_assert_str_eq(m->run, FX_RUN_A);
  cr_assert_eq(m->npages, 1);
  cr_assert_eq(m->nfindings, 1);
  fca_model_free(m);
}

Test(model, unknown_run_is_an_error) {
  FILE *f = fmemopen((void *)FX_LOG, strlen(FX_LOG), "r");
  fca_model_t *m = fca_model_new("nope");
  char err[256];
  cr_assert_eq(fca_model_load_stream(m, f, "x", err, sizeof err), -1);
  cr_assert(strstr(err, "no event of run nope"), "%s", err);
  fclose(f);
  fca_model_free(m);
}

Test(model, findings_once_with_counts) {
  fca_model_t *m = fx_model();
  const fca_model_finding_t *coop = find(m, "FC-COOP-1");
  cr_assert_not_null(coop);
  cr_assert_eq(coop->count, 2, "re-emitted with count 2: seen twice, not three times");
  cr_assert_eq(coop->nevents, 2);
  cr_assert_str_eq(m->pages[coop->page].key, "https://shop.test/checkout");
  const fca_model_finding_t *sbx = find(m, "FC-SBX-1");
  cr_assert_eq(sbx->count, 3);
  cr_assert_eq(sbx->ev_offset, 5120);
  cr_assert_str_eq(sbx->ev_url, "https://shop.test/checkout?session=1");
  cr_assert_eq(m->nnotes, 1);
  cr_assert_str_eq(m->notes[0].kind, "audit-incomplete");
  fca_model_free(m);
}

Test(model, no_dedup_events_are_counted) {
  /* --no-dedup: every event has count 1; the model still counts them. */
  const char log[] = FX_COOP1(FX_RUN_B, FX_PAGE_CHECKOUT, "")
      FX_COOP1(FX_RUN_B, FX_PAGE_CHECKOUT, "") FX_COOP1(FX_RUN_B, FX_PAGE_CHECKOUT, "");
  fca_model_t *m = fx_model_run(log, NULL);
  cr_assert_eq(m->nfindings, 1);
  cr_assert_eq(m->findings[0].count, 3);
  fca_model_free(m);
}

Test(model, scorecards) {
  fca_model_t *m = fx_model();
  fca_model_finalize(m);
  const fca_model_page_t *co = page(m, "https://shop.test/checkout", true);
  cr_assert_not_null(co);
  cr_assert_eq(co->items[1].status, FCA_ITEM_FAIL);
  cr_assert(strstr(co->items[1].why, "FC-COOP-1"));
  cr_assert_eq(co->items[2].status, FCA_ITEM_PASS, "an info finding does not fail an item");
  cr_assert(strstr(co->items[2].why, "1 info finding"), "%s", co->items[2].why);
  cr_assert_eq(co->items[3].status, FCA_ITEM_NA);
  cr_assert_eq(co->items[4].status, FCA_ITEM_NA);
  const fca_model_page_t *fr = page(m, "https://pay.shop.test/frame", false);
  cr_assert_eq(fr->items[1].status, FCA_ITEM_PASS);
  cr_assert_eq(fr->items[2].status, FCA_ITEM_NA);
  cr_assert_eq(fr->items[3].status, FCA_ITEM_FAIL);
  const fca_model_page_t *pay = page(m, "https://shop.test/pay", true);
  cr_assert_eq(pay->passes, 1);
  for (int i = 1; i <= 4; i++) cr_assert_neq(pay->items[i].status, FCA_ITEM_FAIL);
  /* Finalizing twice changes nothing. */
  fca_model_finalize(m);
  cr_assert_eq(co->items[1].status, FCA_ITEM_FAIL);
  fca_model_free(m);
}

Test(model, engine_scorecard_is_final) {
  const char log[] = "{\"schema\":1,\"run\":\"r\",\"type\":\"page\"," FX_PAGE_PAY "}\n"
                     "{\"schema\":1,\"run\":\"r\",\"type\":\"summary\",\"pages\":[{\"url\":"
                     "\"https://shop.test/pay\",\"top_level\":true,\"scorecard\":{\"3\":{"
                     "\"status\":\"pass\",\"why\":\"CSP sandbox allows popups to escape\"}}}]}\n";
  fca_model_t *m = fx_model_run(log, NULL);
  fca_model_finalize(m);
  cr_assert_eq(m->pages[0].items[3].status, FCA_ITEM_PASS);
  cr_assert_str_eq(m->pages[0].items[3].why, "CSP sandbox allows popups to escape");
  fca_model_free(m);
}

Test(model, verdict_follows_policy) {
  fca_model_t *m = fx_model();
  fca_model_verdict_t v;
  fca_model_verdict(m, &v);
  cr_assert(v.fail);
  cr_assert_eq(v.failing, 2); /* COOP-1 and SBX-1 are errors */
  cr_assert_eq(v.by_level[FCA_LEVEL_ERROR], 2);
  cr_assert_eq(v.by_level[FCA_LEVEL_WARNING], 1);
  cr_assert_eq(v.by_level[FCA_LEVEL_INFO], 1);
  cr_assert_eq(v.occurrences[FCA_LEVEL_ERROR], 5);
  cr_assert_eq(fca_model_exit_code(m), 1);

  fca_model_policy_t p = {FCA_LEVEL_WARNING, 0};
  fca_model_set_policy(m, &p);
  fca_model_verdict(m, &v);
  cr_assert_eq(v.failing, 3);
  p.fail_on = FCA_LEVEL_INFO;
  fca_model_set_policy(m, &p);
  fca_model_verdict(m, &v);
  cr_assert_eq(v.failing, 4);
  p.fail_on = FCA_LEVEL_IGNORE; /* never */
  fca_model_set_policy(m, &p);
  cr_assert_eq(fca_model_exit_code(m), 0);
  p.require_tagged = 3;
  fca_model_set_policy(m, &p);
  cr_assert_eq(fca_model_exit_code(m), 0);
  p.require_tagged = 4;
  fca_model_set_policy(m, &p);
  fca_model_verdict(m, &v);
  cr_assert(v.too_few_tagged);
  cr_assert_eq(fca_model_exit_code(m), 1);
  fca_model_free(m);
}

Test(model, fail_on_names) {
  fca_level_t l;
  cr_assert_eq(fca_model_parse_fail_on("never", &l), 0);
  cr_assert_eq(l, FCA_LEVEL_IGNORE);
  cr_assert_eq(fca_model_parse_fail_on("warning", &l), 0);
  cr_assert_eq(l, FCA_LEVEL_WARNING);
  cr_assert_eq(fca_model_parse_fail_on("ignore", &l), -1);
  cr_assert_eq(fca_model_parse_fail_on("loud", &l), -1);
}

Test(model, fingerprint_stable_and_specific) {
  char a[FCA_FINGERPRINT_SIZE], b[FCA_FINGERPRINT_SIZE], c[FCA_FINGERPRINT_SIZE];
  fca_model_fingerprint("FC-COOP-1", "https://s.test/p?a=1", "header", "COOP", "same-origin", NULL,
                        a);
  fca_model_fingerprint("FC-COOP-1", "https://s.test/p?a=2#x", "header", "COOP", "same-origin",
                        NULL, b);
  cr_assert_str_eq(a, b, "the query is not part of the fingerprint");
  cr_assert_eq(strlen(a), 64);
  fca_model_fingerprint("FC-COOP-1", "https://s.test/p", "header", "COOP", "same-origin ", NULL, c);
  cr_assert_str_neq(a, c, "the evidence is");
  fca_model_fingerprint("FC-COOP-2", "https://s.test/p", "header", "COOP", "same-origin", NULL, c);
  cr_assert_str_neq(a, c, "the rule is");
  fca_model_fingerprint("FC-COOP-1", "https://s.test/q", "header", "COOP", "same-origin", NULL, c);
  cr_assert_str_neq(a, c, "the page is");
}

Test(model, baseline_fails_only_new_findings) {
  fca_model_t *first = fx_model();
  json_t *report = fca_report_json(first);
  fca_model_free(first);
  /* Second run: the same findings (other query string, other times) plus a new REF-1. */
  static const char extra[] =
      "{\"schema\":1,\"run\":\"" FX_RUN_B "\",\"ts\":\"2026-11-25T10:00:00.000Z\",\"type\":"
      "\"violation\",\"rule\":\"FC-REF-1\",\"level\":\"error\",\"item\":2,\"message\":\"no-referrer"
      "\",\"fix\":\"x\"," FX_PAGE_CHECKOUT ",\"evidence\":{\"source\":\"header\",\"name\":"
      "\"Referrer-Policy\",\"value\":\"no-referrer\",\"offset\":null}}\n";
  char *log = fca_xasprintf("%s%s", FX_LOG, extra);
  fca_model_t *m = fx_model_run(log, NULL);
  char err[256];
  cr_assert_eq(fca_model_apply_baseline_json(m, report, err, sizeof err), 0, "%s", err);
  fca_model_verdict_t v;
  fca_model_verdict(m, &v);
  cr_assert_eq(v.known, 4);
  cr_assert_eq(v.failing, 1);
  cr_assert(find(m, "FC-COOP-1")->baseline);
  cr_assert_not(find(m, "FC-REF-1")->baseline);
  cr_assert(fca_model_finding_fails(m, find(m, "FC-REF-1")));
  cr_assert_eq(fca_model_exit_code(m), 1);
  fca_model_free(m);
  /* Without the new finding the run passes. */
  m = fx_model();
  cr_assert_eq(fca_model_apply_baseline_json(m, report, err, sizeof err), 0);
  cr_assert_eq(fca_model_exit_code(m), 0);
  fca_model_free(m);
  free(log);
  json_decref(report);
}

Test(model, baseline_rejects_other_json) {
  fca_model_t *m = fx_model();
  json_t *j = json_pack("{s:i}", "x", 1);
  char err[256];
  cr_assert_eq(fca_model_apply_baseline_json(m, j, err, sizeof err), -1);
  cr_assert(strstr(err, "violations"));
  json_decref(j);
  fca_model_free(m);
}

Test(model, ignored_rule_disappears) {
  fca_model_t *m = fx_model();
  fca_model_ignore_rule(m, "FC-COOP-1");
  cr_assert_null(find(m, "FC-COOP-1"));
  cr_assert_eq(m->nfindings, 3);
  /* ...and later events of it are not taken either */
  const char log[] = FX_COOP1(FX_RUN_B, FX_PAGE_CHECKOUT, "");
  json_t *o = json_loads(log, 0, NULL);
  cr_assert_eq(fca_model_add_json(m, o), 1);
  cr_assert_null(find(m, "FC-COOP-1"));
  json_decref(o);
  fca_model_free(m);
}

Test(model, live_subscriber) {
  fca_model_t *m = fca_model_new(NULL);
  fca_event_t ev = {.type = FCA_EV_VIOLATION,
                    .ts_ms = 1795000000000,
                    .rule = "FC-REF-1",
                    .level = FCA_LEVEL_ERROR,
                    .item = 2,
                    .message = "m",
                    .fix = "f",
                    .has_page = true,
                    .page = {1, "https://s.test/a?q", true, "script-tag", "high"},
                    .has_evidence = true,
                    .evidence = {"header", "Referrer-Policy", "no-referrer", 11, -1, NULL},
                    .count = 1};
  fca_model_event_fn(m, &ev);
  fca_model_event_fn(m, &ev);
  cr_assert_eq(m->npages, 1);
  cr_assert_eq(m->nfindings, 1);
  cr_assert_eq(m->findings[0].count, 2);
  cr_assert_str_eq(m->findings[0].ev_value, "no-referrer");
  cr_assert_eq(m->findings[0].ev_offset, -1);
  fca_model_free(m);
}

Test(model, bounds_drop_and_count) {
  fca_model_t *m = fca_model_new(NULL);
  for (int i = 0; i < FCA_MODEL_PAGES_MAX + 5; i++) {
    json_t *o =
        json_pack("{s:s,s:s,s:{s:s,s:b,s:s,s:s}}", "type", "page", "run", "r", "page", "url", "x",
                  "top_level", 1, "tagged_by", "script-tag", "confidence", "high");
    json_object_set_new(json_object_get(o, "page"), "url", json_sprintf("https://s.test/%d", i));
    fca_model_add_json(m, o);
    json_decref(o);
  }
  cr_assert_eq(m->npages, FCA_MODEL_PAGES_MAX);
  cr_assert_eq(m->dropped, 5);
  fca_model_free(m);
}

Test(model, console_summary) {
  fca_model_t *m = fx_model();
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  fca_model_print_summary(f, m, false);
  fclose(f);
  cr_assert(strstr(buf, "pages seen: 5, tagged (load Stripe.js): 3"), "%s", buf);
  cr_assert(strstr(buf, "findings: 2 error, 1 warning, 1 info"), "%s", buf);
  cr_assert(strstr(buf, "FC-COOP-1"));
  cr_assert(strstr(buf, "https://shop.test/checkout"));
  cr_assert(strstr(buf, "verdict: fail at --fail-on error: 2 new findings at or above error on "),
            "%s", buf);
  cr_assert_null(strstr(buf, "WARNING"));
  cr_assert_null(strstr(buf, "\033["), "no color when not asked");
  free(buf);
  fca_model_free(m);

  m = fca_model_new(NULL);
  buf = NULL;
  f = open_memstream(&buf, &len);
  fca_model_print_summary(f, m, true);
  fclose(f);
  cr_assert(strstr(buf, "WARNING: no page loaded Stripe.js"), "%s", buf);
  cr_assert(
      strstr(buf, "pass at --fail-on error; no page loaded Stripe.js, so nothing was audited"),
      "%s", buf);
  free(buf);
  fca_model_free(m);
}

/* The summary event carries the model's verdict into the NDJSON log (and so into `tail`). */
Test(model, summary_event_carries_the_verdict) {
  char path[] = "/tmp/fca-model-sum-XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  close(fd);
  fca_sink_opts_t o = {.log_path = path};
  fca_sink_t *sink = fca_sink_new(&o);
  fca_model_t *m = fca_model_new(NULL);
  cr_assert_eq(fca_model_subscribe(m, sink), 0);
  fca_event_t ev = {.type = FCA_EV_VIOLATION,
                    .rule = "FC-TEST-1",
                    .level = FCA_LEVEL_WARNING,
                    .item = 4,
                    .message = "A live publishable key (pk_live_x) is used",
                    .has_page = true,
                    .page = {1, "https://s.test/a", true, "script-literal", "medium"},
                    .count = 1};
  fca_sink_emit(sink, &ev);
  ev.page = (fca_event_page_t){1, "https://s.test/a", true, "script-request", "medium"};
  fca_sink_emit(sink, &ev);
  fca_summary_t *sum = fca_summary_new();
  sum->pages_tagged = 1;
  fca_event_t se = {.type = FCA_EV_SUMMARY, .summary = sum};
  fca_sink_emit(sink, &se);
  fca_sink_close(sink);
  fca_summary_free(sum);
  cr_assert_str_eq(m->pages[0].tagged_by, "script-request", "the final tag");
  FILE *f = fopen(path, "r");
  char line[8192], last[8192] = "";
  while (fgets(line, sizeof line, f)) memcpy(last, line, sizeof line);
  fclose(f);
  unlink(path);
  json_t *o2 = json_loads(last, 0, NULL);
  cr_assert_str_eq(json_string_value(json_object_get(o2, "type")), "summary");
  json_error_t je;
  json_t *schema = json_load_file(FCA_TEST_SRCDIR "/docs/events.schema.json", 0, &je);
  cr_assert_not_null(schema, "%s", je.text);
  char serr[256];
  cr_assert_eq(fca_jsonschema_validate(schema, o2, serr, sizeof serr), 0, "%s: %s", serr, last);
  json_decref(schema);
  json_t *v = json_object_get(o2, "verdict");
  cr_assert_str_eq(json_string_value(json_object_get(v, "result")), "pass");
  char *want = fca_model_verdict_sentence(m);
  cr_assert_str_eq(json_string_value(json_object_get(v, "sentence")), want);
  cr_assert_str_eq(want, "pass at --fail-on error; 1 warning on 1 page fails its checklist item");
  free(want);
  json_decref(o2);
  fca_model_free(m);
}
