/* proxy: placeholder until the proxy core lands. */
#include "fcaudit/proxy.h"

#include "fcaudit/util.h"

int fca_proxy_main(const fca_config_t *cfg) {
  (void)cfg;
  fca_err("proxy not implemented yet");
  return 3;
}
