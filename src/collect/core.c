/* The `core` action, for now through gdb's gcore. gdb attaches with
 * PTRACE_ATTACH (which stops the target with SIGSTOP), so after it, however
 * it ended, the target is checked and resumed if gdb left it stopped. A
 * native writer replaces this behind the same action. */
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "collect.h"
#include "../ptrace.h"

extern char **environ;

int collect_core_gcore(struct collect_ctx *ctx, const struct action *a, struct action_result *res) {
        _cleanup_free_ char *gdb = NULL;
        if (find_in_path("gdb", &gdb) < 0) {
                result_set(res, ACTION_FAILED, "gdb not found in PATH; install it (apt-get install gdb)");
                return -ENOENT;
        }
        pid_t tracer;
        int r = ptrace_tracer_of(ctx->proc->fd, ctx->pid, &tracer);
        if (r == 0 && tracer != 0) {
                result_set(res, ACTION_SKIPPED, "process is already traced by PID %d", (int) tracer);
                return -EBUSY;
        }
        char pid_s[16], gcore_cmd[4096], partial[64];
        snprintf(pid_s, sizeof pid_s, "%d", (int) ctx->pid);
        artifact_partial_name("core", partial, sizeof partial);
        snprintf(gcore_cmd, sizeof gcore_cmd, "gcore %s/%s", ctx->build_dir, partial);
        char *argv[] = { gdb, "--nx", "--batch", "-p", pid_s, "-ex", gcore_cmd, NULL };

        _cleanup_close_ int log_fd = -1;
        if ((r = artifact_open_file(ctx->artifact, "core.gdb.log", &log_fd)) < 0) {
                result_set(res, ACTION_FAILED, "cannot create core.gdb.log: %s", strerror(-r));
                return r;
        }
        usec_t start = now_usec(CLOCK_MONOTONIC);
        int status = 0;
        r = spawn_and_wait(argv, environ, log_fd, a->timeout, NULL, &status);
        res->has_stopped = true;        /* gdb holds it stopped all along */
        res->stopped_seconds = (double) (now_usec(CLOCK_MONOTONIC) - start) / USEC_PER_SEC;
        if (collect_ensure_running(ctx->proc, ctx->pidfd, ctx->pid, ctx->stopped_at_firing))
                dprintf(log_fd, "autodump: gdb left the process stopped; resumed it with SIGCONT\n");

        struct stat st;
        bool have_core = fstatat(ctx->artifact->dir_fd, partial, &st, 0) == 0 && st.st_size > 0;
        if (r == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && have_core &&
            artifact_publish(ctx->artifact, "core") == 0) {
                unlinkat(ctx->artifact->dir_fd, "core.gdb.log", 0);
                result_add_file(res, ctx->artifact->dir_fd, "core");
                result_set(res, ACTION_OK, NULL);
                return 0;
        }
        artifact_discard(ctx->artifact, "core");
        result_add_file(res, ctx->artifact->dir_fd, "core.gdb.log");
        if (r == -ETIME)
                result_set(res, ACTION_FAILED, "gdb timed out; see core.gdb.log");
        else if (r < 0)
                result_set(res, ACTION_FAILED, "cannot run gdb: %s", strerror(-r));
        else if (proc_is_gone(ctx->proc, ctx->pid))
                result_set(res, ACTION_FAILED, "process exited during the capture");
        else
                result_set(res, ACTION_FAILED, "gdb gcore failed (status %d); see core.gdb.log",
                           exit_code_of_status(status));
        return r < 0 ? r : -EIO;
}
