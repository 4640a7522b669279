/* intercept: the decrypt-or-tunnel decision for CONNECT hosts, and the table of hosts whose
 * clients rejected interception (bounded; the oldest entry is replaced when full). */
#include "intercept.h"

#include "fcaudit/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef FCA_PASSTHROUGH_MAX
#define FCA_PASSTHROUGH_MAX 1024
#endif

typedef struct {
  char host[256];
  bool passthrough; /* tunnel blindly from now on */
} entry_t;

struct fca_passthrough {
  pthread_mutex_t lock;
  entry_t *e;
  size_t n, next;
};

fca_passthrough_t *fca_passthrough_new(void) {
  fca_passthrough_t *p = fca_xcalloc(1, sizeof *p);
  pthread_mutex_init(&p->lock, NULL);
  p->e = fca_xcalloc(FCA_PASSTHROUGH_MAX, sizeof *p->e);
  return p;
}

void fca_passthrough_free(fca_passthrough_t *p) {
  if (!p) return;
  pthread_mutex_destroy(&p->lock);
  free(p->e);
  free(p);
}

static entry_t *find(fca_passthrough_t *p, const char *host) {
  for (size_t i = 0; i < p->n; i++)
    if (strcasecmp(p->e[i].host, host) == 0) return &p->e[i];
  return NULL;
}

static bool any_glob(const fca_strlist_t *l, const char *host) {
  for (size_t i = 0; i < l->n; i++)
    if (fca_glob_match(l->items[i], host)) return true;
  return false;
}

bool fca_intercept_wanted(const fca_proxy_shared_t *s, const char *host) {
  const fca_config_t *cfg = s->cfg;
  if (any_glob(&cfg->ignore_hosts, host)) return false;
  if (cfg->intercept_hosts.n > 0 && !any_glob(&cfg->intercept_hosts, host)) return false;
  if (!s->passthrough) return true;
  pthread_mutex_lock(&s->passthrough->lock);
  entry_t *e = find(s->passthrough, host);
  bool pass = e && e->passthrough;
  pthread_mutex_unlock(&s->passthrough->lock);
  return !pass;
}

void fca_intercept_rejected(const fca_proxy_shared_t *s, const char *host, const char *client,
                            const char *why) {
  fca_passthrough_t *p = s->passthrough;
  bool first = true;
  if (p) {
    pthread_mutex_lock(&p->lock);
    entry_t *e = find(p, host);
    if (e) {
      first = false;
    } else {
      e = &p->e[p->next];
      p->next = (p->next + 1) % FCA_PASSTHROUGH_MAX;
      if (p->n < FCA_PASSTHROUGH_MAX) p->n++;
      size_t hl = strlen(host);
      if (hl >= sizeof e->host) hl = sizeof e->host - 1;
      memcpy(e->host, host, hl);
      e->host[hl] = '\0';
    }
    e->passthrough = s->cfg->auto_passthrough;
    pthread_mutex_unlock(&p->lock);
  }
  if (first) {
    fca_warn("%s: the client rejected the intercepted TLS connection to %s (%s). If it does not "
             "trust fcaudit's CA yet: `fcaudit ca show` says where it is; Chromium accepts it "
             "with --ignore-certificate-errors-spki-list=$(fcaudit ca spki); curl with "
             "--cacert $(fcaudit ca path). Pinned clients need --ignore-hosts %s%s",
             client, host, why, host,
             s->cfg->auto_passthrough ? ". --auto-passthrough: later connections to this host "
                                        "are tunnelled without interception"
                                      : " or --auto-passthrough");
  } else {
    fca_debug("%s: client rejected interception of %s again (%s)", client, host, why);
  }
}
