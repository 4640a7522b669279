/* items: the checklist items' titles, the names of an item's states, and how an item's state on
 * a page is decided and said (fcaudit/checklist.h): by the engine while it judges the page, by
 * the rules' scope when nothing decided it, and last by the page's findings. */
#include "fcaudit/checklist.h"

#include <stdlib.h>
#include <string.h>

#include "fcaudit/util.h"
#include "intern.h"

const char *fca_item_status_name(fca_item_status_t s) {
  switch (s) {
  case FCA_ITEM_PASS: return "pass";
  case FCA_ITEM_FAIL: return "fail";
  default: return "n/a";
  }
}

bool fca_item_status_parse(const char *s, fca_item_status_t *out) {
  if (!s) return false;
  if (strcmp(s, "pass") == 0)
    *out = FCA_ITEM_PASS;
  else if (strcmp(s, "fail") == 0)
    *out = FCA_ITEM_FAIL;
  else if (!strcmp(s, "n/a") || !strcmp(s, "na") || !strcmp(s, "not-applicable"))
    *out = FCA_ITEM_NA;
  else
    return false;
  return true;
}

const char *fca_item_title(int item) {
  switch (item) {
  case 1: return "Cross-Origin-Opener-Policy allows the bank popup";
  case 2: return "Referrer policy sends a Referer to other origins";
  case 3: return "Sandbox lets the popup escape";
  case 4: return "Tested in test mode first";
  default: return "Beyond the checklist";
  }
}

/* The item's words become the shared copy, else its own copy (either may be NULL: no words).
 * Callers make both before this releases the old words, which may be what they copied. */
static void assign(fca_item_result_t *r, fca_item_status_t status, const char *shared,
                   char *owned) {
  if (!r->why_shared) free((char *)r->why);
  r->status = status;
  r->why = shared ? shared : owned;
  r->why_shared = shared != NULL;
}

/* why (malloc'd) becomes the item's: the shared copy of its sentence when there is one. */
static void set_owned(fca_item_result_t *r, fca_item_status_t status, char *why) {
  const char *shared = fca_intern(why);
  if (shared) {
    free(why);
    why = NULL;
  }
  assign(r, status, shared, why);
}

void fca_item_set(fca_item_result_t *r, fca_item_status_t status, const char *why) {
  const char *shared = fca_intern(why);
  assign(r, status, shared, shared || !why ? NULL : fca_xstrdup(why));
}

void fca_item_copy(fca_item_result_t *dst, const fca_item_result_t *src) {
  if (dst == src) return;
  if (src->why_shared)
    assign(dst, src->status, src->why, NULL);
  else
    fca_item_set(dst, src->status, src->why);
}

void fca_item_clear(fca_item_result_t *r) { assign(r, FCA_ITEM_NA, NULL, NULL); }

void fca_item_fail_by(fca_item_result_t *r, const char *rule_id, const char *message) {
  if (r->status == FCA_ITEM_FAIL) return; /* the first failing finding keeps the words */
  set_owned(r, FCA_ITEM_FAIL, fca_xasprintf("%s: %s", rule_id, message ? message : ""));
}

void fca_item_pass_by(fca_item_result_t *r, const char *why) {
  if (r->status == FCA_ITEM_NA) fca_item_set(r, FCA_ITEM_PASS, why);
}

const char *fca_item_undecided_why(int item, bool top_level) {
  switch (item) {
  case 1: return top_level ? "not evaluated" : "top-level page not known";
  case 2:
    return top_level ? "referrer policy not judged (opaque origin: see item 3)"
                     : "framed page: the referrer policy is judged on the top-level page";
  case 3:
    return top_level ? "not framed, no CSP sandbox"
                     : "iframe not seen in a parent's HTML (created by script?): sandbox unknown";
  default: return FCA_ITEM4_NO_KEY;
  }
}

void fca_item_nothing_found(fca_item_result_t *r, int item, bool top_level) {
  switch (item) {
  case 1:
    fca_item_set(r, FCA_ITEM_PASS,
                 top_level ? "no Cross-Origin-Opener-Policy finding"
                           : "no Cross-Origin-Opener-Policy finding on its top-level page");
    break;
  case 2:
    if (top_level)
      fca_item_set(r, FCA_ITEM_PASS, "no referrer policy finding");
    else
      fca_item_set(r, FCA_ITEM_NA, fca_item_undecided_why(2, false));
    break;
  case 3:
    if (top_level)
      fca_item_set(r, FCA_ITEM_NA, fca_item_undecided_why(3, true));
    else
      fca_item_set(r, FCA_ITEM_PASS, "no sandbox finding");
    break;
  default: fca_item_set(r, FCA_ITEM_NA, FCA_ITEM4_NO_KEY); break;
  }
}

int fca_item_status_rank(fca_item_status_t s) {
  return s == FCA_ITEM_FAIL ? 2 : s == FCA_ITEM_PASS ? 1 : 0;
}

void fca_item_apply_findings(fca_item_result_t *r, size_t nfail, const char *worst_rule,
                             const char *worst_message, size_t ninfo) {
  if (nfail) {
    /* A failing item says its sentence once: the worst finding's rule and message; the
     * findings themselves are listed beside it by each output. */
    char *why = fca_xasprintf("%s: %s", worst_rule, worst_message ? worst_message : "");
    if (nfail > 1) {
      char *more =
          fca_xasprintf("%s (and %zu more finding%s)", why, nfail - 1, nfail == 2 ? "" : "s");
      free(why);
      why = more;
    }
    set_owned(r, FCA_ITEM_FAIL, why);
  } else if (ninfo) {
    set_owned(r, r->status,
              fca_xasprintf("%s (%zu info finding%s)", r->why ? r->why : "", ninfo,
                            ninfo == 1 ? "" : "s"));
  }
}
