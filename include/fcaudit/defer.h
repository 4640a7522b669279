/* defer: the one deferred-free list. An object that must not be freed inside its own callback
 * frames (an endpoint closed from its read or event callback) is queued here and freed later,
 * from the owner's next turn (a libevent event the owner makes active when fca_defer_add says
 * the list was empty). No libevent here: the owner schedules, this module remembers and frees.
 * Not thread-safe: one owner, one thread. */
#ifndef FCAUDIT_DEFER_H
#define FCAUDIT_DEFER_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
  struct fca_defer_item {
    void (*free_fn)(void *);
    void *obj;
  } * v;
  size_t n, cap;
} fca_defer_t;

/* Queues free_fn(obj). True when the list was empty: the owner schedules one fca_defer_run. */
bool fca_defer_add(fca_defer_t *d, void (*free_fn)(void *), void *obj);
/* Frees everything queued, including what a free function queues meanwhile. */
void fca_defer_run(fca_defer_t *d);
/* fca_defer_run, then releases the list's own memory. */
void fca_defer_destroy(fca_defer_t *d);

#endif
