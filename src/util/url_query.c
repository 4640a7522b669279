/* url_query: the one way to drop a URL's ?query and #fragment (dedup keys, fingerprints,
 * redaction, report grouping). Byte-level on purpose: the first '?' or '#' ends the part that
 * names the resource, whatever the URL's scheme. */
#include "fcaudit/util.h"

#include <string.h>

size_t fca_url_query_offset(const char *url) { return strcspn(url, "?#"); }

char *fca_url_without_query(const char *url) {
  return url ? fca_xstrndup(url, fca_url_query_offset(url)) : NULL;
}
