/* html_charref: the named reference table and numeric reference mapping used by html_scan.
 * The table is sorted by name so a lookup is a binary search per candidate length; names missing
 * from it are left undecoded (documented gap: the full WHATWG table has 2231 entries). */
#include "html_charref.h"

#include <stdbool.h>
#include <string.h>

typedef struct {
  const char *name; /* with ';' if the reference requires one */
  const char *utf8;
} entity_t;

/* Sorted by strcmp. Legacy names valid without ';' appear twice. */
static const entity_t entities[] = {
    {"AMP", "&"},
    {"AMP;", "&"},
    {"COPY", "\xc2\xa9"},
    {"COPY;", "\xc2\xa9"},
    {"DiacriticalGrave;", "`"},
    {"GT", ">"},
    {"GT;", ">"},
    {"Hat;", "^"},
    {"LT", "<"},
    {"LT;", "<"},
    {"NewLine;", "\n"},
    {"QUOT", "\""},
    {"QUOT;", "\""},
    {"REG", "\xc2\xae"},
    {"REG;", "\xc2\xae"},
    {"Tab;", "\t"},
    {"UnderBar;", "_"},
    {"VerticalLine;", "|"},
    {"amp", "&"},
    {"amp;", "&"},
    {"apos;", "'"},
    {"ast;", "*"},
    {"bsol;", "\\"},
    {"colon;", ":"},
    {"comma;", ","},
    {"commat;", "@"},
    {"copy", "\xc2\xa9"},
    {"copy;", "\xc2\xa9"},
    {"dollar;", "$"},
    {"equals;", "="},
    {"excl;", "!"},
    {"grave;", "`"},
    {"gt", ">"},
    {"gt;", ">"},
    {"hyphen;", "\xe2\x80\x90"},
    {"lbrace;", "{"},
    {"lbrack;", "["},
    {"lcub;", "{"},
    {"lowbar;", "_"},
    {"lpar;", "("},
    {"lsqb;", "["},
    {"lt", "<"},
    {"lt;", "<"},
    {"mdash;", "\xe2\x80\x94"},
    {"midast;", "*"},
    {"nbsp", "\xc2\xa0"},
    {"nbsp;", "\xc2\xa0"},
    {"ndash;", "\xe2\x80\x93"},
    {"num;", "#"},
    {"percnt;", "%"},
    {"period;", "."},
    {"plus;", "+"},
    {"quest;", "?"},
    {"quot", "\""},
    {"quot;", "\""},
    {"rbrace;", "}"},
    {"rbrack;", "]"},
    {"rcub;", "}"},
    {"reg", "\xc2\xae"},
    {"reg;", "\xc2\xae"},
    {"rpar;", ")"},
    {"rsqb;", "]"},
    {"semi;", ";"},
    {"sol;", "/"},
    {"verbar;", "|"},
    {"vert;", "|"},
};

static bool lookup(const char *name, size_t n, const char **utf8) {
  size_t lo = 0, hi = sizeof entities / sizeof entities[0];
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    const char *e = entities[mid].name;
    size_t en = strlen(e);
    int c = memcmp(name, e, n < en ? n : en);
    if (c == 0) c = n < en ? -1 : n > en ? 1 : 0;
    if (c == 0) {
      *utf8 = entities[mid].utf8;
      return true;
    }
    if (c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return false;
}

size_t fca_html_charref_named(const char *name, size_t n, const char **utf8, size_t *utf8_len) {
  if (n > FCA_HTML_CHARREF_NAME_MAX) n = FCA_HTML_CHARREF_NAME_MAX;
  for (size_t len = n; len > 0; len--) {
    if (lookup(name, len, utf8)) {
      *utf8_len = strlen(*utf8);
      return len;
    }
  }
  return 0;
}

/* windows-1252 for 0x80..0x9F; 0 = keep the code point. */
static const uint16_t c1_map[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178,
};

uint32_t fca_html_charref_numeric(uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0xFFFD;
  if (cp >= 0x80 && cp <= 0x9F && c1_map[cp - 0x80]) return c1_map[cp - 0x80];
  return cp;
}

size_t fca_html_utf8_encode(uint32_t cp, char out[4]) {
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}
