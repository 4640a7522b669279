/* Tests for the checklist vocabulary: item state names read back, the accepted spellings, and
 * a title for every item (and for findings beyond the checklist). */
#include <criterion/criterion.h>

#include "fcaudit/checklist.h"

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
