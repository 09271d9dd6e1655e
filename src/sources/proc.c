/* The /proc source: one pread of the target's kept-open PID/stat gives cpu,
 * rss, vsize and threads (and tells whether it still lives); fds lists
 * PID/fd, only when a rule asks. */
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "../source.h"

struct proc_source_state {
        const struct proc_root *root;
        double host_memory;     /* bytes: what a % of rss is of */
};

static int proc_open(const struct source_env *env, void **ret_state) {
        struct proc_source_state *st = calloc(1, sizeof *st);
        if (!st)
                return -ENOMEM;
        st->root = env->proc;
        /* Host RAM; the effective cgroup limit comes with the cgroup
         * source. */
        struct sysinfo si;
        if (sysinfo(&si) == 0)
                st->host_memory = (double) si.totalram * si.mem_unit;
        *ret_state = st;
        return 0;
}

static void proc_close(void *state) {
        free(state);
}

static int proc_read(void *state, struct target *tg, metric_set want, struct reading *r) {
        const struct proc_source_state *st = state;
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

static double proc_reference(void *state, const struct target *tg, enum metric m) {
        const struct proc_source_state *st = state;
        switch (m) {
        case METRIC_CPU: return 100;
        case METRIC_RSS: return st->host_memory;
        case METRIC_FDS: return tg->proc.nofile_limit;
        default: return 0;
        }
}

const struct source_ops proc_source = {
        .open = proc_open,
        .close = proc_close,
        .read = proc_read,
        .reference = proc_reference,
};
