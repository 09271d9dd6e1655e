/* Turns one read of a process into metric values. The read is one pread of
 * the kept-open stat (cpu, rss, vsize, threads) plus, only when a rule wants
 * it, a listing of PID/fd. */
#pragma once

#include <stdbool.h>

#include "metric.h"
#include "proc.h"
#include "util.h"

struct raw_sample {
        struct proc_stat stat;
        usec_t mono;
        bool have_fds;
        unsigned fds;
};

/* CPU is a rate: it needs the reading before. */
struct cpu_rate {
        bool has_prev;
        uint64_t ticks;
        usec_t mono;
};

int sampler_read(struct proc_handle *h, bool want_fds, usec_t mono, struct raw_sample *ret);

/* The value of `m` in `raw`; -EAGAIN for cpu on its first reading. Updates
 * `cpu` when m is METRIC_CPU. */
int sampler_value(const struct proc_root *root, const struct raw_sample *raw, enum metric m,
                  struct cpu_rate *cpu, double *ret);

/* What a % threshold of `m` is of, for a process whose RLIMIT_NOFILE soft
 * limit is `nofile` and on a host with `mem_limit` bytes; 0 if unknown. */
double sampler_reference(enum metric m, double nofile, double mem_limit);

/* The effective memory limit: host RAM for now (cgroup limits come with the
 * cgroup sampler). */
double host_memory_limit(void);
