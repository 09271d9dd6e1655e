/* Stopping a process safely. Only PTRACE_SEIZE + PTRACE_INTERRUPT: no
 * SIGSTOP is ever sent, so if the tracer (a collector) dies the kernel
 * detaches and every thread simply runs on. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "util.h"

struct stopped_thread {
        pid_t tid;
        int pending_signal;     /* caught while stopping: re-delivered on detach */
};

struct stopped_process {
        pid_t pid;
        struct stopped_thread *threads;
        size_t n, cap;
        usec_t stop_started;    /* monotonic, at the first interrupt */
        usec_t stopped_usec;    /* first interrupt to last detach, after resume */
};

/* Who traces PID already (TracerPid), 0 if nobody. */
int ptrace_tracer_of(int proc_fd, pid_t pid, pid_t *ret);

/* Seizes and interrupts every thread of PID, rescanning the task list until
 * no new thread appears. On failure every thread seized so far is released
 * before returning. -EBUSY: traced by someone else; -ESRCH: gone. */
int ptrace_stop_process(int proc_fd, pid_t pid, struct stopped_process *ret);

/* Detaches every thread (re-delivering signals caught in between), records
 * how long the process was stopped, and frees the thread list. Calling it
 * again is a no-op. Never fails half-way: each
 * thread is detached whatever happens to the others. */
void ptrace_resume_process(struct stopped_process *sp);
