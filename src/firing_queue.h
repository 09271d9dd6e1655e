/* Firings waiting for a collection slot. A firing that finds its target's
 * collection running, or every slot (`[collect] parallel`) busy, waits
 * here with copies of what it fired on, and runs when a slot frees, oldest
 * first. At most one waits per target; the queue holds at most `[collect]
 * queue` of them. One that cannot wait (the queue is full, its target
 * already has one waiting, or its target went) is dropped: logged, counted
 * apart, and taken back from the engine's count, so it uses up neither
 * `max` nor `cooldown`. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "consumer.h"
#include "engine.h"
#include "rules.h"
#include "target.h"

struct binding;

struct firing_job {
        struct target *target;
        struct binding *binding;
        const struct rule *rule;
        struct ring history;            /* the samples that led to it, as they were then */
        struct decision decision;
        double reference;
        const char *reference_what;
        usec_t wall;                    /* when it fired */
        usec_t last_fire_before;        /* the engine's, to take the firing back */
        struct firing_job *next;
};

/* Copies what a firing needs, from its sample and decision, and the
 * engine's last_fire from before the step that fired. */
int firing_job_new(const struct sample_event *ev, const struct decision *d, usec_t last_fire_before,
                   struct firing_job **ret);
void firing_job_free(struct firing_job *j);
static inline void firing_job_freep(struct firing_job **j) { firing_job_free(*j); }

struct firing_queue {
        struct firing_job *head, *tail;
        size_t n, max;
        unsigned dropped;               /* since start */
        /* Told of each job dropped, before it is freed; NULL: no one asks. */
        void (*on_drop)(const struct firing_job *j, const char *why, void *userdata);
        void *on_drop_userdata;
};

/* Queues `j` (then owned by the queue), or drops it: -ENOSPC (full) or
 * -EEXIST (its target has one waiting). */
int firing_queue_push(struct firing_queue *q, struct firing_job *j);
/* The oldest job whose target has no collection running, taken out; NULL
 * if none can run now. */
struct firing_job *firing_queue_take_ready(struct firing_queue *q);
/* Drops the job of a target that is going (its binding goes with it). */
void firing_queue_forget_target(struct firing_queue *q, struct target *tg);
/* Drops `j`: logged with `why`, counted, and taken back from its binding's
 * engine state when `take_back` (the binding still exists). */
void firing_queue_drop(struct firing_queue *q, struct firing_job *j, const char *why, bool take_back);
void firing_queue_free(struct firing_queue *q);
