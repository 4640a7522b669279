/* Fuzzer for the streaming HAR reader: any input ends in END or ERROR without a crash; every
 * element handed out is a JSON object; body texts are cut (text_max is tiny here) into valid
 * JSON; and when jansson reads the whole input as a HAR whose entries are all objects and the
 * reader reaches END, both count the same entries. */
#include "fcaudit/har.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  if (n == 0) return 0;
  FILE *f = fmemopen((void *)data, n, "r");
  if (!f) return 0;
  fca_har_reader_t *r = fca_har_reader_new(f, "fuzz", 8);
  size_t entries = 0;
  bool cut = false;
  fca_har_item_kind_t last;
  for (size_t steps = 0;; steps++) {
    if (steps > n + 16) abort(); /* every item consumes input */
    fca_har_item_t it;
    fca_har_reader_next(r, &it);
    last = it.kind;
    if (it.kind == FCA_HAR_PAGE || it.kind == FCA_HAR_ENTRY) {
      if (!json_is_object(it.obj)) abort();
      if (it.kind == FCA_HAR_ENTRY) entries++, cut |= it.text_cut;
      json_decref(it.obj);
      continue;
    }
    if (it.kind == FCA_HAR_SKIPPED) continue;
    break;
  }
  fca_har_reader_free(r);
  fclose(f);
  json_t *whole = json_loadb((const char *)data, n, 0, NULL);
  json_t *es = json_object_get(json_object_get(whole, "log"), "entries");
  if (whole && json_is_array(es) && last == FCA_HAR_END && !cut) {
    size_t i, objects = 0;
    json_t *e;
    json_array_foreach(es, i, e) objects += json_is_object(e);
    if (objects == json_array_size(es) && objects != entries) abort();
  }
  json_decref(whole);
  return 0;
}
