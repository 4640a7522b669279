/* util: allocation wrappers, stderr logging, unit parsing and globbing shared by every layer.
 * Small allocations never fail from the caller's point of view: out-of-memory aborts here, once,
 * with a message. Log lines are written with one fprintf so threads never interleave within one. */
#include "fcaudit/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile int log_level = FCA_LOG_INFO;

static void oom(size_t n) {
  fprintf(stderr, "fcaudit: out of memory allocating %zu bytes\n", n);
  abort();
}

_Noreturn void fca_oom(const char *what) {
  fprintf(stderr, "fcaudit: out of memory creating %s\n", what);
  abort();
}

void *fca_xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) oom(n);
  return p;
}

void *fca_xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) oom(n * size);
  return p;
}

void *fca_xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) oom(n);
  return q;
}

char *fca_xstrdup(const char *s) { return fca_xstrndup(s, strlen(s)); }

char *fca_xstrndup(const char *s, size_t n) {
  char *p = fca_xmalloc(n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

void fca_sb_put(fca_sb_t *b, const char *s, size_t n) {
  size_t room = b->cap - 1 - b->n;
  if (n > room) {
    n = room;
    b->cut = true;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = '\0';
}

void fca_sb_puts(fca_sb_t *b, const char *s) { fca_sb_put(b, s, strlen(s)); }

void fca_sb_putu(fca_sb_t *b, uint64_t v) {
  char d[20];
  size_t i = sizeof d;
  do d[--i] = (char)('0' + v % 10);
  while (v /= 10);
  fca_sb_put(b, d + i, sizeof d - i);
}

char *fca_xstrcat(const char *first, ...) {
  va_list ap;
  size_t n = 0;
  va_start(ap, first);
  for (const char *p = first; p; p = va_arg(ap, const char *)) n += strlen(p);
  va_end(ap);
  char *out = fca_xmalloc(n + 1), *d = out;
  va_start(ap, first);
  for (const char *p = first; p; p = va_arg(ap, const char *)) {
    size_t k = strlen(p);
    memcpy(d, p, k);
    d += k;
  }
  va_end(ap);
  *d = '\0';
  return out;
}

char *fca_xasprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) oom(0);
  char *p = fca_xmalloc((size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(p, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return p;
}

void fca_log_set_level(fca_log_level_t level) { log_level = (int)level; }
fca_log_level_t fca_log_get_level(void) { return (fca_log_level_t)log_level; }

int fca_log_level_parse(const char *s, fca_log_level_t *out) {
  static const char *names[] = {"error", "warn", "info", "debug"};
  for (int i = 0; i < 4; i++) {
    if (strcasecmp(s, names[i]) == 0) {
      *out = (fca_log_level_t)i;
      return 0;
    }
  }
  if (strcasecmp(s, "warning") == 0) {
    *out = FCA_LOG_WARN;
    return 0;
  }
  return -1;
}

void fca_log(fca_log_level_t level, const char *fmt, ...) {
  if ((int)level > log_level) return;
  static const char *tags[] = {"error", "warn", "info", "debug"};
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "fcaudit: %s: %s\n", tags[level], msg);
}

static int parse_number(const char *s, uint64_t *out, const char **rest) {
  if (!isdigit((unsigned char)*s)) return -1;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno) return -1;
  *out = v;
  *rest = end;
  return 0;
}

static int mul_checked(uint64_t v, uint64_t m, uint64_t *out) {
  if (m && v > UINT64_MAX / m) return -1;
  *out = v * m;
  return 0;
}

int fca_parse_duration_ms(const char *s, uint64_t *out_ms) {
  uint64_t v;
  const char *u;
  if (!s || parse_number(s, &v, &u) < 0) return -1;
  uint64_t m;
  if (*u == '\0' || strcmp(u, "s") == 0)
    m = 1000;
  else if (strcmp(u, "ms") == 0)
    m = 1;
  else if (strcmp(u, "m") == 0 || strcmp(u, "min") == 0)
    m = 60000;
  else if (strcmp(u, "h") == 0)
    m = 3600000;
  else
    return -1;
  return mul_checked(v, m, out_ms);
}

int fca_parse_size(const char *s, uint64_t *out_bytes) {
  uint64_t v;
  const char *u;
  if (!s || parse_number(s, &v, &u) < 0) return -1;
  uint64_t m = 1;
  switch (*u) {
  case '\0': return mul_checked(v, 1, out_bytes);
  case 'k':
  case 'K': m = 1024ULL; break;
  case 'm':
  case 'M': m = 1024ULL * 1024; break;
  case 'g':
  case 'G': m = 1024ULL * 1024 * 1024; break;
  case 'b':
  case 'B':
    if (u[1] == '\0') return mul_checked(v, 1, out_bytes);
    return -1;
  default: return -1;
  }
  u++;
  if (*u && strcmp(u, "B") && strcmp(u, "iB") && strcmp(u, "b")) return -1;
  return mul_checked(v, m, out_bytes);
}

bool fca_glob_match(const char *p, const char *s) {
  const char *star = NULL, *ss = NULL;
  while (*s) {
    if (*p == '*') {
      star = p++;
      ss = s;
    } else if (*p == '?' || (*p && tolower((unsigned char)*p) == tolower((unsigned char)*s))) {
      p++;
      s++;
    } else if (star) {
      p = star + 1;
      s = ++ss;
    } else {
      return false;
    }
  }
  while (*p == '*') p++;
  return *p == '\0';
}

int64_t fca_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t fca_mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void fca_seterr(char *err, size_t errlen, const char *fmt, ...) {
  if (!err || errlen == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

size_t fca_edit_distance(const char *a, size_t la, const char *b, size_t lb, bool nocase) {
  enum { MAXL = 64 };
  if (la > MAXL || lb > MAXL) return SIZE_MAX;
  size_t row[MAXL + 1];
  for (size_t j = 0; j <= lb; j++) row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      char x = a[i - 1], y = b[j - 1];
      if (nocase) {
        x = (char)tolower((unsigned char)x);
        y = (char)tolower((unsigned char)y);
      }
      size_t best = diag + (x != y);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}
