/* detect: what counts as Stripe.js and as Financial Connections evidence (RULES.md, "Which
 * pages are audited"). URL matchers for script sources and requests, the HTML rule for which
 * <script type> values run, Content-Type tests, and a streaming literal scanner for script
 * text (the `https://js.stripe.com` literal, publishable keys, FC method names) whose results
 * do not depend on how the input is sliced. Pure functions plus one small capped state. */
#ifndef FCAUDIT_DETECT_H
#define FCAUDIT_DETECT_H

#include "html_scan.h"
#include "url.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* https://js.stripe.com/v3, /v3/ (query allowed) or /<train>/stripe.js with train [a-z]+;
 * `protocol_relative`: the reference was written `//js.stripe.com/...`, so an http: page's
 * resolution (which browsers upgrade: stripe.com is HSTS-preloaded) counts too. */
bool fca_detect_stripejs_url(const fca_url_t *u, bool protocol_relative);
/* A <script src> written "//host/..." (leading spaces allowed; "\\" counts as "/"): the
 * `protocol_relative` of fca_detect_stripejs_url once the src is resolved against the page. */
bool fca_detect_protocol_relative(const char *s, size_t n);
/* An absolute request URL (a script request) for Stripe.js. */
bool fca_detect_stripejs_request(const char *url);
/* js.stripe.com/v3/linked-accounts-inner-*.html (the FC iframe Stripe.js opens). */
bool fca_detect_linked_accounts_inner(const fca_url_t *u);
/* api.stripe.com Financial Connections endpoints: /v1/link_account_sessions...,
 * /v1/<x>/link_account_sessions..., /v1/connections/..., /v1/financial_connections/... */
bool fca_detect_fc_api(const fca_url_t *u);
/* Stripe's own documents (stripe.com, stripe.network and their subdomains) are never pages. */
bool fca_detect_stripe_host(const char *host, size_t n);

/* HTML "prepare the script element": does a browser run this <script> (classic or module)?
 * type absent: language decides ("text/" + language); empty type: classic; a JavaScript MIME
 * type essence (case-insensitive, trimmed): classic; "module": module; anything else: data.
 * A classic script with `nomodule` does not run in module-capable browsers. */
bool fca_detect_script_runs(const fca_html_script_t *s);
/* Is this string (already trimmed of nothing) one of the HTML spec's JavaScript MIME type
 * essences (case-insensitive)? */
bool fca_detect_js_mime(const char *s, size_t n);

/* Content-Type tests on a header value (parameters ignored, case-insensitive). */
bool fca_detect_ctype_html(const char *v, size_t n); /* text/html, application/xhtml+xml */
bool fca_detect_ctype_js(const char *v, size_t n);   /* JS MIME types (+ text/x-... ones) */
bool fca_detect_ctype_json(const char *v, size_t n); /* application/json, +json */
bool fca_detect_ctype_form(const char *v, size_t n); /* application/x-www-form-urlencoded */
bool fca_detect_accepts_html(const char *v,
                             size_t n); /* Accept lists text/html, text/any or any/any */

/* ---- streaming literal scanner ---------------------------------------------------------- */
typedef enum {
  FCA_LIT_STRIPEJS = 0, /* https://js.stripe.com (not followed by a host character) */
  FCA_LIT_FC_METHOD,    /* collectFinancialConnectionsAccounts, collectBankAccount... */
  FCA_LIT_KEY_TEST,     /* pk_test_ + at least FCA_LIT_KEY_MIN alphanumerics */
  FCA_LIT_KEY_LIVE,     /* pk_live_ + ... */
} fca_lit_kind_t;

#ifndef FCA_LIT_KEY_MIN
#define FCA_LIT_KEY_MIN 16 /* characters after pk_live_ for a key (not code like "pk_live_"+x) */
#endif
#define FCA_LIT_VALUE_MAX 200 /* longest value reported (a literal URL or a key) */
#ifndef FCA_LITSCAN_WIN
#define FCA_LITSCAN_WIN 4096 /* window; the last FCA_LITSCAN_KEEP bytes carry over */
#endif
#define FCA_LITSCAN_KEEP 256

/* value: the match as seen (a literal with the URL path that follows it, up to a quote,
 * space, '<', '>', ')' or '\'; a key; a method name). offset: in the scanned stream. */
typedef void (*fca_lit_fn)(void *ud, fca_lit_kind_t kind, const char *value, size_t len,
                           uint64_t offset);

typedef struct fca_litscan fca_litscan_t;

fca_litscan_t *fca_litscan_new(fca_lit_fn fn, void *ud);
void fca_litscan_free(fca_litscan_t *ls);
void fca_litscan_feed(fca_litscan_t *ls, const void *buf, size_t n);
/* End of the current stream: reports what is left. */
void fca_litscan_finish(fca_litscan_t *ls);
/* finish, then start a new stream whose first byte is at `offset` (a new inline script). */
void fca_litscan_restart(fca_litscan_t *ls, uint64_t offset);
const char *fca_lit_kind_name(fca_lit_kind_t k); /* stripejs-literal, fc-method, key */

#endif
