/* scorecard: each tagged page's result for checklist items 1-4, and the console summary.
 * An item fails when a warning or error of that item was found on the page; otherwise it passes
 * when the engine judged the page for it (by the rules' scope: COOP and referrer on top-level
 * pages, COOP-4 and sandbox on framed ones) and is n/a when nothing applies. When the engine's
 * summary carries its own scorecard for a page, its word is final (it saw what the events do
 * not say, e.g. whether a top-level page had a CSP sandbox). */
#include <stdlib.h>
#include <string.h>

#include "fcaudit/model.h"
#include "fcaudit/util.h"

static void set_item(fca_item_result_t *r, fca_item_status_t s, char *why) {
  free(r->why);
  r->status = s;
  r->why = why;
}

static void default_item(const fca_model_page_t *p, int item, fca_item_result_t *r) {
  switch (item) {
  case 1:
    set_item(r, FCA_ITEM_PASS,
             fca_xstrdup(p->top_level ? "its Cross-Origin-Opener-Policy lets the popup open"
                                      : "its top-level page's Cross-Origin-Opener-Policy lets "
                                        "the popup open"));
    break;
  case 2:
    if (p->top_level)
      set_item(r, FCA_ITEM_PASS, fca_xstrdup("its referrer policy sends a Referer"));
    else
      set_item(r, FCA_ITEM_NA, fca_xstrdup("a frame: judged on its top-level page"));
    break;
  case 3:
    if (p->top_level)
      set_item(r, FCA_ITEM_NA, fca_xstrdup("not framed, no restricting CSP sandbox"));
    else
      set_item(r, FCA_ITEM_PASS, fca_xstrdup("no sandbox keeps the popup from escaping"));
    break;
  default:
    set_item(r, FCA_ITEM_NA, fca_xstrdup("judged for the whole run: see the test-mode coverage"));
    break;
  }
}

static int status_rank(fca_item_status_t s) {
  return s == FCA_ITEM_FAIL ? 2 : s == FCA_ITEM_PASS ? 1 : 0;
}

/* One item of an engine scorecard: {"1": {"status", "why"}} or [{"item": 1, "status", ...}]. */
static const json_t *engine_item(const json_t *card, int item) {
  if (json_is_object(card)) {
    char k[4];
    snprintf(k, sizeof k, "%d", item);
    return json_object_get(card, k);
  }
  size_t i;
  const json_t *v;
  json_array_foreach(card, i, v) {
    const json_t *it = json_object_get(v, "item");
    if (json_is_integer(it) && json_integer_value(it) == item) return v;
  }
  return NULL;
}

/* Applies the engine's scorecards (summary "pages": [{url, top_level, scorecard}]); several
 * documents of one page combine to the worst result. */
static void apply_engine(fca_model_t *m, bool *touched) {
  const json_t *pages = json_object_get(m->summary, "pages");
  if (!json_is_array(pages)) return;
  size_t i;
  const json_t *pg;
  json_array_foreach(pages, i, pg) {
    const json_t *url = json_object_get(pg, "url");
    const json_t *card = json_object_get(pg, "scorecard");
    if (!card) card = json_object_get(pg, "items");
    if (!json_is_string(url) || !card) continue;
    char *key = fca_url_without_query(json_string_value(url));
    bool top = !json_is_false(json_object_get(pg, "top_level"));
    for (size_t k = 0; k < m->npages; k++) {
      fca_model_page_t *p = &m->pages[k];
      if (p->top_level != top || strcmp(p->key, key) != 0) continue;
      for (int item = 1; item <= 4; item++) {
        const json_t *e = engine_item(card, item);
        fca_item_status_t st;
        const json_t *sv = json_is_object(e) ? json_object_get(e, "status") : e;
        if (!fca_item_status_parse(json_string_value(sv), &st)) continue;
        const char *why = json_string_value(json_object_get(e, "why"));
        if (!why) why = json_string_value(json_object_get(e, "reason"));
        bool first = !touched[k * 5 + item];
        if (first || status_rank(st) > status_rank(p->items[item].status)) {
          set_item(&p->items[item], st, fca_xstrdup(why ? why : p->items[item].why));
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
    for (int item = 1; item <= 4; item++)
      default_item(&m->pages[k], item, &m->pages[k].items[item]);
  apply_engine(m, touched);
  free(touched);
  /* Findings: a warning or error fails its item whatever was said before. */
  for (size_t k = 0; k < m->npages; k++) {
    fca_model_page_t *p = &m->pages[k];
    for (int item = 1; item <= 4; item++) {
      char buf[512] = "";
      size_t len = 0, nfail = 0, ninfo = 0;
      for (size_t i = 0; i < m->nfindings; i++) {
        const fca_model_finding_t *f = &m->findings[i];
        if (f->page != k || f->item != item) continue;
        if (f->level >= FCA_LEVEL_WARNING) {
          if (nfail++ < 3 && len < sizeof buf)
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s: %s", nfail > 1 ? "; " : "",
                                    f->rule, f->message ? f->message : "");
        } else {
          ninfo++;
        }
      }
      if (nfail) {
        if (nfail > 3 && len < sizeof buf)
          snprintf(buf + len, sizeof buf - len, "; and %zu more", nfail - 3);
        set_item(&p->items[item], FCA_ITEM_FAIL, fca_xstrdup(buf));
      } else if (ninfo) {
        char *why =
            fca_xasprintf("%s (%zu info finding%s)", p->items[item].why ? p->items[item].why : "",
                          ninfo, ninfo == 1 ? "" : "s");
        set_item(&p->items[item], p->items[item].status, why);
      }
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
  if (v.fail) {
    fprintf(f, "  verdict: %sFAIL%s", col(color, C_RED), R);
    if (v.failing)
      fprintf(f, " — %zu new finding%s at or above %s", v.failing, v.failing == 1 ? "" : "s",
              fca_level_name(m->policy.fail_on));
    if (v.too_few_tagged)
      fprintf(f, "%s%zu tagged page%s, fewer than --require-tagged %llu", v.failing ? "; " : " — ",
              m->npages, m->npages == 1 ? "" : "s", (unsigned long long)m->policy.require_tagged);
    fputc('\n', f);
  } else {
    fprintf(f, "  verdict: %sPASS%s", col(color, C_GREEN), R);
    if (m->policy.fail_on == FCA_LEVEL_IGNORE)
      fputs(" (--fail-on never)", f);
    else
      fprintf(f, " — no new finding at or above %s", fca_level_name(m->policy.fail_on));
    fputc('\n', f);
  }
}
