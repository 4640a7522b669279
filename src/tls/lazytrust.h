/* lazytrust: a certificate bundle (one PEM file of trust anchors) read on the first lookup
 * instead of at start. Parsing the system bundle costs ~66 ms and ~1 MiB that an idle proxy,
 * or one whose upstreams are all on --upstream-ca, never needs. Once read, the bundle's
 * certificates are in the store like any other; a lookup for an issuer that is not in it is
 * answered from memory (the file is read once per process, never again). */
#ifndef FCAUDIT_LAZYTRUST_H
#define FCAUDIT_LAZYTRUST_H

#include <openssl/x509_vfy.h>

/* Adds the bundle at `path` to `store` as a lookup that reads it on first use. 0 or -1. */
int fca_lazytrust_add(X509_STORE *store, const char *path);

#endif
