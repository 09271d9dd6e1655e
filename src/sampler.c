#include "sampler.h"

#include <sys/sysinfo.h>

int sampler_read(struct proc_handle *h, bool want_fds, usec_t mono, struct raw_sample *ret) {
        struct raw_sample raw = { .mono = mono };
        int r = proc_handle_stat(h, &raw.stat);
        if (r < 0)
                return r;
        if (want_fds) {
                r = proc_handle_count_fds(h, &raw.fds);
                if (r == -ESRCH)
                        return r;
                /* No right to list fds (another user's process, not root):
                 * the fds metric is unavailable, the others still count. */
                raw.have_fds = r >= 0;
        }
        *ret = raw;
        return 0;
}

int sampler_value(const struct proc_root *root, const struct raw_sample *raw, enum metric m,
                  struct cpu_rate *cpu, double *ret) {
        switch (m) {
        case METRIC_CPU: {
                uint64_t ticks = raw->stat.utime + raw->stat.stime;
                struct cpu_rate prev = *cpu;
                *cpu = (struct cpu_rate) { true, ticks, raw->mono };
                if (!prev.has_prev || raw->mono <= prev.mono || ticks < prev.ticks)
                        return -EAGAIN;
                double secs = (double) (raw->mono - prev.mono) / USEC_PER_SEC;
                *ret = 100.0 * (double) (ticks - prev.ticks) / (double) root->clk_tck / secs;
                return 0;
        }
        case METRIC_RSS:
                *ret = (double) raw->stat.rss_pages * (double) root->page_size;
                return 0;
        case METRIC_VSIZE:
                *ret = (double) raw->stat.vsize;
                return 0;
        case METRIC_THREADS:
                *ret = (double) raw->stat.num_threads;
                return 0;
        case METRIC_FDS:
                if (!raw->have_fds)
                        return -EACCES;
                *ret = raw->fds;
                return 0;
        default:
                return -EOPNOTSUPP;
        }
}

double sampler_reference(enum metric m, double nofile, double mem_limit) {
        switch (m) {
        case METRIC_CPU: return 100;
        case METRIC_RSS: return mem_limit;
        case METRIC_FDS: return nofile;
        default: return 0;
        }
}

double host_memory_limit(void) {
        struct sysinfo si;
        if (sysinfo(&si) < 0)
                return 0;
        return (double) si.totalram * si.mem_unit;
}
