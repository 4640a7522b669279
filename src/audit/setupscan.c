/* setupscan: the patterns of Stripe set-up code, searched in each slice and across the seam
 * between two slices (the last bytes of the previous slice are kept), so that the result does
 * not depend on how the text was sliced. */
#include "setupscan.h"

#include <string.h>

static const struct {
  const char *pat, *label;
} pats[] = {
    {"Stripe(", "Stripe("}, /* also loadStripe( */
    {"collectFinancialConnectionsAccounts", "collectFinancialConnectionsAccounts"},
    {"collectBankAccountToken", "collectBankAccountToken"},
    {"collectBankAccountForPayment", "collectBankAccountForPayment"},
    {"collectBankAccountForSetup", "collectBankAccountForSetup"},
    {"pk_live_", "a publishable key"},
    {"pk_test_", "a publishable key"},
};
#define NPATS (sizeof pats / sizeof pats[0])

void fca_setupscan_reset(fca_setupscan_t *s) {
  s->found = NULL;
  s->tail_len = 0;
}

static const char *search(const char *d, size_t n) {
  for (size_t i = 0; i < NPATS; i++)
    if (memmem(d, n, pats[i].pat, strlen(pats[i].pat))) return pats[i].label;
  return NULL;
}

const char *fca_setupscan_text(const char *data, size_t n) { return search(data, n); }

void fca_setupscan_feed(fca_setupscan_t *s, const char *data, size_t n) {
  if (s->found || n == 0) return;
  /* the seam: previous tail + the start of this slice */
  char seam[2 * FCA_SETUPSCAN_TAIL];
  size_t head = n < FCA_SETUPSCAN_TAIL ? n : FCA_SETUPSCAN_TAIL;
  memcpy(seam, s->tail, s->tail_len);
  memcpy(seam + s->tail_len, data, head);
  if ((s->found = search(seam, s->tail_len + head))) return;
  if ((s->found = search(data, n))) return;
  /* keep the last bytes (of the seam when this slice is short) */
  size_t total = s->tail_len + head;
  if (n >= FCA_SETUPSCAN_TAIL) {
    memcpy(s->tail, data + n - FCA_SETUPSCAN_TAIL, FCA_SETUPSCAN_TAIL);
    s->tail_len = FCA_SETUPSCAN_TAIL;
  } else {
    size_t keep = total < FCA_SETUPSCAN_TAIL ? total : FCA_SETUPSCAN_TAIL;
    memmove(s->tail, seam + total - keep, keep);
    s->tail_len = keep;
  }
}
