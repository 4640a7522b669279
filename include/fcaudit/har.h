/* har: HAR 1.2 files (Chrome/Firefox DevTools, Playwright recordHar, mitmproxy, fcaudit --har)
 * read as a stream and replayed through the audit engine. The reader scans the file in fixed
 * chunks with a small JSON tokenizer that validates the structure and cuts out one element of
 * log.pages or log.entries at a time, which jansson then parses: memory is bounded per entry
 * (content.text and postData.text are kept up to a cap; larger entries are skipped with an
 * error), never per file. The replay turns an entry into the engine's calls (request head,
 * response head, decoded body slices or a body-missing note, end), exactly as the proxy does. */
#ifndef FCAUDIT_HAR_H
#define FCAUDIT_HAR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fcaudit/audit.h"

/* Raw (still JSON-escaped) bytes kept of one entry apart from its body texts. */
#ifndef FCA_HAR_ENTRY_MAX
#define FCA_HAR_ENTRY_MAX (16u * 1024 * 1024)
#endif

typedef struct fca_har_reader fca_har_reader_t;

typedef enum {
  FCA_HAR_PAGE = 0, /* an element of log.pages */
  FCA_HAR_ENTRY,    /* an element of log.entries */
  FCA_HAR_SKIPPED,  /* an entry that could not be used (err says why); reading goes on */
  FCA_HAR_END,      /* the file ended cleanly */
  FCA_HAR_ERROR,    /* malformed or truncated: err names the entry; reading stops */
} fca_har_item_kind_t;

typedef struct {
  fca_har_item_kind_t kind;
  json_t *obj;     /* PAGE/ENTRY: the element (the caller owns the reference) */
  size_t index;    /* ENTRY/SKIPPED: 1-based number of the entry in the file */
  uint64_t offset; /* byte offset of the element (or of the error) in the file */
  bool text_cut;   /* ENTRY: a body text was longer than the cap and was cut */
  char err[400];   /* SKIPPED/ERROR */
} fca_har_item_t;

/* text_max: bytes of a content.text/postData.text string kept (as escaped in the file); 0 =
 * 32 MiB. NULL with err when the file cannot be opened. path "-" reads standard input. */
fca_har_reader_t *fca_har_reader_open(const char *path, size_t text_max, char *err, size_t errlen);
/* The same over an open stream (not closed by the reader). name is used in messages. */
fca_har_reader_t *fca_har_reader_new(FILE *f, const char *name, size_t text_max);
void fca_har_reader_next(fca_har_reader_t *r, fca_har_item_t *out);
void fca_har_reader_free(fca_har_reader_t *r);
/* Peak bytes the reader held for one element (for tests and the docs' memory figures). */
size_t fca_har_reader_peak(const fca_har_reader_t *r);

/* ---- replay ---- */

typedef struct fca_har_replay fca_har_replay_t;

/* client: the client identity entries are attributed to unless they name one (_fcaudit.client);
 * dir: the HAR's directory (Playwright's content._file bodies are read from it), may be NULL. */
fca_har_replay_t *fca_har_replay_new(fca_audit_t *a, const char *client, const char *dir);
void fca_har_replay_free(fca_har_replay_t *r);
/* Remembers a page of log.pages (id, title, startedDateTime). */
void fca_har_replay_page(fca_har_replay_t *r, const json_t *page);
/* Replays one entry. Returns 0, or -1 with err (no request URL, bad startedDateTime, bad
 * base64): the entry was not replayed. text_cut: the body text was cut by the reader. */
int fca_har_replay_entry(fca_har_replay_t *r, const json_t *entry, bool text_cut, char *err,
                         size_t errlen);

/* startedDateTime of an entry in ms since the epoch (ISO 8601 with a zone). -1 when absent or
 * not a date. */
int64_t fca_har_entry_time(const json_t *entry);
/* Parses an ISO 8601 date-time with a zone ("Z" or "+hh:mm"); -1 on bad syntax. */
int64_t fca_har_parse_time(const char *s);

#endif
