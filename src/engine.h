/* The decision engine: given a rule's condition, the per-(rule, target)
 * state, and a new sample, says whether the rule fires. Pure: no I/O, no
 * clock (times are passed in), so every semantic of DESIGN.md's rules is
 * unit-tested with hand-made sequences. */
#pragma once

#include <stdbool.h>

#include "ring.h"
#include "trend.h"
#include "util.h"

struct condition {
        bool has_above, above_is_pct;
        double above;           /* absolute, or % of the metric's reference */
        bool has_spike;
        double spike_pct;       /* value > mean × (1 + spike_pct/100) */
        bool has_growth;
        double growth;          /* per second: the steady slope over `over` must reach it */
        usec_t over;
        bool has_stall;         /* a PSI trigger: the kernel's notification is the condition */
        usec_t stall, stall_window;     /* stall time within each window */
        bool has_min, min_is_pct;
        double min;
        unsigned for_samples;   /* ≥ 1; used when for_duration is 0 */
        usec_t for_duration;
        usec_t cooldown;
        unsigned max;           /* firings allowed; 0 = no limit */
};

enum verdict {
        VERDICT_QUIET,          /* the condition does not hold */
        VERDICT_HOLDING,        /* holds, but not yet for `for` */
        VERDICT_FIRE,
        VERDICT_COOLDOWN,       /* would fire, but the cooldown runs */
        VERDICT_MAXED,          /* would fire, but `max` firings happened */
};

enum trigger_kind { TRIGGER_NONE, TRIGGER_ABOVE, TRIGGER_SPIKE, TRIGGER_GROWTH, TRIGGER_STALL };

struct decision {
        enum verdict verdict;
        enum trigger_kind trigger;      /* which condition held */
        double value;
        double mean;                    /* of the previous window; NAN in warm-up */
        double threshold;               /* the number the value crossed; for growth, the rate */
        double growth;                  /* per second over `over`; NAN without a growth condition */
};

struct engine_state {
        struct ring ring;
        unsigned held;                  /* consecutive holding samples */
        usec_t hold_since;              /* monotonic time of the first of them */
        unsigned fired;
        usec_t last_fire;               /* monotonic */
        struct trend *trend;            /* with a growth condition */
};

int engine_state_init(struct engine_state *s, size_t window, size_t history);
/* For a growth condition: the trend over `over`. */
int engine_state_init_trend(struct engine_state *s, usec_t over);
void engine_state_free(struct engine_state *s);

/* Feeds one sample (for a `stall` condition: one notification of the
 * kernel's, with the pressure read then). `reference` is what a % threshold is of (0 if the
 * metric has none or it is unknown: a % threshold then never holds). */
void engine_step(const struct condition *c, struct engine_state *s,
                 usec_t mono_now, usec_t wall_now, double value, double reference,
                 struct decision *ret);

/* Takes back the last firing (it was dropped, nothing was collected): it
 * counts towards neither `max` nor `cooldown`. `last_fire_before` is
 * last_fire as it was before the step that fired. */
void engine_take_back_firing(struct engine_state *s, usec_t last_fire_before);

const char *trigger_kind_to_string(enum trigger_kind k);
