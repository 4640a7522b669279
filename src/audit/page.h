/* page: one HTML document response (navigation or frame) as the audit remembers it: where it
 * came from, the raw policy headers and their parsed forms, what its body showed (Stripe.js
 * tags, referrer metas, iframes, keys, FC evidence), how it was tagged, its framing link, and
 * the per-page bookkeeping of the rules (findings fired, worst level, pass). Every list is
 * capped (drops counted). Pages are reference counted; all mutable fields are guarded by the
 * audit's lock (src/audit/engine.h), the immutable ones (url, client, ids) are not. */
#ifndef FCAUDIT_PAGE_H
#define FCAUDIT_PAGE_H

#include "csp.h"
#include "fcaudit/event.h"
#include "policy.h"
#include "stack.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef FCA_PAGE_LIST_MAX
#define FCA_PAGE_LIST_MAX 32 /* entries kept per list (scripts, metas, iframes, keys, FC) */
#endif
#ifndef FCA_PAGE_HEADER_LINES_MAX
#define FCA_PAGE_HEADER_LINES_MAX 16 /* lines kept per audited header name */
#endif
#ifndef FCA_PAGE_FIRED_MAX
#define FCA_PAGE_FIRED_MAX 64 /* distinct (rule, evidence) findings remembered per page */
#endif

typedef enum {
  FCA_TAG_NONE = 0,
  FCA_TAG_SCRIPT_LITERAL, /* a same-origin (or inline) script holds https://js.stripe.com */
  FCA_TAG_SCRIPT_REQUEST, /* the browser requested Stripe.js for this page */
  FCA_TAG_SCRIPT_TAG,     /* a static <script src> in the HTML */
} fca_tag_kind_t;

typedef enum { FCA_CONF_NONE = 0, FCA_CONF_MEDIUM, FCA_CONF_HIGH } fca_confidence_t;
/* How strong a tag is: confidence first, then the kind of evidence (a page's tag only gets
 * stronger). */
static inline int fca_tag_strength(fca_tag_kind_t k, fca_confidence_t c) {
  return (int)c * 8 + (int)k;
}

const char *fca_tag_kind_name(fca_tag_kind_t k);     /* script-tag, ..., NULL for NONE */
const char *fca_confidence_name(fca_confidence_t c); /* high | medium, NULL for NONE */

/* A piece of evidence as seen: value bytes (owned, NUL-terminated for convenience), the byte
 * offset in the decoded body (-1 for headers/requests), and the other document it came from. */
typedef struct {
  char *value; /* the attribute or header value (what rules and messages read) */
  size_t len;
  int64_t offset;
  char *url; /* NULL: this page */
  char *tag; /* the whole tag as it appeared, when the value came from a tag: the evidence */
  size_t tag_len;
} fca_page_ev_t;

typedef struct {
  fca_page_ev_t src;    /* script[src] as written */
  bool has_refpol;      /* referrerpolicy attribute present */
  fca_page_ev_t refpol; /* its value */
  /* what CSP decides on (FC-CSP-1): the resolved URL, the nonce (when the element is
   * nonceable), the integrity metadata, and how many <meta> CSPs came before it */
  char *url;
  char *nonce, *integrity;
  size_t nmeta;
} fca_page_script_t;

/* A <meta http-equiv="Content-Security-Policy"> that browsers enforce (in the head, with a
 * non-empty content): enforced for the elements after it. */
typedef struct {
  fca_page_ev_t content; /* value: the content; tag: the meta as it appeared */
} fca_page_cspmeta_t;

/* Inline code that sets Stripe up (FC-CSP-4): an inline <script> or an event-handler attribute
 * whose text calls Stripe(, loadStripe(, a collect... method, or holds a publishable key. */
typedef struct {
  bool attr;             /* an event-handler attribute rather than a <script> */
  char *attr_name;       /* "onclick" */
  const char *what;      /* "Stripe(", "collectFinancialConnectionsAccounts", "a publishable key" */
  int64_t offset;        /* the element's tag */
  fca_csp_request_t req; /* nonce (points into nonce below) and content digests */
  char *nonce;
  size_t nmeta;
} fca_page_inline_t;

typedef struct {
  fca_page_ev_t content; /* meta content */
  bool referer_spelling; /* name="referer" (ignored by browsers; FC-REF-2) */
  fca_refpol_t policy;   /* name="referrer": parsed (NONE = ignored) */
} fca_page_meta_t;

typedef struct {
  char *src;             /* resolved URL without fragment (join key), or NULL (srcdoc/none) */
  fca_page_ev_t sandbox; /* sandbox attribute value (when sandboxed) */
  fca_sandbox_t sb;      /* parsed; NONE when no sandbox attribute */
  int64_t offset;        /* the <iframe> tag's offset */
} fca_page_iframe_t;

typedef struct {
  fca_page_ev_t key; /* the key text */
  bool live;
  const char *source; /* "script" (inline or a script response) | "body" (an attribute) |
                       * "response" (a JSON/JS response) | "request" (an api.stripe.com call) */
  const char *name;   /* "publishable key", "key (form field)", "Authorization: Bearer", ... */
} fca_page_key_t;

typedef struct {
  const char *kind;   /* fc-method | linked-accounts-inner | api */
  const char *source; /* script | request */
  fca_page_ev_t ev;
} fca_page_fc_t;

typedef struct {
  char **v; /* grown on demand up to FCA_PAGE_HEADER_LINES_MAX */
  size_t n, cap, dropped;
} fca_page_lines_t;

typedef struct fca_page fca_page_t;

typedef struct {
  uint32_t rule; /* fca_rule_id_t */
  uint64_t hash; /* of the evidence value and url */
} fca_page_fired_t;

struct fca_page {
  /* immutable after creation */
  uint64_t id;
  char *url;       /* as requested, without fragment */
  char *dedup_url; /* without query and fragment */
  char *origin;    /* scheme://host[:port] */
  char *site;      /* registrable domain (libpsl), else the host */
  char *client;    /* "127.0.0.1:50312" */
  char *client_id; /* the client for correlation: "127.0.0.1 ua:<hash of its User-Agent>" */
  char *referer;   /* request Referer, or NULL */
  bool top_level;
  bool secure;       /* its origin is potentially trustworthy: COOP/COEP apply (trustworthy.h) */
  bool not_modified; /* a 304 that reused an earlier response's findings */
  int status;
  int64_t ts_ms; /* response head time (recency for correlation) */

  /* guarded by the audit lock from here on */
  unsigned refs;
  bool in_registry;
  fca_page_t *reg_older, *reg_newer; /* registry list links (registry.c) */
  fca_page_lines_t coop, coop_ro, refpol, csp, csp_ro, coep;
  fca_coop_t coop_p, coop_ro_p;
  fca_coep_t coep_p;
  fca_referrer_header_t refpol_p;
  fca_csp_sandbox_t csp_p;
  fca_stack_t stack; /* the stack its response headers give away (stack.h) */

  char *base; /* resolved <base href>, or NULL */
  /* lists grown on demand (most pages have none) up to FCA_PAGE_LIST_MAX entries */
  fca_page_script_t *scripts; /* Stripe.js tags that load */
  size_t nscripts, cap_scripts;
  fca_page_meta_t *metas; /* name=referrer and name=referer, in order */
  size_t nmetas, cap_metas;
  fca_page_iframe_t *iframes;
  size_t niframes, cap_iframes;
  fca_page_key_t *keys;
  size_t nkeys, cap_keys;
  uint64_t *srcs; /* hashes of the resolved URLs of its running <script src> (any script) */
  size_t nsrcs, cap_srcs;
  fca_page_fc_t *fc;
  size_t nfc, cap_fc;
  fca_page_cspmeta_t *cspmetas; /* enforced <meta> CSPs, in document order */
  size_t ncspmetas, cap_cspmetas;
  fca_page_inline_t *inlines; /* inline set-up code, recorded when a CSP could block it */
  size_t ninlines, cap_inlines;
  uint64_t dropped; /* list entries over the caps */

  /* tagging */
  fca_tag_kind_t tagged_by;
  fca_confidence_t confidence;
  fca_page_ev_t tag_ev;   /* the evidence that tagged it */
  const char *tag_source; /* script | request */
  const char *tag_name;   /* script[src], request, script literal */
  bool announced;         /* `page` event emitted (tagged at the confidence asked for) */

  /* Stripe.js seen or only referenced (jsfetch.c; script-tag pages) */
  char *js_url;       /* the Stripe.js URL its first <script src> names (https, no fragment) */
  bool js_await;      /* in the audit's await list */
  bool js_fetched;    /* the client requested it (or Stripe's frame or API shows it ran) */
  bool js_cached;     /* fetched earlier by the client and still fresh: maybe from its cache */
  bool js_noted;      /* stripe-js-not-fetched emitted */
  unsigned js_others; /* other subresource requests of the page seen meanwhile */

  /* framing: set by a join of the parent's <iframe> with this page */
  fca_page_t *parent;   /* holds a reference */
  size_t parent_iframe; /* index into parent->iframes */
  bool iframe_unknown_noted;

  /* document and rule state */
  bool doc_ended, complete;
  bool pass_emitted;
  fca_level_t worst;       /* highest warning/error level found (dedup included) */
  uint64_t insecure_noted; /* bit per rule: its `ignored-on-http` note was emitted */
  fca_page_fired_t *fired; /* grown on demand up to FCA_PAGE_FIRED_MAX */
  size_t nfired, cap_fired;
  struct fca_card *card; /* scorecard record (engine.h), once announced */
};

/* The hash a script URL is remembered by in p->srcs (the URL without fragment). */
uint64_t fca_page_src_hash(const char *url);

/* A new page with one reference; strings are copied. */
fca_page_t *fca_page_new(uint64_t id, const char *url, const char *client, const char *client_id,
                         const char *referer, bool top_level, int64_t ts_ms);
void fca_page_ref(fca_page_t *p);
void fca_page_unref(fca_page_t *p); /* frees at zero (drops the parent's reference too) */

/* Records a response header line if it is one the audit keeps (case-insensitive name). */
void fca_page_add_header(fca_page_t *p, const char *name, size_t name_len, const char *value,
                         size_t value_len);
/* Parses the kept header lines (call once after the last add_header). */
void fca_page_parse_headers(fca_page_t *p);
/* Copies headers and body findings (not tag state) of src, for a 304 reusing them. */
void fca_page_copy_findings(fca_page_t *dst, const fca_page_t *src);

/* Appends a zeroed element to a list grown on demand: returns it, or NULL (and counts nothing)
 * when the list already holds max entries. Use FCA_PAGE_PUSH(p, list). */
void *fca_page_push(void **arr, size_t *n, size_t *cap, size_t elem, size_t max);
#define FCA_PAGE_PUSH(p, list)                                                                     \
  fca_page_push((void **)&(p)->list, &(p)->n##list, &(p)->cap_##list, sizeof *(p)->list,           \
                FCA_PAGE_LIST_MAX)

/* Records the raw tag the value came from (reported as the evidence value). */
void fca_page_ev_set_tag(fca_page_ev_t *ev, const char *tag, size_t len);
void fca_page_ev_set(fca_page_ev_t *ev, const char *value, size_t len, int64_t offset,
                     const char *url);
void fca_page_ev_clear(fca_page_ev_t *ev);
/* Tagged at the confidence the run asks for, and announced with a `page` event. */
static inline bool fca_page_is_audited(const fca_page_t *p) { return p->announced; }

/* URL helpers: the URL without fragment (without query and fragment: fca_url_without_query,
 * fcaudit/util.h), and the origin
 * ("scheme://host[:port]"); each returns an allocated string or NULL when not a URL. */
char *fca_page_url_nofrag(const char *url);
char *fca_page_url_origin(const char *url);
/* The registrable domain of a URL's host (libpsl builtin list), else the host itself. */
char *fca_page_url_site(const char *url);

#endif
