/* listener: --listen parsing and listening sockets. Workers each bind their own socket with
 * SO_REUSEPORT and the kernel spreads connections among them; because SO_REUSEPORT would also
 * let us share a port with another process, a probe bind without it runs first. */
#include "listener.h"

#include "fcaudit/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

int fca_listen_parse(const char *spec, fca_sockaddr_t *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  char host[128];
  const char *colon;
  if (spec[0] == '[') {
    const char *rb = strchr(spec, ']');
    if (!rb || rb[1] != ':' || (size_t)(rb - spec - 1) >= sizeof host) goto bad;
    memcpy(host, spec + 1, (size_t)(rb - spec - 1));
    host[rb - spec - 1] = '\0';
    colon = rb + 1;
  } else {
    colon = strrchr(spec, ':');
    if (!colon || (size_t)(colon - spec) >= sizeof host) goto bad;
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = '\0';
  }
  char *end;
  long port = strtol(colon + 1, &end, 10);
  if (!colon[1] || *end || port < 0 || port > 65535) goto bad;
  if (strcasecmp(host, "localhost") == 0 || host[0] == '\0') strcpy(host, "127.0.0.1");
  struct sockaddr_in *s4 = (struct sockaddr_in *)&out->addr;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->addr;
  if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    out->len = sizeof *s4;
    return 0;
  }
  if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)port);
    out->len = sizeof *s6;
    return 0;
  }
bad:
  fca_seterr(err, errlen,
             "bad listen address '%s' (want ADDR:PORT, e.g. 127.0.0.1:8080 or [::1]:8080)", spec);
  return -1;
}

bool fca_sockaddr_is_loopback(const fca_sockaddr_t *a) {
  const struct sockaddr *sa = (const struct sockaddr *)&a->addr;
  if (sa->sa_family == AF_INET)
    return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
  if (sa->sa_family == AF_INET6)
    return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
  return false;
}

int fca_sockaddr_port(const fca_sockaddr_t *a) {
  const struct sockaddr *sa = (const struct sockaddr *)&a->addr;
  if (sa->sa_family == AF_INET) return ntohs(((const struct sockaddr_in *)sa)->sin_port);
  if (sa->sa_family == AF_INET6) return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
  return 0;
}

void fca_sockaddr_format(const fca_sockaddr_t *a, char *buf, size_t n) {
  char host[INET6_ADDRSTRLEN] = "?";
  const struct sockaddr *sa = (const struct sockaddr *)&a->addr;
  if (sa->sa_family == AF_INET) {
    inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, host, sizeof host);
    snprintf(buf, n, "%s:%d", host, fca_sockaddr_port(a));
  } else {
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, host, sizeof host);
    snprintf(buf, n, "[%s]:%d", host, fca_sockaddr_port(a));
  }
}

int fca_listen_probe(const fca_sockaddr_t *a, char *err, size_t errlen) {
  if (fca_sockaddr_port(a) == 0) return 0;
  const struct sockaddr *sa = (const struct sockaddr *)&a->addr;
  int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int r = bind(fd, sa, a->len);
  int e = errno;
  close(fd);
  if (r < 0) {
    char name[80];
    fca_sockaddr_format(a, name, sizeof name);
    if (e == EADDRINUSE)
      fca_seterr(err, errlen,
                 "cannot listen on %s: address already in use (another fcaudit or "
                 "proxy running?); choose another with --listen",
                 name);
    else
      fca_seterr(err, errlen, "cannot listen on %s: %s", name, strerror(e));
    return -1;
  }
  return 0;
}

int fca_listen_socket(const fca_sockaddr_t *a, char *err, size_t errlen) {
  const struct sockaddr *sa = (const struct sockaddr *)&a->addr;
  char name[80];
  fca_sockaddr_format(a, name, sizeof name);
  int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    fca_seterr(err, errlen, "socket: %s", strerror(errno));
    return -1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (sa->sa_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd, sa, a->len) < 0 || listen(fd, 1024) < 0) {
    fca_seterr(err, errlen, "cannot listen on %s: %s", name, strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

fca_sockaddr_t *fca_local_addrs(size_t *n) {
  *n = 0;
  struct ifaddrs *ifa = NULL;
  if (getifaddrs(&ifa) < 0) return NULL;
  size_t cap = 0;
  for (struct ifaddrs *i = ifa; i; i = i->ifa_next) cap++;
  fca_sockaddr_t *out = fca_xcalloc(cap ? cap : 1, sizeof *out);
  for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    int fam = i->ifa_addr->sa_family;
    if (fam != AF_INET && fam != AF_INET6) continue;
    socklen_t len = fam == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    memcpy(&out[*n].addr, i->ifa_addr, len);
    out[*n].len = len;
    (*n)++;
  }
  freeifaddrs(ifa);
  return out;
}

/* An IPv4 address as a v4-mapped IPv6 one, so that both families compare alike. */
static void as_v6(const struct sockaddr *sa, struct in6_addr *out, int *port) {
  memset(out, 0, sizeof *out);
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
    out->s6_addr[10] = out->s6_addr[11] = 0xff;
    memcpy(&out->s6_addr[12], &s4->sin_addr, 4);
    *port = ntohs(s4->sin_port);
  } else {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
    *out = s6->sin6_addr;
    *port = ntohs(s6->sin6_port);
  }
}

static bool is_this_host(const struct in6_addr *a, const fca_sockaddr_t *local, size_t nlocal) {
  static const struct in6_addr any6 = IN6ADDR_ANY_INIT, lo6 = IN6ADDR_LOOPBACK_INIT;
  if (memcmp(a, &any6, sizeof *a) == 0 || memcmp(a, &lo6, sizeof *a) == 0) return true;
  if (IN6_IS_ADDR_V4MAPPED(a)) {
    /* 0.0.0.0/8 ("this network") and 127/8 both reach this host. */
    if (a->s6_addr[12] == 0 || a->s6_addr[12] == 127) return true;
  }
  for (size_t i = 0; i < nlocal; i++) {
    struct in6_addr l;
    int port;
    as_v6((const struct sockaddr *)&local[i].addr, &l, &port);
    if (memcmp(a, &l, sizeof l) == 0) return true;
  }
  return false;
}

bool fca_sockaddr_is_this_host(const struct sockaddr *sa, const fca_sockaddr_t *local,
                               size_t nlocal) {
  if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) return false;
  struct in6_addr a;
  int port;
  as_v6(sa, &a, &port);
  return is_this_host(&a, local, nlocal);
}

bool fca_sockaddr_reaches_listener(const struct sockaddr *sa, const fca_sockaddr_t *listen,
                                   size_t nlisten, const fca_sockaddr_t *local, size_t nlocal) {
  if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) return false;
  struct in6_addr a;
  int port;
  as_v6(sa, &a, &port);
  bool port_match = false;
  for (size_t i = 0; i < nlisten && !port_match; i++)
    port_match = fca_sockaddr_port(&listen[i]) == port;
  if (!port_match) return false;
  if (is_this_host(&a, local, nlocal)) return true;
  /* A listener on a specific address (even one that is no interface's, e.g. after a change). */
  for (size_t i = 0; i < nlisten; i++) {
    struct in6_addr l;
    int lport;
    as_v6((const struct sockaddr *)&listen[i].addr, &l, &lport);
    if (lport == port && memcmp(&a, &l, sizeof l) == 0) return true;
  }
  return false;
}
