#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>

#include "engine.h"
#include "record/chart.h"

/* 100 000 samples over 720 columns: a one-sample spike is the greatest
 * value of its column, whichever column it falls in. */
static void one_sample_spike_is_kept(void **state) {
        struct chart c;
        chart_init(&c, METRIC_THREADS, 0, 100000);
        for (usec_t t = 0; t < 100000; t++)
                chart_add(&c, t, t == 54321 ? 999 : 10 + (double) (t % 3), 0);
        size_t col = chart_column_of(&c, 54321);
        assert_true(c.cols[col].max == 999);
        assert_true(c.cols[col].min == 10);
        double greatest = 0;
        unsigned total = 0;
        for (size_t i = 0; i < CHART_COLUMNS; i++) {
                greatest = fmax(greatest, c.cols[i].n ? c.cols[i].max : 0);
                total += c.cols[i].n;
                if (i != col && c.cols[i].n)
                        assert_true(c.cols[i].max == 12);
        }
        assert_true(greatest == 999);
        assert_int_equal(total, 100000);
        chart_free(&c);
}

/* The line goes through a column's min and max in the order they came. */
static void order_within_a_column(void **state) {
        struct chart c;
        chart_init(&c, METRIC_RSS, 0, CHART_COLUMNS);
        chart_add(&c, 0, 50, 0);
        chart_add(&c, 0, 90, 0);        /* up first */
        chart_add(&c, 0, 10, 0);
        chart_add(&c, 1, 50, 0);
        chart_add(&c, 1, 10, 0);        /* down first */
        chart_add(&c, 1, 90, 0);
        assert_true(c.cols[0].max_first);
        assert_false(c.cols[1].max_first);
        chart_free(&c);
}

/* The spike threshold drawn is the one the engine compared the value with:
 * the mean of the `window` values before it × the factor, none in warm-up;
 * a % above is of the reference recorded with the sample. */
static void thresholds_as_the_engine_compares(void **state) {
        struct condition spike = { .has_spike = true, .spike_pct = 50 };
        struct condition above = { .has_above = true, .above_is_pct = true, .above = 80 };
        struct chart c;
        chart_init(&c, METRIC_RSS, 0, CHART_COLUMNS);
        assert_int_equal(chart_add_rule(&c, "s", &spike, 3), 0);
        assert_int_equal(chart_add_rule(&c, "a", &above, 1), 0);
        double values[] = { 10, 20, 30, 100, 40 };
        for (usec_t t = 0; t < 5; t++)
                chart_add(&c, t, values[t], 1000);
        assert_true(isnan(c.rules[0].cols[2].spike));           /* warm-up */
        assert_true(c.rules[0].cols[3].spike == 20 * 1.5);      /* mean of 10, 20, 30 */
        assert_true(c.rules[0].cols[4].spike == 50 * 1.5);      /* of 20, 30, 100 */
        assert_true(c.rules[1].cols[0].above == 800);
        /* Engine and chart agree on the firing: 100 > 30. */
        struct engine_state s;
        assert_int_equal(engine_state_init(&s, 3, 4), 0);
        struct decision d;
        for (usec_t t = 0; t < 4; t++)
                engine_step(&spike, &s, t, t, values[t], 0, &d);
        assert_int_equal(d.verdict, VERDICT_FIRE);
        assert_true(d.threshold == c.rules[0].cols[3].spike);
        engine_state_free(&s);
        chart_free(&c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(one_sample_spike_is_kept),
                cmocka_unit_test(order_within_a_column),
                cmocka_unit_test(thresholds_as_the_engine_compares),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
