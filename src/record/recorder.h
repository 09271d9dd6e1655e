/* The recorder: a consumer of samples that writes each one, each firing
 * and what each collection did to the recording (recording.h). One
 * transaction a tick, prepared statements, and the oldest samples pruned
 * past a size (firings are kept). A failed write is logged and the
 * watchdog goes on: the recording is never worth a missed capture. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "collections.h"
#include "consumer.h"
#include "engine.h"
#include "proc.h"
#include "rules.h"

struct recorder_options {
        const char *path;
        uint64_t max_size;              /* bytes; 0 = no limit */
        const struct proc_root *proc;   /* for command lines and cgroups of new targets */
        const char *mode;               /* "run", "watch" or "sample" */
        char *const *command;           /* run's command; NULL otherwise */
        const char *output;             /* the artifacts' directory; NULL: none */
};

struct recorder;

/* On failure, why in `err`. */
int recorder_open(const struct recorder_options *o, struct recorder **ret, char *err, size_t err_size);
/* Commits what is pending and closes. */
void recorder_close(struct recorder *r);
/* Records the rules in force (at start and after each reload). */
int recorder_add_rules(struct recorder *r, const struct rule_set *rules);

/* consumer_fn: a sample a rule took. */
void recorder_consume(const struct sample_event *ev, void *userdata);
/* A sample no rule asked for (`sample --record`), taken every `interval`. */
void recorder_sample(struct recorder *r, struct target *tg, enum metric m, usec_t interval, double value,
                     usec_t mono, usec_t wall);
/* The engine fired on `ev` (engine_consumer's hook). */
void recorder_fired(const struct sample_event *ev, const struct decision *d, bool dry_run, void *userdata);
/* A firing's collection ended, or it was dropped (collections' hook). */
void recorder_finished(const struct firing_end *e, void *userdata);
/* Ends the tick's transaction. */
void recorder_commit(struct recorder *r);
