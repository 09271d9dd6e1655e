#include "proc.h"

#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "util.h"

int proc_parse_stat(const char *buf, struct proc_stat *ret) {
        struct proc_stat st = {};
        const char *open = strchr(buf, '(');
        const char *close = strrchr(buf, ')');
        if (!open || !close || close < open || close[1] != ' ')
                return -EINVAL;
        st.pid = (pid_t) strtol(buf, NULL, 10);
        size_t n = (size_t) (close - open - 1);
        if (n >= sizeof st.comm)
                n = sizeof st.comm - 1;
        memcpy(st.comm, open + 1, n);
        st.comm[n] = 0;

        /* Fields 3 onwards, after "PID (comm) ", walked by hand: this runs
         * for every process at every sample, and sscanf costs more than
         * the walk. Field numbers as in proc(5). */
        const char *p = close + 2;
        st.state = *p;
        for (int field = 3; *p; field++) {
                while (*p == ' ')
                        p++;
                char *end;
                switch (field) {
                case 4: st.ppid = (pid_t) strtol(p, &end, 10); break;
                case 5: st.pgrp = (pid_t) strtol(p, &end, 10); break;
                case 6: st.session = (pid_t) strtol(p, &end, 10); break;
                case 9: st.flags = (unsigned) strtoul(p, &end, 10); break;
                case 19: st.nice = strtol(p, &end, 10); break;
                case 14: st.utime = strtoull(p, &end, 10); break;
                case 15: st.stime = strtoull(p, &end, 10); break;
                case 20: st.num_threads = strtol(p, &end, 10); break;
                case 22: st.starttime = strtoull(p, &end, 10); break;
                case 23: st.vsize = strtoull(p, &end, 10); break;
                case 24:
                        st.rss_pages = strtoll(p, &end, 10);
                        *ret = st;
                        return 0;
                default: end = strchr(p, ' '); break;
                }
                if (!end || (*end != ' ' && *end != 0 && *end != '\n') || end == p)
                        return -EINVAL;
                p = end;
        }
        return -EINVAL;
}

int proc_root_open(const char *path, struct proc_root *ret) {
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        *ret = (struct proc_root) { .fd = fd, .clk_tck = sysconf(_SC_CLK_TCK),
                                    .page_size = sysconf(_SC_PAGESIZE) };
        return 0;
}

void proc_root_close(struct proc_root *root) {
        if (root->fd >= 0)
                close(root->fd);
        root->fd = -1;
}

/* A process that vanished between listing and reading reads as ENOENT or
 * ESRCH depending on the moment; callers only need "gone". */
static int gone(int r) {
        return r == -ENOENT ? -ESRCH : r;
}

static int read_at_pid(const struct proc_root *root, pid_t pid, const char *file, size_t max,
                       char **ret, size_t *ret_len) {
        char path[64];
        snprintf(path, sizeof path, "%d/%s", (int) pid, file);
        return gone(read_file_at(root->fd, path, max, ret, ret_len));
}

int proc_read_stat(const struct proc_root *root, pid_t pid, struct proc_stat *ret) {
        char path[64], buf[1024];
        snprintf(path, sizeof path, "%d/stat", (int) pid);
        _cleanup_close_ int fd = openat(root->fd, path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return gone(negative_errno());
        ssize_t n = read(fd, buf, sizeof buf - 1);
        if (n <= 0)
                return n < 0 ? gone(negative_errno()) : -ESRCH;
        buf[n] = 0;
        return proc_parse_stat(buf, ret);
}

/* PF_EXITING is set as the exit begins, well before the zombie state: a
 * process killed while we read it shows it at once. */
#define PF_EXITING 0x4
#define PF_KTHREAD 0x00200000

static bool stat_is_exiting(const struct proc_stat *st) {
        return st->state == 'Z' || st->state == 'X' || (st->flags & PF_EXITING);
}

bool proc_is_gone(const struct proc_root *root, pid_t pid) {
        struct proc_stat st;
        return proc_read_stat(root, pid, &st) < 0 || stat_is_exiting(&st);
}

bool proc_stat_is_kernel_thread(const struct proc_stat *st) {
        return st->flags & PF_KTHREAD;
}

bool proc_stat_can_be_target(const struct proc_stat *st) {
        return !stat_is_exiting(st) && !proc_stat_is_kernel_thread(st);
}

int proc_read_cmdline(const struct proc_root *root, pid_t pid, char **ret) {
        char *text;
        size_t len;
        int r = read_at_pid(root, pid, "cmdline", 1 << 20, &text, &len);
        if (r < 0)
                return r;
        while (len > 0 && text[len - 1] == 0)
                len--;
        for (size_t i = 0; i < len; i++)
                if (text[i] == 0)
                        text[i] = ' ';
        text[len] = 0;
        *ret = text;
        return 0;
}

int proc_maps_mention(const struct proc_root *root, pid_t pid, const char *needle, bool *ret) {
        char path[32];
        snprintf(path, sizeof path, "%d/maps", (int) pid);
        int fd = openat(root->fd, path, O_RDONLY | O_CLOEXEC);
        _cleanup_fclose_ FILE *maps = fd >= 0 ? fdopen(fd, "re") : NULL;
        if (!maps) {
                int r = -errno;
                if (fd >= 0)
                        close(fd);
                return gone(r);
        }
        char line[4096];
        *ret = false;
        while (!*ret && fgets(line, sizeof line, maps))
                *ret = strstr(line, needle) != NULL;
        return 0;
}

int proc_exe_mentions(const struct proc_root *root, pid_t pid, const char *needle, size_t limit, bool *ret) {
        char path[32];
        snprintf(path, sizeof path, "%d/exe", (int) pid);
        _cleanup_close_ int fd = openat(root->fd, path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return gone(-errno);
        /* Chunks that overlap by the needle's length, so none is missed
         * where two meet. */
        size_t n = strlen(needle), have = 0, read_so_far = 0;
        char buf[65536];
        *ret = false;
        while (!*ret && read_so_far < limit) {
                ssize_t got = read(fd, buf + have, sizeof buf - have);
                if (got <= 0)
                        return got < 0 ? -errno : 0;
                read_so_far += (size_t) got;
                have += (size_t) got;
                *ret = memmem(buf, have, needle, n) != NULL;
                size_t keep = have < n ? have : n - 1;
                memmove(buf, buf + have - keep, keep);
                have = keep;
        }
        return 0;
}

int proc_read_environ(const struct proc_root *root, pid_t pid, char **ret, size_t *ret_len) {
        return read_at_pid(root, pid, "environ", 1 << 20, ret, ret_len);
}

const char *environ_value(const char *env, size_t len, const char *name) {
        size_t n = strlen(name);
        for (const char *p = env; p < env + len; p += strlen(p) + 1)
                if (strncmp(p, name, n) == 0 && p[n] == '=')
                        return p + n + 1;
        return NULL;
}

int proc_read_uid(const struct proc_root *root, pid_t pid, uid_t *ret) {
        _cleanup_free_ char *text = NULL;
        int r = read_at_pid(root, pid, "status", 64 << 10, &text, NULL);
        if (r < 0)
                return r;
        const char *p = strstr(text, "\nUid:");
        if (!p)
                return -EINVAL;
        *ret = (uid_t) strtoul(p + 5, NULL, 10);
        return 0;
}

int proc_read_effective_ids(const struct proc_root *root, pid_t pid, uid_t *ret_uid, gid_t *ret_gid) {
        _cleanup_free_ char *text = NULL;
        int r = read_at_pid(root, pid, "status", 64 << 10, &text, NULL);
        if (r < 0)
                return r;
        /* "Uid:\treal\teffective\tsaved\tfs" */
        const char *u = strstr(text, "\nUid:"), *g = strstr(text, "\nGid:");
        char *end;
        if (!u || !g)
                return -EINVAL;
        strtoul(u + 5, &end, 10);
        *ret_uid = (uid_t) strtoul(end, NULL, 10);
        strtoul(g + 5, &end, 10);
        *ret_gid = (gid_t) strtoul(end, NULL, 10);
        return 0;
}

int proc_parse_signals(const char *status, struct proc_signals *ret) {
        const char *tgid = strstr(status, "\nTgid:"), *cgt = strstr(status, "\nSigCgt:"),
                   *ign = strstr(status, "\nSigIgn:");
        if (!tgid || !cgt || !ign)
                return -EINVAL;
        *ret = (struct proc_signals) {
                .tgid = (pid_t) strtol(tgid + 6, NULL, 10),
                .caught = strtoull(cgt + 8, NULL, 16),
                .ignored = strtoull(ign + 8, NULL, 16),
        };
        return 0;
}

int proc_read_signals(const struct proc_root *root, pid_t tid, struct proc_signals *ret) {
        _cleanup_free_ char *text = NULL;
        int r = read_at_pid(root, tid, "status", 64 << 10, &text, NULL);
        return r < 0 ? r : proc_parse_signals(text, ret);
}

int proc_handle_open(const struct proc_root *root, pid_t pid, uint64_t starttime,
                     struct proc_handle *ret) {
        char name[16];
        snprintf(name, sizeof name, "%d", (int) pid);
        _cleanup_close_ int dir_fd = openat(root->fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return gone(negative_errno());
        _cleanup_close_ int stat_fd = openat(dir_fd, "stat", O_RDONLY | O_CLOEXEC);
        if (stat_fd < 0)
                return gone(negative_errno());
        struct proc_handle h = { .pid = pid, .dir_fd = dir_fd, .stat_fd = stat_fd, .fd_dir_fd = -1, .statm_fd = -1,
                                 .task_fd = -1, .comm_fd = -1 };
        struct proc_stat st;
        int r = proc_handle_stat(&h, &st);
        if (r < 0)
                return r;
        /* The directory was opened after the caller learnt `starttime`: if
         * the PID was recycled in between, the start time tells. */
        if (starttime && st.starttime != starttime)
                return -ESRCH;
        h.starttime = st.starttime;
        TAKE_FD(dir_fd);
        TAKE_FD(stat_fd);
        *ret = h;
        return 0;
}

void proc_handle_close(struct proc_handle *h) {
        int *fds[] = { &h->dir_fd, &h->stat_fd, &h->fd_dir_fd, &h->statm_fd, &h->task_fd, &h->comm_fd };
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                if (*fds[i] >= 0) {
                        close(*fds[i]);
                        *fds[i] = -1;
                }
}

int proc_handle_stat(const struct proc_handle *h, struct proc_stat *ret) {
        char buf[1024];
        ssize_t n = pread(h->stat_fd, buf, sizeof buf - 1, 0);
        if (n < 0)
                return gone(negative_errno());
        if (n == 0)
                return -ESRCH;
        buf[n] = 0;
        return proc_parse_stat(buf, ret);
}

int proc_parse_statm(const char *text, struct proc_light *ret) {
        unsigned long long size, resident;
        if (sscanf(text, "%llu %llu", &size, &resident) != 2)
                return -EINVAL;
        ret->vsize_pages = size;
        ret->rss_pages = resident;
        return 0;
}

/* The kept-open file `name` of the handle's process (opened now if not
 * yet), read from its start. */
static int pread_kept(struct proc_handle *h, int *fd, const char *name, char *buf, size_t size) {
        if (*fd < 0 && (*fd = openat(h->dir_fd, name, O_RDONLY | O_CLOEXEC)) < 0)
                return gone(negative_errno());
        ssize_t n = pread(*fd, buf, size - 1, 0);
        if (n < 0)
                return gone(negative_errno());
        if (n == 0)
                return -ESRCH;
        buf[n] = 0;
        return 0;
}

int proc_handle_light(struct proc_handle *h, struct proc_light *ret) {
        char statm[256], comm[sizeof ret->comm + 1];       /* 15 characters, a newline */
        struct stat st;
        int r = pread_kept(h, &h->statm_fd, "statm", statm, sizeof statm);
        if (r == 0)
                r = pread_kept(h, &h->comm_fd, "comm", comm, sizeof comm);
        if (r < 0)
                return r;
        if (h->task_fd < 0 && (h->task_fd = openat(h->dir_fd, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
                return gone(negative_errno());
        if (fstat(h->task_fd, &st) < 0)
                return gone(negative_errno());
        if ((r = proc_parse_statm(statm, ret)) < 0)
                return r;
        /* An exited process's task directory is empty: nothing to count. */
        if (st.st_nlink <= 2)
                return -ESRCH;
        ret->threads = (unsigned) (st.st_nlink - 2);
        comm[strcspn(comm, "\n")] = 0;
        snprintf(ret->comm, sizeof ret->comm, "%.15s", comm);
        return 0;
}

struct linux_dirent64 {
        uint64_t d_ino;
        int64_t d_off;
        unsigned short d_reclen;
        unsigned char d_type;
        char d_name[];
};

int proc_handle_count_fds(struct proc_handle *h, unsigned *ret) {
        if (h->fd_dir_fd < 0) {
                h->fd_dir_fd = openat(h->dir_fd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (h->fd_dir_fd < 0)
                        return gone(negative_errno());
        }
        /* Rewinding a /proc directory makes the kernel list it afresh; raw
         * getdents64 avoids a DIR* allocation per sample. */
        if (lseek(h->fd_dir_fd, 0, SEEK_SET) < 0)
                return gone(negative_errno());
        unsigned count = 0;
        char buf[16384] __attribute__((aligned(8)));
        for (;;) {
                long n = syscall(SYS_getdents64, h->fd_dir_fd, buf, sizeof buf);
                if (n < 0)
                        return gone(negative_errno());
                if (n == 0)
                        break;
                for (long off = 0; off < n;) {
                        struct linux_dirent64 *d = (struct linux_dirent64 *) (buf + off);
                        if (d->d_name[0] != '.')
                                count++;
                        off += d->d_reclen;
                }
        }
        *ret = count;
        return 0;
}

int proc_read_nspid(const struct proc_root *root, pid_t pid, pid_t *ret) {
        char path[32];
        snprintf(path, sizeof path, "%d/status", (int) pid);
        _cleanup_free_ char *text = NULL;
        int r = read_file_at(root->fd, path, 64 << 10, &text, NULL);
        if (r < 0)
                return r;
        const char *line = strstr(text, "\nNSpid:");
        if (!line)
                return -ENOENT;
        line += 7;
        long last = -1;
        for (char *end; *line && *line != '\n'; line = end) {
                long v = strtol(line, &end, 10);
                if (end == line)
                        break;
                last = v;
        }
        if (last <= 0)
                return -ENOENT;
        *ret = (pid_t) last;
        return 0;
}
