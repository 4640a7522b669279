/* setupscan: does a piece of inline code set Stripe up? It looks, across slices of any size,
 * for a call of Stripe( (which loadStripe( contains), a Financial Connections collect... method
 * name, or a publishable key prefix. Fixed memory, no allocation. Used for FC-CSP-4 only, on
 * pages whose CSP could block inline code. */
#ifndef FCAUDIT_SETUPSCAN_H
#define FCAUDIT_SETUPSCAN_H

#include <stdbool.h>
#include <stddef.h>

#define FCA_SETUPSCAN_TAIL 40 /* longer than the longest pattern */

typedef struct {
  const char *found; /* the first pattern seen (a static string), or NULL */
  char tail[FCA_SETUPSCAN_TAIL];
  size_t tail_len;
} fca_setupscan_t;

void fca_setupscan_reset(fca_setupscan_t *s);
void fca_setupscan_feed(fca_setupscan_t *s, const char *data, size_t n);
/* Whole text at once (an attribute value): the pattern found, or NULL. */
const char *fca_setupscan_text(const char *data, size_t n);

#endif
