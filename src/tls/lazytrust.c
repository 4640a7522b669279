/* lazytrust: see lazytrust.h. The lookup's data is the bundle's path and a once-flag behind a
 * mutex: workers share one X509_STORE (reference-counted), so the first handshake that needs an
 * issuer not already in the store reads the file, and every later lookup only searches the
 * store's objects under the store's own lock. */
#include "lazytrust.h"

#include "fcaudit/util.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

typedef struct {
  pthread_mutex_t lock;
  bool loaded;
  char *path;
} lazy_t;

static int lazy_new(X509_LOOKUP *lu) {
  lazy_t *l = fca_xcalloc(1, sizeof *l);
  pthread_mutex_init(&l->lock, NULL);
  return X509_LOOKUP_set_method_data(lu, l);
}

static void lazy_free(X509_LOOKUP *lu) {
  lazy_t *l = X509_LOOKUP_get_method_data(lu);
  if (!l) return;
  pthread_mutex_destroy(&l->lock);
  free(l->path);
  free(l);
}

static int lazy_by_subject(X509_LOOKUP *lu, X509_LOOKUP_TYPE type, const X509_NAME *name,
                           X509_OBJECT *ret) {
  lazy_t *l = X509_LOOKUP_get_method_data(lu);
  X509_STORE *st = X509_LOOKUP_get_store(lu);
  if (!l || !st || type != X509_LU_X509) return 0;
  pthread_mutex_lock(&l->lock);
  if (!l->loaded) {
    l->loaded = true;
    /* A missing or unreadable bundle trusts nothing more, as OpenSSL's default paths do. */
    if (l->path && X509_load_cert_crl_file(lu, l->path, X509_FILETYPE_PEM) <= 0) ERR_clear_error();
  }
  pthread_mutex_unlock(&l->lock);
  int ok = 0;
  if (!X509_STORE_lock(st)) return 0;
  X509_OBJECT *o = X509_OBJECT_retrieve_by_subject(X509_STORE_get0_objects(st), type, name);
  /* `ret` borrows the store's certificate, as OpenSSL's own lookups fill it: the caller
   * (X509_STORE_CTX_get_by_subject) takes its own reference. */
  X509 *x = o ? X509_OBJECT_get0_X509(o) : NULL;
  if (x && X509_OBJECT_set1_X509(ret, x)) {
    X509_free(x);
    ok = 1;
  }
  X509_STORE_unlock(st);
  return ok;
}

static X509_LOOKUP_METHOD *method;
static pthread_once_t method_once = PTHREAD_ONCE_INIT;

static void method_init(void) {
  X509_LOOKUP_METHOD *m = X509_LOOKUP_meth_new("fcaudit lazy bundle");
  if (!m) return;
  if (!X509_LOOKUP_meth_set_new_item(m, lazy_new) || !X509_LOOKUP_meth_set_free(m, lazy_free) ||
      !X509_LOOKUP_meth_set_get_by_subject(m, lazy_by_subject)) {
    X509_LOOKUP_meth_free(m);
    return;
  }
  method = m;
}

int fca_lazytrust_add(X509_STORE *store, const char *path) {
  pthread_once(&method_once, method_init);
  if (!method || !store || !path) return -1;
  X509_LOOKUP *lu = X509_STORE_add_lookup(store, method);
  lazy_t *l = lu ? X509_LOOKUP_get_method_data(lu) : NULL;
  if (!l) return -1;
  free(l->path);
  l->path = fca_xstrdup(path);
  l->loaded = false;
  return 0;
}
