/* Replay: rules evaluated on a recording by the live engine (engine.h),
 * per (rule, recorded target), with the recorded times, so warm-up, `for`,
 * cooldown and `max` behave as they would have that night. */
#pragma once

#include <stddef.h>

#include "engine.h"
#include "reader.h"
#include "rules.h"

struct replay_firing {
        const struct rule *rule;
        size_t series;                  /* index into the recording's series */
        usec_t t;
        struct decision decision;
};

typedef void (*replay_fn)(const struct replay_firing *f, void *userdata);

/* Calls fn for each firing, in the order of the samples, between `from`
 * and `to` (0: no bound). A rule on a metric no series holds is an error:
 * -ENOENT, with the rule and the metrics recorded in `err`. A rule whose
 * condition is a kernel event (PSI `stall`) cannot be replayed: -ENOTSUP. */
int replay_run(const struct recording *rec, const struct rule_set *rules, usec_t from, usec_t to, replay_fn fn,
               void *userdata, char *err, size_t err_size);
