/* The JVM source: jvm.threads, jvm.heap_used, jvm.gc_time and jvm.classes
 * from the hsperfdata file HotSpot keeps in its /tmp, read from outside
 * with no attach and no code in the target (hsperf.h parses it).
 *
 * The file is found once (then looked for again every 10 s until it is
 * there: the JVM writes it a moment after it starts; most processes are
 * no JVM): the target's namespace pid (NSpid) names it, in any
 * hsperfdata_<user> directory of the target's own /tmp, reached through
 * /proc/PID/root so a container's JVM is found too. It is kept open and
 * read with one pread a sample rather than mapped: the target owns the
 * file and may truncate it, and a read past the end of a mapping is
 * SIGBUS in the watchdog; a read is only short. */
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../hsperf.h"
#include "../source.h"

#define LOOK_AGAIN (10 * USEC_PER_SEC)
#define FILE_MAX (1 << 20)      /* HotSpot's is 32 KiB (-XX:PerfDataMemorySize) */

struct jvm_source_state {
        const struct proc_root *root;
};

struct jvm_note {
        struct source_note note;
        int fd;                 /* the hsperfdata file; -1: not found (yet) */
        usec_t look_after;      /* monotonic: when to look for it again */
        unsigned char *buf;
        size_t cap;
};

static void note_free(struct source_note *n) {
        struct jvm_note *j = (struct jvm_note *) n;
        if (j->fd >= 0)
                close(j->fd);
        free(j->buf);
        free(j);
}

static int jvm_open(const struct source_env *env, void **ret_state) {
        struct jvm_source_state *st = calloc(1, sizeof *st);
        if (!st)
                return -ENOMEM;
        st->root = env->proc;
        *ret_state = st;
        return 0;
}

static void jvm_close(void *state) {
        free(state);
}

static int openat2_(int dir, const char *path, int flags, uint64_t resolve) {
        struct open_how how = { .flags = (uint64_t) flags | O_CLOEXEC, .resolve = resolve };
        return (int) syscall(SYS_openat2, dir, path, &how, sizeof how);
}

/* hsperfdata_<user>/<nspid> in the target's /tmp, owned by the target's
 * user, a regular file of a sane size. Links are resolved inside the
 * target's root and never out of /tmp's subdirectories. */
static int find_file(const struct proc_root *root, pid_t pid, int *ret_fd) {
        pid_t nspid;
        uid_t uid;
        int r = proc_read_nspid(root, pid, &nspid);
        if (r < 0 || (r = proc_read_uid(root, pid, &uid)) < 0)
                return r;
        char path[48];
        snprintf(path, sizeof path, "%d/root", (int) pid);
        _cleanup_close_ int proc_root_fd = openat(root->fd, path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (proc_root_fd < 0)
                return -errno;
        int tmp = openat2_(proc_root_fd, "tmp", O_RDONLY | O_DIRECTORY, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        if (tmp < 0)
                return -errno;
        _cleanup_closedir_ DIR *d = fdopendir(tmp);
        if (!d) {
                close(tmp);
                return -errno;
        }
        struct dirent *de;
        while ((de = readdir(d))) {
                if (strncmp(de->d_name, "hsperfdata_", 11) != 0)
                        continue;
                char name[NAME_MAX + 16];
                snprintf(name, sizeof name, "%s/%d", de->d_name, (int) nspid);
                int fd = openat2_(dirfd(d), name, O_RDONLY | O_NONBLOCK | O_NOCTTY,
                                  RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
                struct stat s;
                if (fd < 0)
                        continue;
                if (fstat(fd, &s) == 0 && S_ISREG(s.st_mode) && s.st_uid == uid && s.st_size >= 32 &&
                    s.st_size <= FILE_MAX) {
                        *ret_fd = fd;
                        return 0;
                }
                close(fd);
        }
        return -ENOENT;
}

static struct jvm_note *note_of(struct target *tg) {
        if (!tg->notes[METRIC_SOURCE_JVM]) {
                struct jvm_note *j = calloc(1, sizeof *j);
                if (!j)
                        return NULL;
                *j = (struct jvm_note) { .note.free = note_free, .fd = -1 };
                tg->notes[METRIC_SOURCE_JVM] = &j->note;
        }
        return (struct jvm_note *) tg->notes[METRIC_SOURCE_JVM];
}

/* The whole file, as it is now. */
static int read_file(struct jvm_note *j, size_t *ret_len) {
        struct stat s;
        if (fstat(j->fd, &s) < 0)
                return -errno;
        /* Gone from its directory: that JVM has exited, or the file was
         * made again; look for it afresh. */
        if (s.st_nlink == 0 || s.st_size < 32 || s.st_size > FILE_MAX)
                return -ENOENT;
        size_t size = (size_t) s.st_size;
        if (size > j->cap) {
                unsigned char *grown = realloc(j->buf, size);
                if (!grown)
                        return -ENOMEM;
                j->buf = grown;
                j->cap = size;
        }
        ssize_t n = pread(j->fd, j->buf, size, 0);
        if (n < 0)
                return -errno;
        *ret_len = (size_t) n;
        return 0;
}

static int jvm_read(void *state, struct target *tg, metric_set want, struct reading *r) {
        const struct jvm_source_state *st = state;
        struct jvm_note *j = note_of(tg);
        if (!j)
                return -ENOMEM;
        usec_t now = now_usec(CLOCK_MONOTONIC);
        if (j->fd < 0) {
                if (now < j->look_after)
                        return 0;
                if (find_file(st->root, tg->id.pid, &j->fd) < 0) {
                        j->look_after = now + LOOK_AGAIN;
                        return proc_is_gone(st->root, tg->id.pid) ? -ESRCH : 0;
                }
        }
        size_t len = 0;
        struct hsperf_values v;
        int e = read_file(j, &len);
        if (e == -ENOENT) {
                close(j->fd);
                j->fd = -1;
                j->look_after = now;
                return 0;
        }
        /* A file cut short or mid-change: no values this sample. */
        if (e < 0 || hsperf_parse(j->buf, len, &v) < 0)
                return 0;
        const struct { enum metric m; bool has; double value; } got[] = {
                { METRIC_JVM_THREADS, v.has_threads, v.threads },
                { METRIC_JVM_HEAP_USED, v.has_heap, v.heap_used },
                { METRIC_JVM_GC_TIME, v.has_gc, v.gc_seconds },
                { METRIC_JVM_CLASSES, v.has_classes, v.classes },
        };
        for (size_t i = 0; i < ELEMENTSOF(got); i++)
                if (got[i].has && (want & METRIC_BIT(got[i].m))) {
                        r->raw[got[i].m] = got[i].value;
                        r->have |= METRIC_BIT(got[i].m);
                }
        return 0;
}

static double jvm_reference(void *state, struct target *tg, enum metric m, const char **ret_what) {
        return 0;
}

const struct source_ops jvm_source = {
        .open = jvm_open,
        .close = jvm_close,
        .read = jvm_read,
        .reference = jvm_reference,
};
