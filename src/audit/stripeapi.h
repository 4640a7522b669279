/* stripeapi: reads intercepted api.stripe.com Financial Connections responses (JSON, bounded)
 * for FC-TEST-2: is the response in test mode, and which of the four test institutions does
 * it show linked. Best effort, from the response shapes Stripe documents: an object's
 * `livemode` applies to it and everything nested in it; an institution name is the string
 * value of `institution_name`, of `name` inside an `institution` object, or of `name`/
 * `display_name` in an object whose `object` mentions "institution". Names are matched
 * trimmed and case-insensitively against the four test institutions. */
#ifndef FCAUDIT_STRIPEAPI_H
#define FCAUDIT_STRIPEAPI_H

#include <stdbool.h>
#include <stddef.h>

#ifndef FCA_STRIPEAPI_MAX
#define FCA_STRIPEAPI_MAX (1024 * 1024) /* bytes of JSON kept per response */
#endif

#define FCA_TEST_INSTITUTIONS 4
/* "Test (OAuth)", "Test (Non-OAuth)", "Bank (OAuth)", "Bank (Non-OAuth)" */
extern const char *const fca_test_institutions[FCA_TEST_INSTITUTIONS];

typedef struct {
  bool parsed;     /* valid JSON within the bound */
  bool test_mode;  /* some object had livemode:false */
  bool live_mode;  /* some object had livemode:true */
  unsigned linked; /* bit i: fca_test_institutions[i] seen under livemode:false */
} fca_stripeapi_result_t;

typedef struct fca_stripeapi fca_stripeapi_t;

fca_stripeapi_t *fca_stripeapi_new(void);
void fca_stripeapi_free(fca_stripeapi_t *s);
/* Decoded body bytes; past FCA_STRIPEAPI_MAX the response is dropped (parsed = false). */
void fca_stripeapi_feed(fca_stripeapi_t *s, const void *buf, size_t n);
void fca_stripeapi_finish(fca_stripeapi_t *s, fca_stripeapi_result_t *out);
/* The same on a whole JSON text. */
void fca_stripeapi_parse(const char *json, size_t n, fca_stripeapi_result_t *out);

#endif
