/* Inside the tracer process: following the tree (follow.c) and capturing
 * one crash (capture.c). Which rule a crash fires, and whether its max and
 * cooldown allow it, serve the runtime's own dumps too (dotnet_dumps.c). */
#pragma once

#include <signal.h>

#include "tracer.h"

#define CRASH_TRACE_OPTIONS \
        (PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC)

/* The tracer's main: serves `ctrl` until autodump closes it. */
int crash_follow(const struct crash_config *cfg, int ctrl);

struct crash_count {
        const struct rule *rule;
        char comm[16];
        unsigned fired;
        usec_t last;                    /* monotonic */
};

struct crash_capturer {
        const struct crash_config *cfg;
        int ctrl;                       /* to autodump */
        struct crash_count *counts;     /* max and cooldown, per rule and program */
        size_t n_counts;
};

/* The first crash rule that selects the process. */
const struct rule *crash_rule_for(const struct crash_config *cfg, pid_t pid, const char *comm);
/* Whether `rule`'s max and cooldown let it capture a crash of `comm` now
 * (counted per rule and program); counts it when they do. */
bool crash_count_allows(struct crash_capturer *c, const struct rule *rule, const char *comm, usec_t now);

/* Whether signal `sig` kills a process with these dispositions and dumps
 * its core: a default action of "core", no handler, not ignored. */
bool crash_signal_is_fatal(int sig, uint64_t caught, uint64_t ignored);

/* `tid` is in the signal-delivery stop of `sig`. If it is a crash some
 * rule wants, captures it and lets the signal go on; returns true, the
 * thread resumed. false: not a crash for us; the caller delivers it. */
bool crash_capture(struct crash_capturer *c, pid_t tid, int sig);
void crash_capturer_done(struct crash_capturer *c);
