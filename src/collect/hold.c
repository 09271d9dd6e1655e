/* Stopping the target for an action. A collector stops and resumes it
 * itself; a crash capture hands its actions a process the crash tracer
 * already holds in its fatal signal, which only the tracer may resume. */
#include <poll.h>
#include <string.h>

#include "collect.h"
#include "../ptrace.h"

int collect_check_identity(const struct collect_ctx *ctx) {
        /* The pidfd turns readable once the process it was opened for has
         * exited: whatever holds its PID now is another process. */
        struct pollfd p = { .fd = ctx->pidfd, .events = POLLIN };
        if (ctx->pidfd >= 0 && poll(&p, 1, 0) > 0)
                return -ESRCH;
        struct proc_stat st;
        if (proc_read_stat(ctx->proc, ctx->pid, &st) < 0 || st.starttime != ctx->starttime)
                return -ESRCH;
        return 0;
}

int collect_stop_target(const struct collect_ctx *ctx, struct stopped_process *ret) {
        if (ctx->held) {
                /* A view: the same threads; resuming it only records the time. */
                *ret = *ctx->held;
                return 0;
        }
        /* Not even seized if it is gone; and once seized its PID cannot be
         * given to another process, so a second look settles it. */
        int r = collect_check_identity(ctx);
        if (r < 0)
                return r;
        struct stopped_process sp;
        if ((r = ptrace_stop_process(ctx->proc->fd, ctx->pid, &sp)) < 0)
                return r;
        if ((r = collect_check_identity(ctx)) < 0) {
                ptrace_resume_process(&sp);
                return r;
        }
        *ret = sp;
        return 0;
}

void collect_resume_target(const struct collect_ctx *ctx, struct stopped_process *sp) {
        if (!ctx->held) {
                ptrace_resume_process(sp);
                return;
        }
        if (sp->threads) {
                sp->stopped_usec = now_usec(CLOCK_MONOTONIC) - sp->stop_started;
                sp->threads = NULL;     /* the holder's, not ours to free */
                sp->n = sp->cap = 0;
        }
}

void result_stop_failed(struct action_result *res, const struct collect_ctx *ctx, int r) {
        pid_t tracer = 0;
        if (r == -EBUSY) {
                ptrace_tracer_of(ctx->proc->fd, ctx->pid, &tracer);
                result_set(res, ACTION_SKIPPED, "process is already traced by PID %d", (int) tracer);
        } else if (r == -ESRCH)
                result_set(res, ACTION_FAILED, "process exited before the capture");
        else if (r == -EPERM)
                result_set(res, ACTION_FAILED, "ptrace refused: not permitted (run as root or as the process's user)");
        else
                result_set(res, ACTION_FAILED, "cannot stop the process: %s", strerror(-r));
}

