/* tailfmt: `fcaudit tail`'s view of one NDJSON log line: the event object turned back into an
 * fca_event_t (strings borrowed from the JSON) so it prints like the proxy's console, a line for
 * summaries, and the filters (--level, --rule, --url, --run). Pure: jansson only. */
#ifndef FCAUDIT_TAILFMT_H
#define FCAUDIT_TAILFMT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "fcaudit/event.h"

typedef struct {
  fca_level_t min_level; /* violations below it are hidden; other events count as info */
  const char *rule;      /* glob on the rule id (violations only), or NULL */
  const char *url;       /* glob on page.url or evidence.url, or NULL */
  const char *run;       /* exact run id, or NULL */
} fca_tail_filter_t;

/* Fills ev from an event object; strings point into o (valid while o lives). -1 when o is not
 * an event of a known type. */
int fca_tailfmt_event(const json_t *o, fca_event_t *ev);

/* True when the event passes the filter. */
bool fca_tailfmt_match(const fca_tail_filter_t *flt, const json_t *o);

/* The readable line (ends in '\n') for an event object, like the proxy's console; summaries
 * get a one-line digest. Returns its length, 0 when the object is not an event. */
size_t fca_tailfmt_line(const json_t *o, char *buf, size_t n, bool color);

#endif
