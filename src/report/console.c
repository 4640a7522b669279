/* console: one readable line per event. Invariants: the output is always NUL-terminated and
 * ends in '\n' when anything was written; network text passes through put_safe, which shows
 * control characters and bytes that are not UTF-8 as \xHH, so no escape sequence from a page
 * reaches the terminal; cuts happen on character boundaries. */
#include "fcaudit/console.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fcaudit/eventjson.h"

#define C_RESET "\033[0m"
#define C_RED "\033[1;31m"
#define C_YELLOW "\033[33m"
#define C_CYAN "\033[36m"
#define C_GREEN "\033[32m"
#define C_BOLD "\033[1m"
#define C_DIM "\033[2m"

typedef struct {
  char *buf;
  size_t cap; /* bytes available for text: n - 2 (room for '\n' and NUL) */
  size_t len;
  bool full;
} out_t;

/* Appends s[0..l) if it fits whole (our own text is cut only between pieces). */
static void put_n(out_t *o, const char *s, size_t l) {
  if (o->full) return;
  if (o->len + l > o->cap) {
    o->full = true;
    return;
  }
  memcpy(o->buf + o->len, s, l);
  o->len += l;
}

static void put(out_t *o, const char *s) { put_n(o, s, strlen(s)); }

static void put_pad(out_t *o, const char *s, size_t width) {
  put(o, s);
  for (size_t l = strlen(s); l < width; l++) put_n(o, " ", 1);
}

/* Network text, at most max characters (then "…"); unsafe bytes as \xHH. */
static void put_safe(out_t *o, const char *s, size_t n, size_t max) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *p = (const unsigned char *)s;
  size_t chars = 0;
  for (size_t i = 0; i < n && !o->full;) {
    if (chars >= max) {
      put(o, "…");
      return;
    }
    size_t l = fca_eventjson_utf8_len(p + i, n - i);
    bool c0 = l == 1 && (p[i] < 0x20 || p[i] == 0x7f);
    bool c1 = l == 2 && p[i] == 0xC2 && p[i + 1] < 0xA0; /* U+0080..U+009F, e.g. CSI */
    if (l == 0 || c0 || c1) {
      size_t k = l ? l : 1;
      for (size_t j = 0; j < k; j++) {
        char e[4] = {'\\', 'x', hex[p[i + j] >> 4], hex[p[i + j] & 15]};
        put_n(o, e, 4);
      }
      i += k;
    } else {
      put_n(o, s + i, l);
      i += l;
    }
    chars++;
  }
}

static void put_url(out_t *o, const char *url) {
  if (url)
    put_safe(o, url, strlen(url), FCA_CONSOLE_URL_MAX);
  else
    put(o, "-");
}

static void put_tag(out_t *o, const char *tag, const char *colour, bool color) {
  if (color && colour) {
    put(o, colour);
    put(o, tag);
    put(o, C_RESET);
    for (size_t l = strlen(tag); l < 8; l++) put_n(o, " ", 1);
  } else {
    put_pad(o, tag, 8);
  }
}

static bool secret_name(const char *name) {
  return name &&
         (strcasecmp(name, "cookie") == 0 || strcasecmp(name, "set-cookie") == 0 ||
          strcasecmp(name, "authorization") == 0 || strcasecmp(name, "proxy-authorization") == 0);
}

static void put_evidence(out_t *o, const fca_event_evidence_t *e) {
  /* "name: value" shares one budget of FCA_CONSOLE_EVIDENCE_MAX characters. */
  char tmp[FCA_CONSOLE_EVIDENCE_MAX * 4 + 16];
  out_t t = {tmp, sizeof tmp - 8, 0, false};
  const char *name = e->name ? e->name : e->source ? e->source : "evidence";
  size_t nl = strlen(name);
  put_safe(&t, name, nl, FCA_CONSOLE_EVIDENCE_MAX);
  size_t budget = nl + 2 < FCA_CONSOLE_EVIDENCE_MAX ? FCA_CONSOLE_EVIDENCE_MAX - nl - 2 : 0;
  put(o, "  ");
  put_n(o, tmp, t.len);
  if (!e->value && !secret_name(e->name)) return;
  put(o, ": ");
  if (secret_name(e->name))
    put(o, "[redacted]");
  else if (budget)
    put_safe(o, e->value, e->value_len, budget);
  else
    put(o, "…");
}

size_t fca_console_format(char *buf, size_t n, const fca_event_t *ev, bool color) {
  if (n == 0) return 0;
  buf[0] = '\0';
  if (!ev || n < 2) return 0;
  out_t o = {buf, n - 2, 0, false};
  const char *url = ev->has_page ? ev->page.url : NULL;
  switch (ev->type) {
  case FCA_EV_VIOLATION: {
    const char *colour = ev->level == FCA_LEVEL_ERROR     ? C_RED
                         : ev->level == FCA_LEVEL_WARNING ? C_YELLOW
                         : ev->level == FCA_LEVEL_INFO    ? C_CYAN
                                                          : NULL;
    char lvl[16];
    const char *name = fca_level_name(ev->level);
    size_t i = 0;
    for (; name[i] && i < sizeof lvl - 1; i++) lvl[i] = (char)(name[i] & ~0x20); /* ASCII upper */
    lvl[i] = '\0';
    put_tag(&o, lvl, colour, color);
    put_pad(&o, ev->rule ? ev->rule : "?", 9);
    put(&o, "  ");
    put_url(&o, url);
    if (ev->has_evidence) put_evidence(&o, &ev->evidence);
    if (ev->has_evidence && ev->evidence.url) {
      put(&o, " (from ");
      put_url(&o, ev->evidence.url);
      put(&o, ")");
    }
    if (ev->fix) {
      put(&o, color ? "  " C_DIM "→ fix:" C_RESET " " : "  → fix: ");
      put_safe(&o, ev->fix, strlen(ev->fix), FCA_CONSOLE_LINE_MAX);
    }
    if (ev->fix_stack_text) { /* the same fix in the words of the stack that sent the header */
      const char *who = ev->fix_stack_label ? ev->fix_stack_label : ev->fix_stack;
      bool guess = ev->fix_stack_confidence && !strcmp(ev->fix_stack_confidence, "guess");
      put(&o, "; ");
      put_safe(&o, who ? who : "stack", strlen(who ? who : "stack"), 40);
      if (guess) put(&o, " (guess)");
      put(&o, ": ");
      put_safe(&o, ev->fix_stack_text, strlen(ev->fix_stack_text), FCA_CONSOLE_LINE_MAX);
    }
    break;
  }
  case FCA_EV_PAGE:
    put_tag(&o, "PAGE", C_BOLD, color);
    put_url(&o, url);
    put(&o, "  tagged by ");
    put(&o, ev->page.tagged_by ? ev->page.tagged_by : "?");
    put(&o, " (");
    put(&o, ev->page.confidence ? ev->page.confidence : "?");
    put(&o, ")");
    if (ev->has_page && !ev->page.top_level) put(&o, ", frame");
    break;
  case FCA_EV_PASS:
    put_tag(&o, "PASS", C_GREEN, color);
    put_url(&o, url);
    break;
  case FCA_EV_NOTE:
    put_tag(&o, "NOTE", NULL, color);
    put_url(&o, url);
    put(&o, "  ");
    put(&o, ev->note ? ev->note : "note");
    if (ev->message) {
      put(&o, ": ");
      put_safe(&o, ev->message, strlen(ev->message), FCA_CONSOLE_LINE_MAX);
    }
    break;
  case FCA_EV_SUMMARY: return 0;
  }
  if (ev->count > 1 && (ev->type == FCA_EV_VIOLATION || ev->type == FCA_EV_NOTE)) {
    char c[32];
    snprintf(c, sizeof c, "  (×%llu)", (unsigned long long)ev->count);
    put(&o, c);
  }
  buf[o.len++] = '\n';
  buf[o.len] = '\0';
  return o.len;
}

bool fca_console_use_color(FILE *f, fca_color_mode_t mode) {
  if (mode == FCA_COLOR_ALWAYS) return true;
  if (mode == FCA_COLOR_NEVER || !f) return false;
  const char *nc = getenv("NO_COLOR");
  if (nc && *nc) return false;
  return isatty(fileno(f)) == 1;
}

void fca_console_write(FILE *f, const fca_event_t *ev, bool color) {
  char line[FCA_CONSOLE_LINE_MAX];
  if (!f || fca_console_format(line, sizeof line, ev, color) == 0) return;
  fputs(line, f);
  fflush(f);
}
