#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>

#include "ring.h"

static void mean_over_window(void **state) {
        struct ring r;
        assert_int_equal(ring_init(&r, 6, 3), 0);
        assert_false(ring_warm(&r));
        assert_true(ring_mean(&r) == 0);
        ring_push(&r, 1, 10);
        ring_push(&r, 2, 20);
        assert_false(ring_warm(&r));
        assert_true(ring_mean(&r) == 15);
        ring_push(&r, 3, 30);
        assert_true(ring_warm(&r));
        assert_true(ring_mean(&r) == 20);
        ring_push(&r, 4, 40);                   /* 10 leaves the window */
        assert_true(ring_mean(&r) == 30);
        for (int i = 5; i <= 20; i++)           /* wraps the ring several times */
                ring_push(&r, (usec_t) i, i * 10.0);
        assert_true(ring_mean(&r) == 190);
        assert_int_equal(r.count, 6);
        /* history keeps the last `capacity` samples, oldest first */
        assert_int_equal(ring_at(&r, 0)->time, 15);
        assert_true(ring_at(&r, 5)->value == 200);
        ring_free(&r);
}

static void long_run_stays_exact(void **state) {
        struct ring r;
        assert_int_equal(ring_init(&r, 10, 10), 0);
        /* Values of very different size make a plain running sum drift far
         * from the truth over a million samples; the periodic exact resum
         * keeps the mean within rounding of the window's true mean. */
        for (int i = 0; i < 1000003; i++)
                ring_push(&r, (usec_t) i, i % 2 ? 0.1 : 1e9);
        double exact = (5 * 0.1 + 5 * 1e9) / 10;
        assert_true(fabs(ring_mean(&r) - exact) < 1e-6);
        ring_free(&r);
}

static void rejects_bad_shapes(void **state) {
        struct ring r;
        assert_int_equal(ring_init(&r, 2, 3), -EINVAL);
        assert_int_equal(ring_init(&r, 2, 0), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(mean_over_window),
                cmocka_unit_test(long_run_stays_exact),
                cmocka_unit_test(rejects_bad_shapes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
