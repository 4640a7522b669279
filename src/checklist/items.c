/* items: the checklist items' titles and the names of an item's states (fcaudit/checklist.h). */
#include "fcaudit/checklist.h"

#include <string.h>

const char *fca_item_status_name(fca_item_status_t s) {
  switch (s) {
  case FCA_ITEM_PASS: return "pass";
  case FCA_ITEM_FAIL: return "fail";
  default: return "n/a";
  }
}

bool fca_item_status_parse(const char *s, fca_item_status_t *out) {
  if (!s) return false;
  if (strcmp(s, "pass") == 0)
    *out = FCA_ITEM_PASS;
  else if (strcmp(s, "fail") == 0)
    *out = FCA_ITEM_FAIL;
  else if (!strcmp(s, "n/a") || !strcmp(s, "na") || !strcmp(s, "not-applicable"))
    *out = FCA_ITEM_NA;
  else
    return false;
  return true;
}

const char *fca_item_title(int item) {
  switch (item) {
  case 1: return "Cross-Origin-Opener-Policy allows the bank popup";
  case 2: return "Referrer policy sends a Referer to other origins";
  case 3: return "Sandbox lets the popup escape";
  case 4: return "Tested in test mode first";
  default: return "Beyond the checklist";
  }
}
