/* The rule semantics of DESIGN.md, on hand-made sequences: no process, no
 * clock, no filesystem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>

#include "engine.h"

#define S USEC_PER_SEC

struct seq {
        struct condition c;
        struct engine_state s;
        usec_t t;
        struct decision d;
};

static void seq_init(struct seq *q, size_t window) {
        assert_int_equal(engine_state_init(&q->s, window, 20), 0);
        q->t = 1000 * S;
        if (q->c.for_samples == 0)
                q->c.for_samples = 1;
}

/* Feeds one value a second; returns the verdict. */
static enum verdict feed(struct seq *q, double v, double reference) {
        q->t += S;
        engine_step(&q->c, &q->s, q->t, q->t, v, reference, &q->d);
        return q->d.verdict;
}

static void spike_waits_for_warm_up(void **state) {
        struct seq q = { .c = { .has_spike = true, .spike_pct = 50 } };
        seq_init(&q, 3);
        assert_int_equal(feed(&q, 10, 0), VERDICT_QUIET);
        assert_int_equal(feed(&q, 10, 0), VERDICT_QUIET);
        assert_int_equal(feed(&q, 1000, 0), VERDICT_QUIET);    /* only 2 samples before it */
        assert_true(isnan(q.d.mean));
        /* now warm: mean of (10, 10, 1000) = 340, threshold 510 */
        assert_int_equal(feed(&q, 500, 0), VERDICT_QUIET);
        assert_int_equal(feed(&q, 10000, 0), VERDICT_FIRE);
        assert_int_equal(q.d.trigger, TRIGGER_SPIKE);
        engine_state_free(&q.s);
}

static void spike_mean_excludes_current(void **state) {
        struct seq q = { .c = { .has_spike = true, .spike_pct = 25 } };
        seq_init(&q, 2);
        feed(&q, 100, 0);
        feed(&q, 100, 0);
        /* mean of the previous two is 100: 125 does not exceed 125 ... */
        assert_int_equal(feed(&q, 125, 0), VERDICT_QUIET);
        assert_true(q.d.mean == 100);
        assert_true(isnan(q.d.threshold));     /* nothing crossed */
        /* ... the mean is now (100, 125) = 112.5, threshold 140.625; had the
         * current value been in the mean, 141 would not fire */
        assert_int_equal(feed(&q, 141, 0), VERDICT_FIRE);
        assert_true(q.d.mean == 112.5);
        assert_true(q.d.threshold == 140.625);
        engine_state_free(&q.s);
}

static void above_needs_for_consecutive_samples(void **state) {
        struct seq q = { .c = { .has_above = true, .above = 50, .for_samples = 3, .cooldown = 0 } };
        seq_init(&q, 5);
        assert_int_equal(feed(&q, 60, 0), VERDICT_HOLDING);
        assert_int_equal(feed(&q, 60, 0), VERDICT_HOLDING);
        assert_int_equal(feed(&q, 40, 0), VERDICT_QUIET);      /* a dip restarts the count */
        assert_int_equal(feed(&q, 60, 0), VERDICT_HOLDING);
        assert_int_equal(feed(&q, 60, 0), VERDICT_HOLDING);
        assert_int_equal(feed(&q, 60, 0), VERDICT_FIRE);
        assert_int_equal(q.d.trigger, TRIGGER_ABOVE);
        assert_true(q.d.threshold == 50);
        assert_int_equal(feed(&q, 50, 0), VERDICT_QUIET);      /* above is strict */
        engine_state_free(&q.s);
}

static void for_as_a_duration(void **state) {
        struct seq q = { .c = { .has_above = true, .above = 1, .for_duration = 3 * S } };
        seq_init(&q, 5);
        assert_int_equal(feed(&q, 2, 0), VERDICT_HOLDING);     /* t = 0 */
        assert_int_equal(feed(&q, 2, 0), VERDICT_HOLDING);     /* 1 s */
        assert_int_equal(feed(&q, 2, 0), VERDICT_HOLDING);     /* 2 s */
        assert_int_equal(feed(&q, 2, 0), VERDICT_FIRE);        /* held 3 s */
        engine_state_free(&q.s);
}

static void cooldown_then_fire_again(void **state) {
        struct seq q = { .c = { .has_above = true, .above = 1, .cooldown = 5 * S } };
        seq_init(&q, 5);
        assert_int_equal(feed(&q, 2, 0), VERDICT_FIRE);
        for (int i = 0; i < 4; i++)
                assert_int_equal(feed(&q, 2, 0), VERDICT_COOLDOWN);
        assert_int_equal(feed(&q, 2, 0), VERDICT_FIRE);        /* 5 s after the first */
        engine_state_free(&q.s);
}

static void max_firings(void **state) {
        struct seq q = { .c = { .has_above = true, .above = 1, .max = 2 } };
        seq_init(&q, 5);
        assert_int_equal(feed(&q, 2, 0), VERDICT_FIRE);
        assert_int_equal(feed(&q, 2, 0), VERDICT_FIRE);
        assert_int_equal(feed(&q, 2, 0), VERDICT_MAXED);
        assert_int_equal(feed(&q, 2, 0), VERDICT_MAXED);
        engine_state_free(&q.s);
}

static void min_is_a_floor(void **state) {
        struct seq q = { .c = { .has_spike = true, .spike_pct = 50, .has_min = true, .min = 100 } };
        seq_init(&q, 2);
        feed(&q, 10, 0);
        feed(&q, 10, 0);
        assert_int_equal(feed(&q, 99, 0), VERDICT_QUIET);      /* a spike, below the floor */
        assert_int_equal(feed(&q, 1000, 0), VERDICT_FIRE);
        engine_state_free(&q.s);
}

static void percent_of_reference(void **state) {
        struct seq q = { .c = { .has_above = true, .above = 80, .above_is_pct = true } };
        seq_init(&q, 2);
        assert_int_equal(feed(&q, 800, 1000), VERDICT_QUIET);
        assert_int_equal(feed(&q, 801, 1000), VERDICT_FIRE);
        assert_true(q.d.threshold == 800);
        /* no reference known: a % never holds */
        q.c.cooldown = 0;
        assert_int_equal(feed(&q, 1e12, 0), VERDICT_QUIET);
        engine_state_free(&q.s);
}

static void above_or_spike(void **state) {
        struct seq q = { .c = { .has_above = true, .above = 1000, .has_spike = true, .spike_pct = 100 } };
        seq_init(&q, 2);
        assert_int_equal(feed(&q, 2000, 0), VERDICT_FIRE);     /* above, in warm-up */
        assert_int_equal(q.d.trigger, TRIGGER_ABOVE);
        engine_state_free(&q.s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(spike_waits_for_warm_up),
                cmocka_unit_test(spike_mean_excludes_current),
                cmocka_unit_test(above_needs_for_consecutive_samples),
                cmocka_unit_test(for_as_a_duration),
                cmocka_unit_test(cooldown_then_fire_again),
                cmocka_unit_test(max_firings),
                cmocka_unit_test(min_is_a_floor),
                cmocka_unit_test(percent_of_reference),
                cmocka_unit_test(above_or_spike),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
