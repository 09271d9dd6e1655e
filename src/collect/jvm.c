/* The JVM's own dumps — jvm.threaddump, jvm.heapdump, jvm.jcmd — through
 * HotSpot's dynamic attach, as jcmd and jstack do it: a file
 * .attach_pid<nspid> in the JVM's working directory (or /tmp) and a
 * SIGQUIT ask it to open the socket /tmp/.java_pid<nspid>; a request is
 * "1\0COMMAND\0ARG\0ARG\0ARG\0", the answer a result code on its first
 * line, then the output.
 *
 * Everything goes through /proc/PID/root and /proc/PID/cwd, so a JVM in a
 * container is reached from the host with no setns; HotSpot (JDK 11 and
 * later) accepts root as a peer, and a JVM in a user namespace of its own
 * its own user. SIGQUIT kills a process that is no JVM,
 * or a JVM started with -Xrs: it is sent only to a process with libjvm.so
 * mapped and a SIGQUIT handler installed, without
 * -XX:+DisableAttachMechanism, and through the pidfd, so a recycled PID
 * never gets it. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include "collect.h"

#define LISTENER_WAIT (10 * USEC_PER_SEC)       /* jcmd waits about as long */
#define ANSWER_WAIT (60 * USEC_PER_SEC)         /* between two reads of an answer */

/* Who the JVM is in its own namespaces. */
struct jvm_ids {
        pid_t nspid;
        uid_t uid;              /* effective, as we see them */
        gid_t gid;
};

/* Whether a command line holds `option` as a word of its own. */
static bool has_option(const char *cmdline, const char *option) {
        size_t n = strlen(option);
        for (const char *p = cmdline; (p = strstr(p, option)); p += n)
                if ((p == cmdline || p[-1] == ' ') && (p[n] == ' ' || p[n] == 0))
                        return true;
        return false;
}

/* Whether an option reaches the JVM: on its command line, or in one of
 * the variables the JVM (JAVA_TOOL_OPTIONS, _JAVA_OPTIONS) or the java
 * launcher (JDK_JAVA_OPTIONS) reads options from at start. */
static bool given_option(const struct collect_ctx *ctx, const char *cmdline, const char *option) {
        if (has_option(cmdline, option))
                return true;
        _cleanup_free_ char *env = NULL;
        size_t len;
        if (proc_read_environ(ctx->proc, ctx->pid, &env, &len) < 0)
                return false;
        static const char *const vars[] = { "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS" };
        for (size_t i = 0; i < ELEMENTSOF(vars); i++) {
                const char *v = environ_value(env, len, vars[i]);
                if (v && has_option(v, option))
                        return true;
        }
        return false;
}

/* A HotSpot JVM that may be asked: libjvm.so mapped, attach allowed, and
 * its own SIGQUIT handler installed — without it (-Xrs,
 * -XX:+ReduceSignalUsage, given however), SIGQUIT would kill it. */
static int check_jvm(const struct collect_ctx *ctx, struct action_result *res) {
        bool hotspot;
        int r = proc_maps_mention(ctx->proc, ctx->pid, "/libjvm.so", &hotspot);
        if (r < 0) {
                result_set(res, ACTION_FAILED, "cannot read its maps: %s", strerror(-r));
                return r;
        }
        _cleanup_free_ char *cmdline = NULL;
        if (!hotspot || proc_read_cmdline(ctx->proc, ctx->pid, &cmdline) < 0) {
                result_set(res, ACTION_FAILED, "not a HotSpot JVM (no libjvm.so mapped)");
                return -ENOTSUP;
        }
        if (given_option(ctx, cmdline, "-XX:+DisableAttachMechanism")) {
                result_set(res, ACTION_FAILED, "the JVM refuses attach (-XX:+DisableAttachMechanism)");
                return -EPERM;
        }
        struct proc_signals sig;
        r = proc_read_signals(ctx->proc, ctx->pid, &sig);
        if (r < 0) {
                result_set(res, ACTION_FAILED, "cannot read its signal handlers: %s", strerror(-r));
                return r;
        }
        if (!(sig.caught & (UINT64_C(1) << (SIGQUIT - 1)))) {
                result_set(res, ACTION_FAILED, "the JVM does not handle SIGQUIT (-Xrs or -XX:+ReduceSignalUsage): "
                           "the SIGQUIT that starts its attach listener would kill it");
                return -EPERM;
        }
        return 0;
}

static bool is_socket(const char *path) {
        struct stat s;
        return stat(path, &s) == 0 && S_ISSOCK(s.st_mode);
}

/* Makes the JVM open its attach socket, unless it is open already. */
static int start_listener(const struct collect_ctx *ctx, const struct jvm_ids *ids, const char *socket_path,
                          struct action_result *res) {
        pid_t nspid = ids->nspid;
        if (is_socket(socket_path))
                return 0;
        char trigger[64];
        snprintf(trigger, sizeof trigger, "%d/cwd/.attach_pid%d", (int) ctx->pid, (int) nspid);
        int fd = openat(ctx->proc->fd, trigger, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) {
                /* A working directory it cannot write: HotSpot looks in /tmp too. */
                snprintf(trigger, sizeof trigger, "%d/root/tmp/.attach_pid%d", (int) ctx->pid, (int) nspid);
                fd = openat(ctx->proc->fd, trigger, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        }
        /* HotSpot heeds a trigger file only of its own user or its root;
         * ours is neither to a JVM in a user namespace of its own. */
        if (fd < 0 || fchown(fd, ids->uid, ids->gid) < 0) {
                result_set(res, ACTION_FAILED, "cannot make the attach trigger file: %m");
                if (fd >= 0) {
                        close(fd);
                        unlinkat(ctx->proc->fd, trigger, 0);
                }
                return -errno;
        }
        close(fd);
        int r = 0;
        if (syscall(SYS_pidfd_send_signal, ctx->pidfd, SIGQUIT, NULL, 0) < 0) {
                r = negative_errno();
                result_set(res, ACTION_FAILED, "cannot send SIGQUIT: %s", strerror(-r));
        }
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + LISTENER_WAIT;
        while (r == 0 && !is_socket(socket_path)) {
                struct pollfd p = { .fd = ctx->pidfd, .events = POLLIN };
                if (poll(&p, 1, 20) > 0) {
                        result_set(res, ACTION_FAILED, "the JVM exited");
                        r = -ESRCH;
                } else if (now_usec(CLOCK_MONOTONIC) > deadline) {
                        result_set(res, ACTION_FAILED, "the JVM did not open its attach socket within 10s (attach "
                                   "disabled, or the JVM is hung)");
                        r = -ETIMEDOUT;
                }
        }
        unlinkat(ctx->proc->fd, trigger, 0);
        return r;
}

/* Connects as the JVM's own user, from a child that takes its ids: the
 * JVM accepts a peer of its own user or its root, and to a JVM in a user
 * namespace of its own our root is neither. The socket is handed back. */
static int connect_as_jvm_user(const struct jvm_ids *ids, const struct sockaddr_un *sa, int *ret_sock) {
        int pair[2];
        if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) < 0)
                return -errno;
        pid_t child = fork();
        if (child == 0) {
                close(pair[0]);
                int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), e = 0;
                if (setgroups(0, NULL) < 0 || setresgid(ids->gid, ids->gid, ids->gid) < 0 ||
                    setresuid(ids->uid, ids->uid, ids->uid) < 0 || sock < 0 ||
                    connect(sock, (const struct sockaddr *) sa, sizeof *sa) < 0)
                        e = errno;
                char cmsg[CMSG_SPACE(sizeof(int))] = {};
                struct iovec iov = { .iov_base = &e, .iov_len = sizeof e };
                struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
                if (!e) {
                        m.msg_control = cmsg;
                        m.msg_controllen = sizeof cmsg;
                        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
                        *c = (struct cmsghdr) { .cmsg_len = CMSG_LEN(sizeof(int)), .cmsg_level = SOL_SOCKET,
                                                .cmsg_type = SCM_RIGHTS };
                        memcpy(CMSG_DATA(c), &sock, sizeof sock);
                }
                _exit(sendmsg(pair[1], &m, 0) < 0);
        }
        close(pair[1]);
        int e = child < 0 ? errno : EIO;
        char cmsg[CMSG_SPACE(sizeof(int))];
        struct iovec iov = { .iov_base = &e, .iov_len = sizeof e };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cmsg, .msg_controllen = sizeof cmsg };
        *ret_sock = -1;
        if (child > 0) {
                ssize_t n = recvmsg(pair[0], &m, MSG_CMSG_CLOEXEC);
                struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&m) : NULL;
                if (c && c->cmsg_type == SCM_RIGHTS)
                        memcpy(ret_sock, CMSG_DATA(c), sizeof *ret_sock);
                waitpid(child, NULL, 0);
        }
        close(pair[0]);
        return *ret_sock >= 0 ? 0 : -(e ? e : EIO);
}

static int connect_attach_socket(const struct collect_ctx *ctx, const struct jvm_ids *ids,
                                 const struct sockaddr_un *sa, int *ret_sock) {
        char path[32];
        snprintf(path, sizeof path, "%d/ns/user", (int) ctx->pid);
        struct stat theirs, ours;
        if (fstatat(ctx->proc->fd, path, &theirs, 0) < 0 || stat("/proc/self/ns/user", &ours) < 0)
                return -errno;
        if (theirs.st_ino != ours.st_ino)
                return connect_as_jvm_user(ids, sa, ret_sock);
        int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (sock < 0 || connect(sock, (const struct sockaddr *) sa, sizeof *sa) < 0) {
                int e = -errno;
                if (sock >= 0)
                        close(sock);
                return e;
        }
        *ret_sock = sock;
        return 0;
}

/* Copies the answer after its first line (the result code, which may be
 * negative) to out_fd, and its start to `head` (the file is open for
 * writing only; the start says why when the code is not 0). */
static int read_answer(int sock, int out_fd, int *ret_code, char *head, size_t head_size) {
        char buf[65536];
        size_t have = 0, head_len = 0;
        bool past_code = false;
        for (;;) {
                struct pollfd p = { .fd = sock, .events = POLLIN };
                if (poll(&p, 1, (int) (ANSWER_WAIT / USEC_PER_MSEC)) <= 0)
                        return -ETIMEDOUT;
                ssize_t n = read(sock, buf + have, sizeof buf - have);
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                have += (size_t) n;
                size_t from = 0;
                if (!past_code) {
                        char *nl = memchr(buf, '\n', have);
                        if (!nl && have < sizeof buf)
                                continue;
                        size_t len = nl ? (size_t) (nl - buf) : have;
                        *ret_code = atoi(buf);
                        past_code = true;
                        from = nl ? len + 1 : len;
                }
                /* The start may come in a later read than the code. */
                size_t keep = have - from < head_size - 1 - head_len ? have - from : head_size - 1 - head_len;
                memcpy(head + head_len, buf + from, keep);
                head[head_len += keep] = 0;
                if (write(out_fd, buf + from, have - from) < 0)
                        return -errno;
                have = 0;
        }
        return past_code ? 0 : -EBADMSG;
}

/* Sends one request and writes its answer to out_fd; on a non-zero
 * result code the reason is the answer's first line. */
static int ask(const struct collect_ctx *ctx, const char *cmd, const char *arg0, const char *arg1, int out_fd,
               struct action_result *res) {
        int r = collect_check_identity(ctx);
        if (r < 0) {
                result_set(res, ACTION_FAILED, "process exited before the capture");
                return r;
        }
        if ((r = check_jvm(ctx, res)) < 0)
                return r;
        struct jvm_ids ids;
        if ((r = proc_read_nspid(ctx->proc, ctx->pid, &ids.nspid)) < 0 ||
            (r = proc_read_effective_ids(ctx->proc, ctx->pid, &ids.uid, &ids.gid)) < 0) {
                result_set(res, ACTION_FAILED, "cannot read its namespace pid and ids: %s", strerror(-r));
                return r;
        }
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%d/root/tmp/.java_pid%d", ctx->proc->fd,
                 (int) ctx->pid, (int) ids.nspid);
        if ((r = start_listener(ctx, &ids, sa.sun_path, res)) < 0)
                return r;
        _cleanup_close_ int sock = -1;
        if ((r = connect_attach_socket(ctx, &ids, &sa, &sock)) < 0) {
                result_set(res, ACTION_FAILED, "cannot connect to the JVM's attach socket: %s", strerror(-r));
                return r;
        }
        char request[2048];
        int len = snprintf(request, sizeof request, "1%c%s%c%s%c%s%c%c", 0, cmd, 0, arg0, 0, arg1, 0, 0);
        if (len >= (int) sizeof request || write(sock, request, (size_t) len) != len) {
                result_set(res, ACTION_FAILED, "cannot send the request: %m");
                return -EIO;
        }
        char head[400] = "";
        int code = 0;
        r = read_answer(sock, out_fd, &code, head, sizeof head);
        if (r < 0) {
                result_set(res, ACTION_FAILED, "%s", r == -ETIMEDOUT ? "the JVM did not answer within 60s"
                                                                     : "the JVM's answer could not be read");
                return r;
        }
        if (code != 0) {
                head[strcspn(head, "\n")] = 0;
                result_set(res, ACTION_FAILED, "the JVM answered %d: %s", code, *head ? head : "no reason given");
                return -EIO;
        }
        return 0;
}

/* An action whose answer is the file: threads.txt, jcmd-N.txt. */
static int answer_to_file(struct collect_ctx *ctx, const char *name, const char *cmd, const char *arg0,
                          struct action_result *res) {
        _cleanup_close_ int fd = -1;
        int r = artifact_open_file(ctx->artifact, name, &fd);
        if (r < 0) {
                result_set(res, ACTION_FAILED, "cannot create %s: %s", name, strerror(-r));
                return r;
        }
        r = ask(ctx, cmd, arg0, "", fd, res);
        result_add_file(res, ctx->artifact->dir_fd, name);
        if (r == 0)
                result_set(res, ACTION_OK, NULL);
        return r;
}

int collect_jvm_threaddump(struct collect_ctx *ctx, const struct action *a, struct action_result *res) {
        return answer_to_file(ctx, "threads.txt", "threaddump", "", res);
}

int collect_jvm_jcmd(struct collect_ctx *ctx, const struct action *a, struct action_result *res) {
        char name[32];
        snprintf(name, sizeof name, "jcmd-%u.txt", ++ctx->jcmd_count);
        return answer_to_file(ctx, name, "jcmd", a->jcmd, res);
}

/* The JVM writes the dump where it sees /tmp; it is moved into the
 * artifact from there, whole or not at all. */
int collect_jvm_heapdump(struct collect_ctx *ctx, const struct action *a, struct action_result *res) {
        char jvm_path[64];
        snprintf(jvm_path, sizeof jvm_path, "/tmp/.autodump-heap-%d-%u.hprof", (int) getpid(),
                 (unsigned) now_usec(CLOCK_MONOTONIC));
        _cleanup_close_ int log = -1;
        int r = artifact_open_file(ctx->artifact, "heapdump.log", &log);
        if (r < 0) {
                result_set(res, ACTION_FAILED, "cannot create heapdump.log: %s", strerror(-r));
                return r;
        }
        /* "-live": what is reachable (a full GC first), what a leak hunt needs. */
        r = ask(ctx, "dumpheap", jvm_path, "-live", log, res);
        if (r == 0 && (r = collect_take_file(ctx, jvm_path, "heap.hprof", res)) == 0)
                result_set(res, ACTION_OK, NULL);
        result_add_file(res, ctx->artifact->dir_fd, "heapdump.log");
        return r;
}
