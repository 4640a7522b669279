/* rules: announcing tagged pages, firing findings (level, once per page, dedup, counts,
 * scorecard), notes, and the evaluation driver that runs the rule modules and decides `pass`.
 * Everything here runs under the audit lock. */
#include "rules.h"

#include "engine.h"
#include "fcaudit/strmap.h"
#include "fcaudit/util.h"

#include <stdlib.h>
#include <string.h>

static void fill_page(fca_event_t *ev, const fca_page_t *p) {
  ev->has_page = true;
  ev->page.id = p->id;
  ev->page.url = p->url;
  ev->page.top_level = p->top_level;
  ev->page.tagged_by = fca_tag_kind_name(p->tagged_by);
  ev->page.confidence = fca_confidence_name(p->confidence);
}

static bool eligible(const fca_audit_t *a, const fca_page_t *p) {
  if (p->tagged_by == FCA_TAG_NONE) return false;
  return !a->o.min_confidence_high || p->confidence == FCA_CONF_HIGH;
}

void fca_rules_announce(fca_audit_t *a, fca_page_t *p) {
  if (p->announced || !eligible(a, p)) return;
  p->announced = true;
  a->pages_tagged++;
  if (!p->card) p->card = fca_card_new(a, p);
  /* Like findings, a page reloaded with the same tag is reported once per run (counted in the
   * summary); --no-dedup shows every load. */
  if (a->o.dedup && fca_dedup_hit(a->dedup, "page", p->dedup_url, p->tag_ev.value,
                                  p->tag_ev.value ? p->tag_ev.len : 0) > 1) {
    fca_rules_evaluate(a, p);
    return;
  }
  fca_event_t ev = {.type = FCA_EV_PAGE, .item = 0, .client = p->client, .count = 1};
  fill_page(&ev, p);
  ev.message = "page loads Stripe.js";
  if (p->tag_ev.value) {
    ev.has_evidence = true;
    ev.evidence = (fca_event_evidence_t){p->tag_source, p->tag_name,      p->tag_ev.value,
                                         p->tag_ev.len, p->tag_ev.offset, p->tag_ev.url};
  }
  fca_audit_emit(a, &ev);
  fca_rules_evaluate(a, p);
}

static uint64_t hash_ev(const fca_page_ev_t *e, const char *name) {
  uint64_t h = fca_hash_bytes(FCA_HASH_INIT, e->value, e->len);
  if (e->url) h = fca_hash_bytes(h, e->url, strlen(e->url));
  if (name) h = fca_hash_bytes(h, name, strlen(name));
  return h;
}

static void item_fail(fca_page_t *p, int item, const fca_rule_info_t *info, const char *msg) {
  fca_card_t *c = p->card;
  if (!c || item < 1 || item > 4) return;
  fca_item_fail_by(&c->items[item], info->id, msg);
}

bool fca_rules_item_open(const fca_page_t *p, int item) {
  const fca_card_t *c = p->card;
  return c && item >= 1 && item <= 4 && c->items[item].status == FCA_ITEM_NA;
}

void fca_rules_item_pass(fca_page_t *p, int item, const char *why) {
  fca_card_t *c = p->card;
  if (!c || item < 1 || item > 4) return;
  fca_item_pass_by(&c->items[item], why);
}

/* The CSP sandbox tokens a fix keeps: the policy's own, plus the four the flow needs. */
static void sandbox_tokens(const fca_page_t *p, char *out, size_t len) {
  out[0] = '\0';
  const fca_csp_sandbox_t *c = &p->csp_p;
  uint32_t allow = c->recorded ? c->policies[0].allow : 0;
  allow |= FCA_SBX_ALLOW_SCRIPTS | FCA_SBX_ALLOW_SAME_ORIGIN | FCA_SBX_ALLOW_POPUPS |
           FCA_SBX_ALLOW_POPUPS_TO_ESCAPE_SANDBOX;
  fca_sandbox_format(allow, out, len);
}

/* Which header a rule's fix changes, for the stack-specific fix; false when the fix is in the
 * markup (a meta, an iframe attribute, a script attribute) rather than a response header. */
static bool fix_topic(fca_rule_id_t rule, const char *source, fca_fix_topic_t *t) {
  bool header = source && (!strcmp(source, "header") || !strcmp(source, "csp"));
  if (!header) return false;
  switch (rule) {
  case FCA_RULE_COOP_1:
  case FCA_RULE_COOP_2:
  case FCA_RULE_COOP_4: *t = FCA_FIX_COOP; return true;
  case FCA_RULE_COOP_3: *t = FCA_FIX_COOP_RO; return true;
  case FCA_RULE_REF_1:
  case FCA_RULE_REF_4: *t = FCA_FIX_REFERRER; return true;
  case FCA_RULE_SBX_3:
  case FCA_RULE_SBX_4:
  case FCA_RULE_SBX_5: *t = FCA_FIX_CSP_SANDBOX; return true;
  case FCA_RULE_ISO_1: *t = FCA_FIX_COEP; return true;
  default: return false;
  }
}

void fca_rules_fire(fca_audit_t *a, fca_page_t *p, fca_rule_id_t rule, const char *msg_value,
                    const fca_page_ev_t *evd, const char *source, const char *name) {
  fca_rules_fire_fix(a, p, rule, msg_value, evd, source, name, NULL, NULL);
}

void fca_rules_fire_fix(fca_audit_t *a, fca_page_t *p, fca_rule_id_t rule, const char *msg_value,
                        const fca_page_ev_t *evd, const char *source, const char *name,
                        const char *fix, const char *csp_directive) {
  fca_rules_finding_t f = {.msg_value = msg_value,
                           .fix = fix,
                           .csp_directive = csp_directive,
                           .ev = evd,
                           .source = source,
                           .name = name};
  fca_rules_fire_finding(a, p, rule, &f);
}

void fca_rules_fire_finding(fca_audit_t *a, fca_page_t *p, fca_rule_id_t rule,
                            const fca_rules_finding_t *fd) {
  const fca_page_ev_t *evd = fd->ev;
  const char *source = fd->source, *name = fd->name;
  const char *fix = fd->fix, *csp_directive = fd->csp_directive;
  if (!p->announced) return;
  const fca_rule_info_t *info = fca_rule_get(rule);
  fca_level_t level = fca_ruleset_level_of(a->o.rules, rule, p->url);
  if (level == FCA_LEVEL_IGNORE) return;
  if (fd->max_level != FCA_LEVEL_IGNORE && level > fd->max_level) level = fd->max_level;
  uint64_t h = hash_ev(evd, name);
  for (size_t i = 0; i < p->nfired; i++)
    if (p->fired[i].rule == (uint32_t)rule && p->fired[i].hash == h) return;
  fca_page_fired_t *f = fca_page_push((void **)&p->fired, &p->nfired, &p->cap_fired,
                                      sizeof *p->fired, FCA_PAGE_FIRED_MAX);
  if (!f) return; /* a pathological page: enough said */
  *f = (fca_page_fired_t){(uint32_t)rule, h};

  /* Evidence from a tag is the tag as it appeared; from a header, the value. */
  const char *evv = evd->tag ? evd->tag : evd->value ? evd->value : "";
  size_t evl = evd->tag ? evd->tag_len : evd->len;
  uint64_t count = fca_dedup_hit(a->dedup, info->id, p->dedup_url, evv, evl);
  a->occurrences[rule][level]++;
  char *msg = fd->message ? fca_xstrdup(fd->message) : fca_rule_message(info, fd->msg_value);
  if (level >= FCA_LEVEL_WARNING) {
    if (level > p->worst) p->worst = level;
    item_fail(p, info->item, info, msg);
  }
  if (p->card) {
    if (p->card->count[rule] < UINT32_MAX) p->card->count[rule]++;
    if (level > (fca_level_t)p->card->level[rule]) p->card->level[rule] = (uint8_t)level;
  }
  if (a->o.dedup && count > 1) {
    free(msg);
    return;
  }
  a->reported[rule][level]++;
  a->violations++;
  fca_event_t ev = {.type = FCA_EV_VIOLATION,
                    .rule = info->id,
                    .level = level,
                    .item = info->item,
                    .message = msg,
                    .fix = fix ? fix : info->fix,
                    .doc = info->doc,
                    .client = p->client,
                    .count = count};
  fill_page(&ev, p);
  ev.has_evidence = true;
  ev.evidence = (fca_event_evidence_t){source, name, evv, evl, evd->offset, evd->url};
  /* The fix in the words of the stack that sent the header (the top-level page's for a COOP
   * judged through it). */
  fca_fix_topic_t topic;
  const fca_page_t *sp = rule == FCA_RULE_COOP_4 ? fca_rules_top_of(p) : p;
  char stack_fix[1024], tokens[256];
  const char *arg = NULL;
  if (csp_directive) {
    topic = FCA_FIX_CSP_DIRECTIVE;
    arg = csp_directive;
  } else if (!fix_topic(rule, source, &topic)) {
    sp = NULL;
  } else if (topic == FCA_FIX_CSP_SANDBOX) {
    sandbox_tokens(p, tokens, sizeof tokens);
    arg = tokens;
  }
  if (sp && fca_stack_fix(sp->stack.kind, topic, arg, stack_fix, sizeof stack_fix)) {
    ev.fix_stack = fca_stack_name(sp->stack.kind);
    ev.fix_stack_label = fca_stack_label(sp->stack.kind);
    ev.fix_stack_confidence = fca_stack_conf_name(sp->stack.confidence);
    ev.fix_stack_why = sp->stack.why;
    ev.fix_stack_text = stack_fix;
  }
  fca_audit_emit(a, &ev);
  free(msg);
}

void fca_rules_note(fca_audit_t *a, fca_page_t *p, const char *client, const char *kind,
                    const char *reason) {
  uint64_t count = 1;
  if (p) {
    char *rk = fca_xasprintf("note:%s", kind);
    count = fca_dedup_hit(a->dedup, rk, p->dedup_url, reason, strlen(reason));
    free(rk);
    if (p->card) p->card->notes++;
  }
  if (a->o.dedup && count > 1) return;
  a->notes++;
  fca_event_t ev = {.type = FCA_EV_NOTE,
                    .note = kind,
                    .message = reason,
                    .client = client ? client : (p ? p->client : NULL),
                    .count = count};
  if (p) fill_page(&ev, p);
  fca_audit_emit(a, &ev);
}

void fca_rules_note_insecure(fca_audit_t *a, fca_page_t *p, fca_rule_id_t rule, const char *header,
                             const char *value, const char *where) {
  if (!p->announced || (unsigned)rule >= 64 || (p->insecure_noted >> rule) & 1u) return;
  if (fca_ruleset_level_of(a->o.rules, rule, p->url) == FCA_LEVEL_IGNORE) return;
  p->insecure_noted |= 1ull << rule;
  const fca_rule_info_t *info = fca_rule_get(rule);
  char *msg = fca_xasprintf("%s: %s is ignored by browsers on %s (plain HTTP is not a secure "
                            "context), so it has no effect now; once the page is served over "
                            "HTTPS it applies and %s (%s)",
                            header, value, where,
                            rule == FCA_RULE_ISO_1    ? "blocks Stripe's cross-origin iframes"
                            : rule == FCA_RULE_COOP_2 ? "popups may lose their opener"
                            : rule == FCA_RULE_COOP_3
                                ? "bank logins fail once it is enforced"
                                : "the OAuth bank popup loses its opener: bank logins fail",
                            info->id);
  fca_rules_note(a, p, NULL, "ignored-on-http", msg);
  free(msg);
}

bool fca_rules_secure_context(const fca_page_t *p) {
  for (size_t hops = 0; p && hops < 64; hops++, p = p->parent)
    if (!p->secure) return false;
  return true;
}

fca_page_t *fca_rules_top_of(fca_page_t *p) {
  for (size_t hops = 0; p && hops < 64; hops++) {
    if (p->top_level) return p;
    p = p->parent;
  }
  return NULL;
}

void fca_rules_evaluate(fca_audit_t *a, fca_page_t *p) {
  if (!p->announced) return;
  fca_rule_coop(a, p);
  fca_rule_ref(a, p);
  fca_rule_sbx(a, p);
  fca_rule_iso(a, p);
  fca_rule_test(a, p);
  fca_rule_csp(a, p);
  if (p->doc_ended && !p->pass_emitted && p->worst < FCA_LEVEL_WARNING) {
    p->pass_emitted = true;
    if (p->card) p->card->passed = true;
    if (!a->o.dedup || fca_dedup_hit(a->dedup, "pass", p->dedup_url, "", 0) == 1) {
      fca_event_t ev = {.type = FCA_EV_PASS, .client = p->client, .count = 1};
      fill_page(&ev, p);
      ev.message = "no checklist warning or error on this page";
      fca_audit_emit(a, &ev);
    }
  }
}
