#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_assets.h"

static char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *p = malloc((size_t)len + 1);
  *n = fread(p, 1, (size_t)len, f);
  p[*n] = '\0';
  fclose(f);
  return p;
}

Test(admin_assets, embedded_copy_matches_the_files) {
  cr_assert_geq(fca_admin_nassets, 6);
  for (size_t i = 0; i < fca_admin_nassets; i++) {
    const fca_admin_asset_t *a = &fca_admin_assets[i];
    char path[512];
    snprintf(path, sizeof path, "%s/src/admin/assets/%s", FCA_TEST_SRCDIR, a->name);
    size_t n = 0;
    char *disk = slurp(path, &n);
    cr_assert_not_null(disk, "%s is embedded but missing on disk", path);
    cr_assert(n == a->len && memcmp(disk, a->data, n) == 0,
              "src/admin/assets.c is stale for %s: run tools/embed/embed", a->name);
    free(disk);
  }
}

Test(admin_assets, find) {
  cr_assert_not_null(fca_admin_asset_find("index.html"));
  cr_assert_str_eq(fca_admin_asset_find("app.js")->type, "text/javascript; charset=utf-8");
  cr_assert_null(fca_admin_asset_find("../ca.key"));
  cr_assert_null(fca_admin_asset_find(""));
}

/* The pages must work offline and under the admin's CSP (script-src 'self', no inline). */
Test(admin_assets, pages_load_nothing_external_and_nothing_inline) {
  const char *pages[] = {"index.html", "ca.html"};
  for (size_t i = 0; i < 2; i++) {
    const fca_admin_asset_t *a = fca_admin_asset_find(pages[i]);
    cr_assert_not_null(a);
    for (const char *p = a->data; (p = strstr(p, "<script")); p++) {
      const char *end = strchr(p, '>');
      cr_assert(end && memmem(p, (size_t)(end - p), "src=\"/assets/", 13),
                "%s: inline or external script", pages[i]);
    }
    cr_assert_null(strstr(a->data, "src=\"http"), "%s", pages[i]);
    cr_assert_null(strstr(a->data, "href=\"http"), "%s", pages[i]);
    cr_assert_null(strstr(a->data, "style=\""), "%s: inline style", pages[i]);
    for (const char *p = a->data; (p = strstr(p, " on")); p++) {
      const char *q = p + 3;
      while (*q >= 'a' && *q <= 'z') q++;
      cr_assert(q == p + 3 || *q != '=', "%s: inline handler at %.20s", pages[i], p);
    }
  }
}

/* Data from traffic reaches the page only as text: no HTML-parsing sinks in the scripts. */
Test(admin_assets, scripts_never_parse_html) {
  const char *bad[] = {"innerHTML", "outerHTML",    "insertAdjacentHTML",      "document.write",
                       "eval(",     "new Function", "createContextualFragment"};
  for (size_t i = 0; i < fca_admin_nassets; i++) {
    const fca_admin_asset_t *a = &fca_admin_assets[i];
    if (!strstr(a->name, ".js")) continue;
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
      cr_assert_null(strstr(a->data, bad[k]), "%s uses %s", a->name, bad[k]);
  }
}
