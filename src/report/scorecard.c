/* scorecard: each tagged page's result for checklist items 1-4, and the console summary.
 * An item fails when a warning or error of that item was found on the page; otherwise it passes
 * when the engine judged the page for it (by the rules' scope: COOP and referrer on top-level
 * pages, COOP-4 and sandbox on framed ones) and is n/a when nothing applies. When the engine's
 * summary carries its own scorecard for a page, its word is final (it saw what the events do
 * not say, e.g. whether a top-level page had a CSP sandbox). The decisions and their words are
 * the checklist's (fcaudit/checklist.h); this file applies them to the run model. */
#include <stdlib.h>
#include <string.h>

#include "fcaudit/model.h"
#include "fcaudit/util.h"

/* Applies the engine's scorecards (its summary's pages); several documents of one page combine
 * to the worst result. */
static void apply_engine(fca_model_t *m, bool *touched) {
  if (!m->summary) return;
  for (size_t i = 0; i < m->summary->npages; i++) {
    const fca_scorecard_t *pg = &m->summary->pages[i];
    if (!pg->items_said || !pg->url) continue;
    char *key = fca_url_without_query(pg->url);
    for (size_t k = 0; k < m->npages; k++) {
      fca_model_page_t *p = &m->pages[k];
      if (p->top_level != pg->top_level || strcmp(p->key, key) != 0) continue;
      /* The engine's scorecard holds the page's final tag. */
      const char *tb = pg->tagged_by, *cf = pg->confidence;
      if (tb && *tb &&
          fca_model_tag_strength(tb, cf) > fca_model_tag_strength(p->tagged_by, p->confidence)) {
        free(p->tagged_by), free(p->confidence);
        p->tagged_by = fca_xstrdup(tb);
        p->confidence = cf && *cf ? fca_xstrdup(cf) : NULL;
      }
      for (int item = 1; item <= FCA_CHECKLIST_ITEMS; item++) {
        if (!(pg->items_said & (1u << item))) continue;
        const fca_item_result_t *e = &pg->items[item];
        bool first = !touched[k * 5 + item];
        if (first ||
            fca_item_status_rank(e->status) > fca_item_status_rank(p->items[item].status)) {
          fca_item_set(&p->items[item], e->status, e->why ? e->why : p->items[item].why);
          touched[k * 5 + item] = true;
        }
      }
    }
    free(key);
  }
}

void fca_model_finalize(fca_model_t *m) {
  bool *touched = fca_xcalloc(m->npages * 5 + 1, sizeof *touched);
  for (size_t k = 0; k < m->npages; k++)
    for (int item = 1; item <= FCA_CHECKLIST_ITEMS; item++)
      fca_item_nothing_found(&m->pages[k].items[item], item, m->pages[k].top_level);
  apply_engine(m, touched);
  free(touched);
  /* Findings: a warning or error fails its item whatever was said before. */
  for (size_t k = 0; k < m->npages; k++) {
    fca_model_page_t *p = &m->pages[k];
    for (int item = 1; item <= FCA_CHECKLIST_ITEMS; item++) {
      const fca_model_finding_t *worst = NULL;
      size_t nfail = 0, ninfo = 0;
      for (size_t i = 0; i < m->nfindings; i++) {
        const fca_model_finding_t *f = &m->findings[i];
        if (f->page != k || f->item != item) continue;
        if (f->level >= FCA_LEVEL_WARNING) {
          if (!worst || f->level > worst->level) worst = f;
          nfail++;
        } else {
          ninfo++;
        }
      }
      fca_item_apply_findings(&p->items[item], nfail, worst ? worst->rule : NULL,
                              worst ? worst->message : NULL, ninfo);
    }
  }
}

/* ---- console summary ---- */

#define C_RESET "\033[0m"
#define C_RED "\033[1;31m"
#define C_YELLOW "\033[33m"
#define C_GREEN "\033[32m"
#define C_BOLD "\033[1m"

static const char *col(bool color, const char *c) { return color ? c : ""; }

/* Network text on a terminal: control bytes become \xHH so a page cannot send escapes. */
static void put_safe(FILE *f, const char *s) {
  for (; s && *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c < 0x20 || c == 0x7f)
      fprintf(f, "\\x%02x", c);
    else
      fputc(c, f);
  }
}

void fca_model_print_summary(FILE *f, fca_model_t *m, bool color) {
  fca_model_finalize(m);
  fca_model_verdict_t v;
  fca_model_verdict(m, &v);
  const char *B = col(color, C_BOLD), *R = col(color, C_RESET);
  fprintf(f, "%sfcaudit summary%s%s%s\n", B, R, m->run ? " — run " : "", m->run ? m->run : "");
  int64_t seen = fca_model_pages_seen(m);
  if (seen >= 0)
    fprintf(f, "  pages seen: %lld, tagged (load Stripe.js): %zu\n", (long long)seen, m->npages);
  else
    fprintf(f, "  tagged pages (load Stripe.js): %zu\n", m->npages);
  fprintf(f, "  findings: %zu error, %zu warning, %zu info", v.by_level[FCA_LEVEL_ERROR],
          v.by_level[FCA_LEVEL_WARNING], v.by_level[FCA_LEVEL_INFO]);
  if (m->have_baseline) fprintf(f, " (%zu known from the baseline)", v.known);
  fputc('\n', f);
  /* by rule and level, in catalogue order */
  for (size_t r = 0; r < fca_rule_count(); r++) {
    const fca_rule_info_t *ri = fca_rule_get((fca_rule_id_t)r);
    for (int lv = FCA_LEVEL_ERROR; lv >= FCA_LEVEL_INFO; lv--) {
      size_t n = 0, known = 0;
      uint64_t occ = 0;
      for (size_t i = 0; i < m->nfindings; i++) {
        const fca_model_finding_t *fi = &m->findings[i];
        if ((int)fi->level != lv || strcmp(fi->rule, ri->id) != 0) continue;
        n++, occ += fi->count, known += fi->baseline;
      }
      if (!n) continue;
      const char *c = lv == FCA_LEVEL_ERROR ? C_RED : lv == FCA_LEVEL_WARNING ? C_YELLOW : "";
      fprintf(f, "    %-10s %s%-7s%s %zu finding%s (seen %llu×)%s  %s\n", ri->id, col(color, c),
              fca_level_name((fca_level_t)lv), R, n, n == 1 ? "" : "s", (unsigned long long)occ,
              known ? " [baseline]" : "", ri->title);
    }
  }
  for (size_t k = 0; k < m->npages; k++) {
    const fca_model_page_t *p = &m->pages[k];
    fputs("  ", f);
    put_safe(f, p->key);
    fprintf(f, "  (%s, %s, tagged by %s, %s confidence", p->top_level ? "top-level" : "frame",
            fca_model_page_stripejs(p), p->tagged_by ? p->tagged_by : "?",
            p->confidence ? p->confidence : "?");
    if (p->loads > 1) fprintf(f, ", %llu loads", (unsigned long long)p->loads);
    fputs(")\n", f);
    for (int item = 1; item <= 4; item++) {
      const fca_item_result_t *it = &p->items[item];
      const char *c = it->status == FCA_ITEM_FAIL   ? C_RED
                      : it->status == FCA_ITEM_PASS ? C_GREEN
                                                    : "";
      fprintf(f, "    %d %-50s %s%-4s%s  ", item, fca_item_title(item), col(color, c),
              it->status == FCA_ITEM_FAIL ? "FAIL" : fca_item_status_name(it->status), R);
      put_safe(f, it->why);
      fputc('\n', f);
    }
  }
  if (m->nnotes) {
    fprintf(f, "  notes (limits of the audit):\n");
    for (size_t i = 0; i < m->nnotes; i++) {
      fprintf(f, "    %s", m->notes[i].kind);
      if (m->notes[i].count > 1) fprintf(f, " (×%llu)", (unsigned long long)m->notes[i].count);
      fputs(": ", f);
      put_safe(f, m->notes[i].message);
      if (m->notes[i].url) fputs(" — ", f), put_safe(f, m->notes[i].url);
      fputc('\n', f);
    }
  }
  if (m->dropped)
    fprintf(f, "  %llu events past the report's bounds were left out\n",
            (unsigned long long)m->dropped);
  if (m->npages == 0)
    fprintf(f,
            "  %sWARNING: no page loaded Stripe.js, so nothing was audited.%s Check that the run "
            "reaches the page that starts Financial Connections and that its traffic goes "
            "through the proxy (HTTPS_PROXY, the fcaudit CA).\n",
            col(color, C_YELLOW), R);
  char *tm = fca_model_test_mode_line(m);
  if (tm) {
    fputs("  item 4, test-mode coverage: ", f);
    put_safe(f, tm);
    fputc('\n', f);
    free(tm);
  }
  char *sentence = fca_model_verdict_sentence(m);
  fprintf(f, "  verdict: %s%s%s\n", col(color, v.fail ? C_RED : C_BOLD), sentence, R);
  free(sentence);
}
