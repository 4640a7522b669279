/* jsonschema: recursive validation; the root schema is kept for $ref resolution, the instance
 * path for error messages. Equality (enum/const) uses json_equal, which treats 1 and 1.0 as
 * different; the schemas here compare strings and integers only. */
#include "jsonschema.h"

#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  json_t *root;
  char *err;
  size_t n;
  int depth;
} ctx_t;

static int fail(ctx_t *c, const char *path, const char *fmt, ...) {
  if (c->err && c->n) {
    int w = snprintf(c->err, c->n, "%s: ", *path ? path : "/");
    if (w >= 0 && (size_t)w < c->n) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(c->err + w, c->n - (size_t)w, fmt, ap);
      va_end(ap);
    }
  }
  return -1;
}

static int validate(ctx_t *c, json_t *schema, json_t *inst, const char *path);

static bool is_type(json_t *inst, const char *t) {
  if (strcmp(t, "object") == 0) return json_is_object(inst);
  if (strcmp(t, "array") == 0) return json_is_array(inst);
  if (strcmp(t, "string") == 0) return json_is_string(inst);
  if (strcmp(t, "boolean") == 0) return json_is_boolean(inst);
  if (strcmp(t, "null") == 0) return json_is_null(inst);
  if (strcmp(t, "number") == 0) return json_is_number(inst);
  if (strcmp(t, "integer") == 0) {
    if (json_is_integer(inst)) return true;
    if (json_is_real(inst)) {
      double v = json_real_value(inst);
      return isfinite(v) && floor(v) == v;
    }
  }
  return false;
}

static json_t *resolve_ref(ctx_t *c, const char *ref) {
  const char *name = NULL, *container = NULL;
  if (strncmp(ref, "#/$defs/", 8) == 0) {
    container = "$defs";
    name = ref + 8;
  } else if (strncmp(ref, "#/definitions/", 14) == 0) {
    container = "definitions";
    name = ref + 14;
  } else if (strcmp(ref, "#") == 0) {
    return c->root;
  }
  if (!name) return NULL;
  return json_object_get(json_object_get(c->root, container), name);
}

/* Builds path + "/" + seg (seg escaped per JSON Pointer) into out. */
static void join(char *out, size_t n, const char *path, const char *seg) {
  size_t o = (size_t)snprintf(out, n, "%s/", path);
  for (; *seg && o + 3 < n; seg++) {
    if (*seg == '~' || *seg == '/') {
      out[o++] = '~';
      out[o++] = *seg == '~' ? '0' : '1';
    } else {
      out[o++] = *seg;
    }
  }
  if (o < n) out[o] = '\0';
}

static int check_type(ctx_t *c, json_t *t, json_t *inst, const char *path) {
  if (json_is_string(t)) {
    if (is_type(inst, json_string_value(t))) return 0;
    return fail(c, path, "not of type %s", json_string_value(t));
  }
  size_t i;
  json_t *v;
  json_array_foreach(t, i, v) {
    if (json_is_string(v) && is_type(inst, json_string_value(v))) return 0;
  }
  return fail(c, path, "not of any allowed type");
}

static int check_pattern(ctx_t *c, const char *pat, json_t *inst, const char *path) {
  regex_t re;
  if (regcomp(&re, pat, REG_EXTENDED | REG_NOSUB) != 0) {
    return fail(c, path, "schema pattern does not compile: %s", pat);
  }
  int rc = regexec(&re, json_string_value(inst), 0, NULL, 0);
  regfree(&re);
  if (rc != 0) return fail(c, path, "\"%s\" does not match %s", json_string_value(inst), pat);
  return 0;
}

static int check_object(ctx_t *c, json_t *schema, json_t *inst, const char *path) {
  json_t *req = json_object_get(schema, "required");
  size_t i;
  json_t *v;
  json_array_foreach(req, i, v) {
    if (json_is_string(v) && !json_object_get(inst, json_string_value(v))) {
      return fail(c, path, "missing required key \"%s\"", json_string_value(v));
    }
  }
  json_t *props = json_object_get(schema, "properties");
  json_t *addl = json_object_get(schema, "additionalProperties");
  const char *key;
  json_t *val;
  json_object_foreach(inst, key, val) {
    char sub[512];
    join(sub, sizeof sub, path, key);
    json_t *ps = json_object_get(props, key);
    if (ps) {
      if (validate(c, ps, val, sub) != 0) return -1;
    } else if (addl) {
      if (json_is_false(addl)) return fail(c, sub, "additional property not allowed");
      if (validate(c, addl, val, sub) != 0) return -1;
    }
  }
  return 0;
}

static int check_combinators(ctx_t *c, json_t *schema, json_t *inst, const char *path) {
  size_t i;
  json_t *sub;
  json_array_foreach(json_object_get(schema, "allOf"), i, sub) {
    if (validate(c, sub, inst, path) != 0) return -1;
  }
  json_t *any = json_object_get(schema, "anyOf");
  if (any) {
    bool ok = false;
    json_array_foreach(any, i, sub) {
      if (validate(c, sub, inst, path) == 0) {
        ok = true;
        break;
      }
    }
    if (!ok) return fail(c, path, "matches none of anyOf");
  }
  json_t *one = json_object_get(schema, "oneOf");
  if (one) {
    int matches = 0;
    json_array_foreach(one, i, sub) {
      if (validate(c, sub, inst, path) == 0) matches++;
    }
    if (matches != 1) return fail(c, path, "matches %d of oneOf, not exactly 1", matches);
  }
  json_t *neg = json_object_get(schema, "not");
  if (neg && validate(c, neg, inst, path) == 0) return fail(c, path, "matches \"not\"");
  json_t *if_s = json_object_get(schema, "if");
  if (if_s) {
    json_t *branch = validate(c, if_s, inst, path) == 0 ? json_object_get(schema, "then")
                                                        : json_object_get(schema, "else");
    if (branch && validate(c, branch, inst, path) != 0) return -1;
  }
  return 0;
}

static int validate(ctx_t *c, json_t *schema, json_t *inst, const char *path) {
  if (json_is_true(schema)) return 0;
  if (json_is_false(schema)) return fail(c, path, "no value allowed here");
  if (!json_is_object(schema)) return fail(c, path, "schema is not an object or boolean");
  if (++c->depth > 64) {
    c->depth--;
    return fail(c, path, "schema nesting too deep ($ref loop?)");
  }
  int rc = -1;
  json_t *ref = json_object_get(schema, "$ref");
  if (ref) {
    json_t *target = json_is_string(ref) ? resolve_ref(c, json_string_value(ref)) : NULL;
    if (!target) {
      fail(c, path, "unresolved $ref");
      goto out;
    }
    if (validate(c, target, inst, path) != 0) goto out;
  }
  json_t *t = json_object_get(schema, "type");
  if (t && check_type(c, t, inst, path) != 0) goto out;
  json_t *en = json_object_get(schema, "enum");
  if (en) {
    size_t i;
    json_t *v;
    bool found = false;
    json_array_foreach(en, i, v) {
      if (json_equal(v, inst)) found = true;
    }
    if (!found) {
      fail(c, path, "value not in enum");
      goto out;
    }
  }
  json_t *cn = json_object_get(schema, "const");
  if (cn && !json_equal(cn, inst)) {
    fail(c, path, "value is not the const");
    goto out;
  }
  if (json_is_number(inst)) {
    double v = json_number_value(inst);
    json_t *mn = json_object_get(schema, "minimum"), *mx = json_object_get(schema, "maximum");
    if (mn && v < json_number_value(mn)) {
      fail(c, path, "below minimum %g", json_number_value(mn));
      goto out;
    }
    if (mx && v > json_number_value(mx)) {
      fail(c, path, "above maximum %g", json_number_value(mx));
      goto out;
    }
  }
  if (json_is_string(inst)) {
    json_t *ml = json_object_get(schema, "minLength");
    /* Length in code points, as JSON Schema counts it. */
    const unsigned char *s = (const unsigned char *)json_string_value(inst);
    size_t cps = 0;
    for (size_t i = 0; i < json_string_length(inst); i++) cps += (s[i] & 0xC0) != 0x80;
    if (ml && (json_int_t)cps < json_integer_value(ml)) {
      fail(c, path, "shorter than minLength");
      goto out;
    }
    json_t *pat = json_object_get(schema, "pattern");
    if (json_is_string(pat) && check_pattern(c, json_string_value(pat), inst, path) != 0) goto out;
  }
  if (json_is_object(inst) && check_object(c, schema, inst, path) != 0) goto out;
  json_t *items = json_object_get(schema, "items");
  if (items && json_is_array(inst)) {
    size_t i;
    json_t *v;
    json_array_foreach(inst, i, v) {
      char sub[512], idx[32];
      snprintf(idx, sizeof idx, "%zu", i);
      join(sub, sizeof sub, path, idx);
      if (validate(c, items, v, sub) != 0) goto out;
    }
  }
  if (check_combinators(c, schema, inst, path) != 0) goto out;
  rc = 0;
out:
  c->depth--;
  return rc;
}

int fca_jsonschema_validate(json_t *schema, json_t *instance, char *err, size_t n) {
  if (err && n) err[0] = '\0';
  ctx_t c = {schema, err, n, 0};
  int rc = validate(&c, schema, instance, "");
  if (rc == 0 && err && n) err[0] = '\0'; /* failed branches of anyOf/if leave messages */
  return rc;
}
