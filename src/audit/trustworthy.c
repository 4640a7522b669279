/* trustworthy: the "potentially trustworthy origin" test of W3C Secure Contexts, on a URL. */
#include "trustworthy.h"

#include "url.h"

#include <string.h>
#include <strings.h>

/* A dotted-quad IPv4 literal whose first byte is 127 (the URL parser lower-cases the host and
 * drops nothing else; other IPv4 spellings are not normalised, so they are not loopback here). */
static bool ipv4_loopback(const char *h, size_t n) {
  int parts = 0;
  size_t i = 0;
  unsigned first = 0;
  while (i < n) {
    size_t s = i;
    unsigned v = 0;
    while (i < n && h[i] >= '0' && h[i] <= '9' && i - s < 3) v = v * 10 + (unsigned)(h[i++] - '0');
    if (i == s || v > 255) return false;
    if (parts == 0) first = v;
    parts++;
    if (i == n) break;
    if (h[i] != '.' || parts == 4) return false;
    i++;
    if (i == n) return false;
  }
  return parts == 4 && first == 127;
}

static bool localhost(const char *h, size_t n) {
  if (n && h[n - 1] == '.') n--; /* "localhost." */
  if (n == 9 && strncasecmp(h, "localhost", 9) == 0) return true;
  return n > 10 && strncasecmp(h + n - 10, ".localhost", 10) == 0;
}

bool fca_url_parsed_trustworthy(const fca_url_t *u) {
  const char *s = u->scheme;
  size_t sl = u->scheme_len;
  if ((sl == 5 && !memcmp(s, "https", 5)) || (sl == 3 && !memcmp(s, "wss", 3)) ||
      (sl == 4 && !memcmp(s, "file", 4)))
    return true;
  if ((sl == 4 && !memcmp(s, "http", 4)) || (sl == 2 && !memcmp(s, "ws", 2)))
    return localhost(u->host, u->host_len) || ipv4_loopback(u->host, u->host_len) ||
           (u->host_len == 5 && !memcmp(u->host, "[::1]", 5));
  return false;
}

bool fca_url_trustworthy(const char *url) {
  fca_url_t u;
  if (!url || fca_url_parse(url, strlen(url), &u) != 0) return false;
  bool ok = fca_url_parsed_trustworthy(&u);
  fca_url_free(&u);
  return ok;
}
