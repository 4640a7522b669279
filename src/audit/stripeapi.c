/* stripeapi: collects one bounded JSON response and walks it with jansson (depth-limited), see
 * the header for what is matched. The buffer grows with the body, never past the bound. */
#include "stripeapi.h"

#include "fcaudit/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const fca_test_institutions[FCA_TEST_INSTITUTIONS] = {
    "Test (OAuth)", "Test (Non-OAuth)", "Bank (OAuth)", "Bank (Non-OAuth)"};

#define MAX_DEPTH 32

struct fca_stripeapi {
  char *buf;
  size_t len, cap;
  bool over;
};

fca_stripeapi_t *fca_stripeapi_new(void) { return fca_xcalloc(1, sizeof(fca_stripeapi_t)); }

void fca_stripeapi_free(fca_stripeapi_t *s) {
  if (!s) return;
  free(s->buf);
  free(s);
}

void fca_stripeapi_feed(fca_stripeapi_t *s, const void *buf, size_t n) {
  if (s->over || n == 0) return;
  if (n > FCA_STRIPEAPI_MAX - s->len) {
    s->over = true;
    free(s->buf);
    s->buf = NULL;
    s->len = s->cap = 0;
    return;
  }
  if (s->len + n > s->cap) {
    size_t c = s->cap ? s->cap : 4096;
    while (c < s->len + n) c *= 2;
    if (c > FCA_STRIPEAPI_MAX) c = FCA_STRIPEAPI_MAX;
    s->buf = fca_xrealloc(s->buf, c);
    s->cap = c;
  }
  memcpy(s->buf + s->len, buf, n);
  s->len += n;
}

static int institution_index(const char *name) {
  size_t n = strlen(name);
  while (n > 0 && (name[0] == ' ' || name[0] == '\t')) name++, n--;
  while (n > 0 && (name[n - 1] == ' ' || name[n - 1] == '\t')) n--;
  for (int i = 0; i < FCA_TEST_INSTITUTIONS; i++)
    if (strlen(fca_test_institutions[i]) == n &&
        strncasecmp(fca_test_institutions[i], name, n) == 0)
      return i;
  return -1;
}

/* mode: -1 unknown, 0 test, 1 live (inherited from the enclosing objects). */
static void note_name(json_t *v, int mode, fca_stripeapi_result_t *out) {
  if (!json_is_string(v) || mode != 0) return;
  int i = institution_index(json_string_value(v));
  if (i >= 0) out->linked |= 1u << i;
}

static void walk(json_t *j, int mode, int depth, bool in_institution, fca_stripeapi_result_t *out) {
  if (depth > MAX_DEPTH) return;
  if (json_is_array(j)) {
    size_t i;
    json_t *v;
    json_array_foreach(j, i, v) walk(v, mode, depth + 1, false, out);
    return;
  }
  if (!json_is_object(j)) return;
  json_t *lm = json_object_get(j, "livemode");
  if (json_is_boolean(lm)) {
    mode = json_is_true(lm) ? 1 : 0;
    if (mode)
      out->live_mode = true;
    else
      out->test_mode = true;
  }
  json_t *obj = json_object_get(j, "object");
  bool is_inst = in_institution ||
                 (json_is_string(obj) && strstr(json_string_value(obj), "institution") != NULL);
  if (is_inst) {
    note_name(json_object_get(j, "name"), mode, out);
    note_name(json_object_get(j, "display_name"), mode, out);
  }
  const char *k;
  json_t *v;
  json_object_foreach(j, k, v) {
    if (strcmp(k, "institution_name") == 0)
      note_name(v, mode, out);
    else if (strcmp(k, "institution") == 0 && json_is_string(v))
      note_name(v, mode, out);
    else
      walk(v, mode, depth + 1, strcmp(k, "institution") == 0, out);
  }
}

void fca_stripeapi_parse(const char *text, size_t n, fca_stripeapi_result_t *out) {
  memset(out, 0, sizeof *out);
  json_error_t err;
  json_t *j = json_loadb(text, n, JSON_DECODE_ANY, &err);
  if (!j) return;
  out->parsed = true;
  walk(j, -1, 0, false, out);
  json_decref(j);
}

void fca_stripeapi_finish(fca_stripeapi_t *s, fca_stripeapi_result_t *out) {
  if (s->over || !s->buf) {
    memset(out, 0, sizeof *out);
    return;
  }
  fca_stripeapi_parse(s->buf, s->len, out);
}
