/* The read-only subcommands: sample (sample_command.c), list, show. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util.h"

/* Prints what rules would see for each PID and each cgroup (a path from
 * the hierarchies' root), every `interval`, `count` times (0: until they
 * are all gone). Returns an exit code. */
int sample_command(const pid_t *pids, size_t n_pids, char *const *cgroups, size_t n_cgroups, usec_t interval,
                   unsigned count, bool json);
int list_artifacts(const char *output, bool json);
int show_artifact(const char *output, const char *id);
/* Whether every action of the artifact at `path` ended ok. */
bool artifact_all_ok(const char *path);
