/* report_html: one self-contained HTML file (inline CSS, no script, no external asset) that a
 * manager can read: the verdict first, then each page's scorecard, then each finding with its
 * evidence and fix. Every piece of network text is HTML-escaped. */
#ifndef FCAUDIT_REPORT_HTML_H
#define FCAUDIT_REPORT_HTML_H

#include <stdio.h>

#include "fcaudit/model.h"

/* Writes the document. Returns 0, or -1 on a write error. */
int fca_report_html_write(fca_model_t *m, FILE *f);

#endif
