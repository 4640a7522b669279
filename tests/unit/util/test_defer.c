/* Tests for the deferred-free list: nothing is freed on add, the first add asks for a run,
 * a run frees everything in order (including what a free function queues), destroy frees the
 * rest. */
#include <criterion/criterion.h>

#include "fcaudit/defer.h"

#include <stdint.h>

static int order[16], norder;
static fca_defer_t *again; /* a free function that queues one more */

static void note(void *p) { order[norder++] = (int)(intptr_t)p; }
static void note_and_requeue(void *p) {
  note(p);
  fca_defer_add(again, note, (void *)(intptr_t)99);
}

Test(defer, add_then_run) {
  fca_defer_t d = {0};
  norder = 0;
  cr_assert(fca_defer_add(&d, note, (void *)1), "the first add asks for a run");
  cr_assert_not(fca_defer_add(&d, note, (void *)2));
  for (int i = 3; i <= 9; i++) fca_defer_add(&d, note, (void *)(intptr_t)i);
  cr_assert_eq(norder, 0, "nothing freed before the run");
  fca_defer_run(&d);
  cr_assert_eq(norder, 9);
  for (int i = 0; i < 9; i++) cr_assert_eq(order[i], i + 1);
  cr_assert(fca_defer_add(&d, note, (void *)10), "empty again after a run");
  fca_defer_destroy(&d);
  cr_assert_eq(norder, 10, "destroy frees what is left");
  cr_assert_null(d.v);
}

Test(defer, queued_while_running) {
  fca_defer_t d = {0};
  norder = 0;
  again = &d;
  fca_defer_add(&d, note_and_requeue, (void *)1);
  fca_defer_run(&d);
  cr_assert_eq(norder, 2);
  cr_assert_eq(order[1], 99);
  cr_assert_eq(d.n, 0);
  fca_defer_destroy(&d);
}
