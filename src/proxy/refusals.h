/* refusals: requests the proxy turns away because of a policy the user chose (--only-resolved,
 * --proxy-auth), not because something broke. A browser's own background traffic (update and
 * sync hosts) hits them again and again, so each (policy, host) is told once at info level and
 * then only counted; the end-of-run summary lists every host with its count. Thread-safe. */
#ifndef FCAUDIT_REFUSALS_H
#define FCAUDIT_REFUSALS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Distinct (policy, host) pairs kept; past it, refusals are counted under "other hosts". */
#ifndef FCA_REFUSALS_MAX
#define FCA_REFUSALS_MAX 512
#endif

typedef struct fca_refusals fca_refusals_t;

fca_refusals_t *fca_refusals_new(void);
void fca_refusals_free(fca_refusals_t *r);

/* Counts one refusal of host by policy (e.g. "--only-resolved"). True the first time the pair
 * is seen: the caller then tells it (fca_info), otherwise stays quiet. */
bool fca_refusals_note(fca_refusals_t *r, const char *policy, const char *host);

/* Total refusals counted, and distinct hosts. */
uint64_t fca_refusals_total(fca_refusals_t *r, size_t *hosts);

/* The summary's lines: "  refused by policy (not audited): 57 requests to 3 hosts" and one
 * "    HOST  ×N  (POLICY)" per host, most refused first. Nothing when there was none. */
void fca_refusals_print(fca_refusals_t *r, FILE *f);

#endif
