/* model: the run model every report is written from. It is built from event JSON objects (the
 * NDJSON log format, docs/events.md), so the same code serves live (a sink subscriber) and
 * offline (an event log, one run picked out of a shared file). It keeps tagged pages (grouped by
 * URL without query), each finding once with its count, notes once with their count, and the
 * engine's summary; the verdict (pass/fail, exit status) follows from a policy (--fail-on,
 * --require-tagged) and an optional baseline. Pure: jansson and OpenSSL's SHA-256 only. */
#ifndef FCAUDIT_MODEL_H
#define FCAUDIT_MODEL_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fcaudit/checklist.h"
#include "fcaudit/event.h"
#include "fcaudit/ruleset.h"

/* Version of the JSON report format (docs/report.md). */
#define FCA_REPORT_VERSION 1
/* The key of the fingerprint in the report and in SARIF partialFingerprints. */
#define FCA_FINGERPRINT_KEY "fcaudit/v1"
/* Hex SHA-256 plus NUL. */
#define FCA_FINGERPRINT_SIZE 65

/* Bounds so a hostile or runaway log cannot exhaust memory; past them events are counted as
 * dropped (the report says so). */
#ifndef FCA_MODEL_PAGES_MAX
#define FCA_MODEL_PAGES_MAX 10000
#endif
#ifndef FCA_MODEL_FINDINGS_MAX
#define FCA_MODEL_FINDINGS_MAX 50000
#endif
#ifndef FCA_MODEL_NOTES_MAX
#define FCA_MODEL_NOTES_MAX 10000
#endif

typedef struct {
  char *url; /* as first seen (query kept unless redacted) */
  char *key; /* url without query and fragment: pages with the same key are one page */
  bool top_level;
  char *tagged_by;
  char *confidence;
  uint64_t loads;     /* distinct page ids (document loads) seen with this key */
  uint64_t passes;    /* pass events */
  bool never_fetched; /* a stripe-js-not-fetched note: "references Stripe.js (never fetched)" */
  char *first_ts;
  fca_item_result_t items[5]; /* index 1..4 (0 unused); filled by fca_model_finalize */
} fca_model_page_t;

typedef struct {
  char fingerprint[FCA_FINGERPRINT_SIZE];
  char *rule;
  fca_level_t level;
  int item;
  char *message, *fix, *doc;
  /* the fix in the words of the stack that sent the header (fix_stack), or NULL */
  char *stack, *stack_label, *stack_confidence, *stack_fix;
  size_t page; /* index into pages */
  bool has_evidence;
  char *ev_source, *ev_name, *ev_value, *ev_url; /* any may be NULL */
  int64_t ev_offset;                             /* -1 = none */
  bool ev_escaped;
  uint64_t count;   /* times seen: max of the events' counts and the number of events */
  uint64_t nevents; /* events merged into this finding */
  char *first_ts, *last_ts;
  bool baseline; /* present in the baseline: known, does not fail the run */
} fca_model_finding_t;

typedef struct {
  char *kind;    /* "audit-incomplete", ... */
  char *message; /* may be NULL */
  char *url;     /* page URL, may be NULL */
  uint64_t count;
} fca_model_note_t;

/* The policy and the verdict are the checklist's (fcaudit/checklist.h). */
typedef fca_policy_t fca_model_policy_t;
typedef fca_verdict_t fca_model_verdict_t;

typedef struct fca_model {
  char *run;      /* the run id this model holds (NULL until the first event) */
  char *want_run; /* only events of this run are taken (NULL = the first run seen) */
  bool fleet;     /* every run is taken (merged, e.g. from Redis); run = their ids, ", " */
  char *first_ts, *last_ts;
  fca_model_page_t *pages;
  size_t npages, cap_pages;
  fca_model_finding_t *findings;
  size_t nfindings, cap_findings;
  fca_model_note_t *notes;
  size_t nnotes, cap_notes;
  fca_summary_t *summary;      /* the engine's summary (runs merged in a fleet), or NULL */
  uint64_t events;             /* events taken */
  uint64_t other_runs;         /* events of other runs, skipped */
  uint64_t dropped;            /* events past the bounds */
  uint64_t bad_lines;          /* offline: lines that were not JSON objects */
  bool ignore[FCA_RULE_COUNT]; /* rules whose findings are dropped (offline --rule X=ignore) */
  fca_model_policy_t policy;
  bool have_baseline;
  char *baseline_path;
  pthread_mutex_t lock; /* serialises fca_model_event_fn */
} fca_model_t;

/* run: the run id to keep (NULL = the first run seen; fca_model_load_file picks the latest). */
fca_model_t *fca_model_new(const char *run);
void fca_model_free(fca_model_t *m);

/* Takes one event object (borrowed). Returns 0 when taken, 1 when skipped (other run, unknown
 * type), -1 when it is not an event. */
int fca_model_add_json(fca_model_t *m, json_t *ev);
/* fca_event_fn for fca_sink_subscribe: converts and adds; thread-safe. userdata = model. */
void fca_model_event_fn(void *model, const fca_event_t *ev);
/* Live use: takes the sink's run id and subscribes fca_model_event_fn. Returns 0 or -1 (the
 * sink's subscriber table is full). The model must outlive the sink's emitters. */
struct fca_sink;
int fca_model_subscribe(fca_model_t *m, struct fca_sink *sink);

/* Reads an NDJSON event log. run NULL = the latest run (the one whose first line comes last).
 * Lines that are not JSON objects are counted in bad_lines and skipped. Returns 0, or -1 with
 * err (cannot read, no event of that run). */
int fca_model_load_file(fca_model_t *m, const char *path, char *err, size_t errlen);
/* Same from a stream (run selection needs two passes, so the stream is read whole). */
int fca_model_load_stream(fca_model_t *m, FILE *f, const char *name, char *err, size_t errlen);

/* Drops findings of a rule (offline: a rule set to ignore appears in no report). */
void fca_model_ignore_rule(fca_model_t *m, const char *rule_id);
void fca_model_set_policy(fca_model_t *m, const fca_model_policy_t *p);
/* Parses --fail-on: info|warning|error|never. */
int fca_model_parse_fail_on(const char *s, fca_level_t *out);

/* Marks findings whose fingerprint is in a previous JSON report. 0, or -1 with err. */
int fca_model_apply_baseline(fca_model_t *m, const char *path, char *err, size_t errlen);
int fca_model_apply_baseline_json(fca_model_t *m, const json_t *report, char *err, size_t errlen);

/* Computes each page's scorecard (items 1-4). Idempotent; writers call it. */
void fca_model_finalize(fca_model_t *m);
void fca_model_verdict(const fca_model_t *m, fca_model_verdict_t *v);
/* The verdict in one sentence, the same words in every output: the result and the --fail-on
 * level it follows, what fails the run, and what still fails a checklist item without failing
 * the run ("pass at --fail-on error; 4 warnings on 4 pages fail their checklist item").
 * malloc'd. */
char *fca_model_verdict_sentence(const fca_model_t *m);
/* Sink hook (fca_sink_set_summary_fn): before the engine's summary event is logged, takes it
 * into the model and sets its verdict (result, fail_on, exit_code, sentence), so the NDJSON
 * summary and `fcaudit tail` say what the reports say. userdata = model. */
void fca_model_summary_fn(void *model, fca_summary_t *summary);
/* The test-mode coverage of item 4 in one line (fca_test_mode_line), or NULL when the summary
 * has none. */
char *fca_model_test_mode_line(const fca_model_t *m);
/* 0 or 1: the run's part of the exit status. */
int fca_model_exit_code(const fca_model_t *m);

/* Pages seen (tagged or not): the engine's summary figure, or -1 when unknown. */
int64_t fca_model_pages_seen(const fca_model_t *m);
/* True when the finding fails the run (new and at or above fail_on). */
bool fca_model_finding_fails(const fca_model_t *m, const fca_model_finding_t *f);

/* fingerprint = hex SHA-256 of rule, page URL without query/fragment and the evidence (source,
 * name, value, other document's URL without query), NUL-separated. out: FCA_FINGERPRINT_SIZE. */
void fca_model_fingerprint(const char *rule, const char *page_url, const char *ev_source,
                           const char *ev_name, const char *ev_value, const char *ev_url,
                           char out[FCA_FINGERPRINT_SIZE]);
/* Orders tags as the engine does (confidence, then script-literal < script-request <
 * script-tag); -1 for no tag. The strongest tag seen for a page is its final tag. */
int fca_model_tag_strength(const char *tagged_by, const char *confidence);

/* The console summary: pages seen and tagged, findings by rule and level, each page's
 * scorecard, the verdict, and a clear warning when no page was tagged. */
void fca_model_print_summary(FILE *f, fca_model_t *m, bool color);

/* What a page does with Stripe.js, in the words every output uses: "loads Stripe.js", or
 * "references Stripe.js (never fetched)" after a stripe-js-not-fetched note. */
const char *fca_model_page_stripejs(const fca_model_page_t *p);
/* "helmet (guess): FIX" for a finding with a stack fix, else NULL; caller frees. */
char *fca_model_stack_fix_line(const fca_model_finding_t *f);

#endif
