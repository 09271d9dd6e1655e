/* Which cgroups rules watch: a rule's `cgroup: PATH` (with `recursive`,
 * every cgroup below it too) or `unit: NAME` (its cgroup, found without
 * D-Bus under /system.slice or a user's slice), resolved at every scan so
 * a cgroup that appears later, or a unit that restarts into a new cgroup,
 * is picked up; and the cgroup a process is in. */
#pragma once

#include <stdbool.h>

#include "cgroupfs.h"
#include "proc.h"
#include "rules.h"

struct cgroup_discovery {
        const struct cgroup_mounts *mounts;
        const struct rule_set *rules;
        /* A cgroup some rules name: `rules` (n) apply; `paths` may be taken
         * over (else it is freed after the call). */
        void (*found)(struct cgroup_paths *paths, uint64_t id, const struct rule **rules, size_t n, void *userdata);
        void *userdata;
        bool *warned;           /* per rule: "does not exist (yet)" was said */
};

int cgroup_discovery_scan(struct cgroup_discovery *d);
void cgroup_discovery_done(struct cgroup_discovery *d);

/* The identity a cgroup target of `paths` would have now (as
 * cgroup_handle_open computes it), without opening anything. -ENOENT if it
 * exists nowhere. */
int cgroup_paths_id(const struct cgroup_mounts *m, const struct cgroup_paths *p, uint64_t *ret);

/* The cgroup PID is in. */
int cgroup_of_process(const struct proc_root *proc, pid_t pid, struct cgroup_paths *ret);
