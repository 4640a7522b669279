/* cmd_audit: `fcaudit audit [options] FILE.har...` audits recorded traffic without a proxy.
 * Each file is streamed (har_reader.c) and its entries are replayed through the same engine,
 * rules, sink, model and reports as `fcaudit run`, in startedDateTime order: HAR writers list
 * entries in request order, and an entry written late is put back in place within a window of
 * FCA_HAR_WINDOW entries (and FCA_HAR_WINDOW_BYTES of body text); one further out of order is
 * replayed when read, and a warning counts them. A malformed or truncated file stops with an
 * error naming the entry; what was replayed before it is still reported (exit status 3). */
#include "cmd_audit.h"
#include "commands.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcaudit/audit_config.h"
#include "fcaudit/console.h"
#include "fcaudit/har.h"
#include "fcaudit/model.h"
#include "fcaudit/reports.h"
#include "fcaudit/sink.h"
#include "fcaudit/util.h"

#ifndef FCA_HAR_WINDOW
#define FCA_HAR_WINDOW 32
#endif
#ifndef FCA_HAR_WINDOW_BYTES
#define FCA_HAR_WINDOW_BYTES (64u * 1024 * 1024)
#endif

static void usage(FILE *f) { fca_command_print_help(f, fca_command_find("audit")); }

typedef struct {
  json_t *obj;
  int64_t t;
  size_t index;
  bool cut;
  size_t bytes;
} pending_t;

typedef struct {
  fca_har_replay_t *rep;
  const char *file;
  pending_t win[FCA_HAR_WINDOW + 1];
  size_t n, bytes;
  int64_t last_t;
  uint64_t replayed, late, errors;
} replay_ctx_t;

static size_t body_bytes(const json_t *e) {
  const json_t *t =
      json_object_get(json_object_get(json_object_get(e, "response"), "content"), "text");
  const json_t *p =
      json_object_get(json_object_get(json_object_get(e, "request"), "postData"), "text");
  return json_string_length(t) + json_string_length(p) + 1024;
}

static void replay_one(replay_ctx_t *c, pending_t *p) {
  char err[300];
  if (fca_har_replay_entry(c->rep, p->obj, p->cut, err, sizeof err) < 0) {
    fprintf(stderr, "fcaudit audit: %s: entry %zu: %s\n", c->file, p->index, err);
    c->errors++;
  } else {
    c->replayed++;
  }
  if (p->t > c->last_t) c->last_t = p->t;
  json_decref(p->obj);
}

static void pop_first(replay_ctx_t *c) {
  pending_t p = c->win[0];
  memmove(&c->win[0], &c->win[1], (c->n - 1) * sizeof c->win[0]);
  c->n--;
  c->bytes -= p.bytes;
  replay_one(c, &p);
}

static void add_entry(replay_ctx_t *c, json_t *obj, size_t index, bool cut) {
  pending_t p = {obj, fca_har_entry_time(obj), index, cut, body_bytes(obj)};
  if (p.t < 0 || p.t < c->last_t) {
    if (p.t >= 0) c->late++;
    replay_one(c, &p); /* no date (the replay says so) or beyond the window */
    return;
  }
  size_t i = c->n;
  while (i > 0 && c->win[i - 1].t > p.t) i--; /* stable: equal times keep file order */
  memmove(&c->win[i + 1], &c->win[i], (c->n - i) * sizeof c->win[0]);
  c->win[i] = p;
  c->n++;
  c->bytes += p.bytes;
  while (c->n > FCA_HAR_WINDOW || (c->n > 1 && c->bytes > FCA_HAR_WINDOW_BYTES)) pop_first(c);
}

/* Replays one file. Returns 0, or -1 when it could not be read to its end. */
static int audit_file(fca_audit_t *a, const char *path, const fca_config_t *cfg, uint64_t *entries,
                      uint64_t *errors) {
  char err[400];
  /* a body text is kept up to what the engine would inspect (escaped: up to 2x, base64 4/3) */
  size_t text_max = (size_t)(cfg->max_audit_bytes * 2 + 1024);
  fca_har_reader_t *rd = fca_har_reader_open(path, text_max, err, sizeof err);
  if (!rd) {
    fprintf(stderr, "fcaudit audit: %s\n", err);
    (*errors)++;
    return -1;
  }
  char *copy = fca_xstrdup(path), *copy2 = fca_xstrdup(path);
  const char *base = strcmp(path, "-") == 0 ? "stdin" : basename(copy);
  char *client = fca_xasprintf("har:%s", base);
  replay_ctx_t c = {.file = path, .last_t = INT64_MIN};
  c.rep = fca_har_replay_new(a, client, strcmp(path, "-") == 0 ? NULL : dirname(copy2));
  int rc = 0;
  for (;;) {
    fca_har_item_t it;
    fca_har_reader_next(rd, &it);
    if (it.kind == FCA_HAR_PAGE) {
      fca_har_replay_page(c.rep, it.obj);
      json_decref(it.obj);
    } else if (it.kind == FCA_HAR_ENTRY) {
      add_entry(&c, it.obj, it.index, it.text_cut);
    } else if (it.kind == FCA_HAR_SKIPPED) {
      fprintf(stderr, "fcaudit audit: %s\n", it.err);
      c.errors++;
    } else {
      while (c.n) pop_first(&c);
      if (it.kind == FCA_HAR_ERROR) {
        fprintf(stderr, "fcaudit audit: %s; the %llu entr%s before it %s audited\n", it.err,
                (unsigned long long)c.replayed, c.replayed == 1 ? "y" : "ies",
                c.replayed == 1 ? "was" : "were");
        c.errors++;
        rc = -1;
      }
      break;
    }
  }
  if (c.late)
    fca_warn("%s: %llu entr%s more than %d places out of startedDateTime order: replayed in "
             "file order",
             path, (unsigned long long)c.late, c.late == 1 ? "y was" : "ies were", FCA_HAR_WINDOW);
  fca_debug("%s: %llu entries replayed; the largest element held %zu bytes", path,
            (unsigned long long)c.replayed, fca_har_reader_peak(rd));
  *entries += c.replayed;
  *errors += c.errors;
  fca_har_replay_free(c.rep);
  fca_har_reader_free(rd);
  free(client);
  free(copy);
  free(copy2);
  return rc;
}

int fca_cmd_audit_main(fca_config_t *cfg, int argc, char **argv) {
  char err[512];
  char **files = fca_xcalloc((size_t)argc + 1, sizeof *files);
  size_t nfiles = 0;
  int status = FCA_EXIT_FATAL;
  fca_model_t *m = NULL;
  fca_sink_t *sink = NULL;
  fca_audit_t *a = NULL;
  fca_ruleset_t *rules = NULL;
  for (int i = 1; i < argc;) {
    bool help = false;
    int next = fca_config_parse_args(cfg, argc, argv, i, &help, NULL, err, sizeof err);
    if (next < 0) {
      fprintf(stderr, "fcaudit audit: %s\n", err);
      goto out;
    }
    if (help) {
      usage(stdout);
      status = FCA_EXIT_OK;
      goto out;
    }
    if (next >= argc) break;
    if (strcmp(argv[next - 1], "--") == 0 && next - 1 >= i) {
      for (int k = next; k < argc; k++) files[nfiles++] = argv[k];
      break;
    }
    files[nfiles++] = argv[next];
    i = next + 1;
  }
  if (nfiles == 0) {
    usage(stderr);
    goto out;
  }
  if (cfg->har)
    fca_warn("--har records a live session (the proxy, fcaudit run); fcaudit audit ignores it");
  m = fca_model_new(NULL);
  if (fca_reports_prepare(m, cfg, err, sizeof err) < 0) {
    fprintf(stderr, "fcaudit audit: %s\n", err);
    goto out;
  }
  fca_sink_opts_t so = {
      .log_path = cfg->log,
      .console = cfg->quiet ? NULL : stderr,
      .color = FCA_COLOR_AUTO,
      .redact_query = cfg->redact_query,
  };
  sink = fca_sink_new(&so);
  if (!sink) {
    fprintf(stderr, "fcaudit audit: cannot open the event log '%s'\n", cfg->log ? cfg->log : "-");
    goto out;
  }
  fca_model_subscribe(m, sink);
  a = fca_audit_from_config(cfg, fca_sink_event_fn, sink, &rules, err, sizeof err);
  if (!a) {
    fprintf(stderr, "fcaudit audit: %s\n", err);
    goto out;
  }
  uint64_t entries = 0, errors = 0;
  for (size_t i = 0; i < nfiles; i++) audit_file(a, files[i], cfg, &entries, &errors);
  fca_audit_finish(a);
  fca_sink_flush(sink);
  fca_info("audited %llu entr%s from %zu HAR file%s (run %s)", (unsigned long long)entries,
           entries == 1 ? "y" : "ies", nfiles, nfiles == 1 ? "" : "s", m->run ? m->run : "-");
  status = FCA_EXIT_OK;
  if (fca_reports_write_all(m, cfg) < 0) status = FCA_EXIT_FATAL;
  fca_model_print_summary(stderr, m, fca_console_use_color(stderr, FCA_COLOR_AUTO));
  int verdict = fca_model_exit_code(m);
  if (verdict > status) status = verdict;
  if (errors) status = FCA_EXIT_FATAL;
  fprintf(stderr, "fcaudit audit: exit status %d (%s)\n", status,
          status == 0   ? "pass"
          : status == 1 ? "findings or too few tagged pages"
                        : "a HAR file could not be read in full");
out:
  if (a) fca_audit_free(a);
  if (rules) fca_ruleset_free(rules);
  if (sink) fca_sink_close(sink);
  fca_model_free(m);
  free(files);
  return status;
}
