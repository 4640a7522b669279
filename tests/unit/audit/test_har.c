/* Unit tests of the HAR reader (streaming scanner: elements in order, errors naming the entry,
 * body texts cut on a character boundary, chunk boundaries) and of the replay (Chrome's
 * fields, base64 bodies, decoded bodies with a Content-Encoding header, body-missing notes). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit_capture.h"
#include "fcaudit/har.h"
#include "fcaudit/util.h"

static fca_har_reader_t *mem_reader(const char *text, size_t text_max, FILE **f) {
  *f = fmemopen((void *)text, strlen(text), "r");
  cr_assert_not_null(*f);
  return fca_har_reader_new(*f, "t.har", text_max);
}

static const char *ENTRY_FMT =
    "{\"startedDateTime\":\"2026-12-01T10:00:0%d.000Z\",\"request\":{\"method\":\"GET\",\"url\":"
    "\"https://shop.test/%d\",\"headers\":[]},\"response\":{\"status\":200,\"headers\":[],"
    "\"content\":{\"size\":1,\"mimeType\":\"text/html\",\"text\":\"%s\"}}}";

static char *har_of(int n, const char *text) {
  char *s =
      fca_xstrdup("{\"log\":{\"version\":\"1.2\",\"creator\":{\"name\":\"t\"},\"pages\":[{\"id\":"
                  "\"p1\",\"title\":\"x\"}],\"entries\":[");
  for (int i = 1; i <= n; i++) {
    char *e = fca_xasprintf(ENTRY_FMT, i % 10, i, text);
    char *t = fca_xasprintf("%s%s%s", s, i > 1 ? "," : "", e);
    free(s), free(e);
    s = t;
  }
  char *t = fca_xasprintf("%s]}}\n", s);
  free(s);
  return t;
}

Test(har_reader, pages_then_entries_in_order) {
  char *h = har_of(3, "<p>hi</p>");
  FILE *f;
  fca_har_reader_t *r = mem_reader(h, 0, &f);
  fca_har_item_t it;
  fca_har_reader_next(r, &it);
  cr_assert_eq(it.kind, FCA_HAR_PAGE, "%s", it.err);
  cr_assert_str_eq(json_string_value(json_object_get(it.obj, "id")), "p1");
  json_decref(it.obj);
  for (int i = 1; i <= 3; i++) {
    fca_har_reader_next(r, &it);
    cr_assert_eq(it.kind, FCA_HAR_ENTRY, "%s", it.err);
    cr_assert_eq(it.index, (size_t)i);
    char want[64];
    snprintf(want, sizeof want, "https://shop.test/%d", i);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(it.obj, "request"), "url")),
                     want);
    cr_assert_not(it.text_cut);
    json_decref(it.obj);
  }
  fca_har_reader_next(r, &it);
  cr_assert_eq(it.kind, FCA_HAR_END, "%s", it.err);
  fca_har_reader_free(r);
  fclose(f);
  free(h);
}

Test(har_reader, truncated_file_names_the_entry_after_earlier_entries) {
  char *h = har_of(3, "abc");
  char *third = strstr(h, "https://shop.test/3");
  third[5] = '\0'; /* the file ends inside entry 3 */
  FILE *f;
  fca_har_reader_t *r = mem_reader(h, 0, &f);
  fca_har_item_t it;
  fca_har_reader_next(r, &it);
  json_decref(it.obj);
  for (int i = 0; i < 2; i++) {
    fca_har_reader_next(r, &it);
    cr_assert_eq(it.kind, FCA_HAR_ENTRY, "%s", it.err);
    json_decref(it.obj);
  }
  fca_har_reader_next(r, &it);
  cr_assert_eq(it.kind, FCA_HAR_ERROR);
  cr_assert(strstr(it.err, "truncated HAR"), "%s", it.err);
  cr_assert(strstr(it.err, "inside entry 3"), "%s", it.err);
  cr_assert_eq(it.index, 3);
  fca_har_reader_next(r, &it);
  cr_assert_eq(it.kind, FCA_HAR_END);
  fca_har_reader_free(r);
  fclose(f);
  free(h);
}

Test(har_reader, malformed_entry_is_named) {
  char *h = har_of(2, "abc");
  char *p = strstr(h, "https://shop.test/2");
  p = strstr(p, "\"headers\"");
  p[-1] = ' '; /* the comma before "headers" of entry 2 */
  FILE *f;
  fca_har_reader_t *r = mem_reader(h, 0, &f);
  fca_har_item_t it;
  fca_har_reader_next(r, &it);
  json_decref(it.obj);
  fca_har_reader_next(r, &it);
  cr_assert_eq(it.kind, FCA_HAR_ENTRY);
  json_decref(it.obj);
  fca_har_reader_next(r, &it);
  cr_assert_eq(it.kind, FCA_HAR_ERROR);
  cr_assert(strstr(it.err, "malformed HAR in entry 2"), "%s", it.err);
  cr_assert(strstr(it.err, "expected ','"), "%s", it.err);
  fca_har_reader_free(r);
  fclose(f);
  free(h);
}

Test(har_reader, bad_escape_inside_an_entry_is_named) {
  char *h = har_of(1, "a\\qb");
  FILE *f;
  fca_har_reader_t *r = mem_reader(h, 0, &f);
  fca_har_item_t it;
  fca_har_reader_next(r, &it);
  json_decref(it.obj);
  fca_har_reader_next(r, &it);
  cr_assert_eq(it.kind, FCA_HAR_ERROR);
  cr_assert(strstr(it.err, "entry 1"), "%s", it.err);
  fca_har_reader_free(r);
  fclose(f);
  free(h);
}

Test(har_reader, byte_order_mark) {
  char *h = har_of(1, "x");
  char *b = fca_xasprintf("\xef\xbb\xbf%s", h);
  FILE *f;
  fca_har_reader_t *r = mem_reader(b, 0, &f);
  fca_har_item_t it;
  fca_har_reader_next(r, &it);
  cr_assert_eq(it.kind, FCA_HAR_PAGE, "%s", it.err);
  json_decref(it.obj);
  fca_har_reader_next(r, &it);
  cr_assert_eq(it.kind, FCA_HAR_ENTRY, "%s", it.err);
  json_decref(it.obj);
  fca_har_reader_free(r);
  fclose(f);
  free(b), free(h);
}

Test(har_reader, not_a_har) {
  FILE *f;
  fca_har_reader_t *r = mem_reader("{\"log\":{\"version\":\"1.2\"}}", 0, &f);
  fca_har_item_t it;
  fca_har_reader_next(r, &it);
  cr_assert_eq(it.kind, FCA_HAR_ERROR);
  cr_assert(strstr(it.err, "no log.entries"), "%s", it.err);
  fca_har_reader_free(r);
  fclose(f);
  r = mem_reader("[1,2]garbage", 0, &f);
  fca_har_reader_next(r, &it);
  cr_assert_eq(it.kind, FCA_HAR_ERROR);
  cr_assert(strstr(it.err, "after the end"), "%s", it.err);
  fca_har_reader_free(r);
  fclose(f);
}

/* A body text over the cap is cut on a character boundary: never inside an escape, a UTF-8
 * sequence or a surrogate pair; what is kept is valid JSON and the entry says it was cut. */
Test(har_reader, long_text_cut_on_a_character_boundary) {
  const char *unit = "\\u00e9\xc3\xa9\\ud83d\\ude00\\\"x"; /* escape, UTF-8, pair, quote */
  for (size_t cap = 1; cap < 40; cap++) {
    char text[2048] = "";
    for (int i = 0; i < 20; i++) strcat(text, unit);
    char *h = har_of(1, text);
    FILE *f;
    fca_har_reader_t *r = mem_reader(h, cap, &f);
    fca_har_item_t it;
    fca_har_reader_next(r, &it);
    json_decref(it.obj);
    fca_har_reader_next(r, &it);
    cr_assert_eq(it.kind, FCA_HAR_ENTRY, "cap %zu: %s", cap, it.err);
    cr_assert(it.text_cut, "cap %zu", cap);
    const char *t = json_string_value(
        json_object_get(json_object_get(json_object_get(it.obj, "response"), "content"), "text"));
    cr_assert_not_null(t);
    cr_assert_lt(strlen(t), 40);
    json_decref(it.obj);
    fca_har_reader_free(r);
    fclose(f);
    free(h);
  }
}

/* Elements that straddle the reader's 64 KiB chunks, at many offsets. */
Test(har_reader, elements_across_chunk_boundaries) {
  for (int pad = 0; pad < 24; pad++) {
    static const char pat[] = "ab\xc3\xa9\\\"cd"; /* ASCII, UTF-8, an escaped quote */
    size_t n = (size_t)pad + 8 * 8200;
    char *text = fca_xmalloc(n + 1);
    memset(text, 'z', (size_t)pad);
    for (size_t i = (size_t)pad; i < n; i++) text[i] = pat[(i - (size_t)pad) % 8];
    text[n] = '\0';
    char *h = har_of(3, text);
    FILE *f;
    fca_har_reader_t *r = mem_reader(h, 0, &f);
    fca_har_item_t it;
    fca_har_reader_next(r, &it);
    json_decref(it.obj);
    for (int i = 1; i <= 3; i++) {
      fca_har_reader_next(r, &it);
      cr_assert_eq(it.kind, FCA_HAR_ENTRY, "pad %d entry %d: %s", pad, i, it.err);
      cr_assert_eq(it.index, (size_t)i);
      json_decref(it.obj);
    }
    fca_har_reader_next(r, &it);
    cr_assert_eq(it.kind, FCA_HAR_END, "%s", it.err);
    fca_har_reader_free(r);
    fclose(f);
    free(h);
    free(text);
  }
}

Test(har_time, iso8601_with_zone) {
  cr_assert_eq(fca_har_parse_time("1970-01-01T00:00:01.5Z"), 1500);
  cr_assert_eq(fca_har_parse_time("1970-01-01T01:00:00.000+01:00"), 0);
  cr_assert_eq(fca_har_parse_time("1970-01-01T00:00:00-0030"), 1800000);
  cr_assert_eq(fca_har_parse_time("2026-12-01T10:00:00.123456Z"),
               fca_har_parse_time("2026-12-01T10:00:00.123Z"));
  cr_assert_eq(fca_har_parse_time("2026-12-01T10:00:00"), -1); /* no zone */
  cr_assert_eq(fca_har_parse_time("yesterday"), -1);
  cr_assert_eq(fca_har_parse_time(NULL), -1);
}

/* ---- replay ---- */

static json_t *J(const char *s) {
  json_error_t e;
  json_t *j = json_loads(s, 0, &e);
  cr_assert_not_null(j, "%s: %s", e.text, s);
  return j;
}

static void replay(fca_har_replay_t *r, const char *entry) {
  json_t *e = J(entry);
  char err[200] = "";
  cr_assert_eq(fca_har_replay_entry(r, e, false, err, sizeof err), 0, "%s", err);
  json_decref(e);
}

/* Chrome DevTools' export: HTTP/2 pseudo-headers, no Sec-Fetch-Dest, _resourceType and
 * _initiator tell documents, frames and scripts apart; a gzip header on a decoded body. */
Test(har_replay, chrome_devtools_fields) {
  capture_t c;
  cap_init(&c);
  fca_audit_t *a = cap_audit(&c, "staging");
  fca_har_replay_t *r = fca_har_replay_new(a, "har:t", NULL);
  json_t *pg = J("{\"id\":\"page_1\",\"title\":\"https://embed.test/\"}");
  fca_har_replay_page(r, pg);
  json_decref(pg);
  replay(r, "{\"_resourceType\":\"document\",\"_initiator\":{\"type\":\"other\"},\"pageref\":"
            "\"page_1\",\"startedDateTime\":\"2026-12-01T10:00:00.000Z\",\"request\":{\"method\":"
            "\"GET\",\"url\":\"https://embed.test/\",\"headers\":[{\"name\":\":authority\","
            "\"value\":\"embed.test\"}]},\"response\":{\"status\":200,\"headers\":[{\"name\":"
            "\"content-type\",\"value\":\"text/html\"},{\"name\":\"content-encoding\",\"value\":"
            "\"br\"}],\"content\":{\"size\":80,\"text\":\"<iframe src=\\\"https://checkout.test/"
            "pay\\\" sandbox=\\\"allow-scripts allow-same-origin\\\"></iframe>\"}}}");
  replay(r, "{\"_resourceType\":\"document\",\"_initiator\":{\"type\":\"parser\",\"url\":"
            "\"https://embed.test/\"},\"pageref\":\"page_1\",\"startedDateTime\":"
            "\"2026-12-01T10:00:00.100Z\",\"request\":{\"method\":\"GET\",\"url\":\"https://"
            "checkout.test/pay\",\"headers\":[]},\"response\":{\"status\":200,\"headers\":[{"
            "\"name\":\"content-type\",\"value\":\"text/html\"}],\"content\":{\"size\":9,"
            "\"text\":\"PHNjcmlwdCBzcmM9Ii8vanMuc3RyaXBlLmNvbS92My8iPjwvc2NyaXB0Pg==\","
            "\"encoding\":\"base64\"}}}");
  const cap_event_t *p = cap_find(&c, FCA_EV_PAGE, NULL);
  cr_assert_not_null(p, "the framed page is tagged from its base64 body");
  cr_assert_str_eq(p->page_url, "https://checkout.test/pay");
  cr_assert_not(p->top_level, "_initiator parser + _resourceType document = a frame");
  cr_assert_not_null(cap_find(&c, FCA_EV_VIOLATION, "FC-SBX-1"), "joined with its iframe");
  cr_assert_not_null(cap_find(&c, FCA_EV_VIOLATION, "FC-SBX-2"));
  cr_assert_eq(cap_count(&c, FCA_EV_NOTE, NULL), 0, "no corrupt-encoding note: decoded body");
  fca_har_replay_free(r);
  fca_audit_finish(a);
  fca_audit_free(a);
  cap_free(&c);
}

/* A script request with no Referer is matched through its parser _initiator (high). */
Test(har_replay, initiator_stands_in_for_referer) {
  capture_t c;
  cap_init(&c);
  fca_audit_t *a = cap_audit(&c, "staging");
  fca_har_replay_t *r = fca_har_replay_new(a, "har:t", NULL);
  replay(r, "{\"_resourceType\":\"document\",\"startedDateTime\":\"2026-12-01T10:00:00Z\","
            "\"request\":{\"method\":\"GET\",\"url\":\"https://shop.test/spa\",\"headers\":[]},"
            "\"response\":{\"status\":200,\"headers\":[{\"name\":\"Content-Type\",\"value\":"
            "\"text/html\"},{\"name\":\"Referrer-Policy\",\"value\":\"no-referrer\"}],"
            "\"content\":{\"size\":5,\"text\":\"<p>hi\"}}}");
  replay(r, "{\"_resourceType\":\"script\",\"_initiator\":{\"type\":\"parser\",\"url\":"
            "\"https://shop.test/spa\"},\"startedDateTime\":\"2026-12-01T10:00:01Z\",\"request\":"
            "{\"method\":\"GET\",\"url\":\"https://js.stripe.com/v3/\",\"headers\":[]},"
            "\"response\":{\"status\":200,\"headers\":[],\"content\":{\"size\":0}}}");
  const cap_event_t *p = cap_find(&c, FCA_EV_PAGE, NULL);
  cr_assert_not_null(p);
  cr_assert_str_eq(p->tagged_by, "script-request");
  cr_assert_str_eq(p->confidence, "high");
  cr_assert_not_null(cap_find(&c, FCA_EV_VIOLATION, "FC-REF-1"));
  fca_har_replay_free(r);
  fca_audit_finish(a);
  fca_audit_free(a);
  cap_free(&c);
}

static const cap_event_t *note_of(const capture_t *c, const char *kind) {
  for (size_t i = 0; i < c->n; i++)
    if (c->ev[i].type == FCA_EV_NOTE && c->ev[i].note && strcmp(c->ev[i].note, kind) == 0)
      return &c->ev[i];
  return NULL;
}

/* Entries without a body say what could not be judged: a document exported without content
 * (its headers still are), a 304 with no earlier copy; an image without body says nothing. */
Test(har_replay, body_missing_notes) {
  capture_t c;
  cap_init(&c);
  fca_audit_t *a = cap_audit(&c, "staging");
  fca_har_replay_t *r = fca_har_replay_new(a, "har:t", NULL);
  replay(r, "{\"startedDateTime\":\"2026-12-01T10:00:00Z\",\"request\":{\"method\":\"GET\","
            "\"url\":\"https://shop.test/a\",\"headers\":[{\"name\":\"Sec-Fetch-Dest\",\"value\":"
            "\"document\"}]},\"response\":{\"status\":200,\"headers\":[{\"name\":"
            "\"Content-Type\",\"value\":\"text/html\"}],\"content\":{\"size\":900,\"mimeType\":"
            "\"text/html\"}}}");
  const cap_event_t *n = note_of(&c, "body-missing");
  cr_assert_not_null(n);
  cr_assert(strstr(n->message, "https://shop.test/a"), "%s", n->message);
  cr_assert(strstr(n->message, "without content"), "%s", n->message);
  cr_assert(strstr(n->message, "sandbox"), "%s", n->message);
  cap_clear(&c);
  replay(r, "{\"startedDateTime\":\"2026-12-01T10:00:01Z\",\"request\":{\"method\":\"GET\","
            "\"url\":\"https://shop.test/b\",\"headers\":[{\"name\":\"Sec-Fetch-Dest\",\"value\":"
            "\"document\"}]},\"response\":{\"status\":304,\"headers\":[],\"content\":{\"size\":"
            "0}}}");
  n = note_of(&c, "body-missing");
  cr_assert_not_null(n);
  cr_assert(strstr(n->message, "304"), "%s", n->message);
  cap_clear(&c);
  replay(r, "{\"startedDateTime\":\"2026-12-01T10:00:02Z\",\"request\":{\"method\":\"GET\","
            "\"url\":\"https://shop.test/c.png\",\"headers\":[{\"name\":\"Sec-Fetch-Dest\","
            "\"value\":\"image\"}]},\"response\":{\"status\":200,\"headers\":[{\"name\":"
            "\"Content-Type\",\"value\":\"image/png\"}],\"content\":{\"size\":900}}}");
  cr_assert_null(note_of(&c, "body-missing"));
  fca_har_replay_free(r);
  fca_audit_finish(a);
  fca_audit_free(a);
  cap_free(&c);
}

Test(har_replay, bad_entries_are_refused) {
  capture_t c;
  cap_init(&c);
  fca_audit_t *a = cap_audit(&c, "staging");
  fca_har_replay_t *r = fca_har_replay_new(a, "har:t", NULL);
  char err[200];
  json_t *e = J("{\"startedDateTime\":\"2026-12-01T10:00:00Z\",\"request\":{}}");
  cr_assert_eq(fca_har_replay_entry(r, e, false, err, sizeof err), -1);
  cr_assert(strstr(err, "request.url"), "%s", err);
  json_decref(e);
  e = J("{\"startedDateTime\":\"now\",\"request\":{\"url\":\"https://a.test/\"}}");
  cr_assert_eq(fca_har_replay_entry(r, e, false, err, sizeof err), -1);
  cr_assert(strstr(err, "startedDateTime"), "%s", err);
  json_decref(e);
  e = J("{\"startedDateTime\":\"2026-12-01T10:00:00Z\",\"request\":{\"url\":\"https://a.test/\","
        "\"headers\":[{\"name\":\"Sec-Fetch-Dest\",\"value\":\"document\"}]},\"response\":{"
        "\"status\":200,\"headers\":[{\"name\":\"Content-Type\",\"value\":\"text/html\"}],"
        "\"content\":{\"text\":\"***\",\"encoding\":\"base64\"}}}");
  cr_assert_eq(fca_har_replay_entry(r, e, false, err, sizeof err), -1);
  cr_assert(strstr(err, "base64"), "%s", err);
  json_decref(e);
  fca_har_replay_free(r);
  fca_audit_finish(a);
  fca_audit_free(a);
  cap_free(&c);
}

/* Playwright's recordHar with content "attach": the body is a file beside the HAR. */
Test(har_replay, playwright_attached_body_file) {
  char dir[] = "/tmp/fca-har-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char *body = fca_xasprintf("%s/0123abcd.html", dir);
  FILE *f = fopen(body, "w");
  cr_assert_not_null(f);
  fputs("<script src=\"https://js.stripe.com/v3\"></script>", f);
  fclose(f);
  capture_t c;
  cap_init(&c);
  fca_audit_t *a = cap_audit(&c, "staging");
  fca_har_replay_t *r = fca_har_replay_new(a, "har:t", dir);
  replay(r, "{\"startedDateTime\":\"2026-12-01T10:00:00Z\",\"request\":{\"method\":\"GET\","
            "\"url\":\"https://shop.test/a\",\"headers\":[{\"name\":\"Sec-Fetch-Dest\",\"value\":"
            "\"document\"}]},\"response\":{\"status\":200,\"headers\":[{\"name\":"
            "\"Content-Type\",\"value\":\"text/html\"}],\"content\":{\"size\":50,\"mimeType\":"
            "\"text/html\",\"_file\":\"0123abcd.html\"}}}");
  cr_assert_not_null(cap_find(&c, FCA_EV_PAGE, NULL), "tagged from the attached file");
  cr_assert_eq(cap_count(&c, FCA_EV_NOTE, NULL), 0);
  /* a name that leaves the directory is not followed: the body is missing */
  replay(r, "{\"startedDateTime\":\"2026-12-01T10:00:01Z\",\"request\":{\"method\":\"GET\","
            "\"url\":\"https://shop.test/b\",\"headers\":[{\"name\":\"Sec-Fetch-Dest\",\"value\":"
            "\"document\"}]},\"response\":{\"status\":200,\"headers\":[{\"name\":"
            "\"Content-Type\",\"value\":\"text/html\"}],\"content\":{\"size\":50,\"_file\":"
            "\"../etc/passwd\"}}}");
  cr_assert_eq(cap_count(&c, FCA_EV_NOTE, NULL), 1);
  fca_har_replay_free(r);
  fca_audit_finish(a);
  fca_audit_free(a);
  cap_free(&c);
  unlink(body);
  rmdir(dir);
  free(body);
}

/* A key Stripe.js sent to api.stripe.com in a form body is read from the entry's postData. */
Test(har_replay, key_in_post_data) {
  capture_t c;
  cap_init(&c);
  fca_audit_t *a = cap_audit(&c, "test");
  fca_har_replay_t *r = fca_har_replay_new(a, "har:t", NULL);
  replay(r, "{\"_resourceType\":\"document\",\"startedDateTime\":\"2026-12-01T10:00:00Z\","
            "\"request\":{\"method\":\"GET\",\"url\":\"https://shop.test/pay\",\"headers\":[]},"
            "\"response\":{\"status\":200,\"headers\":[{\"name\":\"Content-Type\",\"value\":"
            "\"text/html\"}],\"content\":{\"size\":48,\"text\":\"<script src=\\\"https://"
            "js.stripe.com/v3\\\"></script>\"}}}");
  replay(r,
         "{\"_resourceType\":\"fetch\",\"startedDateTime\":\"2026-12-01T10:00:02Z\","
         "\"request\":{\"method\":\"POST\",\"url\":\"https://api.stripe.com/v1/payment_methods\","
         "\"headers\":[{\"name\":\"Content-Type\",\"value\":\"application/x-www-form-urlencoded\"},"
         "{\"name\":\"Referer\",\"value\":\"https://js.stripe.com/\"}],"
         "\"postData\":{\"mimeType\":\"application/x-www-form-urlencoded\",\"text\":"
         "\"type=card&key=pk_live_0123456789abcdefghijkl\"}},"
         "\"response\":{\"status\":200,\"headers\":[{\"name\":\"Content-Type\",\"value\":"
         "\"application/json\"}],\"content\":{\"size\":2,\"text\":\"{}\"}}}");
  const cap_event_t *v = cap_find(&c, FCA_EV_VIOLATION, "FC-TEST-1");
  cr_assert_not_null(v, "the key in postData is judged");
  cr_assert_str_eq(v->ev_name, "key (form field)");
  cr_assert_str_eq(v->ev_value, "pk_live_0123456789abcdefghijkl");
  fca_har_replay_free(r);
  fca_audit_finish(a);
  fca_audit_free(a);
  cap_free(&c);
}
