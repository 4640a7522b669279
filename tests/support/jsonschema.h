/* jsonschema: a small JSON Schema validator over jansson values, for tests. It covers the
 * subset docs/events.schema.json uses: boolean schemas, type (name or array of names), enum,
 * const, required, properties, additionalProperties (bool or schema), items (one schema),
 * minimum, maximum, minLength, pattern (POSIX extended regex), allOf/anyOf/oneOf/not,
 * if/then/else, and $ref to "#/$defs/NAME" (or "#/definitions/NAME"). Other keywords are
 * ignored. */
#ifndef FCA_TEST_JSONSCHEMA_H
#define FCA_TEST_JSONSCHEMA_H

#include <jansson.h>
#include <stddef.h>

/* 0 when instance is valid against schema; -1 with the first reason (JSON pointer of the
 * instance and what failed) in err otherwise. */
int fca_jsonschema_validate(json_t *schema, json_t *instance, char *err, size_t n);

#endif
