#include <criterion/criterion.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "admin_prom.h"

/* A checker for the text exposition format 0.0.4: every sample belongs to a family declared by
 * one HELP and one TYPE line before it; names and label names are valid; label values are
 * quoted with only \\ \" \n escapes; values are numbers; counters end in _total. Returns the
 * value of the sample `want` (name with labels exactly as written), or -1. */
typedef struct {
  char name[128];
  char type[16];
  bool help;
} fam_t;

static bool name_ok(const char *s, size_t n, bool label) {
  if (!n) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    bool ok = isalpha((unsigned char)c) || c == '_' || (!label && c == ':') ||
              (i > 0 && isdigit((unsigned char)c));
    if (!ok) return false;
  }
  return true;
}

static double check_exposition(const char *text, const char *want) {
  fam_t fams[64];
  size_t nf = 0;
  double found = -1;
  char *copy = strdup(text);
  cr_assert_eq(text[strlen(text) - 1], '\n', "ends in a newline");
  for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n")) {
    if (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0) {
      bool help = line[2] == 'H';
      char *name = line + 7;
      size_t nl = strcspn(name, " ");
      cr_assert(name_ok(name, nl, false), "bad family name: %s", line);
      cr_assert_eq(name[nl], ' ', "%s", line);
      fam_t *f = NULL;
      for (size_t i = 0; i < nf; i++)
        if (strlen(fams[i].name) == nl && strncmp(fams[i].name, name, nl) == 0) f = &fams[i];
      if (!f) {
        cr_assert_lt(nf, 64);
        f = &fams[nf++];
        memset(f, 0, sizeof *f);
        memcpy(f->name, name, nl);
      }
      if (help) {
        cr_assert_not(f->help, "two HELP lines for %s", f->name);
        f->help = true;
      } else {
        cr_assert_eq(f->type[0], '\0', "two TYPE lines for %s", f->name);
        const char *t = name + nl + 1;
        cr_assert(strcmp(t, "counter") == 0 || strcmp(t, "gauge") == 0, "type %s", t);
        snprintf(f->type, sizeof f->type, "%s", t);
      }
      continue;
    }
    cr_assert_neq(line[0], '#', "unknown comment: %s", line);
    size_t nl = strcspn(line, "{ ");
    cr_assert(name_ok(line, nl, false), "bad sample name: %s", line);
    fam_t *f = NULL;
    for (size_t i = 0; i < nf; i++)
      if (strlen(fams[i].name) == nl && strncmp(fams[i].name, line, nl) == 0) f = &fams[i];
    cr_assert_not_null(f, "sample before its HELP/TYPE: %s", line);
    cr_assert(f->help && f->type[0], "family %s lacks HELP or TYPE", f->name);
    if (strcmp(f->type, "counter") == 0)
      cr_assert(nl > 6 && strncmp(line + nl - 6, "_total", 6) == 0, "counter %s", f->name);
    char *p = line + nl;
    if (*p == '{') {
      p++;
      while (*p != '}') {
        size_t ln = strcspn(p, "=");
        cr_assert(name_ok(p, ln, true), "bad label name in %s", line);
        p += ln;
        cr_assert_eq(*p++, '=');
        cr_assert_eq(*p++, '"', "%s", line);
        while (*p != '"') {
          cr_assert_neq(*p, '\0', "unterminated label value: %s", line);
          if (*p == '\\') {
            p++;
            cr_assert(*p == '\\' || *p == '"' || *p == 'n', "bad escape in %s", line);
          }
          p++;
        }
        p++;
        if (*p == ',')
          p++;
        else
          cr_assert_eq(*p, '}', "%s", line);
      }
      p++;
    }
    cr_assert_eq(*p, ' ', "%s", line);
    *p = '\0';
    char *end;
    double v = strtod(p + 1, &end);
    cr_assert(end != p + 1 && *end == '\0', "bad value in %s", p + 1);
    if (want && strcmp(line, want) == 0) found = v;
  }
  free(copy);
  return found;
}

static fca_metrics_t sample_metrics(void) {
  fca_metrics_t m = {
      .conns_open = 3,
      .conns_total = 41,
      .requests = 97,
      .bytes_from_clients = 1234,
      .bytes_to_clients = 567890,
      .tls_handshakes = 12,
      .tls_failures = 2,
      .cert_cache_hits = 10,
      .cert_cache_misses = 4,
      .certs_minted = 4,
      .upstream_reused = 7,
      .proxy_errors = 1,
      .pages_seen = 9,
      .pages_tagged = 5,
      .audit_notes = 2,
      .audit_bytes = 4096,
      .events_written = 20,
      .sink_write_errors = 0,
      .started_ms = 1795000000123,
  };
  return m;
}

Test(admin_prom, formats_every_counter) {
  fca_metrics_t m = sample_metrics();
  fca_abuf_t b = {0};
  fca_admin_prom_write(&b, &m, NULL, NULL);
  const char *t = b.p;
  cr_assert_eq(check_exposition(t, "fcaudit_connections_open"), 3);
  cr_assert_eq(check_exposition(t, "fcaudit_connections_total"), 41);
  cr_assert_eq(check_exposition(t, "fcaudit_requests_total"), 97);
  cr_assert_eq(check_exposition(t, "fcaudit_client_bytes_total{direction=\"received\"}"), 1234);
  cr_assert_eq(check_exposition(t, "fcaudit_client_bytes_total{direction=\"sent\"}"), 567890);
  cr_assert_eq(check_exposition(t, "fcaudit_tls_handshakes_total"), 12);
  cr_assert_eq(check_exposition(t, "fcaudit_tls_handshake_failures_total"), 2);
  cr_assert_eq(check_exposition(t, "fcaudit_cert_cache_hits_total"), 10);
  cr_assert_eq(check_exposition(t, "fcaudit_cert_cache_misses_total"), 4);
  cr_assert_eq(check_exposition(t, "fcaudit_pages_seen_total"), 9);
  cr_assert_eq(check_exposition(t, "fcaudit_pages_tagged_total"), 5);
  cr_assert_eq(check_exposition(t, "fcaudit_audit_notes_total"), 2);
  cr_assert_eq(check_exposition(t, "fcaudit_event_sink_errors_total"), 0);
  cr_assert(strstr(t, "fcaudit_start_time_seconds 1795000000.123\n") != NULL);
  cr_assert(strstr(t, "# TYPE fcaudit_connections_open gauge\n") != NULL);
  cr_assert(strstr(t, "# TYPE fcaudit_requests_total counter\n") != NULL);
  fca_abuf_free(&b);
}

Test(admin_prom, violations_by_rule_and_level_from_sink_stats) {
  fca_metrics_t m = sample_metrics();
  fca_sink_stats_t s;
  memset(&s, 0, sizeof s);
  s.by_type[FCA_EV_VIOLATION] = 6;
  s.by_type[FCA_EV_PAGE] = 2;
  s.nrules = 2;
  snprintf(s.rules[0].rule, sizeof s.rules[0].rule, "FC-COOP-1");
  s.rules[0].level = FCA_LEVEL_ERROR;
  s.rules[0].count = 4;
  snprintf(s.rules[1].rule, sizeof s.rules[1].rule, "FC-REF-4");
  s.rules[1].level = FCA_LEVEL_INFO;
  s.rules[1].count = 2;
  s.write_errors = 3;
  s.lines_written = 8;
  fca_admin_prom_extra_t x = {.sse_clients = 2, .ring_events = 8, .admin_requests = 5};
  fca_abuf_t b = {0};
  fca_admin_prom_write(&b, &m, &s, &x);
  const char *t = b.p;
  cr_assert_eq(check_exposition(t, "fcaudit_violations_total{rule=\"FC-COOP-1\",level=\"error\"}"),
               4);
  cr_assert_eq(check_exposition(t, "fcaudit_violations_total{rule=\"FC-REF-4\",level=\"info\"}"),
               2);
  cr_assert_eq(check_exposition(t, "fcaudit_events_total{type=\"violation\"}"), 6);
  cr_assert_eq(check_exposition(t, "fcaudit_events_total{type=\"page\"}"), 2);
  cr_assert_eq(check_exposition(t, "fcaudit_event_sink_errors_total"), 3);
  cr_assert_eq(check_exposition(t, "fcaudit_event_log_lines_total"), 8);
  cr_assert_eq(check_exposition(t, "fcaudit_admin_stream_clients"), 2);
  cr_assert_eq(check_exposition(t, "fcaudit_admin_requests_total"), 5);
  fca_abuf_free(&b);
}

Test(admin_prom, label_values_are_escaped) {
  fca_abuf_t b = {0};
  fca_admin_prom_label(&b, "a\"b\\c\nd");
  cr_assert_str_eq(b.p, "\"a\\\"b\\\\c\\nd\"");
  fca_abuf_free(&b);
  /* A hostile rule name in the stats still gives a valid exposition. */
  fca_metrics_t m = sample_metrics();
  fca_sink_stats_t s;
  memset(&s, 0, sizeof s);
  s.nrules = 1;
  snprintf(s.rules[0].rule, sizeof s.rules[0].rule, "x\"} 1\nevil 2");
  s.rules[0].level = FCA_LEVEL_WARNING;
  s.rules[0].count = 1;
  fca_admin_prom_write(&b, &m, &s, NULL);
  cr_assert_eq(check_exposition(b.p, "evil"), -1);
  fca_abuf_free(&b);
}
