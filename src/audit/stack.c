/* stack: the server stack from response headers, and fixes in its words. Detection scores a few
 * fingerprints in one pass over the headers; an application framework wins over the web server
 * in front of it (a Django app behind nginx is fixed in settings.py, not in nginx). */
#include "stack.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool name_is(const fca_stack_header_t *h, const char *n) {
  size_t l = strlen(n);
  return h->name_len == l && strncasecmp(h->name, n, l) == 0;
}

/* The value, trimmed of spaces and tabs. */
static void trimmed(const fca_stack_header_t *h, const char **s, size_t *n) {
  const char *v = h->value;
  size_t l = h->value_len;
  while (l && (*v == ' ' || *v == '\t')) v++, l--;
  while (l && (v[l - 1] == ' ' || v[l - 1] == '\t')) l--;
  *s = v;
  *n = l;
}

static bool value_is(const fca_stack_header_t *h, const char *want) {
  const char *v;
  size_t l;
  trimmed(h, &v, &l);
  return l == strlen(want) && strncasecmp(v, want, l) == 0;
}

static bool value_starts(const fca_stack_header_t *h, const char *want) {
  const char *v;
  size_t l, w = strlen(want);
  trimmed(h, &v, &l);
  return l >= w && strncasecmp(v, want, w) == 0;
}

static bool value_has(const fca_stack_header_t *h, const char *want) {
  size_t w = strlen(want);
  for (size_t i = 0; i + w <= h->value_len; i++)
    if (strncasecmp(h->value + i, want, w) == 0) return true;
  return false;
}

/* A Set-Cookie line whose cookie name is `name`. */
static bool cookie_named(const fca_stack_header_t *h, const char *name) {
  const char *v;
  size_t l, n = strlen(name);
  trimmed(h, &v, &l);
  return l > n && strncmp(v, name, n) == 0 && (v[n] == '=' || v[n] == ' ');
}

typedef struct {
  bool express_pb, next_pb, next_hdr, nginx, apache, wsgi;
  bool dns_off, oac, noopen, xpcdp_none, xss0, corp_same;
  bool ref_same, xfo_deny, xcto, coop_same, csrf_cookie;
  bool runtime, request_id;
} seen_t;

static void scan(const fca_stack_header_t *hs, size_t n, seen_t *s) {
  memset(s, 0, sizeof *s);
  for (size_t i = 0; i < n; i++) {
    const fca_stack_header_t *h = &hs[i];
    if (name_is(h, "x-powered-by")) {
      if (value_starts(h, "express")) s->express_pb = true;
      if (value_has(h, "next.js")) s->next_pb = true;
    } else if (h->name_len > 9 && strncasecmp(h->name, "x-nextjs-", 9) == 0) {
      s->next_hdr = true;
    } else if (name_is(h, "server")) {
      if (value_starts(h, "nginx") || value_starts(h, "openresty")) s->nginx = true;
      if (value_starts(h, "apache") && !value_starts(h, "apache-coyote")) s->apache = true;
      if (value_starts(h, "wsgiserver/")) s->wsgi = true;
    } else if (name_is(h, "x-dns-prefetch-control")) {
      s->dns_off |= value_is(h, "off");
    } else if (name_is(h, "origin-agent-cluster")) {
      s->oac |= value_is(h, "?1");
    } else if (name_is(h, "x-download-options")) {
      s->noopen |= value_is(h, "noopen");
    } else if (name_is(h, "x-permitted-cross-domain-policies")) {
      s->xpcdp_none |= value_is(h, "none");
    } else if (name_is(h, "x-xss-protection")) {
      s->xss0 |= value_is(h, "0");
    } else if (name_is(h, "cross-origin-resource-policy")) {
      s->corp_same |= value_is(h, "same-origin");
    } else if (name_is(h, "referrer-policy")) {
      s->ref_same |= value_is(h, "same-origin");
    } else if (name_is(h, "x-frame-options")) {
      s->xfo_deny |= value_is(h, "deny");
    } else if (name_is(h, "x-content-type-options")) {
      s->xcto |= value_is(h, "nosniff");
    } else if (name_is(h, "cross-origin-opener-policy")) {
      s->coop_same |= value_is(h, "same-origin");
    } else if (name_is(h, "set-cookie")) {
      s->csrf_cookie |= cookie_named(h, "csrftoken");
    } else if (name_is(h, "x-runtime")) {
      s->runtime = true;
    } else if (name_is(h, "x-request-id")) {
      s->request_id = true;
    }
  }
}

static void set(fca_stack_t *out, fca_stack_kind_t k, fca_stack_conf_t c, const char *why) {
  out->kind = k;
  out->confidence = c;
  snprintf(out->why, sizeof out->why, "%s", why);
}

void fca_stack_detect(const fca_stack_header_t *hs, size_t n, fca_stack_t *out) {
  memset(out, 0, sizeof *out);
  seen_t s;
  scan(hs, n, &s);
  /* helmet: X-DNS-Prefetch-Control: off and Origin-Agent-Cluster: ?1 are its own; the rest of
   * its set (shared with Rails) only adds weight. */
  int helmet_rest = s.noopen + s.xpcdp_none + s.xss0 + s.corp_same;
  bool helmet = (s.dns_off && s.oac) || ((s.dns_off || s.oac) && helmet_rest >= 2);
  /* Django's SecurityMiddleware + XFrameOptionsMiddleware defaults, or its csrftoken cookie. */
  int django = s.ref_same + s.xfo_deny + s.xcto + s.coop_same + s.csrf_cookie;
  bool is_django = django >= 3 && (s.ref_same || s.csrf_cookie);
  if (s.next_pb || s.next_hdr) {
    set(out, FCA_STACK_NEXTJS, FCA_STACK_HIGH,
        s.next_pb ? "X-Powered-By: Next.js" : "x-nextjs-* response headers");
  } else if (helmet) {
    set(out, FCA_STACK_HELMET, FCA_STACK_GUESS,
        s.express_pb ? "X-Powered-By: Express and helmet's default headers"
                     : "helmet's default headers (X-DNS-Prefetch-Control: off, "
                       "Origin-Agent-Cluster: ?1, ...)");
  } else if (s.wsgi) {
    set(out, FCA_STACK_DJANGO, FCA_STACK_GUESS, "Server: WSGIServer (Django's runserver)");
  } else if (is_django) {
    set(out, FCA_STACK_DJANGO, FCA_STACK_GUESS,
        s.csrf_cookie ? "csrftoken cookie and Django's SecurityMiddleware defaults"
                      : "Django's SecurityMiddleware defaults (Referrer-Policy: same-origin, "
                        "X-Frame-Options: DENY, ...)");
  } else if (s.runtime && (s.request_id || s.noopen || s.xpcdp_none)) {
    set(out, FCA_STACK_RAILS, FCA_STACK_GUESS, "X-Runtime and Rails' default headers");
  } else if (s.express_pb) {
    set(out, FCA_STACK_EXPRESS, FCA_STACK_HIGH, "X-Powered-By: Express");
  } else if (s.nginx) {
    set(out, FCA_STACK_NGINX, FCA_STACK_HIGH, "Server: nginx");
  } else if (s.apache) {
    set(out, FCA_STACK_APACHE, FCA_STACK_HIGH, "Server: Apache");
  }
}

const char *fca_stack_name(fca_stack_kind_t k) {
  switch (k) {
  case FCA_STACK_NONE: return NULL;
  case FCA_STACK_HELMET: return "helmet";
  case FCA_STACK_EXPRESS: return "express";
  case FCA_STACK_DJANGO: return "django";
  case FCA_STACK_RAILS: return "rails";
  case FCA_STACK_NEXTJS: return "nextjs";
  case FCA_STACK_NGINX: return "nginx";
  case FCA_STACK_APACHE: return "apache";
  }
  return NULL;
}

const char *fca_stack_label(fca_stack_kind_t k) {
  switch (k) {
  case FCA_STACK_NONE: return NULL;
  case FCA_STACK_HELMET: return "Express with helmet";
  case FCA_STACK_EXPRESS: return "Express";
  case FCA_STACK_DJANGO: return "Django";
  case FCA_STACK_RAILS: return "Rails";
  case FCA_STACK_NEXTJS: return "Next.js";
  case FCA_STACK_NGINX: return "nginx";
  case FCA_STACK_APACHE: return "Apache httpd";
  }
  return NULL;
}

const char *fca_stack_conf_name(fca_stack_conf_t c) {
  return c == FCA_STACK_HIGH ? "high" : "guess";
}

/* ---- fixes -------------------------------------------------------------------------------- */

/* A header set (or removed, value NULL) the stack's generic way. */
static void set_header(fca_stack_kind_t k, const char *name, const char *value, char *out,
                       size_t len) {
  switch (k) {
  case FCA_STACK_HELMET:
  case FCA_STACK_EXPRESS:
    if (value)
      snprintf(out, len, "res.set(\"%s\", \"%s\") in the route (or a middleware) serving this page",
               name, value);
    else
      snprintf(out, len, "res.removeHeader(\"%s\") before the route serving this page responds",
               name);
    break;
  case FCA_STACK_DJANGO:
    if (value)
      snprintf(out, len, "response[\"%s\"] = \"%s\" in the view serving this page", name, value);
    else
      snprintf(out, len, "del response[\"%s\"] in the view serving this page", name);
    break;
  case FCA_STACK_RAILS:
    if (value)
      snprintf(out, len,
               "config.action_dispatch.default_headers[\"%s\"] = \"%s\" in "
               "config/application.rb (or response.set_header in the controller)",
               name, value);
    else
      snprintf(out, len,
               "config.action_dispatch.default_headers.delete(\"%s\") in config/application.rb",
               name);
    break;
  case FCA_STACK_NEXTJS:
    if (value)
      snprintf(out, len,
               "in next.config.js, async headers() { return [{ source: \"/:path*\", headers: "
               "[{ key: \"%s\", value: \"%s\" }] }] } (narrow source to the checkout route)",
               name, value);
    else
      snprintf(out, len,
               "remove the \"%s\" entry from headers() in next.config.js (and any middleware "
               "setting it)",
               name);
    break;
  case FCA_STACK_NGINX:
    if (value)
      snprintf(out, len, "add_header %s \"%s\" always; in the nginx location serving this page",
               name, value);
    else
      snprintf(out, len, "remove the add_header %s line from the nginx server/location block",
               name);
    break;
  case FCA_STACK_APACHE:
    if (value)
      snprintf(out, len, "Header always set %s \"%s\" in the Apache vhost or .htaccess", name,
               value);
    else
      snprintf(out, len, "Header always unset %s in the Apache vhost or .htaccess", name);
    break;
  case FCA_STACK_NONE: out[0] = '\0'; break;
  }
}

/* "script-src 'self' https://js.stripe.com" -> name "script-src", sources "'self' https://..." */
static void split_directive(const char *d, char *name, size_t nlen, const char **sources) {
  size_t i = strcspn(d, " \t");
  snprintf(name, nlen, "%.*s", (int)i, d);
  d += i;
  while (*d == ' ' || *d == '\t') d++;
  *sources = d;
}

/* helmet's camelCase directive name: script-src -> scriptSrc. */
static void camel(const char *name, char *out, size_t len) {
  size_t o = 0;
  for (size_t i = 0; name[i] && o + 1 < len; i++) {
    if (name[i] == '-' && name[i + 1]) {
      char c = name[++i];
      out[o++] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
    } else {
      out[o++] = name[i];
    }
  }
  out[o] = '\0';
}

/* The sources as a quoted list: 'self' https://x -> "'self'", "https://x" (JS, Python). */
static void quoted_list(const char *src, char q, char *out, size_t len) {
  size_t o = 0;
  out[0] = '\0';
  while (*src && o + 8 < len) {
    size_t n = strcspn(src, " \t");
    if (n) {
      int w = snprintf(out + o, len - o, "%s%c%.*s%c", o ? ", " : "", q, (int)n, src, q);
      if (w < 0 || (size_t)w >= len - o) break;
      o += (size_t)w;
    }
    src += n;
    while (*src == ' ' || *src == '\t') src++;
  }
}

/* Rails' CSP DSL: 'self' -> :self, 'none' -> :none, 'unsafe-inline' -> :unsafe_inline. */
static void rails_list(const char *src, char *out, size_t len) {
  size_t o = 0;
  out[0] = '\0';
  while (*src && o + 8 < len) {
    size_t n = strcspn(src, " \t");
    if (n) {
      int w;
      bool kw = n > 2 && src[0] == '\'' && src[n - 1] == '\'' && strncmp(src, "'nonce-", 7) &&
                strncmp(src, "'sha", 4);
      if (kw) {
        char sym[48];
        size_t k = 0;
        for (size_t i = 1; i + 1 < n && k + 1 < sizeof sym; i++)
          sym[k++] = src[i] == '-' ? '_' : src[i];
        sym[k] = '\0';
        w = snprintf(out + o, len - o, "%s:%s", o ? ", " : "", sym);
      } else {
        w = snprintf(out + o, len - o, "%s\"%.*s\"", o ? ", " : "", (int)n, src);
      }
      if (w < 0 || (size_t)w >= len - o) break;
      o += (size_t)w;
    }
    src += n;
    while (*src == ' ' || *src == '\t') src++;
  }
}

static void csp_directive(fca_stack_kind_t k, const char *directive, char *out, size_t len) {
  char name[64], cam[64], list[512];
  const char *sources;
  split_directive(directive, name, sizeof name, &sources);
  switch (k) {
  case FCA_STACK_HELMET:
    camel(name, cam, sizeof cam);
    quoted_list(sources, '"', list, sizeof list);
    snprintf(out, len, "helmet({ contentSecurityPolicy: { directives: { %s: [%s] } } })", cam,
             list);
    break;
  case FCA_STACK_DJANGO: {
    char up[64];
    size_t i = 0;
    for (; name[i] && i + 1 < sizeof up; i++)
      up[i] =
          name[i] == '-' ? '_' : (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
    up[i] = '\0';
    quoted_list(sources, '"', list, sizeof list);
    snprintf(out, len,
             "settings.py: CSP_%s = (%s%s) with django-csp, or \"%s\" in "
             "SECURE_CSP's directives (Django 6)",
             up, list, strchr(list, ',') ? "" : ",", name);
    break;
  }
  case FCA_STACK_RAILS: {
    char sym[64];
    snprintf(sym, sizeof sym, "%s", name);
    for (char *c = sym; *c; c++)
      if (*c == '-') *c = '_';
    rails_list(sources, list, sizeof list);
    snprintf(out, len,
             "config/initializers/content_security_policy.rb: policy.%s %s "
             "(Rails.application.configure { config.content_security_policy do |policy| ... })",
             sym, list);
    break;
  }
  default: {
    char v[640];
    snprintf(v, sizeof v, "... %s; ...", directive);
    set_header(k, "Content-Security-Policy", v, out, len);
    break;
  }
  }
}

bool fca_stack_fix(fca_stack_kind_t k, fca_fix_topic_t topic, const char *value, char *out,
                   size_t len) {
  if (!len) return false;
  out[0] = '\0';
  if (k == FCA_STACK_NONE) return false;
  switch (topic) {
  case FCA_FIX_COOP:
    if (k == FCA_STACK_HELMET)
      snprintf(out, len,
               "helmet({ crossOriginOpenerPolicy: { policy: \"same-origin-allow-popups\" } })");
    else if (k == FCA_STACK_DJANGO)
      snprintf(out, len,
               "settings.py: SECURE_CROSS_ORIGIN_OPENER_POLICY = \"same-origin-allow-popups\"");
    else
      set_header(k, "Cross-Origin-Opener-Policy", "same-origin-allow-popups", out, len);
    break;
  case FCA_FIX_COOP_RO:
    set_header(k, "Cross-Origin-Opener-Policy-Report-Only", "same-origin-allow-popups", out, len);
    break;
  case FCA_FIX_REFERRER:
    if (k == FCA_STACK_HELMET)
      snprintf(out, len,
               "helmet({ referrerPolicy: { policy: \"strict-origin-when-cross-origin\" } })");
    else if (k == FCA_STACK_DJANGO)
      snprintf(out, len,
               "settings.py: SECURE_REFERRER_POLICY = \"strict-origin-when-cross-origin\"");
    else
      set_header(k, "Referrer-Policy", "strict-origin-when-cross-origin", out, len);
    break;
  case FCA_FIX_CSP_SANDBOX: {
    const char *tokens = value && *value ? value
                                         : "allow-scripts allow-same-origin allow-popups "
                                           "allow-popups-to-escape-sandbox";
    char d[256];
    snprintf(d, sizeof d, "sandbox %s", tokens);
    csp_directive(k, d, out, len);
    break;
  }
  case FCA_FIX_COEP:
    if (k == FCA_STACK_HELMET)
      snprintf(out, len, "helmet({ crossOriginEmbedderPolicy: false })");
    else if (k == FCA_STACK_DJANGO)
      snprintf(out, len,
               "remove the middleware (or view) that sets Cross-Origin-Embedder-Policy for this "
               "page: Django itself does not send it");
    else
      set_header(k, "Cross-Origin-Embedder-Policy", NULL, out, len);
    break;
  case FCA_FIX_CSP_DIRECTIVE:
    if (!value || !*value) return false;
    csp_directive(k, value, out, len);
    break;
  }
  return out[0] != '\0';
}
