/* Consumers of samples: every value sampled for a (rule, target) goes to
 * each of them in turn. The engine is the first (its firings go to the
 * collections); a recorder and a metrics endpoint take the same events,
 * and replay feeds recorded ones through the same door. */
#pragma once

#include <stddef.h>

#include "metric.h"
#include "util.h"

struct binding;
struct target;

struct sample_event {
        struct target *target;
        struct binding *binding;        /* the (rule, target) it was taken for */
        enum metric metric;
        double value;
        double reference;               /* what a % threshold is of; 0 if none */
        const char *reference_what;     /* that in words, or NULL */
        usec_t mono, wall;
};

typedef void (*consumer_fn)(const struct sample_event *ev, void *userdata);

#define CONSUMERS_MAX 8

struct consumers {
        struct {
                consumer_fn fn;
                void *userdata;
        } items[CONSUMERS_MAX];
        size_t n;
};

/* -ENOSPC past CONSUMERS_MAX. */
int consumers_add(struct consumers *c, consumer_fn fn, void *userdata);
void consumers_feed(const struct consumers *c, const struct sample_event *ev);
