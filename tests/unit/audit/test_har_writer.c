/* Unit tests of the --har writer: entries spooled as they end and assembled at close into valid
 * HAR 1.2; bodies kept decoded for HTML/JSON/JavaScript (cut at --har-body-max with a comment),
 * omitted for other types, base64 when not UTF-8; request bodies as postData; header bytes
 * that are not UTF-8 kept as Latin-1; events attached to the exchange of their client and page;
 * and the written file replayed through the engine gives the same findings. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit_capture.h"
#include "fcaudit/har.h"
#include "fcaudit/har_writer.h"
#include "fcaudit/util.h"

static char dir[] = "/tmp/fca-harw-XXXXXX";

static void setup(void) { cr_assert_not_null(mkdtemp(dir)); }
static void teardown(void) {
  char *cmd = fca_xasprintf("rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
  free(cmd);
}

static void exchange(fca_harw_t *w, const char *client, const char *url, const char *ctype,
                     const void *body, size_t n, const char *xhdr, const char *xval) {
  fca_audit_header_t rq[] = {{"Sec-Fetch-Dest", 14, "document", 8}};
  fca_harw_request_t req = {.method = "GET",
                            .url = url,
                            .http_major = 1,
                            .http_minor = 1,
                            .headers = rq,
                            .nheaders = 1,
                            .client = client,
                            .now_ms = 1764583200000};
  fca_harw_x_t *x = fca_harw_begin(w, &req);
  fca_audit_header_t rs[2] = {{"Content-Type", 12, ctype, strlen(ctype)}};
  size_t nrs = 1;
  if (xhdr) rs[nrs++] = (fca_audit_header_t){xhdr, strlen(xhdr), xval, strlen(xval)};
  fca_harw_response_head(x, 200, rs, nrs);
  const char *b = body;
  for (size_t o = 0; o < n; o += 7) fca_harw_response_body(x, b + o, n - o < 7 ? n - o : 7);
  fca_harw_end(x, true);
}

static json_t *content_of(json_t *har, size_t i) {
  return json_object_get(
      json_object_get(json_array_get(json_object_get(json_object_get(har, "log"), "entries"), i),
                      "response"),
      "content");
}

Test(har_writer, bodies_by_type_and_size, .init = setup, .fini = teardown) {
  char *path = fca_xasprintf("%s/s.har", dir), *spool = fca_xasprintf("%s/s.har.spool", dir);
  char err[200];
  fca_harw_t *w = fca_harw_open(path, 64, err, sizeof err);
  cr_assert_not_null(w, "%s", err);
  const char *html = "<!doctype html><p>hello</p>";
  exchange(w, "127.0.0.1:1", "https://a.test/", "text/html", html, strlen(html), NULL, NULL);
  char big[200];
  memset(big, 'x', sizeof big);
  exchange(w, "127.0.0.1:1", "https://a.test/app.js", "text/javascript", big, sizeof big, NULL,
           NULL);
  const unsigned char png[] = {0x89, 'P', 'N', 'G', 0, 0xff};
  exchange(w, "127.0.0.1:1", "https://a.test/i.png", "image/png", png, sizeof png, NULL, NULL);
  const char latin[] = "{\"a\":\"\xe9\"}"; /* not UTF-8 */
  exchange(w, "127.0.0.1:1", "https://a.test/c.json", "application/json", latin, strlen(latin),
           "X-Name", "caf\xe9");
  cr_assert_eq(fca_harw_entries(w), 4);
  cr_assert_eq(access(spool, F_OK), 0, "entries are spooled as they end");
  cr_assert_eq(fca_harw_close(w), 0);
  fca_harw_free(w);
  cr_assert_neq(access(spool, F_OK), 0, "the spool is removed once the HAR is written");
  json_error_t je;
  json_t *h = json_load_file(path, 0, &je);
  cr_assert_not_null(h, "%s", je.text);
  cr_assert_str_eq(json_string_value(json_object_get(json_object_get(h, "log"), "version")), "1.2");
  cr_assert_str_eq(json_string_value(json_object_get(content_of(h, 0), "text")), html);
  json_t *c1 = content_of(h, 1);
  cr_assert_eq(json_string_length(json_object_get(c1, "text")), 64, "cut at --har-body-max");
  cr_assert(strstr(json_string_value(json_object_get(c1, "comment")), "--har-body-max"));
  json_t *c2 = content_of(h, 2);
  cr_assert_null(json_object_get(c2, "text"));
  cr_assert(strstr(json_string_value(json_object_get(c2, "comment")), "omitted"));
  json_t *c3 = content_of(h, 3);
  cr_assert_str_eq(json_string_value(json_object_get(c3, "encoding")), "base64");
  cr_assert_str_eq(json_string_value(json_object_get(c3, "text")), "eyJhIjoi6SJ9");
  json_t *e3 = json_array_get(json_object_get(json_object_get(h, "log"), "entries"), 3);
  json_t *hs = json_object_get(json_object_get(e3, "response"), "headers");
  cr_assert_str_eq(json_string_value(json_object_get(json_array_get(hs, 1), "value")),
                   "caf\xc3\xa9", "Latin-1 header bytes");
  json_decref(h);
  free(path), free(spool);
}

/* Events land on the most recent exchange of their client for their page; the file audited
 * again gives the same violation. */
Test(har_writer, events_attached_and_round_trip, .init = setup, .fini = teardown) {
  char *path = fca_xasprintf("%s/r.har", dir);
  char err[200];
  fca_harw_t *w = fca_harw_open(path, 1 << 20, err, sizeof err);
  cr_assert_not_null(w, "%s", err);
  /* the live audit, its events going to the writer as the sink would pass them */
  fca_audit_opts_t o = {.emit = fca_harw_event_fn, .emit_ud = w, .dedup = true};
  fca_audit_t *a = fca_audit_new(&o);
  const char *html = "<!doctype html><script src=\"https://js.stripe.com/v3/\"></script>";
  for (int client = 1; client <= 2; client++) {
    char cl[32];
    snprintf(cl, sizeof cl, "10.0.0.%d:5", client);
    fca_audit_header_t rq[] = {{"Sec-Fetch-Dest", 14, "document", 8}};
    fca_audit_request_t ar = {.method = "GET",
                              .url = "https://a.test/pay",
                              .headers = rq,
                              .nheaders = 1,
                              .client = cl,
                              .client_id = cl,
                              .now_ms = 1000};
    fca_harw_request_t hr = {.method = "GET",
                             .url = ar.url,
                             .http_major = 1,
                             .http_minor = 1,
                             .headers = rq,
                             .nheaders = 1,
                             .client = cl,
                             .now_ms = 1000};
    fca_harw_x_t *hx = fca_harw_begin(w, &hr);
    fca_audit_exchange_t *x = fca_audit_begin(a, &ar);
    const char *coop = client == 1 ? "same-origin" : "unsafe-none";
    fca_audit_header_t rs[] = {{"Content-Type", 12, "text/html", 9},
                               {"Cross-Origin-Opener-Policy", 26, coop, strlen(coop)}};
    fca_harw_response_head(hx, 200, rs, 2);
    fca_audit_response_head(x, 200, rs, 2);
    fca_harw_response_body(hx, html, strlen(html));
    fca_audit_response_body(x, html, strlen(html));
    fca_audit_response_end(x, true);
    fca_audit_exchange_free(x);
    fca_harw_end(hx, true);
  }
  fca_audit_finish(a);
  fca_audit_free(a);
  cr_assert_eq(fca_harw_close(w), 0);
  fca_harw_free(w);
  json_error_t je;
  json_t *h = json_load_file(path, 0, &je);
  cr_assert_not_null(h, "%s", je.text);
  json_t *es = json_object_get(json_object_get(h, "log"), "entries");
  char *ev0 = json_dumps(
      json_object_get(json_object_get(json_array_get(es, 0), "_fcaudit"), "events"), JSON_COMPACT);
  char *ev1 = json_dumps(
      json_object_get(json_object_get(json_array_get(es, 1), "_fcaudit"), "events"), JSON_COMPACT);
  cr_assert(strstr(ev0, "\"rule\":\"FC-COOP-1\""), "%s", ev0);
  cr_assert_null(strstr(ev1, "FC-COOP-1"), "the other client's page passed: %s", ev1);
  cr_assert(strstr(ev1, "\"type\":\"pass\""), "%s", ev1);
  free(ev0), free(ev1);
  json_decref(h);

  /* offline: the same finding, on the same client's page */
  capture_t c;
  cap_init(&c);
  fca_audit_t *b = cap_audit(&c, "staging");
  fca_har_reader_t *rd = fca_har_reader_open(path, 0, err, sizeof err);
  cr_assert_not_null(rd, "%s", err);
  fca_har_replay_t *rp = fca_har_replay_new(b, "har:r", NULL);
  for (;;) {
    fca_har_item_t it;
    fca_har_reader_next(rd, &it);
    if (it.kind != FCA_HAR_ENTRY) {
      cr_assert_eq(it.kind, FCA_HAR_END, "%s", it.err);
      break;
    }
    cr_assert_eq(fca_har_replay_entry(rp, it.obj, it.text_cut, err, sizeof err), 0, "%s", err);
    json_decref(it.obj);
  }
  const cap_event_t *v = cap_find(&c, FCA_EV_VIOLATION, "FC-COOP-1");
  cr_assert_not_null(v);
  cr_assert_str_eq(v->client, "10.0.0.1:5");
  cr_assert_eq(cap_count(&c, FCA_EV_VIOLATION, NULL), 1);
  fca_har_replay_free(rp);
  fca_har_reader_free(rd);
  fca_audit_finish(b);
  fca_audit_free(b);
  cap_free(&c);
  free(path);
}

/* Exchanges that end out of order are written in the order their requests started. */
Test(har_writer, entries_in_request_order, .init = setup, .fini = teardown) {
  char *path = fca_xasprintf("%s/o.har", dir);
  char err[200];
  fca_harw_t *w = fca_harw_open(path, 1024, err, sizeof err);
  cr_assert_not_null(w, "%s", err);
  fca_harw_x_t *x[3];
  for (int i = 0; i < 3; i++) {
    char url[64];
    snprintf(url, sizeof url, "https://a.test/%d", i);
    fca_harw_request_t req = {.method = "GET",
                              .url = url,
                              .http_major = 1,
                              .http_minor = 1,
                              .client = "c:1",
                              .now_ms = 1000 + i};
    x[i] = fca_harw_begin(w, &req);
  }
  fca_harw_end(x[2], true);
  fca_harw_end(x[0], false);
  fca_harw_end(x[1], true);
  cr_assert_eq(fca_harw_close(w), 0);
  fca_harw_free(w);
  json_error_t je;
  json_t *h = json_load_file(path, 0, &je);
  cr_assert_not_null(h, "%s", je.text);
  json_t *es = json_object_get(json_object_get(h, "log"), "entries");
  cr_assert_eq(json_array_size(es), 3);
  for (size_t i = 0; i < 3; i++) {
    char url[64];
    snprintf(url, sizeof url, "https://a.test/%zu", i);
    json_t *e = json_array_get(es, i);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(e, "request"), "url")), url);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(e, "response"), "status")), 0,
                 "no response: status 0");
  }
  cr_assert(json_is_true(
      json_object_get(json_object_get(json_array_get(es, 0), "_fcaudit"), "incomplete")));
  json_decref(h);
  free(path);
}
