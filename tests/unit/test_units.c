#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>

#include "json_text.h"
#include "units.h"

static void durations(void **state) {
        usec_t d;
        assert_int_equal(parse_duration("250ms", &d), 0);
        assert_int_equal(d, 250000);
        assert_int_equal(parse_duration("1.5s", &d), 0);
        assert_int_equal(d, 1500000);
        assert_int_equal(parse_duration("5m", &d), 0);
        assert_int_equal(d, 300 * USEC_PER_SEC);
        assert_int_equal(parse_duration("2h", &d), 0);
        assert_int_equal(d, 7200 * USEC_PER_SEC);
        assert_int_equal(parse_duration("14d", &d), 0);
        assert_int_equal(d, 14 * 86400 * USEC_PER_SEC);
        assert_int_equal(parse_duration("10", &d), -EINVAL);      /* unit required */
        assert_int_equal(parse_duration("10 s", &d), -EINVAL);
        assert_int_equal(parse_duration("-1s", &d), -EINVAL);
        assert_int_equal(parse_duration("1w", &d), -EINVAL);
        assert_int_equal(parse_duration("s", &d), -EINVAL);
        assert_int_equal(parse_duration("1.s", &d), -EINVAL);
        assert_int_equal(parse_duration("", &d), -EINVAL);
        /* 2^63 µs would overflow llround; 2^62 and past are out of range. */
        assert_int_equal(parse_duration("9223372036854775.808s", &d), -ERANGE);
        assert_int_equal(parse_duration("4611686018427387904ms", &d), -ERANGE);
        assert_int_equal(parse_duration("53375995d", &d), 0);
}

static void sizes(void **state) {
        double v;
        assert_int_equal(parse_size("1048576", &v), 0);
        assert_true(v == 1048576);
        assert_int_equal(parse_size("1.5GiB", &v), 0);
        assert_true(v == 1.5 * 1073741824.0);
        assert_int_equal(parse_size("200MiB", &v), 0);
        assert_true(v == 200 * 1048576.0);
        assert_int_equal(parse_size("10MB", &v), 0);
        assert_true(v == 10e6);
        assert_int_equal(parse_size("1TiB", &v), 0);
        assert_true(v == 1099511627776.0);
        assert_int_equal(parse_size("3KB", &v), 0);
        assert_true(v == 3000);
        assert_int_equal(parse_size("12B", &v), 0);
        assert_true(v == 12);
        assert_int_equal(parse_size("1GIB", &v), -EINVAL);
        assert_int_equal(parse_size("1 GiB", &v), -EINVAL);
        assert_int_equal(parse_size("0x10", &v), -EINVAL);
        assert_int_equal(parse_size("inf", &v), -EINVAL);
}

static void percents_and_numbers(void **state) {
        double v;
        unsigned u;
        assert_int_equal(parse_percent("25%", &v), 0);
        assert_true(v == 25);
        assert_int_equal(parse_percent("12.5%", &v), 0);
        assert_true(v == 12.5);
        assert_int_equal(parse_percent("25", &v), -EINVAL);
        assert_true(is_percent("80%"));
        assert_false(is_percent("80"));
        assert_int_equal(parse_number("0.5", &v), 0);
        assert_true(v == 0.5);
        assert_int_equal(parse_unsigned("3", &u), 0);
        assert_int_equal(u, 3);
        assert_int_equal(parse_unsigned("3.5", &u), -EINVAL);
        assert_int_equal(parse_unsigned("99999999999", &u), -ERANGE);
}

static void formatting(void **state) {
        char buf[32];
        format_duration(10 * USEC_PER_SEC, buf, sizeof buf);
        assert_string_equal(buf, "10s");
        format_duration(1500 * USEC_PER_MSEC, buf, sizeof buf);
        assert_string_equal(buf, "1500ms");
        format_duration(600 * USEC_PER_SEC, buf, sizeof buf);
        assert_string_equal(buf, "10m");
}

/* Names a process chose, made JSON: valid UTF-8 kept, any other byte as
 * the text \xNN. */
static void text_for_json(void **state) {
        assert_int_equal(utf8_sequence_length((const unsigned char *) "a"), 1);
        assert_int_equal(utf8_sequence_length((const unsigned char *) "\xc3\xa9"), 2);     /* é */
        assert_int_equal(utf8_sequence_length((const unsigned char *) "\xe2\x96\x81"), 3); /* ▁ */
        assert_int_equal(utf8_sequence_length((const unsigned char *) "\xf0\x9f\x94\xa5"), 4);
        assert_int_equal(utf8_sequence_length((const unsigned char *) "\xc0\xaf"), 0);     /* overlong */
        assert_int_equal(utf8_sequence_length((const unsigned char *) "\xed\xa0\x80"), 0); /* surrogate */
        assert_int_equal(utf8_sequence_length((const unsigned char *) "\xff"), 0);
        assert_int_equal(utf8_sequence_length((const unsigned char *) "\xe2\x96"), 0);     /* cut short */
        json_t *j = json_text("caf\xc3\xa9\xff\n");
        assert_non_null(j);
        assert_string_equal(json_string_value(j), "caf\xc3\xa9\\xff\n");
        json_decref(j);
        j = json_text(NULL);
        assert_true(json_is_null(j));
        json_decref(j);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(durations),
                cmocka_unit_test(sizes),
                cmocka_unit_test(percents_and_numbers),
                cmocka_unit_test(formatting),
                cmocka_unit_test(text_for_json),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
