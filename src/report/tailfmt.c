/* tailfmt: JSON log line -> console line, and the tail filters. The console module formats
 * fca_event_t; here the JSON keys of docs/events.md are mapped back onto it, so the terminal
 * shows a logged event exactly as the proxy printed it live. */
#include "fcaudit/tailfmt.h"

#include <stdio.h>
#include <string.h>

#include "fcaudit/console.h"
#include "fcaudit/eventjson.h"
#include "fcaudit/util.h"

static const char *jstr(const json_t *o, const char *k) {
  const json_t *v = json_object_get(o, k);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool type_of(const char *s, fca_event_type_t *t) {
  static const char *const names[] = {"page", "violation", "pass", "note", "summary"};
  for (int i = 0; s && i < 5; i++)
    if (strcmp(s, names[i]) == 0) {
      *t = (fca_event_type_t)i;
      return true;
    }
  return false;
}

int fca_tailfmt_event(const json_t *o, fca_event_t *ev) {
  memset(ev, 0, sizeof *ev);
  if (!json_is_object(o) || !type_of(jstr(o, "type"), &ev->type)) return -1;
  ev->rule = jstr(o, "rule");
  const char *lv = jstr(o, "level");
  if (!lv || fca_level_parse(lv, &ev->level) < 0) ev->level = FCA_LEVEL_INFO;
  const json_t *it = json_object_get(o, "item");
  ev->item = json_is_integer(it) ? (int)json_integer_value(it) : 0;
  ev->message = jstr(o, "message");
  ev->fix = jstr(o, "fix");
  const json_t *fs = json_object_get(o, "fix_stack");
  if (json_is_object(fs) && jstr(fs, "stack") && jstr(fs, "fix")) {
    ev->fix_stack = jstr(fs, "stack");
    ev->fix_stack_label = jstr(fs, "label");
    ev->fix_stack_confidence = jstr(fs, "confidence");
    ev->fix_stack_why = jstr(fs, "why");
    ev->fix_stack_text = jstr(fs, "fix");
  }
  ev->doc = jstr(o, "doc");
  ev->client = jstr(o, "client");
  ev->note = jstr(o, "note");
  const json_t *c = json_object_get(o, "count");
  ev->count = json_is_integer(c) && json_integer_value(c) > 0 ? (uint64_t)json_integer_value(c) : 1;
  const json_t *pg = json_object_get(o, "page");
  if (json_is_object(pg)) {
    ev->has_page = true;
    const json_t *id = json_object_get(pg, "id");
    ev->page.id = json_is_integer(id) ? (uint64_t)json_integer_value(id) : 0;
    ev->page.url = jstr(pg, "url");
    ev->page.top_level = !json_is_false(json_object_get(pg, "top_level"));
    ev->page.tagged_by = jstr(pg, "tagged_by");
    ev->page.confidence = jstr(pg, "confidence");
  }
  const json_t *e = json_object_get(o, "evidence");
  if (json_is_object(e)) {
    ev->has_evidence = true;
    ev->evidence.source = jstr(e, "source");
    ev->evidence.name = jstr(e, "name");
    ev->evidence.value = jstr(e, "value");
    ev->evidence.value_len = ev->evidence.value ? strlen(ev->evidence.value) : 0;
    const json_t *off = json_object_get(e, "offset");
    ev->evidence.offset = json_is_integer(off) ? (int64_t)json_integer_value(off) : -1;
    ev->evidence.url = jstr(e, "url");
  }
  return 0;
}

bool fca_tailfmt_match(const fca_tail_filter_t *flt, const json_t *o) {
  fca_event_t ev;
  if (fca_tailfmt_event(o, &ev) < 0) return false;
  if (flt->run && (!jstr(o, "run") || strcmp(flt->run, jstr(o, "run")) != 0)) return false;
  fca_level_t lv = ev.type == FCA_EV_VIOLATION ? ev.level : FCA_LEVEL_INFO;
  if (lv < flt->min_level) return false;
  if (flt->rule && (ev.type != FCA_EV_VIOLATION || !ev.rule || !fca_glob_match(flt->rule, ev.rule)))
    return false;
  if (flt->url) {
    bool hit = (ev.has_page && ev.page.url && fca_glob_match(flt->url, ev.page.url)) ||
               (ev.has_evidence && ev.evidence.url && fca_glob_match(flt->url, ev.evidence.url));
    if (!hit) return false;
  }
  return true;
}

size_t fca_tailfmt_line(const json_t *o, char *buf, size_t n, bool color) {
  fca_event_t ev;
  if (n < 2 || fca_tailfmt_event(o, &ev) < 0) return 0;
  if (ev.type != FCA_EV_SUMMARY) return fca_console_format(buf, n, &ev, color);
  /* The summary read as every output reads it (fca_summary_from_json). */
  fca_summary_t *sum = fca_summary_from_json(o);
  int len = snprintf(buf, n, "%sSUMMARY%s run %s", color ? "\033[1m" : "", color ? "\033[0m" : "",
                     jstr(o, "run") ? jstr(o, "run") : "?");
  if (len < 0) {
    fca_summary_free(sum);
    return 0;
  }
  size_t l = (size_t)len < n ? (size_t)len : n - 1;
  if (sum->pages_seen >= 0 && l < n)
    l += (size_t)snprintf(buf + l, n - l, "  pages seen %lld", (long long)sum->pages_seen);
  /* Tagged pages as the console and the reports count them (by URL), not loads; a summary
   * without its pages has only the count of loads. */
  if (l < n && (sum->npages || !sum->pages_tagged))
    l += (size_t)snprintf(buf + l, n - l, "  tagged %zu%s", fca_summary_pages_by_url(sum),
                          sum->pages_not_listed ? "+" : "");
  else if (l < n)
    l += (size_t)snprintf(buf + l, n - l, "  tagged %llu", (unsigned long long)sum->pages_tagged);
  /* docs/events.md: violations.by_level.LEVEL.reported (distinct findings logged). */
  const fca_count_t *bl = sum->violations_by_level;
  if (l < n)
    l += (size_t)snprintf(buf + l, n - l, "  errors %llu  warnings %llu  info %llu",
                          (unsigned long long)bl[FCA_LEVEL_ERROR].reported,
                          (unsigned long long)bl[FCA_LEVEL_WARNING].reported,
                          (unsigned long long)bl[FCA_LEVEL_INFO].reported);
  /* The run model's verdict, in the words of every other output. */
  const char *sentence = sum->verdict.sentence;
  if (sentence && l < n) {
    char safe[600];
    size_t k = 0;
    for (const char *c = sentence; *c && k + 5 < sizeof safe; c++)
      if ((unsigned char)*c < 0x20 || *c == 0x7f)
        k += (size_t)snprintf(safe + k, sizeof safe - k, "\\x%02x", (unsigned char)*c);
      else
        safe[k++] = *c;
    safe[k] = '\0';
    l += (size_t)snprintf(buf + l, n - l, "  verdict: %s", safe);
  }
  fca_summary_free(sum);
  if (l >= n - 1) l = n - 2;
  buf[l++] = '\n';
  buf[l] = '\0';
  return l;
}
