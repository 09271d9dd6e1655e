/* /proc parsing against a fixture tree (tests/fixtures/proc), with a comm
 * that holds spaces and parentheses, as real ones can. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>

#include "match.h"
#include "proc.h"

static struct proc_root root;

static int setup(void **state) {
        return proc_root_open(FIXTURES "/proc", &root);
}

static int teardown(void **state) {
        proc_root_close(&root);
        return 0;
}

static void parses_stat(void **state) {
        struct proc_stat st;
        assert_int_equal(proc_read_stat(&root, 4242, &st), 0);
        assert_int_equal(st.pid, 4242);
        assert_string_equal(st.comm, "we (ird) name");
        assert_int_equal(st.state, 'S');
        assert_int_equal(st.ppid, 1);
        assert_int_equal(st.utime, 250);
        assert_int_equal(st.stime, 75);
        assert_int_equal(st.num_threads, 3);
        assert_int_equal(st.starttime, 987654);
        assert_int_equal(st.vsize, 123456789);
        assert_int_equal(st.rss_pages, 2048);
}

static void rejects_garbage(void **state) {
        struct proc_stat st;
        assert_int_equal(proc_parse_stat("42 (x", &st), -EINVAL);
        assert_int_equal(proc_parse_stat("42 (x) S 1", &st), -EINVAL);
        assert_int_equal(proc_read_stat(&root, 1, &st), -ESRCH);
}

static void reads_cmdline_and_uid(void **state) {
        char *cmdline;
        uid_t uid;
        assert_int_equal(proc_read_cmdline(&root, 4242, &cmdline), 0);
        assert_string_equal(cmdline, "app --flag value");
        assert_int_equal(proc_read_uid(&root, 4242, &uid), 0);
        assert_int_equal(uid, 1000);

        /* and the facts match rules as the watchdog would ask */
        struct target_match m = { .comm = "we (ird) name", .has_user = true, .uid = 1000 };
        assert_int_equal(regcomp(&m.cmdline_re, "--flag v", REG_EXTENDED | REG_NOSUB), 0);
        m.cmdline = "--flag v";
        struct proc_facts f = { .pid = 4242, .comm = "we (ird) name", .cmdline = cmdline,
                                .has_uid = true, .uid = uid };
        assert_true(target_matches(&m, MODE_WATCH, &f));
        f.uid = 0;
        assert_false(target_matches(&m, MODE_WATCH, &f));
        struct target_match any = { .any = true };
        assert_false(target_matches(&any, MODE_WATCH, &f));     /* not a -p PID */
        f.listed = true;
        assert_true(target_matches(&any, MODE_WATCH, &f));
        assert_false(target_matches(&any, MODE_RUN, &f));       /* not in the tree */
        regfree(&m.cmdline_re);
        free(cmdline);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(parses_stat),
                cmocka_unit_test(rejects_garbage),
                cmocka_unit_test(reads_cmdline_and_uid),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
