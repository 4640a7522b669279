/* csp: Content Security Policy Level 3 as browsers read and apply it, for the checks Stripe.js
 * depends on (script elements, inline code, frames, fetches). Parsing follows CSP3 §2.2 (a
 * serialized policy list: ',' separates policies, ';' directives, names ASCII-lower-cased, the
 * first directive of a name wins, non-ASCII directives skipped) and §2.3.1 (source expression
 * grammar; an invalid expression is kept but matches nothing). Matching follows §6.7 (fetch
 * directive pre-request checks, "Does url match source list", nonces, hashes, 'strict-dynamic',
 * inline checks) and §6.8 (effective directives and fallback lists). Pure: no allocation except
 * in the fix helpers, no I/O; inputs are byte spans. The sandbox directive lives in policy.h. */
#ifndef FCAUDIT_CSP_H
#define FCAUDIT_CSP_H

#include "html_scan.h"
#include "policy.h"
#include "sha2.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- parsing (csp.c) ------------------------------------------------------------------------ */
typedef struct {
  fca_policy_str_t name;  /* as written (ASCII, compare case-insensitively) */
  fca_policy_str_t value; /* the rest of the token, whitespace-trimmed (the source list) */
} fca_csp_directive_t;

/* CSP3 §2.2.2: the next policy of a serialized list (strictly split on ','). Policies without
 * any directive are skipped, as the spec drops them. Start with *pos = 0. */
bool fca_csp_next_policy(fca_policy_str_t list, size_t *pos, fca_policy_str_t *policy);
/* CSP3 §2.2.1: the next directive of a policy (strictly split on ';', trimmed; empty and
 * non-ASCII tokens skipped). Duplicates are returned too; fca_csp_find keeps the first. */
bool fca_csp_next_directive(fca_policy_str_t policy, size_t *pos, fca_csp_directive_t *d);
/* The first directive whose name is `name` (lower-case), as the parsed policy holds it. */
bool fca_csp_find(fca_policy_str_t policy, const char *name, fca_csp_directive_t *d);

typedef enum {
  FCA_CSP_SRC_INVALID = 0, /* does not match the grammar: ignored (matches nothing) */
  FCA_CSP_SRC_NONE,        /* 'none' */
  FCA_CSP_SRC_STAR,        /* * */
  FCA_CSP_SRC_SCHEME,      /* https: */
  FCA_CSP_SRC_HOST,        /* [scheme://]host[:port][/path] */
  FCA_CSP_SRC_SELF,
  FCA_CSP_SRC_UNSAFE_INLINE,
  FCA_CSP_SRC_UNSAFE_EVAL,
  FCA_CSP_SRC_STRICT_DYNAMIC,
  FCA_CSP_SRC_UNSAFE_HASHES,
  FCA_CSP_SRC_REPORT_SAMPLE,
  FCA_CSP_SRC_KEYWORD, /* another keyword ('wasm-unsafe-eval', ...): no effect here */
  FCA_CSP_SRC_NONCE,
  FCA_CSP_SRC_HASH,
} fca_csp_src_kind_t;

typedef struct {
  fca_csp_src_kind_t kind;
  fca_policy_str_t text;   /* the whole expression */
  fca_policy_str_t scheme; /* SCHEME, HOST: scheme-part (empty when absent) */
  fca_policy_str_t host;   /* HOST: host-part ("*", "*.example.com", "example.com") */
  fca_policy_str_t port;   /* HOST: port-part without ':' (digits or "*"), empty when absent */
  fca_policy_str_t path;   /* HOST: path-part (empty when absent) */
  fca_policy_str_t b64;    /* NONCE, HASH: base64-value */
  fca_sha2_alg_t alg;      /* HASH */
} fca_csp_source_t;

/* CSP3 §2.3.1: classifies one source expression (one whitespace-free token). */
void fca_csp_parse_source(const char *s, size_t n, fca_csp_source_t *out);
/* The next source expression of a directive value (split on ASCII whitespace). */
bool fca_csp_next_source(fca_policy_str_t value, size_t *pos, fca_csp_source_t *src);

/* ---- effective directives (csp.c) ----------------------------------------------------------- */
typedef enum {
  FCA_CSP_SCRIPT_ELEM = 0, /* <script> elements, src or inline: script-src-elem */
  FCA_CSP_SCRIPT_ATTR,     /* event-handler attributes: script-src-attr */
  FCA_CSP_FRAME,           /* iframes: frame-src */
  FCA_CSP_CONNECT,         /* fetch, XHR, WebSocket, EventSource: connect-src */
  FCA_CSP_KIND_COUNT
} fca_csp_kind_t;

/* CSP3 §6.8.3 "Get the fallback list" for the kind's effective directive, NULL-terminated:
 * script-src-elem -> script-src -> default-src, script-src-attr -> script-src -> default-src,
 * frame-src -> child-src -> default-src, connect-src -> default-src. */
const char *const *fca_csp_fallback(fca_csp_kind_t kind);
/* §6.8.4 "Should fetch directive execute": the first directive of the fallback list the policy
 * has governs. Returns its index in the list (0 = the effective directive itself) and fills
 * *d, or -1 when none is present (the policy does not restrict this kind). */
int fca_csp_governing(fca_policy_str_t policy, fca_csp_kind_t kind, fca_csp_directive_t *d);

/* ---- matching (csp_match.c) ----------------------------------------------------------------- */
/* What is being checked. Strings are spans; unused ones may be empty. */
typedef struct {
  fca_csp_kind_t kind;
  const char *url; /* SCRIPT_ELEM with src, FRAME, CONNECT: the absolute URL (NUL-terminated) */
  /* SCRIPT_ELEM: the element's nonce attribute and whether it is nonceable (CSP3 §6.7.3.1), its
   * integrity attribute, and whether the HTML parser inserted it (static markup) rather than a
   * script (document.createElement): 'strict-dynamic' trusts only the latter. */
  fca_policy_str_t nonce;
  bool nonceable;
  fca_policy_str_t integrity;
  bool parser_inserted;
  /* inline SCRIPT_ELEM / SCRIPT_ATTR: digests of the content (UTF-8, newlines normalised as the
   * HTML parser leaves them); digest_ok[alg] says which were computed. */
  bool digest_ok[3];
  unsigned char digest[3][FCA_SHA2_MAX_DIGEST];
} fca_csp_request_t;

typedef enum {
  FCA_CSP_ALLOWED = 0,
  FCA_CSP_ALLOWED_NO_DIRECTIVE, /* nothing on the fallback list: not restricted */
  FCA_CSP_BLOCKED,
} fca_csp_result_t;

/* Why a check ended as it did (for messages and fixes). */
typedef enum {
  FCA_CSP_WHY_NONE = 0,
  FCA_CSP_WHY_NONCE,          /* a matching nonce allowed it */
  FCA_CSP_WHY_HASH,           /* a matching hash (content, or integrity metadata) */
  FCA_CSP_WHY_STRICT_DYNAMIC, /* allowed as script-inserted, or blocked as parser-inserted */
  FCA_CSP_WHY_SOURCE,         /* a URL source matched (allowed) / none matched (blocked) */
  FCA_CSP_WHY_UNSAFE_INLINE,  /* 'unsafe-inline' in effect (allowed) */
  FCA_CSP_WHY_INLINE_IGNORED, /* blocked although 'unsafe-inline' is listed: a nonce, hash or
                                 'strict-dynamic' disables it */
  FCA_CSP_WHY_INLINE,         /* blocked: no 'unsafe-inline', nonce or hash allows it */
} fca_csp_why_t;

typedef struct {
  fca_csp_result_t result;
  fca_csp_why_t why;
  int fallback_index;         /* index of the governing directive in fca_csp_fallback(kind) */
  const char *directive_name; /* its lower-case name, or NULL */
  fca_csp_directive_t directive;
} fca_csp_verdict_t;

/* Checks req against one enforced policy, as CSP3 §6.7 decides for that kind; page_url is the
 * document's URL (its origin is 'self', its scheme is the one implied by host sources). */
void fca_csp_check(fca_policy_str_t policy, const fca_csp_request_t *req, const char *page_url,
                   fca_csp_verdict_t *out);

/* §6.7.2.5 "Does url match source list in origin" (redirect count 0). */
bool fca_csp_url_matches_list(fca_policy_str_t value, const char *url, const char *page_url);
/* §6.7.2.6 for one expression. */
bool fca_csp_url_matches_source(const fca_csp_source_t *src, const char *url, const char *page_url);
/* §6.7.2.10 path-part matching: expression path a, URL path b (both percent-decoded pieces). */
bool fca_csp_path_matches(fca_policy_str_t a, fca_policy_str_t b);
/* Digests of inline content: the content is fed in slices with "\r\n" and "\r" turned into
 * "\n" (HTML input stream preprocessing), across slice boundaries. */
typedef struct {
  fca_sha2_t sha[3];
  bool on[3];
  bool cr; /* the previous slice ended with '\r' */
} fca_csp_digest_t;
void fca_csp_digest_init(fca_csp_digest_t *d, const bool algs[3]);
void fca_csp_digest_update(fca_csp_digest_t *d, const void *data, size_t n);
void fca_csp_digest_final(fca_csp_digest_t *d, fca_csp_request_t *req);
/* CSP3 §6.7.3.1 "Is element nonceable?" for a <script>: it has a nonce, no attribute name or
 * value contains "<script" or "<style" (ASCII case-insensitive), and the tag repeated no
 * attribute (a duplicate-attribute parse error). */
bool fca_csp_element_nonceable(const fca_html_tag_t *tag);
/* Which hash algorithms the policy's hash sources for `kind` use (sets algs[alg] = true). */
void fca_csp_hash_algs(fca_policy_str_t policy, fca_csp_kind_t kind, bool algs[3]);

/* ---- fixes (csp_fix.c) ---------------------------------------------------------------------- */
#ifndef FCA_CSP_FIX_SOURCES_MAX
#define FCA_CSP_FIX_SOURCES_MAX 48
#endif
/* One directive as a fix would write it: the name (the kind's governing directive when the
 * policy has the effective one or its first fallback that is not default-src; else the kind's
 * most specific common name, e.g. script-src, frame-src, connect-src, added to the policy), the
 * page's own sources kept (spans into the policy; 'none' dropped) and the sources to add. Other
 * modules (stack-specific wording) read this structure rather than re-parsing the text. */
typedef struct {
  const char *name; /* "script-src", "frame-src", "connect-src", "script-src-attr", ... */
  bool existing;    /* the policy already has a directive of that name (it is edited) */
  fca_policy_str_t kept[FCA_CSP_FIX_SOURCES_MAX];
  size_t nkept;
  const char *added[8];
  size_t nadded;
} fca_csp_fix_t;

/* The sources Stripe documents for each kind (NULL-terminated): script https://js.stripe.com
 * its subdomains (https: then *.js.stripe.com); frames those and https://hooks.stripe.com; connect
 * https://api.stripe.com. */
const char *const *fca_csp_stripe_sources(fca_csp_kind_t kind);
/* Builds the fix for `kind` in `policy`: its governing directive with `add` (NULL-terminated;
 * sources already listed are not repeated) appended. */
void fca_csp_fix_build(fca_policy_str_t policy, fca_csp_kind_t kind, const char *const *add,
                       fca_csp_fix_t *out);
/* The directive as text, e.g. "script-src 'self' https://js.stripe.com" and the subdomain
 * wildcard (allocated). */
char *fca_csp_fix_directive(const fca_csp_fix_t *fix);

#endif
