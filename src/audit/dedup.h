/* dedup: counts occurrences of (rule, page URL without query and fragment, evidence value) so a
 * finding is reported once per run and counted after that. Keys are byte strings (an evidence
 * value may hold any byte). Bounded: past FCA_DEDUP_MAX keys, new keys are not remembered
 * (each occurrence counts as a first one, so nothing is ever silently dropped). Not locked:
 * the caller serialises access (the audit lock). */
#ifndef FCAUDIT_DEDUP_H
#define FCAUDIT_DEDUP_H

#include <stddef.h>
#include <stdint.h>

#ifndef FCA_DEDUP_MAX
#define FCA_DEDUP_MAX 65536
#endif

typedef struct fca_dedup fca_dedup_t;

fca_dedup_t *fca_dedup_new(void);
void fca_dedup_free(fca_dedup_t *d);
/* Counts one occurrence and returns the count so far (1 = first). */
uint64_t fca_dedup_hit(fca_dedup_t *d, const char *rule, const char *url, const char *value,
                       size_t value_len);
size_t fca_dedup_size(const fca_dedup_t *d);

#endif
