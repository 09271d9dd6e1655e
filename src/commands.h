/* The subcommands that look: sample (sample_command.c; it may record
 * what it sees), list, show. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util.h"

/* Prints what rules would see for each PID and each cgroup (a path from
 * the hierarchies' root), every `interval`, `count` times (0: until they
 * are all gone). Returns an exit code. */
int sample_command(const pid_t *pids, size_t n_pids, char *const *cgroups, size_t n_cgroups, usec_t interval,
                   unsigned count, bool json, const char *record);
/* Adds to *pids (n of them) the processes called `comm`. */
int sample_select_comm(const char *comm, pid_t **pids, size_t *n);
/* Adds what rule `name` of `rules` would watch now: its processes to
 * *pids, or its cgroups' paths (allocated) to *cgroups. -ENOENT: no such
 * rule; -EINVAL: it selects no process by itself (no target). */
struct rule_set;
int sample_select_rule(const struct rule_set *rules, const char *name, pid_t **pids, size_t *n, char ***cgroups,
                       size_t *n_cgroups);
/* What `list` shows: artifacts taken since a time, of a rule, of a target
 * (a comm or a PID); NULL or 0: any. */
struct list_filter {
        usec_t since;                   /* wall */
        const char *rule;
        const char *target;
};
/* The artifacts, oldest first, and a summary line: how many, their size on
 * disk, the oldest. */
int list_artifacts(const char *output, const struct list_filter *filter, bool json);
/* One artifact: what fired and why, the history that led to it as a
 * sparkline against the threshold, each action, and the files. */
int show_artifact(const char *output, const char *id);
/* Whether every action of the artifact at `path` ended ok. */
bool artifact_all_ok(const char *path);
