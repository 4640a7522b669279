/* audit_noop: a placeholder audit engine that inspects nothing, so the proxy wiring builds and
 * runs until the real engine (src/audit/audit.c) lands; removed then. */
#include "fcaudit/audit.h"
#include <stdlib.h>
#include <string.h>
struct fca_audit {
  int x;
};
struct fca_audit_exchange {
  int y;
};
fca_audit_t *fca_audit_new(const fca_audit_opts_t *o) {
  (void)o;
  return calloc(1, sizeof(fca_audit_t));
}
void fca_audit_free(fca_audit_t *a) { free(a); }
fca_audit_exchange_t *fca_audit_begin(fca_audit_t *a, const fca_audit_request_t *r) {
  (void)a;
  (void)r;
  return calloc(1, sizeof(fca_audit_exchange_t));
}
void fca_audit_response_head(fca_audit_exchange_t *x, int s, const fca_audit_header_t *h,
                             size_t n) {
  (void)x;
  (void)s;
  (void)h;
  (void)n;
}
void fca_audit_response_body(fca_audit_exchange_t *x, const void *d, size_t n) {
  (void)x;
  (void)d;
  (void)n;
}
void fca_audit_response_end(fca_audit_exchange_t *x, bool c) {
  (void)x;
  (void)c;
}
void fca_audit_exchange_free(fca_audit_exchange_t *x) { free(x); }
bool fca_audit_wants_body(const fca_audit_exchange_t *x) {
  (void)x;
  return true;
}
void fca_audit_finish(fca_audit_t *a) { (void)a; }

void fca_audit_stats(fca_audit_t *a, fca_audit_stats_t *out) {
  (void)a;
  memset(out, 0, sizeof *out);
}
