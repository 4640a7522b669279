/* admin ca page: onboarding a browser onto fcaudit's CA, as mitm.it does for mitmproxy.
 * /ca (the page: downloads, SPKI flag, install steps, a trust probe), /ca.pem, /ca.crt (DER)
 * and /trust-check (what the probe loads through the proxy over https: reaching it at all
 * means the browser trusted the certificate fcaudit minted for fcaudit.test). Only the
 * certificate is ever served, never the key. Everything is rendered once at start. */
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_assets.h"
#include "admin_int.h"
#include "fcaudit/ca.h"
#include "fcaudit/util.h"

static char *write_mem(const fca_ca_t *ca, bool der, size_t *len) {
  char *p = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&p, &n);
  if (!f) return NULL;
  int rc = der ? fca_ca_write_der(ca, f) : fca_ca_write_pem(ca, f);
  if (fclose(f) != 0 || rc < 0) {
    free(p);
    return NULL;
  }
  *len = n;
  return p;
}

static void bio_to(BIO *b, char *out, size_t n) {
  int k = BIO_read(b, out, (int)n - 1);
  out[k > 0 ? k : 0] = '\0';
}

int fca_admin_ca_prepare(fca_admin_t *a, char *err, size_t errlen) {
  const fca_ca_t *ca = a->opts.ca;
  if (!ca) return 0; /* no CA: the page says so */
  a->ca_pem = write_mem(ca, false, &a->ca_pem_len);
  a->ca_der = write_mem(ca, true, &a->ca_der_len);
  if (!a->ca_pem || !a->ca_der || fca_ca_spki_b64(ca, a->ca_spki, sizeof a->ca_spki) < 0 ||
      fca_ca_fingerprint_sha256(ca, a->ca_sha256, sizeof a->ca_sha256) < 0) {
    fca_seterr(err, errlen, "cannot render the CA certificate for the admin pages");
    return -1;
  }
  X509 *x = fca_ca_cert(ca);
  BIO *b = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  bio_to(b, a->ca_subject, sizeof a->ca_subject);
  BIO_free(b);
  b = BIO_new(BIO_s_mem());
  ASN1_TIME_print(b, X509_get0_notAfter(x));
  bio_to(b, a->ca_not_after, sizeof a->ca_not_after);
  BIO_free(b);
  return 0;
}

static const char *lookup(void *ud, const char *name) {
  fca_admin_t *a = ud;
  bool have = a->opts.ca != NULL;
  if (strcmp(name, "SUBJECT") == 0) return have ? a->ca_subject : "(no CA loaded)";
  if (strcmp(name, "NOT_AFTER") == 0) return have ? a->ca_not_after : "";
  if (strcmp(name, "SHA256") == 0) return have ? a->ca_sha256 : "";
  if (strcmp(name, "SPKI") == 0) return have ? a->ca_spki : "";
  if (strcmp(name, "HOST") == 0) return FCA_ADMIN_HOST;
  return NULL;
}

static void serve_page(fca_admin_t *a, struct evhttp_request *req) {
  const fca_admin_asset_t *t = fca_admin_asset_find("ca.html");
  fca_abuf_t b = {0};
  fca_admin_template(&b, t->data, t->len, lookup, a);
  fca_admin_reply(req, 200, t->type, b.p, b.len);
  fca_abuf_free(&b);
}

static void serve_cert(fca_admin_t *a, struct evhttp_request *req, bool der) {
  if (!a->opts.ca) {
    fca_admin_reply_text(req, 404, "fcaudit admin: no CA loaded\n");
    return;
  }
  struct evkeyvalq *h = evhttp_request_get_output_headers(req);
  /* The DER type is what Android, iOS and Windows offer to install; the PEM is a download. */
  if (!der) evhttp_add_header(h, "Content-Disposition", "attachment; filename=\"fcaudit-ca.pem\"");
  fca_admin_reply(req, 200, der ? "application/x-x509-ca-cert" : "application/x-pem-file",
                  der ? a->ca_der : a->ca_pem, der ? a->ca_der_len : a->ca_pem_len);
}

static void serve_trust_check(fca_admin_t *a, struct evhttp_request *req) {
  struct evkeyvalq *h = evhttp_request_get_output_headers(req);
  /* Read by the CA page from another origin (http vs https, or the listener's address). */
  evhttp_add_header(h, "Access-Control-Allow-Origin", "*");
  char body[160];
  snprintf(body, sizeof body, "{\"fcaudit\":true,\"sha256\":\"%s\"}\n", a->ca_sha256);
  fca_admin_reply(req, 200, "application/json", body, strlen(body));
}

bool fca_admin_ca_route(fca_admin_t *a, struct evhttp_request *req, const char *path) {
  if (strcmp(path, "/ca") == 0 || strcmp(path, "/ca/") == 0)
    serve_page(a, req);
  else if (strcmp(path, "/ca.pem") == 0)
    serve_cert(a, req, false);
  else if (strcmp(path, "/ca.crt") == 0 || strcmp(path, "/ca.der") == 0)
    serve_cert(a, req, true);
  else if (strcmp(path, "/trust-check") == 0)
    serve_trust_check(a, req);
  else
    return false;
  return true;
}
