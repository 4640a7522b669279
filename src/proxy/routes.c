/* routes: curl-compatible --resolve HOST:PORT:ADDR[,ADDR...] and
 * --connect-to HOST1:PORT1:HOST2:PORT2 (empty HOST1/PORT1 match anything, empty HOST2/PORT2
 * keep the original). The first matching --connect-to wins, as in curl; --resolve then applies
 * to the host actually connected to. Host comparisons are case-insensitive. */
#include "routes.h"

#include "fcaudit/config.h"
#include "fcaudit/util.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
  char host[256];
  int port;
  char addrs[4][64];
  size_t n;
} resolve_t;

typedef struct {
  char host1[256];
  int port1; /* 0 = any */
  char host2[256];
  int port2; /* 0 = same */
} connect_to_t;

struct fca_routes {
  resolve_t *res;
  size_t nres;
  connect_to_t *ct;
  size_t nct;
};

bool fca_host_is_ip(const char *host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

bool fca_host_is_loopback(const char *host) {
  unsigned char b[16];
  if (strcasecmp(host, "localhost") == 0) return true;
  if (inet_pton(AF_INET, host, b) == 1) return b[0] == 127;
  if (inet_pton(AF_INET6, host, b) == 1) {
    static const unsigned char one[16] = {[15] = 1};
    return memcmp(b, one, 16) == 0;
  }
  return false;
}

/* The syntax is parsed by config's parsers (one parser per option); here it becomes table
 * entries with bounded sizes. */
static int parse_resolve(const char *spec, resolve_t *r, char *err, size_t errlen) {
  memset(r, 0, sizeof *r);
  char *host = NULL;
  fca_strlist_t addrs = {0};
  if (fca_config_parse_resolve(spec, &host, &r->port, &addrs, err, errlen) < 0) return -1;
  int rc = 0;
  if (strlen(host) >= sizeof r->host) {
    fca_seterr(err, errlen, "bad --resolve '%s': host name too long", spec);
    rc = -1;
  } else {
    snprintf(r->host, sizeof r->host, "%s", host);
    for (size_t i = 0; i < addrs.n && r->n < 4; i++)
      snprintf(r->addrs[r->n++], sizeof r->addrs[0], "%s", addrs.items[i]);
  }
  free(host);
  fca_strlist_free(&addrs);
  return rc;
}

static int parse_connect_to(const char *spec, connect_to_t *c, char *err, size_t errlen) {
  memset(c, 0, sizeof *c);
  char *h1 = NULL, *h2 = NULL;
  if (fca_config_parse_connect_to(spec, &h1, &c->port1, &h2, &c->port2, err, errlen) < 0) return -1;
  int rc = 0;
  if ((h1 && strlen(h1) >= sizeof c->host1) || (h2 && strlen(h2) >= sizeof c->host2)) {
    fca_seterr(err, errlen, "bad --connect-to '%s': host name too long", spec);
    rc = -1;
  } else {
    snprintf(c->host1, sizeof c->host1, "%s", h1 ? h1 : "");
    snprintf(c->host2, sizeof c->host2, "%s", h2 ? h2 : "");
  }
  free(h1);
  free(h2);
  return rc;
}

int fca_routes_check_resolve(const char *spec, char *err, size_t errlen) {
  resolve_t r;
  return parse_resolve(spec, &r, err, errlen);
}

int fca_routes_check_connect_to(const char *spec, char *err, size_t errlen) {
  connect_to_t c;
  return parse_connect_to(spec, &c, err, errlen);
}

fca_routes_t *fca_routes_new(const fca_strlist_t *resolve, const fca_strlist_t *connect_to,
                             char *err, size_t errlen) {
  fca_routes_t *r = fca_xcalloc(1, sizeof *r);
  r->res = fca_xcalloc(resolve->n + 1, sizeof *r->res);
  r->ct = fca_xcalloc(connect_to->n + 1, sizeof *r->ct);
  for (size_t i = 0; i < resolve->n; i++) {
    if (parse_resolve(resolve->items[i], &r->res[r->nres++], err, errlen) < 0) goto fail;
  }
  for (size_t i = 0; i < connect_to->n; i++) {
    if (parse_connect_to(connect_to->items[i], &r->ct[r->nct++], err, errlen) < 0) goto fail;
  }
  return r;
fail:
  fca_routes_free(r);
  return NULL;
}

void fca_routes_free(fca_routes_t *r) {
  if (!r) return;
  free(r->res);
  free(r->ct);
  free(r);
}

static const resolve_t *find_resolve(const fca_routes_t *r, const char *host, int port) {
  /* Later entries override earlier ones, as curl's cache does. */
  for (size_t i = r->nres; i-- > 0;) {
    if (r->res[i].port == port &&
        (strcmp(r->res[i].host, "*") == 0 || strcasecmp(r->res[i].host, host) == 0))
      return &r->res[i];
  }
  return NULL;
}

void fca_routes_lookup(const fca_routes_t *r, const char *host, int port, fca_route_t *out) {
  memset(out, 0, sizeof *out);
  snprintf(out->host, sizeof out->host, "%s", host);
  out->port = port;
  for (size_t i = 0; i < r->nct; i++) {
    const connect_to_t *c = &r->ct[i];
    if (c->host1[0] && strcasecmp(c->host1, host) != 0) continue;
    if (c->port1 && c->port1 != port) continue;
    if (c->host2[0]) snprintf(out->host, sizeof out->host, "%s", c->host2);
    if (c->port2) out->port = c->port2;
    if (c->host1[0]) out->named = true;
    break;
  }
  if (find_resolve(r, host, port)) out->named = true;
  const resolve_t *res = find_resolve(r, out->host, out->port);
  if (res) {
    for (size_t i = 0; i < res->n; i++) memcpy(out->addrs[i], res->addrs[i], sizeof out->addrs[i]);
    out->n_addrs = res->n;
    out->named = true;
  } else if (fca_host_is_ip(out->host)) {
    size_t n = strlen(out->host); /* an address literal is always shorter than addrs[0] */
    memcpy(out->addrs[0], out->host, n + 1 < sizeof out->addrs[0] ? n + 1 : 0);
    out->n_addrs = n + 1 < sizeof out->addrs[0] ? 1 : 0;
  } else if (strcasecmp(out->host, "localhost") == 0) {
    /* localhost is loopback by definition (RFC 6761): no resolver is asked. */
    snprintf(out->addrs[0], sizeof out->addrs[0], "127.0.0.1");
    snprintf(out->addrs[1], sizeof out->addrs[1], "::1");
    out->n_addrs = 2;
  }
}

bool fca_route_allowed_offline(const fca_route_t *route, const char *req_host) {
  if (route->n_addrs == 0) return false; /* would need a DNS query */
  return route->named || fca_host_is_loopback(req_host);
}
