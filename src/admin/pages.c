/* admin pages: the dashboard and its assets, /metrics, /healthz and /api/report.json. The
 * dashboard is static (compiled-in assets); its data comes from /events (live) and
 * /api/report.json (totals and scorecards: the very document --report-json writes, built from
 * the same run model under the model's lock). */
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "admin_assets.h"
#include "admin_int.h"
#include "admin_prom.h"
#include "fcaudit/report_json.h"
#include "fcaudit/sink.h"
#include "fcaudit/util.h"

static void serve_asset(struct evhttp_request *req, const char *name) {
  const fca_admin_asset_t *as = fca_admin_asset_find(name);
  if (!as) {
    fca_admin_reply_text(req, 404, "fcaudit admin: no such file\n");
    return;
  }
  fca_admin_reply(req, 200, as->type, as->data, as->len);
}

static void serve_metrics(fca_admin_t *a, struct evhttp_request *req) {
  fca_metrics_t m = {0};
  if (a->opts.metrics) a->opts.metrics(a->opts.metrics_ud, &m);
  fca_sink_stats_t st;
  bool have_stats = a->opts.sink != NULL;
  if (have_stats) fca_sink_stats(a->opts.sink, &st);
  fca_admin_prom_extra_t x = {
      .sse_clients = a->nclients,
      .ring_events = fca_admin_ring_size(a->ring),
      .ring_evicted = fca_admin_ring_evicted(a->ring),
      .admin_requests = atomic_load(&a->requests),
  };
  fca_abuf_t b = {0};
  fca_admin_prom_write(&b, &m, have_stats ? &st : NULL, &x);
  fca_admin_reply(req, 200, FCA_ADMIN_PROM_CONTENT_TYPE, b.p, b.len);
  fca_abuf_free(&b);
}

/* The live counters for the dashboard's totals (pages seen is known to the report only once
 * the run's summary exists). */
static void serve_metrics_json(fca_admin_t *a, struct evhttp_request *req) {
  fca_metrics_t m = {0};
  if (a->opts.metrics) a->opts.metrics(a->opts.metrics_ud, &m);
  json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "connections_open",
                        (json_int_t)m.conns_open, "connections_total", (json_int_t)m.conns_total,
                        "requests", (json_int_t)m.requests, "pages_seen", (json_int_t)m.pages_seen,
                        "pages_tagged", (json_int_t)m.pages_tagged, "audit_notes",
                        (json_int_t)m.audit_notes, "tls_failures", (json_int_t)m.tls_failures,
                        "started_ms", (json_int_t)m.started_ms);
  char *s = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  fca_admin_reply(req, 200, "application/json", s, strlen(s));
  free(s);
}

/* Before the run's summary, item 4's test-mode coverage comes from the live counters, in the
 * words of the summary (fca_test_mode_line), so the dashboard shows it all along. */
static void live_test_mode(fca_admin_t *a, json_t *doc) {
  json_t *sum = json_object_get(doc, "summary");
  if (!json_is_object(sum) || json_object_get(sum, "test_mode_coverage") || !a->opts.metrics)
    return;
  fca_metrics_t m = {0};
  a->opts.metrics(a->opts.metrics_ud, &m);
  if (!m.test_mode_judged) return;
  fca_test_mode_t tm = {
      .present = true, .test_mode_responses = m.api_test, .live_mode_responses = m.api_live};
  for (int i = 0; i < 4; i++)
    if (m.test_institution_names[i])
      fca_test_mode_add_institution(&tm, m.test_institution_names[i],
                                    m.test_institutions & (1u << i));
  char *line = fca_test_mode_line(&tm);
  json_object_set_new(sum, "test_mode_coverage", json_string(line));
  free(line);
  for (size_t i = 0; i < tm.ninstitutions; i++) free(tm.institutions[i]);
}

char *fca_admin_report_text(fca_admin_t *a) {
  pthread_mutex_lock(&a->model->lock);
  json_t *doc = fca_report_json(a->model);
  pthread_mutex_unlock(&a->model->lock);
  live_test_mode(a, doc);
  char *s = json_dumps(doc, JSON_INDENT(2));
  json_decref(doc);
  return s;
}

/* A built report shared by the cache and every reply still being sent (admin thread only). */
struct fca_admin_report_cache {
  unsigned refs;
  size_t len;
  char *text;
};

static void report_unref(const void *data, size_t len, void *arg) {
  (void)data;
  (void)len;
  struct fca_admin_report_cache *r = arg;
  if (--r->refs) return;
  free(r->text);
  free(r);
}

void fca_admin_report_cache_free(fca_admin_t *a) {
  if (a->report) report_unref(NULL, 0, a->report);
  a->report = NULL;
}

/* Everything that changes the model counts one of these. */
static uint64_t model_seq(const fca_model_t *m) {
  return m->events + m->other_runs + m->dropped + m->bad_lines + 1;
}

static void serve_report(fca_admin_t *a, struct evhttp_request *req) {
  pthread_mutex_lock(&a->model->lock);
  uint64_t seq = model_seq(a->model);
  pthread_mutex_unlock(&a->model->lock);
  if (!a->report || a->report_seq != seq) {
    /* Built afresh only when events arrived since: a report of 10k pages costs much more to
     * build than to send. The sequence is read before building, so an event arriving during
     * the build makes the next call build again. */
    char *s = fca_admin_report_text(a);
    if (!s) {
      fca_admin_reply_text(req, 500, "fcaudit admin: cannot build the report\n");
      return;
    }
    fca_admin_report_cache_free(a);
    a->report = fca_xcalloc(1, sizeof *a->report);
    a->report->refs = 1;
    a->report->text = s;
    a->report->len = strlen(s);
    a->report_seq = seq;
  }
  struct evkeyvalq *h = evhttp_request_get_output_headers(req);
  evhttp_add_header(h, "Content-Type", "application/json");
  if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
    fca_admin_reply(req, 200, NULL, a->report->text, a->report->len);
    return;
  }
  struct evbuffer *b = fca_xcheck(evbuffer_new(), "a reply buffer");
  a->report->refs++;
  if (evbuffer_add_reference(b, a->report->text, a->report->len, report_unref, a->report) != 0) {
    a->report->refs--;
    fca_oom("a reply buffer");
  }
  evhttp_send_reply(req, 200, NULL, b);
  evbuffer_free(b);
}

bool fca_admin_pages_route(fca_admin_t *a, struct evhttp_request *req, const char *path) {
  if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0) {
    serve_asset(req, "index.html");
  } else if (strncmp(path, "/assets/", 8) == 0) {
    const char *name = path + 8;
    /* Asset names are flat: no directories, nothing hidden. */
    if (!*name || strchr(name, '/') || name[0] == '.')
      fca_admin_reply_text(req, 404, "fcaudit admin: no such file\n");
    else
      serve_asset(req, name);
  } else if (strcmp(path, "/favicon.ico") == 0) {
    serve_asset(req, "favicon.svg");
  } else if (strcmp(path, "/metrics") == 0) {
    serve_metrics(a, req);
  } else if (strcmp(path, "/healthz") == 0) {
    fca_admin_reply_text(req, 200, "ok\n");
  } else if (strcmp(path, "/api/report.json") == 0) {
    serve_report(a, req);
  } else if (strcmp(path, "/api/metrics.json") == 0) {
    serve_metrics_json(a, req);
  } else if (strcmp(path, "/api/fleet.json") == 0) {
    /* One proxy: {"fleet":false} (a 200, so a browser logs no error), and the page hides
     * the section. */
    char *doc = a->opts.fleet_json ? a->opts.fleet_json(a->opts.fleet_ud) : NULL;
    const char *body = doc ? doc : "{\"fleet\":false}";
    fca_admin_reply(req, 200, "application/json", body, strlen(body));
    free(doc);
  } else {
    return false;
  }
  return true;
}
