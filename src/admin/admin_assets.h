/* admin_assets: the dashboard's and the CA page's files (HTML, CSS, JS, icon), compiled in so
 * fcaudit serves every byte itself: no CDN, works offline. src/admin/assets.c is generated from
 * src/admin/assets/ by tools/embed; a unit test keeps the two identical. */
#ifndef FCAUDIT_ADMIN_ASSETS_H
#define FCAUDIT_ADMIN_ASSETS_H

#include <stddef.h>

typedef struct {
  const char *name; /* file name under src/admin/assets/, e.g. "app.js" */
  const char *type; /* Content-Type */
  const char *data; /* NUL-terminated (the NUL is not part of len) */
  size_t len;
} fca_admin_asset_t;

extern const fca_admin_asset_t fca_admin_assets[];
extern const size_t fca_admin_nassets;

/* NULL when there is no asset of that name. */
const fca_admin_asset_t *fca_admin_asset_find(const char *name);

#endif
