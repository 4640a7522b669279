/* trustworthy: is a URL's origin "potentially trustworthy" (W3C Secure Contexts, 3.1)? Browsers
 * apply Cross-Origin-Opener-Policy and Cross-Origin-Embedder-Policy only in secure contexts,
 * so on plain http://shop.test those headers are ignored (Chromium logs "...has been ignored,
 * because the URL's origin was untrustworthy"). */
#ifndef FCAUDIT_TRUSTWORTHY_H
#define FCAUDIT_TRUSTWORTHY_H

#include "url.h"

#include <stdbool.h>

/* https, wss and file URLs; http/ws URLs whose host is localhost or *.localhost, an IPv4
 * address in 127.0.0.0/8, or [::1]. Anything else (and an unparsable URL) is not. */
bool fca_url_trustworthy(const char *url);
/* The same for a URL already parsed. */
bool fca_url_parsed_trustworthy(const fca_url_t *u);

#endif
