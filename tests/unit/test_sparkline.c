/* The sparkline `autodump show` draws a firing's history with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>

#include "sparkline.h"

static void scales_between_samples_and_threshold(void **state) {
        const double v[] = { 0, 1, 2, 3, 4, 5, 6, 7 };
        char buf[64], marks[16];
        sparkline(v, 8, NAN, 8, buf, sizeof buf);
        assert_string_equal(buf, "▁▂▃▄▅▆▇█");
        /* A threshold above every sample widens the scale: none at the top. */
        sparkline(v, 8, 14, 8, buf, sizeof buf);
        assert_string_equal(buf, "▁▂▂▃▃▄▄▅");
        sparkline_marks(v, 8, 4.5, 8, marks, sizeof marks);
        assert_string_equal(marks, "     ^^^");
}

static void flat_gaps_and_too_many(void **state) {
        const double flat[] = { 3, 3, 3 };
        char buf[64];
        sparkline(flat, 3, NAN, 8, buf, sizeof buf);
        assert_string_equal(buf, "▁▁▁");
        const double gap[] = { 1, NAN, 2 };
        sparkline(gap, 3, NAN, 8, buf, sizeof buf);
        assert_string_equal(buf, "▁ █");
        /* The newest `width` only, and no more than fit: 3 bytes a block. */
        const double many[] = { 9, 9, 0, 1, 2 };
        sparkline(many, 5, NAN, 3, buf, sizeof buf);
        assert_string_equal(buf, "▁▅█");
        sparkline(many, 5, NAN, 5, buf, 10);
        assert_string_equal(buf, "▁▅█");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(scales_between_samples_and_threshold),
                cmocka_unit_test(flat_gaps_and_too_many),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
