/* Reading processes from /proc. The root is injectable (a fixture tree in
 * tests). The sampling hot path reads through fds kept open per process:
 * one pread of /proc/PID/stat gives cpu, rss, vsize and threads. A kept-open
 * /proc/PID fd stays bound to the process it was opened for, so a recycled
 * PID reads as ESRCH, never as another process's numbers. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_stat {
        pid_t pid;
        char comm[16];
        char state;
        pid_t ppid, pgrp, session;
        unsigned flags;         /* PF_* */
        long nice;
        uint64_t utime, stime;  /* clock ticks, all threads */
        long num_threads;
        uint64_t starttime;     /* clock ticks after boot: with pid, the identity */
        uint64_t vsize;         /* bytes */
        int64_t rss_pages;
};

/* Parses the text of /proc/PID/stat. The comm field may hold spaces and
 * parentheses, so fields are found after the last ')'. */
int proc_parse_stat(const char *buf, struct proc_stat *ret);

struct proc_root {
        int fd;                 /* dirfd of the proc root */
        long clk_tck;
        long page_size;
};

int proc_root_open(const char *path, struct proc_root *ret);
void proc_root_close(struct proc_root *root);

/* Reads and parses PID/stat under the root (for scans: open, read, close). */
int proc_read_stat(const struct proc_root *root, pid_t pid, struct proc_stat *ret);
/* Whether PID has exited or is exiting: no longer there, a zombie (which
 * kill(pid, 0) would still find), or on its way out. */
bool proc_is_gone(const struct proc_root *root, pid_t pid);
bool proc_stat_is_kernel_thread(const struct proc_stat *st);
/* Neither exiting (nor a zombie) nor a kernel thread: there is something
 * to sample, stop and dump. */
bool proc_stat_can_be_target(const struct proc_stat *st);
/* PID/cmdline with NULs turned to spaces; "" for kernel threads. */
int proc_read_cmdline(const struct proc_root *root, pid_t pid, char **ret);
/* Whether a line of its maps holds `needle` (a library: "/libjvm.so"). */
int proc_maps_mention(const struct proc_root *root, pid_t pid, const char *needle, bool *ret);
/* Whether the first `limit` bytes of its executable hold `needle` (what a
 * program links to, before it has loaded it). */
int proc_exe_mentions(const struct proc_root *root, pid_t pid, const char *needle, size_t limit, bool *ret);
/* Its environment as it was at exec: NUL-separated "NAME=value"s. */
int proc_read_environ(const struct proc_root *root, pid_t pid, char **ret, size_t *ret_len);
/* NAME's value in an environment read so, or NULL. Pure. */
const char *environ_value(const char *env, size_t len, const char *name);
/* The pid the process has in its own PID namespace (the last of NSpid):
 * what a JVM names its files after. */
int proc_read_nspid(const struct proc_root *root, pid_t pid, pid_t *ret);
/* Real uid from PID/status. */
int proc_read_uid(const struct proc_root *root, pid_t pid, uid_t *ret);
/* Its effective uid and gid, as our user namespace sees them. */
int proc_read_effective_ids(const struct proc_root *root, pid_t pid, uid_t *ret_uid, gid_t *ret_gid);

/* A thread's process and what its process does with signals, from
 * TID/status. Masks have bit N-1 for signal N. */
struct proc_signals {
        pid_t tgid;
        uint64_t caught;        /* SigCgt: a handler is installed */
        uint64_t ignored;       /* SigIgn */
};
int proc_parse_signals(const char *status, struct proc_signals *ret);
int proc_read_signals(const struct proc_root *root, pid_t tid, struct proc_signals *ret);

/* The kept-open handle of one process. */
struct proc_handle {
        pid_t pid;
        uint64_t starttime;
        int dir_fd;
        int stat_fd;
        int fd_dir_fd;          /* PID/fd, opened on first use */
        int statm_fd, task_fd, comm_fd; /* for proc_handle_light(), opened on first use */
};

/* What a sample without cpu needs, for less than stat costs (the kernel
 * formats 52 fields for it: 3.1 µs here, against 2.0 µs for these three):
 * memory from statm, threads from PID/task's link count (threads + 2),
 * the name from comm (it follows an exec). cpu has no cheaper source: a
 * process's schedstat is its main thread's alone. */
struct proc_light {
        uint64_t vsize_pages, rss_pages;
        unsigned threads;
        char comm[16];
};
/* PID/statm's first two fields. Pure. */
int proc_parse_statm(const char *text, struct proc_light *ret);

/* Opens PID and checks its start time is `starttime` (0: take what is
 * found); -ESRCH when the process is gone or the PID was recycled. */
int proc_handle_open(const struct proc_root *root, pid_t pid, uint64_t starttime,
                     struct proc_handle *ret);
void proc_handle_close(struct proc_handle *h);
int proc_handle_stat(const struct proc_handle *h, struct proc_stat *ret);
/* Open file descriptors; -EACCES without the right to look. */
int proc_handle_count_fds(struct proc_handle *h, unsigned *ret);
int proc_handle_light(struct proc_handle *h, struct proc_light *ret);
