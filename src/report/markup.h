/* markup: text escaped for HTML and XML reports, written to a FILE, by the one escaper of
 * fcaudit/escape.h (entities for & < > " ', \xHH for control characters). */
#ifndef FCAUDIT_MARKUP_H
#define FCAUDIT_MARKUP_H

#include <stdio.h>

void fca_markup_escape(FILE *f, const char *s);

#endif
