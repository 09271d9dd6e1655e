/* A watched cgroup's kept-open directories (one per hierarchy it exists
 * in) and files, each opened on first use and read with pread from then
 * on: the sampling hot path makes no open() and no libcgroup call. A file
 * is looked for in v2 first, then in its v1 controller; which one was
 * found is kept, since their formats differ. */
#pragma once

#include <stdint.h>

#include "cgroupfs.h"

enum cgroup_file {
        CGF_MEMORY_USAGE,       /* memory.current | memory.usage_in_bytes */
        CGF_MEMORY_STAT,        /* memory.stat, both */
        CGF_MEMORY_OOM,         /* memory.events | memory.oom_control: oom_kill */
        CGF_CPU_USAGE,          /* cpuacct.usage (ns) | cpu.stat usage_usec */
        CGF_CPU_STAT,           /* cpu.stat: nr_periods, nr_throttled */
        CGF_PIDS_CURRENT,
        CGF_PROCS,              /* cgroup.procs: who is in it */
        CGF_PSI_CPU, CGF_PSI_MEMORY, CGF_PSI_IO,
        _CGF_MAX,
};

struct cgroup_handle {
        struct cgroup_paths paths;
        int dir[_CG_HIER_MAX];          /* -1 where the cgroup does not exist */
        int file[_CGF_MAX];             /* -1 not opened yet, -2 absent */
        enum cgroup_hier file_hier[_CGF_MAX];
        uint64_t id;                    /* from its directories' inodes */
};

/* Opens the directories of `paths` (taken over, also on failure). -ENOENT
 * if the cgroup exists in no hierarchy. */
int cgroup_handle_open(const struct cgroup_mounts *m, struct cgroup_paths *paths, struct cgroup_handle *ret);
void cgroup_handle_close(struct cgroup_handle *h);
/* Reads `f` whole into buf; *ret_hier says where it was found. -ENOENT if
 * this cgroup has no such file; -ENODEV once the cgroup was removed. */
int cgroup_handle_read(struct cgroup_handle *h, enum cgroup_file f, char *buf, size_t size,
                       enum cgroup_hier *ret_hier);
/* Whether the cgroup still exists: every live cgroup has cgroup.procs,
 * and a removed one's kept-open directory has nothing. */
bool cgroup_handle_exists(const struct cgroup_handle *h);
/* The directory fd to open a file of `f`'s kind in (for PSI triggers);
 * -ENOENT where there is none. */
int cgroup_handle_path_fd(const struct cgroup_handle *h, enum cgroup_file f, int *ret_dir_fd,
                          const char **ret_name);
