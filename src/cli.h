/* The command line's shared parts: the options subcommands have in common,
 * usage errors, where artifacts go. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "util.h"

#define EXIT_USAGE 2

struct common {
        const char *config_path;
        const char **rule_paths;
        size_t n_rule_paths;
        const char *output;
        bool dry_run;
        const char *record;             /* --record DB */
        bool json;
        int verbosity;                  /* -v: +1 (debug), -q: -1 (warnings and errors only) */
        pid_t *pids;
        size_t n_pids;
        char **cgroups;
        size_t n_cgroups;
        usec_t interval;
        unsigned count;
        /* sample: the processes of this name, or what this rule watches;
         * list: the artifacts of this rule (and target), since then */
        const char *comm, *rule, *target, *since;
        const char *from, *to;          /* replay: the span */
        const char *replay;             /* report --replay RULES */
        /* run: PID 1's options, as tini's (also from AUTODUMP_* variables) */
        bool run;                       /* -p is then a signal, not a PID */
        bool kill_group;                /* -g */
        int *expect_exit;               /* -e, repeatable */
        size_t n_expect_exit;
        int parent_death_signal;        /* -p */
        /* collect: the actions' options */
        const char *compress, *filter, *via, *duration, *frequency, *dump_type;
};

enum {
        OPT_DRY_RUN = 256, OPT_RECORD, OPT_JSON, OPT_CGROUP,
        OPT_COMPRESS, OPT_FILTER, OPT_VIA, OPT_DURATION, OPT_FREQUENCY, OPT_COMM, OPT_RULE, OPT_TARGET, OPT_SINCE,
        OPT_FROM, OPT_TO, OPT_REPLAY, OPT_TYPE,
};
#define LONG(opt) (1u << ((opt) - 256))

/* Prints "autodump: MESSAGE" and the hint; returns EXIT_USAGE. */
int usage_error(const char *fmt, const char *arg);
int add_pid(struct common *c, const char *arg);
/* run: AUTODUMP_KILL_PROCESS_GROUP, AUTODUMP_SUBREAPER, AUTODUMP_EXPECT_EXIT
 * (codes separated by commas) and AUTODUMP_PDEATHSIG, for images whose
 * command line cannot change. Returns -1 after printing a usage error. */
int run_options_from_env(struct common *c);
/* Parses the options every subcommand shares; `allowed` is the getopt
 * string of the short ones this subcommand takes, `longs` a mask of the
 * long-only ones. Returns optind, or -1 after printing a usage error. */
int parse_common(int argc, char **argv, const char *allowed, unsigned longs, struct common *c);
/* -o, else $AUTODUMP_OUTPUT, else the config's output, else `fallback`. */
const char *output_dir(const struct common *c, const struct config *config, const char *fallback);

/* --since, --from, --to: a duration back from now (12h), or a UTC time
 * (2026-11-22T02:00Z). */
int parse_time_arg(const char *s, usec_t *ret);

/* `autodump collect` (collect_command.c). */
int collect_command(int argc, char **argv);
/* `autodump replay` and `autodump report` (record/commands.c). */
int replay_command(int argc, char **argv);
int report_command(int argc, char **argv);
