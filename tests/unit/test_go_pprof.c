#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "go_pprof.h"

#define LINE(s) s, strlen(s)

static void the_goroutine_total(void **state) {
        double v = -1;
        assert_true(go_pprof_goroutines(LINE("goroutine profile: total 20417"), &v));
        assert_true(v == 20417);
        /* The text is the target's: anything else is no value. */
        assert_false(go_pprof_goroutines(LINE("goroutine profile: total "), &v));
        assert_false(go_pprof_goroutines(LINE("goroutine profile: total 12 "), &v));
        assert_false(go_pprof_goroutines(LINE("goroutine profile: total -3"), &v));
        assert_false(go_pprof_goroutines(LINE("goroutine profile: total 123456789012345678901234"), &v));
        assert_false(go_pprof_goroutines(LINE("heap profile: 1: 2 [3: 4] @ heap/1048576"), &v));
        assert_false(go_pprof_goroutines("goroutine profile: total 7", 20, &v));     /* cut short */
        assert_true(v == 20417);
}

static void the_heap_in_use(void **state) {
        double v = -1;
        assert_true(go_pprof_heap_inuse(LINE("# HeapInuse = 58146816"), &v));
        assert_true(v == 58146816);
        assert_false(go_pprof_heap_inuse(LINE("# HeapIdle = 1"), &v));
        assert_false(go_pprof_heap_inuse(LINE("# HeapInuse = 0x10"), &v));
        assert_false(go_pprof_heap_inuse(LINE("#\t0x4a2f1c\tmain.growHeap+0x3c"), &v));
}

static void why_there_is_no_endpoint(void **state) {
        char buf[300];
        go_pprof_no_endpoint(0, buf, sizeof buf);
        assert_non_null(strstr(buf, "no pprof endpoint: it listens on no TCP socket"));
        go_pprof_no_endpoint(3, buf, sizeof buf);
        assert_non_null(strstr(buf, "none of the 3 TCP sockets it listens on serves /debug/pprof/"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(the_goroutine_total),
                cmocka_unit_test(the_heap_in_use),
                cmocka_unit_test(why_there_is_no_endpoint),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
