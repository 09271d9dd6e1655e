/* Watched processes. A target is one process identity (pid, start time);
 * a restarted process is a new target with fresh rings and limits. Each
 * target carries the state of every rule that applies to it. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "engine.h"
#include "proc.h"
#include "rules.h"
#include "sampler.h"

struct rule_state {
        const struct rule *rule;
        struct engine_state engine;
        struct cpu_rate cpu;    /* cpu is over this rule's own interval */
        usec_t next_due;        /* monotonic; 0 = at the next tick */
};

struct target {
        pid_t pid;
        uint64_t starttime;
        char comm[16];
        bool self;              /* run mode: part of the command's tree */
        int pidfd;              /* readable when the process exits */
        struct proc_handle proc;
        double nofile_limit;    /* RLIMIT_NOFILE soft limit, the reference of fds */
        struct rule_state *rules;
        size_t n_rules;
        pid_t collector;        /* the running collection, or 0 */
        bool stopped_at_firing; /* state T before autodump touched it */
        struct target *next;    /* hash chain */
};

struct target_table {
        struct target **buckets;
        size_t n_buckets;
        size_t count;
};

int target_table_init(struct target_table *t, size_t buckets);
void target_table_free(struct target_table *t);
struct target *target_find(const struct target_table *t, pid_t pid);
void target_insert(struct target_table *t, struct target *tg);
void target_remove(struct target_table *t, struct target *tg);
/* Calls fn on every target; fn may remove the target it is given. */
void target_foreach(struct target_table *t, void (*fn)(struct target *, void *), void *userdata);

/* Opens PID (checked against `starttime`, 0 = any) as a target of the
 * given rules. -ESRCH if it is gone or was recycled. */
int target_new(const struct proc_root *root, pid_t pid, uint64_t starttime,
               const struct rule **rules, size_t n_rules, struct target **ret);
void target_free(struct target *tg);
