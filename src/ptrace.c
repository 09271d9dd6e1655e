#include "ptrace.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

int ptrace_tracer_of(int proc_fd, pid_t pid, pid_t *ret) {
        char path[64];
        snprintf(path, sizeof path, "%d/status", (int) pid);
        _cleanup_free_ char *text = NULL;
        int r = read_file_at(proc_fd, path, 64 << 10, &text, NULL);
        if (r < 0)
                return r == -ENOENT ? -ESRCH : r;
        const char *p = strstr(text, "\nTracerPid:");
        if (!p)
                return -EINVAL;
        *ret = (pid_t) strtol(p + 11, NULL, 10);
        return 0;
}

static bool have_thread(const struct stopped_process *sp, pid_t tid) {
        for (size_t i = 0; i < sp->n; i++)
                if (sp->threads[i].tid == tid)
                        return true;
        return false;
}

static int add_thread(struct stopped_process *sp, pid_t tid) {
        if (sp->n == sp->cap) {
                size_t cap = sp->cap ? sp->cap * 2 : 64;
                struct stopped_thread *t = realloc(sp->threads, cap * sizeof *t);
                if (!t)
                        return -ENOMEM;
                sp->threads = t;
                sp->cap = cap;
        }
        sp->threads[sp->n++] = (struct stopped_thread) { .tid = tid };
        return 0;
}

/* Waits for `tid` to report its interrupt stop. A signal that arrives first
 * shows as a signal-delivery stop: the thread is stopped all the same, and
 * the signal is kept to be handed back on detach so the target loses
 * nothing. Returns -ESRCH if the thread exited instead. */
static int wait_stopped(struct stopped_thread *t) {
        for (;;) {
                int status;
                pid_t w = waitpid(t->tid, &status, __WALL);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == ECHILD ? -ESRCH : negative_errno();
                }
                if (WIFEXITED(status) || WIFSIGNALED(status))
                        return -ESRCH;
                if (!WIFSTOPPED(status))
                        continue;
                int event = status >> 16;
                if (event == 0 && WSTOPSIG(status) != SIGTRAP)
                        t->pending_signal = WSTOPSIG(status);
                return 0;
        }
}

/* One pass: seize and interrupt every thread not yet held, then wait for
 * all of them (interrupting all before waiting keeps the stop short on wide
 * processes). Returns how many new threads were stopped. */
static int stop_new_threads(int proc_fd, struct stopped_process *sp) {
        char path[64];
        snprintf(path, sizeof path, "%d/task", (int) sp->pid);
        DIR *d;
        int r = opendir_at(proc_fd, path, &d);
        if (r < 0)
                return r == -ENOENT ? -ESRCH : r;
        size_t first_new = sp->n;
        struct dirent *de;
        while ((de = readdir(d))) {
                pid_t tid = (pid_t) strtol(de->d_name, NULL, 10);
                if (tid <= 0 || have_thread(sp, tid))
                        continue;
                if (!sp->traced_by_us && ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0) {
                        if (errno == ESRCH)
                                continue;       /* the thread exited meanwhile */
                        r = errno == EPERM ? -EPERM : negative_errno();
                        break;
                }
                if (sp->stop_started == 0)
                        sp->stop_started = now_usec(CLOCK_MONOTONIC);
                if ((r = add_thread(sp, tid)) < 0) {
                        if (!sp->traced_by_us)
                                ptrace(PTRACE_DETACH, tid, NULL, NULL);
                        break;
                }
                ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
        }
        closedir(d);
        /* Wait for every thread interrupted, even on error, so each is in a
         * stop from which it can be detached. */
        size_t kept = first_new;
        for (size_t i = first_new; i < sp->n; i++)
                if (wait_stopped(&sp->threads[i]) == 0)
                        sp->threads[kept++] = sp->threads[i];
        int added = (int) (kept - first_new);
        sp->n = kept;
        return r < 0 ? r : added;
}

int ptrace_stop_process(int proc_fd, pid_t pid, struct stopped_process *ret) {
        pid_t tracer;
        int r = ptrace_tracer_of(proc_fd, pid, &tracer);
        if (r < 0)
                return r;
        /* Traced by ourselves: a thread we held died and is not reaped
         * yet, so the process is on its way out. */
        if (tracer == getpid())
                return -ESRCH;
        if (tracer != 0)
                return -EBUSY;
        struct stopped_process sp = { .pid = pid };
        /* A thread may be created between listing the tasks and stopping
         * its creator; list again until a pass finds nothing new. */
        do
                r = stop_new_threads(proc_fd, &sp);
        while (r > 0);
        if (r == 0 && sp.n == 0)
                r = -ESRCH;
        if (r < 0) {
                ptrace_resume_process(&sp);
                return r;
        }
        *ret = sp;
        return 0;
}

int ptrace_hold_traced(int proc_fd, pid_t pid, pid_t first, int first_signal, struct stopped_process *ret) {
        struct stopped_process sp = { .pid = pid, .traced_by_us = true, .first = first,
                                      .stop_started = now_usec(CLOCK_MONOTONIC) };
        if (first > 0) {
                int r = add_thread(&sp, first);
                if (r < 0)
                        return r;
                sp.threads[0].pending_signal = first_signal;
        }
        int r;
        do
                r = stop_new_threads(proc_fd, &sp);
        while (r > 0);
        if (r < 0) {
                ptrace_resume_process(&sp);
                return r;
        }
        *ret = sp;
        return 0;
}

int ptrace_seize_all(int proc_fd, pid_t pid, unsigned long options) {
        char path[64];
        snprintf(path, sizeof path, "%d/task", (int) pid);
        for (;;) {
                DIR *d;
                int r = opendir_at(proc_fd, path, &d);
                if (r < 0)
                        return r == -ENOENT ? -ESRCH : r;
                unsigned seized = 0;
                struct dirent *de;
                while ((de = readdir(d))) {
                        pid_t tid = (pid_t) strtol(de->d_name, NULL, 10);
                        if (tid <= 0)
                                continue;
                        if (ptrace(PTRACE_SEIZE, tid, NULL, (void *) options) == 0) {
                                seized++;
                                continue;
                        }
                        pid_t tracer = 0;
                        /* EPERM from a thread our own clone option caught. */
                        if (errno == EPERM && ptrace_tracer_of(proc_fd, tid, &tracer) == 0 && tracer == getpid())
                                continue;
                        if (errno != ESRCH) {
                                r = errno == EPERM ? -EBUSY : negative_errno();
                                break;
                        }
                }
                closedir(d);
                if (r < 0 || seized == 0)
                        return r;
        }
}

void ptrace_resume_process(struct stopped_process *sp) {
        for (size_t i = 0; i < sp->n; i++)
                ptrace(sp->traced_by_us ? PTRACE_CONT : PTRACE_DETACH, sp->threads[i].tid, NULL,
                       (void *) (long) sp->threads[i].pending_signal);
        if (sp->stop_started) {
                sp->stopped_usec = now_usec(CLOCK_MONOTONIC) - sp->stop_started;
                sp->stop_started = 0;
        }
        free(sp->threads);
        sp->threads = NULL;
        sp->n = sp->cap = 0;
}
