/* The /proc source: one pread of the target's kept-open PID/stat gives cpu,
 * rss, vsize and threads (and tells whether it still lives); fds lists
 * PID/fd, only when a rule asks. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "../source.h"

struct proc_source_state {
        const struct proc_root *root;
        const struct cgroup_mounts *cgroups;
        double host_memory;     /* bytes: a % of rss is of it without a cgroup limit */
};

static int proc_open(const struct source_env *env, void **ret_state) {
        struct proc_source_state *st = calloc(1, sizeof *st);
        if (!st)
                return -ENOMEM;
        st->root = env->proc;
        st->cgroups = env->cgroups;
        struct sysinfo si;
        if (sysinfo(&si) == 0)
                st->host_memory = (double) si.totalram * si.mem_unit;
        *ret_state = st;
        return 0;
}

static void proc_close(void *state) {
        free(state);
}

/* How long a process's memory limit is trusted: a process can be moved to
 * another cgroup after it starts (a container runtime placing its init). */
#define MEMORY_LIMIT_TTL (10 * USEC_PER_SEC)

/* The smallest memory limit on the process's cgroup path, 0 if none: what
 * a % of rss is of, so 80% means 80% of a container's limit. */
static void find_memory_limit(const struct proc_source_state *st, struct target *tg, usec_t now) {
        tg->proc.memory_limit_read = now;
        tg->proc.memory_limit = 0;
        char path[32], text[4096];
        snprintf(path, sizeof path, "%d/cgroup", (int) tg->id.pid);
        _cleanup_close_ int fd = openat(st->root->fd, path, O_RDONLY | O_CLOEXEC);
        struct cgroup_paths paths;
        uint64_t limit;
        if (!st->cgroups || fd < 0 || cgroup_pread(fd, text, sizeof text) < 0 ||
            cgroup_parse_proc(text, &paths, NULL) < 0)
                return;
        if (cgroup_memory_limit(st->cgroups, &paths, &limit) == 0)
                tg->proc.memory_limit = (double) limit;
        cgroup_paths_free(&paths);
}

/* rss, vsize and threads without stat, when cpu is not wanted. */
static int read_light(const struct proc_source_state *st, struct target *tg, metric_set want, struct reading *r) {
        struct proc_light l;
        int e = proc_handle_light(&tg->proc.handle, &l);
        if (e < 0)
                return e;
        memcpy(tg->name, l.comm, sizeof tg->name);        /* follows exec */
        r->raw[METRIC_RSS] = (double) l.rss_pages * (double) st->root->page_size;
        r->raw[METRIC_VSIZE] = (double) l.vsize_pages * (double) st->root->page_size;
        r->raw[METRIC_THREADS] = (double) l.threads;
        r->have |= want & (METRIC_BIT(METRIC_RSS) | METRIC_BIT(METRIC_VSIZE) | METRIC_BIT(METRIC_THREADS));
        return 0;
}

static int read_stat(const struct proc_source_state *st, struct target *tg, metric_set want, struct reading *r) {
        struct proc_stat s;
        int e = proc_handle_stat(&tg->proc.handle, &s);
        if (e < 0)
                return e;
        memcpy(tg->name, s.comm, sizeof tg->name);        /* follows exec */
        r->raw[METRIC_CPU] = (double) (s.utime + s.stime) / (double) st->root->clk_tck;
        r->raw[METRIC_RSS] = (double) s.rss_pages * (double) st->root->page_size;
        r->raw[METRIC_VSIZE] = (double) s.vsize;
        r->raw[METRIC_THREADS] = (double) s.num_threads;
        r->have |= want & (METRIC_BIT(METRIC_CPU) | METRIC_BIT(METRIC_RSS) | METRIC_BIT(METRIC_VSIZE) |
                           METRIC_BIT(METRIC_THREADS));
        return 0;
}

static int proc_read(void *state, struct target *tg, metric_set want, struct reading *r) {
        const struct proc_source_state *st = state;
        int e = want & METRIC_BIT(METRIC_CPU) ? read_stat(st, tg, want, r) : read_light(st, tg, want, r);
        if (e < 0)
                return e;
        if (want & METRIC_BIT(METRIC_FDS)) {
                unsigned fds;
                e = proc_handle_count_fds(&tg->proc.handle, &fds);
                if (e == -ESRCH)
                        return e;
                /* No right to list fds (another user's process, not root):
                 * fds is unavailable, the others still count. */
                if (e >= 0) {
                        r->raw[METRIC_FDS] = fds;
                        r->have |= METRIC_BIT(METRIC_FDS);
                }
        }
        return 0;
}

static double proc_reference(void *state, struct target *tg, enum metric m, const char **ret_what) {
        const struct proc_source_state *st = state;
        usec_t now;
        switch (m) {
        case METRIC_CPU:
                *ret_what = "one core";
                return 100;
        case METRIC_RSS:
                /* Read when a % rule needs it, then every MEMORY_LIMIT_TTL. */
                now = now_usec(CLOCK_MONOTONIC);
                if (!tg->proc.memory_limit_read || now - tg->proc.memory_limit_read >= MEMORY_LIMIT_TTL)
                        find_memory_limit(st, tg, now);
                *ret_what = tg->proc.memory_limit ? "the memory limit of its cgroup"
                                                  : "host RAM (its cgroup has no memory limit)";
                return tg->proc.memory_limit ? tg->proc.memory_limit : st->host_memory;
        case METRIC_FDS:
                *ret_what = "its RLIMIT_NOFILE soft limit";
                return tg->proc.nofile_limit;
        default:
                return 0;
        }
}

const struct source_ops proc_source = {
        .open = proc_open,
        .close = proc_close,
        .read = proc_read,
        .reference = proc_reference,
};
