/* model: builds the run model from event objects. Invariants: a model holds one run only (the
 * first run seen, or the one asked for); a finding is stored once per fingerprint, its count is
 * the larger of the events' own counts and the number of events merged (deduplicated engines
 * re-emit with a growing count, --no-dedup emits count 1 each time); pages are grouped by URL
 * without query and frame position; every array is bounded (FCA_MODEL_*_MAX). */
#include "fcaudit/model.h"
#include "fcaudit/exit.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "fcaudit/eventjson.h"
#include "fcaudit/sink.h"
#include "fcaudit/util.h"

static char *dup_or_null(const char *s) { return s ? fca_xstrdup(s) : NULL; }

static const char *jstr(const json_t *o, const char *key) {
  const json_t *v = json_object_get(o, key);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

static void set_str(char **dst, const char *s) {
  if (!s || (*dst && strcmp(*dst, s) == 0)) return;
  free(*dst);
  *dst = fca_xstrdup(s);
}

void fca_model_fingerprint(const char *rule, const char *page_url, const char *ev_source,
                           const char *ev_name, const char *ev_value, const char *ev_url,
                           char out[FCA_FINGERPRINT_SIZE]) {
  char *pu = fca_url_without_query(page_url ? page_url : "");
  char *eu = fca_url_without_query(ev_url ? ev_url : "");
  const char *parts[] = {rule ? rule : "",           pu,
                         ev_source ? ev_source : "", ev_name ? ev_name : "",
                         ev_value ? ev_value : "",   eu};
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) abort();
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
    EVP_DigestUpdate(ctx, parts[i], strlen(parts[i]) + 1); /* the NUL separates fields */
  EVP_DigestFinal_ex(ctx, md, &mdlen);
  EVP_MD_CTX_free(ctx);
  for (unsigned int i = 0; i < 32 && i < mdlen; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
  out[64] = '\0';
  free(pu);
  free(eu);
}

fca_model_t *fca_model_new(const char *run) {
  fca_model_t *m = fca_xcalloc(1, sizeof *m);
  m->want_run = dup_or_null(run);
  m->policy.fail_on = FCA_LEVEL_ERROR;
  pthread_mutex_init(&m->lock, NULL);
  return m;
}

static void free_items(fca_model_page_t *p) {
  for (int i = 0; i < 5; i++) fca_item_clear(&p->items[i]);
}

void fca_model_free(fca_model_t *m) {
  if (!m) return;
  for (size_t i = 0; i < m->npages; i++) {
    fca_model_page_t *p = &m->pages[i];
    free(p->url), free(p->key), free(p->tagged_by), free(p->confidence), free(p->first_ts);
    free_items(p);
  }
  for (size_t i = 0; i < m->nfindings; i++) {
    fca_model_finding_t *f = &m->findings[i];
    free(f->rule), free(f->message), free(f->fix), free(f->doc);
    free(f->stack), free(f->stack_label), free(f->stack_confidence), free(f->stack_fix);
    free(f->ev_source), free(f->ev_name), free(f->ev_value), free(f->ev_url);
    free(f->first_ts), free(f->last_ts);
  }
  for (size_t i = 0; i < m->nnotes; i++)
    free(m->notes[i].kind), free(m->notes[i].message), free(m->notes[i].url);
  free(m->pages), free(m->findings), free(m->notes);
  fca_summary_free(m->summary);
  free(m->run), free(m->want_run), free(m->first_ts), free(m->last_ts), free(m->baseline_path);
  pthread_mutex_destroy(&m->lock);
  free(m);
}

/* Grows an array by one zeroed element; NULL when the bound is reached. */
static void *grow(void **arr, size_t *n, size_t *cap, size_t size, size_t max) {
  if (*n >= max) return NULL;
  if (*n == *cap) {
    *cap = *cap ? *cap * 2 : 16;
    *arr = fca_xrealloc(*arr, *cap * size);
  }
  char *e = (char *)*arr + *n * size;
  memset(e, 0, size);
  (*n)++;
  return e;
}

int fca_model_tag_strength(const char *tagged_by, const char *confidence) {
  static const char *const kinds[] = {"script-literal", "script-request", "script-tag"};
  int k = 0, c = 0;
  for (int i = 0; tagged_by && i < 3; i++)
    if (strcmp(tagged_by, kinds[i]) == 0) k = i + 1;
  if (confidence) c = strcmp(confidence, "high") == 0 ? 2 : strcmp(confidence, "medium") == 0;
  return tagged_by ? c * 8 + k : -1;
}

/* The page of an event's "page" object (created when new); SIZE_MAX when there is none or the
 * page is not tagged (a note about an untagged document). */
static size_t page_of(fca_model_t *m, const json_t *pg, const char *ts, bool create) {
  const char *url = jstr(pg, "url");
  if (!url) return SIZE_MAX;
  bool top = !json_is_false(json_object_get(pg, "top_level"));
  char *key = fca_url_without_query(url);
  for (size_t i = 0; i < m->npages; i++) {
    if (m->pages[i].top_level == top && strcmp(m->pages[i].key, key) == 0) {
      free(key);
      fca_model_page_t *p = &m->pages[i];
      /* The engine upgrades a page's tag (a script literal, then the browser's request for
       * Stripe.js) and later events carry the upgrade: the strongest tag seen is the final
       * one, as in the engine (confidence first, then the kind of evidence). */
      const char *tb = jstr(pg, "tagged_by"), *c = jstr(pg, "confidence");
      if (tb &&
          fca_model_tag_strength(tb, c) > fca_model_tag_strength(p->tagged_by, p->confidence)) {
        set_str(&p->tagged_by, tb);
        set_str(&p->confidence, c);
      }
      return i;
    }
  }
  if (!create || !jstr(pg, "tagged_by")) {
    free(key);
    return SIZE_MAX;
  }
  fca_model_page_t *p =
      grow((void **)&m->pages, &m->npages, &m->cap_pages, sizeof *p, FCA_MODEL_PAGES_MAX);
  if (!p) {
    free(key);
    m->dropped++;
    return SIZE_MAX;
  }
  p->url = fca_xstrdup(url);
  p->key = key;
  p->top_level = top;
  p->tagged_by = dup_or_null(jstr(pg, "tagged_by"));
  p->confidence = dup_or_null(jstr(pg, "confidence"));
  p->first_ts = dup_or_null(ts);
  return m->npages - 1;
}

static uint64_t jcount(const json_t *o) {
  const json_t *c = json_object_get(o, "count");
  return json_is_integer(c) && json_integer_value(c) > 0 ? (uint64_t)json_integer_value(c) : 1;
}

static int add_violation(fca_model_t *m, const json_t *ev, const char *ts) {
  const char *rule = jstr(ev, "rule");
  fca_level_t level;
  const char *lv = jstr(ev, "level");
  if (!rule || !lv || fca_level_parse(lv, &level) < 0) return -1;
  const fca_rule_info_t *ri = fca_rule_lookup(rule);
  if (level == FCA_LEVEL_IGNORE || (ri && m->ignore[ri->rule])) return 1;
  const json_t *pg = json_object_get(ev, "page");
  size_t pi = page_of(m, pg, ts, true);
  if (pi == SIZE_MAX) {
    m->dropped += jstr(pg, "url") ? 0 : 1; /* a violation always names its page */
    return jstr(pg, "url") ? 0 : -1;
  }
  const json_t *e = json_object_get(ev, "evidence");
  bool has_ev = json_is_object(e);
  const char *src = has_ev ? jstr(e, "source") : NULL, *name = has_ev ? jstr(e, "name") : NULL,
             *val = has_ev ? jstr(e, "value") : NULL, *eurl = has_ev ? jstr(e, "url") : NULL;
  char fp[FCA_FINGERPRINT_SIZE];
  fca_model_fingerprint(rule, m->pages[pi].url, src, name, val, eurl, fp);
  uint64_t cnt = jcount(ev);
  for (size_t i = 0; i < m->nfindings; i++) {
    fca_model_finding_t *f = &m->findings[i];
    if (strcmp(f->fingerprint, fp) != 0) continue;
    f->nevents++;
    if (cnt > f->count) f->count = cnt;
    if (f->nevents > f->count) f->count = f->nevents;
    if (level > f->level) f->level = level;
    set_str(&f->last_ts, ts);
    return 0;
  }
  fca_model_finding_t *f = grow((void **)&m->findings, &m->nfindings, &m->cap_findings, sizeof *f,
                                FCA_MODEL_FINDINGS_MAX);
  if (!f) {
    m->dropped++;
    return 0;
  }
  memcpy(f->fingerprint, fp, sizeof fp);
  f->rule = fca_xstrdup(rule);
  f->level = level;
  const json_t *it = json_object_get(ev, "item");
  f->item = json_is_integer(it) ? (int)json_integer_value(it) : (ri ? ri->item : 0);
  if (f->item < 0 || f->item > 4) f->item = 0;
  f->message = dup_or_null(jstr(ev, "message"));
  f->fix = dup_or_null(jstr(ev, "fix") ? jstr(ev, "fix") : (ri ? ri->fix : NULL));
  f->doc = dup_or_null(jstr(ev, "doc") ? jstr(ev, "doc") : (ri ? ri->doc : NULL));
  const json_t *fs = json_object_get(ev, "fix_stack");
  if (json_is_object(fs) && jstr(fs, "stack") && jstr(fs, "fix")) {
    f->stack = dup_or_null(jstr(fs, "stack"));
    f->stack_label = dup_or_null(jstr(fs, "label") ? jstr(fs, "label") : jstr(fs, "stack"));
    f->stack_confidence = dup_or_null(jstr(fs, "confidence"));
    f->stack_fix = dup_or_null(jstr(fs, "fix"));
  }
  f->page = pi;
  f->has_evidence = has_ev;
  f->ev_source = dup_or_null(src);
  f->ev_name = dup_or_null(name);
  f->ev_value = dup_or_null(val);
  f->ev_url = dup_or_null(eurl);
  const json_t *off = has_ev ? json_object_get(e, "offset") : NULL;
  f->ev_offset = json_is_integer(off) ? (int64_t)json_integer_value(off) : -1;
  f->ev_escaped = has_ev && json_is_true(json_object_get(e, "escaped"));
  f->count = cnt;
  f->nevents = 1;
  f->first_ts = dup_or_null(ts);
  f->last_ts = dup_or_null(ts);
  return 0;
}

const char *fca_model_page_stripejs(const fca_model_page_t *p) {
  return p->never_fetched ? "references Stripe.js (never fetched)" : "loads Stripe.js";
}

char *fca_model_stack_fix_line(const fca_model_finding_t *f) {
  if (!f->stack_fix) return NULL;
  bool guess = f->stack_confidence && strcmp(f->stack_confidence, "guess") == 0;
  return fca_xasprintf("%s%s: %s", f->stack_label ? f->stack_label : f->stack,
                       guess ? " (a guess from its headers)" : "", f->stack_fix);
}

static void add_note(fca_model_t *m, const json_t *ev, const char *ts) {
  const char *kind = jstr(ev, "note"), *msg = jstr(ev, "message");
  const char *url = jstr(json_object_get(ev, "page"), "url");
  if (!kind) kind = "note";
  if (strcmp(kind, "stripe-js-not-fetched") == 0) {
    size_t pi = page_of(m, json_object_get(ev, "page"), ts, true);
    if (pi != SIZE_MAX) m->pages[pi].never_fetched = true;
  }
  uint64_t cnt = jcount(ev);
  for (size_t i = 0; i < m->nnotes; i++) {
    fca_model_note_t *n = &m->notes[i];
    if (strcmp(n->kind, kind) == 0 && !n->message == !msg && (!msg || !strcmp(n->message, msg)) &&
        !n->url == !url && (!url || !strcmp(n->url, url))) {
      n->count += cnt;
      return;
    }
  }
  fca_model_note_t *n =
      grow((void **)&m->notes, &m->nnotes, &m->cap_notes, sizeof *n, FCA_MODEL_NOTES_MAX);
  if (!n) {
    m->dropped++;
    return;
  }
  n->kind = fca_xstrdup(kind);
  n->message = dup_or_null(msg);
  n->url = dup_or_null(url);
  n->count = cnt;
}

/* Takes the engine's summary (the model's own copy); runs merged in a fleet add up
 * (fca_summary_merge). */
static void take_summary(fca_model_t *m, fca_summary_t *s) {
  if (m->fleet && m->summary) {
    fca_summary_merge(m->summary, s);
    fca_summary_free(s);
    return;
  }
  fca_summary_free(m->summary);
  m->summary = s;
}

static void add_summary(fca_model_t *m, const json_t *ev) {
  take_summary(m, fca_summary_from_json(ev));
}

int fca_model_add_json(fca_model_t *m, json_t *ev) {
  if (!json_is_object(ev)) return -1;
  const char *type = jstr(ev, "type"), *run = jstr(ev, "run"), *ts = jstr(ev, "ts");
  if (!type) return -1;
  if (run && m->fleet) {
    /* Merged runs: the model's run names them all, in the order first seen. */
    bool known = false;
    for (const char *p = m->run; p && !known; p = strstr(p, ", "), p = p ? p + 2 : NULL)
      known = strncmp(p, run, strlen(run)) == 0 && (p[strlen(run)] == ',' || !p[strlen(run)]);
    if (!known) {
      char *joined = m->run ? fca_xasprintf("%s, %s", m->run, run) : fca_xstrdup(run);
      free(m->run);
      m->run = joined;
    }
  } else if (run) {
    if (!m->run) {
      if (m->want_run && strcmp(m->want_run, run) != 0) {
        m->other_runs++;
        return 1;
      }
      m->run = fca_xstrdup(run);
    } else if (strcmp(m->run, run) != 0) {
      m->other_runs++;
      return 1;
    }
  }
  int rc = 0;
  if (strcmp(type, "page") == 0) {
    size_t before = m->npages;
    size_t pi = page_of(m, json_object_get(ev, "page"), ts, true);
    if (pi != SIZE_MAX) m->pages[pi].loads++;
    (void)before;
  } else if (strcmp(type, "violation") == 0) {
    rc = add_violation(m, ev, ts);
  } else if (strcmp(type, "pass") == 0) {
    size_t pi = page_of(m, json_object_get(ev, "page"), ts, true);
    if (pi != SIZE_MAX) m->pages[pi].passes++;
  } else if (strcmp(type, "note") == 0) {
    add_note(m, ev, ts);
  } else if (strcmp(type, "summary") == 0) {
    add_summary(m, ev);
  } else {
    return 1; /* a newer event type: ignored, as docs/events.md asks of readers */
  }
  if (rc < 0) return -1;
  m->events++;
  if (ts) {
    if (!m->first_ts) m->first_ts = fca_xstrdup(ts);
    set_str(&m->last_ts, ts);
  }
  return rc;
}

void fca_model_event_fn(void *model, const fca_event_t *ev) {
  fca_model_t *m = model;
  /* The sink passes no run id to subscribers; the model is per run anyway. */
  json_t *o = fca_event_to_json(ev, NULL);
  pthread_mutex_lock(&m->lock);
  fca_model_add_json(m, o);
  pthread_mutex_unlock(&m->lock);
  json_decref(o);
}

int fca_model_subscribe(fca_model_t *m, struct fca_sink *sink) {
  const char *id = fca_sink_run_id(sink);
  pthread_mutex_lock(&m->lock);
  if (id && !m->run) m->run = fca_xstrdup(id);
  pthread_mutex_unlock(&m->lock);
  fca_sink_set_summary_fn(sink, fca_model_summary_fn, m);
  return fca_sink_subscribe(sink, fca_model_event_fn, m);
}

/* ---- offline ---- */

static json_t *parse_line(const char *line, size_t n) {
  while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
  if (n == 0) return NULL;
  json_t *o = json_loadb(line, n, JSON_REJECT_DUPLICATES, NULL);
  if (o && !json_is_object(o)) {
    json_decref(o);
    return NULL;
  }
  return o;
}

int fca_model_load_stream(fca_model_t *m, FILE *f, const char *name, char *err, size_t errlen) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  /* Pass 1 (only without --run): the latest run is the one whose first line comes last. */
  if (!m->want_run && !m->run) {
    char **runs = NULL;
    size_t nruns = 0;
    long start = ftell(f);
    while ((n = getline(&line, &cap, f)) > 0) {
      json_t *o = parse_line(line, (size_t)n);
      const char *r = o ? jstr(o, "run") : NULL;
      bool seen = false;
      for (size_t i = 0; r && i < nruns && !seen; i++) seen = strcmp(runs[i], r) == 0;
      if (r && !seen) {
        runs = fca_xrealloc(runs, (nruns + 1) * sizeof *runs);
        runs[nruns++] = fca_xstrdup(r);
      }
      json_decref(o);
    }
    if (nruns) m->want_run = fca_xstrdup(runs[nruns - 1]);
    for (size_t i = 0; i < nruns; i++) free(runs[i]);
    free(runs);
    if (start < 0 || fseek(f, start, SEEK_SET) != 0) {
      free(line);
      fca_seterr(err, errlen, "%s: cannot read it twice (use --run ID with a pipe)", name);
      return -1;
    }
  }
  uint64_t taken = m->events;
  while ((n = getline(&line, &cap, f)) > 0) {
    json_t *o = parse_line(line, (size_t)n);
    if (!o || fca_model_add_json(m, o) < 0) {
      if (o || strspn(line, " \t\r\n") != (size_t)n) m->bad_lines++;
    }
    json_decref(o);
  }
  free(line);
  if (ferror(f)) {
    fca_seterr(err, errlen, "%s: read error: %s", name, strerror(errno));
    return -1;
  }
  if (m->events == taken) {
    if (m->want_run)
      fca_seterr(err, errlen, "%s: no event of run %s", name, m->want_run);
    else
      fca_seterr(err, errlen, "%s: no event in it", name);
    return -1;
  }
  return 0;
}

int fca_model_load_file(fca_model_t *m, const char *path, char *err, size_t errlen) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
  if (!f) {
    fca_seterr(err, errlen, "cannot open %s: %s", path, strerror(errno));
    return -1;
  }
  int rc = fca_model_load_stream(m, f, path, err, errlen);
  if (f != stdin) fclose(f);
  return rc;
}

/* ---- policy, baseline, verdict ---- */

void fca_model_ignore_rule(fca_model_t *m, const char *rule_id) {
  const fca_rule_info_t *ri = fca_rule_lookup(rule_id);
  if (!ri) return;
  m->ignore[ri->rule] = true;
  size_t k = 0;
  for (size_t i = 0; i < m->nfindings; i++) {
    fca_model_finding_t *f = &m->findings[i];
    if (strcmp(f->rule, rule_id) == 0) {
      free(f->rule), free(f->message), free(f->fix), free(f->doc);
      free(f->stack), free(f->stack_label), free(f->stack_confidence), free(f->stack_fix);
      free(f->ev_source), free(f->ev_name), free(f->ev_value), free(f->ev_url);
      free(f->first_ts), free(f->last_ts);
      continue;
    }
    m->findings[k++] = *f;
  }
  m->nfindings = k;
}

void fca_model_set_policy(fca_model_t *m, const fca_model_policy_t *p) { m->policy = *p; }

int fca_model_parse_fail_on(const char *s, fca_level_t *out) {
  if (s && strcmp(s, "never") == 0) {
    *out = FCA_LEVEL_IGNORE;
    return 0;
  }
  if (!s || fca_level_parse(s, out) < 0 || *out == FCA_LEVEL_IGNORE) return -1;
  return 0;
}

int fca_model_apply_baseline_json(fca_model_t *m, const json_t *report, char *err, size_t errlen) {
  const json_t *vs = json_object_get(report, "violations");
  if (!json_is_object(report) || !json_is_array(vs)) {
    fca_seterr(err, errlen, "not an fcaudit JSON report (no \"violations\" array)");
    return -1;
  }
  size_t i;
  const json_t *v;
  json_array_foreach(vs, i, v) {
    char fp[FCA_FINGERPRINT_SIZE];
    const char *given = jstr(json_object_get(v, "fingerprints"), FCA_FINGERPRINT_KEY);
    if (given && strlen(given) == 64) {
      memcpy(fp, given, sizeof fp);
    } else { /* recompute: a report edited by hand may lack it */
      const json_t *e = json_object_get(v, "evidence");
      fca_model_fingerprint(jstr(v, "rule"), jstr(json_object_get(v, "page"), "url"),
                            jstr(e, "source"), jstr(e, "name"), jstr(e, "value"), jstr(e, "url"),
                            fp);
    }
    for (size_t k = 0; k < m->nfindings; k++)
      if (strcmp(m->findings[k].fingerprint, fp) == 0) m->findings[k].baseline = true;
  }
  m->have_baseline = true;
  return 0;
}

int fca_model_apply_baseline(fca_model_t *m, const char *path, char *err, size_t errlen) {
  json_error_t je;
  json_t *r = json_load_file(path, 0, &je);
  if (!r) {
    fca_seterr(err, errlen, "baseline %s: %s (line %d)", path, je.text, je.line);
    return -1;
  }
  char why[256];
  int rc = fca_model_apply_baseline_json(m, r, why, sizeof why);
  json_decref(r);
  if (rc < 0) {
    fca_seterr(err, errlen, "baseline %s: %s", path, why);
    return -1;
  }
  set_str(&m->baseline_path, path);
  return 0;
}

bool fca_model_finding_fails(const fca_model_t *m, const fca_model_finding_t *f) {
  return fca_policy_fails(&m->policy, f->level, f->baseline);
}

void fca_model_verdict(const fca_model_t *m, fca_model_verdict_t *v) {
  fca_verdict_finding_t *fs = fca_xcalloc(m->nfindings + 1, sizeof *fs);
  for (size_t i = 0; i < m->nfindings; i++) {
    const fca_model_finding_t *f = &m->findings[i];
    fs[i] = (fca_verdict_finding_t){f->level, f->item, f->page, f->count, f->baseline};
  }
  fca_verdict_decide(&m->policy, fs, m->nfindings, m->npages, v);
  free(fs);
}

char *fca_model_verdict_sentence(const fca_model_t *m) {
  fca_model_verdict_t v;
  fca_model_verdict(m, &v);
  return fca_verdict_sentence(&m->policy, &v);
}

void fca_model_summary_fn(void *model, fca_summary_t *summary) {
  fca_model_t *m = model;
  if (!summary) return;
  pthread_mutex_lock(&m->lock);
  take_summary(m, fca_summary_copy(summary));
  fca_model_finalize(m);
  fca_model_verdict_t v;
  fca_model_verdict(m, &v);
  char *sentence = fca_verdict_sentence(&m->policy, &v);
  fca_summary_set_verdict(summary, v.fail, fca_policy_fail_on_name(&m->policy), v.fail ? 1 : 0,
                          sentence);
  free(sentence);
  pthread_mutex_unlock(&m->lock);
}

char *fca_model_test_mode_line(const fca_model_t *m) {
  return m->summary ? fca_test_mode_line(&m->summary->test_mode) : NULL;
}

int fca_model_exit_code(const fca_model_t *m) {
  fca_model_verdict_t v;
  fca_model_verdict(m, &v);
  return v.fail ? FCA_EXIT_FINDINGS : FCA_EXIT_OK;
}

int64_t fca_model_pages_seen(const fca_model_t *m) {
  return m->summary ? m->summary->pages_seen : -1;
}
