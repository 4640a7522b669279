/* util: allocation wrappers that abort on out-of-memory, diagnostic logging to stderr, and
 * parsing of the duration/size units every option uses. No libevent, no sockets: every layer,
 * including the pure audit library, may use it. Logging is thread-safe (one fprintf per line). */
#ifndef FCAUDIT_UTIL_H
#define FCAUDIT_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *fca_xmalloc(size_t n);
void *fca_xcalloc(size_t n, size_t size);
void *fca_xrealloc(void *p, size_t n);
char *fca_xstrdup(const char *s);
char *fca_xstrndup(const char *s, size_t n);
char *fca_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The strings up to a NULL, joined into one new string: what a "%s%s%s" asprintf makes, without
 * the format machinery (for strings built on every request). */
char *fca_xstrcat(const char *first, ...) __attribute__((sentinel));
/* The one out-of-memory path: says what could not be created, then aborts. */
_Noreturn void fca_oom(const char *what);
/* p itself, or fca_oom(what) when p is NULL: for library constructors (evbuffer_new, event_new,
 * BIO_new ...) whose NULL means out of memory. */
static inline void *fca_xcheck(void *p, const char *what) {
  if (!p) fca_oom(what);
  return p;
}

/* A fixed buffer filled piece by piece without the printf machinery (request lines, URLs built
 * per request): fca_sb_put* append what fits and set `cut` when something did not. `p` is always
 * NUL-terminated (cap >= 1). */
typedef struct {
  char *p;
  size_t n, cap;
  bool cut;
} fca_sb_t;
static inline fca_sb_t fca_sb(char *buf, size_t cap) {
  buf[0] = '\0';
  return (fca_sb_t){buf, 0, cap, false};
}
void fca_sb_put(fca_sb_t *b, const char *s, size_t n);
void fca_sb_puts(fca_sb_t *b, const char *s);
void fca_sb_putu(fca_sb_t *b, uint64_t v);

typedef enum {
  FCA_LOG_ERROR = 0,
  FCA_LOG_WARN = 1,
  FCA_LOG_INFO = 2,
  FCA_LOG_DEBUG = 3,
} fca_log_level_t;

void fca_log_set_level(fca_log_level_t level);
fca_log_level_t fca_log_get_level(void);
/* Parses "error|warn|info|debug"; returns -1 on an unknown name. */
int fca_log_level_parse(const char *s, fca_log_level_t *out);
void fca_log(fca_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define fca_err(...) fca_log(FCA_LOG_ERROR, __VA_ARGS__)
#define fca_warn(...) fca_log(FCA_LOG_WARN, __VA_ARGS__)
#define fca_info(...) fca_log(FCA_LOG_INFO, __VA_ARGS__)
#define fca_debug(...)                                                                             \
  do {                                                                                             \
    if (fca_log_get_level() >= FCA_LOG_DEBUG) fca_log(FCA_LOG_DEBUG, __VA_ARGS__);                 \
  } while (0)

/* "250ms", "30s", "2m", "1h"; a bare number is seconds. Returns -1 on bad syntax/overflow. */
int fca_parse_duration_ms(const char *s, uint64_t *out_ms);
/* "256k", "16M", "1G" (binary multiples, optional trailing "iB"/"B"); bare number is bytes. */
int fca_parse_size(const char *s, uint64_t *out_bytes);

/* The error idiom of every layer: a function that can fail takes (char *err, size_t errlen),
 * returns NULL or -1, and writes one line into err with this (err may be NULL or errlen 0). */
void fca_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Levenshtein distance between a[0..la) and b[0..lb) (for "did you mean" suggestions);
 * SIZE_MAX when either is longer than 64. */
size_t fca_edit_distance(const char *a, size_t la, const char *b, size_t lb, bool nocase);

/* Case-insensitive glob with '*' and '?' (for host and URL patterns). */
bool fca_glob_match(const char *pattern, const char *s);

/* Where url's ?query or #fragment starts (its length when it has neither): what is left
 * before it names the resource, not its parameters (src/util/url_query.c). */
size_t fca_url_query_offset(const char *url);
/* url without its ?query and #fragment, malloc'd; NULL for NULL. */
char *fca_url_without_query(const char *url);

/* Milliseconds since the epoch (wall clock) and a monotonic clock in ms. */
int64_t fca_now_ms(void);
int64_t fca_mono_ms(void);

#endif
