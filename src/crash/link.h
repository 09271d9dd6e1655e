/* The messages between autodump, its crash tracer and collectors: one
 * struct per SOCK_SEQPACKET datagram (a datagram arrives whole or not at
 * all), an fd passed alongside where one goes. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

enum crash_msg_type {
        CRASH_MSG_TRACE = 1,    /* autodump → tracer: trace pid and what it starts */
        CRASH_MSG_TRACED,       /*  ← result */
        CRASH_MSG_CHANNEL,      /* autodump → tracer: a collector's channel (the fd) */
        CRASH_MSG_BORROW,       /* collector → tracer: let go of pid (starttime) for a capture */
        CRASH_MSG_LENT,         /*  ← result: 0, or -ESRCH if not ours to lend */
        CRASH_MSG_CAUGHT,       /* tracer → autodump: a crash fired rule, capture begins */
        CRASH_MSG_CAPTURED,     /* tracer → autodump: result; text: the artifact, or why none */
};

struct crash_msg {
        uint32_t type;
        int32_t result;         /* 0 or a negative errno */
        pid_t pid, tid;
        uint64_t starttime;
        int32_t signo, code;    /* the fatal signal and its si_code */
        uint64_t addr;          /* si_addr */
        uint64_t wall;          /* when it fired: the artifact's name */
        char rule[64];
        char comm[16];
        char text[512];
};

/* pass_fd < 0: none. */
int crash_msg_send(int fd, const struct crash_msg *m, int pass_fd);
/* *ret_fd (if not NULL) is the fd passed, or -1. -EPIPE: the peer closed. */
int crash_msg_recv(int fd, struct crash_msg *ret, int *ret_fd);
/* Sends `m` and waits up to `timeout_ms` for the reply. */
int crash_msg_call(int fd, const struct crash_msg *m, int timeout_ms, struct crash_msg *ret);

/* In a collector: asks the crash tracer (on `channel`) to let go of a
 * process it traces, so the collector can seize it. The tracer takes it
 * back when the channel closes. 0 also when the tracer did not trace it. */
int crash_borrow(int channel, pid_t pid, uint64_t starttime);
