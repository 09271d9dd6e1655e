/* Sources: what yields metric values for a target. The metric table
 * (metric.h) says which source serves each metric; `sources` holds one of
 * each with its state and sends a read to the sources whose metrics are
 * wanted, so one tick reads each target once per source, whatever the
 * number of rules.
 *
 * A polled source (/proc today; cgroupfs, hsperfdata later) implements
 * source_ops and is listed in sources.c. A source that pushes from fds of
 * its own (PSI triggers, HTTP endpoints, the .NET EventPipe stream)
 * registers them in the loop and hands each value to consumers_feed()
 * (consumer.h), the same door polled values go through. */
#pragma once

#include "cgroupfs.h"
#include "metric.h"
#include "proc.h"
#include "target.h"

/* One read of a target: raw values (metric.h says how each becomes a
 * value) for the metrics in `have`. */
struct reading {
        metric_set have;
        double raw[_METRIC_MAX];
        double aux[_METRIC_MAX];        /* a ratio's denominator */
};

struct consumers;
struct loop;
struct binding;

struct source_env {
        const struct proc_root *proc;
        const struct cgroup_mounts *cgroups;    /* none mounted: all NULL */
        struct loop *loop;                      /* for sources that push */
        const struct consumers *consumers;      /* where pushed values go */
};

struct source_ops {
        int (*open)(const struct source_env *env, void **ret_state);
        void (*close)(void *state);
        /* Reads the metrics of `want` for `tg` into `r` (adding to r->have);
         * a metric it may not read (no right to look) is left out. Keeps
         * tg->name current. -ESRCH when the target is gone. */
        int (*read)(void *state, struct target *tg, metric_set want, struct reading *r);
        /* What a % threshold of `m` is of for `tg`, 0 when unknown, and
         * in words what that is (for trigger.json). Asked only for rules
         * with a % threshold; may keep what it found on the target. */
        double (*reference)(void *state, struct target *tg, enum metric m, const char **ret_what);
        /* For a rule whose condition is an event (a PSI `stall`): starts
         * pushing the binding's values from an fd of the source's own. */
        int (*arm)(void *state, struct binding *b);
};

extern const struct source_ops proc_source, cgroup_source, psi_source, jvm_source, go_source,
        dotnet_source;

struct sources;

int sources_open(const struct source_env *env, struct sources **ret);
void sources_close(struct sources *s);
/* The metrics a target of tg's kind has (not those a rule names). */
metric_set sources_metrics_of(const struct sources *s, const struct target *tg);
/* Reads `want` of `tg` from every source that serves part of it. */
int sources_read(struct sources *s, struct target *tg, metric_set want, struct reading *ret);
double sources_reference(struct sources *s, struct target *tg, enum metric m, const char **ret_what);
/* Arms a binding whose rule is an event (binding.h says how it is
 * disarmed). Logs nothing: the caller says which rule and target. */
int sources_arm(struct sources *s, struct binding *b);
