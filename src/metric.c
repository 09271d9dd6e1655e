#include "metric.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

static const struct metric_info metrics[_METRIC_MAX] = {
        /* cpu reads as CPU seconds used; 100 = one core. */
        [METRIC_CPU] = { "cpu", METRIC_KIND_CORES, METRIC_SOURCE_PROC, METRIC_RATE, 100, true, "one core" },
        [METRIC_RSS] = { "rss", METRIC_KIND_BYTES, METRIC_SOURCE_PROC, METRIC_GAUGE, 1, true,
                         "the effective memory limit" },
        [METRIC_VSIZE] = { "vsize", METRIC_KIND_BYTES, METRIC_SOURCE_PROC, METRIC_GAUGE, 1, false, NULL },
        [METRIC_THREADS] = { "threads", METRIC_KIND_COUNT, METRIC_SOURCE_PROC, METRIC_GAUGE, 1, false, NULL },
        [METRIC_FDS] = { "fds", METRIC_KIND_COUNT, METRIC_SOURCE_PROC, METRIC_GAUGE, 1, true,
                         "the RLIMIT_NOFILE soft limit" },
};

static const char *const names[] = { "cpu", "rss", "vsize", "threads", "fds", NULL };

static const char *const planned[] = {
        "cgroup.memory", "cgroup.memory_ws", "cgroup.oom_kills", "cgroup.cpu", "cgroup.pids",
        "cgroup.throttled", "psi.cpu.some", "psi.memory.some", "psi.memory.full", "psi.io.some",
        "psi.io.full", "go.goroutines", "go.heap_inuse", "jvm.threads", "jvm.heap_used",
        "jvm.gc_time", "jvm.classes",
};

const struct metric_info *metric_info(enum metric m) {
        return &metrics[m];
}

int metric_derive(enum metric m, struct metric_prev *prev, double raw, usec_t mono, double *ret) {
        const struct metric_info *info = &metrics[m];
        if (info->shape == METRIC_GAUGE) {
                *ret = raw;
                return 0;
        }
        struct metric_prev before = *prev;
        *prev = (struct metric_prev) { true, raw, mono };
        if (!before.has_prev || mono <= before.mono || raw < before.raw)
                return -EAGAIN;
        double secs = (double) (mono - before.mono) / USEC_PER_SEC;
        *ret = info->scale * (raw - before.raw) / secs;
        return 0;
}

int metric_from_name(const char *name, enum metric *ret) {
        for (int m = 0; m < _METRIC_MAX; m++)
                if (strcmp(metrics[m].name, name) == 0) {
                        *ret = (enum metric) m;
                        return 0;
                }
        return -ENOENT;
}

bool metric_is_planned(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(planned); i++)
                if (strcmp(planned[i], name) == 0)
                        return true;
        return false;
}

const char *const *metric_names(void) {
        return names;
}

void metric_format(enum metric m, double v, char *buf, size_t size) {
        if (!isfinite(v))
                snprintf(buf, size, "-");
        else if (metrics[m].kind == METRIC_KIND_BYTES)
                snprintf(buf, size, "%.1fMiB", v / 1048576.0);
        else if (metrics[m].kind == METRIC_KIND_CORES)
                snprintf(buf, size, "%.1f%%", v);
        else
                snprintf(buf, size, "%.0f", v);
}
