/* rule_test: FC-TEST-1, a pk_live_ publishable key on a tagged page of a run declared
 * non-production (--env staging|test). FC-TEST-2 is run-level: see summary.c. */
#include "engine.h"
#include "rules.h"

void fca_rule_test(fca_audit_t *a, fca_page_t *p) {
  bool any_test = false, any_live = false;
  for (size_t i = 0; i < p->nkeys; i++) {
    const fca_page_key_t *k = &p->keys[i];
    if (!k->live) {
      any_test = true;
      continue;
    }
    any_live = true;
    if (a->production) continue;
    fca_rules_fire(a, p, FCA_RULE_TEST_1, k->key.value, &k->key, k->source,
                   k->name ? k->name : "publishable key");
  }
  if (any_live && a->production)
    fca_rules_item_pass(p, 4, "live publishable key on a run declared production");
  else if (any_live) /* FC-TEST-1 failed the item unless its level is info or ignore */
    fca_rules_item_pass(p, 4, "live publishable key (FC-TEST-1 below warning level)");
  else if (any_test && !any_live)
    fca_rules_item_pass(p, 4, "test-mode publishable key (pk_test_)");
}
