/* The kernel's process events connector (netlink, CN_IDX_PROC): the
 * processes that start, exec or take a new name, as they do, so that
 * discovery looks at those rather than listing all of /proc every
 * interval. It takes CAP_NET_ADMIN and reports the initial PID
 * namespace's processes only; where it is not to be had, discovery lists
 * /proc as before. A burst the socket cannot hold is lost, and said so:
 * then /proc is listed again. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "loop.h"

enum proc_event_kind { PROC_EVENT_KIND_NONE, PROC_EVENT_KIND_FORK, PROC_EVENT_KIND_EXEC, PROC_EVENT_KIND_COMM };

struct proc_events_hooks {
        /* Process `pid` started (a fork: it has its parent's name for now),
         * exec'd or was renamed (its main thread). */
        void (*event)(enum proc_event_kind kind, pid_t pid, void *userdata);
        /* Events were lost. */
        void (*lost)(void *userdata);
        void *userdata;
};

struct proc_events;

/* -EPERM without the privilege, -EOPNOTSUPP in a PID namespace of its
 * own (where the connector says nothing). */
int proc_events_open(struct loop *loop, const struct proc_events_hooks *hooks, struct proc_events **ret);
void proc_events_free(struct proc_events *e);

/* Pure: what one netlink message says; PROC_EVENT_KIND_NONE for what
 * discovery does not care about (a thread's birth or name, an exit, an
 * acknowledgement) or a malformed message. */
enum proc_event_kind proc_events_parse(const void *msg, size_t len, pid_t *ret_pid);
