/* har_reader: a streaming scanner for HAR files. The file is read in 64 KiB chunks and every
 * byte goes through a small JSON tokenizer (a stack of containers, each knowing its role in
 * the HAR: root, log, pages, entries, entry, request, response, content/postData) that checks
 * the syntax of the whole file and copies out one element of log.pages or log.entries at a
 * time; jansson parses that element alone. Invariants: memory is the chunk, the stack and one
 * element's bytes; a body text (content.text, postData.text) is kept up to text_max bytes and
 * cut on a character boundary (never inside an escape, a UTF-8 sequence or a surrogate pair);
 * any other entry over FCA_HAR_ENTRY_MAX is skipped whole, with an error naming it. */
#include "fcaudit/har.h"

#include "fcaudit/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK (64 * 1024)
#define DEPTH_MAX 512
#define DEFAULT_TEXT_MAX (32u * 1024 * 1024)

typedef enum {
  R_OTHER = 0,
  R_ROOT,
  R_LOG,
  R_PAGES,
  R_ENTRIES,
  R_PAGE,
  R_ENTRY,
  R_REQ,
  R_RESP,
  R_BODY, /* content or postData */
} role_t;

typedef enum {
  E_VALUE,          /* a value must come */
  E_VALUE_OR_CLOSE, /* after '[' */
  E_KEY_OR_CLOSE,   /* after '{' */
  E_KEY,            /* after ',' in an object */
  E_COLON,
  E_COMMA_OR_CLOSE,
  E_DONE, /* after the root value: whitespace only */
} expect_t;

typedef struct {
  bool obj;
  role_t role;
  char key[16]; /* the current key (objects), enough to tell the roles apart */
  bool key_long;
} frame_t;

struct fca_har_reader {
  FILE *f;
  bool own;
  char *name;
  size_t text_max;
  unsigned char buf[CHUNK];
  size_t len, pos;
  uint64_t off; /* file offset of buf[pos] */
  bool eof;

  frame_t st[DEPTH_MAX];
  int depth;
  expect_t expect;
  bool seen_entries;
  bool done;

  /* lexer */
  bool in_str, str_key, in_scalar;
  int esc;           /* 0 none, 1 after '\', 2..5 hex digits of \u */
  unsigned uval;     /* \u value being read */
  bool high_pending; /* a \uD800-\uDBFF waits for its low half */
  char keybuf[16];
  size_t keylen;
  bool key_long;
  /* body text being cut */
  bool cut_str;
  size_t str_bytes;
  bool skipping, text_cut;

  /* capture of one element */
  int cap_depth; /* depth of the element's container (0 = not capturing) */
  role_t cap_role;
  char *cap;
  size_t cap_len, cap_size, peak;
  bool cap_over;
  uint64_t cap_off;
  size_t entries; /* entries started so far */
};

fca_har_reader_t *fca_har_reader_new(FILE *f, const char *name, size_t text_max) {
  fca_har_reader_t *r = fca_xcalloc(1, sizeof *r);
  r->f = f;
  r->name = fca_xstrdup(name ? name : "HAR");
  r->text_max = text_max ? text_max : DEFAULT_TEXT_MAX;
  r->expect = E_VALUE;
  return r;
}

fca_har_reader_t *fca_har_reader_open(const char *path, size_t text_max, char *err, size_t errlen) {
  bool std = strcmp(path, "-") == 0;
  FILE *f = std ? stdin : fopen(path, "rb");
  if (!f) {
    fca_seterr(err, errlen, "cannot read %s: %s", path, strerror(errno));
    return NULL;
  }
  fca_har_reader_t *r = fca_har_reader_new(f, std ? "standard input" : path, text_max);
  r->own = !std;
  return r;
}

void fca_har_reader_free(fca_har_reader_t *r) {
  if (!r) return;
  if (r->own) fclose(r->f);
  free(r->cap);
  free(r->name);
  free(r);
}

size_t fca_har_reader_peak(const fca_har_reader_t *r) { return r->peak; }

static void cap_put(fca_har_reader_t *r, unsigned char c) {
  if (r->cap_over) return;
  if (r->cap_len + 1 > FCA_HAR_ENTRY_MAX + 2 * r->text_max) {
    r->cap_over = true;
    return;
  }
  if (r->cap_len + 1 > r->cap_size) {
    r->cap_size = r->cap_size ? r->cap_size * 2 : 4096;
    r->cap = fca_xrealloc(r->cap, r->cap_size);
  }
  r->cap[r->cap_len++] = (char)c;
  if (r->cap_len > r->peak) r->peak = r->cap_len;
}

static void cap_put_n(fca_har_reader_t *r, const unsigned char *p, size_t n) {
  if (r->cap_over) return;
  if (r->cap_len + n > FCA_HAR_ENTRY_MAX + 2 * r->text_max) {
    r->cap_over = true;
    return;
  }
  if (r->cap_len + n > r->cap_size) {
    size_t want = r->cap_size ? r->cap_size : 4096;
    while (want < r->cap_len + n) want *= 2;
    r->cap = fca_xrealloc(r->cap, want);
    r->cap_size = want;
  }
  memcpy(r->cap + r->cap_len, p, n);
  r->cap_len += n;
  if (r->cap_len > r->peak) r->peak = r->cap_len;
}

/* The role of a container opened at the current position. */
static role_t child_role(const fca_har_reader_t *r, bool obj) {
  if (r->depth == 0) return obj ? R_ROOT : R_OTHER;
  const frame_t *p = &r->st[r->depth - 1];
  if (!p->obj) {
    if (p->role == R_ENTRIES && obj) return R_ENTRY;
    if (p->role == R_PAGES && obj) return R_PAGE;
    return R_OTHER;
  }
  if (p->key_long) return R_OTHER;
  const char *k = p->key;
  switch (p->role) {
  case R_ROOT: return obj && strcmp(k, "log") == 0 ? R_LOG : R_OTHER;
  case R_LOG:
    if (!obj && strcmp(k, "entries") == 0) return R_ENTRIES;
    if (!obj && strcmp(k, "pages") == 0) return R_PAGES;
    return R_OTHER;
  case R_ENTRY:
    if (obj && strcmp(k, "request") == 0) return R_REQ;
    if (obj && strcmp(k, "response") == 0) return R_RESP;
    return R_OTHER;
  case R_REQ: return obj && strcmp(k, "postData") == 0 ? R_BODY : R_OTHER;
  case R_RESP: return obj && strcmp(k, "content") == 0 ? R_BODY : R_OTHER;
  default: return R_OTHER;
  }
}

static const char *where(fca_har_reader_t *r, char *b, size_t n) {
  if (r->cap_depth)
    snprintf(b, n, "entry %zu (starting at byte %llu)", r->entries, (unsigned long long)r->cap_off);
  else if (r->entries)
    snprintf(b, n, "after entry %zu", r->entries);
  else
    snprintf(b, n, "before the first entry");
  return b;
}

static void fail(fca_har_reader_t *r, fca_har_item_t *out, const char *fmt, unsigned char c) {
  char w[96], what[64];
  if (c >= 0x20 && c < 0x7f)
    snprintf(what, sizeof what, "'%c'", c);
  else
    snprintf(what, sizeof what, "byte 0x%02x", c);
  out->kind = FCA_HAR_ERROR;
  out->index = r->cap_depth ? r->entries : 0;
  out->offset = r->off;
  char msg[200];
  snprintf(msg, sizeof msg, fmt, what);
  snprintf(out->err, sizeof out->err, "%s: malformed HAR in %s, byte %llu: %s", r->name,
           where(r, w, sizeof w), (unsigned long long)r->off, msg);
  r->done = true;
}

static void open_container(fca_har_reader_t *r, bool obj, fca_har_item_t *out, unsigned char c) {
  if (r->depth >= DEPTH_MAX) {
    fail(r, out, "nested deeper than 512 levels at %s", c);
    return;
  }
  role_t role = child_role(r, obj);
  if (role == R_ENTRIES) r->seen_entries = true;
  if ((role == R_ENTRY || role == R_PAGE) && !r->cap_depth) {
    r->cap_depth = r->depth + 1;
    r->cap_role = role;
    r->cap_len = 0;
    r->cap_over = false;
    r->text_cut = false;
    r->cap_off = r->off;
    if (role == R_ENTRY) r->entries++;
  }
  frame_t *fr = &r->st[r->depth++];
  fr->obj = obj;
  fr->role = role;
  fr->key[0] = '\0';
  fr->key_long = false;
  r->expect = obj ? E_KEY_OR_CLOSE : E_VALUE_OR_CLOSE;
}

/* A value ended inside the current container (or at the root). */
static void value_done(fca_har_reader_t *r) {
  r->expect = r->depth == 0 ? E_DONE : E_COMMA_OR_CLOSE;
}

/* Emits the captured element. Returns true when out was filled. */
static bool element_done(fca_har_reader_t *r, fca_har_item_t *out) {
  out->index = r->cap_role == R_ENTRY ? r->entries : 0;
  out->offset = r->cap_off;
  out->text_cut = r->text_cut;
  r->cap_depth = 0;
  if (r->cap_over) {
    out->kind = FCA_HAR_SKIPPED;
    snprintf(out->err, sizeof out->err,
             "%s: entry %zu (at byte %llu) is larger than %u MiB without its body texts: skipped",
             r->name, out->index, (unsigned long long)out->offset,
             (unsigned)(FCA_HAR_ENTRY_MAX >> 20));
    return true;
  }
  json_error_t je;
  json_t *o = json_loadb(r->cap, r->cap_len, JSON_ALLOW_NUL, &je);
  /* the element's memory goes back once it is large: a huge entry does not pin its buffer */
  if (r->cap_size > 1024 * 1024) {
    free(r->cap);
    r->cap = NULL;
    r->cap_size = 0;
  }
  if (!o) {
    out->kind = FCA_HAR_ERROR;
    snprintf(out->err, sizeof out->err, "%s: malformed HAR in %s %zu (at byte %llu): %s", r->name,
             r->cap_role == R_ENTRY ? "entry" : "page", r->cap_role == R_ENTRY ? out->index : 0,
             (unsigned long long)out->offset, je.text);
    r->done = true;
    return true;
  }
  out->kind = r->cap_role == R_ENTRY ? FCA_HAR_ENTRY : FCA_HAR_PAGE;
  out->obj = o;
  return true;
}

static bool is_ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static bool is_scalar_char(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '+' ||
         c == '-' || c == '.';
}
static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* One byte inside a string. Returns false on a syntax error. */
static bool string_byte(fca_har_reader_t *r, unsigned char c, bool *keep, bool *closed) {
  *keep = true;
  *closed = false;
  if (r->esc == 1) {
    if (c == 'u') {
      r->esc = 2;
      r->uval = 0;
    } else if (strchr("\"\\/bfnrt", c) && c) {
      r->esc = 0;
      r->high_pending = false;
    } else {
      return false;
    }
  } else if (r->esc >= 2) {
    int h = hexval(c);
    if (h < 0) return false;
    r->uval = r->uval * 16 + (unsigned)h;
    if (++r->esc == 6) {
      r->esc = 0;
      r->high_pending = r->uval >= 0xD800 && r->uval <= 0xDBFF;
    }
  } else if (c == '\\') {
    if (r->cut_str && !r->skipping && r->str_bytes >= r->text_max && !r->high_pending)
      r->skipping = r->text_cut = true;
    r->esc = 1;
  } else if (c == '"') {
    *closed = true;
  } else if (c < 0x20) {
    return false;
  } else {
    if (r->cut_str && !r->skipping && r->str_bytes >= r->text_max && !r->high_pending &&
        (c & 0xC0) != 0x80)
      r->skipping = r->text_cut = true;
    r->high_pending = false;
  }
  if (*closed) return true;
  if (r->str_key) {
    if (r->keylen < sizeof r->keybuf - 1)
      r->keybuf[r->keylen++] = (char)c;
    else
      r->key_long = true;
  }
  r->str_bytes++;
  if (r->skipping) *keep = false;
  return true;
}

void fca_har_reader_next(fca_har_reader_t *r, fca_har_item_t *out) {
  memset(out, 0, sizeof *out);
  if (r->done) {
    out->kind = FCA_HAR_END;
    return;
  }
  for (;;) {
    if (r->pos == r->len) {
      if (r->eof || (r->len = fread(r->buf, 1, sizeof r->buf, r->f)) == 0) {
        r->eof = true;
        r->done = true;
        char w[96];
        if (ferror(r->f)) {
          out->kind = FCA_HAR_ERROR;
          snprintf(out->err, sizeof out->err, "%s: read error %s: %s", r->name,
                   where(r, w, sizeof w), strerror(errno));
        } else if (r->expect != E_DONE || r->in_str) {
          out->kind = FCA_HAR_ERROR;
          out->index = r->cap_depth ? r->entries : 0;
          out->offset = r->off;
          snprintf(out->err, sizeof out->err, "%s: truncated HAR: the file ends at byte %llu, %s%s",
                   r->name, (unsigned long long)r->off, r->cap_depth ? "inside " : "",
                   where(r, w, sizeof w));
        } else if (!r->seen_entries) {
          out->kind = FCA_HAR_ERROR;
          snprintf(out->err, sizeof out->err,
                   "%s: not a HAR file: no log.entries array (HAR 1.2 holds {\"log\": "
                   "{\"entries\": [...]}})",
                   r->name);
        } else {
          out->kind = FCA_HAR_END;
        }
        return;
      }
      r->pos = 0;
      if (r->off == 0 && r->len >= 3 && memcmp(r->buf, "\xef\xbb\xbf", 3) == 0) {
        r->pos = r->off = 3; /* a UTF-8 byte order mark (Fiddler, Charles on Windows) */
        continue;
      }
    }
    unsigned char c = r->buf[r->pos];
    bool capturing = r->cap_depth != 0;
    if (r->in_str && r->esc == 0 && !r->str_key) {
      /* fast path: a run of plain string bytes (most of a HAR is body text) */
      size_t k = r->pos;
      while (k < r->len && r->buf[k] != '"' && r->buf[k] != '\\' && r->buf[k] >= 0x20) k++;
      size_t run = k - r->pos;
      bool keep = !(r->cut_str && r->skipping);
      /* near a body text's cap, the byte-wise path below finds the character boundary */
      if (r->cut_str && !r->skipping && r->str_bytes + run >= r->text_max) run = 0;
      if (run) {
        if (capturing && keep) cap_put_n(r, r->buf + r->pos, run);
        r->high_pending = false;
        r->str_bytes += run;
        r->pos += run;
        r->off += run;
        continue;
      }
    }
    if (r->in_str) {
      bool keep, closed;
      if (!string_byte(r, c, &keep, &closed)) {
        fail(r, out, "bad character %s in a string", c);
        return;
      }
      if (capturing && keep) cap_put(r, c);
      r->pos++;
      r->off++;
      if (closed) {
        r->in_str = false;
        if (r->str_key) {
          frame_t *fr = &r->st[r->depth - 1];
          memcpy(fr->key, r->keybuf, r->keylen);
          fr->key[r->keylen] = '\0';
          fr->key_long = r->key_long;
          r->expect = E_COLON;
        } else {
          value_done(r);
        }
      }
      continue;
    }
    if (r->in_scalar) {
      if (is_scalar_char(c)) {
        if (capturing) cap_put(r, c);
        r->pos++;
        r->off++;
        continue;
      }
      r->in_scalar = false;
      value_done(r);
    }
    r->pos++;
    r->off++;
    if (is_ws(c)) {
      if (capturing) cap_put(r, c);
      continue;
    }
    switch (r->expect) {
    case E_DONE:
      r->off--;
      fail(r, out, "unexpected %s after the end of the HAR", c);
      return;
    case E_COLON:
      if (c != ':') {
        r->off--;
        fail(r, out, "expected ':' after a key, got %s", c);
        return;
      }
      r->expect = E_VALUE;
      break;
    case E_KEY_OR_CLOSE:
    case E_KEY:
      if (c == '}' && r->expect == E_KEY_OR_CLOSE) goto close;
      if (c != '"') {
        r->off--;
        fail(r, out, "expected a key (a string), got %s", c);
        return;
      }
      r->in_str = true;
      r->str_key = true;
      r->keylen = 0;
      r->key_long = false;
      r->esc = 0;
      r->cut_str = false;
      break;
    case E_COMMA_OR_CLOSE:
      if (c == ',') {
        r->expect = r->st[r->depth - 1].obj ? E_KEY : E_VALUE;
        break;
      }
      if (c == '}' || c == ']') goto close;
      r->off--;
      fail(r, out, "expected ',' or the end of an object or array, got %s", c);
      return;
    case E_VALUE_OR_CLOSE:
      if (c == ']') goto close;
      /* fall through */
    case E_VALUE:
      if (c == '{' || c == '[') {
        r->off--;
        open_container(r, c == '{', out, c);
        r->off++;
        if (r->done) return;
        if (r->cap_depth) cap_put(r, c);
        continue;
      }
      if (c == '"') {
        const frame_t *p = r->depth ? &r->st[r->depth - 1] : NULL;
        r->in_str = true;
        r->str_key = false;
        r->esc = 0;
        r->high_pending = false;
        r->str_bytes = 0;
        r->skipping = false;
        r->cut_str = p && p->obj && p->role == R_BODY && strcmp(p->key, "text") == 0;
        break;
      }
      if (c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n') {
        r->in_scalar = true;
        break;
      }
      r->off--;
      fail(r, out, "expected a value, got %s", c);
      return;
    }
    if (r->cap_depth) cap_put(r, c);
    continue;
  close:
    if ((c == '}') != r->st[r->depth - 1].obj) {
      r->off--;
      fail(r, out, "mismatched %s", c);
      return;
    }
    if (r->cap_depth) cap_put(r, c);
    bool element_end = r->cap_depth == r->depth;
    r->depth--;
    value_done(r);
    if (element_end && element_done(r, out)) return;
  }
}
