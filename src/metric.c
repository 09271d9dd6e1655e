#include "metric.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

#define PROCESS(kind, src, shape, scale) kind, src, shape, scale, METRIC_OF_PROCESS, LEAD_RSS
#define DOTNET(kind) PROCESS(kind, METRIC_SOURCE_DOTNET, METRIC_GAUGE, 1), false, NULL
#define CGROUP(kind, src, shape, scale, lead) kind, src, shape, scale, METRIC_OF_CGROUP, lead

static const struct metric_info metrics[_METRIC_MAX] = {
        /* cpu reads as CPU seconds used; 100 = one core. */
        [METRIC_CPU] = { "cpu", PROCESS(METRIC_KIND_CORES, METRIC_SOURCE_PROC, METRIC_RATE, 100), true, "one core" },
        [METRIC_RSS] = { "rss", PROCESS(METRIC_KIND_BYTES, METRIC_SOURCE_PROC, METRIC_GAUGE, 1), true,
                         "the effective memory limit" },
        [METRIC_VSIZE] = { "vsize", PROCESS(METRIC_KIND_BYTES, METRIC_SOURCE_PROC, METRIC_GAUGE, 1), false, NULL },
        [METRIC_THREADS] = { "threads", PROCESS(METRIC_KIND_COUNT, METRIC_SOURCE_PROC, METRIC_GAUGE, 1), false, NULL },
        [METRIC_FDS] = { "fds", PROCESS(METRIC_KIND_COUNT, METRIC_SOURCE_PROC, METRIC_GAUGE, 1), true,
                         "the RLIMIT_NOFILE soft limit" },
        [METRIC_CGROUP_MEMORY] = { "cgroup.memory", CGROUP(METRIC_KIND_BYTES, METRIC_SOURCE_CGROUP, METRIC_GAUGE, 1,
                                                           LEAD_RSS), true, "the cgroup's memory limit" },
        [METRIC_CGROUP_MEMORY_WS] = { "cgroup.memory_ws", CGROUP(METRIC_KIND_BYTES, METRIC_SOURCE_CGROUP, METRIC_GAUGE,
                                                                 1, LEAD_RSS), true, "the cgroup's memory limit" },
        [METRIC_CGROUP_OOM_KILLS] = { "cgroup.oom_kills", CGROUP(METRIC_KIND_COUNT, METRIC_SOURCE_CGROUP, METRIC_DELTA,
                                                                 1, LEAD_RSS), false, NULL },
        /* cgroup.cpu reads as CPU seconds used, as cpu does. */
        [METRIC_CGROUP_CPU] = { "cgroup.cpu", CGROUP(METRIC_KIND_CORES, METRIC_SOURCE_CGROUP, METRIC_RATE, 100,
                                                     LEAD_CPU), true, "one core" },
        [METRIC_CGROUP_PIDS] = { "cgroup.pids", CGROUP(METRIC_KIND_COUNT, METRIC_SOURCE_CGROUP, METRIC_GAUGE, 1,
                                                       LEAD_THREADS), true, "the cgroup's pids limit" },
        /* Throttled periods over all periods in the interval. */
        [METRIC_CGROUP_THROTTLED] = { "cgroup.throttled", CGROUP(METRIC_KIND_PERCENT, METRIC_SOURCE_CGROUP,
                                                                 METRIC_RATIO, 100, LEAD_CPU), false, NULL },
        [METRIC_PSI_CPU_SOME] = { "psi.cpu.some", CGROUP(METRIC_KIND_PERCENT, METRIC_SOURCE_PSI, METRIC_GAUGE, 1,
                                                         LEAD_CPU), false, NULL },
        [METRIC_PSI_MEMORY_SOME] = { "psi.memory.some", CGROUP(METRIC_KIND_PERCENT, METRIC_SOURCE_PSI, METRIC_GAUGE, 1,
                                                               LEAD_RSS), false, NULL },
        [METRIC_PSI_MEMORY_FULL] = { "psi.memory.full", CGROUP(METRIC_KIND_PERCENT, METRIC_SOURCE_PSI, METRIC_GAUGE, 1,
                                                               LEAD_RSS), false, NULL },
        /* Nothing per process says who waits on I/O most cheaply: the
         * largest process is the likeliest. */
        [METRIC_PSI_IO_SOME] = { "psi.io.some", CGROUP(METRIC_KIND_PERCENT, METRIC_SOURCE_PSI, METRIC_GAUGE, 1,
                                                       LEAD_RSS), false, NULL },
        [METRIC_PSI_IO_FULL] = { "psi.io.full", CGROUP(METRIC_KIND_PERCENT, METRIC_SOURCE_PSI, METRIC_GAUGE, 1,
                                                       LEAD_RSS), false, NULL },
        [METRIC_JVM_THREADS] = { "jvm.threads", PROCESS(METRIC_KIND_COUNT, METRIC_SOURCE_JVM, METRIC_GAUGE, 1), false,
                                 NULL },
        [METRIC_JVM_HEAP_USED] = { "jvm.heap_used", PROCESS(METRIC_KIND_BYTES, METRIC_SOURCE_JVM, METRIC_GAUGE, 1),
                                   false, NULL },
        /* Reads as seconds spent in GC: % of the interval. */
        [METRIC_JVM_GC_TIME] = { "jvm.gc_time", PROCESS(METRIC_KIND_PERCENT, METRIC_SOURCE_JVM, METRIC_RATE, 100),
                                 false, NULL },
        [METRIC_JVM_CLASSES] = { "jvm.classes", PROCESS(METRIC_KIND_COUNT, METRIC_SOURCE_JVM, METRIC_GAUGE, 1), false,
                                 NULL },
        [METRIC_GO_GOROUTINES] = { "go.goroutines", PROCESS(METRIC_KIND_COUNT, METRIC_SOURCE_GO, METRIC_GAUGE, 1),
                                   false, NULL },
        [METRIC_GO_HEAP_INUSE] = { "go.heap_inuse", PROCESS(METRIC_KIND_BYTES, METRIC_SOURCE_GO, METRIC_GAUGE, 1),
                                   false, NULL },
        /* The runtime computes each over its counter interval: gauges here. */
        [METRIC_DOTNET_GC_HEAP_SIZE] = { "dotnet.gc_heap_size", DOTNET(METRIC_KIND_BYTES) },
        [METRIC_DOTNET_GC_TIME] = { "dotnet.gc_time", DOTNET(METRIC_KIND_PERCENT) },
        [METRIC_DOTNET_ALLOC_RATE] = { "dotnet.alloc_rate", DOTNET(METRIC_KIND_BYTES) },       /* per second */
        [METRIC_DOTNET_THREADPOOL_QUEUE] = { "dotnet.threadpool_queue", DOTNET(METRIC_KIND_COUNT) },
        [METRIC_DOTNET_THREADPOOL_THREADS] = { "dotnet.threadpool_threads", DOTNET(METRIC_KIND_COUNT) },
        [METRIC_DOTNET_EXCEPTIONS] = { "dotnet.exceptions", DOTNET(METRIC_KIND_COUNT) },        /* per interval */
        [METRIC_DOTNET_WORKING_SET] = { "dotnet.working_set", DOTNET(METRIC_KIND_BYTES) },
        [METRIC_DOTNET_HTTP_CURRENT_REQUESTS] = { "dotnet.http.current_requests", DOTNET(METRIC_KIND_COUNT) },
        [METRIC_DOTNET_HTTP_REQUESTS_FAILED] = { "dotnet.http.requests_failed", DOTNET(METRIC_KIND_COUNT) },
        /* Milliseconds. */
        [METRIC_DOTNET_HTTP_QUEUE_DURATION] = { "dotnet.http.queue_duration", DOTNET(METRIC_KIND_COUNT) },
        [METRIC_DOTNET_DNS_LOOKUPS_DURATION] = { "dotnet.dns.lookups_duration", DOTNET(METRIC_KIND_COUNT) },
        /* Milliseconds: the p99 of the operations that ended in the interval. */
        [METRIC_DOTNET_HTTP_REQUEST_MS_P99] = { "dotnet.http.request_ms_p99", DOTNET(METRIC_KIND_COUNT) },
        [METRIC_DOTNET_DNS_RESOLUTION_MS_P99] = { "dotnet.dns.resolution_ms_p99", DOTNET(METRIC_KIND_COUNT) },
        [METRIC_DOTNET_TLS_HANDSHAKE_MS_P99] = { "dotnet.tls.handshake_ms_p99", DOTNET(METRIC_KIND_COUNT) },
        [METRIC_DOTNET_ASPNET_REQUEST_MS_P99] = { "dotnet.aspnet.request_ms_p99", DOTNET(METRIC_KIND_COUNT) },
};

/* For near-miss suggestions; filled from the table on first use. */
static const char *names[_METRIC_MAX + 1];

static const char *const planned[] = {
        "dotnet.aspnet.responses_5xx",
};

const struct metric_info *metric_info(enum metric m) {
        return &metrics[m];
}

int metric_derive(enum metric m, struct metric_prev *prev, double raw, double aux, usec_t mono, double *ret) {
        const struct metric_info *info = &metrics[m];
        if (info->shape == METRIC_GAUGE) {
                *ret = raw;
                return 0;
        }
        struct metric_prev before = *prev;
        *prev = (struct metric_prev) { true, raw, aux, mono };
        if (!before.has_prev || mono <= before.mono || raw < before.raw || aux < before.aux)
                return -EAGAIN;
        switch (info->shape) {
        case METRIC_RATE:
                *ret = info->scale * (raw - before.raw) / ((double) (mono - before.mono) / USEC_PER_SEC);
                return 0;
        case METRIC_DELTA:
                *ret = raw - before.raw;
                return 0;
        case METRIC_RATIO:
                /* No periods at all (an idle cgroup): nothing throttled. */
                *ret = aux > before.aux ? info->scale * (raw - before.raw) / (aux - before.aux) : 0;
                return 0;
        default:
                return -EINVAL;
        }
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
        if (!names[0])
                for (int m = 0; m < _METRIC_MAX; m++)
                        names[m] = metrics[m].name;
        return names;
}

void metric_format(enum metric m, double v, char *buf, size_t size) {
        if (!isfinite(v))
                snprintf(buf, size, "-");
        else if (metrics[m].kind == METRIC_KIND_BYTES)
                snprintf(buf, size, "%.1fMiB", v / 1048576.0);
        else if (metrics[m].kind == METRIC_KIND_CORES || metrics[m].kind == METRIC_KIND_PERCENT)
                snprintf(buf, size, "%.1f%%", v);
        else
                snprintf(buf, size, "%.0f", v);
}
