#include "sampling.h"

#include "bindings.h"

/* Event rules (PSI triggers) are pushed by their source, never polled. */
static bool is_due(const struct binding *b, usec_t horizon) {
        return b->next_due <= horizon && !b->rule->cond.has_stall;
}

int sampling_sample_target(struct sources *sources, const struct consumers *consumers, struct target *tg,
                           usec_t tick, usec_t mono, usec_t wall) {
        /* Timer ticks jitter by a little: a rule whose time comes within
         * half a tick counts as due now rather than a whole tick late. */
        usec_t horizon = mono + tick / 2;
        metric_set want = 0;
        for (size_t i = 0; i < tg->n_bindings; i++)
                if (is_due(tg->bindings[i], horizon))
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
                if (!is_due(b, horizon))
                        continue;
                b->next_due = b->next_due + rule->interval > horizon ? b->next_due + rule->interval
                                                                      : mono + rule->interval;
                struct sample_event ev = { .target = tg, .binding = b, .metric = rule->metric,
                                           .mono = mono, .wall = wall };
                enum metric m = rule->metric;
                if (!(reading.have & METRIC_BIT(m)) ||
                    metric_derive(m, &b->prev, reading.raw[m], reading.aux[m], mono, &ev.value) < 0)
                        continue;
                /* Only a % threshold needs to know what it is of (for rss,
                 * that takes reading the process's cgroup limit). */
                if (rule->cond.above_is_pct || rule->cond.min_is_pct)
                        ev.reference = sources_reference(sources, tg, m, &ev.reference_what);
                consumers_feed(consumers, &ev);
        }
        return 0;
}
