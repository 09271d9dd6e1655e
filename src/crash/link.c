#include "link.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "../util.h"

int crash_msg_send(int fd, const struct crash_msg *m, int pass_fd) {
        struct iovec iov = { (void *) m, sizeof *m };
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } control = {};
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        if (pass_fd >= 0) {
                mh.msg_control = control.buf;
                mh.msg_controllen = sizeof control.buf;
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
        }
        ssize_t n;
        do
                n = sendmsg(fd, &mh, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        return n < 0 ? negative_errno() : 0;
}

int crash_msg_recv(int fd, struct crash_msg *ret, int *ret_fd) {
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } control;
        struct iovec iov = { ret, sizeof *ret };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                             .msg_controllen = sizeof control.buf };
        ssize_t n;
        do
                n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        int passed = -1;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                        memcpy(&passed, CMSG_DATA(c), sizeof passed);
        if (n == 0)
                return -EPIPE;
        if ((size_t) n != sizeof *ret) {
                if (passed >= 0)
                        close(passed);
                return -EBADMSG;
        }
        if (ret_fd)
                *ret_fd = passed;
        else if (passed >= 0)
                close(passed);
        return 0;
}

int crash_msg_call(int fd, const struct crash_msg *m, int timeout_ms, struct crash_msg *ret) {
        int r = crash_msg_send(fd, m, -1);
        if (r < 0)
                return r;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        do
                r = poll(&p, 1, timeout_ms);
        while (r < 0 && errno == EINTR);
        if (r < 0)
                return negative_errno();
        if (r == 0)
                return -ETIMEDOUT;
        return crash_msg_recv(fd, ret, NULL);
}

int crash_borrow(int channel, pid_t pid, uint64_t starttime) {
        struct crash_msg m = { .type = CRASH_MSG_BORROW, .pid = pid, .starttime = starttime }, reply;
        /* Letting go waits for each thread to stop: quick, unless a
         * thread is in uninterruptible sleep. */
        int r = crash_msg_call(channel, &m, 10000, &reply);
        if (r < 0)
                return r;
        return reply.result == -ESRCH ? 0 : reply.result;
}
