/* sarif: the model as a SARIF 2.1.0 log with one run. Rule metadata comes from the catalogue;
 * rules set to ignore are left out, and so are their results. The location of a result is the
 * page's URL (a web page is the artifact here); when the evidence sits in the page's own body,
 * its decoded byte offset becomes the region. */
#include "sarif.h"

#include <stdlib.h>
#include <string.h>

#include "fcaudit/util.h"

#include "fcaudit/ruleset.h"

static const char *sarif_level(fca_level_t l) {
  return l == FCA_LEVEL_ERROR ? "error" : l == FCA_LEVEL_WARNING ? "warning" : "note";
}

static json_t *text(const char *s) { return json_pack("{s:s}", "text", s ? s : ""); }

static json_t *rule_json(const fca_rule_info_t *ri) {
  json_t *r = json_object();
  json_object_set_new(r, "id", json_string(ri->id));
  json_object_set_new(r, "name", json_string(ri->title));
  json_object_set_new(r, "shortDescription", text(ri->title));
  char *full = fca_rule_message(ri, "…");
  json_object_set_new(r, "fullDescription", text(full));
  free(full);
  json_t *help = json_object();
  char *h = NULL;
  if (ri->item)
    h = fca_xasprintf("Fix: %s. Financial Connections deployment checklist item %d.", ri->fix,
                      ri->item);
  else
    h = fca_xasprintf("Fix: %s. Beyond the deployment checklist.", ri->fix);
  json_object_set_new(help, "text", json_string(h));
  free(h);
  json_object_set_new(r, "help", help);
  json_object_set_new(r, "helpUri", json_string(ri->doc ? ri->doc : FCA_RULES_DOC_URL));
  json_object_set_new(
      r, "defaultConfiguration",
      json_pack("{s:s}", "level", ri->level == FCA_LEVEL_IGNORE ? "none" : sarif_level(ri->level)));
  json_object_set_new(r, "properties",
                      json_pack("{s:i,s:s,s:[s]}", "checklist_item", ri->item, "scope",
                                fca_rule_scope_name(ri->scope), "tags", "financial-connections"));
  return r;
}

static json_t *location(const char *uri) {
  return json_pack("{s:{s:{s:s}}}", "physicalLocation", "artifactLocation", "uri", uri);
}

json_t *fca_sarif_build(fca_model_t *m) {
  fca_model_finalize(m);
  json_t *rules = json_array();
  int index_of[FCA_RULE_COUNT];
  int n = 0;
  for (size_t i = 0; i < fca_rule_count(); i++) {
    const fca_rule_info_t *ri = fca_rule_get((fca_rule_id_t)i);
    index_of[i] = -1;
    if (m->ignore[i]) continue;
    index_of[i] = n++;
    json_array_append_new(rules, rule_json(ri));
  }
  json_t *results = json_array();
  for (size_t i = 0; i < m->nfindings; i++) {
    const fca_model_finding_t *f = &m->findings[i];
    const fca_model_page_t *p = &m->pages[f->page];
    const fca_rule_info_t *ri = fca_rule_lookup(f->rule);
    json_t *r = json_object();
    json_object_set_new(r, "ruleId", json_string(f->rule));
    if (ri && index_of[ri->rule] >= 0)
      json_object_set_new(r, "ruleIndex", json_integer(index_of[ri->rule]));
    json_object_set_new(r, "level", json_string(sarif_level(f->level)));
    char *sf = fca_model_stack_fix_line(f);
    char *msg = fca_xasprintf("%s on %s%s%s%s%s", f->message ? f->message : f->rule, p->url,
                              f->fix ? ". Fix: " : "", f->fix ? f->fix : "",
                              sf ? ". For this stack, " : "", sf ? sf : "");
    free(sf);
    json_object_set_new(r, "message", text(msg));
    free(msg);
    json_t *loc = location(p->url);
    if (f->has_evidence && !f->ev_url && f->ev_offset >= 0) {
      json_t *region = json_object();
      json_object_set_new(region, "byteOffset", json_integer(f->ev_offset));
      if (f->ev_value && !f->ev_escaped) {
        json_object_set_new(region, "byteLength", json_integer((json_int_t)strlen(f->ev_value)));
        json_object_set_new(region, "snippet", text(f->ev_value));
      }
      json_object_set_new(json_object_get(loc, "physicalLocation"), "region", region);
    }
    json_object_set_new(r, "locations", json_pack("[o]", loc));
    if (f->ev_url)
      json_object_set_new(r, "relatedLocations", json_pack("[o]", location(f->ev_url)));
    json_object_set_new(r, "partialFingerprints",
                        json_pack("{s:s}", FCA_FINGERPRINT_KEY, f->fingerprint));
    json_object_set_new(r, "occurrenceCount", json_integer((json_int_t)f->count));
    if (m->have_baseline)
      json_object_set_new(r, "baselineState", json_string(f->baseline ? "unchanged" : "new"));
    json_t *props = json_object();
    json_object_set_new(props, "checklist_item", json_integer(f->item));
    json_object_set_new(props, "page_url", json_string(p->url));
    json_object_set_new(props, "top_level", json_boolean(p->top_level));
    if (p->tagged_by) json_object_set_new(props, "tagged_by", json_string(p->tagged_by));
    if (p->confidence) json_object_set_new(props, "confidence", json_string(p->confidence));
    if (f->has_evidence) {
      json_t *e = json_object();
      if (f->ev_source) json_object_set_new(e, "source", json_string(f->ev_source));
      if (f->ev_name) json_object_set_new(e, "name", json_string(f->ev_name));
      if (f->ev_value) json_object_set_new(e, "value", json_string(f->ev_value));
      if (f->ev_url) json_object_set_new(e, "url", json_string(f->ev_url));
      json_object_set_new(props, "evidence", e);
    }
    if (f->fix) json_object_set_new(props, "fix", json_string(f->fix));
    if (f->stack_fix)
      json_object_set_new(props, "fix_stack",
                          json_pack("{s:s,s:s,s:s,s:s}", "stack", f->stack, "label",
                                    f->stack_label ? f->stack_label : f->stack, "confidence",
                                    f->stack_confidence ? f->stack_confidence : "guess", "fix",
                                    f->stack_fix));
    json_object_set_new(props, "stripe_js", json_string(fca_model_page_stripejs(p)));
    json_object_set_new(props, "fails_run", json_boolean(fca_model_finding_fails(m, f)));
    json_object_set_new(r, "properties", props);
    json_array_append_new(results, r);
  }
  json_t *driver = json_object();
  json_object_set_new(driver, "name", json_string("fcaudit"));
  json_object_set_new(driver, "version", json_string(FCA_VERSION));
  json_object_set_new(driver, "informationUri", json_string(FCA_RULES_DOC_URL));
  json_object_set_new(driver, "rules", rules);
  json_t *run = json_object();
  json_object_set_new(run, "tool", json_pack("{s:o}", "driver", driver));
  fca_model_verdict_t v;
  fca_model_verdict(m, &v);
  json_object_set_new(
      run, "invocations",
      json_pack("[{s:b,s:i}]", "executionSuccessful", 1, "exitCode", v.fail ? 1 : 0));
  if (m->run) {
    char *id = fca_xasprintf("fcaudit/%s", m->run);
    json_object_set_new(run, "automationDetails", json_pack("{s:s}", "id", id));
    free(id);
  }
  json_object_set_new(run, "columnKind", json_string("unicodeCodePoints"));
  json_object_set_new(run, "results", results);
  json_t *log = json_object();
  json_object_set_new(log, "$schema", json_string(FCA_SARIF_SCHEMA_URI));
  json_object_set_new(log, "version", json_string("2.1.0"));
  json_object_set_new(log, "runs", json_pack("[o]", run));
  return log;
}
