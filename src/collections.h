/* Collections: a firing's actions run in a forked collector process, so a
 * long core dump never delays sampling and a crash or hang in a collector
 * cannot take the watchdog down. This module starts them (one per target
 * at a time, at most `parallel` at once), kills one that passes its
 * deadline, finishes its artifact when it ends, and checks the target was
 * not left stopped. */
#pragma once

#include <stdbool.h>

#include "engine.h"
#include "loop.h"
#include "proc.h"
#include "ring.h"
#include "rules.h"
#include "target.h"

struct collections_options {
        const struct proc_root *proc;
        const char *output;
        usec_t timeout;
        unsigned parallel;
        double min_free_pct;
};

struct collections;

int collections_new(struct loop *loop, const struct collections_options *o, struct collections **ret);
/* Frees the bookkeeping; running collectors are not waited for. */
void collections_free(struct collections *c);

/* Starts collecting for a firing of `rule` on `tg`, unless the target or
 * every slot is busy (then logged, and nothing is collected). */
void collections_start(struct collections *c, struct target *tg, const struct rule *rule,
                       const struct ring *history, const struct decision *d, usec_t wall);
unsigned collections_running(const struct collections *c);
/* Whether `pid` is one of our collectors: neither it nor what it starts is
 * ever a target. */
bool collections_is_collector(const struct collections *c, pid_t pid);
