/* config_addr: the address syntaxes options use (ADDR:PORT, [IPv6]:PORT, curl's --resolve and
 * --connect-to, DNS servers, http:// proxy URLs) and the loopback test behind --allow-remote.
 * Pure string work: nothing is looked up, so checking an option never touches the network. */
#include "fcaudit/config.h"

#include "fcaudit/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Decimal port; empty is refused here (callers allow it where curl does). */
static int parse_port(const char *s, size_t len, int min, int *out) {
  if (len == 0 || len > 5) return -1;
  int v = 0;
  for (size_t i = 0; i < len; i++) {
    if (!isdigit((unsigned char)s[i])) return -1;
    v = v * 10 + (s[i] - '0');
  }
  if (v < min || v > 65535) return -1;
  *out = v;
  return 0;
}

static bool is_ip(const char *s, size_t len, int *family) {
  char buf[INET6_ADDRSTRLEN + 1];
  unsigned char addr[sizeof(struct in6_addr)];
  if (len == 0 || len >= sizeof buf) return false;
  memcpy(buf, s, len);
  buf[len] = '\0';
  if (inet_pton(AF_INET, buf, addr) == 1) {
    if (family) *family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, buf, addr) == 1) {
    if (family) *family = AF_INET6;
    return true;
  }
  return false;
}

/* Reads a host field ending at ':' or end of string: "[v6]" or a run without ':'.
 * Sets *h and *hl to the host without brackets and returns the pointer after the field. */
static const char *host_field(const char *s, const char **h, size_t *hl) {
  if (*s == '[') {
    const char *e = strchr(s, ']');
    if (!e) return NULL;
    *h = s + 1;
    *hl = (size_t)(e - s - 1);
    if (!is_ip(*h, *hl, NULL)) return NULL;
    return e + 1;
  }
  const char *e = strchr(s, ':');
  if (!e) e = s + strlen(s);
  *h = s;
  *hl = (size_t)(e - s);
  return e;
}

int fca_config_split_hostport(const char *s, char *host, size_t hostlen, int *port) {
  const char *h;
  size_t hl;
  const char *p = host_field(s, &h, &hl);
  if (!p || hl == 0 || *p != ':') return -1;
  p++;
  if (parse_port(p, strlen(p), 0, port) < 0) return -1;
  if (hl >= hostlen) return -1;
  memcpy(host, h, hl);
  host[hl] = '\0';
  return 0;
}

bool fca_config_host_is_loopback(const char *host) {
  if (strcasecmp(host, "localhost") == 0) return true;
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton(AF_INET, host, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  if (inet_pton(AF_INET6, host, &a6) == 1)
    return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
  return false;
}

int fca_config_parse_resolve(const char *spec, char **host, int *port, fca_strlist_t *addrs,
                             char *err, size_t errlen) {
  static const char form[] = "expected HOST:PORT:ADDR[,ADDR...]";
  const char *s = spec[0] == '+' ? spec + 1 : spec;
  const char *h;
  size_t hl;
  const char *p = host_field(s, &h, &hl);
  if (!p || hl == 0 || *p != ':') {
    fca_seterr(err, errlen, "bad value '%s' (%s)", spec, form);
    return -1;
  }
  const char *pe = strchr(++p, ':');
  int pv;
  if (!pe || parse_port(p, (size_t)(pe - p), 1, &pv) < 0) {
    fca_seterr(err, errlen, "bad value '%s' (%s, PORT 1 to 65535)", spec, form);
    return -1;
  }
  fca_strlist_t tmp = {0};
  const char *a = pe + 1;
  for (;;) {
    const char *ae = strchr(a, ',');
    size_t al = ae ? (size_t)(ae - a) : strlen(a);
    const char *ip = a;
    size_t il = al;
    if (al >= 2 && a[0] == '[' && a[al - 1] == ']') ip = a + 1, il = al - 2;
    int fam;
    if (!is_ip(ip, il, &fam) || (ip != a && fam != AF_INET6)) {
      fca_seterr(err, errlen, "bad value '%s' (%s): '%.*s' is not an IP address", spec, form,
                 (int)al, a);
      fca_strlist_free(&tmp);
      return -1;
    }
    char *one = fca_xstrndup(ip, il);
    fca_strlist_add(&tmp, one);
    free(one);
    if (!ae) break;
    a = ae + 1;
  }
  if (host) *host = fca_xstrndup(h, hl);
  if (port) *port = pv;
  for (size_t i = 0; i < tmp.n; i++)
    if (addrs) fca_strlist_add(addrs, tmp.items[i]);
  fca_strlist_free(&tmp);
  return 0;
}

int fca_config_parse_connect_to(const char *spec, char **host1, int *port1, char **host2,
                                int *port2, char *err, size_t errlen) {
  const char *h[2];
  size_t hl[2];
  int pv[2] = {0, 0};
  const char *s = spec;
  for (int k = 0; k < 2; k++) {
    s = host_field(s, &h[k], &hl[k]);
    if (!s || *s != ':') goto bad;
    s++;
    const char *pe = strchr(s, ':');
    if (k == 0 && !pe) goto bad;
    if (k == 1 && pe) goto bad;
    size_t pl = pe ? (size_t)(pe - s) : strlen(s);
    if (pl && parse_port(s, pl, 1, &pv[k]) < 0) goto bad;
    s += pl + (pe ? 1 : 0);
  }
  if (host1) *host1 = hl[0] ? fca_xstrndup(h[0], hl[0]) : NULL;
  if (host2) *host2 = hl[1] ? fca_xstrndup(h[1], hl[1]) : NULL;
  if (port1) *port1 = pv[0];
  if (port2) *port2 = pv[1];
  return 0;
bad:
  fca_seterr(err, errlen,
             "bad value '%s' (expected HOST1:PORT1:HOST2:PORT2, fields may be empty, ports 1 to "
             "65535)",
             spec);
  return -1;
}

bool fca_config_is_ip(const char *s) { return is_ip(s, strlen(s), NULL); }

int fca_config_parse_dns_server(const char *spec, char *host, size_t hostlen, int *port) {
  const char *h = spec, *p;
  size_t hl = strlen(spec);
  int pv = 53;
  if (!is_ip(spec, hl, NULL)) { /* not a bare IPv4 or IPv6 address */
    p = host_field(spec, &h, &hl);
    if (!p || !hl || !is_ip(h, hl, NULL)) return -1;
    if (*p == '\0' ? spec[0] != '[' : (*p != ':' || parse_port(p + 1, strlen(p + 1), 1, &pv) < 0))
      return -1;
  }
  if (hl >= hostlen) return -1;
  memcpy(host, h, hl);
  host[hl] = '\0';
  *port = pv;
  return 0;
}

int fca_config_parse_proxy_url(const char *spec, char *host, size_t hostlen, int *port, char *err,
                               size_t errlen) {
  static const char form[] = "expected http://HOST:PORT";
  if (strncasecmp(spec, "http://", 7) != 0) {
    fca_seterr(err, errlen, "bad proxy URL '%s' (%s; only http:// proxies are supported)", spec,
               form);
    return -1;
  }
  const char *hp = spec + 7;
  if (strchr(hp, '@')) {
    fca_seterr(err, errlen, "bad proxy URL '%s' (%s; credentials in the URL are not supported)",
               spec, form);
    return -1;
  }
  size_t len = strlen(hp);
  if (len && hp[len - 1] == '/') len--;
  char buf[300];
  int pv = 0;
  if (len < sizeof buf) {
    memcpy(buf, hp, len);
    buf[len] = '\0';
  }
  if (len >= sizeof buf || fca_config_split_hostport(buf, host, hostlen, &pv) < 0 || pv == 0) {
    fca_seterr(err, errlen, "bad proxy URL '%s' (%s, PORT 1 to 65535)", spec, form);
    return -1;
  }
  *port = pv;
  return 0;
}
