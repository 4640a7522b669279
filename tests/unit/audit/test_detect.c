/* Unit tests for detect: the Stripe.js URL and script-type matchers, Content-Type tests, the
 * literal scanner (sliced at every offset), and the detection corpus under data/detect/: every
 * page is fed through the audit facade whole, split at every byte offset and in random chunks,
 * and must give the same events each time and the result its MANIFEST line expects. */
#include "audit_capture.h"
#include "detect.h"
#include "fcaudit/ruleset.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DATA FCA_TEST_SRCDIR "/tests/unit/data/detect/"

/* As the document scanner judges a <script src>: resolved against the page, then matched. */
static bool src_is_stripe(const char *base, const char *src) {
  fca_url_t u;
  if (fca_url_resolve(base, base ? strlen(base) : 0, src, strlen(src), &u) != 0) return false;
  bool ok = fca_detect_stripejs_url(&u, fca_detect_protocol_relative(src, strlen(src)));
  fca_url_free(&u);
  return ok;
}

Test(detect, stripejs_urls) {
  const char *base = "https://shop.test/checkout/";
  cr_assert(src_is_stripe(base, "https://js.stripe.com/v3"));
  cr_assert(src_is_stripe(base, "https://js.stripe.com/v3/"));
  cr_assert(src_is_stripe(base, "https://js.stripe.com/v3/?a=b"));
  cr_assert(src_is_stripe(base, "https://js.stripe.com/acacia/stripe.js"));
  cr_assert(src_is_stripe(base, "//js.stripe.com/v3"));
  cr_assert(src_is_stripe("http://shop.test/", "//js.stripe.com/v3"));
  cr_assert(src_is_stripe("https://js.stripe.com/", "v3"));
  cr_assert_not(src_is_stripe("http://shop.test/", "http://js.stripe.com/v3"));
  cr_assert_not(src_is_stripe(base, "https://js.stripe.com/v2/"));
  cr_assert_not(src_is_stripe(base, "https://js.stripe.com/v3/x"));
  cr_assert_not(src_is_stripe(base, "https://js.stripe.com//stripe.js"));
  cr_assert_not(src_is_stripe(base, "https://js.stripe.com/a-b/stripe.js"));
  cr_assert_not(src_is_stripe(base, "https://js.stripe.com.evil.example/v3"));
  cr_assert_not(src_is_stripe(base, "https://evil.example/js.stripe.com/v3"));
  cr_assert_not(src_is_stripe(base, "/v3"));
  cr_assert_not(src_is_stripe(base, ""));
  cr_assert(fca_detect_stripejs_request("https://js.stripe.com/v3/"));
  cr_assert_not(fca_detect_stripejs_request("https://js.stripe.com/v3/fingerprinted/js/x.js"));
}

Test(detect, stripe_hosts_and_fc_endpoints) {
  cr_assert(fca_detect_stripe_host("stripe.com", 10));
  cr_assert(fca_detect_stripe_host("js.stripe.com", 13));
  cr_assert(fca_detect_stripe_host("m.stripe.network", 16));
  cr_assert(fca_detect_stripe_host("JS.Stripe.COM.", 14));
  cr_assert_not(fca_detect_stripe_host("notstripe.com", 13));
  cr_assert_not(fca_detect_stripe_host("stripe.com.evil.example", 23));
  const char *yes[] = {"https://api.stripe.com/v1/link_account_sessions",
                       "https://api.stripe.com/v1/link_account_sessions/las_1/complete",
                       "https://api.stripe.com/v1/consumers/link_account_sessions",
                       "https://api.stripe.com/v1/connections/auth_sessions",
                       "https://api.stripe.com/v1/financial_connections/sessions/x"};
  const char *no[] = {"https://api.stripe.com/v1/payment_intents",
                      "https://api.stripe.com/v1//link_account_sessions",
                      "https://api.stripe.com.evil.example/v1/connections/x",
                      "http://api.stripe.com/v1/connections/x"};
  for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
    fca_url_t u;
    cr_assert_eq(fca_url_parse(yes[i], strlen(yes[i]), &u), 0);
    cr_assert(fca_detect_fc_api(&u), "%s", yes[i]);
    fca_url_free(&u);
  }
  for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
    fca_url_t u;
    cr_assert_eq(fca_url_parse(no[i], strlen(no[i]), &u), 0);
    cr_assert_not(fca_detect_fc_api(&u), "%s", no[i]);
    fca_url_free(&u);
  }
  fca_url_t u;
  const char *inner = "https://js.stripe.com/v3/linked-accounts-inner-3a8f.html#x";
  cr_assert_eq(fca_url_parse(inner, strlen(inner), &u), 0);
  cr_assert(fca_detect_linked_accounts_inner(&u));
  fca_url_free(&u);
}

static fca_html_str_t hs(const char *s) {
  return s ? (fca_html_str_t){s, strlen(s), true} : (fca_html_str_t){NULL, 0, false};
}

static bool runs(const char *type, const char *language, bool nomodule) {
  fca_html_script_t s = {0};
  s.type = hs(type);
  s.language = hs(language);
  s.nomodule = nomodule;
  return fca_detect_script_runs(&s);
}

Test(detect, script_types) {
  cr_assert(runs(NULL, NULL, false));
  cr_assert(runs("", NULL, false));
  cr_assert(runs("text/javascript", NULL, false));
  cr_assert(runs(" TEXT/JavaScript\t", NULL, false));
  cr_assert(runs("application/x-javascript", NULL, false));
  cr_assert(runs("text/javascript1.5", NULL, false));
  cr_assert(runs("module", NULL, false));
  cr_assert(runs("Module", NULL, true)); /* modules ignore nomodule */
  cr_assert(runs(NULL, "javascript", false));
  cr_assert(runs(NULL, "", false));
  cr_assert_not(runs(NULL, "vbscript", false));
  cr_assert_not(runs("text/javascript; charset=utf-8", NULL, false));
  cr_assert_not(runs("application/json", NULL, false));
  cr_assert_not(runs("text/babel", NULL, false));
  cr_assert_not(runs("importmap", NULL, false));
  cr_assert_not(runs(NULL, NULL, true));
}

Test(detect, content_types) {
  cr_assert(fca_detect_ctype_html("text/html; charset=utf-8", 24));
  cr_assert(fca_detect_ctype_html(" Application/XHTML+XML", 22));
  cr_assert_not(fca_detect_ctype_html("text/plain", 10));
  cr_assert(fca_detect_ctype_js("application/javascript; charset=utf-8", 37));
  cr_assert(fca_detect_ctype_json("application/json", 16));
  cr_assert(fca_detect_ctype_json("application/problem+json", 24));
  cr_assert(fca_detect_accepts_html("text/html,application/xhtml+xml;q=0.9", 37));
  cr_assert(fca_detect_accepts_html("*/*", 3));
  cr_assert_not(fca_detect_accepts_html("application/json", 16));
}

/* ---- literal scanner ----------------------------------------------------------------- */

typedef struct {
  char log[8192];
} litlog_t;

static void on_lit(void *ud, fca_lit_kind_t k, const char *v, size_t n, uint64_t off) {
  litlog_t *l = ud;
  size_t len = strlen(l->log);
  snprintf(l->log + len, sizeof l->log - len, "%d@%llu:%.*s|", (int)k, (unsigned long long)off,
           (int)n, v);
}

static void lit_scan(const char *s, size_t n, size_t split, litlog_t *out) {
  memset(out, 0, sizeof *out);
  fca_litscan_t *ls = fca_litscan_new(on_lit, out);
  fca_litscan_feed(ls, s, split);
  fca_litscan_feed(ls, s + split, n - split);
  fca_litscan_finish(ls);
  fca_litscan_free(ls);
}

Test(detect, litscan_matches_and_boundaries) {
  const char *s = "x='https://js.stripe.com/v3';y=\"https://js.stripe.com.evil.example\";"
                  "s.collectBankAccountToken(a);s.collectBankAccountTokens(b);"
                  "Stripe('pk_test_0123456789abcdefXYZ');k='pk_live_short';"
                  "xpk_live_0123456789abcdefghij;pk_live_0123456789abcdefghij";
  litlog_t ref, got;
  lit_scan(s, strlen(s), 0, &ref);
  cr_assert_str_eq(ref.log,
                   "0@3:https://js.stripe.com/v3|1@70:collectBankAccountToken|"
                   "2@135:pk_test_0123456789abcdefXYZ|3@213:pk_live_0123456789abcdefghij|");
  for (size_t k = 1; k <= strlen(s); k++) {
    lit_scan(s, strlen(s), k, &got);
    cr_assert_str_eq(got.log, ref.log, "split at %zu", k);
  }
}

Test(detect, litscan_long_stream) {
  /* matches around every window boundary: a stream longer than several windows */
  size_t n = FCA_LITSCAN_WIN * 5;
  char *s = malloc(n);
  memset(s, ' ', n);
  const char *lit = "https://js.stripe.com/v3";
  size_t pos[] = {0, FCA_LITSCAN_WIN - FCA_LITSCAN_KEEP - 3, FCA_LITSCAN_WIN - 10,
                  2 * FCA_LITSCAN_WIN - 2 * FCA_LITSCAN_KEEP + 1, n - strlen(lit)};
  for (size_t i = 0; i < 5; i++) memcpy(s + pos[i], lit, strlen(lit));
  litlog_t ref, got;
  lit_scan(s, n, 0, &ref);
  char want[1024] = "";
  for (size_t i = 0; i < 5; i++)
    snprintf(want + strlen(want), sizeof want - strlen(want), "0@%zu:%s|", pos[i], lit);
  cr_assert_str_eq(ref.log, want);
  for (size_t k = 1; k < n; k += 97) {
    lit_scan(s, n, k, &got);
    cr_assert_str_eq(got.log, ref.log, "split at %zu", k);
  }
  free(s);
}

/* ---- the corpus ---------------------------------------------------------------------- */

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "open %s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return b;
}

/* "gzip, br" for x.html.gz.br: extensions after .html, in the order they were applied. */
static void encoding_of(const char *file, char *out, size_t len) {
  out[0] = '\0';
  const char *p = strstr(file, ".html");
  for (p = p ? p + 5 : file + strlen(file); *p == '.';) {
    const char *e = p + 1;
    size_t l = strcspn(e, ".");
    const char *name = !strncmp(e, "gz", l) && l == 2    ? "gzip"
                       : !strncmp(e, "br", l) && l == 2  ? "br"
                       : !strncmp(e, "zst", l) && l == 3 ? "zstd"
                                                         : "?";
    if (*out) strncat(out, ", ", len - strlen(out) - 1);
    strncat(out, name, len - strlen(out) - 1);
    p = e + l;
  }
}

typedef struct {
  char sig[16384]; /* every event, one line each */
  char tag[64];
  bool fc, live, test, note;
} result_t;

static void feed_run(const char *body, size_t len, const char *enc, const size_t *cuts,
                     size_t ncuts, result_t *res) {
  capture_t c;
  cap_init(&c);
  fca_audit_t *a = cap_audit(&c, "staging");
  xreq_t r = {.url = "https://shop.test/checkout/pay?x=1",
              .dest = "document",
              .ctype = "text/html; charset=utf-8",
              .cenc = *enc ? enc : NULL,
              .now_ms = 1000};
  fca_audit_exchange_t *x = x_begin(a, &r);
  x_head(x, &r);
  cr_assert(fca_audit_wants_body(x));
  size_t prev = 0;
  for (size_t i = 0; i <= ncuts; i++) {
    size_t end = i < ncuts ? cuts[i] : len;
    if (end > prev) fca_audit_response_body(x, body + prev, end - prev);
    prev = end > prev ? end : prev;
  }
  fca_audit_response_end(x, true);
  fca_audit_exchange_free(x);
  fca_audit_finish(a);
  memset(res, 0, sizeof *res);
  strcpy(res->tag, "none");
  for (size_t i = 0; i < c.n; i++) {
    const cap_event_t *e = &c.ev[i];
    size_t l = strlen(res->sig);
    snprintf(res->sig + l, sizeof res->sig - l, "%s %s %s/%s %s:%s@%lld %s\n",
             fca_event_type_name(e->type), e->rule ? e->rule : "-",
             e->tagged_by ? e->tagged_by : "-", e->confidence ? e->confidence : "-",
             e->ev_source ? e->ev_source : "-", e->ev_value ? e->ev_value : "-",
             (long long)e->ev_offset, e->note ? e->note : "");
    if (e->type == FCA_EV_PAGE)
      snprintf(res->tag, sizeof res->tag, "%s/%s", e->tagged_by, e->confidence);
    if (e->type == FCA_EV_VIOLATION && !strcmp(e->rule, "FC-TEST-1")) res->live = true;
    if (e->type == FCA_EV_NOTE) res->note = true;
    if (e->type == FCA_EV_SUMMARY) {
      json_t *pages = json_object_get(e->summary, "pages");
      json_t *p0 = json_array_get(pages, 0);
      if (p0) {
        res->fc = json_array_size(json_object_get(p0, "fc_evidence")) > 0;
        const char *why = json_string_value(
            json_object_get(json_object_get(json_object_get(p0, "items"), "4"), "why"));
        res->test = why && strcmp(why, FCA_ITEM4_TEST_KEY) == 0;
        char *dump = json_dumps(p0, JSON_SORT_KEYS | JSON_COMPACT);
        l = strlen(res->sig);
        snprintf(res->sig + l, sizeof res->sig - l, "%s\n", dump);
        free(dump);
      }
    }
  }
  fca_audit_free(a);
  cap_free(&c);
}

Test(detect, corpus) {
  FILE *m = fopen(DATA "MANIFEST", "r");
  cr_assert_not_null(m);
  char line[512];
  int files = 0, positives = 0, negatives = 0;
  unsigned seed = 12345;
  result_t *ref = malloc(sizeof *ref), *got = malloc(sizeof *got);
  while (fgets(line, sizeof line, m)) {
    if (line[0] == '#' || line[0] == '\n') continue;
    char file[128], expect[64], flags[256] = "";
    int k = sscanf(line, "%127s %63s %255[^\n]", file, expect, flags);
    cr_assert(k >= 2, "bad manifest line %s", line);
    char path[512];
    snprintf(path, sizeof path, DATA "%s", file);
    size_t len;
    char *body = slurp(path, &len);
    char enc[64];
    encoding_of(file, enc, sizeof enc);
    feed_run(body, len, enc, NULL, 0, ref);
    cr_expect_str_eq(ref->tag, expect, "%s: tagged %s, expected %s", file, ref->tag, expect);
    cr_expect_eq(ref->fc, strstr(flags, "fc") != NULL, "%s: fc evidence", file);
    cr_expect_eq(ref->live, strstr(flags, "live-key") != NULL, "%s: live key", file);
    cr_expect_eq(ref->test, strstr(flags, "test-key") != NULL, "%s: test key", file);
    cr_expect_eq(ref->note, strstr(flags, "note") != NULL, "%s: note", file);
    for (size_t cut = 1; cut < len; cut++) {
      feed_run(body, len, enc, &cut, 1, got);
      cr_assert_str_eq(got->sig, ref->sig, "%s split at %zu", file, cut);
    }
    for (int round = 0; round < 8; round++) {
      size_t cuts[64], n = 0, at = 0;
      while (n < 64) {
        seed = seed * 1103515245u + 12345u;
        at += 1 + (seed >> 16) % 40;
        if (at >= len) break;
        cuts[n++] = at;
      }
      feed_run(body, len, enc, cuts, n, got);
      cr_assert_str_eq(got->sig, ref->sig, "%s random round %d", file, round);
    }
    free(body);
    files++;
    if (strcmp(expect, "none") == 0)
      negatives++;
    else
      positives++;
  }
  fclose(m);
  free(ref);
  free(got);
  cr_assert_geq(files, 40);
  cr_assert_geq(positives, 15);
  cr_assert_geq(negatives, 15);
}
