/* Unit tests for eventjson: the JSON form of every event type, validated against
 * docs/events.schema.json; the escape rule for bytes that are not UTF-8; timestamps; run ids. */
#include "fcaudit/eventjson.h"

#include <criterion/criterion.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "jsonschema.h"

#define TS_EXAMPLE 1795514400123LL /* 2026-11-24T10:00:00.123Z */

static json_t *load_schema(void) {
  json_error_t jerr;
  json_t *s = json_load_file(FCA_TEST_SRCDIR "/docs/events.schema.json", 0, &jerr);
  cr_assert_not_null(s, "schema: %s (line %d)", jerr.text, jerr.line);
  return s;
}

/* Serialises ev as a log line, parses it back (strictly: no NUL allowed) and validates it. */
static json_t *roundtrip(const fca_event_t *ev) {
  size_t len;
  char *line = fca_event_to_line(ev, "20261124T100000Z-3f9a1c", &len);
  cr_assert_not_null(line);
  cr_assert_eq(strlen(line), len);
  cr_assert_eq(line[len - 1], '\n');
  cr_assert_null(memchr(line, '\n', len - 1), "one line only");
  json_error_t jerr;
  json_t *o = json_loads(line, 0, &jerr);
  cr_assert_not_null(o, "not JSON: %s: %s", jerr.text, line);
  json_t *schema = load_schema();
  char err[512];
  cr_assert_eq(fca_jsonschema_validate(schema, o, err, sizeof err), 0, "%s: %s", err, line);
  json_decref(schema);
  free(line);
  return o;
}

static fca_event_t violation(void) {
  static const char coop[] = "same-origin";
  fca_event_t ev = {
      .type = FCA_EV_VIOLATION,
      .ts_ms = TS_EXAMPLE,
      .rule = "FC-COOP-1",
      .level = FCA_LEVEL_ERROR,
      .item = 1,
      .message = "COOP same-origin breaks OAuth bank logins",
      .fix = "send Cross-Origin-Opener-Policy: same-origin-allow-popups",
      .doc = "https://docs.stripe.test/checklist",
      .has_page = true,
      .page = {7, "https://shop.test/checkout", true, "script-tag", "high"},
      .has_evidence = true,
      .evidence = {"header", "Cross-Origin-Opener-Policy", coop, sizeof coop - 1, -1, NULL},
      .client = "127.0.0.1:50312",
      .count = 1,
  };
  return ev;
}

static const char *str(json_t *o, const char *path) {
  /* "a.b": one level of nesting is enough here. */
  char key[64];
  const char *dot = strchr(path, '.');
  if (dot) {
    snprintf(key, sizeof key, "%.*s", (int)(dot - path), path);
    return json_string_value(json_object_get(json_object_get(o, key), dot + 1));
  }
  return json_string_value(json_object_get(o, path));
}

Test(eventjson, violation_exact_line) {
  fca_event_t ev = violation();
  char *line = fca_event_to_line(&ev, "20261124T100000Z-3f9a1c", NULL);
  cr_assert_str_eq(
      line, "{\"schema\":1,\"run\":\"20261124T100000Z-3f9a1c\",\"ts\":\"2026-11-24T10:00:00.123Z\","
            "\"type\":\"violation\",\"rule\":\"FC-COOP-1\",\"level\":\"error\",\"item\":1,"
            "\"message\":\"COOP same-origin breaks OAuth bank logins\","
            "\"fix\":\"send Cross-Origin-Opener-Policy: same-origin-allow-popups\","
            "\"doc\":\"https://docs.stripe.test/checklist\","
            "\"page\":{\"id\":7,\"url\":\"https://shop.test/checkout\",\"top_level\":true,"
            "\"tagged_by\":\"script-tag\",\"confidence\":\"high\"},"
            "\"evidence\":{\"source\":\"header\",\"name\":\"Cross-Origin-Opener-Policy\","
            "\"value\":\"same-origin\",\"offset\":null},\"client\":\"127.0.0.1:50312\"}\n");
  free(line);
  json_decref(roundtrip(&ev));
}

Test(eventjson, violation_offset_url_count) {
  static const char tag[] = "<meta name=\"referrer\" content=\"no-referrer\">";
  fca_event_t ev = violation();
  ev.rule = "FC-REF-1";
  ev.level = FCA_LEVEL_WARNING;
  ev.item = 2;
  ev.evidence = (fca_event_evidence_t){"meta", "meta[name=referrer]", tag, sizeof tag - 1,
                                       1234,   "https://shop.test/"};
  ev.count = 3;
  json_t *o = roundtrip(&ev);
  json_t *e = json_object_get(o, "evidence");
  cr_assert_eq(json_integer_value(json_object_get(e, "offset")), 1234);
  cr_assert_str_eq(str(o, "evidence.url"), "https://shop.test/");
  cr_assert_str_eq(str(o, "evidence.value"), tag);
  cr_assert_str_eq(str(o, "level"), "warning");
  cr_assert_eq(json_integer_value(json_object_get(o, "count")), 3);
  cr_assert_null(json_object_get(e, "escaped"));
  json_decref(o);

  ev.count = 1; /* 1 (and 0) mean "first time": no count key */
  ev.evidence.offset = -1;
  o = roundtrip(&ev);
  cr_assert_null(json_object_get(o, "count"));
  cr_assert(json_is_null(json_object_get(json_object_get(o, "evidence"), "offset")));
  json_decref(o);
}

Test(eventjson, page_event) {
  fca_event_t ev = {.type = FCA_EV_PAGE,
                    .ts_ms = TS_EXAMPLE,
                    .has_page = true,
                    .page = {9, "https://shop.test/pay", false, "script-request", "medium"},
                    .client = "127.0.0.1:1"};
  /* Fields that do not apply to a page event are set but must not appear. */
  ev.rule = "FC-COOP-1";
  ev.fix = "x";
  ev.note = "n";
  ev.count = 5;
  ev.level = FCA_LEVEL_ERROR;
  json_t *o = roundtrip(&ev);
  cr_assert_str_eq(str(o, "type"), "page");
  cr_assert_str_eq(str(o, "page.tagged_by"), "script-request");
  cr_assert_str_eq(str(o, "page.confidence"), "medium");
  cr_assert(json_is_false(json_object_get(json_object_get(o, "page"), "top_level")));
  const char *absent[] = {"rule", "level", "item", "fix", "doc", "note", "count", "evidence"};
  for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++) {
    cr_assert_null(json_object_get(o, absent[i]), "%s present", absent[i]);
  }
  json_decref(o);
}

Test(eventjson, pass_event) {
  fca_event_t ev = {.type = FCA_EV_PASS,
                    .ts_ms = TS_EXAMPLE,
                    .has_page = true,
                    .page = {3, "https://shop.test/", true, "script-tag", "high"},
                    .has_evidence = true,
                    .evidence = {"header", "X", "y", 1, -1, NULL},
                    .count = 2};
  json_t *o = roundtrip(&ev);
  cr_assert_str_eq(str(o, "type"), "pass");
  cr_assert_null(json_object_get(o, "evidence"));
  cr_assert_null(json_object_get(o, "count"));
  cr_assert_null(json_object_get(o, "client"));
  json_decref(o);
}

Test(eventjson, note_event) {
  fca_event_t ev = {.type = FCA_EV_NOTE,
                    .ts_ms = TS_EXAMPLE,
                    .note = "audit-incomplete",
                    .message = "body over the 16 MiB audit cap",
                    .has_page = true,
                    .page = {4, "https://shop.test/big", true, NULL, NULL},
                    .client = "127.0.0.1:2",
                    .count = 2};
  json_t *o = roundtrip(&ev);
  cr_assert_str_eq(str(o, "note"), "audit-incomplete");
  cr_assert_str_eq(str(o, "message"), "body over the 16 MiB audit cap");
  cr_assert_null(json_object_get(json_object_get(o, "page"), "tagged_by"));
  cr_assert_eq(json_integer_value(json_object_get(o, "count")), 2);
  json_decref(o);

  ev.has_page = false; /* a note about a connection has no page */
  o = roundtrip(&ev);
  cr_assert_null(json_object_get(o, "page"));
  json_decref(o);
}

Test(eventjson, summary_merges_keys) {
  fca_summary_t *sum = fca_summary_new();
  sum->pages_tagged = 4;
  sum->violations_by_level[FCA_LEVEL_ERROR] = (fca_count_t){2, 3};
  sum->violations_by_level[FCA_LEVEL_WARNING] = (fca_count_t){1, 1};
  sum->test_mode.present = true;
  fca_test_mode_add_institution(&sum->test_mode, "Test (OAuth)", false);
  fca_event_t ev = {.type = FCA_EV_SUMMARY, .ts_ms = TS_EXAMPLE, .summary = sum, .count = 99};
  json_t *o = roundtrip(&ev);
  cr_assert_str_eq(str(o, "type"), "summary", "fixed keys win over the summary's");
  cr_assert_null(json_object_get(o, "count"), "fixed key names are not copied");
  cr_assert_eq(json_integer_value(json_object_get(o, "pages_tagged")), 4);
  json_t *bl = json_object_get(json_object_get(o, "violations"), "by_level");
  cr_assert_eq(json_integer_value(json_object_get(json_object_get(bl, "error"), "reported")), 2);
  cr_assert_eq(json_integer_value(json_object_get(json_object_get(bl, "warning"), "reported")), 1);
  json_t *tm = json_object_get(o, "test_mode");
  cr_assert_eq(json_array_size(json_object_get(tm, "missing")), 1);
  json_decref(o);
  cr_assert_eq(sum->pages_tagged, 4, "the summary is borrowed");
  fca_summary_free(sum);

  ev.summary = NULL; /* a summary without content is still an event */
  json_decref(roundtrip(&ev));
}

Test(eventjson, invalid_utf8_and_nul_are_escaped) {
  static const char raw[] = "a\xff\x00"
                            "b\\c\xc3\xa9\xe2\x82"; /* é valid, last 2 bytes cut */
  fca_event_t ev = violation();
  ev.evidence.value = raw;
  ev.evidence.value_len = sizeof raw - 1;
  json_t *o = roundtrip(&ev);
  json_t *e = json_object_get(o, "evidence");
  cr_assert_str_eq(json_string_value(json_object_get(e, "value")),
                   "a\\xff\\x00b\\\\c\xc3\xa9\\xe2\\x82");
  cr_assert(json_is_true(json_object_get(e, "escaped")));
  json_decref(o);

  /* Other strings (a raw request URL) are escaped too rather than lost. */
  ev = violation();
  ev.page.url = "https://shop.test/\xfe\xfdpath";
  o = roundtrip(&ev);
  cr_assert_str_eq(str(o, "page.url"), "https://shop.test/\\xfe\\xfdpath");
  json_decref(o);
}

Test(eventjson, escape_rule) {
  size_t n;
  bool esc;
  char *s = fca_eventjson_escape("plain \\ text", 12, &n, &esc);
  cr_assert_str_eq(s, "plain \\ text", "valid UTF-8 stays exact, backslash included");
  cr_assert_not(esc);
  cr_assert_eq(n, 12);
  free(s);
  /* Overlong '/', a UTF-16 surrogate, a code point past U+10FFFF, a stray continuation. */
  s = fca_eventjson_escape("\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\x80", 13, &n, &esc);
  cr_assert_str_eq(s, "\\xc0\\xaf|\\xed\\xa0\\x80|\\xf4\\x90\\x80\\x80|\\x80");
  cr_assert(esc);
  cr_assert_eq(n, strlen(s));
  free(s);
  /* The largest code point and a 4-byte emoji are valid. */
  s = fca_eventjson_escape("\xf4\x8f\xbf\xbf\xf0\x9f\x98\x80", 8, NULL, &esc);
  cr_assert_not(esc);
  free(s);
  const unsigned char e0[] = {0xe0, 0x9f, 0x80};
  cr_assert_eq(fca_eventjson_utf8_len(e0, 3), 0, "overlong 3-byte form");
  const unsigned char ok[] = {0xe0, 0xa0, 0x80};
  cr_assert_eq(fca_eventjson_utf8_len(ok, 3), 3);
  cr_assert_eq(fca_eventjson_utf8_len(ok, 2), 0, "truncated");
}

Test(eventjson, evidence_null_value_and_secret_names) {
  fca_event_t ev = violation();
  ev.evidence.value = NULL;
  ev.evidence.value_len = 0;
  json_t *o = roundtrip(&ev);
  cr_assert(json_is_null(json_object_get(json_object_get(o, "evidence"), "value")));
  json_decref(o);

  const char *names[] = {"Cookie", "set-cookie", "AUTHORIZATION", "Proxy-Authorization"};
  for (size_t i = 0; i < 4; i++) {
    ev = violation();
    ev.evidence.name = names[i];
    ev.evidence.value = "session=s3cr3t";
    ev.evidence.value_len = 14;
    char *line = fca_event_to_line(&ev, "r", NULL);
    cr_assert_null(strstr(line, "s3cr3t"), "%s leaked: %s", names[i], line);
    cr_assert_not_null(strstr(line, "\"value\":\"[redacted]\""));
    free(line);
  }
}

Test(eventjson, timestamps) {
  char ts[FCA_TS_SIZE];
  cr_assert_eq(fca_eventjson_format_ts(TS_EXAMPLE, ts, sizeof ts), 24);
  cr_assert_str_eq(ts, "2026-11-24T10:00:00.123Z");
  fca_eventjson_format_ts(0, ts, sizeof ts);
  cr_assert_str_eq(ts, "1970-01-01T00:00:00.000Z");
  fca_eventjson_format_ts(-1, ts, sizeof ts);
  cr_assert_str_eq(ts, "1969-12-31T23:59:59.999Z");
  fca_eventjson_format_ts(951782400007LL, ts, sizeof ts); /* leap day */
  cr_assert_str_eq(ts, "2000-02-29T00:00:00.007Z");
  cr_assert_eq(fca_eventjson_format_ts(TS_EXAMPLE, ts, 24), 0, "no room for the NUL");
  cr_assert_str_eq(ts, "");
}

Test(eventjson, run_ids) {
  char a[FCA_RUN_ID_SIZE], b[FCA_RUN_ID_SIZE];
  cr_assert_eq(fca_run_id_new(a, sizeof a), 0);
  cr_assert_eq(fca_run_id_new(b, sizeof b), 0);
  regex_t re;
  cr_assert_eq(regcomp(&re, "^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$", REG_EXTENDED | REG_NOSUB), 0);
  cr_assert_eq(regexec(&re, a, 0, NULL, 0), 0, "%s", a);
  cr_assert_eq(regexec(&re, b, 0, NULL, 0), 0, "%s", b);
  regfree(&re);
  /* 24 random bits: two ids of the same second collide with chance 2^-24. */
  cr_assert_str_neq(a, b);
  char small[10];
  cr_assert_eq(fca_run_id_new(small, sizeof small), -1);
  cr_assert_str_eq(small, "");
}

Test(eventjson, schema_rejects_bad_events) {
  json_t *schema = load_schema();
  fca_event_t ev = violation();
  json_t *good = fca_event_to_json(&ev, "r1");
  char err[256];
  cr_assert_eq(fca_jsonschema_validate(schema, good, err, sizeof err), 0, "%s", err);

  struct {
    const char *why;
    const char *key;
    json_t *val; /* NULL: delete the key */
  } cases[] = {
      {"violation without fix", "fix", NULL},
      {"violation without page", "page", NULL},
      {"unknown level", "level", json_string("fatal")},
      {"item out of range", "item", json_integer(5)},
      {"rule id shape", "rule", json_string("COOP-1")},
      {"schema version", "schema", json_integer(2)},
      {"ts without ms", "ts", json_string("2026-11-24T10:00:00Z")},
      {"note key on a violation", "note", json_string("x")},
      {"count of 1", "count", json_integer(1)},
      {"unknown type", "type", json_string("alert")},
      {"run missing", "run", NULL},
      {"evidence offset -1", "evidence",
       json_pack("{s:s,s:s,s:s,s:i}", "source", "header", "name", "n", "value", "v", "offset", -1)},
      {"evidence source", "evidence",
       json_pack("{s:s,s:s,s:s,s:n}", "source", "cookie-jar", "name", "n", "value", "v", "offset")},
      {"page tagged_by", "page",
       json_pack("{s:i,s:s,s:b,s:s,s:s}", "id", 1, "url", "u", "top_level", 1, "tagged_by", "guess",
                 "confidence", "high")},
      {"page without confidence", "page",
       json_pack("{s:i,s:s,s:b,s:s}", "id", 1, "url", "u", "top_level", 1, "tagged_by",
                 "script-tag")},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_t *bad = json_deep_copy(good);
    if (cases[i].val)
      json_object_set_new(bad, cases[i].key, cases[i].val);
    else
      json_object_del(bad, cases[i].key);
    cr_expect_eq(fca_jsonschema_validate(schema, bad, err, sizeof err), -1, "accepted: %s",
                 cases[i].why);
    json_decref(bad);
  }
  /* Tools may add top-level keys. */
  json_t *extra = json_deep_copy(good);
  json_object_set_new(extra, "x-tool", json_string("added"));
  cr_assert_eq(fca_jsonschema_validate(schema, extra, err, sizeof err), 0, "%s", err);
  json_decref(extra);
  /* A pass event must not carry rule keys. */
  json_t *pass = json_deep_copy(good);
  json_object_set_new(pass, "type", json_string("pass"));
  json_object_del(pass, "evidence");
  cr_assert_eq(fca_jsonschema_validate(schema, pass, err, sizeof err), -1);
  json_decref(pass);
  json_decref(good);
  json_decref(schema);
}

Test(eventjson, doc_examples_follow_the_schema) {
  FILE *f = fopen(FCA_TEST_SRCDIR "/docs/events.md", "r");
  cr_assert_not_null(f);
  json_t *schema = load_schema();
  char line[4096];
  bool in_json = false;
  int examples = 0;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "```", 3) == 0) {
      in_json = strncmp(line, "```json", 7) == 0;
      continue;
    }
    if (!in_json) continue;
    json_error_t jerr;
    json_t *o = json_loads(line, 0, &jerr);
    cr_assert_not_null(o, "docs/events.md example is not JSON: %s: %s", jerr.text, line);
    char err[256];
    cr_assert_eq(fca_jsonschema_validate(schema, o, err, sizeof err), 0, "%s: %s", err, line);
    json_decref(o);
    examples++;
  }
  fclose(f);
  json_decref(schema);
  cr_assert_geq(examples, 5, "one example per event type");
}

/* The schema pins the report-only convention of the CSP rules: a finding whose evidence is a
 * Content-Security-Policy-Report-Only policy is at most info and says "Report-only". */
Test(eventjson, csp_report_only_findings_are_info) {
  static const char pol[] = "script-src 'self'";
  fca_event_t ev = violation();
  ev.rule = "FC-CSP-1";
  ev.item = 0;
  ev.level = FCA_LEVEL_INFO;
  ev.message = "Report-only (nothing is blocked yet; this breaks once enforced): ...";
  ev.evidence = (fca_event_evidence_t){
      "csp", "Content-Security-Policy-Report-Only", pol, sizeof pol - 1, -1, NULL};
  json_decref(roundtrip(&ev)); /* valid */
  json_t *schema = load_schema();
  char err[256];
  const char *bad[] = {"error", "msg"};
  for (int i = 0; i < 2; i++) {
    ev.level = i == 0 ? FCA_LEVEL_ERROR : FCA_LEVEL_INFO;
    ev.message = i == 0 ? "Report-only ..." : "Content-Security-Policy blocks Stripe.js";
    char *line = fca_event_to_line(&ev, "20261124T100000Z-3f9a1c", NULL);
    json_t *o = json_loads(line, 0, NULL);
    cr_assert_neq(fca_jsonschema_validate(schema, o, err, sizeof err), 0, "%s accepted", bad[i]);
    json_decref(o);
    free(line);
  }
  json_decref(schema);
}
