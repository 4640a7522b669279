/* fakedns: a tiny DNS server on UDP 127.0.0.1 that answers NXDOMAIN to every query, so a proxy
 * started with --dns-server 127.0.0.1:PORT looks names up without anything leaving the machine.
 * It runs on its own thread in the test process and counts the queries it answered. */
#ifndef FCA_TEST_FAKEDNS_H
#define FCA_TEST_FAKEDNS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct {
  int fd;
  int port;
  pthread_t thread;
  atomic_bool stop;
  atomic_uint queries;  /* queries answered so far */
  char last_name[256];  /* the last name asked for (dotted), written by the server thread */
  pthread_mutex_t lock; /* guards last_name */
} fca_fakedns_t;

/* Binds 127.0.0.1:0 and starts answering. Returns 0 (d->port set) or -1. */
int fca_fakedns_start(fca_fakedns_t *d);
/* The last name asked for, copied into out. */
void fca_fakedns_last_name(fca_fakedns_t *d, char *out, size_t outlen);
void fca_fakedns_stop(fca_fakedns_t *d);

#endif
