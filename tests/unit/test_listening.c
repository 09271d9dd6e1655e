#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "listening.h"

/* Lines as this machine's kernel writes them (x86-64: each address word
 * little-endian). */
static const char tcp[] =
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 555 1 0 100 0\n"
        "   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0 100 0\n"
        "   2: 020200C0:8116 507100CB:0050 01 00000000:00000000 03:0000053A 00000000     0        0 778 3 0\n"
        "   3: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 999 1 0 100 0\n";
static const char tcp6[] =
        "  sl  local_address                         remote_address                        st tx_queue ...\n"
        "   0: 00000000000000000000000001000000:2328 00000000000000000000000000000000:0000 0A 00000000:00000000 "
        "00:00000000 00000000     0        0 888 1 0 100 0\n"
        "   1: 00000000000000000000000000000000:2329 00000000000000000000000000000000:0000 0A 00000000:00000000 "
        "00:00000000 00000000     0        0 889 1 0 100 0\n";

static void listening_sockets_of_a_process(void **state) {
        /* 778 is connected, not listening; 999 is another process's. */
        const uint64_t ours[] = { 555, 777, 778, 888, 889 };
        struct listen_addr a[8];
        size_t n = 0;
        listening_parse(tcp, false, ours, 5, a, 8, &n);
        listening_parse(tcp6, true, ours, 5, a, 8, &n);
        assert_int_equal(n, 4);
        assert_string_equal(a[0].host, "127.0.0.1");    /* 0.0.0.0: reached on loopback */
        assert_int_equal(a[0].port, 2024);
        assert_string_equal(a[1].host, "127.0.0.1");
        assert_int_equal(a[1].port, 8080);
        assert_string_equal(a[2].host, "[::1]");
        assert_int_equal(a[2].port, 9000);
        assert_string_equal(a[3].host, "[::1]");         /* ::, likewise */
        assert_int_equal(a[3].port, 9001);
        /* At most `max`, and nothing from garbage. */
        n = 0;
        listening_parse(tcp, false, ours, 5, a, 1, &n);
        assert_int_equal(n, 1);
        n = 0;
        listening_parse("x\n   0: 0100007F:ZZZZ 0 0A 0 0 0 0 0 555\n   1: 01:1 0 0A 0 0 0 0 0 555\n", false, ours, 5,
                        a, 8, &n);
        assert_int_equal(n, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(listening_sockets_of_a_process),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
