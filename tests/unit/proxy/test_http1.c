/* Unit tests for http1: head detection and limits, request-line rewrite, hop-by-hop filtering,
 * message boundaries for pipelined and chunked messages. */
#include "http1.h"

#include <criterion/criterion.h>
#include <string.h>

static struct evbuffer *buf_of(const char *s) {
  struct evbuffer *b = evbuffer_new();
  evbuffer_add(b, s, strlen(s));
  return b;
}

static char *drain_str(struct evbuffer *b) {
  size_t n = evbuffer_get_length(b);
  char *s = malloc(n + 1);
  evbuffer_remove(b, s, n);
  s[n] = '\0';
  return s;
}

Test(http1, head_length_finds_blank_line) {
  struct evbuffer *b = buf_of("GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY");
  cr_assert_eq(fca_http1_head_length(b, 1000), 27);
  evbuffer_free(b);
  b = buf_of("GET / HTTP/1.1\nHost: a\n\nX");
  cr_assert_eq(fca_http1_head_length(b, 1000), 24);
  evbuffer_free(b);
  b = buf_of("GET / HTTP/1.1\r\nHost: a\r\n");
  cr_assert_eq(fca_http1_head_length(b, 1000), 0);
  evbuffer_free(b);
}

Test(http1, head_length_across_chunks) {
  /* The blank line split over evbuffer chains. */
  struct evbuffer *b = evbuffer_new();
  const char *parts[] = {"GET / HTTP/1.1\r", "\nHost: a\r\n", "\r", "\n"};
  for (int i = 0; i < 4; i++) {
    struct evbuffer *p = buf_of(parts[i]);
    evbuffer_add_buffer(b, p);
    evbuffer_free(p);
  }
  cr_assert_eq(fca_http1_head_length(b, 1000), 27);
  evbuffer_free(b);
}

Test(http1, head_length_limit) {
  struct evbuffer *b = evbuffer_new();
  evbuffer_add_printf(b, "GET / HTTP/1.1\r\n");
  for (int i = 0; i < 100; i++) evbuffer_add_printf(b, "X-Pad-%d: %040d\r\n", i, i);
  evbuffer_add_printf(b, "\r\n");
  size_t total = evbuffer_get_length(b);
  cr_assert_eq(fca_http1_head_length(b, total), (ssize_t)total);
  cr_assert_eq(fca_http1_head_length(b, total - 1), -1);
  cr_assert_eq(fca_http1_head_length(b, 1024), -1, "a head over the limit is refused");
  evbuffer_free(b);
}

static fca_http1_t parser;

static void parse_req(const char *head) {
  fca_http1_init(&parser, HTTP_REQUEST, NULL, NULL);
  const char *why = NULL;
  cr_assert_eq(fca_http1_feed_head(&parser, head, strlen(head), &why), 0, "%s", why);
}

Test(http1, absolute_form_rewritten_to_origin_form) {
  fca_target_t t;
  const char *u = "http://Shop.Test:8081/a/b?x=1#frag";
  cr_assert_eq(fca_http_parse_absolute(u, strlen(u), &t), 0);
  cr_assert_str_eq(t.scheme, "http");
  cr_assert_str_eq(t.host, "shop.test");
  cr_assert_eq(t.port, 8081);
  cr_assert_eq(t.path_len, strlen("/a/b?x=1"));
  cr_assert(memcmp(t.path, "/a/b?x=1", t.path_len) == 0);
  u = "http://[::1]/";
  cr_assert_eq(fca_http_parse_absolute(u, strlen(u), &t), 0);
  cr_assert_str_eq(t.host, "::1");
  cr_assert_eq(t.port, 80);
  u = "http://host.test";
  cr_assert_eq(fca_http_parse_absolute(u, strlen(u), &t), 0);
  cr_assert_eq(t.path_len, 0);
  u = "http://host.test?q";
  cr_assert_eq(fca_http_parse_absolute(u, strlen(u), &t), 0);
  cr_assert(memcmp(t.path, "?q", 2) == 0);
  u = "https://secure.test/";
  cr_assert_eq(fca_http_parse_absolute(u, strlen(u), &t), 0);
  cr_assert_eq(t.port, 443);
  const char *bad[] = {"/relative",          "ftp://x/",       "http://:80/",  "http://user@host/",
                       "http://host:99999/", "http://host:0/", "http://ho st/"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    cr_assert_eq(fca_http_parse_absolute(bad[i], strlen(bad[i]), &t), -1, "%s", bad[i]);
}

Test(http1, authority_form) {
  fca_target_t t;
  cr_assert_eq(fca_http_parse_authority("shop.test:443", 13, 0, &t), 0);
  cr_assert_str_eq(t.host, "shop.test");
  cr_assert_eq(t.port, 443);
  cr_assert_eq(fca_http_parse_authority("[::1]:8443", 10, 0, &t), 0);
  cr_assert_str_eq(t.host, "::1");
  cr_assert_eq(t.port, 8443);
  cr_assert_eq(fca_http_parse_authority("shop.test", 9, 0, &t), -1, "CONNECT needs a port");
}

Test(http1, hop_by_hop_removed) {
  parse_req("GET http://a.test/x HTTP/1.1\r\n"
            "Host: a.test\r\n"
            "Connection: keep-alive, X-Secret\r\n"
            "Proxy-Connection: keep-alive\r\n"
            "Proxy-Authorization: Basic Zm9vOmJhcg==\r\n"
            "Keep-Alive: timeout=5\r\n"
            "X-Secret: 1\r\n"
            "TE: gzip\r\n"
            "Accept:  text/html \r\n"
            "\r\n");
  cr_assert(fca_http_has_hop_by_hop(&parser.head));
  struct evbuffer *out = evbuffer_new();
  const char *line = "GET /x HTTP/1.1\r\n";
  fca_http_write_filtered(out, &parser.head, line, strlen(line), false, "a.test", NULL);
  char *s = drain_str(out);
  cr_assert_str_eq(s, "GET /x HTTP/1.1\r\nHost: a.test\r\nAccept:  text/html \r\n\r\n",
                   "other lines go through byte for byte");
  free(s);
  evbuffer_free(out);
}

Test(http1, te_trailers_kept_and_host_added) {
  parse_req("GET http://a.test/ HTTP/1.0\r\nTE: trailers, deflate\r\nConnection: TE\r\n\r\n");
  struct evbuffer *out = evbuffer_new();
  const char *line = "GET / HTTP/1.0\r\n";
  fca_http_write_filtered(out, &parser.head, line, strlen(line), false, "a.test", NULL);
  char *s = drain_str(out);
  cr_assert_str_eq(s, "GET / HTTP/1.0\r\nHost: a.test\r\nTE: trailers\r\n\r\n");
  free(s);
  evbuffer_free(out);
}

Test(http1, upgrade_keeps_connection_upgrade) {
  parse_req("GET http://a.test/ws HTTP/1.1\r\nHost: a.test\r\nConnection: Upgrade\r\n"
            "Upgrade: websocket\r\nSec-WebSocket-Key: abc\r\n\r\n");
  cr_assert(parser.head.upgrade);
  struct evbuffer *out = evbuffer_new();
  const char *line = "GET /ws HTTP/1.1\r\n";
  fca_http_write_filtered(out, &parser.head, line, strlen(line), true, NULL, NULL);
  char *s = drain_str(out);
  cr_assert_str_eq(s, "GET /ws HTTP/1.1\r\nHost: a.test\r\nUpgrade: websocket\r\n"
                      "Sec-WebSocket-Key: abc\r\nConnection: upgrade\r\n\r\n");
  free(s);
  evbuffer_free(out);
}

Test(http1, malformed_request_rejected) {
  fca_http1_init(&parser, HTTP_REQUEST, NULL, NULL);
  const char *why = NULL;
  const char *bad = "GET / HTTP/1.1\r\nBad Header\r\n\r\n";
  cr_assert_eq(fca_http1_feed_head(&parser, bad, strlen(bad), &why), -1);
  cr_assert_not_null(why);
}

static size_t body_seen;
static void count_body(void *ud, const char *d, size_t n) {
  (void)ud;
  (void)d;
  body_seen += n;
}

Test(http1, pipelined_boundaries) {
  const char *two = "POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\n\r\n";
  fca_http1_init(&parser, HTTP_REQUEST, count_body, NULL);
  body_seen = 0;
  const char *head_end = strstr(two, "\r\n\r\n") + 4;
  const char *why = NULL;
  cr_assert_eq(fca_http1_feed_head(&parser, two, (size_t)(head_end - two), &why), 0);
  cr_assert_not(parser.msg_done);
  size_t used = 0;
  int r = fca_http1_feed_body(&parser, head_end, strlen(head_end), &used, &why);
  cr_assert_eq(r, 1);
  cr_assert_eq(used, 5, "the message ends after its 5 body bytes");
  cr_assert_eq(body_seen, 5);
  fca_http1_next(&parser);
  const char *second = head_end + used;
  cr_assert_eq(fca_http1_feed_head(&parser, second, strlen(second), &why), 0);
  cr_assert(parser.msg_done, "a GET without body is complete at the end of its head");
}

Test(http1, chunked_body_with_trailers_byte_by_byte) {
  const char *head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  const char *body = "5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\nX-Trailer: yes\r\n\r\nNEXT";
  fca_http1_init(&parser, HTTP_RESPONSE, count_body, NULL);
  body_seen = 0;
  const char *why = NULL;
  cr_assert_eq(fca_http1_feed_head(&parser, head, strlen(head), &why), 0);
  size_t total = 0;
  int r = 0;
  for (size_t i = 0; i < strlen(body) && r == 0; i++) {
    size_t used = 0;
    r = fca_http1_feed_body(&parser, body + i, 1, &used, &why);
    total += used;
  }
  cr_assert_eq(r, 1);
  cr_assert_eq(total, strlen(body) - 4, "the message ends before NEXT");
  cr_assert_eq(body_seen, 8);
}

Test(http1, head_response_has_no_body) {
  const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
  fca_http1_init(&parser, HTTP_RESPONSE, NULL, NULL);
  parser.skip_body = true;
  const char *why = NULL;
  cr_assert_eq(fca_http1_feed_head(&parser, head, strlen(head), &why), 0);
  cr_assert(parser.msg_done);
}

Test(http1, close_delimited_response) {
  const char *head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n";
  fca_http1_init(&parser, HTTP_RESPONSE, NULL, NULL);
  const char *why = NULL;
  cr_assert_eq(fca_http1_feed_head(&parser, head, strlen(head), &why), 0);
  cr_assert(fca_http1_close_delimited(&parser));
  size_t used;
  cr_assert_eq(fca_http1_feed_body(&parser, "abc", 3, &used, &why), 0);
  cr_assert_eq(fca_http1_finish(&parser), 1);
}

Test(http1, truncated_response_detected) {
  const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
  fca_http1_init(&parser, HTTP_RESPONSE, NULL, NULL);
  const char *why = NULL;
  cr_assert_eq(fca_http1_feed_head(&parser, head, strlen(head), &why), 0);
  size_t used;
  cr_assert_eq(fca_http1_feed_body(&parser, "abc", 3, &used, &why), 0);
  cr_assert_eq(fca_http1_finish(&parser), -1);
}

Test(http1, interim_then_final_response) {
  const char *h100 = "HTTP/1.1 100 Continue\r\n\r\n";
  fca_http1_init(&parser, HTTP_RESPONSE, NULL, NULL);
  const char *why = NULL;
  cr_assert_eq(fca_http1_feed_head(&parser, h100, strlen(h100), &why), 0);
  cr_assert_eq(parser.head.status, 100);
  cr_assert(parser.msg_done);
  fca_http1_next(&parser);
  const char *h200 = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n";
  cr_assert_eq(fca_http1_feed_head(&parser, h200, strlen(h200), &why), 0);
  cr_assert_eq(parser.head.status, 200);
  cr_assert_not(parser.msg_done);
}

Test(http1, list_has_token) {
  cr_assert(fca_http_list_has("keep-alive, Upgrade", 19, "upgrade"));
  cr_assert_not(fca_http_list_has("keep-alive, Upgraded", 20, "upgrade"));
  cr_assert(fca_http_list_has(" close ", 7, "close"));
}

Test(http1, extra_fields_dropped) {
  parse_req("GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nIf-None-Match: \"x\"\r\n"
            "if-modified-since: Mon, 01 Jan 2024 00:00:00 GMT\r\nAccept: */*\r\n\r\n");
  struct evbuffer *out = evbuffer_new();
  const char *drop[] = {"If-None-Match", "If-Modified-Since", NULL};
  const char *line = "GET / HTTP/1.1\r\n";
  fca_http_write_filtered(out, &parser.head, line, strlen(line), false, NULL, drop);
  char *s = drain_str(out);
  cr_assert_str_eq(s, "GET / HTTP/1.1\r\nHost: a.test\r\nAccept: */*\r\n\r\n");
  free(s);
  evbuffer_free(out);
}

Test(http1, obs_fold_in_request_rejected) {
  /* RFC 9112 5.2: a proxy must not forward obsolete line folding in a request. */
  fca_http1_init(&parser, HTTP_REQUEST, NULL, NULL);
  const char *why = NULL;
  const char *folded = "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nX-Fold: a\r\n b\r\n\r\n";
  cr_assert_eq(fca_http1_feed_head(&parser, folded, strlen(folded), &why), -1);
  cr_assert_not_null(why);
  cr_assert(strstr(why, "fold") != NULL, "%s", why);
}

Test(http1, connection_cannot_strip_framing_or_host) {
  /* A Connection list naming Content-Length must not remove it: the proxy frames the body by
   * it, so the origin must see it too (else the body is read as a second request). */
  parse_req("POST http://a.test/ HTTP/1.1\r\nHost: a.test\r\nConnection: keep-alive, "
            "Content-Length, Host, Transfer-Encoding\r\nContent-Length: 5\r\n\r\n");
  struct evbuffer *out = evbuffer_new();
  const char *line = "POST / HTTP/1.1\r\n";
  fca_http_write_filtered(out, &parser.head, line, strlen(line), false, "a.test", NULL);
  char *s = drain_str(out);
  cr_assert_str_eq(s, "POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\n\r\n");
  free(s);
  evbuffer_free(out);
}

Test(http1, absolute_form_host_replaced_by_target) {
  /* RFC 9112 3.2.2: the target's authority wins over a different Host field. */
  parse_req("GET http://a.test:8080/ HTTP/1.1\r\nHost: b.test\r\nAccept: */*\r\n\r\n");
  struct evbuffer *out = evbuffer_new();
  const char *line = "GET / HTTP/1.1\r\n";
  fca_http_write_filtered(out, &parser.head, line, strlen(line), false, "a.test:8080", NULL);
  char *s = drain_str(out);
  cr_assert_str_eq(s, "GET / HTTP/1.1\r\nHost: a.test:8080\r\nAccept: */*\r\n\r\n");
  free(s);
  evbuffer_free(out);
}
