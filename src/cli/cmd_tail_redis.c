/* cmd_tail_redis: `fcaudit tail --redis URL` follows the fleet's event stream: every instance's
 * events in stream order, each shown once (entries sent twice after a reconnect carry the same
 * run and seq and are skipped), with the same filters and the same line format as a local log,
 * prefixed by the instance name. --json prints the event objects with "instance" (and "label")
 * added. Follows with XREAD BLOCK, so a quiet stream costs nothing. When Redis stops answering
 * (stalled past the URL's timeout) or goes away while following, tail says so once, reconnects
 * with a backoff, says when it answers again and goes on after the last entry it showed. */
#include "cmd_tail.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fcaudit/console.h"
#include "fcaudit/exit.h"
#include "fcaudit/redis_read.h"
#include "fcaudit/util.h"

typedef struct {
  const fca_cmd_tail_redis_opts_t *o;
  fca_redis_dedup_t seen;
  FILE *out;
} rtail_t;

static int show(void *ud, const fca_redis_entry_t *e) {
  rtail_t *t = ud;
  if (!fca_redis_dedup_first(&t->seen, e->run, e->seq)) return 0;
  if (t->o->instance && strcmp(t->o->instance, e->instance) != 0) return 0;
  json_t *o = json_loadb(e->event, e->event_len, 0, NULL);
  if (!o || !json_is_object(o)) {
    fprintf(stderr, "fcaudit tail: entry %s (instance %s) holds no event; skipped\n", e->id,
            e->instance);
    json_decref(o);
    return 0;
  }
  if (fca_tailfmt_match(&t->o->flt, o)) {
    if (t->o->json) {
      json_object_set_new(o, "instance", json_string(e->instance));
      if (e->label) json_object_set_new(o, "label", json_string(e->label));
      char *s = json_dumps(o, JSON_COMPACT);
      if (s) fprintf(t->out, "%s\n", s);
      free(s);
    } else {
      char buf[FCA_CONSOLE_LINE_MAX];
      size_t n = fca_tailfmt_line(o, buf, sizeof buf, t->o->color);
      if (n) fprintf(t->out, "[%s] %.*s", e->instance, (int)n, buf);
    }
  }
  json_decref(o);
  return 0;
}

#define RETRY_MIN_MS 100
#define RETRY_MAX_MS 5000

static void sleep_ms(uint64_t ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* After a -2 while following: says it once, then reconnects until Redis answers (the next
 * successful read says it is back). */
static void wait_for_redis(fca_redis_reader_t *r, const char *why, bool *said) {
  if (!*said) {
    fprintf(stderr,
            "fcaudit tail: %s; waiting for it (retrying with backoff up to %d ms), then going on "
            "after the last entry shown\n",
            why, RETRY_MAX_MS);
    fflush(stderr);
    *said = true;
  }
  char err[600];
  for (uint64_t wait = RETRY_MIN_MS;; wait = wait * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : wait * 2) {
    sleep_ms(wait);
    if (fca_redis_reader_reconnect(r, err, sizeof err) == 0) return;
  }
}

int fca_cmd_tail_redis(const fca_cmd_tail_redis_opts_t *o) {
  char err[600];
  fca_redis_reader_t *r = fca_redis_reader_open(o->url, err, sizeof err);
  if (!r) {
    fprintf(stderr, "fcaudit tail: %s\n", err);
    return FCA_EXIT_FATAL;
  }
  rtail_t t = {.o = o, .out = stdout};
  char last[FCA_REDIS_ID_SIZE] = "0";
  int status = 0;
  /* The backlog: the last `keep` entries (duplicates among them are shown once). */
  if (fca_redis_reader_last(r, o->keep, show, &t, last, err, sizeof err) < 0) {
    fprintf(stderr, "fcaudit tail: %s\n", err);
    status = FCA_EXIT_FATAL;
  }
  if (o->keep == 0 && strcmp(last, "0") == 0) snprintf(last, sizeof last, "$");
  fflush(t.out);
  bool away = false; /* said that Redis stalled or went away; not yet back */
  while (status == 0 && o->follow) {
    int rc = 0;
    if (strcmp(last, "$") == 0) {
      /* An empty stream: find where it ends once something arrives. */
      char first[FCA_REDIS_ID_SIZE] = "";
      rc = fca_redis_reader_last(r, 0, show, &t, first, err, sizeof err);
      if (rc == 0) snprintf(last, sizeof last, "%s", first[0] ? first : "0");
    }
    if (rc == 0) rc = fca_redis_reader_follow(r, last, 1000, show, &t, last, err, sizeof err);
    if (rc == -2) {
      wait_for_redis(r, err, &away);
      continue;
    }
    if (rc < 0) {
      fprintf(stderr, "fcaudit tail: %s\n", err);
      status = FCA_EXIT_FATAL;
      break;
    }
    if (away) {
      fprintf(stderr, "fcaudit tail: %s answers again; following after the last entry shown\n",
              fca_redis_reader_name(r));
      fflush(stderr);
      away = false;
    }
    if (fflush(t.out) != 0 || ferror(t.out)) break; /* reader gone */
  }
  fca_redis_dedup_free(&t.seen);
  fca_redis_reader_close(r);
  return status;
}
