/* autodump's side of the crash tracer: starting it, asking it to trace
 * the command, lending collectors a channel, and finishing a capture's
 * artifact should the tracer die half-way. */
#include "tracer.h"

#include <string.h>
#include <sys/prctl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "follow.h"
#include "link.h"
#include "../log.h"
#include "../store.h"

struct crash_tracer {
        const struct crash_config *cfg;
        pid_t pid;
        int ctrl;
        struct loop_source *io, *exit;
        struct artifact pending;        /* the capture running, to finish if the tracer dies */
        bool capturing;
        unsigned firings;
};

static void on_message(struct loop_source *s, int fd, uint32_t revents, void *userdata) {
        struct crash_tracer *t = userdata;
        struct crash_msg m;
        int r = crash_msg_recv(fd, &m, NULL);
        if (r < 0) {
                /* Closed: the tracer is ending; its exit says how. */
                if (r != -EAGAIN) {
                        loop_source_free(t->io);
                        t->io = NULL;
                }
                return;
        }
        if (m.type == CRASH_MSG_CAUGHT) {
                t->firings++;
                artifact_done(&t->pending);
                m.rule[sizeof m.rule - 1] = m.comm[sizeof m.comm - 1] = 0;
                t->capturing = artifact_prepare(t->cfg->output, m.wall, m.rule, m.comm, m.pid, &t->pending) == 0;
        } else if (m.type == CRASH_MSG_CAPTURED) {
                t->capturing = false;
                artifact_done(&t->pending);
                retention_apply(t->cfg->output, &t->cfg->retention);
        }
}

static void on_exit_(struct loop_source *s, pid_t pid, int status, void *userdata) {
        struct crash_tracer *t = userdata;
        t->pid = 0;
        char why[96];
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
                snprintf(why, sizeof why, "a crash capture ran past [collect] timeout");
        else if (WIFSIGNALED(status))
                snprintf(why, sizeof why, "it died of signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
        else
                snprintf(why, sizeof why, "it exited with status %d", WEXITSTATUS(status));
        if (t->capturing) {
                _cleanup_free_ char *path = NULL;
                char reason[160];
                snprintf(reason, sizeof reason, "the crash tracer ended: %s", why);
                if (artifact_abandon(&t->pending, reason, &path) == 0)
                        log_warning("%s; partial artifact: %s", reason, path);
                t->capturing = false;
                retention_apply(t->cfg->output, &t->cfg->retention);
        }
        log_warning("crash tracer ended (%s): crashes are no longer captured", why);
}

int crash_tracer_start(struct loop *loop, const struct crash_config *cfg, struct crash_tracer **ret) {
        struct crash_tracer *t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        *t = (struct crash_tracer) { .cfg = cfg, .ctrl = -1, .pending = ARTIFACT_NULL };
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
                free(t);
                return negative_errno();
        }
        pid_t parent = getpid();
        t->pid = fork();
        if (t->pid == 0) {
                close(sv[0]);
                loop_forked_child(loop);
                /* Its own group: a terminal's ^C for the command must not
                 * end the tracer. It dies with autodump, and then the
                 * kernel lets every traced thread go. */
                setpgid(0, 0);
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent)
                        _exit(0);
                /* Cores hold the process's secrets: root's eyes only. */
                umask(0077);
                _exit(crash_follow(cfg, sv[1]));
        }
        close(sv[1]);
        if (t->pid < 0) {
                close(sv[0]);
                free(t);
                return negative_errno();
        }
        t->ctrl = sv[0];
        int r = loop_add_io(loop, t->ctrl, EPOLLIN, on_message, t, &t->io);
        if (r >= 0)
                r = loop_add_child(loop, t->pid, on_exit_, t, &t->exit);
        if (r < 0) {
                crash_tracer_free(t);
                return r;
        }
        *ret = t;
        return 0;
}

int crash_tracer_trace(struct crash_tracer *t, pid_t pid) {
        struct crash_msg m = { .type = CRASH_MSG_TRACE, .pid = pid }, reply;
        int r = crash_msg_call(t->ctrl, &m, 5000, &reply);
        return r < 0 ? r : reply.result;
}

int crash_tracer_channel(struct crash_tracer *t) {
        if (!t || t->pid == 0)
                return -1;
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return -1;
        struct crash_msg m = { .type = CRASH_MSG_CHANNEL };
        int r = crash_msg_send(t->ctrl, &m, sv[1]);
        close(sv[1]);
        if (r < 0) {
                close(sv[0]);
                return -1;
        }
        return sv[0];
}

pid_t crash_tracer_pid(const struct crash_tracer *t) {
        return t ? t->pid : 0;
}

unsigned crash_tracer_firings(const struct crash_tracer *t) {
        return t ? t->firings : 0;
}

void crash_tracer_free(struct crash_tracer *t) {
        if (!t)
                return;
        loop_source_free(t->io);
        loop_source_free(t->exit);
        if (t->pid > 0) {
                /* Closing the control socket ends it; it lets go of every
                 * thread on its way out. */
                close(t->ctrl);
                t->ctrl = -1;
                waitpid(t->pid, NULL, 0);
        }
        if (t->ctrl >= 0)
                close(t->ctrl);
        artifact_done(&t->pending);
        free(t);
}
