/* config: placeholder until the option table lands; fills defaults only. */
#include "fcaudit/config.h"

#include "fcaudit/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fca_strlist_add(fca_strlist_t *l, const char *s) {
  l->items = fca_xrealloc(l->items, (l->n + 1) * sizeof *l->items);
  l->items[l->n++] = fca_xstrdup(s);
}

void fca_strlist_free(fca_strlist_t *l) {
  for (size_t i = 0; i < l->n; i++) free(l->items[i]);
  free(l->items);
  l->items = NULL;
  l->n = 0;
}

void fca_config_init(fca_config_t *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->buffer_limit = 256 * 1024;
  cfg->max_header_size = 64 * 1024;
  cfg->connect_timeout_ms = 10000;
  cfg->header_timeout_ms = 30000;
  cfg->idle_timeout_ms = 60000;
  cfg->upstream_timeout_ms = 120000;
  cfg->drain_timeout_ms = 5000;
  cfg->cert_cache_size = 1024;
  cfg->max_audit_bytes = 16 * 1024 * 1024;
  cfg->correlation_window_ms = 30000;
}

void fca_config_free(fca_config_t *cfg) {
  fca_strlist_free(&cfg->listen);
  (void)cfg;
}

int fca_config_parse_args(fca_config_t *cfg, int argc, char **argv, int first, bool *want_help,
                          bool *want_version, char *err, size_t errlen) {
  (void)cfg;
  (void)argv;
  (void)want_help;
  (void)want_version;
  if (first < argc) {
    snprintf(err, errlen, "options are not implemented yet");
    return -1;
  }
  return argc;
}

int fca_config_load_file(fca_config_t *cfg, const char *path, char *err, size_t errlen) {
  (void)cfg;
  snprintf(err, errlen, "%s: config files are not implemented yet", path);
  return -1;
}

int fca_config_validate(const fca_config_t *cfg, char *err, size_t errlen) {
  (void)cfg;
  (void)err;
  (void)errlen;
  return 0;
}

void fca_config_print_help(void *stream, const char *progname) {
  fprintf(stream, "usage: %s [options]\n", progname);
}
