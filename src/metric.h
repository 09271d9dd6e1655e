/* The metric table: names (a contract: added to, never renamed), what kind
 * of value each is, and what a % threshold is of. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum metric {
        METRIC_CPU,
        METRIC_RSS,
        METRIC_VSIZE,
        METRIC_THREADS,
        METRIC_FDS,
        _METRIC_MAX,
};

enum metric_kind {
        METRIC_KIND_CORES,      /* 100 = one core; a % is the same number */
        METRIC_KIND_BYTES,      /* thresholds take sizes */
        METRIC_KIND_COUNT,
};

struct metric_info {
        const char *name;
        enum metric_kind kind;
        bool has_reference;     /* a % threshold means something */
        const char *reference;  /* what the % is of, for messages */
};

const struct metric_info *metric_info(enum metric m);
int metric_from_name(const char *name, enum metric *ret);
/* Whether `name` is a metric of DESIGN.md's table that this build has no
 * source for yet (so the error can say so rather than "unknown"). */
bool metric_is_planned(const char *name);
/* A value as people read it: MiB for bytes, % for cpu, a count else. */
void metric_format(enum metric m, double v, char *buf, size_t size);
/* All metric names this build knows, for near-miss suggestions. */
const char *const *metric_names(void);
