#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "admin_sse.h"

static char *frame(const char *id, const char *type, const char *data) {
  fca_abuf_t b = {0};
  fca_admin_sse_frame(&b, id, type, data, strlen(data));
  return b.p;
}

Test(admin_sse, frame_single_line) {
  char *f = frame("r.1", "violation", "{\"a\":1}");
  cr_assert_str_eq(f, "id: r.1\nevent: violation\ndata: {\"a\":1}\n\n");
  free(f);
}

Test(admin_sse, frame_splits_every_line_ending) {
  char *f = frame(NULL, NULL, "a\nb\r\nc\rd");
  cr_assert_str_eq(f, "data: a\ndata: b\ndata: c\ndata: d\n\n");
  free(f);
}

Test(admin_sse, frame_empty_and_trailing_newline) {
  char *f = frame(NULL, "gap", "");
  cr_assert_str_eq(f, "event: gap\ndata: \n\n");
  free(f);
  f = frame(NULL, NULL, "x\n");
  cr_assert_str_eq(f, "data: x\n\n");
  free(f);
}

Test(admin_sse, frame_cuts_newlines_in_id_and_type) {
  char *f = frame("1\ndata: injected", "v\r\nx", "d");
  cr_assert_str_eq(f, "id: 1\nevent: v\ndata: d\n\n");
  free(f);
}

Test(admin_sse, last_id_parsing) {
  const char *run = "20261124T100000Z-3f9a1c";
  cr_assert_eq(fca_admin_sse_last_id("20261124T100000Z-3f9a1c.17", run), 17);
  cr_assert_eq(fca_admin_sse_last_id("20261124T100000Z-000000.17", run), 0); /* other run */
  cr_assert_eq(fca_admin_sse_last_id("20261124T100000Z-3f9a1c.", run), 0);
  cr_assert_eq(fca_admin_sse_last_id("20261124T100000Z-3f9a1c.1x", run), 0);
  cr_assert_eq(fca_admin_sse_last_id("20261124T100000Z-3f9a1c.99999999999999999999999", run), 0);
  cr_assert_eq(fca_admin_sse_last_id("17", run), 0);
  cr_assert_eq(fca_admin_sse_last_id(NULL, run), 0);
}

static size_t count(const char *s, const char *needle) {
  size_t n = 0;
  for (const char *p = s; p && (p = strstr(p, needle)); p += strlen(needle)) n++;
  return n;
}

static void push_n(fca_admin_ring_t *r, int from, int to) {
  for (int i = from; i <= to; i++) {
    char d[32];
    int n = snprintf(d, sizeof d, "{\"n\":%d}", i);
    fca_admin_ring_push(r, "violation", d, (size_t)n);
  }
}

Test(admin_sse, ring_replays_after_cursor) {
  fca_admin_ring_t *r = fca_admin_ring_new("run1", 10, 0);
  push_n(r, 1, 5);
  cr_assert_eq(fca_admin_ring_last(r), 5);
  fca_abuf_t b = {0};
  uint64_t missed = 99;
  uint64_t last = fca_admin_ring_replay(r, 3, 1 << 20, &b, &missed);
  cr_assert_eq(last, 5);
  cr_assert_eq(missed, 0);
  cr_assert_str_eq(b.p, "id: run1.4\nevent: violation\ndata: {\"n\":4}\n\n"
                        "id: run1.5\nevent: violation\ndata: {\"n\":5}\n\n");
  fca_abuf_free(&b);
  /* Nothing new: nothing appended, cursor unchanged. */
  last = fca_admin_ring_replay(r, 5, 1 << 20, &b, &missed);
  cr_assert_eq(last, 5);
  cr_assert_eq(b.len, 0);
  fca_admin_ring_free(r);
}

Test(admin_sse, ring_bounded_by_events_reports_gap) {
  fca_admin_ring_t *r = fca_admin_ring_new("run1", 4, 0);
  push_n(r, 1, 10);
  cr_assert_eq(fca_admin_ring_size(r), 4);
  cr_assert_eq(fca_admin_ring_evicted(r), 6);
  fca_abuf_t b = {0};
  uint64_t missed = 0;
  uint64_t last = fca_admin_ring_replay(r, 2, 1 << 20, &b, &missed);
  cr_assert_eq(last, 10);
  cr_assert_eq(missed, 4); /* 3..6 are gone */
  cr_assert_eq(count(b.p, "id: "), 4);
  cr_assert(strstr(b.p, "id: run1.7\n") != NULL);
  fca_abuf_free(&b);
  /* A new client (cursor 0) is told how many it missed too. */
  fca_admin_ring_replay(r, 0, 1 << 20, &b, &missed);
  cr_assert_eq(missed, 6);
  fca_abuf_free(&b);
  fca_admin_ring_free(r);
}

Test(admin_sse, ring_bounded_by_bytes) {
  fca_admin_ring_t *r = fca_admin_ring_new("run1", 100, 64);
  char d[40];
  memset(d, 'a', sizeof d);
  for (int i = 0; i < 5; i++) fca_admin_ring_push(r, "note", d, sizeof d);
  cr_assert_eq(fca_admin_ring_size(r), 1); /* two would be 80 bytes */
  /* An event bigger than the whole ring becomes a stand-in, never a broken ring. */
  char big[100];
  memset(big, 'b', sizeof big);
  uint64_t seq = fca_admin_ring_push(r, "violation", big, sizeof big);
  cr_assert_eq(seq, 6);
  fca_abuf_t b = {0};
  fca_admin_ring_replay(r, 5, 1 << 20, &b, NULL);
  cr_assert(strstr(b.p, "\"oversize\":100") != NULL, "%s", b.p);
  fca_abuf_free(&b);
  fca_admin_ring_free(r);
}

Test(admin_sse, replay_batches_by_bytes) {
  fca_admin_ring_t *r = fca_admin_ring_new("r", 100, 0);
  push_n(r, 1, 20);
  fca_abuf_t b = {0};
  uint64_t cur = 0, batches = 0;
  for (;;) {
    size_t before = b.len;
    uint64_t last = fca_admin_ring_replay(r, cur, 100, &b, NULL);
    if (last == cur) break;
    cr_assert_lt(b.len - before, 100 + 60, "batch overshoots by at most one event");
    cur = last;
    batches++;
  }
  cr_assert_gt(batches, 2);
  cr_assert_eq(count(b.p, "id: "), 20);
  /* Order preserved across batches. */
  cr_assert_lt(strstr(b.p, "r.9\n"), strstr(b.p, "r.10\n"));
  fca_abuf_free(&b);
  /* A single event larger than the batch still goes out. */
  uint64_t last = fca_admin_ring_replay(r, 0, 1, &b, NULL);
  cr_assert_eq(last, 1);
  fca_abuf_free(&b);
  fca_admin_ring_free(r);
}

static void *pusher(void *ud) {
  fca_admin_ring_t *r = ud;
  for (int i = 0; i < 2000; i++) fca_admin_ring_push(r, "violation", "{}", 2);
  return NULL;
}

Test(admin_sse, ring_concurrent_pushes_keep_unique_ordered_seqs) {
  fca_admin_ring_t *r = fca_admin_ring_new("r", 10000, 0);
  pthread_t t[4];
  for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, pusher, r);
  uint64_t cur = 0;
  fca_abuf_t b = {0};
  while (cur < 8000) {
    cur = fca_admin_ring_replay(r, cur, 4096, &b, NULL);
  }
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  cr_assert_eq(fca_admin_ring_last(r), 8000);
  cr_assert_eq(count(b.p, "id: "), 8000);
  /* every id once, in order */
  const char *p = b.p;
  for (uint64_t k = 1; k <= 8000; k++) {
    char want[32];
    snprintf(want, sizeof want, "id: r.%llu\n", (unsigned long long)k);
    p = strstr(p, want);
    cr_assert_not_null(p, "seq %llu", (unsigned long long)k);
  }
  fca_abuf_free(&b);
  fca_admin_ring_free(r);
}
