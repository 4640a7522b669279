/* proxy: runs the forward proxy until SIGINT/SIGTERM (then drains) with the given options.
 * Starts the worker threads, each with its own event_base, evdns_base and SO_REUSEPORT
 * listeners; the main thread handles signals and tells the workers. */
#ifndef FCAUDIT_PROXY_H
#define FCAUDIT_PROXY_H

#include "fcaudit/config.h"

/* Returns a process exit status: 0 after a clean shutdown, 3 when it could not start. */
int fca_proxy_main(const fca_config_t *cfg);

#endif
