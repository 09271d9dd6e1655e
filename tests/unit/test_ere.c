/* Cmdline patterns: what they cost before regcomp, and searches that stay
 * linear in a command line the process shapes itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ere.h"

static void costs_multiply_along_nesting(void **state) {
        assert_int_equal(ere_cost("java .*-jar billing"), 18);
        assert_int_equal(ere_cost("a{1,100}"), 100);
        assert_int_equal(ere_cost("a{3,}"), 4);
        assert_int_equal(ere_cost("a+"), 2);
        /* The group and its close: (100 + 1) copies of 100. */
        assert_int_equal(ere_cost("(a{1,100}){1,100}"), 10100);
        assert_true(ere_cost("((((a{1,100}){1,100}){1,100}){1,100})") > 100000000);
        /* Brackets, classes and escapes are one position each. */
        assert_int_equal(ere_cost("[]a[:alpha:]]{10}"), 10);
        assert_int_equal(ere_cost("\\{{5}"), 5);
        /* Not bounds: ordinary characters. */
        assert_int_equal(ere_cost("a{x}"), 4);
        assert_int_equal(ere_cost("a{-1}"), 5);
        assert_int_equal(ere_cost("a{1, 9}"), 7);
}

static void saturates_instead_of_wrapping(void **state) {
        char p[512] = "";
        for (int i = 0; i < 30; i++)
                strcat(p, "(");
        strcat(p, "a");
        for (int i = 0; i < 30; i++)
                strcat(p, "){1,1000}");
        assert_true(ere_cost(p) > REGEX_MAX_COST);
        char deep[64] = "";
        memset(deep, '(', REGEX_MAX_NESTING + 1);
        assert_true(ere_cost(deep) > REGEX_MAX_COST);
}

static int search(const char *pattern, const char *text) {
        regex_t re;
        char error[256];
        if (ere_compile_search(pattern, &re, error, sizeof error) < 0)
                return -1;
        int r = regexec(&re, text, 0, NULL, 0);
        regfree(&re);
        return r == 0;
}

static void searches_like_an_unanchored_pattern(void **state) {
        assert_int_equal(search("java .*-jar billing", "/usr/bin/java -Xmx1g -jar billing.jar"), 1);
        assert_int_equal(search("java .*-jar billing", "/usr/bin/java -jar other.jar"), 0);
        assert_int_equal(search("^redis", "redis-server *:6379"), 1);
        assert_int_equal(search("^server", "redis-server *:6379"), 0);
        assert_int_equal(search("6379$", "redis-server *:6379"), 1);
        assert_int_equal(search("a|^r", "redis"), 1);
        /* A lone ')' is an ordinary character, also once wrapped. */
        assert_int_equal(search("a)b", "xa)b"), 1);
        assert_int_equal(search("(x)y)z", "xy)z"), 1);
        assert_int_equal(search("[)]x", ")x"), 1);
}

static void refuses_what_costs_too_much_or_is_not_ere(void **state) {
        regex_t re;
        char error[256];
        assert_int_equal(ere_compile_search("((((a{1,100}){1,100}){1,100}){1,100})", &re, error, sizeof error), -E2BIG);
        assert_non_null(strstr(error, "at most 1000"));
        /* Wrapping must not complete a pattern that is broken as written. */
        assert_int_equal(ere_compile_search("a)(b", &re, error, sizeof error), -EINVAL);
        assert_int_equal(ere_compile_search("(a)\\1", &re, error, sizeof error), -EINVAL);
        assert_non_null(strstr(error, "back-references"));
        /* Found by the rule fuzzer: "(…)" with a lone ')' inside and a run
         * of '*' after took 3 s (14 s under ASan) to compile wrapped. */
        assert_int_equal(ere_compile_search("myapp .*)**********", &re, error, sizeof error), -EINVAL);
        assert_non_null(strstr(error, "repetition of a repetition"));
        assert_int_equal(ere_compile_search("a+?", &re, error, sizeof error), -EINVAL);
        assert_int_equal(ere_compile_search("a{2}*", &re, error, sizeof error), -EINVAL);
        assert_int_equal(ere_compile_search("(a*)*", &re, error, sizeof error), 0);
        regfree(&re);
}

static void a_long_shaped_command_line_is_searched_in_linear_time(void **state) {
        /* 1 MiB of "java -jar ": as written, glibc took 10 s for 256 KiB. */
        size_t n = 1 << 20;
        char *text = malloc(n + 1);
        for (size_t i = 0; i < n; i++)
                text[i] = "java -jar "[i % 10];
        text[n] = 0;
        regex_t re;
        char error[256];
        assert_int_equal(ere_compile_search("java .*-jar .*billing", &re, error, sizeof error), 0);
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        assert_int_equal(regexec(&re, text, 0, NULL, 0), REG_NOMATCH);
        clock_gettime(CLOCK_MONOTONIC, &b);
        double seconds = (double) (b.tv_sec - a.tv_sec) + (double) (b.tv_nsec - a.tv_nsec) / 1e9;
        assert_true(seconds < 1.0);     /* 3 ms here; sanitizers slow it, not by 300x */
        regfree(&re);
        free(text);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(costs_multiply_along_nesting),
                cmocka_unit_test(saturates_instead_of_wrapping),
                cmocka_unit_test(searches_like_an_unanchored_pattern),
                cmocka_unit_test(refuses_what_costs_too_much_or_is_not_ere),
                cmocka_unit_test(a_long_shaped_command_line_is_searched_in_linear_time),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
