/* engine: the audit's private state shared by its modules (audit.c, correlate.c, rules*.c,
 * summary.c). One lock guards the registry, the pages' mutable fields, dedup, scorecards and
 * counters; body decoding and scanning run outside it, in the exchange that owns them. Events
 * are emitted with the lock held, so the callback must not call back into the audit. */
#ifndef FCAUDIT_ENGINE_H
#define FCAUDIT_ENGINE_H

#include "csp.h"
#include "decode.h"
#include "dedup.h"
#include "detect.h"
#include "fcaudit/audit.h"
#include "fcaudit/checklist.h"
#include "fcaudit/ruleset.h"
#include "fcaudit/strmap.h"
#include "html_scan.h"
#include "page.h"
#include "registry.h"
#include "setupscan.h"
#include "stripeapi.h"

#include <pthread.h>
#include <stdatomic.h>

#ifndef FCA_AUDIT_CARDS_MAX
#define FCA_AUDIT_CARDS_MAX 10000 /* tagged pages kept for the summary */
#endif
#ifndef FCA_AUDIT_AWAIT_MAX
#define FCA_AUDIT_AWAIT_MAX 256 /* pages awaiting their Stripe.js request (jsfetch.c) */
#endif
#ifndef FCA_AUDIT_JSFETCH_MAX
#define FCA_AUDIT_JSFETCH_MAX 64 /* recent Stripe.js fetches remembered (client, URL) */
#endif
#ifndef FCA_AUDIT_KEYMEMO_MAX
#define FCA_AUDIT_KEYMEMO_MAX 128 /* (client, URL) JSON/JS responses whose keys are remembered */
#endif
#ifndef FCA_AUDIT_PENDING_MAX
#define FCA_AUDIT_PENDING_MAX 256 /* framed pages waiting for their iframe */
#endif

/* "<address> ua:<16 hex>": the client as correlation knows it (audit.c). */
#define FCA_AUDIT_CLIENT_ID_MAX 96

/* The scorecard of a tagged page: outlives the page (the registry may forget it). One card per
 * client, URL and frame/top-level: the loads of a page share it, so its items combine as the
 * report combines documents (fail > pass > n/a, the first words of a state stand), its findings
 * add up, and a run's cards stay as many as its distinct pages (summary.c). */
typedef struct fca_card {
  struct fca_card *next;
  uint64_t page_id; /* the first load's */
  uint32_t loads;
  char *url, *client;
  bool top_level;
  fca_tag_kind_t tagged_by;
  fca_confidence_t confidence;
  fca_item_result_t items[FCA_CHECKLIST_ITEMS + 1]; /* 1..4: decided by the rules (checklist.h) */
  /* Kept small: a run keeps up to FCA_AUDIT_CARDS_MAX of them. */
  uint32_t count[FCA_RULE_COUNT]; /* findings on this page by rule (dedup included), saturating */
  uint8_t level[FCA_RULE_COUNT];  /* the highest fca_level_t among them */
  unsigned fc_kinds;              /* bit 0 fc-method, 1 linked-accounts-inner, 2 api */
  unsigned notes;
  bool passed;           /* a pass event was emitted */
  const char *stripe_js; /* fetched | cached | never-fetched | unknown (jsfetch.c) */
} fca_card_t;

/* A Stripe.js request of a client (jsfetch.c). */
typedef struct {
  char client_id[FCA_AUDIT_CLIENT_ID_MAX];
  char *url;              /* https, no fragment; NULL = free slot */
  int64_t at_ms;          /* last request */
  int64_t fresh_until_ms; /* its response may be reused from the browser's cache until then */
} fca_jsfetch_t;

/* The keys a JSON/JS response of a URL gave a client (keymemo.c). */
typedef struct {
  char client_id[FCA_AUDIT_CLIENT_ID_MAX];
  char *url; /* without fragment; NULL = free slot */
  uint64_t hash, used;
  char *key[2]; /* [0] test, [1] live: the first of each kind */
  size_t len[2];
  int64_t offset[2];
} fca_keymemo_t;

struct fca_audit {
  fca_audit_opts_t o;
  char *env;
  bool production;
  pthread_mutex_t mu;
  fca_registry_t *reg;
  fca_dedup_t *dedup;
  uint64_t next_page_id;

  fca_card_t *cards, **cards_tail;
  size_t ncards;
  uint64_t cards_dropped;    /* page loads whose page found no room for a card */
  fca_strmap_t card_keys[2]; /* [top_level]: "client id \n URL" -> its card (clientkey.h) */

  fca_page_t *pending[FCA_AUDIT_PENDING_MAX]; /* framed, tagged, iframe not (yet) seen */
  size_t npending;
  fca_page_t *await[FCA_AUDIT_AWAIT_MAX]; /* script-tag pages awaiting their Stripe.js request,
                                             in the order they began to wait */
  size_t nawait;
  atomic_size_t nawait_hint; /* nawait, readable without the lock (a cheap "any?" test) */
  fca_jsfetch_t jsfetch[FCA_AUDIT_JSFETCH_MAX];
  fca_keymemo_t keymemo[FCA_AUDIT_KEYMEMO_MAX];
  uint64_t keymemo_clock;

  uint64_t reported[FCA_RULE_COUNT][4], occurrences[FCA_RULE_COUNT][4];
  uint64_t pages_seen, pages_tagged, pages_below_confidence, violations, notes;
  uint64_t api_responses, api_test, api_live;
  unsigned institutions; /* FC-TEST-2 coverage bits */
  bool finished;

  atomic_uint_fast64_t exchanges, bytes_inspected;
  struct fca_audit_exchange *ignored; /* the shared exchange of everything not inspected */
};

typedef enum { FCA_X_NONE = 0, FCA_X_DOC, FCA_X_SCRIPT, FCA_X_API, FCA_X_DATA } fca_x_mode_t;

#ifndef FCA_AUDIT_DATA_MAX
#define FCA_AUDIT_DATA_MAX (1024 * 1024) /* decoded bytes of a JSON/JS fetch scanned for keys */
#endif

/* One exchange. Everything not inspected shares a->ignored (no allocation at all). */
struct fca_audit_exchange {
  fca_audit_t *a;
  bool ignored;
  /* request */
  char *url, *client, *client_id, *referer;
  int64_t now_ms;
  bool top_level;    /* Sec-Fetch-Dest document (or absent) rather than iframe/frame */
  bool no_dest;      /* no Sec-Fetch-Dest: a frame is told by a parent's <iframe> (correlate.c) */
  bool body_decoded; /* offline: bodies arrive decoded (Content-Encoding already undone) */
  bool doc_candidate, script_candidate, sfd_script, api_candidate;
  bool data_candidate; /* fetch/XHR (or no Sec-Fetch-Dest): a JSON or JS answer may hold a key */
  /* an urlencoded request body to api.stripe.com: its `key` field (bounded) */
  bool form_wanted, form_over, form_done;
  bool js_request; /* a Stripe.js request: its response head tells how long it stays cached */
  char *form;
  size_t form_len;
  /* response */
  fca_x_mode_t mode;
  int status;
  fca_page_t *page; /* DOC: the page; SCRIPT, DATA: the page the response was served to */
  bool same_origin; /* SCRIPT: same origin as that page */
  bool lit_tags;    /* SCRIPT: requested as a script for that page: a Stripe.js literal tags it */
  fca_decode_t *dec;
  fca_html_scan_t *scan;
  fca_litscan_t *lit;  /* DOC: inline scripts; SCRIPT: the body */
  uint64_t lit_script; /* DOC: offset + 1 of the inline script being scanned, 0 none */
  bool lit_runs;       /* DOC: that script runs (a literal in it tags the page) */
  uint64_t script_at;  /* DOC: offset + 1 of the last <script> start tag, and whether it runs */
  bool script_runs;
  fca_stripeapi_t *api;
  char *base; /* DOC: resolved <base href> */
  bool ended;
  /* DOC, CSP: only pages with a policy pay for any of this */
  bool csp_any; /* the page has a CSP header (enforced or report-only) or an enforced meta */
  bool in_body; /* a tag that starts the body was seen: a later <meta> CSP is ignored */
  struct fca_csp_inline *inl; /* the inline script being read, when a CSP could block it */
};

/* The inline <script> being read on a page with a CSP (FC-CSP-4). */
struct fca_csp_inline {
  uint64_t script; /* its start tag's offset + 1, 0 when idle */
  fca_csp_digest_t digest;
  fca_setupscan_t setup;
  char *nonce; /* when nonceable */
  size_t nmeta;
};

/* docscan.c: the body pipelines (decode -> html_scan / litscan / JSON) of inspected exchanges. */
void fca_docscan_start(fca_audit_exchange_t *x, const char *content_encoding);
void fca_docscan_body(fca_audit_exchange_t *x, const void *data, size_t len);
void fca_docscan_end(fca_audit_exchange_t *x, bool complete);
void fca_docscan_free(fca_audit_exchange_t *x);

/* correlate.c */
typedef struct {
  fca_page_t *page;
  fca_confidence_t confidence;
} fca_match_t;
/* The page a subresource request came from: a Referer with a path/query names the page
 * (high); an origin-only Referer matches the client's most recent document of that origin,
 * else of that site (medium); no Referer: the client's most recent document (medium). Within
 * the correlation window. */
fca_match_t fca_correlate_page(fca_audit_t *a, const char *client_id, const char *referer,
                               int64_t now_ms);
/* Does this Referer name a full URL (path other than "/" or a query) rather than an origin? */
bool fca_correlate_referer_is_full(const char *referer);
/* Did the page's HTML hold a running <script src> that resolves to url (fragment ignored)? */
bool fca_page_references_script(const fca_page_t *p, const char *url);
/* Tags p (keeps the strongest tag), announcing it when it becomes eligible. */
void fca_correlate_tag(fca_audit_t *a, fca_page_t *p, fca_tag_kind_t kind, fca_confidence_t conf,
                       const char *source, const char *name, const char *value, size_t len,
                       int64_t offset, const char *url);
/* A publishable key seen for p (in its markup, a script or JSON response, or an api.stripe.com
 * request): recorded once per page (where first seen), then the rules run. `name` and
 * `source` are static strings; url: where it was seen when not the page itself. */
void fca_correlate_key(fca_audit_t *a, fca_page_t *p, bool live, const char *v, size_t n,
                       int64_t offset, const char *source, const char *name, const char *url);
/* A document requested without Sec-Fetch-Dest (plain HTTP): is it a frame? Yes when the
 * client's document seen within the window held an <iframe> whose resolved src is url and the
 * Referer, when present, is that parent (its URL, or its origin alone); else it is top-level. */
bool fca_correlate_is_framed(fca_audit_t *a, const char *client_id, const char *url,
                             const char *referer, int64_t now_ms);
/* A framed page appeared: join it with a known parent <iframe>, if any. */
void fca_correlate_framed_page(fca_audit_t *a, fca_page_t *child);
/* A parent's iframe p->iframes[idx] appeared: index it, join it with a known framed page. */
void fca_correlate_iframe(fca_audit_t *a, fca_page_t *parent, size_t idx);
/* A document ended (or the run ends, p NULL and final): notes for tagged framed pages whose
 * iframe was never seen, once no candidate parent document is still streaming. */
void fca_correlate_pending(fca_audit_t *a, bool final);
void fca_correlate_add_pending(fca_audit_t *a, fca_page_t *p);

/* jsfetch.c: Stripe.js seen or only referenced (see its top comment). */
void fca_jsfetch_await(fca_audit_t *a, fca_page_t *p, const char *src_url);
void fca_jsfetch_seen(fca_audit_t *a, const char *client_id, const char *url, int64_t now_ms,
                      fca_page_t *matched, fca_confidence_t conf);
void fca_jsfetch_ran(fca_audit_t *a, fca_page_t *p);
/* A request to a Stripe host other than Stripe.js itself: when its Referer is a page's (not a
 * Stripe document's), Stripe.js ran on that page. */
void fca_jsfetch_stripe_host(fca_audit_t *a, const char *client_id, const char *referer,
                             int64_t now_ms);
void fca_jsfetch_other(fca_audit_t *a, const char *client_id, const char *referer, int64_t now_ms);
void fca_jsfetch_response(fca_audit_t *a, const char *client_id, const char *url, int64_t now_ms,
                          int status, const fca_audit_header_t *hs, size_t n);
void fca_jsfetch_settle(fca_audit_t *a, int64_t now_ms, bool final);
void fca_jsfetch_free(fca_audit_t *a);

/* keymemo.c: keys of a client's JSON/JS responses by URL, for the 304s that reuse them. */
void fca_keymemo_put(fca_audit_t *a, const char *client_id, const char *url, bool live,
                     const char *key, size_t n, int64_t offset);
/* A full response of that URL came again: what it holds now replaces what was remembered. */
void fca_keymemo_forget(fca_audit_t *a, const char *client_id, const char *url);
/* A 304 (or a response without body) of that URL for page p: the remembered keys are p's. */
void fca_keymemo_apply(fca_audit_t *a, const char *client_id, const char *url, fca_page_t *p);
void fca_keymemo_free(fca_audit_t *a);

/* summary.c: the end-of-run summary (caller frees with fca_summary_free). */
fca_summary_t *fca_summary_build(fca_audit_t *a);
fca_card_t *fca_card_new(fca_audit_t *a, const fca_page_t *p);
void fca_card_free(fca_card_t *c);

/* audit.c: emits with ts and run-independent fields filled. */
void fca_audit_emit(fca_audit_t *a, fca_event_t *ev);

#endif
