#include "metric.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

#define PROCESS(kind, src, shape, scale) kind, src, shape, scale, METRIC_OF_PROCESS, LEAD_RSS
#define DOTNET(kind) PROCESS(kind, METRIC_SOURCE_DOTNET, METRIC_GAUGE, 1), false, NULL
#define CGROUP(kind, src, shape, scale, lead) kind, src, shape, scale, METRIC_OF_CGROUP, lead

static const struct metric_info metrics[METRIC_NAMED_FIRST] = {
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
        /* Responses of status 500 and above in the interval. */
        [METRIC_DOTNET_ASPNET_RESPONSES_5XX] = { "dotnet.aspnet.responses_5xx", DOTNET(METRIC_KIND_COUNT) },
};

#define N_NAMED (METRIC_NAMED_LAST - METRIC_NAMED_FIRST + 1)

/* The named metrics so far: written once each, while rules load (on the
 * main thread), before anything reads them; never changed after. */
static struct named {
        struct metric_info info;
        enum metric_form form;
        char *key;
} named[N_NAMED];
static size_t n_named;

static const char *const form_names[_METRIC_FORM_MAX] = {
        [METRIC_FORM_DOTNET] = "dotnet",
        [METRIC_FORM_DOTNET_EVENTS] = "dotnet.events",
        [METRIC_FORM_DOTNET_ACTIVITY_MS_P99] = "dotnet.activity_ms_p99",
};

/* For near-miss suggestions; filled from the table on first use. */
static const char *names[METRIC_NAMED_FIRST + 1];

const struct metric_info *metric_info(enum metric m) {
        return m >= METRIC_NAMED_FIRST ? &named[m - METRIC_NAMED_FIRST].info : &metrics[m];
}

int metric_form_from_name(const char *name, enum metric_form *ret) {
        for (int f = METRIC_FORM_NONE + 1; f < _METRIC_FORM_MAX; f++)
                if (strcmp(form_names[f], name) == 0) {
                        *ret = (enum metric_form) f;
                        return 0;
                }
        return -ENOENT;
}

/* Provider and name go into the runtime's provider arguments as they are:
 * nothing there may be a separator of those (;,"=:\n). */
#define WORD "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"
static bool valid_key(const char *key) {
        size_t provider = strspn(key, WORD);
        const char *name = key + provider + 1;
        return provider > 0 && key[provider] == '/' && *name && strspn(name, WORD "/") == strlen(name) &&
               strlen(key) < 200;
}

int metric_name(enum metric_form form, const char *key, enum metric *ret) {
        if (!valid_key(key))
                return -EINVAL;
        for (size_t i = 0; i < n_named; i++)
                if (named[i].form == form && strcmp(named[i].key, key) == 0) {
                        *ret = (enum metric) (METRIC_NAMED_FIRST + i);
                        return 0;
                }
        if (n_named == N_NAMED)
                return -ENOSPC;
        struct named *n = &named[n_named];
        char *name;
        if (asprintf(&name, "%s:%s", form_names[form], key) < 0)
                return -ENOMEM;
        n->form = form;
        n->key = strchr(name, ':') + 1;
        n->info = (struct metric_info) { name, DOTNET(METRIC_KIND_COUNT) };
        *ret = (enum metric) (METRIC_NAMED_FIRST + n_named++);
        return 0;
}

enum metric_form metric_form_of(enum metric m) {
        return m >= METRIC_NAMED_FIRST ? named[m - METRIC_NAMED_FIRST].form : METRIC_FORM_NONE;
}

const char *metric_key(enum metric m) {
        return m >= METRIC_NAMED_FIRST ? named[m - METRIC_NAMED_FIRST].key : NULL;
}

int metric_derive(enum metric m, struct metric_prev *prev, double raw, double aux, usec_t mono, double *ret) {
        const struct metric_info *info = metric_info(m);
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
        for (int m = 0; m < METRIC_NAMED_FIRST; m++)
                if (strcmp(metrics[m].name, name) == 0) {
                        *ret = (enum metric) m;
                        return 0;
                }
        const char *colon = strchr(name, ':');
        char form_name[32];
        enum metric_form form;
        if (!colon || (size_t) (colon - name) >= sizeof form_name)
                return -ENOENT;
        snprintf(form_name, sizeof form_name, "%.*s", (int) (colon - name), name);
        if (metric_form_from_name(form_name, &form) < 0)
                return -ENOENT;
        return metric_name(form, colon + 1, ret);
}

const char *const *metric_names(void) {
        if (!names[0])
                for (int m = 0; m < METRIC_NAMED_FIRST; m++)
                        names[m] = metrics[m].name;
        return names;
}

void metric_format(enum metric m, double v, char *buf, size_t size) {
        enum metric_kind kind = metric_info(m)->kind;
        if (!isfinite(v))
                snprintf(buf, size, "-");
        else if (kind == METRIC_KIND_BYTES)
                snprintf(buf, size, "%.1fMiB", v / 1048576.0);
        else if (kind == METRIC_KIND_CORES || kind == METRIC_KIND_PERCENT)
                snprintf(buf, size, "%.1f%%", v);
        /* A program's own counter may be a fraction. */
        else if (fabs(v) < 100 && v != floor(v))
                snprintf(buf, size, "%.2f", v);
        else
                snprintf(buf, size, "%.0f", v);
}
