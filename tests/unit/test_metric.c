/* How a source's reading becomes a value: gauges as read, rates as the
 * counter's growth per second since the reading before. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>

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
        for (int m = 0; m < METRIC_NAMED_FIRST; m++)
                assert_true(metric_info((enum metric) m)->source < _METRIC_SOURCE_MAX);
}

static void a_named_metric_keeps_its_slot(void **state) {
        enum metric a, b, c;
        assert_int_equal(metric_name(METRIC_FORM_DOTNET, "Autodump-Orders/orders-queued", &a), 0);
        assert_true(a >= METRIC_NAMED_FIRST);
        assert_string_equal(metric_info(a)->name, "dotnet:Autodump-Orders/orders-queued");
        assert_string_equal(metric_key(a), "Autodump-Orders/orders-queued");
        assert_int_equal(metric_info(a)->source, METRIC_SOURCE_DOTNET);
        /* Its name, as the record keeps it, is the same slot. */
        assert_int_equal(metric_from_name("dotnet:Autodump-Orders/orders-queued", &b), 0);
        assert_int_equal(b, a);
        /* The same key in another form is another metric. */
        assert_int_equal(metric_from_name("dotnet.events:Autodump-Orders/orders-queued", &c), 0);
        assert_int_not_equal(c, a);
        assert_int_equal(metric_form_of(c), METRIC_FORM_DOTNET_EVENTS);
        assert_int_equal(metric_form_of(METRIC_RSS), METRIC_FORM_NONE);
        /* An instrument's name may hold '/'; nothing may that separates
         * the runtime's provider arguments. */
        assert_int_equal(metric_name(METRIC_FORM_DOTNET, "Meter/a/b.c", &b), 0);
        const char *bad[] = { "NoSlash", "/name", "Provider/", "P/a;b", "P/a\"", "P/a=b", "P q/n", "P/a,b", "P/a:b" };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
                assert_int_equal(metric_name(METRIC_FORM_DOTNET, bad[i], &b), -EINVAL);
        assert_int_equal(metric_from_name("nothing:P/n", &b), -ENOENT);
        /* The slots run out, and say so. */
        char key[32];
        int r = 0;
        for (int i = 0; r == 0 && i < 100; i++) {
                snprintf(key, sizeof key, "P/n%d", i);
                r = metric_name(METRIC_FORM_DOTNET, key, &b);
        }
        assert_int_equal(r, -ENOSPC);
        assert_int_equal(metric_name(METRIC_FORM_DOTNET, "Autodump-Orders/orders-queued", &b), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(gauge_is_the_reading),
                cmocka_unit_test(cpu_is_a_rate_of_cpu_seconds),
                cmocka_unit_test(rate_restarts_when_the_counter_goes_back),
                cmocka_unit_test(oom_kills_count_per_interval),
                cmocka_unit_test(throttled_is_a_share_of_periods),
                cmocka_unit_test(every_metric_has_a_source),
                cmocka_unit_test(a_named_metric_keeps_its_slot),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
