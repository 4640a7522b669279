/* ca_cmd: `fcaudit ca init|show|export [--der]|spki|path`. Everything meant for piping (export,
 * spki, path) goes to stdout alone; messages go to stderr. Only `init` ever writes a CA, and
 * it never replaces one without --force (a new CA would have to be re-trusted everywhere). */
#include "ca_cmd.h"

#include "fcaudit/exit.h"
#include "fcaudit/util.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void print_time(FILE *f, const ASN1_TIME *t) {
  struct tm tm;
  char buf[64];
  if (ASN1_TIME_to_tm(t, &tm) && strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm))
    fputs(buf, f);
  else
    fputs("?", f);
}

static int show(FILE *out, const fca_ca_t *ca) {
  X509 *x = fca_ca_cert(ca);
  char sha256[FCA_CA_FP_SHA256_LEN], sha1[FCA_CA_FP_SHA1_LEN], spki[FCA_CA_SPKI_B64_LEN];
  if (fca_ca_fingerprint_sha256(ca, sha256, sizeof sha256) != 0 ||
      fca_ca_fingerprint_sha1(ca, sha1, sizeof sha1) != 0 ||
      fca_ca_spki_b64(ca, spki, sizeof spki) != 0)
    return -1;
  fputs("Subject:     ", out);
  X509_NAME_print_ex_fp(out, X509_get_subject_name(x), 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB);
  fputs("\nNot before:  ", out);
  print_time(out, X509_get0_notBefore(x));
  fputs("\nNot after:   ", out);
  print_time(out, X509_get0_notAfter(x));
  fprintf(out,
          "\nKey type:    %s\n"
          "SHA-256:     %s\n"
          "SHA-1:       %s\n"
          "SPKI SHA-256 (base64): %s\n"
          "Certificate: %s\n"
          "Key:         %s\n",
          fca_ca_is_rsa(ca) ? "RSA 2048" : "ECDSA P-256", sha256, sha1, spki, fca_ca_cert_path(ca),
          fca_ca_key_path(ca));
  return 0;
}

int fca_ca_cmd_run(const fca_config_t *cfg, int argc, char **argv, FILE *out, FILE *errf) {
  int i = 0;
  if (i < argc && strcmp(argv[i], "ca") == 0) i++;
  if (i >= argc) {
    fprintf(errf, "fcaudit ca: missing action (init, show, export [--der], spki, path)\n");
    return FCA_EXIT_FATAL;
  }
  const char *action = argv[i++];
  bool force = false, der = false;
  for (; i < argc; i++) {
    if (strcmp(action, "init") == 0 && strcmp(argv[i], "--force") == 0) {
      force = true;
    } else if (strcmp(action, "export") == 0 && strcmp(argv[i], "--der") == 0) {
      der = true;
    } else {
      fprintf(errf, "fcaudit ca %s: unexpected argument '%s'\n", action, argv[i]);
      return FCA_EXIT_FATAL;
    }
  }
  bool known = strcmp(action, "init") == 0 || strcmp(action, "show") == 0 ||
               strcmp(action, "export") == 0 || strcmp(action, "spki") == 0 ||
               strcmp(action, "path") == 0;
  if (!known) {
    fprintf(errf, "fcaudit ca: unknown action '%s' (init, show, export [--der], spki, path)\n",
            action);
    return FCA_EXIT_FATAL;
  }
  char *dir = fca_ca_resolve_dir(cfg ? cfg->ca_dir : NULL);
  if (!dir) {
    fprintf(errf, "fcaudit ca: no CA directory (set --ca-dir, FCAUDIT_CA_DIR or HOME)\n");
    return FCA_EXIT_FATAL;
  }
  int status = FCA_EXIT_FATAL;
  char err[512];
  fca_ca_t *ca = NULL;
  if (strcmp(action, "path") == 0) {
    /* Needs no CA yet: tells scripts where one is or will be. */
    fprintf(out, "%s/%s\n", dir, FCA_CA_CERT_FILE);
    status = FCA_EXIT_OK;
  } else if (strcmp(action, "init") == 0) {
    if (!force && fca_ca_exists(dir)) {
      fprintf(errf,
              "fcaudit ca init: a CA already exists in %s; not replacing it "
              "(use --force to make a new one, which must then be trusted again)\n",
              dir);
    } else {
      ca = fca_ca_create(dir, cfg ? cfg->ca_key_type : NULL, force, err, sizeof err);
      if (!ca) {
        fprintf(errf, "fcaudit ca init: %s\n", err);
      } else {
        fprintf(out, "Created a new %s CA in %s\n", fca_ca_is_rsa(ca) ? "RSA 2048" : "ECDSA P-256",
                dir);
        fca_ca_print_trust_help(out, ca, dir);
        status = FCA_EXIT_OK;
      }
    }
  } else {
    ca = fca_ca_load_or_create(dir, NULL, false, NULL, err, sizeof err);
    if (!ca) {
      fprintf(errf, "fcaudit ca %s: %s\n", action, err);
    } else if (strcmp(action, "show") == 0) {
      status = show(out, ca) == 0 ? FCA_EXIT_OK : FCA_EXIT_FATAL;
    } else if (strcmp(action, "export") == 0) {
      status = (der ? fca_ca_write_der(ca, out) : fca_ca_write_pem(ca, out)) == 0 ? FCA_EXIT_OK
                                                                                  : FCA_EXIT_FATAL;
      if (status) fprintf(errf, "fcaudit ca export: write failed\n");
    } else { /* spki */
      char spki[FCA_CA_SPKI_B64_LEN];
      if (fca_ca_spki_b64(ca, spki, sizeof spki) == 0) {
        fprintf(out, "%s\n", spki);
        status = FCA_EXIT_OK;
      }
    }
  }
  if (status == FCA_EXIT_OK && fflush(out) != 0) status = FCA_EXIT_FATAL;
  fca_ca_free(ca);
  free(dir);
  return status;
}

int fca_ca_cmd_main(const fca_config_t *cfg, int argc, char **argv) {
  return fca_ca_cmd_run(cfg, argc, argv, stdout, stderr);
}
