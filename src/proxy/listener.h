/* listener: parsing of --listen addresses and creation of listening sockets (SO_REUSEPORT so
 * that every worker accepts on its own socket, after a probe that makes a port already in use
 * an error at start). */
#ifndef FCAUDIT_LISTENER_H
#define FCAUDIT_LISTENER_H

#include "worker.h"

#include <stdbool.h>
#include <stddef.h>

/* "127.0.0.1:8080", "[::1]:8080", "localhost:8080", "0.0.0.0:8080". */
int fca_listen_parse(const char *spec, fca_sockaddr_t *out, char *err, size_t errlen);
/* True when the address is loopback (127/8 or ::1). */
bool fca_sockaddr_is_loopback(const fca_sockaddr_t *a);
/* Fails with "address in use" when something already listens there (port 0 never does). */
int fca_listen_probe(const fca_sockaddr_t *a, char *err, size_t errlen);
/* A non-blocking listening socket with SO_REUSEADDR and SO_REUSEPORT. Returns fd or -1. */
int fca_listen_socket(const fca_sockaddr_t *a, char *err, size_t errlen);
/* "127.0.0.1:8080" / "[::1]:8080" */
void fca_sockaddr_format(const fca_sockaddr_t *a, char *buf, size_t n);
int fca_sockaddr_port(const fca_sockaddr_t *a);

/* The addresses of this host's interfaces (getifaddrs), malloc'd; *n their count. */
fca_sockaddr_t *fca_local_addrs(size_t *n);
/* True when sa is an address of this host: unspecified, loopback (v4, v6, v4-mapped) or one
 * of local[]. */
bool fca_sockaddr_is_this_host(const struct sockaddr *sa, const fca_sockaddr_t *local,
                               size_t nlocal);
/* True when connecting to sa would reach one of the listeners: its port is a listen port and
 * its address is this host (unspecified, loopback, v4-mapped forms of those, or an interface
 * address in local[]). Conservative: any listen port on any local address counts. */
bool fca_sockaddr_reaches_listener(const struct sockaddr *sa, const fca_sockaddr_t *listen,
                                   size_t nlisten, const fca_sockaddr_t *local, size_t nlocal);

#endif
