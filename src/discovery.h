/* Process discovery: which processes rules select. A scan lists /proc,
 * works out run mode's tree (the command and its descendants), asks the
 * rules about each process not yet watched, and reports the ones some rule
 * wants. A process no rule wanted is remembered in the seen cache and not
 * asked about again while it keeps its identity and name (an exec changes
 * the name). `-p` PIDs go through the same matching. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "match.h"
#include "proc.h"
#include "rules.h"

/* One process as a scan lists it. */
struct scanned {
        pid_t pid, ppid;
        uint64_t starttime;
        char comm[16];
        bool can_be_target;     /* see proc_stat_can_be_target; kept in the list for the tree */
        /* In a ptrace stop: a debugger's, or a core's snapshot that never
         * runs (it has its process's name). Looked at once it runs. */
        bool traced_stop;
};

/* A process no rule wanted at the last scan. Its cmdline and uid can still
 * change without an exec (a title set after start, as PostgreSQL and nginx
 * workers do; a setuid): where a rule matches on them, it is asked again
 * after `wait` more scans, the wait doubling up to SEEN_WAIT_MAX. */
struct seen {
        pid_t pid;
        uint64_t starttime;
        char comm[16];
        unsigned short wait, backoff;
};

#define SEEN_WAIT_MAX 32

struct seen_cache {
        struct seen *items;     /* sorted by pid */
        size_t n;
};

/* The entry of `s` if it was seen with the same identity and name. */
const struct seen *seen_cache_find(const struct seen_cache *c, const struct scanned *s);

struct discovery_hooks {
        /* Already a target: not reported again. */
        bool (*is_known)(pid_t pid, void *userdata);
        /* A target, even while a reload asks the new rules about it: one
         * in a ptrace stop (a collector holds it) is found again all the
         * same, where a new process in one is not (a core's snapshot). */
        bool (*is_target)(pid_t pid, void *userdata);
        /* One of our collectors: neither it nor its descendants are
         * targets, nor part of the command's tree. */
        bool (*is_collector)(pid_t pid, void *userdata);
        /* Some rules want this process: `rules` (n of them) apply. */
        void (*found)(const struct proc_facts *f, uint64_t starttime, const struct rule **rules, size_t n,
                      void *userdata);
        void *userdata;
};

struct discovery {
        const struct proc_root *proc;
        enum watch_mode mode;
        const struct rule_set *rules;
        pid_t self;             /* autodump itself: never a target */
        pid_t command;          /* run mode: the command; 0 before it runs */
        struct discovery_hooks hooks;
        struct seen_cache seen;
};

/* Run mode: whether `pid` descends from `self` through `command` (or was
 * reparented to `self` as subreaper), and not through a collector. `all`
 * is sorted by pid. */
bool process_tree_contains(const struct scanned *all, size_t n, pid_t pid, pid_t self, pid_t command,
                           const struct discovery_hooks *hooks);

int discovery_scan(struct discovery *d);
/* A -p PID: -ESRCH if there is no such process (or a zombie), -EPERM for
 * a kernel thread, -ENOENT if no rule applies to it; else `found` was
 * called. */
int discovery_add_listed(struct discovery *d, pid_t pid);
/* One process the kernel said started, exec'd or was renamed
 * (proc_events.h), asked about as a scan would, at once: 1 if some rule
 * wanted it (or it is watched already), 0 if none did, -ESRCH if it is
 * gone. */
int discovery_check(struct discovery *d, pid_t pid);
/* Whether a rule matches on what a process may change without an exec
 * (its title, its user): then a process no rule wanted is asked again. */
bool discovery_details_can_change(const struct discovery *d);
void discovery_done(struct discovery *d);
