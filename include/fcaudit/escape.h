/* escape: the one escaper for untrusted text placed in HTML or XML (the HTML and JUnit reports,
 * the admin pages). & < > " ' become entities, so the result is safe in element content and in
 * quoted attribute values; NUL bytes are dropped; the other C0 controls (but tab, LF and CR) and
 * DEL become the literal text \xHH, which XML 1.0 cannot carry and HTML should not render. Every
 * other byte (UTF-8 included) passes through. */
#ifndef FCAUDIT_ESCAPE_H
#define FCAUDIT_ESCAPE_H

#include <stddef.h>

/* Writes the escaped s[0..n) as runs of bytes: put(ud, bytes, len). */
typedef void (*fca_escape_put_fn)(void *ud, const char *bytes, size_t len);
void fca_escape_markup(const char *s, size_t n, fca_escape_put_fn put, void *ud);

#endif
