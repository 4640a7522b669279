/* Unit tests for ruleset: the rule catalogue, the rules-file parser and level precedence. */
#include "fcaudit/ruleset.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct {
  const char *id;
  fca_level_t level;
  int item;
  fca_rule_scope_t scope;
} table[] = {
    {"FC-COOP-1", FCA_LEVEL_ERROR, 1, FCA_SCOPE_TOP_LEVEL},
    {"FC-COOP-2", FCA_LEVEL_WARNING, 1, FCA_SCOPE_TOP_LEVEL},
    {"FC-COOP-3", FCA_LEVEL_WARNING, 1, FCA_SCOPE_TOP_LEVEL},
    {"FC-COOP-4", FCA_LEVEL_ERROR, 1, FCA_SCOPE_FRAMED},
    {"FC-REF-1", FCA_LEVEL_ERROR, 2, FCA_SCOPE_TOP_LEVEL},
    {"FC-REF-2", FCA_LEVEL_WARNING, 2, FCA_SCOPE_TOP_LEVEL},
    {"FC-REF-3", FCA_LEVEL_WARNING, 2, FCA_SCOPE_TOP_LEVEL},
    {"FC-REF-4", FCA_LEVEL_INFO, 2, FCA_SCOPE_TOP_LEVEL},
    {"FC-SBX-1", FCA_LEVEL_ERROR, 3, FCA_SCOPE_FRAMED},
    {"FC-SBX-2", FCA_LEVEL_ERROR, 3, FCA_SCOPE_FRAMED},
    {"FC-SBX-3", FCA_LEVEL_ERROR, 3, FCA_SCOPE_PAGE},
    {"FC-SBX-4", FCA_LEVEL_ERROR, 3, FCA_SCOPE_PAGE},
    {"FC-SBX-5", FCA_LEVEL_ERROR, 3, FCA_SCOPE_PAGE},
    {"FC-ISO-1", FCA_LEVEL_WARNING, 0, FCA_SCOPE_PAGE},
    {"FC-TEST-1", FCA_LEVEL_WARNING, 4, FCA_SCOPE_PAGE},
    {"FC-TEST-2", FCA_LEVEL_INFO, 4, FCA_SCOPE_SUMMARY},
    {"FC-CSP-1", FCA_LEVEL_ERROR, 0, FCA_SCOPE_PAGE},
    {"FC-CSP-2", FCA_LEVEL_ERROR, 0, FCA_SCOPE_PAGE},
    {"FC-CSP-3", FCA_LEVEL_ERROR, 0, FCA_SCOPE_PAGE},
    {"FC-CSP-4", FCA_LEVEL_WARNING, 0, FCA_SCOPE_PAGE},
};

Test(ruleset, catalogue_matches_rules_md) {
  cr_assert_eq(fca_rule_count(), sizeof table / sizeof table[0]);
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    const fca_rule_info_t *r = fca_rule_lookup(table[i].id);
    cr_assert_not_null(r, "%s", table[i].id);
    cr_assert_eq(r, fca_rule_get(r->rule));
    cr_assert_eq((size_t)r->rule, i, "%s in table order", table[i].id);
    cr_assert_str_eq(r->id, table[i].id);
    cr_assert_eq(r->level, table[i].level, "%s level", r->id);
    cr_assert_eq(r->item, table[i].item, "%s item", r->id);
    cr_assert_eq(r->scope, table[i].scope, "%s scope", r->id);
    cr_assert(r->title && *r->title && r->message && *r->message && r->fix && *r->fix);
    cr_assert_null(strchr(r->message, '\n'));
    cr_assert_null(strchr(r->fix, '\n'));
    cr_assert_str_eq(r->doc, FCA_RULES_DOC_URL);
    cr_assert_eq(fca_ruleset_level(NULL, r->id, "https://a.test/"), table[i].level);
  }
  cr_assert_null(fca_rule_get(FCA_RULE_COUNT));
  cr_assert_null(fca_rule_lookup("fc-coop-1")); /* ids are case-sensitive */
  cr_assert_null(fca_rule_lookup("FC-COOP-9"));
  cr_assert_null(fca_rule_lookup(NULL));
  cr_assert_str_eq(fca_rule_scope_name(FCA_SCOPE_TOP_LEVEL), "top-level");
  cr_assert_str_eq(fca_rule_scope_name(FCA_SCOPE_SUMMARY), "summary");
}

Test(ruleset, message_template) {
  char *m = fca_rule_message(fca_rule_get(FCA_RULE_REF_1), "no-referrer");
  cr_assert_not_null(strstr(m, "is no-referrer:"), "%s", m);
  cr_assert_null(strstr(m, "{value}"));
  free(m);
  m = fca_rule_message(fca_rule_get(FCA_RULE_SBX_5), NULL);
  cr_assert_not_null(strstr(m, "Sandboxed () without allow-scripts"), "%s", m);
  free(m);
  for (size_t i = 0; i < fca_rule_count(); i++) {
    m = fca_rule_message(fca_rule_get((fca_rule_id_t)i), "VALUE");
    cr_assert_not_null(strstr(m, "VALUE"), "%s has a {value}", fca_rule_get(i)->id);
    free(m);
  }
}

static int load(fca_ruleset_t *rs, const char *text, char *err, size_t errlen) {
  return fca_ruleset_load_string(rs, text, strlen(text), "rules.txt", err, errlen);
}

Test(ruleset, file_syntax) {
  fca_ruleset_t *rs = fca_ruleset_new();
  char err[512] = "";
  int rc = load(rs,
                "# comment line\n"
                "\n"
                "   \t  \n"
                "FC-COOP-1 warning\n"
                "  FC-REF-4\tignore   # trailing comment\n"
                "FC-SBX-1 info https://shop.test/*\r\n"
                "FC-ISO-1 ERROR\n"
                "FC-TEST-1 info #https://x.test/*",
                err, sizeof err);
  cr_assert_eq(rc, 0, "%s", err);
  cr_assert_eq(fca_ruleset_level(rs, "FC-COOP-1", "https://a.test/"), FCA_LEVEL_WARNING);
  cr_assert_eq(fca_ruleset_level(rs, "FC-REF-4", "https://a.test/"), FCA_LEVEL_IGNORE);
  cr_assert_eq(fca_ruleset_level(rs, "FC-SBX-1", "https://shop.test/pay"), FCA_LEVEL_INFO);
  cr_assert_eq(fca_ruleset_level(rs, "FC-SBX-1", "https://other.test/pay"), FCA_LEVEL_ERROR);
  cr_assert_eq(fca_ruleset_level(rs, "FC-ISO-1", NULL), FCA_LEVEL_ERROR);
  cr_assert_eq(fca_ruleset_level(rs, "FC-TEST-1", "https://q.test/"), FCA_LEVEL_INFO);
  cr_assert_eq(fca_ruleset_level(rs, "FC-REF-1", "https://a.test/"), FCA_LEVEL_ERROR);
  cr_assert_eq(fca_ruleset_level(rs, "NOPE", "https://a.test/"), FCA_LEVEL_IGNORE);
  cr_assert_eq(load(rs, "", err, sizeof err), 0);
  fca_ruleset_free(rs);
}

static void load_fails(const char *text, const char *expect) {
  fca_ruleset_t *rs = fca_ruleset_new();
  char err[512] = "";
  cr_assert_eq(load(rs, text, err, sizeof err), -1, "should fail: %s", text);
  cr_assert_str_eq(err, expect);
  fca_ruleset_free(rs);
}

Test(ruleset, file_errors_with_line_numbers) {
  load_fails("# ok\nFC-COOP-1 error\nFC-COP-1 error\n",
             "rules.txt:3: unknown rule id 'FC-COP-1' (did you mean FC-COOP-1 or FC-CSP-1?)");
  load_fails("fc-ref-1 warning",
             "rules.txt:1: unknown rule id 'fc-ref-1' (did you mean FC-REF-1?)");
  load_fails("\n\nCOOP-3 info", "rules.txt:3: unknown rule id 'COOP-3' (did you mean FC-COOP-3?)");
  load_fails("FC-SBX-9 info",
             "rules.txt:1: unknown rule id 'FC-SBX-9' (did you mean FC-SBX-1 or FC-SBX-2 or "
             "FC-SBX-3 or FC-SBX-4 or FC-SBX-5?)");
  load_fails("LOUD-RULE error", "rules.txt:1: unknown rule id 'LOUD-RULE'");
  load_fails("FC-REF-1 warn\n",
             "rules.txt:1: bad level 'warn' for FC-REF-1 (expected ignore, info, warning or "
             "error)");
  load_fails("FC-REF-1\n",
             "rules.txt:1: missing level after FC-REF-1 (expected ignore, info, warning or "
             "error)");
  load_fails("FC-REF-1 # no level\n",
             "rules.txt:1: missing level after FC-REF-1 (expected ignore, info, warning or "
             "error)");
  load_fails("FC-REF-1 error\nFC-REF-2 error https://a.test/* extra\n",
             "rules.txt:2: extra field 'extra' (expected RULE-ID LEVEL [URL-GLOB])");
  load_fails("FC-REF-1 error\r\nFC-REF-2 err\r\n",
             "rules.txt:2: bad level 'err' for FC-REF-2 (expected ignore, info, warning or "
             "error)");
}

Test(ruleset, file_errors_are_all_or_nothing) {
  fca_ruleset_t *rs = fca_ruleset_new();
  char err[256];
  cr_assert_eq(load(rs, "FC-COOP-1 info\nFC-BAD-1 info\n", err, sizeof err), -1);
  cr_assert_eq(fca_ruleset_level(rs, "FC-COOP-1", "https://a.test/"), FCA_LEVEL_ERROR);
  fca_ruleset_free(rs);
}

Test(ruleset, nul_byte_rejected) {
  fca_ruleset_t *rs = fca_ruleset_new();
  char err[256];
  const char text[] = "FC-COOP-1 info\nFC-REF-1\0 info\n";
  cr_assert_eq(fca_ruleset_load_string(rs, text, sizeof text - 1, "r", err, sizeof err), -1);
  cr_assert_str_eq(err, "r:2: NUL byte in the rules file");
  fca_ruleset_free(rs);
}

Test(ruleset, last_matching_line_wins) {
  fca_ruleset_t *rs = fca_ruleset_new();
  char err[256];
  cr_assert_eq(load(rs,
                    "FC-COOP-1 warning\n"
                    "FC-COOP-1 ignore https://*.shop.test/*\n"
                    "FC-COOP-1 info https://admin.shop.test/*\n"
                    "FC-REF-1 ignore https://a.test/*\n"
                    "FC-REF-1 warning\n",
                    err, sizeof err),
               0, "%s", err);
  cr_assert_eq(fca_ruleset_level(rs, "FC-COOP-1", "https://x.test/"), FCA_LEVEL_WARNING);
  cr_assert_eq(fca_ruleset_level(rs, "FC-COOP-1", "https://www.shop.test/a"), FCA_LEVEL_IGNORE);
  cr_assert_eq(fca_ruleset_level(rs, "FC-COOP-1", "https://admin.shop.test/a"), FCA_LEVEL_INFO);
  cr_assert_eq(fca_ruleset_level(rs, "FC-COOP-1", "HTTPS://WWW.SHOP.TEST/a"), FCA_LEVEL_IGNORE);
  cr_assert_eq(fca_ruleset_level(rs, "FC-COOP-1", NULL), FCA_LEVEL_WARNING); /* no page */
  /* a later global line beats an earlier URL-specific one */
  cr_assert_eq(fca_ruleset_level(rs, "FC-REF-1", "https://a.test/x"), FCA_LEVEL_WARNING);
  /* a second file's lines come after the first's */
  cr_assert_eq(load(rs, "FC-REF-1 info https://a.test/*\n", err, sizeof err), 0);
  cr_assert_eq(fca_ruleset_level(rs, "FC-REF-1", "https://a.test/x"), FCA_LEVEL_INFO);
  cr_assert_eq(fca_ruleset_level(rs, "FC-REF-1", "https://b.test/x"), FCA_LEVEL_WARNING);
  cr_assert_eq(fca_ruleset_level_of(rs, FCA_RULE_REF_1, "https://a.test/x"), FCA_LEVEL_INFO);
  cr_assert_eq(fca_ruleset_level_of(rs, FCA_RULE_COUNT, "https://a.test/x"), FCA_LEVEL_IGNORE);
  fca_ruleset_free(rs);
}

Test(ruleset, cli_wins_over_file) {
  fca_ruleset_t *rs = fca_ruleset_new();
  char err[256];
  cr_assert_eq(fca_ruleset_apply_cli(rs, "FC-COOP-1=info", err, sizeof err), 0, "%s", err);
  cr_assert_eq(load(rs, "FC-COOP-1 ignore\nFC-COOP-1 warning https://a.test/*\n", err, sizeof err),
               0);
  cr_assert_eq(fca_ruleset_level(rs, "FC-COOP-1", "https://a.test/"), FCA_LEVEL_INFO);
  cr_assert_eq(fca_ruleset_level(rs, "FC-COOP-1", NULL), FCA_LEVEL_INFO);
  cr_assert_eq(fca_ruleset_apply_cli(rs, "FC-COOP-1=ignore", err, sizeof err), 0);
  cr_assert_eq(fca_ruleset_level(rs, "FC-COOP-1", "https://a.test/"), FCA_LEVEL_IGNORE);
  cr_assert_eq(fca_ruleset_apply_cli(rs, "FC-TEST-2=Error", err, sizeof err), 0);
  cr_assert_eq(fca_ruleset_level(rs, "FC-TEST-2", NULL), FCA_LEVEL_ERROR);
  fca_ruleset_free(rs);
}

Test(ruleset, cli_errors) {
  fca_ruleset_t *rs = fca_ruleset_new();
  char err[256];
  cr_assert_eq(fca_ruleset_apply_cli(rs, "FC-COOP-1", err, sizeof err), -1);
  cr_assert_str_eq(err, "'FC-COOP-1': expected RULE-ID=LEVEL");
  cr_assert_eq(fca_ruleset_apply_cli(rs, "FC-COOP1=error", err, sizeof err), -1);
  cr_assert_str_eq(err, "'FC-COOP1=error': unknown rule id 'FC-COOP1' (did you mean FC-COOP-1?)");
  cr_assert_eq(fca_ruleset_apply_cli(rs, "FC-COOP-1=loud", err, sizeof err), -1);
  cr_assert_str_eq(err,
                   "'FC-COOP-1=loud': bad level 'loud' (expected ignore, info, warning or error)");
  cr_assert_eq(fca_ruleset_apply_cli(rs, "FC-COOP-1=", err, sizeof err), -1);
  cr_assert_eq(fca_ruleset_apply_cli(rs, "=error", err, sizeof err), -1);
  cr_assert_eq(fca_ruleset_level(rs, "FC-COOP-1", NULL), FCA_LEVEL_ERROR);
  fca_ruleset_free(rs);
}

Test(ruleset, load_file) {
  char path[] = "/tmp/fca-rules-XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  const char text[] = "FC-SBX-3 warning\nFC-SBX-4 nope\n";
  cr_assert_eq(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
  close(fd);
  fca_ruleset_t *rs = fca_ruleset_new();
  char err[512], expect[512];
  cr_assert_eq(fca_ruleset_load_file(rs, path, err, sizeof err), -1);
  snprintf(expect, sizeof expect,
           "%s:2: bad level 'nope' for FC-SBX-4 (expected ignore, info, warning or error)", path);
  cr_assert_str_eq(err, expect);
  FILE *fp = fopen(path, "w");
  fputs("FC-SBX-3 warning\n", fp);
  fclose(fp);
  cr_assert_eq(fca_ruleset_load_file(rs, path, err, sizeof err), 0, "%s", err);
  cr_assert_eq(fca_ruleset_level(rs, "FC-SBX-3", "https://a.test/"), FCA_LEVEL_WARNING);
  unlink(path);
  cr_assert_eq(fca_ruleset_load_file(rs, path, err, sizeof err), -1);
  cr_assert_not_null(strstr(err, "No such file"), "%s", err);
  fca_ruleset_free(rs);
}

Test(ruleset, file_size_cap) {
  char path[] = "/tmp/fca-rules-XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  FILE *fp = fdopen(fd, "w");
  for (size_t n = 0; n <= FCA_RULESET_FILE_MAX; n += 8) fputs("#......\n", fp);
  fclose(fp);
  fca_ruleset_t *rs = fca_ruleset_new();
  char err[512];
  cr_assert_eq(fca_ruleset_load_file(rs, path, err, sizeof err), -1);
  cr_assert_not_null(strstr(err, "larger than"), "%s", err);
  cr_assert_eq(truncate(path, FCA_RULESET_FILE_MAX), 0); /* exactly at the cap: accepted */
  cr_assert_eq(fca_ruleset_load_file(rs, path, err, sizeof err), 0, "%s", err);
  unlink(path);
  fca_ruleset_free(rs);
}

/* docs/rules.md stays in step: a section per rule, and every rules-file example loads. */
Test(ruleset, docs_match_catalogue) {
  FILE *fp = fopen(FCA_TEST_SRCDIR "/docs/rules.md", "r");
  cr_assert_not_null(fp);
  char *doc = calloc(1, 1 << 20);
  size_t n = fread(doc, 1, (1 << 20) - 1, fp);
  fclose(fp);
  cr_assert_gt(n, 0);
  for (size_t i = 0; i < fca_rule_count(); i++) {
    char head[64];
    snprintf(head, sizeof head, "\n## %s\n", fca_rule_get((fca_rule_id_t)i)->id);
    cr_assert_not_null(strstr(doc, head), "docs/rules.md lacks a section for %s", head + 4);
  }
  size_t examples = 0;
  for (char *p = doc; (p = strstr(p, "```\n"));) {
    char *body = p + 4, *end = strstr(body, "```\n");
    cr_assert_not_null(end);
    if (strncmp(body, "FC-", 3) == 0 || strncmp(body, "# ", 2) == 0) {
      fca_ruleset_t *rs = fca_ruleset_new();
      char err[256];
      cr_assert_eq(fca_ruleset_load_string(rs, body, (size_t)(end - body), "docs", err, sizeof err),
                   0, "%s", err);
      fca_ruleset_free(rs);
      examples++;
    }
    p = end + 4;
  }
  cr_assert_geq(examples, fca_rule_count());
  free(doc);
}
