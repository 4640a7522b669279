/* markup: the HTML and JUnit writers' escaping, onto a FILE (fcaudit/escape.h does the work). */
#include "markup.h"

#include "fcaudit/escape.h"

#include <string.h>

static void put_file(void *ud, const char *p, size_t n) { fwrite(p, 1, n, ud); }

void fca_markup_escape(FILE *f, const char *s) {
  if (s) fca_escape_markup(s, strlen(s), put_file, f);
}
