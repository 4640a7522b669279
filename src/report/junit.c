/* junit: writes the JUnit XML document. Invariants: the output is well-formed XML 1.0 (text
 * and attributes escaped; control characters XML forbids become the text \xHH), and the tests,
 * failures and skipped attributes of every suite and of the root add up to the test cases
 * written (counted by the same function that decides each case's outcome). */
#include "junit.h"

#include <stdlib.h>
#include <string.h>

#include "fcaudit/ruleset.h"
#include "markup.h"

typedef enum { CASE_PASS, CASE_FAIL, CASE_SKIP } case_t;

static bool page_has_item0(const fca_model_t *m, size_t k) {
  for (size_t i = 0; i < m->nfindings; i++)
    if (m->findings[i].page == k && m->findings[i].item == 0) return true;
  return false;
}

static case_t case_of(const fca_model_t *m, size_t k, int item) {
  bool any = false;
  for (size_t i = 0; i < m->nfindings; i++) {
    const fca_model_finding_t *f = &m->findings[i];
    if (f->page != k || f->item != item) continue;
    any = true;
    if (fca_model_finding_fails(m, f)) return CASE_FAIL;
  }
  if (item >= 1 && item <= 4 && m->pages[k].items[item].status == FCA_ITEM_NA && !any)
    return CASE_SKIP;
  return CASE_PASS;
}

static void finding_text(FILE *f, const fca_model_t *m, const fca_model_finding_t *fi) {
  fprintf(f, "%s (%s%s", fi->rule, fca_level_name(fi->level), fi->baseline ? ", baseline" : "");
  if (fi->count > 1) fprintf(f, ", seen %llu times", (unsigned long long)fi->count);
  fputs("): ", f);
  fca_markup_escape(f, fi->message);
  fputc('\n', f);
  if (fi->has_evidence) {
    fputs("  evidence: ", f);
    if (fi->ev_name) fca_markup_escape(f, fi->ev_name), fputs(": ", f);
    fca_markup_escape(f, fi->ev_value);
    if (fi->ev_offset >= 0) fprintf(f, " (body offset %lld)", (long long)fi->ev_offset);
    if (fi->ev_url) fputs(" in ", f), fca_markup_escape(f, fi->ev_url);
    fputc('\n', f);
  }
  if (fi->fix) fputs("  fix: ", f), fca_markup_escape(f, fi->fix), fputc('\n', f);
  char *sf = fca_model_stack_fix_line(fi);
  if (sf) fputs("  fix for this stack: ", f), fca_markup_escape(f, sf), fputc('\n', f);
  free(sf);
  if (fi->doc) fputs("  see: ", f), fca_markup_escape(f, fi->doc), fputc('\n', f);
  (void)m;
}

static void write_case(FILE *f, const fca_model_t *m, size_t k, int item) {
  const fca_model_page_t *p = &m->pages[k];
  case_t c = case_of(m, k, item);
  fputs("    <testcase classname=\"fcaudit.", f);
  fca_markup_escape(f, p->key);
  fprintf(f, "\" name=\"item %d: ", item);
  fca_markup_escape(f, fca_item_title(item));
  fputs("\" time=\"0\">\n", f);
  if (c == CASE_FAIL) {
    const fca_model_finding_t *first = NULL;
    for (size_t i = 0; i < m->nfindings && !first; i++)
      if (m->findings[i].page == k && m->findings[i].item == item &&
          fca_model_finding_fails(m, &m->findings[i]))
        first = &m->findings[i];
    fputs("      <failure type=\"", f);
    fca_markup_escape(f, first->rule);
    fputs("\" message=\"", f);
    if (item >= 1 && item <= 4 && p->items[item].status == FCA_ITEM_FAIL && p->items[item].why) {
      fca_markup_escape(f, p->items[item].why); /* the scorecard's sentence, as everywhere */
    } else {
      fca_markup_escape(f, first->rule);
      fputs(": ", f);
      fca_markup_escape(f, first->message);
    }
    fputs("\">", f);
    for (size_t i = 0; i < m->nfindings; i++)
      if (m->findings[i].page == k && m->findings[i].item == item &&
          fca_model_finding_fails(m, &m->findings[i]))
        finding_text(f, m, &m->findings[i]);
    fputs("</failure>\n", f);
  } else if (c == CASE_SKIP) {
    fputs("      <skipped message=\"", f);
    fca_markup_escape(f, p->items[item].why ? p->items[item].why : "not applicable");
    fputs("\"/>\n", f);
  }
  /* Everything else about the item: known and lower findings, and the scorecard's reason. */
  fputs("      <system-out>", f);
  if (item >= 1 && item <= 4 && c != CASE_FAIL) { /* a failure already says it */
    fprintf(f, "scorecard: %s", fca_item_status_name(p->items[item].status));
    if (p->items[item].why) fputs(" — ", f), fca_markup_escape(f, p->items[item].why);
    fputc('\n', f);
  }
  for (size_t i = 0; i < m->nfindings; i++) {
    const fca_model_finding_t *fi = &m->findings[i];
    if (fi->page == k && fi->item == item && !fca_model_finding_fails(m, fi))
      finding_text(f, m, fi);
  }
  fputs("</system-out>\n    </testcase>\n", f);
}

int fca_junit_write(fca_model_t *m, FILE *f) {
  fca_model_finalize(m);
  fca_model_verdict_t v;
  fca_model_verdict(m, &v);
  size_t tests = 1, failures = v.too_few_tagged ? 1 : 0, skipped = 0;
  for (size_t k = 0; k < m->npages; k++) {
    for (int item = page_has_item0(m, k) ? 0 : 1; item <= 4; item++) {
      case_t c = case_of(m, k, item);
      tests++, failures += c == CASE_FAIL, skipped += c == CASE_SKIP;
    }
  }
  fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
  fprintf(f,
          "<testsuites name=\"fcaudit\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
          "skipped=\"%zu\" time=\"0\">\n",
          tests, failures, skipped);
  /* The run itself: did the run reach enough tagged pages? */
  fprintf(f,
          "  <testsuite name=\"fcaudit run\" tests=\"1\" failures=\"%d\" errors=\"0\" "
          "skipped=\"0\" time=\"0\"",
          v.too_few_tagged ? 1 : 0);
  if (m->first_ts) fputs(" timestamp=\"", f), fca_markup_escape(f, m->first_ts), fputc('"', f);
  fputs(">\n    <properties>\n", f);
  if (m->run)
    fputs("      <property name=\"run\" value=\"", f), fca_markup_escape(f, m->run),
        fputs("\"/>\n", f);
  fprintf(f, "      <property name=\"fail_on\" value=\"%s\"/>\n",
          fca_policy_fail_on_name(&m->policy));
  char *sentence = fca_model_verdict_sentence(m);
  fputs("      <property name=\"verdict\" value=\"", f);
  fca_markup_escape(f, sentence);
  fputs("\"/>\n", f);
  free(sentence);
  fputs("    </properties>\n", f);
  fprintf(f,
          "    <testcase classname=\"fcaudit.run\" name=\"pages that load Stripe.js: at least "
          "%llu\" time=\"0\">\n",
          (unsigned long long)m->policy.require_tagged);
  if (v.too_few_tagged)
    fprintf(f,
            "      <failure type=\"require-tagged\" message=\"%zu tagged page%s, fewer than "
            "--require-tagged %llu\">The run never reached enough pages that load Stripe.js; "
            "check that the test reaches the page that starts Financial Connections and that "
            "its traffic goes through the proxy.</failure>\n",
            m->npages, m->npages == 1 ? "" : "s", (unsigned long long)m->policy.require_tagged);
  fprintf(f, "      <system-out>%zu tagged page%s", m->npages, m->npages == 1 ? "" : "s");
  if (m->npages == 0) fputs(" — WARNING: no page loaded Stripe.js, so nothing was audited", f);
  fputc('\n', f);
  for (size_t i = 0; i < m->nnotes; i++) {
    fputs("note ", f), fca_markup_escape(f, m->notes[i].kind), fputs(": ", f);
    fca_markup_escape(f, m->notes[i].message);
    if (m->notes[i].url) fputs(" — ", f), fca_markup_escape(f, m->notes[i].url);
    fputc('\n', f);
  }
  fputs("</system-out>\n    </testcase>\n  </testsuite>\n", f);

  for (size_t k = 0; k < m->npages; k++) {
    const fca_model_page_t *p = &m->pages[k];
    size_t t = 0, fl = 0, sk = 0;
    int from = page_has_item0(m, k) ? 0 : 1;
    for (int item = from; item <= 4; item++) {
      case_t c = case_of(m, k, item);
      t++, fl += c == CASE_FAIL, sk += c == CASE_SKIP;
    }
    fputs("  <testsuite name=\"", f);
    fca_markup_escape(f, p->key);
    fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" time=\"0\"", t, fl,
            sk);
    if (p->first_ts) fputs(" timestamp=\"", f), fca_markup_escape(f, p->first_ts), fputc('"', f);
    fputs(">\n    <properties>\n      <property name=\"url\" value=\"", f);
    fca_markup_escape(f, p->url);
    fprintf(f, "\"/>\n      <property name=\"top_level\" value=\"%s\"/>\n",
            p->top_level ? "true" : "false");
    fputs("      <property name=\"tagged_by\" value=\"", f);
    fca_markup_escape(f, p->tagged_by ? p->tagged_by : "");
    fputs("\"/>\n      <property name=\"confidence\" value=\"", f);
    fca_markup_escape(f, p->confidence ? p->confidence : "");
    fputs("\"/>\n      <property name=\"stripe_js\" value=\"", f);
    fca_markup_escape(f, fca_model_page_stripejs(p));
    fputs("\"/>\n    </properties>\n", f);
    for (int item = from; item <= 4; item++) write_case(f, m, k, item);
    fputs("  </testsuite>\n", f);
  }
  fputs("</testsuites>\n", f);
  return ferror(f) ? -1 : 0;
}
