/* html: the report a manager reads. Invariants: one file, styles inline in <style>, no script,
 * no image, font or stylesheet fetched from anywhere (the only URLs are links the reader may
 * follow: the checklist and the audited pages); every string from the model goes through
 * fca_markup_escape(), which escapes the five HTML specials and shows control characters as \xHH.
 */
#include "report_html.h"

#include <stdlib.h>
#include <string.h>

#include "fcaudit/ruleset.h"
#include "markup.h"

/* Only http(s) links become links; anything else (javascript:, data:) stays text. */
static void link(FILE *f, const char *url, const char *label) {
  if (url && (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0)) {
    fputs("<a rel=\"noreferrer noopener\" href=\"", f);
    fca_markup_escape(f, url);
    fputs("\">", f);
    fca_markup_escape(f, label ? label : url);
    fputs("</a>", f);
  } else {
    fca_markup_escape(f, label ? label : url);
  }
}

static const char *CSS =
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;"
    "max-width:60em;padding:0 1em;color:#1d2330}"
    "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #dde}"
    ".verdict{padding:1em 1.2em;border-radius:8px;font-size:1.2em;font-weight:600}"
    ".verdict.pass{background:#e3f6e8;color:#14532d}.verdict.fail{background:#fde8e8;"
    "color:#7f1d1d}.verdict small{display:block;font-weight:400;font-size:.8em}"
    ".warn{background:#fff6db;color:#713f12;padding:.8em 1em;border-radius:6px;margin:1em 0}"
    "table{border-collapse:collapse;width:100%;margin:.5em 0}td,th{text-align:left;"
    "padding:.35em .6em;border-bottom:1px solid #eef;vertical-align:top}"
    ".st{font-weight:700;white-space:nowrap}.st.pass{color:#15803d}.st.fail{color:#b91c1c}"
    ".st.na{color:#6b7280}.lv{font-weight:700;text-transform:uppercase;font-size:.8em}"
    ".lv.error{color:#b91c1c}.lv.warning{color:#a16207}.lv.info{color:#2563eb}"
    "code{background:#f3f4f8;padding:.1em .3em;border-radius:3px;word-break:break-all}"
    ".finding{border:1px solid #e5e7eb;border-radius:6px;padding:.6em 1em;margin:.8em 0}"
    ".tag{font-size:.75em;background:#e5e7eb;border-radius:3px;padding:0 .4em;margin-left:.4em}"
    ".muted{color:#6b7280}";

int fca_report_html_write(fca_model_t *m, FILE *f) {
  fca_model_finalize(m);
  fca_model_verdict_t v;
  fca_model_verdict(m, &v);
  fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta name=\"referrer\" content=\"no-referrer\">\n"
        "<title>fcaudit report",
        f);
  if (m->run) fputs(" — ", f), fca_markup_escape(f, m->run);
  fprintf(f, "</title>\n<style>%s</style></head><body>\n", CSS);
  fputs("<h1>Financial Connections deployment audit</h1>\n<p class=\"muted\">fcaudit " FCA_VERSION,
        f);
  if (m->run) fputs(" · run ", f), fca_markup_escape(f, m->run);
  if (m->first_ts) fputs(" · ", f), fca_markup_escape(f, m->first_ts);
  if (m->last_ts) fputs(" → ", f), fca_markup_escape(f, m->last_ts);
  fputs("</p>\n", f);

  fprintf(f, "<div class=\"verdict %s\" id=\"verdict\">Verdict: %s", v.fail ? "fail" : "pass",
          v.fail ? "FAIL" : "PASS");
  if (v.failing)
    fprintf(f, "<small>%zu new finding%s at or above %s.</small>", v.failing,
            v.failing == 1 ? "" : "s", fca_level_name(m->policy.fail_on));
  if (v.too_few_tagged)
    fprintf(f, "<small>%zu tagged page%s, fewer than the %llu required.</small>", m->npages,
            m->npages == 1 ? "" : "s", (unsigned long long)m->policy.require_tagged);
  if (!v.fail)
    fprintf(f, "<small>%s</small>",
            m->policy.fail_on == FCA_LEVEL_IGNORE
                ? "Findings never fail this run (--fail-on never)."
            : m->policy.fail_on == FCA_LEVEL_ERROR   ? "No new error-level finding."
            : m->policy.fail_on == FCA_LEVEL_WARNING ? "No new warning or error."
                                                     : "No new finding.");
  fputs("</div>\n", f);
  if (m->npages == 0)
    fputs("<div class=\"warn\"><b>No page loaded Stripe.js, so nothing was audited.</b> Check that "
          "the run reaches the page that starts Financial Connections and that its traffic goes "
          "through the proxy.</div>\n",
          f);

  fputs("<h2>Summary</h2>\n<table>\n", f);
  int64_t seen = fca_model_pages_seen(m);
  if (seen >= 0) fprintf(f, "<tr><th>Pages seen</th><td>%lld</td></tr>\n", (long long)seen);
  fprintf(f, "<tr><th>Pages that load Stripe.js (audited)</th><td>%zu</td></tr>\n", m->npages);
  fprintf(f,
          "<tr><th>Findings</th><td><span class=\"lv error\">%zu error</span> · <span class=\"lv "
          "warning\">%zu warning</span> · <span class=\"lv info\">%zu info</span></td></tr>\n",
          v.by_level[FCA_LEVEL_ERROR], v.by_level[FCA_LEVEL_WARNING], v.by_level[FCA_LEVEL_INFO]);
  if (m->have_baseline)
    fprintf(f, "<tr><th>Known from the baseline</th><td>%zu</td></tr>\n", v.known);
  fputs("</table>\n", f);

  for (size_t k = 0; k < m->npages; k++) {
    const fca_model_page_t *p = &m->pages[k];
    fputs("<h2>", f);
    fca_markup_escape(f, p->key);
    fputs("</h2>\n<p class=\"muted\">", f);
    fprintf(f, "%s · %s · tagged by ", p->top_level ? "top-level page" : "framed page",
            fca_model_page_stripejs(p));
    fca_markup_escape(f, p->tagged_by ? p->tagged_by : "?");
    fputs(" · ", f);
    fca_markup_escape(f, p->confidence ? p->confidence : "?");
    fputs(" confidence</p>\n<table><tr><th>#</th><th>Checklist item</th><th>Result</th>"
          "<th>Why</th></tr>\n",
          f);
    for (int item = 1; item <= 4; item++) {
      const fca_item_result_t *it = &p->items[item];
      const char *cls = it->status == FCA_ITEM_PASS   ? "pass"
                        : it->status == FCA_ITEM_FAIL ? "fail"
                                                      : "na";
      fprintf(f, "<tr><td>%d</td><td>%s</td><td class=\"st %s\">%s</td><td>", item,
              fca_item_title(item), cls,
              it->status == FCA_ITEM_FAIL ? "FAIL" : fca_item_status_name(it->status));
      fca_markup_escape(f, it->why);
      fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
  }

  if (m->nfindings) fputs("<h2>Findings</h2>\n", f);
  for (size_t i = 0; i < m->nfindings; i++) {
    const fca_model_finding_t *fi = &m->findings[i];
    const fca_rule_info_t *ri = fca_rule_lookup(fi->rule);
    fputs("<div class=\"finding\">", f);
    fprintf(f, "<span class=\"lv %s\">%s</span> <b>", fca_level_name(fi->level),
            fca_level_name(fi->level));
    fca_markup_escape(f, fi->rule);
    fputs("</b> ", f);
    if (ri) fca_markup_escape(f, ri->title);
    if (fi->baseline) fputs("<span class=\"tag\">baseline</span>", f);
    if (fca_model_finding_fails(m, fi)) fputs("<span class=\"tag\">fails the run</span>", f);
    if (fi->count > 1)
      fprintf(f, "<span class=\"tag\">seen %llu×</span>", (unsigned long long)fi->count);
    fputs("<br>", f);
    fca_markup_escape(f, fi->message);
    fputs("<br><span class=\"muted\">Page:</span> ", f);
    fca_markup_escape(f, m->pages[fi->page].url);
    if (fi->has_evidence) {
      fputs("<br><span class=\"muted\">Evidence:</span> <code>", f);
      if (fi->ev_name) fca_markup_escape(f, fi->ev_name), fputs(": ", f);
      fca_markup_escape(f, fi->ev_value);
      fputs("</code>", f);
      if (fi->ev_offset >= 0)
        fprintf(f, " <span class=\"muted\">(body offset %lld)</span>", (long long)fi->ev_offset);
      if (fi->ev_url)
        fputs(" <span class=\"muted\">in</span> ", f), fca_markup_escape(f, fi->ev_url);
    }
    if (fi->fix) fputs("<br><b>Fix:</b> ", f), fca_markup_escape(f, fi->fix);
    char *sf = fca_model_stack_fix_line(fi);
    if (sf) fputs("<br><b>Fix for this stack:</b> ", f), fca_markup_escape(f, sf);
    free(sf);
    if (fi->doc) fputs(" · ", f), link(f, fi->doc, "checklist");
    fputs("</div>\n", f);
  }
  if (m->nnotes) {
    fputs("<h2>Limits of this audit</h2>\n<ul>\n", f);
    for (size_t i = 0; i < m->nnotes; i++) {
      fputs("<li><b>", f);
      fca_markup_escape(f, m->notes[i].kind);
      fputs("</b>: ", f);
      fca_markup_escape(f, m->notes[i].message);
      if (m->notes[i].url) fputs(" — ", f), fca_markup_escape(f, m->notes[i].url);
      if (m->notes[i].count > 1) fprintf(f, " (×%llu)", (unsigned long long)m->notes[i].count);
      fputs("</li>\n", f);
    }
    fputs("</ul>\n", f);
  }
  fputs("</body></html>\n", f);
  return ferror(f) ? -1 : 0;
}
