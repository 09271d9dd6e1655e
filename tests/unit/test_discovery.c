/* Discovery against a fake /proc the test writes itself: run mode's tree
 * (orphans and collectors included), matching by comm, cmdline and user,
 * the seen cache, and -p PIDs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "discovery.h"

#define SELF 100
#define COMMAND 200
#define COLLECTOR 400

struct fake {
        char root[64];
        struct proc_root proc;
        struct rule_set rules;
        struct discovery d;
        pid_t known[32];
        size_t n_known;
        pid_t found[32];
        size_t n_found;
        bool found_in_tree[32];
};

static void write_text(const char *dir, const char *name, const char *text) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

/* A process directory with stat (comm, ppid, start time), cmdline (words
 * NUL-separated, as the kernel writes it) and status (Uid). */
static void fake_process(struct fake *fk, pid_t pid, pid_t ppid, const char *comm, uint64_t starttime,
                         const char *cmdline, unsigned uid) {
        char dir[128], text[512];
        snprintf(dir, sizeof dir, "%s/%d", fk->root, (int) pid);
        mkdir(dir, 0755);
        snprintf(text, sizeof text,
                 "%d (%s) S %d %d %d 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 %llu 1000000 200 "
                 "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n",
                 (int) pid, comm, (int) ppid, (int) pid, (int) pid, (unsigned long long) starttime);
        write_text(dir, "stat", text);
        size_t n = strlen(cmdline);
        memcpy(text, cmdline, n + 1);
        for (size_t i = 0; i < n; i++)
                if (text[i] == ' ')
                        text[i] = 0;
        char path[256];
        snprintf(path, sizeof path, "%s/cmdline", dir);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, n + 1), (ssize_t) (n + 1));
        close(fd);
        snprintf(text, sizeof text, "Name:\t%s\nUid:\t%u\t%u\t%u\t%u\n", comm, uid, uid, uid, uid);
        write_text(dir, "status", text);
}

static bool is_known(pid_t pid, void *userdata) {
        struct fake *fk = userdata;
        for (size_t i = 0; i < fk->n_known; i++)
                if (fk->known[i] == pid)
                        return true;
        return false;
}

static bool is_collector(pid_t pid, void *userdata) {
        return pid == COLLECTOR;
}

/* Records the find, and makes the process known, as the watchdog would by
 * making it a target. */
static void found(const struct proc_facts *f, uint64_t starttime, const struct rule **rules, size_t n,
                  void *userdata) {
        struct fake *fk = userdata;
        assert_true(n > 0);
        fk->found_in_tree[fk->n_found] = f->in_tree;
        fk->found[fk->n_found++] = f->pid;
        fk->known[fk->n_known++] = f->pid;
}

static bool was_found(const struct fake *fk, pid_t pid) {
        for (size_t i = 0; i < fk->n_found; i++)
                if (fk->found[i] == pid)
                        return true;
        return false;
}

/* The host: autodump (100) runs the command (200), whose child 201 has a
 * child 202; 300 was orphaned and reparented to autodump; 400 is a
 * collector with a child 401 (gdb); 500 and 501 are unrelated services. */
static int setup(void **state) {
        struct fake *fk = calloc(1, sizeof *fk);
        snprintf(fk->root, sizeof fk->root, "/tmp/autodump-discovery-XXXXXX");
        assert_non_null(mkdtemp(fk->root));
        fake_process(fk, SELF, 1, "autodump", 10, "autodump run -- sh", 0);
        fake_process(fk, COMMAND, SELF, "sh", 20, "sh -c worker", 1000);
        fake_process(fk, 201, COMMAND, "worker", 21, "worker --queue billing", 1000);
        fake_process(fk, 202, 201, "leaf", 22, "leaf", 1000);
        fake_process(fk, 300, SELF, "orphan", 30, "orphan", 1000);
        fake_process(fk, COLLECTOR, SELF, "autodump", 40, "autodump", 0);
        fake_process(fk, 401, COLLECTOR, "gdb", 41, "gdb --batch", 0);
        fake_process(fk, 500, 1, "nginx", 50, "nginx: worker process", 33);
        fake_process(fk, 501, 1, "redis-server", 51, "redis-server *:6379", 0);
        assert_int_equal(proc_root_open(fk->root, &fk->proc), 0);
        *state = fk;
        return 0;
}

static int teardown(void **state) {
        struct fake *fk = *state;
        discovery_done(&fk->d);
        rule_set_free(&fk->rules);
        proc_root_close(&fk->proc);
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", fk->root);
        assert_int_equal(system(cmd), 0);
        free(fk);
        return 0;
}

static void start(struct fake *fk, enum watch_mode mode, const char *rules_yaml) {
        struct diags diags = {};
        assert_int_equal(rules_load_text(&fk->rules, "t.yaml", rules_yaml, strlen(rules_yaml), &diags), 0);
        diags_free(&diags);
        fk->d = (struct discovery) {
                .proc = &fk->proc, .mode = mode, .rules = &fk->rules, .self = SELF,
                .command = mode == MODE_RUN ? COMMAND : 0,
                .hooks = { .is_known = is_known, .is_collector = is_collector, .found = found, .userdata = fk },
        };
}

static void tree_membership(void **state) {
        const struct scanned all[] = {
                { COMMAND, SELF, 20, "sh", true, false },
                { 201, COMMAND, 21, "worker", true, false },
                { 202, 201, 22, "leaf", true, false },
                { 300, SELF, 30, "orphan", true, false },
                { COLLECTOR, SELF, 40, "autodump", true, false },
                { 401, COLLECTOR, 41, "gdb", true, false },
                { 500, 1, 50, "nginx", true, false },
        };
        struct fake *fk = *state;
        struct discovery_hooks h = { .is_collector = is_collector, .userdata = fk };
        size_t n = ELEMENTSOF(all);
        assert_true(process_tree_contains(all, n, COMMAND, SELF, COMMAND, &h));
        assert_true(process_tree_contains(all, n, 202, SELF, COMMAND, &h));
        assert_true(process_tree_contains(all, n, 300, SELF, COMMAND, &h));      /* reparented orphan */
        assert_false(process_tree_contains(all, n, COLLECTOR, SELF, COMMAND, &h));
        assert_false(process_tree_contains(all, n, 401, SELF, COMMAND, &h));     /* a collector's tool */
        assert_false(process_tree_contains(all, n, 500, SELF, COMMAND, &h));
        assert_false(process_tree_contains(all, n, 999, SELF, COMMAND, &h));     /* not listed */
}

static void run_mode_takes_the_tree(void **state) {
        struct fake *fk = *state;
        start(fk, MODE_RUN, "rules:\n  - {name: r, metric: rss, when: {above: 1GiB}, actions: [stacks]}\n");
        assert_int_equal(discovery_scan(&fk->d), 0);
        assert_int_equal(fk->n_found, 4);
        for (pid_t pid = 200; pid <= 202; pid++)
                assert_true(was_found(fk, pid));
        assert_true(was_found(fk, 300));
        for (size_t i = 0; i < fk->n_found; i++)
                assert_true(fk->found_in_tree[i]);
        /* A second scan reports nobody again: they are targets now. */
        assert_int_equal(discovery_scan(&fk->d), 0);
        assert_int_equal(fk->n_found, 4);
}

static void watch_mode_matches_comm_cmdline_user(void **state) {
        struct fake *fk = *state;
        start(fk, MODE_WATCH,
              "rules:\n"
              "  - {name: by-comm, target: {comm: nginx}, metric: rss, when: {above: 1GiB}, actions: [stacks]}\n"
              "  - {name: by-cmdline, target: {cmdline: 'queue billing$'}, metric: rss, when: {above: 1GiB},"
              " actions: [stacks]}\n"
              "  - {name: by-user, target: {user: '0', comm: redis-server}, metric: rss, when: {above: 1GiB},"
              " actions: [stacks]}\n"
              "  - {name: default, metric: rss, when: {above: 1GiB}, actions: [stacks]}\n");
        assert_int_equal(discovery_scan(&fk->d), 0);
        assert_int_equal(fk->n_found, 3);
        assert_true(was_found(fk, 500));
        assert_true(was_found(fk, 201));
        assert_true(was_found(fk, 501));
        /* Never the collector's tool, nor autodump itself. */
        assert_false(was_found(fk, 401));
        assert_false(was_found(fk, SELF));
}

static void seen_cache_until_exec_or_new_pid(void **state) {
        struct fake *fk = *state;
        start(fk, MODE_WATCH,
              "rules:\n  - {name: r, target: {cmdline: billing}, metric: rss, when: {above: 1GiB}, actions: [stacks]}\n");
        assert_int_equal(discovery_scan(&fk->d), 0);
        assert_int_equal(fk->n_found, 1);
        struct scanned nginx = { 500, 1, 50, "nginx", true, false };
        assert_non_null(seen_cache_find(&fk->d.seen, &nginx));
        /* Same identity and name: its cmdline is not read again. */
        fake_process(fk, 500, 1, "nginx", 50, "nginx billing", 33);
        assert_int_equal(discovery_scan(&fk->d), 0);
        assert_int_equal(fk->n_found, 1);
        /* An exec changes the name: asked again, and now it matches. */
        fake_process(fk, 500, 1, "nginx-new", 50, "nginx billing", 33);
        assert_int_equal(discovery_scan(&fk->d), 0);
        assert_int_equal(fk->n_found, 2);
        /* A recycled PID is a new process. */
        struct scanned redis = { 501, 1, 51, "redis-server", true, false };
        assert_non_null(seen_cache_find(&fk->d.seen, &redis));
        fake_process(fk, 501, 1, "redis-server", 99, "redis-server billing", 0);
        assert_int_equal(discovery_scan(&fk->d), 0);
        assert_int_equal(fk->n_found, 3);
        assert_true(was_found(fk, 501));
}

static void late_title_is_matched_with_backoff(void **state) {
        struct fake *fk = *state;
        start(fk, MODE_WATCH,
              "rules:\n  - {name: r, target: {cmdline: 'billing worker'}, metric: rss, when: {above: 1GiB},"
              " actions: [stacks]}\n");
        struct scanned nginx = { 500, 1, 50, "nginx", true, false };
        assert_int_equal(discovery_scan(&fk->d), 0);
        assert_false(was_found(fk, 500));
        assert_int_equal(seen_cache_find(&fk->d.seen, &nginx)->backoff, 1);
        /* Asked again after 1, 2, 4… scans while it does not match. */
        int asked_at[4], n_asked = 0;
        for (int scan = 2; scan <= 8; scan++) {
                unsigned short before = seen_cache_find(&fk->d.seen, &nginx)->backoff;
                assert_int_equal(discovery_scan(&fk->d), 0);
                if (seen_cache_find(&fk->d.seen, &nginx)->backoff != before && n_asked < 4)
                        asked_at[n_asked++] = scan;
        }
        assert_int_equal(n_asked, 2);
        assert_int_equal(asked_at[0], 3);
        assert_int_equal(asked_at[1], 6);
        /* Its worker sets its title now (same pid, start time and comm):
         * found at the next time it is asked, within SEEN_WAIT_MAX scans. */
        fake_process(fk, 500, 1, "nginx", 50, "nginx: billing worker process", 33);
        for (int scan = 0; scan <= SEEN_WAIT_MAX && !was_found(fk, 500); scan++)
                assert_int_equal(discovery_scan(&fk->d), 0);
        assert_true(was_found(fk, 500));
}

static void setuid_after_start_is_matched(void **state) {
        struct fake *fk = *state;
        start(fk, MODE_WATCH,
              "rules:\n  - {name: r, target: {user: '33', comm: redis-server}, metric: rss, when: {above: 1GiB},"
              " actions: [stacks]}\n");
        assert_int_equal(discovery_scan(&fk->d), 0);
        assert_false(was_found(fk, 501));               /* root for now */
        /* It drops its privileges: same pid, start time and comm. */
        fake_process(fk, 501, 1, "redis-server", 51, "redis-server *:6379", 33);
        for (int scan = 0; scan <= SEEN_WAIT_MAX && !was_found(fk, 501); scan++)
                assert_int_equal(discovery_scan(&fk->d), 0);
        assert_true(was_found(fk, 501));
}

static void comm_rules_never_ask_again(void **state) {
        struct fake *fk = *state;
        start(fk, MODE_WATCH,
              "rules:\n  - {name: r, target: {comm: redis}, metric: rss, when: {above: 1GiB}, actions: [stacks]}\n");
        for (int scan = 0; scan < 10; scan++)
                assert_int_equal(discovery_scan(&fk->d), 0);
        /* Only an exec changes comm, and that changes the entry: no
         * rule can start matching, so it is never asked again. */
        struct scanned nginx = { 500, 1, 50, "nginx", true, false };
        assert_int_equal(seen_cache_find(&fk->d.seen, &nginx)->backoff, 1);
        assert_int_equal(fk->n_found, 0);
}

static void listed_pids(void **state) {
        struct fake *fk = *state;
        start(fk, MODE_WATCH,
              "rules:\n  - {name: r, metric: rss, when: {above: 1GiB}, actions: [stacks]}\n"
              "  - {name: only-redis, target: {comm: redis-server}, metric: rss, when: {above: 1GiB}, actions: [stacks]}\n");
        assert_int_equal(discovery_add_listed(&fk->d, 500), 0);
        assert_true(was_found(fk, 500));
        assert_int_equal(discovery_add_listed(&fk->d, 999), -ESRCH);
        rule_set_free(&fk->rules);
        start(fk, MODE_WATCH,
              "rules:\n  - {name: r, target: {comm: redis-server}, metric: rss, when: {above: 1GiB}, actions: [stacks]}\n");
        assert_int_equal(discovery_add_listed(&fk->d, 202), -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(tree_membership, setup, teardown),
                cmocka_unit_test_setup_teardown(run_mode_takes_the_tree, setup, teardown),
                cmocka_unit_test_setup_teardown(watch_mode_matches_comm_cmdline_user, setup, teardown),
                cmocka_unit_test_setup_teardown(seen_cache_until_exec_or_new_pid, setup, teardown),
                cmocka_unit_test_setup_teardown(late_title_is_matched_with_backoff, setup, teardown),
                cmocka_unit_test_setup_teardown(setuid_after_start_is_matched, setup, teardown),
                cmocka_unit_test_setup_teardown(comm_rules_never_ask_again, setup, teardown),
                cmocka_unit_test_setup_teardown(listed_pids, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
