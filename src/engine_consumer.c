#include "engine_consumer.h"

#include "bindings.h"
#include "log.h"
#include "units.h"

void engine_consume(const struct sample_event *ev, void *userdata) {
        struct engine_consumer *ec = userdata;
        struct binding *b = ev->binding;
        const struct rule *rule = b->rule;
        struct target *tg = ev->target;
        struct decision d;
        usec_t last_fire_before = b->engine.last_fire;
        engine_step(&rule->cond, &b->engine, ev->mono, ev->wall, ev->value, ev->reference, &d);
        if (d.verdict != VERDICT_FIRE)
                return;
        char v[32], thr[32], mean[32], what[128];
        metric_format(rule->metric, d.value, v, sizeof v);
        metric_format(rule->metric, d.mean, mean, sizeof mean);
        target_describe(tg, what, sizeof what);
        const char *dry = ec->dry_run ? " [dry run: nothing collected]" : "";
        if (d.trigger == TRIGGER_GROWTH) {
                /* Rates read best per minute. */
                char rate[32], over[32];
                metric_format(rule->metric, 60 * d.growth, rate, sizeof rate);
                metric_format(rule->metric, 60 * d.threshold, thr, sizeof thr);
                format_duration(rule->cond.over, over, sizeof over);
                log_notice("rule %s fired on %s: %s %s, growing %s/m > %s/m over %s (growth)%s", rule->name, what,
                           metric_info(rule->metric)->name, v, rate, thr, over, dry);
        } else {
                metric_format(rule->metric, d.threshold, thr, sizeof thr);
                log_notice("rule %s fired on %s: %s %s > %s (%s; mean %s)%s", rule->name, what,
                           metric_info(rule->metric)->name, v, thr, trigger_kind_to_string(d.trigger), mean, dry);
        }
        if (ec->fired)
                ec->fired(ev, &d, ec->dry_run, ec->fired_userdata);
        ec->firings++;
        ec->last_wall = ev->wall;
        snprintf(ec->last, sizeof ec->last, "%s on %s", rule->name, what);
        if (!ec->dry_run)
                collections_fire(ec->collections, ev, &d, last_fire_before);
}
