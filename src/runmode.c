#include "runmode.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "log.h"

static const int forwarded_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

static void on_forwarded(struct loop_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct runmode *rm = userdata;
        int sig = (int) si->ssi_signo;
        /* A terminal's ^C or ^\ reaches the whole foreground group, the
         * command included: forwarding it too would deliver it twice. */
        bool from_tty = si->ssi_code == SI_KERNEL && (sig == SIGINT || sig == SIGQUIT);
        if (!rm->exited && !from_tty)
                kill(rm->command, sig);
}

static void on_sigchld(struct loop_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct runmode *rm = userdata;
        /* The command and our collectors are reaped through their handles;
         * anything else was an orphan reparented to us: reaping it is the
         * whole of PID 1's duty to it. */
        loop_reap_children(rm->loop);
}

static void on_command_exit(struct loop_source *s, pid_t pid, int status, void *userdata) {
        struct runmode *rm = userdata;
        rm->exited = true;
        rm->status = status;
}

/* Forks and execs. A close-on-exec pipe tells whether exec worked: EOF
 * means it did; otherwise the child writes errno before exiting. */
static int spawn_command(struct loop *loop, char *const *argv, pid_t *ret_pid) {
        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return negative_errno();
        pid_t pid = fork();
        if (pid < 0) {
                close(pipefd[0]);
                close(pipefd[1]);
                return negative_errno();
        }
        if (pid == 0) {
                close(pipefd[0]);
                loop_forked_child(loop);
                execvp(argv[0], argv);
                int e = errno;
                (void) !write(pipefd[1], &e, sizeof e);
                _exit(e == ENOENT ? 127 : 126);
        }
        close(pipefd[1]);
        int e = 0;
        ssize_t n;
        do
                n = read(pipefd[0], &e, sizeof e);
        while (n < 0 && errno == EINTR);
        close(pipefd[0]);
        if (n == sizeof e) {
                waitpid(pid, NULL, 0);
                return -e;
        }
        *ret_pid = pid;
        return 0;
}

int runmode_start(struct runmode *rm, struct loop *loop, char *const *argv, int *ret_exit_code) {
        *rm = (struct runmode) { .loop = loop };
        /* Orphaned descendants are reparented to us, so the tree stays
         * visible and every zombie gets reaped. */
        prctl(PR_SET_CHILD_SUBREAPER, 1);
        /* Signals are taken before the fork, so none is lost between. */
        int r = loop_add_signal(loop, SIGCHLD, on_sigchld, rm, &rm->signals[0]);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(forwarded_signals); i++)
                r = loop_add_signal(loop, forwarded_signals[i], on_forwarded, rm, &rm->signals[i + 1]);
        if (r < 0) {
                log_error("cannot set up signal handling: %s", strerror(-r));
                *ret_exit_code = 1;
                return r;
        }
        r = spawn_command(loop, argv, &rm->command);
        if (r < 0) {
                log_error("cannot execute %s: %s", argv[0], strerror(-r));
                *ret_exit_code = r == -ENOENT ? 127 : 126;
                return r;
        }
        r = loop_add_child(loop, rm->command, on_command_exit, rm, &rm->command_exit);
        if (r < 0) {
                /* Never the case for a child we have not reaped; but were it
                 * so, its exit would go unnoticed: do not start at all. */
                log_error("cannot watch %s[%d]: %s", argv[0], (int) rm->command, strerror(-r));
                kill(rm->command, SIGKILL);
                waitpid(rm->command, NULL, 0);
                *ret_exit_code = 1;
                return r;
        }
        log_info("started %s[%d]", argv[0], (int) rm->command);
        return 0;
}

int runmode_exit_code(const struct runmode *rm) {
        return exit_code_of_status(rm->status);
}
