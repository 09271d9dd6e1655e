#include "runmode.h"

#include <fcntl.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>

#include "log.h"

/* Every signal is forwarded but those that are about autodump itself: a
 * fault is its own (and synchronous), SIGCHLD is reaping, SIGPIPE a write
 * of its own to a closed pipe, SIGTTIN/SIGTTOU ignored so that it can
 * write from the background once the command has the terminal (as tini
 * does), and SIGKILL/SIGSTOP cannot be caught. */
static bool forwarded(int sig) {
        switch (sig) {
        case SIGFPE: case SIGILL: case SIGSEGV: case SIGBUS: case SIGABRT: case SIGTRAP: case SIGSYS:
        case SIGCHLD: case SIGPIPE: case SIGTTIN: case SIGTTOU: case SIGKILL: case SIGSTOP:
                return false;
        }
        /* glibc keeps the two below SIGRTMIN for its threads. */
        return sig < 32 || (sig >= SIGRTMIN && sig <= SIGRTMAX);
}

void runmode_save_inherited(struct inherited *ret) {
        getrlimit(RLIMIT_NOFILE, &ret->nofile);
        sigprocmask(SIG_SETMASK, NULL, &ret->mask);
        sigaction(SIGTTIN, NULL, &ret->ttin);
        sigaction(SIGTTOU, NULL, &ret->ttou);
        sigaction(SIGPIPE, NULL, &ret->pipe);
}

static void on_forwarded(struct loop_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct runmode *rm = userdata;
        int sig = (int) si->ssi_signo;
        /* A terminal's ^C or ^\ reaches the whole foreground group, the
         * command included: forwarding it too would deliver it twice. */
        bool from_tty = si->ssi_code == SI_KERNEL && (sig == SIGINT || sig == SIGQUIT);
        if (rm->exited || from_tty)
                return;
        /* The command leads its own group: -g reaches all of it. */
        kill(rm->o.kill_group ? -rm->command : rm->command, sig);
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

/* In the child, before exec: its own group (in the foreground, with a
 * terminal) and what autodump itself was started with. */
static void prepare_child(struct runmode *rm) {
        loop_forked_child(rm->loop);
        setpgid(0, 0);
        /* SIGTTOU is still ignored here (autodump's), so a background
         * group may take the terminal. */
        if (isatty(STDIN_FILENO))
                (void) tcsetpgrp(STDIN_FILENO, getpgrp());
        const struct inherited *in = &rm->inherited;
        sigaction(SIGTTIN, &in->ttin, NULL);
        sigaction(SIGTTOU, &in->ttou, NULL);
        sigaction(SIGPIPE, &in->pipe, NULL);
        setrlimit(RLIMIT_NOFILE, &in->nofile);
        sigprocmask(SIG_SETMASK, &in->mask, NULL);
}

static ssize_t read_retrying(int fd, void *buf, size_t size) {
        ssize_t n;
        do
                n = read(fd, buf, size);
        while (n < 0 && errno == EINTR);
        return n;
}

/* Forks and execs. A close-on-exec pipe tells whether exec worked: EOF
 * means it did; otherwise the child writes errno before exiting. With a
 * crash tracer, the child waits at a gate until the tracer holds it, so
 * nothing the command does escapes it. */
static int spawn_command(struct runmode *rm, char *const *argv, pid_t *ret_pid) {
        int report[2], gate[2] = { -1, -1 };
        if (pipe2(report, O_CLOEXEC) < 0)
                return negative_errno();
        if (rm->crash && pipe2(gate, O_CLOEXEC) < 0) {
                close(report[0]);
                close(report[1]);
                return negative_errno();
        }
        pid_t pid = fork();
        if (pid == 0) {
                close(report[0]);
                prepare_child(rm);
                if (gate[0] >= 0) {
                        char c;
                        close(gate[1]);
                        (void) read_retrying(gate[0], &c, 1);
                }
                execvpe(argv[0], argv, rm->dotnet ? dotnet_dumps_environ(rm->dotnet) : environ);
                int e = errno;
                (void) !write(report[1], &e, sizeof e);
                _exit(e == ENOENT ? 127 : 126);
        }
        close(report[1]);
        if (gate[0] >= 0)
                close(gate[0]);
        if (pid > 0) {
                setpgid(pid, pid);      /* also here: no race with a forwarded -g signal */
                int r = rm->crash ? crash_tracer_trace(rm->crash, pid) : -ENOENT;
                rm->crash_traced = r == 0;
                if (r == -EBUSY)
                        log_warning("%s[%d] is traced already (a debugger?): left alone; its crashes are not "
                                    "captured", argv[0], (int) pid);
                else if (r < 0 && r != -ENOENT)
                        log_warning("cannot trace %s[%d] for crashes: %s", argv[0], (int) pid, strerror(-r));
        }
        if (gate[1] >= 0)
                close(gate[1]);
        if (pid < 0) {
                close(report[0]);
                return negative_errno();
        }
        int e = 0;
        ssize_t n = read_retrying(report[0], &e, sizeof e);
        close(report[0]);
        if (n == sizeof e) {
                waitpid(pid, NULL, 0);
                return -e;
        }
        *ret_pid = pid;
        return 0;
}

static int add_signals(struct runmode *rm) {
        int r = loop_add_signal(rm->loop, SIGCHLD, on_sigchld, rm, &rm->signals[SIGCHLD]);
        for (int sig = 1; r >= 0 && sig < _NSIG; sig++)
                if (forwarded(sig))
                        r = loop_add_signal(rm->loop, sig, on_forwarded, rm, &rm->signals[sig]);
        /* Ignored, not blocked: a blocked SIGTTOU would still stop a write
         * to the terminal from the background. */
        signal(SIGTTIN, SIG_IGN);
        signal(SIGTTOU, SIG_IGN);
        signal(SIGPIPE, SIG_IGN);
        return r;
}

int runmode_start(struct runmode *rm, struct loop *loop, const struct runmode_options *o, char *const *argv,
                  int *ret_exit_code) {
        *rm = (struct runmode) { .loop = loop, .o = *o, .inherited = rm->inherited };
        /* Orphaned descendants are reparented to us, so the tree stays
         * visible and every zombie gets reaped (-s asks for what is always
         * done). It cannot fail on the kernels we run on; if it did, the
         * command would still run, with orphans going to PID 1. */
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                log_warning("cannot become a subreaper (orphans of the command go to PID 1): %m");
        /* Signals are taken before the fork, so none is lost between. */
        int r = add_signals(rm);
        if (r < 0) {
                log_error("cannot set up signal handling: %s", strerror(-r));
                *ret_exit_code = 1;
                return r;
        }
        if (o->crash && (r = crash_tracer_start(loop, o->crash, &rm->crash)) < 0)
                log_warning("cannot start the crash tracer: %s; crashes will not be captured", strerror(-r));
        if (o->crash && (r = dotnet_dumps_start(loop, o->crash, &rm->dotnet)) < 0)
                log_warning("cannot take in the dumps of .NET crashes: %s", strerror(-r));
        r = spawn_command(rm, argv, &rm->command);
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
        log_info("started %s[%d]%s", argv[0], (int) rm->command, rm->crash_traced ? "; its crashes are captured" : "");
        return 0;
}

int runmode_exit_code(const struct runmode *rm) {
        int code = exit_code_of_status(rm->status);
        for (size_t i = 0; i < rm->o.n_expect_exit; i++)
                if (rm->o.expect_exit[i] == code)
                        return 0;
        return code;
}

void runmode_done(struct runmode *rm) {
        crash_tracer_free(rm->crash);
        rm->crash = NULL;
        dotnet_dumps_free(rm->dotnet);
        rm->dotnet = NULL;
}
