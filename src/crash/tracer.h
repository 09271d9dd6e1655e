/* Crash capture in run mode. Inside a container core_pattern belongs to
 * the host, so a crash's core is lost; instead a tracer process of its own
 * follows the command's tree with PTRACE_SEIZE and the fork, clone and exec
 * options (never syscall stops), and when a process gets a signal that
 * would dump core and that it does not handle, captures it while every
 * thread is stopped, then lets the signal go on: the process dies exactly
 * as it would have.
 *
 * Why a process of its own: ptrace stops go to the tracer's wait, which
 * autodump's reaping as PID 1 would swallow; a crash capture must run in
 * the tracer (only it can read the held threads), and must not stall
 * sampling. A collector that must seize a traced process borrows it over a
 * channel; the tracer takes it back when the channel closes. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "../loop.h"
#include "../proc.h"
#include "../retention.h"
#include "../rules.h"

struct hook_user;

struct crash_config {
        const struct proc_root *proc;
        const struct rule *rules;       /* the event: crash rules */
        size_t n_rules;
        const char *output;
        usec_t timeout;                 /* a capture running longer ends the tracer */
        double min_free_pct;
        const struct action *on_complete;       /* the config's; NULL: none */
        struct retention_limits retention;      /* applied to `output` after each capture */
        const struct hook_user *hook_user;      /* exec and on_complete run as it; NULL: as we run */
};

struct crash_tracer;

/* Forks the tracer. `cfg` must outlive it. */
int crash_tracer_start(struct loop *loop, const struct crash_config *cfg, struct crash_tracer **ret);
/* Has the tracer seize `pid` (and, from then on, all it starts).
 * -EBUSY: something else traces it already. */
int crash_tracer_trace(struct crash_tracer *t, pid_t pid);
/* A channel for a collector to borrow processes with (crash_borrow);
 * -1 if the tracer is gone. */
int crash_tracer_channel(struct crash_tracer *t);
/* The tracer process, 0 once it is gone. */
pid_t crash_tracer_pid(const struct crash_tracer *t);
/* Crashes that fired a rule. */
unsigned crash_tracer_firings(const struct crash_tracer *t);
void crash_tracer_free(struct crash_tracer *t);
