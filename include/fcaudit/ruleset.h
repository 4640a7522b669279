/* ruleset: the static catalogue of audit rules (stable ids, default levels, checklist item,
 * scope, message, fix, doc link) and the user's level overrides. Overrides come from a rules
 * file (`RULE-ID LEVEL [URL-GLOB]` lines; the last matching line wins) and from the command
 * line (`ID=LEVEL`, which beats the file). Rule ids are case-sensitive, exactly as documented. */
#ifndef FCAUDIT_RULESET_H
#define FCAUDIT_RULESET_H

#include "fcaudit/event.h"

#include <stddef.h>

/* The deployment checklist every finding links to. */
#define FCA_RULES_DOC_URL "https://docs.stripe.com/financial-connections"

typedef enum {
  FCA_RULE_COOP_1 = 0,
  FCA_RULE_COOP_2,
  FCA_RULE_COOP_3,
  FCA_RULE_COOP_4,
  FCA_RULE_REF_1,
  FCA_RULE_REF_2,
  FCA_RULE_REF_3,
  FCA_RULE_REF_4,
  FCA_RULE_SBX_1,
  FCA_RULE_SBX_2,
  FCA_RULE_SBX_3,
  FCA_RULE_SBX_4,
  FCA_RULE_SBX_5,
  FCA_RULE_ISO_1,
  FCA_RULE_TEST_1,
  FCA_RULE_TEST_2,
  FCA_RULE_CSP_1,
  FCA_RULE_CSP_2,
  FCA_RULE_CSP_3,
  FCA_RULE_CSP_4,
  FCA_RULE_COUNT
} fca_rule_id_t;

typedef enum {
  FCA_SCOPE_TOP_LEVEL = 0, /* judged on top-level pages only */
  FCA_SCOPE_FRAMED,        /* judged on framed pages only */
  FCA_SCOPE_PAGE,          /* any tagged page, top-level or framed */
  FCA_SCOPE_SUMMARY,       /* end of run, in the summary only */
} fca_rule_scope_t;

typedef struct {
  fca_rule_id_t rule;
  const char *id;    /* "FC-COOP-1" */
  fca_level_t level; /* default level */
  int item;          /* checklist item 1..4, 0 = beyond the checklist */
  fca_rule_scope_t scope;
  const char *title;   /* short, for reports */
  const char *message; /* one line; "{value}" stands for the offending value */
  const char *fix;     /* one line */
  const char *doc;     /* FCA_RULES_DOC_URL */
} fca_rule_info_t;

size_t fca_rule_count(void);
const fca_rule_info_t *fca_rule_get(fca_rule_id_t rule); /* NULL when out of range */
const fca_rule_info_t *fca_rule_lookup(const char *id);  /* case-sensitive; NULL if unknown */
const char *fca_rule_scope_name(fca_rule_scope_t scope); /* top-level|framed|page|summary */
/* The message with every "{value}" replaced by value (NULL = ""); caller frees. */
char *fca_rule_message(const fca_rule_info_t *rule, const char *value);

typedef struct fca_ruleset fca_ruleset_t;

fca_ruleset_t *fca_ruleset_new(void);
void fca_ruleset_free(fca_ruleset_t *rs);

#ifndef FCA_RULESET_FILE_MAX
#define FCA_RULESET_FILE_MAX (1024 * 1024)
#endif

/* Reads a rules file: `RULE-ID  ignore|info|warning|error  [URL-GLOB]` per line, '#' starts a
 * comment (at the start of a field), blank lines allowed. All or nothing: on error nothing is
 * added, -1 is returned and err holds "FILE:LINE: message". Several files may be loaded; lines
 * of a later file come after those of an earlier one. */
int fca_ruleset_load_file(fca_ruleset_t *rs, const char *path, char *err, size_t errlen);
/* Same syntax from memory; `name` stands for FILE in messages. */
int fca_ruleset_load_string(fca_ruleset_t *rs, const char *text, size_t len, const char *name,
                            char *err, size_t errlen);
/* A command-line override "RULE-ID=LEVEL"; wins over every file line. -1 with err on error. */
int fca_ruleset_apply_cli(fca_ruleset_t *rs, const char *spec, char *err, size_t errlen);

/* The level for a finding of rule_id on page_url (NULL: no page; only lines without a glob
 * apply): command-line override, else the last matching file line, else the default.
 * rs may be NULL (defaults). An unknown id yields FCA_LEVEL_IGNORE. */
fca_level_t fca_ruleset_level(const fca_ruleset_t *rs, const char *rule_id, const char *page_url);
fca_level_t fca_ruleset_level_of(const fca_ruleset_t *rs, fca_rule_id_t rule, const char *page_url);

#endif
