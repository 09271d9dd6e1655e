/* The tracer process: follows the command's tree through ptrace's own
 * events and passes every stop straight on, except a crash (capture.c) and
 * the processes collectors borrow. A .NET program is let go at its exec:
 * its runtime dumps its own crashes (dotnet_dumps.h). */
#include <errno.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "follow.h"
#include "link.h"
#include "../log.h"
#include "../ptrace.h"

struct lent {
        pid_t pid;
        uint64_t starttime;
};

/* A collector's channel, and what it borrowed: taken back when it closes,
 * which the kernel does however the collector ends. */
struct channel {
        struct follower *owner;
        int fd;
        struct loop_source *io;
        struct lent *lent;
        size_t n_lent;
        struct channel *next;
};

struct follower {
        const struct crash_config *cfg;
        struct loop *loop;
        struct crash_capturer capturer;
        struct channel *channels;
        usec_t last_signal_stop;        /* monotonic */
        bool done;
};

static bool is_job_control_stop(int sig) {
        return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/* Whether the program `pid` has just exec'd is a .NET host (dotnet, an
 * app's apphost, a single-file app): they all load the runtime through
 * libhostfxr. Its runtime handles SIGSEGV itself and has createdump ptrace
 * it to write the dump of its crash, which a tracer here would make fail. */
static bool is_dotnet_host(const struct follower *f, pid_t pid) {
        bool yes;
        return proc_exe_mentions(f->cfg->proc, pid, "libhostfxr.so", 16 << 20, &yes) == 0 && yes;
}

/* Handles one stop; whether it was a signal's delivery. */
static bool on_stop(struct follower *f, pid_t tid, int status) {
        if (!WIFSTOPPED(status))
                return false;   /* exited: the kernel let it go */
        int sig = WSTOPSIG(status), event = status >> 16;
        if (event == PTRACE_EVENT_STOP) {
                /* A job-control stop stays a stop, as it would untraced;
                 * LISTEN lets SIGCONT end it. Anything else here is a new
                 * process's first stop or an interrupt's. */
                ptrace(is_job_control_stop(sig) ? PTRACE_LISTEN : PTRACE_CONT, tid, NULL, NULL);
                return false;
        }
        if (event == PTRACE_EVENT_EXEC && is_dotnet_host(f, tid)) {
                struct proc_stat st = {};
                (void) proc_read_stat(f->cfg->proc, tid, &st);
                log_info("%s[%d] runs .NET: its crashes are dumped by its runtime, not traced", st.comm, (int) tid);
                ptrace(PTRACE_DETACH, tid, NULL, NULL);
                return false;
        }
        if (event != 0) {
                /* fork, vfork, clone, exec: the new ones are followed
                 * already; nothing to do but go on. */
                ptrace(PTRACE_CONT, tid, NULL, NULL);
                return false;
        }
        if (!crash_capture(&f->capturer, tid, sig))
                ptrace(PTRACE_CONT, tid, NULL, (void *) (long) sig);
        return true;
}

/* Each stop is a round trip between the tracee's CPU and ours, and waking
 * a sleeping CPU is what costs (in a VM, most of the 56 µs a round trip
 * takes here). In a storm of signals (a runtime's preemption signals, a
 * program signalling itself) the next stop follows within microseconds,
 * so there, look for it a little while before sleeping again: at most
 * SPIN_USEC of CPU after each, and storms 3x faster. Only in a storm —
 * a signal's stop closer than STORM_GAP_USEC to the last: after a fork
 * loop's stops, far apart, spinning only took a CPU from the workload. */
#define SPIN_USEC 20
#define STORM_GAP_USEC 200

static void on_sigchld(struct loop_source *s, const struct signalfd_siginfo *si, void *userdata) {
        struct follower *f = userdata;
        usec_t spin_until = 0;
        for (;;) {
                int status;
                pid_t tid = waitpid(-1, &status, __WALL | WNOHANG);
                if (tid <= 0) {
                        if (tid < 0 || now_usec(CLOCK_MONOTONIC) >= spin_until)
                                break;
                        continue;
                }
                if (!on_stop(f, tid, status))
                        continue;
                usec_t now = now_usec(CLOCK_MONOTONIC);
                if (now - f->last_signal_stop < STORM_GAP_USEC)
                        spin_until = now + SPIN_USEC;
                f->last_signal_stop = now;
        }
}

static bool same_process(const struct proc_root *proc, pid_t pid, uint64_t starttime) {
        struct proc_stat st;
        return proc_read_stat(proc, pid, &st) == 0 && st.starttime == starttime;
}

/* Detaches every thread of `pid`, each from a stop, its pending signal
 * handed back. */
static int lend(struct follower *f, pid_t pid, uint64_t starttime) {
        pid_t tracer = 0;
        if (ptrace_tracer_of(f->cfg->proc->fd, pid, &tracer) < 0 || tracer != getpid() ||
            !same_process(f->cfg->proc, pid, starttime))
                return -ESRCH;
        struct stopped_process sp;
        int r = ptrace_hold_traced(f->cfg->proc->fd, pid, 0, 0, &sp);
        if (r < 0)
                return r;
        sp.traced_by_us = false;        /* so resuming detaches */
        ptrace_resume_process(&sp);
        return 0;
}

/* The collector that borrowed `l` may still be its tracer for a moment
 * after its channel closed (the kernel closes files before it detaches):
 * try again briefly. */
static void take_back(struct follower *f, const struct lent *l) {
        for (int attempt = 0; attempt < 200; attempt++) {
                if (!same_process(f->cfg->proc, l->pid, l->starttime))
                        return;
                int r = ptrace_seize_all(f->cfg->proc->fd, l->pid, CRASH_TRACE_OPTIONS);
                if (r == 0)
                        return;
                if (r != -EBUSY) {
                        log_warning("crash tracing of PID %d not resumed after a capture: %s", (int) l->pid,
                                    strerror(-r));
                        return;
                }
                usleep(5000);
        }
        log_warning("crash tracing of PID %d not resumed after a capture: another tracer holds it", (int) l->pid);
}

static void channel_close(struct channel *c) {
        for (size_t i = 0; i < c->n_lent; i++)
                take_back(c->owner, &c->lent[i]);
        for (struct channel **p = &c->owner->channels; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        break;
                }
        loop_source_free(c->io);
        close(c->fd);
        free(c->lent);
        free(c);
}

static void on_channel(struct loop_source *s, int fd, uint32_t revents, void *userdata) {
        struct channel *c = userdata;
        struct crash_msg m;
        int r = crash_msg_recv(fd, &m, NULL);
        if (r == -EAGAIN)
                return;
        if (r < 0 || m.type != CRASH_MSG_BORROW) {
                channel_close(c);
                return;
        }
        struct crash_msg reply = { .type = CRASH_MSG_LENT, .pid = m.pid };
        struct lent *l = realloc(c->lent, (c->n_lent + 1) * sizeof *l);
        if (!l)
                reply.result = -ENOMEM;
        else {
                c->lent = l;
                reply.result = lend(c->owner, m.pid, m.starttime);
                if (reply.result == 0)
                        c->lent[c->n_lent++] = (struct lent) { m.pid, m.starttime };
        }
        (void) crash_msg_send(fd, &reply, -1);
}

static void add_channel(struct follower *f, int fd) {
        struct channel *c = calloc(1, sizeof *c);
        if (!c || loop_add_io(f->loop, fd, EPOLLIN, on_channel, c, &c->io) < 0) {
                free(c);
                close(fd);
                return;
        }
        c->owner = f;
        c->fd = fd;
        c->next = f->channels;
        f->channels = c;
}

static void on_ctrl(struct loop_source *s, int fd, uint32_t revents, void *userdata) {
        struct follower *f = userdata;
        struct crash_msg m;
        int passed = -1;
        int r = crash_msg_recv(fd, &m, &passed);
        if (r == -EAGAIN)
                return;
        if (r < 0) {
                f->done = true;         /* autodump is gone or done */
                return;
        }
        if (m.type == CRASH_MSG_CHANNEL && passed >= 0)
                add_channel(f, passed);
        else if (m.type == CRASH_MSG_TRACE) {
                struct crash_msg reply = { .type = CRASH_MSG_TRACED, .pid = m.pid };
                reply.result = ptrace_seize_all(f->cfg->proc->fd, m.pid, CRASH_TRACE_OPTIONS);
                (void) crash_msg_send(fd, &reply, -1);
        } else if (passed >= 0)
                close(passed);
}

int crash_follow(const struct crash_config *cfg, int ctrl) {
        struct follower f = { .cfg = cfg, .capturer = { .cfg = cfg, .ctrl = ctrl } };
        int r = loop_new(&f.loop);
        struct loop_source *sigchld, *io;
        if (r >= 0)
                r = loop_add_signal(f.loop, SIGCHLD, on_sigchld, &f, &sigchld);
        if (r >= 0)
                r = loop_add_io(f.loop, ctrl, EPOLLIN, on_ctrl, &f, &io);
        if (r < 0) {
                log_error("crash tracer: cannot set up its loop: %s", strerror(-r));
                return 1;
        }
        while (!f.done)
                if ((r = loop_run_once(f.loop)) < 0)
                        break;
        while (f.channels)
                channel_close(f.channels);
        crash_capturer_done(&f.capturer);
        loop_free(f.loop);
        return 0;
}
