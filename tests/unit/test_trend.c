/* Slow leaks: the growth condition on hand-made sequences, with the
 * built-in rules' own conditions (rules/default.yaml): an 8 MiB/s leak is
 * caught within 90 s and a 2 MiB/min one within 30 minutes, while a
 * sawtooth (a garbage-collected heap), a one-off jump and noise are not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "trend.h"

#define MiB (1024.0 * 1024.0)

static const struct rule *builtin(struct rule_set *set, const char *name) {
        struct diags diags = {};
        if (set->n == 0)
                assert_int_equal(rules_load_default(set, &diags), 0);
        diags_free(&diags);
        for (size_t i = 0; i < set->n; i++)
                if (strcmp(set->rules[i].name, name) == 0)
                        return &set->rules[i];
        fail_msg("no built-in rule %s", name);
        return NULL;
}

/* Seconds until `rule` fires on value(t), sampled each second from t = 0
 * for at most `limit` seconds; -1 if it never does. */
static long first_firing(const struct rule *rule, double (*value)(long t), long limit) {
        struct engine_state s;
        assert_int_equal(engine_state_init(&s, rule->window, 20), 0);
        assert_int_equal(engine_state_init_trend(&s, rule->cond.over), 0);
        long fired = -1;
        for (long t = 0; t <= limit && fired < 0; t++) {
                struct decision d;
                usec_t now = (usec_t) (t + 100000) * USEC_PER_SEC;
                engine_step(&rule->cond, &s, now, now, value(t), 0, &d);
                if (d.verdict == VERDICT_FIRE) {
                        assert_int_equal(d.trigger, TRIGGER_GROWTH);
                        fired = t;
                }
        }
        engine_state_free(&s);
        return fired;
}

/* Deterministic noise of ±2 MiB, as allocators and page accounting make. */
static double noise(long t) {
        return (double) ((t * 7919) % 401 - 200) / 100.0 * MiB;
}

static double leak_8mib_per_s(long t) { return 100 * MiB + 8 * MiB * (double) t + noise(t); }
static double leak_2mib_per_min(long t) { return 100 * MiB + 2 * MiB * (double) t / 60.0 + noise(t) / 4; }
/* Heaps that grow 300 MiB and are collected back, again and again: teeth
 * shorter than the fast rule's minute, and longer. */
static double sawtooth(long t) { return 200 * MiB + 300 * MiB * (double) (t % 40) / 40.0; }
static double sawtooth_slow(long t) { return 200 * MiB + 300 * MiB * (double) (t % 150) / 150.0; }
static double sawtooth_gc(long t) { return 200 * MiB + 100 * MiB * (double) (t % 600) / 600.0 + noise(t); }
/* A cache of 1 GiB loaded in 10 s, then steady. */
static double one_off_load(long t) { return 100 * MiB + (t < 30 ? 0 : t < 40 ? (double) (t - 30) * 100 * MiB : 1000 * MiB); }
static double flat_noisy(long t) { return 500 * MiB + noise(t) * 10; }

static void fast_leak_caught_within_90s(void **state) {
        struct rule_set set = {};
        long t = first_firing(builtin(&set, "memory-growth"), leak_8mib_per_s, 90);
        assert_true(t > 0 && t <= 90);
        /* Not before its 75 s were seen (less the first bucket, partly
         * filled). */
        assert_true(t >= 72);
        rule_set_free(&set);
}

static void slow_leak_caught_within_30_minutes(void **state) {
        struct rule_set set = {};
        long t = first_firing(builtin(&set, "memory-slow-leak"), leak_2mib_per_min, 30 * 60);
        assert_true(t > 0 && t <= 30 * 60);
        /* The fast rule does not take a slow leak for a fast one. */
        assert_int_equal(first_firing(builtin(&set, "memory-growth"), leak_2mib_per_min, 30 * 60), -1);
        rule_set_free(&set);
}

static void sawtooth_jump_and_noise_are_not_growth(void **state) {
        struct rule_set set = {};
        const char *const names[] = { "memory-growth", "memory-slow-leak" };
        double (*const shapes[])(long) = { sawtooth, sawtooth_slow, sawtooth_gc, one_off_load, flat_noisy };
        for (size_t r = 0; r < 2; r++)
                for (size_t k = 0; k < ELEMENTSOF(shapes); k++)
                        assert_int_equal(first_firing(builtin(&set, names[r]), shapes[k], 45 * 60), -1);
        rule_set_free(&set);
}

static void window_and_steadiness(void **state) {
        struct trend t;
        trend_init(&t, 60 * USEC_PER_SEC);
        double g;
        /* A rising line, one sample a second. */
        for (long s = 0; s < 30; s++)
                trend_add(&t, (usec_t) (1000 + s) * USEC_PER_SEC, 10.0 * (double) s);
        assert_int_equal(trend_growth(&t, &g), -EAGAIN);        /* half the window seen */
        for (long s = 30; s < 61; s++)
                trend_add(&t, (usec_t) (1000 + s) * USEC_PER_SEC, 10.0 * (double) s);
        assert_int_equal(trend_growth(&t, &g), 0);
        assert_float_equal(g, 10.0, 0.01);
        /* Two hours later the old buckets are out of the window: falling
         * now, it is not growth, whatever came before. */
        for (long s = 7200; s < 7260; s++)
                trend_add(&t, (usec_t) (1000 + s) * USEC_PER_SEC, 1e6 - 10.0 * (double) s);
        assert_int_equal(trend_growth(&t, &g), -ERANGE);
        assert_true(g < 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(fast_leak_caught_within_90s),
                cmocka_unit_test(slow_leak_caught_within_30_minutes),
                cmocka_unit_test(sawtooth_jump_and_noise_are_not_growth),
                cmocka_unit_test(window_and_steadiness),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
