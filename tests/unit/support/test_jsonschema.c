/* Unit tests for the test-support JSON Schema validator: each keyword accepts what it should
 * and rejects what it should, so schema tests built on it can fail. */
#include "jsonschema.h"

#include <criterion/criterion.h>
#include <string.h>

static json_t *J(const char *text) {
  json_error_t e;
  json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
  cr_assert_not_null(v, "bad test JSON: %s: %s", e.text, text);
  return v;
}

/* Validates instance text against schema text; returns the validator's result. */
static int check(const char *schema, const char *instance, char *err, size_t n) {
  json_t *s = J(schema), *i = J(instance);
  int rc = fca_jsonschema_validate(s, i, err, n);
  json_decref(s);
  json_decref(i);
  return rc;
}

#define OK(schema, inst)                                                                           \
  do {                                                                                             \
    char e_[256];                                                                                  \
    cr_expect_eq(check(schema, inst, e_, sizeof e_), 0, "%s rejected %s: %s", schema, inst, e_);   \
  } while (0)
#define BAD(schema, inst)                                                                          \
  do {                                                                                             \
    char e_[256];                                                                                  \
    cr_expect_eq(check(schema, inst, e_, sizeof e_), -1, "%s accepted %s", schema, inst);          \
  } while (0)

Test(jsonschema, types) {
  OK("{\"type\":\"string\"}", "\"x\"");
  BAD("{\"type\":\"string\"}", "1");
  OK("{\"type\":\"integer\"}", "3");
  OK("{\"type\":\"integer\"}", "3.0");
  BAD("{\"type\":\"integer\"}", "3.5");
  OK("{\"type\":\"number\"}", "3.5");
  BAD("{\"type\":\"number\"}", "\"3\"");
  OK("{\"type\":\"boolean\"}", "false");
  BAD("{\"type\":\"boolean\"}", "0");
  OK("{\"type\":\"null\"}", "null");
  OK("{\"type\":\"array\"}", "[]");
  BAD("{\"type\":\"object\"}", "[]");
  OK("{\"type\":[\"integer\",\"null\"]}", "null");
  OK("{\"type\":[\"integer\",\"null\"]}", "7");
  BAD("{\"type\":[\"integer\",\"null\"]}", "\"7\"");
  OK("true", "{\"anything\":1}");
  BAD("false", "1");
}

Test(jsonschema, values) {
  OK("{\"enum\":[\"a\",1]}", "1");
  BAD("{\"enum\":[\"a\",1]}", "\"b\"");
  OK("{\"const\":1}", "1");
  BAD("{\"const\":1}", "2");
  OK("{\"minimum\":2,\"maximum\":4}", "4");
  BAD("{\"minimum\":2}", "1");
  BAD("{\"maximum\":4}", "5");
  OK("{\"minimum\":2}", "\"not a number: minimum does not apply\"");
  OK("{\"minLength\":2}", "\"\xc3\xa9\xc3\xa9\"");
  BAD("{\"minLength\":2}", "\"\xc3\xa9\"");
  OK("{\"pattern\":\"^FC-[A-Z]+-[0-9]+$\"}", "\"FC-COOP-1\"");
  BAD("{\"pattern\":\"^FC-[A-Z]+-[0-9]+$\"}", "\"FC-coop-1\"");
  BAD("{\"pattern\":\"(\"}", "\"x\""); /* a pattern that does not compile is an error */
}

Test(jsonschema, objects_and_arrays) {
  const char *s = "{\"type\":\"object\",\"required\":[\"a\"],"
                  "\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":false},"
                  "\"additionalProperties\":false}";
  OK(s, "{\"a\":1}");
  BAD(s, "{}");
  BAD(s, "{\"a\":\"1\"}");
  BAD(s, "{\"a\":1,\"b\":2}");
  BAD(s, "{\"a\":1,\"c\":2}");
  OK("{\"additionalProperties\":{\"type\":\"string\"}}", "{\"x\":\"y\"}");
  BAD("{\"additionalProperties\":{\"type\":\"string\"}}", "{\"x\":1}");
  OK("{\"items\":{\"type\":\"integer\"}}", "[1,2,3]");
  BAD("{\"items\":{\"type\":\"integer\"}}", "[1,\"2\"]");
}

Test(jsonschema, combinators) {
  const char *one = "{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":5}]}";
  OK(one, "3");
  BAD(one, "7"); /* matches both */
  OK(one, "5.5");
  OK(one, "\"x\""); /* minimum does not apply to a string: exactly one match */
  OK("{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}", "null");
  BAD("{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}", "1");
  OK("{\"allOf\":[{\"minimum\":1},{\"maximum\":3}]}", "2");
  BAD("{\"allOf\":[{\"minimum\":1},{\"maximum\":3}]}", "4");
  OK("{\"not\":{\"type\":\"string\"}}", "1");
  BAD("{\"not\":{\"type\":\"string\"}}", "\"s\"");
  const char *ite = "{\"if\":{\"properties\":{\"t\":{\"const\":\"a\"}}},"
                    "\"then\":{\"required\":[\"x\"]},\"else\":{\"required\":[\"y\"]}}";
  OK(ite, "{\"t\":\"a\",\"x\":1}");
  BAD(ite, "{\"t\":\"a\",\"y\":1}");
  OK(ite, "{\"t\":\"b\",\"y\":1}");
  BAD(ite, "{\"t\":\"b\",\"x\":1}");
}

Test(jsonschema, refs_and_errors) {
  const char *s = "{\"$defs\":{\"pos\":{\"type\":\"integer\",\"minimum\":1}},"
                  "\"properties\":{\"n\":{\"$ref\":\"#/$defs/pos\"},"
                  "\"m\":{\"$ref\":\"#/$defs/missing\"}}}";
  OK(s, "{\"n\":2}");
  BAD(s, "{\"n\":0}");
  BAD(s, "{\"m\":0}"); /* unresolved $ref */
  char err[256];
  cr_assert_eq(check(s, "{\"n\":0}", err, sizeof err), -1);
  cr_assert_not_null(strstr(err, "/n"), "error names the instance path: %s", err);
  cr_assert_not_null(strstr(err, "minimum"), "%s", err);
  cr_assert_eq(check(s, "{\"n\":3}", err, sizeof err), 0);
  cr_assert_str_eq(err, "", "no stale message after success");
  /* A $ref loop ends with an error instead of recursing forever. */
  BAD("{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/a\"}},\"$ref\":\"#/$defs/a\"}", "1");
}
