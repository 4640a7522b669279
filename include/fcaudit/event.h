/* event: the one type that crosses from the audit engine to the outputs (log, console,
 * dashboard, reports). The audit layer fills it and calls an fca_event_fn; outputs copy what
 * they keep. Strings are borrowed for the duration of the call. */
#ifndef FCAUDIT_EVENT_H
#define FCAUDIT_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FCA_EVENT_SCHEMA 1

struct fca_summary; /* fcaudit/checklist.h */

typedef enum {
  FCA_EV_PAGE = 0,  /* a page was tagged (loads Stripe.js) */
  FCA_EV_VIOLATION, /* a rule fired */
  FCA_EV_PASS,      /* a tagged page's document ended with no warning or error */
  FCA_EV_NOTE,      /* something limits the audit (audit-incomplete, ...) */
  FCA_EV_SUMMARY,   /* end of run */
} fca_event_type_t;

typedef enum {
  FCA_LEVEL_IGNORE = 0,
  FCA_LEVEL_INFO = 1,
  FCA_LEVEL_WARNING = 2,
  FCA_LEVEL_ERROR = 3,
} fca_level_t;

typedef struct {
  uint64_t id;
  const char *url;
  bool top_level;
  const char *tagged_by;  /* script-tag | script-request | script-literal, or NULL */
  const char *confidence; /* high | medium, or NULL */
} fca_event_page_t;

typedef struct {
  const char *source; /* header | meta | script | iframe | csp | request | body | api | response */
  const char *name;   /* e.g. "Cross-Origin-Opener-Policy", "meta[name=referrer]" */
  const char *value;  /* exactly as seen; may hold bytes that are not UTF-8 */
  size_t value_len;
  int64_t offset;  /* byte offset in the decoded body, or -1 (null) */
  const char *url; /* the other document the evidence came from, or NULL */
} fca_event_evidence_t;

typedef struct {
  fca_event_type_t type;
  int64_t ts_ms;       /* wall clock, ms since epoch */
  const char *rule;    /* violation: rule id */
  fca_level_t level;   /* violation: level */
  int item;            /* checklist item 0..4 */
  const char *message; /* one line */
  const char *fix;     /* one line */
  /* violation: the fix in the words of the stack that sent the header (stack.h), or NULL */
  const char *fix_stack;       /* helmet | express | django | rails | nextjs | nginx | apache */
  const char *fix_stack_label; /* "Express with helmet", ... */
  const char *fix_stack_confidence; /* high | guess */
  const char *fix_stack_why;        /* the headers that gave the stack away */
  const char *fix_stack_text;       /* one line */
  const char *doc;                  /* link to the checklist */
  bool has_page;
  fca_event_page_t page;
  bool has_evidence;
  fca_event_evidence_t evidence;
  const char *client;                /* "127.0.0.1:50312" */
  const char *note;                  /* note: kind, e.g. "audit-incomplete" */
  uint64_t count;                    /* dedup: times seen (1 for the first) */
  const struct fca_summary *summary; /* summary: the run's summary (fcaudit/checklist.h) */
} fca_event_t;

typedef void (*fca_event_fn)(void *userdata, const fca_event_t *ev);

const char *fca_level_name(fca_level_t level);
int fca_level_parse(const char *s, fca_level_t *out); /* ignore|info|warning|error */
const char *fca_event_type_name(fca_event_type_t type);

#endif
