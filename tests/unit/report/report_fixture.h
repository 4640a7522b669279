/* report_fixture: synthetic event logs for the report tests (model, JSON, JUnit, SARIF, HTML).
 * Two runs share the log; run B is the latest. Run B has: a top-level checkout page (query in
 * its URL) with FC-COOP-1 seen twice (re-emitted with count 2) and an info FC-REF-4; a framed
 * page with FC-SBX-1 (evidence from the parent) and FC-ISO-1 (beyond the checklist); a page
 * that passed; a note about an untagged page; and the engine's summary. */
#ifndef FCA_REPORT_FIXTURE_H
#define FCA_REPORT_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fcaudit/model.h"
#include "fcaudit/util.h"

#define FX_RUN_A "20261124T090000Z-aaaaaa"
#define FX_RUN_B "20261124T100000Z-bbbbbb"

#define FX_PAGE_CHECKOUT                                                                           \
  "\"page\":{\"id\":7,\"url\":\"https://shop.test/checkout?session=1\",\"top_level\":true,"        \
  "\"tagged_by\":\"script-tag\",\"confidence\":\"high\"}"
#define FX_PAGE_FRAME                                                                              \
  "\"page\":{\"id\":9,\"url\":\"https://pay.shop.test/frame\",\"top_level\":false,"                \
  "\"tagged_by\":\"script-tag\",\"confidence\":\"high\"}"
#define FX_PAGE_PAY                                                                                \
  "\"page\":{\"id\":12,\"url\":\"https://shop.test/pay\",\"top_level\":true,"                      \
  "\"tagged_by\":\"script-request\",\"confidence\":\"medium\"}"
#define FX_COOP1(run, page, extra)                                                                 \
  "{\"schema\":1,\"run\":\"" run "\",\"ts\":\"2026-11-24T10:00:00.123Z\",\"type\":\"violation\","  \
  "\"rule\":\"FC-COOP-1\",\"level\":\"error\",\"item\":1,\"message\":\"Cross-Origin-Opener-"       \
  "Policy "                                                                                        \
  "same-origin breaks OAuth bank logins in the popup\",\"fix\":\"send "                            \
  "Cross-Origin-Opener-Policy: same-origin-allow-popups\",\"doc\":\"https://docs.stripe.com/"      \
  "financial-connections\"," page ",\"evidence\":{\"source\":\"header\",\"name\":\"Cross-Origin-"  \
  "Opener-Policy\",\"value\":\"same-origin\",\"offset\":null}" extra "}\n"

static const char FX_LOG[] =
    /* run A: an older run */
    "{\"schema\":1,\"run\":\"" FX_RUN_A
    "\",\"ts\":\"2026-11-24T09:00:00.000Z\",\"type\":\"page\"," FX_PAGE_CHECKOUT
    "}\n" FX_COOP1(FX_RUN_A, FX_PAGE_CHECKOUT, "")
    /* run B */
    "{\"schema\":1,\"run\":\"" FX_RUN_B
    "\",\"ts\":\"2026-11-24T10:00:00.098Z\",\"type\":\"page\"," FX_PAGE_CHECKOUT
    ",\"client\":\"127.0.0.1:50312\"}\n" FX_COOP1(
        FX_RUN_B, FX_PAGE_CHECKOUT,
        "") "this line is not JSON\n" FX_COOP1(FX_RUN_B, FX_PAGE_CHECKOUT,
                                               ",\"count\":2") "{\"schema\":1,\"run\":\"" FX_RUN_B
                                                               "\",\"ts\":\"2026-11-24T10:00:00."
                                                               "200Z\",\"type\":\"violation\","
                                                               "\"rule\":\"FC-REF-4\",\"level\":"
                                                               "\"info\",\"item\":2,\"message\":"
                                                               "\"the Referrer-Policy header is "
                                                               "invalid and "
                                                               "ignored\",\"fix\":\"send one valid "
                                                               "token\"," FX_PAGE_CHECKOUT
                                                               ",\"evidence\":{\"source\":"
                                                               "\"header\",\"name\":\"Referrer-"
                                                               "Policy\",\"value\":\"origin; "
                                                               "x\",\"offset\":null}}\n"
                                                               "{\"schema\":1,\"run\":\"" FX_RUN_B
                                                               "\",\"ts\":\"2026-11-24T10:00:01."
                                                               "000Z\",\"type\":"
                                                               "\"page\"," FX_PAGE_FRAME "}\n"
                                                               "{\"schema\":1,\"run\":\"" FX_RUN_B
                                                               "\",\"ts\":\"2026-11-24T10:00:02."
                                                               "410Z\",\"type\":\"violation\","
                                                               "\"rule\":\"FC-SBX-1\",\"level\":"
                                                               "\"error\",\"item\":3,\"message\":"
                                                               "\"framed in a sandbox without "
                                                               "allow-popups-to-escape-sandbox\","
                                                               "\"fix\":\"add "
                                                               "allow-popups-to-escape-sandbox to "
                                                               "the iframe's sandbox "
                                                               "attribute\"," FX_PAGE_FRAME
                                                               ",\"evidence\":{\"source\":"
                                                               "\"iframe\",\"name\":\"iframe["
                                                               "sandbox]\",\"value\":\"<iframe "
                                                               "src=\\\"https://pay.shop.test/"
                                                               "frame\\\" "
                                                               "sandbox=\\\"allow-scripts "
                                                               "allow-popups\\\">\",\"offset\":"
                                                               "5120,\"url\":\"https://shop.test/"
                                                               "checkout?session=1\"},\"count\":3}"
                                                               "\n"
                                                               "{\"schema\":1,\"run\":\"" FX_RUN_B
                                                               "\",\"ts\":\"2026-11-24T10:00:02."
                                                               "500Z\",\"type\":\"violation\","
                                                               "\"rule\":\"FC-ISO-1\",\"level\":"
                                                               "\"warning\",\"item\":0,\"message\":"
                                                               "\"COEP require-corp blocks "
                                                               "Stripe's iframes\",\"fix\":\"drop "
                                                               "Cross-Origin-Embedder-"
                                                               "Policy\"," FX_PAGE_FRAME
                                                               ",\"evidence\":{\"source\":"
                                                               "\"header\",\"name\":\"Cross-Origin-"
                                                               "Embedder-Policy\",\"value\":"
                                                               "\"require-corp\",\"offset\":null}}"
                                                               "\n"
                                                               "{\"schema\":1,\"run\":\"" FX_RUN_B
                                                               "\",\"ts\":\"2026-11-24T10:00:03."
                                                               "000Z\",\"type\":"
                                                               "\"page\"," FX_PAGE_PAY "}\n"
                                                               "{\"schema\":1,\"run\":\"" FX_RUN_B
                                                               "\",\"ts\":\"2026-11-24T10:00:03."
                                                               "001Z\",\"type\":"
                                                               "\"pass\"," FX_PAGE_PAY "}\n"
                                                               "{\"schema\":1,\"run\":\"" FX_RUN_B
                                                               "\",\"ts\":\"2026-11-24T10:00:04."
                                                               "500Z\",\"type\":\"note\",\"note\":"
                                                               "\"audit-incomplete\",\"message\":"
                                                               "\"body over the 16 MiB audit "
                                                               "cap\",\"page\":{\"id\":13,\"url\":"
                                                               "\"https://shop.test/"
                                                               "big\",\"top_level\":true}}\n"
                                                               "{\"schema\":1,\"run\":\"" FX_RUN_B
                                                               "\",\"ts\":\"2026-11-24T10:05:00."
                                                               "000Z\",\"type\":\"summary\","
                                                               "\"pages_seen\":5,\"pages_tagged\":"
                                                               "3,\"test_mode\":{\"institutions_"
                                                               "seen\":[\"Test (OAuth)\"]}}\n";

/* A model of run B (or of `run`), policy fail-on error. */
static inline fca_model_t *fx_model_run(const char *log, const char *run) {
  FILE *f = fmemopen((void *)log, strlen(log), "r");
  fca_model_t *m = fca_model_new(run);
  char err[256] = "";
  int rc = fca_model_load_stream(m, f, "fixture", err, sizeof err);
  fclose(f);
  if (rc < 0) {
    fprintf(stderr, "fixture: %s\n", err);
    abort();
  }
  return m;
}

static inline fca_model_t *fx_model(void) { return fx_model_run(FX_LOG, NULL); }

static inline size_t fx_count(const char *hay, const char *needle) {
  size_t n = 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
  return n;
}

/* Writes a report through a memory stream; caller frees. */
__attribute__((noinline, unused)) static char *fx_capture(int (*fn)(fca_model_t *, FILE *),
                                                          fca_model_t *m) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (fn(m, f) != 0) abort();
  fclose(f);
  return buf;
}

#endif
