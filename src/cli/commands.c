/* commands: the subcommand table and the one command-line reader. An argument is, in order: "--"
 * (the rest is CMD for `run`), an option of fcaudit's config table (with its value), an option
 * of the subcommand (found so far or later: options may precede the word), or a word (the
 * subcommand, then its words). The config options go to fca_config_parse_args in one piece, so
 * --config, defaults and validation stay where they are. */
#include "commands.h"

#include <stdlib.h>
#include <string.h>

#include "fcaudit/util.h"

// clang-format off
static const fca_cmd_opt_t ca_opts[] = {
    {"force", 0, NULL, "init: replace an existing CA (it must then be trusted again)"},
    {"der", 0, NULL, "export: DER instead of PEM"},
    {NULL, 0, NULL, NULL},
};
static const fca_cmd_opt_t no_opts[] = {{NULL, 0, NULL, NULL}};
static const fca_cmd_opt_t report_opts[] = {
    {"run", 0, "ID", "the run to report (default: the latest in the log)"},
    {"redis", 0, "URL", "read the fleet's Redis stream instead of a log (docs/fleet.md)"},
    {"since", 0, "TIME", "with --redis: the runs since 2h, or since a UTC date"},
    {"release", 0, "LABEL", "with --redis: the runs with this --label"},
    {NULL, 0, NULL, NULL},
};
static const fca_cmd_opt_t tail_opts[] = {
    {"lines", 'n', "N", "first show the last N events already in the file (default 10)"},
    {"level", 0, "LEVEL", "only violations at or above LEVEL (info, warning, error)"},
    {"rule", 0, "GLOB", "only violations of matching rules (e.g. 'FC-SBX-*')"},
    {"url", 0, "GLOB", "only events whose page or evidence URL matches"},
    {"run", 0, "ID", "only events of this run"},
    {"json", 0, NULL, "print the log lines as they are (for jq)"},
    {"color", 0, "WHEN", "auto, always or never"},
    {"no-follow", 0, NULL, "print what is there and exit instead of waiting for more"},
    {"redis", 0, "URL", "follow the Redis stream every instance ships to (lines prefixed [instance])"},
    {"instance", 0, "NAME", "with --redis: only this instance's events"},
    {NULL, 0, NULL, NULL},
};
static const fca_cmd_opt_t dashboard_opts[] = {
    {"redis", 0, "URL", "the fleet's Redis stream (the instances' --sink)"},
    {NULL, 0, NULL, NULL},
};
static const fca_cmd_opt_t browse_opts[] = {
    {"proxy", 0, "HOST:PORT", "use this running fcaudit proxy instead of starting one"},
    {"browser", 0, "PATH", "the browser to launch (default: Chrome or Chromium, then Firefox)"},
    {"headless", 0, NULL, "no window: load the URLs, wait until the network is idle, close"},
    {"wait", 0, "TIME", "with --headless: wait this long instead of for an idle network"},
    {NULL, 0, NULL, NULL},
};

static const fca_command_t commands[] = {
    {"browse", "[options] [URL...]",
     "open a browser that uses the proxy",
     "Starts the proxy (or uses the one given by --proxy) and launches Chrome or Chromium (found "
     "on PATH or in the usual install locations, or --browser PATH; Firefox when it is the one "
     "found) with a fresh temporary profile that uses the proxy, trusts the fcaudit CA and skips "
     "first-run prompts. The dashboard opens in the first tab, the URLs in the next ones. Closing "
     "the browser ends the run: the summary, the reports asked for and the exit status, as with "
     "`fcaudit run`. --headless loads the URLs, waits until the network is idle (or --wait "
     "TIME), closes the browser and ends the run. The temporary profile is removed at the end.",
     true, browse_opts},
    {"audit", "[options] FILE.har...", "audit HAR files offline (no proxy)",
     "Audits HAR 1.2 files without a proxy (DevTools \"Save all as HAR with content\", "
     "Playwright recordHar, or a file written by --har): every entry is replayed through the "
     "same audit engine in startedDateTime order, with the rules, levels, reports, baseline and "
     "exit status of `fcaudit run`. Files are streamed, one entry at a time. An entry without a "
     "body gets a body-missing note saying what could not be judged. A malformed or truncated "
     "file stops with an error naming the entry; the findings of the entries before it are still "
     "reported, and the exit status is 3. \"-\" reads standard input. docs/har.md tells how to "
     "export a HAR.",
     true, no_opts},
    {"ca", "init|show|export|spki|path [--force] [--der]", "manage the interception CA",
     "init creates the CA in --ca-dir if there is none (--force replaces it); show prints its "
     "subject, validity and fingerprints; export writes the certificate to stdout (PEM, or DER "
     "with --der); spki prints the base64 SHA-256 key hash Chromium's "
     "--ignore-certificate-errors-spki-list takes; path prints the certificate's path.",
     true, ca_opts},
    {"dashboard", "--redis URL [--admin ADDR:PORT] [options]", "the dashboard of a whole fleet",
     "Serves the dashboard for the whole fleet: every run of every instance that ships to the "
     "Redis stream (--sink), merged (scorecards per page URL), with a table of runs and "
     "instances and a live feed across them. --admin defaults to 127.0.0.1:8081. Runs until "
     "SIGINT or SIGTERM.",
     true, dashboard_opts},
    {"report", "[options] [--run ID] EVENTS.ndjson | --redis URL ...",
     "summary and reports for a run in a log",
     "Reads an event log (\"-\" is standard input), prints the summary of one run (the latest, or "
     "--run ID) and writes the reports asked for (--report-json, --junit, --sarif, "
     "--report-html, with --baseline). Exit status: 0 pass, 1 findings at or above --fail-on or "
     "too few tagged pages, 3 error.",
     true, report_opts},
    {"run", "[options] -- CMD [ARGS...]", "run CMD through the proxy",
     "Starts the proxy on a free loopback port, runs CMD with HTTP(S)_PROXY, the fcaudit CA and "
     "FCAUDIT_PROXY/FCAUDIT_SPKI in its environment, then writes the reports. Exit status: 0 "
     "pass; 1 findings at or above --fail-on (default error) or fewer tagged pages than "
     "--require-tagged; 2 CMD failed; 3 fcaudit could not run, or refused every request CMD "
     "made (nothing audited). The highest wins. With --proxy-auth the proxy URLs carry the "
     "credentials.",
     true, no_opts},
    {"tail", "[options] [FILE]", "follow an event log as readable lines",
     "Prints the last events of an NDJSON event log (default: the --log file), then follows it "
     "like tail -F: it waits for the file to appear and survives rotation and truncation. "
     "--no-follow prints what is there and exits.",
     false, tail_opts},
};
// clang-format on

#define NCOMMANDS (sizeof commands / sizeof commands[0])

size_t fca_commands_count(void) { return NCOMMANDS; }
const fca_command_t *fca_command_get(size_t i) { return i < NCOMMANDS ? &commands[i] : NULL; }

const fca_command_t *fca_command_find(const char *name) {
  for (size_t i = 0; name && i < NCOMMANDS; i++)
    if (strcmp(commands[i].name, name) == 0) return &commands[i];
  return NULL;
}

static const fca_cmd_opt_t *find_sub(const fca_command_t *c, const char *name, size_t len,
                                     char short_name) {
  for (const fca_cmd_opt_t *o = c ? c->opts : NULL; o && o->name; o++) {
    if (short_name && o->short_name == short_name) return o;
    if (!short_name && strlen(o->name) == len && strncmp(o->name, name, len) == 0) return o;
  }
  return NULL;
}

static bool is_global(const char *name, size_t len, fca_config_option_info_t *info) {
  for (size_t i = 0; fca_config_option_info(i, info) == 0; i++)
    if (strlen(info->name) == len && strncmp(info->name, name, len) == 0) return true;
  return false;
}

/* The closest known name within 2 edits: commands, or options of fcaudit and of c. */
static const char *closest(const char *name, size_t len, bool options, const fca_command_t *c) {
  const char *best = NULL;
  size_t bestd = 3;
#define TRY(s)                                                                                     \
  do {                                                                                             \
    size_t d = fca_edit_distance(name, len, (s), strlen(s), false);                                \
    if (d < bestd) bestd = d, best = (s);                                                          \
  } while (0)
  if (!options) {
    for (size_t i = 0; i < NCOMMANDS; i++) TRY(commands[i].name);
    return best;
  }
  fca_config_option_info_t info;
  for (size_t i = 0; fca_config_option_info(i, &info) == 0; i++) TRY(info.name);
  for (size_t i = 0; i < NCOMMANDS; i++) {
    if (c && c != &commands[i]) continue;
    for (const fca_cmd_opt_t *o = commands[i].opts; o->name; o++) TRY(o->name);
  }
#undef TRY
  return best;
}

static void push(char ***v, int *n, const char *s) {
  *v = fca_xrealloc(*v, (size_t)(*n + 2) * sizeof **v);
  (*v)[(*n)++] = (char *)s;
  (*v)[*n] = NULL;
}

/* Which command owns an option given before the command word (NULL: none, or several). */
static const fca_command_t *owner(const char *name, size_t len, char short_name) {
  const fca_command_t *found = NULL;
  for (size_t i = 0; i < NCOMMANDS; i++)
    if (find_sub(&commands[i], name, len, short_name)) found = found ? found : &commands[i];
  return found;
}

int fca_commands_parse(fca_cmdline_t *cl, fca_config_t *cfg, int argc, char **argv, char *err,
                       size_t errlen) {
  memset(cl, 0, sizeof *cl);
  push(&cl->global_argv, &cl->global_argc, argv[0]);
  /* Options met before the command word that are not fcaudit's: checked once it is known. */
  char **early = NULL;
  int nearly = 0;
  char **words = NULL;
  int nwords = 0;
  /* Pass 1: find the command word (option values are skipped by their option's arity). */
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) break;
    if (a[0] == '-' && a[1]) {
      const char *name = a[1] == '-' ? a + 2 : a + 1;
      size_t len = strcspn(name, "=");
      fca_config_option_info_t info;
      bool val = false;
      if (a[1] == '-' && is_global(name, len, &info))
        val = info.metavar != NULL;
      else {
        const fca_command_t *o = a[1] == '-' ? owner(name, len, 0) : owner("", 0, name[0]);
        const fca_cmd_opt_t *so = o ? find_sub(o, name, len, a[1] == '-' ? 0 : name[0]) : NULL;
        val = so && so->metavar;
        if (!so && strcmp(a, "-h") != 0 && (a[1] != '-' || strncmp(name, "help", len) != 0)) {
          /* Unknown: its value (if any) cannot be told from a command word; say so now. */
          if (a[1] == '-') {
            const char *best = closest(name, len, true, NULL);
            if (best)
              fca_seterr(err, errlen, "unknown option --%.*s (did you mean --%s?)", (int)len, name,
                         best);
            else
              fca_seterr(err, errlen, "unknown option --%.*s", (int)len, name);
          } else {
            char *one[] = {argv[0], (char *)a, NULL};
            fca_config_t tmp;
            fca_config_init(&tmp);
            if (fca_config_parse_args(&tmp, 2, one, 1, NULL, NULL, err, errlen) >= 0)
              fca_seterr(err, errlen, "unknown option %s", a);
            fca_config_free(&tmp);
          }
          return -1;
        }
      }
      if (val && !strchr(name, '=') && (a[1] == '-' || !name[1])) i++;
      continue;
    }
    cl->cmd = fca_command_find(a);
    if (!cl->cmd) {
      const char *best = closest(a, strlen(a), false, NULL);
      if (best)
        fca_seterr(err, errlen, "unknown command '%s' (did you mean %s?)", a, best);
      else
        fca_seterr(
            err, errlen,
            "unknown command '%s' (commands: audit, browse, ca, dashboard, report, run, tail)", a);
      return -1;
    }
    break;
  }
  push(&cl->sub_argv, &cl->sub_argc, cl->cmd ? cl->cmd->name : "fcaudit");
  /* Pass 2: sort every argument. */
  bool seen_word = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      cl->rest = fca_xcalloc((size_t)(argc - i), sizeof *cl->rest);
      for (int k = i + 1; k < argc; k++) cl->rest[k - i - 1] = argv[k];
      break;
    }
    if (a[0] != '-' || !a[1]) {
      if (cl->cmd && !seen_word && strcmp(a, cl->cmd->name) == 0) {
        seen_word = true;
        continue;
      }
      if (cl->cmd && strcmp(cl->cmd->name, "run") == 0) { /* CMD [ARGS...], "--" or not */
        cl->rest = fca_xcalloc((size_t)(argc - i + 1), sizeof *cl->rest);
        for (int k = i; k < argc; k++) cl->rest[k - i] = argv[k];
        break;
      }
      if (!cl->cmd) { /* unreachable: pass 1 made it the command */
        fca_seterr(err, errlen, "unexpected argument '%s'", a);
        goto fail;
      }
      push(&words, &nwords, a);
      continue;
    }
    bool dash2 = a[1] == '-';
    const char *name = dash2 ? a + 2 : a + 1;
    size_t len = strcspn(name, "=");
    bool has_eq = name[len] == '=';
    if (strcmp(a, "-h") == 0 || (dash2 && len == 4 && strncmp(name, "help", 4) == 0)) {
      cl->help = true;
      continue;
    }
    fca_config_option_info_t info;
    /* A command's own option wins over fcaudit's of the same name (tail --rule GLOB). */
    if (dash2 && !find_sub(cl->cmd, name, len, 0) && is_global(name, len, &info)) {
      push(&cl->global_argv, &cl->global_argc, a);
      if (info.metavar && !has_eq && i + 1 < argc)
        push(&cl->global_argv, &cl->global_argc, argv[++i]);
      continue;
    }
    const fca_cmd_opt_t *so = find_sub(cl->cmd, name, len, dash2 ? 0 : name[0]);
    if (!so && (!dash2 || (name[1] && !dash2))) {
      /* -x: fcaudit's parser says "options are long" with the closest long name */
      push(&cl->global_argv, &cl->global_argc, a);
      continue;
    }
    if (!so) {
      const char *best = closest(name, len, true, cl->cmd);
      const char *where = cl->cmd ? cl->cmd->name : NULL;
      if (best)
        fca_seterr(err, errlen, "unknown option %.*s%s%s%s (did you mean --%s?)",
                   (int)(len + (size_t)(name - a)), a, where ? " for `fcaudit " : "",
                   where ? where : "", where ? "`" : "", best);
      else
        fca_seterr(err, errlen, "unknown option %.*s%s%s%s", (int)(len + (size_t)(name - a)), a,
                   where ? " for `fcaudit " : "", where ? where : "", where ? "`" : "");
      if (!cl->cmd && owner(name, len, dash2 ? 0 : name[0]) && dash2)
        fca_seterr(err, errlen, "option --%.*s belongs to `fcaudit %s`", (int)len, name,
                   owner(name, len, 0)->name);
      goto fail;
    }
    push(&early, &nearly, a);
    if (so->metavar && !has_eq && (dash2 || !name[1])) {
      if (i + 1 >= argc) {
        fca_seterr(err, errlen, "option %s needs a value (%s)", a, so->metavar);
        goto fail;
      }
      push(&early, &nearly, argv[++i]);
    } else if (!so->metavar && has_eq) {
      fca_seterr(err, errlen, "option --%s takes no value", so->name);
      goto fail;
    }
  }
  for (int k = 0; k < nearly; k++) push(&cl->sub_argv, &cl->sub_argc, early[k]);
  for (int k = 0; k < nwords; k++) push(&cl->sub_argv, &cl->sub_argc, words[k]);
  free(early), free(words);
  early = words = NULL;
  /* The fcaudit options, in one go (--config, defaults, lists replacing the file's). */
  bool version = false, help = false;
  int r =
      fca_config_parse_args(cfg, cl->global_argc, cl->global_argv, 1, &help, &version, err, errlen);
  if (r < 0) return -1;
  if (r < cl->global_argc && !help && !version) {
    fca_seterr(err, errlen, "unexpected argument '%s'", cl->global_argv[r]);
    return -1;
  }
  cl->help |= help;
  cl->version = version;
  return 0;
fail:
  free(early), free(words);
  return -1;
}

void fca_cmdline_free(fca_cmdline_t *cl) {
  free(cl->sub_argv), free(cl->rest), free(cl->global_argv);
  memset(cl, 0, sizeof *cl);
}

/* Word-wraps s at width with indent after the first line. */
static void wrap(FILE *f, const char *s, int indent, int width) {
  int col = indent;
  fprintf(f, "%*s", indent, "");
  while (*s) {
    size_t wl = strcspn(s, " ");
    if (col > indent && col + 1 + (int)wl > width) {
      fprintf(f, "\n%*s", indent, "");
      col = indent;
    } else if (col > indent) {
      fputc(' ', f), col++;
    }
    fprintf(f, "%.*s", (int)wl, s);
    col += (int)wl;
    s += wl;
    while (*s == ' ') s++;
  }
  fputc('\n', f);
}

static void opt_left(char *buf, size_t n, const fca_cmd_opt_t *o) {
  if (o->short_name)
    snprintf(buf, n, "-%c, --%s%s%s", o->short_name, o->name, o->metavar ? " " : "",
             o->metavar ? o->metavar : "");
  else
    snprintf(buf, n, "--%s%s%s", o->name, o->metavar ? " " : "", o->metavar ? o->metavar : "");
}

void fca_command_print_help(FILE *f, const fca_command_t *c) {
  fprintf(f, "usage: fcaudit %s %s\n", c->name, c->synopsis);
  fprintf(f, "%s.\n\n", c->summary);
  wrap(f, c->details, 0, 100);
  if (c->opts[0].name) {
    fputs("\nOptions:\n", f);
    for (const fca_cmd_opt_t *o = c->opts; o->name; o++) {
      char left[64];
      opt_left(left, sizeof left, o);
      fprintf(f, "  %-28s %s\n", left, o->help);
    }
  }
  if (c->proxy_options)
    fprintf(f,
            "\nThe options of `fcaudit --help` apply too; options may come before or after "
            "`%s`.\n",
            c->name);
  else
    fprintf(f, "\nOptions may come before or after `%s`; --log names the default FILE.\n", c->name);
}

void fca_commands_print_synopsis(FILE *f) {
  fprintf(f, "usage: %-49s %s\n", "fcaudit [options]", "run the proxy");
  for (size_t i = 0; i < NCOMMANDS; i++) {
    char left[128];
    snprintf(left, sizeof left, "fcaudit %s %s", commands[i].name, commands[i].synopsis);
    if (strlen(left) > 49)
      fprintf(f, "       %s\n%57s%s\n", left, "", commands[i].summary);
    else
      fprintf(f, "       %-49s %s\n", left, commands[i].summary);
  }
}

static void roff(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '-')
      fputs("\\-", f);
    else if (*s == '\\')
      fputs("\\e", f);
    else
      fputc(*s, f);
  }
}

static void md(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '|')
      fputs("\\|", f);
    else
      fputc(*s, f);
  }
}

void fca_commands_print_reference(FILE *f, fca_config_fmt_t fmt) {
  if (fmt == FCA_CONFIG_FMT_MARKDOWN) {
    fputs("```\n", f);
    fca_commands_print_synopsis(f);
    fputs("```\n", f);
  }
  for (size_t i = 0; i < NCOMMANDS; i++) {
    const fca_command_t *c = &commands[i];
    if (fmt == FCA_CONFIG_FMT_MAN) {
      fputs(".TP\n.B fcaudit ", f);
      roff(f, c->name);
      fputs(" \\fR", f);
      roff(f, c->synopsis);
      fputs("\\fR\n", f);
      roff(f, c->details);
      fputc('\n', f);
      for (const fca_cmd_opt_t *o = c->opts; o->name; o++) {
        char left[64];
        opt_left(left, sizeof left, o);
        fputs(".RS\n.TP\n.B ", f);
        roff(f, left);
        fputc('\n', f);
        roff(f, o->help);
        fputs("\n.RE\n", f);
      }
    } else {
      fprintf(f, "\n**fcaudit %s** — ", c->name);
      md(f, c->details);
      fputc('\n', f);
      if (c->opts[0].name) {
        fputs("\n| Option | Description |\n|---|---|\n", f);
        for (const fca_cmd_opt_t *o = c->opts; o->name; o++) {
          char left[64];
          opt_left(left, sizeof left, o);
          fputs("| `", f);
          md(f, left);
          fputs("` | ", f);
          md(f, o->help);
          fputs(" |\n", f);
        }
      }
    }
  }
}
