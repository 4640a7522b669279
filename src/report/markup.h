/* markup: text escaped for HTML and XML reports. Traffic text is untrusted: &, <, >, quotes
 * become entities, and control characters (other than tab, LF, CR) become the literal text
 * \xHH, which XML 1.0 could not carry and HTML should not render. */
#ifndef FCAUDIT_MARKUP_H
#define FCAUDIT_MARKUP_H

#include <stdio.h>

void fca_markup_escape(FILE *f, const char *s);

#endif
