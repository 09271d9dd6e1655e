#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "collect.h"
#include "../config.h"
#include "../ptrace.h"

void result_set(struct action_result *res, enum action_status status, const char *fmt, ...) {
        res->status = status;
        if (!fmt) {
                res->error[0] = 0;
                return;
        }
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(res->error, sizeof res->error, fmt, ap);
        va_end(ap);
}

void result_add_file(struct action_result *res, int dir_fd, const char *name) {
        struct stat st;
        if (res->n_files >= ACTION_MAX_FILES || fstatat(dir_fd, name, &st, 0) < 0)
                return;
        snprintf(res->files[res->n_files++], sizeof res->files[0], "%s", name);
        res->bytes += (uint64_t) st.st_size;
}

/* The parent says why an exec failed: between fork and exec only
 * async-signal-safe calls are allowed (the collector may have run zstd's
 * worker threads, and a lock one held at the fork stays held here), so the
 * child reports its errno through a close-on-exec pipe and nothing else. */
static int exec_failure(int error_fd, int out_fd, const char *program) {
        int error;
        ssize_t n;
        do
                n = read(error_fd, &error, sizeof error);
        while (n < 0 && errno == EINTR);
        if (n != (ssize_t) sizeof error)
                return 0;       /* the pipe closed on exec */
        if (out_fd >= 0)
                dprintf(out_fd, "cannot execute %s: %s\n", program, strerror(error));
        return -error;
}

/* In the child: tells the parent why it could not go on, and goes. */
static _Noreturn void child_failed(int error_fd) {
        int error = errno;
        (void) !write(error_fd, &error, sizeof error);
        _exit(127);
}

int spawn_and_wait(char *const argv[], char *const envp[], int out_fd, usec_t timeout,
                   const struct hook_user *as, int *ret_status) {
        int error_pipe[2];
        if (pipe2(error_pipe, O_CLOEXEC) < 0)
                return negative_errno();
        pid_t child = fork();
        if (child < 0) {
                int r = negative_errno();
                close(error_pipe[0]);
                close(error_pipe[1]);
                return r;
        }
        if (child == 0) {
                /* The collector blocks no signals, but be explicit: the tool
                 * must be killable by the timeout and die with us. */
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                /* The hook's own user: its group only, and no way back (no
                 * set-user-ID program regains root). The death signal
                 * after, as a change of user clears it. */
                if (as && as->name &&
                    (setgroups(1, &as->gid) < 0 || setresgid(as->gid, as->gid, as->gid) < 0 ||
                     setresuid(as->uid, as->uid, as->uid) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0))
                        child_failed(error_pipe[1]);
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (devnull >= 0)
                        dup2(devnull, STDIN_FILENO);
                if (out_fd >= 0) {
                        dup2(out_fd, STDOUT_FILENO);
                        dup2(out_fd, STDERR_FILENO);
                }
                execve(argv[0], argv, envp);
                child_failed(error_pipe[1]);
        }
        close(error_pipe[1]);
        int r = exec_failure(error_pipe[0], out_fd, argv[0]);
        close(error_pipe[0]);
        if (r < 0) {
                waitpid(child, NULL, 0);
                return r;
        }
        _cleanup_close_ int pidfd = (int) syscall(SYS_pidfd_open, child, 0);
        usec_t deadline = timeout ? now_usec(CLOCK_MONOTONIC) + timeout : 0;
        for (;;) {
                int status;
                pid_t w = waitpid(child, &status, WNOHANG);
                if (w == child) {
                        *ret_status = status;
                        return 0;
                }
                if (w < 0 && errno != EINTR)
                        return negative_errno();
                int wait_ms = -1;
                if (deadline) {
                        usec_t now = now_usec(CLOCK_MONOTONIC);
                        if (now >= deadline) {
                                kill(child, SIGKILL);
                                waitpid(child, &status, 0);
                                return -ETIME;
                        }
                        usec_t left_ms = (deadline - now + 999) / 1000;
                        wait_ms = left_ms > INT_MAX ? INT_MAX : (int) left_ms;
                }
                struct pollfd p = { .fd = pidfd, .events = POLLIN };
                if (pidfd < 0)
                        wait_ms = wait_ms < 0 || wait_ms > 50 ? 50 : wait_ms;
                poll(&p, pidfd >= 0 ? 1 : 0, wait_ms);
        }
}
