/* freshness: the freshness lifetime of a response in a browser's private cache (RFC 9111
 * 4.2.1), from its header lines; pure. */
#ifndef FCAUDIT_FRESHNESS_H
#define FCAUDIT_FRESHNESS_H

#include "fcaudit/audit.h"

#include <stdint.h>

/* Milliseconds the response may be reused without a request; 0 = must be requested again. */
int64_t fca_freshness_ms(const fca_audit_header_t *hs, size_t n);

#endif
