/* redis_url: the `--sink` / `--redis` address, redis://[USER:PASS@]HOST:PORT[/DB][?stream=NAME
 * &maxlen=N&backlog=N&timeout=MS]. Credentials are kept apart from the rest so that everything
 * fcaudit prints about a Redis server uses fca_redis_url_display (credentials replaced by "***"),
 * never the text the user typed. Pure: no hiredis, no sockets. */
#ifndef FCAUDIT_REDIS_URL_H
#define FCAUDIT_REDIS_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FCA_REDIS_DEFAULT_STREAM "fcaudit:events"
/* Entries the stream keeps (XADD MAXLEN ~): about a million events, a few hundred MB. */
#define FCA_REDIS_DEFAULT_MAXLEN 1000000ULL
/* How long Redis may take to accept a connection or answer a command before fcaudit treats it
 * as away (a stopped or wedged server accepts TCP connections but never answers). */
#define FCA_REDIS_DEFAULT_TIMEOUT_MS 5000ULL

typedef struct {
  char host[256]; /* no brackets */
  int port;
  int db;              /* SELECT db; 0 = default */
  char *user;          /* NULL: none (AUTH with the password alone) */
  char *pass;          /* NULL: no AUTH */
  char *stream;        /* never NULL after a successful parse */
  uint64_t maxlen;     /* MAXLEN ~ for XADD; 0 = unbounded */
  uint64_t backlog;    /* events kept waiting while Redis is away; 0 = the default cap */
  uint64_t timeout_ms; /* no answer for this long = Redis is away (FCA_REDIS_DEFAULT_TIMEOUT_MS) */
} fca_redis_url_t;

/* Parses s. Returns 0, or -1 with err set (the message never repeats a credential). The result
 * is freed with fca_redis_url_free. Percent-escapes (%XX) are decoded in USER and PASS. */
int fca_redis_url_parse(const char *s, fca_redis_url_t *u, char *err, size_t errlen);
void fca_redis_url_free(fca_redis_url_t *u);

/* The address for messages: redis://[***@]HOST:PORT/DB?stream=NAME (no password, no user). */
void fca_redis_url_display(const fca_redis_url_t *u, char *out, size_t n);

/* True when s starts with "redis://" (an option value meant as a Redis address). */
bool fca_redis_url_is(const char *s);

#endif
