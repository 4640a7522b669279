/* http1: HTTP/1.x message framing for the proxy, on top of llhttp. A message head is fed
 * whole and contiguous (the connection waits for the blank line, bounded by
 * --max-header-size), so every field is a span of that buffer; the body is fed in slices as it
 * streams and the parser says exactly where the message ends (llhttp paused on
 * message-complete), so pipelined and keep-alive messages are split at the right byte.
 * Also the pure helpers the proxy needs: target parsing, hop-by-hop filtering. */
#ifndef FCAUDIT_HTTP1_H
#define FCAUDIT_HTTP1_H

#include <event2/buffer.h>
#include <llhttp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifndef FCA_HTTP_MAX_FIELDS
#define FCA_HTTP_MAX_FIELDS 256
#endif

typedef struct {
  uint32_t name_off, name_len;
  uint32_t value_off, value_len;
  uint32_t line_off, line_len; /* the whole raw line including its CRLF */
} fca_http_field_t;

typedef struct {
  const char *base; /* the contiguous head; valid until the input buffer changes */
  size_t len;
  int method; /* llhttp_method_t (requests) */
  uint32_t target_off, target_len;
  uint32_t line_len; /* first line including CRLF */
  int status;        /* responses */
  int major, minor;
  fca_http_field_t fields[FCA_HTTP_MAX_FIELDS];
  size_t nfields;
  bool too_many_fields;
  bool upgrade;    /* llhttp saw Connection: upgrade + Upgrade (or CONNECT) */
  bool keep_alive; /* llhttp_should_keep_alive at the end of the head */
} fca_http_head_t;

typedef void (*fca_http1_body_fn)(void *ud, const char *data, size_t len);

typedef struct {
  llhttp_t p;
  llhttp_settings_t s;
  fca_http_head_t head;
  fca_http1_body_fn on_body;
  void *ud;
  bool in_head;
  bool head_done;
  bool msg_done;
  bool skip_body; /* responses to HEAD */
  const char *cur_name;
  int reject_status; /* after fca_http1_feed_head failed on a request: 400, 431 or 505 */
} fca_http1_t;

void fca_http1_init(fca_http1_t *h, llhttp_type_t type, fca_http1_body_fn on_body, void *ud);

/* Returns the length of the head (through the blank line) at the start of buf, 0 if the blank
 * line has not arrived yet, or -1 if the head is (or would be) longer than max. */
ssize_t fca_http1_head_length(struct evbuffer *buf, size_t max);

/* Parses a complete head. Returns 0, or -1 with a reason in *why (static string) and the
 * status a request deserves in h->reject_status (431: too many fields; 505: an HTTP version
 * other than 1.0 and 1.1; 400 otherwise). After it, h->msg_done is set when the message has
 * no body. Requests are held to RFC 9112: no whitespace between a field name and its colon
 * (5.1), no obsolete line folding (5.2). */
int fca_http1_feed_head(fca_http1_t *h, const char *data, size_t len, const char **why);
/* Feeds body bytes. Returns 1 when the message ended (*used = bytes that belonged to it),
 * 0 when all were used and more are expected, -1 on a framing error (*why). */
int fca_http1_feed_body(fca_http1_t *h, const char *data, size_t len, size_t *used,
                        const char **why);
/* The peer closed. Returns 1 if that ended a close-delimited message, 0 if nothing was in
 * progress, -1 if a message was cut short. */
int fca_http1_finish(fca_http1_t *h);
/* Prepares for the next message on the same connection. */
void fca_http1_next(fca_http1_t *h);
/* True when the body length is delimited by the connection closing (responses). */
bool fca_http1_close_delimited(const fca_http1_t *h);

/* Field helpers over a head. */
bool fca_http_name_eq(const fca_http_head_t *h, const fca_http_field_t *f, const char *name);
/* The value of the first field with that name, or NULL (len in *n). */
const char *fca_http_get(const fca_http_head_t *h, const char *name, size_t *n);
/* True when the comma list value contains the token (case-insensitive). */
bool fca_http_list_has(const char *v, size_t n, const char *token);

/* Hop-by-hop filtering: which fields must not be forwarded. `upgrade` keeps Connection
 * (rewritten to "upgrade") and Upgrade on an upgrade request. */
bool fca_http_is_hop_by_hop(const fca_http_head_t *h, const fca_http_field_t *f);

/* Writes the head to out without hop-by-hop fields. For a request, first_line replaces the
 * request line when not NULL (absolute-form → origin-form); `upgrade` keeps the upgrade
 * fields. add_host (when not NULL, absolute-form) is the target's authority: it replaces a
 * different Host field, or is added when there is none. drop (NULL or a
 * NULL-terminated list of names) removes more fields (--anticache). */
void fca_http_write_filtered(struct evbuffer *out, const fca_http_head_t *h, const char *first_line,
                             size_t first_len, bool upgrade, const char *add_host,
                             const char *const *drop);
/* True when the head has a hop-by-hop field (so it cannot be forwarded as is). */
bool fca_http_has_hop_by_hop(const fca_http_head_t *h);

/* A request target, absolute-form ("http://host:port/p?q") or authority-form ("host:port"). */
typedef struct {
  char scheme[8]; /* "http", "https" or "" for authority-form */
  char host[256]; /* without brackets, lowercased */
  int port;
  const char *path; /* into the target: origin-form part ("/" when empty: path_len 0) */
  size_t path_len;
} fca_target_t;

int fca_http_parse_absolute(const char *t, size_t n, fca_target_t *out);
int fca_http_parse_authority(const char *t, size_t n, int default_port, fca_target_t *out);

#endif
