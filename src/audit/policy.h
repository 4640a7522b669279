/* policy: how browsers read the response headers and attributes the checklist depends on
 * (COOP, COEP, Referrer-Policy and <meta name=referrer>, CSP sandbox, iframe sandbox). Each
 * parser follows the browser algorithm, not intuition: an input a browser ignores parses as
 * "ignored" here, never as a best guess. Pure functions: no allocation, no I/O; inputs are byte
 * spans (header values need not be NUL-terminated and may hold any byte). */
#ifndef FCAUDIT_POLICY_H
#define FCAUDIT_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One header line's value (or an attribute value): bytes, not necessarily NUL-terminated. */
typedef struct {
  const char *s;
  size_t n;
} fca_policy_str_t;

/* ---- RFC 8941 structured-field Item (sfitem.c) ---------------------------------------------- */
typedef enum {
  FCA_SF_INTEGER = 0,
  FCA_SF_DECIMAL,
  FCA_SF_STRING,
  FCA_SF_TOKEN,
  FCA_SF_BYTES,
  FCA_SF_BOOLEAN,
} fca_sf_type_t;

typedef struct {
  fca_sf_type_t type;
  size_t off, len; /* the bare item's raw bytes in the input (a string keeps its quotes) */
  size_t nparams;  /* parameters that followed it (duplicates counted) */
} fca_sf_item_t;

/* Parses one field value as an Item (leading/trailing SP allowed, nothing else around it).
 * Returns 0 and fills *out, or -1 when the value is not a valid Item. */
int fca_sf_parse_item(const char *s, size_t n, fca_sf_item_t *out);

/* A header that must be one structured-field token (COOP, COEP): all its lines are given; none
 * means absent; two or more, OWS aside anything but one Item whose bare item is a token, make
 * it invalid (ignored). Returns 1 with the token's offset and length in lines[0], else 0;
 * *present says whether any line was there. */
int fca_sf_single_token(const fca_policy_str_t *lines, size_t nlines, bool *present,
                        size_t *tok_off, size_t *tok_len);

/* ---- Cross-Origin-Opener-Policy (coop.c) ---------------------------------------------------- */
typedef enum {
  FCA_COOP_UNSAFE_NONE = 0, /* also: absent, or invalid (ignored by browsers) */
  FCA_COOP_SAME_ORIGIN,
  FCA_COOP_SAME_ORIGIN_ALLOW_POPUPS,
  FCA_COOP_RESTRICT_PROPERTIES,
  FCA_COOP_NOOPENER_ALLOW_POPUPS,
  FCA_COOP_OTHER, /* a valid token item browsers do not know (e.g. "Same-origin"): ignored */
} fca_coop_value_t;

typedef struct {
  bool present;            /* at least one header line */
  bool valid;              /* the combined value is an SF Item whose bare item is a token */
  fca_coop_value_t value;  /* UNSAFE_NONE when absent or invalid; OTHER for an unknown token */
  size_t tok_off, tok_len; /* valid: the token within the (single) line */
} fca_coop_t;

/* Cross-Origin-Opener-Policy or -Report-Only: every header line of that name, in order.
 * Two lines are combined as "a, b", which is never an Item: invalid. */
void fca_coop_parse(const fca_policy_str_t *lines, size_t nlines, fca_coop_t *out);
/* What a browser enforces: OTHER and invalid are unsafe-none. */
fca_coop_value_t fca_coop_effective(const fca_coop_t *coop);
const char *fca_coop_name(fca_coop_value_t v); /* "same-origin", ..., "other" */

/* ---- Cross-Origin-Embedder-Policy (coep.c) -------------------------------------------------- */
typedef enum {
  FCA_COEP_UNSAFE_NONE = 0, /* also: absent, invalid, or an unknown token */
  FCA_COEP_REQUIRE_CORP,
  FCA_COEP_CREDENTIALLESS,
} fca_coep_value_t;

typedef struct {
  bool present;
  bool valid; /* an SF Item whose bare item is a token (known or not) */
  fca_coep_value_t value;
  size_t tok_off, tok_len;
} fca_coep_t;

void fca_coep_parse(const fca_policy_str_t *lines, size_t nlines, fca_coep_t *out);
const char *fca_coep_name(fca_coep_value_t v);

/* ---- Referrer policy (referrer.c) ----------------------------------------------------------- */
typedef enum {
  FCA_REFPOL_NONE = 0, /* no policy from this source (absent, ignored, or unknown value) */
  FCA_REFPOL_NO_REFERRER,
  FCA_REFPOL_NO_REFERRER_WHEN_DOWNGRADE,
  FCA_REFPOL_SAME_ORIGIN,
  FCA_REFPOL_ORIGIN,
  FCA_REFPOL_STRICT_ORIGIN,
  FCA_REFPOL_ORIGIN_WHEN_CROSS_ORIGIN,
  FCA_REFPOL_STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
  FCA_REFPOL_UNSAFE_URL,
} fca_refpol_t;

#define FCA_REFPOL_DEFAULT FCA_REFPOL_STRICT_ORIGIN_WHEN_CROSS_ORIGIN

typedef struct {
  bool present;            /* at least one Referrer-Policy header line */
  bool header_valid;       /* the joined list matches the header grammar (1#token of [A-Za-z-]) */
  fca_refpol_t policy;     /* the last known token; NONE when invalid or none known */
  size_t line;             /* policy != NONE: index of the line that holds the winning token */
  size_t tok_off, tok_len; /* ... and where it is in that line */
} fca_referrer_header_t;

/* All Referrer-Policy header lines, in order (joined as one comma list). */
void fca_referrer_parse_header(const fca_policy_str_t *lines, size_t nlines,
                               fca_referrer_header_t *out);
/* <meta name="referrer" content>: trimmed, case-insensitive, legacy keywords mapped (never,
 * default, always, origin-when-crossorigin). NONE when the tag is ignored (empty/unknown). */
fca_refpol_t fca_referrer_parse_meta(const char *content, size_t n);
/* A `referrerpolicy` attribute (<script>, <a>, <iframe>...): an enumerated attribute, ASCII
 * case-insensitive, no trimming, no legacy keywords. NONE for empty/invalid (no override). */
fca_refpol_t fca_referrer_parse_attr(const char *value, size_t n);
/* The document's policy: the header's, then each meta in document order (last wins), else
 * the default strict-origin-when-cross-origin. metas may hold NONE entries (ignored tags). */
fca_refpol_t fca_referrer_effective(const fca_referrer_header_t *hdr, const fca_refpol_t *metas,
                                    size_t nmetas);
/* Does a document with this policy send a Referer to another origin? (NONE = default.) */
bool fca_referrer_sends_cross_origin_referer(fca_refpol_t p);
/* FC-REF-2: the four values the checklist lists (origin, origin-when-cross-origin,
 * strict-origin, strict-origin-when-cross-origin). */
bool fca_referrer_checklist_allowed(fca_refpol_t p);
/* FC-REF-2 input: a <meta name="referer"> content is one of those four spellings (trimmed,
 * case-insensitive; legacy keywords are not on the checklist). */
bool fca_referrer_checklist_value_ok(const char *content, size_t n);
const char *fca_referrer_name(fca_refpol_t p); /* "no-referrer", ...; "" for NONE */

/* ---- Sandboxing flags (sandbox.c) ----------------------------------------------------------- */
/* One bit per allow-* keyword browsers know; unknown keywords are ignored. */
enum {
  FCA_SBX_ALLOW_DOWNLOADS = 1u << 0,
  FCA_SBX_ALLOW_FORMS = 1u << 1,
  FCA_SBX_ALLOW_MODALS = 1u << 2,
  FCA_SBX_ALLOW_ORIENTATION_LOCK = 1u << 3,
  FCA_SBX_ALLOW_POINTER_LOCK = 1u << 4,
  FCA_SBX_ALLOW_POPUPS = 1u << 5,
  FCA_SBX_ALLOW_POPUPS_TO_ESCAPE_SANDBOX = 1u << 6,
  FCA_SBX_ALLOW_PRESENTATION = 1u << 7,
  FCA_SBX_ALLOW_SAME_ORIGIN = 1u << 8,
  FCA_SBX_ALLOW_SCRIPTS = 1u << 9,
  FCA_SBX_ALLOW_STORAGE_ACCESS_BY_USER_ACTIVATION = 1u << 10,
  FCA_SBX_ALLOW_TOP_NAVIGATION = 1u << 11,
  FCA_SBX_ALLOW_TOP_NAVIGATION_BY_USER_ACTIVATION = 1u << 12,
  FCA_SBX_ALLOW_TOP_NAVIGATION_TO_CUSTOM_PROTOCOLS = 1u << 13,
};
#define FCA_SBX_ALL 0x3fffu
/* The tokens the rules need, in the order findings name them (SBX-1, SBX-2, SBX-4, SBX-5). */
#define FCA_SBX_REQUIRED                                                                           \
  (FCA_SBX_ALLOW_POPUPS_TO_ESCAPE_SANDBOX | FCA_SBX_ALLOW_POPUPS | FCA_SBX_ALLOW_SAME_ORIGIN |     \
   FCA_SBX_ALLOW_SCRIPTS)

typedef struct {
  bool sandboxed;
  uint32_t allow; /* FCA_SBX_* bits; FCA_SBX_ALL when not sandboxed */
} fca_sandbox_t;

#define FCA_SANDBOX_NONE ((fca_sandbox_t){false, FCA_SBX_ALL})

/* The iframe `sandbox` attribute (present): ASCII-whitespace separated, case-insensitive. */
fca_sandbox_t fca_sandbox_parse(const char *value, size_t n);
/* Tokens only (same syntax), for the CSP sandbox directive: the allow bits. */
uint32_t fca_sandbox_parse_tokens(const char *value, size_t n);
/* Both apply (iframe sandbox and CSP sandbox, or nested frames): union of restrictions. */
fca_sandbox_t fca_sandbox_intersect(fca_sandbox_t a, fca_sandbox_t b);
/* The bits of `required` this sandbox does not allow (0 when not sandboxed). */
uint32_t fca_sandbox_missing(fca_sandbox_t sb, uint32_t required);
/* Name of a single FCA_SBX_* bit ("allow-popups"), or NULL. */
const char *fca_sandbox_flag_name(uint32_t bit);
/* "allow-popups allow-scripts" for the given bits (space separated, bit order); returns the
 * length it needed (like snprintf), always NUL-terminates when len > 0. */
size_t fca_sandbox_format(uint32_t bits, char *buf, size_t len);

/* ---- Content-Security-Policy sandbox (csp.c) ------------------------------------------------ */
#ifndef FCA_CSP_SANDBOX_MAX
#define FCA_CSP_SANDBOX_MAX 8 /* sandboxing policies recorded as evidence (all are combined) */
#endif

typedef struct {
  size_t line;             /* index of the header line */
  size_t pol_off, pol_len; /* the policy (comma-separated piece) within that line */
  size_t val_off, val_len; /* the sandbox directive's value (may be empty) */
  uint32_t allow;          /* its allow-* bits */
} fca_csp_sandbox_policy_t;

typedef struct {
  fca_sandbox_t sandbox; /* combined over every enforced policy with a sandbox directive */
  size_t count;          /* enforced policies with a sandbox directive */
  size_t recorded;       /* min(count, FCA_CSP_SANDBOX_MAX) */
  fca_csp_sandbox_policy_t policies[FCA_CSP_SANDBOX_MAX];
  bool report_only_sandbox; /* a report-only policy has sandbox (never enforced; info only) */
} fca_csp_sandbox_t;

/* `enforce`: every Content-Security-Policy header line; `report_only`: every
 * Content-Security-Policy-Report-Only line (either may be empty). <meta> CSP never sandboxes,
 * so it is not an input. */
void fca_csp_sandbox(const fca_policy_str_t *enforce, size_t nenforce,
                     const fca_policy_str_t *report_only, size_t nreport_only,
                     fca_csp_sandbox_t *out);

#endif
