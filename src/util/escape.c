/* escape: see fcaudit/escape.h. Plain bytes go out in runs between the characters replaced. */
#include "fcaudit/escape.h"

#include <stdio.h>

void fca_escape_markup(const char *s, size_t n, fca_escape_put_fn put, void *ud) {
  size_t run = 0; /* start of the pending run of plain bytes */
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    const char *ent = NULL;
    char hex[5];
    switch (c) {
    case '&': ent = "&amp;"; break;
    case '<': ent = "&lt;"; break;
    case '>': ent = "&gt;"; break;
    case '"': ent = "&quot;"; break;
    case '\'': ent = "&#39;"; break;
    case '\0': ent = ""; break;
    default:
      if ((c >= 0x20 && c != 0x7f) || c == '\t' || c == '\n' || c == '\r') continue;
      snprintf(hex, sizeof hex, "\\x%02x", c);
      ent = hex;
    }
    if (i > run) put(ud, s + run, i - run);
    size_t el = 0;
    while (ent[el]) el++;
    if (el) put(ud, ent, el);
    run = i + 1;
  }
  if (n > run) put(ud, s + run, n - run);
}
