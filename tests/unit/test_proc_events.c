/* What a process events connector message says, as the kernel lays it
 * out: a netlink header, a connector header, a proc_event. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <string.h>

#include "proc_events.h"

struct message {
        struct nlmsghdr nl;
        struct cn_msg cn;
        struct proc_event ev;
} __attribute__((packed));

static struct message message(enum what what) {
        struct message m = {
                .nl = { .nlmsg_len = sizeof m, .nlmsg_type = NLMSG_DONE },
                .cn = { .id = { CN_IDX_PROC, CN_VAL_PROC }, .len = sizeof(struct proc_event) },
        };
        m.ev.what = what;
        return m;
}

static void processes_not_threads(void **state) {
        pid_t pid = 0;
        struct message m = message(PROC_EVENT_FORK);
        m.ev.event_data.fork.child_pid = m.ev.event_data.fork.child_tgid = 4242;
        assert_int_equal(proc_events_parse(&m, sizeof m, &pid), PROC_EVENT_KIND_FORK);
        assert_int_equal(pid, 4242);
        m.ev.event_data.fork.child_pid = 4243;  /* a thread of 4242 */
        assert_int_equal(proc_events_parse(&m, sizeof m, &pid), PROC_EVENT_KIND_NONE);

        m = message(PROC_EVENT_EXEC);
        m.ev.event_data.exec.process_pid = 7;   /* a thread exec'd: the process is 5 now */
        m.ev.event_data.exec.process_tgid = 5;
        assert_int_equal(proc_events_parse(&m, sizeof m, &pid), PROC_EVENT_KIND_EXEC);
        assert_int_equal(pid, 5);

        m = message(PROC_EVENT_COMM);
        m.ev.event_data.comm.process_pid = m.ev.event_data.comm.process_tgid = 9;
        assert_int_equal(proc_events_parse(&m, sizeof m, &pid), PROC_EVENT_KIND_COMM);
        m.ev.event_data.comm.process_pid = 10;  /* a thread's name */
        assert_int_equal(proc_events_parse(&m, sizeof m, &pid), PROC_EVENT_KIND_NONE);

        m = message(PROC_EVENT_EXIT);
        assert_int_equal(proc_events_parse(&m, sizeof m, &pid), PROC_EVENT_KIND_NONE);
}

static void malformed_messages(void **state) {
        pid_t pid = 0;
        struct message m = message(PROC_EVENT_EXEC);
        for (size_t cut = 0; cut < sizeof m; cut++)
                assert_int_equal(proc_events_parse(&m, cut, &pid), PROC_EVENT_KIND_NONE);
        m.cn.id.idx = CN_IDX_PROC + 1;          /* another connector's */
        assert_int_equal(proc_events_parse(&m, sizeof m, &pid), PROC_EVENT_KIND_NONE);
        m = message(PROC_EVENT_EXEC);
        m.cn.len = 4;
        assert_int_equal(proc_events_parse(&m, sizeof m, &pid), PROC_EVENT_KIND_NONE);
        m = message(PROC_EVENT_EXEC);
        m.nl.nlmsg_len = sizeof m + 1;          /* says more than there is */
        assert_int_equal(proc_events_parse(&m, sizeof m, &pid), PROC_EVENT_KIND_NONE);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(processes_not_threads),
                cmocka_unit_test(malformed_messages),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
