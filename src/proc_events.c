#include "proc_events.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

#define RCVBUF (4 << 20)        /* a fork storm's worth between two reads of the loop */

struct proc_events {
        int fd;
        struct loop_source *watch;
        struct proc_events_hooks hooks;
};

enum proc_event_kind proc_events_parse(const void *msg, size_t len, pid_t *ret_pid) {
        const struct nlmsghdr *nl = msg;
        if (len < NLMSG_LENGTH(sizeof(struct cn_msg) + sizeof(struct proc_event)) || nl->nlmsg_len > len ||
            nl->nlmsg_type != NLMSG_DONE)
                return PROC_EVENT_KIND_NONE;
        const struct cn_msg *cn = NLMSG_DATA(nl);
        if (cn->id.idx != CN_IDX_PROC || cn->id.val != CN_VAL_PROC || cn->len < sizeof(struct proc_event))
                return PROC_EVENT_KIND_NONE;
        struct proc_event ev;
        memcpy(&ev, cn->data, sizeof ev);
        switch (ev.what) {
        case PROC_EVENT_FORK:
                /* A thread's birth is its process's business. */
                if (ev.event_data.fork.child_pid != ev.event_data.fork.child_tgid)
                        return PROC_EVENT_KIND_NONE;
                *ret_pid = ev.event_data.fork.child_tgid;
                return PROC_EVENT_KIND_FORK;
        case PROC_EVENT_EXEC:
                *ret_pid = ev.event_data.exec.process_tgid;
                return PROC_EVENT_KIND_EXEC;
        case PROC_EVENT_COMM:
                /* Only the main thread's name is the process's comm. */
                if (ev.event_data.comm.process_pid != ev.event_data.comm.process_tgid)
                        return PROC_EVENT_KIND_NONE;
                *ret_pid = ev.event_data.comm.process_tgid;
                return PROC_EVENT_KIND_COMM;
        default:
                return PROC_EVENT_KIND_NONE;
        }
}

static void on_readable(struct loop_source *s, int fd, uint32_t revents, void *userdata) {
        struct proc_events *e = userdata;
        char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
        for (;;) {
                ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
                if (n < 0 && errno == ENOBUFS) {
                        e->hooks.lost(e->hooks.userdata);
                        continue;
                }
                if (n <= 0)
                        return;
                for (struct nlmsghdr *nl = (struct nlmsghdr *) buf; NLMSG_OK(nl, (size_t) n); nl = NLMSG_NEXT(nl, n)) {
                        pid_t pid;
                        enum proc_event_kind k = proc_events_parse(nl, nl->nlmsg_len, &pid);
                        if (k != PROC_EVENT_KIND_NONE)
                                e->hooks.event(k, pid, e->hooks.userdata);
                }
        }
}

/* Whether we are in the initial PID namespace: one pid in our NSpid. */
static bool in_initial_pid_namespace(void) {
        _cleanup_free_ char *status = NULL;
        if (read_file_at(AT_FDCWD, "/proc/self/status", 64 << 10, &status, NULL) < 0)
                return false;
        const char *p = strstr(status, "\nNSpid:");
        if (!p)
                return true;    /* a kernel without namespaces */
        p += 7;
        p += strspn(p, " \t");
        p += strspn(p, "0123456789");
        return *p == '\n' || *p == 0;
}

int proc_events_open(struct loop *loop, const struct proc_events_hooks *hooks, struct proc_events **ret) {
        if (!in_initial_pid_namespace())
                return -EOPNOTSUPP;
        struct proc_events *e = calloc(1, sizeof *e);
        if (!e)
                return -ENOMEM;
        e->hooks = *hooks;
        e->fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_CONNECTOR);
        struct sockaddr_nl addr = { .nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC, .nl_pid = 0 };
        int size = RCVBUF;
        struct {
                struct nlmsghdr nl;
                struct cn_msg cn;
                enum proc_cn_mcast_op op;
        } __attribute__((packed)) listen = {
                .nl = { .nlmsg_len = sizeof listen, .nlmsg_type = NLMSG_DONE },
                .cn = { .id = { CN_IDX_PROC, CN_VAL_PROC }, .len = sizeof(enum proc_cn_mcast_op) },
                .op = PROC_CN_MCAST_LISTEN,
        };
        int r = 0;
        if (e->fd < 0 || bind(e->fd, (struct sockaddr *) &addr, sizeof addr) < 0 ||
            send(e->fd, &listen, sizeof listen, 0) < 0)
                r = -errno;
        /* Beyond the default limit with the privilege we have anyway. */
        if (r == 0 && setsockopt(e->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
                (void) setsockopt(e->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        if (r == 0)
                r = loop_add_io(loop, e->fd, EPOLLIN, on_readable, e, &e->watch);
        if (r < 0) {
                proc_events_free(e);
                return r;
        }
        *ret = e;
        return 0;
}

void proc_events_free(struct proc_events *e) {
        if (!e)
                return;
        loop_source_free(e->watch);
        if (e->fd >= 0)
                close(e->fd);
        free(e);
}
