/* checklist: Stripe's Financial Connections deployment checklist as both audit (to decide) and
 * report (to render) speak it: its items, their titles, and the state of an item on a page.
 * Declared once here; the rule catalogue that maps each rule to its item is fcaudit/ruleset.h. */
#ifndef FCAUDIT_CHECKLIST_H
#define FCAUDIT_CHECKLIST_H

#include <stdbool.h>

/* Items 1..FCA_CHECKLIST_ITEMS; 0 means beyond the checklist. */
#define FCA_CHECKLIST_ITEMS 4

typedef enum {
  FCA_ITEM_NA = 0, /* nothing applies */
  FCA_ITEM_PASS,
  FCA_ITEM_FAIL,
} fca_item_status_t;

/* "pass" | "fail" | "n/a". */
const char *fca_item_status_name(fca_item_status_t s);
/* Reads "pass", "fail", "n/a" (also "na", "not-applicable"); false for anything else. */
bool fca_item_status_parse(const char *s, fca_item_status_t *out);
/* The item's short title ("Beyond the checklist" for 0 and anything out of range). */
const char *fca_item_title(int item);

#endif
