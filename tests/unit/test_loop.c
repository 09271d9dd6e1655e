/* The event loop with real fds, timers, children and signals: handlers
 * run, a handle freed inside a handler is never dispatched again, children
 * are reaped through their own handles and orphans are reaped too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/wait.h>

#include "loop.h"

struct counter {
        int calls;
        int status;
        pid_t pid;
        int signo;
        struct loop_source *victim;     /* freed by the handler */
};

static void count_timer(struct loop_source *s, usec_t now, void *userdata) {
        struct counter *c = userdata;
        c->calls++;
}

static void periodic_timer(void **state) {
        struct loop *l;
        assert_int_equal(loop_new(&l), 0);
        struct counter c = {};
        struct loop_source *s;
        usec_t start = now_usec(CLOCK_MONOTONIC);
        assert_int_equal(loop_add_timer(l, 0, 10 * USEC_PER_MSEC, count_timer, &c, &s), 0);
        while (c.calls < 3)
                assert_int_equal(loop_run_once(l), 0);
        /* At once, then twice 10 ms apart. */
        assert_true(now_usec(CLOCK_MONOTONIC) - start >= 20 * USEC_PER_MSEC);
        loop_source_free(s);
        loop_free(l);
}

static void io_frees_other(struct loop_source *s, int fd, uint32_t revents, void *userdata) {
        struct counter *c = userdata;
        c->calls++;
        loop_source_free(c->victim);
        loop_source_free(s);
}

static void freed_in_a_handler_is_not_dispatched(void **state) {
        struct loop *l;
        assert_int_equal(loop_new(&l), 0);
        int p1[2], p2[2];
        assert_int_equal(pipe(p1), 0);
        assert_int_equal(pipe(p2), 0);
        assert_int_equal(write(p1[1], "x", 1), 1);
        assert_int_equal(write(p2[1], "x", 1), 1);
        /* Both ready in one batch; whichever runs first frees the other. */
        struct counter c1 = {}, c2 = {};
        struct loop_source *s1, *s2;
        assert_int_equal(loop_add_io(l, p1[0], EPOLLIN, io_frees_other, &c1, &s1), 0);
        assert_int_equal(loop_add_io(l, p2[0], EPOLLIN, io_frees_other, &c2, &s2), 0);
        c1.victim = s2;
        c2.victim = s1;
        assert_int_equal(loop_run_once(l), 0);
        assert_int_equal(c1.calls + c2.calls, 1);
        loop_free(l);
        for (int i = 0; i < 2; i++) {
                close(p1[i]);
                close(p2[i]);
        }
}

static void on_child(struct loop_source *s, pid_t pid, int status, void *userdata) {
        struct counter *c = userdata;
        c->calls++;
        c->pid = pid;
        c->status = status;
}

static pid_t fork_exiting(int code, int signo) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (signo)
                        raise(signo);
                _exit(code);
        }
        return pid;
}

static void child_exit_status(void **state) {
        struct loop *l;
        assert_int_equal(loop_new(&l), 0);
        struct counter exited = {}, killed = {};
        struct loop_source *s1, *s2;
        pid_t a = fork_exiting(7, 0), b = fork_exiting(0, SIGKILL);
        assert_int_equal(loop_add_child(l, a, on_child, &exited, &s1), 0);
        assert_int_equal(loop_add_child(l, b, on_child, &killed, &s2), 0);
        while (exited.calls + killed.calls < 2)
                assert_int_equal(loop_run_once(l), 0);
        assert_int_equal(exited.pid, a);
        assert_true(WIFEXITED(exited.status));
        assert_int_equal(WEXITSTATUS(exited.status), 7);
        assert_true(WIFSIGNALED(killed.status));
        assert_int_equal(WTERMSIG(killed.status), SIGKILL);
        assert_int_equal(exit_code_of_status(killed.status), 128 + SIGKILL);
        /* Both reaped: no zombie is left. */
        assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
        loop_free(l);
}

static void on_signal(struct loop_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct counter *c = userdata;
        c->calls++;
        c->signo = (int) si->ssi_signo;
}

static void signals_through_signalfd(void **state) {
        struct loop *l;
        assert_int_equal(loop_new(&l), 0);
        struct counter c = {};
        struct loop_source *s;
        assert_int_equal(loop_add_signal(l, SIGUSR1, on_signal, &c, &s), 0);
        assert_int_equal(loop_add_signal(l, SIGUSR1, on_signal, &c, &s), -EBUSY);
        raise(SIGUSR1);
        assert_int_equal(loop_run_once(l), 0);
        assert_int_equal(c.calls, 1);
        assert_int_equal(c.signo, SIGUSR1);
        loop_free(l);
        /* Unblocked again once the loop is gone. */
        sigset_t blocked;
        sigprocmask(SIG_BLOCK, NULL, &blocked);
        assert_false(sigismember(&blocked, SIGUSR1));
}

static void reaps_registered_and_orphan_children(void **state) {
        struct loop *l;
        assert_int_equal(loop_new(&l), 0);
        struct counter c = {};
        struct loop_source *s;
        pid_t mine = fork_exiting(3, 0), orphan = fork_exiting(4, 0);
        assert_int_equal(loop_add_child(l, mine, on_child, &c, &s), 0);
        /* Both zombies by now: waitid with WNOWAIT waits without reaping. */
        siginfo_t si;
        assert_int_equal(waitid(P_PID, (id_t) mine, &si, WEXITED | WNOWAIT), 0);
        assert_int_equal(waitid(P_PID, (id_t) orphan, &si, WEXITED | WNOWAIT), 0);
        loop_reap_children(l);
        assert_int_equal(c.calls, 1);
        assert_int_equal(c.pid, mine);
        assert_int_equal(WEXITSTATUS(c.status), 3);
        assert_int_equal(waitpid(orphan, NULL, WNOHANG), -1);
        assert_int_equal(errno, ECHILD);
        loop_free(l);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(periodic_timer),
                cmocka_unit_test(freed_in_a_handler_is_not_dispatched),
                cmocka_unit_test(child_exit_status),
                cmocka_unit_test(signals_through_signalfd),
                cmocka_unit_test(reaps_registered_and_orphan_children),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
