/* Tests for the checklist vocabulary: item state names read back, the accepted spellings, and
 * a title for every item (and for findings beyond the checklist), and who owns the words. */
#include <criterion/criterion.h>

#include "fcaudit/checklist.h"

#include <stdlib.h>
#include <string.h>

Test(checklist, status_names_read_back) {
  fca_item_status_t all[] = {FCA_ITEM_NA, FCA_ITEM_PASS, FCA_ITEM_FAIL};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    fca_item_status_t back = (fca_item_status_t)-1;
    cr_assert(fca_item_status_parse(fca_item_status_name(all[i]), &back));
    cr_assert_eq(back, all[i]);
  }
  cr_assert_str_eq(fca_item_status_name(FCA_ITEM_NA), "n/a");
}

Test(checklist, status_spellings) {
  fca_item_status_t s;
  cr_assert(fca_item_status_parse("na", &s) && s == FCA_ITEM_NA);
  cr_assert(fca_item_status_parse("not-applicable", &s) && s == FCA_ITEM_NA);
  cr_assert_not(fca_item_status_parse("PASS", &s), "states are lower case");
  cr_assert_not(fca_item_status_parse("", &s));
  cr_assert_not(fca_item_status_parse(NULL, &s));
}

Test(checklist, every_item_has_its_own_title) {
  for (int i = 1; i <= FCA_CHECKLIST_ITEMS; i++) {
    cr_assert_str_neq(fca_item_title(i), fca_item_title(0), "item %d has no title", i);
    for (int j = 1; j < i; j++) cr_assert_str_neq(fca_item_title(i), fca_item_title(j));
  }
  cr_assert_str_eq(fca_item_title(0), "Beyond the checklist");
  cr_assert_str_eq(fca_item_title(FCA_CHECKLIST_ITEMS + 1), "Beyond the checklist");
}

/* Thousands of page loads say the same sentences: an item shares one copy of each, and setting,
 * copying and clearing never frees the shared copy (ASan checks) nor leaks an owned one. */
Test(checklist, items_share_one_copy_of_a_sentence) {
  fca_item_result_t a = {0}, b = {0}, c = {0};
  char sentence[] =
      "no Cross-Origin-Opener-Policy header (unsafe-none), which the checklist allows";
  fca_item_set(&a, FCA_ITEM_PASS, sentence);
  fca_item_pass_by(&b, sentence);
  cr_assert(a.why_shared && b.why_shared);
  cr_assert_eq(a.why, b.why, "one copy for both items");
  cr_assert_neq(a.why, sentence, "a copy, not the caller's buffer");
  sentence[0] = 'N';
  cr_assert_str_eq(a.why, "no Cross-Origin-Opener-Policy header (unsafe-none), which the checklist "
                          "allows");
  fca_item_copy(&c, &a);
  cr_assert_eq(c.why, a.why);
  cr_assert_eq(c.status, FCA_ITEM_PASS);
  fca_item_clear(&a);
  cr_assert_null(a.why);
  cr_assert_str_eq(b.why, c.why, "clearing one item leaves the shared copy alone");
  fca_item_fail_by(&b, "FC-COOP-1", "Cross-Origin-Opener-Policy same-origin");
  cr_assert_str_eq(b.why, "FC-COOP-1: Cross-Origin-Opener-Policy same-origin");
  fca_item_apply_findings(&b, 3, "FC-COOP-1", "Cross-Origin-Opener-Policy same-origin", 0);
  cr_assert_str_eq(b.why, "FC-COOP-1: Cross-Origin-Opener-Policy same-origin (and 2 more "
                          "findings)");
  fca_item_clear(&b);
  fca_item_clear(&c);
}

/* A sentence too long to share is the item's own copy, freed with it. */
Test(checklist, items_own_a_sentence_too_long_to_share) {
  char *longwhy = malloc(3000);
  memset(longwhy, 'x', 2999);
  longwhy[2999] = '\0';
  fca_item_result_t a = {0}, b = {0};
  fca_item_set(&a, FCA_ITEM_FAIL, longwhy);
  cr_assert_not(a.why_shared);
  cr_assert_neq(a.why, longwhy);
  cr_assert_str_eq(a.why, longwhy);
  fca_item_copy(&b, &a);
  cr_assert_not(b.why_shared);
  cr_assert_neq(b.why, a.why, "a copy of an owned sentence is owned too");
  fca_item_clear(&a);
  cr_assert_str_eq(b.why, longwhy);
  fca_item_clear(&b);
  free(longwhy);
}
