/* exit: the process exit statuses of fcaudit, named once (docs/ci.md, docs/report.md, the man
 * page). When several apply, the highest wins. */
#ifndef FCAUDIT_EXIT_H
#define FCAUDIT_EXIT_H

#define FCA_EXIT_OK 0
#define FCA_EXIT_FINDINGS 1 /* findings at or above --fail-on, or too few tagged pages */
#define FCA_EXIT_CMD 2      /* the command fcaudit run wrapped failed */
#define FCA_EXIT_FATAL 3    /* fcaudit could not run (options, port, CA, reports) */

#endif
