/* A firing's collection: runs in a forked collector process so a long core
 * dump never delays sampling and a crash or hang cannot take the watchdog
 * down. It builds the artifact directory and keeps trigger.json valid after
 * every step, so a collector killed half-way still leaves a readable
 * record (finished by the watchdog with artifact_abandon). */
#pragma once

#include "collect/collect.h"
#include "engine.h"
#include "pick.h"
#include "ring.h"

/* A firing of a cgroup rule: the cgroup, its limits, and the processes its
 * process actions went to and why. */
struct firing_cgroup {
        const char *path;
        double memory_limit, pids_limit, cpu_quota;     /* 0: none */
        const char *why;                /* how the processes were picked */
        const struct pick *picked;      /* every process of this firing, each its own artifact */
        size_t n_picked;
};

/* A crash: the fatal signal as the kernel delivered it, or what dumped a
 * crash its program handled itself (the signal then unknown here). */
struct crash_info {
        int signo, code;                /* si_code */
        uint64_t addr;                  /* si_addr: the faulting address */
        pid_t tid;                      /* the thread it struck */
        const char *dumped_by;          /* NULL: autodump held the process */
};

struct stopped_process;

struct firing {
        const char *rule;
        const struct action *actions;
        size_t n_actions;
        const char *metric;             /* "" for a manual collection */
        const struct decision *decision; /* NULL for a manual collection */
        const struct ring *history;     /* NULL for a manual collection */
        double reference;               /* what a % threshold was of */
        const char *reference_what;     /* that in words; NULL: none */
        const struct firing_cgroup *cgroup;     /* NULL: the rule watches a process */
        pid_t pid;                      /* 0: a cgroup with no process to act on */
        uint64_t starttime;
        int pidfd;
        char comm[16];
        bool stopped_at_firing;
        usec_t wall;                    /* when it fired */
        usec_t capture_wall;            /* when its collection began: later, if it waited for a slot */
        double min_free_pct;            /* skip captures below this free space */
        const struct action *on_complete;       /* run once committed; NULL: none */
        const struct crash_info *crash;         /* an event: crash firing; NULL: none */
        const struct stopped_process *held;     /* a crash: the process as the tracer holds it */
        const struct hook_user *hook_user;      /* exec and on_complete run as it; NULL: as we run */
        const char *go_pprof;                   /* the rule's go: {pprof:}; NULL: found */
};

/* Runs the whole collection in the calling process. Returns 0 when the
 * artifact was committed (*ret_path), whatever the actions' outcomes. */
int collector_run(const struct proc_root *proc, const struct firing *f, struct artifact *a,
                  char **ret_path);
