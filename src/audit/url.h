/* url: URL parsing and reference resolution for the audit (is this <script src> Stripe.js?).
 * RFC 3986 resolution with the WHATWG URL parser's input rules that matter for matching: leading
 * and trailing C0/space trimmed, tab and newline removed anywhere, scheme and host lower-cased,
 * host percent-decoded, '\' as '/' for special schemes (http, https, ws, wss, ftp, file), extra
 * slashes after a special scheme skipped, default ports dropped, "%2e" dot segments. No IDNA, no
 * IPv4 number normalisation, no percent-encoding of the path. */
#ifndef FCAUDIT_URL_H
#define FCAUDIT_URL_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
  char *href; /* the serialised URL (owned, NUL-terminated); the parts below point into it */
  const char *scheme;
  size_t scheme_len; /* lower-case, without ':' */
  const char *userinfo;
  size_t userinfo_len;
  const char *host; /* lower-case; empty when the URL has no authority */
  size_t host_len;
  const char *port; /* digits as written, empty when absent or the scheme's default */
  size_t port_len;
  int port_num; /* explicit port, else the scheme default (http/ws 80, https/wss 443), else -1 */
  const char *path;
  size_t path_len;
  const char *query; /* without '?' */
  size_t query_len;
  const char *fragment; /* without '#' */
  size_t fragment_len;
  bool has_authority, has_query, has_fragment;
  bool special; /* http, https, ws, wss, ftp, file */
} fca_url_t;

/* An absolute URL. Returns 0, or -1 (out untouched) when it has no scheme or is invalid. */
int fca_url_parse(const char *s, size_t n, fca_url_t *out);
/* Resolves a reference (relative or absolute) against an absolute base; base may be NULL when
 * ref is absolute. Returns 0 or -1. */
int fca_url_resolve(const char *base, size_t base_len, const char *ref, size_t ref_len,
                    fca_url_t *out);
void fca_url_free(fca_url_t *u);

#endif
