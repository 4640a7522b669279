/* stripereq: the publishable key a request to api.stripe.com carries, as Stripe.js sends it:
 * the `key` field of an application/x-www-form-urlencoded body or of the query (names and
 * values percent- and plus-decoded as the URL Standard's urlencoded parser does; the first `key`
 * field wins, as Stripe's API reads it), or an `Authorization: Bearer pk_...` header. A key is
 * pk_live_ or pk_test_ followed by at least FCA_LIT_KEY_MIN ASCII letters or digits and nothing
 * else. Pure: no allocation, bounded by the input. */
#ifndef FCAUDIT_STRIPEREQ_H
#define FCAUDIT_STRIPEREQ_H

#include <stdbool.h>
#include <stddef.h>

#ifndef FCA_STRIPEREQ_BODY_MAX
#define FCA_STRIPEREQ_BODY_MAX (64 * 1024) /* request body bytes inspected per request */
#endif
#define FCA_STRIPEREQ_KEY_MAX 200 /* longest key kept */

typedef enum { FCA_KEY_NONE = 0, FCA_KEY_TEST, FCA_KEY_LIVE } fca_key_kind_t;

/* Is s[0..n) exactly one publishable key? */
fca_key_kind_t fca_stripereq_key_kind(const char *s, size_t n);
/* The decoded value of the first `key` field of a urlencoded string (a body, or a URL's query
 * without '?') when it is a publishable key: copied to out (NUL-terminated), length in *outn. */
fca_key_kind_t fca_stripereq_form_key(const char *form, size_t n, char *out, size_t outlen,
                                      size_t *outn);
/* The key of an Authorization header value "Bearer <key>" (scheme case-insensitive). */
fca_key_kind_t fca_stripereq_bearer(const char *v, size_t n, const char **key, size_t *keyn);

#endif
