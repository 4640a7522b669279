/* ca_cmd: the `fcaudit ca` subcommand (init, show, export [--der], spki, path). The "how to
 * trust it" text is fca_ca_print_trust_help (fcaudit/ca.h). */
#ifndef FCAUDIT_CA_CMD_H
#define FCAUDIT_CA_CMD_H

#include "fcaudit/ca.h"
#include "fcaudit/config.h"

#include <stdio.h>

/* argv[0] may be the word "ca" (skipped); the next word is the action, then its flags:
 *   init [--force]   create a CA (key type from cfg->ca_key_type); refuses to replace one
 *                    without --force
 *   show             subject, fingerprints, validity, key type, paths
 *   export [--der]   the certificate on stdout (PEM, or DER)
 *   spki             base64 SHA-256 of the SubjectPublicKeyInfo (Chromium's SPKI list)
 *   path             the ca.pem path
 * The directory is cfg->ca_dir, else $FCAUDIT_CA_DIR, else $HOME/.fcaudit.
 * Returns the exit status: 0 ok, 3 error (message on stderr). */
int fca_ca_cmd_main(const fca_config_t *cfg, int argc, char **argv);
/* The same, writing to out/errf instead of stdout/stderr. */
int fca_ca_cmd_run(const fca_config_t *cfg, int argc, char **argv, FILE *out, FILE *errf);

#endif
