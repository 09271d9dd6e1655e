/* The nettrace parser on a stream a real .NET 10 runtime sent
 * (tests/fixtures/nettrace/counters.nettrace, capture.py says how): whole,
 * in pieces of every size, cut short anywhere, and with bytes changed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nettrace.h"

static uint8_t *stream;
static size_t stream_len;

struct seen {
        bool corrupt;           /* bytes were changed: a payload may not fit */
        unsigned events, counters;
        double gc_heap_size;
};

static void on_field(const struct nettrace_field *f, void *userdata) {
        struct seen *s = userdata;
        static bool heap;
        if (f->is_text && strcmp(f->name, "Name") == 0)
                heap = strcmp(f->text, "gc-heap-size") == 0;
        if (!f->is_text && heap && strcmp(f->name, "Mean") == 0)
                s->gc_heap_size = f->value;
}

static void on_event(const struct nettrace_event *ev, void *userdata) {
        struct seen *s = userdata;
        s->events++;
        if (strcmp(ev->meta->provider, "System.Runtime") == 0 && strcmp(ev->meta->name, "EventCounters") == 0) {
                s->counters++;
                int r = nettrace_fields(ev, on_field, s);
                if (!s->corrupt)
                        assert_int_equal(r, 0);
        }
}

static int feed_in_pieces(const uint8_t *data, size_t len, size_t piece, struct seen *seen) {
        struct nettrace *p;
        assert_int_equal(nettrace_new(&p), 0);
        int r = 0;
        for (size_t at = 0; at < len && r == 0; at += piece)
                r = nettrace_feed(p, data + at, len - at < piece ? len - at : piece, on_event, seen);
        nettrace_free(p);
        return r;
}

static void the_runtime_s_counters(void **state) {
        struct seen whole = {};
        assert_int_equal(feed_in_pieces(stream, stream_len, stream_len, &whole), 0);
        /* About one System.Runtime counter set a second for 3 s. */
        assert_true(whole.counters >= 20);
        assert_true(whole.gc_heap_size > 0.1 && whole.gc_heap_size < 10000);     /* MB */
        for (size_t piece = 1; piece < 300; piece += 37) {
                struct seen s = {};
                assert_int_equal(feed_in_pieces(stream, stream_len, piece, &s), 0);
                assert_int_equal(s.events, whole.events);
                assert_true(s.gc_heap_size == whole.gc_heap_size);
        }
}

static void cut_short_anywhere(void **state) {
        unsigned before = 0;
        for (size_t cut = 0; cut < stream_len; cut += 7) {
                struct seen s = {};
                assert_int_equal(feed_in_pieces(stream, cut, cut ? cut : 1, &s), 0);
                /* Events only from whole blocks: never more as less comes. */
                assert_true(s.events >= before);
                before = s.events;
        }
}

static void changed_bytes_are_an_error_or_skipped_never_a_crash(void **state) {
        uint8_t *copy = malloc(stream_len);
        assert_non_null(copy);
        unsigned errors = 0;
        for (size_t at = 0; at < stream_len; at += 13) {
                memcpy(copy, stream, stream_len);
                copy[at] ^= 0xa5;
                struct seen s = { .corrupt = true };
                errors += feed_in_pieces(copy, stream_len, 4096, &s) == -EBADMSG;
        }
        free(copy);
        assert_true(errors > 0);
        struct seen s = {};
        assert_int_equal(feed_in_pieces((const uint8_t *) "Nettrace\x14\0\0\0!FastSerialisation.1", 32, 32, &s),
                         -EBADMSG);
        assert_int_equal(feed_in_pieces((const uint8_t *) "GET / HTTP/1.1\r\n", 16, 16, &s), -EBADMSG);
}

static int load(void **state) {
        FILE *f = fopen(FIXTURES "/nettrace/counters.nettrace", "rb");
        assert_non_null(f);
        stream = malloc(1 << 22);
        stream_len = fread(stream, 1, 1 << 22, f);
        fclose(f);
        assert_true(stream_len > 1000);
        return 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(the_runtime_s_counters),
                cmocka_unit_test(cut_short_anywhere),
                cmocka_unit_test(changed_bytes_are_an_error_or_skipped_never_a_crash),
        };
        return cmocka_run_group_tests(tests, load, NULL);
}
