/* ca: loads or creates fcaudit's certificate authority (ca.pem + ca.key in one directory).
 * A new key is written with O_CREAT|O_EXCL and mode 0600 from the start, never chmod'ed after,
 * so it is never briefly readable by others; both files are written under temporary names and
 * moved into place, so a crash leaves either no CA or a whole one. Loading refuses a key file
 * group or others can access, and a key that does not match the certificate. */
#include "fcaudit/ca.h"

#include "fcaudit/util.h"
#include "x509util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef FCA_CA_VALIDITY_DAYS
#define FCA_CA_VALIDITY_DAYS 3650
#endif

struct fca_ca {
  X509 *cert;
  EVP_PKEY *key;
  char *dir;
  char *cert_path;
  char *key_path;
  bool rsa;
};

/* Appends the first queued OpenSSL reason (and clears the queue) to a message. */
static const char *ossl_reason(void) {
  unsigned long e = ERR_peek_last_error();
  const char *r = e ? ERR_reason_error_string(e) : NULL;
  ERR_clear_error();
  return r ? r : "unknown OpenSSL error";
}

char *fca_ca_resolve_dir(const char *configured) {
  if (configured && *configured) return fca_xstrdup(configured);
  const char *env = getenv("FCAUDIT_CA_DIR");
  if (env && *env) return fca_xstrdup(env);
  const char *home = getenv("HOME");
  if (!home || !*home) return NULL;
  return fca_xasprintf("%s/.fcaudit", home);
}

/* A CA directory anyone may write to lets anyone replace the CA (and so the certificates
 * every intercepted page is shown with): refused like a readable key. */
static int dir_safe(const char *dir, char *err, size_t errlen) {
  struct stat st;
  if (stat(dir, &st) != 0) return 0; /* not there yet: created 0700 */
  if (st.st_mode & S_IWOTH) {
    fca_seterr(err, errlen,
               "CA directory %s is writable by others (mode %04o), so anyone could replace the CA; "
               "fix with: chmod 700 %s",
               dir, (unsigned)(st.st_mode & 07777), dir);
    return -1;
  }
  return 0;
}

/* mkdir -p with mode 0700 for every directory it creates. */
static int mkdirs(const char *dir, char *err, size_t errlen) {
  char *p = fca_xstrdup(dir);
  for (char *s = p + 1;; s++) {
    if (*s != '/' && *s != '\0') continue;
    char c = *s;
    *s = '\0';
    if (mkdir(p, 0700) != 0 && errno != EEXIST) {
      fca_seterr(err, errlen, "cannot create CA directory %s: %s", p, strerror(errno));
      free(p);
      return -1;
    }
    *s = c;
    if (c == '\0') break;
  }
  free(p);
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    fca_seterr(err, errlen, "CA directory %s is not a directory", dir);
    return -1;
  }
  return dir_safe(dir, err, errlen);
}

bool fca_ca_exists(const char *dir) {
  char *c = fca_xasprintf("%s/%s", dir, FCA_CA_CERT_FILE);
  char *k = fca_xasprintf("%s/%s", dir, FCA_CA_KEY_FILE);
  bool e = access(c, F_OK) == 0 || access(k, F_OK) == 0;
  free(c);
  free(k);
  return e;
}

static fca_ca_t *ca_alloc(const char *dir) {
  fca_ca_t *ca = fca_xcalloc(1, sizeof *ca);
  ca->dir = fca_xstrdup(dir);
  ca->cert_path = fca_xasprintf("%s/%s", dir, FCA_CA_CERT_FILE);
  ca->key_path = fca_xasprintf("%s/%s", dir, FCA_CA_KEY_FILE);
  return ca;
}

void fca_ca_free(fca_ca_t *ca) {
  if (!ca) return;
  X509_free(ca->cert);
  EVP_PKEY_free(ca->key);
  free(ca->dir);
  free(ca->cert_path);
  free(ca->key_path);
  free(ca);
}

static int load(fca_ca_t *ca, char *err, size_t errlen) {
  int fd = open(ca->key_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    fca_seterr(err, errlen, "cannot open CA key %s: %s", ca->key_path, strerror(errno));
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    fca_seterr(err, errlen, "CA key %s is not a regular file", ca->key_path);
    close(fd);
    return -1;
  }
  if (st.st_mode & 077) {
    fca_seterr(err, errlen,
               "CA key %s has unsafe permissions %04o (group or others can access it); "
               "fix with: chmod 600 %s",
               ca->key_path, (unsigned)(st.st_mode & 07777), ca->key_path);
    close(fd);
    return -1;
  }
  FILE *f = fdopen(fd, "r");
  if (!f) {
    close(fd);
    fca_seterr(err, errlen, "cannot read CA key %s: %s", ca->key_path, strerror(errno));
    return -1;
  }
  ca->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
  fclose(f);
  if (!ca->key) {
    fca_seterr(err, errlen, "cannot parse CA key %s: %s", ca->key_path, ossl_reason());
    return -1;
  }
  f = fopen(ca->cert_path, "re");
  if (!f) {
    fca_seterr(err, errlen, "cannot open CA certificate %s: %s", ca->cert_path, strerror(errno));
    return -1;
  }
  ca->cert = PEM_read_X509(f, NULL, NULL, NULL);
  fclose(f);
  if (!ca->cert) {
    fca_seterr(err, errlen, "cannot parse CA certificate %s: %s", ca->cert_path, ossl_reason());
    return -1;
  }
  if (X509_check_private_key(ca->cert, ca->key) != 1) {
    ERR_clear_error();
    fca_seterr(err, errlen, "CA key %s does not belong to certificate %s", ca->key_path,
               ca->cert_path);
    return -1;
  }
  if (EVP_PKEY_is_a(ca->key, "RSA")) {
    ca->rsa = true;
  } else if (!EVP_PKEY_is_a(ca->key, "EC")) {
    fca_seterr(err, errlen, "CA key %s: unsupported key type (want EC P-256 or RSA)", ca->key_path);
    return -1;
  }
  return 0;
}

/* "fcaudit CA <hostname> <YYYY-MM-DD> <6 hex>": unique per install, so two CAs made on one
 * machine never share a subject (NSS mixes up same-subject CAs). */
static void ca_common_name(char *out, size_t n) {
  char host[256] = "localhost";
  if (gethostname(host, sizeof host - 1) != 0 || !host[0]) strcpy(host, "localhost");
  host[sizeof host - 1] = '\0';
  char *dot = strchr(host, '.');
  if (dot && dot != host) *dot = '\0';
  if (strlen(host) > 24) host[24] = '\0';
  char date[16];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(date, sizeof date, "%Y-%m-%d", &tm);
  unsigned char r[3] = {0, 0, 0};
  RAND_bytes(r, sizeof r);
  snprintf(out, n, "fcaudit CA %s %s %02x%02x%02x", host, date, r[0], r[1], r[2]);
}

static X509 *make_cert(EVP_PKEY *key) {
  X509 *x = X509_new();
  if (!x) return NULL;
  char cn[64];
  ca_common_name(cn, sizeof cn);
  X509_NAME *name = X509_get_subject_name(x);
  X509V3_CTX ctx;
  if (!X509_set_version(x, X509_VERSION_3) || fca_x509_random_serial(x) != 0 ||
      !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"fcaudit", -1,
                                  -1, 0) ||
      !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                  0) ||
      !X509_set_issuer_name(x, name) || !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
      !X509_time_adj_ex(X509_getm_notAfter(x), FCA_CA_VALIDITY_DAYS, 0, NULL) ||
      !X509_set_pubkey(x, key))
    goto fail;
  X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
  if (fca_x509_add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") != 0 ||
      fca_x509_add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign") != 0 ||
      fca_x509_add_ext(x, &ctx, NID_subject_key_identifier, "hash") != 0 ||
      fca_x509_add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always") != 0)
    goto fail;
  if (X509_sign(x, key, EVP_sha256()) <= 0) goto fail;
  return x;
fail:
  X509_free(x);
  return NULL;
}

static EVP_PKEY *make_key(const char *key_type) {
  if (key_type && strcmp(key_type, "rsa2048") == 0) return EVP_RSA_gen(2048);
  return EVP_EC_gen("P-256");
}

/* Writes a temporary file made with O_CREAT|O_EXCL at `mode`; 0 or -1 with err set. */
static int write_new(const char *path, mode_t mode, bool is_key, EVP_PKEY *key, X509 *cert,
                     char *err, size_t errlen) {
  unlink(path); /* a leftover of an interrupted earlier attempt */
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) {
    fca_seterr(err, errlen, "cannot create %s: %s", path, strerror(errno));
    return -1;
  }
  FILE *f = fdopen(fd, "w");
  if (!f) {
    close(fd);
    unlink(path);
    fca_seterr(err, errlen, "cannot write %s: %s", path, strerror(errno));
    return -1;
  }
  int ok =
      is_key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) : PEM_write_X509(f, cert);
  if (fflush(f) != 0 || fsync(fileno(f)) != 0) ok = 0;
  if (fclose(f) != 0) ok = 0;
  if (!ok) {
    unlink(path);
    ERR_clear_error();
    fca_seterr(err, errlen, "cannot write %s", path);
    return -1;
  }
  return 0;
}

fca_ca_t *fca_ca_create(const char *dir, const char *key_type, bool overwrite, char *err,
                        size_t errlen) {
  if (key_type && strcmp(key_type, "rsa2048") != 0 && strcmp(key_type, "ecdsa-p256") != 0) {
    fca_seterr(err, errlen, "unknown CA key type '%s' (ecdsa-p256 or rsa2048)", key_type);
    return NULL;
  }
  if (mkdirs(dir, err, errlen) != 0) return NULL;
  fca_ca_t *ca = ca_alloc(dir);
  char *tmp_key = fca_xasprintf("%s.new", ca->key_path);
  char *tmp_cert = fca_xasprintf("%s.new", ca->cert_path);
  if (!overwrite && fca_ca_exists(dir)) {
    fca_seterr(err, errlen, "a CA already exists in %s", dir);
    goto fail;
  }
  ca->key = make_key(key_type);
  if (!ca->key) {
    fca_seterr(err, errlen, "cannot generate the CA key: %s", ossl_reason());
    goto fail;
  }
  ca->rsa = EVP_PKEY_is_a(ca->key, "RSA");
  ca->cert = make_cert(ca->key);
  if (!ca->cert) {
    fca_seterr(err, errlen, "cannot make the CA certificate: %s", ossl_reason());
    goto fail;
  }
  if (write_new(tmp_key, 0600, true, ca->key, NULL, err, errlen) != 0) goto fail;
  if (write_new(tmp_cert, 0644, false, NULL, ca->cert, err, errlen) != 0) {
    unlink(tmp_key);
    goto fail;
  }
  /* Without overwrite, link() refuses to replace a key another process just created. */
  int r = overwrite ? rename(tmp_key, ca->key_path) : link(tmp_key, ca->key_path);
  if (r != 0) {
    fca_seterr(err, errlen, "cannot create %s: %s", ca->key_path, strerror(errno));
    unlink(tmp_key);
    unlink(tmp_cert);
    goto fail;
  }
  if (!overwrite) unlink(tmp_key);
  if (rename(tmp_cert, ca->cert_path) != 0) {
    fca_seterr(err, errlen, "cannot create %s: %s", ca->cert_path, strerror(errno));
    unlink(tmp_cert);
    goto fail;
  }
  free(tmp_key);
  free(tmp_cert);
  return ca;
fail:
  free(tmp_key);
  free(tmp_cert);
  fca_ca_free(ca);
  return NULL;
}

fca_ca_t *fca_ca_load_or_create(const char *dir, const char *key_type, bool create, bool *created,
                                char *err, size_t errlen) {
  if (created) *created = false;
  if (!dir || !*dir) {
    fca_seterr(err, errlen, "no CA directory (set --ca-dir, FCAUDIT_CA_DIR or HOME)");
    return NULL;
  }
  if (dir_safe(dir, err, errlen) < 0) return NULL;
  if (!fca_ca_exists(dir)) {
    if (!create) {
      fca_seterr(err, errlen, "no CA in %s (run: fcaudit ca init)", dir);
      return NULL;
    }
    fca_ca_t *ca = fca_ca_create(dir, key_type, false, err, errlen);
    if (ca) {
      if (created) *created = true;
      return ca;
    }
    if (!fca_ca_exists(dir)) return NULL;
    /* Lost a race with another process creating the same CA: load theirs. */
  }
  fca_ca_t *ca = ca_alloc(dir);
  if (load(ca, err, errlen) != 0) {
    fca_ca_free(ca);
    return NULL;
  }
  return ca;
}

X509 *fca_ca_cert(const fca_ca_t *ca) { return ca->cert; }
EVP_PKEY *fca_ca_key(const fca_ca_t *ca) { return ca->key; }
const char *fca_ca_key_type(const fca_ca_t *ca) { return ca->rsa ? "rsa2048" : "ecdsa-p256"; }
bool fca_ca_is_rsa(const fca_ca_t *ca) { return ca->rsa; }
const char *fca_ca_dir(const fca_ca_t *ca) { return ca->dir; }
const char *fca_ca_cert_path(const fca_ca_t *ca) { return ca->cert_path; }
const char *fca_ca_key_path(const fca_ca_t *ca) { return ca->key_path; }

int fca_ca_spki_b64(const fca_ca_t *ca, char *out, size_t n) {
  if (n < FCA_CA_SPKI_B64_LEN) return -1;
  unsigned char *der = NULL;
  int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(ca->cert), &der);
  if (len <= 0) return -1;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  int ok = EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL);
  OPENSSL_free(der);
  if (!ok) return -1;
  EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
  return 0;
}

static int fingerprint(const fca_ca_t *ca, const EVP_MD *md, char *out, size_t n) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!X509_digest(ca->cert, md, d, &len) || n < (size_t)len * 3) return -1;
  for (unsigned i = 0; i < len; i++) snprintf(out + i * 3, 4, i + 1 < len ? "%02X:" : "%02X", d[i]);
  return 0;
}

int fca_ca_fingerprint_sha256(const fca_ca_t *ca, char *out, size_t n) {
  return fingerprint(ca, EVP_sha256(), out, n);
}

int fca_ca_fingerprint_sha1(const fca_ca_t *ca, char *out, size_t n) {
  return fingerprint(ca, EVP_sha1(), out, n);
}

int fca_ca_write_pem(const fca_ca_t *ca, FILE *f) {
  return PEM_write_X509(f, ca->cert) == 1 && fflush(f) == 0 ? 0 : -1;
}

int fca_ca_write_der(const fca_ca_t *ca, FILE *f) {
  return i2d_X509_fp(f, ca->cert) == 1 && fflush(f) == 0 ? 0 : -1;
}
