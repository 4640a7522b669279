/* admin_util: the pure pieces of the admin pages: a growable text buffer, HTML escaping for
 * anything that came from traffic or the CA, a {{NAME}} template filler that escapes every
 * value, and the Host check that keeps DNS-rebinding pages away from the admin listener.
 * No libevent, no sockets: unit tests drive it directly. */
#ifndef FCAUDIT_ADMIN_UTIL_H
#define FCAUDIT_ADMIN_UTIL_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
  char *p; /* NUL-terminated when len > 0 or after any add */
  size_t len, cap;
} fca_abuf_t;

void fca_abuf_add(fca_abuf_t *b, const void *s, size_t n);
void fca_abuf_puts(fca_abuf_t *b, const char *s);
void fca_abuf_printf(fca_abuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s[0..n) escaped by fca_escape_markup (fcaudit/escape.h): & < > " ' as entities, NUL
 * dropped, other control characters as \xHH; safe in element content and quoted attributes. */
void fca_abuf_html(fca_abuf_t *b, const char *s, size_t n);
void fca_abuf_free(fca_abuf_t *b);

/* Fills a template: each {{NAME}} (NAME of [A-Z0-9_]) becomes lookup(ud, NAME), HTML-escaped;
 * an unknown NAME (lookup returns NULL) becomes the empty string. Other text is copied as is. */
void fca_admin_template(fca_abuf_t *out, const char *tmpl, size_t n,
                        const char *(*lookup)(void *ud, const char *name), void *ud);

/* DNS-rebinding protection: true when the Host header names the admin listener itself — the
 * name fcaudit.test (any port: it arrives through the proxy), "localhost", or an IP literal
 * (a rebinding attack needs a DNS name of its own) — and, unless it is fcaudit.test, any port
 * it carries is `port` (the listener's). NULL or empty Host is refused. */
bool fca_admin_host_allowed(const char *host, int port);

#endif
