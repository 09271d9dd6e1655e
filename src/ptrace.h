/* Stopping a process safely. Only PTRACE_SEIZE + PTRACE_INTERRUPT: no
 * SIGSTOP is ever sent, so if the tracer (a collector) dies the kernel
 * detaches and every thread simply runs on. */
#pragma once

#include <stdbool.h>
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
        bool traced_by_us;      /* held by the crash tracer: resuming continues, not detaches */
        pid_t first;            /* the thread shown first (the one that crashed); 0: the main thread */
        usec_t stop_started;    /* monotonic, at the first interrupt */
        usec_t stopped_usec;    /* first interrupt to last detach, after resume */
};

/* Who traces PID already (TracerPid), 0 if nobody. */
int ptrace_tracer_of(int proc_fd, pid_t pid, pid_t *ret);

/* Seizes and interrupts every thread of PID, rescanning the task list until
 * no new thread appears. On failure every thread seized so far is released
 * before returning. -EBUSY: traced by someone else; -ESRCH: gone. */
int ptrace_stop_process(int proc_fd, pid_t pid, struct stopped_process *ret);

/* For a process whose threads the caller traces already (the crash
 * tracer): interrupts every thread but `first`, which is in a stop already
 * with `first_signal` on its way in (first 0: none is), and waits for each. Threads
 * it creates meanwhile are traced through PTRACE_O_TRACECLONE and stopped
 * too. */
int ptrace_hold_traced(int proc_fd, pid_t pid, pid_t first, int first_signal, struct stopped_process *ret);

/* PTRACE_SEIZEs every thread of PID with `options`, without stopping any,
 * listing the tasks again until a pass finds no new one. A thread already
 * traced by us is fine. -EBUSY: someone else traces it; -ESRCH: gone. */
int ptrace_seize_all(int proc_fd, pid_t pid, unsigned long options);

/* Detaches every thread (re-delivering signals caught in between), records
 * how long the process was stopped, and frees the thread list. With
 * traced_by_us, continues them instead (still traced), the signals
 * re-delivered alike: `first`'s fatal signal kills it as it would have.
 * Calling it again is a no-op. Never fails half-way: each
 * thread is detached whatever happens to the others. */
void ptrace_resume_process(struct stopped_process *sp);
