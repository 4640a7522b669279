/* fakedns: NXDOMAIN for every question (see fakedns.h). The answer echoes the query's ID and
 * question and drops any additional records (EDNS), which resolvers accept. */
#include "fakedns.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Length of the header plus the first question, with its name written dotted into name;
 * 0 when the message is malformed. */
static size_t question_end(const unsigned char *m, size_t n, char *name, size_t namelen) {
  size_t p = 12, o = 0;
  if (n < 12) return 0;
  name[0] = 0;
  while (p < n && m[p] != 0) {
    size_t l = m[p];
    if (l > 63 || p + 1 + l > n) return 0;
    if (o + l + 2 < namelen) {
      if (o) name[o++] = '.';
      memcpy(name + o, m + p + 1, l);
      o += l;
      name[o] = 0;
    }
    p += 1 + l;
  }
  if (p + 5 > n) return 0;
  return p + 5; /* root label, QTYPE, QCLASS */
}

static void *serve(void *arg) {
  fca_fakedns_t *d = arg;
  while (!atomic_load(&d->stop)) {
    struct pollfd pf = {d->fd, POLLIN, 0};
    if (poll(&pf, 1, 50) != 1) continue;
    unsigned char m[1500];
    struct sockaddr_storage from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(d->fd, m, sizeof m, 0, (struct sockaddr *)&from, &fl);
    if (n < 12) continue;
    char name[256];
    size_t end = question_end(m, (size_t)n, name, sizeof name);
    if (end == 0 || (m[2] & 0x80)) continue;      /* malformed, or a response */
    m[2] = (unsigned char)(0x80 | (m[2] & 0x79)); /* QR, opcode and RD kept */
    m[3] = 0x80 | 3;                              /* RA, RCODE = NXDOMAIN */
    m[4] = 0;
    m[5] = 1; /* one question */
    memset(m + 6, 0, 6);
    pthread_mutex_lock(&d->lock);
    memcpy(d->last_name, name, sizeof d->last_name);
    pthread_mutex_unlock(&d->lock);
    sendto(d->fd, m, end, 0, (struct sockaddr *)&from, fl);
    atomic_fetch_add(&d->queries, 1);
  }
  return NULL;
}

int fca_fakedns_start(fca_fakedns_t *d) {
  memset(d, 0, sizeof *d);
  atomic_init(&d->stop, false);
  atomic_init(&d->queries, 0);
  pthread_mutex_init(&d->lock, NULL);
  d->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (d->fd < 0) return -1;
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(d->fd, (struct sockaddr *)&a, sizeof a) < 0 ||
      getsockname(d->fd, (struct sockaddr *)&a, &len) < 0 ||
      pthread_create(&d->thread, NULL, serve, d) != 0) {
    close(d->fd);
    d->fd = -1;
    return -1;
  }
  d->port = ntohs(a.sin_port);
  return 0;
}

void fca_fakedns_last_name(fca_fakedns_t *d, char *out, size_t outlen) {
  pthread_mutex_lock(&d->lock);
  snprintf(out, outlen, "%s", d->last_name);
  pthread_mutex_unlock(&d->lock);
}

void fca_fakedns_stop(fca_fakedns_t *d) {
  if (d->fd < 0) return;
  atomic_store(&d->stop, true);
  pthread_join(d->thread, NULL);
  close(d->fd);
  d->fd = -1;
  pthread_mutex_destroy(&d->lock);
}
