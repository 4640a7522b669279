/* eventjson: the JSON form of an event, one object per line of the NDJSON event log (format in
 * docs/events.md, schema in docs/events.schema.json). Key names are fixed: other tools read
 * them. Every string is made valid UTF-8: bytes that are not (and NUL) become the literal text
 * \xHH, so a value is escaped, never dropped. Pure: jansson only, no libevent. */
#ifndef FCAUDIT_EVENTJSON_H
#define FCAUDIT_EVENTJSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fcaudit/checklist.h"
#include "fcaudit/event.h"

/* Room for a run id ("20261124T100000Z-3f9a1c" plus NUL, with margin). */
#define FCA_RUN_ID_SIZE 32
/* Room for an RFC 3339 timestamp with milliseconds ("2026-11-24T10:00:00.123Z" plus NUL). */
#define FCA_TS_SIZE 32

/* A new JSON object for ev (caller owns the reference), or NULL when ev is NULL. run_id may be
 * NULL (then no "run" key). For a summary, the keys of ev->summary's JSON form
 * (fca_summary_to_json) follow the fixed ones. */
json_t *fca_event_to_json(const fca_event_t *ev, const char *run_id);

/* The event as one compact JSON line ending in '\n' (malloc'd, caller frees); *len gets its
 * length without the NUL. */
char *fca_event_to_line(const fca_event_t *ev, const char *run_id, size_t *len);

/* The one writer and the one reader of a summary's JSON form (the keys of the log's summary
 * line after the fixed ones, docs/events.md). to_json: a new object, NULL when s is NULL; a
 * page whose strings are not valid UTF-8 is left out. from_json: never NULL for an object;
 * keys it does not know are skipped, and earlier forms of a page's scorecard are read too
 * ("scorecard" for "items", an array of {item, status, why|reason}). */
json_t *fca_summary_to_json(const fca_summary_t *s);
fca_summary_t *fca_summary_from_json(const json_t *o);

/* A run id unique per process start: UTC time of the call plus 24 random bits, e.g.
 * "20261124T100000Z-3f9a1c". Returns 0, or -1 when n is too small (out gets ""). */
int fca_run_id_new(char out[], size_t n);

/* ms since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC). Returns the length, 0 when n is too
 * small or the time is out of range. */
size_t fca_eventjson_format_ts(int64_t ts_ms, char *out, size_t n);

/* The escape rule for text that may hold bytes that are not UTF-8. When s[0..n) is valid UTF-8
 * without NUL it is returned unchanged (a copy) and *escaped is false. Otherwise every byte that
 * is not part of a valid UTF-8 sequence, and every NUL, becomes the 4 characters \xHH (lowercase
 * hex), every literal backslash becomes \\ so the escaping can be undone, and *escaped is true.
 * The result is malloc'd, NUL-terminated, valid UTF-8; *out_len (may be NULL) gets its length. */
char *fca_eventjson_escape(const char *s, size_t n, size_t *out_len, bool *escaped);

/* Length of the valid UTF-8 sequence (no NUL, no overlong form, no surrogate, <= U+10FFFF) at
 * s[0..n), or 0 when s[0] does not start one. */
size_t fca_eventjson_utf8_len(const unsigned char *s, size_t n);

#endif
