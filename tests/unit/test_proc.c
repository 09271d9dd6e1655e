/* /proc parsing against a fixture tree (tests/fixtures/proc), with a comm
 * that holds spaces and parentheses, as real ones can. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>

#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "crash/follow.h"
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

/* The cheaper sample's reads, of this very process: memory from statm,
 * its one thread from task's link count, its name from comm. */
static void light_sample_of_a_live_process(void **state) {
        struct proc_light l;
        assert_int_equal(proc_parse_statm("1234 56 7 8 0 9 0\n", &l), 0);
        assert_int_equal(l.vsize_pages, 1234);
        assert_int_equal(l.rss_pages, 56);
        assert_int_equal(proc_parse_statm("garbage", &l), -EINVAL);
        struct proc_root live;
        struct proc_handle h;
        struct proc_stat st;
        assert_int_equal(proc_root_open("/proc", &live), 0);
        assert_int_equal(proc_handle_open(&live, getpid(), 0, &h), 0);
        assert_int_equal(proc_handle_light(&h, &l), 0);
        assert_int_equal(proc_handle_stat(&h, &st), 0);
        assert_int_equal(l.threads, st.num_threads);
        assert_string_equal(l.comm, st.comm);
        assert_true(l.rss_pages > 0 && l.vsize_pages * (uint64_t) live.page_size == st.vsize);
        proc_handle_close(&h);
        proc_root_close(&live);
}

static void parses_signal_dispositions(void **state) {
        struct proc_signals ps;
        assert_int_equal(proc_parse_signals("Name:\tjava\nTgid:\t812\nPid:\t815\nSigBlk:\t0000000000000000\n"
                                            "SigIgn:\t0000000000001000\nSigCgt:\t2000000181005ccf\n", &ps), 0);
        assert_int_equal(ps.tgid, 812);
        assert_true(ps.caught & (1ULL << (SIGSEGV - 1)));
        assert_true(ps.ignored & (1ULL << (SIGPIPE - 1)));
        assert_int_equal(proc_parse_signals("Name:\tx\nTgid:\t1\n", &ps), -EINVAL);
}

/* Which deliveries are crashes: a signal that dumps core, with neither a
 * handler nor ignored. */
static void fatal_signals(void **state) {
        uint64_t segv = 1ULL << (SIGSEGV - 1);
        assert_true(crash_signal_is_fatal(SIGSEGV, 0, 0));
        assert_true(crash_signal_is_fatal(SIGABRT, 0, 0));
        assert_true(crash_signal_is_fatal(SIGQUIT, 0, 0));
        assert_false(crash_signal_is_fatal(SIGSEGV, segv, 0));         /* a JVM's, Go's own handler */
        assert_false(crash_signal_is_fatal(SIGSEGV, 0, segv));
        assert_true(crash_signal_is_fatal(SIGSEGV, 1ULL << (SIGUSR1 - 1), 0));
        assert_false(crash_signal_is_fatal(SIGTERM, 0, 0));            /* kills, no core */
        assert_false(crash_signal_is_fatal(SIGKILL, 0, 0));
        assert_false(crash_signal_is_fatal(SIGUSR1, 0, 0));
}

static void signal_names(void **state) {
        assert_string_equal(signal_code_name(SIGSEGV, SEGV_MAPERR), "SEGV_MAPERR");
        assert_string_equal(signal_code_name(SIGBUS, BUS_ADRERR), "BUS_ADRERR");
        assert_string_equal(signal_code_name(SIGFPE, FPE_INTDIV), "FPE_INTDIV");
        assert_string_equal(signal_code_name(SIGABRT, SI_TKILL), "SI_TKILL");
        assert_null(signal_code_name(SIGSEGV, 99));
        assert_int_equal(signal_from_text("TERM"), SIGTERM);
        assert_int_equal(signal_from_text("SIGKILL"), SIGKILL);
        assert_int_equal(signal_from_text("10"), 10);
        assert_int_equal(signal_from_text("SIGBOGUS"), -EINVAL);
        assert_int_equal(signal_from_text("0"), -EINVAL);
        assert_int_equal(signal_from_text(""), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(parses_stat),
                cmocka_unit_test(light_sample_of_a_live_process),
                cmocka_unit_test(parses_signal_dispositions),
                cmocka_unit_test(fatal_signals),
                cmocka_unit_test(signal_names),
                cmocka_unit_test(rejects_garbage),
                cmocka_unit_test(reads_cmdline_and_uid),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
