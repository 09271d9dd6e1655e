/* The `signal` action, and the resume-if-left-stopped safety net. Signals
 * go through the target's pidfd, so a recycled PID can never receive them. */
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>

#include "collect.h"

static int send_signal(int pidfd, int signo) {
        if (syscall(SYS_pidfd_send_signal, pidfd, signo, NULL, 0) < 0)
                return negative_errno();
        return 0;
}

int collect_signal(struct collect_ctx *ctx, const struct action *a, struct action_result *res) {
        int r = send_signal(ctx->pidfd, a->signo);
        if (r < 0) {
                result_set(res, ACTION_FAILED, "cannot send %s: %s", strsignal(a->signo), strerror(-r));
                return r;
        }
        result_set(res, ACTION_OK, NULL);
        return 0;
}

bool collect_ensure_running(const struct proc_root *proc, int pidfd, pid_t pid,
                            bool stopped_at_firing) {
        struct proc_stat st;
        if (stopped_at_firing || proc_read_stat(proc, pid, &st) < 0 || st.state != 'T')
                return false;
        return send_signal(pidfd, SIGCONT) == 0;
}
