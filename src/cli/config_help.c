/* config_help: renders the option table for people: the --help text, the roff OPTIONS section
 * of man/fcaudit.1 and the Markdown option tables of README.md. The docs embed this output
 * verbatim and a unit test compares them, so every description exists once, in
 * src/cli/config.c. */
#include "fcaudit/config.h"

#include <stdio.h>
#include <string.h>

static void put_roff(FILE *out, const char *s) {
  for (; *s; s++) {
    if (*s == '-')
      fputs("\\-", out);
    else if (*s == '\\')
      fputs("\\e", out);
    else
      fputc(*s, out);
  }
}

static void put_md(FILE *out, const char *s) {
  for (; *s; s++) {
    if (*s == '|')
      fputs("\\|", out);
    else
      fputc(*s, out);
  }
}

/* Writes s word-wrapped: the cursor is at column indent, lines end before column width. */
static void put_wrapped(FILE *out, const char *s, int indent, int width) {
  int col = indent;
  while (*s) {
    const char *e = strchr(s, ' ');
    int wl = e ? (int)(e - s) : (int)strlen(s);
    if (col > indent && col + 1 + wl > width) {
      fprintf(out, "\n%*s", indent, "");
      col = indent;
    } else if (col > indent) {
      fputc(' ', out);
      col++;
    }
    fprintf(out, "%.*s", wl, s);
    col += wl;
    s += wl;
    while (*s == ' ') s++;
  }
  fputc('\n', out);
}

static void heading(FILE *out, fca_config_fmt_t fmt, const char *group) {
  if (fmt == FCA_CONFIG_FMT_HELP)
    fprintf(out, "\n%s:\n", group);
  else if (fmt == FCA_CONFIG_FMT_MAN)
    fprintf(out, ".SS %s\n", group);
  else
    fprintf(out, "\n### %s\n\n| Option | Description | Default |\n|---|---|---|\n", group);
}

static void one(FILE *out, fca_config_fmt_t fmt, const fca_config_option_info_t *o) {
  char text[300];
  snprintf(text, sizeof text, "%s%s", o->help, o->repeatable ? " (repeatable)" : "");
  const char *mv = o->metavar;
  if (fmt == FCA_CONFIG_FMT_HELP) {
    char left[64], full[450];
    snprintf(left, sizeof left, "--%s%s%s", o->name, mv ? " " : "", mv ? mv : "");
    snprintf(full, sizeof full, "%s%s%s%s", text, o->def ? " [" : "", o->def ? o->def : "",
             o->def ? "]" : "");
    if (strlen(left) > 28)
      fprintf(out, "  %s\n%31s", left, "");
    else
      fprintf(out, "  %-28s ", left);
    put_wrapped(out, full, 31, 100);
  } else if (fmt == FCA_CONFIG_FMT_MAN) {
    fputs(".TP\n.B \\-\\-", out);
    put_roff(out, o->name);
    if (mv) {
      fputs(" \\fI", out);
      put_roff(out, mv);
      fputs("\\fR", out);
    }
    fputc('\n', out);
    put_roff(out, text);
    if (o->def) {
      fputs(" [", out);
      put_roff(out, o->def);
      fputc(']', out);
    }
    fputc('\n', out);
  } else {
    fprintf(out, "| `--%s%s", o->name, mv ? " " : "");
    if (mv) put_md(out, mv);
    fputs("` | ", out);
    put_md(out, text);
    fputs(" | ", out);
    if (o->def) {
      fputc('`', out);
      put_md(out, o->def);
      fputc('`', out);
    }
    fputs(" |\n", out);
  }
}

void fca_config_print_options(void *stream, fca_config_fmt_t fmt) {
  FILE *out = stream;
  const char *group = NULL;
  fca_config_option_info_t o;
  for (size_t i = 0; fca_config_option_info(i, &o) == 0; i++) {
    if (!group || strcmp(group, o.group) != 0) heading(out, fmt, group = o.group);
    one(out, fmt, &o);
  }
}

void fca_config_print_help(void *stream, const char *progname) {
  FILE *out = stream;
  const char *p = progname && *progname ? progname : "fcaudit";
  fprintf(
      out,
      "%s - an auditing HTTP(S) proxy for Stripe Financial Connections deployments\n\n"
      "usage: %s [options]                             run the proxy\n"
      "       %s ca init|show|export [--der]|spki|path manage the interception CA\n"
      "       %s run [options] -- CMD [ARGS...]        run CMD through the proxy\n"
      "       %s report [options] [--run ID] EVENTS.ndjson\n"
      "                                                 summary and reports for a run in a log\n"
      "       %s audit [options] FILE.har...           audit HAR files offline (no proxy)\n"
      "       %s tail [-n N] [--level L] [--rule GLOB] [--url GLOB] [--run ID] [--json]\n"
      "               [--color WHEN] [--no-follow] [FILE]\n"
      "                                                 follow an event log (default: --log)\n\n"
      "Options are --name VALUE or --name=VALUE; switches take no value. TIME: 250ms, 30s,\n"
      "2m, 1h (a bare number is seconds). SIZE: 4096, 64k, 16M, 1G. Defaults in [brackets].\n",
      p, p, p, p, p, p, p);
  fca_config_print_options(out, FCA_CONFIG_FMT_HELP);
  fprintf(out,
          "\nExit status: 0 ok, 1 findings at or above --fail-on, 2 the command of `run` failed,\n"
          "3 %s could not run.\n",
          p);
}
