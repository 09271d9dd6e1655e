/* A copy-on-write snapshot of a stopped process, for the core writer: a
 * child forked from inside it, which the kernel gives a copy-on-write
 * image of its memory at that instant. The target is stopped only for the
 * fork (a few ms a GiB) instead of for the whole write.
 *
 * The fork is a clone(2) injected into the target's main thread through
 * a `syscall` instruction its vDSO already maps: exit signal 0 (the
 * target gets no SIGCHLD), the child auto-attached (PTRACE_O_TRACECLONE)
 * and held in its first stop — it never runs an instruction of its own —
 * and killed with us should the collector die (PTRACE_O_EXITKILL). The
 * injected syscall is stepped with syscall stops (a refused clone reports
 * no event), and the thread's registers are put back in a fresh interrupt
 * stop, where resuming runs the kernel's syscall-restart logic on them as
 * if nothing happened (put back at the syscall-exit stop, an interrupted
 * read() would return -ERESTARTSYS). The child exits as a zombie of the
 * target; a second, short injection (wait4 with __WALL) has the target
 * reap it, so no trace is left. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "../proc.h"
#include "../ptrace.h"
#include "maps.h"

struct fork_snapshot {
        pid_t child;                    /* 0: none */
};

/* The file in the artifact that says a snapshot is being read, so that
 * the watchdog can end it should the collector die (it is hidden, and
 * removed with the snapshot). */
#define FORK_SNAPSHOT_NOTE ".snapshot"

/* Why a snapshot is not to be taken of process `pid`, in `why` (a seccomp
 * filter on its main thread: an injected clone could kill it; too little
 * memory for the copies its writes would make); 0 when none. Looked at
 * before it is stopped: the stop is for the fork alone. */
int fork_snapshot_refusal(const struct proc_root *proc, pid_t pid, char *why, size_t size);
/* Forks the snapshot of `sp` (every thread stopped), leaving the main
 * thread's registers as they were. On failure (the kernel refused the
 * clone: RLIMIT_NPROC, pids.max, memory) says why; the process is as it
 * was. */
int fork_snapshot_take(const struct proc_root *proc, struct stopped_process *sp, struct fork_snapshot *ret,
                       char *why, size_t size);
/* Adds to the snapshot's mappings (read from it) those of the target's a
 * fork does not copy (MADV_DONTFORK), which a core written from it holds
 * as holes; *ret: their bytes. */
int fork_snapshot_add_not_copied(const struct proc_root *proc, pid_t pid, struct mapping_list *snapshot,
                                 uint64_t *ret);
/* The memory the snapshot holds that the target no longer shares: the
 * pages the target wrote since (the child's private resident bytes). */
int fork_snapshot_extra_bytes(const struct proc_root *proc, const struct fork_snapshot *s, uint64_t *ret);
/* Kills the snapshot, then has the target (running, identified by pid and
 * start time) reap it. */
int fork_snapshot_end(const struct proc_root *proc, pid_t pid, uint64_t starttime, struct fork_snapshot *s);
/* Notes the snapshot in the artifact directory dir_fd. */
int fork_snapshot_note(int dir_fd, pid_t pid, uint64_t starttime, const struct fork_snapshot *s);
/* Ends the snapshot noted in dir_fd, if one is (a collector died while it
 * read it: the kernel killed the snapshot, PTRACE_O_EXITKILL, and its
 * zombie waits in the target). */
int fork_snapshot_end_noted(const struct proc_root *proc, int dir_fd);
