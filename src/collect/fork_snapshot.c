#include "fork_snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../cgroupfs.h"

#define SYSCALL_STOP (SIGTRAP | 0x80)
/* For the clone only: the child is followed, and dies with us. Never left
 * on the target's thread, which EXITKILL would kill with us too. */
#define CLONE_OPTIONS (PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | \
                       PTRACE_O_EXITKILL)
#define VDSO_MAX (64 << 10)
#define USER64_CS 0x33          /* a 64-bit thread's code segment; a 32-bit one's is 0x23 */

static struct stopped_thread *main_thread(struct stopped_process *sp) {
        for (size_t i = 0; i < sp->n; i++)
                if (sp->threads[i].tid == sp->pid)
                        return &sp->threads[i];
        return NULL;
}

/* A `syscall` instruction (0f 05) in the process's vDSO: any such pair of
 * bytes is one, wherever it starts, and nothing after it runs. */
static int find_syscall(const struct proc_root *proc, pid_t pid, uint64_t *ret) {
        char path[32];
        _cleanup_free_ char *maps = NULL;
        snprintf(path, sizeof path, "%d/maps", (int) pid);
        int r = read_file_at(proc->fd, path, 64 << 20, &maps, NULL);
        if (r < 0)
                return r;
        const char *line = strstr(maps, "[vdso]");
        unsigned long start, end;
        while (line && line > maps && line[-1] != '\n')
                line--;
        if (!line || sscanf(line, "%lx-%lx", &start, &end) != 2 || end <= start)
                return -ENOENT;
        snprintf(path, sizeof path, "%d/mem", (int) pid);
        _cleanup_close_ int fd = openat(proc->fd, path, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *code = malloc(VDSO_MAX);
        size_t len = end - start < VDSO_MAX ? end - start : VDSO_MAX;
        if (fd < 0 || !code)
                return fd < 0 ? -errno : -ENOMEM;
        if (pread(fd, code, len, (off_t) start) != (ssize_t) len)
                return -EIO;
        const char *at = memmem(code, len, "\x0f\x05", 2);
        if (!at)
                return -ENOENT;
        *ret = start + (uint64_t) (at - code);
        return 0;
}

/* The next stop of `t`; a signal that arrives meanwhile is kept for the
 * detach, as ptrace_stop_process keeps them. -ESRCH if it exited. */
static int next_stop(struct stopped_thread *t, int *ret_status) {
        for (;;) {
                int status;
                pid_t w = waitpid(t->tid, &status, __WALL);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        return errno == ECHILD ? -ESRCH : -errno;
                if (WIFEXITED(status) || WIFSIGNALED(status))
                        return -ESRCH;
                int sig = WSTOPSIG(status);
                if (WIFSTOPPED(status) && (status >> 16) == 0 && sig != SIGTRAP && sig != SYSCALL_STOP) {
                        /* Two different signals in this instant would
                         * lose the first: rarer than a fork. */
                        t->pending_signal = sig;
                        if (ptrace(PTRACE_SYSCALL, t->tid, NULL, NULL) < 0)
                                return -errno;
                        continue;
                }
                *ret_status = status;
                return 0;
        }
}

/* Steps the syscall `regs` describes through its entry, the clone event
 * if one comes, and its exit. */
static int run_syscall(struct stopped_thread *t, const struct user_regs_struct *regs, pid_t *ret_child,
                       long *ret_result) {
        if (ptrace(PTRACE_SETREGS, t->tid, NULL, regs) < 0)
                return -errno;
        for (bool entered = false;;) {
                int status, r;
                if (ptrace(PTRACE_SYSCALL, t->tid, NULL, NULL) < 0)
                        return -errno;
                if ((r = next_stop(t, &status)) < 0)
                        return r;
                int event = status >> 16;
                unsigned long msg;
                if (event == PTRACE_EVENT_CLONE || event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK) {
                        if (ptrace(PTRACE_GETEVENTMSG, t->tid, NULL, &msg) == 0 && ret_child)
                                *ret_child = (pid_t) msg;
                } else if (WSTOPSIG(status) == SYSCALL_STOP && entered) {
                        struct user_regs_struct out;
                        if (ptrace(PTRACE_GETREGS, t->tid, NULL, &out) < 0)
                                return -errno;
                        *ret_result = (long) out.rax;
                        return 0;
                } else if (WSTOPSIG(status) == SYSCALL_STOP)
                        entered = true;
        }
}

/* Puts `saved` back in a fresh interrupt stop: resuming from there runs
 * the syscall-restart logic on them, as the stop we took them in would
 * have. (At the syscall-exit stop they would go to user space as they are.)
 * The pending interrupt stops the thread before it returns to user space. */
static int put_back(struct stopped_thread *t, const struct user_regs_struct *saved) {
        if (ptrace(PTRACE_INTERRUPT, t->tid, NULL, NULL) < 0 || ptrace(PTRACE_CONT, t->tid, NULL, NULL) < 0)
                return -errno;
        for (;;) {
                int status, r = next_stop(t, &status);
                if (r < 0)
                        return r;
                if (status >> 16 == PTRACE_EVENT_STOP)
                        break;
                if (ptrace(PTRACE_CONT, t->tid, NULL, NULL) < 0)
                        return -errno;
        }
        return ptrace(PTRACE_SETREGS, t->tid, NULL, saved) < 0 ? -errno : 0;
}

/* Runs syscall `nr` with `args` in the stopped thread `t`, its registers
 * as they were afterwards. */
static int inject(struct stopped_thread *t, uint64_t at, long nr, const unsigned long args[4], pid_t *ret_child,
                  long *ret_result) {
        struct user_regs_struct saved, regs;
        if (ptrace(PTRACE_GETREGS, t->tid, NULL, &saved) < 0)
                return -errno;
        /* In a 32-bit thread `syscall` is no instruction (SIGILL), and the
         * numbers are others. */
        if (saved.cs != USER64_CS)
                return -EPROTONOSUPPORT;
        regs = saved;
        regs.rip = at;
        regs.rax = (unsigned long) nr;
        regs.orig_rax = (unsigned long) -1;     /* no syscall to restart when it resumes into ours */
        regs.rdi = args[0];
        regs.rsi = args[1];
        regs.rdx = args[2];
        regs.r10 = args[3];
        regs.r8 = 0;
        int r = run_syscall(t, &regs, ret_child, ret_result);
        int p = put_back(t, &saved);
        return r < 0 ? r : p;
}

/* A "Key:  N kB" line of a status-like text, in bytes; 0 when absent. */
static uint64_t kib_field(const char *text, const char *key) {
        const char *p = strstr(text, key);
        return p ? strtoull(p + strlen(key), NULL, 10) * 1024 : 0;
}

/* What the target's cgroup may still take; UINT64_MAX when unlimited. */
static uint64_t cgroup_room(const struct proc_root *proc, pid_t pid) {
        char path[32], text[4096];
        snprintf(path, sizeof path, "%d/cgroup", (int) pid);
        _cleanup_close_ int fd = openat(proc->fd, path, O_RDONLY | O_CLOEXEC);
        struct cgroup_mounts m = {};
        struct cgroup_paths paths = {};
        uint64_t limit = 0, usage = 0, room = UINT64_MAX;
        if (fd >= 0 && cgroup_pread(fd, text, sizeof text) == 0 && cgroup_parse_proc(text, &paths, NULL) == 0 &&
            cgroup_mounts_discover(&m) == 0 && cgroup_memory_limit(&m, &paths, &limit) == 0 && limit &&
            cgroup_memory_usage(&m, &paths, &usage) == 0)
                room = limit > usage ? limit - usage : 0;
        cgroup_mounts_free(&m);
        cgroup_paths_free(&paths);
        return room;
}

int fork_snapshot_refusal(const struct proc_root *proc, pid_t pid, char *why, size_t size) {
        char path[48];
        _cleanup_free_ char *status = NULL, *meminfo = NULL;
        snprintf(path, sizeof path, "%d/task/%d/status", (int) pid, (int) pid);
        int r = read_file_at(proc->fd, path, 64 << 10, &status, NULL);
        if (r < 0 || (r = read_file_at(proc->fd, "meminfo", 64 << 10, &meminfo, NULL)) < 0) {
                snprintf(why, size, "cannot read its status: %s", strerror(-r));
                return r;
        }
        const char *seccomp = strstr(status, "\nSeccomp:");
        if (seccomp && strtol(seccomp + 9, NULL, 10) != 0) {
                /* A filter may answer clone with SECCOMP_RET_KILL_PROCESS. */
                snprintf(why, size, "its main thread runs under a seccomp filter, which may kill it for the "
                         "injected fork");
                return -EPERM;
        }
        /* Each page it writes while the core is written is copied: were it
         * to write all its anonymous memory, that much again. The OOM
         * killer would take the snapshot first (oom_score_adj 1000), and
         * then the target. */
        uint64_t need = kib_field(status, "\nRssAnon:"), available = kib_field(meminfo, "\nMemAvailable:"),
                 room = cgroup_room(proc, pid);
        if (need > available || need > room) {
                snprintf(why, size, "the snapshot could need %.0f MiB more (the target's anonymous memory, should it "
                         "write all of it meanwhile) and %s has %.0f MiB left", (double) need / 1048576,
                         room < available ? "its memory cgroup" : "the system",
                         (double) (room < available ? room : available) / 1048576);
                return -ENOMEM;
        }
        return 0;
}

/* Kills the snapshot and, when we trace it, takes its exit (the watchdog,
 * cleaning up after a collector that died, does not: then the kernel has
 * killed it already). */
static void kill_child(pid_t child) {
        kill(child, SIGKILL);
        while (waitpid(child, NULL, __WALL) < 0 && errno == EINTR)
                ;
}

int fork_snapshot_take(const struct proc_root *proc, struct stopped_process *sp, struct fork_snapshot *ret,
                       char *why, size_t size) {
        struct stopped_thread *t = main_thread(sp);
        uint64_t at;
        int r = t ? find_syscall(proc, sp->pid, &at) : -ESRCH;
        if (r < 0) {
                snprintf(why, size, r == -ESRCH ? "its main thread is gone" : "no syscall instruction found in its "
                         "vDSO: %s", strerror(-r));
                return r;
        }
        if (ptrace(PTRACE_SETOPTIONS, t->tid, NULL, (void *) CLONE_OPTIONS) < 0) {
                snprintf(why, size, "cannot set ptrace options: %m");
                return -errno;
        }
        /* clone(flags 0): a process of its own, exit signal 0. */
        const unsigned long args[4] = { 0, 0, 0, 0 };
        pid_t child = 0;
        long result = 0;
        r = inject(t, at, SYS_clone, args, &child, &result);
        (void) ptrace(PTRACE_SETOPTIONS, t->tid, NULL, 0);
        if (r == 0 && result < 0)
                r = (int) result;
        if (r < 0 || child <= 0) {
                if (child > 0)
                        kill_child(child);
                if (r == -EPROTONOSUPPORT)
                        snprintf(why, size, "a 32-bit process: no fork is injected into it");
                else
                        snprintf(why, size, r < 0 ? "the kernel refused the fork: %s" : "the fork made no process%s",
                                 r < 0 ? strerror(-r) : "");
                return r < 0 ? r : -EIO;
        }
        /* It stops before its first instruction; it is the one to go
         * should memory run out. */
        struct stopped_thread c = { .tid = child };
        int status;
        (void) next_stop(&c, &status);
        char path[48];
        snprintf(path, sizeof path, "%d/oom_score_adj", (int) child);
        _cleanup_close_ int fd = openat(proc->fd, path, O_WRONLY | O_CLOEXEC);
        if (fd >= 0)
                (void) !write(fd, "1000", 4);
        *ret = (struct fork_snapshot) { .child = child };
        return 0;
}

int fork_snapshot_extra_bytes(const struct proc_root *proc, const struct fork_snapshot *s, uint64_t *ret) {
        char path[48];
        _cleanup_free_ char *text = NULL;
        snprintf(path, sizeof path, "%d/smaps_rollup", (int) s->child);
        int r = read_file_at(proc->fd, path, 64 << 10, &text, NULL);
        if (r < 0)
                return r;
        *ret = kib_field(text, "\nPrivate_Clean:") + kib_field(text, "\nPrivate_Dirty:");
        return 0;
}

/* In `t`, seized: stops it, checks it is still the process we snapshot
 * (seized, its PID is its own), and has it wait4 for `child`. Its vDSO is
 * found again: an exec moves it. */
static int reap_in(const struct proc_root *proc, struct stopped_thread *t, uint64_t starttime, pid_t child) {
        struct proc_stat st;
        int status, r;
        uint64_t at;
        long result = 0;
        /* The child as the target names it: in its PID namespace. */
        pid_t theirs = child;
        (void) proc_read_nspid(proc, child, &theirs);
        /* WNOHANG: its main thread must never wait on anything else. */
        const unsigned long args[4] = { (unsigned long) theirs, 0, __WALL | WNOHANG, 0 };
        if (ptrace(PTRACE_INTERRUPT, t->tid, NULL, NULL) < 0 || next_stop(t, &status) < 0)
                return -ESRCH;
        if (proc_read_stat(proc, t->tid, &st) < 0 || st.starttime != starttime)
                return -ESRCH;
        if ((r = find_syscall(proc, t->tid, &at)) < 0 || (r = inject(t, at, SYS_wait4, args, NULL, &result)) < 0)
                return r;
        return result == theirs ? 0 : result < 0 ? (int) result : -ECHILD;
}

/* Whether `child` is a zombie child of `pid`, waiting up to a second for
 * it to become one. */
static bool zombie_of(const struct proc_root *proc, pid_t child, pid_t pid) {
        for (int i = 0; i < 100; i++) {
                struct proc_stat st;
                if (proc_read_stat(proc, child, &st) < 0 || st.ppid != pid)
                        return false;
                if (st.state == 'Z')
                        return true;
                usleep(10000);
        }
        return false;
}

int fork_snapshot_end(const struct proc_root *proc, pid_t pid, uint64_t starttime, struct fork_snapshot *s) {
        if (s->child <= 0)
                return 0;
        pid_t child = s->child;
        s->child = 0;
        kill_child(child);
        /* Its zombie is the target's: exit signal 0 sent the target no
         * SIGCHLD, and only a wait with __WALL sees it. The target's main
         * thread alone is stopped for that wait4. */
        if (!zombie_of(proc, child, pid))
                return -ECHILD;
        struct stopped_thread t = { .tid = pid };
        if (ptrace(PTRACE_SEIZE, pid, NULL, (void *) PTRACE_O_TRACESYSGOOD) < 0)
                return -errno;
        int r = reap_in(proc, &t, starttime, child);
        ptrace(PTRACE_DETACH, pid, NULL, (void *) (long) t.pending_signal);
        return r;
}

int fork_snapshot_note(int dir_fd, pid_t pid, uint64_t starttime, const struct fork_snapshot *s) {
        _cleanup_close_ int fd = openat(dir_fd, FORK_SNAPSHOT_NOTE, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || dprintf(fd, "%d %llu %d\n", (int) pid, (unsigned long long) starttime, (int) s->child) < 0)
                return -errno;
        return 0;
}

int fork_snapshot_end_noted(const struct proc_root *proc, int dir_fd) {
        _cleanup_free_ char *text = NULL;
        int pid, child;
        unsigned long long starttime;
        int r = read_file_at(dir_fd, FORK_SNAPSHOT_NOTE, 256, &text, NULL);
        if (r < 0)
                return r == -ENOENT ? 0 : r;
        (void) unlinkat(dir_fd, FORK_SNAPSHOT_NOTE, 0);
        if (sscanf(text, "%d %llu %d", &pid, &starttime, &child) != 3 || pid <= 0 || child <= 0)
                return -EINVAL;
        struct fork_snapshot s = { .child = child };
        return fork_snapshot_end(proc, pid, starttime, &s);
}

static bool overlaps(const struct mapping_list *l, const struct mapping *m) {
        for (size_t i = 0; i < l->n; i++)
                if (m->start < l->items[i].end && l->items[i].start < m->end)
                        return true;
        return false;
}

static int by_start(const void *a, const void *b) {
        const struct mapping *x = a, *y = b;
        return (x->start > y->start) - (x->start < y->start);
}

int fork_snapshot_add_not_copied(const struct proc_root *proc, pid_t pid, struct mapping_list *snapshot,
                                 uint64_t *ret) {
        struct mapping_list maps;
        int r = maps_read(proc->fd, pid, &maps);
        if (r < 0)
                return r;
        *ret = 0;
        for (size_t i = 0; r == 0 && i < maps.n; i++) {
                struct mapping m = maps.items[i];
                /* The target runs on: what it mapped since is no part of
                 * the instant. */
                if (!m.dontfork || overlaps(snapshot, &m))
                        continue;
                struct mapping *grown = realloc(snapshot->items, (snapshot->n + 1) * sizeof *grown);
                if (grown)
                        snapshot->items = grown;
                if (!grown || !(m.path = strdup(m.path))) {
                        r = -ENOMEM;
                        break;
                }
                snapshot->items[snapshot->n++] = m;
                *ret += m.end - m.start;
        }
        qsort(snapshot->items, snapshot->n, sizeof *snapshot->items, by_start);
        maps_free(&maps);
        return r;
}
