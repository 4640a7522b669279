/* Unit tests for sandbox: iframe sandbox keyword lists, intersection and formatting. */
#include "policy.h"

#include <criterion/criterion.h>
#include <string.h>

static fca_sandbox_t sb(const char *v) { return fca_sandbox_parse(v, strlen(v)); }

Test(sandbox, empty_means_everything_sandboxed) {
  fca_sandbox_t s = sb("");
  cr_assert(s.sandboxed);
  cr_assert_eq(s.allow, 0);
  cr_assert_eq(fca_sandbox_missing(s, FCA_SBX_REQUIRED), FCA_SBX_REQUIRED);
  cr_assert_eq(sb(" \t\n").allow, 0);
}

Test(sandbox, tokens) {
  fca_sandbox_t s = sb("allow-scripts allow-popups");
  cr_assert_eq(s.allow, FCA_SBX_ALLOW_SCRIPTS | FCA_SBX_ALLOW_POPUPS);
  cr_assert_eq(fca_sandbox_missing(s, FCA_SBX_REQUIRED),
               FCA_SBX_ALLOW_POPUPS_TO_ESCAPE_SANDBOX | FCA_SBX_ALLOW_SAME_ORIGIN);
  /* ASCII whitespace of any kind, case-insensitive, unknown ignored, duplicates fine */
  s = sb("\tALLOW-SAME-ORIGIN\nallow-bogus\fAllow-Popups-To-Escape-Sandbox\r allow-forms "
         "allow-forms allow-scripts");
  cr_assert_eq(s.allow, FCA_SBX_ALLOW_SAME_ORIGIN | FCA_SBX_ALLOW_POPUPS_TO_ESCAPE_SANDBOX |
                            FCA_SBX_ALLOW_FORMS | FCA_SBX_ALLOW_SCRIPTS);
  cr_assert_eq(fca_sandbox_missing(s, FCA_SBX_REQUIRED), FCA_SBX_ALLOW_POPUPS);
  cr_assert_eq(sb("allow-popups,allow-scripts").allow, 0); /* commas do not separate */
  cr_assert_eq(sb("allow-popups-to-escape").allow, 0);
  cr_assert_eq(sb("allow-top-navigation-by-user-activation allow-modals allow-downloads").allow,
               FCA_SBX_ALLOW_TOP_NAVIGATION_BY_USER_ACTIVATION | FCA_SBX_ALLOW_MODALS |
                   FCA_SBX_ALLOW_DOWNLOADS);
}

Test(sandbox, every_flag_name_round_trips) {
  for (uint32_t bit = 1; bit & FCA_SBX_ALL; bit <<= 1) {
    const char *name = fca_sandbox_flag_name(bit);
    cr_assert_not_null(name);
    cr_assert_eq(sb(name).allow, bit, "%s", name);
  }
  cr_assert_null(fca_sandbox_flag_name(0));
  cr_assert_null(fca_sandbox_flag_name(3));
}

Test(sandbox, not_sandboxed_misses_nothing) {
  cr_assert_eq(fca_sandbox_missing(FCA_SANDBOX_NONE, FCA_SBX_REQUIRED), 0);
}

Test(sandbox, intersect) {
  fca_sandbox_t a = sb("allow-scripts allow-popups allow-same-origin");
  fca_sandbox_t b = sb("allow-scripts allow-popups-to-escape-sandbox allow-popups");
  fca_sandbox_t r = fca_sandbox_intersect(a, b);
  cr_assert(r.sandboxed);
  cr_assert_eq(r.allow, FCA_SBX_ALLOW_SCRIPTS | FCA_SBX_ALLOW_POPUPS);
  r = fca_sandbox_intersect(FCA_SANDBOX_NONE, a);
  cr_assert(r.sandboxed);
  cr_assert_eq(r.allow, a.allow);
  r = fca_sandbox_intersect(b, FCA_SANDBOX_NONE);
  cr_assert_eq(r.allow, b.allow);
  r = fca_sandbox_intersect(FCA_SANDBOX_NONE, FCA_SANDBOX_NONE);
  cr_assert_not(r.sandboxed);
  r = fca_sandbox_intersect(a, sb(""));
  cr_assert(r.sandboxed);
  cr_assert_eq(r.allow, 0);
}

Test(sandbox, format) {
  char buf[128];
  size_t n = fca_sandbox_format(FCA_SBX_ALLOW_SCRIPTS | FCA_SBX_ALLOW_POPUPS, buf, sizeof buf);
  cr_assert_str_eq(buf, "allow-popups allow-scripts");
  cr_assert_eq(n, strlen(buf));
  n = fca_sandbox_format(0, buf, sizeof buf);
  cr_assert_str_eq(buf, "");
  cr_assert_eq(n, 0);
  /* too small: whole names only, still terminated, full length reported */
  n = fca_sandbox_format(FCA_SBX_ALLOW_SCRIPTS | FCA_SBX_ALLOW_POPUPS, buf, 16);
  cr_assert_str_eq(buf, "allow-popups");
  cr_assert_eq(n, strlen("allow-popups allow-scripts"));
  cr_assert_eq(fca_sandbox_format(FCA_SBX_ALLOW_FORMS, NULL, 0), strlen("allow-forms"));
}
