/* verdict: whether the run passes under a --fail-on / --require-tagged policy and the one
 * sentence every output says it in (fcaudit/checklist.h). A finding fails the run when it is new
 * (not in the baseline) and at or above --fail-on; a warning or error that does not fail the
 * run still fails its checklist item, and the sentence says so. */
#include "fcaudit/checklist.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcaudit/util.h"

const char *fca_policy_fail_on_name(const fca_policy_t *p) {
  return p->fail_on == FCA_LEVEL_IGNORE ? "never" : fca_level_name(p->fail_on);
}

bool fca_policy_fails(const fca_policy_t *p, fca_level_t level, bool baseline) {
  return !baseline && p->fail_on != FCA_LEVEL_IGNORE && level >= p->fail_on;
}

void fca_verdict_decide(const fca_policy_t *p, const fca_verdict_finding_t *fs, size_t n,
                        size_t npages, fca_verdict_t *v) {
  memset(v, 0, sizeof *v);
  v->pages = npages;
  bool *standing = fca_xcalloc(npages + 1, sizeof *standing);
  bool *failing = fca_xcalloc(npages + 1, sizeof *failing);
  for (size_t i = 0; i < n; i++) {
    const fca_verdict_finding_t *f = &fs[i];
    if (f->level < FCA_LEVEL_IGNORE || f->level > FCA_LEVEL_ERROR) continue;
    v->by_level[f->level]++;
    v->occurrences[f->level] += f->count;
    if (f->baseline) v->known++;
    if (fca_policy_fails(p, f->level, f->baseline)) {
      v->failing++;
      if (f->page < npages && !failing[f->page]) failing[f->page] = true, v->failing_pages++;
    } else if (f->level >= FCA_LEVEL_WARNING && f->item >= 1 && f->item <= FCA_CHECKLIST_ITEMS) {
      v->standing[f->level]++;
      if (f->page < npages && !standing[f->page]) standing[f->page] = true, v->standing_pages++;
    }
  }
  free(standing);
  free(failing);
  v->too_few_tagged = npages < p->require_tagged;
  v->fail = v->failing > 0 || v->too_few_tagged;
}

static const char *plural(size_t n, const char *one, const char *many) {
  return n == 1 ? one : many;
}

/* Appends to a fixed buffer; text past its end is cut. */
static void add(char *buf, size_t cap, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add(char *buf, size_t cap, size_t *n, const char *fmt, ...) {
  if (*n >= cap) return;
  va_list ap;
  va_start(ap, fmt);
  int r = vsnprintf(buf + *n, cap - *n, fmt, ap);
  va_end(ap);
  if (r > 0) *n += (size_t)r;
}

char *fca_verdict_sentence(const fca_policy_t *p, const fca_verdict_t *v) {
  const char *lvl = fca_policy_fail_on_name(p);
  char b[1024];
  size_t n = 0, c = sizeof b;
  add(b, c, &n, "%s at --fail-on %s", v->fail ? "fail" : "pass", lvl);
  const char *sep = ": ";
  if (v->failing) {
    add(b, c, &n, "%s%zu new %s at or above %s on %zu %s", sep, v->failing,
        plural(v->failing, "finding", "findings"), lvl, v->failing_pages,
        plural(v->failing_pages, "page", "pages"));
    sep = "; ";
  }
  if (v->too_few_tagged)
    add(b, c, &n, "%s%zu tagged %s, fewer than --require-tagged %llu", sep, v->pages,
        plural(v->pages, "page", "pages"), (unsigned long long)p->require_tagged);
  size_t se = v->standing[FCA_LEVEL_ERROR], sw = v->standing[FCA_LEVEL_WARNING];
  if (se + sw) {
    add(b, c, &n, "; %s", v->failing ? "also " : "");
    if (se) add(b, c, &n, "%zu %s", se, plural(se, "error", "errors"));
    if (se && sw) add(b, c, &n, " and ");
    if (sw) add(b, c, &n, "%zu %s", sw, plural(sw, "warning", "warnings"));
    add(b, c, &n, " on %zu %s %s", v->standing_pages, plural(v->standing_pages, "page", "pages"),
        se + sw == 1 ? "fails its checklist item" : "fail their checklist item");
  } else if (!v->failing && v->pages) {
    add(b, c, &n, "; no page fails a checklist item");
  }
  if (v->pages == 0) add(b, c, &n, "; no page loaded Stripe.js, so nothing was audited");
  return fca_xstrdup(b);
}
