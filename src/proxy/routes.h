/* routes: where a request for host:port really goes, from curl-style --connect-to and
 * --resolve overrides, and whether --only-resolved allows it (no DNS query is ever made for a
 * host it refuses). Built once at start, read-only afterwards, shared by all workers. */
#ifndef FCAUDIT_ROUTES_H
#define FCAUDIT_ROUTES_H

#include "fcaudit/config.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct fca_routes fca_routes_t;

typedef struct {
  char host[256]; /* host to connect to (after --connect-to), for DNS and TLS checks */
  int port;
  char addrs[4][64]; /* address literals (from --resolve or a literal host); n_addrs 0 = DNS */
  size_t n_addrs;
  bool named; /* the request host was named by --resolve or --connect-to */
} fca_route_t;

fca_routes_t *fca_routes_new(const fca_strlist_t *resolve, const fca_strlist_t *connect_to,
                             char *err, size_t errlen);
void fca_routes_free(fca_routes_t *r);

/* Parses one entry (for option validation and tests). Returns 0 or -1 with err. */
int fca_routes_check_resolve(const char *spec, char *err, size_t errlen);
int fca_routes_check_connect_to(const char *spec, char *err, size_t errlen);

/* Computes the route for a request to host:port. */
void fca_routes_lookup(const fca_routes_t *r, const char *host, int port, fca_route_t *out);
/* --only-resolved policy: true when the route needs no DNS and the host was named by an
 * override or is a loopback address literal. */
bool fca_route_allowed_offline(const fca_route_t *route, const char *req_host);

/* True for 127.0.0.0/8, ::1 and localhost. */
bool fca_host_is_loopback(const char *host);
/* True when host is an IPv4 or IPv6 address literal (no brackets). */
bool fca_host_is_ip(const char *host);

#endif
