/* intercept: which CONNECT hosts are decrypted. --ignore-hosts globs are tunnelled blindly;
 * with --intercept-hosts only matching hosts are decrypted; with --auto-passthrough a host
 * whose client rejected the minted certificate is tunnelled blindly from then on. The
 * rejected-host table is shared by all workers behind its own lock. */
#ifndef FCAUDIT_INTERCEPT_H
#define FCAUDIT_INTERCEPT_H

#include "worker.h"

#include <stdbool.h>

typedef struct fca_passthrough fca_passthrough_t;

fca_passthrough_t *fca_passthrough_new(void);
void fca_passthrough_free(fca_passthrough_t *p);

bool fca_intercept_wanted(const fca_proxy_shared_t *s, const char *host);
/* A client failed the TLS handshake with a minted certificate for host: one diagnostic line per
 * host telling how to trust the CA; with --auto-passthrough the host is tunnelled from now on. */
void fca_intercept_rejected(const fca_proxy_shared_t *s, const char *host, const char *client,
                            const char *why);

#endif
