/* Retention's plan: which artifacts go, oldest first, and never the
 * newest for count or size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "retention.h"

#define DAY (86400 * USEC_PER_SEC)

static void names_carry_the_time(void **state) {
        usec_t t;
        assert_int_equal(retention_time_of("20261122T223731Z-crash-misbehave-3458", &t), 0);
        assert_int_equal(t, 1795387051ULL * USEC_PER_SEC);
        assert_int_equal(retention_time_of("20261122T223731Z-", &t), -EINVAL);      /* nothing after */
        assert_int_equal(retention_time_of("notes", &t), -EINVAL);
        assert_int_equal(retention_time_of("2026112T223731Z-x", &t), -EINVAL);
        assert_int_equal(retention_time_of(".20261122T223731Z-x.partial", &t), -EINVAL);
}

static void oldest_go_first(void **state) {
        const struct retained items[] = {
                { "a", 1 * DAY, 400 }, { "b", 2 * DAY, 400 }, { "c", 3 * DAY, 400 }, { "d", 4 * DAY, 400 },
        };
        enum retention_reason why[4];
        struct retention_limits count = { .max_count = 2 };
        retention_plan(items, 4, &count, 5 * DAY, why);
        assert_int_equal(why[0], REMOVE_COUNT);
        assert_int_equal(why[1], REMOVE_COUNT);
        assert_int_equal(why[2], RETAIN);
        assert_int_equal(why[3], RETAIN);

        struct retention_limits total = { .max_total = 900 };
        retention_plan(items, 4, &total, 5 * DAY, why);
        assert_int_equal(why[0], REMOVE_TOTAL);
        assert_int_equal(why[1], REMOVE_TOTAL);
        assert_int_equal(why[2], RETAIN);

        struct retention_limits keep = { .keep = 2 * DAY + 1 };
        retention_plan(items, 4, &keep, 5 * DAY, why);
        assert_int_equal(why[0], REMOVE_AGE);
        assert_int_equal(why[1], REMOVE_AGE);
        assert_int_equal(why[2], RETAIN);

        struct retention_limits none = {};
        retention_plan(items, 4, &none, 5 * DAY, why);
        for (int i = 0; i < 4; i++)
                assert_int_equal(why[i], RETAIN);
}

static void the_newest_stays_however_large(void **state) {
        const struct retained items[] = { { "old", 1 * DAY, 10 }, { "core", 2 * DAY, 5000 } };
        enum retention_reason why[2];
        struct retention_limits l = { .max_total = 1000, .max_count = 1 };
        retention_plan(items, 2, &l, 3 * DAY, why);
        assert_int_equal(why[0], REMOVE_COUNT);
        assert_int_equal(why[1], RETAIN);
        /* Only age removes it: then it is no longer news. */
        l.keep = DAY / 2;
        retention_plan(items, 2, &l, 3 * DAY, why);
        assert_int_equal(why[1], REMOVE_AGE);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(names_carry_the_time),
                cmocka_unit_test(oldest_go_first),
                cmocka_unit_test(the_newest_stays_however_large),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
