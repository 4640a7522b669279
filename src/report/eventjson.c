/* eventjson: builds the JSON object of one event (keys in docs/events.md). Invariants: every
 * key depends only on the event type and on which fields are set; every string handed to
 * jansson is valid UTF-8 without NUL (fca_eventjson_escape), so serialisation never fails or
 * drops a value; Cookie/Authorization evidence values never leave this module. */
#include "fcaudit/eventjson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "fcaudit/util.h"

size_t fca_eventjson_utf8_len(const unsigned char *s, size_t n) {
  if (n == 0) return 0;
  unsigned c = s[0];
  if (c == 0) return 0;
  if (c < 0x80) return 1;
  size_t len;
  unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0)
      lo = 0xA0; /* no overlong form */
    else if (c == 0xED)
      hi = 0x9F; /* no surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0)
      lo = 0x90; /* no overlong form */
    else if (c == 0xF4)
      hi = 0x8F; /* <= U+10FFFF */
  } else {
    return 0;
  }
  if (n < len) return 0;
  if (s[1] < lo || s[1] > hi) return 0;
  for (size_t i = 2; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
  }
  return len;
}

char *fca_eventjson_escape(const char *s, size_t n, size_t *out_len, bool *escaped) {
  const unsigned char *p = (const unsigned char *)s;
  bool clean = true;
  for (size_t i = 0; i < n;) {
    size_t l = fca_eventjson_utf8_len(p + i, n - i);
    if (l == 0) {
      clean = false;
      break;
    }
    i += l;
  }
  if (escaped) *escaped = !clean;
  if (clean) {
    if (out_len) *out_len = n;
    return fca_xstrndup(s, n);
  }
  /* Worst case: every byte becomes 4 characters. */
  char *out = fca_xmalloc(n * 4 + 1);
  size_t o = 0;
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < n;) {
    size_t l = fca_eventjson_utf8_len(p + i, n - i);
    if (l == 0) {
      out[o++] = '\\';
      out[o++] = 'x';
      out[o++] = hex[p[i] >> 4];
      out[o++] = hex[p[i] & 15];
      i++;
    } else if (p[i] == '\\') {
      out[o++] = '\\';
      out[o++] = '\\';
      i++;
    } else {
      memcpy(out + o, p + i, l);
      o += l;
      i += l;
    }
  }
  out[o] = '\0';
  if (out_len) *out_len = o;
  return out;
}

size_t fca_eventjson_format_ts(int64_t ts_ms, char *out, size_t n) {
  if (n) out[0] = '\0';
  int64_t secs = ts_ms / 1000, ms = ts_ms % 1000;
  if (ms < 0) { /* floor division for times before the epoch */
    ms += 1000;
    secs -= 1;
  }
  time_t t = (time_t)secs;
  struct tm tm;
  if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) return 0;
  int w = snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                   tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)ms);
  if (w < 0 || (size_t)w >= n) {
    if (n) out[0] = '\0';
    return 0;
  }
  return (size_t)w;
}

static uint32_t random24(void) {
  uint32_t r = 0;
  if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
    /* No entropy yet (early boot): the clock and pid still separate two starts. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    r = (uint32_t)ts.tv_nsec ^ ((uint32_t)getpid() << 8) ^ (uint32_t)ts.tv_sec;
  }
  return r & 0xFFFFFFu;
}

int fca_run_id_new(char out[], size_t n) {
  if (n) out[0] = '\0';
  time_t now = time(NULL);
  struct tm tm;
  if (!gmtime_r(&now, &tm)) return -1;
  char stamp[24];
  if (strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm) == 0) return -1;
  int w = snprintf(out, n, "%s-%06x", stamp, (unsigned)random24());
  if (w < 0 || (size_t)w >= n) {
    if (n) out[0] = '\0';
    return -1;
  }
  return 0;
}

/* A JSON string for s[0..n) under the escape rule; sets *escaped when given. */
static json_t *jstr_n(const char *s, size_t n, bool *escaped) {
  size_t len;
  char *e = fca_eventjson_escape(s, n, &len, escaped);
  json_t *j = json_stringn_nocheck(e, len);
  free(e);
  return j;
}

static json_t *jstr(const char *s) { return s ? jstr_n(s, strlen(s), NULL) : json_null(); }

static void set_str(json_t *obj, const char *key, const char *s) {
  if (s) json_object_set_new(obj, key, jstr(s));
}

/* Header names whose values are secrets: never written, whatever the audit passes. */
static bool secret_name(const char *name) {
  static const char *const secret[] = {"cookie", "set-cookie", "authorization",
                                       "proxy-authorization"};
  if (!name) return false;
  for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++) {
    if (strcasecmp(name, secret[i]) == 0) return true;
  }
  return false;
}

static json_t *page_json(const fca_event_page_t *pg) {
  json_t *o = json_object();
  json_object_set_new(o, "id", json_integer((json_int_t)pg->id));
  json_object_set_new(o, "url", jstr(pg->url));
  json_object_set_new(o, "top_level", json_boolean(pg->top_level));
  set_str(o, "tagged_by", pg->tagged_by);
  set_str(o, "confidence", pg->confidence);
  return o;
}

static json_t *evidence_json(const fca_event_evidence_t *e) {
  json_t *o = json_object();
  json_object_set_new(o, "source", jstr(e->source));
  json_object_set_new(o, "name", jstr(e->name));
  bool escaped = false;
  if (secret_name(e->name))
    json_object_set_new(o, "value", json_string("[redacted]"));
  else if (e->value)
    json_object_set_new(o, "value", jstr_n(e->value, e->value_len, &escaped));
  else
    json_object_set_new(o, "value", json_null());
  json_object_set_new(o, "offset", e->offset < 0 ? json_null() : json_integer(e->offset));
  set_str(o, "url", e->url);
  if (escaped) json_object_set_new(o, "escaped", json_true());
  return o;
}

json_t *fca_event_to_json(const fca_event_t *ev, const char *run_id) {
  if (!ev) return NULL;
  json_t *o = json_object();
  char ts[FCA_TS_SIZE];
  fca_eventjson_format_ts(ev->ts_ms, ts, sizeof ts);
  json_object_set_new(o, "schema", json_integer(FCA_EVENT_SCHEMA));
  set_str(o, "run", run_id);
  json_object_set_new(o, "ts", json_string(ts));
  json_object_set_new(o, "type", json_string(fca_event_type_name(ev->type)));

  bool is_violation = ev->type == FCA_EV_VIOLATION;
  if (ev->type == FCA_EV_SUMMARY) {
    json_t *sum = fca_summary_to_json(ev->summary);
    if (sum) json_object_update(o, sum);
    json_decref(sum);
    return o;
  }
  if (is_violation) {
    set_str(o, "rule", ev->rule);
    json_object_set_new(o, "level", json_string(fca_level_name(ev->level)));
    json_object_set_new(o, "item", json_integer(ev->item));
  }
  if (ev->type == FCA_EV_NOTE) set_str(o, "note", ev->note);
  set_str(o, "message", ev->message);
  if (is_violation) {
    set_str(o, "fix", ev->fix);
    if (ev->fix_stack && ev->fix_stack_text) {
      json_t *fs = json_object();
      set_str(fs, "stack", ev->fix_stack);
      set_str(fs, "label", ev->fix_stack_label);
      set_str(fs, "confidence", ev->fix_stack_confidence);
      set_str(fs, "why", ev->fix_stack_why);
      set_str(fs, "fix", ev->fix_stack_text);
      json_object_set_new(o, "fix_stack", fs);
    }
    set_str(o, "doc", ev->doc);
  }
  if (ev->has_page) json_object_set_new(o, "page", page_json(&ev->page));
  if (ev->has_evidence && ev->type != FCA_EV_PASS) {
    json_object_set_new(o, "evidence", evidence_json(&ev->evidence));
  }
  set_str(o, "client", ev->client);
  if (ev->count > 1 && (is_violation || ev->type == FCA_EV_NOTE)) {
    json_object_set_new(o, "count", json_integer((json_int_t)ev->count));
  }
  return o;
}

char *fca_event_to_line(const fca_event_t *ev, const char *run_id, size_t *len) {
  json_t *o = fca_event_to_json(ev, run_id);
  if (!o) return NULL;
  char *s = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  if (!s) { /* jansson's own allocation failed: out of memory, as in fca_xmalloc */
    fca_err("eventjson: out of memory serialising an event");
    abort();
  }
  size_t n = strlen(s);
  char *line = fca_xmalloc(n + 2);
  memcpy(line, s, n);
  line[n] = '\n';
  line[n + 1] = '\0';
  free(s);
  if (len) *len = n + 1;
  return line;
}
