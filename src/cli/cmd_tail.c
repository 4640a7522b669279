/* cmd_tail: `fcaudit tail [FILE]` follows an NDJSON event log the way `tail -F` does: it waits
 * for the file to appear, reads what is appended, and survives rotation (the path now names
 * another file: the old one is read to its end first, then the new one from its start) and
 * truncation (the file got shorter: read again from the start). Only whole lines are shown; a
 * line still being written waits for its '\n'. Polling (every 100 ms) rather than inotify keeps
 * it working on every file system, including bind mounts and network shares. */
#include "cmd_tail.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fcaudit/console.h"
#include "fcaudit/exit.h"
#include "fcaudit/tailfmt.h"
#include "fcaudit/util.h"

#ifndef FCA_TAIL_POLL_MS
#define FCA_TAIL_POLL_MS 100
#endif
/* A line longer than this is not an event (the sink never writes one): it is skipped. */
#ifndef FCA_TAIL_LINE_MAX
#define FCA_TAIL_LINE_MAX (4u * 1024 * 1024)
#endif

typedef struct {
  const char *path;
  int fd;
  dev_t dev;
  ino_t ino;
  off_t off;
  char *part; /* bytes of a line not yet ended */
  size_t plen, pcap;
  bool skipping; /* inside an over-long line */
  /* output */
  fca_tail_filter_t flt;
  bool json, color;
  FILE *out;
  /* -n: before the first follow, only the last `keep` shown lines are printed */
  bool backlog;
  char **ring;
  size_t keep, rhead, rcount;
} tail_t;

static void emit(tail_t *t, const char *line, size_t len) {
  char buf[FCA_CONSOLE_LINE_MAX];
  const char *text = NULL;
  size_t tlen = 0;
  json_t *o = json_loadb(line, len, 0, NULL);
  bool filtered = t->flt.min_level > FCA_LEVEL_INFO || t->flt.rule || t->flt.url || t->flt.run;
  if (!o || !json_is_object(o)) {
    json_decref(o);
    if (t->json && !filtered) {
      text = line, tlen = len; /* raw pass-through keeps what it cannot read */
    } else {
      fprintf(stderr, "fcaudit tail: %s: skipping a line that is not an event\n", t->path);
      return;
    }
  } else {
    if (!fca_tailfmt_match(&t->flt, o)) {
      json_decref(o);
      return;
    }
    if (t->json) {
      text = line, tlen = len;
    } else {
      tlen = fca_tailfmt_line(o, buf, sizeof buf, t->color);
      text = buf;
    }
  }
  if (tlen == 0) {
    json_decref(o);
    return;
  }
  if (t->backlog) {
    if (t->keep) {
      char *copy = fca_xmalloc(tlen + 2);
      memcpy(copy, text, tlen);
      if (t->json) copy[tlen++] = '\n';
      copy[tlen] = '\0';
      size_t slot = (t->rhead + t->rcount) % t->keep;
      if (t->rcount == t->keep) {
        free(t->ring[t->rhead]);
        t->rhead = (t->rhead + 1) % t->keep;
        t->rcount--;
        slot = (t->rhead + t->rcount) % t->keep;
      }
      t->ring[slot] = copy;
      t->rcount++;
    }
  } else {
    fwrite(text, 1, tlen, t->out);
    if (t->json) fputc('\n', t->out);
  }
  json_decref(o);
}

static void flush_backlog(tail_t *t) {
  for (size_t i = 0; i < t->rcount; i++) {
    char **s = &t->ring[(t->rhead + i) % t->keep];
    fputs(*s, t->out);
    free(*s);
    *s = NULL;
  }
  t->rcount = t->rhead = 0;
  t->backlog = false;
}

/* Splits new bytes into lines; keeps the unfinished tail. */
static void feed(tail_t *t, const char *buf, size_t n) {
  while (n) {
    const char *nl = memchr(buf, '\n', n);
    size_t take = nl ? (size_t)(nl - buf) : n;
    if (!t->skipping) {
      if (t->plen + take > FCA_TAIL_LINE_MAX) {
        fprintf(stderr, "fcaudit tail: %s: skipping a line over %u bytes\n", t->path,
                FCA_TAIL_LINE_MAX);
        t->skipping = true;
        t->plen = 0;
      } else {
        if (t->plen + take > t->pcap) {
          t->pcap = (t->plen + take) * 2;
          t->part = fca_xrealloc(t->part, t->pcap);
        }
        memcpy(t->part + t->plen, buf, take);
        t->plen += take;
      }
    }
    if (!nl) return;
    if (!t->skipping && t->plen) {
      size_t l = t->plen;
      if (t->part[l - 1] == '\r') l--;
      emit(t, t->part, l);
    }
    t->plen = 0;
    t->skipping = false;
    buf = nl + 1;
    n -= take + 1;
  }
}

static void drain(tail_t *t) {
  char buf[65536];
  for (;;) {
    ssize_t r = read(t->fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    t->off += r;
    feed(t, buf, (size_t)r);
  }
}

static bool try_open(tail_t *t) {
  int fd = open(t->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return false;
  }
  t->fd = fd;
  t->dev = st.st_dev;
  t->ino = st.st_ino;
  t->off = 0;
  t->plen = 0;
  t->skipping = false;
  return true;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* One round: read what is new, then look for truncation and rotation. */
static void poll_once(tail_t *t) {
  if (t->fd < 0) {
    if (!try_open(t)) return;
  }
  drain(t);
  struct stat st;
  if (fstat(t->fd, &st) == 0 && st.st_size < t->off) {
    fprintf(stderr, "fcaudit tail: %s: file truncated; reading it from the start\n", t->path);
    lseek(t->fd, 0, SEEK_SET);
    t->off = 0;
    t->plen = 0;
    drain(t);
  }
  if (stat(t->path, &st) == 0 && (st.st_dev != t->dev || st.st_ino != t->ino)) {
    drain(t); /* the rotated file's last lines come first */
    if (t->plen)
      fprintf(stderr, "fcaudit tail: %s: rotated file ended inside a line; dropped it\n", t->path);
    close(t->fd);
    t->fd = -1;
    fprintf(stderr, "fcaudit tail: %s: file replaced; following the new one\n", t->path);
    if (try_open(t)) drain(t);
  }
}

static void usage(FILE *f) {
  fputs("usage: fcaudit tail [-n N] [--level LEVEL] [--rule GLOB] [--url GLOB] [--run ID]\n"
        "                    [--json] [--color auto|always|never] [--no-follow] [FILE]\n"
        "       fcaudit tail --redis URL [--instance NAME] [same options]\n"
        "Follows an NDJSON event log (default: the --log file) like tail -F, or with --redis\n"
        "the Redis stream every instance ships to, and prints one line per event.\n"
        "  --redis URL      redis://[USER:PASS@]HOST:PORT[/DB][?stream=NAME]: all instances,\n"
        "                   each event once, lines prefixed with [instance]\n"
        "  --instance NAME  with --redis: only this instance's events\n"
        "  -n, --lines N    first show the last N events already in the file (default 10)\n"
        "  --level LEVEL    only violations at or above LEVEL (info, warning, error);\n"
        "                   other events count as info\n"
        "  --rule GLOB      only violations of matching rules (e.g. 'FC-SBX-*')\n"
        "  --url GLOB       only events whose page or evidence URL matches\n"
        "  --run ID         only events of this run\n"
        "  --json           print the log lines as they are (for jq)\n"
        "  --no-follow      print and exit instead of waiting for more\n",
        f);
}

int fca_cmd_tail_main(const fca_config_t *cfg, int argc, char **argv) {
  static const struct option opts[] = {
      {"lines", required_argument, NULL, 'n'}, {"level", required_argument, NULL, 'l'},
      {"rule", required_argument, NULL, 'r'},  {"url", required_argument, NULL, 'u'},
      {"run", required_argument, NULL, 'R'},   {"json", no_argument, NULL, 'j'},
      {"color", required_argument, NULL, 'c'}, {"no-follow", no_argument, NULL, 'F'},
      {"redis", required_argument, NULL, 'X'}, {"instance", required_argument, NULL, 'I'},
      {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
  };
  tail_t t = {.fd = -1, .out = stdout, .keep = 10, .backlog = true};
  t.flt.min_level = FCA_LEVEL_INFO;
  fca_color_mode_t cm = FCA_COLOR_AUTO;
  bool follow = true;
  const char *redis = NULL, *instance = NULL;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "+n:h", opts, NULL)) != -1) {
    char *end;
    switch (c) {
    case 'n': {
      errno = 0;
      unsigned long long v = strtoull(optarg, &end, 10);
      if (errno || *end || !*optarg || optarg[0] == '-' || v > 1000000) {
        fprintf(stderr, "fcaudit tail: -n: expected a number of events, got '%s'\n", optarg);
        return FCA_EXIT_FATAL;
      }
      t.keep = (size_t)v;
      break;
    }
    case 'l':
      if (fca_level_parse(optarg, &t.flt.min_level) < 0 || t.flt.min_level == FCA_LEVEL_IGNORE) {
        fprintf(stderr, "fcaudit tail: --level: expected info, warning or error\n");
        return FCA_EXIT_FATAL;
      }
      break;
    case 'r': t.flt.rule = optarg; break;
    case 'u': t.flt.url = optarg; break;
    case 'R': t.flt.run = optarg; break;
    case 'j': t.json = true; break;
    case 'X': redis = optarg; break;
    case 'I': instance = optarg; break;
    case 'F': follow = false; break;
    case 'c':
      if (strcmp(optarg, "auto") == 0)
        cm = FCA_COLOR_AUTO;
      else if (strcmp(optarg, "always") == 0)
        cm = FCA_COLOR_ALWAYS;
      else if (strcmp(optarg, "never") == 0)
        cm = FCA_COLOR_NEVER;
      else {
        fprintf(stderr, "fcaudit tail: --color: expected auto, always or never\n");
        return FCA_EXIT_FATAL;
      }
      break;
    case 'h': usage(stdout); return 0;
    default: usage(stderr); return FCA_EXIT_FATAL;
    }
  }
  if (argc - optind > 1 || (redis && argc - optind > 0)) {
    usage(stderr);
    return FCA_EXIT_FATAL;
  }
  if (instance && !redis) {
    fprintf(stderr, "fcaudit tail: --instance needs --redis URL (a local log has one instance)\n");
    return FCA_EXIT_FATAL;
  }
  if (redis) {
    fca_cmd_tail_redis_opts_t ro = {.url = redis,
                                    .instance = instance,
                                    .flt = t.flt,
                                    .keep = t.keep,
                                    .json = t.json,
                                    .color = !t.json && fca_console_use_color(stdout, cm),
                                    .follow = follow};
    return fca_cmd_tail_redis(&ro);
  }
  t.path = optind < argc ? argv[optind] : cfg->log;
  if (!t.path) {
    fprintf(stderr, "fcaudit tail: no file to follow (give FILE or --log)\n");
    return FCA_EXIT_FATAL;
  }
  t.color = !t.json && fca_console_use_color(stdout, cm);
  if (t.keep) t.ring = fca_xcalloc(t.keep, sizeof *t.ring);

  /* Backlog: what the file holds now; its last `keep` events are shown first. */
  if (try_open(&t))
    drain(&t);
  else if (!follow) {
    fprintf(stderr, "fcaudit tail: cannot open %s: %s\n", t.path, strerror(errno));
    free(t.ring);
    return FCA_EXIT_FATAL;
  } else {
    fprintf(stderr, "fcaudit tail: waiting for %s to appear\n", t.path);
  }
  flush_backlog(&t);
  fflush(t.out);
  while (follow) {
    sleep_ms(FCA_TAIL_POLL_MS);
    poll_once(&t);
    if (fflush(t.out) != 0 || ferror(t.out)) break; /* reader gone (e.g. a closed pipe) */
  }
  if (t.fd >= 0) close(t.fd);
  free(t.part);
  free(t.ring);
  return 0;
}
