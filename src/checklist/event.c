/* event: names of event types and levels, shared by every output. */
#include "fcaudit/event.h"

#include <strings.h>

const char *fca_level_name(fca_level_t level) {
  switch (level) {
  case FCA_LEVEL_IGNORE: return "ignore";
  case FCA_LEVEL_INFO: return "info";
  case FCA_LEVEL_WARNING: return "warning";
  case FCA_LEVEL_ERROR: return "error";
  }
  return "?";
}

int fca_level_parse(const char *s, fca_level_t *out) {
  for (int l = FCA_LEVEL_IGNORE; l <= FCA_LEVEL_ERROR; l++) {
    if (strcasecmp(s, fca_level_name((fca_level_t)l)) == 0) {
      *out = (fca_level_t)l;
      return 0;
    }
  }
  return -1;
}

const char *fca_event_type_name(fca_event_type_t type) {
  switch (type) {
  case FCA_EV_PAGE: return "page";
  case FCA_EV_VIOLATION: return "violation";
  case FCA_EV_PASS: return "pass";
  case FCA_EV_NOTE: return "note";
  case FCA_EV_SUMMARY: return "summary";
  }
  return "?";
}
