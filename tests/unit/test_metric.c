/* How a source's reading becomes a value: gauges as read, rates as the
 * counter's growth per second since the reading before. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>

#include "metric.h"

static void gauge_is_the_reading(void **state) {
        struct metric_prev prev = {};
        double v;
        assert_int_equal(metric_derive(METRIC_RSS, &prev, 4096, 0, USEC_PER_SEC, &v), 0);
        assert_true(v == 4096);
        assert_false(prev.has_prev);
}

static void cpu_is_a_rate_of_cpu_seconds(void **state) {
        struct metric_prev prev = {};
        double v;
        assert_int_equal(metric_derive(METRIC_CPU, &prev, 10.0, 0, 1 * USEC_PER_SEC, &v), -EAGAIN);
        /* 1.5 CPU seconds in 2 s: 75 % of one core. */
        assert_int_equal(metric_derive(METRIC_CPU, &prev, 11.5, 0, 3 * USEC_PER_SEC, &v), 0);
        assert_float_equal(v, 75.0, 1e-9);
        /* Two cores busy for half a second. */
        assert_int_equal(metric_derive(METRIC_CPU, &prev, 12.5, 0, 3 * USEC_PER_SEC + USEC_PER_SEC / 2, &v), 0);
        assert_float_equal(v, 200.0, 1e-9);
}

static void rate_restarts_when_the_counter_goes_back(void **state) {
        struct metric_prev prev = {};
        double v;
        metric_derive(METRIC_CPU, &prev, 50, 0, USEC_PER_SEC, &v);
        assert_int_equal(metric_derive(METRIC_CPU, &prev, 3, 0, 2 * USEC_PER_SEC, &v), -EAGAIN);
        assert_int_equal(metric_derive(METRIC_CPU, &prev, 4, 0, 3 * USEC_PER_SEC, &v), 0);
        assert_float_equal(v, 100.0, 1e-9);
        /* No time passed: no rate. */
        assert_int_equal(metric_derive(METRIC_CPU, &prev, 5, 0, 3 * USEC_PER_SEC, &v), -EAGAIN);
}

static void oom_kills_count_per_interval(void **state) {
        struct metric_prev prev = {};
        double v;
        assert_int_equal(metric_derive(METRIC_CGROUP_OOM_KILLS, &prev, 3, 0, USEC_PER_SEC, &v), -EAGAIN);
        assert_int_equal(metric_derive(METRIC_CGROUP_OOM_KILLS, &prev, 3, 0, 2 * USEC_PER_SEC, &v), 0);
        assert_float_equal(v, 0, 0);
        /* Two kills in a 5 s interval are 2, not a rate. */
        assert_int_equal(metric_derive(METRIC_CGROUP_OOM_KILLS, &prev, 5, 0, 7 * USEC_PER_SEC, &v), 0);
        assert_float_equal(v, 2, 0);
}

static void throttled_is_a_share_of_periods(void **state) {
        struct metric_prev prev = {};
        double v;
        /* raw: throttled periods, aux: all periods. */
        assert_int_equal(metric_derive(METRIC_CGROUP_THROTTLED, &prev, 10, 100, USEC_PER_SEC, &v), -EAGAIN);
        assert_int_equal(metric_derive(METRIC_CGROUP_THROTTLED, &prev, 16, 110, 2 * USEC_PER_SEC, &v), 0);
        assert_float_equal(v, 60.0, 1e-9);
        /* An idle cgroup runs no periods: nothing was throttled. */
        assert_int_equal(metric_derive(METRIC_CGROUP_THROTTLED, &prev, 16, 110, 3 * USEC_PER_SEC, &v), 0);
        assert_float_equal(v, 0, 0);
}

static void every_metric_has_a_source(void **state) {
        for (int m = 0; m < _METRIC_MAX; m++)
                assert_true(metric_info((enum metric) m)->source < _METRIC_SOURCE_MAX);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(gauge_is_the_reading),
                cmocka_unit_test(cpu_is_a_rate_of_cpu_seconds),
                cmocka_unit_test(rate_restarts_when_the_counter_goes_back),
                cmocka_unit_test(oom_kills_count_per_interval),
                cmocka_unit_test(throttled_is_a_share_of_periods),
                cmocka_unit_test(every_metric_has_a_source),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
