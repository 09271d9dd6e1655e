/* The metric table: names (a contract: added to, never renamed), what kind
 * of value each is, which source reads it, how a reading becomes a value,
 * and what a % threshold is of. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum metric {
        METRIC_CPU,
        METRIC_RSS,
        METRIC_VSIZE,
        METRIC_THREADS,
        METRIC_FDS,
        METRIC_CGROUP_MEMORY,
        METRIC_CGROUP_MEMORY_WS,
        METRIC_CGROUP_OOM_KILLS,
        METRIC_CGROUP_CPU,
        METRIC_CGROUP_PIDS,
        METRIC_CGROUP_THROTTLED,
        METRIC_PSI_CPU_SOME,
        METRIC_PSI_MEMORY_SOME,
        METRIC_PSI_MEMORY_FULL,
        METRIC_PSI_IO_SOME,
        METRIC_PSI_IO_FULL,
        METRIC_JVM_THREADS,
        METRIC_JVM_HEAP_USED,
        METRIC_JVM_GC_TIME,
        METRIC_JVM_CLASSES,
        METRIC_GO_GOROUTINES,
        METRIC_GO_HEAP_INUSE,
        METRIC_DOTNET_GC_HEAP_SIZE,
        METRIC_DOTNET_GC_TIME,
        METRIC_DOTNET_ALLOC_RATE,
        METRIC_DOTNET_THREADPOOL_QUEUE,
        METRIC_DOTNET_THREADPOOL_THREADS,
        METRIC_DOTNET_EXCEPTIONS,
        METRIC_DOTNET_WORKING_SET,
        METRIC_DOTNET_HTTP_CURRENT_REQUESTS,
        METRIC_DOTNET_HTTP_REQUESTS_FAILED,
        METRIC_DOTNET_HTTP_QUEUE_DURATION,
        METRIC_DOTNET_DNS_LOOKUPS_DURATION,
        METRIC_DOTNET_HTTP_REQUEST_MS_P99,
        METRIC_DOTNET_DNS_RESOLUTION_MS_P99,
        METRIC_DOTNET_TLS_HANDSHAKE_MS_P99,
        METRIC_DOTNET_ASPNET_REQUEST_MS_P99,
        METRIC_DOTNET_ASPNET_RESPONSES_5XX,
        /* Slots for the metrics rules name themselves (metric_name()). */
        METRIC_NAMED_FIRST,
        METRIC_NAMED_LAST = METRIC_NAMED_FIRST + 23,
        _METRIC_MAX,
};

/* A set of metrics, a bit each. */
typedef uint64_t metric_set;
#define METRIC_BIT(m) (UINT64_C(1) << (m))
_Static_assert(_METRIC_MAX <= 64, "metric_set holds a bit per metric");

/* Who reads a metric (src/sources/): a metric with no source cannot be
 * used in a rule, and that is found when the rules load. */
enum metric_source {
        METRIC_SOURCE_PROC,     /* /proc/PID */
        METRIC_SOURCE_CGROUP,   /* cgroupfs, v1 or v2 */
        METRIC_SOURCE_PSI,      /* pressure files: sampled avg10, or kernel triggers */
        METRIC_SOURCE_JVM,      /* the JVM's hsperfdata file */
        METRIC_SOURCE_GO,       /* a Go program's net/http/pprof */
        METRIC_SOURCE_DOTNET,   /* a .NET runtime's EventCounters over EventPipe */
        _METRIC_SOURCE_MAX,
};

/* How a source's reading becomes the value rules see. */
enum metric_shape {
        METRIC_GAUGE,           /* the reading is the value */
        METRIC_RATE,            /* a counter: scale × its growth per second since the reading before */
        METRIC_DELTA,           /* a counter: its growth since the reading before */
        METRIC_RATIO,           /* two counters: scale × the growth of one over the other's */
};

/* Who a metric is of: a process, or a cgroup (a rule that selects
 * processes then watches each one's cgroup). */
enum metric_scope { METRIC_OF_PROCESS, METRIC_OF_CGROUP };

/* When a cgroup's rule fires, which of its processes the process actions
 * go to: the one that leads what the metric measures. */
enum metric_lead { LEAD_RSS, LEAD_CPU, LEAD_THREADS };

enum metric_kind {
        METRIC_KIND_CORES,      /* 100 = one core; a % is the same number */
        METRIC_KIND_BYTES,      /* thresholds take sizes */
        METRIC_KIND_COUNT,
        METRIC_KIND_PERCENT,    /* 0–100 */
};

struct metric_info {
        const char *name;
        enum metric_kind kind;
        enum metric_source source;
        enum metric_shape shape;
        double scale;           /* METRIC_RATE, METRIC_RATIO */
        enum metric_scope scope;
        enum metric_lead lead;  /* cgroup metrics */
        bool has_reference;     /* a % threshold means something */
        const char *reference;  /* what the % is of, for messages */
};

const struct metric_info *metric_info(enum metric m);

/* What a rate needs of the reading before. Each (rule, target) keeps its
 * own, so a rate spans that rule's own interval. */
struct metric_prev {
        bool has_prev;
        double raw, aux;
        usec_t mono;
};

/* The value of `m` from a source's raw reading (and, for a ratio, the
 * denominator counter `aux`) at `mono`, updating `prev`. -EAGAIN for a
 * counter on its first reading, or when it went back (the kind of counter
 * that resets). */
int metric_derive(enum metric m, struct metric_prev *prev, double raw, double aux, usec_t mono, double *ret);
/* A metric of the table by its name, or a named one by "FORM:KEY" (then
 * as metric_name() does). */
int metric_from_name(const char *name, enum metric *ret);

/* The forms of metric a rule names itself, as {dotnet: "Provider/counter"}:
 * the name is "FORM:KEY" (dotnet:Provider/counter), and a name takes a
 * slot of the table the first time it is met, for the life of the process
 * (a reload or a record that names it again gets the same one). */
enum metric_form {
        METRIC_FORM_NONE,
        METRIC_FORM_DOTNET,             /* an EventCounter, or a System.Diagnostics.Metrics instrument */
        METRIC_FORM_DOTNET_EVENTS,      /* a DiagnosticListener's event: how many in an interval */
        METRIC_FORM_DOTNET_ACTIVITY_MS_P99,     /* a DiagnosticListener's activity: p99 of its durations */
        _METRIC_FORM_MAX,
};
/* The form called `name` ("dotnet.events"); -ENOENT if none is. */
int metric_form_from_name(const char *name, enum metric_form *ret);
/* The slot of `key` in `form`. -EINVAL when the key is not
 * "PROVIDER/NAME" of letters, digits and ._- (NAME may hold '/' too),
 * -ENOSPC when every slot is taken. */
int metric_name(enum metric_form form, const char *key, enum metric *ret);
/* A named metric's form (METRIC_FORM_NONE for one of the table) and key. */
enum metric_form metric_form_of(enum metric m);
const char *metric_key(enum metric m);
/* A value as people read it: MiB for bytes, % for cpu, a count else. */
void metric_format(enum metric m, double v, char *buf, size_t size);
/* All names of the table, for near-miss suggestions. */
const char *const *metric_names(void);
