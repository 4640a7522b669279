/* junit: the JUnit XML report CI dashboards read: one <testsuite> per tagged page with one
 * <testcase> per checklist item, plus a "run" suite (tagged pages, notes). A test case fails
 * when it holds a finding that fails the run (new, at or above --fail-on); known (baseline) and
 * lower findings are listed in its <system-out>; an item that does not apply is <skipped>. */
#ifndef FCAUDIT_JUNIT_H
#define FCAUDIT_JUNIT_H

#include <stdio.h>

#include "fcaudit/model.h"

/* Writes the document. Returns 0, or -1 on a write error. */
int fca_junit_write(fca_model_t *m, FILE *f);

#endif
