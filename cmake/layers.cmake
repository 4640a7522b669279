# The layers of DESIGN.md ("Layout") and what each may include. Read by the top-level
# CMakeLists.txt (one static library per layer) and by cmake/layercheck.cmake, which runs before
# each layer compiles and fails the build when a file includes a header its layer must not.
#
# Two mechanisms keep a layer honest:
#  - reachability: a layer's own headers sit beside its sources (src/<layer>/*.h) and no layer
#    target has another layer's folder on its include path, so `#include "endpoint.h"` from
#    src/audit/ does not compile;
#  - this table: the contracts in include/fcaudit/ are reachable from every layer, so each one
#    names its owning layer, and a layer may include a contract only from itself, from a layer
#    in its FCA_LAYER_DEPS_<layer>, or from the shared set; system headers a layer must not use
#    (libevent, OpenSSL, ...) are listed in FCA_LAYER_FORBID_<layer>.
# And cmake/contractcheck.cmake (at configure time) keeps include/fcaudit/ to the contracts: a
# header there must be listed below and included by some other layer (or a tool); one only its
# own layer uses belongs beside that layer's sources.

# Dependency order (a layer may only depend on layers before it).
set(FCA_LAYERS util checklist audit report tls admin proxy cli)

set(FCA_LAYER_DEPS_util "")
set(FCA_LAYER_DEPS_checklist util)
set(FCA_LAYER_DEPS_audit util checklist)
set(FCA_LAYER_DEPS_report util checklist)
set(FCA_LAYER_DEPS_tls util)
set(FCA_LAYER_DEPS_admin util checklist report tls)
set(FCA_LAYER_DEPS_proxy util checklist audit tls)
set(FCA_LAYER_DEPS_cli util checklist audit report tls admin proxy)

# Contracts between layers: include/fcaudit/<name>.h -> owning layer. A new contract header must
# be added here (the check names the header it does not know).
set(FCA_CONTRACTS_shared config metrics exit)
set(FCA_CONTRACTS_util util strmap escape defer redact)
set(FCA_CONTRACTS_checklist event ruleset checklist)
set(FCA_CONTRACTS_audit audit audit_config har har_writer)
set(FCA_CONTRACTS_report console eventjson model redis_read redis_sink redis_url report_json
  reports sink tailfmt)
set(FCA_CONTRACTS_tls ca mint tlsctx)
set(FCA_CONTRACTS_admin admin)
set(FCA_CONTRACTS_proxy proxy)
set(FCA_CONTRACTS_cli "")

# System headers (a prefix of the included path) a layer must not include.
set(FCA_NO_NET event2/ evhttp.h event.h llhttp.h nghttp2/ hiredis/)
set(FCA_LAYER_FORBID_util ${FCA_NO_NET} openssl/)
set(FCA_LAYER_FORBID_checklist ${FCA_NO_NET} openssl/ jansson.h)
set(FCA_LAYER_FORBID_audit ${FCA_NO_NET} openssl/)
# report: libevent only for the Redis sink, which runs its own loop on its own thread (the
# hiredis libevent adapter); nothing in report touches the proxy's loops.
set(FCA_LAYER_FORBID_report evhttp.h event.h llhttp.h nghttp2/)
set(FCA_LAYER_FORBID_tls ${FCA_NO_NET})
set(FCA_LAYER_FORBID_admin llhttp.h nghttp2/ hiredis/)
set(FCA_LAYER_FORBID_proxy hiredis/)
set(FCA_LAYER_FORBID_cli "")

# Known exceptions, each "<file under src/>:<contract header>" (none).
set(FCA_LAYER_EXCEPTIONS "")
