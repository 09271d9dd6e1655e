#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsperf.h"

/* Files a JDK 17 (Debian's default-jdk-headless) wrote: one after
 * starting 50 threads, one after keeping 100 MiB of arrays (-Xmx256m, G1). */
static unsigned char *fixture(const char *name, size_t *ret_len) {
        char path[512];
        snprintf(path, sizeof path, "%s/hsperfdata/%s", FIXTURES, name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        unsigned char *buf = malloc(1 << 16);
        *ret_len = fread(buf, 1, 1 << 16, f);
        fclose(f);
        return buf;
}

static void reads_what_jcmd_printed(void **state) {
        size_t len;
        unsigned char *buf = fixture("jdk17-g1-heap", &len);
        struct hsperf_values v;
        assert_int_equal(hsperf_parse(buf, len, &v), 0);
        /* jcmd PerfCounter.print: java.threads.live=6, the generations'
         * used 93896 + 210685952, collector time 14575812 + 2754893 ns at
         * hrt.frequency 1e9, classes 6 + 479 shared loaded, none unloaded. */
        assert_true(v.has_threads && v.threads == 6);
        assert_true(v.has_heap && v.heap_used == 93896.0 + 210685952.0);
        assert_true(v.has_gc && v.gc_seconds > 0.0173307 && v.gc_seconds < 0.0173308);
        assert_true(v.has_classes && v.classes == 485);
        free(buf);
        buf = fixture("jdk17-g1-threads", &len);
        assert_int_equal(hsperf_parse(buf, len, &v), 0);
        assert_true(v.threads == 56);
        free(buf);
}

/* Cut anywhere short of what the JVM used: an error, never a read past
 * the end (ASan runs this too). */
static void every_truncation_is_an_error(void **state) {
        size_t len;
        unsigned char *buf = fixture("jdk17-g1-heap", &len);
        uint32_t used;
        memcpy(&used, buf + 8, 4);      /* the fixture is little-endian */
        struct hsperf_values v;
        for (size_t cut = 0; cut < used; cut++) {
                unsigned char *copy = malloc(cut ? cut : 1);
                memcpy(copy, buf, cut);
                assert_true(hsperf_parse(copy, cut, &v) < 0);
                free(copy);
        }
        assert_int_equal(hsperf_parse(buf, used, &v), 0);
        free(buf);
}

/* Bytes changed at random (a target writing over its own file): any
 * result, no crash. Deterministic, so a failure repeats. */
static void corrupted_files_do_not_crash(void **state) {
        size_t len;
        unsigned char *buf = fixture("jdk17-g1-threads", &len);
        unsigned char *copy = malloc(len);
        uint64_t seed = 42;
        unsigned parsed = 0;
        for (int round = 0; round < 20000; round++) {
                memcpy(copy, buf, len);
                for (int k = 0; k < 1 + round % 8; k++) {
                        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                        /* Mostly the prologue and entry headers, where the offsets are. */
                        size_t at = (seed >> 33) % (round % 2 ? len : 2048);
                        copy[at] = (unsigned char) (seed >> 13);
                }
                struct hsperf_values v;
                parsed += hsperf_parse(copy, len, &v) == 0;
        }
        assert_true(parsed > 0);        /* many changes leave it readable */
        free(copy);
        free(buf);
}

/* A big-endian file (the prologue says so), made by hand. */
static void big_endian(void **state) {
        unsigned char b[128] = { 0xca, 0xfe, 0xc0, 0xc0, 0, 2, 0, 1 };
        /* used 92, entry_offset 32, 2 entries */
        b[11] = 92;
        b[27] = 32;
        b[31] = 2;
        /* entry at 32: length 36, name at 20, scalar 'J', data at 28 */
        unsigned char *e = b + 32;
        e[3] = 36, e[7] = 20, e[12] = 'J', e[19] = 28;
        memcpy(e + 20, "java.threads.liv", 16);    /* fills the entry: no NUL */
        e = b + 68;
        e[3] = 24, e[7] = 20, e[12] = 'B', e[19] = 20;
        struct hsperf_values v;
        assert_int_equal(hsperf_parse(b, sizeof b, &v), -EBADMSG);  /* the name has no NUL */
        memset(b + 32, 0, 60);
        e = b + 32;
        e[3] = 48, e[7] = 20, e[12] = 'J', e[19] = 40;
        memcpy(e + 20, "java.threads.live", 18);
        e[46] = 0x01, e[47] = 0x2c;     /* 300, big-endian */
        b[31] = 1;
        assert_int_equal(hsperf_parse(b, sizeof b, &v), 0);
        assert_true(v.has_threads && v.threads == 300);
        b[7] = 0;                       /* not accessible yet */
        assert_int_equal(hsperf_parse(b, sizeof b, &v), -EAGAIN);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(reads_what_jcmd_printed),
                cmocka_unit_test(every_truncation_is_an_error),
                cmocka_unit_test(corrupted_files_do_not_crash),
                cmocka_unit_test(big_endian),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
