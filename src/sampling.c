#include "sampling.h"

#include "bindings.h"

int sampling_sample_target(struct sources *sources, const struct consumers *consumers, struct target *tg,
                           usec_t tick, usec_t mono, usec_t wall) {
        /* Timer ticks jitter by a little: a rule whose time comes within
         * half a tick counts as due now rather than a whole tick late. */
        usec_t horizon = mono + tick / 2;
        metric_set want = 0;
        for (size_t i = 0; i < tg->n_bindings; i++)
                if (tg->bindings[i]->next_due <= horizon)
                        want |= METRIC_BIT(tg->bindings[i]->rule->metric);
        if (!want)
                return 0;
        struct reading reading;
        int r = sources_read(sources, tg, want, &reading);
        if (r < 0)
                return r;
        for (size_t i = 0; i < tg->n_bindings; i++) {
                struct binding *b = tg->bindings[i];
                const struct rule *rule = b->rule;
                if (b->next_due > horizon)
                        continue;
                b->next_due = b->next_due + rule->interval > horizon ? b->next_due + rule->interval
                                                                      : mono + rule->interval;
                struct sample_event ev = { .target = tg, .binding = b, .metric = rule->metric,
                                           .mono = mono, .wall = wall };
                if (!(reading.have & METRIC_BIT(rule->metric)) ||
                    metric_derive(rule->metric, &b->prev, reading.raw[rule->metric], mono, &ev.value) < 0)
                        continue;
                ev.reference = sources_reference(sources, tg, rule->metric);
                consumers_feed(consumers, &ev);
        }
        return 0;
}
