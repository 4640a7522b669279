/* Unit tests for spool (the Redis sink's shipped-offset bookkeeping) and for the readers'
 * de-duplication rule: offsets and sequence numbers through send, acknowledge, reconnect
 * (rewind: same numbers again), the cap while away (oldest given up, counted once), and a full
 * ring while connected (nothing dropped, the line is read again later). */
#include "fcaudit/redis_read.h"
#include "spool.h"

#include <criterion/criterion.h>

static void next_is(fca_spool_t *sp, uint64_t start, uint64_t end, uint64_t seq) {
  uint64_t s, e, q;
  cr_assert(fca_spool_next(sp, &s, &e, &q), "no next line (want seq %llu)",
            (unsigned long long)seq);
  cr_assert_eq(s, start);
  cr_assert_eq(e, end);
  cr_assert_eq(q, seq);
}

Test(spool, starts_at_the_given_offset) {
  fca_spool_t sp;
  fca_spool_init(&sp, 500, 1, 8);
  cr_assert_eq(fca_spool_read_off(&sp), 500);
  uint64_t s, e, q;
  cr_assert_not(fca_spool_next(&sp, &s, &e, &q));
  cr_assert_eq(fca_spool_push(&sp, 500, false), -1, "an empty line range is refused");
  cr_assert_eq(fca_spool_push(&sp, 520, false), 0);
  cr_assert_eq(fca_spool_read_off(&sp), 520);
  next_is(&sp, 500, 520, 1);
  fca_spool_free(&sp);
}

Test(spool, send_ack_in_order) {
  fca_spool_t sp;
  fca_spool_init(&sp, 0, 1, 8);
  fca_spool_push(&sp, 10, false);
  fca_spool_push(&sp, 25, false);
  fca_spool_push(&sp, 40, false);
  next_is(&sp, 0, 10, 1);
  fca_spool_mark_sent(&sp);
  next_is(&sp, 10, 25, 2);
  fca_spool_mark_sent(&sp);
  next_is(&sp, 25, 40, 3);
  cr_assert_eq(fca_spool_inflight(&sp), 2);
  cr_assert_eq(fca_spool_ack(&sp), 0);
  cr_assert_eq(sp.acked_off, 10);
  cr_assert_eq(sp.acked_seq, 2);
  cr_assert_eq(fca_spool_waiting(&sp), 2);
  /* The third is still next: acknowledging does not skip it. */
  next_is(&sp, 25, 40, 3);
  fca_spool_mark_sent(&sp);
  cr_assert_eq(fca_spool_ack(&sp), 0);
  cr_assert_eq(fca_spool_ack(&sp), 0);
  cr_assert_eq(fca_spool_ack(&sp), -1, "nothing on its way");
  cr_assert_eq(sp.acked_off, 40);
  cr_assert_eq(sp.acked_seq, 4);
  cr_assert_eq(fca_spool_waiting(&sp), 0);
  fca_spool_free(&sp);
}

Test(spool, rewind_resends_with_the_same_numbers) {
  fca_spool_t sp;
  fca_spool_init(&sp, 100, 1, 8);
  for (uint64_t e = 110; e <= 150; e += 10) fca_spool_push(&sp, e, false);
  for (int i = 0; i < 4; i++) fca_spool_mark_sent(&sp);
  fca_spool_ack(&sp);    /* seq 1 shipped for sure */
  fca_spool_rewind(&sp); /* connection lost: 2..4 may or may not be in Redis */
  cr_assert_eq(fca_spool_inflight(&sp), 0);
  next_is(&sp, 110, 120, 2);
  fca_spool_mark_sent(&sp);
  next_is(&sp, 120, 130, 3);
  fca_spool_free(&sp);
}

Test(spool, cap_while_away_gives_up_the_oldest_and_counts_them) {
  fca_spool_t sp;
  fca_spool_init(&sp, 0, 1, 3);
  for (uint64_t e = 1; e <= 5; e++) cr_assert_eq(fca_spool_push(&sp, e * 10, true), 0);
  cr_assert_eq(fca_spool_waiting(&sp), 3);
  cr_assert_eq(sp.dropped, 2);
  /* The survivors keep their own numbers: seq 3, 4, 5 (1 and 2 were given up). */
  next_is(&sp, 20, 30, 3);
  cr_assert_eq(fca_spool_take_dropped(&sp), 2);
  cr_assert_eq(fca_spool_take_dropped(&sp), 0, "reported once");
  cr_assert_eq(sp.dropped, 2);
  fca_spool_free(&sp);
}

Test(spool, full_while_connected_drops_nothing) {
  fca_spool_t sp;
  fca_spool_init(&sp, 0, 1, 2);
  fca_spool_push(&sp, 10, true);
  fca_spool_push(&sp, 20, true);
  fca_spool_mark_sent(&sp);
  /* A line is on its way: giving up the oldest would break the reply order. */
  cr_assert_eq(fca_spool_push(&sp, 30, true), -1);
  cr_assert_eq(fca_spool_push(&sp, 30, false), -1);
  cr_assert_eq(sp.dropped, 0);
  cr_assert_eq(fca_spool_read_off(&sp), 20, "the line is read again later");
  fca_spool_ack(&sp);
  cr_assert_eq(fca_spool_push(&sp, 30, false), 0);
  next_is(&sp, 10, 20, 2);
  fca_spool_free(&sp);
}

Test(spool, ring_wraps) {
  fca_spool_t sp;
  fca_spool_init(&sp, 0, 7, 3);
  uint64_t end = 0;
  for (int round = 0; round < 10; round++) {
    fca_spool_push(&sp, end + 5, false);
    next_is(&sp, end, end + 5, 7 + (uint64_t)round);
    fca_spool_mark_sent(&sp);
    cr_assert_eq(fca_spool_ack(&sp), 0);
    end += 5;
  }
  cr_assert_eq(sp.acked_off, 50);
  fca_spool_free(&sp);
}

Test(redis_dedup, same_run_and_seq_once) {
  fca_redis_dedup_t d = {0};
  cr_assert(fca_redis_dedup_first(&d, "r1", 1));
  cr_assert(fca_redis_dedup_first(&d, "r1", 2));
  cr_assert(fca_redis_dedup_first(&d, "r2", 1), "another run has its own numbers");
  cr_assert_not(fca_redis_dedup_first(&d, "r1", 2), "sent twice after a reconnect");
  cr_assert_not(fca_redis_dedup_first(&d, "r1", 1));
  cr_assert(fca_redis_dedup_first(&d, "r1", 5), "a gap (given-up lines) is fine");
  cr_assert_not(fca_redis_dedup_first(&d, "r2", 1));
  fca_redis_dedup_free(&d);
}
