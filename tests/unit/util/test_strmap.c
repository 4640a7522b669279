/* Tests for the shared string map: byte keys (NUL inside, prefixes), case folding only when
 * asked, growth keeps every entry reachable and in place, removal, iteration visits each entry
 * once. */
#include <criterion/criterion.h>

#include "fcaudit/strmap.h"

#include <stdio.h>
#include <stdlib.h>

Test(strmap, byte_keys_are_exact) {
  fca_strmap_t m;
  fca_strmap_init(&m, 0, false);
  bool created = false;
  fca_strmap_entry_t *a = fca_strmap_put(&m, "a\0b", 3, &created);
  cr_assert(created);
  fca_strmap_entry_t *b = fca_strmap_put(&m, "a\0c", 3, &created);
  cr_assert(created);
  cr_assert_neq(a, b);
  cr_assert_eq(fca_strmap_get(&m, "a\0b", 3), a);
  cr_assert_null(fca_strmap_get(&m, "a", 1), "a prefix is another key");
  cr_assert_null(fca_strmap_gets(&m, "A"));
  cr_assert_eq(fca_strmap_put(&m, "a\0b", 3, &created), a);
  cr_assert_not(created);
  cr_assert_eq(a->key[3], '\0');
  cr_assert_eq(a->len, 3);
  cr_assert_eq(fca_strmap_count(&m), 2);
  fca_strmap_destroy(&m, NULL);
}

Test(strmap, nocase_folds_ascii_only) {
  fca_strmap_t m;
  fca_strmap_init(&m, 0, true);
  fca_strmap_entry_t *e = fca_strmap_puts(&m, "Shop.Test", NULL);
  cr_assert_eq(fca_strmap_gets(&m, "shop.test"), e);
  cr_assert_eq(fca_strmap_gets(&m, "SHOP.TEST"), e);
  cr_assert_str_eq(e->key, "Shop.Test", "the first spelling is kept");
  fca_strmap_puts(&m, "\xc3\x89", NULL); /* É: not ASCII, not folded */
  cr_assert_null(fca_strmap_gets(&m, "\xc3\xa9"));
  fca_strmap_destroy(&m, NULL);

  fca_strmap_init(&m, 0, false);
  fca_strmap_puts(&m, "Shop.Test", NULL);
  cr_assert_null(fca_strmap_gets(&m, "shop.test"));
  fca_strmap_destroy(&m, NULL);
}

Test(strmap, growth_keeps_entries_in_place) {
  fca_strmap_t m;
  fca_strmap_init(&m, 0, false);
  enum { N = 5000 };
  static fca_strmap_entry_t *seen[N];
  char k[32];
  for (int i = 0; i < N; i++) {
    snprintf(k, sizeof k, "key-%d", i);
    seen[i] = fca_strmap_puts(&m, k, NULL);
    seen[i]->num = (uint64_t)i;
  }
  cr_assert_eq(fca_strmap_count(&m), N);
  cr_assert_geq(m.nb, N, "the table doubled as it filled");
  for (int i = 0; i < N; i++) {
    snprintf(k, sizeof k, "key-%d", i);
    fca_strmap_entry_t *e = fca_strmap_gets(&m, k);
    cr_assert_eq(e, seen[i]);
    cr_assert_eq(e->num, (uint64_t)i);
  }
  fca_strmap_destroy(&m, NULL);
}

Test(strmap, remove_and_iterate) {
  fca_strmap_t m;
  fca_strmap_init(&m, 4, false);
  char k[16];
  for (int i = 0; i < 100; i++) {
    snprintf(k, sizeof k, "%d", i);
    fca_strmap_puts(&m, k, NULL)->num = 1;
  }
  for (int i = 0; i < 100; i += 2) {
    snprintf(k, sizeof k, "%d", i);
    fca_strmap_remove(&m, fca_strmap_gets(&m, k));
  }
  cr_assert_eq(fca_strmap_count(&m), 50);
  cr_assert_null(fca_strmap_gets(&m, "42"));
  cr_assert_not_null(fca_strmap_gets(&m, "43"));
  int visits = 0, odd = 0;
  for (fca_strmap_entry_t *e = fca_strmap_next(&m, NULL); e; e = fca_strmap_next(&m, e)) {
    visits++;
    odd += atoi(e->key) % 2;
  }
  cr_assert_eq(visits, 50);
  cr_assert_eq(odd, 50);
  fca_strmap_destroy(&m, NULL);
}

static int freed;
static void count_free(void *p) {
  freed++;
  free(p);
}

Test(strmap, destroy_frees_values) {
  fca_strmap_t m;
  fca_strmap_init(&m, 0, false);
  fca_strmap_puts(&m, "a", NULL)->val = malloc(1);
  fca_strmap_puts(&m, "b", NULL)->val = malloc(1);
  freed = 0;
  fca_strmap_destroy(&m, count_free);
  cr_assert_eq(freed, 2);
  fca_strmap_destroy(&m, count_free); /* twice is harmless */
  cr_assert_eq(freed, 2);
}
