/* html_charref: character reference decoding for html_scan (private to src/audit/). A subset of
 * the WHATWG named references (the ASCII punctuation a CMS or an attacker would use to encode a
 * URL, the legacy semicolon-less names, a few common symbols), and numeric references with the
 * WHATWG replacement rules. Longest-prefix matching as the tokenizer's named reference state. */
#ifndef FCAUDIT_HTML_CHARREF_H
#define FCAUDIT_HTML_CHARREF_H

#include <stddef.h>
#include <stdint.h>

#define FCA_HTML_CHARREF_NAME_MAX 32 /* longest WHATWG name, ';' included */

/* Longest table name that is a prefix of name[0..n) (names carry their ';' when they have one).
 * Returns its length, 0 when none; *utf8 and *utf8_len receive the replacement. */
size_t fca_html_charref_named(const char *name, size_t n, const char **utf8, size_t *utf8_len);
/* A numeric reference's value as browsers map it (NUL, surrogates, > U+10FFFF -> U+FFFD; the
 * 0x80-0x9F range through windows-1252). */
uint32_t fca_html_charref_numeric(uint32_t cp);
/* UTF-8 encoding of a code point <= U+10FFFF; returns 1..4. */
size_t fca_html_utf8_encode(uint32_t cp, char out[4]);

#endif
