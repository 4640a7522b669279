/* intern: one shared, never freed copy of each distinct item sentence. A run judges thousands
 * of page loads whose items say the same few sentences ("no Cross-Origin-Opener-Policy header
 * ..."); a scorecard points at the shared copy instead of holding its own. Bounded: past
 * FCA_INTERN_MAX_STRINGS strings or FCA_INTERN_MAX_BYTES bytes (or for a sentence longer than
 * FCA_INTERN_MAX_LEN) it says NULL and the caller keeps its own copy. Thread-safe. */
#ifndef FCAUDIT_CHECKLIST_INTERN_H
#define FCAUDIT_CHECKLIST_INTERN_H

#include <stddef.h>

#define FCA_INTERN_MAX_STRINGS 4096
#define FCA_INTERN_MAX_BYTES (512 * 1024)
#define FCA_INTERN_MAX_LEN 1024

/* The shared copy of s (equal bytes, stable for the life of the process), or NULL. */
const char *fca_intern(const char *s);

#endif
