/* Which mappings a core holds, from a fixture smaps, against the kernel's
 * rules and coredump_filter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <string.h>

#include "collect/maps.h"
#include "util.h"

static struct mapping_list maps;

static int setup(void **state) {
        int fd = open(FIXTURES "/proc", O_RDONLY | O_DIRECTORY);
        int r = maps_read(fd, 4242, &maps);
        close(fd);
        return r;
}

static int teardown(void **state) {
        maps_free(&maps);
        return 0;
}

static const struct mapping *find(const char *path, const char *perms_hint, size_t nth) {
        for (size_t i = 0; i < maps.n; i++)
                if (strcmp(maps.items[i].path, path) == 0 && nth-- == 0)
                        return &maps.items[i];
        fail_msg("no mapping %s (%s)", path, perms_hint);
        return NULL;
}

static void parses_every_mapping(void **state) {
        assert_int_equal(maps.n, 11);
        const struct mapping *data = find("/usr/bin/app", "rw-p", 1);
        assert_int_equal(data->start, 0x55aa1a5d3000);
        assert_int_equal(data->end, 0x55aa1a5dc000);
        assert_int_equal(data->offset, 0x12c000);
        assert_true(data->read && data->write && !data->exec && !data->shared);
        assert_true(data->has_anon);
        assert_string_equal(maps.items[2].path, "");            /* anonymous: no path */
        assert_false(maps.items[2].has_anon);
        assert_true(maps.items[5].dontdump);
        assert_true(find("[vvar]", "", 0)->io);
        assert_string_equal(maps.items[4].path, "/dev/zero (deleted)");
}

static void default_filter(void **state) {
        const unsigned f = COREDUMP_FILTER_DEFAULT;
        assert_int_equal(maps_dump_extent(find("/usr/bin/app", "r--p", 0), f, true), DUMP_HEADER_PAGE);
        assert_int_equal(maps_dump_extent(find("/usr/bin/app", "r--p", 0), f, false), DUMP_NONE);
        assert_int_equal(maps_dump_extent(find("/usr/bin/app", "rw-p", 1), f, false), DUMP_WHOLE); /* COW'd data */
        assert_int_equal(maps_dump_extent(&maps.items[2], f, false), DUMP_WHOLE);   /* writable anon */
        assert_int_equal(maps_dump_extent(&maps.items[3], f, false), DUMP_NONE);   /* shared file */
        assert_int_equal(maps_dump_extent(&maps.items[4], f, false), DUMP_WHOLE);  /* shared anon */
        assert_int_equal(maps_dump_extent(&maps.items[5], f, false), DUMP_NONE);   /* MADV_DONTDUMP */
        assert_int_equal(maps_dump_extent(&maps.items[6], f, false), DUMP_NONE);   /* guard page */
        /* Like the vDSO, whole, as the kernel's always_dump_vma() does for
         * every named special mapping (its unreadable pages as zeros). */
        assert_int_equal(maps_dump_extent(find("[vvar]", "", 0), f, false), DUMP_WHOLE);
        assert_int_equal(maps_dump_extent(find("[vdso]", "", 0), f, false), DUMP_WHOLE);
        assert_int_equal(maps_dump_extent(find("[stack]", "", 0), f, false), DUMP_WHOLE);
        assert_int_equal(maps_dump_extent(find("[vsyscall]", "", 0), f, false), DUMP_NONE);
}

static void other_filters(void **state) {
        /* 0: nothing of the process's own memory, only what is always kept */
        assert_int_equal(maps_dump_extent(&maps.items[2], 0, false), DUMP_NONE);
        assert_int_equal(maps_dump_extent(find("[vdso]", "", 0), 0, false), DUMP_WHOLE);
        /* mapped shared and private files too */
        unsigned all = 0x3f;
        assert_int_equal(maps_dump_extent(&maps.items[3], all, false), DUMP_WHOLE);
        assert_int_equal(maps_dump_extent(find("/usr/bin/app", "r--p", 0), all, true), DUMP_WHOLE);
        /* dd wins over any filter */
        assert_int_equal(maps_dump_extent(&maps.items[5], 0x1ff, false), DUMP_NONE);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(parses_every_mapping),
                cmocka_unit_test(default_filter),
                cmocka_unit_test(other_filters),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
