#include "engine.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

int engine_state_init(struct engine_state *s, size_t window, size_t history) {
        *s = (struct engine_state) {};
        return ring_init(&s->ring, history > window ? history : window, window);
}

int engine_state_init_trend(struct engine_state *s, usec_t over) {
        if (!(s->trend = malloc(sizeof *s->trend)))
                return -ENOMEM;
        trend_init(s->trend, over);
        return 0;
}

void engine_state_free(struct engine_state *s) {
        ring_free(&s->ring);
        free(s->trend);
        s->trend = NULL;
}

static double resolve(double v, bool is_pct, double reference) {
        if (!is_pct)
                return v;
        return reference > 0 ? reference * v / 100.0 : NAN;
}

void engine_step(const struct condition *c, struct engine_state *s,
                 usec_t mono_now, usec_t wall_now, double value, double reference,
                 struct decision *ret) {
        /* The mean is taken before the new value enters the ring: a spike is
         * measured against the samples that came before it. */
        bool warm = ring_warm(&s->ring);
        double mean = warm ? ring_mean(&s->ring) : NAN;
        ring_push(&s->ring, wall_now, value);

        struct decision d = { .verdict = VERDICT_QUIET, .value = value, .mean = mean,
                              .threshold = NAN, .growth = NAN };
        bool growing = false;
        if (c->has_growth && s->trend) {
                trend_add(s->trend, mono_now, value);
                growing = trend_growth(s->trend, &d.growth) == 0 && d.growth >= c->growth;
        }

        double above = c->has_above ? resolve(c->above, c->above_is_pct, reference) : NAN;
        double spike = c->has_spike && warm ? mean * (1.0 + c->spike_pct / 100.0) : NAN;
        /* Comparisons with NAN are false: an unknown reference or a warm-up
         * never makes a condition hold. */
        if (c->has_stall) {
                /* The kernel measured the stall; its share of the window is
                 * the threshold, to compare with the pressure read now. */
                d.trigger = TRIGGER_STALL;
                d.threshold = 100.0 * (double) c->stall / (double) c->stall_window;
        } else if (value > above) {
                d.trigger = TRIGGER_ABOVE;
                d.threshold = above;
        } else if (value > spike) {
                d.trigger = TRIGGER_SPIKE;
                d.threshold = spike;
        } else if (growing) {
                d.trigger = TRIGGER_GROWTH;
                d.threshold = c->growth;
        }
        if (d.trigger != TRIGGER_NONE && c->has_min &&
            !(value >= resolve(c->min, c->min_is_pct, reference)))
                d.trigger = TRIGGER_NONE;

        if (d.trigger == TRIGGER_NONE) {
                s->held = 0;
                *ret = d;
                return;
        }

        if (s->held++ == 0)
                s->hold_since = mono_now;
        bool long_enough = c->for_duration > 0
                ? mono_now - s->hold_since >= c->for_duration
                : s->held >= (c->for_samples ? c->for_samples : 1);
        if (!long_enough)
                d.verdict = VERDICT_HOLDING;
        else if (c->max > 0 && s->fired >= c->max)
                d.verdict = VERDICT_MAXED;
        else if (s->fired > 0 && mono_now - s->last_fire < c->cooldown)
                d.verdict = VERDICT_COOLDOWN;
        else {
                d.verdict = VERDICT_FIRE;
                s->fired++;
                s->last_fire = mono_now;
                /* A next firing needs the condition to hold for `for` again. */
                s->held = 0;
        }
        *ret = d;
}

void engine_take_back_firing(struct engine_state *s, usec_t last_fire_before) {
        if (s->fired > 0)
                s->fired--;
        s->last_fire = last_fire_before;
}

const char *trigger_kind_to_string(enum trigger_kind k) {
        static const char *const names[] = {
                [TRIGGER_NONE] = "none", [TRIGGER_ABOVE] = "above", [TRIGGER_SPIKE] = "spike", [TRIGGER_GROWTH] = "growth",
                [TRIGGER_STALL] = "stall",
        };
        return names[k];
}
