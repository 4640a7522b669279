/* ruleset: the rule catalogue (one static table, indexed by fca_rule_id_t) and level overrides.
 * Precedence for a finding: command-line override, then the last rules-file line that names the
 * rule and whose URL glob (if any) matches the page, then the rule's default. Loading a file is
 * all or nothing, so a typo never leaves half a configuration applied. */
#include "fcaudit/ruleset.h"
#include "fcaudit/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOC FCA_RULES_DOC_URL

static const fca_rule_info_t rules[FCA_RULE_COUNT] = {
    [FCA_RULE_COOP_1] = {FCA_RULE_COOP_1, "FC-COOP-1", FCA_LEVEL_ERROR, 1, FCA_SCOPE_TOP_LEVEL,
                         "COOP same-origin on the page that launches the flow",
                         "Cross-Origin-Opener-Policy is same-origin ({value}): the OAuth bank "
                         "popup loses its link to this page and bank logins fail",
                         "Send Cross-Origin-Opener-Policy: same-origin-allow-popups (or "
                         "unsafe-none, or no header) on this page",
                         DOC},
    [FCA_RULE_COOP_2] = {FCA_RULE_COOP_2, "FC-COOP-2", FCA_LEVEL_WARNING, 1, FCA_SCOPE_TOP_LEVEL,
                         "COOP noopener-allow-popups is not on Stripe's list",
                         "Cross-Origin-Opener-Policy is noopener-allow-popups ({value}), which "
                         "Stripe's checklist does not list: popups may lose their opener",
                         "Send Cross-Origin-Opener-Policy: same-origin-allow-popups instead", DOC},
    [FCA_RULE_COOP_3] = {FCA_RULE_COOP_3, "FC-COOP-3", FCA_LEVEL_WARNING, 1, FCA_SCOPE_TOP_LEVEL,
                         "COOP-Report-Only same-origin breaks once enforced",
                         "Cross-Origin-Opener-Policy-Report-Only is same-origin ({value}): bank "
                         "logins will fail once this policy is enforced",
                         "Do not enforce same-origin on this page; report and enforce "
                         "same-origin-allow-popups instead",
                         DOC},
    [FCA_RULE_COOP_4] = {FCA_RULE_COOP_4, "FC-COOP-4", FCA_LEVEL_ERROR, 1, FCA_SCOPE_FRAMED,
                         "framed page under a top-level page with COOP same-origin",
                         "The top-level page {value} sends Cross-Origin-Opener-Policy "
                         "same-origin: OAuth bank popups from this frame lose their opener",
                         "Send Cross-Origin-Opener-Policy: same-origin-allow-popups (or "
                         "unsafe-none, or no header) on the top-level page",
                         DOC},
    [FCA_RULE_REF_1] = {FCA_RULE_REF_1, "FC-REF-1", FCA_LEVEL_ERROR, 2, FCA_SCOPE_TOP_LEVEL,
                        "referrer policy sends no Referer to other origins",
                        "The effective referrer policy is {value}: no Referer reaches other "
                        "origins and OAuth bank logins fail",
                        "Drop the policy or use strict-origin-when-cross-origin (or origin, "
                        "origin-when-cross-origin, strict-origin) in the header and any meta",
                        DOC},
    [FCA_RULE_REF_2] = {FCA_RULE_REF_2, "FC-REF-2", FCA_LEVEL_WARNING, 2, FCA_SCOPE_TOP_LEVEL,
                        "<meta name=\"referer\"> value not on the checklist",
                        "<meta name=\"referer\"> has content \"{value}\", not a checklist value "
                        "(browsers ignore name=\"referer\"; they read name=\"referrer\")",
                        "Use content=\"strict-origin-when-cross-origin\" (or origin, "
                        "origin-when-cross-origin, strict-origin), with name=\"referrer\"",
                        DOC},
    [FCA_RULE_REF_3] = {FCA_RULE_REF_3, "FC-REF-3", FCA_LEVEL_WARNING, 2, FCA_SCOPE_TOP_LEVEL,
                        "Stripe.js <script> with a referrerpolicy that sends no Referer",
                        "The Stripe.js <script> has referrerpolicy=\"{value}\": its request to "
                        "js.stripe.com carries no Referer",
                        "Remove the referrerpolicy attribute from the Stripe.js <script> (or set "
                        "strict-origin-when-cross-origin)",
                        DOC},
    [FCA_RULE_REF_4] = {FCA_RULE_REF_4, "FC-REF-4", FCA_LEVEL_INFO, 2, FCA_SCOPE_TOP_LEVEL,
                        "invalid Referrer-Policy header ignored by browsers",
                        "Referrer-Policy \"{value}\" is invalid and browsers ignore it (the "
                        "default or a meta policy applies)",
                        "Send one valid token, e.g. Referrer-Policy: "
                        "strict-origin-when-cross-origin",
                        DOC},
    [FCA_RULE_SBX_1] = {FCA_RULE_SBX_1, "FC-SBX-1", FCA_LEVEL_ERROR, 3, FCA_SCOPE_FRAMED,
                        "iframe sandbox lacks allow-popups-to-escape-sandbox",
                        "Framed in an iframe sandbox=\"{value}\" without "
                        "allow-popups-to-escape-sandbox: the bank popup inherits the sandbox "
                        "and COOP-sending bank pages fail to load",
                        "Add allow-popups-to-escape-sandbox (and allow-popups when it is missing "
                        "too) to the iframe's sandbox attribute",
                        DOC},
    [FCA_RULE_SBX_2] = {FCA_RULE_SBX_2, "FC-SBX-2", FCA_LEVEL_ERROR, 3, FCA_SCOPE_FRAMED,
                        "iframe sandbox lacks allow-popups",
                        "Framed in an iframe sandbox=\"{value}\" without allow-popups: the bank "
                        "login popup cannot open",
                        "Add allow-popups and allow-popups-to-escape-sandbox to the iframe's "
                        "sandbox attribute",
                        DOC},
    [FCA_RULE_SBX_3] = {FCA_RULE_SBX_3, "FC-SBX-3", FCA_LEVEL_ERROR, 3, FCA_SCOPE_PAGE,
                        "CSP sandbox lacks the popup tokens",
                        "The enforced Content-Security-Policy sandboxes this page without "
                        "{value}: bank login popups cannot open or inherit the sandbox",
                        "Add allow-popups allow-popups-to-escape-sandbox to the CSP sandbox "
                        "directive, or remove the directive",
                        DOC},
    [FCA_RULE_SBX_4] = {FCA_RULE_SBX_4, "FC-SBX-4", FCA_LEVEL_ERROR, 3, FCA_SCOPE_PAGE,
                        "sandbox without allow-same-origin (opaque origin)",
                        "Sandboxed ({value}) without allow-same-origin: the page has an opaque "
                        "origin, sends no Referer, and OAuth bank logins fail",
                        "Add allow-same-origin to the sandbox (iframe attribute or CSP)", DOC},
    [FCA_RULE_SBX_5] = {FCA_RULE_SBX_5, "FC-SBX-5", FCA_LEVEL_ERROR, 3, FCA_SCOPE_PAGE,
                        "sandbox without allow-scripts",
                        "Sandboxed ({value}) without allow-scripts: Stripe.js never runs",
                        "Add allow-scripts to the sandbox (iframe attribute or CSP)", DOC},
    [FCA_RULE_ISO_1] = {FCA_RULE_ISO_1, "FC-ISO-1", FCA_LEVEL_WARNING, 0, FCA_SCOPE_PAGE,
                        "COEP blocks Stripe's iframes",
                        "Cross-Origin-Embedder-Policy is {value}: Stripe's cross-origin iframes "
                        "are blocked, and with COOP same-origin the page is cross-origin "
                        "isolated, which Stripe.js does not support",
                        "Do not send Cross-Origin-Embedder-Policy (or send unsafe-none) on pages "
                        "that load Stripe.js",
                        DOC},
    [FCA_RULE_TEST_1] = {FCA_RULE_TEST_1, "FC-TEST-1", FCA_LEVEL_WARNING, 4, FCA_SCOPE_PAGE,
                         "live key in a run declared non-production",
                         "A live publishable key ({value}) is used in a run declared "
                         "non-production",
                         "Use a pk_test_ key and link the test-mode institutions before going "
                         "live",
                         DOC},
    [FCA_RULE_TEST_2] = {FCA_RULE_TEST_2, "FC-TEST-2", FCA_LEVEL_INFO, 4, FCA_SCOPE_SUMMARY,
                         "test-mode institutions linked",
                         "Test-mode institutions seen linked: {value}",
                         "Link accounts with Test (OAuth), Test (Non-OAuth), Bank (OAuth) and "
                         "Bank (Non-OAuth) in test mode before going live",
                         DOC},
    [FCA_RULE_CSP_1] = {FCA_RULE_CSP_1, "FC-CSP-1", FCA_LEVEL_ERROR, 0, FCA_SCOPE_PAGE,
                        "CSP blocks Stripe.js",
                        "Content-Security-Policy blocks Stripe.js: {value}; Stripe.js never "
                        "loads and the flow cannot start",
                        "Add https://js.stripe.com and https://*.js.stripe.com to the policy's "
                        "script-src (keeping its own sources)",
                        DOC},
    [FCA_RULE_CSP_2] = {FCA_RULE_CSP_2, "FC-CSP-2", FCA_LEVEL_ERROR, 0, FCA_SCOPE_PAGE,
                        "CSP blocks Stripe's frames",
                        "Content-Security-Policy blocks frames from https://js.stripe.com: "
                        "{value}; Financial Connections opens in a Stripe frame and never shows",
                        "Add https://js.stripe.com, https://*.js.stripe.com and "
                        "https://hooks.stripe.com to the policy's frame-src (keeping its own "
                        "sources)",
                        DOC},
    [FCA_RULE_CSP_3] = {FCA_RULE_CSP_3, "FC-CSP-3", FCA_LEVEL_ERROR, 0, FCA_SCOPE_PAGE,
                        "CSP blocks requests to api.stripe.com",
                        "Content-Security-Policy blocks fetches to https://api.stripe.com: "
                        "{value}; Stripe.js cannot reach Stripe's API",
                        "Add https://api.stripe.com to the policy's connect-src (keeping its own "
                        "sources)",
                        DOC},
    [FCA_RULE_CSP_4] = {FCA_RULE_CSP_4, "FC-CSP-4", FCA_LEVEL_WARNING, 0, FCA_SCOPE_PAGE,
                        "CSP blocks inline code that sets Stripe up",
                        "Content-Security-Policy blocks inline code that sets Stripe up: {value}",
                        "Move the code into a script file the policy allows, or allow it with "
                        "the policy's nonce or its hash (event handlers: addEventListener)",
                        DOC},
};

size_t fca_rule_count(void) { return FCA_RULE_COUNT; }

const fca_rule_info_t *fca_rule_get(fca_rule_id_t rule) {
  return (unsigned)rule < FCA_RULE_COUNT ? &rules[rule] : NULL;
}

const fca_rule_info_t *fca_rule_lookup(const char *id) {
  if (!id) return NULL;
  for (size_t i = 0; i < FCA_RULE_COUNT; i++)
    if (strcmp(rules[i].id, id) == 0) return &rules[i];
  return NULL;
}

const char *fca_rule_scope_name(fca_rule_scope_t scope) {
  switch (scope) {
  case FCA_SCOPE_TOP_LEVEL: return "top-level";
  case FCA_SCOPE_FRAMED: return "framed";
  case FCA_SCOPE_PAGE: return "page";
  case FCA_SCOPE_SUMMARY: return "summary";
  }
  return "?";
}

char *fca_rule_message(const fca_rule_info_t *rule, const char *value) {
  static const char ph[] = "{value}";
  const size_t phl = sizeof ph - 1;
  if (!value) value = "";
  size_t vl = strlen(value), n = 0;
  for (const char *p = rule->message; (p = strstr(p, ph)); p += phl) n++;
  size_t ml = strlen(rule->message);
  char *out = fca_xmalloc(ml - n * phl + n * vl + 1), *o = out;
  for (const char *p = rule->message;;) {
    const char *q = strstr(p, ph);
    size_t k = q ? (size_t)(q - p) : strlen(p);
    memcpy(o, p, k);
    o += k;
    if (!q) break;
    memcpy(o, value, vl);
    o += vl;
    p = q + phl;
  }
  *o = '\0';
  return out;
}

/* ---- overrides ------------------------------------------------------------------------------ */

typedef struct {
  fca_rule_id_t rule;
  fca_level_t level;
  char *glob; /* NULL: every page */
} entry_t;

struct fca_ruleset {
  entry_t *entries; /* file lines, in order */
  size_t n, cap;
  bool cli_set[FCA_RULE_COUNT];
  fca_level_t cli[FCA_RULE_COUNT];
};

fca_ruleset_t *fca_ruleset_new(void) { return fca_xcalloc(1, sizeof(fca_ruleset_t)); }

void fca_ruleset_free(fca_ruleset_t *rs) {
  if (!rs) return;
  for (size_t i = 0; i < rs->n; i++) free(rs->entries[i].glob);
  free(rs->entries);
  free(rs);
}

/* " (did you mean FC-COOP-1?)" for ids within 2 edits (also without the "FC-" prefix). */
static void suggest(const char *id, char *buf, size_t len) {
  size_t dist[FCA_RULE_COUNT], best = (size_t)-1;
  for (size_t i = 0; i < FCA_RULE_COUNT; i++) {
    size_t il = strlen(id), rl = strlen(rules[i].id);
    size_t d = fca_edit_distance(id, il, rules[i].id, rl, true);
    size_t d2 = fca_edit_distance(id, il, rules[i].id + 3, rl - 3, true);
    dist[i] = d2 < d ? d2 : d;
    if (dist[i] < best) best = dist[i];
  }
  buf[0] = '\0';
  if (best > 2) return;
  size_t used = (size_t)snprintf(buf, len, " (did you mean ");
  size_t k = 0;
  for (size_t i = 0; i < FCA_RULE_COUNT && used < len; i++) {
    if (dist[i] != best) continue;
    used += (size_t)snprintf(buf + used, len - used, "%s%s", k++ ? " or " : "", rules[i].id);
  }
  if (used < len) snprintf(buf + used, len - used, "?)");
}

static const char level_help[] = "expected ignore, info, warning or error";

static int parse_rule_id(const char *id, fca_rule_id_t *out, char *msg, size_t msglen) {
  const fca_rule_info_t *r = fca_rule_lookup(id);
  if (r) {
    *out = r->rule;
    return 0;
  }
  char sug[160];
  suggest(id, sug, sizeof sug);
  snprintf(msg, msglen, "unknown rule id '%s'%s", id, sug);
  return -1;
}

static bool is_sp(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Splits one line (NUL-terminated, modified in place) into at most 4 fields; a field starting
 * with '#' ends the line. Returns the number of fields (4 means "more than 3"). */
static size_t split_fields(char *line, char *f[4]) {
  size_t nf = 0;
  char *p = line;
  while (nf < 4) {
    while (is_sp(*p)) p++;
    if (*p == '\0' || *p == '#') break;
    f[nf++] = p;
    while (*p && !is_sp(*p)) p++;
    if (*p) *p++ = '\0';
  }
  return nf;
}

int fca_ruleset_load_string(fca_ruleset_t *rs, const char *text, size_t len, const char *name,
                            char *err, size_t errlen) {
  if (memchr(text, '\0', len)) {
    size_t lineno = 1;
    for (const char *p = text; *p; p++) lineno += *p == '\n';
    fca_seterr(err, errlen, "%s:%zu: NUL byte in the rules file", name, lineno);
    return -1;
  }
  char *copy = fca_xstrndup(text, len);
  entry_t *add = NULL;
  size_t nadd = 0, cap = 0, lineno = 0;
  int rc = 0;
  char msg[512];
  for (char *line = copy; line; lineno++) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    char *f[4];
    size_t nf = split_fields(line, f);
    char *next = nl ? nl + 1 : NULL;
    line = next;
    if (nf == 0) continue;
    fca_rule_id_t rule;
    fca_level_t level;
    if (parse_rule_id(f[0], &rule, msg, sizeof msg) < 0) {
      fca_seterr(err, errlen, "%s:%zu: %s", name, lineno + 1, msg);
      rc = -1;
      break;
    }
    if (nf < 2) {
      fca_seterr(err, errlen, "%s:%zu: missing level after %s (%s)", name, lineno + 1, f[0],
                 level_help);
      rc = -1;
      break;
    }
    if (fca_level_parse(f[1], &level) < 0) {
      fca_seterr(err, errlen, "%s:%zu: bad level '%s' for %s (%s)", name, lineno + 1, f[1], f[0],
                 level_help);
      rc = -1;
      break;
    }
    if (nf > 3) {
      fca_seterr(err, errlen, "%s:%zu: extra field '%s' (expected RULE-ID LEVEL [URL-GLOB])", name,
                 lineno + 1, f[3]);
      rc = -1;
      break;
    }
    if (nadd == cap) {
      cap = cap ? cap * 2 : 16;
      add = fca_xrealloc(add, cap * sizeof *add);
    }
    add[nadd++] = (entry_t){rule, level, nf == 3 ? fca_xstrdup(f[2]) : NULL};
  }
  free(copy);
  if (rc < 0) {
    for (size_t i = 0; i < nadd; i++) free(add[i].glob);
    free(add);
    return -1;
  }
  if (rs->n + nadd > rs->cap) {
    rs->cap = rs->n + nadd;
    rs->entries = fca_xrealloc(rs->entries, rs->cap * sizeof *rs->entries);
  }
  if (nadd) memcpy(rs->entries + rs->n, add, nadd * sizeof *add);
  rs->n += nadd;
  free(add);
  return 0;
}

int fca_ruleset_load_file(fca_ruleset_t *rs, const char *path, char *err, size_t errlen) {
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    fca_seterr(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  size_t cap = 4096, n = 0;
  char *buf = fca_xmalloc(cap);
  for (;;) {
    if (n == cap) {
      if (cap >= FCA_RULESET_FILE_MAX) break;
      cap = cap * 2 > FCA_RULESET_FILE_MAX ? FCA_RULESET_FILE_MAX : cap * 2;
      buf = fca_xrealloc(buf, cap);
    }
    size_t got = fread(buf + n, 1, cap - n, fp);
    n += got;
    if (got == 0) break;
  }
  bool failed = ferror(fp) != 0;
  bool too_big = n == FCA_RULESET_FILE_MAX && fgetc(fp) != EOF;
  fclose(fp);
  int rc;
  if (failed) {
    fca_seterr(err, errlen, "%s: read error", path);
    rc = -1;
  } else if (too_big) {
    fca_seterr(err, errlen, "%s: larger than %d bytes", path, (int)FCA_RULESET_FILE_MAX);
    rc = -1;
  } else {
    rc = fca_ruleset_load_string(rs, buf, n, path, err, errlen);
  }
  free(buf);
  return rc;
}

int fca_ruleset_apply_cli(fca_ruleset_t *rs, const char *spec, char *err, size_t errlen) {
  const char *eq = strchr(spec, '=');
  if (!eq) {
    fca_seterr(err, errlen, "'%s': expected RULE-ID=LEVEL", spec);
    return -1;
  }
  char *id = fca_xstrndup(spec, (size_t)(eq - spec));
  char msg[512];
  fca_rule_id_t rule;
  fca_level_t level;
  int rc = 0;
  if (parse_rule_id(id, &rule, msg, sizeof msg) < 0) {
    fca_seterr(err, errlen, "'%s': %s", spec, msg);
    rc = -1;
  } else if (fca_level_parse(eq + 1, &level) < 0) {
    fca_seterr(err, errlen, "'%s': bad level '%s' (%s)", spec, eq + 1, level_help);
    rc = -1;
  } else {
    rs->cli_set[rule] = true;
    rs->cli[rule] = level;
  }
  free(id);
  return rc;
}

fca_level_t fca_ruleset_level_of(const fca_ruleset_t *rs, fca_rule_id_t rule,
                                 const char *page_url) {
  if ((unsigned)rule >= FCA_RULE_COUNT) return FCA_LEVEL_IGNORE;
  if (!rs) return rules[rule].level;
  if (rs->cli_set[rule]) return rs->cli[rule];
  for (size_t i = rs->n; i-- > 0;) {
    const entry_t *e = &rs->entries[i];
    if (e->rule != rule) continue;
    if (!e->glob || (page_url && fca_glob_match(e->glob, page_url))) return e->level;
  }
  return rules[rule].level;
}

fca_level_t fca_ruleset_level(const fca_ruleset_t *rs, const char *rule_id, const char *page_url) {
  const fca_rule_info_t *r = fca_rule_lookup(rule_id);
  return r ? fca_ruleset_level_of(rs, r->rule, page_url) : FCA_LEVEL_IGNORE;
}
