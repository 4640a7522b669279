/* console: the human-readable line of an event, for a terminal or a CI log. Formatting is
 * separate from output so it can be tested. Text from the network (URLs, evidence) is made
 * safe for a terminal: control characters and bytes that are not UTF-8 are shown as \xHH, so a
 * page cannot inject terminal escapes. Pure: no libevent. */
#ifndef FCAUDIT_CONSOLE_H
#define FCAUDIT_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "fcaudit/event.h"

/* Display limits (characters of the evidence "name: value" and of a URL) before "…". */
#ifndef FCA_CONSOLE_EVIDENCE_MAX
#define FCA_CONSOLE_EVIDENCE_MAX 120
#endif
#ifndef FCA_CONSOLE_URL_MAX
#define FCA_CONSOLE_URL_MAX 200
#endif
/* A buffer of this size always holds a whole line. */
#define FCA_CONSOLE_LINE_MAX 2048

typedef enum {
  FCA_COLOR_AUTO = 0, /* color when the stream is a TTY and NO_COLOR is not set */
  FCA_COLOR_NEVER,
  FCA_COLOR_ALWAYS,
} fca_color_mode_t;

/* Writes the line for ev into buf (always NUL-terminated when n > 0, ends in '\n'), with ANSI
 * colors when color is true. Returns its length, or 0 for events without a console line
 * (summary: the summary module prints its own). A line that does not fit is cut at n - 1 bytes,
 * on a character boundary, and keeps its final '\n'. Lines:
 *   violation: LEVEL  RULE  URL  name: value  → fix: FIX   (plus "(×N)" when count > 1)
 *   page:      PAGE   URL  tagged by TAGGED_BY (CONFIDENCE)[, frame]
 *   pass:      PASS   URL
 *   note:      NOTE   URL  KIND: MESSAGE */
size_t fca_console_format(char *buf, size_t n, const fca_event_t *ev, bool color);

/* Decides color for a stream: AUTO means isatty(fileno(f)) and no NO_COLOR in the environment. */
bool fca_console_use_color(FILE *f, fca_color_mode_t mode);

/* Formats and writes the line with one fputs (stdio's lock keeps lines whole). */
void fca_console_write(FILE *f, const fca_event_t *ev, bool color);

#endif
