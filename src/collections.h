/* Collections: a firing's actions run in a forked collector process, so a
 * long core dump never delays sampling and a crash or hang in a collector
 * cannot take the watchdog down. This module starts them (one per target
 * at a time, at most `parallel` at once; a firing that must wait waits in
 * the firing queue, firing_queue.h), kills one that passes its deadline,
 * finishes its artifact when it ends, and checks the target was not left
 * stopped. */
#pragma once

#include <stdbool.h>

#include "bindings.h"
#include "consumer.h"
#include "engine.h"
#include "loop.h"
#include "proc.h"
#include "retention.h"

struct hook_user;

/* How a firing ended, for whoever keeps a record (the recorder): dropped
 * before any collection, or collected into an artifact per process. */
struct firing_end {
        const char *rule;
        const struct target *target;
        usec_t wall;                    /* when it fired: with rule and target, which firing */
        const char *dropped;            /* why it was never collected; NULL: it was */
        const struct firing_subject {
                pid_t pid;
                const char *comm;
                const char *path;       /* the artifact; NULL: none was written */
        } *subjects;
        size_t n_subjects;
};

struct collections_options {
        const struct proc_root *proc;
        const char *output;
        usec_t timeout;
        unsigned parallel;
        unsigned queue;                 /* firings that may wait for a slot */
        double min_free_pct;
        /* Whether a process is watched: a rule that selects processes and
         * watches their cgroup acts only on processes it could select,
         * never on a stranger that shares the cgroup. */
        bool (*is_watched)(pid_t pid, void *userdata);
        /* A channel to borrow a process the crash tracer holds (crash/link.h),
         * -1 if there is none. */
        int (*crash_channel)(void *userdata);
        void *userdata;
        const struct action *on_complete;       /* the config's hook, for rules without one; NULL: none */
        struct retention_limits retention;      /* applied to `output` after each collection */
        const struct hook_user *hook_user;      /* exec and on_complete run as it; NULL: as we run */
        /* Told how each firing ended; NULL: no one asks. */
        void (*finished)(const struct firing_end *e, void *userdata);
        void *finished_userdata;
};

struct collections;

int collections_new(struct loop *loop, const struct collections_options *o, struct collections **ret);
/* Frees the bookkeeping; running collectors are not waited for. */
void collections_free(struct collections *c);

/* Collects for the firing `d` of the sample `ev` now, or when a slot is
 * free. `last_fire_before` is the engine's last_fire from before the step
 * that fired, to take the firing back if it is dropped. A cgroup's firing
 * acts on the processes picked in it, each into its own artifact. */
void collections_fire(struct collections *c, const struct sample_event *ev, const struct decision *d,
                      usec_t last_fire_before);
unsigned collections_running(const struct collections *c);
/* Firings waiting for a slot. */
size_t collections_waiting(const struct collections *c);
/* A reload: the new config's options (running collections keep their
 * deadline), and the waiting firings pointed at the new table's bindings
 * (a firing whose binding is gone is no longer taken back if dropped). */
void collections_reconfigure(struct collections *c, const struct collections_options *o);
void collections_rebind(struct collections *c, const struct binding_table *bindings);
/* Firings dropped since start (never collected, not counted by the engine). */
unsigned collections_dropped(const struct collections *c);
/* A target is going: a firing of it still waiting is dropped. */
void collections_forget_target(struct collections *c, struct target *tg);
/* Stopping: firings still waiting are dropped; running ones finish. */
void collections_stop(struct collections *c);
/* Whether `pid` is one of our collectors: neither it nor what it starts is
 * ever a target. */
bool collections_is_collector(const struct collections *c, pid_t pid);
