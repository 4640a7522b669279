/* conn: one proxied client connection and its upstream. Created by a worker's listener
 * (fca_conn_accept in worker.h); everything else about it is private to src/proxy/conn.c. */
#ifndef FCAUDIT_CONN_H
#define FCAUDIT_CONN_H

#include "worker.h"

typedef struct fca_conn fca_conn_t;

#endif
