#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

enum loop_source_kind { SOURCE_IO, SOURCE_TIMER, SOURCE_CHILD, SOURCE_SIGNAL };

struct loop_source {
        struct loop *loop;
        enum loop_source_kind kind;
        int fd;                 /* watched in epoll; -1 for signals */
        bool owns_fd;           /* timerfd, pidfd */
        bool dead;              /* freed: never dispatched again */
        union {
                loop_io_fn io;
                loop_timer_fn timer;
                loop_child_fn child;
                loop_signal_fn signal;
        } fn;
        void *userdata;
        pid_t pid;              /* child */
        int signo;              /* signal */
        struct loop_source *prev, *next;       /* every live handle */
        struct loop_source *next_dead;
};

struct loop {
        int epoll_fd;
        int signal_fd;          /* -1 until the first signal is added */
        sigset_t signals;
        struct loop_source *by_signal[_NSIG];
        struct loop_source *sources;
        struct loop_source *dead;       /* freed during a batch, released after it */
        unsigned dispatching;
};

int loop_new(struct loop **ret) {
        struct loop *l = calloc(1, sizeof *l);
        if (!l)
                return -ENOMEM;
        l->signal_fd = -1;
        sigemptyset(&l->signals);
        l->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (l->epoll_fd < 0) {
                int r = negative_errno();
                free(l);
                return r;
        }
        *ret = l;
        return 0;
}

static void release_dead(struct loop *l) {
        while (l->dead) {
                struct loop_source *s = l->dead;
                l->dead = s->next_dead;
                free(s);
        }
}

void loop_free(struct loop *l) {
        if (!l)
                return;
        while (l->sources)
                loop_source_free(l->sources);
        release_dead(l);
        if (l->signal_fd >= 0)
                close(l->signal_fd);
        close(l->epoll_fd);
        sigprocmask(SIG_UNBLOCK, &l->signals, NULL);
        free(l);
}

static struct loop_source *source_new(struct loop *l, enum loop_source_kind kind, void *userdata) {
        struct loop_source *s = calloc(1, sizeof *s);
        if (!s)
                return NULL;
        *s = (struct loop_source) { .loop = l, .kind = kind, .fd = -1, .userdata = userdata,
                                    .next = l->sources };
        if (l->sources)
                l->sources->prev = s;
        l->sources = s;
        return s;
}

/* A new handle watching `fd` for `events`; with `owns_fd` the fd is closed
 * with the handle, or at once if this fails. */
static int add_fd_source(struct loop *l, enum loop_source_kind kind, int fd, uint32_t events, bool owns_fd,
                         void *userdata, struct loop_source **ret) {
        struct loop_source *s = source_new(l, kind, userdata);
        if (!s) {
                if (owns_fd)
                        close(fd);
                return -ENOMEM;
        }
        s->fd = fd;
        s->owns_fd = owns_fd;
        struct epoll_event ev = { .events = events, .data.ptr = s };
        if (epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
                int r = negative_errno();
                loop_source_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

int loop_add_io(struct loop *l, int fd, uint32_t events, loop_io_fn fn, void *userdata,
                struct loop_source **ret) {
        int r = add_fd_source(l, SOURCE_IO, fd, events, false, userdata, ret);
        if (r >= 0)
                (*ret)->fn.io = fn;
        return r;
}

static struct timespec timespec_of(usec_t t) {
        return (struct timespec) { (time_t) (t / USEC_PER_SEC), (long) (t % USEC_PER_SEC) * 1000 };
}

int loop_add_timer(struct loop *l, usec_t first, usec_t period, loop_timer_fn fn, void *userdata,
                   struct loop_source **ret) {
        int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        /* "At once" is 1 µs from now rather than an absolute time in the
         * past, so the period counts from now, not from some old instant
         * (and an expiry of 0 would disarm the timer). */
        struct itimerspec its = { .it_value = timespec_of(first ? first : 1),
                                  .it_interval = timespec_of(period) };
        if (timerfd_settime(fd, first ? TFD_TIMER_ABSTIME : 0, &its, NULL) < 0) {
                int r = negative_errno();
                close(fd);
                return r;
        }
        int r = add_fd_source(l, SOURCE_TIMER, fd, EPOLLIN, true, userdata, ret);
        if (r >= 0)
                (*ret)->fn.timer = fn;
        return r;
}

int loop_add_child(struct loop *l, pid_t pid, loop_child_fn fn, void *userdata, struct loop_source **ret) {
        int fd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (fd < 0)
                return negative_errno();
        int r = add_fd_source(l, SOURCE_CHILD, fd, EPOLLIN, true, userdata, ret);
        if (r >= 0) {
                (*ret)->fn.child = fn;
                (*ret)->pid = pid;
        }
        return r;
}

int loop_add_signal(struct loop *l, int signo, loop_signal_fn fn, void *userdata,
                    struct loop_source **ret) {
        if (signo <= 0 || signo >= _NSIG)
                return -EINVAL;
        if (l->by_signal[signo])
                return -EBUSY;
        sigset_t set = l->signals;
        sigaddset(&set, signo);
        /* Blocked first, so a delivery between the two calls waits in the
         * signalfd instead of taking the default action. */
        if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
                return negative_errno();
        int fd = signalfd(l->signal_fd, &set, SFD_NONBLOCK | SFD_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (l->signal_fd < 0) {
                struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
                if (epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
                        int r = negative_errno();
                        close(fd);
                        return r;
                }
                l->signal_fd = fd;
        }
        struct loop_source *s = source_new(l, SOURCE_SIGNAL, userdata);
        if (!s)
                return -ENOMEM;
        s->fn.signal = fn;
        s->signo = signo;
        l->signals = set;
        l->by_signal[signo] = s;
        *ret = s;
        return 0;
}

void loop_source_free(struct loop_source *s) {
        if (!s || s->dead)
                return;
        struct loop *l = s->loop;
        s->dead = true;
        if (s->fd >= 0) {
                epoll_ctl(l->epoll_fd, EPOLL_CTL_DEL, s->fd, NULL);
                if (s->owns_fd)
                        close(s->fd);
                s->fd = -1;
        }
        /* The signal stays blocked and in the signalfd's mask: a delivery
         * with no handler is read and dropped rather than killing us. */
        if (s->kind == SOURCE_SIGNAL)
                l->by_signal[s->signo] = NULL;
        if (s->prev)
                s->prev->next = s->next;
        else
                l->sources = s->next;
        if (s->next)
                s->next->prev = s->prev;
        s->next_dead = l->dead;
        l->dead = s;
        if (!l->dispatching)
                release_dead(l);
}

static int status_of(const siginfo_t *si) {
        switch (si->si_code) {
        case CLD_EXITED: return W_EXITCODE(si->si_status, 0);
        case CLD_DUMPED: return W_EXITCODE(0, si->si_status) | WCOREFLAG;
        default: return W_EXITCODE(0, si->si_status);
        }
}

/* Reaps the child of `s` if it has exited, and calls its handler once.
 * Whether it reaped. */
static bool dispatch_child(struct loop_source *s) {
        siginfo_t si = {};
        if (waitid((idtype_t) P_PIDFD, (id_t) s->fd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
                return false;
        int status = status_of(&si);
        /* Spent: out of epoll, and no longer found by its pid, which the
         * kernel may now give to another process. */
        epoll_ctl(s->loop->epoll_fd, EPOLL_CTL_DEL, s->fd, NULL);
        pid_t pid = s->pid;
        s->pid = 0;
        s->fn.child(s, pid, status, s->userdata);
        return true;
}

static void dispatch_signals(struct loop *l) {
        struct signalfd_siginfo si;
        while (read(l->signal_fd, &si, sizeof si) == sizeof si) {
                int signo = (int) si.ssi_signo;
                struct loop_source *s = signo > 0 && signo < _NSIG ? l->by_signal[signo] : NULL;
                if (s)
                        s->fn.signal(s, &si, s->userdata);
        }
}

static void dispatch(struct loop_source *s, uint32_t revents) {
        switch (s->kind) {
        case SOURCE_IO:
                s->fn.io(s, s->fd, revents, s->userdata);
                break;
        case SOURCE_TIMER: {
                uint64_t expirations;
                if (read(s->fd, &expirations, sizeof expirations) == sizeof expirations)
                        s->fn.timer(s, now_usec(CLOCK_MONOTONIC), s->userdata);
                break;
        }
        case SOURCE_CHILD:
                (void) dispatch_child(s);
                break;
        case SOURCE_SIGNAL:
                break;
        }
}

int loop_run_once(struct loop *l) {
        struct epoll_event events[64];
        int n = epoll_wait(l->epoll_fd, events, ELEMENTSOF(events), -1);
        if (n < 0)
                return errno == EINTR ? 0 : negative_errno();
        l->dispatching++;
        for (int i = 0; i < n; i++) {
                struct loop_source *s = events[i].data.ptr;
                if (!s)
                        dispatch_signals(l);
                else if (!s->dead)
                        dispatch(s, events[i].events);
        }
        if (--l->dispatching == 0)
                release_dead(l);
        return 0;
}

static struct loop_source *child_source(struct loop *l, pid_t pid) {
        for (struct loop_source *s = l->sources; s; s = s->next)
                if (s->kind == SOURCE_CHILD && s->pid == pid)
                        return s;
        return NULL;
}

void loop_reap_children(struct loop *l) {
        l->dispatching++;
        for (;;) {
                /* Peek first: a registered child must be reaped through its
                 * own handle, or its status would be lost to it. */
                siginfo_t si = {};
                if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
                        break;
                struct loop_source *s = child_source(l, si.si_pid);
                if (!s || !dispatch_child(s))
                        waitpid(si.si_pid, NULL, 0);
        }
        if (--l->dispatching == 0)
                release_dead(l);
}

void loop_forked_child(struct loop *l) {
        close(l->epoll_fd);
        if (l->signal_fd >= 0)
                close(l->signal_fd);
        sigprocmask(SIG_UNBLOCK, &l->signals, NULL);
}
