/* commands: the subcommands of fcaudit (ca, run, report, tail, browse) in one table: their
 * synopsis, what they do, and their own options. The command line is read once, by
 * fca_commands_parse: options of fcaudit (the config table) and of the subcommand may come
 * before or after the subcommand word; `--` ends the options. `--help` after a subcommand is
 * that subcommand's help. A mistyped subcommand or option gets the closest name suggested.
 * README.md and man/fcaudit.1 embed the generated command reference (a unit test compares). */
#ifndef FCAUDIT_COMMANDS_H
#define FCAUDIT_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "fcaudit/config.h"

typedef struct {
  const char *name;    /* long name without dashes */
  char short_name;     /* one letter or 0 */
  const char *metavar; /* NULL for a switch */
  const char *help;    /* one line */
} fca_cmd_opt_t;

typedef struct {
  const char *name;          /* "ca"; NULL for the proxy itself */
  const char *synopsis;      /* after "fcaudit NAME " */
  const char *summary;       /* one line, for the command list */
  const char *details;       /* a few sentences for NAME --help */
  bool proxy_options;        /* the options of fcaudit --help apply too */
  const fca_cmd_opt_t *opts; /* terminated by {NULL} */
} fca_command_t;

size_t fca_commands_count(void);
const fca_command_t *fca_command_get(size_t i);
const fca_command_t *fca_command_find(const char *name);

/* The command line, split. */
typedef struct {
  const fca_command_t *cmd; /* NULL: run the proxy */
  bool help, version;
  /* argv[0] = the command's name, then its own options (each "--name" or "--name=value" or
   * "-n" with its value) and its words, in the order given; NULL-terminated. */
  char **sub_argv;
  int sub_argc;
  char **rest; /* after "--" (CMD of run), NULL-terminated; NULL when there was no "--" */
  /* The fcaudit options given, argv[0] first (for fca_config_parse_args). */
  char **global_argv;
  int global_argc;
} fca_cmdline_t;

/* Splits argv and applies the fcaudit options to cfg (fca_config_parse_args). Returns 0, or -1
 * with a one-line message in err (unknown command or option, with the closest name). */
int fca_commands_parse(fca_cmdline_t *cl, fca_config_t *cfg, int argc, char **argv, char *err,
                       size_t errlen);
void fca_cmdline_free(fca_cmdline_t *cl);

/* `fcaudit NAME --help`: usage, what it does, its options. */
void fca_command_print_help(FILE *f, const fca_command_t *c);
/* The command list of `fcaudit --help` (one synopsis per line). */
void fca_commands_print_synopsis(FILE *f);

/* The command reference embedded in the docs: FCA_CONFIG_FMT_MAN (roff) or
 * FCA_CONFIG_FMT_MARKDOWN. */
void fca_commands_print_reference(FILE *f, fca_config_fmt_t fmt);

#endif
