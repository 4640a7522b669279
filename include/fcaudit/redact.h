/* redact: secrets inside URLs that fcaudit prints or logs. A userinfo password
 * ("scheme://user:PASSWORD@host") is never shown; with --redact-query the ?query and #fragment
 * of every URL go too. Works on free text (an error message's quoted target, an evidence value)
 * by finding each URL in it. Pure: no allocation beyond the result. */
#ifndef FCAUDIT_REDACT_H
#define FCAUDIT_REDACT_H

#include <stdbool.h>
#include <stddef.h>

/* A copy of s[0..n) (malloc'd, NUL-terminated, length in *out_len unless NULL) where every
 * URL ("scheme://...") has its password replaced by "***" and, when strip_query, its ?query
 * and #fragment removed; NULL when nothing had to change. */
char *fca_redact_text(const char *s, size_t n, bool strip_query, size_t *out_len);
/* A request target s[0..n) (absolute URL, or authority such as CONNECT's, with or without
 * userinfo) redacted the same way; always a malloc'd copy. */
char *fca_redact_target(const char *s, size_t n, bool strip_query);

#endif
