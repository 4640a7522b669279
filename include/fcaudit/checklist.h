/* checklist: Stripe's Financial Connections deployment checklist as both audit (to decide) and
 * report (to render) speak it, typed and written once: its items and their titles, the state of
 * an item on a page and the words that say why, each tagged page's scorecard, the end-of-run
 * summary (fca_summary_t: what the audit engine hands to the outputs in its summary event) and
 * the run's verdict under a --fail-on / --require-tagged policy. The rule catalogue that maps
 * each rule to its item is fcaudit/ruleset.h. The JSON form of a summary (the NDJSON log's
 * summary line) is written and read by the report layer (fcaudit/eventjson.h). */
#ifndef FCAUDIT_CHECKLIST_H
#define FCAUDIT_CHECKLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fcaudit/event.h"
#include "fcaudit/ruleset.h"

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

/* ---- an item on a page ---- */

typedef struct {
  fca_item_status_t status;
  /* One line (NULL: not said yet). Owned by the item: set, copy and clear it with fca_item_*;
   * a sentence many pages say is one shared copy (why_shared), never freed. */
  const char *why;
  bool why_shared;
} fca_item_result_t;

/* Sets status and why (copied; NULL keeps no words). */
void fca_item_set(fca_item_result_t *r, fca_item_status_t status, const char *why);
void fca_item_copy(fca_item_result_t *dst, const fca_item_result_t *src);
void fca_item_clear(fca_item_result_t *r);
/* The engine's decisions while it judges a page. A rule's finding at warning or above fails
 * the item, and the first such finding gives the words ("FC-COOP-1: message"); a rule that
 * judged the page and found nothing passes an item nothing decided yet. */
void fca_item_fail_by(fca_item_result_t *r, const char *rule_id, const char *message);
void fca_item_pass_by(fca_item_result_t *r, const char *why);
/* Why an item the engine's rules did not decide is n/a on a page, by the rules' scope (COOP
 * and referrer on top-level pages, sandbox on framed ones, item 4 by the keys seen). */
const char *fca_item_undecided_why(int item, bool top_level);
/* An item without a finding before the engine's scorecard is known (live, or a log cut short):
 * pass or n/a by the rules' scope, in the words for "nothing found". */
void fca_item_nothing_found(fca_item_result_t *r, int item, bool top_level);
/* Orders states for combining several documents of one page: fail > pass > n/a. */
int fca_item_status_rank(fca_item_status_t s);
/* The findings of one item on one page decide last: nfail findings at warning or above fail
 * it in the words of the worst one (rule, message) plus "(and N more findings)"; info findings
 * alone keep its state and add "(N info findings)". No finding: unchanged. */
void fca_item_apply_findings(fca_item_result_t *r, size_t nfail, const char *worst_rule,
                             const char *worst_message, size_t ninfo);

/* ---- the end-of-run summary ---- */

typedef struct {
  uint64_t reported;    /* distinct findings logged */
  uint64_t occurrences; /* times seen */
} fca_count_t;

typedef struct {
  char *rule; /* rule id */
  fca_level_t level;
  uint64_t count;
} fca_card_finding_t;

/* One tagged page's scorecard, as the engine judged it. Its strings are never NULL from the
 * engine; read from an older log, one it did not carry is NULL. */
typedef struct {
  uint64_t id;    /* the first load's page id */
  uint64_t loads; /* the loads of this page (same client, URL and frame/top-level) it combines */
  char *url, *client;
  bool top_level;
  char *tagged_by;  /* script-tag | script-request | script-literal, or "" */
  char *confidence; /* high | medium, or "" */
  char *stripe_js;  /* fetched | cached | never-fetched | unknown */
  bool fail;        /* a finding at warning or above on the page (its verdict) */
  bool pass_event;  /* a pass event was emitted for it */
  uint64_t notes;
  fca_item_result_t items[FCA_CHECKLIST_ITEMS + 1]; /* 1..4 */
  unsigned items_said; /* bit i: item i was judged (always 1..4 from the engine) */
  fca_card_finding_t *findings;
  size_t nfindings;
  unsigned fc_evidence; /* bit 0 fc-method, 1 linked-accounts-inner, 2 api */
} fca_scorecard_t;

/* The names of fc_evidence's bits, in order. */
#define FCA_FC_EVIDENCE_KINDS 3
extern const char *const fca_fc_evidence_names[FCA_FC_EVIDENCE_KINDS];

typedef struct {
  char *rule; /* rule id */
  int item;
  fca_count_t total;
  fca_count_t by_level[4]; /* by fca_level_t; a level counts when occurrences > 0 */
} fca_rule_counts_t;

#define FCA_TEST_INSTITUTIONS_MAX 8

/* Item 4's coverage of test mode over the run (FC-TEST-2). */
typedef struct {
  bool present; /* FC-TEST-2 is not ignored */
  char *rule;
  fca_level_t level;
  int item;
  char *message, *fix, *doc;
  uint64_t api_responses, test_mode_responses, live_mode_responses;
  size_t ninstitutions;
  char *institutions[FCA_TEST_INSTITUTIONS_MAX];
  bool linked[FCA_TEST_INSTITUTIONS_MAX];
  bool complete; /* every test institution seen linked */
} fca_test_mode_t;

/* The run's verdict as the run model decided it, carried in the summary line of the log. */
typedef struct {
  bool present;
  bool fail;
  char *fail_on; /* info | warning | error | never */
  int exit_code;
  char *sentence;
} fca_summary_verdict_t;

typedef struct fca_summary {
  uint64_t exchanges, bytes_inspected;
  int64_t pages_seen; /* -1: not said */
  uint64_t pages_tagged, pages_below_min_confidence, notes;
  fca_count_t violations;
  fca_count_t violations_by_level[4];
  fca_rule_counts_t *by_rule; /* rules with occurrences, in catalogue order */
  size_t nrules;
  fca_scorecard_t *pages;
  size_t npages;
  uint64_t pages_not_listed;
  char *env;            /* or NULL */
  char *min_confidence; /* high | medium, or NULL */
  fca_test_mode_t test_mode;
  char *warning; /* no page tagged, or NULL */
  fca_summary_verdict_t verdict;
} fca_summary_t;

/* The words of the summary's warning when no page loaded Stripe.js. */
#define FCA_SUMMARY_NO_TAG_WARNING                                                                 \
  "no page loaded Stripe.js: the flow under test probably never reached a Stripe page"

fca_summary_t *fca_summary_new(void);
void fca_summary_free(fca_summary_t *s);
fca_summary_t *fca_summary_copy(const fca_summary_t *s);
/* A new scorecard at the end of s->pages (zeroed but for id = 0 and strings ""). */
fca_scorecard_t *fca_summary_add_page(fca_summary_t *s);
/* The tagged pages as the report counts them: distinct URLs without query, top-level apart from
 * framed (pages_tagged counts loads). A summary past its page cap lists fewer than there were
 * (pages_not_listed > 0): then this is a lower bound. */
size_t fca_summary_pages_by_url(const fca_summary_t *s);
void fca_scorecard_add_finding(fca_scorecard_t *c, const char *rule, fca_level_t level,
                               uint64_t count);
fca_rule_counts_t *fca_summary_add_rule(fca_summary_t *s, const char *rule, int item);
void fca_test_mode_add_institution(fca_test_mode_t *t, const char *name, bool linked);
/* Runs merged (a fleet): counters add up, pages join, the rest stays as the first run said
 * (what the first did not say, a later one does). */
void fca_summary_merge(fca_summary_t *into, const fca_summary_t *more);
/* The verdict's words, copied in (the run model's decision). */
void fca_summary_set_verdict(fca_summary_t *s, bool fail, const char *fail_on, int exit_code,
                             const char *sentence);
/* Item 4's test-mode coverage in one line ("test-mode institutions seen linked: none; missing:
 * ...; Stripe API responses: 3 in test mode, 0 live"), malloc'd; NULL when not present. */
char *fca_test_mode_line(const fca_test_mode_t *t);

/* ---- the verdict ---- */

typedef struct {
  fca_level_t fail_on; /* FCA_LEVEL_IGNORE = never */
  uint64_t require_tagged;
} fca_policy_t;

/* One finding as the verdict sees it. */
typedef struct {
  fca_level_t level;
  int item;
  size_t page; /* index of its page */
  uint64_t count;
  bool baseline; /* known from a baseline: does not fail the run */
} fca_verdict_finding_t;

typedef struct {
  bool fail;               /* the run fails (exit status 1) */
  size_t failing;          /* new findings at or above fail_on */
  size_t known;            /* findings marked baseline */
  bool too_few_tagged;     /* fewer tagged pages than require_tagged */
  size_t by_level[4];      /* distinct findings per level */
  uint64_t occurrences[4]; /* counts per level */
  /* Findings that fail their checklist item (warning or error) without failing the run (below
   * --fail-on, or known from the baseline), per level, and the pages they are on. */
  size_t standing[4];
  size_t standing_pages;
  size_t failing_pages; /* pages the findings that fail the run are on */
  size_t pages;         /* tagged pages */
} fca_verdict_t;

/* "never" or the level's name. */
const char *fca_policy_fail_on_name(const fca_policy_t *p);
/* True when a finding fails the run: new and at or above fail_on. */
bool fca_policy_fails(const fca_policy_t *p, fca_level_t level, bool baseline);
void fca_verdict_decide(const fca_policy_t *p, const fca_verdict_finding_t *f, size_t n,
                        size_t npages, fca_verdict_t *v);
/* The verdict in one sentence, the same words in every output: the result and the --fail-on
 * level it follows, what fails the run, and what still fails a checklist item without failing
 * the run ("pass at --fail-on error; 4 warnings on 4 pages fail their checklist item").
 * malloc'd. */
char *fca_verdict_sentence(const fca_policy_t *p, const fca_verdict_t *v);

#endif
