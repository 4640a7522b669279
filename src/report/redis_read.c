/* redis_read: blocking reads of the event stream for the CLI readers. Invariants: entries are
 * passed on in stream order, with every field borrowed from the reply for the duration of the
 * call; a malformed entry (no run, seq or event) is skipped, not fatal; no message holds the
 * URL's credentials. Every command has a deadline (the URL's timeout; for XREAD BLOCK, the block
 * time plus it): a Redis that accepts the connection but never answers is reported as stalled
 * (-2) instead of holding the reader for ever. After -2 the connection is closed; the caller may
 * fca_redis_reader_reconnect and go on from the last id it saw. */
#include "fcaudit/redis_read.h"

#include <hiredis/hiredis.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "fcaudit/redis_url.h"
#include "fcaudit/util.h"

struct fca_redis_reader {
  redisContext *c; /* NULL after a broken connection, until reconnected */
  fca_redis_url_t url;
  char name[400];
};

struct fca_redis_seen_run {
  char *run;
  uint64_t max_seq;
};

const char *fca_redis_reader_name(const fca_redis_reader_t *r) { return r->name; }

static struct timeval tv_ms(uint64_t ms) {
  return (struct timeval){(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
}

/* A command got no reply: says why (stalled, or the connection broke), drops the connection.
 * Always -2. */
static int broken(fca_redis_reader_t *r, const char *what, char *err, size_t errlen) {
  int e = errno;
  if (r->c->err == REDIS_ERR_IO &&
      (e == EAGAIN || e == EWOULDBLOCK || strcmp(r->c->errstr, strerror(EAGAIN)) == 0))
    fca_seterr(err, errlen, "%s: %s: no answer within %llu ms (Redis stalled)", r->name, what,
               (unsigned long long)r->url.timeout_ms);
  else if (r->c->err == REDIS_ERR_EOF)
    fca_seterr(err, errlen, "%s: %s: connection lost: closed by Redis", r->name, what);
  else
    fca_seterr(err, errlen, "%s: %s: connection lost: %s", r->name, what, r->c->errstr);
  redisFree(r->c);
  r->c = NULL;
  return -2;
}

static int setup_cmd(fca_redis_reader_t *r, const char *what, redisReply *rep, char *err,
                     size_t errlen) {
  if (!rep) return broken(r, what, err, errlen);
  int rc = 0;
  if (rep->type == REDIS_REPLY_ERROR) {
    fca_seterr(err, errlen, "%s: %s refused: %.200s", r->name, what, rep->str);
    rc = -1;
  }
  freeReplyObject(rep);
  return rc;
}

/* Connects, AUTH, SELECT: 0, -1 (refused, unreachable) or -2 (stalled, broken), err set. */
static int connect_(fca_redis_reader_t *r, char *err, size_t errlen) {
  if (r->c) redisFree(r->c);
  r->c = redisConnectWithTimeout(r->url.host, r->url.port, tv_ms(r->url.timeout_ms));
  if (!r->c || r->c->err) {
    fca_seterr(err, errlen, "%s: cannot connect: %s", r->name, r->c ? r->c->errstr : "no memory");
    if (r->c) redisFree(r->c);
    r->c = NULL;
    return -1;
  }
  if (redisSetTimeout(r->c, tv_ms(r->url.timeout_ms)) != REDIS_OK)
    return broken(r, "setting the timeout", err, errlen);
  int rc;
  if (r->url.pass) {
    redisReply *rep = r->url.user ? redisCommand(r->c, "AUTH %s %s", r->url.user, r->url.pass)
                                  : redisCommand(r->c, "AUTH %s", r->url.pass);
    if ((rc = setup_cmd(r, "AUTH", rep, err, errlen)) < 0) return rc;
  }
  if (r->url.db &&
      (rc = setup_cmd(r, "SELECT", redisCommand(r->c, "SELECT %d", r->url.db), err, errlen)) < 0)
    return rc;
  return 0;
}

fca_redis_reader_t *fca_redis_reader_open(const char *url, char *err, size_t errlen) {
  fca_redis_reader_t *r = fca_xcalloc(1, sizeof *r);
  if (fca_redis_url_parse(url, &r->url, err, errlen) < 0) {
    free(r);
    return NULL;
  }
  fca_redis_url_display(&r->url, r->name, sizeof r->name);
  if (connect_(r, err, errlen) < 0) {
    fca_redis_reader_close(r);
    return NULL;
  }
  return r;
}

int fca_redis_reader_reconnect(fca_redis_reader_t *r, char *err, size_t errlen) {
  return connect_(r, err, errlen);
}

uint64_t fca_redis_reader_timeout_ms(const fca_redis_reader_t *r) { return r->url.timeout_ms; }

void fca_redis_reader_close(fca_redis_reader_t *r) {
  if (!r) return;
  if (r->c) redisFree(r->c);
  fca_redis_url_free(&r->url);
  free(r);
}

/* One entry: [id, [k, v, k, v, ...]]. Returns fn's answer, 0 for a skipped entry. */
static int entry(const redisReply *e, fca_redis_entry_fn fn, void *ud, char *last_id) {
  if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
      e->element[0]->type != REDIS_REPLY_STRING || e->element[1]->type != REDIS_REPLY_ARRAY)
    return 0;
  fca_redis_entry_t x = {.id = e->element[0]->str};
  if (last_id) snprintf(last_id, FCA_REDIS_ID_SIZE, "%s", x.id);
  const redisReply *kv = e->element[1];
  bool has_seq = false;
  for (size_t i = 0; i + 1 < kv->elements; i += 2) {
    const redisReply *k = kv->element[i], *v = kv->element[i + 1];
    if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) continue;
    if (strcmp(k->str, "run") == 0)
      x.run = v->str;
    else if (strcmp(k->str, "instance") == 0)
      x.instance = v->str;
    else if (strcmp(k->str, "label") == 0)
      x.label = v->str;
    else if (strcmp(k->str, "event") == 0)
      x.event = v->str, x.event_len = v->len;
    else if (strcmp(k->str, "seq") == 0) {
      char *end;
      x.seq = strtoull(v->str, &end, 10);
      has_seq = *end == '\0' && end != v->str;
    }
  }
  if (!x.run || !x.event || !has_seq) return 0;
  if (!x.instance) x.instance = "?";
  return fn(ud, &x);
}

static int entries(const redisReply *arr, bool reverse, fca_redis_entry_fn fn, void *ud,
                   char *last_id) {
  for (size_t k = 0; k < arr->elements; k++) {
    size_t i = reverse ? arr->elements - 1 - k : k;
    int rc = entry(arr->element[i], fn, ud, last_id);
    if (rc) return 1;
  }
  return 0;
}

/* The reply, or NULL with *rc = -1 (refused) or -2 (stalled, broken) and err set. */
static redisReply *checked(fca_redis_reader_t *r, redisReply *rep, const char *what, int *rc,
                           char *err, size_t errlen) {
  if (!rep) {
    *rc = broken(r, what, err, errlen);
    return NULL;
  }
  if (rep->type == REDIS_REPLY_ERROR) {
    fca_seterr(err, errlen, "%s: %s refused: %.200s", r->name, what, rep->str);
    freeReplyObject(rep);
    *rc = -1;
    return NULL;
  }
  return rep;
}

static int not_connected(fca_redis_reader_t *r, char *err, size_t errlen) {
  fca_seterr(err, errlen, "%s: not connected", r->name);
  return -2;
}

int fca_redis_reader_range(fca_redis_reader_t *r, const char *after, size_t batch,
                           fca_redis_entry_fn fn, void *ud, char *last_id, char *err,
                           size_t errlen) {
  char from[FCA_REDIS_ID_SIZE + 2];
  if (!after || !*after || strcmp(after, "0") == 0)
    snprintf(from, sizeof from, "-");
  else
    snprintf(from, sizeof from, "(%s", after);
  char last[FCA_REDIS_ID_SIZE] = "";
  if (!r->c) return not_connected(r, err, errlen);
  for (;;) {
    char cnt[24];
    snprintf(cnt, sizeof cnt, "%zu", batch ? batch : 1000);
    int bad = 0;
    redisReply *rep =
        checked(r, redisCommand(r->c, "XRANGE %s %s + COUNT %s", r->url.stream, from, cnt),
                "XRANGE", &bad, err, errlen);
    if (!rep) return bad;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements == 0) {
      freeReplyObject(rep);
      break;
    }
    int rc = entries(rep, false, fn, ud, last);
    size_t got = rep->elements;
    freeReplyObject(rep);
    if (last_id) snprintf(last_id, FCA_REDIS_ID_SIZE, "%s", last);
    if (rc) return 1;
    snprintf(from, sizeof from, "(%s", last);
    if (got < (batch ? batch : 1000)) break;
  }
  return 0;
}

int fca_redis_reader_last(fca_redis_reader_t *r, size_t n, fca_redis_entry_fn fn, void *ud,
                          char *last_id, char *err, size_t errlen) {
  if (!r->c) return not_connected(r, err, errlen);
  int bad = 0;
  if (n == 0) {
    /* Nothing to show: only where the stream ends now. */
    redisReply *rep = checked(r, redisCommand(r->c, "XREVRANGE %s + - COUNT 1", r->url.stream),
                              "XREVRANGE", &bad, err, errlen);
    if (!rep) return bad;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 1 &&
        rep->element[0]->type == REDIS_REPLY_ARRAY && rep->element[0]->elements == 2 && last_id)
      snprintf(last_id, FCA_REDIS_ID_SIZE, "%s", rep->element[0]->element[0]->str);
    freeReplyObject(rep);
    return 0;
  }
  char cnt[24];
  snprintf(cnt, sizeof cnt, "%zu", n);
  redisReply *rep = checked(r, redisCommand(r->c, "XREVRANGE %s + - COUNT %s", r->url.stream, cnt),
                            "XREVRANGE", &bad, err, errlen);
  if (!rep) return bad;
  int rc = rep->type == REDIS_REPLY_ARRAY ? entries(rep, true, fn, ud, last_id) : 0;
  freeReplyObject(rep);
  return rc;
}

int fca_redis_reader_follow(fca_redis_reader_t *r, const char *after, int block_ms,
                            fca_redis_entry_fn fn, void *ud, char *last_id, char *err,
                            size_t errlen) {
  if (!r->c) return not_connected(r, err, errlen);
  /* The server holds the answer back for up to block_ms: the deadline starts after that. */
  redisSetTimeout(r->c, tv_ms((uint64_t)(block_ms > 0 ? block_ms : 0) + r->url.timeout_ms));
  int bad = 0;
  redisReply *rep = checked(r,
                            redisCommand(r->c, "XREAD COUNT 1000 BLOCK %d STREAMS %s %s", block_ms,
                                         r->url.stream, after && *after ? after : "0"),
                            "XREAD", &bad, err, errlen);
  if (!rep) return bad;
  redisSetTimeout(r->c, tv_ms(r->url.timeout_ms));
  int rc = 0;
  /* [[stream, [entries...]]] or nil on timeout */
  if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 1 &&
      rep->element[0]->type == REDIS_REPLY_ARRAY && rep->element[0]->elements == 2)
    rc = entries(rep->element[0]->element[1], false, fn, ud, last_id);
  freeReplyObject(rep);
  return rc;
}

bool fca_redis_dedup_first(fca_redis_dedup_t *d, const char *run, uint64_t seq) {
  for (size_t i = 0; i < d->n; i++) {
    if (strcmp(d->runs[i].run, run) != 0) continue;
    if (seq <= d->runs[i].max_seq) return false;
    d->runs[i].max_seq = seq;
    return true;
  }
  if (d->n == d->cap) {
    d->cap = d->cap ? d->cap * 2 : 8;
    d->runs = fca_xrealloc(d->runs, d->cap * sizeof *d->runs);
  }
  d->runs[d->n].run = fca_xstrdup(run);
  d->runs[d->n].max_seq = seq;
  d->n++;
  return true;
}

void fca_redis_dedup_free(fca_redis_dedup_t *d) {
  for (size_t i = 0; i < d->n; i++) free(d->runs[i].run);
  free(d->runs);
  d->runs = NULL;
  d->n = d->cap = 0;
}
