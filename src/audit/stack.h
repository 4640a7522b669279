/* stack: which server stack sent a document, guessed from its response headers only (never the
 * body), and each header fix of the audit written in that stack's words. A header that names the
 * stack (X-Powered-By, Server, x-nextjs-*) gives confidence "high"; a stack recognised by the
 * set of default headers it sends (helmet's, Django's SecurityMiddleware's, Rails') is a
 * "guess" and every output says so. The fingerprints are documented in docs/audit.md. Pure: no
 * allocation in detection, fixed tables, no I/O. */
#ifndef FCAUDIT_STACK_H
#define FCAUDIT_STACK_H

#include "fcaudit/audit.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum {
  FCA_STACK_NONE = 0,
  FCA_STACK_HELMET,  /* Express with helmet */
  FCA_STACK_EXPRESS, /* Express without helmet */
  FCA_STACK_DJANGO,
  FCA_STACK_RAILS,
  FCA_STACK_NEXTJS,
  FCA_STACK_NGINX,
  FCA_STACK_APACHE,
} fca_stack_kind_t;

typedef enum { FCA_STACK_GUESS = 0, FCA_STACK_HIGH } fca_stack_conf_t;

#define FCA_STACK_WHY_MAX 96

typedef struct {
  fca_stack_kind_t kind;
  fca_stack_conf_t confidence;
  char why[FCA_STACK_WHY_MAX]; /* the headers that decided, e.g. "X-Powered-By: Express" */
} fca_stack_t;

/* One response header line (bytes, not necessarily NUL-terminated). */
typedef fca_audit_header_t fca_stack_header_t;

/* Detects the stack from a response's header lines (all of them, in order). */
void fca_stack_detect(const fca_stack_header_t *h, size_t n, fca_stack_t *out);

const char *fca_stack_name(fca_stack_kind_t k);      /* "helmet", "django", ..., NULL: NONE */
const char *fca_stack_label(fca_stack_kind_t k);     /* "Express with helmet", "Django", ... */
const char *fca_stack_conf_name(fca_stack_conf_t c); /* "high" | "guess" */

/* What a fix changes. */
typedef enum {
  FCA_FIX_COOP = 0,     /* Cross-Origin-Opener-Policy: same-origin-allow-popups */
  FCA_FIX_COOP_RO,      /* stop reporting same-origin in COOP-Report-Only */
  FCA_FIX_REFERRER,     /* Referrer-Policy: strict-origin-when-cross-origin */
  FCA_FIX_CSP_SANDBOX,  /* the CSP sandbox directive: add the tokens (value) or drop it */
  FCA_FIX_COEP,         /* stop sending Cross-Origin-Embedder-Policy */
  FCA_FIX_CSP_DIRECTIVE /* a CSP directive (value: "script-src 'self' https://js.stripe.com") */
} fca_fix_topic_t;

/* The fix in the words of the stack, one line, written into out (NUL-terminated). `value` is
 * the topic's argument (the directive with its sources, the sandbox tokens); NULL uses the
 * default. Returns false (out empty) for FCA_STACK_NONE. */
bool fca_stack_fix(fca_stack_kind_t k, fca_fix_topic_t topic, const char *value, char *out,
                   size_t outlen);

#endif
